/* SentencePiece: hand-built models (protobuf written here) with results
 * worked out by hand, the golden models of test/golden/spm/ against
 * python3-sentencepiece's output (cases.jsonl, from test/ref/spm_golden.py),
 * n-best, sampling, decode round trips and malformed models. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rng.h"
#include "io/jsonl.h"
#include "t.h"
#include "tok/spm.h"

/* ---- a tiny protobuf writer ---------------------------------------------- */

static void pb_varint(b4k_buf *b, uint64_t v)
{
    do {
        b4k_buf_putc(b, (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}
static void pb_key(b4k_buf *b, int f, int w) { pb_varint(b, (uint64_t)(f << 3 | w)); }
static void pb_bytes(b4k_buf *b, int f, const void *p, size_t n)
{
    pb_key(b, f, 2);
    pb_varint(b, n);
    b4k_buf_append(b, p, n);
}
static void pb_int(b4k_buf *b, int f, int64_t v)
{
    pb_key(b, f, 0);
    pb_varint(b, (uint64_t)v);
}

typedef struct piece {
    const char *s;
    float score;
    int type;
} piece;

/* model with pieces, model_type, byte_fallback, normalizer flags (no
 * charsmap: identity); spec = trainer_spec unk/bos/eos/pad ids (fields
 * 40-43, NULL: only pad_id -1), name = normalizer_spec.name */
static void make_model_ex(b4k_buf *out, const piece *p, int n, int type, int bf, int dummy,
                          int extra_ws, const int64_t *spec, const char *name)
{
    b4k_buf_init(out);
    for (int i = 0; i < n; i++) {
        b4k_buf sp;
        b4k_buf_init(&sp);
        pb_bytes(&sp, 1, p[i].s, strlen(p[i].s));
        uint32_t u;
        memcpy(&u, &p[i].score, 4);
        pb_key(&sp, 2, 5);
        b4k_buf_append(&sp, &u, 4);
        if (p[i].type != B4K_SPM_NORMAL) pb_int(&sp, 3, p[i].type);
        pb_bytes(out, 1, sp.data, sp.len);
        b4k_buf_free(&sp);
    }
    b4k_buf ts, ns;
    b4k_buf_init(&ts);
    b4k_buf_init(&ns);
    pb_int(&ts, 3, type);
    pb_int(&ts, 35, bf);
    if (spec)
        for (int k = 0; k < 4; k++) pb_int(&ts, 40 + k, spec[k]);
    else
        pb_int(&ts, 43, -1); /* pad_id -1: a 10-byte varint */
    pb_bytes(out, 2, ts.data, ts.len);
    pb_bytes(&ns, 1, name, strlen(name));
    pb_int(&ns, 3, dummy);
    pb_int(&ns, 4, extra_ws);
    pb_bytes(out, 3, ns.data, ns.len);
    b4k_buf_free(&ts);
    b4k_buf_free(&ns);
}

static void make_model(b4k_buf *out, const piece *p, int n, int type, int bf, int dummy,
                       int extra_ws)
{
    make_model_ex(out, p, n, type, bf, dummy, extra_ws, NULL, "identity");
}

static b4k_spm *load_buf(const b4k_buf *b)
{
    b4k_spm *m = NULL;
    b4k_err err = {0};
    if (b4k_spm_load_mem(&m, b->data, b->len, "test", &err)) printf("  load: %s\n", err.msg);
    return m;
}

/* encode and render ids as "1 2 3" */
static const char *enc(b4k_spm *m, const char *text)
{
    static char out[4096];
    b4k_spm_state *st = b4k_spm_state_new();
    b4k_spm_tokens t;
    b4k_err err = {0};
    b4k_spm_tokens_init(&t);
    out[0] = 0;
    if (b4k_spm_encode(m, st, text, strlen(text), &t, &err)) {
        snprintf(out, sizeof out, "error: %s", err.msg);
    } else {
        size_t k = 0;
        for (size_t i = 0; i < t.n && k < sizeof out - 16; i++)
            k += (size_t)snprintf(out + k, sizeof out - k, i ? " %d" : "%d", (int)t.id[i]);
    }
    b4k_spm_tokens_free(&t);
    b4k_spm_state_free(st);
    return out;
}

static const char *dec(b4k_spm *m, const int32_t *ids, size_t n)
{
    static char out[4096];
    b4k_buf b;
    b4k_err err = {0};
    b4k_buf_init(&b);
    if (b4k_spm_decode(m, ids, n, &b, &err)) snprintf(out, sizeof out, "error: %s", err.msg);
    else snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    b4k_buf_free(&b);
    return out;
}

/* 0 <unk> 1 <s> 2 </s> 3 ▁ 4 a 5 b 6 c 7 ab 8 ▁ab 9 bc 10 abc */
static const piece uni_pieces[] = {
    {"<unk>", 0, B4K_SPM_UNKNOWN}, {"<s>", 0, B4K_SPM_CONTROL}, {"</s>", 0, B4K_SPM_CONTROL},
    {"\xE2\x96\x81", -2, 1}, {"a", -3, 1}, {"b", -3, 1}, {"c", -3, 1}, {"ab", -4, 1},
    {"\xE2\x96\x81" "ab", -4.5f, 1}, {"bc", -2.5f, 1}, {"abc", -9, 1},
};

TEST(unigram_viterbi_by_hand)
{
    b4k_buf b;
    make_model(&b, uni_pieces, 11, B4K_SPM_UNIGRAM, 0, 1, 1);
    b4k_spm *m = load_buf(&b);
    CHECK(m);
    if (!m) return;
    CHECK_EQ_INT(b4k_spm_model_type(m), B4K_SPM_UNIGRAM);
    CHECK_EQ_INT(b4k_spm_size(m), 11);
    CHECK_EQ_INT(b4k_spm_pad_id(m), -1);
    CHECK_EQ_INT(b4k_spm_bos_id(m), 1);
    /* "▁abc": ▁+a+bc = -2-3-2.5 = -7.5 ties ▁ab+c = -4.5-3; the end node
     * keeps the first candidate (bc, from the earlier start) as the
     * reference's strict '>' does; ▁+ab+c = -9, ▁+abc = -11 */
    CHECK_EQ_STR(enc(m, "abc"), "3 4 9");
    /* unknown characters: one <unk> per run (merged), penalty min-10 */
    CHECK_EQ_STR(enc(m, "xyz"), "3 0");
    CHECK_EQ_STR(enc(m, "ax"), "3 4 0");
    /* spaces: leading/trailing dropped, runs squeezed, dummy prefix */
    CHECK_EQ_STR(enc(m, "  a   b "), "3 4 3 5");
    CHECK_EQ_STR(enc(m, ""), "");
    CHECK_EQ_STR(enc(m, "   "), "");
    int32_t ids[] = {3, 4, 3, 5, 0, 1, 9};
    CHECK_EQ_STR(dec(m, ids, 7), "a b \xE2\x81\x87 bc");
    int32_t bad[] = {3, 11};
    CHECK(!strncmp(dec(m, bad, 2), "error", 5));
    b4k_spm_free(m);
    b4k_buf_free(&b);
}

TEST(unigram_options)
{
    b4k_buf b;
    make_model(&b, uni_pieces, 11, B4K_SPM_UNIGRAM, 0, 0, 0); /* no dummy prefix, keep spaces */
    b4k_spm *m = load_buf(&b);
    CHECK(m);
    if (!m) return;
    CHECK_EQ_STR(enc(m, "ab"), "7");
    CHECK_EQ_STR(enc(m, " ab"), "8");
    CHECK_EQ_STR(enc(m, "a  b"), "4 3 3 5");
    int32_t ids[] = {8};
    CHECK_EQ_STR(dec(m, ids, 1), " ab"); /* leading space kept: no dummy prefix */
    b4k_spm_free(m);
    b4k_buf_free(&b);
}

TEST(bpe_by_hand)
{
    /* merges by score: "b c" (-1) before "a b" (-2) */
    static const piece p[] = {
        {"<unk>", 0, B4K_SPM_UNKNOWN}, {"\xE2\x96\x81", -5, 1}, {"a", -6, 1}, {"b", -6, 1},
        {"c", -6, 1}, {"ab", -2, 1}, {"bc", -1, 1}, {"\xE2\x96\x81" "a", -3, 1},
        {"\xE2\x96\x81" "abc", -4, 1},
    };
    b4k_buf b;
    make_model(&b, p, 9, B4K_SPM_BPE, 0, 1, 1);
    b4k_spm *m = load_buf(&b);
    CHECK(m);
    if (!m) return;
    /* ▁ a b c: bc(-1) -> ▁ a bc; ▁a(-3) -> ▁a bc; "▁abc" (-4) -> one piece */
    CHECK_EQ_STR(enc(m, "abc"), "8");
    /* ▁ a b: ab(-2) -> ▁ ab; ▁ab not a piece -> 1 5 */
    CHECK_EQ_STR(enc(m, "ab"), "1 5");
    CHECK_EQ_STR(enc(m, "axb"), "7 0 3");
    b4k_spm_state *st = b4k_spm_state_new();
    b4k_spm_tokens t;
    b4k_spm_tokens_init(&t);
    b4k_rng r;
    b4k_rng_seed(&r, 1, 0);
    b4k_err err = {0};
    /* dropout 1: no merge at all */
    CHECK_EQ_INT(b4k_spm_sample(m, st, "abc", 3, 0, 1.0, &r, &t, &err), 0);
    CHECK_EQ_INT(t.n, 4);
    int nb;
    CHECK_EQ_INT(b4k_spm_nbest(m, st, "abc", 3, 2, &t, NULL, &nb, &err), B4K_EUNSUP);
    b4k_spm_tokens_free(&t);
    b4k_spm_state_free(st);
    b4k_spm_free(m);
    b4k_buf_free(&b);
}

TEST(byte_fallback)
{
    piece p[3 + 256 + 2];
    static char names[256][8];
    int n = 0;
    p[n++] = (piece){"<unk>", 0, B4K_SPM_UNKNOWN};
    p[n++] = (piece){"\xE2\x96\x81", -1, 1};
    p[n++] = (piece){"a", -1, 1};
    for (int i = 0; i < 256; i++) {
        snprintf(names[i], sizeof names[i], "<0x%02X>", i);
        p[n++] = (piece){names[i], 0, B4K_SPM_BYTE};
    }
    b4k_buf b;
    make_model(&b, p, n, B4K_SPM_UNIGRAM, 1, 1, 1);
    b4k_spm *m = load_buf(&b);
    CHECK(m);
    if (!m) return;
    /* "é" = C3 A9 -> <0xC3> <0xA9> = ids 3+0xC3, 3+0xA9; unknowns are not merged */
    char want[64];
    snprintf(want, sizeof want, "1 2 %d %d %d", 3 + 0xC3, 3 + 0xA9, 3 + 'z');
    CHECK_EQ_STR(enc(m, "a\xC3\xA9z"), want);
    int32_t ids[] = {1, 2, 3 + 0xC3, 3 + 0xA9, 3 + 0xFF, 2};
    CHECK_EQ_STR(dec(m, ids, 6), "a\xC3\xA9\xEF\xBF\xBD" "a");
    b4k_spm_free(m);
    /* byte pieces without byte_fallback: refused like the reference */
    b4k_buf_free(&b);
    make_model(&b, p, n, B4K_SPM_UNIGRAM, 0, 1, 1);
    b4k_spm *m2 = NULL;
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_spm_load_mem(&m2, b.data, b.len, "x", &err), B4K_EFORMAT);
    b4k_buf_free(&b);
}

TEST(malformed_models)
{
    b4k_buf b;
    make_model(&b, uni_pieces, 11, B4K_SPM_UNIGRAM, 0, 1, 1);
    b4k_err err = {0};
    b4k_spm *m = NULL;
    /* every truncation is an error (or a smaller valid model), never a crash */
    int errors = 0;
    for (size_t k = 0; k < b.len; k++) {
        int rc = b4k_spm_load_mem(&m, b.data, k, "t", &err);
        if (rc) errors++;
        b4k_spm_free(m);
        m = NULL;
    }
    CHECK(errors > (int)b.len / 2);
    /* no unk piece */
    static const piece nounk[] = {{"a", 0, 1}};
    b4k_buf c;
    make_model(&c, nounk, 1, B4K_SPM_UNIGRAM, 0, 1, 1);
    CHECK_EQ_INT(b4k_spm_load_mem(&m, c.data, c.len, "t", &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "unk") != NULL);
    b4k_buf_free(&c);
    /* duplicate piece */
    static const piece dup[] = {{"<unk>", 0, 2}, {"a", 0, 1}, {"a", 0, 1}};
    make_model(&c, dup, 3, B4K_SPM_UNIGRAM, 0, 1, 1);
    CHECK_EQ_INT(b4k_spm_load_mem(&m, c.data, c.len, "t", &err), B4K_EFORMAT);
    b4k_buf_free(&c);
    /* a group wire type */
    CHECK_EQ_INT(b4k_spm_load_mem(&m, "\x0b\x0c", 2, "t", &err), B4K_EFORMAT);
    CHECK_EQ_INT(b4k_spm_load(&m, "/nonexistent/x.model", &err), B4K_EIO);
    b4k_buf_free(&b);
}

/* trainer_spec unk/bos/eos/pad ids and the normalizer name */
TEST(trainer_spec_ids)
{
    static const piece pc[] = {{"<pad>", 0, B4K_SPM_CONTROL}, {"</s>", 0, B4K_SPM_CONTROL},
                               {"<unk>", 0, B4K_SPM_UNKNOWN}, {"a", -1, 1}, {"b", -2, 1}};
    b4k_buf b;
    b4k_err err = {0};
    b4k_spm *m = NULL;
    /* the defaults (0, 1, 2, -1) with pad -1 as a 10-byte varint */
    make_model(&b, uni_pieces, 11, B4K_SPM_UNIGRAM, 0, 1, 1);
    m = load_buf(&b);
    CHECK(m);
    if (m) {
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_UNK), 0);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_BOS), 1);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_EOS), 2);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_PAD), -1);
        CHECK_EQ_INT(b4k_spm_spec_id(m, 7), -1);
        size_t nl = 0;
        const char *nm = b4k_spm_normalizer_name(m, &nl);
        CHECK(nl == 8 && !memcmp(nm, "identity", 8));
    }
    b4k_spm_free(m);
    b4k_buf_free(&b);
    /* a T5-like layout: pad 0, eos 1, unk 2, no bos; unknown text gives 2 */
    static const int64_t t5[4] = {2, -1, 1, 0};
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, t5, "nmt_nfkc");
    m = load_buf(&b);
    CHECK(m);
    if (m) {
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_UNK), 2);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_BOS), -1);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_EOS), 1);
        CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_PAD), 0);
        CHECK_EQ_INT(b4k_spm_unk_id(m), 2);
        CHECK_EQ_INT(b4k_spm_eos_id(m), 1);
        CHECK_EQ_INT(b4k_spm_pad_id(m), 0);
        CHECK_EQ_STR(enc(m, "axb"), "3 2 4");
        size_t nl = 0;
        const char *nm = b4k_spm_normalizer_name(m, &nl);
        CHECK(nl == 8 && !memcmp(nm, "nmt_nfkc", 8));
    }
    b4k_spm_free(m);
    m = NULL;
    b4k_buf_free(&b);
    /* unk_id that is not the UNKNOWN piece: a damaged model */
    static const int64_t badunk[4] = {0, -1, 1, 0};
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, badunk, "");
    CHECK_EQ_INT(b4k_spm_load_mem(&m, b.data, b.len, "t", &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "trainer_spec.unk_id is 0 but the unknown piece is 2") != NULL);
    b4k_buf_free(&b);
    /* unk_id past the end, and the default unk_id 0 for a model whose
     * unknown piece is elsewhere */
    static const int64_t far[4] = {99, -1, 1, 0};
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, far, "");
    CHECK_EQ_INT(b4k_spm_load_mem(&m, b.data, b.len, "t", &err), B4K_EFORMAT);
    b4k_buf_free(&b);
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, NULL, "");
    CHECK_EQ_INT(b4k_spm_load_mem(&m, b.data, b.len, "t", &err), B4K_EFORMAT);
    b4k_buf_free(&b);
    /* eos_id past the last piece; an id outside int32 */
    static const int64_t badeos[4] = {2, -1, 5, 0};
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, badeos, "");
    CHECK_EQ_INT(b4k_spm_load_mem(&m, b.data, b.len, "t", &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "trainer_spec.eos_id 5 is past the last piece") != NULL);
    b4k_buf_free(&b);
    static const int64_t huge[4] = {2, (int64_t)1 << 40, 1, 0};
    make_model_ex(&b, pc, 5, B4K_SPM_UNIGRAM, 0, 0, 1, huge, "");
    CHECK_EQ_INT(b4k_spm_load_mem(&m, b.data, b.len, "t", &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "bos_id") != NULL);
    b4k_buf_free(&b);
    CHECK(m == NULL);
}

