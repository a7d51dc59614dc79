#!/usr/bin/python3
"""A TensorFlow TensorBundle checkpoint written without TensorFlow, from the
format description (LevelDB table + tensor_bundle.proto), for tests that must
run without ../shared/data (whose real TF-written fixtures are the primary
check, test/data/convert.sh).  Writes test/golden/convert/tf_bert.ckpt.*
(a tiny BERT with Google names, adam slots and global_step),
expect_tf_bert.safetensors, the fuzz seeds in test/fuzz/corpus/tfckpt/ and
tfbundle/, and
the TF cases of test/corrupt/convert-tf/.
Usage: /usr/bin/python3 test/ref/gen_convert_tf.py"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
G = os.path.join(TOP, "test", "golden", "convert")

from tfbundle import bundle, crc32c, entry, field, mask, table, varint  # noqa: E402

rng = np.random.default_rng(7)
H, I, V, P = 4, 8, 10, 8


def r(*s):
    return rng.standard_normal(s).astype(np.float32)


t, exp = {}, {}
t["bert/embeddings/word_embeddings"] = r(V, H)
t["bert/embeddings/position_embeddings"] = r(P, H)
t["bert/embeddings/token_type_embeddings"] = r(2, H)
t["bert/embeddings/LayerNorm/gamma"] = r(H)
t["bert/embeddings/LayerNorm/beta"] = r(H)
for l in range(2):
    p = "bert/encoder/layer_%d/" % l
    for n in ("attention/self/query", "attention/self/key", "attention/self/value",
              "attention/output/dense"):
        t[p + n + "/kernel"], t[p + n + "/bias"] = r(H, H), r(H)
    t[p + "intermediate/dense/kernel"], t[p + "intermediate/dense/bias"] = r(H, I), r(I)
    t[p + "output/dense/kernel"], t[p + "output/dense/bias"] = r(I, H), r(H)
    for n in ("attention/output/LayerNorm", "output/LayerNorm"):
        t[p + n + "/gamma"], t[p + n + "/beta"] = r(H), r(H)
t["bert/pooler/dense/kernel"], t["bert/pooler/dense/bias"] = r(H, H), r(H)
t["cls/predictions/output_bias"] = r(V)
t["cls/seq_relationship/output_weights"], t["cls/seq_relationship/output_bias"] = r(2, H), r(2)
for k in list(t):
    exp[k] = t[k]
    t[k + "/adam_m"], t[k + "/adam_v"] = r(*t[k].shape), r(*t[k].shape)
t["global_step"] = np.array(1000, dtype=np.int64)
idx, data = bundle(os.path.join(G, "tf_bert.ckpt"), t)
with open(os.path.join(G, "tf_bert_config.json"), "w") as f:
    json.dump({"hidden_size": H, "num_hidden_layers": 2, "num_attention_heads": 2,
               "intermediate_size": I, "vocab_size": V, "max_position_embeddings": P,
               "type_vocab_size": 2, "hidden_act": "gelu"}, f)


def canon(k):
    s = k[5:] if k.startswith("bert/") else k
    s = s.replace("layer_", "layer.").replace("/", ".")
    s = s.replace(".gamma", ".weight").replace(".beta", ".bias")
    s = s.replace("output_weights", "weight").replace("output_bias", "bias")
    if s.endswith("_embeddings"):
        s += ".weight"
    return s


st, off, blobs = {}, 0, []
for k in sorted(exp):
    a = exp[k].T if k.endswith("/kernel") else exp[k]
    k2 = canon(k).replace(".kernel", ".weight")
    b = np.ascontiguousarray(a).tobytes()
    st[k2] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    off += len(b)
    blobs.append(b)
h = json.dumps(st, separators=(",", ":")).encode()
with open(os.path.join(G, "expect_tf_bert.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

# ---- ALBERT, Google names: E=4 H=8 I=16 V=10 P=8, one shared layer
E, H2, I2 = 4, 8, 16
a = {}
a["bert/embeddings/word_embeddings"] = r(V, E)
a["bert/embeddings/position_embeddings"] = r(P, E)
a["bert/embeddings/token_type_embeddings"] = r(2, E)
a["bert/embeddings/LayerNorm/gamma"], a["bert/embeddings/LayerNorm/beta"] = r(E), r(E)
a["bert/encoder/embedding_hidden_mapping_in/kernel"] = r(E, H2)
a["bert/encoder/embedding_hidden_mapping_in/bias"] = r(H2)
g0 = "bert/encoder/transformer/group_0/inner_group_0/"
for n in ("query", "key", "value"):
    a[g0 + "attention_1/self/%s/kernel" % n], a[g0 + "attention_1/self/%s/bias" % n] = r(H2, H2), r(H2)
a[g0 + "attention_1/output/dense/kernel"], a[g0 + "attention_1/output/dense/bias"] = r(H2, H2), r(H2)
a[g0 + "LayerNorm/gamma"], a[g0 + "LayerNorm/beta"] = r(H2), r(H2)
a[g0 + "ffn_1/intermediate/dense/kernel"], a[g0 + "ffn_1/intermediate/dense/bias"] = r(H2, I2), r(I2)
a[g0 + "ffn_1/intermediate/output/dense/kernel"] = r(I2, H2)
a[g0 + "ffn_1/intermediate/output/dense/bias"] = r(H2)
a[g0 + "LayerNorm_1/gamma"], a[g0 + "LayerNorm_1/beta"] = r(H2), r(H2)
a["bert/pooler/dense/kernel"], a["bert/pooler/dense/bias"] = r(H2, H2), r(H2)
a["cls/predictions/transform/dense/kernel"] = r(H2, E)
a["cls/predictions/transform/dense/bias"] = r(E)
a["cls/predictions/transform/LayerNorm/gamma"] = r(E)
a["cls/predictions/transform/LayerNorm/beta"] = r(E)
a["cls/predictions/output_bias"] = r(V)
a["cls/seq_relationship/output_weights"], a["cls/seq_relationship/output_bias"] = r(2, H2), r(2)
bundle(os.path.join(G, "tf_albert.ckpt"), a)
with open(os.path.join(G, "tf_albert_config.json"), "w") as f:
    json.dump({"hidden_size": H2, "embedding_size": E, "num_hidden_layers": 3,
               "num_attention_heads": 2, "intermediate_size": I2, "vocab_size": V,
               "max_position_embeddings": P, "type_vocab_size": 2, "hidden_act": "gelu"}, f)
# the canonical names written out by hand (not by rule) as a cross-check
amap = {
    g0 + "attention_1/self/query/": "encoder.layer.0.attention.self.query.",
    g0 + "attention_1/self/key/": "encoder.layer.0.attention.self.key.",
    g0 + "attention_1/self/value/": "encoder.layer.0.attention.self.value.",
    g0 + "attention_1/output/dense/": "encoder.layer.0.attention.output.dense.",
    g0 + "LayerNorm/": "encoder.layer.0.attention.output.LayerNorm.",
    g0 + "ffn_1/intermediate/dense/": "encoder.layer.0.intermediate.dense.",
    g0 + "ffn_1/intermediate/output/dense/": "encoder.layer.0.output.dense.",
    g0 + "LayerNorm_1/": "encoder.layer.0.output.LayerNorm.",
    "bert/encoder/embedding_hidden_mapping_in/": "encoder.embedding_hidden_mapping_in.",
    "bert/embeddings/LayerNorm/": "embeddings.LayerNorm.",
    "bert/pooler/dense/": "pooler.dense.",
    "cls/predictions/transform/dense/": "cls.predictions.transform.dense.",
    "cls/predictions/transform/LayerNorm/": "cls.predictions.transform.LayerNorm.",
    "cls/seq_relationship/": "cls.seq_relationship.",
}
leaf = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
        "output_weights": "weight", "output_bias": "bias"}
st, off, blobs = {}, 0, []
for k in sorted(a):
    if k.startswith("bert/embeddings/") and k.endswith("_embeddings"):
        k2 = k[len("bert/"):].replace("/", ".") + ".weight"
    elif k == "cls/predictions/output_bias":
        k2 = "cls.predictions.bias"
    else:
        pre = max((p for p in amap if k.startswith(p)), key=len)
        k2 = amap[pre] + leaf[k[len(pre):]]
    v = a[k].T if k.endswith("/kernel") else a[k]
    b = np.ascontiguousarray(v).tobytes()
    st[k2] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    off += len(b)
    blobs.append(b)
h = json.dumps(st, separators=(",", ":")).encode()
with open(os.path.join(G, "expect_tf_albert.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

fz = os.path.join(TOP, "test", "fuzz", "corpus", "tfckpt")
os.makedirs(fz, exist_ok=True)
with open(os.path.join(fz, "tf_bert.index"), "wb") as f:
    f.write(idx)
small, small_data = bundle("/tmp/b4k-small-tf", {"a": np.arange(6, dtype=np.float32).reshape(2, 3)})
with open(os.path.join(fz, "small.index"), "wb") as f:
    f.write(small)
# fuzz_tfbundle seeds: u32 LE index length, index, data shard 0
fb = os.path.join(TOP, "test", "fuzz", "corpus", "tfbundle")
os.makedirs(fb, exist_ok=True)


def seed(name, index, dat):
    with open(os.path.join(fb, name), "wb") as f:
        f.write(struct.pack("<I", len(index)) + index + dat)


seed("tf_bert.bin", idx, data)
seed("small.bin", small, small_data)

# corrupt TF checkpoints: each case is a pair X.index + X.data-00000-of-00001
cd = os.path.join(TOP, "test", "corrupt", "convert-tf")
os.makedirs(cd, exist_ok=True)


def case(name, index, dat):
    with open(os.path.join(cd, name + ".index"), "wb") as f:
        f.write(index)
    with open(os.path.join(cd, name + ".data-00000-of-00001"), "wb") as f:
        f.write(dat)
    if name != "truncated-index":  # the others are seeds too
        seed(name + ".bin", index, dat)


one = {"w": np.arange(12, dtype=np.float32).reshape(3, 4)}
i1, d1 = bundle("/tmp/b4k-c1", one)
bad = bytearray(d1)
bad[5] ^= 0x10
case("crc-mismatch", i1, bytes(bad))
case("truncated-data", i1, d1[:20])
bi = bytearray(i1)
bi[-1] ^= 0xFF
case("bad-magic", bytes(bi), d1)
bi = bytearray(i1)
bi[3] ^= 0x01  # inside the first data block: its block crc fails
case("block-crc", bytes(bi), d1)
case("truncated-index", i1[:30], d1)
# an entry whose offset lies past the end of the shard (valid crcs)
data = d1
items = [(b"", field(1, 0, varint(1))),
         (b"w", entry(1, (3, 4), 1 << 40, 48, mask(crc32c(d1))))]
case("offset-past-eof", table(items), d1)
# a size that overflows: shape 2^62 x 2^62
items = [(b"", field(1, 0, varint(1))),
         (b"w", entry(1, (1 << 62, 1 << 62), 0, 48, 0))]
case("size-overflow", table(items), d1)
# duplicate key
e = entry(1, (3, 4), 0, 48, mask(crc32c(d1)))
case("duplicate-tensor", table([(b"", field(1, 0, varint(1))), (b"w", e), (b"w", e)]), d1)
print("ok")
