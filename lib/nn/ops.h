/* Forward kernels of the transformer layers, as plain functions over float
 * buffers (row-major, shapes in the comments; N = rows = B*T tokens).
 *
 * These are shared: GPT-2/CPM decoding (lib/nn/gpt2.c), the BERT encoder
 * (lib/nn/bert.c) for inference and training; the backward kernels
 * (lib/nn/ops_bwd.h) reuse what these forwards save (mean/rstd of
 * LayerNorm, the attention probabilities).  Each fast kernel has a plain
 * `_ref` twin (naive loops, double accumulation) for the unit tests.  No
 * function allocates, prints or keeps state; the ones taking a b4k_pool
 * split their work over it (pool may be NULL) with a static partition, so
 * results do not depend on timing (but may on the thread count, where a
 * GEMM is split).
 *
 * Not shared yet: GPT-2/CPM run their prefill and decoding through the KV
 * cache (b4k_attention_cached_*, fused per-thread matvec steps in gpt2.c),
 * not through b4k_attention_fwd(causal = 1) and b4k_linear_fwd_par.
 *
 * Weight convention for linear layers: W is (OC, C), i.e. nn.Linear's
 * (out_features, in_features) layout, and out = inp W^T + b. */
#ifndef B4K_NN_OPS_H
#define B4K_NN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/threads.h"

/* out(T,C) = wte[ids[t]] (V,C) + wpe[pos0 + t] (P,C) (+ tte[types[t]] if tte
 * and types are given).  wpe may be NULL (no position embedding).  Ids must
 * have been range-checked by the caller. */
void b4k_embed_fwd(float *out, const int *ids, const int *types, const float *wte,
                   const float *wpe, const float *tte, int T, int C, int pos0);

/* out(N,C) = (inp - mean) * rstd * w(C) + b(C), per row.  mean(N) and rstd(N)
 * receive the row statistics for a backward pass and may be NULL.  out may
 * alias inp.  Statistics are computed in double for stability. */
void b4k_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps);
/* The same with row strides for w and b: ws, bs = 0 (one (C) vector for all
 * rows) or C (w, b are (N,C): per-row gains, as the conditional LayerNorm
 * needs); w/b NULL = 1/0.  The _par variant splits rows over the pool (bit
 * for bit the same result). */
void b4k_layernorm_fwd_strided(float *out, float *mean, float *rstd, const float *inp,
                               const float *w, size_t ws, const float *b, size_t bs, int N,
                               int C, float eps);
void b4k_layernorm_fwd_par(b4k_pool *pool, float *out, float *mean, float *rstd,
                           const float *inp, const float *w, size_t ws, const float *b, size_t bs,
                           int N, int C, float eps);
void b4k_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *inp,
                           const float *w, size_t ws, const float *b, size_t bs, int N, int C,
                           float eps);

/* GELU, elementwise, n values; out may alias inp.
 *   tanh form (GPT-2, CPM):  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *   erf form (BERT):         0.5 x (1 + erf(x / sqrt(2))) */
void b4k_gelu_tanh_fwd(float *out, const float *inp, size_t n);
void b4k_gelu_erf_fwd(float *out, const float *inp, size_t n);
/* Either form (tanh_form), split over the pool in blocks; _ref in double. */
void b4k_gelu_fwd_par(b4k_pool *pool, float *out, const float *inp, size_t n, int tanh_form);
void b4k_gelu_fwd_ref(float *out, const float *inp, size_t n, int tanh_form);

/* Row-wise softmax: out(N,C) = softmax(inp(N,C)) (max-subtracted); out may
 * alias inp. */
void b4k_softmax_fwd(float *out, const float *inp, int N, int C);
/* In place over the first len entries of each row of x(N,C); the rest is
 * set to exactly 0 (padding keys); len <= 0 gives an all-zero row. */
void b4k_softmax_rows_fwd(float *x, int N, int C, int len);
void b4k_softmax_rows_fwd_ref(float *x, int N, int C, int len);