/* The CPM model (../shared/data) declares unigram, ids 0/1/2/-1, nmt_nfkc. */
TEST(cpm_model_spec)
{
    const char *d = getenv("DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab/cpm/chinese_vocab.model", d);
    b4k_spm *m = NULL;
    b4k_err err = {0};
    if (b4k_spm_load(&m, path, &err)) {
        printf("  %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(b4k_spm_model_type(m), B4K_SPM_UNIGRAM);
    CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_UNK), 0);
    CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_BOS), 1);
    CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_EOS), 2);
    CHECK_EQ_INT(b4k_spm_spec_id(m, B4K_SPM_SPEC_PAD), -1);
    size_t nl = 0;
    const char *nm = b4k_spm_normalizer_name(m, &nl);
    CHECK(nl == 8 && !memcmp(nm, "nmt_nfkc", 8));
    b4k_spm_free(m);
}

static const char *top(void)
{
    const char *t = getenv("TOP");
    return t && *t ? t : ".";
}

static void ids_str(const json_t *arr, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < json_array_size(arr) && k < cap - 16; i++)
        k += (size_t)snprintf(out + k, cap - k, i ? " %lld" : "%lld",
                              (long long)json_integer_value(json_array_get(arr, i)));
}

TEST(golden_models_vs_sentencepiece)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/test/golden/spm/cases.jsonl", top());
    FILE *f = fopen(path, "r");
    CHECK(f);
    if (!f) return;
    char line[1 << 16], cur[256] = "", want[8192];
    b4k_spm *m = NULL;
    b4k_spm_state *st = b4k_spm_state_new();
    b4k_spm_tokens outs[3];
    for (int i = 0; i < 3; i++) b4k_spm_tokens_init(&outs[i]);
    int cases = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *o = NULL;
        b4k_err err = {0};
        if (b4k_jsonl_parse(&o, line, strlen(line), path, 0, &err)) {
            bad++;
            continue;
        }
        const char *model = json_string_value(json_object_get(o, "model"));
        const char *text = json_string_value(json_object_get(o, "text"));
        size_t tl = json_string_length(json_object_get(o, "text"));
        if (strcmp(model, cur)) {
            b4k_spm_free(m);
            m = NULL;
            snprintf(cur, sizeof cur, "%s", model);
            snprintf(path, sizeof path, "%s/test/golden/spm/%s", top(), model);
            if (b4k_spm_load(&m, path, &err)) printf("  %s: %s\n", path, err.msg);
        }
        if (!m) {
            bad++;
            json_decref(o);
            continue;
        }
        ids_str(json_object_get(o, "ids"), want, sizeof want);
        char text0[8192];
        snprintf(text0, sizeof text0, "%.*s", (int)tl, text);
        const char *got = enc(m, text0);
        cases++;
        if (strcmp(got, want)) {
            bad++;
            printf("  %s %s: got %s want %s\n", model, text0, got, want);
        }
        /* decode of those ids */
        const json_t *arr = json_object_get(o, "ids");
        int32_t ids[4096];
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n && i < 4096; i++) ids[i] = (int32_t)json_integer_value(json_array_get(arr, i));
        const char *d = dec(m, ids, n);
        if (strcmp(d, json_string_value(json_object_get(o, "decoded")))) {
            bad++;
            printf("  %s decode %s: got '%s'\n", model, text0, d);
        }
        /* n-best (unigram) */
        const json_t *nb = json_object_get(o, "nbest");
        if (nb) {
            int got_n = 0;
            float sc[3];
            for (int i = 0; i < 3; i++) outs[i].n = 0;
            if (b4k_spm_nbest(m, st, text, tl, 3, outs, sc, &got_n, &err)) {
                bad++;
            } else if ((size_t)got_n != json_array_size(nb)) {
                bad++;
                printf("  %s nbest %s: %d paths, want %zu\n", model, text0, got_n, json_array_size(nb));
            } else {
                for (int k = 0; k < got_n; k++) {
                    char g[8192];
                    size_t q = 0;
                    g[0] = 0;
                    for (size_t i = 0; i < outs[k].n; i++)
                        q += (size_t)snprintf(g + q, sizeof g - q, i ? " %d" : "%d", (int)outs[k].id[i]);
                    ids_str(json_array_get(nb, (size_t)k), want, sizeof want);
                    if (strcmp(g, want)) {
                        bad++;
                        printf("  %s nbest[%d] %s: got %s want %s\n", model, k, text0, g, want);
                    }
                }
            }
        }
        json_decref(o);
    }
    fclose(f);
    CHECK(cases >= 100);
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 3; i++) b4k_spm_tokens_free(&outs[i]);
    b4k_spm_state_free(st);
    b4k_spm_free(m);
}

