printf '{"text":"中"}\n{"text":\n' > in.jsonl
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -f text in.jsonl
