/* CRC-32 (zip), slicing-by-8 tables built once (thread-safe via
 * pthread_once), and the dispatch to the (V)PCLMULQDQ folding kernels. */
#include "convert/crc32.h"

#include <pthread.h>
#include <string.h>

#include "core/cpu.h"

static uint32_t tab[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
        tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
}

/* the register state (inverted crc) over n bytes */
static uint32_t update(uint32_t s, const uint8_t *p, size_t n)
{
    pthread_once(&once, init);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= s;
        s = tab[7][v & 0xff] ^ tab[6][(v >> 8) & 0xff] ^ tab[5][(v >> 16) & 0xff] ^
            tab[4][(v >> 24) & 0xff] ^ tab[3][(v >> 32) & 0xff] ^ tab[2][(v >> 40) & 0xff] ^
            tab[1][(v >> 48) & 0xff] ^ tab[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        s = (s >> 8) ^ tab[0][(s ^ *p++) & 0xff];
    return s;
}

uint32_t b4k_crc32_ref(uint32_t crc, const void *data, size_t n)
{
    return ~update(~crc, data, n);
}

static int has_clmul(void)
{
#if defined(__x86_64__) || defined(__i386__)
    /* every AVX2 CPU has PCLMULQDQ, but ask (B4K_CPU=scalar turns it off) */
    return b4k_cpu_has(B4K_CPU_AVX2) && __builtin_cpu_supports("pclmul");
#else
    return 0;
#endif
}

static int has_vclmul(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return b4k_cpu_has(B4K_CPU_AVX512) && __builtin_cpu_supports("vpclmulqdq");
#else
    return 0;
#endif
}

uint32_t b4k_crc32(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t s = ~crc;
    if (n >= 1024 && has_vclmul()) {
        size_t m = n & ~(size_t)15;
        s = b4k_crc32_fold_avx512(s, p, m);
        p += m;
        n -= m;
    } else if (n >= 256 && has_clmul()) {
        size_t m = n & ~(size_t)15;
        s = b4k_crc32_fold(s, p, m);
        p += m;
        n -= m;
    }
    return ~update(s, p, n);
}
