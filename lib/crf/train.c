/* CRF objective (threaded, deterministic reduction), held-out scoring and
 * the trainers: L-BFGS / OWL-QN, SGD, averaged perceptron (see train.h). */
#if defined(__GNUC__) && !defined(__clang__) /* clang: unknown pragma */
#pragma GCC optimize("O3")
#endif
#include "crf/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/threads.h"
#include "crf/crf1d.h"
#include "crf/eval.h"
#include "crf/feat.h"
#include "crf/lbfgs.h"

void b4k_crf_train_default(b4k_crf_train_opt *o)
{
    memset(o, 0, sizeof *o);
    o->algo = B4K_CRF_LBFGS;
    o->c2 = 1.0;
    o->epsilon = 1e-5;
    o->period = 10;
    o->delta = 1e-5;
    o->m = 6;
    o->threads = 1;
    o->holdout_every = 1;
    o->seed = 1;
}

/* ---- objective ---- */

typedef struct worker {
    b4k_crf1d_ws *ws;
    double *emit, *marg; /* (maxT, L) */
    double *g;           /* (nx) partial gradient; thread 0 uses the output */
    double loss;
    int rc;
} worker;

typedef struct objctx {
    const b4k_crf_model *m;
    const b4k_crf_corpus *c;
    const double *x;
    double *g;
    b4k_crf1d_tr tr;
    worker *w;
    int nthreads;
    b4k_pool *pool;
} objctx;

/* emissions of sequence s with parameters x */
static void seq_emit(const b4k_crf_model *m, const b4k_crf_corpus *c, const double *x, size_t s,
                     double *emit)
{
    size_t t0 = c->seq_off[s], T = c->seq_off[s + 1] - t0;
    b4k_crf_emit_seq(emit, x, m->foff, m->flab, c->aid, c->tok_off + t0, T, m->L);
}

static void obj_range(void *vctx, size_t begin, size_t end, int tid)
{
    objctx *o = vctx;
    worker *w = &o->w[tid];
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
        seq_emit(m, c, o->x, s, w->emit);
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
    objctx *o = vctx;
    for (size_t i = begin; i < end; i++) {
        double s = o->w[0].g[i];
        for (int t = 1; t < o->nthreads; t++)
            s += o->w[t].g[i];
        o->g[i] = s;
    }
}

static int obj_init(objctx *o, const b4k_crf_model *m, const b4k_crf_corpus *c, int threads)
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
    o->w = b4k_calloc((size_t)o->nthreads, sizeof(worker));
    if (!o->w)
        return B4K_ENOMEM;
    size_t TL = (c->maxT ? c->maxT : 1) * (size_t)m->L;
    for (int t = 0; t < o->nthreads; t++) {
        worker *w = &o->w[t];
        w->ws = b4k_crf1d_ws_new(m->L);
        w->emit = b4k_malloc_n(TL, sizeof(double));
        w->marg = b4k_malloc_n(TL, sizeof(double));
        w->g = b4k_malloc_n(m->nx, sizeof(double));
        if (!w->ws || !w->emit || !w->marg || !w->g || b4k_crf1d_ws_reserve(w->ws, c->maxT))
            return B4K_ENOMEM;
    }
    return 0;
}

static void obj_free(objctx *o)
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

static void set_tr_from(b4k_crf1d_tr *tr, const b4k_crf_model *m, const double *x)
{
    const double *t = x + m->F;
    const double *s = m->start_end ? t + (size_t)m->L * m->L : NULL;
    b4k_crf1d_tr_set(tr, t, s, s ? s + m->L : NULL);
}

