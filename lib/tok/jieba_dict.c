/* jieba data: building the trie in memory (from jieba's own files, and for
 * user dictionaries), and reading jieba's text files (dict.txt and
 * finalseg/prob_*.py).  The b4k data file is in jieba_data.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/stream.h"
#include "tok/jieba_impl.h"

/* an owned table is grown before its load passes 60% */
#define LOAD_NUM 3
#define LOAD_DEN 5

int b4k_jieba_decode_slow(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int l = b4k_utf8_decode(s, n, cp);
    if (l < 0) {
        *cp = 0xFFFD;
        return 1;
    }
    return l;
}

static int oom(b4k_err *err) { return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory"); }

b4k_jieba *b4k_jieba_new_empty(const char *name)
{
    b4k_jieba *j = b4k_calloc(1, sizeof *j);
    if (!j) return NULL;
    snprintf(j->name, sizeof j->name, "%s", name ? name : "");
    j->owned = 1;
    j->n_root = 0x10000;
    j->root = b4k_calloc(j->n_root, sizeof *j->root);
    j->n_slots = 1 << 12;
    j->slot = b4k_calloc(j->n_slots, sizeof *j->slot);
    j->freq_cap = 64;
    j->ftab = b4k_calloc(j->freq_cap, sizeof *j->ftab);
    j->lft = b4k_calloc(j->freq_cap, sizeof *j->lft);
    j->fmap_cap = 128;
    j->fmap = b4k_calloc(j->fmap_cap, sizeof *j->fmap);
    for (int a = 0; a < 4; a++) {
        j->start[a] = B4K_JIEBA_MIN_FLOAT;
        for (int b = 0; b < 4; b++) j->trans[a][b] = B4K_JIEBA_MIN_FLOAT;
    }
    if (!j->root || !j->slot || !j->ftab || !j->lft || !j->fmap) {
        b4k_jieba_free(j);
        return NULL;
    }
    return j;
}

void b4k_jieba_free(b4k_jieba *j)
{
    if (!j) return;
    if (j->owned) {
        b4k_free(j->root);
        b4k_free(j->slot);
        b4k_free(j->ftab);
        b4k_free(j->lft);
        b4k_free(j->ev);
    }
    b4k_free(j->fmap);
    if (j->map) munmap(j->map, j->map_len);
    b4k_free(j->image);
    b4k_free(j);
}

/* ---- relayout --------------------------------------------------------------- */

typedef struct edge {
    uint64_t key; /* parent << 21 | cp, the old numbering */
    uint32_t slot;
} edge;

static int cmp_edge(const void *a, const void *b)
{
    uint64_t x = ((const edge *)a)->key, y = ((const edge *)b)->key;
    return (x > y) - (x < y);
}

long b4k_jieba_relayout(const uint64_t *src, size_t n_src, uint64_t *dst, size_t n_dst,
                        uint32_t *root, uint32_t n_root, const uint32_t *fmap)
{
    long rc = -1;
    size_t ne = 0;
    for (size_t i = 0; i < n_src; i++) ne += src[i] != 0;
    edge *e = b4k_malloc_n(ne ? ne : 1, sizeof *e);
    uint32_t *first = b4k_calloc(n_src + 2, sizeof *first); /* edges of old node p: [first[p], first[p+1]) */
    uint32_t *q = b4k_malloc_n(n_src + 1, sizeof *q);       /* queue of old nodes */
    uint32_t *nid = b4k_malloc_n(n_src + 1, sizeof *nid);   /* old node -> new node */
    if (!e || !first || !q || !nid) goto done;
    ne = 0;
    for (size_t i = 0; i < n_src; i++) {
        if (!src[i]) continue;
        e[ne].key = src[i] & B4K_JIEBA_KEYMASK;
        e[ne++].slot = (uint32_t)i;
    }
    qsort(e, ne, sizeof *e, cmp_edge);
    for (size_t i = 0; i < ne; i++) {
        uint32_t p = b4k_jieba_parent(e[i].key);
        if (p <= n_src) first[p + 1]++;
    }
    for (size_t p = 0; p <= n_src; p++) first[p + 1] += first[p];
    size_t head = 0, cnt = 1, copied = 0;
    q[0] = 0;
    nid[0] = 0;
    while (head < cnt) {
        uint32_t p = q[head++];
        for (uint32_t k = first[p]; k < first[p + 1]; k++) {
            uint64_t s = src[e[k].slot];
            uint32_t cp = (uint32_t)(s & 0x1FFFFF);
            uint64_t key = b4k_jieba_key(nid[p], cp);
            size_t h = b4k_jieba_home(key, n_dst);
            while (dst[h])
                if (++h == n_dst) h = 0;
            uint64_t fi = b4k_jieba_fi(s);
            if (fmap) fi = fmap[fi];
            dst[h] = key | (fi << B4K_JIEBA_FSHIFT) | (s & (B4K_JIEBA_KIDS | B4K_JIEBA_WORD | B4K_JIEBA_FORCE));
            if (nid[p] == 0 && cp < n_root) root[cp] = (uint32_t)h + 1;
            nid[e[k].slot + 1] = (uint32_t)h + 1;
            q[cnt++] = e[k].slot + 1; /* each slot is one node: queued once */
            copied++;
        }
    }
    rc = (long)copied;
done:
    b4k_free(e);
    b4k_free(first);
    b4k_free(q);
    b4k_free(nid);
    return rc;
}

/* ---- the owned, mutable form ------------------------------------------------ */

static size_t fmap_home(uint64_t f, size_t cap) { return (size_t)((f * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1); }

static int fmap_build(b4k_jieba *j, size_t cap)
{
    uint32_t *m = b4k_calloc(cap, sizeof *m);
    if (!m) return -1;
    for (size_t i = 1; i <= j->n_freq; i++) {
        size_t h = fmap_home(j->ftab[i], cap);
        while (m[h]) h = (h + 1) & (cap - 1);
        m[h] = (uint32_t)i;
    }
    b4k_free(j->fmap);
    j->fmap = m;
    j->fmap_cap = cap;
    return 0;
}

/* the frequency index of f (added when new); 0 for f = 0, -1 when full or
 * out of memory */
static long freq_index(b4k_jieba *j, uint64_t f)
{
    if (!f) return 0;
    size_t h = fmap_home(f, j->fmap_cap);
    for (;;) {
        uint32_t i = j->fmap[h];
        if (!i) break;
        if (j->ftab[i] == f) return i;
        h = (h + 1) & (j->fmap_cap - 1);
    }
    if (j->n_freq >= B4K_JIEBA_MAX_FREQS) return -1;
    if (j->n_freq + 2 > j->freq_cap) {
        size_t c1 = j->freq_cap, c2 = j->freq_cap;
        if (B4K_GROW(j->ftab, c1, j->n_freq + 2) || B4K_GROW(j->lft, c2, j->n_freq + 2)) return -1;
        j->freq_cap = c1 < c2 ? c1 : c2;
    }
    size_t i = ++j->n_freq;
    j->ftab[i] = f;
    j->lft[i] = log((double)f);
    if (j->n_freq * 2 > j->fmap_cap) return fmap_build(j, j->fmap_cap * 2) ? -1 : (long)i;
    j->fmap[h] = (uint32_t)i;
    return (long)i;
}

/* a table of n slots holding the current edges (node numbers change) */
static int regrow(b4k_jieba *j, size_t n)
{
    uint64_t *ns = b4k_calloc(n, sizeof *ns);
    if (!ns) return -1;
    memset(j->root, 0, (size_t)j->n_root * sizeof *j->root);
    if (b4k_jieba_relayout(j->slot, j->n_slots, ns, n, j->root, j->n_root, NULL) < 0) {
        b4k_free(ns);
        return -1;
    }
    b4k_free(j->slot);
    j->slot = ns;
    j->n_slots = n;
    return 0;
}

int b4k_jieba_thaw(b4k_jieba *j, b4k_err *err)
{
    if (j->owned) return 0;
    size_t n = (j->n_slots * 2 + 3) & ~(size_t)3; /* room to grow */
    if (n > B4K_JIEBA_MAX_SLOTS) n = j->n_slots;
    size_t fc = j->n_freq + 64;
    uint32_t *root = b4k_calloc(0x10000, sizeof *root);
    uint64_t *slot = b4k_calloc(n, sizeof *slot), *ftab = b4k_malloc_n(fc, sizeof *ftab);
    double *lft = b4k_malloc_n(fc, sizeof *lft);
    double(*ev)[4] = j->n_emit ? b4k_malloc_n(j->n_emit, sizeof *ev) : NULL;
    if (!root || !slot || !ftab || !lft || (j->n_emit && !ev) ||
        b4k_jieba_relayout(j->slot, j->n_slots, slot, n, root, 0x10000, NULL) < 0) {
        b4k_free(root);
        b4k_free(slot);
        b4k_free(ftab);
        b4k_free(lft);
        b4k_free(ev);
        return oom(err);
    }
    memcpy(ftab, j->ftab, (j->n_freq + 1) * sizeof *ftab);
    memcpy(lft, j->lft, (j->n_freq + 1) * sizeof *lft);
    if (j->n_emit) memcpy(ev, j->ev, j->n_emit * sizeof *ev);
    j->root = root;
    j->n_root = 0x10000;
    j->slot = slot;
    j->n_slots = n;
    j->ftab = ftab;
    j->lft = lft;
    j->freq_cap = fc;
    j->ev = ev;
    j->ev_cap = j->n_emit;
    j->owned = 1;
    if (j->map) munmap(j->map, j->map_len);
    b4k_free(j->image);
    j->map = j->image = NULL;
    j->map_len = 0;
    size_t cap = 128;
    while (cap < j->n_freq * 2 + 2) cap *= 2;
    if (fmap_build(j, cap)) return oom(err);
    return 0;
}

/* room for k more edges */
static int reserve(b4k_jieba *j, size_t k)
{
    size_t need = j->n_edges + k, n = j->n_slots;
    while (need * LOAD_DEN > n * LOAD_NUM && n < B4K_JIEBA_MAX_SLOTS)
        n = n * 2 > B4K_JIEBA_MAX_SLOTS ? B4K_JIEBA_MAX_SLOTS : n * 2;
    if (need + need / 8 >= n) return 1; /* too large: over 7/8 full at the largest */
    return n == j->n_slots ? 0 : regrow(j, n) ? -1 : 0;
}

/* a new edge of node by cp; the table has room (see reserve) */
static uint64_t *add_edge(b4k_jieba *j, uint32_t node, uint32_t cp)
{
    uint64_t key = b4k_jieba_key(node, cp);
    size_t h = b4k_jieba_home(key, j->n_slots);
    while (j->slot[h])
        if (++h == j->n_slots) h = 0;
    j->slot[h] = key;
    j->n_edges++;
    if (node == 0 && cp < j->n_root) j->root[cp] = (uint32_t)h + 1;
    if (node) j->slot[node - 1] |= B4K_JIEBA_KIDS;
    return &j->slot[h];
}

const uint64_t *b4k_jieba_find(const b4k_jieba *j, const char *w, size_t n)
{
    uint32_t node = 0;
    const uint64_t *e = NULL;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        if (!(e = b4k_jieba_edge(j, node, cp))) return NULL;
        node = b4k_jieba_node(j, e);
    }
    return e;
}

uint64_t b4k_jieba_freq(const b4k_jieba *j, const char *word, size_t len)
{
    const uint64_t *e = len ? b4k_jieba_find(j, word, len) : NULL;
    return e ? j->ftab[b4k_jieba_fi(*e)] : 0;
}

size_t b4k_jieba_n_words(const b4k_jieba *j) { return j->n_words; }
uint64_t b4k_jieba_total(const b4k_jieba *j) { return j->total; }

/* FREQ[word] = freq (and every prefix into the trie).  Does not touch total. */
int b4k_jieba_dict_set(b4k_jieba *j, const char *w, size_t n, uint64_t freq, b4k_err *err, long line)
{
    int rc;
    if (!n) return b4k_err_set(err, B4K_EFORMAT, j->name, line, "empty word");
    if (b4k_utf8_check(w, n) != (size_t)-1)
        return b4k_err_set(err, B4K_EFORMAT, j->name, line, "word is not valid UTF-8");
    if (freq > ((uint64_t)1 << 53))
        return b4k_err_set(err, B4K_ERANGE, j->name, line, "frequency %llu is too large",
                           (unsigned long long)freq);
    if ((rc = b4k_jieba_thaw(j, err))) return rc;
    if ((rc = reserve(j, n))) /* no relayout during the walk */
        return rc > 0 ? b4k_err_set(err, B4K_ERANGE, j->name, line, "dictionary too large") : oom(err);
    long fi = freq_index(j, freq);
    if (fi < 0)
        return j->n_freq >= B4K_JIEBA_MAX_FREQS
                   ? b4k_err_set(err, B4K_ERANGE, j->name, line, "too many distinct frequencies")
                   : oom(err);
    uint32_t node = 0;
    uint64_t *e = NULL;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        e = (uint64_t *)b4k_jieba_edge(j, node, cp);
        if (!e) e = add_edge(j, node, cp);
        node = b4k_jieba_node(j, e);
    }
    *e = (*e & ~(B4K_JIEBA_FMASK << B4K_JIEBA_FSHIFT)) | ((uint64_t)fi << B4K_JIEBA_FSHIFT);
    if (!(*e & B4K_JIEBA_WORD)) {
        *e |= B4K_JIEBA_WORD;
        j->n_words++;
    }
    return 0;
}

