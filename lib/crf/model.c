/* CRF model: .b4k save/load and tagging helpers (see model.h). */
#include "crf/model.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "crf/feat.h"
#include "io/jsonl.h"
#include "model/model.h"

void b4k_crf_model_init(b4k_crf_model *m)
{
    memset(m, 0, sizeof *m);
    b4k_crf_dict_init(&m->labels);
    b4k_crf_dict_init(&m->attrs);
}

void b4k_crf_model_free(b4k_crf_model *m)
{
    if (!m)
        return;
    b4k_crf_dict_free(&m->labels);
    b4k_crf_dict_free(&m->attrs);
    if (!m->file) {
        b4k_free(m->foff);
        b4k_free(m->flab);
    }
    b4k_free(m->x);
    b4k_free(m->tx);
    b4k_crf_tpl_free(&m->tpl);
    b4k_free(m->info);
    b4k_model_free(m->file);
    b4k_slurp_close(&m->src);
    memset(m, 0, sizeof *m);
}

static const char *format_name(int f)
{
    static const char *n[] = { "conll", "seg", "jsonl", "spans" };
    return f >= 0 && f < 4 ? n[f] : "conll";
}

static int add_dict(b4k_mw *w, const char *pfx, const b4k_crf_dict *d, b4k_err *err)
{
    char name[64];
    int64_t shp;
    int rc;
    snprintf(name, sizeof name, "%s.text", pfx);
    if ((rc = b4k_mw_add_blob(w, name, d->arena ? d->arena : "", d->alen, B4K_CODEC_RAW, err)))
        return rc;
    snprintf(name, sizeof name, "%s.offsets", pfx);
    shp = (int64_t)d->n + 1;
    int64_t zero = 0;
    if ((rc = b4k_mw_add(w, name, B4K_I64, 1, &shp, d->off ? d->off : &zero, B4K_CODEC_RAW, err)))
        return rc;
    snprintf(name, sizeof name, "%s.hash", pfx);
    shp = (int64_t)d->cap;
    return b4k_mw_add(w, name, B4K_I32, 1, &shp, d->slots, B4K_CODEC_RAW, err);
}

int b4k_crf_model_writer(const b4k_crf_model *m, b4k_mw **out, b4k_err *err)
{
    int rc = 0;
    float *wf = NULL;
    b4k_mw *w = b4k_mw_new("crf");
    json_t *cfg = json_object();
    if (!w || !cfg) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    json_object_set_new(cfg, "labels", json_integer(m->L));
    json_object_set_new(cfg, "attributes", json_integer((json_int_t)m->attrs.n));
    json_object_set_new(cfg, "features", json_integer((json_int_t)m->F));
    json_object_set_new(cfg, "columns", json_integer(m->ncol));
    json_object_set_new(cfg, "start_end", json_boolean(m->start_end));
    json_object_set_new(cfg, "format", json_string(format_name(m->format)));
    json_object_set_new(cfg, "template", json_stringn(m->tpl.text, m->tpl.len));
    json_object_set_new(cfg, "dict_hash", json_string(B4K_CRF_DICT_HASH));
    json_object_set_new(cfg, "crf_version", json_integer(B4K_CRF_MODEL_VERSION));
    if (m->info) {
        json_error_t je;
        json_t *info = json_loads(m->info, 0, &je);
        if (info)
            json_object_set_new(cfg, "training", info);
    }
    if ((rc = b4k_mw_set_config(w, cfg)))
        goto fail_msg;
    if ((rc = add_dict(w, "labels", &m->labels, err)) || (rc = add_dict(w, "attrs", &m->attrs, err)))
        goto fail;
    int64_t shp[2] = { (int64_t)m->attrs.n + 1, 0 };
    int64_t zero = 0;
    if ((rc = b4k_mw_add(w, "features.offsets", B4K_I64, 1, shp, m->foff ? m->foff : &zero,
                         B4K_CODEC_RAW, err)))
        goto fail;
    shp[0] = (int64_t)m->F;
    if ((rc = b4k_mw_add(w, "features.labels", B4K_I32, 1, shp, m->flab, B4K_CODEC_RAW, err)))
        goto fail;
    wf = b4k_malloc_n(m->nx ? m->nx : 1, sizeof(float));
    if (!wf) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->nx; i++)
        wf[i] = (float)m->x[i];
    if ((rc = b4k_mw_add_copy(w, "features.weights", B4K_F32, 1, shp, wf, B4K_CODEC_RAW, err)))
        goto fail;
    shp[0] = shp[1] = m->L;
    if ((rc = b4k_mw_add_copy(w, "transitions", B4K_F32, 2, shp, wf + m->F, B4K_CODEC_RAW, err)))
        goto fail;
    if (m->start_end) {
        shp[0] = m->L;
        size_t o = m->F + (size_t)m->L * m->L;
        if ((rc = b4k_mw_add_copy(w, "start", B4K_F32, 1, shp, wf + o, B4K_CODEC_RAW, err)) ||
            (rc = b4k_mw_add_copy(w, "end", B4K_F32, 1, shp, wf + o + m->L, B4K_CODEC_RAW, err)))
            goto fail;
    }
    b4k_free(wf);
    json_decref(cfg);
    *out = w;
    return 0;
