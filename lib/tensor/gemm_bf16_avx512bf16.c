/* The AVX512-BF16 GEMM behind b4k_gemm_bf16 (gemm_bf16.h has the
 * arithmetic; b4k_gemm_bf16_ref is the scalar twin).  Built with
 * -mavx512bf16; b4k_gemm_bf16 calls it only when the CPU has the feature.
 *
 * vdpbf16ps multiplies bf16 pairs: lane j of acc += x[2j]*y[2j] +
 * x[2j+1]*y[2j+1].  A "unit" below is one such pair, a 32-bit word holding
 * (v[k], v[k+1]) for an even k, low half first.
 *
 * Packed panels (uint32 units, zero-padded past M, N and K):
 *   A: per block of kcp k-pairs, for each 12-row panel: [kcp][12] units
 *      (SPLIT_A: [kcp][24], the 12 hi units then the 12 lo units);
 *      one unit is broadcast to all 16 lanes.
 *   B: per 32-column panel: [kcp][32] units, loaded as two vectors.
 * Micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators.
 * Blocks (GotoBLAS order, per thread rectangle of C):
 *   for 1536-column slices: for k blocks: pack B (L3) ; for 144-row slices:
 *   pack A (L2) ; for each 32-column panel (L1) : for each 12-row panel :
 *   micro-kernel. */
#include <immintrin.h>

#include "tensor/gemm_bf16.h"
#include "tensor/gemm_bf16_kern.h"

#define MR B4K_GBF_MR
#define NR B4K_GBF_NR
#define MC B4K_GBF_MC
#define NC B4K_GBF_NC

static inline __mmask16 mask16(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static inline int imin(int a, int b) { return a < b ? a : b; }

/* In: r[i] = row i (16 units).  Out: r[c] = column c. */
static inline __attribute__((always_inline)) void tr16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* ---- row loaders ----------------------------------------------------------
 * "along": 16 units of one row that is contiguous in k, from x = &row[k0],
 * nk = values left in the row (may be <= 0).
 * "across": 16 units from two rows k, k+1 (r1 may be NULL) of a matrix
 * that is contiguous in m or n, n = columns left. */

static inline __m512 bf_to_ps(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline __m512i along_f32(const float *x, int nk)
{
    __m512 v0 = _mm512_maskz_loadu_ps(mask16(nk), x);
    __m512 v1 = _mm512_maskz_loadu_ps(mask16(nk - 16), x + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
}

static inline void along_f32_split(const float *x, int nk, __m512i *hi, __m512i *lo)
{
    __m512 v0 = _mm512_maskz_loadu_ps(mask16(nk), x);
    __m512 v1 = _mm512_maskz_loadu_ps(mask16(nk - 16), x + 16);
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
    __m512 h0 = bf_to_ps(_mm512_castsi512_si256(h)), h1 = bf_to_ps(_mm512_extracti64x4_epi64(h, 1));
    *hi = h;
    *lo = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, h1), _mm512_sub_ps(v0, h0));
}

static inline __m512i along_bf16(const uint16_t *x, int nk)
{
    __mmask32 m = nk >= 32 ? 0xffffffffu : nk <= 0 ? 0u : (__mmask32)((1u << nk) - 1);
    return _mm512_maskz_loadu_epi16(m, x);
}

static inline __m512i widen(__m256i h) { return _mm512_cvtepu16_epi32(h); }

static inline __m512i across_f32(const float *r0, const float *r1, int n)
{
    __mmask16 m = mask16(n);
    __m512i a = widen((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r0)));
    if (!r1)
        return a;
    __m512i b = widen((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r1)));
    return _mm512_or_si512(a, _mm512_slli_epi32(b, 16));
}

static inline void across_f32_split(const float *r0, const float *r1, int n, __m512i *hi,
                                    __m512i *lo)
{
    __mmask16 m = mask16(n);
    __m512 x0 = _mm512_maskz_loadu_ps(m, r0);
    __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
    __m256i h0 = (__m256i)_mm512_cvtneps_pbh(x0), h1 = (__m256i)_mm512_cvtneps_pbh(x1);
    __m256i l0 = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(x0, bf_to_ps(h0)));
    __m256i l1 = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(x1, bf_to_ps(h1)));
    *hi = _mm512_or_si512(widen(h0), _mm512_slli_epi32(widen(h1), 16));
    *lo = _mm512_or_si512(widen(l0), _mm512_slli_epi32(widen(l1), 16));
}

