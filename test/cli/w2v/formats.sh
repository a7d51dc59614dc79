# export to word2vec text and binary; every subcommand reads all three formats
# with identical answers; binary export re-exported is byte-identical
set -e
b4k-w2v train --dim 16 --iter 3 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null
b4k-w2v export --format word2vec-text m.b4k -o m.txt
b4k-w2v export -f word2vec-bin m.b4k -o m.bin
head -1 m.txt | grep -qx '[0-9]* 16'
printf 'king\nparis\n{"word":"rome","k":2,"id":7}\n' > q
for f in m.b4k m.txt m.bin; do b4k-w2v nearest -k 4 $f q > $f.near; done
cmp m.b4k.near m.txt.near
cmp m.b4k.near m.bin.near
grep -q '"id":7,"nearest":\[{"word"' m.b4k.near
b4k-w2v export -f word2vec-bin m.bin -o m2.bin && cmp m.bin m2.bin
b4k-w2v export -f word2vec-bin m.txt -o m3.bin && cmp m.bin m3.bin
b4k-w2v export -f b4k m.txt -o m2.b4k
b4k-w2v eval m2.b4k --analogy $TOP/data/w2v/toy-questions.txt > e1
b4k-w2v eval m.bin --analogy $TOP/data/w2v/toy-questions.txt > e2
cmp e1 e2
