/* Forward kernels of the transformer layers, as plain functions over float
 * buffers (row-major, shapes in the comments; N = rows = B*T tokens).
 *
 * These are shared: GPT-2/CPM decoding (lib/nn/gpt2.c), BERT inference and
 * training (whose backward passes live in their own files and reuse what the
 * forward functions save, e.g. mean/rstd of LayerNorm and the attention
 * probabilities).  No function allocates, prints or keeps state; the ones
 * taking a b4k_pool split their work over it (pool may be NULL) with a
 * static partition, so results do not depend on timing.
 *
 * Weight convention for linear layers: W is (OC, C), i.e. nn.Linear's
 * (out_features, in_features) layout, and out = inp W^T + b. */
#ifndef B4K_NN_OPS_H
#define B4K_NN_OPS_H

#include <stddef.h>

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

/* GELU, elementwise, n values; out may alias inp.
 *   tanh form (GPT-2, CPM):  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *   erf form (BERT):         0.5 x (1 + erf(x / sqrt(2))) */
void b4k_gelu_tanh_fwd(float *out, const float *inp, size_t n);
void b4k_gelu_erf_fwd(float *out, const float *inp, size_t n);

/* Row-wise softmax: out(N,C) = softmax(inp(N,C)) (max-subtracted); out may
 * alias inp. */
void b4k_softmax_fwd(float *out, const float *inp, int N, int C);

/* out(N,OC) = inp(N,C) W(OC,C)^T + b(OC) with f32 weights (BLAS sgemm).
 * b may be NULL.  out must not alias inp. */
void b4k_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C,
                    int OC);

/* Multi-head self-attention over a whole sequence (no cache), llm.c layout:
 *   qkv(B,T,3C): per token [q(C) | k(C) | v(C)], head h at columns h*HS..
 *   out(B,T,C):  concatenated head outputs (before the output projection)
 *   att(B,NH,T,T): softmax probabilities, saved for backward; may be NULL
 *                  (then scratch must hold T floats per pool thread... see
 *                  b4k_attention_scratch)
 *   key_mask(B,T): 1 = attend, 0 = padding (additive -1e4 like BERT); NULL = all
 *   causal: key s is visible to query t only if s <= t.
 * Scale 1/sqrt(HS), HS = C/NH. */
void b4k_attention_fwd(float *out, float *att, float *scratch, const float *qkv,
                       const float *key_mask, int B, int T, int C, int NH, int causal,
                       b4k_pool *pool);

/* Floats of scratch b4k_attention_fwd needs when att is NULL. */
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
