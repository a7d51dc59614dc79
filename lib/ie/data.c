/* Extraction data readers; see data.h. */
#include "ie/data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "model/model.h"

void b4k_ie_names_free(b4k_ie_names *nm)
{
    if (!nm) return;
    for (int i = 0; i < nm->n; i++) free(nm->v[i]);
    free(nm->v);
    memset(nm, 0, sizeof *nm);
}

int b4k_ie_names_find(const b4k_ie_names *nm, const char *s)
{
    for (int i = 0; i < nm->n; i++)
        if (!strcmp(nm->v[i], s)) return i;
    return -1;
}

int b4k_ie_names_add(b4k_ie_names *nm, const char *s)
{
    int i = b4k_ie_names_find(nm, s);
    if (i >= 0) return i;
    if (B4K_GROW(nm->v, nm->cap, (size_t)nm->n + 1)) return B4K_ENOMEM;
    if (!(nm->v[nm->n] = b4k_strdup(s))) return B4K_ENOMEM;
    return nm->n++;
}

int b4k_ie_format_parse(const char *s)
{
    if (!strcmp(s, "lic2019")) return B4K_IE_LIC2019;
    if (!strcmp(s, "cmeie")) return B4K_IE_CMEIE;
    if (!strcmp(s, "casrel")) return B4K_IE_CASREL;
    if (!strcmp(s, "conll")) return B4K_IE_CONLL;
    if (!strcmp(s, "cluener")) return B4K_IE_CLUENER;
    return 0;
}

int b4k_ie_format_is_spo(int fmt)
{
    return fmt == B4K_IE_LIC2019 || fmt == B4K_IE_CMEIE || fmt == B4K_IE_CASREL;
}

size_t b4k_ie_cp_to_byte(const char *text, size_t len, int32_t i)
{
    size_t b = 0;
    uint32_t cp;
    for (int32_t k = 0; k < i && b < len; k++) {
        int n = b4k_utf8_decode((const unsigned char *)text + b, len - b, &cp);
        b += n > 0 ? (size_t)n : 1;
    }
    return b;
}

int32_t b4k_ie_cp_count(const char *s, size_t n)
{
    int32_t c = 0;
    size_t b = 0;
    uint32_t cp;
    while (b < n) {
        int k = b4k_utf8_decode((const unsigned char *)s + b, n - b, &cp);
        b += k > 0 ? (size_t)k : 1;
        c++;
    }
    return c;
}

int32_t b4k_ie_find_cp(const char *text, size_t len, const char *needle, size_t nlen)
{
    if (!nlen || nlen > len) return -1;
    const char *p = memmem(text, len, needle, nlen);
    if (!p) return -1;
    return b4k_ie_cp_count(text, (size_t)(p - text));
}

void b4k_ie_note_add(b4k_ie_notes *ns, const char *file, long line, const char *fmt, ...)
{
    ns->total++;
    if (ns->n >= B4K_IE_NOTES_KEEP) return;
    b4k_ie_note *n = &ns->v[ns->n++];
    n->file = file;
    n->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
}

void b4k_ie_notes_merge(b4k_ie_notes *dst, const b4k_ie_notes *src)
{
    for (int i = 0; i < src->n && dst->n < B4K_IE_NOTES_KEEP; i++) dst->v[dst->n++] = src->v[i];
    dst->total += src->total;
}

void b4k_ie_data_free(b4k_ie_data *d)
{
    if (!d) return;
    for (int i = 0; i < d->nsrc; i++) free(d->srcs[i]);
    free(d->srcs);
    for (size_t i = 0; i < d->n; i++) {
        b4k_ie_doc *x = &d->doc[i];
        for (int k = 0; k < x->ntrip; k++) {
            free(x->trip[k].subj);
            free(x->trip[k].obj);
        }
        free(x->trip);
        free(x->ent);
        free(x->text);
    }
    free(d->doc);
    memset(d, 0, sizeof *d);
}

