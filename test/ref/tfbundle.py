"""Writer of TensorFlow TensorBundle checkpoints without TensorFlow, from the
format description (LevelDB table + tensor_bundle.proto): imported by
gen_convert_tf.py and gen_convert_nezha.py."""
import struct

import numpy as np

POLY = 0x82F63B78
TAB = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TAB.append(c)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = (c >> 8) ^ TAB[(c ^ x) & 0xFF]
    return c ^ 0xFFFFFFFF


def mask(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wt, payload):
    return varint(num << 3 | wt) + payload


def ld(num, b):
    return field(num, 2, varint(len(b)) + b)


def entry(dtype, shape, offset, size, crc):
    sh = b"".join(ld(2, field(1, 0, varint(d))) for d in shape)
    return (field(1, 0, varint(dtype)) + ld(2, sh) + field(4, 0, varint(offset)) +
            field(5, 0, varint(size)) + field(6, 5, struct.pack("<I", crc)))


def block(items, restart=16):
    out, restarts, prev = bytearray(), [], b""
    for i, (k, v) in enumerate(items):
        shared = 0
        if i % restart == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(k), len(prev)) and k[shared] == prev[shared]:
                shared += 1
        out += varint(shared) + varint(len(k) - shared) + varint(len(v)) + k[shared:] + v
        prev = k
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def table(items, block_size=256):
    """items sorted by key -> SSTable bytes (several data blocks)."""
    out, index, cur, size = bytearray(), [], [], 0

    def flush():
        nonlocal cur, size
        if not cur:
            return
        b = block(cur)
        h = varint(len(out)) + varint(len(b))
        out.extend(b + b"\0" + struct.pack("<I", mask(crc32c(b + b"\0"))))
        index.append((cur[-1][0], h))
        cur, size = [], 0

    for k, v in items:
        cur.append((k, v))
        size += len(k) + len(v)
        if size >= block_size:
            flush()
    flush()
    meta = block([])
    mh = varint(len(out)) + varint(len(meta))
    out += meta + b"\0" + struct.pack("<I", mask(crc32c(meta + b"\0")))
    ib = block(index, 1)
    ih = varint(len(out)) + varint(len(ib))
    out += ib + b"\0" + struct.pack("<I", mask(crc32c(ib + b"\0")))
    foot = mh + ih
    foot += b"\0" * (40 - len(foot)) + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(out + foot)


def bundle(prefix, tensors):
    """tensors: dict name -> np.float32/int64 array.  Writes prefix.index and
    prefix.data-00000-of-00001."""
    data, items = bytearray(), []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.tobytes()
        dt = {np.float32: 1, np.int64: 9}[a.dtype.type]
        items.append((name.encode(), entry(dt, a.shape, len(data), len(b), mask(crc32c(b)))))
        data += b
    header = field(1, 0, varint(1)) + ld(3, field(1, 0, varint(1)))
    idx = table([(b"", header)] + items)
    with open(prefix + ".index", "wb") as f:
        f.write(idx)
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(bytes(data))
    return idx, bytes(data)
