# JSONL "tokens" input and stdin give the same model as the text file
set -e
zstd -dc $TOP/data/w2v/toy.txt.zst | head -3000 > c.txt
b4k-w2v train --dim 8 --iter 2 -o t.b4k c.txt > /dev/null
awk '{printf "{\"text\":\"x\",\"tokens\":["; for(i=1;i<=NF;i++) printf "%s\"%s\"", (i>1?",":""), $i; print "]}"}' c.txt > c.jsonl
b4k-w2v train --dim 8 --iter 2 -o j.b4k c.jsonl > /dev/null
cmp t.b4k j.b4k
b4k-w2v train --dim 8 --iter 2 -o s.b4k < c.txt > /dev/null
cmp t.b4k s.b4k
zstd -q c.jsonl -o c.jsonl.zst
cat c.jsonl.zst | b4k-w2v train --dim 8 --iter 2 -o z.b4k - > /dev/null
cmp t.b4k z.b4k
