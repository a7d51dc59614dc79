# tag --keep-going: a bad record becomes {"error":...,"line":N} and tagging
# goes on (conll skips to the next blank line); the same with 2 threads;
# without it the records before the bad one are written, then exit 1
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k train.txt 2> /dev/null
printf 'The DT\npound NN\n\nHe PRP\nreckons VBZ extra\nthe DT\n\nThe DT\nfell VBD\n' > bad.txt
b4k-crf tag -m m.b4k --keep-going bad.txt 2> err1.txt
b4k-crf tag -m m.b4k --keep-going -j 2 bad.txt 2> /dev/null | cmp - <(b4k-crf tag -m m.b4k --keep-going bad.txt 2> /dev/null)  || echo "2 threads differ"
grep -q '1 bad record written' err1.txt || echo "no warning"
printf '{"tokens":[["The","DT"],["pound","NN"]]}\n{"tokens":[["x"]]}\nnot json\n{"tokens":[["fell","VBD"]]}\n' |
  b4k-crf tag -m m.b4k -f jsonl --keep-going 2> /dev/null
echo "without --keep-going:"
b4k-crf tag -m m.b4k bad.txt 2> err2.txt
echo "exit $?"
grep -q '^b4k-crf tag: bad.txt:5: expected 2 columns, got 3$' err2.txt || echo "no message"
