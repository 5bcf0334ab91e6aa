/*
 * eval_mse: the coverage study of issue 4 (`make eval-mse`). Simulates many populations
 * of known size under a scenario the log-linear model family represents exactly
 * (rp_sim_capture), estimates each with rp_mse_estimate() under the true model and under
 * stepwise selection (optionally with the BCa bootstrap), and reports the mean estimate,
 * relative bias, RMSE and the share of 95% intervals that contain the true N, with a
 * Clopper-Pearson interval for that share. Not a timed benchmark and never run by ctest;
 * bench/README.md ("Coverage study") explains it and holds results.
 */
#include "bench_util.h"

#include <rapporteur/rapporteur.h>
#include <rapporteur/sim.h>

#include <getopt.h>
#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

/* Defaults of the command line options. */
#define DEFAULT_POPULATIONS      200  /* simulated populations, seeds 1..P */
#define DEFAULT_N                2000 /* true population size */
#define DEFAULT_BOOT_POPULATIONS 50   /* populations of the (slower) BCa arm */
#define CI_LEVEL                 0.95
#define GOAL_LO                  0.93 /* the goal for coverage of 95% intervals */
#define GOAL_HI                  0.97

/*
 * The scenario: K = 4 lists with base capture probabilities 0.15-0.3 and one positive
 * dependence, log odds ratio 0.7 between lists 1 and 2 (the log-linear term L1:L2). It is
 * exactly the Poisson log-linear model "L1:L2", so intervals under that model should
 * cover N at their nominal rate up to the usual large-sample approximations.
 */
#define SC_LISTS 4
static const double sc_p[SC_LISTS] = {0.2, 0.25, 0.15, 0.3};
#define SC_TERM   0x3U /* lists 1 and 2 */
#define SC_LAMBDA 0.7

/* ==== command line ==== */

