/* The CRF trainers: L-BFGS / OWL-QN, SGD with L2 (optionally averaged),
 * averaged perceptron; their checkpoints and resumption (see train.h; the
 * objective is in objective.c, the checkpoint file in ckpt.c). */
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
#include "crf/ckpt.h"
#include "crf/crf1d.h"
#include "crf/lbfgs.h"
#include "crf/objective.h"

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

/* ---- trainers ---- */

typedef struct trainctx {
    b4k_crf_model *m;
    const b4k_crf_corpus *c;
    const b4k_crf_train_opt *o;
    b4k_crf_obj obj;
    double *best;       /* best held-out parameters */
    double best_score;
    int best_iter;
    int start_iter;     /* iterations done before this run */
    int max_iter;       /* effective limit (0: none) */
    int threads;
    b4k_crf_ckpt *ck;   /* resuming from this, or NULL */
    double t0;
    int rc;
    b4k_err *err;
    int err_set;        /* err holds the message of rc */
    b4k_crf_train_result *res;
} trainctx;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- checkpoints: the state every trainer shares, then its own ---- */

#define CK_MAX 24

typedef struct ckitems {
    b4k_crf_ckpt_item it[CK_MAX];
    int n;
    int64_t common[2];  /* best_iter, best_score (bits) */
} ckitems;

static void ck_add(ckitems *k, const char *name, const void *data, size_t n)
{
    k->it[k->n++] = (b4k_crf_ckpt_item){ name, data, n };
}

/* iteration iter just ended; last: the run stops at max_iter now */
static int ck_due(const trainctx *t, int iter, int last)
{
    const b4k_crf_train_opt *o = t->o;
    return o->checkpoint && (last || (o->checkpoint_every > 0 && iter % o->checkpoint_every == 0));
}

static int ck_write(trainctx *t, ckitems *k, int iter, const double *weights)
{
    k->common[0] = t->best_iter;
    memcpy(&k->common[1], &t->best_score, sizeof(double));
    ck_add(k, "common", k->common, 2);
    if (t->best)
        ck_add(k, "best", t->best, t->m->nx);
    if (t->best && t->best_score >= 0)
        weights = t->best;
    int rc = b4k_crf_ckpt_write(t->o->checkpoint, t->m, weights, t->o->algo, iter, t->threads,
                                k->it, k->n, t->err);
    if (rc) {
        t->rc = rc;
        t->err_set = 1;
    }
    return rc;
}

static int ck_fail(trainctx *t, int rc)
{
    t->rc = rc;
    t->err_set = 1;
    return rc;
}

static int ck_read_common(trainctx *t)
{
    int64_t common[2];
    int rc = b4k_crf_ckpt_get(t->ck, "common", common, 2, t->err);
    if (rc)
        return ck_fail(t, rc);
    t->best_iter = (int)common[0];
    memcpy(&t->best_score, &common[1], sizeof(double));
    long long nb = b4k_crf_ckpt_len(t->ck, "best");
    if (!t->best != (nb < 0))
        return ck_fail(t, b4k_err_set(t->err, B4K_EINVAL, t->o->resume, 0,
                                      "the checkpoint was made %s --holdout",
                                      t->best ? "without" : "with"));
    if (t->best && (rc = b4k_crf_ckpt_get(t->ck, "best", t->best, t->m->nx, t->err)))
        return ck_fail(t, rc);
    return 0;
}

static double lbfgs_eval(void *vctx, const double *x, double *g, size_t n)
{
    (void)n;
    trainctx *t = vctx;
    int rc;
    double f = b4k_crf_obj_eval(&t->obj, x, g, t->o->c2, &rc);
    if (rc) {
        t->rc = rc;
        return INFINITY;
    }
    return f;
}

/* after an iteration: held-out score, progress; non-zero stops */
static int after_iter(trainctx *t, const double *x, b4k_crf_progress *p)
{
    const b4k_crf_train_opt *o = t->o;
    if (x != t->m->x)
        memcpy(t->m->x, x, t->m->nx * sizeof(double));
    p->seconds = now() - t->t0;
    p->start_iter = t->start_iter;
    p->max_iter = t->max_iter;
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
    if (o->progress && o->progress(o->ctx, p))
        return 1;
    return 0;
}

