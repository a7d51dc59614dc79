/* word2vec: vocabulary, corpus scanning, training determinism and
 * checkpoint/resume, model round trips (.b4k, word2vec text and binary),
 * nearest/analogy against brute force, Spearman. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "t.h"
#include "w2v/corpus.h"
#include "w2v/encode.h"
#include "w2v/vocab.h"
#include "w2v/query.h"
#include "w2v/train.h"

static char tmpdir[256];

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

TEST(vocab_order_and_limits)
{
    b4k_w2v_vocab *v = b4k_w2v_vocab_new();
    const char *words[] = {"b", "a", "c", "a", "b", "d", "a", "c", "b", "e"};
    for (int i = 0; i < 10; i++)
        CHECK(b4k_w2v_vocab_add(v, words[i], 1, 1) >= 0);
    CHECK_EQ_INT(b4k_w2v_vocab_size(v), 5);
    CHECK_EQ_INT(b4k_w2v_vocab_find(v, "c", 1), 2);
    int32_t *map;
    b4k_err e;
    CHECK_EQ_INT(b4k_w2v_vocab_finalize(v, 2, 0, &map, &e), 0);
    /* counts: a3 b3 c2 -> ties by bytes */
    CHECK_EQ_INT(b4k_w2v_vocab_size(v), 3);
    CHECK_EQ_STR(b4k_w2v_vocab_word(v, 0, NULL), "a");
    CHECK_EQ_STR(b4k_w2v_vocab_word(v, 1, NULL), "b");
    CHECK_EQ_STR(b4k_w2v_vocab_word(v, 2, NULL), "c");
    CHECK_EQ_INT(b4k_w2v_vocab_count(v, 2), 2);
    CHECK_EQ_INT(map[0], 1); /* old id of "b" */
    CHECK_EQ_INT(map[3], -1); /* "d" dropped */
    CHECK_EQ_INT(b4k_w2v_vocab_find(v, "b", 1), 1);
    CHECK_EQ_INT(b4k_w2v_vocab_find(v, "d", 1), -1);
    b4k_free(map);
    CHECK_EQ_INT(b4k_w2v_vocab_finalize(v, 1, 2, NULL, &e), 0);
    CHECK_EQ_INT(b4k_w2v_vocab_size(v), 2);
    b4k_w2v_vocab_free(v);
    /* pruning keeps frequent words */
    v = b4k_w2v_vocab_new();
    b4k_w2v_vocab_set_prune_limit(v, 100);
    char w[16];
    for (int i = 0; i < 50; i++)
        b4k_w2v_vocab_add(v, "the", 3, 1);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(w, sizeof w, "w%d", i);
        b4k_w2v_vocab_add(v, w, (size_t)n, 1);
    }
    CHECK(b4k_w2v_vocab_pruned(v) > 0);
    CHECK(b4k_w2v_vocab_live(v) <= 100);
    CHECK(b4k_w2v_vocab_find(v, "the", 3) >= 0);
    b4k_w2v_vocab_free(v);
}

typedef struct toks {
    char buf[4096];
    size_t len;
} toks;

static int collect(void *ctx, const char *t, size_t n)
{
    toks *c = ctx;
    if (!t) {
        c->buf[c->len++] = '|';
    } else {
        memcpy(c->buf + c->len, t, n);
        c->len += n;
        c->buf[c->len++] = ' ';
    }
    c->buf[c->len] = 0;
    return 0;
}

static const char *scan_p(const char *in, int chars, int jsonl, size_t max_token, int64_t *trunc,
                          int pieces)
{
    static toks c;
    b4k_w2v_scan_opts o = {chars, jsonl, max_token, 0, pieces};
    b4k_w2v_scan_stats st;
    static b4k_err e;
    memset(&st, 0, sizeof st);
    c.len = 0;
    c.buf[0] = 0;
    if (b4k_w2v_scan_mem(in, strlen(in), "mem", &o, collect, &c, &st, &e))
        return e.msg;
    if (trunc)
        *trunc = st.truncated;
    return c.buf;
}

static const char *scan(const char *in, int chars, int jsonl, size_t max_token, int64_t *trunc)
{
    return scan_p(in, chars, jsonl, max_token, trunc, 0);
}

