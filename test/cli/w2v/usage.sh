b4k-w2v train --model glove -o m.b4k x.txt
