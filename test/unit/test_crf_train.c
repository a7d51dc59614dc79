/* lib/crf feature layer, objective, trainers, model file and scorers:
 * finite-difference gradient of the full objective with L2, deterministic
 * threaded reduction, save/load round trip, conlleval and SIGHAN scores on
 * hand-worked cases, template parsing and the built-in templates. */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "crf/data.h"
#include "crf/eval.h"
#include "crf/lbfgs.h"
#include "crf/model.h"
#include "crf/template.h"
#include "crf/train.h"
#include "t.h"

static const char train_txt[] =
    "He PRP B-NP\nreckons VBZ B-VP\nthe DT B-NP\ncurrent JJ I-NP\naccount NN I-NP\n"
    "deficit NN I-NP\nwill MD B-VP\nnarrow VB I-VP\nto TO B-PP\nonly RB B-NP\n# # I-NP\n"
    "1.8 CD I-NP\nbillion CD I-NP\nin IN B-PP\nSeptember NNP B-NP\n. . O\n\n"
    "Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\nis VBZ B-VP\n"
    "widely RB I-VP\nexpected VBN I-VP\nto TO I-VP\ntake VB I-VP\nanother DT B-NP\n"
    "sharp JJ I-NP\ndive NN I-NP\n. . O\n\n"
    "The DT B-NP\npound NN I-NP\nfell VBD B-VP\n. . O\n";

static const char tpl_txt[] = "U00:%x[-1,0]\nU01:%x[0,0]\nU02:%x[1,0]\nU03:%x[0,1]\n"
                              "U04:%x[-1,1]/%x[0,1]\nB\n";

static void build(b4k_crf_model *m, b4k_crf_corpus *c, int dense, int start_end, int minfreq)
{
    b4k_err err;
    b4k_crf_model_init(m);
    b4k_crf_corpus_init(c);
    CHECK_EQ_INT(b4k_crf_tpl_parse(&m->tpl, tpl_txt, sizeof tpl_txt - 1, "tpl", &err), 0);
    m->start_end = start_end;
    b4k_crf_reader *r;
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, train_txt, sizeof train_txt - 1, "train", B4K_CRF_CONLL,
                                         0, B4K_CRF_LAB_REQUIRED, &err), 0);
    b4k_crf_seq seq;
    b4k_crf_seq_init(&seq);
    b4k_buf sc;
    b4k_buf_init(&sc);
    while (b4k_crf_reader_next(r, &seq, &err) == 1) {
        m->ncol = seq.ncol;
        CHECK_EQ_INT(b4k_crf_corpus_add(c, m, &seq, 1, "train", &sc, &err), 0);
    }
    CHECK_EQ_INT(c->nseq, 3);
    CHECK_EQ_INT(b4k_crf_features(m, c, NULL, minfreq, dense, &err), 0);
    b4k_buf_free(&sc);
    b4k_crf_seq_free(&seq);
    b4k_crf_reader_close(r);
}

static void gradcheck(int dense, int start_end)
{
    b4k_crf_model m;
    b4k_crf_corpus c;
    build(&m, &c, dense, start_end, 1);
    size_t n = m.nx;
    double *x = malloc(n * sizeof(double)), *g = malloc(n * sizeof(double)),
           *g2 = malloc(n * sizeof(double));
    srand(7);
    for (size_t i = 0; i < n; i++)
        x[i] = (rand() / (double)RAND_MAX - 0.5);
    int rc;
    double c2 = 0.3;
    double f = b4k_crf_objective(&m, &c, x, g, c2, 1, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK(f > 0);
    /* every coordinate by central differences */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], h = 1e-5;
        x[i] = xi + h;
        double fp = b4k_crf_objective(&m, &c, x, g2, c2, 1, &rc);
        x[i] = xi - h;
        double fm = b4k_crf_objective(&m, &c, x, g2, c2, 1, &rc);
        x[i] = xi;
        double fd = (fp - fm) / (2 * h), d = fabs(fd - g[i]);
        if (d > worst)
            worst = d;
    }
    CHECK(worst < 1e-6);
    if (worst >= 1e-6)
        printf("  worst gradient error %g\n", worst);
    /* threads: same value (sum order differs) and bit-identical reruns */
    double f2 = b4k_crf_objective(&m, &c, x, g2, c2, 2, &rc);
    CHECK_NEAR(f2, f, 1e-9 * fabs(f));
    double f3 = b4k_crf_objective(&m, &c, x, g, c2, 2, &rc);
    CHECK(f3 == f2);
    CHECK(memcmp(g, g2, n * sizeof(double)) == 0);
    free(x);
    free(g);
    free(g2);
    b4k_crf_corpus_free(&c);
    b4k_crf_model_free(&m);
}

