# -o FILE is written atomically: a run that fails (here a missing second
# input) leaves FILE as it was and no temporary behind; a run that succeeds
# replaces it; -o - is stdout
V="$TOP/data/zh-char-vocab.txt"
printf '你好\n世界\n' > a.txt
echo previous > out.jsonl
b4k-tokenize -v "$V" -o out.jsonl a.txt nosuch.txt 2> err; rc=$?
[ $rc = 1 ] && grep -q 'nosuch.txt: cannot open' err || exit 3
[ "$(cat out.jsonl)" = previous ] || { echo "out.jsonl was changed" >&2; exit 4; }
[ "$(ls | grep -c tmp)" = 0 ] || { echo "temporary left: $(ls)" >&2; exit 5; }
b4k-tokenize -v "$V" --batch 1 -o out.jsonl a.txt || exit 6
b4k-tokenize -v "$V" a.txt | cmp - out.jsonl || exit 7
b4k-tokenize -v "$V" -o - a.txt | cmp - out.jsonl || exit 8
[ "$(ls | grep -c tmp)" = 0 ] || exit 9
# a usage error after -o is parsed touches nothing either
b4k-tokenize -v "$V" -o out2.jsonl --batch 0 a.txt 2> /dev/null; [ $? = 2 ] && [ ! -e out2.jsonl ] || exit 10
