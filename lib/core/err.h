/* Error type shared by every library function.
 *
 * Library functions return int (0 ok, negative B4K_E*), fill a b4k_err with
 * the code, the file and line the problem is in (of the *input*, not of the C
 * source), and a message.  The library never prints and never exits; cmd/
 * turns a b4k_err into "prog: file:line: message" and an exit code. */
#ifndef B4K_CORE_ERR_H
#define B4K_CORE_ERR_H

#include <stdarg.h>

enum {
    B4K_OK = 0,
    B4K_EIO = -1,      /* read/write/open failed (errno text in message) */
    B4K_ENOMEM = -2,   /* allocation failed or size overflow */
    B4K_EFORMAT = -3,  /* malformed input: file contents are wrong */
    B4K_EINVAL = -4,   /* invalid argument/option value */
    B4K_ERANGE = -5,   /* value out of range, too long, too large */
    B4K_EUNSUP = -6,   /* valid but unsupported feature */
    B4K_ECHECKSUM = -7 /* checksum mismatch */
};

typedef struct b4k_err {
    int code;        /* B4K_OK or a negative B4K_E* */
    long line;       /* 1-based line (or record) number, 0 if none */
    char file[256];  /* input name, "" if none */
    char msg[512];
} b4k_err;

/* Reset to "no error". err may be NULL. */
void b4k_err_clear(b4k_err *err);

/* Fill err (may be NULL) and return code, so callers can write
 * `return b4k_err_set(err, B4K_EFORMAT, path, n, "bad %s", x);`.
 * file may be NULL. */
int b4k_err_set(b4k_err *err, int code, const char *file, long line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int b4k_err_setv(b4k_err *err, int code, const char *file, long line,
                 const char *fmt, va_list ap);

/* Fill in file/line on an error that was raised without them (for example by
 * a parser that works on a buffer).  Leaves existing file/line alone. */
void b4k_err_locate(b4k_err *err, const char *file, long line);

/* Short name of a code ("format error", ...). */
const char *b4k_err_str(int code);

/* Format "file:line: message" (or "file: message" or "message") into buf. */
void b4k_err_format(const b4k_err *err, char *buf, unsigned long cap);

#endif
