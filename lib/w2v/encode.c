/* Corpus encoding for training (see encode.h). */
#include "w2v/encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/threads.h"
#include "w2v/corpus.h"

typedef struct enc {
    b4k_w2v_vocab *v;
    int fixed;        /* look words up only (resume) */
    FILE *fp;
    int64_t nids;
    uint32_t buf[8192];
    int nb;
    int last_eos;
    b4k_err *err;
    b4k_w2v_scan_stats *st;
    const b4k_w2v_train_opts *o;
    int64_t next_progress;
    int64_t *pub; /* parallel pass: this thread's token count, for progress */
} enc;

static int enc_put(enc *e, uint32_t id)
{
    e->buf[e->nb++] = id;
    e->nids++;
    if (e->nb == (int)(sizeof e->buf / sizeof e->buf[0])) {
        if (fwrite(e->buf, sizeof e->buf[0], (size_t)e->nb, e->fp) != (size_t)e->nb)
            return b4k_err_set(e->err, B4K_EIO, NULL, 0, "temporary file: %s",
                               strerror(errno));
        e->nb = 0;
    }
    return 0;
}

static int enc_token(void *ctx, const char *tok, size_t len)
{
    enc *e = ctx;
    if (!tok) {
        if (e->last_eos)
            return 0;
        e->last_eos = 1;
        return enc_put(e, B4K_W2V_EOS);
    }
    int64_t id;
    if (e->fixed) {
        id = b4k_w2v_vocab_find(e->v, tok, len);
        if (id < 0)
            return 0;
    } else {
        id = b4k_w2v_vocab_add(e->v, tok, len, 1);
        if (id < 0)
            return b4k_err_set(e->err, (int)id, NULL, 0,
                               id == B4K_ERANGE ? "too many distinct words" : "out of memory");
    }
    e->last_eos = 0;
    if (e->pub && (e->st->tokens & 0xFFFF) == 0)
        __atomic_store_n(e->pub, e->st->tokens, __ATOMIC_RELAXED);
    if (e->o->progress && e->st->tokens >= e->next_progress) {
        b4k_w2v_progress p = {0};
        p.tokens = e->st->tokens;
        p.bytes_done = e->st->bytes_done;
        p.bytes_total = e->st->bytes_total;
        e->o->progress(e->o->progress_ctx, &p);
        e->next_progress = e->st->tokens + (1 << 20);
    }
    return enc_put(e, (uint32_t)id);
}

/* ---- the parallel first pass ------------------------------------------------
 * With --threads N > 1 and only plain regular files (no stdin, no zstd) of
 * PAR_MIN_BYTES or more in all, the corpus (the files end to end) is cut into
 * N byte spans at line starts.  Each thread counts its span into a vocabulary
 * of its own and spools its provisional ids to a temporary file of its own;
 * the vocabularies are then added to v in thread order and the ids rewritten
 * into the one temporary file, in corpus order.  The result is the serial
 * pass's: the final vocabulary depends only on the counts and the words
 * (b4k_w2v_vocab_finalize sorts by count, then bytes), and the id stream is
 * the same words in the same order.  Anything else -- an error in any span
 * (so that the serial pass reports it with its true line number), a pruned
 * vocabulary (pruning depends on the order words arrive in), a memory
 * shortage -- discards the parallel result and runs the serial pass. */
#define PAR_MIN_BYTES ((size_t)8 << 20)

typedef struct prange {
    int file;
    size_t off, len;
} prange;

typedef struct pthr {
    enc e;
    b4k_w2v_scan_stats st;
    b4k_err err;
    int rc, r0, r1; /* its ranges [r0, r1) */
    int64_t pub;    /* tokens so far, published for the progress line */
} pthr;

typedef struct pjob {
    const char *const *paths;
    b4k_w2v_scan_opts so;
    const b4k_w2v_train_opts *o;
    b4k_w2v_train_opts o0; /* thread 0's: progress through par_progress */
    prange *r;
    pthr *th;
    int nt;
    size_t total;
} pjob;

static void par_progress(void *ctx, const b4k_w2v_progress *p)
{
    pjob *j = ctx;
    b4k_w2v_progress q = *p;
    q.tokens = 0;
    for (int t = 0; t < j->nt; t++)
        q.tokens += t == 0 ? p->tokens : __atomic_load_n(&j->th[t].pub, __ATOMIC_RELAXED);
    /* bytes: thread 0's share of its span stands for the whole */
    j->o->progress(j->o->progress_ctx, &q);
}

