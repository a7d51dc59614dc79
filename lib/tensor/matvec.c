#include "tensor/matvec.h"

#include <math.h>
#include <string.h>

#include "core/cpu.h"
#include "tensor/blas.h"
#include "tensor/gemm_bf16.h"
#include "tensor/matvec_kern.h"

size_t b4k_wmat_bytes(const b4k_wmat *w)
{
    size_t n = (size_t)w->rows * w->cols;
    switch (w->type) {
    case B4K_F32: return n * 4;
    case B4K_BF16:
    case B4K_F16: return n * 2;
    default: return n + (n / B4K_Q8_BLOCK) * 2;
    }
}

size_t b4k_matmul_scratch(const b4k_wmat *w, int T)
{
    size_t K = (size_t)w->cols, t = (size_t)T;
    if (w->type == B4K_BF16)
        return t * K + 16;                           /* hi + lo uint16 */
    if (w->type == B4K_Q8)
        return t * (K / 4 + K / B4K_Q8_BLOCK + 32) + 32; /* int8 + scales */
    return 0;
}

void b4k_matmul_split(int N, int tid, int nthreads, int *r0, int *r1)
{
    int blocks = (N + 15) / 16;
    int b0 = (int)((long long)blocks * tid / nthreads);
    int b1 = (int)((long long)blocks * (tid + 1) / nthreads);
    *r0 = b0 * 16 < N ? b0 * 16 : N;
    *r1 = b1 * 16 < N ? b1 * 16 : N;
}

/* x(T,K) -> hi, lo bf16 (T,K) each. */
void b4k_mv_prep_bf16(uint16_t *hi, uint16_t *lo, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h = b4k_mv_f2bf(x[i]);
        hi[i] = h;
        lo[i] = b4k_mv_f2bf(x[i] - b4k_mv_bf2f(h));
    }
}

/* x(T,K) -> q (T,K) int8 and d (T,ldd) f32 per block of 32. */
void b4k_mv_prep_q8(int8_t *q, float *d, int ldd, const float *x, int T, int K)
{
    int nb = K / B4K_Q8_BLOCK;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < nb; b++) {
            const float *xs = x + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK;
            float amax = 0;
            for (int i = 0; i < B4K_Q8_BLOCK; i++)
                amax = fmaxf(amax, fabsf(xs[i]));
            float dd = amax / 127.0f, id = dd > 0 ? 1.0f / dd : 0.0f;
            d[(size_t)t * ldd + b] = dd;
            int8_t *qs = q + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK;
            for (int i = 0; i < B4K_Q8_BLOCK; i++) {
                float v = rintf(xs[i] * id);
                qs[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            }
        }
        for (int b = nb; b < ldd; b++)
            d[(size_t)t * ldd + b] = 0;
    }
}

/* Scratch layout shared by the reference and fast kernels. */
void b4k_mv_scratch_layout(const b4k_wmat *w, int T, float *scratch, uint16_t **hi,
                           uint16_t **lo, int8_t **q, float **d, int *ldd)
{
    size_t K = (size_t)w->cols;
    if (w->type == B4K_BF16) {
        *hi = (uint16_t *)scratch;
        *lo = *hi + (size_t)T * K;
    } else if (w->type == B4K_Q8) {
        int nb = (int)(K / B4K_Q8_BLOCK);
        *ldd = (nb + 15) & ~15;
        *d = scratch;
        *q = (int8_t *)(scratch + (size_t)T * *ldd);
    }
}

static void rows_ref(float *out, int ldo, const float *x, const b4k_wmat *w,
                     const float *bias, int T, int r0, int r1, float *scratch, int prep)
{
    int K = w->cols;
    uint16_t *hi = NULL, *lo = NULL;
    int8_t *q = NULL;
    float *d = NULL;
    int ldd = 0;
    b4k_mv_scratch_layout(w, T, scratch, &hi, &lo, &q, &d, &ldd);
    if (prep && w->type == B4K_BF16)
        b4k_mv_prep_bf16(hi, lo, x, (size_t)T * K);
    else if (prep && w->type == B4K_Q8)
        b4k_mv_prep_q8(q, d, ldd, x, T, K);
    int nb = K / B4K_Q8_BLOCK;
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * K;
        for (int r = r0; r < r1; r++) {
            float s = 0;
            switch (w->type) {
            case B4K_F32: {
                const float *wr = (const float *)w->data + (size_t)r * K;
                for (int k = 0; k < K; k++)
                    s += wr[k] * xt[k];
                break;
            }
            case B4K_F16: {
                const uint16_t *wr = (const uint16_t *)w->data + (size_t)r * K;
                for (int k = 0; k < K; k++)
                    s += b4k_f16_to_f32(wr[k]) * xt[k];
                break;
            }
            case B4K_BF16: {
                const uint16_t *wr = (const uint16_t *)w->data + (size_t)r * K;
                const uint16_t *h = hi + (size_t)t * K, *l = lo + (size_t)t * K;
                for (int k = 0; k < K; k++)
                    s += b4k_mv_bf2f(wr[k]) * b4k_mv_bf2f(h[k]) +
                         b4k_mv_bf2f(wr[k]) * b4k_mv_bf2f(l[k]);
                break;
            }
            default: {
                const int8_t *wr = (const int8_t *)w->data + (size_t)r * K;
                const uint16_t *sc = w->scales + (size_t)r * nb;
                const int8_t *qt = q + (size_t)t * K;
                for (int b = 0; b < nb; b++) {
                    int32_t is = 0;
                    for (int i = 0; i < B4K_Q8_BLOCK; i++)
                        is += (int32_t)wr[b * B4K_Q8_BLOCK + i] * qt[b * B4K_Q8_BLOCK + i];
                    s += (float)is * (b4k_f16_to_f32(sc[b]) * d[(size_t)t * ldd + b]);
                }
                break;
            }
            }
            out[(size_t)t * ldo + r] = s + (bias ? bias[r] : 0.0f);
        }
    }
}

