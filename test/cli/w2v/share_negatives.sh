# --share-negatives: CBOW trains with it, one thread stays reproducible,
# the vectors differ from the default's, a checkpoint resumes with the
# setting (bit-identical), and skip-gram refuses it (usage error)
set -e
C=$TOP/data/w2v/toy.txt.zst
b4k-w2v train --model cbow --share-negatives 4 --dim 16 --iter 3 --seed 5 -o a.b4k $C > /dev/null
b4k-w2v train --model cbow --share-negatives 4 --dim 16 --iter 3 --seed 5 -o b.b4k $C > /dev/null
cmp a.b4k b.b4k
b4k-w2v train --model cbow --dim 16 --iter 3 --seed 5 -o c.b4k $C > /dev/null
b4k-w2v export --format word2vec-bin -o a.bin a.b4k
b4k-w2v export --format word2vec-bin -o c.bin c.b4k
! cmp -s a.bin c.bin
b4k-w2v train --model cbow --share-negatives 4 --dim 16 --iter 3 --seed 5 --checkpoint ck.b4k \
  --checkpoint-every 150000 -o full.b4k $C | grep -q '"checkpoints":2'
b4k-w2v train --resume ck.b4k -o res.b4k $C > /dev/null
cmp full.b4k res.b4k
cmp a.b4k full.b4k
rc=0
b4k-w2v train --share-negatives 4 --dim 16 -o d.b4k $C 2> err || rc=$?
[ $rc = 2 ] && grep -q 'is for CBOW with negative sampling' err
