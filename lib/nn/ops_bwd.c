/* Training kernels (forward with saved statistics, and backward); see
 * ops_bwd.h.  The fast versions use BLAS and float accumulation with a
 * fixed order; the _ref twins use naive loops with double accumulation. */
#include "nn/ops_bwd.h"

#include <math.h>
#include <string.h>

#include <stdlib.h>

#include "core/threads.h"
#include "nn/ops.h"
#include "tensor/blas.h"

/* ---- layer norm ----------------------------------------------------------- */

void b4k_nn_ln_bwd(float *dx, float *dg, float *db, const float *dy, const float *x,
                   const float *mean, const float *rstd, const float *g, size_t gs, int N,
                   int C)
{
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * C, *xr = x + (size_t)n * C, *gr = g + n * gs;
        float m = mean[n], r = rstd[n];
        float s1 = 0.f, s2 = 0.f; /* sum(dxhat), sum(dxhat * xhat) */
        for (int c = 0; c < C; c++) {
            float xh = (xr[c] - m) * r, dxh = dyr[c] * gr[c];
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= C;
        s2 /= C;
        if (gs == 0) {
            for (int c = 0; c < C; c++) {
                float xh = (xr[c] - m) * r;
                if (dg) dg[c] += dyr[c] * xh;
                if (db) db[c] += dyr[c];
            }
        } else {
            for (int c = 0; c < C; c++) {
                float xh = (xr[c] - m) * r;
                if (dg) dg[(size_t)n * C + c] = dyr[c] * xh;
                if (db) db[(size_t)n * C + c] = dyr[c];
            }
        }
        float *dxr = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            float xh = (xr[c] - m) * r;
            dxr[c] = r * (dyr[c] * gr[c] - s1 - xh * s2);
        }
    }
}

void b4k_nn_ln_bwd_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                       const float *mean, const float *rstd, const float *g, size_t gs,
                       int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * C, *xr = x + (size_t)n * C, *gr = g + n * gs;
        double m = mean[n], r = rstd[n], s1 = 0, s2 = 0;
        for (int c = 0; c < C; c++) {
            double xh = (xr[c] - m) * r, dxh = (double)dyr[c] * gr[c];
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= C;
        s2 /= C;
        for (int c = 0; c < C; c++) {
            double xh = (xr[c] - m) * r;
            size_t k = gs ? (size_t)n * C + c : (size_t)c;
            if (gs) {
                if (dg) dg[k] = (float)(dyr[c] * xh);
                if (db) db[k] = dyr[c];
            } else {
                if (dg) dg[k] += (float)(dyr[c] * xh);
                if (db) db[k] += dyr[c];
            }
        }
        for (int c = 0; c < C; c++) {
            double xh = (xr[c] - m) * r;
            dx[(size_t)n * C + c] = (float)(r * ((double)dyr[c] * gr[c] - s1 - xh * s2));
        }
    }
}

/* ---- GELU ------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

static inline float gelu1_grad(float x, int t)
{
    if (t) {
        float u = GELU_K * (x + GELU_A * x * x * x), th = tanhf(u);
        return 0.5f * (1.f + th) +
               0.5f * x * (1.f - th * th) * GELU_K * (1.f + 3.f * GELU_A * x * x);
    }
    return 0.5f * (1.f + erff(x * 0.7071067811865476f)) +
           x * 0.3989422804014327f * expf(-0.5f * x * x);
}

void b4k_nn_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * gelu1_grad(x[i], tanh_form);
}

void b4k_nn_gelu_bwd_ref(float *dx, const float *dy, const float *x, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i], d;
        if (tanh_form) {
            double k = sqrt(2 / M_PI), th = tanh(k * (v + 0.044715 * v * v * v));
            d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
        } else {
            d = 0.5 * (1 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2 * M_PI);
        }
        dx[i] = (float)(dy[i] * d);
    }
}

struct gelu_par {
    float *y;
    const float *x, *dy;
    int t;
};

static void gelu_bwd_fn(void *ctx, size_t lo, size_t hi, int tid)
{
    struct gelu_par *a = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) a->y[i] = a->dy[i] * gelu1_grad(a->x[i], a->t);
}

void b4k_nn_gelu_bwd_par(b4k_pool *pool, float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form)
{
    struct gelu_par a = {dx, x, dy, tanh_form};
    b4k_pool_for(pool, n, gelu_bwd_fn, &a);
}

/* ---- linear ------------------------------------------------------------------- */

void b4k_nn_linear_bwd(float *dx, int dx_add, float *dW, float *db, const float *dy,
                       const float *x, const float *W, int N, int I, int O)
{
    if (dx) b4k_sgemm(0, 0, N, I, O, 1.f, dy, O, W, I, dx_add ? 1.f : 0.f, dx, I);
    if (dW) b4k_sgemm(1, 0, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I);
    if (db)
        for (int n = 0; n < N; n++) {
            const float *r = dy + (size_t)n * O;
            for (int o = 0; o < O; o++) db[o] += r[o];
        }
}

