# sentence pair with segment ids; longest-first truncation to 8 tokens
printf '{"q":"一二三四五六","a":"七八九"}\n' |
  b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -f q --pair-field a --max-len 8 --tokens
