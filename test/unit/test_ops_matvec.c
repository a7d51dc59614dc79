/* Fast matvec kernels (those of the level B4K_CPU caps dispatch at; test/run.sh
 * runs this once per level: scalar, avx2, avx512, avx512bf16) against their
 * scalar _ref twins and against an exact double product, on random and odd
 * shapes, for f32, f16, bf16 and q8 weights; sgemm path; dot/axpy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "tensor/dtype.h"
#include "tensor/gemm_bf16.h"
#include "tensor/matvec.h"
#include "tensor/ops.h"
#include "t.h"

static b4k_rng R;

static void fill(float *x, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)b4k_rng_normal(&R) * s;
}

/* weights of `type` from f32 src; returns the buffer and sets w */
static void *make(int type, const float *src, int N, int K, b4k_wmat *w)
{
    int64_t shape[2] = { N, K };
    size_t nb = 0;
    b4k_dtype_nbytes(type, 2, shape, &nb);
    void *d = b4k_aligned_alloc(64, nb + 64);
    b4k_dtype_from_f32(d, type, src, (size_t)N * K, (size_t)K);
    w->type = type;
    w->rows = N;
    w->cols = K;
    w->data = d;
    w->scales = type == B4K_Q8 ? b4k_q8_scales(d, (size_t)N, (size_t)K) : NULL;
    return d;
}

TEST(kernels_match_ref_and_exact)
{
    static const int shapes[][2] = { { 1, 32 }, { 17, 64 }, { 33, 96 }, { 5, 800 }, { 40, 3072 },
                                     { 70, 2560 }, { 3, 33 }, { 16, 7 } };
    static const int types[] = { B4K_F32, B4K_F16, B4K_BF16, B4K_Q8 };
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t ti = 0; ti < 4; ti++)
            for (int T = 1; T <= 3; T += 2) {
                int N = shapes[si][0], K = shapes[si][1], type = types[ti];
                if (type == B4K_Q8 && K % 32)
                    continue;
                float *src = malloc(sizeof(float) * N * K), *x = malloc(sizeof(float) * T * K),
                      *b = malloc(sizeof(float) * N), *deq = malloc(sizeof(float) * N * K);
                fill(src, (size_t)N * K, 0.05f);
                fill(x, (size_t)T * K, 1.0f);
                fill(b, (size_t)N, 0.1f);
                b4k_wmat w;
                void *d = make(type, src, N, K, &w);
                b4k_wmat_rows_f32(deq, &w, 0, N);
                size_t sn = b4k_matmul_scratch(&w, T) + 64;
                float *scr = malloc(sizeof(float) * sn);
                float *o1 = calloc((size_t)T * N, sizeof(float)), *o2 = calloc((size_t)T * N, sizeof(float));
                float *o3 = calloc((size_t)T * N, sizeof(float));
                /* split in two row ranges like two threads would */
                int r0, r1;
                for (int tid = 0; tid < 2; tid++) {
                    b4k_matmul_split(N, tid, 2, &r0, &r1);
                    b4k_matmul_rows(o1, N, x, &w, b, T, r0, r1, scr);
                }
                b4k_matmul_rows_ref(o2, N, x, &w, b, T, 0, N, scr);
                /* chunks of rows, x converted once (b4k_matmul_rows_more):
                 * the same bits as the two ranges */
                float *o4 = calloc((size_t)T * N, sizeof(float));
                CHECK(o4 != NULL);
                for (int c0 = 0; o4 && c0 < N; c0 += 16)
                    (c0 ? b4k_matmul_rows_more : b4k_matmul_rows)(o4, N, x, &w, b, T, c0,
                                                                  c0 + 16 < N ? c0 + 16 : N, scr);
                CHECK(o4 && !memcmp(o1, o4, sizeof(float) * T * N));
                free(o4);
                /* the prefill path, also split as two threads would */
                void *work = b4k_aligned_alloc(64, b4k_matmul_big_work(&w, T) + 64);
                for (int tid = 0; tid < 2; tid++) {
                    b4k_matmul_split(N, tid, 2, &r0, &r1);
                    b4k_matmul_big_rows(o3, N, x, &w, b, T, r0, r1, work);
                }
                double e_fast = 0, e_ref = 0, e_big = 0, bound_ok = 1;
                for (int t = 0; t < T; t++)
                    for (int n = 0; n < N; n++) {
                        double ex = b[n], mag = fabs(b[n]), qb = 0;
                        for (int k = 0; k < K; k++) {
                            ex += (double)deq[(size_t)n * K + k] * x[(size_t)t * K + k];
                            mag += fabs((double)deq[(size_t)n * K + k] * x[(size_t)t * K + k]);
                        }
                        if (type == B4K_Q8) /* x quantised per 32: |err| <= sum_b d_b/2 sum|w| */
                            for (int bb = 0; bb < K / 32; bb++) {
                                double am = 0, sw = 0;
                                for (int k = 0; k < 32; k++) {
                                    am = fmax(am, fabs(x[(size_t)t * K + bb * 32 + k]));
                                    sw += fabs(deq[(size_t)n * K + bb * 32 + k]);
                                }
                                qb += am / 127 / 2 * sw;
                            }
                        size_t i = (size_t)t * N + n;
                        double tol = 1e-5 * mag + 1e-6 + qb * 1.001;
                        if (fabs(o1[i] - ex) > tol || fabs(o2[i] - ex) > tol)
                            bound_ok = 0;
                        e_fast = fmax(e_fast, fabs(o1[i] - o2[i]) / (mag + 1e-6));
                        e_big = fmax(e_big, fabs(o3[i] - ex) / (mag + 1e-6));
                        e_ref = fmax(e_ref, fabs(o2[i] - ex) / (mag + 1e-6));
                    }
                if (!bound_ok || e_big > 1e-5 || e_fast > (type == B4K_Q8 ? 1e-5 : 1e-5)) {
                    printf("  N=%d K=%d T=%d %s (%s): fast-ref %.3g ref-exact %.3g big %.3g bound %s\n",
                           N, K, T, b4k_dtype_name(type), b4k_matmul_kernel_name(type), e_fast,
                           e_ref, e_big, bound_ok ? "ok" : "FAILED");
                    CHECK(0);
                }
                free(src), free(x), free(b), free(deq), free(scr), free(o1), free(o2), free(o3);
                b4k_free(work);
                b4k_free(d);
            }
    printf("  kernels: f32 %s, bf16 %s, q8 %s (cpu %s)\n", b4k_matmul_kernel_name(B4K_F32),
           b4k_matmul_kernel_name(B4K_BF16), b4k_matmul_kernel_name(B4K_Q8), b4k_cpu_level_name());
}

