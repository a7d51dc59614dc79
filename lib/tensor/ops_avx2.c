/* AVX2/FMA versions of tensor/ops.h kernels. */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

float b4k_dot_f32_avx2(const float *a, const float *b, int n);
void b4k_axpy_f32_avx2(float *y, float a, const float *x, int n);

float b4k_dot_f32_avx2(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s0 = _mm256_add_ps(s0, s1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float r = _mm_cvtss_f32(s);
    for (; i < n; i++)
        r += a[i] * b[i];
    return r;
}

void b4k_axpy_f32_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* expf for AVX2 (Cephes polynomial, relative error ~2e-7 on [-87, 88]). */
static inline __m256 exp256(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void b4k_gelu_tanh_f32_avx2(float *out, const float *x, size_t n);
void b4k_gelu_tanh_f32_avx2(float *out, const float *x, size_t n)
{
    const __m256 k = _mm256_set1_ps(0.7978845608028654f * 2.0f), c = _mm256_set1_ps(0.044715f),
                 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f), two = _mm256_set1_ps(2.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, v), _mm256_mul_ps(v, v), v));
        /* 1 + tanh(u/2) = 2 - 2/(exp(u)+1) */
        __m256 t = _mm256_sub_ps(two, _mm256_div_ps(two, _mm256_add_ps(exp256(u), one)));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(half, v), t));
    }
    for (; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    }
}

static inline __m256i tail_mask8(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* exp(sc - max) in place; returns 1 / their sum */
static float softmax_unnorm(float *sc, int S)
{
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int s = 0;
    for (; s + 8 <= S; s += 8)
        mv = _mm256_max_ps(mv, _mm256_loadu_ps(sc + s));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float mx = _mm_cvtss_f32(h);
    for (; s < S; s++)
        mx = sc[s] > mx ? sc[s] : mx;
    __m256 m = _mm256_set1_ps(mx), sum = _mm256_setzero_ps();
    for (s = 0; s + 8 <= S; s += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(sc + s), m));
        _mm256_storeu_ps(sc + s, e);
        sum = _mm256_add_ps(sum, e);
    }
    float tot = hsum256(sum);
    for (; s < S; s++) {
        sc[s] = expf(sc[s] - mx);
        tot += sc[s];
    }
    return 1.0f / tot;
}

/* The four lane sums of a, b, c, d. */
static inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* HS <= 80 in nc = ceil(HS/8) vectors, nc a constant at each call so that q
 * (up to 10 registers) stays in registers: scores 4 keys per pass with
 * vertical sums and one hadd tree per 4 keys (the per-key loop below reloads
 * q and sums horizontally per key), then p V from plain loads, with two
 * accumulator sets (even and odd keys) while they fit in 16 registers. Only
 * the last vector of a row is a masked load, and only when HS % 8 != 0. */
