# --stream: one event per token, then the record; events agree with it
M=$TOP/test/golden/gen/tiny-gpt2.b4k
echo '{"id":7,"prompt_ids":[64]}' | b4k-generate -m "$M" --temperature 0 --ignore-eos -n 5 --stream --logprobs > out
[ $(wc -l < out) = 6 ] || exit 1
head -5 out | grep -c '^{"id":7,"token":[0-9]*,"logprob":-[0-9.e-]*}$'
/usr/bin/python3 -c '
import json,sys
L=[json.loads(l) for l in open("out")]
assert [e["token"] for e in L[:5]]==L[5]["ids"], L
assert all(abs(e["logprob"]-p)<1e-5 for e,p in zip(L[:5],L[5]["logprobs"]))
print("agree")' 2>/dev/null || grep -o '"ids":\[[0-9,]*\]' out
