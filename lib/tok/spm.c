/* SentencePiece encoding (unigram Viterbi, BPE merges, word, char), byte
 * fallback, offsets, and decoding.  The arithmetic follows sentencepiece
 * 0.1.97 exactly where it decides ties: unigram path scores are stored as
 * float, a piece candidate is the double sum of two floats compared in double
 * against the stored float, the unknown candidate is float throughout. */
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "tok/spm_impl.h"

#define UNK_PENALTY 10.0f

struct b4k_spm_best {
    int32_t id;
    float score;
    int32_t start;
};

struct b4k_spm_sym {
    int32_t prev, next;
    uint32_t beg, len;
    int freeze;
};

struct b4k_spm_pair {
    int32_t left, right;
    float score;
    uint32_t size;
};

void b4k_spm_tokens_init(b4k_spm_tokens *t) { memset(t, 0, sizeof *t); }

void b4k_spm_tokens_free(b4k_spm_tokens *t)
{
    if (!t) return;
    b4k_free(t->id);
    b4k_free(t->beg);
    b4k_free(t->end);
    memset(t, 0, sizeof *t);
}

static int tokens_push(b4k_spm_tokens *t, int32_t id, uint32_t b, uint32_t e)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        int32_t *i2 = b4k_realloc_n(t->id, nc, sizeof *i2);
        if (i2) t->id = i2;
        uint32_t *b2 = b4k_realloc_n(t->beg, nc, sizeof *b2);
        if (b2) t->beg = b2;
        uint32_t *e2 = b4k_realloc_n(t->end, nc, sizeof *e2);
        if (e2) t->end = e2;
        if (!i2 || !b2 || !e2) return B4K_ENOMEM;
        t->cap = nc;
    }
    t->id[t->n] = id;
    t->beg[t->n] = b;
    t->end[t->n] = e;
    t->n++;
    return 0;
}

b4k_spm_state *b4k_spm_state_new(void) { return b4k_calloc(1, sizeof(b4k_spm_state)); }

void b4k_spm_state_free(b4k_spm_state *st)
{
    if (!st) return;
    b4k_free(st->norm);
    b4k_free(st->n2o);
    b4k_free(st->best);
    b4k_free(st->sym);
    b4k_free(st->heap);
    b4k_free(st->rid);
    b4k_free(st->rbeg);
    b4k_free(st->rend);
    b4k_free(st->cps);
    b4k_free(st->cpl);
    b4k_spm_lattice_free(st->lat);
    b4k_free(st);
}

int b4k_spm_raw_push(b4k_spm_state *st, int32_t id, uint32_t b, uint32_t e)
{
    if (st->rn == st->rcap) {
        size_t nc = st->rcap ? st->rcap * 2 : 256;
        int32_t *i2 = b4k_realloc_n(st->rid, nc, sizeof *i2);
        if (i2) st->rid = i2;
        uint32_t *b2 = b4k_realloc_n(st->rbeg, nc, sizeof *b2);
        if (b2) st->rbeg = b2;
        uint32_t *e2 = b4k_realloc_n(st->rend, nc, sizeof *e2);
        if (e2) st->rend = e2;
        if (!i2 || !b2 || !e2) return B4K_ENOMEM;
        st->rcap = nc;
    }
    st->rid[st->rn] = id;
    st->rbeg[st->rn] = b;
    st->rend[st->rn] = e;
    st->rn++;
    return 0;
}

static int32_t piece_to_id(const b4k_spm *m, const char *s, size_t n)
{
    int32_t id = b4k_spm_piece_id(m, s, n);
    return id < 0 ? m->unk_id : id;
}

/* ---- unigram ------------------------------------------------------------ */

/* The same Viterbi walking the code point trie.  Returns 0, 1 when the
 * text is not valid UTF-8 (nothing done), -1 out of memory. */
#define SPM_AHEAD 4