static inline __attribute__((always_inline)) void
attn_small(float *out, float *sc, const float *q, const float *K, const float *V, int HS, int S,
           float scale, const int nc)
{
    const int tail = HS % 8;
    const __m256i tm = tail_mask8(tail ? tail : 8);
#define LD(p, c) ((c) == nc - 1 && tail ? _mm256_maskload_ps((p), tm) : _mm256_loadu_ps(p))
    __m256 qv[10];
#pragma GCC unroll 10
    for (int c = 0; c < nc; c++)
        qv[c] = LD(q + 8 * c, c);
    const __m128 vscale = _mm_set1_ps(scale);
    int s = 0;
    for (; s + 4 <= S; s += 4) {
        const float *k = K + (size_t)s * HS;
        __m256 a[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            a[j] = _mm256_mul_ps(qv[0], LD(k + (size_t)j * HS, 0));
#pragma GCC unroll 10
        for (int c = 1; c < nc; c++)
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                a[j] = _mm256_fmadd_ps(qv[c], LD(k + (size_t)j * HS + 8 * c, c), a[j]);
        _mm_storeu_ps(sc + s, _mm_mul_ps(hsum4(a[0], a[1], a[2], a[3]), vscale));
    }
    for (; s < S; s++) {
        const float *k = K + (size_t)s * HS;
        __m256 a = _mm256_mul_ps(qv[0], LD(k, 0));
#pragma GCC unroll 10
        for (int c = 1; c < nc; c++)
            a = _mm256_fmadd_ps(qv[c], LD(k + 8 * c, c), a);
        sc[s] = hsum256(a) * scale;
    }
    float inv = softmax_unnorm(sc, S);
    const int two = nc <= 5;
    __m256 a0[10], a1[10];
#pragma GCC unroll 10
    for (int c = 0; c < nc; c++)
        a0[c] = a1[c] = _mm256_setzero_ps();
    int t = 0;
    if (two)
        for (; t + 2 <= S; t += 2) {
            __m256 p0 = _mm256_set1_ps(sc[t] * inv), p1 = _mm256_set1_ps(sc[t + 1] * inv);
            const float *v = V + (size_t)t * HS;
#pragma GCC unroll 10
            for (int c = 0; c < nc; c++) {
                a0[c] = _mm256_fmadd_ps(p0, LD(v + 8 * c, c), a0[c]);
                a1[c] = _mm256_fmadd_ps(p1, LD(v + HS + 8 * c, c), a1[c]);
            }
        }
    for (; t < S; t++) {
        __m256 p0 = _mm256_set1_ps(sc[t] * inv);
        const float *v = V + (size_t)t * HS;
#pragma GCC unroll 10
        for (int c = 0; c < nc; c++)
            a0[c] = _mm256_fmadd_ps(p0, LD(v + 8 * c, c), a0[c]);
    }
#pragma GCC unroll 10
    for (int c = 0; c < nc; c++) {
        __m256 r = two ? _mm256_add_ps(a0[c], a1[c]) : a0[c];
        if (c == nc - 1 && tail)
            _mm256_maskstore_ps(out + 8 * c, tm, r);
        else
            _mm256_storeu_ps(out + 8 * c, r);
    }
#undef LD
}

void b4k_attn_row_f32_avx2(float *out, float *sc, const float *q, const float *K,
                           const float *V, int HS, int S, float scale);
void b4k_attn_row_f32_avx2(float *out, float *sc, const float *q, const float *K,
                           const float *V, int HS, int S, float scale)
{
    /* HS <= 80 (GPT-2 64, CPM 80): the register-resident copies */
    switch ((HS + 7) / 8) {
    case 1: attn_small(out, sc, q, K, V, HS, S, scale, 1); return;
    case 2: attn_small(out, sc, q, K, V, HS, S, scale, 2); return;
    case 3: attn_small(out, sc, q, K, V, HS, S, scale, 3); return;
    case 4: attn_small(out, sc, q, K, V, HS, S, scale, 4); return;
    case 5: attn_small(out, sc, q, K, V, HS, S, scale, 5); return;
    case 6: attn_small(out, sc, q, K, V, HS, S, scale, 6); return;
    case 7: attn_small(out, sc, q, K, V, HS, S, scale, 7); return;
    case 8: attn_small(out, sc, q, K, V, HS, S, scale, 8); return;
    case 9: attn_small(out, sc, q, K, V, HS, S, scale, 9); return;
    case 10: attn_small(out, sc, q, K, V, HS, S, scale, 10); return;
    default: break;
    }
    int nc = (HS + 7) / 8, tail = HS % 8 ? HS % 8 : 8;
    __m256i tm = tail_mask8(tail), full = _mm256_set1_epi32(-1);
    for (int s = 0; s < S; s++) {
        const float *k = K + (size_t)s * HS;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int c = 0; c < nc; c++) {
            __m256i m = c == nc - 1 ? tm : full;
            __m256 p = _mm256_mul_ps(_mm256_maskload_ps(q + 8 * c, m), _mm256_maskload_ps(k + 8 * c, m));
            if (c & 1)
                a1 = _mm256_add_ps(a1, p);
            else
                a0 = _mm256_add_ps(a0, p);
        }
        sc[s] = hsum256(_mm256_add_ps(a0, a1)) * scale;
    }
    float inv = softmax_unnorm(sc, S);
    for (int c0 = 0; c0 < HS; c0 += 64) {
        int w = HS - c0 < 64 ? HS - c0 : 64, n8 = (w + 7) / 8;
        __m256i wm = tail_mask8(w % 8 ? w % 8 : 8);
        __m256 acc[8];
        for (int c = 0; c < 8; c++)
            acc[c] = _mm256_setzero_ps();
        for (int t = 0; t < S; t++) {
            __m256 p = _mm256_set1_ps(sc[t] * inv);
            const float *v = V + (size_t)t * HS + c0;
            for (int c = 0; c < n8; c++)
                acc[c] = _mm256_fmadd_ps(p, _mm256_maskload_ps(v + 8 * c, c == n8 - 1 ? wm : full), acc[c]);
        }
        for (int c = 0; c < n8; c++)
            _mm256_maskstore_ps(out + c0 + 8 * c, c == n8 - 1 ? wm : full, acc[c]);
    }
}
