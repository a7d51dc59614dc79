/* Tokenizers: one interface over every kind b4k knows.
 *
 *   kind        files                         module
 *   wordpiece   vocab.txt                     tok/wordpiece.c   (BERT)
 *   bpe         encoder.json + vocab.bpe      tok/bpe.c         (GPT-2 byte-level)
 *   spm         *.model (protobuf)            tok/spm*.c        (issue 4)
 *   cpm         *.model + jieba dictionary    tok/cpm*.c        (issue 4)
 *
 * A b4k_tok is read-only after b4k_tok_load(): one tokenizer can be shared by
 * any number of threads.  Everything that changes while encoding (word cache,
 * normalisation buffers, RNG for sampling) lives in the caller's b4k_tok_out,
 * so each thread keeps its own b4k_tok_out and reuses it line after line
 * (no allocation per line once the buffers have grown).
 *
 * Text is UTF-8.  Invalid UTF-8 must be sanitised by the caller (see
 * b4k_utf8_sanitize) before encoding; the encoders treat each invalid byte
 * as U+FFFD if they meet one, but never read out of bounds.
 *
 * Offsets are [start,end) in Unicode code points of the original text (the
 * indices of a Python str), one pair per token; special tokens get [0,0]. */
#ifndef B4K_TOK_TOK_H
#define B4K_TOK_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef enum b4k_tok_kind {
    B4K_TOK_NONE = 0,
    B4K_TOK_WORDPIECE = 1,
    B4K_TOK_BPE = 2,  /* GPT-2 byte-level BPE */
    B4K_TOK_SPM = 3,  /* SentencePiece (unigram or BPE model) -- issue 4 */
    B4K_TOK_CPM = 4   /* CPM: jieba pre-segmentation + SentencePiece -- issue 4 */
} b4k_tok_kind;

/* Parse "wordpiece", "bpe" (also "gpt2"), "spm" (also "sentencepiece"),
 * "cpm".  Returns B4K_TOK_NONE for an unknown name. */
b4k_tok_kind b4k_tok_kind_parse(const char *name);
const char *b4k_tok_kind_name(b4k_tok_kind kind);

/* What to load.  Unused fields are ignored by a kind; zero-init then set. */
typedef struct b4k_tok_opts {
    b4k_tok_kind kind;
    const char *vocab;     /* wordpiece: vocab.txt; bpe: encoder.json */
    const char *merges;    /* bpe: vocab.bpe */
    const char *model;     /* spm/cpm: SentencePiece .model */
    const char *user_dict; /* cpm: extra jieba dictionary (optional) */
    const char *jieba;     /* cpm: jieba data (b4k data file or jieba's folder),
                              tried first; see jieba_search */
    /* Files already in memory (e.g. a model's embedded tokenizer, borrowed
     * during b4k_tok_load only): when a *_data pointer is set it is loaded
     * instead of the path of the same name, which then only names it in
     * messages.  jieba_data is the b4k jieba data format. */
    const void *vocab_data, *merges_data, *model_data, *jieba_data;
    size_t vocab_size, merges_size, model_size, jieba_size;
    /* cpm, when neither jieba nor jieba_data is set: the first of these paths
     * that exists (NULL-terminated; b4k data files or jieba folders), else
     * Debian's python3-jieba folder.  The library reads no environment:
     * callers resolve $B4K_JIEBA and install locations (b4k_tok_jieba_paths). */
    const char *const *jieba_search;
    int lower;             /* wordpiece: -1 auto (from the vocab), 0 off, 1 on */
    int strip_accents;     /* wordpiece: -1 follow lower (HF default), 0, 1 */
    int tokenize_cjk;      /* wordpiece: 1 (default) spaces around CJK ideographs */
} b4k_tok_opts;

void b4k_tok_opts_init(b4k_tok_opts *o); /* kind NONE, lower -1, strip -1, cjk 1 */

/* The default jieba search list for a program at exe_dir (its bin folder):
 * exe_dir/../share/b4k/jieba.b4kj (installed), exe_dir/../build/share/b4k/
 * jieba.b4kj (the build tree), then B4K_JIEBA_DEBIAN_DIR (jieba's own files).
 * Fills paths[0..3] from buf (cap bytes) and a NULL; exe_dir NULL or "" skips
 * the first two. */
void b4k_tok_jieba_paths(const char *exe_dir, char *buf, size_t cap, const char *paths[4]);

typedef struct b4k_tok b4k_tok;

int b4k_tok_load(b4k_tok **out, const b4k_tok_opts *opts, b4k_err *err);
/* The tokenizer embedded in a .b4k model (man/b4k-model.5: header
 * "tokenizer" {kind, vocab, merges, model, jieba} naming u8 tensors), loaded
 * from memory.  opts (may be NULL) gives the other settings (user_dict,
 * jieba, jieba_search, ...); kind and the *_data fields come from the model
 * (except that opts->kind spm or cpm picks between those two);
 * for cpm an embedded "jieba" blob is used unless opts->jieba is set.  No
 * tokenizer in the model: 0 with *out NULL. */
