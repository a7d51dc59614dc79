/* BERT WordPiece tokenizer (see wordpiece.h). */
#include "tok/wordpiece.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "tok/tok_util.h"
#include "tok/tok_vocab.h"
#include "tok/unicode.h"

struct b4k_wordpiece {
    char *pool;           /* vocab text, tokens NUL-terminated in place */
    const char **piece;   /* (n) */
    uint32_t *plen;       /* (n) */
    size_t n;
    b4k_strmap full;      /* word-initial pieces */
    b4k_strmap cont;      /* "##x" pieces, keyed by "x" */
    size_t max_full, max_cont; /* longest key in bytes */
    int32_t *single;      /* (0x10000) id of the one-character BMP pieces, -1 */
    int32_t special[5];   /* unk cls sep pad mask */
    int lower, strip, cjk;
};

static const char *const special_names[5] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};

/* ---- loading ---------------------------------------------------------- */

static int is_trim_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A token "has case" when it contains a code point whose lowercase differs:
 * used to detect cased vocabularies.  Bracketed specials do not count. */
static int token_has_upper(const char *s, size_t n)
{
    if (n >= 2 && ((s[0] == '[' && s[n - 1] == ']') || (s[0] == '<' && s[n - 1] == '>')))
        return 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp, lc[2];
        i += (size_t)b4k_tok_u8((const unsigned char *)s + i, n - i, &cp);
        b4k_unicode_lower_char(cp, lc);
        if (lc[0] != cp) return 1;
    }
    return 0;
}

static int wp_build(b4k_wordpiece *wp, const char *name, b4k_err *err)
{
    char *p = wp->pool, *end = wp->pool + strlen(wp->pool);
    size_t cap = 0;
    long line = 0;
    int rc;
    /* the text was copied with a NUL at the end; embedded NULs are errors */
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line++;
        char *te = le;
        while (te > p && is_trim_space((unsigned char)te[-1])) te--;
        size_t len = (size_t)(te - p);
        if (len == 0)
            return b4k_err_set(err, B4K_EFORMAT, name, line, "empty token in vocabulary");
        size_t bad = b4k_utf8_check(p, len);
        if (bad != (size_t)-1)
            return b4k_err_set(err, B4K_EFORMAT, name, line,
                               "invalid UTF-8 in vocabulary token (byte %zu)", bad + 1);
        if (wp->n >= (size_t)INT32_MAX)
            return b4k_err_set(err, B4K_ERANGE, name, line, "vocabulary too large");
        if (B4K_GROW(wp->piece, cap, wp->n + 1))
            return b4k_err_set(err, B4K_ENOMEM, name, line, "out of memory");
        *te = 0;
        wp->piece[wp->n] = p;
        wp->n++;
        p = nl ? nl + 1 : end;
    }
    if (wp->n == 0)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "empty vocabulary");
    wp->plen = b4k_malloc_n(wp->n, sizeof *wp->plen);
    if (!wp->plen) return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    if (b4k_strmap_init(&wp->full, wp->n) || b4k_strmap_init(&wp->cont, wp->n / 4 + 16))
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    wp->single = b4k_malloc_n(0x10000, sizeof *wp->single);
    if (!wp->single) return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    memset(wp->single, 0xFF, 0x10000 * sizeof *wp->single);
    int has_upper = 0;
    for (size_t i = 0; i < wp->n; i++) {
        const char *s = wp->piece[i];
        size_t len = strlen(s);
        wp->plen[i] = (uint32_t)len;
        int32_t old = -1;
        if (len > 2 && s[0] == '#' && s[1] == '#') {
            rc = b4k_strmap_put(&wp->cont, s + 2, len - 2, (int32_t)i, &old);
            if (len - 2 > wp->max_cont) wp->max_cont = len - 2;
        } else {
            rc = b4k_strmap_put(&wp->full, s, len, (int32_t)i, &old);
            if (len > wp->max_full) wp->max_full = len;
        }
        if (rc < 0) return b4k_err_set(err, rc, name, 0, "out of memory");
        if (rc == 0 && !(len > 2 && s[0] == '#' && s[1] == '#')) {
            uint32_t cp;
            int l = b4k_tok_u8((const unsigned char *)s, len, &cp);
            if ((size_t)l == len && cp < 0x10000) wp->single[cp] = (int32_t)i;
        }
        if (rc == 1)
            return b4k_err_set(err, B4K_EFORMAT, name, (long)i + 1,
                               "duplicate token '%s' (first on line %ld)", s, (long)old + 1);
        if (!has_upper) has_upper = token_has_upper(s, len);
    }
    for (int k = 0; k < 5; k++)
        wp->special[k] = b4k_strmap_get(&wp->full, special_names[k], strlen(special_names[k]));
    if (wp->special[0] < 0)
        return b4k_err_set(err, B4K_EFORMAT, name, 0,
                           "vocabulary has no [UNK] token (truncated or not a BERT vocab.txt?)");
    if (wp->lower < 0) wp->lower = !has_upper;
    if (wp->strip < 0) wp->strip = wp->lower;
    return 0;
}

