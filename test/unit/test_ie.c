/* lib/ie: data readers (every format, bad input with file:line), token
 * alignment, NER label layout, metrics, pointer decoding, model file round
 * trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ie/data.h"
#include "ie/model.h"
#include "ie/run.h"
#include "ie/spo.h"
#include "ie/task.h"
#include "ie/train.h"
#include "nn/loss.h"
#include "t.h"

static char tmpdir[256];

static const char *wfile(const char *name, const char *text)
{
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

TEST(read_lic2019_cmeie)
{
    b4k_ie_data d = {0};
    b4k_ie_names nm = {0};
    b4k_err err;
    const char *p = wfile("a.json",
                          "{\"text\":\"周星驰主演喜剧之王\",\"spo_list\":[{\"subject\":\"喜剧之王\",\"predicate\":\"主演\",\"object\":\"周星驰\"}]}\n"
                          "\n"
                          "{\"text\":\"abc\",\"spo_list\":[{\"subject\":\"x\",\"predicate\":\"p2\",\"object\":{\"@value\":\"b\"}}]}\n");
    CHECK(b4k_ie_read(&d, &err, p, B4K_IE_LIC2019, &nm, 0) == 0);
    CHECK_EQ_INT(d.n, 2);
    CHECK_EQ_INT(nm.n, 2);
    CHECK_EQ_INT(d.doc[0].ncp, 9);
    CHECK_EQ_INT(d.doc[0].trip[0].s0, 5);
    CHECK_EQ_INT(d.doc[0].trip[0].s1, 9);
    CHECK_EQ_INT(d.doc[0].trip[0].o0, 0);
    CHECK_EQ_INT(d.doc[0].line, 1);
    CHECK_EQ_INT(d.doc[1].line, 3);
    CHECK_EQ_INT(d.missing.total, 1); /* "x" is not in "abc" */
    CHECK_EQ_INT(d.missing.v[0].line, 3);
    CHECK(strstr(d.missing.v[0].file, "a.json") && strstr(d.missing.v[0].text, "subject \"x\""));
    CHECK_EQ_INT(d.doc[1].trip[0].o0, 1);
    /* frozen schema: unknown predicate counted */
    b4k_ie_data d2 = {0};
    const char *q = wfile("b.json", "{\"text\":\"ab\",\"spo_list\":[{\"subject\":\"a\",\"predicate\":\"zz\",\"object\":\"b\"}]}\n");
    CHECK(b4k_ie_read(&d2, &err, q, B4K_IE_CMEIE, &nm, 1) == 0);
    CHECK_EQ_INT(d2.unknown.total, 1);
    CHECK(strstr(d2.unknown.v[0].text, "\"zz\"") != NULL);
    CHECK_EQ_INT(d2.doc[0].ntrip, 0);
    b4k_ie_data_free(&d2);
    /* malformed record: file:line */
    const char *r = wfile("c.json", "{\"text\":\"ab\"}\n{\"text\":\"ab\",\"spo_list\":[{\"subject\":1}]}\n");
    CHECK(b4k_ie_read(&d2, &err, r, B4K_IE_LIC2019, &nm, 0) == B4K_EFORMAT);
    CHECK_EQ_INT(err.line, 2);
    CHECK(strstr(err.file, "c.json") != NULL);
    b4k_ie_data_free(&d2);
    const char *s = wfile("d.json", "{\"text\":\"ab\"\n");
    CHECK(b4k_ie_read(&d2, &err, s, B4K_IE_LIC2019, &nm, 0) < 0);
    CHECK_EQ_INT(err.line, 1);
    b4k_ie_data_free(&d2);
    b4k_ie_data_free(&d);
    b4k_ie_names_free(&nm);
}