void b4k_nn_linear_bwd_ref(float *dx, int dx_add, float *dW, float *db, const float *dy,
                           const float *x, const float *W, int N, int I, int O)
{
    if (dx)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < I; i++) {
                double s = dx_add ? dx[(size_t)n * I + i] : 0;
                for (int o = 0; o < O; o++)
                    s += (double)dy[(size_t)n * O + o] * W[(size_t)o * I + i];
                dx[(size_t)n * I + i] = (float)s;
            }
    if (dW)
        for (int i = 0; i < I; i++)
            for (int o = 0; o < O; o++) {
                double s = 0;
                for (int n = 0; n < N; n++)
                    s += (double)x[(size_t)n * I + i] * dy[(size_t)n * O + o];
                dW[(size_t)o * I + i] += (float)s;
            }
    if (db)
        for (int o = 0; o < O; o++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += dy[(size_t)n * O + o];
            db[o] += (float)s;
        }
}

/* ---- softmax ------------------------------------------------------------------- */

void b4k_nn_softmax_bwd(float *dx, const float *dp, const float *p, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *pr = p + (size_t)n * C, *dr = dp + (size_t)n * C;
        float s = 0.f;
        for (int c = 0; c < C; c++) s += pr[c] * dr[c];
        float *xr = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) xr[c] = pr[c] * (dr[c] - s);
    }
}

void b4k_nn_softmax_bwd_ref(float *dx, const float *dp, const float *p, int N, int C)
{
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += (double)p[(size_t)n * C + c] * dp[(size_t)n * C + c];
        for (int c = 0; c < C; c++)
            dx[(size_t)n * C + c] =
                (float)(p[(size_t)n * C + c] * ((double)dp[(size_t)n * C + c] - s));
    }
}

/* ---- embedding, dropout --------------------------------------------------------- */

void b4k_nn_embed_bwd_ref(float *dE, const float *dy, const int32_t *ids, int N, int C, int V)
{
    /* per row of dE, in double, over all tokens with that id */
    for (int v = 0; v < V; v++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            int any = 0;
            for (int n = 0; n < N; n++)
                if (ids[n] == v) s += dy[(size_t)n * C + c], any = 1;
            if (any) dE[(size_t)v * C + c] = (float)(dE[(size_t)v * C + c] + s);
        }
}

void b4k_nn_embed_bwd(float *dE, const float *dy, const int32_t *ids, int N, int C, int V)
{
    for (int n = 0; n < N; n++) {
        if (ids[n] < 0 || ids[n] >= V) continue;
        float *e = dE + (size_t)ids[n] * C;
        const float *r = dy + (size_t)n * C;
        for (int c = 0; c < C; c++) e[c] += r[c];
    }
}

void b4k_nn_dropout_mask(uint8_t *mask, size_t n, float p, b4k_rng *rng)
{
    if (p <= 0.f) {
        memset(mask, 1, n);
        return;
    }
    for (size_t i = 0; i < n; i++) mask[i] = b4k_rng_float(rng) >= p;
}

void b4k_nn_dropout_apply_ref(float *y, const float *x, const uint8_t *mask, size_t n, float p)
{
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? (float)((double)x[i] / (1.0 - p)) : 0.f;
}

void b4k_nn_dropout_apply(float *y, const float *x, const uint8_t *mask, size_t n, float p)
{
    float s = p < 1.f ? 1.f / (1.f - p) : 0.f;
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * s : 0.f;
}

/* ---- attention -------------------------------------------------------------- */

struct att_bwd {
    float *dqkv, *scratch;
    const float *dout, *qkv, *att;
    const uint8_t *dmask;
    float pdrop;
    int T, C, NH;
};

static void att_bwd_heads(void *vctx, size_t lo, size_t hi, int tid)
{
    struct att_bwd *c = vctx;
    int T = c->T, C = c->C, HS = C / c->NH, C3 = 3 * C;
    float scale = 1.f / sqrtf((float)HS);
    float *Pd = c->scratch + (size_t)tid * 2 * T * T, *dP = Pd + (size_t)T * T;
    for (size_t bh = lo; bh < hi; bh++) {
        int b = (int)(bh / c->NH), h = (int)(bh % c->NH);
        size_t ro = (size_t)b * T * C3 + (size_t)h * HS;
        const float *q = c->qkv + ro, *k = q + C, *v = q + 2 * C;
        float *dq = c->dqkv + ro, *dk = dq + C, *dv = dq + 2 * C;
        const float *P = c->att + bh * T * T;
        const uint8_t *pm = c->dmask ? c->dmask + bh * T * T : NULL;
        const float *dctx = c->dout + (size_t)b * T * C + (size_t)h * HS;
        const float *Pu = P;
        if (pm) {
            b4k_nn_dropout_apply(Pd, P, pm, (size_t)T * T, c->pdrop);
            Pu = Pd;
        }
        b4k_sgemm(0, 1, T, T, HS, 1.f, dctx, C, v, C3, 0.f, dP, T);
        b4k_sgemm(1, 0, T, HS, T, 1.f, Pu, T, dctx, C, 0.f, dv, C3);
        if (pm) b4k_nn_dropout_apply(dP, dP, pm, (size_t)T * T, c->pdrop);
        b4k_nn_softmax_bwd(dP, dP, P, T, T);
        b4k_sgemm(0, 0, T, HS, T, scale, dP, T, k, C3, 0.f, dq, C3);
        b4k_sgemm(1, 0, T, HS, T, scale, dP, T, q, C3, 0.f, dk, C3);
    }
}

