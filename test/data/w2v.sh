#!/usr/bin/env bash
# word2vec on real text: a quality floor on part of the English Wikipedia
# sample (normalised like bench_w2v.sh: lower-cased, runs of characters that
# are not letters or digits to one space), the same model through word2vec
# text export, and Chinese --chars.
set -u
if [ -z "${DATA:-}" ] || [ ! -f "$DATA/w2v/en-large.txt.zst" ]; then
  echo "SKIP: data/w2v: ../shared/data/w2v/en-large.txt.zst not found"; exit 0; fi
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-data-w2v.XXXXXX"); trap 'rm -rf "$W"' EXIT
Q=$DATA/w2v/questions-words.txt
command -v /usr/bin/python3 > /dev/null || { echo "SKIP: data/w2v: /usr/bin/python3 missing"; exit 0; }
zstd -dc "$DATA/w2v/en-large.txt.zst" | head -120000 | /usr/bin/python3 -c '
import re, sys
for line in sys.stdin:
    sys.stdout.write(re.sub(r"[\W_]+", " ", line.lower()).strip() + "\n")' > "$W/en.txt"
acc() { grep -o '"total":{[^}]*}' "$1" | grep -o '"accuracy":[0-9.]*' | cut -d: -f2; }
if b4k-w2v train --model cbow --hs --negative 0 --dim 100 --sample 1e-4 --iter 1 -t 1 --seed 1 \
     -o "$W/m.b4k" "$W/en.txt" > "$W/sum" 2> "$W/err" &&
   b4k-w2v eval --analogy "$Q" "$W/m.b4k" > "$W/r1" && a=$(acc "$W/r1") &&
   awk "BEGIN { exit !($a >= 3.5) }"; then
  echo "PASS: data/w2v: CBOW+HS on $(wc -w < "$W/en.txt") words: analogy accuracy $a% (floor 3.5%)"
else
  echo "FAIL: data/w2v: CBOW+HS analogy accuracy ${a:-?}% below 3.5% (or error)"; cat "$W/err" | head -5
fi
b4k-w2v export -f word2vec-text -o "$W/m.txt" "$W/m.b4k"
b4k-w2v eval --analogy "$Q" "$W/m.txt" > "$W/r2"
if cmp -s "$W/r1" <(sed 's/m\.txt/m.b4k/' "$W/r2"); then
  echo "PASS: data/w2v: eval of the word2vec-text export equals the .b4k's"
else
  echo "FAIL: data/w2v: eval of the word2vec-text export differs"
fi
if [ -f "$DATA/corpus/zh-modern.txt.zst" ]; then
  zstd -dc "$DATA/corpus/zh-modern.txt.zst" | head -40000 > "$W/zh.txt"
  if b4k-w2v train --chars --model cbow --dim 50 --iter 2 -t 2 -o "$W/zh.b4k" "$W/zh.txt" > "$W/zsum" &&
     n=$(printf '{"word":"中"}\n{"word":"东"}\n' | b4k-w2v nearest -k 5 "$W/zh.b4k" | grep -c '"score"') &&
     [ "$n" = 2 ] && b4k-w2v export -f word2vec-text "$W/zh.b4k" | tail -n +2 | cut -d' ' -f1 |
       /usr/bin/python3 -c '
import re, sys
sys.exit(any(re.search("[\u4e00-\u9fff].", l.strip()) for l in sys.stdin))'; then
    echo "PASS: data/w2v: Chinese --chars (vocab $(grep -o '"vocab":[0-9]*' "$W/zsum" | cut -d: -f2), no multi-character Han tokens)"
  else
    echo "FAIL: data/w2v: Chinese --chars"
  fi
else
  echo "SKIP: data/w2v: zh-modern.txt.zst not found"
fi
