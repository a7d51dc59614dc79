/* Extraction data sets: documents with gold triples (spo) or entity spans
 * (ner), read from the common formats, and a name table (predicates or
 * entity types) that the model keeps as its schema.
 *
 *   spo:  lic2019  JSON lines {"text","spo_list":[{"subject","predicate","object"}]}
 *         cmeie    same, with "object": {"@value": ...}
 *         casrel   one JSON array [{"text","triple_list":[[s,p,o]]}]
 *   ner:  conll    one character per line "char<sp|tab>tag", blank line
 *                  between sentences; BIO, BIOES or BMES tags; a first
 *                  field of one character plus digits (Weibo's "科0") is the
 *                  character
 *         cluener  JSON lines {"text","label":{type:{entity:[[s,e]]}}},
 *                  e inclusive
 *
 * Offsets are Unicode code points of the text, [start, end).  Strings of
 * triples are kept as given (evaluation compares strings, as bert4keras);
 * their offsets are the first occurrence in the text, or -1 when the string
 * does not occur (noted in b4k_ie_data.missing).  Input that is not valid
 * UTF-8 or not of the format is an error with file:line. */
#ifndef B4K_IE_DATA_H
#define B4K_IE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct b4k_ie_names {
    char **v;
    int n;
    size_t cap;
} b4k_ie_names;

void b4k_ie_names_free(b4k_ie_names *nm);
int b4k_ie_names_find(const b4k_ie_names *nm, const char *s);
/* Index of s, adding it when absent; negative B4K_E* on failure. */
int b4k_ie_names_add(b4k_ie_names *nm, const char *s);

typedef struct b4k_ie_triple {
    char *subj, *obj;
    int pred;
    int32_t s0, s1, o0, o1; /* code point spans, -1 if not found */
} b4k_ie_triple;

typedef struct b4k_ie_span {
    int32_t start, end; /* code points [start,end) */
    int type;
} b4k_ie_span;

/* Warnings about input items (gold strings not in their text, names
 * outside the schema, texts cut at max_len, ...): the first
 * B4K_IE_NOTES_KEEP with where they are, and the total.  The library does
 * not print; cmd/ shows them as "prog: file:line: text". */
#define B4K_IE_NOTES_KEEP 10
typedef struct b4k_ie_note {
    const char *file;     /* borrowed from the b4k_ie_data that has the document */
    long line;
    char text[240];
} b4k_ie_note;

typedef struct b4k_ie_notes {
    b4k_ie_note v[B4K_IE_NOTES_KEEP];
    int n;                /* kept */
    long total;           /* all */
} b4k_ie_notes;

/* Count one more and keep it while there is room. */
void b4k_ie_note_add(b4k_ie_notes *ns, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Add the notes of src to dst (their file names must outlive dst). */
void b4k_ie_notes_merge(b4k_ie_notes *dst, const b4k_ie_notes *src);

typedef struct b4k_ie_doc {
    char *text;           /* NUL-terminated UTF-8 */
    size_t len;           /* bytes */
    int32_t ncp;          /* code points */
    const char *src;      /* source file name (owned by the b4k_ie_data), or NULL */
    long line;            /* line in the source file (casrel: the record's first line) */
    b4k_ie_triple *trip;
    int ntrip;
    size_t tcap;
    b4k_ie_span *ent;
    int nent;
    size_t ecap;
} b4k_ie_doc;

typedef struct b4k_ie_data {
    b4k_ie_doc *doc;
    size_t n, cap;
    char **srcs;          /* names of the files read */
    int nsrc;
    size_t srccap;
    b4k_ie_notes missing; /* triples whose subject or object string is not in the text */
    b4k_ie_notes unknown; /* triples/entities with a name outside a frozen schema */
} b4k_ie_data;

enum { B4K_IE_LIC2019 = 1, B4K_IE_CMEIE, B4K_IE_CASREL, B4K_IE_CONLL, B4K_IE_CLUENER };

/* "lic2019", "cmeie", "casrel", "conll", "cluener" -> B4K_IE_*; 0 if unknown. */
int b4k_ie_format_parse(const char *s);
int b4k_ie_format_is_spo(int fmt);

/* Read path ("-" = stdin, .zst ok) in format fmt, appending documents.
 * names: the schema; names not in it are added when !frozen, otherwise the
 * triple/entity is dropped and noted in data->unknown. */
int b4k_ie_read(b4k_ie_data *d, b4k_err *err, const char *path, int fmt, b4k_ie_names *names,
                int frozen);
void b4k_ie_data_free(b4k_ie_data *d);
/* XXH64 over the documents: texts and gold annotations (for checking that
 * a resumed run reads the data it was started on). */
uint64_t b4k_ie_data_hash(const b4k_ie_data *d);
/* Append a document without gold annotations (for prediction); src (may
 * be NULL) names its file and must outlive d. */
int b4k_ie_data_add_text(b4k_ie_data *d, const char *text, size_t len, const char *src, long line);

/* Gold annotations in a record given to predict (spo: "spo_list" or
 * "triple_list"; ner: CLUENER's "label") that name predicates or types
 * outside names: one note each in ns, at file:line. */
struct json_t;
void b4k_ie_gold_unknown(b4k_ie_notes *ns, const struct json_t *record, int spo,
                         const b4k_ie_names *names, const char *file, long line);

/* Byte offset of code point i in text (i may equal ncp). */
size_t b4k_ie_cp_to_byte(const char *text, size_t len, int32_t i);
/* Code point count of s[0..n) (invalid bytes count 1 each). */
int32_t b4k_ie_cp_count(const char *s, size_t n);
/* First occurrence of needle in text, as a code point offset, or -1. */
int32_t b4k_ie_find_cp(const char *text, size_t len, const char *needle, size_t nlen);

#endif
