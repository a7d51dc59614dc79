set -e
. "$TOP/test/cli/crf/data.inc"
for i in 1 2; do b4k-crf learn -t chunking -j 2 -o m$i.b4k train.txt 2> /dev/null; done
cmp m1.b4k m2.b4k
b4k-crf learn -t chunking -j 1 -o one.b4k train.txt 2> /dev/null
b4k-crf tag -m one.b4k train.txt > a
b4k-crf tag -m m1.b4k train.txt > b
cmp a b
# threaded tagging keeps the order and the labels
b4k-crf tag -m m1.b4k -j 2 --output-format jsonl --marginals --nbest 2 train.txt > c
b4k-crf tag -m m1.b4k --output-format jsonl --marginals --nbest 2 train.txt > d
cmp c d
# holdout keeps the best model and reports it
b4k-crf learn -t chunking -o h.b4k --holdout train.txt --max-iterations 20 train.txt 2> log
grep -q 'best holdout 100.0000' log
# other trainers
b4k-crf learn -t chunking -a l2sgd -i 20 -o sgd.b4k train.txt 2> /dev/null
b4k-crf learn -t chunking -a ap -i 20 -o ap.b4k train.txt 2> /dev/null
b4k-crf learn -t chunking --c1 0.1 --c2 0 -o l1.b4k train.txt 2> /dev/null
for m in sgd ap l1; do b4k-crf eval -m $m.b4k train.txt | grep -q '"accuracy":'; done
b4k-crf eval -m sgd.b4k train.txt | grep -q '"accuracy":100.0000'
