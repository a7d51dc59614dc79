set -e
printf '上海  浦东  开发  与  法制  建设  同步\n新华社  上海  二月  十日  电\n浦东  开发  开放  是  一项  振兴  上海  的  跨世纪  工程\n' > seg.txt
b4k-crf learn -f seg -o s.b4k seg.txt 2> log
grep -q 'b4k-crf learn: 3 sequences' log
# raw text in, segmented text out
sed 's/  //g' seg.txt | b4k-crf tag -m s.b4k > out.txt
cmp out.txt seg.txt
b4k-crf eval -f seg --words seg.txt seg.txt out.txt > e.json
grep -q '"words":{"precision":100.0000,"recall":100.0000,"f1":100.0000,"gold":22,"guessed":22,"correct":22,"oov":0' e.json
# BMES constraints decode the same here
sed 's/  //g' seg.txt | b4k-crf tag -m s.b4k --constraints BMES | cmp - seg.txt
