#!/usr/bin/python3
"""Forward-parity fixtures for b4k-extract --init: tiny pretrained-layout
checkpoints of BERT, RoBERTa and ALBERT as Hugging Face writes them, and the
encoders' final hidden states computed here in float64 torch by an
implementation of Hugging Face's modeling code (BertModel, RobertaModel,
AlbertModel; transformers is not needed).

  bert     pytorch_model.bin (torch.save zip), "bert." names, erf GELU,
           plus the embeddings.position_ids buffer and the pooler
  roberta  pytorch_model.bin, "roberta." names, model_type roberta,
           pad_token_id 1: position ids start at 2 (create_position_ids_
           from_input_ids), type_vocab_size 1, eps 1e-5
  albert   model.safetensors (written by hand: no safetensors package),
           "albert." names, embedding_size 8 < hidden 16 (the
           embedding_hidden_mapping_in projection), one shared layer
           (albert_layer_groups.0.albert_layers.0), gelu_new (tanh GELU)
  keras    the converted keras-bert-test-checkpoint of ../shared/data: the
           weights are read here from its .data shard by the offsets in
           TENSORS.txt (no TensorFlow), so the C side's TF reader and name
           mapping are checked too

Writes test/golden/bert/init/<name>/{checkpoint, config.json, vocab.txt}
and test/golden/bert/init_<name>.bin (ids, lens, out: the last hidden
states, which the C test compares on the non-padding positions).

Usage: /usr/bin/python3 test/ref/bert_init_ref.py [keras-bert-test-checkpoint dir]
"""
import json
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
GOLD = os.path.join(HERE, "..", "golden", "bert")
sys.path.insert(0, HERE)
from bert_golden import write  # noqa: E402  (same B4KG format)

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(35)]
B, T = 2, 7
LENS = [7, 5]


def gelu(x, tanh_form):
    if tanh_form:
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def ln(x, w, b, eps):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + eps) * w + b


def lin(x, p, name):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def layer(x, p, pre, heads, eps, tanh_form, mask, albert=False):
    """One post-LN block (BertLayer / AlbertLayer) under HF names."""
    Bn, Tn, H = x.shape
    dh = H // heads
    if albert:
        q, k, v, o = (pre + "attention.query", pre + "attention.key", pre + "attention.value",
                      pre + "attention.dense")
        ln1, f1, f2, ln2 = (pre + "attention.LayerNorm", pre + "ffn", pre + "ffn_output",
                            pre + "full_layer_layer_norm")
    else:
        q, k, v, o = (pre + "attention.self.query", pre + "attention.self.key",
                      pre + "attention.self.value", pre + "attention.output.dense")
        ln1, f1, f2, ln2 = (pre + "attention.output.LayerNorm", pre + "intermediate.dense",
                            pre + "output.dense", pre + "output.LayerNorm")

    def split(t):
        return t.view(Bn, Tn, heads, dh).transpose(1, 2)

    Q, K, V = split(lin(x, p, q)), split(lin(x, p, k)), split(lin(x, p, v))
    s = Q @ K.transpose(-1, -2) / math.sqrt(dh)
    s = s + (1.0 - mask[:, None, None, :]) * torch.finfo(s.dtype).min  # HF's extended mask
    ctx = (torch.softmax(s, -1) @ V).transpose(1, 2).reshape(Bn, Tn, H)
    a = ln(x + lin(ctx, p, o), p[ln1 + ".weight"], p[ln1 + ".bias"], eps)
    f = lin(gelu(lin(a, p, f1), tanh_form), p, f2)
    return ln(a + f, p[ln2 + ".weight"], p[ln2 + ".bias"], eps)


