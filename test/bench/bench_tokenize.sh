#!/usr/bin/env bash
# make bench: b4k-tokenize vs HuggingFace tokenizers (Rust core through the
# npm binding @anush008/tokenizers, encodeBatch, i.e. batched and with its
# own thread pool capped by RAYON_NUM_THREADS) and gpt-3-encoder, measured in
# the same run on the same text:
#   WordPiece bert-base-chinese, with offsets, on $MB MB of corpus/zh-modern
#   WordPiece bert-base-uncased, with offsets, on $MB MB of w2v/en-large
#   GPT-2 BPE on $MB MB of w2v/en-large (gpt-3-encoder on $GMB MB: it is slow)
# each with 1 and 2 threads.  b4k's time is wall clock for the whole command
# (vocab load, reading, writing JSONL to /dev/null); HF's is the encode time
# the node script measures (load and file reading excluded).  CPU MB/s is
# bytes over user+sys seconds: the per-thread rate, robust on a loaded box.
# Then the peak RSS of a 100 MB stream (memory must not grow with input).
# B4K_BENCH_MB overrides the 50 MB.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
DATA=${DATA:-}
[ -z "$DATA" ] && [ -d "$TOP/../shared/data" ] && DATA=$(cd "$TOP/../shared/data" && pwd)
MB=${B4K_BENCH_MB:-50}
GMB=$(( MB < 10 ? MB : 10 ))
NODE=$TOP/test/node
[ -n "$DATA" ] || { echo "SKIP: bench tokenize: ../shared/data not found"; exit 0; }
peer=1
command -v node >/dev/null && [ -d "$NODE/node_modules/@anush008/tokenizers" ] || { peer=0; echo "note: node peers missing, b4k figures only"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cut_mb() { head -c $(( $1 * 1000000 )) | sed '$d'; } # whole lines only
zstd -dc "$DATA/corpus/zh-modern.txt.zst" | cut_mb "$MB" > "$tmp/zh.txt"
zstd -dc "$DATA/w2v/en-large.txt.zst" | cut_mb "$MB" > "$tmp/en.txt"
head -c $(( GMB * 1000000 )) "$tmp/en.txt" | sed '$d' > "$tmp/en-small.txt"
V=$DATA/vocab
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: wall times are noisy, compare ratios)"

# b4k run: prints "mbps cpu_mbps tokens"
b4k_run() { # threads file args...
  local t=$1 f=$2; shift 2
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$BIN/b4k-tokenize" -t "$t" --progress "$@" "$f" \
    > /dev/null 2> "$tmp/err" || { echo "b4k-tokenize failed: $(tail -1 "$tmp/err")" >&2; return 1; }
  local bytes=$(stat -c %s "$f") tok
  tok=$(tr '\r' '\n' < "$tmp/err" | grep -oE '[0-9]+ tokens' | tail -1 | cut -d' ' -f1)
  read -r e u s < "$tmp/time"
  awk -v b="$bytes" -v e="$e" -v u="$u" -v s="$s" -v k="$tok" \
    'BEGIN { printf "%.1f %.1f %d %.2f\n", b/1e6/(e>0?e:0.01), b/1e6/((u+s)>0?(u+s):0.01), k, e }'
}
hf_run() { # threads kind args... < file ; prints "mbps tokens seconds"
  local t=$1; shift
  RAYON_NUM_THREADS=$t RAYON_RS_NUM_CPUS=$t node "$NODE/hf_tok.js" "$@" --quiet --batch 1000 2>&1 >/dev/null |
    tail -1 | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log((r.bytes/1e6/r.seconds).toFixed(2), r.tokens, r.seconds.toFixed(2), (r.bytes/1e6/r.cpu).toFixed(2))'
}
g3_run() { # < file
  node "$NODE/gpt3_encode.js" --quiet 2>&1 >/dev/null | tail -1 |
    node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log((r.bytes/1e6/r.seconds).toFixed(2), r.tokens, r.seconds.toFixed(2))'
}