fail_msg:
    rc = b4k_err_set(err, rc, NULL, 0, "cannot build the model header");
fail:
    b4k_free(wf);
    json_decref(cfg);
    b4k_mw_free(w);
    return rc;
}

int b4k_crf_model_save(const b4k_crf_model *m, const char *path, b4k_err *err)
{
    b4k_mw *w;
    int rc = b4k_crf_model_writer(m, &w, err);
    if (rc)
        return rc;
    rc = b4k_mw_write(w, path, err);
    b4k_mw_free(w);
    return rc;
}

int b4k_crf_model_save_mem(const b4k_crf_model *m, uint8_t **out, size_t *n, b4k_err *err)
{
    b4k_mw *w;
    int rc = b4k_crf_model_writer(m, &w, err);
    if (rc)
        return rc;
    rc = b4k_mw_write_mem(w, out, n, err);
    b4k_mw_free(w);
    return rc;
}

#define BAD(...) (rc = b4k_err_set(err, B4K_EFORMAT, b4k_model_name(f), 0, __VA_ARGS__))

static int get_dict(b4k_model *f, const char *pfx, b4k_crf_dict *d, int rehash, b4k_err *err)
{
    char name[64];
    int rc;
    b4k_tensor_view tv, ov, hv;
    snprintf(name, sizeof name, "%s.text", pfx);
    if ((rc = b4k_model_get_checked(f, name, B4K_U8, 1, (int64_t[]){ -1 }, &tv, err)))
        return rc;
    snprintf(name, sizeof name, "%s.offsets", pfx);
    if ((rc = b4k_model_get_checked(f, name, B4K_I64, 1, (int64_t[]){ -1 }, &ov, err)))
        return rc;
    snprintf(name, sizeof name, "%s.hash", pfx);
    if ((rc = b4k_model_get_checked(f, name, B4K_I32, 1, (int64_t[]){ -1 }, &hv, err)))
        return rc;
    if (ov.shape[0] < 1)
        return BAD("%s.offsets is empty", pfx);
    rc = b4k_crf_dict_borrow(d, tv.data, (size_t)tv.shape[0], ov.data, (size_t)ov.shape[0] - 1,
                             hv.data, (size_t)hv.shape[0], rehash);
    if (rc == B4K_ENOMEM)
        return b4k_err_set(err, rc, NULL, 0, "out of memory");
    if (rc)
        return BAD("%s dictionary is inconsistent", pfx);
    return 0;
}