TEST(gradient_sparse) { gradcheck(0, 0); }
TEST(gradient_dense_start_end) { gradcheck(1, 1); }

static double train_and_score(int algo, double c1, int threads)
{
    b4k_crf_model m;
    b4k_crf_corpus c;
    build(&m, &c, 0, 0, 1);
    b4k_crf_train_opt o;
    b4k_crf_train_default(&o);
    o.algo = algo;
    o.c1 = c1;
    o.c2 = c1 > 0 ? 0 : 0.1;
    o.threads = threads;
    o.max_iter = algo == B4K_CRF_LBFGS ? 200 : 30;
    b4k_crf_train_result res;
    b4k_err err;
    CHECK_EQ_INT(b4k_crf_train(&m, &c, &o, &res, &err), 0);
    double acc = 0;
    CHECK_EQ_INT(b4k_crf_score(&m, &c, 1, &acc), 0);
    b4k_crf_corpus_free(&c);
    b4k_crf_model_free(&m);
    return acc;
}

TEST(trainers_fit_training_data)
{
    CHECK_NEAR(train_and_score(B4K_CRF_LBFGS, 0, 1), 100.0, 1e-9);
    CHECK_NEAR(train_and_score(B4K_CRF_LBFGS, 0, 2), 100.0, 1e-9);
    CHECK_NEAR(train_and_score(B4K_CRF_LBFGS, 0.05, 1), 100.0, 1e-9); /* OWL-QN */
    CHECK_NEAR(train_and_score(B4K_CRF_SGD, 0, 1), 100.0, 1e-9);
    CHECK(train_and_score(B4K_CRF_AP, 0, 1) > 85.0); /* averaged weights */
}

static double quad(void *ctx, const double *x, double *g, size_t n)
{
    (void)ctx;
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - (double)(i + 1), w = (double)(i + 1);
        f += w * d * d;
        g[i] = 2 * w * d;
    }
    return f;
}

TEST(lbfgs_quadratic_and_owlqn)
{
    double x[5] = { 0 }, fx;
    b4k_lbfgs_opt o;
    b4k_lbfgs_default(&o);
    o.epsilon = 1e-10;
    o.period = 0;
    int st = b4k_lbfgs(x, 5, &fx, quad, NULL, NULL, &o);
    CHECK_EQ_INT(st, B4K_LBFGS_CONVERGED);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(x[i], i + 1, 1e-6);
    /* L1: minimiser of w(x-a)^2 + c|x| is a - c/(2w) when positive */
    double y[5] = { 0 };
    o.c1 = 3.0;
    st = b4k_lbfgs(y, 5, &fx, quad, NULL, NULL, &o);
    CHECK(st >= 0);
    for (int i = 0; i < 5; i++) {
        double w = i + 1, a = i + 1, want = a - 3.0 / (2 * w);
        CHECK_NEAR(y[i], want > 0 ? want : 0, 1e-5);
    }
}

/* elastic net on a separable quadratic: the smooth part f = sum w (x-a)^2 +
 * c2 |x|^2 (the L2 term is in the objective, as the CRF trainer does) and
 * c1 |x|_1 by OWL-QN; the minimiser is max(0, 2wa - c1) / (2 (w + c2)) */
typedef struct enet { double c2; } enet;

static double quad_l2(void *ctx, const double *x, double *g, size_t n)
{
    double c2 = ((enet *)ctx)->c2, f = quad(NULL, x, g, n);
    for (size_t i = 0; i < n; i++) {
        f += c2 * x[i] * x[i];
        g[i] += 2 * c2 * x[i];
    }
    return f;
}

