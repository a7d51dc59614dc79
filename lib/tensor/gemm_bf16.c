/* bf16 GEMM: dispatch, thread split, the scalar `_ref` twin and the
 * sgemm fallback (gemm_bf16.h).  The AVX512-BF16 driver is in
 * gemm_bf16_avx512bf16.c. */
#include "tensor/gemm_bf16.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/err.h"
#include "tensor/blas.h"
#include "tensor/gemm_bf16_kern.h"

#define MR B4K_GBF_MR
#define NR B4K_GBF_NR
#define FB_COLS 128 /* fallback: B converted this many columns at a time; the pool's
                      * threads take whole chunks, so the bits do not depend on
                      * the thread count */

static inline float bf2f(uint16_t b)
{
    /* as vdpbf16ps reads its inputs: subnormals are zero */
    union { uint32_t u; float f; } v = { (b & 0x7f80u) ? (uint32_t)b << 16 : (uint32_t)(b & 0x8000u) << 16 };
    return v.f;
}

static inline float rnd(float x) { return bf2f(b4k_gemm_f2bf(x)); }

int b4k_gbf_kcp(int K)
{
    int kp = (K + 1) / 2;
    if (kp <= 0)
        return 1;
    int nb = (kp + B4K_GBF_KCP - 1) / B4K_GBF_KCP;
    return (kp + nb - 1) / nb;
}

int b4k_gemm_bf16_kblock(int K) { return 2 * b4k_gbf_kcp(K); }

static int use_fast(void) { return b4k_cpu_has(B4K_CPU_AVX512BF16); }

const char *b4k_gemm_bf16_kernel_name(void) { return use_fast() ? "avx512bf16" : "sgemm"; }

size_t b4k_gbf_thread_work(int flags, int mrows, int ncols, int kcp)
{
    size_t mcap = (size_t)(mrows + MR - 1) / MR * MR, ncap = (size_t)(ncols + NR - 1) / NR * NR;
    if (mcap > B4K_GBF_MC)
        mcap = B4K_GBF_MC;
    if (ncap > B4K_GBF_NC)
        ncap = B4K_GBF_NC;
    size_t a = (mcap * kcp * (flags & B4K_GEMM_SPLIT_A ? 2 : 1) + 15) & ~(size_t)15;
    return (a + ncap * kcp) * 4 + 64;
}

/* Thread t's rectangle: whole 32-column panels when there are enough of
 * them, else whole 12-row panels. */
static void split_rect(int M, int N, int t, int nt, int *m0, int *m1, int *n0, int *n1)
{
    int np = (N + NR - 1) / NR, mp = (M + MR - 1) / MR;
    int by_n = np >= 2 * nt || np >= mp;
    int P = by_n ? np : mp, step = by_n ? NR : MR, tot = by_n ? N : M;
    int a = (int)((long long)P * t / nt) * step, b = (int)((long long)P * (t + 1) / nt) * step;
    if (a > tot)
        a = tot;
    if (b > tot)
        b = tot;
    if (by_n) {
        *m0 = 0, *m1 = M, *n0 = a, *n1 = b;
    } else {
        *m0 = a, *m1 = b, *n0 = 0, *n1 = N;
    }
}

/* nthreads x the scratch of a thread owning all of C: an upper bound for
 * every thread's rectangle, and monotone in M, N and K. */
static size_t fast_per_thread(int flags, int M, int N, int K)
{
    int kp = (K + 1) / 2;
    return b4k_gbf_thread_work(flags, M, N, kp < B4K_GBF_KCP ? kp : B4K_GBF_KCP);
}

/* x (A) converted once, then one B chunk per thread */
static size_t fb_work(int M, int N, int K, int nthreads)
{
    size_t nb = N < FB_COLS ? (size_t)N : FB_COLS;
    return ((size_t)M * K + nb * K * (size_t)nthreads) * sizeof(float) + 64;
}

size_t b4k_gbf_fallback_work(int M, int N, int K) { return fb_work(M, N, K, 1); }

