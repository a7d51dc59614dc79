G="$TOP/test/golden/convert"
b4k-convert --dtype int8 --config "$G/gpt2_config.json" -o q.b4k "$G/gpt2_hf.pt" || exit 3
b4k-convert --export safetensors -o q.safetensors q.b4k; rc=$?
[ ! -e q.safetensors ] || exit 9
exit $rc