/* out(N,OC) = inp(N,C) W(OC,C)^T + b(OC) with f32 weights (BLAS sgemm).
 * b may be NULL.  out must not alias inp.  The _par variant splits the
 * GEMM over the pool (b4k_gemm_par): the same as b4k_linear_fwd with one
 * thread. */
void b4k_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C,
                    int OC);
void b4k_linear_fwd_par(b4k_pool *pool, float *out, const float *inp, const float *w,
                        const float *b, int N, int C, int OC);
void b4k_linear_fwd_ref(float *out, const float *inp, const float *w, const float *b, int N,
                        int C, int OC);

/* C(M,N) = alpha op(A) op(B) + beta C (as b4k_sgemm), split over the pool:
 * each thread runs a single-threaded sgemm on a block of 16-row groups of C
 * (or of columns when M < 16 * threads).  OpenBLAS's own threads spin and
 * collapse on a loaded machine; with b4k_blas_set_threads(1) this keeps the
 * cores busy through the pool's blocking workers instead.  Products below
 * M*N*K = 2^18 (B4K_GEMM_PAR_MIN) run as one sgemm.  The split is static,
 * so a given thread count always gives the same result. */
#define B4K_GEMM_PAR_MIN (1L << 18)
void b4k_gemm_par(b4k_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C,
                  int ldc);

/* Multi-head self-attention over whole sequences (no cache), llm.c layout:
 *   qkv(B,T,3C):  per token [q(C) | k(C) | v(C)], head h at columns h*HS..
 *   out(B,T,C):   concatenated head outputs (before the output projection)
 *   att(B,NH,T,T): softmax probabilities (before dropout), kept for the
 *                 backward pass (b4k_attention_bwd); may be NULL
 *   lens(B):      keys s >= lens[b] are padding and get probability exactly
 *                 0 (BERT's attention mask); NULL = all T keys
 *   causal:       key s is visible to query t only if s <= t
 *   dmask(B,NH,T,T), pdrop: dropout on the probabilities, P * mask / (1-p)
 *                 (NULL: none)
 *   scratch:      b4k_attention_scratch(T, pool) floats
 * Scale 1/sqrt(HS), HS = C/NH.  Per (b, h): two sgemm and a masked softmax. */
void b4k_attention_fwd(float *out, float *att, float *scratch, const float *qkv,
                       const int32_t *lens, const uint8_t *dmask, float pdrop, int B, int T,
                       int C, int NH, int causal, b4k_pool *pool);
void b4k_attention_fwd_ref(float *out, float *att, const float *qkv, const int32_t *lens,
                           const uint8_t *dmask, float pdrop, int B, int T, int C, int NH,
                           int causal);

/* Floats of scratch b4k_attention_fwd and b4k_attention_bwd need. */
size_t b4k_attention_scratch(int T, b4k_pool *pool);

/* Causal attention against a KV cache, for incremental decoding.
 *   q(T,ldq):          queries of the T new tokens at positions pos0..pos0+T-1
 *                      (head h at columns h*HS), ldq >= C
 *   kc(NH,ctx,HS), vc(NH,ctx,HS): cache holding positions 0..pos0+T-1 of
 *                      this layer (the new tokens' k/v already written)
 *   out(T,C):          head outputs
 *   scratch:           b4k_attention_cached_scratch(ctx, pool) floats
 * Query t attends to positions 0..pos0+t. */
void b4k_attention_cached_fwd(float *out, float *scratch, const float *q, int ldq,
                              const float *kc, const float *vc, int T, int C, int NH, int ctx,
                              int pos0, b4k_pool *pool);
size_t b4k_attention_cached_scratch(int ctx, b4k_pool *pool);

/* One (head, query) row of it: out(HS) = softmax(q.K[s]/sqrt(HS), s < S) V,
 * K and V (S,HS) of one head, sc(S) scratch.  Used by the decoder's fused
 * per-thread step. */
void b4k_attention_cached_row(float *out, float *sc, const float *q, const float *K,
                              const float *V, int HS, int S);

/* out(n) = a(n) + b(n); out may alias either. */
void b4k_add_fwd(float *out, const float *a, const float *b, size_t n);

#endif
