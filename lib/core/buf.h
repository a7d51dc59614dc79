/* Growable byte buffer, used to build output records without stdio. */
#ifndef B4K_CORE_BUF_H
#define B4K_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct b4k_buf {
    char *data;  /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
} b4k_buf;

void b4k_buf_init(b4k_buf *b);
void b4k_buf_free(b4k_buf *b);          /* frees storage, keeps b reusable */
static inline void b4k_buf_reset(b4k_buf *b) { b->len = 0; if (b->data) b->data[0] = 0; }
int b4k_buf_reserve(b4k_buf *b, size_t extra);      /* 0 or B4K_ENOMEM */
int b4k_buf_append(b4k_buf *b, const void *p, size_t n);
int b4k_buf_puts(b4k_buf *b, const char *s);
int b4k_buf_putc(b4k_buf *b, char c);
int b4k_buf_printf(b4k_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int b4k_buf_put_i64(b4k_buf *b, int64_t v);          /* decimal */
/* Append s as a JSON string literal (with quotes).  s must be valid UTF-8;
 * control characters, '"' and '\\' are escaped, everything else is copied. */
int b4k_buf_put_json_str(b4k_buf *b, const char *s, size_t n);

#endif
