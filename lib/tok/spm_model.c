/* SentencePiece .model reader: a strict protobuf wire-format reader (no
 * protobuf library), validation, the piece hash and the piece trie. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/stream.h"
#include "tok/spm_impl.h"

/* ---- protobuf wire format ---------------------------------------------- */

typedef struct pb {
    const unsigned char *p, *end;
} pb;

typedef struct pbfield {
    uint32_t num;
    int wire;
    uint64_t v;                  /* varint / fixed value */
    const unsigned char *data;   /* length-delimited */
    size_t len;
} pbfield;

static int pb_varint(pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        unsigned char c = *r->p++;
        if (shift == 63 && c > 1) return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Next field: 1, 0 at the end, -1 malformed (message in why). */
static int pb_next(pb *r, pbfield *f, const char **why)
{
    if (r->p >= r->end) return 0;
    uint64_t key;
    if (pb_varint(r, &key)) {
        *why = "truncated field key";
        return -1;
    }
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    if (f->num == 0 || key >> 32) {
        *why = "invalid field number";
        return -1;
    }
    switch (f->wire) {
    case 0:
        if (pb_varint(r, &f->v)) {
            *why = "truncated varint";
            return -1;
        }
        return 1;
    case 1:
    case 5: {
        size_t w = f->wire == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < w) {
            *why = "truncated fixed-width field";
            return -1;
        }
        f->v = 0;
        memcpy(&f->v, r->p, w); /* little-endian host */
        r->p += w;
        return 1;
    }
    case 2: {
        uint64_t len;
        if (pb_varint(r, &len)) {
            *why = "truncated length";
            return -1;
        }
        if (len > (uint64_t)(r->end - r->p)) {
            *why = "length runs past the end of the data (truncated file?)";
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    }
    default:
        *why = "unsupported wire type (groups or a corrupt file)";
        return -1;
    }
}

static int want(const pbfield *f, int wire, const char **why)
{
    if (f->wire != wire) {
        *why = "field has the wrong wire type";
        return -1;
    }
    return 0;
}

/* ---- model -------------------------------------------------------------- */

#define FAIL(...) do { rc = b4k_err_set(err, B4K_EFORMAT, m->name, 0, __VA_ARGS__); goto fail; } while (0)

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

int32_t b4k_spm_piece_id(const b4k_spm *m, const char *piece, size_t len)
{
    if (!m->hcap) return -1;
    size_t mask = m->hcap - 1, h = hash_bytes(piece, len) & mask;
    for (;;) {
        int32_t id = m->hash[h];
        if (id < 0) return -1;
        if (m->piece_len[id] == len && !memcmp(m->piece[id], piece, len)) return id;
        h = (h + 1) & mask;
    }
}

static int trie_add_edge(b4k_spm_trie *t, uint32_t node, unsigned char c, uint32_t child)
{
    if (node == 0) {
        t->root[c] = child;
        return 0;
    }
    uint32_t key = (node << 8) | c;
    size_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 20 & t->mask;
    while (t->slots[h]) h = (h + 1) & t->mask;
    t->slots[h] = (uint64_t)key << 32 | child;
    return 0;
}

static int build_trie(b4k_spm *m, b4k_err *err)
{
    b4k_spm_trie *t = &m->trie;
    size_t total = 1;
    for (int32_t i = 0; i < m->n; i++) {
        int ty = m->type[i];
        if (ty == B4K_SPM_NORMAL || ty == B4K_SPM_USER_DEFINED || ty == B4K_SPM_UNUSED)
            total += m->piece_len[i];
    }
    if (total >= (1u << 24))
        return b4k_err_set(err, B4K_ERANGE, m->name, 0, "pieces too long in total (%zu bytes)", total);
    size_t cap = 1024;
    while (cap < total * 2) cap <<= 1;
    /* zeroed by writing (memset), not calloc: the probes read slots before
     * writing them, and on calloc's fresh pages a read maps the shared zero
     * page, so each first write would be a second fault with a TLB flush */
    t->slots = b4k_malloc_n(cap, sizeof *t->slots);
    t->val = b4k_malloc_n(total, sizeof *t->val);
    if (!t->slots || !t->val) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    memset(t->slots, 0, cap * sizeof *t->slots);
    t->cap = cap;
    t->mask = cap - 1;
    t->n_nodes = 1;
    t->val[0] = -1;
    for (int32_t i = 0; i < m->n; i++) {
        int ty = m->type[i];
        if (!(ty == B4K_SPM_NORMAL || ty == B4K_SPM_USER_DEFINED || ty == B4K_SPM_UNUSED)) continue;
        uint32_t node = 0;
        const unsigned char *p = (const unsigned char *)m->piece[i];
        for (uint32_t k = 0; k < m->piece_len[i]; k++) {
            uint32_t nx = b4k_spm_trie_next(t, node, p[k]);
            if (!nx) {
                nx = t->n_nodes++;
                t->val[nx] = -1;
                trie_add_edge(t, node, p[k], nx);
            }
            node = nx;
        }
        t->val[node] = i;
    }
    return 0;
}

static int build_cptrie(b4k_spm *m, b4k_err *err)
{
    b4k_spm_cptrie *t = &m->cptrie;
    size_t total = 1;
    for (int32_t i = 0; i < m->n; i++) {
        int ty = m->type[i];
        if (!(ty == B4K_SPM_NORMAL || ty == B4K_SPM_USER_DEFINED || ty == B4K_SPM_UNUSED)) continue;
        if (b4k_utf8_check(m->piece[i], m->piece_len[i]) != (size_t)-1) return 0; /* byte trie only */
        for (uint32_t k = 0; k < m->piece_len[i]; k++)
            total += ((unsigned char)m->piece[i][k] & 0xC0) != 0x80;
    }
    if (total >= (1u << 21) - 2) return 0; /* byte trie only */
    size_t cap = 1024;
    while (cap < total * 2) cap <<= 1;
    t->root = b4k_malloc_n(0x10000, sizeof *t->root); /* memset, as build_trie's */
    t->val = b4k_malloc_n(total, sizeof *t->val);
    t->slots = b4k_malloc_n(cap, sizeof *t->slots);
    if (!t->root || !t->val || !t->slots) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    memset(t->root, 0, 0x10000 * sizeof *t->root);
    memset(t->slots, 0, cap * sizeof *t->slots);
    t->cap = cap;
    t->mask = cap - 1;
    t->n_nodes = 1;
    t->val[0] = -1;
    for (int32_t i = 0; i < m->n; i++) {
        int ty = m->type[i];
        if (!(ty == B4K_SPM_NORMAL || ty == B4K_SPM_USER_DEFINED || ty == B4K_SPM_UNUSED)) continue;
        const unsigned char *p = (const unsigned char *)m->piece[i];
        size_t n = m->piece_len[i];
        uint32_t node = 0;
        for (size_t k = 0; k < n;) {
            uint32_t cp;
            k += (size_t)b4k_utf8_decode(p + k, n - k, &cp);
            uint32_t c = b4k_spm_cp_next(t, node, cp);
            if (!c) {
                c = t->n_nodes++;
                t->val[c] = -1;
                if (node == 0 && cp < 0x10000) {
                    t->root[cp] = c;
                } else {
                    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
                    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 24) & t->mask;
                    while (t->slots[h]) h = (h + 1) & t->mask;
                    t->slots[h] = key | ((uint64_t)c << 42);
                }
            }
            node = c;
        }
        t->val[node] = i;
    }
    t->ok = 1;
    return 0;
}

