echo "a b c d" > c.txt
b4k-w2v train --min-count 3 -o m.b4k c.txt
