/* Run-time selection of the word2vec kernels. */
#include "w2v/kern.h"

#include <stddef.h>

#include "core/cpu.h"

const b4k_w2v_kern *b4k_w2v_kern_avx2(void)
{
    return b4k_cpu_has(B4K_CPU_AVX2) ? &b4k_w2v_kern_avx2_tab : NULL;
}

const b4k_w2v_kern *b4k_w2v_kern_avx512(void)
{
    return b4k_cpu_has(B4K_CPU_AVX512) ? &b4k_w2v_kern_avx512_tab : NULL;
}

const b4k_w2v_kern *b4k_w2v_kern_best(void)
{
    const b4k_w2v_kern *k = b4k_w2v_kern_avx512();
    if (!k)
        k = b4k_w2v_kern_avx2();
    return k ? k : b4k_w2v_kern_ref();
}
