/* word2vec model I/O: the .b4k container, and strict readers/writers of the
 * word2vec text and binary formats. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "model/model.h"
#include "w2v/w2v.h"

#define MAX_WORD 4096
#define MAX_DIM 100000

int b4k_w2v_new(b4k_w2v **out, b4k_w2v_vocab *vocab, int dim, b4k_err *err)
{
    b4k_w2v *m = b4k_calloc(1, sizeof *m);
    size_t nel;
    *out = NULL;
    if (!m) {
        b4k_w2v_vocab_free(vocab);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    m->vocab = vocab;
    m->n = b4k_w2v_vocab_size(vocab);
    m->dim = dim;
    m->cfg.dim = dim;
    if (b4k_mul_ok(m->n ? m->n : 1, (size_t)dim * sizeof(float), &nel) ||
        !(m->in = b4k_alloc_huge(nel))) {
        b4k_w2v_free(m);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory (%zu x %d vectors)", m->n,
                           dim);
    }
    memset(m->in, 0, nel);
    *out = m;
    return 0;
}

void b4k_w2v_free(b4k_w2v *m)
{
    if (!m)
        return;
    b4k_w2v_vocab_free(m->vocab);
    b4k_free(m->in);
    b4k_free(m->out);
    b4k_free(m->hs);
    b4k_free(m);
}

/* ---- word2vec text / binary readers (on a NUL-terminated buffer) ---- */

static int parse_header(const char *p, size_t n, size_t *pos, long *V, long *D, const char *name,
                        b4k_err *err)
{
    size_t i = 0;
    long v[2];
    for (int k = 0; k < 2; k++) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= n || p[i] < '0' || p[i] > '9')
            return b4k_err_set(err, B4K_EFORMAT, name, 1,
                               "expected a \"VOCAB DIM\" header line (word2vec format)");
        long x = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            x = x * 10 + (p[i] - '0');
            if (x > 2147483647L)
                return b4k_err_set(err, B4K_ERANGE, name, 1, "header number too large");
            i++;
        }
        v[k] = x;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
        i++;
    if (i >= n || p[i] != '\n')
        return b4k_err_set(err, B4K_EFORMAT, name, 1,
                           "expected a \"VOCAB DIM\" header line (word2vec format)");
    if (v[0] < 1 || v[1] < 1 || v[1] > MAX_DIM)
        return b4k_err_set(err, B4K_EFORMAT, name, 1, "bad header: %ld words of dimension %ld",
                           v[0], v[1]);
    *pos = i + 1;
    *V = v[0];
    *D = v[1];
    return 0;
}

