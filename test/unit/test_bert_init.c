/* b4k-extract --init from converted pretrained checkpoints: tiny BERT
 * (pytorch_model.bin), RoBERTa (position offset 2) and ALBERT (factorised
 * embeddings, one shared layer; safetensors) in Hugging Face's layouts,
 * and Google's TF keras-bert-test-checkpoint from ../shared/data, are
 * converted as b4k-convert does (config and vocab found beside them), loaded
 * through the --init path (peek config, create, copy the encoder) and run;
 * the last hidden states must match float64 torch (test/ref/
 * bert_init_ref.py -> test/golden/bert/init_*.bin) on every real token,
 * and in bf16 mixed precision within its relative RMS bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/convert.h"
#include "ie/model.h"
#include "nn/bert.h"
#include "t.h"
#include "test_bert_golden.h"

#define TOL 1e-4

static char tmpdir[256];

static void parity(const char *kind, const char *ckpt_dir, const char *ckpt, const char *expect_arch)
{
    char in[1024], out[600], gname[64];
    snprintf(in, sizeof in, "%s/%s", ckpt_dir, ckpt);
    snprintf(out, sizeof out, "%s/%s.b4k", tmpdir, kind);
    snprintf(gname, sizeof gname, "init_%s.bin", kind);
    golden g;
    if (golden_open(&g, gname)) {
        printf("  cannot read golden %s\n", gname);
        t_failed_now = 1;
        return;
    }
    b4k_err err;
    b4k_convert_opts o;
    b4k_convert_opts_init(&o);
    const char *inputs[1] = {in};
    if (b4k_convert_run(inputs, 1, &o, out, &err)) {
        printf("  convert %s: %s\n", in, err.msg);
        t_failed_now = 1;
        golden_free(&g);
        return;
    }
    b4k_model *mf = NULL;
    CHECK(b4k_model_open(&mf, out, &err) == 0);
    if (mf) CHECK_EQ_STR(b4k_model_arch(mf), expect_arch);
    b4k_model_free(mf);
    b4k_bert_config c;
    b4k_ie_model m;
    memset(&m, 0, sizeof m);
    b4k_ie_names nm = {0};
    b4k_ie_names_add(&nm, "p");
    const gtensor *ids = golden_get(&g, "ids"), *lens = golden_get(&g, "lens"), *ref = golden_get(&g, "out");
    int B = ids->dims[0], T = ids->dims[1];
    if (b4k_ie_model_peek_config(&c, &err, out) ||
        b4k_ie_model_create(&m, &err, B4K_IE_SPO, &c, &nm, NULL, out, T, 1) ||
        b4k_ie_model_init_from(&m, &err, out)) {
        printf("  --init %s: %s\n", out, err.msg);
        t_failed_now = 1;
        goto done;
    }
    int32_t id[64], ln[8];
    for (int i = 0; i < B * T; i++) id[i] = (int32_t)ids->d[i];
    for (int b = 0; b < B; b++) ln[b] = (int32_t)lens->d[b];
    b4k_bert_act act;
    CHECK(b4k_bert_act_init(&act, &err, &m.cfg, B, T, 0) == 0);
    CHECK(b4k_bert_forward(&m.bert, &m.tab, &act, &err, id, NULL, ln, B, T, 0, NULL, NULL) == 0);
    /* real tokens only: padding rows are not defined the same way */
    int H = m.cfg.hidden, n = 0;
    float *a = malloc((size_t)B * T * H * sizeof *a), *r = malloc((size_t)B * T * H * sizeof *r);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < ln[b]; t++, n++) {
            memcpy(a + (size_t)n * H, b4k_bert_out(&act) + ((size_t)b * T + t) * H, H * sizeof *a);
            memcpy(r + (size_t)n * H, ref->d + ((size_t)b * T + t) * H, H * sizeof *r);
        }
    gstat st = golden_stat(a, r, (size_t)n * H, 0);
    printf("  %s (%s, %d layers%s%s): %d tokens x %d, max abs %.2g, nmse %.2g, max elem rel %.2g\n",
           kind, expect_arch, m.cfg.layers, m.cfg.shared ? ", shared" : "",
           m.cfg.pos_offset ? ", positions +2" : "", n, H, st.max_abs, st.nmse, st.max_rel);
    CHECK(st.max_rel <= TOL);
    CHECK(st.nmse <= TOL * TOL);
    /* the same in bf16 (ALBERT: its projection and the one shared layer's
     * bf16 weights): relative RMS error within test_bert.c's 2^-6 */
    CHECK(b4k_bert_act_bf16(&act, &err, &m.bert, B4K_BERT_BF16) == 0);
    CHECK(b4k_bert_forward(&m.bert, &m.tab, &act, &err, id, NULL, ln, B, T, 0, NULL, NULL) == 0);
    n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < ln[b]; t++, n++)
            memcpy(a + (size_t)n * H, b4k_bert_out(&act) + ((size_t)b * T + t) * H, H * sizeof *a);
    gstat sh = golden_stat(a, r, (size_t)n * H, 0);
    printf("  %s bf16: relative RMS error %.2g, max abs %.2g\n", kind, sqrt(sh.nmse), sh.max_abs);
    CHECK(sqrt(sh.nmse) <= 0.015625);
    free(a), free(r);
    b4k_bert_act_free(&act);
done:
    b4k_ie_model_free(&m);
    b4k_ie_names_free(&nm);
    golden_free(&g);
}

static char gdir[1024];
static const char *gd(const char *sub)
{
    static char p[4][1100];
    static int k;
    char *q = p[k++ % 4];
    snprintf(q, 1100, "%s/init/%s", gdir, sub);
    return q;
}

TEST(init_bert) { parity("bert", gd("bert"), "pytorch_model.bin", "bert"); }
TEST(init_roberta) { parity("roberta", gd("roberta"), "pytorch_model.bin", "bert"); }
TEST(init_albert) { parity("albert", gd("albert"), "model.safetensors", "albert"); }

int main(void)
{
    const char *top = getenv("TOP"), *data = getenv("DATA");
    snprintf(gdir, sizeof gdir, "%s/test/golden/bert", top ? top : ".");
    if (getenv("B4K_GOLDEN")) snprintf(gdir, sizeof gdir, "%s", getenv("B4K_GOLDEN"));
    snprintf(tmpdir, sizeof tmpdir, "%s/b4k-test-init.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(init_bert);
    RUN(init_roberta);
    RUN(init_albert);
    char kd[1024];
    snprintf(kd, sizeof kd, "%s/models/keras-bert-test-checkpoint", data ? data : "");
    if (data && access(kd, R_OK) == 0) {
        t_failed_now = 0;
        parity("keras", kd, "bert_model.ckpt", "bert");
        printf("%s: test_bert_init.c:init_keras_tf\n", t_failed_now ? "FAIL" : "PASS");
        if (t_failed_now) t_fail++; else t_pass++;
    } else {
        t_skip("test_bert_init.c:init_keras_tf", "no $DATA/models/keras-bert-test-checkpoint");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
    }
    return t_done();
}
