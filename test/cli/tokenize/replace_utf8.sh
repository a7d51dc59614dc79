# default: an invalid byte becomes U+FFFD (which BERT's clean-up drops), and
# counts as one code point in the offsets
printf 'a\377b\n' | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --tokens
