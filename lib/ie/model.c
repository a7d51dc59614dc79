/* Extraction model create/save/load; see model.h. */
#include "ie/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/stream.h"
#include "model/model.h"

static int cfg_int(json_t *o, const char *k, int *dst, int def, const char *path, b4k_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        if (def < 0) return b4k_err_set(err, B4K_EFORMAT, path, 0, "BERT config: no \"%s\"", k);
        *dst = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 30))
        return b4k_err_set(err, B4K_EFORMAT, path, 0, "BERT config: \"%s\" must be a positive integer", k);
    *dst = (int)json_integer_value(v);
    return 0;
}

static int cfg_from_json(b4k_bert_config *c, b4k_err *err, json_t *o, const char *path)
{
    memset(c, 0, sizeof *c);
    if (!json_is_object(o)) return b4k_err_set(err, B4K_EFORMAT, path, 0, "BERT config is not an object");
    int rc;
    if ((rc = cfg_int(o, "vocab_size", &c->vocab, -1, path, err)) ||
        (rc = cfg_int(o, "hidden_size", &c->hidden, -1, path, err)) ||
        (rc = cfg_int(o, "num_hidden_layers", &c->layers, -1, path, err)) ||
        (rc = cfg_int(o, "num_attention_heads", &c->heads, -1, path, err)) ||
        (rc = cfg_int(o, "intermediate_size", &c->inter, 4 * c->hidden, path, err)) ||
        (rc = cfg_int(o, "max_position_embeddings", &c->max_pos, 512, path, err)) ||
        (rc = cfg_int(o, "type_vocab_size", &c->type_vocab, 2, path, err)))
        return rc;
    json_t *act = json_object_get(o, "hidden_act");
    const char *a = json_is_string(act) ? json_string_value(act) : "gelu";
    if (!strcmp(a, "gelu") || !strcmp(a, "gelu_erf")) c->gelu_tanh = 0;
    else if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_tanh") || !strcmp(a, "gelu_pytorch_tanh"))
        c->gelu_tanh = 1;
    else return b4k_err_set(err, B4K_EUNSUP, path, 0, "BERT config: hidden_act \"%s\" is not supported", a);
    json_t *v;
    c->ln_eps = 1e-12f;
    if ((v = json_object_get(o, "layer_norm_eps")) && json_is_number(v)) c->ln_eps = (float)json_number_value(v);
    c->drop_hidden = 0.1f;
    c->drop_attn = 0.1f;
    if ((v = json_object_get(o, "hidden_dropout_prob")) && json_is_number(v))
        c->drop_hidden = (float)json_number_value(v);
    if ((v = json_object_get(o, "attention_probs_dropout_prob")) && json_is_number(v))
        c->drop_attn = (float)json_number_value(v);
    c->init_range = 0.02f;
    if ((v = json_object_get(o, "initializer_range")) && json_is_number(v))
        c->init_range = (float)json_number_value(v);
    /* ALBERT: factorised embeddings, one shared layer group */
    json_t *mt = json_object_get(o, "model_type");
    const char *type = json_is_string(mt) ? json_string_value(mt) : "";
    int albert = !strcmp(type, "albert") || json_object_get(o, "embedding_size") ||
                 json_object_get(o, "num_hidden_groups");
    if (albert) {
        int groups = 1, inner = 1, rc2;
        if ((rc2 = cfg_int(o, "num_hidden_groups", &groups, 1, path, err)) ||
            (rc2 = cfg_int(o, "inner_group_num", &inner, 1, path, err)) ||
            (rc2 = cfg_int(o, "embedding_size", &c->emb, 128, path, err)))
            return rc2;
        if (groups != 1 || inner != 1)
            return b4k_err_set(err, B4K_EUNSUP, path, 0,
                               "ALBERT with num_hidden_groups %d and inner_group_num %d is not supported "
                               "(only one shared layer)", groups, inner);
        c->shared = 1;
        if (c->emb == c->hidden) c->emb = 0;
    }
    /* RoBERTa: positions start after the padding index (fairseq/HF) */
    int roberta = !strcmp(type, "roberta") || !strcmp(type, "xlm-roberta") || !strcmp(type, "camembert");
    if ((v = json_object_get(o, "position_offset")) && json_is_integer(v)) {
        c->pos_offset = (int)json_integer_value(v);
    } else if (roberta) {
        json_t *pad = json_object_get(o, "pad_token_id");
        c->pos_offset = (json_is_integer(pad) ? (int)json_integer_value(pad) : 1) + 1;
    }
    return b4k_bert_config_check(c, err);
}

