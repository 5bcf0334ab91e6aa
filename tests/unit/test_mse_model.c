/*
 * Unit tests for MSE models and the existence check (src/mse/model.c, src/mse/fit.c): the
 * formula parser and printer, closure, the model catalogue of the searches, the
 * existence/identifiability verdicts of Artificial_3 (Chan, Silverman & Vincent 2021), and
 * the agreement of the fit-based existence certificate with the LP on every catalogue
 * model of the reference datasets.
 */
#include "mse/mse_int.h"
#include "rp_test.h"
#include "rp_test_mse.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

/* ==== helpers ==== */

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool models_equal(const rp_mse_model *a, const rp_mse_model *b)
{
    if (a->n_terms != b->n_terms)
        return false;
    for (size_t i = 0; i < a->n_terms; i++) {
        if (a->terms[i] != b->terms[i])
            return false;
    }
    return true;
}

/* ==== parser ==== */

static void mse_model_parse__accepts_all_notations(void **state)
{
    (void)state;

    /* UKdat lists LA NG PF GO GP NCA: LA:NG is 0x03, PF:NCA 0x24 */
    static const struct {
        const char *data;
        const char *spec;
        size_t n;
        uint32_t terms[8]; /* canonical: by order, then by lists in column order */
    } cases[] = {
        {"UKdat", "LA*NG + PF*NCA", 2, {0x03, 0x24}},
        {"UKdat", "LA:NG, PF:NCA", 2, {0x03, 0x24}},
        {"UKdat", "[12,36]", 2, {0x03, 0x24}},
        {"UKdat", "  PF:NCA ,LA*NG", 2, {0x03, 0x24}},
        {"UKdat", "NCA*PF+NG*LA+LA:NG", 2, {0x03, 0x24}}, /* order and repeats do not matter */
        {"UKdat", "LA:NG,\tPF:NCA", 2, {0x03, 0x24}},
        {"UKdat", "main", 0, {0}},
        {"UKdat", "", 0, {0}},
        {"UKdat", "   ", 0, {0}},
        {"UKdat", "[]", 0, {0}},
        {"UKdat", "[1,2,3,4,5,6]", 0, {0}},      /* main effects in bracket notation */
        {"UKdat", "[1.2,3.6]", 2, {0x03, 0x24}}, /* dotted form, needed from 10 lists */
        {"UKdat", "[ 3.6 , 12 ]", 2, {0x03, 0x24}},
        /* a three-way term brings its three two-way terms */
        {"UKdat", "LA*NG*PF", 4, {0x03, 0x05, 0x06, 0x07}},
        {"UKdat", "LA:NG:PF + GO:GP", 5, {0x03, 0x05, 0x06, 0x18, 0x07}},
        /* MultipleSystemsEstimation's Kosovo BIC model: EXH:ABA, EXH:OSCE, EXH:HRW,
         * ABA:OSCE, OSCE:HRW, EXH:ABA:OSCE */
        {"Kosovo", "[123,14,34]", 6, {0x03, 0x05, 0x09, 0x06, 0x0c, 0x07}},
        {"Kosovo", "EXH*ABA*OSCE + EXH:HRW + OSCE:HRW", 6, {0x03, 0x05, 0x09, 0x06, 0x0c, 0x07}},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        rp_mse_model m = parse_ok(dataset(cases[i].data), cases[i].spec);
        if (m.n_terms != cases[i].n)
            print_error("case %zu '%s': %zu terms\n", i, cases[i].spec, m.n_terms);
        assert_int_equal(m.n_terms, cases[i].n);
        for (size_t t = 0; t < m.n_terms; t++) {
            if (m.terms[t] != cases[i].terms[t])
                print_error("case %zu '%s': term %zu is %#x, expected %#x\n", i, cases[i].spec, t,
                            m.terms[t], cases[i].terms[t]);
            assert_int_equal(m.terms[t], cases[i].terms[t]);
        }
    }
}

