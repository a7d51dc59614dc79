/* SentencePiece normalisation: the precompiled charsmap (a darts-clone
 * double array whose values index a table of NUL-terminated replacement
 * strings), applied by longest match, then the whitespace rules of the
 * normalizer spec (drop leading, trailing and repeated spaces, the dummy
 * prefix, space -> U+2581). */
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "tok/spm_impl.h"

/* darts-clone unit layout */
static inline uint32_t u_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t u_value(uint32_t u) { return u & 0x7fffffffu; }
static inline uint32_t u_label(uint32_t u) { return u & ((1u << 31) | 0xffu); }
static inline uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

int b4k_spm_charsmap_init(b4k_spm_charsmap *cm, const unsigned char *p, size_t n,
                          const char **why)
{
    uint32_t trie_size;
    memset(cm, 0, sizeof *cm);
    if (n <= 4) {
        *why = "precompiled charsmap is truncated";
        return -1;
    }
    memcpy(&trie_size, p, 4);
    if (trie_size > n - 4) {
        *why = "precompiled charsmap: trie size exceeds the blob";
        return -1;
    }
    if (trie_size % 4 || trie_size == 0) {
        *why = "precompiled charsmap: trie size is not a positive multiple of 4";
        return -1;
    }
    /* the units may sit at any offset in the file: read with memcpy */
    cm->units = (const uint32_t *)(const void *)(p + 4);
    cm->n_units = trie_size / 4;
    cm->norm = (const char *)p + 4 + trie_size;
    cm->norm_len = n - 4 - trie_size;
    const char *last = cm->norm_len ? memrchr(cm->norm, 0, cm->norm_len) : NULL;
    if (!last) {
        *why = "precompiled charsmap: replacement table has no NUL";
        return -1;
    }
    cm->last_nul = (size_t)(last - cm->norm);
    return 0;
}

static inline uint32_t unit_at(const b4k_spm_charsmap *cm, size_t i)
{
    uint32_t u;
    memcpy(&u, cm->units + i, 4);
    return u;
}

/* Longest charsmap match at s[0..n): returns its length (0 if none) and the
 * replacement through *rep and *rep_len.  A bad offset counts as no match. */
static size_t cmap_match(const b4k_spm_charsmap *cm, const unsigned char *s, size_t n,
                         const char **rep, size_t *rep_len)
{
    size_t best = 0;
    uint32_t bestv = 0;
    size_t pos = 0;
    uint32_t u = unit_at(cm, 0);
    pos ^= u_offset(u);
    for (size_t i = 0; i < n; i++) {
        pos ^= s[i];
        if (pos >= cm->n_units) break;
        u = unit_at(cm, pos);
        if (u_label(u) != s[i]) break;
        pos ^= u_offset(u);
        if (pos >= cm->n_units) break;
        if (u_has_leaf(u)) {
            best = i + 1;
            bestv = u_value(unit_at(cm, pos));
        }
    }
    if (!best || bestv > cm->last_nul) return 0;
    *rep = cm->norm + bestv;
    *rep_len = strlen(*rep);
    return best;
}

/* Longest user-defined piece at s (0 if none). */
static size_t user_match(const b4k_spm *m, const char *s, size_t n)
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

/* The reference's NormalizePrefix: (replacement, consumed bytes). */
static size_t norm_prefix(const b4k_spm *m, const char *s, size_t n, const char **rep,
                          size_t *rep_len)
{
    if (m->has_user_defined) {
        size_t k = user_match(m, s, n);
        if (k) {
            *rep = s;
            *rep_len = k;
            return k;
        }
    }
    const b4k_spm_charsmap *cm = &m->norm.cmap;
    if (cm->n_units) {
        size_t k = cmap_match(cm, (const unsigned char *)s, n, rep, rep_len);
        if (k) return k;
    }
    uint32_t cp;
    int l = b4k_utf8_decode((const unsigned char *)s, n, &cp);
    if (l < 0) {
        *rep = "\xEF\xBF\xBD";
        *rep_len = 3;
        return 1;
    }
    *rep = s;
    *rep_len = (size_t)l;
    return (size_t)l;
}

