#include "generate/record.h"

#include <string.h>

#include "core/alloc.h"
#include "io/jsonl.h"
#include "io/stream.h"

/* ---- parameters ---------------------------------------------------------- */

static int num_opt(json_t *v, const char *key, double lo, double hi, double *out, b4k_err *err)
{
    if (!json_is_number(v))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"%s\" must be a number", key);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"%s\" = %g is out of range [%g, %g]", key, x,
                           lo, hi);
    *out = x;
    return 0;
}

static int apply_stop(gen_params *p, json_t *v, b4k_err *err)
{
    size_t n = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : (size_t)-1;
    if (n == (size_t)-1)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"stop\" must be a string or an array");
    char **s = b4k_calloc(n + 1, sizeof *s);
    if (!s)
        return B4K_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_string(v) ? v : json_array_get(v, i);
        if (!json_is_string(e) || !json_string_length(e)) {
            for (size_t k = 0; k < i; k++)
                b4k_free(s[k]);
            b4k_free(s);
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"stop\" entries must be non-empty strings");
        }
        s[i] = b4k_strdup(json_string_value(e));
    }
    gen_params_free_stop(p);
    p->stop = s;
    p->nstop = (int)n;
    p->stop_owned = 1;
    return 0;
}

void gen_params_free_stop(gen_params *p)
{
    if (p->stop_owned) {
        for (int i = 0; i < p->nstop; i++)
            b4k_free(p->stop[i]);
        b4k_free(p->stop);
    }
    p->stop = NULL;
    p->nstop = 0;
    p->stop_owned = 0;
}

int gen_params_apply(gen_params *p, const char *key, json_t *v, b4k_err *err)
{
    double x;
    int rc;
#define NUM(name, lo, hi, dst, cast)                                        \
    if (!strcmp(key, name)) {                                              \
        if ((rc = num_opt(v, key, lo, hi, &x, err)))                        \
            return rc;                                                     \
        dst = (cast)x;                                                     \
        return 0;                                                          \
    }
    NUM("temperature", 0, 1e6, p->so.temperature, float)
    NUM("top_k", 0, 1e9, p->so.top_k, int)
    NUM("top_p", 0, 1, p->so.top_p, float)
    NUM("min_p", 0, 1, p->so.min_p, float)
    NUM("repetition_penalty", 1e-6, 1e6, p->so.repetition_penalty, float)
    NUM("presence_penalty", -1e6, 1e6, p->so.presence_penalty, float)
    NUM("frequency_penalty", -1e6, 1e6, p->so.frequency_penalty, float)
    NUM("penalty_last_n", 0, 1e9, p->so.penalty_last_n, int)
    NUM("max_tokens", 0, 1e9, p->max_tokens, int)
    NUM("n", 1, 1e6, p->n, int)
    NUM("beams", 1, 1e6, p->beams, int)
    NUM("length_penalty", -1e6, 1e6, p->length_penalty, float)
    NUM("seed", 0, 1.8e19, p->seed, uint64_t)
    NUM("end_id", -1, 1e9, p->end_id, int)
#undef NUM
    if (!strcmp(key, "early_stopping")) {
        if (!json_is_boolean(v))
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"early_stopping\" must be a boolean");
        p->early = json_is_true(v);
        return 0;
    }
    if (!strcmp(key, "stop"))
        return apply_stop(p, v, err);
    return 1;
}

/* ---- records -------------------------------------------------------------- */

/* Fill in the template: every "{input}" becomes text. */
static int fill_template(const char *tpl, const char *text, size_t len, b4k_buf *out)
{
    out->len = 0;
    for (const char *p = tpl;;) {
        const char *q = strstr(p, "{input}");
        if (!q)
            return b4k_buf_puts(out, p);
        if (b4k_buf_append(out, p, (size_t)(q - p)) || b4k_buf_append(out, text, len))
            return B4K_ENOMEM;
        p = q + 7;
    }
}

static int apply_all(gen_record *r, json_t *o, int strict, b4k_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int rc = gen_params_apply(&r->p, key, v, err);
        if (rc < 0)
            return rc;
        if (rc == 1 && strict)
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "unknown sampling option \"%s\"", key);
    }
    return 0;
}

int gen_record_parse(gen_record *r, const char *line, size_t len, const gen_params *def,
                     const gen_input *in, const char *file, long lineno, b4k_err *err)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->p = *def;
    r->p.stop_owned = 0; /* the defaults' list stays the caller's */
    b4k_buf_init(&r->buf);
    if (len == 0 || line[0] != '{') {
        /* a plain line is the prompt itself */
        r->id = json_integer(lineno);
        r->text = line;
        r->len = len;
    } else {
        if ((rc = b4k_jsonl_parse_object(&r->obj, line, len, file, lineno, err)))
            return rc;
        r->id = json_object_get(r->obj, "id");
        if (r->id)
            json_incref(r->id);
        if ((rc = apply_all(r, r->obj, 0, err)))
            return rc;
        json_t *o = json_object_get(r->obj, "options");
        if (o && !json_is_object(o))
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"options\" must be an object");
        if (o && (rc = apply_all(r, o, 1, err)))
            return rc;
        json_t *pid = json_object_get(r->obj, "prompt_ids");
        if (pid) {
            if (!json_is_array(pid) || json_array_size(pid) == 0)
                return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                                   "\"prompt_ids\" must be a non-empty array");
            if (in->templ)
                return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                                   "--template needs text, not \"prompt_ids\"");
            r->ids = pid;
        } else {
            /* with a template "input" fills it, else the prompt field */
            json_t *t = in->templ ? json_object_get(r->obj, "input") : NULL;
            if (!t)
                t = json_object_get(r->obj, in->field);
            if (!json_is_string(t))
                return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                                   "record has no string %s\"%s\" (or \"prompt_ids\")",
                                   in->templ ? "\"input\" or " : "", in->field);
            r->text = json_string_value(t);
            r->len = json_string_length(t);
        }
    }
    if (r->text && in->templ) {
        if ((rc = fill_template(in->templ, r->text, r->len, &r->buf)))
            return rc;
        r->text = r->buf.data;
        r->len = r->buf.len;
    }
    return 0;
}

void gen_record_free(gen_record *r)
{
    gen_params_free_stop(&r->p);
    json_decref(r->obj);
    json_decref(r->id);
    b4k_buf_free(&r->buf);
    memset(r, 0, sizeof *r);
}

char *gen_template_read(const char *path, b4k_err *err)
{
    b4k_stream *s;
    if (b4k_stream_open(&s, path, err))
        return NULL;
    b4k_buf b;
    b4k_buf_init(&b);
    char chunk[65536];
    size_t got;
    int rc;
    do {
        if ((rc = b4k_stream_read(s, chunk, sizeof chunk, &got, err)) ||
            b4k_buf_append(&b, chunk, got)) {
            b4k_buf_free(&b);
            b4k_stream_close(s);
            return NULL;
        }
    } while (got == sizeof chunk);
    b4k_stream_close(s);
    b4k_buf_putc(&b, 0);
    /* a trailing newline of the file is not part of the template */
    if (b.len >= 2 && b.data[b.len - 2] == '\n')
        b.data[b.len - 2] = 0;
    return b.data;
}
