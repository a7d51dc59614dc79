#!/usr/bin/env bash
# b4k-tokenize against peers nobody here wrote, on real text:
#   WordPiece  vs HF tokenizers 0.22 (Rust, npm @anush008/tokenizers):
#              ids, segment ids and offsets, with bert-base-chinese (lower
#              and cased) and bert-base-uncased; decode vs HF's decoder
#   GPT-2 BPE  vs HF tokenizers' ByteLevel BPE (whole corpora: it is fast)
#              and vs gpt-3-encoder (npm; with --sample, it is slow); decode
#              must give back every line exactly
# Corpora (../shared/data): corpus/zh-modern, the four classic novels,
# w2v/en-large, CLUENER train texts.
#
#   bash test/parity/parity_tokenize.sh              whole corpora (make parity)
#   bash test/parity/parity_tokenize.sh --sample N   first N lines of each
#                                                    corpus, PASS:/FAIL: lines
# Prints "mismatches: K of N lines" per case; exit 1 if any K > 0.
# B4K_TOK_PARITY="wp-lower wp-cased wp-uncased wp-decode gpt2" picks parts.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
DATA=${DATA:-}
[ -z "$DATA" ] && [ -d "$TOP/../shared/data" ] && DATA=$(cd "$TOP/../shared/data" && pwd)
SAMPLE=0
[ "${1:-}" = "--sample" ] && SAMPLE=${2:?--sample N}
NODE=$TOP/test/node
skip() { echo "SKIP: tokenize parity: $*"; exit 0; }
[ -n "$DATA" ] && [ -d "$DATA/vocab" ] || skip "../shared/data not found"
command -v node >/dev/null || skip "node not installed"
[ -d "$NODE/node_modules/@anush008/tokenizers" ] && [ -d "$NODE/node_modules/gpt-3-encoder" ] ||
  skip "npm peers not installed (cd test/node && npm install)"
