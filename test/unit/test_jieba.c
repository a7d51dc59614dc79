/* jieba: a small hand-made dictionary and HMM (route ties, block splitting,
 * finalseg's splitting and HMM), jieba's real data from python3-jieba
 * (sentences cut by jieba 0.42.1, user dictionary, suggest_freq), the b4k
 * data file round trip, and malformed dictionaries / data files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "t.h"
#include "tok/jieba.h"

static char tmpdir[256];

static void put_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* cut and render as words joined by '|' */
static const char *cut(const b4k_jieba *j, const char *text, int hmm)
{
    static char out[8192];
    b4k_jieba_state *st = b4k_jieba_state_new();
    b4k_jieba_words w;
    b4k_err err = {0};
    b4k_jieba_words_init(&w);
    out[0] = 0;
    if (b4k_jieba_cut(j, st, text, strlen(text), hmm, &w, &err)) {
        snprintf(out, sizeof out, "error: %s", err.msg);
    } else {
        size_t k = 0;
        for (size_t i = 0; i < w.n && k < sizeof out - 64; i++)
            k += (size_t)snprintf(out + k, sizeof out - k, "%s%.*s", i ? "|" : "",
                                  (int)(w.end[i] - w.beg[i]), text + w.beg[i]);
    }
    b4k_jieba_words_free(&w);
    b4k_jieba_state_free(st);
    return out;
}

/* A toy model: words with frequencies; HMM that prefers B,E pairs. */
static b4k_jieba *toy(void)
{
    char d[512];
    snprintf(d, sizeof d, "%s/finalseg", tmpdir);
    mkdir(d, 0755);
    put_file("dict.txt",
             "中国 10 ns\n中国人 5 n\n国人 20 n\n人 100 n\n中 50 f\n国 30 n\n"
             "ab 10 x\nabc 10 x\n北京 10 ns\n大学 10 n\n北京大学 2 nt\n");
    put_file("finalseg/prob_start.py", "P={'B': -0.5,\n 'E': -3.14e+100,\n 'M': -3.14e+100,\n 'S': -1.0}\n");
    put_file("finalseg/prob_trans.py",
             "P={'B': {'E': -0.1, 'M': -2.0},\n 'E': {'B': -0.2, 'S': -1.5},\n"
             " 'M': {'E': -0.3, 'M': -1.0},\n 'S': {'B': -0.4, 'S': -1.2}}\n");
    put_file("finalseg/prob_emit.py",
             "from __future__ import unicode_literals\n"
             "P={'B': {'\\u7532': -1.0, '\\u4e59': -5.0, '\\u4e19': -1.0},\n"
             " 'E': {'\\u7532': -5.0, '\\u4e59': -1.0, '\\u4e19': -5.0},\n"
             " 'M': {'\\u4e59': -3.0},\n"
             " 'S': {'\\u4e19': -0.5, '\\u4e01': -0.1}}\n");
    b4k_jieba *j = NULL;
    b4k_err err = {0};
    if (b4k_jieba_load_dir(&j, tmpdir, &err)) printf("  toy: %s\n", err.msg);
    return j;
}

