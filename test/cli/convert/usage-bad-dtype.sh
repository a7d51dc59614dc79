b4k-convert --dtype f8 -o x.b4k "$TOP/test/golden/convert/gpt2_hf.pt"
