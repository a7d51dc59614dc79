/* Portable sparse feature kernels and the run-time dispatch. */
#include "crf/feat.h"

#include "core/cpu.h"

#define KN(n) n##_ref
#include "crf/feat_kern.h"
#undef KN

void b4k_crf_emit_seq_avx2(double *emit, const double *x, const int64_t *foff, const int32_t *flab,
                           const int32_t *aid, const size_t *aoff, size_t T, int L);
void b4k_crf_emit_seq_f32_avx2(double *emit, const float *x, const int64_t *foff,
                               const int32_t *flab, const int32_t *aid, const size_t *aoff,
                               size_t T, int L);
void b4k_crf_scatter_seq_avx2(double *g, const double *marg, const int32_t *y,
                              const int64_t *foff, const int32_t *flab, const int32_t *aid,
                              const size_t *aoff, size_t T, int L);

static int g_impl = -1; /* dispatch cache: 0 portable, 1 AVX2 */

void b4k_crf_feat_set_impl(int impl)
{
    g_impl = impl < 0 ? -1 : (impl > 0 && b4k_cpu_has(B4K_CPU_AVX2));
}

static inline int impl(void)
{
    if (g_impl < 0)
        g_impl = b4k_cpu_has(B4K_CPU_AVX2);
    return g_impl;
}

void b4k_crf_emit_seq(double *emit, const double *x, const int64_t *foff, const int32_t *flab,
                      const int32_t *aid, const size_t *aoff, size_t T, int L)
{
    if (impl())
        b4k_crf_emit_seq_avx2(emit, x, foff, flab, aid, aoff, T, L);
    else
        b4k_crf_emit_seq_ref(emit, x, foff, flab, aid, aoff, T, L);
}

void b4k_crf_emit_seq_f32(double *emit, const float *x, const int64_t *foff, const int32_t *flab,
                          const int32_t *aid, const size_t *aoff, size_t T, int L)
{
    if (impl())
        b4k_crf_emit_seq_f32_avx2(emit, x, foff, flab, aid, aoff, T, L);
    else
        b4k_crf_emit_seq_f32_ref(emit, x, foff, flab, aid, aoff, T, L);
}

void b4k_crf_scatter_seq(double *g, const double *marg, const int32_t *y, const int64_t *foff,
                         const int32_t *flab, const int32_t *aid, const size_t *aoff, size_t T,
                         int L)
{
    if (impl())
        b4k_crf_scatter_seq_avx2(g, marg, y, foff, flab, aid, aoff, T, L);
    else
        b4k_crf_scatter_seq_ref(g, marg, y, foff, flab, aid, aoff, T, L);
}
