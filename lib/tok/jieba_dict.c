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

#define MAX_NODES B4K_JIEBA_MAX_NODES
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

static uint64_t lf_bits(uint64_t freq)
{
    double d = log((double)(freq ? freq : 1));
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

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
    j->nodes_cap = 1024;
    j->freq = b4k_calloc(j->nodes_cap, sizeof *j->freq);
    j->flag = b4k_calloc(j->nodes_cap, sizeof *j->flag);
    j->n_nodes = 1;
    for (int a = 0; a < 4; a++) {
        j->start[a] = B4K_JIEBA_MIN_FLOAT;
        for (int b = 0; b < 4; b++) j->trans[a][b] = B4K_JIEBA_MIN_FLOAT;
    }
    if (!j->root || !j->slot || !j->freq || !j->flag) {
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
        b4k_free(j->freq);
        b4k_free(j->flag);
        b4k_free(j->ev);
    }
    if (j->map) munmap(j->map, j->map_len);
    b4k_free(j->image);
    b4k_free(j);
}

/* put every edge of old (n_old slots) into the zeroed table j->slot and
 * rebuild j->root */
static void reinsert(b4k_jieba *j, const b4k_jieba_slot *old, size_t n_old)
{
    memset(j->root, 0, (size_t)j->n_root * sizeof *j->root);
    for (size_t i = 0; i < n_old; i++) {
        if (!old[i].kc) continue;
        uint64_t key = old[i].kc & B4K_JIEBA_KEYMASK;
        size_t h = b4k_jieba_home(key, j->n_slots);
        while (j->slot[h].kc)
            if (++h == j->n_slots) h = 0;
        j->slot[h] = old[i];
        uint32_t cp = (uint32_t)(key & 0x1FFFFF);
        if (key >> 21 == 1 && cp < j->n_root) j->root[cp] = (uint32_t)h + 1;
    }
}

/* a table of n slots (a multiple of 4) holding the current edges */
static int rehash(b4k_jieba *j, size_t n)
{
    b4k_jieba_slot *ns = b4k_calloc(n, sizeof *ns), *old = j->slot;
    if (!ns) return -1;
    size_t n_old = j->n_slots;
    j->slot = ns;
    j->n_slots = n;
    reinsert(j, old, n_old);
    b4k_free(old);
    return 0;
}

int b4k_jieba_thaw(b4k_jieba *j, b4k_err *err)
{
    if (j->owned) return 0;
    /* room to grow: the image's table may be full up to its 60% */
    size_t ns = (j->n_slots * 2 + 3) & ~(size_t)3;
    uint32_t *root = b4k_calloc(0x10000, sizeof *root);
    b4k_jieba_slot *slot = b4k_calloc(ns, sizeof *slot);
    size_t cap = (size_t)j->n_nodes + 1024;
    uint64_t *freq = b4k_malloc_n(cap, sizeof *freq);
    uint8_t *flag = b4k_malloc_n(cap, sizeof *flag);
    double(*ev)[4] = j->n_emit ? b4k_malloc_n(j->n_emit, sizeof *ev) : NULL;
    if (!root || !slot || !freq || !flag || (j->n_emit && !ev)) {
        b4k_free(root);
        b4k_free(slot);
        b4k_free(freq);
        b4k_free(flag);
        b4k_free(ev);
        return oom(err);
    }
    memcpy(freq, j->freq, j->n_nodes * sizeof *freq);
    memcpy(flag, j->flag, j->n_nodes);
    if (j->n_emit) memcpy(ev, j->ev, j->n_emit * sizeof *ev);
    const b4k_jieba_slot *old = j->slot;
    size_t n_old = j->n_slots;
    j->root = root;
    j->n_root = 0x10000;
    j->slot = slot;
    j->n_slots = ns;
    reinsert(j, old, n_old); /* reads the image */
    j->freq = freq;
    j->flag = flag;
    j->nodes_cap = (uint32_t)cap;
    j->ev = ev;
    j->ev_cap = j->n_emit;
    j->owned = 1;
    if (j->map) munmap(j->map, j->map_len);
    b4k_free(j->image);
    j->map = j->image = NULL;
    j->map_len = 0;
    return 0;
}

