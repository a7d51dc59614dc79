/* word2vec exactness: SIMD kernels against their _ref twin on odd sizes, the
 * sigmoid table, the batched skip-gram / CBOW updates against a hand
 * computation in double, and the Huffman tree against a brute-force one. */
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
    RUN(huffman_vs_brute_force);
    return t_done();
}
