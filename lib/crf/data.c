/* Sequence readers (see data.h). */
#include "crf/data.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/stream.h"

struct b4k_crf_reader {
    b4k_stream *s;
    int format, ncol, lab;
    int labelled;  /* conll: -1 undecided, 0/1 */
    int eof;
    int broken;    /* the stream failed (I/O, over-long line): no recovery */
};

int b4k_crf_format_from_name(const char *name)
{
    if (!strcmp(name, "conll"))
        return B4K_CRF_CONLL;
    if (!strcmp(name, "seg"))
        return B4K_CRF_SEG;
    if (!strcmp(name, "jsonl"))
        return B4K_CRF_JSONL;
    if (!strcmp(name, "spans"))
        return B4K_CRF_SPANS;
    return -1;
}

void b4k_crf_seq_init(b4k_crf_seq *s)
{
    memset(s, 0, sizeof *s);
    b4k_buf_init(&s->arena);
}

void b4k_crf_seq_free(b4k_crf_seq *s)
{
    if (!s)
        return;
    b4k_buf_free(&s->arena);
    b4k_free(s->cell);
    b4k_free(s->clen);
    b4k_free(s->lstore);
    b4k_free(s->llen);
    b4k_free(s->tline);
    b4k_free(s->coff);
    b4k_free(s->loff);
    memset(s, 0, sizeof *s);
}

static void seq_reset(b4k_crf_seq *s, int ncol)
{
    s->T = 0;
    s->label = NULL;
    s->ncol = ncol;
    s->line = 0;
    b4k_buf_reset(&s->arena);
}

/* make room for token T (0-based) */
static int seq_room(b4k_crf_seq *s, size_t T1)
{
    size_t ncol = s->ncol > 0 ? (size_t)s->ncol : 1, need;
    if (b4k_mul_ok(T1, ncol, &need))
        return B4K_ENOMEM;
    if (T1 <= s->cap && need <= s->cap * ncol)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < T1)
        cap *= 2;
    size_t cc;
    if (b4k_mul_ok(cap, ncol, &cc))
        return B4K_ENOMEM;
    void *p;
    if (!(p = b4k_realloc_n(s->coff, cc, sizeof(size_t))))
        return B4K_ENOMEM;
    s->coff = p;
    if (!(p = b4k_realloc_n(s->clen, cc, sizeof(uint32_t))))
        return B4K_ENOMEM;
    s->clen = p;
    if (!(p = b4k_realloc_n(s->cell, cc, sizeof(char *))))
        return B4K_ENOMEM;
    s->cell = p;
    if (!(p = b4k_realloc_n(s->loff, cap, sizeof(size_t))))
        return B4K_ENOMEM;
    s->loff = p;
    if (!(p = b4k_realloc_n(s->llen, cap, sizeof(uint32_t))))
        return B4K_ENOMEM;
    s->llen = p;
    if (!(p = b4k_realloc_n(s->lstore, cap, sizeof(char *))))
        return B4K_ENOMEM;
    s->lstore = p;
    if (!(p = b4k_realloc_n(s->tline, cap, sizeof(long))))
        return B4K_ENOMEM;
    s->tline = p;
    s->cap = cap;
    return 0;
}

/* append a string to the arena (NUL-terminated), return its offset */
static int put_str(b4k_crf_seq *s, const char *p, size_t n, size_t *off)
{
    if (n > UINT32_MAX - 1)
        return B4K_ERANGE;
    *off = s->arena.len;
    if (b4k_buf_append(&s->arena, p, n) || b4k_buf_putc(&s->arena, 0))
        return B4K_ENOMEM;
    return 0;
}

static void seq_finish(b4k_crf_seq *s, int labelled)
{
    size_t nc = s->T * (size_t)s->ncol;
    for (size_t i = 0; i < nc; i++)
        s->cell[i] = s->arena.data + s->coff[i];
    s->label = labelled ? s->lstore : NULL;
    if (labelled)
        for (size_t t = 0; t < s->T; t++)
            s->label[t] = s->arena.data + s->loff[t];
}