TEST(toy_dictionary)
{
    b4k_jieba *j = toy();
    CHECK(j);
    if (!j) return;
    CHECK_EQ_INT(b4k_jieba_total(j), 10 + 5 + 20 + 100 + 50 + 30 + 10 + 10 + 10 + 10 + 2);
    CHECK_EQ_INT(b4k_jieba_freq(j, "中国", 6), 10);
    CHECK_EQ_INT(b4k_jieba_freq(j, "北京大", 9), 0); /* a prefix only */
    /* route, T = 257: 中国人 alone (5/T) beats 中国|人 and 中|国人 (1000/T^2);
     * 北京大学 (2/T) beats 北京|大学 (100/T^2) */
    CHECK_EQ_STR(cut(j, "中国人", 1), "中国人");
    CHECK_EQ_STR(cut(j, "北京大学", 1), "北京大学");
    CHECK_EQ_STR(cut(j, "中国人中国", 1), "中国人|中国");
    /* non-Han blocks: one word per character, "\r\n" together, spaces alone */
    CHECK_EQ_STR(cut(j, "中国，人\r\n  x", 1), "中国|，|人|\r\n| | |x");
    /* the Han class includes ASCII letters, digits and +#&._%- */
    CHECK_EQ_STR(cut(j, "abc+1.5%x", 1), "abc|+|1.5%|x");
    /* HMM on runs of unknown single characters: 甲乙 is B E, 丙 S, 丁 S */
    CHECK_EQ_STR(cut(j, "甲乙丙丁", 1), "甲乙|丙|丁");
    CHECK_EQ_STR(cut(j, "甲乙丙丁", 0), "甲|乙|丙|丁");
    /* without the HMM, single ASCII letters/digits are glued */
    CHECK_EQ_STR(cut(j, "x1y中国", 0), "x1y|中国");
    CHECK_EQ_STR(cut(j, "", 1), "");
    /* user words: explicit frequency, suggested frequency, forced split */
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_jieba_add_word(j, "甲乙丙", strlen("甲乙丙"), 1000, &err), 0);
    CHECK_EQ_STR(cut(j, "甲乙丙丁", 1), "甲乙丙|丁");
    CHECK_EQ_INT(b4k_jieba_add_word(j, "丙丁", 6, -1, &err), 0);
    CHECK(b4k_jieba_freq(j, "丙丁", 6) >= 1);
    b4k_jieba_free(j);
}

TEST(data_file_round_trip)
{
    b4k_jieba *j = toy(), *k = NULL;
    CHECK(j);
    if (!j) return;
    b4k_buf b;
    b4k_err err = {0};
    b4k_buf_init(&b);
    CHECK_EQ_INT(b4k_jieba_save(j, &b, &err), 0);
    CHECK_EQ_INT(b4k_jieba_load_mem(&k, b.data, b.len, "mem", &err), 0);
    if (k) {
        const char *texts[] = {"中国人", "北京大学", "甲乙丙丁", "abc+1.5%x 中国"};
        for (int i = 0; i < 4; i++) {
            char a[1024];
            snprintf(a, sizeof a, "%s", cut(j, texts[i], 1));
            CHECK_EQ_STR(cut(k, texts[i], 1), a);
        }
        CHECK_EQ_INT(b4k_jieba_total(k), b4k_jieba_total(j));
        /* saving again gives the same bytes */
        b4k_buf c;
        b4k_buf_init(&c);
        CHECK_EQ_INT(b4k_jieba_save(k, &c, &err), 0);
        CHECK(c.len == b.len && !memcmp(c.data, b.data, b.len));
        b4k_buf_free(&c);
    }
    b4k_jieba_free(k);
    /* every truncation and every flipped byte is refused cleanly */
    int refused = 0, tried = 0;
    for (size_t n = 0; n < b.len; n += 1 + n / 8, tried++) {
        k = NULL;
        if (b4k_jieba_load_mem(&k, b.data, n, "cut", &err)) refused++;
        b4k_jieba_free(k);
    }
    CHECK_EQ_INT(refused, tried);
    for (size_t i = 0; i < b.len; i += 7) {
        b.data[i] ^= 0x40;
        k = NULL;
        CHECK(b4k_jieba_load_mem(&k, b.data, b.len, "flip", &err) != 0);
        b4k_jieba_free(k);
        b.data[i] ^= 0x40;
    }
    b4k_buf_free(&b);
    b4k_jieba_free(j);
}

/* a data file used in place takes user words (its arrays are copied out):
 * the same cuts and the same saved bytes as the dictionary built in memory,
 * and the same cuts again after saving and loading that */
