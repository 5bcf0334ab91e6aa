/*
 * bench_report: seconds to read 1,000,000 stored records (persons after linkage) into
 * the report's units, cross-tabulate six dimensions (every one- and two-way table and
 * year x citizenship x sex, 22 tables) and protect each with the threshold rule and
 * LP-audited secondary suppression. `make bench` runs it; bench/README.md has results.
 */
#include "bench_util.h"
#include "store/store_int.h"

#include <rapporteur/rapporteur.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

#define DEFAULT_RECORDS 1000000
#define N_DIMS          6
#define N_COUNTRIES     60

typedef struct bench_args {
    size_t records;
    bool json;
} bench_args;

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    return ((double)(next_u64(s) >> 11) + 0.5) * 0x1.0p-53;
}

/* A citizenship with Zipf-like weights over 60 codes (AA, AB, ...), so that most
 * two-way tables with it have small cells. */
static void draw_country(char *cc, uint64_t *s)
{
    double u = unif(s), h = 0;
    for (int i = 1; i <= N_COUNTRIES; i++) {
        h += 1.0 / i;
    }
    double acc = 0;
    int k = N_COUNTRIES - 1;
    for (int i = 1; i <= N_COUNTRIES; i++) {
        acc += 1.0 / (i * h);
        if (u < acc) {
            k = i - 1;
            break;
        }
    }
    cc[0] = (char)('A' + k / 26);
    cc[1] = (char)('A' + k % 26);
    cc[2] = '\0';
}

/* One simulated record; records of one person (about 1.25 records each) share an id. */
static void draw_record(rp_case_record *r, size_t i, uint64_t *s)
{
    static const char *const lists[] = {"police", "ngo", "labour", "border"};
    rp_case_record_init(r);
    snprintf(r->list, sizeof(r->list), "%s", lists[next_u64(s) % 4]);
    snprintf(r->case_id, sizeof(r->case_id), "c%zu", i);
    snprintf(r->person_id, sizeof(r->person_id), "p%zu", (size_t)((double)i / 1.25));
    r->registration_year = 2015 + (int)(next_u64(s) % 10);
    r->sex = unif(s) < 0.03 ? RP_SEX_UNKNOWN : (unif(s) < 0.7 ? RP_SEX_FEMALE : RP_SEX_MALE);
    r->age = unif(s) < 0.05 ? -1 : (int)(8 + next_u64(s) % 50);
    r->age_band = rp_age_band_of(r->age);
    r->id_status = RP_ID_STATUS_IDENTIFIED;
    draw_country(r->citizenship, s);
    r->citizenship_state = RP_STATE_KNOWN;
    uint32_t e = 0;
    e |= unif(s) < 0.55 ? RP_EXPL_SEXUAL : 0;
    e |= unif(s) < 0.35 ? RP_EXPL_FORCED_LABOUR : 0;
    e |= unif(s) < 0.05 ? RP_EXPL_FORCED_CRIMINALITY : 0;
    e |= unif(s) < 0.01 ? RP_EXPL_ORGAN_REMOVAL : 0;
    r->exploitation = unif(s) < 0.1 ? 0 : e;
    r->exploitation_state = r->exploitation != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING;
    if (r->exploitation & RP_EXPL_FORCED_LABOUR) {
        r->labour_sectors = 1u << (next_u64(s) % 12);
        r->labour_sectors |= unif(s) < 0.1 ? 1u << (next_u64(s) % 12) : 0;
    }
}

static int build_store(rp_store *st, size_t n, rp_error *err)
{
    rp_store__writer *w = NULL;
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    snprintf(sub.file_name, sizeof(sub.file_name), "bench.csv");
    snprintf(sub.sha256, sizeof(sub.sha256), "%064d", 1);
    int rc = rp_store__writer_begin(&w, st, &sub, err);
    uint64_t seed = 20261129;
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        rp_case_record r;
        draw_record(&r, i, &seed);
        rc = rp_store__writer_add(w, &r, (long)i + 2, NULL, err);
    }
    if (rc != RP_OK) {
        rp_store__writer_abort(w);
        return rc;
    }
    return rp_store__writer_commit(w, NULL, err);
}

typedef struct bench_result {
    double write_s, load_s, tables_s, sdc_s;
    size_t units, tables, cells, primary, secondary, lp_solves;
} bench_result;

