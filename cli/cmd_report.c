/*
 * rapporteur CLI: `rapporteur report`, patterns and trends published safely. Builds the
 * standard tables from the store (by year; sex by age band; citizenship; forms of
 * exploitation; labour sectors; country of exploitation; any --by cross-tabulation),
 * protects each (threshold rule with audited secondary suppression, rounding, or
 * differentially private counts with the budget charged in the store), adds the
 * multiple systems estimates when the store has linked persons on two or more lists,
 * and writes the HTML report, the workbook, CSV/JSON tables and the charts into a
 * temporary directory that is renamed into place: a reader never sees half a report.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h"     /* last: it redefines banned libc names */
#include "common/common_int.h" /* rp_x_strlcpy */

#include <rapporteur/chart.h>
#include <rapporteur/rapporteur.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_NAME   "report"
#define MARKER     ".rapporteur-report" /* marks a directory this command wrote */
#define TOP_N      15
#define MAX_TABLES 32

enum { OPT_STORE = RP_CLI_OPT_FIRST, OPT_BY, OPT_K, OPT_ROUND, OPT_DP, OPT_OUT_DIR, OPT_FORMAT };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"by", required_argument, NULL, OPT_BY},
                                         {"k", required_argument, NULL, OPT_K},
                                         {"round", required_argument, NULL, OPT_ROUND},
                                         {"dp-epsilon", required_argument, NULL, OPT_DP},
                                         {"out-dir", required_argument, NULL, OPT_OUT_DIR},
                                         {"format", required_argument, NULL, OPT_FORMAT},
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
            "usage: rapporteur report [--store FILE] [--by FIELD[,FIELD...]]... [--k N]\n"
            "                         [--round BASE | --dp-epsilon E] [--out-dir DIR]\n"
            "                         [--format html,xlsx,csv,json,svg,png,pdf] [--json]\n"
            "\n"
            "Write the patterns-and-trends report of the store: tables by year of\n"
            "registration, sex and age band, citizenship, form of exploitation, labour\n"
            "sector and country of exploitation (plus one per --by), each protected\n"
            "against disclosure, with charts, and the estimated total beside the observed\n"
            "count when the store holds linked persons on two or more lists. Everything is\n"
            "written into a temporary directory that then replaces DIR, so DIR never holds\n"
            "half a report. Suppressed cells appear as \"x\", never as a number.\n"
            "\n"
            "Options:\n"
            "  --store FILE         the store (default %s)\n"
            "  --by FIELD[,FIELD]   one more table crossing these fields (repeatable)\n"
            "  --k N                threshold: cells of 1..N-1 units are suppressed, with\n"
            "                       the secondary suppressions that protect them (default 5)\n"
            "  --round BASE         publish every cell rounded to a multiple of BASE instead\n"
            "  --dp-epsilon E       publish differentially private counts instead (discrete\n"
            "                       Laplace, epsilon E per table), charged to the store's\n"
            "                       privacy budget (the store must be writable)\n"
            "  --out-dir DIR        where the report goes (default report); an existing DIR\n"
            "                       must be empty or an earlier report\n"
            "  --format LIST        outputs to write (default all): html, xlsx, csv, json,\n"
            "                       svg, png, pdf\n"
            "  --json               print {\"out_dir\", \"files\", \"tables\", \"estimates\"}\n"
            "  -q, --quiet          print nothing\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 1 runtime error, 2 usage, 4 I/O or store error, 65 no data.\n",
            RP_STORE_DEFAULT_PATH);
}

