#!/usr/bin/python3
# Make the first-release CPM vocabulary out of the later one: piece 3 "\u2583"
# becomes the control symbol "<cls>" (score 0), everything else unchanged.
# The protobuf is rewritten at the wire level (no protobuf module needed).
# Usage: /usr/bin/python3 test/ref/cpm_v1_model.py chinese_vocab.model OUT.model
import sys
def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1; r |= (c & 0x7f) << s; s += 7
        if c < 0x80: return r, i
def enc_varint(v):
    o = bytearray()
    while True:
        c = v & 0x7f; v >>= 7
        if v: o.append(c | 0x80)
        else: o.append(c); return bytes(o)
src = open(sys.argv[1], "rb").read()
out = bytearray(); i = 0; k = 0
while i < len(src):
    start = i
    key, i = varint(src, i)
    f, w = key >> 3, key & 7
    assert w == 2, "unexpected wire type at top level"
    n, i = varint(src, i)
    body = src[i:i + n]; i += n
    if f == 1:
        if k == 3:
            assert b"\xe2\x96\x83" in body
            piece = b"<cls>"
            body = b"\x0a" + enc_varint(len(piece)) + piece + b"\x15\x00\x00\x00\x00" + b"\x18\x03"
            out += enc_varint(key) + enc_varint(len(body)) + body
            k += 1
            continue
        k += 1
    out += src[start:i]
open(sys.argv[2], "wb").write(out)