static void mse_model_parse__rejects_bad_formulas(void **state)
{
    (void)state;

    static const struct {
        const char *data;
        const char *spec;
        int rc;
        long column; /* 0: not checked */
        const char *needle;
    } cases[] = {
        {"UKdat", "LA*XX", RP_EINVAL, 4, "'XX'"},
        {"UKdat", "la:ng", RP_EINVAL, 1, "'la'"}, /* names are case-sensitive */
        {"UKdat", "LA*NG +", RP_EPARSE, 8, "expected a list name"},
        {"UKdat", "LA*NG ^ PF", RP_EPARSE, 7, "expected"},
        {"UKdat", "LA**NG", RP_EPARSE, 4, "expected a list name"},
        {"UKdat", "LA NG", RP_EPARSE, 4, "expected"},
        {"UKdat", "LA", RP_EINVAL, 3, "two or more lists"},
        {"UKdat", "LA:NG + GP", RP_EINVAL, 11, "two or more lists"},
        {"UKdat", "[12,3x]", RP_EPARSE, 6, "list number"},
        {"UKdat", "[12,,3]", RP_EPARSE, 5, "empty term"},
        {"UKdat", "[12]x", RP_EPARSE, 5, "after ']'"},
        {"UKdat", "[12,36", RP_EPARSE, 7, "expected"},
        {"UKdat", "[12,7]", RP_EINVAL, 5, "list number 7"},
        {"UKdat", "[1.2,3.7]", RP_EINVAL, 8, "list number 7"},
        {"UKdat", "[1.x]", RP_EPARSE, 4, "expected a list number"},
        {"UKdat", "[1.2x]", RP_EPARSE, 5, "expected '.'"},
        {"UKdat", "[1.99999999999999999999]", RP_EPARSE, 0, "expected '.'"},
        /* the K-way term is never identifiable (README: main effects to K-1 way terms) */
        {"Korea", "b*c*d", RP_EINVAL, 0, "not identifiable"},
        {"Korea", "[123]", RP_EINVAL, 0, "not identifiable"},
        {"Kosovo", "EXH:ABA:OSCE:HRW", RP_EINVAL, 0, "4-way"},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        rp_mse_model m;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mse_model_parse(&m, dataset(cases[i].data), cases[i].spec, &err);
        if (rc != cases[i].rc || strstr(err.msg, cases[i].needle) == NULL ||
            (cases[i].column != 0 && err.column != cases[i].column))
            print_error("case %zu '%s': rc %d, column %ld: %s\n", i, cases[i].spec, rc, err.column,
                        err.msg);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(err.code, cases[i].rc);
        assert_non_null(strstr(err.msg, cases[i].needle));
        if (cases[i].column != 0) {
            assert_int_equal(err.line, 1);
            assert_int_equal(err.column, cases[i].column);
        }
    }
}

/* ==== printer ==== */

