printf '\n  \n' > e.txt
b4k-w2v train -o m.b4k e.txt
