#!/usr/bin/python3
"""Handcrafted bad inputs for b4k-convert (one defect per file):
  test/corrupt/model/        .b4k files (the writer below follows
                             man/b4k-model.5 independently of lib/model)
  test/corrupt/convert/      torch.save files with forbidden globals,
                             broken safetensors and torch zips
  test/corrupt/convert-late/ a torch zip whose data fails its CRC-32 while
                             the output is being written
  test/corrupt/convert-cpm-single/  one shard of a 2-way model given alone
  test/corrupt/convert-cpm/  Megatron shards that do not match shard 0 of
                             test/golden/convert/cpm (named mp_rank_NN-*: the
                             rank is read from the name)
Usage: /usr/bin/python3 test/ref/gen_convert_corrupt.py"""
import collections
import json
import os
import struct

import numpy as np
import torch

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def rnd(acc, v):
    return rotl((acc + v * P2) & M64, 31) * P1 & M64


def xxh64(b, seed=0):
    n, p = len(b), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while p + 32 <= n:
            for i in range(4):
                v[i] = rnd(v[i], struct.unpack_from("<Q", b, p + 8 * i)[0])
            p += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for x in v:
            h = ((h ^ rnd(0, x)) * P1 + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while p + 8 <= n:
        h ^= rnd(0, struct.unpack_from("<Q", b, p)[0])
        h = (rotl(h, 27) * P1 + P4) & M64
        p += 8
    if p + 4 <= n:
        h ^= struct.unpack_from("<I", b, p)[0] * P1 & M64
        h = (rotl(h, 23) * P2 + P3) & M64
        p += 4
    while p < n:
        h ^= b[p] * P5 & M64
        h = rotl(h, 11) * P1 & M64
        p += 1
    h ^= h >> 33
    h = h * P2 & M64
    h ^= h >> 29
    h = h * P3 & M64
    h ^= h >> 32
    return h


assert xxh64(b"") == 0xEF46DB3751D8E999 and xxh64(b"abc") == 0x44BC2CF5AD770999
assert xxh64(b"Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1


def b4k(tensors, version=1, edit=None, data_edit=None):
    """tensors: list of (name, float32 array) -> .b4k bytes."""
    hdr = collections.OrderedDict(architecture="bert", config={}, tokenizer=None)
    tens, data = collections.OrderedDict(), bytearray()
    for name, a in tensors:
        b = a.astype("<f4").tobytes()
        tens[name] = {"dtype": "f32", "shape": list(a.shape), "codec": "raw", "offset": len(data),
                      "stored_size": len(b), "raw_size": len(b), "checksum": "xxh64:%016x" % xxh64(b)}
        data += b + b"\0" * ((64 - len(b) % 64) % 64)
    hdr["tensors"] = tens
    text = json.dumps(hdr, separators=(",", ":"))
    if edit:
        text = edit(text)
    text = text.encode()
    text += b" " * ((64 - (16 + len(text)) % 64) % 64)
    out = b"B4K\0" + struct.pack("<IQ", version, len(text)) + text + bytes(data)
    return data_edit(out) if data_edit else out


def w(d, name, b):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)


md = os.path.join(TOP, "test", "corrupt", "model")
a = np.arange(32, dtype=np.float32).reshape(4, 8)
c = np.ones(16, dtype=np.float32)
good = b4k([("a", a), ("c", c)])
w(md, "bad-magic.b4k", b"GGUF" + good[4:])
w(md, "future-version.b4k", b4k([("a", a)], version=2))
w(md, "truncated-data.b4k", good[:-40])
w(md, "truncated-header.b4k", good[:30])
w(md, "offset-past-eof.b4k", b4k([("a", a)], edit=lambda t: t.replace('"offset":0', '"offset":6400')))
w(md, "size-overflow.b4k", b4k([("a", a)], edit=lambda t: t.replace(
    '"shape":[4,8]', '"shape":[4611686018427387904,4611686018427387904]')))
w(md, "offset-overflow.b4k", b4k([("a", a)], edit=lambda t: t.replace(
    '"offset":0', '"offset":18446744073709551552')))
w(md, "duplicate-tensor.b4k", b4k([("a", a), ("b", a)], edit=lambda t: t.replace('"b":', '"a":')))
w(md, "crc-mismatch.b4k", b4k([("a", a), ("c", c)], data_edit=lambda b: b[:-70] + b"\x01" + b[-69:]))
w(md, "overlap.b4k", b4k([("a", a), ("c", c)], edit=lambda t: t.replace('"offset":128', '"offset":64')))
w(md, "misaligned.b4k", b4k([("a", a), ("c", c)], edit=lambda t: t.replace('"offset":128', '"offset":129')))
w(md, "shape-mismatch.b4k", b4k([("a", a)], edit=lambda t: t.replace('"shape":[4,8]', '"shape":[4,9]')))
w(md, "bad-json.b4k", b4k([("a", a)], edit=lambda t: t[:-5]))
w(md, "header-length-huge.b4k", good[:8] + struct.pack("<Q", 1 << 62) + good[16:])
w(md, "empty.b4k", b"")

cv = os.path.join(TOP, "test", "corrupt", "convert")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


sd = collections.OrderedDict(w=torch.ones(2, 2), evil=Evil())
p = os.path.join(cv, "forbidden-global.pt")
os.makedirs(cv, exist_ok=True)
torch.save(sd, p)
torch.save(sd, os.path.join(cv, "forbidden-global-legacy.pt"), _use_new_zipfile_serialization=False)
ok = collections.OrderedDict([("transformer.wte.weight", torch.ones(4, 2))])
torch.save(ok, "/tmp/b4k-ok.pt")
zb = open("/tmp/b4k-ok.pt", "rb").read()
w(cv, "zip-truncated.pt", zb[: len(zb) // 2])
torch.save(ok, "/tmp/b4k-ok-legacy.pt", _use_new_zipfile_serialization=False)
lb = open("/tmp/b4k-ok-legacy.pt", "rb").read()
w(cv, "legacy-truncated.pt", lb[:-5])

# a good GPT-2 zip with one byte of archive/data/0 (wte) flipped: the zip's
# CRC-32 of that entry no longer matches.  It is checked when the tensor is
# first used, i.e. while the output is being written (test/corrupt/
# convert-late: nothing may be left behind).
import zipfile
ok2 = collections.OrderedDict([("transformer.wte.weight", torch.arange(8.0).reshape(4, 2)),
                               ("transformer.wpe.weight", torch.ones(3, 2))])
torch.save(ok2, "/tmp/b4k-ok2.pt")
zb = bytearray(open("/tmp/b4k-ok2.pt", "rb").read())
with zipfile.ZipFile("/tmp/b4k-ok2.pt") as z:
    info = [i for i in z.infolist() if i.filename.endswith("/data/0")][0]
nl, xl = struct.unpack_from("<HH", zb, info.header_offset + 26)
zb[info.header_offset + 30 + nl + xl + 5] ^= 0x40
w(os.path.join(TOP, "test", "corrupt", "convert-late"), "zip-crc-mismatch.pt", bytes(zb))


def st(hdr, data=b"", hlen=None):
    h = json.dumps(hdr, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


t8 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
w(cv, "st-offset-past-eof.safetensors", st({"transformer.wte.weight": {**t8, "data_offsets": [0, 800]}}, b"\0" * 8))
w(cv, "st-shape-mismatch.safetensors", st({"transformer.wte.weight": {**t8, "shape": [3]}}, b"\0" * 8))
w(cv, "st-header-length.safetensors", st({"transformer.wte.weight": t8}, b"\0" * 8, hlen=1 << 40))
dup = (b'{"transformer.wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
       b'"transformer.wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')
w(cv, "st-duplicate.safetensors", struct.pack("<Q", len(dup)) + dup + b"\0" * 8)
w(cv, "st-bad-dtype.safetensors", st({"transformer.wte.weight": {**t8, "dtype": "C64"}}, b"\0" * 8))
w(cv, "st-c-attn-shape.safetensors", st({
    "transformer.wte.weight": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]},
    "transformer.wpe.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [32, 56]},
    "transformer.h.0.attn.c_attn.weight": {"dtype": "F32", "shape": [2, 4], "data_offsets": [56, 88]}},
    b"\0" * 88))
w(cv, "st-size-overflow.safetensors", st({"transformer.wte.weight": {**t8, "shape": [1 << 62, 1 << 62]}}, b"\0" * 8))

cp = os.path.join(TOP, "test", "corrupt", "convert-cpm")
s0 = torch.load(os.path.join(TOP, "test", "golden", "convert", "cpm", "mp_rank_00_model_states.pt"))
s1 = torch.load(os.path.join(TOP, "test", "golden", "convert", "cpm", "mp_rank_01_model_states.pt"))
os.makedirs(cp, exist_ok=True)
x = dict(s1)
x["module"] = collections.OrderedDict((k, v) for k, v in s1["module"].items() if "layers.1.mlp" not in k)
torch.save(x, os.path.join(cp, "mp_rank_01-missing-tensor.pt"))
x = dict(s1)
x["module"] = collections.OrderedDict(s1["module"])
x["module"]["transformer.layers.0.mlp.dense_4h_to_h.weight"] = torch.ones(6, 16)
torch.save(x, os.path.join(cp, "mp_rank_01-shape-mismatch.pt"))
x = dict(s1)
x["mp_world_size"] = 4
torch.save(x, os.path.join(cp, "mp_rank_01-world-size.pt"))
# the rank comes from the mp_rank_NN in the path: a second rank 0, a rank 2
# of 2 shards, and a path without a rank (links to the good rank 1 shard)
for link in ("mp_rank_00-duplicate-rank.pt", "mp_rank_02-rank-gap.pt", "no-rank-in-name.pt"):
    p = os.path.join(cp, link)
    if os.path.lexists(p):
        os.remove(p)
    os.symlink("../../golden/convert/cpm/mp_rank_01_model_states.pt", p)
# one shard of the 2-way model given alone (CMD with one input): it says
# mp_world_size 2 (a link to the good shard), or, without that key, its
# c_attn has 3*n_embd/2 rows
cs = os.path.join(TOP, "test", "corrupt", "convert-cpm-single")
os.makedirs(cs, exist_ok=True)
p = os.path.join(cs, "mp_rank_00-of-two.pt")
if os.path.lexists(p):
    os.remove(p)
os.symlink("../../golden/convert/cpm/mp_rank_00_model_states.pt", p)
x = dict(s0)
del x["mp_world_size"]
torch.save(x, os.path.join(cs, "mp_rank_00-no-world-size.pt"))
print("ok")
