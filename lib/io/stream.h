/* Input streams: a file, "-" for stdin, or a memory buffer; zstd-compressed
 * input (detected by its magic number, not the file name) is decompressed
 * transparently.  Lines are counted so errors can say file:line. */
#ifndef B4K_IO_STREAM_H
#define B4K_IO_STREAM_H

#include <stddef.h>

#include "core/err.h"

typedef struct b4k_stream b4k_stream;

#define B4K_STREAM_MAX_LINE_DEFAULT ((size_t)64 << 20) /* 64 MiB */

/* Open path ("-" = stdin).  Returns 0 or a B4K_E* code with err filled. */
int b4k_stream_open(b4k_stream **out, const char *path, b4k_err *err);
/* Bytes [off, off+len) of a plain (uncompressed) file, read as they are:
 * no zstd sniffing; line numbers count from 1 at off. */
int b4k_stream_open_range(b4k_stream **out, const char *path, size_t off, size_t len,
                          b4k_err *err);
/* Read from a caller-owned buffer (copied on open); name is used in errors. */
int b4k_stream_open_mem(b4k_stream **out, const void *data, size_t n, const char *name,
                        b4k_err *err);
void b4k_stream_close(b4k_stream *s); /* NULL ok; does not close stdin */

/* Next line without its '\n'.  *line points into the stream's buffer, is
 * NUL-terminated (the line itself may contain NUL bytes: use *len), and stays
 * valid until the next call.  Returns 1 for a line, 0 at end of input, or a
 * negative code (I/O error, corrupt zstd data, line longer than the limit).
 * A final line without '\n' is returned as a line. */
int b4k_stream_getline(b4k_stream *s, char **line, size_t *len, b4k_err *err);

/* Raw (decompressed) bytes.  *got < n only at end of input, or on an error,
 * where *got bytes before it were still stored.  Do not mix with getline on
 * the same stream. */
int b4k_stream_read(b4k_stream *s, void *buf, size_t n, size_t *got, b4k_err *err);

/* Number of the line most recently returned (1-based), 0 before the first. */
long b4k_stream_lineno(const b4k_stream *s);
const char *b4k_stream_name(const b4k_stream *s);
int b4k_stream_is_zstd(const b4k_stream *s);
/* Bytes consumed from the underlying file so far (compressed bytes for zstd)
 * and its total size if known (0 otherwise): for progress lines. */
size_t b4k_stream_consumed(const b4k_stream *s);
size_t b4k_stream_total(const b4k_stream *s);
void b4k_stream_set_max_line(b4k_stream *s, size_t max);

#endif
