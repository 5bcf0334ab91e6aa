/*
 * Unit tests for MSE estimation (src/mse/estimate.c, fit.c, interval.c, bootstrap.c):
 * stepwise, main-effects and BIC fits of the reference datasets against SparseMSE,
 * MultipleSystemsEstimation and Rcapture, profile-likelihood and BCa intervals, closed
 * forms checked by hand (Lincoln-Petersen, Chapman, the three-list no-three-way model,
 * Chao's lower bound), model averaging, strata totals, every rejected option, and an
 * allocation-failure sweep. Reference values: tests/fixtures/mse/README.md and the
 * shared data/mse/README.md ("Reference results"); peer algorithms: docs/notes-peers.md.
 */
#include "mse/mse_int.h"
#include "rp_test.h"
#include "rp_test_mse.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

/* ==== helpers ==== */

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Tolerances against published values. Point estimates and interval ends of the peers
 * are printed to 0.1 person: ATOL_PRINTED is half of that last digit. RTOL_POINT and
 * RTOL_INTERVAL are the agreement asked of the stepwise estimates (0.5%) and of interval
 * ends (2%), which a change of IRLS tolerance or root finder must not break.
 */
#define ATOL_PRINTED  0.05
#define RTOL_EXACT    1e-6
#define RTOL_POINT    0.005
#define RTOL_INTERVAL 0.02

static rp_capture_set *read_fixture(const char *rel, const rp_capture_read_opts *opts)
{
    char path[1024];
    rp_capture_set *set = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_capture_read_csv(&set, rp_test_fixture(path, sizeof(path), rel), opts, &err);
    assert_rp_ok(rc, &err);
    return set;
}

static rp_mse_result *estimate_ok(const rp_capture_table *tab, const rp_mse_opts *opts)
{
    rp_mse_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_mse_estimate(&res, tab, opts, &err);
    assert_rp_ok(rc, &err);
    assert_non_null(res);
    return res;
}

/* Fail unless @p got is the model @p spec (parsed on @p tab, so closed and sorted). */
static void assert_model(const rp_mse_model *got, const rp_capture_table *tab, const char *spec)
{
    rp_mse_model want = parse_ok(tab, spec);
    bool same = got->n_terms == want.n_terms;
    for (size_t i = 0; same && i < want.n_terms; i++)
        same = got->terms[i] == want.terms[i];
    if (!same) {
        char a[1024], b[1024];
        print_error("model %s, expected %s\n",
                    rp_mse_model_format(got, tab, RP_MSE_STYLE_NAMES, a, sizeof(a)),
                    rp_mse_model_format(&want, tab, RP_MSE_STYLE_NAMES, b, sizeof(b)));
    }
    assert_true(same);
}

/* A capture table on lists A, B, C, ... with cell w set to counts[w - 1]. */
static rp_capture_table *hand_table(size_t k, const double *counts)
{
    static const char *const names[] = {"A", "B", "C", "D", "E", "F"};
    rp_capture_table *tab = NULL;
    RP_TRY(rp_capture_table_new(&tab, k, names, NULL));
    for (size_t w = 1; w < ((size_t)1 << k); w++)
        tab->counts[w] = counts[w - 1];
    return tab;
}

/* ==== 1. stepwise (SparseMSE) ==== */

static void mse_estimate__stepwise_matches_sparsemse(void **state)
{
    (void)state;

    /*
     * SparseMSE 2.0.1 estimatepopulation.0(zdat, method = "stepwise", pthresh = 0.02):
     * N, the model-conditional 95% interval and the stepwise model, as listed in the
     * shared data/mse/README.md, "Reference results". Ned's I:K and K:R and Ned_5's K:R
     * are pairs with no case in common, entered at minus infinity.
     */
    static const struct {
        const char *data;
        double n, lower, upper;
        const char *model;
        size_t n_infinite;
        const char *infinite; /* the terms at minus infinity, as a formula */
    } cases[] = {
        {"UKdat", 11418.0, 9977.3, 13145.7, "PF:NCA, LA:NG, NG:GP, LA:PF, PF:GP, GO:GP, NG:GO", 0,
         NULL},
        {"UKdat_5", 11313.0, 9884.4, 13027.4, "LA:NG, NG:GP, PFNCA:GP, LA:PFNCA, GO:GP, NG:GO", 0,
         NULL},
        {"Ned", 111139.4, 92439.9, 133991.5, "O:Z, P:Z, I:Z, P:R, O:P, K:O, K:R, I:K", 2,
         "K:R, I:K"},
        {"Ned_5", 121521.6, 98675.4, 150138.9, "IO:Z, P:Z, P:R, IO:P, IO:K, K:R", 1, "K:R"},
        {"Australia", 6496.0, 2882.1, 15401.4, "B:C, B:D, A:B", 0, NULL},
        {"Korea", 268.8, 202.5, 390.2, "b:c", 0, NULL},
        {"Kosovo", 14341.7, 12541.3, 16540.2, "ABA:OSCE, OSCE:HRW, EXH:OSCE, EXH:ABA, EXH:HRW", 0,
         NULL},
        {"HIV_Rome", 11124.6, 9519.5, 13067.5, "main", 0, NULL},
        {"Lesbian_Allegheny", 5350.5, 4838.6, 5961.2, "A:D, C:D, B:D, B:C", 0, NULL},
        {"Artificial_3", 539.1, 278.7, 1170.9, "main", 0, NULL},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const rp_capture_table *tab = dataset(cases[i].data);
        rp_mse_result *res = estimate_ok(tab, NULL);
        assert_int_equal(res->method, RP_MSE_METHOD_STEPWISE);
        assert_close(res->estimate, cases[i].n, RTOL_POINT, 0.0);
        assert_close(res->fit.estimate, res->estimate, 1e-12, 0.0);
        assert_close(res->ci_lower, cases[i].lower, RTOL_INTERVAL, 0.0);
        assert_close(res->ci_upper, cases[i].upper, RTOL_INTERVAL, 0.0);
        assert_true(res->fit.observed == rp_capture_table_observed(tab));
        assert_model(&res->model, tab, cases[i].model);
        /* the chosen model comes first in `ranked` */
        assert_true(res->n_ranked >= 1);
        assert_model(&res->ranked[0].model, tab, cases[i].model);

        assert_int_equal(res->fit.n_infinite, cases[i].n_infinite);
        if (cases[i].infinite) {
            rp_mse_model inf = parse_ok(tab, cases[i].infinite);
            assert_int_equal(inf.n_terms, cases[i].n_infinite);
            for (size_t t = 0; t < inf.n_terms; t++) {
                bool found = false;
                for (size_t j = 0; j < res->fit.n_infinite; j++)
                    found = found || res->fit.infinite[j] == inf.terms[t];
                assert_true(found);
            }
            /* a note names the non-overlapping pairs */
            bool noted = false;
            for (size_t j = 0; j < res->n_notes; j++)
                noted = noted || strstr(res->notes[j], "non-overlapping") != NULL;
            assert_true(noted);
        }
        rp_mse_result_free(res);
    }
}

