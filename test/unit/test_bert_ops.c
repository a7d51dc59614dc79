/* Training kernels: fast vs _ref twins on random odd shapes, finite-
 * difference checks of every backward (layer norm shared and conditional,
 * GELU erf/tanh, linear, softmax, pointer BCE, CRF), the whole encoder with
 * dropout on, gradient accumulation, the AdamW schedule and EMA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/cpu.h"
#include "nn/adamw.h"
#include "nn/adamw_kern.h"
#include "nn/bert.h"
#include "crf/crfloss.h"
#include "nn/loss.h"
#include "nn/ops.h"
#include "nn/ops_bwd.h"
#include "t.h"

static b4k_rng R;

static float *rnd(size_t n, float sc)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(b4k_rng_normal(&R) * sc);
    return p;
}

static double maxrel(const float *a, const float *b, size_t n)
{
    double md = 0, mb = 1e-30;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs(b[i]));
    }
    return md / mb;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- layer norm --------------------------------------------------------- */

static double ln_obj(const float *x, const float *g, size_t gs, const float *b, const float *Rr,
                     int N, int C)
{
    float *y = malloc((size_t)N * C * 4), *m = malloc(N * 4), *r = malloc(N * 4);
    b4k_layernorm_fwd_ref(y, m, r, x, g, gs, b, gs, N, C, 1e-5f);
    double s = dot(y, Rr, (size_t)N * C);
    free(y), free(m), free(r);
    return s;
}

static void ln_case(int N, int C, int per_row)
{
    size_t gs = per_row ? (size_t)C : 0, ng = per_row ? (size_t)N * C : (size_t)C;
    float *x = rnd((size_t)N * C, 2), *g = rnd(ng, 1), *b = rnd(ng, 1), *Rr = rnd((size_t)N * C, 1);
    float *y = malloc((size_t)N * C * 4), *y2 = malloc((size_t)N * C * 4);
    float *m = malloc(N * 4), *r = malloc(N * 4), *m2 = malloc(N * 4), *r2 = malloc(N * 4);
    b4k_layernorm_fwd_strided(y, m, r, x, g, gs, b, gs, N, C, 1e-5f);
    b4k_layernorm_fwd_ref(y2, m2, r2, x, g, gs, b, gs, N, C, 1e-5f);
    CHECK(maxrel(y, y2, (size_t)N * C) < 1e-5);
    float *dx = calloc((size_t)N * C, 4), *dg = calloc(ng, 4), *db = calloc(ng, 4);
    float *dx2 = calloc((size_t)N * C, 4), *dg2 = calloc(ng, 4), *db2 = calloc(ng, 4);
    b4k_nn_ln_bwd(dx, dg, db, Rr, x, m, r, g, gs, N, C);
    b4k_nn_ln_bwd_ref(dx2, dg2, db2, Rr, x, m2, r2, g, gs, N, C);
    CHECK(maxrel(dx, dx2, (size_t)N * C) < 1e-4);
    CHECK(maxrel(dg, dg2, ng) < 1e-5);
    CHECK(maxrel(db, db2, ng) < 1e-5);
    /* finite differences on x and g */
    double worst = 0;
    for (int k = 0; k < 6; k++) {
        size_t i = b4k_rng_below(&R, (size_t)N * C);
        float s = x[i], h = 1e-2f;
        x[i] = s + h;
        double fp = ln_obj(x, g, gs, b, Rr, N, C);
        x[i] = s - h;
        double fm = ln_obj(x, g, gs, b, Rr, N, C);
        x[i] = s;
        worst = fmax(worst, fabs((fp - fm) / (2 * h) - dx2[i]) / (fabs(dx2[i]) + 1e-2));
        size_t j = b4k_rng_below(&R, ng);
        s = g[j];
        g[j] = s + h;
        fp = ln_obj(x, g, gs, b, Rr, N, C);
        g[j] = s - h;
        fm = ln_obj(x, g, gs, b, Rr, N, C);
        g[j] = s;
        worst = fmax(worst, fabs((fp - fm) / (2 * h) - dg2[j]) / (fabs(dg2[j]) + 1e-2));
    }
    CHECK(worst < 1e-2);
    free(x), free(g), free(b), free(Rr), free(y), free(y2), free(m), free(r), free(m2), free(r2);
    free(dx), free(dg), free(db), free(dx2), free(dg2), free(db2);
}

