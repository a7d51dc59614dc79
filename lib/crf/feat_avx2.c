/* AVX2 + FMA build of the sparse feature kernels (see feat_kern.h). */
#pragma GCC optimize("O3")
#define KN(n) n##_avx2
#include "crf/feat_kern.h"
