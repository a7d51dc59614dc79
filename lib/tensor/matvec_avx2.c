/* AVX2 + FMA + F16C matvec kernels (for CPUs without AVX-512; see matvec.h).
 * bf16 weights are widened to f32 in registers (exact, x stays f32); q8 uses
 * the maddubs/madd int8 dot on x quantised per 32 like the VNNI kernel. */
#include <immintrin.h>

#include "tensor/matvec_kern.h"

/* Software prefetch distance in bytes of weights, one prefetch per 64-byte
 * line: on a Zen 3 (AVX2 only) the hardware prefetcher alone leaves a
 * streaming matvec at ~19.5 GB/s on one thread against ~21 for a plain read;
 * with these distances bf16 reads at 22.7 and q8 at 25.8 (test/bench
 * kernels, 200 MB matrix in 2 MiB pages; q8 gains from 2 KiB, bf16 peaks at
 * 1 KiB and loses beyond 2 KiB). */
#define PF_BF16 1024
#define PF_Q8 2048

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float dot_f32(const float *w, const float *x, int K)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 16), _mm256_loadu_ps(x + k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 24), _mm256_loadu_ps(x + k + 24), a3);
    }
    for (; k + 8 <= K; k += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < K; k++)
        s += w[k] * x[k];
    return s;
}

void b4k_mv_f32_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1)
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
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))),
                             _mm256_loadu_ps(x + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 8))),
                             _mm256_loadu_ps(x + k + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; k < K; k++)
        s += _cvtsh_ss(w[k]) * x[k];
    return s;
}

void b4k_mv_f16_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1)
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

/* bf16: 16 weights per 256-bit load; the even ones are (v << 16), the odd
 * ones (v & 0xffff0000).  x is pre-split per block of 16 into its even and
 * odd elements (xe[8], xo[8]) so both halves meet the right activations. */
static void prep_eo(float *eo, const float *x, int K)
{
    int k = 0;
    for (; k + 16 <= K; k += 16)
        for (int i = 0; i < 8; i++) {
            eo[k + i] = x[k + 2 * i];
            eo[k + 8 + i] = x[k + 2 * i + 1];
        }
    for (; k < K; k++)
        eo[k] = x[k];
}

static inline float dot_bf16(const uint16_t *w, const float *eo, int K)
{
    const __m256i hm = _mm256_set1_epi32((int)0xffff0000u);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        _mm_prefetch((const char *)(w + k) + PF_BF16, _MM_HINT_T0);
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(w + k));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(w + k + 16));
        a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)),
                             _mm256_loadu_ps(eo + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v0, hm)),
                             _mm256_loadu_ps(eo + k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)),
                             _mm256_loadu_ps(eo + k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v1, hm)),
                             _mm256_loadu_ps(eo + k + 24), a3);
    }
    for (; k + 16 <= K; k += 16) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(w + k));
        a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)),
                             _mm256_loadu_ps(eo + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v0, hm)),
                             _mm256_loadu_ps(eo + k + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < K; k++)
        s += b4k_mv_bf2f(w[k]) * eo[k];
    return s;
}

void b4k_mv_bf16_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                      int T, int r0, int r1, float *scratch, int prep)
{
    int K = w->cols;
    for (int t = 0; prep && t < T; t++)
        prep_eo(scratch + (size_t)t * K, x + (size_t)t * K, K);
    const uint16_t *W = w->data;
    for (int r = r0; r < r1; r++) {
        const uint16_t *wr = W + (size_t)r * K;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] = dot_bf16(wr, scratch + (size_t)t * K, K) + b;
    }
}

/* q8: per block of 32, |xq| (u8) x sign(xq)*w (s8) with maddubs (pairs fit in
 * int16: 2*127*127 < 32768), madd to int32, then float FMA with dw*dx.  The
 * scales of 8 blocks are converted and multiplied at once. */
static inline __m256 q8_block(const int8_t *w, const int8_t *x, __m256 scale, __m256 acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i xv = _mm256_loadu_si256((const __m256i *)x);
    __m256i wv = _mm256_loadu_si256((const __m256i *)w);
    __m256i p = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv)), ones);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc);
}