TEST(layernorm) { ln_case(7, 13, 0); ln_case(5, 33, 0); }
TEST(layernorm_conditional) { ln_case(6, 17, 1); }

/* ---- GELU ------------------------------------------------------------------ */

TEST(gelu)
{
    for (int t = 0; t < 2; t++) {
        size_t n = 1001;
        float *x = rnd(n, 3), *y = malloc(n * 4), *y2 = malloc(n * 4), *dy = rnd(n, 1);
        float *dx = malloc(n * 4), *dx2 = malloc(n * 4);
        if (t) b4k_gelu_tanh_fwd(y, x, n);
        else b4k_gelu_erf_fwd(y, x, n);
        b4k_gelu_fwd_ref(y2, x, n, t);
        CHECK(maxrel(y, y2, n) < 1e-6);
        b4k_nn_gelu_bwd(dx, dy, x, n, t);
        b4k_nn_gelu_bwd_ref(dx2, dy, x, n, t);
        CHECK(maxrel(dx, dx2, n) < 1e-5);
        b4k_gelu_fwd_par(NULL, y, x, n, t);
        CHECK(maxrel(y, y2, n) < 1e-6);
        double worst = 0;
        for (size_t i = 0; i < n; i += 37) {
            float h = 1e-2f, a = x[i] + h, b = x[i] - h, ya, yb;
            b4k_gelu_fwd_ref(&ya, &a, 1, t);
            b4k_gelu_fwd_ref(&yb, &b, 1, t);
            double fd = ((double)ya - yb) / (2 * h) * dy[i];
            worst = fmax(worst, fabs(fd - dx2[i]) / (fabs(dx2[i]) + 1e-2));
        }
        CHECK(worst < 1e-2);
        free(x), free(y), free(y2), free(dy), free(dx), free(dx2);
    }
}

/* ---- linear, softmax --------------------------------------------------------- */

TEST(linear)
{
    int N = 7, I = 19, O = 11;
    float *x = rnd((size_t)N * I, 1), *W = rnd((size_t)O * I, 1), *b = rnd(O, 1), *dy = rnd((size_t)N * O, 1);
    float y[7 * 11], y2[7 * 11];
    b4k_linear_fwd(y, x, W, b, N, I, O);
    b4k_linear_fwd_ref(y2, x, W, b, N, I, O);
    CHECK(maxrel(y, y2, (size_t)N * O) < 1e-5);
    float *dx = rnd((size_t)N * I, 1), *dx2 = malloc((size_t)N * I * 4);
    memcpy(dx2, dx, (size_t)N * I * 4);
    float *dW = calloc((size_t)O * I, 4), *dW2 = calloc((size_t)O * I, 4), db[11] = {0}, db2[11] = {0};
    b4k_nn_linear_bwd(dx, 1, dW, db, dy, x, W, N, I, O);
    b4k_nn_linear_bwd_ref(dx2, 1, dW2, db2, dy, x, W, N, I, O);
    CHECK(maxrel(dx, dx2, (size_t)N * I) < 1e-5);
    CHECK(maxrel(dW, dW2, (size_t)O * I) < 1e-5);
    CHECK(maxrel(db, db2, O) < 1e-5);
    free(x), free(W), free(b), free(dy), free(dx), free(dx2), free(dW), free(dW2);
}

