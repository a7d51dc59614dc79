/* The fine-tuning loop; see train.h. */
#include "ie/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/rng.h"

/* ---- settings ------------------------------------------------------------- */

enum { F_INT, F_BOOL, F_U64, F_DBL, F_LONG };

static const struct sfield {
    const char *key, *opt;
    unsigned bit;
    int type;
    size_t off;
    int optional;  /* may be missing from a checkpoint (then 0) */
} sfields[] = {
#define SF(key, opt, bit, type, member) {key, opt, bit, type, offsetof(b4k_ie_settings, member), 0}
    SF("epochs", "--epochs", B4K_IE_S_EPOCHS, F_INT, epochs),
    SF("batch_size", "--batch-size", B4K_IE_S_BATCH, F_INT, batch),
    SF("accum", "--accum", B4K_IE_S_ACCUM, F_INT, accum),
    SF("bucket", "--bucket", B4K_IE_S_BUCKET, F_BOOL, bucket),
    SF("lr", "--lr", B4K_IE_S_LR, F_DBL, lr),
    SF("lr_decay", "--lr-decay", B4K_IE_S_DECAY, F_BOOL, decay),
    SF("warmup", "--warmup", B4K_IE_S_WARMUP, F_DBL, warmup),
    SF("weight_decay", "--weight-decay", B4K_IE_S_WD, F_DBL, wd),
    SF("clip", "--clip", B4K_IE_S_CLIP, F_DBL, clip),
    SF("ema", "--ema", B4K_IE_S_EMA, F_DBL, ema),
    SF("crf_lr_mult", "--crf-lr-mult", B4K_IE_S_CRFLR, F_DBL, crf_lr_mult),
    SF("layer_decay", "--layer-decay", B4K_IE_S_LAYERDECAY, F_DBL, layer_decay),
    SF("dropout", "--dropout", B4K_IE_S_DROPOUT, F_DBL, dropout),
    SF("max_len", "--max-len", B4K_IE_S_MAXLEN, F_INT, max_len),
    SF("holdout", "--holdout", B4K_IE_S_HOLDOUT, F_DBL, holdout),
    SF("seed", "--seed", B4K_IE_S_SEED, F_U64, seed),
    SF("threads", "--threads", B4K_IE_S_THREADS, F_INT, threads),
    {"bf16", "--bf16", B4K_IE_S_BF16, F_BOOL, offsetof(b4k_ie_settings, bf16), 1},
    SF("documents", NULL, 0, F_LONG, documents),
#undef SF
};
#define NSF (sizeof sfields / sizeof *sfields)

json_t *b4k_ie_settings_json(const b4k_ie_settings *s)
{
    json_t *o = json_object();
    char hx[17];
    int bad = !o;
    for (size_t i = 0; i < NSF && !bad; i++) {
        const void *p = (const char *)s + sfields[i].off;
        json_t *v = NULL;
        switch (sfields[i].type) {
        case F_INT: v = json_integer(*(const int *)p); break;
        case F_BOOL: v = json_boolean(*(const int *)p); break;
        case F_U64: v = json_integer((json_int_t) * (const uint64_t *)p); break;
        case F_LONG: v = json_integer(*(const long *)p); break;
        default: v = json_real(*(const double *)p); break;
        }
        bad = json_object_set_new(o, sfields[i].key, v) != 0;
    }
    snprintf(hx, sizeof hx, "%016llx", (unsigned long long)s->data_hash);
    if (bad || json_object_set_new(o, "data_xxh64", json_string(hx))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int b4k_ie_settings_from_json(b4k_ie_settings *s, b4k_err *err, const json_t *o, const char *name)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(o))
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "no training settings (not a checkpoint of this version)");
    for (size_t i = 0; i < NSF; i++) {
        json_t *v = json_object_get(o, sfields[i].key);
        void *p = (char *)s + sfields[i].off;
        if (!v && sfields[i].optional) continue; /* 0 from the memset */
        int ok = sfields[i].type == F_BOOL ? json_is_boolean(v)
               : sfields[i].type == F_DBL  ? json_is_number(v)
                                           : json_is_integer(v);
        if (!ok)
            return b4k_err_set(err, B4K_EFORMAT, name, 0, "training settings: bad or missing \"%s\"",
                               sfields[i].key);
        switch (sfields[i].type) {
        case F_INT: *(int *)p = (int)json_integer_value(v); break;
        case F_BOOL: *(int *)p = json_is_true(v); break;
        case F_U64: *(uint64_t *)p = (uint64_t)json_integer_value(v); break;
        case F_LONG: *(long *)p = (long)json_integer_value(v); break;
        default: *(double *)p = json_number_value(v); break;
        }
    }
    json_t *h = json_object_get(o, "data_xxh64");
    char *end;
    if (!json_is_string(h) || (s->data_hash = strtoull(json_string_value(h), &end, 16), *end))
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "training settings: bad \"data_xxh64\"");
    return 0;
}

