/* Training kernels (forward with saved statistics, and backward); see
 * ops_bwd.h.  The fast versions use BLAS and float accumulation with a
 * fixed order; the _ref twins use naive loops with double accumulation. */
#include "nn/ops_bwd.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "tensor/blas.h"

/* ---- layer norm ----------------------------------------------------------- */

static void ln_row(float *y, float *mean, float *rstd, const float *x, const float *g,
                   const float *b, int C, float eps)
{
    float s = 0.f;
    for (int c = 0; c < C; c++) s += x[c];
    float m = s / C, v = 0.f;
    for (int c = 0; c < C; c++) {
        float d = x[c] - m;
        v += d * d;
    }
    float r = 1.f / sqrtf(v / C + eps);
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * r * g[c] + b[c];
    *mean = m;
    *rstd = r;
}

void b4k_nn_ln_fwd(float *y, float *mean, float *rstd, const float *x, const float *g,
                   size_t gs, const float *b, size_t bs, int N, int C, float eps)
{
    for (int n = 0; n < N; n++)
        ln_row(y + (size_t)n * C, mean + n, rstd + n, x + (size_t)n * C, g + n * gs,
               b + n * bs, C, eps);
}

void b4k_nn_ln_fwd_ref(float *y, float *mean, float *rstd, const float *x, const float *g,
                       size_t gs, const float *b, size_t bs, int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        double s = 0, v = 0;
        for (int c = 0; c < C; c++) s += xr[c];
        double m = s / C;
        for (int c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
        double r = 1.0 / sqrt(v / C + eps);
        for (int c = 0; c < C; c++)
            y[(size_t)n * C + c] = (float)((xr[c] - m) * r * g[n * gs + c] + b[n * bs + c]);
        mean[n] = (float)m;
        rstd[n] = (float)r;
    }
}

struct ln_par {
    float *y, *mean, *rstd;
    const float *x, *g, *b;
    size_t gs, bs;
    int C;
    float eps;
};

static void ln_par_fn(void *ctx, size_t lo, size_t hi, int tid)
{
    struct ln_par *a = ctx;
    (void)tid;
    for (size_t n = lo; n < hi; n++)
        ln_row(a->y + n * a->C, a->mean + n, a->rstd + n, a->x + n * a->C, a->g + n * a->gs,
               a->b + n * a->bs, a->C, a->eps);
}

void b4k_nn_ln_fwd_par(b4k_pool *pool, float *y, float *mean, float *rstd, const float *x,
                       const float *g, size_t gs, const float *b, size_t bs, int N, int C,
                       float eps)
{
    struct ln_par a = {y, mean, rstd, x, g, b, gs, bs, C, eps};
    b4k_pool_for(pool, (size_t)N, ln_par_fn, &a);
}

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

static inline float gelu1(float x, int t)
{
    if (t) {
        float u = GELU_K * (x + GELU_A * x * x * x);
        return 0.5f * x * (1.f + tanhf(u));
    }
    return 0.5f * x * (1.f + erff(x * 0.7071067811865476f));
}

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

void b4k_nn_gelu_fwd(float *y, const float *x, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) y[i] = gelu1(x[i], tanh_form);
}

void b4k_nn_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * gelu1_grad(x[i], tanh_form);
}

void b4k_nn_gelu_fwd_ref(float *y, const float *x, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (tanh_form)
            y[i] = (float)(0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
        else
            y[i] = (float)(0.5 * v * (1 + erf(v / sqrt(2.0))));
    }
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

static void gelu_fwd_fn(void *ctx, size_t lo, size_t hi, int tid)
{
    struct gelu_par *a = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) a->y[i] = gelu1(a->x[i], a->t);
}

static void gelu_bwd_fn(void *ctx, size_t lo, size_t hi, int tid)
{
    struct gelu_par *a = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) a->y[i] = a->dy[i] * gelu1_grad(a->x[i], a->t);
}

void b4k_nn_gelu_fwd_par(b4k_pool *pool, float *y, const float *x, size_t n, int tanh_form)
{
    struct gelu_par a = {y, x, NULL, tanh_form};
    b4k_pool_for(pool, n, gelu_fwd_fn, &a);
}

void b4k_nn_gelu_bwd_par(b4k_pool *pool, float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form)
{
    struct gelu_par a = {dx, x, dy, tanh_form};
    b4k_pool_for(pool, n, gelu_bwd_fn, &a);
}

/* ---- linear ------------------------------------------------------------------- */

