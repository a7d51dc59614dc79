#!/usr/bin/env bash
# make demo: tokenize real Chinese text (Debian's fortunes-zh: Tang and Song
# poems and the "chinese" fortunes) with a BERT WordPiece vocabulary, then a
# short tour of the other programs on what ships in data/ (word vectors from
# the toy corpus, a CRF segmenter, the CPM few-shot recipe on the tiny random
# stand-in model, triple extraction, the model file).
# The vocabulary is ../shared/data/vocab/bert-base-chinese-vocab.txt when it
# is there, otherwise data/zh-char-vocab.txt, which b4k ships (generated from
# the Unicode tables by tools/gen_zh_char_vocab.py).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
export PATH="$TOP/bin:$PATH"
FORT=/usr/share/games/fortunes
if [ ! -f "$FORT/chinese" ]; then
  echo "demo: fortunes-zh is not installed (make deps, or apt-get install fortunes-zh)" >&2
  exit 1
fi
VOCAB=$TOP/data/zh-char-vocab.txt
[ -f "$TOP/../shared/data/vocab/bert-base-chinese-vocab.txt" ] &&
  VOCAB=$(cd "$TOP/../shared/data/vocab" && pwd)/bert-base-chinese-vocab.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# fortune files: records separated by "%" lines, titles in ANSI colours
sed -e 's/\x1b\[[0-9;]*m//g' -e '/^%$/d' -e '/^[[:space:]]*$/d' \
  "$FORT/tang300" "$FORT/song100" "$FORT/chinese" > "$tmp/zh.txt"
echo "== b4k-tokenize: BERT WordPiece on fortunes-zh ($(wc -l < "$tmp/zh.txt") lines)"
echo "vocab: $VOCAB"
echo
grep -m 1 -A 3 '静夜思' "$tmp/zh.txt" > "$tmp/sample.txt" || head -4 "$tmp/zh.txt" > "$tmp/sample.txt"
grep -m 1 'Debian' "$tmp/zh.txt" >> "$tmp/sample.txt" || true
b4k-tokenize -v "$VOCAB" --tokens --no-offsets "$tmp/sample.txt" > "$tmp/sample.jsonl"
while IFS= read -r text && IFS= read -r rec <&3; do
  echo "text:   $text"
  echo "tokens: $(printf '%s' "$rec" | sed -e 's/.*"tokens":\[//' -e 's/\]}$//' -e 's/","/ /g' -e 's/"//g')"
  echo "ids:    $(printf '%s' "$rec" | sed -e 's/^{"ids":\[//' -e 's/\].*//' -e 's/,/ /g')"
  echo
done < "$tmp/sample.txt" 3< "$tmp/sample.jsonl"
echo "JSONL in, JSONL out (the record is kept, ids and offsets appended):"
printf '{"id":1,"text":"床前明月光，疑是地上霜。"}\n' | b4k-tokenize -v "$VOCAB" -f text
echo
# throughput: the fortunes repeated to about 40 MB
if [ ! -x /usr/bin/time ]; then
  echo "throughput: skipped, /usr/bin/time is missing (make deps, or apt-get install time)"
else
n=$(( 40000000 / $(stat -c %s "$tmp/zh.txt") + 1 ))
for _ in $(seq "$n"); do cat "$tmp/zh.txt"; done > "$tmp/big.txt"
mb=$(awk -v b="$(stat -c %s "$tmp/big.txt")" 'BEGIN{printf "%.1f", b/1e6}')
for t in 1 2; do
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" \
    b4k-tokenize -v "$VOCAB" -t "$t" --progress "$tmp/big.txt" > /dev/null 2> "$tmp/err"
  tok=$(tr '\r' '\n' < "$tmp/err" | grep -oE '[0-9]+ tokens' | tail -1 | cut -d' ' -f1)
  read -r e u s < "$tmp/time"
  awk -v mb="$mb" -v e="$e" -v u="$u" -v s="$s" -v k="$tok" -v t="$t" 'BEGIN {
    c = u + s; if (e <= 0) e = 0.01; if (c <= 0) c = 0.01
    printf "throughput, %d thread%s: %s MB in %.2f s = %.1f MB/s, %.2f M tokens/s (%.1f MB per CPU-second; ids+offsets)\n",
      t, (t > 1 ? "s" : ""), mb, e, mb / e, k / e / 1e6, mb / c }'
done
echo "(the machine may be shared: CPU-second figures are the steadier ones)"
fi

cd "$tmp"
echo
echo "== b4k-w2v: CBOW vectors from data/w2v/toy.txt.zst, then queries and analogy accuracy"
b4k-w2v train --model cbow --dim 24 --iter 10 --min-count 2 -t 2 --seed 1 -o toy.b4k "$TOP/data/w2v/toy.txt.zst" 2>&1 | tail -1
echo '{"word":"king","k":3}' | b4k-w2v nearest toy.b4k
b4k-w2v eval --analogy "$TOP/data/w2v/toy-questions.txt" toy.b4k | head -c 300; echo

echo
echo "== b4k-crf: a character CRF segmenter (BMES) trained on three lines, then tagging"
printf '%s\n' '上海  浦东  开发  与  法制  建设  同步' '浦东  开放  以来' '上海  的  开发' > seg.txt
b4k-crf learn -f seg -t cws -o cws.b4k seg.txt 2>&1 | tail -1
echo 上海浦东开发 | b4k-crf tag -m cws.b4k --constraints BMES

echo
echo "== b4k-generate: Su's CPM-LM few-shot QA template (data/gen/cpm-qa.txt):"
sed 's/^/   | /' "$TOP/data/gen/cpm-qa.txt"
echo "   data/gen/demo-cpm.b4k is a tiny RANDOM model with CPM's architecture and"
echo "   tokenizer standing in for CPM-LM 2.6B (no weights can be downloaded here),"
echo "   so its answer is noise; with the converted real model the same command"
echo "   answers 北京 (man b4k-generate, EXAMPLES)."
echo '{"id":"qa","input":"中国"}' | b4k-generate -m "$TOP/data/gen/demo-cpm.b4k" \
  --template "$TOP/data/gen/cpm-qa.txt" --top-p 0.95 --seed 1 -n 8 --end-id 3

echo
echo "== b4k-extract: CasRel-style triple extraction fitted on data/extract/spo_demo.json"
b4k-extract train --task spo --format lic2019 --config "$TOP/data/extract/config.json" \
  --vocab "$TOP/data/extract/vocab.txt" --dropout 0 --epochs 60 --batch-size 4 \
  --lr 1e-2 --seed 3 -o spo.b4k "$TOP/data/extract/spo_demo.json" 2>&1 | tail -1
echo '{"text":"周星驰出生于香港"}' | b4k-extract predict -m spo.b4k

echo
echo "== b4k-convert --info: the self-describing .b4k file of that model (first tensors)"
b4k-convert --info spo.b4k | head -4