static json_t *cfg_to_json(const b4k_bert_config *c)
{
    json_t *o = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f,s:f}", "vocab_size", c->vocab,
                          "hidden_size", c->hidden, "num_hidden_layers", c->layers,
                          "num_attention_heads", c->heads, "intermediate_size", c->inter,
                          "max_position_embeddings", c->max_pos, "type_vocab_size", c->type_vocab,
                          "hidden_act", c->gelu_tanh ? "gelu_new" : "gelu", "layer_norm_eps",
                          (double)c->ln_eps, "hidden_dropout_prob", (double)c->drop_hidden,
                          "attention_probs_dropout_prob", (double)c->drop_attn, "initializer_range",
                          (double)(c->init_range > 0 ? c->init_range : 0.02f));
    int bad = !o;
    if (!bad && c->shared)
        bad = json_object_set_new(o, "model_type", json_string("albert")) ||
              json_object_set_new(o, "embedding_size", json_integer(b4k_bert_emb(c)));
    if (!bad && c->pos_offset)
        bad = json_object_set_new(o, "position_offset", json_integer(c->pos_offset));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int b4k_ie_bert_config(b4k_bert_config *c, b4k_err *err, const char *path)
{
    json_t *o = NULL;
    int rc = b4k_json_load_file(&o, path, err);
    if (rc) return rc;
    rc = cfg_from_json(c, err, o, path);
    json_decref(o);
    return rc;
}

static int build(b4k_ie_model *m, b4k_err *err)
{
    int rc;
    b4k_ptab_init(&m->tab);
    if ((rc = b4k_bert_add_params(&m->bert, &m->tab, err, &m->cfg, "bert."))) return rc;
    if (m->task == B4K_IE_SPO)
        rc = b4k_spo_add_params(&m->spo, &m->tab, err, m->cfg.hidden, m->names.n, m->cfg.ln_eps);
    else
        rc = b4k_ner_add_params(&m->ner, &m->tab, err, m->cfg.hidden, 2 * m->names.n + 1, 1.f);
    if (rc) return rc;
    return b4k_ptab_alloc(&m->tab, err);
}

static int load_vocab_mem(b4k_ie_model *m, b4k_err *err, const char *name)
{
    int rc = b4k_wordpiece_load_mem(&m->wp, m->vocab, m->vocab_len, name, m->lower, -1, 1, err);
    if (rc) return rc;
    m->lower = b4k_wordpiece_lower(m->wp);
    if ((int)b4k_wordpiece_size(m->wp) > m->cfg.vocab)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "vocabulary has %zu tokens, model only %d",
                           b4k_wordpiece_size(m->wp), m->cfg.vocab);
    return 0;
}

static int read_all(const char *path, char **out, size_t *n, b4k_err *err)
{
    b4k_stream *st;
    int rc = b4k_stream_open(&st, path, err);
    if (rc) return rc;
    b4k_buf b = {0};
    char tmp[65536];
    size_t got;
    do {
        if ((rc = b4k_stream_read(st, tmp, sizeof tmp, &got, err))) break;
        if (b4k_buf_append(&b, tmp, got)) rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    } while (!rc && got == sizeof tmp);
    b4k_stream_close(st);
    if (rc) {
        b4k_buf_free(&b);
        return rc;
    }
    *out = b.data ? b.data : b4k_strdup("");
    *n = b.len;
    return *out ? 0 : b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
}

static void default_thresh(b4k_spo_thresh *t)
{
    t->subj_start = 0.6f;
    t->subj_end = 0.5f;
    t->obj_start = 0.6f;
    t->obj_end = 0.5f;
}