TEST(elastic_net_closed_form)
{
    b4k_lbfgs_opt o;
    b4k_lbfgs_default(&o);
    o.epsilon = 1e-10;
    o.period = 0;
    o.max_iter = 1000;
    const double c1s[3] = { 0.5, 3.0, 7.0 }, c2s[3] = { 0.25, 1.0, 4.0 };
    for (int q = 0; q < 3; q++) {
        enet e = { c2s[q] };
        o.c1 = c1s[q];
        double x[5] = { 0 }, fx;
        CHECK(b4k_lbfgs(x, 5, &fx, quad_l2, NULL, &e, &o) >= 0);
        int zeros = 0;
        for (int i = 0; i < 5; i++) {
            double w = i + 1, a = i + 1, num = 2 * w * a - o.c1;
            double want = num > 0 ? num / (2 * (w + e.c2)) : 0;
            CHECK_NEAR(x[i], want, 1e-6);
            zeros += want == 0;
            if (want == 0)
                CHECK(x[i] == 0); /* OWL-QN lands on exact zeros */
        }
        if (q == 2)
            CHECK(zeros >= 1);
    }
}

/* elastic net through the CRF trainer: at the solution the optimality
 * (KKT) conditions of NLL + c2|x|^2 + c1|x|_1 hold: g_i + c1 sign(x_i) = 0
 * where x_i != 0, |g_i| <= c1 where x_i = 0 (g: gradient with the L2 term) */
TEST(elastic_net_crf_kkt)
{
    b4k_crf_model m;
    b4k_crf_corpus c;
    build(&m, &c, 0, 1, 1);
    b4k_crf_train_opt o;
    b4k_crf_train_default(&o);
    o.c1 = 0.2;
    o.c2 = 0.05;
    o.epsilon = 1e-9;
    o.period = 0;
    o.max_iter = 2000;
    b4k_crf_train_result res;
    b4k_err err;
    CHECK_EQ_INT(b4k_crf_train(&m, &c, &o, &res, &err), 0);
    double *g = malloc(m.nx * sizeof(double));
    int rc;
    b4k_crf_objective(&m, &c, m.x, g, o.c2, 1, &rc);
    CHECK_EQ_INT(rc, 0);
    double worst = 0;
    size_t nz = 0;
    for (size_t i = 0; i < m.nx; i++) {
        double v = m.x[i] != 0 ? fabs(g[i] + o.c1 * (m.x[i] > 0 ? 1 : -1))
                               : fmax(0, fabs(g[i]) - o.c1);
        nz += m.x[i] != 0;
        if (v > worst)
            worst = v;
    }
    CHECK(worst < 1e-3);
    CHECK(nz > 0 && nz < m.nx); /* L1 zeroes some weights, not all */
    if (worst >= 1e-3)
        printf("  KKT violation %g\n", worst);
    free(g);
    b4k_crf_corpus_free(&c);
    b4k_crf_model_free(&m);
}

/* averaged SGD: the returned weights equal the plain mean of the real
 * weights after every update from the first update of epoch 2 */
typedef struct avgsum {
    double *sum;
    size_t calls, skip, n;
} avgsum;

static void on_update(void *ctx, const double *v, double scale, size_t n)
{
    avgsum *a = ctx;
    a->n = n;
    if (++a->calls <= a->skip)
        return;
    for (size_t i = 0; i < n; i++)
        a->sum[i] += scale * v[i];
}

