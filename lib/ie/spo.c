/* CasRel-style triple extraction head; see spo.h. */
#include "ie/spo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "nn/loss.h"
#include "nn/ops.h"
#include "nn/ops_bwd.h"

int b4k_spo_add_params(b4k_spo_head *h, b4k_ptab *tab, b4k_err *err, int H, int P, float eps)
{
    memset(h, 0, sizeof *h);
    if (H <= 0 || P <= 0) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "spo: no predicates");
    h->H = H;
    h->P = P;
    h->eps = eps;
#define ADD(dst, name, r, c, d)                                   \
    do {                                                          \
        int i_ = b4k_ptab_add(tab, err, name, r, c, d);           \
        if (i_ < 0) return i_;                                    \
        h->dst = i_;                                              \
    } while (0)
    ADD(p_sw, "spo.subject.weight", 2, H, 1);
    ADD(p_sb, "spo.subject.bias", 2, 0, 0);
    ADD(p_cg, "spo.cln.weight", H, 0, 0);
    ADD(p_cb, "spo.cln.bias", H, 0, 0);
    ADD(p_gw, "spo.cln.gamma_dense.weight", H, 2 * H, 1);
    ADD(p_bw, "spo.cln.beta_dense.weight", H, 2 * H, 1);
    ADD(p_ow, "spo.object.weight", 2 * P, H, 1);
    ADD(p_ob, "spo.object.bias", 2 * P, 0, 0);
#undef ADD
    return 0;
}

void b4k_spo_init_weights(const b4k_spo_head *h, b4k_ptab *tab, uint64_t seed)
{
    b4k_rng r;
    b4k_rng_seed(&r, seed, 0x73706f); /* "spo" */
    int dense[2] = {h->p_sw, h->p_ow};
    for (int k = 0; k < 2; k++) {
        b4k_ptensor *t = &tab->t[dense[k]];
        float *w = tab->w + t->off;
        for (size_t i = 0; i < t->n; i++) {
            double z;
            do z = b4k_rng_normal(&r);
            while (z < -2 || z > 2);
            w[i] = (float)(z * 0.02);
        }
    }
    int zero[5] = {h->p_sb, h->p_cb, h->p_gw, h->p_bw, h->p_ob};
    for (int k = 0; k < 5; k++) memset(b4k_ptab_w(tab, zero[k]), 0, tab->t[zero[k]].n * sizeof(float));
    float *g = b4k_ptab_w(tab, h->p_cg);
    for (int i = 0; i < h->H; i++) g[i] = 1.f;
}

int b4k_spo_ws_init(b4k_spo_ws *ws, b4k_err *err, const b4k_spo_head *h, int Bcap, int Tcap)
{
    memset(ws, 0, sizeof *ws);
    size_t N = (size_t)Bcap * Tcap, H = h->H, P2 = 2 * (size_t)h->P, B = Bcap;
    size_t total = N * 2 * 2 + B * 2 * H * 2 + B * H * 4 + N * H * 2 + N * H + 2 * N + N * P2 * 2 +
                   N * H * 3 + N * H * 2 + N;
    ws->arena = b4k_malloc_n(total, sizeof(float));
    if (!ws->arena) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    memset(ws->arena, 0, total * sizeof(float));
    ws->Bcap = Bcap;
    ws->Tcap = Tcap;
    float *p = ws->arena;
#define TAKE(n) (p += (n), p - (n))
    ws->zs = TAKE(N * 2);
    ws->dzs = TAKE(N * 2);
    ws->sv = TAKE(B * 2 * H);
    ws->dsv = TAKE(B * 2 * H);
    ws->G = TAKE(B * H);
    ws->Bt = TAKE(B * H);
    ws->dG = TAKE(B * H);
    ws->dBt = TAKE(B * H);
    ws->Grow = TAKE(N * H);
    ws->Brow = TAKE(N * H);
    ws->cln = TAKE(N * H);
    ws->cm = TAKE(N);
    ws->cr = TAKE(N);
    ws->zo = TAKE(N * P2);
    ws->dzo = TAKE(N * P2);
    ws->dcln = TAKE(N * H);
    ws->dGrow = TAKE(N * H);
    ws->dBrow = TAKE(N * H);
    ws->dout = TAKE(N * H);
    ws->dpre = TAKE(N * H);
    ws->rw = TAKE(N);
#undef TAKE
    return 0;
}

void b4k_spo_ws_free(b4k_spo_ws *ws)
{
    if (!ws) return;
    free(ws->arena);
    memset(ws, 0, sizeof *ws);
}