static inline __m512i across_bf16(const uint16_t *r0, const uint16_t *r1, int n)
{
    __mmask16 m = mask16(n);
    __m512i a = widen(_mm256_maskz_loadu_epi16(m, r0));
    if (!r1)
        return a;
    return _mm512_or_si512(a, _mm512_slli_epi32(widen(_mm256_maskz_loadu_epi16(m, r1)), 16));
}

/* ---- packing ---------------------------------------------------------------- */

/* op(A) rows [m0, m0+mr), k pairs [p0, p0+kcp) -> dst [kcp][S] units. */
static void pack_a(uint32_t *dst, const b4k_gbf_job *j, int m0, int mr, int p0, int kcp)
{
    const int split = j->flags & B4K_GEMM_SPLIT_A, S = split ? 2 * MR : MR, K = j->K;
    const __mmask16 st = mask16(MR);
    const float *A = j->A;
    size_t lda = (size_t)j->lda;
    if (!(j->flags & B4K_GEMM_TA)) {
        for (int c = 0; c < kcp; c += 16) {
            int k0 = 2 * (p0 + c), nk = K - k0, np = imin(16, kcp - c);
            __m512i h[16], l[16];
            for (int i = 0; i < 16; i++) {
                h[i] = l[i] = _mm512_setzero_si512();
                if (i >= mr)
                    continue;
                const float *x = A + (size_t)(m0 + i) * lda + k0;
                if (split)
                    along_f32_split(x, nk, &h[i], &l[i]);
                else
                    h[i] = along_f32(x, nk);
            }
            tr16(h);
            if (split)
                tr16(l);
            for (int q = 0; q < np; q++) {
                _mm512_mask_storeu_epi32(dst + (size_t)(c + q) * S, st, h[q]);
                if (split)
                    _mm512_mask_storeu_epi32(dst + (size_t)(c + q) * S + MR, st, l[q]);
            }
        }
    } else {
        for (int c = 0; c < kcp; c++) {
            int k = 2 * (p0 + c);
            const float *r0 = k < K ? A + (size_t)k * lda + m0 : NULL;
            const float *r1 = k + 1 < K ? r0 + lda : NULL;
            uint32_t *d = dst + (size_t)c * S;
            if (!r0) {
                _mm512_mask_storeu_epi32(d, st, _mm512_setzero_si512());
                if (split)
                    _mm512_mask_storeu_epi32(d + MR, st, _mm512_setzero_si512());
            } else if (split) {
                __m512i hi, lo;
                across_f32_split(r0, r1, mr, &hi, &lo);
                _mm512_mask_storeu_epi32(d, st, hi);
                _mm512_mask_storeu_epi32(d + MR, st, lo);
            } else {
                _mm512_mask_storeu_epi32(d, st, across_f32(r0, r1, mr));
            }
        }
    }
}

/* Prefetch distance of pack_b, in chunks of 32 k (one line of bf16). */
#define PF_CHUNKS 4

/* op(B) columns [n0, n0+nr), k pairs [p0, p0+kcp) -> dst [kcp][NR] units. */
static void pack_b(uint32_t *dst, const b4k_gbf_job *j, int n0, int nr, int p0, int kcp)
{
    const int K = j->K, bf = j->flags & B4K_GEMM_BBF16;
    size_t ldb = (size_t)j->ldb;
    if (j->flags & B4K_GEMM_TB) {
        for (int c = 0; c < kcp; c += 16) {
            int k0 = 2 * (p0 + c), nk = K - k0, np = imin(16, kcp - c);
            for (int g = 0; g < NR; g += 16) {
                __m512i r[16];
                for (int i = 0; i < 16; i++) {
                    /* the weights stream from memory: 32 rows at once are
                     * too many streams for the hardware prefetcher */
                    if (g + i >= nr) {
                        r[i] = _mm512_setzero_si512();
                    } else if (bf) {
                        const uint16_t *x = (const uint16_t *)j->B + (size_t)(n0 + g + i) * ldb + k0;
                        _mm_prefetch((const char *)(x + PF_CHUNKS * 32), _MM_HINT_T0);
                        r[i] = along_bf16(x, nk);
                    } else {
                        const float *x = (const float *)j->B + (size_t)(n0 + g + i) * ldb + k0;
                        _mm_prefetch((const char *)(x + PF_CHUNKS * 32), _MM_HINT_T0);
                        _mm_prefetch((const char *)(x + PF_CHUNKS * 32 + 16), _MM_HINT_T0);
                        r[i] = along_f32(x, nk);
                    }
                }
                tr16(r);
                for (int q = 0; q < np; q++)
                    _mm512_store_si512(dst + (size_t)(c + q) * NR + g, r[q]);
            }
        }
    } else {
        for (int c = 0; c < kcp; c++) {
            int k = 2 * (p0 + c);
            uint32_t *d = dst + (size_t)c * NR;
            for (int g = 0; g < NR; g += 16) {
                __m512i u = _mm512_setzero_si512();
                if (k < K && g < nr) {
                    size_t o = (size_t)k * ldb + n0 + g;
                    if (bf) {
                        const uint16_t *r0 = (const uint16_t *)j->B + o;
                        u = across_bf16(r0, k + 1 < K ? r0 + ldb : NULL, nr - g);
                    } else {
                        const float *r0 = (const float *)j->B + o;
                        u = across_f32(r0, k + 1 < K ? r0 + ldb : NULL, nr - g);
                    }
                }
                _mm512_store_si512(d + g, u);
            }
        }
    }
}