static int viterbi_cp(const b4k_spm *m, b4k_spm_state *st, struct b4k_spm_best *best)
{
    const size_t len = st->norm_len;
    const unsigned char *s = (const unsigned char *)st->norm;
    if (len > st->cps_cap) {
        size_t c1 = st->cps_cap, c2 = st->cps_cap;
        if (B4K_GROW(st->cps, c1, len) || B4K_GROW(st->cpl, c2, len)) return -1;
        st->cps_cap = c1 < c2 ? c1 : c2;
    }
    uint32_t *cps = st->cps;
    uint8_t *cpl = st->cpl;
    size_t nc = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int l;
        if (s[i] < 0x80) {
            cp = s[i];
            l = 1;
        } else if ((s[i] & 0xF0) == 0xE0 && i + 3 <= len && (s[i + 1] & 0xC0) == 0x80 &&
                   (s[i + 2] & 0xC0) == 0x80 &&
                   (cp = ((uint32_t)(s[i] & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
                         (s[i + 2] & 0x3F)) >= 0x800 &&
                   (cp < 0xD800 || cp > 0xDFFF)) {
            l = 3;
        } else {
            l = b4k_utf8_decode(s + i, len - i, &cp);
            if (l < 0) return 1; /* invalid UTF-8: the byte trie does it */
        }
        cps[nc] = cp;
        cpl[nc++] = (uint8_t)l;
        i += (size_t)l;
    }
    const b4k_spm_cptrie *t = &m->cptrie;
    const float unk_score = m->min_score - UNK_PENALTY;
    size_t start = 0;
    for (size_t c = 0; c < nc; c++) {
        /* the root step is a table read; prefetch the second step's slot
         * a few characters ahead (a cache miss otherwise) */
        if (c + SPM_AHEAD + 1 < nc && cps[c + SPM_AHEAD] < 0x10000) {
            uint32_t n1 = t->root[cps[c + SPM_AHEAD]];
            if (n1) {
                uint64_t key = ((uint64_t)(n1 + 1) << 21) | cps[c + SPM_AHEAD + 1];
                __builtin_prefetch(&t->slots[(size_t)((key * 0x9E3779B97F4A7C15ull) >> 24) & t->mask]);
            }
        }
        const float till = best[start].score;
        int single = 0;
        const size_t mblen = cpl[c];
        size_t k = start;
        uint32_t node = 0;
        for (size_t d = c; d < nc; d++) {
            node = b4k_spm_cp_next(t, node, cps[d]);
            if (!node) break;
            int32_t id = t->val[node];
            k += cpl[d];
            if (id < 0) continue;
            int ty = m->type[id];
            if (ty == B4K_SPM_UNUSED) continue;
            const size_t plen = k - start;
            const double score = ty == B4K_SPM_USER_DEFINED
                                     ? (double)((float)plen * m->max_score) - 0.1
                                     : (double)m->score[id];
            const double cand = score + (double)till;
            struct b4k_spm_best *tg = &best[k];
            if (tg->start == -1 || cand > (double)tg->score) {
                tg->score = (float)cand;
                tg->start = (int32_t)start;
                tg->id = id;
            }
            if (plen == mblen) single = 1;
        }
        if (!single) {
            struct b4k_spm_best *tg = &best[start + mblen];
            const float cand = unk_score + till;
            if (tg->start == -1 || cand > tg->score) {
                tg->score = cand;
                tg->start = (int32_t)start;
                tg->id = m->unk_id;
            }
        }
        start += mblen;
    }
    return 0;
}

static int encode_unigram(const b4k_spm *m, b4k_spm_state *st)
{
    const char *s = st->norm;
    const size_t len = st->norm_len;
    if (len + 1 > st->best_cap && B4K_GROW(st->best, st->best_cap, len + 1)) return B4K_ENOMEM;
    struct b4k_spm_best *best = st->best;
    for (size_t i = 0; i <= len; i++) {
        best[i].id = -1;
        best[i].score = 0;
        best[i].start = -1;
    }
    const float unk_score = m->min_score - UNK_PENALTY;
    const b4k_spm_trie *t = &m->trie;
    size_t start = 0;
    if (m->cptrie.ok) {
        int r = viterbi_cp(m, st, best);
        if (r < 0) return B4K_ENOMEM;
        if (r == 0) start = len;
    }
    while (start < len) {
        const float till = best[start].score;
        int single = 0;
        const size_t mblen = b4k_spm_one_char_len(s + start, len - start);
        uint32_t node = 0;
        for (size_t k = start; k < len;) {
            node = b4k_spm_trie_next(t, node, (unsigned char)s[k]);
            if (!node) break;
            k++;
            int32_t id = t->val[node];
            if (id < 0) continue;
            int ty = m->type[id];
            if (ty == B4K_SPM_UNUSED) continue;
            const size_t plen = k - start;
            const double score = ty == B4K_SPM_USER_DEFINED
                                     ? (double)((float)plen * m->max_score) - 0.1
                                     : (double)m->score[id];
            const double cand = score + (double)till;
            struct b4k_spm_best *tg = &best[k];
            if (tg->start == -1 || cand > (double)tg->score) {
                tg->score = (float)cand;
                tg->start = (int32_t)start;
                tg->id = id;
            }
            if (plen == mblen) single = 1;
        }
        if (!single) {
            struct b4k_spm_best *tg = &best[start + mblen];
            const float cand = unk_score + till;
            if (tg->start == -1 || cand > tg->score) {
                tg->score = cand;
                tg->start = (int32_t)start;
                tg->id = m->unk_id;
            }
        }
        start += mblen;
    }
    /* backtrack, then reverse */
    size_t first = st->rn;
    size_t end = len;
    while (end > 0) {
        const struct b4k_spm_best *b = &best[end];
        if (b->start < 0) return B4K_EFORMAT; /* cannot happen */
        if (b4k_spm_raw_push(st, b->id, (uint32_t)b->start, (uint32_t)end)) return B4K_ENOMEM;
        end = (size_t)b->start;
    }
    for (size_t i = first, j = st->rn ? st->rn - 1 : 0; i < j; i++, j--) {
        int32_t ti = st->rid[i]; st->rid[i] = st->rid[j]; st->rid[j] = ti;
        uint32_t tb = st->rbeg[i]; st->rbeg[i] = st->rbeg[j]; st->rbeg[j] = tb;
        uint32_t te = st->rend[i]; st->rend[i] = st->rend[j]; st->rend[j] = te;
    }
    return 0;
}

/* ---- BPE ---------------------------------------------------------------- */

static inline int pair_less(const struct b4k_spm_pair *a, const struct b4k_spm_pair *b)
{
    return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static int heap_push(b4k_spm_state *st, struct b4k_spm_pair p)
{
    if (st->heap_n == st->heap_cap && B4K_GROW(st->heap, st->heap_cap, st->heap_n + 1))
        return B4K_ENOMEM;
    size_t i = st->heap_n++;
    struct b4k_spm_pair *h = st->heap;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!pair_less(&h[par], &p)) break;
        h[i] = h[par];
        i = par;
    }
    h[i] = p;
    return 0;
}

