# the record is kept byte for byte and the fields appended; a record that
# already has "ids" gets it replaced (not duplicated)
printf '{"id": 7, "text": "中文ab", "tag": "x"}\n{"text":"好","ids":[1,2]}\n' |
  b4k-tokenize -v "$TOP/data/zh-char-vocab.txt" -f text --no-offsets