/* ==== 2. main effects ==== */

static void mse_estimate__main_effects_match_sparsemse(void **state)
{
    (void)state;

    /* SparseMSE 2.0.1 estimatepopulation.0(zdat, method = "main"): shared data README. */
    static const struct {
        const char *data;
        double n;
    } cases[] = {
        {"UKdat", 12214.0}, {"UKdat_5", 13444.1},          {"Ned", 52823.5},
        {"Kosovo", 7394.6}, {"Lesbian_Allegheny", 3738.5}, {"Korea", 142.0},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const rp_capture_table *tab = dataset(cases[i].data);
        rp_mse_model main_effects = parse_ok(tab, "main");
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_FIXED;
        opts.model = &main_effects;
        opts.profile = false;
        rp_mse_result *res = estimate_ok(tab, &opts);
        assert_close(res->estimate, cases[i].n, RTOL_EXACT, ATOL_PRINTED);
        assert_int_equal(res->model.n_terms, 0);
        assert_int_equal(res->fit.n_params, 1 + tab->n_lists);
        assert_int_equal(res->fit.df, ((size_t)1 << tab->n_lists) - 2 - tab->n_lists);
        assert_true(isnan(res->profile_lower) && isnan(res->profile_upper));
        assert_false(res->has_alternative); /* fixed models run no alternative */
        rp_mse_result_free(res);
    }
}

/* ==== 3. profile likelihood (Rcapture) ==== */

static void mse_estimate__profile_interval_matches_rcapture(void **state)
{
    (void)state;

    /*
     * Rcapture 1.4-4 closedpCI.t(m = "Mt"): profile-likelihood 95% intervals for the
     * independence model (shared data README). Our likelihood uses lgamma where Rcapture
     * uses Stirling's form for N > 100, hence the interval tolerance.
     */
    static const struct {
        const char *data;
        double lower, upper;
    } cases[] = {
        {"UKdat", 10983.9, 13648.2},
        {"Kosovo", 7147.7, 7656.2},
        {"HIV_Rome", 9531.7, 13114.1},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const rp_capture_table *tab = dataset(cases[i].data);
        rp_mse_model main_effects = parse_ok(tab, "main");
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_FIXED;
        opts.model = &main_effects;
        rp_mse_result *res = estimate_ok(tab, &opts);
        assert_close(res->profile_lower, cases[i].lower, RTOL_INTERVAL, 0.0);
        assert_close(res->profile_upper, cases[i].upper, RTOL_INTERVAL, 0.0);
        assert_true(res->profile_lower < res->estimate && res->estimate < res->profile_upper);
        rp_mse_result_free(res);
    }
}

static void mse_estimate__ukdat_bic_search_matches_rcapture(void **state)
{
    (void)state;
    /*
     * Rcapture 1.4-4 closedpMS.t(UKdat, maxorder = 2): the best-BIC model of all 32,768
     * two-way hierarchical models, [12,13,25,35,36,45], N 12,349.6, profile interval
     * 10,868.2 - 14,142.5 (shared data README). Its N is the Poisson estimate
     * n + exp(b0), which the log-linear fit reproduces to the printed digit.
     */
    const rp_capture_table *tab = dataset("UKdat");
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.method = RP_MSE_METHOD_BIC;
    rp_mse_result *res = estimate_ok(tab, &opts);
    char buf[256];
    assert_string_equal(
        rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)),
        "[12,13,25,35,36,45]");
    assert_int_equal(res->n_models, 32768);
    assert_close(res->estimate, 12349.6, RTOL_EXACT, ATOL_PRINTED);
    assert_close(res->profile_lower, 10868.2, RTOL_INTERVAL, 0.0);
    assert_close(res->profile_upper, 14142.5, RTOL_INTERVAL, 0.0);
    /* ranked by BIC, best first */
    assert_true(res->n_ranked == opts.n_runners_up + 1);
    assert_close(res->ranked[0].criterion, res->fit.bic, 1e-12, 0.0);
    for (size_t i = 1; i < res->n_ranked; i++)
        assert_true(res->ranked[i - 1].criterion <= res->ranked[i].criterion);
    /* a search also reports the stepwise choice (SparseMSE 11,418.0, test 1) */
    assert_true(res->has_alternative);
    assert_int_equal(res->alternative_method, RP_MSE_METHOD_STEPWISE);
    assert_close(res->alternative.fit.estimate, 11418.0, RTOL_POINT, 0.0);
    rp_mse_result_free(res);
}

