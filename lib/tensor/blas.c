#include "tensor/blas.h"

#include <cblas.h>

void b4k_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void b4k_sgemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
               float beta, float *y)
{
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta,
                y, 1);
}

void b4k_blas_set_threads(int n) { openblas_set_num_threads(n); }
int b4k_blas_get_threads(void) { return openblas_get_num_threads(); }
