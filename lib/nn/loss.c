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

int b4k_loss_crf_init(b4k_loss_crf *c, b4k_err *err, int L)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    if (b4k_crf1d_tr_init(&c->tr, L)) goto nomem;
    c->ws = b4k_crf1d_ws_new(L);
    c->gtrans = b4k_calloc((size_t)L * L, sizeof(double));
    c->trans = b4k_calloc((size_t)L * L, sizeof(double));
    if (!c->ws || !c->gtrans || !c->trans) goto nomem;
    return 0;
nomem:
    b4k_loss_crf_free(c);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

void b4k_loss_crf_free(b4k_loss_crf *c)
{
    if (!c) return;
    b4k_crf1d_tr_free(&c->tr);
    b4k_crf1d_ws_free(c->ws);
    free(c->em);
    free(c->gem);
    free(c->gtrans);
    free(c->trans);
    memset(c, 0, sizeof *c);
}

static int reserve(b4k_loss_crf *c, int T)
{
    if ((size_t)T <= c->cap) return 0;
    double *e = b4k_realloc_n(c->em, (size_t)T * c->L, sizeof(double));
    if (!e) return B4K_ENOMEM;
    c->em = e;
    double *g = b4k_realloc_n(c->gem, (size_t)T * c->L, sizeof(double));
    if (!g) return B4K_ENOMEM;
    c->gem = g;
    c->cap = (size_t)T;
    if (b4k_crf1d_ws_reserve(c->ws, (size_t)T)) return B4K_ENOMEM;
    return 0;
}

static void set_trans(b4k_loss_crf *c, const float *trans)
{
    size_t LL = (size_t)c->L * c->L;
    for (size_t i = 0; i < LL; i++) c->trans[i] = trans[i];
    b4k_crf1d_tr_set(&c->tr, c->trans, NULL, NULL);
}

int b4k_loss_crf_nll(b4k_loss_crf *c, b4k_err *err, double *loss, float *dem, float *dtrans,
                 const float *em, const float *trans, const int32_t *tags, const int32_t *lens,
                 int B, int T, double scale)
{
    int L = c->L;
    if (reserve(c, T)) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    set_trans(c, trans);
    memset(c->gtrans, 0, (size_t)L * L * sizeof(double));
    double total = 0;
    double f = scale / B;
    for (int b = 0; b < B; b++) {
        int n = lens[b] < T ? lens[b] : T;
        const float *e = em + (size_t)b * T * L;
        if (dem) memset(dem + (size_t)b * T * L, 0, (size_t)T * L * sizeof(float));
        if (n <= 0) continue;
        for (size_t i = 0; i < (size_t)n * L; i++) c->em[i] = e[i];
        for (int t = 0; t < n; t++)
            if (tags[(size_t)b * T + t] < 0 || tags[(size_t)b * T + t] >= L)
                return b4k_err_set(err, B4K_ERANGE, NULL, 0, "tag %d out of range",
                                   tags[(size_t)b * T + t]);
        double l;
        int rc = b4k_crf1d_nll(c->ws, &c->tr, c->em, (size_t)n, tags + (size_t)b * T, &l,
                               dem ? c->gem : NULL, dtrans ? c->gtrans : NULL, NULL, NULL);
        if (rc) return b4k_err_set(err, rc, NULL, 0, "CRF forward-backward failed");
        total += l;
        if (dem)
            for (size_t i = 0; i < (size_t)n * L; i++)
                dem[(size_t)b * T * L + i] = (float)(c->gem[i] * f);
    }
    if (dtrans)
        for (size_t i = 0; i < (size_t)L * L; i++) dtrans[i] += (float)(c->gtrans[i] * f);
    *loss = total * f;
    return 0;
}

int b4k_loss_crf_decode(b4k_loss_crf *c, b4k_err *err, int32_t *path, const float *em,
                        const float *trans, int n)
{
    if (n <= 0) return 0;
    if (reserve(c, n)) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    set_trans(c, trans);
    for (size_t i = 0; i < (size_t)n * c->L; i++) c->em[i] = em[i];
    double s;
    int rc = b4k_crf1d_viterbi(c->ws, &c->tr, c->em, (size_t)n, path, &s);
    if (rc) return b4k_err_set(err, rc, NULL, 0, "Viterbi failed");
    return 0;
}
