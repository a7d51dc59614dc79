/* b4k-tokenize: text lines or JSONL in, JSONL with token ids out.
 *
 * The input is cut into chunks of whole lines that the threads (each with
 * its own b4k_tok_out scratch) encode as they come, each chunk into its own
 * output; the chunks are written in input order (cmd/b4k-tokenize/pipe.c),
 * so memory stays flat however long the stream is.  See man/b4k-tokenize.1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b4k.h"
#include "b4k-tokenize/pipe.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
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
    {"batch", O_BATCH, required_argument, "N", "lines per chunk at most (default 4096)"},
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

typedef struct worker {
    b4k_tok_out out;
    b4k_buf buf;       /* output of the chunk being encoded (the chunk's) */
    b4k_buf tmp;       /* members being built */
    b4k_buf text;      /* decoded text */
    int32_t *ids;      /* decode input */
    size_t idcap;
    size_t ntok;
    b4k_tok_out *nb;   /* --nbest outputs */
    float *nbs;        /* their scores */
    char pad[128];     /* no false sharing: the threads' workers sit side by
                        * side, written per token (out.n, buf.len, ntok) */
} worker;

typedef struct encoder {
    const cfg *c;
    worker *w;         /* (threads) */
} encoder;

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

/* Encode the lines of one chunk (tk_encode_fn). */
static void encode_chunk(void *ctx, int tid, tk_chunk *k)
{
    const encoder *en = ctx;
    worker *w = &en->w[tid];
    b4k_buf saved = w->buf; /* the chunk's output, for do_line to fill */
    w->buf = k->out;
    b4k_buf_reset(&w->buf);
    w->ntok = 0;
    if (k->nlines > k->ecap && B4K_GROW(k->ends, k->ecap, k->nlines)) {
        k->err_at = 0;
        b4k_err_set(&k->err, B4K_ENOMEM, k->file, k->lineno, "out of memory");
        goto out;
    }
    char *p = k->text, *end = k->text + k->len;
    for (size_t i = 0; i < k->nlines; i++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p[len] = 0;
        long lineno = k->lineno + (long)i;
        size_t mark = w->buf.len;
        b4k_err e;
        b4k_err_clear(&e);
        int rc = do_line(en->c, w, p, len, k->file, lineno, &e);
        p += len + 1;
        if (rc) {
            w->buf.len = mark;
            if (w->buf.data) w->buf.data[mark] = 0;
            if (!en->c->keep_going || rc == B4K_ENOMEM) {
                k->err_at = (long)i;
                k->err = e;
                goto out;
            }
            k->nerr++;
            b4k_buf_puts(&w->buf, "{\"error\":");
            char msg[600];
            snprintf(msg, sizeof msg, "%s", e.msg);
            b4k_buf_put_json_str(&w->buf, msg, strlen(msg));
            b4k_buf_printf(&w->buf, ",\"line\":%ld}", lineno);
            /* the warning itself is printed by the main thread */
        }
        b4k_buf_putc(&w->buf, '\n');
        k->ends[k->ndone++] = w->buf.len;
    }
out:
    k->ntok = w->ntok;
    k->out = w->buf;
    w->buf = saved;
}

/* ---- main ------------------------------------------------------------- */

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
    /* per-thread scratch, warm (word caches) from chunk to chunk */
    worker *ws = b4k_calloc((size_t)threads, sizeof *ws);
    if (!ws) b4k_cli_dief("out of memory");
    for (int i = 0; i < threads; i++) {
        b4k_tok_out_init(&ws[i].out);
        b4k_buf_init(&ws[i].buf);
        b4k_buf_init(&ws[i].tmp);
        b4k_buf_init(&ws[i].text);
    }
    encoder en = {&c, ws};
    b4k_progress prog;
    b4k_progress_init(&prog, progress);
    char *stdin_path[] = {"-"};
    tk_pipe pp = {.paths = optind < argc ? argv + optind : stdin_path,
                  .npaths = optind < argc ? argc - optind : 1,
                  .threads = threads, .max_lines = batch_lines,
                  .encode = encode_chunk, .ctx = &en, .out = out, .prog = &prog};
    int prc = tk_pipe_run(&pp, &err);
    if (prc == TK_ENCODE_ERROR) { /* every line before it is written */
        fflush(out);
        b4k_cli_die(&err);
    }
    b4k_progress_update(&prog, 1, "%zu lines, %.1f MB, %zu tokens", pp.lines, pp.bytes / 1e6,
                        pp.tokens);
    b4k_progress_end(&prog);
    if (prc == TK_READ_ERROR) { /* every line before the bad input is written (-o FILE: discarded) */
        if (fflush(out) || ferror(out))
            b4k_cli_dief("write error: %s", strerror(errno));
        b4k_cli_die(&err);
    }
    if (pp.errors)
        b4k_cli_warn("%zu bad record%s written as {\"error\":...} (--keep-going)", pp.errors,
                     pp.errors == 1 ? "" : "s");
    for (int i = 0; i < threads; i++) {
        b4k_tok_out_free(&ws[i].out);
        b4k_buf_free(&ws[i].buf);
        b4k_buf_free(&ws[i].tmp);
        b4k_buf_free(&ws[i].text);
        free(ws[i].ids);
        for (int q = 0; ws[i].nb && q < c.nbest_out; q++) b4k_tok_out_free(&ws[i].nb[q]);
        free(ws[i].nb);
        free(ws[i].nbs);
    }
    free(ws);
    b4k_tok_free(tok);
    b4k_cli_free(&cli);
    b4k_cli_output_commit(out);
    return b4k_cli_finish(0);
}
