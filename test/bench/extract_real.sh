#!/usr/bin/env bash
# b4k-extract on the real data sets of ../shared/data, trained from random
# initialisation with a small BERT (default 2 layers, hidden 128, 2 heads,
# intermediate 512), holding out 10% of each training file (chosen by the
# seed) and reporting held-out exact-match F1 after every epoch, the model
# size, the optimiser steps and the wall time:
#
#   webnlg   spo  spo/webnlg-exact/train_triples.json (casrel; English,
#                 bert-base-uncased-vocab.txt)
#   cmeie    spo  spo/cmeie/CMeIE_dev.part1.json (cmeie)
#   lic2019  spo  spo/lic2019/train_demo.json (151 sentences: format test only)
#   cluener  ner  ner/cluener/train.json (cluener)
#   resume   ner  ner/resume/train.char.bmes (conll, BMES)
#   weibo    ner  ner/weibo/weiboNER_2nd_conll.train (conll, BIO)
#   (Chinese sets: bert-base-chinese-vocab.txt)
#
#   webnlg-torch  the WebNLG run, then the same model in torch
#                 (test/ref/bert_extract_ref.py: Debian python3-torch,
#                 OMP_WAIT_POLICY=PASSIVE) trained on exactly the same
#                 tokenised train/held-out split (--dump-features), config
#                 and seed; both F1 curves are printed side by side.
#
# Usage: bash test/bench/extract_real.sh [TASK...]     (default: all of them)
# Environment: LAYERS HIDDEN HEADS INTER (2 128 2 4*HIDDEN), EPOCHS (per
# task defaults below), LR (5e-4), BATCH (16), THREADS (2), SEED (1),
# HOLDOUT (0.1), BF16=1 trains with --bf16 (mixed precision; the same
# seed and split as f32, for the F1 and time comparison), KEEP=1 keeps the
# work folder.  CPU-heavy (minutes to an
# hour per task on 2 cores): not part of make check or make bench.
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
BIN=${B4K_BIN:-$TOP/bin}
DATA=${DATA:-$TOP/../shared/data}
[ -x "$BIN/b4k-extract" ] || { echo "extract_real: no $BIN/b4k-extract (make first)" >&2; exit 2; }
[ -d "$DATA/spo" ] || { echo "extract_real: no data at $DATA" >&2; exit 2; }
LAYERS=${LAYERS:-2} HIDDEN=${HIDDEN:-128} HEADS=${HEADS:-2}
INTER=${INTER:-$((4 * HIDDEN))}
LR=${LR:-5e-4} BATCH=${BATCH:-16} THREADS=${THREADS:-2} SEED=${SEED:-1} HOLDOUT=${HOLDOUT:-0.1}
PREC=f32 PRECOPT=
if [ "${BF16:-0}" = 1 ]; then PREC=bf16 PRECOPT=--bf16; fi
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-extract-real.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "work folder: $W"; else trap 'rm -rf "$W"' EXIT; fi
ZH=$DATA/vocab/bert-base-chinese-vocab.txt EN=$DATA/vocab/bert-base-uncased-vocab.txt

config() { # vocab -> config file
  local f=$W/config-$(basename "$1" .txt).json
  printf '{"vocab_size": %d, "hidden_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d, "intermediate_size": %d, "max_position_embeddings": 512, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}\n' \
    "$(wc -l < "$1")" "$HIDDEN" "$LAYERS" "$HEADS" "$INTER" > "$f"
  echo "$f"
}
num() { grep -o "\"$1\":[-0-9.e+]*" | head -1 | sed 's/.*://'; }