static int load_common(b4k_crf_model *m, b4k_model *f, unsigned flags, b4k_err *err)
{
    int rc = 0;
    b4k_crf_model_init(m);
    m->file = f;
    if (strcmp(b4k_model_arch(f), "crf"))
        return BAD("not a CRF model (architecture \"%s\")", b4k_model_arch(f));
    json_t *cfg = b4k_model_config(f);
    /* a model from a newer b4k may mean its tables differently: refuse it
     * rather than tag with tables read the wrong way (no key: version 1) */
    json_t *jv = json_object_get(cfg, "crf_version");
    if (jv && !json_is_integer(jv))
        return BAD("config: crf_version is not an integer");
    if (jv && (json_integer_value(jv) < 1 || json_integer_value(jv) > B4K_CRF_MODEL_VERSION))
        return BAD("CRF model version %lld is not supported (this b4k reads 1 to %d)",
                   (long long)json_integer_value(jv), B4K_CRF_MODEL_VERSION);
    json_t *jl = json_object_get(cfg, "labels"), *jc = json_object_get(cfg, "columns"),
           *jt = json_object_get(cfg, "template"), *jse = json_object_get(cfg, "start_end"),
           *jf = json_object_get(cfg, "format");
    if (!json_is_integer(jl) || !json_is_integer(jc) || !json_is_string(jt))
        return BAD("config lacks labels, columns or template");
    json_int_t L = json_integer_value(jl), nc = json_integer_value(jc);
    if (L < 1 || L > 100000 || nc < 1 || nc > 256)
        return BAD("config: bad labels (%lld) or columns (%lld)", (long long)L, (long long)nc);
    m->L = (int)L;
    m->ncol = (int)nc;
    m->start_end = json_is_true(jse);
    m->format = jf && json_is_string(jf) ? b4k_crf_format_from_name(json_string_value(jf)) : 0;
    if (m->format < 0)
        m->format = 0;
    json_t *ji = json_object_get(cfg, "training");
    if (ji) {
        b4k_buf b;
        b4k_buf_init(&b);
        if (!b4k_jsonl_dump(&b, ji))
            m->info = b.data;
        else
            b4k_buf_free(&b);
    }
    b4k_err e2;
    if ((rc = b4k_crf_tpl_parse(&m->tpl, json_string_value(jt), json_string_length(jt),
                                "template", &e2)))
        return BAD("bad template in model: line %ld: %s", e2.line, e2.msg);
    if (m->tpl.maxcol >= m->ncol)
        return BAD("template uses column %d but the model has %d", m->tpl.maxcol, m->ncol);
    /* tables made with another hash (older models: FNV-1a) are rebuilt */
    json_t *jh = json_object_get(cfg, "dict_hash");
    int rehash = !json_is_string(jh) || strcmp(json_string_value(jh), B4K_CRF_DICT_HASH);
    if ((rc = get_dict(f, "labels", &m->labels, rehash, err)) ||
        (rc = get_dict(f, "attrs", &m->attrs, rehash, err)))
        return rc;
    if ((long long)m->labels.n != L)
        return BAD("%zu label strings for %lld labels", m->labels.n, (long long)L);
    size_t A = m->attrs.n;
    b4k_tensor_view fo, fl, fw, tr;
    if ((rc = b4k_model_get_checked(f, "features.offsets", B4K_I64, 1, (int64_t[]){ (int64_t)A + 1 },
                                    &fo, err)) ||
        (rc = b4k_model_get_checked(f, "features.labels", B4K_I32, 1, (int64_t[]){ -1 }, &fl, err)) ||
        (rc = b4k_model_get_checked(f, "features.weights", B4K_F32, 1, fl.shape, &fw, err)) ||
        (rc = b4k_model_get_checked(f, "transitions", B4K_F32, 2, (int64_t[]){ L, L }, &tr, err)))
        return rc;
    const int64_t *foff = fo.data;
    const int32_t *flab = fl.data;
    size_t F = (size_t)fl.shape[0];
    if (foff[0] != 0 || (uint64_t)foff[A] != F)
        return BAD("feature offsets do not cover the %zu features", F);
    for (size_t a = 0; a < A; a++)
        if (foff[a + 1] < foff[a])
            return BAD("feature offsets decrease at attribute %zu", a);
    for (size_t i = 0; i < F; i++)
        if (flab[i] < 0 || flab[i] >= L)
            return BAD("feature %zu has label %d of %lld", i, flab[i], (long long)L);
    m->foff = (int64_t *)foff;
    m->flab = (int32_t *)flab;
    m->F = F;
    m->nx = F + (size_t)L * L + (m->start_end ? 2 * (size_t)L : 0);
    const float *w = fw.data, *t = tr.data;
    m->wf = w;
    /* all exponent bits set = infinity or NaN; an OR over the words is one
     * vectorised pass, the position is looked for only when there is one */
    const uint32_t *wb = fw.data;
    uint32_t nonfinite = 0;
    for (size_t i = 0; i < F; i++)
        nonfinite |= (wb[i] & 0x7f800000u) == 0x7f800000u;
    if (nonfinite)
        for (size_t i = 0; i < F; i++)
            if (!isfinite(w[i]))
                return BAD("parameter %zu is not finite", i);
    size_t nt = m->nx - F;
    double *tx = b4k_malloc_n(flags & B4K_CRF_LOAD_TAG ? nt : m->nx, sizeof(double));
    if (!tx)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (flags & B4K_CRF_LOAD_TAG) {
        m->tx = tx;
    } else {
        m->x = tx;
        for (size_t i = 0; i < F; i++)
            m->x[i] = w[i];
        tx += F;
    }
    for (size_t i = 0; i < (size_t)L * L; i++)
        tx[i] = t[i];
    if (m->start_end) {
        b4k_tensor_view sv, ev;
        if ((rc = b4k_model_get_checked(f, "start", B4K_F32, 1, (int64_t[]){ L }, &sv, err)) ||
            (rc = b4k_model_get_checked(f, "end", B4K_F32, 1, (int64_t[]){ L }, &ev, err)))
            return rc;
        for (int i = 0; i < L; i++) {
            tx[(size_t)L * L + i] = ((const float *)sv.data)[i];
            tx[(size_t)L * L + L + i] = ((const float *)ev.data)[i];
        }
    }
    for (size_t i = 0; i < nt; i++)
        if (!isfinite(tx[i]))
            return BAD("parameter %zu is not finite", F + i);
    return 0;
}