TEST(softmax)
{
    int N = 5, C = 9, len = 6;
    float *x = rnd((size_t)N * C, 2), *dp = rnd((size_t)N * C, 1);
    float p[45], dx[45], dx2[45];
    memcpy(p, x, sizeof p);
    b4k_softmax_rows_fwd(p, N, C, len);
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += p[n * C + c];
        CHECK_NEAR(s, 1.0, 1e-6);
        CHECK(p[n * C + len] == 0.f && p[n * C + C - 1] == 0.f);
    }
    b4k_nn_softmax_bwd(dx, dp, p, N, C);
    b4k_nn_softmax_bwd_ref(dx2, dp, p, N, C);
    CHECK(maxrel(dx, dx2, 45) < 1e-5);
    /* FD */
    double worst = 0;
    for (int i = 0; i < N * C; i += 4) {
        if (i % C >= len) continue;
        float h = 1e-2f, q[45];
        memcpy(q, x, sizeof q);
        q[i] += h;
        b4k_softmax_rows_fwd(q, N, C, len);
        double fp = dot(q, dp, 45);
        memcpy(q, x, sizeof q);
        q[i] -= h;
        b4k_softmax_rows_fwd(q, N, C, len);
        double fm = dot(q, dp, 45);
        worst = fmax(worst, fabs((fp - fm) / (2 * h) - dx2[i]) / (fabs(dx2[i]) + 1e-2));
    }
    CHECK(worst < 1e-2);
    float z[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    b4k_softmax_rows_fwd(z, 1, 9, 0);
    CHECK(z[0] == 0.f && z[8] == 0.f);
    free(x), free(dp);
}

/* ---- losses ------------------------------------------------------------------ */

TEST(bce_pow)
{
    float z[8] = {-30, -3, -0.5f, 0, 0.7f, 2, 9, 25}, y[8] = {0, 1, 0, 1, 1, 0, 1, 0};
    float w[4] = {1, 0.5f, 0, 1};
    for (int pw = 1; pw <= 4; pw++) {
        float dz[8];
        double l = b4k_loss_bce_pow(dz, z, y, w, 4, 2, pw, 0.3);
        CHECK(isfinite(l));
        for (int i = 0; i < 8; i++) {
            double h = 1e-3;
            float zz[8];
            memcpy(zz, z, sizeof zz);
            zz[i] = (float)(z[i] + h);
            double fp = b4k_loss_bce_pow(NULL, zz, y, w, 4, 2, pw, 0.3);
            zz[i] = (float)(z[i] - h);
            double fm = b4k_loss_bce_pow(NULL, zz, y, w, 4, 2, pw, 0.3);
            double fd = (fp - fm) / (2 * h);
            CHECK(fabs(fd - dz[i]) <= 1e-3 * (fabs(fd) + 1e-2));
        }
        /* direct formula at a moderate point */
        float z1 = 0.7f, y1 = 1, d1;
        double l1 = b4k_loss_bce_pow(&d1, &z1, &y1, NULL, 1, 1, pw, 1);
        double p = pow(1 / (1 + exp(-0.7)), pw);
        CHECK_NEAR(l1, -log(p), 1e-6);
    }
}

