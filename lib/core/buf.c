#include "core/buf.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void b4k_buf_init(b4k_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void b4k_buf_free(b4k_buf *b)
{
    free(b->data);
    b4k_buf_init(b);
}

int b4k_buf_reserve(b4k_buf *b, size_t extra)
{
    size_t need;
    if (b4k_add_ok(b->len, extra, &need) || b4k_add_ok(need, 1, &need))
        return B4K_ENOMEM;
    return b4k_grow((void **)&b->data, &b->cap, need, 1);
}

int b4k_buf_append(b4k_buf *b, const void *p, size_t n)
{
    if (b4k_buf_reserve(b, n))
        return B4K_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int b4k_buf_puts(b4k_buf *b, const char *s) { return b4k_buf_append(b, s, strlen(s)); }

int b4k_buf_putc(b4k_buf *b, char c)
{
    if (b->len + 1 >= b->cap && b4k_buf_reserve(b, 1))
        return B4K_ENOMEM;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
}

int b4k_buf_printf(b4k_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return B4K_EINVAL;
    if (b4k_buf_reserve(b, (size_t)n))
        return B4K_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int b4k_buf_put_i64(b4k_buf *b, int64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return b4k_buf_append(b, p, (size_t)(e - p));
}

int b4k_buf_put_json_str(b4k_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (b4k_buf_reserve(b, n + 2))
        return B4K_ENOMEM;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (b4k_buf_append(b, s + run, i - run))
            return B4K_ENOMEM;
        run = i + 1;
        char esc[7];
        size_t k = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\t': esc[1] = 't'; break;
        case '\r': esc[1] = 'r'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            k = 6;
        }
        if (b4k_buf_append(b, esc, k))
            return B4K_ENOMEM;
    }
    if (b4k_buf_append(b, s + run, n - run))
        return B4K_ENOMEM;
    return b4k_buf_putc(b, '"');
}
