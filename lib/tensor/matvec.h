/* Weight-matrix products for inference: out(T,N) = x(T,K) W(N,K)^T + b(N).
 *
 * W is row-major (N rows of K), i.e. nn.Linear's (out, in) layout, stored as
 *   f32, bf16, f16, or
 *   q8: N*K int8 row-major, then N*(K/32) f16 scales (planar, dtype.h);
 *       block j of row n holds q[n][32j..32j+31], value = q * scale[n][j].
 *       The kernels need K % 32 == 0 (no padding).
 *
 * Small T (decode, beams) runs our own memory-bound kernels: the rows are
 * split over threads by the caller (b4k_matmul_rows on [r0,r1)), each
 * weight row is read once for all T tokens.  Kernels:
 *   f32  : AVX-512 FMA                         (exact f32 products)
 *   bf16 : AVX512-BF16 vdpbf16ps, x split into bf16 hi + lo parts, so the
 *          only rounding beyond f32 accumulation is the weights' own
 *   q8   : AVX512-VNNI vpdpbusd, x quantised on the fly to int8 per block of
 *          32 (d = absmax/127, round half even), like ggml's q8_0 x q8_0
 *   f16  : F16C conversion + FMA
 * each with a portable scalar twin (b4k_matmul_rows_ref) that computes the
 * same quantities; B4K_CPU=scalar forces it.
 *
 * Large T (prefill): f32 weights go through BLAS sgemm; bf16 weights through
 * the bf16 GEMM (tensor/gemm_bf16.h) straight from the stored bf16 rows,
 * with x split hi + lo (SPLIT_A) so that, as in the matvec kernel, only the
 * weights are rounded; f16 and q8 weights are expanded to f32 a block of
 * rows at a time for sgemm (b4k_matmul_big_rows, one thread per range of
 * rows, like b4k_matmul_rows). */
#ifndef B4K_TENSOR_MATVEC_H
#define B4K_TENSOR_MATVEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/threads.h"
#include "tensor/dtype.h"

typedef struct b4k_wmat {
    int type;              /* B4K_F32, B4K_F16, B4K_BF16 or B4K_Q8 */
    int rows, cols;        /* N, K (K % 32 == 0 for q8) */
    const void *data;      /* N*K elements */
    const uint16_t *scales; /* q8 only: N*(K/32) f16 */
} b4k_wmat;

/* Bytes of the weights (for bandwidth figures). */
size_t b4k_wmat_bytes(const b4k_wmat *w);

/* Floats of per-thread scratch b4k_matmul_rows needs for T tokens. */
size_t b4k_matmul_scratch(const b4k_wmat *w, int T);

/* out rows [r0,r1) of out(T,ldo) = x(T,K) W^T + bias; bias may be NULL.
 * scratch: b4k_matmul_scratch floats, private to the calling thread. */
void b4k_matmul_rows(float *out, int ldo, const float *x, const b4k_wmat *w, const float *bias,
                     int T, int r0, int r1, float *scratch);
/* As b4k_matmul_rows, but x is not converted again: scratch must hold it
 * as left by an earlier b4k_matmul_rows call with the same x, T and a
 * matrix of the same type and cols (one thread working through several
 * ranges of rows of one product: the conversion is done once). */
void b4k_matmul_rows_more(float *out, int ldo, const float *x, const b4k_wmat *w,
                          const float *bias, int T, int r0, int r1, float *scratch);
/* The portable reference (same arithmetic as the fast kernels, scalar). */
void b4k_matmul_rows_ref(float *out, int ldo, const float *x, const b4k_wmat *w,
                         const float *bias, int T, int r0, int r1, float *scratch);

/* Split [0,N) into nthreads chunks aligned to 16 rows; thread tid's chunk. */
void b4k_matmul_split(int N, int tid, int nthreads, int *r0, int *r1);

/* Large T (prefill) on the calling thread, the output columns [r0,r1) (rows
 * of W): out(T,ldo)[:, r0:r1] = x(T,K) W[r0:r1]^T + bias[r0:r1], bias
 * first (C = bias, then C += x W^T, as torch's addmm).  Threads split [0,N)
 * with b4k_matmul_split and each calls this with its own `work` of
 * b4k_matmul_big_work(w, T) bytes, 64-byte aligned (0 for f32; monotone in
 * T).  f32: BLAS sgemm, which should then run single-threaded
 * (b4k_blas_set_threads(1)) so that its threads do not fight the caller's;
 * bf16 on a CPU with AVX512-BF16: the bf16 GEMM on this thread; f16, q8
 * (and bf16 elsewhere): blocks of rows expanded to f32, then sgemm.
 * Deterministic for a given split; the bf16 GEMM gives the same bits for
 * any split, sgemm's may differ in the last bits between splits
 * (its kernels handle edge columns in another order). */
size_t b4k_matmul_big_work(const b4k_wmat *w, int T);
void b4k_matmul_big_rows(float *out, int ldo, const float *x, const b4k_wmat *w,
                         const float *bias, int T, int r0, int r1, void *work);

/* Dequantise rows [r0,r1) of W into out((r1-r0),K). */
void b4k_wmat_rows_f32(float *out, const b4k_wmat *w, int r0, int r1);
void b4k_wmat_rows_f32_ref(float *out, const b4k_wmat *w, int r0, int r1);

/* bf16 <-> f32 scalars (RNE), inline for the kernels. */
static inline float b4k_mv_bf2f(uint16_t b)
{
    union { uint32_t u; float f; } v = { (uint32_t)b << 16 };
    return v.f;
}
static inline uint16_t b4k_mv_f2bf(float f)
{
    union { float f; uint32_t u; } v = { f };
    if ((v.u & 0x7fffffffu) > 0x7f800000u)
        return 0x7fc0;
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}

/* Name of the kernel b4k_matmul_rows uses for this weight type. */
const char *b4k_matmul_kernel_name(int type);

#endif
