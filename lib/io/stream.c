#include "io/stream.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#define RAW_CHUNK ((size_t)1 << 20)

struct b4k_stream {
    FILE *fp;              /* NULL for memory streams */
    int own_fp;
    const unsigned char *mem; /* memory stream source (owned copy) */
    size_t mem_len, mem_pos;
    char name[256];
    int zstd;
    ZSTD_DStream *zd;
    unsigned char *zin;     /* compressed input buffer */
    size_t zin_cap, zin_len, zin_pos;
    size_t zlast;           /* last ZSTD_decompressStream hint: 0 = frame end */
    int src_eof;
    /* decompressed data buffer: [pos, end) unread */
    char *buf;
    size_t cap, pos, end;
    int eof;                /* no more decompressed data */
    long lineno;
    size_t max_line;
    size_t consumed, total;
    int ranged;             /* b4k_stream_open_range: at most `left` more bytes */
    size_t left;
};

static int src_read(b4k_stream *s, void *dst, size_t n, size_t *got, b4k_err *err)
{
    if (s->mem) {
        size_t k = s->mem_len - s->mem_pos;
        if (k > n)
            k = n;
        memcpy(dst, s->mem + s->mem_pos, k);
        s->mem_pos += k;
        *got = k;
    } else {
        if (s->ranged && n > s->left)
            n = s->left;
        *got = n ? fread(dst, 1, n, s->fp) : 0;
        if (s->ranged)
            s->left -= *got;
        if (*got < n && ferror(s->fp))
            return b4k_err_set(err, B4K_EIO, s->name, 0, "read error: %s", strerror(errno));
    }
    s->consumed += *got;
    if (*got == 0)
        s->src_eof = 1;
    return 0;
}

static int stream_init(b4k_stream *s, b4k_err *err)
{
    s->max_line = B4K_STREAM_MAX_LINE_DEFAULT;
    s->cap = RAW_CHUNK * 2;
    s->buf = b4k_malloc(s->cap + 1);
    s->zin_cap = ZSTD_DStreamInSize();
    if (s->zin_cap < 4)
        s->zin_cap = 4;
    s->zin = b4k_malloc(s->zin_cap);
    if (!s->buf || !s->zin)
        return b4k_err_set(err, B4K_ENOMEM, s->name, 0, "out of memory");
    if (s->ranged) /* a byte range of a plain file: no sniffing */
        return 0;
    /* sniff the zstd magic; the sniffed bytes stay in zin either way */
    size_t got = 0;
    while (s->zin_len < 4 && !s->src_eof) {
        int rc = src_read(s, s->zin + s->zin_len, 4 - s->zin_len, &got, err);
        if (rc)
            return rc;
        s->zin_len += got;
    }
    static const unsigned char magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };
    if (s->zin_len == 4 && !memcmp(s->zin, magic, 4)) {
        s->zstd = 1;
        s->zd = ZSTD_createDStream();
        if (!s->zd)
            return b4k_err_set(err, B4K_ENOMEM, s->name, 0, "out of memory");
        ZSTD_initDStream(s->zd);
    }
    return 0;
}