TEST(data_file_user_words)
{
    b4k_jieba *j = toy(), *k = NULL;
    CHECK(j);
    if (!j) return;
    b4k_buf b, c, d;
    b4k_err err = {0};
    b4k_buf_init(&b);
    b4k_buf_init(&c);
    b4k_buf_init(&d);
    CHECK_EQ_INT(b4k_jieba_save(j, &b, &err), 0);
    CHECK_EQ_INT(b4k_jieba_load_mem(&k, b.data, b.len, "mem", &err), 0);
    if (!k) goto done;
    static const char *const words[] = {"甲乙", "乙丙丁", "人中"};
    static const int64_t freqs[] = {7, -1, 0};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(b4k_jieba_add_word(j, words[i], strlen(words[i]), freqs[i], &err), 0);
        CHECK_EQ_INT(b4k_jieba_add_word(k, words[i], strlen(words[i]), freqs[i], &err), 0);
    }
    static const char *const texts[] = {"甲乙丙丁", "中国人中国", "乙丙丁甲乙", "丙丁人中"};
    char want[4][256];
    for (int i = 0; i < 4; i++) {
        snprintf(want[i], sizeof want[i], "%s", cut(j, texts[i], 1));
        CHECK_EQ_STR(cut(k, texts[i], 1), want[i]);
    }
    CHECK_EQ_INT(b4k_jieba_n_words(k), b4k_jieba_n_words(j));
    CHECK_EQ_INT(b4k_jieba_total(k), b4k_jieba_total(j));
    CHECK_EQ_INT(b4k_jieba_save(j, &c, &err), 0);
    CHECK_EQ_INT(b4k_jieba_save(k, &d, &err), 0);
    CHECK(c.len == d.len && !memcmp(c.data, d.data, c.len));
    b4k_jieba_free(k);
    k = NULL;
    CHECK_EQ_INT(b4k_jieba_load_mem(&k, d.data, d.len, "mem", &err), 0);
    for (int i = 0; k && i < 4; i++) CHECK_EQ_STR(cut(k, texts[i], 1), want[i]);
done:
    b4k_jieba_free(k);
    b4k_jieba_free(j);
    b4k_buf_free(&b);
    b4k_buf_free(&c);
    b4k_buf_free(&d);
}

/* the word-list format of version 1 is refused, saying what to do */
TEST(data_file_version_1)
{
    unsigned char v1[300] = "B4KJIEBA\x01";
    b4k_jieba *k = NULL;
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_jieba_load_mem(&k, v1, sizeof v1, "old.b4kj", &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "version 1") && strstr(err.msg, "regenerate"));
    b4k_jieba_free(k);
}

TEST(malformed_dictionaries)
{
    const char *bad[] = {"中国\n", "中国 x n\n", "中国 -3 n\n", "中国  3\n", "\xff\xfe 3\n", "\n",
                         "中国 99999999999999999999999 n\n"};
    for (int i = 0; i < 7; i++) {
        b4k_jieba *j = toy();
        if (!j) {
            CHECK(0);
            return;
        }
        b4k_jieba_free(j);
        put_file("dict.txt", bad[i]);
        b4k_err err = {0};
        j = NULL;
        int rc = b4k_jieba_load_dir(&j, tmpdir, &err);
        CHECK(rc != 0);
        CHECK(err.msg[0] != 0);
        b4k_jieba_free(j);
    }
    put_file("dict.txt", "中国 3\n");
    put_file("finalseg/prob_emit.py", "P={'B': {'\\u4e00': oops}}");
    b4k_jieba *j = NULL;
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_jieba_load_dir(&j, tmpdir, &err), B4K_EFORMAT);
    b4k_jieba_free(j);
}

/* ---- jieba's own data ---------------------------------------------------- */

static b4k_jieba *debian(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/dict.txt", B4K_JIEBA_DEBIAN_DIR);
    if (access(p, R_OK)) return NULL;
    b4k_jieba *j = NULL;
    b4k_err err = {0};
    if (b4k_jieba_load_dir(&j, B4K_JIEBA_DEBIAN_DIR, &err)) printf("  %s\n", err.msg);
    return j;
}

