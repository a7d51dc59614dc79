# predict -o and --dump-features are written atomically: a failed run
# leaves the previous file as it was and no temporary behind (special files
# such as /dev/null are written in place).
F=$TOP/test/cli/extract
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --epochs 1 -o m.b4k $F/spo_train.json 2>/dev/null || exit 3
mkdir d && cd d
echo previous > out.jsonl
printf '{"text":"周星驰"}\nnot json\n' | b4k-extract predict -m ../m.b4k -o out.jsonl 2>/dev/null
echo "bad record: exit $?, $(cat out.jsonl), $(ls | wc -l) file(s)"
printf '{"text":"周星驰"}\n{"text":"香港"}\n' | b4k-extract predict -m ../m.b4k -o out.jsonl
echo "good: exit $?, $(grep -c spo_list out.jsonl) records, $(ls | wc -l) file(s)"
printf '{"text":"周星驰"}\n' | b4k-extract predict -m ../m.b4k -o /dev/null
echo "to /dev/null: exit $?, $(ls | wc -l) file(s)"
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --epochs 1 --holdout 0.25 --dump-features feats.jsonl -o m2.b4k $F/spo_train.json 2>/dev/null
echo "dump: exit $?, $(grep -c '"split":"train"' feats.jsonl) train, $(grep -c '"split":"heldout"' feats.jsonl) held out"
