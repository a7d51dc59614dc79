#!/usr/bin/env bash
# Real checkpoints with toy weights (../shared/data/models): convert with
# b4k-convert, generate greedily with b4k-generate, and compare every token's
# log-probability (and that it is an argmax) with torch on the original file.
set -u
M=$DATA/models
if [ -z "${DATA:-}" ] || [ ! -d "$M/tiny-gpt2-hf" ]; then echo "SKIP: data/generate: no ../shared/data"; exit 0; fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then echo "SKIP: data/generate: no python3-torch"; exit 0; fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
check() { # name kind dir convert-input prompts...
  local name=$1 kind=$2 dir=$3 src=$4; shift 4
  if ! b4k-convert -o "$W/$name.b4k" "$src" 2> "$W/err"; then
    echo "FAIL: data/generate: b4k-convert $name: $(head -c 300 "$W/err")"; return
  fi
  : > "$W/p.jsonl"
  for p in "$@"; do echo "{\"id\":[$p],\"prompt_ids\":[$p]}" >> "$W/p.jsonl"; done
  for t in 1 2; do
    if ! b4k-generate -m "$W/$name.b4k" -t $t --temperature 0 --ignore-eos --logprobs -n 12 "$W/p.jsonl" > "$W/out" 2> "$W/err"; then
      echo "FAIL: data/generate: b4k-generate $name: $(head -c 300 "$W/err")"; continue
    fi
    /usr/bin/python3 "$TOP/test/ref/gpt2_check.py" $kind "$dir" "$W/out" | sed -E "s#^(PASS|FAIL): #\1: data/generate: $t thread(s): #"
  done
}
check tiny-hf hf "$M/tiny-gpt2-hf" "$M/tiny-gpt2-hf/model.safetensors" "15496,11,616,1438,318" "464" "50256,1,2,3,4,5,6,7,8,9"
check keras-toy tf "$M/keras-gpt2-toy-checkpoint" "$M/keras-gpt2-toy-checkpoint/model.ckpt" "1,2,3" "100,200,300,355,0" "7"
# text in, through the tokenizer embedded by b4k-convert
out=$(echo '{"id":"t","prompt":"Hello, my name is"}' | b4k-generate -m "$W/tiny-hf.b4k" --temperature 0 -n 4)
case $out in *'"text":"'*'"prompt_tokens":5'*) echo "PASS: data/generate: text prompt through the embedded BPE";;
  *) echo "FAIL: data/generate: text prompt: $out";; esac
# stop strings: cut the text where the stop string starts, finish_reason stop
full=$(echo '{"id":"s","prompt":"Hello, my name is"}' | b4k-generate -m "$W/tiny-hf.b4k" --temperature 0 -n 6)
word=$(echo "$full" | /usr/bin/python3 -c 'import json,sys; t=json.loads(sys.stdin.read())["text"]; print(t.split()[1] if len(t.split())>1 else "")')
cut=$(echo '{"id":"s","prompt":"Hello, my name is"}' | b4k-generate -m "$W/tiny-hf.b4k" --temperature 0 -n 6 --stop "$word")
if echo "$full $cut" | /usr/bin/python3 -c '
import json,sys
a,b=[json.loads(l) for l in sys.stdin.read().replace("} {","}\n{").splitlines()]
w=sys.argv[1]
i=a["text"].find(w)
assert w and i>=0 and b["text"]==a["text"][:i], (a,b)
assert b["finish_reason"]=="stop" and b["ids"]==a["ids"][:len(b["ids"])] and len(b["ids"])<len(a["ids"])
' "$word"; then echo "PASS: data/generate: --stop \"$word\" cuts the text"; else echo "FAIL: data/generate: --stop: $full / $cut"; fi
# a few-shot template over the embedded tokenizer: the prompt is the filled template
printf 'Q: one\nA: 1\nQ: {input}\nA:' > "$W/t.txt"
out=$(echo '{"id":1,"input":"two"}' | b4k-generate -m "$W/tiny-hf.b4k" --template "$W/t.txt" --temperature 0 -n 2)
n=$(printf 'Q: one\nA: 1\nQ: two\nA:' | b4k-tokenize -k bpe -v "$M/tiny-gpt2-hf/vocab.json" -m "$M/tiny-gpt2-hf/merges.txt" --no-offsets 2>/dev/null | grep -o '"ids":\[[0-9,]*\]' | tr ',' '\n' | wc -l)
n=$((n + 3)) # b4k-tokenize reads lines: add the three "\n" tokens (id 198 each)
case $out in *"\"prompt_tokens\":$n,"*) echo "PASS: data/generate: --template ($n prompt tokens, as b4k-tokenize counts + 3 newlines)";;
  *) echo "FAIL: data/generate: --template: $out (expected $n prompt tokens)";; esac
