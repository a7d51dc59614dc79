/* String dictionary (see dict.h). */
#include "crf/dict.h"

#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

void b4k_crf_dict_init(b4k_crf_dict *d)
{
    memset(d, 0, sizeof *d);
}

void b4k_crf_dict_free(b4k_crf_dict *d)
{
    if (!d)
        return;
    if (!d->borrowed) {
        b4k_free(d->arena);
        b4k_free(d->off);
    }
    if (!d->borrowed || d->own_slots)
        b4k_free(d->slots);
    b4k_free(d->count);
    memset(d, 0, sizeof *d);
}

int32_t b4k_crf_dict_find(const b4k_crf_dict *d, const char *s, size_t n)
{
    return b4k_crf_dict_find_h(d, s, n, b4k_crf_hash(s, n));
}

int32_t b4k_crf_dict_find_h(const b4k_crf_dict *d, const char *s, size_t n, uint64_t h)
{
    if (!d->cap)
        return -1;
    size_t mask = d->cap - 1, i = (size_t)h & mask;
    for (;;) {
        int32_t id = d->slots[i];
        if (id < 0)
            return -1;
        const char *p = d->arena + d->off[id];
        if ((size_t)(d->off[id + 1] - d->off[id] - 1) == n && !memcmp(p, s, n))
            return id;
        i = (i + 1) & mask;
    }
}

static int rehash(b4k_crf_dict *d, size_t cap)
{
    int32_t *slots = b4k_malloc_n(cap, sizeof(int32_t));
    if (!slots)
        return B4K_ENOMEM;
    memset(slots, 0xff, cap * sizeof(int32_t));
    size_t mask = cap - 1;
    for (size_t id = 0; id < d->n; id++) {
        const char *p = d->arena + d->off[id];
        size_t len = (size_t)(d->off[id + 1] - d->off[id] - 1);
        size_t i = (size_t)b4k_crf_hash(p, len) & mask;
        while (slots[i] >= 0)
            i = (i + 1) & mask;
        slots[i] = (int32_t)id;
    }
    b4k_free(d->slots);
    d->slots = slots;
    d->cap = cap;
    return 0;
}

int32_t b4k_crf_dict_add(b4k_crf_dict *d, const char *s, size_t n)
{
    if (d->borrowed)
        return B4K_EINVAL;
    if (d->cap) {
        size_t mask = d->cap - 1, i = (size_t)b4k_crf_hash(s, n) & mask;
        for (;;) {
            int32_t id = d->slots[i];
            if (id < 0)
                break;
            const char *p = d->arena + d->off[id];
            if ((size_t)(d->off[id + 1] - d->off[id] - 1) == n && !memcmp(p, s, n)) {
                if (d->count[id] != UINT32_MAX)
                    d->count[id]++;
                return id;
            }
            i = (i + 1) & mask;
        }
    }
    if (d->n >= 0x7ffffffe)
        return B4K_ERANGE;
    /* grow: keep load <= 1/2 */
    if ((d->n + 1) * 2 > d->cap) {
        int rc = rehash(d, d->cap ? d->cap * 2 : 1024);
        if (rc)
            return rc;
    }
    if (d->n + 2 > d->ncap) {
        size_t c = d->ncap;
        if (B4K_GROW(d->off, c, d->n + 2))
            return B4K_ENOMEM;
        c = d->ncap;
        if (B4K_GROW(d->count, c, d->n + 2))
            return B4K_ENOMEM;
        d->ncap = c;
    }
    if (B4K_GROW(d->arena, d->acap, d->alen + n + 1))
        return B4K_ENOMEM;
    memcpy(d->arena + d->alen, s, n);
    d->arena[d->alen + n] = 0;
    int32_t id = (int32_t)d->n;
    d->off[id] = (int64_t)d->alen;
    d->alen += n + 1;
    d->off[id + 1] = (int64_t)d->alen;
    d->count[id] = 1;
    d->n++;
    size_t mask = d->cap - 1, i = (size_t)b4k_crf_hash(s, n) & mask;
    while (d->slots[i] >= 0)
        i = (i + 1) & mask;
    d->slots[i] = id;
    return id;
}

int b4k_crf_dict_filter(b4k_crf_dict *d, const uint8_t *keep, int32_t *newid)
{
    size_t w = 0, apos = 0;
    for (size_t id = 0; id < d->n; id++) {
        size_t len = (size_t)(d->off[id + 1] - d->off[id]);
        if (!keep[id]) {
            newid[id] = -1;
            continue;
        }
        newid[id] = (int32_t)w;
        memmove(d->arena + apos, d->arena + d->off[id], len);
        d->count[w] = d->count[id];
        d->off[w] = (int64_t)apos;
        apos += len;
        w++;
    }
    d->n = w;
    d->off[w] = (int64_t)apos;
    d->alen = apos;
    size_t cap = 1024;
    while (cap < 2 * (w + 1))
        cap *= 2;
    return rehash(d, cap);
}

int b4k_crf_dict_reorder(b4k_crf_dict *d, const int32_t *order, int32_t *newid)
{
    size_t n = d->n;
    char *arena = b4k_malloc(d->alen ? d->alen : 1);
    int64_t *off = b4k_malloc_n(n + 2, sizeof(int64_t));
    uint32_t *count = b4k_malloc_n(n + 2, sizeof(uint32_t));
    if (!arena || !off || !count) {
        b4k_free(arena);
        b4k_free(off);
        b4k_free(count);
        return B4K_ENOMEM;
    }
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t id = order[k];
        size_t len = (size_t)(d->off[id + 1] - d->off[id]);
        memcpy(arena + pos, d->arena + d->off[id], len);
        off[k] = (int64_t)pos;
        count[k] = d->count[id];
        newid[id] = (int32_t)k;
        pos += len;
    }
    off[n] = (int64_t)pos;
    b4k_free(d->arena);
    b4k_free(d->off);
    b4k_free(d->count);
    d->arena = arena;
    d->acap = d->alen ? d->alen : 1;
    d->off = off;
    d->count = count;
    d->ncap = n + 2;
    return rehash(d, d->cap ? d->cap : 1024);
}

int b4k_crf_dict_borrow(b4k_crf_dict *d, const char *arena, size_t alen, const int64_t *off,
                        size_t n, const int32_t *slots, size_t cap, int rehash_slots)
{
    b4k_crf_dict_init(d);
    if (cap == 0 || (cap & (cap - 1)) || cap <= n || n >= 0x7fffffff)
        return B4K_EFORMAT;
    if (off[0] != 0 || (uint64_t)off[n] != alen)
        return B4K_EFORMAT;
    for (size_t i = 0; i < n; i++) {
        if (off[i + 1] <= off[i] || (uint64_t)off[i + 1] > alen || arena[off[i + 1] - 1] != 0)
            return B4K_EFORMAT;
    }
    size_t empty = 0;
    for (size_t i = 0; i < cap; i++) {
        if (slots[i] < -1 || slots[i] >= (int64_t)n)
            return B4K_EFORMAT;
        empty += slots[i] == -1;
    }
    if (!empty) /* probing must end */
        return B4K_EFORMAT;
    d->arena = (char *)arena;
    d->alen = alen;
    d->off = (int64_t *)off;
    d->n = n;
    d->slots = (int32_t *)slots;
    d->cap = cap;
    d->borrowed = 1;
    if (rehash_slots) {
        d->slots = NULL;
        d->own_slots = 1;
        if (rehash(d, cap)) {
            b4k_crf_dict_init(d);
            return B4K_ENOMEM;
        }
    }
    return 0;
}
