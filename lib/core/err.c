#include "core/err.h"

#include <stdio.h>
#include <string.h>

void b4k_err_clear(b4k_err *err)
{
    if (!err)
        return;
    err->code = B4K_OK;
    err->line = 0;
    err->file[0] = '\0';
    err->msg[0] = '\0';
}

int b4k_err_setv(b4k_err *err, int code, const char *file, long line,
                 const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    err->line = line;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

int b4k_err_set(b4k_err *err, int code, const char *file, long line,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    b4k_err_setv(err, code, file, line, fmt, ap);
    va_end(ap);
    return code;
}

void b4k_err_locate(b4k_err *err, const char *file, long line)
{
    if (!err)
        return;
    if (!err->file[0] && file)
        snprintf(err->file, sizeof err->file, "%s", file);
    if (!err->line)
        err->line = line;
}

const char *b4k_err_str(int code)
{
    switch (code) {
    case B4K_OK: return "ok";
    case B4K_EIO: return "I/O error";
    case B4K_ENOMEM: return "out of memory";
    case B4K_EFORMAT: return "format error";
    case B4K_EINVAL: return "invalid argument";
    case B4K_ERANGE: return "out of range";
    case B4K_EUNSUP: return "unsupported";
    case B4K_ECHECKSUM: return "checksum mismatch";
    default: return "error";
    }
}

void b4k_err_format(const b4k_err *err, char *buf, unsigned long cap)
{
    const char *msg = err->msg[0] ? err->msg : b4k_err_str(err->code);
    if (err->file[0] && err->line > 0)
        snprintf(buf, cap, "%s:%ld: %s", err->file, err->line, msg);
    else if (err->file[0])
        snprintf(buf, cap, "%s: %s", err->file, msg);
    else
        snprintf(buf, cap, "%s", msg);
}
