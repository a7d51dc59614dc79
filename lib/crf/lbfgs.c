/* L-BFGS / OWL-QN minimizer (see lbfgs.h). */
#include "crf/lbfgs.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

void b4k_lbfgs_default(b4k_lbfgs_opt *o)
{
    memset(o, 0, sizeof *o);
    o->m = 6;
    o->epsilon = 1e-5;
    o->period = 10;
    o->delta = 1e-5;
    o->max_linesearch = 20;
    o->ftol = 1e-4;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double l1norm(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(x[i]);
    return s;
}

/* OWL-QN pseudo-gradient of f + c1|x|_1 over [0,k) */
static void pseudo_grad(double *pg, const double *x, const double *g, size_t n, size_t k,
                        double c1)
{
    for (size_t i = 0; i < n; i++) {
        if (i >= k) {
            pg[i] = g[i];
        } else if (x[i] < 0) {
            pg[i] = g[i] - c1;
        } else if (x[i] > 0) {
            pg[i] = g[i] + c1;
        } else if (g[i] + c1 < 0) {
            pg[i] = g[i] + c1;
        } else if (g[i] - c1 > 0) {
            pg[i] = g[i] - c1;
        } else {
            pg[i] = 0;
        }
    }
}

int b4k_lbfgs(double *x, size_t n, double *fx, b4k_lbfgs_eval eval, b4k_lbfgs_progress progress,
              void *ctx, const b4k_lbfgs_opt *opt)
{
    return b4k_lbfgs_ex(x, n, fx, eval, progress, NULL, ctx, opt, NULL);
}

int b4k_lbfgs_ex(double *x, size_t n, double *fx, b4k_lbfgs_eval eval,
                 b4k_lbfgs_progress progress, b4k_lbfgs_save save, void *ctx,
                 const b4k_lbfgs_opt *opt, const b4k_lbfgs_state *resume)
{
    const int M = opt->m > 0 ? opt->m : 6;
    const int owl = opt->c1 > 0;
    const size_t k1 = owl ? (opt->n_l1 ? opt->n_l1 : n) : 0;
    const int period = opt->period > 0 ? opt->period : 0;
    int status = B4K_LBFGS_MAXITER;
    if (resume && (resume->n != n || resume->m != M || resume->period != period))
        return B4K_EINVAL;
    /* g gp xp d pg orth (n each), S Y (M n each), rho alpha (M each), pf */
    double *buf = b4k_malloc_n(6 * n + 2 * (size_t)M * n + 2 * (size_t)M + (size_t)period + 1,
                               sizeof(double));
    if (!buf)
        return B4K_ENOMEM;
    double *g = buf, *gp = g + n, *xp = gp + n, *d = xp + n, *pg = d + n, *orth = pg + n;
    double *S = orth + n, *Y = S + (size_t)M * n, *rho = Y + (size_t)M * n, *alpha = rho + M;
    double *pf = alpha + M;
    b4k_lbfgs_state st = { .n = n, .m = M, .period = period, .g = g, .pg = pg, .d = d,
                           .S = S, .Y = Y, .rho = rho, .pf = pf };
    int nevals, hist, head, iter0;
    double f, step;
    if (resume) {
        memcpy(g, resume->g, n * sizeof(double));
        memcpy(pg, resume->pg, n * sizeof(double));
        memcpy(d, resume->d, n * sizeof(double));
        memcpy(S, resume->S, (size_t)M * n * sizeof(double));
        memcpy(Y, resume->Y, (size_t)M * n * sizeof(double));
        memcpy(rho, resume->rho, (size_t)M * sizeof(double));
        if (period)
            memcpy(pf, resume->pf, (size_t)period * sizeof(double));
        nevals = resume->nevals;
        hist = resume->hist;
        head = resume->head;
        f = resume->f;
        step = resume->step;
        iter0 = resume->iter + 1;
        if (hist < 0 || hist > M || head < 0 || head >= M) {
            b4k_free(buf);
            return B4K_EINVAL;
        }
        if (opt->max_iter && resume->iter >= opt->max_iter) {
            *fx = f;
            b4k_free(buf);
            return B4K_LBFGS_MAXITER;
        }
    } else {
        nevals = 1;
        f = eval(ctx, x, g, n);
        if (owl) {
            f += opt->c1 * l1norm(x, k1);
            pseudo_grad(pg, x, g, n, k1, opt->c1);
        } else {
            memcpy(pg, g, n * sizeof(double));
        }
        double xnorm = sqrt(dot(x, x, n)), gnorm = sqrt(dot(pg, pg, n));
        if (gnorm / (xnorm > 1 ? xnorm : 1) <= opt->epsilon) {
            status = B4K_LBFGS_CONVERGED;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            d[i] = -pg[i];
        step = 1.0 / sqrt(dot(d, d, n));
        hist = 0;
        head = 0;
        iter0 = 1;
    }
    for (int iter = iter0;; iter++) {
        memcpy(xp, x, n * sizeof(double));
        memcpy(gp, g, n * sizeof(double));
        double fp = f;
        if (owl) { /* keep the direction in the orthant of -pg */
            for (size_t i = 0; i < k1; i++) {
                if (d[i] * pg[i] >= 0)
                    d[i] = 0;
                orth[i] = xp[i] != 0 ? (xp[i] > 0 ? 1 : -1) : (pg[i] > 0 ? -1 : pg[i] < 0 ? 1 : 0);
            }
        }
        double dg = dot(d, pg, n);
        if (dg >= 0) { /* not a descent direction: restart from steepest descent */
            for (size_t i = 0; i < n; i++)
                d[i] = -pg[i];
            hist = 0;
            dg = dot(d, pg, n);
            step = 1.0 / sqrt(-dg > 0 ? -dg : 1);
        }
        int ls, ok = 0;
        for (ls = 0; ls < opt->max_linesearch; ls++) {
            for (size_t i = 0; i < n; i++)
                x[i] = xp[i] + step * d[i];
            if (owl)
                for (size_t i = 0; i < k1; i++)
                    if (x[i] * orth[i] <= 0)
                        x[i] = 0;
            f = eval(ctx, x, g, n);
            nevals++;
            double dec;
            if (owl) {
                f += opt->c1 * l1norm(x, k1);
                dec = 0;
                for (size_t i = 0; i < n; i++)
                    dec += (x[i] - xp[i]) * pg[i];
            } else {
                dec = step * dg;
            }
            if (isfinite(f) && f <= fp + opt->ftol * dec) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok) {
            memcpy(x, xp, n * sizeof(double));
            memcpy(g, gp, n * sizeof(double));
            f = fp;
            status = B4K_LBFGS_LINESEARCH;
            break;
        }
        if (owl)
            pseudo_grad(pg, x, g, n, k1, opt->c1);
        else
            memcpy(pg, g, n * sizeof(double));
        double xnorm = sqrt(dot(x, x, n)), gnorm = sqrt(dot(pg, pg, n));
        if (progress && progress(ctx, x, f, xnorm, gnorm, step, iter, nevals)) {
            status = B4K_LBFGS_CANCELED;
            break;
        }
        if (gnorm / (xnorm > 1 ? xnorm : 1) <= opt->epsilon) {
            status = B4K_LBFGS_CONVERGED;
            break;
        }
        if (period) {
            if (iter > period) {
                double old = pf[iter % period];
                if (fabs(old - f) / (fabs(f) > 0 ? fabs(f) : 1) < opt->delta) {
                    pf[iter % period] = f;
                    status = B4K_LBFGS_STOPPED;
                    break;
                }
            }
            pf[iter % period] = f;
        }
        /* update the history with s = x - xp, y = g - gp */
        double *s = S + (size_t)head * n, *y = Y + (size_t)head * n;
        for (size_t i = 0; i < n; i++) {
            s[i] = x[i] - xp[i];
            y[i] = g[i] - gp[i];
        }
        double ys = dot(y, s, n), yy = dot(y, y, n);
        if (ys > 1e-12 * yy && yy > 0) {
            rho[head] = 1.0 / ys;
            head = (head + 1) % M;
            if (hist < M)
                hist++;
        }
        /* two-loop recursion: d = -H pg */
        for (size_t i = 0; i < n; i++)
            d[i] = -pg[i];
        int j = head;
        for (int k = 0; k < hist; k++) {
            j = (j + M - 1) % M;
            alpha[j] = rho[j] * dot(S + (size_t)j * n, d, n);
            const double *yj = Y + (size_t)j * n;
            for (size_t i = 0; i < n; i++)
                d[i] -= alpha[j] * yj[i];
        }
        if (hist) {
            int last = (head + M - 1) % M;
            const double *yl = Y + (size_t)last * n;
            double gam = 1.0 / (rho[last] * dot(yl, yl, n));
            for (size_t i = 0; i < n; i++)
                d[i] *= gam;
        }
        for (int k = 0; k < hist; k++) {
            double beta = rho[j] * dot(Y + (size_t)j * n, d, n);
            const double *sj = S + (size_t)j * n;
            for (size_t i = 0; i < n; i++)
                d[i] += (alpha[j] - beta) * sj[i];
            j = (j + 1) % M;
        }
        step = 1.0;
        if (save) {
            st.iter = iter;
            st.nevals = nevals;
            st.hist = hist;
            st.head = head;
            st.f = f;
            st.step = step;
            int rc = save(ctx, x, &st);
            if (rc) {
                status = rc > 0 ? B4K_LBFGS_CANCELED : rc;
                break;
            }
        }
        if (opt->max_iter && iter >= opt->max_iter) {
            status = B4K_LBFGS_MAXITER;
            break;
        }
    }
done:
    *fx = f;
    b4k_free(buf);
    return status;
}