typedef struct report_args {
    rp_cli_common common;
    const char *store;
    const char *out_dir;
    rp_cli_strv by; /* each --by as given */
    double k;
    double round_base;
    double dp_epsilon;
    unsigned formats;
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

/* One report option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    report_args *a = payload;
    rp_error err = RP_ERROR_INIT;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        return -1;
    case OPT_OUT_DIR:
        a->out_dir = v;
        return -1;
    case OPT_BY:
        if (rp_cli_strv_push(&a->by, v, strlen(v), &err) != RP_OK)
            return rp_cli_report(&err, false);
        return -1;
    case OPT_FORMAT:
        return parse_formats(&a->formats, v);
    case OPT_K:
        if (!rp_cli_parse_double(&a->k, v) || !(a->k >= 1.0 && a->k <= 1e6))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number from 1 to 1000000", name);
        return -1;
    case OPT_ROUND:
        if (!rp_cli_parse_double(&a->round_base, v) || !(a->round_base >= 1.0) ||
            a->round_base > 1e6)
            return rp_cli_usage_error(CMD_NAME, "%s: expected a base from 1 to 1000000", name);
        return -1;
    case OPT_DP:
        if (!rp_cli_parse_double(&a->dp_epsilon, v) || !(a->dp_epsilon > 0.0) ||
            a->dp_epsilon > 100.0)
            return rp_cli_usage_error(CMD_NAME, "%s: expected epsilon in (0, 100]", name);
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

static int parse_args(report_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st == -1)
        st = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (st != -1)
        return st;
    if (a->round_base > 0.0 && a->dp_epsilon > 0.0)
        return rp_cli_usage_error(CMD_NAME, "--round and --dp-epsilon exclude each other");
    if (a->out_dir[0] == '\0')
        return rp_cli_usage_error(CMD_NAME, "--out-dir: empty path");
    return -1;
}

/* ==== the tables ==== */

/* One table of the report, with its chart and the stem of its file names. */
typedef struct report_table {
    rp_table *t;
    rp_chart *chart;
    char stem[96];
    const char *text;
} report_table;

typedef struct report_state {
    const report_args *a;
    rp_store *st;
    rp_report_data *data;
    report_table tables[MAX_TABLES];
    size_t n_tables;
    rp_report_estimates *est;
    rp_chart_estimate_row *est_rows;
    size_t n_est_rows;
    rp_chart *est_chart;
    char *est_labels; /* storage of est_rows' labels */
    rp_cli_strv sources;
    rp_cli_strv method;
    char chart_source[512]; /* "Source: IOM (file.csv); ..." under every chart */
    json_t *files;          /* names written, for --json */
    double budget_epsilon;
    bool budget_charged;
} report_state;

/* A table of the standard set: fields, title words, chart, text. */
typedef struct table_spec {
    rp_field fields[2];
    size_t n_fields;
    const char *stem;
    const char *by_words; /* "year of registration" */
    bool chart;           /* draw one */
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
     RP_CHART_COLUMNS,
     0,
     "How many were identified each year. A year with few persons is not shown, so that no "
     "one can be recognised."},
    {{RP_FIELD_SEX, RP_FIELD_AGE_BAND},
     2,
     "sex-age",
     "sex and age band",
     false,
     RP_CHART_BARS,
     0,
     "Sex by age band at registration."},
    {{RP_FIELD_CITIZENSHIP},
     1,
     "citizenship",
     "citizenship",
     true,
     RP_CHART_BARS,
     TOP_N,
     "Citizenship of the persons identified; the chart shows the largest groups."},
    {{RP_FIELD_EXPLOITATION},
     1,
     "exploitation",
     "form of exploitation",
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
     RP_CHART_BARS,
     0,
     "Sectors of labour exploitation, for the persons for whom one is known."},
    {{RP_FIELD_COUNTRY_OF_EXPLOITATION},
     1,
     "country-of-exploitation",
     "country of exploitation",
     true,
     RP_CHART_BARS,
     TOP_N,
     "Where the exploitation took place."},
};

static int protect(report_state *s, rp_table *t, rp_error *err)
{
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.k = s->a->k;
    if (s->a->round_base > 0.0) {
        o.method = RP_SDC_ROUND;
        o.base = s->a->round_base;
    } else if (s->a->dp_epsilon > 0.0) {
        o.method = RP_SDC_DP_LAPLACE;
        o.epsilon = s->a->dp_epsilon;
        int rc = rp_report_budget_charge(NULL, s->st, t->title, o.epsilon, 0.0, 0.0, 0.0, err);
        if (rc != RP_OK)
            return rc;
        s->budget_epsilon += o.epsilon;
        s->budget_charged = true;
    }
    return rp_sdc_protect(t, &o, NULL, err);
}

static bool table_empty(const rp_table *t)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d].n_cats == 0)
            return true;
    }
    return false;
}

