#include "io/atomic.h"
#include "core/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct b4k_afile {
    FILE *fp;
    char *path;
    char *tmp;      /* NULL when writing in place to a special file */
    int seekable;
};

int b4k_afile_open(b4k_afile **out, const char *path, b4k_err *err)
{
    *out = NULL;
    b4k_afile *af = b4k_calloc(1, sizeof *af);
    size_t n = strlen(path);
    if (!af || !(af->path = b4k_strdup(path)) || !(af->tmp = b4k_malloc(n + 16))) {
        b4k_afile_abort(af);
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            b4k_afile_abort(af);
            return b4k_err_set(err, B4K_EIO, path, 0, "is a directory");
        }
        free(af->tmp);
        af->tmp = NULL;
        af->fp = fopen(path, "wb");
        if (!af->fp) {
            int e = errno;
            b4k_afile_abort(af);
            return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(e));
        }
        af->seekable = lseek(fileno(af->fp), 0, SEEK_CUR) >= 0 && S_ISBLK(st.st_mode);
        *out = af;
        return 0;
    }
    af->seekable = 1;
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        free(af->tmp);
        af->tmp = NULL;
        b4k_afile_abort(af);
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot create: %s", strerror(e));
    }
    /* mkstemp creates 0600; use the usual umask-derived mode instead */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        b4k_afile_abort(af);
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(errno));
    }
    *out = af;
    return 0;
}

FILE *b4k_afile_fp(b4k_afile *af) { return af->fp; }
const char *b4k_afile_tmpname(const b4k_afile *af) { return af->tmp; }
int b4k_afile_seekable(const b4k_afile *af) { return af->seekable; }

static void afile_free(b4k_afile *af)
{
    free(af->path);
    free(af->tmp);
    free(af);
}

int b4k_afile_commit(b4k_afile *af, b4k_err *err)
{
    int rc = 0;
    if (!af->tmp) { /* in place: nothing to rename */
        if (fflush(af->fp) || ferror(af->fp))
            rc = b4k_err_set(err, B4K_EIO, af->path, 0, "write error: %s", strerror(errno));
        if (fclose(af->fp) && !rc)
            rc = b4k_err_set(err, B4K_EIO, af->path, 0, "write error: %s", strerror(errno));
        af->fp = NULL;
        afile_free(af);
        return rc;
    }
    if (fflush(af->fp) || ferror(af->fp) || fsync(fileno(af->fp))) {
        rc = b4k_err_set(err, B4K_EIO, af->path, 0, "write error: %s", strerror(errno));
        fclose(af->fp);
        af->fp = NULL;
        goto fail;
    }
    if (fclose(af->fp)) {
        af->fp = NULL;
        rc = b4k_err_set(err, B4K_EIO, af->path, 0, "write error: %s", strerror(errno));
        goto fail;
    }
    af->fp = NULL;
    if (rename(af->tmp, af->path)) {
        rc = b4k_err_set(err, B4K_EIO, af->path, 0, "cannot rename into place: %s",
                         strerror(errno));
        goto fail;
    }
    afile_free(af);
    return 0;
fail:
    unlink(af->tmp);
    afile_free(af);
    return rc;
}

void b4k_afile_abort(b4k_afile *af)
{
    if (!af)
        return;
    if (af->fp)
        fclose(af->fp);
    if (af->tmp)
        unlink(af->tmp);
    afile_free(af);
}

int b4k_afile_write_all(const char *path, const void *data, size_t n, b4k_err *err)
{
    b4k_afile *af;
    int rc = b4k_afile_open(&af, path, err);
    if (rc)
        return rc;
    if (n && fwrite(data, 1, n, af->fp) != n) {
        b4k_afile_abort(af);
        return b4k_err_set(err, B4K_EIO, path, 0, "write error: %s", strerror(errno));
    }
    return b4k_afile_commit(af, err);
}
