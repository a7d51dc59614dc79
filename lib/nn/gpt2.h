/* GPT-2 / CPM-LM decoder (pre-LN blocks, tied LM head) over weights borrowed
 * from an mmap'd .b4k model, with a KV cache of several sequence slots.
 *
 * Model file: architecture "gpt2" or "cpm"; config keys
 *   n_layer, n_embd, n_head, vocab_size, n_ctx (or n_positions),
 *   layer_norm_epsilon (default 1e-5), activation ("gelu_new"/"gelu_tanh"
 *   = tanh form, default; "gelu"/"gelu_erf" = erf form), eos_token_id.
 * Tensors (Linear layout: weight (out, in), out = x W^T + b):
 *   wte.weight (V,C)  wpe.weight (P,C)  ln_f.weight (C)  ln_f.bias (C)
 *   h.L.ln_1.weight/bias (C)         h.L.ln_2.weight/bias (C)
 *   h.L.attn.c_attn.weight (3C,C)    h.L.attn.c_attn.bias (3C)
 *   h.L.attn.c_proj.weight (C,C)     h.L.attn.c_proj.bias (C)
 *   h.L.mlp.c_fc.weight (4C,C)       h.L.mlp.c_fc.bias (4C)
 *   h.L.mlp.c_proj.weight (C,4C)     h.L.mlp.c_proj.bias (C)
 *   lm_head.weight (V,C) optional (else tied to wte.weight).
 * Matrices may be f32, f16, bf16 or q8 (q8 needs in % 32 == 0); vectors and
 * wpe are converted to f32 at load if stored otherwise (small copies).  The
 * big matrices are used in place: nothing is copied out of the map.
 *
 * Activations live in one arena allocated at b4k_gpt2_new for at most
 * max_tokens tokens per forward call (longer prefills run in chunks).
 *
 * Threads: every forward call (a decode step or a prefill chunk) is one run
 * of the decoder's pool, with barriers between phases; each thread takes a
 * range of the output columns of every matrix product.  Prefill GEMMs are
 * single-threaded BLAS calls on those ranges, so b4k_gpt2_new sets
 * b4k_blas_set_threads(1) for the process.  Results are reproducible for a
 * given thread count. */
#ifndef B4K_NN_GPT2_H
#define B4K_NN_GPT2_H

#include "core/err.h"
#include "core/threads.h"
#include "model/model.h"
#include "tensor/matvec.h"

typedef struct b4k_gpt2_config {
    int n_layer, n_embd, n_head, vocab, n_ctx;
    float eps;
    int gelu_erf;    /* 0: tanh form (GPT-2, CPM), 1: erf form */
    int eos_id;      /* -1 when the config has none */
    int wdtype;      /* dtype of the big matrices (of wte) */
} b4k_gpt2_config;

typedef struct b4k_gpt2_opts {
    int threads;     /* <= 0: all CPUs */
    int slots;       /* KV-cache sequences (beams), >= 1 */
    int ctx;         /* cache length, <= n_ctx; 0 = n_ctx */
    int max_tokens;  /* arena size in tokens per forward call; 0 = 256 */
} b4k_gpt2_opts;

typedef struct b4k_gpt2 b4k_gpt2;

/* Build a decoder over m (which must outlive it). */
int b4k_gpt2_new(b4k_gpt2 **out, b4k_model *m, const b4k_gpt2_opts *opts, b4k_err *err);
void b4k_gpt2_free(b4k_gpt2 *g);
const b4k_gpt2_config *b4k_gpt2_cfg(const b4k_gpt2 *g);
int b4k_gpt2_ctx(const b4k_gpt2 *g);  /* usable positions per slot */

/* Parse and check a config object (for the CLI's early errors). */
int b4k_gpt2_config_parse(b4k_gpt2_config *cfg, const char *arch, json_t *config,
                          b4k_err *err);

/* Feed T tokens of one sequence (slot) at positions pos0..pos0+T-1 (the
 * cache must hold 0..pos0-1).  logits: (T,V) if all, else (V) for the last
 * token; may be NULL (only fill the cache). */
int b4k_gpt2_prefill(b4k_gpt2 *g, int slot, const int *ids, int T, int pos0, float *logits,
                     int all, b4k_err *err);

/* One token for each of B sequences: ids[b] at position pos[b] of slot
 * slots[b] (distinct slots).  logits (B,V).  B <= max(slots, 8). */
int b4k_gpt2_step(b4k_gpt2 *g, int B, const int *slots, const int *ids, const int *pos,
                  float *logits, b4k_err *err);

/* Copy positions [0,n) of the cache of slot src into slot dst (beams). */
void b4k_gpt2_copy_slot(b4k_gpt2 *g, int dst, int src, int n);

/* Bytes of weights read per decoded token (for bandwidth figures). */
size_t b4k_gpt2_weight_bytes(const b4k_gpt2 *g);

#endif
