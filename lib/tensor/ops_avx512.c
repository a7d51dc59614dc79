/* AVX-512 versions of tensor/ops.h kernels. */
#include <immintrin.h>
#include <math.h>

float b4k_dot_f32_avx512(const float *a, const float *b, int n);
void b4k_axpy_f32_avx512(float *y, float a, const float *x, int n);

float b4k_dot_f32_avx512(const float *a, const float *b, int n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        int k = n - i < 16 ? n - i : 16;
        __mmask16 m = (__mmask16)((1u << k) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void b4k_axpy_f32_avx512(float *y, float a, const float *x, int n)
{
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
                                              _mm512_maskz_loadu_ps(m, y + i)));
    }
}

/* expf on 16 lanes (Cephes polynomial, relative error ~2e-7 on [-87, 88];
 * smaller arguments give ~0, as the softmax needs). */
static inline __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* softmax of sc[0..S) in place, unnormalised: returns 1/sum, folded
 * into the mix by the caller. */
static inline float softmax_unnorm(float *sc, int S)
{
    __m512 mv = _mm512_set1_ps(-INFINITY);
    int s = 0;
    for (; s + 16 <= S; s += 16)
        mv = _mm512_max_ps(mv, _mm512_loadu_ps(sc + s));
    if (s < S)
        mv = _mm512_mask_max_ps(mv, (__mmask16)((1u << (S - s)) - 1), mv,
                                _mm512_maskz_loadu_ps((__mmask16)((1u << (S - s)) - 1), sc + s));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mv)), sum = _mm512_setzero_ps();
    for (s = 0; s + 16 <= S; s += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(sc + s), m));
        _mm512_storeu_ps(sc + s, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (s < S) {
        __mmask16 tm = (__mmask16)((1u << (S - s)) - 1);
        __m512 e = _mm512_maskz_mov_ps(tm, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, sc + s), m)));
        _mm512_mask_storeu_ps(sc + s, tm, e);
        sum = _mm512_add_ps(sum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(sum);
}

/* Sums of 16 vectors: lane j of the result is the sum of a[j]'s lanes
 * (a transpose-and-add tree, 45 instructions for 16 sums). */
static inline __m512 hsum16(const __m512 *a)
{
    __m512 u[8], w[4], z[2];
    for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                             _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d x = _mm512_castps_pd(u[2 * i]), y = _mm512_castps_pd(u[2 * i + 1]);
        w[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    for (int i = 0; i < 2; i++)
        z[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(z[0], z[1], 0x88),
                         _mm512_shuffle_f32x4(z[0], z[1], 0xdd));
}

/* HS <= 128 in nc = ceil(HS/16) vectors, nc a constant at each call so
 * that q, the 16 score accumulators and the output stay in registers:
 * scores 16 keys at a time (vertical sums, one hsum16 per 16 keys instead
 * of a horizontal sum per key), then p V with two accumulator sets (even and
 * odd keys) to halve the FMA latency chain. */
static inline __attribute__((always_inline)) void
attn_small(float *out, float *sc, const float *q, const float *K, const float *V, int HS, int S,
           float scale, const int nc)
{
    const __mmask16 tm = (__mmask16)(HS % 16 ? (1u << (HS % 16)) - 1 : 0xffffu);
#define M(c) ((c) == nc - 1 ? tm : (__mmask16)0xffff)
    __m512 qv[8];
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++)
        qv[c] = _mm512_maskz_loadu_ps(M(c), q + 16 * c);
    const __m512 vscale = _mm512_set1_ps(scale);
    int s = 0;
    for (; s + 16 <= S; s += 16) {
        const float *k = K + (size_t)s * HS;
        __m512 a[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            a[j] = _mm512_mul_ps(qv[0], _mm512_maskz_loadu_ps(M(0), k + (size_t)j * HS));
#pragma GCC unroll 8
        for (int c = 1; c < nc; c++)
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                a[j] = _mm512_fmadd_ps(qv[c], _mm512_maskz_loadu_ps(M(c), k + (size_t)j * HS + 16 * c),
                                       a[j]);
        _mm512_storeu_ps(sc + s, _mm512_mul_ps(hsum16(a), vscale));
    }
    for (; s < S; s++) {
        const float *k = K + (size_t)s * HS;
        __m512 a = _mm512_mul_ps(qv[0], _mm512_maskz_loadu_ps(M(0), k));
#pragma GCC unroll 8
        for (int c = 1; c < nc; c++)
            a = _mm512_fmadd_ps(qv[c], _mm512_maskz_loadu_ps(M(c), k + 16 * c), a);
        sc[s] = _mm512_reduce_add_ps(a) * scale;
    }
    float inv = softmax_unnorm(sc, S);
    __m512 a0[8], a1[8];
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++)
        a0[c] = a1[c] = _mm512_setzero_ps();
    int t = 0;
    for (; t + 2 <= S; t += 2) {
        __m512 p0 = _mm512_set1_ps(sc[t] * inv), p1 = _mm512_set1_ps(sc[t + 1] * inv);
        const float *v = V + (size_t)t * HS;
#pragma GCC unroll 8
        for (int c = 0; c < nc; c++) {
            a0[c] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(M(c), v + 16 * c), a0[c]);
            a1[c] = _mm512_fmadd_ps(p1, _mm512_maskz_loadu_ps(M(c), v + HS + 16 * c), a1[c]);
        }
    }
    if (t < S) {
        __m512 p0 = _mm512_set1_ps(sc[t] * inv);
#pragma GCC unroll 8
        for (int c = 0; c < nc; c++)
            a0[c] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(M(c), V + (size_t)t * HS + 16 * c),
                                    a0[c]);
    }
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++)
        _mm512_mask_storeu_ps(out + 16 * c, M(c), _mm512_add_ps(a0[c], a1[c]));
