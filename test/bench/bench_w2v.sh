#!/usr/bin/env bash
# b4k-w2v against fastText (Debian package), measured side by side in one run.
#
# English: ../shared/data/w2v/en-large.txt.zst (16.3 M words of Wikipedia),
# normalised the same way for both tools: lower-cased, and every run of
# characters that are neither letters nor digits (punctuation, symbols)
# replaced by one space (perl \p{L}\p{N}); one paragraph per line.
# Settings (the issue's): dim 200, window 5, negative 5, min-count 5,
# sample 1e-4, 1 epoch, 2 threads; fastText -minn 0 -maxn 0 (pure word2vec);
# the same learning rate for both: fastText's default 0.05 (-lr 0.05, b4k
# --alpha 0.05; word2vec.c's skip-gram default 0.025 scores lower after one
# epoch: W2V_ALPHA overrides b4k's).  Both models are evaluated by the same code (b4k-w2v eval reads
# fastText's .vec with its word2vec-text reader): questions-words.txt,
# 3CosAdd, vocabulary restricted to the 30000 most frequent words, case
# folded, as compute-accuracy does.
#
# Chinese: corpus/zh-modern.txt.zst in --chars mode; fastText gets the same
# tokens (every CJK character split off by perl); and jieba words (python3-
# jieba) on a slice; CBOW (set ZH_MODEL).
#
# words/s/thread = corpus tokens / wall seconds of the whole run / threads
# (the same formula for both); b4k's own training-only rate and fastText's
# reported rate are shown too.  Also user CPU seconds (robust when the
# machine is shared) and peak RSS from /usr/bin/time -v.
# Env: W2V_EN=FILE.zst replaces the English corpus (smoke tests),
#      W2V_SKIP_1T=1 skips the 1-thread runs (2-thread speedup),
#      W2V_SKIP_ZH=1 skips Chinese.
set -u
if [ -z "${DATA:-}" ] || [ ! -f "$DATA/w2v/en-large.txt.zst" ]; then
  echo "SKIP: w2v bench: ../shared/data/w2v/en-large.txt.zst not found"; exit 0; fi
command -v fasttext > /dev/null || { echo "SKIP: w2v bench: fasttext not installed (apt-get install fasttext)"; exit 0; }
[ -x /usr/bin/time ] || { echo "SKIP: w2v bench: /usr/bin/time missing (apt-get install time)"; exit 0; }
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-bench-w2v.XXXXXX"); trap 'rm -rf "$W"' EXIT
Q=$DATA/w2v/questions-words.txt
# a private copy of the binary: a rebuild in the shared tree must not hit a run
mkdir -p "$W/bin" && cp "$(command -v b4k-w2v)" "$W/bin/" && PATH="$W/bin:$PATH"
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare ratios, not absolute times)"

zstd -dc "${W2V_EN:-$DATA/w2v/en-large.txt.zst}" | perl -CSD -pe '$_ = lc; s/[^\p{L}\p{N}\n]+/ /g' > "$W/en.txt"
NW=$(wc -w < "$W/en.txt")
echo "English corpus: $NW tokens after normalisation"

