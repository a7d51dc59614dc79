/* The b4k jieba data file: the dictionary trie and the HMM parameters laid
 * out so that the arrays are used in place, from an mmap'd file or a
 * buffer, with nothing built at load time (version 1 stored a word list and
 * rebuilt the trie on every load).
 *
 * Format version 2, all little-endian; every section starts 64-byte aligned
 * and its size follows from the header's counts:
 *   0    8  magic "B4KJIEBA"
 *   8    4  version (2)
 *   12   4  flags (0)
 *   16   8  total: jieba's FREQ total (sum of every dictionary line's freq)
 *   24   8  n_words: nodes flagged as words
 *   32   4  n_nodes (node 0 is the root)
 *   36   4  n_root: root[] covers code points below it
 *   40   8  n_slots: edge hash slots (a multiple of 4)
 *   48   4  n_emit: HMM emission rows
 *   52   4  0
 *   56   8  n_edges: non-empty slots (= n_nodes - 1)
 *   64   32 start log-probabilities, states B E M S (f64)
 *   96   128 transition log-probabilities [from][to] (f64; -3.14e100 = none)
 *   224  32 0
 *   256     root  u32[n_root]: slot + 1 of the root's edge by code point, 0 = none
 *           slots {u64 kc, u64 lf}[n_slots]: see jieba_impl.h (b4k_jieba_slot,
 *                 b4k_jieba_home: buckets of 4, linear probing)
 *           freq  u64[n_nodes]
 *           flag  u8[n_nodes]: 1 word, 2 split into characters after the HMM
 *           ecp   u32[n_emit]: code points in U+4E00..U+9FD5, ascending
 *           ev    f64[n_emit][4]: emission log-probabilities B E M S
 *   end-8   u64 XXH64 (seed 0) of everything before it
 * The loader checks everything an index or a loop depends on: sizes, every
 * slot's parent, code point and child (each child reached once, so the
 * edges form a tree), the children flag, the root table, frequencies and
 * flags, emission rows; a probe always ends (n_edges < n_slots).  The
 * slots' copies of "freq > 0" and log(freq) are covered by the checksum
 * only (comparing them with freq[] would cost a cache miss per node).
 * The saver writes a canonical file: nodes renumbered breadth-first with
 * children by code point, so a dictionary gives the same bytes however it
 * was built. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "model/model.h"
#include "tok/jieba_impl.h"

#define VERSION 2
#define HEADER 256
#define MAX_SLOTS ((size_t)1 << 24)

static const char MAGIC[8] = {'B', '4', 'K', 'J', 'I', 'E', 'B', 'A'};

static int oom(b4k_err *err) { return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory"); }

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_le(p, u, 8);
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = get_le(p, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* XXH64 (seed 0), as the .b4k container's tensor checksums */
uint64_t b4k_jieba_data_checksum(const void *data, size_t n) { return b4k_xxh64(data, n, 0); }

/* ---- layout ---------------------------------------------------------------- */

typedef struct layout {
    uint64_t n_nodes, n_root, n_slots, n_emit;
    size_t root, slots, freq, flag, ecp, ev, sum, size; /* offsets; size with the checksum */
} layout;

static size_t up64(size_t x) { return (x + 63) & ~(size_t)63; }

/* offsets from the counts (already range-checked, so nothing overflows) */
static void lay_out(layout *L)
{
    L->root = HEADER;
    L->slots = up64(L->root + 4 * L->n_root);
    L->freq = L->slots + 16 * L->n_slots;
    L->flag = up64(L->freq + 8 * L->n_nodes);
    L->ecp = up64(L->flag + L->n_nodes);
    L->ev = up64(L->ecp + 4 * L->n_emit);
    L->sum = L->ev + 32 * L->n_emit;
    L->size = L->sum + 8;
}

/* ---- saving --------------------------------------------------------------- */

typedef struct edge {
    uint64_t key;   /* (parent + 1) << 21 | cp, old numbering */
    uint32_t child; /* old */
    uint32_t slot;  /* where it is */
} edge;

static int cmp_edge(const void *a, const void *b)
{
    uint64_t x = ((const edge *)a)->key, y = ((const edge *)b)->key;
    return (x > y) - (x < y);
}