static struct b4k_spm_pair heap_pop(b4k_spm_state *st)
{
    struct b4k_spm_pair *h = st->heap, top = h[0], last = h[--st->heap_n];
    size_t n = st->heap_n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_less(&h[c], &h[c + 1])) c++;
        if (!pair_less(&last, &h[c])) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    return top;
}

typedef struct revmerge {
    uint32_t beg, len, llen; /* piece at norm[beg..beg+len) splits after llen */
} revmerge;

typedef struct bpe_ctx {
    const b4k_spm *m;
    b4k_spm_state *st;
    revmerge *rev;
    size_t nrev, caprev;
} bpe_ctx;

static int maybe_add_pair(bpe_ctx *c, int32_t l, int32_t r)
{
    struct b4k_spm_sym *sy = c->st->sym;
    if (l < 0 || r < 0 || sy[l].freeze || sy[r].freeze) return 0;
    const char *p = c->st->norm + sy[l].beg;
    uint32_t size = sy[l].len + sy[r].len;
    int32_t id = b4k_spm_piece_id(c->m, p, size);
    if (id < 0) return 0;
    int ty = c->m->type[id];
    if (!(ty == B4K_SPM_NORMAL || ty == B4K_SPM_USER_DEFINED || ty == B4K_SPM_UNUSED)) return 0;
    struct b4k_spm_pair pr = {l, r, c->m->score[id], size};
    if (heap_push(c->st, pr)) return B4K_ENOMEM;
    if (ty == B4K_SPM_UNUSED) {
        /* rev_merge[piece] = (left, right): later entries win */
        size_t i;
        for (i = 0; i < c->nrev; i++)
            if (c->rev[i].len == size && !memcmp(c->st->norm + c->rev[i].beg, p, size)) break;
        if (i == c->nrev) {
            if (B4K_GROW(c->rev, c->caprev, c->nrev + 1)) return B4K_ENOMEM;
            c->nrev++;
        }
        c->rev[i].beg = sy[l].beg;
        c->rev[i].len = size;
        c->rev[i].llen = sy[l].len;
    }
    return 0;
}

