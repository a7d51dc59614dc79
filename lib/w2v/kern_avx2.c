/* AVX2+FMA word2vec kernels (dispatched by kern.c; twin of kern_ref.c). */
#include <immintrin.h>

#include "w2v/kern.h"

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i tail_mask(int r)
{
    static const int m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(m + 8 - r));
}

static void dots_avx2(float *S, const float *const *C, int m, const float *const *T, int n,
                      int d)
{
    int full = d & ~7, r = d & 7;
    __m256i tm = tail_mask(r);
    for (int j = 0; j < m; j++) {
        const float *c = C[j];
        int k = 0;
        for (; k + 4 <= n; k += 4) {
            const float *t0 = T[k], *t1 = T[k + 1], *t2 = T[k + 2], *t3 = T[k + 3];
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < full; i += 8) {
                __m256 x = _mm256_loadu_ps(c + i);
                a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(t0 + i), a0);
                a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(t1 + i), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(t2 + i), a2);
                a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(t3 + i), a3);
            }
            if (r) {
                __m256 x = _mm256_maskload_ps(c + full, tm);
                a0 = _mm256_fmadd_ps(x, _mm256_maskload_ps(t0 + full, tm), a0);
                a1 = _mm256_fmadd_ps(x, _mm256_maskload_ps(t1 + full, tm), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_maskload_ps(t2 + full, tm), a2);
                a3 = _mm256_fmadd_ps(x, _mm256_maskload_ps(t3 + full, tm), a3);
            }
            S[j * n + k] = hsum8(a0);
            S[j * n + k + 1] = hsum8(a1);
            S[j * n + k + 2] = hsum8(a2);
            S[j * n + k + 3] = hsum8(a3);
        }
        for (; k < n; k++) {
            const float *t = T[k];
            __m256 a = _mm256_setzero_ps();
            for (int i = 0; i < full; i += 8)
                a = _mm256_fmadd_ps(_mm256_loadu_ps(c + i), _mm256_loadu_ps(t + i), a);
            if (r)
                a = _mm256_fmadd_ps(_mm256_maskload_ps(c + full, tm),
                                    _mm256_maskload_ps(t + full, tm), a);
            S[j * n + k] = hsum8(a);
        }
    }
}

static void comb_avx2(float *y, int acc, const float *coef, int cs, const float *const *X, int n,
                      int d)
{
    int full = d & ~7, r = d & 7;
    for (int i = 0; i < full; i += 8) {
        __m256 a = acc ? _mm256_loadu_ps(y + i) : _mm256_setzero_ps();
        for (int k = 0; k < n; k++)
            a = _mm256_fmadd_ps(_mm256_set1_ps(coef[k * cs]), _mm256_loadu_ps(X[k] + i), a);
        _mm256_storeu_ps(y + i, a);
    }
    if (r) {
        __m256i tm = tail_mask(r);
        __m256 a = acc ? _mm256_maskload_ps(y + full, tm) : _mm256_setzero_ps();
        for (int k = 0; k < n; k++)
            a = _mm256_fmadd_ps(_mm256_set1_ps(coef[k * cs]), _mm256_maskload_ps(X[k] + full, tm),
                                a);
        _mm256_maskstore_ps(y + full, tm, a);
    }
}

const b4k_w2v_kern b4k_w2v_kern_avx2_tab = {"avx2", dots_avx2, comb_avx2};
