printf '你好, world!\n' | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --no-offsets |
  b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --decode --no-special
echo "11 353 6331 12" | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --decode