TEST(dot_axpy)
{
    for (int n = 0; n < 200; n += 7) {
        float a[200], b[200], y1[200], y2[200];
        fill(a, 200, 1), fill(b, 200, 1), fill(y1, 200, 1);
        memcpy(y2, y1, sizeof y1);
        double mag = 1e-6;
        for (int i = 0; i < n; i++)
            mag += fabs(a[i] * b[i]);
        CHECK_NEAR(b4k_dot_f32(a, b, n), b4k_dot_f32_ref(a, b, n), 1e-5 * mag);
        b4k_axpy_f32(y1, 0.37f, a, n);
        b4k_axpy_f32_ref(y2, 0.37f, a, n);
        for (int i = 0; i < 200; i++)
            CHECK_NEAR(y1[i], y2[i], 1e-6);
    }
}

/* The prefill path on prefill-sized T and on several blocks of expanded
 * rows (f16/q8 go through f32 blocks of at most 512 rows): against the
 * exact product of the stored weights, for 1, 2 and 3 threads' splits; bf16
 * through our AVX512-BF16 GEMM (fixed k order) gives identical bits for
 * every split, sgemm identical bits for the same split. */
TEST(big_rows_prefill_shapes)
{
    static const int shapes[][2] = { { 600, 64 }, { 1100, 2048 }, { 45, 3072 }, { 17, 96 } };
    static const int types[] = { B4K_F32, B4K_F16, B4K_BF16, B4K_Q8 };
    static const int Ts[] = { 9, 37 };
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t ti = 0; ti < 4; ti++)
            for (size_t tt = 0; tt < 2; tt++) {
                int N = shapes[si][0], K = shapes[si][1], type = types[ti], T = Ts[tt];
                float *src = malloc(sizeof(float) * N * K), *x = malloc(sizeof(float) * T * K),
                      *b = malloc(sizeof(float) * N), *deq = malloc(sizeof(float) * N * K);
                fill(src, (size_t)N * K, 0.05f);
                fill(x, (size_t)T * K, 1.0f);
                fill(b, (size_t)N, 0.1f);
                b4k_wmat w;
                void *d = make(type, src, N, K, &w);
                b4k_wmat_rows_f32(deq, &w, 0, N);
                void *work = b4k_aligned_alloc(64, b4k_matmul_big_work(&w, T) + 64);
                float *o[3];
                for (int nt = 1; nt <= 3; nt++) {
                    o[nt - 1] = malloc(sizeof(float) * T * N);
                    for (int tid = 0; tid < nt; tid++) {
                        int r0, r1;
                        b4k_matmul_split(N, tid, nt, &r0, &r1);
                        b4k_matmul_big_rows(o[nt - 1], N, x, &w, b, T, r0, r1, work);
                    }
                }
                int fixed_k = type == B4K_BF16 && !strcmp(b4k_gemm_bf16_kernel_name(), "avx512bf16");
                int same = !fixed_k || (!memcmp(o[0], o[1], sizeof(float) * T * N) &&
                                                !memcmp(o[0], o[2], sizeof(float) * T * N));
                float *again = malloc(sizeof(float) * T * N);
                for (int tid = 0; tid < 2; tid++) {
                    int r0, r1;
                    b4k_matmul_split(N, tid, 2, &r0, &r1);
                    b4k_matmul_big_rows(again, N, x, &w, b, T, r0, r1, work);
                }
                same = same && !memcmp(again, o[1], sizeof(float) * T * N);
                free(again);
                /* bf16: x kept to ~16 bits (gemm_bf16.h) */
                double rel = (type == B4K_BF16 ? 3.1e-5 : 0) + 2.0 * K * 6e-8 + 1e-6, e = 0;
                int ok = 1;
                for (int t = 0; t < T; t++)
                    for (int n = 0; n < N; n++) {
                        double ex = b[n], mag = fabs(b[n]);
                        for (int k = 0; k < K; k++) {
                            double p = (double)deq[(size_t)n * K + k] * x[(size_t)t * K + k];
                            ex += p;
                            mag += fabs(p);
                        }
                        for (int i = 0; i < 3; i++) {
                            double df = fabs(o[i][(size_t)t * N + n] - ex);
                            e = fmax(e, df / (mag + 1e-6));
                            if (df > rel * mag + 1e-6)
                                ok = 0;
                        }
                    }
                if (!ok || !same) {
                    printf("  N=%d K=%d T=%d %s: rel err %.3g (bound %.3g), splits %s\n", N, K, T,
                           b4k_dtype_name(type), e, rel, same ? "identical" : "DIFFER");
                    CHECK(0);
                }
                for (int i = 0; i < 3; i++)
                    free(o[i]);
                free(src), free(x), free(b), free(deq);
                b4k_free(work);
                b4k_free(d);
            }
}

