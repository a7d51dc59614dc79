/* conlleval-compatible chunk scores and SIGHAN word scores (see eval.h). */
#include "crf/eval.h"

#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

void b4k_crf_eval_init(b4k_crf_eval *e)
{
    memset(e, 0, sizeof *e);
    b4k_crf_dict_init(&e->types);
    b4k_buf_init(&e->scratch);
}

void b4k_crf_eval_free(b4k_crf_eval *e)
{
    if (!e)
        return;
    b4k_crf_dict_free(&e->types);
    b4k_free(e->cnt);
    b4k_buf_free(&e->scratch);
    memset(e, 0, sizeof *e);
}

/* split "B-NP" into prefix char and type; "O" -> 'O', "" */
static void split(const char *lab, char *pfx, const char **type, size_t *tlen)
{
    const char *d = strchr(lab, '-');
    if (d) {
        *pfx = d - lab == 1 ? lab[0] : '?';
        *type = d + 1;
        *tlen = strlen(d + 1);
    } else {
        *pfx = lab[1] ? '?' : lab[0];
        *type = "";
        *tlen = 0;
        if (!lab[1] && lab[0] != 'O' && lab[0] != 'B' && lab[0] != 'I' && lab[0] != 'E' &&
            lab[0] != 'S' && lab[0] != 'M' && lab[0] != '[' && lab[0] != ']')
            *pfx = '?';
    }
    if (*pfx == 'M')
        *pfx = 'I';
    if (*pfx == '?') { /* not a chunk label: a one-token chunk of its own type */
        *pfx = 'S';
        *type = lab;
        *tlen = strlen(lab);
    }
}

typedef struct { char p; const char *t; size_t n; } tag;

static int same(const tag *a, const tag *b)
{
    return a->n == b->n && !memcmp(a->t, b->t, a->n);
}

static int chunk_end(const tag *prev, const tag *cur)
{
    char p = prev->p, c = cur->p;
    if (p == 'E' || p == 'S' || p == '[' || p == ']')
        return 1;
    if ((p == 'B' || p == 'I') && (c == 'B' || c == 'S' || c == 'O' || c == '[' || c == ']'))
        return 1;
    if (p != 'O' && !same(prev, cur))
        return 1;
    return 0;
}

static int chunk_start(const tag *prev, const tag *cur)
{
    char p = prev->p, c = cur->p;
    if (c == 'B' || c == 'S' || c == '[' || c == ']')
        return 1;
    if ((p == 'E' || p == 'S' || p == 'O' || p == '[' || p == ']') && (c == 'I' || c == 'E'))
        return 1;
    if (c != 'O' && !same(prev, cur))
        return 1;
    return 0;
}

static size_t *type_cnt(b4k_crf_eval *e, const tag *t)
{
    int32_t id = b4k_crf_dict_add(&e->types, t->t, t->n);
    if (id < 0)
        return NULL;
    size_t need = 3 * ((size_t)id + 1), old = e->cntcap;
    if (need > old) {
        if (B4K_GROW(e->cnt, e->cntcap, need))
            return NULL;
        memset(e->cnt + old, 0, (e->cntcap - old) * sizeof(size_t));
    }
    return e->cnt + 3 * id;
}

