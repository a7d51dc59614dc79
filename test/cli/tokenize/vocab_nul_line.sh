# a NUL byte in the vocabulary is reported at its line
printf '[PAD]\n[UNK]\nab\000c\n[CLS]\n' > v.txt
echo hi | b4k-tokenize -v v.txt