int b4k_crf_model_from(b4k_crf_model *m, b4k_model *f, b4k_err *err)
{
    int rc = load_common(m, f, 0, err);
    if (rc)
        b4k_crf_model_free(m);
    return rc;
}

int b4k_crf_model_load_ex(b4k_crf_model *m, const char *path, unsigned flags, b4k_err *err)
{
    b4k_model *f;
    b4k_slurp src;
    b4k_crf_model_init(m);
    /* every byte is read at once (checksums, table checks), then the hash
     * tables are used at random: in huge pages when there are (slurp.h) */
    int rc = b4k_slurp_open(&src, path, err);
    if (rc)
        return rc;
    if ((rc = b4k_model_open_mem(&f, src.data, src.size, path, err))) {
        b4k_slurp_close(&src);
        return rc;
    }
    rc = load_common(m, f, flags, err);
    m->src = src; /* freed with m, after the container */
    if (rc)
        b4k_crf_model_free(m);
    return rc;
}

int b4k_crf_model_load(b4k_crf_model *m, const char *path, b4k_err *err)
{
    return b4k_crf_model_load_ex(m, path, 0, err);
}

int b4k_crf_model_load_mem(b4k_crf_model *m, const void *buf, size_t n, const char *name,
                           b4k_err *err)
{
    b4k_model *f;
    b4k_crf_model_init(m);
    int rc = b4k_model_open_mem(&f, buf, n, name, err);
    if (rc)
        return rc;
    rc = load_common(m, f, 0, err);
    if (rc)
        b4k_crf_model_free(m);
    return rc;
}

void b4k_crf_model_emit(const b4k_crf_model *m, const int32_t *aid, const size_t *aoff, size_t T,
                        double *emit)
{
    if (m->x)
        b4k_crf_emit_seq(emit, m->x, m->foff, m->flab, aid, aoff, T, m->L);
    else
        b4k_crf_emit_seq_f32(emit, m->wf, m->foff, m->flab, aid, aoff, T, m->L);
}

int b4k_crf_model_tr(const b4k_crf_model *m, b4k_crf1d_tr *tr)
{
    if (tr->L != m->L)
        return B4K_EINVAL;
    b4k_crf1d_tr_set(tr, b4k_crf_model_trans(m), b4k_crf_model_start(m), b4k_crf_model_end(m));
    return 0;
}
