/* CRF training corpus (attribute ids per token), feature generation and
 * warm start (see train.h). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "crf/train.h"

void b4k_crf_corpus_init(b4k_crf_corpus *c)
{
    memset(c, 0, sizeof *c);
}

void b4k_crf_corpus_free(b4k_crf_corpus *c)
{
    if (!c)
        return;
    b4k_free(c->seq_off);
    b4k_free(c->y);
    b4k_free(c->tok_off);
    b4k_free(c->aid);
    memset(c, 0, sizeof *c);
}

int b4k_crf_corpus_add(b4k_crf_corpus *c, b4k_crf_model *m, const b4k_crf_seq *seq, int grow,
                       const char *file, b4k_buf *scratch, b4k_err *err)
{
    size_t T = seq->T;
    if (!T)
        return 0;
    if (!seq->label)
        return b4k_err_set(err, B4K_EFORMAT, file, seq->line, "sequence has no labels");
    if (m->tpl.maxcol >= seq->ncol)
        return b4k_err_set(err, B4K_EFORMAT, file, seq->line,
                           "the template uses column %d but the input has %d feature column%s",
                           m->tpl.maxcol, seq->ncol, seq->ncol == 1 ? "" : "s");
    size_t cs = c->cap_seq, ct = c->cap_tok;
    if (B4K_GROW(c->seq_off, cs, c->nseq + 2))
        goto nomem;
    c->cap_seq = cs;
    size_t ct2 = ct;
    if (B4K_GROW(c->y, ct, c->ntok + T) || B4K_GROW(c->tok_off, ct2, c->ntok + T + 1))
        goto nomem;
    c->cap_tok = ct < ct2 ? ct : ct2;
    if (c->nseq == 0) {
        c->seq_off[0] = 0;
        c->tok_off[0] = 0;
    }
    const int nu = m->tpl.nu;
    for (size_t t = 0; t < T; t++) {
        int32_t lab = grow ? b4k_crf_dict_add(&m->labels, seq->label[t], seq->llen[t])
                           : b4k_crf_dict_find(&m->labels, seq->label[t], seq->llen[t]);
        if (lab < 0) {
            if (lab == -1)
                return b4k_err_set(err, B4K_EFORMAT, file, seq->tline[t],
                                   "label \"%s\" is not in the model", seq->label[t]);
            goto nomem;
        }
        c->y[c->ntok + t] = lab;
        if (B4K_GROW(c->aid, c->cap_a, c->na + (size_t)nu))
            goto nomem;
        for (int k = 0; k < nu; k++) {
            b4k_buf_reset(scratch);
            if (b4k_crf_tpl_expand(&m->tpl, k, seq->cell, seq->clen, T, seq->ncol, t, scratch))
                goto nomem;
            const char *s = scratch->data ? scratch->data : "";
            int32_t a = grow ? b4k_crf_dict_add(&m->attrs, s, scratch->len)
                             : b4k_crf_dict_find(&m->attrs, s, scratch->len);
            if (a < -1)
                goto nomem;
            if (a >= 0)
                c->aid[c->na++] = a;
        }
        c->tok_off[c->ntok + t + 1] = c->na;
    }
    c->ntok += T;
    c->nseq++;
    c->seq_off[c->nseq] = c->ntok;
    if (T > c->maxT)
        c->maxT = T;
    return 0;
nomem:
    return b4k_err_set(err, B4K_ENOMEM, file, seq->line, "out of memory");
}

static void remap(b4k_crf_corpus *c, const int32_t *newid)
{
    size_t w = 0, r = 0;
    for (size_t t = 0; t < c->ntok; t++) {
        size_t e = c->tok_off[t + 1];
        c->tok_off[t] = w;
        for (; r < e; r++) {
            int32_t a = newid[c->aid[r]];
            if (a >= 0)
                c->aid[w++] = a;
        }
    }
    c->tok_off[c->ntok] = w;
    c->na = w;
}

static int by_count(const void *a, const void *b, void *ctx)
{
    const uint32_t *cnt = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (cnt[x] != cnt[y])
        return cnt[x] > cnt[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

int b4k_crf_features(b4k_crf_model *m, b4k_crf_corpus *c, b4k_crf_corpus *other, int minfreq,
                     int dense_min, b4k_err *err)
{
    int rc = 0;
    uint8_t *keep = NULL, *seen = NULL;
    int32_t *newid = NULL;
    size_t A = m->attrs.n;
    const int L = (int)m->labels.n;
    m->L = L;
    if (L < 1)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "no labels in the training data");
    if (minfreq > 1) {
        keep = b4k_malloc(A ? A : 1);
        newid = b4k_malloc_n(A ? A : 1, sizeof(int32_t));
        if (!keep || !newid)
            goto nomem;
        for (size_t a = 0; a < A; a++)
            keep[a] = m->attrs.count[a] >= (uint32_t)minfreq;
        if (b4k_crf_dict_filter(&m->attrs, keep, newid))
            goto nomem;
        remap(c, newid);
        if (other)
            remap(other, newid);
        A = m->attrs.n;
    }
    /* most frequent attributes first: their features share cache lines */
    {
        int32_t *order = b4k_malloc_n(A ? A : 1, sizeof(int32_t));
        int32_t *nid = b4k_malloc_n(A ? A : 1, sizeof(int32_t));
        if (!order || !nid) {
            b4k_free(order);
            b4k_free(nid);
            goto nomem;
        }
        for (size_t a = 0; a < A; a++)
            order[a] = (int32_t)a;
        qsort_r(order, A, sizeof(int32_t), by_count, m->attrs.count);
        int rr = b4k_crf_dict_reorder(&m->attrs, order, nid);
        if (!rr) {
            remap(c, nid);
            if (other)
                remap(other, nid);
        }
        b4k_free(order);
        b4k_free(nid);
        if (rr)
            goto nomem;
    }
    m->foff = b4k_malloc_n(A + 1, sizeof(int64_t));
    if (!m->foff)
        goto nomem;
    size_t F = 0;
    if (dense_min == 1) {
        if (b4k_mul_ok(A, (size_t)L, &F))
            goto nomem;
        m->flab = b4k_malloc_n(F ? F : 1, sizeof(int32_t));
        if (!m->flab)
            goto nomem;
        for (size_t a = 0; a <= A; a++)
            m->foff[a] = (int64_t)(a * L);
        for (size_t f = 0; f < F; f++)
            m->flab[f] = (int32_t)(f % L);
    } else {
        size_t bits;
        if (b4k_mul_ok(A, (size_t)L, &bits))
            goto nomem;
        seen = b4k_calloc((bits + 7) / 8 + 1, 1);
        if (!seen)
            goto nomem;
        for (size_t t = 0; t < c->ntok; t++) {
            size_t y = (size_t)c->y[t];
            for (size_t k = c->tok_off[t]; k < c->tok_off[t + 1]; k++) {
                size_t b = (size_t)c->aid[k] * L + y;
                if (!(seen[b >> 3] & (1u << (b & 7)))) {
                    seen[b >> 3] |= (uint8_t)(1u << (b & 7));
                    F++;
                }
            }
        }
        /* attributes seen with at least dense_min labels get every label */
        if (dense_min > 0) {
            F = 0;
            for (size_t a = 0; a < A; a++) {
                int n = 0;
                for (int j = 0; j < L; j++) {
                    size_t b = a * L + j;
                    n += !!(seen[b >> 3] & (1u << (b & 7)));
                }
                F += n >= dense_min ? (size_t)L : (size_t)n;
            }
        }
        m->flab = b4k_malloc_n(F ? F : 1, sizeof(int32_t));
        if (!m->flab)
            goto nomem;
        size_t f = 0;
        for (size_t a = 0; a < A; a++) {
            m->foff[a] = (int64_t)f;
            int n = 0;
            if (dense_min > 0)
                for (int j = 0; j < L; j++) {
                    size_t b = a * L + j;
                    n += !!(seen[b >> 3] & (1u << (b & 7)));
                }
            for (int j = 0; j < L; j++) {
                size_t b = a * L + j;
                if ((dense_min > 0 && n >= dense_min) || (seen[b >> 3] & (1u << (b & 7))))
                    m->flab[f++] = j;
            }
        }
        m->foff[A] = (int64_t)f;
    }
    m->F = F;
    m->nx = F + (size_t)L * L + (m->start_end ? 2 * (size_t)L : 0);
    m->x = b4k_calloc(m->nx, sizeof(double));
    if (!m->x)
        goto nomem;
    goto out;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory building features");
