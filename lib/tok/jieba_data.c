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
 *   24   8  n_words: edges flagged as words
 *   32   4  n_root: root[] covers code points below it (0 or 65536)
 *   36   4  n_freq: distinct frequencies
 *   40   8  n_slots: the edge table (a multiple of 4)
 *   48   4  n_emit: HMM emission rows
 *   52   4  0
 *   56   8  n_edges: non-empty slots
 *   64   32 start log-probabilities, states B E M S (f64)
 *   96   128 transition log-probabilities [from][to] (f64; -3.14e100 = none)
 *   224  32 0
 *   256     root  u32[n_root]: slot + 1 of the root's edge by code point, 0 = none
 *           slots u64[n_slots]: the edges, see jieba_impl.h (node = slot + 1;
 *                 b4k_jieba_home: buckets of 4, linear probing)
 *           ftab  u64[n_freq + 1]: 0, then the frequencies, ascending
 *           lft   f64[n_freq + 1]: 0, then their natural logs
 *           ecp   u32[n_emit]: code points in U+4E00..U+9FD5, ascending
 *           ev    f64[n_emit][4]: emission log-probabilities B E M S
 *   end-8   u64 XXH64 (seed 0) of everything before it
 * The loader checks everything an index or a loop depends on: counts and
 * sizes, every edge (code point, parent and frequency index in range,
 * found where a lookup looks, no duplicate), the children and word flags,
 * the root table, the frequency table, emission rows, and the checksum.
 * The saver writes a canonical file: edges inserted breadth-first with
 * children by code point, frequencies ascending, so a dictionary gives the
 * same bytes however it was built. */
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
    uint64_t n_root, n_freq, n_slots, n_emit;
    size_t root, slots, ftab, lft, ecp, ev, sum, size; /* offsets; size with the checksum */
} layout;

static size_t up64(size_t x) { return (x + 63) & ~(size_t)63; }

/* offsets from the counts (already range-checked, so nothing overflows) */
static void lay_out(layout *L)
{
    L->root = HEADER;
    L->slots = up64(L->root + 4 * L->n_root);
    L->ftab = up64(L->slots + 8 * L->n_slots);
    L->lft = up64(L->ftab + 8 * (L->n_freq + 1));
    L->ecp = up64(L->lft + 8 * (L->n_freq + 1));
    L->ev = up64(L->ecp + 4 * L->n_emit);
    L->sum = L->ev + 32 * L->n_emit;
    L->size = L->sum + 8;
}

/* ---- saving --------------------------------------------------------------- */

static int is_min_float(double d)
{
    double m = B4K_JIEBA_MIN_FLOAT;
    return !memcmp(&d, &m, sizeof d);
}

