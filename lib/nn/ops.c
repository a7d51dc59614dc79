#include "nn/ops.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "tensor/blas.h"
#include "tensor/ops.h"

void b4k_embed_fwd(float *out, const int *ids, const int *types, const float *wte,
                   const float *wpe, const float *tte, int T, int C, int pos0)
{
    for (int t = 0; t < T; t++) {
        float *o = out + (size_t)t * C;
        const float *e = wte + (size_t)ids[t] * C;
        if (wpe) {
            const float *p = wpe + (size_t)(pos0 + t) * C;
            for (int c = 0; c < C; c++)
                o[c] = e[c] + p[c];
        } else {
            memcpy(o, e, (size_t)C * sizeof *o);
        }
        if (tte && types) {
            const float *y = tte + (size_t)types[t] * C;
            for (int c = 0; c < C; c++)
                o[c] += y[c];
        }
    }
}

void b4k_layernorm_fwd_strided(float *out, float *mean, float *rstd, const float *inp,
                               const float *w, size_t ws, const float *b, size_t bs, int N,
                               int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *wr = w ? w + n * ws : NULL, *br = b ? b + n * bs : NULL;
        float *o = out + (size_t)n * C;
        double s = 0;
        for (int c = 0; c < C; c++)
            s += x[c];
        double m = s / C, v = 0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        float fm = (float)m, rs = (float)(1.0 / sqrt(v / C + eps));
        for (int c = 0; c < C; c++)
            o[c] = (x[c] - fm) * rs * (wr ? wr[c] : 1.0f) + (br ? br[c] : 0.0f);
        if (mean)
            mean[n] = fm;
        if (rstd)
            rstd[n] = rs;
    }
}

void b4k_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps)
{
    b4k_layernorm_fwd_strided(out, mean, rstd, inp, w, 0, b, 0, N, C, eps);
}

struct ln_job {
    float *out, *mean, *rstd;
    const float *inp, *w, *b;
    size_t ws, bs;
    int C;
    float eps;
};

static void ln_rows(void *p, size_t lo, size_t hi, int tid)
{
    struct ln_job *j = p;
    (void)tid;
    b4k_layernorm_fwd_strided(j->out + lo * j->C, j->mean ? j->mean + lo : NULL,
                              j->rstd ? j->rstd + lo : NULL, j->inp + lo * j->C,
                              j->w ? j->w + lo * j->ws : NULL, j->ws, j->b ? j->b + lo * j->bs : NULL,
                              j->bs, (int)(hi - lo), j->C, j->eps);
}

void b4k_layernorm_fwd_par(b4k_pool *pool, float *out, float *mean, float *rstd,
                           const float *inp, const float *w, size_t ws, const float *b, size_t bs,
                           int N, int C, float eps)
{
    struct ln_job j = {out, mean, rstd, inp, w, b, ws, bs, C, eps};
    b4k_pool_for(pool, (size_t)N, ln_rows, &j);
}

void b4k_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *inp,
                           const float *w, size_t ws, const float *b, size_t bs, int N, int C,
                           float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double s = 0, v = 0;
        for (int c = 0; c < C; c++) s += x[c];
        double m = s / C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        double r = 1.0 / sqrt(v / C + eps);
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = (float)((x[c] - m) * r * (w ? w[n * ws + c] : 1.0) +
                                             (b ? b[n * bs + c] : 0.0));
        if (mean) mean[n] = (float)m;
        if (rstd) rstd[n] = (float)r;
    }
}

void b4k_gelu_tanh_fwd(float *out, const float *inp, size_t n)
{
    b4k_gelu_tanh_f32(out, inp, n);
}

void b4k_gelu_erf_fwd(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    }
}

struct gelu_job {
    float *out;
    const float *inp;
    size_t n;
    int tanh_form;
};

/* blocks of 8 values: the vector kernel sees the same groups whatever the
 * split, so every value is the same for any thread count */
static void gelu_blocks(void *p, size_t lo, size_t hi, int tid)
{
    struct gelu_job *j = p;
    (void)tid;
    size_t a = lo * 8, b = hi * 8 < j->n ? hi * 8 : j->n;
    if (a >= b) return;
    if (j->tanh_form) b4k_gelu_tanh_fwd(j->out + a, j->inp + a, b - a);
    else b4k_gelu_erf_fwd(j->out + a, j->inp + a, b - a);
}

