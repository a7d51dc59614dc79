# a run resumed from its checkpoint ends bit-identical to the uninterrupted run
set -e
C=$TOP/data/w2v/toy.txt.zst
b4k-w2v train --dim 16 --iter 3 --seed 9 --checkpoint ck.b4k --checkpoint-every 150000 -o full.b4k $C > sum
grep -q '"checkpoints":2' sum
b4k-w2v train --resume ck.b4k -o res.b4k $C > /dev/null
cmp full.b4k res.b4k
# two threads: checkpoints taken while the other thread trains stay valid
b4k-w2v train -t 2 --dim 16 --iter 3 --checkpoint ck2.b4k --checkpoint-every 50000 -o f2.b4k $C > /dev/null
echo king | b4k-w2v nearest -k 1 ck2.b4k | grep -q '"nearest":\[{'
b4k-w2v train --resume ck2.b4k -o r2.b4k $C | grep -q '"threads":2,'
