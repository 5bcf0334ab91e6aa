/*
 * rapporteur CLI: what `rapporteur link` and `rapporteur link --clear` share (see
 * link_common.h): the linkage sensitivity table (re-clustering at a range of thresholds
 * and estimating from each capture table), progress that a signal interrupts, and the
 * clerical-review verdict files read back into the store and into clustering constraints.
 */
#include "link_common.h"

#include "cli_util.h"
#include "common/banned.h" /* last: it redefines banned libc names */
#include "common/common_int.h"

#include <rapporteur/data.h>
#include <rapporteur/link.h>
#include <rapporteur/mse.h>
#include <rapporteur/store.h>

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_THREADS 256
#define RANGE_SLACK 1e-9 /* a range endpoint within this of a step counts as reached */

/* ==== linkage sensitivity ==== */

/* Capture histories of the persons: one bit per list; the table counts patterns. */
static int capture_table(rp_capture_table **out,
                         const rp_cli_sens_input *in,
                         const uint32_t *person,
                         size_t n_persons,
                         rp_error *err)
{
    *out = NULL;
    if (in->n_lists < 2 || in->n_lists > RP_MSE_MAX_LISTS)
        return rp_error_set(err, RP_EINVAL, "%zu lists: estimation needs 2 to %d", in->n_lists,
                            RP_MSE_MAX_LISTS);
    uint32_t *hist = rp_calloc(n_persons ? n_persons : 1, sizeof *hist);
    if (!hist)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < in->n; i++)
        hist[person[i]] |= 1u << in->list[i];
    rp_capture_table *tab = NULL;
    int rc = rp_capture_table_new(&tab, in->n_lists, in->list_names, err);
    if (rc == RP_OK) {
        for (size_t p = 0; p < n_persons; p++)
            tab->counts[hist[p]] += 1.0;
        *out = tab;
    }
    rp_free(hist);
    return rc;
}

/* Cluster at @p threshold and estimate; failures of the estimate become a note. */
static int sensitivity_row(rp_cli_sens_row *row,
                           const rp_cli_sens_input *in,
                           double threshold,
                           uint32_t *person,
                           rp_error *err)
{
    rp_cluster_opts co = in->cluster;
    co.threshold = threshold;
    rp_cluster_stats cs;
    row->threshold = threshold;
    row->estimate = row->lower = row->upper = NAN;
    int rc = rp_link_cluster(in->edges, in->n_edges, in->n, in->list, &co, person, &cs, err);
    if (rc != RP_OK)
        return rc;
    row->persons = cs.persons;
    row->observed = (double)cs.persons;
    rp_capture_table *tab = NULL;
    rp_error e = RP_ERROR_INIT;
    rp_mse_result *res = NULL;
    rc = capture_table(&tab, in, person, cs.persons, &e);
    if (rc == RP_ENOMEM)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK) {
        row->observed = rp_capture_table_observed(tab);
        rc = rp_mse_estimate(&res, tab, NULL, &e);
    }
    if (rc == RP_OK) {
        row->estimated = true;
        row->estimate = res->estimate;
        row->lower = isnan(res->profile_lower) ? res->ci_lower : res->profile_lower;
        row->upper = isnan(res->profile_upper) ? res->ci_upper : res->profile_upper;
    } else {
        snprintf(row->note, sizeof(row->note), "%s", e.msg);
    }
    rp_mse_result_free(res);
    rp_capture_table_free(tab);
    return RP_OK;
}

int rp_cli_link_sensitivity(rp_cli_sens_row **rows,
                            size_t *n_rows,
                            const rp_cli_sens_input *in,
                            rp_error *err)
{
    *rows = NULL;
    *n_rows = 0;
    size_t n = (size_t)floor((in->to - in->from) / in->step + RANGE_SLACK) + 1;
    rp_cli_sens_row *r = rp_calloc(n + 1, sizeof *r);
    uint32_t *person = rp_calloc(in->n ? in->n : 1, sizeof *person);
    size_t k = 0;
    int rc = RP_OK;
    if (!r || !person) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    bool has_chosen = false;
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        double t = in->from + (double)i * in->step;
        if (in->unit && t > 1.0)
            t = 1.0;
        has_chosen |= fabs(t - in->chosen) < RANGE_SLACK;
        rc = sensitivity_row(&r[k++], in, t, person, err);
    }
    /* the chosen threshold is always a row */
    if (rc == RP_OK && !has_chosen)
        rc = sensitivity_row(&r[k++], in, in->chosen, person, err);
out:
    rp_free(person);
    if (rc != RP_OK) {
        rp_free(r);
        return rc;
    }
    *rows = r;
    *n_rows = k;
    return RP_OK;
}