static void mse_model_format__writes_both_styles(void **state)
{
    (void)state;

    static const struct {
        const char *data;
        const char *spec;
        const char *names;
        const char *brackets;
    } cases[] = {
        {"UKdat", "LA*NG + PF*NCA", "LA:NG, PF:NCA", "[12,36]"},
        {"UKdat", "main", "main effects", "[]"},
        {"UKdat", "PF*NCA*LA", "LA:PF, LA:NCA, PF:NCA, LA:PF:NCA", "[136]"},
        /* MultipleSystemsEstimation prints maximal terms, highest order first */
        {"Kosovo", "[123,14,34]", "EXH:ABA, EXH:OSCE, EXH:HRW, ABA:OSCE, OSCE:HRW, EXH:ABA:OSCE",
         "[123,14,34]"},
        {"UKdat_5", "[123,25,34]", "LA:NG, LA:PFNCA, NG:PFNCA, NG:GP, PFNCA:GO, LA:NG:PFNCA",
         "[123,25,34]"},
        {"Korea", "c:d + b:c", "b:c, c:d", "[12,23]"},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const rp_capture_table *tab = dataset(cases[i].data);
        rp_mse_model m = parse_ok(tab, cases[i].spec);
        char buf[512];
        assert_string_equal(rp_mse_model_format(&m, tab, RP_MSE_STYLE_NAMES, buf, sizeof(buf)),
                            cases[i].names);
        assert_string_equal(rp_mse_model_format(&m, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)),
                            cases[i].brackets);
    }

    /* truncation keeps a terminated prefix; size 0 writes nothing */
    const rp_capture_table *uk = dataset("UKdat");
    rp_mse_model m = parse_ok(uk, "LA*NG + PF*NCA");
    char small[5];
    assert_string_equal(rp_mse_model_format(&m, uk, RP_MSE_STYLE_NAMES, small, sizeof(small)),
                        "LA:N");
    small[0] = 'x';
    assert_ptr_equal(rp_mse_model_format(&m, uk, RP_MSE_STYLE_NAMES, small, 0), small);
    assert_int_equal(small[0], 'x');

    char term[64];
    assert_string_equal(rp_mse_term_format(0x25, uk, term, sizeof(term)), "LA:PF:NCA");
    assert_string_equal(rp_mse_term_format(0x25, uk, term, 6), "LA:PF");
}

/* Every catalogue model survives printing and parsing in both styles. */
static void mse_model_format__round_trips_catalogue(void **state)
{
    (void)state;
    static const char *const names[] = {"Korea", "Kosovo", "UKdat_5"};
    for (size_t d = 0; d < N_ELEMS(names); d++) {
        const rp_capture_table *tab = dataset(names[d]);
        rp_mse_model_list cat;
        RP_TRY(
            rp_mse__catalogue(&cat, tab->n_lists, rp_mse__default_max_order(tab->n_lists), NULL));
        for (size_t k = 0; k < cat.n; k++) {
            char buf[1024];
            rp_mse_model back = parse_ok(
                tab, rp_mse_model_format(&cat.v[k], tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)));
            assert_true(models_equal(&back, &cat.v[k]));
            /* "main effects" is how the names style prints it, and is not a formula */
            if (cat.v[k].n_terms == 0)
                continue;
            back = parse_ok(
                tab, rp_mse_model_format(&cat.v[k], tab, RP_MSE_STYLE_NAMES, buf, sizeof(buf)));
            assert_true(models_equal(&back, &cat.v[k]));
        }
        rp_mse__model_list_release(&cat);
    }
}

/* From 10 lists on, bracket terms separate list numbers with dots: "[1.10.12,2.3]". */
static void mse_model_format__dotted_brackets_from_ten_lists(void **state)
{
    (void)state;
    static const char *const names[] = {"L1", "L2", "L3", "L4",  "L5",  "L6",
                                        "L7", "L8", "L9", "L10", "L11", "L12"};
    rp_capture_table *tab = NULL;
    RP_TRY(rp_capture_table_new(&tab, 12, names, NULL));
    rp_mse_model m = parse_ok(tab, "[1.10.12,2.3]");
    /* {1,10,12} brings its three pairs: 4 terms with {2,3} */
    assert_int_equal(m.n_terms, 5);
    rp_mse_model same = parse_ok(tab, "L1*L10*L12 + L2:L3");
    assert_true(models_equal(&m, &same));
    char buf[256];
    assert_string_equal(rp_mse_model_format(&m, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)),
                        "[1.10.12,2.3]");
    assert_string_equal(rp_mse_model_format(&m, tab, RP_MSE_STYLE_NAMES, buf, sizeof(buf)),
                        "L1:L10, L1:L12, L2:L3, L10:L12, L1:L10:L12");
    rp_mse_model main_effects = parse_ok(tab, "[]");
    assert_string_equal(
        rp_mse_model_format(&main_effects, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)), "[]");

    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mse_model_parse(&m, tab, "[1.13]", &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "list number 13"));
    assert_rp_status(rp_mse_model_parse(&m, tab, "[1.0]", &err), RP_EINVAL, &err);
    rp_capture_table_free(tab);
}

