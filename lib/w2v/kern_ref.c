/* Portable reference kernels (the twins of kern_avx2.c / kern_avx512.c). */
#include "w2v/kern.h"

static void dots_ref(float *S, const float *const *C, int m, const float *const *T, int n,
                     int d)
{
    for (int j = 0; j < m; j++)
        for (int k = 0; k < n; k++) {
            float s = 0;
            for (int i = 0; i < d; i++)
                s += C[j][i] * T[k][i];
            S[j * n + k] = s;
        }
}

static void comb_ref(float *y, int acc, const float *coef, int cs, const float *const *X, int n,
                     int d)
{
    for (int i = 0; i < d; i++) {
        float s = acc ? y[i] : 0.0f;
        for (int k = 0; k < n; k++)
            s += coef[k * cs] * X[k][i];
        y[i] = s;
    }
}

static const b4k_w2v_kern tab = {"scalar", dots_ref, comb_ref};

const b4k_w2v_kern *b4k_w2v_kern_ref(void) { return &tab; }
