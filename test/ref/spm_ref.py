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
