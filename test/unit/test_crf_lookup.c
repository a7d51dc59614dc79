/* lib/crf/lookup.c against its _ref twin: attribute ids hashed from the
 * template's parts and looked up in stages equal those of built strings
 * looked up one by one, and the block-wise emission scores equal the plain
 * attrs + emit sums bit for bit -- on random corpora whose tokens look like
 * the boundary strings and hold the template's separators, for in-memory,
 * loaded and tag-loaded (f32 weights, huge-page read) models.  Also: a model
 * written before the dictionary hash changed (FNV-1a tables) is rebuilt on
 * loading and finds every attribute. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "crf/data.h"
#include "crf/model.h"
#include "crf/train.h"
#include "t.h"

static const char tpl_txt[] = "U00:%x[-3,0]\nU01:%x[-1,0]\nU02:%x[0,0]\nU03:%x[4,0]\n"
                              "U04:%x[-1,0]|%x[0,0]\nU05:%x[0,1]/%x[1,1]/%x[2,2]\n"
                              "U06:bias\nU07:%x[0,2]%x[-12,1]x\nU08:%x[1,0]|\nB\n";

static const char *const pieces[] = { "a", "b", "|", "/", "_B", "-1", "+2", "x", "é", "U0" };

static void rand_word(b4k_rng *r, char *w)
{
    int n = 1 + (int)b4k_rng_below(r, 3);
    w[0] = 0;
    for (int i = 0; i < n; i++)
        strcat(w, pieces[b4k_rng_below(r, sizeof pieces / sizeof *pieces)]);
}

/* conll text of nseq random sequences over 3 columns, labels A/B/C */
static char *rand_corpus(b4k_rng *r, int nseq, int labelled)
{
    b4k_buf b;
    b4k_buf_init(&b);
    for (int s = 0; s < nseq; s++) {
        int T = 1 + (int)b4k_rng_below(r, 30);
        for (int t = 0; t < T; t++) {
            char w[64];
            for (int c = 0; c < 3; c++) {
                rand_word(r, w);
                b4k_buf_printf(&b, "%s%s", c ? " " : "", w);
            }
            if (labelled)
                b4k_buf_printf(&b, " %c", "ABC"[b4k_rng_below(r, 3)]);
            b4k_buf_putc(&b, '\n');
        }
        b4k_buf_putc(&b, '\n');
    }
    return b.data;
}

static void build(b4k_crf_model *m, b4k_rng *r)
{
    b4k_err err;
    b4k_crf_model_init(m);
    b4k_crf_corpus c;
    b4k_crf_corpus_init(&c);
    CHECK_EQ_INT(b4k_crf_tpl_parse(&m->tpl, tpl_txt, sizeof tpl_txt - 1, "tpl", &err), 0);
    char *txt = rand_corpus(r, 150, 1);
    b4k_crf_reader *rd;
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&rd, txt, strlen(txt), "train", B4K_CRF_CONLL, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    b4k_crf_seq seq;
    b4k_crf_seq_init(&seq);
    b4k_buf sc;
    b4k_buf_init(&sc);
    while (b4k_crf_reader_next(rd, &seq, &err) == 1) {
        m->ncol = seq.ncol;
        CHECK_EQ_INT(b4k_crf_corpus_add(&c, m, &seq, 1, "train", &sc, &err), 0);
    }
    CHECK_EQ_INT(b4k_crf_features(m, &c, NULL, 1, 0, &err), 0);
    for (size_t i = 0; i < m->nx; i++) /* exact in f32, so tag loading sums the same */
        m->x[i] = (float)(b4k_rng_double(r) * 4 - 2);
    b4k_buf_free(&sc);
    b4k_crf_seq_free(&seq);
    b4k_crf_reader_close(rd);
    b4k_crf_corpus_free(&c);
    free(txt);
}

/* tag-side checks of model m on random text; returns the number of
 * attributes found (to see that the test exercises hits) */