/* --join-pieces: words from SentencePiece pieces (U+2581 starts a word) */
TEST(scan_join_pieces)
{
#define WS "\xe2\x96\x81" /* U+2581 */
    CHECK_EQ_STR(scan_p("{\"tokens\":[\"" WS "\u5984\u60f3\",\"" WS "\u5973\",\"\u53cb\",\"" WS "\"]}\n",
                        0, -1, 0, NULL, 1),
                 "\xe5\xa6\x84\xe6\x83\xb3 \xe5\xa5\xb3\xe5\x8f\x8b |");
    /* text input (spm_encode style), a sentence per line; a first piece
     * without the mark starts a word too; CPM's space mark alone is no word */
    CHECK_EQ_STR(scan_p("ab " WS "c d " WS "e\n" WS "\xe2\x96\x82 " WS "f\n", 0, 0, 0, NULL, 1),
                 "ab cd e |f |");
    /* without it the pieces are tokens */
    CHECK_EQ_STR(scan("ab " WS "c\n", 0, 0, 0, NULL), "ab " WS "c |");
#undef WS
}

TEST(scan_text_jsonl_chars)
{
    CHECK_EQ_STR(scan("a  b\tc\r\n\n d\n", 0, -1, 0, NULL), "a b c |d |");
    CHECK_EQ_STR(scan("{\"tokens\":[\"x\",\"y z\"]}\n{\"tokens\":[]}\n{\"tokens\":[\"w\"]}\n", 0,
                      -1, 0, NULL),
                 "x y z |w |");
    CHECK_EQ_STR(scan("ab\xe4\xb8\xad\xe6\x96\x87" "cd e\xe3\x80\x80" "f\n", 1, -1, 0, NULL),
                 "ab \xe4\xb8\xad \xe6\x96\x87 cd e f |");
    int64_t tr = 0;
    /* cut at a UTF-8 boundary: 5 bytes of "aé\xe4\xb8\xad" -> "aé" (3 bytes) */
    CHECK_EQ_STR(scan("a\xc3\xa9\xe4\xb8\xad xyz\n", 0, -1, 5, &tr), "a\xc3\xa9 xyz |");
    CHECK_EQ_INT(tr, 1);
    /* JSONL errors carry the line */
    b4k_w2v_scan_opts o = {0, 1, 0, 0, 0};
    b4k_w2v_scan_stats st;
    b4k_err e;
    toks c = {{0}, 0};
    memset(&st, 0, sizeof st);
    const char *bad = "{\"tokens\":[\"a\"]}\n{\"tokens\":[1]}\n";
    CHECK(b4k_w2v_scan_mem(bad, strlen(bad), "x.jsonl", &o, collect, &c, &st, &e) != 0);
    CHECK_EQ_INT(e.line, 2);
    CHECK_EQ_STR(e.file, "x.jsonl");
}

/* a corpus with structure: two topics whose words co-occur */
static void make_corpus(const char *path, int lines)
{
    FILE *fp = fopen(path, "w");
    b4k_rng r;
    b4k_rng_seed(&r, 99, 0);
    for (int l = 0; l < lines; l++) {
        int topic = (int)b4k_rng_below(&r, 2);
        int n = 5 + (int)b4k_rng_below(&r, 15);
        for (int i = 0; i < n; i++) {
            int w = (int)b4k_rng_below(&r, 30);
            if (b4k_rng_below(&r, 4) == 0)
                fprintf(fp, "common%d ", w % 5);
            else
                fprintf(fp, "%s%d ", topic ? "sea" : "sky", w);
        }
        fputc('\n', fp);
    }
    fclose(fp);
}

static b4k_w2v_train_stats last_st; /* the last train()'s stats */

static b4k_w2v *train(const char *corpus, int model, int hs, int neg, int threads,
                      uint64_t seed, const char *ckpt, int64_t every, const char *resume)
{
    b4k_w2v_train_opts o;
    b4k_w2v_train_defaults(&o, model);
    o.cfg.dim = 17;
    o.cfg.min_count = 2;
    o.cfg.iter = 3;
    o.cfg.hs = hs;
    o.cfg.negative = neg;
    o.cfg.seed = seed;
    o.threads = threads;
    o.checkpoint = ckpt;
    o.checkpoint_every = every;
    o.resume = resume;
    o.tmpdir = tmpdir;
    b4k_w2v *m = NULL;
    b4k_err e;
    const char *paths[1] = {corpus};
    memset(&last_st, 0, sizeof last_st);
    if (b4k_w2v_train(&m, paths, 1, &o, &last_st, &e)) {
        printf("  train failed: %s\n", e.msg);
        return NULL;
    }
    return m;
}

