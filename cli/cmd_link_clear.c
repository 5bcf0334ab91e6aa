/*
 * rapporteur CLI: `rapporteur link --clear FILE[,FILE...]`, Fellegi–Sunter linkage of
 * agency files in clear text, for offices that may lawfully link in clear
 * (include/rapporteur/fs.h, docs/fellegi-sunter.md). Reads the files through the
 * mapping (case list and reference from the data standard, names and birth date from
 * the mapping's "identifiers"), normalises the names, links with a comparison spec,
 * clusters the links into persons and, with --store, saves the run so that each person
 * becomes one capture history. Names and birth dates stay in memory (wiped when freed):
 * every output names lists, case references, line numbers and weights only.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */
#include "common/common_int.h"

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
    OPT_EQUIV
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
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *clear;
    const char *mapping;
    const char *store;
    const char *spec;
    const char *review_file;
    const char *equiv;
    double threshold;
    double band;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur link --clear FILE[,FILE...] --mapping MAP[,MAP...] [--store DB]\n"
            "                       [--comparisons SPEC.json] [--threshold W]\n"
            "                       [--review-file F] [--review-band B] [--json]\n"
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
            "                       and case reference of both records, weight)\n"
            "  --review-band B      width of the review band in bits (default 5)\n"
            "  --equivalents FILE   name-equivalence table (default %s/names/equivalents.csv)\n"
            "  --json               print the run's report as JSON\n"
            "  -q, --quiet          no report\n"
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
    size_t n_links, n_review;
    long long run_id;
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
        rc = rp_normalise_name(j->norm, raw, NULL, v[4], RP_NAME_MAX, ierr);
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

/* Link, cluster and count the decisions. */
static int link_all(job *j)
{
    rp_fs_data data = {j->n, N_COLS, columns, (const char *const *)j->values, j->list};
    rp_fs_opts fo = RP_FS_OPTS_INIT;
    fo.keep_weight = j->a.threshold - j->a.band;
    int rc = rp_fs_link(&j->res, j->spec, &data, NULL, &fo, &j->err);
    if (rc != RP_OK)
        return rc;
    j->person = rp_calloc(j->n, sizeof *j->person);
    if (j->person == NULL)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    rp_cluster_opts co = RP_CLUSTER_OPTS_INIT;
    co.threshold = j->a.threshold;
    rc = rp_link_cluster(j->res->edges, j->res->n_edges, j->n, j->list, &co, j->person, &j->cs,
                         &j->err);
    for (size_t k = 0; k < j->res->n_edges; k++) {
        j->n_links += j->res->edges[k].score >= j->a.threshold;
        j->n_review += j->res->edges[k].score < j->a.threshold;
    }
    return rc;
}

static int write_review(FILE *f, const char *path, void *payload, rp_error *err)
{
    const job *j = payload;
    fprintf(f, "list_a,case_a,list_b,case_b,weight\n");
    for (size_t k = 0; k < j->res->n_edges; k++) {
        const rp_link_edge *e = &j->res->edges[k];
        if (e->score >= j->a.threshold)
            continue;
        rp_cli_csv_cell(f, j->lists[j->list[e->a]]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->case_id[e->a]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->lists[j->list[e->b]]);
        fputc(',', f);
        rp_cli_csv_cell(f, j->case_id[e->b]);
        fprintf(f, ",%.3f\n", e->score);
    }
    if (ferror(f))
        return rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot write the review file");
    return RP_OK;
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
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:{s:i, s:b, s:o, s:o, s:o}, s:I, s:I, "
                     "s:I, s:I}",
                     "records", (json_int_t)j->n, "read", (json_int_t)j->n_read, "set_aside",
                     (json_int_t)j->n_aside, "lists", (json_int_t)j->n_lists, "blocking", rules,
                     "candidates", (json_int_t)r->candidates, "patterns", (json_int_t)r->patterns,
                     "em", "iterations", (int)r->em.iterations, "converged", (int)r->em.converged,
                     "lambda", rp_cli_json_number(r->params.lambda), "expected_matches",
                     rp_cli_json_number(r->em.expected_matches), "warnings", warnings, "links",
                     (json_int_t)j->n_links, "review", (json_int_t)j->n_review, "persons",
                     (json_int_t)j->cs.persons, "run", (json_int_t)j->run_id);
}

static int save_run(job *j)
{
    rp_store *st = NULL;
    size_t n = j->n, np = j->res->n_edges;
    long long *row = rp_calloc(n, sizeof *row);
    long long *pa = rp_calloc(np ? np : 1, sizeof *pa), *pb = rp_calloc(np ? np : 1, sizeof *pb);
    double *score = rp_calloc(np ? np : 1, sizeof *score);
    uint8_t *dec = rp_calloc(np ? np : 1, sizeof *dec);
    char *params = rp_fs_spec_to_json(j->spec);
    json_t *rep = report_json(j);
    char *rep_s = rep ? json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = RP_OK;
    if (!row || !pa || !pb || !score || !dec || !params || !rep_s) {
        rc = rp_error_set(&j->err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_store_open(&st, j->a.store, 0, &j->err);
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        rc = rp_store_case_row(&row[i], st, j->lists[j->list[i]], j->case_id[i], &j->err);
        if (rc == RP_ENOTFOUND)
            rc = rp_error_set(&j->err, RP_EDATA,
                              "record %zu (list '%s', case '%s') is not in the store: import the "
                              "files first",
                              i + 1, j->lists[j->list[i]], j->case_id[i]);
    }
    for (size_t k = 0; k < np && rc == RP_OK; k++) {
        const rp_link_edge *e = &j->res->edges[k];
        pa[k] = row[e->a];
        pb[k] = row[e->b];
        score[k] = e->score;
        dec[k] = e->score >= j->a.threshold ? RP_LINK_MATCH : RP_LINK_REVIEW;
    }
    rp_link_run run = {"fellegi-sunter", params, rep_s, n, row, j->person, np, pa, pb, score, dec};
    if (rc == RP_OK)
        rc = rp_store_link_save(&j->run_id, st, &run, &j->err);
out:
    rp_store_close(st);
    free(rep_s); /* NOLINT: jansson allocates with malloc */
    json_decref(rep);
    rp_free(params);
    rp_free(row);
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
    if (j->n_aside > 0)
        printf("%ld rows set aside (see the messages above)\n", j->n_aside);
}

static int finish(job *j)
{
    int rc = RP_OK;
    if (j->a.review_file != NULL)
        rc = rp_cli_write_atomic(j->a.review_file, true, write_review, j, &j->err);
    if (rc == RP_OK && j->a.store != NULL)
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
    rp_fs_result_free(j->res);
    rp_fs_spec_free(j->spec);
    rp_issue_list_release(&j->issues);
    rp_mapping_free(j->map);
    rp_normaliser_free(j->norm);
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
    j->a.band = DEFAULT_REVIEW;
    int status = rp_cli_parse_opts(&j->common, CMD_NAME, argc, argv, longopts, usage, apply, &j->a);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status == -1 && (j->a.clear == NULL || j->a.mapping == NULL))
        status = rp_cli_usage_error(CMD_NAME, "--clear FILES and --mapping are required");
    if (status != -1) {
        rp_free(j);
        return status;
    }
    int rc = open_all(j);
    if (rc == RP_OK)
        rc = read_all(j);
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
