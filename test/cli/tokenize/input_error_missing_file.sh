# a file that cannot be opened ends the input: every record of the files
# before it is still written (all batches, not just the finished ones), exit 1
V="$TOP/data/zh-char-vocab.txt"
seq 1 5000 | sed 's/^/line /' > a.txt
b4k-tokenize -v "$V" a.txt > want.jsonl || exit 3
for args in "" "--batch 100" "-t 2 --batch 333"; do
  b4k-tokenize -v "$V" $args a.txt nosuch.txt > got.jsonl; rc=$?
  [ $rc = 1 ] || { echo "exit $rc with '$args'" >&2; exit 4; }
  cmp want.jsonl got.jsonl >&2 || { echo "records lost with '$args'" >&2; exit 5; }
done
exit $rc
