/*
 * rapporteur CLI: `rapporteur estimate FILE`, multiple systems estimation of the hidden
 * total from capture histories. Reads the CSV, calls rp_mse_estimate() on the pooled
 * table (and on each stratum with --by), and formats the result as a table or as JSON.
 * No statistics are computed here beyond list sizes and differences for display.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

enum {
    OPT_LISTS = RP_CLI_OPT_FIRST,
    OPT_MERGE,
    OPT_BY,
    OPT_FORM,
    OPT_METHOD,
    OPT_CRITERION,
    OPT_MODEL,
    OPT_MAX_ORDER,
    OPT_PTHRESH,
    OPT_LEVEL,
    OPT_BOOTSTRAP,
    OPT_SEED,
    OPT_THREADS,
    OPT_NTOP,
    OPT_NO_PROFILE,
    OPT_OUT,
    OPT_STORE
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"lists", required_argument, NULL, OPT_LISTS},
                                         {"merge", required_argument, NULL, OPT_MERGE},
                                         {"by", required_argument, NULL, OPT_BY},
                                         {"form", required_argument, NULL, OPT_FORM},
                                         {"method", required_argument, NULL, OPT_METHOD},
                                         {"criterion", required_argument, NULL, OPT_CRITERION},
                                         {"model", required_argument, NULL, OPT_MODEL},
                                         {"max-order", required_argument, NULL, OPT_MAX_ORDER},
                                         {"pthresh", required_argument, NULL, OPT_PTHRESH},
                                         {"level", required_argument, NULL, OPT_LEVEL},
                                         {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"ntop", required_argument, NULL, OPT_NTOP},
                                         {"no-profile", no_argument, NULL, OPT_NO_PROFILE},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f, "usage: rapporteur estimate FILE [options]\n"
               "       rapporteur estimate --store DB [--by FIELD] [options]\n"
               "\n"
               "Estimate the total number of people, seen and unseen, from capture histories\n"
               "(multiple systems estimation). FILE is a CSV with one 0/1 column per list and\n"
               "either a `count` column (aggregated) or one row per person.\n"
               "\n"
               "Input:\n"
               "  --lists A,B,C        use only these lists, in this order\n"
               "  --merge A+B          merge lists into one (repeatable; before --lists)\n"
               "  --by COL             estimate per stratum of column COL too (repeatable)\n"
               "  --form F             auto (default), aggregated or person\n"
               "  --store DB           capture histories from a store (rapporteur init) instead\n"
               "                       of FILE: one person per person id, on the lists that\n"
               "                       recorded them; --by takes standard fields such as\n"
               "                       registration_year or sex; records without a person id\n"
               "                       are left out (their number is a note)\n"
               "Model:\n"
               "  --method M           stepwise (default), bic, aic, average or fixed\n"
               "  --criterion C        bic (default) or aic: weights for --method average\n"
               "  --model SPEC         fixed model, e.g. \"LA*NG + PF*NCA\" or \"[12,34]\"\n"
               "                       (implies --method fixed)\n"
               "  --max-order N        highest interaction order searched (0 = default)\n"
               "  --pthresh P          stepwise threshold on the p-value (default 0.02)\n"
               "Intervals:\n"
               "  --level L            confidence level (default 0.95)\n"
               "  --no-profile         skip the profile-likelihood interval\n"
               "  --bootstrap N        BCa bootstrap with N replicates (default 0: none)\n"
               "  --seed N             bootstrap seed (default 1234)\n"
               "  --ntop N             best models kept in each bootstrap search (0 = default)\n"
               "  --threads N          bootstrap threads (default 0: one per CPU; results do\n"
               "                       not depend on it)\n"
               "Output:\n"
               "  --json               print JSON on stdout instead of the table\n"
               "  --out FILE           also write the JSON to FILE (atomically)\n"
               "  --quiet              no table and no progress bar\n"
               "  -h, --help           show this help\n"
               "\n"
               "Exit status: 0 ok, 1 estimation failed, 2 usage, 4 I/O error,\n"
               "65 bad input file (message \"file:line:column: ...\", no output written).\n");
}

/* ==== arguments ==== */

typedef struct est_args {
    rp_cli_common common;
    const char *path;
    rp_cli_strv lists, merges, by;
    rp_capture_form form;
    rp_mse_opts opts;
    bool method_set;
    const char *model_spec;
    const char *out_path;
    const char *store_path; /* --store: read the store instead of FILE */
} est_args;

static void args_release(est_args *a)
{
    rp_cli_strv_clear(&a->lists);
    rp_cli_strv_clear(&a->merges);
    rp_cli_strv_clear(&a->by);
}

#define CMD_NAME "estimate"

