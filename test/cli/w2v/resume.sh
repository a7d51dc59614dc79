# a run resumed from its checkpoint ends bit-identical to the uninterrupted run
set -e
C=$TOP/data/w2v/toy.txt.zst
b4k-w2v train --dim 16 --iter 3 --seed 9 --checkpoint ck.b4k --checkpoint-every 150000 -o full.b4k $C > sum
grep -q '"checkpoints":2' sum
b4k-w2v train --resume ck.b4k -o res.b4k $C > /dev/null
cmp full.b4k res.b4k