void b4k_nn_attention_bwd(float *dqkv, float *scratch, const float *dout, const float *qkv,
                          const float *att, const uint8_t *dmask, float pdrop, int B, int T,
                          int C, int NH, b4k_pool *pool)
{
    struct att_bwd c = {dqkv, scratch, dout, qkv, att, dmask, pdrop, T, C, NH};
    b4k_pool_for(pool, (size_t)B * NH, att_bwd_heads, &c);
}

void b4k_nn_attention_bwd_ref(float *dqkv, const float *dout, const float *qkv,
                              const float *att, const uint8_t *dmask, float pdrop, int B, int T,
                              int C, int NH)
{
    int HS = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)HS), keep = 1.0 / (1.0 - pdrop);
    memset(dqkv, 0, (size_t)B * T * C3 * sizeof *dqkv);
    size_t TT = (size_t)T * T;
    double *dS = malloc(TT * sizeof *dS);
    if (!dS) return;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t bh = (size_t)b * NH + h;
            const float *P = att + bh * TT;
            const uint8_t *m = dmask ? dmask + bh * TT : NULL;
#define QKV(t, part, i) qkv[((size_t)b * T + (t)) * C3 + (size_t)(part) * C + (size_t)h * HS + (i)]
#define DQKV(t, part, i) dqkv[((size_t)b * T + (t)) * C3 + (size_t)(part) * C + (size_t)h * HS + (i)]
#define DOUT(t, i) dout[((size_t)b * T + (t)) * C + (size_t)h * HS + (i)]
#define PU(t, s) (m ? (m[(size_t)(t) * T + (s)] ? P[(size_t)(t) * T + (s)] * keep : 0.0) : (double)P[(size_t)(t) * T + (s)])
            for (int t = 0; t < T; t++) {
                /* dPu(t,s) = dout_t . v_s; dP = dPu * mask/(1-p); dS = P (dP - sum P dP) */
                double dot = 0;
                for (int s2 = 0; s2 < T; s2++) {
                    double d = 0;
                    for (int i = 0; i < HS; i++) d += (double)DOUT(t, i) * QKV(s2, 2, i);
                    if (m) d = m[(size_t)t * T + s2] ? d * keep : 0;
                    dS[(size_t)t * T + s2] = d;
                    dot += d * P[(size_t)t * T + s2];
                }
                for (int s2 = 0; s2 < T; s2++)
                    dS[(size_t)t * T + s2] = P[(size_t)t * T + s2] * (dS[(size_t)t * T + s2] - dot);
            }
            for (int t = 0; t < T; t++)
                for (int i = 0; i < HS; i++) {
                    double dq = 0, dk = 0, dv = 0;
                    for (int s2 = 0; s2 < T; s2++) {
                        dq += dS[(size_t)t * T + s2] * QKV(s2, 1, i);
                        dk += dS[(size_t)s2 * T + t] * QKV(s2, 0, i);
                        dv += PU(s2, t) * DOUT(s2, i);
                    }
                    DQKV(t, 0, i) = (float)(dq * scale);
                    DQKV(t, 1, i) = (float)(dk * scale);
                    DQKV(t, 2, i) = (float)dv;
                }
#undef QKV
#undef DQKV
#undef DOUT
#undef PU
        }
    free(dS);
}

/* ---- parallel backward helpers ------------------------------------------------ */

void b4k_nn_linear_bwd_par(b4k_pool *pool, float *dx, int dx_add, float *dW, float *db,
                           const float *dy, const float *x, const float *W, int N, int I, int O)
{
    if (dx) b4k_gemm_par(pool, 0, 0, N, I, O, 1.f, dy, O, W, I, dx_add ? 1.f : 0.f, dx, I);
    if (dW) b4k_gemm_par(pool, 1, 0, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I);
    if (db)
        for (int n = 0; n < N; n++) {
            const float *r = dy + (size_t)n * O;
            for (int o = 0; o < O; o++) db[o] += r[o];
        }
}
