# beam search with early stopping ends once 3 hypotheses have finished (the
# best of those is the answer); without it the search goes on while a live
# beam could still win.  The record key early_stopping does the same.
M=$TOP/test/golden/gen/tiny-gpt2.b4k
cut() { sed 's/,"prompt_tokens[^}]*"score"/,"score"/'; }
echo '{"id":1,"prompt_ids":[64]}' > p.jsonl
b4k-generate -m "$M" --beams 3 --end-id 26 -n 10 p.jsonl | cut
b4k-generate -m "$M" --beams 3 --end-id 26 -n 10 --early-stopping p.jsonl | cut
echo '{"id":2,"prompt_ids":[64],"early_stopping":true}' | b4k-generate -m "$M" --beams 3 --end-id 26 -n 10 | cut
