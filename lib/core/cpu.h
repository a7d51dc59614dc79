/* Runtime CPU feature detection for kernel dispatch.
 *
 * The environment variable B4K_CPU caps what is reported, so tests can force
 * the portable paths: B4K_CPU=scalar, avx2, avx512, or avx512bf16 (the
 * default: everything the CPU and OS support). */
#ifndef B4K_CORE_CPU_H
#define B4K_CORE_CPU_H

enum {
    B4K_CPU_AVX2 = 1 << 0,      /* with FMA and F16C */
    B4K_CPU_AVX512 = 1 << 1,    /* F, BW, VL, DQ */
    B4K_CPU_AVX512VNNI = 1 << 2,
    B4K_CPU_AVX512BF16 = 1 << 3
};

/* Bit set of B4K_CPU_* flags (cached after the first call, thread-safe). */
unsigned b4k_cpu_features(void);

static inline int b4k_cpu_has(unsigned f) { return (b4k_cpu_features() & f) == f; }

/* Short human-readable name of the best level, e.g. "avx512bf16". */
const char *b4k_cpu_level_name(void);

#endif
