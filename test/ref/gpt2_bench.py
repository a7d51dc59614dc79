#!/usr/bin/python3
"""torch figures for test/bench/bench_generate.sh: a GPT-2-shaped model with
random weights, batch 1, prefill of P tokens then D greedy decode steps with
a KV cache (HF-style computation), f32, on the threads torch is given.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 test/ref/gpt2_bench.py L C NH V CTX P D THREADS

Prints: torch prefill <tok/s> decode <tok/s>"""
import math
import sys
import time

import torch


def main():
    L, C, NH, V, CTX, P, D, TH = (int(a) for a in sys.argv[1:9])
    torch.set_num_threads(TH)
    torch.manual_seed(0)
    HS = C // NH
    g = lambda *s: torch.randn(*s) * 0.02  # noqa: E731
    W = {"wte": g(V, C), "wpe": g(CTX, C)}
    layers = []
    for _ in range(L):
        layers.append(dict(ln1w=torch.ones(C), ln1b=torch.zeros(C), ln2w=torch.ones(C),
                           ln2b=torch.zeros(C), attn=g(C, 3 * C), attnb=torch.zeros(3 * C),
                           proj=g(C, C), projb=torch.zeros(C), fc=g(C, 4 * C),
                           fcb=torch.zeros(4 * C), fcp=g(4 * C, C), fcpb=torch.zeros(C)))
    lnfw, lnfb = torch.ones(C), torch.zeros(C)
    cache = [[None, None] for _ in range(L)]

    def forward(ids, pos0):
        T = ids.shape[0]
        x = W["wte"][ids] + W["wpe"][pos0:pos0 + T]
        for i, y in enumerate(layers):
            h = torch.nn.functional.layer_norm(x, (C,), y["ln1w"], y["ln1b"])
            qkv = torch.addmm(y["attnb"], h, y["attn"])
            q, k, v = qkv.split(C, dim=1)
            q = q.view(T, NH, HS).transpose(0, 1)
            k = k.view(T, NH, HS).transpose(0, 1)
            v = v.view(T, NH, HS).transpose(0, 1)
            if cache[i][0] is not None:
                k = torch.cat([cache[i][0], k], 1)
                v = torch.cat([cache[i][1], v], 1)
            cache[i] = [k, v]
            att = (q @ k.transpose(1, 2)) / math.sqrt(HS)
            if T > 1:
                S = k.shape[1]
                mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
                att = att.masked_fill(~mask, float("-inf"))
            att = att.softmax(-1)
            o = (att @ v).transpose(0, 1).reshape(T, C)
            x = x + torch.addmm(y["projb"], o, y["proj"])
            h = torch.nn.functional.layer_norm(x, (C,), y["ln2w"], y["ln2b"])
            h = torch.nn.functional.gelu(torch.addmm(y["fcb"], h, y["fc"]), approximate="tanh")
            x = x + torch.addmm(y["fcpb"], h, y["fcp"])
        x = torch.nn.functional.layer_norm(x[-1:], (C,), lnfw, lnfb)
        return x @ W["wte"].T

    ids = torch.arange(P) % V
    with torch.no_grad():
        forward(ids[:8], 0)  # warm up
        for c in cache:
            c[0] = c[1] = None
        t0 = time.perf_counter()
        lg = forward(ids, 0)
        t1 = time.perf_counter()
        tok = lg.argmax(-1)
        for i in range(D):
            lg = forward(tok, P + i)
            tok = lg.argmax(-1)
        t2 = time.perf_counter()
    print("torch prefill %.1f decode %.1f" % (P / (t1 - t0), D / (t2 - t1)))


if __name__ == "__main__":
    main()
