/* bf16 GEMM (tensor/gemm_bf16.h): the dispatched kernel and the sgemm
 * fallback against the scalar _ref twin on random and odd shapes (1..67 in
 * each dimension, and larger ones that cross the k, row and column
 * blocks), every transpose, f32 and bf16 B, plain and SPLIT_A, beta 0 and
 * 1, 1 and 2 threads, padded leading dimensions; and against f32 sgemm
 * within the documented bf16 bound.
 *
 * Bounds, per element, with S = |alpha| sum_k |a_k b_k| (f32 inputs):
 *   fast vs _ref:  same bf16-rounded inputs, same k blocks; only the order
 *                  of f32 additions may differ: 2K * 2^-24 * S (+ the same
 *                  for the beta*C term).  Observed: printed below.
 *   _ref vs f32 sgemm: the rounding of the inputs to bf16:
 *                  plain (2^-7 + 2^-16) S, SPLIT_A (2^-8 + 2^-15) S,
 *                  SPLIT_A with bf16 B (B already exact; hi + lo is A
 *                  to 2^-16) 2^-15 S; plus 2K * 2^-24 * S for both sums. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/threads.h"
#include "tensor/blas.h"
#include "tensor/gemm_bf16.h"
#include "tensor/gemm_bf16_kern.h"
#include "t.h"

static b4k_rng R;
static b4k_pool *P2;
static double worst_fast, worst_fb; /* max |diff| / bound seen */

static void fill(float *x, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)b4k_rng_normal(&R) * s;
}

typedef struct shape {
    int M, N, K;
} shape;

