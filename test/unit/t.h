/* Minimal unit-test harness.  Each test prints "PASS: file:name" or
 * "FAIL: file:name" (after its failed checks); test/run.sh counts the lines.
 * main() returns non-zero if anything failed.
 *
 *   TEST(parse_empty) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(parse_empty); return t_done(); }
 */
#ifndef B4K_TEST_T_H
#define B4K_TEST_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_now, t_pass, t_fail;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);    \
            t_failed_now = 1;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long a_ = (long long)(a), b_ = (long long)(b);                      \
        if (a_ != b_) {                                                          \
            printf("  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                   #a, #b, a_, b_);                                              \
            t_failed_now = 1;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                       \
    do {                                                                         \
        const char *a_ = (a), *b_ = (b);                                         \
        if (!a_ || !b_ || strcmp(a_, b_)) {                                      \
            printf("  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,       \
                   __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
            t_failed_now = 1;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double a_ = (double)(a), b_ = (double)(b);                               \
        if (!(fabs(a_ - b_) <= (tol))) {                                         \
            printf("  %s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__,    \
                   __LINE__, #a, #b, (double)(tol), a_, b_);                     \
            t_failed_now = 1;                                                    \
        }                                                                        \
    } while (0)

#define RUN(name) t_run(__FILE__, #name, name)

static inline void t_run(const char *file, const char *name, void (*fn)(void))
{
    t_failed_now = 0;
    fn();
    const char *base = strrchr(file, '/'), *cpu = getenv("B4K_CPU");
    base = base ? base + 1 : file;
    char lvl[64] = "";
    if (cpu && *cpu)
        snprintf(lvl, sizeof lvl, " [B4K_CPU=%.40s]", cpu);
    if (t_failed_now) {
        printf("FAIL: %s:%s%s\n", base, name, lvl);
        t_fail++;
    } else {
        printf("PASS: %s:%s%s\n", base, name, lvl);
        t_pass++;
    }
    fflush(stdout);
}

/* Tests of CPU-dispatched kernels run once per level (test/run.sh sets
 * B4K_CPU=scalar, avx2, avx512, avx512bf16).  1 (after a SKIP line) when
 * this CPU does not reach the level asked for; have = b4k_cpu_level_name(). */
static inline int t_cpu_level_missing(const char *test, const char *have)
{
    const char *want = getenv("B4K_CPU");
    if (!want || !*want || !strcmp(want, have))
        return 0;
    printf("SKIP: %s [B4K_CPU=%.40s]: this CPU (or its OS) reaches only %s\n", test, want, have);
    return 1;
}

static inline void t_skip(const char *name, const char *why)
{
    printf("SKIP: %s: %s\n", name, why);
}

static inline int t_done(void) { return t_fail ? 1 : 0; }

#endif
