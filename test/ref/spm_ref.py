#!/usr/bin/python3
# Reference SentencePiece encoding with python3-sentencepiece:
# one line of ids per input line (lines split on b"\n" only).
# Usage: /usr/bin/python3 test/ref/spm_ref.py MODEL [--pieces|--decode] < in > out
#   --decode: input lines of ids, output decoded text as JSON strings.
#   --nbest N: the N best segmentations, joined by " | ".
import sys, json
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
mode = sys.argv[2] if len(sys.argv) > 2 else ""
out = sys.stdout.buffer
if mode == "--decode-cmp":
    # stdin: lines of ids; argv[3]: b4k's JSONL ({"text":...}) for them.
    # Prints the number of lines whose decoded text differs.
    bad = 0
    with open(sys.argv[3], "rb") as f:
        b4k = f.read().split(b"\n")
    for i, raw in enumerate(sys.stdin.buffer.read().split(b"\n")[:-1]):
        ids = [int(x) for x in raw.split()]
        ref = sp.decode(ids)
        got = json.loads(b4k[i])["text"] if i < len(b4k) and b4k[i] else None
        if got != ref:
            bad += 1
            if bad <= 2:
                sys.stderr.write("  line %d:\n    b4k  %r\n    ref  %r\n" % (i + 1, got, ref))
    print(bad)
    sys.exit(0)
data = sys.stdin.buffer.read().split(b"\n")
if data and data[-1] == b"":
    data.pop()
for raw in data:
    line = raw.decode("utf-8", "replace")
    if mode == "--decode":
        out.write(json.dumps(sp.decode([int(x) for x in line.split()]),
                             ensure_ascii=False).encode() + b"\n")
    elif mode == "--pieces":
        out.write(json.dumps(sp.encode(line, out_type=str), ensure_ascii=False).encode() + b"\n")
    elif mode == "--nbest":
        n = int(sys.argv[3])
        r = sp.nbest_encode_as_ids(line, n)
        out.write(" | ".join(" ".join(map(str, x)) for x in r).encode() + b"\n")
    else:
        out.write(" ".join(map(str, sp.encode(line))).encode() + b"\n")
