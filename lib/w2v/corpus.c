/* Corpus scanning: lines -> tokens -> callback. */
#include "w2v/corpus.h"

#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/stream.h"

int b4k_w2v_is_cjk(uint32_t cp)
{
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

typedef struct scan {
    const b4k_w2v_scan_opts *o;
    b4k_w2v_token_fn fn;
    void *ctx;
    b4k_w2v_scan_stats *st;
    size_t max_token;
    int ntok; /* tokens in the current sentence */
    b4k_buf word; /* pieces mode: the word being joined */
} scan;

static int emit(scan *s, const char *t, size_t n)
{
    if (n > s->max_token) {
        n = s->max_token;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--;
        if (n == 0)
            n = s->max_token;
        s->st->truncated++;
    }
    s->st->tokens++;
    s->ntok++;
    return s->fn(s->ctx, t, n);
}

/* One whitespace-free piece: split CJK characters off in chars mode. */
static int piece(scan *s, const char *t, size_t n)
{
    if (!s->o->chars)
        return emit(s, t, n);
    size_t run = 0, i = 0;
    int rc;
    while (i < n) {
        unsigned char c = (unsigned char)t[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int k = b4k_utf8_decode((const unsigned char *)t + i, n - i, &cp);
        if (k < 0) {
            i++;
            continue;
        }
        if (cp == 0x3000 || b4k_w2v_is_cjk(cp)) {
            if (i > run && (rc = emit(s, t + run, i - run)))
                return rc;
            if (cp != 0x3000 && (rc = emit(s, t + i, (size_t)k)))
                return rc;
            run = i + (size_t)k;
        }
        i += (size_t)k;
    }
    if (n > run)
        return emit(s, t + run, n - run);
    return 0;
}

/* pieces mode: a piece starting with U+2581 ends the word before it */
static int flush_word(scan *s)
{
    if (!s->word.len)
        return 0;
    /* CPM's space and newline marks (U+2582, U+2583) alone are not words */
    const char *w = s->word.data;
    size_t i = 0;
    while (i + 3 <= s->word.len && !memcmp(w + i, "\xE2\x96", 2) &&
           (w[i + 2] == '\x82' || w[i + 2] == '\x83'))
        i += 3;
    int rc = i == s->word.len ? 0 : piece(s, w, s->word.len);
    b4k_buf_reset(&s->word);
    return rc;
}

static int token(scan *s, const char *t, size_t n)
{
    if (!s->o->pieces)
        return piece(s, t, n);
    int rc;
    if (n >= 3 && !memcmp(t, "\xE2\x96\x81", 3)) {
        if ((rc = flush_word(s)))
            return rc;
        t += 3;
        n -= 3;
    }
    if (n && b4k_buf_append(&s->word, t, n))
        return B4K_ENOMEM;
    return 0;
}

static int end_sentence(scan *s)
{
    int rc;
    if (s->o->pieces && (rc = flush_word(s)))
        return rc;
    if (!s->ntok)
        return 0;
    s->ntok = 0;
    return s->fn(s->ctx, NULL, 0);
}

static int text_line(scan *s, const char *p, size_t n)
{
    size_t i = 0;
    int rc;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\v' ||
                         p[i] == '\f' || p[i] == 0))
            i++;
        size_t b = i;
        while (i < n && !(p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\v' ||
                          p[i] == '\f' || p[i] == 0))
            i++;
        if (i > b && (rc = token(s, p + b, i - b)))
            return rc;
    }
    return end_sentence(s);
}

static int json_line(scan *s, const char *p, size_t n, const char *file, long line, b4k_err *err)
{
    json_t *v = NULL;
    int rc = b4k_jsonl_parse_object(&v, p, n, file, line, err);
    if (rc)
        return rc;
    json_t *toks = json_object_get(v, "tokens");
    if (!toks || !json_is_array(toks)) {
        json_decref(v);
        return b4k_err_set(err, B4K_EFORMAT, file, line, "expected a \"tokens\" array");
    }
    size_t i;
    json_t *t;
    json_array_foreach(toks, i, t)
    {
        if (!json_is_string(t)) {
            json_decref(v);
            return b4k_err_set(err, B4K_EFORMAT, file, line, "\"tokens\"[%zu] is not a string", i);
        }
        const char *str = json_string_value(t);
        size_t len = json_string_length(t);
        /* a token with inner whitespace is split like text */
        size_t a = 0;
        while (a < len) {
            while (a < len && (str[a] == ' ' || str[a] == '\t' || str[a] == '\n' ||
                               str[a] == '\r' || str[a] == 0))
                a++;
            size_t b = a;
            while (a < len && !(str[a] == ' ' || str[a] == '\t' || str[a] == '\n' ||
                                str[a] == '\r' || str[a] == 0))
                a++;
            if (a > b && (rc = token(s, str + b, a - b))) {
                json_decref(v);
                return rc;
            }
        }
    }
    json_decref(v);
    return end_sentence(s);
}

