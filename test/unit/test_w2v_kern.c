/* word2vec exactness: SIMD kernels against their _ref twin on odd sizes, the
 * sigmoid table, the batched skip-gram / CBOW updates against a hand
 * computation in double, and the Huffman tree against a brute-force optimal
 * cost and, code for code, against a reference tree built as word2vec.c
 * describes it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "t.h"
#include "w2v/kern.h"
#include "w2v/train.h"

static void fill(float *x, size_t n, b4k_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = b4k_rng_float(r) * 2 - 1;
}

static void check_kern(const b4k_w2v_kern *k)
{
    static const int ds[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 200, 301};
    static const int ms[] = {1, 2, 5, 10};
    static const int ns[] = {1, 3, 4, 6, 7, 41};
    const b4k_w2v_kern *ref = b4k_w2v_kern_ref();
    b4k_rng r;
    b4k_rng_seed(&r, 42, 0);
    float *A = malloc(10 * 301 * sizeof(float)), *B = malloc(41 * 301 * sizeof(float));
    float S1[10 * 41], S2[10 * 41], coef[41 * 10];
    float y1[302], y2[302];
    const float *C[10], *T[41];
    double worst = 0;
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++)
        for (size_t b = 0; b < sizeof ms / sizeof ms[0]; b++)
            for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
                int d = ds[a], m = ms[b], n = ns[c];
                fill(A, (size_t)m * d, &r);
                fill(B, (size_t)n * d, &r);
                fill(coef, sizeof coef / sizeof coef[0], &r);
                for (int j = 0; j < m; j++)
                    C[j] = A + (size_t)j * d;
                for (int q = 0; q < n; q++)
                    T[q] = B + (size_t)q * d;
                ref->dots(S1, C, m, T, n, d);
                k->dots(S2, C, m, T, n, d);
                for (int i = 0; i < m * n; i++) {
                    double e = fabs(S1[i] - S2[i]) / (1 + fabs(S1[i]));
                    if (e > worst)
                        worst = e;
                }
                for (int acc = 0; acc < 2; acc++)
                    for (int cs = 1; cs <= 2; cs++) {
                        fill(y1, (size_t)d + 1, &r);
                        memcpy(y2, y1, sizeof y1);
                        y2[d] = y1[d] = 12345.0f; /* guard: must not be written */
                        ref->comb(y1, acc, coef, cs, T, n, d);
                        k->comb(y2, acc, coef, cs, T, n, d);
                        CHECK(y2[d] == 12345.0f);
                        for (int i = 0; i < d; i++) {
                            double e = fabs(y1[i] - y2[i]) / (1 + fabs(y1[i]));
                            if (e > worst)
                                worst = e;
                        }
                    }
            }
    printf("  %s vs scalar: max rel diff %.3g\n", k->name, worst);
    CHECK(worst < 1e-5);
    free(A);
    free(B);
}

TEST(kern_avx2)
{
    const b4k_w2v_kern *k = b4k_w2v_kern_avx2();
    if (k)
        check_kern(k);
    else
        printf("  (no AVX2 on this CPU: nothing to compare)\n");
}

TEST(kern_avx512)
{
    const b4k_w2v_kern *k = b4k_w2v_kern_avx512();
    if (k)
        check_kern(k);
    else
        printf("  (no AVX-512 on this CPU: nothing to compare)\n");
}

TEST(sigmoid_table)
{
    double worst = 0;
    for (double x = -10; x <= 10; x += 0.0137) {
        double e = fabs(b4k_w2v_sigmoid((float)x) - 1 / (1 + exp(-x)));
        if (fabs(x) <= 8 && e > worst)
            worst = e;
    }
    CHECK(worst < 2e-6);
    CHECK_NEAR(b4k_w2v_sigmoid(0), 0.5, 1e-7);
    CHECK(b4k_w2v_sigmoid(100) > 0.999);
    CHECK(b4k_w2v_sigmoid(-100) < 0.001);
}

static double sig(double x) { return 1 / (1 + exp(-x)); }

