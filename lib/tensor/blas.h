/* The one home of <cblas.h>: thin row-major wrappers over OpenBLAS so that
 * no other file depends on the BLAS headers. */
#ifndef B4K_TENSOR_BLAS_H
#define B4K_TENSOR_BLAS_H

/* C(M,N) = alpha * op(A) op(B) + beta * C, row-major.
 * op(A) is (M,K): A is (M,K) with lda >= K, or (K,M) with lda >= M if ta.
 * op(B) is (K,N): B is (K,N) with ldb >= N, or (N,K) with ldb >= K if tb. */
void b4k_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);

/* y(M) = alpha * op(A) x + beta * y, A is (M,N) row-major (or its transpose). */
void b4k_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
               float beta, float *y);

/* OpenBLAS's own thread count (b4k's pools are separate). */
void b4k_blas_set_threads(int n);
int b4k_blas_get_threads(void);

#endif
