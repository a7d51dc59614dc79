/* bf16 linear layers (nn/linear_bf16.h), the plumbing over the bf16 GEMM
 * (whose kernels test_gemm_bf16.c checks):
 *  - forward (with and without bias) and backward (dx written and added,
 *    dW and db accumulated) against their _ref twins on odd shapes, 1 and
 *    2 threads: identical bits on CPUs where the kernel adds in the _ref's
 *    order (AMD Zen 5), else within the reassociation bound 2K 2^-24 S;
 *  - the same bits with 1 and 2 threads (whole-tile split);
 *  - against the exact (double) products of the f32 operands within the
 *    GEMM's bf16 bound (2^-7 + 2^-16) S + 2K 2^-24 S, S = sum_k |a_k b_k|
 *    (the weight rounded once by b4k_f32_to_bf16_row counts as the GEMM's
 *    own rounding of B).
 * Runs once per CPU level (test/run.sh): below avx512bf16 the GEMM is the
 * sgemm emulation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "core/threads.h"
#include "nn/linear_bf16.h"
#include "t.h"
#include "tensor/dtype.h"

static b4k_rng R;
static b4k_pool *P2;

static float *rnd(size_t n, float sc)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(b4k_rng_normal(&R) * sc);
    return p;
}

static float *dup(const float *x, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    memcpy(p, x, n * sizeof *p);
    return p;
}

/* |a - b| <= tol(i) for every element, tol from S (n values) */
static int within(const float *a, const float *b, const double *S, size_t n, double rel, double ka,
                  double *worst)
{
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double bound = rel * S[i] + ka * S[i] + 1e-30, d = fabs((double)a[i] - b[i]);
        if (!(d <= bound)) ok = 0;
        if (d / bound > *worst) *worst = d / bound;
    }
    return ok;
}

