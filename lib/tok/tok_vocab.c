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
    m->slot = b4k_calloc(cap, sizeof *m->slot);
    if (!m->slot) return B4K_ENOMEM;
    m->mask = cap - 1;
    m->n = 0;
    return 0;
}

void b4k_strmap_free(b4k_strmap *m)
{
    if (!m) return;
    free(m->slot);
    m->slot = NULL;
    m->mask = 0;
    m->n = 0;
}

static int grow(b4k_strmap *m)
{
    b4k_strmap bigger;
    int rc = b4k_strmap_init(&bigger, (m->mask + 1));
    if (rc) return rc;
    for (size_t i = 0; i <= m->mask; i++) {
        b4k_strmap_slot *s = &m->slot[i];
        if (!s->key) continue;
        size_t j = s->hash & bigger.mask;
        while (bigger.slot[j].key) j = (j + 1) & bigger.mask;
        bigger.slot[j] = *s;
    }
    bigger.n = m->n;
    free(m->slot);
    *m = bigger;
    return 0;
}

int b4k_strmap_put(b4k_strmap *m, const char *key, size_t len, int32_t val, int32_t *old)
{
    if (len > UINT32_MAX) return B4K_ERANGE;
    if (!m->slot || 2 * (m->n + 1) > m->mask + 1) {
        int rc = m->slot ? grow(m) : b4k_strmap_init(m, 16);
        if (rc) return rc;
    }
    uint32_t h = b4k_strhash(key, len);
    size_t i = h & m->mask;
    for (;;) {
        b4k_strmap_slot *s = &m->slot[i];
        if (!s->key) {
            s->key = key;
            s->len = (uint32_t)len;
            s->hash = h;
            s->val = val;
            m->n++;
            return 0;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            if (old) *old = s->val;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
}