json_t *rp_cli_link_sensitivity_json(const rp_cli_sens_row *rows, size_t n)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < n; k++) {
        const rp_cli_sens_row *s = &rows[k];
        json_t *o = json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "threshold",
                              rp_cli_json_number(s->threshold), "persons", (json_int_t)s->persons,
                              "observed", rp_cli_json_count(s->observed), "estimate",
                              rp_cli_json_number(s->estimate), "lower",
                              rp_cli_json_number(s->lower), "upper", rp_cli_json_number(s->upper));
        if (o && !s->estimated)
            json_object_set_new(o, "note", json_string(s->note));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void print_number(double x)
{
    if (isnan(x))
        printf(" %10s", "-");
    else
        printf(" %10.0f", x);
}

void rp_cli_link_sensitivity_print(const rp_cli_sens_row *rows, size_t n, double chosen)
{
    printf("Linkage sensitivity (estimate: stepwise log-linear MSE, 95%% interval)\n");
    printf("  %9s %10s %10s %10s %10s %10s\n", "threshold", "persons", "observed", "estimate",
           "lower", "upper");
    for (size_t k = 0; k < n; k++) {
        const rp_cli_sens_row *s = &rows[k];
        printf("  %9.2f %10zu", s->threshold, s->persons);
        print_number(s->observed);
        print_number(s->estimate);
        print_number(s->lower);
        print_number(s->upper);
        printf("%s%s\n", fabs(s->threshold - chosen) < RANGE_SLACK ? "  <- chosen" : "",
               s->estimated ? "" : "  (no estimate)");
    }
}

int rp_cli_link_parse_range(
    double *from, double *to, double *step, const char *cmd, const char *value)
{
    rp_cli_strv sv = {NULL, 0};
    int st = -1;
    if (rp_cli_strv_split(&sv, value, ':', NULL) != RP_OK || sv.n != 3 ||
        !rp_cli_parse_double(from, sv.v[0]) || !rp_cli_parse_double(to, sv.v[1]) ||
        !isfinite(*from) || !isfinite(*to) || !rp_cli_parse_double(step, sv.v[2]) ||
        !(*step > 0.0) || *to < *from ||
        (*to - *from) / *step > RP_CLI_LINK_MAX_SENSITIVITY - 1 + RANGE_SLACK)
        st = rp_cli_usage_error(cmd,
                                "--sensitivity: expected FROM:TO:STEP with FROM <= TO, STEP > 0 "
                                "and at most %d thresholds",
                                RP_CLI_LINK_MAX_SENSITIVITY);
    rp_cli_strv_clear(&sv);
    return st;
}

/* ==== progress and interruption ==== */

static volatile sig_atomic_t interrupted = 0;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void rp_cli_link_catch_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    if (on)
        interrupted = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool rp_cli_link_interrupted(void)
{
    return interrupted != 0;
}

int rp_cli_link_progress(size_t done, size_t total, void *payload)
{
    if (interrupted)
        return 1;
    return rp_cli_progress(done, total, payload);
}

unsigned rp_cli_link_default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 && cpus <= MAX_THREADS ? (unsigned)cpus : 1u;
}

/* ==== clerical review ==== */

const char *rp_cli_link_reviewer(const char *given)
{
    if (given != NULL)
        return given;
    const char *u = getenv("USER");
    if (u == NULL || u[0] == '\0')
        u = getenv("LOGNAME");
    return u != NULL && u[0] != '\0' && strlen(u) < RP_LINK_AUTHOR_MAX ? u : "unknown";
}

/* The columns of a review file, as indices into its header (or -1). */
enum { C_LIST_A, C_LIST_B, C_RECORD_A, C_RECORD_B, C_CASE_A, C_CASE_B, C_DECISION, N_C };

static const char *const col_names[N_C] = {"list_a", "list_b", "record_a", "record_b",
                                           "case_a", "case_b", "decision"};

typedef struct verdict_reader {
    const char *path;
    rp_store *st;
    rp_cli_record_check check;
    void *payload;
    long col[N_C];
    bool by_record; /* records named by store numbers, else by list and case reference */
    rp_link_review *v;
    size_t n, cap;
} verdict_reader;

/* The decision cell: 1 accepted, 0 rejected, -1 empty (not reviewed), -2 not understood. */
static int parse_decision(const char *s)
{
    static const char *const yes[] = {"match", "1", "yes", "y", "accept", "accepted", "true"};
    static const char *const no[] = {"non-match", "nonmatch", "non_match", "no-match", "0",
                                     "no",        "n",        "reject",    "rejected", "false"};
    char t[32];
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (len == 0)
        return -1;
    if (len >= sizeof t)
        return -2;
    memcpy(t, s, len);
    t[len] = '\0';
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(t, yes[i]) == 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (strcasecmp(t, no[i]) == 0)
            return 0;
    }
    return -2;
}

