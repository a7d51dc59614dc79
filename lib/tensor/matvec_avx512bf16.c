/* AVX512-BF16 (vdpbf16ps) and AVX512-VNNI (vpdpbusd) matvec kernels for bf16
 * and q8 weights (see matvec.h for the arithmetic; the scalar twin is
 * b4k_matmul_rows_ref).  Built with -mavx512bf16 -mavx512vnni; the
 * dispatcher checks each feature separately. */
#include <immintrin.h>

#include "tensor/matvec_kern.h"

/* ---- bf16 -------------------------------------------------------------- */

static inline __m512 bf16x16_to_ps(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static void prep_bf16(uint16_t *hi, uint16_t *lo, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
        __m512 r = _mm512_sub_ps(v, bf16x16_to_ps(h));
        _mm256_storeu_si256((__m256i *)(hi + i), h);
        _mm256_storeu_si256((__m256i *)(lo + i), (__m256i)_mm512_cvtneps_pbh(r));
    }
    if (i < n)
        b4k_mv_prep_bf16(hi + i, lo + i, x + i, n - i);
}

static inline float dot_bf16(const uint16_t *w, const uint16_t *h, const uint16_t *l, int K)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
           a3 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 64 <= K; k += 64) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(w + k);
        __m512bh w1 = (__m512bh)_mm512_loadu_si512(w + k + 32);
        a0 = _mm512_dpbf16_ps(a0, w0, (__m512bh)_mm512_loadu_si512(h + k));
        a1 = _mm512_dpbf16_ps(a1, w0, (__m512bh)_mm512_loadu_si512(l + k));
        a2 = _mm512_dpbf16_ps(a2, w1, (__m512bh)_mm512_loadu_si512(h + k + 32));
        a3 = _mm512_dpbf16_ps(a3, w1, (__m512bh)_mm512_loadu_si512(l + k + 32));
    }
    for (; k < K; k += 32) {
        int n = K - k < 32 ? K - k : 32;
        __mmask32 m = n == 32 ? 0xffffffffu : (__mmask32)((1u << n) - 1);
        __m512bh w0 = (__m512bh)_mm512_maskz_loadu_epi16(m, w + k);
        a0 = _mm512_dpbf16_ps(a0, w0, (__m512bh)_mm512_maskz_loadu_epi16(m, h + k));
        a1 = _mm512_dpbf16_ps(a1, w0, (__m512bh)_mm512_maskz_loadu_epi16(m, l + k));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

void b4k_mv_bf16_avx512bf16(float *out, int ldo, const float *x, const b4k_wmat *w,
                            const float *bias, int T, int r0, int r1, float *scratch, int prep)
{
    int K = w->cols;
    uint16_t *hi = NULL, *lo = NULL;
    int8_t *q = NULL;
    float *d = NULL;
    int ldd = 0;
    b4k_mv_scratch_layout(w, T, scratch, &hi, &lo, &q, &d, &ldd);
    if (prep)
        prep_bf16(hi, lo, x, (size_t)T * K);
    const uint16_t *W = w->data;
    for (int r = r0; r < r1; r++) {
        const uint16_t *wr = W + (size_t)r * K;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] =
                dot_bf16(wr, hi + (size_t)t * K, lo + (size_t)t * K, K) + b;
    }
}

/* ---- q8 ---------------------------------------------------------------- */

static void prep_q8(int8_t *q, float *d, int ldd, const float *x, int T, int K)
{
    int nb = K / B4K_Q8_BLOCK;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < nb; b++) {
            const float *xs = x + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK;
            __m512 v0 = _mm512_loadu_ps(xs), v1 = _mm512_loadu_ps(xs + 16);
            __m512 m = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
            float amax = _mm512_reduce_max_ps(m);
            float dd = amax / 127.0f, id = dd > 0 ? 1.0f / dd : 0.0f;
            d[(size_t)t * ldd + b] = dd;
            __m512 vid = _mm512_set1_ps(id);
            __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, vid),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, vid),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
            i0 = _mm512_max_epi32(_mm512_min_epi32(i0, lim), nlim);
            i1 = _mm512_max_epi32(_mm512_min_epi32(i1, lim), nlim);
            int8_t *qs = q + (size_t)t * K + (size_t)b * B4K_Q8_BLOCK;
            _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(i0));
            _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(i1));
        }
        for (int b = nb; b < ldd; b++)
            d[(size_t)t * ldd + b] = 0;
    }
}

/* sum over blocks of isum(w_b, q_b) * sw_b * dx_b for one row and token. */
static inline float dot_q8(const int8_t *wr, const uint16_t *sc, const int8_t *xq,
                           const float *xd, int nb, const __m512i *idx)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    const __m512i zero = _mm512_setzero_si512();
    for (int b = 0; b < nb; b += 16) {
        int nblk = nb - b < 16 ? nb - b : 16;
        __mmask16 sm = nblk == 16 ? 0xffff : (__mmask16)((1u << nblk) - 1);
        __m512 s = _mm512_mul_ps(
            _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(sm, sc + b)), _mm512_loadu_ps(xd + b));
        const int8_t *wb = wr + (size_t)b * B4K_Q8_BLOCK, *xb = xq + (size_t)b * B4K_Q8_BLOCK;
        int full = nblk / 2, p = 0;
        for (; p + 2 <= full; p += 2) {
            __m512i xv = _mm512_loadu_si512(xb + 64 * p), wv = _mm512_loadu_si512(wb + 64 * p);
            __m512i ws = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), zero, wv);
            __m512i is = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(xv), ws);
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_permutexvar_ps(idx[p], s), acc0);
            xv = _mm512_loadu_si512(xb + 64 * (p + 1));
            wv = _mm512_loadu_si512(wb + 64 * (p + 1));
            ws = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), zero, wv);
            is = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(xv), ws);
            acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_permutexvar_ps(idx[p + 1], s),
                                   acc1);
        }
        for (; p < full + (nblk & 1); p++) {
            __mmask64 lm = p < full ? ~0ULL : 0xffffffffULL;
            __m512i xv = _mm512_maskz_loadu_epi8(lm, xb + 64 * p);
            __m512i wv = _mm512_maskz_loadu_epi8(lm, wb + 64 * p);
            __m512i ws = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), zero, wv);
            __m512i is = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(xv), ws);
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_permutexvar_ps(idx[p], s), acc0);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void b4k_mv_q8_vnni(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
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
    __m512i idx[8];
    for (int p = 0; p < 8; p++) {
        __m256i lo8 = _mm256_set1_epi32(2 * p), hi8 = _mm256_set1_epi32(2 * p + 1);
        idx[p] = _mm512_inserti64x4(_mm512_castsi256_si512(lo8), hi8, 1);
    }
    const int8_t *W = w->data;
    for (int r = r0; r < r1; r++) {
        const int8_t *wr = W + (size_t)r * K;
        const uint16_t *sc = w->scales + (size_t)r * nb;
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < T; t++)
            out[(size_t)t * ldo + r] =
                dot_q8(wr, sc, q + (size_t)t * K, d + (size_t)t * ldd, nb, idx) + b;
    }
}
