#!/usr/bin/python3
"""Fixtures for the converter tests (test/unit/test_convert.c, test/cli/convert).

Writes into test/golden/convert/:
  bert_hf.pt / bert_hf_legacy.pt   tiny HF BertForPreTraining state dict
                                   (torch.save zip and legacy formats)
  gpt2_hf.pt / gpt2_hf_legacy.pt   tiny HF GPT2LMHeadModel state dict (Conv1D
                                   weights (in,out), tied lm_head, attn.bias)
  gpt2_hf.safetensors              the same state dict as safetensors
  cpm/mp_rank_00_model_states.pt,
  cpm/mp_rank_01_model_states.pt   a tiny CPM-shaped Megatron model split in
                                   two model-parallel shards under ['module']
  strided.pt                       a non-contiguous (transposed) tensor
  expect_*.safetensors             the b4k canonical tensors computed here
                                   with numpy (names, transposes, merges)
  expect_gpt2_f16/bf16.safetensors torch .half() / .to(bfloat16) casts
Usage: /usr/bin/python3 test/ref/gen_convert_fixtures.py"""
import collections
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "convert")
os.makedirs(os.path.join(OUT, "cpm"), exist_ok=True)
g = torch.Generator().manual_seed(5)


def rnd(*shape):
    return torch.randn(*shape, generator=g)