void b4k_matmul_rows_ref(float *out, int ldo, const float *x, const b4k_wmat *w,
                         const float *bias, int T, int r0, int r1, float *scratch)
{
    rows_ref(out, ldo, x, w, bias, T, r0, r1, scratch, 1);
}

static void rows(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                 int T, int r0, int r1, float *scratch, int prep)
{
    if (r1 <= r0)
        return;
    switch (w->type) {
    case B4K_F32:
        if (b4k_cpu_has(B4K_CPU_AVX512)) {
            b4k_mv_f32_avx512(out, ldo, x, w, bias, T, r0, r1);
            return;
        }
        if (b4k_cpu_has(B4K_CPU_AVX2)) {
            b4k_mv_f32_avx2(out, ldo, x, w, bias, T, r0, r1);
            return;
        }
        break;
    case B4K_F16:
        if (b4k_cpu_has(B4K_CPU_AVX512)) {
            b4k_mv_f16_avx512(out, ldo, x, w, bias, T, r0, r1);
            return;
        }
        if (b4k_cpu_has(B4K_CPU_AVX2)) {
            b4k_mv_f16_avx2(out, ldo, x, w, bias, T, r0, r1);
            return;
        }
        break;
    case B4K_BF16:
        if (b4k_cpu_has(B4K_CPU_AVX512BF16)) {
            b4k_mv_bf16_avx512bf16(out, ldo, x, w, bias, T, r0, r1, scratch, prep);
            return;
        }
        if (b4k_cpu_has(B4K_CPU_AVX2)) {
            b4k_mv_bf16_avx2(out, ldo, x, w, bias, T, r0, r1, scratch, prep);
            return;
        }
        break;
    case B4K_Q8:
        if (b4k_cpu_has(B4K_CPU_AVX512VNNI)) {
            b4k_mv_q8_vnni(out, ldo, x, w, bias, T, r0, r1, scratch, prep);
            return;
        }
        if (b4k_cpu_has(B4K_CPU_AVX2)) {
            b4k_mv_q8_avx2(out, ldo, x, w, bias, T, r0, r1, scratch, prep);
            return;
        }
        break;
    }
    rows_ref(out, ldo, x, w, bias, T, r0, r1, scratch, prep);
}

void b4k_matmul_rows(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1, float *scratch)
{
    rows(out, ldo, x, w, bias, T, r0, r1, scratch, 1);
}

void b4k_matmul_rows_more(float *out, int ldo, const float *x, const b4k_wmat *w,
                          const float *bias, int T, int r0, int r1, float *scratch)
{
    rows(out, ldo, x, w, bias, T, r0, r1, scratch, 0);
}

const char *b4k_matmul_kernel_name(int type)
{
    switch (type) {
    case B4K_F32:
    case B4K_F16:
        return b4k_cpu_has(B4K_CPU_AVX512) ? "avx512" : b4k_cpu_has(B4K_CPU_AVX2) ? "avx2" : "scalar";
    case B4K_BF16:
        return b4k_cpu_has(B4K_CPU_AVX512BF16) ? "avx512bf16"
               : b4k_cpu_has(B4K_CPU_AVX2)     ? "avx2"
                                               : "scalar";
    default:
        return b4k_cpu_has(B4K_CPU_AVX512VNNI) ? "avx512vnni"
               : b4k_cpu_has(B4K_CPU_AVX2)     ? "avx2"
                                               : "scalar";
    }
}

void b4k_wmat_rows_f32(float *out, const b4k_wmat *w, int r0, int r1)
{
    if (w->type != B4K_F32 && b4k_cpu_has(B4K_CPU_AVX2))
        b4k_wmat_rows_f32_avx2(out, w, r0, r1);
    else
        b4k_wmat_rows_f32_ref(out, w, r0, r1);
}

