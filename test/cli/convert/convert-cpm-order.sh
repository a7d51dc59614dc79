# the rank of a shard is the mp_rank_NN in its path, not its place on the
# command line: shards given in reverse order give the same bytes, in the
# DeepSpeed (mp_rank_NN_model_states.pt) and Megatron (mp_rank_NN/) layouts
G="$TOP/test/golden/convert"
R0="$G/cpm/mp_rank_00_model_states.pt" R1="$G/cpm/mp_rank_01_model_states.pt"
cv() { b4k-convert --arch cpm --no-discover --config "$G/cpm_config.json" "$@"; }
cv -o in-order.b4k "$R0" "$R1" || exit 1
cv -o reversed.b4k "$R1" "$R0" || exit 1
cmp in-order.b4k reversed.b4k || exit 1
mkdir -p ckpt/mp_rank_00 ckpt/mp_rank_01
ln -s "$R0" ckpt/mp_rank_00/model_optim_rng.pt
ln -s "$R1" ckpt/mp_rank_01/model_optim_rng.pt
cv -o m1.b4k ckpt/mp_rank_00/model_optim_rng.pt ckpt/mp_rank_01/model_optim_rng.pt || exit 1
cv -o m2.b4k ckpt/mp_rank_01/model_optim_rng.pt ckpt/mp_rank_00/model_optim_rng.pt || exit 1
cmp m1.b4k m2.b4k || exit 1
# the same tensors as the DeepSpeed names (only source.files differs)
b4k-convert --info m1.b4k | tail -n +2 > m1.info
b4k-convert --info in-order.b4k | tail -n +2 > in-order.info
cmp m1.info in-order.info && echo ok
