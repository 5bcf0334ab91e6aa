/*
 * Unit tests for EM on comparison patterns and the clear-text linkage driver
 * (src/link/fs_em.c, src/link/fs.c): a pattern table built from known m, u and lambda
 * (expected counts, missing values included) gives them back; fixed m and u stay fixed;
 * degenerate tables raise their warnings; the term-frequency adjustment by hand; and
 * FEBRL1 (data/linkage/febrl1, 500 true pairs) linked end to end above an F1 floor, the
 * same bit for bit on 1, 2 and 3 threads, with progress and cancellation.
 */
#include "link/fs_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

#define K 3
#define L 4 /* null + 3 levels */

static const double true_m[K][L] = {
    {0, 0.85, 0.10, 0.05}, {0, 0.70, 0.20, 0.10}, {0, 0.90, 0.06, 0.04}};
static const double true_u[K][L] = {
    {0, 0.02, 0.08, 0.90}, {0, 0.05, 0.15, 0.80}, {0, 0.01, 0.04, 0.95}};
#define TRUE_LAMBDA 0.08
#define PAIRS       1e6
#define P_MISSING   0.1 /* each comparison null with this probability, at random */

/* Every pattern with its expected count under the model (missing at random). */
static size_t make_table(uint64_t *code, double *count, double lambda)
{
    size_t n = 0;
    for (unsigned a = 0; a < L; a++) {
        for (unsigned b = 0; b < L; b++) {
            for (unsigned c = 0; c < L; c++) {
                unsigned lv[K] = {a, b, c};
                double pm = lambda, pu = 1 - lambda;
                for (size_t k = 0; k < K; k++) {
                    double miss = lv[k] == 0 ? P_MISSING : 1 - P_MISSING;
                    pm *= miss * (lv[k] ? true_m[k][lv[k]] : 1.0);
                    pu *= miss * (lv[k] ? true_u[k][lv[k]] : 1.0);
                }
                code[n] = (uint64_t)a | ((uint64_t)b << 4) | ((uint64_t)c << 8);
                count[n++] = PAIRS * (pm + pu);
            }
        }
    }
    return n;
}

static void start(rp_fs_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_comparisons = K;
    for (size_t k = 0; k < K; k++) {
        p->n_levels[k] = L;
        p->m[k][1] = 0.6, p->m[k][2] = 0.25, p->m[k][3] = 0.15;
        p->u[k][1] = 0.1, p->u[k][2] = 0.2, p->u[k][3] = 0.7;
    }
    p->lambda = 0.3;
}

static void fs_em__recovers_known_parameters(void **state)
{
    (void)state;
    uint64_t code[L * L * L];
    double count[L * L * L];
    size_t n = make_table(code, count, TRUE_LAMBDA);
    rp_fs_patterns t = {n, code, count};
    rp_fs_params p;
    start(&p);
    rp_fs_em_opts o = RP_FS_EM_OPTS_INIT;
    o.max_iter = 5000;
    o.tol = 1e-10;
    rp_fs_em_info info;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_fs_em(&p, &t, &o, &info, &err), &err);
    assert_true(info.converged);
    assert_int_equal(info.warnings, 0);
    assert_close(p.lambda, TRUE_LAMBDA, 1e-4, 0);
    assert_close(info.expected_matches, TRUE_LAMBDA * PAIRS, 1e-4, 0);
    for (size_t k = 0; k < K; k++) {
        for (unsigned l = 1; l < L; l++) {
            assert_close(p.m[k][l], true_m[k][l], 1e-3, 1e-5);
            assert_close(p.u[k][l], true_u[k][l], 1e-3, 1e-5);
        }
    }
}