static int open_common(b4k_crf_reader **out, b4k_stream *st, int format, int ncol, int lab,
                       b4k_err *err)
{
    b4k_crf_reader *r = b4k_calloc(1, sizeof *r);
    if (!r) {
        b4k_stream_close(st);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    r->s = st;
    r->format = format;
    r->ncol = (format == B4K_CRF_SEG || format == B4K_CRF_SPANS) ? 1 : ncol;
    r->lab = lab;
    r->labelled = -1;
    *out = r;
    return 0;
}

int b4k_crf_reader_open(b4k_crf_reader **out, const char *path, int format, int ncol, int lab,
                        b4k_err *err)
{
    b4k_stream *st;
    int rc = b4k_stream_open(&st, path, err);
    if (rc)
        return rc;
    return open_common(out, st, format, ncol, lab, err);
}

int b4k_crf_reader_open_mem(b4k_crf_reader **out, const void *data, size_t n, const char *name,
                            int format, int ncol, int lab, b4k_err *err)
{
    b4k_stream *st;
    int rc = b4k_stream_open_mem(&st, data, n, name, err);
    if (rc)
        return rc;
    return open_common(out, st, format, ncol, lab, err);
}

void b4k_crf_reader_close(b4k_crf_reader *r)
{
    if (!r)
        return;
    b4k_stream_close(r->s);
    b4k_free(r);
}

int b4k_crf_reader_ncol(const b4k_crf_reader *r)
{
    return r->ncol;
}

const char *b4k_crf_reader_name(const b4k_crf_reader *r)
{
    return b4k_stream_name(r->s);
}

#define FAIL(code, ...) \
    return b4k_err_set(err, code, b4k_stream_name(r->s), b4k_stream_lineno(r->s), __VA_ARGS__)

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int read_conll(b4k_crf_reader *r, b4k_crf_seq *seq, b4k_err *err)
{
    char *line;
    size_t len;
    int rc;
    seq_reset(seq, r->ncol);
    for (;;) {
        rc = b4k_stream_getline(r->s, &line, &len, err);
        if (rc < 0) {
            r->broken = 1;
            return rc;
        }
        if (rc == 0)
            break;
        /* split into fields */
        size_t i = 0;
        while (i < len && is_ws(line[i]))
            i++;
        if (i == len) { /* blank: end of sequence */
            if (seq->T)
                break;
            continue;
        }
        if (memchr(line, 0, len))
            FAIL(B4K_EFORMAT, "NUL byte in input");
        if (b4k_utf8_check(line, len) != (size_t)-1)
            FAIL(B4K_EFORMAT, "invalid UTF-8");
        const char *f[256];
        size_t fl[256];
        int nf = 0;
        while (i < len) {
            size_t j = i;
            while (j < len && !is_ws(line[j]))
                j++;
            if (nf == 256)
                FAIL(B4K_ERANGE, "more than 256 columns");
            f[nf] = line + i;
            fl[nf++] = j - i;
            while (j < len && is_ws(line[j]))
                j++;
            i = j;
        }
        if (r->labelled < 0) {
            if (r->lab == B4K_CRF_LAB_REQUIRED) {
                if (r->ncol == 0) {
                    if (nf < 2)
                        FAIL(B4K_EFORMAT, "expected at least 2 columns (features and a label), got %d", nf);
                    r->ncol = nf - 1;
                }
                r->labelled = 1;
            } else {
                if (r->ncol == 0)
                    r->ncol = nf;
                r->labelled = nf == r->ncol + 1;
            }
            seq->ncol = r->ncol;
        }
        int want = r->ncol + r->labelled;
        if (nf != want)
            FAIL(B4K_EFORMAT, "expected %d columns, got %d", want, nf);
        if (!seq->T)
            seq->line = b4k_stream_lineno(r->s);
        if ((rc = seq_room(seq, seq->T + 1)))
            FAIL(rc, "out of memory");
        size_t base = seq->T * (size_t)r->ncol;
        for (int c = 0; c < r->ncol; c++) {
            if ((rc = put_str(seq, f[c], fl[c], &seq->coff[base + c])))
                FAIL(rc, "out of memory");
            seq->clen[base + c] = (uint32_t)fl[c];
        }
        if (r->labelled) {
            if ((rc = put_str(seq, f[nf - 1], fl[nf - 1], &seq->loff[seq->T])))
                FAIL(rc, "out of memory");
            seq->llen[seq->T] = (uint32_t)fl[nf - 1];
        }
        seq->tline[seq->T] = b4k_stream_lineno(r->s);
        seq->T++;
    }
    if (!seq->T)
        return 0;
    seq_finish(seq, r->labelled == 1);
    return 1;
}

/* append one character token with label lab (may be NULL) */
static int put_char(b4k_crf_seq *seq, const char *p, size_t n, const char *lab, long line)
{
    int rc = seq_room(seq, seq->T + 1);
    if (rc)
        return rc;
    if ((rc = put_str(seq, p, n, &seq->coff[seq->T])))
        return rc;
    seq->clen[seq->T] = (uint32_t)n;
    if (lab) {
        if ((rc = put_str(seq, lab, strlen(lab), &seq->loff[seq->T])))
            return rc;
        seq->llen[seq->T] = (uint32_t)strlen(lab);
    }
    seq->tline[seq->T] = line;
    seq->T++;
    return 0;
}

static int read_seg(b4k_crf_reader *r, b4k_crf_seq *seq, b4k_err *err)
{
    char *line;
    size_t len;
    seq_reset(seq, 1);
    int rc = b4k_stream_getline(r->s, &line, &len, err);
    if (rc < 0)
        r->broken = 1;
    if (rc <= 0)
        return rc;
    long ln = b4k_stream_lineno(r->s);
    seq->line = ln;
    if (memchr(line, 0, len))
        FAIL(B4K_EFORMAT, "NUL byte in input");
    if (b4k_utf8_check(line, len) != (size_t)-1)
        FAIL(B4K_EFORMAT, "invalid UTF-8");
    /* words */
    int nwords = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_ws(line[i]))
            i++;
        if (i == len)
            break;
        size_t j = i;
        while (j < len && !is_ws(line[j]))
            j++;
        /* characters of line[i..j) */
        size_t k = i;
        int nch = 0;
        while (k < j) {
            uint32_t cp;
            int n = b4k_utf8_decode((const unsigned char *)line + k, j - k, &cp);
            k += (size_t)n;
            nch++;
        }
        int c = 0;
        k = i;
        while (k < j) {
            uint32_t cp;
            int n = b4k_utf8_decode((const unsigned char *)line + k, j - k, &cp);
            const char *lab = nch == 1 ? "S" : c == 0 ? "B" : c == nch - 1 ? "E" : "M";
            if ((rc = put_char(seq, line + k, (size_t)n, lab, ln)))
                FAIL(rc, "out of memory");
            k += (size_t)n;
            c++;
        }
        nwords++;
        i = j;
    }
    seq_finish(seq, seq->T > 0);
    return 1;
}

