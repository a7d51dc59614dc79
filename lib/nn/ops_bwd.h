/* Training kernels: the backward pass of every op used by the BERT encoder
 * and the extraction heads, and dropout.  The forward ops are the shared
 * ones of lib/nn/ops.h (LayerNorm keeps mean/rstd, attention keeps its
 * probabilities); these kernels consume what they saved.  Each kernel has a
 * plain `_ref` twin (double accumulation, naive loops) that the unit tests
 * compare against, and the tests check every backward against finite
 * differences.
 *
 * Conventions: outputs first, then inputs, then sizes.  Backward kernels
 * *write* the input gradient (dx) and *accumulate* (+=) parameter gradients
 * (dW, db, dg), so gradient accumulation over micro-batches is free. */
#ifndef B4K_NN_OPS_BWD_H
#define B4K_NN_OPS_BWD_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

typedef struct b4k_pool b4k_pool;

/* ---- layer norm ------------------------------------------------------- */
/* Backward of b4k_layernorm_fwd_strided (mean, rstd as it saved them):
 * g and its row stride gs (0 = shared (C), C = per row (N,C)). */
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
/* dx = dy * gelu'(x); dx may alias dy. */
void b4k_nn_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int tanh_form);
void b4k_nn_gelu_bwd_ref(float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form);

/* ---- linear ------------------------------------------------------------- */
/* Backward of b4k_linear_fwd: W (O,I) in nn.Linear's layout. */
/* dx(N,I) = dy W (written, or added if dx_add; dx may be NULL);
 * dW(O,I) += dy^T x (may be NULL); db(O) += colsum(dy) (may be NULL). */
void b4k_nn_linear_bwd(float *dx, int dx_add, float *dW, float *db, const float *dy,
                       const float *x, const float *W, int N, int I, int O);
void b4k_nn_linear_bwd_ref(float *dx, int dx_add, float *dW, float *db, const float *dy,
                           const float *x, const float *W, int N, int I, int O);

/* ---- softmax over rows ------------------------------------------------ */
/* dx(N,C) = p * (dp - sum(dp * p)) row-wise; dx may alias dp. */
void b4k_nn_softmax_bwd(float *dx, const float *dp, const float *p, int N, int C);
void b4k_nn_softmax_bwd_ref(float *dx, const float *dp, const float *p, int N, int C);

/* ---- embedding --------------------------------------------------------- */
/* dE(V,C) rows ids[i] += dy(N,C) row i; ids out of [0,V) are skipped. */
void b4k_nn_embed_bwd(float *dE, const float *dy, const int32_t *ids, int N, int C, int V);
void b4k_nn_embed_bwd_ref(float *dE, const float *dy, const int32_t *ids, int N, int C, int V);

/* ---- attention ---------------------------------------------------------- */
/* Backward of b4k_attention_fwd: from dout(B,T,C) (gradient w.r.t. its
 * out), the saved probabilities att(B,NH,T,T), the same dmask/pdrop and
 * qkv(B,T,3C), writes dqkv(B,T,3C).  scratch: b4k_attention_scratch(T,
 * pool) floats. */
void b4k_nn_attention_bwd(float *dqkv, float *scratch, const float *dout, const float *qkv,
                          const float *att, const uint8_t *dmask, float pdrop, int B, int T,
                          int C, int NH, b4k_pool *pool);
void b4k_nn_attention_bwd_ref(float *dqkv, const float *dout, const float *qkv,
                              const float *att, const uint8_t *dmask, float pdrop, int B, int T,
                              int C, int NH);

/* ---- dropout ------------------------------------------------------------ */
/* mask(n) = 1 with probability 1-p else 0, drawn from rng. */
void b4k_nn_dropout_mask(uint8_t *mask, size_t n, float p, b4k_rng *rng);
/* y = x * mask / (1-p); used for forward and backward alike (y may alias x). */
void b4k_nn_dropout_apply(float *y, const float *x, const uint8_t *mask, size_t n, float p);
void b4k_nn_dropout_apply_ref(float *y, const float *x, const uint8_t *mask, size_t n, float p);

/* ---- parallel helpers ---------------------------------------------------- */
/* Split over the pool as b4k_gemm_par (pool may be NULL). */
void b4k_nn_linear_bwd_par(b4k_pool *pool, float *dx, int dx_add, float *dW, float *db,
                           const float *dy, const float *x, const float *W, int N, int I, int O);
void b4k_nn_gelu_bwd_par(b4k_pool *pool, float *dx, const float *dy, const float *x, size_t n,
                         int tanh_form);

#endif
