/* word2vec vocabulary: open-addressing hash over an arena of strings. */
#include "w2v/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct b4k_w2v_vocab {
    size_t n, cap;     /* ids */
    size_t *off;       /* (n) offset of the word in arena, SIZE_MAX = dead */
    uint32_t *len;     /* (n) */
    int64_t *count;    /* (n) */
    uint64_t *hval;    /* (n) cached hash */
    char *arena;
    size_t alen, acap;
    int64_t *slot;     /* (hcap) id or -1 */
    size_t hcap, live;
    size_t prune_limit;
    int64_t min_reduce;
    int prunes;
};

#define DEAD ((size_t)-1)

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

b4k_w2v_vocab *b4k_w2v_vocab_new(void)
{
    b4k_w2v_vocab *v = b4k_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->hcap = 1024;
    v->slot = b4k_malloc_n(v->hcap, sizeof *v->slot);
    if (!v->slot) {
        b4k_free(v);
        return NULL;
    }
    memset(v->slot, 0xff, v->hcap * sizeof *v->slot);
    v->prune_limit = 20000000;
    v->min_reduce = 1;
    return v;
}

void b4k_w2v_vocab_free(b4k_w2v_vocab *v)
{
    if (!v)
        return;
    b4k_free(v->off);
    b4k_free(v->len);
    b4k_free(v->count);
    b4k_free(v->hval);
    b4k_free(v->arena);
    b4k_free(v->slot);
    b4k_free(v);
}

size_t b4k_w2v_vocab_size(const b4k_w2v_vocab *v) { return v->n; }

void b4k_w2v_vocab_swap(b4k_w2v_vocab *a, b4k_w2v_vocab *b)
{
    b4k_w2v_vocab t = *a;
    *a = *b;
    *b = t;
}
size_t b4k_w2v_vocab_live(const b4k_w2v_vocab *v) { return v->live; }
void b4k_w2v_vocab_set_prune_limit(b4k_w2v_vocab *v, size_t limit) { v->prune_limit = limit; }
int b4k_w2v_vocab_pruned(const b4k_w2v_vocab *v) { return v->prunes; }

const char *b4k_w2v_vocab_word(const b4k_w2v_vocab *v, size_t id, size_t *n)
{
    if (id >= v->n || v->off[id] == DEAD) {
        if (n)
            *n = 0;
        return "";
    }
    if (n)
        *n = v->len[id];
    return v->arena + v->off[id];
}

int64_t b4k_w2v_vocab_count(const b4k_w2v_vocab *v, size_t id)
{
    return id < v->n ? v->count[id] : 0;
}

void b4k_w2v_vocab_set_count(b4k_w2v_vocab *v, size_t id, int64_t c)
{
    if (id < v->n)
        v->count[id] = c;
}

int64_t b4k_w2v_vocab_total(const b4k_w2v_vocab *v)
{
    int64_t t = 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->off[i] != DEAD)
            t += v->count[i];
    return t;
}

static int rehash(b4k_w2v_vocab *v, size_t hcap)
{
    int64_t *slot = b4k_malloc_n(hcap, sizeof *slot);
    if (!slot)
        return B4K_ENOMEM;
    memset(slot, 0xff, hcap * sizeof *slot);
    for (size_t i = 0; i < v->n; i++) {
        if (v->off[i] == DEAD)
            continue;
        size_t h = v->hval[i] & (hcap - 1);
        while (slot[h] >= 0)
            h = (h + 1) & (hcap - 1);
        slot[h] = (int64_t)i;
    }
    b4k_free(v->slot);
    v->slot = slot;
    v->hcap = hcap;
    return 0;
}

int64_t b4k_w2v_vocab_find(const b4k_w2v_vocab *v, const char *w, size_t n)
{
    uint64_t hv = hash_bytes(w, n);
    size_t h = hv & (v->hcap - 1);
    for (;;) {
        int64_t id = v->slot[h];
        if (id < 0)
            return -1;
        if (v->hval[id] == hv && v->len[id] == n && !memcmp(v->arena + v->off[id], w, n))
            return id;
        h = (h + 1) & (v->hcap - 1);
    }
}

/* Drop live words with count <= min_reduce, compact the arena. */
static int prune(b4k_w2v_vocab *v)
{
    size_t w = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->off[i] == DEAD)
            continue;
        if (v->count[i] <= v->min_reduce) {
            v->off[i] = DEAD;
            v->count[i] = 0;
            v->live--;
            continue;
        }
        memmove(v->arena + w, v->arena + v->off[i], v->len[i] + 1);
        v->off[i] = w;
        w += v->len[i] + 1;
    }
    v->alen = w;
    v->min_reduce++;
    v->prunes++;
    return rehash(v, v->hcap);
}