/* ==== closure ==== */

static void mse_model_close__adds_subterms_and_sorts(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_mse_model m;
    memset(&m, 0, sizeof(m));
    /* {0,1,2,3} and a repeated {2,4}, unsorted */
    m.terms[0] = 0x14;
    m.terms[1] = 0x0f;
    m.terms[2] = 0x14;
    m.n_terms = 3;
    assert_rp_ok(rp_mse_model_close(&m, &err), &err);
    /* 6 pairs of {0..3} plus {2,4}; 4 triples; the 4-way term: by order, then column order */
    static const uint32_t expected[] = {0x03, 0x05, 0x09, 0x06, 0x0a, 0x0c,
                                        0x14, 0x07, 0x0b, 0x0d, 0x0e, 0x0f};
    assert_int_equal(m.n_terms, N_ELEMS(expected));
    for (size_t i = 0; i < N_ELEMS(expected); i++)
        assert_int_equal(m.terms[i], expected[i]);

    /* closing twice changes nothing */
    rp_mse_model again = m;
    assert_rp_ok(rp_mse_model_close(&again, &err), &err);
    assert_true(models_equal(&again, &m));

    /* a 10-way term has 2^10 - 11 = 1013 sub-terms of two or more lists: too many */
    memset(&m, 0, sizeof(m));
    m.terms[0] = 0x3ff;
    m.n_terms = 1;
    assert_rp_status(rp_mse_model_close(&m, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "256"));
}

/* ==== catalogue ==== */

/* Encode a model on at most 6 lists as the set of its terms (term masks are < 64). */
static uint64_t model_key(const rp_mse_model *m)
{
    uint64_t k = 0;
    for (size_t i = 0; i < m->n_terms; i++)
        k |= (uint64_t)1 << m->terms[i];
    return k;
}

static int key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void mse_catalogue__counts_match_multiple_systems_estimation(void **state)
{
    (void)state;

    /*
     * MultipleSystemsEstimation 1.2.0 hiermodels (docs/notes-peers.md 1.3): 8 models for 3
     * lists (order <= 2), 113 for 4 (order <= 3, all but the saturated), 6212 for 5 (order
     * <= 3, documented), 2^15 = 32768 two-way models for 6 lists (Rcapture's UKdat search).
     */
    static const struct {
        size_t k;
        int max_order;
        size_t n;
    } cases[] = {
        {2, 2, 1}, {3, 2, 8}, {4, 3, 113}, {5, 3, 6212}, {6, 2, 32768}, {4, 2, 64}, {3, 1, 1},
    };

    assert_int_equal(rp_mse__default_max_order(3), 2);
    assert_int_equal(rp_mse__default_max_order(4), 3);
    assert_int_equal(rp_mse__default_max_order(5), 3);
    assert_int_equal(rp_mse__default_max_order(6), 2);

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        rp_mse_model_list cat;
        rp_error err = RP_ERROR_INIT;
        assert_rp_ok(rp_mse__catalogue(&cat, cases[i].k, cases[i].max_order, &err), &err);
        if (cat.n != cases[i].n)
            print_error("K=%zu order %d: %zu models\n", cases[i].k, cases[i].max_order, cat.n);
        assert_int_equal(cat.n, cases[i].n);
        uint64_t *keys = calloc(cat.n, sizeof(uint64_t));
        assert_non_null(keys);
        uint32_t all = (1u << cases[i].k) - 1u;
        for (size_t j = 0; j < cat.n; j++) {
            /* closed, canonical, no K-way term, no term above max_order */
            rp_mse_model closed = cat.v[j];
            assert_rp_ok(rp_mse_model_close(&closed, &err), &err);
            assert_true(models_equal(&closed, &cat.v[j]));
            for (size_t t = 0; t < cat.v[j].n_terms; t++) {
                assert_true(cat.v[j].terms[t] != all);
                assert_true(rp_mse__popcount(cat.v[j].terms[t]) <= cases[i].max_order);
            }
            keys[j] = model_key(&cat.v[j]);
        }
        /* every model once */
        qsort(keys, cat.n, sizeof(uint64_t), key_cmp);
        for (size_t j = 1; j < cat.n; j++)
            assert_true(keys[j] != keys[j - 1]);
        free(keys);
        rp_mse__model_list_release(&cat);
    }
}

