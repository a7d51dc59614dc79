# --lower / --no-lower are WordPiece options: with spm, cpm or bpe they are a
# usage error (exit 2), not silently ignored
M="$TOP/test/golden/spm/uni_bf0_dp1.model"
B="-k bpe -v $TOP/data/bpe-mini/encoder.json -m $TOP/data/bpe-mini/vocab.bpe"
echo hi | b4k-tokenize -k spm --model "$M" --lower > /dev/null 2> e1; r1=$?
echo hi | b4k-tokenize -k cpm --model "$M" --no-lower > /dev/null 2> e2; r2=$?
echo hi | b4k-tokenize $B --no-lower > /dev/null 2> e3; r3=$?
echo hi | b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" --no-lower --no-offsets; r4=$?
echo $r1 $r2 $r3 $r4
grep -qx 'b4k-tokenize: --lower is for --kind wordpiece, not spm' e1 &&
  grep -q 'no-lower is for --kind wordpiece, not cpm' e2 && grep -q "Try 'b4k-tokenize --help'" e3