int b4k_jieba_dict_count(b4k_jieba *j, uint64_t f, b4k_err *err, long line)
{
    if (j->total + f < j->total || j->total + f > ((uint64_t)1 << 62))
        return b4k_err_set(err, B4K_ERANGE, j->name, line, "total frequency overflows");
    j->total += f;
    j->logtotal = log((double)j->total);
    return 0;
}

int b4k_jieba_force_split(b4k_jieba *j, const char *w, size_t n, b4k_err *err)
{
    int rc;
    if ((rc = b4k_jieba_thaw(j, err))) return rc;
    uint64_t *e = n ? (uint64_t *)b4k_jieba_find(j, w, n) : NULL;
    if (e && !(*e & B4K_JIEBA_FORCE)) {
        *e |= B4K_JIEBA_FORCE;
        j->n_force++;
    }
    return 0;
}

/* ---- HMM parameters ----------------------------------------------------- */

/* emission row of cp (created at MIN_FLOAT); cp outside re_han's range gets
 * the caller's scratch row (never read by the HMM); NULL when out of memory */
static double *emit_row(b4k_jieba *j, uint32_t cp, double *scratch)
{
    uint32_t i = cp - B4K_JIEBA_EMIT_LO;
    if (i >= B4K_JIEBA_EMIT_N) return scratch;
    if (j->eidx[i]) return j->ev[j->eidx[i] - 1];
    if (B4K_GROW(j->ev, j->ev_cap, j->n_emit + 1)) return NULL;
    double *row = j->ev[j->n_emit++];
    for (int s = 0; s < 4; s++) row[s] = B4K_JIEBA_MIN_FLOAT;
    j->eidx[i] = (uint16_t)j->n_emit;
    return row;
}

