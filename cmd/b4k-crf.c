/* b4k-crf: linear-chain CRF training, tagging, evaluation and model dump. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/threads.h"
#include "crf/crf1d.h"
#include "crf/data.h"
#include "crf/eval.h"
#include "crf/model.h"
#include "crf/train.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/stream.h"

enum {
    O_C1 = B4K_OPT_LONG, O_C2, O_EPS, O_DELTA, O_PERIOD, O_MINFREQ, O_DENSE, O_STARTEND, O_SEED,
    O_ETA, O_AVG, O_HOLDOUT, O_HEVERY, O_HMETRIC, O_CKPT, O_CKPT_EVERY, O_RESUME, O_PROGRESS,
    O_OFMT, O_MARG, O_CONSTR, O_WORDS, O_TEXT, O_METRIC, O_HIST
};

static int parse_format(const char *s)
{
    int f = b4k_crf_format_from_name(s);
    if (f < 0)
        b4k_cli_usage("unknown format '%s' (conll, seg, jsonl, spans)", s);
    return f;
}

static const char *template_text(const char *arg, char **owned)
{
    *owned = NULL;
    const char *b = b4k_crf_tpl_builtin(arg);
    if (b)
        return b;
    b4k_err err;
    b4k_err_clear(&err);
    b4k_stream *s;
    if (b4k_stream_open(&s, arg, &err))
        b4k_cli_die(&err);
    b4k_buf buf;
    b4k_buf_init(&buf);
    char tmp[65536];
    for (;;) {
        size_t got;
        if (b4k_stream_read(s, tmp, sizeof tmp, &got, &err))
            b4k_cli_die(&err);
        if (b4k_buf_append(&buf, tmp, got))
            b4k_cli_dief("out of memory");
        if (got < sizeof tmp)
            break;
    }
    b4k_stream_close(s);
    b4k_buf_putc(&buf, 0);
    *owned = buf.data;
    return buf.data;
}

/* ---- learn ---- */