/* Does the record at p look like text ("word f f ... f\n" with D numbers)? */
static int looks_text(const char *p, size_t n, long D)
{
    size_t i = 0;
    while (i < n && p[i] != ' ' && p[i] != '\n')
        i++;
    long k = 0;
    while (i < n && p[i] != '\n') {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i >= n || p[i] == '\n')
            break;
        char *end;
        errno = 0;
        strtof(p + i, &end);
        if (end == p + i)
            return 0;
        i = (size_t)(end - p);
        if (i < n && !(p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            return 0;
        k++;
    }
    return k == D;
}

static int add_word(b4k_w2v_vocab *v, const char *w, size_t len, size_t expect, const char *name,
                    long line, b4k_err *err)
{
    int64_t id = b4k_w2v_vocab_add(v, w, len, 0);
    if (id < 0)
        return b4k_err_set(err, B4K_ENOMEM, name, line, "out of memory");
    if ((size_t)id != expect)
        return b4k_err_set(err, B4K_EFORMAT, name, line, "duplicate word \"%.*s\"",
                           (int)(len > 64 ? 64 : len), w);
    return 0;
}

static int read_text(b4k_w2v **out, const char *p, size_t n, size_t pos, long V, long D,
                     const char *name, b4k_err *err)
{
    int rc;
    b4k_w2v *m = NULL;
    b4k_w2v_vocab *v = NULL;
    /* every value needs at least 2 bytes: cap the allocation by the input */
    if ((double)V * (double)D * 2.0 > (double)(n - pos) + (double)V)
        return b4k_err_set(err, B4K_EFORMAT, name, 1,
                           "truncated: the header promises %ld vectors of dimension %ld", V, D);
    v = b4k_w2v_vocab_new();
    if (!v)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_w2v_vocab_set_prune_limit(v, 0);
    float *vec = b4k_malloc_n((size_t)V * (size_t)D, sizeof *vec);
    if (!vec) {
        b4k_w2v_vocab_free(v);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    long line = 1;
    for (long r = 0; r < V; r++) {
        line++;
        if (pos >= n) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             "truncated: expected %ld vectors, found %ld", V, r);
            goto fail;
        }
        size_t ws = pos;
        while (pos < n && p[pos] != ' ' && p[pos] != '\t' && p[pos] != '\n' && p[pos] != '\r')
            pos++;
        if (pos == ws || pos - ws > MAX_WORD) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             pos == ws ? "empty word" : "word longer than %d bytes", MAX_WORD);
            goto fail;
        }
        if ((rc = add_word(v, p + ws, pos - ws, (size_t)r, name, line, err)))
            goto fail;
        float *row = vec + (size_t)r * D;
        long k = 0;
        for (;;) {
            while (pos < n && (p[pos] == ' ' || p[pos] == '\t' || p[pos] == '\r'))
                pos++;
            if (pos >= n || p[pos] == '\n')
                break;
            if (k == D) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                                 "more than %ld values (wrong dimension)", D);
                goto fail;
            }
            char *end;
            float x = strtof(p + pos, &end);
            size_t e = (size_t)(end - p);
            if (end == p + pos || (e < n && p[e] != ' ' && p[e] != '\t' && p[e] != '\r' &&
                                   p[e] != '\n') || e > n) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, line, "value %ld is not a number",
                                 k + 1);
                goto fail;
            }
            if (!isfinite(x)) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, line, "value %ld is not finite", k + 1);
                goto fail;
            }
            row[k++] = x;
            pos = e;
        }
        if (k != D) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             "%ld values, expected %ld (wrong dimension)", k, D);
            goto fail;
        }
        if (pos < n)
            pos++; /* '\n' */
    }
    while (pos < n && (p[pos] == ' ' || p[pos] == '\t' || p[pos] == '\r' || p[pos] == '\n'))
        pos++;
    if (pos < n) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, line + 1,
                         "more vectors than the %ld the header promises", V);
        goto fail;
    }
    rc = b4k_w2v_new(&m, v, (int)D, err);
    v = NULL;
    if (rc)
        goto fail;
    memcpy(m->in, vec, (size_t)V * D * sizeof *vec);
    b4k_free(vec);
    *out = m;
    return 0;
fail:
    b4k_free(vec);
    b4k_w2v_vocab_free(v);
    return rc;
}