/* ==== existence ==== */

static void mse_check_existence__artificial_3_verdicts(void **state)
{
    (void)state;

    /*
     * Chan, Silverman & Vincent (2021) JASA 116:1297, Table 2 (Artificial_3; A:C and B:C do
     * not overlap), as in the shared data README and SparseMSE checkident's examples: with
     * all three two-list effects the model is not identifiable; with AB alone, or AB with
     * one of AC and BC, the MLE does not exist; main effects, AC and/or BC pass.
     */
    static const struct {
        const char *spec;
        rp_mse_existence verdict;
    } cases[] = {
        {"main", RP_MSE_EXISTS},      {"A:C", RP_MSE_EXISTS},
        {"B:C", RP_MSE_EXISTS},       {"A:C + B:C", RP_MSE_EXISTS},
        {"A:B", RP_MSE_NO_MLE},       {"A:B + A:C", RP_MSE_NO_MLE},
        {"A:B + B:C", RP_MSE_NO_MLE}, {"A:B + A:C + B:C", RP_MSE_NOT_IDENTIFIABLE},
    };

    const rp_capture_table *tab = dataset("Artificial_3");
    rp_mse_workspace *ws = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mse_workspace_new(&ws, 3, &err), &err);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 1 answers from the verdict cache: the same answers */
        for (size_t i = 0; i < N_ELEMS(cases); i++) {
            rp_mse_model m = parse_ok(tab, cases[i].spec);
            rp_mse_existence e = (rp_mse_existence)-1;
            assert_rp_ok(rp_mse_check_existence(&e, tab, &m, ws, &err), &err);
            if (e != cases[i].verdict)
                print_error("'%s': %s\n", cases[i].spec, rp_mse_existence_str(e));
            assert_int_equal(e, cases[i].verdict);
            /* without a workspace (one is made) */
            e = (rp_mse_existence)-1;
            assert_rp_ok(rp_mse_check_existence(&e, tab, &m, NULL, &err), &err);
            assert_int_equal(e, cases[i].verdict);
        }
    }
    rp_mse_workspace_free(ws);

    assert_non_null(strstr(rp_mse_existence_str(RP_MSE_NO_MLE), "does not exist"));
    assert_non_null(strstr(rp_mse_existence_str(RP_MSE_NOT_IDENTIFIABLE), "identifiable"));
    assert_string_equal(rp_mse_existence_str(RP_MSE_EXISTS), "exists");
}

