#!/usr/bin/python3
"""Parity models for test/parity/parity_generate.sh, in their original
checkpoint layouts, plus torch's logits.

    gpt2_parity.py make gpt2|cpm DIR     write the checkpoint and DIR/prompts.txt
    gpt2_parity.py logits gpt2|cpm DIR DTYPE OUT.f32
                                         torch logits (all positions) on the
                                         weights rounded through DTYPE
    gpt2_parity.py compare A.f32 B.f32 V [ROWS]
                                         max |a - b| and the argmax agreement
                                         (of the first ROWS positions)

gpt2: GPT-2 small shapes (12 x 768, 12 heads, vocab 50257, ctx 1024), HF
      layout: DIR/model.safetensors (transformer.*, Conv1D (in,out)) + config.json
cpm:  CPM-LM width, 4 layers (2560, 32 heads, vocab 30000, ctx 1024),
      Megatron layout: DIR/mp_rank_00_model_states.pt {"module": {...}}"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref as R  # noqa: E402

SHAPES = {"gpt2": (12, 768, 12, 50257, 1024), "cpm": (4, 2560, 32, 30000, 1024)}
PROMPTS = {"gpt2": [[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13],
                    list(range(1000, 1100, 3)), [50256]],
           "cpm": [[1, 837, 11, 4, 3, 29999, 15, 16, 17], list(range(500, 560, 2)), [7]]}


def save_st(path, tensors, meta=None):
    hdr, off, blobs = {}, 0, []
    for k, v in tensors.items():
        b = v.contiguous().numpy().astype('<f4').tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta:
        hdr["__metadata__"] = meta
    h = json.dumps(hdr).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def model_sd(kind):
    L, C, NH, V, P = SHAPES[kind]
    return R.random_gpt2(L, C, NH, V, P, 2024 if kind == "gpt2" else 2025), L, NH


MEGATRON = [("ln_1", "input_layernorm"), ("attn.c_attn", "attention.query_key_value"),
            ("attn.c_proj", "attention.dense"), ("ln_2", "post_attention_layernorm"),
            ("mlp.c_fc", "mlp.dense_h_to_4h"), ("mlp.c_proj", "mlp.dense_4h_to_h")]


def make(kind, d):
    os.makedirs(d, exist_ok=True)
    sd, L, NH = model_sd(kind)
    Lc, C, NHc, V, P = SHAPES[kind]
    if kind == "gpt2":
        save_st(os.path.join(d, "model.safetensors"), {"transformer." + k: v for k, v in sd.items()},
                {"format": "pt"})
        json.dump({"model_type": "gpt2", "n_layer": L, "n_embd": C, "n_head": NH, "vocab_size": V,
                   "n_positions": P, "n_ctx": P, "layer_norm_epsilon": 1e-5,
                   "activation_function": "gelu_new", "eos_token_id": 50256},
                  open(os.path.join(d, "config.json"), "w"))
    else:
        mod = collections.OrderedDict()
        mod["word_embeddings.weight"] = sd["wte.weight"]
        mod["position_embeddings.weight"] = sd["wpe.weight"]
        for l in range(L):
            for ours, meg in MEGATRON:
                for leaf in ("weight", "bias"):
                    t = sd["h.%d.%s.%s" % (l, ours, leaf)]
                    if leaf == "weight" and ours.startswith(("attn.", "mlp.")):
                        t = t.t().contiguous()  # Megatron Linear is (out, in)
                    mod["transformer.layers.%d.%s.%s" % (l, meg, leaf)] = t
        mod["transformer.final_layernorm.weight"] = sd["ln_f.weight"]
        mod["transformer.final_layernorm.bias"] = sd["ln_f.bias"]
        torch.save({"module": mod, "iteration": 1, "mp_world_size": 1},
                   os.path.join(d, "mp_rank_00_model_states.pt"))
        json.dump({"n_layer": L, "n_embd": C, "n_head": NH, "vocab_size": V, "n_ctx": P},
                  open(os.path.join(d, "config.json"), "w"))
    with open(os.path.join(d, "prompts.txt"), "w") as f:
        for p in PROMPTS[kind]:
            f.write(" ".join(map(str, p)) + "\n")


def logits(kind, d, dtype, out):
    sd, L, NH = model_sd(kind)
    sd = R.rounded_sd(sd, dtype, also=("wpe.weight",))  # b4k-convert rounds every matrix
    torch.set_num_threads(2)
    with torch.no_grad():
        lg = [R.forward(sd, p, L, NH).numpy() for p in PROMPTS[kind]]
    np.concatenate(lg).astype('<f4').tofile(out)


def compare(a, b, V, rows=0):
    x = np.fromfile(a, dtype='<f4').reshape(-1, V)
    y = np.fromfile(b, dtype='<f4').reshape(-1, V)
    if rows:
        x, y = x[:rows], y[:rows]
    d = np.abs(x - y).max()
    agree = (x.argmax(1) == y.argmax(1)).mean()
    print("%.3g %.4f" % (d, agree))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "logits":
        logits(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
