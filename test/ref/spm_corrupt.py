#!/usr/bin/python3
# Handcrafted corrupt inputs for test/corrupt/tokenize-spm/ and
# test/corrupt/tokenize-jieba*/ (one defect per file).  Regenerate with
#   /usr/bin/python3 test/ref/spm_corrupt.py  (needs build/tools/jieba-data)
import os, struct, subprocess, tempfile
top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
def v(x):
    o = bytearray()
    x &= (1 << 64) - 1
    while True:
        c = x & 0x7f; x >>= 7
        if x: o.append(c | 0x80)
        else: o.append(c); return bytes(o)
def f_bytes(n, b): return v(n << 3 | 2) + v(len(b)) + b
def f_int(n, x): return v(n << 3) + v(x)
def f_float(n, x): return v(n << 3 | 5) + struct.pack("<f", x)
def piece(s, score=0.0, t=None):
    b = f_bytes(1, s.encode()) + f_float(2, score)
    return f_bytes(1, b + (f_int(3, t) if t else b""))
base = [piece("<unk>", 0, 2), piece("<s>", 0, 3), piece("</s>", 0, 3), piece("\u2581", -1),
        piece("你", -2), piece("好", -2), piece("你好", -3)]
trainer = f_bytes(2, f_int(3, 1) + f_int(35, 0))
norm = f_bytes(3, f_bytes(1, b"identity") + f_int(3, 1))
good = b"".join(base) + trainer + norm
d = os.path.join(top, "test", "corrupt", "tokenize-spm")
os.makedirs(d, exist_ok=True)
cases = {
    "empty.model": b"",
    "not-protobuf.model": b"this is a text file, not a model\n",
    "truncated.model": good[: len(good) - 7],
    "length-past-end.model": good + f_bytes(1, b"")[:1] + v(1 << 40),
    "varint-too-long.model": good + b"\x08" + b"\xff" * 11,
    "group-wire-type.model": good + b"\x0b\x0c",
    "field-zero.model": good + b"\x00\x01",
    "no-unk.model": b"".join(base[1:]) + trainer + norm,
    "two-unk.model": good + piece("<unk2>", 0, 2),
    "duplicate-piece.model": good + piece("你好", -1),
    "empty-piece.model": good + f_bytes(1, f_float(2, -1.0)),
    "bad-piece-type.model": good + piece("x", 0, 9),
    "score-wrong-wire.model": good + f_bytes(1, f_bytes(1, b"y") + f_int(2, 5)),
    "byte-piece-no-fallback.model": good + piece("<0x41>", 0, 6),
    "bad-byte-piece.model": b"".join(base) + f_bytes(2, f_int(3, 1) + f_int(35, 1)) + norm + piece("<0xZZ>", 0, 6),
    "bad-model-type.model": b"".join(base) + f_bytes(2, f_int(3, 7)) + norm,
    "charsmap-size-past-end.model": b"".join(base) + trainer + f_bytes(3, f_bytes(2, struct.pack("<I", 1000) + b"\0" * 16)),
    "charsmap-truncated.model": b"".join(base) + trainer + f_bytes(3, f_bytes(2, b"\x01\x00")),
    "charsmap-no-nul.model": b"".join(base) + trainer + f_bytes(3, f_bytes(2, struct.pack("<I", 8) + b"\0" * 8 + b"abc")),
    "trainer-not-message.model": b"".join(base) + v(2 << 3) + v(3) + norm,
    "unk-id-not-unknown.model": b"".join(base) + f_bytes(2, f_int(3, 1) + f_int(40, 3)) + norm,
    "eos-id-past-end.model": b"".join(base) + f_bytes(2, f_int(3, 1) + f_int(42, 7)) + norm,
    "pad-id-not-int32.model": b"".join(base) + f_bytes(2, f_int(3, 1) + f_int(43, 1 << 40)) + norm,
    "normalizer-name-not-bytes.model": b"".join(base) + trainer + f_bytes(3, f_int(1, 5)),
}
for k, b in cases.items():
    if b is None: continue
    open(os.path.join(d, k), "wb").write(b)
open(os.path.join(d, "CMD"), "w").write('echo "你好 世界" | b4k-tokenize -k spm --model "$F"\n')