/* Input and output options. Returns -1 when applied, RP_CLI_OPT_UNKNOWN, or an exit status. */
static int apply_io_opt(est_args *a, int opt, const char *v)
{
    rp_error err = RP_ERROR_INIT;
    rp_cli_strv *sv = NULL;
    switch (opt) {
    case OPT_LISTS:
        sv = &a->lists;
        break;
    case OPT_MERGE:
        sv = &a->merges;
        break;
    case OPT_BY:
        sv = &a->by;
        break;
    case OPT_FORM:
        if (strcmp(v, "auto") == 0)
            a->form = RP_CAPTURE_FORM_AUTO;
        else if (strcmp(v, "aggregated") == 0)
            a->form = RP_CAPTURE_FORM_AGGREGATED;
        else if (strcmp(v, "person") == 0)
            a->form = RP_CAPTURE_FORM_PERSON;
        else
            return rp_cli_usage_error(CMD_NAME, "--form: expected auto, aggregated or person");
        return -1;
    case OPT_OUT:
        a->out_path = v;
        return -1;
    case OPT_STORE:
        a->store_path = v;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
    if (rp_cli_strv_split(sv, v, ',', &err) != RP_OK)
        return rp_cli_report(&err, false);
    return -1;
}

/* Model-selection options. Returns -1 when applied, RP_CLI_OPT_UNKNOWN, or an exit status. */
static int apply_model_opt(est_args *a, int opt, const char *v)
{
    rp_error err = RP_ERROR_INIT;
    switch (opt) {
    case OPT_METHOD:
        if (rp_mse_method_parse(&a->opts.method, v, &err) != RP_OK)
            return rp_cli_usage_error(CMD_NAME,
                                      "--method: expected stepwise, bic, aic, average or fixed");
        a->method_set = true;
        return -1;
    case OPT_CRITERION:
        if (strcmp(v, "bic") == 0)
            a->opts.criterion = RP_MSE_CRITERION_BIC;
        else if (strcmp(v, "aic") == 0)
            a->opts.criterion = RP_MSE_CRITERION_AIC;
        else
            return rp_cli_usage_error(CMD_NAME, "--criterion: expected bic or aic");
        return -1;
    case OPT_MODEL:
        a->model_spec = v;
        return -1;
    case OPT_MAX_ORDER:
        if (!rp_cli_parse_int(&a->opts.max_order, v, 0, RP_MSE_MAX_LISTS))
            return rp_cli_usage_error(CMD_NAME, "--max-order: expected an integer 0..%d",
                                      RP_MSE_MAX_LISTS);
        return -1;
    case OPT_PTHRESH:
        if (!rp_cli_parse_double(&a->opts.pthresh, v) || a->opts.pthresh <= 0.0 ||
            a->opts.pthresh >= 1.0)
            return rp_cli_usage_error(CMD_NAME, "--pthresh: expected a number in (0, 1)");
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* Interval options. Returns -1 when applied, RP_CLI_OPT_UNKNOWN, or an exit status. */
static int apply_interval_opt(est_args *a, int opt, const char *v)
{
    switch (opt) {
    case OPT_LEVEL:
        if (!rp_cli_parse_double(&a->opts.ci_level, v) || a->opts.ci_level <= 0.0 ||
            a->opts.ci_level >= 1.0)
            return rp_cli_usage_error(CMD_NAME, "--level: expected a number in (0, 1)");
        return -1;
    case OPT_BOOTSTRAP:
        if (!rp_cli_parse_size(&a->opts.n_boot, v))
            return rp_cli_usage_error(CMD_NAME, "--bootstrap: expected a non-negative integer");
        return -1;
    case OPT_SEED:
        if (!rp_cli_parse_u64(&a->opts.seed, v))
            return rp_cli_usage_error(CMD_NAME, "--seed: expected a non-negative integer");
        return -1;
    case OPT_THREADS:
        if (!rp_cli_parse_size(&a->opts.n_threads, v))
            return rp_cli_usage_error(CMD_NAME, "--threads: expected a non-negative integer");
        return -1;
    case OPT_NTOP:
        if (!rp_cli_parse_size(&a->opts.ntop, v))
            return rp_cli_usage_error(CMD_NAME, "--ntop: expected a non-negative integer");
        return -1;
    case OPT_NO_PROFILE:
        a->opts.profile = false;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* Checks that need every option: the input file, --model against --method, --out. */
static int check_args(est_args *a, int argc, char **argv)
{
    if (a->store_path != NULL) {
        if (optind < argc)
            return rp_cli_usage_error(CMD_NAME, "give either FILE or --store, not both");
        if (a->lists.n > 0 || a->merges.n > 0 || a->form != RP_CAPTURE_FORM_AUTO)
            return rp_cli_usage_error(CMD_NAME,
                                      "--lists, --merge and --form do not apply to --store");
        a->path = a->store_path;
    } else if (optind >= argc)
        return rp_cli_usage_error(CMD_NAME, "no input FILE given");
    else if (optind + 1 < argc)
        return rp_cli_usage_error(CMD_NAME, "one input FILE expected, got '%s' too",
                                  argv[optind + 1]);
    else
        a->path = argv[optind];
    if (a->model_spec != NULL) {
        if (a->method_set && a->opts.method != RP_MSE_METHOD_FIXED)
            return rp_cli_usage_error(CMD_NAME, "--model conflicts with --method %s",
                                      rp_mse_method_str(a->opts.method));
        a->opts.method = RP_MSE_METHOD_FIXED;
    } else if (a->opts.method == RP_MSE_METHOD_FIXED) {
        return rp_cli_usage_error(CMD_NAME, "--method fixed needs --model");
    }
    if (a->out_path != NULL && strcmp(a->out_path, a->path) == 0)
        return rp_cli_usage_error(CMD_NAME, "--out would overwrite the input file");
    return -1;
}

/* One estimate option (an rp_cli_opt_fn), offered to each group in turn. */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    est_args *a = payload;
    (void)name;
    int st = apply_io_opt(a, opt, v);
    if (st == RP_CLI_OPT_UNKNOWN)
        st = apply_model_opt(a, opt, v);
    if (st == RP_CLI_OPT_UNKNOWN)
        st = apply_interval_opt(a, opt, v);
    return st;
}

/*
 * Parse argv into @p a. Returns -1 to go on with the estimation, otherwise the exit
 * status (0 after --help). GNU getopt_long permutes argv, so options may follow FILE.
 */
static int parse_args(est_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st != -1)
        return st;
    return check_args(a, argc, argv);
}

/* ==== formatting helpers ==== */

/* Format @p x with @p decimals decimals and thousands separators; "-" for NaN. */
static const char *fmt_num(char *buf, size_t size, double x, int decimals)
{
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "-" : (x > 0 ? "inf" : "-inf"));
        return buf;
    }
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", decimals, x);
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    const char *dot = strchr(digits, '.');
    size_t int_len = dot != NULL ? (size_t)(dot - digits) : strlen(digits);
    size_t o = 0;
    if (raw[0] == '-' && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; i < int_len && o + 1 < size; i++) {
        if (i > 0 && (int_len - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    for (const char *p = digits + int_len; *p != '\0' && o + 1 < size; p++)
        buf[o++] = *p;
    buf[o] = '\0';
    return buf;
}

static double list_size(const rp_capture_table *tab, size_t i)
{
    size_t n_cells = (size_t)1 << tab->n_lists;
    double s = 0.0;
    for (size_t w = 1; w < n_cells; w++) {
        if ((w >> i) & 1U)
            s += tab->counts[w];
    }
    return s;
}

static const char *method_label(const rp_mse_opts *o, char *buf, size_t size)
{
    switch (o->method) {
    case RP_MSE_METHOD_STEPWISE:
        snprintf(buf, size, "stepwise (add two-list effects while p < %g)", o->pthresh);
        break;
    case RP_MSE_METHOD_AVERAGE:
        snprintf(buf, size, "average (%s weights)",
                 o->criterion == RP_MSE_CRITERION_AIC ? "AIC" : "BIC");
        break;
    case RP_MSE_METHOD_BIC:
        snprintf(buf, size, "bic (best BIC over all admissible models)");
        break;
    case RP_MSE_METHOD_AIC:
        snprintf(buf, size, "aic (best AIC over all admissible models)");
        break;
    default:
        snprintf(buf, size, "%s", rp_mse_method_str(o->method));
        break;
    }
    return buf;
}

/* ==== JSON ==== */

static json_t *model_terms_json(const rp_mse_model *m, const rp_capture_table *tab)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < m->n_terms; i++) {
        char buf[RP_MSE_MAX_LISTS * RP_MSE_NAME_MAX];
        json_array_append_new(a,
                              json_string(rp_mse_term_format(m->terms[i], tab, buf, sizeof(buf))));
    }
    return a;
}

static json_t *model_brackets_json(const rp_mse_model *m, const rp_capture_table *tab)
{
    char buf[4096];
    return json_string(rp_mse_model_format(m, tab, RP_MSE_STYLE_BRACKETS, buf, sizeof(buf)));
}

/* Set o[key] = v; Jansson steals v (and ignores a NULL v). */
static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v);
}

