/* A trained linear-chain CRF: labels, attribute dictionary, sparse
 * state features (attribute, label) -> weight, transitions, optional
 * start/end scores, the feature template; save/load as a .b4k container
 * (architecture "crf", see man/b4k-crf.1), tagging helpers.
 *
 * Parameter vector layout (training and "dump"): x = [w (F) | trans (L*L) |
 * start (L) | end (L)], the last two only when start_end is set. */
#ifndef B4K_CRF_MODEL_H
#define B4K_CRF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crf/crf1d.h"
#include "crf/data.h"
#include "crf/dict.h"
#include "crf/template.h"
#include "io/slurp.h"

typedef struct b4k_model b4k_model;
typedef struct b4k_mw b4k_mw;

typedef struct b4k_crf_model {
    int L;               /* labels */
    int ncol;            /* feature columns of the input */
    int start_end;       /* start/end scores are parameters */
    int format;          /* B4K_CRF_* the model was trained on (default input) */
    b4k_crf_dict labels;
    b4k_crf_dict attrs;
    int64_t *foff;       /* (A+1) features of attribute a: [foff[a], foff[a+1]) */
    int32_t *flab;       /* (F) label of feature f */
    size_t F;
    double *x;           /* (F + L*L [+ 2L]) parameters (NULL with B4K_CRF_LOAD_TAG) */
    size_t nx;
    const float *wf;     /* (F) a loaded model's stored weights (borrowed) */
    double *tx;          /* (L*L [+ 2L]) B4K_CRF_LOAD_TAG: transitions, start, end */
    b4k_crf_tpl tpl;
    char *info;          /* JSON text with training settings (may be NULL) */
    b4k_model *file;     /* loaded container (owns borrowed dict tables) */
    b4k_slurp src;       /* the file's bytes under file (b4k_crf_model_load*) */
} b4k_crf_model;

/* transitions (L,L), start and end (L) among the parameters */
static inline double *b4k_crf_model_trans(const b4k_crf_model *m)
{
    return m->x ? m->x + m->F : m->tx;
}
static inline double *b4k_crf_model_start(const b4k_crf_model *m)
{
    return m->start_end ? b4k_crf_model_trans(m) + (size_t)m->L * m->L : NULL;
}
static inline double *b4k_crf_model_end(const b4k_crf_model *m)
{
    return m->start_end ? b4k_crf_model_trans(m) + (size_t)m->L * m->L + m->L : NULL;
}

void b4k_crf_model_init(b4k_crf_model *m);
void b4k_crf_model_free(b4k_crf_model *m);

/* Atomic write of a .b4k file. */
int b4k_crf_model_save(const b4k_crf_model *m, const char *path, b4k_err *err);
/* A container writer holding the model (the caller adds more tensors,
 * writes and frees it): checkpoints. */
int b4k_crf_model_writer(const b4k_crf_model *m, b4k_mw **out, b4k_err *err);
/* Serialize into memory (tests). */
int b4k_crf_model_save_mem(const b4k_crf_model *m, uint8_t **out, size_t *n, b4k_err *err);
/* Load and validate (any inconsistency is B4K_EFORMAT naming the file). */
int b4k_crf_model_load(b4k_crf_model *m, const char *path, b4k_err *err);
/* For tagging only: the feature weights are used as stored (f32, m->wf),
 * m->x is not made (no copy of the weights in double); attrs, emit and tr
 * work, training, warm start and dump need the full load. */
enum { B4K_CRF_LOAD_TAG = 1 };
int b4k_crf_model_load_ex(b4k_crf_model *m, const char *path, unsigned flags, b4k_err *err);
int b4k_crf_model_load_mem(b4k_crf_model *m, const void *buf, size_t n, const char *name,
                           b4k_err *err);

/* Take an opened container (ownership passes to m, also on failure) and
 * check and load the CRF in it: the fuzz target opens containers without
 * checksum verification to reach these checks. */
int b4k_crf_model_from(b4k_crf_model *m, b4k_model *f, b4k_err *err);

/* Attribute ids of every position of seq that are in the model: aid gets
 * them (grown as needed, *acap its capacity), aoff (T+1) the per-position
 * offsets.  scratch is a reusable buffer.  (lookup.c: hashed from the
 * template's parts without building strings, looked up in stages; the _ref
 * twin builds each string and looks it up alone.)  0 or B4K_ENOMEM. */
int b4k_crf_model_attrs(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                        int32_t **aid, size_t *acap, size_t *aoff);
int b4k_crf_model_attrs_ref(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                            int32_t **aid, size_t *acap, size_t *aoff);
/* Emission scores emit (T,L) of seq, the same as b4k_crf_model_attrs then
 * b4k_crf_model_emit, made block by block of positions while the looked-up
 * weights are in cache.  0 or B4K_ENOMEM. */
int b4k_crf_model_scores(const b4k_crf_model *m, const b4k_crf_seq *seq, b4k_buf *scratch,
                         double *emit);
/* Emission scores emit (T,L) from attribute lists. */
void b4k_crf_model_emit(const b4k_crf_model *m, const int32_t *aid, const size_t *aoff, size_t T,
                        double *emit);
/* Transition tables for inference from the current parameters. */
int b4k_crf_model_tr(const b4k_crf_model *m, b4k_crf1d_tr *tr);
/* Label id by name, -1 if absent. */
static inline int32_t b4k_crf_model_label(const b4k_crf_model *m, const char *s, size_t n)
{
    return b4k_crf_dict_find(&m->labels, s, n);
}
static inline const char *b4k_crf_model_label_str(const b4k_crf_model *m, int32_t id)
{
    return b4k_crf_dict_str(&m->labels, id);
}

#endif
