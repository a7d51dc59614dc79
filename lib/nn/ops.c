#include "nn/ops.h"

#include <math.h>
#include <string.h>

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

void b4k_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
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
            o[c] = (x[c] - fm) * rs * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
        if (mean)
            mean[n] = fm;
        if (rstd)
            rstd[n] = rs;
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

void b4k_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C,
                    int OC)
{
    b4k_sgemm(0, 1, N, OC, C, 1.0f, inp, C, w, C, 0.0f, out, OC);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
                out[(size_t)n * OC + o] += b[o];
}

void b4k_add_fwd(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* ---- full-sequence attention --------------------------------------------- */

struct att_job {
    float *out, *att, *scratch;
    const float *qkv, *mask;
    int B, T, C, NH, causal;
};

static void att_rows(void *p, size_t begin, size_t end, int tid)
{
    struct att_job *j = p;
    int T = j->T, C = j->C, NH = j->NH, HS = C / NH;
    float scale = 1.0f / sqrtf((float)HS);
    for (size_t r = begin; r < end; r++) { /* r = (b*NH + h)*T + t */
        int t = (int)(r % T), h = (int)(r / T % NH), b = (int)(r / T / NH);
        const float *q = j->qkv + ((size_t)b * T + t) * 3 * C + (size_t)h * HS;
        float *p2 = j->att ? j->att + r * T : j->scratch + (size_t)tid * T;
        int S = j->causal ? t + 1 : T;
        float mx = -INFINITY;
        for (int s = 0; s < S; s++) {
            const float *k = j->qkv + ((size_t)b * T + s) * 3 * C + C + (size_t)h * HS;
            float v = b4k_dot_f32(q, k, HS) * scale;
            if (j->mask && j->mask[(size_t)b * T + s] == 0.0f)
                v -= 10000.0f;
            p2[s] = v;
            mx = v > mx ? v : mx;
        }
        double sum = 0;
        for (int s = 0; s < S; s++) {
            p2[s] = expf(p2[s] - mx);
            sum += p2[s];
        }
        float inv = (float)(1.0 / sum);
        for (int s = 0; s < S; s++)
            p2[s] *= inv;
        for (int s = S; s < T; s++)
            p2[s] = 0;
        float *o = j->out + ((size_t)b * T + t) * C + (size_t)h * HS;
        memset(o, 0, (size_t)HS * sizeof *o);
        for (int s = 0; s < S; s++) {
            const float *v = j->qkv + ((size_t)b * T + s) * 3 * C + 2 * (size_t)C + (size_t)h * HS;
            b4k_axpy_f32(o, p2[s], v, HS);
        }
    }
}

size_t b4k_attention_scratch(int T, b4k_pool *pool)
{
    return (size_t)T * b4k_pool_size(pool);
}

void b4k_attention_fwd(float *out, float *att, float *scratch, const float *qkv,
                       const float *key_mask, int B, int T, int C, int NH, int causal,
                       b4k_pool *pool)
{
    struct att_job j = { out, att, scratch, qkv, key_mask, B, T, C, NH, causal };
    b4k_pool_for(pool, (size_t)B * NH * T, att_rows, &j);
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
    float scale = 1.0f / sqrtf((float)HS);
    float mx = -INFINITY;
    for (int s = 0; s < S; s++) {
        float v = b4k_dot_f32(q, K + (size_t)s * HS, HS) * scale;
        sc[s] = v;
        mx = v > mx ? v : mx;
    }
    double sum = 0;
    for (int s = 0; s < S; s++) {
        sc[s] = expf(sc[s] - mx);
        sum += sc[s];
    }
    float inv = (float)(1.0 / sum);
    memset(out, 0, (size_t)HS * sizeof *out);
    for (int s = 0; s < S; s++)
        b4k_axpy_f32(out, sc[s] * inv, V + (size_t)s * HS, HS);
}
