# character-level Chinese vocab shipped in data/: CJK one per token, English
# lower-cased into letters with ## continuations, offsets in code points
printf '你好，World! 中文\n\nab\n' | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --tokens