static int parse_byte_piece(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    const char *a = strchr(hex, s[3]), *b = strchr(hex, s[4]);
    if (!a || !b || !s[3] || !s[4]) return -1;
    return (int)((a - hex) * 16 + (b - hex));
}

int b4k_spm_charsmap_init(b4k_spm_charsmap *cm, const unsigned char *p, size_t n,
                          const char **why);

static int parse_normspec(b4k_spm_normspec *ns, const unsigned char *p, size_t n,
                          const char **why)
{
    pb r = {p, p + n};
    pbfield f;
    int k;
    ns->present = 1;
    ns->name = "";
    ns->name_len = 0;
    ns->add_dummy_prefix = ns->remove_extra_ws = ns->escape_ws = 1;
    while ((k = pb_next(&r, &f, why)) == 1) {
        switch (f.num) {
        case 1:
            if (want(&f, 2, why)) return -1;
            ns->name = (const char *)f.data;
            ns->name_len = f.len;
            break;
        case 2:
            if (want(&f, 2, why)) return -1;
            if (f.len && b4k_spm_charsmap_init(&ns->cmap, f.data, f.len, why)) return -1;
            break;
        case 3:
        case 4:
        case 5:
            if (want(&f, 0, why)) return -1;
            if (f.num == 3) ns->add_dummy_prefix = f.v != 0;
            if (f.num == 4) ns->remove_extra_ws = f.v != 0;
            if (f.num == 5) ns->escape_ws = f.v != 0;
            break;
        default:
            break;
        }
    }
    return k;
}

