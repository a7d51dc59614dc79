/* Corpus encoding for training (see encode.h). */
#include "w2v/encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"

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

int b4k_w2v_encode(const char *const *paths, int npaths, const b4k_w2v_train_opts *o,
                  b4k_w2v_vocab *v, int fixed, uint32_t **ids, size_t *map_bytes, int64_t *nids,
                  int64_t *train_words, b4k_w2v_scan_stats *st, b4k_err *err)
{
    const char *dir = o->tmpdir; /* cmd/ resolves --tmpdir / $TMPDIR */
    if (!dir || !*dir)
        dir = "/tmp";
    char tmpl[4096];
    int rc = 0;
    int32_t *map = NULL;
    enc *e = NULL;
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
    size_t bytes = (size_t)e->nids * sizeof(uint32_t);
    uint32_t *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = b4k_err_set(err, B4K_EIO, NULL, 0, "mmap of the temporary file: %s",
                         strerror(errno));
        goto fail;
    }
    int64_t j = 0, tw = 0;
    for (int64_t i = 0; i < e->nids; i++) {
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