TEST(sampling_is_seeded_and_valid)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/test/golden/spm/uni_bf0_dp1.model", top());
    b4k_spm *m = NULL;
    b4k_err err = {0};
    CHECK_EQ_INT(b4k_spm_load(&m, path, &err), 0);
    if (!m) return;
    const char *text = "《红楼梦》第一回 甄士隐梦幻识通灵 贾雨村风尘怀闺秀";
    size_t n = strlen(text);
    b4k_spm_state *st = b4k_spm_state_new();
    b4k_spm_tokens a, b;
    b4k_spm_tokens_init(&a);
    b4k_spm_tokens_init(&b);
    b4k_buf da, ref;
    b4k_buf_init(&da);
    b4k_buf_init(&ref);
    CHECK_EQ_INT(b4k_spm_encode(m, st, text, n, &a, &err), 0);
    b4k_spm_decode(m, a.id, a.n, &ref, &err);
    int distinct = 0;
    for (int nb = 0; nb <= 5; nb += 5) {
        for (uint64_t seed = 0; seed < 20; seed++) {
            b4k_rng r1, r2;
            b4k_rng_seed(&r1, seed, 0);
            b4k_rng_seed(&r2, seed, 0);
            a.n = b.n = 0;
            CHECK_EQ_INT(b4k_spm_sample(m, st, text, n, nb, 0.2, &r1, &a, &err), 0);
            CHECK_EQ_INT(b4k_spm_sample(m, st, text, n, nb, 0.2, &r2, &b, &err), 0);
            CHECK(a.n == b.n && !memcmp(a.id, b.id, a.n * sizeof *a.id));
            da.len = 0;
            b4k_spm_decode(m, a.id, a.n, &da, &err);
            CHECK(da.len == ref.len && !memcmp(da.data, ref.data, da.len));
            /* offsets cover the text in order */
            for (size_t i = 1; i < a.n; i++) CHECK(a.beg[i] >= a.beg[i - 1]);
            static int32_t first[256];
            static size_t first_n;
            if (seed == 0) {
                first_n = a.n < 256 ? a.n : 256;
                memcpy(first, a.id, first_n * sizeof *first);
            } else if (a.n != first_n || memcmp(a.id, first, first_n * sizeof *first)) {
                distinct++;
            }
        }
    }
    CHECK(distinct > 5); /* sampling does sample */
    b4k_buf_free(&da);
    b4k_buf_free(&ref);
    b4k_spm_tokens_free(&a);
    b4k_spm_tokens_free(&b);
    b4k_spm_state_free(st);
    b4k_spm_free(m);
}

int main(void)
{
    RUN(unigram_viterbi_by_hand);
    RUN(unigram_options);
    RUN(bpe_by_hand);
    RUN(byte_fallback);
    RUN(malformed_models);
    RUN(trainer_spec_ids);
    if (getenv("DATA") && *getenv("DATA")) RUN(cpm_model_spec);
    else t_skip("test_spm.c:cpm_model_spec", "no ../shared/data ($DATA)");
    RUN(golden_models_vs_sentencepiece);
    RUN(sampling_is_seeded_and_valid);
    return t_done();
}
