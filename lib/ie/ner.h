/* BERT + CRF sequence labelling head (bert4keras's task_sequence_labeling
 * example): emissions = out W^T + b over the encoder output, a linear-chain
 * CRF with a transition matrix (trained with a larger learning rate through
 * its lr multiplier), mean negative log-likelihood, Viterbi decoding. */
#ifndef B4K_IE_NER_H
#define B4K_IE_NER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/adamw.h"
#include "crf/crfloss.h"

typedef struct b4k_ner_head {
    int H, L;
    int p_w, p_b, p_trans;
} b4k_ner_head;

/* crf_lr_mult: learning-rate multiplier of the transitions (bert4keras's
 * example uses 1000 with lr 2e-5). */
int b4k_ner_add_params(b4k_ner_head *h, b4k_ptab *tab, b4k_err *err, int H, int L,
                       float crf_lr_mult);
void b4k_ner_init_weights(const b4k_ner_head *h, b4k_ptab *tab, uint64_t seed);

typedef struct b4k_ner_ws {
    int Bcap, Tcap;
    float *em, *dem;  /* (N,L) */
    float *dout;      /* (N,H) gradient for the encoder */
    b4k_crfloss crf;
} b4k_ner_ws;

int b4k_ner_ws_init(b4k_ner_ws *ws, b4k_err *err, const b4k_ner_head *h, int Bcap, int Tcap);
void b4k_ner_ws_free(b4k_ner_ws *ws);

/* out (B,T,H), tags (B,T), lens (B).  With backward: head gradients into
 * tab->g and ws->dout for the encoder. */
int b4k_ner_loss(const b4k_ner_head *h, b4k_ptab *tab, b4k_ner_ws *ws, b4k_err *err,
                 const float *out, const int32_t *lens, const int32_t *tags, int B, int T,
                 double *loss, int backward);
/* Viterbi tags of one sequence out (n,H) into path (n). */
int b4k_ner_decode(const b4k_ner_head *h, const b4k_ptab *tab, b4k_ner_ws *ws, b4k_err *err,
                   const float *out, int n, int32_t *path);

#endif
