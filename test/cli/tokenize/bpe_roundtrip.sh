# GPT-2 style byte-level BPE: decode gives back every line exactly
printf 'The licensee may copy it.\n  two  spaces\tand tab\n中文 ünïcödé 😀\n' > in.txt
B="-k bpe -v $TOP/data/bpe-mini/encoder.json -m $TOP/data/bpe-mini/vocab.bpe"
b4k-tokenize $B in.txt | b4k-tokenize $B --decode | sed 's/.*"text":\(".*"\)}$/\1/' > got.txt
printf '"The licensee may copy it."\n"  two  spaces\\tand tab"\n"中文 ünïcödé 😀"\n' | cmp - got.txt
