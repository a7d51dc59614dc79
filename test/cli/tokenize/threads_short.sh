# more threads than lines: idle threads must not report stale errors
printf '中文\n' | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -t 4 --no-offsets
printf '' | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -t 3
