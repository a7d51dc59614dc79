/* The Huffman tree of hierarchical softmax (see train.h). */
#include "w2v/train.h"

#include "core/alloc.h"

/* word2vec.c's CreateBinaryTree: two queues, the leaves by decreasing count
 * and the new inner nodes in creation order */
int b4k_w2v_huffman(const int64_t *counts, size_t n, uint8_t *codes, int32_t *points,
                    uint8_t *lens, b4k_err *err)
{
    if (n < 2) {
        if (n == 1)
            lens[0] = 0;
        return 0;
    }
    int64_t *cnt = b4k_malloc_n(2 * n, sizeof *cnt);
    int64_t *parent = b4k_malloc_n(2 * n, sizeof *parent);
    uint8_t *bin = b4k_calloc(2 * n, 1);
    int rc = 0;
    if (!cnt || !parent || !bin) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory (Huffman tree)");
        goto done;
    }
    for (size_t a = 0; a < n; a++)
        cnt[a] = counts[a];
    for (size_t a = n; a < 2 * n; a++)
        cnt[a] = INT64_MAX / 4;
    int64_t pos1 = (int64_t)n - 1, pos2 = (int64_t)n;
    for (size_t a = 0; a + 1 < n; a++) {
        int64_t mi[2];
        for (int q = 0; q < 2; q++) {
            if (pos1 >= 0 && cnt[pos1] < cnt[pos2])
                mi[q] = pos1--;
            else
                mi[q] = pos2++;
        }
        cnt[n + a] = cnt[mi[0]] + cnt[mi[1]];
        parent[mi[0]] = (int64_t)(n + a);
        parent[mi[1]] = (int64_t)(n + a);
        bin[mi[1]] = 1;
    }
    int64_t root = (int64_t)(2 * n - 2);
    for (size_t a = 0; a < n; a++) {
        uint8_t code[B4K_W2V_MAX_CODE];
        int64_t point[B4K_W2V_MAX_CODE];
        int i = 0;
        int64_t b = (int64_t)a;
        while (b != root) {
            if (i >= B4K_W2V_MAX_CODE) {
                rc = b4k_err_set(err, B4K_ERANGE, NULL, 0,
                                 "Huffman code longer than %d bits (extreme count skew)",
                                 B4K_W2V_MAX_CODE);
                goto done;
            }
            code[i] = bin[b];
            point[i] = b;
            i++;
            b = parent[b];
        }
        lens[a] = (uint8_t)i;
        uint8_t *c = codes + a * B4K_W2V_MAX_CODE;
        int32_t *p = points + a * B4K_W2V_MAX_CODE;
        /* path from the root: internal node ids relative to n (root = n-2) */
        for (int k = 0; k < i; k++) {
            c[i - 1 - k] = code[k];
            p[i - 1 - k] = (int32_t)((k + 1 < i ? point[k + 1] : root) - (int64_t)n);
        }
    }
done:
    b4k_free(cnt);
    b4k_free(parent);
    b4k_free(bin);
    return rc;
}

