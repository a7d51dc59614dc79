# b4k-crf eval --text against the independent scorer test/ref/conlleval_ref.py
# on random tag sequences (well-formed and not) in IOB1, IOB2, IOBES and BMES
# label sets, and on a tagged file rewritten in each scheme
set -e
command -v /usr/bin/python3 > /dev/null || { echo "no /usr/bin/python3"; exit 77; }
REF=$TOP/test/ref/conlleval_ref.py
/usr/bin/python3 - <<'PY'
import random
r = random.Random(5)
sets = {
    "iob": ["O", "B-NP", "I-NP", "B-VP", "I-VP", "B-PP", "I-PP"],
    "iobes": ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"],
    "bmes": ["B", "M", "E", "S"],
    "bmes-typed": ["O", "B-NAME", "M-NAME", "E-NAME", "S-NAME", "B-ORG", "M-ORG", "E-ORG", "S-ORG"],
}
for name, labs in sets.items():
    with open("rand-%s.txt" % name, "w") as f:
        for s in range(300):
            n = r.randint(1, 12)
            for i in range(n):
                f.write("w%d %s %s\n" % (i, r.choice(labs), r.choice(labs)))
            f.write("\n")
PY
for f in rand-*.txt; do
  b4k-crf eval --text "$f" > b4k.txt
  /usr/bin/python3 "$REF" "$f" > ref.txt
  cmp b4k.txt ref.txt || { echo "differs on $f"; diff b4k.txt ref.txt | head; exit 1; }
done
# a model's tagged output, rewritten in each scheme
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -i 1 -o m.b4k train.txt 2> /dev/null
printf 'Another DT B-NP\npound NN I-NP\nexpected VBN B-VP\nin IN B-PP\nSeptember NNP B-NP\n. . O\n\nHe PRP B-NP\nwill MD B-VP\ntake VB I-VP\nthe DT B-NP\ndeficit NN I-NP\nsharp JJ B-ADJP\n. . O\n' > test.txt
b4k-crf tag -m m.b4k test.txt > tagged.txt
for s in iob1 iob2 iobes; do
  /usr/bin/python3 "$REF" --convert $s tagged.txt > $s.txt
  b4k-crf eval --text $s.txt > b4k.txt
  /usr/bin/python3 "$REF" $s.txt > ref.txt
  cmp b4k.txt ref.txt || { echo "differs on $s"; diff b4k.txt ref.txt; exit 1; }
  # the same chunks in every scheme: the same chunk counts
  head -1 b4k.txt
done
grep -q '^E-NP\|E-NP$' iobes.txt && grep -q 'I-NP I-NP' iob1.txt
