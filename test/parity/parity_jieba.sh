#!/usr/bin/env bash
# b4k's jieba segmenter (lib/tok/jieba.c, through build/tools/jieba-data -c)
# against python3-jieba 0.42 (jieba.cut, precise mode, HMM on) on real text:
# corpus/zh-modern, the four novels, the poetry; then with a user dictionary.
#
#   bash test/parity/parity_jieba.sh              whole corpora (make parity)
#   bash test/parity/parity_jieba.sh --sample N   N lines of each corpus
AREA=jieba
. "$(dirname "$0")/spm_lib.sh"
$PY -c 'import jieba' 2>/dev/null || skip "python3-jieba not installed"
B=${B4K_BUILD:-build}; case $B in /*) ;; *) B=$TOP/$B;; esac
CUT=$B/tools/jieba-data
[ -x "$CUT" ] || { echo "FAIL: jieba parity: $CUT not built"; exit 1; }
# the converted data file (used in place; with the user dictionary, copied
# out and extended) when make built it, else python3-jieba's own files
DATAF=(); [ -f "$B/share/b4k/jieba.b4kj" ] && DATAF=(-f "$B/share/b4k/jieba.b4kj")
for c in "${corpora[@]}"; do
  "$CUT" "${DATAF[@]}" -c < "$tmp/$c.txt" > "$tmp/b4k" || { report "$c" run-error 0; continue; }
  ref "$c" jieba $PY "$TOP/test/ref/jieba_ref.py" || { report "$c" ref-error 0; continue; }
  report "$c" "$(count_diff "$tmp/b4k" "$tmp/ref")" "$(lines "$tmp/$c.txt")"
done
# user dictionary (frequencies given, missing -> suggest_freq, freq 0 -> force split)
U=$TOP/test/golden/jieba/userdict.txt
if [ -f "$U" ]; then
  for c in $(printf '%s\n' "${corpora[@]}" | head -n 2); do
    "$CUT" "${DATAF[@]}" -c -u "$U" < "$tmp/$c.txt" > "$tmp/b4k" || { report "userdict $c" run-error 0; continue; }
    ref "$c" jieba-user-$(md5sum < "$U" | cut -c1-12) $PY "$TOP/test/ref/jieba_ref.py" --user-dict "$U" ||
      { report "userdict $c" ref-error 0; continue; }
    report "userdict $c" "$(count_diff "$tmp/b4k" "$tmp/ref")" "$(lines "$tmp/$c.txt")"
  done
fi
[ "$bad_total" = 0 ]
