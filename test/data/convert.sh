#!/usr/bin/env bash
# Data test (make check): the real checkpoints in ../shared/data/models convert
# to .b4k bit-exactly at f32.  Every tensor listed in the fixture's
# TENSORS.txt (optimizer slots aside) is read with numpy straight from the
# checkpoint bytes at the listed offset, given the documented transpose,
# and compared byte for byte with the .b4k (parsed here independently of
# lib/model).  Also: .b4k -> safetensors -> .b4k is byte-identical.
# SKIPs when $DATA or /usr/bin/python3 with numpy is missing.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PATH="${BIN:-$TOP/bin}:$PATH"
M="$DATA/models"
if [ -z "$DATA" ] || [ ! -d "$M/keras-bert-test-checkpoint" ]; then
  echo "SKIP: data/convert: ../shared/data/models not found"; exit 0
fi
PY=/usr/bin/python3
if ! $PY -c 'import numpy' 2>/dev/null; then echo "SKIP: data/convert: numpy missing"; exit 0; fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

check() { # name b4k-file listing kind src
  if $PY - "$@" <<'PY' > "$W/log" 2>&1; then echo "PASS: data/convert: $1 ($(tail -1 "$W/log"))"; else echo "FAIL: data/convert: $1"; sed 's/^/  /' "$W/log" | tail -20; fi
import json, re, struct, sys
import numpy as np
name, b4k, listing, kind, src = sys.argv[1:6]

def read_b4k(p):
    b = open(p, "rb").read()
    assert b[:4] == b"B4K\0", "magic"
    ver, hl = struct.unpack_from("<IQ", b, 4)
    h = json.loads(b[16:16 + hl])
    d0 = 16 + hl
    out = {}
    for n, e in h["tensors"].items():
        if n.startswith("tokenizer."):
            continue
        assert e["codec"] == "raw" and e["dtype"] == "f32", n
        out[n] = (e["shape"], b[d0 + e["offset"]: d0 + e["offset"] + e["raw_size"]])
    return h, out

h, got = read_b4k(b4k)
want = {}
if kind in ("tf-bert", "tf-gpt2"):
    data = open(src, "rb").read()
    for line in open(listing):
        if line.startswith("#") or not line.strip():
            continue
        n, dt, shape, off, size = line.split("\t")
        if re.search(r"/adam_[mv]$|^global_step$", n):
            continue
        assert dt == "float32", n
        shape = json.loads(shape)
        a = np.frombuffer(data, "<f4", int(size) // 4, int(off)).reshape(shape)
        if kind == "tf-bert":
            s = n[5:] if n.startswith("bert/") else n
            s = re.sub(r"layer_(\d+)", r"layer.\1", s).replace("/", ".")
            t = s.endswith(".kernel")
            s = re.sub(r"\.kernel$", ".weight", s)
            s = re.sub(r"\.gamma$", ".weight", s)
            s = re.sub(r"\.beta$", ".bias", s)
            s = re.sub(r"\.output_weights$", ".weight", s)
            s = re.sub(r"\.output_bias$", ".bias", s)
            if s.endswith("_embeddings"):
                s += ".weight"
            if t:
                a = a.T
        else:
            m = re.match(r"model/h(\d+)/(.*)/([wgb])$", n)
            if m:
                s = "h.%s.%s.%s" % (m.group(1), m.group(2).replace("/", "."),
                                    {"w": "weight", "g": "weight", "b": "bias"}[m.group(3)])
                if m.group(3) == "w":
                    a = a.reshape(a.shape[1:]).T
            else:
                s = {"model/wte": "wte.weight", "model/wpe": "wpe.weight",
                     "model/ln_f/g": "ln_f.weight", "model/ln_f/b": "ln_f.bias"}[n]
        want[s] = a
else:  # HF safetensors, parsed here
    b = open(src, "rb").read()
    (hl,) = struct.unpack_from("<Q", b)
    hdr = json.loads(b[8:8 + hl])
    for n, e in hdr.items():
        if n == "__metadata__":
            continue
        a0, a1 = e["data_offsets"]
        a = np.frombuffer(b, "<f4", (a1 - a0) // 4, 8 + hl + a0).reshape(e["shape"])
        s = n[12:] if n.startswith("transformer.") else n
        if re.search(r"\.(c_attn|c_proj|c_fc)\.weight$", s):
            a = a.T
        if s.endswith(".attn.bias") or s.endswith(".attn.masked_bias") or s == "lm_head.weight":
            continue
        want[s] = a
    if listing != "-":  # the listing names exactly these tensors
        listed = [l.split()[0] for l in open(listing) if l.strip() and not l.startswith("#")]
        assert len(listed) >= len(want), "listing"
bad = 0
for s, a in want.items():
    if s not in got:
        print("missing", s); bad += 1; continue
    shape, raw = got[s]
    if list(a.shape) != shape or np.ascontiguousarray(a, dtype="<f4").tobytes() != raw:
        print("differs", s, shape, a.shape); bad += 1
extra = [n for n in got if n not in want and not n.startswith("tokenizer.")]
if extra:
    print("unexpected", extra); bad += 1
print("%d tensors bit-exact" % len(want))
sys.exit(1 if bad else 0)
PY
}

b4k-convert -o "$W/bert.b4k" "$M/keras-bert-test-checkpoint/bert_model.ckpt" 2> "$W/err" || { echo "FAIL: data/convert: bert: $(cat "$W/err")"; }
check keras-bert-test-checkpoint "$W/bert.b4k" "$M/keras-bert-test-checkpoint/TENSORS.txt" tf-bert \
  "$M/keras-bert-test-checkpoint/bert_model.ckpt.data-00000-of-00001"
b4k-convert -o "$W/gpt2tf.b4k" "$M/keras-gpt2-toy-checkpoint/model.ckpt" 2> "$W/err" || { echo "FAIL: data/convert: gpt2 tf: $(cat "$W/err")"; }
check keras-gpt2-toy-checkpoint "$W/gpt2tf.b4k" "$M/keras-gpt2-toy-checkpoint/TENSORS.txt" tf-gpt2 \
  "$M/keras-gpt2-toy-checkpoint/model.ckpt.data-00000-of-00001"
b4k-convert -o "$W/gpt2hf.b4k" "$M/tiny-gpt2-hf/model.safetensors" 2> "$W/err" || { echo "FAIL: data/convert: gpt2 hf: $(cat "$W/err")"; }
check tiny-gpt2-hf "$W/gpt2hf.b4k" - hf "$M/tiny-gpt2-hf/model.safetensors"

# the header: config from the fixture's config file, tokenizer embedded
if b4k-convert --info "$W/bert.b4k" | head -1 | grep -q '"num_attention_heads":4.*"kind":"wordpiece"' &&
   b4k-convert --info "$W/gpt2tf.b4k" | head -1 | grep -q '"n_head":5.*"vocab_size":356.*"kind":"bpe"'; then
  echo "PASS: data/convert: configs and tokenizers"
else
  echo "FAIL: data/convert: configs and tokenizers"
fi
# round trip through safetensors, for each
for f in bert gpt2tf gpt2hf; do
  if b4k-convert --export safetensors -o "$W/$f.safetensors" "$W/$f.b4k" &&
     b4k-convert -o "$W/$f.2.b4k" "$W/$f.safetensors" && cmp -s "$W/$f.b4k" "$W/$f.2.b4k"; then
    echo "PASS: data/convert: $f .b4k -> safetensors -> .b4k byte-identical"
  else
    echo "FAIL: data/convert: $f round trip"
  fi
done
# int8 never grows a model: tiny-gpt2's matrices (K = 2, 8) stay f16
b4k-convert -t f16 -o "$W/t16.b4k" "$M/tiny-gpt2-hf/model.safetensors" &&
  b4k-convert -t int8 -o "$W/t8.b4k" "$M/tiny-gpt2-hf/model.safetensors"
s16=$(stat -c %s "$W/t16.b4k"); s8=$(stat -c %s "$W/t8.b4k"); s32=$(stat -c %s "$W/gpt2hf.b4k")
if [ "$s8" -le "$s16" ] && [ "$s8" -lt "$s32" ]; then
  echo "PASS: data/convert: tiny-gpt2 -t int8 $s8 bytes <= f16 $s16 < f32 $s32"
else
  echo "FAIL: data/convert: tiny-gpt2 -t int8 $s8 bytes, f16 $s16, f32 $s32"
fi
# the fuzz targets on the real TF-written checkpoint (a seed made here, not
# committed): the index alone (fuzz_tfckpt), and index + data shard through
# the bounds and crc32c checks (fuzz_tfbundle); each seed replays cleanly,
# and so do copies with a byte flipped in the index or in the data
R="${B4K_BUILD:-$TOP/build}/fuzz"
if [ -x "$R/fuzz_tfbundle-replay" ] && [ -x "$R/fuzz_tfckpt-replay" ]; then
  mkdir -p "$W/seeds"
  K="$M/keras-bert-test-checkpoint/bert_model.ckpt"
  bash "$TOP/test/fuzz/tfbundle_seed.sh" "$K" > "$W/seeds/keras-bert.bin"
  n=$(stat -c %s "$W/seeds/keras-bert.bin")
  for at in 100 $((n - 100)) $((n - 3000)); do  # index block, data, index/data
    cp "$W/seeds/keras-bert.bin" "$W/seeds/flip-$at.bin"
    printf '\377' | dd of="$W/seeds/flip-$at.bin" bs=1 seek=$at conv=notrunc status=none
  done
  if "$R/fuzz_tfbundle-replay" "$W/seeds" > "$W/log" 2>&1 &&
     "$R/fuzz_tfckpt-replay" "$K.index" >> "$W/log" 2>&1; then
    echo "PASS: data/convert: fuzz replay of the real TF checkpoint ($(head -1 "$W/log"))"
  else
    echo "FAIL: data/convert: fuzz replay of the real TF checkpoint"; sed 's/^/  /' "$W/log" | tail -20
  fi
else
  echo "SKIP: data/convert: fuzz replay drivers not built"
fi
