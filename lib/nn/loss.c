/* Losses of the extraction heads; see loss.h. */
#include "nn/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"


double b4k_loss_bce_pow(float *dz, const float *z, const float *y, const float *rw, size_t N,
                        int K, int power, double scale)
{
    double total = 0;
    for (size_t n = 0; n < N; n++) {
        double w = rw ? rw[n] : 1.0;
        for (int k = 0; k < K; k++) {
            size_t i = n * K + k;
            if (w == 0) {
                if (dz) dz[i] = 0.f;
                continue;
            }
            float x = z[i], yy = y[i];
            /* one exp: e = exp(-|x|); s = sigmoid(x), oms = 1 - s */
            float e = expf(-fabsf(x)), inv = 1.f / (1.f + e);
            float sg = x >= 0 ? inv : e * inv, oms = x >= 0 ? e * inv : inv;
            float p = sg;
            for (int q = 1; q < power; q++) p *= sg;
            double l = 0;
            float one_m_p = 1.f - p;
            if (yy != 0.f || p >= 0.5f) {
                float ls = x >= 0 ? -log1pf(e) : x - log1pf(e); /* log s */
                float lp = (float)power * ls;                     /* log p */
                if (p >= 0.5f) one_m_p = -expm1f(lp);
                l -= (double)yy * lp;
            }
            if (yy != 1.f) {
                if (one_m_p < 1e-37f) one_m_p = 1e-37f;
                l -= (1.0 - yy) * (p < 0.5f ? log1pf(-p) : logf(one_m_p));
            }
            total += w * l;
            if (dz) {
                /* d/dx: -y k (1-s) + (1-y) k p (1-s) / (1-p) */
                double g = -yy * power * (double)oms + (1 - yy) * power * (double)p * oms / one_m_p;
                dz[i] = (float)(g * w * scale);
            }
        }
    }
    return total * scale;
}
