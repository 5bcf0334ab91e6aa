/*
 * rapporteur CLI: `rapporteur report`, patterns and trends published safely. Builds the
 * standard tables from the store (by year; sex by age band; citizenship; forms of
 * exploitation; labour sectors; country of exploitation; any --by cross-tabulation),
 * protects each (threshold rule with audited secondary suppression, rounding, or
 * differentially private counts with the budget charged in the store), fits the trend
 * by year to the published counts, adds the multiple systems estimates when the store
 * has linked persons on two or more lists, and writes the HTML report, the workbook,
 * CSV/JSON tables and the charts into a temporary directory that is renamed into place:
 * a reader never sees half a report. With --state or --pool, several states' stores are
 * pooled into one regional report: every table also has the region and state
 * dimensions, is protected once with them, and its views (all states, by state, by
 * region) are slices of that one protected table.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
/* renameat2() / syscall(SYS_renameat2): the atomic exchange of the output directory */
#    define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#endif

#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h"     /* last: it redefines banned libc names */
#include "common/common_int.h" /* rp_x_strlcpy */

#include <rapporteur/chart.h>
#include <rapporteur/rapporteur.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#    include <fcntl.h> /* AT_FDCWD */
#    include <sys/syscall.h>
#endif

#define CMD_NAME         "report"
#define MARKER           ".rapporteur-report" /* marks a directory this command wrote */
#define TOP_N            15
#define MAX_TABLES       48
#define MIN_TREND_YEARS  3 /* fewer published years: no trend is shown */
#define DEFAULT_GROUPING "un_m49_subregion"
#define ALL_STATES       "All states"
#define DP_BUDGET        10.0  /* default cap on the epsilon a store may spend, all reports */
#define DP_EPSILON_MAX   10.0  /* larger epsilon per table needs --dp-allow-large */
#define DP_EPSILON_LARGE 100.0 /* the most even then */

enum {
    OPT_STORE = RP_CLI_OPT_FIRST,
    OPT_BY,
    OPT_K,
    OPT_ROUND,
    OPT_DP,
    OPT_DP_BUDGET,
    OPT_DP_ALLOW_LARGE,
    OPT_YEARS,
    OPT_KROUND,
    OPT_OUT_DIR,
    OPT_FORMAT,
    OPT_STATE,
    OPT_POOL,
    OPT_REGIONS,
    OPT_GROUPING,
    OPT_FORCE
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"by", required_argument, NULL, OPT_BY},
                                         {"k", required_argument, NULL, OPT_K},
                                         {"round", required_argument, NULL, OPT_ROUND},
                                         {"dp-epsilon", required_argument, NULL, OPT_DP},
                                         {"dp-budget", required_argument, NULL, OPT_DP_BUDGET},
                                         {"dp-allow-large", no_argument, NULL, OPT_DP_ALLOW_LARGE},
                                         {"years", required_argument, NULL, OPT_YEARS},
                                         {"kround", required_argument, NULL, OPT_KROUND},
                                         {"out-dir", required_argument, NULL, OPT_OUT_DIR},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"state", required_argument, NULL, OPT_STATE},
                                         {"pool", required_argument, NULL, OPT_POOL},
                                         {"regions", required_argument, NULL, OPT_REGIONS},
                                         {"grouping", required_argument, NULL, OPT_GROUPING},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {NULL, 0, NULL, 0}};

enum {
    FMT_HTML = 1u << 0,
    FMT_XLSX = 1u << 1,
    FMT_CSV = 1u << 2,
    FMT_JSON = 1u << 3,
    FMT_SVG = 1u << 4,
    FMT_PNG = 1u << 5,
    FMT_PDF = 1u << 6,
    FMT_ALL = (1u << 7) - 1
};

static const char *const format_names[] = {"html", "xlsx", "csv", "json", "svg", "png", "pdf"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur report [--store FILE] [--by FIELD[,FIELD...]]...\n"
            "                         [--k N | --round BASE | --kround K |\n"
            "                          --dp-epsilon E --years FROM:TO [--dp-budget CAP]\n"
            "                          [--dp-allow-large]]\n"
            "                         [--out-dir DIR [--force]]\n"
            "                         [--format html,xlsx,csv,json,svg,png,pdf] [--json]\n"
            "       rapporteur report (--state CODE=FILE... | --pool FILE)\n"
            "                         [--regions FILE [--grouping NAME]] [options as above]\n"
            "\n"
            "Write the patterns-and-trends report of the store: tables by year of\n"
            "registration (with the annual change and the trend), sex and age band,\n"
            "citizenship, form of exploitation, labour sector and country of exploitation\n"
            "(plus one per --by), each protected against disclosure, with charts, and the\n"
            "estimated total beside the observed count when the store holds linked persons\n"
            "on two or more lists. Everything is written into a temporary directory that\n"
            "then replaces DIR, so DIR never holds half a report. Suppressed cells appear\n"
            "as \"x\", never as a number.\n"
            "\n"
            "With --state or --pool the stores of several states are pooled into one\n"
            "regional report: every table is also by state and by region, protected once\n"
            "with those dimensions so that no state's hidden cell can be worked out from\n"
            "the pooled totals, with sections by state and by region.\n"
            "\n"
            "Options:\n"
            "  --store FILE         the store (default %s)\n"
            "  --by FIELD[,FIELD]   one more table crossing these fields (repeatable; at\n"
            "                       most two fields in a regional report)\n"
            "  --k N                threshold: cells of 1..N-1 units are suppressed, with\n"
            "                       the secondary suppressions that protect them (default 5;\n"
            "                       at least 2, 3 or more recommended)\n"
            "  --round BASE         publish every cell rounded to a multiple of BASE (at\n"
            "                       least 2) instead; small cells rounded this way can be\n"
            "                       worked back from the margins: prefer suppression or DP\n"
            "  --kround K           CTDC's k-rounding instead: cells below K are not shown,\n"
            "                       the others are rounded down to a multiple of K (K >= 2)\n"
            "  --dp-epsilon E       publish differentially private counts instead (discrete\n"
            "                       Laplace, epsilon E per table, at most %g), charged to\n"
            "                       the store's privacy budget (the store must be writable;\n"
            "                       in a regional report every state's store is charged);\n"
            "                       no exact number is published, and no estimate\n"
            "  --dp-budget CAP      refuse when the store's total epsilon would exceed CAP\n"
            "                       (default %g)\n"
            "  --dp-allow-large     allow an epsilon per table above %g (up to %g)\n",
            RP_STORE_DEFAULT_PATH, DP_EPSILON_MAX, DP_BUDGET, DP_EPSILON_MAX, DP_EPSILON_LARGE);
    fprintf(f, "  --years FROM:TO      with --dp-epsilon (required there): the years of\n"
               "                       registration reported; every table lists every year\n"
               "                       and every category of its fields, held or not, and the\n"
               "                       tables of citizenship and country of exploitation are\n"
               "                       left out (their categories are not fixed in advance)\n"
               "  --state CODE=FILE    a state of a regional report and its store (repeatable;\n"
               "                       CODE as ISO 3166-1 alpha-2, e.g. PL=poland.db)\n"
               "  --pool FILE          the states of a regional report from a CSV file with\n"
               "                       columns state, store and (optional) region; stores are\n"
               "                       relative to the file's directory\n"
               "  --regions FILE       region table: CSV of ISO codes (column code) and one\n"
               "                       column per grouping (data/regions/osce_regions.csv)\n"
               "  --grouping NAME      its column that gives the regions (default\n"
               "                       " DEFAULT_GROUPING "); without --regions or a region in\n"
               "                       the pool file every state is in \"" ALL_STATES "\"\n"
               "  --out-dir DIR        where the report goes (default report); an existing DIR\n"
               "                       must be empty or an earlier report, which the new one\n"
               "                       replaces in one step (an atomic exchange on Linux)\n"
               "  --force              replace an earlier report even when files no report\n"
               "                       wrote were added to it (they are deleted with it);\n"
               "                       without --force such a file is named and nothing is\n"
               "                       written (exit 4)\n"
               "  --format LIST        outputs to write (default all): html, xlsx, csv, json,\n"
               "                       svg, png, pdf\n"
               "  --json               print {\"out_dir\", \"files\", \"tables\", \"estimates\",\n"
               "                       \"states\"}\n"
               "  -q, --quiet          print nothing\n"
               "  -h, --help           show this help\n"
               "\n"
               "Exit status: 0 ok, 1 runtime error, 2 usage, 4 I/O or store error, 65 no data.\n");
}

typedef struct report_args {
    rp_cli_common common;
    const char *store;
    bool store_given;
    const char *out_dir;
    rp_cli_strv by;     /* each --by as given */
    rp_cli_strv states; /* each --state as given */
    const char *pool;
    const char *regions;
    const char *grouping;
    double k;
    bool k_given;
    double round_base;
    double kround;
    double dp_epsilon;
    double dp_budget;
    bool dp_allow_large;
    int year_from; /* --years FROM:TO; 0 when not given */
    int year_to;
    unsigned formats;
    bool force; /* --force: delete files no report wrote with the earlier report */
} report_args;

static int parse_formats(unsigned *out, const char *v)
{
    rp_cli_strv parts = {0};
    rp_error err = RP_ERROR_INIT;
    int st = -1;
    if (rp_cli_strv_split(&parts, v, ',', &err) != RP_OK)
        return rp_cli_report(&err, false);
    *out = 0;
    for (size_t i = 0; i < parts.n && st == -1; i++) {
        size_t j = 0;
        while (j < sizeof(format_names) / sizeof(format_names[0]) &&
               strcmp(parts.v[i], format_names[j]) != 0)
            j++;
        if (j == sizeof(format_names) / sizeof(format_names[0]))
            st = rp_cli_usage_error(CMD_NAME, "--format: unknown format '%s'", parts.v[i]);
        else
            *out |= 1u << j;
    }
    if (st == -1 && *out == 0)
        st = rp_cli_usage_error(CMD_NAME, "--format: no format given");
    rp_cli_strv_clear(&parts);
    return st;
}

static int push_arg(rp_cli_strv *v, const char *s)
{
    rp_error err = RP_ERROR_INIT;
    if (rp_cli_strv_push(v, s, strlen(s), &err) != RP_OK)
        return rp_cli_report(&err, false);
    return -1;
}