static int read_bin(b4k_w2v **out, const char *p, size_t n, size_t pos, long V, long D,
                    const char *name, b4k_err *err)
{
    int rc;
    b4k_w2v *m = NULL;
    b4k_w2v_vocab *v;
    size_t rowb = (size_t)D * sizeof(float);
    if ((double)V * (double)(rowb + 2) > (double)(n - pos) + (double)V)
        return b4k_err_set(err, B4K_EFORMAT, name, 1,
                           "truncated: the header promises %ld vectors of dimension %ld", V, D);
    v = b4k_w2v_vocab_new();
    if (!v)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_w2v_vocab_set_prune_limit(v, 0);
    float *vec = b4k_malloc_n((size_t)V * (size_t)D, sizeof *vec);
    if (!vec) {
        b4k_w2v_vocab_free(v);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    for (long r = 0; r < V; r++) {
        long line = r + 2;
        while (pos < n && (p[pos] == '\n' || p[pos] == '\r'))
            pos++;
        size_t ws = pos;
        while (pos < n && p[pos] != ' ' && p[pos] != '\n')
            pos++;
        if (pos >= n) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             "truncated: expected %ld vectors, found %ld", V, r);
            goto fail;
        }
        if (p[pos] != ' ' || pos == ws || pos - ws > MAX_WORD) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             pos == ws ? "empty word" : "bad word (no space before the vector)");
            goto fail;
        }
        if ((rc = add_word(v, p + ws, pos - ws, (size_t)r, name, line, err)))
            goto fail;
        pos++;
        if (n - pos < rowb) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             "truncated vector: %zu bytes left, %zu needed", n - pos, rowb);
            goto fail;
        }
        float *row = vec + (size_t)r * D;
        memcpy(row, p + pos, rowb);
        for (long k = 0; k < D; k++)
            if (!isfinite(row[k])) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                                 "value %ld is not finite (wrong dimension?)", k + 1);
                goto fail;
            }
        pos += rowb;
    }
    while (pos < n && (p[pos] == '\n' || p[pos] == '\r' || p[pos] == ' '))
        pos++;
    if (pos < n) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, V + 2,
                         "more data than the %ld vectors the header promises (wrong dimension?)",
                         V);
        goto fail;
    }
    rc = b4k_w2v_new(&m, v, (int)D, err);
    v = NULL;
    if (rc)
        goto fail;
    memcpy(m->in, vec, (size_t)V * D * sizeof *vec);
    b4k_free(vec);
    *out = m;
    return 0;
fail:
    b4k_free(vec);
    b4k_w2v_vocab_free(v);
    return rc;
}

/* ---- .b4k container ---- */

static double cfg_num(json_t *c, const char *k)
{
    json_t *x = json_object_get(c, k);
    return json_is_number(x) ? json_number_value(x) : 0;
}