static void mse_fit_model__zero_margins_go_to_minus_infinity(void **state)
{
    (void)state;
    const rp_capture_table *tab = dataset("Artificial_3");
    rp_mse_fit f;
    rp_error err = RP_ERROR_INIT;

    /* A:C and B:C have zero margins: both at minus infinity, their cells removed */
    rp_mse_model m = parse_ok(tab, "A:C + B:C");
    assert_rp_ok(rp_mse_fit_model(&f, tab, &m, NULL, NULL, &err), &err);
    assert_int_equal(f.n_infinite, 2);
    assert_true((f.infinite[0] == 0x5 && f.infinite[1] == 0x6) ||
                (f.infinite[0] == 0x6 && f.infinite[1] == 0x5));
    assert_int_equal(f.n_params, 1 + 3 + 2); /* the -infinity terms are counted */
    assert_true(f.observed == 96.0);
    /*
     * By hand: cells AC, BC, ABC are removed; the cells left (A 40, B 30, AB 6, C 20) and
     * the parameters left (intercept, A, B, C) make a saturated fit, so the dark figure is
     * the Lincoln-Petersen one of the A-B table, 40 * 30 / 6 = 200.
     */
    assert_close(f.dark, 200.0, 1e-8, 0.0);
    assert_close(f.estimate, 296.0, 1e-8, 0.0);

    /* all three pairs: X'WX is singular */
    m = parse_ok(tab, "A*B + A*C + B*C");
    assert_rp_status(rp_mse_fit_model(&f, tab, &m, NULL, NULL, &err), RP_EDOM, &err);

    /* workspaces of 2 to 15 lists only */
    rp_mse_workspace *ws = (rp_mse_workspace *)&ws;
    assert_rp_status(rp_mse_workspace_new(&ws, 1, &err), RP_EINVAL, &err);
    assert_rp_status(rp_mse_workspace_new(&ws, RP_MSE_MAX_LISTS + 1, &err), RP_EINVAL, &err);
    rp_mse_workspace_free(NULL);
}

/*
 * Regression: a workspace made for 4 lists used with a 3-list table once read the verdict
 * cache key (cache_slot in src/mse/fit.c) from 16 cells of an 8-cell table before the
 * sizes were compared (a heap over-read under ASan). Both entry points now refuse it.
 */
static void mse_check_existence__rejects_workspace_of_other_size(void **state)
{
    (void)state;
    const rp_capture_table *tab = dataset("Artificial_3");
    rp_mse_model m = parse_ok(tab, "A:C");
    rp_mse_workspace *ws = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mse_workspace_new(&ws, 4, &err), &err);
    rp_mse_fit f;
    assert_rp_status(rp_mse_fit_model(&f, tab, &m, NULL, ws, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "workspace"));
    rp_mse_existence e;
    assert_rp_status(rp_mse_check_existence(&e, tab, &m, ws, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "workspace"));
    assert_rp_status(rp_mse__check_fit(&e, &f, tab, &m, NULL, ws, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "workspace"));
    rp_mse_workspace_free(ws);
}

/*
 * The searches decide existence with rp_mse__check_fit: a converged IRLS fit that
 * certifies existence (fit.c, certify), the LP otherwise. It must agree with the LP alone
 * (rp_mse_check_existence) on every model of the catalogue of every reference dataset.
 * Separate workspaces, so that neither answers from the other's verdict cache. Ned's 32,768
 * models are sampled one in 8 (UKdat, also six lists with two non-overlapping pairs, is
 * done in full) to keep the test near 10 s.
 */