/* --years FROM:TO, years 1 to 9999, FROM <= TO. */
static int parse_years(report_args *a, const char *v, const char *name)
{
    char from[16];
    const char *colon = strchr(v, ':');
    size_t len = colon != NULL ? (size_t)(colon - v) : 0;
    if (colon == NULL || len == 0 || len >= sizeof(from))
        return rp_cli_usage_error(CMD_NAME, "%s: expected FROM:TO, e.g. 2015:2024", name);
    memcpy(from, v, len);
    from[len] = '\0';
    if (!rp_cli_parse_int(&a->year_from, from, 1, 9999) ||
        !rp_cli_parse_int(&a->year_to, colon + 1, 1, 9999) || a->year_from > a->year_to)
        return rp_cli_usage_error(CMD_NAME,
                                  "%s: expected FROM:TO, years from 1 to 9999, FROM "
                                  "not after TO",
                                  name);
    return -1;
}

/* A number option. */
static int apply_number(report_args *a, int opt, const char *v, const char *name)
{
    switch (opt) {
    case OPT_K:
        /* k = 1 suppresses nothing */
        a->k_given = true;
        if (!rp_cli_parse_double(&a->k, v) || !(a->k >= 2.0 && a->k <= 1e6))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number from 2 to 1000000", name);
        return -1;
    case OPT_ROUND:
        /* base 1 publishes the exact counts */
        if (!rp_cli_parse_double(&a->round_base, v) || !(a->round_base >= 2.0) ||
            a->round_base > 1e6)
            return rp_cli_usage_error(CMD_NAME, "%s: expected a base from 2 to 1000000", name);
        return -1;
    case OPT_KROUND:
        if (!rp_cli_parse_double(&a->kround, v) || !(a->kround >= 2.0 && a->kround <= 1e6) ||
            a->kround != floor(a->kround))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a whole number from 2 to 1000000",
                                      name);
        return -1;
    case OPT_DP:
        if (!rp_cli_parse_double(&a->dp_epsilon, v) || !(a->dp_epsilon > 0.0) ||
            a->dp_epsilon > DP_EPSILON_LARGE)
            return rp_cli_usage_error(CMD_NAME, "%s: expected epsilon in (0, %g]", name,
                                      DP_EPSILON_LARGE);
        return -1;
    case OPT_DP_BUDGET:
        if (!rp_cli_parse_double(&a->dp_budget, v) || !(a->dp_budget > 0.0) || a->dp_budget > 1e6)
            return rp_cli_usage_error(CMD_NAME, "%s: expected a cap above 0", name);
        return -1;
    case OPT_DP_ALLOW_LARGE:
        a->dp_allow_large = true;
        return -1;
    case OPT_YEARS:
        return parse_years(a, v, name);
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* One report option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    report_args *a = payload;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        a->store_given = true;
        return -1;
    case OPT_OUT_DIR:
        a->out_dir = v;
        return -1;
    case OPT_BY:
        return push_arg(&a->by, v);
    case OPT_STATE:
        return push_arg(&a->states, v);
    case OPT_POOL:
        a->pool = v;
        return -1;
    case OPT_REGIONS:
        a->regions = v;
        return -1;
    case OPT_GROUPING:
        a->grouping = v;
        return -1;
    case OPT_FORMAT:
        return parse_formats(&a->formats, v);
    case OPT_FORCE:
        a->force = true;
        return -1;
    default:
        return apply_number(a, opt, v, name);
    }
}

static bool regional(const report_args *a)
{
    return a->states.n > 0 || a->pool != NULL;
}

static int parse_args(report_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st == -1)
        st = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (st != -1)
        return st;
    int methods = (a->round_base > 0.0) + (a->dp_epsilon > 0.0) + (a->kround > 0.0);
    if (methods > 1)
        return rp_cli_usage_error(CMD_NAME,
                                  "--round, --kround and --dp-epsilon exclude each other");
    if (a->k_given && methods > 0)
        return rp_cli_usage_error(CMD_NAME, "--k is the threshold of suppression: it does not "
                                            "combine with --round, --kround or --dp-epsilon");
    if (a->dp_epsilon > DP_EPSILON_MAX && !a->dp_allow_large)
        return rp_cli_usage_error(CMD_NAME,
                                  "--dp-epsilon: %g is above %g, which protects little; "
                                  "--dp-allow-large to go on",
                                  a->dp_epsilon, DP_EPSILON_MAX);
    if ((a->dp_budget > 0.0 || a->dp_allow_large) && !(a->dp_epsilon > 0.0))
        return rp_cli_usage_error(CMD_NAME, "--dp-budget and --dp-allow-large need --dp-epsilon");
    /* the years published must not depend on the data: a person registered in a year no
     * one else was would otherwise add a year to the tables */
    if (a->dp_epsilon > 0.0 && a->year_from == 0)
        return rp_cli_usage_error(CMD_NAME, "--dp-epsilon needs --years FROM:TO, so that the "
                                            "years shown do not depend on the data");
    if (a->year_from > 0 && !(a->dp_epsilon > 0.0))
        return rp_cli_usage_error(CMD_NAME, "--years needs --dp-epsilon");
    if (a->kround > 0.0)
        a->k = a->kround;
    if (a->out_dir[0] == '\0')
        return rp_cli_usage_error(CMD_NAME, "--out-dir: empty path");
    if (regional(a) && a->store_given)
        return rp_cli_usage_error(CMD_NAME, "--store and --state/--pool exclude each other");
    if (a->states.n > 0 && a->pool != NULL)
        return rp_cli_usage_error(CMD_NAME, "--state and --pool exclude each other");
    if (!regional(a) && (a->regions != NULL || a->grouping != NULL))
        return rp_cli_usage_error(CMD_NAME, "--regions and --grouping need --state or --pool");
    if (a->grouping != NULL && a->regions == NULL)
        return rp_cli_usage_error(CMD_NAME, "--grouping needs --regions");
    return -1;
}

/* ==== the state of a report ==== */

/* One state of a regional report: its code, store and region. */
typedef struct state_src {
    char *code;
    char *path;
    char *region;
    rp_store *st;
    rp_report_data *data;
} state_src;

/* A protected table from which published sections are sliced. Its dimensions are the
 * region and the state (regional report), then the fields. */
typedef struct base_table {
    rp_table *t;                   /* protected */
    const struct table_spec *spec; /* NULL for a --by table */
    size_t off;                    /* dimensions before the fields: 2 regional, else 0 */
    size_t n_fields;
    char title[256];
    char stem[96];
} base_table;

/* One published section: a view of a base table, its chart, its trends. */
typedef struct report_table {
    rp_table *t;
    rp_chart *chart;
    char stem[96];
    const char *text;
    rp_trend **trends; /* n_trends, entries may be NULL */
    rp_cli_strv trend_labels;
    size_t n_trends;
} report_table;

typedef struct report_state {
    const report_args *a;
    rp_store *st; /* single-store report */
    state_src *srcs;
    size_t n_srcs;
    bool records_forced; /* states counted different units: every state counts records */
    rp_report_data *data;
    base_table bases[MAX_TABLES];
    size_t n_bases;
    report_table tables[MAX_TABLES];
    size_t n_tables;
    rp_report_estimates *est;
    rp_chart_estimate_row *est_rows;
    size_t n_est_rows;
    rp_chart *est_chart;
    rp_trend *est_trend;
    rp_cli_strv sources;
    rp_cli_strv method;
    char chart_source[512]; /* "Source: IOM (file.csv); ..." under every chart */
    char summary[1024];
    json_t *files;         /* names written, for --json */
    double budget_epsilon; /* epsilon of this report */
    double budget_spent;   /* the store's total after it (the largest of the states') */
    bool budget_charged;
    size_t link_rounds; /* rounds of rp_sdc_protect_linked() over the report's tables (set
                           by protect() for every report; 0 without suppression) */
} report_state;

/* A table of the standard set: fields, title words, chart, text, and whether a regional
 * report also shows it by state and by region. */
typedef struct table_spec {
    rp_field fields[2];
    size_t n_fields;
    const char *stem;
    const char *by_words; /* "year of registration" */
    bool chart;           /* draw one */
    bool by_state;        /* regional: a section by state and one by region */
    rp_chart_kind kind;
    size_t top_n;
    const char *text;
} table_spec;

static const table_spec standard_tables[] = {
    {{RP_FIELD_REGISTRATION_YEAR},
     1,
     "year",
     "year of registration",
     true,
     true,
     RP_CHART_COLUMNS,
     0,
     "How many were identified each year, the change on the year before, and the trend. A "
     "year with few persons is not shown, so that no one can be recognised."},
    {{RP_FIELD_SEX, RP_FIELD_AGE_BAND},
     2,
     "sex-age",
     "sex and age band",
     false,
     true,
     RP_CHART_BARS,
     0,
     "Sex by age band at registration."},
    {{RP_FIELD_CITIZENSHIP},
     1,
     "citizenship",
     "citizenship",
     true,
     false,
     RP_CHART_BARS,
     TOP_N,
     "Citizenship of the persons identified; the chart shows the largest groups."},
    {{RP_FIELD_EXPLOITATION},
     1,
     "exploitation",
     "form of exploitation",
     true,
     true,
     RP_CHART_BARS,
     0,
     "A person can suffer more than one form of exploitation; shares are of the persons for "
     "whom the form is known."},
    {{RP_FIELD_LABOUR_SECTORS},
     1,
     "labour-sectors",
     "labour sector",
     true,
     false,
     RP_CHART_BARS,
     0,
     "Sectors of labour exploitation, for the persons for whom one is known."},
    {{RP_FIELD_COUNTRY_OF_EXPLOITATION},
     1,
     "country-of-exploitation",
     "country of exploitation",
     true,
     false,
     RP_CHART_BARS,
     TOP_N,
     "Where the exploitation took place."},
};

static bool persons(const report_state *s)
{
    return strcmp(rp_report_data_unit(s->data), "persons") == 0;
}

/* ==== the states of a regional report ==== */

