/* GFLOP/s of b4k_gemm_bf16 next to OpenBLAS sgemm, measured in the same
 * run and interleaved (compiled and run by test/bench/bench_gemm.sh; not
 * installed).
 *
 *   bench_gemm [MxNxK ...]      default: the BERT-base / GPT-2 shapes
 *
 * For each shape and 1 and 2 threads: sgemm f32, then bf16 GEMMs in the
 * layouts the programs use:
 *   fwd    Y = X W^T   (TB)          f32 W, converted while packing (training)
 *   fwd-w  Y = X W^T   (TB, BBF16)   bf16 W as stored in a .b4k (generate)
 *   split  as fwd-w with SPLIT_A     activations kept to ~16 bits (generate)
 *   dX     dX = dY W   (N, K swapped: M x K x N, no transpose)
 *   dW     dW += dY^T X (TA; N x K x M)
 * each the best of 15-60 calls, alternating one sgemm and one bf16 call so
 * that both see the same machine load; the ratio column is bf16 / sgemm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "core/threads.h"
#include "tensor/blas.h"
#include "tensor/gemm_bf16.h"

/* B4K_BENCH_CPUTIME=1: time by process CPU time (1 thread: robust when
 * the machine is oversubscribed; with 2 threads it also counts spinning). */
static clockid_t clk = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct gcase {
    const char *name;
    int flags, M, N, K; /* the GEMM as called */
    int sg_ta, sg_tb;   /* the matching sgemm */
    float beta;
} gcase;

static float *A, *B, *C;
static uint16_t *Bh;
static void *work;
static b4k_pool *pool;

static double run_sgemm(const gcase *g, int reps)
{
    int lda = g->sg_ta ? g->M : g->K, ldb = g->sg_tb ? g->K : g->N;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
        b4k_sgemm(g->sg_ta, g->sg_tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, g->beta, C, g->N);
        t = now() - t;
        best = t < best ? t : best;
    }
    return best;
}

static double run_bf16(const gcase *g, int reps)
{
    int lda = g->flags & B4K_GEMM_TA ? g->M : g->K, ldb = g->flags & B4K_GEMM_TB ? g->K : g->N;
    const void *b = g->flags & B4K_GEMM_BBF16 ? (const void *)Bh : (const void *)B;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
        b4k_gemm_bf16(pool, work, g->flags, g->M, g->N, g->K, 1.0f, A, lda, b, ldb, g->beta, C,
                      g->N);
        t = now() - t;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    int shapes[16][3], ns = 0;
    static const int def[][3] = { { 128, 768, 768 }, { 128, 3072, 768 }, { 1024, 768, 768 },
                                  { 128, 2304, 768 } };
    const char *ct = getenv("B4K_BENCH_CPUTIME");
    if (ct && *ct == '1')
        clk = CLOCK_PROCESS_CPUTIME_ID;
    int maxt = getenv("B4K_BENCH_THREADS") ? atoi(getenv("B4K_BENCH_THREADS")) : 2;
    for (int i = 1; i < argc && ns < 16; i++)
        if (sscanf(argv[i], "%dx%dx%d", &shapes[ns][0], &shapes[ns][1], &shapes[ns][2]) == 3)
            ns++;
    if (!ns)
        for (; ns < 4; ns++)
            memcpy(shapes[ns], def[ns], sizeof def[ns]);
    size_t mx = 0;
    for (int s = 0; s < ns; s++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (i != j && (size_t)shapes[s][i] * shapes[s][j] > mx)
                    mx = (size_t)shapes[s][i] * shapes[s][j];
    A = b4k_aligned_alloc(64, mx * 4);
    B = b4k_aligned_alloc(64, mx * 4);
    C = b4k_aligned_alloc(64, mx * 4);
    Bh = b4k_aligned_alloc(64, mx * 2);
    b4k_rng r;
    b4k_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < mx; i++) {
        A[i] = b4k_rng_float(&r) - 0.5f;
        B[i] = (b4k_rng_float(&r) - 0.5f) * 0.1f;
        Bh[i] = b4k_gemm_f2bf(B[i]);
        C[i] = 0;
    }
    printf("bf16 GEMM kernel: %s; sgemm: OpenBLAS; best of 15-60 runs, alternating\n",
           b4k_gemm_bf16_kernel_name());
    printf("%-5s %-18s %-6s %9s %9s %7s\n", "thr", "M x N x K", "op", "sgemm", "bf16", "ratio");
    for (int nt = 1; nt <= maxt; nt++) {
        pool = b4k_pool_new(nt);
        b4k_blas_set_threads(nt);
        for (int s = 0; s < ns; s++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            const gcase cs[] = {
                { "fwd", B4K_GEMM_TB, M, N, K, 0, 1, 0.0f },
                { "fwd-w", B4K_GEMM_TB | B4K_GEMM_BBF16, M, N, K, 0, 1, 0.0f },
                { "split", B4K_GEMM_TB | B4K_GEMM_BBF16 | B4K_GEMM_SPLIT_A, M, N, K, 0, 1, 0.0f },
                { "dX", 0, M, K, N, 0, 0, 0.0f },
                { "dW", B4K_GEMM_TA, N, K, M, 1, 0, 1.0f },
            };
            for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
                const gcase *g = &cs[c];
                double fl = 2.0 * g->M * g->N * g->K;
                int reps = (int)(2e9 / fl);
                reps = reps < 5 ? 5 : reps > 20 ? 20 : reps;
                size_t wn = b4k_gemm_bf16_work(g->flags, g->M, g->N, g->K, nt);
                work = b4k_aligned_alloc(64, wn ? wn : 64);
                run_bf16(g, 1); /* warm: pages of work and C */
                run_sgemm(g, 1);
                double ts = 1e30, tb = 1e30;
                for (int round = 0; round < 3 * reps; round++) {
                    double a = run_sgemm(g, 1), b = run_bf16(g, 1);
                    ts = a < ts ? a : ts;
                    tb = b < tb ? b : tb;
                }
                char sh[32];
                snprintf(sh, sizeof sh, "%dx%dx%d", g->M, g->N, g->K);
                printf("%-5d %-18s %-6s %9.1f %9.1f %6.2fx\n", nt, sh, g->name, fl / ts / 1e9,
                       fl / tb / 1e9, ts / tb);
                fflush(stdout);
                b4k_free(work);
            }
        }
        b4k_pool_free(pool);
    }
    b4k_free(A), b4k_free(B), b4k_free(C), b4k_free(Bh);
    return 0;
}