static int state_index(uint32_t c)
{
    switch (c) {
    case 'B': return JB_B;
    case 'E': return JB_E;
    case 'M': return JB_M;
    case 'S': return JB_S;
    default: return -1;
    }
}

/* A tiny reader for jieba's prob_*.py: P={'X': number, ...} or
 * P={'X': {'\uXXXX': number, ...}, ...}.  Keys are Python string literals
 * with one character (escapes \uXXXX, \UXXXXXXXX, \xXX, or a raw UTF-8
 * character).  depth 1: out1[state]; depth 2: callback per (state, key). */
typedef struct pyp {
    const char *p, *end;
} pyp;

static void py_ws(pyp *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int py_char(pyp *r, uint32_t *cp)
{
    py_ws(r);
    if (r->p >= r->end || (*r->p != '\'' && *r->p != '"')) return -1;
    char q = *r->p++;
    if (r->p >= r->end) return -1;
    if (*r->p == '\\') {
        r->p++;
        if (r->p >= r->end) return -1;
        char e = *r->p++;
        int nd = e == 'u' ? 4 : e == 'U' ? 8 : e == 'x' ? 2 : 0;
        if (!nd) {
            *cp = (unsigned char)e == 'n' ? '\n' : (unsigned char)e == 't' ? '\t' : (unsigned char)e;
        } else {
            uint32_t v = 0;
            for (int i = 0; i < nd; i++) {
                if (r->p >= r->end) return -1;
                char c = *r->p++;
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) return -1;
                v = v * 16 + (uint32_t)d;
            }
            if (v > 0x10FFFF) return -1;
            *cp = v;
        }
    } else {
        int l = b4k_utf8_decode((const unsigned char *)r->p, (size_t)(r->end - r->p), cp);
        if (l < 0) return -1;
        r->p += l;
    }
    if (r->p >= r->end || *r->p != q) return -1;
    r->p++;
    return 0;
}