/* conditional LN + object logits for B subjects over rows of T tokens;
 * pre is (B,T,H) (or one (T,H) sequence shared when pre_shared). */
static void cln_forward(const b4k_spo_head *h, const b4k_ptab *tab, b4k_spo_ws *ws,
                        const float *pre, int pre_shared, int B, int T)
{
    int H = h->H, N = B * T;
    b4k_linear_fwd(ws->G, ws->sv, b4k_ptab_w(tab, h->p_gw), b4k_ptab_w(tab, h->p_cg), B, 2 * H, H);
    b4k_linear_fwd(ws->Bt, ws->sv, b4k_ptab_w(tab, h->p_bw), b4k_ptab_w(tab, h->p_cb), B, 2 * H, H);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            memcpy(ws->Grow + ((size_t)b * T + t) * H, ws->G + (size_t)b * H, H * sizeof(float));
            memcpy(ws->Brow + ((size_t)b * T + t) * H, ws->Bt + (size_t)b * H, H * sizeof(float));
        }
    for (int b = 0; b < B; b++)
        b4k_layernorm_fwd_strided(ws->cln + (size_t)b * T * H, ws->cm + (size_t)b * T, ws->cr + (size_t)b * T,
                      pre + (pre_shared ? 0 : (size_t)b * T * H), ws->Grow + (size_t)b * T * H, H,
                      ws->Brow + (size_t)b * T * H, H, T, H, h->eps);
    b4k_linear_fwd(ws->zo, ws->cln, b4k_ptab_w(tab, h->p_ow), b4k_ptab_w(tab, h->p_ob), N, H,
                      2 * h->P);
}

int b4k_spo_loss(const b4k_spo_head *h, b4k_ptab *tab, b4k_spo_ws *ws, b4k_err *err,
                 const float *out, const float *pre, const int32_t *lens, int B, int T,
                 const int32_t *subj, const float *subj_lab, const float *obj_lab,
                 double *loss, int backward)
{
    int H = h->H, N = B * T, P2 = 2 * h->P;
    if (B > ws->Bcap || T > ws->Tcap)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "spo: batch exceeds workspace");
    double M = 0;
    for (int b = 0; b < B; b++) {
        if (subj[2 * b] < 0 || subj[2 * b] >= T || subj[2 * b + 1] < 0 || subj[2 * b + 1] >= T)
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "spo: subject position out of range");
        for (int t = 0; t < T; t++) ws->rw[(size_t)b * T + t] = t < lens[b] ? 1.f : 0.f;
        M += lens[b] < T ? lens[b] : T;
    }
    if (M <= 0) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "spo: empty batch");
    b4k_linear_fwd(ws->zs, out, b4k_ptab_w(tab, h->p_sw), b4k_ptab_w(tab, h->p_sb), N, H, 2);
    for (int b = 0; b < B; b++) {
        memcpy(ws->sv + (size_t)b * 2 * H, pre + ((size_t)b * T + subj[2 * b]) * H, H * sizeof(float));
        memcpy(ws->sv + (size_t)b * 2 * H + H, pre + ((size_t)b * T + subj[2 * b + 1]) * H,
               H * sizeof(float));
    }
    cln_forward(h, tab, ws, pre, 0, B, T);
    double ls = b4k_loss_bce_pow(backward ? ws->dzs : NULL, ws->zs, subj_lab, ws->rw, (size_t)N, 2,
                                 2, 1.0 / (2 * M));
    double lo = b4k_loss_bce_pow(backward ? ws->dzo : NULL, ws->zo, obj_lab, ws->rw, (size_t)N, P2,
                                 4, 1.0 / (2 * M));
    *loss = ls + lo;
    if (!backward) return 0;
    /* subject pointers -> dout */
    b4k_nn_linear_bwd(ws->dout, 0, b4k_ptab_g(tab, h->p_sw), b4k_ptab_g(tab, h->p_sb), ws->dzs, out,
                      b4k_ptab_w(tab, h->p_sw), N, H, 2);
    /* object pointers -> dcln */
    b4k_nn_linear_bwd(ws->dcln, 0, b4k_ptab_g(tab, h->p_ow), b4k_ptab_g(tab, h->p_ob), ws->dzo,
                      ws->cln, b4k_ptab_w(tab, h->p_ow), N, H, P2);
    /* conditional LN -> dpre, per-row dG, dB */
    for (int b = 0; b < B; b++)
        b4k_nn_ln_bwd(ws->dpre + (size_t)b * T * H, ws->dGrow + (size_t)b * T * H,
                      ws->dBrow + (size_t)b * T * H, ws->dcln + (size_t)b * T * H,
                      pre + (size_t)b * T * H, ws->cm + (size_t)b * T, ws->cr + (size_t)b * T,
                      ws->Grow + (size_t)b * T * H, H, T, H);
    memset(ws->dG, 0, (size_t)B * H * sizeof(float));
    memset(ws->dBt, 0, (size_t)B * H * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *gr = ws->dGrow + ((size_t)b * T + t) * H, *br = ws->dBrow + ((size_t)b * T + t) * H;
            float *dg = ws->dG + (size_t)b * H, *db = ws->dBt + (size_t)b * H;
            for (int k = 0; k < H; k++) {
                dg[k] += gr[k];
                db[k] += br[k];
            }
        }
    b4k_nn_linear_bwd(ws->dsv, 0, b4k_ptab_g(tab, h->p_gw), b4k_ptab_g(tab, h->p_cg), ws->dG, ws->sv,
                      b4k_ptab_w(tab, h->p_gw), B, 2 * H, H);
    b4k_nn_linear_bwd(ws->dsv, 1, b4k_ptab_g(tab, h->p_bw), b4k_ptab_g(tab, h->p_cb), ws->dBt, ws->sv,
                      b4k_ptab_w(tab, h->p_bw), B, 2 * H, H);
    for (int b = 0; b < B; b++) {
        float *d0 = ws->dpre + ((size_t)b * T + subj[2 * b]) * H;
        float *d1 = ws->dpre + ((size_t)b * T + subj[2 * b + 1]) * H;
        const float *s = ws->dsv + (size_t)b * 2 * H;
        for (int k = 0; k < H; k++) d0[k] += s[k];
        for (int k = 0; k < H; k++) d1[k] += s[H + k];
    }
    return 0;
}

