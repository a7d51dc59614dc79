/* Atomic output files: write to a temporary file in the same directory, then
 * fsync and rename over the target on commit.  An aborted (or never
 * committed) file leaves the target untouched and no temporary behind.
 *
 * A target that exists and is not a regular file (/dev/null, a FIFO, a
 * terminal, /dev/stdout) is written in place instead: renaming over it would
 * replace the device node itself.  b4k_afile_tmpname() is then NULL and
 * b4k_afile_seekable() tells whether pwrite/fseek work on it. */
#ifndef B4K_IO_ATOMIC_H
#define B4K_IO_ATOMIC_H

#include <stdio.h>

#include "core/err.h"

typedef struct b4k_afile b4k_afile;

int b4k_afile_open(b4k_afile **out, const char *path, b4k_err *err);
FILE *b4k_afile_fp(b4k_afile *af);
const char *b4k_afile_tmpname(const b4k_afile *af); /* NULL when in place */
int b4k_afile_seekable(const b4k_afile *af);
/* Flush, fsync, close and rename into place; frees af in all cases. */
int b4k_afile_commit(b4k_afile *af, b4k_err *err);
/* Close and unlink the temporary; frees af.  NULL is a no-op. */
void b4k_afile_abort(b4k_afile *af);

/* Write a whole buffer atomically. */
int b4k_afile_write_all(const char *path, const void *data, size_t n, b4k_err *err);

#endif
