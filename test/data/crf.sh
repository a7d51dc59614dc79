#!/usr/bin/env bash
# b4k-crf on real data, small and quick: train on a slice of each set with a
# bounded number of L-BFGS iterations and check the held-out score clears a
# floor well below the full-run figures (test/bench/bench_crf.sh has those).
set -u
if [ -z "${DATA:-}" ] || [ ! -f "$DATA/chunking/conll2000/train.txt" ]; then
  echo "SKIP: data/crf: shared data not found"; exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-crf-data.XXXXXX")
trap 'rm -rf "$W"' EXIT
score() { /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r[sys.argv[2]]['f1'])" "$@"; }
check() { # name value floor
  if awk -v v="$2" -v f="$3" 'BEGIN { exit !(v >= f) }'; then echo "PASS: data/crf: $1 F1 $2 >= $3"
  else echo "FAIL: data/crf: $1 F1 $2 < $3"; fi
}
# CoNLL-2000: 1500 sentences to train, the last 500 of train.txt held out
awk -v RS= -v ORS='\n\n' 'NR<=1500' "$DATA/chunking/conll2000/train.txt" > "$W/c.tr"
awk -v RS= -v ORS='\n\n' 'NR>8436' "$DATA/chunking/conll2000/train.txt" > "$W/c.te"
b4k-crf learn -t chunking -j 2 -i 40 -o "$W/c.b4k" "$W/c.tr" 2> "$W/log" || { echo "FAIL: data/crf: chunking learn: $(tail -1 "$W/log")"; }
b4k-crf eval -m "$W/c.b4k" "$W/c.te" > "$W/c.json" && check chunking "$(score "$W/c.json" chunks)" 88
# checkpoint + --resume on real data: 8 + 8 iterations = 16 in one run, bit for bit
b4k-crf learn -t chunking -j 2 -i 8 --checkpoint "$W/ck.b4k" -o "$W/c8.b4k" "$W/c.tr" 2> /dev/null &&
b4k-crf learn -t chunking -j 2 -i 16 --resume "$W/ck.b4k" -o "$W/cr.b4k" "$W/c.tr" 2> /dev/null &&
b4k-crf learn -t chunking -j 2 -i 16 -o "$W/c16.b4k" "$W/c.tr" 2> /dev/null
if cmp -s "$W/cr.b4k" "$W/c16.b4k"; then echo "PASS: data/crf: chunking L-BFGS 8 iterations + resume to 16 = 16 (2 threads)"
else echo "FAIL: data/crf: chunking L-BFGS resumed model differs from the uninterrupted one"; fi
# the conlleval-style eval of the tagged file agrees with eval -m
b4k-crf tag -m "$W/c.b4k" "$W/c.te" > "$W/c.out"
if b4k-crf eval "$W/c.out" | cmp -s - "$W/c.json"; then echo "PASS: data/crf: tag + eval = eval -m"
else echo "FAIL: data/crf: tag + eval differs from eval -m"; fi
# conlleval: b4k-crf eval --text against the independent scorer
# test/ref/conlleval_ref.py on the tagged held-out chunking file, in IOB2 as
# tagged and rewritten in IOB1 and IOBES (CRFsuite's own predictions are not
# available here, so its F1 cannot be re-scored)
REF=$TOP/test/ref/conlleval_ref.py
conll_cmp() { # name file
  if b4k-crf eval --text "$2" > "$W/e1" && /usr/bin/python3 "$REF" "$2" > "$W/e2" && cmp -s "$W/e1" "$W/e2"; then
    echo "PASS: data/crf: conlleval reference = b4k-crf eval on $1 ($(head -1 "$W/e1" | cut -d';' -f2-))"
  else echo "FAIL: data/crf: conlleval reference differs on $1"; diff "$W/e1" "$W/e2" | head -5; fi
}
conll_cmp "chunking IOB2" "$W/c.out"
for sch in iob1 iobes; do
  /usr/bin/python3 "$REF" --convert $sch "$W/c.out" > "$W/c.$sch"
  conll_cmp "chunking $sch" "$W/c.$sch"
done
# SIGHAN 2008 SXU segmentation: 1500 lines / last 500 lines
head -n 1500 "$DATA/cws/sighan2008-sxu/train.txt" > "$W/s.tr"
tail -n 500 "$DATA/cws/sighan2008-sxu/train.txt" > "$W/s.te"
b4k-crf learn -f seg -j 2 -i 40 -o "$W/s.b4k" "$W/s.tr" 2> "$W/log" || echo "FAIL: data/crf: cws learn: $(tail -1 "$W/log")"
b4k-crf eval -m "$W/s.b4k" --words "$W/s.tr" "$W/s.te" > "$W/s.json" && check cws "$(score "$W/s.json" words)" 80
# Resume NER (BMES tags): 1500 sentences / the dev split
awk -v RS= -v ORS='\n\n' 'NR<=1500' "$DATA/ner/resume/train.char.bmes" > "$W/r.tr"
b4k-crf learn -t ner -j 2 -i 40 -o "$W/r.b4k" "$W/r.tr" 2> "$W/log" || echo "FAIL: data/crf: resume learn: $(tail -1 "$W/log")"
b4k-crf eval -m "$W/r.b4k" --constraints BMES "$DATA/ner/resume/dev.char.bmes" > "$W/r.json" 2> "$W/err" &&
  check resume "$(score "$W/r.json" chunks)" 75 || echo "FAIL: data/crf: resume eval: $(cat "$W/err")"
b4k-crf tag -m "$W/r.b4k" --constraints BMES "$DATA/ner/resume/dev.char.bmes" > "$W/r.out"
conll_cmp "Resume NER dev (BMES-typed)" "$W/r.out"