/* ==== 4. BIC (MultipleSystemsEstimation) ==== */

static void mse_estimate__bic_matches_multiple_systems_estimation(void **state)
{
    (void)state;

    /*
     * MultipleSystemsEstimation 1.2.0 estimate_population(zdat, method = "bic"): shared
     * data README. Korea's total is 157.16667 in the package's own example
     * (docs/reference/estimate_population_bic.md), so it gets a tight tolerance. The
     * catalogue sizes (docs/notes-peers.md 1.3): 8 for 3 lists, 113 for 4, 6212 for 5.
     */
    static const struct {
        const char *data;
        double n, rtol;
        const char *model;
        size_t n_models;
    } cases[] = {
        {"Korea", 157.16667, 1e-7, "[12,23]", 8},
        {"Kosovo", 10356.5, RTOL_EXACT, "[123,14,34]", 113},
        {"UKdat_5", 25311.3, RTOL_EXACT, "[123,25,34]", 6212},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const rp_capture_table *tab = dataset(cases[i].data);
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_BIC;
        opts.profile = false;
        rp_mse_result *res = estimate_ok(tab, &opts);
        char buf[256];
        assert_string_equal(
            rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)),
            cases[i].model);
        assert_close(res->estimate, cases[i].n, cases[i].rtol, ATOL_PRINTED);
        assert_int_equal(res->n_models, cases[i].n_models);
        /* the stepwise choice is reported alongside (SparseMSE values, test 1) */
        assert_true(res->has_alternative);
        assert_int_equal(res->alternative_method, RP_MSE_METHOD_STEPWISE);
        rp_mse_result_free(res);
    }

    /* and the other way round: a stepwise run on 5 lists reports the BIC choice */
    const rp_capture_table *uk5 = dataset("UKdat_5");
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.profile = false;
    rp_mse_result *res = estimate_ok(uk5, &opts);
    assert_true(res->has_alternative);
    assert_int_equal(res->alternative_method, RP_MSE_METHOD_BIC);
    assert_model(&res->alternative.model, uk5, "[123,25,34]");
    assert_close(res->alternative.fit.estimate, 25311.3, RTOL_EXACT, ATOL_PRINTED);
    rp_mse_result_free(res);
}

/* ==== 5. existence within searches ==== */

static void mse_estimate__bic_excludes_artificial_3_models(void **state)
{
    (void)state;

    /*
     * Chan, Silverman & Vincent (2021) Table 2: of the 8 models, AB, AB+AC, AB+BC (no MLE)
     * and AB+AC+BC (not identifiable) must be refused; Rcapture, which has no check, picks
     * [12,3] and reports 1.4e13 (shared data README).
     */
    static const struct {
        const char *spec;
        rp_mse_existence verdict;
    } refused[] = {
        {"A:B", RP_MSE_NO_MLE},
        {"A:B + A:C", RP_MSE_NO_MLE},
        {"A:B + B:C", RP_MSE_NO_MLE},
        {"A:B + A:C + B:C", RP_MSE_NOT_IDENTIFIABLE},
    };

    const rp_capture_table *tab = dataset("Artificial_3");
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.method = RP_MSE_METHOD_BIC;
    rp_mse_result *res = estimate_ok(tab, &opts);
    assert_int_equal(res->n_models, 8);
    assert_int_equal(res->n_excluded_total, 4);
    assert_int_equal(res->n_excluded, 4);
    for (size_t i = 0; i < N_ELEMS(refused); i++) {
        rp_mse_model m = parse_ok(tab, refused[i].spec);
        size_t hits = 0;
        for (size_t j = 0; j < res->n_excluded; j++) {
            const rp_mse_model *x = &res->excluded[j].model;
            if (x->n_terms == m.n_terms &&
                memcmp(x->terms, m.terms, m.n_terms * sizeof(m.terms[0])) == 0) {
                hits++;
                assert_int_equal(res->excluded[j].existence, refused[i].verdict);
            }
        }
        if (hits != 1)
            print_error("'%s' listed %zu times among the excluded\n", refused[i].spec, hits);
        assert_int_equal(hits, 1);
    }
    /* the chosen model is main effects, N 539.1 (SparseMSE, test 1) */
    assert_int_equal(res->model.n_terms, 0);
    assert_close(res->estimate, 539.1, RTOL_EXACT, ATOL_PRINTED);

    /* max_excluded caps the list, not the count */
    opts.max_excluded = 1;
    rp_mse_result_free(res);
    res = estimate_ok(tab, &opts);
    assert_int_equal(res->n_excluded_total, 4);
    assert_int_equal(res->n_excluded, 1);
    rp_mse_result_free(res);
}