TEST(averaged_sgd_brute_force)
{
    for (int se = 0; se < 2; se++) {
        b4k_crf_model m;
        b4k_crf_corpus c;
        build(&m, &c, se, se, 1);
        avgsum a = { calloc(m.nx, sizeof(double)), 0, c.nseq, 0 };
        b4k_crf_train_opt o;
        b4k_crf_train_default(&o);
        o.algo = B4K_CRF_SGD;
        o.averaging = 1;
        o.max_iter = 4;
        o.eta0 = se ? 0.05 : 0.2;
        o.c2 = 0.5;
        o.on_update = on_update;
        o.ctx = &a;
        b4k_crf_train_result res;
        b4k_err err;
        CHECK_EQ_INT(b4k_crf_train(&m, &c, &o, &res, &err), 0);
        CHECK_EQ_INT(a.calls, 4 * c.nseq);
        CHECK_EQ_INT(a.n, m.nx);
        size_t K = a.calls - a.skip;
        double worst = 0, spread = 0;
        for (size_t i = 0; i < m.nx; i++) {
            double want = a.sum[i] / (double)K, d = fabs(m.x[i] - want);
            if (d > worst)
                worst = d;
            spread = fmax(spread, fabs(want));
        }
        CHECK(worst < 1e-12 * fmax(1, spread) * 100);
        CHECK(spread > 0.01); /* the weights moved */
        if (worst >= 1e-10)
            printf("  averaged SGD differs from the brute-force mean by %g\n", worst);
        /* without averaging the last weights come back, which differ */
        b4k_crf_model m2;
        b4k_crf_corpus c2;
        build(&m2, &c2, se, se, 1);
        o.averaging = 0;
        o.on_update = NULL;
        CHECK_EQ_INT(b4k_crf_train(&m2, &c2, &o, &res, &err), 0);
        double diff = 0;
        for (size_t i = 0; i < m.nx; i++)
            diff = fmax(diff, fabs(m2.x[i] - m.x[i]));
        CHECK(diff > 1e-3);
        free(a.sum);
        b4k_crf_corpus_free(&c);
        b4k_crf_model_free(&m);
        b4k_crf_corpus_free(&c2);
        b4k_crf_model_free(&m2);
    }
}

TEST(model_round_trip)
{
    b4k_crf_model m, m2;
    b4k_crf_corpus c;
    build(&m, &c, 0, 1, 1);
    for (size_t i = 0; i < m.nx; i++)
        m.x[i] = (float)(0.01 * (double)((i * 37) % 101) - 0.5); /* exact in f32 */
    uint8_t *buf;
    size_t n;
    b4k_err err;
    CHECK_EQ_INT(b4k_crf_model_save_mem(&m, &buf, &n, &err), 0);
    CHECK_EQ_INT(b4k_crf_model_load_mem(&m2, buf, n, "mem", &err), 0);
    CHECK_EQ_INT(m2.L, m.L);
    CHECK_EQ_INT(m2.F, m.F);
    CHECK_EQ_INT(m2.attrs.n, m.attrs.n);
    CHECK_EQ_INT(m2.ncol, m.ncol);
    CHECK_EQ_INT(m2.start_end, 1);
    CHECK(memcmp(m2.x, m.x, m.nx * sizeof(double)) == 0);
    CHECK_EQ_STR(m2.tpl.text, m.tpl.text);
    for (size_t a = 0; a < m.attrs.n; a++)
        CHECK_EQ_INT(b4k_crf_dict_find(&m2.attrs, b4k_crf_dict_str(&m.attrs, (int32_t)a),
                                       b4k_crf_dict_len(&m.attrs, (int32_t)a)),
                     (long long)a);
    /* resave: byte-identical */
    uint8_t *buf2;
    size_t n2;
    CHECK_EQ_INT(b4k_crf_model_save_mem(&m2, &buf2, &n2, &err), 0);
    CHECK(n2 == n && memcmp(buf, buf2, n) == 0);
    /* warm start copies everything */
    b4k_crf_model m3;
    b4k_crf_corpus c3;
    build(&m3, &c3, 0, 1, 1);
    CHECK_EQ_INT(b4k_crf_warm_start(&m3, &m2), m.F + (size_t)m.L * m.L + 2 * (size_t)m.L);
    CHECK(memcmp(m3.x, m.x, m.nx * sizeof(double)) == 0);
    /* corrupt bytes never crash; most give an error */
    for (size_t i = 0; i < n; i += 7) {
        uint8_t *cp = b4k_malloc(n);
        memcpy(cp, buf, n);
        cp[i] ^= 0x5a;
        b4k_crf_model m4;
        if (b4k_crf_model_load_mem(&m4, cp, n, "bad", &err) == 0)
            b4k_crf_model_free(&m4);
        b4k_free(cp);
    }
    b4k_free(buf);
    b4k_free(buf2);
    b4k_crf_model_free(&m2);
    b4k_crf_model_free(&m3);
    b4k_crf_corpus_free(&c3);
    b4k_crf_corpus_free(&c);
    b4k_crf_model_free(&m);
}

