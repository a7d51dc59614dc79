/* Name maps from checkpoint names to b4k canonical names (man/b4k-model.5),
 * per family, with the layout change each tensor needs. */
#ifndef B4K_CONVERT_NAMES_H
#define B4K_CONVERT_NAMES_H

#include <stddef.h>

enum {
    B4K_XF_NONE = 0,
    B4K_XF_T = 1,      /* 2-D transpose: (in,out) -> (out,in) */
    B4K_XF_SQT = 2     /* drop a leading 1 then transpose: TF conv1d [1,in,out] */
};

/* Families: "bert" (also RoBERTa), "albert", "nezha", "gpt2", "cpm". */
int b4k_names_family_ok(const char *family);

/* Map src to dst (cap bytes).  Returns 1 mapped (xform set), 0 drop (a
 * buffer, an optimizer slot, a tied duplicate), -1 unknown name. */
int b4k_names_map(const char *family, const char *src, char *dst, size_t cap, int *xform);

/* Guess the family from the names (NULL if none fits). */
const char *b4k_names_detect(const char *const *names, size_t n);

/* Natural order of canonical names: "h.2" before "h.10". */
int b4k_names_cmp(const char *a, const char *b);

#endif
