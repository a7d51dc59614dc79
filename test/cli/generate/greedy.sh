# greedy continuations equal torch's (test/golden/gen/meta.json): 1 and 2
# threads with the fastest kernels, then the portable scalar ones
M=$TOP/test/golden/gen/tiny-gpt2.b4k
printf '%s\n' '{"id":0,"prompt_ids":[5,17,99,3,42,8,77]}' \
  '{"id":1,"prompt_ids":[1,2,3,4,5,6,7,8,9,10,90,80,70,60,50,40,30,20,11,100]}' '{"id":2,"prompt_ids":[64]}' > p.jsonl
for t in 1 2; do
  b4k-generate -m "$M" -t $t --temperature 0 --ignore-eos -n 12 p.jsonl | sed 's/,"prompt_tokens.*//'
done
B4K_CPU=scalar b4k-generate -m "$M" -t 2 --temperature 0 --ignore-eos -n 12 p.jsonl | sed 's/,"prompt_tokens.*//'
