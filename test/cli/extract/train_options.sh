# Training options do what they say, seen through --log (JSON lines with
# log-every 1) and the models:
#   --warmup + --lr-decay: the per-step learning rates of the schedule
#   --holdout: held-out count; --dev: per-epoch F1 on stderr and in the log
#   --accum 2 x batch 1 = batch 2 (no dropout): same steps, same predictions
#   --clip, --layer-decay, --ema: change the model (and resume keeps them:
#     see resume.sh); EMA at evaluation: the last epoch's logged F1 is the
#     F1 of the written (EMA) model
#   --checkpoint-every: "checkpoint" events mid-epoch
#   a failed run logs an "error" event
#   --threads 2 (GEMMs split over 2 threads at hidden 64): same seed and
#     threads give the same bytes
set -e
F=$TOP/test/cli/extract
C="--config $F/config.json --vocab $F/vocab.txt"
S="--task spo --format lic2019"
j() { grep -o "\"$1\":[^,}]*" | sed 's/.*://' | tr '\n' ' '; echo; }

b4k-extract train $S $C --epochs 2 --batch-size 1 --lr 0.01 --warmup 0.5 --lr-decay --log s.log --log-every 1 -o s.b4k $F/spo_train.json 2>/dev/null
echo "schedule lr: $(grep '"event":"step"' s.log | j lr)"
grep -o '"event":"[a-z]*"' s.log | uniq -c | sed 's/^ *//' | tr '\n' ' '; echo

b4k-extract train $S $C --epochs 1 --holdout 0.25 --log h.log -o h.b4k $F/spo_train.json 2>/dev/null
echo "holdout: $(grep '"event":"start"' h.log | j train) / $(grep '"event":"start"' h.log | j heldout)"

N="--task ner --format conll --epochs 6 --lr 1e-2 --dropout 0 --seed 3"
b4k-extract train $N $C --batch-size 2 -o n2.b4k --log n2.log --log-every 1 $F/ner_train.txt 2>/dev/null
b4k-extract train $N $C --batch-size 1 --accum 2 -o n11.b4k --log n11.log --log-every 1 $F/ner_train.txt 2>/dev/null
echo "accum steps: $(grep -c '"event":"step"' n2.log) vs $(grep -c '"event":"step"' n11.log), steps_per_epoch $(grep start n11.log | j steps_per_epoch)"
printf '{"text":"李明，香港人"}\n{"text":"王刚是中国人"}\n' > q.jsonl
b4k-extract predict -m n2.b4k q.jsonl > p2.jsonl
b4k-extract predict -m n11.b4k q.jsonl > p11.jsonl
cmp p2.jsonl p11.jsonl && echo "accum 2 x batch 1 predicts as batch 2"

for o in "--clip 1e-9" "--layer-decay 0.5" "--ema 0.9"; do
  b4k-extract train $S $C --epochs 2 --batch-size 2 --lr 1e-2 $o -o x.b4k $F/spo_train.json 2>/dev/null
  b4k-extract train $S $C --epochs 2 --batch-size 2 --lr 1e-2 -o y.b4k $F/spo_train.json 2>/dev/null
  cmp -s x.b4k y.b4k && echo "$o: no effect" || echo "$o: changes the model"
done

# EMA at evaluation: training is the same with and without --ema (the
# EMA weights only shadow it), but held-out F1 is measured on the EMA
# weights: a slow EMA (0.999, still near the initial weights) scores 0
# where the raw weights score 1; the written model is the EMA one
head -2 $F/spo_train.json > dev.json
D="$S $C --epochs 8 --batch-size 2 --lr 2e-2 --dropout 0 --dev dev.json"
b4k-extract train $D --log d0.log -o d0.b4k $F/spo_train.json 2> d.err
b4k-extract train $D --ema 0.999 --log d1.log -o d1.b4k $F/spo_train.json 2>/dev/null
echo "dev epochs on stderr: $(grep -c 'held-out P' d.err)"
echo "epoch 8 F1: raw weights $(grep '"epoch":8' d0.log | j f1) EMA weights $(grep '"epoch":8' d1.log | j f1)"
for m in d0 d1; do
  logged=$(grep '"event":"epoch","epoch":8' $m.log | grep -o '"precision":[^,]*,"recall":[^,]*,"f1":[^,]*')
  evald=$(b4k-extract eval -m $m.b4k --format lic2019 dev.json | grep -o '"overall":{"precision":[^,]*,"recall":[^,]*,"f1":[^,]*' | sed 's/"overall":{//')
  [ "$logged" = "$evald" ] && echo "$m: written model scores as logged" || echo "$m: logged $logged, eval $evald"
done

b4k-extract train $S $C --epochs 2 --batch-size 1 --checkpoint ck.b4k --checkpoint-every 3 --log c.log -o c.b4k $F/spo_train.json 2>/dev/null
echo "checkpoints at steps: $(grep '"event":"checkpoint"' c.log | j step)"

printf '{"text":"x","spo_list":[{"subject":"x"}]}\n' > bad.json
b4k-extract train $S $C --log e.log -o e.b4k bad.json 2>/dev/null || echo "failed run: exit $?, $(grep -c '"event":"error","message":"bad.json:1: ' e.log) error event"

T="$S --config $F/config64.json --vocab $F/vocab.txt --epochs 2 --batch-size 4 --lr 1e-3 --threads 2"
b4k-extract train $T -o t1.b4k $F/spo_train.json 2>/dev/null
b4k-extract train $T -o t2.b4k $F/spo_train.json 2>/dev/null
cmp t1.b4k t2.b4k && echo "threads 2: same seed, same bytes"