static void mse_estimate__refuses_lists_without_overlap(void **state)
{
    (void)state;
    /* tests/fixtures/mse/hand/no_overlap.csv: three lists, nobody on two of them */
    rp_capture_set *set = read_fixture("mse/hand/no_overlap.csv", NULL);
    const rp_capture_table *tab = set->total;
    rp_mse_model main_effects = parse_ok(tab, "main");
    rp_mse_existence e;
    RP_TRY(rp_mse_check_existence(&e, tab, &main_effects, NULL, NULL));
    assert_int_equal(e, RP_MSE_NO_MLE);

    static const struct {
        rp_mse_method method;
        const char *needle;
    } cases[] = {
        {RP_MSE_METHOD_STEPWISE, "main-effects model is refused"},
        {RP_MSE_METHOD_BIC, "no model"},
        {RP_MSE_METHOD_AVERAGE, "no model"},
        {RP_MSE_METHOD_FIXED, "refused"},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = cases[i].method;
        opts.model = &main_effects;
        rp_mse_result *res = (rp_mse_result *)&res;
        rp_error err = RP_ERROR_INIT;
        assert_rp_status(rp_mse_estimate(&res, tab, &opts, &err), RP_EDOM, &err);
        assert_null(res);
        if (strstr(err.msg, cases[i].needle) == NULL)
            print_error("%s: %s\n", rp_mse_method_str(cases[i].method), err.msg);
        assert_non_null(strstr(err.msg, cases[i].needle));
    }
    rp_capture_set_free(set);
}

/* ==== 6. closed forms by hand ==== */

static void mse_estimate__two_lists_give_lincoln_petersen(void **state)
{
    (void)state;

    /*
     * Two lists, main effects (saturated, df 0): N = n1 n2 / m (Lincoln-Petersen), and
     * Chapman's N = (n1 + 1)(n2 + 1)/(m + 1) - 1 with variance
     * (n1 + 1)(n2 + 1)(n1 - m)(n2 - m) / ((m + 1)^2 (m + 2)) (Seber 1982, eqs 3.7-3.8).
     */
    static const struct {
        double n1, n2, m;
    } cases[] = {
        {100, 80, 20}, {57, 113, 9}, {1234, 567, 89}, {3, 5, 1}, {4096, 3001, 2999}, {7, 7, 6},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        double n1 = cases[i].n1, n2 = cases[i].n2, m = cases[i].m;
        const double counts[] = {n1 - m, n2 - m, m};
        rp_capture_table *tab = hand_table(2, counts);
        double lp = n1 * n2 / m;
        double chapman = (n1 + 1) * (n2 + 1) / (m + 1) - 1;
        double var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) * (m + 1) * (m + 2));

        rp_mse_model main_effects = parse_ok(tab, "main");
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_FIXED;
        opts.model = &main_effects;
        rp_mse_result *res = estimate_ok(tab, &opts);
        assert_close(res->estimate, lp, 1e-9, 0.0);
        assert_int_equal(res->fit.df, 0);
        assert_close(res->chapman, chapman, 1e-12, 0.0);
        assert_close(res->chapman_se, sqrt(var), 1e-12, 0.0);
        rp_mse_result_free(res);

        /* stepwise has nothing to add with two lists */
        res = estimate_ok(tab, NULL);
        assert_int_equal(res->model.n_terms, 0);
        assert_close(res->estimate, lp, 1e-9, 0.0);
        rp_mse_result_free(res);

        double n = NAN, se = NAN;
        RP_TRY(rp_mse_chapman(&n, &se, n1, n2, m, NULL));
        assert_close(n, chapman, 1e-12, 0.0);
        assert_close(se, sqrt(var), 1e-12, 0.0);
        rp_capture_table_free(tab);
    }

    /* three or more lists: no Chapman */
    rp_mse_result *res = estimate_ok(dataset("Korea"), NULL);
    assert_true(isnan(res->chapman) && isnan(res->chapman_se));
    rp_mse_result_free(res);

    double n, se;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mse_chapman(&n, &se, 10, 20, 11, &err), RP_EINVAL, &err);
    assert_rp_status(rp_mse_chapman(&n, &se, 10, 20, -1, &err), RP_EINVAL, &err);
    assert_rp_status(rp_mse_chapman(&n, &se, -3, 20, 0, &err), RP_EINVAL, &err);
    assert_rp_status(rp_mse_chapman(&n, &se, NAN, 20, 0, &err), RP_EINVAL, &err);
}

static void mse_estimate__no_three_way_model_has_closed_form(void **state)
{
    (void)state;

    /*
     * Three lists with all two-way terms: the only constraint is a zero three-way
     * interaction, i.e. m000 m110 m101 m011 = m100 m010 m001 m111, and the fit is exact
     * on the 7 observed cells, so dark = n100 n010 n001 n111 / (n110 n101 n011)
     * (Bishop, Fienberg & Holland 1975, sec. 6.4). counts[] is cells A, B, AB, C, AC,
     * BC, ABC.
     */
    static const struct {
        double c[7];
    } cases[] = {
        {{40, 30, 6, 20, 5, 4, 2}}, {{113, 97, 21, 88, 17, 13, 7}},     {{5, 9, 3, 14, 2, 6, 1}},
        {{1000, 1, 1, 1, 1, 1, 1}}, {{271, 828, 182, 845, 90, 45, 23}}, {{3, 1, 4, 1, 5, 9, 2}},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const double *c = cases[i].c;
        rp_capture_table *tab = hand_table(3, c);
        double dark = c[0] * c[1] * c[3] * c[6] / (c[2] * c[4] * c[5]);
        rp_mse_model m = parse_ok(tab, "A*B + A*C + B*C");
        assert_int_equal(m.n_terms, 3);

        rp_mse_fit f;
        rp_error err = RP_ERROR_INIT;
        assert_rp_ok(rp_mse_fit_model(&f, tab, &m, NULL, NULL, &err), &err);
        assert_close(f.dark, dark, 1e-8, 0.0);
        assert_int_equal(f.df, 0);
        assert_close(f.deviance, 0.0, 0.0, 1e-8);

        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_FIXED;
        opts.model = &m;
        opts.profile = false;
        rp_mse_result *res = estimate_ok(tab, &opts);
        assert_close(res->estimate - res->fit.observed, dark, 1e-8, 0.0);
        /* a saturated choice is flagged */
        bool noted = false;
        for (size_t j = 0; j < res->n_notes; j++)
            noted = noted || strstr(res->notes[j], "saturated") != NULL;
        assert_true(noted);
        rp_mse_result_free(res);
        rp_capture_table_free(tab);
    }
}

