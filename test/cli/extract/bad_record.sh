# A malformed record stops training with file:line, and the previous model
# is left as it was.
F=$TOP/test/cli/extract
echo previous > m.b4k
printf '{"text":"周星驰","spo_list":[]}\n{"text":"x","spo_list":[{"subject":"x"}]}\n' > bad.json
b4k-extract train --task spo --format lic2019 --config $F/config.json --vocab $F/vocab.txt -o m.b4k bad.json
rc=$?
grep -qx previous m.b4k || { echo "model overwritten"; exit 3; }
exit $rc
