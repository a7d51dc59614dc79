# a vocab without [CLS]/[SEP] works only with --no-special
printf '[UNK]\nab\n##c\n' > v.txt
echo abc | b4k-tokenize -v v.txt --no-special --tokens || exit 9
echo abc | b4k-tokenize -v v.txt
