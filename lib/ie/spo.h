/* CasRel-style triple extraction head over a BERT encoder, as bert4keras's
 * examples/task_relation_extraction.py:
 *
 *   subject start/end  = sigmoid(out Ws^T + bs)^2             (T,2)
 *   subject vector     = [pre[start]; pre[end]]                (2H)
 *   conditional LN     = LN(pre) with gain  gamma + sv Wg^T
 *                                  and bias beta  + sv Wb^T   (Wg, Wb zero-init)
 *   object start/end   = sigmoid(cln Wo^T + bo)^4              (T,P,2)
 *   loss = masked mean BCE(subject) + masked sum-over-P mean BCE(object)
 *
 * `out` is the encoder output, `pre` the last block's pre-LN sum (the
 * conditional LN replaces the final LN, bert4keras's model.layers[-2]).
 * Parameters are added to the same b4k_ptab as the encoder ("spo.*"). */
#ifndef B4K_IE_SPO_H
#define B4K_IE_SPO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/adamw.h"

typedef struct b4k_spo_head {
    int H, P;
    float eps;
    int p_sw, p_sb, p_cg, p_cb, p_gw, p_bw, p_ow, p_ob;
} b4k_spo_head;

int b4k_spo_add_params(b4k_spo_head *h, b4k_ptab *tab, b4k_err *err, int H, int P, float eps);
/* Init as bert4keras: dense N(0,0.02) truncated, zero biases, CLN gain 1,
 * bias 0, conditional dense layers zero. */
void b4k_spo_init_weights(const b4k_spo_head *h, b4k_ptab *tab, uint64_t seed);

typedef struct b4k_spo_ws {
    int Bcap, Tcap;
    float *zs, *dzs;          /* (N,2) subject logits, gradient */
    float *sv, *dsv;          /* (B,2H) */
    float *G, *Bt, *dG, *dBt; /* (B,H) */
    float *Grow, *Brow;       /* (N,H) per-row gain and bias */
    float *cln, *cm, *cr;     /* (N,H), (N), (N) */
    float *zo, *dzo;          /* (N,2P) */
    float *dcln, *dGrow, *dBrow; /* (N,H) */
    float *dout, *dpre;       /* (N,H) gradients for the encoder */
    float *rw;                /* (N) row weights (1 = real token) */
    float *arena;
} b4k_spo_ws;

int b4k_spo_ws_init(b4k_spo_ws *ws, b4k_err *err, const b4k_spo_head *h, int Bcap, int Tcap);
void b4k_spo_ws_free(b4k_spo_ws *ws);

/* Training: forward of the head over a batch, loss, and (if backward) the
 * head's parameter gradients (accumulated into tab->g) and ws->dout,
 * ws->dpre for b4k_bert_backward().
 *   out, pre (B,T,H); lens (B); subj (B,2) token start/end of the subject
 *   fed to the conditional LN; subj_lab (B,T,2); obj_lab (B,T,P,2). */
int b4k_spo_loss(const b4k_spo_head *h, b4k_ptab *tab, b4k_spo_ws *ws, b4k_err *err,
                 const float *out, const float *pre, const int32_t *lens, int B, int T,
                 const int32_t *subj, const float *subj_lab, const float *obj_lab,
                 double *loss, int backward);

typedef struct b4k_spo_triple {
    int s0, s1;  /* subject token span [s0, s1] (inclusive) */
    int p;       /* predicate index */
    int o0, o1;  /* object token span [o0, o1] */
    float score; /* min of the four pointer probabilities */
} b4k_spo_triple;

typedef struct b4k_spo_thresh {
    float subj_start, subj_end, obj_start, obj_end; /* 0.6 0.5 0.6 0.5 */
} b4k_spo_thresh;

/* Decode one sequence: out, pre (n,H) rows of one example.  Token
 * positions in [first, last] are candidates (skip [CLS]/[SEP]).  Appends
 * to *trip (grown with B4K_GROW), unique triples in order of discovery. */
int b4k_spo_decode(const b4k_spo_head *h, const b4k_ptab *tab, b4k_spo_ws *ws, b4k_err *err,
                   const float *out, const float *pre, int n, int first, int last,
                   const b4k_spo_thresh *th, b4k_spo_triple **trip, size_t *ntrip,
                   size_t *cap);

#endif