# jieba data files: a valid one from a toy dictionary, then one defect each
# (the data format is described in lib/tok/jieba_data.c)
tmp = tempfile.mkdtemp()
os.makedirs(os.path.join(tmp, "finalseg"))
open(os.path.join(tmp, "dict.txt"), "w").write("你好 10 l\n世界 5 n\n")
open(os.path.join(tmp, "finalseg", "prob_start.py"), "w").write("P={'B': -0.2, 'E': -3.14e+100, 'M': -3.14e+100, 'S': -1.4}\n")
open(os.path.join(tmp, "finalseg", "prob_trans.py"), "w").write("P={'B': {'E': -0.5, 'M': -0.9}, 'E': {'B': -0.5, 'S': -0.8}, 'M': {'E': -0.3, 'M': -1.2}, 'S': {'B': -0.7, 'S': -0.6}}\n")
open(os.path.join(tmp, "finalseg", "prob_emit.py"), "w").write("P={'B': {'\\u4f60': -1.0}, 'E': {'\\u597d': -1.0}, 'M': {}, 'S': {'\\u4e16': -2.0}}\n")
data = os.path.join(tmp, "j.b4kd")
subprocess.check_call([os.path.join(top, "build", "tools", "jieba-data"), "-d", tmp, data])
good = open(data, "rb").read()
# format version 2 (lib/tok/jieba_data.c): header, then root, slots, freq,
# flag, ecp, ev sections (64-byte aligned), then the checksum
M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M64
def rnd(acc, v): return rotl((acc + v * P2) & M64, 31) * P1 & M64
def checksum(b): # XXH64, seed 0 (as test/ref/gen_convert_corrupt.py)
    n, p = len(b), 0
    if n >= 32:
        v = [(P1 + P2) & M64, P2, 0, (-P1) & M64]
        while p + 32 <= n:
            for i in range(4): v[i] = rnd(v[i], struct.unpack_from("<Q", b, p + 8 * i)[0])
            p += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for x in v: h = ((h ^ rnd(0, x)) * P1 + P4) & M64
    else:
        h = P5
    h = (h + n) & M64
    while p + 8 <= n:
        h ^= rnd(0, struct.unpack_from("<Q", b, p)[0]); h = (rotl(h, 27) * P1 + P4) & M64; p += 8
    if p + 4 <= n:
        h ^= struct.unpack_from("<I", b, p)[0] * P1 & M64; h = (rotl(h, 23) * P2 + P3) & M64; p += 4
    while p < n:
        h ^= b[p] * P5 & M64; h = rotl(h, 11) * P1 & M64; p += 1
    h ^= h >> 33; h = h * P2 & M64; h ^= h >> 29; h = h * P3 & M64; h ^= h >> 32
    return h
assert checksum(b"abc") == 0x44BC2CF5AD770999
def seal(b): return bytes(b) + struct.pack("<Q", checksum(b))
body = bytearray(good[:-8])
assert checksum(good[:-8]) == struct.unpack("<Q", good[-8:])[0]
u32 = lambda off: struct.unpack_from("<I", body, off)[0]
u64 = lambda off: struct.unpack_from("<Q", body, off)[0]
n_root, n_freq, n_slots, n_emit = u32(32), u32(36), u64(40), u32(48)
up = lambda x: (x + 63) & ~63
o_root = 256; o_slots = up(o_root + 4 * n_root); o_ftab = up(o_slots + 8 * n_slots)
o_lft = up(o_ftab + 8 * (n_freq + 1)); o_ecp = up(o_lft + 8 * (n_freq + 1)); o_ev = up(o_ecp + 4 * n_emit)
def edit(off, fmt, val):
    b = bytearray(body); struct.pack_into(fmt, b, off, val); return seal(b)
def kc(i): return u64(o_slots + 8 * i)
def set_kc(i, v): return edit(o_slots + 8 * i, "<Q", v)
KIDS, KEY = 1 << 61, (1 << 43) - 1
slots = [i for i in range(n_slots) if kc(i)]
empty = [i for i in range(n_slots) if not kc(i)]
leaf = [i for i in slots if not kc(i) & KIDS][0]
inner = [i for i in slots if kc(i) & KIDS][0]
def home(key, n): return (((((key * 0x9E3779B97F4A7C15) & M64) >> 32) * (n >> 2)) >> 32) << 2
def edits(*ch): # (offset, fmt, value)...
    b = bytearray(body)
    for off, fmt, val in ch: struct.pack_into(fmt, b, off, val)
    return seal(b)
def found(tab, key): # where a lookup for key stops: the slot, or None
    h = home(key, n_slots)
    while tab[h]:
        if tab[h] & KEY == key: return h
        h = (h + 1) % n_slots
    return None