static int field_eq(const struct sfield *f, const b4k_ie_settings *a, const b4k_ie_settings *b)
{
    const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
    switch (f->type) {
    case F_INT: case F_BOOL: return *(const int *)pa == *(const int *)pb;
    case F_U64: return *(const uint64_t *)pa == *(const uint64_t *)pb;
    case F_LONG: return *(const long *)pa == *(const long *)pb;
    default: return *(const double *)pa == *(const double *)pb;
    }
}

static void field_str(char *buf, size_t cap, const struct sfield *f, const b4k_ie_settings *s)
{
    const char *p = (const char *)s + f->off;
    switch (f->type) {
    case F_INT: snprintf(buf, cap, "%d", *(const int *)p); break;
    case F_BOOL: snprintf(buf, cap, "%s", *(const int *)p ? "on" : "off"); break;
    case F_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case F_LONG: snprintf(buf, cap, "%ld", *(const long *)p); break;
    default:
        if (f->bit == B4K_IE_S_DROPOUT && *(const double *)p < 0) snprintf(buf, cap, "the config's");
        else snprintf(buf, cap, "%g", *(const double *)p);
        break;
    }
}

int b4k_ie_settings_resume(b4k_ie_settings *out, b4k_err *err, const b4k_ie_settings *ck,
                           const b4k_ie_settings *cli, unsigned given, const char *ckname,
                           const char **note)
{
    *out = *ck;
    if (note) *note = NULL;
    if (cli->documents != ck->documents || cli->data_hash != ck->data_hash)
        return b4k_err_set(err, B4K_EINVAL, ckname, 0,
                           "the training data differ from the checkpoint's (%ld documents, "
                           "%ld in the checkpoint): resume with the same files",
                           cli->documents, ck->documents);
    for (size_t i = 0; i < NSF; i++) {
        const struct sfield *f = &sfields[i];
        if (!(given & f->bit) || field_eq(f, ck, cli)) continue;
        if (f->bit == B4K_IE_S_THREADS) {
            out->threads = cli->threads;
            /* bf16: every GEMM whose split depends on the thread count is a
             * bf16 one, split in whole tiles: the same bits on any count */
            if (note && !ck->bf16)
                *note = "--threads differs from the checkpoint's: the result will not be "
                        "bit-identical to an uninterrupted run";
            continue;
        }
        if (f->bit == B4K_IE_S_EPOCHS && !ck->decay && !(ck->warmup > 0)) {
            out->epochs = cli->epochs;
            continue;
        }
        char a[48], b[48];
        field_str(a, sizeof a, f, cli);
        field_str(b, sizeof b, f, ck);
        return b4k_err_set(err, B4K_EINVAL, ckname, 0,
                           "%s %s differs from the checkpoint's %s: a resumed run keeps the "
                           "checkpoint's training settings (drop %s%s)",
                           f->opt, a, b, f->opt,
                           f->bit == B4K_IE_S_EPOCHS ? ", or train without --lr-decay/--warmup" : "");
    }
    return 0;
}

