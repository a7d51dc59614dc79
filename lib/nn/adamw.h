/* Parameter table and the AdamW optimiser used by b4k-extract.
 *
 * A b4k_ptab holds every trainable tensor of a model in one flat f32
 * buffer (w) with a same-shaped gradient buffer (g), so the optimiser,
 * clipping, EMA and checkpoints work on plain arrays.  Tensors are added by
 * name (BERT encoder first, then the heads), then b4k_ptab_alloc() lays
 * them out; offsets never change afterwards.
 *
 * AdamW follows torch.optim.AdamW (decoupled weight decay applied as
 * p -= lr * wd * p before the Adam update, bias-corrected moments,
 * denominator sqrt(v_hat) + eps); bert4keras's AdamW applies the same
 * decay.  Weight decay skips tensors flagged no_decay (LayerNorm gains and
 * biases).  Each tensor has an lr multiplier (bert4keras's lr_multiplier on
 * the CRF transitions; layer-wise decay).  The schedule is linear warmup
 * then linear decay to zero (bert4keras's piecewise_linear). */
#ifndef B4K_NN_ADAMW_H
#define B4K_NN_ADAMW_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct b4k_ptensor {
    char name[96];
    size_t off, n;     /* element offset into w/g, element count */
    int ndim;
    int shape[2];      /* (rows, cols) or (n) */
    int decay;         /* 1: weight decay applies */
    float lr_mult;     /* learning-rate multiplier (1 by default) */
} b4k_ptensor;

typedef struct b4k_ptab {
    b4k_ptensor *t;
    int n;
    size_t cap;
    size_t total;      /* total elements */
    float *w, *g;      /* (total) weights and gradients (64-byte aligned) */
    uint64_t version;  /* bumped by b4k_ptab_touch() whenever w changes */
} b4k_ptab;

void b4k_ptab_init(b4k_ptab *tab);
void b4k_ptab_free(b4k_ptab *tab);  /* frees buffers and table; NULL ok */
/* Adds a tensor; returns its index (>= 0) or a negative B4K_E*.
 * cols <= 0 means a vector of `rows` elements.  Must precede alloc. */
int b4k_ptab_add(b4k_ptab *tab, b4k_err *err, const char *name, int rows, int cols,
                 int decay);
/* Lays out and zero-fills w and g.  Tensors are packed in the order they
 * were added, so consecutive tensors form one block (fused q|k|v). */
int b4k_ptab_alloc(b4k_ptab *tab, b4k_err *err);
int b4k_ptab_find(const b4k_ptab *tab, const char *name);  /* index or -1 */
static inline float *b4k_ptab_w(const b4k_ptab *tab, int i) { return tab->w + tab->t[i].off; }
static inline float *b4k_ptab_g(const b4k_ptab *tab, int i) { return tab->g + tab->t[i].off; }
void b4k_ptab_zero_grad(b4k_ptab *tab);
/* Say that the weights w changed, so derived copies (the bf16 weights of
 * b4k_bert_act_bf16) are remade before their next use.  The optimiser step
 * and the EMA swaps call it; code that writes w itself between two forward
 * passes must too (loading weights before the first forward need not). */
static inline void b4k_ptab_touch(b4k_ptab *tab) { tab->version++; }
/* Global L2 norm of the gradient (double accumulation). */
double b4k_ptab_grad_norm(const b4k_ptab *tab);

typedef struct b4k_adamw_opts {
    float lr;            /* peak learning rate */
    float beta1, beta2, eps;
    float weight_decay;
    float clip_norm;     /* <= 0: no clipping */
    long warmup_steps;   /* linear warmup from 0 */
    long total_steps;    /* > 0: linear decay to 0 at total_steps; 0: constant */
    float ema_decay;     /* 0: no EMA; e.g. 0.999 as bert4keras's examples */
} b4k_adamw_opts;

void b4k_adamw_defaults(b4k_adamw_opts *o); /* lr 2e-5, 0.9, 0.999, 1e-6, wd 0.01 */

typedef struct b4k_adamw {
    b4k_adamw_opts o;
    long step;           /* steps taken */
    float *m, *v;        /* (total) moments */
    float *ema;          /* (total) EMA weights or NULL */
    float *swap;         /* (total) saved weights while EMA is applied, or NULL */
    int ema_applied;
} b4k_adamw;

int b4k_adamw_init(b4k_adamw *opt, b4k_err *err, const b4k_ptab *tab,
                   const b4k_adamw_opts *o);
void b4k_adamw_free(b4k_adamw *opt);
/* Learning rate for step number s (0-based) under the schedule. */
float b4k_adamw_lr_at(const b4k_adamw_opts *o, long step);
/* One update from tab->g (which it does not clear).  grad_scale multiplies
 * the gradient first (1/accumulation steps).  Clips by global norm if
 * asked; returns the pre-clip norm in *gnorm (may be NULL). */
void b4k_adamw_step(b4k_adamw *opt, b4k_ptab *tab, float grad_scale, double *gnorm);
/* bert4keras's ExponentialMovingAverage: swap the EMA weights in for
 * evaluation and back.  No-ops without EMA. */
void b4k_adamw_ema_apply(b4k_adamw *opt, b4k_ptab *tab);
void b4k_adamw_ema_restore(b4k_adamw *opt, b4k_ptab *tab);

#endif
