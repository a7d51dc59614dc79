/* Training step, prediction and metrics; see run.h. */
#include "ie/run.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/threads.h"

int b4k_ie_runner_init(b4k_ie_runner *r, b4k_err *err, const b4k_ie_model *m, int Bcap,
                       int Tcap, int keep, b4k_pool *pool)
{
    memset(r, 0, sizeof *r);
    r->Bcap = Bcap;
    r->Tcap = Tcap;
    r->pool = pool;
    int rc = b4k_bert_act_init(&r->act, err, &m->cfg, Bcap, Tcap, keep);
    if (!rc && m->bf16) rc = b4k_bert_act_bf16(&r->act, err, &m->bert, B4K_BERT_BF16);
    if (!rc && m->task == B4K_IE_SPO) rc = b4k_spo_ws_init(&r->sws, err, &m->spo, Bcap, Tcap);
    if (!rc && m->task == B4K_IE_NER) rc = b4k_ner_ws_init(&r->nws, err, &m->ner, Bcap, Tcap);
    if (!rc && !(r->path = b4k_malloc_n((size_t)Tcap, sizeof *r->path)))
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (rc) b4k_ie_runner_free(r);
    return rc;
}

void b4k_ie_runner_free(b4k_ie_runner *r)
{
    if (!r) return;
    b4k_bert_act_free(&r->act);
    b4k_spo_ws_free(&r->sws);
    b4k_ner_ws_free(&r->nws);
    b4k_ie_batch_free(&r->batch);
    free(r->path);
    memset(r, 0, sizeof *r);
}

static int32_t pad_id(const b4k_ie_model *m)
{
    int32_t p = b4k_wordpiece_special(m->wp, 3);
    return p < 0 ? 0 : p;
}

int b4k_ie_train_step(b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err, const b4k_ie_exset *s,
                      const int32_t *idx, int B, b4k_rng *rng, double *loss)
{
    b4k_ie_batch *b = &r->batch;
    int rc = b4k_ie_batch_fill(b, err, s, idx, B, m->task, m->names.n, pad_id(m), rng);
    if (rc) return rc;
    if ((rc = b4k_bert_forward(&m->bert, &m->tab, &r->act, err, b->ids, b->segs, b->lens, b->B,
                               b->T, 1, rng, r->pool)))
        return rc;
    float *out = b4k_bert_out(&r->act), *pre = b4k_bert_pre(&r->act);
    if (m->task == B4K_IE_SPO) {
        if ((rc = b4k_spo_loss(&m->spo, &m->tab, &r->sws, err, out, pre, b->lens, b->B, b->T,
                               b->subj, b->subj_lab, b->obj_lab, loss, 1)))
            return rc;
        return b4k_bert_backward(&m->bert, &m->tab, &r->act, err, r->sws.dout, r->sws.dpre, r->pool);
    }
    if ((rc = b4k_ner_loss(&m->ner, &m->tab, &r->nws, err, out, b->lens, b->tags, b->B, b->T,
                           loss, 1)))
        return rc;
    return b4k_bert_backward(&m->bert, &m->tab, &r->act, err, r->nws.dout, NULL, r->pool);
}

void b4k_ie_pred_free(b4k_ie_doc *pred, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < pred[i].ntrip; k++) {
            free(pred[i].trip[k].subj);
            free(pred[i].trip[k].obj);
        }
        free(pred[i].trip);
        free(pred[i].ent);
        memset(&pred[i], 0, sizeof pred[i]);
    }
}

static char *substr_cp(const b4k_ie_doc *d, int32_t c0, int32_t c1)
{
    size_t b0 = b4k_ie_cp_to_byte(d->text, d->len, c0), b1 = b4k_ie_cp_to_byte(d->text, d->len, c1);
    return b4k_strndup(d->text + b0, b1 - b0);
}

