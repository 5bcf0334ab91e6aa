/*
 * rapporteur CLI: `rapporteur link --clear FILE[,FILE...]`, Fellegi–Sunter linkage of
 * agency files in clear text, for offices that may lawfully link in clear
 * (include/rapporteur/fs.h, docs/fellegi-sunter.md). Reads the files through the
 * mapping (case list and reference from the data standard, names and birth date from
 * the mapping's "identifiers"), normalises the names, links with a comparison spec,
 * clusters the links into persons and, with --store, saves the run so that each person
 * becomes one capture history. Names and birth dates stay in memory (wiped when freed):
 * every output names lists, case references, line numbers and weights only. As the
 * encoded route (cmd_link.c), with which it shares link_common.c: comparisons on
 * threads, a progress bar on a terminal, the linkage sensitivity table, and
 * clerical-review verdicts (--decisions and the review page's) as clustering
 * constraints.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */
#include "common/common_int.h"
#include "link_common.h"

#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>
#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_NAME "link"

#ifndef RP_DATADIR
#    define RP_DATADIR "data"
#endif

#define N_COLS         6
#define DEFAULT_REVIEW 5.0 /* bits below the threshold that go to clerical review */
#define MAX_LISTS      65535
/* the sensitivity table in match weights (bits), as `link --method fs` */
#define SENS_FROM (-8.0)
#define SENS_TO   8.0
#define SENS_STEP 2.0

/* The columns the default spec and any --comparisons spec may name. */
static const char *const columns[N_COLS] = {"given_name",      "family_name", "birth_date",
                                            "document_number", "address",     "sex"};

/* The default comparisons: names, birth date, document number, address, sex. */
static const char default_spec[] =
    "{\"name\": \"rapporteur default\","
    " \"comparisons\": ["
    "  {\"name\": \"given_name\", \"column\": \"given_name\", \"kind\": \"jaro_winkler\","
    "   \"thresholds\": [0.92, 0.8], \"tf\": true, \"reversed_with\": \"family_name\"},"
    "  {\"name\": \"family_name\", \"column\": \"family_name\", \"kind\": \"jaro_winkler\","
    "   \"thresholds\": [0.92, 0.8], \"tf\": true, \"reversed_with\": \"given_name\"},"
    "  {\"name\": \"birth_date\", \"column\": \"birth_date\", \"kind\": \"date\","
    "   \"day_month_swap\": true, \"max_edits\": 1, \"thresholds\": [365]},"
    "  {\"name\": \"document_number\", \"column\": \"document_number\","
    "   \"kind\": \"damerau_levenshtein\", \"thresholds\": [1]},"
    "  {\"name\": \"address\", \"column\": \"address\", \"kind\": \"jaro_winkler\","
    "   \"thresholds\": [0.9]},"
    "  {\"name\": \"sex\", \"column\": \"sex\", \"kind\": \"exact\"}],"
    " \"blocking\": [[\"family_name:soundex\", \"birth_date:year\"],"
    "  [\"given_name:soundex\", \"birth_date:exact\"],"
    "  [\"given_name:soundex\", \"family_name:soundex\"],"
    "  \"document_number:exact\"]}";

