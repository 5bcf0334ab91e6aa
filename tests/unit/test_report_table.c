/*
 * Unit tests for the report tables (src/report/table.c, trend.c, estimates.c,
 * table_out.c): tables of a small set of records worked out by hand (persons from their
 * earliest record, CTDC's denominator rule, margins, shares, years with no one), the
 * same from a store, the CTDC global dataset cross-tabulated against counts made here
 * from the CSV by a separate reader, the Poisson trend against values computed by hand
 * (IRLS on the two-parameter GLM), MSE estimates per stratum, and the writers.
 */
#include "report/report_int.h"
#include "rp_test.h"
#include "store/store_int.h"

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

/* ==== helpers ==== */

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

static rp_case_record
rec(const char *list, const char *person, int year, rp_sex sex, const char *cc, uint32_t expl)
{
    rp_case_record r;
    rp_case_record_init(&r);
    snprintf(r.list, sizeof(r.list), "%s", list);
    snprintf(r.person_id, sizeof(r.person_id), "%s", person);
    r.registration_year = year;
    r.sex = sex;
    if (cc[0] != '\0') {
        snprintf(r.citizenship, sizeof(r.citizenship), "%s", cc);
        r.citizenship_state = RP_STATE_KNOWN;
    }
    r.exploitation = expl;
    r.exploitation_state = expl != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING;
    return r;
}

/*
 * Seven records of five persons, worked by hand.
 * Persons, from their earliest record (a missing year last):
 *   ""  (r5, no person id): 2017, unknown sex, NG, {sexual}
 *   P1  (r2, 2015 before r1 2016): 2015, female, NG, {sexual, forced_labour}
 *   P2  (r3): 2016, male, RO, {forced_labour}
 *   P3  (r4): 2016, female, RO, {} (no information on exploitation)
 *   P4  (r7, 2016 before r6 with no year): 2016, male, UA, {forced_labour}
 */
static void hand_records(rp_case_record *r)
{
    r[0] = rec("PF", "P1", 2016, RP_SEX_FEMALE, "NG", RP_EXPL_SEXUAL);
    r[1] = rec("NGO", "P1", 2015, RP_SEX_FEMALE, "NG", RP_EXPL_SEXUAL | RP_EXPL_FORCED_LABOUR);
    r[2] = rec("PF", "P2", 2016, RP_SEX_MALE, "RO", RP_EXPL_FORCED_LABOUR);
    r[3] = rec("NGO", "P3", 2016, RP_SEX_FEMALE, "RO", 0);
    r[4] = rec("PF", "", 2017, RP_SEX_UNKNOWN, "NG", RP_EXPL_SEXUAL);
    r[5] = rec("LI", "P4", 0, RP_SEX_FEMALE, "", RP_EXPL_SEXUAL);
    r[6] = rec("PF", "P4", 2016, RP_SEX_MALE, "UA", RP_EXPL_FORCED_LABOUR);
}

static rp_report_data *hand_data(rp_report_unit unit)
{
    rp_case_record r[7];
    hand_records(r);
    rp_report_data_opts o = RP_REPORT_DATA_OPTS_INIT;
    o.unit = unit;
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_report_data_from_records(&d, r, 7, &o, &err), &err);
    return d;
}

static rp_table *build(const rp_report_data *d, const rp_field *f, size_t n, const rp_table_opts *o)
{
    rp_table *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_report_table_build(&t, d, f, n, o, &err), &err);
    return t;
}

static void assert_cats(const rp_table *t, size_t d, const char *const *want, size_t n)
{
    assert_int_equal(t->dims[d].n_cats, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t->dims[d].cats[i], want[i]);
    }
}

/* The row-major counts of a whole table, margins included. */
static void assert_counts(const rp_table *t, const double *want, size_t n)
{
    assert_int_equal(t->n_cells, n);
    for (size_t c = 0; c < n; c++) {
        if (t->count[c] != want[c]) {
            fail_msg("cell %zu: count %g, expected %g", c, t->count[c], want[c]);
        }
        assert_true(t->value[c] == t->count[c]);
        assert_int_equal(t->status[c], RP_CELL_PUBLISHED);
    }
}

/* ==== hand-computed tables ==== */

