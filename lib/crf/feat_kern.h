/* Sparse state-feature kernels (emission sums and gradient scatter),
 * compiled twice like crf1d_kern.h: feat.c with KN(n) = n##_ref and
 * feat_avx2.c with KN(n) = n##_avx2.  An attribute whose feature range holds
 * all L labels (a dense row) takes a contiguous, vectorised path. */
#include <stddef.h>
#include <stdint.h>

/* Prefetch distances in attributes: the feature range of attribute k + FAR
 * is fetched, and the weights (gradient) and labels of k + NEAR, whose range
 * was fetched FAR - NEAR attributes earlier; the weights are random accesses
 * into megabytes, latency-bound without this. */
#ifndef PF_FAR
#define PF_FAR 48
#endif
#ifndef PF_NEAR
#define PF_NEAR 24
#endif

/* emit (T,L) = sum over the attributes of each position of their weights;
 * made for double weights (training) and f32 weights (a model used as
 * stored: the sums are the same, each weight is widened exactly) */
#define KERN_EMIT_SEQ(NAME, WT)                                                              \
    void NAME(double *restrict emit, const WT *restrict x, const int64_t *restrict foff,     \
              const int32_t *restrict flab, const int32_t *restrict aid,                     \
              const size_t *restrict aoff, size_t T, int L)                                  \
    {                                                                                        \
        const size_t aend = aoff[T];                                                         \
        for (size_t t = 0; t < T; t++) {                                                     \
            double *restrict e = emit + t * L;                                               \
            for (int j = 0; j < L; j++)                                                      \
                e[j] = 0;                                                                    \
            for (size_t k = aoff[t]; k < aoff[t + 1]; k++) {                                 \
                const int32_t a = aid[k];                                                    \
                if (k + PF_FAR < aend)                                                       \
                    __builtin_prefetch(foff + aid[k + PF_FAR]);                              \
                if (k + PF_NEAR < aend) {                                                    \
                    const int64_t fn = foff[aid[k + PF_NEAR]];                               \
                    __builtin_prefetch(x + fn);                                              \
                    __builtin_prefetch(flab + fn);                                           \
                }                                                                            \
                const int64_t f0 = foff[a], f1 = foff[a + 1];                                \
                if (f1 - f0 == L) {                                                          \
                    const WT *restrict w = x + f0;                                           \
                    for (int j = 0; j < L; j++)                                              \
                        e[j] += (double)w[j];                                                \
                } else {                                                                     \
                    for (int64_t f = f0; f < f1; f++)                                        \
                        e[flab[f]] += (double)x[f];                                          \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }
KERN_EMIT_SEQ(KN(b4k_crf_emit_seq), double)
KERN_EMIT_SEQ(KN(b4k_crf_emit_seq_f32), float)
#undef KERN_EMIT_SEQ

/* g[f] += marg[t][label(f)] - [label(f) == y[t]] for every feature of every
 * position */
void KN(b4k_crf_scatter_seq)(double *restrict g, const double *restrict marg,
                             const int32_t *restrict y, const int64_t *restrict foff,
                             const int32_t *restrict flab, const int32_t *restrict aid,
                             const size_t *restrict aoff, size_t T, int L)
{
    const size_t aend = aoff[T];
    for (size_t t = 0; t < T; t++) {
        const double *restrict p = marg + t * L;
        const int32_t yt = y[t];
        for (size_t k = aoff[t]; k < aoff[t + 1]; k++) {
            const int32_t a = aid[k];
            if (k + PF_FAR < aend)
                __builtin_prefetch(foff + aid[k + PF_FAR]);
            if (k + PF_NEAR < aend) {
                const int64_t fn = foff[aid[k + PF_NEAR]];
                __builtin_prefetch(g + fn, 1);
                __builtin_prefetch(flab + fn);
            }
            const int64_t f0 = foff[a], f1 = foff[a + 1];
            if (f1 - f0 == L) {
                double *restrict gg = g + f0;
                for (int j = 0; j < L; j++)
                    gg[j] += p[j];
                gg[yt] -= 1.0;
            } else {
                for (int64_t f = f0; f < f1; f++) {
                    const int32_t j = flab[f];
                    g[f] += p[j] - (j == yt);
                }
            }
        }
    }
}
