/* CRF negative log-likelihood over float emissions; see crfloss.h. */
#include "crf/crfloss.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

int b4k_crfloss_init(b4k_crfloss *c, b4k_err *err, int L)
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
    b4k_crfloss_free(c);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

void b4k_crfloss_free(b4k_crfloss *c)
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

static int reserve(b4k_crfloss *c, int T)
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

static void set_trans(b4k_crfloss *c, const float *trans)
{
    size_t LL = (size_t)c->L * c->L;
    for (size_t i = 0; i < LL; i++) c->trans[i] = trans[i];
    b4k_crf1d_tr_set(&c->tr, c->trans, NULL, NULL);
}

int b4k_crfloss_nll(b4k_crfloss *c, b4k_err *err, double *loss, float *dem, float *dtrans,
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

int b4k_crfloss_decode(b4k_crfloss *c, b4k_err *err, int32_t *path, const float *em,
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
