/* Unigram lattice: n-best segmentations by A* over exact Viterbi scores,
 * and subword sampling (forward-filtering backward-sampling, or sampling
 * among the n best).  The agenda is a binary heap operated exactly as
 * libstdc++'s std::priority_queue (push_heap / pop_heap), so hypotheses with
 * equal scores come out in the reference's order. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "tok/spm_impl.h"

typedef struct lnode {
    int32_t pos, len;  /* in characters */
    int32_t id;
    float score, back;
    int32_t prev;
} lnode;

typedef struct hyp {
    int32_t node, next;
    float fx, gx;
} hyp;

struct b4k_spm_lattice {
    uint32_t *surf;           /* (nchar + 1) byte offset of each char */
    size_t surf_cap;
    lnode *nodes;             /* 0 = BOS, 1 = EOS, then by begin position */
    size_t n_nodes, nodes_cap;
    int32_t *bstart;          /* (nchar + 2) begin_nodes[pos] = nodes[bstart[pos]..bstart[pos+1]) */
    int32_t *estart;          /* (nchar + 2) into eidx */
    int32_t *eidx;            /* node ids by end position, insertion order */
    size_t pos_cap, eidx_cap;
    hyp *hyps;
    size_t n_hyps, hyps_cap;
    int32_t *agenda;
    size_t agenda_n, agenda_cap;
    double *alpha;
    size_t alpha_cap;
    int32_t nchar;
};

void b4k_spm_lattice_free(struct b4k_spm_lattice *l)
{
    if (!l) return;
    b4k_free(l->surf);
    b4k_free(l->nodes);
    b4k_free(l->bstart);
    b4k_free(l->estart);
    b4k_free(l->eidx);
    b4k_free(l->hyps);
    b4k_free(l->agenda);
    b4k_free(l->alpha);
    b4k_free(l);
}

static int add_node(struct b4k_spm_lattice *l, int32_t pos, int32_t len, int32_t id, float score)
{
    if (l->n_nodes == l->nodes_cap && B4K_GROW(l->nodes, l->nodes_cap, l->n_nodes + 1)) return -1;
    lnode *n = &l->nodes[l->n_nodes++];
    n->pos = pos;
    n->len = len;
    n->id = id;
    n->score = score;
    n->back = 0;
    n->prev = -1;
    return 0;
}

/* PopulateNodes over st->norm. */
static int build(const b4k_spm *m, b4k_spm_state *st)
{
    struct b4k_spm_lattice *l = st->lat;
    const char *s = st->norm;
    size_t len = st->norm_len;
    int32_t nc = 0;
    if (len + 1 > l->surf_cap && B4K_GROW(l->surf, l->surf_cap, len + 1)) return -1;
    for (size_t i = 0; i < len;) {
        l->surf[nc++] = (uint32_t)i;
        i += b4k_spm_one_char_len(s + i, len - i);
    }
    l->surf[nc] = (uint32_t)len;
    l->nchar = nc;
    l->n_nodes = 0;
    if (add_node(l, 0, 0, -1, 0) || add_node(l, nc, 0, -1, 0)) return -1;
    if ((size_t)nc + 2 > l->pos_cap) {
        size_t c1 = l->pos_cap, c2 = l->pos_cap;
        if (B4K_GROW(l->bstart, c1, (size_t)nc + 2) || B4K_GROW(l->estart, c2, (size_t)nc + 2)) return -1;
        l->pos_cap = c1 < c2 ? c1 : c2;
    }
    const float unk_score = m->min_score - 10.0f;
    for (int32_t b = 0; b < nc; b++) {
        l->bstart[b] = (int32_t)l->n_nodes;
        int single = 0;
        uint32_t node = 0;
        int32_t chars = 0;
        size_t k = l->surf[b];
        for (; k < len;) {
            node = b4k_spm_trie_next(&m->trie, node, (unsigned char)s[k]);
            if (!node) break;
            k++;
            int32_t id = m->trie.val[node];
            if (id < 0) continue;
            while (b + chars < nc && l->surf[b + chars] < k) chars++;
            if (m->type[id] == B4K_SPM_UNUSED) continue;
            float sc = m->type[id] == B4K_SPM_USER_DEFINED
                           ? (float)((double)((float)chars * m->max_score) - 0.1)
                           : m->score[id];
            if (add_node(l, b, chars, id, sc)) return -1;
            if (chars == 1) single = 1;
        }
        if (!single && add_node(l, b, 1, m->unk_id, unk_score)) return -1;
    }
    l->bstart[nc] = (int32_t)l->n_nodes;
    l->bstart[nc + 1] = (int32_t)l->n_nodes;
    /* end lists: BOS at 0, regular nodes by end position (stable) */
    size_t ne = l->n_nodes;
    if (ne > l->eidx_cap && B4K_GROW(l->eidx, l->eidx_cap, ne)) return -1;
    for (int32_t p = 0; p <= nc + 1; p++) l->estart[p] = 0;
    l->estart[1] = 1; /* count at index end+1 */
    for (size_t i = 2; i < l->n_nodes; i++) l->estart[l->nodes[i].pos + l->nodes[i].len + 1]++;
    for (int32_t p = 1; p <= nc + 1; p++) l->estart[p] += l->estart[p - 1];
    /* fill: use a temporary cursor in alpha-sized scratch */
    l->eidx[0] = 0;
    {
        int32_t *cur = (int32_t *)b4k_malloc_n((size_t)nc + 2, sizeof *cur);
        if (!cur) return -1;
        for (int32_t p = 0; p <= nc; p++) cur[p] = l->estart[p];
        cur[0] = 1;
        for (size_t i = 2; i < l->n_nodes; i++) {
            int32_t e = l->nodes[i].pos + l->nodes[i].len;
            l->eidx[cur[e]++] = (int32_t)i;
        }
        b4k_free(cur);
    }
    return 0;
}

