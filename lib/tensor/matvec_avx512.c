/* AVX-512 matvec kernels for f32 and f16 weights (see matvec.h). */
#include <immintrin.h>

#include "tensor/matvec_kern.h"

static inline float dot_f32(const float *w, const float *x, int K)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
           a3 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 64 <= K; k += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 32), _mm512_loadu_ps(x + k + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 48), _mm512_loadu_ps(x + k + 48), a3);
    }
    for (; k + 16 <= K; k += 16)
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
    if (k < K) {
        __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + k), _mm512_maskz_loadu_ps(m, x + k), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

void b4k_mv_f32_avx512(float *out, int ldo, const float *x, const b4k_wmat *w,
                       const float *bias, int T, int r0, int r1)
{
    int K = w->cols;
    const float *W = w->data;
    for (int r = r0; r < r1; r++) {
        const float *wr = W + (size_t)r * K;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] = dot_f32(wr, x + (size_t)t * K, K) + b;
    }
}

static inline float dot_f16(const uint16_t *w, const float *x, int K)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k + 16)));
        a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + k + 16), a1);
    }
    for (; k < K; k += 16) {
        int n = K - k < 16 ? K - k : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 w0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + k));
        a0 = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, x + k), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

void b4k_mv_f16_avx512(float *out, int ldo, const float *x, const b4k_wmat *w,
                       const float *bias, int T, int r0, int r1)
{
    int K = w->cols;
    const uint16_t *W = w->data;
    for (int r = r0; r < r1; r++) {
        const uint16_t *wr = W + (size_t)r * K;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] = dot_f16(wr, x + (size_t)t * K, K) + b;
    }
}
