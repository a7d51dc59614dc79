# --init from converted Hugging Face RoBERTa (pytorch_model.bin; positions
# from 2) and ALBERT (safetensors; factorised embeddings, one shared layer)
# checkpoints (test/golden/bert/init, made by test/ref/bert_init_ref.py):
# --epochs 0 writes the converted encoder unchanged, training runs, the
# model's config keeps the architecture; --layer-decay is refused for
# ALBERT's shared layer.
set -e
G=$TOP/test/golden/bert/init
printf '{"text":"w5 w6 w7 w8","spo_list":[{"subject":"w5","predicate":"p","object":"w7 w8"}]}\n' > t.json
sums() { b4k-convert --info "$1" | grep -o '"name":"[^"]*".*"checksum":"[^"]*"' | sed 's/"name":"\(bert\.\)\{0,1\}\([^"]*\)".*"checksum":"\([^"]*\)"/\2 \3/' | sort | grep -E '^(embeddings|encoder)\.'; }
for k in roberta:pytorch_model.bin albert:model.safetensors; do
  n=${k%%:*} f=${k#*:}
  b4k-convert -o $n.b4k $G/$n/$f 2>/dev/null
  b4k-extract train --task spo --format lic2019 --init $n.b4k -o ${n}0.b4k --epochs 0 --max-len 7 t.json 2>/dev/null
  sums $n.b4k > a.txt; sums ${n}0.b4k > b.txt
  echo "$n: $(wc -l < a.txt) encoder tensors, $(diff a.txt b.txt | grep -c '^[<>]') differ"
  b4k-convert --info ${n}0.b4k | head -1 | grep -o '"position_offset":[0-9]*\|"model_type":"[a-z]*"\|"embedding_size":[0-9]*' | tr '\n' ' '; echo
  b4k-extract train --task spo --format lic2019 --init $n.b4k -o $n.spo.b4k --epochs 2 --lr 1e-3 --max-len 7 t.json 2>/dev/null
  echo '{"text":"w5 w6"}' | b4k-extract predict -m $n.spo.b4k | grep -c '"spo_list":\['
done
b4k-extract train --task spo --format lic2019 --init albert.b4k -o x.b4k --layer-decay 0.9 --max-len 7 t.json 2> err.txt || echo "exit $?"
cat err.txt
