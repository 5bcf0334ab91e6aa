/*
 * Unit tests for the capture simulator (src/sim/capture_sim.c): reproducibility from the
 * seed, realised marginals and odds ratio against the configuration within sampling
 * error, exact population totals, latent-class mixtures and every rejected scenario.
 */
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>
#include <rapporteur/sim.h>

#define N_BIG 200000

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* Three lists, a positive dependence between lists 1 and 2 (log odds ratio 0.7). */
static rp_sim_capture_scenario scenario3(uint64_t n)
{
    rp_sim_capture_scenario sc = RP_SIM_CAPTURE_SCENARIO_INIT;
    sc.n = n;
    sc.n_lists = 3;
    sc.p[0] = 0.2;
    sc.p[1] = 0.3;
    sc.p[2] = 0.15;
    sc.n_terms = 1;
    sc.terms[0].lists = 0x3;
    sc.terms[0].lambda = 0.7;
    return sc;
}

/* Share of all 2^K cells (full table) whose pattern has every bit of @p mask. */
static double share_with(const double *v, size_t n_cells, uint32_t mask)
{
    double s = 0.0, tot = 0.0;
    for (size_t w = 0; w < n_cells; w++) {
        tot += v[w];
        if ((w & mask) == mask) {
            s += v[w];
        }
    }
    return s / tot;
}

/* ==== tests ==== */

static void sim_capture__same_seed_same_table(void **state)
{
    (void)state;
    rp_sim_capture_scenario sc = scenario3(5000);
    rp_capture_table *a = NULL, *b = NULL, *c = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_capture(&a, &sc, 42, &err), &err);
    assert_rp_ok(rp_sim_capture(&b, &sc, 42, &err), &err);
    assert_rp_ok(rp_sim_capture(&c, &sc, 43, &err), &err);
    assert_int_equal(a->n_lists, 3);
    assert_string_equal(a->list_names[0], "L1");
    assert_string_equal(a->list_names[2], "L3");
    bool differs = false;
    for (size_t w = 0; w < 8; w++) {
        assert_true(a->counts[w] == b->counts[w]);
        differs = differs || a->counts[w] != c->counts[w];
    }
    assert_true(differs);
    assert_true(a->counts[0] == 0.0);
    rp_capture_table_free(a);
    rp_capture_table_free(b);
    rp_capture_table_free(c);
}

static void sim_capture_cells__sum_to_population(void **state)
{
    (void)state;
    rp_sim_capture_scenario sc = scenario3(12345);
    double full[8];
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_capture_cells(full, 8, &sc, 7, &err), &err);
    double sum = 0.0;
    for (size_t w = 0; w < 8; w++) {
        assert_true(full[w] >= 0.0 && full[w] == floor(full[w]));
        sum += full[w];
    }
    assert_true(sum == 12345.0);
    /* the observed table is the full one without cell 0 */
    rp_capture_table *tab = NULL;
    assert_rp_ok(rp_sim_capture(&tab, &sc, 7, &err), &err);
    assert_true(rp_capture_table_observed(tab) + full[0] == 12345.0);
    rp_capture_table_free(tab);

    /* with latent classes too */
    sc.n_classes = 2;
    sc.share[0] = 0.3;
    sc.share[1] = 0.7;
    sc.shift[0] = 1.0;
    sc.shift[1] = -0.5;
    assert_rp_ok(rp_sim_capture_cells(full, 8, &sc, 8, &err), &err);
    sum = 0.0;
    for (size_t w = 0; w < 8; w++) {
        sum += full[w];
    }
    assert_true(sum == 12345.0);
}

/*
 * Realised marginal capture proportions and the 1-2 odds ratio against the exact values
 * (rp_sim_capture_probs), with 4 binomial standard errors. Without heterogeneity list 3
 * is independent of lists 1 and 2, so the marginal 1-2 odds ratio is exp(0.7) exactly;
 * its log has SE sqrt(sum 1/n_ab) (Woolf).
 */
static void sim_capture__matches_configuration(void **state)
{
    (void)state;
    rp_sim_capture_scenario sc = scenario3(N_BIG);
    double prob[8], full[8];
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_capture_probs(prob, 8, &sc, &err), &err);
    assert_rp_ok(rp_sim_capture_cells(full, 8, &sc, 2024, &err), &err);
    double psum = 0.0;
    for (size_t w = 0; w < 8; w++) {
        psum += prob[w];
    }
    assert_close(psum, 1.0, 1e-12, 0.0);
    /* list 3 has no term: its marginal is its base probability */
    assert_close(share_with(prob, 8, 0x4), 0.15, 1e-12, 0.0);
    for (uint32_t i = 0; i < 3; i++) {
        double expect = share_with(prob, 8, 1U << i);
        double se = sqrt(expect * (1.0 - expect) / N_BIG);
        assert_close(share_with(full, 8, 1U << i), expect, 0.0, 4.0 * se);
    }
    double n11 = 0, n10 = 0, n01 = 0, n00 = 0;
    for (size_t w = 0; w < 8; w++) {
        bool a = (w & 1U) != 0, b = (w & 2U) != 0;
        if (a && b) {
            n11 += full[w];
        } else if (a) {
            n10 += full[w];
        } else if (b) {
            n01 += full[w];
        } else {
            n00 += full[w];
        }
    }
    double log_or = log(n11 * n00 / (n10 * n01));
    double se = sqrt(1.0 / n11 + 1.0 / n10 + 1.0 / n01 + 1.0 / n00);
    assert_close(log_or, 0.7, 0.0, 4.0 * se);
}

