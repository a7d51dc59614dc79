echo x | b4k-tokenize -k spm