/* One case: all flag combinations at this shape. */
static int run_case(int M, int N, int K, int pad, float alpha, float beta)
{
    int bad = 0;
    for (int flags = 0; flags < 16; flags++) {
        int ta = flags & B4K_GEMM_TA, tb = flags & B4K_GEMM_TB, bf = flags & B4K_GEMM_BBF16;
        int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
        size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
               nc = (size_t)M * ldc;
        float *A = malloc(na * 4 + 4), *Bf = malloc(nb * 4 + 4), *C0 = malloc(nc * 4 + 4);
        uint16_t *Bh = malloc(nb * 2 + 2);
        float *Cr = malloc(nc * 4 + 4), *C1 = malloc(nc * 4 + 4), *C2 = malloc(nc * 4 + 4),
              *Cf = malloc(nc * 4 + 4), *Cs = malloc(nc * 4 + 4);
        fill(A, na, 1.0f);
        fill(Bf, nb, 0.5f);
        fill(C0, nc, 1.0f);
        for (size_t i = 0; i < nb; i++) {
            Bh[i] = b4k_gemm_f2bf(Bf[i]);
            if (bf) { /* the f32 view of B is then the exact bf16 value */
                union { uint32_t u; float f; } v = { (uint32_t)Bh[i] << 16 };
                Bf[i] = v.f;
            }
        }
        const void *B = bf ? (const void *)Bh : (const void *)Bf;
        memcpy(Cr, C0, nc * 4);
        memcpy(C1, C0, nc * 4);
        memcpy(C2, C0, nc * 4);
        memcpy(Cf, C0, nc * 4);
        memcpy(Cs, C0, nc * 4);
        b4k_gemm_bf16_ref(flags, M, N, K, alpha, A, lda, B, ldb, beta, Cr, ldc);
        int rc1 = b4k_gemm_bf16(NULL, NULL, flags, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
        size_t wn = b4k_gemm_bf16_work(flags, M, N, K, 2);
        void *w = b4k_aligned_alloc(64, wn ? wn : 64);
        int rc2 = b4k_gemm_bf16(P2, w, flags, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
        b4k_free(w);
        void *fw = b4k_aligned_alloc(64, b4k_gbf_fallback_work(M, N, K));
        b4k_gbf_fallback(fw, flags, M, N, K, alpha, A, lda, B, ldb, beta, Cf, ldc);
        b4k_free(fw);
        b4k_sgemm(ta ? 1 : 0, tb ? 1 : 0, M, N, K, alpha, A, lda, Bf, ldb, beta, Cs, ldc);
        if (rc1 || rc2)
            bad = 1;
        double rel = flags & B4K_GEMM_SPLIT_A ? (bf ? 0x1p-15 : 0x1p-8 + 0x1p-15) : 0x1p-7 + 0x1p-16;
        for (int m = 0; m < M && !bad; m++)
            for (int n = 0; n < N; n++) {
                double S = 0;
                for (int k = 0; k < K; k++) {
                    double a = ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                    double b = tb ? Bf[(size_t)n * ldb + k] : Bf[(size_t)k * ldb + n];
                    S += fabs(a * b);
                }
                S *= fabs(alpha);
                double cb = fabs((double)beta * C0[(size_t)m * ldc + n]);
                double sum_tol = 2.0 * (K + 2) * 0x1p-24 * S + 0x1p-22 * cb + 1e-30;
                size_t o = (size_t)m * ldc + n;
                double r = Cr[o];
                double d1 = fabs(C1[o] - r), d2 = fabs(C2[o] - r), df = fabs(Cf[o] - r);
                double ds = fabs(Cs[o] - r), tol_s = rel * S + 2 * sum_tol;
                if (d1 / sum_tol > worst_fast)
                    worst_fast = d1 / sum_tol;
                if (df / sum_tol > worst_fb)
                    worst_fb = df / sum_tol;
                if (!(d1 <= sum_tol) || !(df <= sum_tol) || !(ds <= tol_s) ||
                    memcmp(&C1[o], &C2[o], 4)) {
                    printf("  M=%d N=%d K=%d flags=%d pad=%d alpha=%g beta=%g (%d,%d): ref %.9g "
                           "fast %.9g (2 thr %.9g, d2 %.3g) fallback %.9g sgemm %.9g tol %.3g/%.3g\n",
                           M, N, K, flags, pad, alpha, beta, m, n, r, C1[o], C2[o], d2, Cf[o],
                           Cs[o], sum_tol, tol_s);
                    bad = 1;
                    break;
                }
            }
        /* padding columns of C are never written */
        for (int m = 0; m < M && !bad && pad; m++)
            for (int n = N; n < ldc; n++) {
                size_t o = (size_t)m * ldc + n;
                if (memcmp(&C1[o], &C0[o], 4) || memcmp(&C2[o], &C0[o], 4)) {
                    printf("  M=%d N=%d K=%d flags=%d: pad column %d written\n", M, N, K, flags, n);
                    bad = 1;
                }
            }
        free(A), free(Bf), free(Bh), free(C0), free(Cr), free(C1), free(C2), free(Cf), free(Cs);
        if (bad)
            break;
    }
    return bad;
}

TEST(odd_shapes_match_ref)
{
    int bad = 0, n = 0;
    /* every size 1..67 appears in each dimension */
    for (int i = 1; i <= 67 && !bad; i++, n++) {
        int M = i, N = 1 + (int)b4k_rng_below(&R, 67), K = 1 + (int)b4k_rng_below(&R, 67);
        bad |= run_case(M, N, K, i % 3, 1.0f, i % 2 ? 1.0f : 0.0f);
        bad |= run_case(N, M, K, 0, 1.0f, i % 2 ? 0.0f : 1.0f);
        bad |= run_case(K, N, M, 1, i % 5 ? 1.0f : -0.5f, i % 3 ? 0.0f : 1.0f);
    }
    CHECK(!bad);
    printf("  %d x 3 shapes x 16 flag sets; max |fast-ref|/tol %.3g, |fallback-ref|/tol %.3g (%s)\n",
           n, worst_fast, worst_fb, b4k_gemm_bf16_kernel_name());
}

TEST(blocked_shapes_match_ref)
{
    /* k blocks (K > 768), row blocks (M > 144), column slices (N > 1536
     * per thread), tiles smaller than the thread count */
    static const shape s[] = { { 130, 97, 600 },  { 200, 70, 1031 }, { 13, 1600, 66 },
                               { 1, 3100, 40 },   { 300, 1, 33 },    { 145, 33, 1100 },
                               { 12, 32, 512 },   { 25, 65, 1 },     { 7, 2, 2049 } };
    int bad = 0;
    for (size_t i = 0; i < sizeof s / sizeof *s && !bad; i++)
        bad |= run_case(s[i].M, s[i].N, s[i].K, (int)i % 2 * 5, i % 2 ? 0.75f : 1.0f,
                        i % 3 ? 1.0f : 0.0f);
    CHECK(!bad);
    printf("  max |fast-ref|/tol %.3g, |fallback-ref|/tol %.3g\n", worst_fast, worst_fb);
}

/* beta == 0 never reads C (NaN there must not leak); K == 0 scales C. */
TEST(beta_zero_and_empty_k)
{
    float A[6] = { 1, 2, 3, 4, 5, 6 }, B[6] = { 1, 0, 0, 1, 1, 1 };
    float C[4] = { NAN, NAN, NAN, NAN };
    CHECK_EQ_INT(b4k_gemm_bf16(NULL, NULL, 0, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2), 0);
    CHECK(C[0] == 4 && C[1] == 5 && C[2] == 10 && C[3] == 11);
    float D[4] = { 1, 2, 3, 4 };
    CHECK_EQ_INT(b4k_gemm_bf16(P2, NULL, 0, 2, 2, 0, 1.0f, A, 3, B, 2, 2.0f, D, 2), 0);
    CHECK(D[0] == 2 && D[3] == 8);
    CHECK_EQ_INT(b4k_gemm_bf16(P2, NULL, 0, 0, 2, 3, 1.0f, A, 3, B, 2, 2.0f, D, 2), 0);
    CHECK(D[0] == 2);
}

/* Exactness on values that bf16 holds exactly: small integers. */
TEST(exact_on_bf16_values)
{
    int M = 37, N = 70, K = 515;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N),
          *C = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++)
        A[i] = (float)((int)b4k_rng_below(&R, 9) - 4);
    for (int i = 0; i < K * N; i++)
        B[i] = (float)((int)b4k_rng_below(&R, 9) - 4);
    CHECK_EQ_INT(b4k_gemm_bf16(P2, NULL, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N), 0);
    int ok = 1;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int s = 0;
            for (int k = 0; k < K; k++)
                s += (int)A[(size_t)m * K + k] * (int)B[(size_t)k * N + n];
            ok &= C[(size_t)m * N + n] == (float)s;
        }
    CHECK(ok);
    free(A), free(B), free(C);
}

int main(void)
{
    b4k_rng_seed(&R, 20261205, 0);
    P2 = b4k_pool_new(2);
    b4k_blas_set_threads(1);
    RUN(odd_shapes_match_ref);
    RUN(blocked_shapes_match_ref);
    RUN(beta_zero_and_empty_k);
    RUN(exact_on_bf16_values);
    b4k_pool_free(P2);
    return t_done();
}