static void report_table__persons_by_sex_and_citizenship(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_AUTO);
    assert_int_equal(rp_report_data_count(d), 5);
    assert_int_equal(rp_report_data_unlinked(d), 1);
    assert_string_equal(rp_report_data_unit(d), "persons");
    const rp_field f[2] = {RP_FIELD_SEX, RP_FIELD_CITIZENSHIP};
    rp_table *t = build(d, f, 2, NULL);
    static const char *const sexes[] = {"female", "male", "unknown"};
    static const char *const ccs[] = {"NG", "RO", "UA"};
    assert_cats(t, 0, sexes, 3);
    assert_cats(t, 1, ccs, 3);
    /* rows female, male, unknown, Total; columns NG, RO, UA, Total */
    static const double want[] = {1, 1, 0, 2, /**/ 0, 1, 1, 2, /**/ 1, 0, 0, 1, /**/ 2, 2, 1, 5};
    assert_counts(t, want, 16);
    assert_true(t->additive);
    assert_string_equal(t->unit, "persons");
    assert_string_equal(t->title, "persons by sex and citizenship");
    assert_true(t->n_notes >= 1); /* the record without a person id */

    /* shares along sex: NG has one person of unknown sex, left out of the denominator */
    double s[16];
    assert_rp_ok(rp_table_shares(s, t, 0, NULL), NULL);
    assert_close(s[0], 1.0, 1e-15, 0);  /* female NG: 1 of 1 with a known sex */
    assert_close(s[1], 0.5, 1e-15, 0);  /* female RO */
    assert_close(s[5], 0.5, 1e-15, 0);  /* male RO */
    assert_close(s[3], 0.5, 1e-15, 0);  /* female total: 2 of 4 */
    assert_true(isnan(s[8]));           /* unknown sex: no share */
    assert_close(s[12], 1.0, 1e-15, 0); /* the margin */
    rp_table_free(t);
    rp_report_data_free(d);
}

static void report_table__multi_valued_denominator_rule(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_AUTO);
    const rp_field f[2] = {RP_FIELD_EXPLOITATION, RP_FIELD_SEX};
    rp_table *t = build(d, f, 2, NULL);
    static const char *const forms[] = {"sexual", "forced_labour"};
    static const char *const sexes[] = {"female", "male", "unknown"};
    assert_cats(t, 0, forms, 2);
    assert_cats(t, 1, sexes, 3);
    /* P3 has no form recorded: left out. P1 is in both forms. */
    static const double want[] = {1, 0, 1, 2, /**/ 1, 2, 0, 3, /**/ 1, 2, 1, 4};
    assert_counts(t, want, 12);
    assert_false(t->additive);
    assert_false(rp_table_dim_additive(t, 0));
    assert_true(rp_table_dim_additive(t, 1));
    /* shares over persons with information: sexual 2 of 4, forced labour 3 of 4 */
    double s[12];
    assert_rp_ok(rp_table_shares(s, t, 0, NULL), NULL);
    assert_close(s[3], 0.5, 1e-15, 0);
    assert_close(s[7], 0.75, 1e-15, 0);
    /* the note says that P3 is left out, never how many are: that number is the difference
     * of two totals and would give away a suppressed one */
    bool noted = false;
    for (size_t i = 0; i < t->n_notes; i++) {
        bool here = strstr(t->notes[i], "persons with no information") != NULL;
        noted = noted || here;
        assert_true(!here || strpbrk(t->notes[i], "0123456789") == NULL);
    }
    assert_true(noted);
    rp_table_free(t);
    rp_report_data_free(d);
}

static void report_table__records_and_year_gaps(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_RECORDS);
    assert_int_equal(rp_report_data_count(d), 7);
    assert_string_equal(rp_report_data_unit(d), "records");
    const rp_field f[1] = {RP_FIELD_REGISTRATION_YEAR};
    rp_table *t = build(d, f, 1, NULL);
    static const char *const years[] = {"2015", "2016", "2017", ""};
    assert_cats(t, 0, years, 4);
    static const double want[] = {1, 4, 1, 1, 7};
    assert_counts(t, want, 5);
    rp_table_free(t);

    /* years 2012 and 2015 only: 2013 and 2014 are there with 0 */
    rp_case_record r[2];
    r[0] = rec("A", "", 2012, RP_SEX_MALE, "", 0);
    r[1] = rec("A", "", 2015, RP_SEX_MALE, "", 0);
    rp_report_data *g = NULL;
    assert_rp_ok(rp_report_data_from_records(&g, r, 2, NULL, NULL), NULL);
    t = build(g, f, 1, NULL);
    static const char *const span[] = {"2012", "2013", "2014", "2015"};
    assert_cats(t, 0, span, 4);
    static const double want2[] = {1, 0, 0, 1, 2};
    assert_counts(t, want2, 5);
    rp_table_free(t);
    rp_report_data_free(g);

    /* lists, and a year window with known_only */
    const rp_field f2[2] = {RP_FIELD_LIST, RP_FIELD_SEX};
    rp_table_opts o = RP_TABLE_OPTS_INIT;
    o.year_min = 2016;
    o.known_only = true;
    t = build(d, f2, 2, &o);
    static const char *const lists[] = {"NGO", "PF"};
    static const char *const sexes[] = {"female", "male"};
    assert_cats(t, 0, lists, 2);
    assert_cats(t, 1, sexes, 2);
    /* 2016+: r1 PF F, r3 PF M, r4 NGO F, r5 PF unknown (left out), r7 PF M */
    static const double want3[] = {1, 0, 1, /**/ 1, 2, 3, /**/ 2, 2, 4};
    assert_counts(t, want3, 9);
    rp_table_free(t);
    rp_report_data_free(d);
}

