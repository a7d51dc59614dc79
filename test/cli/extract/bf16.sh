# --bf16 mixed precision (bf16 GEMMs in the encoder, f32 master weights):
#   - trains to a different model than f32 whose loss curve tracks f32's
#     (per logged step within 2%), goes down, and fits the data as well;
#   - same seed: same bytes; and, unlike f32 (whose sgemm split depends on
#     the thread count), the same weights with --threads 1 and 2 (hidden
#     64, where the GEMMs are split over the threads), also when resuming;
#   - stored in checkpoints and in the model ("precision":"bf16"): a resumed
#     run continues in bf16 bit-identically (spo with EMA, accumulation and
#     warmup; ner), and refuses --bf16 on an f32 checkpoint;
#   - predict/eval run a bf16 model in bf16 unless --f32 (same answers here).
set -e
F=$TOP/test/cli/extract
C="--config $F/config.json --vocab $F/vocab.txt"
S="--task spo --format lic2019"
wsum() { grep -ao '"checksum":"xxh64:[0-9a-f]*' "$1" | cksum; } # the weights only
A="$S --dropout 0 --epochs 60 --batch-size 4 --lr 1e-2 --seed 3 --log-every 1"
b4k-extract train $A $C -o f.b4k --log f.log $F/spo_train.json 2>/dev/null
b4k-extract train $A $C --bf16 -o b.b4k --log b.log $F/spo_train.json 2>/dev/null
cmp -s f.b4k b.b4k || echo "bf16 model differs from f32"
grep '"event":"step"' f.log | grep -o '"loss":[0-9.]*' | sed 's/.*://' > fl
grep '"event":"step"' b.log | grep -o '"loss":[0-9.]*' | sed 's/.*://' > bl
paste fl bl | awk '{ d = ($1 - $2) / $1; if (d < 0) d = -d; if (d > w) w = d; n++ }
  END { print n " steps, bf16 loss within 2% of f32: " (w <= 0.02 ? "yes" : "no, " w) }'
awk 'NR == 1 { a = $1 } { b = $1 } END { print "bf16 loss goes down by 10x: " (b < a / 10 ? "yes" : "no, " a " -> " b) }' bl
grep -c '"precision":"bf16"' b.log
for m in f b; do b4k-extract eval -m $m.b4k --format lic2019 $F/spo_train.json | grep -o '"overall":{[^}]*}'; done
grep -ao '"precision":"[a-z0-9]*"' b.b4k | head -1
grep -ao '"bf16":true' b.b4k | head -1

b4k-extract train $A $C --bf16 -o b2.b4k $F/spo_train.json 2>/dev/null
cmp b.b4k b2.b4k && echo "same seed: identical"
T="$S --config $F/config64.json --vocab $F/vocab.txt --epochs 3 --batch-size 4 --lr 5e-3 --seed 9 --bf16"
b4k-extract train $T --threads 1 -o t1.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $T --threads 2 -o t2.b4k $F/spo_train.json 2>/dev/null
[ "$(wsum t1.b4k)" = "$(wsum t2.b4k)" ] && echo "threads 1 and 2: same weights"

E="$S $C --epochs 3 --batch-size 1 --accum 2 --ema 0.9 --warmup 0.3 --lr-decay --lr 5e-3 --seed 5 --bf16"
b4k-extract train $E -o efull.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $E -o epart.b4k --max-steps 3 --checkpoint eck.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $S --resume eck.b4k -o eres.b4k $F/spo_train.json 2>/dev/null
cmp efull.b4k eres.b4k && echo "spo bf16 resumed identical"
b4k-extract train $S --resume eck.b4k --threads 2 -o eres2.b4k $F/spo_train.json 2>/dev/null
[ "$(wsum efull.b4k)" = "$(wsum eres2.b4k)" ] && echo "spo bf16 resumed with --threads 2: same weights"
N="--task ner --format conll $C --epochs 3 --batch-size 1 --lr 5e-3 --seed 4 --crf-lr-mult 30 --bf16"
b4k-extract train $N -o nfull.b4k $F/ner_train.txt 2>/dev/null
b4k-extract train $N -o npart.b4k --max-steps 4 --checkpoint nck.b4k $F/ner_train.txt 2>/dev/null
b4k-extract train --task ner --format conll --resume nck.b4k --bf16 -o nres.b4k $F/ner_train.txt 2>/dev/null
cmp nfull.b4k nres.b4k && echo "ner bf16 resumed identical"
b4k-extract train $S $C --epochs 2 --batch-size 2 -o p.b4k --max-steps 1 --checkpoint fck.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $S --resume fck.b4k --bf16 -o r.b4k $F/spo_train.json 2>&1 && exit 1 || echo "exit $?"

printf '{"id":7,"text":"功夫的导演是周星驰，主演是元秋"}\n' > q.jsonl
b4k-extract predict -m b.b4k q.jsonl > pb.jsonl
b4k-extract predict -m b.b4k --bf16 q.jsonl | cmp - pb.jsonl && echo "predict: bf16 by default"
b4k-extract predict -m b.b4k --f32 q.jsonl | cmp - pb.jsonl && echo "predict --f32: same answer"
cat pb.jsonl
b4k-extract eval -m b.b4k --f32 --format lic2019 $F/spo_train.json | grep -o '"overall":{[^}]*}'
b4k-extract eval -m b.b4k --f32 --bf16 --format lic2019 $F/spo_train.json 2>&1 || echo "exit $?"
