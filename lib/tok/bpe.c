/* GPT-2 byte-level BPE (see bpe.h). */
#include "tok/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "tok/tok_util.h"
#include "tok/tok_vocab.h"
#include "tok/unicode.h"

typedef struct pair_slot {
    uint64_t key; /* ((a+1) << 32) | (b+1); 0 = empty */
    int32_t rank, merged;
} pair_slot;

struct b4k_bpe {
    char *pool;          /* piece strings, NUL-terminated */
    uint32_t *poff, *plen; /* (n) */
    unsigned char *bytes; /* decoded bytes of every piece */
    uint32_t *boff, *blen; /* (n) */
    size_t n;
    b4k_strmap map;
    pair_slot *pairs;
    size_t pmask, npairs;
    int32_t byte_id[256]; /* id of the one-character piece of each byte */
    int32_t eos;
};

/* bytes_to_unicode() of GPT-2's encoder.py. */
static void byte_map(uint32_t b2u[256])
{
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        b2u[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

static inline uint64_t pair_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1);
}

static inline uint32_t pair_hash(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 32);
}

static const pair_slot *pair_get(const b4k_bpe *bpe, int32_t a, int32_t b)
{
    uint64_t k = pair_key(a, b);
    size_t i = pair_hash(k) & bpe->pmask;
    for (;;) {
        const pair_slot *s = &bpe->pairs[i];
        if (s->key == k) return s;
        if (!s->key) return NULL;
        i = (i + 1) & bpe->pmask;
    }
}

/* ---- loading ---------------------------------------------------------- */

static int load_encoder(b4k_bpe *bpe, const char *text, size_t len, const char *name,
                        b4k_err *err)
{
    json_t *doc = NULL;
    int rc = b4k_json_parse_doc(&doc, text, len, name, err);
    if (rc) return rc;
    if (!json_is_object(doc)) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "encoder must be a JSON object");
        goto done;
    }
    size_t n = json_object_size(doc), total = 0;
    if (n == 0 || n > (size_t)INT32_MAX) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "encoder has %zu entries", n);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(doc, key, val) total += strlen(key) + 1;
    bpe->n = n;
    bpe->pool = b4k_malloc_n(total + 1, 1);
    bpe->poff = b4k_malloc_n(n, sizeof *bpe->poff);
    bpe->plen = b4k_malloc_n(n, sizeof *bpe->plen);
    char *seen = b4k_calloc(n, 1);
    if (!bpe->pool || !bpe->poff || !bpe->plen || !seen || b4k_strmap_init(&bpe->map, n)) {
        free(seen);
        rc = b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        goto done;
    }
    size_t off = 0;
    json_object_foreach(doc, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            (size_t)json_integer_value(val) >= n) {
            free(seen);
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0,
                             "id of '%s' is not an integer in [0,%zu)", key, n);
            goto done;
        }
        size_t id = (size_t)json_integer_value(val), kl = strlen(key);
        if (seen[id]) {
            free(seen);
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "id %zu is used twice ('%s')", id, key);
            goto done;
        }
        if (kl == 0) {
            free(seen);
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "empty token (id %zu)", id);
            goto done;
        }
        seen[id] = 1;
        memcpy(bpe->pool + off, key, kl + 1);
        bpe->poff[id] = (uint32_t)off;
        bpe->plen[id] = (uint32_t)kl;
        off += kl + 1;
    }
    free(seen); /* n distinct ids in [0,n): every id is used */
    for (size_t i = 0; i < n; i++) {
        int32_t old;
        rc = b4k_strmap_put(&bpe->map, bpe->pool + bpe->poff[i], bpe->plen[i], (int32_t)i, &old);
        if (rc < 0) {
            rc = b4k_err_set(err, rc, name, 0, "out of memory");
            goto done;
        }
        rc = 0; /* JSON object keys are unique (jansson keeps the last) */
    }
done:
    json_decref(doc);
    return rc;
}

