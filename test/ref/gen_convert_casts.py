#!/usr/bin/python3
"""Golden f32 -> f16 / bf16 casts from torch, for test/unit/test_dtype.c.

Writes test/golden/convert/casts.bin: u32 n, then n f32 inputs, n u16 torch
.half() bits, n u16 torch .to(bfloat16) bits.  Inputs cover the special
values, the f16 subnormal/overflow edges, round-half-even ties and random
bit patterns.  Usage: /usr/bin/python3 test/ref/gen_convert_casts.py"""
import os
import struct

import numpy as np
import torch

rng = np.random.default_rng(5)
special = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e9, -1e9,
           float("inf"), float("-inf"), 2**-14, 2**-24, 2**-25, 2**-25 * 1.0001,
           2**-26, 3 * 2**-25, 6.0e-8, 1e-10, 1.00048828125, 1.00146484375,
           1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20]
bits = list(np.array(special, dtype=np.float32).view(np.uint32))
bits += list(rng.integers(0, 2**32, 3000, dtype=np.uint64).astype(np.uint32))
# random values around the f16 range and ties
vals = rng.standard_normal(1000).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, 1000).astype(np.float32)
bits += list(vals.view(np.uint32))
ties = (rng.integers(0, 2**16, 500).astype(np.uint32) << 16) | 0x8000  # bf16 ties
bits += list(ties)
ties16 = (rng.integers(0x3800, 0x4780, 500).astype(np.uint32) << 13) | 0x1000  # f16 ties
bits += list(ties16)
a = np.array(bits, dtype=np.uint32)
# drop NaNs: torch's NaN payload handling differs between its own code paths
f = a.view(np.float32)
a = a[~np.isnan(f)]
x = torch.from_numpy(a.view(np.float32).copy())
h = x.half().numpy().view(np.uint16)
b = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
out = os.path.join(os.path.dirname(__file__), "..", "golden", "convert", "casts.bin")
with open(out, "wb") as fp:
    fp.write(struct.pack("<I", len(a)))
    fp.write(a.astype("<u4").tobytes())
    fp.write(h.astype("<u2").tobytes())
    fp.write(b.astype("<u2").tobytes())
print(out, len(a))