static int run_tables(bench_result *res, const rp_report_data *d, rp_error *err)
{
    static const rp_field dims[N_DIMS] = {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX,
                                          RP_FIELD_AGE_BAND,          RP_FIELD_CITIZENSHIP,
                                          RP_FIELD_EXPLOITATION,      RP_FIELD_LABOUR_SECTORS};
    rp_field sets[32][3];
    size_t n_set[32], n = 0;
    for (size_t i = 0; i < N_DIMS; i++) {
        sets[n][0] = dims[i];
        n_set[n++] = 1;
    }
    for (size_t i = 0; i < N_DIMS; i++) {
        for (size_t j = i + 1; j < N_DIMS; j++) {
            sets[n][0] = dims[i];
            sets[n][1] = dims[j];
            n_set[n++] = 2;
        }
    }
    sets[n][0] = RP_FIELD_REGISTRATION_YEAR;
    sets[n][1] = RP_FIELD_CITIZENSHIP;
    sets[n][2] = RP_FIELD_SEX;
    n_set[n++] = 3;
    int rc = RP_OK;
    for (size_t k = 0; k < n && rc == RP_OK; k++) {
        rp_table *t = NULL;
        double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
        rc = rp_report_table_build(&t, d, sets[k], n_set[k], NULL, err);
        double t1 = bench_clock_seconds(CLOCK_MONOTONIC);
        rp_sdc_report rep;
        memset(&rep, 0, sizeof(rep));
        if (rc == RP_OK) {
            rc = rp_sdc_protect(t, NULL, &rep, err);
        }
        double t2 = bench_clock_seconds(CLOCK_MONOTONIC);
        res->tables_s += t1 - t0;
        res->sdc_s += t2 - t1;
        if (rc == RP_OK) {
            res->tables++;
            res->cells += t->n_cells;
            res->primary += rep.n_primary;
            res->secondary += rep.n_secondary;
            res->lp_solves += rep.lp_solves;
        }
        rp_table_free(t);
    }
    return rc;
}

static int parse_args(bench_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"records", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'n' && !bench_opt_count(&a->records, optarg, 1, "bench_report", "--records")) {
            return 2;
        }
        if (c == 'j') {
            a->json = true;
        }
        if (c == 'h' || c == '?') {
            printf("usage: bench_report [--records N] [--json]\n"
                   "Write N simulated records (default %d) into a new store (not timed), then\n"
                   "time: reading them as persons, building 22 tables of 6 dimensions (every\n"
                   "one- and two-way table and year x citizenship x sex), and protecting each\n"
                   "with the threshold rule (k = 5) and LP-audited secondary suppression.\n",
                   DEFAULT_RECORDS);
            return c == 'h' ? 0 : 2;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    bench_args a = {DEFAULT_RECORDS, false};
    int st = parse_args(&a, argc, argv);
    if (st >= 0) {
        return st;
    }
    rp_init();
    bench_machine m;
    bench_machine_describe(&m);
    char dir[] = "/tmp/bench-report-XXXXXX", db[64];
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_report: cannot make a scratch folder\n");
        return 1;
    }
    snprintf(db, sizeof(db), "%s/r.db", dir);
    rp_store *store = NULL;
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    bench_result res;
    memset(&res, 0, sizeof(res));
    int rc = rp_store_open(&store, db, RP_STORE_CREATE, &err);
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    if (rc == RP_OK) {
        rc = build_store(store, a.records, &err);
    }
    double t1 = bench_clock_seconds(CLOCK_MONOTONIC);
    double c1 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (rc == RP_OK) {
        rc = rp_report_data_load(&d, store, NULL, &err);
    }
    double t2 = bench_clock_seconds(CLOCK_MONOTONIC);
    res.write_s = t1 - t0;
    res.load_s = t2 - t1;
    if (rc == RP_OK) {
        res.units = rp_report_data_count(d);
        rc = run_tables(&res, d, &err);
    }
    double cpu = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c1;
    rp_report_data_free(d);
    rp_store_close(store);
    bench_remove_tree(dir);
    if (rc != RP_OK) {
        fprintf(stderr, "bench_report: %s\n", err.msg);
        return 1;
    }
    double total = res.load_s + res.tables_s + res.sdc_s;
    if (a.json) {
        printf("{\"records\": %zu, \"persons\": %zu, \"tables\": %zu, \"cells\": %zu, "
               "\"primary\": %zu, \"secondary\": %zu, \"lp_solves\": %zu, \"write_s\": %.3f, "
               "\"load_s\": %.3f, \"tables_s\": %.3f, \"sdc_s\": %.3f, \"total_s\": %.3f, "
               "\"cpu_s\": %.3f}\n",
               a.records, res.units, res.tables, res.cells, res.primary, res.secondary,
               res.lp_solves, res.write_s, res.load_s, res.tables_s, res.sdc_s, total, cpu);
        return 0;
    }
    bench_machine_print(&m);
    printf("report: %zu records (%zu persons), 6 dimensions, %zu tables, %zu cells\n", a.records,
           res.units, res.tables, res.cells);
    printf("  store written (not timed)   %7.2f s\n", res.write_s);
    printf("  read units from the store   %7.2f s\n", res.load_s);
    printf("  build the tables            %7.2f s\n", res.tables_s);
    printf("  disclosure control          %7.2f s   (%zu primary, %zu secondary, %zu LPs)\n",
           res.sdc_s, res.primary, res.secondary, res.lp_solves);
    printf("  total                       %7.2f s   (CPU %.2f s)\n", total, cpu);
    return 0;
}