int b4k_wordpiece_load_mem(b4k_wordpiece **out, const char *text, size_t len, const char *name,
                           int lower, int strip_accents, int tokenize_cjk, b4k_err *err)
{
    *out = NULL;
    if (!name) name = "vocab";
    const char *nul = memchr(text, 0, len);
    if (nul) { /* file:line of the token holding it (lines end at '\n') */
        long line = 1;
        for (const char *q = text; q < nul; q++) line += *q == '\n';
        return b4k_err_set(err, B4K_EFORMAT, name, line, "NUL byte in vocabulary token");
    }
    b4k_wordpiece *wp = b4k_calloc(1, sizeof *wp);
    if (!wp || !(wp->pool = b4k_strndup(text, len))) {
        free(wp);
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    }
    wp->lower = lower;
    wp->strip = strip_accents;
    wp->cjk = tokenize_cjk;
    int rc = wp_build(wp, name, err);
    if (rc) {
        b4k_wordpiece_free(wp);
        return rc;
    }
    *out = wp;
    return 0;
}

int b4k_wordpiece_load(b4k_wordpiece **out, const char *path, int lower, int strip_accents,
                       int tokenize_cjk, b4k_err *err)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = b4k_tok_slurp(path, &text, &len, err);
    if (rc) return rc;
    rc = b4k_wordpiece_load_mem(out, text, len, path, lower, strip_accents, tokenize_cjk, err);
    free(text);
    return rc;
}

void b4k_wordpiece_free(b4k_wordpiece *wp)
{
    if (!wp) return;
    b4k_strmap_free(&wp->full);
    b4k_strmap_free(&wp->cont);
    free(wp->single);
    free(wp->piece);
    free(wp->plen);
    free(wp->pool);
    free(wp);
}

size_t b4k_wordpiece_size(const b4k_wordpiece *wp) { return wp->n; }
int b4k_wordpiece_lower(const b4k_wordpiece *wp) { return wp->lower; }

const char *b4k_wordpiece_piece(const b4k_wordpiece *wp, int32_t id, size_t *len)
{
    if (id < 0 || (size_t)id >= wp->n) return NULL;
    if (len) *len = wp->plen[id];
    return wp->piece[id];
}

int32_t b4k_wordpiece_id(const b4k_wordpiece *wp, const char *s, size_t len)
{
    if (len > 2 && s[0] == '#' && s[1] == '#') return b4k_strmap_get(&wp->cont, s + 2, len - 2);
    return b4k_strmap_get(&wp->full, s, len);
}

int32_t b4k_wordpiece_special(const b4k_wordpiece *wp, int which)
{
    return (which >= 0 && which < 5) ? wp->special[which] : -1;
}

/* ---- encoding --------------------------------------------------------- */

typedef struct wp_scratch {
    char *w;        /* normalised bytes of the current word */
    size_t wn, wcap;
    uint32_t *cb;   /* (nc+1) byte offset of each char in w */
    int32_t *os, *oe; /* (nc) original [start,end) of each char */
    size_t nc, ccap;
    uint32_t cp0;   /* first code point of the word */
} wp_scratch;

