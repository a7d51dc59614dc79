/* jieba segmentation (precise mode), word for word as jieba 0.42:
 * Tokenizer.cut -> __cut_DAG (get_DAG, calc) -> finalseg.cut (HMM Viterbi),
 * plus __cut_DAG_NO_HMM, suggest_freq, add_word and load_userdict. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"
#include "io/stream.h"
#include "tok/jieba_impl.h"

struct b4k_jieba_state {
    uint32_t *cp;        /* (n) code points of the text */
    uint32_t *off;       /* (n + 1) byte offset of each */
    size_t cap;
    int32_t *dstart;     /* (block + 1) DAG lists */
    int32_t *dx;         /* DAG ends */
    double *dlf;         /* their log frequencies */
    size_t dcap;
    uint32_t *ak, *anode;/* (block) walks still going: start, node */
    uint32_t *ek;        /* DAG entries as found, level by level: start, */
    int32_t *ex;         /* end */
    double *elf;         /* and log frequency */
    size_t ecap;
    double *rs;          /* (block + 1) route score */
    int32_t *rx;         /* (block + 1) route end */
    double (*V)[4];      /* (run) HMM scores */
    uint8_t (*bp)[4];    /* (run) back pointers */
    uint8_t *hpos;       /* (run) chosen states */
    size_t hcap;
};

void b4k_jieba_words_init(b4k_jieba_words *w) { memset(w, 0, sizeof *w); }

void b4k_jieba_words_free(b4k_jieba_words *w)
{
    if (!w) return;
    b4k_free(w->beg);
    b4k_free(w->end);
    memset(w, 0, sizeof *w);
}

b4k_jieba_state *b4k_jieba_state_new(void) { return b4k_calloc(1, sizeof(b4k_jieba_state)); }

void b4k_jieba_state_free(b4k_jieba_state *st)
{
    if (!st) return;
    b4k_free(st->cp);
    b4k_free(st->off);
    b4k_free(st->dstart);
    b4k_free(st->dx);
    b4k_free(st->dlf);
    b4k_free(st->ak);
    b4k_free(st->anode);
    b4k_free(st->ek);
    b4k_free(st->ex);
    b4k_free(st->elf);
    b4k_free(st->rs);
    b4k_free(st->rx);
    b4k_free(st->V);
    b4k_free(st->bp);
    b4k_free(st->hpos);
    b4k_free(st);
}

typedef struct cutctx {
    const b4k_jieba *j;
    b4k_jieba_state *st;
    b4k_jieba_words *out;
} cutctx;

static int emit(cutctx *c, size_t a, size_t b) /* chars [a,b) */
{
    b4k_jieba_words *w = c->out;
    if (w->n == w->cap) {
        size_t c1 = w->cap, c2 = w->cap;
        if (B4K_GROW(w->beg, c1, w->n + 1) || B4K_GROW(w->end, c2, w->n + 1)) return -1;
        w->cap = c1 < c2 ? c1 : c2;
    }
    w->beg[w->n] = c->st->off[a];
    w->end[w->n] = c->st->off[b];
    w->n++;
    return 0;
}

static inline int is_han_default(uint32_t c) /* re_han_default's class */
{
    return (c >= 0x4E00 && c <= 0x9FD5) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' ||
           c == '%' || c == '-';
}