/* rows expanded to f32 for the prefill's sgemm: the dispatched copy gives
 * the bits of the scalar _ref (the conversion is exact), on odd row ranges
 * and lengths (tails of every width) */
TEST(rows_f32_match_ref)
{
    static const int shapes[][2] = { { 7, 96 }, { 5, 33 }, { 3, 7 }, { 40, 768 } };
    static const int types[] = { B4K_F32, B4K_F16, B4K_BF16, B4K_Q8 };
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t ti = 0; ti < 4; ti++) {
            int N = shapes[si][0], K = shapes[si][1], type = types[ti];
            if (type == B4K_Q8 && K % 32)
                continue;
            float *src = malloc(sizeof(float) * N * K), *a = malloc(sizeof(float) * N * K),
                  *r = malloc(sizeof(float) * N * K);
            fill(src, (size_t)N * K, 3.0f);
            src[0] = 1e-40f, src[(size_t)N * K - 1] = -7e4f; /* subnormal, f16 overflow */
            b4k_wmat w;
            void *d = make(type, src, N, K, &w);
            for (int r0 = 0; r0 < N; r0 += 2) {
                int r1 = r0 + 3 < N ? r0 + 3 : N;
                b4k_wmat_rows_f32(a, &w, r0, r1);
                b4k_wmat_rows_f32_ref(r, &w, r0, r1);
                if (memcmp(a, r, sizeof(float) * (size_t)(r1 - r0) * K)) {
                    printf("  type %d N=%d K=%d rows %d..%d differ\n", type, N, K, r0, r1);
                    CHECK(0);
                }
            }
            free(src), free(a), free(r), b4k_free(d);
        }
}

