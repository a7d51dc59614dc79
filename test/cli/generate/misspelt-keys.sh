# a top-level key that looks like a misspelt sampling key is an error (exit
# 1 with file:line, or an error record with --keep-going); the record's own
# data (text, label, topic, step, ...) is not
M=$TOP/test/golden/gen/tiny-gpt2.b4k
printf '%s\n' '{"id":1,"prompt_ids":[1],"temprature":0.5}' '{"id":2,"prompt_ids":[1],"Top-P":0.9}' \
  '{"id":3,"prompt_ids":[1],"topk":5}' '{"id":4,"prompt_ids":[1],"max_new_tokens":3}' \
  '{"id":5,"prompt_ids":[1],"num_beams":2}' '{"id":6,"prompt_ids":[1],"repetition_penalyt":1.2}' \
  '{"id":7,"prompt_ids":[1],"text":"t","label":"x","topic":"y","step":3,"meta":{"top_k":1}}' \
  '{"id":8,"prompt_ids":[1],"options":{"temprature":1}}' > p.jsonl
b4k-generate -m "$M" --temperature 0 -n 1 --keep-going p.jsonl | sed 's/,"prompt_tokens.*//'
b4k-generate -m "$M" --temperature 0 -n 1 p.jsonl > /dev/null 2> err; echo "rc=$?"; cat err