/* Independent lists: the marginals are the base probabilities; classes shift them. */
static void sim_capture_probs__independent_and_mixture(void **state)
{
    (void)state;
    rp_sim_capture_scenario sc = RP_SIM_CAPTURE_SCENARIO_INIT;
    sc.n = 1;
    sc.n_lists = 4;
    const double p[4] = {0.1, 0.25, 0.5, 0.9};
    for (size_t i = 0; i < 4; i++) {
        sc.p[i] = p[i];
    }
    double prob[16];
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_capture_probs(prob, 16, &sc, &err), &err);
    for (uint32_t i = 0; i < 4; i++) {
        assert_close(share_with(prob, 16, 1U << i), p[i], 1e-12, 0.0);
    }
    assert_close(prob[0], 0.9 * 0.75 * 0.5 * 0.1, 1e-12, 0.0);
    /* two classes: the marginal of list 1 is the share-weighted class marginal */
    sc.n_classes = 2;
    sc.share[0] = 0.4;
    sc.share[1] = 0.6;
    sc.shift[0] = log(3.0);
    sc.shift[1] = 0.0;
    assert_rp_ok(rp_sim_capture_probs(prob, 16, &sc, &err), &err);
    /* class 0: odds 0.1/0.9 * 3 = 1/3, probability 0.25 */
    assert_close(share_with(prob, 16, 1U), 0.4 * 0.25 + 0.6 * 0.1, 1e-12, 0.0);
}

static void sim_capture__rejects_bad_scenarios(void **state)
{
    (void)state;
    rp_capture_table *tab = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_sim_capture_scenario sc = scenario3(100);

    sc.n_lists = 1;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "2 to 15 lists"));
    assert_null(tab);
    sc.n_lists = 16;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);

    sc = scenario3(100);
    sc.p[1] = 1.0;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "list 2"));
    sc.p[1] = 0.0;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    sc.p[1] = NAN;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);

    sc = scenario3(0);
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "population size 0"));

    sc = scenario3(100);
    sc.terms[0].lists = 0x2; /* one list */
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    sc.terms[0].lists = 0x9; /* list 4 of 3 */
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    sc.terms[0].lists = 0x3;
    sc.terms[0].lambda = INFINITY;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);

    sc = scenario3(100);
    sc.n_classes = 2;
    sc.share[0] = 0.5;
    sc.share[1] = 0.6;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "sum to"));
    sc.n_classes = RP_SIM_MAX_CLASSES + 1;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);

    sc = scenario3(100);
    sc.version = 99;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);

    sc = scenario3(100);
    double small[4];
    assert_rp_status(rp_sim_capture_cells(small, 4, &sc, 1, &err), RP_EINVAL, &err);
    assert_rp_status(rp_sim_capture_probs(small, 4, &sc, &err), RP_EINVAL, &err);
    assert_rp_status(rp_sim_capture(NULL, &sc, 1, &err), RP_EINVAL, &err);
    assert_rp_status(rp_sim_capture(&tab, NULL, 1, &err), RP_EINVAL, &err);
    const char *const dup[3] = {"A", "A", "B"};
    sc.names = dup;
    assert_rp_status(rp_sim_capture(&tab, &sc, 1, &err), RP_EINVAL, &err);
    assert_null(tab);
}

/* Every allocation failure gives RP_ENOMEM and leaks nothing. */
static int sweep_run(void *payload)
{
    rp_capture_table **tab = payload;
    rp_sim_capture_scenario sc = scenario3(1000);
    sc.n_classes = 2;
    sc.share[0] = 0.5;
    sc.share[1] = 0.5;
    sc.shift[1] = 1.0;
    double prob[8];
    int rc = rp_sim_capture_probs(prob, 8, &sc, NULL);
    if (rc != RP_OK) {
        return rc;
    }
    return rp_sim_capture(tab, &sc, 3, NULL);
}

static void sweep_undo(void *payload)
{
    rp_capture_table **tab = payload;
    rp_capture_table_free(*tab);
    *tab = NULL;
}

static void sim_capture__alloc_failure_sweep(void **state)
{
    (void)state;
    rp_capture_table *tab = NULL;
    unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &tab, 100);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sim_capture__same_seed_same_table),
        cmocka_unit_test(sim_capture_cells__sum_to_population),
        cmocka_unit_test(sim_capture__matches_configuration),
        cmocka_unit_test(sim_capture_probs__independent_and_mixture),
        cmocka_unit_test(sim_capture__rejects_bad_scenarios),
        cmocka_unit_test(sim_capture__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("sim", tests, setup, NULL);
}