static int read_b4k(b4k_w2v **out, b4k_model *bm, int64_t **state, size_t *nstate,
                    const char *name, b4k_err *err)
{
    int rc;
    b4k_w2v *m = NULL;
    b4k_w2v_vocab *v = NULL;
    const char *arch = b4k_model_arch(bm);
    int is_ck = arch && !strcmp(arch, "word2vec-checkpoint");
    if (!arch || (strcmp(arch, "word2vec") && !is_ck))
        return b4k_err_set(err, B4K_EFORMAT, name, 0,
                           "not a word2vec model (architecture \"%s\")", arch ? arch : "");
    if (state && !is_ck)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "not a word2vec checkpoint");
    b4k_tensor_view vv, cv;
    const void *blob;
    size_t nb;
    if ((rc = b4k_model_get_blob(bm, "words", &blob, &nb, err)))
        return rc;
    int64_t shp[2] = {-1, -1};
    if ((rc = b4k_model_get_checked(bm, "vectors", B4K_F32, 2, shp, &vv, err)))
        return rc;
    int64_t V = vv.shape[0], D = vv.shape[1];
    if (V < 1 || D < 1 || D > MAX_DIM)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "bad vectors shape %lld x %lld",
                           (long long)V, (long long)D);
    int64_t cs[1] = {V};
    if ((rc = b4k_model_get_checked(bm, "counts", B4K_I64, 1, cs, &cv, err)))
        return rc;
    v = b4k_w2v_vocab_new();
    if (!v)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_w2v_vocab_set_prune_limit(v, 0);
    const char *w = blob, *end = w + nb;
    for (int64_t r = 0; r < V; r++) {
        const char *e = w;
        while (e < end && *e != '\n')
            e++;
        if (e == w || (e == end && r + 1 < V)) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "words: %s at word %lld",
                             e == w ? "empty word" : "fewer words than vectors", (long long)r);
            goto fail;
        }
        if ((rc = add_word(v, w, (size_t)(e - w), (size_t)r, name, 0, err)))
            goto fail;
        int64_t c;
        memcpy(&c, (const char *)cv.data + r * 8, 8);
        if (c < 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "negative count for word %lld",
                             (long long)r);
            goto fail;
        }
        b4k_w2v_vocab_set_count(v, (size_t)r, c);
        w = e < end ? e + 1 : e;
    }
    if (w != end) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "words: more words than vectors");
        goto fail;
    }
    rc = b4k_w2v_new(&m, v, (int)D, err);
    v = NULL;
    if (rc)
        goto fail;
    memcpy(m->in, vv.data, (size_t)V * D * sizeof(float));
    m->has_counts = 1;
    json_t *c = b4k_model_config(bm);
    const char *mo = json_string_value(json_object_get(c, "model"));
    m->cfg.model = mo && !strcmp(mo, "cbow") ? B4K_W2V_CBOW : B4K_W2V_SKIPGRAM;
    m->cfg.dim = (int)D;
    m->cfg.window = (int)cfg_num(c, "window");
    m->cfg.negative = (int)cfg_num(c, "negative");
    m->cfg.hs = (int)cfg_num(c, "hs");
    m->cfg.iter = (int)cfg_num(c, "iter");
    m->cfg.min_count = (int64_t)cfg_num(c, "min_count");
    m->cfg.max_vocab = (int64_t)cfg_num(c, "max_vocab");
    m->cfg.sample = cfg_num(c, "sample");
    m->cfg.alpha = cfg_num(c, "alpha");
    m->cfg.seed = (uint64_t)cfg_num(c, "seed");
    m->cfg.chars = (int)cfg_num(c, "chars");
    m->cfg.per_pair = (int)cfg_num(c, "per_pair");
    m->cfg.share_negatives = (int)cfg_num(c, "share_negatives");
    if (m->cfg.share_negatives < 0 || m->cfg.share_negatives > B4K_W2V_MAX_SHARE)
        m->cfg.share_negatives = -1; /* refused by a resume (check_cfg); queries ignore it */
    m->cfg.train_words = (int64_t)cfg_num(c, "train_words");
    int64_t sh2[2] = {V, D};
    const char *outs[2] = {"output", "hs"};
    float **dst[2] = {&m->out, &m->hs};
    for (int q = 0; q < 2; q++) {
        if (!b4k_model_has(bm, outs[q]))
            continue;
        b4k_tensor_view ov;
        if ((rc = b4k_model_get_checked(bm, outs[q], B4K_F32, 2, sh2, &ov, err)))
            goto fail;
        if (!(*dst[q] = b4k_alloc_huge(ov.nbytes))) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto fail;
        }
        memcpy(*dst[q], ov.data, ov.nbytes);
    }
    if (state) {
        b4k_tensor_view sv;
        int64_t s1[1] = {-1};
        if ((rc = b4k_model_get_checked(bm, "state", B4K_I64, 1, s1, &sv, err)))
            goto fail;
        if (!(*state = b4k_malloc_n((size_t)sv.shape[0] ? (size_t)sv.shape[0] : 1, 8))) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto fail;
        }
        memcpy(*state, sv.data, (size_t)sv.shape[0] * 8);
        *nstate = (size_t)sv.shape[0];
    }
    *out = m;
    return 0;
fail:
    b4k_w2v_free(m);
    b4k_w2v_vocab_free(v);
    return rc;
}

static int load_buf(b4k_w2v **out, const char *p, size_t n, const char *name, int fmt,
                    b4k_err *err)
{
    if (fmt == B4K_W2V_FMT_AUTO && n >= 4 && !memcmp(p, "B4K\0", 4))
        fmt = B4K_W2V_FMT_B4K;
    if (fmt == B4K_W2V_FMT_B4K) {
        b4k_model *bm;
        int rc = b4k_model_open_mem(&bm, p, n, name, err);
        if (rc)
            return rc;
        rc = read_b4k(out, bm, NULL, NULL, name, err);
        b4k_model_free(bm);
        return rc;
    }
    size_t pos = 0;
    long V = 0, D = 0;
    int rc = parse_header(p, n, &pos, &V, &D, name, err);
    if (rc)
        return rc;
    if (fmt == B4K_W2V_FMT_AUTO)
        fmt = looks_text(p + pos, n - pos, D) ? B4K_W2V_FMT_TEXT : B4K_W2V_FMT_BIN;
    if (fmt == B4K_W2V_FMT_TEXT)
        return read_text(out, p, n, pos, V, D, name, err);
    return read_bin(out, p, n, pos, V, D, name, err);
}

