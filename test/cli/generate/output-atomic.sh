# -o FILE is atomic: a bad record stops the run and FILE keeps its old
# contents; a good run replaces it
M=$TOP/test/golden/gen/tiny-gpt2.b4k
echo previous > out.jsonl
printf '{"prompt_ids":[64]}\n{"prompt_ids":"x"}\n' | b4k-generate -m "$M" --temperature 0 -n 2 -o out.jsonl 2> err
[ $? = 1 ] || exit 3
[ "$(cat out.jsonl)" = previous ] || { echo "out.jsonl was changed" >&2; exit 4; }
printf '{"prompt_ids":[64]}\n' | b4k-generate -m "$M" --temperature 0 -n 2 -o out.jsonl || exit 5
grep -q '"ids"' out.jsonl || exit 6
[ "$(ls | grep -c '\.tmp\.')" = 0 ] || exit 7