static void wp_scratch_free(void *p)
{
    wp_scratch *s = p;
    if (!s) return;
    free(s->w);
    free(s->cb);
    free(s->os);
    free(s->oe);
    free(s);
}

static int word_push(wp_scratch *s, uint32_t cp, int32_t ci)
{
    if (s->wn + 4 > s->wcap && B4K_GROW(s->w, s->wcap, s->wn + 4)) return B4K_ENOMEM;
    if (s->nc + 2 > s->ccap) {
        size_t c1 = s->ccap, c2 = s->ccap, c3 = s->ccap;
        if (B4K_GROW(s->cb, c1, s->nc + 2) || B4K_GROW(s->os, c2, s->nc + 2) ||
            B4K_GROW(s->oe, c3, s->nc + 2))
            return B4K_ENOMEM;
        s->ccap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    }
    if (!s->nc) s->cp0 = cp;
    s->cb[s->nc] = (uint32_t)s->wn;
    s->os[s->nc] = ci;
    s->oe[s->nc] = ci + 1;
    s->nc++;
    if (cp < 0x80) s->w[s->wn++] = (char)cp;
    else s->wn += (size_t)b4k_utf8_encode(cp, s->w + s->wn);
    return 0;
}

/* Greedy longest-match-first over the current word; appends to out. */
static int word_flush(const b4k_wordpiece *wp, wp_scratch *s, b4k_tok_out *out, int32_t seg)
{
    size_t nc = s->nc;
    if (!nc) return 0;
    s->cb[nc] = (uint32_t)s->wn; /* byte end of the word */
    s->nc = 0;
    s->wn = 0;
    if (b4k_tok_out_reserve(out, nc + 1)) return B4K_ENOMEM;
    const int32_t unk = wp->special[0];
    if (nc == 1 && s->cp0 < 0x10000) { /* most CJK: one direct load */
        int32_t id = wp->single[s->cp0];
        b4k_tok_out_push(out, id >= 0 ? id : unk, s->os[0], s->oe[0], seg);
        return 0;
    }
    if (nc > B4K_WORDPIECE_MAX_WORD_CHARS) {
        b4k_tok_out_push(out, unk, s->os[0], s->oe[nc - 1], seg);
        return 0;
    }
    const uint32_t *cb = s->cb;
    size_t t0 = out->n, start = 0;
    while (start < nc) {
        const b4k_strmap *m = start ? &wp->cont : &wp->full;
        size_t maxb = start ? wp->max_cont : wp->max_full;
        size_t end = nc;
        while (end > start && cb[end] - cb[start] > maxb) end--;
        int32_t id = -1;
        for (; end > start; end--) {
            id = b4k_strmap_get(m, s->w + cb[start], cb[end] - cb[start]);
            if (id >= 0) break;
        }
        if (id < 0) {
            out->n = t0;
            b4k_tok_out_push(out, unk, s->os[0], s->oe[nc - 1], seg);
            return 0;
        }
        b4k_tok_out_push(out, id, s->os[start], s->oe[end - 1], seg);
        start = end;
    }
    return 0;
}

/* Normalise one code point (NFD + drop Mn when stripping, lower-case when
 * lowering).  Returns the count written to o (room for 16). */
static int norm_char(const b4k_wordpiece *wp, uint32_t cp, unsigned f, uint32_t *o)
{
    uint32_t d[B4K_UNICODE_MAXDECOMP];
    int nd = 1, k = 0;
    d[0] = cp;
    if (wp->strip && (f & B4K_U_MAP)) nd = b4k_unicode_nfd_char(cp, d);
    for (int i = 0; i < nd; i++) {
        if (wp->strip && (nd == 1 ? (f & B4K_U_MN) : (b4k_unicode_flags(d[i]) & B4K_U_MN)))
            continue;
        if (wp->lower) k += b4k_unicode_lower_char(d[i], o + k);
        else o[k++] = d[i];
    }
    return k;
}

