# Same seed and threads give the same model bytes; a run stopped by
# --max-steps and resumed from its checkpoint ends bit-identical too
# (dropout on), for spo and for ner (whose CRF lr multiplier and layer-wise
# lr the resumed run must take from the checkpoint), and with EMA, gradient
# accumulation, warmup + decay and 2 threads.  The resumed runs give only
# --resume and the data: every training setting comes from the checkpoint.
set -e
F=$TOP/test/cli/extract
C="--config $F/config.json --vocab $F/vocab.txt"
A="--task spo --format lic2019 --epochs 4 --batch-size 2 --lr 5e-3 --seed 9 --bucket"
b4k-extract train $A $C -o full.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $A $C -o again.b4k $F/spo_train.json 2>/dev/null
cmp full.b4k again.b4k && echo same-seed identical
b4k-extract train $A $C -o part.b4k --max-steps 3 --checkpoint ck.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $A --resume ck.b4k -o resumed.b4k $F/spo_train.json 2>/dev/null
cmp full.b4k resumed.b4k && echo resumed identical

# ner: CRF lr multiplier and layer decay live only in the checkpoint
N="--task ner --format conll --epochs 3 --batch-size 1 --lr 5e-3 --seed 4 --crf-lr-mult 30 --layer-decay 0.8"
b4k-extract train $N $C -o nfull.b4k $F/ner_train.txt 2>/dev/null
b4k-extract train $N $C -o npart.b4k --max-steps 4 --checkpoint nck.b4k $F/ner_train.txt 2>/dev/null
b4k-extract train --task ner --format conll --resume nck.b4k -o nres.b4k $F/ner_train.txt 2>/dev/null
cmp nfull.b4k nres.b4k && echo ner resumed identical

# spo with EMA, accumulation (stop in the middle of a step's batches is not
# possible: steps are whole), warmup + decay, 2 threads
E="--task spo --format lic2019 --epochs 3 --batch-size 1 --accum 2 --ema 0.9 --warmup 0.3 --lr-decay --lr 5e-3 --seed 5 --threads 2"
b4k-extract train $E $C -o efull.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $E $C -o epart.b4k --max-steps 3 --checkpoint eck.b4k $F/spo_train.json 2>/dev/null
b4k-extract train --task spo --format lic2019 --resume eck.b4k -o eres.b4k $F/spo_train.json 2>/dev/null
cmp efull.b4k eres.b4k && echo ema accum warmup threads resumed identical
# a resume may repeat the same options
b4k-extract train $E --resume eck.b4k -o eres2.b4k $F/spo_train.json 2>/dev/null
cmp efull.b4k eres2.b4k && echo same options accepted

# --max-steps on the last step of an epoch: that epoch is still evaluated
H="--task ner --format conll --epochs 3 --batch-size 1 --lr 5e-3 --seed 4 --holdout 0.34"
b4k-extract train $H $C -o h.b4k --max-steps 2 --checkpoint hck.b4k --log h.log $F/ner_train.txt 2>/dev/null
b4k-extract train --task ner --format conll --resume hck.b4k -o h.b4k --log h.log $F/ner_train.txt 2>/dev/null
grep -o '"event":"epoch","epoch":[0-9]*' h.log | tr '\n' ' '; echo
grep -c '"event":"epoch".*"f1":0' h.log
