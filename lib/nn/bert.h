/* BERT encoder for fine-tuning: forward that keeps its activations, and an
 * exact backward pass.  Also RoBERTa (positions start at position_offset,
 * HF's padding_idx + 1) and ALBERT (embeddings of size E projected to H by
 * encoder.embedding_hidden_mapping_in, one set of layer weights shared by
 * every layer).
 *
 *   embeddings: word + segment + position, LayerNorm, dropout (ALBERT: then
 *               the E -> H projection)
 *   L post-LN blocks: h1 = LN1(x + drop(Attn(x) Wo + bo))
 *                     out = LN2(h1 + drop(GELU(h1 W1 + b1) W2 + b2))
 *   attention: fused q|k|v projection, scale 1/sqrt(d), padding keys of
 *   sequence b (positions >= lens[b]) get probability exactly 0, dropout on
 *   the probabilities.
 *
 * Parameters live in a b4k_ptab (names as HuggingFace's BertModel with the
 * prefix given to b4k_bert_add_params, e.g. "bert."); linear weights use the
 * (out, in) layout of lib/nn/ops.h.  query/key/value are added consecutively
 * so that their weights form one (3C, C) block and their biases one (3C). */
#ifndef B4K_NN_BERT_H
#define B4K_NN_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "nn/adamw.h"

typedef struct b4k_pool b4k_pool;

typedef struct b4k_bert_config {
    int vocab, hidden, layers, heads, inter, max_pos, type_vocab;
    int gelu_tanh;      /* 1: tanh-approximate GELU (hidden_act "gelu_new") */
    float ln_eps;       /* 1e-12 as Google's BERT */
    float drop_hidden;  /* hidden_dropout_prob */
    float drop_attn;    /* attention_probs_dropout_prob */
    int emb;            /* embedding_size E (ALBERT); 0 = hidden (no projection) */
    int shared;         /* 1: every layer uses layer 0's weights (ALBERT) */
    int pos_offset;     /* position of token t is t + pos_offset (RoBERTa: 2) */
    float init_range;   /* initializer_range (0 = 0.02) */
} b4k_bert_config;

/* Embedding width E (hidden unless ALBERT's factorised embeddings). */
static inline int b4k_bert_emb(const b4k_bert_config *c) { return c->emb > 0 ? c->emb : c->hidden; }

/* Checks sizes (hidden divisible by heads, all positive, ...). */
int b4k_bert_config_check(const b4k_bert_config *c, b4k_err *err);

enum { /* per-layer parameter slots */
    B4K_BL_WQKV, B4K_BL_BQKV, B4K_BL_WO, B4K_BL_BO, B4K_BL_LN1G, B4K_BL_LN1B,
    B4K_BL_W1, B4K_BL_B1, B4K_BL_W2, B4K_BL_B2, B4K_BL_LN2G, B4K_BL_LN2B, B4K_BL_N
};

typedef struct b4k_bert {
    b4k_bert_config c;
    int p_word, p_pos, p_type, p_eln_g, p_eln_b; /* ptab indices */
    int p_proj_w, p_proj_b;                      /* E -> H projection, or -1 */
    int *pl;                                     /* (layers, B4K_BL_N) ptab indices
                                                    (shared: every row is layer 0's) */
    int first_param, last_param;                 /* index range in the table */
} b4k_bert;

/* Adds the encoder's tensors to tab (before b4k_ptab_alloc). */
int b4k_bert_add_params(b4k_bert *m, b4k_ptab *tab, b4k_err *err, const b4k_bert_config *c,
                        const char *prefix);
void b4k_bert_free(b4k_bert *m);
/* Encoder layer of parameter i of the table: 0..layers-1, -1 for the
 * embeddings, -2 for a tensor outside the encoder. */
int b4k_bert_param_layer(const b4k_bert *m, int i);
/* Random init as BERT: N(0, initializer_range) weights (truncated at 2
 * sigma), zero biases, LayerNorm gain 1. */
void b4k_bert_init_weights(const b4k_bert *m, b4k_ptab *tab, uint64_t seed);

/* Precision of the encoder's linear layers (b4k_bert_act_bf16). */
enum {
    B4K_BERT_F32 = 0,      /* f32 sgemm (b4k_gemm_par) */
    B4K_BERT_BF16 = 1,     /* bf16 GEMMs, f32 master weights and accumulation */
    B4K_BERT_BF16_REF = 2  /* the same through the GEMM's scalar _ref (tests) */
};
typedef struct b4k_bert_bf16 b4k_bert_bf16;

