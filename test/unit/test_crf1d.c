/* Brute-force oracle for lib/crf/crf1d: enumerate every label path of tiny
 * random problems (L <= 4, T <= 4) and compare log Z, marginals, transition
 * marginals, the NLL gradient, Viterbi and n-best, with and without
 * start/end scores and constraint masks. */
#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "crf/crf1d.h"
#include "t.h"

#define MAXP 256 /* 4^4 */

typedef struct {
    int L, T;
    double emit[16], trans[16], start[4], end[4];
    uint8_t allow[16], as[4], ae[4];
    int use_se, use_mask;
} prob;

static void rand_prob(prob *p, b4k_rng *r, int L, int T, int use_se, int use_mask, double amp)
{
    p->L = L;
    p->T = T;
    p->use_se = use_se;
    p->use_mask = use_mask;
    for (int i = 0; i < T * L; i++)
        p->emit[i] = amp * (2 * b4k_rng_double(r) - 1);
    for (int i = 0; i < L * L; i++) {
        p->trans[i] = amp * (2 * b4k_rng_double(r) - 1);
        p->allow[i] = use_mask ? b4k_rng_double(r) < 0.7 : 1;
    }
    for (int i = 0; i < L; i++) {
        p->start[i] = use_se ? 2 * b4k_rng_double(r) - 1 : 0;
        p->end[i] = use_se ? 2 * b4k_rng_double(r) - 1 : 0;
        p->as[i] = use_mask ? b4k_rng_double(r) < 0.8 : 1;
        p->ae[i] = use_mask ? b4k_rng_double(r) < 0.8 : 1;
    }
}

/* path number k -> labels (base L digits) */
static void decode(int k, int L, int T, int32_t *y)
{
    for (int t = T - 1; t >= 0; t--) {
        y[t] = k % L;
        k /= L;
    }
}

static double brute_score(const prob *p, const int32_t *y)
{
    int L = p->L;
    if (!p->as[y[0]] || !p->ae[y[p->T - 1]])
        return -INFINITY;
    double s = p->start[y[0]] + p->end[y[p->T - 1]];
    for (int t = 0; t < p->T; t++) {
        s += p->emit[t * L + y[t]];
        if (t) {
            if (!p->allow[y[t - 1] * L + y[t]])
                return -INFINITY;
            s += p->trans[y[t - 1] * L + y[t]];
        }
    }
    return s;
}

static int npaths(const prob *p)
{
    int n = 1;
    for (int t = 0; t < p->T; t++)
        n *= p->L;
    return n;
}

static int nfail;