TEST(min_freq_cutoff)
{
    b4k_crf_model m;
    b4k_crf_corpus c;
    build(&m, &c, 0, 0, 2);
    /* attributes seen once are gone; "U01:the" (twice) stays */
    CHECK(b4k_crf_dict_find(&m.attrs, "U01:the", 7) >= 0);
    CHECK(b4k_crf_dict_find(&m.attrs, "U01:The", 7) < 0);
    CHECK(b4k_crf_dict_find(&m.attrs, "U01:.", 5) >= 0);
    CHECK(b4k_crf_dict_find(&m.attrs, "U01:He", 6) < 0);
    for (size_t a = 0; a < m.attrs.n; a++)
        CHECK(m.attrs.count[a] >= 2);
    b4k_crf_corpus_free(&c);
    b4k_crf_model_free(&m);
}

static void chunk_case(const char *g, const char *p, size_t gold, size_t guessed, size_t correct,
                       size_t tok_ok)
{
    /* space-separated labels */
    char gb[256], pb[256];
    const char *gv[32], *pv[32];
    strcpy(gb, g);
    strcpy(pb, p);
    size_t n = 0, m = 0;
    for (char *s = strtok(gb, " "); s; s = strtok(NULL, " "))
        gv[n++] = s;
    for (char *s = strtok(pb, " "); s; s = strtok(NULL, " "))
        pv[m++] = s;
    CHECK_EQ_INT(n, m);
    b4k_crf_eval e;
    b4k_crf_eval_init(&e);
    CHECK_EQ_INT(b4k_crf_eval_chunks(&e, gv, pv, n), 0);
    CHECK_EQ_INT(e.gold, gold);
    CHECK_EQ_INT(e.guessed, guessed);
    CHECK_EQ_INT(e.correct, correct);
    CHECK_EQ_INT(e.tok_ok, tok_ok);
    b4k_crf_eval_free(&e);
}

TEST(conlleval_hand_cases)
{
    /* IOB2 exact */
    chunk_case("B-NP I-NP O B-VP", "B-NP I-NP O B-VP", 2, 2, 2, 4);
    /* boundary error: NP split in two */
    chunk_case("B-NP I-NP I-NP", "B-NP B-NP I-NP", 1, 2, 0, 2);
    /* type error */
    chunk_case("B-NP I-NP O", "B-VP I-VP O", 1, 1, 0, 1);
    /* IOB1: I after O starts a chunk; B only separates adjacent same-type */
    chunk_case("I-NP I-NP B-NP O I-VP", "I-NP I-NP I-NP O I-VP", 3, 2, 1, 4);
    /* I with another type after a chunk starts a new chunk */
    chunk_case("B-NP I-VP", "B-NP I-NP", 2, 1, 0, 1);
    /* IOBES */
    chunk_case("B-PER E-PER S-LOC O", "B-PER E-PER S-LOC O", 2, 2, 2, 4);
    chunk_case("B-PER E-PER B-PER E-PER", "B-PER I-PER I-PER E-PER", 2, 1, 0, 2);
    chunk_case("S-LOC S-LOC", "B-LOC E-LOC", 2, 1, 0, 0);
    /* BMES without types (segmentation) */
    chunk_case("B E S B M E", "B E S B E S", 3, 4, 2, 4);
    /* chunk ending at the sentence end */
    chunk_case("O B-NP I-NP", "O B-NP I-NP", 1, 1, 1, 3);
    /* per-type counters and F1 */
    b4k_crf_eval e;
    b4k_crf_eval_init(&e);
    const char *g[] = { "B-NP", "I-NP", "B-VP", "B-NP" }, *p[] = { "B-NP", "I-NP", "B-NP", "B-NP" };
    b4k_crf_eval_chunks(&e, g, p, 4);
    double pr, rc, f;
    b4k_crf_eval_prf(&e, &pr, &rc, &f);
    /* gold NP NP VP (3), guessed NP NP NP (3), correct 2 */
    CHECK_NEAR(pr, 200.0 / 3, 1e-9);
    CHECK_NEAR(rc, 200.0 / 3, 1e-9);
    b4k_buf b;
    b4k_buf_init(&b);
    CHECK_EQ_INT(b4k_crf_eval_text(&e, &b), 0);
    CHECK(strstr(b.data, "processed 4 tokens with 3 phrases; found: 3 phrases; correct: 2.") != NULL);
    CHECK(strstr(b.data, "NP: precision:  66.67%; recall: 100.00%; FB1:  80.00  3") != NULL);
    CHECK(strstr(b.data, "VP: precision:   0.00%; recall:   0.00%; FB1:   0.00  0") != NULL);
    b4k_buf_free(&b);
    b4k_crf_eval_free(&e);
}

