# --template: a record's "input" fills {input}; "prompt" (or --field) is the
# fallback; without --template "input" is not the prompt
M=$TOP/data/gen/demo-cpm.b4k
T=$TOP/data/gen/cpm-qa.txt
run() { b4k-generate -m "$M" --temperature 0 -n 4 "$@" | sed 's/^{"id":[^,]*,//; s/,"tokens_per_s.*//'; }
a=$(echo '{"id":1,"input":"中国","prompt":"日本"}' | run --template "$T")
b=$(echo '{"id":2,"input":"中国"}' | run --template "$T")
c=$(echo '{"id":3,"prompt":"日本"}' | run --template "$T")
d=$(echo '{"id":4,"input":"日本"}' | run --template "$T")
e=$(echo '{"id":5,"q":"日本"}' | run --template "$T" --field q)
[ "$a" = "$b" ] && echo "input before prompt" || echo "prompt used: $a / $b"
[ "$c" = "$d" ] && echo "prompt as fallback" || echo "no fallback: $c / $d"
[ "$e" = "$d" ] && echo "--field as fallback" || echo "no --field fallback: $e / $d"
f=$(echo '{"id":6,"input":"中国","prompt":"日本"}' | run)
g=$(echo '{"id":7,"prompt":"日本"}' | run)
[ "$f" = "$g" ] && echo "no template: prompt" || echo "no template: $f / $g"
echo '{"id":8,"text":"x"}' | b4k-generate -m "$M" --template "$T" -n 1 2>&1 >/dev/null | sed 's/^[^:]*: //'
