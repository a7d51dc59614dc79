# a user dictionary changes jieba's cut, hence the pieces (python3-jieba's data)
[ -f /usr/lib/python3/dist-packages/jieba/dict.txt ] || { echo "python3-jieba not installed"; exit 77; }
M=$TOP/test/golden/spm/uni_bf0_dp1.model
echo '李小福是创新办主任' | b4k-tokenize -k cpm --model "$M" --no-offsets > a.jsonl || exit 1
printf '创新办 3 i\n' > u.txt
echo '李小福是创新办主任' | b4k-tokenize -k cpm --model "$M" --no-offsets --user-dict u.txt > b.jsonl || exit 1
cmp -s a.jsonl b.jsonl && { echo "user dictionary ignored"; exit 1; }
b4k-tokenize -k cpm --model "$M" --decode b.jsonl | sed 's/.*"text"://'