def forward(kind, p, cfg, ids, mask):
    pre = {"bert": "bert.", "roberta": "roberta.", "albert": "albert.", "keras": ""}[kind]
    e = pre + "embeddings."
    eps = cfg.get("layer_norm_eps", 1e-12)
    tanh_form = cfg.get("hidden_act", "gelu") in ("gelu_new", "gelu_pytorch_tanh")
    Tn = ids.shape[1]
    if kind == "roberta":  # create_position_ids_from_input_ids
        pad = cfg["pad_token_id"]
        m = (ids != pad).long()
        pos = torch.cumsum(m, 1) * m + pad
    else:
        pos = torch.arange(Tn)[None].expand_as(ids)
    x = (p[e + "word_embeddings.weight"][ids] + p[e + "position_embeddings.weight"][pos] +
         p[e + "token_type_embeddings.weight"][torch.zeros_like(ids)])
    x = ln(x, p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)
    if kind == "albert":
        x = lin(x, p, pre + "encoder.embedding_hidden_mapping_in")
        for _ in range(cfg["num_hidden_layers"]):
            x = layer(x, p, pre + "encoder.albert_layer_groups.0.albert_layers.0.",
                      cfg["num_attention_heads"], eps, tanh_form, mask, albert=True)
        return x
    for l in range(cfg["num_hidden_layers"]):
        x = layer(x, p, "%sencoder.layer.%d." % (pre, l), cfg["num_attention_heads"], eps,
                  tanh_form, mask)
    return x


def bert_like_params(g, pre, V, P, TV, H, I, L, E=None, albert=False):
    E = E or H
    p = {}

    def w(name, *shape, scale=0.3):
        p[name] = torch.randn(*shape, generator=g) * scale

    e = pre + "embeddings."
    w(e + "word_embeddings.weight", V, E)
    w(e + "position_embeddings.weight", P, E)
    w(e + "token_type_embeddings.weight", TV, E)
    w(e + "LayerNorm.weight", E, scale=0.2)
    p[e + "LayerNorm.weight"] += 1
    w(e + "LayerNorm.bias", E, scale=0.1)

    def dense(name, o, i):
        w(name + ".weight", o, i, scale=1 / math.sqrt(i))
        w(name + ".bias", o, scale=0.1)

    def lnp(name, n):
        w(name + ".weight", n, scale=0.2)
        p[name + ".weight"] += 1
        w(name + ".bias", n, scale=0.1)

    if albert:
        dense(pre + "encoder.embedding_hidden_mapping_in", H, E)
        s = pre + "encoder.albert_layer_groups.0.albert_layers.0."
        for n in ("query", "key", "value", "dense"):
            dense(s + "attention." + n, H, H)
        lnp(s + "attention.LayerNorm", H)
        dense(s + "ffn", I, H)
        dense(s + "ffn_output", H, I)
        lnp(s + "full_layer_layer_norm", H)
        dense(pre + "pooler", H, H)
        return p
    for l in range(L):
        s = "%sencoder.layer.%d." % (pre, l)
        for n in ("query", "key", "value"):
            dense(s + "attention.self." + n, H, H)
        dense(s + "attention.output.dense", H, H)
        lnp(s + "attention.output.LayerNorm", H)
        dense(s + "intermediate.dense", I, H)
        dense(s + "output.dense", H, I)
        lnp(s + "output.LayerNorm", H)
    dense(pre + "pooler.dense", H, H)
    return p


def save_safetensors(path, p):
    hdr, blobs, off = {}, [], 0
    for k, t in p.items():
        b = t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def inputs(g, V, pad):
    ids = torch.randint(5, V, (B, T), generator=g)
    ids[:, 0] = 2  # [CLS]
    mask = torch.zeros(B, T)
    for b, n in enumerate(LENS):
        ids[b, n - 1] = 3  # [SEP]
        ids[b, n:] = pad
        mask[b, :n] = 1
    return ids, mask