TEST(read_casrel)
{
    b4k_ie_data d = {0};
    b4k_ie_names nm = {0};
    b4k_err err;
    const char *p = wfile("e.json", "[\n {\"text\": \"Alan Bean was born in Wheeler , Texas .\",\n"
                                    "  \"triple_list\": [[\"Alan Bean\", \"birthPlace\", \"Wheeler , Texas\"]]}\n]\n");
    CHECK(b4k_ie_read(&d, &err, p, B4K_IE_CASREL, &nm, 0) == 0);
    CHECK_EQ_INT(d.n, 1);
    CHECK_EQ_INT(d.doc[0].trip[0].o0, 22);
    CHECK_EQ_INT(d.doc[0].trip[0].o1, 37);
    CHECK_EQ_INT(d.doc[0].line, 2); /* the line the record starts on, not its number */
    b4k_ie_data_free(&d);
    const char *r = wfile("e2.json", "[\n  {\"text\": \"a ] b\", \"triple_list\": []},\n\n  {\"text\": \"a\\\"{\",\n"
                                     "   \"triple_list\": [[\"a\", \"p\", \"zz\"]]}, {\"text\": \"c\"}]");
    CHECK(b4k_ie_read(&d, &err, r, B4K_IE_CASREL, &nm, 0) == 0);
    CHECK_EQ_INT(d.n, 3);
    CHECK_EQ_INT(d.doc[0].line, 2);
    CHECK_EQ_INT(d.doc[1].line, 4);
    CHECK_EQ_INT(d.doc[2].line, 5);
    CHECK_EQ_INT(d.missing.total, 1);
    CHECK_EQ_INT(d.missing.v[0].line, 4);
    b4k_ie_data_free(&d);
    const char *q = wfile("f.json", "[{\"text\":\"a\",\"triple_list\":[[\"a\",\"p\"]]}]");
    CHECK(b4k_ie_read(&d, &err, q, B4K_IE_CASREL, &nm, 0) == B4K_EFORMAT);
    b4k_ie_data_free(&d);
    b4k_ie_names_free(&nm);
}

TEST(read_ner)
{
    b4k_ie_data d = {0};
    b4k_ie_names nm = {0};
    b4k_err err;
    /* BMES (Resume), BIO with Weibo's digit suffix, and a stray I- */
    const char *p = wfile("g.txt", "高 B-NAME\n勇 E-NAME\n： O\n中 S-CONT\n\n科0\tB-ORG.NAM\n技1\tI-ORG.NAM\n好0\tO\n大0\tI-LOC\n");
    CHECK(b4k_ie_read(&d, &err, p, B4K_IE_CONLL, &nm, 0) == 0);
    CHECK_EQ_INT(d.n, 2);
    CHECK_EQ_STR(d.doc[1].text, "科技好大");
    CHECK_EQ_INT(d.doc[0].nent, 2);
    CHECK_EQ_INT(d.doc[0].ent[0].start, 0);
    CHECK_EQ_INT(d.doc[0].ent[0].end, 2);
    CHECK_EQ_INT(d.doc[0].ent[1].start, 3);
    CHECK_EQ_INT(d.doc[1].nent, 2);
    CHECK_EQ_INT(d.doc[1].ent[0].end, 2);
    CHECK_EQ_STR(nm.v[d.doc[1].ent[1].type], "LOC");
    b4k_ie_data_free(&d);
    const char *q = wfile("h.json", "{\"text\":\"浙商银行叶老桂\",\"label\":{\"name\":{\"叶老桂\":[[4,6]]},\"company\":{\"浙商银行\":[[0,3]]}}}\n");
    CHECK(b4k_ie_read(&d, &err, q, B4K_IE_CLUENER, &nm, 0) == 0);
    CHECK_EQ_INT(d.doc[0].nent, 2);
    CHECK_EQ_INT(d.doc[0].ent[0].start, 4);
    CHECK_EQ_INT(d.doc[0].ent[0].end, 7);
    b4k_ie_data_free(&d);
    const char *r = wfile("i.json", "{\"text\":\"浙商银行\",\"label\":{\"name\":{\"浙商\":[[1,2]]}}}\n");
    CHECK(b4k_ie_read(&d, &err, r, B4K_IE_CLUENER, &nm, 0) == B4K_EFORMAT);
    CHECK(strstr(err.msg, "not") != NULL);
    b4k_ie_data_free(&d);
    /* frozen schema: one note per unknown entity, at its first tag's line */
    const char *u = wfile("k.txt", "a B-ZZ\nb I-ZZ\nc O\nd S-ZZ\ne E-ZZ\n\nf B-QQ\n");
    CHECK(b4k_ie_read(&d, &err, u, B4K_IE_CONLL, &nm, 1) == 0);
    CHECK_EQ_INT(d.unknown.total, 4);
    CHECK_EQ_INT(d.unknown.v[0].line, 1);
    CHECK_EQ_INT(d.unknown.v[1].line, 4);
    CHECK_EQ_INT(d.unknown.v[2].line, 5);
    CHECK_EQ_INT(d.unknown.v[3].line, 7);
    b4k_ie_data_free(&d);
    const char *s = wfile("j.txt", "a B-X\nb\n");
    CHECK(b4k_ie_read(&d, &err, s, B4K_IE_CONLL, &nm, 0) == B4K_EFORMAT);
    CHECK_EQ_INT(err.line, 2);
    b4k_ie_data_free(&d);
    b4k_ie_names_free(&nm);
}

