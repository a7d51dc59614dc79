/* b4k-crf tag and eval (see crf.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "b4k-crf/crf.h"
#include "core/alloc.h"
#include "core/threads.h"
#include "crf/eval.h"
#include "io/atomic.h"
#include "io/stream.h"

/* ---- tag ---- */

static const b4k_opt tag_opts[] = {
    {"model", 'm', required_argument, "MODEL", "the model (required)"},
    {"format", 'f', required_argument, "FMT", "input: conll, seg, jsonl, spans (the model's)"},
    {"output-format", O_OFMT, required_argument, "FMT", "conll, jsonl or seg (conll for conll input, seg for seg, else jsonl)"},
    {"output", 'o', required_argument, "FILE", "write here (default stdout)"},
    {"marginals", O_MARG, no_argument, NULL, "add each label's marginal probability and the sequence probability"},
    {"nbest", 'n', required_argument, "K", "output the K best label sequences with scores"},
    {"constraints", O_CONSTR, required_argument, "S", "forbid transitions invalid in BIO, BIOES or BMES"},
    {"threads", 'j', required_argument, "N", "tag with N threads (output keeps the input order) (1)"},
    {"keep-going", O_KEEP, no_argument, NULL, "write {\"error\":...,\"line\":N} for a bad record and go on"},
    {NULL, 0, 0, NULL, NULL}};

/* a batch of sequences tagged in parallel, written in input order */
enum { TAG_BATCH = 512 };

typedef struct tag_batch {
    const tagger *tg;
    tagws *ws;          /* (threads) */
    b4k_crf_seq *seq;   /* (TAG_BATCH) */
    b4k_buf *out;       /* (TAG_BATCH) */
    int *rc;            /* (TAG_BATCH) */
    int *bad;           /* (TAG_BATCH) 1: errs[i] says what is wrong with it */
    b4k_err *errs;      /* (TAG_BATCH) */
    int ofmt;
} tag_batch;

static void tag_range(void *ctx, size_t begin, size_t end, int tid)
{
    tag_batch *tb = ctx;
    for (size_t i = begin; i < end; i++) {
        b4k_buf_reset(&tb->out[i]);
        if (tb->bad[i])
            continue;
        tb->rc[i] = tb->seq[i].T ? tagger_run(tb->tg, &tb->ws[tid], &tb->seq[i]) : 0;
        if (!tb->rc[i])
            tag_format(tb->tg, &tb->ws[tid], &tb->seq[i], tb->ofmt, &tb->out[i]);
    }
}

