/* b4k-w2v: word2vec training, export, queries and evaluation. */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "w2v/query.h"
#include "w2v/train.h"

enum {
    O_MODEL = B4K_OPT_LONG, O_DIM, O_WINDOW, O_NEG, O_HS, O_SAMPLE, O_MINCOUNT, O_MAXVOCAB,
    O_ITER, O_ALPHA, O_SEED, O_CHARS, O_JSONL, O_TEXT, O_PROGRESS, O_CKPT, O_CKPT_EVERY,
    O_RESUME, O_SAVE_OUT, O_MAXTOK, O_MAXLINE, O_TMPDIR, O_FORMAT, O_MFMT, O_RESTRICT,
    O_METHOD, O_PER_PAIR, O_SHARE, O_ICASE, O_CASE, O_ANALOGY, O_SIM, O_BATCH, O_KEEP, O_PIECES
};

static const char *g_synopsis_train = "[OPTIONS] -o MODEL [CORPUS...]";

static int parse_fmt(const char *s)
{
    if (!strcmp(s, "auto"))
        return B4K_W2V_FMT_AUTO;
    if (!strcmp(s, "b4k"))
        return B4K_W2V_FMT_B4K;
    if (!strcmp(s, "word2vec-text"))
        return B4K_W2V_FMT_TEXT;
    if (!strcmp(s, "word2vec-bin"))
        return B4K_W2V_FMT_BIN;
    b4k_cli_usage("unknown format '%s' (auto, b4k, word2vec-text, word2vec-bin)", s);
}

static b4k_w2v *load_model(const char *path, int fmt)
{
    b4k_err err;
    b4k_err_clear(&err);
    b4k_w2v *m;
    if (b4k_w2v_load(&m, path, fmt, &err))
        b4k_cli_die(&err);
    return m;
}

/* Write m in fmt to path ("-" = stdout; binary refuses a terminal). */
static void write_model(const b4k_w2v *m, const char *path, int fmt, int with_output)
{
    b4k_err err;
    b4k_err_clear(&err);
    if (fmt == B4K_W2V_FMT_B4K || fmt == B4K_W2V_FMT_AUTO) {
        if (!strcmp(path, "-"))
            b4k_cli_usage("a .b4k model needs -o FILE (not stdout)");
        if (b4k_w2v_save(m, path, with_output, &err))
            b4k_cli_die(&err);
        return;
    }
    FILE *fp = stdout;
    b4k_afile *af = NULL;
    if (strcmp(path, "-")) {
        /* b4k_afile writes /dev/null or a FIFO in place, a file atomically */
        if (b4k_afile_open(&af, path, &err))
            b4k_cli_die(&err);
        fp = b4k_afile_fp(af);
    } else if (fmt == B4K_W2V_FMT_BIN) {
        b4k_cli_no_binary_tty(stdout);
    }
    int rc = fmt == B4K_W2V_FMT_TEXT ? b4k_w2v_write_text(m, fp, &err)
                                      : b4k_w2v_write_bin(m, fp, &err);
    if (rc) {
        b4k_afile_abort(af);
        b4k_cli_die(&err);
    }
    if (af && b4k_afile_commit(af, &err))
        b4k_cli_die(&err);
}

/* ---- train ---- */