static const b4k_opt learn_opts[] = {
    {"output", 'o', required_argument, "MODEL", "write the model (.b4k) here (required)"},
    {"template", 't', required_argument, "T", "template file or built-in chunking, cws, ner"},
    {"format", 'f', required_argument, "FMT", "input: conll (default), seg, jsonl, spans"},
    {"algorithm", 'a', required_argument, "ALG", "lbfgs (default), l2sgd or ap"},
    {"c1", O_C1, required_argument, "X", "L1 coefficient: OWL-QN when > 0 (0)"},
    {"c2", O_C2, required_argument, "X", "L2 coefficient, c2*|w|^2 (1)"},
    {"max-iterations", 'i', required_argument, "N", "iterations or epochs (lbfgs: until converged; l2sgd 50; ap 10)"},
    {"epsilon", O_EPS, required_argument, "X", "lbfgs: stop when |g|/max(1,|w|) < X (1e-5)"},
    {"delta", O_DELTA, required_argument, "X", "stop when the objective improved by < X over the window (1e-5)"},
    {"period", O_PERIOD, required_argument, "N", "window of the delta test in iterations (10)"},
    {"history", O_HIST, required_argument, "N", "lbfgs: corrections kept (6)"},
    {"min-freq", O_MINFREQ, required_argument, "N", "drop attributes seen fewer than N times (1)"},
    {"dense", O_DENSE, required_argument, "N", "attributes seen with >= N labels get all labels (0 = seen pairs only, 1 = all; 4)"},
    {"start-end", O_STARTEND, no_argument, NULL, "learn start and end label scores"},
    {"threads", 'j', required_argument, "N", "threads for the objective (1)"},
    {"seed", O_SEED, required_argument, "S", "shuffling seed for l2sgd and ap (1)"},
    {"eta", O_ETA, required_argument, "X", "l2sgd: initial learning rate (calibrated)"},
    {"averaging", O_AVG, no_argument, NULL, "l2sgd: average the weights of epochs 2.. (epoch averaging)"},
    {"holdout", O_HOLDOUT, required_argument, "FILE", "score FILE during training, keep the best model"},
    {"holdout-every", O_HEVERY, required_argument, "N", "score the holdout every N iterations (1)"},
    {"holdout-metric", O_HMETRIC, required_argument, "M", "f1 (chunk F1, default) or acc (token accuracy)"},
    {"checkpoint", O_CKPT, required_argument, "FILE", "write the model to FILE every --checkpoint-every iterations"},
    {"checkpoint-every", O_CKPT_EVERY, required_argument, "N", "checkpoint interval (10)"},
    {"resume", O_RESUME, required_argument, "MODEL", "start from the weights of MODEL (a checkpoint)"},
    {"progress", O_PROGRESS, no_argument, NULL, "print one line per iteration on stderr"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct learn_ctx {
    const char *ckpt;
    int verbose;
    b4k_progress pr;
} learn_ctx;

static int learn_progress(void *vctx, const b4k_crf_progress *p)
{
    learn_ctx *c = vctx;
    if (c->verbose) {
        if (p->holdout)
            fprintf(stderr, "iter %d loss %.6f |w| %.4f |g| %.4f step %.4g evals %d %.2fs holdout %.4f%s\n",
                    p->iter, p->loss, p->xnorm, p->gnorm, p->step, p->nevals, p->seconds, p->score,
                    p->best ? " *" : "");
        else
            fprintf(stderr, "iter %d loss %.6f |w| %.4f |g| %.4f step %.4g evals %d %.2fs\n", p->iter,
                    p->loss, p->xnorm, p->gnorm, p->step, p->nevals, p->seconds);
    } else {
        b4k_progress_update(&c->pr, 0, "iter %d loss %.4f %.1fs", p->iter, p->loss, p->seconds);
    }
    return 0;
}

static int learn_checkpoint(void *vctx, const b4k_crf_model *m, int iter)
{
    learn_ctx *c = vctx;
    b4k_err err;
    b4k_err_clear(&err);
    (void)iter;
    if (b4k_crf_model_save(m, c->ckpt, &err))
        b4k_cli_die(&err);
    return 0;
}

static void read_corpus(const char *path, int format, b4k_crf_model *m, b4k_crf_corpus *c,
                        int grow, b4k_buf *scratch)
{
    b4k_err err;
    b4k_err_clear(&err);
    b4k_crf_reader *r;
    if (b4k_crf_reader_open(&r, path, format, grow ? 0 : m->ncol, B4K_CRF_LAB_REQUIRED, &err))
        b4k_cli_die(&err);
    b4k_crf_seq seq;
    b4k_crf_seq_init(&seq);
    int rc;
    while ((rc = b4k_crf_reader_next(r, &seq, &err)) == 1) {
        if (!seq.T)
            continue;
        if (grow && m->ncol == 0)
            m->ncol = seq.ncol;
        if (seq.ncol != m->ncol) {
            b4k_err_set(&err, B4K_EFORMAT, b4k_crf_reader_name(r), seq.line,
                        "expected %d feature columns, got %d", m->ncol, seq.ncol);
            b4k_cli_die(&err);
        }
        if (b4k_crf_corpus_add(c, m, &seq, grow, b4k_crf_reader_name(r), scratch, &err))
            b4k_cli_die(&err);
    }
    if (rc < 0)
        b4k_cli_die(&err);
    b4k_crf_seq_free(&seq);
    b4k_crf_reader_close(r);
}

static int cmd_learn(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf learn");
    b4k_cli cli = {.prog = "b4k-crf learn",
                   .synopsis = "[OPTIONS] -o MODEL -t TEMPLATE TRAIN...",
                   .summary = "Train a linear-chain CRF on labelled sequences.",
                   .opts = learn_opts};
    const char *out = NULL, *tpl = NULL, *holdout = NULL, *resume = NULL, *algo = "lbfgs";
    int format = B4K_CRF_CONLL, minfreq = 1, dense = 4, start_end = 0, verbose = 0;
    b4k_crf_train_opt o;
    b4k_crf_train_default(&o);
    o.checkpoint_every = 10;
    learn_ctx lc = {0};
    const char *arg;
    int k;
    while ((k = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (k) {
        case 'o': out = arg; break;
        case 't': tpl = arg; break;
        case 'f': format = parse_format(arg); break;
        case 'a': algo = arg; break;
        case O_C1: o.c1 = b4k_cli_double("--c1", arg, 0, 1e9); break;
        case O_C2: o.c2 = b4k_cli_double("--c2", arg, 0, 1e9); break;
        case 'i': o.max_iter = (int)b4k_cli_int("--max-iterations", arg, 1, 1000000); break;
        case O_EPS: o.epsilon = b4k_cli_double("--epsilon", arg, 0, 1); break;
        case O_DELTA: o.delta = b4k_cli_double("--delta", arg, 0, 1); break;
        case O_PERIOD: o.period = (int)b4k_cli_int("--period", arg, 0, 16); break;
        case O_HIST: o.m = (int)b4k_cli_int("--history", arg, 1, 100); break;
        case O_MINFREQ: minfreq = (int)b4k_cli_int("--min-freq", arg, 1, 1000000000); break;
        case O_DENSE: dense = (int)b4k_cli_int("--dense", arg, 0, 1000000); break;
        case O_STARTEND: start_end = 1; break;
        case 'j': o.threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        case O_SEED: o.seed = (uint64_t)b4k_cli_int("--seed", arg, 0, (1LL << 62)); break;
        case O_ETA: o.eta0 = b4k_cli_double("--eta", arg, 1e-12, 1e6); break;
        case O_AVG: o.averaging = 1; break;
        case O_HOLDOUT: holdout = arg; break;
        case O_HEVERY: o.holdout_every = (int)b4k_cli_int("--holdout-every", arg, 1, 1000000); break;
        case O_HMETRIC:
            if (!strcmp(arg, "acc")) o.holdout_acc = 1;
            else if (!strcmp(arg, "f1")) o.holdout_acc = 0;
            else b4k_cli_usage("--holdout-metric must be f1 or acc");
            break;
        case O_CKPT: lc.ckpt = arg; break;
        case O_CKPT_EVERY: o.checkpoint_every = (int)b4k_cli_int("--checkpoint-every", arg, 1, 1000000); break;
        case O_RESUME: resume = arg; break;
        case O_PROGRESS: verbose = 1; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    if (!out)
        b4k_cli_usage("missing -o MODEL");
    if (optind >= argc)
        b4k_cli_usage("missing TRAIN file");
    if (!strcmp(algo, "lbfgs"))
        o.algo = B4K_CRF_LBFGS;
    else if (!strcmp(algo, "l2sgd"))
        o.algo = B4K_CRF_SGD;
    else if (!strcmp(algo, "ap"))
        o.algo = B4K_CRF_AP;
    else
        b4k_cli_usage("unknown algorithm '%s' (lbfgs, l2sgd, ap)", algo);
    if (o.c1 > 0 && o.algo != B4K_CRF_LBFGS)
        b4k_cli_usage("--c1 (L1) needs --algorithm lbfgs (OWL-QN)");
    if (!tpl)
        tpl = format == B4K_CRF_SEG ? "cws" : format == B4K_CRF_SPANS ? "ner" : NULL;
    if (!tpl)
        b4k_cli_usage("missing -t TEMPLATE (a file, or chunking, cws, ner)");
    b4k_err err;
    b4k_err_clear(&err);
    char *owned;
    const char *text = template_text(tpl, &owned);
    b4k_crf_model m;
    b4k_crf_model_init(&m);
    if (b4k_crf_tpl_parse(&m.tpl, text, strlen(text), b4k_crf_tpl_builtin(tpl) ? tpl : tpl, &err))
        b4k_cli_die(&err);
    b4k_free(owned);
    m.format = format;
    m.start_end = start_end;
    double t0 = b4k_now();
    b4k_buf scratch;
    b4k_buf_init(&scratch);
    b4k_crf_corpus c, h;
    b4k_crf_corpus_init(&c);
    b4k_crf_corpus_init(&h);
    for (int i = optind; i < argc; i++)
        read_corpus(argv[i], format, &m, &c, 1, &scratch);
    if (!c.nseq)
        b4k_cli_dief("%s: no labelled sequences", argv[optind]);
    if (holdout)
        read_corpus(holdout, format, &m, &h, 0, &scratch);
    if (b4k_crf_features(&m, &c, holdout ? &h : NULL, minfreq, dense, &err))
        b4k_cli_die(&err);
    double tread = b4k_now() - t0;
    if (resume) {
        b4k_crf_model old;
        if (b4k_crf_model_load(&old, resume, &err))
            b4k_cli_die(&err);
        size_t n = b4k_crf_warm_start(&m, &old);
        fprintf(stderr, "b4k-crf learn: resumed %zu parameters from %s\n", n, resume);
        b4k_crf_model_free(&old);
    }
    fprintf(stderr, "b4k-crf learn: %zu sequences, %zu tokens, %d labels, %zu attributes, %zu features (%.2fs)\n",
            c.nseq, c.ntok, m.L, m.attrs.n, m.F, tread);
    char info[512];
    snprintf(info, sizeof info,
             "{\"algorithm\":\"%s\",\"c1\":%g,\"c2\":%g,\"min_freq\":%d,\"dense\":%d,\"sequences\":%zu,\"tokens\":%zu}",
             algo, o.c1, o.c2, minfreq, dense, c.nseq, c.ntok);
    m.info = b4k_strdup(info);
    lc.verbose = verbose;
    b4k_progress_init(&lc.pr, 0);
    o.progress = learn_progress;
    o.checkpoint = lc.ckpt ? learn_checkpoint : NULL;
    o.ctx = &lc;
    o.holdout = holdout ? &h : NULL;
    b4k_crf_train_result res;
    double t1 = b4k_now();
    if (b4k_crf_train(&m, &c, &o, &res, &err))
        b4k_cli_die(&err);
    b4k_progress_end(&lc.pr);
    double ttrain = b4k_now() - t1;
    if (b4k_crf_model_save(&m, out, &err))
        b4k_cli_die(&err);
    static const char *st[] = {"converged", "delta test", "max iterations", "stopped", "line search failed"};
    fprintf(stderr, "b4k-crf learn: %d iterations (%s), loss %.6f, %.2fs training, %.2fs total",
            res.iters, o.algo == B4K_CRF_LBFGS && res.status >= 0 && res.status <= 4 ? st[res.status] : "done",
            res.loss, ttrain, b4k_now() - t0);
    if (res.best_score >= 0)
        fprintf(stderr, "; best holdout %.4f at iteration %d", res.best_score, res.best_iter);
    fprintf(stderr, "\n");
    b4k_crf_corpus_free(&c);
    b4k_crf_corpus_free(&h);
    b4k_buf_free(&scratch);
    b4k_crf_model_free(&m);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

/* ---- tagging machinery shared by tag and eval ---- */

/* Per-thread tagging workspace. */
typedef struct tagws {
    b4k_crf1d_ws *ws;
    b4k_buf scratch;
    int32_t *aid;
    size_t acap;
    size_t *aoff;
    double *emit, *mg;
    int32_t *path, *paths;
    double *scores;
    size_t cap;
    double score, logz;
    int found;
    int rc;       /* B4K_ERANGE: no path satisfies the constraints */
} tagws;

typedef struct tagger {
    b4k_crf_model m;
    b4k_crf1d_tr tr;
    int nbest, marg;
    tagws w;      /* the main thread's workspace */
} tagger;

static void tagws_init(tagws *w, int L)
{
    memset(w, 0, sizeof *w);
    if (!(w->ws = b4k_crf1d_ws_new(L)))
        b4k_cli_dief("out of memory");
    b4k_buf_init(&w->scratch);
}

static void tagws_free(tagws *w)
{
    b4k_crf1d_ws_free(w->ws);
    b4k_buf_free(&w->scratch);
    b4k_free(w->aid);
    b4k_free(w->aoff);
    b4k_free(w->emit);
    b4k_free(w->mg);
    b4k_free(w->path);
    b4k_free(w->paths);
    b4k_free(w->scores);
}

static void tagger_open(tagger *tg, const char *path, const char *constraints, int nbest, int marg)
{
    b4k_err err;
    b4k_err_clear(&err);
    memset(tg, 0, sizeof *tg);
    if (b4k_crf_model_load(&tg->m, path, &err))
        b4k_cli_die(&err);
    int L = tg->m.L;
    if (b4k_crf1d_tr_init(&tg->tr, L))
        b4k_cli_dief("out of memory");
    if (constraints) {
        const char **labs = b4k_malloc_n(L, sizeof(char *));
        uint8_t *allow = b4k_malloc_n((size_t)L * L, 1), *as = b4k_malloc(L), *ae = b4k_malloc(L);
        if (!labs || !allow || !as || !ae)
            b4k_cli_dief("out of memory");
        for (int i = 0; i < L; i++)
            labs[i] = b4k_crf_model_label_str(&tg->m, i);
        if (b4k_crf1d_scheme_mask(constraints, labs, L, allow, as, ae))
            b4k_cli_usage("unknown --constraints '%s' (BIO, BIOES, BMES)", constraints);
        b4k_crf1d_tr_constrain(&tg->tr, allow, as, ae);
        b4k_free(labs);
        b4k_free(allow);
        b4k_free(as);
        b4k_free(ae);
    }
    b4k_crf_model_tr(&tg->m, &tg->tr);
    tg->nbest = nbest;
    tg->marg = marg;
    tagws_init(&tg->w, L);
}

static void tagger_close(tagger *tg)
{
    tagws_free(&tg->w);
    b4k_crf_model_free(&tg->m);
    b4k_crf1d_tr_free(&tg->tr);
}

/* Viterbi, and with --marginals / --nbest forward-backward and n-best, for
 * seq in workspace w (thread-safe: the model and tables are read-only).
 * Returns 0, B4K_ERANGE (constraints leave no path) or B4K_ENOMEM. */
static int tagger_run(const tagger *tg, tagws *w, const b4k_crf_seq *seq)
{
    size_t T = seq->T;
    int L = tg->m.L;
    if (T > w->cap) {
        size_t cap = T * 2;
        w->aoff = b4k_realloc_n(w->aoff, cap + 1, sizeof(size_t));
        w->emit = b4k_realloc_n(w->emit, cap * (size_t)L, sizeof(double));
        w->path = b4k_realloc_n(w->path, cap, sizeof(int32_t));
        if (!w->aoff || !w->emit || !w->path)
            return B4K_ENOMEM;
        if (tg->nbest > 1) {
            w->paths = b4k_realloc_n(w->paths, cap * (size_t)tg->nbest, sizeof(int32_t));
            w->scores = b4k_realloc_n(w->scores, (size_t)tg->nbest, sizeof(double));
            if (!w->paths || !w->scores)
                return B4K_ENOMEM;
        }
        if (tg->marg && !(w->mg = b4k_realloc_n(w->mg, cap * (size_t)L, sizeof(double))))
            return B4K_ENOMEM;
        w->cap = cap;
    }
    if (b4k_crf_model_attrs(&tg->m, seq, &w->scratch, &w->aid, &w->acap, w->aoff))
        return B4K_ENOMEM;
    b4k_crf_model_emit(&tg->m, w->aid, w->aoff, T, w->emit);
    int rc = b4k_crf1d_viterbi(w->ws, &tg->tr, w->emit, T, w->path, &w->score);
    if (rc)
        return rc;
    w->found = 1;
    w->logz = 0;
    if (tg->marg || tg->nbest > 1)
        if ((rc = b4k_crf1d_fb(w->ws, &tg->tr, w->emit, T, &w->logz)))
            return rc;
    if (tg->nbest > 1 &&
        (rc = b4k_crf1d_nbest(w->ws, &tg->tr, w->emit, T, tg->nbest, w->paths, w->scores, &w->found)))
        return rc;
    if (tg->marg)
        b4k_crf1d_marginals(w->ws, &tg->tr, w->mg);
    return 0;
}

/* tagger_run in the main thread, dying on failure */
static void tagger_run_main(tagger *tg, const b4k_crf_seq *seq, const char *file)
{
    int rc = tagger_run(tg, &tg->w, seq);
    if (rc == B4K_ERANGE) {
        b4k_err err;
        b4k_err_set(&err, B4K_EFORMAT, file, seq->line, "no label sequence satisfies the constraints");
        b4k_cli_die(&err);
    }
    if (rc)
        b4k_cli_dief("out of memory");
}

static void check_cols(const tagger *tg, const b4k_crf_seq *seq, const char *file)
{
    if (seq->ncol != tg->m.ncol) {
        b4k_err err;
        b4k_err_set(&err, B4K_EFORMAT, file, seq->line,
                    "the model expects %d feature column%s, the input has %d", tg->m.ncol,
                    tg->m.ncol == 1 ? "" : "s", seq->ncol);
        b4k_cli_die(&err);
    }
}

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
    {NULL, 0, 0, NULL, NULL}};

enum { OUT_CONLL, OUT_JSONL, OUT_SEG };

static void put_seg(b4k_buf *b, const b4k_crf_seq *seq, const tagger *tg, const int32_t *path)
{
    for (size_t t = 0; t < seq->T; t++) {
        if (t) {
            char c = b4k_crf_model_label_str(&tg->m, path[t])[0];
            char p = b4k_crf_model_label_str(&tg->m, path[t - 1])[0];
            if (c == 'B' || c == 'S' || p == 'E' || p == 'S')
                b4k_buf_puts(b, "  ");
        }
        b4k_buf_append(b, seq->cell[t], seq->clen[t]);
    }
    b4k_buf_putc(b, '\n');
}

static void put_labels(b4k_buf *b, const tagger *tg, const int32_t *path, size_t T)
{
    b4k_buf_putc(b, '[');
    for (size_t t = 0; t < T; t++) {
        const char *l = b4k_crf_model_label_str(&tg->m, path[t]);
        if (t)
            b4k_buf_putc(b, ',');
        b4k_buf_put_json_str(b, l, strlen(l));
    }
    b4k_buf_putc(b, ']');
}

/* Format the result in w for seq into b. */
static void tag_format(const tagger *tg, const tagws *w, const b4k_crf_seq *seq, int ofmt,
                       b4k_buf *b)
{
    size_t T = seq->T;
    int L = tg->m.L, nbest = tg->nbest, marg = tg->marg;
    if (!T) { /* empty seg line */
        b4k_buf_putc(b, '\n');
        return;
    }
    if (ofmt == OUT_SEG) {
        put_seg(b, seq, tg, w->path);
    } else if (ofmt == OUT_JSONL) {
        b4k_buf_puts(b, "{\"tokens\":[");
        for (size_t t = 0; t < T; t++) {
            if (t)
                b4k_buf_putc(b, ',');
            if (seq->ncol > 1)
                b4k_buf_putc(b, '[');
            for (int c = 0; c < seq->ncol; c++) {
                if (c)
                    b4k_buf_putc(b, ',');
                size_t i = t * seq->ncol + c;
                b4k_buf_put_json_str(b, seq->cell[i], seq->clen[i]);
            }
            if (seq->ncol > 1)
                b4k_buf_putc(b, ']');
        }
        b4k_buf_puts(b, "],\"labels\":");
        put_labels(b, tg, w->path, T);
        b4k_buf_printf(b, ",\"score\":%.6f", w->score);
        if (marg) {
            b4k_buf_printf(b, ",\"prob\":%.6g,\"marginals\":[", exp(w->score - w->logz));
            for (size_t t = 0; t < T; t++)
                b4k_buf_printf(b, "%s%.6g", t ? "," : "", w->mg[t * L + w->path[t]]);
            b4k_buf_puts(b, "]");
        }
        if (nbest > 1) {
            b4k_buf_puts(b, ",\"nbest\":[");
            for (int q = 0; q < w->found; q++) {
                b4k_buf_puts(b, q ? ",{\"labels\":" : "{\"labels\":");
                put_labels(b, tg, w->paths + (size_t)q * T, T);
                b4k_buf_printf(b, ",\"score\":%.6f,\"prob\":%.6g}", w->scores[q],
                               exp(w->scores[q] - w->logz));
            }
            b4k_buf_puts(b, "]");
        }
        b4k_buf_puts(b, "}\n");
    } else {
        for (int q = 0; q < w->found; q++) {
            const int32_t *pth = nbest > 1 ? w->paths + (size_t)q * T : w->path;
            if (nbest > 1)
                b4k_buf_printf(b, "# %d %.6f %.6g\n", q, w->scores[q], exp(w->scores[q] - w->logz));
            for (size_t t = 0; t < T; t++) {
                for (int c = 0; c < seq->ncol; c++) {
                    size_t i = t * seq->ncol + c;
                    b4k_buf_append(b, seq->cell[i], seq->clen[i]);
                    b4k_buf_putc(b, '\t');
                }
                if (seq->label) {
                    b4k_buf_append(b, seq->label[t], seq->llen[t]);
                    b4k_buf_putc(b, '\t');
                }
                b4k_buf_puts(b, b4k_crf_model_label_str(&tg->m, pth[t]));
                if (marg && q == 0)
                    b4k_buf_printf(b, "/%.6f", w->mg[t * L + pth[t]]);
                b4k_buf_putc(b, '\n');
            }
            b4k_buf_putc(b, '\n');
        }
    }
}

/* a batch of sequences tagged in parallel, written in input order */
enum { TAG_BATCH = 512 };

typedef struct tag_batch {
    const tagger *tg;
    tagws *ws;          /* (threads) */
    b4k_crf_seq *seq;   /* (TAG_BATCH) */
    b4k_buf *out;       /* (TAG_BATCH) */
    int *rc;            /* (TAG_BATCH) */
    int ofmt;
} tag_batch;

static void tag_range(void *ctx, size_t begin, size_t end, int tid)
{
    tag_batch *tb = ctx;
    for (size_t i = begin; i < end; i++) {
        b4k_buf_reset(&tb->out[i]);
        tb->rc[i] = tb->seq[i].T ? tagger_run(tb->tg, &tb->ws[tid], &tb->seq[i]) : 0;
        if (!tb->rc[i])
            tag_format(tb->tg, &tb->ws[tid], &tb->seq[i], tb->ofmt, &tb->out[i]);
    }
}

static int cmd_tag(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf tag");
    b4k_cli cli = {.prog = "b4k-crf tag",
                   .synopsis = "-m MODEL [OPTIONS] [FILE...]",
                   .summary = "Label sequences with a trained CRF (Viterbi, n-best, marginals).",
                   .opts = tag_opts};
    const char *model = NULL, *out = "-", *constraints = NULL;
    int format = -1, ofmt = -1, marg = 0, nbest = 1, threads = 1;
    const char *arg;
    int k;
    while ((k = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (k) {
        case 'm': model = arg; break;
        case 'f': format = parse_format(arg); break;
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
    /* atomic: any exit 1 (a bad sequence, a bad column count) discards it */
    FILE *fp = b4k_cli_output_open(out);
    b4k_pool *pool = threads > 1 ? b4k_pool_new(threads) : NULL;
    if (threads > 1 && !pool)
        b4k_cli_dief("cannot start %d threads", threads);
    tag_batch tb = {.tg = &tg, .ofmt = ofmt};
    tb.ws = b4k_calloc((size_t)threads, sizeof(tagws));
    tb.seq = b4k_calloc(TAG_BATCH, sizeof(b4k_crf_seq));
    tb.out = b4k_calloc(TAG_BATCH, sizeof(b4k_buf));
    tb.rc = b4k_calloc(TAG_BATCH, sizeof(int));
    if (!tb.ws || !tb.seq || !tb.out || !tb.rc)
        b4k_cli_dief("out of memory");
    tb.ws[0] = tg.w; /* thread 0 uses the main workspace */
    for (int t = 1; t < threads; t++)
        tagws_init(&tb.ws[t], tg.m.L);
    for (int i = 0; i < TAG_BATCH; i++) {
        b4k_crf_seq_init(&tb.seq[i]);
        b4k_buf_init(&tb.out[i]);
    }
    int nin = optind < argc ? argc - optind : 1;
    for (int fi = 0; fi < nin; fi++) {
        const char *path = optind < argc ? argv[optind + fi] : "-";
        b4k_crf_reader *r;
        if (b4k_crf_reader_open(&r, path, format, tg.m.ncol, B4K_CRF_LAB_AUTO, &err))
            b4k_cli_die(&err);
        const char *name = b4k_crf_reader_name(r);
        int rc = 1;
        while (rc == 1) {
            size_t n = 0;
            /* one sequence at a time without threads: output streams */
            size_t want = pool ? TAG_BATCH : 1;
            while (n < want && (rc = b4k_crf_reader_next(r, &tb.seq[n], &err)) == 1) {
                if (tb.seq[n].T)
                    check_cols(&tg, &tb.seq[n], name);
                n++;
            }
            b4k_pool_for(pool, n, tag_range, &tb);
            for (size_t i = 0; i < n; i++) {
                if (tb.rc[i] == B4K_ERANGE) {
                    b4k_err_set(&err, B4K_EFORMAT, name, tb.seq[i].line,
                                "no label sequence satisfies the constraints");
                    b4k_cli_die(&err);
                }
                if (tb.rc[i])
                    b4k_cli_dief("out of memory");
                if (tb.out[i].len && fwrite(tb.out[i].data, 1, tb.out[i].len, fp) != tb.out[i].len)
                    rc = 0; /* write error: b4k_cli_finish reports it */
            }
        }
        if (rc < 0)
            b4k_cli_die(&err);
        b4k_crf_reader_close(r);
    }
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

static int cmd_eval(int argc, char **argv)
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
        case 'f': format = parse_format(arg); break;
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
        if (lcap < T) {
            lcap = T * 2;
            gl = b4k_realloc_n(gl, lcap, sizeof(char *));
            pl = b4k_realloc_n(pl, lcap, sizeof(char *));
            if (!gl || !pl)
                b4k_cli_dief("out of memory");
        }
        if (have_model) {
            check_cols(&tg, &seq, file); /* gold labels unknown to the model just never match */
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
        if (metric && seq.ncol != 1) {
            b4k_err_set(&err, B4K_EFORMAT, file, seq.line, "word scores need one character per token");
            b4k_cli_die(&err);
        }
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

/* ---- dump ---- */

static const b4k_opt dump_opts[] = {
    {"output", 'o', required_argument, "FILE", "write here (default stdout)"},
    {NULL, 0, 0, NULL, NULL}};

static int cmd_dump(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf dump");
    b4k_cli cli = {.prog = "b4k-crf dump",
                   .synopsis = "[-o FILE] MODEL",
                   .summary = "Print a model as JSON lines: header, transitions, then state features.",
                   .opts = dump_opts};
    const char *out = "-";
    const char *arg;
    int k;
    while ((k = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (k) {
        case 'o': out = arg; break;
        default: b4k_cli_usage("unhandled option");
        }
    }
    if (optind + 1 != argc)
        b4k_cli_usage("expected one MODEL");
    b4k_err err;
    b4k_err_clear(&err);
    b4k_crf_model m;
    if (b4k_crf_model_load(&m, argv[optind], &err))
        b4k_cli_die(&err);
    FILE *fp = b4k_cli_output_open(out);
    b4k_buf b;
    b4k_buf_init(&b);
    int L = m.L;
    b4k_buf_printf(&b, "{\"labels\":[");
    for (int i = 0; i < L; i++) {
        const char *s = b4k_crf_model_label_str(&m, i);
        if (i)
            b4k_buf_putc(&b, ',');
        b4k_buf_put_json_str(&b, s, strlen(s));
    }
    b4k_buf_printf(&b, "],\"attributes\":%zu,\"features\":%zu,\"columns\":%d,\"start_end\":%s,\"template\":",
                   m.attrs.n, m.F, m.ncol, m.start_end ? "true" : "false");
    b4k_buf_put_json_str(&b, m.tpl.text, m.tpl.len);
    if (m.info)
        b4k_buf_printf(&b, ",\"training\":%s", m.info);
    b4k_buf_puts(&b, "}\n");
    fwrite(b.data, 1, b.len, fp);
    const double *tr = b4k_crf_model_trans(&m);
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) {
            b4k_buf_reset(&b);
            const char *a = b4k_crf_model_label_str(&m, i), *c = b4k_crf_model_label_str(&m, j);
            b4k_buf_puts(&b, "{\"from\":");
            b4k_buf_put_json_str(&b, a, strlen(a));
            b4k_buf_puts(&b, ",\"to\":");
            b4k_buf_put_json_str(&b, c, strlen(c));
            b4k_buf_printf(&b, ",\"weight\":%.9g}\n", tr[(size_t)i * L + j]);
            fwrite(b.data, 1, b.len, fp);
        }
    if (m.start_end)
        for (int j = 0; j < L; j++) {
            b4k_buf_reset(&b);
            const char *c = b4k_crf_model_label_str(&m, j);
            b4k_buf_puts(&b, "{\"label\":");
            b4k_buf_put_json_str(&b, c, strlen(c));
            b4k_buf_printf(&b, ",\"start\":%.9g,\"end\":%.9g}\n", b4k_crf_model_start(&m)[j],
                           b4k_crf_model_end(&m)[j]);
            fwrite(b.data, 1, b.len, fp);
        }
    for (size_t a = 0; a < m.attrs.n; a++)
        for (int64_t f = m.foff[a]; f < m.foff[a + 1]; f++) {
            b4k_buf_reset(&b);
            const char *c = b4k_crf_model_label_str(&m, m.flab[f]);
            b4k_buf_puts(&b, "{\"attr\":");
            b4k_buf_put_json_str(&b, b4k_crf_dict_str(&m.attrs, (int32_t)a),
                                 b4k_crf_dict_len(&m.attrs, (int32_t)a));
            b4k_buf_puts(&b, ",\"label\":");
            b4k_buf_put_json_str(&b, c, strlen(c));
            b4k_buf_printf(&b, ",\"weight\":%.9g}\n", m.x[f]);
            if (fwrite(b.data, 1, b.len, fp) != b.len)
                break;
        }
    b4k_cli_output_commit(fp);
    b4k_buf_free(&b);
    b4k_crf_model_free(&m);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

static const b4k_opt main_opts[] = {{NULL, 0, 0, NULL, NULL}};

int main(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-crf");
    b4k_cli cli = {.prog = "b4k-crf",
                   .synopsis = "COMMAND [OPTIONS] ...",
                   .summary = "Linear-chain conditional random fields: train, tag, evaluate, dump.",
                   .opts = main_opts,
                   .epilog = "Commands:\n"
                             "  learn  train a model (L-BFGS, OWL-QN, SGD, averaged perceptron)\n"
                             "  tag    label sequences (Viterbi, n-best, marginals, constraints)\n"
                             "  eval   conlleval chunk scores or SIGHAN word scores\n"
                             "  dump   print a model's weights as JSON lines\n"
                             "\nRun 'b4k-crf COMMAND --help' for a command's options.\n"};
    if (argc >= 2 && argv[1][0] != '-') {
        const char *c = argv[1];
        argv[1] = argv[0];
        if (!strcmp(c, "learn")) return cmd_learn(argc - 1, argv + 1);
        if (!strcmp(c, "tag")) return cmd_tag(argc - 1, argv + 1);
        if (!strcmp(c, "eval")) return cmd_eval(argc - 1, argv + 1);
        if (!strcmp(c, "dump")) return cmd_dump(argc - 1, argv + 1);
        b4k_cli_usage("unknown command '%s'", c);
    }
    const char *arg;
    while (b4k_cli_next(&cli, argc, argv, &arg) != -1)
        b4k_cli_usage("unhandled option");
    b4k_cli_usage("expected a COMMAND (learn, tag, eval, dump)");
}