static void report_table__bad_fields_are_refused(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_AUTO);
    rp_table *t = NULL;
    rp_error err = RP_ERROR_INIT;
    const rp_field twice[2] = {RP_FIELD_SEX, RP_FIELD_SEX};
    assert_rp_status(rp_report_table_build(&t, d, twice, 2, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "twice"));
    const rp_field id[1] = {RP_FIELD_PERSON_ID};
    assert_rp_status(rp_report_table_build(&t, d, id, 1, NULL, &err), RP_EINVAL, &err);
    const rp_field five[5] = {RP_FIELD_SEX, RP_FIELD_AGE, RP_FIELD_LIST, RP_FIELD_CITIZENSHIP,
                              RP_FIELD_AGE_BAND};
    assert_rp_status(rp_report_table_build(&t, d, five, 5, NULL, &err), RP_EINVAL, &err);
    rp_table_opts o = RP_TABLE_OPTS_INIT;
    o.year_min = 2017;
    o.year_max = 2015;
    assert_rp_status(rp_report_table_build(&t, d, five, 1, &o, &err), RP_EINVAL, &err);
    assert_null(t);
    rp_report_data_free(d);

    rp_case_record r[1];
    r[0] = rec("A", "", 2012, RP_SEX_MALE, "", 0);
    rp_report_data_opts po = RP_REPORT_DATA_OPTS_INIT;
    po.unit = RP_REPORT_UNIT_PERSONS;
    assert_rp_status(rp_report_data_from_records(&d, r, 1, &po, &err), RP_EDATA, &err);
    assert_rp_status(rp_report_data_from_records(&d, r, 0, NULL, &err), RP_EDATA, &err);
}

/* ==== full domain (differential privacy) ==== */

/* The category lists of two tables are the same, label by label. */
static void assert_same_shape(const rp_table *a, const rp_table *b)
{
    assert_int_equal(a->n_dims, b->n_dims);
    assert_int_equal(a->n_cells, b->n_cells);
    for (size_t d = 0; d < a->n_dims; d++) {
        assert_int_equal(a->dims[d].n_cats, b->dims[d].n_cats);
        for (size_t i = 0; i < a->dims[d].n_cats; i++) {
            assert_string_equal(a->dims[d].cats[i], b->dims[d].cats[i]);
        }
    }
}

static void report_table__full_domain_shape_is_data_free(void **state)
{
    (void)state;
    /* b: the hand records plus one person in a rare category of every field */
    rp_case_record r[8];
    hand_records(r);
    r[7] = rec("PF", "P9", 2018, RP_SEX_OTHER, "", RP_EXPL_FORCED_MARRIAGE);
    r[7].age_band = RP_AGE_BAND_48_PLUS;
    rp_report_data *a = hand_data(RP_REPORT_UNIT_AUTO);
    rp_report_data *b = NULL;
    assert_rp_ok(rp_report_data_from_records(&b, r, 8, NULL, NULL), NULL);
    rp_table_opts o = RP_TABLE_OPTS_INIT;
    o.full_domain = true;
    o.year_min = 2012;
    o.year_max = 2018;
    static const rp_field fs[][2] = {{RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX},
                                     {RP_FIELD_SEX, RP_FIELD_AGE_BAND},
                                     {RP_FIELD_EXPLOITATION, RP_FIELD_LIST}};
    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
        rp_table *ta = build(a, fs[i], 2, &o);
        rp_table *tb = build(b, fs[i], 2, &o);
        assert_same_shape(ta, tb);
        rp_table_free(ta);
        rp_table_free(tb);
    }
    /* without full_domain the rare person adds a row: the defect */
    const rp_field sex[1] = {RP_FIELD_SEX};
    rp_table *ta = build(a, sex, 1, NULL);
    rp_table *tb = build(b, sex, 1, NULL);
    assert_int_not_equal(ta->dims[0].n_cats, tb->dims[0].n_cats);
    rp_table_free(ta);
    rp_table_free(tb);

    /* every code, then "unknown" and "" (not recorded); filled ones are not present */
    ta = build(a, sex, 1, &o);
    static const char *const sexes[] = {"female", "male", "other", "unknown", ""};
    assert_cats(ta, 0, sexes, 5);
    static const uint8_t held[] = {1, 1, 0, 1, 0};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ta->dims[0].present[i], held[i]);
    }
    rp_table_free(ta);

    /* multi-valued: every code of the list */
    const rp_field expl[1] = {RP_FIELD_EXPLOITATION};
    ta = build(a, expl, 1, &o);
    size_t n_codes = 0;
    while (rp_code_name(RP_FIELD_EXPLOITATION, (unsigned)n_codes) != NULL) {
        n_codes++;
    }
    assert_int_equal(ta->dims[0].n_cats, n_codes);
    assert_string_equal(ta->dims[0].cats[0], "sexual");
    rp_table_free(ta);

    /* the year range is honoured: 2012..2018, no "not recorded" year */
    const rp_field year[1] = {RP_FIELD_REGISTRATION_YEAR};
    ta = build(a, year, 1, &o);
    static const char *const years[] = {"2012", "2013", "2014", "2015", "2016", "2017", "2018"};
    assert_cats(ta, 0, years, 7);
    /* P1 2015, P2 P3 P4 2016, r5 2017 */
    static const double want[] = {0, 0, 0, 1, 3, 1, 0, 5};
    assert_counts(ta, want, 8);
    assert_int_equal(ta->dims[0].present[0], 0);
    assert_int_equal(ta->dims[0].present[4], 1);
    rp_table_free(ta);
    rp_report_data_free(b);
    rp_report_data_free(a);
}

