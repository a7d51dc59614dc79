/* Attribute lookup and emission scores for tagging (see model.h).
 *
 * An attribute is a template line's literals and cells, so its hash (the
 * composable polynomial of dict.h) is made from the literals' hashes, known
 * from the template, and each cell's, computed once per sequence: no string
 * is built.  The lookups then run in stages over a block of positions --
 * hash all and prefetch their slots, read the slots and prefetch the string
 * offsets, compare lengths and prefetch the strings and feature ranges,
 * compare the strings piece by piece -- so that the cache misses of a few
 * hundred lookups overlap instead of following one another.  The block's
 * weights are prefetched and summed by the emission kernel while they are
 * in cache.  b4k_crf_model_attrs_ref builds every string and looks it up
 * the plain way: the tests compare the two. */
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "crf/feat.h"
#include "crf/model.h"

/* "_B-2" / "_B+1" for a row outside the sequence, as b4k_crf_tpl_expand
 * writes them; returns the length (at most 23) */
static size_t bnd_str(char *buf, long pos, size_t T)
{
    unsigned long k = pos < 0 ? (unsigned long)-pos : (unsigned long)(pos - (long)T + 1);
    char d[24];
    size_t nd = 0;
    do {
        d[nd++] = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    buf[0] = '_';
    buf[1] = 'B';
    buf[2] = pos < 0 ? '-' : '+';
    for (size_t i = 0; i < nd; i++)
        buf[3 + i] = d[nd - 1 - i];
    return 3 + nd;
}

static inline uint64_t ld8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint32_t ld4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* a[0, n) == b[0, n) for the short pieces of attributes, inline: words with
 * the last one overlapping, never reading outside either */
static inline int eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (ld8(a + i) != ld8(b + i))
                return 0;
        return ld8(a + n - 8) == ld8(b + n - 8);
    }
    if (n >= 4)
        return ld4(a) == ld4(b) && ld4(a + n - 4) == ld4(b + n - 4);
    return !n || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}

/* 1 if s (of the same length as the attribute, checked by the caller) is
 * the attribute of line ln at position t */
static int same(const char *s, const b4k_crf_tpl_line *ln, const b4k_crf_seq *seq, size_t t)
{
    const size_t T = seq->T;
    for (int i = 0; i < ln->nparts; i++) {
        const b4k_crf_tpl_part *pt = &ln->parts[i];
        if (!pt->macro) {
            if (!eq(s, pt->lit, pt->litlen))
                return 0;
            s += pt->litlen;
            continue;
        }
        long pos = (long)t + pt->row;
        if (pos < 0 || (size_t)pos >= T) {
            char b[24];
            size_t n = bnd_str(b, pos, T);
            if (!eq(s, b, n))
                return 0;
            s += n;
        } else {
            size_t c = (size_t)pos * seq->ncol + pt->col;
            if (!eq(s, seq->cell[c], seq->clen[c]))
                return 0;
            s += seq->clen[c];
        }
    }
    return 1;
}

/* the rest of the probe sequence after slot j0 (the first slot did not hold
 * the attribute) */
static int32_t probe_on(const b4k_crf_dict *d, size_t j0, size_t len, const b4k_crf_tpl_line *ln,
                        const b4k_crf_seq *seq, size_t t)
{
    const size_t mask = d->cap - 1;
    for (size_t j = (j0 + 1) & mask;; j = (j + 1) & mask) {
        int32_t id = d->slots[j];
        if (id < 0)
            return -1;
        if ((size_t)(d->off[id + 1] - d->off[id] - 1) == len &&
            same(d->arena + d->off[id], ln, seq, t))
            return id;
    }
}

/* scratch of one sequence: cell hashes and one block's lookups */
typedef struct lk {
    uint64_t *ch, *cp; /* (T*ncol) raw hash of each cell and K^len */
    uint64_t *h;       /* (NB) attribute hashes (mixed) */
    uint64_t *len;     /* (NB) attribute lengths */
    int32_t *id;       /* (NB) ids, -1 absent */
    size_t *aoff;      /* (BP+1) per-position offsets into id after compaction */
    size_t BP, NB;     /* positions per block, attributes per block */
} lk;

/* lookups per block: a few hundred keep many misses in flight and their
 * lines in L1/L2 until used */
