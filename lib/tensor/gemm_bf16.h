/* bf16 GEMM with f32 accumulation (AVX512-BF16 vdpbf16ps).
 *
 *   C(M,N) = alpha * op(A)(M,K) op(B)(K,N) + beta * C        row-major
 *
 * op(A) is A (M,K), lda >= K, or, with B4K_GEMM_TA, A is stored (K,M),
 * lda >= M.  op(B) is B (K,N), ldb >= N, or, with B4K_GEMM_TB, B is stored
 * (N,K), ldb >= K -- nn.Linear's (out,in) weight gives y = x W^T with TB.
 * A is f32.  B is f32, or bf16 (uint16) with B4K_GEMM_BBF16 (weights kept
 * in bf16 are read as they are: no f32 copy).  beta == 0 never reads C.
 *
 * Arithmetic (the `_ref` twin computes exactly this, in a fixed order):
 *   - f32 operands are rounded to bf16, nearest-even, as vcvtneps2bf16 does
 *     (subnormal f32 become +-0; NaN stays a quiet NaN);
 *   - with B4K_GEMM_SPLIT_A, A is instead split into hi = bf16(a) and
 *     lo = bf16(a - hi), both multiplied with B: A keeps ~16 significant
 *     bits, so only B's rounding remains (for bf16 weights: the model's own
 *     exact answer).  Twice the work of the plain mode.
 *   - products of bf16 values are exact in f32; sums are f32, over k in
 *     blocks of b4k_gemm_bf16_kblock() values; each block's sum is added to
 *     C as C = alpha*s + C (the first block: alpha*s + beta*C).
 * Error against the exact product of the f32 inputs, per element:
 *   plain:   |err| <= (2^-7 + 2^-16) S + 2K 2^-24 S,   S = |alpha| sum_k |a_k b_k|
 *   SPLIT_A: |err| <= (2^-8 + 2^-15) S + 2K 2^-24 S   (f32 B)
 *            |err| <= 2^-15 S + 2K 2^-24 S               (bf16 B: hi+lo is a to 2^-16)
 * The fast kernel differs from `_ref` at most in the order of f32 additions
 * inside a block, i.e. by at most ~2K 2^-24 S (test/unit/test_gemm_bf16.c;
 * on AMD family 26 the two give identical bits: vdpbf16ps adds the odd
 * product, then the even one, each rounded, as Intel's pseudo-code says).
 *
 * Work is split over the threads of `pool` (NULL: the calling thread) in
 * whole 12-row or 32-column tiles with a fixed k order, so the result does
 * not depend on the thread count.  CPUs without AVX512-BF16 (or B4K_CPU
 * below avx512bf16) take the same rounding through f32 copies and OpenBLAS
 * sgemm (its own threads, see tensor/blas.h).
 *
 * `work`: scratch of b4k_gemm_bf16_work() bytes for this shape, flags and
 * pool size, 64-byte aligned, or NULL to have it allocated (and freed) per
 * call.  Callers in a loop should size it once (it is a few MB at most).
 * One call at a time per work buffer; with a pool, call from outside that
 * pool's jobs (pass NULL inside them). */
#ifndef B4K_TENSOR_GEMM_BF16_H
#define B4K_TENSOR_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "core/threads.h"

enum {
    B4K_GEMM_TA = 1,      /* op(A) = A^T: A is stored (K,M) */
    B4K_GEMM_TB = 2,      /* op(B) = B^T: B is stored (N,K) */
    B4K_GEMM_BBF16 = 4,   /* B is bf16 (const uint16_t *), not f32 */
    B4K_GEMM_SPLIT_A = 8  /* A as bf16 hi + lo (see above) */
};

/* Bytes of scratch for this call shape on a pool of nthreads; monotone in
 * M, N and K, so one buffer sized for the largest call serves all. */
size_t b4k_gemm_bf16_work(int flags, int M, int N, int K, int nthreads);

/* The GEMM above.  Returns 0, or B4K_ENOMEM if work is NULL and the
 * allocation fails (C is then untouched). */
int b4k_gemm_bf16(b4k_pool *pool, void *work, int flags, int M, int N, int K, float alpha,
                  const float *A, int lda, const void *B, int ldb, float beta, float *C,
                  int ldc);

/* The portable scalar twin: same rounding, same blocks, one thread. */
void b4k_gemm_bf16_ref(int flags, int M, int N, int K, float alpha, const float *A, int lda,
                       const void *B, int ldb, float beta, float *C, int ldc);

/* k values per accumulation block (the `_ref` uses the same). */
int b4k_gemm_bf16_kblock(int K);

/* f32 -> bf16 as the kernels round (vcvtneps2bf16): nearest even,
 * subnormals to signed zero, NaN quiet. */
static inline uint16_t b4k_gemm_f2bf(float f)
{
    union { float f; uint32_t u; } v = { f };
    if ((v.u & 0x7f800000u) == 0)
        return (uint16_t)((v.u >> 16) & 0x8000u);
    if ((v.u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((v.u >> 16) | 0x40u);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

/* "avx512bf16" or "sgemm" (the fallback). */
const char *b4k_gemm_bf16_kernel_name(void);

#endif
