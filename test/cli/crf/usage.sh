. "$TOP/test/cli/crf/data.inc"
b4k-crf learn -t chunking train.txt