static void mse_check_fit__certificate_agrees_with_lp(void **state)
{
    (void)state;
    rp_mse_fit_opts fopts = RP_MSE_FIT_OPTS_INIT;
    for (size_t d = 0; d < RP_TEST_MSE_N_SETS; d++) {
        const rp_capture_table *tab = rp_test_mse_sets[d]->total;
        size_t stride = strcmp(rp_test_mse_names[d], "Ned") == 0 ? 8 : 1;
        rp_mse_model_list cat;
        rp_mse_workspace *ws_fit = NULL, *ws_lp = NULL;
        rp_error err = RP_ERROR_INIT;
        assert_rp_ok(
            rp_mse__catalogue(&cat, tab->n_lists, rp_mse__default_max_order(tab->n_lists), &err),
            &err);
        assert_rp_ok(rp_mse_workspace_new(&ws_fit, tab->n_lists, &err), &err);
        assert_rp_ok(rp_mse_workspace_new(&ws_lp, tab->n_lists, &err), &err);
        size_t count[3] = {0, 0, 0};
        for (size_t k = 0; k < cat.n; k += stride) {
            rp_mse_existence by_fit = (rp_mse_existence)-1, by_lp = (rp_mse_existence)-1;
            rp_mse_fit f;
            int rc = rp_mse__check_fit(&by_fit, &f, tab, &cat.v[k], &fopts, ws_fit, &err);
            /* RP_ENOCONV/RP_EDOM: the MLE exists but IRLS failed (verdict still set) */
            if (rc != RP_OK && rc != RP_ENOCONV && rc != RP_EDOM)
                assert_rp_ok(rc, &err);
            assert_rp_ok(rp_mse_check_existence(&by_lp, tab, &cat.v[k], ws_lp, &err), &err);
            if (by_fit != by_lp) {
                char buf[1024];
                print_error(
                    "%s model %s: certificate says %d, LP %d\n", rp_test_mse_names[d],
                    rp_mse_model_format(&cat.v[k], tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)),
                    (int)by_fit, (int)by_lp);
            }
            assert_int_equal(by_fit, by_lp);
            assert_true(by_lp >= RP_MSE_EXISTS && by_lp <= RP_MSE_NOT_IDENTIFIABLE);
            count[by_lp]++;
            if (by_fit == RP_MSE_EXISTS && rc == RP_OK)
                assert_true(isfinite(f.estimate) && f.estimate >= f.observed);
        }
        /* Artificial_3: 4 exist, 3 have no MLE, 1 is not identifiable (see above) */
        if (strcmp(rp_test_mse_names[d], "Artificial_3") == 0) {
            assert_int_equal(count[RP_MSE_EXISTS], 4);
            assert_int_equal(count[RP_MSE_NO_MLE], 3);
            assert_int_equal(count[RP_MSE_NOT_IDENTIFIABLE], 1);
        }
        rp_mse_workspace_free(ws_fit);
        rp_mse_workspace_free(ws_lp);
        rp_mse__model_list_release(&cat);
    }
}

/* ==== methods ==== */

static void mse_method_parse__round_trips_names(void **state)
{
    (void)state;
    static const rp_mse_method all[] = {RP_MSE_METHOD_STEPWISE, RP_MSE_METHOD_BIC,
                                        RP_MSE_METHOD_AIC, RP_MSE_METHOD_AVERAGE,
                                        RP_MSE_METHOD_FIXED};
    for (size_t i = 0; i < N_ELEMS(all); i++) {
        rp_mse_method m = (rp_mse_method)-1;
        RP_TRY(rp_mse_method_parse(&m, rp_mse_method_str(all[i]), NULL));
        assert_int_equal(m, all[i]);
    }
    assert_string_equal(rp_mse_method_str(RP_MSE_METHOD_BIC), "bic");
    rp_mse_method m;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mse_method_parse(&m, "BIC", &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "'BIC'"));
    assert_rp_status(rp_mse_method_parse(&m, "", &err), RP_EINVAL, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mse_model_parse__accepts_all_notations),
        cmocka_unit_test(mse_model_parse__rejects_bad_formulas),
        cmocka_unit_test(mse_model_format__writes_both_styles),
        cmocka_unit_test(mse_model_format__round_trips_catalogue),
        cmocka_unit_test(mse_model_format__dotted_brackets_from_ten_lists),
        cmocka_unit_test(mse_model_close__adds_subterms_and_sorts),
        cmocka_unit_test(mse_catalogue__counts_match_multiple_systems_estimation),
        cmocka_unit_test(mse_check_existence__artificial_3_verdicts),
        cmocka_unit_test(mse_fit_model__zero_margins_go_to_minus_infinity),
        cmocka_unit_test(mse_check_fit__certificate_agrees_with_lp),
        cmocka_unit_test(mse_method_parse__round_trips_names),
        cmocka_unit_test(mse_check_existence__rejects_workspace_of_other_size),
    };
    return cmocka_run_group_tests_name("mse_model", tests, rp_test_mse_setup, rp_test_mse_teardown);
}
