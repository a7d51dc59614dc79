# The pipeline takes a converted Google TF BERT checkpoint (--init, its
# embedded vocabulary): --epochs 0 writes exactly the converted encoder
# (every tensor's checksum equal), and a trained model predicts.  (The
# encoder's forward pass on converted checkpoints is compared with torch in
# unit/test_bert_init.)
set -e
K=${DATA:+$DATA/models/keras-bert-test-checkpoint}
if [ -z "$K" ] || [ ! -d "$K" ]; then echo "no \$DATA/models/keras-bert-test-checkpoint"; exit 77; fi
b4k-convert -o kb.b4k "$K/bert_model.ckpt" 2>/dev/null
printf '%s\n' '[{"text":"all work and no play makes jack a dull boy","triple_list":[["jack","makes","boy"]]},{"text":"no play makes jack dull","triple_list":[["jack","makes","dull"]]}]' > t.json
b4k-extract train --task spo --format casrel --init kb.b4k -o e0.b4k --epochs 0 --max-len 16 t.json 2>/dev/null
sums() { b4k-convert --info "$1" | grep -o '"name":"[^"]*".*"checksum":"[^"]*"' | sed 's/"name":"\(bert\.\)\{0,1\}\([^"]*\)".*"checksum":"\([^"]*\)"/\2 \3/' | sort; }
sums kb.b4k | grep -E '^(embeddings|encoder)\.' > a.txt
sums e0.b4k | grep -E '^(embeddings|encoder)\.' > b.txt
echo "$(wc -l < a.txt) encoder tensors, $(diff a.txt b.txt | grep -c '^[<>]') differ"
b4k-extract train --task spo --format casrel --init kb.b4k -o kb_spo.b4k --epochs 2 --batch-size 2 --lr 1e-3 --max-len 16 t.json 2>/dev/null
echo '{"text":"jack makes boy"}' | b4k-extract predict -m kb_spo.b4k | grep -c '"spo_list":\['