static inline int is_alnum(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* the edge into the node of the word cp[0..n), n >= 1, or NULL */
static const uint64_t *find_cps(const b4k_jieba *j, const uint32_t *cp, size_t n)
{
    const uint64_t *e = b4k_jieba_edge(j, 0, cp[0]);
    for (size_t i = 1; i < n && e; i++) e = b4k_jieba_edge(j, b4k_jieba_node(j, e), cp[i]);
    return e;
}

/* a word the user dictionary marked (freq 0) to be split after the HMM */
static int force_split(const b4k_jieba *j, const uint32_t *cp, size_t n)
{
    if (!j->n_force) return 0;
    const uint64_t *e = find_cps(j, cp, n);
    return e && (*e & B4K_JIEBA_FORCE);
}

/* ---- finalseg ----------------------------------------------------------- */

static const int prev_status[4][2] = {
    [JB_B] = {JB_E, JB_S}, [JB_M] = {JB_M, JB_B}, [JB_S] = {JB_S, JB_E}, [JB_E] = {JB_B, JB_M}};

/* viterbi + __cut over chars [a,b), all in U+4E00..U+9FD5 */
static int hmm_cut(cutctx *c, size_t a, size_t b)
{
    const b4k_jieba *j = c->j;
    b4k_jieba_state *st = c->st;
    size_t n = b - a;
    if (n > st->hcap) {
        size_t c1 = st->hcap, c2 = st->hcap, c3 = st->hcap;
        if (B4K_GROW(st->V, c1, n) || B4K_GROW(st->bp, c2, n) || B4K_GROW(st->hpos, c3, n)) return -1;
        st->hcap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    }
    double (*V)[4] = st->V;
    uint8_t (*bp)[4] = st->bp;
    const double *em = b4k_jieba_emit(j, st->cp[a]);
    for (int y = 0; y < 4; y++) V[0][y] = j->start[y] + em[y];
    for (size_t t = 1; t < n; t++) {
        em = b4k_jieba_emit(j, st->cp[a + t]);
        for (int y = 0; y < 4; y++) {
            int best = -1;
            double bv = 0;
            for (int k = 0; k < 2; k++) {
                int y0 = prev_status[y][k];
                double v = V[t - 1][y0] + j->trans[y0][y] + em[y];
                if (best < 0 || v > bv || (v == bv && y0 > best)) {
                    bv = v;
                    best = y0;
                }
            }
            V[t][y] = bv;
            bp[t][y] = (uint8_t)best;
        }
    }
    int s = V[n - 1][JB_S] >= V[n - 1][JB_E] ? JB_S : JB_E;
    uint8_t *pos = st->hpos;
    for (size_t t = n; t-- > 0;) {
        pos[t] = (uint8_t)s;
        if (t) s = bp[t][s];
    }
    size_t begin = 0, nexti = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pos[i];
        if (p == JB_B) {
            begin = i;
        } else if (p == JB_E || p == JB_S) {
            size_t wb = p == JB_E ? begin : i;
            if (force_split(j, st->cp + a + wb, i + 1 - wb)) {
                for (size_t q = wb; q <= i; q++)
                    if (emit(c, a + q, a + q + 1)) return -1;
            } else if (emit(c, a + wb, a + i + 1)) {
                return -1;
            }
            nexti = i + 1;
        }
    }
    if (nexti < n) {
        if (force_split(j, st->cp + a + nexti, n - nexti)) {
            for (size_t q = nexti; q < n; q++)
                if (emit(c, a + q, a + q + 1)) return -1;
        } else if (emit(c, a + nexti, a + n)) {
            return -1;
        }
    }
    return 0;
}

/* finalseg.cut over chars [a,b) */
static int finalseg_cut(cutctx *c, size_t a, size_t b)
{
    const uint32_t *cp = c->st->cp;
    size_t i = a;
    while (i < b) {
        if (cp[i] >= 0x4E00 && cp[i] <= 0x9FD5) {
            size_t e = i;
            while (e < b && cp[e] >= 0x4E00 && cp[e] <= 0x9FD5) e++;
            if (hmm_cut(c, i, e)) return -1;
            i = e;
            continue;
        }
        size_t e = i;
        while (e < b && !(cp[e] >= 0x4E00 && cp[e] <= 0x9FD5)) e++;
        /* re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?) splits [i,e) */
        size_t pend = i, k = i;
        while (k < e) {
            if (!is_alnum(cp[k])) {
                k++;
                continue;
            }
            if (k > pend && emit(c, pend, k)) return -1;
            size_t m = k;
            while (m < e && is_alnum(cp[m])) m++;
            if (m + 1 < e && cp[m] == '.' && cp[m + 1] >= '0' && cp[m + 1] <= '9') {
                m++;
                while (m < e && cp[m] >= '0' && cp[m] <= '9') m++;
            }
            if (m < e && cp[m] == '%') m++;
            if (emit(c, k, m)) return -1;
            pend = k = m;
        }
        if (e > pend && emit(c, pend, e)) return -1;
        i = e;
    }
    return 0;
}