static int same(const b4k_w2v *a, const b4k_w2v *b)
{
    return a && b && a->n == b->n && a->dim == b->dim &&
           !memcmp(a->in, b->in, a->n * a->dim * sizeof(float));
}

/* the parallel first pass (encode.c): for 2 and 3 threads the vocabulary
 * (words, counts, order) and the id stream equal the serial pass's, over
 * several files cut anywhere (blank lines, long lines, a last line without
 * '\n', CJK --chars, JSONL); it falls back to the serial pass for a zstd
 * file; an error is reported with the serial pass's file:line */
static int encode_case(const char *const *paths, int np, int threads, int chars,
                       b4k_w2v_vocab **vout, uint32_t **ids, int64_t *nids, size_t *mb,
                       b4k_w2v_scan_stats *st, b4k_err *err)
{
    b4k_w2v_train_opts o;
    b4k_w2v_train_defaults(&o, B4K_W2V_SKIPGRAM);
    o.threads = threads;
    o.scan.chars = chars;
    o.cfg.min_count = 2;
    o.par_scan_min = 1;
    o.tmpdir = tmpdir;
    int64_t tw = 0;
    memset(st, 0, sizeof *st);
    *vout = b4k_w2v_vocab_new();
    return b4k_w2v_encode(paths, np, &o, *vout, 0, ids, mb, nids, &tw, st, err);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

TEST(parallel_first_pass)
{
    b4k_rng r;
    b4k_rng_seed(&r, 3, 0);
    static const char *cjk[] = { "\xe4\xb8\x80", "\xe4\xba\x8c", "\xe5\xa4\xa7", "\xe4\xba\xba" };
    for (int kind = 0; kind < 3; kind++) { /* words, CJK --chars, JSONL */
        const char *paths[3] = { tmp("p0.txt"), tmp("p1.txt"), tmp("p2.txt") };
        for (int f = 0; f < 3; f++) {
            FILE *fp = fopen(paths[f], "wb");
            int lines = f == 1 ? 3 : 400;
            for (int l = 0; l < lines; l++) {
                int n = (int)(b4k_rng_u64(&r) % 30), blank = b4k_rng_u64(&r) % 9 == 0;
                if (f == 1 && l == 1)
                    n = 3000; /* a long line */
                if (kind == 2)
                    fputs(blank ? "" : "{\"tokens\":[", fp);
                for (int i = 0; i < n && !blank; i++) {
                    unsigned k = (unsigned)(b4k_rng_u64(&r) % 97);
                    k = k * k / 97; /* skewed counts */
                    if (kind == 1)
                        fprintf(fp, "%sw%u%s%s", i ? " " : "", k % 7, cjk[k % 4], cjk[(k / 4) % 4]);
                    else if (kind == 2)
                        fprintf(fp, "%s\"w%u\"", i ? "," : "", k);
                    else
                        fprintf(fp, "%sw%u", i ? (k % 5 ? " " : "\t ") : "", k);
                }
                if (kind == 2 && !blank)
                    fputs("]}", fp);
                if (!(f == 2 && l == lines - 1)) /* the last line has no '\n' */
                    fputc('\n', fp);
            }
            fclose(fp);
        }
        b4k_w2v_vocab *v[4];
        uint32_t *ids[4];
        int64_t nids[4];
        size_t mb[4];
        b4k_w2v_scan_stats st[4];
        b4k_err err;
        for (int t = 1; t <= 3; t++)
            CHECK_EQ_INT(encode_case(paths, 3, t, kind == 1, &v[t], &ids[t], &nids[t], &mb[t],
                                     &st[t], &err), 0);
        CHECK_EQ_INT(st[1].par_threads, 0);
        for (int t = 2; t <= 3; t++) {
            CHECK_EQ_INT(st[t].par_threads, t);
            CHECK_EQ_INT(st[t].lines, st[1].lines);
            CHECK_EQ_INT(st[t].tokens, st[1].tokens);
            CHECK_EQ_INT(nids[t], nids[1]);
            CHECK(nids[t] == nids[1] && !memcmp(ids[t], ids[1], (size_t)nids[1] * 4));
            CHECK_EQ_INT(b4k_w2v_vocab_size(v[t]), b4k_w2v_vocab_size(v[1]));
            for (size_t i = 0; i < b4k_w2v_vocab_size(v[1]) && i < b4k_w2v_vocab_size(v[t]); i++) {
                size_t la, lb;
                const char *a = b4k_w2v_vocab_word(v[1], i, &la), *b = b4k_w2v_vocab_word(v[t], i, &lb);
                CHECK(la == lb && !memcmp(a, b, la));
                CHECK(b4k_w2v_vocab_count(v[1], i) == b4k_w2v_vocab_count(v[t], i));
            }
        }
        printf("  kind %d: %lld lines, %lld tokens, %zu words, %lld ids: same for 1, 2, 3 threads\n",
               kind, (long long)st[1].lines, (long long)st[1].tokens, b4k_w2v_vocab_size(v[1]),
               (long long)nids[1]);
        for (int t = 1; t <= 3; t++) {
            munmap(ids[t], mb[t]);
            b4k_w2v_vocab_free(v[t]);
        }
    }
    /* a bad JSONL line late in a file: the serial pass's message and line */
    {
        char big[64000];
        size_t o = 0;
        for (int l = 0; l < 2000; l++)
            o += (size_t)snprintf(big + o, sizeof big - o, "{\"tokens\":[\"a%d\",\"b\"]}\n", l % 13);
        snprintf(big + o, sizeof big - o, "{\"tokens\":[\"a\",]}\n");
        write_text(tmp("bad.jsonl"), big);
        const char *p1[1] = { tmp("bad.jsonl") };
        b4k_w2v_vocab *v;
        uint32_t *ids;
        int64_t n;
        size_t mb;
        b4k_w2v_scan_stats st;
        b4k_err e1, e2;
        memset(&e1, 0, sizeof e1), memset(&e2, 0, sizeof e2);
        CHECK(encode_case(p1, 1, 1, 0, &v, &ids, &n, &mb, &st, &e1) != 0);
        b4k_w2v_vocab_free(v);
        CHECK(encode_case(p1, 1, 2, 0, &v, &ids, &n, &mb, &st, &e2) != 0);
        b4k_w2v_vocab_free(v);
        CHECK_EQ_INT(e1.line, 2001);
        CHECK_EQ_INT(e2.line, e1.line);
        CHECK_EQ_STR(e2.msg, e1.msg);
    }
    /* a zstd file among plain ones: the serial pass */
    {
        write_text(tmp("z.txt"), "a b c a b a\n");
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "zstd -q -f %s -o %s", tmp("z.txt"), tmp("z.txt.zst"));
        if (system(cmd) == 0) {
            const char *pz[2] = { tmp("p0.txt"), tmp("z.txt.zst") };
            b4k_w2v_vocab *v;
            uint32_t *ids;
            int64_t n;
            size_t mb;
            b4k_w2v_scan_stats st;
            b4k_err e;
            CHECK_EQ_INT(encode_case(pz, 2, 2, 0, &v, &ids, &n, &mb, &st, &e), 0);
            CHECK_EQ_INT(st.par_threads, 0);
            munmap(ids, mb);
            b4k_w2v_vocab_free(v);
        } else {
            printf("  SKIP: zstd fallback case: no zstd command\n");
        }
    }
}