static void report_table__full_domain_refusals(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_AUTO);
    rp_table *t = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_table_opts o = RP_TABLE_OPTS_INIT;
    o.full_domain = true;
    o.year_min = 2012;
    o.year_max = 2018;
    static const rp_field open[] = {RP_FIELD_CITIZENSHIP, RP_FIELD_COUNTRY_OF_EXPLOITATION,
                                    RP_FIELD_AGE};
    for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
        const rp_field f[2] = {RP_FIELD_SEX, open[i]};
        assert_rp_status(rp_report_table_build(&t, d, f, 2, &o, &err), RP_EINVAL, &err);
        assert_non_null(strstr(err.msg, "differential privacy"));
        assert_non_null(strstr(err.msg, rp_table_field_name(open[i])));
        assert_null(t);
    }
    /* the year needs both bounds */
    const rp_field year[1] = {RP_FIELD_REGISTRATION_YEAR};
    o.year_max = 0;
    assert_rp_status(rp_report_table_build(&t, d, year, 1, &o, &err), RP_EINVAL, &err);
    o.year_max = 2018;
    o.year_min = 0;
    assert_rp_status(rp_report_table_build(&t, d, year, 1, &o, &err), RP_EINVAL, &err);
    assert_null(t);
    /* without the year as a dimension no bounds are needed */
    const rp_field sex[1] = {RP_FIELD_SEX};
    o.year_max = 0;
    t = build(d, sex, 1, &o);
    rp_table_free(t);
    rp_report_data_free(d);
}

/* ==== from a store ==== */

static void write_store(rp_store *st, const rp_case_record *r, size_t n)
{
    rp_store__writer *w = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    snprintf(sub.file_name, sizeof(sub.file_name), "hand.csv");
    snprintf(sub.sha256, sizeof(sub.sha256), "%064d", 0);
    assert_rp_ok(rp_store__writer_begin(&w, st, &sub, &err), &err);
    for (size_t i = 0; i < n; i++) {
        rp_case_record x = r[i];
        snprintf(x.case_id, sizeof(x.case_id), "c%zu", i);
        assert_rp_ok(rp_store__writer_add(w, &x, (long)i + 2, NULL, &err), &err);
    }
    assert_rp_ok(rp_store__writer_commit(w, NULL, &err), &err);
}

static void report_data_load__store_equals_records(void **state)
{
    (void)state;
    char dir[512], db[600];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/t.db", dir);
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, db, RP_STORE_CREATE, &err), &err);
    rp_case_record r[7];
    hand_records(r);
    write_store(st, r, 7);
    rp_report_data *d = NULL;
    assert_rp_ok(rp_report_data_load(&d, st, NULL, &err), &err);
    rp_report_data *m = hand_data(RP_REPORT_UNIT_AUTO);
    assert_int_equal(rp_report_data_count(d), 5);
    assert_int_equal(rp_report_data_unlinked(d), 1);
    const rp_field fields[][2] = {{RP_FIELD_SEX, RP_FIELD_CITIZENSHIP},
                                  {RP_FIELD_EXPLOITATION, RP_FIELD_REGISTRATION_YEAR},
                                  {RP_FIELD_LIST, RP_FIELD_SEX}};
    for (size_t k = 0; k < 3; k++) {
        rp_table *a = build(d, fields[k], 2, NULL), *b = build(m, fields[k], 2, NULL);
        assert_int_equal(a->n_cells, b->n_cells);
        for (size_t c = 0; c < a->n_cells; c++) {
            assert_true(a->count[c] == b->count[c]);
        }
        rp_table_free(a);
        rp_table_free(b);
    }
    rp_report_data_free(d);
    rp_report_data_free(m);
    rp_report_data_opts o = RP_REPORT_DATA_OPTS_INIT;
    o.unit = RP_REPORT_UNIT_RECORDS;
    assert_rp_ok(rp_report_data_load(&d, st, &o, &err), &err);
    assert_int_equal(rp_report_data_count(d), 7);
    rp_report_data_free(d);
    rp_store_close(st);
    rp_test_rmtree(dir);
}

