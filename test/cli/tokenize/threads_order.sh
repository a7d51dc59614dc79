# output order and content do not depend on --threads or the batch size
for i in $(seq 1 500); do echo "第${i}行 line $i 测试"; done > in.txt
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" in.txt > one.jsonl
b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -t 3 --batch 7 in.txt > three.jsonl
cmp one.jsonl three.jsonl && [ "$(wc -l < three.jsonl)" = 500 ]