static int resegment(bpe_ctx *c, uint32_t beg, uint32_t len, int depth)
{
    const char *p = c->st->norm + beg;
    int32_t id = piece_to_id(c->m, p, len);
    if (c->m->type[id] != B4K_SPM_UNUSED || depth > 64)
        return b4k_spm_raw_push(c->st, id, beg, beg + len);
    for (size_t i = 0; i < c->nrev; i++) {
        if (c->rev[i].len == len && !memcmp(c->st->norm + c->rev[i].beg, p, len)) {
            uint32_t ll = c->rev[i].llen;
            int rc = resegment(c, beg, ll, depth + 1);
            return rc ? rc : resegment(c, beg + ll, len - ll, depth + 1);
        }
    }
    return b4k_spm_raw_push(c->st, id, beg, beg + len);
}

static size_t user_prefix(const b4k_spm *m, const char *s, size_t n)
{
    uint32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        node = b4k_spm_trie_next(&m->trie, node, (unsigned char)s[i]);
        if (!node) break;
        int32_t v = m->trie.val[node];
        if (v >= 0 && m->type[v] == B4K_SPM_USER_DEFINED) best = i + 1;
    }
    return best;
}

static int encode_bpe(const b4k_spm *m, b4k_spm_state *st, double dropout, b4k_rng *rng)
{
    const char *s = st->norm;
    const size_t len = st->norm_len;
    int rc = 0;
    bpe_ctx c = {m, st, NULL, 0, 0};
    if (len == 0) return 0;
    if (len > st->sym_cap && B4K_GROW(st->sym, st->sym_cap, len)) return B4K_ENOMEM;
    int32_t ns = 0;
    for (size_t i = 0; i < len;) {
        struct b4k_spm_sym *y = &st->sym[ns];
        size_t k = m->has_user_defined ? user_prefix(m, s + i, len - i) : 0;
        y->freeze = k > 0;
        if (!k) k = b4k_spm_one_char_len(s + i, len - i);
        y->beg = (uint32_t)i;
        y->len = (uint32_t)k;
        y->prev = ns - 1;
        i += k;
        y->next = i < len ? ns + 1 : -1;
        ns++;
    }
    st->heap_n = 0;
    for (int32_t i = 1; i < ns; i++)
        if ((rc = maybe_add_pair(&c, i - 1, i))) goto done;
    struct b4k_spm_sym *sy = st->sym;
    while (st->heap_n) {
        struct b4k_spm_pair top = heap_pop(st);
        if (sy[top.left].len == 0 || sy[top.right].len == 0 ||
            sy[top.left].len + sy[top.right].len != top.size)
            continue;
        if (dropout > 0 && (dropout >= 1.0 || b4k_rng_double(rng) < dropout)) continue;
        sy[top.left].len += sy[top.right].len;
        sy[top.left].next = sy[top.right].next;
        if (sy[top.right].next >= 0) sy[sy[top.right].next].prev = top.left;
        sy[top.right].len = 0;
        if ((rc = maybe_add_pair(&c, sy[top.left].prev, top.left))) goto done;
        if ((rc = maybe_add_pair(&c, top.left, sy[top.left].next))) goto done;
    }
    for (int32_t i = 0; i != -1; i = sy[i].next)
        if ((rc = resegment(&c, sy[i].beg, sy[i].len, 0))) goto done;
done:
    b4k_free(c.rev);
    return rc;
}

