# a stop string cuts the best beam like a sample: ids up to the token that
# completed it, the text before it, finish_reason "stop"
M=$TOP/data/gen/demo-cpm.b4k
echo '{"id":1,"prompt":"中国"}' > p.jsonl
b4k-generate -m "$M" --beams 2 -n 8 --ignore-eos p.jsonl > full || exit 1
stop=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open("full"))["text"][3:5])')
b4k-generate -m "$M" --beams 2 -n 8 --ignore-eos --stop "$stop" p.jsonl > cut || exit 1
/usr/bin/python3 - "$stop" <<'PY'
import json, sys
a, b, s = json.load(open("full")), json.load(open("cut")), sys.argv[1]
i = a["text"].find(s)
assert len(s) == 2 and i >= 0, (a, s)
assert b["text"] == a["text"][:i], (a, b)
assert b["finish_reason"] == "stop" and a["finish_reason"] == "length"
assert 0 < len(b["ids"]) < len(a["ids"]) and b["ids"] == a["ids"][:len(b["ids"])], (a, b)
print("cut at the stop string %r: %d of %d ids, text %r" % (s, len(b["ids"]), len(a["ids"]), b["text"]))
PY
