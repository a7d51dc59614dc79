# every subcommand answers --help; the main help lists the commands
set -e
b4k-w2v --help | grep -q '^Commands:'
for c in train export nearest analogy eval; do b4k-w2v $c --help | grep -q "^Usage: b4k-w2v $c"; done
b4k-w2v --version | grep -q '^b4k-w2v '