TEST(train_deterministic)
{
    const char *c = tmp("corpus.txt");
    make_corpus(c, 400);
    int cases[4][3] = {{B4K_W2V_SKIPGRAM, 0, 5}, {B4K_W2V_CBOW, 0, 5}, {B4K_W2V_SKIPGRAM, 1, 0},
                       {B4K_W2V_CBOW, 1, 3}};
    for (int k = 0; k < 4; k++) {
        b4k_w2v *a = train(c, cases[k][0], cases[k][1], cases[k][2], 1, 7, NULL, 0, NULL);
        b4k_w2v *b = train(c, cases[k][0], cases[k][1], cases[k][2], 1, 7, NULL, 0, NULL);
        b4k_w2v *d = train(c, cases[k][0], cases[k][1], cases[k][2], 1, 8, NULL, 0, NULL);
        CHECK(a && b && d);
        CHECK(same(a, b));
        CHECK(!same(a, d));
        if (a) {
            CHECK_EQ_INT(a->n, 65); /* sea0..29, sky0..29, common0..4 */
            CHECK(!strncmp(b4k_w2v_vocab_word(a->vocab, 0, NULL), "common", 6));
            for (size_t i = 0; i < a->n * a->dim; i++)
                if (!isfinite(a->in[i])) {
                    CHECK(!"non-finite vector");
                    break;
                }
        }
        b4k_w2v_free(a);
        b4k_w2v_free(b);
        b4k_w2v_free(d);
    }
    /* two threads run and learn (no determinism promised) */
    b4k_w2v *t2 = train(c, B4K_W2V_SKIPGRAM, 0, 5, 2, 7, NULL, 0, NULL);
    CHECK(t2 != NULL);
    b4k_w2v_free(t2);
}

