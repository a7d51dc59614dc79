# -o naming a FIFO (or /dev/null) is written in place, never renamed over
set -e
mkfifo f1 f2
cat f1 > got.b4k & p1=$!
b4k-w2v train --dim 8 --iter 1 -o f1 $TOP/data/w2v/toy.txt.zst > /dev/null
wait $p1
[ -p f1 ]
b4k-w2v nearest -k 1 got.b4k <<< king | grep -q '"nearest":\[{'
cat f2 > got.txt & p2=$!
b4k-w2v export -f word2vec-text -o f2 got.b4k
wait $p2
[ -p f2 ]
head -1 got.txt | grep -qx '125 8'
