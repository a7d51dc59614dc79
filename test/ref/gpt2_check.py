#!/usr/bin/python3
"""Check b4k-generate's greedy output on a real checkpoint against torch.

    gpt2_check.py hf  DIR  OUT.jsonl   (DIR/model.safetensors + config.json)
    gpt2_check.py tf  DIR  OUT.jsonl   (DIR/model.ckpt.data-* + TENSORS.txt + hparams.json)

OUT.jsonl is b4k-generate --temperature 0 --logprobs output for records that
carry "prompt_ids" (echoed here through the id: {"id": [prompt ids]}).  The
checkpoint is read independently of b4k (safetensors header / the TF shard
at the offsets of TENSORS.txt).  For every generated token: torch's log-prob
of it equals b4k's within 1e-4, and it is an argmax of torch's logits up to
1e-4 (near-ties may pick either).  Prints PASS:/FAIL: lines."""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref as R  # noqa: E402


def load_hf(d):
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        base = 8 + n
        sd = {}
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            assert v["dtype"] == "F32"
            a, b = v["data_offsets"]
            f.seek(base + a)
            arr = np.frombuffer(f.read(b - a), dtype="<f4").reshape(v["shape"])
            name = k[len("transformer."):] if k.startswith("transformer.") else k
            sd[name] = torch.from_numpy(arr.copy())
    cfg = json.load(open(os.path.join(d, "config.json")))
    return sd, cfg["n_layer"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)


def load_tf(d):
    shard = [f for f in os.listdir(d) if f.startswith("model.ckpt.data-")][0]
    raw = open(os.path.join(d, shard), "rb").read()
    sd = {}
    for line in open(os.path.join(d, "TENSORS.txt")):
        if line.startswith("#") or not line.strip():
            continue
        name, dt, shape, off, size = line.split("\t")
        assert dt == "float32"
        shape = json.loads(shape)
        arr = np.frombuffer(raw[int(off):int(off) + int(size)], dtype="<f4").reshape(shape)
        p = name.split("/")[1:]
        if p[0].startswith("h"):
            i = int(p[0][1:])
            leaf = {"w": "weight", "b": "bias", "g": "weight"}[p[-1]]
            key = "h.%d.%s.%s" % (i, ".".join(p[1:-1]), leaf)
            if arr.ndim == 3:
                arr = arr[0]
        elif p[0] in ("wte", "wpe"):
            key = p[0] + ".weight"
        else:  # ln_f/g, ln_f/b
            key = "ln_f." + {"g": "weight", "b": "bias"}[p[1]]
        sd[key] = torch.from_numpy(arr.copy())
    hp = json.load(open(os.path.join(d, "hparams.json")))
    return sd, hp["n_layer"], hp["n_head"], 1e-5


def main():
    kind, d, out = sys.argv[1:4]
    sd, L, NH, eps = load_hf(d) if kind == "hf" else load_tf(d)
    bad = 0
    n = 0
    worst = 0.0
    for line in open(out):
        r = json.loads(line)
        prompt, gen, lps = r["id"], r["ids"], r["logprobs"]
        with torch.no_grad():
            lg = R.forward(sd, prompt + gen, L, NH, eps)
        ls = torch.log_softmax(lg.double(), -1)
        for i, t in enumerate(gen):
            row = ls[len(prompt) - 1 + i]
            d1 = abs(float(row[t]) - lps[i])
            d2 = float(row.max()) - float(row[t])
            worst = max(worst, d1)
            n += 1
            if d1 > 1e-4 or d2 > 1e-4:
                bad += 1
                print("  %s token %d: id %d logprob b4k %.6f torch %.6f, torch max %.6f"
                      % (prompt, i, t, lps[i], float(row[t]), float(row.max())))
    print("%s: %s %d tokens, max |logprob diff| %.2e" % ("FAIL" if bad or not n else "PASS",
                                                          kind + " " + os.path.basename(d), n, worst))


if __name__ == "__main__":
    main()
