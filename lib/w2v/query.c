/* Nearest neighbours and analogies over the unit-normalised vectors. */
#include "w2v/query.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/blas.h"

#define BLOCK 64

struct b4k_w2v_index {
    const b4k_w2v *m;
    size_t n;
    int dim;
    float *unit;          /* (n, dim) */
    b4k_w2v_vocab *folded; /* lower-cased word -> row (in count) */
};

static void ascii_lower(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
}

int b4k_w2v_index_new(b4k_w2v_index **out, const b4k_w2v *m, size_t limit, int fold,
                      b4k_err *err)
{
    b4k_w2v_index *ix = b4k_calloc(1, sizeof *ix);
    char *tmp = NULL;
    *out = NULL;
    if (!ix)
        goto nomem;
    ix->m = m;
    ix->n = limit && limit < m->n ? limit : m->n;
    ix->dim = m->dim;
    ix->unit = b4k_aligned_alloc(64, (ix->n ? ix->n : 1) * (size_t)m->dim * sizeof(float));
    if (!ix->unit)
        goto nomem;
    for (size_t i = 0; i < ix->n; i++) {
        const float *r = m->in + i * (size_t)m->dim;
        float *u = ix->unit + i * (size_t)m->dim;
        double s = 0;
        for (int k = 0; k < m->dim; k++)
            s += (double)r[k] * r[k];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int k = 0; k < m->dim; k++)
            u[k] = r[k] * inv;
    }
    if (fold) {
        ix->folded = b4k_w2v_vocab_new();
        if (!ix->folded)
            goto nomem;
        b4k_w2v_vocab_set_prune_limit(ix->folded, 0);
        size_t cap = 0;
        for (size_t i = 0; i < ix->n; i++) {
            size_t len;
            const char *w = b4k_w2v_vocab_word(m->vocab, i, &len);
            if (B4K_GROW(tmp, cap, len + 1))
                goto nomem;
            memcpy(tmp, w, len);
            ascii_lower(tmp, len);
            size_t before = b4k_w2v_vocab_size(ix->folded);
            int64_t id = b4k_w2v_vocab_add(ix->folded, tmp, len, 0);
            if (id < 0)
                goto nomem;
            if (b4k_w2v_vocab_size(ix->folded) > before)
                b4k_w2v_vocab_set_count(ix->folded, (size_t)id, (int64_t)i);
        }
    }
    b4k_free(tmp);
    *out = ix;
    return 0;
nomem:
    b4k_free(tmp);
    b4k_w2v_index_free(ix);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

void b4k_w2v_index_free(b4k_w2v_index *ix)
{
    if (!ix)
        return;
    b4k_free(ix->unit);
    b4k_w2v_vocab_free(ix->folded);
    b4k_free(ix);
}

size_t b4k_w2v_index_size(const b4k_w2v_index *ix) { return ix->n; }
int b4k_w2v_index_dim(const b4k_w2v_index *ix) { return ix->dim; }

int64_t b4k_w2v_index_find(const b4k_w2v_index *ix, const char *w, size_t n)
{
    int64_t id = b4k_w2v_vocab_find(ix->m->vocab, w, n);
    if (id >= 0 && (size_t)id < ix->n)
        return id;
    if (!ix->folded)
        return -1;
    char buf[256];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, w, n);
    ascii_lower(buf, n);
    id = b4k_w2v_vocab_find(ix->folded, buf, n);
    return id < 0 ? -1 : b4k_w2v_vocab_count(ix->folded, (size_t)id);
}

const char *b4k_w2v_index_word(const b4k_w2v_index *ix, int64_t row, size_t *n)
{
    return b4k_w2v_vocab_word(ix->m->vocab, (size_t)row, n);
}

const float *b4k_w2v_index_unit(const b4k_w2v_index *ix, int64_t row)
{
    return ix->unit + (size_t)row * ix->dim;
}

