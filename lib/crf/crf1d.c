/* Linear-chain CRF inference: scaled forward-backward, marginals, gradient,
 * Viterbi and list-Viterbi n-best.  See crf1d.h. */
#include "crf/crf1d.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/err.h"

int b4k_crf1d_tr_init(b4k_crf1d_tr *tr, int L)
{
    memset(tr, 0, sizeof *tr);
    if (L < 1)
        return B4K_EINVAL;
    size_t LL = (size_t)L * L;
    tr->L = L;
    tr->trans = b4k_calloc(LL, sizeof(double));
    tr->etrans = b4k_calloc(LL, sizeof(double));
    tr->vtrans = b4k_calloc(LL, sizeof(double));
    tr->start = b4k_calloc(L, sizeof(double));
    tr->end = b4k_calloc(L, sizeof(double));
    tr->estart = b4k_calloc(L, sizeof(double));
    tr->eend = b4k_calloc(L, sizeof(double));
    tr->allow = b4k_malloc(LL);
    tr->allow_start = b4k_malloc(L);
    tr->allow_end = b4k_malloc(L);
    if (!tr->trans || !tr->etrans || !tr->vtrans || !tr->start || !tr->end || !tr->estart || !tr->eend ||
        !tr->allow || !tr->allow_start || !tr->allow_end) {
        b4k_crf1d_tr_free(tr);
        return B4K_ENOMEM;
    }
    memset(tr->allow, 1, LL);
    memset(tr->allow_start, 1, L);
    memset(tr->allow_end, 1, L);
    b4k_crf1d_tr_set(tr, NULL, NULL, NULL);
    return 0;
}

void b4k_crf1d_tr_free(b4k_crf1d_tr *tr)
{
    if (!tr)
        return;
    b4k_free(tr->trans);
    b4k_free(tr->etrans);
    b4k_free(tr->vtrans);
    b4k_free(tr->start);
    b4k_free(tr->end);
    b4k_free(tr->estart);
    b4k_free(tr->eend);
    b4k_free(tr->allow);
    b4k_free(tr->allow_start);
    b4k_free(tr->allow_end);
    memset(tr, 0, sizeof *tr);
}

void b4k_crf1d_tr_constrain(b4k_crf1d_tr *tr, const uint8_t *allow, const uint8_t *allow_start,
                            const uint8_t *allow_end)
{
    int L = tr->L;
    size_t LL = (size_t)L * L;
    if (allow)
        memcpy(tr->allow, allow, LL);
    else
        memset(tr->allow, 1, LL);
    if (allow_start)
        memcpy(tr->allow_start, allow_start, L);
    else
        memset(tr->allow_start, 1, L);
    if (allow_end)
        memcpy(tr->allow_end, allow_end, L);
    else
        memset(tr->allow_end, 1, L);
    tr->constrained = allow || allow_start || allow_end;
}

/* exp(v - max) over allowed entries, 0 elsewhere; returns the max. */
static double exp_shift(double *out, const double *v, const uint8_t *ok, size_t n)
{
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (ok[i] && v[i] > m)
            m = v[i];
    if (m == -INFINITY)
        m = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = ok[i] ? exp(v[i] - m) : 0.0;
    return m;
}

void b4k_crf1d_tr_set(b4k_crf1d_tr *tr, const double *trans, const double *start,
                      const double *end)
{
    int L = tr->L;
    size_t LL = (size_t)L * L;
    if (trans)
        memcpy(tr->trans, trans, LL * sizeof(double));
    else
        memset(tr->trans, 0, LL * sizeof(double));
    if (start)
        memcpy(tr->start, start, L * sizeof(double));
    else
        memset(tr->start, 0, L * sizeof(double));
    if (end)
        memcpy(tr->end, end, L * sizeof(double));
    else
        memset(tr->end, 0, L * sizeof(double));
    tr->tmax = exp_shift(tr->etrans, tr->trans, tr->allow, LL);
    for (size_t i = 0; i < LL; i++)
        tr->vtrans[i] = tr->allow[i] ? tr->trans[i] : -INFINITY;
    tr->smax = exp_shift(tr->estart, tr->start, tr->allow_start, L);
    tr->emax = exp_shift(tr->eend, tr->end, tr->allow_end, L);
}