static void par_fn(void *ctx, int tid, int nt)
{
    (void)nt;
    pjob *j = ctx;
    pthr *t = &j->th[tid];
    for (int i = t->r0; i < t->r1 && !t->rc; i++)
        t->rc = b4k_w2v_scan_range(j->paths[j->r[i].file], j->r[i].off, j->r[i].len, &j->so,
                                   enc_token, &t->e, &t->st, &t->err);
    if (!t->rc && t->e.nb &&
        fwrite(t->e.buf, sizeof t->e.buf[0], (size_t)t->e.nb, t->e.fp) != (size_t)t->e.nb)
        t->rc = B4K_EIO;
    t->e.nb = 0;
    if (!t->rc && fflush(t->e.fp))
        t->rc = B4K_EIO;
}

static int tmp_open(const char *dir, FILE **out, b4k_err *err)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/b4k-w2v-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return b4k_err_set(err, B4K_EIO, NULL, 0, "cannot create a temporary file in %s: %s",
                           dir, strerror(errno));
    unlink(tmpl);
    FILE *fp = fdopen(fd, "w+b");
    if (!fp) {
        close(fd);
        return b4k_err_set(err, B4K_EIO, NULL, 0, "temporary file: %s", strerror(errno));
    }
    *out = fp;
    return 0;
}

/* The first line start at or after byte o of a file of n bytes (n if none). */
static size_t line_start(FILE *fp, size_t o, size_t n)
{
    if (o == 0 || o >= n)
        return o < n ? o : n;
    char b[65536];
    size_t at = o - 1; /* a '\n' here makes o itself a line start */
    while (at < n) {
        if (fseeko(fp, (off_t)at, SEEK_SET))
            return n;
        size_t got = fread(b, 1, sizeof b, fp);
        if (got == 0)
            return n;
        char *nl = memchr(b, '\n', got);
        if (nl)
            return at + (size_t)(nl - b) + 1;
        at += got;
    }
    return n;
}

/* The spans: r[] in corpus order, thread t's ranges r[first[t] .. first[t+1]).
 * Returns the number of ranges, 0 if the input does not qualify. */
static int par_split(const char *const *paths, int npaths, int nt, size_t min_bytes, prange *r,
                     int *first, size_t *total)
{
    size_t *size = b4k_malloc_n((size_t)npaths + 1, sizeof *size), B = 0;
    size_t *G = b4k_malloc_n((size_t)nt + 1, sizeof *G);
    int nr = 0;
    if (!size || !G)
        goto out;
    for (int i = 0; i < npaths; i++) {
        struct stat sb;
        unsigned char m[4];
        if (!strcmp(paths[i], "-") || stat(paths[i], &sb) || !S_ISREG(sb.st_mode))
            goto out;
        FILE *fp = fopen(paths[i], "rb");
        if (!fp)
            goto out;
        size_t got = fread(m, 1, 4, fp);
        fclose(fp);
        if (got == 4 && m[0] == 0x28 && m[1] == 0xB5 && m[2] == 0x2F && m[3] == 0xFD)
            goto out; /* zstd */
        size[i] = (size_t)sb.st_size;
        B += size[i];
    }
    if (B < min_bytes)
        goto out;
    G[0] = 0;
    G[nt] = B;
    for (int t = 1; t < nt; t++) {
        size_t g = (size_t)((unsigned __int128)B * (unsigned)t / (unsigned)nt), s0 = 0;
        int i = 0;
        while (i < npaths - 1 && g >= s0 + size[i])
            s0 += size[i++];
        FILE *fp = fopen(paths[i], "rb");
        if (!fp)
            goto out;
        G[t] = s0 + line_start(fp, g - s0, size[i]);
        fclose(fp);
        if (G[t] < G[t - 1])
            G[t] = G[t - 1];
    }
    for (int t = 0; t < nt; t++) {
        first[t] = nr;
        size_t s0 = 0;
        for (int i = 0; i < npaths; s0 += size[i++]) {
            size_t a = G[t] > s0 ? G[t] : s0, b = G[t + 1] < s0 + size[i] ? G[t + 1] : s0 + size[i];
            if (a < b)
                r[nr++] = (prange){ i, a - s0, b - a };
        }
    }
    first[nt] = nr;
    *total = B;
out:
    b4k_free(size);
    b4k_free(G);
    return nr;
}