static json_t *result_json(const rp_mse_result *res,
                           const rp_capture_table *tab,
                           const rp_mse_opts *opts,
                           const char *stratum)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (stratum != NULL)
        put(o, "stratum", json_string(stratum));
    put(o, "observed", rp_cli_json_count(res->fit.observed));
    put(o, "estimate", rp_cli_json_number(res->estimate));
    put(o, "dark_figure", rp_cli_json_number(res->estimate - res->fit.observed));
    put(o, "ci_level", rp_cli_json_number(res->ci_level));
    put(o, "ci_lower", rp_cli_json_number(res->ci_lower));
    put(o, "ci_upper", rp_cli_json_number(res->ci_upper));
    put(o, "profile_lower", rp_cli_json_number(res->profile_lower));
    put(o, "profile_upper", rp_cli_json_number(res->profile_upper));
    if (res->n_boot > 0) {
        put(o, "bca_lower", rp_cli_json_number(res->bca_lower));
        put(o, "bca_upper", rp_cli_json_number(res->bca_upper));
        put(o, "boot_median", rp_cli_json_number(res->boot_median));
        put(o, "n_boot", json_integer((json_int_t)res->n_boot));
        put(o, "seed", json_integer((json_int_t)opts->seed));
    }
    put(o, "method", json_string(rp_mse_method_str(res->method)));
    if (res->method == RP_MSE_METHOD_AVERAGE)
        put(o, "criterion", json_string(opts->criterion == RP_MSE_CRITERION_AIC ? "aic" : "bic"));
    if (res->method == RP_MSE_METHOD_STEPWISE)
        put(o, "pthresh", rp_cli_json_number(opts->pthresh));
    put(o, "model", model_terms_json(&res->model, tab));
    put(o, "estimate_se", rp_cli_json_number(res->estimate_se));
    if (res->method == RP_MSE_METHOD_AVERAGE && res->n_ranked > 0)
        put(o, "model_weight", rp_cli_json_number(res->ranked[0].weight));
    put(o, "model_brackets", model_brackets_json(&res->model, tab));
    put(o, "deviance", rp_cli_json_number(res->fit.deviance));
    put(o, "df", json_integer((json_int_t)res->fit.df));
    put(o, "aic", rp_cli_json_number(res->fit.aic));
    put(o, "bic", rp_cli_json_number(res->fit.bic));
    put(o, "n_params", json_integer((json_int_t)res->fit.n_params));

    json_t *lists = json_array();
    for (size_t i = 0; lists != NULL && i < tab->n_lists; i++)
        json_array_append_new(lists, json_pack("{s:s, s:o}", "name", tab->list_names[i], "size",
                                               rp_cli_json_count(list_size(tab, i))));
    put(o, "lists", lists);

    json_t *inf = json_array();
    size_t n_inf =
        res->fit.n_infinite < RP_MSE_MAX_INFINITE ? res->fit.n_infinite : RP_MSE_MAX_INFINITE;
    for (size_t i = 0; inf != NULL && i < n_inf; i++) {
        char buf[RP_MSE_MAX_LISTS * RP_MSE_NAME_MAX];
        json_array_append_new(
            inf, json_string(rp_mse_term_format(res->fit.infinite[i], tab, buf, sizeof(buf))));
    }
    put(o, "infinite_terms", inf);

    json_t *runners = json_array();
    for (size_t i = 1; runners != NULL && i < res->n_ranked; i++) {
        const rp_mse_candidate *c = &res->ranked[i];
        json_t *r = json_object();
        if (r == NULL)
            break;
        put(r, "model", model_terms_json(&c->model, tab));
        put(r, "model_brackets", model_brackets_json(&c->model, tab));
        put(r, "estimate", rp_cli_json_number(c->fit.estimate));
        put(r, "aic", rp_cli_json_number(c->fit.aic));
        put(r, "bic", rp_cli_json_number(c->fit.bic));
        put(r, "delta", rp_cli_json_number(c->fit.estimate - res->estimate));
        put(r, "ratio", rp_cli_json_number(c->fit.estimate / res->estimate));
        if (res->method == RP_MSE_METHOD_AVERAGE)
            put(r, "weight", rp_cli_json_number(c->weight));
        json_array_append_new(runners, r);
    }
    put(o, "runners_up", runners);
    if (res->has_alternative) {
        json_t *alt = json_object();
        put(alt, "method", json_string(rp_mse_method_str(res->alternative_method)));
        put(alt, "model", model_terms_json(&res->alternative.model, tab));
        put(alt, "model_brackets", model_brackets_json(&res->alternative.model, tab));
        put(alt, "estimate", rp_cli_json_number(res->alternative.fit.estimate));
        put(alt, "bic", rp_cli_json_number(res->alternative.fit.bic));
        put(alt, "aic", rp_cli_json_number(res->alternative.fit.aic));
        put(o, "alternative", alt);
    }

    json_t *excl = json_array();
    for (size_t i = 0; excl != NULL && i < res->n_excluded; i++) {
        const rp_mse_candidate *c = &res->excluded[i];
        json_array_append_new(excl, json_pack("{s:o, s:o, s:s}", "model",
                                              model_terms_json(&c->model, tab), "model_brackets",
                                              model_brackets_json(&c->model, tab), "reason",
                                              rp_mse_existence_str(c->existence)));
    }
    put(o, "excluded", excl);
    put(o, "n_models", json_integer((json_int_t)res->n_models));
    put(o, "n_excluded", json_integer((json_int_t)res->n_excluded_total));
    put(o, "chapman", rp_cli_json_number(res->chapman));
    put(o, "chapman_se", rp_cli_json_number(res->chapman_se));
    put(o, "chao_lower_bound", rp_cli_json_number(res->chao_lower_bound));

    json_t *notes = json_array();
    for (size_t i = 0; notes != NULL && i < res->n_notes; i++)
        json_array_append_new(notes, json_string(res->notes[i]));
    put(o, "notes", notes);
    return o;
}

