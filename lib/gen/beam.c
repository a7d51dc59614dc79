#include "gen/beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

typedef struct cand {
    double score; /* cumulative log-prob */
    int beam, tok;
} cand;

typedef struct hyp {
    int *ids;
    int n;
    double sum, norm;
    int ended;
} hyp;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->beam != y->beam)
        return x->beam - y->beam;
    return x->tok - y->tok;
}

/* log softmax in place */
static void log_softmax(float *x, int V)
{
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        mx = fmaxf(mx, x[i]);
    double s = 0;
    for (int i = 0; i < V; i++)
        s += exp((double)x[i] - mx);
    float lse = (float)(mx + log(s));
    for (int i = 0; i < V; i++)
        x[i] -= lse;
}

static double norm_score(double sum, int len, float lp)
{
    return sum / pow(len > 0 ? len : 1, lp);
}

/* Keep the best K finished hypotheses (sorted by norm, descending). */
static int add_finished(hyp *fin, int *nfin, int K, const int *ids, int n, int len, double sum,
                        float lp, int ended)
{
    double ns = norm_score(sum, len, lp);
    if (*nfin == K && ns <= fin[K - 1].norm)
        return 0;
    int *copy = b4k_malloc_n((size_t)(n ? n : 1), sizeof *copy);
    if (!copy)
        return B4K_ENOMEM;
    memcpy(copy, ids, (size_t)n * sizeof *copy);
    if (*nfin == K) {
        b4k_free(fin[K - 1].ids);
        (*nfin)--;
    }
    int i = *nfin;
    while (i > 0 && fin[i - 1].norm < ns) {
        fin[i] = fin[i - 1];
        i--;
    }
    fin[i] = (hyp){ copy, n, sum, ns, ended };
    (*nfin)++;
    return 0;
}

int b4k_beam_search(const b4k_beam_model *m, const b4k_beam_opts *o, int plen,
                    const float *first, b4k_beam_result *res, b4k_err *err)
{
    int K = o->beams > 0 ? o->beams : 1, V = m->vocab, M = o->max_new, rc = 0;
    memset(res, 0, sizeof *res);
    float *lg = b4k_malloc_n((size_t)K * V, sizeof *lg);
    int *seq = b4k_malloc_n((size_t)K * (M + 1), sizeof *seq);
    int *nseq = b4k_malloc_n((size_t)K * (M + 1), sizeof *nseq);
    double *sum = b4k_calloc((size_t)K, sizeof *sum), *nsum = b4k_calloc((size_t)K, sizeof *nsum);
    cand *cs = b4k_malloc_n((size_t)K * 2 * K, sizeof *cs);
    hyp *fin = b4k_calloc((size_t)K + 1, sizeof *fin);
    int *slots = b4k_malloc_n((size_t)K, sizeof *slots), *toks = b4k_malloc_n((size_t)K, sizeof *toks),
        *pos = b4k_malloc_n((size_t)K, sizeof *pos);
    int nfin = 0, nlive = 1, half = 0;
    if (!lg || !seq || !nseq || !sum || !nsum || !cs || !fin || !slots || !toks || !pos) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    memcpy(lg, first, (size_t)V * sizeof *lg);
    slots[0] = 0;
    for (int s = 0; s < M; s++) {
        /* candidates: the best 2K tokens of every live beam */
        int nc = 0, W = 2 * K;
        for (int b = 0; b < nlive; b++) {
            float *l = lg + (size_t)b * V;
            log_softmax(l, V);
            cand *top = cs + nc;
            int nt = 0;
            for (int t = 0; t < V; t++) {
                double sc = sum[b] + l[t];
                if (nt == W && sc <= top[nt - 1].score)
                    continue;
                int i = nt < W ? nt++ : W - 1;
                while (i > 0 && top[i - 1].score < sc) {
                    top[i] = top[i - 1];
                    i--;
                }
                top[i] = (cand){ sc, b, t };
            }
            nc += nt;
        }
        qsort(cs, (size_t)nc, sizeof *cs, cand_cmp);
        int nn = 0;
        for (int i = 0; i < nc && nn < K; i++) {
            const cand *c = &cs[i];
            int *src = seq + (size_t)c->beam * (M + 1);
            if (c->tok == o->end_id) {
                if (i < K && (rc = add_finished(fin, &nfin, K, src, s, s + 1, c->score,
                                                     o->length_penalty, 1)))
                    goto fail;
                continue;
            }
            int *dst = nseq + (size_t)nn * (M + 1);
            memcpy(dst, src, (size_t)s * sizeof *dst);
            dst[s] = c->tok;
            nsum[nn] = c->score;
            toks[nn] = c->tok;
            pos[nn] = c->beam; /* parent, for now */
            nn++;
        }
        int done = nn == 0;
        if (!done && nfin >= K) {
            if (o->early_stopping)
                done = 1;
            else if (norm_score(nsum[0], s + 1, o->length_penalty) <= fin[nfin - 1].norm)
                done = 1;
        }
        if (done || s == M - 1) {
            if (!done || nfin < K)
                for (int b = 0; b < nn; b++)
                    if ((rc = add_finished(fin, &nfin, K, nseq + (size_t)b * (M + 1), s + 1, s + 1,
                                           nsum[b], o->length_penalty, 0)))
                        goto fail;
            break;
        }
        /* move caches to the other half of the slots and feed the tokens */
        int nh = half ^ 1;
        for (int b = 0; b < nn; b++) {
            m->copy(m->ctx, nh * K + b, slots[pos[b]], plen + s);
        }
        for (int b = 0; b < nn; b++) {
            slots[b] = nh * K + b;
            pos[b] = plen + s;
        }
        half = nh;
        int *ts = seq;
        seq = nseq;
        nseq = ts;
        double *tsum = sum;
        sum = nsum;
        nsum = tsum;
        nlive = nn;
        if ((rc = m->step(m->ctx, nlive, slots, toks, pos, lg, err)))
            goto fail;
    }
    if (nfin > 0) {
        /* re-rank: the list was kept by norm; take the best */
        int best = 0;
        for (int i = 1; i < nfin; i++)
            if (fin[i].norm > fin[best].norm)
                best = i;
        res->ids = fin[best].ids;
        fin[best].ids = NULL;
        res->n = fin[best].n;
        res->score = (float)fin[best].norm;
        res->logprob = (float)fin[best].sum;
        res->ended = fin[best].ended;
    } else {
        res->ids = b4k_malloc(sizeof *res->ids);
        if (!res->ids)
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
fail:
    if (fin)
        for (int i = 0; i < nfin; i++)
            b4k_free(fin[i].ids);
    b4k_free(fin);
    b4k_free(lg);
    b4k_free(seq);
    b4k_free(nseq);
    b4k_free(sum);
    b4k_free(nsum);
    b4k_free(cs);
    b4k_free(slots);
    b4k_free(toks);
    b4k_free(pos);
    return rc;
}
