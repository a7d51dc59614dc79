/* The negative log-likelihood of a linear-chain CRF over float emissions
 * (B,T,L), with its gradient, and Viterbi decoding: the CRF head of
 * b4k-extract's ner task (bert4keras's ConditionalRandomField: transitions
 * only, no start/end scores; loss averaged over the batch), on top of
 * lib/crf's forward-backward (crf1d).  It lives here, not in lib/nn, so
 * that nn does not depend on crf. */
#ifndef B4K_CRF_CRFLOSS_H
#define B4K_CRF_CRFLOSS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crf/crf1d.h"

typedef struct b4k_crfloss {
    int L;
    b4k_crf1d_tr tr;
    b4k_crf1d_ws *ws;
    double *em, *gem, *gtrans, *trans; /* (T,L), (T,L), (L,L), (L,L) */
    size_t cap;
} b4k_crfloss;

int b4k_crfloss_init(b4k_crfloss *c, b4k_err *err, int L);
void b4k_crfloss_free(b4k_crfloss *c);
/* Mean NLL over B sequences of em (B,T,L) with gold tags (B,T), first
 * lens[b] positions, times scale.  dem (B,T,L) is written (0 on padding),
 * dtrans (L,L) accumulated; either may be NULL. */
int b4k_crfloss_nll(b4k_crfloss *c, b4k_err *err, double *loss, float *dem, float *dtrans,
                 const float *em, const float *trans, const int32_t *tags, const int32_t *lens,
                 int B, int T, double scale);
/* Viterbi path of one sequence em (n,L) into path (n). */
int b4k_crfloss_decode(b4k_crfloss *c, b4k_err *err, int32_t *path, const float *em,
                        const float *trans, int n);

#endif
