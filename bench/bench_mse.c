/*
 * bench_mse: CPU and wall time of the MSE engine against the R packages it stands in for
 * (SparseMSE, MultipleSystemsEstimation, Rcapture) on the UK 2013 and Netherlands
 * 2010-2015 tables, with the numbers each run produced printed beside the published ones,
 * and the cost of one IRLS fit in microseconds. `make bench` runs it from the repository
 * root; bench/README.md explains the cases and holds a table of results.
 */
#include "bench_util.h"

#include <rapporteur/rapporteur.h>

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

/*
 * The goal of the issue: at least this many times less CPU than the peer, with the same
 * numbers. Peers' times are CPU seconds on one core (bench/README.md); ours are the CPU
 * seconds of this process, all threads counted (the bootstrap runs on worker threads).
 * By default each case times only what the peer computes; --extras adds what rapporteur
 * prints beside it (profile interval, runners-up, the other selection rule).
 */
#define GOAL_RATIO 200.0

/* Defaults of the command line options. */
#define DEFAULT_REPS      5     /* timed repetitions per case; the median is reported */
#define DEFAULT_FIT_REPS  10000 /* IRLS fits per timed batch */
#define DEFAULT_N_BOOT    1000  /* bootstrap replicates, as the peers were timed */
#define FIT_BATCHES       5     /* timed batches of fits; the median is reported */
#define DEFAULT_DATA_DIR  "tests/fixtures/mse"
#define FALLBACK_DATA_DIR "data/mse"

/* ==== the cases ==== */

/* Which interval of the result the reference interval is compared with. */
typedef enum interval_kind {
    INTERVAL_NONE = 0,    /* no reference interval besides BCa */
    INTERVAL_CONDITIONAL, /* model-conditional normal on log dark (SparseMSE) */
    INTERVAL_PROFILE      /* profile likelihood (Rcapture closedpCI.t) */
} interval_kind;

/*
 * One timed case. Reference values and peer times are those of the project's shared MSE
 * data README ("Reference results", "Time taken by the peers"; copied into bench/README.md),
 * measured with SparseMSE 2.0.1, MultipleSystemsEstimation 1.2.0 and Rcapture 1.4-4. N and the
 * non-bootstrap intervals are printed there to one decimal; "same" below means that ours rounds to
 * them. BCa ends are Monte Carlo quantities (our resampling stream is GSL's MT19937, not R's), so
 * they are shown, not compared.
 */
typedef struct bench_case {
    const char *id;   /* short name for --only and JSON */
    const char *what; /* one-line description */
    const char *file; /* CSV in the data directory */
    rp_mse_method method;
    int max_order; /* 0 = library default */
    size_t n_boot; /* 0 = no bootstrap; DEFAULT_N_BOOT otherwise (see --boot) */
    const char *peer;
    double peer_cpu_s;
    double ref_n;
    interval_kind interval;
    double ref_lo, ref_hi;
    double ref_bca_lo, ref_bca_hi; /* NAN when the peer ran no bootstrap */
    const char *ref_model;         /* rp_mse_model_parse() syntax */
    size_t ref_n_models;           /* models in the search; 0 = not compared */
} bench_case;

#define SPARSEMSE "SparseMSE 2.0.1 estimatepopulation(nboot=1000)"