static const b4k_opt train_opts[] = {
    {"output", 'o', required_argument, "FILE", "write the model here (required)"},
    {"format", O_FORMAT, required_argument, "FMT", "b4k (default), word2vec-text, word2vec-bin"},
    {"model", O_MODEL, required_argument, "M", "skipgram (default) or cbow"},
    {"dim", O_DIM, required_argument, "N", "vector size (100)"},
    {"window", O_WINDOW, required_argument, "N", "max context distance, shrunk at random (5)"},
    {"negative", O_NEG, required_argument, "N", "negative samples per word, 0 = off (5)"},
    {"hs", O_HS, no_argument, NULL, "also train a hierarchical softmax (Huffman tree)"},
    {"per-pair", O_PER_PAIR, no_argument, NULL,
     "skip-gram: word2vec.c's update order (negatives per word pair, slower)"},
    {"share-negatives", O_SHARE, required_argument, "B",
     "cbow: B consecutive words share one draw of negatives (1 = off)"},
    {"sample", O_SAMPLE, required_argument, "T", "sub-sample words above frequency T (1e-3)"},
    {"min-count", O_MINCOUNT, required_argument, "N", "drop words seen fewer than N times (5)"},
    {"max-vocab", O_MAXVOCAB, required_argument, "N", "keep the N most frequent words (all)"},
    {"iter", O_ITER, required_argument, "N", "passes over the corpus (5)"},
    {"alpha", O_ALPHA, required_argument, "A", "start learning rate (0.025, cbow 0.05)"},
    {"threads", 't', required_argument, "N", "training threads, Hogwild (1)"},
    {"seed", 's', required_argument, "S", "random seed (1); --threads 1 is reproducible"},
    {"chars", O_CHARS, no_argument, NULL, "every CJK character is a token"},
    {"jsonl", O_JSONL, no_argument, NULL, "input is JSONL with a \"tokens\" array"},
    {"join-pieces", O_PIECES, no_argument, NULL,
     "tokens are SentencePiece pieces: join them into words at the \u2581 marks (cpm: jieba words)"},
    {"text", O_TEXT, no_argument, NULL, "input is plain text (default: detect per file)"},
    {"max-token-bytes", O_MAXTOK, required_argument, "N", "cut longer tokens (100)"},
    {"max-line-bytes", O_MAXLINE, required_argument, "N", "longer lines are an error (64 MiB)"},
    {"tmpdir", O_TMPDIR, required_argument, "DIR", "spool word ids here ($TMPDIR or /tmp)"},
    {"checkpoint", O_CKPT, required_argument, "FILE", "write a checkpoint here periodically"},
    {"checkpoint-every", O_CKPT_EVERY, required_argument, "N",
     "words between checkpoints (10000000)"},
    {"resume", O_RESUME, required_argument, "FILE", "continue from a checkpoint"},
    {"save-output", O_SAVE_OUT, no_argument, NULL, "also store the output layers"},
    {"progress", O_PROGRESS, no_argument, NULL, "show progress on stderr even if not a TTY"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct prog_ctx {
    b4k_progress p;
    double t_train;
} prog_ctx;

static void on_progress(void *ctx, const b4k_w2v_progress *p)
{
    prog_ctx *c = ctx;
    if (!p->phase) {
        if (p->bytes_total)
            b4k_progress_update(&c->p, 0, "counting words: %.1fM tokens, %.0f%%",
                                p->tokens / 1e6, 100.0 * p->bytes_done / p->bytes_total);
        else
            b4k_progress_update(&c->p, 0, "counting words: %.1fM tokens", p->tokens / 1e6);
        return;
    }
    double now = b4k_now();
    if (c->t_train == 0)
        c->t_train = now;
    double el = now - c->t_train;
    double frac = p->words_total ? (double)p->words_done / p->words_total : 0;
    double rate = el > 0 ? p->words_done / el : 0;
    double eta = rate > 0 ? (p->words_total - p->words_done) / rate : 0;
    b4k_progress_update(&c->p, 0,
                        "epoch %d  %5.1f%%  %.0fk words/s  lr %.6f  loss %.4f  ETA %dm%02ds",
                        p->epoch + 1, 100 * frac, rate / 1e3, p->alpha, p->loss,
                        (int)(eta / 60), (int)eta % 60);
}

static int cmd_train(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-w2v train");
    b4k_cli cli = {.prog = "b4k-w2v train",
                   .synopsis = g_synopsis_train,
                   .summary = "Train word vectors (skip-gram or CBOW) on a tokenised corpus.",
                   .opts = train_opts,
                   .epilog =
                       "CORPUS: whitespace-tokenised text (one sentence per line) or JSONL with\n"
                       "a \"tokens\" array (b4k-tokenize --tokens), plain or .zst; '-' or none\n"
                       "= stdin, which is read once: the word ids are spooled to --tmpdir.\n"
                       "A JSON summary line is written to stdout.\n"};
    b4k_w2v_train_opts o;
    const char *model = "skipgram", *outpath = NULL, *arg;
    int key, progress = 0, save_out = 0, fmt = B4K_W2V_FMT_B4K;
    double alpha = -1;
    b4k_w2v_train_defaults(&o, B4K_W2V_SKIPGRAM);
    o.checkpoint_every = 10000000;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'o': outpath = arg; break;
        case O_FORMAT: fmt = parse_fmt(arg); break;
        case O_MODEL: model = arg; break;
        case O_DIM: o.cfg.dim = (int)b4k_cli_int("--dim", arg, 1, 10000); break;
        case O_WINDOW: o.cfg.window = (int)b4k_cli_int("--window", arg, 1, 1000); break;
        case O_NEG: o.cfg.negative = (int)b4k_cli_int("--negative", arg, 0, 1000); break;
        case O_HS: o.cfg.hs = 1; break;
        case O_PER_PAIR: o.cfg.per_pair = 1; break;
        case O_SHARE:
            o.cfg.share_negatives = (int)b4k_cli_int("--share-negatives", arg, 1, B4K_W2V_MAX_SHARE);
            break;
        case O_SAMPLE: o.cfg.sample = b4k_cli_double("--sample", arg, 0, 1); break;
        case O_MINCOUNT: o.cfg.min_count = b4k_cli_int("--min-count", arg, 1, INT64_MAX); break;
        case O_MAXVOCAB: o.cfg.max_vocab = b4k_cli_int("--max-vocab", arg, 1, INT32_MAX); break;
        case O_ITER: o.cfg.iter = (int)b4k_cli_int("--iter", arg, 1, 100000); break;
        case O_ALPHA: alpha = b4k_cli_double("--alpha", arg, 1e-9, 10); break;
        case 't': o.threads = (int)b4k_cli_int("--threads", arg, 1, 1024); break;
        case 's': o.cfg.seed = (uint64_t)b4k_cli_int("--seed", arg, 0, INT64_MAX); break;
        case O_CHARS: o.scan.chars = 1; break;
        case O_JSONL: o.scan.jsonl = 1; break;
        case O_PIECES: o.scan.pieces = 1; break;
        case O_TEXT: o.scan.jsonl = 0; break;
        case O_MAXTOK: o.scan.max_token = (size_t)b4k_cli_int("--max-token-bytes", arg, 1, 1 << 20); break;
        case O_MAXLINE: o.scan.max_line = (size_t)b4k_cli_int("--max-line-bytes", arg, 16, (long long)1 << 40); break;
        case O_TMPDIR: o.tmpdir = arg; break; /* else $TMPDIR, below */
        case O_CKPT: o.checkpoint = arg; break;
        case O_CKPT_EVERY: o.checkpoint_every = b4k_cli_int("--checkpoint-every", arg, 1, INT64_MAX); break;
        case O_RESUME: o.resume = arg; break;
        case O_SAVE_OUT: save_out = 1; break;
        case O_PROGRESS: progress = 1; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    b4k_cli_free(&cli);
    if (!strcmp(model, "skipgram"))
        o.cfg.model = B4K_W2V_SKIPGRAM;
    else if (!strcmp(model, "cbow"))
        o.cfg.model = B4K_W2V_CBOW;
    else
        b4k_cli_usage("unknown --model '%s' (skipgram or cbow)", model);
    o.cfg.alpha = alpha > 0 ? alpha : (o.cfg.model == B4K_W2V_CBOW ? 0.05 : 0.025);
    if (!outpath)
        b4k_cli_usage("-o MODEL is required");
    if (o.cfg.negative == 0 && !o.cfg.hs)
        b4k_cli_usage("--negative 0 needs --hs");
    if (fmt == B4K_W2V_FMT_AUTO)
        fmt = B4K_W2V_FMT_B4K;
    int npaths = argc - optind;
    const char *stdin_path[1] = {"-"};
    const char *const *paths = npaths ? (const char *const *)argv + optind : stdin_path;
    if (!npaths)
        npaths = 1;
    if (!o.tmpdir)
        o.tmpdir = getenv("TMPDIR");
    prog_ctx pc;
    memset(&pc, 0, sizeof pc);
    b4k_progress_init(&pc.p, progress);
    o.progress = on_progress;
    o.progress_ctx = &pc;
    b4k_err err;
    b4k_err_clear(&err);
    b4k_w2v *m;
    b4k_w2v_train_stats st;
    if (b4k_w2v_train(&m, paths, npaths, &o, &st, &err)) {
        b4k_progress_end(&pc.p);
        b4k_cli_die(&err);
    }
    b4k_progress_end(&pc.p);
    if (st.truncated)
        b4k_cli_warn("%lld tokens longer than %zu bytes were truncated", (long long)st.truncated,
                     o.scan.max_token ? o.scan.max_token : (size_t)100);
    write_model(m, outpath, fmt, save_out);
    double wps = st.seconds_train > 0
                     ? (double)st.train_words * m->cfg.iter / st.seconds_train : 0;
    int threads = st.threads > 0 ? st.threads : 1;
    /* the summary goes to stdout unless the model itself does */
    FILE *sum = strcmp(outpath, "-") ? stdout : stderr;
    fprintf(sum, "{\"vocab\":%zu,\"dim\":%d,\"lines\":%lld,\"tokens\":%lld,\"train_words\":%lld,"
           "\"truncated\":%lld,\"seconds_vocab\":%.3f,\"seconds_train\":%.3f,"
           "\"words_per_sec\":%.0f,\"words_per_sec_thread\":%.0f,\"loss\":%.5f,"
           "\"kernel\":\"%s\",\"threads\":%d,\"checkpoints\":%d}\n",
           m->n, m->dim, (long long)st.lines, (long long)st.tokens, (long long)st.train_words,
           (long long)st.truncated, st.seconds_vocab, st.seconds_train, wps,
           wps / threads, st.loss, st.kernel ? st.kernel : "", threads, st.checkpoints);
    b4k_w2v_free(m);
    return b4k_cli_finish(0);
}

/* ---- export ---- */

static const b4k_opt export_opts[] = {
    {"format", 'f', required_argument, "FMT", "word2vec-text or word2vec-bin (required)"},
    {"output", 'o', required_argument, "FILE", "write here (default stdout)"},
    {"model-format", O_MFMT, required_argument, "FMT", "input format (auto)"},
    {NULL, 0, 0, NULL, NULL}};

static int cmd_export(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-w2v export");
    b4k_cli cli = {.prog = "b4k-w2v export",
                   .synopsis = "--format word2vec-text|word2vec-bin [-o FILE] MODEL",
                   .summary = "Write a model in the original word2vec text or binary format.",
                   .opts = export_opts};
    const char *arg, *outpath = "-";
    int key, fmt = -1, mfmt = B4K_W2V_FMT_AUTO;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'f': fmt = parse_fmt(arg); break;
        case 'o': outpath = arg; break;
        case O_MFMT: mfmt = parse_fmt(arg); break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    b4k_cli_free(&cli);
    if (fmt < 0)
        b4k_cli_usage("--format is required");
    if (fmt == B4K_W2V_FMT_AUTO)
        b4k_cli_usage("--format must be word2vec-text, word2vec-bin or b4k");
    if (argc - optind != 1)
        b4k_cli_usage("expected one MODEL");
    b4k_w2v *m = load_model(argv[optind], mfmt);
    write_model(m, outpath, fmt, 0);
    b4k_w2v_free(m);
    return b4k_cli_finish(0);
}

/* ---- nearest / analogy ---- */

static const b4k_opt query_opts[] = {
    {"top", 'k', required_argument, "N", "answers per query, unless the query sets \"k\" (10)"},
    {"restrict", O_RESTRICT, required_argument, "N", "search the N most frequent words only"},
    {"method", O_METHOD, required_argument, "M", "analogy: add (3CosAdd, default) or mul (3CosMul)"},
    {"ignore-case", O_ICASE, no_argument, NULL, "match query words ASCII-case-insensitively"},
    {"model-format", O_MFMT, required_argument, "FMT", "auto, b4k, word2vec-text, word2vec-bin"},
    {"batch", O_BATCH, required_argument, "N", "queries answered per BLAS batch (1024)"},
    {"keep-going", O_KEEP, no_argument, NULL, "write {\"error\":...,\"line\":N} for a bad query and go on"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct qrec {
    char *line;       /* original JSON text (NULL for a plain line) */
    size_t len;
    char *words[3];   /* query words (owned) */
    int nwords;
    int64_t ids[3];
    int oov;
    b4k_w2v_query q;
    char *error;      /* a bad record (--keep-going): the message */
    long eline;
} qrec;

static void put_word(b4k_buf *b, const char *w, size_t n)
{
    if (b4k_utf8_check(w, n) == (size_t)-1) {
        b4k_buf_put_json_str(b, w, n);
        return;
    }
    char *s;
    size_t sl;
    if (b4k_utf8_sanitize(w, n, &s, &sl) == 0) {
        b4k_buf_put_json_str(b, s, sl);
        free(s);
    } else {
        b4k_buf_puts(b, "\"\"");
    }
}

static void flush_batch(const b4k_w2v_index *ix, qrec *r, size_t n, int method, int analogy,
                        b4k_buf *out)
{
    b4k_err err;
    b4k_err_clear(&err);
    b4k_w2v_query *q = b4k_malloc_n(n ? n : 1, sizeof *q);
    size_t nq = 0;
    if (!q) {
        b4k_err_set(&err, B4K_ENOMEM, NULL, 0, "out of memory");
        b4k_cli_die(&err);
    }
    for (size_t i = 0; i < n; i++)
        if (!r[i].oov && !r[i].error)
            q[nq++] = r[i].q;
    if (b4k_w2v_answer(ix, q, nq, method, &err))
        b4k_cli_die(&err);
    nq = 0;
    for (size_t i = 0; i < n; i++) {
        qrec *x = &r[i];
        if (x->error) {
            b4k_buf_puts(out, "{\"error\":");
            b4k_buf_put_json_str(out, x->error, strlen(x->error));
            b4k_buf_printf(out, ",\"line\":%ld}\n", x->eline);
            free(x->error);
            continue;
        }
        b4k_buf mem;
        b4k_buf_init(&mem);
        b4k_buf_puts(&mem, analogy ? "\"answers\":[" : "\"nearest\":[");
        if (!x->oov) {
            b4k_w2v_query *y = &q[nq++];
            for (int k = 0; k < y->found; k++) {
                size_t wl;
                const char *w = b4k_w2v_index_word(ix, y->ids[k], &wl);
                b4k_buf_puts(&mem, k ? ",{\"word\":" : "{\"word\":");
                put_word(&mem, w, wl);
                b4k_buf_printf(&mem, ",\"score\":%.6f}", (double)y->scores[k]);
            }
        }
        b4k_buf_putc(&mem, ']');
        if (x->oov) {
            b4k_buf_puts(&mem, ",\"oov\":[");
            int first = 1;
            for (int w = 0; w < x->nwords; w++)
                if (x->ids[w] < 0) {
                    if (!first)
                        b4k_buf_putc(&mem, ',');
                    first = 0;
                    put_word(&mem, x->words[w], strlen(x->words[w]));
                }
            b4k_buf_putc(&mem, ']');
        }
        if (x->line) {
            b4k_jsonl_splice(out, x->line, x->len, mem.data, mem.len);
        } else {
            static const char *names[3] = {"a", "b", "c"};
            b4k_buf_putc(out, '{');
            for (int w = 0; w < x->nwords; w++) {
                b4k_buf_printf(out, "\"%s\":", x->nwords == 1 ? "word" : names[w]);
                put_word(out, x->words[w], strlen(x->words[w]));
                b4k_buf_putc(out, ',');
            }
            b4k_buf_append(out, mem.data, mem.len);
            b4k_buf_putc(out, '}');
        }
        b4k_buf_putc(out, '\n');
        b4k_buf_free(&mem);
        free(x->line);
        for (int w = 0; w < x->nwords; w++)
            free(x->words[w]);
        b4k_free(x->q.ids);
        b4k_free(x->q.scores);
    }
    b4k_free(q);
    fwrite(out->data, 1, out->len, stdout);
    b4k_buf_reset(out);
}

/* Parse one query record (its first non-blank byte at i): fills x's words
 * (and line for JSON) and *kk; B4K_EFORMAT with err set if bad. */
static int parse_query(qrec *x, const char *line, size_t len, size_t i, int need, int analogy,
                       const char *file, long ln, int *kk, b4k_err *err)
{
    if (line[i] == '{') {
        json_t *v;
        if (b4k_jsonl_parse_object(&v, line, len, file, ln, err))
            return B4K_EFORMAT;
        static const char *keys[3] = {"a", "b", "c"};
        for (int w = 0; w < need; w++) {
            const char *key2 = analogy ? keys[w] : "word";
            json_t *s = json_object_get(v, key2);
            if (!json_is_string(s)) {
                json_decref(v);
                return b4k_err_set(err, B4K_EFORMAT, file, ln, "expected a string \"%s\"", key2);
            }
            x->words[w] = b4k_strndup(json_string_value(s), json_string_length(s));
        }
        json_t *kv = json_object_get(v, "k");
        if (kv) {
            if (!json_is_integer(kv) || json_integer_value(kv) < 1 ||
                json_integer_value(kv) > 100000) {
                json_decref(v);
                return b4k_err_set(err, B4K_EFORMAT, file, ln,
                                   "\"k\" must be an integer in 1..100000");
            }
            *kk = (int)json_integer_value(kv);
        }
        json_decref(v);
        x->line = b4k_strndup(line, len);
        x->len = len;
        return 0;
    }
    int nw = 0;
    while (i < len) {
        size_t b = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            i++;
        if (nw < 3)
            x->words[nw] = b4k_strndup(line + b, i - b);
        nw++;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
    }
    if (nw != need)
        return b4k_err_set(err, B4K_EFORMAT, file, ln, "expected %d word%s, got %d", need,
                           need > 1 ? "s" : "", nw);
    return 0;
}

static int cmd_query(int argc, char **argv, int analogy)
{
    const char *prog = analogy ? "b4k-w2v analogy" : "b4k-w2v nearest";
    b4k_cli_set_prog(prog);
    b4k_cli cli = {
        .prog = prog,
        .synopsis = "[OPTIONS] MODEL [QUERIES...]",
        .summary = analogy ? "Answer analogies a:b :: c:? by 3CosAdd or 3CosMul."
                           : "Find the nearest words by cosine similarity.",
        .opts = query_opts,
        .epilog = analogy
                      ? "QUERIES: JSONL {\"a\":\"man\",\"b\":\"king\",\"c\":\"woman\",\"k\":5} or lines\n"
                        "\"man king woman\"; '-' or none = stdin.  Each output line is the input\n"
                        "record with \"answers\":[{\"word\",\"score\"}...] (and \"oov\" if a word\n"
                        "is unknown).\n"
                      : "QUERIES: JSONL {\"word\":\"king\",\"k\":10} or one word per line; '-' or\n"
                        "none = stdin.  Each output line is the input record with\n"
                        "\"nearest\":[{\"word\",\"score\"}...] (and \"oov\" if the word is unknown).\n"};
    const char *arg;
    int key, k = 10, method = B4K_W2V_ADD, fold = 0, mfmt = B4K_W2V_FMT_AUTO, keep = 0;
    size_t restrict_n = 0, batch = 1024, nbad = 0;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'k': k = (int)b4k_cli_int("--top", arg, 1, 100000); break;
        case O_RESTRICT: restrict_n = (size_t)b4k_cli_int("--restrict", arg, 1, INT32_MAX); break;
        case O_METHOD:
            if (!strcmp(arg, "add")) method = B4K_W2V_ADD;
            else if (!strcmp(arg, "mul")) method = B4K_W2V_MUL;
            else b4k_cli_usage("unknown --method '%s' (add or mul)", arg);
            break;
        case O_ICASE: fold = 1; break;
        case O_MFMT: mfmt = parse_fmt(arg); break;
        case O_BATCH: batch = (size_t)b4k_cli_int("--batch", arg, 1, 1 << 20); break;
        case O_KEEP: keep = 1; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    b4k_cli_free(&cli);
    if (!analogy && method == B4K_W2V_MUL)
        b4k_cli_usage("--method is for analogy");
    if (argc - optind < 1)
        b4k_cli_usage("expected MODEL");
    b4k_w2v *m = load_model(argv[optind++], mfmt);
    b4k_err err;
    b4k_err_clear(&err);
    b4k_w2v_index *ix;
    if (b4k_w2v_index_new(&ix, m, restrict_n, fold, &err))
        b4k_cli_die(&err);
    int nin = argc - optind;
    const char *stdin_path[1] = {"-"};
    const char *const *ins = nin ? (const char *const *)argv + optind : stdin_path;
    if (!nin)
        nin = 1;
    qrec *r = b4k_calloc(batch, sizeof *r);
    size_t nr = 0;
    b4k_buf out;
    b4k_buf_init(&out);
    int need = analogy ? 3 : 1;
    for (int f = 0; f < nin; f++) {
        b4k_stream *in;
        if (b4k_stream_open(&in, ins[f], &err)) { /* earlier answers first */
            flush_batch(ix, r, nr, method, analogy, &out);
            b4k_cli_die(&err);
        }
        char *line;
        size_t len;
        int rc;
        while ((rc = b4k_stream_getline(in, &line, &len, &err)) == 1) {
            long ln = b4k_stream_lineno(in);
            size_t i = 0;
            while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
                i++;
            if (i == len)
                continue;
            qrec *x = &r[nr];
            memset(x, 0, sizeof *x);
            int kk = k;
            b4k_err qe;
            b4k_err_clear(&qe);
            if (parse_query(x, line, len, i, need, analogy, ins[f], ln, &kk, &qe)) {
                for (int w = 0; w < 3; w++)
                    free(x->words[w]);
                free(x->line);
                memset(x, 0, sizeof *x);
                if (!keep) { /* the answers before it are written, then stop */
                    flush_batch(ix, r, nr, method, analogy, &out);
                    b4k_cli_die(&qe);
                }
                x->error = b4k_strdup(qe.msg);
                x->eline = ln;
                nbad++;
                if (++nr == batch) {
                    flush_batch(ix, r, nr, method, analogy, &out);
                    nr = 0;
                }
                continue;
            }
            x->nwords = need;
            for (int w = 0; w < need; w++) {
                x->ids[w] = b4k_w2v_index_find(ix, x->words[w], strlen(x->words[w]));
                if (x->ids[w] < 0)
                    x->oov = 1;
            }
            x->q.a = analogy ? x->ids[0] : -1;
            x->q.b = analogy ? x->ids[1] : x->ids[0];
            x->q.c = analogy ? x->ids[2] : -1;
            x->q.k = kk;
            x->q.ids = b4k_malloc_n((size_t)kk, sizeof *x->q.ids);
            x->q.scores = b4k_malloc_n((size_t)kk, sizeof *x->q.scores);
            if (!x->q.ids || !x->q.scores) {
                b4k_err_set(&err, B4K_ENOMEM, NULL, 0, "out of memory");
                flush_batch(ix, r, nr, method, analogy, &out);
                b4k_cli_die(&err);
            }
            if (++nr == batch) {
                flush_batch(ix, r, nr, method, analogy, &out);
                nr = 0;
            }
        }
        if (rc < 0) { /* a read error ends the input: earlier answers first */
            flush_batch(ix, r, nr, method, analogy, &out);
            b4k_cli_die(&err);
        }
        b4k_stream_close(in);
    }
    flush_batch(ix, r, nr, method, analogy, &out);
    if (nbad)
        b4k_cli_warn("%zu bad record%s written as {\"error\":...} (--keep-going)", nbad,
                     nbad == 1 ? "" : "s");
    b4k_buf_free(&out);
    b4k_free(r);
    b4k_w2v_index_free(ix);
    b4k_w2v_free(m);
    return b4k_cli_finish(0);
}

/* ---- eval ---- */

static const b4k_opt eval_opts[] = {
    {"analogy", 'a', required_argument, "FILE", "questions-words.txt-style analogy file"},
    {"similarity", O_SIM, required_argument, "FILE", "\"w1 w2 score\" file (repeatable)"},
    {"restrict", O_RESTRICT, required_argument, "N",
     "analogies over the N most frequent words (30000; 0 = all)"},
    {"method", O_METHOD, required_argument, "M", "add (3CosAdd, default) or mul (3CosMul)"},
    {"case-sensitive", O_CASE, no_argument, NULL, "no ASCII case folding (default: fold)"},
    {"model-format", O_MFMT, required_argument, "FMT", "auto, b4k, word2vec-text, word2vec-bin"},
    {NULL, 0, 0, NULL, NULL}};

static int cmd_eval(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-w2v eval");
    b4k_cli cli = {.prog = "b4k-w2v eval",
                   .synopsis = "[OPTIONS] MODEL",
                   .summary = "Analogy accuracy and word-similarity correlation (JSON report).",
                   .opts = eval_opts,
                   .epilog = "Analogy questions with a word outside the restricted vocabulary are\n"
                             "not answered (counted in \"total\" but not \"seen\"), as word2vec's\n"
                             "compute-accuracy does; \"accuracy\" is over seen questions,\n"
                             "\"accuracy_all\" over all.\n"};
    b4k_w2v_eval_opts o;
    memset(&o, 0, sizeof o);
    o.restrict_n = 30000;
    o.fold = 1;
    const char *arg, *sims[64];
    int key, mfmt = B4K_W2V_FMT_AUTO;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'a': o.analogy = arg; break;
        case O_SIM:
            if (o.nsim == 64) b4k_cli_usage("at most 64 --similarity files");
            sims[o.nsim++] = arg;
            break;
        case O_RESTRICT: o.restrict_n = (size_t)b4k_cli_int("--restrict", arg, 0, INT32_MAX); break;
        case O_METHOD:
            if (!strcmp(arg, "add")) o.method = B4K_W2V_ADD;
            else if (!strcmp(arg, "mul")) o.method = B4K_W2V_MUL;
            else b4k_cli_usage("unknown --method '%s' (add or mul)", arg);
            break;
        case O_CASE: o.fold = 0; break;
        case O_MFMT: mfmt = parse_fmt(arg); break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    b4k_cli_free(&cli);
    o.sim = sims;
    if (argc - optind != 1)
        b4k_cli_usage("expected one MODEL");
    if (!o.analogy && !o.nsim)
        b4k_cli_usage("nothing to evaluate: give --analogy and/or --similarity");
    b4k_w2v *m = load_model(argv[optind], mfmt);
    b4k_err err;
    b4k_err_clear(&err);
    b4k_buf rep;
    b4k_buf_init(&rep);
    if (b4k_w2v_eval(m, &o, &rep, &err))
        b4k_cli_die(&err);
    fwrite(rep.data, 1, rep.len, stdout);
    putchar('\n');
    b4k_buf_free(&rep);
    b4k_w2v_free(m);
    return b4k_cli_finish(0);
}

static const b4k_opt main_opts[] = {{NULL, 0, 0, NULL, NULL}};

int main(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-w2v");
    b4k_cli cli = {.prog = "b4k-w2v",
                   .synopsis = "COMMAND [OPTIONS] ...",
                   .summary = "word2vec: train, export, query and evaluate word vectors.",
                   .opts = main_opts,
                   .epilog = "Commands:\n"
                             "  train    train skip-gram / CBOW vectors on a corpus\n"
                             "  export   write word2vec text or binary format\n"
                             "  nearest  nearest words by cosine (JSONL queries)\n"
                             "  analogy  a:b :: c:? by 3CosAdd / 3CosMul (JSONL queries)\n"
                             "  eval     analogy accuracy and similarity Spearman (JSON report)\n"
                             "\nMODEL is a .b4k file or a word2vec text/binary file (detected).\n"
                             "Run 'b4k-w2v COMMAND --help' for a command's options.\n"};
    if (argc >= 2 && argv[1][0] != '-') {
        const char *c = argv[1];
        argv[1] = argv[0];
        if (!strcmp(c, "train")) return cmd_train(argc - 1, argv + 1);
        if (!strcmp(c, "export")) return cmd_export(argc - 1, argv + 1);
        if (!strcmp(c, "nearest")) return cmd_query(argc - 1, argv + 1, 0);
        if (!strcmp(c, "analogy")) return cmd_query(argc - 1, argv + 1, 1);
        if (!strcmp(c, "eval")) return cmd_eval(argc - 1, argv + 1);
        b4k_cli_usage("unknown command '%s'", c);
    }
    const char *arg;
    while (b4k_cli_next(&cli, argc, argv, &arg) != -1)
        b4k_cli_usage("unhandled option");
    b4k_cli_usage("expected a COMMAND (train, export, nearest, analogy, eval)");
}
