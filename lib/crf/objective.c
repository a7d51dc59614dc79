/* CRF objective (threaded, deterministic reduction) and held-out scoring
 * (see objective.h and train.h). */
#if defined(__GNUC__) && !defined(__clang__) /* clang: unknown pragma */
#pragma GCC optimize("O3")
#endif
#include "crf/objective.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "crf/eval.h"
#include "crf/feat.h"

/* ---- objective ---- */

/* emissions of sequence s with parameters x */
void b4k_crf_seq_emit(const b4k_crf_model *m, const b4k_crf_corpus *c, const double *x, size_t s,
                     double *emit)
{
    size_t t0 = c->seq_off[s], T = c->seq_off[s + 1] - t0;
    b4k_crf_emit_seq(emit, x, m->foff, m->flab, c->aid, c->tok_off + t0, T, m->L);
}

static void obj_range(void *vctx, size_t begin, size_t end, int tid)
{
    b4k_crf_obj *o = vctx;
    b4k_crf_worker *w = &o->w[tid];
    const b4k_crf_model *m = o->m;
    const b4k_crf_corpus *c = o->c;
    const int L = m->L;
    double *g = w->g;
    memset(g, 0, m->nx * sizeof(double));
    double *gtrans = g + m->F;
    double *gstart = m->start_end ? gtrans + (size_t)L * L : NULL;
    double *gend = m->start_end ? gstart + L : NULL;
    double loss = 0;
    for (size_t s = begin; s < end; s++) {
        size_t t0 = c->seq_off[s], T = c->seq_off[s + 1] - t0;
        const int32_t *y = c->y + t0;
        b4k_crf_seq_emit(m, c, o->x, s, w->emit);
        double lz;
        int rc = b4k_crf1d_fb(w->ws, &o->tr, w->emit, T, &lz);
        if (rc) {
            w->rc = rc;
            return;
        }
        loss += lz - b4k_crf1d_score(&o->tr, w->emit, T, y);
        b4k_crf1d_marginals(w->ws, &o->tr, w->marg);
        b4k_crf_scatter_seq(g, w->marg, y, m->foff, m->flab, c->aid, c->tok_off + t0, T, L);
        b4k_crf1d_add_trans_marginals(w->ws, &o->tr, 1.0, gtrans, gstart, gend);
        for (size_t t = 1; t < T; t++)
            gtrans[(size_t)y[t - 1] * L + y[t]] -= 1.0;
        if (gstart) {
            gstart[y[0]] -= 1.0;
            gend[y[T - 1]] -= 1.0;
        }
    }
    w->loss = loss;
}

/* g = sum of the workers' partial gradients in thread order, split by
 * coordinate ranges over the threads */
static void reduce_range(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    b4k_crf_obj *o = vctx;
    for (size_t i = begin; i < end; i++) {
        double s = o->w[0].g[i];
        for (int t = 1; t < o->nthreads; t++)
            s += o->w[t].g[i];
        o->g[i] = s;
    }
}

int b4k_crf_obj_init(b4k_crf_obj *o, const b4k_crf_model *m, const b4k_crf_corpus *c, int threads)
{
    memset(o, 0, sizeof *o);
    o->m = m;
    o->c = c;
    o->nthreads = threads < 1 ? 1 : threads;
    if ((size_t)o->nthreads > c->nseq && c->nseq > 0)
        o->nthreads = (int)c->nseq;
    if (b4k_crf1d_tr_init(&o->tr, m->L))
        return B4K_ENOMEM;
    o->pool = o->nthreads > 1 ? b4k_pool_new(o->nthreads) : NULL;
    if (o->nthreads > 1 && !o->pool)
        return B4K_ENOMEM;
    o->w = b4k_calloc((size_t)o->nthreads, sizeof(b4k_crf_worker));
    if (!o->w)
        return B4K_ENOMEM;
    size_t TL = (c->maxT ? c->maxT : 1) * (size_t)m->L;
    for (int t = 0; t < o->nthreads; t++) {
        b4k_crf_worker *w = &o->w[t];
        w->ws = b4k_crf1d_ws_new(m->L);
        w->emit = b4k_malloc_n(TL, sizeof(double));
        w->marg = b4k_malloc_n(TL, sizeof(double));
        w->g = b4k_malloc_n(m->nx, sizeof(double));
        if (!w->ws || !w->emit || !w->marg || !w->g || b4k_crf1d_ws_reserve(w->ws, c->maxT))
            return B4K_ENOMEM;
    }
    return 0;
}