TEST(sighan_words)
{
    /* gold 他/来到/北京 ; pred 他/来/到/北京 ; known words: 他 来到 */
    const char *ch[] = { "他", "来", "到", "北", "京" };
    uint32_t cl[] = { 3, 3, 3, 3, 3 };
    const char *g[] = { "S", "B", "E", "B", "E" }, *p[] = { "S", "S", "S", "B", "E" };
    b4k_crf_dict known;
    b4k_crf_dict_init(&known);
    b4k_crf_dict_add(&known, "他", 3);
    b4k_crf_dict_add(&known, "来到", 6);
    b4k_crf_eval e;
    b4k_crf_eval_init(&e);
    CHECK_EQ_INT(b4k_crf_eval_words(&e, ch, cl, g, p, 5, &known), 0);
    CHECK_EQ_INT(e.w_gold, 3);
    CHECK_EQ_INT(e.w_pred, 4);
    CHECK_EQ_INT(e.w_ok, 2);
    CHECK_EQ_INT(e.oov_gold, 1); /* 北京 */
    CHECK_EQ_INT(e.oov_ok, 1);
    b4k_crf_eval_free(&e);
    b4k_crf_dict_free(&known);
}

static int parse_err(const char *txt, long *line)
{
    b4k_crf_tpl t;
    b4k_err err;
    b4k_err_clear(&err);
    int rc = b4k_crf_tpl_parse(&t, txt, strlen(txt), "t", &err);
    *line = err.line;
    if (!rc)
        b4k_crf_tpl_free(&t);
    return rc;
}

TEST(template_parser)
{
    long line;
    CHECK_EQ_INT(parse_err("# c\n\nU00:%x[0,0]\nB\n", &line), 0);
    CHECK(parse_err("U00:%x[0,0]\nU01:%x[0\n", &line) < 0);
    CHECK_EQ_INT(line, 2);
    CHECK(parse_err("U00:%x[a,0]\n", &line) < 0);
    CHECK(parse_err("U00:%x0,0]\n", &line) < 0);
    CHECK(parse_err("U00:%x[0,-1]\n", &line) < 0);
    CHECK(parse_err("X00:%x[0,0]\n", &line) < 0);
    CHECK(parse_err("\n\nB01:%x[0,0]\n", &line) < 0);
    CHECK_EQ_INT(line, 3);
    CHECK(parse_err("U00:%x[0,0]\nU00:%x[0,0]\n", &line) < 0);
    /* expansion with out-of-range rows */
    b4k_crf_tpl t;
    b4k_err err;
    const char *txt = "U01:%x[-2,0]/%x[0,1]/%x[1,0]\n";
    CHECK_EQ_INT(b4k_crf_tpl_parse(&t, txt, strlen(txt), "t", &err), 0);
    CHECK_EQ_INT(t.maxcol, 1);
    const char *cells[] = { "a", "X", "b", "Y" };
    uint32_t cl[] = { 1, 1, 1, 1 };
    b4k_buf b;
    b4k_buf_init(&b);
    CHECK_EQ_INT(b4k_crf_tpl_expand(&t, 0, cells, cl, 2, 2, 1, &b), 0);
    CHECK_EQ_STR(b.data, "U01:_B-1/Y/_B+1");
    b4k_buf_reset(&b);
    CHECK_EQ_INT(b4k_crf_tpl_expand(&t, 0, cells, cl, 2, 2, 0, &b), 0);
    CHECK_EQ_STR(b.data, "U01:_B-2/X/b");
    b4k_buf_free(&b);
    b4k_crf_tpl_free(&t);
}