enum { BLOCK_ATTRS = 256 };

static int lk_init(lk *k, const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch)
{
    const size_t T = seq->T, nc = T * (size_t)seq->ncol;
    const size_t nu = (size_t)(m->tpl.nu > 0 ? m->tpl.nu : 1);
    k->BP = BLOCK_ATTRS / nu ? BLOCK_ATTRS / nu : 1;
    k->NB = k->BP * nu;
    size_t need = 0, n;
    if (b4k_mul_ok(nc, 16, &n) || b4k_add_ok(need, n, &need) ||
        b4k_add_ok(need, k->NB * 20 + (k->BP + 1) * sizeof(size_t) + 64, &need))
        return B4K_ENOMEM;
    b4k_buf_reset(scratch);
    if (b4k_buf_reserve(scratch, need))
        return B4K_ENOMEM;
    char *p = (char *)(((uintptr_t)scratch->data + 7) & ~(uintptr_t)7);
    k->ch = (uint64_t *)p;
    k->cp = k->ch + nc;
    k->h = k->cp + nc;
    k->aoff = (size_t *)(k->h + k->NB);
    k->len = (uint64_t *)(k->aoff + k->BP + 1);
    k->id = (int32_t *)(k->len + k->NB);
    /* cells of the columns the template reads */
    const int ncol = seq->ncol, used = m->tpl.maxcol + 1;
    for (size_t t = 0; t < T; t++)
        for (int c = 0; c < used && c < ncol; c++) {
            size_t i = t * ncol + c;
            k->ch[i] = b4k_crf_hash_raw(0, seq->cell[i], seq->clen[i], &k->cp[i]);
        }
    return 0;
}

/* ids of the attributes of positions [t0, t1) in (position, line) order
 * into k->id, -1 where absent; returns their number */
static size_t lk_block(lk *k, const b4k_crf_model *m, const b4k_crf_seq *seq, size_t t0, size_t t1)
{
    const b4k_crf_dict *d = &m->attrs;
    const b4k_crf_tpl *tpl = &m->tpl;
    const int nu = tpl->nu, ncol = seq->ncol;
    const size_t T = seq->T, n = (t1 - t0) * (size_t)nu;
    uint64_t *restrict hs = k->h;
    uint64_t *restrict lens = k->len;
    int32_t *restrict ids = k->id;
    if (!d->cap) {
        for (size_t i = 0; i < n; i++)
            ids[i] = -1;
        return n;
    }
    const size_t mask = d->cap - 1;
    const int32_t *slots = d->slots;
    const int64_t *off = d->off;
    /* 1: hashes from the parts; fetch the slots */
    size_t i = 0;
    for (size_t t = t0; t < t1; t++)
        for (int u = 0; u < nu; u++, i++) {
            const b4k_crf_tpl_line *ln = &tpl->u[u];
            uint64_t h = 0;
            size_t len = 0;
            for (int q = 0; q < ln->nparts; q++) {
                const b4k_crf_tpl_part *pt = &ln->parts[q];
                if (!pt->macro) {
                    h = h * pt->lp + pt->lh;
                    len += pt->litlen;
                    continue;
                }
                long pos = (long)t + pt->row;
                if (pos < 0 || (size_t)pos >= T) {
                    char b[24];
                    size_t bl = bnd_str(b, pos, T);
                    h = b4k_crf_hash_raw(h, b, bl, NULL);
                    len += bl;
                } else {
                    size_t c = (size_t)pos * ncol + pt->col;
                    h = h * k->cp[c] + k->ch[c];
                    len += seq->clen[c];
                }
            }
            h = b4k_crf_hash_mix(h);
            hs[i] = h;
            lens[i] = len;
            __builtin_prefetch(slots + (h & mask));
        }
    /* 2: the first slot of each; fetch the string offsets */
    for (i = 0; i < n; i++) {
        int32_t id = slots[hs[i] & mask];
        ids[i] = id;
        if (id >= 0)
            __builtin_prefetch(off + id);
    }
    /* 3: lengths; fetch the strings and the feature ranges of candidates */
    for (i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0)
            continue;
        if ((uint64_t)(off[id + 1] - off[id] - 1) == lens[i]) {
            __builtin_prefetch(d->arena + off[id]);
            __builtin_prefetch(m->foff + id);
        } else {
            ids[i] = -2; /* another string there: probe on */
        }
    }
    /* 4: compare; probe on past a different string */
    i = 0;
    for (size_t t = t0; t < t1; t++)
        for (int u = 0; u < nu; u++, i++) {
            int32_t id = ids[i];
            if (id == -1)
                continue;
            const b4k_crf_tpl_line *ln = &tpl->u[u];
            if (id < 0 || !same(d->arena + off[id], ln, seq, t))
                ids[i] = probe_on(d, hs[i] & mask, lens[i], ln, seq, t);
        }
    return n;
}