int b4k_ie_model_create(b4k_ie_model *m, b4k_err *err, int task, const b4k_bert_config *c,
                        const b4k_ie_names *names, const char *vocab_path, const char *init_path,
                        int max_len, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->task = task;
    m->cfg = *c;
    m->max_len = max_len;
    m->lower = -1;
    default_thresh(&m->th);
    int rc;
    if (names->n <= 0) return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "the training data has no %s",
                                          task == B4K_IE_SPO ? "predicates" : "entity types");
    if (max_len < 3 || max_len > c->max_pos)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--max-len %d must be in [3, %d]", max_len, c->max_pos);
    for (int i = 0; i < names->n; i++)
        if (b4k_ie_names_add(&m->names, names->v[i]) < 0)
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (vocab_path) {
        if ((rc = read_all(vocab_path, &m->vocab, &m->vocab_len, err))) return rc;
    } else {
        /* the vocabulary embedded in the pretrained model */
        b4k_model *mf = NULL;
        const void *vb;
        size_t vn;
        if (!init_path) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "no vocabulary given");
        if ((rc = b4k_model_open(&mf, init_path, err))) return rc;
        json_t *tk = b4k_model_tokenizer(mf), *kind = json_object_get(tk, "kind");
        if (!json_is_string(kind) || strcmp(json_string_value(kind), "wordpiece")) {
            rc = b4k_err_set(err, B4K_EUNSUP, init_path, 0,
                             "the model has no WordPiece vocabulary (tokenizer \"%s\"): give --vocab",
                             json_is_string(kind) ? json_string_value(kind) : "none");
            b4k_model_free(mf);
            return rc;
        }
        rc = b4k_model_get_blob(mf, "tokenizer.vocab", &vb, &vn, err);
        if (!rc && !(m->vocab = b4k_strndup(vb, vn))) rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        m->vocab_len = vn;
        b4k_model_free(mf);
        if (rc) return rc;
        vocab_path = init_path;
    }
    if ((rc = load_vocab_mem(m, err, vocab_path))) return rc;
    if ((rc = build(m, err))) return rc;
    b4k_bert_init_weights(&m->bert, &m->tab, seed);
    if (task == B4K_IE_SPO) b4k_spo_init_weights(&m->spo, &m->tab, seed);
    else b4k_ner_init_weights(&m->ner, &m->tab, seed);
    return 0;
}

int b4k_ie_model_set_lr_mults(b4k_ie_model *m, b4k_err *err, double crf_lr_mult,
                              double layer_decay)
{
    for (int i = 0; i < m->tab.n; i++) m->tab.t[i].lr_mult = 1.f;
    if (m->task == B4K_IE_NER) m->tab.t[m->ner.p_trans].lr_mult = crf_lr_mult > 0 ? (float)crf_lr_mult : 1.f;
    if (!(layer_decay < 1)) return 0;
    if (!(layer_decay > 0)) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "layer decay must be in (0, 1]");
    if (m->cfg.shared)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0,
                           "--layer-decay: ALBERT shares one layer's weights between all layers");
    int L = m->cfg.layers;
    for (int i = m->bert.first_param; i <= m->bert.last_param; i++) {
        int l = b4k_bert_param_layer(&m->bert, i);
        m->tab.t[i].lr_mult = (float)pow(layer_decay, l >= 0 ? L - l : L + 1);
    }
    return 0;
}

int b4k_ie_model_peek_config(b4k_bert_config *c, b4k_err *err, const char *path)
{
    b4k_model *mf = NULL;
    int rc = b4k_model_open(&mf, path, err);
    if (rc) return rc;
    json_t *cfg = b4k_model_config(mf), *bc = json_object_get(cfg, "bert");
    const char *arch = b4k_model_arch(mf);
    if (!bc && arch && strcmp(arch, "bert") && strcmp(arch, "albert")) {
        rc = b4k_err_set(err, B4K_EUNSUP, path, 0,
                         "--init takes a BERT, RoBERTa or ALBERT model, not architecture \"%s\"", arch);
    } else if (!bc && arch && !strcmp(arch, "albert") && !json_object_get(cfg, "model_type")) {
        json_t *c2 = json_deep_copy(cfg);
        if (!c2 || json_object_set_new(c2, "model_type", json_string("albert")))
            rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
        else
            rc = cfg_from_json(c, err, c2, path);
        json_decref(c2);
    } else {
        rc = cfg_from_json(c, err, bc ? bc : cfg, path);
    }
    b4k_model_free(mf);
    return rc;
}

int b4k_ie_model_init_from(b4k_ie_model *m, b4k_err *err, const char *path)
{
    b4k_model *mf = NULL;
    int rc = b4k_model_open(&mf, path, err);
    if (rc) return rc;
    for (int i = m->bert.first_param; i <= m->bert.last_param; i++) {
        const b4k_ptensor *t = &m->tab.t[i];
        const char *nm = t->name;
        if (!b4k_model_has(mf, nm) && !strncmp(nm, "bert.", 5) && b4k_model_has(mf, nm + 5)) nm += 5;
        float *w = NULL;
        b4k_tensor_view v;
        if ((rc = b4k_model_get_f32(mf, nm, &w, &v, err))) goto out;
        size_t n = 1;
        for (int k = 0; k < v.ndim; k++) n *= (size_t)v.shape[k];
        if (n != t->n) {
            b4k_free(w);
            rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "tensor %s has %zu values, expected %zu", nm,
                             n, t->n);
            goto out;
        }
        memcpy(b4k_ptab_w(&m->tab, i), w, n * sizeof(float));
        b4k_free(w);
    }
out:
    b4k_model_free(mf);
    return rc;
}