/* Activations of one forward pass (one arena, sized for B*T <= cap). */
typedef struct b4k_bert_act {
    int B, T, Bcap, Tcap, keep;  /* keep: all layers stored (training) */
    int layers;
    int train;                   /* last forward used dropout */
    int32_t *lens;               /* (Bcap) */
    const int32_t *ids, *segs;   /* borrowed from the last forward */
    float *arena;
    size_t arena_n;
    /* embeddings (E wide) */
    float *e_sum, *e_mean, *e_rstd, *e_ln; /* e_ln: (N,E) LN output before dropout */
    float *e_drop;               /* (N,E) after dropout: the projection's input (ALBERT) */
    uint8_t *e_mask;
    float *x0;                   /* (N,H) input of layer 0 */
    int32_t *zseg;               /* (Tcap) zeros: segment ids when none are given */
    /* per layer slot (keep ? layers : 1) */
    struct b4k_bert_lact {
        float *qkv, *P, *ctx, *h1, *m1, *r1, *a, *u, *g, *h2, *m2, *r2, *out;
        uint8_t *pmask, *amask, *fmask;
    } *L;
    /* backward scratch */
    float *dA, *dB, *dI, *dQKV, *dE1, *dE2; /* dE*: (N,E) */
    uint8_t *mask_arena;
    float *scratch;              /* attention scratch per pool thread */
    size_t scratch_n;
    b4k_bert_bf16 *bf16;         /* bf16 weights and GEMM work, or NULL (f32) */
} b4k_bert_act;

int b4k_bert_act_init(b4k_bert_act *a, b4k_err *err, const b4k_bert_config *c, int Bcap,
                      int Tcap, int keep);
void b4k_bert_act_free(b4k_bert_act *a);

/* Mixed precision for the passes that use these activations.  With
 * B4K_BERT_BF16 every linear layer of the encoder (q|k|v, attention
 * output, the two FFN layers, ALBERT's embedding projection) runs through
 * lib/nn/linear_bf16.h: the forward y = bf16(x) bf16(W)^T + b, the
 * backward dx = bf16(dy) bf16(W) and dW += bf16(dy)^T bf16(x), all
 * accumulated in f32; the f32 weights stay the master copy that AdamW
 * updates, and their bf16 copy is remade by the first forward after they
 * change (b4k_ptab_touch: once per optimiser step, and at EMA swaps).
 * Attention scores and probabilities, LayerNorm, GELU, softmax, dropout,
 * embeddings and everything outside the encoder stay f32.  Results do not
 * depend on the thread count of the bf16 GEMMs.  mode B4K_BERT_F32 turns
 * it off.  Memory: 2 bytes per linear weight, plus the GEMM work. */
int b4k_bert_act_bf16(b4k_bert_act *a, b4k_err *err, const b4k_bert *m, int mode);
/* Times the bf16 weights were made (tests). */
long b4k_bert_bf16_conversions(const b4k_bert_act *a);

/* Forward over ids, segs (B,T) (segs may be NULL = 0) with lens (B).
 * train: apply dropout drawn from rng (rng may be NULL when not training).
 * Output: b4k_bert_out(a) (B*T, H); the last block's pre-LN sum h2 (what
 * bert4keras reaches with model.layers[-2]) is b4k_bert_pre(a).
 * Ids must be in range (checked: returns B4K_ERANGE). */
int b4k_bert_forward(const b4k_bert *m, const b4k_ptab *tab, b4k_bert_act *a, b4k_err *err,
                     const int32_t *ids, const int32_t *segs, const int32_t *lens, int B,
                     int T, int train, b4k_rng *rng, b4k_pool *pool);
float *b4k_bert_out(const b4k_bert_act *a);
float *b4k_bert_pre(const b4k_bert_act *a);

/* Backward from dout (B*T,H) (gradient w.r.t. the output, consumed: it is
 * used as scratch) and dpre (gradient w.r.t. the last pre-LN sum, may be
 * NULL).  Accumulates into tab->g.  Needs keep = 1. */
int b4k_bert_backward(const b4k_bert *m, b4k_ptab *tab, b4k_bert_act *a, b4k_err *err,
                      float *dout, const float *dpre, b4k_pool *pool);

#endif