/* skip-gram batch: 2 contexts x 3 targets, d = 3, by hand in double */
TEST(update_skipgram_hand)
{
    float c0[3] = {0.1f, -0.2f, 0.3f}, c1[3] = {0.05f, 0.4f, -0.1f};
    float t0[3] = {0.2f, 0.1f, -0.3f}, t1[3] = {-0.4f, 0.3f, 0.2f}, t2[3] = {0.0f, -0.1f, 0.5f};
    double C[2][3], T[3][3];
    for (int i = 0; i < 3; i++) {
        C[0][i] = c0[i];
        C[1][i] = c1[i];
        T[0][i] = t0[i];
        T[1][i] = t1[i];
        T[2][i] = t2[i];
    }
    float lab[3] = {1, 0, 0}, alpha = 0.1f;
    double G[2][3], loss = 0;
    for (int j = 0; j < 2; j++)
        for (int k = 0; k < 3; k++) {
            double f = 0;
            for (int i = 0; i < 3; i++)
                f += C[j][i] * T[k][i];
            G[j][k] = alpha * (lab[k] - sig(f));
            loss -= log(lab[k] > 0 ? sig(f) : sig(-f));
        }
    double C2[2][3], T2[3][3];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 2; j++) {
            C2[j][i] = C[j][i];
            for (int k = 0; k < 3; k++)
                C2[j][i] += G[j][k] * T[k][i];
        }
        for (int k = 0; k < 3; k++) {
            T2[k][i] = T[k][i];
            for (int j = 0; j < 2; j++)
                T2[k][i] += G[j][k] * C[j][i];
        }
    }
    float *Cp[2] = {c0, c1}, *Tp[3] = {t0, t1, t2};
    float scratch[64];
    double l = b4k_w2v_update(Cp, 2, Tp, lab, 3, 3, alpha, scratch);
    CHECK_NEAR(l, loss, 1e-4);
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(c0[i], C2[0][i], 1e-6);
        CHECK_NEAR(c1[i], C2[1][i], 1e-6);
        CHECK_NEAR(t0[i], T2[0][i], 1e-6);
        CHECK_NEAR(t1[i], T2[1][i], 1e-6);
        CHECK_NEAR(t2[i], T2[2][i], 1e-6);
    }
}

/* CBOW: h = mean of 2 contexts; targets 2; every context gets the full e */
TEST(update_cbow_hand)
{
    float c0[2] = {0.3f, -0.1f}, c1[2] = {0.1f, 0.5f};
    float t0[2] = {0.2f, 0.4f}, t1[2] = {-0.3f, 0.1f};
    double h[2] = {(0.3 + 0.1) / 2, (-0.1 + 0.5) / 2};
    double T[2][2] = {{0.2, 0.4}, {-0.3, 0.1}};
    float lab[2] = {1, 0}, alpha = 0.05f;
    double g[2], e[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        double f = h[0] * T[k][0] + h[1] * T[k][1];
        g[k] = alpha * (lab[k] - sig(f));
        for (int i = 0; i < 2; i++)
            e[i] += g[k] * T[k][i];
    }
    float *Cp[2] = {c0, c1}, *Tp[2] = {t0, t1};
    float scratch[64];
    b4k_w2v_update_cbow(Cp, 2, Tp, lab, 2, 2, alpha, scratch);
    CHECK_NEAR(c0[0], 0.3 + e[0], 1e-6);
    CHECK_NEAR(c0[1], -0.1 + e[1], 1e-6);
    CHECK_NEAR(c1[0], 0.1 + e[0], 1e-6);
    CHECK_NEAR(c1[1], 0.5 + e[1], 1e-6);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++)
            CHECK_NEAR(Tp[k][i], T[k][i] + g[k] * h[i], 1e-6);
}

/* CBOW with shared negatives (--share-negatives): 3 centres, 3 negatives,
 * against a double-precision brute force of the same formulas: every
 * product from the values before the update; a context row shared by two
 * centres gets both gradients; a negative that is a centre's own word is
 * skipped for that centre, and its row also takes the positive's update. */