static int emit_present(const double *r)
{
    return !(is_min_float(r[0]) && is_min_float(r[1]) && is_min_float(r[2]) && is_min_float(r[3]));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int b4k_jieba_save(const b4k_jieba *j, b4k_buf *out, b4k_err *err)
{
    int rc = 0;
    const size_t nf = j->n_freq;
    uint32_t *fmap = b4k_calloc(nf + 1, sizeof *fmap); /* old index -> new (ascending) */
    uint64_t *fv = b4k_malloc_n(nf + 1, sizeof *fv), *slot = NULL;
    uint32_t *root = NULL;
    if (!fmap || !fv) goto nomem;
    /* the frequencies in use, ascending */
    for (size_t i = 0; i < j->n_slots; i++)
        if (j->slot[i]) fmap[b4k_jieba_fi(j->slot[i])] = 1;
    fmap[0] = 0; /* frequency 0 stays index 0 */
    size_t n_freq = 0;
    for (size_t i = 1; i <= nf; i++)
        if (fmap[i]) fv[n_freq++] = j->ftab[i];
    qsort(fv, n_freq, sizeof *fv, cmp_u64);
    for (size_t i = 1; i <= nf; i++) {
        if (!fmap[i]) continue;
        const uint64_t *at = bsearch(&j->ftab[i], fv, n_freq, sizeof *fv, cmp_u64);
        fmap[i] = (uint32_t)(at - fv) + 1;
    }
    size_t n_slots = ((j->n_edges * 5 + 2) / 3 + 3) & ~(size_t)3;
    if (n_slots <= j->n_edges) n_slots += 4;
    uint32_t n_root = j->n_edges >= 4096 ? 0x10000 : 0;
    slot = b4k_calloc(n_slots, sizeof *slot);
    root = b4k_calloc(n_root ? n_root : 1, sizeof *root);
    if (!slot || !root) goto nomem;
    long n_edges = b4k_jieba_relayout(j->slot, j->n_slots, slot, n_slots, root, n_root, fmap);
    if (n_edges < 0) goto nomem;
    uint64_t n_words = 0;
    for (size_t i = 0; i < n_slots; i++) n_words += (slot[i] & B4K_JIEBA_WORD) != 0;
    size_t n_emit = 0;
    for (size_t i = 0; i < B4K_JIEBA_EMIT_N; i++) n_emit += j->eidx[i] && emit_present(j->ev[j->eidx[i] - 1]);
    layout L = {n_root, n_freq, n_slots, n_emit, 0, 0, 0, 0, 0, 0, 0, 0};
    lay_out(&L);
    size_t at = out->len;
    if (b4k_buf_reserve(out, L.size)) goto nomem;
    unsigned char *b = (unsigned char *)out->data + at;
    memset(b, 0, L.size);
    memcpy(b, MAGIC, 8);
    put_le(b + 8, VERSION, 4);
    put_le(b + 16, j->total, 8);
    put_le(b + 24, n_words, 8);
    put_le(b + 32, n_root, 4);
    put_le(b + 36, n_freq, 4);
    put_le(b + 40, n_slots, 8);
    put_le(b + 48, n_emit, 4);
    put_le(b + 56, (uint64_t)n_edges, 8);
    for (int s = 0; s < 4; s++) put_f64(b + 64 + 8 * s, j->start[s]);
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 4; t++) put_f64(b + 96 + 8 * (4 * s + t), j->trans[s][t]);
    for (size_t i = 0; i < n_root; i++) put_le(b + L.root + 4 * i, root[i], 4);
    for (size_t i = 0; i < n_slots; i++) put_le(b + L.slots + 8 * i, slot[i], 8);
    for (size_t i = 0; i < n_freq; i++) {
        put_le(b + L.ftab + 8 * (i + 1), fv[i], 8);
        put_f64(b + L.lft + 8 * (i + 1), log((double)fv[i]));
    }
    size_t k = 0;
    for (size_t i = 0; i < B4K_JIEBA_EMIT_N; i++) {
        if (!j->eidx[i]) continue;
        const double *r = j->ev[j->eidx[i] - 1];
        if (!emit_present(r)) continue;
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
    b4k_free(fmap);
    b4k_free(fv);
    b4k_free(slot);
    b4k_free(root);
    return rc;
}

/* ---- loading -------------------------------------------------------------- */

/* Check the image p[0..n) (8-byte aligned) and point j's arrays into it. */
static int view(b4k_jieba *j, const unsigned char *p, size_t n, b4k_err *err)
{
    int rc = 0;
    uint8_t *kids = NULL;
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
    if (L.n_root != 0 && L.n_root != 0x10000) BAD("bad root table size %llu", (unsigned long long)L.n_root);
    if (L.n_freq > B4K_JIEBA_MAX_FREQS) BAD("bad frequency count %llu", (unsigned long long)L.n_freq);
    if (L.n_slots < 4 || L.n_slots % 4 || L.n_slots > B4K_JIEBA_MAX_SLOTS)
        BAD("bad slot count %llu", (unsigned long long)L.n_slots);
    if (L.n_emit > B4K_JIEBA_EMIT_N) BAD("bad emission count %llu", (unsigned long long)L.n_emit);
    if (n_edges >= L.n_slots) BAD("bad edge count %llu", (unsigned long long)n_edges);
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
    const uint64_t *slot = (const uint64_t *)(p + L.slots);
    const uint64_t *ftab = (const uint64_t *)(p + L.ftab);
    const double *lft = (const double *)(p + L.lft);
    const uint32_t *ecp = (const uint32_t *)(p + L.ecp);
    const size_t ns = L.n_slots;
    /* frequencies: 0, then ascending, with finite logs */
    if (ftab[0] || get_le(p + L.lft, 8)) BAD("frequency 0 is not first");
    for (size_t i = 1; i <= L.n_freq; i++) {
        if (ftab[i] <= ftab[i - 1] || ftab[i] > ((uint64_t)1 << 53))
            BAD("frequency table: entry %zu out of order or too large", i);
        if (!(lft[i] >= 0 && lft[i] < 40)) BAD("frequency table: bad log at %zu", i);
    }
    /* edges */
    kids = b4k_calloc(ns / 8 + 1, 1); /* node i + 1 has children: a bitmap, it stays in cache */
    if (!kids) {
        rc = oom(err);
        goto done;
    }
    size_t used = 0, words = 0, force = 0, root_edges = 0;
    for (size_t i = 0; i < ns; i++) {
        uint64_t s = slot[i];
        if (!s) continue;
        uint32_t cp = (uint32_t)(s & 0x1FFFFF), par = b4k_jieba_parent(s);
        if (cp > 0x10FFFF || par > ns || par == i + 1 || b4k_jieba_fi(s) > L.n_freq)
            BAD("slot %zu: edge out of range", i);
        if (par) kids[(par - 1) >> 3] |= (uint8_t)(1u << ((par - 1) & 7));
        used++;
        words += (s & B4K_JIEBA_WORD) != 0;
        force += (s & B4K_JIEBA_FORCE) != 0;
        root_edges += par == 0 && cp < L.n_root;
    }
    if (used != n_edges) BAD("%zu edges, the header says %llu", used, (unsigned long long)n_edges);
    if (words != n_words) BAD("word count %llu, but %zu edges are words", (unsigned long long)n_words, words);
    /* each edge is where a lookup finds it: the slots from its home up to
     * it are full and hold other keys (so no edge is a duplicate); the
     * probes are bounded, clustering past that is refused */
    size_t budget = 16 * ns;
    for (size_t i = 0; i < ns; i++) {
        uint64_t s = slot[i];
        if (!s) continue;
        if (!(s & B4K_JIEBA_KIDS) != !(kids[i >> 3] & (1u << (i & 7))))
            BAD("slot %zu: children flag does not match", i);
        uint64_t key = s & B4K_JIEBA_KEYMASK;
        for (size_t h = b4k_jieba_home(key, ns); h != i; h = h + 1 == ns ? 0 : h + 1) {
            if (!slot[h]) BAD("slot %zu: not where a lookup finds it", i);
            if ((slot[h] & B4K_JIEBA_KEYMASK) == key) BAD("slot %zu: a duplicate edge", i);
            if (!budget--) BAD("the edge table is too clustered");
        }
    }
    /* the root table: exactly the root's edges below n_root */
    size_t root_set = 0;
    for (uint32_t cp = 0; cp < L.n_root; cp++) {
        uint32_t v = root[cp];
        if (!v) continue;
        if (v > ns || (slot[v - 1] & B4K_JIEBA_KEYMASK) != b4k_jieba_key(0, cp))
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
    j->slot = (uint64_t *)slot;
    j->n_slots = ns;
    j->n_edges = n_edges;
    j->ftab = (uint64_t *)ftab;
    j->lft = (double *)lft;
    j->n_freq = j->freq_cap = L.n_freq;
    j->n_words = words;
    j->n_force = force;
    j->total = total;
    j->logtotal = log((double)total);
    j->ev = (double(*)[4])(p + L.ev);
    j->n_emit = j->ev_cap = L.n_emit;
    j->owned = 0;
done:
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
