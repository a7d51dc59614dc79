printf 'short line\n%0300d\n' 0 > c.txt
b4k-w2v train --max-line-bytes 100 -o m.b4k c.txt