TEST(train_learns_topics)
{
    const char *c = tmp("corpus.txt");
    b4k_w2v_train_opts o;
    b4k_w2v_train_defaults(&o, B4K_W2V_SKIPGRAM);
    o.cfg.dim = 20;
    o.cfg.iter = 10;
    o.tmpdir = tmpdir;
    b4k_w2v *m;
    b4k_w2v_train_stats st;
    b4k_err e;
    const char *paths[1] = {c};
    CHECK_EQ_INT(b4k_w2v_train(&m, paths, 1, &o, &st, &e), 0);
    b4k_w2v_index *ix;
    CHECK_EQ_INT(b4k_w2v_index_new(&ix, m, 0, 0, &e), 0);
    /* mean cosine within a topic beats across topics */
    double in = 0, across = 0;
    int ni = 0, na = 0;
    char w1[16], w2[16];
    for (int i = 0; i < 30; i++)
        for (int j = 0; j < 30; j++) {
            if (i == j)
                continue;
            snprintf(w1, sizeof w1, "sea%d", i);
            snprintf(w2, sizeof w2, "sea%d", j);
            const float *a = b4k_w2v_index_unit(ix, b4k_w2v_index_find(ix, w1, strlen(w1)));
            const float *b = b4k_w2v_index_unit(ix, b4k_w2v_index_find(ix, w2, strlen(w2)));
            snprintf(w2, sizeof w2, "sky%d", j);
            const float *s = b4k_w2v_index_unit(ix, b4k_w2v_index_find(ix, w2, strlen(w2)));
            double x = 0, y = 0;
            for (int k = 0; k < m->dim; k++) {
                x += a[k] * b[k];
                y += a[k] * s[k];
            }
            in += x;
            ni++;
            across += y;
            na++;
        }
    printf("  within-topic cosine %.3f, across %.3f\n", in / ni, across / na);
    CHECK(in / ni > across / na + 0.2);
    b4k_w2v_index_free(ix);
    b4k_w2v_free(m);
}

TEST(checkpoint_resume_bit_exact)
{
    char c[512], ck[512], ck1[512], ck2[512], ck4[512]; /* (tmp() keeps 4 names) */
    snprintf(c, sizeof c, "%s", tmp("corpus.txt"));
    snprintf(ck, sizeof ck, "%s", tmp("ck.b4k"));
    snprintf(ck1, sizeof ck1, "%s", tmp("ck1.b4k"));
    snprintf(ck2, sizeof ck2, "%s", tmp("ck2.b4k"));
    snprintf(ck4, sizeof ck4, "%s", tmp("ck4.b4k"));
    unlink(ck);
    /* full run that also leaves its last checkpoint behind */
    b4k_w2v *full = train(c, B4K_W2V_SKIPGRAM, 1, 5, 1, 3, ck, 8000, NULL);
    CHECK(full != NULL);
    CHECK(access(ck, F_OK) == 0);
    /* the checkpoint is from the middle of the run */
    b4k_w2v *mid = NULL;
    int64_t *state = NULL;
    size_t nstate = 0;
    b4k_err e;
    CHECK_EQ_INT(b4k_w2v_ckpt_load(&mid, &state, &nstate, ck, &e), 0);
    CHECK(mid && !same(mid, full));
    CHECK(nstate > 5 && state[4] > 0 && full && state[4] < 3 * full->cfg.train_words);
    CHECK(mid && mid->out && mid->hs);
    /* state version 3 (regions of chunks, 14 values per thread);
     * checkpoints of versions 1 and 2 (one fixed range per thread, 12
     * values; for one thread the whole corpus, the same work) resume too,
     * and an unknown version is refused */
    CHECK(nstate == 6 + 14 && state[0] == 3);
    if (mid && nstate == 6 + 14) {
        state[0] = 1;
        CHECK_EQ_INT(b4k_w2v_ckpt_save(mid, state, 6 + 12, ck1, &e), 0);
        state[0] = 2;
        CHECK_EQ_INT(b4k_w2v_ckpt_save(mid, state, 6 + 12, ck2, &e), 0);
        state[0] = 4;
        CHECK_EQ_INT(b4k_w2v_ckpt_save(mid, state, nstate, ck4, &e), 0);
    }
    b4k_w2v_free(mid);
    b4k_free(state);
    b4k_w2v *res = train(c, B4K_W2V_SKIPGRAM, 1, 5, 1, 3, NULL, 0, ck);
    CHECK(same(full, res));
    for (int v = 1; v <= 2; v++) {
        b4k_w2v *r = train(c, B4K_W2V_SKIPGRAM, 1, 5, 1, 3, NULL, 0, v == 1 ? ck1 : ck2);
        CHECK(r && same(full, r));
        b4k_w2v_free(r);
    }
    CHECK(train(c, B4K_W2V_SKIPGRAM, 1, 5, 1, 3, NULL, 0, ck4) == NULL);
    b4k_w2v_free(full);
    b4k_w2v_free(res);
    /* a checkpoint is refused for a different corpus */
    const char *c2 = tmp("corpus2.txt");
    make_corpus(c2, 200);
    b4k_w2v *bad = train(c2, B4K_W2V_SKIPGRAM, 1, 5, 1, 3, NULL, 0, ck);
    CHECK(bad == NULL);
    make_corpus(c, 400);
}