/* ==== the CTDC global dataset against counts made here from the CSV ==== */

/*
 * A second reading of data/ctdc, independent of the mapping, the store and the tables:
 * split each line on commas (the file has no quoting) and code the columns with the
 * CTDC codebook ("" is not recorded, "Unknown" unknown, "Missing" not recorded).
 */
#define CTDC_MAX_KEYS 4096

typedef struct ctdc_key {
    char k[64];
    long n;
} ctdc_key;

typedef struct ctdc_tally {
    ctdc_key keys[CTDC_MAX_KEYS];
    size_t n;
} ctdc_tally;

static void tally(ctdc_tally *t, const char *k)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i].k, k) == 0) {
            t->keys[i].n++;
            return;
        }
    }
    assert_true(t->n < CTDC_MAX_KEYS);
    snprintf(t->keys[t->n].k, sizeof(t->keys[t->n].k), "%s", k);
    t->keys[t->n++].n = 1;
}

static long tally_get(const ctdc_tally *t, const char *k)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i].k, k) == 0) {
            return t->keys[i].n;
        }
    }
    return 0;
}

static const char *coded(const char *v)
{
    if (v[0] == '\0' || strcmp(v, "-99") == 0 || strcmp(v, "Missing") == 0) {
        return "";
    }
    if (strcmp(v, "Unknown") == 0) {
        return "unknown";
    }
    if (strcmp(v, "Female") == 0) {
        return "female";
    }
    if (strcmp(v, "Male") == 0) {
        return "male";
    }
    return v;
}

static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    f[n++] = p;
    for (; *p != '\0' && n < max; p++) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

static int col_of(char **head, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(head[i], name) == 0) {
            return (int)i;
        }
    }
    fail_msg("column %s not found", name);
    return -1;
}

/* Keys "year|sex", "sex|citizenship" and, per form, "form|sex" and "*|sex" (persons with
 * any form, CTDC's denominator). */
typedef struct ctdc_expect {
    ctdc_tally year_sex, sex_cc, form_sex;
    long rows;
} ctdc_expect;

static void ctdc_count(ctdc_expect *e, const char *path)
{
    static const struct {
        const char *col;
        const char *forms[2];
    } flags[] = {{"isForcedLabour", {"forced_labour", NULL}},
                 {"isSexualExploit", {"sexual", NULL}},
                 {"isOtherExploit", {"other", NULL}},
                 {"isSexAndLabour", {"forced_labour", "sexual"}},
                 {"isForcedMarriage", {"forced_marriage", NULL}},
                 {"isForcedMilitary", {"forced_military", NULL}},
                 {"isOrganRemoval", {"organ_removal", NULL}}};

    size_t len = 0;
    char *data = rp_test_slurp(path, &len);
    char *head[128], *f[128];
    char *save = NULL;
    char *line = strtok_r(data, "\n", &save);
    size_t nh = split(line, head, 128);
    int cy = col_of(head, nh, "yearOfRegistration"), cs = col_of(head, nh, "gender");
    int cc = col_of(head, nh, "citizenship");
    int cf[7];
    for (size_t i = 0; i < 7; i++) {
        cf[i] = col_of(head, nh, flags[i].col);
    }
    char key[160];
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        size_t n = split(line, f, 128);
        assert_int_equal(n, nh);
        e->rows++;
        const char *sex = coded(f[cs]);
        snprintf(key, sizeof(key), "%s|%s", coded(f[cy]), sex);
        tally(&e->year_sex, key);
        snprintf(key, sizeof(key), "%s|%s", sex, coded(f[cc]));
        tally(&e->sex_cc, key);
        unsigned seen = 0; /* bit per distinct form name, in flags order */
        static const char *const names[] = {"forced_labour",   "sexual",          "other",
                                            "forced_marriage", "forced_military", "organ_removal"};
        for (size_t i = 0; i < 7; i++) {
            for (size_t j = 0; j < 2 && f[cf[i]][0] == '1' && flags[i].forms[j] != NULL; j++) {
                for (unsigned b = 0; b < 6; b++) {
                    seen |= strcmp(names[b], flags[i].forms[j]) == 0 ? 1u << b : 0;
                }
            }
        }
        for (unsigned b = 0; b < 6; b++) {
            if (seen & (1u << b)) {
                snprintf(key, sizeof(key), "%s|%s", names[b], sex);
                tally(&e->form_sex, key);
            }
        }
        if (seen != 0) {
            snprintf(key, sizeof(key), "*|%s", sex);
            tally(&e->form_sex, key);
        }
    }
    free(data);
}