static double obj_eval(objctx *o, const double *x, double *g, double c2, int *rc)
{
    o->x = x;
    o->g = g;
    set_tr_from(&o->tr, o->m, x);
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
    objctx o;
    *rc = obj_init(&o, m, c, threads);
    double f = 0;
    if (!*rc)
        f = obj_eval(&o, x, g, c2, rc);
    obj_free(&o);
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
    set_tr_from(&tr, m, m->x);
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
        seq_emit(m, c, m->x, s, emit);
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

/* ---- trainers ---- */

typedef struct trainctx {
    b4k_crf_model *m;
    const b4k_crf_corpus *c;
    const b4k_crf_train_opt *o;
    objctx obj;
    double *best;       /* best held-out parameters */
    double best_score;
    int best_iter;
    double t0;
    int rc;
    b4k_crf_train_result *res;
} trainctx;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double lbfgs_eval(void *vctx, const double *x, double *g, size_t n)
{
    (void)n;
    trainctx *t = vctx;
    int rc;
    double f = obj_eval(&t->obj, x, g, t->o->c2, &rc);
    if (rc) {
        t->rc = rc;
        return INFINITY;
    }
    return f;
}

/* after an iteration: held-out score, checkpoint, progress; non-zero stops */
static int after_iter(trainctx *t, const double *x, b4k_crf_progress *p)
{
    const b4k_crf_train_opt *o = t->o;
    if (x != t->m->x)
        memcpy(t->m->x, x, t->m->nx * sizeof(double));
    p->seconds = now() - t->t0;
    p->holdout = 0;
    p->best = 0;
    if (o->holdout && o->holdout->nseq && p->iter % (o->holdout_every > 0 ? o->holdout_every : 1) == 0) {
        double sc;
        int rc = b4k_crf_score(t->m, o->holdout, o->holdout_acc, &sc);
        if (rc) {
            t->rc = rc;
            return 1;
        }
        p->holdout = 1;
        p->score = sc;
        if (sc > t->best_score) {
            t->best_score = sc;
            t->best_iter = p->iter;
            memcpy(t->best, t->m->x, t->m->nx * sizeof(double));
            p->best = 1;
        }
    }
    t->res->iters = p->iter;
    t->res->loss = p->loss;
    if (o->checkpoint && o->checkpoint_every > 0 && p->iter % o->checkpoint_every == 0) {
        int rc = o->checkpoint(o->ctx, t->m, p->iter);
        if (rc) {
            t->rc = rc;
            return 1;
        }
    }
    if (o->progress && o->progress(o->ctx, p))
        return 1;
    return 0;
}

static int lbfgs_progress(void *vctx, const double *x, double fx, double xnorm, double gnorm,
                          double step, int iter, int nevals)
{
    trainctx *t = vctx;
    b4k_crf_progress p = { iter, fx, xnorm, gnorm, step, nevals, 0, 0, 0, 0 };
    return after_iter(t, x, &p);
}

static int train_lbfgs(trainctx *t)
{
    const b4k_crf_train_opt *o = t->o;
    b4k_lbfgs_opt lo;
    b4k_lbfgs_default(&lo);
    lo.m = o->m > 0 ? o->m : 6;
    lo.max_iter = o->max_iter;
    lo.epsilon = o->epsilon;
    lo.period = o->period;
    lo.delta = o->delta;
    lo.c1 = o->c1;
    lo.n_l1 = t->m->nx;
    double fx;
    int st = b4k_lbfgs(t->m->x, t->m->nx, &fx, lbfgs_eval, lbfgs_progress, t, &lo);
    if (st < 0)
        return st;
    t->res->status = st;
    t->res->loss = fx;
    return t->rc;
}

/* shuffle an index array deterministically */
static void shuffle(size_t *idx, size_t n, b4k_rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)b4k_rng_below(r, i);
        size_t tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}

/* One SGD epoch over idx[0..n) with L2 lambda; x_real = scale * x.
 * Returns the summed loss (before each update). */