typedef struct span {
    size_t s0, s1;
    const char *type;
} span;

static int span_cmp(const void *pa, const void *pb)
{
    const span *a = pa, *b = pb;
    size_t la = a->s1 - a->s0, lb = b->s1 - b->s0;
    if (la != lb)
        return la > lb ? -1 : 1;
    if (a->s0 != b->s0)
        return a->s0 < b->s0 ? -1 : 1;
    return strcmp(a->type, b->type);
}

static int jerr(b4k_crf_reader *r, b4k_err *err, const char *what)
{
    FAIL(B4K_EFORMAT, "%s", what);
}

static int read_json(b4k_crf_reader *r, b4k_crf_seq *seq, b4k_err *err)
{
    char *line;
    size_t len;
    int rc;
    for (;;) {
        rc = b4k_stream_getline(r->s, &line, &len, err);
        if (rc < 0)
            r->broken = 1;
        if (rc <= 0)
            return rc;
        size_t i = 0;
        while (i < len && is_ws(line[i]))
            i++;
        if (i < len)
            break;
    }
    long ln = b4k_stream_lineno(r->s);
    json_t *o = NULL;
    rc = b4k_jsonl_parse_object(&o, line, len, b4k_stream_name(r->s), ln, err);
    if (rc)
        return rc;
    seq_reset(seq, r->format == B4K_CRF_SPANS ? 1 : r->ncol);
    seq->line = ln;
    int labelled = 0;
    if (r->format == B4K_CRF_SPANS) {
        json_t *text = json_object_get(o, "text");
        if (!json_is_string(text)) {
            rc = jerr(r, err, "missing \"text\" string");
            goto out;
        }
        const char *s = json_string_value(text);
        size_t n = json_string_length(text), k = 0;
        while (k < n) {
            uint32_t cp;
            int m = b4k_utf8_decode((const unsigned char *)s + k, n - k, &cp);
            if (m < 0 || cp == 0) {
                rc = jerr(r, err, "invalid character in \"text\"");
                goto out;
            }
            if ((rc = put_char(seq, s + k, (size_t)m, "O", ln))) {
                rc = b4k_err_set(err, rc, b4k_stream_name(r->s), ln, "out of memory");
                goto out;
            }
            k += (size_t)m;
        }
        if (!seq->T) {
            rc = jerr(r, err, "empty sequence");
            goto out;
        }
        json_t *lab = json_object_get(o, "label");
        if (lab && !json_is_object(lab) && !json_is_null(lab)) {
            rc = jerr(r, err, "\"label\" must be an object");
            goto out;
        }
        labelled = lab != NULL && json_is_object(lab);
        if (labelled) {
            /* labels are written into a side array of strings then copied */
            const char *type;
            json_t *ents;
            char **lv = b4k_calloc(seq->T, sizeof(char *));
            span *sv = NULL;
            size_t ns = 0, scap = 0;
            if (!lv) {
                rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                goto out;
            }
            json_t *lo = json_object_get(o, "label");
            json_object_foreach(lo, type, ents) {
                const char *ename;
                json_t *spans;
                if (!json_is_object(ents)) {
                    rc = jerr(r, err, "label type must map entity strings to span lists");
                    break;
                }
                json_object_foreach(ents, ename, spans) {
                    size_t si;
                    json_t *sp;
                    if (!json_is_array(spans)) {
                        rc = jerr(r, err, "entity spans must be a list of [start, end]");
                        break;
                    }
                    json_array_foreach(spans, si, sp) {
                        json_t *a = json_array_get(sp, 0), *b = json_array_get(sp, 1);
                        if (!json_is_array(sp) || json_array_size(sp) != 2 || !json_is_integer(a) ||
                            !json_is_integer(b)) {
                            rc = jerr(r, err, "span must be [start, end]");
                            break;
                        }
                        json_int_t s0 = json_integer_value(a), s1 = json_integer_value(b);
                        if (s0 < 0 || s1 < s0 || (size_t)s1 >= seq->T) {
                            rc = jerr(r, err, "span outside the text");
                            break;
                        }
                        if (B4K_GROW(sv, scap, ns + 1)) {
                            rc = B4K_ENOMEM;
                            break;
                        }
                        sv[ns++] = (span){ (size_t)s0, (size_t)s1, type };
                    }
                    if (rc)
                        break;
                }
                if (rc)
                    break;
            }
            /* flat labels from possibly nested spans: longest first, a span
             * overlapping one already placed is dropped (CLUENER nests e.g. a
             * company inside a book title) */
            if (!rc && ns)
                qsort(sv, ns, sizeof *sv, span_cmp);
            for (size_t q = 0; !rc && q < ns; q++) {
                int free_ = 1;
                for (size_t t = sv[q].s0; t <= sv[q].s1; t++)
                    free_ &= lv[t] == NULL;
                if (!free_)
                    continue;
                size_t tl = strlen(sv[q].type);
                for (size_t t = sv[q].s0; t <= sv[q].s1; t++) {
                    lv[t] = b4k_malloc(tl + 3);
                    if (!lv[t]) {
                        rc = B4K_ENOMEM;
                        break;
                    }
                    lv[t][0] = t == sv[q].s0 ? 'B' : 'I';
                    lv[t][1] = '-';
                    memcpy(lv[t] + 2, sv[q].type, tl + 1);
                }
            }
            b4k_free(sv);
            for (size_t t = 0; t < seq->T; t++) {
                if (!rc && lv[t]) {
                    size_t off;
                    if (put_str(seq, lv[t], strlen(lv[t]), &off))
                        rc = B4K_ENOMEM;
                    else {
                        seq->loff[t] = off;
                        seq->llen[t] = (uint32_t)strlen(lv[t]);
                    }
                }
                b4k_free(lv[t]);
            }
            b4k_free(lv);
            if (rc == B4K_ENOMEM)
                rc = b4k_err_set(err, rc, NULL, 0, "out of memory");
            if (rc)
                goto out;
        }
    } else {
        json_t *toks = json_object_get(o, "tokens"), *labs = json_object_get(o, "labels");
        if (!json_is_array(toks)) {
            rc = jerr(r, err, "missing \"tokens\" array");
            goto out;
        }
        size_t T = json_array_size(toks);
        if (T == 0) {
            rc = jerr(r, err, "empty sequence");
            goto out;
        }
        if (labs && !json_is_null(labs)) {
            if (!json_is_array(labs) || json_array_size(labs) != T) {
                rc = jerr(r, err, "\"labels\" must be an array as long as \"tokens\"");
                goto out;
            }
            labelled = 1;
        }
        if (r->ncol == 0) {
            json_t *t0 = json_array_get(toks, 0);
            r->ncol = json_is_array(t0) ? (int)json_array_size(t0) : 1;
            if (r->ncol < 1) {
                rc = jerr(r, err, "empty token");
                goto out;
            }
        }
        seq->ncol = r->ncol;
        for (size_t t = 0; t < T; t++) {
            json_t *tk = json_array_get(toks, t);
            if ((rc = seq_room(seq, t + 1))) {
                rc = b4k_err_set(err, rc, NULL, 0, "out of memory");
                goto out;
            }
            for (int c = 0; c < r->ncol; c++) {
                json_t *v = json_is_array(tk) ? json_array_get(tk, c) : c == 0 ? tk : NULL;
                if (json_is_array(tk) && json_array_size(tk) != (size_t)r->ncol) {
                    rc = b4k_err_set(err, B4K_EFORMAT, b4k_stream_name(r->s), ln,
                                     "token %zu: expected %d columns, got %zu", t,
                                     r->ncol, json_array_size(tk));
                    goto out;
                }
                if (!json_is_string(v)) {
                    rc = b4k_err_set(err, B4K_EFORMAT, b4k_stream_name(r->s), ln,
                                     "token %zu: expected %d column string%s", t, r->ncol,
                                     r->ncol > 1 ? "s" : "");
                    goto out;
                }
                size_t k = t * r->ncol + c;
                if ((rc = put_str(seq, json_string_value(v), json_string_length(v),
                                  &seq->coff[k]))) {
                    rc = b4k_err_set(err, rc, NULL, 0, "out of memory");
                    goto out;
                }
                seq->clen[k] = (uint32_t)json_string_length(v);
                if (memchr(json_string_value(v), 0, json_string_length(v))) {
                    rc = jerr(r, err, "NUL character in a token");
                    goto out;
                }
            }
            if (labelled) {
                json_t *v = json_array_get(labs, t);
                if (!json_is_string(v) || !json_string_length(v)) {
                    rc = jerr(r, err, "labels must be non-empty strings");
                    goto out;
                }
                if ((rc = put_str(seq, json_string_value(v), json_string_length(v),
                                  &seq->loff[t]))) {
                    rc = b4k_err_set(err, rc, NULL, 0, "out of memory");
                    goto out;
                }
                seq->llen[t] = (uint32_t)json_string_length(v);
            }
            seq->tline[t] = ln;
            seq->T = t + 1;
        }
    }
    if (!labelled && r->lab == B4K_CRF_LAB_REQUIRED) {
        rc = jerr(r, err, "record has no labels");
        goto out;
    }
    seq_finish(seq, labelled);
    rc = 1;
out:
    json_decref(o);
    return rc;
}

int b4k_crf_reader_next(b4k_crf_reader *r, b4k_crf_seq *seq, b4k_err *err)
{
    switch (r->format) {
    case B4K_CRF_CONLL:
        return read_conll(r, seq, err);
    case B4K_CRF_SEG: /* labels come from the spacing */
        return read_seg(r, seq, err);
    default:
        return read_json(r, seq, err);
    }
}

int b4k_crf_reader_skip(b4k_crf_reader *r, b4k_err *err)
{
    if (r->broken)
        return err && err->code ? err->code : B4K_EIO;
    if (r->format != B4K_CRF_CONLL)
        return 0; /* a record is one line, already read */
    for (;;) {
        char *line;
        size_t len;
        int rc = b4k_stream_getline(r->s, &line, &len, err);
        if (rc < 0) {
            r->broken = 1;
            return rc;
        }
        if (rc == 0)
            return 0;
        size_t i = 0;
        while (i < len && is_ws(line[i]))
            i++;
        if (i == len)
            return 0;
    }
}
