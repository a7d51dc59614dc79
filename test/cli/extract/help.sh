b4k-extract --help | grep -E '^  (train|predict|eval|bench) ' | cut -c1-9
b4k-extract train --help | grep -c -- '--bf16'
