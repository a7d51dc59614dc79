#!/usr/bin/env bash
# Data test (make check): b4k's jieba against the Python reference on a sample
# (400 lines of each corpus in ../shared/data, one file).  SKIPs when the data
# or the Python modules are missing.  The whole corpora: make parity.
exec bash "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/test/parity/parity_jieba.sh" --sample 400