static inline float dot_q8(const int8_t *wr, const uint16_t *sc, const int8_t *xq,
                           const float *xd, int nb)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
           acc3 = _mm256_setzero_ps();
    float s8[8] __attribute__((aligned(32)));
    int b = 0;
    for (; b + 8 <= nb; b += 8) {
        _mm256_store_ps(s8, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sc + b))),
                                          _mm256_loadu_ps(xd + b)));
        const int8_t *w = wr + 32 * b, *x = xq + 32 * b;
        _mm_prefetch((const char *)w + PF_Q8, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PF_Q8 + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PF_Q8 + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PF_Q8 + 192, _MM_HINT_T0);
        acc0 = q8_block(w, x, _mm256_broadcast_ss(s8 + 0), acc0);
        acc1 = q8_block(w + 32, x + 32, _mm256_broadcast_ss(s8 + 1), acc1);
        acc2 = q8_block(w + 64, x + 64, _mm256_broadcast_ss(s8 + 2), acc2);
        acc3 = q8_block(w + 96, x + 96, _mm256_broadcast_ss(s8 + 3), acc3);
        acc0 = q8_block(w + 128, x + 128, _mm256_broadcast_ss(s8 + 4), acc0);
        acc1 = q8_block(w + 160, x + 160, _mm256_broadcast_ss(s8 + 5), acc1);
        acc2 = q8_block(w + 192, x + 192, _mm256_broadcast_ss(s8 + 6), acc2);
        acc3 = q8_block(w + 224, x + 224, _mm256_broadcast_ss(s8 + 7), acc3);
    }
    for (; b < nb; b++)
        acc0 = q8_block(wr + 32 * b, xq + 32 * b, _mm256_set1_ps(_cvtsh_ss(sc[b]) * xd[b]), acc0);
    return hsum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

/* x -> int8 per block of 32 (same arithmetic as b4k_mv_prep_q8). */
static void prep_q8(int8_t *q, float *d, int ldd, const float *x, int T, int K)
{
    int nb = K / B4K_Q8_BLOCK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < nb; b++) {
            const float *xs = x + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK;
            __m256 v0 = _mm256_loadu_ps(xs), v1 = _mm256_loadu_ps(xs + 8),
                   v2 = _mm256_loadu_ps(xs + 16), v3 = _mm256_loadu_ps(xs + 24);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            float amax = _mm_cvtss_f32(h);
            float dd = amax / 127.0f, id = dd > 0 ? 1.0f / dd : 0.0f;
            d[(size_t)t * ldd + b] = dd;
            __m256 vid = _mm256_set1_ps(id);
            /* |x*id| <= 127 (+rounding): cvtps rounds half to even in the
             * default MXCSR mode, like rintf */
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
            __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
            __m256i p = _mm256_packs_epi16(p01, p23);
            /* undo the lane interleaving of the two packs */
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            const __m256i lim = _mm256_set1_epi8(127), nlim = _mm256_set1_epi8(-127);
            p = _mm256_max_epi8(_mm256_min_epi8(p, lim), nlim);
            _mm256_storeu_si256((__m256i *)(q + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK), p);
        }
        for (int b = nb; b < ldd; b++)
            d[(size_t)t * ldd + b] = 0;
    }
}

void b4k_mv_q8_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                    int T, int r0, int r1, float *scratch, int prep)
{
    int K = w->cols, nb = K / B4K_Q8_BLOCK;
    uint16_t *hi = NULL, *lo = NULL;
    int8_t *q = NULL;
    float *d = NULL;
    int ldd = 0;
    b4k_mv_scratch_layout(w, T, scratch, &hi, &lo, &q, &d, &ldd);
    if (prep)
        prep_q8(q, d, ldd, x, T, K);
    const int8_t *W = w->data;
    for (int r = r0; r < r1; r++) {
        const int8_t *wr = W + (size_t)r * K;
        const uint16_t *sc = w->scales + (size_t)r * nb;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] =
                dot_q8(wr, sc, q + (size_t)t * K, d + (size_t)t * ldd, nb) + b;
    }
}

/* Rows r0..r1 of a bf16, f16 or q8 matrix as f32 (exact, as the scalar
 * b4k_wmat_rows_f32_ref), for the prefill's sgemm. */
void b4k_wmat_rows_f32_avx2(float *out, const b4k_wmat *w, int r0, int r1)
{
    size_t K = (size_t)w->cols, n = (size_t)(r1 - r0) * K, i = 0;
    const uint16_t *h = (const uint16_t *)w->data + (size_t)r0 * K;
    switch (w->type) {
    case B4K_BF16:
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(
                                          _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i))), 16)));
        for (; i < n; i++)
            out[i] = b4k_mv_bf2f(h[i]);
        break;
    case B4K_F16:
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
        for (; i < n; i++)
            out[i] = _cvtsh_ss(h[i]);
        break;
    default: {
        size_t nb = K / B4K_Q8_BLOCK;
        for (int r = r0; r < r1; r++) {
            const int8_t *q = (const int8_t *)w->data + (size_t)r * K;
            const uint16_t *sc = w->scales + (size_t)r * nb;
            float *o = out + (size_t)(r - r0) * K;
            for (size_t b = 0; b < nb; b++) {
                __m256 dd = _mm256_set1_ps(_cvtsh_ss(sc[b]));
                const int8_t *qb = q + b * B4K_Q8_BLOCK;
                for (int j = 0; j < B4K_Q8_BLOCK; j += 8)
                    _mm256_storeu_ps(o + b * B4K_Q8_BLOCK + j,
                                     _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                                                       _mm_loadl_epi64((const __m128i *)(qb + j)))),
                                                   dd));
            }
        }
        break;
    }
    }
}
