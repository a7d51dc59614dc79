/* AVX2 f32 transpose in 8x8 register blocks for b4k-convert's row producer
 * (the portable twin is transpose_ref in transpose.c, which also does the
 * edges).  Dispatched with b4k_cpu_has(B4K_CPU_AVX2). */
#include <immintrin.h>

#include "convert/convert_impl.h"

void b4k_cv_transpose_f32_avx2(float *out, const float *in, size_t rows, size_t cols, size_t j0,
                               size_t j1)
{
    size_t r8 = rows / 8 * 8, jend = j0 + (j1 - j0) / 8 * 8;
    for (size_t i0 = 0; i0 < r8; i0 += 64) {
        size_t i1 = i0 + 64 < r8 ? i0 + 64 : r8;
        for (size_t jb = j0; jb < jend; jb += 8)
            for (size_t i = i0; i < i1; i += 8) {
                const float *s = in + i * cols + jb;
                float *d = out + (jb - j0) * rows + i;
                __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + cols),
                       r2 = _mm256_loadu_ps(s + 2 * cols), r3 = _mm256_loadu_ps(s + 3 * cols),
                       r4 = _mm256_loadu_ps(s + 4 * cols), r5 = _mm256_loadu_ps(s + 5 * cols),
                       r6 = _mm256_loadu_ps(s + 6 * cols), r7 = _mm256_loadu_ps(s + 7 * cols);
                __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                       t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                       t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                       t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
                __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                       s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                       s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                       s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
                       s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)),
                       s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
                       s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)),
                       s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
                _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
                _mm256_storeu_ps(d + rows, _mm256_permute2f128_ps(s1, s5, 0x20));
                _mm256_storeu_ps(d + 2 * rows, _mm256_permute2f128_ps(s2, s6, 0x20));
                _mm256_storeu_ps(d + 3 * rows, _mm256_permute2f128_ps(s3, s7, 0x20));
                _mm256_storeu_ps(d + 4 * rows, _mm256_permute2f128_ps(s0, s4, 0x31));
                _mm256_storeu_ps(d + 5 * rows, _mm256_permute2f128_ps(s1, s5, 0x31));
                _mm256_storeu_ps(d + 6 * rows, _mm256_permute2f128_ps(s2, s6, 0x31));
                _mm256_storeu_ps(d + 7 * rows, _mm256_permute2f128_ps(s3, s7, 0x31));
            }
    }
}
