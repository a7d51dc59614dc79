# bad records: exit 1 with file:line, or error records with --keep-going
M=$TOP/test/golden/gen/tiny-gpt2.b4k
printf '%s\n' '{"id":1,"prompt_ids":[1]}' '{"id":2,"prompt_ids":[1],"options":{"top_kk":3}}' \
  '{"id":3,"prompt_ids":[1000]}' 'not json {' '{"id":5,"prompt_ids":[2]}' > p.jsonl
b4k-generate -m "$M" --temperature 0 -n 1 --keep-going p.jsonl | sed 's/,"prompt_tokens.*//'
b4k-generate -m "$M" --temperature 0 -n 1 p.jsonl > /dev/null 2> err; echo "rc=$?"; cat err