static int build_bytes(b4k_bpe *bpe, const char *name, b4k_err *err)
{
    uint32_t b2u[256];
    int16_t u2b[512];
    byte_map(b2u);
    memset(u2b, -1, sizeof u2b);
    for (int b = 0; b < 256; b++) {
        u2b[b2u[b]] = (int16_t)b;
        char s[4];
        int l = b4k_utf8_encode(b2u[b], s);
        bpe->byte_id[b] = b4k_strmap_get(&bpe->map, s, (size_t)l);
        if (bpe->byte_id[b] < 0)
            return b4k_err_set(err, B4K_EFORMAT, name, 0,
                               "encoder has no token for byte 0x%02X ('%.*s')", b, l, s);
    }
    size_t total = 0;
    for (size_t i = 0; i < bpe->n; i++) total += bpe->plen[i];
    bpe->bytes = b4k_malloc_n(total + 1, 1);
    bpe->boff = b4k_malloc_n(bpe->n, sizeof *bpe->boff);
    bpe->blen = b4k_malloc_n(bpe->n, sizeof *bpe->blen);
    if (!bpe->bytes || !bpe->boff || !bpe->blen)
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < bpe->n; i++) {
        const unsigned char *s = (const unsigned char *)bpe->pool + bpe->poff[i];
        size_t l = bpe->plen[i];
        bpe->boff[i] = (uint32_t)o;
        for (size_t k = 0; k < l;) {
            uint32_t cp;
            k += (size_t)b4k_tok_u8(s + k, l - k, &cp);
            if (cp < 512 && u2b[cp] >= 0) {
                bpe->bytes[o++] = (unsigned char)u2b[cp];
            } else { /* not a byte-level character: keep its UTF-8 */
                char u[4];
                int ul = b4k_utf8_encode(cp, u);
                memcpy(bpe->bytes + o, u, (size_t)ul);
                o += (size_t)ul;
            }
        }
        bpe->blen[i] = (uint32_t)(o - bpe->boff[i]);
    }
    bpe->eos = b4k_strmap_get(&bpe->map, "<|endoftext|>", 13);
    return 0;
}

static int load_merges(b4k_bpe *bpe, const char *text, size_t len, const char *name,
                       b4k_err *err)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    size_t cap = 16;
    while (cap < 2 * lines + 2) cap <<= 1;
    bpe->pairs = b4k_malloc_n(cap, sizeof *bpe->pairs); /* memset: as cache_rehash's */
    if (!bpe->pairs) return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    memset(bpe->pairs, 0, cap * sizeof *bpe->pairs);
    bpe->pmask = cap - 1;
    const char *p = text, *end = text + len;
    long line = 0;
    int32_t rank = 0;
    char *buf = NULL;
    size_t bcap = 0;
    int rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        p = nl ? nl + 1 : end;
        if (line == 1 && le - q >= 8 && memcmp(q, "#version", 8) == 0) continue;
        while (le > q && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t')) le--;
        if (le == q) continue; /* blank line (the final newline) */
        const char *sp = memchr(q, ' ', (size_t)(le - q));
        if (!sp || sp == q || sp + 1 == le || memchr(sp + 1, ' ', (size_t)(le - sp - 1))) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line, "expected two tokens 'a b'");
            goto done;
        }
        size_t la = (size_t)(sp - q), lb = (size_t)(le - sp - 1);
        if (B4K_GROW(buf, bcap, la + lb + 1)) {
            rc = b4k_err_set(err, B4K_ENOMEM, name, line, "out of memory");
            goto done;
        }
        memcpy(buf, q, la);
        memcpy(buf + la, sp + 1, lb);
        int32_t a = b4k_strmap_get(&bpe->map, q, la), b = b4k_strmap_get(&bpe->map, sp + 1, lb);
        int32_t m = b4k_strmap_get(&bpe->map, buf, la + lb);
        if (a < 0 || b < 0 || m < 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, line,
                             "merge '%.*s %.*s': %s not in the encoder", (int)la, q, (int)lb,
                             sp + 1, a < 0 ? "first token" : b < 0 ? "second token" : "result");
            goto done;
        }
        uint64_t k = pair_key(a, b);
        size_t i = pair_hash(k) & bpe->pmask;
        while (bpe->pairs[i].key && bpe->pairs[i].key != k) i = (i + 1) & bpe->pmask;
        if (!bpe->pairs[i].key) { /* a repeated pair keeps its first rank */
            bpe->pairs[i].key = k;
            bpe->pairs[i].rank = rank;
            bpe->pairs[i].merged = m;
            bpe->npairs++;
        }
        rank++;
    }
    if (rank == 0) rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "no merges");
done:
    free(buf);
    return rc;
}