int b4k_ie_model_save(const b4k_ie_model *m, b4k_err *err, const char *path, json_t *extra,
                      const b4k_ie_optstate *st)
{
    int rc = 0;
    b4k_mw *w = b4k_mw_new("bert-extract");
    json_t *schema = json_array(), *cfg = NULL, *tok = NULL;
    if (!w || !schema) goto nomem;
    for (int i = 0; i < m->names.n; i++) json_array_append_new(schema, json_string(m->names.v[i]));
    cfg = json_pack("{s:s,s:o,s:O,s:i,s:[f,f,f,f],s:s}", "task", m->task == B4K_IE_SPO ? "spo" : "ner",
                    "bert", cfg_to_json(&m->cfg), "schema", schema, "max_len", m->max_len,
                    "thresholds", (double)m->th.subj_start, (double)m->th.subj_end,
                    (double)m->th.obj_start, (double)m->th.obj_end, "precision",
                    m->bf16 ? "bf16" : "f32");
    tok = json_pack("{s:s,s:s,s:b,s:i}", "kind", "wordpiece", "vocab", "tokenizer.vocab", "do_lower_case",
                    m->lower > 0, "lower", m->lower);
    if (!cfg || !tok) goto nomem;
    if ((rc = b4k_mw_set_config(w, cfg)) || (rc = b4k_mw_set_tokenizer(w, tok))) goto fail;
    if (extra && (rc = b4k_mw_set_meta(w, "training", extra))) goto fail;
    for (int i = 0; i < m->tab.n; i++) {
        const b4k_ptensor *t = &m->tab.t[i];
        int64_t shape[2] = {t->shape[0], t->shape[1]};
        if ((rc = b4k_mw_add(w, t->name, B4K_F32, t->ndim, shape, b4k_ptab_w(&m->tab, i),
                             B4K_CODEC_RAW, err)))
            goto out;
    }
    if ((rc = b4k_mw_add_blob(w, "tokenizer.vocab", m->vocab, m->vocab_len, B4K_CODEC_ZSTD, err)))
        goto out;
    if (st) {
        int64_t n = (int64_t)m->tab.total, one = 1;
        float stepf[2] = {(float)(st->step >> 24), (float)(st->step & 0xffffff)};
        int64_t two = 2;
        if ((rc = b4k_mw_add(w, "optimizer.m", B4K_F32, 1, &n, st->m, B4K_CODEC_RAW, err)) ||
            (rc = b4k_mw_add(w, "optimizer.v", B4K_F32, 1, &n, st->v, B4K_CODEC_RAW, err)) ||
            (st->ema && (rc = b4k_mw_add(w, "optimizer.ema", B4K_F32, 1, &n, st->ema, B4K_CODEC_RAW, err))) ||
            (rc = b4k_mw_add_copy(w, "optimizer.step", B4K_F32, 1, &two, stepf, B4K_CODEC_RAW, err)))
            goto out;
        (void)one;
    }
    rc = b4k_mw_write(w, path, err);
    goto out;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    goto out;
fail:
    b4k_err_set(err, rc, path, 0, "cannot build the model header");
out:
    json_decref(schema);
    json_decref(cfg);
    json_decref(tok);
    b4k_mw_free(w);
    return rc;
}

static int opt_array(b4k_model *mf, b4k_err *err, const char *name, size_t n, float **out)
{
    *out = NULL;
    if (!b4k_model_has(mf, name)) return 0;
    b4k_tensor_view v;
    float *w = NULL;
    int rc = b4k_model_get_f32(mf, name, &w, &v, err);
    if (rc) return rc;
    if (v.nbytes != n * sizeof(float)) {
        b4k_free(w);
        return b4k_err_set(err, B4K_EFORMAT, b4k_model_name(mf), 0, "%s has the wrong size", name);
    }
    *out = malloc(n * sizeof(float));
    if (!*out) {
        b4k_free(w);
        return B4K_ENOMEM;
    }
    memcpy(*out, w, n * sizeof(float));
    b4k_free(w);
    return 0;
}

