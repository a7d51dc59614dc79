b4k-convert -o - "$TOP/test/golden/convert/gpt2_hf.pt"
