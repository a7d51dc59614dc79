# with --beams K > 1 the sampling options, --samples, --stream and --logprobs
# are usage errors (exit 2), as are --length-penalty and --early-stopping
# without it; in a record the same combinations are bad records
M=$TOP/test/golden/gen/tiny-gpt2.b4k
for o in --stream --logprobs '-s 2' '--temperature 0' '--top-k 3' '--top-p 0.9' '--min-p 0.1' \
         '--repetition-penalty 1.2' '--presence-penalty 1' '--frequency-penalty 1' '--penalty-last-n 4'; do
  b4k-generate -m "$M" --beams 3 $o < /dev/null 2> err; echo "$o: $? $(head -1 err)"
done
for o in '--early-stopping' '--length-penalty 0'; do
  b4k-generate -m "$M" $o < /dev/null 2> err; echo "$o: $? $(head -1 err)"
done
printf '%s\n' '{"id":1,"prompt_ids":[64],"n":2}' '{"id":2,"prompt_ids":[64],"temperature":0.5}' \
  '{"id":3,"prompt_ids":[64],"options":{"top_p":0.9}}' '{"id":4,"prompt_ids":[64],"beams":1,"early_stopping":true}' \
  '{"id":5,"prompt_ids":[64],"beams":1,"temperature":0}' '{"id":6,"prompt_ids":[64],"length_penalty":0}' > p.jsonl
b4k-generate -m "$M" --beams 2 -n 3 --keep-going p.jsonl | sed 's/,"prompt_tokens.*//'
b4k-generate -m "$M" --beams 2 -n 3 p.jsonl > /dev/null 2> err; echo "rc=$?"; cat err