long b4k_ie_steps_per_epoch(size_t nuse, int batch, int accum)
{
    long nb = (long)((nuse + batch - 1) / batch);
    return (nb + accum - 1) / accum;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

int b4k_ie_split(int32_t *use, size_t *nuse, int32_t *hold, size_t *nhold, b4k_err *err,
                 const b4k_ie_exset *ex, int task, double holdout, uint64_t seed)
{
    size_t n = ex->n, ntrain = n;
    int32_t *perm = b4k_malloc_n(n ? n : 1, sizeof *perm);
    if (!perm) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    for (size_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    if (holdout > 0) {
        b4k_rng rng;
        b4k_rng_seed(&rng, seed, 7);
        for (size_t i = n; i > 1; i--) {
            size_t j = b4k_rng_below(&rng, i);
            int32_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        ntrain = n - (size_t)(n * holdout);
    }
    *nuse = *nhold = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t k = perm[i];
        if (i >= ntrain) hold[(*nhold)++] = k;
        else if (task == B4K_IE_NER || ex->ex[k].ntt > 0) use[(*nuse)++] = k;
    }
    qsort(hold, *nhold, sizeof *hold, cmp_i32);
    free(perm);
    return 0;
}

int b4k_ie_evaluate(const b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err,
                    const b4k_ie_evalset *ev, b4k_ie_metrics *mt)
{
    b4k_ie_doc *pred = b4k_calloc(ev->n ? ev->n : 1, sizeof *pred);
    if (!pred) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    int rc = b4k_ie_predict(m, r, err, ev->s, ev->d, ev->idx, ev->n, pred);
    for (size_t i = 0; !rc && i < ev->n; i++)
        rc = b4k_ie_metrics_add(mt, m->task, &ev->d->doc[ev->s->ex[ev->idx[i]].doc], &pred[i]);
    b4k_ie_pred_free(pred, ev->n);
    free(pred);
    return rc;
}

static int save_checkpoint(const b4k_ie_model *m, const b4k_adamw *opt, b4k_err *err,
                           const b4k_ie_train_cfg *cfg, int epoch, b4k_ie_event_fn fn, void *ctx)
{
    b4k_ie_optstate st = {opt->m, opt->v, opt->ema, opt->step};
    int rc = b4k_ie_model_save(m, err, cfg->checkpoint, (json_t *)cfg->settings, &st);
    if (!rc && fn) {
        b4k_ie_event e = {B4K_IE_EV_CHECKPOINT, epoch, opt->step, 0, 0, 0, 0, 0, 0, -1};
        fn(ctx, &e);
    }
    return rc;
}

int b4k_ie_train(b4k_ie_model *m, b4k_ie_runner *r, b4k_adamw *opt, b4k_err *err,
                 const b4k_ie_exset *ex, const int32_t *use, size_t nuse,
                 const b4k_ie_evalset *ev, const b4k_ie_train_cfg *cfg, b4k_ie_event_fn fn,
                 void *ctx)
{
    long spe = b4k_ie_steps_per_epoch(nuse, cfg->batch, cfg->accum);
    long total = spe * cfg->epochs;
    int stop = 0, rc = 0;
    b4k_rng rng;
    if (cfg->max_steps && opt->step >= cfg->max_steps) return 0;
    for (int ep = (int)(opt->step / (spe ? spe : 1)); ep < cfg->epochs && !stop; ep++) {
        b4k_ie_batches bt;
        b4k_rng_seed(&rng, cfg->seed, 100 + (uint64_t)ep);
        if ((rc = b4k_ie_batches_make(&bt, err, ex, use, nuse, cfg->batch, cfg->bucket, &rng))) return rc;
        long first_batch = (opt->step - (long)ep * spe) * cfg->accum;
        double ep_loss = 0, acc_loss = 0;
        long ep_n = 0, acc_n = 0;
        int done = 0; /* the epoch's last step was taken */
        for (long b = first_batch; b < (long)bt.nb; b++) {
            b4k_rng srng;
            b4k_rng_seed(&srng, cfg->seed, (1ULL << 32) + (uint64_t)ep * 1000003ULL + (uint64_t)b);
            double loss;
            if ((rc = b4k_ie_train_step(m, r, err, ex, bt.idx + bt.start[b],
                                        (int)(bt.start[b + 1] - bt.start[b]), &srng, &loss))) {
                b4k_ie_batches_free(&bt);
                return rc;
            }
            if (!isfinite(loss)) {
                b4k_ie_batches_free(&bt);
                return b4k_err_set(err, B4K_ERANGE, NULL, 0, "loss is %g at step %ld; lower --lr",
                                   loss, opt->step);
            }
            ep_loss += loss, ep_n++, acc_loss += loss, acc_n++;
            if ((b + 1) % cfg->accum && b + 1 != (long)bt.nb) continue;
            double gn;
            float lr = b4k_adamw_lr_at(&opt->o, opt->step);
            b4k_adamw_step(opt, &m->tab, 1.f / (float)acc_n, &gn);
            b4k_ptab_zero_grad(&m->tab);
            if (fn) {
                b4k_ie_event e = {B4K_IE_EV_STEP, ep + 1, opt->step, total, acc_loss / acc_n, gn, lr,
                                  0, 0, -1};
                fn(ctx, &e);
            }
            acc_loss = 0, acc_n = 0;
            done = b + 1 == (long)bt.nb;
            if (cfg->max_steps && opt->step >= cfg->max_steps) {
                stop = 1;
                break;
            }
            /* periodic checkpoints inside the epoch (the epoch's end has its own) */
            if (cfg->checkpoint && cfg->checkpoint_every > 0 && !done &&
                opt->step % cfg->checkpoint_every == 0 &&
                (rc = save_checkpoint(m, opt, err, cfg, ep + 1, fn, ctx))) {
                b4k_ie_batches_free(&bt);
                return rc;
            }
        }
        b4k_ie_batches_free(&bt);
        b4k_ie_event e = {B4K_IE_EV_EPOCH, ep + 1, opt->step, total, ep_n ? ep_loss / ep_n : 0, 0, 0,
                          0, 0, -1};
        /* a stop mid-epoch reports no epoch; a stop on its last step still
         * evaluates it (the resumed run starts with the next epoch) */
        if (stop && !done) {
            if (cfg->checkpoint && (rc = save_checkpoint(m, opt, err, cfg, ep + 1, fn, ctx))) return rc;
            break;
        }
        if (ev && ev->n) {
            b4k_ie_metrics mt;
            if (b4k_ie_metrics_init(&mt, m->names.n)) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            b4k_adamw_ema_apply(opt, &m->tab);
            rc = b4k_ie_evaluate(m, r, err, ev, &mt);
            b4k_adamw_ema_restore(opt, &m->tab);
            if (!rc) b4k_ie_metrics_prf(&mt, mt.K, &e.precision, &e.recall, &e.f1);
            b4k_ie_metrics_free(&mt);
            if (rc) return rc;
        }
        if (fn) fn(ctx, &e);
        if (cfg->checkpoint && (rc = save_checkpoint(m, opt, err, cfg, ep + 1, fn, ctx))) return rc;
    }
    return 0;
}
