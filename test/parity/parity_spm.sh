#!/usr/bin/env bash
# b4k-tokenize --kind spm against python3-sentencepiece (the C++ library)
# on real text: the CPM vocabulary (chinese_vocab.model, unigram) and the
# small models in test/golden/spm/ (unigram, BPE, char, word; byte fallback
# on/off, dummy prefix on/off).  Ids line for line, then decode of those ids.
# Corpora: ../shared/data corpus/zh-modern, the four novels, the poetry.
#
#   bash test/parity/parity_spm.sh              whole corpora (make parity)
#   bash test/parity/parity_spm.sh --sample N   N lines of each corpus
AREA=spm
. "$(dirname "$0")/spm_lib.sh"
$PY -c 'import sentencepiece' 2>/dev/null || skip "python3-sentencepiece not installed"
models=()
[ -f "$DATA/vocab/cpm/chinese_vocab.model" ] && models+=("$DATA/vocab/cpm/chinese_vocab.model")
for m in "$TOP"/test/golden/spm/*.model; do [ -f "$m" ] && models+=("$m"); done
# the full matrix byte fallback {0,1} x dummy prefix {0,1} x {unigram, BPE}
# (test/ref/spm_models.sh) must be there
for t in uni bpe; do for bf in 0 1; do for dp in 0 1; do
  m="$TOP/test/golden/spm/${t}_bf${bf}_dp${dp}.model"
  if [ ! -f "$m" ]; then echo "FAIL: $AREA parity: $m missing (bash test/ref/spm_models.sh)"; bad_total=1; fi
done; done; done
for m in "${models[@]}"; do
  mn=$(basename "$m" .model)
  key=spm-$(md5sum < "$m" | cut -c1-12)
  for c in "${corpora[@]}"; do
    "$BIN/b4k-tokenize" -k spm --model "$m" --no-offsets "$tmp/$c.txt" | ids_only > "$tmp/b4k" ||
      { report "$mn $c" run-error 0; continue; }
    ref "$c" "$key" $PY "$TOP/test/ref/spm_ref.py" "$m" || { report "$mn $c" ref-error 0; continue; }
    report "$mn $c" "$(count_diff "$tmp/b4k" "$tmp/ref")" "$(lines "$tmp/$c.txt")"
    # decode: b4k's text for the ids vs sp.decode (whole corpora: CPM model
    # and the sample; the golden models on the first corpus only)
    if [ "$SAMPLE" -gt 0 ] || [ "$mn" = chinese_vocab ] || [ "$c" = "${corpora[0]}" ]; then
      "$BIN/b4k-tokenize" -k spm --model "$m" --decode "$tmp/b4k" > "$tmp/dec" ||
        { report "$mn decode $c" run-error 0; continue; }
      report "$mn decode $c" "$($PY "$TOP/test/ref/spm_ref.py" "$m" --decode-cmp "$tmp/dec" < "$tmp/b4k")" "$(lines "$tmp/b4k")"
    fi
  done
done
[ "$bad_total" = 0 ]