static int is_min_float(double d)
{
    double m = B4K_JIEBA_MIN_FLOAT;
    return !memcmp(&d, &m, sizeof d);
}

int b4k_jieba_save(const b4k_jieba *j, b4k_buf *out, b4k_err *err)
{
    int rc = 0;
    size_t ne = 0, nn = j->n_nodes;
    edge *e = b4k_malloc_n(j->n_edges ? j->n_edges : 1, sizeof *e);
    uint32_t *first = b4k_calloc(nn + 1, sizeof *first); /* edges of old parent p: [first[p], first[p+1]) */
    uint32_t *q = b4k_malloc_n(nn, sizeof *q);           /* BFS order: new id -> old id */
    uint32_t *nid = b4k_malloc_n(nn, sizeof *nid);       /* old id -> new id, UINT32_MAX = unseen */
    uint32_t *tp = b4k_malloc_n(nn, sizeof *tp);         /* tree edge into new node i: its edge */
    uint8_t *kids = b4k_calloc(nn, 1);
    if (!e || !first || !q || !nid || !tp || !kids) goto nomem;
    for (size_t i = 0; i < j->n_slots; i++) {
        if (!j->slot[i].kc) continue;
        if (ne == j->n_edges) break;
        e[ne].key = j->slot[i].kc & B4K_JIEBA_KEYMASK;
        e[ne].child = b4k_jieba_child(&j->slot[i]);
        e[ne].slot = (uint32_t)i;
        ne++;
    }
    qsort(e, ne, sizeof *e, cmp_edge);
    for (size_t i = 0; i < ne; i++) first[(e[i].key >> 21) - 1 + 1]++; /* counts by parent */
    for (size_t p = 0; p < nn; p++) first[p + 1] += first[p];
    memset(nid, 0xff, nn * sizeof *nid);
    /* breadth-first, children in code point order */
    size_t head = 0, cnt = 1;
    q[0] = 0;
    nid[0] = 0;
    while (head < cnt) {
        uint32_t p = q[head++];
        for (uint32_t k = first[p]; k < first[p + 1]; k++) {
            uint32_t c = e[k].child;
            if (c >= nn || nid[c] != UINT32_MAX) continue; /* not a tree (cannot load) */
            nid[c] = (uint32_t)cnt;
            tp[cnt] = k;
            q[cnt++] = c;
            kids[head - 1] = 1;
        }
    }
    size_t n_edges = cnt - 1;
    size_t n_slots = ((n_edges * 5 + 2) / 3 + 3) & ~(size_t)3;
    if (n_slots <= n_edges) n_slots += 4;
    size_t n_emit = 0;
    for (size_t i = 0; i < B4K_JIEBA_EMIT_N; i++) {
        if (!j->eidx[i]) continue;
        const double *r = j->ev[j->eidx[i] - 1];
        n_emit += !(is_min_float(r[0]) && is_min_float(r[1]) && is_min_float(r[2]) &&
                    is_min_float(r[3]));
    }
    layout L = {cnt, n_edges >= 4096 ? 0x10000 : 0, n_slots, n_emit, 0, 0, 0, 0, 0, 0, 0, 0};
    lay_out(&L);
    size_t at = out->len;
    if (b4k_buf_reserve(out, L.size)) goto nomem;
    unsigned char *b = (unsigned char *)out->data + at;
    memset(b, 0, L.size);
    /* header */
    memcpy(b, MAGIC, 8);
    put_le(b + 8, VERSION, 4);
    put_le(b + 16, j->total, 8);
    put_le(b + 32, cnt, 4);
    put_le(b + 36, L.n_root, 4);
    put_le(b + 40, n_slots, 8);
    put_le(b + 48, n_emit, 4);
    put_le(b + 56, n_edges, 8);
    for (int s = 0; s < 4; s++) put_f64(b + 64 + 8 * s, j->start[s]);
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 4; t++) put_f64(b + 96 + 8 * (4 * s + t), j->trans[s][t]);
    /* nodes */
    uint64_t n_words = 0;
    for (size_t i = 0; i < cnt; i++) {
        put_le(b + L.freq + 8 * i, j->freq[q[i]], 8);
        b[L.flag + i] = j->flag[q[i]];
        n_words += j->flag[q[i]] & B4K_JIEBA_WORD;
    }
    put_le(b + 24, n_words, 8);
    /* edges, in new-node order */
    for (size_t i = 1; i < cnt; i++) {
        const edge *x = &e[tp[i]];
        const b4k_jieba_slot *s = &j->slot[x->slot];
        uint32_t parent = nid[(x->key >> 21) - 1], cp = (uint32_t)(x->key & 0x1FFFFF);
        uint64_t key = ((uint64_t)(parent + 1) << 21) | cp;
        size_t h = b4k_jieba_home(key, n_slots);
        while (get_le(b + L.slots + 16 * h, 8))
            if (++h == n_slots) h = 0;
        put_le(b + L.slots + 16 * h, key | ((uint64_t)i << 42) | (s->kc & B4K_JIEBA_HASF), 8);
        put_le(b + L.slots + 16 * h + 8, (s->lf & ~B4K_JIEBA_KIDS) | (kids[i] ? B4K_JIEBA_KIDS : 0), 8);
        if (parent == 0 && cp < L.n_root) put_le(b + L.root + 4 * cp, h + 1, 4);
    }
    /* emission rows by code point */
    size_t k = 0;
    for (size_t i = 0; i < B4K_JIEBA_EMIT_N; i++) {
        if (!j->eidx[i]) continue;
        const double *r = j->ev[j->eidx[i] - 1];
        if (is_min_float(r[0]) && is_min_float(r[1]) && is_min_float(r[2]) && is_min_float(r[3]))
            continue;
        put_le(b + L.ecp + 4 * k, B4K_JIEBA_EMIT_LO + i, 4);
        for (int s = 0; s < 4; s++) put_f64(b + L.ev + 32 * k + 8 * s, r[s]);
        k++;
    }
    put_le(b + L.sum, b4k_jieba_data_checksum(b, L.sum), 8);
    out->len = at + L.size;
    out->data[out->len] = 0;
    goto done;
