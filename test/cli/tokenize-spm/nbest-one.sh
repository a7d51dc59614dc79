# --nbest 1 writes nbest and scores like any N: one entry, the plain
# encoding, with the score --nbest 2 gives the best; --nbest 1 --sample
# draws among the one best, which is the plain encoding
M="$TOP/test/golden/spm/uni_bf0_dp1.model"
printf 'abc 你好\n\n' > in.txt
b4k-tokenize -k spm --model "$M" --nbest 1 in.txt
b4k-tokenize -k spm --model "$M" --nbest 2 in.txt | head -1
b4k-tokenize -k spm --model "$M" --no-offsets in.txt | head -1
b4k-tokenize -k spm --model "$M" --no-offsets --nbest 1 --sample --seed 5 in.txt | head -1
