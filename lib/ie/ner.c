/* BERT + CRF sequence labelling head; see ner.h. */
#include "ie/ner.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "nn/ops.h"
#include "nn/ops_bwd.h"

int b4k_ner_add_params(b4k_ner_head *h, b4k_ptab *tab, b4k_err *err, int H, int L,
                       float crf_lr_mult)
{
    memset(h, 0, sizeof *h);
    if (H <= 0 || L <= 0) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "ner: no labels");
    h->H = H;
    h->L = L;
    int i;
    if ((i = b4k_ptab_add(tab, err, "ner.dense.weight", L, H, 1)) < 0) return i;
    h->p_w = i;
    if ((i = b4k_ptab_add(tab, err, "ner.dense.bias", L, 0, 0)) < 0) return i;
    h->p_b = i;
    if ((i = b4k_ptab_add(tab, err, "ner.crf.transitions", L, L, 1)) < 0) return i;
    h->p_trans = i;
    tab->t[i].lr_mult = crf_lr_mult > 0 ? crf_lr_mult : 1.f;
    return 0;
}

void b4k_ner_init_weights(const b4k_ner_head *h, b4k_ptab *tab, uint64_t seed)
{
    b4k_rng r;
    b4k_rng_seed(&r, seed, 0x6e6572); /* "ner" */
    float *w = b4k_ptab_w(tab, h->p_w);
    for (size_t i = 0; i < tab->t[h->p_w].n; i++) {
        double z;
        do z = b4k_rng_normal(&r);
        while (z < -2 || z > 2);
        w[i] = (float)(z * 0.02);
    }
    memset(b4k_ptab_w(tab, h->p_b), 0, (size_t)h->L * sizeof(float));
    memset(b4k_ptab_w(tab, h->p_trans), 0, (size_t)h->L * h->L * sizeof(float));
}

int b4k_ner_ws_init(b4k_ner_ws *ws, b4k_err *err, const b4k_ner_head *h, int Bcap, int Tcap)
{
    memset(ws, 0, sizeof *ws);
    size_t N = (size_t)Bcap * Tcap;
    ws->Bcap = Bcap;
    ws->Tcap = Tcap;
    ws->em = b4k_malloc_n(N * h->L, sizeof(float));
    ws->dem = b4k_malloc_n(N * h->L, sizeof(float));
    ws->dout = b4k_malloc_n(N * h->H, sizeof(float));
    if (!ws->em || !ws->dem || !ws->dout) {
        b4k_ner_ws_free(ws);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    int rc = b4k_crfloss_init(&ws->crf, err, h->L);
    if (rc) b4k_ner_ws_free(ws);
    return rc;
}

void b4k_ner_ws_free(b4k_ner_ws *ws)
{
    if (!ws) return;
    free(ws->em);
    free(ws->dem);
    free(ws->dout);
    b4k_crfloss_free(&ws->crf);
    memset(ws, 0, sizeof *ws);
}

int b4k_ner_loss(const b4k_ner_head *h, b4k_ptab *tab, b4k_ner_ws *ws, b4k_err *err,
                 const float *out, const int32_t *lens, const int32_t *tags, int B, int T,
                 double *loss, int backward)
{
    int N = B * T, H = h->H, L = h->L;
    if (B > ws->Bcap || T > ws->Tcap)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "ner: batch exceeds workspace");
    b4k_linear_fwd(ws->em, out, b4k_ptab_w(tab, h->p_w), b4k_ptab_w(tab, h->p_b), N, H, L);
    int rc = b4k_crfloss_nll(&ws->crf, err, loss, backward ? ws->dem : NULL,
                              backward ? b4k_ptab_g(tab, h->p_trans) : NULL, ws->em,
                              b4k_ptab_w(tab, h->p_trans), tags, lens, B, T, 1.0);
    if (rc || !backward) return rc;
    b4k_nn_linear_bwd(ws->dout, 0, b4k_ptab_g(tab, h->p_w), b4k_ptab_g(tab, h->p_b), ws->dem, out,
                      b4k_ptab_w(tab, h->p_w), N, H, L);
    return 0;
}

int b4k_ner_decode(const b4k_ner_head *h, const b4k_ptab *tab, b4k_ner_ws *ws, b4k_err *err,
                   const float *out, int n, int32_t *path)
{
    if (n > ws->Bcap * ws->Tcap) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "ner: too long");
    b4k_linear_fwd(ws->em, out, b4k_ptab_w(tab, h->p_w), b4k_ptab_w(tab, h->p_b), n, h->H, h->L);
    return b4k_crfloss_decode(&ws->crf, err, path, ws->em, b4k_ptab_w(tab, h->p_trans), n);
}
