# --nbest N: the N best segmentations and their scores, best first
echo 'abc 你好' | b4k-tokenize -k spm --model "$TOP/test/golden/spm/uni_bf0_dp1.model" --nbest 3
