/* Hot kernels of crf1d.c, compiled twice: crf1d.c includes this file with
 * KN(name) = name_ref (portable), crf1d_avx2.c with KN(name) = name_avx2
 * (AVX2 + FMA, vectorised over labels).  Public entry points in crf1d.c
 * dispatch at run time (B4K_CPU=scalar forces the portable twin). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "crf/crf1d.h"

int b4k_crf1d_vreserve(b4k_crf1d_ws *ws, size_t T, int K);

/* out[j] = exp(in[j] - m); the AVX2 build uses glibc's vector exp
 * (libmvec, within 4 ulp) four at a time */
#ifdef KERN_FAST_EXP
#include <immintrin.h>
__m256d _ZGVdN4v_exp(__m256d x);
#endif
static void KN(vexp_shift)(double *restrict out, const double *restrict in, double m, int L)
{
    int j = 0;
#ifdef KERN_FAST_EXP
    const __m256d mv = _mm256_set1_pd(m);
    for (; j + 4 <= L; j += 4)
        _mm256_storeu_pd(out + j, _ZGVdN4v_exp(_mm256_sub_pd(_mm256_loadu_pd(in + j), mv)));
#endif
    for (; j < L; j++)
        out[j] = exp(in[j] - m);
}

int KN(b4k_crf1d_fb)(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                 double *logz)
{
    const int L = ws->L;
    if (T == 0 || L != tr->L)
        return B4K_EINVAL;
    int rc = b4k_crf1d_ws_reserve(ws, T);
    if (rc)
        return rc;
    ws->T = (int)T;
    double *restrict E = ws->eemit, *restrict A = ws->alpha, *restrict B = ws->beta;
    double *restrict S = ws->scale;
    const double *restrict W = tr->etrans;
    double lz = 0;
    for (size_t t = 0; t < T; t++) {
        const double *e = emit + t * L;
        double m = e[0];
        for (int j = 1; j < L; j++)
            m = e[j] > m ? e[j] : m;
        ws->emax[t] = m;
        KN(vexp_shift)(E + t * L, e, m, L);
        lz += m;
    }
    /* forward */
    double sum = 0;
    for (int j = 0; j < L; j++) {
        A[j] = tr->estart[j] * E[j];
        sum += A[j];
    }
    if (!(sum > 0))
        goto none;
    S[0] = 1.0 / sum;
    for (int j = 0; j < L; j++)
        A[j] *= S[0];
    for (size_t t = 1; t < T; t++) {
        const double *restrict ap = A + (t - 1) * L;
        double *restrict a = A + t * L;
        for (int j = 0; j < L; j++)
            a[j] = 0;
        for (int i = 0; i < L; i++) {
            const double ai = ap[i];
            if (ai == 0)
                continue;
            const double *restrict w = W + (size_t)i * L;
            for (int j = 0; j < L; j++)
                a[j] += ai * w[j];
        }
        const double *restrict ee = E + t * L;
        sum = 0;
        for (int j = 0; j < L; j++) {
            a[j] *= ee[j];
            sum += a[j];
        }
        if (!(sum > 0))
            goto none;
        S[t] = 1.0 / sum;
        for (int j = 0; j < L; j++)
            a[j] *= S[t];
    }
    double zend = 0;
    const double *al = A + (T - 1) * L;
    for (int j = 0; j < L; j++)
        zend += al[j] * tr->eend[j];
    if (!(zend > 0))
        goto none;
    for (size_t t = 0; t < T; t++)
        lz -= log(S[t]);
    lz += log(zend) + (double)(T - 1) * tr->tmax + tr->smax + tr->emax;
    /* backward */
    double *bl = B + (T - 1) * L;
    for (int j = 0; j < L; j++)
        bl[j] = tr->eend[j] * S[T - 1] / zend;
    double *restrict tmp = ws->tmp;
    for (size_t t = T - 1; t-- > 0;) {
        const double *restrict bn = B + (t + 1) * L;
        const double *restrict en = E + (t + 1) * L;
        double *restrict b = B + t * L;
        for (int j = 0; j < L; j++)
            tmp[j] = bn[j] * en[j];
        for (int i = 0; i < L; i++) {
            const double *restrict w = W + (size_t)i * L;
            double s = 0;
            for (int j = 0; j < L; j++)
                s += w[j] * tmp[j];
            b[i] = s * S[t];
        }
    }
    ws->logz = lz;
    *logz = lz;
    return 0;
none:
    ws->logz = -INFINITY;
    *logz = -INFINITY;
    return B4K_ERANGE;
}