uint64_t b4k_ie_data_hash(const b4k_ie_data *d)
{
    b4k_xxh64_state h;
    b4k_xxh64_init(&h, 0);
    for (size_t i = 0; i < d->n; i++) {
        const b4k_ie_doc *x = &d->doc[i];
        int32_t k[3] = {(int32_t)x->len, x->ntrip, x->nent};
        b4k_xxh64_update(&h, k, sizeof k);
        b4k_xxh64_update(&h, x->text, x->len);
        for (int t = 0; t < x->ntrip; t++) {
            const b4k_ie_triple *q = &x->trip[t];
            b4k_xxh64_update(&h, &q->pred, sizeof q->pred);
            b4k_xxh64_update(&h, q->subj, strlen(q->subj) + 1);
            b4k_xxh64_update(&h, q->obj, strlen(q->obj) + 1);
        }
        for (int t = 0; t < x->nent; t++) b4k_xxh64_update(&h, &x->ent[t], sizeof x->ent[t]);
    }
    return b4k_xxh64_digest(&h);
}

static b4k_ie_doc *new_doc(b4k_ie_data *d, const char *text, size_t len, long line)
{
    if (B4K_GROW(d->doc, d->cap, d->n + 1)) return NULL;
    b4k_ie_doc *x = &d->doc[d->n];
    memset(x, 0, sizeof *x);
    if (!(x->text = b4k_strndup(text, len))) return NULL;
    x->len = len;
    x->ncp = b4k_ie_cp_count(text, len);
    x->line = line;
    x->src = d->nsrc ? d->srcs[d->nsrc - 1] : NULL;
    d->n++;
    return x;
}

int b4k_ie_data_add_text(b4k_ie_data *d, const char *text, size_t len, const char *src, long line)
{
    b4k_ie_doc *x = new_doc(d, text, len, line);
    if (!x) return B4K_ENOMEM;
    x->src = src;
    return 0;
}

static int add_triple(b4k_ie_data *d, b4k_ie_doc *x, b4k_ie_names *names, int frozen,
                      const char *s, const char *p, const char *o)
{
    int pi = frozen ? b4k_ie_names_find(names, p) : b4k_ie_names_add(names, p);
    if (pi == B4K_ENOMEM) return B4K_ENOMEM;
    if (pi < 0) {
        b4k_ie_note_add(&d->unknown, x->src, x->line, "predicate \"%.60s\" is not in the schema", p);
        return 0;
    }
    if (B4K_GROW(x->trip, x->tcap, (size_t)x->ntrip + 1)) return B4K_ENOMEM;
    b4k_ie_triple *t = &x->trip[x->ntrip];
    memset(t, 0, sizeof *t);
    t->pred = pi;
    t->subj = b4k_strdup(s);
    t->obj = b4k_strdup(o);
    if (!t->subj || !t->obj) {
        free(t->subj);
        free(t->obj);
        return B4K_ENOMEM;
    }
    size_t sl = strlen(s), ol = strlen(o);
    t->s0 = b4k_ie_find_cp(x->text, x->len, s, sl);
    t->o0 = b4k_ie_find_cp(x->text, x->len, o, ol);
    t->s1 = t->s0 < 0 ? -1 : t->s0 + b4k_ie_cp_count(s, sl);
    t->o1 = t->o0 < 0 ? -1 : t->o0 + b4k_ie_cp_count(o, ol);
    if (t->s0 < 0 || t->o0 < 0)
        b4k_ie_note_add(&d->missing, x->src, x->line, "%s \"%.60s\" of triple (\"%.40s\", \"%.40s\", \"%.40s\") is not in the text",
                        t->s0 < 0 ? "subject" : "object", t->s0 < 0 ? s : o, s, p, o);
    x->ntrip++;
    return 0;
}

static int add_span(b4k_ie_data *d, b4k_ie_doc *x, b4k_ie_names *names, int frozen,
                    const char *type, int32_t s, int32_t e)
{
    int ti = frozen ? b4k_ie_names_find(names, type) : b4k_ie_names_add(names, type);
    if (ti == B4K_ENOMEM) return B4K_ENOMEM;
    if (ti < 0) {
        b4k_ie_note_add(&d->unknown, x->src, x->line, "entity type \"%.60s\" is not in the schema", type);
        return 0;
    }
    if (B4K_GROW(x->ent, x->ecap, (size_t)x->nent + 1)) return B4K_ENOMEM;
    x->ent[x->nent++] = (b4k_ie_span){s, e, ti};
    return 0;
}

