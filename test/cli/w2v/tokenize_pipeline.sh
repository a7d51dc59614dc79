# b4k-tokenize ... | b4k-w2v train: SentencePiece pieces joined back into
# words (--join-pieces) give the same model, byte for byte, as training on
# the space-separated words themselves; without it the pieces are the tokens
set -e
awk 'BEGIN { srand(7); split("上海 浦东 开发 新华社 北京 经济 建设 同步 法制 改革 开放 城市 发展 人民 政府 企业 市场 工作 国家 中国", w, " ");
  for (i = 0; i < 400; i++) { n = 3 + int(rand() * 8); s = ""; for (j = 0; j < n; j++) s = s (j ? " " : "") w[1 + int(rand() * 20)]; print s } }' > words.txt
b4k-w2v train --dim 16 --iter 2 --min-count 1 --seed 3 -o direct.b4k words.txt > /dev/null
b4k-tokenize --kind spm --model "$TOP/data/spm-mini/zh-bpe-4k.model" --tokens --no-offsets -t 2 words.txt |
  b4k-w2v train --join-pieces --dim 16 --iter 2 --min-count 1 --seed 3 -o piped.b4k > sum.json
cmp direct.b4k piped.b4k
grep -q '"vocab":20,' sum.json
# without --join-pieces: the pieces (single characters and the mark) are the words
b4k-tokenize --kind spm --model "$TOP/data/spm-mini/zh-bpe-4k.model" --tokens --no-offsets words.txt |
  b4k-w2v train --dim 16 --iter 1 --min-count 1 -o pieces.b4k > /dev/null
b4k-w2v export -f word2vec-text pieces.b4k | cut -d' ' -f1 | grep -qx '▁'
echo '{"word":"上海","k":3}' | b4k-w2v nearest piped.b4k | grep -q '"nearest":\[{"word":'