int b4k_w2v_load_mem(b4k_w2v **out, const void *data, size_t n, const char *name, int fmt,
                     b4k_err *err)
{
    /* the text parser uses strtof: work on a NUL-terminated copy */
    char *p = b4k_malloc(n + 1);
    *out = NULL;
    if (!p)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    memcpy(p, data, n);
    p[n] = 0;
    int rc = load_buf(out, p, n, name, fmt, err);
    b4k_free(p);
    return rc;
}

int b4k_w2v_load(b4k_w2v **out, const char *path, int fmt, b4k_err *err)
{
    *out = NULL;
    b4k_stream *s;
    int rc = b4k_stream_open(&s, path, err);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (B4K_GROW(buf, cap, len + (1 << 20) + 1)) {
            rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
            goto done;
        }
        size_t got, want = cap - len - 1;
        rc = b4k_stream_read(s, buf + len, want, &got, err);
        if (rc)
            goto done;
        len += got;
        if (got < want)
            break;
    }
    buf[len] = 0;
    rc = load_buf(out, buf, len, path, fmt, err);
done:
    b4k_free(buf);
    b4k_stream_close(s);
    return rc;
}

/* ---- writers ---- */

int b4k_w2v_write_text(const b4k_w2v *m, FILE *fp, b4k_err *err)
{
    fprintf(fp, "%zu %d\n", m->n, m->dim);
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const char *w = b4k_w2v_vocab_word(m->vocab, i, &len);
        fwrite(w, 1, len, fp);
        const float *row = m->in + i * (size_t)m->dim;
        for (int k = 0; k < m->dim; k++)
            fprintf(fp, " %.9g", (double)row[k]);
        fputc('\n', fp);
        if (ferror(fp))
            break;
    }
    if (ferror(fp))
        return b4k_err_set(err, B4K_EIO, NULL, 0, "write error: %s", strerror(errno));
    return 0;
}

int b4k_w2v_write_bin(const b4k_w2v *m, FILE *fp, b4k_err *err)
{
    fprintf(fp, "%zu %d\n", m->n, m->dim);
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const char *w = b4k_w2v_vocab_word(m->vocab, i, &len);
        fwrite(w, 1, len, fp);
        fputc(' ', fp);
        fwrite(m->in + i * (size_t)m->dim, sizeof(float), (size_t)m->dim, fp);
        fputc('\n', fp);
        if (ferror(fp))
            break;
    }
    if (ferror(fp))
        return b4k_err_set(err, B4K_EIO, NULL, 0, "write error: %s", strerror(errno));
    return 0;
}

static json_t *config_json(const b4k_w2v *m)
{
    const b4k_w2v_config *c = &m->cfg;
    return json_pack("{s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:I,s:I,s:f,s:f,s:I,s:b,s:b,s:i,s:I}", "model",
                     c->model == B4K_W2V_CBOW ? "cbow" : "skipgram", "vocab_size",
                     (json_int_t)m->n, "dim", (json_int_t)m->dim, "window", c->window,
                     "negative", c->negative, "hs", c->hs, "iter", c->iter, "min_count",
                     (json_int_t)c->min_count, "max_vocab", (json_int_t)c->max_vocab, "sample",
                     c->sample, "alpha", c->alpha, "seed", (json_int_t)c->seed, "chars",
                     c->chars, "per_pair", c->per_pair, "share_negatives",
                     c->share_negatives > 1 ? c->share_negatives : 1, "train_words",
                     (json_int_t)c->train_words);
}

