# eval --analogy with questions outside the restricted vocabulary (seen <
# total): the counts and accuracies per section and in total equal an
# independent numpy computation over the word2vec-text export (compute-
# accuracy's rules: skip a question with a word outside the top N; answer
# by 3CosAdd over the top N without the three question words)
set -e
command -v /usr/bin/python3 > /dev/null && /usr/bin/python3 -c 'import numpy' 2> /dev/null ||
  { echo "python3-numpy missing"; exit 77; }
b4k-w2v train --dim 24 --iter 5 --min-count 2 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null
b4k-w2v export -f word2vec-text -o m.txt m.b4k
for n in 85 110; do
  b4k-w2v eval --restrict $n --analogy $TOP/data/w2v/toy-questions.txt m.b4k > r.json
  /usr/bin/python3 - "$n" "$TOP/data/w2v/toy-questions.txt" <<'PY'
import json, sys
import numpy as np
n, qfile = int(sys.argv[1]), sys.argv[2]
lines = open("m.txt").read().split("\n")[1:]
words = [l.split(" ")[0] for l in lines if l][:n]
M = np.array([[float(x) for x in l.split(" ")[1:]] for l in lines if l][:n])
M /= np.linalg.norm(M, axis=1, keepdims=True)
ix = {w: i for i, w in enumerate(words)}
secs, cur = [], None
for l in open(qfile):
    t = l.split()
    if not t: continue
    if t[0] == ":":
        cur = {"name": t[1], "correct": 0, "seen": 0, "total": 0}; secs.append(cur); continue
    t = [w.lower() for w in t]
    cur["total"] += 1
    if any(w not in ix for w in t): continue
    cur["seen"] += 1
    a, b, c, d = (ix[w] for w in t)
    s = M @ (M[b] - M[a] + M[c])
    s[[a, b, c]] = -np.inf
    cur["correct"] += int(np.argmax(s) == d)
r = json.load(open("r.json"))["analogy"]
tot = {k: sum(s[k] for s in secs) for k in ("correct", "seen", "total")}
assert 0 < tot["seen"] < tot["total"], tot
for mine, ref in zip(r["sections"] + [r["total"]], secs + [dict(tot, name=None)]):
    for k in ("correct", "seen", "total"):
        assert mine[k] == ref[k], (n, mine, ref)
    acc = 100.0 * ref["correct"] / ref["seen"] if ref["seen"] else None
    assert (mine["accuracy"] is None) == (acc is None) and (acc is None or abs(mine["accuracy"] - acc) < 1e-3), (mine, acc)
    assert abs(mine["accuracy_all"] - 100.0 * ref["correct"] / ref["total"]) < 1e-3, mine
print("restrict %d: seen %d of %d, correct %d" % (n, tot["seen"], tot["total"], tot["correct"]))
PY
done