/* The first byte of a line that is not a space, tab or CR (len if none). */
static size_t first_byte(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    return i;
}

static int scan_stream(scan *s, b4k_stream *in, b4k_err *err)
{
    char *line;
    size_t len;
    int rc, mode = s->o->jsonl;
    const char *name = b4k_stream_name(in);
    if (s->o->max_line)
        b4k_stream_set_max_line(in, s->o->max_line);
    s->st->bytes_total = b4k_stream_total(in);
    while ((rc = b4k_stream_getline(in, &line, &len, err)) == 1) {
        s->st->lines++;
        if ((s->st->lines & 1023) == 0)
            s->st->bytes_done = b4k_stream_consumed(in);
        size_t i = first_byte(line, len);
        if (mode < 0) {
            if (i == len)
                continue;
            mode = line[i] == '{';
        }
        if (mode == 1) {
            if (i == len)
                continue;
            rc = json_line(s, line, len, name, b4k_stream_lineno(in), err);
        } else {
            rc = text_line(s, line, len);
        }
        if (rc) {
            if (rc == B4K_ENOMEM && !err->msg[0])
                b4k_err_set(err, rc, NULL, 0, "out of memory");
            b4k_err_locate(err, name, b4k_stream_lineno(in));
            return rc;
        }
    }
    if (rc < 0)
        return rc;
    s->st->bytes_done = b4k_stream_consumed(in);
    if ((rc = end_sentence(s)) == B4K_ENOMEM && !err->msg[0])
        b4k_err_set(err, rc, NULL, 0, "out of memory");
    return rc;
}

static void scan_init(scan *s, const b4k_w2v_scan_opts *o, b4k_w2v_token_fn fn, void *ctx,
                      b4k_w2v_scan_stats *st)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->fn = fn;
    s->ctx = ctx;
    s->st = st;
    s->max_token = o->max_token ? o->max_token : 100;
}

int b4k_w2v_scan(const char *const *paths, int npaths, const b4k_w2v_scan_opts *o,
                 b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err)
{
    scan s;
    scan_init(&s, o, fn, ctx, st);
    for (int i = 0; i < npaths; i++) {
        b4k_stream *in;
        int rc = b4k_stream_open(&in, paths[i], err);
        if (rc)
            return rc;
        st->file = i;
        rc = scan_stream(&s, in, err);
        b4k_stream_close(in);
        if (rc) {
            b4k_buf_free(&s.word);
            return rc;
        }
    }
    b4k_buf_free(&s.word);
    return 0;
}

/* Scan an opened stream (rc: its opening's result) and close it. */
static int scan_opened(b4k_stream *in, int rc, const b4k_w2v_scan_opts *o, b4k_w2v_token_fn fn,
                       void *ctx, b4k_w2v_scan_stats *st, b4k_err *err)
{
    if (rc)
        return rc;
    scan s;
    scan_init(&s, o, fn, ctx, st);
    rc = scan_stream(&s, in, err);
    b4k_stream_close(in);
    b4k_buf_free(&s.word);
    return rc;
}

int b4k_w2v_scan_mem(const void *data, size_t n, const char *name, const b4k_w2v_scan_opts *o,
                     b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err)
{
    b4k_stream *in = NULL;
    int rc = b4k_stream_open_mem(&in, data, n, name, err);
    return scan_opened(in, rc, o, fn, ctx, st, err);
}

int b4k_w2v_scan_range(const char *path, size_t off, size_t len, const b4k_w2v_scan_opts *o,
                       b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err)
{
    b4k_stream *in = NULL;
    int rc = b4k_stream_open_range(&in, path, off, len, err);
    return scan_opened(in, rc, o, fn, ctx, st, err);
}

int b4k_w2v_scan_mode(const char *path, const b4k_w2v_scan_opts *o, b4k_err *err)
{
    if (o->jsonl >= 0)
        return o->jsonl;
    b4k_stream *in;
    int rc = b4k_stream_open(&in, path, err);
    if (rc)
        return rc;
    if (o->max_line)
        b4k_stream_set_max_line(in, o->max_line);
    char *line;
    size_t len;
    int mode = -1;
    for (int k = 0; k < 1000 && mode < 0 && (rc = b4k_stream_getline(in, &line, &len, err)) == 1;
         k++) {
        size_t i = first_byte(line, len);
        if (i < len)
            mode = line[i] == '{';
    }
    b4k_stream_close(in);
    return rc < 0 ? rc : mode < 0 ? B4K_EFORMAT : mode;
}
