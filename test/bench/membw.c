/* Read bandwidth probe for bench_generate.sh: N threads sum disjoint parts
 * of a 1 GiB buffer (3 passes); prints GB/s.  "membw N huge" advises the
 * buffer MADV_HUGEPAGE (2 MiB pages, as the model's weights are read when
 * the kernel gives huge pages): on the reference machine that reads ~1.2x
 * faster than 4 KiB pages.  Same conditions as the decode
 * runs next to it, so "% of measured bandwidth" is meaningful on a shared
 * machine. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static float *buf;
static size_t n;
static int nt;
static volatile float sink;

static void *run(void *p)
{
    size_t t = (size_t)p, b = n / nt * t, e = n / nt * (t + 1);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = b; i + 32 <= e; i += 32) {
            s0 = _mm256_add_ps(s0, _mm256_load_ps(buf + i));
            s1 = _mm256_add_ps(s1, _mm256_load_ps(buf + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_load_ps(buf + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_load_ps(buf + i + 24));
        }
    float o[8];
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    sink = o[0];
    return NULL;
}

int main(int argc, char **argv)
{
    nt = argc > 1 ? atoi(argv[1]) : 2;
    n = (size_t)1 << 28; /* floats: 1 GiB */
    buf = aligned_alloc((size_t)2 << 20, n * sizeof *buf);
    if (!buf)
        return 1;
#ifdef MADV_HUGEPAGE
    if (argc > 2 && !strcmp(argv[2], "huge"))
        (void)madvise(buf, n * sizeof *buf, MADV_HUGEPAGE);
#endif
    memset(buf, 0, n * sizeof *buf);
    pthread_t th[64];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long t = 0; t < nt; t++)
        pthread_create(&th[t], NULL, run, (void *)t);
    for (int t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("%.1f\n", 3.0 * n * sizeof *buf / s / 1e9);
    return 0;
}