static int parse_model(b4k_spm *m, b4k_err *err)
{
    int rc = 0;
    const char *why = NULL;
    pb r = {m->blob, m->blob + m->blob_len};
    pbfield f;
    int k;
    int32_t cap = 0;
    /* the proto2 defaults of trainer_spec unk_id, bos_id, eos_id, pad_id */
    m->spec_id[0] = 0;
    m->spec_id[1] = 1;
    m->spec_id[2] = 2;
    m->spec_id[3] = -1;
    m->norm.name = "";
    m->model_type = B4K_SPM_UNIGRAM;
    m->unk_surface = " \xE2\x81\x87 ";
    m->unk_surface_len = 5;
    m->unk_piece = "<unk>"; m->unk_piece_len = 5;
    m->bos_piece = "<s>"; m->bos_piece_len = 3;
    m->eos_piece = "</s>"; m->eos_piece_len = 4;
    m->pad_piece = "<pad>"; m->pad_piece_len = 5;
    m->norm.add_dummy_prefix = m->norm.remove_extra_ws = m->norm.escape_ws = 1;
    if (m->blob_len == 0) FAIL("empty model file");
    while ((k = pb_next(&r, &f, &why)) == 1) {
        if (f.num == 1) { /* SentencePiece */
            if (want(&f, 2, &why)) FAIL("piece %d: %s", m->n, why);
            if (m->n == cap) {
                int32_t nc = cap ? cap * 2 : 1024;
                if (nc > (1 << 26)) FAIL("too many pieces");
                const char **pp = b4k_realloc_n(m->piece, nc, sizeof *pp);
                if (pp) m->piece = pp;
                uint32_t *pl = b4k_realloc_n(m->piece_len, nc, sizeof *pl);
                if (pl) m->piece_len = pl;
                float *sc = b4k_realloc_n(m->score, nc, sizeof *sc);
                if (sc) m->score = sc;
                uint8_t *ty = b4k_realloc_n(m->type, nc, sizeof *ty);
                if (ty) m->type = ty;
                if (!pp || !pl || !sc || !ty) {
                    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                    goto fail;
                }
                cap = nc;
            }
            pb q = {f.data, f.data + f.len};
            pbfield g;
            int j, has_piece = 0;
            int32_t i = m->n;
            m->piece[i] = "";
            m->piece_len[i] = 0;
            m->score[i] = 0;
            m->type[i] = B4K_SPM_NORMAL;
            while ((j = pb_next(&q, &g, &why)) == 1) {
                if (g.num == 1) {
                    if (want(&g, 2, &why)) FAIL("piece %d: %s", i, why);
                    m->piece[i] = (const char *)g.data;
                    m->piece_len[i] = (uint32_t)g.len;
                    has_piece = 1;
                } else if (g.num == 2) {
                    if (want(&g, 5, &why)) FAIL("piece %d: score: %s", i, why);
                    uint32_t u = (uint32_t)g.v;
                    memcpy(&m->score[i], &u, 4);
                } else if (g.num == 3) {
                    if (want(&g, 0, &why)) FAIL("piece %d: type: %s", i, why);
                    if (g.v < 1 || g.v > 6) FAIL("piece %d: unknown type %llu", i, (unsigned long long)g.v);
                    m->type[i] = (uint8_t)g.v;
                }
            }
            if (j < 0) FAIL("piece %d: %s", i, why);
            if (!has_piece || m->piece_len[i] == 0) FAIL("piece %d is empty", i);
            m->n++;
        } else if (f.num == 2) { /* TrainerSpec */
            if (want(&f, 2, &why)) FAIL("trainer_spec: %s", why);
            pb q = {f.data, f.data + f.len};
            pbfield g;
            int j;
            while ((j = pb_next(&q, &g, &why)) == 1) {
                switch (g.num) {
                case 3:
                    if (want(&g, 0, &why)) FAIL("trainer_spec.model_type: %s", why);
                    if (g.v < 1 || g.v > 4) FAIL("unknown model_type %llu", (unsigned long long)g.v);
                    m->model_type = (int)g.v;
                    break;
                case 24:
                case 35:
                    if (want(&g, 0, &why)) FAIL("trainer_spec field %u: %s", g.num, why);
                    if (g.num == 24) m->treat_ws_suffix = g.v != 0;
                    else m->byte_fallback = g.v != 0;
                    break;
                case 40:
                case 41:
                case 42:
                case 43: { /* int32: a negative id is a 10-byte varint */
                    static const char *const nm[] = {"unk_id", "bos_id", "eos_id", "pad_id"};
                    if (want(&g, 0, &why)) FAIL("trainer_spec.%s: %s", nm[g.num - 40], why);
                    int64_t v = (int64_t)g.v;
                    if (v < INT32_MIN || v > INT32_MAX)
                        FAIL("trainer_spec.%s %lld is out of range", nm[g.num - 40], (long long)v);
                    m->spec_id[g.num - 40] = (int32_t)v;
                    break;
                }
                case 44:
                case 45:
                case 46:
                case 47:
                case 48: {
                    if (want(&g, 2, &why)) FAIL("trainer_spec field %u: %s", g.num, why);
                    const char *s = (const char *)g.data;
                    if (g.num == 44) { m->unk_surface = s; m->unk_surface_len = g.len; }
                    if (g.num == 45) { m->unk_piece = s; m->unk_piece_len = g.len; }
                    if (g.num == 46) { m->bos_piece = s; m->bos_piece_len = g.len; }
                    if (g.num == 47) { m->eos_piece = s; m->eos_piece_len = g.len; }
                    if (g.num == 48) { m->pad_piece = s; m->pad_piece_len = g.len; }
                    break;
                }
                default:
                    break;
                }
            }
            if (j < 0) FAIL("trainer_spec: %s", why);
        } else if (f.num == 3) { /* NormalizerSpec */
            if (want(&f, 2, &why)) FAIL("normalizer_spec: %s", why);
            memset(&m->norm, 0, sizeof m->norm);
            if (parse_normspec(&m->norm, f.data, f.len, &why) < 0) FAIL("normalizer_spec: %s", why);
        } else if (f.num == 5) { /* DenormalizerSpec: only checked */
            b4k_spm_normspec dn;
            memset(&dn, 0, sizeof dn);
            if (want(&f, 2, &why) || parse_normspec(&dn, f.data, f.len, &why) < 0)
                FAIL("denormalizer_spec: %s", why);
            if (dn.cmap.n_units) {
                rc = b4k_err_set(err, B4K_EUNSUP, m->name, 0,
                                 "models with a denormalizer are not supported");
                goto fail;
            }
        }
    }
    if (k < 0) FAIL("%s", why);
    if (m->n == 0) FAIL("no pieces (not a SentencePiece model?)");
    return 0;
fail:
    return rc;
}

