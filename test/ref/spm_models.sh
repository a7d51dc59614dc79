#!/usr/bin/env bash
# Train the small SentencePiece models in test/golden/spm/ with spm_train
# (Debian's sentencepiece package) on ~3 MB of ../shared/data Chinese text
# (zh-modern + song-ci), one per branch of the encoder.  The full matrix of
# byte fallback {off,on} x add_dummy_prefix {off,on} for unigram and BPE:
#   uni_bf0_dp1  unigram, nmt_nfkc                        (6000 pieces)
#   uni_bf1_dp0  unigram, nmt_nfkc, user-defined symbols,
#                remove_extra_whitespaces off              (4000)
#   uni_bf0_dp0  unigram, identity normalisation          (4000)
#   uni_bf1_dp1  unigram, identity, user-defined symbols  (4000)
#   bpe_bf0_dp1  BPE, nmt_nfkc                            (6000)
#   bpe_bf1_dp0  BPE, identity, user-defined symbols      (4000)
#   bpe_bf0_dp0  BPE, identity, remove_extra_whitespaces off (4000)
#   bpe_bf1_dp1  BPE, identity                            (4000)
# and char_dp1 (char model), word_dp1 (word model).  The new corners use the
# identity normalisation to stay small (the nmt_nfkc charsmap alone is
# 240 KB); the charsmap is covered by the others with dummy prefix on and off.
# spm_train runs in a scratch folder with relative names, so the input and
# model_prefix it records in the model do not depend on the machine.
# Then regenerate the golden cases: /usr/bin/python3 test/ref/spm_golden.py
# Usage: bash test/ref/spm_models.sh [NAME...]   (needs $DATA or ../shared/data)
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)
DATA=${DATA:-$(cd ../shared/data && pwd)}
out=$TOP/test/golden/spm
command -v spm_train > /dev/null || { echo "spm_models: spm_train not found (apt-get install sentencepiece)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{ zstd -dc "$DATA/corpus/zh-modern.txt.zst" | head -c 2500000; zstd -dc "$DATA/corpus/chinese-poetry/song-ci.txt.zst" | head -c 600000; } > "$tmp/train.txt"
common="--input=train.txt --num_threads=1 --input_sentence_size=0 --character_coverage=0.995 --max_sentence_length=100000 --minloglevel=2"
declare -A cfg=(
  [uni_bf0_dp1]="--model_type=unigram --vocab_size=6000 --byte_fallback=false --add_dummy_prefix=true"
  [uni_bf1_dp0]="--model_type=unigram --vocab_size=4000 --byte_fallback=true --add_dummy_prefix=false --remove_extra_whitespaces=false --user_defined_symbols=<br>,中国,2020"
  [uni_bf0_dp0]="--model_type=unigram --vocab_size=4000 --byte_fallback=false --add_dummy_prefix=false --normalization_rule_name=identity"
  [uni_bf1_dp1]="--model_type=unigram --vocab_size=4000 --byte_fallback=true --add_dummy_prefix=true --normalization_rule_name=identity --user_defined_symbols=<br>,中国"
  [bpe_bf0_dp1]="--model_type=bpe --vocab_size=6000 --byte_fallback=false --add_dummy_prefix=true"
  [bpe_bf1_dp0]="--model_type=bpe --vocab_size=4000 --byte_fallback=true --add_dummy_prefix=false --normalization_rule_name=identity --user_defined_symbols=<br>"
  [bpe_bf0_dp0]="--model_type=bpe --vocab_size=4000 --byte_fallback=false --add_dummy_prefix=false --normalization_rule_name=identity --remove_extra_whitespaces=false"
  [bpe_bf1_dp1]="--model_type=bpe --vocab_size=4000 --byte_fallback=true --add_dummy_prefix=true --normalization_rule_name=identity"
  [char_dp1]="--model_type=char --vocab_size=3000 --add_dummy_prefix=true"
  [word_dp1]="--model_type=word --vocab_size=3000 --add_dummy_prefix=true"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${!cfg[@]}")
for name in "${names[@]}"; do
  [ -n "${cfg[$name]:-}" ] || { echo "spm_models: unknown model $name" >&2; exit 2; }
  # shellcheck disable=SC2086
  (cd "$tmp" && spm_train $common --model_prefix="$name" ${cfg[$name]})
  mv "$tmp/$name.model" "$out/$name.model"
  echo "trained $name ($(stat -c %s "$out/$name.model") bytes)"
done
