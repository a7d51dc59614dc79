#!/usr/bin/python3
"""Torch side of test/bench/bench_extract.sh: the same BERT encoder as
bert_extract_ref.py (BERT-base shapes by default), inference sentences/s at
batch B x T, or one training step (forward, backward, AdamW) in seconds.
Prints one JSON line.  Run with OMP_WAIT_POLICY=PASSIVE."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_extract_ref import Bert  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--batch-size", type=int, default=16)
ap.add_argument("--max-len", type=int, default=128)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--iters", type=int, default=3)
ap.add_argument("--train", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
cfg = dict(vocab_size=21128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
           intermediate_size=3072, max_position_embeddings=512)
m = Bert(cfg)
ids = torch.randint(1, cfg["vocab_size"], (a.batch_size, a.max_len))
mask = torch.ones_like(ids, dtype=torch.bool)
opt = torch.optim.AdamW(m.parameters(), lr=2e-5, eps=1e-6) if a.train else None
if not a.train:
    m.eval()
times = []
for it in range(a.iters + 1):
    t0 = time.time()
    if a.train:
        out, _ = m(ids, mask)
        (out * 1e-3).sum().backward()
        opt.step()
        opt.zero_grad()
    else:
        with torch.no_grad():
            m(ids, mask)
    if it:
        times.append(time.time() - t0)
s = sum(times) / len(times)
if a.train:
    print(json.dumps(dict(workload="train_step", batch=a.batch_size, len=a.max_len, threads=a.threads,
                          seconds=round(s, 4), best_seconds=round(min(times), 4))))
else:
    print(json.dumps(dict(workload="inference", batch=a.batch_size, len=a.max_len, threads=a.threads,
                          sentences_per_s=round(a.batch_size / s, 3), seconds=round(s, 4))))