void KN(b4k_crf1d_add_trans_marginals)(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, double scale,
                                   double *gtrans, double *gstart, double *gend)
{
    const int L = ws->L, T = ws->T;
    double tmp[L];
    /* sum over t of the outer products alpha[t-1] (x) (beta[t] * eemit[t]),
     * one FMA per entry and position; times etrans once at the end */
    double *restrict C = ws->cacc;
    if (T > 1)
        memset(C, 0, (size_t)L * L * sizeof(double));
    for (int t = 1; t < T; t++) {
        const double *restrict b = ws->beta + (size_t)t * L;
        const double *restrict e = ws->eemit + (size_t)t * L;
        const double *restrict ap = ws->alpha + (size_t)(t - 1) * L;
        for (int j = 0; j < L; j++)
            tmp[j] = b[j] * e[j];
        for (int i = 0; i < L; i++) {
            const double ai = ap[i];
            if (ai == 0)
                continue;
            double *restrict c = C + (size_t)i * L;
            for (int j = 0; j < L; j++)
                c[j] += ai * tmp[j];
        }
    }
    if (T > 1)
        for (int i = 0; i < L; i++) {
            const double *restrict w = tr->etrans + (size_t)i * L;
            const double *restrict c = C + (size_t)i * L;
            double *restrict g = gtrans + (size_t)i * L;
            for (int j = 0; j < L; j++)
                g[j] += scale * w[j] * c[j];
        }
    if (gstart)
        for (int j = 0; j < L; j++)
            gstart[j] += scale * b4k_crf1d_marginal(ws, 0, j);
    if (gend)
        for (int j = 0; j < L; j++)
            gend[j] += scale * b4k_crf1d_marginal(ws, T - 1, j);
}

#ifdef KERN_AVX2
/* One step of Viterbi for the labels [j0, j0 + 4N) (clipped at L): N
 * vectors of 4 labels, the max-plus over i of each kept in registers while
 * the rows of vtrans stream by.  max(c, best) is c > best ? c : best, and
 * the back pointer moves only where c > best: the portable loop's result,
 * ties to the lowest i.  A row vp[i] = -inf adds nothing, as the portable
 * loop's skip. */
static inline __attribute__((always_inline)) void vit_group(const int N, double *restrict v,
                                                             int32_t *restrict bk,
                                                             const double *restrict vp,
                                                             const double *restrict vtrans,
                                                             const double *restrict e, int L, int j0)
{
    __m256d best[4], arg[4];
    __m256i msk[4];
    for (int b = 0; b < N; b++) {
        long n = L - (j0 + 4 * b);
        msk[b] = _mm256_set_epi64x(n > 3 ? -1 : 0, n > 2 ? -1 : 0, n > 1 ? -1 : 0, -1);
        best[b] = _mm256_set1_pd(-INFINITY);
        arg[b] = _mm256_set1_pd(-1.0);
    }
    for (int i = 0; i < L; i++) {
        const __m256d vi = _mm256_set1_pd(vp[i]), di = _mm256_set1_pd((double)i);
        const double *row = vtrans + (size_t)i * L + j0;
        for (int b = 0; b < N; b++) {
            __m256d c = _mm256_add_pd(vi, _mm256_maskload_pd(row + 4 * b, msk[b]));
            __m256d gt = _mm256_cmp_pd(c, best[b], _CMP_GT_OQ);
            best[b] = _mm256_max_pd(c, best[b]);
            arg[b] = _mm256_blendv_pd(arg[b], di, gt);
        }
    }
    for (int b = 0; b < N; b++) {
        const int j = j0 + 4 * b;
        __m256d s = _mm256_add_pd(best[b], _mm256_maskload_pd(e + j, msk[b]));
        __m128i a = _mm256_cvttpd_epi32(arg[b]);
        if (L - j >= 4) {
            _mm256_storeu_pd(v + j, s);
            _mm_storeu_si128((__m128i *)(bk + j), a);
        } else { /* the last, partial vector */
            _mm256_maskstore_pd(v + j, msk[b], s);
            long n = L - j;
            _mm_maskstore_epi32(bk + j, _mm_set_epi32(n > 3 ? -1 : 0, n > 2 ? -1 : 0, n > 1 ? -1 : 0, -1), a);
        }
    }
}
#endif

