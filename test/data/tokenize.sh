#!/usr/bin/env bash
# Data test (make check): b4k-tokenize vs HF tokenizers and gpt-3-encoder on
# the first 1000 lines of each corpus (7 corpora, so 7000 lines per case) in ../shared/data.  SKIPs when the data,
# node or the npm peers are missing.  The whole corpora: make parity.
exec bash "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/test/parity/parity_tokenize.sh" --sample 1000