/* Build, protect and chart one table. A field with no data gives no table (RP_EDATA,
 * RP_EINVAL from an empty multi-valued field are skipped, not errors). */
static int add_table(report_state *s,
                     const rp_field *fields,
                     size_t n_fields,
                     const char *title,
                     const char *stem,
                     bool chart,
                     rp_chart_kind kind,
                     size_t top_n,
                     const char *text,
                     rp_error *err)
{
    if (s->n_tables == MAX_TABLES)
        return rp_error_set(err, RP_EINVAL, "more than %d tables", MAX_TABLES);
    rp_table_opts topts = RP_TABLE_OPTS_INIT;
    topts.title = title;
    report_table *rt = &s->tables[s->n_tables];
    int rc = rp_report_table_build(&rt->t, s->data, fields, n_fields, &topts, err);
    if (rc != RP_OK)
        return rc;
    if (table_empty(rt->t)) { /* no one with information on a field: no table */
        rp_table_free(rt->t);
        rt->t = NULL;
        return RP_OK;
    }
    s->n_tables++;
    snprintf(rt->stem, sizeof(rt->stem), "%02zu-%s", s->n_tables, stem);
    rt->text = text;
    rc = protect(s, rt->t, err);
    if (rc != RP_OK || !chart || n_fields != 1)
        return rc;
    rp_chart_opts co = RP_CHART_OPTS_INIT;
    co.top_n = top_n;
    co.source = s->chart_source;
    return rp_chart_from_table(&rt->chart, rt->t, 0, kind, &co, err);
}

