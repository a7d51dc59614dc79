/* Limited-memory BFGS with an Armijo backtracking line search, and OWL-QN
 * (orthant-wise L-BFGS, Andrew & Gao 2007) for an L1 term c1 * |x|_1 on the
 * first n_l1 coordinates.  All arithmetic in double. */
#ifndef B4K_CRF_LBFGS_H
#define B4K_CRF_LBFGS_H

#include <stddef.h>

/* f(x) and its gradient g (smooth part only: OWL-QN adds the L1 term). */
typedef double (*b4k_lbfgs_eval)(void *ctx, const double *x, double *g, size_t n);
/* Called after each iteration; return non-zero to stop. fx includes L1. */
typedef int (*b4k_lbfgs_progress)(void *ctx, const double *x, double fx, double xnorm,
                                  double gnorm, double step, int iter, int nevals);

typedef struct b4k_lbfgs_opt {
    int m;             /* history size (6) */
    int max_iter;      /* 0 = unlimited */
    double epsilon;    /* stop when |g| / max(1, |x|) < epsilon (1e-5) */
    int period;        /* delta test window (10); 0 disables */
    double delta;      /* stop when (f[k-period] - f[k]) / f[k] < delta (1e-5) */
    int max_linesearch;/* (20) */
    double ftol;       /* Armijo constant (1e-4) */
    double c1;         /* L1 coefficient (0 = plain L-BFGS) */
    size_t n_l1;       /* coordinates [0, n_l1) get the L1 term */
} b4k_lbfgs_opt;

void b4k_lbfgs_default(b4k_lbfgs_opt *o);

enum {
    B4K_LBFGS_CONVERGED = 0,   /* gradient test */
    B4K_LBFGS_STOPPED = 1,     /* delta test */
    B4K_LBFGS_MAXITER = 2,
    B4K_LBFGS_CANCELED = 3,    /* progress returned non-zero */
    B4K_LBFGS_LINESEARCH = 4   /* no decrease found along the direction */
};

/* The minimiser's state at the end of an iteration, when the next search
 * direction is known: enough to continue exactly where it stopped (a
 * resumed run is bit-identical to an uninterrupted one).  x is not in it. */
typedef struct b4k_lbfgs_state {
    size_t n;
    int m;              /* history slots (opt->m) */
    int period;         /* delta-test window (opt->period) */
    int iter;           /* iterations done */
    int nevals;
    int hist, head;     /* corrections stored, next slot */
    double f, step;     /* objective at x (with L1), first trial step */
    double *g, *pg, *d; /* (n) gradient, (pseudo-)gradient, next direction */
    double *S, *Y;      /* (m, n) corrections */
    double *rho;        /* (m) */
    double *pf;         /* (period) objectives of the delta window */
} b4k_lbfgs_state;

/* Called at the end of every iteration after which the minimiser would go
 * on, also the one that reaches max_iter; non-zero stops (that code is
 * returned).  The state is valid during the call only. */
typedef int (*b4k_lbfgs_save)(void *ctx, const double *x, const b4k_lbfgs_state *st);

/* Minimize in place; returns a B4K_LBFGS_* status >= 0, B4K_ENOMEM, or a
 * negative code from save.  *fx gets the final objective.  save may be NULL.
 * resume (NULL: start afresh) continues from a saved state: x must be the
 * x that was saved with it, n, opt->m and opt->period the same. */
int b4k_lbfgs(double *x, size_t n, double *fx, b4k_lbfgs_eval eval, b4k_lbfgs_progress progress,
              void *ctx, const b4k_lbfgs_opt *opt);
int b4k_lbfgs_ex(double *x, size_t n, double *fx, b4k_lbfgs_eval eval,
                 b4k_lbfgs_progress progress, b4k_lbfgs_save save, void *ctx,
                 const b4k_lbfgs_opt *opt, const b4k_lbfgs_state *resume);

#endif