static size_t check_model(const b4k_crf_model *m, b4k_rng *r, const char *what)
{
    b4k_err err;
    char *txt = rand_corpus(r, 60, 0);
    b4k_crf_reader *rd;
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&rd, txt, strlen(txt), "tag", B4K_CRF_CONLL, 3,
                                         B4K_CRF_LAB_AUTO, &err), 0);
    b4k_crf_seq seq;
    b4k_crf_seq_init(&seq);
    b4k_buf sc;
    b4k_buf_init(&sc);
    int32_t *a1 = NULL, *a2 = NULL;
    size_t c1 = 0, c2 = 0, found = 0;
    int bad = 0;
    while (b4k_crf_reader_next(rd, &seq, &err) == 1) {
        size_t T = seq.T, L = (size_t)m->L;
        size_t *o1 = malloc((T + 1) * sizeof(size_t)), *o2 = malloc((T + 1) * sizeof(size_t));
        double *e1 = malloc(T * L * sizeof(double)), *e2 = malloc(T * L * sizeof(double));
        CHECK_EQ_INT(b4k_crf_model_attrs(m, &seq, &sc, &a1, &c1, o1), 0);
        CHECK_EQ_INT(b4k_crf_model_attrs_ref(m, &seq, &sc, &a2, &c2, o2), 0);
        if (memcmp(o1, o2, (T + 1) * sizeof(size_t)) || memcmp(a1, a2, o1[T] * sizeof(int32_t)))
            bad++;
        found += o2[T];
        b4k_crf_model_emit(m, a2, o2, T, e2);
        CHECK_EQ_INT(b4k_crf_model_scores(m, &seq, &sc, e1), 0);
        if (memcmp(e1, e2, T * L * sizeof(double)))
            bad++;
        free(o1);
        free(o2);
        free(e1);
        free(e2);
    }
    if (bad)
        printf("  %s: %d sequences differ\n", what, bad);
    CHECK_EQ_INT(bad, 0);
    free(a1);
    free(a2);
    b4k_buf_free(&sc);
    b4k_crf_seq_free(&seq);
    b4k_crf_reader_close(rd);
    free(txt);
    return found;
}

TEST(lookup_matches_ref)
{
    b4k_rng r;
    b4k_rng_seed(&r, 11, 0);
    for (int rep = 0; rep < 3; rep++) {
        b4k_crf_model m, m2, m3;
        b4k_err err;
        build(&m, &r);
        CHECK(check_model(&m, &r, "in memory") > 1000);
        uint8_t *buf;
        size_t n;
        CHECK_EQ_INT(b4k_crf_model_save_mem(&m, &buf, &n, &err), 0);
        CHECK_EQ_INT(b4k_crf_model_load_mem(&m2, buf, n, "mem", &err), 0);
        CHECK_EQ_INT(m2.attrs.own_slots, 0); /* stored table used in place */
        check_model(&m2, &r, "loaded");
        char path[] = "/tmp/b4k-test-lookup.XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK_EQ_INT(write(fd, buf, n), (long long)n);
        close(fd);
        CHECK_EQ_INT(b4k_crf_model_load_ex(&m3, path, B4K_CRF_LOAD_TAG, &err), 0);
        CHECK(m3.x == NULL && m3.wf != NULL);
        check_model(&m3, &r, "tag-loaded");
        /* the same emissions from the f32 weights as from the doubles */
        b4k_crf_reader *rd;
        char *txt = rand_corpus(&r, 5, 0);
        CHECK_EQ_INT(b4k_crf_reader_open_mem(&rd, txt, strlen(txt), "t", B4K_CRF_CONLL, 3,
                                             B4K_CRF_LAB_AUTO, &err), 0);
        b4k_crf_seq seq;
        b4k_crf_seq_init(&seq);
        b4k_buf sc;
        b4k_buf_init(&sc);
        while (b4k_crf_reader_next(rd, &seq, &err) == 1) {
            double *e1 = malloc(seq.T * m.L * sizeof(double)), *e2 = malloc(seq.T * m.L * sizeof(double));
            CHECK_EQ_INT(b4k_crf_model_scores(&m, &seq, &sc, e1), 0);
            CHECK_EQ_INT(b4k_crf_model_scores(&m3, &seq, &sc, e2), 0);
            CHECK(memcmp(e1, e2, seq.T * m.L * sizeof(double)) == 0);
            free(e1);
            free(e2);
        }
        b4k_buf_free(&sc);
        b4k_crf_seq_free(&seq);
        b4k_crf_reader_close(rd);
        free(txt);
        unlink(path);
        b4k_free(buf);
        b4k_crf_model_free(&m);
        b4k_crf_model_free(&m2);
        b4k_crf_model_free(&m3);
    }
}

