/* Losses of the extraction heads, returning the loss and writing the
 * gradient w.r.t. the inputs: masked binary cross-entropy on
 * p = sigmoid(z)^k (bert4keras's CasRel example squares the subject
 * pointers and raises object pointers to the 4th power to sharpen them),
 * computed stably in log space.  (The CRF head's loss is in
 * lib/crf/crfloss.h: nn does not depend on crf.) */
#ifndef B4K_NN_LOSS_H
#define B4K_NN_LOSS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* sum over rows n with weight rw[n] (rw NULL = 1) and columns k<K of
 * bce(sigmoid(z)^power, y), times scale.  dz(N,K) (may be NULL) receives the
 * gradient of the returned value. */
double b4k_loss_bce_pow(float *dz, const float *z, const float *y, const float *rw, size_t N,
                        int K, int power, double scale);

/* p = sigmoid(z)^power */
static inline float b4k_sigmoid_pow(float z, int power)
{
    float s = 1.f / (1.f + expf(-z)), p = s;
    for (int i = 1; i < power; i++) p *= s;
    return p;
}

#endif