static int norm_reserve(b4k_spm_state *st, size_t extra)
{
    size_t need = st->norm_len + extra + 1;
    if (need > st->norm_cap && B4K_GROW(st->norm, st->norm_cap, need)) return -1;
    if (need > st->n2o_cap && B4K_GROW(st->n2o, st->n2o_cap, need)) return -1;
    return 0;
}

#define WS "\xE2\x96\x81"

int b4k_spm_state_norm(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                       b4k_err *err)
{
    const b4k_spm_normspec *ns = &m->norm;
    size_t consumed = 0;
    const char *rep;
    size_t rl;
    st->norm_len = 0;
    if (n >= 0xffffffffu / 4)
        return b4k_err_set(err, B4K_ERANGE, NULL, 0, "text too long for SentencePiece (%zu bytes)", n);
    if (norm_reserve(st, n + 8)) goto oom;
    if (ns->remove_extra_ws) {
        while (consumed < n) {
            size_t k = norm_prefix(m, text + consumed, n - consumed, &rep, &rl);
            if (!(rl == 1 && rep[0] == ' ')) break;
            consumed += k;
        }
    }
    if (consumed == n) {
        st->n2o[0] = (uint32_t)consumed;
        return 0;
    }
    const char *ws = ns->escape_ws ? WS : " ";
    size_t wsl = ns->escape_ws ? 3 : 1;
#define ADD_WS()                                                  \
    do {                                                          \
        if (norm_reserve(st, wsl)) goto oom;                      \
        memcpy(st->norm + st->norm_len, ws, wsl);                 \
        for (size_t q_ = 0; q_ < wsl; q_++) st->n2o[st->norm_len + q_] = (uint32_t)consumed; \
        st->norm_len += wsl;                                      \
    } while (0)
    if (!m->treat_ws_suffix && ns->add_dummy_prefix) ADD_WS();
    int prev_space = ns->remove_extra_ws;
    while (consumed < n) {
        size_t k = norm_prefix(m, text + consumed, n - consumed, &rep, &rl);
        if (prev_space)
            while (rl && rep[0] == ' ') rep++, rl--;
        if (rl) {
            if (norm_reserve(st, rl * 3)) goto oom;
            char *o = st->norm + st->norm_len;
            uint32_t *q = st->n2o + st->norm_len;
            for (size_t i = 0; i < rl; i++) {
                if (ns->escape_ws && rep[i] == ' ') {
                    memcpy(o, WS, 3);
                    o += 3;
                    q[0] = q[1] = q[2] = (uint32_t)consumed;
                    q += 3;
                } else {
                    *o++ = rep[i];
                    *q++ = (uint32_t)consumed;
                }
            }
            st->norm_len = (size_t)(o - st->norm);
            prev_space = rep[rl - 1] == ' ';
        }
        consumed += k;
        if (!ns->remove_extra_ws) prev_space = 0;
    }
    if (ns->remove_extra_ws) {
        while (st->norm_len >= wsl && !memcmp(st->norm + st->norm_len - wsl, ws, wsl)) {
            st->norm_len -= wsl;
            consumed = st->n2o[st->norm_len];
        }
    }
    if (m->treat_ws_suffix && ns->add_dummy_prefix) ADD_WS();
#undef ADD_WS
    st->n2o[st->norm_len] = (uint32_t)consumed;
    st->norm[st->norm_len] = 0;
    return 0;
oom:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

int b4k_spm_normalize(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                      const char **norm, size_t *norm_len, const uint32_t **norm_to_orig,
                      b4k_err *err)
{
    int rc = b4k_spm_state_norm(m, st, text, n, err);
    if (rc) return rc;
    *norm = st->norm;
    *norm_len = st->norm_len;
    if (norm_to_orig) *norm_to_orig = st->n2o;
    return 0;
}