static int index_model(b4k_spm *m, b4k_err *err)
{
    int rc = 0;
    size_t hcap = 64;
    while (hcap < (size_t)m->n * 2) hcap <<= 1;
    m->hash = b4k_malloc_n(hcap, sizeof *m->hash);
    if (!m->hash) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    memset(m->hash, 0xff, hcap * sizeof *m->hash);
    m->hcap = hcap;
    m->unk_id = -1;
    for (int i = 0; i < 256; i++) m->bytes[i] = -1;
    m->min_score = FLT_MAX;
    m->max_score = FLT_MIN;
    for (int32_t i = 0; i < m->n; i++) {
        if (b4k_spm_piece_id(m, m->piece[i], m->piece_len[i]) >= 0)
            FAIL("piece %d (\"%.*s\") is already defined", i, (int)(m->piece_len[i] > 64 ? 64 : m->piece_len[i]), m->piece[i]);
        size_t h = hash_bytes(m->piece[i], m->piece_len[i]) & (hcap - 1);
        while (m->hash[h] >= 0) h = (h + 1) & (hcap - 1);
        m->hash[h] = i;
        switch (m->type[i]) {
        case B4K_SPM_UNKNOWN:
            if (m->unk_id >= 0) FAIL("piece %d: unk is already defined", i);
            m->unk_id = i;
            break;
        case B4K_SPM_BYTE: {
            if (!m->byte_fallback) FAIL("byte piece %d is found although byte_fallback is false", i);
            int b = parse_byte_piece(m->piece[i], m->piece_len[i]);
            if (b < 0) FAIL("piece %d: invalid byte piece", i);
            m->bytes[b] = i;
            break;
        }
        case B4K_SPM_USER_DEFINED:
            m->has_user_defined = 1;
            break;
        case B4K_SPM_NORMAL:
            if (m->score[i] < m->min_score) m->min_score = m->score[i];
            if (m->score[i] > m->max_score) m->max_score = m->score[i];
            break;
        default:
            break;
        }
    }
    if (m->unk_id < 0) FAIL("unk is not defined");
    /* the trainer puts the UNKNOWN piece at trainer_spec.unk_id and the
     * other special pieces at theirs (TrainerInterface::InitMetaPieces); a
     * disagreement means a damaged or hand-edited model */
    if (m->spec_id[0] != m->unk_id)
        FAIL("trainer_spec.unk_id is %d but the unknown piece is %d", m->spec_id[0], m->unk_id);
    {
        static const char *const nm[] = {"unk_id", "bos_id", "eos_id", "pad_id"};
        for (int k = 1; k < 4; k++)
            if (m->spec_id[k] >= m->n)
                FAIL("trainer_spec.%s %d is past the last piece (%d pieces)", nm[k],
                     m->spec_id[k], m->n);
    }
    if (m->min_score == FLT_MAX) m->min_score = 0;
    if (m->max_score == FLT_MIN) m->max_score = 0;
    if (m->byte_fallback)
        for (int b = 0; b < 256; b++)
            if (m->bytes[b] < 0) FAIL("byte_fallback is on but byte piece <0x%02X> is missing", b);
    if ((rc = build_trie(m, err))) return rc;
    return build_cptrie(m, err);
fail:
    return rc;
}

