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
def encode(text):
    return sp.encode(" ".join(x.translate(tr) for x in jieba.cut(text)))
def decode(ids):
    text = sp.decode(ids)
    return text.replace(' ', '').replace('\u2582', ' ').replace('\u2583', '\n')
out = sys.stdout.buffer
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
