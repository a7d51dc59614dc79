#!/usr/bin/env bash
# b4k-tokenize on hard cases (test/golden/tokenize/edge.txt) against the
# outputs HF tokenizers and gpt-3-encoder gave for them (committed; see
# test/golden/tokenize/regen.sh).  Needs only the vocabularies in
# ../shared/data, not node.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
G=$TOP/test/golden/tokenize
[ -n "${DATA:-}" ] && [ -f "$DATA/vocab/bert-base-uncased-vocab.txt" ] ||
  { echo "SKIP: tokenize golden: ../shared/data not found"; exit 0; }
V=$DATA/vocab
rc=0
check() { # name input expected b4k-args...
  local name=$1 in=$G/$2 want=$3; shift 3
  if "$BIN/b4k-tokenize" "$@" "$in" | cmp -s - "$G/$want"; then
    echo "PASS: tokenize golden $name ($(wc -l < "$in") cases)"
  else
    echo "FAIL: tokenize golden $name"
    "$BIN/b4k-tokenize" "$@" "$in" | diff - "$G/$want" | head -6 | cut -c1-300
    rc=1
  fi
}
check "wordpiece bert-base-uncased vs HF" edge.txt hf-uncased.jsonl -v "$V/bert-base-uncased-vocab.txt"
check "wordpiece bert-base-chinese lower vs HF" edge.txt hf-chinese-lower.jsonl -v "$V/bert-base-chinese-vocab.txt"
check "wordpiece bert-base-chinese cased vs HF" edge.txt hf-chinese-cased.jsonl -v "$V/bert-base-chinese-vocab.txt" --no-lower
check "gpt2 bpe vs gpt-3-encoder" edge.txt gpt3-gpt2.jsonl -k bpe -v "$V/gpt2/encoder.json" -m "$V/gpt2/vocab.bpe" --no-offsets
for L in 12 32; do
  check "wordpiece pairs --max-len $L vs HF LongestFirst" pairs.jsonl hf-pairs-max$L.jsonl \
    -v "$V/bert-base-chinese-vocab.txt" -f a --pair-field b --max-len $L
done
check "wordpiece pairs bert-base-uncased vs HF" pairs.jsonl hf-pairs-uncased.jsonl \
  -v "$V/bert-base-uncased-vocab.txt" -f a --pair-field b
exit $rc
