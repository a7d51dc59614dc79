# over-long tokens are cut (and counted in a warning), not fatal
set -e
for i in $(seq 10); do echo "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c"; done > c.txt
b4k-w2v train --min-count 1 --max-token-bytes 8 --dim 4 -o m.b4k c.txt > sum
grep -q '"truncated":10' sum
b4k-w2v export -f word2vec-text m.b4k | grep -q '^aaaaaaaa '