static bool code_ok(const char *c, size_t len)
{
    if (len == 0 || len > 15)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = c[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Append a state (copies of @p code, @p path, @p region; region may be ""). */
static int add_src(report_state *s,
                   const char *code,
                   size_t code_len,
                   const char *path,
                   const char *region,
                   rp_error *err)
{
    if (!code_ok(code, code_len))
        return rp_error_set(err, RP_EINVAL,
                            "state %zu: code must be 1-15 of [A-Za-z0-9_-] (ISO 3166-1 alpha-2)",
                            s->n_srcs + 1);
    if (path[0] == '\0')
        return rp_error_set(err, RP_EINVAL, "state '%.*s': no store given", (int)code_len, code);
    state_src *v = rp_reallocarray(s->srcs, s->n_srcs + 1, sizeof(*v));
    if (v == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    s->srcs = v;
    state_src *src = &v[s->n_srcs];
    memset(src, 0, sizeof(*src));
    src->code = rp_x_strndup(code, code_len);
    src->path = rp_strdup(path);
    src->region = rp_strdup(region);
    s->n_srcs++;
    if (src->code == NULL || src->path == NULL || src->region == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

/* The states of --state CODE=FILE. */
static int states_from_args(report_state *s, rp_error *err)
{
    int rc = RP_OK;
    for (size_t i = 0; i < s->a->states.n && rc == RP_OK; i++) {
        const char *arg = s->a->states.v[i];
        const char *eq = strchr(arg, '=');
        rc = eq != NULL ? add_src(s, arg, (size_t)(eq - arg), eq + 1, "", err)
                        : rp_error_set(err, RP_EINVAL, "--state '%s': expected CODE=FILE", arg);
    }
    return rc;
}

/* The states of a pool file: columns state, store, region (optional). */
static int states_from_pool(report_state *s, rp_error *err)
{
    rp_state_table *pt = NULL;
    char path[PATH_MAX];
    int rc = rp_state_table_load(&pt, s->a->pool, err);
    if (rc != RP_OK)
        return rc;
    int c_store = rp_state_table_column(pt, "store");
    int c_region = rp_state_table_column(pt, "region");
    if (rp_state_table_column(pt, "state") != 0 || c_store < 0)
        rc = rp_error_set(err, RP_EPARSE,
                          "%s: the first column must be 'state', and a 'store' "
                          "column is needed",
                          s->a->pool);
    const char *slash = strrchr(s->a->pool, '/');
    int dir_len = slash != NULL ? (int)(slash - s->a->pool) : 0;
    for (size_t r = 0; rc == RP_OK && r < rp_state_table_rows(pt); r++) {
        const char *code = rp_state_table_cell(pt, r, 0);
        const char *store = rp_state_table_cell(pt, r, (size_t)c_store);
        const char *region = c_region >= 0 ? rp_state_table_cell(pt, r, (size_t)c_region) : "";
        int n = store[0] == '/' || slash == NULL
                    ? snprintf(path, sizeof(path), "%s", store)
                    : snprintf(path, sizeof(path), "%.*s/%s", dir_len, s->a->pool, store);
        rc = n >= 0 && (size_t)n < sizeof(path)
                 ? add_src(s, code, strlen(code), path, region, err)
                 : rp_error_set(err, RP_EINVAL, "%s: store path too long", s->a->pool);
    }
    if (rc == RP_OK && rp_state_table_rows(pt) == 0)
        rc = rp_error_set(err, RP_EINVAL, "%s: no state listed", s->a->pool);
    rp_state_table_free(pt);
    return rc;
}

/* The regions of the states without one in the pool file: from the region table, else
 * ALL_STATES. */
static int assign_regions(report_state *s, rp_error *err)
{
    rp_state_table *rt = NULL;
    const char *file = s->a->regions;
    int rc = file != NULL ? rp_state_table_load(&rt, file, err) : RP_OK;
    const char *grouping = s->a->grouping != NULL ? s->a->grouping : DEFAULT_GROUPING;
    int col = rc == RP_OK && rt != NULL ? rp_state_table_column(rt, grouping) : -1;
    if (rc == RP_OK && rt != NULL && col <= 0)
        rc = rp_error_set(err, RP_EINVAL, "%s: no grouping column '%s'", file, grouping);
    for (size_t i = 0; rc == RP_OK && i < s->n_srcs; i++) {
        state_src *src = &s->srcs[i];
        if (src->region[0] != '\0')
            continue;
        const char *region = ALL_STATES;
        if (rt != NULL) {
            long row = rp_state_table_find(rt, src->code);
            region = row >= 0 ? rp_state_table_cell(rt, (size_t)row, (size_t)col) : NULL;
        }
        if (region == NULL || region[0] == '\0') {
            rc = rp_error_set(err, RP_EINVAL, "%s: no region for state '%s' in grouping '%s'", file,
                              src->code, grouping);
            break;
        }
        char *r = rp_strdup(region);
        if (r == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        rp_free(src->region);
        src->region = r;
    }
    rp_state_table_free(rt);
    return rc;
}

/* Load every state's units (as @p unit) into src->data. */
static int load_states_as(report_state *s, rp_report_unit unit, rp_error *err)
{
    rp_report_data_opts o = RP_REPORT_DATA_OPTS_INIT;
    o.unit = unit;
    for (size_t i = 0; i < s->n_srcs; i++) {
        rp_report_data_free(s->srcs[i].data);
        s->srcs[i].data = NULL;
        int rc = rp_report_data_load(&s->srcs[i].data, s->srcs[i].st, &o, err);
        if (rc != RP_OK)
            return rp_x_error_prefix(err, "state '%s'", s->srcs[i].code);
    }
    return RP_OK;
}

/* Open the stores, load and pool the states. @return an exit status or -1 to go on;
 * *rc_out gets the library status when it failed after the stores opened. */
static int open_states(report_state *s, rp_error *err)
{
    int rc = s->a->pool != NULL ? states_from_pool(s, err) : states_from_args(s, err);
    if (rc == RP_OK)
        rc = assign_regions(s, err);
    unsigned flags = s->a->dp_epsilon > 0.0 ? 0u : RP_STORE_READONLY;
    for (size_t i = 0; rc == RP_OK && i < s->n_srcs; i++) {
        rc = rp_store_open(&s->srcs[i].st, s->srcs[i].path, flags, err);
        if (rc != RP_OK)
            rp_x_error_prefix(err, "state '%s': store '%s'", s->srcs[i].code, s->srcs[i].path);
    }
    if (rc == RP_OK)
        rc = load_states_as(s, RP_REPORT_UNIT_AUTO, err);
    bool mixed = false;
    for (size_t i = 1; rc == RP_OK && i < s->n_srcs; i++)
        mixed = mixed || strcmp(rp_report_data_unit(s->srcs[i].data),
                                rp_report_data_unit(s->srcs[0].data)) != 0;
    if (rc == RP_OK && mixed) {
        s->records_forced = true;
        rc = load_states_as(s, RP_REPORT_UNIT_RECORDS, err);
    }
    if (rc != RP_OK)
        return rc;
    /* arrays of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
    const rp_report_data **parts = rp_calloc(s->n_srcs, sizeof(*parts));
    const char **codes = rp_calloc(s->n_srcs, sizeof(*codes));
    const char **regions = rp_calloc(s->n_srcs, sizeof(*regions));
    if (parts == NULL || codes == NULL || regions == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < s->n_srcs; i++) {
            parts[i] = s->srcs[i].data;
            codes[i] = s->srcs[i].code;
            regions[i] = s->srcs[i].region;
        }
        rc = rp_report_data_pool(&s->data, parts, codes, regions, s->n_srcs, err);
    }
    rp_free(parts);
    rp_free(codes);
    rp_free(regions);
    return rc;
}

/* ==== protection ==== */

/* Charge one differentially private release to the store, or to every state's store. */
/* Charge one differentially private release to the store, or to every state's store,
 * refused over the cap; s->budget_spent gets the largest total of a store after it. */
static int charge_budget(report_state *s, const char *title, double epsilon, rp_error *err)
{
    int rc = RP_OK;
    double cap = s->a->dp_budget > 0.0 ? s->a->dp_budget : DP_BUDGET;
    rp_budget after = {0};
    if (s->st != NULL) {
        rc = rp_report_budget_charge(&after, s->st, title, epsilon, 0.0, cap, 0.0, err);
        if (rc == RP_OK && after.epsilon > s->budget_spent)
            s->budget_spent = after.epsilon;
    }
    for (size_t i = 0; rc == RP_OK && i < s->n_srcs; i++) {
        rc = rp_report_budget_charge(&after, s->srcs[i].st, title, epsilon, 0.0, cap, 0.0, err);
        if (rc != RP_OK)
            rp_x_error_prefix(err, "state '%s'", s->srcs[i].code);
        else if (after.epsilon > s->budget_spent)
            s->budget_spent = after.epsilon;
    }
    return rc;
}

/* The disclosure control options of the report; charges the budget of a DP release of
 * table @p title first. */
static int sdc_opts(rp_sdc_opts *o, report_state *s, const char *title, rp_error *err)
{
    *o = (rp_sdc_opts)RP_SDC_OPTS_INIT;
    o->k = s->a->k;
    if (s->a->round_base > 0.0) {
        o->method = RP_SDC_ROUND;
        o->base = s->a->round_base;
    } else if (s->a->kround > 0.0) {
        o->method = RP_SDC_KROUND;
        o->k = s->a->kround;
    } else if (s->a->dp_epsilon > 0.0) {
        o->method = RP_SDC_DP_LAPLACE;
        o->epsilon = s->a->dp_epsilon;
        int rc = charge_budget(s, title, o->epsilon, err);
        if (rc != RP_OK)
            return rc;
        s->budget_epsilon += o->epsilon;
        s->budget_charged = true;
    }
    return RP_OK;
}

/* Every base table of the report (the standard ones, the --by ones; in a regional report
 * with region and state as dimensions) protected together as linked tables
 * (rp_sdc_protect_linked()): a cell two tables show is suppressed in both or neither, and
 * one LP audits all of them; each table says so in a note. Rounding and noise need no
 * linking, and the library protects each table alone. */
static int protect(report_state *s, rp_error *err)
{
    rp_table *tables[MAX_TABLES];
    rp_sdc_opts o;
    rp_sdc_linked_report rep = {0};
    int rc = RP_OK;
    if (s->n_bases == 0)
        return RP_OK;
    for (size_t i = 0; i < s->n_bases && rc == RP_OK; i++) {
        tables[i] = s->bases[i].t;
        rc = sdc_opts(&o, s, s->bases[i].t->title, err); /* charges a DP release per table */
    }
    if (rc == RP_OK)
        rc = rp_sdc_protect_linked(&rep, tables, s->n_bases, &o, err);
    s->link_rounds = rep.rounds;
    return rc;
}

/* No category, or only "not recorded", in some field: nothing to show. */
static bool table_empty(const rp_table *t)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        const rp_table_dim *dim = &t->dims[d];
        if (dim->n_cats == 0 || (dim->n_cats == 1 && dim->cats[0][0] == '\0'))
            return true;
    }
    return false;
}

/* Build and protect one base table of @p fields (with region and state first in a
 * regional report). A field with no data gives no table. */
static int add_base(report_state *s,
                    const rp_field *fields,
                    size_t n_fields,
                    const char *title,
                    const char *stem,
                    const table_spec *spec,
                    rp_error *err)
{
    rp_field all[RP_TABLE_MAX_DIMS];
    size_t off = s->n_srcs > 0 ? 2 : 0;
    if (s->n_bases == MAX_TABLES)
        return rp_error_set(err, RP_EINVAL, "more than %d tables", MAX_TABLES);
    if (n_fields + off > RP_TABLE_MAX_DIMS)
        return rp_error_set(err, RP_EINVAL, "--by: at most %d fields in a regional report",
                            RP_TABLE_MAX_DIMS - 2);
    all[0] = RP_TABLE_FIELD_REGION;
    all[1] = RP_TABLE_FIELD_STATE;
    memcpy(all + off, fields, n_fields * sizeof(*fields));
    rp_table_opts topts = RP_TABLE_OPTS_INIT;
    topts.title = title;
    if (s->a->dp_epsilon > 0.0) { /* the table's shape must not depend on the data */
        topts.full_domain = true;
        topts.year_min = s->a->year_from;
        topts.year_max = s->a->year_to;
    }
    base_table *b = &s->bases[s->n_bases];
    memset(b, 0, sizeof(*b));
    int rc = rp_report_table_build(&b->t, s->data, all, n_fields + off, &topts, err);
    if (rc != RP_OK)
        return rc;
    /* no one with information on a field: no table (under DP every table is shown, as
     * whether it is would tell whether anyone has the information) */
    if (!topts.full_domain && table_empty(b->t)) {
        rp_table_free(b->t);
        b->t = NULL;
        return RP_OK;
    }
    s->n_bases++;
    b->spec = spec;
    b->off = off;
    b->n_fields = n_fields;
    rp_x_strlcpy(b->title, title, sizeof(b->title));
    rp_x_strlcpy(b->stem, stem, sizeof(b->stem));
    return RP_OK; /* protected with the others in protect() */
}

/* Whether every field of @p sp has a domain fixed in advance, as differential privacy
 * needs (countries do not: only those present could be listed). */
static bool dp_domain_fixed(const table_spec *sp)
{
    for (size_t j = 0; j < sp->n_fields; j++) {
        rp_field f = sp->fields[j];
        if (f == RP_FIELD_CITIZENSHIP || f == RP_FIELD_COUNTRY_OF_EXPLOITATION || f == RP_FIELD_AGE)
            return false;
    }
    return true;
}

static int build_standard(report_state *s, rp_error *err)
{
    for (size_t i = 0; i < sizeof(standard_tables) / sizeof(standard_tables[0]); i++) {
        const table_spec *sp = &standard_tables[i];
        if (s->a->dp_epsilon > 0.0 && !dp_domain_fixed(sp))
            continue; /* said in the method (method_protection) */
        char title[160];
        snprintf(title, sizeof(title), "%s by %s", persons(s) ? "Victims" : "Case records",
                 sp->by_words);
        int rc = add_base(s, sp->fields, sp->n_fields, title, sp->stem, sp, err);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* A field's label as words inside a title ("age band"): lower case first and without
 * its unit, as the standard tables' titles have them. */
static const char *field_words(char *buf, size_t size, rp_field f)
{
    rp_x_strlcpy(buf, rp_chart_field_label(f), size);
    char *unit = strstr(buf, " (");
    if (unit != NULL)
        *unit = '\0'; /* "Age band (years)": the unit belongs to the table's head */
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* The --by tables: "sex,citizenship" -> a table of those fields. */
static int build_by(report_state *s, rp_error *err)
{
    for (size_t i = 0; i < s->a->by.n; i++) {
        rp_cli_strv names = {0};
        rp_field fields[RP_TABLE_MAX_DIMS];
        char title[256] = "";
        char stem[96] = "by";
        int rc = rp_cli_strv_split(&names, s->a->by.v[i], ',', err);
        if (rc == RP_OK && (names.n == 0 || names.n > RP_TABLE_MAX_DIMS))
            rc = rp_error_set(err, RP_EINVAL, "--by: 1 to %d fields", RP_TABLE_MAX_DIMS);
        for (size_t j = 0; rc == RP_OK && j < names.n; j++) {
            if (rp_field_lookup(&fields[j], names.v[j]) != RP_OK) {
                rc = rp_error_set(err, RP_EINVAL, "--by: unknown field '%s'", names.v[j]);
                break;
            }
            /* as the standard titles: "Victims by sex, age band and citizenship" */
            char words[128];
            size_t tl = strlen(title);
            snprintf(title + tl, sizeof(title) - tl, "%s%s",
                     j == 0 ? (persons(s) ? "Victims by " : "Case records by ")
                            : (j + 1 == names.n ? " and " : ", "),
                     field_words(words, sizeof(words), fields[j]));
            size_t sl = strlen(stem);
            snprintf(stem + sl, sizeof(stem) - sl, "-%s", rp_table_field_name(fields[j]));
        }
        if (rc == RP_OK)
            rc = add_base(s, fields, names.n, title, stem, NULL, err);
        rp_cli_strv_clear(&names);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* ==== sections: views of the base tables, charts and trends ==== */

/* A trend of the published values of the year dimension @p d at positions @p at, or NULL
 * when fewer than MIN_TREND_YEARS years are published (or no trend can be fitted). */
static int table_trend(rp_trend **out, const rp_table *t, size_t d, const size_t *at, rp_error *err)
{
    rp_error e2 = RP_ERROR_INIT;
    *out = NULL;
    int rc = rp_table_trend(out, t, d, at, NULL, &e2);
    if (rc == RP_ENOMEM)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK && (*out)->n_fitted < MIN_TREND_YEARS) {
        rp_trend_free(*out);
        *out = NULL;
    }
    return RP_OK; /* too few years, all zero, no convergence: no trend, not an error */
}

static int add_trend(report_table *rt, rp_trend *tr, const char *label, rp_error *err)
{
    /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
    rp_trend **v = rp_reallocarray(rt->trends, rt->n_trends + 1, sizeof(*v));
    if (v == NULL) {
        rp_trend_free(tr);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rt->trends = v;
    v[rt->n_trends++] = tr;
    return rp_cli_strv_push(&rt->trend_labels, label, strlen(label), err);
}

/* A new section of @p view (taken over, also on failure). */
static int add_section(report_table **out,
                       report_state *s,
                       rp_table *view,
                       const char *title,
                       const char *stem,
                       const char *text,
                       rp_error *err)
{
    *out = NULL;
    if (s->n_tables == MAX_TABLES) {
        rp_table_free(view);
        rp_error_set(err, RP_EINVAL, "more than %d tables", MAX_TABLES);
        return RP_EINVAL;
    }
    report_table *rt = &s->tables[s->n_tables++];
    memset(rt, 0, sizeof(*rt));
    rt->t = view;
    rt->text = text;
    snprintf(rt->stem, sizeof(rt->stem), "%02zu-%s", s->n_tables, stem);
    char *tc = rp_strdup(title);
    if (tc == NULL) {
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    rp_free(view->title);
    view->title = tc;
    *out = rt;
    return RP_OK;
}

static int
section_chart(report_state *s, report_table *rt, rp_chart_kind kind, size_t top_n, rp_error *err)
{
    rp_chart_opts co = RP_CHART_OPTS_INIT;
    co.top_n = top_n;
    co.source = s->chart_source;
    int rc = rp_chart_from_table(&rt->chart, rt->t, 0, kind, &co, err);
    if (rc == RP_OK && rt->n_trends == 1 && rt->trends[0] != NULL && kind == RP_CHART_COLUMNS)
        rc = rp_chart_add_trend(rt->chart, rt->trends[0], err);
    return rc;
}

/* The pooled view of base @p b (every state), with its chart and, by year, its trend. */
static int pooled_section(report_state *s, const base_table *b, rp_error *err)
{
    size_t at[RP_TABLE_MAX_DIMS];
    rp_table *view = NULL;
    report_table *rt = NULL;
    for (size_t d = 0; d < b->t->n_dims; d++)
        at[d] = d < b->off ? b->t->dims[d].n_cats : RP_TABLE_KEEP;
    int rc = rp_table_slice(&view, b->t, at, err);
    if (rc == RP_OK)
        rc = add_section(&rt, s, view, b->title, b->stem, b->spec != NULL ? b->spec->text : NULL,
                         err);
    if (rc != RP_OK)
        return rc;
    bool by_year = view->n_dims == 1 && view->dims[0].field == RP_FIELD_REGISTRATION_YEAR;
    if (by_year) {
        rp_trend *tr = NULL;
        rc = table_trend(&tr, view, 0, NULL, err);
        if (rc == RP_OK)
            rc = add_trend(rt, tr, s->n_srcs > 0 ? ALL_STATES : "All", err);
    }
    bool chart = b->spec != NULL ? b->spec->chart && view->n_dims == 1 : true;
    if (rc != RP_OK || !chart)
        return rc;
    return section_chart(s, rt, b->spec != NULL ? b->spec->kind : RP_CHART_BARS,
                         b->spec != NULL ? b->spec->top_n : TOP_N, err);
}

/* The label of category @p i of dimension @p d for a reader ("Poland"). */
static const char *reader_label(char *buf, size_t size, const rp_table *t, size_t d, size_t i)
{
    return rp_chart_cat_label(buf, size, t->dims[d].field, t->dims[d].cats[i]);
}

/* The trends of every row (state or region) of a view by year. */
static int row_trends(report_table *rt, rp_error *err)
{
    char label[160];
    size_t at[2] = {0, 0};
    int rc = RP_OK;
    for (size_t i = 0; rc == RP_OK && i < rt->t->dims[0].n_cats; i++) {
        rp_trend *tr = NULL;
        at[0] = i;
        rc = table_trend(&tr, rt->t, 1, at, err);
        if (rc == RP_OK)
            rc = add_trend(rt, tr, reader_label(label, sizeof(label), rt->t, 0, i), err);
    }
    return rc;
}

/* The view of base @p b by state (@p dim 1) or by region (@p dim 0): that dimension and
 * the first field, every other dimension at its total. */
static int regional_section(report_state *s, const base_table *b, size_t dim, rp_error *err)
{
    size_t at[RP_TABLE_MAX_DIMS];
    char title[300];
    char stem[128];
    rp_table *view = NULL;
    report_table *rt = NULL;
    for (size_t d = 0; d < b->t->n_dims; d++)
        at[d] = d == dim || d == b->off ? RP_TABLE_KEEP : b->t->dims[d].n_cats;
    const char *what = dim == 1 ? "state" : "region";
    rp_field f = b->t->dims[b->off].field;
    char words[128];
    snprintf(title, sizeof(title), "%s by %s and %s", persons(s) ? "Victims" : "Case records", what,
             field_words(words, sizeof(words), f));
    snprintf(stem, sizeof(stem), "%s-%s", what,
             b->n_fields == 1 ? b->spec->stem : rp_table_field_name(f));
    int rc = rp_table_slice(&view, b->t, at, err);
    if (rc == RP_OK)
        rc = add_section(&rt, s, view, title, stem,
                         dim == 1 ? "The same table by state: each state's figures, protected "
                                    "together with the totals of all states."
                                  : "The same table by region: the states of each region added "
                                    "up, protected together with each state's figures.",
                         err);
    if (rc == RP_OK && view->dims[1].field == RP_FIELD_REGISTRATION_YEAR)
        rc = row_trends(rt, err);
    if (rc != RP_OK || view->dims[1].field != RP_FIELD_REGISTRATION_YEAR)
        return rc; /* one chart of the totals by state (region) is enough: the year's */
    rp_chart_opts co = RP_CHART_OPTS_INIT;
    co.source = s->chart_source;
    char ctitle[320];
    snprintf(ctitle, sizeof(ctitle), "%s by %s", persons(s) ? "Victims" : "Case records", what);
    co.title = ctitle;
    return rp_chart_from_table(&rt->chart, rt->t, 0, RP_CHART_BARS, &co, err);
}

static int make_sections(report_state *s, rp_error *err)
{
    int rc = RP_OK;
    for (size_t i = 0; rc == RP_OK && i < s->n_bases; i++)
        rc = pooled_section(s, &s->bases[i], err);
    if (s->n_srcs == 0 || s->data == NULL)
        return rc;
    bool regions = s->n_bases > 0 && s->bases[0].t->dims[0].n_cats > 1;
    for (size_t i = 0; rc == RP_OK && i < s->n_bases; i++) {
        const base_table *b = &s->bases[i];
        if (b->spec == NULL || !b->spec->by_state)
            continue;
        rc = regional_section(s, b, 1, err);
        if (rc == RP_OK && regions)
            rc = regional_section(s, b, 0, err);
    }
    return rc;
}

/* ==== estimates ==== */

/* The trend of the yearly estimates: the rows whose year is published, with an estimate. */
static int estimate_trend(report_state *s, rp_error *err)
{
    size_t n = s->n_est_rows;
    int *years = rp_calloc(n + 1, sizeof(*years));
    double *v = rp_calloc(3 * n + 1, sizeof(*v));
    if (years == NULL || v == NULL) {
        rp_free(years);
        rp_free(v);
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 1; i < n; i++) {
        const rp_chart_estimate_row *r = &s->est_rows[i];
        long y = 0;
        if (r->observed_suppressed || isnan(r->estimate) ||
            rp_x_parse_long(r->label, 1, 65535, &y) != RP_OK)
            continue;
        years[m] = (int)y;
        v[m] = r->estimate;
        v[n + m] = r->lo;
        v[2 * n + m] = r->hi;
        m++;
    }
    if (m >= MIN_TREND_YEARS) {
        rp_error e2 = RP_ERROR_INIT;
        double level = s->est->ci_level > 0.0 && s->est->ci_level < 1.0 ? s->est->ci_level : 0.95;
        if (rp_trend_fit_estimates(&s->est_trend, years, v, v + n, v + 2 * n, m, level, NULL,
                                   &e2) == RP_OK &&
            s->est_trend->n_fitted < MIN_TREND_YEARS) {
            rp_trend_free(s->est_trend);
            s->est_trend = NULL;
        }
    }
    rp_free(years);
    rp_free(v);
    return RP_OK;
}

/* The protected table by year of registration, or NULL when there is none. */
static const rp_table *year_table(const report_state *s)
{
    for (size_t i = 0; i < s->n_bases; i++) {
        const base_table *b = &s->bases[i];
        if (b->spec == &standard_tables[0] && b->off == 0 && b->t->n_dims == 1)
            return b->t;
    }
    return NULL;
}

/*
 * The observed count beside the estimate of year @p year ("" for all years) is the
 * published cell of the year table, with its status: hidden where that table hides it,
 * rounded or noisy where it is. The count the estimation saw is never published, since a
 * count the year table hides would otherwise appear here. A year the table does not list
 * is hidden too. @p year NULL means the total. @return true when the cell is published;
 * *value gets its value.
 */
static bool year_published(const rp_table *yt, const char *year, double *value)
{
    *value = NAN;
    if (yt == NULL)
        return false;
    size_t idx = yt->dims[0].n_cats; /* the total */
    if (year != NULL) {
        for (idx = 0; idx < yt->dims[0].n_cats && strcmp(yt->dims[0].cats[idx], year) != 0; idx++)
            ;
        if (idx == yt->dims[0].n_cats)
            return false;
    }
    size_t cell = rp_table_cell(yt, &idx);
    uint8_t st = yt->status[cell];
    if (st == RP_CELL_PRIMARY || st == RP_CELL_SECONDARY || isnan(yt->value[cell]))
        return false;
    *value = yt->value[cell];
    return true;
}

static int build_estimates(report_state *s, rp_error *err)
{
    rp_report_estimates_opts eo = RP_REPORT_ESTIMATES_OPTS_INIT;
    eo.min_observed = s->a->k;
    static const char *const by[] = {"registration_year"};
    rp_error e2 = RP_ERROR_INIT;
    /* a regional report: estimates are made per store; differential privacy: an estimate
     * from exact counts would publish what the noise hides */
    if (s->st == NULL || s->a->dp_epsilon > 0.0)
        return RP_OK;
    int rc = rp_report_estimates_run(&s->est, s->st, by, 1, &eo, &e2);
    if (rc == RP_EDATA)
        return RP_OK; /* no linked persons on two or more lists: no estimate */
    if (rc != RP_OK) {
        *err = e2;
        return rc;
    }
    const rp_table *yt = year_table(s);
    size_t n = 1 + s->est->n;
    s->est_rows = rp_calloc(n, sizeof(*s->est_rows));
    if (s->est_rows == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const rp_report_estimate *e = i == 0 ? &s->est->total : &s->est->strata[i - 1];
        rp_chart_estimate_row *r = &s->est_rows[s->n_est_rows++];
        const char *eq = strchr(e->label, '=');
        const char *year = i == 0 ? NULL : (eq != NULL ? eq + 1 : e->label);
        r->label = i == 0 ? "All" : year;
        if (r->label[0] == '\0')
            r->label = "Not recorded";
        double shown = NAN;
        /* hidden: the year table hides it, or the estimation's own threshold does */
        bool published = year_published(yt, year, &shown) && !e->suppressed;
        r->observed_suppressed = !published;
        r->observed = shown;
        bool ok = published && e->status == RP_OK && !isnan(e->estimate);
        r->estimate = ok ? e->estimate : NAN;
        r->lo = ok ? e->lower : NAN;
        r->hi = ok ? e->upper : NAN;
    }
    rc = estimate_trend(s, err);
    if (rc != RP_OK)
        return rc;
    rp_chart_opts co = RP_CHART_OPTS_INIT;
    co.title = "Estimated total beside the observed count, by year";
    co.x_label = "Year of registration";
    co.ci_level = s->est->ci_level > 0.0 && s->est->ci_level < 1.0 ? s->est->ci_level : 0.95;
    co.source = s->chart_source;
    return rp_chart_from_estimates(&s->est_chart, s->est_rows, s->n_est_rows, &co, err);
}

/* ==== sources and method ==== */

/*
 * The sources name the data (agency, file, date of import) and never count them: a count
 * of rows or persons beside the tables would be an exact total beside protected ones.
 */
static int on_submission(const rp_submission *sub, void *payload)
{
    report_state *s = payload;
    char line[512];
    rp_error err = RP_ERROR_INIT;
    if (sub->agency[0] != '\0')
        snprintf(line, sizeof(line), "%s: %s (imported %s)", sub->agency, sub->file_name,
                 sub->imported_at);
    else
        snprintf(line, sizeof(line), "%s (agency not named; imported %s)", sub->file_name,
                 sub->imported_at);
    size_t len = strlen(s->chart_source);
    const char *sep = len == 0 ? "Source: " : "; ";
    if (len + 80 < sizeof(s->chart_source) && sub->agency[0] != '\0')
        snprintf(s->chart_source + len, sizeof(s->chart_source) - len, "%s%s (%s)", sep,
                 sub->agency, sub->file_name);
    else if (len + 80 < sizeof(s->chart_source))
        snprintf(s->chart_source + len, sizeof(s->chart_source) - len, "%s%s", sep, sub->file_name);
    return rp_cli_strv_push(&s->sources, line, strlen(line), &err) == RP_OK ? 0 : 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static int collect_sources(report_state *s, rp_error *err)
{
    char line[512];
    if (s->st != NULL) {
        snprintf(line, sizeof(line), "Store %s.", base_name(s->a->store));
        int rc = rp_cli_strv_push(&s->sources, line, strlen(line), err);
        return rc == RP_OK ? rp_store_submissions(s->st, on_submission, s, err) : rc;
    }
    for (size_t i = 0; i < s->n_srcs; i++) {
        const state_src *src = &s->srcs[i];
        snprintf(line, sizeof(line), "State %s (%s), store %s.", src->code, src->region,
                 base_name(src->path));
        int rc = rp_cli_strv_push(&s->sources, line, strlen(line), err);
        if (rc == RP_OK)
            rc = rp_store_submissions(src->st, on_submission, s, err);
        if (rc != RP_OK)
            return rc;
    }
    if (s->a->regions != NULL) {
        snprintf(line, sizeof(line), "Regions: grouping '%s' of the region table %s.",
                 s->a->grouping != NULL ? s->a->grouping : DEFAULT_GROUPING,
                 base_name(s->a->regions));
        return rp_cli_strv_push(&s->sources, line, strlen(line), err);
    }
    return RP_OK;
}

static int push_line(rp_cli_strv *v, rp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int push_line(rp_cli_strv *v, rp_error *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    return rp_cli_strv_push(v, line, strlen(line), err);
}

/*
 * A number of the text as the tables write theirs: whole numbers with thousands
 * separators ("1,000", never "1000" or "1e+06"), others as %g (an epsilon of 0.5).
 */
static const char *fmt_num(char *buf, size_t size, double v)
{
    if (!(v == floor(v) && fabs(v) < 1e15)) {
        snprintf(buf, size, "%g", v);
        return buf;
    }
    char digits[32];
    snprintf(digits, sizeof(digits), "%.0f", fabs(v));
    size_t nd = strlen(digits), o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; i < nd && o + 2 < size; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static int method_protection(report_state *s, rp_error *err)
{
    const report_args *a = s->a;
    const char *unit = persons(s) ? "persons" : "case records";
    char n1[40], n2[40], n3[40], n4[40];
    if (a->round_base > 0.0)
        return push_line(&s->method, err,
                         "Every published count is rounded to a multiple of %s, so totals may "
                         "differ from the sum of their parts. Rounding alone protects small "
                         "counts weakly: a small cell can often be worked back from the rounded "
                         "margins of several tables; suppression or differential privacy "
                         "protects them better.",
                         fmt_num(n1, sizeof(n1), a->round_base));
    if (a->kround > 0.0)
        return push_line(&s->method, err,
                         "k-rounding as CTDC publishes: cells of fewer than %s %s are not "
                         "shown, the others are rounded down to a multiple of %s; no further "
                         "cells are withheld, so a hidden cell may be narrowed from the totals.",
                         fmt_num(n1, sizeof(n1), a->kround), unit,
                         fmt_num(n2, sizeof(n2), a->kround));
    if (a->dp_epsilon > 0.0) {
        int rc = push_line(
            &s->method, err,
            "Every table lists the years %d to %d and every category of its fields, whether "
            "anyone is in it or not, so that the shape of the tables tells nothing about the "
            "data. The tables of citizenship and country of exploitation are left out: their "
            "categories are not fixed in advance, and listing only those present would "
            "disclose a person in a rare one.",
            a->year_from, a->year_to);
        if (rc != RP_OK)
            return rc;
        return push_line(
            &s->method, err,
            "Counts carry random noise (discrete Laplace, differential privacy with epsilon %s "
            "per table, %s for this report; the store has now spent %s of its cap of %s); the "
            "privacy budget is recorded in the store%s. Nothing exact is published beside the "
            "noisy counts: no estimate of the total and no count of the sources.%s",
            fmt_num(n1, sizeof(n1), a->dp_epsilon), fmt_num(n2, sizeof(n2), s->budget_epsilon),
            fmt_num(n3, sizeof(n3), s->budget_spent),
            fmt_num(n4, sizeof(n4), a->dp_budget > 0.0 ? a->dp_budget : DP_BUDGET),
            s->n_srcs > 0 ? " of every state" : "",
            persons(s) ? ""
                       : " The unit of protection is the case record: a person recorded more "
                         "than once is protected less than one recorded once.");
    }
    return push_line(&s->method, err,
                     "Cells of fewer than %s %s are not published, and further cells are "
                     "withheld where needed so that the hidden ones cannot be worked out from "
                     "the totals; %s",
                     fmt_num(n1, sizeof(n1), a->k), unit,
                     s->n_bases > 1
                         ? "the tables are protected jointly, as linked tables: a figure that "
                           "several tables show is withheld in all of them or in none, and one "
                           "linear-programming audit of all the tables together checks that no "
                           "hidden cell can be worked out, or narrowed too far, by combining "
                           "them."
                         : "a linear-programming audit checks the table.");
}

static int method_regional(report_state *s, rp_error *err)
{
    if (s->n_srcs == 0)
        return RP_OK;
    int rc = push_line(
        &s->method, err,
        "The report pools the data of %zu states. Each table is made once with the region and "
        "the state as further dimensions, and all these tables are protected jointly (linked "
        "tables), so that a state's hidden figure cannot be worked out from the totals of all "
        "states or of its region minus the other states, nor by combining tables; the tables "
        "for all states, by state and by region are views of them. A figure withheld in one "
        "table, a total of a state, a region or all states included, is withheld in every "
        "table that shows it.",
        s->n_srcs);
    if (rc == RP_OK)
        rc = push_line(&s->method, err, "%s",
                       "Each state counts the persons its own agencies identified; the states' "
                       "data are not linked with each other, so a person identified in two "
                       "states is counted in each.");
    if (rc == RP_OK && s->records_forced)
        rc = push_line(&s->method, err, "%s",
                       "Some states' data are linked into persons and others are not, so every "
                       "state is counted in case records.");
    return rc;
}

static int collect_method(report_state *s, rp_error *err)
{
    int rc = push_line(
        &s->method, err, "%s",
        persons(s) ? "Counts are of persons: records linked to one person count once, with the "
                     "details of their earliest registration."
                   : "Counts are of case records: the store holds no linked persons, so a person "
                     "recorded by two agencies is counted twice.");
    if (rc == RP_OK)
        rc = push_line(&s->method, err, "%s",
                       "Shares follow CTDC's rule: they are of the persons with information on "
                       "the field, so \"Not recorded\", \"Unknown\" and \"Not specified\" "
                       "are shown as counts without a share; for forms of exploitation and "
                       "labour sectors a person can be counted in more than one category.");
    if (rc == RP_OK)
        rc = method_protection(s, err);
    if (rc == RP_OK)
        rc = push_line(
            &s->method, err,
            "Trends: the change on the year before, and the average annual change from a "
            "Poisson log-linear regression of the published yearly counts (log of the expected "
            "count linear in the year), with its 95%% profile-likelihood interval, widened "
            "when the counts vary more from year to year than Poisson counts do "
            "(quasi-Poisson). The trend is fitted to published counts only: a year not "
            "published is left out of the fit (the years fitted are named), so the trend "
            "reveals nothing the table does not; it needs %d published years.",
            MIN_TREND_YEARS);
    if (rc == RP_OK)
        rc = method_regional(s, err);
    if (rc == RP_OK && s->est != NULL)
        rc = push_line(&s->method, err, "%s",
                       "The estimated total comes from multiple systems estimation "
                       "(log-linear models of the overlap between the lists): it counts the "
                       "victims no list recorded as well as those seen. Its trend is a "
                       "regression of the log of the yearly estimates on the year, weighted by "
                       "their precision.");
    return rc;
}

/* ==== writing ==== */

/* "@p dir/@p name" into @p out (PATH_MAX bytes). @return false when it does not fit. */
static bool path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n >= 0 && n < PATH_MAX;
}

static int add_file(report_state *s, const char *name, rp_error *err)
{
    if (json_array_append_new(s->files, json_string(name)) != 0)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

/* What one CSV or JSON file holds: a table, or trends. */
typedef struct file_content {
    const rp_table *t;
    const rp_trend *const *trends;
    const char *const *labels;
    size_t n_trends;
} file_content;

static int write_content(FILE *f, bool csv, const file_content *fc, rp_error *err)
{
    if (fc->t == NULL)
        return csv ? rp_trend_write_csv(f, fc->trends, fc->labels, fc->n_trends, err)
                   : rp_trend_write_json(f, fc->trends, fc->labels, fc->n_trends, err);
    rp_table_write_opts wo = RP_TABLE_WRITE_OPTS_INIT;
    wo.layout = RP_TABLE_CSV_WIDE;
    wo.share_dim = fc->t->n_dims == 1 ? 0 : -1;
    return csv ? rp_table_write_csv(f, fc->t, &wo, err) : rp_table_write_json(f, fc->t, &wo, err);
}

/* @p stem.csv and @p stem.json as the formats ask. */
static int write_data_files(
    report_state *s, const char *dir, const char *stem, const file_content *fc, rp_error *err)
{
    char path[PATH_MAX];
    char name[160];
    int rc = RP_OK;
    for (unsigned fmt = FMT_CSV; rc == RP_OK && fmt <= FMT_JSON; fmt <<= 1) {
        if ((s->a->formats & fmt) == 0)
            continue;
        snprintf(name, sizeof(name), "%.120s.%s", stem, fmt == FMT_CSV ? "csv" : "json");
        if (!path_join(path, dir, name))
            return rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            return rp_error_set(err, RP_EIO, "cannot create '%s'", path);
        rc = write_content(f, fmt == FMT_CSV, fc, err);
        if (fclose(f) != 0 && rc == RP_OK)
            rc = rp_error_set(err, RP_EIO, "cannot write '%s'", path);
        if (rc == RP_OK)
            rc = add_file(s, name, err);
    }
    return rc;
}

static int
write_table_files(report_state *s, const char *dir, const report_table *rt, rp_error *err)
{
    char stem[160];
    file_content fc = {rt->t, NULL, NULL, 0};
    int rc = write_data_files(s, dir, rt->stem, &fc, err);
    if (rc != RP_OK || rt->n_trends == 0)
        return rc;
    fc = (file_content){NULL, (const rp_trend *const *)rt->trends,
                        (const char *const *)rt->trend_labels.v, rt->n_trends};
    snprintf(stem, sizeof(stem), "%.120s-trend", rt->stem);
    return write_data_files(s, dir, stem, &fc, err);
}

static int write_chart_files(
    report_state *s, const char *dir, const rp_chart *c, const char *stem, rp_error *err)
{
    static const struct {
        unsigned fmt;
        rp_chart_format cf;
        const char *ext;
    } kinds[] = {{FMT_SVG, RP_CHART_SVG, "svg"},
                 {FMT_PNG, RP_CHART_PNG, "png"},
                 {FMT_PDF, RP_CHART_PDF, "pdf"}};

    char path[PATH_MAX];
    char name[160];
    for (size_t i = 0; c != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if ((s->a->formats & kinds[i].fmt) == 0)
            continue;
        snprintf(name, sizeof(name), "%.120s.%s", stem, kinds[i].ext);
        if (!path_join(path, dir, name))
            return rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        int rc = rp_chart_write(c, kinds[i].cf, path, err);
        if (rc == RP_OK)
            rc = add_file(s, name, err);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

static void make_summary(report_state *s)
{
    const char *base = "Victims of trafficking identified and recorded by the agencies whose "
                       "data are in this report, by year, sex, age, citizenship and form of "
                       "exploitation";
    if (s->n_srcs == 0) {
        snprintf(s->summary, sizeof(s->summary),
                 "%s. Small numbers are not published, to protect the people behind them.", base);
        return;
    }
    size_t len = (size_t)snprintf(s->summary, sizeof(s->summary),
                                  "%s, in %zu states and by state and region (", base, s->n_srcs);
    for (size_t i = 0; i < s->n_srcs && len < sizeof(s->summary); i++) {
        char name[128];
        rp_chart_cat_label(name, sizeof(name), RP_TABLE_FIELD_STATE, s->srcs[i].code);
        len += (size_t)snprintf(s->summary + len, sizeof(s->summary) - len, "%s%s",
                                i > 0 ? ", " : "", name);
    }
    if (len < sizeof(s->summary))
        snprintf(s->summary + len, sizeof(s->summary) - len,
                 "). Small numbers are not published, to protect the people behind them.");
}

static void fill_doc(rp_report_doc *doc, rp_report_section *sections, report_state *s)
{
    for (size_t i = 0; i < s->n_tables; i++) {
        const report_table *rt = &s->tables[i];
        sections[i] = (rp_report_section){rt->t,
                                          rt->chart,
                                          rt->text,
                                          NULL,
                                          (const rp_trend *const *)rt->trends,
                                          (const char *const *)rt->trend_labels.v,
                                          rt->n_trends};
    }
    make_summary(s);
    *doc = (rp_report_doc){0};
    doc->title = "Trafficking in human beings: patterns and trends";
    doc->summary = s->summary;
    doc->sections = sections;
    doc->n_sections = s->n_tables;
    doc->estimates = s->est_rows;
    doc->n_estimates = s->n_est_rows;
    doc->estimate_chart = s->est_chart;
    doc->estimate_text = "Not every victim is identified. Comparing who appears on which list "
                         "estimates how many no list recorded; the interval shows the "
                         "uncertainty of that estimate.";
    doc->estimate_trend = s->est_trend;
    doc->ci_level = s->est != NULL ? s->est->ci_level : 0.95;
    doc->sources = (const char *const *)s->sources.v;
    doc->n_sources = s->sources.n;
    doc->method = (const char *const *)s->method.v;
    doc->n_method = s->method.n;
    doc->generated = "rapporteur " RP_VERSION_STRING;
}

static int write_doc(report_state *s, const char *dir, const rp_report_doc *doc, rp_error *err)
{
    char path[PATH_MAX];
    int rc = RP_OK;
    if (s->a->formats & FMT_HTML) {
        rc = path_join(path, dir, "report.html")
                 ? rp_report_html_write(doc, path, err)
                 : rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        if (rc == RP_OK)
            rc = add_file(s, "report.html", err);
    }
    if (rc == RP_OK && (s->a->formats & FMT_XLSX)) {
        rc = path_join(path, dir, "report.xlsx")
                 ? rp_report_xlsx_write(doc, path, err)
                 : rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        if (rc == RP_OK)
            rc = add_file(s, "report.xlsx", err);
    }
    return rc;
}

static int write_all(report_state *s, const char *dir, rp_error *err)
{
    rp_report_section sections[MAX_TABLES];
    rp_report_doc doc;
    fill_doc(&doc, sections, s);
    int rc = write_doc(s, dir, &doc, err);
    for (size_t i = 0; rc == RP_OK && i < s->n_tables; i++) {
        rc = write_table_files(s, dir, &s->tables[i], err);
        if (rc == RP_OK)
            rc = write_chart_files(s, dir, s->tables[i].chart, s->tables[i].stem, err);
    }
    if (rc == RP_OK)
        rc = write_chart_files(s, dir, s->est_chart, "estimate", err);
    if (rc == RP_OK && s->est_trend != NULL) {
        static const char *const labels[] = {"estimated total"};
        const rp_trend *trs[] = {s->est_trend};
        file_content fc = {NULL, trs, labels, 1};
        rc = write_data_files(s, dir, "estimate-trend", &fc, err);
    }
    return rc;
}

/* ==== the output directory ==== */

/* May @p dir be replaced: absent, empty, or an earlier report (holds MARKER)? */
static bool replaceable(const char *dir, bool *exists)
{
    char path[PATH_MAX];
    struct stat sb;
    *exists = lstat(dir, &sb) == 0;
    if (!*exists)
        return true;
    if (!S_ISDIR(sb.st_mode))
        return false;
    if (path_join(path, dir, MARKER) && lstat(path, &sb) == 0)
        return true;
    rp_x_strvec names = RP_X_STRVEC_INIT;
    bool empty = rp_x_dir_list(&names, dir) == RP_OK && names.n == 0;
    rp_x_strvec_release(&names);
    return empty;
}

/* Make DIR.tmp-XXXXXX beside @p out_dir. */
static int make_staging(char *tmp, size_t size, const char *out_dir, rp_error *err)
{
    char clean[PATH_MAX];
    rp_x_strlcpy(clean, out_dir, sizeof(clean));
    size_t len = strlen(clean);
    while (len > 1 && clean[len - 1] == '/')
        clean[--len] = '\0';
    int n = snprintf(tmp, size, "%s.tmp-XXXXXX", clean);
    if (n < 0 || (size_t)n >= size)
        return rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
    if (mkdtemp(tmp) == NULL)
        return rp_error_set(err, RP_EIO, "cannot create a directory beside '%s': %s", out_dir,
                            strerror(errno));
    /* mkdtemp() makes it 0700; a report is for publishing: 0777 less the umask */
    mode_t mask = umask(0);
    umask(mask);
    if (chmod(tmp, 0777 & ~mask) != 0)
        return rp_error_set(err, RP_EIO, "cannot set the mode of '%s'", tmp);
    char marker[PATH_MAX];
    FILE *f = path_join(marker, tmp, MARKER) ? fopen(marker, "w") : NULL;
    if (f == NULL || fprintf(f, "written by rapporteur report %s\n", RP_VERSION_STRING) < 0 ||
        fclose(f) != 0)
        return rp_error_set(err, RP_EIO, "cannot write in '%s'", tmp);
    return RP_OK;
}

/*
 * What an earlier report wrote: its MARKER lists the files ("file NAME" lines, written by
 * write_manifest()). A marker without that list (reports before it) falls back on the
 * names the report gives its files. Anything else in the directory was put there by
 * someone else, and is not deleted without --force.
 */
static bool report_file_name(const char *name)
{
    static const char *const fixed[] = {"report.html",        "report.xlsx",        MARKER,
                                        "estimate.svg",       "estimate.png",       "estimate.pdf",
                                        "estimate-trend.csv", "estimate-trend.json"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(name, fixed[i]) == 0)
            return true;
    }
    /* NN-stem[-trend].ext, stem of [a-z0-9-] */
    const char *dot = strrchr(name, '.');
    if (dot == NULL ||
        !(name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' && name[2] == '-'))
        return false;
    for (const char *p = name + 3; p < dot; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    }
    static const char *const exts[] = {".csv", ".json", ".svg", ".png", ".pdf"};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        if (strcmp(dot, exts[i]) == 0)
            return true;
    }
    return false;
}

/* The files listed in @p dir's MARKER into @p out; *listed false when it lists none. */
static void read_manifest(rp_cli_strv *out, bool *listed, const char *dir)
{
    char path[PATH_MAX];
    char *line = NULL;
    size_t cap = 0;
    rp_error err = RP_ERROR_INIT;
    *listed = false;
    FILE *f = path_join(path, dir, MARKER) ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    for (ssize_t n = getline(&line, &cap, f); n >= 0; n = getline(&line, &cap, f)) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (strncmp(line, "file ", 5) == 0 &&
            rp_cli_strv_push(out, line + 5, strlen(line + 5), &err) == RP_OK)
            *listed = true;
    }
    free(line); /* getline()'s allocation */
    fclose(f);
}

static bool known_file(const rp_cli_strv *manifest, bool listed, const char *name)
{
    if (!listed)
        return report_file_name(name);
    if (strcmp(name, MARKER) == 0)
        return true;
    for (size_t i = 0; i < manifest->n; i++) {
        if (strcmp(manifest->v[i], name) == 0)
            return true;
    }
    return false;
}

/* The entries of earlier report @p dir that it did not write: how many, and the first
 * met in @p first ("" when none). */
static size_t foreign_files(char *first, size_t size, const char *dir)
{
    rp_cli_strv manifest = {0};
    bool listed = false;
    size_t n = 0;
    first[0] = '\0';
    read_manifest(&manifest, &listed, dir);
    rp_x_strvec names = RP_X_STRVEC_INIT;
    (void)rp_x_dir_list(&names, dir); /* what could be listed */
    for (size_t i = 0; i < names.n; i++) {
        if (!known_file(&manifest, listed, names.items[i]) && n++ == 0)
            rp_x_strlcpy(first, names.items[i], size);
    }
    rp_x_strvec_release(&names);
    rp_cli_strv_clear(&manifest);
    return n;
}

/* RP_EPERM naming a file of @p dir that no report wrote, if there is one (--force off). */
static int check_foreign(const char *dir, bool force, rp_error *err)
{
    char name[256];
    size_t n = force ? 0 : foreign_files(name, sizeof(name), dir);
    if (n == 0)
        return RP_OK;
    char more[64] = "";
    if (n > 1)
        snprintf(more, sizeof(more), " (and %zu more)", n - 1);
    return rp_error_set(err, RP_EPERM,
                        "--out-dir: '%s' holds '%s'%s, which no report wrote; move it out, or "
                        "use --force to delete it with the earlier report",
                        dir, name, more);
}

/* List the report's files in the staging directory's MARKER (read_manifest()). */
static int write_manifest(const char *dir, const json_t *files, rp_error *err)
{
    char path[PATH_MAX];
    FILE *f = path_join(path, dir, MARKER) ? fopen(path, "a") : NULL;
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < json_array_size(files); i++)
        ok = fprintf(f, "file %s\n", json_string_value(json_array_get(files, i))) > 0;
    if (f != NULL && fclose(f) != 0)
        ok = false;
    return ok ? RP_OK : rp_error_set(err, RP_EIO, "cannot write in '%s'", dir);
}

/*
 * Remove the earlier report, now at @p dir: the files it wrote (all with @p force), then
 * the directory. A file no report wrote that appeared after the check keeps the directory,
 * which is then named on stderr rather than deleted.
 */
static void remove_old_report(const char *dir, bool force)
{
    char path[PATH_MAX];
    rp_cli_strv manifest = {0};
    bool listed = false;
    read_manifest(&manifest, &listed, dir);
    rp_x_strvec names = RP_X_STRVEC_INIT;
    (void)rp_x_dir_list(&names, dir); /* what could be listed */
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.items[i];
        if (strcmp(name, MARKER) != 0 && (force || known_file(&manifest, listed, name)) &&
            path_join(path, dir, name))
            unlink(path);
    }
    rp_x_strvec_release(&names);
    rp_cli_strv_clear(&manifest);
    if (path_join(path, dir, MARKER))
        unlink(path);
    if (rmdir(dir) != 0)
        fprintf(stderr,
                "rapporteur: warning: the earlier report's directory is kept as '%s': it "
                "holds files no report wrote\n",
                dir);
}

/* Exchange directories @p a and @p b atomically: renameat2(RENAME_EXCHANGE). -1 with
 * errno ENOSYS where there is no such call. */
static int exchange_dirs(const char *a, const char *b)
{
#if defined(__linux__) && defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2u /* RENAME_EXCHANGE */);
#else
    (void)a;
    (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

/*
 * Put the finished @p tmp in place of @p out_dir. When @p out_dir exists, the two are
 * exchanged in one step, so a reader finds the old report or the new one and never no
 * report; the old one, now at @p tmp, is then removed (remove_old_report()).
 */
static int publish_dir(const char *tmp, const char *out_dir, bool exists, bool force, rp_error *err)
{
    if (!exists) {
        if (rename(tmp, out_dir) != 0)
            return rp_error_set(err, RP_EIO, "cannot rename the report into '%s': %s", out_dir,
                                strerror(errno));
        return RP_OK;
    }
    int rc = check_foreign(out_dir, force, err); /* again: files may have come meanwhile */
    if (rc != RP_OK)
        return rc;
    if (exchange_dirs(tmp, out_dir) == 0) {
        remove_old_report(tmp, force);
        return RP_OK;
    }
    if (errno != EINVAL && errno != ENOSYS)
        return rp_error_set(err, RP_EIO, "cannot exchange the report with '%s': %s", out_dir,
                            strerror(errno));
    /*
     * The kernel or the file system cannot exchange (a kernel before 3.15, ENOSYS; a file
     * system without RENAME_EXCHANGE, EINVAL): two renames, the old report moved aside
     * and the new one moved in. Between them there is briefly no report at @p out_dir.
     */
    char aside[PATH_MAX];
    int n = snprintf(aside, sizeof(aside), "%s.aside-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(aside) || mkdtemp(aside) == NULL)
        return rp_error_set(err, RP_EIO, "cannot replace '%s'", out_dir);
    rmdir(aside);
    if (rename(out_dir, aside) != 0)
        return rp_error_set(err, RP_EIO, "cannot move the old '%s' aside: %s", out_dir,
                            strerror(errno));
    if (rename(tmp, out_dir) != 0) {
        int e = errno;
        (void)rename(aside, out_dir);
        return rp_error_set(err, RP_EIO, "cannot rename the report into '%s': %s", out_dir,
                            strerror(e));
    }
    remove_old_report(aside, force);
    return RP_OK;
}

/* ==== the command ==== */

static void state_clear(report_state *s)
{
    for (size_t i = 0; i < s->n_tables; i++) {
        report_table *rt = &s->tables[i];
        rp_chart_free(rt->chart);
        rp_table_free(rt->t);
        for (size_t k = 0; k < rt->n_trends; k++)
            rp_trend_free(rt->trends[k]);
        rp_free(rt->trends);
        rp_cli_strv_clear(&rt->trend_labels);
    }
    for (size_t i = 0; i < s->n_bases; i++) {
        rp_table_free(s->bases[i].t);
    }
    rp_chart_free(s->est_chart);
    rp_trend_free(s->est_trend);
    rp_free(s->est_rows);
    rp_report_estimates_free(s->est);
    rp_report_data_free(s->data);
    rp_cli_strv_clear(&s->sources);
    rp_cli_strv_clear(&s->method);
    json_decref(s->files);
    rp_store_close(s->st);
    for (size_t i = 0; i < s->n_srcs; i++) {
        rp_report_data_free(s->srcs[i].data);
        rp_store_close(s->srcs[i].st);
        rp_free(s->srcs[i].code);
        rp_free(s->srcs[i].path);
        rp_free(s->srcs[i].region);
    }
    rp_free(s->srcs);
}

static int build(report_state *s, rp_error *err)
{
    int rc = s->st != NULL ? rp_report_data_load(&s->data, s->st, NULL, err) : RP_OK;
    if (rc == RP_OK)
        rc = collect_sources(s, err);
    if (rc == RP_OK)
        rc = build_standard(s, err);
    if (rc == RP_OK)
        rc = build_by(s, err);
    if (rc == RP_OK)
        rc = protect(s, err);
    if (rc == RP_OK)
        rc = make_sections(s, err);
    if (rc == RP_OK)
        rc = build_estimates(s, err);
    if (rc == RP_OK)
        rc = collect_method(s, err);
    return rc;
}

static json_t *states_json(const report_state *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < s->n_srcs; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "state", s->srcs[i].code, "region",
                                             s->srcs[i].region, "unit",
                                             rp_report_data_unit(s->srcs[i].data)));
    return arr;
}

static int print_result(const report_state *s, const char *out_dir, rp_error *err)
{
    if (s->a->common.json) {
        json_t *tables = json_array();
        for (size_t i = 0; tables != NULL && i < s->n_tables; i++)
            json_array_append_new(tables, json_pack("{s:s, s:s}", "title", s->tables[i].t->title,
                                                    "stem", s->tables[i].stem));
        json_t *root =
            json_pack("{s:s, s:O, s:o, s:b, s:o}", "out_dir", out_dir, "files", s->files, "tables",
                      tables, "estimates", s->est != NULL, "states", states_json(s));
        if (root != NULL && s->budget_charged)
            json_object_set_new(root, "privacy_budget",
                                json_pack("{s:f, s:f, s:f}", "epsilon_report", s->budget_epsilon,
                                          "epsilon_spent", s->budget_spent, "epsilon_cap",
                                          s->a->dp_budget > 0.0 ? s->a->dp_budget : DP_BUDGET));
        int rc = root != NULL ? rp_cli_json_print(root, err)
                              : rp_error_set(err, RP_ENOMEM, "out of memory");
        json_decref(root);
        return rc;
    }
    if (s->a->common.quiet)
        return RP_OK;
    printf("report: %s (%zu tables%s", out_dir, s->n_tables, s->est != NULL ? ", estimates" : "");
    if (s->n_srcs > 0)
        printf(", %zu states", s->n_srcs);
    printf(")\n");
    if (s->a->formats & FMT_HTML)
        printf("  %s/report.html\n", out_dir);
    if (s->a->formats & FMT_XLSX)
        printf("  %s/report.xlsx\n", out_dir);
    printf("  %zu files in all\n", json_array_size(s->files));
    return fflush(stdout) == 0 ? RP_OK : rp_error_set(err, RP_EIO, "cannot write to stdout");
}

/* Open the store, or the states' stores. @return -1 to go on, else the exit status. */
static int open_input(report_state *s, const report_args *a)
{
    if (!regional(a))
        return rp_cli_store_open(&s->st, a->store, a->dp_epsilon > 0.0 ? 0u : RP_STORE_READONLY,
                                 a->common.json);
    rp_error err = RP_ERROR_INIT;
    int rc = open_states(s, &err);
    return rc == RP_OK ? -1 : rp_cli_report(&err, a->common.json);
}

int cmd_report(int argc, char **argv)
{
    report_args a = {
        .store = RP_STORE_DEFAULT_PATH, .out_dir = "report", .k = 5.0, .formats = FMT_ALL};
    report_state s = {.a = &a};
    rp_error err = RP_ERROR_INIT;
    char tmp[PATH_MAX] = "";
    bool exists = false;
    int status = parse_args(&a, argc, argv);
    if (status >= 0)
        goto out;
    if (!replaceable(a.out_dir, &exists)) {
        status = rp_cli_usage_error(CMD_NAME,
                                    "--out-dir: '%s' exists and is not an earlier report; "
                                    "remove it or choose another",
                                    a.out_dir);
        goto out;
    }
    if (exists && check_foreign(a.out_dir, a.force, &err) != RP_OK) {
        status = rp_cli_report(&err, a.common.json); /* before any work: exit 4 */
        goto out;
    }
    status = open_input(&s, &a);
    if (status >= 0)
        goto out;
    s.files = json_array();
    int rc = s.files != NULL ? build(&s, &err) : rp_error_set(&err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK)
        rc = make_staging(tmp, sizeof(tmp), a.out_dir, &err);
    if (rc == RP_OK)
        rc = write_all(&s, tmp, &err);
    if (rc == RP_OK)
        rc = write_manifest(tmp, s.files, &err);
    if (rc == RP_OK)
        rc = publish_dir(tmp, a.out_dir, exists, a.force, &err);
    if (rc == RP_OK) {
        tmp[0] = '\0';
        rc = print_result(&s, a.out_dir, &err);
    }
    status = rc == RP_OK ? RP_EXIT_OK : rp_cli_report(&err, a.common.json);
out:
    if (tmp[0] != '\0')
        rp_x_remove_flat_dir(tmp);
    state_clear(&s);
    rp_cli_strv_clear(&a.by);
    rp_cli_strv_clear(&a.states);
    return status;
}
