# --no-mmap (weights read into huge-page memory) gives the same output as
# the default mmap'd model, with logprobs, for f32, bf16 and q8 weights,
# and with and without checksum verification. The logprobs printed are cut
# to 3 decimals: the bf16 and q8 kernels of each CPU level (AVX-512, AVX2,
# scalar) sum in different orders and differ in the 6th digit.
printf '%s\n' '{"id":0,"prompt_ids":[5,17,99,3,42,8,77]}' '{"id":1,"prompt_ids":[64],"temperature":0.8}' > p.jsonl
for dt in "" -bf16 -q8; do
  M=$TOP/test/golden/gen/tiny-gpt2$dt.b4k
  b4k-generate -m "$M" --seed 3 --logprobs --ignore-eos -n 6 p.jsonl | sed -E 's/"(prefill_)?tokens_per_s":[0-9.]+,?//g' > a
  b4k-generate -m "$M" --seed 3 --logprobs --ignore-eos -n 6 --no-mmap p.jsonl | sed -E 's/"(prefill_)?tokens_per_s":[0-9.]+,?//g' > b
  b4k-generate -m "$M" --seed 3 --logprobs --ignore-eos -n 6 --no-mmap --no-verify p.jsonl | sed -E 's/"(prefill_)?tokens_per_s":[0-9.]+,?//g' > c
  cmp a b && cmp a c && echo "tiny-gpt2$dt: same"
  sed -E 's/(\.[0-9]{3})[0-9]+/\1/g' a
done
