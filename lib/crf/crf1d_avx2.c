/* AVX2 + FMA build of the crf1d kernels (see crf1d_kern.h). */
#if defined(__GNUC__) && !defined(__clang__) /* clang: unknown pragma */
#pragma GCC optimize("O3")
#endif
#define KN(n) n##_avx2
#define KERN_FAST_EXP 1
#define KERN_AVX2 1
#include "crf/crf1d_kern.h"
