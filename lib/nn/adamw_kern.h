/* The AdamW element update, shared by the scalar (_ref) and AVX2 kernels:
 *   g' = g * scale;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g' g'
 *   w = w * decay - step_size * m / (sqrt(v) * rbc2 + eps) */
#ifndef B4K_NN_ADAMW_KERN_H
#define B4K_NN_ADAMW_KERN_H

#include <stddef.h>

typedef struct b4k_adamw_kargs {
    float scale, b1, b2, rbc2, eps, step_size, decay;
} b4k_adamw_kargs;

void b4k_adamw_kern_ref(float *w, float *m, float *v, const float *g, size_t n,
                        const b4k_adamw_kargs *a);
void b4k_adamw_kern_avx2(float *w, float *m, float *v, const float *g, size_t n,
                         const b4k_adamw_kargs *a);

#endif
