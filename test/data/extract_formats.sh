#!/usr/bin/env bash
# b4k-extract reads every real data set of the issue (counts checked against
# ../shared/data/MANIFEST.md) and tokenises it with the matching vocabulary.
# Uses `train --epochs 0 --dump-features` (no training) so it stays fast.
set -u
BIN=${BIN:-bin}
if [ -z "${DATA:-}" ] || [ ! -d "$DATA/spo" ]; then echo "SKIP: data/extract_formats: no \$DATA"; exit 0; fi
W=$(mktemp -d "${TMPDIR:-/tmp}/b4k-extract-data.XXXXXX"); trap 'rm -rf "$W"' EXIT
cat > "$W/zh.json" <<'J'
{"vocab_size": 21128, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 512}
J
cat > "$W/en.json" <<'J'
{"vocab_size": 30522, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 512}
J
ZH=$DATA/vocab/bert-base-chinese-vocab.txt EN=$DATA/vocab/bert-base-uncased-vocab.txt
check() { # name task format cfg vocab file expected_docs expected_gold
  local name=$1 task=$2 fmt=$3 cfg=$4 voc=$5 file=$6 docs=$7 gold=$8
  if [ ! -f "$file" ]; then echo "SKIP: data/extract_formats:$name: no $file"; return; fi
  if ! "$BIN/b4k-extract" train --task "$task" --format "$fmt" --config "$cfg" --vocab "$voc" \
      --epochs 0 --max-len 256 -o "$W/m.b4k" --dump-features "$W/f.jsonl" "$file" 2> "$W/err"; then
    echo "FAIL: data/extract_formats:$name"; sed 's/^/  | /' "$W/err" | head -5; return
  fi
  local n g
  n=$(($(wc -l < "$W/f.jsonl") - 1))
  g=$(grep -o '"gold":\[.*\]' "$W/f.jsonl" | grep -o '\],\[\|\[\[' | wc -l)
  if [ "$n" = "$docs" ] && [ "$g" = "$gold" ]; then
    echo "PASS: data/extract_formats:$name ($n examples, $g gold items)"
  else
    echo "FAIL: data/extract_formats:$name: $n examples / $g gold items, expected $docs / $gold"
  fi
}
# spo examples without any triple are not training examples (bert4keras)
check lic2019 spo lic2019 "$W/zh.json" "$ZH" "$DATA/spo/lic2019/train_demo.json" 151 285
check cmeie spo cmeie "$W/zh.json" "$ZH" "$DATA/spo/cmeie/CMeIE_dev.part1.json" 2885 8509
check webnlg-exact spo casrel "$W/en.json" "$EN" "$DATA/spo/webnlg-exact/train_triples.json" 5019 11313
check webnlg-casrel spo casrel "$W/en.json" "$EN" "$DATA/spo/webnlg-casrel/train_triples.json" 5019 11776
check cluener ner cluener "$W/zh.json" "$ZH" "$DATA/ner/cluener/train.json" 10748 23971
# CoNLL spans are read leniently as conlleval does: an I-/M-/E- tag that does
# not continue an entity starts one (Resume has 2 such tags over its 13438
# B-/S- entities, Weibo 10 over its 1885 B- entities)
check resume ner conll "$W/zh.json" "$ZH" "$DATA/ner/resume/train.char.bmes" 3821 13440
check weibo ner conll "$W/zh.json" "$ZH" "$DATA/ner/weibo/weiboNER_2nd_conll.train" 1350 1895
