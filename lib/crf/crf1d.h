/* Linear-chain CRF inference over a dense score lattice, independent of how
 * the scores were made (sparse features here, BERT emissions in nn/).
 *
 * A sequence of T positions over L labels is scored by
 *   s(y) = start[y0] + sum_t emit[t][y_t] + sum_{t>0} trans[y_{t-1}][y_t] + end[y_{T-1}]
 * with p(y) = exp(s(y)) / Z.  start/end may be NULL (zero).  An optional
 * constraint mask forbids transitions (and first/last labels): forbidden paths
 * get probability 0 and are never decoded.
 *
 * Forward-backward runs in exp space with per-position scaling (double), so it
 * is exact up to rounding for any score range: emissions and transitions are
 * shifted by their maxima before exp and the shifts are added back to log Z.
 *
 * Usage: b4k_crf1d_tr_set() once per weight change (shared read-only by all
 * threads), then per sequence and per thread b4k_crf1d_fb() on a workspace,
 * then the marginal and gradient functions read the lattice. */
#ifndef B4K_CRF_CRF1D_H
#define B4K_CRF_CRF1D_H

#include <stddef.h>
#include <stdint.h>

/* Transition parameters prepared for inference (exp tables, masks). */
typedef struct b4k_crf1d_tr {
    int L;
    double *trans;     /* (L,L) [from][to], log space, copy */
    double *start;     /* (L) */
    double *end;       /* (L) */
    double *etrans;    /* (L,L) exp(trans - tmax), 0 where forbidden */
    double *vtrans;    /* (L,L) trans, -inf where forbidden (Viterbi) */
    double *estart;    /* (L) exp(start - smax) */
    double *eend;      /* (L) exp(end - emax) */
    double tmax, smax, emax;
    uint8_t *allow;    /* (L,L) 1 = allowed; all 1 without constraints */
    uint8_t *allow_start, *allow_end; /* (L) */
    int constrained;
} b4k_crf1d_tr;

/* Per-thread workspace for sequences of up to cap positions. */
typedef struct b4k_crf1d_ws {
    int L;
    size_t cap;
    int T;           /* length of the last fb() */
    double logz;     /* of the last fb() */
    double *eemit;   /* (T,L) exp(emit - emax[t]) */
    double *alpha;   /* (T,L) scaled forward */
    double *beta;    /* (T,L) scaled backward */
    double *scale;   /* (T) 1/sum of unscaled alpha[t] */
    double *emax;    /* (T) */
    double *tmp;     /* (L) */
    double *cacc;    /* (L,L) transition-marginal accumulator, made by fb() */
    /* Viterbi / n-best scratch */
    double *vscore;  /* (T,L*K) */
    int32_t *vback;  /* (T,L*K) packed prev label * K + rank */
    size_t vcap;
} b4k_crf1d_ws;

/* L >= 1.  trans (L,L), start and end (L) may be NULL (zeros).  allow (L,L),
 * allow_start, allow_end (L) may be NULL (everything allowed). */
int b4k_crf1d_tr_init(b4k_crf1d_tr *tr, int L);
void b4k_crf1d_tr_free(b4k_crf1d_tr *tr);
void b4k_crf1d_tr_set(b4k_crf1d_tr *tr, const double *trans, const double *start,
                      const double *end);
/* Install a constraint mask (copied); NULL arrays mean "all allowed".  Takes
 * effect at the next b4k_crf1d_tr_set(). */
void b4k_crf1d_tr_constrain(b4k_crf1d_tr *tr, const uint8_t *allow, const uint8_t *allow_start,
                            const uint8_t *allow_end);

b4k_crf1d_ws *b4k_crf1d_ws_new(int L);
void b4k_crf1d_ws_free(b4k_crf1d_ws *ws);
int b4k_crf1d_ws_reserve(b4k_crf1d_ws *ws, size_t T);

/* Forward-backward: fills the lattice for emit (T,L) and returns log Z in
 * *logz.  Returns 0, B4K_ENOMEM, or B4K_ERANGE when no path is allowed by the
 * constraints (log Z = -inf).  T >= 1. */
int b4k_crf1d_fb(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                 double *logz);

/* After fb(): p(y_t = j), written to out (T,L). */
void b4k_crf1d_marginals(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, double *out);
/* After fb(): p(y_t = j) for one position. */
double b4k_crf1d_marginal(const b4k_crf1d_ws *ws, size_t t, int j);

/* After fb(): accumulate expected transition counts
 * gtrans[i][j] += scale * sum_t p(y_{t-1}=i, y_t=j), and (if non-NULL)
 * gstart[j] += scale * p(y_0=j), gend[j] += scale * p(y_{T-1}=j). */
void b4k_crf1d_add_trans_marginals(const b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, double scale,
                                   double *gtrans, double *gstart, double *gend);

/* Score s(y) of a label path y (T). */
double b4k_crf1d_score(const b4k_crf1d_tr *tr, const double *emit, size_t T, const int32_t *y);

/* Negative log-likelihood of gold path y and its gradient: loss = log Z - s(y),
 * gemit (T,L) is overwritten with p(y_t=j) - [y_t=j] (may be NULL);
 * gtrans (L,L), gstart, gend (L) are accumulated into (may be NULL).
 * Returns B4K_ERANGE if y is forbidden by the constraints. */
int b4k_crf1d_nll(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                  const int32_t *y, double *loss, double *gemit, double *gtrans, double *gstart,
                  double *gend);

/* Best path into path (T); returns 0 and sets *score, or B4K_ERANGE if no
 * path is allowed.  Ties go to the lowest label index. */
int b4k_crf1d_viterbi(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                      int32_t *path, double *score);

/* The K best paths, best first: paths (K,T), scores (K).  Sets *found to the
 * number of distinct allowed paths returned (< K when fewer exist). */
int b4k_crf1d_nbest(b4k_crf1d_ws *ws, const b4k_crf1d_tr *tr, const double *emit, size_t T,
                    int K, int32_t *paths, double *scores, int *found);

/* Kernel choice for tests: 0 portable, 1 AVX2 (if the CPU has it), -1 auto. */
void b4k_crf1d_set_impl(int impl);

/* Constraint masks from label names for a tagging scheme: "BIO" (B-X, I-X,
 * O; I-X only after B-X or I-X), "BIOES" (also E-X, S-X; X may be empty:
 * B, I, E, S), "BMES" (M for I).  Labels not of the scheme's form are
 * allowed everywhere.  allow (L,L), allow_start, allow_end (L) are filled.
 * Returns 0 or B4K_EINVAL for an unknown scheme name. */
int b4k_crf1d_scheme_mask(const char *scheme, const char *const *labels, int L, uint8_t *allow,
                          uint8_t *allow_start, uint8_t *allow_end);

#endif
