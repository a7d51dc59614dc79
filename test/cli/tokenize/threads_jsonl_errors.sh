# JSONL with bad records spread over batches and threads: --keep-going output
# is the same for any --threads/--batch; without it, every record before the
# first bad one is written and the message names its line
for i in $(seq 1 300); do
  case $((i % 37)) in
    0) echo "not json $i" ;;
    5) echo "{\"id\":$i}" ;;
    *) echo "{\"id\":$i,\"text\":\"第${i}条 record $i\"}" ;;
  esac
done > in.jsonl
V=$TOP/data/zh-char-vocab.txt
b4k-tokenize -v "$V" -f text --keep-going in.jsonl > one.jsonl 2> /dev/null || exit 3
b4k-tokenize -v "$V" -f text --keep-going -t 3 --batch 11 in.jsonl > three.jsonl 2> /dev/null || exit 4
cmp one.jsonl three.jsonl || exit 5
[ "$(wc -l < three.jsonl)" = 300 ] || exit 6
b4k-tokenize -v "$V" -f text -t 2 --batch 7 in.jsonl > part.jsonl 2> err.txt
rc=$?
[ $rc = 1 ] || exit 7
grep -q '^b4k-tokenize: in.jsonl:5: missing field "text"' err.txt || exit 8
[ "$(wc -l < part.jsonl)" = 4 ] || exit 9
head -4 one.jsonl | cmp - part.jsonl || exit 10
