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

/* Minimize in place; returns a B4K_LBFGS_* status >= 0, or B4K_ENOMEM.
 * *fx gets the final objective. */
int b4k_lbfgs(double *x, size_t n, double *fx, b4k_lbfgs_eval eval, b4k_lbfgs_progress progress,
              void *ctx, const b4k_lbfgs_opt *opt);

#endif
