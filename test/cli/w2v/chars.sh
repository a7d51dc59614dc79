# --chars: every CJK character is a token; Latin runs stay whole
set -e
for i in $(seq 50); do echo "我们 喜欢 word2vec 和 中文abc"; done > zh.txt
b4k-w2v train --chars --min-count 1 --dim 4 --iter 1 -o zh.b4k zh.txt | grep -q '"vocab":9,'
b4k-w2v export -f word2vec-text zh.b4k | cut -d' ' -f1 | tail -n +2 | sort | tr '\n' ' '
