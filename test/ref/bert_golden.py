#!/usr/bin/python3
"""Golden fixtures for b4k's BERT training core and extraction heads.

Builds a tiny BERT (HuggingFace BertModel semantics, post-LN, erf GELU,
padding keys masked) plus the two heads of b4k-extract in float64 torch:

  spo: CasRel-style as bert4keras's task_relation_extraction.py: subject
       start/end = sigmoid(dense(out))**2; subject vector = concat of the
       pre-LN last-block states at the subject start and end; conditional
       LayerNorm on those states; object start/end per predicate =
       sigmoid(dense(.))**4; masked binary cross-entropy.
  ner: dense emissions + linear-chain CRF (bert4keras's ConditionalRandomField:
       transitions only, no start/end scores), loss = mean NLL.

Writes test/golden/bert/{encoder,spo,ner}.bin: inputs, parameters,
activations, loss, every parameter gradient, parameters after one AdamW step,
ten training-step losses (warmup + linear decay, clipping, lr multiplier, EMA).

Format (little-endian): b"B4KG", u32 count, then per tensor: u32 name length,
name bytes, u32 ndim, u32 dims[ndim], f32 data.

Usage: /usr/bin/python3 test/ref/bert_golden.py [outdir]
"""
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)

CFG = dict(vocab=40, hidden=16, layers=2, heads=2, inter=24, max_pos=16, type_vocab=2,
           eps=1e-12)
B, T = 3, 9
LENS = [9, 7, 4]
NPRED = 3
NLAB = 5


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(b"B4KG")
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            t = torch.as_tensor(t).detach().to(torch.float32).contiguous()
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", t.dim()))
            for d in t.shape:
                f.write(struct.pack("<I", d))
            f.write(t.numpy().astype("<f4").tobytes())


def bert_params(g):
    H, I = CFG["hidden"], CFG["inter"]
    p = {}

    def w(*shape):
        return (torch.randn(*shape, generator=g) * 0.2)

    p["bert.embeddings.word_embeddings.weight"] = w(CFG["vocab"], H)
    p["bert.embeddings.position_embeddings.weight"] = w(CFG["max_pos"], H)
    p["bert.embeddings.token_type_embeddings.weight"] = w(CFG["type_vocab"], H)
    p["bert.embeddings.LayerNorm.weight"] = 1 + w(H) * 0.5
    p["bert.embeddings.LayerNorm.bias"] = w(H) * 0.5
    for l in range(CFG["layers"]):
        pre = "bert.encoder.layer.%d." % l
        for n in ("query", "key", "value"):
            p[pre + "attention.self.%s.weight" % n] = w(H, H) * 1.5
        for n in ("query", "key", "value"):
            p[pre + "attention.self.%s.bias" % n] = w(H) * 0.5
        p[pre + "attention.output.dense.weight"] = w(H, H)
        p[pre + "attention.output.dense.bias"] = w(H) * 0.5
        p[pre + "attention.output.LayerNorm.weight"] = 1 + w(H) * 0.5
        p[pre + "attention.output.LayerNorm.bias"] = w(H) * 0.5
        p[pre + "intermediate.dense.weight"] = w(I, H)
        p[pre + "intermediate.dense.bias"] = w(I) * 0.5
        p[pre + "output.dense.weight"] = w(H, I)
        p[pre + "output.dense.bias"] = w(H) * 0.5
        p[pre + "output.LayerNorm.weight"] = 1 + w(H) * 0.5
        p[pre + "output.LayerNorm.bias"] = w(H) * 0.5
    return p


def ln(x, g, b, eps):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + eps) * g + b


def gelu(x, tanh_form=False):
    if tanh_form:
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def bert_forward(p, ids, segs, lens, tanh_form=False):
    H, NH = CFG["hidden"], CFG["heads"]
    dh = H // NH
    Bn, Tn = ids.shape
    e = (p["bert.embeddings.word_embeddings.weight"][ids]
         + p["bert.embeddings.token_type_embeddings.weight"][segs]
         + p["bert.embeddings.position_embeddings.weight"][torch.arange(Tn)][None])
    x = ln(e, p["bert.embeddings.LayerNorm.weight"], p["bert.embeddings.LayerNorm.bias"],
           CFG["eps"])
    keymask = torch.arange(Tn)[None, :] < torch.tensor(lens)[:, None]  # (B,T)
    pre = None
    for l in range(CFG["layers"]):
        q = "bert.encoder.layer.%d." % l

        def lin(z, name):
            return z @ p[q + name + ".weight"].T + p[q + name + ".bias"]

        Q = lin(x, "attention.self.query").view(Bn, Tn, NH, dh).transpose(1, 2)
        K = lin(x, "attention.self.key").view(Bn, Tn, NH, dh).transpose(1, 2)
        V = lin(x, "attention.self.value").view(Bn, Tn, NH, dh).transpose(1, 2)
        S = Q @ K.transpose(-1, -2) / math.sqrt(dh)
        S = S.masked_fill(~keymask[:, None, None, :], float("-inf"))
        P = torch.softmax(S, -1)
        ctx = (P @ V).transpose(1, 2).reshape(Bn, Tn, H)
        h1 = x + lin(ctx, "attention.output.dense")
        a = ln(h1, p[q + "attention.output.LayerNorm.weight"],
               p[q + "attention.output.LayerNorm.bias"], CFG["eps"])
        u = gelu(lin(a, "intermediate.dense"), tanh_form)
        h2 = a + lin(u, "output.dense")
        pre = h2
        x = ln(h2, p[q + "output.LayerNorm.weight"], p[q + "output.LayerNorm.bias"], CFG["eps"])
    return x, pre


