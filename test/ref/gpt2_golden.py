#!/usr/bin/python3
"""Regenerate test/golden/gen/: a tiny random GPT-2 as .b4k in f32, bf16 and
q8, and torch's logits at every position of fixed prompts, plus greedy
continuations.  Run from the repository root:

    /usr/bin/python3 test/ref/gpt2_golden.py

Files (all little-endian):
  tiny-gpt2{,-bf16,-q8}.b4k  the model (wte/linear weights in that dtype)
  meta.json                  config, prompts, greedy continuations, file list
  logits-{f32,bf16,q8}.f32   (sum T, V) logits of the prompts, concatenated;
                             bf16/q8 = torch f32 forward on the *rounded*
                             weights, i.e. the exact answer for that file.
  tiny-gpt2-erf.b4k          a smaller f32 model with "activation": "gelu"
  logits-erf.f32             (the erf form) and its logits
  (and data/gen/demo-gpt2.b4k, the q8 model again, for the man page)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref as R  # noqa: E402

OUT = "test/golden/gen"
L, C, NH, V, P = 2, 64, 4, 101, 48
SEED = 1234
PROMPTS = [
    [5, 17, 99, 3, 42, 8, 77],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 90, 80, 70, 60, 50, 40, 30, 20, 11, 100],
    [64],
]
NGEN = 12


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    sd = R.random_gpt2(L, C, NH, V, P, SEED, std=0.08)
    cfg = {"n_layer": L, "n_embd": C, "n_head": NH, "vocab_size": V, "n_ctx": P,
           "layer_norm_epsilon": 1e-5, "activation": "gelu_new", "eos_token_id": 0}
    meta = {"config": cfg, "prompts": PROMPTS, "greedy": [], "min_gap": []}
    for dt in ("f32", "bf16", "q8"):
        name = "tiny-gpt2.b4k" if dt == "f32" else "tiny-gpt2-%s.b4k" % dt
        R.write_b4k(os.path.join(OUT, name), "gpt2", cfg, R.to_b4k_tensors(sd, dt))
        rsd = R.rounded_sd(sd, dt)
        with torch.no_grad():
            lg = [R.forward(rsd, p, L, NH).numpy() for p in PROMPTS]
        np.concatenate(lg).astype('<f4').tofile(os.path.join(OUT, "logits-%s.f32" % dt))
    with torch.no_grad():
        for p in PROMPTS:
            g = R.greedy(sd, p, NGEN, L, NH)
            meta["greedy"].append(g)
            # smallest top1-top2 gap along the way (ties would make the test flaky)
            ids = list(p) + g
            lg = R.forward(sd, ids[:-1], L, NH)[len(p) - 1:]
            top2 = lg.topk(2, dim=1).values
            meta["min_gap"].append(float((top2[:, 0] - top2[:, 1]).min()))
    # GELU in the erf form ("activation": "gelu"), a smaller model with
    # larger weights so that pre-activations reach where erf and tanh differ
    L2, C2, NH2, P2 = 2, 32, 2, 24
    sd2 = R.random_gpt2(L2, C2, NH2, V, P2, SEED + 1, std=0.5)
    cfg2 = dict(cfg, n_layer=L2, n_embd=C2, n_head=NH2, n_ctx=P2, activation="gelu")
    R.write_b4k(os.path.join(OUT, "tiny-gpt2-erf.b4k"), "gpt2", cfg2, R.to_b4k_tensors(sd2, "f32"))
    erf = torch.nn.functional.gelu  # exact: 0.5 x (1 + erf(x / sqrt 2))
    with torch.no_grad():
        lg = [R.forward(sd2, p, L2, NH2, gelu=erf).numpy() for p in PROMPTS]
        lt = [R.forward(sd2, p, L2, NH2).numpy() for p in PROMPTS]
    np.concatenate(lg).astype('<f4').tofile(os.path.join(OUT, "logits-erf.f32"))
    # a decoder that used the tanh form would be this far off
    meta["erf_vs_tanh"] = float(max(np.abs(a - b).max() for a, b in zip(lg, lt)))
    assert meta["erf_vs_tanh"] > 1e-3, meta["erf_vs_tanh"]
    # the demo model of man/b4k-generate.1 (same weights, q8, 135 KB)
    os.makedirs("data/gen", exist_ok=True)
    R.write_b4k("data/gen/demo-gpt2.b4k", "gpt2", cfg, R.to_b4k_tensors(sd, "q8"))
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "min top-2 gaps", meta["min_gap"])


if __name__ == "__main__":
    main()
