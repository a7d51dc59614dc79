#!/usr/bin/env bash
# make parity: b4k's GPT-2 / CPM forward against torch at full width.
#  - GPT-2 small shapes (random weights) saved as HF safetensors, and a
#    4-layer CPM-width model saved as a Megatron mp_rank_00 checkpoint;
#  - both converted with b4k-convert to f32, bf16 and q8;
#  - logits at every position of 3 prompts, through one prefill and through
#    prefill + one-token decode steps, against torch on the same (rounded)
#    weights.  Bounds (those man/b4k-generate.1 ACCURACY states for make
#    parity): f32 and bf16 1e-4; q8 1e-4 where the prompt takes the sgemm
#    path (over 8 tokens: weights expanded to f32), 0.1 where it takes the
#    int8 x int8 matvec path (activations quantised per block of 32).
#  B4K_PARITY_GEN="gpt2 cpm" picks the models.
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then echo "SKIP: parity/generate: no python3-torch"; exit 0; fi
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-parity-gen.XXXXXX"); trap 'rm -rf "$W"' EXIT
cc -O2 -Ilib -D_GNU_SOURCE test/parity/gpt2_logits.c lib/libb4k.a -lopenblas -lzstd -ljansson -lpthread -lm \
  -o "$W/gpt2_logits" || { echo "FAIL: parity/generate: cannot build the driver"; exit 1; }
fails=0
for kind in ${B4K_PARITY_GEN:-gpt2 cpm}; do
  case $kind in gpt2) V=50257; src="$W/$kind/model.safetensors"; arch=gpt2;;
                cpm) V=30000; src="$W/$kind/mp_rank_00_model_states.pt"; arch=cpm;; esac
  /usr/bin/python3 test/ref/gpt2_parity.py make $kind "$W/$kind" || { echo "FAIL: parity/generate: $kind model"; fails=1; continue; }
  for dt in f32 bf16 q8; do
    cdt=$dt; [ $dt = q8 ] && cdt=int8
    if ! bin/b4k-convert --arch $arch --config "$W/$kind/config.json" --dtype $cdt -o "$W/$kind-$dt.b4k" "$src" 2> "$W/err"; then
      echo "FAIL: parity/generate: b4k-convert $kind $dt: $(head -c 300 "$W/err")"; fails=1; continue
    fi
    /usr/bin/python3 test/ref/gpt2_parity.py logits $kind "$W/$kind" $dt "$W/torch-$dt.f32"
    for mode in 0 1; do
      "$W/gpt2_logits" "$W/$kind-$dt.b4k" "$W/$kind/prompts.txt" "$W/b4k.f32" 2 $mode || { fails=1; continue; }
      # the first two prompts are longer than 8 tokens: their prefill is sgemm
      big=$(head -2 "$W/$kind/prompts.txt" | wc -w)
      for part in all big; do
        [ $part = big ] && { [ $mode = 0 ] || continue; }
        rows=0; [ $part = big ] && rows=$big
        read -r d agree < <(/usr/bin/python3 test/ref/gpt2_parity.py compare "$W/b4k.f32" "$W/torch-$dt.f32" $V $rows)
        lim=1e-4; [ $dt = q8 ] && [ $part = all ] && lim=0.1 # keep = man/b4k-generate.1
        name="parity/generate: $kind $dt $( [ $mode = 0 ] && echo prefill || echo 'cached decode')$( [ $part = big ] && echo ' (sgemm path)')"
        if awk -v d="$d" -v l="$lim" 'BEGIN { exit !(d <= l) }'; then
          echo "PASS: $name: max|diff| $d (bound $lim), argmax agreement $agree"
        else
          echo "FAIL: $name: max|diff| $d > $lim, argmax agreement $agree"; fails=1
        fi
      done
    done
    rm -f "$W/$kind-$dt.b4k"
  done
  rm -rf "$W/$kind"
done
exit $fails
