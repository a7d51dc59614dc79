#!/usr/bin/env bash
# b4k-extract bench: BERT-base shapes (12 layers, hidden 768, 12 heads,
# intermediate 3072), 2 threads, against torch measured in the same run
# (OMP_WAIT_POLICY=PASSIVE, Debian python3-torch):
#   inference, batch 16 x 128       sentences/s   target: b4k >= torch
#   training step, batch 8 x 128    seconds       target: b4k <= torch
# Prints ratios, never asserts timings.
set -u
cd "$(dirname "$0")/../.."
BIN=${B4K_BIN:-bin}
THREADS=${THREADS:-2}
ITERS=${ITERS:-3}
[ -x "$BIN/b4k-extract" ] || { echo "SKIP: bench_extract: no $BIN/b4k-extract"; exit 0; }
num() { grep -o "\"$1\": *[0-9.e+-]*" | head -1 | sed 's/.*: *//'; }
b_inf=$(nice "$BIN/b4k-extract" bench --threads "$THREADS" --batch-size 16 --max-len 128 --iters "$ITERS")
echo "b4k   $b_inf"
b_tr=$(nice "$BIN/b4k-extract" bench --threads "$THREADS" --batch-size 8 --max-len 128 --iters "$ITERS" --train)
echo "b4k   $b_tr"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  t_inf=$(OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 test/ref/bert_bench.py --threads "$THREADS" --batch-size 16 --max-len 128 --iters "$ITERS")
  echo "torch $t_inf"
  t_tr=$(OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 test/ref/bert_bench.py --threads "$THREADS" --batch-size 8 --max-len 128 --iters "$ITERS" --train)
  echo "torch $t_tr"
  awk -v a="$(echo "$b_inf" | num sentences_per_s)" -v b="$(echo "$t_inf" | num sentences_per_s)" \
    'BEGIN { printf "inference 16x128 f32: b4k %.2f sent/s, torch %.2f sent/s, ratio %.2fx (target >= 1)\n", a, b, a / b }'
  awk -v a="$(echo "$b_tr" | num seconds)" -v b="$(echo "$t_tr" | num seconds)" \
    'BEGIN { printf "training step 8x128: b4k %.2f s, torch %.2f s, b4k/torch time %.2f (target <= 1)\n", a, b, a / b }'
else
  echo "SKIP: torch (python3-torch) not installed: no ratios"
fi
echo "bf16: not implemented (--bf16 is refused)"