/* drop the absent ids of a block of positions; k->aoff gets the offsets */
static size_t lk_compact(lk *k, size_t np, int nu, int32_t *out)
{
    size_t w = 0;
    k->aoff[0] = 0;
    for (size_t t = 0; t < np; t++) {
        for (int u = 0; u < nu; u++) {
            int32_t id = k->id[t * nu + u];
            if (id >= 0)
                out[w++] = id;
        }
        k->aoff[t + 1] = w;
    }
    return w;
}

int b4k_crf_model_attrs(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                        int32_t **aid, size_t *acap, size_t *aoff)
{
    const int nu = m->tpl.nu;
    const size_t T = seq->T, na = T * (size_t)nu;
    lk k;
    if (lk_init(&k, m, seq, scratch) || B4K_GROW(*aid, *acap, na ? na : 1))
        return B4K_ENOMEM;
    size_t w = 0;
    aoff[0] = 0;
    for (size_t t0 = 0; t0 < T; t0 += k.BP) {
        size_t t1 = t0 + k.BP < T ? t0 + k.BP : T;
        lk_block(&k, m, seq, t0, t1);
        lk_compact(&k, t1 - t0, nu, *aid + w);
        for (size_t t = t0; t < t1; t++)
            aoff[t + 1] = w + k.aoff[t - t0 + 1];
        w += k.aoff[t1 - t0];
    }
    return 0;
}

int b4k_crf_model_scores(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                         double *emit)
{
    const int nu = m->tpl.nu, L = m->L;
    const size_t T = seq->T;
    lk k;
    if (lk_init(&k, m, seq, scratch))
        return B4K_ENOMEM;
    const int64_t *foff = m->foff;
    for (size_t t0 = 0; t0 < T; t0 += k.BP) {
        size_t t1 = t0 + k.BP < T ? t0 + k.BP : T;
        lk_block(&k, m, seq, t0, t1);
        size_t n = lk_compact(&k, t1 - t0, nu, k.id); /* in place: w <= r */
        /* fetch the block's weights (and the labels of sparse rows) */
        for (size_t i = 0; i < n; i++) {
            int32_t a = k.id[i];
            int64_t f0 = foff[a];
            if (m->x)
                __builtin_prefetch(m->x + f0);
            else
                __builtin_prefetch(m->wf + f0);
            if (foff[a + 1] - f0 != L)
                __builtin_prefetch(m->flab + f0);
        }
        if (m->x)
            b4k_crf_emit_seq(emit + t0 * L, m->x, foff, m->flab, k.id, k.aoff, t1 - t0, L);
        else
            b4k_crf_emit_seq_f32(emit + t0 * L, m->wf, foff, m->flab, k.id, k.aoff, t1 - t0, L);
    }
    return 0;
}

int b4k_crf_model_attrs_ref(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                            int32_t **aid, size_t *acap, size_t *aoff)
{
    const int nu = m->tpl.nu;
    const size_t T = seq->T, na = T * (size_t)nu;
    if (B4K_GROW(*aid, *acap, na ? na : 1))
        return B4K_ENOMEM;
    size_t n = 0;
    aoff[0] = 0;
    for (size_t t = 0; t < T; t++) {
        for (int u = 0; u < nu; u++) {
            b4k_buf_reset(scratch);
            if (b4k_crf_tpl_expand(&m->tpl, u, seq->cell, seq->clen, T, seq->ncol, t, scratch))
                return B4K_ENOMEM;
            int32_t id = b4k_crf_dict_find(&m->attrs, scratch->data ? scratch->data : "",
                                           scratch->len);
            if (id >= 0)
                (*aid)[n++] = id;
        }
        aoff[t + 1] = n;
    }
    return 0;
}