static int encode_text(const b4k_wordpiece *wp, wp_scratch *s, const char *text, size_t n,
                       int32_t seg, b4k_tok_out *out)
{
    const unsigned char *p = (const unsigned char *)text;
    const int norm = wp->lower || wp->strip;
    int32_t ci = 0;
    int rc;
    s->nc = s->wn = 0;
    for (size_t i = 0; i < n; ci++) {
        uint32_t cp;
        unsigned c = p[i];
        if (c < 0x80) {
            cp = c;
            i++;
        } else {
            i += (size_t)b4k_tok_u8(p + i, n - i, &cp);
        }
        unsigned f = b4k_unicode_flags(cp);
        if (f & B4K_U_REMOVE) continue;
        if (f & B4K_U_WS) {
            if ((rc = word_flush(wp, s, out, seg))) return rc;
            continue;
        }
        if (!norm || !(f & (B4K_U_MAP | B4K_U_MN))) {
            if (wp->cjk && cp >= 0x3400 && b4k_unicode_is_cjk(cp)) {
                if ((rc = word_flush(wp, s, out, seg)) || (rc = word_push(s, cp, ci)) ||
                    (rc = word_flush(wp, s, out, seg)))
                    return rc;
            } else if (f & B4K_U_PUNCT) {
                if ((rc = word_flush(wp, s, out, seg)) || (rc = word_push(s, cp, ci)) ||
                    (rc = word_flush(wp, s, out, seg)))
                    return rc;
            } else if ((rc = word_push(s, cp, ci))) {
                return rc;
            }
            continue;
        }
        uint32_t o[16];
        int k = norm_char(wp, cp, f, o);
        int cjk = wp->cjk && b4k_unicode_is_cjk(cp);
        if (cjk && (rc = word_flush(wp, s, out, seg))) return rc;
        for (int j = 0; j < k; j++) {
            unsigned g = b4k_unicode_flags(o[j]);
            if (g & B4K_U_WS) {
                rc = word_flush(wp, s, out, seg);
            } else if (g & B4K_U_PUNCT) {
                if (!(rc = word_flush(wp, s, out, seg)) && !(rc = word_push(s, o[j], ci)))
                    rc = word_flush(wp, s, out, seg);
            } else {
                rc = word_push(s, o[j], ci);
            }
            if (rc) return rc;
        }
        if (cjk && (rc = word_flush(wp, s, out, seg))) return rc;
    }
    return word_flush(wp, s, out, seg);
}

void b4k_tok_truncate_pair(size_t n1, size_t n2, size_t room, size_t *k1, size_t *k2)
{
    if (n1 + n2 <= room) {
        *k1 = n1;
        *k2 = n2;
        return;
    }
    int swap = n1 > n2;
    size_t a = swap ? n2 : n1, b;
    if (a > room) b = a;
    else b = (room - a) > a ? (room - a) : a;
    if (a + b > room) {
        a = room / 2;
        b = a + room % 2;
    }
    if (swap) {
        size_t t = a;
        a = b;
        b = t;
    }
    *k1 = a < n1 ? a : n1;
    *k2 = b < n2 ? b : n2;
}

static void move_block(b4k_tok_out *o, size_t dst, size_t src, size_t n)
{
    if (!n || dst == src) return;
    memmove(o->ids + dst, o->ids + src, n * sizeof *o->ids);
    memmove(o->segs + dst, o->segs + src, n * sizeof *o->segs);
    memmove(o->offsets + 2 * dst, o->offsets + 2 * src, 2 * n * sizeof *o->offsets);
}

static void set_tok(b4k_tok_out *o, size_t i, int32_t id, int32_t seg)
{
    o->ids[i] = id;
    o->segs[i] = seg;
    o->offsets[2 * i] = o->offsets[2 * i + 1] = 0;
}

