echo x | b4k-tokenize -k spm --model "$TOP/test/golden/spm/bpe_bf0_dp1.model" --nbest 2