static b4k_jieba *real;

TEST(jieba_sentences)
{
    /* expected: jieba 0.42.1 (python3-jieba), jieba.cut(text) */
    static const char *cases[][2] = {
        {"我来到北京清华大学", "我|来到|北京|清华大学"},
        {"他来到了网易杭研大厦", "他|来到|了|网易|杭研|大厦"},
        {"小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
         "小明|硕士|毕业|于|中国科学院|计算所|，|后|在|日本京都大学|深造"},
        {"工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
         "工信处|女干事|每月|经过|下属|科室|都|要|亲口|交代|24|口|交换机|等|技术性|器件|的|安装|工作"},
        {"C++和c#是什么关系？11+122=133，是吗？PI=3.14159",
         "C++|和|c#|是|什么|关系|？|11|+|122|=|133|，|是|吗|？|PI|=|3.14159"},
        {"李小福是创新办主任也是云计算方面的专家; 什么是八一双鹿",
         "李小福|是|创新|办|主任|也|是|云|计算|方面|的|专家|;| |什么|是|八|一双|鹿"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) CHECK_EQ_STR(cut(real, cases[i][0], 1), cases[i][1]);
    CHECK_EQ_INT(b4k_jieba_total(real), 60101967);
}

TEST(jieba_user_dictionary)
{
    put_file("user.txt", "\xEF\xBB\xBF李小福 2 nr\n创新办 3 i\n\n云计算 5\n八一双鹿\n清华 0\n台中\n");
    char p[512];
    snprintf(p, sizeof p, "%s/user.txt", tmpdir);
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_jieba_load_userdict(real, p, &err), 0);
    CHECK_EQ_STR(cut(real, "李小福是创新办主任也是云计算方面的专家; 什么是八一双鹿", 1),
                 "李小福|是|创新办|主任|也|是|云计算|方面|的|专家|;| |什么|是|八一双鹿");
    CHECK_EQ_STR(cut(real, "我来到北京清华大学", 1), "我|来到|北京|清华大学");
    /* jieba.suggest_freq('八一双鹿') == 1 with the stock dictionary, so the
     * word gets max(1, FREQ.get(word, 1)) = 1 */
    CHECK_EQ_INT(b4k_jieba_freq(real, "八一双鹿", 12), 1);
    CHECK_EQ_INT(b4k_jieba_total(real), 60101967ull + 2 + 3 + 5 + 1 + 0 + 69);
    /* re_userdict: "a b" is the word "a" with the tag "b" */
    put_file("user2.txt", "word tag\n");
    snprintf(p, sizeof p, "%s/user2.txt", tmpdir);
    CHECK_EQ_INT(b4k_jieba_load_userdict(real, p, &err), 0);
    CHECK(b4k_jieba_freq(real, "word", 4) > 0);
    CHECK_EQ_INT(b4k_jieba_freq(real, "word tag", 8), 0);
    put_file("user3.txt", "ok 3\n\xff\xfe 4\n");
    snprintf(p, sizeof p, "%s/user3.txt", tmpdir);
    CHECK_EQ_INT(b4k_jieba_load_userdict(real, p, &err), B4K_EFORMAT);
    CHECK_EQ_INT(err.line, 2);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/b4k-jieba-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(toy_dictionary);
    RUN(data_file_round_trip);
    RUN(data_file_user_words);
    RUN(data_file_version_1);
    RUN(malformed_dictionaries);
    real = debian();
    if (real) {
        RUN(jieba_sentences);
        RUN(jieba_user_dictionary);
        b4k_jieba_free(real);
    } else {
        t_skip("test_jieba.c:jieba_sentences", "python3-jieba's dict.txt not installed");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) { /* best effort */
    }
    return t_done();
}