static int py_num(pyp *r, double *v)
{
    py_ws(r);
    char buf[64];
    size_t n = 0;
    while (r->p < r->end && n < sizeof buf - 1 && strchr("0123456789+-.eE", *r->p)) buf[n++] = *r->p++;
    buf[n] = 0;
    if (!n) return -1;
    char *e;
    errno = 0;
    *v = strtod(buf, &e);
    return *e || errno == ERANGE ? -1 : 0;
}

static int py_expect(pyp *r, char c)
{
    py_ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 0;
    }
    return -1;
}

/* parse the file's P=... dict: which = 0 start, 1 trans, 2 emit.  text is
 * NUL-terminated at n.  On failure *at is where parsing stopped. */
static int parse_prob(b4k_jieba *j, const char *text, size_t n, int which, const char **at)
{
    const char *p = strstr(text, "P=");
    if (!p) p = strstr(text, "P =");
    *at = text;
    if (!p) return -1;
    pyp r = {strchr(p, '=') + 1, text + n};
#define BADP do { *at = r.p; return -1; } while (0)
    if (py_expect(&r, '{')) BADP;
    for (;;) {
        uint32_t sc;
        py_ws(&r);
        if (r.p < r.end && *r.p == '}') break;
        if (py_char(&r, &sc) || py_expect(&r, ':')) BADP;
        int s = state_index(sc);
        if (s < 0) BADP;
        if (which == 0) {
            if (py_num(&r, &j->start[s])) BADP;
        } else {
            if (py_expect(&r, '{')) BADP;
            for (;;) {
                uint32_t k;
                double v;
                py_ws(&r);
                if (r.p < r.end && *r.p == '}') break;
                if (py_char(&r, &k) || py_expect(&r, ':') || py_num(&r, &v)) BADP;
                if (which == 1) {
                    int t = state_index(k);
                    if (t < 0) BADP;
                    j->trans[s][t] = v;
                } else {
                    double scratch[4], *row = emit_row(j, k, scratch);
                    if (!row) BADP;
                    row[s] = v;
                }
                py_ws(&r);
                if (r.p < r.end && *r.p == ',') r.p++;
            }
            r.p++;
        }
        py_ws(&r);
        if (r.p < r.end && *r.p == ',') r.p++;
    }
#undef BADP
    return 0;
}

