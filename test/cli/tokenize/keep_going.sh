printf '{"text":"中"}\nnot json\n{"other":1}\n{"text":"文"}\n' |
  b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -f text --keep-going --no-offsets
