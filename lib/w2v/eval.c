/* Analogy accuracy (questions-words.txt) and word-similarity Spearman. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/stream.h"
#include "w2v/query.h"

typedef struct rank_ent {
    double v;
    size_t i;
} rank_ent;

static int cmp_rank(const void *a, const void *b)
{
    const rank_ent *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int ranks(const double *x, size_t n, double *r)
{
    rank_ent *e = b4k_malloc_n(n ? n : 1, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < n; i++) {
        e[i].v = x[i];
        e[i].i = i;
    }
    qsort(e, n, sizeof *e, cmp_rank);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && e[j + 1].v == e[i].v)
            j++;
        double avg = (double)(i + j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++)
            r[e[k].i] = avg;
        i = j + 1;
    }
    b4k_free(e);
    return 0;
}

static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0 || syy <= 0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}

double b4k_w2v_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double *rx = b4k_malloc_n(n, sizeof *rx), *ry = b4k_malloc_n(n, sizeof *ry);
    double r = NAN;
    if (rx && ry && !ranks(x, n, rx) && !ranks(y, n, ry))
        r = pearson(rx, ry, n);
    b4k_free(rx);
    b4k_free(ry);
    return r;
}

/* split a line into up to max whitespace-separated fields */
static int fields(char *line, size_t len, char **f, size_t *fl, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i >= len)
            break;
        size_t b = i;
        while (i < len && !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (k < max) {
            f[k] = line + b;
            fl[k] = i - b;
        }
        k++;
    }
    return k;
}

static void put_num(b4k_buf *b, double x)
{
    if (isfinite(x))
        b4k_buf_printf(b, "%.6g", x);
    else
        b4k_buf_puts(b, "null");
}

static void put_tally(b4k_buf *r, int64_t correct, int64_t seen, int64_t total)
{
    b4k_buf_printf(r, "\"correct\":%lld,\"seen\":%lld,\"total\":%lld,\"accuracy\":",
                   (long long)correct, (long long)seen, (long long)total);
    put_num(r, seen ? 100.0 * (double)correct / (double)seen : NAN);
    b4k_buf_puts(r, ",\"accuracy_all\":");
    put_num(r, total ? 100.0 * (double)correct / (double)total : NAN);
}

typedef struct section {
    char name[128];
    int64_t total, first, nq; /* questions [first, first+nq) of the seen list */
    int syntactic;
} section;

static int64_t fold_row(const b4k_w2v_index *ix, int64_t row)
{
    size_t n;
    const char *w = b4k_w2v_index_word(ix, row, &n);
    return b4k_w2v_index_find(ix, w, n);
}