static int build_standard(report_state *s, rp_error *err)
{
    const char *unit = rp_report_data_unit(s->data);
    bool persons = strcmp(unit, "persons") == 0;
    for (size_t i = 0; i < sizeof(standard_tables) / sizeof(standard_tables[0]); i++) {
        const table_spec *sp = &standard_tables[i];
        char title[160];
        snprintf(title, sizeof(title), "%s by %s", persons ? "Victims" : "Case records",
                 sp->by_words);
        int rc = add_table(s, sp->fields, sp->n_fields, title, sp->stem, sp->chart, sp->kind,
                           sp->top_n, sp->text, err);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
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
            size_t tl = strlen(title);
            snprintf(title + tl, sizeof(title) - tl, "%s%s", j == 0 ? "Victims by " : " and ",
                     rp_chart_field_label(fields[j]));
            size_t sl = strlen(stem);
            snprintf(stem + sl, sizeof(stem) - sl, "-%s", rp_field_info_get(fields[j])->name);
        }
        if (rc == RP_OK)
            rc = add_table(s, fields, names.n, title, stem, true, RP_CHART_BARS, TOP_N, NULL, err);
        rp_cli_strv_clear(&names);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* ==== estimates ==== */

static int build_estimates(report_state *s, rp_error *err)
{
    rp_report_estimates_opts eo = RP_REPORT_ESTIMATES_OPTS_INIT;
    eo.min_observed = s->a->k;
    static const char *const by[] = {"registration_year"};
    rp_error e2 = RP_ERROR_INIT;
    int rc = rp_report_estimates_run(&s->est, s->st, by, 1, &eo, &e2);
    if (rc == RP_EDATA)
        return RP_OK; /* no linked persons on two or more lists: no estimate */
    if (rc != RP_OK) {
        *err = e2;
        return rc;
    }
    size_t n = 1 + s->est->n;
    s->est_rows = rp_calloc(n, sizeof(*s->est_rows));
    if (s->est_rows == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const rp_report_estimate *e = i == 0 ? &s->est->total : &s->est->strata[i - 1];
        rp_chart_estimate_row *r = &s->est_rows[s->n_est_rows++];
        const char *eq = strchr(e->label, '=');
        r->label = i == 0 ? "All" : (eq != NULL ? eq + 1 : e->label);
        if (r->label[0] == '\0')
            r->label = "Not recorded";
        r->observed_suppressed = e->suppressed;
        r->observed = e->suppressed ? NAN : e->observed;
        bool ok = !e->suppressed && e->status == RP_OK && !isnan(e->estimate);
        r->estimate = ok ? e->estimate : NAN;
        r->lo = ok ? e->lower : NAN;
        r->hi = ok ? e->upper : NAN;
    }
    rp_chart_opts co = RP_CHART_OPTS_INIT;
    co.title = "Estimated total beside the observed count, by year";
    co.x_label = "Year of registration";
    co.ci_level = s->est->ci_level > 0.0 && s->est->ci_level < 1.0 ? s->est->ci_level : 0.95;
    co.source = s->chart_source;
    return rp_chart_from_estimates(&s->est_chart, s->est_rows, s->n_est_rows, &co, err);
}

/* ==== sources and method ==== */

static int on_submission(const rp_submission *sub, void *payload)
{
    report_state *s = payload;
    char line[512];
    rp_error err = RP_ERROR_INIT;
    snprintf(line, sizeof(line),
             "%s: %s (%lld rows read, %lld stored, %lld set aside; imported %s)", sub->agency,
             sub->file_name, sub->read, sub->stored, sub->quarantined, sub->imported_at);
    size_t len = strlen(s->chart_source);
    const char *sep = len == 0 ? "Source: " : "; ";
    if (len + 80 < sizeof(s->chart_source) && sub->agency[0] != '\0')
        snprintf(s->chart_source + len, sizeof(s->chart_source) - len, "%s%s (%s)", sep,
                 sub->agency, sub->file_name);
    else if (len + 80 < sizeof(s->chart_source))
        snprintf(s->chart_source + len, sizeof(s->chart_source) - len, "%s%s", sep, sub->file_name);
    return rp_cli_strv_push(&s->sources, line, strlen(line), &err) == RP_OK ? 0 : 1;
}

static int collect_sources(report_state *s, rp_error *err)
{
    char line[512];
    const char *base = strrchr(s->a->store, '/');
    size_t n = rp_report_data_count(s->data);
    snprintf(line, sizeof(line), "Store %s: %zu %s.", base != NULL ? base + 1 : s->a->store, n,
             rp_report_data_unit(s->data));
    int rc = rp_cli_strv_push(&s->sources, line, strlen(line), err);
    if (rc == RP_OK)
        rc = rp_store_submissions(s->st, on_submission, s, err);
    return rc;
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

static int collect_method(report_state *s, rp_error *err)
{
    const report_args *a = s->a;
    bool persons = strcmp(rp_report_data_unit(s->data), "persons") == 0;
    int rc = push_line(
        &s->method, err, "%s",
        persons ? "Counts are of persons: records linked to one person count once, with the "
                  "details of their earliest registration."
                : "Counts are of case records: the store holds no linked persons, so a person "
                  "recorded by two agencies is counted twice.");
    if (rc == RP_OK)
        rc = push_line(&s->method, err, "%s",
                       "Shares follow CTDC's rule: they are of the persons with information on "
                       "the field; for forms of exploitation and labour sectors a person can be "
                       "counted in more than one category.");
    if (rc == RP_OK && a->round_base > 0.0)
        rc = push_line(&s->method, err,
                       "Every published count is rounded to a multiple of %g, so totals may "
                       "differ from the sum of their parts.",
                       a->round_base);
    else if (rc == RP_OK && a->dp_epsilon > 0.0)
        rc = push_line(&s->method, err,
                       "Counts carry random noise (discrete Laplace, differential privacy with "
                       "epsilon %g per table, %g for this report); the privacy budget is "
                       "recorded in the store.",
                       a->dp_epsilon, s->budget_epsilon);
    else if (rc == RP_OK)
        rc = push_line(&s->method, err,
                       "Cells of fewer than %g persons are not published, and further cells "
                       "are withheld where needed so that the hidden ones cannot be worked out "
                       "from the totals; a linear-programming audit checks every table.",
                       a->k);
    if (rc == RP_OK && s->est != NULL)
        rc = push_line(&s->method, err, "%s",
                       "The estimated total comes from multiple systems estimation "
                       "(log-linear models of the overlap between the lists): it counts the "
                       "victims no list recorded as well as those seen.");
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

static int
write_table_files(report_state *s, const char *dir, const report_table *rt, rp_error *err)
{
    char path[PATH_MAX];
    char name[160];
    rp_table_write_opts wo = RP_TABLE_WRITE_OPTS_INIT;
    int rc = RP_OK;
    for (unsigned fmt = FMT_CSV; rc == RP_OK && fmt <= FMT_JSON; fmt <<= 1) {
        if ((s->a->formats & fmt) == 0)
            continue;
        snprintf(name, sizeof(name), "%.95s.%s", rt->stem, fmt == FMT_CSV ? "csv" : "json");
        if (!path_join(path, dir, name))
            return rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            return rp_error_set(err, RP_EIO, "cannot create '%s'", path);
        wo.layout = RP_TABLE_CSV_WIDE;
        wo.share_dim = rt->t->n_dims == 1 ? 0 : -1;
        rc = fmt == FMT_CSV ? rp_table_write_csv(f, rt->t, &wo, err)
                            : rp_table_write_json(f, rt->t, &wo, err);
        if (fclose(f) != 0 && rc == RP_OK)
            rc = rp_error_set(err, RP_EIO, "cannot write '%s'", path);
        if (rc == RP_OK)
            rc = add_file(s, name, err);
    }
    return rc;
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
        snprintf(name, sizeof(name), "%.95s.%s", stem, kinds[i].ext);
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

static void fill_doc(rp_report_doc *doc, rp_report_section *sections, const report_state *s)
{
    for (size_t i = 0; i < s->n_tables; i++) {
        sections[i] =
            (rp_report_section){s->tables[i].t, s->tables[i].chart, s->tables[i].text, NULL};
    }
    *doc = (rp_report_doc){0};
    doc->title = "Trafficking in human beings: patterns and trends";
    doc->summary = "Victims of trafficking identified and recorded by the agencies whose data "
                   "are in this report, by year, sex, age, citizenship and form of "
                   "exploitation. Small numbers are not published, to protect the people "
                   "behind them.";
    doc->sections = sections;
    doc->n_sections = s->n_tables;
    doc->estimates = s->est_rows;
    doc->n_estimates = s->n_est_rows;
    doc->estimate_chart = s->est_chart;
    doc->estimate_text = "Not every victim is identified. Comparing who appears on which list "
                         "estimates how many no list recorded; the interval shows the "
                         "uncertainty of that estimate.";
    doc->ci_level = s->est != NULL ? s->est->ci_level : 0.95;
    doc->sources = (const char *const *)s->sources.v;
    doc->n_sources = s->sources.n;
    doc->method = (const char *const *)s->method.v;
    doc->n_method = s->method.n;
    doc->generated = "rapporteur " RP_VERSION_STRING;
}

static int write_all(report_state *s, const char *dir, rp_error *err)
{
    char path[PATH_MAX];
    rp_report_section sections[MAX_TABLES];
    rp_report_doc doc;
    fill_doc(&doc, sections, s);
    int rc = RP_OK;
    if (s->a->formats & FMT_HTML) {
        rc = path_join(path, dir, "report.html")
                 ? rp_report_html_write(&doc, path, err)
                 : rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        if (rc == RP_OK)
            rc = add_file(s, "report.html", err);
    }
    if (rc == RP_OK && (s->a->formats & FMT_XLSX)) {
        rc = path_join(path, dir, "report.xlsx")
                 ? rp_report_xlsx_write(&doc, path, err)
                 : rp_error_set(err, RP_EINVAL, "--out-dir: path too long");
        if (rc == RP_OK)
            rc = add_file(s, "report.xlsx", err);
    }
    for (size_t i = 0; rc == RP_OK && i < s->n_tables; i++) {
        rc = write_table_files(s, dir, &s->tables[i], err);
        if (rc == RP_OK)
            rc = write_chart_files(s, dir, s->tables[i].chart, s->tables[i].stem, err);
    }
    if (rc == RP_OK)
        rc = write_chart_files(s, dir, s->est_chart, "estimate", err);
    return rc;
}

/* ==== the output directory ==== */

/* Remove @p dir and the plain files in it (the report's directories are flat). */
static void remove_flat_dir(const char *dir)
{
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (path_join(path, dir, e->d_name))
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

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
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    size_t n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n == 0;
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

/* Put the finished @p tmp in place of @p out_dir (whose old content goes). */
static int publish_dir(const char *tmp, const char *out_dir, bool exists, rp_error *err)
{
    char aside[PATH_MAX];
    if (exists) {
        int n = snprintf(aside, sizeof(aside), "%s.aside-XXXXXX", tmp);
        if (n < 0 || (size_t)n >= sizeof(aside) || mkdtemp(aside) == NULL)
            return rp_error_set(err, RP_EIO, "cannot replace '%s'", out_dir);
        rmdir(aside);
        if (rename(out_dir, aside) != 0)
            return rp_error_set(err, RP_EIO, "cannot move the old '%s' aside: %s", out_dir,
                                strerror(errno));
    }
    if (rename(tmp, out_dir) != 0) {
        int e = errno;
        if (exists)
            (void)rename(aside, out_dir);
        return rp_error_set(err, RP_EIO, "cannot rename the report into '%s': %s", out_dir,
                            strerror(e));
    }
    if (exists)
        remove_flat_dir(aside);
    return RP_OK;
}

/* ==== the command ==== */

static void state_clear(report_state *s)
{
    for (size_t i = 0; i < s->n_tables; i++) {
        rp_chart_free(s->tables[i].chart);
        rp_table_free(s->tables[i].t);
    }
    rp_chart_free(s->est_chart);
    rp_free(s->est_rows);
    rp_report_estimates_free(s->est);
    rp_report_data_free(s->data);
    rp_cli_strv_clear(&s->sources);
    rp_cli_strv_clear(&s->method);
    json_decref(s->files);
    rp_store_close(s->st);
}

static int build(report_state *s, rp_error *err)
{
    int rc = rp_report_data_load(&s->data, s->st, NULL, err);
    if (rc == RP_OK)
        rc = collect_sources(s, err);
    if (rc == RP_OK)
        rc = build_standard(s, err);
    if (rc == RP_OK)
        rc = build_by(s, err);
    if (rc == RP_OK)
        rc = build_estimates(s, err);
    if (rc == RP_OK)
        rc = collect_method(s, err);
    return rc;
}

static int print_result(const report_state *s, const char *out_dir, rp_error *err)
{
    if (s->a->common.json) {
        json_t *tables = json_array();
        for (size_t i = 0; tables != NULL && i < s->n_tables; i++)
            json_array_append_new(tables, json_pack("{s:s, s:s}", "title", s->tables[i].t->title,
                                                    "stem", s->tables[i].stem));
        json_t *root = json_pack("{s:s, s:O, s:o, s:b}", "out_dir", out_dir, "files", s->files,
                                 "tables", tables, "estimates", s->est != NULL);
        int rc = root != NULL ? rp_cli_json_print(root, err)
                              : rp_error_set(err, RP_ENOMEM, "out of memory");
        json_decref(root);
        return rc;
    }
    if (s->a->common.quiet)
        return RP_OK;
    printf("report: %s (%zu tables%s)\n", out_dir, s->n_tables,
           s->est != NULL ? ", estimates" : "");
    if (s->a->formats & FMT_HTML)
        printf("  %s/report.html\n", out_dir);
    if (s->a->formats & FMT_XLSX)
        printf("  %s/report.xlsx\n", out_dir);
    printf("  %zu files in all\n", json_array_size(s->files));
    return fflush(stdout) == 0 ? RP_OK : rp_error_set(err, RP_EIO, "cannot write to stdout");
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
    status = rp_cli_store_open(&s.st, a.store, a.dp_epsilon > 0.0 ? 0u : RP_STORE_READONLY,
                               a.common.json);
    if (status >= 0)
        goto out;
    s.files = json_array();
    int rc = s.files != NULL ? build(&s, &err) : rp_error_set(&err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK)
        rc = make_staging(tmp, sizeof(tmp), a.out_dir, &err);
    if (rc == RP_OK)
        rc = write_all(&s, tmp, &err);
    if (rc == RP_OK)
        rc = publish_dir(tmp, a.out_dir, exists, &err);
    if (rc == RP_OK) {
        tmp[0] = '\0';
        rc = print_result(&s, a.out_dir, &err);
    }
    status = rc == RP_OK ? RP_EXIT_OK : rp_cli_report(&err, a.common.json);
out:
    if (tmp[0] != '\0')
        remove_flat_dir(tmp);
    state_clear(&s);
    rp_cli_strv_clear(&a.by);
    return status;
}