int b4k_bpe_load_mem(b4k_bpe **out, const char *enc_text, size_t enc_len, const char *enc_name,
                     const char *merges_text, size_t merges_len, const char *merges_name,
                     b4k_err *err)
{
    *out = NULL;
    b4k_bpe *bpe = b4k_calloc(1, sizeof *bpe);
    if (!bpe) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (!enc_name) enc_name = "encoder.json";
    if (!merges_name) merges_name = "vocab.bpe";
    int rc = load_encoder(bpe, enc_text, enc_len, enc_name, err);
    if (!rc) rc = build_bytes(bpe, enc_name, err);
    if (!rc) rc = load_merges(bpe, merges_text, merges_len, merges_name, err);
    if (rc) {
        b4k_bpe_free(bpe);
        return rc;
    }
    *out = bpe;
    return 0;
}

int b4k_bpe_load(b4k_bpe **out, const char *encoder_json, const char *merges, b4k_err *err)
{
    char *e = NULL, *m = NULL;
    size_t el, ml;
    *out = NULL;
    int rc = b4k_tok_slurp(encoder_json, &e, &el, err);
    if (!rc) rc = b4k_tok_slurp(merges, &m, &ml, err);
    if (!rc) rc = b4k_bpe_load_mem(out, e, el, encoder_json, m, ml, merges, err);
    free(e);
    free(m);
    return rc;
}

void b4k_bpe_free(b4k_bpe *bpe)
{
    if (!bpe) return;
    free(bpe->pool);
    free(bpe->poff);
    free(bpe->plen);
    free(bpe->bytes);
    free(bpe->boff);
    free(bpe->blen);
    free(bpe->pairs);
    b4k_strmap_free(&bpe->map);
    free(bpe);
}

size_t b4k_bpe_size(const b4k_bpe *bpe) { return bpe->n; }
int32_t b4k_bpe_eos(const b4k_bpe *bpe) { return bpe->eos; }

const char *b4k_bpe_piece(const b4k_bpe *bpe, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= bpe->n) return NULL;
    if (len) *len = bpe->plen[id];
    return bpe->pool + bpe->poff[id];
}

int32_t b4k_bpe_id(const b4k_bpe *bpe, const char *s, size_t len)
{
    return b4k_strmap_get(&bpe->map, s, len);
}

/* ---- per-thread scratch: decoded text and the word cache --------------- */

#define CACHE_MAX_WORD 128             /* bytes; longer words are not cached */
#define CACHE_MAX_ENTRIES (1u << 16)    /* then the cache is cleared */

typedef struct cache_slot {
    uint32_t hash, klen, koff, voff, vn; /* vn == 0: empty */
} cache_slot;

typedef struct bpe_scratch {
    uint8_t *cls;   /* (nch) 0 other, 1 L, 2 N, 3 whitespace */
    uint32_t *cp;   /* (nch) */
    uint32_t *bp;   /* (nch+1) byte offset of each char */
    size_t ccap;
    int32_t *sym;   /* (nb) symbols of the current word */
    uint32_t *slen; /* (nb) their byte lengths */
    size_t scap;
    /* cache: open addressing over keys (bytes) -> (id, byte length) lists */
    cache_slot *slot;
    size_t smask, nent;
    char *keys;
    size_t klen, kcap;
    int32_t *vals; /* pairs (id, byte length) */
    size_t vlen, vcap;
} bpe_scratch;

static void bpe_scratch_free(void *p)
{
    bpe_scratch *s = p;
    if (!s) return;
    free(s->cls);
    free(s->cp);
    free(s->bp);
    free(s->sym);
    free(s->slen);
    free(s->slot);
    free(s->keys);
    free(s->vals);
    free(s);
}

enum { C_OTHER = 0, C_L = 1, C_N = 2, C_WS = 3 };

static const cache_slot *cache_get(const bpe_scratch *s, const char *w, size_t n, uint32_t h)
{
    if (!s->slot) return NULL;
    size_t i = h & s->smask;
    for (;;) {
        const cache_slot *c = &s->slot[i];
        if (!c->vn) return NULL;
        if (c->hash == h && c->klen == n && memcmp(s->keys + c->koff, w, n) == 0) return c;
        i = (i + 1) & s->smask;
    }
}