struct b4k_model;
int b4k_tok_load_model(b4k_tok **out, struct b4k_model *m, const b4k_tok_opts *opts,
                       b4k_err *err);
void b4k_tok_free(b4k_tok *tok); /* NULL ok */

b4k_tok_kind b4k_tok_kind_of(const b4k_tok *tok);
size_t b4k_tok_vocab_size(const b4k_tok *tok);
/* The piece string of id (borrowed, as stored in the vocabulary: "##ing",
 * "Ġthe", "▁the"), or NULL for an id out of range. */
const char *b4k_tok_piece(const b4k_tok *tok, int32_t id, size_t *len);
/* Id of a piece, or -1. */
int32_t b4k_tok_id(const b4k_tok *tok, const char *piece, size_t len);
/* Wordpiece: 1 if lower-casing is on (after auto-detection). */
int b4k_tok_lower(const b4k_tok *tok);
/* Special ids (-1 when the kind has none): unk, cls/bos, sep/eos, pad. */
int32_t b4k_tok_unk_id(const b4k_tok *tok);
int32_t b4k_tok_cls_id(const b4k_tok *tok);
int32_t b4k_tok_sep_id(const b4k_tok *tok);
int32_t b4k_tok_pad_id(const b4k_tok *tok);

/* Per-call encoding options. */
typedef struct b4k_tok_enc {
    int add_special;   /* wordpiece: [CLS] a [SEP] (b [SEP]); spm: per model */
    long max_len;      /* > 0: truncate (longest-first for pairs, like HF),
                          counting the special tokens */
    /* SentencePiece sampling (issue 4); ignored by wordpiece and bpe. */
    int nbest;         /* > 1: sample from the n best */
    double alpha;      /* smoothing; > 0 with sample */
    int sample;        /* 1: subword regularisation */
    uint64_t seed;     /* per-record seed (callers mix in the line number so
                          output does not depend on --threads) */
} b4k_tok_enc;

void b4k_tok_enc_init(b4k_tok_enc *e); /* add_special 1, everything else 0 */

/* Result of one encode, plus the per-thread scratch.  Reuse across calls. */
typedef struct b4k_tok_out {
    int32_t *ids;      /* (n) */
    int32_t *offsets;  /* (n, 2): [start,end) code points of the input text */
    int32_t *segs;     /* (n) segment ids: 0 for text a, 1 for text b */
    size_t n, cap;
    size_t n_a;        /* tokens (with specials) that belong to segment 0 */
    /* private per-thread scratch, owned; created on first use by a kind */
    void *scratch;
    void (*scratch_free)(void *scratch);
    b4k_tok_kind scratch_kind;
} b4k_tok_out;

void b4k_tok_out_init(b4k_tok_out *o);
void b4k_tok_out_free(b4k_tok_out *o); /* frees buffers and scratch */
/* Make room for `extra` more tokens.  0 or B4K_ENOMEM. */
int b4k_tok_out_reserve(b4k_tok_out *o, size_t extra);
/* Append one token (after reserve).  Used by the encoders. */
static inline void b4k_tok_out_push(b4k_tok_out *o, int32_t id, int32_t start, int32_t end,
                                    int32_t seg)
{
    o->ids[o->n] = id;
    o->offsets[2 * o->n] = start;
    o->offsets[2 * o->n + 1] = end;
    o->segs[o->n] = seg;
    o->n++;
}

/* Encode one text (a) or a pair (a, b; b may be NULL).  Fills out (which is
 * reset first).  Thread-safe for one shared tok with one out per thread. */
int b4k_tok_encode(const b4k_tok *tok, const char *a, size_t a_len, const char *b,
                   size_t b_len, const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err);

/* The nbest best segmentations of one text (spm/cpm with a unigram model;
 * B4K_EUNSUP otherwise), best first, into outs[0..*got) (each reset first;
 * scratch lives in outs[0]); scores (may be NULL) get the path scores. */
int b4k_tok_nbest(const b4k_tok *tok, const char *a, size_t a_len, int nbest, b4k_tok_out *outs,
                  float *scores, int *got, b4k_err *err);

/* Decode ids back to text, appended to out.  skip_special drops [CLS],
 * [SEP], [PAD] (wordpiece) and control pieces (spm).  Wordpiece joins "##"
 * continuations and puts a space between words (HF's decode with
 * clean_up_tokenization_spaces=False); bpe returns the exact original bytes
 * (which may be invalid UTF-8 for a cut-off sequence).  Out-of-range ids give
 * B4K_ERANGE. */
int b4k_tok_decode(const b4k_tok *tok, const int32_t *ids, size_t n, int skip_special,
                   b4k_buf *out, b4k_err *err);

#endif
