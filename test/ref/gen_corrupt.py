#!/usr/bin/python3
"""Write the bad models of test/corrupt/generate-model/ (run from the repo
root).  Each must make b4k-generate exit 1 with a message."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref as R  # noqa: E402

D = "test/corrupt/generate-model"
L, C, NH, V, P = 1, 32, 2, 16, 8


def cfg(**kw):
    c = {"n_layer": L, "n_embd": C, "n_head": NH, "vocab_size": V, "n_ctx": P}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def tensors(drop=None, reshape=None, dtype='f32'):
    sd = R.random_gpt2(L, C, NH, V, P, 5)
    out = R.to_b4k_tensors(sd, dtype)
    out = [t for t in out if t[0] != drop]
    if reshape:
        out = [(n, d, a.reshape(-1) if n == reshape else a) for n, d, a in out]
    return out


def main():
    os.makedirs(D, exist_ok=True)
    R.write_b4k(D + "/wrong-arch.b4k", "bert", cfg(), tensors())
    R.write_b4k(D + "/missing-tensor.b4k", "gpt2", cfg(), tensors(drop="h.0.mlp.c_fc.weight"))
    R.write_b4k(D + "/wrong-shape.b4k", "gpt2", cfg(), tensors(reshape="h.0.attn.c_attn.weight"))
    R.write_b4k(D + "/no-n-head.b4k", "gpt2", cfg(n_head=None), tensors())
    R.write_b4k(D + "/heads-do-not-divide.b4k", "gpt2", cfg(n_head=3), tensors())
    R.write_b4k(D + "/vocab-mismatch.b4k", "gpt2", cfg(vocab_size=17), tensors())
    R.write_b4k(D + "/bad-activation.b4k", "gpt2", cfg(activation="relu"), tensors())
    # truncated: a valid file cut in the middle of its tensor data
    R.write_b4k("/tmp/_ok.b4k", "gpt2", cfg(), tensors())
    b = open("/tmp/_ok.b4k", "rb").read()
    open(D + "/truncated.b4k", "wb").write(b[:len(b) // 2])
    os.remove("/tmp/_ok.b4k")
    with open(D + "/not-a-model.b4k", "w") as f:
        f.write('{"prompt_ids":[1]}\n')


if __name__ == "__main__":
    main()