# run NAME CMD...: time a command, keep its stdout/stderr and time -v output
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2> "$W/$name.err"
  local rc=$?
  [ $rc -eq 0 ] || { echo "  $name failed (exit $rc):"; tail -3 "$W/$name.err" | sed 's/^/    /'; }
  return $rc
}
wall() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/$1.time"; }
user() { awk -F': ' '/User time/{print $2}' "$W/$1.time"; }
rss()  { awk -F': ' '/Maximum resident/{printf "%.0f", $2/1024}' "$W/$1.time"; }
acc()  { b4k-w2v eval --analogy "$Q" "$1" | /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)["analogy"]["total"]; print("%.2f %.2f %d" % (t["accuracy"], t["accuracy_all"], t["seen"]))'; }
ftrate() { tr '\r' '\n' < "$W/$1.err" | grep -o 'words/sec/thread: *[0-9]*' | tail -1 | grep -o '[0-9]*$'; }
row() { # label name threads accuracy-line [own-rate]
  local w u r
  w=$(wall "$2"); u=$(user "$2"); r=$(rss "$2")
  printf '  %-22s wall %7.1f s  user %7.1f s  %8.0f words/s/thread  (own %s)  peak %5s MiB  analogy %s\n' \
    "$1" "$w" "$u" "$(calc "$NW / $w / $3")" "${5:-?}" "$r" "$4"
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

S="--dim 200 --window 5 --negative 5 --min-count 5 --sample 1e-4 --iter 1 --alpha ${W2V_ALPHA:-0.05}"
F="-dim 200 -ws 5 -neg 5 -minCount 5 -t 1e-4 -epoch 1 -minn 0 -maxn 0 -lr 0.05"
for M in skipgram cbow; do
  echo; echo "-- $M, 2 threads: b4k-w2v train --model $M $S --threads 2 | fasttext $M $F -thread 2"
  run b4k_$M b4k-w2v train --model $M $S --threads 2 -o "$W/b4k_$M.b4k" "$W/en.txt" || continue
  run ft_$M fasttext $M -input "$W/en.txt" -output "$W/ft_$M" $F -thread 2 || continue
  ab=$(acc "$W/b4k_$M.b4k"); af=$(acc "$W/ft_$M.vec")
  own=$(grep -o '"words_per_sec_thread":[0-9]*' "$W/b4k_$M.out" | cut -d: -f2)
  row "b4k $M" b4k_$M 2 "$ab (acc% over seen, over all, seen)" "$own"
  row "fastText $M" ft_$M 2 "$af" "$(ftrate ft_$M)"
  echo "  ratio b4k/fastText: speed (wall) $(ratio "$(wall ft_$M)" "$(wall b4k_$M)")x," \
       "CPU $(ratio "$(user ft_$M)" "$(user b4k_$M)")x, memory $(ratio "$(rss b4k_$M)" "$(rss ft_$M)")x," \
       "accuracy $(awk "BEGIN { printf \"%+.2f\", ${ab%% *} - ${af%% *} }") points"
  if [ -z "${W2V_SKIP_1T:-}" ]; then
    run b4k1_$M b4k-w2v train --model $M $S --threads 1 -o "$W/b4k1_$M.b4k" "$W/en.txt" || continue
    own1=$(grep -o '"words_per_sec_thread":[0-9]*' "$W/b4k1_$M.out" | cut -d: -f2)
    row "b4k $M 1 thread" b4k1_$M 1 "$(acc "$W/b4k1_$M.b4k")" "$own1"
    echo "  2-thread speedup (b4k training rate): $(ratio "$((own * 2))" "$own1")x;" \
         "wall $(ratio "$(wall b4k1_$M)" "$(wall b4k_$M)")x"
  fi
  rm -f "$W"/*.b4k "$W"/*.bin "$W"/*.vec
done

if [ -z "${W2V_SKIP_ZH:-}" ] && [ -f "$DATA/corpus/zh-modern.txt.zst" ]; then
  M=${ZH_MODEL:-cbow}
  zstd -dc "$DATA/corpus/zh-modern.txt.zst" > "$W/zh.txt"
  # the same tokens for fastText: split off every character b4k --chars splits
  perl -CSD -pe 's/([\x{2E80}-\x{9FFF}\x{AC00}-\x{D7AF}\x{F900}-\x{FAFF}\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}\x{20000}-\x{3FFFF}])/ $1 /g; s/\x{3000}/ /g' "$W/zh.txt" > "$W/zh-split.txt"
  NW=$(wc -w < "$W/zh-split.txt")
  echo; echo "-- Chinese --chars, $M, 2 threads ($NW tokens): b4k-w2v train --chars --model $M $S --threads 2 | fasttext $M $F -thread 2 (pre-split)"
  if run b4k_zh b4k-w2v train --chars --model $M $S --threads 2 -o "$W/b4k_zh.b4k" "$W/zh.txt" &&
     run ft_zh fasttext $M -input "$W/zh-split.txt" -output "$W/ft_zh" $F -thread 2; then
    own=$(grep -o '"words_per_sec_thread":[0-9]*' "$W/b4k_zh.out" | cut -d: -f2)
    vb=$(grep -o '"vocab":[0-9]*' "$W/b4k_zh.out" | cut -d: -f2); vf=$(head -1 "$W/ft_zh.vec" | cut -d' ' -f1)
    row "b4k zh $M" b4k_zh 2 "- (vocab $vb)" "$own"
    row "fastText zh $M" ft_zh 2 "- (vocab $vf, with </s>)" "$(ftrate ft_zh)"
    echo "  ratio b4k/fastText: speed (wall) $(ratio "$(wall ft_zh)" "$(wall b4k_zh)")x, CPU $(ratio "$(user ft_zh)" "$(user b4k_zh)")x"
    printf '中\n国\n水\n' | b4k-w2v nearest -k 5 "$W/b4k_zh.b4k" | sed 's/^/  b4k: /'
    printf '中\n国\n水\n' | b4k-w2v nearest -k 5 "$W/ft_zh.vec" | sed 's/^/  fastText: /'
  fi
fi
# Chinese words: jieba (python3-jieba) segments a slice of the same text for both
# tools (jieba in Python is slow: 20 MB by default, W2V_ZH_JIEBA_BYTES)
if [ -z "${W2V_SKIP_ZH:-}" ] && [ -f "$W/zh.txt" ] && /usr/bin/python3 -c 'import jieba' 2> /dev/null; then
  M=${ZH_MODEL:-cbow}
  head -c "${W2V_ZH_JIEBA_BYTES:-20000000}" "$W/zh.txt" | /usr/bin/python3 -c '
import sys, logging, jieba
jieba.setLogLevel(logging.ERROR)
for line in sys.stdin:
    print(" ".join(w for w in jieba.cut(line.rstrip("\n")) if w.strip()))' > "$W/zh-words.txt"
  NW=$(wc -w < "$W/zh-words.txt")
  echo; echo "-- Chinese jieba words, $M, 2 threads ($NW tokens, first ${W2V_ZH_JIEBA_BYTES:-20000000} bytes): b4k-w2v train --model $M $S --threads 2 | fasttext $M $F -thread 2"
  if run b4k_zhw b4k-w2v train --model $M $S --threads 2 -o "$W/b4k_zhw.b4k" "$W/zh-words.txt" &&
     run ft_zhw fasttext $M -input "$W/zh-words.txt" -output "$W/ft_zhw" $F -thread 2; then
    own=$(grep -o '"words_per_sec_thread":[0-9]*' "$W/b4k_zhw.out" | cut -d: -f2)
    row "b4k zh words $M" b4k_zhw 2 "-" "$own"
    row "fastText zh words $M" ft_zhw 2 "-" "$(ftrate ft_zhw)"
    echo "  ratio b4k/fastText: speed (wall) $(ratio "$(wall ft_zhw)" "$(wall b4k_zhw)")x, CPU $(ratio "$(user ft_zhw)" "$(user b4k_zhw)")x"
    printf '中国\n音乐\n' | b4k-w2v nearest -k 5 "$W/b4k_zhw.b4k" | sed 's/^/  b4k: /'
    printf '中国\n音乐\n' | b4k-w2v nearest -k 5 "$W/ft_zhw.vec" | sed 's/^/  fastText: /'
  fi
fi
echo; echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