static void mse_chao_lower_bound__matches_hand_values(void **state)
{
    (void)state;
    /*
     * Rcapture's Mh Chao (LB) form n + (K - 1) f1^2 / (2 K f2), and the bias-corrected
     * n + (K - 1) f1 (f1 - 1) / (2 K (f2 + 1)) when f2 = 0 (docs/notes-peers.md 4).
     * Korea: n 123, f1 = 5 + 5 + 41 = 51, f2 = 54 + 6 = 60 -> 123 + 2 * 51^2 / 360.
     * Artificial_3: n 96, f1 90, f2 6 -> 96 + 2 * 8100 / 36 = 546.
     * Kosovo: computed from its cells below.
     */
    assert_close(rp_mse_chao_lower_bound(dataset("Korea")), 123.0 + 2.0 * 51 * 51 / 360.0, 1e-12,
                 0.0);
    assert_close(rp_mse_chao_lower_bound(dataset("Artificial_3")), 546.0, 1e-12, 0.0);

    const rp_capture_table *kos = dataset("Kosovo");
    double f1 = 0, f2 = 0, n = 0;
    for (size_t w = 1; w < 16; w++) {
        int k = rp_mse__popcount((uint32_t)w);
        n += kos->counts[w];
        f1 += k == 1 ? kos->counts[w] : 0.0;
        f2 += k == 2 ? kos->counts[w] : 0.0;
    }
    assert_true(n == 4400.0);
    assert_close(rp_mse_chao_lower_bound(kos), n + 3.0 * f1 * f1 / (8.0 * f2), 1e-12, 0.0);

    /* f2 = 0: A 10, B 7, ABC 2 -> f1 17, n 19: 19 + 2 * 17 * 16 / (6 * 1) */
    const double counts[] = {10, 7, 0, 0, 0, 0, 2};
    rp_capture_table *tab = hand_table(3, counts);
    assert_close(rp_mse_chao_lower_bound(tab), 19.0 + 2.0 * 17 * 16 / 6.0, 1e-12, 0.0);
    rp_capture_table_free(tab);

    /* the result carries it */
    rp_mse_result *res = estimate_ok(dataset("Korea"), NULL);
    assert_close(res->chao_lower_bound, 123.0 + 2.0 * 51 * 51 / 360.0, 1e-12, 0.0);
    rp_mse_result_free(res);
}

/* ==== 8. BCa bootstrap ==== */

static rp_mse_result *bootstrap_threads(
    const char *data, rp_mse_method method, size_t n_boot, uint64_t seed, size_t n_threads)
{
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.n_threads = n_threads;
    opts.method = method;
    opts.n_boot = n_boot;
    opts.seed = seed;
    opts.profile = false;
    opts.n_runners_up = 0;
    rp_mse_result *res = estimate_ok(dataset(data), &opts);
    assert_int_equal(res->n_boot, n_boot);
    assert_true(res->bca_lower < res->estimate && res->estimate < res->bca_upper);
    assert_true(res->bca_lower < res->boot_median && res->boot_median < res->bca_upper);
    return res;
}

static rp_mse_result *
bootstrap(const char *data, rp_mse_method method, size_t n_boot, uint64_t seed)
{
    return bootstrap_threads(data, method, n_boot, seed, 0);
}

static void mse_bootstrap__reproducible_by_seed(void **state)
{
    (void)state;
    rp_mse_result *a = bootstrap("Korea", RP_MSE_METHOD_BIC, 200, 1234);
    rp_mse_result *b = bootstrap("Korea", RP_MSE_METHOD_BIC, 200, 1234);
    rp_mse_result *c = bootstrap("Korea", RP_MSE_METHOD_BIC, 200, 99);
    /* the same seed replays the same replicates: bit-identical, hence == */
    assert_true(a->bca_lower == b->bca_lower && a->bca_upper == b->bca_upper);
    assert_true(a->boot_median == b->boot_median);
    assert_true(a->bca_lower != c->bca_lower || a->bca_upper != c->bca_upper);
    /* the point estimate does not depend on the bootstrap */
    assert_true(a->estimate == c->estimate);
    rp_mse_result_free(a);
    rp_mse_result_free(b);
    rp_mse_result_free(c);

    /* replicate b draws from its own stream: the thread count changes nothing */
    a = bootstrap_threads("UKdat_5", RP_MSE_METHOD_STEPWISE, 100, 1234, 1);
    b = bootstrap_threads("UKdat_5", RP_MSE_METHOD_STEPWISE, 100, 1234, 3);
    assert_true(a->bca_lower == b->bca_lower && a->bca_upper == b->bca_upper);
    assert_true(a->boot_median == b->boot_median);
    rp_mse_result_free(a);
    rp_mse_result_free(b);

    /* no replicates: no interval */
    rp_mse_result *res = estimate_ok(dataset("Korea"), NULL);
    assert_true(isnan(res->bca_lower) && isnan(res->bca_upper) && isnan(res->boot_median));
    assert_int_equal(res->n_boot, 0);
    rp_mse_result_free(res);
}

