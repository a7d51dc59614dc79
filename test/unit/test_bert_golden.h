/* Reader for test/golden/bert/<name>.bin (written by test/ref/bert_golden.py):
 * b"B4KG", u32 count, then per tensor u32 name length, name, u32 ndim,
 * u32 dims, f32 data.  Header-only, used by the test_bert*.c tests. */
#ifndef B4K_TEST_BERT_GOLDEN_H
#define B4K_TEST_BERT_GOLDEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gtensor {
    char name[128];
    int ndim, dims[4];
    size_t n;
    float *d;
} gtensor;

typedef struct golden {
    gtensor *t;
    int n;
} golden;

static int golden_load(golden *g, const char *path)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[4];
    uint32_t cnt;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "B4KG", 4) || fread(&cnt, 4, 1, f) != 1 ||
        cnt > 100000)
        goto fail;
    g->t = calloc(cnt, sizeof *g->t);
    if (!g->t) goto fail;
    for (uint32_t i = 0; i < cnt; i++) {
        gtensor *t = &g->t[i];
        uint32_t nl, nd, d;
        if (fread(&nl, 4, 1, f) != 1 || nl >= sizeof t->name || fread(t->name, 1, nl, f) != nl)
            goto fail;
        if (fread(&nd, 4, 1, f) != 1 || nd > 4) goto fail;
        t->ndim = (int)nd;
        t->n = 1;
        for (uint32_t k = 0; k < nd; k++) {
            if (fread(&d, 4, 1, f) != 1) goto fail;
            t->dims[k] = (int)d;
            t->n *= d;
        }
        t->d = malloc((t->n ? t->n : 1) * sizeof(float));
        if (!t->d || fread(t->d, sizeof(float), t->n, f) != t->n) goto fail;
        g->n++;
    }
    fclose(f);
    return 0;
fail:
    fclose(f);
    return -1;
}

static void golden_free(golden *g)
{
    for (int i = 0; i < g->n; i++) free(g->t[i].d);
    free(g->t);
    memset(g, 0, sizeof *g);
}

static const gtensor *golden_get(const golden *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

/* Per-tensor comparison as DESIGN 4.1 asks (ggml test-backend-ops):
 *   max_abs  max |a - b|
 *   nmse     sum (a - b)^2 / sum b^2 (sum b^2 at least n floor^2, so a
 *            tensor that is analytically zero is not divided by ~0)
 *   max_rel  max over elements of |a - b| / (|b| + floor), floor =
 *            1e-2 * max |b| (or the caller's, if larger): element-wise, so
 *            a small element that is badly off is seen, while values far
 *            below the tensor's scale (where f32 rounding of the large
 *            terms that made them dominates) are judged against the floor
 *   scale    max |b|
 * A NaN anywhere makes everything infinite. */
typedef struct gstat {
    double max_abs, nmse, max_rel, scale;
} gstat;

static inline gstat golden_stat(const float *a, const float *b, size_t n, double floor)
{
    gstat st = {0, 0, 0, 0};
    double se = 0, sb = 0;
    for (size_t i = 0; i < n; i++) st.scale = fmax(st.scale, fabs(b[i]));
    double fl = fmax(1e-2 * st.scale, floor);
    if (fl <= 0) fl = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d != d) {
            st.max_abs = st.nmse = st.max_rel = INFINITY;
            return st;
        }
        st.max_abs = fmax(st.max_abs, d);
        st.max_rel = fmax(st.max_rel, d / (fabs(b[i]) + fl));
        se += d * d;
        sb += (double)b[i] * b[i];
    }
    double den = fmax(sb, (double)n * floor * floor);
    st.nmse = den > 0 ? se / den : se;
    return st;
}

/* max |a-b| / max |b| (relative to the tensor's scale); also NMSE */
static inline double golden_rel(const float *a, const float *b, size_t n, double *nmse)
{
    double md = 0, mb = 0, se = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > md || d != d) md = d != d ? INFINITY : d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
        se += d * d;
        sb += (double)b[i] * b[i];
    }
    if (nmse) *nmse = sb > 0 ? se / sb : se;
    return mb > 0 ? md / mb : md;
}

static const char *golden_dir(void)
{
    const char *d = getenv("B4K_GOLDEN");
    return d ? d : NULL;
}

/* Locate test/golden/bert/<file> from the repo root: $TOP or relative. */
static int golden_open(golden *g, const char *file)
{
    char path[1024];
    const char *top = getenv("TOP");
    const char *d = golden_dir();
    if (d) snprintf(path, sizeof path, "%s/%s", d, file);
    else if (top) snprintf(path, sizeof path, "%s/test/golden/bert/%s", top, file);
    else snprintf(path, sizeof path, "test/golden/bert/%s", file);
    return golden_load(g, path);
}

#endif