nomem:
    rc = oom(err);
done:
    b4k_free(e);
    b4k_free(first);
    b4k_free(q);
    b4k_free(nid);
    b4k_free(tp);
    b4k_free(kids);
    return rc;
}

/* ---- loading -------------------------------------------------------------- */

/* Check the image p[0..n) (8-byte aligned) and point j's arrays into it. */
static int view(b4k_jieba *j, const unsigned char *p, size_t n, b4k_err *err)
{
    int rc = 0;
    uint8_t *seen = NULL, *kids = NULL;
#define BAD(...) do { rc = b4k_err_set(err, B4K_EFORMAT, j->name, 0, __VA_ARGS__); goto done; } while (0)
    if (n < 12) BAD("not a b4k jieba data file (too short)");
    if (memcmp(p, MAGIC, 8)) BAD("not a b4k jieba data file (bad magic)");
    uint32_t version = (uint32_t)get_le(p + 8, 4);
    if (version == 1)
        BAD("jieba data format version 1 is no longer read (this build reads version %d): "
            "regenerate the file with jieba-data (make), or convert the model again", VERSION);
    if (version != VERSION) BAD("unsupported jieba data version %u (this build reads %d)", version, VERSION);
    if (n < HEADER + 8) BAD("not a b4k jieba data file (too short)");
    if (get_le(p + 12, 4) || get_le(p + 52, 4)) BAD("unknown flags in the header");
    for (int i = 224; i < HEADER; i++)
        if (p[i]) BAD("unknown fields in the header");
    layout L = {get_le(p + 32, 4), get_le(p + 36, 4), get_le(p + 40, 8), get_le(p + 48, 4),
                0, 0, 0, 0, 0, 0, 0, 0};
    uint64_t total = get_le(p + 16, 8), n_words = get_le(p + 24, 8), n_edges = get_le(p + 56, 8);
    if (L.n_nodes < 1 || L.n_nodes > B4K_JIEBA_MAX_NODES + 1) BAD("bad node count %llu", (unsigned long long)L.n_nodes);
    if (L.n_root > 0x10000) BAD("bad root table size %llu", (unsigned long long)L.n_root);
    if (L.n_slots < 4 || L.n_slots % 4 || L.n_slots > MAX_SLOTS) BAD("bad slot count %llu", (unsigned long long)L.n_slots);
    if (L.n_emit > B4K_JIEBA_EMIT_N) BAD("bad emission count %llu", (unsigned long long)L.n_emit);
    if (n_edges != L.n_nodes - 1 || n_edges >= L.n_slots) BAD("bad edge count %llu", (unsigned long long)n_edges);
    if (n_words > n_edges || total > ((uint64_t)1 << 62)) BAD("implausible word count or total");
    lay_out(&L);
    if (L.size != n) BAD("section sizes do not match the file size (%zu bytes, expected %zu)", n, L.size);
    if (b4k_jieba_data_checksum(p, n - 8) != get_le(p + n - 8, 8)) {
        rc = b4k_err_set(err, B4K_ECHECKSUM, j->name, 0, "checksum mismatch (corrupt jieba data)");
        goto done;
    }
    for (int a = 0; a < 4; a++) j->start[a] = get_f64(p + 64 + 8 * a);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) j->trans[a][b] = get_f64(p + 96 + 8 * (4 * a + b));
    const uint32_t *root = (const uint32_t *)(p + L.root);
    const b4k_jieba_slot *slot = (const b4k_jieba_slot *)(p + L.slots);
    const uint64_t *freq = (const uint64_t *)(p + L.freq);
    const uint8_t *flag = p + L.flag;
    const uint32_t *ecp = (const uint32_t *)(p + L.ecp);
    const uint32_t nn = (uint32_t)L.n_nodes;
    /* nodes */
    size_t words = 0, force = 0;
    for (uint32_t i = 0; i < nn; i++) {
        if (freq[i] > ((uint64_t)1 << 53)) BAD("node %u: frequency too large", i);
        if (flag[i] & ~3u) BAD("node %u: unknown flags", i);
        words += flag[i] & B4K_JIEBA_WORD;
        force += (flag[i] & B4K_JIEBA_FORCE_SPLIT) != 0;
    }
    if (flag[0] || freq[0]) BAD("node 0 (the root) has a frequency or flags");
    if (words != n_words) BAD("word count %llu, but %zu nodes are words", (unsigned long long)n_words, words);
    /* edges: each child once, parents and code points in range */
    seen = b4k_calloc(nn / 8 + 1, 1); /* bitmaps: they stay in cache */
    kids = b4k_calloc(nn / 8 + 1, 1);
    if (!seen || !kids) {
        rc = oom(err);
        goto done;
    }
    size_t used = 0, root_edges = 0;
    for (size_t i = 0; i < L.n_slots; i++) {
        uint64_t kc = slot[i].kc;
        if (!kc) {
            if (slot[i].lf) BAD("slot %zu: empty with a value", i);
            continue;
        }
        uint64_t key = kc & B4K_JIEBA_KEYMASK, par = (key >> 21);
        uint32_t cp = (uint32_t)(key & 0x1FFFFF), c = b4k_jieba_child(&slot[i]);
        if (par == 0 || par > nn || cp > 0x10FFFF || c == 0 || c >= nn)
            BAD("slot %zu: edge out of range", i);
        if (seen[c >> 3] & (1u << (c & 7))) BAD("slot %zu: node %u has two parents", i, c);
        seen[c >> 3] |= (uint8_t)(1u << (c & 7));
        kids[(par - 1) >> 3] |= (uint8_t)(1u << ((par - 1) & 7));
        uint64_t lb = slot[i].lf & ~B4K_JIEBA_KIDS;
        if ((lb >> 52) >= 0x7FF) BAD("slot %zu: log frequency is not finite", i);
        used++;
        root_edges += par == 1 && cp < L.n_root;
    }
    if (used != n_edges) BAD("%zu edges, the header says %llu", used, (unsigned long long)n_edges);
    /* each edge is where a lookup finds it: the slots from its home up to
     * it are full and hold other keys (so there are no duplicate edges);
     * the probes are bounded, clustering past that is refused */
    size_t budget = 16 * L.n_slots;
    for (size_t i = 0; i < L.n_slots; i++) {
        if (!slot[i].kc) continue;
        uint32_t c = b4k_jieba_child(&slot[i]);
        if (!(slot[i].lf & B4K_JIEBA_KIDS) != !(kids[c >> 3] & (1u << (c & 7))))
            BAD("slot %zu: children flag does not match", i);
        uint64_t key = slot[i].kc & B4K_JIEBA_KEYMASK;
        for (size_t h = b4k_jieba_home(key, L.n_slots); h != i; h = h + 1 == L.n_slots ? 0 : h + 1) {
            if (!slot[h].kc) BAD("slot %zu: not where a lookup finds it", i);
            if ((slot[h].kc & B4K_JIEBA_KEYMASK) == key) BAD("slot %zu: a duplicate edge", i);
            if (!budget--) BAD("the edge table is too clustered");
        }
    }
    /* the root table: exactly the root's edges below n_root */
    size_t root_set = 0;
    for (uint32_t cp = 0; cp < L.n_root; cp++) {
        uint32_t v = root[cp];
        if (!v) continue;
        if (v > L.n_slots || (slot[v - 1].kc & B4K_JIEBA_KEYMASK) != ((1ull << 21) | cp))
            BAD("root entry U+%04X does not point at its edge", cp);
        root_set++;
    }
    if (root_set != root_edges) BAD("root table misses %zu edges", root_edges - root_set);
    /* emission rows */
    memset(j->eidx, 0, sizeof j->eidx);
    for (size_t i = 0; i < L.n_emit; i++) {
        uint32_t k = ecp[i] - B4K_JIEBA_EMIT_LO;
        if (k >= B4K_JIEBA_EMIT_N || (i && ecp[i] <= ecp[i - 1]))
            BAD("emission row %zu: code point out of range or out of order", i);
        j->eidx[k] = (uint16_t)(i + 1);
    }
