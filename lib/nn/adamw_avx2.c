/* AVX2 AdamW update: the same operations in the same order as
 * b4k_adamw_kern_ref (mul and add kept separate, no FMA contraction), so
 * the result is bit-identical to the scalar kernel. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <immintrin.h>
#include <stddef.h>

#include "nn/adamw_kern.h"

void b4k_adamw_kern_avx2(float *w, float *m, float *v, const float *g, size_t n,
                         const b4k_adamw_kargs *a)
{
    __m256 scale = _mm256_set1_ps(a->scale), b1 = _mm256_set1_ps(a->b1),
           b2 = _mm256_set1_ps(a->b2), ob1 = _mm256_set1_ps(1.f - a->b1),
           ob2 = _mm256_set1_ps(1.f - a->b2), rbc2 = _mm256_set1_ps(a->rbc2),
           eps = _mm256_set1_ps(a->eps), ss = _mm256_set1_ps(a->step_size),
           dec = _mm256_set1_ps(a->decay);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 gk = _mm256_mul_ps(_mm256_loadu_ps(g + k), scale);
        __m256 mk = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + k)), _mm256_mul_ps(ob1, gk));
        __m256 vk = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + k)),
                                  _mm256_mul_ps(_mm256_mul_ps(ob2, gk), gk));
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vk), rbc2), eps);
        __m256 wk = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(w + k), dec),
                                  _mm256_div_ps(_mm256_mul_ps(ss, mk), den));
        _mm256_storeu_ps(m + k, mk);
        _mm256_storeu_ps(v + k, vk);
        _mm256_storeu_ps(w + k, wk);
    }
    if (k < n) b4k_adamw_kern_ref(w + k, m + k, v + k, g + k, n - k, a);
}
