#!/usr/bin/python3
# Reference jieba segmentation (jieba 0.42, precise mode, HMM on), one line of
# output per input line.  Lines are split on b"\n" only (a "\r" stays in the
# text, as b4k keeps it).  Each word is escaped (\\ -> \\\\, space -> \s,
# tab -> \t, CR -> \r, LF -> \n) and the words are joined by one space.
# Usage: /usr/bin/python3 test/ref/jieba_ref.py [--user-dict F] < in > out
import sys, logging
import jieba
jieba.setLogLevel(logging.ERROR)
args = sys.argv[1:]
if len(args) == 2 and args[0] == "--user-dict":
    jieba.load_userdict(args[1])
jieba.initialize()
def esc(w):
    return (w.replace("\\", "\\\\").replace(" ", "\\s").replace("\t", "\\t")
            .replace("\r", "\\r").replace("\n", "\\n"))
out = sys.stdout.buffer
data = sys.stdin.buffer.read().split(b"\n")
if data and data[-1] == b"":
    data.pop()
for raw in data:
    line = raw.decode("utf-8", "replace")
    out.write(" ".join(esc(w) for w in jieba.cut(line)).encode("utf-8") + b"\n")
