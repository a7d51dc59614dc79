/* CRF trainer checkpoints (see ckpt.h). */
#include "crf/ckpt.h"

#include <string.h>

#include "core/alloc.h"
#include "crf/train.h"
#include "io/jsonl.h"
#include "model/model.h"

static const char *algo_name(int a)
{
    return a == B4K_CRF_SGD ? "l2sgd" : a == B4K_CRF_AP ? "ap" : "lbfgs";
}

int b4k_crf_ckpt_write(const char *path, const b4k_crf_model *m, const double *weights, int algo,
                       int iter, int threads, const b4k_crf_ckpt_item *items, int nitems,
                       b4k_err *err)
{
    b4k_crf_model view = *m;
    if (weights)
        view.x = (double *)weights;
    b4k_mw *w;
    int rc = b4k_crf_model_writer(&view, &w, err);
    if (rc)
        return rc;
    json_t *ck = json_pack("{s:i, s:s, s:i, s:i}", "version", 1, "algorithm", algo_name(algo),
                           "iteration", iter, "threads", threads);
    if (!ck || b4k_mw_set_meta(w, "checkpoint", ck)) {
        json_decref(ck);
        b4k_mw_free(w);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    json_decref(ck);
    for (int i = 0; i < nitems && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, "train.%s", items[i].name);
        int64_t shp = (int64_t)items[i].n;
        static const int64_t zero = 0;
        rc = b4k_mw_add(w, name, B4K_I64, 1, &shp, items[i].n ? items[i].data : &zero,
                        B4K_CODEC_RAW, err);
    }
    if (!rc)
        rc = b4k_mw_write(w, path, err);
    b4k_mw_free(w);
    return rc;
}

int b4k_crf_ckpt_open(b4k_crf_ckpt *ck, const char *path, b4k_err *err)
{
    memset(ck, 0, sizeof *ck);
    int rc = b4k_crf_model_load(&ck->m, path, err);
    if (rc)
        return rc;
    json_t *h = json_object_get(b4k_model_header(ck->m.file), "checkpoint");
    json_t *ja = json_object_get(h, "algorithm"), *ji = json_object_get(h, "iteration"),
           *jt = json_object_get(h, "threads"), *jv = json_object_get(h, "version");
    if (!h) {
        b4k_crf_model_free(&ck->m);
        return b4k_err_set(err, B4K_EFORMAT, path, 0,
                           "not a checkpoint (a model without trainer state: "
                           "--warm-start uses its weights)");
    }
    if (!json_is_string(ja) || !json_is_integer(ji) || !json_is_integer(jt) ||
        !json_is_integer(jv) || json_integer_value(jv) != 1 || json_integer_value(ji) < 0 ||
        json_integer_value(ji) > 100000000 || json_integer_value(jt) < 1 ||
        json_integer_value(jt) > 1024) {
        b4k_crf_model_free(&ck->m);
        return b4k_err_set(err, B4K_EFORMAT, path, 0, "bad \"checkpoint\" header");
    }
    const char *a = json_string_value(ja);
    ck->algo = !strcmp(a, "l2sgd") ? B4K_CRF_SGD : !strcmp(a, "ap") ? B4K_CRF_AP
             : !strcmp(a, "lbfgs") ? B4K_CRF_LBFGS : -1;
    if (ck->algo < 0) {
        b4k_crf_model_free(&ck->m);
        return b4k_err_set(err, B4K_EFORMAT, path, 0, "checkpoint of unknown algorithm \"%s\"", a);
    }
    ck->iter = (int)json_integer_value(ji);
    ck->threads = (int)json_integer_value(jt);
    return 0;
}

void b4k_crf_ckpt_close(b4k_crf_ckpt *ck)
{
    if (ck)
        b4k_crf_model_free(&ck->m);
}

static int same_dict(const b4k_crf_dict *a, const b4k_crf_dict *b)
{
    return a->n == b->n && a->alen == b->alen && !memcmp(a->arena, b->arena, a->alen) &&
           !memcmp(a->off, b->off, (a->n + 1) * sizeof(int64_t));
}

int b4k_crf_ckpt_match(const b4k_crf_ckpt *ck, const b4k_crf_model *m, b4k_err *err)
{
    const b4k_crf_model *c = &ck->m;
    const char *path = b4k_model_name(c->file);
    if (c->L != m->L || !same_dict(&c->labels, &m->labels))
        return b4k_err_set(err, B4K_EINVAL, path, 0,
                           "the checkpoint has other labels than the training data (%d then, %d now)",
                           c->L, m->L);
    if (c->F != m->F || c->nx != m->nx || c->start_end != m->start_end ||
        !same_dict(&c->attrs, &m->attrs) ||
        memcmp(c->foff, m->foff, (m->attrs.n + 1) * sizeof(int64_t)) ||
        memcmp(c->flab, m->flab, m->F * sizeof(int32_t)))
        return b4k_err_set(err, B4K_EINVAL, path, 0,
                           "the checkpoint was made on other features (%zu attributes and %zu "
                           "features then, %zu and %zu now): same data, template, --min-freq, "
                           "--dense and --start-end are needed",
                           c->attrs.n, c->F, m->attrs.n, m->F);
    return 0;
}

long long b4k_crf_ckpt_len(b4k_crf_ckpt *ck, const char *name)
{
    char tn[64];
    snprintf(tn, sizeof tn, "train.%s", name);
    b4k_tensor_view v;
    b4k_err e;
    if (!b4k_model_has(ck->m.file, tn) ||
        b4k_model_get_checked(ck->m.file, tn, B4K_I64, 1, (int64_t[]){ -1 }, &v, &e))
        return -1;
    return v.shape[0];
}

int b4k_crf_ckpt_get(b4k_crf_ckpt *ck, const char *name, void *dst, size_t n, b4k_err *err)
{
    char tn[64];
    snprintf(tn, sizeof tn, "train.%s", name);
    b4k_tensor_view v;
    int rc = b4k_model_get_checked(ck->m.file, tn, B4K_I64, 1, (int64_t[]){ (int64_t)n }, &v, err);
    if (rc)
        return rc;
    if (n)
        memcpy(dst, v.data, n * 8);
    return 0;
}