static int eval_analogy(const b4k_w2v *m, const b4k_w2v_eval_opts *o, b4k_buf *r, b4k_err *err)
{
    b4k_w2v_index *ix = NULL;
    b4k_stream *in = NULL;
    section *sec = NULL;
    size_t nsec = 0, csec = 0, nq = 0, cq = 0;
    b4k_w2v_query *q = NULL;
    int64_t *want = NULL, *res = NULL;
    float *scores = NULL;
    size_t cw = 0;
    int rc = b4k_w2v_index_new(&ix, m, o->restrict_n, o->fold, err);
    if (rc)
        return rc;
    if ((rc = b4k_stream_open(&in, o->analogy, err)))
        goto done;
    char *line;
    size_t len;
    while ((rc = b4k_stream_getline(in, &line, &len, err)) == 1) {
        char *f[5];
        size_t fl[5];
        long ln = b4k_stream_lineno(in);
        if (len && line[0] == ':') {
            if (B4K_GROW(sec, csec, nsec + 1))
                goto nomem;
            section *s = &sec[nsec++];
            memset(s, 0, sizeof *s);
            int k = fields(line + 1, len - 1, f, fl, 1);
            size_t nl = k ? fl[0] : 0;
            if (nl >= sizeof s->name)
                nl = sizeof s->name - 1;
            if (k)
                memcpy(s->name, f[0], nl);
            s->syntactic = !strncmp(s->name, "gram", 4);
            s->first = (int64_t)nq;
            continue;
        }
        int k = fields(line, len, f, fl, 5);
        if (k == 0)
            continue;
        if (k != 4) {
            rc = b4k_err_set(err, B4K_EFORMAT, o->analogy, ln,
                             "expected 4 words (a b c d), got %d", k);
            goto done;
        }
        if (!nsec) {
            if (B4K_GROW(sec, csec, 1))
                goto nomem;
            memset(sec, 0, sizeof *sec);
            strcpy(sec->name, "all");
            nsec = 1;
        }
        section *s = &sec[nsec - 1];
        s->total++;
        int64_t id[4];
        int oov = 0;
        for (int i = 0; i < 4; i++)
            if ((id[i] = b4k_w2v_index_find(ix, f[i], fl[i])) < 0)
                oov = 1;
        if (oov)
            continue;
        if (B4K_GROW(q, cq, nq + 1))
            goto nomem;
        if (B4K_GROW(want, cw, nq + 1))
            goto nomem;
        memset(&q[nq], 0, sizeof q[nq]);
        q[nq].a = id[0];
        q[nq].b = id[1];
        q[nq].c = id[2];
        q[nq].k = 1;
        want[nq] = o->fold ? fold_row(ix, id[3]) : id[3];
        nq++;
        s->nq++;
    }
    if (rc < 0)
        goto done;
    res = b4k_malloc_n(nq ? nq : 1, sizeof *res);
    scores = b4k_malloc_n(nq ? nq : 1, sizeof *scores);
    if (!res || !scores)
        goto nomem;
    for (size_t i = 0; i < nq; i++) {
        q[i].ids = res + i;
        q[i].scores = scores + i;
    }
    if ((rc = b4k_w2v_answer(ix, q, nq, o->method, err)))
        goto done;
    int64_t tc[3] = {0}, ts[3] = {0}, tt[3] = {0}; /* semantic, syntactic, all */
    b4k_buf_printf(r, "\"analogy\":{\"file\":");
    b4k_buf_put_json_str(r, o->analogy, strlen(o->analogy));
    b4k_buf_printf(r, ",\"method\":\"%s\",\"restrict\":%zu,\"sections\":[",
                   o->method == B4K_W2V_MUL ? "3cosmul" : "3cosadd", b4k_w2v_index_size(ix));
    for (size_t si = 0; si < nsec; si++) {
        section *s = &sec[si];
        int64_t c = 0;
        for (int64_t i = s->first; i < s->first + s->nq; i++) {
            int64_t got = q[i].found ? q[i].ids[0] : -1;
            if (got >= 0 && o->fold)
                got = fold_row(ix, got);
            c += got >= 0 && got == want[i];
        }
        b4k_buf_puts(r, si ? ",{\"name\":" : "{\"name\":");
        b4k_buf_put_json_str(r, s->name, strlen(s->name));
        b4k_buf_putc(r, ',');
        put_tally(r, c, s->nq, s->total);
        b4k_buf_putc(r, '}');
        int g = s->syntactic;
        tc[g] += c;
        ts[g] += s->nq;
        tt[g] += s->total;
        tc[2] += c;
        ts[2] += s->nq;
        tt[2] += s->total;
    }
    b4k_buf_puts(r, "],\"semantic\":{");
    put_tally(r, tc[0], ts[0], tt[0]);
    b4k_buf_puts(r, "},\"syntactic\":{");
    put_tally(r, tc[1], ts[1], tt[1]);
    b4k_buf_puts(r, "},\"total\":{");
    put_tally(r, tc[2], ts[2], tt[2]);
    b4k_buf_puts(r, "}}");
    rc = 0;
    goto done;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
done:
    b4k_stream_close(in);
    b4k_w2v_index_free(ix);
    b4k_free(sec);
    b4k_free(q);
    b4k_free(want);
    b4k_free(res);
    b4k_free(scores);
    return rc;
}

