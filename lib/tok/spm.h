/* SentencePiece: the .model file (protobuf), normalisation by the
 * precompiled charsmap, and encoding (unigram Viterbi, n-best and sampling;
 * BPE by score-ordered merges, BPE-dropout; word and char models; byte
 * fallback) and decoding, matching sentencepiece 0.1.97 (python3-sentencepiece
 * on Debian 12) id for id.
 *
 * A b4k_spm is read-only after loading and may be shared by threads; all the
 * per-call work memory lives in a b4k_spm_state, one per thread.
 *
 * Offsets of pieces are byte offsets [beg,end) into the text given to
 * b4k_spm_encode (the reference's norm_to_orig mapping). */
#ifndef B4K_TOK_SPM_H
#define B4K_TOK_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rng.h"

enum { /* TrainerSpec.ModelType */
    B4K_SPM_UNIGRAM = 1,
    B4K_SPM_BPE = 2,
    B4K_SPM_WORD = 3,
    B4K_SPM_CHAR = 4
};

enum { /* ModelProto.SentencePiece.Type */
    B4K_SPM_NORMAL = 1,
    B4K_SPM_UNKNOWN = 2,
    B4K_SPM_CONTROL = 3,
    B4K_SPM_USER_DEFINED = 4,
    B4K_SPM_UNUSED = 5,
    B4K_SPM_BYTE = 6
};

typedef struct b4k_spm b4k_spm;
typedef struct b4k_spm_state b4k_spm_state;

/* Load a .model file, or a model held in memory (copied; name is used in
 * error messages).  Everything is validated: a truncated or corrupt file
 * gives B4K_EFORMAT with a message, never a crash. */
int b4k_spm_load(b4k_spm **out, const char *path, b4k_err *err);
int b4k_spm_load_mem(b4k_spm **out, const void *data, size_t n, const char *name,
                     b4k_err *err);
void b4k_spm_free(b4k_spm *m); /* NULL ok */

size_t b4k_spm_size(const b4k_spm *m);           /* number of pieces */
int b4k_spm_model_type(const b4k_spm *m);        /* B4K_SPM_UNIGRAM, ... */
const char *b4k_spm_model_type_name(int type);   /* "unigram", ... */
int b4k_spm_byte_fallback(const b4k_spm *m);
/* Piece text of id (borrowed, not NUL-terminated in general: use *len), or
 * NULL when id is out of range. */
const char *b4k_spm_piece(const b4k_spm *m, int32_t id, size_t *len);
float b4k_spm_score(const b4k_spm *m, int32_t id);
int b4k_spm_type(const b4k_spm *m, int32_t id); /* 0 when out of range */
/* Id of a piece, or -1 if there is none (the reference returns unk). */
int32_t b4k_spm_piece_id(const b4k_spm *m, const char *piece, size_t len);
/* The unk/bos/eos/pad ids as the reference reports them (-1: none). */
int32_t b4k_spm_unk_id(const b4k_spm *m);
int32_t b4k_spm_bos_id(const b4k_spm *m);
int32_t b4k_spm_eos_id(const b4k_spm *m);
int32_t b4k_spm_pad_id(const b4k_spm *m);
/* The ids the trainer spec declares (fields 40-43, with the proto defaults
 * 0, 1, 2, -1 when absent): which = 0 unk_id, 1 bos_id, 2 eos_id, 3 pad_id.
 * unk_id is checked on load to be the UNKNOWN piece (so it equals the unk
 * the encoder emits), the others to be -1 or a piece. */
enum { B4K_SPM_SPEC_UNK, B4K_SPM_SPEC_BOS, B4K_SPM_SPEC_EOS, B4K_SPM_SPEC_PAD };
int32_t b4k_spm_spec_id(const b4k_spm *m, int which);
/* normalizer_spec.name ("nmt_nfkc", "identity", ...; "" when absent), not
 * NUL-terminated: use *len.  Borrowed. */
const char *b4k_spm_normalizer_name(const b4k_spm *m, size_t *len);

/* One encoding: ids with byte offsets into the input text. */
typedef struct b4k_spm_tokens {
    int32_t *id;  /* (n) */
    uint32_t *beg; /* (n) */
    uint32_t *end; /* (n) */
    size_t n, cap;
} b4k_spm_tokens;
void b4k_spm_tokens_init(b4k_spm_tokens *t);
void b4k_spm_tokens_free(b4k_spm_tokens *t);

b4k_spm_state *b4k_spm_state_new(void); /* NULL on ENOMEM */
void b4k_spm_state_free(b4k_spm_state *st);

/* Normalise text as the model's normalizer spec says.  The result (and the
 * map from each normalised byte, plus one past the end, to the input byte it
 * came from) lives in st until the next call. */
int b4k_spm_normalize(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                      const char **norm, size_t *norm_len, const uint32_t **norm_to_orig,
                      b4k_err *err);

/* Encode text (UTF-8; an invalid byte is read as U+FFFD as the reference
 * does).  Appends to out (which the caller resets). */
int b4k_spm_encode(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                   b4k_spm_tokens *out, b4k_err *err);

/* Subword regularisation.  Unigram: nbest <= 1 samples from the whole lattice
 * with smoothing alpha (forward-filtering backward-sampling); nbest > 1
 * samples one of the n best with probability ~ exp(alpha * score).  BPE:
 * BPE-dropout with probability alpha (nbest ignored).  Deterministic for a
 * given rng state. */
int b4k_spm_sample(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                   int nbest, double alpha, b4k_rng *rng, b4k_spm_tokens *out,
                   b4k_err *err);

/* The nbest best segmentations (unigram only; B4K_EUNSUP otherwise), best
 * first, into outs[0..*got) with their scores (may be NULL). */
int b4k_spm_nbest(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                  int nbest, b4k_spm_tokens *outs, float *scores, int *got, b4k_err *err);

/* Decode ids to text (appended to out) as the reference's DecodeIds: control
 * pieces vanish, <unk> becomes the unk surface (" \u2047 "), runs of byte
 * pieces are joined and each invalid byte becomes U+FFFD, "\u2581" becomes a
 * space and the leading one is dropped.  An id out of range: B4K_ERANGE. */
int b4k_spm_decode(const b4k_spm *m, const int32_t *ids, size_t n, b4k_buf *out,
                   b4k_err *err);

#endif
