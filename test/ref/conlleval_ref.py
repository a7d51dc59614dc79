#!/usr/bin/python3
# An independent chunk scorer with conlleval's report, written from the
# documented behaviour of the CoNLL-2000 scorer (conlleval: "a chunk is
# correct when its boundaries and its type match the gold chunk"; chunk tags
# PREFIX-TYPE in IOB1, IOB2 or IOBES, O outside) and the IOBES/BMES reading
# of man/b4k-crf.1, not from conlleval's code nor from lib/crf/eval.c.  It
# works differently from both: each tag sequence is cut into a set of
# (start, end, type) chunks first, and the counts are set sizes.
#
# Chunk boundaries: a token whose prefix is B or S, or I/E/M after O, E or S
# or at the start, or whose type differs from the previous token's, starts a
# chunk; a chunk ends before the next chunk start, before O, at the end of
# the sentence, and after an E or S token.  M reads as I (BMES).
#
# Usage:
#   conlleval_ref.py [FILE]            report for conlleval input (tokens,
#                                      gold and guessed tag as the last two
#                                      columns, blank line between sentences)
#   conlleval_ref.py --convert S [FILE]
#                                      rewrite both tag columns in scheme S
#                                      (iob1, iob2, iobes) from their chunks
import sys


def split(tag):
    if tag == "O":
        return "O", ""
    if len(tag) == 1 and tag in "BIMES":
        p, t = tag, ""
    elif len(tag) > 2 and tag[1] == "-" and tag[0] in "BIMES":
        p, t = tag[0], tag[2:]
    else:
        raise SystemExit("conlleval_ref.py: not a chunk tag: %r" % tag)
    return ("I" if p == "M" else p), t


def chunks(tags):
    """The set of (start, end, type) chunks, end exclusive."""
    out, start, ctype = set(), None, None
    prev = ("O", "")
    for i, tag in enumerate(tags + ["O"]):
        p, t = split(tag)
        begins = p != "O" and (p in "BS" or prev[0] in "OES" or t != prev[1])
        if start is not None and (p == "O" or begins):
            out.add((start, i, ctype))
            start = None
        if begins:
            start, ctype = i, t
        if p in "ES" and start is not None:
            out.add((start, i + 1, ctype))
            start = None
        prev = (p, t)
    return out


def sentences(lines):
    cur = []
    for line in lines:
        f = line.split()
        if not f:
            if cur:
                yield cur
            cur = []
            continue
        cur.append(f)
    if cur:
        yield cur


def report(lines):
    tokens = correct_tags = 0
    gold_n = guess_n = ok_n = 0
    per = {}  # type -> [correct, guessed, gold]
    for sent in sentences(lines):
        gold = [f[-2] for f in sent]
        guess = [f[-1] for f in sent]
        tokens += len(sent)
        correct_tags += sum(g == p for g, p in zip(gold, guess))
        cg, cp = chunks(gold), chunks(guess)
        gold_n += len(cg)
        guess_n += len(cp)
        ok_n += len(cg & cp)
        for c in cg:
            per.setdefault(c[2], [0, 0, 0])[2] += 1
        for c in cp:
            per.setdefault(c[2], [0, 0, 0])[1] += 1
        for c in cg & cp:
            per[c[2]][0] += 1

    def prf(ok, guessed, gold):
        p = 100.0 * ok / guessed if guessed else 0.0
        r = 100.0 * ok / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)

    out = ["processed %d tokens with %d phrases; found: %d phrases; correct: %d." %
           (tokens, gold_n, guess_n, ok_n)]
    p, r, f = prf(ok_n, guess_n, gold_n)
    out.append("accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f" %
               (100.0 * correct_tags / tokens if tokens else 0.0, p, r, f))
    for t in sorted(per, key=lambda s: s.encode("utf-8")):
        c = per[t]
        p, r, f = prf(*c)
        out.append("%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %d" % (t, p, r, f, c[1]))
    return "\n".join(out) + "\n"


def write_scheme(chs, n, scheme):
    tags = ["O"] * n
    ends = {e for s, e, t in chs}
    for s, e, t in sorted(chs):
        sfx = "-" + t if t else ""
        for i in range(s, e):
            if scheme == "iobes":
                p = "S" if e - s == 1 else "B" if i == s else "E" if i == e - 1 else "I"
            elif scheme == "iob2":
                p = "B" if i == s else "I"
            else:  # iob1: B only where a chunk follows one of the same type
                p = "B" if i == s and s in ends and tags[s - 1][2:] == t else "I"
            tags[i] = p + sfx
    return tags


def convert(lines, scheme):
    out = []
    for sent in sentences(lines):
        n = len(sent)
        g = write_scheme(chunks([f[-2] for f in sent]), n, scheme)
        p = write_scheme(chunks([f[-1] for f in sent]), n, scheme)
        for f, a, b in zip(sent, g, p):
            out.append(" ".join(f[:-2] + [a, b]))
        out.append("")
    return "\n".join(out) + "\n"


def main(argv):
    scheme = None
    if len(argv) >= 2 and argv[0] == "--convert":
        scheme = argv[1]
        argv = argv[2:]
        if scheme not in ("iob1", "iob2", "iobes"):
            raise SystemExit("conlleval_ref.py: scheme must be iob1, iob2 or iobes")
    src = open(argv[0], encoding="utf-8") if argv else sys.stdin
    lines = src.read().split("\n")
    sys.stdout.write(convert(lines, scheme) if scheme else report(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