def bce_pow(z, y, k):
    # -[y log s^k + (1-y) log(1 - s^k)], s = sigmoid(z), computed stably
    ls = torch.nn.functional.logsigmoid(z)
    lp = k * ls
    l1m = torch.log(-torch.expm1(lp))
    return -(y * lp + (1 - y) * l1m)


def spo_params(g):
    H = CFG["hidden"]
    return {
        "spo.subject.weight": torch.randn(2, H, generator=g) * 0.3,
        "spo.subject.bias": torch.randn(2, generator=g) * 0.3,
        "spo.cln.weight": 1 + torch.randn(H, generator=g) * 0.1,
        "spo.cln.bias": torch.randn(H, generator=g) * 0.1,
        # zero-initialised in bert4keras; random here so the gradient path is tested
        "spo.cln.gamma_dense.weight": torch.randn(H, 2 * H, generator=g) * 0.1,
        "spo.cln.beta_dense.weight": torch.randn(H, 2 * H, generator=g) * 0.1,
        "spo.object.weight": torch.randn(2 * NPRED, H, generator=g) * 0.3,
        "spo.object.bias": torch.randn(2 * NPRED, generator=g) * 0.3,
    }


def spo_forward(p, ids, segs, lens, subj_ids, subj_lab, obj_lab):
    out, pre = bert_forward(p, ids, segs, lens)
    Bn, Tn, H = out.shape
    zs = out @ p["spo.subject.weight"].T + p["spo.subject.bias"]  # (B,T,2)
    sv = torch.cat([pre[torch.arange(Bn), subj_ids[:, 0]], pre[torch.arange(Bn), subj_ids[:, 1]]],
                   -1)  # (B,2H)
    G = p["spo.cln.weight"] + sv @ p["spo.cln.gamma_dense.weight"].T  # (B,H)
    Bt = p["spo.cln.bias"] + sv @ p["spo.cln.beta_dense.weight"].T
    c = ln(pre, G[:, None, :], Bt[:, None, :], CFG["eps"])
    zo = c @ p["spo.object.weight"].T + p["spo.object.bias"]  # (B,T,2P)
    mask = (torch.arange(Tn)[None, :] < torch.tensor(lens)[:, None]).to(torch.float64)
    sl = bce_pow(zs, subj_lab, 2).mean(-1)
    sl = (sl * mask).sum() / mask.sum()
    ol = bce_pow(zo, obj_lab.reshape(Bn, Tn, 2 * NPRED), 4).reshape(Bn, Tn, NPRED, 2)
    ol = ol.mean(-1).sum(-1)
    ol = (ol * mask).sum() / mask.sum()
    return sl + ol, torch.sigmoid(zs) ** 2, torch.sigmoid(zo) ** 4


def ner_params(g):
    H = CFG["hidden"]
    return {
        "ner.dense.weight": torch.randn(NLAB, H, generator=g) * 0.5,
        "ner.dense.bias": torch.randn(NLAB, generator=g) * 0.3,
        "ner.crf.transitions": torch.randn(NLAB, NLAB, generator=g) * 0.5,
    }


def crf_nll(em, trans, tags, n):
    # em (T,L), tags (T); first n positions
    em, tags = em[:n], tags[:n]
    score = em[torch.arange(n), tags].sum() + trans[tags[:-1], tags[1:]].sum()
    alpha = em[0]
    for t in range(1, n):
        alpha = torch.logsumexp(alpha[:, None] + trans, 0) + em[t]
    return torch.logsumexp(alpha, 0) - score


def ner_forward(p, ids, segs, lens, tags):
    out, _ = bert_forward(p, ids, segs, lens)
    em = out @ p["ner.dense.weight"].T + p["ner.dense.bias"]
    loss = sum(crf_nll(em[b], p["ner.crf.transitions"], tags[b], lens[b]) for b in range(len(lens)))
    return loss / len(lens), em


NO_DECAY = ("bias", "LayerNorm.weight", "cln.weight", "cln.bias")


def make_opt(p, lr, lr_mult):
    groups = []
    for k, v in p.items():
        decay = 0.0 if (k.endswith(NO_DECAY) or v.dim() == 1) else 0.01
        groups.append(dict(params=[v], weight_decay=decay, lr=lr * lr_mult.get(k, 1.0)))
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-6)