/* ---- word and char models ---------------------------------------------- */

static int encode_word(const b4k_spm *m, b4k_spm_state *st)
{
    const char *s = st->norm;
    size_t len = st->norm_len, wb = 0;
    for (size_t i = 0; i < len;) {
        size_t k = b4k_spm_one_char_len(s + i, len - i);
        int ws = k == 3 && !memcmp(s + i, "\xE2\x96\x81", 3);
        if (m->treat_ws_suffix) {
            i += k;
            if (ws || i == len) {
                if (b4k_spm_raw_push(st, piece_to_id(m, s + wb, i - wb), (uint32_t)wb, (uint32_t)i))
                    return B4K_ENOMEM;
                wb = i;
            }
        } else {
            if (ws && i > wb) {
                if (b4k_spm_raw_push(st, piece_to_id(m, s + wb, i - wb), (uint32_t)wb, (uint32_t)i))
                    return B4K_ENOMEM;
                wb = i;
            }
            i += k;
        }
    }
    if (!m->treat_ws_suffix && len > wb)
        if (b4k_spm_raw_push(st, piece_to_id(m, s + wb, len - wb), (uint32_t)wb, (uint32_t)len))
            return B4K_ENOMEM;
    return 0;
}

static int encode_char(const b4k_spm *m, b4k_spm_state *st)
{
    const char *s = st->norm;
    size_t len = st->norm_len;
    for (size_t i = 0; i < len;) {
        size_t k = m->has_user_defined ? user_prefix(m, s + i, len - i) : 0;
        if (!k) k = b4k_spm_one_char_len(s + i, len - i);
        if (b4k_spm_raw_push(st, piece_to_id(m, s + i, k), (uint32_t)i, (uint32_t)(i + k)))
            return B4K_ENOMEM;
        i += k;
    }
    return 0;
}

/* ---- common ------------------------------------------------------------- */

int b4k_spm_finish(const b4k_spm *m, b4k_spm_state *st, b4k_spm_tokens *out)
{
    int prev_unk = 0;
    for (size_t i = 0; i < st->rn; i++) {
        int32_t id = st->rid[i];
        uint32_t nb = st->rbeg[i], ne = st->rend[i];
        uint32_t ob = st->n2o[nb], oe = st->n2o[ne];
        int unk = id == m->unk_id;
        /* the reference merges a run of unknown pieces into one */
        if (unk && prev_unk && !m->byte_fallback && out->n) {
            out->end[out->n - 1] = oe;
            continue;
        }
        prev_unk = unk;
        if (unk && m->byte_fallback) {
            for (uint32_t k = nb; k < ne; k++)
                if (tokens_push(out, m->bytes[(unsigned char)st->norm[k]], ob, oe)) return B4K_ENOMEM;
        } else if (tokens_push(out, id, ob, oe)) {
            return B4K_ENOMEM;
        }
    }
    return 0;
}