enum {
    OPT_CLEAR = RP_CLI_OPT_FIRST,
    OPT_MAPPING,
    OPT_STORE,
    OPT_COMPARISONS,
    OPT_THRESHOLD,
    OPT_REVIEW_FILE,
    OPT_REVIEW_BAND,
    OPT_EQUIV,
    OPT_THREADS,
    OPT_SENSITIVITY,
    OPT_DECISIONS,
    OPT_REVIEWER
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"clear", required_argument, NULL, OPT_CLEAR},
                                         {"mapping", required_argument, NULL, OPT_MAPPING},
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"comparisons", required_argument, NULL, OPT_COMPARISONS},
                                         {"threshold", required_argument, NULL, OPT_THRESHOLD},
                                         {"review-file", required_argument, NULL, OPT_REVIEW_FILE},
                                         {"review-band", required_argument, NULL, OPT_REVIEW_BAND},
                                         {"equivalents", required_argument, NULL, OPT_EQUIV},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"sensitivity", required_argument, NULL, OPT_SENSITIVITY},
                                         {"decisions", required_argument, NULL, OPT_DECISIONS},
                                         {"reviewer", required_argument, NULL, OPT_REVIEWER},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *clear;
    const char *mapping;
    const char *store;
    const char *spec;
    const char *review_file;
    const char *equiv;
    const char *decisions;
    const char *reviewer;
    double threshold;
    double band;
    double sens_from, sens_to, sens_step;
    unsigned threads;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur link --clear FILE[,FILE...] --mapping MAP[,MAP...] [--store DB]\n"
            "                       [--comparisons SPEC.json] [--threshold W]\n"
            "                       [--review-file F] [--review-band B] [--decisions F]\n"
            "                       [--sensitivity FROM:TO:STEP] [--threads N] [--json]\n"
            "\n"
            "Link agency files in clear text with the Fellegi-Sunter model, where the office\n"
            "may lawfully do so (docs/fellegi-sunter.md). Each file is read through the mapping:\n"
            "list and case reference from the data standard, names, birth date, document number\n"
            "and address from its \"identifiers\". Names are normalised (transliterated, folded).\n"
            "Candidate pairs come from blocking rules; u from random pairs; m by EM on the\n"
            "comparison patterns of each rule's pairs; pairs at or above the match weight W are\n"
            "links, clustered into persons (one person = one capture history). Duplicates within\n"
            "a list and links across lists are both found. Outputs name lists, case references\n"
            "and weights only: never a name or birth date.\n"
            "\n"
            "Options:\n"
            "  --clear FILES        agency files (CSV, SPSS, Stata), comma-separated\n"
            "  --mapping MAPS       the files' mapping with its \"identifiers\", or one mapping\n"
            "                       per file (comma-separated, in the order of --clear)\n"
            "  --store DB           save the run: each record (imported before with the same\n"
            "                       case references) gets its person; then 'rapporteur estimate\n"
            "                       --store DB' counts persons\n"
            "  --comparisons SPEC   comparison spec (JSON; columns given_name, family_name,\n"
            "                       birth_date, document_number, address, sex); default: built in\n"
            "  --threshold W        match weight (log2 Bayes factor with the prior) for a link;\n"
            "                       default 0 (posterior 0.5)\n"
            "  --review-file F      write the pairs in [W - B, W) for clerical review (CSV: list\n"
            "                       and case reference of both records, weight, linked, and an\n"
            "                       empty decision column for the reviewer)\n"
            "  --review-band B      width of the review band in bits (default 5)\n"
            "  --decisions F        a review file with its decision column filled in (match /\n"
            "                       non-match, 1 / 0, yes / no); needs --store: the verdicts\n"
            "                       are recorded there, and this and every later run honours\n"
            "                       them (accepted: one person whatever the weight; rejected:\n"
            "                       never one person), as the review page's verdicts\n"
            "  --reviewer NAME      who made the verdicts (default: $USER)\n"
            "  --sensitivity FROM:TO:STEP\n"
            "                       match weights of the linkage sensitivity table (default\n"
            "                       -8:8:2): persons and estimate at each\n"
            "  --threads N          worker threads (default: one per CPU); the result does\n"
            "                       not depend on it\n"
            "  --equivalents FILE   name-equivalence table (default %s/names/equivalents.csv)\n"
            "  --json               print the run's report as JSON\n"
            "  -q, --quiet          no report and no progress bar\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 linked, 1 runtime error, 2 usage, 3 rows set aside (the rest\n"
            "linked), 4 I/O or store, 65 unusable file, mapping or spec.\n",
            RP_DATADIR);
}