/* string member, or for cmeie-style objects {"@value": string} */
static const char *str_or_value(const json_t *v)
{
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) {
        json_t *x = json_object_get(v, "@value");
        if (json_is_string(x)) return json_string_value(x);
    }
    return NULL;
}

void b4k_ie_gold_unknown(b4k_ie_notes *ns, const json_t *o, int spo, const b4k_ie_names *names,
                         const char *file, long line)
{
    size_t i;
    json_t *t;
    if (spo) {
        json_array_foreach(json_object_get(o, "spo_list"), i, t) {
            const char *p = str_or_value(json_object_get(t, "predicate"));
            if (p && b4k_ie_names_find(names, p) < 0)
                b4k_ie_note_add(ns, file, line, "gold predicate \"%.60s\" is not in the model's schema", p);
        }
        json_array_foreach(json_object_get(o, "triple_list"), i, t) {
            const char *p = json_string_value(json_array_get(t, 1));
            if (p && b4k_ie_names_find(names, p) < 0)
                b4k_ie_note_add(ns, file, line, "gold predicate \"%.60s\" is not in the model's schema", p);
        }
        return;
    }
    const char *type;
    json_t *lab = json_object_get(o, "label");
    if (json_is_object(lab))
        json_object_foreach(lab, type, t) {
            if (b4k_ie_names_find(names, type) < 0)
                b4k_ie_note_add(ns, file, line, "gold entity type \"%.60s\" is not in the model's schema", type);
        }
}

#define FERR(code, ...) (rc = b4k_err_set(err, code, name, line, __VA_ARGS__))

static int read_spo_obj(b4k_ie_data *d, b4k_err *err, const char *name, long line, json_t *o,
                        int fmt, b4k_ie_names *names, int frozen)
{
    int rc = 0;
    size_t tl;
    const char *text = b4k_json_get_str(o, "text", &tl, name, line, err);
    if (!text) return err ? err->code : B4K_EFORMAT;
    if (b4k_utf8_check(text, tl) != (size_t)-1) return FERR(B4K_EFORMAT, "text is not valid UTF-8");
    b4k_ie_doc *x = new_doc(d, text, tl, line);
    if (!x) return FERR(B4K_ENOMEM, "out of memory");
    if (fmt == B4K_IE_CASREL) {
        json_t *tlist = json_object_get(o, "triple_list");
        if (tlist && !json_is_array(tlist)) return FERR(B4K_EFORMAT, "\"triple_list\" is not an array");
        size_t i;
        json_t *t;
        json_array_foreach(tlist, i, t) {
            if (!json_is_array(t) || json_array_size(t) != 3)
                return FERR(B4K_EFORMAT, "triple %zu is not [subject, relation, object]", i + 1);
            const char *s = json_string_value(json_array_get(t, 0)),
                       *p = json_string_value(json_array_get(t, 1)),
                       *ob = json_string_value(json_array_get(t, 2));
            if (!s || !p || !ob) return FERR(B4K_EFORMAT, "triple %zu has a non-string member", i + 1);
            if ((rc = add_triple(d, x, names, frozen, s, p, ob))) return FERR(rc, "out of memory");
        }
        return 0;
    }
    json_t *list = json_object_get(o, "spo_list");
    if (list && !json_is_array(list)) return FERR(B4K_EFORMAT, "\"spo_list\" is not an array");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        if (!json_is_object(t)) return FERR(B4K_EFORMAT, "spo_list[%zu] is not an object", i);
        const char *s = str_or_value(json_object_get(t, "subject")),
                   *p = str_or_value(json_object_get(t, "predicate")),
                   *ob = str_or_value(json_object_get(t, "object"));
        if (!s || !p || !ob)
            return FERR(B4K_EFORMAT, "spo_list[%zu] needs string \"subject\", \"predicate\", \"object\"", i);
        if ((rc = add_triple(d, x, names, frozen, s, p, ob))) return FERR(rc, "out of memory");
    }
    return 0;
}

