b4k-tokenize --help | grep -q '^Usage: b4k-tokenize' && b4k-tokenize --version | grep -q '^b4k-tokenize '
