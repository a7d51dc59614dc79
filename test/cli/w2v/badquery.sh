b4k-w2v train --dim 8 --iter 1 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null
printf 'king\n{"word":3}\n' | b4k-w2v nearest m.b4k
