#!/usr/bin/env bash
# SentencePiece and CPM tokenization speed on the same 50 MB of Chinese
# (the first 50 MB of corpus/zh-modern), one run each:
#   spm: b4k-tokenize -k spm (1 and 2 threads) vs spm_encode (C++, Debian
#        package sentencepiece) with the CPM vocabulary; ids must agree;
#   cpm: b4k-tokenize -k cpm (1 and 2 threads) vs the Python reference
#        (test/ref/cpm_ref.py: python3-jieba + python3-sentencepiece).
# Ratios use CPU time (user+sys) per thread, and wall time; peak RSS on 5 MB
# and on 50 MB shows memory staying flat in the stream length.
# B4K_BENCH_MB=N changes the 50.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
DATA=${DATA:-}
[ -z "$DATA" ] && [ -d "$TOP/../shared/data" ] && DATA=$(cd "$TOP/../shared/data" && pwd)
M=$DATA/vocab/cpm/chinese_vocab.model
[ -n "$DATA" ] && [ -f "$M" ] && [ -f "$DATA/corpus/zh-modern.txt.zst" ] || { echo "SKIP: bench spm: ../shared/data not found"; exit 0; }
MB=${B4K_BENCH_MB:-50}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
zstd -dc "$DATA/corpus/zh-modern.txt.zst" | head -c $((MB * 1000000)) | sed '$d' > "$tmp/in.txt"
head -c 5000000 "$tmp/in.txt" | sed '$d' > "$tmp/in5.txt"
bytes=$(wc -c < "$tmp/in.txt")
echo "input: $bytes bytes ($(wc -l < "$tmp/in.txt") lines) of corpus/zh-modern; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# run LABEL OUT CMD... -> sets W (wall s), C (cpu s), R (peak RSS KB)
run() {
  local label=$1 out=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$@" > "$out" 2> "$tmp/err" || { echo "$label: failed: $(head -c 300 "$tmp/err")"; return 1; }
  read -r W u s R < "$tmp/t"
  C=$(awk -v a="$u" -v b="$s" 'BEGIN{print a + b}')
  printf '%-34s wall %7.2f s  cpu %7.2f s  %7.2f MB/s/thread  rss %6d KB\n' "$label" "$W" "$C" \
    "$(div "${NB:-$bytes}" "$C" 1000000)" "$R"
}
div() { awk -v a="$1" -v b="$2" -v k="${3:-1}" 'BEGIN{printf "%.4f", (b > 0 ? a / b / k : 0)}'; }
ratio() { printf '  => %s: %.1fx per thread (cpu), %.1fx wall\n' "$1" "$(div "$2" "$3")" "$(div "$4" "$5")"; }

echo "-- SentencePiece (chinese_vocab.model: a unigram model)"
ok_peer=0
if command -v spm_encode >/dev/null; then
  run "spm_encode (C++)" "$tmp/peer.ids" spm_encode --model="$M" --output_format=id < "$tmp/in.txt" && { pw=$W; pc=$C; ok_peer=1; }
else
  echo "spm_encode: not installed (apt-get install sentencepiece)"
fi
run "b4k-tokenize -k spm -t 1" "$tmp/b4k1.jsonl" "$BIN/b4k-tokenize" -k spm --model "$M" --no-offsets -t 1 "$tmp/in.txt" && { bw=$W; bc1=$C; }
run "b4k-tokenize -k spm -t 2" "$tmp/b4k2.jsonl" "$BIN/b4k-tokenize" -k spm --model "$M" --no-offsets -t 2 "$tmp/in.txt" && bw2=$W
NB=$(wc -c < "$tmp/in5.txt") run "b4k-tokenize -k spm -t 1 (5 MB)" /dev/null "$BIN/b4k-tokenize" -k spm --model "$M" --no-offsets -t 1 "$tmp/in5.txt"
if [ "$ok_peer" = 1 ]; then
  sed 's/^{"ids":\[//; s/\]}$//; s/,/ /g' "$tmp/b4k1.jsonl" > "$tmp/b4k.ids"
  if cmp -s "$tmp/b4k.ids" "$tmp/peer.ids"; then echo "  ids identical to spm_encode's"; else echo "  ids DIFFER from spm_encode's"; fi
  ratio "b4k spm vs spm_encode (target >= 2x per thread)" "$pc" "$bc1" "$pw" "$bw"
  printf '  => 2 threads: %.1fx spm_encode wall\n' "$(div "$pw" "$bw2")"
fi

echo "-- CPM pipeline (jieba + U+2582/U+2583 + SentencePiece)"
ok_py=0
if /usr/bin/python3 -c 'import jieba, sentencepiece' 2>/dev/null; then
  run "python reference (cpm_ref.py)" "$tmp/py.ids" nice -n 0 /usr/bin/python3 "$TOP/test/ref/cpm_ref.py" "$M" < "$tmp/in.txt" && { yw=$W; yc=$C; ok_py=1; }
else
  echo "python3-jieba / python3-sentencepiece not installed: no reference row"
fi
run "b4k-tokenize -k cpm -t 1" "$tmp/c1.jsonl" "$BIN/b4k-tokenize" -k cpm --model "$M" --no-offsets -t 1 "$tmp/in.txt" && { cw=$W; cc=$C; }
run "b4k-tokenize -k cpm -t 2" "$tmp/c2.jsonl" "$BIN/b4k-tokenize" -k cpm --model "$M" --no-offsets -t 2 "$tmp/in.txt" && cw2=$W
NB=$(wc -c < "$tmp/in5.txt") run "b4k-tokenize -k cpm -t 1 (5 MB)" /dev/null "$BIN/b4k-tokenize" -k cpm --model "$M" --no-offsets -t 1 "$tmp/in5.txt"
if [ "$ok_py" = 1 ]; then
  sed 's/^{"ids":\[//; s/\]}$//; s/,/ /g' "$tmp/c1.jsonl" > "$tmp/c.ids"
  if cmp -s "$tmp/c.ids" "$tmp/py.ids"; then echo "  ids identical to the reference's"; else echo "  ids DIFFER from the reference's"; fi
  ratio "b4k cpm vs Python reference (target >= 20x)" "$yc" "$cc" "$yw" "$cw"
  printf '  => 2 threads: %.1fx the reference wall\n' "$(div "$yw" "$cw2")"
fi
