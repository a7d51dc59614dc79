# a prompt longer than the context (48) is an error naming the line
M=$TOP/test/golden/gen/tiny-gpt2.b4k
/usr/bin/python3 -c 'print("{\"prompt_ids\":[%s]}" % ",".join(["1"]*48))' > p.jsonl
b4k-generate -m "$M" -n 1 p.jsonl