int b4k_ie_model_load(b4k_ie_model *m, b4k_err *err, const char *path, b4k_ie_optload *st)
{
    memset(m, 0, sizeof *m);
    if (st) memset(st, 0, sizeof *st);
    b4k_model *mf = NULL;
    int rc = b4k_model_open(&mf, path, err);
    if (rc) return rc;
    json_t *cfg = b4k_model_config(mf), *tok = b4k_model_tokenizer(mf);
    const char *arch = b4k_model_arch(mf);
    if (!arch || strcmp(arch, "bert-extract")) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "not an extraction model (architecture \"%s\")",
                         arch ? arch : "");
        goto out;
    }
    json_t *task = json_object_get(cfg, "task"), *schema = json_object_get(cfg, "schema"),
           *ml = json_object_get(cfg, "max_len"), *th = json_object_get(cfg, "thresholds"),
           *prec = json_object_get(cfg, "precision");
    if (!json_is_string(task) || !json_is_array(schema) || !json_is_integer(ml)) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "model config needs \"task\", \"schema\", \"max_len\"");
        goto out;
    }
    m->task = !strcmp(json_string_value(task), "spo") ? B4K_IE_SPO
            : !strcmp(json_string_value(task), "ner") ? B4K_IE_NER : 0;
    if (!m->task) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "unknown task \"%s\"", json_string_value(task));
        goto out;
    }
    if ((rc = cfg_from_json(&m->cfg, err, json_object_get(cfg, "bert"), path))) goto out;
    m->max_len = (int)json_integer_value(ml);
    if (m->max_len < 3 || m->max_len > m->cfg.max_pos) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "bad max_len %d", m->max_len);
        goto out;
    }
    if (prec && (!json_is_string(prec) || (strcmp(json_string_value(prec), "f32") &&
                                           strcmp(json_string_value(prec), "bf16")))) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "model config: \"precision\" must be \"f32\" or \"bf16\"");
        goto out;
    }
    m->bf16 = prec && !strcmp(json_string_value(prec), "bf16");
    default_thresh(&m->th);
    if (json_is_array(th) && json_array_size(th) == 4) {
        m->th.subj_start = (float)json_number_value(json_array_get(th, 0));
        m->th.subj_end = (float)json_number_value(json_array_get(th, 1));
        m->th.obj_start = (float)json_number_value(json_array_get(th, 2));
        m->th.obj_end = (float)json_number_value(json_array_get(th, 3));
    }
    size_t i;
    json_t *s;
    json_array_foreach(schema, i, s) {
        if (!json_is_string(s) || b4k_ie_names_find(&m->names, json_string_value(s)) >= 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "bad or duplicate schema entry %zu", i);
            goto out;
        }
        if (b4k_ie_names_add(&m->names, json_string_value(s)) < 0) {
            rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
            goto out;
        }
    }
    if (m->names.n == 0) {
        rc = b4k_err_set(err, B4K_EFORMAT, path, 0, "empty schema");
        goto out;
    }
    json_t *lw = json_object_get(tok, "lower"), *dl = json_object_get(tok, "do_lower_case");
    m->lower = json_is_integer(lw) ? (int)json_integer_value(lw) : json_is_boolean(dl) ? json_is_true(dl) : -1;
    const void *vb;
    size_t vn;
    if ((rc = b4k_model_get_blob(mf, "tokenizer.vocab", &vb, &vn, err))) goto out;
    if (!(m->vocab = b4k_strndup(vb, vn))) {
        rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
        goto out;
    }
    m->vocab_len = vn;
    if ((rc = load_vocab_mem(m, err, path))) goto out;
    if ((rc = build(m, err))) goto out;
    for (int k = 0; k < m->tab.n; k++) {
        const b4k_ptensor *t = &m->tab.t[k];
        int64_t shape[2] = {t->shape[0], t->shape[1]};
        b4k_tensor_view v;
        if ((rc = b4k_model_get_checked(mf, t->name, B4K_F32, t->ndim, shape, &v, err))) goto out;
        memcpy(b4k_ptab_w(&m->tab, k), v.data, t->n * sizeof(float));
    }
    if (st) {
        json_t *tr = json_object_get(b4k_model_header(mf), "training");
        st->training = tr ? json_incref(tr) : NULL;
        if ((rc = opt_array(mf, err, "optimizer.m", m->tab.total, &st->m)) ||
            (rc = opt_array(mf, err, "optimizer.v", m->tab.total, &st->v)) ||
            (rc = opt_array(mf, err, "optimizer.ema", m->tab.total, &st->ema)))
            goto out;
        float *sp = NULL;
        if ((rc = opt_array(mf, err, "optimizer.step", 2, &sp))) goto out;
        if (sp) st->step = ((long)sp[0] << 24) + (long)sp[1];
        free(sp);
    }
out:
    b4k_model_free(mf);
    return rc;
}

void b4k_ie_model_free(b4k_ie_model *m)
{
    if (!m) return;
    b4k_bert_free(&m->bert);
    b4k_ptab_free(&m->tab);
    b4k_ie_names_free(&m->names);
    b4k_wordpiece_free(m->wp);
    free(m->vocab);
    memset(m, 0, sizeof *m);
}
