/* AVX-512 word2vec kernels (dispatched by kern.c; twin of kern_ref.c). */
#include <immintrin.h>

#include "w2v/kern.h"

static void dots_avx512(float *S, const float *const *C, int m, const float *const *T, int n,
                        int d)
{
    int full = d & ~15;
    __mmask16 tm = (__mmask16)((1u << (d & 15)) - 1);
    for (int j = 0; j < m; j++) {
        const float *c = C[j];
        int k = 0;
        for (; k + 4 <= n; k += 4) {
            const float *t0 = T[k], *t1 = T[k + 1], *t2 = T[k + 2], *t3 = T[k + 3];
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < full; i += 16) {
                __m512 x = _mm512_loadu_ps(c + i);
                a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(t0 + i), a0);
                a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(t1 + i), a1);
                a2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(t2 + i), a2);
                a3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(t3 + i), a3);
            }
            if (tm) {
                __m512 x = _mm512_maskz_loadu_ps(tm, c + full);
                a0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tm, t0 + full), a0);
                a1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tm, t1 + full), a1);
                a2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tm, t2 + full), a2);
                a3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tm, t3 + full), a3);
            }
            S[j * n + k] = _mm512_reduce_add_ps(a0);
            S[j * n + k + 1] = _mm512_reduce_add_ps(a1);
            S[j * n + k + 2] = _mm512_reduce_add_ps(a2);
            S[j * n + k + 3] = _mm512_reduce_add_ps(a3);
        }
        for (; k < n; k++) {
            const float *t = T[k];
            __m512 a = _mm512_setzero_ps();
            for (int i = 0; i < full; i += 16)
                a = _mm512_fmadd_ps(_mm512_loadu_ps(c + i), _mm512_loadu_ps(t + i), a);
            if (tm)
                a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tm, c + full),
                                    _mm512_maskz_loadu_ps(tm, t + full), a);
            S[j * n + k] = _mm512_reduce_add_ps(a);
        }
    }
}

static void comb_avx512(float *y, int acc, const float *coef, int cs, const float *const *X,
                        int n, int d)
{
    int full = d & ~15;
    __mmask16 tm = (__mmask16)((1u << (d & 15)) - 1);
    for (int i = 0; i < full; i += 16) {
        __m512 a = acc ? _mm512_loadu_ps(y + i) : _mm512_setzero_ps();
        for (int k = 0; k < n; k++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(coef[k * cs]), _mm512_loadu_ps(X[k] + i), a);
        _mm512_storeu_ps(y + i, a);
    }
    if (tm) {
        __m512 a = acc ? _mm512_maskz_loadu_ps(tm, y + full) : _mm512_setzero_ps();
        for (int k = 0; k < n; k++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(coef[k * cs]),
                                _mm512_maskz_loadu_ps(tm, X[k] + full), a);
        _mm512_mask_storeu_ps(y + full, tm, a);
    }
}

const b4k_w2v_kern b4k_w2v_kern_avx512_tab = {"avx512", dots_avx512, comb_avx512};