TEST(align)
{
    /* [CLS] "ab" "##c" " " "de" [SEP] */
    int32_t offs[] = {0, 0, 0, 2, 2, 3, 4, 6, 0, 0};
    int t0, t1;
    CHECK(b4k_ie_align(offs, 5, 0, 3, &t0, &t1) == 0);
    CHECK_EQ_INT(t0, 1);
    CHECK_EQ_INT(t1, 2);
    CHECK(b4k_ie_align(offs, 5, 1, 5, &t0, &t1) == 0);
    CHECK_EQ_INT(t0, 1);
    CHECK_EQ_INT(t1, 3);
    CHECK(b4k_ie_align(offs, 5, 3, 4, &t0, &t1) == -1);
    CHECK(b4k_ie_align(offs, 5, -1, 2, &t0, &t1) == -1);
}

TEST(metrics)
{
    b4k_ie_metrics mt;
    CHECK(b4k_ie_metrics_init(&mt, 2) == 0);
    b4k_ie_triple g[3] = {{"a", "b", 0, 0, 0, 0, 0}, {"a", "c", 1, 0, 0, 0, 0}, {"a", "b", 0, 0, 0, 0, 0}};
    b4k_ie_triple p[2] = {{"a", "b", 0, 0, 0, 0, 0}, {"a", "x", 1, 0, 0, 0, 0}};
    b4k_ie_doc gd = {0}, pd = {0};
    gd.trip = g, gd.ntrip = 3;
    pd.trip = p, pd.ntrip = 2;
    b4k_ie_metrics_add(&mt, B4K_IE_SPO, &gd, &pd);
    double P, R, F;
    b4k_ie_metrics_prf(&mt, 2, &P, &R, &F);
    CHECK_NEAR(P, 0.5, 1e-12);
    CHECK_NEAR(R, 0.5, 1e-12); /* duplicate gold counted once */
    b4k_ie_metrics_prf(&mt, 0, &P, &R, &F);
    CHECK_NEAR(F, 1.0, 1e-12);
    b4k_ie_metrics_free(&mt);
}

/* spo decoding on hand-set logits: a subject at tokens 1..2 with an object
 * at 4..4 for predicate 1, thresholds as bert4keras */
TEST(spo_decode)
{
    b4k_ptab tab;
    b4k_err err;
    b4k_spo_head h;
    b4k_ptab_init(&tab);
    CHECK(b4k_spo_add_params(&h, &tab, &err, 4, 2, 1e-12f) == 0);
    CHECK(b4k_ptab_alloc(&tab, &err) == 0);
    b4k_spo_init_weights(&h, &tab, 1);
    /* subject logits from out[:,0] and out[:,1]; object logits from cln */
    float *sw = b4k_ptab_w(&tab, h.p_sw), *ow = b4k_ptab_w(&tab, h.p_ow), *ob = b4k_ptab_w(&tab, h.p_ob);
    memset(sw, 0, 8 * sizeof(float));
    sw[0] = 1, sw[4 + 1] = 1; /* start <- feature 0, end <- feature 1 */
    memset(ow, 0, 16 * sizeof(float));
    for (int i = 0; i < 4; i++) ob[i] = -20;
    ow[2 * 4 + 2] = 40, ow[3 * 4 + 3] = 40; /* pred 1 start <- f2, end <- f3 */
    int n = 6;
    float out[24] = {0}, pre[24];
    for (int t = 0; t < n; t++) out[t * 4 + 0] = out[t * 4 + 1] = -20;
    out[1 * 4 + 0] = 20; /* start at 1 */
    out[2 * 4 + 1] = 20; /* end at 2 */
    /* pre rows: LN of (f2 high) at token 4 for both start and end */
    for (int t = 0; t < n; t++) {
        pre[t * 4 + 0] = 1, pre[t * 4 + 1] = 1, pre[t * 4 + 2] = -1, pre[t * 4 + 3] = -1;
    }
    pre[4 * 4 + 2] = 3, pre[4 * 4 + 3] = 3;
    b4k_spo_ws ws;
    CHECK(b4k_spo_ws_init(&ws, &err, &h, 1, n) == 0);
    b4k_spo_thresh th = {0.6f, 0.5f, 0.6f, 0.5f};
    b4k_spo_triple *tr = NULL;
    size_t nt = 0, cap = 0;
    CHECK(b4k_spo_decode(&h, &tab, &ws, &err, out, pre, n, 1, n - 2, &th, &tr, &nt, &cap) == 0);
    CHECK_EQ_INT(nt, 1);
    if (nt == 1) {
        CHECK_EQ_INT(tr[0].s0, 1);
        CHECK_EQ_INT(tr[0].s1, 2);
        CHECK_EQ_INT(tr[0].p, 1);
        CHECK_EQ_INT(tr[0].o0, 4);
        CHECK_EQ_INT(tr[0].o1, 4);
    }
    free(tr);
    b4k_spo_ws_free(&ws);
    b4k_ptab_free(&tab);
}