static int cache_rehash(bpe_scratch *s, size_t cap)
{
    /* zeroed by memset, not calloc: the probes below read a slot before
     * writing it, which on calloc's fresh pages faults twice (the zero
     * page, then copy-on-write with a TLB flush, costly with threads) */
    cache_slot *slot = b4k_malloc_n(cap, sizeof *slot);
    if (!slot) return B4K_ENOMEM;
    memset(slot, 0, cap * sizeof *slot);
    for (size_t i = 0; s->slot && i <= s->smask; i++) {
        if (!s->slot[i].vn) continue;
        size_t j = s->slot[i].hash & (cap - 1);
        while (slot[j].vn) j = (j + 1) & (cap - 1);
        slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->smask = cap - 1;
    return 0;
}

static void cache_put(bpe_scratch *s, const char *w, size_t n, uint32_t h, const int32_t *sym,
                      const uint32_t *slen, size_t ns)
{
    /* starts small (so that a short-lived b4k_tok_out stays cheap), doubles
     * up to 2 x CACHE_MAX_ENTRIES slots, then is cleared when full */
    if (!s->slot) {
        if (cache_rehash(s, 1024)) return;
    } else if (2 * (s->nent + 1) > s->smask + 1) {
        if (s->smask + 1 < 2 * CACHE_MAX_ENTRIES) {
            if (cache_rehash(s, 2 * (s->smask + 1))) return;
        } else {
            memset(s->slot, 0, (s->smask + 1) * sizeof *s->slot);
            s->nent = s->klen = s->vlen = 0;
        }
    }
    if (B4K_GROW(s->keys, s->kcap, s->klen + n) || B4K_GROW(s->vals, s->vcap, s->vlen + 2 * ns))
        return; /* the cache is only an optimisation */
    size_t i = h & s->smask;
    while (s->slot[i].vn) i = (i + 1) & s->smask;
    cache_slot *c = &s->slot[i];
    c->hash = h;
    c->klen = (uint32_t)n;
    c->koff = (uint32_t)s->klen;
    c->voff = (uint32_t)s->vlen;
    c->vn = (uint32_t)ns;
    memcpy(s->keys + s->klen, w, n);
    s->klen += n;
    for (size_t k = 0; k < ns; k++) {
        s->vals[s->vlen++] = sym[k];
        s->vals[s->vlen++] = (int32_t)slen[k];
    }
    s->nent++;
}

/* Long words: the same merges in O(n log n).  Symbols form a linked list;
 * a min-heap holds candidate pairs by (rank, position).  Each round takes
 * every entry of the lowest rank (all occurrences of one pair, left to
 * right, as the simple loop merges them), skips the stale ones, and only then
 * pushes the pairs the merges created, so the result is identical to
 * bpe_word_simple's. */
typedef struct heap_ent {
    int32_t rank;
    uint32_t pos; /* index of the left symbol */
} heap_ent;

static inline int heap_less(heap_ent x, heap_ent y)
{
    return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos);
}

static void heap_push(heap_ent *h, size_t *n, heap_ent e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(e, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static heap_ent heap_pop(heap_ent *h, size_t *n)
{
    heap_ent top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c])) c++;
        if (!heap_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static size_t bpe_word_heap(const b4k_bpe *bpe, int32_t *sym, uint32_t *slen, size_t n)
{
    /* nxt/prv: linked list over positions; alive symbols only */
    uint32_t *nxt = b4k_malloc_n(n, sizeof *nxt), *prv = b4k_malloc_n(n, sizeof *prv);
    heap_ent *h = b4k_malloc_n(2 * n + 1, sizeof *h), *round = b4k_malloc_n(n, sizeof *round);
    if (!nxt || !prv || !h || !round) {
        free(nxt);
        free(prv);
        free(h);
        free(round);
        return (size_t)-1;
    }
    const uint32_t NONE = UINT32_MAX;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        nxt[i] = i + 1 < n ? (uint32_t)(i + 1) : NONE;
        prv[i] = i ? (uint32_t)(i - 1) : NONE;
        if (i + 1 < n) {
            const pair_slot *p = pair_get(bpe, sym[i], sym[i + 1]);
            if (p) heap_push(h, &hn, (heap_ent){p->rank, (uint32_t)i});
        }
    }
    while (hn) {
        int32_t r = h[0].rank;
        size_t rn = 0;
        while (hn && h[0].rank == r) round[rn++] = heap_pop(h, &hn);
        /* every entry of rank r is the same pair (a, b) */
        const pair_slot *ps = NULL;
        int32_t a = -1, b = -1;
        for (size_t k = 0; k < rn; k++) {
            uint32_t i = round[k].pos, j;
            if (slen[i] == 0 || (j = nxt[i]) == NONE) continue; /* dead or last */
            const pair_slot *p = pair_get(bpe, sym[i], sym[j]);
            if (!p || p->rank != r) continue; /* stale */
            if (!ps) {
                ps = p;
                a = sym[i];
                b = sym[j];
            }
            if (sym[i] != a || sym[j] != b) continue;
            sym[i] = ps->merged;
            slen[i] += slen[j];
            slen[j] = 0;
            nxt[i] = nxt[j];
            if (nxt[j] != NONE) prv[nxt[j]] = i;
            round[k].rank = -1; /* mark: merged here */
        }
        /* new pairs around each merged symbol, pushed after the round */
        for (size_t k = 0; k < rn; k++) {
            if (round[k].rank != -1) continue;
            uint32_t i = round[k].pos;
            if (slen[i] == 0) continue;
            if (prv[i] != NONE) {
                const pair_slot *p = pair_get(bpe, sym[prv[i]], sym[i]);
                if (p) heap_push(h, &hn, (heap_ent){p->rank, prv[i]});
            }
            if (nxt[i] != NONE) {
                const pair_slot *p = pair_get(bpe, sym[i], sym[nxt[i]]);
                if (p) heap_push(h, &hn, (heap_ent){p->rank, i});
            }
        }
    }
    size_t ns = 0;
    for (uint32_t i = 0; i != NONE; i = nxt[i]) {
        sym[ns] = sym[i];
        slen[ns] = slen[i];
        ns++;
    }
    free(nxt);
    free(prv);
    free(h);
    free(round);
    return ns;
}

