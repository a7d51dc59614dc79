/* b4k-tokenize: text lines or JSONL in, JSONL with token ids out.
 *
 * Lines are read in batches; a batch is cut into chunks that the threads
 * (each with its own b4k_tok_out scratch) take one after another, each
 * chunk with its own output buffer; main reads the next batch and writes
 * the chunks of the previous one in input order meanwhile, so memory stays
 * flat however long the stream is.  See man/b4k-tokenize.1. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b4k.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/threads.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "model/model.h"
#include "tok/tok.h"

enum {
    O_TOKENS = B4K_OPT_LONG,
    O_NO_SPECIAL,
    O_MAX_LEN,
    O_LOWER,
    O_NO_LOWER,
    O_DECODE,
    O_STRICT,
    O_KEEP_GOING,
    O_PROGRESS,
    O_NO_OFFSETS,
    O_BATCH,
    O_PAIR,
    /* issue 4: SentencePiece and CPM */
    O_MODEL,
    O_NBEST,
    O_SAMPLE,
    O_ALPHA,
    O_SEED,
    O_PIECES,
    O_USER_DICT,
    O_JIEBA,
};

static const b4k_opt opts[] = {
    {"kind", 'k', required_argument, "KIND", "tokenizer: wordpiece (default), bpe, spm, cpm"},
    {"vocab", 'v', required_argument, "FILE", "vocab.txt (wordpiece) or encoder.json (bpe)"},
    {"merges", 'm', required_argument, "FILE", "vocab.bpe merges (bpe)"},
    {"field", 'f', required_argument, "NAME", "input is JSONL; tokenize this string field"},
    {"pair-field", O_PAIR, required_argument, "NAME", "second text of a sentence pair (wordpiece)"},
    {"output", 'o', required_argument, "FILE", "write to FILE instead of stdout"},
    {"threads", 't', required_argument, "N", "worker threads (default 1)"},
    {"tokens", O_TOKENS, no_argument, NULL, "also output the token strings"},
    {"no-offsets", O_NO_OFFSETS, no_argument, NULL, "leave out segment_ids and offsets"},
    {"no-special", O_NO_SPECIAL, no_argument, NULL,
     "no [CLS]/[SEP] (with --decode: drop special tokens)"},
    {"max-len", O_MAX_LEN, required_argument, "N", "truncate to N tokens (longest first for pairs)"},
    {"lower", O_LOWER, no_argument, NULL, "lower-case and strip accents (wordpiece)"},
    {"no-lower", O_NO_LOWER, no_argument, NULL, "keep case and accents (wordpiece)"},
    {"decode", O_DECODE, no_argument, NULL, "ids back to text (field 'ids' or --field)"},
    {"strict", O_STRICT, no_argument, NULL, "invalid UTF-8 is an error (default: U+FFFD)"},
    {"keep-going", O_KEEP_GOING, no_argument, NULL,
     "write {\"error\":...,\"line\":N} for a bad record and go on"},
    {"batch", O_BATCH, required_argument, "N", "lines per parallel batch (default 4096)"},
    {"progress", O_PROGRESS, no_argument, NULL, "show progress on stderr"},
    {"model", O_MODEL, required_argument, "FILE", "SentencePiece .model, or a converted .b4k model with one embedded (spm, cpm)"},
    {"nbest", O_NBEST, required_argument, "N",
     "spm/cpm unigram: the N best segmentations (field nbest); with --sample, sample among them"},
    {"sample", O_SAMPLE, no_argument, NULL,
     "spm/cpm: subword sampling (unigram lattice, or BPE-dropout)"},
    {"alpha", O_ALPHA, required_argument, "A",
     "sampling smoothing (unigram) or dropout probability (BPE); default 0.1"},
    {"seed", O_SEED, required_argument, "S", "sampling seed (default 1), mixed with the line number"},
    {"pieces", O_PIECES, no_argument, NULL, "same as --tokens"},
    {"user-dict", O_USER_DICT, required_argument, "FILE",
     "cpm: extra jieba dictionary, lines 'word [freq] [tag]'"},
    {"jieba", O_JIEBA, required_argument, "PATH",
     "cpm: jieba data (b4k data file or jieba's folder; default $B4K_JIEBA, the model's, the converted file, python3-jieba's)"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct cfg {
    const b4k_tok *tok;
    b4k_tok_enc enc;
    const char *field, *pair_field;
    int tokens, offsets, decode, strict, keep_going, no_special;
    int nbest_out; /* issue 4: --nbest N without --sample */
} cfg;

/* One batch of input lines, copied out of the stream buffer. */
typedef struct batch {
    char *text;          /* all lines, each NUL-terminated */
    size_t len, cap;
    size_t *off, *lens;  /* (n) */
    long *lineno;        /* (n) */
    size_t n, ncap;
    const char *file;    /* points at fname */
    char fname[1024];
} batch;

typedef struct worker {
    b4k_tok_out out;
    b4k_buf buf;       /* output of this thread's slice */
    b4k_buf tmp;       /* members being built */
    b4k_buf text;      /* decoded text */
    int32_t *ids;      /* decode input */
    size_t idcap;
    size_t *ends;      /* end offset in buf of each line of the slice */
    size_t ecap;
    size_t first;      /* first line index of the slice */
    size_t nlines;
    long err_at;       /* index of the first failing line in the batch, -1 */
    b4k_err err;
    size_t ntok;
    size_t nerr;       /* bad records written as error records */
    b4k_tok_out *nb;   /* --nbest outputs */
    float *nbs;        /* their scores */
    char pad[128];     /* no false sharing: the threads' workers sit side by
                        * side, written per token (out.n, buf.len, ntok) */
} worker;

/* A piece of a batch and its output.  Threads take the chunks of a batch
 * one after another (dynamic scheduling: a thread the scheduler holds back
 * takes fewer), and main writes them in order. */
#define CHUNKS_PER_THREAD 8

typedef struct chunk {
    size_t begin, end; /* lines */
    b4k_buf buf;       /* their output */
    size_t *ends;      /* end offset in buf of each line */
    size_t ecap;
    size_t nlines;     /* lines done (all, unless err_at >= 0) */
    long err_at;       /* index of the failing line in the batch, -1 */
    b4k_err err;
    size_t ntok, nerr;
} chunk;

typedef struct job {
    const cfg *c;
    batch *b;
    worker *w;         /* (threads) */
    chunk *ch;         /* (nch) */
    size_t nch;
    size_t next;       /* the next chunk to take (atomic) */
    int stop;          /* a chunk failed: take no more (atomic) */
} job;

/* ---- output helpers --------------------------------------------------- */

static int put_member(b4k_buf *b, const char *key, int *first)
{
    if (!*first && b4k_buf_putc(b, ',')) return B4K_ENOMEM;
    *first = 0;
    if (b4k_buf_putc(b, '"') || b4k_buf_puts(b, key) || b4k_buf_puts(b, "\":"))
        return B4K_ENOMEM;
    return 0;
}

/* The fields this run adds; an input record that has one already is
 * rewritten without it. */
static const char *const enc_fields[] = {"ids", "tokens", "segment_ids", "offsets", "nbest",
                                         "scores", NULL};
static const char *const dec_fields[] = {"text", NULL};

/* Append `{record + members}` (or `{members}` for text input) to out. */
static int put_record(b4k_buf *out, const char *rec, size_t rec_len, json_t *obj,
                      const b4k_buf *members, const char *const *fields)
{
    if (!rec) {
        if (b4k_buf_putc(out, '{') || b4k_buf_append(out, members->data, members->len) ||
            b4k_buf_putc(out, '}'))
            return B4K_ENOMEM;
        return 0;
    }
    int clash = 0;
    for (int i = 0; fields[i]; i++) clash |= json_object_get(obj, fields[i]) != NULL;
    if (!clash) return b4k_jsonl_splice(out, rec, rec_len, members->data, members->len);
    for (int i = 0; fields[i]; i++) json_object_del(obj, fields[i]);
    b4k_buf re;
    b4k_buf_init(&re);
    int rc = b4k_jsonl_dump(&re, obj);
    if (!rc) rc = b4k_jsonl_splice(out, re.data, re.len, members->data, members->len);
    b4k_buf_free(&re);
    return rc;
}

/* ---- one line --------------------------------------------------------- */

static int parse_ids(worker *w, const json_t *arr, size_t *n, b4k_err *err, const char *file,
                     long line)
{
    size_t k = json_array_size(arr);
    if (k > w->idcap && B4K_GROW(w->ids, w->idcap, k))
        return b4k_err_set(err, B4K_ENOMEM, file, line, "out of memory");
    for (size_t i = 0; i < k; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return b4k_err_set(err, B4K_EFORMAT, file, line, "ids[%zu] is not an integer", i);
        w->ids[i] = (int32_t)json_integer_value(v);
    }
    *n = k;
    return 0;
}

static int do_line(const cfg *c, worker *w, const char *line, size_t len, const char *file,
                   long lineno, b4k_err *err)
{
    char *clean = NULL;
    json_t *obj = NULL;
    int rc = 0;
    size_t bad = b4k_utf8_check(line, len);
    if (bad != (size_t)-1) {
        if (c->strict)
            return b4k_err_set(err, B4K_EFORMAT, file, lineno, "invalid UTF-8 at byte %zu",
                               bad + 1);
        size_t cl;
        if (b4k_utf8_sanitize(line, len, &clean, &cl))
            return b4k_err_set(err, B4K_ENOMEM, file, lineno, "out of memory");
        line = clean;
        len = cl;
    }
    const char *a = line, *b = NULL;
    size_t a_len = len, b_len = 0;
    const char *rec = NULL;
    b4k_buf_reset(&w->tmp);
    if (c->field || (c->decode && len && line[0] == '{')) {
        if ((rc = b4k_jsonl_parse_object(&obj, line, len, file, lineno, err))) goto done;
        rec = line;
    }
    if (c->decode) {
        size_t n = 0;
        if (obj) {
            const char *f = c->field ? c->field : "ids";
            json_t *arr = json_object_get(obj, f);
            if (!json_is_array(arr)) {
                rc = b4k_err_set(err, B4K_EFORMAT, file, lineno, "no array field \"%s\"", f);
                goto done;
            }
            if ((rc = parse_ids(w, arr, &n, err, file, lineno))) goto done;
        } else if (len && line[0] == '[') {
            if ((rc = b4k_jsonl_parse(&obj, line, len, file, lineno, err))) goto done;
            if (!json_is_array(obj)) {
                rc = b4k_err_set(err, B4K_EFORMAT, file, lineno, "expected an array of ids");
                goto done;
            }
            if ((rc = parse_ids(w, obj, &n, err, file, lineno))) goto done;
            json_decref(obj);
            obj = NULL;
        } else { /* whitespace-separated ids */
            const char *p = line, *e = line + len;
            while (p < e) {
                while (p < e && (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r')) p++;
                if (p >= e) break;
                char *end;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (end == p || errno || v < INT32_MIN || v > INT32_MAX ||
                    (end < e && *end != ' ' && *end != '\t' && *end != ',' && *end != '\r')) {
                    rc = b4k_err_set(err, B4K_EFORMAT, file, lineno, "not a token id: '%.20s'",
                                     p);
                    goto done;
                }
                if (n + 1 > w->idcap && B4K_GROW(w->ids, w->idcap, n + 1)) {
                    rc = b4k_err_set(err, B4K_ENOMEM, file, lineno, "out of memory");
                    goto done;
                }
                w->ids[n++] = (int32_t)v;
                p = end;
            }
        }
        b4k_buf_reset(&w->text);
        if ((rc = b4k_tok_decode(c->tok, w->ids, n, c->no_special, &w->text, err))) {
            b4k_err_locate(err, file, lineno);
            goto done;
        }
        const char *t = w->text.data ? w->text.data : "";
        size_t tl = w->text.len;
        char *fixed = NULL;
        if (b4k_utf8_check(t, tl) != (size_t)-1) { /* bpe ids may cut a character */
            if (b4k_utf8_sanitize(t, tl, &fixed, &tl)) {
                rc = b4k_err_set(err, B4K_ENOMEM, file, lineno, "out of memory");
                goto done;
            }
            t = fixed;
        }
        int first = 1;
        rc = put_member(&w->tmp, "text", &first) || b4k_buf_put_json_str(&w->tmp, t, tl)
                 ? B4K_ENOMEM
                 : 0;
        free(fixed);
        w->ntok += n;
        if (rc) goto nomem;
        if (put_record(&w->buf, rec, len, obj, &w->tmp, dec_fields)) goto nomem;
        goto done;
    }
    if (obj) {
        a = b4k_json_get_str(obj, c->field, &a_len, file, lineno, err);
        if (!a) {
            rc = err->code ? err->code : B4K_EFORMAT;
            goto done;
        }
        if (c->pair_field) {
            b = b4k_json_get_str(obj, c->pair_field, &b_len, file, lineno, err);
            if (!b) {
                rc = err->code ? err->code : B4K_EFORMAT;
                goto done;
            }
        }
    }
    if (c->nbest_out) { /* issue 4: {"nbest":[[ids]...],"scores":[...]} */
        int got = 0;
        if (!w->nb) {
            w->nb = b4k_calloc((size_t)c->nbest_out, sizeof *w->nb);
            w->nbs = b4k_calloc((size_t)c->nbest_out, sizeof *w->nbs);
            if (!w->nb || !w->nbs) goto nomem;
        }
        if ((rc = b4k_tok_nbest(c->tok, a, a_len, c->nbest_out, w->nb, w->nbs, &got, err))) {
            b4k_err_locate(err, file, lineno);
            goto done;
        }
        b4k_buf *m = rec ? &w->tmp : &w->buf;
        int first = 1;
        if (!rec && b4k_buf_putc(m, '{')) goto nomem;
        if (put_member(m, "nbest", &first) || b4k_buf_putc(m, '[')) goto nomem;
        for (int k = 0; k < got; k++) {
            w->ntok += w->nb[k].n;
            if ((k && b4k_buf_putc(m, ',')) || b4k_jsonl_put_ints(m, w->nb[k].ids, w->nb[k].n)) goto nomem;
        }
        if (b4k_buf_putc(m, ']') || put_member(m, "scores", &first) || b4k_buf_putc(m, '['))
            goto nomem;
        for (int k = 0; k < got; k++)
            if (b4k_buf_printf(m, k ? ",%.9g" : "%.9g", (double)w->nbs[k])) goto nomem;
        if (b4k_buf_putc(m, ']')) goto nomem;
        if (rec ? put_record(&w->buf, rec, len, obj, m, enc_fields) : b4k_buf_putc(m, '}'))
            goto nomem;
        goto done;
    }
    b4k_tok_enc le = c->enc; /* sampling: one stream per line, whatever --threads */
    if (le.sample) le.seed = c->enc.seed * 0x9E3779B97F4A7C15ull + (uint64_t)lineno;
    if ((rc = b4k_tok_encode(c->tok, a, a_len, b, b_len, &le, &w->out, err))) {
        b4k_err_locate(err, file, lineno);
        goto done;
    }
    const b4k_tok_out *o = &w->out;
    w->ntok += o->n;
    /* text input: write the record straight into the output */
    b4k_buf *m = rec ? &w->tmp : &w->buf;
    int first = 1;
    if (!rec && b4k_buf_putc(m, '{')) goto nomem;
    if (put_member(m, "ids", &first) || b4k_jsonl_put_ints(m, o->ids, o->n)) goto nomem;
    if (c->tokens) {
        if (put_member(m, "tokens", &first) || b4k_buf_putc(m, '[')) goto nomem;
        for (size_t i = 0; i < o->n; i++) {
            size_t pl = 0;
            const char *pc = b4k_tok_piece(c->tok, o->ids[i], &pl);
            if ((i && b4k_buf_putc(m, ',')) || b4k_buf_put_json_str(m, pc ? pc : "", pc ? pl : 0))
                goto nomem;
        }
        if (b4k_buf_putc(m, ']')) goto nomem;
    }
    if (c->offsets) {
        if (put_member(m, "segment_ids", &first) || b4k_jsonl_put_ints(m, o->segs, o->n)) goto nomem;
        if (put_member(m, "offsets", &first) || b4k_jsonl_put_pairs(m, o->offsets, o->n)) goto nomem;
    }
    if (rec ? put_record(&w->buf, rec, len, obj, m, enc_fields) : b4k_buf_putc(m, '}'))
        goto nomem;
    goto done;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, file, lineno, "out of memory");
done:
    json_decref(obj);
    free(clean);
    return rc;
}

static void run_slice(void *ctx, size_t begin, size_t end, int tid)
{
    job *j = ctx;
    worker *w = &j->w[tid];
    batch *b = j->b;
    b4k_buf_reset(&w->buf);
    w->first = begin;
    w->nlines = 0;
    w->err_at = -1;
    if (end - begin > w->ecap && B4K_GROW(w->ends, w->ecap, end - begin)) {
        w->err_at = (long)begin;
        b4k_err_set(&w->err, B4K_ENOMEM, b->file, b->lineno[begin], "out of memory");
        return;
    }
    for (size_t i = begin; i < end; i++) {
        size_t mark = w->buf.len;
        b4k_err e;
        b4k_err_clear(&e);
        int rc = do_line(j->c, w, b->text + b->off[i], b->lens[i], b->file, b->lineno[i], &e);
        if (rc) {
            w->buf.len = mark;
            if (w->buf.data) w->buf.data[mark] = 0;
            if (!j->c->keep_going || rc == B4K_ENOMEM) {
                w->err_at = (long)i;
                w->err = e;
                return;
            }
            w->nerr++;
            b4k_buf_puts(&w->buf, "{\"error\":");
            char msg[600];
            snprintf(msg, sizeof msg, "%s", e.msg);
            b4k_buf_put_json_str(&w->buf, msg, strlen(msg));
            b4k_buf_printf(&w->buf, ",\"line\":%ld}", b->lineno[i]);
            e.line = b->lineno[i];
            b4k_err_locate(&e, b->file, b->lineno[i]);
            /* the warning itself is printed by the main thread */
        }
        b4k_buf_putc(&w->buf, '\n');
        w->ends[w->nlines++] = w->buf.len;
    }
}

/* ---- main ------------------------------------------------------------- */

static int batch_add(batch *b, const char *line, size_t len, long lineno)
{
    if (B4K_GROW(b->text, b->cap, b->len + len + 1)) return B4K_ENOMEM;
    if (b->n + 1 > b->ncap) {
        size_t c1 = b->ncap, c2 = b->ncap;
        if (B4K_GROW(b->off, b->ncap, b->n + 1) || B4K_GROW(b->lens, c1, b->n + 1) ||
            B4K_GROW(b->lineno, c2, b->n + 1))
            return B4K_ENOMEM;
        if (c1 < b->ncap) b->ncap = c1;
        if (c2 < b->ncap) b->ncap = c2;
    }
    memcpy(b->text + b->len, line, len);
    b->text[b->len + len] = 0;
    b->off[b->n] = b->len;
    b->lens[b->n] = len;
    b->lineno[b->n] = lineno;
    b->n++;
    b->len += len + 1;
    return 0;
}

/* Input across all files, one batch at a time; a batch never spans files.
 * A file that cannot be opened or read ends the input: the lines read before
 * it are still encoded and written, then main reports r->err (exit 1). */
typedef struct reader {
    char **paths;
    int npaths, next;
    b4k_stream *s;
    size_t max_lines, max_bytes, bytes;
    int failed;
    b4k_err err;
} reader;

static void read_batch(reader *r, batch *b)
{
    b->n = b->len = 0;
    for (;;) {
        if (r->failed) return;
        if (!r->s) {
            if (r->next >= r->npaths) return;
            const char *path = r->paths[r->next++];
            if (b4k_stream_open(&r->s, path, &r->err)) {
                r->s = NULL;
                r->failed = 1;
                return;
            }
            snprintf(b->fname, sizeof b->fname, "%s", b4k_stream_name(r->s));
            b->file = b->fname;
        }
        while (b->n < r->max_lines && b->len < r->max_bytes) {
            char *line;
            size_t len;
            int g = b4k_stream_getline(r->s, &line, &len, &r->err);
            if (g < 0) { /* keep the lines before it */
                b4k_stream_close(r->s);
                r->s = NULL;
                r->failed = 1;
                return;
            }
            if (g == 0) {
                b4k_stream_close(r->s);
                r->s = NULL;
                break;
            }
            if (batch_add(b, line, len, b4k_stream_lineno(r->s))) b4k_cli_dief("out of memory");
            r->bytes += len + 1;
        }
        if (b->n) return;
    }
}

/* Encoding of one batch runs on its own thread (plus the pool), so that the
 * main thread reads the next batch and writes the previous one meanwhile. */
typedef struct compute {
    pthread_t th;
    b4k_pool *pool;
    job j;
    int running;
} compute;

static size_t first_line_at(const batch *b, size_t pos)
{
    size_t lo = 0, hi = b->n; /* first i with off[i] >= pos */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->off[mid] < pos) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static void swap_out(worker *w, chunk *k)
{
    b4k_buf tb = w->buf;
    w->buf = k->buf;
    k->buf = tb;
    size_t *te = w->ends, tc = w->ecap;
    w->ends = k->ends;
    w->ecap = k->ecap;
    k->ends = te;
    k->ecap = tc;
}

static void run_chunks(void *ctx, int tid, int nt)
{
    (void)nt;
    job *j = ctx;
    worker *w = &j->w[tid];
    for (;;) {
        if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED)) return;
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->nch) return;
        chunk *k = &j->ch[i];
        if (k->begin >= k->end) continue;
        swap_out(w, k); /* the chunk's buffers, for run_slice to fill */
        w->ntok = w->nerr = 0;
        run_slice(ctx, k->begin, k->end, tid);
        swap_out(w, k);
        k->nlines = w->nlines;
        k->err_at = w->err_at;
        k->err = w->err;
        k->ntok = w->ntok;
        k->nerr = w->nerr;
        if (k->err_at >= 0) __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
    }
}

