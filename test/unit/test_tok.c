/* Unit tests for lib/tok: Unicode tables, WordPiece (normalisation, splitting,
 * greedy matching, offsets, pairs, truncation, decode), vocabulary errors,
 * GPT-2 BPE (pre-tokenizer, merges, exact byte round trip) and sharing one
 * tokenizer between threads.  Expected values for the WordPiece cases come
 * from HF tokenizers 0.22 (BertWordPiece) run on the same inputs. */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "core/rng.h"
#include "core/threads.h"
#include "t.h"
#include "tok/bpe.h"
#include "tok/tok.h"
#include "tok/unicode.h"
#include "tok/wordpiece.h"

static const char *VOCAB =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
    "hello\nworld\n,\n!\n.\n中\n文\nun\n##aff\n##able\n##s\nhe\n##llo\n"
    "e\ncafe\nistanbul\n'\ns\nx\nHello\n";

static b4k_wordpiece *wp_new(int lower)
{
    b4k_wordpiece *wp = NULL;
    b4k_err err;
    int rc = b4k_wordpiece_load_mem(&wp, VOCAB, strlen(VOCAB), "v.txt", lower, -1, 1, &err);
    if (rc) printf("  load: %s\n", err.msg);
    return wp;
}

static int enc(const b4k_wordpiece *wp, const char *a, const char *b, long max_len, int special,
               b4k_tok_out *o)
{
    b4k_tok_enc e;
    b4k_tok_enc_init(&e);
    e.add_special = special;
    e.max_len = max_len;
    b4k_err err;
    return b4k_wordpiece_encode(wp, a, strlen(a), b, b ? strlen(b) : 0, &e, o, &err);
}

/* "id:start-end id:start-end ..." */
static const char *fmt(const b4k_tok_out *o)
{
    static char buf[2048];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < o->n && k < sizeof buf - 40; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%d:%d-%d", i ? " " : "", o->ids[i],
                              o->offsets[2 * i], o->offsets[2 * i + 1]);
    return buf;
}

TEST(unicode_tables)
{
    CHECK(b4k_unicode_flags('A') & B4K_U_L);
    CHECK(b4k_unicode_flags('7') & B4K_U_N);
    CHECK(b4k_unicode_flags('$') & B4K_U_PUNCT);  /* ASCII symbol range */
    CHECK(b4k_unicode_flags(0xFF0C) & B4K_U_PUNCT); /* fullwidth comma */
    CHECK(!(b4k_unicode_flags(0x4E2D) & B4K_U_PUNCT));
    CHECK(b4k_unicode_is_cjk(0x4E2D) && !b4k_unicode_is_cjk(0x3042));
    CHECK(b4k_unicode_flags(0x3000) & B4K_U_WS);
    CHECK(b4k_unicode_flags(0x3000) & B4K_U_JSWS);
    CHECK(b4k_unicode_flags(0x85) & B4K_U_REMOVE);   /* Cc wins over White_Space */
    CHECK(!(b4k_unicode_flags(0x85) & B4K_U_JSWS));  /* not in JavaScript's \s */
    CHECK(b4k_unicode_flags(0xFEFF) & B4K_U_JSWS);
    CHECK(b4k_unicode_flags(0xAD) & B4K_U_REMOVE);   /* soft hyphen, Cf */
    CHECK(!(b4k_unicode_flags('\n') & B4K_U_REMOVE) && (b4k_unicode_flags('\n') & B4K_U_WS));
    CHECK(b4k_unicode_flags(0x301) & B4K_U_MN);
    uint32_t d[B4K_UNICODE_MAXDECOMP];
    CHECK_EQ_INT(b4k_unicode_nfd_char(0xE9, d), 2);
    CHECK_EQ_INT(d[0], 'e');
    CHECK_EQ_INT(d[1], 0x301);
    CHECK_EQ_INT(b4k_unicode_nfd_char(0x1E69, d), 3); /* s + dot below + dot above */
    CHECK_EQ_INT(b4k_unicode_nfd_char(0xD55C, d), 3); /* Hangul 한 */
    CHECK_EQ_INT(d[0], 0x1112);
    CHECK_EQ_INT(d[1], 0x1161);
    CHECK_EQ_INT(d[2], 0x11AB);
    CHECK_EQ_INT(b4k_unicode_nfd_char(0xF900, d), 1); /* CJK compatibility ideograph */
    CHECK_EQ_INT(d[0], 0x8C48);
    CHECK_EQ_INT(b4k_unicode_lower_char(0x130, d), 2);
    CHECK_EQ_INT(d[0], 'i');
    CHECK_EQ_INT(b4k_unicode_lower_char(0x3A3, d), 1);
    CHECK_EQ_INT(d[0], 0x3C3);
    CHECK_EQ_INT(b4k_unicode_flags(0x110000), 0);
}

