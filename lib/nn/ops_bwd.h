/* Training kernels: forward ops that keep what backward needs, and the
 * backward pass of every op used by the BERT encoder and the extraction
 * heads.  Each kernel has a plain `_ref` twin (double accumulation, naive
 * loops) that the unit tests compare against, and the tests check every
 * backward against finite differences.
 *
 * Conventions: outputs first, then inputs, then sizes.  Backward kernels
 * *write* the input gradient (dx) and *accumulate* (+=) parameter gradients
 * (dW, db, dg), so gradient accumulation over micro-batches is free.
 *
 * NOTE: the forward ops here (layer norm, GELU, linear) duplicate what
 * lib/nn/ops.h will provide for inference; the training versions also
 * return the per-row statistics backward needs.  Switch to the shared
 * forward kernels once their numerics are known to match. */
#ifndef B4K_NN_OPS_BWD_H
#define B4K_NN_OPS_BWD_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

typedef struct b4k_pool b4k_pool;

/* ---- layer norm ------------------------------------------------------- */
/* y(N,C) = (x - mean) * rstd * g + b, keeps mean(N), rstd(N).
 * gs/bs: row strides of g and b (0 = shared (C), C = per row (N,C), as the
 * conditional layer norm needs). */
void b4k_nn_ln_fwd(float *y, float *mean, float *rstd, const float *x, const float *g,
                   size_t gs, const float *b, size_t bs, int N, int C, float eps);
void b4k_nn_ln_fwd_ref(float *y, float *mean, float *rstd, const float *x, const float *g,
                       size_t gs, const float *b, size_t bs, int N, int C, float eps);
/* dx(N,C) = d/dx (written); if gs == 0: dg(C) += ..., db(C) += ...;
 * if gs == C: dg(N,C), db(N,C) are written per row (dg may be NULL).
 * dx may alias dy. */
void b4k_nn_ln_bwd(float *dx, float *dg, float *db, const float *dy, const float *x,
                   const float *mean, const float *rstd, const float *g, size_t gs, int N,
                   int C);
void b4k_nn_ln_bwd_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                       const float *mean, const float *rstd, const float *g, size_t gs,
                       int N, int C);

/* ---- GELU --------------------------------------------------------------- */
/* y = x * Phi(x) (erf form) or the tanh approximation if tanh_form. */
void b4k_nn_gelu_fwd(float *y, const float *x, size_t n, int tanh_form);
void b4k_nn_gelu_fwd_ref(float *y, const float *x, size_t n, int tanh_form);
/* dx = dy * gelu'(x); dx may alias dy. */
void b4k_nn_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int tanh_form);
void b4k_nn_gelu_bwd_ref(float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form);

/* ---- linear ------------------------------------------------------------- */
/* y(N,O) = x(N,I) W(O,I)^T + b(O)   (W in nn.Linear's (out, in) layout,
 * as lib/nn/ops.h; b may be NULL) */
void b4k_nn_linear_fwd(float *y, const float *x, const float *W, const float *b, int N,
                       int I, int O);
void b4k_nn_linear_fwd_ref(float *y, const float *x, const float *W, const float *b, int N,
                           int I, int O);
/* dx(N,I) = dy W (written, or added if dx_add; dx may be NULL);
 * dW(O,I) += dy^T x (may be NULL); db(O) += colsum(dy) (may be NULL). */
void b4k_nn_linear_bwd(float *dx, int dx_add, float *dW, float *db, const float *dy,
                       const float *x, const float *W, int N, int I, int O);
void b4k_nn_linear_bwd_ref(float *dx, int dx_add, float *dW, float *db, const float *dy,
                           const float *x, const float *W, int N, int I, int O);

/* ---- softmax over rows ------------------------------------------------ */
/* In place: row i of x(N,C) -> softmax over its first len entries, the
 * rest set to exactly 0 (padding keys).  len <= 0 gives an all-zero row. */
void b4k_nn_softmax_rows(float *x, int N, int C, int len);
/* dx(N,C) = p * (dp - sum(dp * p)) row-wise; dx may alias dp. */
void b4k_nn_softmax_bwd(float *dx, const float *dp, const float *p, int N, int C);
void b4k_nn_softmax_bwd_ref(float *dx, const float *dp, const float *p, int N, int C);

/* ---- embedding --------------------------------------------------------- */
/* dE(V,C) rows ids[i] += dy(N,C) row i; ids out of [0,V) are skipped. */
void b4k_nn_embed_bwd(float *dE, const float *dy, const int32_t *ids, int N, int C, int V);

/* ---- dropout ------------------------------------------------------------ */
/* mask(n) = 1 with probability 1-p else 0, drawn from rng. */
void b4k_nn_dropout_mask(uint8_t *mask, size_t n, float p, b4k_rng *rng);
/* y = x * mask / (1-p); used for forward and backward alike (y may alias x). */
void b4k_nn_dropout_apply(float *y, const float *x, const uint8_t *mask, size_t n, float p);

/* ---- parallel helpers ---------------------------------------------------- */
/* C(M,N) = alpha op(A) op(B) + beta C (as b4k_sgemm), split over the pool:
 * each thread runs a single-threaded sgemm on a block of rows of C (or of
 * columns when M is small).  OpenBLAS's own threads spin and collapse on a
 * loaded machine; with b4k_blas_set_threads(1) this keeps the cores busy
 * through the pool's blocking workers instead.  The split is static, so a
 * given thread count always gives the same result. */
void b4k_nn_gemm_par(b4k_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc);
void b4k_nn_linear_fwd_par(b4k_pool *pool, float *y, const float *x, const float *W,
                           const float *b, int N, int I, int O);
void b4k_nn_linear_bwd_par(b4k_pool *pool, float *dx, int dx_add, float *dW, float *db,
                           const float *dy, const float *x, const float *W, int N, int I, int O);
/* Row-parallel variants (pool may be NULL): same results as the serial
 * kernels, bit for bit, because each row is computed the same way. */
void b4k_nn_ln_fwd_par(b4k_pool *pool, float *y, float *mean, float *rstd, const float *x,
                       const float *g, size_t gs, const float *b, size_t bs, int N, int C,
                       float eps);
void b4k_nn_gelu_fwd_par(b4k_pool *pool, float *y, const float *x, size_t n, int tanh_form);
void b4k_nn_gelu_bwd_par(b4k_pool *pool, float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form);

#endif
