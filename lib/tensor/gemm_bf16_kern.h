/* Internal: the blocked AVX512-BF16 driver behind b4k_gemm_bf16 (see
 * gemm_bf16.h for the arithmetic). */
#ifndef B4K_TENSOR_GEMM_BF16_KERN_H
#define B4K_TENSOR_GEMM_BF16_KERN_H

#include <stddef.h>
#include <stdint.h>

/* Register tile (rows of op(A) x columns of op(B)) and cache blocks:
 * B4K_GBF_KCP k pairs per block at most (K = 768 is one block: 384 pairs
 * measured 10-20% faster than 2 x 192 on the 1024-row shapes),
 * B4K_GBF_MC rows of packed A (L2), B4K_GBF_NC columns of packed B per
 * thread pass.  KCP and MC may be overridden with -D for tuning runs. */
#define B4K_GBF_MR 12
#define B4K_GBF_NR 32
#ifndef B4K_GBF_KCP
#define B4K_GBF_KCP 384
#endif
#ifndef B4K_GBF_MC
#define B4K_GBF_MC 144
#endif
#define B4K_GBF_NC 1536

typedef struct b4k_gbf_job {
    int flags, M, N, K;
    float alpha, beta;
    const float *A;
    int lda;
    const void *B;
    int ldb;
    float *C;
    int ldc;
    int kcp;        /* k pairs per block (b4k_gemm_bf16_kblock / 2) */
} b4k_gbf_job;

/* k pairs per block for K. */
int b4k_gbf_kcp(int K);

/* Bytes of per-thread scratch for a rectangle of at most mrows x ncols. */
size_t b4k_gbf_thread_work(int flags, int mrows, int ncols, int kcp);

/* C[m0,m1) x [n0,n1) of the job, with scratch (64-byte aligned). */
void b4k_gbf_rect_avx512bf16(const b4k_gbf_job *j, int m0, int m1, int n0, int n1, void *work);

/* The f32 + sgemm path for CPUs without AVX512-BF16 (work: fallback_work
 * bytes), on the calling thread; exposed for the unit test.  b4k_gemm_bf16
 * runs the same code over its pool: x converted by row ranges, then whole
 * 128-column chunks of B per thread (so the bits match this one's). */
size_t b4k_gbf_fallback_work(int M, int N, int K);
void b4k_gbf_fallback(void *work, int flags, int M, int N, int K, float alpha, const float *A,
                      int lda, const void *B, int ldb, float beta, float *C, int ldc);

#endif