/* CRF NLL against enumeration of all label paths */
TEST(crf_loss)
{
    int L = 3, T = 4, B = 2;
    int32_t lens[2] = {4, 3}, tags[8] = {0, 2, 1, 1, 2, 2, 0, 0};
    float *em = rnd((size_t)B * T * L, 1), *tr = rnd((size_t)L * L, 1);
    b4k_crfloss c;
    b4k_err err;
    CHECK(b4k_crfloss_init(&c, &err, L) == 0);
    double loss;
    float dem[24], dtr[9] = {0};
    CHECK(b4k_crfloss_nll(&c, &err, &loss, dem, dtr, em, tr, tags, lens, B, T, 1.0) == 0);
    double want = 0;
    for (int b = 0; b < B; b++) {
        int n = lens[b], tot = 1;
        for (int k = 0; k < n; k++) tot *= L;
        double lz = -INFINITY, gold = 0, best = -INFINITY;
        int bestp = -1;
        for (int pth = 0; pth < tot; pth++) {
            int y[4], q = pth;
            for (int k = 0; k < n; k++) y[k] = q % L, q /= L;
            double s = 0;
            for (int k = 0; k < n; k++) s += em[(b * T + k) * L + y[k]];
            for (int k = 1; k < n; k++) s += tr[y[k - 1] * L + y[k]];
            lz = lz > s ? lz + log1p(exp(s - lz)) : s + log1p(exp(lz - s));
            int same = 1;
            for (int k = 0; k < n; k++) same &= y[k] == tags[b * T + k];
            if (same) gold = s;
            if (s > best) best = s, bestp = pth;
        }
        want += lz - gold;
        int32_t path[4];
        CHECK(b4k_crfloss_decode(&c, &err, path, em + b * T * L, tr, n) == 0);
        for (int k = 0; k < n; k++, bestp /= L) CHECK_EQ_INT(path[k], bestp % L);
    }
    CHECK_NEAR(loss, want / B, 1e-5);
    /* FD on one emission and one transition */
    float h = 1e-2f;
    for (int i = 0; i < 2; i++) {
        float *v = i ? &tr[4] : &em[5], s = *v;
        double gi = i ? dtr[4] : dem[5], fp, fm;
        *v = s + h;
        b4k_crfloss_nll(&c, &err, &fp, NULL, NULL, em, tr, tags, lens, B, T, 1.0);
        *v = s - h;
        b4k_crfloss_nll(&c, &err, &fm, NULL, NULL, em, tr, tags, lens, B, T, 1.0);
        *v = s;
        CHECK(fabs((fp - fm) / (2 * h) - gi) < 1e-3);
    }
    b4k_crfloss_free(&c);
    free(em), free(tr);
}

/* ---- whole encoder with dropout: FD, accumulation ----------------------------- */

typedef struct enc {
    b4k_bert bert;
    b4k_ptab tab;
    b4k_bert_act act;
    int32_t ids[24], segs[24], lens[3];
    float *Rr, *R2;
} enc;

/* variant 0: BERT; 1: ALBERT (embeddings 5 wide projected to 12, one
 * layer shared by 3, tanh GELU); 2: RoBERTa-style positions from 2 */
static void enc_init_v(enc *e, float drop, int variant)
{
    b4k_err err;
    b4k_bert_config c = {30, 12, 2, 3, 20, 10, 2, 0, 1e-12f, drop, drop, 0, 0, 0, 0.02f};
    if (variant == 1) c.emb = 5, c.shared = 1, c.layers = 3, c.gelu_tanh = 1;
    if (variant == 2) c.pos_offset = 2;
    b4k_ptab_init(&e->tab);
    CHECK(b4k_bert_add_params(&e->bert, &e->tab, &err, &c, "bert.") == 0);
    CHECK(b4k_ptab_alloc(&e->tab, &err) == 0);
    b4k_bert_init_weights(&e->bert, &e->tab, 7);
    for (size_t i = 0; i < e->tab.total; i++) e->tab.w[i] += (float)(b4k_rng_normal(&R) * 0.2);
    CHECK(b4k_bert_act_init(&e->act, &err, &c, 3, 8, 1) == 0);
    for (int i = 0; i < 24; i++) e->ids[i] = 1 + (int)b4k_rng_below(&R, 29), e->segs[i] = i % 2;
    e->lens[0] = 8, e->lens[1] = 5, e->lens[2] = 2;
    e->Rr = rnd(3 * 8 * 12, 1);
    e->R2 = rnd(3 * 8 * 12, 1);
}

static void enc_init(enc *e, float drop) { enc_init_v(e, drop, 0); }

static void enc_free(enc *e)
{
    b4k_bert_free(&e->bert);
    b4k_ptab_free(&e->tab);
    b4k_bert_act_free(&e->act);
    free(e->Rr), free(e->R2);
}