bench() { # label file hfkind hfargs... -- b4kargs...
  local label=$1 f=$2; shift 2
  local hfargs=() b4kargs=()
  while [ "$1" != -- ]; do hfargs+=("$1"); shift; done; shift
  b4kargs=("$@")
  echo
  echo "$label, $(( $(stat -c %s "$f") / 1000000 )) MB:"
  local b1 b2 h1 h2
  b1=$(b4k_run 1 "$f" "${b4kargs[@]}") || return
  b2=$(b4k_run 2 "$f" "${b4kargs[@]}") || return
  set -- $b1; local b1m=$1 b1c=$2 tok=$3
  set -- $b2; local b2m=$1
  printf '  b4k 1 thread : %7.1f MB/s wall, %6.1f MB/s per CPU-second, %6.2f M tokens/s\n' "$b1m" "$b1c" "$(awk -v m="$b1m" -v k="$tok" -v f="$(stat -c %s "$f")" 'BEGIN{print k/(f/1e6/m)/1e6}')"
  printf '  b4k 2 threads: %7.1f MB/s wall, %6.2f M tokens/s, speed-up %.2fx over 1 thread\n' "$b2m" "$(awk -v m="$b2m" -v k="$tok" -v f="$(stat -c %s "$f")" 'BEGIN{print k/(f/1e6/m)/1e6}')" "$(awk -v a="$b2m" -v b="$b1m" 'BEGIN{print a/b}')"
  if [ $peer = 1 ]; then
    h1=$(hf_run 1 "${hfargs[@]}" < "$f"); h2=$(hf_run 2 "${hfargs[@]}" < "$f")
    set -- $h1; local h1m=$1 htok=$2 h1s=$3 h1c=$4
    set -- $h2; local h2m=$1 h2s=$3
    printf '  HF  1 thread : %7.2f MB/s wall, %6.2f MB/s per CPU-second, %6.2f M tokens/s (batched)\n' "$h1m" "$h1c" "$(awk -v k="$htok" -v s="$h1s" 'BEGIN{print k/s/1e6}')"
    printf '  HF  2 threads: %7.2f MB/s wall, %6.2f M tokens/s (batched)\n' "$h2m" "$(awk -v k="$htok" -v s="$h2s" 'BEGIN{print k/s/1e6}')"
    printf '  b4k/HF: %.1fx (1 thread, wall), %.1fx (2 threads, wall), %.1fx (per CPU-second)\n' \
      "$(awk -v a="$b1m" -v b="$h1m" 'BEGIN{print a/b}')" "$(awk -v a="$b2m" -v b="$h2m" 'BEGIN{print a/b}')" \
      "$(awk -v a="$b1c" -v b="$h1c" 'BEGIN{print a/b}')"
    [ "$tok" = "$htok" ] || echo "  note: token counts differ (b4k $tok, HF $htok)"
  fi
}

bench "WordPiece bert-base-chinese (lower), ids+offsets, zh-modern" "$tmp/zh.txt" \
  wordpiece "$V/bert-base-chinese-vocab.txt" 1 -- -v "$V/bert-base-chinese-vocab.txt"
bench "WordPiece bert-base-uncased, ids+offsets, en-large" "$tmp/en.txt" \
  wordpiece "$V/bert-base-uncased-vocab.txt" 1 -- -v "$V/bert-base-uncased-vocab.txt"
bench "GPT-2 byte-level BPE, ids+offsets, en-large" "$tmp/en.txt" \
  bpe "$V/gpt2/encoder.json" "$V/gpt2/vocab.bpe" -- -k bpe -v "$V/gpt2/encoder.json" -m "$V/gpt2/vocab.bpe"
if [ $peer = 1 ] && [ -d "$NODE/node_modules/gpt-3-encoder" ]; then
  g=$(g3_run < "$tmp/en-small.txt"); set -- $g
  b=$(b4k_run 1 "$tmp/en-small.txt" -k bpe -v "$V/gpt2/encoder.json" -m "$V/gpt2/vocab.bpe"); set -- $b $g
  printf '  gpt-3-encoder on %d MB: %.2f MB/s (1 thread); b4k %.1f MB/s on the same text: %.1fx\n' "$GMB" "$5" "$1" "$(awk -v a="$1" -v b="$5" 'BEGIN{print a/b}')"
fi

echo
echo "memory: peak RSS of b4k-tokenize -t 2 (WordPiece) on a stream of zh-modern + en-large"
stream() { { zstd -dc "$DATA/corpus/zh-modern.txt.zst"; zstd -dc "$DATA/w2v/en-large.txt.zst"; } | head -c "$1"; }
for n in 10 100; do
  stream $(( n * 1000000 )) | /usr/bin/time -f "%M" -o "$tmp/rss" "$BIN/b4k-tokenize" -t 2 -v "$V/bert-base-chinese-vocab.txt" > /dev/null
  echo "  $n MB in: peak RSS $(( $(cat "$tmp/rss") / 1024 )) MB"
done
echo "  (flat: memory is bounded by the chunks in flight, 8 a thread (up to 64) of some 64 KB of text, not by the stream)"
