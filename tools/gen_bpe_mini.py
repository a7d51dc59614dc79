#!/usr/bin/python3
"""Train data/bpe-mini/{encoder.json,vocab.bpe}: a small GPT-2-format
byte-level BPE (256 byte symbols + 1000 merges + <|endoftext|>) for b4k's
man-page examples and tests.

    /usr/bin/python3 tools/gen_bpe_mini.py data/bpe-mini

Training text: the licence texts Debian ships in /usr/share/common-licenses
(GPL-3, Apache-2.0, ...), pre-tokenized with GPT-2's pattern (approximated
with Python's re: letters/digits via str methods).  Merges are learned the
classic way (most frequent adjacent pair, ties broken by first seen).  It is
a toy vocabulary for demonstrating the format, not a language model's.
"""
import collections, json, os, re, sys

out_dir = sys.argv[1] if len(sys.argv) > 1 else "data/bpe-mini"
NMERGES = 1000
text = ""
for name in ("GPL-3", "Apache-2.0", "LGPL-3", "GPL-2", "MPL-2.0", "CC0-1.0"):
    p = os.path.join("/usr/share/common-licenses", name)
    if os.path.exists(p):
        text += open(p, encoding="utf-8", errors="replace").read()

def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}

pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")
b2u = bytes_to_unicode()
words = collections.Counter()
for m in pat.findall(text):
    words[tuple(b2u[b] for b in m.encode("utf-8"))] += 1

vocab = [b2u[b] for b in sorted(b2u, key=lambda b: ord(b2u[b]))]
merges = []
words = dict(words)
for _ in range(NMERGES):
    pairs = collections.Counter()
    for w, c in words.items():
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += c
    if not pairs:
        break
    best = max(pairs.items(), key=lambda kv: kv[1])[0]
    merges.append(best)
    vocab.append(best[0] + best[1])
    nw = {}
    for w, c in words.items():
        out, i = [], 0
        while i < len(w):
            if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                out.append(w[i] + w[i + 1])
                i += 2
            else:
                out.append(w[i])
                i += 1
        nw[tuple(out)] = nw.get(tuple(out), 0) + c
    words = nw
vocab.append("<|endoftext|>")
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "encoder.json"), "w", encoding="utf-8") as f:
    json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
with open(os.path.join(out_dir, "vocab.bpe"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n")
    for a, b in merges:
        f.write("%s %s\n" % (a, b))
