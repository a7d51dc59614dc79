/* Losses of the extraction heads, each returning the loss and writing the
 * gradient w.r.t. its inputs.
 *
 *  - masked binary cross-entropy on p = sigmoid(z)^k (bert4keras's CasRel
 *    example squares the subject pointers and raises object pointers to the
 *    4th power to sharpen them), computed stably in log space;
 *  - the negative log-likelihood of a linear-chain CRF over BERT emissions,
 *    through lib/crf (bert4keras's ConditionalRandomField: transitions only,
 *    no start/end scores; loss averaged over the batch). */
#ifndef B4K_NN_LOSS_H
#define B4K_NN_LOSS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crf/crf1d.h"

/* sum over rows n with weight rw[n] (rw NULL = 1) and columns k<K of
 * bce(sigmoid(z)^power, y), times scale.  dz(N,K) (may be NULL) receives the
 * gradient of the returned value. */
double b4k_loss_bce_pow(float *dz, const float *z, const float *y, const float *rw, size_t N,
                        int K, int power, double scale);

typedef struct b4k_loss_crf {
    int L;
    b4k_crf1d_tr tr;
    b4k_crf1d_ws *ws;
    double *em, *gem, *gtrans, *trans; /* (T,L), (T,L), (L,L), (L,L) */
    size_t cap;
} b4k_loss_crf;

int b4k_loss_crf_init(b4k_loss_crf *c, b4k_err *err, int L);
void b4k_loss_crf_free(b4k_loss_crf *c);
/* Mean NLL over B sequences of em (B,T,L) with gold tags (B,T), first
 * lens[b] positions, times scale.  dem (B,T,L) is written (0 on padding),
 * dtrans (L,L) accumulated; either may be NULL. */
int b4k_loss_crf_nll(b4k_loss_crf *c, b4k_err *err, double *loss, float *dem, float *dtrans,
                 const float *em, const float *trans, const int32_t *tags, const int32_t *lens,
                 int B, int T, double scale);
/* Viterbi path of one sequence em (n,L) into path (n). */
int b4k_loss_crf_decode(b4k_loss_crf *c, b4k_err *err, int32_t *path, const float *em,
                        const float *trans, int n);

/* p = sigmoid(z)^power */
static inline float b4k_sigmoid_pow(float z, int power)
{
    float s = 1.f / (1.f + expf(-z)), p = s;
    for (int i = 1; i < power; i++) p *= s;
    return p;
}

#endif