def unreachable_move():
    for i in slots:
        if kc(i) & KIDS: continue
        for e in empty:
            tab = [kc(x) for x in range(n_slots)]; tab[e], tab[i] = tab[i], 0
            if found(tab, kc(i) & KEY) is None: return i, e
i_far, e_far = unreachable_move()
# a copy of a leaf edge (no flags) in the first empty slot after it
dup_at = sorted(empty, key=lambda e: (e - leaf) % n_slots)[0]
# the version 1 file of the same toy dictionary (what b4k wrote before)
v1 = bytes.fromhex(
    "42344b4a4945424101000000000000000f00000000000000020000000000000010000000000000000300000000000000"
    "9a9999999999c9bf6547485c3bb6ccd46547485c3bb6ccd4666666666666f6bf6547485c3bb6ccd4000000000000e0bf"
    "cdccccccccccecbf6547485c3bb6ccd4000000000000e0bf6547485c3bb6ccd46547485c3bb6ccd49a9999999999e9bf"
    "6547485c3bb6ccd4333333333333d3bf333333333333f3bf6547485c3bb6ccd4666666666666e6bf6547485c3bb6ccd4"
    "6547485c3bb6ccd4333333333333e3bf164e00006547485c3bb6ccd46547485c3bb6ccd46547485c3bb6ccd400000000"
    "000000c0604f0000000000000000f0bf6547485c3bb6ccd46547485c3bb6ccd46547485c3bb6ccd47d5900006547485c"
    "3bb6ccd4000000000000f0bf6547485c3bb6ccd46547485c3bb6ccd40a06e4bda0e5a5bd0506e4b896e7958c6125230c"
    "a3ef08de"
    )
d = os.path.join(top, "test", "corrupt", "tokenize-jieba")
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):
    if f.endswith(".b4kd"): os.remove(os.path.join(d, f))
cases = {
    "empty.b4kd": b"",
    "bad-magic.b4kd": seal(b"B4KJIEBX" + body[8:]),
    "future-version.b4kd": edit(8, "<I", 9),
    "version-1.b4kd": v1,
    "truncated.b4kd": good[:-20],
    "checksum.b4kd": bytes(body) + struct.pack("<Q", checksum(body) ^ 1),
    "header-flags.b4kd": edit(12, "<I", 1),
    "root-table-size.b4kd": edit(32, "<I", 5),
    "freq-count.b4kd": edit(36, "<I", 1 << 20),
    "slot-count-not-4n.b4kd": edit(40, "<Q", n_slots + 2),
    "edge-count.b4kd": edit(56, "<Q", n_slots),
    "section-size-mismatch.b4kd": edit(48, "<I", n_emit + 1),
    "word-count.b4kd": edit(24, "<Q", 3),
    "total-overflow.b4kd": edit(16, "<Q", 1 << 63),
    "slot-parent-out-of-range.b4kd": set_kc(leaf, (kc(leaf) & ~(0x3FFFFF << 21)) | ((n_slots + 3) << 21)),
    "slot-own-parent.b4kd": set_kc(leaf, (kc(leaf) & ~(0x3FFFFF << 21)) | ((leaf + 2) << 21)),
    "slot-codepoint.b4kd": set_kc(leaf, kc(leaf) | 0x1FFFFF),
    "slot-freq-index.b4kd": set_kc(leaf, kc(leaf) | ((n_freq + 1) << 43)),
    "slot-children-flag.b4kd": set_kc(leaf, kc(leaf) | KIDS),
    "slot-misplaced.b4kd": edits((o_slots + 8 * e_far, "<Q", kc(i_far)), (o_slots + 8 * i_far, "<Q", 0)),
    "slot-duplicate.b4kd": edits((o_slots + 8 * dup_at, "<Q", kc(leaf) & ((1 << 43) - 1)), (56, "<Q", len(slots) + 1)),
    "freq-zero-not-first.b4kd": edit(o_ftab, "<Q", 1),
    "freq-order.b4kd": edit(o_ftab + 16, "<Q", u64(o_ftab + 8)),
    "freq-log-nan.b4kd": edit(o_lft + 8, "<Q", 0x7FF8000000000000),
    "emission-codepoint.b4kd": edit(o_ecp, "<I", 0x200000),
    "emission-order.b4kd": edit(o_ecp + 4, "<I", u32(o_ecp)),
}
for k, b in cases.items():
    if b is None: continue
    open(os.path.join(d, k), "wb").write(b)