int KN(b4k_crf1d_viterbi)(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                      int32_t *path, double *score)
{
    const int L = tr->L;
    if (T == 0 || L != ws->L)
        return B4K_EINVAL;
    int rc = b4k_crf1d_vreserve(ws, T, 1);
    if (rc)
        return rc;
    double *V = ws->vscore;
    int32_t *BK = ws->vback;
    const double *restrict vtrans = tr->vtrans; /* -inf where forbidden */
    for (int j = 0; j < L; j++)
        V[j] = tr->allow_start[j] ? tr->start[j] + emit[j] : -INFINITY;
#ifdef KERN_AVX2
    /* groups of up to 4 vectors (16 labels): independent chains */
    for (size_t t = 1; t < T; t++) {
        const double *vp = V + (t - 1) * L;
        double *v = V + t * L;
        int32_t *bk = BK + t * L;
        const double *e = emit + t * L;
        for (int j0 = 0; j0 < L; j0 += 16) {
            switch ((L - j0 + 3) / 4) {
            case 1: vit_group(1, v, bk, vp, vtrans, e, L, j0); break;
            case 2: vit_group(2, v, bk, vp, vtrans, e, L, j0); break;
            case 3: vit_group(3, v, bk, vp, vtrans, e, L, j0); break;
            default: vit_group(4, v, bk, vp, vtrans, e, L, j0); break;
            }
        }
    }
    if (0)
#endif
    for (size_t t = 1; t < T; t++) {
        const double *restrict vp = V + (t - 1) * L;
        double *restrict v = V + t * L;
        int32_t *restrict bk = BK + t * L;
        const double *restrict e = emit + t * L;
        for (int j = 0; j < L; j++) {
            v[j] = -INFINITY;
            bk[j] = -1;
        }
        /* i outer, j inner: vectorised over j; ties keep the lowest i */
        for (int i = 0; i < L; i++) {
            const double vi = vp[i];
            if (vi == -INFINITY)
                continue;
            const double *restrict row = vtrans + (size_t)i * L;
            for (int j = 0; j < L; j++) {
                const double c = vi + row[j];
                const int better = c > v[j];
                v[j] = better ? c : v[j];
                bk[j] = better ? i : bk[j];
            }
        }
        for (int j = 0; j < L; j++)
            v[j] += e[j];
    }
    double best = -INFINITY;
    int arg = -1;
    const double *vl = V + (T - 1) * L;
    for (int j = 0; j < L; j++) {
        if (!tr->allow_end[j])
            continue;
        double c = vl[j] + tr->end[j];
        if (c > best) {
            best = c;
            arg = j;
        }
    }
    if (arg < 0 || best == -INFINITY)
        return B4K_ERANGE;
    path[T - 1] = arg;
    for (size_t t = T - 1; t > 0; t--)
        path[t - 1] = BK[t * L + path[t]];
    if (score)
        *score = best;
    return 0;
}
