/* lib/nn kernels the BERT encoder is built from, beyond test_bert_ops.c:
 *  - the pool-split GEMM (b4k_gemm_par) forced onto its multi-threaded path
 *    (M*N*K >= 2^18, rows and columns split, every transpose) against one
 *    sgemm and a double reference, and the same bits twice per thread count;
 *  - attention forward (padding lens, causal, dropout) and backward against
 *    their _ref twins, single and pooled, and finite differences;
 *  - masked softmax rows, embedding backward, dropout against _ref twins;
 *  - the layer-wise learning rate and the CRF multiplier as set for a
 *    model, and that one AdamW step moves each tensor by lr * its
 *    multiplier (Adam's first step is sign(g) * lr);
 *  - EMA: swapped in for evaluation and back exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/threads.h"
#include "ie/model.h"
#include "nn/adamw.h"
#include "nn/ops.h"
#include "nn/ops_bwd.h"
#include "t.h"
#include "tensor/blas.h"

static b4k_rng R;

static float *rnd(size_t n, float sc)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(b4k_rng_normal(&R) * sc);
    return p;
}

static double maxrel(const float *a, const float *b, size_t n)
{
    double md = 0, mb = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d != d) return INFINITY;
        md = fmax(md, d);
        mb = fmax(mb, fabs(b[i]));
    }
    return md / mb;
}

/* ---- pool GEMM ------------------------------------------------------------- */

static void gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            C[(size_t)i * ldc + j] = (float)(alpha * s + beta * C[(size_t)i * ldc + j]);
        }
}

static void gemm_case(b4k_pool *pool, int ta, int tb, int M, int N, int K)
{
    CHECK((long)M * N * K >= B4K_GEMM_PAR_MIN); /* the split path */
    int lda = ta ? M : K, ldb = tb ? K : N;
    float *A = rnd((size_t)M * K, 1), *B = rnd((size_t)K * N, 1), *C0 = rnd((size_t)M * N, 1);
    float *C1 = malloc((size_t)M * N * 4), *C2 = malloc((size_t)M * N * 4), *C3 = malloc((size_t)M * N * 4),
          *Cr = malloc((size_t)M * N * 4);
    memcpy(C1, C0, (size_t)M * N * 4);
    memcpy(C2, C0, (size_t)M * N * 4);
    memcpy(C3, C0, (size_t)M * N * 4);
    memcpy(Cr, C0, (size_t)M * N * 4);
    b4k_sgemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, C1, N);
    b4k_gemm_par(pool, ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, C2, N);
    b4k_gemm_par(pool, ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, C3, N);
    gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, Cr, N);
    double e1 = maxrel(C2, C1, (size_t)M * N), er = maxrel(C2, Cr, (size_t)M * N);
    if (!(e1 < 1e-5 && er < 1e-5))
        printf("  gemm_par %d threads ta %d tb %d %dx%dx%d: vs sgemm %.2g, vs ref %.2g\n",
               b4k_pool_size(pool), ta, tb, M, N, K, e1, er);
    CHECK(e1 < 1e-5);
    CHECK(er < 1e-5);
    CHECK(!memcmp(C2, C3, (size_t)M * N * 4)); /* static split: same bits */
    free(A), free(B), free(C0), free(C1), free(C2), free(C3), free(Cr);
}

TEST(gemm_par_split)
{
    b4k_blas_set_threads(1);
    for (int nt = 2; nt <= 3; nt++) {
        b4k_pool *pool = b4k_pool_new(nt);
        CHECK(pool != NULL);
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            gemm_case(pool, ta, tb, 100, 67, 45);  /* rows split (M >= 16 nt), odd edges */
            gemm_case(pool, ta, tb, 20, 300, 60);  /* M < 16 nt: columns split */
        }
        b4k_pool_free(pool);
    }
}

/* ---- attention ----------------------------------------------------------------- */

