#include "b4k-generate/record.h"

#include <stddef.h>
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

/* The parameter keys of a record (man/b4k-generate.1, INPUT). */
enum { K_FLOAT, K_INT, K_U64, K_BOOL, K_STOP };
static const struct pkey {
    const char *name;
    int kind;
    double lo, hi;
    size_t off;
    int only; /* 'S': sampling only, 'B': beam search only */
} pkeys[] = {
    { "temperature", K_FLOAT, 0, 1e6, offsetof(gen_params, so.temperature), 'S' },
    { "top_k", K_INT, 0, 1e9, offsetof(gen_params, so.top_k), 'S' },
    { "top_p", K_FLOAT, 0, 1, offsetof(gen_params, so.top_p), 'S' },
    { "min_p", K_FLOAT, 0, 1, offsetof(gen_params, so.min_p), 'S' },
    { "repetition_penalty", K_FLOAT, 1e-6, 1e6, offsetof(gen_params, so.repetition_penalty), 'S' },
    { "presence_penalty", K_FLOAT, -1e6, 1e6, offsetof(gen_params, so.presence_penalty), 'S' },
    { "frequency_penalty", K_FLOAT, -1e6, 1e6, offsetof(gen_params, so.frequency_penalty), 'S' },
    { "penalty_last_n", K_INT, 0, 1e9, offsetof(gen_params, so.penalty_last_n), 'S' },
    { "max_tokens", K_INT, 0, 1e9, offsetof(gen_params, max_tokens), 0 },
    { "n", K_INT, 1, 1e6, offsetof(gen_params, n), 0 },
    { "seed", K_U64, 0, 1.8e19, offsetof(gen_params, seed), 0 },
    { "beams", K_INT, 1, 1e6, offsetof(gen_params, beams), 0 },
    { "length_penalty", K_FLOAT, -1e6, 1e6, offsetof(gen_params, length_penalty), 'B' },
    { "early_stopping", K_BOOL, 0, 1, offsetof(gen_params, early), 'B' },
    { "end_id", K_INT, -1, 1e9, offsetof(gen_params, end_id), 0 },
    { "stop", K_STOP, 0, 0, 0, 0 },
};
#define NPKEYS (sizeof pkeys / sizeof *pkeys)

int gen_params_apply(gen_params *p, const char *key, json_t *v, b4k_err *err)
{
    const struct pkey *k = NULL;
    for (size_t i = 0; i < NPKEYS && !k; i++)
        if (!strcmp(key, pkeys[i].name))
            k = &pkeys[i];
    if (!k)
        return 1;
    p->set |= 1u << (k - pkeys);
    char *dst = (char *)p + k->off;
    double x = 0;
    int rc;
    switch (k->kind) {
    case K_STOP:
        return apply_stop(p, v, err);
    case K_BOOL:
        if (!json_is_boolean(v))
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"%s\" must be a boolean", key);
        *(int *)dst = json_is_true(v);
        return 0;
    }
    if ((rc = num_opt(v, key, k->lo, k->hi, &x, err)))
        return rc;
    if (k->kind == K_FLOAT)
        *(float *)dst = (float)x;
    else if (k->kind == K_INT)
        *(int *)dst = (int)x;
    else
        *(uint64_t *)dst = (uint64_t)x;
    return 0;
}

int gen_params_check(const gen_params *p, b4k_err *err)
{
    if (p->beams > 1 && p->n > 1)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "beam search gives one answer: \"n\" %d does not go with %d beams",
                           p->n, p->beams);
    for (size_t i = 0; i < NPKEYS; i++)
        if (p->set & (1u << i)) {
            if (pkeys[i].only == 'S' && p->beams > 1)
                return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                                   "\"%s\" does not apply to beam search (%d beams)",
                                   pkeys[i].name, p->beams);
            if (pkeys[i].only == 'B' && p->beams <= 1)
                return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                                   "\"%s\" needs beam search (\"beams\" > 1)", pkeys[i].name);
        }
    return 0;
}

