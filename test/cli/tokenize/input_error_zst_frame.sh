# a .zst whose second frame is truncated: the lines of the first frame all
# come out (with any batch size and thread count), then exit 1 at the cut
command -v zstd >/dev/null || { echo "zstd not installed"; exit 77; }
V="$TOP/data/zh-char-vocab.txt"
seq 1 2500 | sed 's/^/x /' > one.txt
seq 2501 5000 | sed 's/^/x /' | zstd -q -c > two.zst
zstd -q -c one.txt > in.zst
head -c $(( $(wc -c < two.zst) - 10 )) two.zst >> in.zst
b4k-tokenize -v "$V" one.txt > want.jsonl || exit 3
for args in "" "--batch 100" "-t 2 --batch 77"; do
  b4k-tokenize -v "$V" $args in.zst > got.jsonl; rc=$?
  [ $rc = 1 ] || { echo "exit $rc with '$args'" >&2; exit 4; }
  cmp want.jsonl got.jsonl >&2 || { echo "records lost with '$args'" >&2; exit 5; }
done
exit $rc