int64_t b4k_w2v_vocab_add(b4k_w2v_vocab *v, const char *w, size_t n, int64_t count)
{
    uint64_t hv = hash_bytes(w, n);
    size_t h = hv & (v->hcap - 1);
    for (;;) {
        int64_t id = v->slot[h];
        if (id < 0)
            break;
        if (v->hval[id] == hv && v->len[id] == n && !memcmp(v->arena + v->off[id], w, n)) {
            v->count[id] += count;
            return id;
        }
        h = (h + 1) & (v->hcap - 1);
    }
    if (n > UINT32_MAX || v->n >= INT32_MAX)
        return B4K_ERANGE;
    if (v->n == v->cap) {
        size_t c = v->cap;
        if (B4K_GROW(v->off, c, v->n + 1))
            return B4K_ENOMEM;
        c = v->cap;
        if (B4K_GROW(v->len, c, v->n + 1))
            return B4K_ENOMEM;
        c = v->cap;
        if (B4K_GROW(v->count, c, v->n + 1))
            return B4K_ENOMEM;
        c = v->cap;
        if (B4K_GROW(v->hval, c, v->n + 1))
            return B4K_ENOMEM;
        v->cap = c;
    }
    if (B4K_GROW(v->arena, v->acap, v->alen + n + 1))
        return B4K_ENOMEM;
    memcpy(v->arena + v->alen, w, n);
    v->arena[v->alen + n] = 0;
    int64_t id = (int64_t)v->n++;
    v->off[id] = v->alen;
    v->alen += n + 1;
    v->len[id] = (uint32_t)n;
    v->count[id] = count;
    v->hval[id] = hv;
    v->slot[h] = id;
    v->live++;
    if (v->live * 2 > v->hcap && rehash(v, v->hcap * 2))
        return B4K_ENOMEM;
    if (v->prune_limit && v->live > v->prune_limit) {
        if (prune(v))
            return B4K_ENOMEM;
    }
    return id;
}

static int cmp_ids(const void *a, const void *b, void *ctx)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const b4k_w2v_vocab *v = ctx;
    if (v->count[x] != v->count[y])
        return v->count[x] > v->count[y] ? -1 : 1;
    size_t lx = v->len[x], ly = v->len[y];
    int c = memcmp(v->arena + v->off[x], v->arena + v->off[y], lx < ly ? lx : ly);
    if (c)
        return c;
    return lx < ly ? -1 : lx > ly;
}

int b4k_w2v_vocab_finalize(b4k_w2v_vocab *v, int64_t min_count, size_t max_vocab,
                           int32_t **map, b4k_err *err)
{
    size_t n0 = v->n, k = 0;
    size_t *ord = b4k_malloc_n(n0 ? n0 : 1, sizeof *ord);
    int32_t *m = map ? b4k_malloc_n(n0 ? n0 : 1, sizeof *m) : NULL;
    char *arena = NULL;
    size_t *off = NULL;
    uint32_t *len = NULL;
    int64_t *count = NULL;
    uint64_t *hval = NULL;
    if (!ord || (map && !m))
        goto nomem;
    for (size_t i = 0; i < n0; i++) {
        if (m)
            m[i] = -1;
        if (v->off[i] != DEAD && v->count[i] >= min_count)
            ord[k++] = i;
    }
    qsort_r(ord, k, sizeof *ord, cmp_ids, v);
    if (max_vocab && k > max_vocab)
        k = max_vocab;
    size_t alen = 0;
    for (size_t i = 0; i < k; i++)
        alen += v->len[ord[i]] + 1;
    arena = b4k_malloc(alen ? alen : 1);
    off = b4k_malloc_n(k ? k : 1, sizeof *off);
    len = b4k_malloc_n(k ? k : 1, sizeof *len);
    count = b4k_malloc_n(k ? k : 1, sizeof *count);
    hval = b4k_malloc_n(k ? k : 1, sizeof *hval);
    if (!arena || !off || !len || !count || !hval)
        goto nomem;
    size_t a = 0;
    for (size_t i = 0; i < k; i++) {
        size_t o = ord[i];
        memcpy(arena + a, v->arena + v->off[o], v->len[o] + 1);
        off[i] = a;
        a += v->len[o] + 1;
        len[i] = v->len[o];
        count[i] = v->count[o];
        hval[i] = v->hval[o];
        if (m)
            m[o] = (int32_t)i;
    }
    b4k_free(v->arena);
    b4k_free(v->off);
    b4k_free(v->len);
    b4k_free(v->count);
    b4k_free(v->hval);
    v->arena = arena;
    v->alen = v->acap = alen;
    v->off = off;
    v->len = len;
    v->count = count;
    v->hval = hval;
    v->n = v->cap = v->live = k;
    b4k_free(ord);
    size_t hc = 1024;
    while (hc < 2 * k + 2)
        hc *= 2;
    if (rehash(v, hc)) {
        b4k_free(m);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    if (map)
        *map = m;
    return 0;
nomem:
    b4k_free(ord);
    b4k_free(m);
    b4k_free(arena);
    b4k_free(off);
    b4k_free(len);
    b4k_free(count);
    b4k_free(hval);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}