static double sgd_epoch(trainctx *t, const size_t *idx, size_t n, double *x, double *scale,
                        double lambda, double eta0, size_t *k, int *rc)
{
    const b4k_crf_model *m = t->m;
    const b4k_crf_corpus *c = t->c;
    worker *w = &t->obj.w[0];
    const int L = m->L;
    const int64_t *foff = m->foff;
    const int32_t *flab = m->flab;
    double *xr = w->g; /* real transition parameters, scratch */
    double loss = 0;
    double t0 = 1.0 / (lambda * eta0);
    size_t TT = (size_t)L * L + (m->start_end ? 2 * (size_t)L : 0);
    double *gt = b4k_calloc(TT, sizeof(double));
    if (!gt) {
        *rc = B4K_ENOMEM;
        return 0;
    }
    for (size_t ii = 0; ii < n; ii++) {
        size_t s = idx[ii];
        double eta = 1.0 / (lambda * (t0 + (double)*k));
        (*k)++;
        double decay = 1.0 - eta * lambda;
        *scale *= decay;
        if (*scale < 1e-20) {
            for (size_t i = 0; i < m->nx; i++)
                x[i] *= *scale;
            *scale = 1.0;
        }
        const double sc = *scale;
        for (size_t i = 0; i < TT; i++)
            xr[m->F + i] = x[m->F + i] * sc;
        set_tr_from(&t->obj.tr, m, xr);
        size_t t0s = c->seq_off[s], T = c->seq_off[s + 1] - t0s;
        const int32_t *y = c->y + t0s;
        /* emissions with real weights */
        for (size_t tt = 0; tt < T; tt++) {
            double *e = w->emit + tt * L;
            for (int j = 0; j < L; j++)
                e[j] = 0;
            for (size_t kk = c->tok_off[t0s + tt]; kk < c->tok_off[t0s + tt + 1]; kk++) {
                int32_t a = c->aid[kk];
                for (int64_t f = foff[a]; f < foff[a + 1]; f++)
                    e[flab[f]] += x[f] * sc;
            }
        }
        double lz;
        if ((*rc = b4k_crf1d_fb(w->ws, &t->obj.tr, w->emit, T, &lz)))
            break;
        loss += lz - b4k_crf1d_score(&t->obj.tr, w->emit, T, y);
        b4k_crf1d_marginals(w->ws, &t->obj.tr, w->marg);
        const double gain = eta / sc;
        for (size_t tt = 0; tt < T; tt++) {
            const double *p = w->marg + tt * L;
            for (size_t kk = c->tok_off[t0s + tt]; kk < c->tok_off[t0s + tt + 1]; kk++) {
                int32_t a = c->aid[kk];
                for (int64_t f = foff[a]; f < foff[a + 1]; f++) {
                    int32_t j = flab[f];
                    x[f] -= gain * (p[j] - (j == y[tt]));
                }
            }
        }
        memset(gt, 0, TT * sizeof(double));
        double *gs = m->start_end ? gt + (size_t)L * L : NULL;
        b4k_crf1d_add_trans_marginals(w->ws, &t->obj.tr, 1.0, gt, gs, gs ? gs + L : NULL);
        for (size_t tt = 1; tt < T; tt++)
            gt[(size_t)y[tt - 1] * L + y[tt]] -= 1.0;
        if (gs) {
            gs[y[0]] -= 1.0;
            gs[L + y[T - 1]] -= 1.0;
        }
        for (size_t i = 0; i < TT; i++)
            x[m->F + i] -= gain * gt[i];
    }
    b4k_free(gt);
    return loss;
}

