#!/usr/bin/env bash
# b4k-generate speed: GPT-2 124M shapes with random weights, batch 1,
# 2 threads: prefill of 128 tokens and greedy decode of 64, for f32, bf16 and
# q8 weights, next to torch (f32, OMP_WAIT_POLICY=PASSIVE, 2 threads) run
# in the same job.  Each b4k run serves two prompts of 128 tokens: the
# figures are the second's ("warm", as torch's, which runs a warm-up forward
# first); the first prompt's ("cold": first pass over the mapped weights,
# the KV cache and BLAS buffers; on this VM each first touch of a page costs
# ~1.5 us, ~0.2 s for the f32 model) are printed beside them.  Then CPM-LM at full size (2.6B: 32 layers, hidden 2560,
# vocab 30000) in bf16 and q8: decode speed against the memory-bandwidth
# limit, and peak RSS (the model is mmap'd, not copied).  Models are built in
# $B4K_BENCH_TMP (default /tmp) and removed afterwards.
#   B4K_BENCH_CPM=0 skips the 2.6B part (it needs ~9 GB of disk and ~2 min).
#   B4K_BENCH_THREADS (default 2), B4K_BENCH_DECODE (default 64).
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
TH=${B4K_BENCH_THREADS:-2}
ND=${B4K_BENCH_DECODE:-64}
NP=128
T=$(mktemp -d "${B4K_BENCH_TMP:-/tmp}/b4k-bench-gen.XXXXXX")
trap 'rm -rf "$T"' EXIT
cc -O2 -Ilib -D_GNU_SOURCE test/bench/mkmodel.c lib/libb4k.a -lopenblas -lzstd -ljansson \
  -lpthread -lm -o "$T/mkmodel" || { echo "SKIP: cannot build mkmodel"; exit 0; }
cc -O2 -mavx2 -D_GNU_SOURCE test/bench/membw.c -lpthread -o "$T/membw" || { echo "SKIP: cannot build membw"; exit 0; }
# the limit: read bandwidth from 2 MiB pages (4 KiB pages shown beside it)
BW=$("$T/membw" $TH huge)
echo "memory read bandwidth measured now with $TH threads: $BW GB/s from 2 MiB pages, $("$T/membw" $TH) from 4 KiB pages (nominal ~30 on an idle machine)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared: figures are noisy; ratios from one run)"
echo "kernels: $(grep -o -m1 -w -E 'avx512_bf16|avx512_vnni|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')(none listed = AVX2 kernels)"

ids=$(seq 1 $NP | awk '{printf "%s%d", (NR>1?",":""), ($1*7919)%50257}')
wids=$(seq 1 $NP | awk '{printf "%s%d", (NR>1?",":""), ($1*104729+13)%50257}')
{ echo "{\"id\":\"warm-up\",\"prompt_ids\":[$wids]}"; echo "{\"id\":\"bench\",\"prompt_ids\":[$ids]}"; } > "$T/p.jsonl"

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

printf '%-18s %10s %10s %14s %10s %16s %8s %12s\n' "GPT-2 124M, $TH thr" "prefill/s" "decode/s" "target p / d" "met" "cold p / d" "weights" "decode GB/s"
declare -A DEC PRE
for dt in f32 bf16 q8; do
  "$T/mkmodel" "$T/g-$dt.b4k" gpt2 12 768 12 50257 1024 $dt 1 || { echo "mkmodel failed"; exit 0; }
  # written back (see the CPM part), the page cache warmed, one measured run
  sync "$T/g-$dt.b4k"
  cat "$T/g-$dt.b4k" > /dev/null
  out=$(bin/b4k-generate -m "$T/g-$dt.b4k" --no-verify -t $TH --temperature 0 --ignore-eos -n $ND "$T/p.jsonl")
  PRE[$dt]=$(echo "$out" | sed -n 2p | field prefill_tokens_per_s)
  DEC[$dt]=$(echo "$out" | sed -n 2p | field tokens_per_s)
  cold="$(echo "$out" | sed -n 1p | field prefill_tokens_per_s) / $(echo "$out" | sed -n 1p | field tokens_per_s)"
  # targets (issue 8): prefill f32 >= 700, bf16 more than f32; decode
  # f32 >= 55, bf16 >= 110, q8 >= 200 tokens/s
  case $dt in f32) tp=700; td=55;; bf16) tp=${PRE[f32]}; td=110;; q8) tp=0; td=200;; esac
  met=$(awk -v p="${PRE[$dt]}" -v d="${DEC[$dt]}" -v tp="$tp" -v td="$td" \
    'BEGIN { printf "%s / %s", (p + 0 >= tp ? "yes" : "NO"), (d + 0 >= td ? "yes" : "NO") }')
  tgt=$(awk -v tp="$tp" -v td="$td" -v dt=$dt 'BEGIN { printf "%s / %s", dt == "q8" ? "-" : dt == "bf16" ? ">f32" : tp, td }')
  sz=$(stat -c %s "$T/g-$dt.b4k")
  printf '%-18s %10s %10s %14s %10s %16s %6sMB %12s\n' "b4k $dt" "${PRE[$dt]}" "${DEC[$dt]}" "$tgt" "$met" "$cold" $((sz / 1000000)) \
    "$(awk -v d="${DEC[$dt]}" -v b=$sz -v bw="$BW" 'BEGIN { printf "%.1f (%.0f%%)", d * b / 1e9, 100 * d * b / 1e9 / bw }')"
  [ $dt = q8 ] || rm -f "$T/g-$dt.b4k"