void b4k_gelu_fwd_par(b4k_pool *pool, float *out, const float *inp, size_t n, int tanh_form)
{
    struct gelu_job j = {out, inp, n, tanh_form};
    b4k_pool_for(pool, (n + 7) / 8, gelu_blocks, &j);
}

void b4k_gelu_fwd_ref(float *out, const float *inp, size_t n, int tanh_form)
{
    for (size_t i = 0; i < n; i++) {
        double v = inp[i];
        if (tanh_form)
            out[i] = (float)(0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
        else
            out[i] = (float)(0.5 * v * (1 + erf(v / sqrt(2.0))));
    }
}

void b4k_softmax_fwd(float *out, const float *inp, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float mx = -INFINITY;
        for (int c = 0; c < C; c++)
            mx = x[c] > mx ? x[c] : mx;
        double s = 0;
        for (int c = 0; c < C; c++) {
            o[c] = expf(x[c] - mx);
            s += o[c];
        }
        float inv = (float)(1.0 / s);
        for (int c = 0; c < C; c++)
            o[c] *= inv;
    }
}

void b4k_softmax_rows_fwd(float *x, int N, int C, int len)
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

void b4k_softmax_rows_fwd_ref(float *x, int N, int C, int len)
{
    if (len > C) len = C;
    for (int n = 0; n < N; n++) {
        float *r = x + (size_t)n * C;
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < len; c++) mx = r[c] > mx ? r[c] : mx;
        for (int c = 0; c < len; c++) s += exp(r[c] - mx);
        for (int c = 0; c < C; c++) r[c] = c < len ? (float)(exp(r[c] - mx) / s) : 0.f;
    }
}

void b4k_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C,
                    int OC)
{
    b4k_linear_fwd_par(NULL, out, inp, w, b, N, C, OC);
}

void b4k_linear_fwd_par(b4k_pool *pool, float *out, const float *inp, const float *w,
                        const float *b, int N, int C, int OC)
{
    if (b)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, (size_t)OC * sizeof *b);
    b4k_gemm_par(pool, 0, 1, N, OC, C, 1.0f, inp, C, w, C, b ? 1.0f : 0.0f, out, OC);
}

void b4k_linear_fwd_ref(float *out, const float *inp, const float *w, const float *b, int N,
                        int C, int OC)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0;
            for (int i = 0; i < C; i++) s += (double)inp[(size_t)n * C + i] * w[(size_t)o * C + i];
            out[(size_t)n * OC + o] = (float)s;
        }
}

/* ---- pool-parallel GEMM ---------------------------------------------------- */

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

