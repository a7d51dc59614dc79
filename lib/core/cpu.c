#include "core/cpu.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static unsigned detect(void)
{
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    int ymm_ok = (xlo & 0x6) == 0x6;
    int zmm_ok = (xlo & 0xE6) == 0xE6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
        avx512vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    if (ymm_ok && avx2 && fma && f16c)
        f |= B4K_CPU_AVX2;
    if ((f & B4K_CPU_AVX2) && zmm_ok && avx512f && avx512dq && avx512bw && avx512vl) {
        f |= B4K_CPU_AVX512;
        if (vnni)
            f |= B4K_CPU_AVX512VNNI;
        unsigned a1, b1, c1, d1;
        if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && ((a1 >> 5) & 1))
            f |= B4K_CPU_AVX512BF16;
    }
#endif
    const char *cap = getenv("B4K_CPU");
    if (cap && *cap) {
        if (!strcmp(cap, "scalar"))
            f = 0;
        else if (!strcmp(cap, "avx2"))
            f &= B4K_CPU_AVX2;
        else if (!strcmp(cap, "avx512"))
            f &= B4K_CPU_AVX2 | B4K_CPU_AVX512 | B4K_CPU_AVX512VNNI;
    }
    return f;
}

unsigned b4k_cpu_features(void)
{
    static int ready;
    static unsigned feats;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        unsigned f = detect();
        __atomic_store_n(&feats, f, __ATOMIC_RELAXED);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&feats, __ATOMIC_RELAXED);
}

const char *b4k_cpu_level_name(void)
{
    unsigned f = b4k_cpu_features();
    if (f & B4K_CPU_AVX512BF16)
        return "avx512bf16";
    if (f & B4K_CPU_AVX512)
        return "avx512";
    if (f & B4K_CPU_AVX2)
        return "avx2";
    return "scalar";
}
