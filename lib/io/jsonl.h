/* JSON lines on jansson.  This header is the one home of <jansson.h> in the
 * library: modules that need JSON include "io/jsonl.h". */
#ifndef B4K_IO_JSONL_H
#define B4K_IO_JSONL_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Parse one line into a JSON value (any type).  file/line go into err. */
int b4k_jsonl_parse(json_t **out, const char *text, size_t len, const char *file, long line,
                    b4k_err *err);

/* Parse one line that must be an object. */
int b4k_jsonl_parse_object(json_t **out, const char *text, size_t len, const char *file,
                           long line, b4k_err *err);

/* Append v compactly (key order preserved, UTF-8 kept) to out, no newline. */
int b4k_jsonl_dump(b4k_buf *out, const json_t *v);

/* Parse a whole JSON document from memory (for headers and config files). */
int b4k_json_parse_doc(json_t **out, const char *text, size_t len, const char *file,
                       b4k_err *err);

/* Load a JSON file (plain or .zst) from path. */
int b4k_json_load_file(json_t **out, const char *path, b4k_err *err);

/* Get a string member; returns NULL (and fills err) if missing or not a string. */
const char *b4k_json_get_str(const json_t *obj, const char *key, size_t *len, const char *file,
                             long line, b4k_err *err);

/* Append the JSON text of an array of ints: [1,2,3]. */
int b4k_jsonl_put_ints(b4k_buf *out, const int32_t *v, size_t n);
/* ... and of n pairs v[2i], v[2i+1] as [[a,b],[c,d]] (offsets). */
int b4k_jsonl_put_pairs(b4k_buf *out, const int32_t *v, size_t n);

/* Splice extra members into the text of a JSON object line: given the
 * original object text `{...}` and `members` (`"k":v,"k2":v2` without braces),
 * append `{... ,members}` to out.  The original text is kept byte for byte.
 * The caller guarantees the text is a valid object (parsed already). */
int b4k_jsonl_splice(b4k_buf *out, const char *obj_text, size_t obj_len, const char *members,
                     size_t members_len);

#endif