/*
 * Against the peers' published BCa intervals (shared data README), within Monte Carlo
 * error: both ends are draws, so their difference has sd sqrt(2) * sd, and we allow
 * 4 sqrt(2) sd. The sd of each end was measured with an exploratory program (not part of
 * the tests) that ran rp_mse_estimate with 1000 replicates and seeds 1234, 1235, ...
 * (bootstrap with one random stream per replicate, commit fcd5d63):
 *
 *                      10 seeds             100 seeds            100-seed means
 *   Korea, bic:        lower 0.52, upper 12.9;  lower 0.71, upper 10.7   (128.9, 360.3)
 *   UKdat_5, stepwise: lower 131,  upper 532;   lower 216,  upper 486    (9215, 14994)
 *   Kosovo, bic:       lower 196,  upper 353;   lower 152,  upper 349    (6942, 18198)
 *
 * The 100-seed values are used.
 */
#define MC_TOL(sd) (4.0 * 1.4142135623730951 * (sd))

static void mse_bootstrap__korea_bic_matches_multiple_systems_estimation(void **state)
{
    (void)state;
    /* MultipleSystemsEstimation 1.2.0 estimate_population(Korea, method = "bic",
     * nboot = 1000), ntop all 8: BCa 128.3 - 349.7; Silverman, Chan & Vincent (2024)
     * Table 3 publish 128 - 349. */
    rp_mse_result *res = bootstrap("Korea", RP_MSE_METHOD_BIC, 1000, 1234);
    assert_close(res->bca_lower, 128.3, 0.0, MC_TOL(0.71));
    assert_close(res->bca_upper, 349.7, 0.0, MC_TOL(10.7));
    rp_mse_result_free(res);
}

static void mse_bootstrap__ukdat5_stepwise_matches_sparsemse(void **state)
{
    (void)state;
    /* SparseMSE 2.0.1 estimatepopulation(UKdat_5, nboot = 1000): BCa 8,785 - 14,701 */
    rp_mse_result *res = bootstrap("UKdat_5", RP_MSE_METHOD_STEPWISE, 1000, 1234);
    assert_close(res->bca_lower, 8785.0, 0.0, MC_TOL(216.0));
    assert_close(res->bca_upper, 14701.0, 0.0, MC_TOL(486.0));
    rp_mse_result_free(res);
}

static void mse_bootstrap__kosovo_bic_matches_multiple_systems_estimation(void **state)
{
    (void)state;
    /* MultipleSystemsEstimation 1.2.0, method = "bic", ntop 20: BCa 6,947 - 18,010 */
    rp_mse_result *res = bootstrap("Kosovo", RP_MSE_METHOD_BIC, 1000, 1234);
    assert_close(res->bca_lower, 6947.0, 0.0, MC_TOL(152.0));
    assert_close(res->bca_upper, 18010.0, 0.0, MC_TOL(349.0));
    rp_mse_result_free(res);
}

/* ==== 10. rejected options ==== */