/* Threads take chunks of work in turn (train.c): whatever the thread
 * count, and across a checkpoint taken while other threads train, every
 * corpus word is trained iter times, no chunk lost or taken twice. */
TEST(chunks_cover_the_work)
{
    const char *c = tmp("corpus-big.txt");
    make_corpus(c, 4000);
    for (int th = 1; th <= 3; th++) {
        b4k_w2v *m = train(c, B4K_W2V_CBOW, 0, 5, th, 3, NULL, 0, NULL);
        CHECK(m && last_st.train_words > 40000);
        CHECK(last_st.words_done == 3 * last_st.train_words);
        if (last_st.words_done != 3 * last_st.train_words)
            printf("  %d threads: %lld words trained, %lld expected\n", th,
                   (long long)last_st.words_done, 3 * (long long)last_st.train_words);
        b4k_w2v_free(m);
    }
    const char *ck = tmp("ck-2t.b4k");
    unlink(ck);
    b4k_w2v *a = train(c, B4K_W2V_CBOW, 0, 5, 2, 3, ck, 25000, NULL);
    int64_t tw = last_st.train_words;
    CHECK(a && last_st.checkpoints >= 2);
    b4k_w2v_free(a);
    b4k_w2v *mid = NULL;
    int64_t *state = NULL;
    size_t nstate = 0;
    b4k_err e;
    CHECK_EQ_INT(b4k_w2v_ckpt_load(&mid, &state, &nstate, ck, &e), 0);
    CHECK(nstate == 6 + 2 * 14 && state[0] == 3 && state[1] == 2);
    if (nstate == 6 + 2 * 14) {
        /* the run is part done; thread 0 has taken chunks of its region */
        CHECK(state[4] > 0 && state[4] < 3 * tw && state[6 + 12] > 0);
        b4k_w2v *r = train(c, B4K_W2V_CBOW, 0, 5, 1, 3, NULL, 0, ck);
        CHECK(r && last_st.threads == 2 && last_st.words_done == 3 * tw);
        b4k_w2v_free(r);
        /* positions that do not fit the chunks are refused */
        const char *bad = tmp("ck-bad.b4k");
        int64_t keep = state[6 + 1];
        state[6 + 1] = state[6 + 9] + 1; /* thread 0 past its chunk's end */
        CHECK_EQ_INT(b4k_w2v_ckpt_save(mid, state, nstate, bad, &e), 0);
        CHECK(train(c, B4K_W2V_CBOW, 0, 5, 1, 3, NULL, 0, bad) == NULL);
        state[6 + 1] = keep;
        state[6 + 14 + 11] = 1 << 30; /* thread 1's chunk beyond the work */
        CHECK_EQ_INT(b4k_w2v_ckpt_save(mid, state, nstate, bad, &e), 0);
        CHECK(train(c, B4K_W2V_CBOW, 0, 5, 1, 3, NULL, 0, bad) == NULL);
    }
    b4k_w2v_free(mid);
    b4k_free(state);
}

