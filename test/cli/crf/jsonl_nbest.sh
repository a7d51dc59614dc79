set -e
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k train.txt 2> /dev/null
b4k-crf tag -m m.b4k --output-format jsonl --marginals --nbest 3 train.txt > o.jsonl
test "$(wc -l < o.jsonl)" = 3
head -1 o.jsonl | grep -q '^{"tokens":\[\["He","PRP"\],\["reckons","VBZ"\]'
grep -q '"marginals":\[' o.jsonl
grep -q '"nbest":\[{"labels":\[' o.jsonl
# the first n-best entry is the Viterbi path with the same score
/usr/bin/python3 - <<'P'
import json
for l in open("o.jsonl"):
    r = json.loads(l)
    assert r["nbest"][0]["labels"] == r["labels"], r
    assert abs(r["nbest"][0]["score"] - r["score"]) < 1e-6
    s = [n["score"] for n in r["nbest"]]
    assert s == sorted(s, reverse=True) and len(s) == 3
    assert all(0 < p <= 1 for p in r["marginals"]) and 0 < r["prob"] <= 1
    assert abs(r["nbest"][0]["prob"] - r["prob"]) < 1e-6
P
# JSONL input round trip
/usr/bin/python3 -c '
import json
for l in open("o.jsonl"):
    r = json.loads(l); print(json.dumps({"tokens": r["tokens"], "labels": r["labels"]}))' > in.jsonl
b4k-crf eval -f jsonl -m m.b4k in.jsonl | grep -q '"f1":100.0000'