static void att_case(b4k_pool *pool, int B, int T, int C, int NH, int causal, float pdrop)
{
    size_t N = (size_t)B * T, TT = (size_t)B * NH * T * T;
    float *qkv = rnd(N * 3 * C, 1), *out = malloc(N * C * 4), *out2 = malloc(N * C * 4);
    float *P = malloc(TT * 4), *P2 = malloc(TT * 4);
    int32_t lens[4] = {T, T - 2, 1, 0};
    uint8_t *m = NULL;
    if (pdrop > 0) {
        m = malloc(TT);
        b4k_nn_dropout_mask(m, TT, pdrop, &R);
    }
    float *scr = malloc(b4k_attention_scratch(T, pool) * 4);
    b4k_attention_fwd(out, P, scr, qkv, lens, m, pdrop, B, T, C, NH, causal, pool);
    b4k_attention_fwd_ref(out2, P2, qkv, lens, m, pdrop, B, T, C, NH, causal);
    CHECK(maxrel(out, out2, N * C) < 1e-5);
    CHECK(maxrel(P, P2, TT) < 1e-5);
    /* without saved probabilities (inference) the output is the same */
    float *out3 = malloc(N * C * 4);
    b4k_attention_fwd(out3, NULL, scr, qkv, lens, m, pdrop, B, T, C, NH, causal, pool);
    CHECK(!memcmp(out, out3, N * C * 4));
    /* padding keys get exactly 0; a row of an empty sequence is all 0 */
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < T; t++) {
            CHECK(P[(((size_t)1 * NH + h) * T + t) * T + (T - 1)] == 0.f);
            CHECK(P[(((size_t)3 * NH + h) * T + t) * T + 0] == 0.f);
        }
    /* backward */
    float *dout = rnd(N * C, 1), *dq = malloc(N * 3 * C * 4), *dq2 = malloc(N * 3 * C * 4);
    b4k_nn_attention_bwd(dq, scr, dout, qkv, P, m, pdrop, B, T, C, NH, pool);
    b4k_nn_attention_bwd_ref(dq2, dout, qkv, P2, m, pdrop, B, T, C, NH);
    CHECK(maxrel(dq, dq2, N * 3 * C) < 1e-4);
    /* finite differences of sum(out * dout) through the reference */
    double worst = 0;
    for (int k = 0; k < 24; k++) {
        size_t i = b4k_rng_below(&R, N * 3 * C);
        float s = qkv[i], h = 1e-2f;
        double f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            qkv[i] = s + (sgn ? -h : h);
            b4k_attention_fwd_ref(out2, NULL, qkv, lens, m, pdrop, B, T, C, NH, causal);
            double acc = 0;
            for (size_t j = 0; j < N * C; j++) acc += (double)out2[j] * dout[j];
            f[sgn] = acc;
        }
        qkv[i] = s;
        double fd = (f[0] - f[1]) / (2 * h);
        worst = fmax(worst, fabs(fd - dq2[i]) / (fabs(dq2[i]) + 1e-2));
    }
    CHECK(worst < 1e-2);
    free(qkv), free(out), free(out2), free(out3), free(P), free(P2), free(m), free(scr);
    free(dout), free(dq), free(dq2);
}

TEST(attention)
{
    b4k_pool *pool = b4k_pool_new(2);
    att_case(NULL, 4, 7, 12, 3, 0, 0.f);
    att_case(pool, 4, 7, 12, 3, 0, 0.f);
    att_case(NULL, 4, 9, 8, 2, 1, 0.f);   /* causal */
    att_case(pool, 4, 6, 12, 2, 0, 0.3f); /* dropout on the probabilities */
    att_case(NULL, 4, 5, 6, 1, 1, 0.25f);
    b4k_pool_free(pool);
}

/* ---- softmax rows, embedding backward, dropout ------------------------------------ */

TEST(softmax_rows_twin)
{
    for (int len = -1; len <= 13; len += 3) {
        float *x = rnd(5 * 11, 4), *y = malloc(5 * 11 * 4);
        memcpy(y, x, 5 * 11 * 4);
        b4k_softmax_rows_fwd(x, 5, 11, len);
        b4k_softmax_rows_fwd_ref(y, 5, 11, len);
        CHECK(maxrel(x, y, 55) < 1e-6);
        for (int n = 0; n < 5; n++)
            for (int c = len < 0 ? 0 : len; c < 11; c++) CHECK(x[n * 11 + c] == 0.f);
        free(x), free(y);
    }
}

