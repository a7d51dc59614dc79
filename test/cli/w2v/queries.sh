# nearest/analogy: JSONL and plain queries, OOV reported, 3CosMul, eval report
set -e
b4k-w2v train --dim 24 --iter 10 --min-count 2 -o m.b4k $TOP/data/w2v/toy.txt.zst > /dev/null
echo 'paris france rome' | b4k-w2v analogy -k 1 m.b4k | grep -q '"answers":\[{"word":"italy"'
echo '{"a":"paris","b":"france","c":"rome"}' | b4k-w2v analogy --method mul -k 1 m.b4k | grep -q '"word":"italy"'
echo '{"word":"unicorn"}' | b4k-w2v nearest m.b4k | grep -qx '{"word":"unicorn","nearest":\[\],"oov":\["unicorn"\]}'
echo KING | b4k-w2v nearest --ignore-case -k 2 m.b4k | grep -q '"nearest":\[{'
b4k-w2v eval m.b4k --analogy $TOP/data/w2v/toy-questions.txt --similarity $TOP/data/w2v/toy-similarity.txt > r.json
/usr/bin/python3 -c '
import json,sys
r=json.load(open("r.json"))
a=r["analogy"]; t=a["total"]
assert t["total"]==180 and t["seen"]==180, t
assert t["accuracy"] > 20, t
assert [s["name"] for s in a["sections"]]==["capital-common-countries","gram-family"]
s=r["similarity"][0]; assert s["oov"]==1 and s["found"]==11 and s["spearman"]>0.3, s
' 2>/dev/null || { command -v /usr/bin/python3 >/dev/null || exit 0; exit 1; }
