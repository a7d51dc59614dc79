b4k-tokenize -v no-such-vocab.txt < /dev/null