/* ==== table ==== */

static void print_interval(const char *label, double level, double lo, double hi, const char *how)
{
    char a[64], b[64], head[64];
    if (isnan(lo) && isnan(hi))
        return;
    snprintf(head, sizeof(head), "%g%% %s", level * 100.0, label);
    printf("%-18s %s - %s   %s\n", head, fmt_num(a, sizeof(a), lo, 1), fmt_num(b, sizeof(b), hi, 1),
           how);
}

static void print_result(const rp_mse_result *res,
                         const rp_capture_table *tab,
                         const rp_mse_opts *opts,
                         bool detailed)
{
    char a[64], b[64], c[64], d[64], e[64];
    char text[4096], brackets[4096];

    printf("Lists (%zu)\n", tab->n_lists);
    for (size_t i = 0; i < tab->n_lists; i++)
        printf("  %-16s %12s\n", tab->list_names[i], fmt_num(a, sizeof(a), list_size(tab, i), 0));
    printf("Observed           %s\n", fmt_num(a, sizeof(a), res->fit.observed, 0));
    printf("Estimate           %s   (unseen: %s)\n", fmt_num(a, sizeof(a), res->estimate, 1),
           fmt_num(b, sizeof(b), res->estimate - res->fit.observed, 1));
    printf("Method             %s\n", method_label(opts, text, sizeof(text)));
    printf(
        "Model              %s   %s\n",
        rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_NAMES, text, sizeof(text)),
        rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_BRACKETS, brackets, sizeof(brackets)));
    print_interval("interval", res->ci_level, res->ci_lower, res->ci_upper,
                   res->method == RP_MSE_METHOD_AVERAGE
                       ? "model-averaged (Buckland et al. 1997, log-normal on unseen)"
                       : "model-conditional (normal on log unseen)");
    print_interval("profile", res->ci_level, res->profile_lower, res->profile_upper,
                   "profile likelihood (Cormack 1992)");
    if (res->n_boot > 0) {
        char how[128];
        snprintf(how, sizeof(how), "BCa bootstrap, %zu replicates, seed %llu", res->n_boot,
                 (unsigned long long)opts->seed);
        print_interval("BCa", res->ci_level, res->bca_lower, res->bca_upper, how);
    }
    printf("Fit                deviance %s, df %zu, AIC %s, BIC %s\n",
           fmt_num(a, sizeof(a), res->fit.deviance, 2), res->fit.df,
           fmt_num(b, sizeof(b), res->fit.aic, 2), fmt_num(c, sizeof(c), res->fit.bic, 2));
    if (res->fit.n_infinite > 0) {
        printf("At minus infinity  ");
        size_t n =
            res->fit.n_infinite < RP_MSE_MAX_INFINITE ? res->fit.n_infinite : RP_MSE_MAX_INFINITE;
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i > 0 ? ", " : "",
                   rp_mse_term_format(res->fit.infinite[i], tab, text, sizeof(text)));
        printf("\n                   (lists with no case in common: their cells are removed,"
               " as SparseMSE does)\n");
    }
    if (!isnan(res->chapman))
        printf("Chapman            %s (se %s)\n", fmt_num(a, sizeof(a), res->chapman, 1),
               fmt_num(b, sizeof(b), res->chapman_se, 1));
    printf("Chao lower bound   %s\n", fmt_num(a, sizeof(a), res->chao_lower_bound, 1));
    printf("Models             %zu considered, %zu refused by the existence check\n", res->n_models,
           res->n_excluded_total);

    if (res->has_alternative) {
        const rp_mse_candidate *k = &res->alternative;
        printf("Under %-12s %s  (%+.1f%%)  %s\n",
               res->alternative_method == RP_MSE_METHOD_BIC ? "BIC search" : "stepwise",
               fmt_num(a, sizeof(a), k->fit.estimate, 1),
               100.0 * (k->fit.estimate / res->estimate - 1.0),
               rp_mse_model_format(&k->model, tab, RP_MSE_STYLE_NAMES, text, sizeof(text)));
    }
    if (detailed && res->n_ranked > 1) {
        /* for stepwise the ranked models are the path: the models of the earlier steps */
        printf("\n%-16s %11s %11s %7s %9s %9s   model\n",
               res->method == RP_MSE_METHOD_STEPWISE ? "Earlier steps" : "Runner-up models",
               "estimate", "change", "ratio", "AIC", "BIC");
        for (size_t i = 1; i < res->n_ranked; i++) {
            const rp_mse_candidate *k = &res->ranked[i];
            double delta = k->fit.estimate - res->estimate;
            char sign[70];
            snprintf(sign, sizeof(sign), "%s%s", delta > 0 ? "+" : "",
                     fmt_num(d, sizeof(d), delta, 1));
            printf("  %-3zu %22s %11s %7.3f %9s %9s   %s\n", i,
                   fmt_num(a, sizeof(a), k->fit.estimate, 1), sign, k->fit.estimate / res->estimate,
                   fmt_num(b, sizeof(b), k->fit.aic, 2), fmt_num(e, sizeof(e), k->fit.bic, 2),
                   rp_mse_model_format(&k->model, tab, RP_MSE_STYLE_NAMES, text, sizeof(text)));
        }
    }
    if (detailed && res->n_excluded > 0) {
        printf("\nExcluded models (%zu in all; list numbers in column order)\n",
               res->n_excluded_total);
        for (size_t i = 0; i < res->n_excluded; i++) {
            const rp_mse_candidate *k = &res->excluded[i];
            printf("  %-28s %s\n",
                   rp_mse_model_format(&k->model, tab, RP_MSE_STYLE_BRACKETS, text, sizeof(text)),
                   rp_mse_existence_str(k->existence));
        }
        if (res->n_excluded < res->n_excluded_total)
            printf("  ... and %zu more\n", res->n_excluded_total - res->n_excluded);
    }
}

