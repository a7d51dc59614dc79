#!/usr/bin/python3
"""GPT-2 / CPM reference in plain torch, plus an independent .b4k writer.

Shared by test/ref/gpt2_golden.py (tiny fixtures for `make check`) and the
parity / bench scripts.  Run with Debian's /usr/bin/python3 (python3-torch).

The model is the HF GPT2LMHeadModel computation written out (pre-LN blocks,
Conv1D weights stored (in, out), tanh GELU "gelu_new", tied LM head).
"""
import json
import math
import struct

import numpy as np
import torch

# ---- xxh64 (seed 0), for the .b4k checksums --------------------------------
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)
M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def _merge(acc, val):
    acc ^= _round(0, val)
    return (acc * P1 + P4) & M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + P1 + P2) & M64
        v2 = (seed + P2) & M64
        v3 = seed
        v4 = (seed - P1) & M64
        # bulk part with numpy would be faster; fixtures are small
        lanes = np.frombuffer(data, dtype='<u8', count=(n // 32) * 4)
        for k in range(0, len(lanes), 4):
            v1 = _round(v1, int(lanes[k]))
            v2 = _round(v2, int(lanes[k + 1]))
            v3 = _round(v3, int(lanes[k + 2]))
            v4 = _round(v4, int(lanes[k + 3]))
        i = (n // 32) * 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & M64
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        k1 = _round(0, struct.unpack_from('<Q', data, i)[0])
        h ^= k1
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from('<I', data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


# ---- dtype encoders (the bit layouts of lib/tensor/dtype.h) ----------------
def enc_bf16(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(
        torch.bfloat16).view(torch.int16).numpy().tobytes()


def dec_bf16(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(
        torch.bfloat16).float().numpy()


def q8_quant(x):
    """x (rows, K) f32 -> (q int8 (rows,K), ds f16 (rows,K/32)); K % 32 == 0."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, k = x.shape
    assert k % 32 == 0
    b = x.reshape(rows, k // 32, 32)
    amax = np.abs(b).max(axis=2)
    d = (amax / np.float32(127)).astype(np.float32)
    ds16 = d.astype(np.float16)
    ds = ds16.astype(np.float32)
    with np.errstate(divide='ignore', invalid='ignore'):
        q = np.where(ds[:, :, None] > 0, np.rint(b / ds[:, :, None]), 0)
    q = np.clip(q, -127, 127).astype(np.int8)
    return q.reshape(rows, k), ds16


def dec_q8(x):
    q, ds = q8_quant(x)
    rows, k = q.shape
    return (q.reshape(rows, k // 32, 32).astype(np.float32) *
            ds.astype(np.float32)[:, :, None]).reshape(rows, k)


def enc_q8(x):
    q, ds = q8_quant(x)
    return q.tobytes() + ds.tobytes()


def write_b4k(path, arch, config, tensors, tokenizer=None):
    """tensors: list of (name, dtype, np.float32 array), or (name, 'u8',
    bytes) for an embedded file."""
    entries = {}
    blobs = []
    off = 0
    for name, dt, arr in tensors:
        if dt == 'u8':
            raw = bytes(arr)
            arr = np.zeros(len(raw), dtype=np.uint8)  # for the shape
        else:
            arr = np.ascontiguousarray(arr, dtype=np.float32)
        if dt == 'u8':
            pass
        elif dt == 'f32':
            raw = arr.tobytes()
        elif dt == 'bf16':
            raw = enc_bf16(arr)
        elif dt == 'f16':
            raw = arr.astype(np.float16).tobytes()
        elif dt == 'q8':
            raw = enc_q8(arr.reshape(-1, arr.shape[-1]))
        else:
            raise ValueError(dt)
        entries[name] = {"dtype": dt, "shape": list(arr.shape), "codec": "raw",
                         "offset": off, "stored_size": len(raw), "raw_size": len(raw),
                         "checksum": "xxh64:%016x" % xxh64(raw)}
        blobs.append((off, raw))
        off += (len(raw) + 63) // 64 * 64
    hdr = {"architecture": arch, "config": config}
    if tokenizer is not None:
        hdr["tokenizer"] = tokenizer
    hdr["tensors"] = entries
    js = json.dumps(hdr, separators=(',', ':')).encode()
    hlen = (len(js) + 16 + 63) // 64 * 64 - 16
    js = js + b' ' * (hlen - len(js))
    with open(path, 'wb') as f:
        f.write(b'B4K\0' + struct.pack('<IQ', 1, hlen) + js)
        pos = 0
        for o, raw in blobs:
            f.write(b'\0' * (o - pos))
            f.write(raw)
            pos = o + len(raw)
        f.write(b'\0' * ((-pos) % 64))


# ---- the model -------------------------------------------------------------
def random_gpt2(L, C, NH, V, P, seed, std=0.02):
    """HF-layout state dict (Conv1D weights (in,out)) with random weights.
    LayerNorm weights/biases are random too so that they are exercised."""
    g = torch.Generator().manual_seed(seed)

    def r(*s, scale=std):
        return (torch.randn(*s, generator=g) * scale).float()
    sd = {"wte.weight": r(V, C), "wpe.weight": r(P, C, scale=0.01)}
    for i in range(L):
        p = "h.%d." % i
        sd[p + "ln_1.weight"] = 1 + r(C, scale=0.1)
        sd[p + "ln_1.bias"] = r(C, scale=0.1)
        sd[p + "attn.c_attn.weight"] = r(C, 3 * C)
        sd[p + "attn.c_attn.bias"] = r(3 * C, scale=0.1)
        sd[p + "attn.c_proj.weight"] = r(C, C, scale=std / math.sqrt(2 * L))
        sd[p + "attn.c_proj.bias"] = r(C, scale=0.1)
        sd[p + "ln_2.weight"] = 1 + r(C, scale=0.1)
        sd[p + "ln_2.bias"] = r(C, scale=0.1)
        sd[p + "mlp.c_fc.weight"] = r(C, 4 * C)
        sd[p + "mlp.c_fc.bias"] = r(4 * C, scale=0.1)
        sd[p + "mlp.c_proj.weight"] = r(4 * C, C, scale=std / math.sqrt(2 * L))
        sd[p + "mlp.c_proj.bias"] = r(C, scale=0.1)
    sd["ln_f.weight"] = 1 + r(C, scale=0.1)
    sd["ln_f.bias"] = r(C, scale=0.1)
    return sd


CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def is_matrix(name):
    return name.endswith(CONV1D) or name == "wte.weight"


def to_b4k_tensors(sd, dtype):
    """Canonical b4k tensors: Conv1D weights transposed to (out,in); the big
    matrices (and wte) in `dtype`, the rest f32."""
    out = []
    for name, t in sd.items():
        a = t.detach().float().numpy()
        if name.endswith(CONV1D):
            a = a.T.copy()
        out.append((name, dtype if is_matrix(name) else 'f32', a))
    return out


def rounded_sd(sd, dtype, also=()):
    """The state dict with the big matrices (and the names in also) rounded
    through dtype, so a torch f32 forward gives the exact logits of the
    quantised model."""
    r = {}
    for name, t in sd.items():
        if (not is_matrix(name) and name not in also) or dtype == 'f32':
            r[name] = t
            continue
        a = t.float().numpy()
        if name.endswith(CONV1D):
            a = a.T.copy()
        a = dec_bf16(a) if dtype == 'bf16' else dec_q8(a) if dtype == 'q8' else \
            a.astype(np.float16).astype(np.float32)
        if name.endswith(CONV1D):
            a = a.T.copy()
        r[name] = torch.from_numpy(np.ascontiguousarray(a))
    return r


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(sd, ids, L, NH, eps=1e-5, gelu=gelu_new):
    """Full (uncached) forward: ids (T,) -> logits (T, V), float64 math off."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    T = ids.shape[0]
    x = sd["wte.weight"][ids] + sd["wpe.weight"][:T]
    C = x.shape[1]
    HS = C // NH
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(L):
        p = "h.%d." % i
        h = torch.nn.functional.layer_norm(x, (C,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], eps)
        qkv = h @ sd[p + "attn.c_attn.weight"] + sd[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=1)
        q = q.view(T, NH, HS).transpose(0, 1)
        k = k.view(T, NH, HS).transpose(0, 1)
        v = v.view(T, NH, HS).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(HS)
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ sd[p + "attn.c_proj.weight"] + sd[p + "attn.c_proj.bias"]
        h = torch.nn.functional.layer_norm(x, (C,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], eps)
        h = gelu(h @ sd[p + "mlp.c_fc.weight"] + sd[p + "mlp.c_fc.bias"])
        x = x + h @ sd[p + "mlp.c_proj.weight"] + sd[p + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (C,), sd["ln_f.weight"], sd["ln_f.bias"], eps)
    return x @ sd["wte.weight"].T


def greedy(sd, ids, n, L, NH, eps=1e-5):
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(n):
            t = int(forward(sd, ids, L, NH, eps)[-1].argmax())
            out.append(t)
            ids.append(t)
    return out