int b4k_jieba_slurp(const char *path, char **out, size_t *len, size_t max, b4k_err *err)
{
    b4k_stream *s = NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = b4k_malloc(cap + 1);
    int rc;
    *out = NULL;
    if (!buf) return oom(err);
    if ((rc = b4k_stream_open(&s, path, err))) {
        b4k_free(buf);
        return rc;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                rc = b4k_err_set(err, B4K_ERANGE, path, 0, "file too large (over %zu bytes)", max);
                goto fail;
            }
            size_t nc = cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                rc = oom(err);
                goto fail;
            }
            buf = nb;
            cap = nc;
        }
        size_t got;
        if ((rc = b4k_stream_read(s, buf + n, cap - n, &got, err))) goto fail;
        n += got;
        if (got == 0) break;
    }
    buf[n] = 0;
    b4k_stream_close(s);
    *out = buf;
    *len = n;
    return 0;
fail:
    b4k_stream_close(s);
    b4k_free(buf);
    return rc;
}

/* ---- jieba's dict.txt ---------------------------------------------------- */

static int is_pyspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int parse_uint(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i = 0;
    if (i < n && s[i] == '+') i++;
    if (i == n) return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - 9) / 10) return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return 0;
}

/* dict.txt lines "word freq [tag]" from s; path names it in messages */
static int load_dict_stream(b4k_jieba *j, b4k_stream *s, const char *path, b4k_err *err)
{
    char *line;
    size_t len;
    int rc, k;
    b4k_stream_set_max_line(s, 1 << 20);
    while ((k = b4k_stream_getline(s, &line, &len, err)) == 1) {
        long ln = b4k_stream_lineno(s);
        while (len && is_pyspace(line[len - 1])) len--;
        while (len && is_pyspace(line[0])) line++, len--;
        const char *sp = memchr(line, ' ', len);
        if (!sp)
            return b4k_err_set(err, B4K_EFORMAT, path, ln,
                               "invalid dictionary entry: expected 'word freq [tag]'");
        size_t wl = (size_t)(sp - line);
        const char *f = sp + 1, *fe = memchr(f, ' ', len - wl - 1);
        if (!fe) fe = line + len;
        uint64_t freq;
        if (parse_uint(f, (size_t)(fe - f), &freq))
            return b4k_err_set(err, B4K_EFORMAT, path, ln,
                               "invalid dictionary entry: bad frequency '%.*s'",
                               (int)((fe - f) > 32 ? 32 : (fe - f)), f);
        if ((rc = b4k_jieba_dict_set(j, line, wl, freq, err, ln)) ||
            (rc = b4k_jieba_dict_count(j, freq, err, ln))) {
            b4k_err_locate(err, path, ln);
            return rc;
        }
    }
    if (k < 0) return k;
    if (j->n_words == 0) return b4k_err_set(err, B4K_EFORMAT, path, 0, "empty dictionary");
    return 0;
}

