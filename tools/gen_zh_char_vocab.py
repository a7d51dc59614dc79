#!/usr/bin/python3
"""Generate data/zh-char-vocab.txt: a character-level WordPiece vocabulary
for Chinese that b4k ships for its demo, man-page examples and tests.

    /usr/bin/python3 tools/gen_zh_char_vocab.py [/usr/share/unicode] > data/zh-char-vocab.txt

It is made from Debian's unicode-data (UnicodeData.txt), not from any
trained model: the BERT specials, ASCII digits, lower-case letters and
punctuation (each also as a "##" continuation for digits and letters, so an
English word becomes letters instead of [UNK]), general and CJK punctuation,
the lower-case/symbol half of the fullwidth forms, and every assigned CJK
Unified Ideograph in U+4E00..U+9FFF (BERT splits each into a word of its
own).  It has no upper-case letters, so b4k-tokenize lower-cases with it by
default.  Ids are line numbers minus one and do not match any BERT model.
"""
import os, sys

UDIR = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
cat = {}
with open(os.path.join(UDIR, "UnicodeData.txt"), encoding="utf-8") as f:
    first = None
    for line in f:
        p = line.split(";")
        cp = int(p[0], 16)
        if p[1].endswith(", First>"):
            first = cp
            continue
        if p[1].endswith(", Last>"):
            for c in range(first, cp + 1):
                cat[c] = p[2]
            continue
        cat[cp] = p[2]

out = ["[PAD]"] + ["[unused%d]" % i for i in range(1, 10)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
seen = set(out)

def add(tok):
    if tok not in seen:
        seen.add(tok)
        out.append(tok)

for c in range(0x21, 0x7F):
    ch = chr(c)
    if ch.isupper():
        continue
    add(ch)
for c in list(range(0x30, 0x3A)) + list(range(0x61, 0x7B)):
    add("##" + chr(c))

def block(lo, hi, cats):
    for c in range(lo, hi + 1):
        g = cat.get(c)
        if g and g[0] in cats and g != "Lu" and g != "Lt":
            add(chr(c))

block(0x2010, 0x205E, "PS")   # general punctuation
block(0x3001, 0x303F, "PSL")  # CJK symbols and punctuation (not U+3000, a space)
block(0xFF01, 0xFF65, "PSLN") # fullwidth forms (upper-case letters left out)
block(0x4E00, 0x9FFF, "L")    # CJK unified ideographs

sys.stdout.write("".join(t + "\n" for t in out))