/* mutable edge of node by cp, or NULL */
static b4k_jieba_slot *edge_mut(b4k_jieba *j, uint32_t node, uint32_t cp)
{
    return (b4k_jieba_slot *)b4k_jieba_edge(j, node, cp);
}

/* a new child of node (whose incoming edge is in, NULL for the root) by cp;
 * the table has room (see reserve) */
static b4k_jieba_slot *add_child(b4k_jieba *j, uint32_t node, b4k_jieba_slot *in, uint32_t cp)
{
    if (j->n_nodes >= MAX_NODES) return NULL;
    if (j->n_nodes == j->nodes_cap) {
        size_t c1 = j->nodes_cap, c2 = j->nodes_cap;
        if (B4K_GROW(j->freq, c1, j->n_nodes + 1) || B4K_GROW(j->flag, c2, j->n_nodes + 1))
            return NULL;
        j->nodes_cap = (uint32_t)(c1 < c2 ? c1 : c2);
    }
    uint32_t c = j->n_nodes++;
    j->freq[c] = 0;
    j->flag[c] = 0;
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    size_t h = b4k_jieba_home(key, j->n_slots);
    while (j->slot[h].kc)
        if (++h == j->n_slots) h = 0;
    j->slot[h].kc = key | ((uint64_t)c << 42);
    j->slot[h].lf = lf_bits(0);
    j->n_edges++;
    if (node == 0 && cp < j->n_root) j->root[cp] = (uint32_t)h + 1;
    if (in) in->lf |= B4K_JIEBA_KIDS;
    return &j->slot[h];
}

/* room for k more edges */
static int reserve(b4k_jieba *j, size_t k)
{
    size_t need = j->n_edges + k, n = j->n_slots;
    while (need * LOAD_DEN > n * LOAD_NUM) n *= 2;
    return n == j->n_slots ? 0 : rehash(j, n);
}

uint32_t b4k_jieba_find(const b4k_jieba *j, const char *w, size_t n)
{
    uint32_t node = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        const b4k_jieba_slot *e = b4k_jieba_edge(j, node, cp);
        if (!e) return 0;
        node = b4k_jieba_child(e);
    }
    return node;
}

uint64_t b4k_jieba_freq(const b4k_jieba *j, const char *word, size_t len)
{
    uint32_t node = len ? b4k_jieba_find(j, word, len) : 0;
    return node ? j->freq[node] : 0;
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
    if (reserve(j, n)) return oom(err); /* no rehash during the walk */
    uint32_t node = 0;
    b4k_jieba_slot *e = NULL;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        b4k_jieba_slot *next = edge_mut(j, node, cp);
        if (!next && !(next = add_child(j, node, e, cp))) {
            if (j->n_nodes >= MAX_NODES)
                return b4k_err_set(err, B4K_ERANGE, j->name, line, "dictionary too large");
            return oom(err);
        }
        e = next;
        node = b4k_jieba_child(e);
    }
    j->freq[node] = freq;
    e->kc = (e->kc & ~B4K_JIEBA_HASF) | (freq ? B4K_JIEBA_HASF : 0);
    e->lf = lf_bits(freq) | (e->lf & B4K_JIEBA_KIDS);
    if (!(j->flag[node] & B4K_JIEBA_WORD)) {
        j->flag[node] |= B4K_JIEBA_WORD;
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
    uint32_t node = b4k_jieba_find(j, w, n);
    if (node && !(j->flag[node] & B4K_JIEBA_FORCE_SPLIT)) {
        j->flag[node] |= B4K_JIEBA_FORCE_SPLIT;
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