static void check_prob(const prob *p)
{
    int L = p->L, T = p->T, N = npaths(p);
    double sc[MAXP];
    int32_t y[4];
    double mx = -INFINITY;
    for (int k = 0; k < N; k++) {
        decode(k, L, T, y);
        sc[k] = brute_score(p, y);
        if (sc[k] > mx)
            mx = sc[k];
    }
    b4k_crf1d_tr tr;
    CHECK_EQ_INT(b4k_crf1d_tr_init(&tr, L), 0);
    if (p->use_mask)
        b4k_crf1d_tr_constrain(&tr, p->allow, p->as, p->ae);
    b4k_crf1d_tr_set(&tr, p->trans, p->use_se ? p->start : NULL, p->use_se ? p->end : NULL);
    b4k_crf1d_ws *ws = b4k_crf1d_ws_new(L);
    double lz;
    int rc = b4k_crf1d_fb(ws, &tr, p->emit, T, &lz);
    if (mx == -INFINITY) { /* nothing allowed */
        CHECK_EQ_INT(rc, -5);
        int32_t path[4];
        CHECK_EQ_INT(b4k_crf1d_viterbi(ws, &tr, p->emit, T, path, NULL), -5);
        goto done;
    }
    CHECK_EQ_INT(rc, 0);
    double z = 0, marg[16] = { 0 }, pm[16] = { 0 }, ps[4] = { 0 }, pe[4] = { 0 };
    for (int k = 0; k < N; k++) {
        if (sc[k] == -INFINITY)
            continue;
        z += exp(sc[k] - mx);
    }
    double blz = mx + log(z);
    CHECK_NEAR(lz, blz, 1e-9 * (1 + fabs(blz)));
    for (int k = 0; k < N; k++) {
        if (sc[k] == -INFINITY)
            continue;
        double pr = exp(sc[k] - blz);
        decode(k, L, T, y);
        for (int t = 0; t < T; t++) {
            marg[t * L + y[t]] += pr;
            if (t)
                pm[y[t - 1] * L + y[t]] += pr;
        }
        ps[y[0]] += pr;
        pe[y[T - 1]] += pr;
    }
    double m[16];
    b4k_crf1d_marginals(ws, &tr, m);
    for (int i = 0; i < T * L; i++)
        CHECK_NEAR(m[i], marg[i], 1e-9);
    double gt[16] = { 0 }, gs[4] = { 0 }, ge[4] = { 0 };
    b4k_crf1d_add_trans_marginals(ws, &tr, 1.0, gt, gs, ge);
    for (int i = 0; i < L * L; i++)
        CHECK_NEAR(gt[i], pm[i], 1e-9);
    for (int i = 0; i < L; i++) {
        CHECK_NEAR(gs[i], ps[i], 1e-9);
        CHECK_NEAR(ge[i], pe[i], 1e-9);
    }
    /* Viterbi: the best score, and a path that attains it */
    int32_t path[4];
    double vs;
    CHECK_EQ_INT(b4k_crf1d_viterbi(ws, &tr, p->emit, T, path, &vs), 0);
    CHECK_NEAR(vs, mx, 1e-9);
    CHECK_NEAR(brute_score(p, path), mx, 1e-9);
    /* n-best: scores equal the sorted brute-force scores; paths distinct */
    double sorted[MAXP];
    int ns = 0;
    for (int k = 0; k < N; k++)
        if (sc[k] != -INFINITY)
            sorted[ns++] = sc[k];
    for (int i = 1; i < ns; i++)
        for (int j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
            double tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    int K = 5;
    int32_t paths[5 * 4];
    double nsc[5];
    int found;
    CHECK_EQ_INT(b4k_crf1d_nbest(ws, &tr, p->emit, T, K, paths, nsc, &found), 0);
    CHECK_EQ_INT(found, ns < K ? ns : K);
    for (int k = 0; k < found; k++) {
        CHECK_NEAR(nsc[k], sorted[k], 1e-9);
        CHECK_NEAR(brute_score(p, paths + k * T), nsc[k], 1e-9);
        for (int k2 = 0; k2 < k; k2++)
            CHECK(memcmp(paths + k * T, paths + k2 * T, T * sizeof(int32_t)) != 0);
    }
    /* NLL gradient wrt emissions, transitions, start, end by finite
     * differences of log Z - s(y) for one allowed gold path */
    int gold = -1;
    for (int k = 0; k < N; k++)
        if (sc[k] != -INFINITY) {
            gold = k;
            break;
        }
    decode(gold, L, T, y);
    double loss, gem[16], gtr[16] = { 0 }, gst[4] = { 0 }, gen[4] = { 0 };
    CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &loss, gem, gtr, gst, gen), 0);
    CHECK_NEAR(loss, blz - sc[gold], 1e-9);
    prob q = *p;
    const double h = 1e-5;
    for (int i = 0; i < T * L; i++) {
        double lp, lm;
        q.emit[i] = p->emit[i] + h;
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, q.emit, T, y, &lp, NULL, NULL, NULL, NULL), 0);
        q.emit[i] = p->emit[i] - h;
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, q.emit, T, y, &lm, NULL, NULL, NULL, NULL), 0);
        q.emit[i] = p->emit[i];
        CHECK_NEAR(gem[i], (lp - lm) / (2 * h), 1e-6);
    }
    for (int i = 0; i < L * L; i++) {
        if (!p->allow[i])
            continue;
        double lp, lm;
        q.trans[i] = p->trans[i] + h;
        b4k_crf1d_tr_set(&tr, q.trans, p->start, p->end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lp, NULL, NULL, NULL, NULL), 0);
        q.trans[i] = p->trans[i] - h;
        b4k_crf1d_tr_set(&tr, q.trans, p->start, p->end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lm, NULL, NULL, NULL, NULL), 0);
        q.trans[i] = p->trans[i];
        CHECK_NEAR(gtr[i], (lp - lm) / (2 * h), 1e-6);
    }
    b4k_crf1d_tr_set(&tr, p->trans, p->start, p->end);
    for (int i = 0; i < L; i++) {
        double lp, lm;
        q.start[i] = p->start[i] + h;
        b4k_crf1d_tr_set(&tr, p->trans, q.start, p->end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lp, NULL, NULL, NULL, NULL), 0);
        q.start[i] = p->start[i] - h;
        b4k_crf1d_tr_set(&tr, p->trans, q.start, p->end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lm, NULL, NULL, NULL, NULL), 0);
        q.start[i] = p->start[i];
        if (p->as[i])
            CHECK_NEAR(gst[i], (lp - lm) / (2 * h), 1e-6);
        q.end[i] = p->end[i] + h;
        b4k_crf1d_tr_set(&tr, p->trans, p->start, q.end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lp, NULL, NULL, NULL, NULL), 0);
        q.end[i] = p->end[i] - h;
        b4k_crf1d_tr_set(&tr, p->trans, p->start, q.end);
        CHECK_EQ_INT(b4k_crf1d_nll(ws, &tr, p->emit, T, y, &lm, NULL, NULL, NULL, NULL), 0);
        q.end[i] = p->end[i];
        if (p->ae[i])
            CHECK_NEAR(gen[i], (lp - lm) / (2 * h), 1e-6);
    }