/* the decoder's attention row: odd head sizes (tails of every width, more
 * than one 128-wide pass) and key counts, against the _ref twin and an
 * exact double computation */
TEST(attn_row)
{
    static const int hs[] = { 1, 7, 8, 16, 33, 50, 64, 80, 120, 128, 130, 257 };
    static const int ss[] = { 1, 2, 15, 16, 17, 200 };
    for (size_t a = 0; a < sizeof hs / sizeof *hs; a++)
        for (size_t b = 0; b < sizeof ss / sizeof *ss; b++) {
            int HS = hs[a], S = ss[b];
            float *q = malloc(sizeof(float) * HS), *K = malloc(sizeof(float) * S * HS),
                  *V = malloc(sizeof(float) * S * HS), *o1 = malloc(sizeof(float) * HS),
                  *o2 = malloc(sizeof(float) * HS), *sc = malloc(sizeof(float) * S);
            double *p = malloc(sizeof(double) * S);
            fill(q, HS, 1), fill(K, (size_t)S * HS, 1), fill(V, (size_t)S * HS, 1);
            if (S == 200) /* a large score range: most exponentials underflow */
                for (int i = 0; i < HS; i++)
                    q[i] *= 30;
            float scale = 1.0f / sqrtf((float)HS);
            b4k_attn_row_f32(o1, sc, q, K, V, HS, S, scale);
            b4k_attn_row_f32_ref(o2, sc, q, K, V, HS, S, scale);
            double mx = -INFINITY, sum = 0, md = 0;
            for (int s = 0; s < S; s++) {
                double d = 0;
                for (int i = 0; i < HS; i++)
                    d += (double)q[i] * K[(size_t)s * HS + i];
                p[s] = d * scale;
                mx = fmax(mx, p[s]);
            }
            for (int s = 0; s < S; s++)
                sum += (p[s] = exp(p[s] - mx));
            for (int i = 0; i < HS; i++) {
                double ex = 0;
                for (int s = 0; s < S; s++)
                    ex += p[s] / sum * V[(size_t)s * HS + i];
                md = fmax(md, fmax(fabs(o1[i] - ex), fabs(o2[i] - ex)));
            }
            if (md > 2e-5) {
                printf("  HS=%d S=%d: max |diff| vs exact %.3g\n", HS, S, md);
                CHECK(0);
            }
            free(q), free(K), free(V), free(o1), free(o2), free(sc), free(p);
        }
}

TEST(gelu_fast_vs_ref)
{
    float x[1003], a[1003], b[1003];
    for (int i = 0; i < 1003; i++)
        x[i] = (i - 501) * 0.03f; /* -15 .. 15 */
    x[0] = -100, x[1] = 100, x[2] = 0;
    b4k_gelu_tanh_f32(a, x, 1003);
    b4k_gelu_tanh_f32_ref(b, x, 1003);
    double md = 0;
    for (int i = 0; i < 1003; i++)
        md = fmax(md, fabs(a[i] - b[i]) / (1 + fabs(b[i])));
    printf("  gelu tanh fast vs ref: max rel diff %.3g\n", md);
    CHECK(md < 1e-6);
    CHECK(a[0] == 0 || fabs(a[0]) < 1e-30);
    CHECK_NEAR(a[1], 100, 1e-5);
}

int main(void)
{
    if (t_cpu_level_missing("test_ops_matvec.c", b4k_cpu_level_name()))
        return 0;
    b4k_rng_seed(&R, 7, 0);
    RUN(kernels_match_ref_and_exact);
    RUN(big_rows_prefill_shapes);
    RUN(rows_f32_match_ref);
    RUN(dot_axpy);
    RUN(attn_row);
    RUN(gelu_fast_vs_ref);
    return t_done();
}