out:
    b4k_free(keep);
    b4k_free(newid);
    b4k_free(seen);
    return rc;
}

size_t b4k_crf_warm_start(b4k_crf_model *m, const b4k_crf_model *old)
{
    size_t n = 0;
    const int L = m->L;
    int32_t map[L];
    for (int j = 0; j < L; j++)
        map[j] = b4k_crf_dict_find(&old->labels, b4k_crf_dict_str(&m->labels, j),
                                   b4k_crf_dict_len(&m->labels, j));
    for (size_t a = 0; a < m->attrs.n; a++) {
        int32_t oa = b4k_crf_dict_find(&old->attrs, b4k_crf_dict_str(&m->attrs, (int32_t)a),
                                       b4k_crf_dict_len(&m->attrs, (int32_t)a));
        if (oa < 0)
            continue;
        for (int64_t f = m->foff[a]; f < m->foff[a + 1]; f++) {
            int32_t ol = map[m->flab[f]];
            if (ol < 0)
                continue;
            for (int64_t g = old->foff[oa]; g < old->foff[oa + 1]; g++)
                if (old->flab[g] == ol) {
                    m->x[f] = old->x[g];
                    n++;
                    break;
                }
        }
    }
    double *tr = b4k_crf_model_trans(m), *otr = b4k_crf_model_trans(old);
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++)
            if (map[i] >= 0 && map[j] >= 0) {
                tr[i * L + j] = otr[(size_t)map[i] * old->L + map[j]];
                n++;
            }
    if (m->start_end && old->start_end)
        for (int j = 0; j < L; j++)
            if (map[j] >= 0) {
                b4k_crf_model_start(m)[j] = b4k_crf_model_start(old)[map[j]];
                b4k_crf_model_end(m)[j] = b4k_crf_model_end(old)[map[j]];
                n += 2;
            }
    return n;
}