done:
    b4k_crf1d_ws_free(ws);
    b4k_crf1d_tr_free(&tr);
    (void)nfail;
}

TEST(oracle_plain)
{
    b4k_rng r;
    b4k_rng_seed(&r, 1, 0);
    for (int L = 1; L <= 4; L++)
        for (int T = 1; T <= 4; T++)
            for (int rep = 0; rep < 6; rep++) {
                prob p;
                rand_prob(&p, &r, L, T, 0, 0, 2.0);
                check_prob(&p);
            }
}

TEST(oracle_start_end)
{
    b4k_rng r;
    b4k_rng_seed(&r, 2, 0);
    for (int L = 1; L <= 4; L++)
        for (int T = 1; T <= 4; T++)
            for (int rep = 0; rep < 6; rep++) {
                prob p;
                rand_prob(&p, &r, L, T, 1, 0, 3.0);
                check_prob(&p);
            }
}

TEST(oracle_constrained)
{
    b4k_rng r;
    b4k_rng_seed(&r, 3, 0);
    for (int L = 1; L <= 4; L++)
        for (int T = 1; T <= 4; T++)
            for (int rep = 0; rep < 10; rep++) {
                prob p;
                rand_prob(&p, &r, L, T, rep & 1, 1, 2.0);
                check_prob(&p);
            }
}

TEST(oracle_large_scores)
{
    /* scores far outside exp()'s range still give exact log Z */
    b4k_rng r;
    b4k_rng_seed(&r, 4, 0);
    for (int rep = 0; rep < 10; rep++) {
        prob p;
        rand_prob(&p, &r, 4, 4, 1, 0, 400.0);
        check_prob(&p);
    }
}

