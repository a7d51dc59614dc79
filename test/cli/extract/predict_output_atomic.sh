# predict -o FILE is atomic: a bad record stops the run (exit 1) and FILE
# keeps its old contents; a good run replaces it.  train --dump-features is
# written the same way (no temporary left behind).
F=$TOP/test/cli/extract
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --epochs 1 -o m.b4k --dump-features feats.jsonl $F/spo_train.json 2>/dev/null || exit 3
[ "$(head -c 10 feats.jsonl)" = '{"schema":' ] || exit 4
printf '{"text":"周星驰"}\nnot json\n' > bad.jsonl
printf '{"text":"周星驰"}\n' > good.jsonl
echo previous > out.jsonl
b4k-extract predict -m m.b4k -o out.jsonl bad.jsonl 2> err; rc=$?
[ $rc = 1 ] && grep -q 'bad.jsonl:2: invalid JSON' err || exit 5
[ "$(cat out.jsonl)" = previous ] || { echo "out.jsonl was changed" >&2; exit 6; }
b4k-extract predict -m m.b4k -o out.jsonl good.jsonl || exit 7
grep -q '"spo_list"' out.jsonl || exit 8
[ "$(ls | grep -c '\.tmp\.')" = 0 ] || { echo "temporary left: $(ls)" >&2; exit 9; }
