/* Linear layers in bf16 mixed precision: the forward and backward of
 * b4k_linear_fwd / b4k_nn_linear_bwd (nn/ops.h, nn/ops_bwd.h) through the
 * bf16 GEMM of lib/tensor/gemm_bf16.h (AVX512-BF16 vdpbf16ps, f32
 * accumulation; an sgemm emulation of the same rounding elsewhere).
 *
 * The weight is the bf16 copy Wh (O,I) of the f32 master weight W (nn.Linear
 * layout), made by the caller (b4k_f32_to_bf16_row) once per optimiser step.
 * Every other operand is f32 and is rounded to bf16 inside the GEMM:
 *
 *   forward   y(N,O)  = bf16(x) bf16(W)^T + b             (b: f32, exact)
 *   dX        dx(N,I) = bf16(dy) bf16(W)      (written, or added if dx_add)
 *   dW        dW(O,I) += bf16(dy)^T bf16(x)   (f32 accumulator, not rounded)
 *   db        db(O)   += colsum(dy)           (f32, as the f32 path)
 *
 * Per element the error against the f32 products is that of the GEMM
 * (gemm_bf16.h): |err| <= (2^-7 + 2^-16) S + 2K 2^-24 S, S = sum |a_k b_k|,
 * i.e. about 2^-8 relative per GEMM for sums without cancellation.
 *
 * Results do not depend on the pool's size (whole-tile split, fixed k
 * order).  Call from the thread that owns the pool (not inside its jobs).
 * `work`: at least b4k_linear_bf16_work(N, I, O, pool size) bytes, 64-byte
 * aligned (one buffer sized for the largest layer serves all), or NULL to
 * allocate per call.  Functions return 0 or B4K_ENOMEM (work == NULL and
 * no memory). */
#ifndef B4K_NN_LINEAR_BF16_H
#define B4K_NN_LINEAR_BF16_H

#include <stddef.h>
#include <stdint.h>

typedef struct b4k_pool b4k_pool;

/* Bytes of work for a layer with N rows, I inputs and O outputs: the
 * largest of its forward, dX and dW GEMMs.  Monotone in N, I and O. */
size_t b4k_linear_bf16_work(int N, int I, int O, int nthreads);

/* y(N,O) = x(N,I) Wh(O,I)^T + b(O) (b may be NULL).  y must not alias x. */
int b4k_linear_bf16_fwd(b4k_pool *pool, void *work, float *y, const float *x,
                        const uint16_t *Wh, const float *b, int N, int I, int O);
/* dx(N,I) (may be NULL), dW(O,I) (may be NULL), db(O) (may be NULL) from
 * dy(N,O), the layer input x(N,I) and Wh(O,I). */
int b4k_linear_bf16_bwd(b4k_pool *pool, void *work, float *dx, int dx_add, float *dW,
                        float *db, const float *dy, const float *x, const uint16_t *Wh, int N,
                        int I, int O);

/* The same through b4k_gemm_bf16_ref: the same operands rounded the same
 * way, one thread, a fixed scalar order.  On AMD Zen 5 the fast kernel
 * gives the same bits; elsewhere they differ by f32 reassociation within
 * a k block (<= 2K 2^-24 S). */
void b4k_linear_bf16_fwd_ref(float *y, const float *x, const uint16_t *Wh, const float *b, int N,
                             int I, int O);
void b4k_linear_bf16_bwd_ref(float *dx, int dx_add, float *dW, float *db, const float *dy,
                             const float *x, const uint16_t *Wh, int N, int I, int O);

#endif