static void lin_case(int N, int I, int O)
{
    const double u = ldexp(1, -24);
    float *x = rnd((size_t)N * I, 1), *W = rnd((size_t)O * I, 0.3f), *b = rnd((size_t)O, 1),
          *dy = rnd((size_t)N * O, 1), *dx0 = rnd((size_t)N * I, 1), *dW0 = rnd((size_t)O * I, 1),
          *db0 = rnd((size_t)O, 1);
    uint16_t *Wh = malloc((size_t)O * I * sizeof *Wh);
    b4k_f32_to_bf16_row(Wh, W, (size_t)O * I);
    float *Wr = malloc((size_t)O * I * sizeof *Wr); /* the bf16 weight, as f32 */
    b4k_bf16_to_f32_row(Wr, Wh, (size_t)O * I);
    size_t ny = (size_t)N * O, nx = (size_t)N * I, nw = (size_t)O * I;
    void *work = b4k_aligned_alloc(64, b4k_linear_bf16_work(N, I, O, 2));

    /* forward: fast (1 and 2 threads) vs _ref vs exact */
    float *y1 = malloc(ny * 4), *y2 = malloc(ny * 4), *yr = malloc(ny * 4), *ye = malloc(ny * 4);
    double *Sy = malloc(ny * sizeof *Sy), worst_r = 0, worst_e = 0;
    for (int bias = 0; bias < 2; bias++) {
        CHECK(b4k_linear_bf16_fwd(NULL, work, y1, x, Wh, bias ? b : NULL, N, I, O) == 0);
        CHECK(b4k_linear_bf16_fwd(P2, work, y2, x, Wh, bias ? b : NULL, N, I, O) == 0);
        b4k_linear_bf16_fwd_ref(yr, x, Wh, bias ? b : NULL, N, I, O);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) {
                double s = 0, S = 0;
                for (int i = 0; i < I; i++) {
                    double p = (double)x[(size_t)n * I + i] * Wr[(size_t)o * I + i];
                    s += p, S += fabs(p);
                }
                ye[(size_t)n * O + o] = (float)(s + (bias ? b[o] : 0));
                Sy[(size_t)n * O + o] = S + (bias ? fabs(b[o]) : 0);
            }
        CHECK(!memcmp(y1, y2, ny * 4)); /* thread count: same bits */
        CHECK(within(y1, yr, Sy, ny, 0, 2.0 * I * u, &worst_r));
        CHECK(within(y1, ye, Sy, ny, ldexp(1, -7) + ldexp(1, -16), 2.0 * I * u + u, &worst_e));
    }

    /* backward: dx (written, added), dW and db accumulated */
    for (int add = 0; add < 2; add++) {
        float *dx1 = dup(dx0, nx), *dx2 = dup(dx0, nx), *dxr = dup(dx0, nx);
        float *dW1 = dup(dW0, nw), *dW2 = dup(dW0, nw), *dWr = dup(dW0, nw);
        float *db1 = dup(db0, O), *db2 = dup(db0, O), *dbr = dup(db0, O);
        CHECK(b4k_linear_bf16_bwd(NULL, work, dx1, add, dW1, db1, dy, x, Wh, N, I, O) == 0);
        CHECK(b4k_linear_bf16_bwd(P2, work, dx2, add, dW2, db2, dy, x, Wh, N, I, O) == 0);
        b4k_linear_bf16_bwd_ref(dxr, add, dWr, dbr, dy, x, Wh, N, I, O);
        CHECK(!memcmp(dx1, dx2, nx * 4) && !memcmp(dW1, dW2, nw * 4) && !memcmp(db1, db2, O * 4));
        CHECK(!memcmp(db1, dbr, O * 4)); /* f32 column sums, one order */
        double *Sx = malloc(nx * sizeof *Sx), *SW = malloc(nw * sizeof *SW);
        float *dxe = malloc(nx * 4), *dWe = malloc(nw * 4);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < I; i++) {
                double s = add ? dx0[(size_t)n * I + i] : 0, S = fabs(s);
                for (int o = 0; o < O; o++) {
                    double p = (double)dy[(size_t)n * O + o] * Wr[(size_t)o * I + i];
                    s += p, S += fabs(p);
                }
                dxe[(size_t)n * I + i] = (float)s;
                Sx[(size_t)n * I + i] = S;
            }
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++) {
                double s = dW0[(size_t)o * I + i], S = fabs(s);
                for (int n = 0; n < N; n++) {
                    double p = (double)dy[(size_t)n * O + o] * x[(size_t)n * I + i];
                    s += p, S += fabs(p);
                }
                dWe[(size_t)o * I + i] = (float)s;
                SW[(size_t)o * I + i] = S;
            }
        CHECK(within(dx1, dxr, Sx, nx, 0, 2.0 * O * u + u, &worst_r));
        CHECK(within(dW1, dWr, SW, nw, 0, 2.0 * N * u + u, &worst_r));
        CHECK(within(dx1, dxe, Sx, nx, ldexp(1, -7) + ldexp(1, -16), 2.0 * O * u + u, &worst_e));
        /* dW: both operands rounded (x and dy): (2^-7 + 2^-16) covers it */
        CHECK(within(dW1, dWe, SW, nw, ldexp(1, -7) + ldexp(1, -16), 2.0 * N * u + u, &worst_e));
        free(dx1), free(dx2), free(dxr), free(dW1), free(dW2), free(dWr), free(db1), free(db2), free(dbr);
        free(Sx), free(SW), free(dxe), free(dWe);
    }
    printf("  %dx%dx%d: fast vs _ref %.3g of the reassociation bound, vs exact %.3g of the bf16 bound\n",
           N, I, O, worst_r, worst_e);
    free(x), free(W), free(b), free(dy), free(dx0), free(dW0), free(db0), free(Wh), free(Wr);
    free(y1), free(y2), free(yr), free(ye), free(Sy);
    b4k_free(work);
}

TEST(linear_small) { lin_case(7, 5, 3); }
TEST(linear_odd) { lin_case(37, 50, 29); }
TEST(linear_blocks) { lin_case(130, 300, 97); } /* several 12-row and 32-column tiles, k blocks */

TEST(work_monotone)
{
    size_t a = b4k_linear_bf16_work(16, 64, 64, 2), b = b4k_linear_bf16_work(32, 64, 96, 2);
    CHECK(a > 0 && b >= a);
    CHECK(b4k_linear_bf16_work(2048, 3072, 3072, 2) >= b4k_linear_bf16_work(2048, 768, 3072, 2));
}

int main(void)
{
    if (t_cpu_level_missing("test_linear_bf16.c", b4k_cpu_level_name())) return 0;
    b4k_rng_seed(&R, 5, 0);
    P2 = b4k_pool_new(2);
    RUN(linear_small);
    RUN(linear_odd);
    RUN(linear_blocks);
    RUN(work_monotone);
    b4k_pool_free(P2);
    return t_done();
}
