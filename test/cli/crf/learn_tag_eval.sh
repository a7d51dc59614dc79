set -e
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k --c2 0.1 train.txt 2> log
grep -q '3 sequences, 33 tokens' log
# tagging the training data reproduces it (conll: columns, gold, prediction)
b4k-crf tag -m m.b4k train.txt > out.txt
awk 'NF { if ($3 != $4) bad++ } END { exit bad ? 1 : 0 }' out.txt
test "$(grep -c . out.txt)" = 33
# eval with the model and conlleval-style eval of the tagged file agree
b4k-crf eval -m m.b4k train.txt > e1.json
b4k-crf eval out.txt > e2.json
cmp e1.json e2.json
grep -q '"chunks":{"precision":100.0000,"recall":100.0000,"f1":100.0000,"gold":15' e1.json
# unlabelled input (two columns) works too and gives the same labels
cut -d' ' -f1,2 train.txt > plain.txt
b4k-crf tag -m m.b4k plain.txt | cut -f3 > p1
cut -f4 out.txt > p2
cmp p1 p2
