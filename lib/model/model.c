/* .b4k reader: validates the whole header on a memory buffer (mmap'd file
 * or caller's buffer), then hands out zero-copy or decompressed views. */
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/alloc.h"

typedef struct mtensor {
    char *name;
    int dtype, ndim, codec;
    int64_t shape[B4K_MAX_DIMS];
    uint64_t offset, stored, raw, checksum;
    const char *cks_text; /* borrowed from the header JSON */
    /* First access may race between threads: both are published with
     * release stores and read with acquire loads.  Racing threads may each
     * hash (idempotent); for zstd the first decompressed copy wins and the
     * others are freed, so no lock and nothing slower at open. */
    atomic_int verified;
    _Atomic(void *) owned; /* decompressed zstd data */
} mtensor;

struct b4k_model {
    char *name;
    const uint8_t *base;
    size_t size;
    void *map;
    size_t map_len;
    int fd;              /* the mapped file (for pread), or -1 */
    unsigned flags;
    json_t *header;
    const char *arch;
    json_t *config, *tok;
    const uint8_t *data; /* base + D */
    size_t data_len;
    mtensor *t;          /* file (offset) order */
    size_t nt;
    size_t *by_name;     /* indices sorted by name */
};

#define FAIL(code, ...) b4k_err_set(err, code, m->name, 0, __VA_ARGS__)

static int get_u64(const json_t *o, const char *key, uint64_t *v)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return -1;
    *v = (uint64_t)json_integer_value(x);
    return 0;
}

