# The kernels of every CPU level (B4K_CPU=scalar, avx2, avx512 and the
# machine's best) give the same ids and logprobs within 1e-3 for f32, bf16
# and q8 weights. The levels this CPU lacks are capped to what it has, so
# the output below does not depend on the machine; it does catch a test
# that pins one level's rounding (the 6th digit differs between levels).
printf '%s\n' '{"id":0,"prompt_ids":[5,17,99,3,42,8,77]}' '{"id":1,"prompt_ids":[64],"temperature":0.8}' > p.jsonl
for dt in "" -bf16 -q8; do
  M=$TOP/test/golden/gen/tiny-gpt2$dt.b4k
  for lv in scalar avx2 avx512 best; do
    cap=$lv; [ $lv = best ] && cap=
    B4K_CPU=$cap b4k-generate -m "$M" --seed 3 --logprobs --ignore-eos -n 8 p.jsonl |
      sed -E 's/"(prefill_)?tokens_per_s":[0-9.]+,?//g' > $lv
    sed -E 's/"logprobs":.*//' $lv > $lv.ids
    sed -E 's/.*"logprobs":\[//; s/\]\}$//; s/,/ /g' $lv > $lv.lp
  done
  ok=1
  for lv in avx2 avx512 best; do
    cmp -s scalar.ids $lv.ids || { echo "tiny-gpt2$dt: ids differ, scalar vs $lv"; ok=0; }
    paste -d' ' scalar.lp $lv.lp | awk -v lv=$lv '{ n = NF / 2; if (n < 8) bad = 1
      for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-3) bad = 1 } }
      END { if (bad || NR != 2) { print "logprobs differ, scalar vs " lv; exit 1 } }' || ok=0
  done
  [ $ok = 1 ] && echo "tiny-gpt2$dt: the same at every CPU level"
  cut -c1-60 scalar.ids
done
