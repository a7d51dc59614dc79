/* Sparse state-feature kernels with run-time dispatch (see feat_kern.h). */
#ifndef B4K_CRF_FEAT_H
#define B4K_CRF_FEAT_H

#include <stddef.h>
#include <stdint.h>

/* emit (T,L); aoff (T+1) indexes aid; x the feature weights. */
void b4k_crf_emit_seq(double *emit, const double *x, const int64_t *foff, const int32_t *flab,
                      const int32_t *aid, const size_t *aoff, size_t T, int L);
/* the same with f32 weights (a loaded model used as stored) */
void b4k_crf_emit_seq_f32(double *emit, const float *x, const int64_t *foff, const int32_t *flab,
                          const int32_t *aid, const size_t *aoff, size_t T, int L);
/* g (F) += marginals minus observed counts; marg (T,L), y (T). */
void b4k_crf_scatter_seq(double *g, const double *marg, const int32_t *y, const int64_t *foff,
                         const int32_t *flab, const int32_t *aid, const size_t *aoff, size_t T,
                         int L);
/* 0 portable, 1 AVX2 if available, -1 auto (tests). */
void b4k_crf_feat_set_impl(int impl);

#endif
