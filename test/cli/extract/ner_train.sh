# BERT + CRF on CoNLL BMES, then entities with code point offsets.
set -e
F=$TOP/test/cli/extract
b4k-extract train --task ner --format conll --config $F/config.json --vocab $F/vocab.txt \
  --dropout 0 -o n.b4k --epochs 80 --batch-size 3 --lr 1e-2 --crf-lr-mult 10 --seed 2 $F/ner_train.txt 2>/dev/null
b4k-extract eval -m n.b4k --format conll $F/ner_train.txt | grep -o '"overall":{[^}]*}'
echo '{"text":"李明，香港人"}' | b4k-extract predict -m n.b4k
