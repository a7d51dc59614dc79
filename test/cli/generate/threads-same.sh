# decode splits the proj / fc / fcp / LM-head rows between threads
# dynamically (lib/nn/gpt2.c, wq_share): whichever thread computes a row,
# the output -- ids and logprobs, sampled with a seed -- is the same for
# 1, 2, 3 and 4 threads, for f32, bf16 and q8 weights
printf '%s\n' '{"id":0,"prompt_ids":[5,17,99,3,42,8,77]}' '{"id":1,"prompt_ids":[64],"temperature":0.8}' > p.jsonl
for dt in "" -bf16 -q8; do
  M=$TOP/test/golden/gen/tiny-gpt2$dt.b4k
  for t in 1 2 3 4; do
    b4k-generate -m "$M" -t $t --seed 3 --logprobs --ignore-eos -n 8 p.jsonl |
      sed -E 's/"(prefill_)?tokens_per_s":[0-9.]+,?//g' > t$t
  done
  cmp t1 t2 && cmp t1 t3 && cmp t1 t4 && echo "tiny-gpt2$dt: same for 1-4 threads"
  cut -c1-60 t1
done