static void mse_estimate__rejects_bad_options(void **state)
{
    (void)state;
    const rp_capture_table *korea = dataset("Korea");
    rp_mse_model m = parse_ok(korea, "b:c");

    static const struct {
        const char *what;
        unsigned version;
        double ci_level, pthresh;
        int max_order, max_iter;
        double tol;
        bool fixed_without_model;
        const char *needle;
    } cases[] = {
        {"ci 0", 1, 0.0, 0.02, 0, 100, 1e-10, false, "confidence level"},
        {"ci 1", 1, 1.0, 0.02, 0, 100, 1e-10, false, "confidence level"},
        {"ci 95", 1, 95.0, 0.02, 0, 100, 1e-10, false, "confidence level"},
        {"ci -0.5", 1, -0.5, 0.02, 0, 100, 1e-10, false, "confidence level"},
        {"ci nan", 1, NAN, 0.02, 0, 100, 1e-10, false, "confidence level"},
        {"pthresh -0.01", 1, 0.95, -0.01, 0, 100, 1e-10, false, "threshold"},
        {"pthresh 1.5", 1, 0.95, 1.5, 0, 100, 1e-10, false, "threshold"},
        {"pthresh nan", 1, 0.95, NAN, 0, 100, 1e-10, false, "threshold"},
        {"fixed, no model", 1, 0.95, 0.02, 0, 100, 1e-10, true, "needs a model"},
        {"version", 99, 0.95, 0.02, 0, 100, 1e-10, false, "version"},
        {"max_order -1", 1, 0.95, 0.02, -1, 100, 1e-10, false, "highest order"},
        {"max_order K", 1, 0.95, 0.02, 3, 100, 1e-10, false, "highest order"},
        {"max_iter 0", 1, 0.95, 0.02, 0, 0, 1e-10, false, "IRLS"},
        {"tol 0", 1, 0.95, 0.02, 0, 100, 0.0, false, "IRLS"},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.version = cases[i].version;
        opts.ci_level = cases[i].ci_level;
        opts.pthresh = cases[i].pthresh;
        opts.max_order = cases[i].max_order;
        opts.fit.max_iter = cases[i].max_iter;
        opts.fit.tol = cases[i].tol;
        if (cases[i].fixed_without_model)
            opts.method = RP_MSE_METHOD_FIXED;
        rp_mse_result *res = (rp_mse_result *)&res;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mse_estimate(&res, korea, &opts, &err);
        if (rc != RP_EINVAL || strstr(err.msg, cases[i].needle) == NULL)
            print_error("case '%s': rc %d: %s\n", cases[i].what, rc, err.msg);
        assert_rp_status(rc, RP_EINVAL, &err);
        assert_null(res);
        assert_non_null(strstr(err.msg, cases[i].needle));
    }

    /* a fixed model that fails the existence check is refused, and says why */
    const rp_capture_table *art = dataset("Artificial_3");
    rp_mse_model ab = parse_ok(art, "A:B");
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.method = RP_MSE_METHOD_FIXED;
    opts.model = &ab;
    rp_mse_result *res = (rp_mse_result *)&res;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mse_estimate(&res, art, &opts, &err), RP_EDOM, &err);
    assert_null(res);
    assert_non_null(strstr(err.msg, "refused"));
    assert_non_null(strstr(err.msg, "A:B"));
    assert_non_null(strstr(err.msg, "does not exist"));
    rp_mse_model all = parse_ok(art, "A*B + A*C + B*C");
    opts.model = &all;
    assert_rp_status(rp_mse_estimate(&res, art, &opts, &err), RP_EDOM, &err);
    assert_non_null(strstr(err.msg, "not identifiable"));

    /* a fixed model that passes is fine, and m is such a model on Korea */
    opts.model = &m;
    res = estimate_ok(korea, &opts);
    assert_close(res->estimate, 268.8, RTOL_EXACT, ATOL_PRINTED); /* SparseMSE stepwise */
    rp_mse_result_free(res);

    /* nobody observed */
    const double zeros[7] = {0};
    rp_capture_table *empty = hand_table(3, zeros);
    res = (rp_mse_result *)&res;
    assert_rp_status(rp_mse_estimate(&res, empty, NULL, &err), RP_EINVAL, &err);
    assert_null(res);
    assert_non_null(strstr(err.msg, "empty"));
    rp_capture_table_free(empty);
}

typedef struct sweep_case {
    const rp_capture_table *tab;
    rp_mse_opts opts;
    rp_mse_result *res;
} sweep_case;

static int sweep_run(void *payload)
{
    sweep_case *c = payload;
    rp_error err = RP_ERROR_INIT;
    c->res = (rp_mse_result *)c; /* must come back NULL on failure */
    int rc = rp_mse_estimate(&c->res, c->tab, &c->opts, &err);
    if (rc != RP_OK) {
        assert_null(c->res);
        assert_int_equal(err.code, rc);
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    sweep_case *c = payload;
    rp_mse_result_free(c->res);
    c->res = NULL;
}

static void mse_estimate__alloc_failure_sweep(void **state)
{
    (void)state;
    /* Korea: stepwise with profile, bootstrap and the BIC alternative; BIC; averaging */
    static const rp_mse_method methods[] = {RP_MSE_METHOD_STEPWISE, RP_MSE_METHOD_BIC,
                                            RP_MSE_METHOD_AVERAGE};
    for (size_t i = 0; i < N_ELEMS(methods); i++) {
        sweep_case c;
        memset(&c, 0, sizeof(c));
        c.tab = dataset("Korea");
        rp_mse_opts defaults = RP_MSE_OPTS_INIT;
        c.opts = defaults;
        c.opts.method = methods[i];
        c.opts.n_boot = 20;
        unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &c, 100000);
        assert_true(n > 1); /* failures were injected */
    }
}

/* ==== 11. averaging and strata ==== */