/* one prob_*.py (text NUL-terminated at n): which = 0 start, 1 trans, 2 emit */
static int load_prob(b4k_jieba *j, const char *text, size_t n, int which, const char *path,
                     b4k_err *err)
{
    const char *at;
    if (!parse_prob(j, text, n, which, &at)) return 0;
    long ln = 1;
    for (const char *q = text; q < at; q++) ln += *q == '\n';
    return b4k_err_set(err, B4K_EFORMAT, path, ln, "cannot parse the HMM parameters (P={...})");
}

static const char *const PROBS[3] = {"prob_start.py", "prob_trans.py", "prob_emit.py"};

int b4k_jieba_load_dir(b4k_jieba **out, const char *dir, b4k_err *err)
{
    char path[4096];
    int rc = 0;
    b4k_stream *s = NULL;
    *out = NULL;
    int dl = (int)strlen(dir); /* "dir/" names files "dir/dict.txt", not "dir//dict.txt" */
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    snprintf(path, sizeof path, "%.*s/dict.txt", dl, dir);
    b4k_jieba *j = b4k_jieba_new_empty(path);
    if (!j) return oom(err);
    if ((rc = b4k_stream_open(&s, path, err))) goto fail;
    rc = load_dict_stream(j, s, path, err);
    b4k_stream_close(s);
    if (rc) goto fail;
    for (int w = 0; w < 3; w++) {
        char *text;
        size_t n;
        snprintf(path, sizeof path, "%.*s/finalseg/%s", dl, dir, PROBS[w]);
        if ((rc = b4k_jieba_slurp(path, &text, &n, (size_t)64 << 20, err))) goto fail;
        rc = load_prob(j, text, n, w, path, err);
        b4k_free(text);
        if (rc) goto fail;
    }
    *out = j;
    return 0;
fail:
    b4k_jieba_free(j);
    return rc;
}

int b4k_jieba_load_text_mem(b4k_jieba **out, const void *dict, size_t dict_n,
                            const void *const prob[3], const size_t prob_n[3], const char *name,
                            b4k_err *err)
{
    char path[4096];
    int rc = 0;
    b4k_stream *s = NULL;
    *out = NULL;
    if (!name) name = "";
    snprintf(path, sizeof path, "%s/dict.txt", name);
    b4k_jieba *j = b4k_jieba_new_empty(path);
    if (!j) return oom(err);
    if ((rc = b4k_stream_open_mem(&s, dict_n ? dict : "", dict_n, path, err))) goto fail;
    rc = load_dict_stream(j, s, path, err);
    b4k_stream_close(s);
    if (rc) goto fail;
    for (int w = 0; w < 3; w++) {
        snprintf(path, sizeof path, "%s/finalseg/%s", name, PROBS[w]);
        char *text = b4k_malloc(prob_n[w] + 1); /* parse_prob wants a NUL at the end */
        if (!text) {
            rc = oom(err);
            goto fail;
        }
        if (prob_n[w]) memcpy(text, prob[w], prob_n[w]);
        text[prob_n[w]] = 0;
        rc = load_prob(j, text, prob_n[w], w, path, err);
        b4k_free(text);
        if (rc) goto fail;
    }
    *out = j;
    return 0;
fail:
    b4k_jieba_free(j);
    return rc;
}