#undef BAD
    j->root = (uint32_t *)root;
    j->n_root = (uint32_t)L.n_root;
    j->slot = (b4k_jieba_slot *)slot;
    j->n_slots = L.n_slots;
    j->n_edges = n_edges;
    j->freq = (uint64_t *)freq;
    j->flag = (uint8_t *)flag;
    j->n_nodes = j->nodes_cap = nn;
    j->n_words = words;
    j->n_force = force;
    j->total = total;
    j->logtotal = log((double)total);
    j->ev = (double(*)[4])(p + L.ev);
    j->n_emit = j->ev_cap = L.n_emit;
    j->owned = 0;
done:
    b4k_free(seen);
    b4k_free(kids);
    return rc;
}

static b4k_jieba *jb_alloc(const char *name)
{
    b4k_jieba *j = b4k_calloc(1, sizeof *j);
    if (j) snprintf(j->name, sizeof j->name, "%s", name ? name : "");
    return j;
}

int b4k_jieba_load_mem(b4k_jieba **out, const void *data, size_t n, const char *name,
                       b4k_err *err)
{
    int rc;
    *out = NULL;
    b4k_jieba *j = jb_alloc(name);
    void *img = b4k_aligned_alloc(64, n ? n : 1);
    if (!j || !img) {
        b4k_free(j);
        b4k_free(img);
        return oom(err);
    }
    if (n) memcpy(img, data, n);
    j->image = img;
    if ((rc = view(j, img, n, err))) {
        b4k_jieba_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* A plain file is mmap'd and used in place; a .zst file (or a pipe) is read
 * into memory. */
int b4k_jieba_load(b4k_jieba **out, const char *path, b4k_err *err)
{
    int rc;
    *out = NULL;
    b4k_jieba *j = jb_alloc(path);
    if (!j) return oom(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char magic[4] = {0};
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 8 &&
        pread(fd, magic, 4, 0) == 4 && memcmp(magic, "\x28\xB5\x2F\xFD", 4)) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED) {
            close(fd);
            j->map = m;
            j->map_len = (size_t)st.st_size;
            if ((rc = view(j, m, j->map_len, err))) goto fail;
            *out = j;
            return 0;
        }
    }
    if (fd >= 0) close(fd);
    char *buf;
    size_t n;
    if ((rc = b4k_jieba_slurp(path, &buf, &n, (size_t)1 << 31, err))) goto fail;
    j->image = buf; /* malloc'd: aligned enough */
    if ((rc = view(j, (const unsigned char *)buf, n, err))) goto fail;
    *out = j;
    return 0;
fail:
    b4k_jieba_free(j);
    return rc;
}