static int parse_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (strncmp(s, "xxh64:", 6) || strlen(s) != 22)
        return -1;
    for (int i = 6; i < 22; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int parse_tensor(b4k_model *m, mtensor *t, const char *name, json_t *e, b4k_err *err)
{
    json_t *shape, *dt, *codec, *cks;
    size_t need, end;
    if (!json_is_object(e))
        return FAIL(B4K_EFORMAT, "tensor %s: entry is not an object", name);
    t->name = b4k_strdup(name);
    if (!t->name)
        return FAIL(B4K_ENOMEM, "out of memory");
    dt = json_object_get(e, "dtype");
    t->dtype = json_is_string(dt) ? b4k_dtype_from_name(json_string_value(dt)) : -1;
    if (t->dtype < 0)
        return FAIL(B4K_EFORMAT, "tensor %s: unknown dtype", name);
    shape = json_object_get(e, "shape");
    if (!json_is_array(shape) || json_array_size(shape) > B4K_MAX_DIMS)
        return FAIL(B4K_EFORMAT, "tensor %s: shape must be an array of at most %d sizes", name,
                    B4K_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return FAIL(B4K_EFORMAT, "tensor %s: bad dimension %d", name, i);
        t->shape[i] = json_integer_value(d);
    }
    codec = json_object_get(e, "codec");
    if (json_is_string(codec) && !strcmp(json_string_value(codec), "raw"))
        t->codec = B4K_CODEC_RAW;
    else if (json_is_string(codec) && !strcmp(json_string_value(codec), "zstd"))
        t->codec = B4K_CODEC_ZSTD;
    else
        return FAIL(B4K_EFORMAT, "tensor %s: codec must be \"raw\" or \"zstd\"", name);
    if (get_u64(e, "offset", &t->offset) || get_u64(e, "stored_size", &t->stored) ||
        get_u64(e, "raw_size", &t->raw))
        return FAIL(B4K_EFORMAT, "tensor %s: offset, stored_size and raw_size must be "
                    "non-negative integers", name);
    cks = json_object_get(e, "checksum");
    if (!json_is_string(cks) || parse_hex64(json_string_value(cks), &t->checksum))
        return FAIL(B4K_EFORMAT, "tensor %s: checksum must be \"xxh64:<16 hex digits>\"",
                    name);
    t->cks_text = json_string_value(cks);
    if (b4k_dtype_nbytes(t->dtype, t->ndim, t->shape, &need))
        return FAIL(B4K_EFORMAT, "tensor %s: size of shape overflows", name);
    if (need != t->raw)
        return FAIL(B4K_EFORMAT, "tensor %s: raw_size %llu does not match %s shape (%zu bytes)",
                    name, (unsigned long long)t->raw, b4k_dtype_name(t->dtype), need);
    if (t->codec == B4K_CODEC_RAW && t->stored != t->raw)
        return FAIL(B4K_EFORMAT, "tensor %s: raw tensor with stored_size != raw_size", name);
    if (t->offset % B4K_MODEL_ALIGN)
        return FAIL(B4K_EFORMAT, "tensor %s: offset %llu is not %d-byte aligned", name,
                    (unsigned long long)t->offset, B4K_MODEL_ALIGN);
    if (t->offset > m->data_len || t->stored > m->data_len ||
        __builtin_add_overflow((size_t)t->offset, (size_t)t->stored, &end) || end > m->data_len)
        return FAIL(B4K_EFORMAT, "tensor %s: data [%llu, +%llu) lies past the end of the file "
                    "(%zu data bytes)", name, (unsigned long long)t->offset,
                    (unsigned long long)t->stored, m->data_len);
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const mtensor *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->stored != y->stored)
        return x->stored < y->stored ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int name_cmp(const void *a, const void *b, void *ctx)
{
    const b4k_model *m = ctx;
    return strcmp(m->t[*(const size_t *)a].name, m->t[*(const size_t *)b].name);
}

static int validate(b4k_model *m, b4k_err *err)
{
    uint32_t version;
    uint64_t hlen;
    json_error_t je;
    json_t *tensors, *a;
    const char *key;
    json_t *val;
    size_t i, dstart;

    if (m->size < 16 || memcmp(m->base, "B4K\0", 4))
        return FAIL(B4K_EFORMAT, "not a .b4k model (bad magic)");
    memcpy(&version, m->base + 4, 4);
    memcpy(&hlen, m->base + 8, 8);
    if (version == 0)
        return FAIL(B4K_EFORMAT, "bad format version 0");
    if (version > B4K_MODEL_VERSION)
        return FAIL(B4K_EUNSUP, "format version %u is newer than this b4k supports (%d)",
                    version, B4K_MODEL_VERSION);
    if (hlen > m->size - 16)
        return FAIL(B4K_EFORMAT, "header length %llu exceeds the file (%zu bytes): truncated?",
                    (unsigned long long)hlen, m->size);
    dstart = (16 + (size_t)hlen + B4K_MODEL_ALIGN - 1) / B4K_MODEL_ALIGN * B4K_MODEL_ALIGN;
    m->data = m->base + (dstart < m->size ? dstart : m->size);
    m->data_len = dstart < m->size ? m->size - dstart : 0;
    m->header = json_loadb((const char *)m->base + 16, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!m->header)
        return FAIL(B4K_EFORMAT, "header JSON: %s (at byte %d)", je.text, je.position);
    if (!json_is_object(m->header))
        return FAIL(B4K_EFORMAT, "header is not a JSON object");
    a = json_object_get(m->header, "architecture");
    if (!json_is_string(a))
        return FAIL(B4K_EFORMAT, "header has no \"architecture\" string");
    m->arch = json_string_value(a);
    m->config = json_object_get(m->header, "config");
    if (!json_is_object(m->config))
        return FAIL(B4K_EFORMAT, "header has no \"config\" object");
    m->tok = json_object_get(m->header, "tokenizer");
    if (json_is_null(m->tok))
        m->tok = NULL;
    if (m->tok && !json_is_object(m->tok))
        return FAIL(B4K_EFORMAT, "header \"tokenizer\" is not an object");
    tensors = json_object_get(m->header, "tensors");
    if (!json_is_object(tensors))
        return FAIL(B4K_EFORMAT, "header has no \"tensors\" object");
    m->nt = json_object_size(tensors);
    m->t = b4k_calloc(m->nt ? m->nt : 1, sizeof *m->t);
    m->by_name = b4k_malloc_n(m->nt ? m->nt : 1, sizeof *m->by_name);
    if (!m->t || !m->by_name)
        return FAIL(B4K_ENOMEM, "out of memory");
    i = 0;
    json_object_foreach(tensors, key, val) {
        int rc;
        if (i >= m->nt)
            break;
        rc = parse_tensor(m, &m->t[i++], key, val, err);
        if (rc)
            return rc;
    }
    if (i != m->nt)
        return FAIL(B4K_EFORMAT, "header tensor count mismatch");
    qsort(m->t, m->nt, sizeof *m->t, by_offset);
    for (i = 0; i + 1 < m->nt; i++)
        if (m->t[i].stored && m->t[i].offset + m->t[i].stored > m->t[i + 1].offset)
            return FAIL(B4K_EFORMAT, "tensors %s and %s overlap", m->t[i].name,
                        m->t[i + 1].name);
    for (i = 0; i < m->nt; i++)
        m->by_name[i] = i;
    qsort_r(m->by_name, m->nt, sizeof *m->by_name, name_cmp, m);
    for (i = 0; i + 1 < m->nt; i++)
        if (!strcmp(m->t[m->by_name[i]].name, m->t[m->by_name[i + 1]].name))
            return FAIL(B4K_EFORMAT, "duplicate tensor %s", m->t[m->by_name[i]].name);
    return 0;
}

/* XXH64 of a tensor's stored bytes.  From a file, they are read with
 * pread(2) into a small buffer rather than through the map: on first use
 * every mapped page costs a page fault (several microseconds each in some
 * VMs, see test/bench/bench_convert.sh), which a checksum pass would pay
 * for the whole tensor at once, also for pages the program never touches
 * (the rows of an embedding table no input uses).  The bytes are the same
 * page-cache pages.  Memory models (and any pread failure) hash the map. */
static uint64_t stored_xxh64(const b4k_model *m, const mtensor *t)
{
    enum { SLICE = 256 << 10 };
    const uint8_t *p = m->data + t->offset;
    size_t n = (size_t)t->stored, done = 0;
    uint8_t *buf;
    b4k_xxh64_state h;
    if (m->fd < 0 || n < SLICE || !(buf = b4k_malloc(SLICE)))
        return b4k_xxh64(p, n, 0);
    b4k_xxh64_init(&h, 0);
    while (done < n) {
        size_t k = n - done < SLICE ? n - done : SLICE;
        ssize_t got = pread(m->fd, buf, k, (off_t)(p + done - m->base));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) { /* (cannot happen on a file we have mapped): the map */
            b4k_xxh64_update(&h, p + done, n - done);
            break;
        }
        b4k_xxh64_update(&h, buf, (size_t)got);
        done += (size_t)got;
    }
    b4k_free(buf);
    return b4k_xxh64_digest(&h);
}