static int save_common(const b4k_w2v *m, const char *arch, int with_output, const int64_t *state,
                       size_t nstate, const char *path, b4k_err *err)
{
    int rc = 0;
    b4k_mw *w = b4k_mw_new(arch);
    b4k_buf words;
    int64_t *counts = NULL;
    json_t *cfg = NULL;
    b4k_buf_init(&words);
    if (!w)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const char *s = b4k_w2v_vocab_word(m->vocab, i, &len);
        if ((i && b4k_buf_putc(&words, '\n')) || b4k_buf_append(&words, s, len))
            goto nomem;
    }
    counts = b4k_malloc_n(m->n, sizeof *counts);
    if (!counts)
        goto nomem;
    for (size_t i = 0; i < m->n; i++)
        counts[i] = b4k_w2v_vocab_count(m->vocab, i);
    cfg = config_json(m);
    if (!cfg || b4k_mw_set_config(w, cfg))
        goto nomem;
    int64_t shp[2] = {(int64_t)m->n, m->dim}, sc[1] = {(int64_t)m->n};
    if ((rc = b4k_mw_add_blob(w, "words", words.data ? words.data : "", words.len,
                              B4K_CODEC_ZSTD, err)) ||
        (rc = b4k_mw_add(w, "counts", B4K_I64, 1, sc, counts, B4K_CODEC_ZSTD, err)) ||
        (rc = b4k_mw_add(w, "vectors", B4K_F32, 2, shp, m->in, B4K_CODEC_RAW, err)))
        goto done;
    if (with_output && m->out &&
        (rc = b4k_mw_add(w, "output", B4K_F32, 2, shp, m->out, B4K_CODEC_RAW, err)))
        goto done;
    if (with_output && m->hs &&
        (rc = b4k_mw_add(w, "hs", B4K_F32, 2, shp, m->hs, B4K_CODEC_RAW, err)))
        goto done;
    if (state) {
        int64_t ss[1] = {(int64_t)nstate};
        if ((rc = b4k_mw_add(w, "state", B4K_I64, 1, ss, state, B4K_CODEC_RAW, err)))
            goto done;
    }
    rc = b4k_mw_write(w, path, err); /* special files are written in place */
    goto done;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
done:
    json_decref(cfg);
    b4k_mw_free(w);
    b4k_free(counts);
    b4k_buf_free(&words);
    return rc;
}

int b4k_w2v_save(const b4k_w2v *m, const char *path, int with_output, b4k_err *err)
{
    return save_common(m, "word2vec", with_output, NULL, 0, path, err);
}

int b4k_w2v_ckpt_save(const b4k_w2v *m, const int64_t *state, size_t nstate, const char *path,
                      b4k_err *err)
{
    /* Other training threads keep writing the vectors while a checkpoint is
     * taken: snapshot them first, so that each tensor's checksum matches the
     * bytes written. */
    b4k_w2v snap = *m;
    size_t nb = m->n * (size_t)m->dim * sizeof(float);
    float *bufs[3] = {NULL, NULL, NULL};
    const float *src[3] = {m->in, m->out, m->hs};
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        if (!src[i])
            continue;
        if (!(bufs[i] = b4k_aligned_alloc(64, nb ? nb : 1))) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory (checkpoint)");
            goto done;
        }
        memcpy(bufs[i], src[i], nb);
    }
    snap.in = bufs[0];
    snap.out = bufs[1];
    snap.hs = bufs[2];
    rc = save_common(&snap, "word2vec-checkpoint", 1, state, nstate, path, err);
done:
    for (int i = 0; i < 3; i++)
        b4k_free(bufs[i]);
    return rc;
}

int b4k_w2v_ckpt_load(b4k_w2v **out, int64_t **state, size_t *nstate, const char *path,
                      b4k_err *err)
{
    b4k_model *bm;
    *out = NULL;
    int rc = b4k_model_open(&bm, path, err);
    if (rc)
        return rc;
    rc = read_b4k(out, bm, state, nstate, path, err);
    b4k_model_free(bm);
    return rc;
}
