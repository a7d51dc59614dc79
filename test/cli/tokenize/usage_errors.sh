b4k-tokenize -v x --kind nope < /dev/null 2> e1; r1=$?
b4k-tokenize < /dev/null 2> e2; r2=$?
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --pair-field b < /dev/null 2> e3; r3=$?
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --threads 0 < /dev/null 2> e4; r4=$?
echo $r1 $r2 $r3 $r4
grep -q "Try 'b4k-tokenize --help'" e1 && grep -q -- "--vocab is required" e2 && grep -q -- "--pair-field needs --field" e3
