# Shared by parity_spm.sh, parity_jieba.sh and parity_cpm.sh (sourced).
# Sets TOP BIN DATA SAMPLE; corpora in $tmp/<name>.txt; functions to run the
# Python references (cached for whole corpora under $B4K_REF_CACHE, default
# /tmp/b4k-ref-cache, keyed by corpus, kind and model checksum) and to count
# mismatching lines.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
DATA=${DATA:-}
[ -z "$DATA" ] && [ -d "$TOP/../shared/data" ] && DATA=$(cd "$TOP/../shared/data" && pwd)
SAMPLE=0
[ "${1:-}" = "--sample" ] && SAMPLE=${2:?--sample N}
PY=/usr/bin/python3
CACHE=${B4K_REF_CACHE:-/tmp/b4k-ref-cache}
skip() { echo "SKIP: $AREA parity: $*"; exit 0; }
[ -n "$DATA" ] && [ -d "$DATA/corpus" ] || skip "../shared/data not found"
[ -x "$PY" ] || skip "/usr/bin/python3 not installed"
[ -x "$BIN/b4k-tokenize" ] || { echo "FAIL: $AREA parity: $BIN/b4k-tokenize not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
corpora=()
for f in "$DATA/corpus/zh-modern.txt.zst" "$DATA"/corpus/zh-classic-novels/*.txt.zst \
         "$DATA"/corpus/chinese-poetry/*.txt.zst; do
  [ -f "$f" ] || continue
  n=$(basename "$f" .txt.zst)
  if [ "$SAMPLE" -gt 0 ]; then
    # a sample: every 7th of the first 7N lines of each corpus, all in one
    # file (one run of each reference)
    zstd -dc "$f" | head -n $((SAMPLE * 7)) | awk 'NR % 7 == 1' >> "$tmp/sample.txt"
  else
    zstd -dc "$f" > "$tmp/$n.txt"
    corpora+=("$n")
  fi
done
[ "$SAMPLE" -gt 0 ] && [ -s "$tmp/sample.txt" ] && corpora=(sample)
[ ${#corpora[@]} -gt 0 ] || skip "no corpora found"
bad_total=0
report() { # label mismatches lines
  local what="$AREA parity $1: mismatches: $2 of $3 lines"
  if [ "$SAMPLE" -gt 0 ]; then
    if [ "$2" = 0 ]; then echo "PASS: $what"; else echo "FAIL: $what"; fi
  else
    echo "$what"
  fi
  [ "$2" = 0 ] || bad_total=$((bad_total + 1))
}
count_diff() { # a b -> differing lines (a missing line counts); shows the first two
  paste -d '\n' "$1" "$2" | awk 'NR%2{x=$0;next} $0!=x{n++; if(n<=2) printf "  line %d:\n    b4k  %s\n    ref  %s\n", NR/2, substr(x,1,300), substr($0,1,300) > "/dev/stderr"} END{print n+0}'
}
lines() { wc -l < "$1" | tr -d ' '; }
# ref NAME KEY CMD...: the reference's output for corpus NAME into $tmp/ref,
# from the cache when the whole corpus is used.
ref() {
  local name=$1 key=$2; shift 2
  if [ "$SAMPLE" -gt 0 ]; then "$@" < "$tmp/$name.txt" > "$tmp/ref"; return; fi
  mkdir -p "$CACHE"
  local c=$CACHE/$name.$key
  if [ ! -s "$c" ]; then
    nice "$@" < "$tmp/$name.txt" > "$c.tmp.$$" && mv "$c.tmp.$$" "$c" || { rm -f "$c.tmp.$$"; return 1; }
  fi
  cp "$c" "$tmp/ref"
}
ids_only() { sed 's/^{"ids":\[//; s/\]}$//; s/,/ /g'; }