int crf_cmd_tag(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf tag");
    b4k_cli cli = {.prog = "b4k-crf tag",
                   .synopsis = "-m MODEL [OPTIONS] [FILE...]",
                   .summary = "Label sequences with a trained CRF (Viterbi, n-best, marginals).",
                   .opts = tag_opts};
    const char *model = NULL, *out = "-", *constraints = NULL;
    int format = -1, ofmt = -1, marg = 0, nbest = 1, threads = 1, keep = 0;
    const char *arg;
    int k;
    while ((k = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (k) {
        case 'm': model = arg; break;
        case 'f': format = crf_parse_format(arg); break;
        case O_KEEP: keep = 1; break;
        case O_OFMT:
            if (!strcmp(arg, "conll")) ofmt = OUT_CONLL;
            else if (!strcmp(arg, "jsonl")) ofmt = OUT_JSONL;
            else if (!strcmp(arg, "seg")) ofmt = OUT_SEG;
            else b4k_cli_usage("unknown output format '%s' (conll, jsonl, seg)", arg);
            break;
        case 'o': out = arg; break;
        case O_MARG: marg = 1; break;
        case 'n': nbest = (int)b4k_cli_int("--nbest", arg, 1, 1000); break;
        case O_CONSTR: constraints = arg; break;
        case 'j': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    if (!model)
        b4k_cli_usage("missing -m MODEL");
    tagger tg;
    tagger_open(&tg, model, constraints, nbest, marg);
    if (format < 0)
        format = tg.m.format;
    if (ofmt < 0)
        ofmt = format == B4K_CRF_CONLL ? OUT_CONLL : format == B4K_CRF_SEG ? OUT_SEG : OUT_JSONL;
    if (ofmt == OUT_SEG && (marg || nbest > 1))
        b4k_cli_usage("--marginals and --nbest need --output-format conll or jsonl");
    b4k_err err;
    b4k_err_clear(&err);
    /* atomic: any exit 1 or 2 (b4k_cli_die) discards the temporary file */
    FILE *fp = b4k_cli_output_open(out);
    b4k_pool *pool = threads > 1 ? b4k_pool_new(threads) : NULL;
    if (threads > 1 && !pool)
        b4k_cli_dief("cannot start %d threads", threads);
    tag_batch tb = {.tg = &tg, .ofmt = ofmt};
    tb.ws = b4k_calloc((size_t)threads, sizeof(tagws));
    tb.seq = b4k_calloc(TAG_BATCH, sizeof(b4k_crf_seq));
    tb.out = b4k_calloc(TAG_BATCH, sizeof(b4k_buf));
    tb.rc = b4k_calloc(TAG_BATCH, sizeof(int));
    tb.bad = b4k_calloc(TAG_BATCH, sizeof(int));
    tb.errs = b4k_calloc(TAG_BATCH, sizeof(b4k_err));
    if (!tb.ws || !tb.seq || !tb.out || !tb.rc || !tb.bad || !tb.errs)
        b4k_cli_dief("out of memory");
    tb.ws[0] = tg.w; /* thread 0 uses the main workspace */
    for (int t = 1; t < threads; t++)
        tagws_init(&tb.ws[t], tg.m.L);
    for (int i = 0; i < TAG_BATCH; i++) {
        b4k_crf_seq_init(&tb.seq[i]);
        b4k_buf_init(&tb.out[i]);
    }
    int nin = optind < argc ? argc - optind : 1;
    size_t nbad = 0;
    for (int fi = 0; fi < nin; fi++) {
        const char *path = optind < argc ? argv[optind + fi] : "-";
        b4k_crf_reader *r;
        if (b4k_crf_reader_open(&r, path, format, tg.m.ncol, B4K_CRF_LAB_AUTO, &err))
            b4k_cli_die(&err);
        const char *name = b4k_crf_reader_name(r);
        int rc = 1, fatal = 0;
        while (rc == 1 && !fatal) {
            size_t n = 0;
            /* one sequence at a time without threads: output streams */
            size_t want = pool ? TAG_BATCH : 1;
            while (n < want && (rc = b4k_crf_reader_next(r, &tb.seq[n], &err)) != 0) {
                tb.bad[n] = 0;
                if (rc < 0) { /* a bad record: its rest is skipped with --keep-going */
                    if (!keep || err.code == B4K_ENOMEM || b4k_crf_reader_skip(r, &err)) {
                        fatal = 1;
                        break;
                    }
                    tb.bad[n] = 1;
                    tb.errs[n] = err;
                    b4k_err_clear(&err);
                    rc = 1;
                } else if (tb.seq[n].T && check_cols(&tg, &tb.seq[n], name, &tb.errs[n])) {
                    tb.bad[n] = 1;
                }
                n++;
            }
            b4k_pool_for(pool, n, tag_range, &tb);
            for (size_t i = 0; i < n; i++) {
                if (tb.rc[i] == B4K_ERANGE && !tb.bad[i]) {
                    b4k_err_set(&tb.errs[i], B4K_EFORMAT, name, tb.seq[i].line,
                                "no label sequence satisfies the constraints");
                    tb.bad[i] = 1;
                } else if (tb.rc[i] && !tb.bad[i]) {
                    b4k_cli_dief("out of memory");
                }
                b4k_buf *o = &tb.out[i];
                if (tb.bad[i]) {
                    if (!keep) { /* what came before is written, then stop */
                        fflush(fp);
                        b4k_cli_die(&tb.errs[i]);
                    }
                    nbad++;
                    b4k_buf_reset(o);
                    b4k_buf_puts(o, "{\"error\":");
                    b4k_buf_put_json_str(o, tb.errs[i].msg, strlen(tb.errs[i].msg));
                    b4k_buf_printf(o, ",\"line\":%ld}\n%s", tb.errs[i].line,
                                   ofmt == OUT_CONLL ? "\n" : "");
                }
                if (o->len && fwrite(o->data, 1, o->len, fp) != o->len)
                    rc = 0; /* write error: b4k_cli_finish reports it */
            }
        }
        if (fatal || rc < 0) {
            fflush(fp);
            b4k_cli_die(&err);
        }
        b4k_crf_reader_close(r);
    }
    if (nbad)
        b4k_cli_warn("%zu bad record%s written as {\"error\":...} (--keep-going)", nbad,
                     nbad == 1 ? "" : "s");
    b4k_cli_output_commit(fp);
    for (int t = 1; t < threads; t++)
        tagws_free(&tb.ws[t]);
    tg.w = tb.ws[0];
    for (int i = 0; i < TAG_BATCH; i++) {
        b4k_crf_seq_free(&tb.seq[i]);
        b4k_buf_free(&tb.out[i]);
    }
    b4k_free(tb.ws);
    b4k_free(tb.seq);
    b4k_free(tb.out);
    b4k_free(tb.rc);
    b4k_free(tb.bad);
    b4k_free(tb.errs);
    b4k_pool_free(pool);
    tagger_close(&tg);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

/* ---- eval ---- */

static const b4k_opt eval_opts[] = {
    {"model", 'm', required_argument, "MODEL", "tag FILE with MODEL and score it against its labels"},
    {"format", 'f', required_argument, "FMT", "conll (default, or the model's), seg, jsonl, spans"},
    {"constraints", O_CONSTR, required_argument, "S", "decode with BIO, BIOES or BMES constraints"},
    {"words", O_WORDS, required_argument, "FILE", "training words (one per line, or segmented text) for OOV recall"},
    {"metric", O_METRIC, required_argument, "M", "chunk (default) or word (default for seg)"},
    {"text", O_TEXT, no_argument, NULL, "print conlleval's text report instead of JSON"},
    {NULL, 0, 0, NULL, NULL}};

static void load_words(const char *path, b4k_crf_dict *d)
{
    b4k_err err;
    b4k_err_clear(&err);
    b4k_stream *s;
    if (b4k_stream_open(&s, path, &err))
        b4k_cli_die(&err);
    char *line;
    size_t len;
    int rc;
    while ((rc = b4k_stream_getline(s, &line, &len, &err)) == 1) {
        size_t i = 0;
        while (i < len) {
            while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
                i++;
            size_t j = i;
            while (j < len && line[j] != ' ' && line[j] != '\t' && line[j] != '\r')
                j++;
            if (j > i && b4k_crf_dict_add(d, line + i, j - i) < 0)
                b4k_cli_dief("out of memory");
            i = j;
        }
    }
    if (rc < 0)
        b4k_cli_die(&err);
    b4k_stream_close(s);
}

int crf_cmd_eval(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf eval");
    b4k_cli cli = {.prog = "b4k-crf eval",
                   .synopsis = "[-m MODEL] [OPTIONS] FILE [PRED]",
                   .summary = "Chunk P/R/F1 (conlleval) and token accuracy, or SIGHAN word P/R/F1.",
                   .opts = eval_opts,
                   .epilog = "Without -m: a conll FILE holds gold and predicted labels as its last two\n"
                             "columns (conlleval input); seg and jsonl compare FILE (gold) with PRED.\n"};
    const char *model = NULL, *constraints = NULL, *words = NULL;
    int format = -1, text = 0, metric = -1;
    const char *arg;
    int k;
    while ((k = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (k) {
        case 'm': model = arg; break;
        case 'f': format = crf_parse_format(arg); break;
        case O_CONSTR: constraints = arg; break;
        case O_WORDS: words = arg; break;
        case O_METRIC:
            if (!strcmp(arg, "chunk")) metric = 0;
            else if (!strcmp(arg, "word")) metric = 1;
            else b4k_cli_usage("--metric must be chunk or word");
            break;
        case O_TEXT: text = 1; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    if (optind >= argc)
        b4k_cli_usage("missing FILE");
    const char *file = argv[optind], *pred = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (optind + 2 < argc)
        b4k_cli_usage("too many operands");
    tagger tg;
    int have_model = model != NULL;
    if (have_model) {
        tagger_open(&tg, model, constraints, 1, 0);
        if (format < 0)
            format = tg.m.format;
        if (pred)
            b4k_cli_usage("with -m, give only the gold FILE");
    } else if (constraints) {
        b4k_cli_usage("--constraints needs -m MODEL");
    }
    if (format < 0)
        format = B4K_CRF_CONLL;
    if (metric < 0)
        metric = format == B4K_CRF_SEG;
    if (!have_model && format != B4K_CRF_CONLL && !pred)
        b4k_cli_usage("without -m, %s input needs FILE and PRED", format == B4K_CRF_SEG ? "seg" : "JSON");
    b4k_crf_dict known;
    b4k_crf_dict_init(&known);
    if (words)
        load_words(words, &known);
    b4k_err err;
    b4k_err_clear(&err);
    b4k_crf_reader *r, *rp = NULL;
    if (b4k_crf_reader_open(&r, file, format, have_model ? tg.m.ncol : 0, B4K_CRF_LAB_REQUIRED, &err))
        b4k_cli_die(&err);
    if (pred && b4k_crf_reader_open(&rp, pred, format, 0, B4K_CRF_LAB_REQUIRED, &err))
        b4k_cli_die(&err);
    b4k_crf_eval e;
    b4k_crf_eval_init(&e);
    b4k_crf_seq seq, ps;
    b4k_crf_seq_init(&seq);
    b4k_crf_seq_init(&ps);
    const char **gl = NULL, **pl = NULL;
    size_t lcap = 0;
    int rc;
    while ((rc = b4k_crf_reader_next(r, &seq, &err)) == 1) {
        size_t T = seq.T;
        if (rp) {
            int rc2 = b4k_crf_reader_next(rp, &ps, &err);
            if (rc2 < 0)
                b4k_cli_die(&err);
            if (rc2 == 0) {
                b4k_err_set(&err, B4K_EFORMAT, pred, 0, "fewer sequences than %s", file);
                b4k_cli_die(&err);
            }
            int same = ps.T == T;
            for (size_t t = 0; same && t < T; t++)
                same = ps.clen[t * ps.ncol] == seq.clen[t * seq.ncol] &&
                       !memcmp(ps.cell[t * ps.ncol], seq.cell[t * seq.ncol], seq.clen[t * seq.ncol]);
            if (!same) {
                b4k_err_set(&err, B4K_EFORMAT, pred, ps.line, "tokens differ from %s:%ld", file, seq.line);
                b4k_cli_die(&err);
            }
        }
        if (!T)
            continue;
        if (metric && seq.ncol != 1) { /* before anything is scored or tagged */
            b4k_err_set(&err, B4K_EFORMAT, file, seq.line, "word scores need one character per token");
            b4k_cli_die(&err);
        }
        if (lcap < T) {
            lcap = T * 2;
            gl = b4k_realloc_n(gl, lcap, sizeof(char *));
            pl = b4k_realloc_n(pl, lcap, sizeof(char *));
            if (!gl || !pl)
                b4k_cli_dief("out of memory");
        }
        if (have_model) {
            if (check_cols(&tg, &seq, file, &err)) /* gold labels unknown to the model never match */
                b4k_cli_die(&err);
            tagger_run_main(&tg, &seq, file);
            for (size_t t = 0; t < T; t++) {
                gl[t] = seq.label[t];
                pl[t] = b4k_crf_model_label_str(&tg.m, tg.w.path[t]);
            }
        } else if (rp) {
            for (size_t t = 0; t < T; t++) {
                gl[t] = seq.label[t];
                pl[t] = ps.label[t];
            }
        } else { /* conlleval: gold is the last feature column, pred the label column */
            if (seq.ncol < 1) {
                b4k_err_set(&err, B4K_EFORMAT, file, seq.line, "expected gold and predicted label columns");
                b4k_cli_die(&err);
            }
            for (size_t t = 0; t < T; t++) {
                gl[t] = seq.cell[t * seq.ncol + seq.ncol - 1];
                pl[t] = seq.label[t];
            }
        }
        int erc = metric ? b4k_crf_eval_words(&e, seq.cell, seq.clen, gl, pl, T, words ? &known : NULL)
                         : b4k_crf_eval_chunks(&e, gl, pl, T);
        if (erc)
            b4k_cli_dief("out of memory");
    }
    if (rc < 0)
        b4k_cli_die(&err);
    if (rp) {
        int rc2 = b4k_crf_reader_next(rp, &ps, &err);
        if (rc2 < 0)
            b4k_cli_die(&err);
        if (rc2 == 1) {
            b4k_err_set(&err, B4K_EFORMAT, pred, ps.line, "more sequences than %s", file);
            b4k_cli_die(&err);
        }
    }
    b4k_buf b;
    b4k_buf_init(&b);
    if (text ? b4k_crf_eval_text(&e, &b) : b4k_crf_eval_json(&e, &b))
        b4k_cli_dief("out of memory");
    if (!text)
        b4k_buf_putc(&b, '\n');
    fwrite(b.data, 1, b.len, stdout);
    b4k_buf_free(&b);
    b4k_free(gl);
    b4k_free(pl);
    b4k_crf_eval_free(&e);
    b4k_crf_seq_free(&seq);
    b4k_crf_seq_free(&ps);
    b4k_crf_reader_close(r);
    b4k_crf_reader_close(rp);
    b4k_crf_dict_free(&known);
    if (have_model)
        tagger_close(&tg);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