/* 0: done (v filled, ids in `out`, *nids, st); 1: not done (serial instead). */
static int encode_parallel(const char *const *paths, int npaths, const b4k_w2v_train_opts *o,
                           b4k_w2v_vocab *v, FILE *out, int64_t *nids, b4k_w2v_scan_stats *st,
                           const char *dir)
{
    int nt = o->threads, nmax = nt + npaths, done = 1;
    size_t min_bytes = o->par_scan_min ? o->par_scan_min : PAR_MIN_BYTES;
    pjob j;
    memset(&j, 0, sizeof j);
    int *first = b4k_malloc_n((size_t)nt + 1, sizeof *first);
    uint32_t *lmap = NULL, *blk = NULL;
    b4k_pool *pool = NULL;
    b4k_w2v_vocab *g = NULL;
    b4k_w2v_scan_stats st0 = *st;
    j.r = b4k_malloc_n((size_t)nmax, sizeof *j.r);
    j.th = b4k_calloc((size_t)nt, sizeof *j.th);
    if (b4k_w2v_vocab_size(v) || nt < 2)
        goto out;
    if (!first || !j.r || !j.th || !par_split(paths, npaths, nt, min_bytes, j.r, first, &j.total))
        goto out;
    b4k_err perr;
    int mode = b4k_w2v_scan_mode(paths[0], &o->scan, &perr);
    if (mode < 0)
        goto out;
    for (int i = 1; i < npaths && o->scan.jsonl < 0; i++) /* detected per file */
        if (b4k_w2v_scan_mode(paths[i], &o->scan, &perr) != mode)
            goto out;
    j.paths = paths;
    j.so = o->scan;
    j.so.jsonl = mode;
    j.o = o;
    j.o0 = *o;
    j.nt = nt;
    if (o->progress) {
        j.o0.progress = par_progress;
        j.o0.progress_ctx = &j;
    }
    static const b4k_w2v_train_opts quiet; /* no progress */
    for (int t = 0; t < nt; t++) {
        pthr *p = &j.th[t];
        p->r0 = first[t];
        p->r1 = first[t + 1];
        p->e.o = t == 0 ? &j.o0 : &quiet;
        p->e.err = &p->err;
        p->e.st = &p->st;
        p->e.last_eos = 1;
        p->e.pub = &p->pub;
        if (!(p->e.v = b4k_w2v_vocab_new()) || tmp_open(dir, &p->e.fp, &perr))
            goto out;
    }
    if (!(pool = b4k_pool_new(nt)))
        goto out;
    b4k_pool_run(pool, par_fn, &j);
    for (int t = 0; t < nt; t++)
        if (j.th[t].rc || b4k_w2v_vocab_pruned(j.th[t].e.v))
            goto out;
    /* merge: thread order; each thread's ids through its map into g's, g
     * becoming v only on success (v stays empty for the serial pass) */
    enum { BLK = 1 << 16 };
    if (!(blk = b4k_malloc_n(BLK, sizeof *blk)) || !(g = b4k_w2v_vocab_new()))
        goto out;
    int64_t n = 0;
    for (int t = 0; t < nt; t++) {
        pthr *p = &j.th[t];
        size_t nv = b4k_w2v_vocab_size(p->e.v);
        b4k_free(lmap);
        if (!(lmap = b4k_malloc_n(nv ? nv : 1, sizeof *lmap)))
            goto out;
        for (size_t i = 0; i < nv; i++) {
            size_t len;
            const char *w = b4k_w2v_vocab_word(p->e.v, i, &len);
            int64_t id = w ? b4k_w2v_vocab_add(g, w, len, b4k_w2v_vocab_count(p->e.v, i)) : -1;
            if (id < 0)
                goto out;
            lmap[i] = (uint32_t)id;
        }
        if (b4k_w2v_vocab_pruned(g))
            goto out;
        rewind(p->e.fp);
        size_t got;
        while ((got = fread(blk, sizeof *blk, BLK, p->e.fp)) > 0) {
            for (size_t i = 0; i < got; i++)
                if (blk[i] != B4K_W2V_EOS) {
                    if (blk[i] >= nv)
                        goto out;
                    blk[i] = lmap[blk[i]];
                }
            if (fwrite(blk, sizeof *blk, got, out) != got)
                goto out;
            n += (int64_t)got;
        }
        if (ferror(p->e.fp))
            goto out;
        fclose(p->e.fp);
        p->e.fp = NULL;
        st->lines += p->st.lines;
        st->tokens += p->st.tokens;
        st->truncated += p->st.truncated;
    }
    b4k_w2v_vocab_swap(v, g);
    st->bytes_done = st->bytes_total = j.total;
    st->file = npaths - 1;
    st->par_threads = nt;
    *nids = n;
    done = 0;
out:
    b4k_w2v_vocab_free(g);
    for (int t = 0; j.th && t < nt; t++) {
        if (j.th[t].e.fp)
            fclose(j.th[t].e.fp);
        b4k_w2v_vocab_free(j.th[t].e.v);
    }
    b4k_pool_free(pool);
    b4k_free(lmap);
    b4k_free(blk);
    b4k_free(first);
    b4k_free(j.r);
    b4k_free(j.th);
    if (done)
        *st = st0;
    return done;
}