/* ---- the dictionary part ------------------------------------------------ */

/* room for k more DAG entries */
static int entries_reserve(b4k_jieba_state *st, size_t k)
{
    if (k <= st->ecap) return 0;
    size_t c1 = st->ecap, c2 = st->ecap, c3 = st->ecap;
    if (B4K_GROW(st->ek, c1, k) || B4K_GROW(st->ex, c2, k) || B4K_GROW(st->elf, c3, k)) return -1;
    st->ecap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    return 0;
}

/* get_DAG, then calc.  The DAG walks of all start positions advance
 * together, one character (trie level) at a time, and the slots a level
 * will read are prefetched before it (level 2's as soon as level 1 reads
 * the root table), so the cache misses of independent walks overlap
 * instead of following one another.  The
 * entries come out level by level and are then grouped by start (a stable
 * counting sort keeps each list in ascending end order, as jieba's). */
static int dag_route(cutctx *c, size_t a, size_t b)
{
    const b4k_jieba *j = c->j;
    b4k_jieba_state *st = c->st;
    const size_t n = b - a;
    const uint32_t *cp = st->cp + a;
    uint32_t *ak = st->ak, *an = st->anode;
    const double *lft = j->lft;
    if (entries_reserve(st, n)) return -1;
    /* level 1: the root's edges (an[] holds their nodes for a moment) */
    for (size_t k = 0; k < n; k++) {
        uint32_t s;
        if (cp[k] < j->n_root) {
            s = j->root[cp[k]];
            if (s) {
                __builtin_prefetch(&j->slot[s - 1]);
                /* and the level 2 lookup, whether or not there are children */
                if (k + 1 < n) b4k_jieba_prefetch(j, s, cp[k + 1]);
            }
        } else {
            const uint64_t *e = b4k_jieba_edge(j, 0, cp[k]);
            s = e ? b4k_jieba_node(j, e) : 0;
        }
        an[k] = s;
    }
    size_t ne = 0, na = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t node = an[k];
        if (!node) continue;
        uint64_t e = j->slot[node - 1];
        uint32_t fi = b4k_jieba_fi(e);
        if (fi) {
            st->ek[ne] = (uint32_t)k;
            st->ex[ne] = (int32_t)k;
            st->elf[ne++] = lft[fi];
        }
        if ((e & B4K_JIEBA_KIDS) && k + 1 < n) {
            ak[na] = (uint32_t)k; /* na <= k: an[k] was read */
            an[na++] = node;
        }
    }
    /* deeper levels */
    for (size_t d = 1; na; d++) {
        if (entries_reserve(st, ne + na)) return -1;
        if (d > 1) /* level 2's were prefetched on level 1, the deeper ones below */
            for (size_t i = 0; i < na; i++) b4k_jieba_prefetch(j, an[i], cp[ak[i] + d]);
        size_t m = 0;
        for (size_t i = 0; i < na; i++) {
            size_t k = ak[i];
            const uint64_t *e = b4k_jieba_edge(j, an[i], cp[k + d]);
            if (!e) continue;
            uint32_t fi = b4k_jieba_fi(*e);
            if (fi) {
                st->ek[ne] = (uint32_t)k;
                st->ex[ne] = (int32_t)(k + d);
                st->elf[ne++] = lft[fi];
            }
            if ((*e & B4K_JIEBA_KIDS) && k + d + 1 < n) {
                ak[m] = (uint32_t)k;
                an[m++] = b4k_jieba_node(j, e);
            }
        }
        na = m;
    }
    /* lists by start; a start with no word gets itself, as jieba's
     * "if not tmplist: tmplist.append(k)" (log(FREQ.get(ch) or 1) = 0) */
    if (ne + n > st->dcap) {
        size_t c1 = st->dcap, c2 = st->dcap;
        if (B4K_GROW(st->dx, c1, ne + n) || B4K_GROW(st->dlf, c2, ne + n)) return -1;
        st->dcap = c1 < c2 ? c1 : c2;
    }
    int32_t *ds = st->dstart, *cur = st->rx; /* rx: a cursor per start until calc */
    memset(cur, 0, n * sizeof *cur);
    for (size_t e = 0; e < ne; e++) cur[st->ek[e]]++;
    ds[0] = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t cnt = cur[k];
        if (!cnt) {
            st->dx[ds[k]] = (int32_t)k;
            st->dlf[ds[k]] = 0.0;
            cnt = 1;
        }
        cur[k] = ds[k];
        ds[k + 1] = ds[k] + cnt;
    }
    for (size_t e = 0; e < ne; e++) {
        int32_t p = cur[st->ek[e]]++;
        st->dx[p] = st->ex[e];
        st->dlf[p] = st->elf[e];
    }
    const double lt = j->logtotal;
    st->rs[n] = 0;
    st->rx[n] = 0;
    for (size_t k = n; k-- > 0;) {
        double best = 0;
        int32_t bx = -1;
        for (int32_t e = st->dstart[k]; e < st->dstart[k + 1]; e++) {
            int32_t x = st->dx[e];
            double v = st->dlf[e] - lt + st->rs[x + 1];
            if (bx < 0 || v >= best) { /* ascending x: ties go to the larger */
                best = v;
                bx = x;
            }
        }
        st->rs[k] = best;
        st->rx[k] = bx;
    }
    return 0;
}