def train(p0, fwd, steps, lr, warm, lr_mult, clip, ema_decay):
    p = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    opt = make_opt(p, lr, lr_mult)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))
    ema = {k: v.detach().clone() for k, v in p.items()}
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = fwd(p)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), clip)
        opt.step()
        sched.step()
        with torch.no_grad():
            for k in p:
                ema[k].mul_(ema_decay).add_(p[k], alpha=1 - ema_decay)
        losses.append(loss.item())
    return losses, p, ema


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "golden", "bert")
    os.makedirs(outdir, exist_ok=True)
    g = torch.Generator().manual_seed(20261125)
    ids = torch.randint(1, CFG["vocab"], (B, T), generator=g)
    segs = torch.randint(0, 2, (B, T), generator=g)
    for b in range(B):
        ids[b, LENS[b]:] = 0
        segs[b, LENS[b]:] = 0
    inputs = [("ids", ids), ("segs", segs), ("lens", torch.tensor(LENS)),
              ("config", torch.tensor([CFG["vocab"], CFG["hidden"], CFG["layers"], CFG["heads"],
                                       CFG["inter"], CFG["max_pos"], CFG["type_vocab"]]))]
    pb = bert_params(g)

    # 1. encoder alone, erf and tanh GELU: loss = sum(out*R) + sum(pre*R2)
    R = torch.randn(B, T, CFG["hidden"], generator=g)
    R2 = torch.randn(B, T, CFG["hidden"], generator=g)
    for tanh_form, name in ((False, "encoder"), (True, "encoder_tanh")):
        p = {k: v.clone().requires_grad_(True) for k, v in pb.items()}
        out, pre = bert_forward(p, ids, segs, LENS, tanh_form)
        loss = (out * R).sum() + (pre * R2).sum()
        loss.backward()
        tens = list(inputs) + [("R", R), ("R2", R2), ("out", out), ("pre", pre),
                               ("loss", loss.reshape(1))]
        tens += [("p." + k, v) for k, v in pb.items()]
        tens += [("g." + k, p[k].grad) for k in pb]
        write(os.path.join(outdir, name + ".bin"), tens)

    # 2. spo head
    ps = dict(pb)
    ps.update(spo_params(g))
    subj_ids = torch.tensor([[2, 4], [1, 1], [3, 3]])
    subj_lab = (torch.rand(B, T, 2, generator=g) < 0.2).to(torch.float64)
    obj_lab = (torch.rand(B, T, NPRED, 2, generator=g) < 0.1).to(torch.float64)
    p = {k: v.clone().requires_grad_(True) for k, v in ps.items()}
    loss, sp, op = spo_forward(p, ids, segs, LENS, subj_ids, subj_lab, obj_lab)
    loss.backward()
    grads = {k: p[k].grad.clone() for k in ps}
    # one AdamW step (lr 1e-3, no schedule, no clipping)
    p1 = {k: v.clone().requires_grad_(True) for k, v in ps.items()}
    opt = make_opt(p1, 1e-3, {})
    for k in p1:
        p1[k].grad = grads[k].clone()
    opt.step()

    def fwd_spo(pp):
        return spo_forward(pp, ids, segs, LENS, subj_ids, subj_lab, obj_lab)[0]

    losses, _, ema = train(ps, fwd_spo, 10, 1e-2, 3, {"spo.object.weight": 2.0}, 1.0, 0.9)
    tens = list(inputs) + [("subj_ids", subj_ids), ("subj_lab", subj_lab), ("obj_lab", obj_lab),
                           ("subj_probs", sp), ("obj_probs", op), ("loss", loss.reshape(1)),
                           ("train_losses", torch.tensor(losses))]
    tens += [("p." + k, v) for k, v in ps.items()]
    tens += [("g." + k, grads[k]) for k in ps]
    tens += [("adam1." + k, p1[k]) for k in ps]
    tens += [("ema10." + k, ema[k]) for k in ps]
    write(os.path.join(outdir, "spo.bin"), tens)

    # 3. ner head (BERT + CRF)
    pn = dict(pb)
    pn.update(ner_params(g))
    tags = torch.randint(0, NLAB, (B, T), generator=g)
    for b in range(B):
        tags[b, LENS[b]:] = 0
    p = {k: v.clone().requires_grad_(True) for k, v in pn.items()}
    loss, em = ner_forward(p, ids, segs, LENS, tags)
    loss.backward()

    def fwd_ner(pp):
        return ner_forward(pp, ids, segs, LENS, tags)[0]

    losses, _, _ = train(pn, fwd_ner, 10, 1e-2, 3, {"ner.crf.transitions": 10.0}, 1.0, 0.9)
    tens = list(inputs) + [("tags", tags), ("emissions", em), ("loss", loss.reshape(1)),
                           ("train_losses", torch.tensor(losses))]
    tens += [("p." + k, v) for k, v in pn.items()]
    tens += [("g." + k, p[k].grad) for k in pn]
    write(os.path.join(outdir, "ner.bin"), tens)


if __name__ == "__main__":
    main()