void b4k_crf_obj_free(b4k_crf_obj *o)
{
    if (o->w)
        for (int t = 0; t < o->nthreads; t++) {
            b4k_crf1d_ws_free(o->w[t].ws);
            b4k_free(o->w[t].emit);
            b4k_free(o->w[t].marg);
            b4k_free(o->w[t].g);
        }
    b4k_free(o->w);
    b4k_pool_free(o->pool);
    b4k_crf1d_tr_free(&o->tr);
}

void b4k_crf_set_tr(b4k_crf1d_tr *tr, const b4k_crf_model *m, const double *x)
{
    const double *t = x + m->F;
    const double *s = m->start_end ? t + (size_t)m->L * m->L : NULL;
    b4k_crf1d_tr_set(tr, t, s, s ? s + m->L : NULL);
}

double b4k_crf_obj_eval(b4k_crf_obj *o, const double *x, double *g, double c2, int *rc)
{
    o->x = x;
    o->g = g;
    b4k_crf_set_tr(&o->tr, o->m, x);
    for (int t = 0; t < o->nthreads; t++) {
        o->w[t].rc = 0;
        o->w[t].loss = 0;
    }
    b4k_pool_for(o->pool, o->c->nseq, obj_range, o);
    double loss = 0;
    *rc = 0;
    for (int t = 0; t < o->nthreads; t++) {
        loss += o->w[t].loss;
        if (o->w[t].rc)
            *rc = o->w[t].rc;
    }
    b4k_pool_for(o->pool, o->m->nx, reduce_range, o);
    if (c2 > 0) {
        double nrm = 0;
        for (size_t i = 0; i < o->m->nx; i++) {
            g[i] += 2 * c2 * x[i];
            nrm += x[i] * x[i];
        }
        loss += c2 * nrm;
    }
    return loss;
}

double b4k_crf_objective(const b4k_crf_model *m, const b4k_crf_corpus *c, const double *x,
                         double *g, double c2, int threads, int *rc)
{
    b4k_crf_obj o;
    *rc = b4k_crf_obj_init(&o, m, c, threads);
    double f = 0;
    if (!*rc)
        f = b4k_crf_obj_eval(&o, x, g, c2, rc);
    b4k_crf_obj_free(&o);
    return f;
}

/* ---- held-out scoring ---- */

int b4k_crf_score(const b4k_crf_model *m, const b4k_crf_corpus *c, int acc, double *score)
{
    int rc = 0;
    const int L = m->L;
    b4k_crf1d_tr tr;
    if (b4k_crf1d_tr_init(&tr, L))
        return B4K_ENOMEM;
    b4k_crf_set_tr(&tr, m, m->x);
    b4k_crf1d_ws *ws = b4k_crf1d_ws_new(L);
    size_t TL = (c->maxT ? c->maxT : 1) * (size_t)L;
    double *emit = b4k_malloc_n(TL, sizeof(double));
    int32_t *path = b4k_malloc_n(c->maxT ? c->maxT : 1, sizeof(int32_t));
    const char **gs = b4k_malloc_n(c->maxT ? c->maxT : 1, sizeof(char *));
    const char **ps = b4k_malloc_n(c->maxT ? c->maxT : 1, sizeof(char *));
    b4k_crf_eval e;
    b4k_crf_eval_init(&e);
    if (!ws || !emit || !path || !gs || !ps) {
        rc = B4K_ENOMEM;
        goto out;
    }
    for (size_t s = 0; s < c->nseq; s++) {
        size_t t0 = c->seq_off[s], T = c->seq_off[s + 1] - t0;
        b4k_crf_seq_emit(m, c, m->x, s, emit);
        if ((rc = b4k_crf1d_viterbi(ws, &tr, emit, T, path, NULL)))
            goto out;
        for (size_t t = 0; t < T; t++) {
            gs[t] = b4k_crf_dict_str(&m->labels, c->y[t0 + t]);
            ps[t] = b4k_crf_dict_str(&m->labels, path[t]);
        }
        if ((rc = b4k_crf_eval_chunks(&e, gs, ps, T)))
            goto out;
    }
    double p, r, f;
    b4k_crf_eval_prf(&e, &p, &r, &f);
    *score = acc ? (e.tok_n ? 100.0 * e.tok_ok / e.tok_n : 0) : f;
out:
    b4k_crf_eval_free(&e);
    b4k_free(emit);
    b4k_free(path);
    b4k_free(gs);
    b4k_free(ps);
    b4k_crf1d_ws_free(ws);
    b4k_crf1d_tr_free(&tr);
    return rc;
}