static const char *VOCAB = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n##b\n周\n星\n驰\n";

TEST(model_roundtrip)
{
    b4k_err err;
    const char *vp = wfile("vocab.txt", VOCAB);
    b4k_bert_config c = {16, 8, 1, 2, 16, 32, 2, 0, 1e-12f, 0.1f, 0.1f, 0, 0, 0, 0.02f};
    b4k_ie_names nm = {0};
    b4k_ie_names_add(&nm, "主演");
    b4k_ie_names_add(&nm, "p2");
    b4k_ie_model m, m2;
    CHECK(b4k_ie_model_create(&m, &err, B4K_IE_SPO, &c, &nm, vp, NULL, 16, 5) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/m.b4k", tmpdir);
    CHECK(b4k_ie_model_save(&m, &err, path, NULL, NULL) == 0);
    CHECK(b4k_ie_model_load(&m2, &err, path, NULL) == 0);
    CHECK_EQ_INT(m2.task, B4K_IE_SPO);
    CHECK_EQ_INT(m2.names.n, 2);
    CHECK_EQ_STR(m2.names.v[0], "主演");
    CHECK_EQ_INT(m2.tab.total, m.tab.total);
    CHECK(m2.tab.total && !memcmp(m.tab.w, m2.tab.w, m.tab.total * sizeof(float)));
    CHECK_EQ_INT(m2.max_len, 16);
    CHECK_EQ_INT(m2.bf16, 0);
    /* the precision travels with the model ("precision":"bf16") */
    m.bf16 = 1;
    b4k_ie_model_free(&m2);
    CHECK(b4k_ie_model_save(&m, &err, path, NULL, NULL) == 0);
    CHECK(b4k_ie_model_load(&m2, &err, path, NULL) == 0);
    CHECK_EQ_INT(m2.bf16, 1);
    /* a bad path fails without touching the old file */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/nodir/m.b4k", tmpdir);
    CHECK(b4k_ie_model_save(&m, &err, bad, NULL, NULL) < 0);
    /* a model with an unknown vocabulary size mismatch is refused */
    b4k_bert_config c2 = c;
    c2.vocab = 5;
    b4k_ie_model m3;
    CHECK(b4k_ie_model_create(&m3, &err, B4K_IE_SPO, &c2, &nm, vp, NULL, 16, 5) < 0);
    b4k_ie_model_free(&m3);
    b4k_ie_model_free(&m);
    b4k_ie_model_free(&m2);
    b4k_ie_names_free(&nm);
}

/* truncation is noted only when text that makes tokens is cut off; gold
 * items whose strings are missing are noted once (by the reader), items
 * past the cut once (by featurize) */
TEST(truncation_notes)
{
    b4k_err err;
    const char *vp = wfile("vocab2.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n");
    b4k_wordpiece *wp = NULL;
    CHECK(b4k_wordpiece_load(&wp, vp, -1, -1, 1, &err) == 0);
    const char *p = wfile("t.json",
                          "{\"text\":\"a b c\",\"spo_list\":[{\"subject\":\"a\",\"predicate\":\"p\",\"object\":\"c\"}]}\n"
                          "{\"text\":\"a b    \\t \",\"spo_list\":[{\"subject\":\"a\",\"predicate\":\"p\",\"object\":\"x\"}]}\n"
                          "{\"text\":\"a b\"}\n");
    b4k_ie_data d = {0};
    b4k_ie_names nm = {0};
    CHECK(b4k_ie_read(&d, &err, p, B4K_IE_LIC2019, &nm, 0) == 0);
    CHECK_EQ_INT(d.missing.total, 1);
    b4k_ie_exset ex = {0};
    CHECK(b4k_ie_featurize(&ex, &err, wp, &d, B4K_IE_SPO, 4) == 0); /* [CLS] a b [SEP] */
    CHECK_EQ_INT(ex.truncated.total, 1);                             /* only line 1 */
    CHECK_EQ_INT(ex.truncated.v[0].line, 1);
    CHECK_EQ_INT(ex.dropped.total, 1); /* "c" past the cut; "x" was noted as missing */
    CHECK(strstr(ex.dropped.v[0].text, "past the cut") != NULL);
    b4k_ie_exset_free(&ex);
    b4k_ie_data_free(&d);
    b4k_ie_names_free(&nm);
    b4k_wordpiece_free(wp);
}

/* training settings: JSON round trip (exact doubles), resume merge rules */
TEST(settings_resume)
{
    b4k_err err;
    b4k_ie_settings a = {.epochs = 3, .batch = 16, .accum = 2, .bucket = 1, .threads = 2, .seed = 77,
                         .lr = 5e-4, .warmup = 0.1, .wd = 0.01, .clip = 1, .ema = 0.999,
                         .crf_lr_mult = 100, .layer_decay = 0.9, .dropout = -1, .holdout = 0.1,
                         .max_len = 128, .documents = 10, .data_hash = 0xfedcba9876543210ULL};
    json_t *j = b4k_ie_settings_json(&a);
    b4k_ie_settings b, out;
    CHECK(j && b4k_ie_settings_from_json(&b, &err, j, "x") == 0);
    json_t *j2 = b4k_ie_settings_json(&b);
    CHECK(json_equal(j, j2) && b.lr == a.lr && b.data_hash == a.data_hash && b.seed == 77);
    /* "bf16" round-trips; a checkpoint from before it existed reads as f32 */
    CHECK(json_is_false(json_object_get(j, "bf16")) && b.bf16 == 0);
    json_object_del(j2, "bf16");
    b.bf16 = 1;
    CHECK(b4k_ie_settings_from_json(&b, &err, j2, "x") == 0 && b.bf16 == 0);
    json_decref(j);
    json_decref(j2);
    const char *note;
    /* nothing given: the checkpoint's settings */
    b4k_ie_settings cli = {.epochs = 3, .threads = 1, .documents = 10, .data_hash = a.data_hash};
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, 0, "ck", &note) == 0);
    CHECK(out.lr == a.lr && out.threads == 2 && out.ema == a.ema && out.accum == 2 && !note);
    /* threads may change, with a note */
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_THREADS, "ck", &note) == 0);
    CHECK_EQ_INT(out.threads, 1);
    CHECK(note != NULL);
    /* bf16: kept from the checkpoint; --bf16 on an f32 one is refused; in
     * bf16 another thread count gives the same bits (no note) */
    b4k_ie_settings cb = cli;
    cb.bf16 = 1;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cb, B4K_IE_S_BF16, "ck", &note) == B4K_EINVAL);
    CHECK(strstr(err.msg, "--bf16 on differs from the checkpoint's off") != NULL);
    a.bf16 = 1;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_THREADS, "ck", &note) == 0);
    CHECK(out.bf16 == 1 && out.threads == 1 && note == NULL);
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cb, B4K_IE_S_BF16, "ck", &note) == 0);
    a.bf16 = 0;
    /* epochs are tied to the schedule by warmup here */
    cli.epochs = 5;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_EPOCHS, "ck", &note) == B4K_EINVAL);
    CHECK(strstr(err.msg, "--epochs 5 differs") != NULL);
    a.warmup = 0;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_EPOCHS, "ck", &note) == 0);
    CHECK_EQ_INT(out.epochs, 5);
    /* same value given is fine; a different lr is refused; other data refused */
    cli.lr = 5e-4;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_LR, "ck", &note) == 0);
    cli.lr = 1e-3;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, B4K_IE_S_LR, "ck", &note) == B4K_EINVAL);
    cli.data_hash ^= 1;
    CHECK(b4k_ie_settings_resume(&out, &err, &a, &cli, 0, "ck", &note) == B4K_EINVAL);
    /* a model without settings is no checkpoint */
    CHECK(b4k_ie_settings_from_json(&b, &err, NULL, "x") == B4K_EFORMAT);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/b4k-test-ie.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(read_lic2019_cmeie);
    RUN(read_casrel);
    RUN(read_ner);
    RUN(align);
    RUN(metrics);
    RUN(spo_decode);
    RUN(model_roundtrip);
    RUN(truncation_notes);
    RUN(settings_resume);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
    }
    return t_done();
}
