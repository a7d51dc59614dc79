/* AVX2 + F16C conversion kernels; bit-identical to the _ref twins in
 * dtype.c (checked by test/unit/test_dtype.c with B4K_CPU=scalar too). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "tensor/dtype.h"

void b4k_f32_to_f16_row_avx2(uint16_t *out, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(out + i), h);
    }
    for (; i < n; i++)
        out[i] = b4k_f32_to_f16(x[i]);
}

void b4k_f16_to_f32_row_avx2(float *out, const uint16_t *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++)
        out[i] = b4k_f16_to_f32(x[i]);
}

static inline __m256i bf16_round(__m256 v)
{
    __m256i x = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb), 16);
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7fc0), nan);
}

void b4k_f32_to_bf16_row_avx2(uint16_t *out, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = bf16_round(_mm256_loadu_ps(x + i));
        __m256i b = bf16_round(_mm256_loadu_ps(x + i + 8));
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        _mm256_storeu_si256((__m256i *)(out + i), p);
    }
    for (; i < n; i++)
        out[i] = b4k_f32_to_bf16(x[i]);
}

/* One block of 32 values (zero padded by the caller when short). */
static void q8_block(int8_t *q, uint16_t *dh_out, const float *x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(_mm256_andnot_ps(sign, v[j]), m); /* NaN lanes keep m */
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    float amax = _mm_cvtss_f32(h);
    uint16_t dh = b4k_f32_to_f16(amax / 127.0f);
    float ds = b4k_f16_to_f32(dh);
    *dh_out = dh;
    if (ds == 0.0f) {
        memset(q, 0, 32);
        return;
    }
    const __m256 vd = _mm256_set1_ps(ds), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    __m256i iv[4];
    for (int j = 0; j < 4; j++) {
        __m256 r = _mm256_round_ps(_mm256_div_ps(v[j], vd), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q)); /* NaN -> 0 */
        r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
        iv[j] = _mm256_cvtps_epi32(r);
    }
    __m256i p16a = _mm256_packs_epi32(iv[0], iv[1]); /* lanes interleaved */
    __m256i p16b = _mm256_packs_epi32(iv[2], iv[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p8);
}

void b4k_q8_quantize_avx2(void *out, const float *x, size_t rows, size_t k)
{
    size_t kp = b4k_q8_kpad(k), nb = kp / B4K_Q8_BLOCK;
    int8_t *q = (int8_t *)out;
    uint8_t *sc = (uint8_t *)out + rows * kp;
    float tmp[B4K_Q8_BLOCK];
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        for (size_t b = 0; b < nb; b++) {
            size_t lo = b * B4K_Q8_BLOCK;
            const float *src = xr + lo;
            uint16_t dh;
            if (lo + B4K_Q8_BLOCK > k) {
                memset(tmp, 0, sizeof tmp);
                memcpy(tmp, src, (k - lo) * sizeof(float));
                src = tmp;
            }
            q8_block(q + r * kp + lo, &dh, src);
            memcpy(sc + (r * nb + b) * 2, &dh, 2);
        }
    }
}
