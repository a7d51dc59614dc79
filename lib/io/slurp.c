/* Whole files in memory (see slurp.h). */
#include "io/slurp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if anonymous memory may get transparent huge pages on request */
static int thp_ok(void)
{
    char buf[128];
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return !strstr(buf, "[never]");
}

/* read into a 2 MB aligned region advised MADV_HUGEPAGE: 1 done, 0 not
 * possible here, negative a read error */
static int read_huge(b4k_slurp *s, int fd, const char *path, b4k_err *err)
{
#ifdef MADV_HUGEPAGE
    const size_t H = (size_t)2 << 20;
    size_t len = (s->size + H - 1) & ~(H - 1);
    if (len < s->size || len + H < len || !thp_ok())
        return 0;
    uint8_t *raw = mmap(NULL, len + H, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return 0;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + H - 1) & ~(uintptr_t)(H - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (p + len < raw + len + H)
        munmap(p + len, (size_t)(raw + len + H - (p + len)));
    if (madvise(p, len, MADV_HUGEPAGE)) {
        munmap(p, len);
        return 0;
    }
    s->map = p;
    s->map_len = len;
    size_t got = 0;
    while (got < s->size) {
        ssize_t r = pread(fd, p + got, s->size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return b4k_err_set(err, B4K_EIO, path, 0, "read: %s",
                               r < 0 ? strerror(errno) : "the file shrank while it was read");
        got += (size_t)r;
    }
    s->data = p;
    s->huge = 1;
    return 1;
#else
    (void)s, (void)fd, (void)path, (void)err;
    return 0;
#endif
}

int b4k_slurp_open(b4k_slurp *s, const char *path, b4k_err *err)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return b4k_err_set(err, B4K_EIO, path, 0, "not a regular file");
    }
    s->size = (size_t)st.st_size;
    s->data = "";
    int rc = s->size ? read_huge(s, fd, path, err) : 1;
    if (rc == 0) {
        void *p = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = b4k_err_set(err, B4K_EIO, path, 0, "mmap: %s", strerror(errno));
        } else {
            s->map = p;
            s->map_len = s->size;
            s->data = p;
            rc = 1;
        }
    }
    close(fd);
    if (rc < 0) {
        b4k_slurp_close(s);
        return rc;
    }
    if (s->huge)
        mprotect(s->map, s->map_len, PROT_READ);
    return 0;
}

void b4k_slurp_close(b4k_slurp *s)
{
    if (s->map)
        munmap(s->map, s->map_len);
    memset(s, 0, sizeof *s);
}
