#!/usr/bin/env bash
# bf16 GEMM (lib/tensor/gemm_bf16) against OpenBLAS sgemm in the same run:
# GFLOP/s for the BERT-base / GPT-2 shapes (M x N x K: tokens x outputs x
# inputs) in the forward, input-gradient and weight-gradient layouts, 1 and
# 2 threads.  Extra shapes: B4K_BENCH_GEMM="128x768x768 512x512x512".
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d "${TMPDIR:-/tmp}/b4k-bench-gemm.XXXXXX")
trap 'rm -rf "$T"' EXIT
cc -O2 -Ilib -D_GNU_SOURCE test/bench/bench_gemm.c lib/libb4k.a -lopenblas -lzstd -ljansson \
  -lpthread -lm -o "$T/bench_gemm" || { echo "SKIP: cannot build bench_gemm"; exit 0; }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared: compare the ratios)"
"$T/bench_gemm" ${B4K_BENCH_GEMM:-}