/* Bind the header: the decision column, and one of the two ways of naming records. */
static int bind_header(verdict_reader *vr, const char *const *cols, size_t n_cols, rp_error *err)
{
    for (size_t c = 0; c < N_C; c++) {
        vr->col[c] = -1;
        for (size_t i = 0; i < n_cols; i++) {
            if (strcmp(cols[i], col_names[c]) == 0) {
                vr->col[c] = (long)i;
                break;
            }
        }
    }
    bool rec = vr->col[C_RECORD_A] >= 0 && vr->col[C_RECORD_B] >= 0;
    bool cas = vr->col[C_CASE_A] >= 0 && vr->col[C_CASE_B] >= 0;
    if (vr->col[C_DECISION] < 0 || vr->col[C_LIST_A] < 0 || vr->col[C_LIST_B] < 0 || (!rec && !cas))
        return rp_error_set_at(err, RP_EPARSE, vr->path, 1, 0,
                               "not a review file: expected columns list_a, list_b, decision and "
                               "record_a, record_b or case_a, case_b");
    if (rec && vr->check == NULL)
        return rp_error_set_at(err, RP_EPARSE, vr->path, 1, 0,
                               "this review file names records by store number (record_a, "
                               "record_b), which this route cannot check: use the file it wrote");
    if (!rec && vr->st == NULL)
        return rp_error_set_at(err, RP_EPARSE, vr->path, 1, 0,
                               "a review file by case reference needs --store");
    vr->by_record = rec;
    return RP_OK;
}

/* One end of a pair: its cases.id, from a record number or a list and case reference. */
static int resolve_end(
    verdict_reader *vr, long long *row, const char *const *f, bool b_end, long line, rp_error *err)
{
    long list_col = vr->col[b_end ? C_LIST_B : C_LIST_A];
    const char *list = f[list_col];
    if (vr->by_record) {
        long c = vr->col[b_end ? C_RECORD_B : C_RECORD_A];
        long x = 0;
        if (rp_x_parse_long(f[c], 1, LONG_MAX, &x) != 0)
            return rp_error_set_at(err, RP_EDATA, vr->path, line, c + 1,
                                   "field '%s' expected a record number",
                                   col_names[b_end ? C_RECORD_B : C_RECORD_A]);
        if (!vr->check(x, list, vr->payload))
            return rp_error_set_at(err, RP_EDATA, vr->path, line, c + 1,
                                   "field '%s': no such record of list '%s' in this run",
                                   col_names[b_end ? C_RECORD_B : C_RECORD_A], list);
        *row = x;
        return RP_OK;
    }
    long c = vr->col[b_end ? C_CASE_B : C_CASE_A];
    rp_error e = RP_ERROR_INIT;
    int rc = rp_store_case_row(row, vr->st, list, f[c], &e);
    if (rc == RP_ENOTFOUND)
        return rp_error_set_at(err, RP_EDATA, vr->path, line, c + 1,
                               "field '%s': no record with this case reference on list '%s' in "
                               "the store",
                               col_names[b_end ? C_CASE_B : C_CASE_A], list);
    if (rc != RP_OK)
        *err = e;
    return rc;
}

static int
verdict_row(verdict_reader *vr, const char *const *f, size_t nf, long line, rp_error *err)
{
    for (size_t c = 0; c < N_C; c++) {
        if (vr->col[c] >= 0 && (size_t)vr->col[c] >= nf)
            return rp_error_set_at(err, RP_EDATA, vr->path, line, (long)nf + 1,
                                   "field '%s' missing", col_names[c]);
    }
    long dc = vr->col[C_DECISION];
    int d = parse_decision(f[dc]);
    if (d == -1)
        return RP_OK; /* not reviewed */
    if (d == -2)
        return rp_error_set_at(err, RP_EDATA, vr->path, line, dc + 1,
                               "field 'decision' expected match or non-match (or 1/0, yes/no)");
    rp_link_review r = {0, 0, d ? RP_LINK_ACCEPTED : RP_LINK_REJECTED, 0};
    int rc = resolve_end(vr, &r.case_a, f, false, line, err);
    if (rc == RP_OK)
        rc = resolve_end(vr, &r.case_b, f, true, line, err);
    if (rc == RP_OK && r.case_a == r.case_b)
        rc = rp_error_set_at(err, RP_EDATA, vr->path, line, 0, "a record paired with itself");
    if (rc == RP_OK && rp_x_grow(&vr->v, &vr->cap, vr->n + 1, sizeof(*vr->v)) != RP_OK)
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK)
        vr->v[vr->n++] = r;
    return rc;
}

