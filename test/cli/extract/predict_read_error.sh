# predict: an input that cannot be read to its end (a .zst cut short) stops
# with exit 1 after the records decoded before the cut are written, and a
# missing file after the records of the files before it.
command -v zstd >/dev/null || { echo "zstd not installed"; exit 77; }
F=$TOP/test/cli/extract
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --epochs 1 -o m.b4k $F/spo_train.json 2>/dev/null || exit 3
printf '{"text":"周星驰"}\n{"text":"刘德华"}\n' > a.jsonl
printf '{"text":"梁朝伟"}\n' > b.jsonl
zstd -q -c a.jsonl > in.zst
zstd -q -c b.jsonl | head -c 12 >> in.zst
b4k-extract predict -m m.b4k a.jsonl > want || exit 3
b4k-extract predict -m m.b4k in.zst > got 2> err; rc=$?
[ $rc = 1 ] && cmp want got && grep -q '^b4k-extract predict: in.zst:3: truncated zstd stream' err || exit 4
b4k-extract predict -m m.b4k a.jsonl nosuch > got 2> err; rc=$?
[ $rc = 1 ] && cmp want got && grep -q '^b4k-extract predict: nosuch: cannot open' err || exit 5