def save_st(path, tensors, meta=None):
    """Minimal safetensors writer (sorted names, like the reference lib)."""
    names = sorted(tensors)
    hdr, off, blobs = {}, 0, []
    if meta:
        hdr["__metadata__"] = meta
    kinds = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    for n in names:
        t = tensors[n].contiguous()
        b = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        hdr[n] = {"dtype": kinds[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def save_both(sd, stem):
    torch.save(sd, os.path.join(OUT, stem + ".pt"))
    torch.save(sd, os.path.join(OUT, stem + "_legacy.pt"), _use_new_zipfile_serialization=False)


# ---- BERT (HF names): V=20 H=8 L=2 I=16 P=16 T=2
V, H, L, I, P = 20, 8, 2, 16, 16
sd = collections.OrderedDict()
sd["bert.embeddings.position_ids"] = torch.arange(P).unsqueeze(0)
sd["bert.embeddings.word_embeddings.weight"] = rnd(V, H)
sd["bert.embeddings.position_embeddings.weight"] = rnd(P, H)
sd["bert.embeddings.token_type_embeddings.weight"] = rnd(2, H)
sd["bert.embeddings.LayerNorm.weight"] = rnd(H)
sd["bert.embeddings.LayerNorm.bias"] = rnd(H)
for l in range(L):
    p = "bert.encoder.layer.%d." % l
    for n in ["query", "key", "value"]:
        sd[p + "attention.self.%s.weight" % n] = rnd(H, H)
        sd[p + "attention.self.%s.bias" % n] = rnd(H)
    sd[p + "attention.output.dense.weight"] = rnd(H, H)
    sd[p + "attention.output.dense.bias"] = rnd(H)
    sd[p + "attention.output.LayerNorm.weight"] = rnd(H)
    sd[p + "attention.output.LayerNorm.bias"] = rnd(H)
    sd[p + "intermediate.dense.weight"] = rnd(I, H)
    sd[p + "intermediate.dense.bias"] = rnd(I)
    sd[p + "output.dense.weight"] = rnd(H, I)
    sd[p + "output.dense.bias"] = rnd(H)
    sd[p + "output.LayerNorm.weight"] = rnd(H)
    sd[p + "output.LayerNorm.bias"] = rnd(H)
sd["bert.pooler.dense.weight"] = rnd(H, H)
sd["bert.pooler.dense.bias"] = rnd(H)
sd["cls.predictions.bias"] = rnd(V)
sd["cls.predictions.transform.dense.weight"] = rnd(H, H)
sd["cls.predictions.transform.dense.bias"] = rnd(H)
sd["cls.predictions.transform.LayerNorm.weight"] = rnd(H)
sd["cls.predictions.transform.LayerNorm.bias"] = rnd(H)
sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]  # tied
sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
sd["cls.seq_relationship.weight"] = rnd(2, H)
sd["cls.seq_relationship.bias"] = rnd(2)
save_both(sd, "bert_hf")
exp = {}
for k, v in sd.items():
    if k.endswith("position_ids") or k.startswith("cls.predictions.decoder"):
        continue
    exp[k[5:] if k.startswith("bert.") else k] = v
save_st(os.path.join(OUT, "expect_bert.safetensors"), exp)

# ---- GPT-2 (HF names): V=30 C=8 L=2 ctx=16
V, C, L, N = 30, 8, 2, 16
sd = collections.OrderedDict()
sd["transformer.wte.weight"] = rnd(V, C)
sd["transformer.wpe.weight"] = rnd(N, C)
for l in range(L):
    p = "transformer.h.%d." % l
    sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = rnd(C), rnd(C)
    sd[p + "attn.bias"] = torch.tril(torch.ones(N, N)).view(1, 1, N, N)
    sd[p + "attn.masked_bias"] = torch.tensor(-1e4)
    sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"] = rnd(C, 3 * C), rnd(3 * C)
    sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"] = rnd(C, C), rnd(C)
    sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = rnd(C), rnd(C)
    sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"] = rnd(C, 4 * C), rnd(4 * C)
    sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"] = rnd(4 * C, C), rnd(C)
sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = rnd(C), rnd(C)
sd["lm_head.weight"] = sd["transformer.wte.weight"]  # tied: same storage
save_both(sd, "gpt2_hf")
save_st(os.path.join(OUT, "gpt2_hf.safetensors"),
        {k: v for k, v in sd.items() if k != "lm_head.weight"}, {"format": "pt"})
nolm = [k for k in sd if k != "lm_head.weight"]
save_st(os.path.join(OUT, "gpt2_hf-00001-of-00002.safetensors"), {k: sd[k] for k in nolm[:9]})
save_st(os.path.join(OUT, "gpt2_hf-00002-of-00002.safetensors"), {k: sd[k] for k in nolm[9:]})
exp = {}
for k, v in sd.items():
    if k == "lm_head.weight" or k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
        continue
    k = k[len("transformer."):]
    if k.endswith(".weight") and any(s in k for s in ("c_attn", "c_proj", "c_fc")):
        v = v.t().contiguous()  # Conv1D (in,out) -> (out,in)
    exp[k] = v
save_st(os.path.join(OUT, "expect_gpt2.safetensors"), exp)
save_st(os.path.join(OUT, "expect_gpt2_f16.safetensors"),
        {k: (v.half() if v.dim() >= 2 else v) for k, v in exp.items()})
save_st(os.path.join(OUT, "expect_gpt2_bf16.safetensors"),
        {k: (v.to(torch.bfloat16) if v.dim() >= 2 else v) for k, v in exp.items()})

# ---- CPM (Megatron/DeepSpeed names), mp = 2: V=40 C=8 heads=4 L=2 ctx=16
V, C, NH, L, N, MP = 40, 8, 4, 2, 16, 2
full = collections.OrderedDict()
full["word_embeddings.weight"] = rnd(V, C)
full["position_embeddings.weight"] = rnd(N, C)
for l in range(L):
    p = "transformer.layers.%d." % l
    full[p + "input_layernorm.weight"], full[p + "input_layernorm.bias"] = rnd(C), rnd(C)
    full[p + "attention.query_key_value.weight"] = rnd(3 * C, C)  # rows [q; k; v]
    full[p + "attention.query_key_value.bias"] = rnd(3 * C)
    full[p + "attention.dense.weight"], full[p + "attention.dense.bias"] = rnd(C, C), rnd(C)
    full[p + "post_attention_layernorm.weight"] = rnd(C)
    full[p + "post_attention_layernorm.bias"] = rnd(C)
    full[p + "mlp.dense_h_to_4h.weight"], full[p + "mlp.dense_h_to_4h.bias"] = rnd(4 * C, C), rnd(4 * C)
    full[p + "mlp.dense_4h_to_h.weight"], full[p + "mlp.dense_4h_to_h.bias"] = rnd(C, 4 * C), rnd(C)
full["transformer.final_layernorm.weight"] = rnd(C)
full["transformer.final_layernorm.bias"] = rnd(C)
for r in range(MP):
    sh = collections.OrderedDict()
    for k, v in full.items():
        if k == "word_embeddings.weight":
            v = v.chunk(MP, 0)[r]
        elif k.endswith("query_key_value.weight") or k.endswith("query_key_value.bias"):
            q, kk, vv = v.chunk(3, 0)
            v = torch.cat([q.chunk(MP, 0)[r], kk.chunk(MP, 0)[r], vv.chunk(MP, 0)[r]], 0)
        elif k.endswith("attention.dense.weight") or k.endswith("dense_4h_to_h.weight"):
            v = v.chunk(MP, 1)[r]
        elif k.endswith("dense_h_to_4h.weight") or k.endswith("dense_h_to_4h.bias"):
            v = v.chunk(MP, 0)[r]
        sh[k] = v.clone()
    ck = {"module": sh, "iteration": 1000, "mp_world_size": MP, "dp_world_size": 1,
          "global_steps": 1000, "skipped_steps": 0, "csr_tensor_module_names": set(),
          "lr_scheduler": {"last_iter": 1000},
          "torch_rng_state": torch.get_rng_state(), "np_rng_state": np.random.get_state(),
          "random_rng_state": (3, tuple(range(5)), None)}
    torch.save(ck, os.path.join(OUT, "cpm", "mp_rank_%02d_model_states.pt" % r))
names = {"word_embeddings.weight": "wte.weight", "position_embeddings.weight": "wpe.weight",
         "transformer.final_layernorm.weight": "ln_f.weight",
         "transformer.final_layernorm.bias": "ln_f.bias"}
sub = [("input_layernorm", "ln_1"), ("attention.query_key_value", "attn.c_attn"),
       ("attention.dense", "attn.c_proj"), ("post_attention_layernorm", "ln_2"),
       ("mlp.dense_h_to_4h", "mlp.c_fc"), ("mlp.dense_4h_to_h", "mlp.c_proj")]
exp = {}
for k, v in full.items():
    if k in names:
        exp[names[k]] = v
        continue
    l = int(k.split(".")[2])
    rest = ".".join(k.split(".")[3:])
    for a, b in sub:
        if rest.startswith(a + "."):
            exp["h.%d.%s%s" % (l, b, rest[len(a):])] = v
save_st(os.path.join(OUT, "expect_cpm.safetensors"), exp)

# ---- a transposed view (strides (1, 3)) and a storage offset
base = rnd(4, 3)
torch.save(collections.OrderedDict([("t", base.t()), ("row", base[2])]), os.path.join(OUT, "strided.pt"))
torch.save(collections.OrderedDict([("t", base.t()), ("row", base[2])]),
           os.path.join(OUT, "strided_legacy.pt"), _use_new_zipfile_serialization=False)
save_st(os.path.join(OUT, "expect_strided.safetensors"),
        {"t": base.t().contiguous(), "row": base[2].contiguous()})
for f in sorted(os.listdir(OUT)):
    print(f)