static int pred_one(const b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err, const b4k_ie_ex *e,
                    const b4k_ie_doc *doc, const float *out, const float *pre, b4k_ie_doc *pd)
{
    int n = e->n, H = m->cfg.hidden;
    (void)H;
    if (m->task == B4K_IE_SPO) {
        b4k_spo_triple *tr = NULL;
        size_t nt = 0, cap = 0;
        int rc = b4k_spo_decode(&m->spo, &m->tab, &r->sws, err, out, pre, n, 1, n - 2, &m->th, &tr,
                                &nt, &cap);
        if (rc) {
            free(tr);
            return rc;
        }
        for (size_t k = 0; k < nt; k++) {
            if (B4K_GROW(pd->trip, pd->tcap, (size_t)pd->ntrip + 1)) goto nomem;
            b4k_ie_triple *t = &pd->trip[pd->ntrip];
            t->s0 = e->offs[2 * tr[k].s0];
            t->s1 = e->offs[2 * tr[k].s1 + 1];
            t->o0 = e->offs[2 * tr[k].o0];
            t->o1 = e->offs[2 * tr[k].o1 + 1];
            t->pred = tr[k].p;
            t->subj = substr_cp(doc, t->s0, t->s1);
            t->obj = substr_cp(doc, t->o0, t->o1);
            if (!t->subj || !t->obj) {
                free(t->subj);
                free(t->obj);
                goto nomem;
            }
            /* the same strings from different positions are one triple */
            int dup = 0;
            for (int q = 0; q < pd->ntrip && !dup; q++)
                dup = pd->trip[q].pred == t->pred && !strcmp(pd->trip[q].subj, t->subj) &&
                      !strcmp(pd->trip[q].obj, t->obj);
            if (dup) {
                free(t->subj);
                free(t->obj);
                continue;
            }
            pd->ntrip++;
        }
        free(tr);
        return 0;
    nomem:
        free(tr);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    int rc = b4k_ner_decode(&m->ner, &m->tab, &r->nws, err, out, n, r->path);
    if (rc) return rc;
    /* BIO spans over real tokens; I- continues an open entity of its type */
    int open = -1, type = -1;
    for (int t = 0; t <= n; t++) {
        int lab = t < n && e->offs[2 * t + 1] > e->offs[2 * t] ? r->path[t] : 0;
        int isb = lab % 2 == 1, isi = lab > 0 && lab % 2 == 0, ty = (lab - 1) / 2;
        if (open >= 0 && !(isi && ty == type)) {
            if (B4K_GROW(pd->ent, pd->ecap, (size_t)pd->nent + 1))
                return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            pd->ent[pd->nent++] = (b4k_ie_span){e->offs[2 * open], e->offs[2 * (t - 1) + 1], type};
            open = -1;
        }
        if (isb || (isi && open < 0)) {
            open = t;
            type = ty;
        }
    }
    return 0;
}

int b4k_ie_predict(const b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err, const b4k_ie_exset *s,
                   const b4k_ie_data *d, const int32_t *idx, size_t n, b4k_ie_doc *pred)
{
    int rc = 0;
    for (size_t k0 = 0; k0 < n; k0 += (size_t)r->Bcap) {
        int B = (int)(n - k0 < (size_t)r->Bcap ? n - k0 : (size_t)r->Bcap);
        b4k_ie_batch *b = &r->batch;
        if ((rc = b4k_ie_batch_fill(b, err, s, idx + k0, B, 0, 0, pad_id(m), NULL))) return rc;
        if ((rc = b4k_bert_forward(&m->bert, &m->tab, &r->act, err, b->ids, b->segs, b->lens, B,
                                   b->T, 0, NULL, r->pool)))
            return rc;
        const float *out = b4k_bert_out(&r->act), *pre = b4k_bert_pre(&r->act);
        size_t TH = (size_t)b->T * m->cfg.hidden;
        for (int i = 0; i < B; i++) {
            const b4k_ie_ex *e = &s->ex[idx[k0 + i]];
            memset(&pred[k0 + i], 0, sizeof pred[k0 + i]);
            pred[k0 + i].line = d->doc[e->doc].line;
            if ((rc = pred_one(m, r, err, e, &d->doc[e->doc], out + i * TH, pre + i * TH, &pred[k0 + i])))
                return rc;
        }
    }
    return 0;
}

/* ---- metrics ---------------------------------------------------------------- */

int b4k_ie_metrics_init(b4k_ie_metrics *mt, int K)
{
    mt->K = K;
    mt->tp = b4k_calloc((size_t)K + 1, sizeof(long));
    mt->np = b4k_calloc((size_t)K + 1, sizeof(long));
    mt->ng = b4k_calloc((size_t)K + 1, sizeof(long));
    if (!mt->tp || !mt->np || !mt->ng) {
        b4k_ie_metrics_free(mt);
        return B4K_ENOMEM;
    }
    return 0;
}

void b4k_ie_metrics_free(b4k_ie_metrics *mt)
{
    if (!mt) return;
    free(mt->tp);
    free(mt->np);
    free(mt->ng);
    mt->tp = mt->np = mt->ng = NULL;
}

static int same_trip(const b4k_ie_triple *a, const b4k_ie_triple *b)
{
    return a->pred == b->pred && !strcmp(a->subj, b->subj) && !strcmp(a->obj, b->obj);
}

int b4k_ie_metrics_add(b4k_ie_metrics *mt, int task, const b4k_ie_doc *gold, const b4k_ie_doc *pred)
{
    int K = mt->K;
    if (task == B4K_IE_SPO) {
        /* sets: count unique gold and unique predicted triples */
        for (int i = 0; i < gold->ntrip; i++) {
            int dup = 0;
            for (int j = 0; j < i && !dup; j++) dup = same_trip(&gold->trip[i], &gold->trip[j]);
            if (dup || gold->trip[i].pred < 0 || gold->trip[i].pred >= K) continue;
            mt->ng[gold->trip[i].pred]++, mt->ng[K]++;
        }
        for (int i = 0; i < pred->ntrip; i++) {
            const b4k_ie_triple *p = &pred->trip[i];
            mt->np[p->pred]++, mt->np[K]++;
            for (int j = 0; j < gold->ntrip; j++)
                if (same_trip(p, &gold->trip[j])) {
                    mt->tp[p->pred]++, mt->tp[K]++;
                    break;
                }
        }
        return 0;
    }
    for (int i = 0; i < gold->nent; i++) {
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = !memcmp(&gold->ent[i], &gold->ent[j], sizeof gold->ent[i]);
        if (dup) continue;
        mt->ng[gold->ent[i].type]++, mt->ng[K]++;
    }
    for (int i = 0; i < pred->nent; i++) {
        const b4k_ie_span *p = &pred->ent[i];
        mt->np[p->type]++, mt->np[K]++;
        for (int j = 0; j < gold->nent; j++)
            if (gold->ent[j].start == p->start && gold->ent[j].end == p->end && gold->ent[j].type == p->type) {
                mt->tp[p->type]++, mt->tp[K]++;
                break;
            }
    }
    return 0;
}

void b4k_ie_metrics_prf(const b4k_ie_metrics *mt, int k, double *p, double *r, double *f)
{
    *p = mt->np[k] ? (double)mt->tp[k] / mt->np[k] : 0;
    *r = mt->ng[k] ? (double)mt->tp[k] / mt->ng[k] : 0;
    *f = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

void b4k_ie_put_result(b4k_buf *b, const b4k_ie_model *m, const b4k_ie_doc *d, const b4k_ie_doc *p)
{
    if (m->task == B4K_IE_SPO) {
        b4k_buf_puts(b, "\"spo_list\":[");
        for (int k = 0; k < p->ntrip; k++) {
            const b4k_ie_triple *t = &p->trip[k];
            if (k) b4k_buf_putc(b, ',');
            b4k_buf_puts(b, "{\"subject\":");
            b4k_buf_put_json_str(b, t->subj, strlen(t->subj));
            b4k_buf_puts(b, ",\"predicate\":");
            b4k_buf_put_json_str(b, m->names.v[t->pred], strlen(m->names.v[t->pred]));
            b4k_buf_puts(b, ",\"object\":");
            b4k_buf_put_json_str(b, t->obj, strlen(t->obj));
            b4k_buf_printf(b, ",\"subject_offset\":[%d,%d],\"object_offset\":[%d,%d]}", t->s0, t->s1,
                           t->o0, t->o1);
        }
        b4k_buf_putc(b, ']');
        return;
    }
    b4k_buf_puts(b, "\"entities\":[");
    for (int k = 0; k < p->nent; k++) {
        const b4k_ie_span *s = &p->ent[k];
        size_t b0 = b4k_ie_cp_to_byte(d->text, d->len, s->start), b1 = b4k_ie_cp_to_byte(d->text, d->len, s->end);
        if (k) b4k_buf_putc(b, ',');
        b4k_buf_puts(b, "{\"type\":");
        b4k_buf_put_json_str(b, m->names.v[s->type], strlen(m->names.v[s->type]));
        b4k_buf_puts(b, ",\"text\":");
        b4k_buf_put_json_str(b, d->text + b0, b1 - b0);
        b4k_buf_printf(b, ",\"start\":%d,\"end\":%d}", s->start, s->end);
    }
    b4k_buf_putc(b, ']');
}

