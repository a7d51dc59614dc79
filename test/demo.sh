#!/usr/bin/env bash
# make demo: tokenize real Chinese text (Debian's fortunes-zh) with the
# Chinese BERT WordPiece vocabulary shipped in data/.
set -eu
cd "$(dirname "$0")/.."
echo "demo: not yet available" >&2