void b4k_nn_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int I,
                       int O)
{
    if (b) {
        for (int n = 0; n < N; n++) memcpy(y + (size_t)n * O, b, (size_t)O * sizeof *b);
    }
    b4k_sgemm(0, 1, N, O, I, 1.f, x, I, W, I, b ? 1.f : 0.f, y, O);
}

void b4k_nn_linear_fwd_ref(float *y, const float *x, const float *W, const float *b, int N,
                           int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = b ? b[o] : 0;
            for (int i = 0; i < I; i++) s += (double)x[(size_t)n * I + i] * W[(size_t)o * I + i];
            y[(size_t)n * O + o] = (float)s;
        }
}

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

void b4k_nn_softmax_rows(float *x, int N, int C, int len)
{
    if (len > C) len = C;
    for (int n = 0; n < N; n++) {
        float *r = x + (size_t)n * C;
        if (len <= 0) {
            memset(r, 0, (size_t)C * sizeof *r);
            continue;
        }
        float mx = r[0];
        for (int c = 1; c < len; c++)
            if (r[c] > mx) mx = r[c];
        float s = 0.f;
        for (int c = 0; c < len; c++) {
            r[c] = expf(r[c] - mx);
            s += r[c];
        }
        float inv = 1.f / s;
        for (int c = 0; c < len; c++) r[c] *= inv;
        for (int c = len; c < C; c++) r[c] = 0.f;
    }
}

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

void b4k_nn_dropout_apply(float *y, const float *x, const uint8_t *mask, size_t n, float p)
{
    float s = p < 1.f ? 1.f / (1.f - p) : 0.f;
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * s : 0.f;
}

/* ---- pool-parallel GEMM ------------------------------------------------------- */

struct gemm_par {
    int ta, tb, M, N, K, lda, ldb, ldc, by_rows;
    float alpha, beta;
    const float *A, *B;
    float *C;
};

static void gemm_par_fn(void *ctx, int tid, int nt)
{
    struct gemm_par *g = ctx;
    int total = g->by_rows ? g->M : g->N;
    /* blocks of 16 rows/columns, split evenly */
    int nblk = (total + 15) / 16, b0 = (int)((long)nblk * tid / nt), b1 = (int)((long)nblk * (tid + 1) / nt);
    int lo = b0 * 16, hi = b1 * 16 < total ? b1 * 16 : total;
    if (lo >= hi) return;
    if (g->by_rows) {
        const float *A = g->ta ? g->A + lo : g->A + (size_t)lo * g->lda;
        b4k_sgemm(g->ta, g->tb, hi - lo, g->N, g->K, g->alpha, A, g->lda, g->B, g->ldb, g->beta,
                  g->C + (size_t)lo * g->ldc, g->ldc);
    } else {
        const float *B = g->tb ? g->B + (size_t)lo * g->ldb : g->B + lo;
        b4k_sgemm(g->ta, g->tb, g->M, hi - lo, g->K, g->alpha, g->A, g->lda, B, g->ldb, g->beta,
                  g->C + lo, g->ldc);
    }
}

void b4k_nn_gemm_par(b4k_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc)
{
    int nt = b4k_pool_size(pool);
    if (nt <= 1 || (long)M * N * K < (1L << 18)) {
        b4k_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    struct gemm_par g = {ta, tb, M, N, K, lda, ldb, ldc, M >= 16 * nt, alpha, beta, A, B, C};
    b4k_pool_run(pool, gemm_par_fn, &g);
}

void b4k_nn_linear_fwd_par(b4k_pool *pool, float *y, const float *x, const float *W,
                           const float *b, int N, int I, int O)
{
    if (b)
        for (int n = 0; n < N; n++) memcpy(y + (size_t)n * O, b, (size_t)O * sizeof *b);
    b4k_nn_gemm_par(pool, 0, 1, N, O, I, 1.f, x, I, W, I, b ? 1.f : 0.f, y, O);
}

void b4k_nn_linear_bwd_par(b4k_pool *pool, float *dx, int dx_add, float *dW, float *db,
                           const float *dy, const float *x, const float *W, int N, int I, int O)
{
    if (dx) b4k_nn_gemm_par(pool, 0, 0, N, I, O, 1.f, dy, O, W, I, dx_add ? 1.f : 0.f, dx, I);
    if (dW) b4k_nn_gemm_par(pool, 1, 0, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I);
    if (db)
        for (int n = 0; n < N; n++) {
            const float *r = dy + (size_t)n * O;
            for (int o = 0; o < O; o++) db[o] += r[o];
        }
}