static const bench_case cases[] = {
    {.id = "stepwise_bca_UKdat",
     .what = "stepwise + 1000-replicate BCa bootstrap, UKdat (6 lists)",
     .file = "UKdat.csv",
     .method = RP_MSE_METHOD_STEPWISE,
     .n_boot = DEFAULT_N_BOOT,
     .peer = SPARSEMSE,
     .peer_cpu_s = 217.0,
     .ref_n = 11418.0,
     .interval = INTERVAL_CONDITIONAL,
     .ref_lo = 9977.3,
     .ref_hi = 13145.7,
     .ref_bca_lo = 9267.0,
     .ref_bca_hi = 14307.0,
     .ref_model = "PF:NCA, LA:NG, NG:GP, LA:PF, PF:GP, GO:GP, NG:GO"},
    {.id = "stepwise_bca_UKdat_5",
     .what = "stepwise + 1000-replicate BCa bootstrap, UKdat_5 (5 lists)",
     .file = "UKdat_5.csv",
     .method = RP_MSE_METHOD_STEPWISE,
     .n_boot = DEFAULT_N_BOOT,
     .peer = SPARSEMSE,
     .peer_cpu_s = 95.0,
     .ref_n = 11313.0,
     .interval = INTERVAL_CONDITIONAL,
     .ref_lo = 9884.4,
     .ref_hi = 13027.4,
     .ref_bca_lo = 8785.0,
     .ref_bca_hi = 14701.0,
     .ref_model = "LA:NG, NG:GP, PFNCA:GP, LA:PFNCA, GO:GP, NG:GO"},
    {.id = "stepwise_bca_Ned",
     .what = "stepwise + 1000-replicate BCa bootstrap, Ned (6 lists)",
     .file = "Ned.csv",
     .method = RP_MSE_METHOD_STEPWISE,
     .n_boot = DEFAULT_N_BOOT,
     .peer = SPARSEMSE,
     .peer_cpu_s = 302.0,
     .ref_n = 111139.4,
     .interval = INTERVAL_CONDITIONAL,
     .ref_lo = 92439.9,
     .ref_hi = 133991.5,
     .ref_bca_lo = 44010.0,
     .ref_bca_hi = 161133.0,
     /* K:R and I:K do not overlap: SparseMSE puts them at minus infinity */
     .ref_model = "O:Z, P:Z, I:Z, P:R, O:P, K:O, K:R, I:K"},
    {.id = "stepwise_bca_Ned_5",
     .what = "stepwise + 1000-replicate BCa bootstrap, Ned_5 (5 lists)",
     .file = "Ned_5.csv",
     .method = RP_MSE_METHOD_STEPWISE,
     .n_boot = DEFAULT_N_BOOT,
     .peer = SPARSEMSE,
     .peer_cpu_s = 108.0,
     .ref_n = 121521.6,
     .interval = INTERVAL_CONDITIONAL,
     .ref_lo = 98675.4,
     .ref_hi = 150138.9,
     .ref_bca_lo = 47393.0,
     .ref_bca_hi = 162846.0,
     .ref_model = "IO:Z, P:Z, P:R, IO:P, IO:K, K:R"},
    {.id = "bic_bca_UKdat_5",
     .what = "BIC search + 1000-replicate BCa bootstrap (ntop 100), UKdat_5 (5 lists)",
     .file = "UKdat_5.csv",
     .method = RP_MSE_METHOD_BIC,
     .n_boot = DEFAULT_N_BOOT,
     .peer = "MultipleSystemsEstimation 1.2.0 estimate_population(method=\"bic\")",
     .peer_cpu_s = 100.0,
     .ref_n = 25311.3,
     .interval = INTERVAL_NONE,
     .ref_lo = NAN,
     .ref_hi = NAN,
     .ref_bca_lo = 11227.0,
     .ref_bca_hi = 55831.0,
     .ref_model = "[123,25,34]"},
    {.id = "bic_search_UKdat",
     .what = "BIC search over all 32,768 two-way models, UKdat (6 lists)",
     .file = "UKdat.csv",
     .method = RP_MSE_METHOD_BIC,
     .max_order = 2,
     .peer = "Rcapture 1.4-4 search of all two-way models",
     .peer_cpu_s = 185.0,
     .ref_n = 12349.6,
     .interval = INTERVAL_PROFILE,
     .ref_lo = 10868.2,
     .ref_hi = 14142.5,
     .ref_bca_lo = NAN,
     .ref_bca_hi = NAN,
     .ref_model = "[12,13,25,35,36,45]",
     .ref_n_models = 32768},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* The --only id of the IRLS timing (microseconds per fit), which is not a bench_case. */
#define IRLS_ID "irls"

/* Digits after the decimal point of the reference N and intervals above. */
#define REF_DECIMALS 1

/* ==== command line ==== */

typedef struct bench_args {
    size_t reps;     /* timed repetitions per case */
    size_t fit_reps; /* fits per batch in the IRLS benchmark; 0 = skip it */
    size_t n_boot;   /* bootstrap replicates of the bootstrap cases */
    const char *data_dir;
    const char *only; /* comma-separated case ids, NULL = all */
    bool bare;        /* only what the peer computes (default); false with --extras */
    bool json;
    bool strict;
} bench_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_mse [options]\n"
            "\n"
            "Time the MSE engine on the cases the R peers were timed on (SparseMSE\n"
            "stepwise + BCa bootstrap, MultipleSystemsEstimation BIC bootstrap, Rcapture\n"
            "search of all two-way models) and report the ratio of the peer's CPU time to\n"
            "ours against the goal of %.0fx, the numbers produced beside the published\n"
            "ones, and microseconds per IRLS fit. Times are the median of the repetitions;\n"
            "CPU time is CLOCK_PROCESS_CPUTIME_ID, wall time CLOCK_MONOTONIC.\n"
            "\n"
            "Options:\n"
            "  --reps N         timed repetitions per case (default %d)\n"
            "  --fit-reps N     IRLS fits per timed batch, %d batches (default %d; 0 skips)\n"
            "  --boot N         bootstrap replicates (default %d, as the peers were timed;\n"
            "                   ratios assume that number)\n"
            "  --only IDS       comma-separated case ids (default all):\n",
            GOAL_RATIO, DEFAULT_REPS, FIT_BATCHES, DEFAULT_FIT_REPS, DEFAULT_N_BOOT);
    for (size_t i = 0; i < N_CASES; i++)
        fprintf(f, "                     %s\n", cases[i].id);
    fprintf(f, "                     %s (microseconds per IRLS fit)\n", IRLS_ID);
    fprintf(f,
            "  --data DIR       directory with UKdat.csv, Ned.csv, ... (default\n"
            "                   %s, else %s; relative to the current directory)\n"
            "  --extras         also time what rapporteur adds to the peer's output: the\n"
            "                   profile interval, runners-up and the other selection rule\n"
            "  --bare           the default: time only what the peer computes\n"
            "  --strict         exit 1 when a case is below the goal or a number differs\n"
            "  --json           print one JSON object on stdout instead of the report\n"
            "  -h, --help       show this help\n"
            "\n"
            "Exit status: 0 ok (whatever the verdicts, unless --strict), 1 a case failed\n"
            "or --strict found a shortfall, 2 usage.\n",
            DEFAULT_DATA_DIR, FALLBACK_DATA_DIR);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(bench_args *a, int argc, char **argv)
{
    enum {
        OPT_REPS = 256,
        OPT_FIT_REPS,
        OPT_BOOT,
        OPT_ONLY,
        OPT_DATA,
        OPT_BARE,
        OPT_EXTRAS,
        OPT_STRICT,
        OPT_JSON
    };
    static const struct option longopts[] = {{"reps", required_argument, NULL, OPT_REPS},
                                             {"fit-reps", required_argument, NULL, OPT_FIT_REPS},
                                             {"boot", required_argument, NULL, OPT_BOOT},
                                             {"only", required_argument, NULL, OPT_ONLY},
                                             {"data", required_argument, NULL, OPT_DATA},
                                             {"bare", no_argument, NULL, OPT_BARE},
                                             {"extras", no_argument, NULL, OPT_EXTRAS},
                                             {"strict", no_argument, NULL, OPT_STRICT},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case OPT_REPS:
            if (!bench_opt_count(&a->reps, optarg, 1, "bench_mse", "--reps"))
                return 2;
            break;
        case OPT_FIT_REPS:
            if (!bench_opt_count(&a->fit_reps, optarg, 0, "bench_mse", "--fit-reps"))
                return 2;
            break;
        case OPT_BOOT:
            if (!bench_opt_count(&a->n_boot, optarg, 0, "bench_mse", "--boot"))
                return 2;
            break;
        case OPT_ONLY:
            a->only = optarg;
            break;
        case OPT_DATA:
            a->data_dir = optarg;
            break;
        case OPT_BARE:
            a->bare = true;
            break;
        case OPT_EXTRAS:
            a->bare = false;
            break;
        case OPT_STRICT:
            a->strict = true;
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
        fprintf(stderr, "bench_mse: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (a->only) {
        /* every id named must exist */
        const char *p = a->only;
        while (*p) {
            size_t len = strcspn(p, ",");
            bool found = strlen(IRLS_ID) == len && strncmp(IRLS_ID, p, len) == 0;
            for (size_t i = 0; i < N_CASES && !found; i++)
                found = strlen(cases[i].id) == len && strncmp(cases[i].id, p, len) == 0;
            if (!found) {
                fprintf(stderr, "bench_mse: unknown case '%.*s' (see --help)\n", (int)len, p);
                return 2;
            }
            p += len + (p[len] == ',');
        }
    }
    return -1;
}

static bool selected(const bench_args *a, const char *id)
{
    if (!a->only)
        return true;
    size_t n = strlen(id);
    const char *p = a->only;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, id, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* ==== formatting ==== */

/* @p x with thousands separators and @p decimals digits: "11,418.0". */
static const char *fmt_num(char *buf, size_t size, double x, int decimals)
{
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "-" : (x > 0 ? "inf" : "-inf"));
        return buf;
    }
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", decimals, fabs(x));
    size_t int_len = strcspn(raw, ".");
    size_t o = 0;
    if (x < 0 && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; raw[i] && o + 1 < size; i++) {
        if (i > 0 && i < int_len && (int_len - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *fmt_interval(char *buf, size_t size, double lo, double hi, int decimals)
{
    char a[48], b[48];
    snprintf(buf, size, "%s - %s", fmt_num(a, sizeof(a), lo, decimals),
             fmt_num(b, sizeof(b), hi, decimals));
    return buf;
}

/* True when @p ours rounds to @p ref printed with @p decimals digits. */
static bool same_at(double ours, double ref, int decimals)
{
    double half_unit = 0.5 * pow(10.0, -decimals);
    return isfinite(ours) && fabs(ours - ref) <= half_unit * (1.0 + 1e-9);
}

/* Both models closed and canonical: the same terms in the same order. */
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

/* ==== running a case ==== */

typedef struct case_run {
    const bench_case *c;
    rp_error err;
    size_t reps;
    double cpu_s, wall_s, cpu_min_s; /* medians, and the fastest repetition */
    double ratio;                    /* peer CPU / our median CPU */
    rp_capture_table *tab;
    rp_mse_result *res; /* of the last repetition */
    rp_mse_model ref_model;
    double our_lo, our_hi; /* the interval of the kind the reference gives */
    bool ran;
    bool deterministic; /* every repetition gave the same estimate and BCa ends */
    bool same_n, same_interval, same_model_, same_n_models;
} case_run;

static int load_table(rp_capture_table **out, const char *dir, const char *file, rp_error *err)
{
    *out = NULL;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    rp_capture_set *set = NULL;
    int rc = rp_capture_read_csv(&set, path, NULL, err);
    if (rc != RP_OK)
        return rc;
    *out = set->total;
    set->total = NULL;
    rp_capture_set_free(set);
    return RP_OK;
}

static void case_opts(rp_mse_opts *o, const bench_case *c, const bench_args *a)
{
    static const rp_mse_opts init = RP_MSE_OPTS_INIT;
    *o = init;
    o->method = c->method;
    o->max_order = c->max_order;
    o->n_boot = c->n_boot ? a->n_boot : 0;
    if (a->bare) {
        /* what the peer computed: its own interval only (Rcapture's profile interval stays) */
        o->profile = c->interval == INTERVAL_PROFILE;
        o->n_runners_up = 0;
        o->max_excluded = 0;
    }
}

static int run_case(case_run *r, const bench_case *c, const bench_args *a, const char *dir)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    rp_error err = RP_ERROR_INIT;
    double *cpu = NULL, *wall = NULL;
    int rc = load_table(&r->tab, dir, c->file, &err);
    if (rc != RP_OK)
        goto out;
    rc = rp_mse_model_parse(&r->ref_model, r->tab, c->ref_model, &err);
    if (rc != RP_OK)
        goto out;
    rp_mse_opts o;
    case_opts(&o, c, a);
    cpu = rp_calloc(a->reps, sizeof(*cpu));
    wall = rp_calloc(a->reps, sizeof(*wall));
    if (!cpu || !wall) {
        rc = rp_error_set(&err, RP_ENOMEM, "out of memory");
        goto out;
    }
    r->deterministic = true;
    for (size_t i = 0; i < a->reps; i++) {
        rp_mse_result *res = NULL;
        double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        double w0 = bench_clock_seconds(CLOCK_MONOTONIC);
        rc = rp_mse_estimate(&res, r->tab, &o, &err);
        double c1 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        double w1 = bench_clock_seconds(CLOCK_MONOTONIC);
        if (rc != RP_OK)
            goto out;
        cpu[i] = c1 - c0;
        wall[i] = w1 - w0;
        if (r->res) {
            /* same seed, same data: the results must not move (NaN BCa ends compare equal) */
            bool same = res->estimate == r->res->estimate &&
                        (res->bca_lower == r->res->bca_lower ||
                         (isnan(res->bca_lower) && isnan(r->res->bca_lower))) &&
                        (res->bca_upper == r->res->bca_upper ||
                         (isnan(res->bca_upper) && isnan(r->res->bca_upper)));
            r->deterministic = r->deterministic && same;
        }
        rp_mse_result_free(r->res);
        r->res = res;
        r->reps++;
    }
    r->cpu_min_s = cpu[0];
    for (size_t i = 1; i < r->reps; i++)
        r->cpu_min_s = fmin(r->cpu_min_s, cpu[i]);
    r->cpu_s = bench_median(cpu, r->reps);
    r->wall_s = bench_median(wall, r->reps);
    r->ratio = c->peer_cpu_s / r->cpu_s;
    r->ran = true;

    const rp_mse_result *res = r->res;
    r->our_lo = c->interval == INTERVAL_PROFILE ? res->profile_lower : res->ci_lower;
    r->our_hi = c->interval == INTERVAL_PROFILE ? res->profile_upper : res->ci_upper;
    r->same_n = same_at(res->estimate, c->ref_n, REF_DECIMALS);
    r->same_interval =
        c->interval == INTERVAL_NONE || (same_at(r->our_lo, c->ref_lo, REF_DECIMALS) &&
                                         same_at(r->our_hi, c->ref_hi, REF_DECIMALS));
    r->same_model_ = same_model(&res->model, &r->ref_model);
    r->same_n_models = c->ref_n_models == 0 || res->n_models == c->ref_n_models;
out:
    rp_free(cpu);
    rp_free(wall);
    if (rc != RP_OK)
        r->err = err;
    return rc;
}

static void case_run_release(case_run *r)
{
    rp_mse_result_free(r->res);
    rp_capture_table_free(r->tab);
    r->res = NULL;
    r->tab = NULL;
}

static bool case_numbers_same(const case_run *r)
{
    return r->same_n && r->same_interval && r->same_model_ && r->same_n_models;
}

/* ==== IRLS fits ==== */

typedef struct fit_run {
    const char *id;
    const char *spec;
    double ref_n; /* SparseMSE's N for this model (bench/README.md) */
    bool ran;
    rp_error err;
    size_t fits;       /* per batch */
    double us_per_fit; /* median over batches, CPU */
    double wall_us_per_fit;
    rp_mse_fit fit;
} fit_run;

/*
 * Time rp_mse_fit_model() with one workspace reused for every fit, as searches and
 * bootstrap replicates use it: FIT_BATCHES batches of @p fits fits each.
 */
static int run_fits(fit_run *f, const rp_capture_table *tab, size_t fits)
{
    rp_error err = RP_ERROR_INIT;
    rp_mse_workspace *ws = NULL;
    rp_mse_model model;
    double cpu[FIT_BATCHES], wall[FIT_BATCHES];
    f->fits = fits;
    int rc = rp_mse_model_parse(&model, tab, f->spec, &err);
    if (rc != RP_OK)
        goto out;
    rc = rp_mse_workspace_new(&ws, tab->n_lists, &err);
    if (rc != RP_OK)
        goto out;
    /* one untimed fit to warm caches and the workspace */
    rc = rp_mse_fit_model(&f->fit, tab, &model, NULL, ws, &err);
    if (rc != RP_OK)
        goto out;
    for (size_t b = 0; b < FIT_BATCHES; b++) {
        double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        double w0 = bench_clock_seconds(CLOCK_MONOTONIC);
        for (size_t i = 0; i < fits && rc == RP_OK; i++)
            rc = rp_mse_fit_model(&f->fit, tab, &model, NULL, ws, &err);
        double c1 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        double w1 = bench_clock_seconds(CLOCK_MONOTONIC);
        if (rc != RP_OK)
            goto out;
        cpu[b] = (c1 - c0) / (double)fits * 1e6;
        wall[b] = (w1 - w0) / (double)fits * 1e6;
    }
    f->us_per_fit = bench_median(cpu, FIT_BATCHES);
    f->wall_us_per_fit = bench_median(wall, FIT_BATCHES);
    f->ran = true;
out:
    rp_mse_workspace_free(ws);
    if (rc != RP_OK)
        f->err = err;
    return rc;
}

/* ==== report ==== */

static const char *mark(bool same)
{
    return same ? "same" : "DIFFERENT";
}

static const char *verdict(double ratio)
{
    return ratio >= GOAL_RATIO ? "PASS" : "BELOW-GOAL";
}

static void print_header(const bench_machine *m, const bench_args *a, const char *dir)
{
    printf("bench_mse: the MSE engine against its R peers (rapporteur %s)\n", RP_VERSION_STRING);
    bench_machine_print(m);
    printf("method     median of %zu repetitions; CPU = CLOCK_PROCESS_CPUTIME_ID (all threads), "
           "wall = CLOCK_MONOTONIC\n",
           a->reps);
    printf("goal       peer CPU / our CPU >= %.0fx, with the same numbers; data %s%s\n", GOAL_RATIO,
           dir,
           a->bare ? "; only what the peer computes" : "; --extras (with rapporteur's additions)");
}

static void print_case(const case_run *r, size_t i, size_t n)
{
    const bench_case *c = r->c;
    printf("\n[%zu/%zu] %s  (%s)\n", i, n, c->what, c->id);
    if (!r->ran) {
        printf("  FAILED     %s\n", r->err.msg);
        return;
    }
    const rp_mse_result *res = r->res;
    char a[96], b[96], mbuf[512], rbuf[512];
    printf("  peer       %s: %.0f s CPU\n", c->peer, c->peer_cpu_s);
    printf("  ours       %.3f s CPU (median of %zu, fastest %.3f), %.3f s wall\n", r->cpu_s,
           r->reps, r->cpu_min_s, r->wall_s);
    printf("  ratio      %.0fx   %s (goal %.0fx)\n", r->ratio, verdict(r->ratio), GOAL_RATIO);
    printf("  %-20s %-28s %-28s\n", "numbers", "ours", "reference");
    printf("  %-20s %-28s %-28s %s\n", "N", fmt_num(a, sizeof(a), res->estimate, REF_DECIMALS),
           fmt_num(b, sizeof(b), c->ref_n, REF_DECIMALS), mark(r->same_n));
    if (c->interval != INTERVAL_NONE) {
        char lab[32];
        snprintf(lab, sizeof(lab), "95%% %s",
                 c->interval == INTERVAL_PROFILE ? "profile" : "model-cond.");
        printf("  %-20s %-28s %-28s %s\n", lab,
               fmt_interval(a, sizeof(a), r->our_lo, r->our_hi, REF_DECIMALS),
               fmt_interval(b, sizeof(b), c->ref_lo, c->ref_hi, REF_DECIMALS),
               mark(r->same_interval));
    }
    if (res->n_boot > 0) {
        char lab[32];
        snprintf(lab, sizeof(lab), "95%% BCa (%zu)", res->n_boot);
        printf("  %-20s %-28s %-28s %s\n", lab,
               fmt_interval(a, sizeof(a), res->bca_lower, res->bca_upper, 0),
               isnan(c->ref_bca_lo) ? "-"
                                    : fmt_interval(b, sizeof(b), c->ref_bca_lo, c->ref_bca_hi, 0),
               "Monte Carlo: not compared");
    }
    rp_mse_model_format(&res->model, r->tab, RP_MSE_STYLE_BRACKETS, mbuf, sizeof(mbuf));
    rp_mse_model_format(&r->ref_model, r->tab, RP_MSE_STYLE_BRACKETS, rbuf, sizeof(rbuf));
    printf("  %-20s %-28s %-28s %s\n", "model", mbuf, rbuf, mark(r->same_model_));
    rp_mse_model_format(&res->model, r->tab, RP_MSE_STYLE_NAMES, mbuf, sizeof(mbuf));
    printf("  %-20s %s\n", "", mbuf);
    if (c->ref_n_models) {
        char nb[32], ob[32];
        snprintf(a, sizeof(a), "%s (%zu refused)",
                 fmt_num(ob, sizeof(ob), (double)res->n_models, 0), res->n_excluded_total);
        fmt_num(nb, sizeof(nb), (double)c->ref_n_models, 0);
        printf("  %-20s %-28s %-28s %s\n", "models searched", a, nb, mark(r->same_n_models));
    }
    printf("  %-20s %s\n", "repeatable",
           r->deterministic ? "yes (every repetition identical)" : "NO: repetitions differ");
}

static void print_summary(const case_run *runs, size_t n, const fit_run *fits, size_t n_fits)
{
    printf("\nsummary (CPU seconds; peer = one core)\n");
    printf("  %-22s %9s %10s %9s %8s  %-10s %s\n", "case", "peer s", "our CPU s", "wall s", "ratio",
           "speed", "numbers");
    for (size_t i = 0; i < n; i++) {
        const case_run *r = &runs[i];
        if (!r->ran) {
            printf("  %-22s %9.0f %10s %9s %8s  %-10s %s\n", r->c->id, r->c->peer_cpu_s, "-", "-",
                   "-", "FAILED", "-");
            continue;
        }
        printf("  %-22s %9.0f %10.3f %9.3f %7.0fx  %-10s %s\n", r->c->id, r->c->peer_cpu_s,
               r->cpu_s, r->wall_s, r->ratio, verdict(r->ratio),
               case_numbers_same(r) ? "same" : "DIFFERENT");
    }
    if (n_fits == 0)
        return;
    printf("\nIRLS fits on UKdat (rp_mse_fit_model, one reused workspace; median of %d batches "
           "of %zu fits)\n",
           FIT_BATCHES, fits[0].fits);
    for (size_t i = 0; i < n_fits; i++) {
        const fit_run *f = &fits[i];
        if (!f->ran) {
            printf("  %-16s FAILED: %s\n", f->id, f->err.msg);
            continue;
        }
        char nb[48], rb[48];
        printf("  %-16s %8.2f us CPU per fit, %8.2f us wall; %2d iterations; N %s (ref %s) %s\n",
               f->id, f->us_per_fit, f->wall_us_per_fit, f->fit.iterations,
               fmt_num(nb, sizeof(nb), f->fit.estimate, REF_DECIMALS),
               fmt_num(rb, sizeof(rb), f->ref_n, REF_DECIMALS),
               mark(same_at(f->fit.estimate, f->ref_n, REF_DECIMALS)));
    }
}

/* ==== JSON ==== */

static json_t *json_report(const bench_machine *m,
                           const bench_args *a,
                           const char *dir,
                           const case_run *runs,
                           size_t n,
                           const fit_run *fits,
                           size_t n_fits)
{
    json_t *root = json_object();
    json_t *mach = json_object();
    json_object_set_new(mach, "cpu", json_string(m->cpu));
    json_object_set_new(mach, "cores", json_integer(m->cores));
    json_object_set_new(mach, "compiler", json_string(m->compiler));
    json_object_set_new(mach, "assertions", json_boolean(m->assertions));
    json_object_set_new(mach, "date", json_string(m->date));
    json_object_set_new(mach, "load_average", json_string(m->load));
    json_object_set_new(root, "bench", json_string("bench_mse"));
    json_object_set_new(root, "version", json_string(RP_VERSION_STRING));
    json_object_set_new(root, "machine", mach);
    json_object_set_new(root, "goal_ratio", json_real(GOAL_RATIO));
    json_object_set_new(root, "reps", json_integer((json_int_t)a->reps));
    json_object_set_new(root, "bare", json_boolean(a->bare));
    json_object_set_new(root, "data_dir", json_string(dir));
    json_t *jc = json_array();
    for (size_t i = 0; i < n; i++) {
        const case_run *r = &runs[i];
        const bench_case *c = r->c;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(c->id));
        json_object_set_new(o, "what", json_string(c->what));
        json_object_set_new(o, "file", json_string(c->file));
        json_object_set_new(o, "method", json_string(rp_mse_method_str(c->method)));
        json_object_set_new(o, "peer", json_string(c->peer));
        json_object_set_new(o, "peer_cpu_s", json_real(c->peer_cpu_s));
        json_object_set_new(o, "ok", json_boolean(r->ran));
        if (!r->ran) {
            json_object_set_new(o, "error", json_string(r->err.msg));
            json_array_append_new(jc, o);
            continue;
        }
        const rp_mse_result *res = r->res;
        char mb[512];
        json_object_set_new(o, "reps", json_integer((json_int_t)r->reps));
        json_object_set_new(o, "cpu_s", json_real(r->cpu_s));
        json_object_set_new(o, "cpu_min_s", json_real(r->cpu_min_s));
        json_object_set_new(o, "wall_s", json_real(r->wall_s));
        json_object_set_new(o, "ratio", json_real(r->ratio));
        json_object_set_new(o, "verdict", json_string(verdict(r->ratio)));
        json_object_set_new(o, "deterministic", json_boolean(r->deterministic));
        json_t *ours = json_object();
        json_object_set_new(ours, "n", bench_json_number(res->estimate));
        json_object_set_new(ours, "lower", bench_json_number(r->our_lo));
        json_object_set_new(ours, "upper", bench_json_number(r->our_hi));
        json_object_set_new(ours, "bca_lower", bench_json_number(res->bca_lower));
        json_object_set_new(ours, "bca_upper", bench_json_number(res->bca_upper));
        json_object_set_new(ours, "n_boot", json_integer((json_int_t)res->n_boot));
        json_object_set_new(ours, "model",
                            json_string(rp_mse_model_format(
                                &res->model, r->tab, RP_MSE_STYLE_BRACKETS, mb, sizeof(mb))));
        json_object_set_new(ours, "model_names",
                            json_string(rp_mse_model_format(&res->model, r->tab, RP_MSE_STYLE_NAMES,
                                                            mb, sizeof(mb))));
        json_object_set_new(ours, "n_models", json_integer((json_int_t)res->n_models));
        json_object_set_new(ours, "n_excluded", json_integer((json_int_t)res->n_excluded_total));
        json_object_set_new(o, "ours", ours);
        json_t *ref = json_object();
        json_object_set_new(ref, "n", bench_json_number(c->ref_n));
        json_object_set_new(ref, "interval",
                            json_string(c->interval == INTERVAL_PROFILE       ? "profile"
                                        : c->interval == INTERVAL_CONDITIONAL ? "model-conditional"
                                                                              : "none"));
        json_object_set_new(ref, "lower", bench_json_number(c->ref_lo));
        json_object_set_new(ref, "upper", bench_json_number(c->ref_hi));
        json_object_set_new(ref, "bca_lower", bench_json_number(c->ref_bca_lo));
        json_object_set_new(ref, "bca_upper", bench_json_number(c->ref_bca_hi));
        json_object_set_new(ref, "model",
                            json_string(rp_mse_model_format(
                                &r->ref_model, r->tab, RP_MSE_STYLE_BRACKETS, mb, sizeof(mb))));
        if (c->ref_n_models)
            json_object_set_new(ref, "n_models", json_integer((json_int_t)c->ref_n_models));
        json_object_set_new(o, "reference", ref);
        json_t *same = json_object();
        json_object_set_new(same, "n", json_boolean(r->same_n));
        json_object_set_new(same, "interval", json_boolean(r->same_interval));
        json_object_set_new(same, "model", json_boolean(r->same_model_));
        json_object_set_new(same, "n_models", json_boolean(r->same_n_models));
        json_object_set_new(same, "all", json_boolean(case_numbers_same(r)));
        json_object_set_new(o, "same", same);
        json_array_append_new(jc, o);
    }
    json_object_set_new(root, "cases", jc);
    json_t *jf = json_array();
    for (size_t i = 0; i < n_fits; i++) {
        const fit_run *f = &fits[i];
        if (f->fits == 0)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(f->id));
        json_object_set_new(o, "data", json_string("UKdat.csv"));
        json_object_set_new(o, "model", json_string(f->spec));
        json_object_set_new(o, "ok", json_boolean(f->ran));
        if (f->ran) {
            json_object_set_new(o, "fits_per_batch", json_integer((json_int_t)f->fits));
            json_object_set_new(o, "batches", json_integer(FIT_BATCHES));
            json_object_set_new(o, "us_per_fit", json_real(f->us_per_fit));
            json_object_set_new(o, "wall_us_per_fit", json_real(f->wall_us_per_fit));
            json_object_set_new(o, "n", bench_json_number(f->fit.estimate));
            json_object_set_new(o, "ref_n", bench_json_number(f->ref_n));
            json_object_set_new(o, "same_n",
                                json_boolean(same_at(f->fit.estimate, f->ref_n, REF_DECIMALS)));
            json_object_set_new(o, "iterations", json_integer(f->fit.iterations));
        } else {
            json_object_set_new(o, "error", json_string(f->err.msg));
        }
        json_array_append_new(jf, o);
    }
    json_object_set_new(root, "irls", jf);
    return root;
}

/* ==== main ==== */

/* The data directory: --data, else the default, else the fallback (which lacks Ned). */
static const char *find_data_dir(const bench_args *a)
{
    if (a->data_dir)
        return a->data_dir;
    if (access(DEFAULT_DATA_DIR "/UKdat.csv", R_OK) == 0)
        return DEFAULT_DATA_DIR;
    return FALLBACK_DATA_DIR;
}

int main(int argc, char **argv)
{
    bench_args a = {DEFAULT_REPS, DEFAULT_FIT_REPS, DEFAULT_N_BOOT, NULL, NULL, true, false, false};
    int st = parse_args(&a, argc, argv);
    if (st >= 0)
        return st;
    rp_init();
    const char *dir = find_data_dir(&a);
    bench_machine m;
    bench_machine_describe(&m);
    if (!a.json)
        print_header(&m, &a, dir);

    case_run runs[N_CASES];
    size_t n_runs = 0;
    bool failed = false, shortfall = false;
    size_t n_selected = 0;
    for (size_t i = 0; i < N_CASES; i++)
        n_selected += selected(&a, cases[i].id);
    for (size_t i = 0; i < N_CASES; i++) {
        if (!selected(&a, cases[i].id))
            continue;
        case_run *r = &runs[n_runs++];
        if (run_case(r, &cases[i], &a, dir) != RP_OK)
            failed = true;
        else if (r->ratio < GOAL_RATIO || !case_numbers_same(r) || !r->deterministic)
            shortfall = true;
        if (!a.json) {
            print_case(r, n_runs, n_selected);
            fflush(stdout);
        }
    }

    /* IRLS cost, on UKdat: main effects and SparseMSE's stepwise model */
    fit_run fits[2] = {{.id = "main_effects", .spec = "main", .ref_n = 12214.0},
                       {.id = "stepwise_model",
                        .spec = "PF:NCA, LA:NG, NG:GP, LA:PF, PF:GP, GO:GP, NG:GO",
                        .ref_n = 11418.0}};
    size_t n_fits = 0;
    if (a.fit_reps > 0 && selected(&a, IRLS_ID)) {
        rp_capture_table *tab = NULL;
        rp_error err = RP_ERROR_INIT;
        n_fits = 2;
        if (load_table(&tab, dir, "UKdat.csv", &err) != RP_OK) {
            for (size_t i = 0; i < n_fits; i++) {
                fits[i].fits = a.fit_reps;
                fits[i].err = err;
            }
            failed = true;
        } else {
            for (size_t i = 0; i < n_fits; i++) {
                if (run_fits(&fits[i], tab, a.fit_reps) != RP_OK)
                    failed = true;
            }
        }
        rp_capture_table_free(tab);
    }

    if (a.json) {
        json_t *root = json_report(&m, &a, dir, runs, n_runs, fits, n_fits);
        if (!root || json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0) {
            fprintf(stderr, "bench_mse: cannot write the JSON report\n");
            failed = true;
        }
        putchar('\n');
        json_decref(root);
    } else {
        print_summary(runs, n_runs, fits, n_fits);
    }
    for (size_t i = 0; i < n_runs; i++)
        case_run_release(&runs[i]);
    if (failed)
        return 1;
    return a.strict && shortfall ? 1 : 0;
}