static int read_cluener_obj(b4k_ie_data *d, b4k_err *err, const char *name, long line, json_t *o,
                            b4k_ie_names *names, int frozen)
{
    int rc = 0;
    size_t tl;
    const char *text = b4k_json_get_str(o, "text", &tl, name, line, err);
    if (!text) return err ? err->code : B4K_EFORMAT;
    if (b4k_utf8_check(text, tl) != (size_t)-1) return FERR(B4K_EFORMAT, "text is not valid UTF-8");
    b4k_ie_doc *x = new_doc(d, text, tl, line);
    if (!x) return FERR(B4K_ENOMEM, "out of memory");
    json_t *lab = json_object_get(o, "label");
    if (!lab) return 0;
    if (!json_is_object(lab)) return FERR(B4K_EFORMAT, "\"label\" is not an object");
    const char *type;
    json_t *ents;
    json_object_foreach(lab, type, ents) {
        if (!json_is_object(ents)) return FERR(B4K_EFORMAT, "label \"%s\" is not an object", type);
        const char *ent;
        json_t *spans;
        json_object_foreach(ents, ent, spans) {
            if (!json_is_array(spans)) return FERR(B4K_EFORMAT, "spans of \"%s\" are not a list", ent);
            size_t i;
            json_t *sp;
            json_array_foreach(spans, i, sp) {
                json_t *a = json_array_get(sp, 0), *b = json_array_get(sp, 1);
                if (!json_is_array(sp) || json_array_size(sp) != 2 || !json_is_integer(a) ||
                    !json_is_integer(b))
                    return FERR(B4K_EFORMAT, "span of \"%s\" is not [start, end]", ent);
                json_int_t s = json_integer_value(a), e = json_integer_value(b) + 1;
                if (s < 0 || e <= s || e > x->ncp)
                    return FERR(B4K_EFORMAT, "span [%lld, %lld] of \"%s\" is outside the text",
                                (long long)s, (long long)e - 1, ent);
                size_t b0 = b4k_ie_cp_to_byte(x->text, x->len, (int32_t)s),
                       b1 = b4k_ie_cp_to_byte(x->text, x->len, (int32_t)e);
                if (b1 - b0 != strlen(ent) || memcmp(x->text + b0, ent, b1 - b0))
                    return FERR(B4K_EFORMAT, "span [%lld, %lld] is not \"%s\" in the text",
                                (long long)s, (long long)e - 1, ent);
                if ((rc = add_span(d, x, names, frozen, type, (int32_t)s, (int32_t)e)))
                    return FERR(rc, "out of memory");
            }
        }
    }
    return 0;
}

/* CoNLL: collect one sentence's chars and tags, then convert tags to spans */
typedef struct conll_sent {
    b4k_buf text;
    char **tags;
    long *lines;          /* line of each tag */
    int n;
    size_t cap, lcap;
    long line0;
} conll_sent;

