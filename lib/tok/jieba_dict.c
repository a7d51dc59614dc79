/* jieba data: the prefix dictionary (trie), the HMM parameters, loading
 * from jieba's own files or from the b4k data file, saving, and user
 * dictionaries.
 *
 * The b4k data file ("B4KJIEBA", all little-endian):
 *   0   8  magic "B4KJIEBA"
 *   8   4  version (1)
 *   12  4  flags (0)
 *   16  8  total: jieba's FREQ total (sum of every dictionary line's freq)
 *   24  8  number of words
 *   32  8  bytes of the word section
 *   40  4  number of emission entries
 *   44  4  0
 *   48  32 start log-probabilities, states B E M S (f64)
 *   80  128 transition log-probabilities [from][to] (f64; -3.14e100 = none)
 *   208     emission entries: u32 code point, f64 x 4 (B E M S)
 *           words: varint freq, varint byte length, UTF-8 bytes
 *   end-8   u64 FNV-1a of everything before it */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/stream.h"
#include "tok/jieba_impl.h"

#define MAX_NODES B4K_JIEBA_MAX_NODES

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

static b4k_jieba *jb_new(const char *name)
{
    b4k_jieba *j = b4k_calloc(1, sizeof *j);
    if (!j) return NULL;
    snprintf(j->name, sizeof j->name, "%s", name ? name : "");
    j->root = b4k_calloc(0x10000, sizeof *j->root);
    j->roothasf = b4k_calloc(0x10000, 1);
    j->hcap = 1 << 16;
    j->slot = b4k_calloc(j->hcap, sizeof *j->slot);
    j->nodes_cap = 1024;
    j->freq = b4k_calloc(j->nodes_cap, sizeof *j->freq);
    j->lf = b4k_calloc(j->nodes_cap, sizeof *j->lf);
    j->flag = b4k_calloc(j->nodes_cap, sizeof *j->flag);
    j->n_nodes = 1;
    for (int a = 0; a < 4; a++) {
        j->start[a] = B4K_JIEBA_MIN_FLOAT;
        for (int b = 0; b < 4; b++) j->trans[a][b] = B4K_JIEBA_MIN_FLOAT;
    }
    if (!j->root || !j->roothasf || !j->slot || !j->freq || !j->lf || !j->flag) {
        b4k_jieba_free(j);
        return NULL;
    }
    return j;
}

void b4k_jieba_free(b4k_jieba *j)
{
    if (!j) return;
    b4k_free(j->root);
    b4k_free(j->roothasf);
    b4k_free(j->slot);
    b4k_free(j->freq);
    b4k_free(j->lf);
    b4k_free(j->flag);
    b4k_free(j->wblob);
    b4k_free(j->woff);
    b4k_free(j->wnode);
    b4k_free(j->ekey);
    b4k_free(j->eval);
    b4k_free(j);
}

static void hash_put(uint64_t *slots, size_t cap, uint64_t v)
{
    uint64_t key = v & B4K_JIEBA_KEYMASK;
    size_t mask = cap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (slots[h]) h = (h + 1) & mask;
    slots[h] = v;
}

/* keep the edge's copy of "freq > 0" in step with freq[child] */
static void set_hasf(b4k_jieba *j, uint32_t parent, uint32_t cp, int hasf)
{
    if (parent == 0 && cp < 0x10000) {
        j->roothasf[cp] = (uint8_t)hasf;
        return;
    }
    uint64_t key = ((uint64_t)(parent + 1) << 21) | cp;
    size_t mask = j->hcap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (j->slot[h] && (j->slot[h] & B4K_JIEBA_KEYMASK) != key) h = (h + 1) & mask;
    if (j->slot[h]) j->slot[h] = (j->slot[h] & ~(1ull << 63)) | ((uint64_t)(hasf != 0) << 63);
}

static int hash_grow(b4k_jieba *j)
{
    size_t nc = j->hcap * 2;
    uint64_t *ns = b4k_calloc(nc, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < j->hcap; i++)
        if (j->slot[i]) hash_put(ns, nc, j->slot[i]);
    b4k_free(j->slot);
    j->slot = ns;
    j->hcap = nc;
    return 0;
}