def make(kind, seed):
    g = torch.Generator().manual_seed(seed)
    V, H, I, L, heads = len(VOCAB), 16, 32, 2, 2
    d = os.path.join(GOLD, "init", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    if kind == "bert":
        cfg = dict(model_type="bert", vocab_size=V, hidden_size=H, num_hidden_layers=L,
                   num_attention_heads=heads, intermediate_size=I, max_position_embeddings=12,
                   type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
                   initializer_range=0.02)
        p = bert_like_params(g, "bert.", V, 12, 2, H, I, L)
        p["bert.embeddings.position_ids"] = torch.arange(12)[None]
        pad = 0
    elif kind == "roberta":
        cfg = dict(model_type="roberta", vocab_size=V, hidden_size=H, num_hidden_layers=L,
                   num_attention_heads=heads, intermediate_size=I, max_position_embeddings=T + 2,
                   type_vocab_size=1, hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1,
                   bos_token_id=0, eos_token_id=2)
        p = bert_like_params(g, "roberta.", V, T + 2, 1, H, I, L)
        pad = 1
    else:
        cfg = dict(model_type="albert", vocab_size=V, embedding_size=8, hidden_size=H,
                   num_hidden_layers=3, num_hidden_groups=1, inner_group_num=1,
                   num_attention_heads=heads, intermediate_size=I, max_position_embeddings=12,
                   type_vocab_size=2, hidden_act="gelu_new", layer_norm_eps=1e-12)
        p = bert_like_params(g, "albert.", V, 12, 2, H, I, 1, E=8, albert=True)
        pad = 0
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    # the checkpoint holds the f32 values; the reference computes from them
    p = {k: (v.to(torch.float32).to(torch.float64) if v.is_floating_point() else v)
         for k, v in p.items()}
    if kind == "albert":
        save_safetensors(os.path.join(d, "model.safetensors"), p)
    else:
        torch.save({k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in p.items()},
                   os.path.join(d, "pytorch_model.bin"))
    ids, mask = inputs(g, V, pad)
    out = forward(kind, p, cfg, ids, mask)
    write(os.path.join(GOLD, "init_%s.bin" % kind),
          [("ids", ids), ("lens", torch.tensor(LENS)), ("out", out)])
    print(kind, "out", tuple(out.shape), "|out| max %.3f" % out.abs().max().item())


def make_keras(kdir):
    """keras-bert-test-checkpoint: TF weights by TENSORS.txt offsets."""
    cfg = json.load(open(os.path.join(kdir, "bert_config.json")))
    raw = open(os.path.join(kdir, "bert_model.ckpt.data-00000-of-00001"), "rb").read()
    tf = {}
    for line in open(os.path.join(kdir, "TENSORS.txt")):
        if line.startswith("#") or not line.strip():
            continue
        name, dt, shape, off, size = line.split("\t")
        if dt != "float32" or "/adam_" in name:
            continue
        shape = json.loads(shape)
        t = torch.frombuffer(bytearray(raw[int(off):int(off) + int(size)]), dtype=torch.float32)
        tf[name] = t.reshape(shape).to(torch.float64)
    p = {}
    for name, t in tf.items():
        if not name.startswith("bert/"):
            continue
        n = name[5:].replace("/", ".").replace("layer_", "layer.")
        n = n.replace(".gamma", ".weight").replace(".beta", ".bias")
        if n.endswith(".kernel"):
            n, t = n[:-7] + ".weight", t.T  # TF dense kernels are (in, out)
        elif n.endswith("_embeddings"):
            n += ".weight"
        p[n] = t
    g = torch.Generator().manual_seed(5)
    V = cfg["vocab_size"]
    ids, mask = inputs(g, V, 0)
    out = forward("keras", p, cfg, ids, mask)
    write(os.path.join(GOLD, "init_keras.bin"),
          [("ids", ids), ("lens", torch.tensor(LENS)), ("out", out)])
    print("keras out", tuple(out.shape))


if __name__ == "__main__":
    make("bert", 11)
    make("roberta", 12)
    make("albert", 13)
    kdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "..", "..", "..", "shared", "data", "models", "keras-bert-test-checkpoint")
    if os.path.isdir(kdir):
        make_keras(kdir)
    else:
        print("no", kdir, ": init_keras.bin not regenerated")
