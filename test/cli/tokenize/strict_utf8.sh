printf 'ok\nbad \377 byte\n' > in.txt
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --strict in.txt
