/* The fine-tuning loop; see train.h. */
#include "ie/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"

long b4k_ie_steps_per_epoch(size_t nuse, int batch, int accum)
{
    long nb = (long)((nuse + batch - 1) / batch);
    return (nb + accum - 1) / accum;
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

int b4k_ie_train(b4k_ie_model *m, b4k_ie_runner *r, b4k_adamw *opt, b4k_err *err,
                 const b4k_ie_exset *ex, const int32_t *use, size_t nuse,
                 const b4k_ie_evalset *ev, const b4k_ie_train_cfg *cfg, b4k_ie_event_fn fn,
                 void *ctx)
{
    long spe = b4k_ie_steps_per_epoch(nuse, cfg->batch, cfg->accum);
    long total = spe * cfg->epochs;
    int stop = 0, rc = 0;
    b4k_rng rng;
    for (int ep = (int)(opt->step / (spe ? spe : 1)); ep < cfg->epochs && !stop; ep++) {
        b4k_ie_batches bt;
        b4k_rng_seed(&rng, cfg->seed, 100 + (uint64_t)ep);
        if ((rc = b4k_ie_batches_make(&bt, err, ex, use, nuse, cfg->batch, cfg->bucket, &rng))) return rc;
        long first_batch = (opt->step - (long)ep * spe) * cfg->accum;
        double ep_loss = 0, acc_loss = 0;
        long ep_n = 0, acc_n = 0;
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
            if (cfg->max_steps && opt->step >= cfg->max_steps) {
                stop = 1;
                break;
            }
        }
        b4k_ie_batches_free(&bt);
        b4k_ie_event e = {B4K_IE_EV_EPOCH, ep + 1, opt->step, total, ep_n ? ep_loss / ep_n : 0, 0, 0,
                          0, 0, -1};
        if (ev && ev->n && !stop) {
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
        if (cfg->checkpoint) {
            b4k_ie_optstate st = {opt->m, opt->v, opt->ema, opt->step};
            if ((rc = b4k_ie_model_save(m, err, cfg->checkpoint, NULL, &st))) return rc;
        }
    }
    return 0;
}
