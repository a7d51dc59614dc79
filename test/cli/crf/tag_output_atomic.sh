# tag -o FILE is atomic: an input error (a bad line in the second file)
# leaves FILE as it was and no temporary behind
. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking -o m.b4k train.txt 2> /dev/null || exit 3
printf 'He PRP B-NP\nreckons VBZ\n\n' > bad.txt
echo previous > out.txt
b4k-crf tag -m m.b4k -o out.txt train.txt bad.txt 2> err; rc=$?
[ $rc = 1 ] && grep -q 'bad.txt:2: expected 3 columns' err || { cat err >&2; exit 4; }
[ "$(cat out.txt)" = previous ] || exit 5
b4k-crf tag -m m.b4k -o out.txt train.txt || exit 6
b4k-crf tag -m m.b4k train.txt | cmp - out.txt || exit 7
[ "$(ls | grep -c '\.tmp\.')" = 0 ] || exit 8