static void print_notes(char *const *notes, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++)
        printf("  - %s%s\n", prefix, notes[i]);
}

/* ==== the command ==== */

typedef struct est_run {
    rp_capture_set *set;
    rp_mse_result *total;
    rp_mse_result **strata; /* n_strata entries; NULL where the estimation failed */
    char **stratum_errors;  /* n_strata entries; message where it failed */
    double sum_estimate, sum_lower, sum_upper;
    bool sum_ok;
    long long unlinked; /* --store: records left out for want of a person id */
} est_run;

static void run_release(est_run *r)
{
    size_t n = r->set != NULL ? r->set->n_strata : 0;
    for (size_t i = 0; i < n && r->strata != NULL; i++)
        rp_mse_result_free(r->strata[i]);
    for (size_t i = 0; i < n && r->stratum_errors != NULL; i++)
        rp_free(r->stratum_errors[i]);
    rp_free(r->strata);
    rp_free(r->stratum_errors);
    rp_mse_result_free(r->total);
    rp_capture_set_free(r->set);
}

static const char *form_str(rp_capture_form f)
{
    switch (f) {
    case RP_CAPTURE_FORM_AGGREGATED:
        return "aggregated";
    case RP_CAPTURE_FORM_PERSON:
        return "person";
    default:
        return "auto";
    }
}

