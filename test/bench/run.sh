#!/usr/bin/env bash
# make bench: runs every test/bench/bench_*.sh (or those named in $B4K_BENCH,
# e.g. B4K_BENCH="tokenize w2v").  Each prints its figures and the ratios
# against peers measured in the same run.  Benchmarks need ../shared/data and
# say SKIP when it or a peer is missing.  Nothing here is a pass/fail test.
set -u
cd "$(dirname "$0")/../.."
export TOP=$(pwd) BIN=$(pwd)/bin PATH="$(pwd)/bin:$PATH" LC_ALL=C.UTF-8
DATA=; [ -d ../shared/data ] && DATA=$(cd ../shared/data && pwd); export DATA
echo "b4k bench on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(date -u +%FT%TZ)"
for b in test/bench/bench_*.sh; do
  n=$(basename "$b" .sh); n=${n#bench_}
  if [ -n "${B4K_BENCH:-}" ] && ! [[ " $B4K_BENCH " == *" $n "* ]]; then continue; fi
  echo; echo "== $n =="
  bash "$b" || echo "bench $n: exit $?"
done
