#!/usr/bin/python3
"""NEZHA fixtures for the converter (test/unit/test_convert.c nezha_*):
one tiny NEZHA (V=12 H=4 I=8 L=2 T=2, relative positions, so no
position_embeddings) saved two ways with the same values:
  tf_nezha.ckpt.*          Google/Huawei TF names (bert/encoder/layer_N/...,
                           kernels (in, out)), written by test/ref/tfbundle.py
  nezha_hf.pt              HF NezhaForPreTraining state dict (nezha. prefix,
                           the per-layer relative_positions_encoding buffer,
                           token_type_ids, the tied decoder), torch.save zip
  nezha_config.json        num_attention_heads, max_relative_position
  expect_nezha.safetensors the canonical b4k tensors (no buffers)
Usage: /usr/bin/python3 test/ref/gen_convert_nezha.py"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfbundle import bundle  # noqa: E402

G = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "convert")
rng = np.random.default_rng(11)
V, H, I, L, T, NH, MRP = 12, 4, 8, 2, 2, 2, 3


def r(*s):
    return rng.standard_normal(s).astype(np.float32)


# canonical (HF) layout: Linear weights (out, in)
c = collections.OrderedDict()
c["embeddings.word_embeddings.weight"] = r(V, H)
c["embeddings.token_type_embeddings.weight"] = r(T, H)
c["embeddings.LayerNorm.weight"], c["embeddings.LayerNorm.bias"] = r(H), r(H)
for l in range(L):
    p = "encoder.layer.%d." % l
    for n in ("attention.self.query", "attention.self.key", "attention.self.value",
              "attention.output.dense"):
        c[p + n + ".weight"], c[p + n + ".bias"] = r(H, H), r(H)
    c[p + "attention.output.LayerNorm.weight"], c[p + "attention.output.LayerNorm.bias"] = r(H), r(H)
    c[p + "intermediate.dense.weight"], c[p + "intermediate.dense.bias"] = r(I, H), r(I)
    c[p + "output.dense.weight"], c[p + "output.dense.bias"] = r(H, I), r(H)
    c[p + "output.LayerNorm.weight"], c[p + "output.LayerNorm.bias"] = r(H), r(H)
c["pooler.dense.weight"], c["pooler.dense.bias"] = r(H, H), r(H)
c["cls.predictions.transform.dense.weight"] = r(H, H)
c["cls.predictions.transform.dense.bias"] = r(H)
c["cls.predictions.transform.LayerNorm.weight"] = r(H)
c["cls.predictions.transform.LayerNorm.bias"] = r(H)
c["cls.predictions.bias"] = r(V)
c["cls.seq_relationship.weight"], c["cls.seq_relationship.bias"] = r(2, H), r(2)


def tf_name(k):
    """canonical -> TF name, and whether the value is transposed (kernel)"""
    if k.startswith("cls.predictions.bias"):
        return "cls/predictions/output_bias", False
    if k.startswith("cls.seq_relationship."):
        return "cls/seq_relationship/output_" + ("weights" if k.endswith("weight") else "bias"), False
    parts = k.split(".")
    leaf = parts[-1]
    path = "/".join(parts[:-1]).replace("layer/", "layer_")
    if not k.startswith("cls."):
        path = "bert/" + path
    if path.endswith("_embeddings"):
        return path, False
    if "LayerNorm" in path:
        return path + ("/gamma" if leaf == "weight" else "/beta"), False
    return path + ("/kernel" if leaf == "weight" else "/bias"), leaf == "weight"


tf = {}
for k, v in c.items():
    n, tr = tf_name(k)
    tf[n] = np.ascontiguousarray(v.T) if tr else v
assert "bert/encoder/layer_1/attention/self/query/kernel" in tf and len(tf) == len(c)
bundle(os.path.join(G, "tf_nezha.ckpt"), tf)

# HF: nezha. prefix, buffers b4k drops, the decoder tied to word embeddings
sd = collections.OrderedDict()
for k, v in c.items():
    t = torch.from_numpy(v.copy())
    sd[k if k.startswith("cls.") else "nezha." + k] = t
    if k == "embeddings.LayerNorm.bias":
        sd["nezha.embeddings.token_type_ids"] = torch.zeros(1, 16, dtype=torch.long)
    if k.endswith("attention.self.value.bias"):  # after q, k, v as in the module
        rel = k.replace("value.bias", "relative_positions_encoding.positions_encoding")
        sd["nezha." + rel] = torch.arange(16 * 16 * (H // NH), dtype=torch.float32).reshape(16, 16, H // NH)
sd["cls.predictions.decoder.weight"] = sd["nezha.embeddings.word_embeddings.weight"]
sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
torch.save(sd, os.path.join(G, "nezha_hf.pt"))

with open(os.path.join(G, "nezha_config.json"), "w") as f:
    json.dump({"num_attention_heads": NH, "max_relative_position": MRP, "type_vocab_size": T}, f)

st, off, blobs = {}, 0, []
for k in sorted(c):
    b = np.ascontiguousarray(c[k]).tobytes()
    st[k] = {"dtype": "F32", "shape": list(c[k].shape), "data_offsets": [off, off + len(b)]}
    off += len(b)
    blobs.append(b)
h = json.dumps(st, separators=(",", ":")).encode()
with open(os.path.join(G, "expect_nezha.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(sorted(k for k in sd if "relative" in k or "token_type_ids" in k))
