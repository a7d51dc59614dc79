# same input and options give the same bytes (zstd too)
G="$TOP/test/golden/convert"
for i in 1 2; do
  b4k-convert -z 5 -t bf16 --config "$G/bert_config.json" -o b$i.b4k "$G/bert_hf.pt" || exit 1
done
cmp b1.b4k b2.b4k
