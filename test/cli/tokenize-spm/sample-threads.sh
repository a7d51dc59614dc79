# --sample is reproducible: same --seed gives the same output with 1 and 2
# threads; another seed gives a different one; every sample decodes back to
# the text of the plain encoding.
M=$TOP/test/golden/spm/uni_bf0_dp1.model
for i in $(seq 300); do echo "第${i}回 甄士隐梦幻识通灵 贾雨村风尘怀闺秀 ${i}"; done > in.txt
b4k-tokenize -k spm --model "$M" --sample --alpha 0.2 --seed 5 --no-offsets -t 1 --batch 7 in.txt > a.jsonl || exit 1
b4k-tokenize -k spm --model "$M" --sample --alpha 0.2 --seed 5 --no-offsets -t 2 --batch 7 in.txt > b.jsonl || exit 1
b4k-tokenize -k spm --model "$M" --sample --alpha 0.2 --seed 6 --no-offsets -t 2 in.txt > c.jsonl || exit 1
cmp a.jsonl b.jsonl || { echo "threads changed the samples"; exit 1; }
cmp -s a.jsonl c.jsonl && { echo "the seed changed nothing"; exit 1; }
b4k-tokenize -k spm --model "$M" --no-offsets in.txt > plain.jsonl
cmp -s a.jsonl plain.jsonl && { echo "sampling sampled nothing"; exit 1; }
b4k-tokenize -k spm --model "$M" --decode a.jsonl | sed 's/.*"text"://' > d1
b4k-tokenize -k spm --model "$M" --decode plain.jsonl | sed 's/.*"text"://' > d2
cmp d1 d2 || { echo "a sample does not decode to the text"; exit 1; }
echo ok
