# the same seed and threads give the same samples; another seed differs
M=$TOP/test/golden/gen/tiny-gpt2.b4k
echo '{"id":"x","prompt_ids":[3,4,5],"n":3}' > p.jsonl
run() { b4k-generate -m "$M" -t 2 --top-p 0.95 --min-p 0.01 --seed $1 -n 10 p.jsonl | sed 's/,"prompt_tokens.*//'; }
a=$(run 11); b=$(run 11); c=$(run 12)
[ "$a" = "$b" ] || { echo "same seed differs"; exit 1; }
[ "$a" != "$c" ] || { echo "other seed same"; exit 1; }
[ $(echo "$a" | wc -l) = 3 ] || exit 1
echo ok