done
grep -q -w avx512_bf16 /proc/cpuinfo ||
  echo "  (no AVX512-BF16 here: bf16 prefill expands the weights to f32 for sgemm, so it can match f32 prefill but not pass it)"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  tt=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 test/ref/gpt2_bench.py 12 768 12 50257 1024 $NP $ND $TH)
  tp=$(echo "$tt" | awk '{print $3}'); td=$(echo "$tt" | awk '{print $5}')
  printf '%-18s %10s %10s\n' "torch f32 (same run)" "$tp" "$td"
  awk -v a="${PRE[f32]}" -v b="$tp" -v c="${DEC[f32]}" -v d="$td" -v e="${DEC[bf16]}" -v f="${DEC[q8]}" \
    'BEGIN { printf "ratios vs torch: prefill f32 %.2fx, decode f32 %.2fx, bf16 %.2fx, q8 %.2fx\n", a/b, c/d, e/d, f/d }'
else
  echo "SKIP: torch figures (no python3-torch)"
fi
rm -f "$T"/g-*.b4k

if [ "${B4K_BENCH_CPM:-1}" = 0 ]; then echo "SKIP: CPM 2.6B (B4K_BENCH_CPM=0)"; exit 0; fi
avail=$(df -Pk "$T" | awk 'NR==2 {print $4}')
if [ "$avail" -lt 12000000 ]; then echo "SKIP: CPM 2.6B needs ~12 GB free in $T"; exit 0; fi
echo
BW=$("$T/membw" $TH huge)
echo "memory read bandwidth measured now with $TH threads: $BW GB/s from 2 MiB pages, $("$T/membw" $TH) from 4 KiB pages"
# target (issue 8): decode at >= 80% of the bandwidth limit; "met" is
# judged against the bandwidth probe run just before and just after each
# decode run (their mean, in the "probe" column): the machine is shared and
# its bandwidth drifts (25-44 GB/s seen within an hour)
printf '%-22s %9s %7s %13s %9s %7s %13s %8s %11s %11s %11s\n' "CPM 2.6B, $TH thr" "decode/s" "GB/s" "limit@30GB/s" "% of 30" "probe" "% of measured" ">= 80%" "RSS anon" "RSS file" "file in 2M"
cids=$(seq 1 32 | awk '{printf "%s%d", (NR>1?",":""), ($1*104729)%30000}')
echo "{\"id\":\"cpm\",\"prompt_ids\":[$cids]}" > "$T/c.jsonl"
# each model twice: mmap'd (the default, no copy: the page cache, read
# back in 2 MiB folios where the file system allows, mapped by PMD; "file in
# 2M" shows how much) and with --no-mmap (read into MADV_HUGEPAGE anonymous
# memory); without huge pages every 4 KiB page of weights costs a TLB miss
# and stops the hardware prefetcher.  The membw probe reads 4 KiB pages.
for dt in bf16 q8; do
  "$T/mkmodel" "$T/cpm-$dt.b4k" cpm 32 2560 32 30000 1024 $dt 1 || { echo "mkmodel failed"; break; }
  bytes=$(stat -c %s "$T/cpm-$dt.b4k")
  # write the new file back first: else the kernel's flusher writes its ~5
  # GB during the first decode run, on the same 2 CPUs (that run read 60-75%
  # of the probe, the next 90-107%)
  sync "$T/cpm-$dt.b4k"
  cat "$T/cpm-$dt.b4k" > /dev/null
  # each mode twice, alternating (the machine's speed drifts)
  for mode in mmap no-mmap mmap no-mmap; do
    mopt=; lab="b4k $dt"; [ $mode = no-mmap ] && { mopt=--no-mmap; lab="b4k $dt --no-mmap"; }
    b0=$("$T/membw" $TH huge)
    bin/b4k-generate -m "$T/cpm-$dt.b4k" --no-verify -t $TH $mopt \
      --temperature 0 --ignore-eos -n 24 "$T/c.jsonl" > "$T/out" &
    pid=$!; anon=0; file=0; pmd=0
    # peak anonymous (heap, KV cache) and file-backed (the mmap'd weights) RSS
    while kill -0 $pid 2>/dev/null; do
      read -r a f < <(awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print a+0, f+0}' /proc/$pid/status 2>/dev/null)
      [ "${a:-0}" -gt $anon ] && anon=$a; [ "${f:-0}" -gt $file ] && file=$f
      # file pages mapped in 2 MiB pages (page-cache huge folios, model.c map_file)
      h=$(awk '/^FilePmdMapped/ {print $2}' /proc/$pid/smaps_rollup 2>/dev/null)
      [ "${h:-0}" -gt $pmd ] && pmd=$h
      sleep 0.2
    done
    wait $pid
    b1=$("$T/membw" $TH huge)
    d=$(field tokens_per_s < "$T/out")
    # every weight is read once per token: bytes per token ~ the file size
    awk -v d="$d" -v b="$bytes" -v b0="$b0" -v b1="$b1" -v an="$anon" -v fi="$file" -v pm="$pmd" -v dt="$lab" 'BEGIN {
      gbs = d * b / 1e9; lim = 30e9 / b; bw = (b0 + b1) / 2;
      printf "%-22s %9.2f %7.1f %13.2f %8.0f%% %7.1f %12.0f%% %8s %9.0fMB %9.0fMB %9.0fMB\n", dt, d, gbs, lim,
        100 * d / lim, bw, 100 * gbs / bw, (gbs >= 0.8 * bw ? "yes" : "NO"), an / 1024, fi / 1024, pm / 1024 }'
  done
  rm -f "$T/cpm-$dt.b4k"
done
