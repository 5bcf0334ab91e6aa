/*
 * The MSE engine at its size limit: 15 lists (2^15 - 1 observable cells). Tables of
 * exact expected counts have known answers: a fit of the true model to its own expected
 * counts reproduces the population exactly, whatever the number of lists.
 */
#include "rp_test.h"

#include <rapporteur/mse.h>

#include <math.h>

/*
 * Expected counts of N people caught independently by K lists with probabilities p[i]:
 * mu_w = N prod p_i^[i in w] (1 - p_i)^[i not in w]. Cell 0 (caught by none) is left out.
 */
static rp_capture_table *independent_table(size_t K, double N, const double *p)
{
    const char *names[RP_MSE_MAX_LISTS];
    char buf[RP_MSE_MAX_LISTS][24]; /* room for "L" and any size_t */
    for (size_t i = 0; i < K; i++) {
        snprintf(buf[i], sizeof(buf[i]), "L%zu", i + 1);
        names[i] = buf[i];
    }
    rp_capture_table *tab = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_capture_table_new(&tab, K, names, &err), &err);
    for (size_t w = 1; w < ((size_t)1 << K); w++) {
        double mu = N;
        for (size_t i = 0; i < K; i++)
            mu *= (w & ((size_t)1 << i)) ? p[i] : 1.0 - p[i];
        tab->counts[w] = mu;
    }
    return tab;
}

/* Main effects on 15 independent lists: the estimate is N and the dark figure exact. */
static void mse_large__fifteen_lists_main_effects_exact(void **state)
{
    (void)state;
    static const double p[RP_MSE_MAX_LISTS] = {0.05, 0.10, 0.15, 0.20, 0.08, 0.12, 0.30, 0.07,
                                               0.25, 0.18, 0.04, 0.09, 0.22, 0.14, 0.11};
    const double N = 50000.0;
    rp_capture_table *tab = independent_table(RP_MSE_MAX_LISTS, N, p);
    double unseen = N;
    for (size_t i = 0; i < RP_MSE_MAX_LISTS; i++)
        unseen *= 1.0 - p[i];
    rp_mse_model main_effects = {0};
    rp_mse_fit fit;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mse_fit_model(&fit, tab, &main_effects, NULL, NULL, &err), &err);
    assert_close(fit.estimate, N, 1e-8, 0.0);
    assert_close(fit.dark, unseen, 1e-8, 0.0);
    assert_close(fit.deviance, 0.0, 0.0, 1e-6);
    assert_int_equal(fit.n_params, 1 + RP_MSE_MAX_LISTS);
    assert_int_equal(fit.n_cells, (1u << RP_MSE_MAX_LISTS) - 1);
    rp_mse_existence e = RP_MSE_NO_MLE;
    assert_rp_ok(rp_mse_check_existence(&e, tab, &main_effects, NULL, &err), &err);
    assert_int_equal(e, RP_MSE_EXISTS);
    rp_capture_table_free(tab);
}

/*
 * Stepwise on the same 15 lists: with data equal to their independence expectation no
 * two-list effect departs from it (every p-value is about 0.5), so stepwise keeps main
 * effects and the estimate is N. The BIC alternative is not run beyond 6 lists.
 */
static void mse_large__fifteen_lists_stepwise_keeps_independence(void **state)
{
    (void)state;
    static const double p[RP_MSE_MAX_LISTS] = {0.05, 0.10, 0.15, 0.20, 0.08, 0.12, 0.30, 0.07,
                                               0.25, 0.18, 0.04, 0.09, 0.22, 0.14, 0.11};
    const double N = 50000.0;
    rp_capture_table *tab = independent_table(RP_MSE_MAX_LISTS, N, p);
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.profile = false;
    rp_mse_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mse_estimate(&res, tab, &opts, &err), &err);
    assert_int_equal(res->model.n_terms, 0);
    assert_close(res->estimate, N, 1e-8, 0.0);
    assert_false(res->has_alternative);
    /* 1 main-effects model checked; no candidate reached the threshold */
    assert_int_equal(res->n_models, 1);
    rp_mse_result_free(res);
    rp_capture_table_free(tab);
}

/*
 * A true two-list effect at 12 lists: lists 1 and 2 catch the same people more often
 * (odds ratio 4). The fixed true model recovers N exactly; main effects alone must
 * underestimate (positive dependence hides people), as the theory says.
 */
static void mse_large__twelve_lists_dependence_recovered_by_true_model(void **state)
{
    (void)state;

    enum { K = 12 };

    static const double p[K] = {0.10, 0.15, 0.20, 0.08, 0.12, 0.30,
                                0.07, 0.25, 0.18, 0.04, 0.09, 0.22};
    const double N = 20000.0;
    rp_capture_table *tab = independent_table(K, N, p);
    /* multiply every cell containing lists 1 and 2 by 4, then rescale to total N with
       cell 0 included, so that the log-linear model with L1:L2 is exactly true */
    double unseen = N;
    for (size_t i = 0; i < K; i++)
        unseen *= 1.0 - p[i];
    double total = unseen;
    for (size_t w = 1; w < ((size_t)1 << K); w++) {
        if ((w & 3u) == 3u)
            tab->counts[w] *= 4.0;
        total += tab->counts[w];
    }
    double scale = N / total;
    for (size_t w = 1; w < ((size_t)1 << K); w++)
        tab->counts[w] *= scale;
    unseen *= scale;
    rp_mse_model m;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mse_model_parse(&m, tab, "L1:L2", &err), &err);
    rp_mse_fit fit;
    assert_rp_ok(rp_mse_fit_model(&fit, tab, &m, NULL, NULL, &err), &err);
    assert_close(fit.estimate, N, 1e-8, 0.0);
    assert_close(fit.dark, unseen, 1e-8, 0.0);
    rp_mse_model main_effects = {0};
    rp_mse_fit indep;
    assert_rp_ok(rp_mse_fit_model(&indep, tab, &main_effects, NULL, NULL, &err), &err);
    assert_true(indep.estimate < N);
    rp_capture_table_free(tab);
}

/* Sixteen lists are refused by the table constructor. */
static void mse_large__sixteen_lists_refused(void **state)
{
    (void)state;
    const char *names[RP_MSE_MAX_LISTS + 1];
    char buf[RP_MSE_MAX_LISTS + 1][8];
    for (size_t i = 0; i < RP_MSE_MAX_LISTS + 1; i++) {
        snprintf(buf[i], sizeof(buf[i]), "L%zu", i + 1);
        names[i] = buf[i];
    }
    rp_capture_table *tab = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_capture_table_new(&tab, RP_MSE_MAX_LISTS + 1, names, &err), RP_EINVAL,
                     &err);
    assert_null(tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mse_large__fifteen_lists_main_effects_exact),
        cmocka_unit_test(mse_large__fifteen_lists_stepwise_keeps_independence),
        cmocka_unit_test(mse_large__twelve_lists_dependence_recovered_by_true_model),
        cmocka_unit_test(mse_large__sixteen_lists_refused),
    };
    rp_init();
    return cmocka_run_group_tests_name("mse_large", tests, NULL, NULL);
}