static int train_sgd(trainctx *t)
{
    b4k_crf_model *m = t->m;
    const b4k_crf_corpus *c = t->c;
    const b4k_crf_train_opt *o = t->o;
    int rc = 0;
    size_t N = c->nseq;
    size_t *idx = b4k_malloc_n(N ? N : 1, sizeof(size_t));
    double *avg = o->averaging ? b4k_calloc(m->nx, sizeof(double)) : NULL;
    if (!idx || (o->averaging && !avg)) {
        rc = B4K_ENOMEM;
        goto out;
    }
    b4k_rng r;
    b4k_rng_seed(&r, o->seed, 7);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    double lambda = 2.0 * o->c2 / (double)(N ? N : 1);
    if (lambda <= 0)
        lambda = 1e-8;
    double eta0 = o->eta0;
    if (eta0 <= 0) { /* calibrate on a sample: one epoch per candidate rate */
        size_t ns = N < 1000 ? N : 1000;
        size_t *sidx = b4k_malloc_n(ns ? ns : 1, sizeof(size_t));
        if (!sidx) {
            rc = B4K_ENOMEM;
            goto out;
        }
        memcpy(sidx, idx, ns * sizeof(size_t));
        b4k_rng rs;
        b4k_rng_seed(&rs, o->seed, 8);
        size_t *all = b4k_malloc_n(N ? N : 1, sizeof(size_t));
        if (!all) {
            b4k_free(sidx);
            rc = B4K_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < N; i++)
            all[i] = i;
        shuffle(all, N, &rs);
        memcpy(sidx, all, ns * sizeof(size_t));
        b4k_free(all);
        double best = INFINITY;
        eta0 = 0.1;
        for (int k = -4; k <= 3; k++) {
            double cand = 0.1 * pow(2.0, k);
            memset(m->x, 0, m->nx * sizeof(double));
            double scale = 1.0;
            size_t step = 0;
            double sl = lambda * (double)N / (double)(ns ? ns : 1);
            sgd_epoch(t, sidx, ns, m->x, &scale, sl, cand, &step, &rc);
            if (rc)
                break;
            /* sample objective after the epoch */
            double l2 = 0, loss = 0;
            for (size_t i = 0; i < m->nx; i++) {
                m->x[i] *= scale;
                l2 += m->x[i] * m->x[i];
            }
            scale = 1.0;
            step = 1u << 30; /* tiny rate: measure only */
            double lo = sgd_epoch(t, sidx, ns, m->x, &scale, sl, cand, &step, &rc);
            loss = lo + 0.5 * sl * ns * l2;
            if (rc)
                break;
            if (isfinite(loss) && loss < best) {
                best = loss;
                eta0 = cand;
            }
        }
        b4k_free(sidx);
        memset(m->x, 0, m->nx * sizeof(double));
        if (rc)
            goto out;
    }
    double scale = 1.0;
    size_t step = 0;
    int epochs = o->max_iter > 0 ? o->max_iter : 50;
    double prev[16];
    int nav = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        shuffle(idx, N, &r);
        double loss = sgd_epoch(t, idx, N, m->x, &scale, lambda, eta0, &step, &rc);
        if (rc)
            goto out;
        for (size_t i = 0; i < m->nx; i++)
            m->x[i] *= scale;
        scale = 1.0;
        double l2 = 0;
        for (size_t i = 0; i < m->nx; i++)
            l2 += m->x[i] * m->x[i];
        loss += o->c2 * l2;
        b4k_crf_progress p = { ep, loss, sqrt(l2), 0, eta0, ep, 0, 0, 0, 0 };
        double *keep = NULL;
        if (avg && ep >= 2) {
            nav++;
            for (size_t i = 0; i < m->nx; i++)
                avg[i] += (m->x[i] - avg[i]) / nav;
            /* report and score the averaged weights, keep training the raw */
            keep = b4k_malloc_n(m->nx, sizeof(double));
            if (!keep) {
                rc = B4K_ENOMEM;
                goto out;
            }
            memcpy(keep, m->x, m->nx * sizeof(double));
            memcpy(m->x, avg, m->nx * sizeof(double));
        }
        int stop = after_iter(t, m->x, &p);
        if (keep) {
            memcpy(m->x, keep, m->nx * sizeof(double));
            b4k_free(keep);
        }
        if (stop || t->rc) {
            rc = t->rc;
            break;
        }
        /* delta test over a window of epochs */
        int per = o->period > 0 && o->period <= 16 ? o->period : 10;
        if (ep > per && fabs(prev[ep % per] - loss) / fabs(loss) < o->delta)
            break;
        prev[ep % per] = loss;
    }
    if (avg && nav)
        memcpy(m->x, avg, m->nx * sizeof(double));
out:
    b4k_free(idx);
    b4k_free(avg);
    return rc;
}