int b4k_spm_load_mem(b4k_spm **out, const void *data, size_t n, const char *name, b4k_err *err)
{
    int rc;
    *out = NULL;
    b4k_spm *m = b4k_calloc(1, sizeof *m);
    if (!m) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    snprintf(m->name, sizeof m->name, "%s", name ? name : "");
    m->blob = b4k_malloc(n ? n : 1);
    if (!m->blob) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    if (n) memcpy(m->blob, data, n);
    m->blob_len = n;
    if ((rc = parse_model(m, err)) || (rc = index_model(m, err))) goto fail;
    *out = m;
    return 0;
fail:
    b4k_spm_free(m);
    return rc;
}

int b4k_spm_load(b4k_spm **out, const char *path, b4k_err *err)
{
    b4k_stream *s = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;
    *out = NULL;
    if ((rc = b4k_stream_open(&s, path, err))) return rc;
    for (;;) {
        if (len + 65536 > cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            if (nc > ((size_t)1 << 31)) {
                rc = b4k_err_set(err, B4K_ERANGE, path, 0, "model file too large");
                goto done;
            }
            char *nb = realloc(buf, nc);
            if (!nb) {
                rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                goto done;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = 0, room = cap - len;
        if ((rc = b4k_stream_read(s, buf + len, room, &got, err))) goto done;
        len += got;
        if (got < room) break;
    }
    rc = b4k_spm_load_mem(out, buf, len, path, err);
done:
    free(buf);
    b4k_stream_close(s);
    return rc;
}

void b4k_spm_free(b4k_spm *m)
{
    if (!m) return;
    b4k_free(m->blob);
    b4k_free(m->piece);
    b4k_free(m->piece_len);
    b4k_free(m->score);
    b4k_free(m->type);
    b4k_free(m->hash);
    b4k_free(m->trie.slots);
    b4k_free(m->trie.val);
    b4k_free(m->cptrie.root);
    b4k_free(m->cptrie.val);
    b4k_free(m->cptrie.slots);
    b4k_free(m);
}

size_t b4k_spm_size(const b4k_spm *m) { return (size_t)m->n; }
int b4k_spm_model_type(const b4k_spm *m) { return m->model_type; }
int b4k_spm_byte_fallback(const b4k_spm *m) { return m->byte_fallback; }

const char *b4k_spm_model_type_name(int type)
{
    switch (type) {
    case B4K_SPM_UNIGRAM: return "unigram";
    case B4K_SPM_BPE: return "bpe";
    case B4K_SPM_WORD: return "word";
    case B4K_SPM_CHAR: return "char";
    default: return "?";
    }
}

const char *b4k_spm_piece(const b4k_spm *m, int32_t id, size_t *len)
{
    if (id < 0 || id >= m->n) return NULL;
    if (len) *len = m->piece_len[id];
    return m->piece[id];
}

float b4k_spm_score(const b4k_spm *m, int32_t id)
{
    return id >= 0 && id < m->n ? m->score[id] : 0.0f;
}

int b4k_spm_type(const b4k_spm *m, int32_t id)
{
    return id >= 0 && id < m->n ? m->type[id] : 0;
}

static int32_t special_id(const b4k_spm *m, const char *p, size_t n, int type)
{
    int32_t id = b4k_spm_piece_id(m, p, n);
    if (id < 0) id = m->unk_id;
    return m->type[id] == type ? id : -1;
}

int32_t b4k_spm_unk_id(const b4k_spm *m) { return special_id(m, m->unk_piece, m->unk_piece_len, B4K_SPM_UNKNOWN); }
int32_t b4k_spm_bos_id(const b4k_spm *m) { return special_id(m, m->bos_piece, m->bos_piece_len, B4K_SPM_CONTROL); }
int32_t b4k_spm_eos_id(const b4k_spm *m) { return special_id(m, m->eos_piece, m->eos_piece_len, B4K_SPM_CONTROL); }
int32_t b4k_spm_pad_id(const b4k_spm *m) { return special_id(m, m->pad_piece, m->pad_piece_len, B4K_SPM_CONTROL); }

int32_t b4k_spm_spec_id(const b4k_spm *m, int which)
{
    return which >= 0 && which < 4 && m->spec_id[which] >= 0 ? m->spec_id[which] : -1;
}

const char *b4k_spm_normalizer_name(const b4k_spm *m, size_t *len)
{
    if (len) *len = m->norm.name_len;
    return m->norm.name ? m->norm.name : "";
}