/* A file ("-" = stdin unless ranged); ranged: bytes [off, off+len) only. */
static int open_file(b4k_stream **out, const char *path, int ranged, size_t off, size_t len,
                     b4k_err *err)
{
    *out = NULL;
    b4k_stream *s = b4k_calloc(1, sizeof *s);
    if (!s)
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    int rc;
    if (!ranged && !strcmp(path, "-")) {
        s->fp = stdin;
        snprintf(s->name, sizeof s->name, "<stdin>");
    } else {
        snprintf(s->name, sizeof s->name, "%s", path);
        s->fp = fopen(path, "rb");
        if (!s->fp) {
            rc = b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(errno));
            free(s);
            return rc;
        }
        s->own_fp = 1;
        struct stat st;
        if (ranged) {
            s->ranged = 1;
            s->left = s->total = len;
            if (fseeko(s->fp, (off_t)off, SEEK_SET)) {
                rc = b4k_err_set(err, B4K_EIO, path, 0, "cannot seek: %s", strerror(errno));
                b4k_stream_close(s);
                return rc;
            }
        } else if (fstat(fileno(s->fp), &st) == 0 && S_ISREG(st.st_mode)) {
            s->total = (size_t)st.st_size;
        }
    }
    rc = stream_init(s, err);
    if (rc) {
        b4k_stream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int b4k_stream_open(b4k_stream **out, const char *path, b4k_err *err)
{
    return open_file(out, path, 0, 0, 0, err);
}

int b4k_stream_open_range(b4k_stream **out, const char *path, size_t off, size_t len,
                          b4k_err *err)
{
    return open_file(out, path, 1, off, len, err);
}

int b4k_stream_open_mem(b4k_stream **out, const void *data, size_t n, const char *name,
                        b4k_err *err)
{
    *out = NULL;
    b4k_stream *s = b4k_calloc(1, sizeof *s);
    unsigned char *copy = b4k_malloc(n);
    if (!s || !copy) {
        free(s);
        free(copy);
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    }
    if (n)
        memcpy(copy, data, n);
    s->mem = copy;
    s->mem_len = n;
    s->total = n;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "<memory>");
    int rc = stream_init(s, err);
    if (rc) {
        b4k_stream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void b4k_stream_close(b4k_stream *s)
{
    if (!s)
        return;
    if (s->own_fp && s->fp)
        fclose(s->fp);
    if (s->zd)
        ZSTD_freeDStream(s->zd);
    free((void *)s->mem);
    free(s->zin);
    free(s->buf);
    free(s);
}

/* Append up to `room` decompressed bytes at dst.  Sets s->eof at the end. */
static int fill(b4k_stream *s, char *dst, size_t room, size_t *got, b4k_err *err)
{
    *got = 0;
    if (s->eof)
        return 0;
    if (!s->zstd) {
        /* hand out sniffed bytes first */
        if (s->zin_pos < s->zin_len) {
            size_t k = s->zin_len - s->zin_pos;
            if (k > room)
                k = room;
            memcpy(dst, s->zin + s->zin_pos, k);
            s->zin_pos += k;
            *got = k;
            return 0;
        }
        int rc = src_read(s, dst, room, got, err);
        if (rc)
            return rc;
        if (*got == 0)
            s->eof = 1;
        return 0;
    }
    ZSTD_outBuffer ob = { dst, room, 0 };
    while (ob.pos == 0) {
        if (s->zin_pos == s->zin_len) {
            if (s->src_eof) {
                if (s->zlast != 0)
                    return b4k_err_set(err, B4K_EFORMAT, s->name, 0,
                                       "truncated zstd stream");
                s->eof = 1;
                return 0;
            }
            size_t k;
            int rc = src_read(s, s->zin, s->zin_cap, &k, err);
            if (rc)
                return rc;
            s->zin_len = k;
            s->zin_pos = 0;
            continue;
        }
        ZSTD_inBuffer ib = { s->zin, s->zin_len, s->zin_pos };
        size_t r = ZSTD_decompressStream(s->zd, &ob, &ib);
        if (ZSTD_isError(r))
            return b4k_err_set(err, B4K_EFORMAT, s->name, 0, "corrupt zstd data: %s",
                               ZSTD_getErrorName(r));
        s->zin_pos = ib.pos;
        s->zlast = r;
    }
    *got = ob.pos;
    return 0;
}

int b4k_stream_read(b4k_stream *s, void *buf, size_t n, size_t *got, b4k_err *err)
{
    size_t done = 0;
    /* leftover buffered data first */
    if (s->pos < s->end) {
        size_t k = s->end - s->pos;
        if (k > n)
            k = n;
        memcpy(buf, s->buf + s->pos, k);
        s->pos += k;
        done = k;
    }
    while (done < n && !s->eof) {
        size_t k;
        int rc = fill(s, (char *)buf + done, n - done, &k, err);
        if (rc) {
            *got = done; /* what came before the error is good */
            return rc;
        }
        done += k;
    }
    *got = done;
    return 0;
}

int b4k_stream_getline(b4k_stream *s, char **line, size_t *len, b4k_err *err)
{
    size_t scan = s->pos;
    for (;;) {
        char *nl = scan < s->end ? memchr(s->buf + scan, '\n', s->end - scan) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (s->buf + s->pos));
            if (n > s->max_line)
                goto too_long;
            *nl = '\0';
            *line = s->buf + s->pos;
            *len = n;
            s->pos += n + 1;
            s->lineno++;
            return 1;
        }
        scan = s->end;
        if (s->eof) {
            if (s->pos == s->end)
                return 0;
            size_t n = s->end - s->pos;
            s->buf[s->end] = '\0';
            *line = s->buf + s->pos;
            *len = n;
            s->pos = s->end;
            s->lineno++;
            return 1;
        }
        if (s->end - s->pos > s->max_line)
            goto too_long;
        /* make room: slide the partial line to the front, grow if needed */
        if (s->pos > 0) {
            memmove(s->buf, s->buf + s->pos, s->end - s->pos);
            s->end -= s->pos;
            scan -= s->pos;
            s->pos = 0;
        }
        if (s->cap - s->end < RAW_CHUNK) {
            size_t ncap = s->cap * 2;
            char *nb = realloc(s->buf, ncap + 1);
            if (!nb)
                return b4k_err_set(err, B4K_ENOMEM, s->name, s->lineno + 1, "out of memory");
            s->buf = nb;
            s->cap = ncap;
        }
        size_t got;
        int rc = fill(s, s->buf + s->end, s->cap - s->end, &got, err);
        if (rc) {
            b4k_err_locate(err, s->name, s->lineno + 1);
            return rc;
        }
        s->end += got;
    }
too_long:
    return b4k_err_set(err, B4K_ERANGE, s->name, s->lineno + 1,
                       "line longer than %zu bytes", s->max_line);
}

long b4k_stream_lineno(const b4k_stream *s) { return s->lineno; }
const char *b4k_stream_name(const b4k_stream *s) { return s->name; }
int b4k_stream_is_zstd(const b4k_stream *s) { return s->zstd; }
size_t b4k_stream_consumed(const b4k_stream *s) { return s->consumed; }
size_t b4k_stream_total(const b4k_stream *s) { return s->total; }
void b4k_stream_set_max_line(b4k_stream *s, size_t max) { s->max_line = max; }