TEST(scheme_masks)
{
    const char *bio[] = { "O", "B-PER", "I-PER", "B-LOC", "I-LOC" };
    uint8_t a[25], s[5], e[5];
    CHECK_EQ_INT(b4k_crf1d_scheme_mask("BIO", bio, 5, a, s, e), 0);
    CHECK(a[0 * 5 + 1] && !a[0 * 5 + 2] && a[1 * 5 + 2] && a[2 * 5 + 2]);
    CHECK(!a[1 * 5 + 4] && !a[3 * 5 + 2] && a[3 * 5 + 4] && a[2 * 5 + 3]);
    CHECK(s[0] && s[1] && !s[2] && !s[4]);
    CHECK(e[2] && e[1]);
    const char *bmes[] = { "B", "M", "E", "S" };
    uint8_t b[16], bs[4], be[4];
    CHECK_EQ_INT(b4k_crf1d_scheme_mask("BMES", bmes, 4, b, bs, be), 0);
    CHECK(b[0 * 4 + 1] && b[0 * 4 + 2] && !b[0 * 4 + 0] && !b[0 * 4 + 3]);
    CHECK(b[1 * 4 + 1] && b[1 * 4 + 2] && !b[1 * 4 + 3]);
    CHECK(b[2 * 4 + 0] && b[2 * 4 + 3] && !b[2 * 4 + 1] && !b[2 * 4 + 2]);
    CHECK(b[3 * 4 + 0] && b[3 * 4 + 3] && !b[3 * 4 + 2]);
    CHECK(bs[0] && !bs[1] && !bs[2] && bs[3]);
    CHECK(!be[0] && !be[1] && be[2] && be[3]);
    CHECK_EQ_INT(b4k_crf1d_scheme_mask("XYZ", bmes, 4, b, bs, be), -4);
    /* a constrained decode never produces I after O */
    b4k_crf1d_tr tr;
    b4k_crf1d_tr_init(&tr, 5);
    b4k_crf1d_tr_constrain(&tr, a, s, e);
    b4k_crf1d_tr_set(&tr, NULL, NULL, NULL);
    double emit[3 * 5] = { 0, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
    int32_t path[3];
    b4k_crf1d_ws *ws = b4k_crf1d_ws_new(5);
    CHECK_EQ_INT(b4k_crf1d_viterbi(ws, &tr, emit, 3, path, NULL), 0);
    CHECK(path[0] != 2 && !(path[2] == 4 && path[1] != 3 && path[1] != 4));
    b4k_crf1d_ws_free(ws);
    b4k_crf1d_tr_free(&tr);
}

TEST(kernels_agree)
{
    /* the AVX2 and portable kernels give the same lattice on odd sizes */
    b4k_rng r;
    b4k_rng_seed(&r, 5, 0);
    for (int L = 1; L <= 23; L += 2) {
        size_t T = 1 + (size_t)b4k_rng_below(&r, 40);
        double *emit = malloc(T * L * sizeof(double)), *tr = malloc(L * L * sizeof(double));
        for (size_t i = 0; i < T * L; i++)
            emit[i] = 3 * (2 * b4k_rng_double(&r) - 1);
        for (int i = 0; i < L * L; i++)
            tr[i] = 2 * b4k_rng_double(&r) - 1;
        b4k_crf1d_tr t;
        b4k_crf1d_tr_init(&t, L);
        b4k_crf1d_tr_set(&t, tr, NULL, NULL);
        b4k_crf1d_ws *ws = b4k_crf1d_ws_new(L);
        double lz[2], *g[2];
        int32_t *p[2];
        for (int k = 0; k < 2; k++) {
            b4k_crf1d_set_impl(k);
            g[k] = calloc(L * L, sizeof(double));
            p[k] = malloc(T * sizeof(int32_t));
            CHECK_EQ_INT(b4k_crf1d_fb(ws, &t, emit, T, &lz[k]), 0);
            b4k_crf1d_add_trans_marginals(ws, &t, 1.0, g[k], NULL, NULL);
            CHECK_EQ_INT(b4k_crf1d_viterbi(ws, &t, emit, T, p[k], NULL), 0);
        }
        CHECK_NEAR(lz[0], lz[1], 1e-9 * (1 + fabs(lz[0])));
        for (int i = 0; i < L * L; i++)
            CHECK_NEAR(g[0][i], g[1][i], 1e-9);
        CHECK(memcmp(p[0], p[1], T * sizeof(int32_t)) == 0);
        for (int k = 0; k < 2; k++) {
            free(g[k]);
            free(p[k]);
        }
        free(emit);
        free(tr);
        b4k_crf1d_ws_free(ws);
        b4k_crf1d_tr_free(&t);
    }
    b4k_crf1d_set_impl(-1);
}

TEST(viterbi_kernels_agree)
{
    /* the AVX2 max-plus (groups of 4-label vectors, partial last vector)
     * against the portable loop: the same path and score bit for bit, with
     * ties (scores on a coarse grid), forbidden transitions and start/end,
     * for L = 1..40 */
    b4k_rng r;
    b4k_rng_seed(&r, 6, 0);
    for (int L = 1; L <= 40; L++)
        for (int rep = 0; rep < 4; rep++) {
            size_t T = 1 + (size_t)b4k_rng_below(&r, 30);
            int grid = rep & 1, mask = rep >= 2;
            double *emit = malloc(T * L * sizeof(double)), *tr = malloc(L * L * sizeof(double));
            double se[2 * 40];
            uint8_t *allow = malloc((size_t)L * L), as[40], ae[40];
            for (size_t i = 0; i < T * L; i++)
                emit[i] = grid ? (double)b4k_rng_below(&r, 3) : 3 * (2 * b4k_rng_double(&r) - 1);
            for (int i = 0; i < L * L; i++) {
                tr[i] = grid ? (double)b4k_rng_below(&r, 2) : 2 * b4k_rng_double(&r) - 1;
                allow[i] = !mask || b4k_rng_double(&r) < 0.6;
            }
            for (int i = 0; i < 2 * L; i++)
                se[i] = grid ? (double)b4k_rng_below(&r, 2) : b4k_rng_double(&r);
            for (int i = 0; i < L; i++) {
                as[i] = !mask || b4k_rng_double(&r) < 0.8;
                ae[i] = !mask || b4k_rng_double(&r) < 0.8;
            }
            b4k_crf1d_tr t;
            b4k_crf1d_tr_init(&t, L);
            if (mask)
                b4k_crf1d_tr_constrain(&t, allow, as, ae);
            b4k_crf1d_tr_set(&t, tr, se, se + L);
            b4k_crf1d_ws *ws = b4k_crf1d_ws_new(L);
            int32_t *p[2];
            double sc[2];
            int rc[2];
            for (int k = 0; k < 2; k++) {
                b4k_crf1d_set_impl(k);
                p[k] = calloc(T, sizeof(int32_t));
                sc[k] = 0;
                rc[k] = b4k_crf1d_viterbi(ws, &t, emit, T, p[k], &sc[k]);
            }
            CHECK_EQ_INT(rc[0], rc[1]);
            CHECK(memcmp(&sc[0], &sc[1], sizeof(double)) == 0);
            CHECK(memcmp(p[0], p[1], T * sizeof(int32_t)) == 0);
            for (int k = 0; k < 2; k++)
                free(p[k]);
            free(emit);
            free(tr);
            free(allow);
            b4k_crf1d_ws_free(ws);
            b4k_crf1d_tr_free(&t);
        }
    b4k_crf1d_set_impl(-1);
}

int main(void)
{
    for (int impl = 0; impl < 2; impl++) {
        b4k_crf1d_set_impl(impl);
        RUN(oracle_plain);
        RUN(oracle_start_end);
        RUN(oracle_constrained);
        RUN(oracle_large_scores);
    }
    b4k_crf1d_set_impl(-1);
    RUN(kernels_agree);
    RUN(viterbi_kernels_agree);
    RUN(scheme_masks);
    return t_done();
}