static json_t *run_json(const est_run *r, const est_args *a)
{
    const rp_capture_set *set = r->set;
    json_t *root = result_json(r->total, set->total, &a->opts, NULL);
    if (root == NULL)
        return NULL;
    /* the reader's notes come first: they concern the input */
    json_t *notes = json_object_get(root, "notes");
    for (size_t i = set->n_notes; notes != NULL && i > 0; i--)
        json_array_insert_new(notes, 0, json_string(set->notes[i - 1]));
    if (a->store_path != NULL) {
        put(root, "store", json_string(a->path));
        put(root, "unlinked_records", json_integer((json_int_t)r->unlinked));
    } else {
        put(root, "file", json_string(a->path));
    }
    put(root, "form", json_string(form_str(set->form)));
    put(root, "n_rows", json_integer((json_int_t)set->n_rows));
    put(root, "rapporteur_version", json_string(RP_VERSION_STRING));

    json_t *strata = json_array();
    for (size_t i = 0; strata != NULL && i < set->n_strata; i++) {
        json_t *s = NULL;
        if (r->strata[i] != NULL) {
            s = result_json(r->strata[i], set->strata[i], &a->opts, set->stratum_labels[i]);
        } else {
            s = json_pack("{s:s, s:o, s:o, s:s}", "stratum", set->stratum_labels[i], "observed",
                          rp_cli_json_count(rp_capture_table_observed(set->strata[i])), "estimate",
                          json_null(), "error", r->stratum_errors[i]);
        }
        json_array_append_new(strata, s);
    }
    put(root, "strata", strata);
    if (set->n_strata > 0) {
        json_t *by = json_array();
        for (size_t i = 0; by != NULL && i < a->by.n; i++)
            json_array_append_new(by, json_string(a->by.v[i]));
        put(root, "stratified_by", by);
        put(root, "total",
            json_pack("{s:o, s:o, s:o, s:o, s:s}", "estimate",
                      rp_cli_json_number(r->sum_ok ? r->sum_estimate : NAN), "ci_lower",
                      rp_cli_json_number(r->sum_ok ? r->sum_lower : NAN), "ci_upper",
                      rp_cli_json_number(r->sum_ok ? r->sum_upper : NAN), "ci_level",
                      rp_cli_json_number(a->opts.ci_level), "method",
                      "sum of stratum estimates, normal interval on the sum"));
    }
    return root;
}

