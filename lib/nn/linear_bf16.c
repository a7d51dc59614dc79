/* bf16 linear layers over the bf16 GEMM; see linear_bf16.h. */
#include "nn/linear_bf16.h"

#include <string.h>

#include "core/threads.h"
#include "tensor/gemm_bf16.h"

enum {
    F_FWD = B4K_GEMM_TB | B4K_GEMM_BBF16, /* y = x Wh^T: B is Wh (O,I) = (N,K) */
    F_DX = B4K_GEMM_BBF16,                /* dx = dy Wh: B is Wh (O,I) = (K,N) */
    F_DW = B4K_GEMM_TA                    /* dW = dy^T x: A is dy (N,O) = (K,M) */
};

static size_t max3(size_t a, size_t b, size_t c)
{
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

size_t b4k_linear_bf16_work(int N, int I, int O, int nthreads)
{
    return max3(b4k_gemm_bf16_work(F_FWD, N, O, I, nthreads),
                b4k_gemm_bf16_work(F_DX, N, I, O, nthreads),
                b4k_gemm_bf16_work(F_DW, O, I, N, nthreads));
}

static void bias_rows(float *y, const float *b, int N, int O)
{
    for (int n = 0; n < N; n++) memcpy(y + (size_t)n * O, b, (size_t)O * sizeof *b);
}

static void bias_grad(float *db, const float *dy, int N, int O)
{
    for (int n = 0; n < N; n++) {
        const float *r = dy + (size_t)n * O;
        for (int o = 0; o < O; o++) db[o] += r[o];
    }
}

int b4k_linear_bf16_fwd(b4k_pool *pool, void *work, float *y, const float *x,
                        const uint16_t *Wh, const float *b, int N, int I, int O)
{
    if (b) bias_rows(y, b, N, O);
    return b4k_gemm_bf16(pool, work, F_FWD, N, O, I, 1.f, x, I, Wh, I, b ? 1.f : 0.f, y, O);
}

int b4k_linear_bf16_bwd(b4k_pool *pool, void *work, float *dx, int dx_add, float *dW,
                        float *db, const float *dy, const float *x, const uint16_t *Wh, int N,
                        int I, int O)
{
    int rc = 0;
    if (dx) rc = b4k_gemm_bf16(pool, work, F_DX, N, I, O, 1.f, dy, O, Wh, I, dx_add ? 1.f : 0.f, dx, I);
    if (!rc && dW) rc = b4k_gemm_bf16(pool, work, F_DW, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I);
    if (!rc && db) bias_grad(db, dy, N, O);
    return rc;
}

void b4k_linear_bf16_fwd_ref(float *y, const float *x, const uint16_t *Wh, const float *b, int N,
                             int I, int O)
{
    if (b) bias_rows(y, b, N, O);
    b4k_gemm_bf16_ref(F_FWD, N, O, I, 1.f, x, I, Wh, I, b ? 1.f : 0.f, y, O);
}

void b4k_linear_bf16_bwd_ref(float *dx, int dx_add, float *dW, float *db, const float *dy,
                             const float *x, const uint16_t *Wh, int N, int I, int O)
{
    if (dx) b4k_gemm_bf16_ref(F_DX, N, I, O, 1.f, dy, O, Wh, I, dx_add ? 1.f : 0.f, dx, I);
    if (dW) b4k_gemm_bf16_ref(F_DW, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I);
    if (db) bias_grad(db, dy, N, O);
}