void b4k_gemm_par(b4k_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int nt = b4k_pool_size(pool);
    if (nt <= 1 || (long)M * N * K < B4K_GEMM_PAR_MIN) {
        b4k_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    struct gemm_par g = {ta, tb, M, N, K, lda, ldb, ldc, M >= 16 * nt, alpha, beta, A, B, C};
    b4k_pool_run(pool, gemm_par_fn, &g);
}

void b4k_add_fwd(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* ---- full-sequence attention --------------------------------------------- */

struct att_job {
    float *out, *att, *scratch;
    const float *qkv;
    const int32_t *lens;
    const uint8_t *dmask;
    float pdrop;
    int B, T, C, NH, causal;
};

/* row t of P (T) -> masked softmax over the keys query t may see */
static void att_softmax(float *P, int T, int len, int causal)
{
    for (int t = 0; t < T; t++) {
        int S = causal && t + 1 < len ? t + 1 : len;
        b4k_softmax_rows_fwd(P + (size_t)t * T, 1, T, S);
    }
}

static void att_heads(void *p, size_t lo, size_t hi, int tid)
{
    struct att_job *j = p;
    int T = j->T, C = j->C, HS = C / j->NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    float *mine = j->scratch + (size_t)tid * 2 * T * T, *Pd = mine + (size_t)T * T;
    for (size_t bh = lo; bh < hi; bh++) {
        int b = (int)(bh / j->NH), h = (int)(bh % j->NH);
        const float *q = j->qkv + (size_t)b * T * C3 + (size_t)h * HS, *k = q + C, *v = q + 2 * C;
        float *P = j->att ? j->att + bh * T * T : mine;
        int len = j->lens ? (j->lens[b] < T ? j->lens[b] : T) : T;
        b4k_sgemm(0, 1, T, T, HS, scale, q, C3, k, C3, 0.f, P, T);
        att_softmax(P, T, len, j->causal);
        const float *Pu = P;
        if (j->dmask) {
            const uint8_t *m = j->dmask + bh * T * T;
            float sc = 1.f / (1.f - j->pdrop);
            for (size_t i = 0; i < (size_t)T * T; i++) Pd[i] = m[i] ? P[i] * sc : 0.f;
            Pu = Pd;
        }
        b4k_sgemm(0, 0, T, HS, T, 1.f, Pu, T, v, C3, 0.f, j->out + (size_t)b * T * C + (size_t)h * HS, C);
    }
}

size_t b4k_attention_scratch(int T, b4k_pool *pool)
{
    return (size_t)b4k_pool_size(pool) * 2 * (size_t)T * T;
}

void b4k_attention_fwd(float *out, float *att, float *scratch, const float *qkv,
                       const int32_t *lens, const uint8_t *dmask, float pdrop, int B, int T,
                       int C, int NH, int causal, b4k_pool *pool)
{
    struct att_job j = {out, att, scratch, qkv, lens, dmask, pdrop, B, T, C, NH, causal};
    b4k_pool_for(pool, (size_t)B * NH, att_heads, &j);
}

void b4k_attention_fwd_ref(float *out, float *att, const float *qkv, const int32_t *lens,
                           const uint8_t *dmask, float pdrop, int B, int T, int C, int NH,
                           int causal)
{
    int HS = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int len = lens ? (lens[b] < T ? lens[b] : T) : T;
                int S = causal && t + 1 < len ? t + 1 : len;
                const float *q = qkv + ((size_t)b * T + t) * C3 + (size_t)h * HS;
                size_t r = (((size_t)b * NH + h) * T + t) * T;
                double mx = -INFINITY, sum = 0, p[T > 0 ? T : 1];
                for (int s = 0; s < S; s++) {
                    const float *k = qkv + ((size_t)b * T + s) * C3 + C + (size_t)h * HS;
                    double d = 0;
                    for (int i = 0; i < HS; i++) d += (double)q[i] * k[i];
                    p[s] = d * scale;
                    mx = p[s] > mx ? p[s] : mx;
                }
                for (int s = 0; s < S; s++) sum += (p[s] = exp(p[s] - mx));
                for (int s = 0; s < T; s++) {
                    p[s] = s < S ? p[s] / sum : 0;
                    if (att) att[r + s] = (float)p[s];
                }
                float *o = out + ((size_t)b * T + t) * C + (size_t)h * HS;
                for (int i = 0; i < HS; i++) {
                    double a = 0;
                    for (int s = 0; s < S; s++) {
                        double pu = dmask ? (dmask[r + s] ? p[s] / (1.0 - pdrop) : 0) : p[s];
                        a += pu * qkv[((size_t)b * T + s) * C3 + 2 * C + (size_t)h * HS + i];
                    }
                    o[i] = (float)a;
                }
            }
}

/* ---- attention against a KV cache ---------------------------------------- */

struct catt_job {
    float *out, *scratch;
    const float *q, *kc, *vc;
    int ldq, T, C, NH, ctx, pos0;
};

static void catt_rows(void *p, size_t begin, size_t end, int tid)
{
    struct catt_job *j = p;
    int C = j->C, HS = C / j->NH, T = j->T;
    float *sc = j->scratch + (size_t)tid * j->ctx;
    for (size_t r = begin; r < end; r++) { /* r = h*T + t */
        int h = (int)(r / T), t = (int)(r % T);
        const float *q = j->q + (size_t)t * j->ldq + (size_t)h * HS;
        const float *K = j->kc + (size_t)h * j->ctx * HS, *V = j->vc + (size_t)h * j->ctx * HS;
        b4k_attention_cached_row(j->out + (size_t)t * C + (size_t)h * HS, sc, q, K, V, HS,
                                 j->pos0 + t + 1);
    }
}

size_t b4k_attention_cached_scratch(int ctx, b4k_pool *pool)
{
    return (size_t)ctx * b4k_pool_size(pool);
}

void b4k_attention_cached_fwd(float *out, float *scratch, const float *q, int ldq,
                              const float *kc, const float *vc, int T, int C, int NH, int ctx,
                              int pos0, b4k_pool *pool)
{
    struct catt_job j = { out, scratch, q, kc, vc, ldq, T, C, NH, ctx, pos0 };
    b4k_pool_for(pool, (size_t)NH * T, catt_rows, &j);
}

void b4k_attention_cached_row(float *out, float *sc, const float *q, const float *K,
                              const float *V, int HS, int S)
{
    b4k_attn_row_f32(out, sc, q, K, V, HS, S, 1.0f / sqrtf((float)HS));
}
