# Same seed and threads give the same model bytes; a run stopped by
# --max-steps and resumed from its checkpoint ends bit-identical too
# (dropout on).
set -e
F=$TOP/test/cli/extract
A="--task spo --format lic2019 --epochs 4 --batch-size 2 --lr 5e-3 --seed 9 --bucket"
b4k-extract train $A --config $F/config.json --vocab $F/vocab.txt -o full.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $A --config $F/config.json --vocab $F/vocab.txt -o again.b4k $F/spo_train.json 2>/dev/null
cmp full.b4k again.b4k && echo same-seed identical
b4k-extract train $A --config $F/config.json --vocab $F/vocab.txt -o part.b4k --max-steps 3 \
  --checkpoint ck.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $A --resume ck.b4k -o resumed.b4k $F/spo_train.json 2>/dev/null
cmp full.b4k resumed.b4k && echo resumed identical