TEST(embed_bwd_twin)
{
    int N = 40, C = 7, V = 9;
    int32_t ids[40];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)b4k_rng_below(&R, V + 2) - 1; /* -1 and V: skipped */
    float *dy = rnd((size_t)N * C, 1), *E = rnd((size_t)V * C, 1), *E2 = malloc((size_t)V * C * 4);
    memcpy(E2, E, (size_t)V * C * 4);
    b4k_nn_embed_bwd(E, dy, ids, N, C, V);
    b4k_nn_embed_bwd_ref(E2, dy, ids, N, C, V);
    CHECK(maxrel(E, E2, (size_t)V * C) < 1e-6);
    free(dy), free(E), free(E2);
}

TEST(dropout_twin)
{
    size_t n = 20000;
    uint8_t *m = malloc(n);
    b4k_nn_dropout_mask(m, n, 0.3f, &R);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) kept += m[i];
    CHECK(fabs((double)kept / n - 0.7) < 0.02);
    float *x = rnd(n, 1), *y = malloc(n * 4), *y2 = malloc(n * 4);
    b4k_nn_dropout_apply(y, x, m, n, 0.3f);
    b4k_nn_dropout_apply_ref(y2, x, m, n, 0.3f);
    CHECK(maxrel(y, y2, n) < 1e-6);
    for (size_t i = 0; i < n; i++) CHECK(m[i] || y[i] == 0.f);
    b4k_nn_dropout_mask(m, n, 0.f, &R); /* p = 0 keeps everything */
    for (size_t i = 0; i < n; i++) CHECK(m[i] == 1);
    free(m), free(x), free(y), free(y2);
}

/* ---- layer-wise lr, CRF multiplier, EMA ---------------------------------------- */

static char tmpdir[256];

TEST(lr_multipliers_and_ema)
{
    b4k_err err;
    char vp[300];
    snprintf(vp, sizeof vp, "%s/vocab.txt", tmpdir);
    FILE *f = fopen(vp, "w");
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n", f);
    fclose(f);
    b4k_bert_config c = {7, 8, 3, 2, 16, 16, 2, 0, 1e-12f, 0.f, 0.f, 0, 0, 0, 0.02f};
    b4k_ie_names nm = {0};
    b4k_ie_names_add(&nm, "X");
    b4k_ie_model m;
    CHECK(b4k_ie_model_create(&m, &err, B4K_IE_NER, &c, &nm, vp, NULL, 8, 3) == 0);
    CHECK(b4k_ie_model_set_lr_mults(&m, &err, 30, 0.5) == 0);
    int L = c.layers;
    for (int i = 0; i < m.tab.n; i++) {
        const b4k_ptensor *t = &m.tab.t[i];
        int l = b4k_bert_param_layer(&m.bert, i);
        double want = l >= 0 ? pow(0.5, L - l) : l == -1 ? pow(0.5, L + 1) : 1;
        if (i == m.ner.p_trans) want = 30;
        if (fabs(t->lr_mult - want) > 1e-6 * want) {
            printf("  %s: lr_mult %g, want %g\n", t->name, t->lr_mult, want);
            t_failed_now = 1;
        }
    }
    /* idempotent: setting again gives the same, and 1 resets */
    CHECK(b4k_ie_model_set_lr_mults(&m, &err, 30, 0.5) == 0);
    CHECK(fabs(m.tab.t[m.bert.p_word].lr_mult - 0.0625) < 1e-9);
    /* one AdamW step (no decay, no clip): |dw| = lr * mult where |g| >> eps */
    b4k_adamw_opts o;
    b4k_adamw_defaults(&o);
    o.lr = 1e-3f;
    o.weight_decay = 0;
    o.ema_decay = 0.9f;
    b4k_adamw opt;
    CHECK(b4k_adamw_init(&opt, &err, &m.tab, &o) == 0);
    float *w0 = malloc(m.tab.total * 4);
    memcpy(w0, m.tab.w, m.tab.total * 4);
    for (size_t k = 0; k < m.tab.total; k++) m.tab.g[k] = (k % 3 ? 1.f : -1.f) * (float)(0.5 + k % 7);
    b4k_adamw_step(&opt, &m.tab, 1.f, NULL);
    double worst = 0;
    for (int i = 0; i < m.tab.n; i++) {
        const b4k_ptensor *t = &m.tab.t[i];
        for (size_t k = t->off; k < t->off + t->n; k++) {
            double dw = fabs((double)m.tab.w[k] - w0[k]), want = 1e-3 * t->lr_mult;
            worst = fmax(worst, fabs(dw - want) / want);
        }
    }
    printf("  one AdamW step: |dw| = lr * lr_mult within %.2g\n", worst);
    CHECK(worst < 1e-3);
    /* EMA: after one step ema = 0.9 w0 + 0.1 w1; apply swaps it in, restore back */
    float *w1 = malloc(m.tab.total * 4);
    memcpy(w1, m.tab.w, m.tab.total * 4);
    double ee = 0;
    for (size_t k = 0; k < m.tab.total; k++)
        ee = fmax(ee, fabs(opt.ema[k] - (0.9 * w0[k] + 0.1 * w1[k])));
    CHECK(ee < 1e-6);
    b4k_adamw_ema_apply(&opt, &m.tab);
    CHECK(!memcmp(m.tab.w, opt.ema, m.tab.total * 4));
    b4k_adamw_ema_apply(&opt, &m.tab); /* twice is once */
    b4k_adamw_ema_restore(&opt, &m.tab);
    CHECK(!memcmp(m.tab.w, w1, m.tab.total * 4));
    /* ALBERT's shared layer refuses a layer decay */
    b4k_ie_model a;
    b4k_bert_config ca = c;
    ca.shared = 1, ca.emb = 4;
    CHECK(b4k_ie_model_create(&a, &err, B4K_IE_SPO, &ca, &nm, vp, NULL, 8, 3) == 0);
    CHECK(b4k_ie_model_set_lr_mults(&a, &err, 1, 0.5) == B4K_EUNSUP);
    CHECK(b4k_ie_model_set_lr_mults(&a, &err, 1, 1) == 0);
    b4k_ie_model_free(&a);
    free(w0), free(w1);
    b4k_adamw_free(&opt);
    b4k_ie_model_free(&m);
    b4k_ie_names_free(&nm);
}

