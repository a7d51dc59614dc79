b4k-convert "$TOP/test/golden/convert/gpt2_hf.pt"