/* The merge loop of encoder.py: merge every occurrence of the lowest-ranked
 * pair, left to right, until no ranked pair is left.  O(n^2): short words. */
static size_t bpe_word_simple(const b4k_bpe *bpe, int32_t *sym, uint32_t *slen, size_t n)
{
    size_t ns = n;
    while (ns > 1) {
        int32_t best = INT32_MAX, a = -1, b = -1, m = -1;
        for (size_t i = 0; i + 1 < ns; i++) {
            const pair_slot *p = pair_get(bpe, sym[i], sym[i + 1]);
            if (p && p->rank < best) {
                best = p->rank;
                a = sym[i];
                b = sym[i + 1];
                m = p->merged;
            }
        }
        if (m < 0) break;
        size_t j = 0;
        for (size_t i = 0; i < ns; j++) {
            if (i + 1 < ns && sym[i] == a && sym[i + 1] == b) {
                sym[j] = m;
                slen[j] = slen[i] + slen[i + 1];
                i += 2;
            } else {
                sym[j] = sym[i];
                slen[j] = slen[i];
                i++;
            }
        }
        ns = j;
    }
    return ns;
}

size_t b4k_bpe_merge(const b4k_bpe *bpe, const unsigned char *w, size_t n, int32_t *sym,
                     uint32_t *slen, int method)
{
    for (size_t i = 0; i < n; i++) {
        sym[i] = bpe->byte_id[w[i]];
        slen[i] = 1;
    }
    if (method == 2 || (method == 0 && n > B4K_BPE_HEAP_MIN)) {
        size_t ns = bpe_word_heap(bpe, sym, slen, n);
        if (ns != (size_t)-1) return ns; /* else out of memory: the simple way */
    }
    return bpe_word_simple(bpe, sym, slen, n);
}

static size_t bpe_word(const b4k_bpe *bpe, bpe_scratch *s, const unsigned char *w, size_t n)
{
    return b4k_bpe_merge(bpe, w, n, s->sym, s->slen, 0);
}