/* Every interior cell and margin of the 2-way table @p t against the tally: margins are
 * sums of tally entries (or the "*" entries of a multi-valued first dimension). */
static void check_against(const rp_table *t, const ctdc_tally *want, long rows)
{
    size_t n0 = t->dims[0].n_cats, n1 = t->dims[1].n_cats;
    bool multi = !rp_table_dim_additive(t, 0);
    char key[160];
    double grand = 0;
    for (size_t j = 0; j <= n1; j++) {
        double col = 0;
        for (size_t i = 0; i <= n0; i++) {
            size_t idx[2] = {i, j};
            double got = t->count[rp_table_cell(t, idx)];
            if (i < n0 && j < n1) {
                snprintf(key, sizeof(key), "%s|%s", t->dims[0].cats[i], t->dims[1].cats[j]);
                if (got != (double)tally_get(want, key)) {
                    fail_msg("cell %s: table %g, CSV %ld", key, got, tally_get(want, key));
                }
                col += got;
            } else if (i == n0 && j < n1) {
                snprintf(key, sizeof(key), "*|%s", t->dims[1].cats[j]);
                assert_true(got == (multi ? (double)tally_get(want, key) : col));
                grand += got;
            } else if (i == n0 && j == n1) {
                assert_true(got == grand);
            }
        }
    }
    /* every key of the CSV is a cell of the table */
    long sum = 0;
    for (size_t k = 0; k < want->n; k++) {
        if (want->keys[k].k[0] != '*') {
            sum += want->keys[k].n;
        }
    }
    double interior = 0;
    for (size_t c = 0; c < t->n_cells; c++) {
        size_t idx[2];
        rp_table_index(idx, t, c);
        interior += idx[0] < n0 && idx[1] < n1 ? t->count[c] : 0;
    }
    assert_true(interior == (double)sum);
    if (!multi) {
        assert_true(grand == (double)rows);
    }
}

static void report_table__ctdc_counts_match_the_csv(void **state)
{
    (void)state;
    char csv[1024], mpath[1024], dir[512], db[600];
    rp_test_source_file(csv, sizeof(csv), "data/ctdc/ctdc_global_dataset_2018_kanon.csv");
    rp_test_source_file(mpath, sizeof(mpath), "data/mappings/ctdc.json");
    ctdc_expect *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    ctdc_count(e, csv);
    assert_int_equal(e->rows, 47102);

    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/ctdc.db", dir);
    rp_store *st = NULL;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_open(&st, db, RP_STORE_CREATE, &err), &err);
    assert_rp_ok(rp_mapping_load(&m, mpath, &err), &err);
    assert_rp_ok(rp_store_import(&rep, st, csv, m, NULL, &err), &err);
    rp_mapping_free(m);
    rp_report_data *d = NULL;
    assert_rp_ok(rp_report_data_load(&d, st, NULL, &err), &err);
    assert_string_equal(rp_report_data_unit(d), "records"); /* no person ids in CTDC */
    assert_int_equal(rp_report_data_count(d), 47102);

    const rp_field ys[2] = {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX};
    rp_table *t = build(d, ys, 2, NULL);
    check_against(t, &e->year_sex, e->rows);
    rp_table_free(t);
    const rp_field sc[2] = {RP_FIELD_SEX, RP_FIELD_CITIZENSHIP};
    t = build(d, sc, 2, NULL);
    check_against(t, &e->sex_cc, e->rows);
    rp_table_free(t);
    const rp_field fs[2] = {RP_FIELD_EXPLOITATION, RP_FIELD_SEX};
    t = build(d, fs, 2, NULL);
    check_against(t, &e->form_sex, e->rows);
    rp_table_free(t);

    rp_report_data_free(d);
    rp_store_close(st);
    rp_test_rmtree(dir);
    free(e);
}

/* ==== trends ==== */

