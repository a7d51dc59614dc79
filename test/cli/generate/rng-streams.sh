# every (record, sample) has its own random stream: record 0's sample 1024
# and record 1's sample 0 (same prompt, same seed) differ; they were one
# stream (record*1024 + sample) before
M=$TOP/test/golden/gen/tiny-gpt2.b4k
printf '%s\n' '{"id":"a","prompt_ids":[3],"n":1025}' '{"id":"b","prompt_ids":[3]}' > p.jsonl
b4k-generate -m "$M" -t 1 --temperature 4 --ignore-eos --seed 5 -n 8 p.jsonl > out || exit 1
a=$(grep '"id":"a","sample":1024,' out | grep -o '"ids":\[[0-9,]*\]')
b=$(grep '"id":"b",' out | grep -o '"ids":\[[0-9,]*\]')
[ -n "$a" ] && [ -n "$b" ] || { echo "missing lines"; exit 1; }
[ "$a" != "$b" ] && echo differ || echo "same stream: $a"