static double enc_loss(enc *e, int B, int off, int train, int backward)
{
    b4k_err err;
    b4k_rng dr;
    b4k_rng_seed(&dr, 99, (uint64_t)off); /* same dropout masks every call */
    int T = 8;
    CHECK(b4k_bert_forward(&e->bert, &e->tab, &e->act, &err, e->ids + off * T, e->segs + off * T,
                           e->lens + off, B, T, train, &dr, NULL) == 0);
    size_t n = (size_t)B * T * 12;
    const float *Rr = e->Rr + (size_t)off * T * 12, *R2 = e->R2 + (size_t)off * T * 12;
    double l = dot(b4k_bert_out(&e->act), Rr, n) + dot(b4k_bert_pre(&e->act), R2, n);
    if (backward) {
        float *d = malloc(n * 4);
        memcpy(d, Rr, n * 4);
        CHECK(b4k_bert_backward(&e->bert, &e->tab, &e->act, &err, d, R2, NULL) == 0);
        free(d);
    }
    return l;
}

static void encoder_fd(int variant)
{
    enc e;
    enc_init_v(&e, 0.2f, variant);
    b4k_ptab_zero_grad(&e.tab);
    enc_loss(&e, 3, 0, 1, 1);
    double worst = 0;
    int checked = 0;
    for (int i = 0; i < e.tab.n; i++) {
        b4k_ptensor *t = &e.tab.t[i];
        if (strstr(t->name, "key.bias")) continue; /* zero gradient */
        for (int k = 0; k < 2; k++) {
            size_t j = t->off + b4k_rng_below(&R, t->n);
            float g = e.tab.g[j];
            if (fabs(g) < 1e-2) continue;
            float s = e.tab.w[j], h = 5e-3f; /* f32 rounding noise dominates below */
            e.tab.w[j] = s + h;
            double fp = enc_loss(&e, 3, 0, 1, 0);
            e.tab.w[j] = s - h;
            double fm = enc_loss(&e, 3, 0, 1, 0);
            e.tab.w[j] = s;
            double fd = (fp - fm) / (2 * h);
            worst = fmax(worst, fabs(fd - g) / (fabs(g) + 1e-1));
            checked++;
        }
    }
    static const char *vn[] = {"BERT", "ALBERT (projection, shared layer)", "RoBERTa positions"};
    printf("  %s encoder with dropout 0.2: %d finite differences, worst rel err %.2g\n", vn[variant],
           checked, worst);
    CHECK(checked > 20);
    CHECK(worst < 2e-2);
    enc_free(&e);
}

TEST(encoder_fd_dropout) { encoder_fd(0); }
TEST(encoder_fd_albert) { encoder_fd(1); }
TEST(encoder_fd_roberta) { encoder_fd(2); }

TEST(grad_accumulation)
{
    enc e;
    enc_init(&e, 0.f);
    b4k_ptab_zero_grad(&e.tab);
    enc_loss(&e, 3, 0, 0, 1);
    float *full = malloc(e.tab.total * 4);
    memcpy(full, e.tab.g, e.tab.total * 4);
    b4k_ptab_zero_grad(&e.tab);
    enc_loss(&e, 1, 0, 0, 1);
    enc_loss(&e, 2, 1, 0, 1);
    CHECK(maxrel(e.tab.g, full, e.tab.total) < 1e-5);
    free(full);
    enc_free(&e);
}

/* ---- AdamW schedule, clipping, EMA ----------------------------------------------- */

