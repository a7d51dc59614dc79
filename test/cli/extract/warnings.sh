# Bad input items are warned about one by one as "prog: file:line: ...",
# at most 10 per kind then "... and K more", then the total: gold strings
# not in their text (once each: not again as unalignable), texts cut at
# --max-len (not when only whitespace follows the cut), gold items past the
# cut, casrel records by the line they start on, names outside a model's
# schema at eval and in gold annotations given to predict.
set -e
F=$TOP/test/cli/extract
C="--config $F/config.json --vocab $F/vocab.txt --epochs 1"
for i in $(seq 1 12); do
  echo '{"text":"周星驰主演","spo_list":[{"subject":"刘德华","predicate":"主演","object":"周星驰"}]}'
done > w.json
echo '{"text":"喜剧之王由元秋和周星驰主演","spo_list":[{"subject":"喜剧之王","predicate":"主演","object":"周星驰"}]}' >> w.json
printf '{"text":"功夫导演是周星驰   \\t\\n ","spo_list":[{"subject":"功夫","predicate":"导演","object":"周星驰"}]}\n' >> w.json
echo '{"text":"喜剧之王由周星驰主演","spo_list":[{"subject":"喜剧之王","predicate":"主演","object":"周星驰"}]}' >> w.json
b4k-extract train --task spo --format lic2019 $C --max-len 10 -o w.b4k w.json 2>&1
echo ---
printf '[\n  {\n    "text": "周星驰主演功夫",\n    "triple_list": [["周星驰", "主演", "功夫"]]\n  },\n  {\n    "text": "功夫",\n    "triple_list": [["元秋", "主演", "功夫"]]\n  }\n]\n' > c.json
b4k-extract train --task spo --format casrel $C -o c.b4k c.json 2>&1
echo ---
printf '{"text":"周星驰主演功夫","spo_list":[{"subject":"周星驰","predicate":"主演","object":"功夫"}]}\n{"text":"周星驰出生于香港","spo_list":[{"subject":"周星驰","predicate":"出生地","object":"香港"}]}\n' > e.json
b4k-extract eval -m c.b4k --format lic2019 e.json 2>&1 >/dev/null
echo ---
printf '{"text":"周星驰","spo_list":[{"subject":"周星驰","predicate":"国籍","object":"中国"}]}\n{"text":"x","triple_list":[["x","主演","y"],["x","配偶","z"]]}\n' \
  | b4k-extract predict -m c.b4k 2>&1 >/dev/null
echo ---
b4k-extract train --task ner --format conll $C -o n.b4k $F/ner_train.txt 2>/dev/null
printf '李 B-NAME\n明 E-NAME\n在 O\n巴 B-PLACE\n黎 E-PLACE\n\n东 S-DIR\n' > n.txt
b4k-extract eval -m n.b4k --format conll n.txt 2>&1 >/dev/null