/* Emit the tokens of the pre-token made of chars [c0,c1). */
static int emit_word(const b4k_bpe *bpe, bpe_scratch *s, const char *text, size_t c0, size_t c1,
                     b4k_tok_out *out)
{
    size_t b0 = s->bp[c0], b1 = s->bp[c1], n = b1 - b0;
    const char *w = text + b0;
    const int32_t *ids;
    const uint32_t *lens = NULL;
    const int32_t *pairs = NULL;
    size_t ns;
    uint32_t h = 0;
    const cache_slot *c = NULL;
    if (n <= CACHE_MAX_WORD) {
        h = b4k_strhash(w, n);
        c = cache_get(s, w, n, h);
    }
    if (c) {
        pairs = s->vals + c->voff;
        ns = c->vn;
        ids = NULL;
    } else {
        if (n > s->scap) {
            size_t c2 = s->scap;
            if (B4K_GROW(s->sym, s->scap, n) || B4K_GROW(s->slen, c2, n)) return B4K_ENOMEM;
            if (c2 < s->scap) s->scap = c2;
        }
        ns = bpe_word(bpe, s, (const unsigned char *)w, n);
        ids = s->sym;
        lens = s->slen;
    }
    if (b4k_tok_out_reserve(out, ns)) return B4K_ENOMEM;
    size_t ch = c0, pos = b0;
    for (size_t k = 0; k < ns; k++) {
        int32_t id = ids ? ids[k] : pairs[2 * k];
        size_t l = ids ? lens[k] : (size_t)pairs[2 * k + 1];
        while (ch + 1 < c1 && s->bp[ch + 1] <= pos) ch++;
        size_t start = ch;
        size_t last = pos + l - 1;
        while (ch + 1 < c1 && s->bp[ch + 1] <= last) ch++;
        b4k_tok_out_push(out, id, (int32_t)start, (int32_t)ch + 1, 0);
        pos += l;
    }
    if (!c && n <= CACHE_MAX_WORD) cache_put(s, w, n, h, s->sym, s->slen, ns);
    return 0;
}

static int is_contraction(const bpe_scratch *s, size_t i, size_t n)
{
    if (s->cp[i] != '\'' || i + 1 >= n) return 0;
    uint32_t c1 = s->cp[i + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (i + 2 >= n) return 0;
    uint32_t c2 = s->cp[i + 2];
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return 3;
    return 0;
}

int b4k_bpe_encode(const b4k_bpe *bpe, const char *text, size_t len, const b4k_tok_enc *enc,
                   b4k_tok_out *out, b4k_err *err)
{
    out->n = 0;
    out->n_a = 0;
    if (out->scratch_kind != B4K_TOK_BPE) {
        if (out->scratch_free) out->scratch_free(out->scratch);
        out->scratch = b4k_calloc(1, sizeof(bpe_scratch));
        out->scratch_free = bpe_scratch_free;
        out->scratch_kind = out->scratch ? B4K_TOK_BPE : B4K_TOK_NONE;
        if (!out->scratch) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    bpe_scratch *s = out->scratch;
    if (len + 1 > s->ccap) {
        size_t c1 = s->ccap, c2 = s->ccap;
        if (B4K_GROW(s->cls, s->ccap, len + 1) || B4K_GROW(s->cp, c1, len + 1) ||
            B4K_GROW(s->bp, c2, len + 1))
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        if (c1 < s->ccap) s->ccap = c1;
        if (c2 < s->ccap) s->ccap = c2;
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        uint32_t cp;
        s->bp[n] = (uint32_t)i;
        i += (size_t)b4k_tok_u8(p + i, len - i, &cp);
        s->cp[n] = cp;
        unsigned f = b4k_unicode_flags(cp);
        s->cls[n] = (f & B4K_U_L) ? C_L : (f & B4K_U_N) ? C_N : (f & B4K_U_JSWS) ? C_WS : C_OTHER;
    }
    s->bp[n] = (uint32_t)len;
    for (size_t i = 0; i < n;) {
        size_t j = (size_t)is_contraction(s, i, n);
        if (j) {
            j += i;
        } else {
            size_t k = (s->cp[i] == ' ' && i + 1 < n && s->cls[i + 1] != C_WS) ? i + 1 : i;
            int t = s->cls[k];
            if (t != C_WS) {
                j = k + 1;
                while (j < n && s->cls[j] == t) j++;
            } else {
                j = i + 1;
                while (j < n && s->cls[j] == C_WS) j++;
                if (j < n && j - 1 > i) j--; /* \s+(?!\S): leave one before a non-space */
            }
        }
        int rc = emit_word(bpe, s, text, i, j, out);
        if (rc) return b4k_err_set(err, rc, NULL, 0, "out of memory");
        i = j;
    }
    if (enc && enc->max_len > 0 && out->n > (size_t)enc->max_len) out->n = (size_t)enc->max_len;
    out->n_a = out->n;
    return 0;
}

int b4k_bpe_decode(const b4k_bpe *bpe, const int32_t *ids, size_t n, int skip_special,
                   b4k_buf *out, b4k_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= bpe->n)
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "token id %ld out of range [0,%zu)",
                               (long)id, bpe->n);
        if (skip_special && id == bpe->eos) continue;
        if (b4k_buf_append(out, bpe->bytes + bpe->boff[id], bpe->blen[id]))
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    return 0;
}