static void *compute_main(void *p)
{
    compute *c = p;
    b4k_pool_run(c->pool, run_chunks, &c->j);
    return NULL;
}

/* Cut the batch into chunks of about the same number of bytes (line counts
 * balance badly: titles, blank lines and long paragraphs alternate); with
 * one thread, one chunk.  Output order does not depend on the threads. */
static void compute_start(compute *c, int nt)
{
    job *j = &c->j;
    const batch *b = j->b;
    size_t nch = j->nch;
    if (nt == 1) nch = 1;
    for (size_t i = 0; i < j->nch; i++) {
        chunk *k = &j->ch[i];
        k->begin = i == 0 ? 0 : i >= nch ? b->n : first_line_at(b, b->len / nch * i);
        k->end = i + 1 >= nch ? b->n : first_line_at(b, b->len / nch * (i + 1));
        k->nlines = 0;
        k->err_at = -1;
        k->ntok = k->nerr = 0;
    }
    j->next = 0;
    j->stop = 0;
    if (pthread_create(&c->th, NULL, compute_main, c)) b4k_cli_dief("cannot start a thread");
    c->running = 1;
}

static void compute_wait(compute *c)
{
    if (c->running) pthread_join(c->th, NULL);
    c->running = 0;
}


/* A .b4k model (magic "B4K\0") rather than a SentencePiece .model. */
static int is_b4k(const char *path)
{
    char m[4];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int yes = fread(m, 1, 4, f) == 4 && !memcmp(m, "B4K\0", 4);
    fclose(f);
    return yes;
}

