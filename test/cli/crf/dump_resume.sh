set -e
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k --max-iterations 5 --checkpoint ck.b4k --checkpoint-every 5 train.txt 2> /dev/null
# the checkpoint is a usable model with the same weights
cmp <(b4k-crf dump m.b4k) <(b4k-crf dump ck.b4k)
# dump: a header, L*L transitions, then one line per feature
b4k-crf dump m.b4k > d.jsonl
L=$(head -1 d.jsonl | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["labels"]))')
F=$(head -1 d.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["features"])')
test "$(wc -l < d.jsonl)" = $((1 + L * L + F))
grep -q '^{"from":"B-NP","to":"I-NP","weight":' d.jsonl
grep -q '^{"attr":"U02:pound","label":"I-NP","weight":' d.jsonl
# --resume continues to --max-iterations: the same model as one run
b4k-crf learn -t chunking -o r.b4k --max-iterations 9 --progress --resume ck.b4k train.txt 2> r.log
b4k-crf learn -t chunking -o s.b4k --max-iterations 9 train.txt 2> /dev/null
grep -q 'resumed at iteration 5' r.log
grep -q '^iter 6 ' r.log && ! grep -q '^iter 5 ' r.log
cmp r.b4k s.b4k
# --warm-start: starts from the weights (lower first loss than from zero)
b4k-crf learn -t chunking -o w.b4k --max-iterations 1 --progress --warm-start ck.b4k train.txt 2> w.log
b4k-crf learn -t chunking -o z.b4k --max-iterations 1 --progress train.txt 2> z.log
grep -q 'warm start' w.log
lw=$(awk '/^iter 1 /{print $4}' w.log); lz=$(awk '/^iter 1 /{print $4}' z.log)
awk -v a="$lw" -v b="$lz" 'BEGIN { exit !(a < b) }'
# a plain model is not a checkpoint
! b4k-crf learn -t chunking -o x.b4k --resume s.b4k train.txt 2> x.err
grep -q 'not a checkpoint' x.err