TEST(round_trips)
{
    const char *c = tmp("corpus.txt");
    b4k_w2v *m = train(c, B4K_W2V_CBOW, 0, 5, 1, 5, NULL, 0, NULL);
    b4k_err e;
    CHECK(m != NULL);
    if (!m)
        return;
    /* .b4k */
    CHECK_EQ_INT(b4k_w2v_save(m, tmp("m.b4k"), 0, &e), 0);
    b4k_w2v *b;
    CHECK_EQ_INT(b4k_w2v_load(&b, tmp("m.b4k"), B4K_W2V_FMT_AUTO, &e), 0);
    CHECK(same(m, b));
    CHECK_EQ_INT(b4k_w2v_vocab_count(b->vocab, 0), b4k_w2v_vocab_count(m->vocab, 0));
    CHECK_EQ_INT(b->cfg.model, B4K_W2V_CBOW);
    b4k_w2v_free(b);
    /* text (%.9g is exact) and binary, detected */
    FILE *fp = fopen(tmp("m.txt"), "w");
    CHECK_EQ_INT(b4k_w2v_write_text(m, fp, &e), 0);
    fclose(fp);
    fp = fopen(tmp("m.bin"), "w");
    CHECK_EQ_INT(b4k_w2v_write_bin(m, fp, &e), 0);
    fclose(fp);
    b4k_w2v *t, *bi;
    CHECK_EQ_INT(b4k_w2v_load(&t, tmp("m.txt"), B4K_W2V_FMT_AUTO, &e), 0);
    CHECK_EQ_INT(b4k_w2v_load(&bi, tmp("m.bin"), B4K_W2V_FMT_AUTO, &e), 0);
    CHECK(same(m, t));
    CHECK(same(m, bi));
    for (size_t i = 0; i < m->n; i++)
        CHECK_EQ_STR(b4k_w2v_vocab_word(bi->vocab, i, NULL), b4k_w2v_vocab_word(m->vocab, i, NULL));
    /* binary re-written is byte-identical */
    fp = fopen(tmp("m2.bin"), "w");
    b4k_w2v_write_bin(bi, fp, &e);
    fclose(fp);
    FILE *x = fopen(tmp("m.bin"), "rb"), *y = fopen(tmp("m2.bin"), "rb");
    int eq = 1, cx, cy;
    do {
        cx = fgetc(x);
        cy = fgetc(y);
        if (cx != cy)
            eq = 0;
    } while (cx != EOF && cy != EOF);
    fclose(x);
    fclose(y);
    CHECK(eq);
    b4k_w2v_free(t);
    b4k_w2v_free(bi);
    b4k_w2v_free(m);
}

TEST(reader_errors)
{
    b4k_w2v *m = NULL;
    b4k_err e;
    const char *dim = "2 3\nfoo 1 2 3\nbar 1 2\n";
    CHECK(b4k_w2v_load_mem(&m, dim, strlen(dim), "d.txt", B4K_W2V_FMT_AUTO, &e) != 0);
    CHECK_EQ_INT(e.line, 3);
    const char *trunc = "3 2\nfoo 1 2\nbar 1 2\n";
    CHECK(b4k_w2v_load_mem(&m, trunc, strlen(trunc), "t.txt", B4K_W2V_FMT_AUTO, &e) != 0);
    CHECK(strstr(e.msg, "truncated") != NULL);
    const char *extra = "1 2\nfoo 1 2\nbar 1 2\n";
    CHECK(b4k_w2v_load_mem(&m, extra, strlen(extra), "x.txt", B4K_W2V_FMT_AUTO, &e) != 0);
    CHECK_EQ_INT(e.line, 3);
    const char *dup = "2 1\nfoo 1\nfoo 2\n";
    CHECK(b4k_w2v_load_mem(&m, dup, strlen(dup), "u.txt", B4K_W2V_FMT_AUTO, &e) != 0);
    const char *nan = "1 2\nfoo nan 2\n";
    CHECK(b4k_w2v_load_mem(&m, nan, strlen(nan), "n.txt", B4K_W2V_FMT_TEXT, &e) != 0);
    const char *hdr = "x y\n";
    CHECK(b4k_w2v_load_mem(&m, hdr, strlen(hdr), "h.txt", B4K_W2V_FMT_AUTO, &e) != 0);
    CHECK_EQ_INT(e.line, 1);
    /* binary truncated inside the second vector */
    char bin[64];
    float v[2] = {1.5f, -2.0f};
    size_t n = 0;
    memcpy(bin, "2 2\nab ", 7);
    n = 7;
    memcpy(bin + n, v, 8);
    n += 8;
    memcpy(bin + n, "\ncd ", 4);
    n += 4;
    memcpy(bin + n, v, 5);
    n += 5;
    CHECK(b4k_w2v_load_mem(&m, bin, n, "b.bin", B4K_W2V_FMT_BIN, &e) != 0);
    CHECK_EQ_INT(e.line, 3);
    CHECK(m == NULL);
}

