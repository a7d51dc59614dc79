/* Dense kernels of word2vec training: a block of dot products between two
 * sets of rows, and a linear combination of rows.  Rows are given by
 * pointers because they are gathered from the embedding matrices.  Each ISA
 * has its own file (kern_avx512.c, kern_avx2.c) beside the portable
 * kern_ref.c; b4k_w2v_kern_best() picks one at run time (B4K_CPU caps it). */
#ifndef B4K_W2V_KERN_H
#define B4K_W2V_KERN_H

typedef struct b4k_w2v_kern {
    const char *name;
    /* S(m,n): S[j*n+k] = dot(C[j], T[k]), rows of length d */
    void (*dots)(float *S, const float *const *C, int m, const float *const *T, int n, int d);
    /* y(d) = (acc ? y : 0) + sum_{i<n} coef[i*cs] * X[i] */
    void (*comb)(float *y, int acc, const float *coef, int cs, const float *const *X, int n,
                 int d);
} b4k_w2v_kern;

const b4k_w2v_kern *b4k_w2v_kern_ref(void);
const b4k_w2v_kern *b4k_w2v_kern_avx2(void);   /* NULL if the CPU lacks it */
const b4k_w2v_kern *b4k_w2v_kern_avx512(void); /* NULL if the CPU lacks it */
const b4k_w2v_kern *b4k_w2v_kern_best(void);

/* ISA-specific tables (do not call without checking the CPU). */
extern const b4k_w2v_kern b4k_w2v_kern_avx2_tab;
extern const b4k_w2v_kern b4k_w2v_kern_avx512_tab;

#endif
