/* b4k-crf: linear-chain CRF training, tagging, evaluation and model dump. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "b4k-crf/crf.h"
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


int crf_parse_format(const char *s)
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
    {"threads", 'j', required_argument, "N", "threads for the L-BFGS objective (1; with --resume the checkpoint's)"},
    {"seed", O_SEED, required_argument, "S", "shuffling seed for l2sgd and ap (1)"},
    {"eta", O_ETA, required_argument, "X", "l2sgd: initial learning rate (calibrated)"},
    {"averaging", O_AVG, no_argument, NULL, "l2sgd: averaged SGD (the mean of the weights after every update from epoch 2 on)"},
    {"holdout", O_HOLDOUT, required_argument, "FILE", "score FILE during training, keep the best model"},
    {"holdout-every", O_HEVERY, required_argument, "N", "score the holdout every N iterations (1)"},
    {"holdout-metric", O_HMETRIC, required_argument, "M", "f1 (chunk F1, default) or acc (token accuracy)"},
    {"checkpoint", O_CKPT, required_argument, "FILE", "write a checkpoint (model + trainer state) every --checkpoint-every iterations and at the last"},
    {"checkpoint-every", O_CKPT_EVERY, required_argument, "N", "checkpoint interval (10)"},
    {"resume", O_RESUME, required_argument, "FILE", "continue training from a checkpoint (same data and options)"},
    {"warm-start", O_WARM, required_argument, "MODEL", "start from the weights of MODEL where attributes and labels match"},
    {"progress", O_PROGRESS, no_argument, NULL, "print one line per iteration on stderr"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct learn_ctx {
    int verbose;
    b4k_progress pr;
} learn_ctx;

/* "ETA 1m05s" from the time per iteration of this run, or "" */
static void eta_text(char *buf, size_t n, const b4k_crf_progress *p)
{
    int done = p->iter - p->start_iter;
    buf[0] = 0;
    if (p->max_iter > 0 && done > 0 && p->iter <= p->max_iter) {
        double eta = p->seconds / done * (p->max_iter - p->iter);
        snprintf(buf, n, "  ETA %dm%02ds", (int)(eta / 60), (int)eta % 60);
    } else if (p->max_iter <= 0) {
        snprintf(buf, n, "  (until converged)");
    }
}

static int learn_progress(void *vctx, const b4k_crf_progress *p)
{
    learn_ctx *c = vctx;
    char eta[64];
    eta_text(eta, sizeof eta, p);
    if (c->verbose) {
        if (p->holdout)
            fprintf(stderr, "iter %d loss %.6f |w| %.4f |g| %.4f step %.4g evals %d %.2fs holdout %.4f%s%s\n",
                    p->iter, p->loss, p->xnorm, p->gnorm, p->step, p->nevals, p->seconds, p->score,
                    p->best ? " *" : "", eta);
        else
            fprintf(stderr, "iter %d loss %.6f |w| %.4f |g| %.4f step %.4g evals %d %.2fs%s\n", p->iter,
                    p->loss, p->xnorm, p->gnorm, p->step, p->nevals, p->seconds, eta);
    } else {
        int done = p->iter - p->start_iter;
        b4k_progress_update(&c->pr, 0, "iter %d%s%d  loss %.4f  %.2fs/iter%s", p->iter,
                            p->max_iter > 0 ? "/" : "", p->max_iter > 0 ? p->max_iter : 0, p->loss,
                            done > 0 ? p->seconds / done : 0.0, eta);
    }
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
    const char *out = NULL, *tpl = NULL, *holdout = NULL, *resume = NULL, *warm = NULL,
               *algo = "lbfgs";
    int format = B4K_CRF_CONLL, minfreq = 1, dense = 4, start_end = 0, verbose = 0, threads = 0;
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
        case 'f': format = crf_parse_format(arg); break;
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
        case 'j': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
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
        case O_CKPT: o.checkpoint = arg; break;
        case O_CKPT_EVERY: o.checkpoint_every = (int)b4k_cli_int("--checkpoint-every", arg, 1, 1000000); break;
        case O_RESUME: resume = arg; break;
        case O_WARM: warm = arg; break;
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
    if (resume && warm)
        b4k_cli_usage("--resume and --warm-start exclude each other");
    /* resuming: the checkpoint's thread count unless -j is given */
    o.threads = threads ? threads : resume ? 0 : 1;
    o.resume = resume;
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
    if (warm) {
        b4k_crf_model old;
        if (b4k_crf_model_load(&old, warm, &err))
            b4k_cli_die(&err);
        size_t n = b4k_crf_warm_start(&m, &old);
        fprintf(stderr, "b4k-crf learn: warm start: %zu parameters from %s\n", n, warm);
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
    o.ctx = &lc;
    o.holdout = holdout ? &h : NULL;
    b4k_crf_train_result res;
    double t1 = b4k_now();
    if (b4k_crf_train(&m, &c, &o, &res, &err)) {
        b4k_progress_end(&lc.pr);
        b4k_cli_die(&err);
    }
    b4k_progress_end(&lc.pr);
    if (res.resumed_from)
        fprintf(stderr, "b4k-crf learn: resumed at iteration %d from %s (%d thread%s)\n",
                res.resumed_from, resume, res.threads, res.threads == 1 ? "" : "s");
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
    /* atomic: any exit 1 or 2 (b4k_cli_die) discards the temporary file */
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
        if (!strcmp(c, "tag")) return crf_cmd_tag(argc - 1, argv + 1);
        if (!strcmp(c, "eval")) return crf_cmd_eval(argc - 1, argv + 1);
        if (!strcmp(c, "dump")) return cmd_dump(argc - 1, argv + 1);
        b4k_cli_usage("unknown command '%s'", c);
    }
    const char *arg;
    while (b4k_cli_next(&cli, argc, argv, &arg) != -1)
        b4k_cli_usage("unhandled option");
    b4k_cli_usage("expected a COMMAND (learn, tag, eval, dump)");
}

