/* String -> id hash map (see tok_vocab.h). */
#include "tok/tok_vocab.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/err.h"

int b4k_strmap_init(b4k_strmap *m, size_t expect)
{
    size_t cap = 16;
    while (cap < 2 * expect + 2) {
        if (cap > ((size_t)1 << 40)) return B4K_ENOMEM;
        cap <<= 1;
    }
    m->slot = b4k_malloc_n(cap, sizeof *m->slot);
    m->keys = b4k_calloc(cap, sizeof *m->keys);
    if (!m->slot || !m->keys) {
        free(m->slot);
        free(m->keys);
        m->slot = NULL;
        m->keys = NULL;
        return B4K_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) {
        m->slot[i].hash = 0;
        m->slot[i].val = -1;
    }
    m->mask = cap - 1;
    m->n = 0;
    return 0;
}

void b4k_strmap_free(b4k_strmap *m)
{
    if (!m) return;
    free(m->slot);
    free(m->keys);
    m->slot = NULL;
    m->keys = NULL;
    m->mask = 0;
    m->n = 0;
}

static int grow(b4k_strmap *m)
{
    b4k_strmap bigger;
    int rc = b4k_strmap_init(&bigger, (m->mask + 1));
    if (rc) return rc;
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slot[i].val < 0) continue;
        size_t j = m->slot[i].hash & bigger.mask;
        while (bigger.slot[j].val >= 0) j = (j + 1) & bigger.mask;
        bigger.slot[j] = m->slot[i];
        bigger.keys[j] = m->keys[i];
    }
    bigger.n = m->n;
    b4k_strmap_free(m);
    *m = bigger;
    return 0;
}

int b4k_strmap_put(b4k_strmap *m, const char *key, size_t len, int32_t val, int32_t *old)
{
    if (val < 0) return B4K_ERANGE;
    if (!m->slot || 2 * (m->n + 1) > m->mask + 1) {
        int rc = m->slot ? grow(m) : b4k_strmap_init(m, 16);
        if (rc) return rc;
    }
    uint32_t h = b4k_strhash(key, len);
    size_t i = h & m->mask;
    for (;;) {
        b4k_strmap_slot *s = &m->slot[i];
        if (s->val < 0) {
            s->hash = h;
            s->val = val;
            m->keys[i].key = key;
            m->keys[i].len = len;
            m->n++;
            return 0;
        }
        if (s->hash == h && m->keys[i].len == len && memcmp(m->keys[i].key, key, len) == 0) {
            if (old) *old = s->val;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
}
