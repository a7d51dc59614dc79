command -v zstd >/dev/null || { echo "zstd not installed"; exit 77; }
printf '中文\n' | zstd -q -c > in.txt.zst
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --no-offsets in.txt.zst
