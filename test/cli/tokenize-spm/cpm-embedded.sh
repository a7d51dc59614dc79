# a CPM model converted with --spm embeds the SentencePiece model and the
# converted jieba data: --model MODEL.b4k tokenizes (and decodes) as the
# .model with python3-jieba's data does
[ -f /usr/lib/python3/dist-packages/jieba/dict.txt ] || { echo "python3-jieba not installed"; exit 77; }
G=$TOP/test/golden/convert
M=$TOP/test/golden/spm/uni_bf0_dp1.model
b4k-convert --arch cpm --config "$G/cpm_config.json" --spm "$M" -o m.b4k \
  "$G/cpm/mp_rank_00_model_states.pt" "$G/cpm/mp_rank_01_model_states.pt" || exit 1
b4k-convert --info m.b4k | head -1 | grep -o '"tokenizer":{[^}]*}'
printf '%s\n' '李小福是创新办主任也是云计算方面的专家' '我来到北京清华大学 hello  world' \
  '工信处女干事每月经过下属科室都要亲口交代24口交换机' > in.txt
b4k-tokenize -k cpm --model m.b4k in.txt > a.jsonl || exit 1
b4k-tokenize -k cpm --model "$M" --jieba /usr/lib/python3/dist-packages/jieba in.txt > b.jsonl || exit 1
cmp a.jsonl b.jsonl && echo "same ids and offsets"
b4k-tokenize -k cpm --model m.b4k --decode a.jsonl | sed 's/.*"text"://'
# --kind spm takes the embedded SentencePiece model alone
echo '北京大学' | b4k-tokenize -k spm --model m.b4k --no-offsets > c.jsonl || exit 1
echo '北京大学' | b4k-tokenize -k spm --model "$M" --no-offsets | cmp - c.jsonl && echo "spm alone"
