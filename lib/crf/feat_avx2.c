/* AVX2 + FMA build of the sparse feature kernels (see feat_kern.h). */
#if defined(__GNUC__) && !defined(__clang__) /* clang: unknown pragma */
#pragma GCC optimize("O3")
#endif
#define KN(n) n##_avx2
#include "crf/feat_kern.h"
