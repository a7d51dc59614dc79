/* CRF++-compatible template parser and expander (see template.h). */
#include "crf/template.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "crf/dict.h"

void b4k_crf_tpl_free(b4k_crf_tpl *tpl)
{
    if (!tpl)
        return;
    for (int i = 0; i < tpl->nu; i++)
        b4k_free(tpl->u[i].parts);
    b4k_free(tpl->u);
    b4k_free(tpl->text);
    b4k_free(tpl->work);
    memset(tpl, 0, sizeof *tpl);
}

/* parse an integer with optional sign and surrounding spaces */
static int parse_int(const char **pp, int *out)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (*p < '0' || *p > '9')
        return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > 100000)
            return -1;
        p++;
    }
    while (*p == ' ')
        p++;
    *out = neg ? (int)-v : (int)v;
    *pp = p;
    return 0;
}

int b4k_crf_tpl_parse(b4k_crf_tpl *tpl, const char *text, size_t len, const char *name,
                      b4k_err *err)
{
    memset(tpl, 0, sizeof *tpl);
    tpl->maxcol = -1;
    int rc = 0;
    size_t ucap = 0;
    b4k_crf_tpl_part *parts = NULL;
    tpl->text = b4k_malloc(len + 1);
    tpl->work = b4k_malloc(len + 1);
    if (!tpl->text || !tpl->work) {
        b4k_crf_tpl_free(tpl);
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    }
    memcpy(tpl->text, text, len);
    tpl->text[len] = 0;
    memcpy(tpl->work, text, len);
    tpl->work[len] = 0;
    tpl->len = len;
    char *p = tpl->work, *end = tpl->work + len;
    long lineno = 0;
    while (p < end) {
        lineno++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        /* trim trailing spaces/tabs */
        while (le > p && (le[-1] == ' ' || le[-1] == '\t'))
            le--;
        *le = 0;
        if (memchr(p, 0, (size_t)(le - p))) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, lineno, "NUL byte in template");
            goto fail;
        }
        if (le == p || p[0] == '#') {
            p = next;
            continue;
        }
        if (p[0] == 'B') {
            if (strstr(p, "%x")) {
                rc = b4k_err_set(err, B4K_EUNSUP, name, lineno,
                                 "bigram templates with %%x macros are not supported; use plain B");
                goto fail;
            }
            tpl->bigram = 1;
            p = next;
            continue;
        }
        if (p[0] != 'U') {
            rc = b4k_err_set(err, B4K_EFORMAT, name, lineno,
                             "template line must start with U (unigram), B (bigram) or #");
            goto fail;
        }
        size_t pcap = 0;
        int np = 0;
        parts = NULL;
        const char *q = p;
        while (*q) {
            const char *m = strstr(q, "%x");
            const char *lit_end = m ? m : q + strlen(q);
            if (lit_end > q) {
                if (B4K_GROW(parts, pcap, (size_t)np + 1))
                    goto nomem;
                b4k_crf_tpl_part *lp = &parts[np++];
                *lp = (b4k_crf_tpl_part){ 0, 0, 0, q, (size_t)(lit_end - q), 0, 1 };
                lp->lh = b4k_crf_hash_raw(0, q, lp->litlen, &lp->lp);
            }
            if (!m)
                break;
            const char *r = m + 2;
            int row, col;
            if (*r != '[') {
                rc = b4k_err_set(err, B4K_EFORMAT, name, lineno,
                                 "expected '[' after %%x at column %d", (int)(r - p) + 1);
                goto fail;
            }
            r++;
            if (parse_int(&r, &row) || *r != ',') {
                rc = b4k_err_set(err, B4K_EFORMAT, name, lineno,
                                 "bad row in %%x[row,col] at column %d", (int)(r - p) + 1);
                goto fail;
            }
            r++;
            if (parse_int(&r, &col) || *r != ']' || col < 0) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, lineno,
                                 "bad column in %%x[row,col] at column %d", (int)(r - p) + 1);
                goto fail;
            }
            r++;
            if (B4K_GROW(parts, pcap, (size_t)np + 1))
                goto nomem;
            parts[np++] = (b4k_crf_tpl_part){ 1, row, col, NULL, 0, 0, 1 };
            if (col > tpl->maxcol)
                tpl->maxcol = col;
            q = r;
        }
        for (int i = 0; i < tpl->nu; i++) { /* CRF++ keeps duplicates; we reject */
            const char *o = tpl->u[i].parts[0].lit;
            if (!strcmp(o, p)) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, lineno,
                                 "duplicate template (same as line %ld)", tpl->u[i].line);
                goto fail;
            }
        }
        if (B4K_GROW(tpl->u, ucap, (size_t)tpl->nu + 1))
            goto nomem;
        tpl->u[tpl->nu++] = (b4k_crf_tpl_line){ parts, np, lineno };
        parts = NULL;
        p = next;
    }
    return 0;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, name, lineno, "out of memory");
fail:
    b4k_free(parts);
    b4k_crf_tpl_free(tpl);
    return rc;
}