static void fs_em__fixed_values_are_honoured(void **state)
{
    (void)state;
    uint64_t code[L * L * L];
    double count[L * L * L];
    size_t n = make_table(code, count, TRUE_LAMBDA);
    rp_fs_patterns t = {n, code, count};
    rp_fs_params p;
    start(&p);
    /* u fixed at the truth (as from random pairs), m of comparison 1 fixed at a guess */
    for (size_t k = 0; k < K; k++) {
        memcpy(p.u[k], true_u[k], sizeof true_u[k]);
        p.u_fixed[k] = true;
    }
    p.m_fixed[1] = true;
    double guess[L];
    memcpy(guess, p.m[1], sizeof guess);
    rp_error err = RP_ERROR_INIT;
    rp_fs_em_info info;
    assert_rp_ok(rp_fs_em(&p, &t, NULL, &info, &err), &err);
    for (unsigned l = 1; l < L; l++) {
        assert_close(p.m[1][l], guess[l], 1e-12, 0);
        assert_close(p.u[0][l], true_u[0][l], 1e-12, 0);
    }
    /* a fixed lambda too */
    start(&p);
    p.lambda = 0.2;
    p.lambda_fixed = true;
    assert_rp_ok(rp_fs_em(&p, &t, NULL, &info, &err), &err);
    assert_close(p.lambda, 0.2, 1e-12, 0);
}

static void fs_em__degenerate_input_warns(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_fs_em_info info;
    rp_fs_params p;
    /* one pattern only: all agree; nothing to separate */
    uint64_t one = 0x111;
    double cnt = 50;
    rp_fs_patterns t1 = {1, &one, &cnt};
    start(&p);
    assert_rp_ok(rp_fs_em(&p, &t1, NULL, &info, &err), &err);
    assert_true(info.warnings & RP_FS_WARN_FEW_PAIRS);
    /* m = u (no evidence): disagreement everywhere, u fixed high on exact: m <= u */
    uint64_t code[L * L * L];
    double count[L * L * L];
    size_t n = 0;
    for (unsigned a = 1; a < L; a++)
        for (unsigned b = 1; b < L; b++) {
            code[n] = (uint64_t)a | ((uint64_t)b << 4);
            count[n++] = 1000.0 * (a == 3 ? 8 : 1) * (b == 3 ? 8 : 1);
        }
    rp_fs_patterns t2 = {n, code, count};
    start(&p);
    p.n_comparisons = 2;
    for (size_t k = 0; k < 2; k++) {
        p.u[k][1] = 0.5, p.u[k][2] = 0.25, p.u[k][3] = 0.25;
        p.u_fixed[k] = true;
    }
    rp_fs_em_opts o = RP_FS_EM_OPTS_INIT;
    o.max_iter = 3;
    assert_rp_ok(rp_fs_em(&p, &t2, &o, &info, &err), &err);
    assert_true(info.warnings & RP_FS_WARN_M_LE_U);
    assert_true(info.warnings & RP_FS_WARN_NOCONV);
    assert_true(info.m_le_u_comparisons != 0);
    assert_non_null(strstr(rp_fs_warning_text(RP_FS_WARN_M_LE_U), "m <= u"));
    /* bad input */
    double zero = 0;
    rp_fs_patterns t3 = {1, &one, &zero};
    start(&p);
    assert_rp_status(rp_fs_em(&p, &t3, NULL, &info, &err), RP_EINVAL, &err);
    uint64_t bad = 0x9;
    rp_fs_patterns t4 = {1, &bad, &cnt};
    start(&p);
    assert_rp_status(rp_fs_em(&p, &t4, NULL, &info, &err), RP_EINVAL, &err);
}

/* Splink's TF adjustment: log2(u_exact / max(freq, tf_min)). */
static void fs_tf__by_hand(void **state)
{
    (void)state;
    assert_close(rp_fs_tf_adjustment(0.01, 0.001, 1e-4), log2(10.0), 1e-12, 0);
    assert_close(rp_fs_tf_adjustment(0.01, 0.04, 1e-4), -2.0, 1e-12, 0);
    assert_close(rp_fs_tf_adjustment(0.01, 1e-6, 1e-4), log2(100.0), 1e-12, 0);
    /* a pattern's weight: prior odds plus log2(m/u) over non-null levels */
    rp_fs_params p;
    start(&p);
    p.lambda = 0.2;
    double w = rp_fs_pattern_weight(&p, 0x301); /* levels 1, null, 3 */
    assert_close(w, log2(0.25) + log2(0.6 / 0.1) + log2(0.15 / 0.7), 1e-12, 0);
}

/* ==== FEBRL1 end to end ==== */

typedef struct recs {
    size_t n, n_cols;
    const char *const *cols;
    char **v;
    uint64_t *truth;
} recs;

