# --info on an original TF checkpoint: header line, mapped names, transposes
b4k-convert --info "$TOP/test/golden/convert/tf_bert.ckpt" > info.jsonl || exit 1
head -1 info.jsonl | sed 's/"file":"[^"]*",//'
grep -c '"b4k_name"' info.jsonl
grep '"bert/encoder/layer_1/intermediate/dense/kernel"' info.jsonl