TEST(update_cbow_shared_brute)
{
    enum { V = 6, D = 7, B = 3, K = 3 };
    float in[V][D], out[V][D];
    double rin[V][D], rout[V][D];
    b4k_rng r;
    b4k_rng_seed(&r, 42, 0);
    for (int v = 0; v < V; v++)
        for (int i = 0; i < D; i++) {
            in[v][i] = (float)(b4k_rng_float(&r) - 0.5);
            out[v][i] = (float)(b4k_rng_float(&r) - 0.5);
            rin[v][i] = in[v][i];
            rout[v][i] = out[v][i];
        }
    static const int ctx[B][3] = {{0, 2, -1}, {1, 3, 4}, {2, 5, -1}};
    int mb[B] = {2, 3, 2};
    uint32_t wp[B] = {1, 2, 4}, wn[K] = {4, 0, 3};
    float alpha = 0.1f;
    /* reference */
    double H[B][D], gp[B], gn[B][K], E[B][D];
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < D; i++) {
            H[b][i] = 0;
            for (int c = 0; c < mb[b]; c++)
                H[b][i] += rin[ctx[b][c]][i] / mb[b];
        }
        double f = 0;
        for (int i = 0; i < D; i++)
            f += H[b][i] * rout[wp[b]][i];
        gp[b] = alpha * (1 - sig(f));
        for (int j = 0; j < K; j++) {
            double x = 0;
            for (int i = 0; i < D; i++)
                x += H[b][i] * rout[wn[j]][i];
            gn[b][j] = wn[j] == wp[b] ? 0 : -alpha * sig(x);
        }
        for (int i = 0; i < D; i++) {
            E[b][i] = gp[b] * rout[wp[b]][i];
            for (int j = 0; j < K; j++)
                E[b][i] += gn[b][j] * rout[wn[j]][i];
        }
    }
    double nout[V][D], nin[V][D];
    memcpy(nout, rout, sizeof nout);
    memcpy(nin, rin, sizeof nin);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < D; i++) {
            nout[wp[b]][i] += gp[b] * H[b][i];
            for (int j = 0; j < K; j++)
                nout[wn[j]][i] += gn[b][j] * H[b][i];
            for (int c = 0; c < mb[b]; c++)
                nin[ctx[b][c]][i] += E[b][i];
        }
    /* b4k */
    float *cb[B][3], **Cb[B], *P[B], *N[K], scratch[B * (2 * D + K + 1)];
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < mb[b]; c++)
            cb[b][c] = in[ctx[b][c]];
        Cb[b] = cb[b];
        P[b] = out[wp[b]];
    }
    for (int j = 0; j < K; j++)
        N[j] = out[wn[j]];
    double loss = b4k_w2v_update_cbow_shared(Cb, mb, B, P, wp, N, wn, K, D, alpha, scratch);
    CHECK(loss > 0 && isfinite(loss));
    for (int v = 0; v < V; v++)
        for (int i = 0; i < D; i++) {
            CHECK_NEAR(in[v][i], nin[v][i], 1e-6);
            CHECK_NEAR(out[v][i], nout[v][i], 1e-6);
        }
}