b4k_crf1d_ws *b4k_crf1d_ws_new(int L)
{
    if (L < 1)
        return NULL;
    b4k_crf1d_ws *ws = b4k_calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->L = L;
    ws->tmp = b4k_calloc(L, sizeof(double));
    if (!ws->tmp) {
        b4k_free(ws);
        return NULL;
    }
    return ws;
}

void b4k_crf1d_ws_free(b4k_crf1d_ws *ws)
{
    if (!ws)
        return;
    b4k_free(ws->eemit);
    b4k_free(ws->alpha);
    b4k_free(ws->beta);
    b4k_free(ws->scale);
    b4k_free(ws->emax);
    b4k_free(ws->tmp);
    b4k_free(ws->cacc);
    b4k_free(ws->vscore);
    b4k_free(ws->vback);
    b4k_free(ws);
}

int b4k_crf1d_ws_reserve(b4k_crf1d_ws *ws, size_t T)
{
    if (T <= ws->cap)
        return 0;
    size_t cap = ws->cap ? ws->cap : 64;
    while (cap < T)
        cap *= 2;
    size_t n;
    if (b4k_mul_ok(cap, (size_t)ws->L, &n))
        return B4K_ENOMEM;
    double *e = b4k_realloc_n(ws->eemit, n, sizeof(double));
    if (!e)
        return B4K_ENOMEM;
    ws->eemit = e;
    double *a = b4k_realloc_n(ws->alpha, n, sizeof(double));
    if (!a)
        return B4K_ENOMEM;
    ws->alpha = a;
    double *b = b4k_realloc_n(ws->beta, n, sizeof(double));
    if (!b)
        return B4K_ENOMEM;
    ws->beta = b;
    double *s = b4k_realloc_n(ws->scale, cap, sizeof(double));
    if (!s)
        return B4K_ENOMEM;
    ws->scale = s;
    double *m = b4k_realloc_n(ws->emax, cap, sizeof(double));
    if (!m)
        return B4K_ENOMEM;
    ws->emax = m;
    ws->cap = cap;
    return 0;
}


double b4k_crf1d_marginal(const b4k_crf1d_ws *ws, size_t t, int j)
{
    size_t k = t * ws->L + j;
    return ws->alpha[k] * ws->beta[k] / ws->scale[t];
}

void b4k_crf1d_marginals(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, double *out)
{
    (void)tr;
    const int L = ws->L;
    for (int t = 0; t < ws->T; t++) {
        const double inv = 1.0 / ws->scale[t];
        const double *a = ws->alpha + (size_t)t * L, *b = ws->beta + (size_t)t * L;
        double *o = out + (size_t)t * L;
        for (int j = 0; j < L; j++)
            o[j] = a[j] * b[j] * inv;
    }
}


double b4k_crf1d_score(const b4k_crf1d_tr *tr, const double *emit, size_t T, const int32_t *y)
{
    const int L = tr->L;
    double s = tr->start[y[0]] + tr->end[y[T - 1]];
    if (!tr->allow_start[y[0]] || !tr->allow_end[y[T - 1]])
        return -INFINITY;
    for (size_t t = 0; t < T; t++) {
        s += emit[t * L + y[t]];
        if (t > 0) {
            size_t k = (size_t)y[t - 1] * L + y[t];
            if (!tr->allow[k])
                return -INFINITY;
            s += tr->trans[k];
        }
    }
    return s;
}

int b4k_crf1d_nll(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                  const int32_t *y, double *loss, double *gemit, double *gtrans, double *gstart,
                  double *gend)
{
    double lz;
    int rc = b4k_crf1d_fb(ws, tr, emit, T, &lz);
    if (rc)
        return rc;
    double s = b4k_crf1d_score(tr, emit, T, y);
    if (s == -INFINITY)
        return B4K_ERANGE;
    *loss = lz - s;
    const int L = tr->L;
    if (gemit) {
        b4k_crf1d_marginals(ws, tr, gemit);
        for (size_t t = 0; t < T; t++)
            gemit[t * L + y[t]] -= 1.0;
    }
    if (gtrans) {
        b4k_crf1d_add_trans_marginals(ws, tr, 1.0, gtrans, gstart, gend);
        for (size_t t = 1; t < T; t++)
            gtrans[(size_t)y[t - 1] * L + y[t]] -= 1.0;
        if (gstart)
            gstart[y[0]] -= 1.0;
        if (gend)
            gend[y[T - 1]] -= 1.0;
    } else {
        if (gstart)
            for (int j = 0; j < L; j++)
                gstart[j] += b4k_crf1d_marginal(ws, 0, j) - (j == y[0]);
        if (gend)
            for (int j = 0; j < L; j++)
                gend[j] += b4k_crf1d_marginal(ws, T - 1, j) - (j == y[T - 1]);
    }
    return 0;
}