static void report_trend__doubling_by_hand(void **state)
{
    (void)state;
    /* 10, 20, 40: b = log 2 exactly; information 180 - 100^2/70 = 37.142857,
     * se = 0.164082530828473; profile ends from an independent IRLS + bisection */
    const int years[3] = {2020, 2021, 2022};
    const double y[3] = {10, 20, 40};
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit(&tr, years, y, 3, NULL, &err), &err);
    assert_close(tr->rate_ratio, 2.0, 1e-10, 0);
    assert_close(tr->slope_se, 0.164082530828473, 1e-9, 0);
    assert_close(tr->wald_lower, 1.44998227127, 1e-9, 0);
    assert_close(tr->wald_upper, 2.75865441893, 1e-9, 0);
    assert_close(tr->profile_lower, 1.46375851833, 1e-7, 0);
    assert_close(tr->profile_upper, 2.79252562925, 1e-7, 0);
    assert_close(tr->deviance, 0, 0, 1e-9);
    assert_true(isnan(tr->change[0]));
    assert_close(tr->change[1], 10, 0, 1e-12);
    assert_close(tr->change_pct[2], 100, 1e-12, 0);
    rp_trend_free(tr);

    /* a noisy series: b = 0.194475054672702 (rate ratio 1.21467318208703), se
     * 0.0804974809292, deviance 4.05057888982329 (IRLS on y ~ year as R's glm) */
    const int y5[6] = {2015, 2016, 2017, 2018, 2019, 2020};
    const double c5[6] = {12, 15, 9, 20, 25, NAN};
    assert_rp_ok(rp_trend_fit(&tr, y5, c5, 6, NULL, &err), &err);
    assert_int_equal(tr->n_fitted, 5);
    assert_close(tr->rate_ratio, 1.21467318208703, 1e-10, 0);
    assert_close(tr->slope_se, 0.0804974809292, 1e-9, 0);
    assert_close(tr->deviance, 4.05057888982329, 1e-9, 0);
    assert_close(tr->wald_lower, 1.03738475891, 1e-9, 0);
    assert_close(tr->wald_upper, 1.42226008875, 1e-9, 0);
    assert_close(tr->profile_lower, 1.03907415739, 1e-7, 0);
    assert_close(tr->profile_upper, 1.42577275817, 1e-7, 0);
    assert_true(isnan(tr->change[5]));
    assert_close(tr->df, 3, 0, 0);
    rp_trend_free(tr);

    const double zeros[3] = {0, 0, 0};
    assert_rp_status(rp_trend_fit(&tr, years, zeros, 3, NULL, &err), RP_EDOM, &err);
    const double neg[3] = {1, -1, 0};
    assert_rp_status(rp_trend_fit(&tr, years, neg, 3, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_trend_fit(&tr, years, y, 1, NULL, &err), RP_EINVAL, &err);
}

static void report_trend__from_a_table(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_RECORDS);
    const rp_field f[2] = {RP_FIELD_SEX, RP_FIELD_REGISTRATION_YEAR};
    rp_table *t = build(d, f, 2, NULL);
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_table_trend(&tr, t, 1, NULL, NULL, &err), &err);
    assert_int_equal(tr->n_years, 3); /* "" left out */
    assert_int_equal(tr->years[0], 2015);
    assert_close(tr->counts[1], 4, 0, 0);
    rp_trend_free(tr);
    assert_rp_status(rp_table_trend(&tr, t, 0, NULL, NULL, &err), RP_EINVAL, &err);
    rp_table_free(t);
    rp_report_data_free(d);
}

/* ==== MSE estimates per stratum ==== */

static void report_estimates__beside_observed_counts(void **state)
{
    (void)state;
    char path[1024];
    rp_capture_set *set = NULL;
    rp_capture_read_opts ro = RP_CAPTURE_READ_OPTS_INIT;
    rp_error err = RP_ERROR_INIT;
    rp_test_fixture(path, sizeof(path), "mse/UKdat.csv");
    assert_rp_ok(rp_capture_read_csv(&set, path, &ro, &err), &err);
    rp_report_estimates *e = NULL;
    rp_report_estimates_opts o = RP_REPORT_ESTIMATES_OPTS_INIT;
    assert_rp_ok(rp_report_estimates_of_set(&e, set, &o, &err), &err);
    rp_mse_result *res = NULL;
    assert_rp_ok(rp_mse_estimate(&res, set->total, &o.mse, &err), &err);
    assert_close(e->total.observed, 2744, 0, 0); /* UKdat: 2,744 victims observed */
    assert_close(e->total.estimate, res->estimate, 1e-12, 0);
    assert_close(e->total.lower, res->profile_lower, 1e-12, 0);
    assert_false(e->total.suppressed);
    rp_mse_result_free(res);
    rp_report_estimates_free(e);

    o.min_observed = 5000; /* above UKdat's 2,744: nothing estimated */
    assert_rp_ok(rp_report_estimates_of_set(&e, set, &o, &err), &err);
    assert_true(e->total.suppressed);
    assert_true(isnan(e->total.estimate));
    rp_report_estimates_free(e);
    rp_capture_set_free(set);
}

/* ==== writers ==== */

