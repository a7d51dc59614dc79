/* Small vector kernels with runtime dispatch (AVX-512, AVX2 or portable scalar;
 * each has a _ref twin used by the tests and by B4K_CPU=scalar). */
#ifndef B4K_TENSOR_OPS_H
#define B4K_TENSOR_OPS_H

#include <stddef.h>

/* sum_i a[i] b[i] */
float b4k_dot_f32(const float *a, const float *b, int n);
float b4k_dot_f32_ref(const float *a, const float *b, int n);
/* y[i] += a x[i] */
void b4k_axpy_f32(float *y, float a, const float *x, int n);
void b4k_axpy_f32_ref(float *y, float a, const float *x, int n);

/* One query of one attention head against S cached keys and values:
 *   sc[s] = scale * q.K[s]  (s < S),  p = softmax(sc),  out = sum_s p[s] V[s]
 * q (HS), K and V (S,HS) row-major, out (HS), sc (S) scratch (left holding
 * the unnormalised exponentials).  S >= 1.  The fast versions use a
 * polynomial exp (relative error ~2e-7) and f32 sums; _ref uses expf and a
 * double sum of the exponentials. */
void b4k_attn_row_f32(float *out, float *sc, const float *q, const float *K, const float *V,
                      int HS, int S, float scale);
void b4k_attn_row_f32_ref(float *out, float *sc, const float *q, const float *K,
                          const float *V, int HS, int S, float scale);

/* out[i] = GELU tanh form of x[i] (out may alias x); the AVX2 version uses
 * a polynomial exp (relative error ~2e-7). */
void b4k_gelu_tanh_f32(float *out, const float *x, size_t n);
void b4k_gelu_tanh_f32_ref(float *out, const float *x, size_t n);

#endif
