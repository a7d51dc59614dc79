#!/usr/bin/python3
"""Torch reference run of b4k-extract's spo model (CasRel-style, as
bert4keras's task_relation_extraction.py) on the very same tokenised data.

  b4k-extract train ... --dump-features feats.jsonl ...
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 test/ref/bert_extract_ref.py \
      --features feats.jsonl --config bert_config.json --epochs 10 \
      --batch-size 16 --lr 5e-4 --seed 1 --threads 2

Same model (post-LN BERT, erf GELU, dropout from the config, subject
pointers sigmoid^2, conditional LayerNorm on the last block's pre-LN states,
object pointers sigmoid^4, masked BCE), same optimiser (AdamW, weight decay
0.01 except LayerNorm and biases, clip 1.0, constant lr), same subject
sampling, same decoding (thresholds 0.6/0.5) and the same exact-match F1 on
the held-out examples.  Prints one JSON line per epoch.
"""
import argparse
import json
import math
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c.get("intermediate_size", 4 * c["hidden_size"])
        self.H, self.NH = H, c["num_attention_heads"]
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c.get("max_position_embeddings", 512), H)
        self.typ = nn.Embedding(c.get("type_vocab_size", 2), H)
        self.eln = nn.LayerNorm(H, eps=1e-12)
        self.pd = c.get("hidden_dropout_prob", 0.1)
        self.ad = c.get("attention_probs_dropout_prob", 0.1)
        self.layers = nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            L = nn.ModuleDict(dict(qkv=nn.Linear(H, 3 * H), o=nn.Linear(H, H), ln1=nn.LayerNorm(H, eps=1e-12),
                                   f1=nn.Linear(H, I), f2=nn.Linear(I, H), ln2=nn.LayerNorm(H, eps=1e-12)))
            self.layers.append(L)
        for mod in self.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(mod.weight, std=0.02, a=-0.04, b=0.04)
            if isinstance(mod, nn.Linear):
                nn.init.zeros_(mod.bias)

    def forward(self, ids, mask):
        B, T = ids.shape
        x = self.word(ids) + self.typ(torch.zeros_like(ids)) + self.pos(torch.arange(T))[None]
        x = F.dropout(self.eln(x), self.pd, self.training)
        dh = self.H // self.NH
        bias = (~mask)[:, None, None, :].float() * -1e9
        pre = None
        for L in self.layers:
            q, k, v = L["qkv"](x).view(B, T, 3, self.NH, dh).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + bias, -1)
            a = F.dropout(a, self.ad, self.training)
            ctx = (a @ v).transpose(1, 2).reshape(B, T, self.H)
            x = L["ln1"](x + F.dropout(L["o"](ctx), self.pd, self.training))
            pre = x + F.dropout(L["f2"](F.gelu(L["f1"](x))), self.pd, self.training)
            x = L["ln2"](pre)
        return x, pre


class Spo(nn.Module):
    def __init__(self, c, P):
        super().__init__()
        H = c["hidden_size"]
        self.bert, self.P = Bert(c), P
        self.subj = nn.Linear(H, 2)
        self.cg, self.cb = nn.Parameter(torch.ones(H)), nn.Parameter(torch.zeros(H))
        self.gd = nn.Linear(2 * H, H, bias=False)
        self.bd = nn.Linear(2 * H, H, bias=False)
        nn.init.zeros_(self.gd.weight)
        nn.init.zeros_(self.bd.weight)
        self.obj = nn.Linear(H, 2 * P)
        for l in (self.subj, self.obj):
            nn.init.trunc_normal_(l.weight, std=0.02, a=-0.04, b=0.04)
            nn.init.zeros_(l.bias)

    def heads(self, pre, sv):
        g = self.cg + self.gd(sv)
        b = self.cb + self.bd(sv)
        m = pre.mean(-1, keepdim=True)
        v = ((pre - m) ** 2).mean(-1, keepdim=True)
        c = (pre - m) / torch.sqrt(v + 1e-12) * g[:, None] + b[:, None]
        return self.obj(c)


def bce_pow(z, y, k):
    lp = k * F.logsigmoid(z)
    return -(y * lp + (1 - y) * torch.log((-torch.expm1(lp)).clamp(min=1e-30)))


