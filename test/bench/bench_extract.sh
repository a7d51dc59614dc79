#!/usr/bin/env bash
# b4k-extract bench: BERT-base shapes (12 layers, hidden 768, 12 heads,
# intermediate 3072), 2 threads, against torch f32 measured in the same run
# (OMP_WAIT_POLICY=PASSIVE, Debian python3-torch):
#   inference, batch 16 x 128       sentences/s   targets: b4k f32 >= torch,
#                                                 b4k bf16 >= 1.6 x torch
#   training step, batch 8 x 128    seconds       target: b4k <= torch
# b4k runs in f32 and with --bf16 (bf16 GEMMs on AVX512-BF16, f32 master
# weights; "bf16-emulated" on CPUs without it).  Prints ratios, never
# asserts timings.  The load average is printed: the machines are shared.
set -u
cd "$(dirname "$0")/../.."
BIN=${B4K_BIN:-bin}
THREADS=${THREADS:-2}
ITERS=${ITERS:-3}
[ -x "$BIN/b4k-extract" ] || { echo "SKIP: bench_extract: no $BIN/b4k-extract"; exit 0; }
num() { grep -o "\"$1\": *[0-9.e+-]*" | head -1 | sed 's/.*: *//'; }
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
I="--threads $THREADS --batch-size 16 --max-len 128 --iters $ITERS"
R="--threads $THREADS --batch-size 8 --max-len 128 --iters $ITERS --train"
b_inf=$(nice "$BIN/b4k-extract" bench $I); echo "b4k   $b_inf"
b_infh=$(nice "$BIN/b4k-extract" bench $I --bf16); echo "b4k   $b_infh"
b_tr=$(nice "$BIN/b4k-extract" bench $R); echo "b4k   $b_tr"
b_trh=$(nice "$BIN/b4k-extract" bench $R --bf16); echo "b4k   $b_trh"
awk -v a="$(echo "$b_infh" | num sentences_per_s)" -v b="$(echo "$b_inf" | num sentences_per_s)" \
  -v c="$(echo "$b_trh" | num seconds)" -v d="$(echo "$b_tr" | num seconds)" \
  'BEGIN { printf "bf16 vs f32 (b4k): inference %.2fx sentences/s, training step %.2fx faster\n", a / b, d / c }'
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  t_inf=$(OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 test/ref/bert_bench.py --threads "$THREADS" --batch-size 16 --max-len 128 --iters "$ITERS")
  echo "torch $t_inf"
  t_tr=$(OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 test/ref/bert_bench.py --threads "$THREADS" --batch-size 8 --max-len 128 --iters "$ITERS" --train)
  echo "torch $t_tr"
  ts=$(echo "$t_inf" | num sentences_per_s) tt=$(echo "$t_tr" | num seconds)
  awk -v a="$(echo "$b_inf" | num sentences_per_s)" -v b="$ts" \
    'BEGIN { printf "inference 16x128 f32:  b4k %.2f sent/s, torch f32 %.2f sent/s, ratio %.2fx (target >= 1)\n", a, b, a / b }'
  awk -v a="$(echo "$b_infh" | num sentences_per_s)" -v b="$ts" \
    'BEGIN { printf "inference 16x128 bf16: b4k %.2f sent/s, torch f32 %.2f sent/s, ratio %.2fx (target >= 1.6)\n", a, b, a / b }'
  awk -v a="$(echo "$b_tr" | num seconds)" -v b="$tt" \
    'BEGIN { printf "training step 8x128 f32:  b4k %.2f s, torch f32 %.2f s, b4k/torch time %.2f (target <= 1)\n", a, b, a / b }'
  awk -v a="$(echo "$b_trh" | num seconds)" -v b="$tt" \
    'BEGIN { printf "training step 8x128 bf16: b4k %.2f s, torch f32 %.2f s, b4k/torch time %.2f\n", a, b, a / b }'
else
  echo "SKIP: torch (python3-torch) not installed: no ratios"
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after"