size_t b4k_gemm_bf16_work(int flags, int M, int N, int K, int nthreads)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    if (nthreads < 1)
        nthreads = 1;
    return use_fast() ? fast_per_thread(flags, M, N, K) * nthreads : fb_work(M, N, K, nthreads);
}

/* ---- reference ------------------------------------------------------------------ */

static inline float get_a(int flags, const float *A, int lda, int m, int k)
{
    return flags & B4K_GEMM_TA ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
}

static inline float get_b(int flags, const void *B, int ldb, int k, int n)
{
    size_t o = flags & B4K_GEMM_TB ? (size_t)n * ldb + k : (size_t)k * ldb + n;
    return flags & B4K_GEMM_BBF16 ? bf2f(((const uint16_t *)B)[o]) : rnd(((const float *)B)[o]);
}

void b4k_gemm_bf16_ref(int flags, int M, int N, int K, float alpha, const float *A, int lda,
                       const void *B, int ldb, float beta, float *C, int ldc)
{
    int kb = b4k_gemm_bf16_kblock(K), split = flags & B4K_GEMM_SPLIT_A;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float *c = C + (size_t)m * ldc + n;
            float acc = beta == 0.0f ? 0.0f : beta * *c;
            if (K <= 0) {
                *c = acc;
                continue;
            }
            for (int k0 = 0; k0 < K; k0 += kb) {
                int k1 = k0 + kb < K ? k0 + kb : K;
                float s = 0;
                for (int k = k0; k < k1; k += 2) {
                    float a0 = get_a(flags, A, lda, m, k), b0 = get_b(flags, B, ldb, k, n);
                    float a1 = 0, b1 = 0;
                    if (k + 1 < K) {
                        a1 = get_a(flags, A, lda, m, k + 1);
                        b1 = get_b(flags, B, ldb, k + 1, n);
                    }
                    float h0 = rnd(a0), h1 = rnd(a1);
                    s = s + h1 * b1;
                    s = s + h0 * b0;
                    if (split) {
                        s = s + rnd(a1 - h1) * b1;
                        s = s + rnd(a0 - h0) * b0;
                    }
                }
                /* one rounding per step, as the kernel's FMAs */
                if (k0 > 0)
                    acc = fmaf(alpha, s, acc);
                else if (beta == 0.0f)
                    acc = alpha * s;
                else
                    acc = fmaf(beta, *c, alpha * s);
            }
            *c = acc;
        }
}

/* ---- sgemm fallback -------------------------------------------------------------- */

typedef struct fbjob {
    b4k_gbf_job g; /* the product (kcp unused) */
    int nch;       /* chunks of FB_COLS columns */
    float *a, *b;  /* A converted; the threads' B chunks (FB_COLS * K each) */
} fbjob;

/* rows [r0, r1) of A as stored, rounded as the fast kernel reads them */
static void fb_conv_a(const fbjob *j, int r0, int r1)
{
    int ta = j->g.flags & B4K_GEMM_TA ? 1 : 0, split = j->g.flags & B4K_GEMM_SPLIT_A;
    int ac = ta ? j->g.M : j->g.K; /* stored shape of A: (ta ? K : M) rows of ac */
    for (int r = r0; r < r1; r++)
        for (int i = 0; i < ac; i++) {
            float x = j->g.A[(size_t)r * j->g.lda + i], h = rnd(x);
            j->a[(size_t)r * ac + i] = split ? h + rnd(x - h) : h;
        }
}

static void fb_conv_a_fn(void *ctx, int t, int nt)
{
    const fbjob *j = ctx;
    int ar = j->g.flags & B4K_GEMM_TA ? j->g.K : j->g.M;
    fb_conv_a(j, (int)((long)ar * t / nt), (int)((long)ar * (t + 1) / nt));
}

