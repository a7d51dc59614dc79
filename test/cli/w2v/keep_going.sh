# nearest/analogy --keep-going: {"error":...,"line":N} in place of a bad query,
# in input order across batches; without it: the answers before it, exit 1
b4k-w2v train --dim 24 --iter 5 --min-count 2 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null
printf '{"word":"king","k":1}\n{"word":1}\nking queen\n{"word":"unicorn"}\n{"word":"king","k":0}\nqueen\n' > q.txt
b4k-w2v nearest --keep-going -k 1 --batch 2 m.b4k q.txt 2> err.txt | sed -E 's/"score":[-0-9.]*/"score":S/g; s/"nearest":\[\{"word":"[^"]*"/"nearest":[{"word":W/'
grep -q '^b4k-w2v nearest: warning: 3 bad records' err.txt || echo "no warning"
printf 'paris france rome\nparis france\n{"a":"paris","b":"france"}\n' |
  b4k-w2v analogy --keep-going -k 1 m.b4k 2> /dev/null | sed 's/"score":[-0-9.]*/"score":S/g'
echo "without --keep-going:"
b4k-w2v nearest -k 1 m.b4k q.txt 2> err2.txt | sed -E 's/"score":[-0-9.]*/"score":S/g; s/"nearest":\[\{"word":"[^"]*"/"nearest":[{"word":W/'
echo "exit ${PIPESTATUS[0]}"
grep -q '^b4k-w2v nearest: q.txt:2: expected a string "word"$' err2.txt || echo "no message"