int b4k_w2v_encode(const char *const *paths, int npaths, const b4k_w2v_train_opts *o,
                  b4k_w2v_vocab *v, int fixed, uint32_t **ids, size_t *map_bytes, int64_t *nids,
                  int64_t *train_words, b4k_w2v_scan_stats *st, b4k_err *err)
{
    const char *dir = o->tmpdir; /* cmd/ resolves --tmpdir / $TMPDIR */
    if (!dir || !*dir)
        dir = "/tmp";
    int rc = 0;
    int32_t *map = NULL;
    enc *e = NULL;
    FILE *fp;
    if ((rc = tmp_open(dir, &fp, err)))
        return rc;
    int fd = fileno(fp);
    int64_t n = 0;
    if (!fixed && o->threads > 1 && !encode_parallel(paths, npaths, o, v, fp, &n, st, dir)) {
        if (fflush(fp)) {
            rc = b4k_err_set(err, B4K_EIO, NULL, 0, "temporary file: %s", strerror(errno));
            goto fail;
        }
        goto counted;
    }
    if (fflush(fp) || ftruncate(fd, 0) || fseeko(fp, 0, SEEK_SET)) {
        rc = b4k_err_set(err, B4K_EIO, NULL, 0, "temporary file: %s", strerror(errno));
        goto fail;
    }
    e = b4k_calloc(1, sizeof *e);
    if (!e) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    e->v = v;
    e->fixed = fixed;
    e->fp = fp;
    e->err = err;
    e->st = st;
    e->o = o;
    e->last_eos = 1;
    rc = b4k_w2v_scan(paths, npaths, &o->scan, enc_token, e, st, err);
    if (rc)
        goto fail;
    if (e->nb && fwrite(e->buf, sizeof e->buf[0], (size_t)e->nb, fp) != (size_t)e->nb) {
        rc = b4k_err_set(err, B4K_EIO, NULL, 0, "temporary file: %s", strerror(errno));
        goto fail;
    }
    if (fflush(fp)) {
        rc = b4k_err_set(err, B4K_EIO, NULL, 0, "temporary file: %s", strerror(errno));
        goto fail;
    }
    n = e->nids;
counted:
    if (st->tokens == 0) {
        rc = b4k_err_set(err, B4K_EFORMAT, paths[0], 0, "empty corpus: no tokens");
        goto fail;
    }
    if (!fixed) {
        rc = b4k_w2v_vocab_finalize(v, o->cfg.min_count, (size_t)o->cfg.max_vocab, &map, err);
        if (rc)
            goto fail;
        if (b4k_w2v_vocab_size(v) == 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, paths[0], 0,
                             "no word occurs at least %lld times (--min-count); %lld tokens read",
                             (long long)o->cfg.min_count, (long long)st->tokens);
            goto fail;
        }
    }
    size_t bytes = (size_t)n * sizeof(uint32_t);
    uint32_t *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = b4k_err_set(err, B4K_EIO, NULL, 0, "mmap of the temporary file: %s",
                         strerror(errno));
        goto fail;
    }
    int64_t j = 0, tw = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t x = p[i];
        if (x == B4K_W2V_EOS) {
            if (j > 0 && p[j - 1] != B4K_W2V_EOS)
                p[j++] = B4K_W2V_EOS;
            continue;
        }
        if (map) {
            int32_t y = map[x];
            if (y < 0)
                continue;
            x = (uint32_t)y;
        }
        p[j++] = x;
        tw++;
    }
    *ids = p;
    *map_bytes = bytes ? bytes : 1;
    *nids = j;
    *train_words = tw;
    b4k_free(map);
    b4k_free(e);
    fclose(fp); /* the mapping keeps the file alive */
    return 0;
fail:
    b4k_free(map);
    b4k_free(e);
    fclose(fp);
    return rc;
}
