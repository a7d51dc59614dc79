#!/usr/bin/env bash
# make parity: runs every test/parity/parity_*.sh over whole corpora and
# prints the mismatch counts against the reference implementations.
# B4K_PARITY="tokenize spm" restricts the set.  Exit 1 if any mismatch.
set -u
cd "$(dirname "$0")/../.."
export TOP=$(pwd) BIN=$(pwd)/bin PATH="$(pwd)/bin:$PATH" LC_ALL=C.UTF-8
DATA=; [ -d ../shared/data ] && DATA=$(cd ../shared/data && pwd); export DATA
rc=0
for p in test/parity/parity_*.sh; do
  n=$(basename "$p" .sh); n=${n#parity_}
  if [ -n "${B4K_PARITY:-}" ] && ! [[ " $B4K_PARITY " == *" $n "* ]]; then continue; fi
  echo "== $n =="
  bash "$p" || rc=1
done
exit $rc