[ -x "$BIN/b4k-tokenize" ] || { echo "FAIL: tokenize parity: $BIN/b4k-tokenize not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
V=$DATA/vocab
take() { if [ "$SAMPLE" -gt 0 ]; then head -n "$SAMPLE"; else cat; fi; }
corpora=()
add() { # name, command producing text
  local f=$tmp/$1.txt
  eval "$2" | take > "$f" || return
  [ -s "$f" ] && corpora+=("$1")
}
[ -f "$DATA/corpus/zh-modern.txt.zst" ] && add zh-modern "zstd -dc '$DATA/corpus/zh-modern.txt.zst'"
for n in hongloumeng sanguoyanyi shuihuzhuan xiyouji; do
  f=$DATA/corpus/zh-classic-novels/$n.txt.zst
  [ -f "$f" ] && add "$n" "zstd -dc '$f'"
done
[ -f "$DATA/w2v/en-large.txt.zst" ] && add en-large "zstd -dc '$DATA/w2v/en-large.txt.zst'"
[ -f "$DATA/ner/cluener/train.json" ] &&
  add cluener "node -e 'for (const l of require(\"fs\").readFileSync(process.argv[1],\"utf8\").split(\"\\n\")) if (l) console.log(JSON.parse(l).text)' '$DATA/ner/cluener/train.json'"
[ ${#corpora[@]} -gt 0 ] || skip "no corpora found"

bad_total=0
report() { # label, mismatches, lines
  local what="tokenize parity $1: mismatches: $2 of $3 lines"
  if [ "$SAMPLE" -gt 0 ]; then
    if [ "$2" = 0 ]; then echo "PASS: $what"; else echo "FAIL: $what"; fi
  else
    echo "$what"
  fi
  [ "$2" = 0 ] || bad_total=$((bad_total + 1))
}
count_diff() { # a b -> number of differing lines (and line count difference);
  # streams both files (peer outputs of whole corpora exceed node's string limit)
  LC_ALL=C awk -v B="$2" '
    { if ((getline l < B) <= 0) l = "\001EOF"
      if ($0 != l) { k++; if (shown++ < 2) printf "  line %d:\n    b4k %s\n    peer %s\n", NR, substr($0, 1, 300), substr(l, 1, 300) > "/dev/stderr" } }
    END { while ((getline l < B) > 0) k++; print k + 0 }' "$1"
}
lines() { wc -l < "$1" | tr -d ' '; }

want() { [ -z "${B4K_TOK_PARITY:-}" ] || [[ " $B4K_TOK_PARITY " == *" $1 "* ]]; }
wp_case() { # label vocab lower(0|1) b4k-flags...
  local label=$1 vocab=$2 lower=$3; shift 3
  for c in "${corpora[@]}"; do
    "$BIN/b4k-tokenize" -t 2 -v "$vocab" "$@" "$tmp/$c.txt" > "$tmp/b4k.jsonl" || { report "$label $c" run-error 0; continue; }
    node "$NODE/hf_tok.js" wordpiece "$vocab" "$lower" < "$tmp/$c.txt" > "$tmp/hf.jsonl"
    report "wordpiece $label $c" "$(count_diff "$tmp/b4k.jsonl" "$tmp/hf.jsonl")" "$(lines "$tmp/$c.txt")"
  done
}
want wp-lower && wp_case "bert-base-chinese(lower)" "$V/bert-base-chinese-vocab.txt" 1
want wp-cased && wp_case "bert-base-chinese(cased)" "$V/bert-base-chinese-vocab.txt" 0 --no-lower
want wp-uncased && wp_case "bert-base-uncased" "$V/bert-base-uncased-vocab.txt" 1

# WordPiece decode vs HF's WordPiece decoder (per line in node: a sample)
for c in zh-modern en-large; do
  want wp-decode || break
  [ -f "$tmp/$c.txt" ] || continue
  head -n 20000 "$tmp/$c.txt" > "$tmp/dec.txt"
  voc=$V/bert-base-chinese-vocab.txt; [ $c = en-large ] && voc=$V/bert-base-uncased-vocab.txt
  "$BIN/b4k-tokenize" -v "$voc" --no-offsets "$tmp/dec.txt" > "$tmp/ids.jsonl"
  for skipsp in 0 1; do
    flag=; [ $skipsp = 1 ] && flag=--no-special
    "$BIN/b4k-tokenize" -v "$voc" --decode $flag "$tmp/ids.jsonl" |
      node -e 'for (const l of require("fs").readFileSync(0,"utf8").split("\n")) if (l) console.log(JSON.stringify({text: JSON.parse(l).text}))' > "$tmp/b4k.jsonl"
    node "$NODE/hf_tok.js" wpdecode "$voc" $skipsp < "$tmp/ids.jsonl" > "$tmp/hf.jsonl"
    report "wordpiece decode(skip_special=$skipsp) $c" "$(count_diff "$tmp/b4k.jsonl" "$tmp/hf.jsonl")" "$(lines "$tmp/dec.txt")"
  done
done

# GPT-2: ids vs gpt-3-encoder; decode round trip to the exact line
G="-k bpe -v $V/gpt2/encoder.json -m $V/gpt2/vocab.bpe"
for c in "${corpora[@]}"; do
  want gpt2 || break
  "$BIN/b4k-tokenize" -t 2 $G --no-offsets "$tmp/$c.txt" > "$tmp/b4k.jsonl"
  node "$NODE/hf_tok.js" bpe "$V/gpt2/encoder.json" "$V/gpt2/vocab.bpe" < "$tmp/$c.txt" > "$tmp/peer.jsonl"
  # HF's \s is Unicode White_Space, JavaScript's (gpt-3-encoder, and b4k)
  # also has U+FEFF: lines where b4k and HF differ are judged by
  # gpt-3-encoder, which is the reference the ids must equal
  LC_ALL=C awk -v B="$tmp/peer.jsonl" '{ if ((getline l < B) <= 0) l = "\001EOF"; if ($0 != l) print NR }' \
    "$tmp/b4k.jsonl" > "$tmp/hfdiff.txt"
  nhf=$(wc -l < "$tmp/hfdiff.txt" | tr -d ' ')
  bad=0
  if [ "$nhf" -gt 0 ]; then
    awk 'NR==FNR{want[$1]=1;next} (FNR in want)' "$tmp/hfdiff.txt" "$tmp/$c.txt" > "$tmp/dl.txt"
    awk 'NR==FNR{want[$1]=1;next} (FNR in want)' "$tmp/hfdiff.txt" "$tmp/b4k.jsonl" > "$tmp/db.jsonl"
    node "$NODE/gpt3_encode.js" < "$tmp/dl.txt" > "$tmp/dg.jsonl"
    bad=$(count_diff "$tmp/db.jsonl" "$tmp/dg.jsonl")
    echo "  ($nhf lines differ from HF ByteLevel, where JavaScript's \\s and Unicode White_Space disagree; gpt-3-encoder decides them)"
  fi
  report "gpt2 vs HF ByteLevel/gpt-3-encoder $c" "$bad" "$(lines "$tmp/$c.txt")"
  if [ "$SAMPLE" -gt 0 ]; then
    node "$NODE/gpt3_encode.js" < "$tmp/$c.txt" > "$tmp/peer.jsonl"
    report "gpt2 vs gpt-3-encoder $c" "$(count_diff "$tmp/b4k.jsonl" "$tmp/peer.jsonl")" "$(lines "$tmp/$c.txt")"
  fi
  "$BIN/b4k-tokenize" $G --decode "$tmp/b4k.jsonl" > "$tmp/dec.jsonl"
  report "gpt2 decode round trip $c" "$(node "$NODE/cmp_text.js" "$tmp/dec.jsonl" "$tmp/$c.txt")" "$(lines "$tmp/$c.txt")"
done
[ $bad_total -eq 0 ]
