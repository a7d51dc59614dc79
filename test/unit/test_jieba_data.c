/* The converted jieba data file (build/share/b4k/jieba.b4kj, which `make`
 * writes with build/tools/jieba-data) cuts exactly as python3-jieba's own
 * files (dict.txt, finalseg/prob_*.py) read directly: on 300 lines of
 * ../shared/data's modern Chinese corpus (when present) and on 300 generated
 * lines mixing dictionary words, unknown characters (HMM), Latin, digits,
 * punctuation and spaces, with the HMM on and off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/rng.h"
#include "io/stream.h"
#include "t.h"
#include "tok/jieba.h"

static b4k_jieba *raw, *conv;
static b4k_jieba_state *st;
static b4k_jieba_words wa, wb;
static char path[1024]; /* the corpus */

/* 1 when both cut text the same way (HMM on and off) */
static int same(const char *text, size_t n)
{
    b4k_err err = {0};
    for (int hmm = 0; hmm < 2; hmm++) {
        wa.n = wb.n = 0;
        if (b4k_jieba_cut(raw, st, text, n, hmm, &wa, &err) ||
            b4k_jieba_cut(conv, st, text, n, hmm, &wb, &err))
            return 0;
        if (wa.n != wb.n || memcmp(wa.beg, wb.beg, wa.n * sizeof *wa.beg) ||
            memcmp(wa.end, wb.end, wa.n * sizeof *wa.end))
            return 0;
    }
    return 1;
}

TEST(corpus_lines)
{
    b4k_stream *s = NULL;
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_stream_open(&s, path, &err), 0);
    if (!s) return;
    char *line;
    size_t len;
    int lines = 0, bad = 0, words = 0;
    while (lines < 300 && b4k_stream_getline(s, &line, &len, &err) == 1) {
        lines++;
        if (!same(line, len)) bad++;
        words += (int)wa.n;
    }
    b4k_stream_close(s);
    CHECK_EQ_INT(lines, 300);
    CHECK(words > 3000);
    CHECK_EQ_INT(bad, 0);
}

TEST(generated_lines)
{
    static const char *const words[] = {
        "中国", "北京大学", "清华", "我们", "计算机", "的", "了", "研究生", "生命", "起源",
        "结婚", "和尚", "未", "结婚", "的", "工信处", "女干事", "南京市", "长江大桥", "乒乓球拍",
        "卖完", "了", "今天", "天气", "不错", "人工智能", "发展"};
    static const char *const other[] = {
        "，", "。", "、", "？", " ", "  ", "\t", "\r\n", "abc", "C++", "c#", "3.14", "100%",
        "Hello", "word_2", "-", "（", "）", "《", "》", "☃", "é", "\xE2\x96\x82"};
    b4k_rng r;
    b4k_rng_seed(&r, 4, 0);
    b4k_buf b;
    b4k_buf_init(&b);
    int bad = 0;
    for (int line = 0; line < 300; line++) {
        b.len = 0;
        int n = 1 + (int)(b4k_rng_u64(&r) % 40);
        for (int k = 0; k < n; k++) {
            uint64_t x = b4k_rng_u64(&r);
            switch (x % 4) {
            case 0:
            case 1: b4k_buf_puts(&b, words[(x >> 8) % (sizeof words / sizeof *words)]); break;
            case 2: b4k_buf_puts(&b, other[(x >> 8) % (sizeof other / sizeof *other)]); break;
            default: { /* a random CJK ideograph (often unknown: the HMM) */
                uint32_t cp = 0x4E00 + (uint32_t)((x >> 8) % (0x9FA5 - 0x4E00));
                char u[3] = {(char)(0xE0 | cp >> 12), (char)(0x80 | ((cp >> 6) & 63)),
                             (char)(0x80 | (cp & 63))};
                b4k_buf_append(&b, u, 3);
            }
            }
        }
        if (!same(b.data, b.len)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    b4k_buf_free(&b);
}

int main(void)
{
    char dict[512], conv_path[1024];
    snprintf(dict, sizeof dict, "%s/dict.txt", B4K_JIEBA_DEBIAN_DIR);
    const char *build = getenv("B4K_BUILD");
    snprintf(conv_path, sizeof conv_path, "%s/share/b4k/jieba.b4kj", build && *build ? build : "build");
    if (access(dict, R_OK) || access(conv_path, R_OK)) {
        t_skip("test_jieba_data.c", "python3-jieba's dict.txt or the converted jieba.b4kj not found");
        return t_done();
    }
    b4k_err err = {0};
    if (b4k_jieba_load_dir(&raw, B4K_JIEBA_DEBIAN_DIR, &err) || b4k_jieba_load(&conv, conv_path, &err)) {
        printf("FAIL: test_jieba_data.c: load: %s\n", err.msg);
        return 1;
    }
    st = b4k_jieba_state_new();
    b4k_jieba_words_init(&wa);
    b4k_jieba_words_init(&wb);
    CHECK_EQ_INT(b4k_jieba_n_words(conv), b4k_jieba_n_words(raw));
    CHECK(b4k_jieba_total(conv) == b4k_jieba_total(raw));
    const char *data = getenv("DATA");
    snprintf(path, sizeof path, "%s/corpus/zh-modern.txt.zst", data ? data : "");
    if (data && *data && !access(path, R_OK)) {
        RUN(corpus_lines);
    } else {
        t_skip("test_jieba_data.c:corpus_lines", "../shared/data corpus/zh-modern.txt.zst not found");
    }
    RUN(generated_lines);
    b4k_jieba_words_free(&wa);
    b4k_jieba_words_free(&wb);
    b4k_jieba_state_free(st);
    b4k_jieba_free(raw);
    b4k_jieba_free(conv);
    return t_done();
}