/* chunks [c0, c1) of FB_COLS columns, B converted into b */
static void fb_chunks(const fbjob *j, int c0, int c1, float *b)
{
    int ta = j->g.flags & B4K_GEMM_TA ? 1 : 0, tb = j->g.flags & B4K_GEMM_TB ? 1 : 0, K = j->g.K;
    for (int c = c0; c < c1; c++) {
        int n0 = c * FB_COLS, nb = j->g.N - n0 < FB_COLS ? j->g.N - n0 : FB_COLS;
        if (tb) /* rows of B are columns of op(B): both walks contiguous */
            for (int n = 0; n < nb; n++)
                for (int k = 0; k < K; k++)
                    b[(size_t)n * K + k] = get_b(j->g.flags, j->g.B, j->g.ldb, k, n0 + n);
        else
            for (int k = 0; k < K; k++)
                for (int n = 0; n < nb; n++)
                    b[(size_t)k * nb + n] = get_b(j->g.flags, j->g.B, j->g.ldb, k, n0 + n);
        b4k_sgemm(ta, tb, j->g.M, nb, K, j->g.alpha, j->a, ta ? j->g.M : K, b, tb ? K : nb, j->g.beta,
                  j->g.C + n0, j->g.ldc);
    }
}

static void fb_chunks_fn(void *ctx, int t, int nt)
{
    const fbjob *j = ctx;
    size_t per = (size_t)(j->g.N < FB_COLS ? j->g.N : FB_COLS) * j->g.K;
    fb_chunks(j, (int)((long)j->nch * t / nt), (int)((long)j->nch * (t + 1) / nt), j->b + per * t);
}

static void fb_run(b4k_pool *pool, void *work, int flags, int M, int N, int K, float alpha,
                   const float *A, int lda, const void *B, int ldb, float beta, float *C, int ldc)
{
    fbjob j = { { flags, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, 0 }, (N + FB_COLS - 1) / FB_COLS,
                work, (float *)work + (size_t)M * K };
    if (b4k_pool_size(pool) == 1) {
        fb_conv_a(&j, 0, flags & B4K_GEMM_TA ? K : M);
        fb_chunks(&j, 0, j.nch, j.b);
        return;
    }
    b4k_pool_run(pool, fb_conv_a_fn, &j);
    b4k_pool_run(pool, fb_chunks_fn, &j);
}

void b4k_gbf_fallback(void *work, int flags, int M, int N, int K, float alpha, const float *A,
                     int lda, const void *B, int ldb, float beta, float *C, int ldc)
{
    fb_run(NULL, work, flags, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct run {
    b4k_gbf_job j;
    char *work;
    size_t per;
};

static void run_fn(void *ctx, int t, int nt)
{
    struct run *r = ctx;
    int m0, m1, n0, n1;
    split_rect(r->j.M, r->j.N, t, nt, &m0, &m1, &n0, &n1);
    b4k_gbf_rect_avx512bf16(&r->j, m0, m1, n0, n1, r->work + (size_t)t * r->per);
}

int b4k_gemm_bf16(b4k_pool *pool, void *work, int flags, int M, int N, int K, float alpha,
                  const float *A, int lda, const void *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return 0;
    if (K <= 0) {
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                float *c = C + (size_t)m * ldc + n;
                *c = beta == 0.0f ? 0.0f : beta * *c;
            }
        return 0;
    }
    int nt = b4k_pool_size(pool), fast = use_fast();
    void *own = NULL;
    if (!work) {
        size_t need = fast ? fast_per_thread(flags, M, N, K) * nt : fb_work(M, N, K, nt);
        work = own = b4k_aligned_alloc(64, need);
        if (!own)
            return B4K_ENOMEM;
    }
    if (!fast) {
        fb_run(pool, work, flags, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        struct run r = { { flags, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, b4k_gbf_kcp(K) },
                         work, fast_per_thread(flags, M, N, K) };
        if (nt == 1)
            run_fn(&r, 0, 1);
        else
            b4k_pool_run(pool, run_fn, &r);
    }
    b4k_free(own);
    return 0;
}
