#!/usr/bin/env bash
# A fuzz_tfbundle input from a one-shard TF checkpoint: u32 LE length of
# PREFIX.index, the index, then PREFIX.data-00000-of-00001.
# Usage: bash test/fuzz/tfbundle_seed.sh PREFIX > seed
set -eu
n=$(stat -c %s "$1.index")
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))"
cat "$1.index" "$1.data-00000-of-00001"
