# unknown option, bad value, missing model: usage errors (exit 2)
M=$TOP/test/golden/gen/tiny-gpt2.b4k
b4k-generate -m "$M" --top-q 3 < /dev/null 2>/dev/null; echo $?
b4k-generate -m "$M" --top-p 1.5 < /dev/null 2>/dev/null; echo $?
b4k-generate < /dev/null 2>/dev/null; echo $?
b4k-generate -m /nonexistent.b4k < /dev/null 2>/dev/null; echo $?