int b4k_wordpiece_encode(const b4k_wordpiece *wp, const char *a, size_t a_len, const char *b,
                         size_t b_len, const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err)
{
    int rc;
    int special = enc ? enc->add_special : 1;
    long max_len = enc ? enc->max_len : 0;
    out->n = 0;
    out->n_a = 0;
    if (out->scratch_kind != B4K_TOK_WORDPIECE) {
        if (out->scratch_free) out->scratch_free(out->scratch);
        out->scratch = b4k_calloc(1, sizeof(wp_scratch));
        out->scratch_free = wp_scratch_free;
        out->scratch_kind = out->scratch ? B4K_TOK_WORDPIECE : B4K_TOK_NONE;
        if (!out->scratch) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    wp_scratch *s = out->scratch;
    if (special && (wp->special[1] < 0 || wp->special[2] < 0))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                           "vocabulary has no [CLS]/[SEP] token (use --no-special)");
    size_t added = special ? (b ? 3 : 2) : 0;
    if (max_len > 0 && (size_t)max_len < added)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "max length %ld leaves no room for the %zu special tokens", max_len,
                           added);
    /* layout: [CLS] a... [SEP] b... [SEP]; specials go in their slots first
     * so that only truncation of a pair ever moves tokens */
    size_t lead = special ? 1 : 0;
    if ((rc = b4k_tok_out_reserve(out, 3))) goto fail;
    out->n = lead;
    if ((rc = encode_text(wp, s, a, a_len, 0, out))) goto fail;
    size_t na = out->n - lead, nb = 0;
    if ((rc = b4k_tok_out_reserve(out, 3))) goto fail;
    out->n += lead; /* slot of the first [SEP] */
    size_t b0 = out->n;
    if (b) {
        if ((rc = encode_text(wp, s, b, b_len, 1, out))) goto fail;
        nb = out->n - b0;
    }
    size_t k1 = na, k2 = nb;
    if (max_len > 0 && na + nb + added > (size_t)max_len) {
        size_t room = (size_t)max_len - added;
        if (b) b4k_tok_truncate_pair(na, nb, room, &k1, &k2);
        else k1 = room;
    }
    if ((rc = b4k_tok_out_reserve(out, 3))) goto fail;
    size_t bdst = lead + k1 + lead;
    move_block(out, bdst, b0, k2);
    if (special) {
        set_tok(out, 0, wp->special[1], 0);
        set_tok(out, 1 + k1, wp->special[2], 0);
    }
    out->n = out->n_a = bdst;
    if (b) {
        out->n = bdst + k2;
        if (special) set_tok(out, out->n++, wp->special[2], 1);
    }
    return 0;
fail:
    out->n = 0;
    return b4k_err_set(err, rc, NULL, 0, "out of memory");
}

/* ---- decoding --------------------------------------------------------- */

/* HF's WordPiece decoder cleanup, applied to each token string. */
static void cleanup(b4k_buf *t)
{
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not",
                                       " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't",
                                     "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof *from; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]);
        char *p = t->data;
        while (p && (p = memmem(p, t->len - (size_t)(p - t->data), from[r], fl))) {
            /* tl <= fl, shrink in place */
            memcpy(p, to[r], tl);
            memmove(p + tl, p + fl, t->len - (size_t)(p - t->data) - fl);
            t->len -= fl - tl;
            p += tl;
        }
        if (t->data) t->data[t->len] = 0;
    }
}

int b4k_wordpiece_decode(const b4k_wordpiece *wp, const int32_t *ids, size_t n,
                         int skip_special, b4k_buf *out, b4k_err *err)
{
    b4k_buf t;
    b4k_buf_init(&t);
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= wp->n) {
            rc = b4k_err_set(err, B4K_ERANGE, NULL, 0, "token id %ld out of range [0,%zu)",
                             (long)id, wp->n);
            goto done;
        }
        if (skip_special) {
            int sp = 0;
            for (int j = 0; j < 5; j++) sp |= wp->special[j] == id;
            if (sp) continue;
        }
        const char *s = wp->piece[id];
        size_t len = wp->plen[id];
        b4k_buf_reset(&t);
        if (k > 0) {
            if (len >= 2 && s[0] == '#' && s[1] == '#') {
                s += 2;
                len -= 2;
            } else if (b4k_buf_putc(&t, ' ')) {
                rc = B4K_ENOMEM;
            }
        }
        if (rc || b4k_buf_append(&t, s, len)) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        cleanup(&t);
        if (b4k_buf_append(out, t.data, t.len)) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        k++;
    }
done:
    b4k_buf_free(&t);
    return rc;
}
