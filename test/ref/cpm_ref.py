#!/usr/bin/python3
# Reference CPM tokenizer, exactly as CPM-Generate's tokenization_gpt2.py:
#   " ".join(x.translate({ord(' '): '\u2582', ord('\n'): '\u2583'})
#            for x in jieba.cut(text)) -> sp.encode
# One line of ids (space-separated) per input line (split on b"\n" only).
# With --jsonl the input is JSON lines with a "text" field (which may hold
# newlines).  --decode: input lines of ids, output the decoded text as JSON.
# Usage: /usr/bin/python3 test/ref/cpm_ref.py MODEL [--jsonl|--decode] < in > out
import sys, json, logging
import jieba
import sentencepiece as spm
jieba.setLogLevel(logging.ERROR)
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
mode = sys.argv[2] if len(sys.argv) > 2 else ""
tr = {ord(' '): '\u2582', ord('\n'): '\u2583'}
# The first-release vocabulary has no "\u2583" piece: bert4keras
# (token_translate={"\u2583": "<cls>"}) turns that piece into id 3.
v1 = sp.piece_to_id('\u2583') == sp.unk_id()
def encode(text):
    joined = " ".join(x.translate(tr) for x in jieba.cut(text))
    if not v1:
        return sp.encode(joined)
    return [3 if p == '\u2583' else sp.piece_to_id(p) for p in sp.encode(joined, out_type=str)]
def decode(ids):
    if v1:
        text = sp.decode_pieces(['\u2583' if i == 3 else sp.id_to_piece(i) for i in ids])
    else:
        text = sp.decode(ids)
    return text.replace(' ', '').replace('\u2582', ' ').replace('\u2583', '\n')
out = sys.stdout.buffer
if mode == "--decode-cmp":
    # stdin: lines of ids; argv[3]: b4k's JSONL ({"text":...}) for them.
    # Prints the number of lines whose decoded text differs.
    bad = 0
    with open(sys.argv[3], "rb") as f:
        b4k = f.read().split(b"\n")
    for i, raw in enumerate(sys.stdin.buffer.read().split(b"\n")[:-1]):
        ids = [int(x) for x in raw.split()]
        ref = decode(ids)
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
        ids = [int(x) for x in line.split()]
        out.write(json.dumps(decode(ids), ensure_ascii=False).encode() + b"\n")
        continue
    if mode == "--jsonl":
        line = json.loads(line)["text"]
    out.write(" ".join(map(str, encode(line))).encode() + b"\n")
