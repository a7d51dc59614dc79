/* b4k-extract: fine-tune BERT for triple extraction (CasRel-style, as
 * bert4keras's task_relation_extraction.py) or NER (BERT + CRF), predict
 * over JSON lines, evaluate by exact match. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/utf8.h"
#include "ie/data.h"
#include "ie/model.h"
#include "ie/run.h"
#include "ie/task.h"
#include "ie/train.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "nn/adamw.h"
#include "tensor/blas.h"
#include "tensor/gemm_bf16.h"
#include "b4k-extract/extract.h"

#ifndef B4K_VERSION
#define B4K_VERSION "0.1"
#endif

/* ---- shared helpers ------------------------------------------------------ */

b4k_pool *make_pool(int threads)
{
    if (threads <= 0) threads = 1;
    /* GEMMs are split over b4k's pool (single-threaded OpenBLAS calls):
     * OpenBLAS's spinning threads collapse on a loaded machine */
    b4k_blas_set_threads(1);
    return threads > 1 ? b4k_pool_new(threads) : NULL;
}

static void parse_thresholds(const char *s, b4k_spo_thresh *th)
{
    float v[4];
    char tail;
    if (sscanf(s, "%f,%f,%f,%f%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4)
        b4k_cli_usage("--thresholds wants four numbers: subject start, subject end, object start, object end");
    for (int i = 0; i < 4; i++)
        if (!(v[i] > 0 && v[i] < 1)) b4k_cli_usage("--thresholds values must be in (0,1)");
    th->subj_start = v[0], th->subj_end = v[1], th->obj_start = v[2], th->obj_end = v[3];
}

/* --bf16 / --f32 of predict and eval: one of them */
static void set_prec(int *prec, int bf16)
{
    if (*prec >= 0 && *prec != bf16) b4k_cli_usage("--bf16 and --f32 exclude each other");
    *prec = bf16;
}

static void put_prf(b4k_buf *b, const b4k_ie_metrics *mt, int k)
{
    double p, r, f;
    b4k_ie_metrics_prf(mt, k, &p, &r, &f);
    b4k_buf_printf(b, "{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"gold\":%ld,\"pred\":%ld,\"correct\":%ld}",
                   p, r, f, mt->ng[k], mt->np[k], mt->tp[k]);
}

/* Per-item warnings as "prog: file:line: text" (the first few kept by the
 * library), "... and K more", then the total as a warning line. */
__attribute__((format(printf, 2, 3))) static void show_notes(const b4k_ie_notes *ns, const char *fmt, ...)
{
    if (!ns->total) return;
    const char *prog = b4k_cli_prog();
    for (int i = 0; i < ns->n; i++) {
        const b4k_ie_note *n = &ns->v[i];
        if (n->file && n->line > 0) fprintf(stderr, "%s: %s:%ld: %s\n", prog, n->file, n->line, n->text);
        else if (n->file) fprintf(stderr, "%s: %s: %s\n", prog, n->file, n->text);
        else fprintf(stderr, "%s: %s\n", prog, n->text);
    }
    if (ns->total > ns->n) fprintf(stderr, "%s: ... and %ld more\n", prog, ns->total - ns->n);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b4k_cli_warn("%ld %s", ns->total, msg);
}

/* bf16 without AVX512-BF16 runs (with the same rounding) through sgemm */
static void warn_bf16_emulated(void)
{
    if (strcmp(b4k_gemm_bf16_kernel_name(), "avx512bf16"))
        b4k_cli_warn("this CPU has no AVX512-BF16: bf16 is emulated through f32 sgemm (slower than f32)");
}

/* ---- train ------------------------------------------------------------------ */

enum {
    T_TASK = B4K_OPT_LONG, T_FORMAT, T_INIT, T_CONFIG, T_VOCAB, T_EPOCHS, T_BATCH, T_LR, T_MAXLEN,
    T_SEED, T_BF16, T_WARMUP, T_DECAY, T_WD, T_CLIP, T_ACCUM, T_EMA, T_CRFLR, T_DROPOUT, T_DEV,
    T_HOLDOUT, T_NOBUCKET, T_CKPT, T_RESUME, T_LOG, T_PROGRESS, T_THRESH, T_MAXSTEPS, T_LOGEVERY,
    T_DUMP, T_LAYERDECAY, T_CKEVERY
};

static const b4k_opt train_opts[] = {
    {"task", T_TASK, required_argument, "TASK", "spo (triples) or ner (entities)"},
    {"format", T_FORMAT, required_argument, "FMT", "lic2019, cmeie, casrel (spo); conll, cluener (ner)"},
    {"init", T_INIT, required_argument, "MODEL", "start from a pretrained BERT .b4k"},
    {"config", T_CONFIG, required_argument, "FILE", "random init from a Google bert_config.json"},
    {"vocab", T_VOCAB, required_argument, "FILE", "WordPiece vocab.txt (default with --init: the model's own)"},
    {"output", 'o', required_argument, "MODEL", "write the trained model here (atomically)"},
    {"epochs", T_EPOCHS, required_argument, "N", "passes over the training data (default 3)"},
    {"batch-size", T_BATCH, required_argument, "N", "examples per step (default 16)"},
    {"lr", T_LR, required_argument, "X", "peak learning rate (default 2e-5)"},
    {"max-len", T_MAXLEN, required_argument, "N", "tokens per text, longer ones are cut (default 128 or the model's limit)"},
    {"seed", T_SEED, required_argument, "N", "random seed (default 1)"},
    {"threads", 't', required_argument, "N", "threads (default 1)"},
    {"bf16", T_BF16, no_argument, NULL, "bf16 GEMMs (AVX512-BF16), f32 master weights and sums; the model predicts in bf16"},
    {"warmup", T_WARMUP, required_argument, "F", "linear warmup over this fraction of the steps (default 0)"},
    {"lr-decay", T_DECAY, no_argument, NULL, "decay the learning rate linearly to 0"},
    {"weight-decay", T_WD, required_argument, "X", "AdamW weight decay, not on LN and biases (default 0.01)"},
    {"clip", T_CLIP, required_argument, "X", "clip the global gradient norm (default 1; 0 = off)"},
    {"accum", T_ACCUM, required_argument, "N", "accumulate gradients over N batches (default 1)"},
    {"ema", T_EMA, required_argument, "X", "EMA of weights for evaluation and output (e.g. 0.999; default off)"},
    {"crf-lr-mult", T_CRFLR, required_argument, "X", "learning-rate multiplier of the CRF transitions (default 100)"},
    {"dropout", T_DROPOUT, required_argument, "X", "override the config's dropout rates"},
    {"layer-decay", T_LAYERDECAY, required_argument, "X",
     "layer-wise lr: layer l of L gets X^(L-l), embeddings X^(L+1) (default 1)"},
    {"dev", T_DEV, required_argument, "FILE", "held-out data (same format) for per-epoch F1"},
    {"holdout", T_HOLDOUT, required_argument, "F", "hold out this fraction of the training data for F1"},
    {"bucket", T_NOBUCKET, no_argument, NULL, "batch texts of similar length together (less padding)"},
    {"checkpoint", T_CKPT, required_argument, "FILE", "save weights + optimiser state after each epoch"},
    {"checkpoint-every", T_CKEVERY, required_argument, "N", "also save the checkpoint every N steps"},
    {"resume", T_RESUME, required_argument, "FILE", "continue from a checkpoint (bit-identical)"},
    {"max-steps", T_MAXSTEPS, required_argument, "N", "stop after N optimiser steps (checkpoint written)"},
    {"log", T_LOG, required_argument, "FILE", "append JSON lines of metrics"},
    {"log-every", T_LOGEVERY, required_argument, "N", "log the loss every N steps (default 50)"},
    {"thresholds", T_THRESH, required_argument, "A,B,C,D", "spo pointer thresholds (default 0.6,0.5,0.6,0.5)"},
    {"progress", T_PROGRESS, no_argument, NULL, "show progress on stderr"},
    {"dump-features", T_DUMP, required_argument, "FILE",
     "write the tokenised train/held-out examples as JSON lines (for reference runs)"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct topts {
    const char *task, *format, *init, *config, *vocab, *output, *dev, *ckpt, *resume, *log, *dump;
    int progress, has_th, logevery;
    long max_steps, ckpt_every;
    unsigned given;       /* B4K_IE_S_* bits of the settings given on the command line */
    b4k_ie_settings s;
    b4k_spo_thresh th;
} topts;

static void log_line(FILE *lf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(FILE *lf, const char *fmt, ...)
{
    if (!lf) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(lf, fmt, ap);
    va_end(ap);
    fputc('\n', lf);
    fflush(lf);
}

/* progress line, per-epoch summary on stderr, JSON lines log */
struct tctx {
    b4k_progress *pr;
    FILE *lf;
    int epochs, logevery;
    double t0;
    long step0;
    double loss_sum;
    long loss_n;
};

/* A failed run: an "error" event in the log, then the message and exit 1. */
__attribute__((noreturn)) static void train_die(FILE *lf, const b4k_err *err)
{
    if (lf) {
        b4k_buf b = {0};
        char msg[1024];
        b4k_err_format(err, msg, sizeof msg);
        b4k_buf_puts(&b, "{\"event\":\"error\",\"message\":");
        b4k_buf_put_json_str(&b, msg, strlen(msg));
        b4k_buf_putc(&b, '}');
        log_line(lf, "%.*s", (int)b.len, b.data);
        b4k_buf_free(&b);
        fclose(lf);
    }
    b4k_cli_die(err);
}

__attribute__((noreturn, format(printf, 2, 3))) static void train_dief(FILE *lf, const char *fmt, ...)
{
    b4k_err err;
    b4k_err_clear(&err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    err.code = B4K_EFORMAT; /* exit 1 */
    train_die(lf, &err);
}

static void on_event(void *vc, const b4k_ie_event *e)
{
    struct tctx *c = vc;
    double el = b4k_now() - c->t0;
    if (e->kind == B4K_IE_EV_STEP) {
        double rate = (e->step - c->step0) / (el > 0 ? el : 1e-9);
        c->loss_sum += e->loss, c->loss_n++;
        b4k_progress_update(c->pr, 0, "epoch %d/%d step %ld/%ld loss %.4f %.2f steps/s ETA %.0fs",
                            e->epoch, c->epochs, e->step, e->total_steps, c->loss_sum / c->loss_n, rate,
                            (e->total_steps - e->step) / (rate > 0 ? rate : 1e-9));
        if (e->step % c->logevery == 0) {
            log_line(c->lf, "{\"event\":\"step\",\"step\":%ld,\"epoch\":%d,\"loss\":%.6f,\"grad_norm\":%.4f,\"lr\":%.6g,\"steps_per_s\":%.3f}",
                     e->step, e->epoch, c->loss_sum / c->loss_n, e->grad_norm, e->lr, rate);
            c->loss_sum = 0, c->loss_n = 0;
        }
        return;
    }
    if (e->kind == B4K_IE_EV_CHECKPOINT) {
        log_line(c->lf, "{\"event\":\"checkpoint\",\"epoch\":%d,\"step\":%ld}", e->epoch, e->step);
        return;
    }
    b4k_progress_end(c->pr);
    if (e->f1 >= 0)
        fprintf(stderr, "b4k-extract: epoch %d: loss %.4f, held-out P %.4f R %.4f F1 %.4f (%.0fs)\n",
                e->epoch, e->loss, e->precision, e->recall, e->f1, el);
    log_line(c->lf, "{\"event\":\"epoch\",\"epoch\":%d,\"step\":%ld,\"loss\":%.6f,\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"seconds\":%.2f}",
             e->epoch, e->step, e->loss, e->precision, e->recall, e->f1, el);
}

static void parse_train(topts *o, b4k_cli *cli, int argc, char **argv)
{
    const char *arg;
    int key;
    b4k_ie_settings *s = &o->s;
    memset(o, 0, sizeof *o);
    *s = (b4k_ie_settings){.epochs = 3, .batch = 16, .accum = 1, .threads = 1, .seed = 1, .lr = 2e-5,
                           .wd = 0.01, .clip = 1.0, .crf_lr_mult = 100, .layer_decay = 1, .dropout = -1};
    o->logevery = 50;
    while ((key = b4k_cli_next(cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case T_TASK: o->task = arg; break;
        case T_FORMAT: o->format = arg; break;
        case T_INIT: o->init = arg; break;
        case T_CONFIG: o->config = arg; break;
        case T_VOCAB: o->vocab = arg; break;
        case 'o': o->output = arg; break;
        case T_EPOCHS: s->epochs = (int)b4k_cli_int("--epochs", arg, 0, 100000); o->given |= B4K_IE_S_EPOCHS; break;
        case T_BATCH: s->batch = (int)b4k_cli_int("--batch-size", arg, 1, 4096); o->given |= B4K_IE_S_BATCH; break;
        case T_LR: s->lr = b4k_cli_double("--lr", arg, 0, 10); o->given |= B4K_IE_S_LR; break;
        case T_MAXLEN: s->max_len = (int)b4k_cli_int("--max-len", arg, 3, 65536); o->given |= B4K_IE_S_MAXLEN; break;
        case T_SEED: s->seed = (uint64_t)b4k_cli_int("--seed", arg, 0, (1LL << 62)); o->given |= B4K_IE_S_SEED; break;
        case 't': s->threads = (int)b4k_cli_int("--threads", arg, 1, 256); o->given |= B4K_IE_S_THREADS; break;
        case T_BF16: s->bf16 = 1; o->given |= B4K_IE_S_BF16; break;
        case T_WARMUP: s->warmup = b4k_cli_double("--warmup", arg, 0, 1); o->given |= B4K_IE_S_WARMUP; break;
        case T_DECAY: s->decay = 1; o->given |= B4K_IE_S_DECAY; break;
        case T_WD: s->wd = b4k_cli_double("--weight-decay", arg, 0, 10); o->given |= B4K_IE_S_WD; break;
        case T_CLIP: s->clip = b4k_cli_double("--clip", arg, 0, 1e9); o->given |= B4K_IE_S_CLIP; break;
        case T_ACCUM: s->accum = (int)b4k_cli_int("--accum", arg, 1, 1024); o->given |= B4K_IE_S_ACCUM; break;
        case T_EMA: s->ema = b4k_cli_double("--ema", arg, 0, 0.999999); o->given |= B4K_IE_S_EMA; break;
        case T_CRFLR: s->crf_lr_mult = b4k_cli_double("--crf-lr-mult", arg, 1e-6, 1e6); o->given |= B4K_IE_S_CRFLR; break;
        case T_DROPOUT: s->dropout = b4k_cli_double("--dropout", arg, 0, 0.99); o->given |= B4K_IE_S_DROPOUT; break;
        case T_DEV: o->dev = arg; break;
        case T_HOLDOUT: s->holdout = b4k_cli_double("--holdout", arg, 0, 0.9); o->given |= B4K_IE_S_HOLDOUT; break;
        case T_NOBUCKET: s->bucket = 1; o->given |= B4K_IE_S_BUCKET; break;
        case T_CKPT: o->ckpt = arg; break;
        case T_CKEVERY: o->ckpt_every = b4k_cli_int("--checkpoint-every", arg, 1, 1LL << 40); break;
        case T_RESUME: o->resume = arg; break;
        case T_MAXSTEPS: o->max_steps = b4k_cli_int("--max-steps", arg, 1, 1LL << 40); break;
        case T_LOG: o->log = arg; break;
        case T_LOGEVERY: o->logevery = (int)b4k_cli_int("--log-every", arg, 1, 1 << 30); break;
        case T_THRESH: parse_thresholds(arg, &o->th); o->has_th = 1; break;
        case T_PROGRESS: o->progress = 1; break;
        case T_DUMP: o->dump = arg; break;
        case T_LAYERDECAY: s->layer_decay = b4k_cli_double("--layer-decay", arg, 0.01, 1); o->given |= B4K_IE_S_LAYERDECAY; break;
        }
    }
    if (!o->task || (strcmp(o->task, "spo") && strcmp(o->task, "ner"))) b4k_cli_usage("--task spo or --task ner is required");
    int fmt = o->format ? b4k_ie_format_parse(o->format) : 0;
    if (!fmt) b4k_cli_usage("--format must be lic2019, cmeie, casrel, conll or cluener");
    if (b4k_ie_format_is_spo(fmt) != !strcmp(o->task, "spo"))
        b4k_cli_usage("--format %s does not fit --task %s", o->format, o->task);
    if (!o->output) b4k_cli_usage("-o MODEL is required");
    if (!o->init && !o->config && !o->resume) b4k_cli_usage("--init MODEL or --config JSON is required");
    if (o->config && !o->vocab) b4k_cli_usage("--config needs --vocab");
    if (o->init && o->config) b4k_cli_usage("--init and --config exclude each other");
    if (optind >= argc) b4k_cli_usage("no training data file");
    if (o->ckpt_every && !o->ckpt) b4k_cli_usage("--checkpoint-every needs --checkpoint");
    if (s->holdout > 0 && o->dev) b4k_cli_usage("--holdout and --dev exclude each other");
}

/* With --resume, --config/--init name the model the checkpoint must be of. */
static void check_resume_arch(FILE *lf, const topts *o, const b4k_ie_model *m)
{
    b4k_bert_config c;
    b4k_err err;
    const char *src = o->config ? o->config : o->init;
    if (!src) return;
    if (o->config ? b4k_ie_bert_config(&c, &err, o->config) : b4k_ie_model_peek_config(&c, &err, o->init))
        train_die(lf, &err);
    const b4k_bert_config *k = &m->cfg;
    if (c.vocab != k->vocab || c.hidden != k->hidden || c.layers != k->layers || c.heads != k->heads ||
        c.inter != k->inter || c.max_pos != k->max_pos || c.type_vocab != k->type_vocab ||
        c.gelu_tanh != k->gelu_tanh)
        train_dief(lf, "%s: the model differs from the checkpoint %s's (%d layers, hidden %d, vocab %d)",
                   src, o->resume, k->layers, k->hidden, k->vocab);
}

static int cmd_train(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-extract train");
    b4k_cli cli = {.prog = "b4k-extract train",
                   .synopsis = "--task spo|ner --format FMT (--init MODEL | --config JSON --vocab FILE) -o MODEL [OPTIONS] FILE...",
                   .summary = "Fine-tune BERT for triple extraction or NER.",
                   .opts = train_opts};
    topts o;
    parse_train(&o, &cli, argc, argv);
    int task = !strcmp(o.task, "spo") ? B4K_IE_SPO : B4K_IE_NER;
    int fmt = b4k_ie_format_parse(o.format);
    FILE *lf = NULL;
    if (o.log && !(lf = fopen(o.log, "a"))) b4k_cli_dief("%s: cannot open: %m", o.log);

    b4k_err err;
    b4k_err_clear(&err);
    b4k_ie_data data = {0}, dev = {0};
    b4k_ie_names names = {0};
    b4k_ie_model m;
    memset(&m, 0, sizeof m);
    b4k_ie_optload ol = {0};
    b4k_ie_settings ck;
    int resumed = 0;
    if (o.resume) {
        if (b4k_ie_model_load(&m, &err, o.resume, &ol)) train_die(lf, &err);
        if (m.task != task) train_dief(lf, "%s: checkpoint is for another task", o.resume);
        if (!ol.m || !ol.v) train_dief(lf, "%s: no optimiser state (not a checkpoint)", o.resume);
        if (b4k_ie_settings_from_json(&ck, &err, ol.training, o.resume)) train_die(lf, &err);
        for (int i = 0; i < m.names.n; i++)
            if (b4k_ie_names_add(&names, m.names.v[i]) < 0) train_dief(lf, "out of memory");
        check_resume_arch(lf, &o, &m);
        resumed = 1;
    }
    for (int i = optind; i < argc; i++)
        if (b4k_ie_read(&data, &err, argv[i], fmt, &names, resumed)) train_die(lf, &err);
    if (o.dev && b4k_ie_read(&dev, &err, o.dev, fmt, &names, 1)) train_die(lf, &err);
    show_notes(&data.missing, "gold triples with a subject or object not in their text (skipped)");
    show_notes(&data.unknown, "gold %s outside the checkpoint's schema (skipped)",
               task == B4K_IE_SPO ? "triples with predicates" : "entities with types");
    show_notes(&dev.missing, "gold triples of --dev with a subject or object not in their text (counted as missed)");
    show_notes(&dev.unknown, "gold %s of --dev outside the schema (not scored)",
               task == B4K_IE_SPO ? "triples with predicates" : "entities with types");
    o.s.documents = (long)data.n;
    o.s.data_hash = b4k_ie_data_hash(&data);
    if (resumed) {
        const char *note;
        b4k_ie_settings merged;
        if (b4k_ie_settings_resume(&merged, &err, &ck, &o.s, o.given, o.resume, &note)) train_die(lf, &err);
        if (note) b4k_cli_warn("%s", note);
        o.s = merged;
    } else {
        b4k_bert_config c;
        if (o.config) {
            if (b4k_ie_bert_config(&c, &err, o.config)) train_die(lf, &err);
        } else if (b4k_ie_model_peek_config(&c, &err, o.init)) train_die(lf, &err);
        if (o.s.dropout >= 0) c.drop_hidden = c.drop_attn = (float)o.s.dropout;
        if (!o.s.max_len) o.s.max_len = c.max_pos < 128 ? c.max_pos : 128;
        if (o.s.max_len > c.max_pos) b4k_cli_usage("--max-len %d exceeds max_position_embeddings %d", o.s.max_len, c.max_pos);
        if (b4k_ie_model_create(&m, &err, task, &c, &names, o.vocab, o.init, o.s.max_len, o.s.seed))
            train_die(lf, &err);
        if (o.init && b4k_ie_model_init_from(&m, &err, o.init)) train_die(lf, &err);
    }
    const b4k_ie_settings *s = &o.s;
    if (o.has_th) m.th = o.th;
    m.bf16 = s->bf16; /* the runner's precision, and the written model's */
    if (s->bf16) warn_bf16_emulated();
    if (b4k_ie_model_set_lr_mults(&m, &err, s->crf_lr_mult, s->layer_decay)) train_die(lf, &err);

    b4k_ie_exset ex = {0}, dex = {0};
    if (b4k_ie_featurize(&ex, &err, m.wp, &data, task, m.max_len)) train_die(lf, &err);
    if (dev.n && b4k_ie_featurize(&dex, &err, m.wp, &dev, task, m.max_len)) train_die(lf, &err);
    b4k_ie_notes_merge(&ex.truncated, &dex.truncated);
    b4k_ie_notes_merge(&ex.dropped, &dex.dropped);
    show_notes(&ex.truncated, "texts longer than --max-len %d tokens were cut", m.max_len);
    show_notes(&ex.dropped, "gold items lost to the cut or not alignable to tokens (not trained on)");
    /* training examples (spo: with at least one triple), held-out examples */
    int32_t *use = b4k_malloc_n(data.n ? data.n : 1, sizeof *use), *hold = b4k_malloc_n(data.n ? data.n : 1, sizeof *hold);
    size_t nuse = 0, nhold = 0;
    if (!use || !hold) train_dief(lf, "out of memory");
    if (b4k_ie_split(use, &nuse, hold, &nhold, &err, &ex, task, s->holdout, s->seed)) train_die(lf, &err);
    if (!nuse) train_dief(lf, "no usable training examples");
    if (o.dump && b4k_ie_dump_features(o.dump, &err, &ex, &data, &m.names, use, nuse, hold, nhold))
        train_die(lf, &err);
    int32_t *didx = NULL;
    if (dex.n) {
        didx = b4k_malloc_n(dex.n, sizeof *didx);
        if (!didx) train_dief(lf, "out of memory");
        for (size_t i = 0; i < dex.n; i++) didx[i] = (int32_t)i;
    }

    b4k_pool *pool = make_pool(s->threads);
    b4k_ie_runner run;
    if (b4k_ie_runner_init(&run, &err, &m, s->batch, m.max_len, 1, pool)) train_die(lf, &err);
    long steps_per_epoch = b4k_ie_steps_per_epoch(nuse, s->batch, s->accum);
    b4k_progress pr;
    b4k_adamw_opts ao;
    b4k_adamw_defaults(&ao);
    ao.lr = (float)s->lr;
    ao.weight_decay = (float)s->wd;
    ao.clip_norm = (float)s->clip;
    ao.total_steps = s->decay ? steps_per_epoch * s->epochs : 0;
    ao.warmup_steps = (long)(s->warmup * steps_per_epoch * s->epochs);
    ao.ema_decay = (float)s->ema;
    b4k_adamw opt;
    if (b4k_adamw_init(&opt, &err, &m.tab, &ao)) train_die(lf, &err);
    if (resumed) {
        if (opt.ema && !ol.ema) train_dief(lf, "%s: the checkpoint has no EMA weights", o.resume);
        memcpy(opt.m, ol.m, m.tab.total * sizeof(float));
        memcpy(opt.v, ol.v, m.tab.total * sizeof(float));
        if (opt.ema) memcpy(opt.ema, ol.ema, m.tab.total * sizeof(float));
        opt.step = ol.step;
    }
    json_t *sj = b4k_ie_settings_json(s);
    if (!sj) train_dief(lf, "out of memory");
    log_line(lf, "{\"event\":\"start\",\"task\":\"%s\",\"train\":%zu,\"heldout\":%zu,\"dev\":%zu,\"params\":%zu,\"steps_per_epoch\":%ld,\"epochs\":%d,\"batch_size\":%d,\"lr\":%g,\"seed\":%llu,\"threads\":%d,\"precision\":\"%s\",\"resume_step\":%ld}",
             o.task, nuse, nhold, dex.n, m.tab.total, steps_per_epoch, s->epochs, s->batch, s->lr,
             (unsigned long long)s->seed, s->threads, s->bf16 ? "bf16" : "f32", opt.step);

    struct tctx tc = {&pr, lf, s->epochs, o.logevery, b4k_now(), opt.step, 0, 0};
    b4k_progress_init(&pr, o.progress);
    b4k_ie_evalset ev = {nhold ? &ex : &dex, nhold ? &data : &dev, nhold ? hold : didx,
                         nhold ? nhold : dex.n};
    b4k_ie_train_cfg tcfg = {s->epochs, s->batch, s->accum, s->bucket, o.max_steps, s->seed, o.ckpt,
                             o.ckpt_every, sj};
    if (b4k_ie_train(&m, &run, &opt, &err, &ex, use, nuse, &ev, &tcfg, on_event, &tc)) {
        b4k_progress_end(&pr);
        train_die(lf, &err);
    }
    b4k_progress_end(&pr);
    double t0 = tc.t0;
    if (opt.step < steps_per_epoch * s->epochs)
        log_line(lf, "{\"event\":\"stop\",\"step\":%ld,\"max_steps\":%ld}", opt.step, o.max_steps);
    /* final model: EMA weights when on */
    b4k_adamw_ema_apply(&opt, &m.tab);
    /* only deterministic facts: the same run gives the same bytes */
    json_t *extra = json_deep_copy(sj);
    if (!extra || json_object_set_new(extra, "steps", json_integer(opt.step)) ||
        json_object_set_new(extra, "train_examples", json_integer((json_int_t)nuse)) ||
        json_object_set_new(extra, "heldout_examples", json_integer((json_int_t)nhold)))
        train_dief(lf, "out of memory");
    if (b4k_ie_model_save(&m, &err, o.output, extra, NULL)) train_die(lf, &err);
    json_decref(extra);
    json_decref(sj);
    log_line(lf, "{\"event\":\"done\",\"steps\":%ld,\"seconds\":%.2f,\"output\":\"%s\"}", opt.step,
             b4k_now() - t0, o.output);
    if (lf) fclose(lf);
    b4k_adamw_free(&opt);
    b4k_ie_runner_free(&run);
    b4k_pool_free(pool);
    b4k_ie_exset_free(&ex);
    b4k_ie_exset_free(&dex);
    b4k_ie_data_free(&data);
    b4k_ie_data_free(&dev);
    b4k_ie_names_free(&names);
    b4k_ie_model_free(&m);
    free(ol.m), free(ol.v), free(ol.ema);
    json_decref(ol.training);
    free(use), free(hold), free(didx);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

/* ---- predict ---------------------------------------------------------------- */

enum { P_MODEL = B4K_OPT_LONG + 100, P_BATCH, P_KEEP, P_FIELD, P_THRESH, P_MAXLEN, P_BF16, P_F32 };

static const b4k_opt predict_opts[] = {
    {"model", 'm', required_argument, "MODEL", "trained extraction model (.b4k)"},
    {"output", 'o', required_argument, "FILE", "write to FILE (atomically) instead of stdout"},
    {"field", P_FIELD, required_argument, "NAME", "text field of the input records (default text)"},
    {"batch-size", P_BATCH, required_argument, "N", "texts per forward pass (default 16)"},
    {"threads", 't', required_argument, "N", "threads (default 1)"},
    {"thresholds", P_THRESH, required_argument, "A,B,C,D", "spo pointer thresholds"},
    {"bf16", P_BF16, no_argument, NULL, "bf16 GEMMs in the encoder (default: as the model was trained)"},
    {"f32", P_F32, no_argument, NULL, "f32 GEMMs, also for a model trained with --bf16"},
    {"keep-going", P_KEEP, no_argument, NULL, "write {\"error\":...,\"line\":N} for a bad record and go on"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct pbatch {
    b4k_ie_data d;
    b4k_buf raw;        /* input lines */
    size_t *off, *len;
    long *line;
    char **errmsg;      /* per record: NULL or an error text (keep-going) */
    size_t n, cap;
} pbatch;

static void pbatch_reset(pbatch *pb)
{
    b4k_ie_data_free(&pb->d);
    for (size_t i = 0; i < pb->n; i++) free(pb->errmsg[i]);
    pb->n = 0;
    pb->raw.len = 0;
}

static void flush_batch(pbatch *pb, b4k_ie_model *m, b4k_ie_runner *r, FILE *out, const char *name,
                        b4k_ie_notes *trunc)
{
    b4k_err err;
    b4k_ie_exset ex = {0};
    if (b4k_ie_featurize(&ex, &err, m->wp, &pb->d, m->task, m->max_len)) b4k_cli_die(&err);
    b4k_ie_notes_merge(trunc, &ex.truncated);
    int32_t *idx = b4k_malloc_n(ex.n ? ex.n : 1, sizeof *idx);
    b4k_ie_doc *pred = b4k_calloc(ex.n ? ex.n : 1, sizeof *pred);
    if (!idx || !pred) b4k_cli_dief("out of memory");
    for (size_t i = 0; i < ex.n; i++) idx[i] = (int32_t)i;
    if (b4k_ie_predict(m, r, &err, &ex, &pb->d, idx, ex.n, pred)) b4k_cli_die(&err);
    b4k_buf o = {0}, mem = {0};
    size_t k = 0;
    for (size_t i = 0; i < pb->n; i++) {
        o.len = 0;
        if (pb->errmsg[i]) {
            b4k_buf_puts(&o, "{\"error\":");
            b4k_buf_put_json_str(&o, pb->errmsg[i], strlen(pb->errmsg[i]));
            b4k_buf_printf(&o, ",\"line\":%ld}", pb->line[i]);
        } else {
            mem.len = 0;
            b4k_ie_put_result(&mem, m, &pb->d.doc[k], &pred[k]);
            const char *key = m->task == B4K_IE_SPO ? "spo_list" : "entities";
            json_t *orig = NULL;
            b4k_buf re = {0};
            const char *src = pb->raw.data + pb->off[i];
            size_t srclen = pb->len[i];
            /* an input that already has the output member (gold data):
             * replace it instead of writing the key twice */
            if (memmem(src, srclen, key, strlen(key)) &&
                !b4k_jsonl_parse_object(&orig, src, srclen, name, pb->line[i], &err) &&
                json_object_get(orig, key)) {
                json_object_del(orig, key);
                b4k_jsonl_dump(&re, orig);
                src = re.data;
                srclen = re.len;
            }
            b4k_jsonl_splice(&o, src, srclen, mem.data, mem.len);
            json_decref(orig);
            b4k_buf_free(&re);
            k++;
        }
        b4k_buf_putc(&o, '\n');
        fwrite(o.data, 1, o.len, out);
    }
    b4k_buf_free(&o);
    b4k_buf_free(&mem);
    b4k_ie_pred_free(pred, ex.n);
    free(pred);
    free(idx);
    b4k_ie_exset_free(&ex);
    pbatch_reset(pb);
}

static int cmd_predict(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-extract predict");
    b4k_cli cli = {.prog = "b4k-extract predict",
                   .synopsis = "-m MODEL [OPTIONS] [FILE...]",
                   .summary = "Extract triples or entities from JSON lines (input record + spo_list or entities).",
                   .opts = predict_opts};
    const char *model = NULL, *output = NULL, *field = "text", *arg;
    int batch = 16, threads = 1, keep = 0, key, has_th = 0, prec = -1;
    b4k_spo_thresh th;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'm': model = arg; break;
        case 'o': output = arg; break;
        case P_FIELD: field = arg; break;
        case P_BATCH: batch = (int)b4k_cli_int("--batch-size", arg, 1, 4096); break;
        case 't': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        case P_THRESH: parse_thresholds(arg, &th); has_th = 1; break;
        case P_KEEP: keep = 1; break;
        case P_BF16: case P_F32: set_prec(&prec, key == P_BF16); break;
        }
    }
    if (!model) b4k_cli_usage("-m MODEL is required");
    b4k_err err;
    b4k_ie_model m;
    if (b4k_ie_model_load(&m, &err, model, NULL)) b4k_cli_die(&err);
    if (has_th) m.th = th;
    if (prec >= 0) m.bf16 = prec;
    if (m.bf16) warn_bf16_emulated();
    FILE *out = b4k_cli_output_open(output); /* atomic; stdout for none or "-" */
    b4k_pool *pool = make_pool(threads);
    b4k_ie_runner r;
    if (b4k_ie_runner_init(&r, &err, &m, batch, m.max_len, 0, pool)) b4k_cli_die(&err);
    pbatch pb;
    memset(&pb, 0, sizeof pb);
    b4k_ie_notes trunc = {0}, unknown = {0};
    int nin = argc - optind;
    char **fnames = b4k_calloc(nin ? (size_t)nin : 1, sizeof *fnames);
    if (!fnames) b4k_cli_dief("out of memory");
    for (int fi = 0; fi < (nin ? nin : 1); fi++) {
        const char *path = nin ? argv[optind + fi] : "-";
        b4k_stream *st;
        if (b4k_stream_open(&st, path, &err)) b4k_cli_die(&err);
        if (!(fnames[fi] = b4k_strdup(b4k_stream_name(st)))) b4k_cli_dief("out of memory");
        char *ln;
        size_t n;
        int rc;
        while ((rc = b4k_stream_getline(st, &ln, &n, &err)) > 0) {
            long line = b4k_stream_lineno(st);
            size_t k = 0;
            while (k < n && (ln[k] == ' ' || ln[k] == '\t' || ln[k] == '\r')) k++;
            if (k == n) continue;
            if (pb.n == pb.cap) {
                size_t c = pb.cap ? 2 * pb.cap : 64;
                pb.off = realloc(pb.off, c * sizeof *pb.off);
                pb.len = realloc(pb.len, c * sizeof *pb.len);
                pb.line = realloc(pb.line, c * sizeof *pb.line);
                pb.errmsg = realloc(pb.errmsg, c * sizeof *pb.errmsg);
                if (!pb.off || !pb.len || !pb.line || !pb.errmsg) b4k_cli_dief("out of memory");
                pb.cap = c;
            }
            json_t *o = NULL;
            size_t tl = 0;
            const char *text = NULL;
            b4k_err e2;
            b4k_err_clear(&e2);
            if (!b4k_jsonl_parse_object(&o, ln, n, b4k_stream_name(st), line, &e2))
                text = b4k_json_get_str(o, field, &tl, b4k_stream_name(st), line, &e2);
            if (text && b4k_utf8_check(text, tl) != (size_t)-1) {
                b4k_err_set(&e2, B4K_EFORMAT, b4k_stream_name(st), line, "text is not valid UTF-8");
                text = NULL;
            }
            pb.errmsg[pb.n] = NULL;
            if (!text) {
                if (!keep) {
                    /* the records before the bad one are still written */
                    json_decref(o);
                    flush_batch(&pb, &m, &r, out, path, &trunc);
                    fflush(out);
                    b4k_cli_die(&e2);
                }
                pb.errmsg[pb.n] = b4k_strdup(e2.msg);
            } else {
                if (b4k_ie_data_add_text(&pb.d, text, tl, fnames[fi], line)) b4k_cli_dief("out of memory");
                b4k_ie_gold_unknown(&unknown, o, m.task == B4K_IE_SPO, &m.names, fnames[fi], line);
            }
            json_decref(o);
            pb.off[pb.n] = pb.raw.len;
            pb.len[pb.n] = n;
            pb.line[pb.n] = line;
            b4k_buf_append(&pb.raw, ln, n);
            pb.n++;
            if (pb.d.n >= (size_t)batch * 4) flush_batch(&pb, &m, &r, out, path, &trunc);
        }
        flush_batch(&pb, &m, &r, out, path, &trunc);
        if (rc < 0) { /* a read error: the records before it are written */
            fflush(out);
            b4k_cli_die(&err);
        }
        b4k_stream_close(st);
    }
    show_notes(&trunc, "texts longer than the model's max_len %d tokens were cut (nothing is extracted past the cut)", m.max_len);
    show_notes(&unknown, "gold %s in the input are not in the model's schema (it cannot predict them)",
               m.task == B4K_IE_SPO ? "predicates" : "entity types");
    for (int fi = 0; fi < (nin ? nin : 1); fi++) free(fnames[fi]);
    free(fnames);
    pbatch_reset(&pb);
    b4k_buf_free(&pb.raw);
    free(pb.off), free(pb.len), free(pb.line), free(pb.errmsg);
    b4k_ie_runner_free(&r);
    b4k_pool_free(pool);
    b4k_ie_model_free(&m);
    b4k_cli_free(&cli);
    b4k_cli_output_commit(out);
    return b4k_cli_finish(0);
}

/* ---- eval ------------------------------------------------------------------- */

enum { E_MODEL = B4K_OPT_LONG + 200, E_FORMAT, E_BATCH, E_THRESH, E_BF16, E_F32 };

static const b4k_opt eval_opts[] = {
    {"model", 'm', required_argument, "MODEL", "trained extraction model (.b4k)"},
    {"format", E_FORMAT, required_argument, "FMT", "format of the gold data"},
    {"batch-size", E_BATCH, required_argument, "N", "texts per forward pass (default 16)"},
    {"threads", 't', required_argument, "N", "threads (default 1)"},
    {"thresholds", E_THRESH, required_argument, "A,B,C,D", "spo pointer thresholds"},
    {"bf16", E_BF16, no_argument, NULL, "bf16 GEMMs in the encoder (default: as the model was trained)"},
    {"f32", E_F32, no_argument, NULL, "f32 GEMMs, also for a model trained with --bf16"},
    {NULL, 0, 0, NULL, NULL},
};

static int cmd_eval(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-extract eval");
    b4k_cli cli = {.prog = "b4k-extract eval",
                   .synopsis = "-m MODEL --format FMT FILE...",
                   .summary = "Exact-match precision, recall and F1, overall and per predicate or type (one JSON object).",
                   .opts = eval_opts};
    const char *model = NULL, *format = NULL, *arg;
    int batch = 16, threads = 1, key, has_th = 0, prec = -1;
    b4k_spo_thresh th;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'm': model = arg; break;
        case E_BF16: case E_F32: set_prec(&prec, key == E_BF16); break;
        case E_FORMAT: format = arg; break;
        case E_BATCH: batch = (int)b4k_cli_int("--batch-size", arg, 1, 4096); break;
        case 't': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        case E_THRESH: parse_thresholds(arg, &th); has_th = 1; break;
        }
    }
    if (!model) b4k_cli_usage("-m MODEL is required");
    int fmt = format ? b4k_ie_format_parse(format) : 0;
    if (!fmt) b4k_cli_usage("--format must be lic2019, cmeie, casrel, conll or cluener");
    if (optind >= argc) b4k_cli_usage("no gold data file");
    b4k_err err;
    b4k_ie_model m;
    if (b4k_ie_model_load(&m, &err, model, NULL)) b4k_cli_die(&err);
    if (has_th) m.th = th;
    if (prec >= 0) m.bf16 = prec;
    if (m.bf16) warn_bf16_emulated();
    if (b4k_ie_format_is_spo(fmt) != (m.task == B4K_IE_SPO))
        b4k_cli_usage("--format %s does not fit the model's task", format);
    b4k_ie_data d = {0};
    for (int i = optind; i < argc; i++)
        if (b4k_ie_read(&d, &err, argv[i], fmt, &m.names, 1)) b4k_cli_die(&err);
    show_notes(&d.missing, "gold triples with a subject or object not in their text (counted as missed)");
    show_notes(&d.unknown, "gold %s outside the model's schema (not scored)",
               m.task == B4K_IE_SPO ? "triples with predicates" : "entities with types");
    b4k_ie_exset ex = {0};
    if (b4k_ie_featurize(&ex, &err, m.wp, &d, m.task, m.max_len)) b4k_cli_die(&err);
    show_notes(&ex.truncated, "texts longer than the model's max_len %d tokens were cut", m.max_len);
    b4k_pool *pool = make_pool(threads);
    b4k_ie_runner r;
    if (b4k_ie_runner_init(&r, &err, &m, batch, m.max_len, 0, pool)) b4k_cli_die(&err);
    int32_t *idx = b4k_malloc_n(ex.n ? ex.n : 1, sizeof *idx);
    for (size_t i = 0; i < ex.n; i++) idx[i] = (int32_t)i;
    b4k_ie_metrics mt;
    if (b4k_ie_metrics_init(&mt, m.names.n)) b4k_cli_dief("out of memory");
    b4k_ie_evalset ev = {&ex, &d, idx, ex.n};
    if (b4k_ie_evaluate(&m, &r, &err, &ev, &mt)) b4k_cli_die(&err);
    b4k_buf b = {0};
    b4k_buf_printf(&b, "{\"task\":\"%s\",\"documents\":%zu,\"overall\":", m.task == B4K_IE_SPO ? "spo" : "ner", d.n);
    put_prf(&b, &mt, mt.K);
    b4k_buf_puts(&b, m.task == B4K_IE_SPO ? ",\"per_predicate\":{" : ",\"per_type\":{");
    int first = 1;
    for (int k = 0; k < mt.K; k++) {
        if (!mt.ng[k] && !mt.np[k]) continue;
        if (!first) b4k_buf_putc(&b, ',');
        first = 0;
        b4k_buf_put_json_str(&b, m.names.v[k], strlen(m.names.v[k]));
        b4k_buf_putc(&b, ':');
        put_prf(&b, &mt, k);
    }
    b4k_buf_puts(&b, "}}\n");
    fwrite(b.data, 1, b.len, stdout);
    b4k_buf_free(&b);
    b4k_ie_metrics_free(&mt);
    free(idx);
    b4k_ie_runner_free(&r);
    b4k_pool_free(pool);
    b4k_ie_exset_free(&ex);
    b4k_ie_data_free(&d);
    b4k_ie_model_free(&m);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}

static const b4k_opt main_opts[] = {{NULL, 0, 0, NULL, NULL}};

int main(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-extract");
    b4k_cli cli = {.prog = "b4k-extract",
                   .synopsis = "COMMAND [OPTIONS] ...",
                   .summary = "Fine-tune BERT for triple extraction and NER; predict; evaluate.",
                   .opts = main_opts,
                   .epilog = "Commands:\n"
                             "  train    fine-tune BERT (spo: CasRel-style pointers; ner: BERT+CRF)\n"
                             "  predict  JSON lines in, the records plus spo_list or entities out\n"
                             "  eval     exact-match precision, recall, F1 on gold data\n"
                             "  bench    time the encoder (inference or a training step)\n"
                             "\nRun 'b4k-extract COMMAND --help' for a command's options.\n"};
    if (argc >= 2 && argv[1][0] != '-') {
        const char *c = argv[1];
        argv[1] = argv[0];
        if (!strcmp(c, "train")) return cmd_train(argc - 1, argv + 1);
        if (!strcmp(c, "predict")) return cmd_predict(argc - 1, argv + 1);
        if (!strcmp(c, "eval")) return cmd_eval(argc - 1, argv + 1);
        if (!strcmp(c, "bench")) return cmd_bench(argc - 1, argv + 1);
        b4k_cli_usage("unknown command '%s'", c);
    }
    const char *arg;
    while (b4k_cli_next(&cli, argc, argv, &arg) != -1) b4k_cli_usage("unhandled option");
    b4k_cli_usage("expected a COMMAND (train, predict, eval, bench)");
}
