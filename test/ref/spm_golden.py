#!/usr/bin/python3
# Golden cases for test/unit/test_spm.c: for every model in test/golden/spm/
# and a set of tricky strings, the ids (sp.encode), the decoded text and, for
# unigram models, the 3 best segmentations.  Writes test/golden/spm/cases.jsonl.
# Usage: /usr/bin/python3 test/ref/spm_golden.py
import glob, json, os, sentencepiece as spm
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "spm")
texts = [
    "", " ", "   ", "a", "中华人民共和国成立了", "  leading and  double  spaces  ",
    "tab\there", "line\rcarriage", "ＦＵＬＬ　ｗｉｄｔｈ　１２３", "①②③ ㍻ ﬁ", "emoji 😀 and 𠀀",
    "罕见字：龘靐齉爨", "mixed 中文 English 123.45%", "▁literal▁marks▁", "<br>中国2020<br>",
    "unknown\u0001control\u007f", "e\u0301 café", "Hello, World!", "重重重重重重重重",
    "《红楼梦》第一回 甄士隐梦幻识通灵", "a\u00a0b\u3000c", "x" * 50,
]
out = open(os.path.join(here, "cases.jsonl"), "w", encoding="utf-8")
for m in sorted(glob.glob(os.path.join(here, "*.model"))):
    sp = spm.SentencePieceProcessor(model_file=m)
    name = os.path.basename(m)
    for t in texts:
        ids = sp.encode(t)
        rec = {"model": name, "text": t, "ids": ids, "decoded": sp.decode(ids)}
        if name.startswith("uni"):
            rec["nbest"] = sp.nbest_encode_as_ids(t, 3)
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