static int flush_buf(cutctx *c, size_t bs, size_t be)
{
    if (be - bs == 1) return emit(c, bs, be);
    const uint64_t *e = find_cps(c->j, c->st->cp + bs, be - bs);
    if (!e || !b4k_jieba_fi(*e)) return finalseg_cut(c, bs, be);
    for (size_t q = bs; q < be; q++)
        if (emit(c, q, q + 1)) return -1;
    return 0;
}

static int cut_dag(cutctx *c, size_t a, size_t b, int hmm)
{
    b4k_jieba_state *st = c->st;
    if (dag_route(c, a, b)) return -1;
    size_t n = b - a, x = 0;
    size_t bs = 0, be = 0; /* buffered single characters [bs,be) relative */
    int have = 0;
    while (x < n) {
        size_t y = (size_t)st->rx[x] + 1;
        if (hmm) {
            if (y - x == 1) {
                if (!have) bs = x, have = 1;
                be = y;
            } else {
                if (have) {
                    if (flush_buf(c, a + bs, a + be)) return -1;
                    have = 0;
                }
                if (emit(c, a + x, a + y)) return -1;
            }
        } else {
            uint32_t ch = st->cp[a + x];
            if (y - x == 1 && ch < 128 && is_alnum(ch)) {
                if (!have) bs = x, have = 1;
                be = y;
            } else {
                if (have && emit(c, a + bs, a + be)) return -1;
                have = 0;
                if (emit(c, a + x, a + y)) return -1;
            }
        }
        x = y;
    }
    if (have) return hmm ? flush_buf(c, a + bs, a + be) : emit(c, a + bs, a + be);
    return 0;
}

static int grow_text(b4k_jieba_state *st, size_t n)
{
    if (n + 1 <= st->cap) return 0;
    size_t c[7] = {st->cap, st->cap, st->cap, st->cap, st->cap, st->cap, st->cap};
    if (B4K_GROW(st->cp, c[0], n + 1) || B4K_GROW(st->off, c[1], n + 1) ||
        B4K_GROW(st->dstart, c[2], n + 1) || B4K_GROW(st->rs, c[3], n + 1) ||
        B4K_GROW(st->rx, c[4], n + 1) || B4K_GROW(st->ak, c[5], n + 1) ||
        B4K_GROW(st->anode, c[6], n + 1))
        return -1;
    size_t m = c[0];
    for (int i = 1; i < 7; i++)
        if (c[i] < m) m = c[i];
    st->cap = m;
    return 0;
}

