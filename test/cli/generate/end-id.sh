# stopping at an end id (here the greedy token 26): it is not output
M=$TOP/test/golden/gen/tiny-gpt2.b4k
echo '{"id":0,"prompt_ids":[64],"end_id":26}' | b4k-generate -m "$M" --temperature 0 -n 12 | sed 's/,"prompt_tokens.*//'
echo '{"id":0,"prompt_ids":[64]}' | b4k-generate -m "$M" --temperature 0 --end-id 26 -n 12 | sed 's/,"prompt_tokens.*//'
echo '{"id":0,"prompt_ids":[64]}' | b4k-generate -m "$M" --temperature 0 --ignore-eos -n 3 | sed 's/,"prompt_tokens.*//'
echo '{"id":1,"prompt_ids":[5,17,99,3,42,8,77]}' | b4k-generate -m "$M" --temperature 0 --end-id 6 -n 12 | sed 's/,"prompt_tokens.*//'