int b4k_crf1d_vreserve(b4k_crf1d_ws *ws, size_t T, int K)
{
    size_t n;
    if (b4k_mul_ok(T, (size_t)ws->L * (size_t)K, &n))
        return B4K_ENOMEM;
    if (n <= ws->vcap)
        return 0;
    double *s = b4k_realloc_n(ws->vscore, n, sizeof(double));
    if (!s)
        return B4K_ENOMEM;
    ws->vscore = s;
    int32_t *b = b4k_realloc_n(ws->vback, n, sizeof(int32_t));
    if (!b)
        return B4K_ENOMEM;
    ws->vback = b;
    ws->vcap = n;
    return 0;
}


/* ---- kernels: portable twins here, AVX2 versions in crf1d_avx2.c ---- */
#define KN(n) n##_ref
#include "crf/crf1d_kern.h"
#undef KN

int b4k_crf1d_fb_avx2(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                      double *logz);
void b4k_crf1d_add_trans_marginals_avx2(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr,
                                        double scale, double *gtrans, double *gstart, double *gend);
int b4k_crf1d_viterbi_avx2(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                           int32_t *path, double *score);

static int g_impl = -1; /* 0 portable, 1 AVX2 */

void b4k_crf1d_set_impl(int impl)
{
    g_impl = impl < 0 ? -1 : (impl > 0 && b4k_cpu_has(B4K_CPU_AVX2));
}

static inline int impl(void)
{
    if (g_impl < 0)
        g_impl = b4k_cpu_has(B4K_CPU_AVX2);
    return g_impl;
}

int b4k_crf1d_fb(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                 double *logz)
{
    if (!ws->cacc && T > 1 && !(ws->cacc = b4k_malloc_n((size_t)ws->L * ws->L, sizeof(double))))
        return B4K_ENOMEM;
    return impl() ? b4k_crf1d_fb_avx2(ws, tr, emit, T, logz) : b4k_crf1d_fb_ref(ws, tr, emit, T, logz);
}

void b4k_crf1d_add_trans_marginals(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, double scale,
                                   double *gtrans, double *gstart, double *gend)
{
    if (impl())
        b4k_crf1d_add_trans_marginals_avx2(ws, tr, scale, gtrans, gstart, gend);
    else
        b4k_crf1d_add_trans_marginals_ref(ws, tr, scale, gtrans, gstart, gend);
}

int b4k_crf1d_viterbi(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                      int32_t *path, double *score)
{
    return impl() ? b4k_crf1d_viterbi_avx2(ws, tr, emit, T, path, score)
                  : b4k_crf1d_viterbi_ref(ws, tr, emit, T, path, score);
}

/* Insert candidate (c, tag) into the descending top-K list (s, g) of size *n;
 * equal scores keep the earlier candidate first. */
static inline void topk_push(double *s, int32_t *g, int *n, int K, double c, int32_t tag)
{
    if (c == -INFINITY)
        return;
    int m = *n;
    if (m == K && !(c > s[K - 1]))
        return;
    int p = m < K ? m : K - 1;
    while (p > 0 && c > s[p - 1]) {
        s[p] = s[p - 1];
        g[p] = g[p - 1];
        p--;
    }
    s[p] = c;
    g[p] = tag;
    if (m < K)
        *n = m + 1;
}