int b4k_crf_tpl_expand(const b4k_crf_tpl *tpl, int k, const char *const *cells,
                       const uint32_t *clen, size_t T, int ncol, size_t t, b4k_buf *out)
{
    const b4k_crf_tpl_line *ln = &tpl->u[k];
    /* one reservation, then plain copies (this runs for every attribute) */
    size_t need = 0;
    for (int i = 0; i < ln->nparts; i++) {
        const b4k_crf_tpl_part *pt = &ln->parts[i];
        if (!pt->macro) {
            need += pt->litlen;
        } else {
            long pos = (long)t + pt->row;
            need += pos < 0 || (size_t)pos >= T ? 24 : clen[(size_t)pos * ncol + pt->col];
        }
    }
    if (b4k_buf_reserve(out, need + 1))
        return B4K_ENOMEM;
    char *p = out->data + out->len;
    for (int i = 0; i < ln->nparts; i++) {
        const b4k_crf_tpl_part *pt = &ln->parts[i];
        if (!pt->macro) {
            memcpy(p, pt->lit, pt->litlen);
            p += pt->litlen;
        } else {
            long pos = (long)t + pt->row;
            if (pos < 0) {
                p += snprintf(p, 24, "_B%ld", pos);
            } else if ((size_t)pos >= T) {
                p += snprintf(p, 24, "_B+%ld", pos - (long)T + 1);
            } else {
                size_t c = (size_t)pos * ncol + pt->col;
                memcpy(p, cells[c], clen[c]);
                p += clen[c];
            }
        }
    }
    *p = 0;
    out->len = (size_t)(p - out->data);
    return 0;
}

/* Built-in templates: keep identical to data/crf/<name>.tpl (test_crf_tpl
 * compares them). */
static const char tpl_chunking[] =
    "# CoNLL-2000 chunking: CRFsuite's standard feature set (example/chunking.py).\n"
    "# Columns: 0 = word, 1 = part-of-speech tag.\n"
    "U00:%x[-2,0]\n"
    "U01:%x[-1,0]\n"
    "U02:%x[0,0]\n"
    "U03:%x[1,0]\n"
    "U04:%x[2,0]\n"
    "U05:%x[-1,0]|%x[0,0]\n"
    "U06:%x[0,0]|%x[1,0]\n"
    "U10:%x[-2,1]\n"
    "U11:%x[-1,1]\n"
    "U12:%x[0,1]\n"
    "U13:%x[1,1]\n"
    "U14:%x[2,1]\n"
    "U15:%x[-2,1]|%x[-1,1]\n"
    "U16:%x[-1,1]|%x[0,1]\n"
    "U17:%x[0,1]|%x[1,1]\n"
    "U18:%x[1,1]|%x[2,1]\n"
    "U20:%x[-2,1]|%x[-1,1]|%x[0,1]\n"
    "U21:%x[-1,1]|%x[0,1]|%x[1,1]\n"
    "U22:%x[0,1]|%x[1,1]|%x[2,1]\n"
    "B\n";

static const char tpl_cws[] =
    "# Chinese word segmentation: character n-grams in a window of 5.\n"
    "# Column 0 = character; labels B/M/E/S.\n"
    "U00:%x[-2,0]\n"
    "U01:%x[-1,0]\n"
    "U02:%x[0,0]\n"
    "U03:%x[1,0]\n"
    "U04:%x[2,0]\n"
    "U05:%x[-2,0]/%x[-1,0]\n"
    "U06:%x[-1,0]/%x[0,0]\n"
    "U07:%x[0,0]/%x[1,0]\n"
    "U08:%x[1,0]/%x[2,0]\n"
    "U09:%x[-1,0]/%x[1,0]\n"
    "B\n";

static const char tpl_ner[] =
    "# Chinese NER: character n-grams in a window of 7.\n"
    "# Column 0 = character (further columns are ignored); labels BIO or BMES.\n"
    "U00:%x[-3,0]\n"
    "U01:%x[-2,0]\n"
    "U02:%x[-1,0]\n"
    "U03:%x[0,0]\n"
    "U04:%x[1,0]\n"
    "U05:%x[2,0]\n"
    "U06:%x[3,0]\n"
    "U10:%x[-2,0]/%x[-1,0]\n"
    "U11:%x[-1,0]/%x[0,0]\n"
    "U12:%x[0,0]/%x[1,0]\n"
    "U13:%x[1,0]/%x[2,0]\n"
    "U14:%x[-1,0]/%x[1,0]\n"
    "U20:%x[-2,0]/%x[-1,0]/%x[0,0]\n"
    "U21:%x[-1,0]/%x[0,0]/%x[1,0]\n"
    "U22:%x[0,0]/%x[1,0]/%x[2,0]\n"
    "B\n";

static const char *const builtin_names[] = { "chunking", "cws", "ner", NULL };
static const char *const builtin_text[] = { tpl_chunking, tpl_cws, tpl_ner };

const char *b4k_crf_tpl_builtin(const char *name)
{
    for (int i = 0; builtin_names[i]; i++)
        if (!strcmp(name, builtin_names[i]))
            return builtin_text[i];
    return NULL;
}

const char *const *b4k_crf_tpl_builtin_names(void)
{
    return builtin_names;
}