int b4k_jieba_cut(const b4k_jieba *j, b4k_jieba_state *st, const char *text, size_t n, int hmm,
                  b4k_jieba_words *out, b4k_err *err)
{
    const unsigned char *s = (const unsigned char *)text;
    cutctx c = {j, st, out};
    if (n >= 0xffffffffu) return b4k_err_set(err, B4K_ERANGE, NULL, 0, "text too long");
    if (grow_text(st, n)) goto oom;
    size_t nc = 0;
    for (size_t i = 0; i < n;) {
        st->off[nc] = (uint32_t)i;
        i += (size_t)b4k_jieba_decode(s + i, n - i, &st->cp[nc]);
        nc++;
    }
    st->off[nc] = (uint32_t)n;
    size_t i = 0;
    while (i < nc) {
        if (is_han_default(st->cp[i])) {
            size_t e = i;
            while (e < nc && is_han_default(st->cp[e])) e++;
            if (cut_dag(&c, i, e, hmm)) goto oom;
            i = e;
        } else {
            size_t w = (st->cp[i] == '\r' && i + 1 < nc && st->cp[i + 1] == '\n') ? 2 : 1;
            if (emit(&c, i, i + w)) goto oom;
            i += w;
        }
    }
    return 0;
oom:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

/* ---- user dictionaries -------------------------------------------------- */

static int suggest_freq(b4k_jieba *j, const char *w, size_t n, uint64_t *out, b4k_err *err)
{
    b4k_jieba_state *st = b4k_jieba_state_new();
    b4k_jieba_words ws;
    int rc;
    b4k_jieba_words_init(&ws);
    if (!st) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if ((rc = b4k_jieba_cut(j, st, w, n, 0, &ws, err))) goto done;
    double ftotal = (double)j->total, f = 1.0;
    for (size_t i = 0; i < ws.n; i++) {
        const uint64_t *e = b4k_jieba_find(j, w + ws.beg[i], ws.end[i] - ws.beg[i]);
        double sf = e ? (double)j->ftab[b4k_jieba_fi(*e)] : 1.0;
        f *= sf / ftotal;
    }
    double prod = f * (double)j->total;
    uint64_t a = (uint64_t)prod + 1; /* int() truncates; prod >= 0 */
    const uint64_t *e = n ? b4k_jieba_find(j, w, n) : NULL;
    uint64_t b = e ? j->ftab[b4k_jieba_fi(*e)] : 1;
    *out = a > b ? a : b;
done:
    b4k_jieba_words_free(&ws);
    b4k_jieba_state_free(st);
    return rc;
}

static int set_and_count(b4k_jieba *j, const char *w, size_t n, uint64_t f, long line, b4k_err *err);

int b4k_jieba_add_word(b4k_jieba *j, const char *word, size_t len, int64_t freq, b4k_err *err)
{
    uint64_t f;
    int rc;
    if (freq < 0) {
        if ((rc = suggest_freq(j, word, len, &f, err))) return rc;
    } else {
        f = (uint64_t)freq;
    }
    return set_and_count(j, word, len, f, 0, err);
}


static int set_and_count(b4k_jieba *j, const char *w, size_t n, uint64_t f, long line, b4k_err *err)
{
    int rc;
    if ((rc = b4k_jieba_dict_set(j, w, n, f, err, line)) || (rc = b4k_jieba_dict_count(j, f, err, line)))
        return rc;
    return f == 0 ? b4k_jieba_force_split(j, w, n, err) : 0;
}

/* re_userdict = ^(.+?)( [0-9]+)?( [a-z]+)?$ : the shortest word whose rest
 * is "", " D+", " L+" or " D+ L+".  Returns the word length and the
 * frequency digits (fl = 0 when absent). */
static size_t span(const char *r, size_t n, char lo, char hi)
{
    size_t k = 0;
    while (k < n && r[k] >= lo && r[k] <= hi) k++;
    return k;
}

static int rest_ok(const char *r, size_t n, const char **f, size_t *fl)
{
    *fl = 0;
    if (n == 0) return 1;
    if (r[0] != ' ') return 0;
    size_t d = span(r + 1, n - 1, '0', '9');
    if (d) {
        if (1 + d == n) {
            *f = r + 1;
            *fl = d;
            return 1;
        }
        if (r[1 + d] == ' ') {
            size_t l = span(r + 2 + d, n - 2 - d, 'a', 'z');
            if (l && 2 + d + l == n) {
                *f = r + 1;
                *fl = d;
                return 1;
            }
        }
    }
    size_t l = span(r + 1, n - 1, 'a', 'z');
    return l && 1 + l == n;
}

static int userdict_stream(b4k_jieba *j, b4k_stream *s, const char *path, b4k_err *err);

int b4k_jieba_load_userdict(b4k_jieba *j, const char *path, b4k_err *err)
{
    b4k_stream *s = NULL;
    int rc;
    if ((rc = b4k_stream_open(&s, path, err))) return rc;
    rc = userdict_stream(j, s, path, err);
    b4k_stream_close(s);
    return rc;
}

int b4k_jieba_load_userdict_mem(b4k_jieba *j, const void *data, size_t n, const char *name,
                                b4k_err *err)
{
    b4k_stream *s = NULL;
    int rc;
    if ((rc = b4k_stream_open_mem(&s, n ? data : "", n, name ? name : "", err))) return rc;
    rc = userdict_stream(j, s, name ? name : "", err);
    b4k_stream_close(s);
    return rc;
}

static int userdict_stream(b4k_jieba *j, b4k_stream *s, const char *path, b4k_err *err)
{
    char *line;
    size_t len;
    int rc, k;
    b4k_stream_set_max_line(s, 1 << 20);
    while ((k = b4k_stream_getline(s, &line, &len, err)) == 1) {
        long ln = b4k_stream_lineno(s);
        while (len && (line[len - 1] == ' ' || (line[len - 1] >= '\t' && line[len - 1] <= '\r'))) len--;
        while (len && (line[0] == ' ' || (line[0] >= '\t' && line[0] <= '\r'))) line++, len--;
        if (b4k_utf8_check(line, len) != (size_t)-1) {
            rc = b4k_err_set(err, B4K_EFORMAT, path, ln, "dictionary file must be UTF-8");
            goto done;
        }
        while (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) line += 3, len -= 3;
        if (!len) continue;
        size_t wl = 0;
        const char *f = NULL;
        size_t fl = 0;
        for (wl = 1; wl <= len; wl++) {
            if (wl < len && ((unsigned char)line[wl] & 0xC0) == 0x80) continue;
            if (rest_ok(line + wl, len - wl, &f, &fl)) break;
        }
        if (wl > len) {
            rc = b4k_err_set(err, B4K_EFORMAT, path, ln, "invalid dictionary entry");
            goto done;
        }
        int64_t freq = -1;
        if (fl) {
            uint64_t v = 0;
            for (size_t q = 0; q < fl; q++) {
                if (v > ((uint64_t)1 << 53)) {
                    rc = b4k_err_set(err, B4K_ERANGE, path, ln, "frequency too large");
                    goto done;
                }
                v = v * 10 + (uint64_t)(f[q] - '0');
            }
            freq = (int64_t)v;
        }
        if (freq < 0) {
            uint64_t sf;
            if ((rc = suggest_freq(j, line, wl, &sf, err))) goto done;
            freq = (int64_t)sf;
        }
        if ((rc = set_and_count(j, line, wl, (uint64_t)freq, ln, err))) {
            b4k_err_locate(err, path, ln);
            goto done;
        }
    }
    rc = k < 0 ? k : 0;
done:
    return rc;
}
