# predict: a bad record stops with file:line after the records before it are
# written; --keep-going writes {"error","line"} in its place instead.
F=$TOP/test/cli/extract
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --epochs 1 -o m.b4k $F/spo_train.json 2>/dev/null || exit 3
printf '{"text":"周星驰"}\nnot json\n{"x":1}\n' > in.jsonl
b4k-extract predict -m m.b4k --keep-going in.jsonl | grep -o '"error":"[a-z ]*\|"line":[0-9]*\|"text":"[^"]*"'
b4k-extract predict -m m.b4k in.jsonl 2> err.txt | grep -c spo_list
grep -o 'in.jsonl:2: invalid JSON' err.txt