int rp_cli_link_read_verdicts(rp_link_review **out,
                              size_t *n_out,
                              const char *path,
                              rp_store *st,
                              rp_cli_record_check check,
                              void *payload,
                              rp_error *err)
{
    *out = NULL;
    *n_out = 0;
    verdict_reader vr = {.path = path, .st = st, .check = check, .payload = payload};
    rp_reader *rd = NULL;
    rp_reader_opts ro = RP_READER_OPTS_INIT;
    ro.format = RP_INPUT_CSV;
    ro.delimiter = ',';
    int rc = rp_reader_open(&rd, path, &ro, err);
    if (rc == RP_OK) {
        const char *const *cols = NULL;
        size_t n_cols = rp_reader_columns(rd, &cols);
        rc = bind_header(&vr, cols, n_cols, err);
    }
    while (rc == RP_OK) {
        const char *const *f = NULL;
        size_t nf = 0;
        long line = 0;
        int got = rp_reader_next(rd, &f, &nf, &line, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = verdict_row(&vr, f, nf, line, err);
    }
    rp_reader_free(rd);
    if (rc != RP_OK) {
        if (err && err->path[0] == '\0')
            rp_x_strlcpy(err->path, path, sizeof err->path);
        rp_free(vr.v);
        return rc;
    }
    *out = vr.v;
    *n_out = vr.n;
    return RP_OK;
}

/* (cases.id, record) for binary search. */
typedef struct row_ix {
    long long row;
    uint32_t rec;
} row_ix;

static int cmp_row_ix(const void *x, const void *y)
{
    const row_ix *a = x;
    const row_ix *b = y;
    return (a->row > b->row) - (a->row < b->row);
}

static int cmp_cpair(const void *x, const void *y)
{
    const rp_cluster_pair *a = x;
    const rp_cluster_pair *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

int rp_cli_link_constraints(rp_cluster_pair **must,
                            size_t *n_must,
                            rp_cluster_pair **cannot,
                            size_t *n_cannot,
                            const rp_link_review *rev,
                            size_t n_rev,
                            const long long *row,
                            size_t n,
                            rp_error *err)
{
    *must = *cannot = NULL;
    *n_must = *n_cannot = 0;
    if (n_rev == 0 || n == 0)
        return RP_OK;
    row_ix *ix = rp_calloc(n, sizeof *ix);
    rp_cluster_pair *m = rp_calloc(n_rev, sizeof *m);
    rp_cluster_pair *c = rp_calloc(n_rev, sizeof *c);
    if (!ix || !m || !c) {
        rp_free(ix);
        rp_free(m);
        rp_free(c);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ix[i] = (row_ix){row[i], (uint32_t)i};
    qsort(ix, n, sizeof *ix, cmp_row_ix);
    size_t nm = 0, nc = 0;
    for (size_t k = 0; k < n_rev; k++) {
        row_ix ka = {rev[k].case_a, 0}, kb = {rev[k].case_b, 0};
        const row_ix *pa = bsearch(&ka, ix, n, sizeof *ix, cmp_row_ix);
        const row_ix *pb = bsearch(&kb, ix, n, sizeof *ix, cmp_row_ix);
        if (!pa || !pb || pa->rec == pb->rec)
            continue;
        rp_cluster_pair p = {pa->rec < pb->rec ? pa->rec : pb->rec,
                             pa->rec < pb->rec ? pb->rec : pa->rec};
        if (rev[k].decision == RP_LINK_ACCEPTED)
            m[nm++] = p;
        else if (rev[k].decision == RP_LINK_REJECTED)
            c[nc++] = p;
    }
    rp_free(ix);
    qsort(m, nm, sizeof *m, cmp_cpair);
    qsort(c, nc, sizeof *c, cmp_cpair);
    if (nm == 0) {
        rp_free(m);
        m = NULL;
    }
    if (nc == 0) {
        rp_free(c);
        c = NULL;
    }
    *must = m;
    *n_must = nm;
    *cannot = c;
    *n_cannot = nc;
    return RP_OK;
}

uint8_t
rp_cli_link_pair_decision(const rp_cluster_opts *co, uint32_t a, uint32_t b, uint8_t otherwise)
{
    rp_cluster_pair key = {a < b ? a : b, a < b ? b : a};
    if (co->n_must_link > 0 &&
        bsearch(&key, co->must_link, co->n_must_link, sizeof key, cmp_cpair) != NULL)
        return RP_LINK_ACCEPTED;
    if (co->n_cannot_link > 0 &&
        bsearch(&key, co->cannot_link, co->n_cannot_link, sizeof key, cmp_cpair) != NULL)
        return RP_LINK_REJECTED;
    return otherwise;
}