#define BEGIN_LIST(l, p, i_, body)                                                     \
    do {                                                                               \
        if ((p) == (l)->nchar) { int32_t i_ = 1; body; }                               \
        else for (int32_t i_ = (l)->bstart[p]; i_ < (l)->bstart[(p) + 1]; i_++) { body; } \
    } while (0)

static void viterbi(struct b4k_spm_lattice *l)
{
    for (int32_t p = 0; p <= l->nchar; p++) {
        BEGIN_LIST(l, p, r, {
            lnode *rn = &l->nodes[r];
            float best = 0;
            int32_t bn = -1;
            for (int32_t e = l->estart[p]; e < l->estart[p + 1]; e++) {
                const lnode *ln = &l->nodes[l->eidx[e]];
                float sc = ln->back + rn->score;
                if (bn < 0 || sc > best) {
                    bn = l->eidx[e];
                    best = sc;
                }
            }
            rn->prev = bn;
            rn->back = best;
        });
    }
}

/* libstdc++ heap over hypothesis indices, ordered by fx (max on top). */
#define HLESS(a, b) (l->hyps[a].fx < l->hyps[b].fx)

static void push_heap_at(struct b4k_spm_lattice *l, size_t hole, size_t top, int32_t v)
{
    int32_t *a = l->agenda;
    size_t parent = (hole - 1) / 2;
    while (hole > top && HLESS(a[parent], v)) {
        a[hole] = a[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    a[hole] = v;
}

static int agenda_push(struct b4k_spm_lattice *l, int32_t h)
{
    if (l->agenda_n == l->agenda_cap && B4K_GROW(l->agenda, l->agenda_cap, l->agenda_n + 1)) return -1;
    l->agenda[l->agenda_n++] = h;
    push_heap_at(l, l->agenda_n - 1, 0, h);
    return 0;
}

static int32_t agenda_pop(struct b4k_spm_lattice *l)
{
    int32_t *a = l->agenda;
    size_t len = l->agenda_n;
    int32_t top = a[0];
    if (len > 1) {
        int32_t v = a[len - 1];
        a[len - 1] = a[0];
        size_t n = len - 1, hole = 0, second = 0;
        while (second < (n - 1) / 2 && n > 1) {
            second = 2 * (second + 1);
            if (HLESS(a[second], a[second - 1])) second--;
            a[hole] = a[second];
            hole = second;
        }
        if ((n & 1) == 0 && second == (n - 2) / 2) {
            second = 2 * (second + 1);
            a[hole] = a[second - 1];
            hole = second - 1;
        }
        push_heap_at(l, hole, 0, v);
    }
    l->agenda_n--;
    return top;
}

static int32_t new_hyp(struct b4k_spm_lattice *l, int32_t node, int32_t next, float fx, float gx)
{
    if (l->n_hyps == l->hyps_cap && B4K_GROW(l->hyps, l->hyps_cap, l->n_hyps + 1)) return -1;
    hyp *h = &l->hyps[l->n_hyps];
    h->node = node;
    h->next = next;
    h->fx = fx;
    h->gx = gx;
    return (int32_t)l->n_hyps++;
}

static int ensure_lat(b4k_spm_state *st)
{
    if (!st->lat) st->lat = b4k_calloc(1, sizeof *st->lat);
    return st->lat ? 0 : -1;
}

static int push_path(b4k_spm_state *st, const int32_t *nodes_rev, size_t n)
{
    struct b4k_spm_lattice *l = st->lat;
    for (size_t i = n; i-- > 0;) {
        const lnode *nd = &l->nodes[nodes_rev[i]];
        if (b4k_spm_raw_push(st, nd->id, l->surf[nd->pos], l->surf[nd->pos + nd->len])) return -1;
    }
    return 0;
}

/* n-best into st->raw, one path after another; bounds[k] = start of path k. */
static int nbest_raw(const b4k_spm *m, b4k_spm_state *st, int nbest, size_t *bounds,
                     float *scores, int *got)
{
    struct b4k_spm_lattice *l = st->lat;
    *got = 0;
    st->rn = 0;
    if (build(m, st)) return -1;
    viterbi(l);
    l->n_hyps = 0;
    l->agenda_n = 0;
    int32_t eos = new_hyp(l, 1, -1, 0, 0);
    if (eos < 0 || agenda_push(l, eos)) return -1;
    int32_t *path = NULL;
    size_t pcap = 0;
    while (l->agenda_n) {
        int32_t top = agenda_pop(l);
        int32_t node = l->hyps[top].node;
        if (node == 0) { /* BOS */
            size_t np = 0;
            bounds[*got] = st->rn;
            for (int32_t h = l->hyps[top].next; l->hyps[h].next != -1; h = l->hyps[h].next) {
                if (np == pcap && B4K_GROW(path, pcap, np + 1)) goto oom;
                path[np++] = l->hyps[h].node;
            }
            /* path is from left to right already (next points toward EOS) */
            for (size_t i = 0; i < np; i++) {
                const lnode *nd = &l->nodes[path[i]];
                if (b4k_spm_raw_push(st, nd->id, l->surf[nd->pos], l->surf[nd->pos + nd->len])) goto oom;
            }
            if (scores) scores[*got] = l->hyps[top].fx;
            (*got)++;
            if (*got == nbest) break;
            continue;
        }
        const lnode *nd = &l->nodes[node];
        int32_t p = nd->pos;
        for (int32_t e = l->estart[p]; e < l->estart[p + 1]; e++) {
            const lnode *ln = &l->nodes[l->eidx[e]];
            float gx = ln->score + l->hyps[top].gx;
            float fx = ln->back + l->hyps[top].gx;
            int32_t h = new_hyp(l, l->eidx[e], top, fx, gx);
            if (h < 0 || agenda_push(l, h)) goto oom;
        }
        if (l->agenda_n >= 100000) {
            size_t keep = (size_t)(nbest * 10 < 512 ? nbest * 10 : 512);
            int32_t *kept = b4k_malloc_n(keep, sizeof *kept);
            if (!kept) goto oom;
            for (size_t i = 0; i < keep; i++) kept[i] = agenda_pop(l);
            l->agenda_n = 0;
            for (size_t i = 0; i < keep; i++) agenda_push(l, kept[i]);
            b4k_free(kept);
        }
    }
    bounds[*got] = st->rn;
    b4k_free(path);
    return 0;
oom:
    b4k_free(path);
    return -1;
}

int b4k_spm_nbest(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n, int nbest,
                  b4k_spm_tokens *outs, float *scores, int *got, b4k_err *err)
{
    int rc;
    *got = 0;
    if (m->model_type != B4K_SPM_UNIGRAM)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "n-best needs a unigram model, not %s",
                           b4k_spm_model_type_name(m->model_type));
    if (nbest < 1) nbest = 1;
    if (nbest > 1024) nbest = 1024;
    if ((rc = b4k_spm_state_norm(m, st, text, n, err))) return rc;
    if (st->norm_len == 0 || nbest == 1) {
        /* the one best is the Viterbi encoding (its ties, id for id); its
         * score is the best path's, from the lattice (sentencepiece reports
         * 0.0 here, which would not match the first of --nbest 2) */
        if (scores) {
            scores[0] = 0;
            size_t b2[2];
            int g = 0;
            if (st->norm_len && (ensure_lat(st) || nbest_raw(m, st, 1, b2, scores, &g))) goto oom;
        }
        if ((rc = b4k_spm_encode(m, st, text, n, &outs[0], err))) return rc;
        *got = 1;
        return 0;
    }
    size_t bounds[1025];
    if (ensure_lat(st) || nbest_raw(m, st, nbest, bounds, scores, got)) goto oom;
    /* split the raw pieces per path, then run byte fallback per path */
    size_t rn = st->rn;
    int32_t *rid = st->rid;
    uint32_t *rb = st->rbeg, *re = st->rend;
    for (int k = 0; k < *got; k++) {
        b4k_spm_state tmp = *st;
        tmp.rid = rid + bounds[k];
        tmp.rbeg = rb + bounds[k];
        tmp.rend = re + bounds[k];
        tmp.rn = bounds[k + 1] - bounds[k];
        if (b4k_spm_finish(m, &tmp, &outs[k])) goto oom;
    }
    (void)rn;
    return 0;
oom:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

static double logsumexp(double x, double y, int init)
{
    if (init) return y;
    double vmin = x < y ? x : y, vmax = x < y ? y : x;
    if (vmax > vmin + 50) return vmax;
    return vmax + log(exp(vmin - vmax) + 1.0);
}

static size_t pick(const double *w, size_t n, b4k_rng *rng)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    double r = b4k_rng_double(rng) * total, c = 0;
    for (size_t i = 0; i < n; i++) {
        c += w[i];
        if (r < c) return i;
    }
    return n - 1;
}

int b4k_spm_unigram_sample(const b4k_spm *m, b4k_spm_state *st, int nbest, double alpha,
                           b4k_rng *rng, b4k_err *err)
{
    if (st->norm_len == 0) return 0;
    if (ensure_lat(st)) goto oom;
    struct b4k_spm_lattice *l = st->lat;
    if (nbest > 1) {
        size_t bounds[1025];
        float scores[1024];
        double w[1024];
        int got;
        if (nbest > 1024) nbest = 1024;
        if (nbest_raw(m, st, nbest, bounds, scores, &got)) goto oom;
        for (int k = 0; k < got; k++) w[k] = exp(alpha * scores[k]);
        size_t k = pick(w, (size_t)got, rng);
        /* keep only path k */
        size_t b = bounds[k], e = bounds[k + 1];
        memmove(st->rid, st->rid + b, (e - b) * sizeof *st->rid);
        memmove(st->rbeg, st->rbeg + b, (e - b) * sizeof *st->rbeg);
        memmove(st->rend, st->rend + b, (e - b) * sizeof *st->rend);
        st->rn = e - b;
        return 0;
    }
    if (build(m, st)) goto oom;
    size_t nn = l->n_nodes;
    if (nn > l->alpha_cap && B4K_GROW(l->alpha, l->alpha_cap, nn)) goto oom;
    double *a = l->alpha;
    for (size_t i = 0; i < nn; i++) a[i] = 0;
    for (int32_t p = 0; p <= l->nchar; p++) {
        BEGIN_LIST(l, p, r, {
            for (int32_t e = l->estart[p]; e < l->estart[p + 1]; e++) {
                int32_t li = l->eidx[e];
                a[r] = logsumexp(a[r], alpha * l->nodes[li].score + a[li], e == l->estart[p]);
            }
        });
    }
    /* backward sampling from EOS */
    int32_t *path = NULL;
    size_t np = 0, pcap = 0;
    double *w = NULL;
    size_t wcap = 0;
    double Z = a[1];
    int32_t node = 1;
    for (;;) {
        int32_t p = l->nodes[node].pos;
        size_t cnt = (size_t)(l->estart[p + 1] - l->estart[p]);
        if (cnt > wcap && B4K_GROW(w, wcap, cnt)) goto oom2;
        for (size_t i = 0; i < cnt; i++) {
            int32_t li = l->eidx[l->estart[p] + (int32_t)i];
            w[i] = exp(a[li] + alpha * l->nodes[li].score - Z);
        }
        node = l->eidx[l->estart[p] + (int32_t)pick(w, cnt, rng)];
        if (node == 0) break;
        Z = a[node];
        if (np == pcap && B4K_GROW(path, pcap, np + 1)) goto oom2;
        path[np++] = node;
    }
    st->rn = 0;
    if (push_path(st, path, np)) goto oom2;
    b4k_free(path);
    b4k_free(w);
    return 0;
oom2:
    b4k_free(path);
    b4k_free(w);
oom:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}