static char *write_mem(const rp_table *t, const rp_table_write_opts *o, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    rp_error err = RP_ERROR_INIT;
    if (json) {
        assert_rp_ok(rp_table_write_json(f, t, o, &err), &err);
    } else {
        assert_rp_ok(rp_table_write_csv(f, t, o, &err), &err);
    }
    fclose(f);
    return buf;
}

static void report_table_write__csv_and_json(void **state)
{
    (void)state;
    rp_report_data *d = hand_data(RP_REPORT_UNIT_AUTO);
    const rp_field f[2] = {RP_FIELD_SEX, RP_FIELD_CITIZENSHIP};
    rp_table *t = build(d, f, 2, NULL);
    /* pretend the female NG cell is suppressed (primary) and its row total withheld to
     * protect it (secondary): neither count may appear, nor which hidden cell is small */
    t->status[0] = RP_CELL_PRIMARY;
    t->value[0] = NAN;
    size_t female_total[2] = {0, 3};
    size_t ft = rp_table_cell(t, female_total);
    t->status[ft] = RP_CELL_SECONDARY;
    t->value[ft] = NAN;
    char *csv = write_mem(t, NULL, false);
    assert_non_null(strstr(csv, "sex,citizenship,value,status\n"));
    assert_non_null(strstr(csv, "female,NG,x,suppressed\n"));
    assert_non_null(strstr(csv, "female,Total,x,suppressed\n"));
    assert_null(strstr(csv, "primary"));
    assert_null(strstr(csv, "secondary"));
    assert_non_null(strstr(csv, "Total,Total,5,published\n"));
    free(csv);
    rp_table_write_opts o = RP_TABLE_WRITE_OPTS_INIT;
    o.layout = RP_TABLE_CSV_WIDE;
    csv = write_mem(t, &o, false);
    assert_non_null(strstr(csv, "sex,NG,RO,UA,Total\n"));
    assert_non_null(strstr(csv, "female,x,1,0,x\n"));
    assert_non_null(strstr(csv, "Total,2,2,1,5\n"));
    assert_non_null(strstr(csv, "x: suppressed"));
    free(csv);
    o = (rp_table_write_opts)RP_TABLE_WRITE_OPTS_INIT;
    o.share_dim = 0;
    char *json = write_mem(t, &o, true);
    assert_non_null(strstr(json, "\"title\": \"persons by sex and citizenship\""));
    assert_non_null(strstr(json, "\"value\": null"));
    assert_non_null(strstr(json, "\"status\": \"suppressed\""));
    assert_null(strstr(json, "primary"));
    assert_null(strstr(json, "secondary"));
    assert_non_null(strstr(json, "\"share\""));
    free(json);
    rp_table_free(t);
    rp_report_data_free(d);
}

/* ==== allocation failures ==== */

typedef struct sweep_state {
    rp_report_data *d;
    rp_table *t;
} sweep_state;

static int sweep_build(void *payload)
{
    sweep_state *s = payload;
    rp_case_record r[7];
    hand_records(r);
    int rc = rp_report_data_from_records(&s->d, r, 7, NULL, NULL);
    if (rc != RP_OK) {
        return rc;
    }
    const rp_field f[2] = {RP_FIELD_EXPLOITATION, RP_FIELD_CITIZENSHIP};
    rc = rp_report_table_build(&s->t, s->d, f, 2, NULL, NULL);
    if (rc != RP_OK) {
        rp_report_data_free(s->d);
        s->d = NULL;
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    sweep_state *s = payload;
    rp_table_free(s->t);
    rp_report_data_free(s->d);
    s->t = NULL;
    s->d = NULL;
}

static void report_table__allocation_failures_are_enomem(void **state)
{
    (void)state;
    sweep_state s = {NULL, NULL};
    rp_test_alloc_sweep(sweep_build, sweep_undo, &s, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_table__persons_by_sex_and_citizenship),
        cmocka_unit_test(report_table__multi_valued_denominator_rule),
        cmocka_unit_test(report_table__records_and_year_gaps),
        cmocka_unit_test(report_table__bad_fields_are_refused),
        cmocka_unit_test(report_table__full_domain_shape_is_data_free),
        cmocka_unit_test(report_table__full_domain_refusals),
        cmocka_unit_test(report_data_load__store_equals_records),
        cmocka_unit_test(report_table__ctdc_counts_match_the_csv),
        cmocka_unit_test(report_trend__doubling_by_hand),
        cmocka_unit_test(report_trend__from_a_table),
        cmocka_unit_test(report_estimates__beside_observed_counts),
        cmocka_unit_test(report_table_write__csv_and_json),
        cmocka_unit_test(report_table__allocation_failures_are_enomem),
    };
    return cmocka_run_group_tests_name("report_table", tests, setup, NULL);
}