TEST(wordpiece_basic)
{
    b4k_wordpiece *wp = wp_new(-1);
    CHECK(wp != NULL);
    if (!wp) return;
    CHECK_EQ_INT(b4k_wordpiece_lower(wp), 0); /* "Hello" is in the vocab: cased */
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    CHECK_EQ_INT(enc(wp, "hello, world!", NULL, 0, 1, &o), 0);
    CHECK_EQ_STR(fmt(&o), "2:0-0 5:0-5 7:5-6 6:7-12 8:12-13 3:0-0");
    /* greedy longest match with ## pieces; unmatched word -> one [UNK] */
    CHECK_EQ_INT(enc(wp, "unaffable unaffablez", NULL, 0, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "12:0-2 13:2-5 14:5-9 1:10-20");
    /* CJK ideographs are words of their own; control chars dropped, offsets
     * still count them; a tab is a space */
    CHECK_EQ_INT(enc(wp, "中\x01文\thello", NULL, 0, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "10:0-1 11:2-3 5:4-9");
    /* cased: accents kept, so "café" is [UNK] */
    CHECK_EQ_INT(enc(wp, "caf\xc3\xa9", NULL, 0, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "1:0-4");
    /* a word over 100 characters is one [UNK] even if it could match */
    char longw[256];
    memset(longw, 'x', 101);
    longw[101] = 0;
    CHECK_EQ_INT(enc(wp, longw, NULL, 0, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "1:0-101");
    longw[100] = 0;
    CHECK_EQ_INT(enc(wp, longw, NULL, 0, 0, &o), 0);
    CHECK_EQ_INT(o.n, 1); /* "x" + 99 x "##x"? no "##x" in vocab -> [UNK] */
    CHECK_EQ_INT(enc(wp, "", NULL, 0, 1, &o), 0);
    CHECK_EQ_STR(fmt(&o), "2:0-0 3:0-0");
    b4k_tok_out_free(&o);
    b4k_wordpiece_free(wp);
}

TEST(wordpiece_lower)
{
    b4k_wordpiece *wp = wp_new(1);
    if (!wp) return;
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    /* NFD + Mn removal + lower-case; İ -> i (+ U+0307, removed first) */
    CHECK_EQ_INT(enc(wp, "CAF\xc3\x89 \xc4\xb0stanbul HeLLo", NULL, 0, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "19:0-4 20:5-13 5:14-19");
    /* punctuation from NFD: U+037E (Greek question mark) -> ';' is split */
    CHECK_EQ_INT(enc(wp, "x\xcd\xbex", NULL, 0, 0, &o), 0);
    CHECK_EQ_INT(o.n, 3);
    CHECK_EQ_INT(o.offsets[2], 1);
    CHECK_EQ_INT(o.offsets[3], 2);
    b4k_tok_out_free(&o);
    b4k_wordpiece_free(wp);
}

TEST(wordpiece_pairs_truncation)
{
    /* (n1, n2, room) -> (k1, k2), as HF tokenizers' LongestFirst gives */
    static const int cases[][5] = {
        {6, 3, 5, 3, 2}, {2, 7, 5, 2, 3}, {6, 3, 6, 3, 3}, {4, 4, 6, 3, 3},
        {4, 4, 7, 3, 4}, {4, 4, 1, 0, 1}, {2, 2, 0, 0, 0}, {3, 3, 10, 3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t k1, k2;
        b4k_tok_truncate_pair((size_t)cases[i][0], (size_t)cases[i][1], (size_t)cases[i][2], &k1,
                              &k2);
        CHECK_EQ_INT(k1, cases[i][3]);
        CHECK_EQ_INT(k2, cases[i][4]);
    }
    b4k_wordpiece *wp = wp_new(-1);
    if (!wp) return;
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    CHECK_EQ_INT(enc(wp, "hello world", "中文", 0, 1, &o), 0);
    CHECK_EQ_STR(fmt(&o), "2:0-0 5:0-5 6:6-11 3:0-0 10:0-1 11:1-2 3:0-0");
    CHECK_EQ_INT(o.n_a, 4);
    CHECK_EQ_INT(o.segs[3], 0);
    CHECK_EQ_INT(o.segs[4], 1);
    CHECK_EQ_INT(o.segs[6], 1);
    CHECK_EQ_INT(enc(wp, "hello world ! hello", "中文", 6, 1, &o), 0);
    CHECK_EQ_STR(fmt(&o), "2:0-0 5:0-5 6:6-11 3:0-0 10:0-1 3:0-0");
    CHECK_EQ_INT(enc(wp, "hello world ! hello", NULL, 4, 1, &o), 0);
    CHECK_EQ_STR(fmt(&o), "2:0-0 5:0-5 6:6-11 3:0-0");
    CHECK_EQ_INT(enc(wp, "hello world", "中文", 2, 1, &o), B4K_EINVAL);
    CHECK_EQ_INT(enc(wp, "hello world", "中文", 2, 0, &o), 0);
    CHECK_EQ_STR(fmt(&o), "5:0-5 10:0-1");
    b4k_tok_out_free(&o);
    b4k_wordpiece_free(wp);
}

TEST(wordpiece_decode)
{
    b4k_wordpiece *wp = wp_new(-1);
    if (!wp) return;
    int32_t ids[] = {2, 12, 13, 14, 7, 5, 8, 10, 11, 3};
    b4k_buf b;
    b4k_buf_init(&b);
    b4k_err err;
    CHECK_EQ_INT(b4k_wordpiece_decode(wp, ids, 10, 1, &b, &err), 0);
    CHECK_EQ_STR(b.data, "unaffable, hello! 中 文");
    b4k_buf_reset(&b);
    CHECK_EQ_INT(b4k_wordpiece_decode(wp, ids, 10, 0, &b, &err), 0);
    CHECK_EQ_STR(b.data, "[CLS] unaffable, hello! 中 文 [SEP]");
    int32_t bad[] = {1000};
    CHECK_EQ_INT(b4k_wordpiece_decode(wp, bad, 1, 0, &b, &err), B4K_ERANGE);
    b4k_buf_free(&b);
    b4k_wordpiece_free(wp);
}

static int load_err(const char *text, char *msg, long *line)
{
    b4k_wordpiece *wp = NULL;
    b4k_err err;
    b4k_err_clear(&err);
    int rc = b4k_wordpiece_load_mem(&wp, text, strlen(text), "v.txt", -1, -1, 1, &err);
    b4k_wordpiece_free(wp);
    snprintf(msg, 512, "%s", err.msg);
    *line = err.line;
    return rc;
}

TEST(wordpiece_vocab_errors)
{
    char msg[512];
    long line;
    CHECK_EQ_INT(load_err("[UNK]\na\nb\na\n", msg, &line), B4K_EFORMAT);
    CHECK(strstr(msg, "duplicate token 'a'") != NULL);
    CHECK_EQ_INT(line, 4);
    CHECK_EQ_INT(load_err("a\nb\n", msg, &line), B4K_EFORMAT);
    CHECK(strstr(msg, "[UNK]") != NULL);
    CHECK_EQ_INT(load_err("[UNK]\n\nb\n", msg, &line), B4K_EFORMAT);
    CHECK_EQ_INT(line, 2);
    CHECK_EQ_INT(load_err("[UNK]\n\xe4\xb8\n", msg, &line), B4K_EFORMAT); /* cut character */
    CHECK(strstr(msg, "UTF-8") != NULL);
    CHECK_EQ_INT(load_err("", msg, &line), B4K_EFORMAT);
    CHECK_EQ_INT(load_err("[UNK]\r\nb \nc", msg, &line), 0); /* CRLF, spaces, no final \n */
}

/* A tiny GPT-2 style vocabulary: the 256 byte characters plus merges. */
static b4k_bpe *bpe_new(void)
{
    static const char *merges[] = {"h e", "l l", "he ll", "hell o", "\xc4\xa0 w", "o r",
                                   "\xc4\xa0w or", "l d", "\xc4\xa0wor ld", "' s",
                                   "\xc4\xa0 x", "\xc4\x8a \xc4\x8a", "\xc4\xa0 1", "1 2",
                                   "\xc4\xa0 a"};
    const size_t nm = sizeof merges / sizeof *merges;
    b4k_buf e, m;
    b4k_buf_init(&e);
    b4k_buf_init(&m);
    b4k_buf_puts(&e, "{");
    int id = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        static int n = 0;
        if (b == 0) n = 0;
        uint32_t cp = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        char u[8] = {0};
        if (cp < 0x80) u[0] = (char)cp;
        else {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 63));
        }
        b4k_buf_puts(&e, id ? "," : "");
        b4k_buf_put_json_str(&e, u, strlen(u));
        b4k_buf_printf(&e, ":%d", id++);
    }
    b4k_buf_puts(&m, "#version: 0.2\n");
    for (size_t i = 0; i < nm; i++) {
        char joined[32];
        const char *sp = strchr(merges[i], ' ');
        snprintf(joined, sizeof joined, "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        b4k_buf_printf(&e, ",");
        b4k_buf_put_json_str(&e, joined, strlen(joined));
        b4k_buf_printf(&e, ":%d", id++);
        b4k_buf_printf(&m, "%s\n", merges[i]);
    }
    b4k_buf_puts(&e, "}");
    b4k_bpe *bpe = NULL;
    b4k_err err;
    int rc = b4k_bpe_load_mem(&bpe, e.data, e.len, "enc.json", m.data, m.len, "m.bpe", &err);
    if (rc) printf("  bpe load: %s\n", err.msg);
    b4k_buf_free(&e);
    b4k_buf_free(&m);
    return bpe;
}

static const char *pieces(const b4k_bpe *bpe, const b4k_tok_out *o)
{
    static char buf[2048];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < o->n && k < sizeof buf - 64; i++) {
        size_t l;
        const char *p = b4k_bpe_piece(bpe, o->ids[i], &l);
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%.*s", i ? "|" : "", (int)l, p);
    }
    return buf;
}

TEST(bpe_encode)
{
    b4k_bpe *bpe = bpe_new();
    CHECK(bpe != NULL);
    if (!bpe) return;
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    b4k_err err;
    const char *t = "hello world's  x\n\n 12 a";
    CHECK_EQ_INT(b4k_bpe_encode(bpe, t, strlen(t), NULL, &o, &err), 0);
    /* pre-tokens: hello| world|'s|Ġ (the space before "  x" minus one)|Ġx|
     * \n\n (whitespace, none follows: one run)... checked via pieces */
    CHECK_EQ_STR(pieces(bpe, &o), "hello|\xc4\xa0world|'s|\xc4\xa0|\xc4\xa0x|\xc4\x8a\xc4\x8a|"
                                  "\xc4\xa0""1|2|\xc4\xa0""a");
    /* offsets in code points */
    CHECK_EQ_INT(o.offsets[0], 0);
    CHECK_EQ_INT(o.offsets[1], 5);
    CHECK_EQ_INT(o.offsets[2], 5);
    CHECK_EQ_INT(o.offsets[3], 11);
    /* multi-byte character split over byte tokens: each token covers it */
    const char *z = "\xe4\xb8\xad";
    CHECK_EQ_INT(b4k_bpe_encode(bpe, z, 3, NULL, &o, &err), 0);
    CHECK_EQ_INT(o.n, 3);
    for (size_t i = 0; i < o.n; i++) {
        CHECK_EQ_INT(o.offsets[2 * i], 0);
        CHECK_EQ_INT(o.offsets[2 * i + 1], 1);
    }
    b4k_tok_out_free(&o);
    b4k_bpe_free(bpe);
}

TEST(bpe_roundtrip_random_bytes)
{
    b4k_bpe *bpe = bpe_new();
    if (!bpe) return;
    b4k_rng r;
    b4k_rng_seed(&r, 42, 0);
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    b4k_buf b;
    b4k_buf_init(&b);
    b4k_err err;
    int ok = 1;
    for (int it = 0; it < 300 && ok; it++) {
        char s[64];
        size_t n = (size_t)(b4k_rng_u64(&r) % sizeof s);
        static const char alpha[] = "hello world's \n\t\xe4\xb8\xad\xff\x80 12";
        for (size_t i = 0; i < n; i++)
            s[i] = (b4k_rng_u64(&r) & 1) ? alpha[b4k_rng_u64(&r) % (sizeof alpha - 1)]
                                          : (char)(b4k_rng_u64(&r) & 255);
        if (b4k_bpe_encode(bpe, s, n, NULL, &o, &err)) ok = 0;
        b4k_buf_reset(&b);
        if (b4k_bpe_decode(bpe, o.ids, o.n, 0, &b, &err)) ok = 0;
        if (b.len != n || (n && memcmp(b.data, s, n))) ok = 0;
    }
    CHECK(ok);
    b4k_buf_free(&b);
    b4k_tok_out_free(&o);
    b4k_bpe_free(bpe);
}

TEST(bpe_heap_equals_loop)
{
    b4k_bpe *bpe = bpe_new();
    if (!bpe) return;
    b4k_rng r;
    b4k_rng_seed(&r, 7, 0);
    static const char *parts[] = {"he", "ll", "o", " w", "or", "ld", "'s", " ", "l", "h", "1", "2"};
    int ok = 1;
    for (int it = 0; it < 500 && ok; it++) {
        char w[400];
        size_t n = 0, k = 1 + b4k_rng_u64(&r) % 150;
        for (size_t i = 0; i < k && n < sizeof w - 4; i++) {
            const char *p = parts[b4k_rng_u64(&r) % (sizeof parts / sizeof *parts)];
            memcpy(w + n, p, strlen(p));
            n += strlen(p);
        }
        int32_t s1[400], s2[400];
        uint32_t l1[400], l2[400];
        size_t n1 = b4k_bpe_merge(bpe, (const unsigned char *)w, n, s1, l1, 1);
        size_t n2 = b4k_bpe_merge(bpe, (const unsigned char *)w, n, s2, l2, 2);
        ok = n1 == n2 && !memcmp(s1, s2, n1 * sizeof *s1) && !memcmp(l1, l2, n1 * sizeof *l1);
    }
    CHECK(ok);
    b4k_bpe_free(bpe);
}

TEST(bpe_load_errors)
{
    b4k_bpe *bpe = NULL;
    b4k_err err;
    const char *enc = "{\"a\":0,\"b\":0}";
    CHECK(b4k_bpe_load_mem(&bpe, enc, strlen(enc), "e", "", 0, "m", &err) == B4K_EFORMAT);
    enc = "{\"a\":0}";
    CHECK(b4k_bpe_load_mem(&bpe, enc, strlen(enc), "e", "", 0, "m", &err) == B4K_EFORMAT);
    CHECK(strstr(err.msg, "byte") != NULL);
    CHECK(b4k_bpe_load_mem(&bpe, "[1,2", 4, "e", "", 0, "m", &err) == B4K_EFORMAT);
    CHECK(bpe == NULL);
}

typedef struct mt_ctx {
    const b4k_tok *tok;
    const char *text;
    int ok[8];
} mt_ctx;

static void mt_fn(void *p, int tid, int nt)
{
    (void)nt;
    mt_ctx *c = p;
    b4k_tok_out o, ref;
    b4k_tok_out_init(&o);
    b4k_tok_out_init(&ref);
    b4k_tok_enc e;
    b4k_tok_enc_init(&e);
    b4k_err err;
    int ok = b4k_tok_encode(c->tok, c->text, strlen(c->text), NULL, 0, &e, &ref, &err) == 0;
    for (int i = 0; i < 2000 && ok; i++) {
        ok = b4k_tok_encode(c->tok, c->text, strlen(c->text), NULL, 0, &e, &o, &err) == 0 &&
             o.n == ref.n && !memcmp(o.ids, ref.ids, o.n * sizeof *o.ids);
    }
    c->ok[tid] = ok;
    b4k_tok_out_free(&o);
    b4k_tok_out_free(&ref);
}

TEST(tok_shared_between_threads)
{
    char path[] = "/tmp/b4k_test_vocabXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    fputs(VOCAB, f);
    fclose(f);
    b4k_tok_opts to;
    b4k_tok_opts_init(&to);
    to.kind = b4k_tok_kind_parse("wordpiece");
    to.vocab = path;
    b4k_tok *tok = NULL;
    b4k_err err;
    CHECK_EQ_INT(b4k_tok_load(&tok, &to, &err), 0);
    unlink(path);
    if (!tok) return;
    CHECK_EQ_INT(b4k_tok_vocab_size(tok), 25);
    CHECK_EQ_INT(b4k_tok_cls_id(tok), 2);
    CHECK_EQ_INT(b4k_tok_id(tok, "##aff", 5), 13);
    size_t l;
    CHECK_EQ_STR(b4k_tok_piece(tok, 13, &l), "##aff");
    mt_ctx c = {tok, "hello, world! unaffable 中文 he##llo", {0}};
    b4k_pool *pool = b4k_pool_new(4);
    b4k_pool_run(pool, mt_fn, &c);
    for (int i = 0; i < b4k_pool_size(pool); i++) CHECK(c.ok[i]);
    b4k_pool_free(pool);
    b4k_tok_free(tok);
    to.kind = B4K_TOK_BPE; /* missing merges */
    CHECK_EQ_INT(b4k_tok_load(&tok, &to, &err), B4K_EINVAL);
    CHECK_EQ_INT(b4k_tok_kind_parse("nope"), B4K_TOK_NONE);
}

int main(void)
{
    RUN(unicode_tables);
    RUN(wordpiece_basic);
    RUN(wordpiece_lower);
    RUN(wordpiece_pairs_truncation);
    RUN(wordpiece_decode);
    RUN(wordpiece_vocab_errors);
    RUN(bpe_encode);
    RUN(bpe_roundtrip_random_bytes);
    RUN(bpe_heap_equals_loop);
    RUN(bpe_load_errors);
    RUN(tok_shared_between_threads);
    return t_done();
}
