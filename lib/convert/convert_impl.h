/* Internal state of one b4k-convert run (convert.c, convert_meta.c). */
#ifndef B4K_CONVERT_CONVERT_IMPL_H
#define B4K_CONVERT_CONVERT_IMPL_H

#include "convert/convert.h"

struct b4k_cv;

typedef struct b4k_cv_out {
    char *name;                   /* canonical name */
    const b4k_ctensor *src;
    int xform;                    /* B4K_XF_* */
    int ndim;                     /* after the transform */
    int64_t shape[B4K_MAX_DIMS];
    int codec;                    /* per tensor (b4k input keeps its codecs) */
    int dt;                       /* output dtype (set when written) */
    struct b4k_cv *cv;
    /* the source's check, computed on the way as its bytes are read in
     * order (convert.c: src_read), or left to the writer (defer) */
    int defer;
    size_t vnext;                 /* the next offset the running digest wants */
    uint32_t crc;
    b4k_xxh64_state xh;
} b4k_cv_out;

typedef struct b4k_cv {
    char family[16];
    b4k_ckpt **ck;                /* opened inputs (CPM: in rank order) */
    const char **in;              /* their paths, in the same order */
    int nck;
    b4k_ckpt *merged;             /* CPM merge result, or NULL */
    b4k_model *model;             /* .b4k input */
    json_t *header;               /* b4k header from a .b4k / exported safetensors */
    b4k_cv_out *out;
    size_t nout, cap;
    json_t *config;
    char *config_file;
    b4k_mw *w;
    int codec;
    uint8_t *whole;               /* a source read whole (for a transpose) */
    size_t whole_cap;
    const b4k_ctensor *whole_of;  /* whose bytes whole holds, or NULL */
} b4k_cv;

const b4k_cv_out *b4k_cv_find(b4k_cv *cv, const char *name);
int b4k_cv_discover(const char *input, const char *file, char *out, size_t cap);
int b4k_cv_config(b4k_cv *cv, const char *const *inputs, const b4k_convert_opts *o,
                  b4k_err *err);
int b4k_cv_tokenizer(b4k_cv *cv, const char *const *inputs, const b4k_convert_opts *o,
                     b4k_err *err);

/* Rows [j0, j1) of out (cols, rows) <- in (rows, cols), f32: the whole 8x8
 * blocks only (rows / 8 * 8 input rows, (j1 - j0) / 8 * 8 output rows from
 * j0); the caller does the edges.  transpose_avx2.c. */
/* Rows [j0, j1) of out (cols, rows) <- in (rows, cols), element size es;
 * and the whole of it.  transpose.c. */
void b4k_cv_transpose_rows(void *out, const void *in, size_t rows, size_t cols, size_t j0,
                           size_t j1, size_t es);
void b4k_cv_transpose(void *out, const void *in, size_t rows, size_t cols, size_t es);
void b4k_cv_transpose_f32_avx2(float *out, const float *in, size_t rows, size_t cols, size_t j0,
                               size_t j1);

#endif