TEST(old_hash_rebuilt)
{
    /* written before the dictionary hash became poly64 (no "dict_hash") */
    const char *top = getenv("TOP");
    if (!top) {
        printf("SKIP: old_hash_rebuilt: TOP not set\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/test/fuzz/corpus/crf_model/tiny.b4k", top);
    b4k_crf_model m;
    b4k_err err;
    CHECK_EQ_INT(b4k_crf_model_load(&m, path, &err), 0);
    CHECK_EQ_INT(m.attrs.own_slots, 1);
    CHECK(m.attrs.n > 0);
    for (size_t a = 0; a < m.attrs.n; a++)
        CHECK_EQ_INT(b4k_crf_dict_find(&m.attrs, b4k_crf_dict_str(&m.attrs, (int32_t)a),
                                       b4k_crf_dict_len(&m.attrs, (int32_t)a)),
                     (long long)a);
    for (int j = 0; j < m.L; j++)
        CHECK_EQ_INT(b4k_crf_model_label(&m, b4k_crf_model_label_str(&m, j),
                                         strlen(b4k_crf_model_label_str(&m, j))),
                     j);
    b4k_crf_model_free(&m);
}

TEST(decoys_in_first_slot)
{
    /* the first slot of each query holds another string of the same length
     * (differing in a literal, a cell or a boundary string); the query sits
     * in the next slot: the staged lookup must compare and probe on */
    static const char tpl[] = "U00:%x[0,0]\nU01:%x[0,0]\nU02:%x[-1,0]\nU03:%x[1,0]|%x[0,0]\n";
    static const char *const str[] = { "U01:ab", "U00:ab", "U02:_B+1", "U02:_B-1", "U02:ac",
                                       "U02:ab", "U03:_B+1|ab", "U03:_B+1|ac", "U03:ac|ab",
                                       "U03:ab|ab" };
    /* query -> decoy (indices into str) */
    static const int pairs[][2] = { { 1, 0 }, { 3, 2 }, { 5, 4 }, { 6, 7 }, { 9, 8 } };
    enum { N = sizeof str / sizeof *str, CAP = 4096 };
    char arena[256];
    int64_t off[N + 1];
    size_t alen = 0;
    for (int i = 0; i < N; i++) {
        off[i] = (int64_t)alen;
        memcpy(arena + alen, str[i], strlen(str[i]) + 1);
        alen += strlen(str[i]) + 1;
    }
    off[N] = (int64_t)alen;
    int32_t *slots = malloc(CAP * sizeof(int32_t));
    memset(slots, 0xff, CAP * sizeof(int32_t));
    int placed[N] = { 0 };
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        int q = pairs[k][0], d = pairs[k][1];
        size_t h = b4k_crf_hash(str[q], strlen(str[q])) & (CAP - 1);
        CHECK(slots[h] < 0 && slots[(h + 1) & (CAP - 1)] < 0); /* no clash between pairs */
        slots[h] = d;
        slots[(h + 1) & (CAP - 1)] = q;
        placed[q] = 1;
    }
    for (int i = 0; i < N; i++) /* the rest where a table would have them */
        if (!placed[i]) {
            size_t h = b4k_crf_hash(str[i], strlen(str[i])) & (CAP - 1);
            while (slots[h] >= 0)
                h = (h + 1) & (CAP - 1);
            slots[h] = i;
        }
    b4k_crf_model m;
    b4k_err err;
    b4k_crf_model_init(&m);
    CHECK_EQ_INT(b4k_crf_tpl_parse(&m.tpl, tpl, sizeof tpl - 1, "tpl", &err), 0);
    CHECK_EQ_INT(b4k_crf_dict_borrow(&m.attrs, arena, alen, off, N, slots, CAP, 0), 0);
    int64_t foff[N + 1] = { 0 };
    m.foff = foff;
    m.ncol = 1;
    m.L = 1;
    static const char txt[] = "ab\nac\nab\n\nab\n\nac\nab\n";
    b4k_crf_reader *rd;
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&rd, txt, sizeof txt - 1, "t", B4K_CRF_CONLL, 1,
                                         B4K_CRF_LAB_AUTO, &err), 0);
    b4k_crf_seq seq;
    b4k_crf_seq_init(&seq);
    b4k_buf sc;
    b4k_buf_init(&sc);
    int32_t *a1 = NULL, *a2 = NULL;
    size_t c1 = 0, c2 = 0, o1[8], o2[8], found = 0;
    while (b4k_crf_reader_next(rd, &seq, &err) == 1) {
        CHECK_EQ_INT(b4k_crf_model_attrs(&m, &seq, &sc, &a1, &c1, o1), 0);
        CHECK_EQ_INT(b4k_crf_model_attrs_ref(&m, &seq, &sc, &a2, &c2, o2), 0);
        CHECK(memcmp(o1, o2, (seq.T + 1) * sizeof(size_t)) == 0);
        CHECK(memcmp(a1, a2, o2[seq.T] * sizeof(int32_t)) == 0);
        found += o2[seq.T];
    }
    CHECK_EQ_INT(found, 18);
    free(a1);
    free(a2);
    free(slots);
    b4k_buf_free(&sc);
    b4k_crf_seq_free(&seq);
    b4k_crf_reader_close(rd);
    m.foff = NULL;
    b4k_crf_model_free(&m);
}

int main(void)
{
    RUN(lookup_matches_ref);
    RUN(decoys_in_first_slot);
    RUN(old_hash_rebuilt);
    return t_done();
}
