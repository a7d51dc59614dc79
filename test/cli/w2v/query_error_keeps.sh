# nearest/analogy answer queries in batches: a bad query, a missing file or a
# truncated .zst stops the run with exit 1 after every earlier answer is out
b4k-w2v train --dim 8 --iter 1 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null || exit 3
printf 'king\nqueen\n' > q.txt
b4k-w2v nearest m.b4k q.txt > want || exit 3
b4k-w2v nearest m.b4k q.txt nosuch > got 2> err; rc=$?
[ $rc = 1 ] && cmp want got && grep -q '^b4k-w2v nearest: nosuch: cannot open' err || exit 4
printf 'king\nqueen\nbad query\n' | b4k-w2v nearest m.b4k > got 2> err; rc=$?
[ $rc = 1 ] && cmp want got && grep -q '^b4k-w2v nearest: -:3: expected 1 word, got 2' err || exit 5
if command -v zstd > /dev/null; then
  printf 'king\nqueen\n' | zstd -q -c > q.zst
  printf 'man\n' | zstd -q -c | head -c 8 >> q.zst   # second frame cut short
  b4k-w2v nearest m.b4k q.zst > got 2> err; rc=$?
  [ $rc = 1 ] && cmp want got && grep -q '^b4k-w2v nearest: q.zst:3: truncated zstd stream' err || exit 6
fi
printf 'man king woman\n' > a.txt
b4k-w2v analogy m.b4k a.txt > want || exit 3
printf 'man king woman\nman king\n' | b4k-w2v analogy m.b4k > got 2> err; rc=$?
[ $rc = 1 ] && cmp want got && grep -q '^b4k-w2v analogy: -:2: expected 3 words, got 2' err || exit 7