/* initializer_range: weights N(0, range) truncated at 2 sigma (std 0.88
 * range), biases 0, LayerNorm gains 1 */
TEST(init_range)
{
    b4k_err err;
    double sd[2];
    float ranges[2] = {0.02f, 0.1f};
    for (int k = 0; k < 2; k++) {
        b4k_bert_config c = {50, 32, 1, 2, 64, 16, 2, 0, 1e-12f, 0.f, 0.f, 0, 0, 0, ranges[k]};
        b4k_bert b;
        b4k_ptab tab;
        b4k_ptab_init(&tab);
        CHECK(b4k_bert_add_params(&b, &tab, &err, &c, "bert.") == 0);
        CHECK(b4k_ptab_alloc(&tab, &err) == 0);
        b4k_bert_init_weights(&b, &tab, 1);
        double s2 = 0, mx = 0;
        size_t n = 0;
        for (int i = 0; i < tab.n; i++) {
            const b4k_ptensor *t = &tab.t[i];
            const float *w = tab.w + t->off;
            int ln = strstr(t->name, "LayerNorm.weight") != NULL;
            for (size_t j = 0; j < t->n; j++) {
                if (t->ndim == 2) s2 += (double)w[j] * w[j], n++, mx = fmax(mx, fabs(w[j]));
                else CHECK(w[j] == (ln ? 1.f : 0.f));
            }
        }
        sd[k] = sqrt(s2 / n);
        CHECK(mx <= 2 * ranges[k] * 1.0001);
        CHECK(fabs(sd[k] / ranges[k] - 0.88) < 0.03);
        b4k_bert_free(&b);
        b4k_ptab_free(&tab);
    }
    printf("  weight std %.4f at initializer_range 0.02, %.4f at 0.1\n", sd[0], sd[1]);
}

int main(void)
{
    b4k_rng_seed(&R, 12345, 0);
    snprintf(tmpdir, sizeof tmpdir, "%s/b4k-test-nn.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(gemm_par_split);
    RUN(attention);
    RUN(softmax_rows_twin);
    RUN(embed_bwd_twin);
    RUN(dropout_twin);
    RUN(lr_multipliers_and_ema);
    RUN(init_range);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
    }
    return t_done();
}