static void mse_estimate__average_is_weighted_mean(void **state)
{
    (void)state;
    static const char *const names[] = {"Korea", "Kosovo", "Lesbian_Allegheny"};
    for (size_t d = 0; d < N_ELEMS(names); d++) {
        const rp_capture_table *tab = dataset(names[d]);
        /* every fitted model ranked (catalogue of 113 at most): weights sum to 1 */
        rp_mse_opts opts = RP_MSE_OPTS_INIT;
        opts.method = RP_MSE_METHOD_AVERAGE;
        opts.n_runners_up = 200;
        rp_mse_result *res = estimate_ok(tab, &opts);
        assert_int_equal(res->n_ranked, res->n_models - res->n_excluded_total);
        double sw = 0.0, swn = 0.0;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < res->n_ranked; i++) {
            const rp_mse_candidate *c = &res->ranked[i];
            assert_true(c->weight > 0.0 && c->weight <= 1.0);
            if (i > 0) {
                assert_true(res->ranked[i - 1].criterion <= c->criterion);
                assert_true(res->ranked[i - 1].weight >= c->weight);
            }
            assert_close(c->criterion, c->fit.bic, 1e-12, 0.0); /* BIC weights by default */
            sw += c->weight;
            swn += c->weight * c->fit.estimate;
            lo = fmin(lo, c->fit.estimate);
            hi = fmax(hi, c->fit.estimate);
        }
        assert_close(sw, 1.0, 1e-9, 0.0);
        assert_close(res->estimate, swn, 1e-9, 0.0);
        assert_true(lo <= res->estimate && res->estimate <= hi);
        assert_true(res->ci_lower < res->estimate && res->estimate < res->ci_upper);
        /* the best-weighted model is the one reported */
        assert_close(res->fit.bic, res->ranked[0].criterion, 1e-12, 0.0);
        assert_true(isnan(res->profile_lower)); /* no profile for an average */
        rp_mse_result_free(res);

        /* with the default few runners-up the ranked weights sum to at most 1 */
        rp_mse_opts few = RP_MSE_OPTS_INIT;
        few.method = RP_MSE_METHOD_AVERAGE;
        res = estimate_ok(tab, &few);
        assert_true(res->n_ranked <= few.n_runners_up + 1);
        sw = 0.0;
        for (size_t i = 0; i < res->n_ranked; i++)
            sw += res->ranked[i].weight;
        assert_true(sw <= 1.0 + 1e-12);
        assert_close(res->estimate, swn, 1e-9, 0.0); /* the same average */
        rp_mse_result_free(res);

        /* AIC weights rank by AIC */
        few.criterion = RP_MSE_CRITERION_AIC;
        res = estimate_ok(tab, &few);
        assert_close(res->ranked[0].criterion, res->ranked[0].fit.aic, 1e-12, 0.0);
        rp_mse_result_free(res);
    }

    /* method aic picks the AIC-best model */
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.method = RP_MSE_METHOD_AIC;
    rp_mse_result *res = estimate_ok(dataset("Kosovo"), &opts);
    assert_close(res->ranked[0].criterion, res->fit.aic, 1e-12, 0.0);
    for (size_t i = 1; i < res->n_ranked; i++)
        assert_true(res->ranked[i - 1].criterion <= res->ranked[i].criterion);
    rp_mse_result_free(res);
}

static void mse_strata_total__sums_strata(void **state)
{
    (void)state;
    /* tests/fixtures/mse/hand/strata_two.csv: two regions of a three-list table */
    static const char *const by[] = {"region"};
    rp_capture_read_opts ropts = RP_CAPTURE_READ_OPTS_INIT;
    ropts.by = by;
    ropts.n_by = 1;
    rp_capture_set *set = read_fixture("mse/hand/strata_two.csv", &ropts);
    assert_int_equal(set->n_strata, 2);
    rp_mse_result *res[2];
    double sum = 0.0, obs = 0.0, var = 0.0;
    for (size_t s = 0; s < 2; s++) {
        res[s] = estimate_ok(set->strata[s], NULL);
        sum += res[s]->estimate;
        obs += res[s]->fit.observed;
        double sd = res[s]->fit.dark * res[s]->fit.log_dark_se;
        var += sd * sd;
    }
    assert_true(obs == 350.0); /* 213 north + 137 south */

    double est = NAN, lower = NAN, upper = NAN;
    rp_mse_strata_total(&est, &lower, &upper, (const rp_mse_result *const *)res, 2, 0.95);
    assert_close(est, sum, 1e-12, 0.0);
    assert_true(lower < est && est < upper);
    /* by hand: normal on the log of the total dark figure, variance by the delta method */
    double dark = sum - obs;
    double sl = sqrt(log1p(var / (dark * dark)));
    assert_close(lower, obs + dark * exp(-1.959963984540054 * sl), 1e-9, 0.0);
    assert_close(upper, obs + dark * exp(1.959963984540054 * sl), 1e-9, 0.0);

    /* one stratum is its own total */
    rp_mse_strata_total(&est, &lower, &upper, (const rp_mse_result *const *)res, 1, 0.95);
    assert_close(est, res[0]->estimate, 1e-12, 0.0);
    rp_mse_result_free(res[0]);
    rp_mse_result_free(res[1]);
    rp_capture_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mse_estimate__stepwise_matches_sparsemse),
        cmocka_unit_test(mse_estimate__main_effects_match_sparsemse),
        cmocka_unit_test(mse_estimate__profile_interval_matches_rcapture),
        cmocka_unit_test(mse_estimate__ukdat_bic_search_matches_rcapture),
        cmocka_unit_test(mse_estimate__bic_matches_multiple_systems_estimation),
        cmocka_unit_test(mse_estimate__bic_excludes_artificial_3_models),
        cmocka_unit_test(mse_estimate__refuses_lists_without_overlap),
        cmocka_unit_test(mse_estimate__two_lists_give_lincoln_petersen),
        cmocka_unit_test(mse_estimate__no_three_way_model_has_closed_form),
        cmocka_unit_test(mse_chao_lower_bound__matches_hand_values),
        cmocka_unit_test(mse_bootstrap__reproducible_by_seed),
        cmocka_unit_test(mse_bootstrap__korea_bic_matches_multiple_systems_estimation),
        cmocka_unit_test(mse_bootstrap__ukdat5_stepwise_matches_sparsemse),
        cmocka_unit_test(mse_bootstrap__kosovo_bic_matches_multiple_systems_estimation),
        cmocka_unit_test(mse_estimate__rejects_bad_options),
        cmocka_unit_test(mse_estimate__alloc_failure_sweep),
        cmocka_unit_test(mse_estimate__average_is_weighted_mean),
        cmocka_unit_test(mse_strata_total__sums_strata),
    };
    return cmocka_run_group_tests_name("mse", tests, rp_test_mse_setup, rp_test_mse_teardown);
}