int b4k_crf1d_nbest(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                    int K, int32_t *paths, double *scores, int *found)
{
    const int L = tr->L;
    *found = 0;
    if (T == 0 || K < 1 || L != ws->L)
        return B4K_EINVAL;
    int rc = b4k_crf1d_vreserve(ws, T, K);
    if (rc)
        return rc;
    const size_t LK = (size_t)L * K;
    double *V = ws->vscore;
    int32_t *BK = ws->vback;
    for (size_t i = 0; i < T * LK; i++)
        V[i] = -INFINITY;
    for (int j = 0; j < L; j++)
        if (tr->allow_start[j])
            V[(size_t)j * K] = tr->start[j] + emit[j];
    for (size_t t = 1; t < T; t++) {
        const double *vp = V + (t - 1) * LK;
        for (int j = 0; j < L; j++) {
            double *s = V + t * LK + (size_t)j * K;
            int32_t *g = BK + t * LK + (size_t)j * K;
            int n = 0;
            const double e = emit[t * L + j];
            for (int i = 0; i < L; i++) {
                if (!tr->allow[(size_t)i * L + j])
                    continue;
                const double tij = tr->trans[(size_t)i * L + j];
                for (int r = 0; r < K; r++) {
                    double c = vp[(size_t)i * K + r];
                    if (c == -INFINITY)
                        break;
                    topk_push(s, g, &n, K, c + tij + e, i * K + r);
                }
            }
            for (int r = n; r < K; r++)
                s[r] = -INFINITY;
        }
    }
    /* final list over (label, rank) */
    double fs[K];
    int32_t fg[K];
    int n = 0;
    const double *vl = V + (T - 1) * LK;
    for (int j = 0; j < L; j++) {
        if (!tr->allow_end[j])
            continue;
        for (int r = 0; r < K; r++) {
            double c = vl[(size_t)j * K + r];
            if (c == -INFINITY)
                break;
            topk_push(fs, fg, &n, K, c + tr->end[j], j * K + r);
        }
    }
    for (int k = 0; k < n; k++) {
        int32_t *p = paths + (size_t)k * T;
        int j = fg[k] / K, r = fg[k] % K;
        p[T - 1] = j;
        for (size_t t = T - 1; t > 0; t--) {
            int32_t b = BK[t * LK + (size_t)j * K + r];
            j = b / K;
            r = b % K;
            p[t - 1] = j;
        }
        scores[k] = fs[k];
    }
    *found = n;
    return n ? 0 : B4K_ERANGE;
}

/* --- constraint masks from label names --- */

enum { K_OTHER, K_B, K_I, K_E, K_S, K_O };

static int classify(const char *lab, int scheme, const char **type)
{
    *type = "";
    if (!strcmp(lab, "O"))
        return K_O;
    char c = lab[0];
    if (!c || (lab[1] && lab[1] != '-' && lab[1] != '_'))
        return K_OTHER;
    *type = lab[1] ? lab + 2 : "";
    switch (c) {
    case 'B': return K_B;
    case 'I': return scheme == 2 ? K_OTHER : K_I;
    case 'M': return scheme == 2 ? K_I : K_OTHER;
    case 'E': return scheme ? K_E : K_OTHER;
    case 'S': return scheme ? K_S : K_OTHER;
    default: return K_OTHER;
    }
}

int b4k_crf1d_scheme_mask(const char *scheme, const char *const *labels, int L, uint8_t *allow,
                          uint8_t *allow_start, uint8_t *allow_end)
{
    int sc;
    if (!strcasecmp(scheme, "BIO") || !strcasecmp(scheme, "IOB2"))
        sc = 0;
    else if (!strcasecmp(scheme, "BIOES") || !strcasecmp(scheme, "IOBES"))
        sc = 1;
    else if (!strcasecmp(scheme, "BMES"))
        sc = 2;
    else
        return B4K_EINVAL;
    for (int b = 0; b < L; b++) {
        const char *tb;
        int kb = classify(labels[b], sc, &tb);
        allow_start[b] = !(kb == K_I || kb == K_E);
        allow_end[b] = sc == 0 ? 1 : !(kb == K_B || kb == K_I);
        for (int a = 0; a < L; a++) {
            const char *ta;
            int ka = classify(labels[a], sc, &ta);
            int ok = 1;
            if (ka != K_OTHER && kb != K_OTHER) {
                int a_open = ka == K_B || ka == K_I; /* chunk continues after a */
                if (kb == K_I || kb == K_E)
                    ok = a_open && !strcmp(ta, tb);
                else if (sc != 0)
                    ok = !a_open;
            }
            allow[(size_t)a * L + b] = (uint8_t)ok;
        }
    }
    return 0;
}