static int lbfgs_progress(void *vctx, const double *x, double fx, double xnorm, double gnorm,
                          double step, int iter, int nevals)
{
    trainctx *t = vctx;
    b4k_crf_progress p = { .iter = iter, .loss = fx, .xnorm = xnorm, .gnorm = gnorm,
                           .step = step, .nevals = nevals };
    return after_iter(t, x, &p);
}

static int lbfgs_save(void *vctx, const double *x, const b4k_lbfgs_state *st)
{
    trainctx *t = vctx;
    if (!ck_due(t, st->iter, t->o->max_iter && st->iter >= t->o->max_iter))
        return 0;
    ckitems k = { .n = 0 };
    size_t n = st->n, M = (size_t)st->m;
    int64_t ints[6] = { st->iter, st->nevals, st->hist, st->head, st->m, st->period };
    double reals[2] = { st->f, st->step };
    ck_add(&k, "x", x, n);
    ck_add(&k, "ints", ints, 6);
    ck_add(&k, "reals", reals, 2);
    ck_add(&k, "g", st->g, n);
    ck_add(&k, "pg", st->pg, n);
    ck_add(&k, "d", st->d, n);
    ck_add(&k, "S", st->S, M * n);
    ck_add(&k, "Y", st->Y, M * n);
    ck_add(&k, "rho", st->rho, M);
    ck_add(&k, "pf", st->pf, (size_t)st->period);
    return ck_write(t, &k, st->iter, x) ? B4K_EIO : 0;
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
    t->max_iter = o->max_iter;
    b4k_lbfgs_state rs, *resume = NULL;
    double *rbuf = NULL;
    int rc = 0;
    if (t->ck) {
        size_t n = t->m->nx;
        int64_t ints[6];
        double reals[2];
        if ((rc = b4k_crf_ckpt_get(t->ck, "ints", ints, 6, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "reals", reals, 2, t->err)))
            return ck_fail(t, rc);
        if (ints[4] != lo.m || ints[5] != (lo.period > 0 ? lo.period : 0))
            return ck_fail(t, b4k_err_set(t->err, B4K_EINVAL, o->resume, 0,
                                          "the checkpoint used --history %lld and --period %lld",
                                          (long long)ints[4], (long long)ints[5]));
        size_t M = (size_t)lo.m, per = (size_t)ints[5];
        rbuf = b4k_malloc_n(3 * n + 2 * M * n + M + per + 1, sizeof(double));
        if (!rbuf)
            return B4K_ENOMEM;
        rs = (b4k_lbfgs_state){ .n = n, .m = lo.m, .period = (int)per, .iter = (int)ints[0],
                                .nevals = (int)ints[1], .hist = (int)ints[2], .head = (int)ints[3],
                                .f = reals[0], .step = reals[1], .g = rbuf, .pg = rbuf + n,
                                .d = rbuf + 2 * n, .S = rbuf + 3 * n, .Y = rbuf + 3 * n + M * n,
                                .rho = rbuf + 3 * n + 2 * M * n, .pf = rbuf + 3 * n + 2 * M * n + M };
        if ((rc = b4k_crf_ckpt_get(t->ck, "x", t->m->x, n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "g", rs.g, n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "pg", rs.pg, n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "d", rs.d, n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "S", rs.S, M * n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "Y", rs.Y, M * n, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "rho", rs.rho, M, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "pf", rs.pf, per, t->err)) || (rc = ck_read_common(t))) {
            b4k_free(rbuf);
            return ck_fail(t, rc);
        }
        resume = &rs;
        t->res->iters = rs.iter;
    }
    double fx;
    int st = b4k_lbfgs_ex(t->m->x, t->m->nx, &fx, lbfgs_eval, lbfgs_progress, lbfgs_save, t, &lo,
                          resume);
    b4k_free(rbuf);
    if (st == B4K_EINVAL)
        return ck_fail(t, b4k_err_set(t->err, B4K_EINVAL, o->resume, 0, "bad L-BFGS state"));
    if (st < 0)
        return t->rc ? t->rc : st;
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

/* SGD state.  The real weights are scale * v, so that the L2 decay of every
 * update is one multiplication.  Averaging keeps the sum of the real weights
 * after every update as u + sigma * v: an update that adds D to v adds
 * -sigma_before * D to u (on the same few coordinates), then sigma grows by
 * the scale of the new weights; so the average costs O(features touched)
 * per update, like the update itself. */
typedef struct sgd {
    double *v;          /* (nx) raw weights */
    double scale;
    size_t k;           /* updates so far (rate schedule) */
    double lambda, eta0;
    double *u;          /* (nx) averaging, or NULL */
    double sigma;
    int64_t navg;       /* updates averaged so far */
    int hook;           /* call o->on_update */
} sgd;

/* fold sigma * v into u and the scale into v */
static void sgd_normalize(sgd *s, size_t nx)
{
    if (s->u && s->sigma != 0)
        for (size_t i = 0; i < nx; i++)
            s->u[i] += s->sigma * s->v[i];
    s->sigma = 0;
    if (s->scale != 1.0)
        for (size_t i = 0; i < nx; i++)
            s->v[i] *= s->scale;
    s->scale = 1.0;
}

/* One SGD epoch over idx[0..n).  Returns the summed loss (before each
 * update). */
static double sgd_epoch(trainctx *t, const size_t *idx, size_t n, sgd *s, int *rc)
{
    const b4k_crf_model *m = t->m;
    const b4k_crf_corpus *c = t->c;
    b4k_crf_worker *w = &t->obj.w[0];
    const int L = m->L;
    const int64_t *foff = m->foff;
    const int32_t *flab = m->flab;
    double *x = s->v, *u = s->u;
    double *xr = w->g; /* real transition parameters, scratch */
    double loss = 0;
    const double lambda = s->lambda, t0 = 1.0 / (lambda * s->eta0);
    size_t TT = (size_t)L * L + (m->start_end ? 2 * (size_t)L : 0);
    double *gt = b4k_calloc(TT, sizeof(double));
    if (!gt) {
        *rc = B4K_ENOMEM;
        return 0;
    }
    for (size_t ii = 0; ii < n; ii++) {
        size_t sq = idx[ii];
        double eta = 1.0 / (lambda * (t0 + (double)s->k));
        s->k++;
        double decay = 1.0 - eta * lambda;
        s->scale *= decay;
        if (s->scale < 1e-20)
            sgd_normalize(s, m->nx);
        const double sc = s->scale;
        for (size_t i = 0; i < TT; i++)
            xr[m->F + i] = x[m->F + i] * sc;
        b4k_crf_set_tr(&t->obj.tr, m, xr);
        size_t t0s = c->seq_off[sq], T = c->seq_off[sq + 1] - t0s;
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
        const double gain = eta / sc, ug = s->sigma * gain;
        for (size_t tt = 0; tt < T; tt++) {
            const double *p = w->marg + tt * L;
            for (size_t kk = c->tok_off[t0s + tt]; kk < c->tok_off[t0s + tt + 1]; kk++) {
                int32_t a = c->aid[kk];
                for (int64_t f = foff[a]; f < foff[a + 1]; f++) {
                    int32_t j = flab[f];
                    double gr = p[j] - (j == y[tt]);
                    x[f] -= gain * gr;
                    if (u)
                        u[f] += ug * gr;
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
        for (size_t i = 0; i < TT; i++) {
            x[m->F + i] -= gain * gt[i];
            if (u)
                u[m->F + i] += ug * gt[i];
        }
        if (u) {
            s->sigma += sc;
            s->navg++;
        }
        if (s->hook)
            t->o->on_update(t->o->ctx, x, sc, m->nx);
    }
    b4k_free(gt);
    return loss;
}

/* the rate for the real run: the candidate with the lowest objective after
 * one epoch on a sample of at most 1000 sequences */
static int sgd_calibrate(trainctx *t, double lambda, double *eta0)
{
    b4k_crf_model *m = t->m;
    size_t N = t->c->nseq, ns = N < 1000 ? N : 1000;
    int rc = 0;
    size_t *all = b4k_malloc_n(N ? N : 1, sizeof(size_t));
    if (!all)
        return B4K_ENOMEM;
    b4k_rng rs;
    b4k_rng_seed(&rs, t->o->seed, 8);
    for (size_t i = 0; i < N; i++)
        all[i] = i;
    shuffle(all, N, &rs);
    double best = INFINITY, sl = lambda * (double)N / (double)(ns ? ns : 1);
    *eta0 = 0.1;
    for (int k = -4; k <= 3; k++) {
        double cand = 0.1 * pow(2.0, k);
        memset(m->x, 0, m->nx * sizeof(double));
        sgd s = { .v = m->x, .scale = 1.0, .lambda = sl, .eta0 = cand };
        sgd_epoch(t, all, ns, &s, &rc);
        if (rc)
            break;
        sgd_normalize(&s, m->nx);
        double l2 = 0;
        for (size_t i = 0; i < m->nx; i++)
            l2 += m->x[i] * m->x[i];
        s.k = 1u << 30; /* tiny rate: measure only */
        double loss = sgd_epoch(t, all, ns, &s, &rc) + 0.5 * sl * ns * l2;
        if (rc)
            break;
        if (isfinite(loss) && loss < best) {
            best = loss;
            *eta0 = cand;
        }
    }
    b4k_free(all);
    memset(m->x, 0, m->nx * sizeof(double));
    return rc;
}

static int train_sgd(trainctx *t)
{
    b4k_crf_model *m = t->m;
    const b4k_crf_corpus *c = t->c;
    const b4k_crf_train_opt *o = t->o;
    int rc = 0;
    size_t N = c->nseq, nx = m->nx;
    int epochs = o->max_iter > 0 ? o->max_iter : 50;
    int avg_start = epochs >= 2 ? 2 : 1;
    size_t *idx = b4k_malloc_n(N ? N : 1, sizeof(size_t));
    int64_t *idx64 = b4k_malloc_n(N ? N : 1, sizeof(int64_t));
    double *u = o->averaging ? b4k_calloc(nx, sizeof(double)) : NULL;
    double *avg = o->averaging ? b4k_malloc_n(nx, sizeof(double)) : NULL;
    double *raw = m->x;
    if (!idx || !idx64 || (o->averaging && (!u || !avg))) {
        rc = B4K_ENOMEM;
        goto out;
    }
    t->max_iter = epochs;
    b4k_rng r;
    b4k_rng_seed(&r, o->seed, 7);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    double lambda = 2.0 * o->c2 / (double)(N ? N : 1);
    if (lambda <= 0)
        lambda = 1e-8;
    sgd s = { .v = m->x, .scale = 1.0, .lambda = lambda, .hook = o->on_update != NULL };
    double prev[16] = { 0 };
    int ep0 = 1, avg_on = 0;
    if (t->ck) { /* ints: epoch, k, rng[4], navg, avg_on; reals: eta0, prev[16] */
        int64_t ints[8];
        double reals[17];
        if ((rc = b4k_crf_ckpt_get(t->ck, "ints", ints, 8, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "reals", reals, 17, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "x", m->x, nx, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "idx", idx64, N, t->err)) || (rc = ck_read_common(t)))
            goto fail;
        if ((ints[7] != 0) != (o->averaging != 0)) {
            rc = b4k_err_set(t->err, B4K_EINVAL, o->resume, 0, "the checkpoint was made %s --averaging",
                             ints[7] ? "with" : "without");
            goto fail;
        }
        if (ints[7] && (rc = b4k_crf_ckpt_get(t->ck, "u", u, nx, t->err)))
            goto fail;
        ep0 = (int)ints[0] + 1;
        s.k = (size_t)ints[1];
        for (int q = 0; q < 4; q++)
            r.s[q] = (uint64_t)ints[2 + q];
        s.navg = ints[6];
        avg_on = ints[7] != 0;
        s.eta0 = reals[0];
        memcpy(prev, reals + 1, sizeof prev);
        for (size_t i = 0; i < N; i++) {
            if (idx64[i] < 0 || (uint64_t)idx64[i] >= N) {
                rc = b4k_err_set(t->err, B4K_EFORMAT, o->resume, 0, "bad train.idx");
                goto fail;
            }
            idx[i] = (size_t)idx64[i];
        }
        t->res->iters = (int)ints[0];
    } else {
        s.eta0 = o->eta0;
        if (s.eta0 <= 0 && (rc = sgd_calibrate(t, lambda, &s.eta0)))
            goto out;
    }
    if (avg_on)
        s.u = u;
    for (int ep = ep0; ep <= epochs; ep++) {
        if (u && !avg_on && ep >= avg_start) {
            avg_on = 1;
            s.u = u;
        }
        shuffle(idx, N, &r);
        double loss = sgd_epoch(t, idx, N, &s, &rc);
        if (rc)
            goto out;
        sgd_normalize(&s, nx);
        double l2 = 0;
        for (size_t i = 0; i < nx; i++)
            l2 += m->x[i] * m->x[i];
        loss += o->c2 * l2;
        b4k_crf_progress p = { .iter = ep, .loss = loss, .xnorm = sqrt(l2), .step = s.eta0,
                               .nevals = ep };
        /* report and score the averaged weights, keep training the raw */
        const double *out_w = raw;
        if (avg_on && s.navg) {
            for (size_t i = 0; i < nx; i++)
                avg[i] = u[i] / (double)s.navg;
            out_w = avg;
        }
        m->x = (double *)out_w;
        int stop = after_iter(t, out_w, &p);
        m->x = raw;
        if (stop || t->rc) {
            rc = t->rc;
            break;
        }
        /* delta test over a window of epochs */
        int per = o->period > 0 && o->period <= 16 ? o->period : 10;
        int conv = ep > per && fabs(prev[ep % per] - loss) / fabs(loss) < o->delta;
        prev[ep % per] = loss;
        if (!conv && ck_due(t, ep, ep == epochs)) {
            ckitems k = { .n = 0 };
            int64_t ints[8] = { ep, (int64_t)s.k, 0, 0, 0, 0, s.navg, avg_on };
            double reals[17];
            for (int q = 0; q < 4; q++)
                ints[2 + q] = (int64_t)r.s[q];
            reals[0] = s.eta0;
            memcpy(reals + 1, prev, sizeof prev);
            for (size_t i = 0; i < N; i++)
                idx64[i] = (int64_t)idx[i];
            ck_add(&k, "x", raw, nx);
            ck_add(&k, "ints", ints, 8);
            ck_add(&k, "reals", reals, 17);
            ck_add(&k, "idx", idx64, N);
            if (avg_on)
                ck_add(&k, "u", u, nx);
            if ((rc = ck_write(t, &k, ep, out_w)))
                break;
        }
        if (conv)
            break;
    }
    if (avg_on && s.navg)
        for (size_t i = 0; i < nx; i++)
            m->x[i] = u[i] / (double)s.navg;
    goto out;
fail:
    ck_fail(t, rc);
out:
    m->x = raw;
    b4k_free(idx);
    b4k_free(idx64);
    b4k_free(u);
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
    size_t N = c->nseq, nx = m->nx;
    size_t *idx = b4k_malloc_n(N ? N : 1, sizeof(size_t));
    int64_t *idx64 = b4k_malloc_n(N ? N : 1, sizeof(int64_t));
    double *wa = b4k_calloc(nx, sizeof(double));
    double *avgx = b4k_malloc_n(nx, sizeof(double));
    int32_t *path = b4k_malloc_n(c->maxT ? c->maxT : 1, sizeof(int32_t));
    b4k_crf_worker *w = &t->obj.w[0];
    double *x = m->x;
    if (!idx || !idx64 || !wa || !avgx || !path) {
        rc = B4K_ENOMEM;
        goto out;
    }
    b4k_rng r;
    b4k_rng_seed(&r, o->seed, 9);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    double cnt = 1;
    int epochs = o->max_iter > 0 ? o->max_iter : 10, ep0 = 1;
    t->max_iter = epochs;
    if (t->ck) { /* ints: epoch, rng[4]; reals: cnt */
        int64_t ints[5];
        if ((rc = b4k_crf_ckpt_get(t->ck, "ints", ints, 5, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "reals", &cnt, 1, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "x", x, nx, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "wa", wa, nx, t->err)) ||
            (rc = b4k_crf_ckpt_get(t->ck, "idx", idx64, N, t->err)) || (rc = ck_read_common(t))) {
            ck_fail(t, rc);
            goto out;
        }
        ep0 = (int)ints[0] + 1;
        for (int q = 0; q < 4; q++)
            r.s[q] = (uint64_t)ints[1 + q];
        for (size_t i = 0; i < N; i++) {
            if (idx64[i] < 0 || (uint64_t)idx64[i] >= N) {
                ck_fail(t, rc = b4k_err_set(t->err, B4K_EFORMAT, o->resume, 0, "bad train.idx"));
                goto out;
            }
            idx[i] = (size_t)idx64[i];
        }
        t->res->iters = (int)ints[0];
    }
    for (int ep = ep0; ep <= epochs; ep++) {
        shuffle(idx, N, &r);
        size_t mistakes = 0;
        for (size_t ii = 0; ii < N; ii++) {
            size_t s = idx[ii];
            size_t t0s = c->seq_off[s], T = c->seq_off[s + 1] - t0s;
            const int32_t *y = c->y + t0s;
            b4k_crf_set_tr(&t->obj.tr, m, x);
            b4k_crf_seq_emit(m, c, x, s, w->emit);
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
        for (size_t i = 0; i < nx; i++)
            avgx[i] = x[i] - wa[i] / cnt;
        m->x = avgx;
        b4k_crf_progress p = { .iter = ep, .loss = (double)mistakes, .nevals = ep };
        int stop = after_iter(t, avgx, &p);
        m->x = x;
        if (stop || t->rc) {
            rc = t->rc;
            break;
        }
        if (!mistakes)
            break;
        if (ck_due(t, ep, ep == epochs)) {
            ckitems k = { .n = 0 };
            int64_t ints[5] = { ep };
            for (int q = 0; q < 4; q++)
                ints[1 + q] = (int64_t)r.s[q];
            for (size_t i = 0; i < N; i++)
                idx64[i] = (int64_t)idx[i];
            ck_add(&k, "x", x, nx);
            ck_add(&k, "ints", ints, 5);
            ck_add(&k, "reals", &cnt, 1);
            ck_add(&k, "wa", wa, nx);
            ck_add(&k, "idx", idx64, N);
            if ((rc = ck_write(t, &k, ep, avgx)))
                break;
        }
    }
    for (size_t i = 0; i < nx; i++)
        x[i] = x[i] - wa[i] / cnt;
out:
    m->x = x;
    b4k_free(idx);
    b4k_free(idx64);
    b4k_free(wa);
    b4k_free(avgx);
    b4k_free(path);
    return rc;
}

int b4k_crf_train(b4k_crf_model *m, const b4k_crf_corpus *c, const b4k_crf_train_opt *o,
                  b4k_crf_train_result *res, b4k_err *err)
{
    trainctx t;
    b4k_crf_ckpt ck;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    res->best_score = -1;
    t.m = m;
    t.c = c;
    t.o = o;
    t.res = res;
    t.err = err;
    t.best_score = -1;
    t.t0 = now();
    if (c->nseq == 0)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "no training sequences");
    int threads = o->threads;
    if (o->resume) {
        int rc = b4k_crf_ckpt_open(&ck, o->resume, err);
        if (rc)
            return rc;
        if ((rc = b4k_crf_ckpt_match(&ck, m, err))) {
            b4k_crf_ckpt_close(&ck);
            return rc;
        }
        if (ck.algo != o->algo) {
            b4k_crf_ckpt_close(&ck);
            return b4k_err_set(err, B4K_EINVAL, o->resume, 0,
                               "the checkpoint was made by another --algorithm");
        }
        t.ck = &ck;
        t.start_iter = res->resumed_from = ck.iter;
        if (threads < 1)
            threads = ck.threads;
    }
    if (threads < 1)
        threads = 1;
    t.threads = threads;
    res->threads = o->algo == B4K_CRF_LBFGS ? threads : 1;
    int rc = b4k_crf_obj_init(&t.obj, m, c, res->threads);
    if (!rc && o->holdout && o->holdout->nseq) {
        t.best = b4k_malloc_n(m->nx, sizeof(double));
        if (!t.best)
            rc = B4K_ENOMEM;
    }
    if (rc) {
        b4k_crf_obj_free(&t.obj);
        b4k_free(t.best);
        if (t.ck)
            b4k_crf_ckpt_close(t.ck);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
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
    b4k_crf_obj_free(&t.obj);
    b4k_free(t.best);
    if (t.ck)
        b4k_crf_ckpt_close(t.ck);
    if (rc && t.err_set)
        return rc;
    if (rc == B4K_ERANGE)
        return b4k_err_set(err, rc, NULL, 0, "numerical failure (no allowed path)");
    if (rc)
        return b4k_err_set(err, rc, NULL, 0, "training failed: %s", b4k_err_str(rc));
    return 0;
}