def make_batch(exs, P, rng):
    B, T = len(exs), max(len(e["ids"]) for e in exs)
    ids = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    sl = torch.zeros(B, T, 2)
    ol = torch.zeros(B, T, P, 2)
    subj = torch.zeros(B, 2, dtype=torch.long)
    for i, e in enumerate(exs):
        n = len(e["ids"])
        ids[i, :n] = torch.tensor(e["ids"])
        mask[i, :n] = True
        tt = [e["triples"][k:k + 5] for k in range(0, len(e["triples"]), 5)]
        for s0, s1, p, o0, o1 in tt:
            sl[i, s0, 0] = 1
            sl[i, s1, 1] = 1
        st = tt[rng.randrange(len(tt))][0]
        ends = sorted({t[1] for t in tt if t[1] >= st})
        en = ends[rng.randrange(len(ends))]
        subj[i, 0], subj[i, 1] = st, en
        for s0, s1, p, o0, o1 in tt:
            if s0 == st and s1 == en:
                ol[i, o0, p, 0] = 1
                ol[i, o1, p, 1] = 1
    return ids, mask, sl, ol, subj


def loss_fn(model, ids, mask, sl, ol, subj):
    out, pre = model.bert(ids, mask)
    B = ids.shape[0]
    zs = model.subj(out)
    sv = torch.cat([pre[torch.arange(B), subj[:, 0]], pre[torch.arange(B), subj[:, 1]]], -1)
    zo = model.heads(pre, sv).view(B, -1, model.P, 2)
    m = mask.float()
    ls = (bce_pow(zs, sl, 2).mean(-1) * m).sum() / m.sum()
    lo = (bce_pow(zo, ol, 4).mean(-1).sum(-1) * m).sum() / m.sum()
    return ls + lo


@torch.no_grad()
def predict(model, e, schema):
    ids = torch.tensor([e["ids"]])
    mask = torch.ones_like(ids, dtype=torch.bool)
    out, pre = model.bert(ids, mask)
    n = len(e["ids"])
    ps = (torch.sigmoid(model.subj(out[0])) ** 2).numpy()
    first, last = 1, n - 2
    res = set()
    text, off = e["text"], e["offsets"]
    ends = [k for k in range(first, last + 1) if ps[k, 1] > 0.5]
    for i in range(first, last + 1):
        if ps[i, 0] <= 0.6:
            continue
        j = next((k for k in ends if k >= i), None)
        if j is None:
            continue
        sv = torch.cat([pre[0, i], pre[0, j]])[None]
        po = (torch.sigmoid(model.heads(pre, sv)[0].view(n, model.P, 2)) ** 4).numpy()
        st = po[first:last + 1, :, 0] > 0.6
        en = po[first:last + 1, :, 1] > 0.5
        for t, p in zip(*st.nonzero()):
            t2 = next((k for k in en[t:, p].nonzero()[0]), None)
            if t2 is not None:
                a, b = first + t, first + t + t2
                res.add((text[off[2 * i]:off[2 * j + 1]], int(p), text[off[2 * a]:off[2 * b + 1]]))
    return res


def evaluate(model, held, schema):
    model.eval()
    tp = npred = ngold = 0
    for e in held:
        pred = predict(model, e, schema)
        gold = {(g[0], g[1], g[2]) for g in e["gold"]}
        tp += len(pred & gold)
        npred += len(pred)
        ngold += len(gold)
    model.train()
    p = tp / npred if npred else 0
    r = tp / ngold if ngold else 0
    return p, r, (2 * p * r / (p + r) if p + r else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = random.Random(a.seed)
    cfg = json.load(open(a.config))
    lines = open(a.features, encoding="utf-8").read().splitlines()
    schema = json.loads(lines[0])["schema"]
    exs = [json.loads(l) for l in lines[1:]]
    train = [e for e in exs if e["split"] == "train" and e.get("triples")]
    held = [e for e in exs if e["split"] == "heldout"]
    model = Spo(cfg, len(schema))
    decay, no = [], []
    for n, p in model.named_parameters():
        (no if p.dim() == 1 or n.endswith("bias") else decay).append(p)
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=0.01), dict(params=no, weight_decay=0.0)],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-6)
    t0 = time.time()
    for ep in range(a.epochs):
        order = list(range(len(train)))
        rng.shuffle(order)
        tot, nb = 0.0, 0
        for b in range(0, len(order), a.batch_size):
            batch = make_batch([train[k] for k in order[b:b + a.batch_size]], len(schema), rng)
            loss = loss_fn(model, *batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot += loss.item()
            nb += 1
        rec = dict(epoch=ep + 1, loss=tot / nb, seconds=round(time.time() - t0, 2))
        if (ep + 1) % a.eval_every == 0 or ep + 1 == a.epochs:
            rec["precision"], rec["recall"], rec["f1"] = evaluate(model, held, schema)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
