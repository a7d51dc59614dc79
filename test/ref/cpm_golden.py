#!/usr/bin/python3
"""CPM-architecture fixtures.  Run from the repository root:

    /usr/bin/python3 test/ref/cpm_golden.py

1. test/golden/gen/cpm-logits.f32 and cpm-meta.json: torch's logits at every
   position of fixed prompts for the tiny two-shard Megatron CPM of
   test/golden/convert/cpm/ (test/ref/gen_convert_fixtures.py), merged here
   into the unsplit model the way Megatron partitions it (column-parallel
   weights split by output rows, [q;k;v] split per partition, row-parallel
   weights by input columns, the vocab-parallel embedding by rows).
   test_nn_gpt2.c converts the shards with b4k-convert --arch cpm and
   compares.
2. data/gen/demo-cpm.b4k: a small random CPM-architecture model (2 layers,
   width 32, vocab 4000, context 1024, q8 matrices) with the SentencePiece
   model data/spm-mini/zh-bpe-4k.model embedded as its CPM tokenizer, so the
   CPM few-shot commands of man/b4k-generate.1 run without the 2.6B model.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref as R  # noqa: E402

SHARDS = ["test/golden/convert/cpm/mp_rank_%02d_model_states.pt" % r for r in range(2)]
OUT = "test/golden/gen"
NH = 4  # test/golden/convert/cpm_config.json
PROMPTS = [
    [5, 17, 39, 3, 22, 8, 31],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 20, 11, 0, 38, 12],  # the whole context: sgemm path
    [21],
]


def merge(shards):
    """Megatron mp shards -> the unsplit state dict (Megatron names)."""
    mp = len(shards)
    full = {}
    for k in shards[0]:
        parts = [s[k] for s in shards]
        if k == "word_embeddings.weight":
            v = torch.cat(parts, 0)
        elif k.endswith("query_key_value.weight") or k.endswith("query_key_value.bias"):
            qkv = [p.chunk(3, 0) for p in parts]
            v = torch.cat([torch.cat([qkv[r][i] for r in range(mp)], 0) for i in range(3)], 0)
        elif k.endswith("dense_h_to_4h.weight") or k.endswith("dense_h_to_4h.bias"):
            v = torch.cat(parts, 0)
        elif k.endswith("attention.dense.weight") or k.endswith("dense_4h_to_h.weight"):
            v = torch.cat(parts, 1)
        else:
            assert all(torch.equal(parts[0], p) for p in parts[1:]), k
            v = parts[0]
        full[k] = v.float()
    return full


def to_hf(full):
    """Megatron names and (out,in) Linear weights -> the HF GPT-2 layout of
    gpt2_ref.forward (Conv1D weights (in,out))."""
    sd = {"wte.weight": full["word_embeddings.weight"],
          "wpe.weight": full["position_embeddings.weight"],
          "ln_f.weight": full["transformer.final_layernorm.weight"],
          "ln_f.bias": full["transformer.final_layernorm.bias"]}
    sub = [("input_layernorm", "ln_1", False), ("attention.query_key_value", "attn.c_attn", True),
           ("attention.dense", "attn.c_proj", True), ("post_attention_layernorm", "ln_2", False),
           ("mlp.dense_h_to_4h", "mlp.c_fc", True), ("mlp.dense_4h_to_h", "mlp.c_proj", True)]
    L = 0
    for k, v in full.items():
        if not k.startswith("transformer.layers."):
            continue
        l = int(k.split(".")[2])
        L = max(L, l + 1)
        rest = ".".join(k.split(".")[3:])
        for a, b, lin in sub:
            if rest.startswith(a + "."):
                w = rest[len(a) + 1:]
                sd["h.%d.%s.%s" % (l, b, w)] = v.t().contiguous() if lin and w == "weight" else v
    return sd, L


def golden():
    shards = [torch.load(p, map_location="cpu", weights_only=False)["module"] for p in SHARDS]
    sd, L = to_hf(merge(shards))
    V, C = sd["wte.weight"].shape
    P = sd["wpe.weight"].shape[0]
    assert max(max(p) for p in PROMPTS) < V and max(len(p) for p in PROMPTS) <= P
    with torch.no_grad():
        lg = [R.forward(sd, p, L, NH).numpy() for p in PROMPTS]
    np.concatenate(lg).astype('<f4').tofile(os.path.join(OUT, "cpm-logits.f32"))
    meta = {"shards": SHARDS, "config": {"n_layer": L, "n_embd": C, "n_head": NH,
                                         "vocab_size": V, "n_ctx": P},
            "prompts": PROMPTS, "max_abs_logit": float(max(np.abs(x).max() for x in lg))}
    with open(os.path.join(OUT, "cpm-meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "cpm-logits.f32, max |logit| %.3g" % meta["max_abs_logit"])


def demo():
    L, C, NH_, V, P = 2, 32, 4, 4000, 1024
    sd = R.random_gpt2(L, C, NH_, V, P, 77, std=0.08)
    cfg = {"n_layer": L, "n_embd": C, "n_head": NH_, "vocab_size": V, "n_ctx": P,
           "layer_norm_epsilon": 1e-5, "activation": "gelu_new", "eos_token_id": 3}
    ts = [(n, 'f16' if n == "wpe.weight" else dt, a) for n, dt, a in R.to_b4k_tensors(sd, "q8")]
    with open("data/spm-mini/zh-bpe-4k.model", "rb") as f:
        ts.append(("tokenizer.spm", "u8", f.read()))
    R.write_b4k("data/gen/demo-cpm.b4k", "cpm", cfg, ts,
                tokenizer={"kind": "cpm", "model": "tokenizer.spm"})
    print("wrote data/gen/demo-cpm.b4k", os.path.getsize("data/gen/demo-cpm.b4k"), "bytes")


if __name__ == "__main__":
    torch.manual_seed(0)
    golden()
    demo()
