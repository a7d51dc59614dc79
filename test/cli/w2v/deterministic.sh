# --threads 1 with a seed: byte-identical models; another seed differs
set -e
C=$TOP/data/w2v/toy.txt.zst
for m in skipgram cbow; do
  b4k-w2v train --model $m --dim 16 --iter 2 --seed 5 -o a.b4k $C > /dev/null
  b4k-w2v train --model $m --dim 16 --iter 2 --seed 5 -o b.b4k $C > /dev/null
  b4k-w2v train --model $m --dim 16 --iter 2 --seed 6 -o c.b4k $C > /dev/null
  cmp a.b4k b.b4k
  ! cmp -s a.b4k c.b4k
done
b4k-w2v train --hs --negative 0 --dim 16 --iter 2 --seed 5 -o h1.b4k $C > /dev/null
b4k-w2v train --hs --negative 0 --dim 16 --iter 2 --seed 5 -o h2.b4k $C > /dev/null
cmp h1.b4k h2.b4k