TEST(nearest_analogy_brute_force)
{
    b4k_rng r;
    b4k_rng_seed(&r, 11, 0);
    b4k_w2v_vocab *v = b4k_w2v_vocab_new();
    char w[16];
    int V = 60, D = 9;
    for (int i = 0; i < V; i++) {
        int n = snprintf(w, sizeof w, "W%d", i);
        b4k_w2v_vocab_add(v, w, (size_t)n, 100 - i);
    }
    b4k_w2v *m;
    b4k_err e;
    CHECK_EQ_INT(b4k_w2v_new(&m, v, D, &e), 0);
    for (int i = 0; i < V * D; i++)
        m->in[i] = b4k_rng_float(&r) * 2 - 1;
    b4k_w2v_index *ix;
    CHECK_EQ_INT(b4k_w2v_index_new(&ix, m, 50, 1, &e), 0);
    CHECK_EQ_INT(b4k_w2v_index_find(ix, "w3", 2), 3); /* folded */
    CHECK_EQ_INT(b4k_w2v_index_find(ix, "W55", 3), -1); /* outside --restrict */
    double U[60][9];
    for (int i = 0; i < V; i++) {
        double s = 0;
        for (int k = 0; k < D; k++)
            s += (double)m->in[i * D + k] * m->in[i * D + k];
        for (int k = 0; k < D; k++)
            U[i][k] = m->in[i * D + k] / sqrt(s);
    }
    for (int method = 0; method < 2; method++)
        for (int qi = 0; qi < 20; qi++) {
            int a = (int)b4k_rng_below(&r, 50), b = (int)b4k_rng_below(&r, 50),
                c = (int)b4k_rng_below(&r, 50);
            int nearest = method == 0 && qi % 2;
            int64_t ids[5];
            float sc[5];
            b4k_w2v_query q = {nearest ? -1 : a, b, nearest ? -1 : c, 5, ids, sc, 0};
            CHECK_EQ_INT(b4k_w2v_answer(ix, &q, 1, method, &e), 0);
            CHECK_EQ_INT(q.found, 5);
            /* brute force */
            double best[50];
            double qv[9], qn = 0;
            for (int k = 0; k < D; k++) {
                qv[k] = nearest ? U[b][k] : U[b][k] - U[a][k] + U[c][k];
                qn += qv[k] * qv[k];
            }
            for (int j = 0; j < 50; j++) {
                double cb = 0, ca = 0, cc = 0, cq = 0;
                for (int k = 0; k < D; k++) {
                    cq += qv[k] * U[j][k];
                    ca += U[a][k] * U[j][k];
                    cb += U[b][k] * U[j][k];
                    cc += U[c][k] * U[j][k];
                }
                best[j] = method == 1 ? ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 1e-3)
                                      : cq / sqrt(qn);
                if (j == b || (!nearest && (j == a || j == c)))
                    best[j] = -1e9;
            }
            for (int t = 0; t < 5; t++) {
                int bi = 0;
                for (int j = 1; j < 50; j++)
                    if (best[j] > best[bi])
                        bi = j;
                CHECK_NEAR(sc[t], best[bi], 2e-5);
                if (fabs(sc[t] - best[bi]) < 1e-6)
                    CHECK_EQ_INT(ids[t], bi);
                best[bi] = -1e9;
            }
        }
    b4k_w2v_index_free(ix);
    b4k_w2v_free(m);
}

TEST(spearman)
{
    double x[5] = {1, 2, 3, 4, 5}, y[5] = {5, 6, 7, 8, 7}, z[5] = {5, 4, 3, 2, 1};
    CHECK_NEAR(b4k_w2v_spearman(x, z, 5), -1.0, 1e-12);
    /* ranks of y with ties: 1 2 3.5 5 3.5 -> rho = 0.8207826817 (scipy) */
    CHECK_NEAR(b4k_w2v_spearman(x, y, 5), 0.8207826816681233, 1e-9);
    CHECK(isnan(b4k_w2v_spearman(x, x, 1)));
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/b4k-w2v-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: test_w2v.c: mkdtemp\n");
        return 1;
    }
    RUN(vocab_order_and_limits);
    RUN(scan_text_jsonl_chars);
    RUN(scan_join_pieces);
    RUN(parallel_first_pass);
    RUN(train_deterministic);
    RUN(train_learns_topics);
    RUN(checkpoint_resume_bit_exact);
    RUN(chunks_cover_the_work);
    RUN(round_trips);
    RUN(reader_errors);
    RUN(nearest_analogy_brute_force);
    RUN(spearman);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
    }
    return t_done();
}
