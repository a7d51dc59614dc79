#!/usr/bin/env bash
# Train the small SentencePiece models in test/golden/spm/ with
# python3-sentencepiece's trainer on ~3 MB of ../shared/data Chinese text
# (zh-modern + song-ci), one per branch of the encoder:
#   uni_bf0_dp1  unigram, byte_fallback off, add_dummy_prefix on (nmt_nfkc)
#   uni_bf1_dp0  unigram, byte_fallback on, add_dummy_prefix off,
#                user-defined symbols, remove_extra_whitespaces off
#   bpe_bf0_dp1  BPE, byte_fallback off, add_dummy_prefix on
#   bpe_bf1_dp0  BPE, byte_fallback on, add_dummy_prefix off, identity
#                normalisation
#   char_dp1     char model;  word_dp1: word model
# Usage: bash test/ref/spm_models.sh   (needs $DATA or ../shared/data)
set -eu
cd "$(dirname "$0")/../.."
DATA=${DATA:-$(cd ../shared/data && pwd)}
out=test/golden/spm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{ zstd -dc "$DATA/corpus/zh-modern.txt.zst" | head -c 2500000; zstd -dc "$DATA/corpus/chinese-poetry/song-ci.txt.zst" | head -c 600000; } > "$tmp/train.txt"
/usr/bin/python3 - "$tmp/train.txt" "$out" "$@" <<'PY'
import sys, sentencepiece as spm
src, out = sys.argv[1], sys.argv[2]
common = dict(input=src, num_threads=1, input_sentence_size=0, character_coverage=0.995,
              max_sentence_length=100000, minloglevel=2)
cfgs = {
  "uni_bf0_dp1": dict(model_type="unigram", vocab_size=6000, byte_fallback=False, add_dummy_prefix=True),
  "uni_bf1_dp0": dict(model_type="unigram", vocab_size=4000, byte_fallback=True, add_dummy_prefix=False,
                      remove_extra_whitespaces=False, user_defined_symbols=["<br>", "中国", "2020"]),
  "bpe_bf0_dp1": dict(model_type="bpe", vocab_size=6000, byte_fallback=False, add_dummy_prefix=True),
  "bpe_bf1_dp0": dict(model_type="bpe", vocab_size=4000, byte_fallback=True, add_dummy_prefix=False,
                      normalization_rule_name="identity", user_defined_symbols=["<br>"]),
  "char_dp1": dict(model_type="char", vocab_size=3000, add_dummy_prefix=True),
  "word_dp1": dict(model_type="word", vocab_size=3000, add_dummy_prefix=True),
}
only = sys.argv[3:]
for name, c in cfgs.items():
    if only and name not in only: continue
    kw = dict(common); kw.update(c); kw["model_prefix"] = f"{out}/{name}"
    spm.SentencePieceTrainer.train(**kw)
    print("trained", name)
PY
rm -f "$out"/*.vocab
ls -la "$out"