static int verify_one(b4k_model *m, mtensor *t, b4k_err *err)
{
    if (atomic_load_explicit(&t->verified, memory_order_acquire))
        return 0;
    if (stored_xxh64(m, t) != t->checksum)
        return FAIL(B4K_ECHECKSUM, "tensor %s: checksum mismatch (file is corrupt)", t->name);
    atomic_store_explicit(&t->verified, 1, memory_order_release);
    return 0;
}

int b4k_model_verify(b4k_model *m, b4k_err *err)
{
    for (size_t i = 0; i < m->nt; i++) {
        int rc = verify_one(m, &m->t[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

static int finish_open(b4k_model *m, unsigned flags, b4k_err *err)
{
    int rc;
    m->flags = flags;
    rc = validate(m, err);
    if (!rc && (flags & B4K_MODEL_VERIFY_ALL))
        rc = b4k_model_verify(m, err);
    return rc;
}

int b4k_model_open_mem_ex(b4k_model **out, const void *buf, size_t n, const char *name,
                          unsigned flags, b4k_err *err)
{
    b4k_model *m = b4k_calloc(1, sizeof *m);
    int rc;
    *out = NULL;
    if (!m || !(m->name = b4k_strdup(name ? name : "<memory>"))) {
        b4k_free(m);
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    }
    m->base = buf;
    m->size = n;
    m->fd = -1;
    rc = finish_open(m, flags, err);
    if (rc) {
        b4k_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int b4k_model_open_mem(b4k_model **out, const void *buf, size_t n, const char *name,
                       b4k_err *err)
{
    return b4k_model_open_mem_ex(out, buf, n, name, 0, err);
}

/* B4K_MODEL_LOAD: read the whole file into an anonymous mapping aligned to
 * 2 MiB and advised MADV_HUGEPAGE (THP in "madvise" mode), so the weights
 * sit in huge pages rather than 4 KiB page-cache pages.  m->map/map_len
 * cover the whole (aligned) mapping, freed by munmap. */
static int load_anon(b4k_model *m, const char *path, b4k_err *err)
{
    const size_t hp = (size_t)2 << 20;
    size_t len = (m->size + hp - 1) & ~(hp - 1);
    uint8_t *raw = mmap(NULL, len + hp, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (raw == MAP_FAILED)
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "cannot map %zu bytes: %s", len,
                           strerror(errno));
    /* trim to a 2 MiB-aligned window of len bytes */
    uintptr_t a = ((uintptr_t)raw + hp - 1) & ~(uintptr_t)(hp - 1);
    uint8_t *p = (uint8_t *)a;
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (raw + len + hp > p + len)
        munmap(p + len, (size_t)(raw + len + hp - (p + len)));
    m->map = p;
    m->map_len = len;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advisory: 4 KiB pages still work */
#endif
    size_t off = 0;
    while (off < m->size) {
        size_t want = m->size - off;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        ssize_t r = pread(m->fd, p + off, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return b4k_err_set(err, B4K_EIO, path, 0, "read: %s",
                               r < 0 ? strerror(errno) : "file shrank");
        off += (size_t)r;
    }
    (void)mprotect(p, len, PROT_READ);
    m->base = p;
    return 0;
}

/* kB of file pages this process maps with PMDs (huge pages), -1 if
 * unknown (no /proc). */
static long file_pmd_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "FilePmdMapped:", 14)) {
            kb = strtol(line + 14, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* fault every page of the map in */
static void populate(uint8_t *p, size_t n, size_t pg)
{
#ifdef MADV_POPULATE_READ
    if (!madvise(p, n, MADV_POPULATE_READ))
        return;
#endif
    volatile uint8_t sink = 0;
    for (size_t off = 0; off < n; off += pg)
        sink ^= p[off];
    (void)sink;
}

/* Unmap our pages of the file's first n bytes (0: all), write back and
 * drop its cached pages there (those no other process maps): the next
 * faults read them in again. */
static void drop_cached(b4k_model *m, int fd, size_t n)
{
    (void)madvise(m->map, n ? n : m->size, MADV_DONTNEED);
    (void)fdatasync(fd); /* dirty pages cannot be dropped */
    (void)posix_fadvise(fd, 0, (off_t)n, POSIX_FADV_DONTNEED);
}

/* 1 if the file's pages map as huge pages here: the first 2 MiB faults
 * in as one, or does so once read in again (then the whole file is dropped
 * from the cache, to be read back in huge pages).  0 when it does not (no
 * large folios in this file system, THP off, /proc missing), and nothing
 * else is dropped: a re-read would gain nothing. */
static int huge_check(b4k_model *m, int fd, size_t hp)
{
    long before = file_pmd_kb();
    if (before < 0)
        return 0;
    (void)*(volatile const uint8_t *)m->map;
    if (file_pmd_kb() > before)
        return 1;
    drop_cached(m, fd, hp);
    (void)*(volatile const uint8_t *)m->map;
    if (file_pmd_kb() <= before)
        return 0;
    drop_cached(m, fd, 0);
    (void)*(volatile const uint8_t *)m->map; /* mapped again, as on success above */
    return 1;
}

/* Map the file read-only at a 2 MiB-aligned address, advised MADV_HUGEPAGE:
 * a page fault on such a mapping reads uncached parts of the file into 2 MiB
 * page-cache folios (filesystems with large folios, e.g. ext4 on Linux
 * 6.16+), which are then mapped by one PMD each -- no copy, and no TLB miss
 * and prefetcher stop per 4 KiB page while the weights stream.
 * B4K_MODEL_POPULATE: fault every page in at open (after the advice, so the
 * faults can map huge pages).
 * B4K_MODEL_HUGE: if the page cache already holds the file in small pages
 * (written or read() recently) and huge pages work for it (huge_check),
 * write back and drop the cached pages (those no process maps) so that the
 * faults read them in again as huge pages -- one re-read from disk, after
 * which later opens map huge pages at once.  With POPULATE, also when less
 * than 90% of the file got mapped in huge pages (process-wide FilePmdMapped
 * before and after: parts cached in small pages). */
static int map_file(b4k_model *m, int fd, unsigned flags)
{
    const size_t hp = (size_t)2 << 20;
    long psz = sysconf(_SC_PAGESIZE);
    size_t pg = psz > 0 ? (size_t)psz : 4096, len = (m->size + pg - 1) & ~(pg - 1);
    uint8_t *p = MAP_FAILED;
    if (m->size >= 16 * hp) {
        uint8_t *raw = mmap(NULL, len + hp, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                            -1, 0);
        if (raw != MAP_FAILED) {
            uint8_t *a = (uint8_t *)(((uintptr_t)raw + hp - 1) & ~(uintptr_t)(hp - 1));
            p = mmap(a, m->size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
            if (p == MAP_FAILED) {
                munmap(raw, len + hp);
            } else {
                if (a > raw)
                    munmap(raw, (size_t)(a - raw));
                if (raw + len + hp > a + len)
                    munmap(a + len, (size_t)(raw + len + hp - (a + len)));
            }
        }
    }
    int aligned = p != MAP_FAILED;
    if (!aligned)
        p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    m->map = p;
    m->map_len = m->size;
    m->base = p;
    int huge = 0;
#ifdef MADV_HUGEPAGE
    if (aligned && !madvise(p, m->size, MADV_HUGEPAGE) && (flags & B4K_MODEL_HUGE))
        huge = huge_check(m, fd, hp);
#endif
    if (flags & B4K_MODEL_POPULATE) {
        long before = huge ? file_pmd_kb() : -1;
        populate(p, m->size, pg);
        /* all but the tail (and the first 2 MiB, mapped by huge_check)
         * should now be mapped in 2 MiB pages; if less than 90% is (parts
         * cached in small pages), read it in again */
        long want = (long)(((m->size & ~(hp - 1)) - hp) >> 10),
             after = before >= 0 ? file_pmd_kb() : -1;
        if (after >= 0 && (after - before) * 10 < want * 9) {
            drop_cached(m, fd, 0);
            populate(p, m->size, pg);
        }
    }
    return 0;
}

int b4k_model_open_ex(b4k_model **out, const char *path, unsigned flags, b4k_err *err)
{
    b4k_model *m;
    struct stat st;
    int fd, rc;
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return b4k_err_set(err, B4K_EIO, path, 0, "not a regular file");
    }
    m = b4k_calloc(1, sizeof *m);
    if (!m || !(m->name = b4k_strdup(path))) {
        b4k_free(m);
        close(fd);
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    }
    m->fd = fd; /* kept for pread: checksums, and b4k_model_source */
    m->size = (size_t)st.st_size;
    if (m->size && (flags & B4K_MODEL_LOAD)) {
        int rc2 = load_anon(m, path, err);
        if (rc2) {
            b4k_model_free(m);
            return rc2;
        }
    } else if (m->size) {
        if (map_file(m, fd, flags)) {
            b4k_model_free(m);
            return b4k_err_set(err, B4K_EIO, path, 0, "mmap: %s", strerror(errno));
        }
    } else {
        m->base = (const uint8_t *)"";
    }
    rc = finish_open(m, flags, err);
    if (rc) {
        b4k_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int b4k_model_open(b4k_model **out, const char *path, b4k_err *err)
{
    return b4k_model_open_ex(out, path, 0, err);
}

void b4k_model_free(b4k_model *m)
{
    if (!m)
        return;
    if (m->t)
        for (size_t i = 0; i < m->nt; i++) {
            b4k_free(m->t[i].name);
            b4k_free(atomic_load_explicit(&m->t[i].owned, memory_order_relaxed));
        }
    b4k_free(m->t);
    b4k_free(m->by_name);
    json_decref(m->header);
    if (m->map)
        munmap(m->map, m->map_len);
    if (m->fd >= 0)
        close(m->fd);
    b4k_free(m->name);
    b4k_free(m);
}

const char *b4k_model_arch(const b4k_model *m) { return m->arch; }
json_t *b4k_model_config(const b4k_model *m) { return m->config; }
json_t *b4k_model_tokenizer(const b4k_model *m) { return m->tok; }
json_t *b4k_model_header(const b4k_model *m) { return m->header; }
const char *b4k_model_name(const b4k_model *m) { return m->name; }
size_t b4k_model_count(const b4k_model *m) { return m->nt; }

const char *b4k_model_tensor_name(const b4k_model *m, size_t i)
{
    return i < m->nt ? m->t[i].name : NULL;
}

static long find(const b4k_model *m, const char *name)
{
    size_t lo = 0, hi = m->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->t[m->by_name[mid]].name, name);
        if (!c)
            return (long)m->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int b4k_model_has(const b4k_model *m, const char *name) { return find(m, name) >= 0; }

int b4k_model_stored(const b4k_model *m, size_t i, int *codec, size_t *stored_size,
                     const char **checksum)
{
    if (i >= m->nt)
        return B4K_EINVAL;
    if (codec)
        *codec = m->t[i].codec;
    if (stored_size)
        *stored_size = (size_t)m->t[i].stored;
    if (checksum)
        *checksum = m->t[i].cks_text;
    return 0;
}

int b4k_model_source(const b4k_model *m, size_t i, int *fd, uint64_t *file_offset)
{
    if (i >= m->nt)
        return B4K_EINVAL;
    *fd = m->fd;
    *file_offset = (uint64_t)(m->data - m->base) + m->t[i].offset;
    return 0;
}

int b4k_model_get_at(b4k_model *m, size_t i, b4k_tensor_view *v, b4k_err *err)
{
    mtensor *t;
    int rc;
    if (i >= m->nt)
        return FAIL(B4K_EINVAL, "tensor index %zu out of range", i);
    t = &m->t[i];
    memset(v, 0, sizeof *v);
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    memcpy(v->shape, t->shape, sizeof t->shape);
    v->nbytes = (size_t)t->raw;
    if (t->codec == B4K_CODEC_RAW) {
        if (!(m->flags & B4K_MODEL_NO_VERIFY) && (rc = verify_one(m, t, err)))
            return rc;
        v->data = m->data + t->offset;
        return 0;
    }
    void *p = atomic_load_explicit(&t->owned, memory_order_acquire);
    if (!p) {
        const uint8_t *src = m->data + t->offset;
        unsigned long long cs;
        size_t got;
        void *expected = NULL;
        if ((rc = verify_one(m, t, err)))
            return rc;
        cs = ZSTD_getFrameContentSize(src, (size_t)t->stored);
        if (cs != t->raw || ZSTD_findFrameCompressedSize(src, (size_t)t->stored) != t->stored)
            return FAIL(B4K_EFORMAT, "tensor %s: zstd frame does not hold raw_size bytes",
                        t->name);
        p = b4k_aligned_alloc(B4K_MODEL_ALIGN, t->raw ? (size_t)t->raw : 1);
        if (!p)
            return FAIL(B4K_ENOMEM, "tensor %s: out of memory (%llu bytes)", t->name,
                        (unsigned long long)t->raw);
        got = ZSTD_decompress(p, (size_t)t->raw, src, (size_t)t->stored);
        if (ZSTD_isError(got) || got != t->raw) {
            b4k_free(p);
            return FAIL(B4K_EFORMAT, "tensor %s: zstd: %s", t->name,
                        ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short frame");
        }
        if (!atomic_compare_exchange_strong_explicit(&t->owned, &expected, p,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire)) {
            b4k_free(p); /* another thread published first */
            p = expected;
        }
    }
    v->data = p;
    return 0;
}

int b4k_model_get(b4k_model *m, const char *name, b4k_tensor_view *v, b4k_err *err)
{
    long i = find(m, name);
    if (i < 0)
        return FAIL(B4K_EFORMAT, "no tensor %s", name);
    return b4k_model_get_at(m, (size_t)i, v, err);
}

int b4k_model_get_checked(b4k_model *m, const char *name, int dtype, int ndim,
                          const int64_t *shape, b4k_tensor_view *v, b4k_err *err)
{
    int rc = b4k_model_get(m, name, v, err);
    if (rc)
        return rc;
    if (v->dtype != dtype)
        return FAIL(B4K_EFORMAT, "tensor %s: dtype %s, expected %s", name,
                    b4k_dtype_name(v->dtype), b4k_dtype_name(dtype));
    if (v->ndim != ndim)
        return FAIL(B4K_EFORMAT, "tensor %s: %d dimensions, expected %d", name, v->ndim, ndim);
    for (int k = 0; k < ndim; k++)
        if (shape[k] >= 0 && shape[k] != v->shape[k])
            return FAIL(B4K_EFORMAT, "tensor %s: dimension %d is %lld, expected %lld", name, k,
                        (long long)v->shape[k], (long long)shape[k]);
    return 0;
}

int b4k_model_get_blob(b4k_model *m, const char *name, const void **data, size_t *n,
                       b4k_err *err)
{
    b4k_tensor_view v;
    int64_t any = -1;
    int rc = b4k_model_get_checked(m, name, B4K_U8, 1, &any, &v, err);
    if (rc)
        return rc;
    *data = v.data;
    *n = v.nbytes;
    return 0;
}

int b4k_model_get_f32(b4k_model *m, const char *name, float **out, b4k_tensor_view *v,
                      b4k_err *err)
{
    size_t n;
    int rc = b4k_model_get(m, name, v, err);
    *out = NULL;
    if (rc)
        return rc;
    if (!b4k_dtype_traits_of(v->dtype)->is_float || b4k_shape_numel(v->ndim, v->shape, &n))
        return FAIL(B4K_EFORMAT, "tensor %s: dtype %s is not a float type", name,
                    b4k_dtype_name(v->dtype));
    *out = b4k_malloc_n(n ? n : 1, sizeof(float));
    if (!*out)
        return FAIL(B4K_ENOMEM, "tensor %s: out of memory", name);
    b4k_dtype_to_f32(*out, v->dtype, v->data, n,
                     v->ndim ? (size_t)v->shape[v->ndim - 1] : 1);
    return 0;
}
