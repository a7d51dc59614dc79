# A resumed run refuses a training option that differs from the
# checkpoint's (it would not continue the interrupted run), and a
# checkpoint of other training data.
F=$TOP/test/cli/extract
A="--task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt --epochs 2 --batch-size 2 --lr 5e-3 --lr-decay"
b4k-extract train $A -o p.b4k --max-steps 1 --checkpoint ck.b4k $F/spo_train.json 2>/dev/null || exit 3
head -3 $F/spo_train.json > less.json
b4k-extract train --task spo --format lic2019 --resume ck.b4k -o r.b4k less.json 2>&1 | grep -c 'differ from the checkpoint'
b4k-extract train --task spo --format lic2019 --epochs 3 --resume ck.b4k -o r.b4k $F/spo_train.json 2>&1 | grep -c -- '--epochs 3 differs from the checkpoint.s 2'
b4k-extract train --task spo --format lic2019 --lr 1e-3 --resume ck.b4k -o r.b4k $F/spo_train.json