static void run_print(const est_run *r, const est_args *a)
{
    const rp_capture_set *set = r->set;
    char x[64], y[64], z[64];
    printf("%-18s %s (%s, %zu rows)\n", a->store_path != NULL ? "Store" : "File", a->path,
           form_str(set->form), set->n_rows);
    if (set->n_strata > 0)
        printf("\n== All strata pooled ==\n");
    print_result(r->total, set->total, &a->opts, true);
    if (set->n_notes + r->total->n_notes > 0) {
        printf("\nNotes\n");
        print_notes(set->notes, set->n_notes, "");
        print_notes(r->total->notes, r->total->n_notes, "");
    }
    if (set->n_strata == 0)
        return;
    for (size_t i = 0; i < set->n_strata; i++) {
        printf("\n== Stratum %s ==\n", set->stratum_labels[i]);
        if (r->strata[i] == NULL) {
            printf("Observed           %s\n",
                   fmt_num(x, sizeof(x), rp_capture_table_observed(set->strata[i]), 0));
            printf("Estimate           not available: %s\n", r->stratum_errors[i]);
            continue;
        }
        print_result(r->strata[i], set->strata[i], &a->opts, false);
        if (r->strata[i]->n_notes > 0) {
            printf("Notes\n");
            print_notes(r->strata[i]->notes, r->strata[i]->n_notes, "");
        }
    }
    printf("\n== Summary by stratum ==\n");
    printf("  %-28s %10s %12s   %2g%% interval\n", "stratum", "observed", "estimate",
           a->opts.ci_level * 100.0);
    for (size_t i = 0; i < set->n_strata; i++) {
        const rp_mse_result *s = r->strata[i];
        printf("  %-28s %10s %12s   ", set->stratum_labels[i],
               fmt_num(x, sizeof(x), rp_capture_table_observed(set->strata[i]), 0),
               fmt_num(y, sizeof(y), s != NULL ? s->estimate : NAN, 1));
        if (s != NULL)
            printf("%s - %s\n", fmt_num(x, sizeof(x), s->ci_lower, 1),
                   fmt_num(z, sizeof(z), s->ci_upper, 1));
        else
            printf("(failed)\n");
    }
    printf("  %-28s %10s %12s   ", "sum of strata",
           fmt_num(x, sizeof(x), rp_capture_table_observed(set->total), 0),
           fmt_num(y, sizeof(y), r->sum_ok ? r->sum_estimate : NAN, 1));
    if (r->sum_ok)
        printf("%s - %s\n", fmt_num(x, sizeof(x), r->sum_lower, 1),
               fmt_num(z, sizeof(z), r->sum_upper, 1));
    else
        printf("(not available: a stratum failed)\n");
    char w[64];
    printf("  %-28s %10s %12s   %s - %s\n", "pooled (all strata)",
           fmt_num(x, sizeof(x), r->total->fit.observed, 0),
           fmt_num(y, sizeof(y), r->total->estimate, 1),
           fmt_num(z, sizeof(z), r->total->ci_lower, 1),
           fmt_num(w, sizeof(w), r->total->ci_upper, 1));
}

/*
 * Capture histories from the store at a->store_path (rp_store_capture_set), with a note
 * saying how many records were left out for want of a person id, unless the store's
 * notes say it already. The note joins the set's own (rp_malloc'ed, freed by
 * rp_capture_set_free()).
 */