TEST(adamw_schedule)
{
    b4k_adamw_opts o;
    b4k_adamw_defaults(&o);
    o.lr = 1.f;
    o.warmup_steps = 4;
    o.total_steps = 12;
    CHECK_NEAR(b4k_adamw_lr_at(&o, 0), 0.25, 1e-7);
    CHECK_NEAR(b4k_adamw_lr_at(&o, 3), 1.0, 1e-7);
    CHECK_NEAR(b4k_adamw_lr_at(&o, 4), 1.0, 1e-7);
    CHECK_NEAR(b4k_adamw_lr_at(&o, 8), 0.5, 1e-7);
    CHECK_NEAR(b4k_adamw_lr_at(&o, 12), 0.0, 1e-7);
    CHECK_NEAR(b4k_adamw_lr_at(&o, 20), 0.0, 1e-7);
    b4k_ptab tab;
    b4k_err err;
    b4k_ptab_init(&tab);
    CHECK(b4k_ptab_add(&tab, &err, "w", 2, 3, 1) == 0);
    CHECK(b4k_ptab_add(&tab, &err, "b", 3, 0, 0) == 1);
    CHECK(b4k_ptab_add(&tab, &err, "w", 1, 1, 1) < 0); /* duplicate */
    CHECK(b4k_ptab_alloc(&tab, &err) == 0);
    CHECK_EQ_INT(tab.total, 9);
    for (int i = 0; i < 9; i++) tab.w[i] = 1.f, tab.g[i] = 3.f;
    b4k_adamw_defaults(&o);
    o.lr = 0.1f;
    o.clip_norm = 1.f;
    o.ema_decay = 0.5f;
    b4k_adamw opt;
    CHECK(b4k_adamw_init(&opt, &err, &tab, &o) == 0);
    double gn;
    b4k_adamw_step(&opt, &tab, 0.5f, &gn);
    CHECK_NEAR(gn, 1.5 * 3, 1e-6);
    /* first Adam step moves by lr (sign), decay only on "w" */
    CHECK_NEAR(tab.w[0], 1.0 * (1 - 0.1 * 0.01) - 0.1, 1e-5);
    CHECK_NEAR(tab.w[6], 1.0 - 0.1, 1e-5);
    CHECK_NEAR(opt.ema[6], 0.5 * 1 + 0.5 * 0.9, 1e-6);
    b4k_adamw_ema_apply(&opt, &tab);
    CHECK_NEAR(tab.w[6], 0.95, 1e-6);
    b4k_adamw_ema_restore(&opt, &tab);
    CHECK_NEAR(tab.w[6], 0.9, 1e-6);
    b4k_adamw_free(&opt);
    b4k_ptab_free(&tab);
}

/* the AVX2 AdamW kernel is bit-identical to its _ref twin */
TEST(adamw_kernel_twin)
{
    if (!b4k_cpu_has(B4K_CPU_AVX2)) {
        printf("SKIP: test_bert_ops.c:adamw_kernel_twin (no AVX2)\n");
        return;
    }
    size_t n = 1003;
    float *w = rnd(n, 1), *m = rnd(n, 0.1f), *v = malloc(n * 4), *g = rnd(n, 1);
    for (size_t i = 0; i < n; i++) v[i] = (float)fabs(b4k_rng_normal(&R)) * 0.01f;
    float *w2 = malloc(n * 4), *m2 = malloc(n * 4), *v2 = malloc(n * 4);
    memcpy(w2, w, n * 4), memcpy(m2, m, n * 4), memcpy(v2, v, n * 4);
    b4k_adamw_kargs a = {0.5f, 0.9f, 0.999f, 1.3f, 1e-6f, 1e-3f, 0.9999f};
    for (int it = 0; it < 3; it++) {
        b4k_adamw_kern_ref(w, m, v, g, n, &a);
        b4k_adamw_kern_avx2(w2, m2, v2, g, n, &a);
    }
    CHECK(!memcmp(w, w2, n * 4) && !memcmp(m, m2, n * 4) && !memcmp(v, v2, n * 4));
    free(w), free(m), free(v), free(g), free(w2), free(m2), free(v2);
}

int main(void)
{
    b4k_rng_seed(&R, 12345, 0);
    RUN(layernorm);
    RUN(layernorm_conditional);
    RUN(gelu);
    RUN(linear);
    RUN(softmax);
    RUN(bce_pow);
    RUN(crf_loss);
    RUN(encoder_fd_dropout);
    RUN(encoder_fd_albert);
    RUN(encoder_fd_roberta);
    RUN(grad_accumulation);
    RUN(adamw_schedule);
    RUN(adamw_kernel_twin);
    return t_done();
}