/* keep the k best (score desc, then row asc) in ids/scores, sorted */
static int topk_row(const float *s, size_t n, int k, const int64_t *ex, int nex, int64_t *ids,
                    float *sc)
{
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        float v = s[i];
        if (have == k && !(v > sc[k - 1]))
            continue;
        int skip = 0;
        for (int e = 0; e < nex; e++)
            if (ex[e] == (int64_t)i)
                skip = 1;
        if (skip)
            continue;
        int p = have < k ? have++ : k - 1;
        while (p > 0 && sc[p - 1] < v) {
            sc[p] = sc[p - 1];
            ids[p] = ids[p - 1];
            p--;
        }
        sc[p] = v;
        ids[p] = (int64_t)i;
    }
    return have;
}

int b4k_w2v_answer(const b4k_w2v_index *ix, b4k_w2v_query *q, size_t nq, int method,
                   b4k_err *err)
{
    int d = ix->dim;
    size_t n = ix->n;
    int mul = method == B4K_W2V_MUL;
    int rows = mul ? 3 : 1;
    /* 64-byte aligned blocks: BLAS kernels may round differently on
     * different alignments, and answers must not depend on malloc */
    float *Q = b4k_aligned_alloc(64, (size_t)BLOCK * rows * d * sizeof *Q);
    float *S = b4k_aligned_alloc(64, (size_t)BLOCK * rows * (n ? n : 1) * sizeof *S);
    float *T = mul ? b4k_malloc_n(n ? n : 1, sizeof *T) : NULL;
    if (!Q || !S || (mul && !T)) {
        b4k_free(Q);
        b4k_free(S);
        b4k_free(T);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    for (size_t b0 = 0; b0 < nq; b0 += BLOCK) {
        int bn = (int)(nq - b0 < BLOCK ? nq - b0 : BLOCK);
        for (int i = 0; i < bn; i++) {
            const b4k_w2v_query *x = &q[b0 + i];
            float *qr = Q + (size_t)i * rows * d;
            if (mul) {
                /* rows: a, b, c */
                memcpy(qr, ix->unit + (size_t)x->a * d, d * sizeof(float));
                memcpy(qr + d, ix->unit + (size_t)x->b * d, d * sizeof(float));
                memcpy(qr + 2 * d, ix->unit + (size_t)x->c * d, d * sizeof(float));
            } else if (x->a < 0) {
                memcpy(qr, ix->unit + (size_t)x->b * d, d * sizeof(float));
            } else {
                const float *ua = ix->unit + (size_t)x->a * d, *ub = ix->unit + (size_t)x->b * d,
                            *uc = ix->unit + (size_t)x->c * d;
                double s = 0;
                for (int k = 0; k < d; k++) {
                    qr[k] = ub[k] - ua[k] + uc[k];
                    s += (double)qr[k] * qr[k];
                }
                float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
                for (int k = 0; k < d; k++)
                    qr[k] *= inv;
            }
        }
        if (n)
            b4k_sgemm(0, 1, bn * rows, (int)n, d, 1.0f, Q, d, ix->unit, d, 0.0f, S, (int)n);
        for (int i = 0; i < bn; i++) {
            b4k_w2v_query *x = &q[b0 + i];
            int64_t ex[3];
            int nex = 0;
            if (x->a >= 0)
                ex[nex++] = x->a;
            ex[nex++] = x->b;
            if (x->c >= 0)
                ex[nex++] = x->c;
            const float *srow = S + (size_t)i * rows * n;
            if (mul) {
                const float *sa = srow, *sb = srow + n, *sc = srow + 2 * n;
                for (size_t j = 0; j < n; j++)
                    T[j] = ((sb[j] + 1) * 0.5f) * ((sc[j] + 1) * 0.5f) /
                           ((sa[j] + 1) * 0.5f + 1e-3f);
                srow = T;
            }
            x->found = topk_row(srow, n, x->k, ex, nex, x->ids, x->scores);
        }
    }
    b4k_free(Q);
    b4k_free(S);
    b4k_free(T);
    return 0;
}