TEST(builtin_templates_match_data)
{
    const char *top = getenv("TOP");
    if (!top) {
        printf("SKIP: builtin_templates_match_data: TOP not set\n");
        return;
    }
    for (const char *const *n = b4k_crf_tpl_builtin_names(); *n; n++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/crf/%s.tpl", top, *n);
        FILE *fp = fopen(path, "rb");
        CHECK(fp != NULL);
        if (!fp)
            continue;
        char buf[8192];
        size_t k = fread(buf, 1, sizeof buf - 1, fp);
        buf[k] = 0;
        fclose(fp);
        CHECK_EQ_STR(buf, b4k_crf_tpl_builtin(*n));
        b4k_crf_tpl t;
        b4k_err err;
        CHECK_EQ_INT(b4k_crf_tpl_parse(&t, buf, k, path, &err), 0);
        CHECK(t.bigram);
        b4k_crf_tpl_free(&t);
    }
}

TEST(readers)
{
    b4k_err err;
    b4k_crf_reader *r;
    b4k_crf_seq s;
    b4k_crf_seq_init(&s);
    /* seg: words -> BMES */
    const char seg[] = "上海  推  奥运会\n\nab\n";
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, seg, sizeof seg - 1, "s", B4K_CRF_SEG, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    CHECK_EQ_INT(s.T, 6);
    const char *want[] = { "B", "E", "S", "B", "M", "E" };
    for (int t = 0; t < 6; t++)
        CHECK_EQ_STR(s.label[t], want[t]);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    CHECK_EQ_INT(s.T, 0);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    CHECK_EQ_INT(s.T, 2);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 0);
    b4k_crf_reader_close(r);
    /* spans -> BIO */
    const char sp[] = "{\"text\":\"abcde\",\"label\":{\"name\":{\"bc\":[[1,2]]},\"loc\":{\"e\":[[4,4]]}}}\n";
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, sp, sizeof sp - 1, "s", B4K_CRF_SPANS, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    const char *w2[] = { "O", "B-name", "I-name", "O", "B-loc" };
    for (int t = 0; t < 5; t++)
        CHECK_EQ_STR(s.label[t], w2[t]);
    b4k_crf_reader_close(r);
    /* nested spans: the longest is kept, what overlaps it is dropped */
    const char nest[] = "{\"text\":\"abcdef\",\"label\":{\"co\":{\"cd\":[[2,3]],\"f\":[[5,5]]},"
                        "\"book\":{\"bcde\":[[1,4]]}}}\n";
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, nest, sizeof nest - 1, "s", B4K_CRF_SPANS, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    const char *w3[] = { "O", "B-book", "I-book", "I-book", "I-book", "B-co" };
    for (int t = 0; t < 6; t++)
        CHECK_EQ_STR(s.label[t], w3[t]);
    b4k_crf_reader_close(r);
    /* ragged conll: error at line 2 */
    const char rag[] = "a X B\nb C\n";
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, rag, sizeof rag - 1, "rag", B4K_CRF_CONLL, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    CHECK(b4k_crf_reader_next(r, &s, &err) < 0);
    CHECK_EQ_INT(err.line, 2);
    b4k_crf_reader_close(r);
    /* jsonl: empty tokens rejected */
    const char js[] = "{\"tokens\":[\"a\"],\"labels\":[\"O\"]}\n{\"tokens\":[],\"labels\":[]}\n";
    CHECK_EQ_INT(b4k_crf_reader_open_mem(&r, js, sizeof js - 1, "js", B4K_CRF_JSONL, 0,
                                         B4K_CRF_LAB_REQUIRED, &err), 0);
    CHECK_EQ_INT(b4k_crf_reader_next(r, &s, &err), 1);
    CHECK(b4k_crf_reader_next(r, &s, &err) < 0);
    CHECK_EQ_INT(err.line, 2);
    b4k_crf_reader_close(r);
    b4k_crf_seq_free(&s);
}

int main(void)
{
    RUN(gradient_sparse);
    RUN(gradient_dense_start_end);
    RUN(trainers_fit_training_data);
    RUN(lbfgs_quadratic_and_owlqn);
    RUN(elastic_net_closed_form);
    RUN(elastic_net_crf_kkt);
    RUN(averaged_sgd_brute_force);
    RUN(model_round_trip);
    RUN(min_freq_cutoff);
    RUN(conlleval_hand_cases);
    RUN(sighan_words);
    RUN(template_parser);
    RUN(builtin_templates_match_data);
    RUN(readers);
    return t_done();
}