static int read_store(est_run *r, const est_args *a, rp_error *err)
{
    rp_store *st = NULL;
    int rc = rp_store_open(&st, a->store_path, RP_STORE_READONLY, err);
    if (rc == RP_ENOTFOUND)
        rc = rp_error_set(err, RP_ENOTFOUND,
                          "no store at '%s' (create one with 'rapporteur init --store %s')",
                          a->store_path, a->store_path);
    if (rc != RP_OK)
        goto out;
    rc =
        rp_store_capture_set(&r->set, &r->unlinked, st, (const char *const *)a->by.v, a->by.n, err);
    if (rc != RP_OK || r->unlinked == 0)
        goto out;
    for (size_t i = 0; i < r->set->n_notes; i++) {
        if (strstr(r->set->notes[i], "without a person id") != NULL)
            goto out; /* the store said it already */
    }
    char note[160];
    snprintf(note, sizeof(note), "%lld stored record%s without a person id left out (not linked)",
             r->unlinked, r->unlinked == 1 ? "" : "s");
    char **notes = rp_reallocarray(r->set->notes, r->set->n_notes + 1, sizeof(*notes));
    if (notes == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    r->set->notes = notes;
    notes[r->set->n_notes] = rp_strdup(note);
    if (notes[r->set->n_notes] == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    r->set->n_notes++;
out:
    rp_store_close(st);
    return rc;
}

/* Estimate every stratum; a stratum that fails is reported, not fatal. */
static int estimate_strata(est_run *r, const rp_mse_opts *opts, rp_cli_progress_state *ps)
{
    rp_capture_set *set = r->set;
    size_t n = set->n_strata;
    r->strata = rp_calloc(n, sizeof(rp_mse_result *));
    r->stratum_errors = rp_calloc(n, sizeof(char *));
    if (r->strata == NULL || r->stratum_errors == NULL)
        return RP_ENOMEM;
    bool all_ok = true;
    for (size_t i = 0; i < n; i++) {
        rp_error err = RP_ERROR_INIT;
        ps->label = set->stratum_labels[i];
        int rc = rp_mse_estimate(&r->strata[i], set->strata[i], opts, &err);
        rp_cli_progress_end(ps);
        if (rc == RP_ENOMEM)
            return rc;
        if (rc != RP_OK) {
            char buf[1024];
            r->stratum_errors[i] = rp_strdup(rp_error_format(&err, buf, sizeof(buf)));
            if (r->stratum_errors[i] == NULL)
                return RP_ENOMEM;
            all_ok = false;
        }
    }
    if (all_ok) {
        rp_mse_strata_total(&r->sum_estimate, &r->sum_lower, &r->sum_upper,
                            (const rp_mse_result *const *)r->strata, n, opts->ci_level);
        r->sum_ok = true;
    }
    return RP_OK;
}

int cmd_estimate(int argc, char **argv)
{
    est_args a = {.form = RP_CAPTURE_FORM_AUTO, .opts = RP_MSE_OPTS_INIT};
    est_run r = {.sum_ok = false};
    rp_error err = RP_ERROR_INIT;
    rp_mse_model model = {0};
    json_t *root = NULL;
    int status = parse_args(&a, argc, argv);
    if (status >= 0)
        goto out;

    rp_capture_read_opts ropts = RP_CAPTURE_READ_OPTS_INIT;
    ropts.form = a.form;
    ropts.lists = (const char *const *)a.lists.v;
    ropts.n_lists = a.lists.n;
    ropts.merges = (const char *const *)a.merges.v;
    ropts.n_merges = a.merges.n;
    ropts.by = (const char *const *)a.by.v;
    ropts.n_by = a.by.n;
    int rc = a.store_path != NULL ? read_store(&r, &a, &err)
                                  : rp_capture_read_csv(&r.set, a.path, &ropts, &err);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }

    if (a.model_spec != NULL) {
        rc = rp_mse_model_parse(&model, r.set->total, a.model_spec, &err);
        if (rc != RP_OK) {
            if (err.column > 0)
                status =
                    rp_cli_usage_error("estimate", "--model: column %ld: %s", err.column, err.msg);
            else
                status = rp_cli_usage_error("estimate", "--model: %s", err.msg);
            goto out;
        }
        a.opts.model = &model;
    }

    rp_cli_progress_state ps = {.enabled = rp_cli_progress_wanted(a.common.quiet),
                                .label = "estimating",
                                .last_percent = -1};
    a.opts.progress = rp_cli_progress;
    a.opts.payload = &ps;
    rc = rp_mse_estimate(&r.total, r.set->total, &a.opts, &err);
    rp_cli_progress_end(&ps);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }
    if (r.set->n_strata > 0) {
        rc = estimate_strata(&r, &a.opts, &ps);
        if (rc != RP_OK) {
            rp_error_set(&err, rc, "out of memory");
            status = rp_cli_report(&err, a.common.json);
            goto out;
        }
    }

    if (a.common.json || a.out_path != NULL) {
        root = run_json(&r, &a);
        if (root == NULL) {
            rp_error_set(&err, RP_ENOMEM, "out of memory");
            status = rp_cli_report(&err, a.common.json);
            goto out;
        }
    }
    if (a.out_path != NULL) {
        rc = rp_cli_json_write_atomic(root, a.out_path, &err);
        if (rc != RP_OK) {
            status = rp_cli_report(&err, a.common.json);
            goto out;
        }
    }
    if (a.common.json) {
        rc = rp_cli_json_print(root, &err);
        if (rc != RP_OK) {
            status = rp_cli_report(&err, false);
            goto out;
        }
    } else if (!a.common.quiet) {
        run_print(&r, &a);
        if (fflush(stdout) != 0) {
            status = RP_EXIT_IO;
            goto out;
        }
    }
    status = RP_EXIT_OK;
out:
    json_decref(root);
    run_release(&r);
    args_release(&a);
    return status;
}
