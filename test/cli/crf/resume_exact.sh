# learn N iterations == learn k, checkpoint, --resume to N: the same model
# bytes, for every trainer, with 1 and 2 threads, with and without holdout.
set -e
. "$TOP/test/cli/crf/data.inc"
n=0
for a in "lbfgs" "lbfgs --c1 0.1" "l2sgd" "l2sgd --averaging" "ap"; do
  for j in 1 2; do
    for h in "" "--holdout train.txt"; do
      o="-t chunking -a $a -j $j $h --checkpoint-every 2"
      b4k-crf learn $o -i 7 -o full.b4k train.txt 2> /dev/null
      b4k-crf learn $o -i 2 --checkpoint ck.b4k -o part.b4k train.txt 2> /dev/null
      b4k-crf learn $o -i 7 --resume ck.b4k -o res.b4k train.txt 2> res.log
      grep -q "resumed at iteration 2" res.log || { echo "not resumed: $o"; cat res.log; exit 1; }
      cmp full.b4k res.b4k || { echo "differs: $o"; exit 1; }
      n=$((n + 1))
    done
  done
done
# the thread count comes from the checkpoint unless -j is given
b4k-crf learn -t chunking -j 2 -i 3 --checkpoint ck.b4k -o part.b4k train.txt 2> /dev/null
b4k-crf learn -t chunking -i 7 --resume ck.b4k -o res.b4k train.txt 2> res.log
grep -q "(2 threads)" res.log
b4k-crf learn -t chunking -j 2 -i 7 -o full.b4k train.txt 2> /dev/null
cmp full.b4k res.b4k
# a checkpoint of other features or another algorithm is refused
! b4k-crf learn -t chunking --min-freq 2 -i 7 --resume ck.b4k -o x.b4k train.txt 2> x.err
grep -q 'other features' x.err
! b4k-crf learn -t chunking -a ap -i 7 --resume ck.b4k -o x.b4k train.txt 2> x.err
grep -q 'another --algorithm' x.err
echo "$n resumed runs identical"
