/* A small valid set of jieba's text files (dict.txt and the three HMM
 * prob_*.py) for the jieba and CPM fuzz targets. */
#ifndef B4K_FUZZ_JIEBA_COMMON_H
#define B4K_FUZZ_JIEBA_COMMON_H
#include "tok/jieba.h"

static const char FZ_DICT[] = "\xE4\xBD\xA0\xE5\xA5\xBD 10 l\n\xE4\xB8\x96\xE7\x95\x8C 5 n\n"
                              "\xE4\xB8\x96 3 n\n\xE7\x95\x8C 2\nab 4\na 1\n";
static const char FZ_START[] = "P={'B': -0.26, 'E': -3.14e+100, 'M': -3.14e+100, 'S': -1.46}\n";
static const char FZ_TRANS[] = "P={'B': {'E': -0.51, 'M': -0.91},\n 'E': {'B': -0.59, 'S': -0.80},\n"
                               " 'M': {'E': -0.33, 'M': -1.26},\n 'S': {'B': -0.72, 'S': -0.66}}\n";
static const char FZ_EMIT[] = "P={'B': {'\\u4f60': -1.0, '\\u4e16': -2.5},\n 'E': {'\\u597d': -1.0},\n"
                              " 'M': {},\n 'S': {'\\u4e16': -2.0, '\\u754c': -3.0}}\n";

static inline b4k_jieba *fz_jieba(void)
{
    const void *p[3] = {FZ_START, FZ_TRANS, FZ_EMIT};
    const size_t n[3] = {sizeof FZ_START - 1, sizeof FZ_TRANS - 1, sizeof FZ_EMIT - 1};
    b4k_jieba *j = NULL;
    b4k_err e;
    if (b4k_jieba_load_text_mem(&j, FZ_DICT, sizeof FZ_DICT - 1, p, n, "fuzz", &e)) __builtin_trap();
    return j;
}
#endif