static uint32_t child_or_add(b4k_jieba *j, uint32_t node, uint32_t cp)
{
    uint32_t c = b4k_jieba_next(j, node, cp);
    if (c) return c;
    if (j->n_nodes >= MAX_NODES) return 0;
    if (j->n_nodes == j->nodes_cap) {
        size_t c1 = j->nodes_cap, c2 = j->nodes_cap, c3 = j->nodes_cap;
        if (B4K_GROW(j->freq, c1, j->n_nodes + 1) || B4K_GROW(j->lf, c2, j->n_nodes + 1) ||
            B4K_GROW(j->flag, c3, j->n_nodes + 1))
            return 0;
        j->nodes_cap = (uint32_t)(c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3));
    }
    c = j->n_nodes++;
    j->freq[c] = 0;
    j->lf[c] = 0; /* log(0 or 1) */
    j->flag[c] = 0;
    if (node == 0 && cp < 0x10000) {
        j->root[cp] = c;
    } else {
        if ((j->hn + 1) * 10 > j->hcap * 7 && hash_grow(j)) return 0;
        hash_put(j->slot, j->hcap, ((uint64_t)(node + 1) << 21) | cp | ((uint64_t)c << 42));
        j->hn++;
    }
    return c;
}

uint32_t b4k_jieba_find(const b4k_jieba *j, const char *w, size_t n)
{
    uint32_t node = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        node = b4k_jieba_next(j, node, cp);
        if (!node) return 0;
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
    if (!n) return b4k_err_set(err, B4K_EFORMAT, j->name, line, "empty word");
    if (b4k_utf8_check(w, n) != (size_t)-1)
        return b4k_err_set(err, B4K_EFORMAT, j->name, line, "word is not valid UTF-8");
    if (freq > ((uint64_t)1 << 53))
        return b4k_err_set(err, B4K_ERANGE, j->name, line, "frequency %llu is too large",
                           (unsigned long long)freq);
    uint32_t node = 0, parent = 0, last = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)b4k_jieba_decode((const unsigned char *)w + i, n - i, &cp);
        parent = node;
        last = cp;
        node = child_or_add(j, node, cp);
        if (!node) {
            if (j->n_nodes >= MAX_NODES)
                return b4k_err_set(err, B4K_ERANGE, j->name, line, "dictionary too large");
            return oom(err);
        }
    }
    j->freq[node] = freq;
    j->lf[node] = log((double)(freq ? freq : 1));
    j->gen++;
    set_hasf(j, parent, last, freq > 0);
    if (!(j->flag[node] & 1)) {
        j->flag[node] |= 1;
        if (j->n_words + 2 > j->words_cap) {
            size_t c1 = j->words_cap, c2 = j->words_cap;
            if (B4K_GROW(j->woff, c1, j->n_words + 2) || B4K_GROW(j->wnode, c2, j->n_words + 2))
                return oom(err);
            j->words_cap = c1 < c2 ? c1 : c2;
        }
        if (j->wblob_len + n > 0xffffffffu)
            return b4k_err_set(err, B4K_ERANGE, j->name, line, "dictionary too large");
        if (j->wblob_len + n > j->wblob_cap && B4K_GROW(j->wblob, j->wblob_cap, j->wblob_len + n))
            return oom(err);
        if (j->n_words == 0) j->woff[0] = 0;
        memcpy(j->wblob + j->wblob_len, w, n);
        j->wblob_len += n;
        j->wnode[j->n_words] = node;
        j->woff[++j->n_words] = (uint32_t)j->wblob_len;
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

/* ---- HMM parameters ----------------------------------------------------- */

static int emit_reserve(b4k_jieba *j, size_t n)
{
    size_t cap = 64;
    while (cap < n * 2) cap <<= 1;
    b4k_free(j->ekey);
    b4k_free(j->eval);
    j->ekey = b4k_calloc(cap, sizeof *j->ekey);
    j->eval = b4k_malloc_n(cap, sizeof *j->eval);
    j->ecap = j->ekey && j->eval ? cap : 0;
    j->en = 0;
    return j->ecap ? 0 : -1;
}

/* double the emission table (rehashing every entry) */
static int emit_grow(b4k_jieba *j)
{
    size_t cap = j->ecap * 2, mask = cap - 1;
    uint32_t *key = b4k_calloc(cap, sizeof *key);
    double(*val)[4] = b4k_malloc_n(cap, sizeof *val);
    if (!key || !val) {
        b4k_free(key);
        b4k_free(val);
        return -1;
    }
    for (size_t i = 0; i < j->ecap; i++) {
        if (!j->ekey[i]) continue;
        size_t h = (size_t)(((uint64_t)(j->ekey[i] - 1) * 0x9E3779B97F4A7C15ull) >> 20) & mask;
        while (key[h]) h = (h + 1) & mask;
        key[h] = j->ekey[i];
        memcpy(val[h], j->eval[i], sizeof val[h]);
    }
    b4k_free(j->ekey);
    b4k_free(j->eval);
    j->ekey = key;
    j->eval = val;
    j->ecap = cap;
    return 0;
}

/* slot for cp (created with MIN_FLOAT values); NULL when out of memory */
static double *emit_slot(b4k_jieba *j, uint32_t cp)
{
    if ((j->en + 1) * 2 > j->ecap && emit_grow(j)) return NULL;
    size_t mask = j->ecap - 1, h = (size_t)(((uint64_t)cp * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (j->ekey[h] && j->ekey[h] != cp + 1) h = (h + 1) & mask;
    if (!j->ekey[h]) {
        j->ekey[h] = cp + 1;
        for (int s = 0; s < 4; s++) j->eval[h][s] = B4K_JIEBA_MIN_FLOAT;
        j->en++;
    }
    return j->eval[h];
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
                    double *slot = emit_slot(j, k);
                    if (!slot) BADP;
                    slot[s] = v;
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

static int slurp(const char *path, char **out, size_t *len, size_t max, b4k_err *err)
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
    if (which == 2 && emit_reserve(j, n / 16 + 16)) return oom(err);
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
    b4k_jieba *j = jb_new(path);
    if (!j) return oom(err);
    if ((rc = b4k_stream_open(&s, path, err))) goto fail;
    rc = load_dict_stream(j, s, path, err);
    b4k_stream_close(s);
    if (rc) goto fail;
    for (int w = 0; w < 3; w++) {
        char *text;
        size_t n;
        snprintf(path, sizeof path, "%.*s/finalseg/%s", dl, dir, PROBS[w]);
        if ((rc = slurp(path, &text, &n, (size_t)64 << 20, err))) goto fail;
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
    b4k_jieba *j = jb_new(path);
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

/* ---- the b4k data file -------------------------------------------------- */

static const char MAGIC[8] = {'B', '4', 'K', 'J', 'I', 'E', 'B', 'A'};

static uint64_t fnv64(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int put_le(b4k_buf *b, uint64_t v, int n)
{
    char t[8];
    for (int i = 0; i < n; i++) t[i] = (char)(v >> (8 * i));
    return b4k_buf_append(b, t, (size_t)n);
}

static int put_f64(b4k_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return put_le(b, u, 8);
}

static int put_varint(b4k_buf *b, uint64_t v)
{
    char t[10];
    int n = 0;
    do {
        t[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return b4k_buf_append(b, t, (size_t)n);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int b4k_jieba_save(const b4k_jieba *j, b4k_buf *out, b4k_err *err)
{
    size_t start = out->len;
    b4k_buf words;
    b4k_buf_init(&words);
    for (size_t i = 0; i < j->n_words; i++) {
        uint32_t b = j->woff[i], e = j->woff[i + 1];
        if (put_varint(&words, j->freq[j->wnode[i]]) || put_varint(&words, e - b) ||
            b4k_buf_append(&words, j->wblob + b, e - b))
            goto nomem;
    }
    if (b4k_buf_append(out, MAGIC, 8) || put_le(out, 1, 4) || put_le(out, 0, 4) ||
        put_le(out, j->total, 8) || put_le(out, j->n_words, 8) || put_le(out, words.len, 8) ||
        put_le(out, j->en, 4) || put_le(out, 0, 4))
        goto nomem;
    for (int a = 0; a < 4; a++)
        if (put_f64(out, j->start[a])) goto nomem;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            if (put_f64(out, j->trans[a][b])) goto nomem;
    /* emission entries sorted by code point, so the file is reproducible */
    if (j->en) {
        uint32_t *cps = b4k_malloc_n(j->en, sizeof *cps);
        size_t k = 0;
        if (!cps) goto nomem;
        for (size_t h = 0; h < j->ecap && k < j->en; h++)
            if (j->ekey[h]) cps[k++] = j->ekey[h] - 1;
        qsort(cps, k, sizeof *cps, cmp_u32);
        for (size_t i = 0; i < k; i++) {
            const double *e = b4k_jieba_emit(j, cps[i]);
            int bad = put_le(out, cps[i], 4);
            for (int st = 0; st < 4 && !bad; st++) bad = put_f64(out, e[st]);
            if (bad) {
                b4k_free(cps);
                goto nomem;
            }
        }
        b4k_free(cps);
    }
    if (b4k_buf_append(out, words.data, words.len)) goto nomem;
    if (put_le(out, fnv64((const unsigned char *)out->data + start, out->len - start), 8)) goto nomem;
    b4k_buf_free(&words);
    return 0;
nomem:
    b4k_buf_free(&words);
    return oom(err);
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = get_le(p, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (*p >= end) return -1;
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int b4k_jieba_load_mem(b4k_jieba **out, const void *data, size_t n, const char *name,
                       b4k_err *err)
{
    const unsigned char *p = data, *end = p + n;
    int rc = 0;
    *out = NULL;
    b4k_jieba *j = jb_new(name);
    if (!j) return oom(err);
#define BAD(...) do { rc = b4k_err_set(err, B4K_EFORMAT, j->name, 0, __VA_ARGS__); goto fail; } while (0)
    if (n < 208 + 8) BAD("not a b4k jieba data file (too short)");
    if (memcmp(p, MAGIC, 8)) BAD("not a b4k jieba data file (bad magic)");
    if (get_le(p + 8, 4) != 1) BAD("unsupported jieba data version %u", (unsigned)get_le(p + 8, 4));
    if (fnv64(p, n - 8) != get_le(end - 8, 8)) {
        rc = b4k_err_set(err, B4K_ECHECKSUM, j->name, 0, "checksum mismatch (corrupt jieba data)");
        goto fail;
    }
    uint64_t total = get_le(p + 16, 8), nw = get_le(p + 24, 8), wbytes = get_le(p + 32, 8);
    uint64_t ne = get_le(p + 40, 4);
    size_t body = n - 208 - 8;
    if (ne > body / 36 || wbytes != body - ne * 36) BAD("section sizes do not match the file size");
    if (nw > wbytes / 3 + 1 || total > ((uint64_t)1 << 62)) BAD("implausible word count or total");
    for (int a = 0; a < 4; a++) j->start[a] = get_f64(p + 48 + 8 * a);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) j->trans[a][b] = get_f64(p + 80 + 8 * (4 * a + b));
    if (emit_reserve(j, ne + 1)) {
        rc = oom(err);
        goto fail;
    }
    const unsigned char *q = p + 208;
    for (uint64_t i = 0; i < ne; i++, q += 36) {
        uint32_t cp = (uint32_t)get_le(q, 4);
        if (cp > 0x10FFFF) BAD("emission entry %llu: bad code point", (unsigned long long)i);
        double *slot = emit_slot(j, cp);
        if (!slot) BAD("emission table overflow");
        for (int s = 0; s < 4; s++) slot[s] = get_f64(q + 4 + 8 * s);
    }
    const unsigned char *wend = q + wbytes;
    for (uint64_t i = 0; i < nw; i++) {
        uint64_t f, l;
        if (get_varint(&q, wend, &f) || get_varint(&q, wend, &l) || l > (uint64_t)(wend - q))
            BAD("word %llu: truncated", (unsigned long long)i);
        if ((rc = b4k_jieba_dict_set(j, (const char *)q, (size_t)l, f, err, 0))) goto fail;
        q += l;
    }
    if (q != wend) BAD("trailing bytes after the words");
    j->total = total;
    j->logtotal = log((double)total);
#undef BAD
    *out = j;
    return 0;
fail:
    b4k_jieba_free(j);
    return rc;
}

int b4k_jieba_load(b4k_jieba **out, const char *path, b4k_err *err)
{
    char *buf;
    size_t n;
    int rc = slurp(path, &buf, &n, (size_t)1 << 31, err);
    if (rc) return rc;
    rc = b4k_jieba_load_mem(out, buf, n, path, err);
    b4k_free(buf);
    return rc;
}