void b4k_wmat_rows_f32_ref(float *out, const b4k_wmat *w, int r0, int r1)
{
    size_t K = (size_t)w->cols, n = (size_t)(r1 - r0) * K;
    switch (w->type) {
    case B4K_F32:
        memcpy(out, (const float *)w->data + (size_t)r0 * K, n * sizeof *out);
        break;
    case B4K_BF16: {
        const uint16_t *s = (const uint16_t *)w->data + (size_t)r0 * K;
        for (size_t i = 0; i < n; i++)
            out[i] = b4k_mv_bf2f(s[i]);
        break;
    }
    case B4K_F16: {
        const uint16_t *s = (const uint16_t *)w->data + (size_t)r0 * K;
        for (size_t i = 0; i < n; i++)
            out[i] = b4k_f16_to_f32(s[i]);
        break;
    }
    default: {
        size_t nb = K / B4K_Q8_BLOCK;
        for (int r = r0; r < r1; r++) {
            const int8_t *q = (const int8_t *)w->data + (size_t)r * K;
            const uint16_t *sc = w->scales + (size_t)r * nb;
            float *o = out + (size_t)(r - r0) * K;
            for (size_t b = 0; b < nb; b++) {
                float dd = b4k_f16_to_f32(sc[b]);
                for (int i = 0; i < B4K_Q8_BLOCK; i++)
                    o[b * B4K_Q8_BLOCK + i] = q[b * B4K_Q8_BLOCK + i] * dd;
            }
        }
        break;
    }
    }
}

/* y = x W^T with W stored bf16 (N,K), x kept to ~16 bits (see matvec.h) */
#define BIG_BF16 (B4K_GEMM_TB | B4K_GEMM_BBF16 | B4K_GEMM_SPLIT_A)

/* f16 / q8: rows expanded to f32 per block of at most 4 MB (mostly in cache
 * for the sgemm that follows) but of at least 128 rows (every sgemm call
 * packs all of x again), in whole 16-row groups */
static int big_block_rows(int K)
{
    int r = ((1 << 20) / (K > 0 ? K : 1)) & ~15;
    return r < 128 ? 128 : r > 512 ? 512 : r;
}

/* bf16 weights go through our bf16 GEMM only where the CPU has AVX512-BF16;
 * elsewhere that GEMM is an sgemm fallback that emulates its rounding of x
 * (converting x and B per chunk of columns: 586 tok/s against 820 for f32
 * on a Zen 3), so they take the f16/q8 path instead: rows expanded to f32
 * exactly, x unrounded (as the AVX2 decode kernel does) */
static int big_bf16_gemm(const b4k_wmat *w)
{
    return w->type == B4K_BF16 && b4k_cpu_has(B4K_CPU_AVX512BF16);
}

size_t b4k_matmul_big_work(const b4k_wmat *w, int T)
{
    if (w->type == B4K_F32 || T <= 0)
        return 0;
    if (big_bf16_gemm(w))
        return b4k_gemm_bf16_work(BIG_BF16, T, w->rows, w->cols, 1);
    int br = big_block_rows(w->cols);
    return (size_t)(br < w->rows ? br : w->rows) * w->cols * sizeof(float);
}

void b4k_matmul_big_rows(float *out, int ldo, const float *x, const b4k_wmat *w,
                         const float *bias, int T, int r0, int r1, void *work)
{
    int K = w->cols, n = r1 - r0;
    if (n <= 0 || T <= 0)
        return;
    /* C = bias, then C += x W^T (as torch's addmm: beta 1 on the bias) */
    if (bias)
        for (int t = 0; t < T; t++)
            memcpy(out + (size_t)t * ldo + r0, bias + r0, (size_t)n * sizeof *out);
    float beta = bias ? 1.0f : 0.0f;
    switch (big_bf16_gemm(w) ? B4K_BF16 : w->type == B4K_F32 ? B4K_F32 : -1) {
    case B4K_BF16:
        /* work is sized by the caller, so this cannot fail */
        b4k_gemm_bf16(NULL, work, BIG_BF16, T, n, K, 1.0f, x, K,
                      (const uint16_t *)w->data + (size_t)r0 * K, K, beta, out + r0, ldo);
        break;
    case B4K_F32:
        b4k_sgemm(0, 1, T, n, K, 1.0f, x, K, (const float *)w->data + (size_t)r0 * K, K, beta,
                  out + r0, ldo);
        break;
    default: {
        int br = big_block_rows(K);
        for (int b0 = r0; b0 < r1; b0 += br) {
            int b1 = b0 + br < r1 ? b0 + br : r1;
            b4k_wmat_rows_f32(work, w, b0, b1);
            b4k_sgemm(0, 1, T, b1 - b0, K, 1.0f, x, K, work, K, beta, out + b0, ldo);
        }
        break;
    }
    }
}
