#include "io/jsonl.h"
#include "io/stream.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

int b4k_jsonl_parse(json_t **out, const char *text, size_t len, const char *file, long line,
                    b4k_err *err)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!*out)
        return b4k_err_set(err, B4K_EFORMAT, file, line, "invalid JSON: %s (column %d)",
                           je.text, je.column);
    return 0;
}

int b4k_jsonl_parse_object(json_t **out, const char *text, size_t len, const char *file,
                           long line, b4k_err *err)
{
    int rc = b4k_jsonl_parse(out, text, len, file, line, err);
    if (rc)
        return rc;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return b4k_err_set(err, B4K_EFORMAT, file, line, "expected a JSON object");
    }
    return 0;
}

static int dump_cb(const char *s, size_t n, void *data)
{
    return b4k_buf_append(data, s, n) ? -1 : 0;
}

int b4k_jsonl_dump(b4k_buf *out, const json_t *v)
{
    if (json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY))
        return B4K_ENOMEM;
    return 0;
}

int b4k_json_parse_doc(json_t **out, const char *text, size_t len, const char *file,
                       b4k_err *err)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!*out)
        return b4k_err_set(err, B4K_EFORMAT, file, je.line > 0 ? je.line : 0,
                           "invalid JSON: %s", je.text);
    return 0;
}

int b4k_json_load_file(json_t **out, const char *path, b4k_err *err)
{
    *out = NULL;
    b4k_stream *s;
    int rc = b4k_stream_open(&s, path, err);
    if (rc)
        return rc;
    b4k_buf b;
    b4k_buf_init(&b);
    char tmp[65536];
    for (;;) {
        size_t got;
        rc = b4k_stream_read(s, tmp, sizeof tmp, &got, err);
        if (rc)
            goto done;
        if (b4k_buf_append(&b, tmp, got)) {
            rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
            goto done;
        }
        if (got < sizeof tmp)
            break;
    }
    rc = b4k_json_parse_doc(out, b.data ? b.data : "", b.len, path, err);
done:
    b4k_buf_free(&b);
    b4k_stream_close(s);
    return rc;
}

const char *b4k_json_get_str(const json_t *obj, const char *key, size_t *len, const char *file,
                             long line, b4k_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        b4k_err_set(err, B4K_EFORMAT, file, line, "missing field \"%s\"", key);
        return NULL;
    }
    if (!json_is_string(v)) {
        b4k_err_set(err, B4K_EFORMAT, file, line, "field \"%s\" is not a string", key);
        return NULL;
    }
    if (len)
        *len = json_string_length(v);
    return json_string_value(v);
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* x in decimal at p (two digits a step, from the right); returns the end */
static inline char *put_int(char *p, int32_t x)
{
    uint32_t u = x < 0 ? (uint32_t)0 - (uint32_t)x : (uint32_t)x;
    if (x < 0)
        *p++ = '-';
    if (u < 10) {
        *p = (char)('0' + u);
        return p + 1;
    }
    int nd = u < 100 ? 2 : u < 1000 ? 3 : u < 10000 ? 4 : u < 100000 ? 5 : u < 1000000 ? 6
           : u < 10000000 ? 7 : u < 100000000 ? 8 : u < 1000000000 ? 9 : 10;
    char *e = p + nd, *q = e;
    while (u >= 100) {
        uint32_t r = u % 100;
        u /= 100;
        q -= 2;
        memcpy(q, digits2 + 2 * r, 2);
    }
    if (u >= 10) {
        q -= 2;
        memcpy(q, digits2 + 2 * u, 2);
    } else {
        *--q = (char)('0' + u);
    }
    return e;
}

int b4k_jsonl_put_ints(b4k_buf *out, const int32_t *v, size_t n)
{
    if (b4k_buf_reserve(out, n * 12 + 2))
        return B4K_ENOMEM;
    char *p = out->data + out->len;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        p = put_int(p, v[i]);
    }
    *p++ = ']';
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int b4k_jsonl_put_pairs(b4k_buf *out, const int32_t *v, size_t n)
{
    if (b4k_buf_reserve(out, n * 26 + 2))
        return B4K_ENOMEM;
    char *p = out->data + out->len;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '[';
        p = put_int(p, v[2 * i]);
        *p++ = ',';
        p = put_int(p, v[2 * i + 1]);
        *p++ = ']';
    }
    *p++ = ']';
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int b4k_jsonl_splice(b4k_buf *out, const char *obj_text, size_t obj_len, const char *members,
                     size_t members_len)
{
    /* trim trailing whitespace, find the closing brace */
    size_t end = obj_len;
    while (end > 0 && (obj_text[end - 1] == ' ' || obj_text[end - 1] == '\t' ||
                       obj_text[end - 1] == '\r' || obj_text[end - 1] == '\n'))
        end--;
    if (end == 0 || obj_text[end - 1] != '}')
        return B4K_EINVAL;
    size_t close = end - 1;
    /* is the object empty?  look back over whitespace for '{' */
    size_t k = close;
    while (k > 0 && (obj_text[k - 1] == ' ' || obj_text[k - 1] == '\t' ||
                     obj_text[k - 1] == '\r' || obj_text[k - 1] == '\n'))
        k--;
    int empty = k > 0 && obj_text[k - 1] == '{';
    if (b4k_buf_append(out, obj_text, close))
        return B4K_ENOMEM;
    if (members_len) {
        if (!empty && b4k_buf_putc(out, ','))
            return B4K_ENOMEM;
        if (b4k_buf_append(out, members, members_len))
            return B4K_ENOMEM;
    }
    return b4k_buf_putc(out, '}');
}
