/* AVX2 + FMA build of the crf1d kernels (see crf1d_kern.h). */
#pragma GCC optimize("O3")
#define KN(n) n##_avx2
#define KERN_FAST_EXP 1
#include "crf/crf1d_kern.h"