static int eval_sim(const b4k_w2v_index *ix, const char *path, b4k_buf *r, b4k_err *err)
{
    b4k_stream *in = NULL;
    double *hx = NULL, *mx = NULL;
    size_t n = 0, cap = 0, cap2 = 0;
    int64_t oov = 0, lines = 0;
    int rc = b4k_stream_open(&in, path, err);
    if (rc)
        return rc;
    char *line;
    size_t len;
    while ((rc = b4k_stream_getline(in, &line, &len, err)) == 1) {
        long ln = b4k_stream_lineno(in);
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len || line[i] == '#')
            continue;
        /* fields separated by tabs or spaces (commas too, for csv files) */
        for (size_t k = 0; k < len; k++)
            if (line[k] == ',')
                line[k] = ' ';
        char *f[4];
        size_t fl[4];
        int k = fields(line, len, f, fl, 4);
        char *end = NULL;
        double score = 0;
        if (k >= 3) {
            char save = f[2][fl[2]];
            f[2][fl[2]] = 0;
            score = strtod(f[2], &end);
            f[2][fl[2]] = save;
        }
        if (k != 3 || end != f[2] + fl[2] || !isfinite(score)) {
            if (lines == 0 && k == 3)
                continue; /* a header line */
            rc = b4k_err_set(err, B4K_EFORMAT, path, ln, "expected \"word1 word2 score\"");
            goto done;
        }
        lines++;
        int64_t a = b4k_w2v_index_find(ix, f[0], fl[0]), b = b4k_w2v_index_find(ix, f[1], fl[1]);
        if (a < 0 || b < 0) {
            oov++;
            continue;
        }
        if (B4K_GROW(hx, cap, n + 1) || B4K_GROW(mx, cap2, n + 1)) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        const float *ua = b4k_w2v_index_unit(ix, a), *ub = b4k_w2v_index_unit(ix, b);
        double s = 0;
        for (int d = 0; d < b4k_w2v_index_dim(ix); d++)
            s += (double)ua[d] * ub[d];
        hx[n] = score;
        mx[n] = s;
        n++;
    }
    if (rc < 0)
        goto done;
    rc = 0;
    b4k_buf_puts(r, "{\"file\":");
    b4k_buf_put_json_str(r, path, strlen(path));
    b4k_buf_printf(r, ",\"pairs\":%lld,\"found\":%zu,\"oov\":%lld,\"spearman\":",
                   (long long)lines, n, (long long)oov);
    put_num(r, b4k_w2v_spearman(hx, mx, n));
    b4k_buf_puts(r, ",\"pearson\":");
    put_num(r, n >= 2 ? pearson(hx, mx, n) : NAN);
    b4k_buf_putc(r, '}');
done:
    b4k_stream_close(in);
    b4k_free(hx);
    b4k_free(mx);
    return rc;
}

int b4k_w2v_eval(const b4k_w2v *m, const b4k_w2v_eval_opts *o, b4k_buf *report, b4k_err *err)
{
    int rc = 0;
    b4k_buf_printf(report, "{\"vocab\":%zu,\"dim\":%d", m->n, m->dim);
    if (o->analogy) {
        b4k_buf_putc(report, ',');
        if ((rc = eval_analogy(m, o, report, err)))
            return rc;
    }
    if (o->nsim) {
        b4k_w2v_index *ix;
        if ((rc = b4k_w2v_index_new(&ix, m, 0, o->fold, err)))
            return rc;
        b4k_buf_puts(report, ",\"similarity\":[");
        for (int i = 0; i < o->nsim && !rc; i++) {
            if (i)
                b4k_buf_putc(report, ',');
            rc = eval_sim(ix, o->sim[i], report, err);
        }
        b4k_buf_putc(report, ']');
        b4k_w2v_index_free(ix);
        if (rc)
            return rc;
    }
    b4k_buf_putc(report, '}');
    return 0;
}
