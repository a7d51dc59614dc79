# Train a tiny CasRel-style model until it fits four sentences, then eval
# (exact match) and predict (input record + spo_list with offsets).
set -e
F=$TOP/test/cli/extract
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt \
  --dropout 0 -o m.b4k --epochs 60 --batch-size 4 --lr 1e-2 --seed 3 $F/spo_train.json 2>/dev/null
b4k-extract eval -m m.b4k --format lic2019 $F/spo_train.json | grep -o '"overall":{[^}]*}'
echo '{"id":7,"text":"功夫的导演是周星驰，主演是元秋"}' | b4k-extract predict -m m.b4k
