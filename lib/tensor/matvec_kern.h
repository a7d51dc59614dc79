/* Internal: the ISA-specific matvec kernels behind b4k_matmul_rows (see
 * matvec.h for the arithmetic each one implements). */
#ifndef B4K_TENSOR_MATVEC_KERN_H
#define B4K_TENSOR_MATVEC_KERN_H

#include "tensor/matvec.h"

void b4k_mv_prep_bf16(uint16_t *hi, uint16_t *lo, const float *x, size_t n);
void b4k_mv_prep_q8(int8_t *q, float *d, int ldd, const float *x, int T, int K);
void b4k_mv_scratch_layout(const b4k_wmat *w, int T, float *scratch, uint16_t **hi,
                           uint16_t **lo, int8_t **q, float **d, int *ldd);

void b4k_mv_f32_avx512(float *out, int ldo, const float *x, const b4k_wmat *w,
                       const float *bias, int T, int r0, int r1);
void b4k_mv_f16_avx512(float *out, int ldo, const float *x, const b4k_wmat *w,
                       const float *bias, int T, int r0, int r1);
void b4k_mv_bf16_avx512bf16(float *out, int ldo, const float *x, const b4k_wmat *w,
                            const float *bias, int T, int r0, int r1, float *scratch, int prep);
void b4k_mv_q8_vnni(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                    int T, int r0, int r1, float *scratch, int prep);

void b4k_mv_f32_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1);
void b4k_mv_f16_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1);
void b4k_mv_bf16_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                      int T, int r0, int r1, float *scratch, int prep);
void b4k_wmat_rows_f32_avx2(float *out, const b4k_wmat *w, int r0, int r1);
void b4k_mv_q8_avx2(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                    int T, int r0, int r1, float *scratch, int prep);

#endif