/* ---- keys that look like a misspelt parameter ----------------------------- */

/* Optimal string alignment distance (edits: insert, delete, substitute,
 * swap neighbours), capped: returns cap + 1 once it exceeds cap. */
static int osa_distance(const char *a, const char *b, int cap)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n - m > cap || m - n > cap || n > 63 || m > 63)
        return cap + 1;
    int d[64][64];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[n][m] > cap ? cap + 1 : d[n][m];
}

/* lower case, '-' and ' ' as '_'; with drop_us, without '_' at all */
static void norm_key(char *out, size_t cap, const char *key, int drop_us)
{
    size_t o = 0;
    for (const char *c = key; *c && o + 1 < cap; c++) {
        char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c == '-' || *c == ' ' ? '_' : *c;
        if (!(drop_us && ch == '_'))
            out[o++] = ch;
    }
    out[o] = 0;
}

/* Other programs' names for b4k's keys (HF generate, OpenAI, llama.cpp,
 * Ollama), and b4k's own option names. */
static const char *const aliases[][2] = {
    { "max_new_tokens", "max_tokens" }, { "max_length", "max_tokens" },
    { "num_predict", "max_tokens" },    { "n_predict", "max_tokens" },
    { "num_beams", "beams" },           { "num_return_sequences", "n" },
    { "samples", "n" },                 { "num_samples", "n" },
    { "eos_token_id", "end_id" },       { "stop_sequences", "stop" },
    { "stops", "stop" },                { "seeds", "seed" },
    { "random_seed", "seed" },          { "repeat_penalty", "repetition_penalty" },
    { "repeat_last_n", "penalty_last_n" }, { "do_sample", "temperature" },
};

/* The parameter key meant by a key that is not one, or NULL (see INPUT in
 * man/b4k-generate.1 for the rule). */
static const char *near_miss(const char *key)
{
    char k[64], ku[64], p[64];
    if (strlen(key) >= sizeof k)
        return NULL;
    norm_key(k, sizeof k, key, 0);
    norm_key(ku, sizeof ku, key, 1);
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(k, aliases[i][0]))
            return aliases[i][1];
    for (size_t i = 0; i < NPKEYS; i++) {
        norm_key(p, sizeof p, pkeys[i].name, 1);
        if (!strcmp(k, pkeys[i].name) || !strcmp(ku, p))
            return pkeys[i].name;
    }
    for (int d = 1; d <= 2; d++) /* the closest */
        for (size_t i = 0; i < NPKEYS; i++) {
            int len = (int)strlen(pkeys[i].name);
            if ((len >= 8 ? 2 : len >= 5 ? 1 : 0) >= d && osa_distance(k, pkeys[i].name, d) <= d)
                return pkeys[i].name;
        }
    return NULL;
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

/* The keys of a record (top) or of its "options" object: a key that is not
 * a parameter is an error in options, and at the top level when it looks
 * like a misspelt one; other top-level keys are the record's own data. */
static int apply_all(gen_record *r, json_t *o, int top, const gen_input *in, b4k_err *err)
{
    static const char *const own[] = { "id", "prompt", "prompt_ids", "input", "options" };
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int rc = gen_params_apply(&r->p, key, v, err);
        if (rc <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        int data = top && !strcmp(key, in->field);
        for (size_t i = 0; top && i < sizeof own / sizeof *own; i++)
            data |= !strcmp(key, own[i]);
        if (data)
            continue;
        const char *meant = near_miss(key);
        if (meant)
            return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                               "unknown sampling option \"%s\" (did you mean \"%s\"?)", key, meant);
        if (!top)
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
    r->p.set = 0;
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
        if ((rc = apply_all(r, r->obj, 1, in, err)))
            return rc;
        json_t *o = json_object_get(r->obj, "options");
        if (o && !json_is_object(o))
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "\"options\" must be an object");
        if (o && (rc = apply_all(r, o, 0, in, err)))
            return rc;
        if ((rc = gen_params_check(&r->p, err)))
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