static void load_febrl1(recs *r, const rp_fs_spec *spec)
{
    char path[4096];
    const char *src = getenv("RP_SRC");
    snprintf(path, sizeof path, "%s/data/linkage/febrl1/records.csv", src ? src : ".");
    rp_error err = RP_ERROR_INIT;
    rp_reader *rd = NULL;
    rp_reader_opts ro = RP_READER_OPTS_INIT;
    ro.delimiter = ',';
    assert_rp_ok(rp_reader_open(&rd, path, &ro, &err), &err);
    const char *const *names = NULL;
    size_t nc = rp_reader_columns(rd, &names);
    r->n_cols = rp_fs_spec_columns(spec, &r->cols);
    size_t map[16], ent = nc;
    for (size_t c = 0; c < r->n_cols; c++)
        for (size_t j = 0; j < nc; j++)
            if (strcmp(names[j], r->cols[c]) == 0)
                map[c] = j;
    for (size_t j = 0; j < nc; j++)
        if (strcmp(names[j], "entity_id") == 0)
            ent = j;
    assert_true(ent < nc);
    r->v = calloc(1000 * r->n_cols, sizeof *r->v);
    r->truth = calloc(1000, sizeof *r->truth);
    const char *const *f = NULL;
    size_t nf = 0;
    long line = 0;
    while (rp_reader_next(rd, &f, &nf, &line, &err) == 1 && r->n < 1000) {
        for (size_t c = 0; c < r->n_cols; c++)
            r->v[r->n * r->n_cols + c] = strdup(f[map[c]]);
        r->truth[r->n++] = strtoull(f[ent], NULL, 10);
    }
    rp_reader_free(rd);
    assert_int_equal(r->n, 1000);
}

static void fs_link__febrl1_above_floor(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("RP_SRC");
    snprintf(path, sizeof path, "%s/data/linkage/specs/febrl.json", src ? src : ".");
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *spec = NULL;
    assert_rp_ok(rp_fs_spec_load(&spec, path, &err), &err);
    recs r;
    memset(&r, 0, sizeof r);
    load_febrl1(&r, spec);
    rp_fs_data data = {r.n, r.n_cols, r.cols, (const char *const *)r.v, NULL};
    rp_fs_opts o = RP_FS_OPTS_INIT;
    o.across_lists = false;
    o.u_pairs = 200000;
    rp_fs_result *res = NULL;
    assert_rp_ok(rp_fs_link(&res, spec, &data, r.truth, &o, &err), &err);
    assert_int_equal(res->true_pairs, 500);
    assert_true(res->true_candidates >= 495);
    size_t tp = 0, links = 0;
    for (size_t k = 0; k < res->n_edges && res->edges[k].score >= 0; k++, links++)
        tp += r.truth[res->edges[k].a] == r.truth[res->edges[k].b];
    double prec = (double)tp / (double)links, rec = (double)tp / 500.0;
    double f1 = 2 * prec * rec / (prec + rec);
    /* eval_link measures 1.0 on this set; the floor leaves room for u sampling noise */
    assert_true(f1 >= 0.99);
    assert_false(res->em.warnings &
                 (RP_FS_WARN_M_LE_U | RP_FS_WARN_LAMBDA_LOW | RP_FS_WARN_LAMBDA_HIGH));
    /* a spec column missing from the data */
    rp_fs_data bad = data;
    bad.n_columns = 1;
    rp_fs_result *none = NULL;
    assert_rp_status(rp_fs_link(&none, spec, &bad, NULL, &o, &err), RP_EINVAL, &err);
    assert_null(none);
    rp_fs_result_free(res);
    for (size_t i = 0; i < r.n * r.n_cols; i++)
        free(r.v[i]);
    free(r.v);
    free(r.truth);
    rp_fs_spec_free(spec);
}

/*
 * The threads change nothing: u from chunks of random pairs with their own seeds, pass
 * counts and the kept edges are the same, bit for bit, on 1, 2 and 3 threads (and with
 * few records, where every pair counts for u).
 */