#undef M
}

void b4k_attn_row_f32_avx512(float *out, float *sc, const float *q, const float *K,
                             const float *V, int HS, int S, float scale);
void b4k_attn_row_f32_avx512(float *out, float *sc, const float *q, const float *K,
                             const float *V, int HS, int S, float scale)
{
    /* HS <= 128 (GPT-2 64, CPM 80): q, scores and output in registers,
     * the vector count a constant in each copy */
    switch ((HS + 15) / 16) {
    case 1: attn_small(out, sc, q, K, V, HS, S, scale, 1); return;
    case 2: attn_small(out, sc, q, K, V, HS, S, scale, 2); return;
    case 3: attn_small(out, sc, q, K, V, HS, S, scale, 3); return;
    case 4: attn_small(out, sc, q, K, V, HS, S, scale, 4); return;
    case 5: attn_small(out, sc, q, K, V, HS, S, scale, 5); return;
    case 6: attn_small(out, sc, q, K, V, HS, S, scale, 6); return;
    case 7: attn_small(out, sc, q, K, V, HS, S, scale, 7); return;
    case 8: attn_small(out, sc, q, K, V, HS, S, scale, 8); return;
    default: break;
    }
    for (int s = 0; s < S; s++)
        sc[s] = b4k_dot_f32_avx512(q, K + (size_t)s * HS, HS) * scale;
    float inv = softmax_unnorm(sc, S);
    /* out = sum_s p[s] V[s], up to 8 vectors of out in registers per pass */
    for (int c0 = 0; c0 < HS; c0 += 128) {
        int w = HS - c0 < 128 ? HS - c0 : 128, nc = (w + 15) / 16;
        __mmask16 tm = (__mmask16)(w % 16 ? (1u << (w % 16)) - 1 : 0xffffu);
        __m512 acc[8];
        for (int c = 0; c < 8; c++)
            acc[c] = _mm512_setzero_ps();
        for (int t = 0; t < S; t++) {
            __m512 p = _mm512_set1_ps(sc[t] * inv);
            const float *v = V + (size_t)t * HS + c0;
            for (int c = 0; c < nc; c++)
                acc[c] = _mm512_fmadd_ps(
                    p, _mm512_maskz_loadu_ps(c == nc - 1 ? tm : 0xffff, v + 16 * c), acc[c]);
        }
        for (int c = 0; c < nc; c++)
            _mm512_mask_storeu_ps(out + c0 + 16 * c, c == nc - 1 ? tm : 0xffff, acc[c]);
    }
}