/* ---- prefetch of the next B panel ----------------------------------------------
 * While the kernels of one 32-column panel run, they touch the raw rows of
 * the next panel a cache line at a time, so that its packing reads cache. */

typedef struct pfw {
    const char *base;
    size_t stride; /* bytes between rows */
    int lpr;       /* lines per row */
    int nrows, row, col;
} pfw;

/* The raw lines pack_b reads for columns [n0, n0+nr), pairs [p0, p0+kcp). */
static void pfw_init(pfw *w, const b4k_gbf_job *j, int n0, int nr, int p0, int kcp)
{
    size_t es = j->flags & B4K_GEMM_BBF16 ? 2 : 4, ldb = (size_t)j->ldb;
    int k0 = 2 * p0, k1 = imin(j->K, k0 + 2 * kcp);
    const char *B = j->B;
    const char *first;
    size_t span;
    if (j->flags & B4K_GEMM_TB) {
        first = B + ((size_t)n0 * ldb + k0) * es;
        span = (size_t)(k1 - k0) * es;
        w->nrows = nr;
    } else {
        first = B + ((size_t)k0 * ldb + n0) * es;
        span = (size_t)nr * es;
        w->nrows = k1 - k0;
    }
    size_t mis = (uintptr_t)first & 63;
    w->base = first - mis;
    w->stride = ldb * es;
    w->lpr = (int)((mis + span + 63) / 64);
    w->row = w->col = 0;
}

/* ---- micro-kernel ------------------------------------------------------------- */

static inline __attribute__((always_inline)) void
kern(int kcp, const uint32_t *a, const uint32_t *b, float *c, int ldc, int mr, int nr,
     float alpha, float beta, int first, pfw *pf, int npf, const int split)
{
    const int S = split ? 2 * MR : MR;
    /* prefetch walker in registers: one line every other k pair */
    const char *pb = pf ? pf->base + (size_t)pf->row * pf->stride : NULL;
    int prow = pf ? pf->row : 0, pcol = pf ? pf->col : 0;
    if (pf && prow >= pf->nrows)
        npf = 0;
    __m512 acc[MR][2];
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
    {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kcp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR);
        __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR + 16);
        const uint32_t *ap = a + (size_t)p * S;
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
        {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, av);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], b1, av);
        }
        if (split) {
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
            {
                __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[MR + i]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, av);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], b1, av);
            }
        }
        if ((p & 1) && npf > 0) {
            _mm_prefetch(pb + (size_t)pcol * 64, _MM_HINT_T0);
            npf--;
            if (++pcol == pf->lpr) {
                pcol = 0;
                pb += pf->stride;
                if (++prow == pf->nrows)
                    npf = 0;
            }
        }
    }
    if (pf) {
        pf->row = prow;
        pf->col = pcol;
    }
    const __mmask16 m0 = mask16(nr), m1 = mask16(nr - 16);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)
    {
        if (i >= mr)
            break;
        float *ci = c + (size_t)i * ldc;
        __m512 t0, t1;
        if (!first) { /* C + alpha*s, one rounding (the _ref's fmaf) */
            t0 = _mm512_fmadd_ps(acc[i][0], va, _mm512_maskz_loadu_ps(m0, ci));
            t1 = _mm512_fmadd_ps(acc[i][1], va, _mm512_maskz_loadu_ps(m1, ci + 16));
        } else {
            t0 = _mm512_mul_ps(acc[i][0], va);
            t1 = _mm512_mul_ps(acc[i][1], va);
            if (beta != 0.0f) {
                t0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), t0);
                t1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), t1);
            }
        }
        _mm512_mask_storeu_ps(ci, m0, t0);
        _mm512_mask_storeu_ps(ci + 16, m1, t1);
    }
}

