# merge two Megatron shards; the header names the architecture and config
G="$TOP/test/golden/convert"
b4k-convert --arch cpm --config "$G/cpm_config.json" -o cpm.b4k \
  "$G/cpm/mp_rank_00_model_states.pt" "$G/cpm/mp_rank_01_model_states.pt" || exit 1
b4k-convert --info cpm.b4k | head -1 | grep -o '"config":{[^}]*}'
b4k-convert --info cpm.b4k | grep -o '"name":"h.1.attn.c_attn.weight","dtype":"f32","shape":\[24,8\]'