static int oom(b4k_err *err) { return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory"); }

int b4k_spm_encode(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                   b4k_spm_tokens *out, b4k_err *err)
{
    int rc = b4k_spm_state_norm(m, st, text, n, err);
    if (rc) return rc;
    st->rn = 0;
    switch (m->model_type) {
    case B4K_SPM_BPE: rc = encode_bpe(m, st, 0, NULL); break;
    case B4K_SPM_WORD: rc = encode_word(m, st); break;
    case B4K_SPM_CHAR: rc = encode_char(m, st); break;
    default: rc = encode_unigram(m, st); break;
    }
    if (rc || (rc = b4k_spm_finish(m, st, out))) return oom(err);
    return 0;
}

int b4k_spm_unigram_sample(const b4k_spm *m, b4k_spm_state *st, int nbest, double alpha,
                           b4k_rng *rng, b4k_err *err);

int b4k_spm_sample(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                   int nbest, double alpha, b4k_rng *rng, b4k_spm_tokens *out, b4k_err *err)
{
    int rc = b4k_spm_state_norm(m, st, text, n, err);
    if (rc) return rc;
    st->rn = 0;
    if (m->model_type == B4K_SPM_BPE) {
        if ((rc = encode_bpe(m, st, alpha, rng))) return oom(err);
    } else if (m->model_type == B4K_SPM_UNIGRAM) {
        if ((rc = b4k_spm_unigram_sample(m, st, nbest, alpha, rng, err))) return rc;
    } else {
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "sampling needs a unigram or BPE model, not %s",
                           b4k_spm_model_type_name(m->model_type));
    }
    if (b4k_spm_finish(m, st, out)) return oom(err);
    return 0;
}

/* ---- decode ------------------------------------------------------------- */

static int put_surface(b4k_buf *out, const char *p, size_t n)
{
    /* "\u2581" -> " " */
    size_t i = 0, s = 0;
    while (i + 3 <= n) {
        if (!memcmp(p + i, "\xE2\x96\x81", 3)) {
            if (b4k_buf_append(out, p + s, i - s) || b4k_buf_putc(out, ' ')) return -1;
            i += 3;
            s = i;
        } else {
            i++;
        }
    }
    return b4k_buf_append(out, p + s, n - s);
}

static int flush_bytes(b4k_buf *out, const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int l = b4k_utf8_decode(b + i, n - i, &cp);
        if (l < 0) {
            if (b4k_buf_append(out, "\xEF\xBF\xBD", 3)) return -1;
            i++;
        } else {
            if (b4k_buf_append(out, b + i, (size_t)l)) return -1;
            i += (size_t)l;
        }
    }
    return 0;
}

int b4k_spm_decode(const b4k_spm *m, const int32_t *ids, size_t n, b4k_buf *out, b4k_err *err)
{
    size_t start = out->len;
    b4k_buf bytes;
    int rc = 0;
    b4k_buf_init(&bytes);
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= m->n) {
            rc = b4k_err_set(err, B4K_ERANGE, NULL, 0, "piece id %d is out of range (0..%d)",
                             (int)id, (int)m->n - 1);
            goto done;
        }
        int ty = m->type[id];
        const char *p = m->piece[id];
        size_t pl = m->piece_len[id];
        if (ty == B4K_SPM_BYTE) { /* "<0xNN>", checked at load */
            unsigned v = 0;
            for (int k = 3; k < 5; k++) v = v * 16 + (unsigned)(p[k] <= '9' ? p[k] - '0' : p[k] - 'A' + 10);
            if (b4k_buf_putc(&bytes, (char)v)) goto nomem;
            continue;
        }
        if (bytes.len) {
            if (flush_bytes(out, (const unsigned char *)bytes.data, bytes.len)) goto nomem;
            bytes.len = 0;
        }
        if (ty == B4K_SPM_CONTROL) continue;
        if (ty == B4K_SPM_UNKNOWN) {
            if (b4k_buf_append(out, m->unk_surface, m->unk_surface_len)) goto nomem;
            continue;
        }
        /* at the start, one leading "\u2581" goes when the normalizer adds
         * or removes spaces */
        if (out->len == start && (m->norm.add_dummy_prefix || m->norm.remove_extra_ws) && pl >= 3 &&
            !memcmp(p, "\xE2\x96\x81", 3))
            p += 3, pl -= 3;
        if (put_surface(out, p, pl)) goto nomem;
    }
    if (bytes.len && flush_bytes(out, (const unsigned char *)bytes.data, bytes.len)) goto nomem;
    if (!out->data && b4k_buf_reserve(out, 1)) goto nomem;
done:
    b4k_buf_free(&bytes);
    return rc;
nomem:
    b4k_buf_free(&bytes);
    return oom(err);
}