static int apply(int opt, const char *value, const char *name, void *payload)
{
    args *a = payload;
    switch (opt) {
    case OPT_CLEAR:
        a->clear = value;
        return -1;
    case OPT_MAPPING:
        a->mapping = value;
        return -1;
    case OPT_STORE:
        a->store = value;
        return -1;
    case OPT_COMPARISONS:
        a->spec = value;
        return -1;
    case OPT_REVIEW_FILE:
        a->review_file = value;
        return -1;
    case OPT_EQUIV:
        a->equiv = value;
        return -1;
    case OPT_DECISIONS:
        a->decisions = value;
        return -1;
    case OPT_REVIEWER:
        a->reviewer = value;
        return -1;
    case OPT_SENSITIVITY:
        return rp_cli_link_parse_range(&a->sens_from, &a->sens_to, &a->sens_step, CMD_NAME, value);
    case OPT_THREADS: {
        int t = 0;
        if (!rp_cli_parse_int(&t, value, 1, 256))
            return rp_cli_usage_error(CMD_NAME, "--threads: expected 1 to 256");
        a->threads = (unsigned)t;
        return -1;
    }
    case OPT_THRESHOLD:
    case OPT_REVIEW_BAND: {
        double x = 0;
        if (!rp_cli_parse_double(&x, value) || !isfinite(x) || (opt == OPT_REVIEW_BAND && x < 0))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number", name);
        if (opt == OPT_THRESHOLD)
            a->threshold = x;
        else
            a->band = x;
        return -1;
    }
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* Everything one run holds. */
typedef struct job {
    args a;
    rp_cli_common common;
    rp_error err;
    rp_mapping *map;
    rp_normaliser *norm;
    rp_fs_spec *spec;
    rp_issue_list issues;
    /* records: values (personal data, wiped), list, case reference, file and line */
    size_t n, cap;
    char **values;
    uint16_t *list;
    char (*case_id)[RP_DATA_ID_MAX];
    char lists[MAX_LISTS][RP_DATA_ID_MAX];
    size_t n_lists;
    long n_read, n_aside;
    rp_fs_result *res;
    uint32_t *person;
    rp_cluster_stats cs;
    rp_cluster_opts co;
    size_t n_links, n_review;
    long long run_id;
    rp_store *st;                   /* --store, open from the start */
    long long *row;                 /* n cases.id (with --store) */
    rp_cluster_pair *must, *cannot; /* verdicts in force (co) */
    size_t n_recorded;              /* verdicts recorded from --decisions */
    rp_cli_sens_row *sens;
    size_t n_sens;
    rp_cli_progress_state ps;
} job;

static int grow(job *j)
{
    if (j->n < j->cap)
        return RP_OK;
    size_t cap = j->cap ? 2 * j->cap : 1024;
    char **v = rp_reallocarray(j->values, cap * N_COLS, sizeof *v);
    if (v == NULL)
        return RP_ENOMEM;
    j->values = v;
    uint16_t *l = rp_reallocarray(j->list, cap, sizeof *l);
    if (l == NULL)
        return RP_ENOMEM;
    j->list = l;
    char(*c)[RP_DATA_ID_MAX] = rp_reallocarray(j->case_id, cap, sizeof *c);
    if (c == NULL)
        return RP_ENOMEM;
    j->case_id = c;
    j->cap = cap;
    return RP_OK;
}

static int list_index(job *j, const char *code, uint16_t *out)
{
    for (size_t i = 0; i < j->n_lists; i++) {
        if (strcmp(j->lists[i], code) == 0) {
            *out = (uint16_t)i;
            return RP_OK;
        }
    }
    if (j->n_lists == MAX_LISTS)
        return rp_error_set(&j->err, RP_EDATA, "more than %d lists", MAX_LISTS);
    rp_x_strlcpy(j->lists[j->n_lists], code, RP_DATA_ID_MAX);
    *out = (uint16_t)j->n_lists++;
    return RP_OK;
}

/* Identifier @p id of a row into @p out ("" when the mapping does not name it). */
static int ident(const job *j,
                 rp_ident id,
                 const char *const *row,
                 size_t n,
                 char *out,
                 size_t size,
                 rp_error *err)
{
    out[0] = '\0';
    if (rp_mapping_ident_column(j->map, id) == NULL)
        return RP_OK;
    return rp_mapping_ident_read(j->map, id, row, n, out, size, err);
}

/* The six values of one row into @p v (each RP_NAME_MAX bytes). */
static int read_values(job *j,
                       const char *const *row,
                       size_t nf,
                       const rp_case_record *rec,
                       char (*v)[RP_NAME_MAX],
                       rp_error *ierr)
{
    char raw[RP_NAME_MAX];
    int rc = RP_OK;
    if (rp_mapping_ident_column(j->map, RP_IDENT_FULL_NAME) != NULL) {
        rc = ident(j, RP_IDENT_FULL_NAME, row, nf, raw, sizeof raw, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_full_name(j->norm, raw, rp_mapping_full_name_family_first(j->map),
                                        NULL, v[0], RP_NAME_MAX, v[1], RP_NAME_MAX, ierr);
    } else {
        rc = ident(j, RP_IDENT_GIVEN_NAME, row, nf, raw, sizeof raw, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_name(j->norm, raw, NULL, v[0], RP_NAME_MAX, ierr);
        if (rc == RP_OK)
            rc = ident(j, RP_IDENT_FAMILY_NAME, row, nf, raw, sizeof raw, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_name(j->norm, raw, NULL, v[1], RP_NAME_MAX, ierr);
    }
    if (rc == RP_OK)
        rc = ident(j, RP_IDENT_BIRTH_DATE, row, nf, v[2], RP_NAME_MAX, ierr);
    if (rc == RP_OK)
        rc = ident(j, RP_IDENT_DOCUMENT_NUMBER, row, nf, v[3], RP_NAME_MAX, ierr);
    if (rc == RP_OK)
        rc = ident(j, RP_IDENT_ADDRESS, row, nf, raw, sizeof raw, ierr);
    if (rc == RP_OK)
        rc = rp_normalise_address(j->norm, raw, NULL, v[4], RP_NAME_MAX, ierr);
    const char *sex = rp_code_name(RP_FIELD_SEX, (unsigned)rec->sex);
    rp_x_strlcpy(v[5], rec->sex >= RP_SEX_FEMALE && sex != NULL ? sex : "", RP_NAME_MAX);
    sodium_memzero(raw, sizeof raw);
    return rc;
}

/* One row: validate, read and keep its values. RP_OK; RP_EDATA (set aside); RP_ENOMEM. */
static int read_row(job *j, const char *path, const char *const *row, size_t nf, long line)
{
    rp_case_record rec;
    rp_issue_list_clear(&j->issues);
    int rc = rp_mapping_apply(&rec, &j->issues, j->map, row, nf, line, &j->err);
    if (rc == RP_ENOMEM)
        return rc;
    if (rc != RP_OK) {
        for (size_t i = 0; i < j->issues.n; i++)
            fprintf(stderr, "rapporteur: %s:%ld:%ld: set aside: %s: %s (%s)\n", path,
                    j->issues.v[i].line, j->issues.v[i].column, j->issues.v[i].column_name,
                    j->issues.v[i].message, j->issues.v[i].rule);
        return RP_EDATA;
    }
    char v[N_COLS][RP_NAME_MAX];
    rp_error ierr = RP_ERROR_INIT;
    rc = read_values(j, row, nf, &rec, v, &ierr);
    if (rc == RP_OK && v[0][0] == '\0' && v[1][0] == '\0') {
        fprintf(stderr, "rapporteur: %s:%ld: set aside: no name to compare\n", path, line);
        rc = RP_EDATA;
    } else if (rc != RP_OK && rc != RP_ENOMEM) {
        /* the message names the column, never the value */
        fprintf(stderr, "rapporteur: %s:%ld: set aside: %s\n", path, line,
                ierr.msg[0] ? ierr.msg : "unreadable identifier");
        rc = RP_EDATA;
    }
    uint16_t li = 0;
    if (rc == RP_OK)
        rc = list_index(j, rec.list, &li);
    if (rc == RP_OK && grow(j) != RP_OK)
        rc = RP_ENOMEM;
    for (size_t c = 0; c < N_COLS && rc == RP_OK; c++) {
        j->values[j->n * N_COLS + c] = rp_strdup(v[c]);
        if (j->values[j->n * N_COLS + c] == NULL) {
            for (size_t d = 0; d < c; d++)
                rp_free(j->values[j->n * N_COLS + d]);
            rc = RP_ENOMEM;
        }
    }
    sodium_memzero(v, sizeof v);
    if (rc == RP_ENOMEM)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK)
        return rc;
    j->list[j->n] = li;
    rp_x_strlcpy(j->case_id[j->n], rec.case_id, RP_DATA_ID_MAX);
    j->n++;
    return RP_OK;
}

static int read_file(job *j, const char *path)
{
    rp_reader *rd = NULL;
    rp_reader_opts ro = RP_READER_OPTS_INIT;
    int rc = rp_reader_open(&rd, path, &ro, &j->err);
    const char *const *cols = NULL;
    if (rc == RP_OK) {
        size_t n_cols = rp_reader_columns(rd, &cols);
        rc = rp_mapping_bind(j->map, cols, n_cols, &j->err);
    }
    if (rc != RP_OK && j->err.path[0] == '\0')
        rp_x_strlcpy(j->err.path, path, sizeof j->err.path);
    while (rc == RP_OK) {
        const char *const *row = NULL;
        size_t nf = 0;
        long line = 0;
        int got = rp_reader_next(rd, &row, &nf, &line, &j->err);
        if (got <= 0) {
            rc = got;
            break;
        }
        j->n_read++;
        rc = read_row(j, path, row, nf, line);
        if (rc == RP_EDATA) {
            j->n_aside++;
            rc = RP_OK;
        }
    }
    rp_reader_free(rd);
    return rc;
}

static int load_spec(job *j)
{
    if (j->a.spec != NULL)
        return rp_fs_spec_load(&j->spec, j->a.spec, &j->err);
    return rp_fs_spec_parse(&j->spec, default_spec, strlen(default_spec), "default spec", &j->err);
}

static int open_all(job *j)
{
    int rc = load_spec(j);
    if (rc != RP_OK)
        return rc;
    char equiv[4096];
    const char *path = j->a.equiv;
    if (path == NULL) {
        const char *env = getenv("RAPPORTEUR_DATA");
        snprintf(equiv, sizeof equiv, "%s/names/equivalents.csv",
                 env != NULL && env[0] ? env : RP_DATADIR);
        path = equiv;
    }
    return rp_normaliser_new(&j->norm, path, &j->err);
}

static int read_all(job *j)
{
    rp_cli_strv files = {NULL, 0}, maps = {NULL, 0};
    int rc = rp_cli_strv_split(&files, j->a.clear, ',', &j->err);
    if (rc == RP_OK)
        rc = rp_cli_strv_split(&maps, j->a.mapping, ',', &j->err);
    if (rc == RP_OK && maps.n != 1 && maps.n != files.n)
        rc = rp_error_set(&j->err, RP_EINVAL,
                          "--mapping: give one mapping, or one per file in the order of --clear");
    for (size_t f = 0; f < files.n && rc == RP_OK; f++) {
        if (f == 0 || maps.n > 1) {
            rp_mapping_free(j->map);
            j->map = NULL;
            rc = rp_mapping_load(&j->map, maps.v[maps.n > 1 ? f : 0], &j->err);
        }
        if (rc == RP_OK)
            rc = read_file(j, files.v[f]);
    }
    rp_cli_strv_clear(&files);
    rp_cli_strv_clear(&maps);
    if (rc == RP_OK && j->n < 2)
        rc = rp_error_set(&j->err, RP_EDATA, "fewer than two records to link");
    return rc;
}

/* With --store: open it, and find each record's cases.id (imported before). */
static int resolve_rows(job *j)
{
    if (j->a.store == NULL)
        return RP_OK;
    int rc = rp_store_open(&j->st, j->a.store, 0, &j->err);
    if (rc != RP_OK)
        return rc;
    j->row = rp_calloc(j->n, sizeof *j->row);
    if (j->row == NULL)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->n && rc == RP_OK; i++) {
        rc = rp_store_case_row(&j->row[i], j->st, j->lists[j->list[i]], j->case_id[i], &j->err);
        if (rc == RP_ENOTFOUND)
            rc = rp_error_set(&j->err, RP_EDATA,
                              "record %zu (list '%s', case '%s') is not in the store: import the "
                              "files first",
                              i + 1, j->lists[j->list[i]], j->case_id[i]);
    }
    return rc;
}

/*
 * Clerical review: record the verdicts of --decisions, then read every verdict in force
 * (the store's log and the review page's) into must-link and cannot-link constraints.
 */
static int apply_verdicts(job *j)
{
    rp_link_review *rev = NULL;
    size_t n_rev = 0;
    int rc = RP_OK;
    if (j->st == NULL)
        return RP_OK;
    if (j->a.decisions != NULL) {
        rc = rp_cli_link_read_verdicts(&rev, &n_rev, j->a.decisions, j->st, NULL, NULL, &j->err);
        if (rc == RP_OK)
            rc = rp_store_link_decide(j->st, rev, n_rev, rp_cli_link_reviewer(j->a.reviewer),
                                      "file", &j->err);
        if (rc == RP_OK)
            j->n_recorded = n_rev;
        rp_free(rev);
        rev = NULL;
    }
    if (rc == RP_OK)
        rc = rp_store_link_decisions(&rev, &n_rev, j->st, &j->err);
    if (rc == RP_OK)
        rc = rp_cli_link_constraints(&j->must, &j->co.n_must_link, &j->cannot, &j->co.n_cannot_link,
                                     rev, n_rev, j->row, j->n, &j->err);
    j->co.must_link = j->must;
    j->co.cannot_link = j->cannot;
    rp_free(rev);
    return rc;
}

/* Link (on threads, with a progress bar), cluster and count the decisions. */
static int link_all(job *j)
{
    rp_fs_data data = {j->n, N_COLS, columns, (const char *const *)j->values, j->list};
    rp_fs_opts fo = RP_FS_OPTS_INIT;
    fo.keep_weight = fmin(j->a.threshold - j->a.band, j->a.sens_from);
    fo.threads = j->a.threads;
    fo.progress = rp_cli_link_progress;
    fo.payload = &j->ps;
    rp_cli_link_catch_signals(true);
    int rc = rp_fs_link(&j->res, j->spec, &data, NULL, &fo, &j->err);
    rp_cli_link_catch_signals(false);
    rp_cli_progress_end(&j->ps);
    if (rc == RP_ECANCELED && rp_cli_link_interrupted())
        rp_error_set(&j->err, RP_ECANCELED, "linkage interrupted; nothing was saved");
    if (rc != RP_OK)
        return rc;
    j->person = rp_calloc(j->n, sizeof *j->person);
    if (j->person == NULL)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    j->co.threshold = j->a.threshold;
    rc = rp_link_cluster(j->res->edges, j->res->n_edges, j->n, j->list, &j->co, j->person, &j->cs,
                         &j->err);
    for (size_t k = 0; k < j->res->n_edges; k++) {
        double w = j->res->edges[k].score;
        j->n_links += w >= j->a.threshold;
        j->n_review += w < j->a.threshold && w >= j->a.threshold - j->a.band;
    }
    return rc;
}

/* The linkage sensitivity table: persons and estimate at each weight of the range. */
static int sensitivity(job *j)
{
    const char *names[RP_MSE_MAX_LISTS];
    size_t n_lists = j->n_lists <= RP_MSE_MAX_LISTS ? j->n_lists : 0;
    for (size_t l = 0; l < n_lists; l++)
        names[l] = j->lists[l];
    rp_cli_sens_input in = {j->res->edges, j->res->n_edges, j->n,           j->list,
                            names,         n_lists,         j->co,          j->a.sens_from,
                            j->a.sens_to,  j->a.sens_step,  j->a.threshold, false};
    return rp_cli_link_sensitivity(&j->sens, &j->n_sens, &in, &j->err);
}

static const char *decision_word(uint8_t d)
{
    return d == RP_LINK_ACCEPTED ? "match" : d == RP_LINK_REJECTED ? "non-match" : "";
}

static int write_review(FILE *f, const char *path, void *payload, rp_error *err)
{
    const job *j = payload;
    fprintf(f, "list_a,case_a,list_b,case_b,weight,linked,decision\n");
    for (size_t k = 0; k < j->res->n_edges; k++) {
        const rp_link_edge *e = &j->res->edges[k];
        if (e->score >= j->a.threshold || e->score < j->a.threshold - j->a.band)
            continue;
        rp_cli_csv_cell(f, j->lists[j->list[e->a]]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->case_id[e->a]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->lists[j->list[e->b]]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->case_id[e->b]);
        /* a verdict in force is shown, so that the file can go back as --decisions */
        uint8_t d = rp_cli_link_pair_decision(&j->co, e->a, e->b, RP_LINK_REVIEW);
        fprintf(f, ",%.3f,%d,%s\n", e->score, j->person[e->a] == j->person[e->b] ? 1 : 0,
                decision_word(d));
    }
    if (ferror(f))
        return rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot write the review file");
    return RP_OK;
}

static json_t *verdicts_json(const job *j)
{
    return json_pack("{s:s?, s:I, s:I, s:I, s:I}", "decisions_file", j->a.decisions, "recorded",
                     (json_int_t)j->n_recorded, "accepted", (json_int_t)j->co.n_must_link,
                     "rejected", (json_int_t)j->co.n_cannot_link, "refused_cannot_link",
                     (json_int_t)j->cs.refused_cannot);
}

static json_t *report_json(const job *j)
{
    const rp_fs_result *r = j->res;
    json_t *rules = json_array(), *warnings = json_array();
    for (size_t u = 0; rules != NULL && u < r->n_rules; u++)
        json_array_append_new(rules,
                              json_pack("{s:I, s:I, s:I}", "pairs", (json_int_t)r->rule[u].pairs,
                                        "first_pairs", (json_int_t)r->rule[u].first_pairs,
                                        "oversized", (json_int_t)r->rule[u].oversized));
    for (unsigned b = 0; warnings != NULL && b < 5; b++)
        if (r->em.warnings & (1u << b))
            json_array_append_new(warnings, json_string(rp_fs_warning_text(1u << b)));
    json_t *root =
        json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:{s:i, s:b, s:o, s:o, s:o}, s:I, s:I, "
                  "s:I, s:I}",
                  "records", (json_int_t)j->n, "read", (json_int_t)j->n_read, "set_aside",
                  (json_int_t)j->n_aside, "lists", (json_int_t)j->n_lists, "blocking", rules,
                  "candidates", (json_int_t)r->candidates, "patterns", (json_int_t)r->patterns,
                  "em", "iterations", (int)r->em.iterations, "converged", (int)r->em.converged,
                  "lambda", rp_cli_json_number(r->params.lambda), "expected_matches",
                  rp_cli_json_number(r->em.expected_matches), "warnings", warnings, "links",
                  (json_int_t)j->n_links, "review", (json_int_t)j->n_review, "persons",
                  (json_int_t)j->cs.persons, "run", (json_int_t)j->run_id);
    if (root != NULL) {
        json_object_set_new(root, "threshold", rp_cli_json_number(j->a.threshold));
        json_object_set_new(root, "sensitivity", rp_cli_link_sensitivity_json(j->sens, j->n_sens));
        json_object_set_new(root, "verdicts", verdicts_json(j));
    }
    return root;
}

/* The pairs to save: the links, the review band, and the pairs with a verdict. */
static bool saved(const job *j, const rp_link_edge *e)
{
    return e->score >= j->a.threshold - j->a.band ||
           rp_cli_link_pair_decision(&j->co, e->a, e->b, RP_LINK_REVIEW) != RP_LINK_REVIEW;
}

static int save_run(job *j)
{
    size_t n = j->n, np = 0;
    for (size_t k = 0; k < j->res->n_edges; k++)
        np += saved(j, &j->res->edges[k]);
    long long *pa = rp_calloc(np ? np : 1, sizeof *pa), *pb = rp_calloc(np ? np : 1, sizeof *pb);
    double *score = rp_calloc(np ? np : 1, sizeof *score);
    uint8_t *dec = rp_calloc(np ? np : 1, sizeof *dec);
    char *params = rp_fs_spec_to_json(j->spec);
    json_t *rep = report_json(j);
    char *rep_s = rep ? json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = RP_OK;
    if (!pa || !pb || !score || !dec || !params || !rep_s) {
        rc = rp_error_set(&j->err, RP_ENOMEM, "out of memory");
        goto out;
    }
    size_t at = 0;
    for (size_t k = 0; k < j->res->n_edges; k++) {
        const rp_link_edge *e = &j->res->edges[k];
        if (!saved(j, e))
            continue;
        pa[at] = j->row[e->a];
        pb[at] = j->row[e->b];
        score[at] = e->score;
        bool one = j->person[e->a] == j->person[e->b];
        dec[at++] = rp_cli_link_pair_decision(
            &j->co, e->a, e->b, e->score >= j->a.threshold || one ? RP_LINK_MATCH : RP_LINK_REVIEW);
    }
    rp_link_run run = {
        "fellegi-sunter", params, rep_s, n, j->row, j->person, np, pa, pb, score, dec};
    rc = rp_store_link_save(&j->run_id, j->st, &run, &j->err);
out:
    free(rep_s); /* NOLINT: jansson allocates with malloc */
    json_decref(rep);
    rp_free(params);
    rp_free(pa);
    rp_free(pb);
    rp_free(score);
    rp_free(dec);
    return rc;
}

static void print_report(const job *j)
{
    const rp_fs_result *r = j->res;
    printf("Linked %zu records of %zu list%s in clear text (Fellegi-Sunter)", j->n, j->n_lists,
           j->n_lists == 1 ? "" : "s");
    if (j->run_id > 0)
        printf(", run %lld", j->run_id);
    printf("\n\nBlocking rule   %12s %14s %10s\n", "pairs", "first pairs", "oversized");
    for (size_t u = 0; u < r->n_rules; u++)
        printf("  %-13zu %12zu %14zu %10zu\n", u + 1, r->rule[u].pairs, r->rule[u].first_pairs,
               r->rule[u].oversized);
    printf("\nCandidates %zu, patterns %zu; EM %u iterations, %s; lambda %.3g, %.1f expected "
           "matches\n",
           r->candidates, r->patterns, r->em.iterations,
           r->em.converged ? "converged" : "NOT converged", r->params.lambda,
           r->em.expected_matches);
    for (unsigned b = 0; b < 5; b++)
        if (r->em.warnings & (1u << b))
            printf("warning: %s\n", rp_fs_warning_text(1u << b));
    printf("Links (weight >= %.2f): %zu; review band: %zu pairs; persons: %zu (largest %zu "
           "records)\n",
           j->a.threshold, j->n_links, j->n_review, j->cs.persons, j->cs.largest);
    if (j->a.decisions != NULL || j->co.n_must_link || j->co.n_cannot_link)
        printf("Clerical review: %zu verdicts recorded%s%s; in force: %zu accepted, %zu rejected "
               "pairs; %zu merges refused by a rejected pair\n",
               j->n_recorded, j->a.decisions ? " from " : "", j->a.decisions ? j->a.decisions : "",
               j->co.n_must_link, j->co.n_cannot_link, j->cs.refused_cannot);
    if (j->n_aside > 0)
        printf("%ld rows set aside (see the messages above)\n", j->n_aside);
    printf("\n");
    rp_cli_link_sensitivity_print(j->sens, j->n_sens, j->a.threshold);
}

static int finish(job *j)
{
    int rc = sensitivity(j);
    if (rc == RP_OK && j->a.review_file != NULL)
        rc = rp_cli_write_atomic(j->a.review_file, true, write_review, j, &j->err);
    if (rc == RP_OK && j->st != NULL)
        rc = save_run(j);
    if (rc != RP_OK)
        return rc;
    if (j->common.json) {
        json_t *root = report_json(j);
        rc = root != NULL ? rp_cli_json_print(root, &j->err)
                          : rp_error_set(&j->err, RP_ENOMEM, "out of memory");
        json_decref(root);
    } else if (!j->common.quiet) {
        print_report(j);
    }
    return rc;
}

static void release(job *j)
{
    for (size_t i = 0; i < j->n * N_COLS; i++) {
        if (j->values[i] != NULL) {
            sodium_memzero(j->values[i], strlen(j->values[i]));
            rp_free(j->values[i]);
        }
    }
    rp_free(j->values);
    rp_free(j->list);
    rp_free(j->case_id);
    rp_free(j->person);
    rp_free(j->row);
    rp_free(j->must);
    rp_free(j->cannot);
    rp_free(j->sens);
    rp_store_close(j->st);
    rp_fs_result_free(j->res);
    rp_fs_spec_free(j->spec);
    rp_issue_list_release(&j->issues);
    rp_mapping_free(j->map);
    rp_normaliser_free(j->norm);
}

/* Options: -1 to go on, else the exit status. */
static int parse(job *j, int argc, char **argv)
{
    int status = rp_cli_parse_opts(&j->common, CMD_NAME, argc, argv, longopts, usage, apply, &j->a);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status == -1 && (j->a.clear == NULL || j->a.mapping == NULL))
        status = rp_cli_usage_error(CMD_NAME, "--clear FILES and --mapping are required");
    if (status == -1 && j->a.decisions != NULL && j->a.store == NULL)
        status = rp_cli_usage_error(CMD_NAME, "--decisions needs --store (the verdicts are "
                                              "recorded there)");
    return status;
}

int cmd_link_clear(int argc, char **argv)
{
    job *j = rp_calloc(1, sizeof *j);
    if (j == NULL) {
        fprintf(stderr, "rapporteur: out of memory\n");
        return RP_EXIT_RUNTIME;
    }
    j->err = (rp_error)RP_ERROR_INIT;
    j->issues = (rp_issue_list)RP_ISSUE_LIST_INIT;
    j->co = (rp_cluster_opts)RP_CLUSTER_OPTS_INIT;
    j->a.band = DEFAULT_REVIEW;
    j->a.sens_from = SENS_FROM;
    j->a.sens_to = SENS_TO;
    j->a.sens_step = SENS_STEP;
    j->a.threads = rp_cli_link_default_threads();
    int status = parse(j, argc, argv);
    if (status != -1) {
        rp_free(j);
        return status;
    }
    j->ps = (rp_cli_progress_state){.enabled =
                                        rp_cli_progress_wanted(j->common.quiet || j->common.json),
                                    .label = "linking",
                                    .last_percent = -1};
    int rc = open_all(j);
    if (rc == RP_OK)
        rc = read_all(j);
    if (rc == RP_OK)
        rc = resolve_rows(j);
    if (rc == RP_OK)
        rc = apply_verdicts(j);
    if (rc == RP_OK)
        rc = link_all(j);
    if (rc == RP_OK)
        rc = finish(j);
    if (rc == RP_OK) {
        status = j->n_aside > 0 ? RP_EXIT_VALIDATION : RP_EXIT_OK;
    } else {
        status = rp_cli_report(&j->err, j->common.json);
        if (rc == RP_EPARSE || rc == RP_EDATA)
            status = RP_EXIT_DATAERR;
    }
    release(j);
    rp_free(j);
    return status;
}