int b4k_spo_decode(const b4k_spo_head *h, const b4k_ptab *tab, b4k_spo_ws *ws, b4k_err *err,
                   const float *out, const float *pre, int n, int first, int last,
                   const b4k_spo_thresh *th, b4k_spo_triple **trip, size_t *ntrip, size_t *cap)
{
    int H = h->H, P = h->P, P2 = 2 * P;
    if (n > ws->Tcap) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "spo: sequence too long");
    if (last >= n) last = n - 1;
    b4k_linear_fwd(ws->zs, out, b4k_ptab_w(tab, h->p_sw), b4k_ptab_w(tab, h->p_sb), n, H, 2);
    for (int i = first; i <= last; i++) {
        float ps = b4k_sigmoid_pow(ws->zs[2 * i], 2);
        if (!(ps > th->subj_start)) continue;
        int j = -1;
        float pe = 0;
        for (int k = i; k <= last; k++) {
            pe = b4k_sigmoid_pow(ws->zs[2 * k + 1], 2);
            if (pe > th->subj_end) {
                j = k;
                break;
            }
        }
        if (j < 0) continue;
        /* objects for subject (i, j) */
        memcpy(ws->sv, pre + (size_t)i * H, H * sizeof(float));
        memcpy(ws->sv + H, pre + (size_t)j * H, H * sizeof(float));
        cln_forward(h, tab, ws, pre, 1, 1, n);
        for (int t = first; t <= last; t++)
            for (int p = 0; p < P; p++) {
                float os = b4k_sigmoid_pow(ws->zo[(size_t)t * P2 + 2 * p], 4);
                if (!(os > th->obj_start)) continue;
                for (int t2 = t; t2 <= last; t2++) {
                    float oe = b4k_sigmoid_pow(ws->zo[(size_t)t2 * P2 + 2 * p + 1], 4);
                    if (!(oe > th->obj_end)) continue;
                    b4k_spo_triple tr = {i, j, p, t, t2, fminf(fminf(ps, pe), fminf(os, oe))};
                    int dup = 0;
                    for (size_t q = 0; q < *ntrip; q++) {
                        b4k_spo_triple *o = &(*trip)[q];
                        if (o->s0 == i && o->s1 == j && o->p == p && o->o0 == t && o->o1 == t2) dup = 1;
                    }
                    if (!dup) {
                        if (B4K_GROW(*trip, *cap, *ntrip + 1))
                            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                        (*trip)[(*ntrip)++] = tr;
                    }
                    break;
                }
            }
    }
    return 0;
}
