#!/usr/bin/env bash
# Regenerate the expected outputs for edge.txt (hard cases: accents, Hangul,
# Thai/Arabic/Devanagari marks, İ, titlecase, BOM and zero-width characters,
# control characters, compatibility ideographs, fullwidth forms, emoji, words
# of 99/100/101 characters, ...) with the peers: HF tokenizers 0.22
# (BertWordPiece) and gpt-3-encoder.  Needs ../shared/data and test/node's
# npm packages.  test/data/tokenize_golden.sh compares b4k against them.
set -eu
cd "$(dirname "$0")"
V=${DATA:-$(cd ../../../../shared/data && pwd)}/vocab
N=../../node
node $N/hf_tok.js wordpiece "$V/bert-base-uncased-vocab.txt" 1 < edge.txt > hf-uncased.jsonl
node $N/hf_tok.js wordpiece "$V/bert-base-chinese-vocab.txt" 1 < edge.txt > hf-chinese-lower.jsonl
node $N/hf_tok.js wordpiece "$V/bert-base-chinese-vocab.txt" 0 < edge.txt > hf-chinese-cased.jsonl
node $N/gpt3_encode.js < edge.txt > gpt3-gpt2.jsonl
# sentence pairs (pairs.jsonl: members "a" and "b"), with and without
# LongestFirst truncation
for L in 12 32; do
  node $N/hf_tok.js wordpiece "$V/bert-base-chinese-vocab.txt" 1 --pairs --max-len $L < pairs.jsonl > hf-pairs-max$L.jsonl
done
node $N/hf_tok.js wordpiece "$V/bert-base-uncased-vocab.txt" 1 --pairs < pairs.jsonl > hf-pairs-uncased.jsonl