static void kern_plain(int kcp, const uint32_t *a, const uint32_t *b, float *c, int ldc, int mr,
                       int nr, float alpha, float beta, int first, pfw *pf, int npf)
{
    kern(kcp, a, b, c, ldc, mr, nr, alpha, beta, first, pf, npf, 0);
}

static void kern_split(int kcp, const uint32_t *a, const uint32_t *b, float *c, int ldc, int mr,
                       int nr, float alpha, float beta, int first, pfw *pf, int npf)
{
    kern(kcp, a, b, c, ldc, mr, nr, alpha, beta, first, pf, npf, 1);
}

typedef void (*kern_fn)(int, const uint32_t *, const uint32_t *, float *, int, int, int, float,
                        float, int, pfw *, int);

/* ---- blocked driver ------------------------------------------------------------- */

void b4k_gbf_rect_avx512bf16(const b4k_gbf_job *j, int m0, int m1, int n0, int n1, void *work)
{
    const int split = j->flags & B4K_GEMM_SPLIT_A, S = split ? 2 * MR : MR;
    const int kp = (j->K + 1) / 2, kcpn = j->kcp;
    if (m1 <= m0 || n1 <= n0 || kp == 0)
        return;
    int mcap = imin(MC, (m1 - m0 + MR - 1) / MR * MR);
    uint32_t *abuf = work;
    uint32_t *bbuf = abuf + (((size_t)mcap * kcpn * (split ? 2 : 1) + 15) & ~(size_t)15);
    kern_fn kf = split ? kern_split : kern_plain;
    const int one_mc = m1 - m0 <= MC;
    for (int jc = n0; jc < n1; jc += NC) {
        int nc = imin(NC, n1 - jc);
        for (int p0 = 0; p0 < kp; p0 += kcpn) {
            int kcp = imin(kcpn, kp - p0), first = p0 == 0;
            if (one_mc) {
                /* A packed once; each B panel packed just before its
                 * kernels, which prefetch the raw lines of the next one */
                int mc = m1 - m0, nmp = (mc + MR - 1) / MR;
                for (int ir = 0; ir < mc; ir += MR)
                    pack_a(abuf + (size_t)(ir / MR) * kcp * S, j, m0 + ir, imin(MR, mc - ir), p0, kcp);
                for (int jr = 0; jr < nc; jr += NR) {
                    pack_b(bbuf, j, jc + jr, imin(NR, nc - jr), p0, kcp);
                    pfw pf, *ppf = NULL;
                    int quota = 0;
                    if (jr + NR < nc) {
                        pfw_init(&pf, j, jc + jr + NR, imin(NR, nc - jr - NR), p0, kcp);
                        ppf = &pf;
                        quota = (pf.nrows * pf.lpr + nmp - 1) / nmp;
                    }
                    for (int ir = 0; ir < mc; ir += MR)
                        kf(kcp, abuf + (size_t)(ir / MR) * kcp * S, bbuf,
                           j->C + (size_t)(m0 + ir) * j->ldc + jc + jr, j->ldc, imin(MR, mc - ir),
                           imin(NR, nc - jr), j->alpha, j->beta, first, ppf, quota);
                }
                continue;
            }
            for (int jr = 0; jr < nc; jr += NR)
                pack_b(bbuf + (size_t)(jr / NR) * kcp * NR, j, jc + jr, imin(NR, nc - jr), p0, kcp);
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = imin(MC, m1 - ic);
                for (int ir = 0; ir < mc; ir += MR)
                    pack_a(abuf + (size_t)(ir / MR) * kcp * S, j, ic + ir, imin(MR, mc - ir), p0, kcp);
                for (int jr = 0; jr < nc; jr += NR) {
                    const uint32_t *bp = bbuf + (size_t)(jr / NR) * kcp * NR;
                    for (int ir = 0; ir < mc; ir += MR)
                        kf(kcp, abuf + (size_t)(ir / MR) * kcp * S, bp,
                           j->C + (size_t)(ic + ir) * j->ldc + jc + jr, j->ldc, imin(MR, mc - ir),
                           imin(NR, nc - jr), j->alpha, j->beta, first, NULL, 0);
                }
            }
        }
    }
}
