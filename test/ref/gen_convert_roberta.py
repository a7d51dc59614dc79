#!/usr/bin/python3
"""A tiny HF RobertaForMaskedLM state dict (test/unit/test_convert.c
roberta_mlm_head): roberta. prefix, position_ids buffer, the MLM head as
lm_head.dense / lm_head.layer_norm / lm_head.bias with lm_head.decoder tied
to the word embeddings.  Writes into test/golden/convert/:
  roberta_hf.pt              the state dict (torch.save zip)
  expect_roberta.safetensors the canonical b4k tensors: BERT's names, the
                             head as cls.predictions.transform.* and
                             cls.predictions.bias, no decoder, no buffers
Usage: /usr/bin/python3 test/ref/gen_convert_roberta.py"""
import collections
import json
import os
import struct

import torch

G = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "convert")
g = torch.Generator().manual_seed(13)
V, H, I, P = 10, 4, 8, 8


def r(*s):
    return torch.randn(*s, generator=g)


sd, exp = collections.OrderedDict(), collections.OrderedDict()


def put(src, dst, v):
    sd[src] = v
    if dst:
        exp[dst] = v


put("roberta.embeddings.position_ids", None, torch.arange(P).unsqueeze(0))
put("roberta.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight", r(V, H))
put("roberta.embeddings.position_embeddings.weight", "embeddings.position_embeddings.weight", r(P, H))
put("roberta.embeddings.token_type_embeddings.weight", "embeddings.token_type_embeddings.weight", r(1, H))
put("roberta.embeddings.LayerNorm.weight", "embeddings.LayerNorm.weight", r(H))
put("roberta.embeddings.LayerNorm.bias", "embeddings.LayerNorm.bias", r(H))
p = "encoder.layer.0."
for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
    put("roberta." + p + n + ".weight", p + n + ".weight", r(H, H))
    put("roberta." + p + n + ".bias", p + n + ".bias", r(H))
for n in ("attention.output.LayerNorm", "output.LayerNorm"):
    put("roberta." + p + n + ".weight", p + n + ".weight", r(H))
    put("roberta." + p + n + ".bias", p + n + ".bias", r(H))
put("roberta." + p + "intermediate.dense.weight", p + "intermediate.dense.weight", r(I, H))
put("roberta." + p + "intermediate.dense.bias", p + "intermediate.dense.bias", r(I))
put("roberta." + p + "output.dense.weight", p + "output.dense.weight", r(H, I))
put("roberta." + p + "output.dense.bias", p + "output.dense.bias", r(H))
put("lm_head.bias", "cls.predictions.bias", r(V))
put("lm_head.dense.weight", "cls.predictions.transform.dense.weight", r(H, H))
put("lm_head.dense.bias", "cls.predictions.transform.dense.bias", r(H))
put("lm_head.layer_norm.weight", "cls.predictions.transform.LayerNorm.weight", r(H))
put("lm_head.layer_norm.bias", "cls.predictions.transform.LayerNorm.bias", r(H))
put("lm_head.decoder.weight", None, sd["roberta.embeddings.word_embeddings.weight"])
put("lm_head.decoder.bias", None, sd["lm_head.bias"])
torch.save(sd, os.path.join(G, "roberta_hf.pt"))

st, off, blobs = {}, 0, []
for k in sorted(exp):
    b = exp[k].contiguous().numpy().tobytes()
    st[k] = {"dtype": "F32", "shape": list(exp[k].shape), "data_offsets": [off, off + len(b)]}
    off += len(b)
    blobs.append(b)
h = json.dumps(st, separators=(",", ":")).encode()
with open(os.path.join(G, "expect_roberta.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(len(sd), "tensors,", len(exp), "expected")