static void fs_link__threads_give_identical_results(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("RP_SRC");
    snprintf(path, sizeof path, "%s/data/linkage/specs/febrl.json", src ? src : ".");
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *spec = NULL;
    assert_rp_ok(rp_fs_spec_load(&spec, path, &err), &err);
    recs r;
    memset(&r, 0, sizeof r);
    load_febrl1(&r, spec);
    for (int every = 0; every < 2; every++) {
        rp_fs_data data = {every ? 300 : r.n, r.n_cols, r.cols, (const char *const *)r.v, NULL};
        rp_fs_result *res[3] = {NULL, NULL, NULL};
        for (unsigned t = 0; t < 3; t++) {
            rp_fs_opts o = RP_FS_OPTS_INIT;
            o.across_lists = false;
            o.u_pairs = every ? 100000 : 150000; /* 300 records: every pair for u */
            o.threads = t + 1;
            assert_rp_ok(rp_fs_link(&res[t], spec, &data, r.truth, &o, &err), &err);
        }
        for (unsigned t = 1; t < 3; t++) {
            assert_int_equal(res[t]->candidates, res[0]->candidates);
            assert_int_equal(res[t]->patterns, res[0]->patterns);
            assert_int_equal(res[t]->true_candidates, res[0]->true_candidates);
            assert_memory_equal(&res[t]->params, &res[0]->params, sizeof res[0]->params);
            assert_memory_equal(res[t]->rule, res[0]->rule, sizeof res[0]->rule);
            assert_int_equal(res[t]->n_edges, res[0]->n_edges);
            assert_memory_equal(res[t]->edges, res[0]->edges,
                                res[0]->n_edges * sizeof *res[0]->edges);
        }
        assert_true(res[0]->n_edges > 0);
        for (unsigned t = 0; t < 3; t++)
            rp_fs_result_free(res[t]);
    }
    for (size_t i = 0; i < r.n * r.n_cols; i++)
        free(r.v[i]);
    free(r.v);
    free(r.truth);
    rp_fs_spec_free(spec);
}

/* Progress: from 0 to the total, never backwards; a nonzero return cancels. */
typedef struct prog {
    size_t last, total, calls;
    size_t cancel_at; /* 0 = never */
} prog;

static int on_prog(size_t done, size_t total, void *payload)
{
    prog *p = payload;
    assert_true(done >= p->last && done <= total);
    p->last = done;
    p->total = total;
    p->calls++;
    return p->cancel_at && p->calls >= p->cancel_at;
}

static void fs_link__progress_and_cancel(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("RP_SRC");
    snprintf(path, sizeof path, "%s/data/linkage/specs/febrl.json", src ? src : ".");
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *spec = NULL;
    assert_rp_ok(rp_fs_spec_load(&spec, path, &err), &err);
    recs r;
    memset(&r, 0, sizeof r);
    load_febrl1(&r, spec);
    rp_fs_data data = {r.n, r.n_cols, r.cols, (const char *const *)r.v, NULL};
    rp_fs_opts o = RP_FS_OPTS_INIT;
    o.across_lists = false;
    o.u_pairs = 100000;
    o.threads = 2;
    prog pg = {0, 0, 0, 0};
    o.progress = on_prog;
    o.payload = &pg;
    rp_fs_result *res = NULL;
    assert_rp_ok(rp_fs_link(&res, spec, &data, NULL, &o, &err), &err);
    assert_int_equal(pg.last, pg.total);
    assert_int_equal(pg.total, RP_FS_PROGRESS_STEPS * (1 + 2 * res->n_rules));
    rp_fs_result_free(res);
    res = NULL;
    prog stop = {0, 0, 0, 3};
    o.payload = &stop;
    assert_rp_status(rp_fs_link(&res, spec, &data, NULL, &o, &err), RP_ECANCELED, &err);
    assert_null(res);
    o.threads = 1000;
    assert_rp_status(rp_fs_link(&res, spec, &data, NULL, &o, &err), RP_EINVAL, &err);
    for (size_t i = 0; i < r.n * r.n_cols; i++)
        free(r.v[i]);
    free(r.v);
    free(r.truth);
    rp_fs_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fs_em__recovers_known_parameters),
        cmocka_unit_test(fs_em__fixed_values_are_honoured),
        cmocka_unit_test(fs_em__degenerate_input_warns),
        cmocka_unit_test(fs_tf__by_hand),
        cmocka_unit_test(fs_link__febrl1_above_floor),
        cmocka_unit_test(fs_link__threads_give_identical_results),
        cmocka_unit_test(fs_link__progress_and_cancel),
    };
    return cmocka_run_group_tests_name("fs_em", tests, setup, NULL);
}
