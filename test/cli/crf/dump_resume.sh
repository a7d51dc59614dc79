set -e
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k --max-iterations 5 --checkpoint ck.b4k --checkpoint-every 5 train.txt 2> /dev/null
cmp m.b4k ck.b4k
# dump: a header, L*L transitions, then one line per feature
b4k-crf dump m.b4k > d.jsonl
L=$(head -1 d.jsonl | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["labels"]))')
F=$(head -1 d.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["features"])')
test "$(wc -l < d.jsonl)" = $((1 + L * L + F))
grep -q '^{"from":"B-NP","to":"I-NP","weight":' d.jsonl
grep -q '^{"attr":"U02:pound","label":"I-NP","weight":' d.jsonl
# resume from the checkpoint: starts where it stopped (lower first loss)
b4k-crf learn -t chunking -o r.b4k --max-iterations 1 --progress --resume ck.b4k train.txt 2> r.log
b4k-crf learn -t chunking -o s.b4k --max-iterations 1 --progress train.txt 2> s.log
grep -q 'resumed' r.log
lr=$(awk '/^iter 1 /{print $4}' r.log); ls=$(awk '/^iter 1 /{print $4}' s.log)
awk -v a="$lr" -v b="$ls" 'BEGIN { exit !(a < b) }'
