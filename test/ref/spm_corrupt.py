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
tmp = tempfile.mkdtemp()
os.makedirs(os.path.join(tmp, "finalseg"))
open(os.path.join(tmp, "dict.txt"), "w").write("你好 10 l\n世界 5 n\n")
open(os.path.join(tmp, "finalseg", "prob_start.py"), "w").write("P={'B': -0.2, 'E': -3.14e+100, 'M': -3.14e+100, 'S': -1.4}\n")
open(os.path.join(tmp, "finalseg", "prob_trans.py"), "w").write("P={'B': {'E': -0.5, 'M': -0.9}, 'E': {'B': -0.5, 'S': -0.8}, 'M': {'E': -0.3, 'M': -1.2}, 'S': {'B': -0.7, 'S': -0.6}}\n")
open(os.path.join(tmp, "finalseg", "prob_emit.py"), "w").write("P={'B': {'\\u4f60': -1.0}, 'E': {'\\u597d': -1.0}, 'M': {}, 'S': {'\\u4e16': -2.0}}\n")
data = os.path.join(tmp, "j.b4kd")
subprocess.check_call([os.path.join(top, "build", "tools", "jieba-data"), "-d", tmp, data])
good = open(data, "rb").read()
def fnv(b):
    h = 1469598103934665603
    for c in b: h = ((h ^ c) * 1099511628211) & ((1 << 64) - 1)
    return h
def seal(b): return b + struct.pack("<Q", fnv(b))
body = good[:-8]
d = os.path.join(top, "test", "corrupt", "tokenize-jieba")
os.makedirs(d, exist_ok=True)
cases = {
    "empty.b4kd": b"",
    "bad-magic.b4kd": seal(b"B4KJIEBX" + body[8:]),
    "future-version.b4kd": seal(body[:8] + struct.pack("<I", 9) + body[12:]),
    "truncated.b4kd": good[:-20],
    "checksum.b4kd": body + struct.pack("<Q", fnv(body) ^ 1),
    "word-count-too-big.b4kd": seal(body[:24] + struct.pack("<Q", 1 << 40) + body[32:]),
    "section-size-mismatch.b4kd": seal(body[:32] + struct.pack("<Q", 3) + body[40:]),
    "emission-codepoint.b4kd": seal(body[:208] + struct.pack("<I", 0x200000) + body[212:]),
    "word-length-past-end.b4kd": seal(body[:-8] + b"\x05\x7f" + body[-6:]),
    "word-bad-utf8.b4kd": seal(body[:-6] + b"\xff\xfe" + body[-4:]),
    "total-overflow.b4kd": seal(body[:16] + struct.pack("<Q", 1 << 63) + body[24:]),
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