static int conll_flush(b4k_ie_data *d, b4k_err *err, const char *name, conll_sent *cs,
                       b4k_ie_names *names, int frozen)
{
    int rc = 0;
    long line = cs->line0;
    if (cs->n == 0) return 0;
    b4k_ie_doc *x = new_doc(d, (const char *)cs->text.data, cs->text.len, cs->line0);
    if (!x) return FERR(B4K_ENOMEM, "out of memory");
    int open = -1, otype = -1;
    char type[256];
    for (int i = 0; i <= cs->n; i++) {
        const char *t = i < cs->n ? cs->tags[i] : "O";
        char pfx = t[0];
        const char *ty = t[1] == '-' || t[1] == '_' ? t + 2 : "";
        if (!strcmp(t, "O") || (t[1] != '-' && t[1] != '_')) pfx = 'O';
        if (pfx != 'O' && !strchr("BIMES", pfx)) pfx = 'O';
        int tid = -1;
        if (pfx != 'O') {
            snprintf(type, sizeof type, "%s", ty);
            tid = frozen ? b4k_ie_names_find(names, type) : b4k_ie_names_add(names, type);
            if (tid == B4K_ENOMEM) return FERR(B4K_ENOMEM, "out of memory");
            if (tid < 0) {
                /* one note per entity: at its first tag */
                const char *pt = i ? cs->tags[i - 1] : "O";
                int cont_unknown = strchr("IME", pfx) && i && (pt[1] == '-' || pt[1] == '_') &&
                                   !strcmp(pt + 2, ty) && !strchr("ES", pt[0]);
                if (!cont_unknown)
                    b4k_ie_note_add(&d->unknown, x->src, cs->lines[i],
                                    "entity type \"%.60s\" is not in the schema", type);
                pfx = 'O';
            }
        }
        int cont = (pfx == 'I' || pfx == 'M' || pfx == 'E') && open >= 0 && otype == tid;
        if (!cont && open >= 0) {
            if ((rc = add_span(d, x, names, 1, names->v[otype], open, i))) return FERR(rc, "out of memory");
            open = -1;
        }
        if (pfx == 'O') continue;
        if (!cont) {
            open = i;
            otype = tid;
        }
        if (pfx == 'E' || pfx == 'S') {
            if ((rc = add_span(d, x, names, 1, names->v[otype], open, i + 1))) return FERR(rc, "out of memory");
            open = -1;
        }
    }
    for (int i = 0; i < cs->n; i++) free(cs->tags[i]);
    cs->n = 0;
    cs->text.len = 0;
    return 0;
}

static int read_conll(b4k_ie_data *d, b4k_err *err, b4k_stream *st, const char *name,
                      b4k_ie_names *names, int frozen)
{
    conll_sent cs;
    memset(&cs, 0, sizeof cs);
    int rc = 0;
    char *ln;
    size_t n;
    long line = 0;
    while ((rc = b4k_stream_getline(st, &ln, &n, err)) > 0) {
        line = b4k_stream_lineno(st);
        if (n && ln[n - 1] == '\r') ln[--n] = 0;
        if (n == 0 || !strcmp(ln, "-DOCSTART- O") || !strncmp(ln, "-DOCSTART-", 10)) {
            if ((rc = conll_flush(d, err, name, &cs, names, frozen))) goto out;
            continue;
        }
        if (b4k_utf8_check(ln, n) != (size_t)-1) {
            FERR(B4K_EFORMAT, "line is not valid UTF-8");
            goto out;
        }
        /* first field (up to space/tab), last field = tag */
        size_t a = 0;
        while (a < n && ln[a] != ' ' && ln[a] != '\t') a++;
        size_t z = n;
        while (z > 0 && ln[z - 1] != ' ' && ln[z - 1] != '\t') z--;
        if (a == n || z <= a || z == n) {
            FERR(B4K_EFORMAT, "expected \"char tag\"");
            goto out;
        }
        /* Weibo: one character followed by its word position digits */
        uint32_t cp;
        int k = b4k_utf8_decode((const unsigned char *)ln, a, &cp);
        size_t clen = a;
        if (k > 0 && (size_t)k < a) {
            size_t j = (size_t)k;
            while (j < a && ln[j] >= '0' && ln[j] <= '9') j++;
            if (j == a) clen = (size_t)k;
        }
        if (cs.n == 0) cs.line0 = line;
        if (B4K_GROW(cs.lines, cs.lcap, (size_t)cs.n + 1)) {
            FERR(B4K_ENOMEM, "out of memory");
            goto out;
        }
        cs.lines[cs.n] = line;
        if (b4k_buf_append(&cs.text, ln, clen) || B4K_GROW(cs.tags, cs.cap, (size_t)cs.n + 1) ||
            !(cs.tags[cs.n] = b4k_strndup(ln + z, n - z))) {
            FERR(B4K_ENOMEM, "out of memory");
            goto out;
        }
        cs.n++;
    }
    if (rc < 0) goto out;
    rc = conll_flush(d, err, name, &cs, names, frozen);
out:
    for (int i = 0; i < cs.n; i++) free(cs.tags[i]);
    free(cs.tags);
    free(cs.lines);
    b4k_buf_free(&cs.text);
    return rc < 0 ? rc : 0;
}