int b4k_crf_eval_chunks(b4k_crf_eval *e, const char *const *gold, const char *const *pred,
                        size_t T)
{
    tag pg = { 'O', "", 0 }, pp = { 'O', "", 0 }, lastg = pg;
    int in_correct = 0;
    e->nseq++;
    for (size_t t = 0; t <= T; t++) {
        tag g = { 'O', "", 0 }, p = { 'O', "", 0 };
        if (t < T) {
            split(gold[t], &g.p, &g.t, &g.n);
            split(pred[t], &p.p, &p.t, &p.n);
        }
        int eg = chunk_end(&pg, &g), ep = chunk_end(&pp, &p);
        if (in_correct) {
            if (eg && ep && same(&pp, &pg)) {
                in_correct = 0;
                e->correct++;
                size_t *c = type_cnt(e, &lastg);
                if (!c)
                    return B4K_ENOMEM;
                c[0]++;
            } else if (eg != ep || !same(&p, &g)) {
                in_correct = 0;
            }
        }
        int sg = chunk_start(&pg, &g), sp = chunk_start(&pp, &p);
        if (t < T) {
            if (sg && sp && same(&p, &g))
                in_correct = 1;
            if (sg) {
                e->gold++;
                size_t *c = type_cnt(e, &g);
                if (!c)
                    return B4K_ENOMEM;
                c[2]++;
            }
            if (sp) {
                e->guessed++;
                size_t *c = type_cnt(e, &p);
                if (!c)
                    return B4K_ENOMEM;
                c[1]++;
            }
            e->tok_n++;
            if (!strcmp(gold[t], pred[t]))
                e->tok_ok++;
        }
        pg = g;
        pp = p;
        lastg = g;
    }
    return 0;
}

/* word spans from B/M/E/S labels: start[t] = 1 when a word starts at t */
static int word_start(const char *const *lab, size_t t)
{
    if (t == 0)
        return 1;
    char c = lab[t][0], p = lab[t - 1][0];
    return c == 'B' || c == 'S' || p == 'E' || p == 'S';
}

int b4k_crf_eval_words(b4k_crf_eval *e, const char *const *chars, const uint32_t *clen,
                       const char *const *gold, const char *const *pred, size_t T,
                       const b4k_crf_dict *known)
{
    e->words = 1;
    e->have_oov = known != NULL;
    e->nseq++;
    size_t gs = 0, ps = 0;
    for (size_t t = 0; t < T; t++) {
        e->tok_n++;
        if (!strcmp(gold[t], pred[t]))
            e->tok_ok++;
    }
    for (size_t t = 1; t <= T; t++) {
        int gb = t == T || word_start(gold, t), pb = t == T || word_start(pred, t);
        if (gb) {
            e->w_gold++;
            int ok = ps == gs && pb;
            if (ok)
                e->w_ok++;
            if (known) {
                b4k_buf_reset(&e->scratch);
                for (size_t k = gs; k < t; k++)
                    if (b4k_buf_append(&e->scratch, chars[k], clen[k]))
                        return B4K_ENOMEM;
                if (b4k_crf_dict_find(known, e->scratch.data, e->scratch.len) < 0) {
                    e->oov_gold++;
                    e->oov_ok += ok;
                }
            }
        }
        if (pb)
            e->w_pred++;
        if (gb)
            gs = t;
        if (pb)
            ps = t;
    }
    return 0;
}