open(os.path.join(d, "CMD"), "w").write('echo "你好世界" | b4k-tokenize -k cpm --model "$TOP/test/golden/spm/uni_bf0_dp1.model" --jieba "$F"\n')
# jieba's own files given as --jieba DIR: a folder per defect, each a copy of
# the toy files above with one file broken ("None" leaves the file out)
toy = {
    "dict.txt": "你好 10 l\n世界 5 n\n",
    "finalseg/prob_start.py": open(os.path.join(tmp, "finalseg", "prob_start.py")).read(),
    "finalseg/prob_trans.py": open(os.path.join(tmp, "finalseg", "prob_trans.py")).read(),
    "finalseg/prob_emit.py": open(os.path.join(tmp, "finalseg", "prob_emit.py")).read(),
}
d = os.path.join(top, "test", "corrupt", "tokenize-jieba-dir")
dirs = {
    "dict-bad-freq": {"dict.txt": "你好 10 l\n世界 abc n\n"},
    "dict-no-freq": {"dict.txt": "你好 10 l\n世界\n"},
    "dict-bad-utf8": {"dict.txt": b"\xe4\xbd\xa0\xe5\xa5\xbd 10\n\xff\xfe 3\n"},
    "dict-freq-overflow": {"dict.txt": "你好 99999999999999999999999\n"},
    "dict-empty": {"dict.txt": ""},
    "prob-start-truncated": {"finalseg/prob_start.py": "P={'B': -0.2, 'E'"},
    "prob-trans-bad-state": {"finalseg/prob_trans.py": "P={'B': {'E': -0.5},\n 'X': {'B': -0.5}}\n"},
    "prob-emit-not-a-dict": {"finalseg/prob_emit.py": "P=[1, 2, 3]\n"},
    "prob-emit-bad-number": {"finalseg/prob_emit.py": "P={'B': {'\\u4f60': -1.0},\n 'E': {'\\u597d': --1}}\n"},
    "prob-emit-missing": {"finalseg/prob_emit.py": None},
    # a 2 MB line (over the 1 MB line cap), zstd-compressed to 100 bytes
    "dict-huge-line": {"dict.txt": subprocess.run(["zstd", "-19", "-q", "-c"], check=True,
                       capture_output=True, input=b"\xe4\xbd\xa0" * 700000 + b" 3\n").stdout},
}
for name, change in dirs.items():
    files = dict(toy); files.update(change)
    for rel, text in files.items():
        path = os.path.join(d, name, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if text is None:
            if os.path.exists(path): os.remove(path)
            continue
        open(path, "wb").write(text if isinstance(text, bytes) else text.encode())
open(os.path.join(d, "CMD"), "w").write('echo "你好世界" | b4k-tokenize -k cpm --model "$TOP/test/golden/spm/uni_bf0_dp1.model" --jieba "$F"\n')
# user dictionaries
d = os.path.join(top, "test", "corrupt", "tokenize-jieba-userdict")
os.makedirs(d, exist_ok=True)
cases = {
    "bad-utf8.txt": "ok 3\n".encode() + b"\xff\xfe 4\n",
    "freq-overflow.txt": b"\xe4\xbd\xa0\xe5\xa5\xbd 99999999999999999999999999\n",
    "total-overflow.txt": ("a 9007199254740992\n" * 600).encode(),
    "huge-line.txt": None,  # written as huge-line.txt.zst (2 MB line, zstd)
    "overlong-utf8.txt": b"a\x00b 3\n\xc0\x80 2\n",
}
for k, b in cases.items():
    if b is None: continue
    open(os.path.join(d, k), "wb").write(b)
open(os.path.join(d, "CMD"), "w").write('echo "你好世界" | b4k-tokenize -k cpm --model "$TOP/test/golden/spm/uni_bf0_dp1.model" --user-dict "$F"\n')
# tokenize input: a 64 MiB + 1 line (past b4k-tokenize's line cap) after a
# good line, zstd-compressed to 2 KB; the good line is still written
d = os.path.join(top, "test", "corrupt", "tokenize-input")
open(os.path.join(d, "huge-line.txt.zst"), "wb").write(subprocess.run(
    ["zstd", "-19", "-q", "-c"], check=True, capture_output=True,
    input=b"hello world\n" + b"a" * ((64 << 20) + 1)).stdout)
