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

/* out[i] = GELU tanh form of x[i] (out may alias x); the AVX2 version uses
 * a polynomial exp (relative error ~2e-7). */
void b4k_gelu_tanh_f32(float *out, const float *x, size_t n);
void b4k_gelu_tanh_f32_ref(float *out, const float *x, size_t n);

#endif