static int train_ap(trainctx *t)
{
    b4k_crf_model *m = t->m;
    const b4k_crf_corpus *c = t->c;
    const b4k_crf_train_opt *o = t->o;
    const int L = m->L;
    int rc = 0;
    size_t N = c->nseq;
    size_t *idx = b4k_malloc_n(N ? N : 1, sizeof(size_t));
    double *wa = b4k_calloc(m->nx, sizeof(double));
    int32_t *path = b4k_malloc_n(c->maxT ? c->maxT : 1, sizeof(int32_t));
    worker *w = &t->obj.w[0];
    if (!idx || !wa || !path) {
        rc = B4K_ENOMEM;
        goto out;
    }
    b4k_rng r;
    b4k_rng_seed(&r, o->seed, 9);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    double cnt = 1;
    int epochs = o->max_iter > 0 ? o->max_iter : 10;
    double *x = m->x;
    double *avgx = b4k_malloc_n(m->nx, sizeof(double));
    if (!avgx) {
        rc = B4K_ENOMEM;
        goto out;
    }
    for (int ep = 1; ep <= epochs; ep++) {
        shuffle(idx, N, &r);
        size_t mistakes = 0;
        for (size_t ii = 0; ii < N; ii++) {
            size_t s = idx[ii];
            size_t t0s = c->seq_off[s], T = c->seq_off[s + 1] - t0s;
            const int32_t *y = c->y + t0s;
            set_tr_from(&t->obj.tr, m, x);
            seq_emit(m, c, x, s, w->emit);
            if ((rc = b4k_crf1d_viterbi(w->ws, &t->obj.tr, w->emit, T, path, NULL)))
                goto out;
            int diff = 0;
            for (size_t tt = 0; tt < T; tt++)
                diff |= path[tt] != y[tt];
            if (diff) {
                mistakes++;
                for (size_t tt = 0; tt < T; tt++) {
                    if (path[tt] == y[tt])
                        continue;
                    for (size_t kk = c->tok_off[t0s + tt]; kk < c->tok_off[t0s + tt + 1]; kk++) {
                        int32_t a = c->aid[kk];
                        for (int64_t f = m->foff[a]; f < m->foff[a + 1]; f++) {
                            if (m->flab[f] == y[tt]) {
                                x[f] += 1;
                                wa[f] += cnt;
                            } else if (m->flab[f] == path[tt]) {
                                x[f] -= 1;
                                wa[f] -= cnt;
                            }
                        }
                    }
                }
                double *tr = x + m->F, *wt = wa + m->F;
                for (size_t tt = 1; tt < T; tt++) {
                    size_t gi = (size_t)y[tt - 1] * L + y[tt], pi = (size_t)path[tt - 1] * L + path[tt];
                    tr[gi] += 1;
                    wt[gi] += cnt;
                    tr[pi] -= 1;
                    wt[pi] -= cnt;
                }
                if (m->start_end) {
                    double *st = tr + (size_t)L * L, *sw = wt + (size_t)L * L;
                    st[y[0]] += 1;
                    sw[y[0]] += cnt;
                    st[path[0]] -= 1;
                    sw[path[0]] -= cnt;
                    st[L + y[T - 1]] += 1;
                    sw[L + y[T - 1]] += cnt;
                    st[L + path[T - 1]] -= 1;
                    sw[L + path[T - 1]] -= cnt;
                }
            }
            cnt += 1;
        }
        /* averaged weights: x - wa / cnt */
        for (size_t i = 0; i < m->nx; i++)
            avgx[i] = x[i] - wa[i] / cnt;
        double *raw = m->x;
        m->x = avgx;
        b4k_crf_progress p = { ep, (double)mistakes, 0, 0, 0, ep, 0, 0, 0, 0 };
        int stop = after_iter(t, avgx, &p);
        m->x = raw;
        if (stop || t->rc) {
            rc = t->rc;
            break;
        }
        if (!mistakes)
            break;
    }
    for (size_t i = 0; i < m->nx; i++)
        m->x[i] = x[i] - wa[i] / cnt;
    b4k_free(avgx);
out:
    b4k_free(idx);
    b4k_free(wa);
    b4k_free(path);
    return rc;
}

int b4k_crf_train(b4k_crf_model *m, const b4k_crf_corpus *c, const b4k_crf_train_opt *o,
                  b4k_crf_train_result *res, b4k_err *err)
{
    trainctx t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    res->best_score = -1;
    t.m = m;
    t.c = c;
    t.o = o;
    t.res = res;
    t.best_score = -1;
    t.t0 = now();
    int threads = o->algo == B4K_CRF_LBFGS ? o->threads : 1;
    int rc = obj_init(&t.obj, m, c, threads);
    if (!rc && o->holdout && o->holdout->nseq) {
        t.best = b4k_malloc_n(m->nx, sizeof(double));
        if (!t.best)
            rc = B4K_ENOMEM;
    }
    if (rc) {
        obj_free(&t.obj);
        b4k_free(t.best);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    if (c->nseq == 0) {
        obj_free(&t.obj);
        b4k_free(t.best);
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "no training sequences");
    }
    switch (o->algo) {
    case B4K_CRF_SGD: rc = train_sgd(&t); break;
    case B4K_CRF_AP: rc = train_ap(&t); break;
    default: rc = train_lbfgs(&t); break;
    }
    if (!rc && t.best && t.best_score >= 0) {
        memcpy(m->x, t.best, m->nx * sizeof(double));
        res->best_score = t.best_score;
        res->best_iter = t.best_iter;
    }
    obj_free(&t.obj);
    b4k_free(t.best);
    if (rc == B4K_ERANGE)
        return b4k_err_set(err, rc, NULL, 0, "numerical failure (no allowed path)");
    if (rc)
        return b4k_err_set(err, rc, NULL, 0, "training failed: %s", b4k_err_str(rc));
    return 0;
}
