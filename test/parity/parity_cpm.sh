#!/usr/bin/env bash
# b4k-tokenize --kind cpm against CPM-Generate's tokenizer as written in
# tokenization_gpt2.py, run with python3-jieba + python3-sentencepiece
# (test/ref/cpm_ref.py): ids line for line, then decode of those ids.  Also
# the first-release vocabulary (no "\u2583" piece, bert4keras maps it to id 3)
# on JSONL records with newlines.
#
#   bash test/parity/parity_cpm.sh              whole corpora (make parity)
#   bash test/parity/parity_cpm.sh --sample N   N lines of each corpus
AREA=cpm
. "$(dirname "$0")/spm_lib.sh"
$PY -c 'import jieba, sentencepiece' 2>/dev/null || skip "python3-jieba or python3-sentencepiece not installed"
M=$DATA/vocab/cpm/chinese_vocab.model
[ -f "$M" ] || skip "vocab/cpm/chinese_vocab.model not found"
key=cpm-$(md5sum < "$M" | cut -c1-12)
for c in "${corpora[@]}"; do
  "$BIN/b4k-tokenize" -k cpm --model "$M" --no-offsets "$tmp/$c.txt" | ids_only > "$tmp/b4k" ||
    { report "$c" run-error 0; continue; }
  ref "$c" "$key" $PY "$TOP/test/ref/cpm_ref.py" "$M" || { report "$c" ref-error 0; continue; }
  report "$c" "$(count_diff "$tmp/b4k" "$tmp/ref")" "$(lines "$tmp/$c.txt")"
  "$BIN/b4k-tokenize" -k cpm --model "$M" --decode "$tmp/b4k" > "$tmp/dec" ||
    { report "decode $c" run-error 0; continue; }
  report "decode $c" "$($PY "$TOP/test/ref/cpm_ref.py" "$M" --decode-cmp "$tmp/dec" < "$tmp/b4k")" "$(lines "$tmp/b4k")"
done
# JSONL records with newlines and spaces, both vocabulary variants
c=${corpora[0]}
head -n 4000 "$tmp/$c.txt" | $PY -c '
import sys, json
L = sys.stdin.read().split("\n")
for i in range(0, len(L) - 3, 3):
    print(json.dumps({"text": L[i] + "\n" + L[i+1] + "  \n\n " + L[i+2]}, ensure_ascii=False))' > "$tmp/rec.jsonl"
$PY "$TOP/test/ref/cpm_v1_model.py" "$M" "$tmp/v1.model" || { report "first-release vocab" ref-error 0; }
for v in "$M" "$tmp/v1.model"; do
  [ -f "$v" ] || continue
  lab=$([ "$v" = "$M" ] && echo "jsonl newlines" || echo "jsonl newlines, first-release vocab")
  "$BIN/b4k-tokenize" -k cpm --model "$v" --field text --no-offsets "$tmp/rec.jsonl" |
    $PY -c 'import sys, json
for l in sys.stdin: print(" ".join(map(str, json.loads(l)["ids"])))' > "$tmp/b4k"
  $PY "$TOP/test/ref/cpm_ref.py" "$v" --jsonl < "$tmp/rec.jsonl" > "$tmp/ref"
  report "$lab" "$(count_diff "$tmp/b4k" "$tmp/ref")" "$(lines "$tmp/rec.jsonl")"
  "$BIN/b4k-tokenize" -k cpm --model "$v" --decode "$tmp/b4k" > "$tmp/dec"
  report "$lab decode" "$($PY "$TOP/test/ref/cpm_ref.py" "$v" --decode-cmp "$tmp/dec" < "$tmp/b4k")" "$(lines "$tmp/b4k")"
done
[ "$bad_total" = 0 ]
