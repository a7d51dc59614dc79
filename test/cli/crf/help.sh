set -e
b4k-crf --help | grep -q '^Commands:'
for c in learn tag eval dump; do b4k-crf $c --help | grep -q '^Options:'; done
b4k-crf --version | grep -q '^b4k-crf '