/* brute force: optimal weighted code length by repeated min-pair merging */
static int64_t brute_cost(const int64_t *c, size_t n)
{
    int64_t w[256];
    size_t k = n;
    int64_t cost = 0;
    memcpy(w, c, n * sizeof *c);
    while (k > 1) {
        size_t a = 0, b = 1;
        if (w[b] < w[a]) {
            a = 1;
            b = 0;
        }
        for (size_t i = 2; i < k; i++) {
            if (w[i] < w[a]) {
                b = a;
                a = i;
            } else if (w[i] < w[b]) {
                b = i;
            }
        }
        int64_t s = w[a] + w[b];
        cost += s;
        size_t lo = a < b ? a : b, hi = a < b ? b : a;
        w[lo] = s;
        w[hi] = w[k - 1];
        k--;
    }
    return cost;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

TEST(huffman_vs_brute_force)
{
    b4k_rng r;
    b4k_rng_seed(&r, 7, 0);
    uint8_t codes[200 * B4K_W2V_MAX_CODE], lens[200];
    int32_t points[200 * B4K_W2V_MAX_CODE];
    for (int trial = 0; trial < 60; trial++) {
        size_t n = 2 + (size_t)b4k_rng_below(&r, trial < 30 ? 10 : 199);
        int64_t c[256];
        for (size_t i = 0; i < n; i++)
            c[i] = 1 + (int64_t)b4k_rng_below(&r, trial % 3 ? 1000 : 5);
        qsort(c, n, sizeof c[0], cmp_desc);
        b4k_err e;
        CHECK_EQ_INT(b4k_w2v_huffman(c, n, codes, points, lens, &e), 0);
        int64_t cost = 0;
        for (size_t i = 0; i < n; i++)
            cost += c[i] * lens[i];
        CHECK_EQ_INT(cost, brute_cost(c, n));
        /* prefix-free; paths start at the root and agree while codes agree */
        for (size_t a = 0; a < n; a++) {
            CHECK(lens[a] >= 1);
            CHECK_EQ_INT(points[a * B4K_W2V_MAX_CODE], (int64_t)n - 2);
            for (int k = 0; k < lens[a]; k++)
                CHECK(points[a * B4K_W2V_MAX_CODE + k] >= 0 &&
                      points[a * B4K_W2V_MAX_CODE + k] <= (int32_t)n - 2);
            for (size_t b = a + 1; b < n; b++) {
                int L = lens[a] < lens[b] ? lens[a] : lens[b], k = 0;
                while (k < L && codes[a * B4K_W2V_MAX_CODE + k] == codes[b * B4K_W2V_MAX_CODE + k]) {
                    CHECK_EQ_INT(points[a * B4K_W2V_MAX_CODE + k], points[b * B4K_W2V_MAX_CODE + k]);
                    k++;
                }
                CHECK(k < L); /* neither code is a prefix of the other */
                if (k < L)
                    CHECK_EQ_INT(points[a * B4K_W2V_MAX_CODE + k], points[b * B4K_W2V_MAX_CODE + k]);
            }
        }
    }
    /* frequent words get codes no longer than rare ones */
    int64_t c[5] = {100, 50, 20, 5, 1};
    b4k_err e;
    b4k_w2v_huffman(c, 5, codes, points, lens, &e);
    CHECK(lens[0] <= lens[4]);
}

/* Reference Huffman tree written from the description of word2vec.c's
 * CreateBinaryTree (not from its code, nor from lib/w2v/huffman.c), as an
 * explicit node tree walked from the root:
 *   - the words, sorted by decreasing count, are one queue consumed from
 *     the rare end; the inner nodes form a second queue in creation order;
 *   - each of the n-1 merges takes the smaller head twice; the leaf queue
 *     wins only when its head is strictly smaller (ties go to inner nodes),
 *     an empty queue never wins;
 *   - the first node taken is child 0, the second child 1 (code bit 1);
 *   - inner node k (creation order) has output row k, the root is n-2;
 *   - a word's code and points run from the root down to it. */
typedef struct rnode {
    int64_t cnt;
    int child[2];
} rnode;

static void ref_walk(const rnode *nd, size_t n, int node, int depth, uint8_t *code, int32_t *pts,
                     uint8_t *codes, int32_t *points, uint8_t *lens)
{
    if (node < (int)n) {
        lens[node] = (uint8_t)depth;
        memcpy(codes + (size_t)node * B4K_W2V_MAX_CODE, code, (size_t)depth);
        memcpy(points + (size_t)node * B4K_W2V_MAX_CODE, pts, (size_t)depth * sizeof *pts);
        return;
    }
    for (int b = 0; b < 2; b++) {
        code[depth] = (uint8_t)b;
        pts[depth] = node - (int)n;
        ref_walk(nd, n, nd[node].child[b], depth + 1, code, pts, codes, points, lens);
    }
}

static void ref_huffman(const int64_t *c, size_t n, uint8_t *codes, int32_t *points, uint8_t *lens)
{
    rnode *nd = calloc(2 * n, sizeof *nd);
    for (size_t i = 0; i < n; i++)
        nd[i].cnt = c[i];
    size_t leaf = n, ihead = n, itail = n; /* next leaf: leaf-1 */
    for (size_t k = 0; k + 1 < n; k++) {
        int pick[2];
        for (int q = 0; q < 2; q++) {
            int inner_ok = ihead < itail, leaf_ok = leaf > 0;
            if (leaf_ok && (!inner_ok || nd[leaf - 1].cnt < nd[ihead].cnt))
                pick[q] = (int)--leaf;
            else
                pick[q] = (int)ihead++;
        }
        nd[itail].cnt = nd[pick[0]].cnt + nd[pick[1]].cnt;
        nd[itail].child[0] = pick[0];
        nd[itail].child[1] = pick[1];
        itail++;
    }
    uint8_t code[B4K_W2V_MAX_CODE + 1];
    int32_t pts[B4K_W2V_MAX_CODE + 1];
    ref_walk(nd, n, (int)(2 * n - 2), 0, code, pts, codes, points, lens);
    free(nd);
}

TEST(huffman_vs_reference_tree)
{
    enum { NMAX = 300 };
    static uint8_t codes[NMAX * B4K_W2V_MAX_CODE], rcodes[NMAX * B4K_W2V_MAX_CODE];
    static int32_t points[NMAX * B4K_W2V_MAX_CODE], rpoints[NMAX * B4K_W2V_MAX_CODE];
    uint8_t lens[NMAX], rlens[NMAX];
    b4k_rng r;
    b4k_rng_seed(&r, 11, 0);
    int64_t c[NMAX];
    int trials = 0, mismatches = 0;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 2 + (size_t)b4k_rng_below(&r, trial < 50 ? 8 : NMAX - 2);
        int kind = trial % 5;
        for (size_t i = 0; i < n; i++) {
            if (kind == 0)
                c[i] = 7; /* all tied */
            else if (kind == 1)
                c[i] = 1 + (int64_t)b4k_rng_below(&r, 3); /* many ties */
            else if (kind == 2)
                c[i] = 5 + (int64_t)b4k_rng_below(&r, 100000); /* Zipf-free spread */
            else if (kind == 3)
                c[i] = 1 + (int64_t)(100000.0 / (double)(i + 1)); /* Zipf-like */
            else
                c[i] = 1 + (int64_t)b4k_rng_below(&r, 20);
        }
        qsort(c, n, sizeof c[0], cmp_desc);
        memset(codes, 0xAA, sizeof codes);
        memset(rcodes, 0xAA, sizeof rcodes);
        b4k_err e;
        CHECK_EQ_INT(b4k_w2v_huffman(c, n, codes, points, lens, &e), 0);
        ref_huffman(c, n, rcodes, rpoints, rlens);
        int bad = 0;
        for (size_t a = 0; a < n && !bad; a++) {
            bad |= lens[a] != rlens[a];
            for (int k = 0; k < lens[a] && !bad; k++)
                bad |= codes[a * B4K_W2V_MAX_CODE + k] != rcodes[a * B4K_W2V_MAX_CODE + k] ||
                       points[a * B4K_W2V_MAX_CODE + k] != rpoints[a * B4K_W2V_MAX_CODE + k];
            if (bad)
                printf("  trial %d (n %zu, kind %d): word %zu differs (len %d vs %d)\n", trial, n,
                       kind, a, lens[a], rlens[a]);
        }
        mismatches += bad;
        trials++;
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(trials, 200);
    /* a hand-worked case with a tie, counts 5 3 2 1 1 */
    int64_t h[5] = { 5, 3, 2, 1, 1 };
    b4k_err e;
    CHECK_EQ_INT(b4k_w2v_huffman(h, 5, codes, points, lens, &e), 0);
    /* merges: w4 (bit 0), w3 (bit 1) -> n0=2; heads leaf w2=2, inner n0=2: tie -> inner n0
     * first, then leaf w2 -> n1=4 (n0 code 0, w2 code 1); heads leaf w1=3,
     * inner n1=4 -> w1, then n1 -> n2=7 (w1 0, n1 1); heads w0=5, n2=7 ->
     * w0, then n2 -> n3=12 = root (w0 0, n2 1). */
    static const char *want[5] = { "0", "10", "111", "1101", "1100" };
    static const int32_t wantp[5][4] = { {3}, {3, 2}, {3, 2, 1}, {3, 2, 1, 0}, {3, 2, 1, 0} };
    for (int a = 0; a < 5; a++) {
        CHECK_EQ_INT(lens[a], (int)strlen(want[a]));
        for (int k = 0; k < lens[a] && k < 4; k++) {
            CHECK_EQ_INT(codes[a * B4K_W2V_MAX_CODE + k], want[a][k] - '0');
            CHECK_EQ_INT(points[a * B4K_W2V_MAX_CODE + k], wantp[a][k]);
        }
    }
    /* deeper than 40 bits: refused */
    int64_t fib[60];
    fib[59] = 1;
    fib[58] = 1;
    for (int i = 57; i >= 0; i--)
        fib[i] = fib[i + 1] + fib[i + 2];
    CHECK_EQ_INT(b4k_w2v_huffman(fib, 60, codes, points, lens, &e), B4K_ERANGE);
}

int main(void)
{
    if (b4k_w2v_kern_avx2())
        RUN(kern_avx2);
    else
        t_skip("test_w2v_kern.c:kern_avx2", "no AVX2 on this CPU (or B4K_CPU caps it)");
    if (b4k_w2v_kern_avx512())
        RUN(kern_avx512);
    else
        t_skip("test_w2v_kern.c:kern_avx512", "no AVX-512 on this CPU (or B4K_CPU caps it)");
    RUN(sigmoid_table);
    RUN(update_skipgram_hand);
    RUN(update_cbow_hand);
    RUN(update_cbow_shared_brute);
    RUN(huffman_vs_brute_force);
    RUN(huffman_vs_reference_tree);
    return t_done();
}
