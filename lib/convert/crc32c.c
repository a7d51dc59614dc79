/* CRC-32C, slicing-by-8 tables built once (thread-safe via pthread_once). */
#include "convert/crc32c.h"

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
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
}

uint32_t b4k_crc32c_ref(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    pthread_once(&once, init);
    crc = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = tab[7][v & 0xff] ^ tab[6][(v >> 8) & 0xff] ^ tab[5][(v >> 16) & 0xff] ^
              tab[4][(v >> 24) & 0xff] ^ tab[3][(v >> 32) & 0xff] ^ tab[2][(v >> 40) & 0xff] ^
              tab[1][(v >> 48) & 0xff] ^ tab[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ tab[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

uint32_t b4k_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (b4k_cpu_has(B4K_CPU_AVX2)) /* AVX2 implies SSE4.2 */
        return b4k_crc32c_hw(crc, data, n);
    return b4k_crc32c_ref(crc, data, n);
}