typedef struct eval_args {
    size_t populations;
    size_t n;
    size_t n_boot; /* 0 = no BCa arm */
    size_t boot_populations;
    bool json;
} eval_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eval_mse [options]\n"
            "\n"
            "Coverage study of the MSE estimators on simulated populations with known N:\n"
            "%d lists, base capture probabilities 0.2, 0.25, 0.15, 0.3 and a log-linear\n"
            "interaction L1:L2 of %.1f (the true model). Each population (seed 1, 2, ...) is\n"
            "estimated with the true model fixed and with stepwise selection; reported are\n"
            "the mean estimate, relative bias, RMSE and the coverage of the 95%% model-\n"
            "conditional and profile-likelihood intervals, with a Clopper-Pearson 95%%\n"
            "interval for each coverage (goal of the issue: %.0f-%.0f%%).\n"
            "\n"
            "Options:\n"
            "  --populations N  populations to simulate (default %d)\n"
            "  --reps N         the same as --populations\n"
            "  --n N            true population size (default %d)\n"
            "  --bootstrap B    add stepwise + B-replicate BCa bootstrap on the first\n"
            "                   --boot-populations populations (default none)\n"
            "  --boot-populations M  populations of the bootstrap arm (default %d)\n"
            "  --json           print one JSON object on stdout instead of the report\n"
            "  -h, --help       show this help\n"
            "\n"
            "Exit status: 0 ok (whatever the coverage), 1 an estimate failed with an\n"
            "error other than 'no admissible model', 2 usage.\n",
            SC_LISTS, SC_LAMBDA, 100 * GOAL_LO, 100 * GOAL_HI, DEFAULT_POPULATIONS, DEFAULT_N,
            DEFAULT_BOOT_POPULATIONS);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(eval_args *a, int argc, char **argv)
{
    enum { OPT_POP = 256, OPT_N, OPT_BOOT, OPT_BOOT_POP, OPT_JSON };
    static const struct option longopts[] = {
        {"populations", required_argument, NULL, OPT_POP},
        {"reps", required_argument, NULL, OPT_POP},
        {"n", required_argument, NULL, OPT_N},
        {"bootstrap", required_argument, NULL, OPT_BOOT},
        {"boot-populations", required_argument, NULL, OPT_BOOT_POP},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case OPT_POP:
            if (!bench_opt_count(&a->populations, optarg, 1, "eval_mse", "--populations"))
                return 2;
            break;
        case OPT_N:
            if (!bench_opt_count(&a->n, optarg, 10, "eval_mse", "--n"))
                return 2;
            break;
        case OPT_BOOT:
            if (!bench_opt_count(&a->n_boot, optarg, 0, "eval_mse", "--bootstrap"))
                return 2;
            break;
        case OPT_BOOT_POP:
            if (!bench_opt_count(&a->boot_populations, optarg, 1, "eval_mse", "--boot-populations"))
                return 2;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "eval_mse: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* ==== one estimation method over all populations ==== */

typedef struct coverage {
    size_t n;     /* populations with a finite interval of this kind */
    size_t cover; /* ... that contain the true N */
} coverage;

typedef struct arm {
    const char *id;
    const char *what;
    rp_mse_method method;
    size_t n_boot;
    size_t populations;  /* attempted */
    size_t n_ok;         /* estimates obtained */
    size_t n_no_model;   /* RP_EDOM: no admissible model */
    size_t n_error;      /* any other failure */
    size_t n_true_model; /* chosen model == the true model */
    double sum_est, sum_sq_err;
    double sum_se; /* reported SE of N (estimate_se), to set beside the empirical one */
    coverage cond, prof, bca;
    coverage cond_plus; /* diagnostic: conditional interval widened by Var(dark) = dark */
    double cpu_s;
    rp_error first_err;
} arm;

static void cover_add(coverage *c, double lo, double hi, double truth)
{
    if (!isfinite(lo) || !isfinite(hi))
        return;
    c->n++;
    c->cover += lo <= truth && truth <= hi;
}

static double cover_share(const coverage *c)
{
    return c->n > 0 ? (double)c->cover / (double)c->n : NAN;
}

/* Clopper-Pearson interval for x successes out of n (Clopper & Pearson 1934). */
static void clopper_pearson(double *lo, double *hi, size_t x, size_t n, double level)
{
    double alpha = 1.0 - level;
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    *lo = x == 0 ? 0.0 : gsl_cdf_beta_Pinv(alpha / 2, (double)x, (double)(n - x + 1));
    *hi = x == n ? 1.0 : gsl_cdf_beta_Pinv(1 - alpha / 2, (double)(x + 1), (double)(n - x));
}

static bool same_model(const rp_mse_model *a, const rp_mse_model *b)
{
    if (a->n_terms != b->n_terms)
        return false;
    for (size_t i = 0; i < a->n_terms; i++) {
        if (a->terms[i] != b->terms[i])
            return false;
    }
    return true;
}

/* Estimate one table with arm @p r's method and add the outcome to its tallies. */
static void arm_run(arm *r,
                    const rp_capture_table *tab,
                    const rp_mse_model *truth_model,
                    double n_true,
                    uint64_t seed)
{
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.method = r->method;
    opts.model = r->method == RP_MSE_METHOD_FIXED ? truth_model : NULL;
    opts.ci_level = CI_LEVEL;
    opts.profile = true;
    opts.n_boot = r->n_boot;
    opts.seed = seed;
    opts.n_runners_up = 0;
    opts.max_excluded = 0;
    rp_mse_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    r->populations++;
    double t0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    int rc = rp_mse_estimate(&res, tab, &opts, &err);
    r->cpu_s += bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - t0;
    if (rc != RP_OK) {
        if (rc == RP_EDOM) {
            r->n_no_model++;
        } else {
            if (r->n_error == 0)
                r->first_err = err;
            r->n_error++;
        }
        return;
    }
    r->n_ok++;
    r->sum_est += res->estimate;
    r->sum_sq_err += (res->estimate - n_true) * (res->estimate - n_true);
    r->sum_se += res->estimate_se;
    r->n_true_model += same_model(&res->model, truth_model);
    cover_add(&r->cond, res->ci_lower, res->ci_upper, n_true);
    /*
     * Diagnostic, not a library interval: the model-conditional interval treats the
     * fitted dark figure as the target, but N - n is itself random (about Poisson, with
     * variance dark), so the variance of log dark gets 1/dark added (as Rcapture's
     * closedp standard error, sqrt(dark + dark^2 var(log dark)), has it).
     */
    double z = gsl_cdf_ugaussian_Pinv(0.5 + CI_LEVEL / 2);
    double d = res->fit.dark, obs = res->fit.observed;
    if (d > 0 && isfinite(res->fit.log_dark_se)) {
        double sd = sqrt(res->fit.log_dark_se * res->fit.log_dark_se + 1.0 / d);
        cover_add(&r->cond_plus, obs + d * exp(-z * sd), obs + d * exp(z * sd), n_true);
    }
    cover_add(&r->prof, res->profile_lower, res->profile_upper, n_true);
    if (r->n_boot > 0)
        cover_add(&r->bca, res->bca_lower, res->bca_upper, n_true);
    rp_mse_result_free(res);
}

/* ==== report ==== */

static void print_cover(const char *label, const coverage *c)
{
    if (c->n == 0)
        return;
    double lo, hi;
    clopper_pearson(&lo, &hi, c->cover, c->n, 0.95);
    double share = cover_share(c);
    printf("  %-24s %5.1f%%  (%zu of %zu; 95%% CI %.1f-%.1f%%)  %s\n", label, 100 * share, c->cover,
           c->n, 100 * lo, 100 * hi,
           share >= GOAL_LO && share <= GOAL_HI ? "within goal" : "outside goal");
}

static void print_arm(const arm *r, double n_true)
{
    printf("\n%s: %s\n", r->id, r->what);
    printf("  populations %zu, estimates %zu, no admissible model %zu, other failures %zu; "
           "CPU %.2f s\n",
           r->populations, r->n_ok, r->n_no_model, r->n_error, r->cpu_s);
    if (r->n_error > 0) {
        char buf[512];
        printf("  first failure: %s\n", rp_error_format(&r->first_err, buf, sizeof(buf)));
    }
    if (r->n_ok == 0)
        return;
    double mean = r->sum_est / (double)r->n_ok;
    double rmse = sqrt(r->sum_sq_err / (double)r->n_ok);
    printf("  mean estimate %.1f (true %.0f), relative bias %+.2f%%, RMSE %.1f (%.1f%% of N)\n",
           mean, n_true, 100 * (mean - n_true) / n_true, rmse, 100 * rmse / n_true);
    printf("  mean reported SE %.1f; chose the true model in %zu of %zu\n",
           r->sum_se / (double)r->n_ok, r->n_true_model, r->n_ok);
    print_cover("conditional 95% interval", &r->cond);
    print_cover("profile 95% interval", &r->prof);
    print_cover("BCa 95% interval", &r->bca);
    print_cover("diagnostic: cond. + dark", &r->cond_plus);
}

static json_t *json_cover(const coverage *c)
{
    double lo, hi;
    clopper_pearson(&lo, &hi, c->cover, c->n, 0.95);
    json_t *o = json_object();
    json_object_set_new(o, "intervals", json_integer((json_int_t)c->n));
    json_object_set_new(o, "covering", json_integer((json_int_t)c->cover));
    json_object_set_new(o, "coverage", bench_json_number(cover_share(c)));
    json_object_set_new(o, "coverage_ci",
                        json_pack("[oo]", bench_json_number(lo), bench_json_number(hi)));
    return o;
}

static json_t *json_arm(const arm *r, double n_true)
{
    json_t *o = json_object();
    double mean = r->n_ok > 0 ? r->sum_est / (double)r->n_ok : NAN;
    double rmse = r->n_ok > 0 ? sqrt(r->sum_sq_err / (double)r->n_ok) : NAN;
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "what", json_string(r->what));
    json_object_set_new(o, "method", json_string(rp_mse_method_str(r->method)));
    json_object_set_new(o, "n_boot", json_integer((json_int_t)r->n_boot));
    json_object_set_new(o, "populations", json_integer((json_int_t)r->populations));
    json_object_set_new(o, "estimates", json_integer((json_int_t)r->n_ok));
    json_object_set_new(o, "no_admissible_model", json_integer((json_int_t)r->n_no_model));
    json_object_set_new(o, "other_failures", json_integer((json_int_t)r->n_error));
    json_object_set_new(o, "true_model_chosen", json_integer((json_int_t)r->n_true_model));
    json_object_set_new(o, "mean_estimate", bench_json_number(mean));
    json_object_set_new(o, "relative_bias", bench_json_number((mean - n_true) / n_true));
    json_object_set_new(o, "rmse", bench_json_number(rmse));
    json_object_set_new(o, "mean_reported_se",
                        bench_json_number(r->n_ok > 0 ? r->sum_se / (double)r->n_ok : NAN));
    json_object_set_new(o, "conditional", json_cover(&r->cond));
    json_object_set_new(o, "profile", json_cover(&r->prof));
    if (r->n_boot > 0)
        json_object_set_new(o, "bca", json_cover(&r->bca));
    json_object_set_new(o, "diagnostic_conditional_plus_dark", json_cover(&r->cond_plus));
    json_object_set_new(o, "cpu_s", json_real(r->cpu_s));
    return o;
}

int main(int argc, char **argv)
{
    eval_args a = {DEFAULT_POPULATIONS, DEFAULT_N, 0, DEFAULT_BOOT_POPULATIONS, false};
    int st = parse_args(&a, argc, argv);
    if (st >= 0)
        return st;
    rp_init();
    bench_machine m;
    bench_machine_describe(&m);

    rp_sim_capture_scenario sc = RP_SIM_CAPTURE_SCENARIO_INIT;
    sc.n = a.n;
    sc.n_lists = SC_LISTS;
    for (size_t i = 0; i < SC_LISTS; i++)
        sc.p[i] = sc_p[i];
    sc.n_terms = 1;
    sc.terms[0].lists = SC_TERM;
    sc.terms[0].lambda = SC_LAMBDA;
    double n_true = (double)a.n;

    rp_mse_model truth_model = {.n_terms = 1, .terms = {SC_TERM}};
    rp_error err = RP_ERROR_INIT;
    if (rp_mse_model_close(&truth_model, &err) != RP_OK) {
        fprintf(stderr, "eval_mse: %s\n", err.msg);
        return 1;
    }
    double prob[1U << SC_LISTS];
    if (rp_sim_capture_probs(prob, 1U << SC_LISTS, &sc, &err) != RP_OK) {
        fprintf(stderr, "eval_mse: %s\n", err.msg);
        return 1;
    }

    arm arms[3] = {
        {.id = "fixed_true", .what = "true model L1:L2 fixed", .method = RP_MSE_METHOD_FIXED},
        {.id = "stepwise",
         .what = "stepwise selection (SparseMSE rule, pthresh 0.02)",
         .method = RP_MSE_METHOD_STEPWISE},
        {.id = "stepwise_bca",
         .what = "stepwise selection + BCa bootstrap",
         .method = RP_MSE_METHOD_STEPWISE,
         .n_boot = a.n_boot},
    };
    size_t n_arms = a.n_boot > 0 ? 3 : 2;
    size_t boot_pops = a.boot_populations < a.populations ? a.boot_populations : a.populations;

    if (!a.json) {
        printf("eval_mse: coverage of MSE intervals on simulated populations (rapporteur %s)\n",
               RP_VERSION_STRING);
        bench_machine_print(&m);
        printf("scenario   N = %zu, %d lists, p = 0.2 0.25 0.15 0.3, L1:L2 log odds ratio "
               "%.2f; expected observed %.1f%% of N\n",
               a.n, SC_LISTS, SC_LAMBDA, 100 * (1 - prob[0]));
        printf("design     %zu populations (seeds 1..%zu)%s; goal %.0f-%.0f%% coverage\n",
               a.populations, a.populations, a.n_boot > 0 ? "; BCa arm on the first" : "",
               100 * GOAL_LO, 100 * GOAL_HI);
        if (a.n_boot > 0)
            printf("           %zu populations, %zu replicates each\n", boot_pops, a.n_boot);
        fflush(stdout);
    }

    bool failed = false;
    double observed_sum = 0.0;
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    for (size_t s = 1; s <= a.populations; s++) {
        rp_capture_table *tab = NULL;
        if (rp_sim_capture(&tab, &sc, (uint64_t)s, &err) != RP_OK) {
            fprintf(stderr, "eval_mse: population %zu: %s\n", s, err.msg);
            failed = true;
            break;
        }
        observed_sum += rp_capture_table_observed(tab);
        for (size_t k = 0; k < n_arms; k++) {
            if (k == 2 && s > boot_pops)
                continue;
            arm_run(&arms[k], tab, &truth_model, n_true, (uint64_t)s);
        }
        rp_capture_table_free(tab);
    }
    double wall_s = bench_clock_seconds(CLOCK_MONOTONIC) - t0;
    for (size_t k = 0; k < n_arms; k++)
        failed = failed || arms[k].n_error > 0;

    if (a.json) {
        json_t *root = json_object();
        json_t *mach = json_object();
        json_object_set_new(mach, "cpu", json_string(m.cpu));
        json_object_set_new(mach, "cores", json_integer(m.cores));
        json_object_set_new(mach, "compiler", json_string(m.compiler));
        json_object_set_new(mach, "assertions", json_boolean(m.assertions));
        json_object_set_new(mach, "date", json_string(m.date));
        json_object_set_new(mach, "load_average", json_string(m.load));
        json_object_set_new(root, "bench", json_string("eval_mse"));
        json_object_set_new(root, "version", json_string(RP_VERSION_STRING));
        json_object_set_new(root, "machine", mach);
        json_t *jsc = json_object();
        json_object_set_new(jsc, "n", json_integer((json_int_t)a.n));
        json_t *jp = json_array();
        for (size_t i = 0; i < SC_LISTS; i++)
            json_array_append_new(jp, json_real(sc_p[i]));
        json_object_set_new(jsc, "p", jp);
        json_object_set_new(jsc, "true_model", json_string("L1:L2"));
        json_object_set_new(jsc, "lambda", json_real(SC_LAMBDA));
        json_object_set_new(jsc, "expected_observed_share", json_real(1 - prob[0]));
        json_object_set_new(root, "scenario", jsc);
        json_object_set_new(root, "populations", json_integer((json_int_t)a.populations));
        json_object_set_new(root, "ci_level", json_real(CI_LEVEL));
        json_object_set_new(root, "goal", json_pack("[ff]", GOAL_LO, GOAL_HI));
        json_object_set_new(root, "mean_observed", json_real(observed_sum / (double)a.populations));
        json_object_set_new(root, "wall_s", json_real(wall_s));
        json_t *ja = json_array();
        for (size_t k = 0; k < n_arms; k++)
            json_array_append_new(ja, json_arm(&arms[k], n_true));
        json_object_set_new(root, "methods", ja);
        if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0) {
            fprintf(stderr, "eval_mse: cannot write the JSON report\n");
            failed = true;
        }
        putchar('\n');
        json_decref(root);
    } else {
        printf("observed   mean %.1f people per population; wall %.1f s\n",
               observed_sum / (double)a.populations, wall_s);
        for (size_t k = 0; k < n_arms; k++)
            print_arm(&arms[k], n_true);
    }
    return failed ? 1 : 0;
}
