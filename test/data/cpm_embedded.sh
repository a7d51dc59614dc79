#!/usr/bin/env bash
# Data test (make check): a CPM model converted with
#   b4k-convert --arch cpm --spm chinese_vocab.model
# embeds the SentencePiece model and jieba's data (tokenizer.spm,
# tokenizer.jieba), and that model alone tokenizes as CPM-Generate's
# tokenizer (test/ref/cpm_ref.py): b4k-tokenize --model MODEL.b4k on 300
# corpus lines, and b4k-generate's prompt ("prompt_tokens") and decoded text.
# The embedded jieba data is the one used: a model embedding data with a user
# word must cut as --jieba with that data does, and differently from the
# default.  SKIPs when ../shared/data, python3-jieba or the Python modules
# are absent.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
BUILD=${B4K_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
PY=/usr/bin/python3
G=$TOP/test/golden/convert
skip() { echo "SKIP: cpm embedded tokenizer: $*"; exit 0; }
[ -n "$DATA" ] && [ -d "$DATA" ] || skip "../shared/data not found"
M=$DATA/vocab/cpm/chinese_vocab.model
C=$DATA/corpus/zh-modern.txt.zst
[ -f "$M" ] && [ -f "$C" ] || skip "vocab/cpm/chinese_vocab.model or corpus/zh-modern.txt.zst not found"
$PY -c 'import jieba, sentencepiece' 2>/dev/null || skip "python3-jieba or python3-sentencepiece not installed"
[ -f /usr/lib/python3/dist-packages/jieba/dict.txt ] || skip "python3-jieba's dict.txt not found"
[ -x "$BUILD/tools/jieba-data" ] || skip "$BUILD/tools/jieba-data not built"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, then a command that succeeds when it passes
  local n=$1; shift
  if "$@"; then echo "PASS: cpm embedded: $n"; else echo "FAIL: cpm embedded: $n"; fail=1; fi
}
unset B4K_JIEBA
shards=("$G/cpm/mp_rank_00_model_states.pt" "$G/cpm/mp_rank_01_model_states.pt")
"$BIN/b4k-convert" --arch cpm --config "$G/cpm_config.json" --spm "$M" -o "$tmp/m.b4k" \
  "${shards[@]}" || { echo "FAIL: cpm embedded: convert"; exit 1; }
check "header names tokenizer.spm and tokenizer.jieba" \
  grep -q '"tokenizer":{"kind":"cpm","model":"tokenizer.spm","jieba":"tokenizer.jieba"}' \
  <("$BIN/b4k-convert" --info "$tmp/m.b4k" | head -1)

# 300 lines: b4k-tokenize with only the model == the Python reference
zstd -dc "$C" | head -n 300 > "$tmp/in.txt"
"$PY" "$TOP/test/ref/cpm_ref.py" "$M" < "$tmp/in.txt" > "$tmp/ref"
# a copy of the program in an empty folder: no data file beside it
mkdir -p "$tmp/alone/bin" && cp "$BIN/b4k-tokenize" "$BIN/b4k-generate" "$tmp/alone/bin/"
(cd "$tmp/alone" && ./bin/b4k-tokenize -k cpm --model "$tmp/m.b4k" --no-offsets "$tmp/in.txt") |
  sed 's/^{"ids":\[//; s/\]}$//; s/,/ /g' > "$tmp/b4k"
check "b4k-tokenize --model MODEL.b4k == cpm_ref.py ($(wc -l < "$tmp/in.txt") lines)" \
  cmp -s "$tmp/b4k" "$tmp/ref"

# b4k-generate: the tiny model's vocabulary is 40 ids, so prompts use those
printf '%s\n' '我是你的,我和你都在' '他也是,你就不在。' '我对你、他和人都有' > "$tmp/p.txt"
"$PY" "$TOP/test/ref/cpm_ref.py" "$M" < "$tmp/p.txt" | awk '{print NF}' > "$tmp/plen.ref"
"$PY" -c 'import json, sys
for l in sys.stdin: print(json.dumps({"prompt": l.rstrip("\n")}, ensure_ascii=False))' \
  < "$tmp/p.txt" > "$tmp/p.jsonl"
(cd "$tmp/alone" && ./bin/b4k-generate -m "$tmp/m.b4k" -n 4 --temperature 0 "$tmp/p.jsonl") \
  > "$tmp/gen.jsonl" || echo "FAIL: cpm embedded: b4k-generate failed"
"$PY" -c 'import json, sys
for l in open(sys.argv[1]): print(json.loads(l)["prompt_tokens"])' "$tmp/gen.jsonl" > "$tmp/plen"
check "b4k-generate prompt lengths == cpm_ref.py" cmp -s "$tmp/plen" "$tmp/plen.ref"
"$PY" -c 'import json, sys
for l in open(sys.argv[1]): print(" ".join(map(str, json.loads(l)["ids"])))' "$tmp/gen.jsonl" \
  > "$tmp/gids"
"$PY" -c 'import json, sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l)["text"], ensure_ascii=False))' \
  "$tmp/gen.jsonl" > "$tmp/gtext"
"$PY" "$TOP/test/ref/cpm_ref.py" "$M" --decode < "$tmp/gids" > "$tmp/gtext.ref" 2>/dev/null
check "b4k-generate text == cpm_ref.py decode of its ids" cmp -s "$tmp/gtext" "$tmp/gtext.ref"

# the embedded jieba data is the one used (a user word changes the cut)
printf '我是你 100000000\n' > "$tmp/u.txt"
"$BUILD/tools/jieba-data" -u "$tmp/u.txt" "$tmp/user.b4kj" 2>/dev/null
"$BIN/b4k-convert" --arch cpm --config "$G/cpm_config.json" --spm "$M" --jieba "$tmp/user.b4kj" \
  -o "$tmp/u.b4k" "${shards[@]}" || { echo "FAIL: cpm embedded: convert --jieba"; exit 1; }
a=$(head -1 "$tmp/p.txt" | "$BIN/b4k-tokenize" -k cpm --model "$tmp/u.b4k" --no-offsets)
b=$(head -1 "$tmp/p.txt" | "$BIN/b4k-tokenize" -k cpm --model "$M" --jieba "$tmp/user.b4kj" --no-offsets)
c=$(head -1 "$tmp/p.txt" | "$BIN/b4k-tokenize" -k cpm --model "$M" --no-offsets)
check "embedded user word used ($a)" test -n "$a" -a "$a" = "$b" -a "$a" != "$c"
# --jieba still comes first
d=$(head -1 "$tmp/p.txt" | "$BIN/b4k-tokenize" -k cpm --model "$tmp/u.b4k" \
    --jieba /usr/lib/python3/dist-packages/jieba --no-offsets)
check "--jieba overrides the embedded data" test "$d" = "$c"
exit $fail