/* Line of the first character of each element of the top-level JSON array
 * in buf (already parsed by jansson, so well-formed): n entries. */
static long *record_lines(const char *buf, size_t len, size_t n)
{
    long *v = b4k_malloc_n(n ? n : 1, sizeof *v);
    if (!v) return NULL;
    long line = 1;
    size_t k = 0;
    int depth = 0, in_str = 0, want = 0;
    for (size_t i = 0; i < len && k < n; i++) {
        char c = buf[i];
        if (c == '\n') line++;
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (depth == 1 && want) {
            v[k++] = line;
            want = 0;
        }
        if (c == '"') in_str = 1;
        else if (c == '[' || c == '{') {
            if (++depth == 1) want = 1;
        } else if (c == ']' || c == '}') depth--;
        else if (c == ',' && depth == 1) want = 1;
    }
    for (; k < n; k++) v[k] = 0;
    return v;
}

int b4k_ie_read(b4k_ie_data *d, b4k_err *err, const char *path, int fmt, b4k_ie_names *names,
                int frozen)
{
    b4k_stream *st = NULL;
    int rc = b4k_stream_open(&st, path, err);
    if (rc) return rc;
    const char *name = b4k_stream_name(st);
    if (B4K_GROW(d->srcs, d->srccap, (size_t)d->nsrc + 1) || !(d->srcs[d->nsrc] = b4k_strdup(name))) {
        b4k_stream_close(st);
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    }
    d->nsrc++;
    long line = 0;
    json_t *o = NULL;
    if (fmt == B4K_IE_CONLL) {
        rc = read_conll(d, err, st, name, names, frozen);
        goto done;
    }
    if (fmt == B4K_IE_CASREL) {
        b4k_buf all = {0};
        char tmp[65536];
        size_t got;
        do {
            if ((rc = b4k_stream_read(st, tmp, sizeof tmp, &got, err))) break;
            if (b4k_buf_append(&all, tmp, got)) rc = b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        } while (!rc && got == sizeof tmp);
        if (!rc) rc = b4k_json_parse_doc(&o, (const char *)all.data, all.len, name, err);
        long *rl = NULL;
        if (!rc && json_is_array(o) && !(rl = record_lines(all.data, all.len, json_array_size(o))))
            rc = b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        b4k_buf_free(&all);
        if (rc) goto done;
        if (!json_is_array(o)) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, 1, "casrel data must be one JSON array");
            goto done;
        }
        size_t i;
        json_t *r;
        json_array_foreach(o, i, r) {
            line = rl[i]; /* where the record starts */
            if (!json_is_object(r)) {
                FERR(B4K_EFORMAT, "record %zu is not an object", i + 1);
                break;
            }
            if ((rc = read_spo_obj(d, err, name, line, r, fmt, names, frozen))) break;
        }
        free(rl);
        goto done;
    }
    char *ln;
    size_t n;
    while ((rc = b4k_stream_getline(st, &ln, &n, err)) > 0) {
        line = b4k_stream_lineno(st);
        size_t k = 0;
        while (k < n && (ln[k] == ' ' || ln[k] == '\t' || ln[k] == '\r')) k++;
        if (k == n) continue;
        if ((rc = b4k_jsonl_parse_object(&o, ln, n, name, line, err))) goto done;
        if (fmt == B4K_IE_CLUENER) rc = read_cluener_obj(d, err, name, line, o, names, frozen);
        else rc = read_spo_obj(d, err, name, line, o, fmt, names, frozen);
        json_decref(o);
        o = NULL;
        if (rc) goto done;
    }
done:
    json_decref(o);
    b4k_stream_close(st);
    return rc < 0 ? rc : 0;
}