int main(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-tokenize");
    b4k_cli cli = {
        .prog = "b4k-tokenize",
        .synopsis = "[OPTIONS] (--vocab FILE | --model FILE.model) [FILE...]",
        .summary = "Tokenize text lines or JSONL records into token ids (JSONL out).",
        .opts = opts,
        .epilog = "Input: text lines, or JSONL with --field (plain or .zst; '-' = stdin).\n"
                  "Output: one JSON record per input line, in input order: ids, segment_ids,\n"
                  "offsets ([start,end) in code points) and, with --tokens, tokens.\n"
                  "WordPiece lower-cases by default when the vocabulary has no upper-case\n"
                  "tokens (an uncased vocab); --lower/--no-lower override.",
    };
    b4k_tok_opts to;
    b4k_tok_opts_init(&to);
    cfg c;
    memset(&c, 0, sizeof c);
    b4k_tok_enc_init(&c.enc);
    c.offsets = 1;
    const char *outpath = NULL, *kind = "wordpiece";
    int threads = 1, progress = 0, nbest = 0;
    const char *lower_opt = NULL; /* --lower/--no-lower given (wordpiece only) */
    c.enc.alpha = 0.1;
    c.enc.seed = 1;
    size_t batch_lines = 4096;
    const char *arg;
    int key;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'k': kind = arg; break;
        case 'v': to.vocab = arg; break;
        case 'm': to.merges = arg; break;
        case 'f': c.field = arg; break;
        case O_PAIR: c.pair_field = arg; break;
        case 'o': outpath = arg; break;
        case 't': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        case O_TOKENS: c.tokens = 1; break;
        case O_NO_OFFSETS: c.offsets = 0; break;
        case O_NO_SPECIAL: c.no_special = 1; c.enc.add_special = 0; break;
        case O_MAX_LEN: c.enc.max_len = (long)b4k_cli_int("--max-len", arg, 1, INT32_MAX); break;
        case O_LOWER: to.lower = 1; lower_opt = "--lower"; break;
        case O_NO_LOWER: to.lower = 0; lower_opt = "--no-lower"; break;
        case O_DECODE: c.decode = 1; break;
        case O_STRICT: c.strict = 1; break;
        case O_KEEP_GOING: c.keep_going = 1; break;
        case O_BATCH: batch_lines = (size_t)b4k_cli_int("--batch", arg, 1, 1 << 24); break;
        case O_PROGRESS: progress = 1; break;
        case O_MODEL: to.model = arg; break;
        case O_NBEST: nbest = (int)b4k_cli_int("--nbest", arg, 1, 1024); break;
        case O_SAMPLE: c.enc.sample = 1; break;
        case O_ALPHA: c.enc.alpha = b4k_cli_double("--alpha", arg, 0, 1e6); break;
        case O_SEED: c.enc.seed = (uint64_t)b4k_cli_int("--seed", arg, 0, INT64_MAX); break;
        case O_PIECES: c.tokens = 1; break;
        case O_USER_DICT: to.user_dict = arg; break;
        case O_JIEBA: to.jieba = arg; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    to.kind = b4k_tok_kind_parse(kind);
    if (to.kind == B4K_TOK_NONE) b4k_cli_usage("unknown --kind '%s'", kind);
    int is_spm = to.kind == B4K_TOK_SPM || to.kind == B4K_TOK_CPM;
    if (!to.vocab && !is_spm) b4k_cli_usage("--vocab is required");
    if (is_spm && !to.model) b4k_cli_usage("--kind %s needs --model FILE.model", kind);
    if (!is_spm && (to.model || nbest || c.enc.sample))
        b4k_cli_usage("--model, --nbest and --sample are for --kind spm or cpm");
    if (to.user_dict && to.kind != B4K_TOK_CPM) b4k_cli_usage("--user-dict is for --kind cpm");
    if (lower_opt && to.kind != B4K_TOK_WORDPIECE)
        b4k_cli_usage("%s is for --kind wordpiece, not %s", lower_opt, kind);
    /* --nbest N: the N best (members nbest, scores), also for N = 1; with
     * --sample one of the N best is drawn, and the one best is no draw */
    if (nbest > 1 && c.enc.sample) c.enc.nbest = nbest;
    else if (nbest == 1 && c.enc.sample) c.enc.sample = 0;
    else if (nbest >= 1) c.nbest_out = nbest;
    if (to.kind == B4K_TOK_BPE && !to.merges) b4k_cli_usage("--kind bpe needs --merges");
    if (c.pair_field && !c.field) b4k_cli_usage("--pair-field needs --field (JSONL input)");
    if (c.pair_field && to.kind != B4K_TOK_WORDPIECE)
        b4k_cli_usage("--pair-field is for --kind wordpiece");
    if (c.enc.max_len > 0 && c.enc.add_special && to.kind == B4K_TOK_WORDPIECE &&
        c.enc.max_len < (c.pair_field ? 3 : 2))
        b4k_cli_usage("--max-len %ld leaves no room for [CLS]/[SEP]", c.enc.max_len);

    b4k_err err;
    b4k_err_clear(&err);
    b4k_tok *tok = NULL;
    /* cpm's jieba data: --jieba, $B4K_JIEBA, the model's embedded data, the
     * converted file beside the program (installed or build tree), then
     * python3-jieba's own files */
    char exe[4096], jbuf[8400];
    const char *search[4];
    ssize_t ek = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[ek > 0 ? ek : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    else exe[0] = 0;
    b4k_tok_jieba_paths(exe, jbuf, sizeof jbuf, search);
    to.jieba_search = search;
    const char *env = getenv("B4K_JIEBA");
    if (!to.jieba && env && *env) to.jieba = env;
    b4k_model *bm = NULL;
    if (is_spm && is_b4k(to.model)) {
        /* a converted model: its embedded SentencePiece model (and jieba) */
        if (b4k_model_open(&bm, to.model, &err)) b4k_cli_die(&err);
        if (b4k_tok_load_model(&tok, bm, &to, &err)) b4k_cli_die(&err);
        if (!tok) b4k_cli_dief("%s: the model has no embedded tokenizer", to.model);
        if (b4k_tok_kind_of(tok) != to.kind)
            b4k_cli_dief("%s: the embedded tokenizer is kind %s, not %s", to.model,
                         b4k_tok_kind_name(b4k_tok_kind_of(tok)), kind);
        b4k_model_free(bm); /* the tokenizer copied what it needs */
    } else if (b4k_tok_load(&tok, &to, &err)) {
        b4k_cli_die(&err);
    }
    c.tok = tok;
    if (!c.decode && c.enc.add_special && to.kind == B4K_TOK_WORDPIECE &&
        (b4k_tok_cls_id(tok) < 0 || b4k_tok_sep_id(tok) < 0)) {
        b4k_err_set(&err, B4K_EFORMAT, to.vocab, 0,
                    "vocabulary has no [CLS]/[SEP] token (use --no-special)");
        b4k_cli_die(&err);
    }

    FILE *out = b4k_cli_output_open(outpath); /* atomic; stdout for none or "-" */
    b4k_pool *pool = threads > 1 ? b4k_pool_new(threads) : NULL;
    if (threads > 1 && !pool) b4k_cli_dief("cannot start %d threads", threads);
    int nt = b4k_pool_size(pool);
    /* two sets of batch + chunk outputs: one being encoded while the other
     * is read into / written out */
    worker *ws[2];
    batch bs[2];
    compute cs[2];
    memset(bs, 0, sizeof bs);
    memset(cs, 0, sizeof cs);
    for (int k = 0; k < 2; k++) {
        /* one set of per-thread scratch for both: a batch is only encoded
         * once the one before has been (its output is in its chunks), and
         * the scratch (word caches) stays warm from batch to batch */
        ws[k] = k ? ws[0] : b4k_calloc((size_t)nt, sizeof *ws[k]);
        if (!ws[k]) b4k_cli_dief("out of memory");
        for (int i = 0; i < nt && !k; i++) {
            b4k_tok_out_init(&ws[k][i].out);
            b4k_buf_init(&ws[k][i].buf);
            b4k_buf_init(&ws[k][i].tmp);
            b4k_buf_init(&ws[k][i].text);
        }
        cs[k].pool = pool;
        size_t nch = nt == 1 ? 1 : (size_t)nt * CHUNKS_PER_THREAD;
        chunk *ch = b4k_calloc(nch, sizeof *ch);
        if (!ch) b4k_cli_dief("out of memory");
        for (size_t i = 0; i < nch; i++) b4k_buf_init(&ch[i].buf);
        cs[k].j = (job){&c, &bs[k], ws[k], ch, nch, 0, 0};
    }
    b4k_progress prog;
    b4k_progress_init(&prog, progress);
    char *stdin_path[] = {"-"};
    reader rd = {optind < argc ? argv + optind : stdin_path, optind < argc ? argc - optind : 1,
                 0, NULL, batch_lines, (size_t)16 << 20, 0, 0, {0}};
    size_t total_lines = 0, total_tok = 0, total_err = 0;
    int rc = 0, cur = 0;
    read_batch(&rd, &bs[cur]);
    if (bs[cur].n) compute_start(&cs[cur], nt);
    while (bs[cur].n) {
        int nxt = 1 - cur;
        read_batch(&rd, &bs[nxt]);
        compute_wait(&cs[cur]);
        if (bs[nxt].n) compute_start(&cs[nxt], nt);
        for (size_t t = 0; t < cs[cur].j.nch; t++) {
            chunk *x = &cs[cur].j.ch[t];
            size_t upto = x->nlines;
            if (upto && fwrite(x->buf.data, 1, x->ends[upto - 1], out) != x->ends[upto - 1])
                b4k_cli_dief("write error: %s", strerror(errno));
            total_tok += x->ntok;
            total_err += x->nerr;
            x->ntok = x->nerr = 0;
            if (x->err_at >= 0) {
                fflush(out);
                compute_wait(&cs[nxt]);
                b4k_cli_die(&x->err);
            }
        }
        total_lines += bs[cur].n;
        b4k_progress_update(&prog, 0, "%zu lines, %.1f MB, %zu tokens", total_lines,
                            rd.bytes / 1e6, total_tok);
        cur = nxt;
    }
    size_t total_bytes = rd.bytes;
    b4k_progress_update(&prog, 1, "%zu lines, %.1f MB, %zu tokens", total_lines,
                        total_bytes / 1e6, total_tok);
    b4k_progress_end(&prog);
    if (rd.failed) { /* every line before the bad input is written (-o FILE: discarded) */
        if (fflush(out) || ferror(out))
            b4k_cli_dief("write error: %s", strerror(errno));
        b4k_cli_die(&rd.err);
    }
    if (total_err)
        b4k_cli_warn("%zu bad record%s written as {\"error\":...} (--keep-going)", total_err,
                     total_err == 1 ? "" : "s");
    for (int k = 0; k < 2; k++) {
        worker *w = k ? NULL : ws[k];
        for (int i = 0; i < nt && w; i++) {
            b4k_tok_out_free(&w[i].out);
            b4k_buf_free(&w[i].buf);
            b4k_buf_free(&w[i].tmp);
            b4k_buf_free(&w[i].text);
            free(w[i].ids);
            free(w[i].ends);
            for (int q = 0; w[i].nb && q < c.nbest_out; q++) b4k_tok_out_free(&w[i].nb[q]);
            free(w[i].nb);
            free(w[i].nbs);
        }
        free(w);
        for (size_t i = 0; i < cs[k].j.nch; i++) {
            b4k_buf_free(&cs[k].j.ch[i].buf);
            free(cs[k].j.ch[i].ends);
        }
        free(cs[k].j.ch);
        free(bs[k].text);
        free(bs[k].off);
        free(bs[k].lens);
        free(bs[k].lineno);
    }
    b4k_pool_free(pool);
    b4k_tok_free(tok);
    b4k_cli_free(&cli);
    b4k_cli_output_commit(out);
    return b4k_cli_finish(rc);
}