# run NAME TASK FORMAT VOCAB MAXLEN EPOCHS EXTRA FILE
run() {
  local name=$1 task=$2 fmt=$3 voc=$4 maxlen=$5 epochs=${EPOCHS:-$6} extra=$7 file=$8
  if [ ! -f "$file" ]; then echo "$name: SKIP (no $file)"; return; fi
  local cfg log=$W/$name.log out=$W/$name.b4k
  cfg=$(config "$voc")
  echo "== $name ($task, $fmt): $LAYERS layers, hidden $HIDDEN, $HEADS heads, max-len $maxlen, $epochs epochs, lr $LR, batch $BATCH, $THREADS threads, $PREC"
  local t0=$(date +%s.%N)
  if ! "$BIN/b4k-extract" train --task "$task" --format "$fmt" --config "$cfg" --vocab "$voc" \
      --epochs "$epochs" --batch-size "$BATCH" --lr "$LR" --max-len "$maxlen" --seed "$SEED" \
      --threads "$THREADS" --holdout "$HOLDOUT" --log "$log" --log-every 1000000 $PRECOPT $extra \
      -o "$out" "$file" 2> "$W/$name.err"; then
    echo "$name: FAILED"; tail -5 "$W/$name.err"; return
  fi
  local t1=$(date +%s.%N)
  grep -v '^b4k-extract train: epoch' "$W/$name.err" | grep 'warning' | sed 's/^/  /'
  grep '"event":"epoch"' "$log" | awk -F'[:,}]' '{for(i=1;i<NF;i++){if($i=="\"epoch\"")e=$(i+1); if($i=="\"f1\"")f=$(i+1); if($i=="\"loss\"")l=$(i+1); if($i=="\"seconds\"")s=$(i+1)} printf "  epoch %2d  loss %.4f  held-out F1 %.4f  (%ds)\n", e, l, f, s}'
  local start done best
  start=$(grep '"event":"start"' "$log"); done=$(grep '"event":"done"' "$log")
  best=$(grep '"event":"epoch"' "$log" | grep -o '"f1":[0-9.]*' | sed 's/.*://' | sort -g | tail -1)
  printf '%s (%s): %s train / %s held out, %s parameters, model %.1f MB, %s steps, %.0f s wall: held-out F1 %.4f (last epoch), %.4f (best)\n' \
    "$name" "$PREC" "$(echo "$start" | num train)" "$(echo "$start" | num heldout)" "$(echo "$start" | num params)" \
    "$(echo "scale=3; $(stat -c %s "$out") / 1048576" | bc)" "$(echo "$done" | num steps)" \
    "$(echo "$t1 - $t0" | bc)" "$(grep '"event":"epoch"' "$log" | tail -1 | num f1)" "$best" | tee -a "$W/summary"
}

webnlg_torch() {
  local epochs=${EPOCHS:-10}
  run webnlg spo casrel "$EN" 128 "$epochs" "--dump-features $W/webnlg.feats" "$DATA/spo/webnlg-exact/train_triples.json"
  [ -f "$W/webnlg.feats" ] || return
  if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then echo "webnlg-torch: SKIP (no python3-torch)"; return; fi
  echo "== webnlg torch reference: same features, config, seed, lr, batch, $THREADS threads"
  local t0=$(date +%s.%N)
  OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 test/ref/bert_extract_ref.py --features "$W/webnlg.feats" \
    --config "$(config "$EN")" --epochs "$epochs" --batch-size "$BATCH" --lr "$LR" --seed "$SEED" \
    --threads "$THREADS" > "$W/torch.jsonl" || { echo "webnlg-torch: FAILED"; return; }
  local t1=$(date +%s.%N)
  echo "  epoch   b4k F1   torch F1   (b4k s, torch s)"
  paste -d' ' <(grep '"event":"epoch"' "$W/webnlg.log" | grep -o '"f1":[0-9.]*\|"seconds":[0-9.]*' | sed 's/.*://' | paste -d' ' - -) \
              <(grep -o '"f1": [0-9.]*\|"seconds": [0-9.]*' "$W/torch.jsonl" | sed 's/.*: //' | paste -d' ' - -) |
    awk '{printf "  %5d   %.4f   %.4f     (%d, %d)\n", NR, $1, $4, $2, $3}'
  printf 'webnlg torch: %.0f s wall, held-out F1 %.4f (last epoch), %.4f (best)\n' "$(echo "$t1 - $t0" | bc)" \
    "$(tail -1 "$W/torch.jsonl" | grep -o '"f1": [0-9.]*' | sed 's/.*: //')" \
    "$(grep -o '"f1": [0-9.]*' "$W/torch.jsonl" | sed 's/.*: //' | sort -g | tail -1)" | tee -a "$W/summary"
}

tasks=${*:-webnlg-torch cmeie lic2019 cluener resume weibo}
for t in $tasks; do
  case $t in
    webnlg) run webnlg spo casrel "$EN" 128 10 "" "$DATA/spo/webnlg-exact/train_triples.json" ;;
    webnlg-torch) webnlg_torch ;;
    cmeie) run cmeie spo cmeie "$ZH" 256 10 "--bucket" "$DATA/spo/cmeie/CMeIE_dev.part1.json" ;;
    lic2019) run lic2019 spo lic2019 "$ZH" 160 10 "--bucket" "$DATA/spo/lic2019/train_demo.json" ;;
    cluener) run cluener ner cluener "$ZH" 64 5 "--bucket --crf-lr-mult 100" "$DATA/ner/cluener/train.json" ;;
    resume) run resume ner conll "$ZH" 192 8 "--bucket --crf-lr-mult 100" "$DATA/ner/resume/train.char.bmes" ;;
    weibo) run weibo ner conll "$ZH" 160 15 "--bucket --crf-lr-mult 100" "$DATA/ner/weibo/weiboNER_2nd_conll.train" ;;
    *) echo "extract_real: unknown task $t" >&2; exit 2 ;;
  esac
done
echo; echo "== summary"; cat "$W/summary" 2>/dev/null