static void prf(size_t ok, size_t guessed, size_t gold, double *p, double *r, double *f)
{
    *p = guessed ? 100.0 * ok / guessed : 0;
    *r = gold ? 100.0 * ok / gold : 0;
    *f = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

void b4k_crf_eval_prf(const b4k_crf_eval *e, double *p, double *r, double *f)
{
    if (e->words)
        prf(e->w_ok, e->w_pred, e->w_gold, p, r, f);
    else
        prf(e->correct, e->guessed, e->gold, p, r, f);
}

int b4k_crf_eval_json(const b4k_crf_eval *e, b4k_buf *out)
{
    double p, r, f;
    int rc = b4k_buf_printf(out, "{\"sentences\":%zu,\"tokens\":%zu,\"accuracy\":%.4f", e->nseq,
                            e->tok_n, e->tok_n ? 100.0 * e->tok_ok / e->tok_n : 0.0);
    if (e->words) {
        prf(e->w_ok, e->w_pred, e->w_gold, &p, &r, &f);
        rc |= b4k_buf_printf(out,
                             ",\"words\":{\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f,"
                             "\"gold\":%zu,\"guessed\":%zu,\"correct\":%zu",
                             p, r, f, e->w_gold, e->w_pred, e->w_ok);
        if (e->have_oov)
            rc |= b4k_buf_printf(out, ",\"oov\":%zu,\"oov_recall\":%.4f", e->oov_gold,
                                 e->oov_gold ? 100.0 * e->oov_ok / e->oov_gold : 0.0);
        rc |= b4k_buf_puts(out, "}}");
        return rc ? B4K_ENOMEM : 0;
    }
    prf(e->correct, e->guessed, e->gold, &p, &r, &f);
    rc |= b4k_buf_printf(out,
                         ",\"chunks\":{\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f,"
                         "\"gold\":%zu,\"guessed\":%zu,\"correct\":%zu},\"types\":{",
                         p, r, f, e->gold, e->guessed, e->correct);
    /* types sorted by name, as conlleval prints them */
    size_t n = e->types.n;
    int32_t *ord = b4k_malloc_n(n ? n : 1, sizeof(int32_t));
    if (!ord)
        return B4K_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ord[i] = (int32_t)i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(b4k_crf_dict_str(&e->types, ord[j]),
                                           b4k_crf_dict_str(&e->types, ord[j - 1])) < 0; j--) {
            int32_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const size_t *c = e->cnt + 3 * ord[i];
        prf(c[0], c[1], c[2], &p, &r, &f);
        const char *name = b4k_crf_dict_str(&e->types, ord[i]);
        if (i)
            rc |= b4k_buf_putc(out, ',');
        rc |= b4k_buf_put_json_str(out, name, strlen(name));
        rc |= b4k_buf_printf(out,
                             ":{\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f,\"gold\":%zu,"
                             "\"guessed\":%zu,\"correct\":%zu}",
                             p, r, f, c[2], c[1], c[0]);
    }
    b4k_free(ord);
    rc |= b4k_buf_puts(out, "}}");
    return rc ? B4K_ENOMEM : 0;
}

int b4k_crf_eval_text(const b4k_crf_eval *e, b4k_buf *out)
{
    double p, r, f;
    int rc = 0;
    if (e->words) {
        prf(e->w_ok, e->w_pred, e->w_gold, &p, &r, &f);
        rc |= b4k_buf_printf(out, "processed %zu tokens with %zu words; found: %zu words; correct: %zu.\n",
                             e->tok_n, e->w_gold, e->w_pred, e->w_ok);
        rc |= b4k_buf_printf(out, "precision: %6.2f%%; recall: %6.2f%%; F1: %6.2f\n", p, r, f);
        if (e->have_oov)
            rc |= b4k_buf_printf(out, "OOV words: %zu; OOV recall: %6.2f%%\n", e->oov_gold,
                                 e->oov_gold ? 100.0 * e->oov_ok / e->oov_gold : 0.0);
        return rc ? B4K_ENOMEM : 0;
    }
    prf(e->correct, e->guessed, e->gold, &p, &r, &f);
    rc |= b4k_buf_printf(out, "processed %zu tokens with %zu phrases; found: %zu phrases; correct: %zu.\n",
                         e->tok_n, e->gold, e->guessed, e->correct);
    rc |= b4k_buf_printf(out, "accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f\n",
                         e->tok_n ? 100.0 * e->tok_ok / e->tok_n : 0.0, p, r, f);
    size_t n = e->types.n;
    int32_t *ord = b4k_malloc_n(n ? n : 1, sizeof(int32_t));
    if (!ord)
        return B4K_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ord[i] = (int32_t)i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(b4k_crf_dict_str(&e->types, ord[j]),
                                           b4k_crf_dict_str(&e->types, ord[j - 1])) < 0; j--) {
            int32_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const size_t *c = e->cnt + 3 * ord[i];
        prf(c[0], c[1], c[2], &p, &r, &f);
        rc |= b4k_buf_printf(out, "%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %zu\n",
                             b4k_crf_dict_str(&e->types, ord[i]), p, r, f, c[1]);
    }
    b4k_free(ord);
    return rc ? B4K_ENOMEM : 0;
}
