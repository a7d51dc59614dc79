set -e
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k --max-iterations 2 train.txt 2> /dev/null
# a barely trained model, decoded with BIO constraints: no I-X after O or another type
b4k-crf tag -m m.b4k --constraints BIO train.txt | awk '
  NF == 0 { prev = "O"; next }
  { l = $4; if (l ~ /^I-/ && !(prev ~ /^[BI]-/ && substr(prev, 3) == substr(l, 3))) bad++; prev = l }
  END { exit bad ? 1 : 0 }' 
b4k-crf tag -m m.b4k --constraints XYZ train.txt 2> err || test $? = 2
grep -q 'unknown --constraints' err
