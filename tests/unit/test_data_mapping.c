/*
 * Unit tests of mapping files (src/data/mapping.c): the hand fixture of
 * tests/fixtures/mappings/ row by row, every rule a value can break, every load and bind
 * error with its JSON path, the Namibia "NA" trap, an allocation-failure sweep, and the
 * whole CTDC global dataset mapped with data/mappings/ctdc.json, its counts checked
 * against a second, independent reading of the raw columns.
 */
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <csv.h>

/* ==== helpers ==== */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Path of fixture tests/fixtures/mappings/<name>; a static buffer, valid until the next call. */
static const char *fixture(const char *name)
{
    static char path[1024];
    char rel[256];
    snprintf(rel, sizeof(rel), "mappings/%s", name);
    return rp_test_fixture(path, sizeof(path), rel);
}

/* Path of <source tree>/<rel>: $RP_SRC under CTest, else two levels above the fixtures. */
static const char *source_file(const char *rel)
{
    static char path[1024];
    const char *src = getenv("RP_SRC");
    char fx[512];
    int n = 0;
    if (src && *src) {
        n = snprintf(path, sizeof(path), "%s/%s", src, rel);
    } else {
        rp_test_fixture(fx, sizeof(fx), "..");
        n = snprintf(path, sizeof(path), "%s/../%s", fx, rel);
    }
    if (n < 0 || (size_t)n >= sizeof(path))
        fail_msg("path too long for '%s'", rel);
    return path;
}

static rp_mapping *parse_ok(const char *json)
{
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_parse(&m, json, strlen(json), "t.json", &err), &err);
    assert_non_null(m);
    return m;
}

static void bind_ok(rp_mapping *m, const char *const *cols, size_t n)
{
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_bind(m, cols, n, &err), &err);
}

/* The issue of @p l with rule @p rule at input column @p column; fails when absent. */
static const rp_issue *find_issue(const rp_issue_list *l, const char *rule, long column)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].rule, rule) == 0 && l->v[i].column == column)
            return &l->v[i];
    }
    for (size_t i = 0; i < l->n; i++)
        print_error("  issue %zu: column %ld '%s' rule %s value '%s': %s\n", i, l->v[i].column,
                    l->v[i].column_name, l->v[i].rule, l->v[i].value, l->v[i].message);
    fail_msg("no issue with rule '%s' at column %ld", rule, column);
    static rp_issue none; /* not reached: fail_msg() ends the test */
    return &none;
}

/*
 * A small CSV reader on libcsv, independent of rapporteur's readers: calls @p fn for
 * every row (the header is row 0) with NUL-terminated fields.
 */
typedef void (*row_fn)(char **fields, size_t n, long row, void *payload);

typedef struct csv_state {
    char **fields;
    size_t n, cap;
    long row;
    row_fn fn;
    void *payload;
} csv_state;

static void csv_field(void *s, size_t len, void *data)
{
    csv_state *cs = data;
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? 2 * cs->cap : 64;
        cs->fields = realloc(cs->fields, cs->cap * sizeof(*cs->fields));
        assert_non_null(cs->fields);
    }
    char *f = malloc(len + 1);
    assert_non_null(f);
    memcpy(f, s ? s : "", len);
    f[len] = '\0';
    cs->fields[cs->n++] = f;
}

static void csv_row(int c, void *data)
{
    (void)c;
    csv_state *cs = data;
    cs->fn(cs->fields, cs->n, cs->row++, cs->payload);
    for (size_t i = 0; i < cs->n; i++)
        free(cs->fields[i]);
    cs->n = 0;
}

static void csv_each_row(const char *path, row_fn fn, void *payload)
{
    size_t len = 0;
    char *data = rp_test_slurp(path, &len);
    struct csv_parser p;
    assert_int_equal(csv_init(&p, 0), 0);
    csv_state cs = {NULL, 0, 0, 0, fn, payload};
    assert_int_equal(csv_parse(&p, data, len, csv_field, csv_row, &cs), len);
    csv_fini(&p, csv_field, csv_row, &cs);
    csv_free(&p);
    free(cs.fields);
    free(data);
}

/* ==== the hand fixture, row by row ==== */

typedef struct fixture_rows {
    rp_mapping *m;
    rp_case_record rec[8];
    rp_issue_list issues[8];
    int rc[8];
    long n_rows;
} fixture_rows;

static void fixture_row(char **fields, size_t n, long row, void *payload)
{
    fixture_rows *fr = payload;
    rp_error err = RP_ERROR_INIT;
    if (row == 0) {
        bind_ok(fr->m, (const char *const *)fields, n);
        return;
    }
    assert_true(row < 8);
    fr->rc[row] = rp_mapping_apply(&fr->rec[row], &fr->issues[row], fr->m,
                                   (const char *const *)fields, n, row + 1, &err);
    fr->n_rows = row;
}

static void mapping_apply__agency_fixture_row_by_row(void **state)
{
    (void)state;
    fixture_rows fr;
    memset(&fr, 0, sizeof(fr));
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&fr.m, fixture("agency.json"), &err), &err);
    assert_string_equal(rp_mapping_name(fr.m), "police-x");
    csv_each_row(fixture("agency.csv"), fixture_row, &fr);
    assert_int_equal(fr.n_rows, 6);

    /* line 2: day-first date, recodes, Namibia "NA" kept, "NA" missing where listed */
    const rp_case_record *r = &fr.rec[1];
    assert_rp_ok(fr.rc[1], NULL);
    assert_int_equal(fr.issues[1].n, 0);
    assert_string_equal(r->list, "POLICE");
    assert_string_equal(r->case_id, "A1");
    assert_string_equal(r->registration_date, "2016-02-03");
    assert_int_equal(r->registration_year, 2016); /* derived from the date */
    assert_int_equal(r->id_status, RP_ID_STATUS_PRESUMED);
    assert_int_equal(r->sex, RP_SEX_FEMALE); /* "F" matched "f" case-insensitively */
    assert_int_equal(r->age, 17);
    assert_int_equal(r->age_band, RP_AGE_BAND_9_17); /* derived from the age */
    assert_int_equal(r->citizenship_state, RP_STATE_KNOWN);
    assert_string_equal(r->citizenship, "NA"); /* global "NA" never hides Namibia */
    assert_int_equal(r->country_of_exploitation_state, RP_STATE_MISSING); /* field lists NA */
    assert_int_equal(r->exploitation, RP_EXPL_SEXUAL | RP_EXPL_FORCED_LABOUR);
    assert_int_equal(r->exploitation_state, RP_STATE_KNOWN);
    assert_int_equal(r->means_of_control, RP_CONTROL_DEBT_BONDAGE);
    assert_int_equal(r->means_of_control_state, RP_STATE_KNOWN);

    /* line 3: "%b %Y" partial date, alpha-3 citizenship, empty flags are missing */
    r = &fr.rec[2];
    assert_rp_ok(fr.rc[2], NULL);
    assert_string_equal(r->registration_date, "2015-03");
    assert_int_equal(r->registration_year, 2015);
    assert_int_equal(r->id_status, RP_ID_STATUS_IDENTIFIED);
    assert_int_equal(r->sex, RP_SEX_MALE);
    assert_int_equal(r->age_band, RP_AGE_BAND_30_38);
    assert_string_equal(r->citizenship, "UA");
    assert_string_equal(r->country_of_exploitation, "NL");
    assert_int_equal(r->exploitation, RP_EXPL_FORCED_CRIMINALITY);
    assert_int_equal(r->means_of_control, 0);
    assert_int_equal(r->means_of_control_state, RP_STATE_MISSING);

    /* line 4: unknown and missing codes; a flag recorded as "no" makes the group known */
    r = &fr.rec[3];
    assert_rp_ok(fr.rc[3], NULL);
    assert_string_equal(r->registration_date, "");
    assert_int_equal(r->registration_year, 0);
    assert_int_equal(r->sex, RP_SEX_UNKNOWN);
    assert_int_equal(r->age, -1); /* "-99" */
    assert_int_equal(r->age_band, RP_AGE_BAND_MISSING);
    assert_int_equal(r->citizenship_state, RP_STATE_UNKNOWN); /* "?" */
    assert_string_equal(r->citizenship, "");
    assert_int_equal(r->country_of_exploitation_state, RP_STATE_UNKNOWN);
    assert_int_equal(r->exploitation_state, RP_STATE_MISSING);
    assert_int_equal(r->means_of_control, 0);
    assert_int_equal(r->means_of_control_state, RP_STATE_KNOWN);

    /* line 5: one issue per bad value, each at its column */
    const rp_issue_list *is = &fr.issues[4];
    assert_int_equal(fr.rc[4], RP_EDATA);
    assert_int_equal(is->n, 7);
    const rp_issue *x = find_issue(is, "date", 2);
    assert_int_equal(x->line, 5);
    assert_string_equal(x->column_name, "date");
    assert_string_equal(x->value, "31/02/2016");
    assert_non_null(strstr(x->message, "%d/%m/%Y or %b %Y"));
    assert_string_equal(find_issue(is, "code", 3)->value, "X");
    assert_string_equal(find_issue(is, "code", 4)->value, "x");
    assert_string_equal(find_issue(is, "range", 5)->value, "abc");
    assert_string_equal(find_issue(is, "country", 6)->value, "ZZ");
    x = find_issue(is, "code", 8);
    assert_string_equal(x->value, "bogus"); /* the bad part of "sex;bogus" */
    assert_string_equal(x->column_name, "forms");
    x = find_issue(is, "code", 9);
    assert_string_equal(x->value, "maybe");
    assert_string_equal(x->column_name, "debt");
    assert_non_null(strstr(x->message, "yes (set), no (not set)"));
    /* the values that were fine are still in the record */
    assert_int_equal(fr.rec[4].exploitation, RP_EXPL_SEXUAL);
    assert_int_equal(fr.rec[4].means_of_control, RP_CONTROL_THREATS);

    /* line 6: age out of the standard's range, found by validation, located at "age" */
    is = &fr.issues[5];
    assert_int_equal(fr.rc[5], RP_EDATA);
    assert_int_equal(is->n, 1);
    x = find_issue(is, "range", 5);
    assert_string_equal(x->column_name, "age");
    assert_string_equal(x->value, "200");
    assert_int_equal(fr.rec[5].exploitation_state, RP_STATE_UNKNOWN);

    /* line 7: too few fields: one "ragged" issue and nothing else */
    is = &fr.issues[6];
    assert_int_equal(fr.rc[6], RP_EDATA);
    assert_int_equal(is->n, 1);
    assert_string_equal(is->v[0].rule, "ragged");
    assert_int_equal(is->v[0].column, 0);
    assert_int_equal(is->v[0].line, 7);
    assert_non_null(strstr(is->v[0].message, "expected 10 fields"));
    assert_string_equal(fr.rec[6].list, "");

    for (size_t i = 0; i < 8; i++)
        rp_issue_list_release(&fr.issues[i]);
    rp_mapping_free(fr.m);
}

/* ==== rules on single values ==== */

static void mapping_apply__namibia_is_missing_only_when_listed_on_the_field(void **state)
{
    (void)state;
    static const char *const cols[] = {"nat", "coe", "forms"};
    rp_mapping *m = parse_ok("{\"name\": \"na\", \"missing\": [\"NA\"], \"list\": {\"value\": "
                             "\"L\"}, \"fields\": {\"citizenship\": {\"column\": \"nat\"},"
                             "\"country_of_exploitation\": {\"column\": \"coe\", \"missing\": "
                             "[\"NA\"]}, \"exploitation\": {\"column\": \"forms\"}}}");
    bind_ok(m, cols, 3);
    static const char *const row[] = {"NA", " NA ", "NA"};
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_apply(&rec, &issues, m, row, 3, 2, &err), &err);
    assert_string_equal(rec.citizenship, "NA");
    assert_int_equal(rec.citizenship_state, RP_STATE_KNOWN);
    assert_int_equal(rec.country_of_exploitation_state, RP_STATE_MISSING);
    /* for a field that is not a country, the global "NA" is a missing code */
    assert_int_equal(rec.exploitation_state, RP_STATE_MISSING);
    rp_issue_list_release(&issues);
    rp_mapping_free(m);
}

static void mapping_apply__recode_keys_are_case_sensitive_by_default(void **state)
{
    (void)state;
    static const char *const cols[] = {"s1", "s2"};
    rp_mapping *m = parse_ok("{\"name\": \"cs\", \"list\": {\"value\": \"L\"}, \"fields\": {"
                             "\"sex\": {\"column\": \"s1\", \"recode\": {\" F \": \"female\"}},"
                             "\"id_status\": {\"column\": \"s2\", \"recode\": {\"P\": "
                             "\"presumed\"}, \"case_insensitive\": "
                             "true}}}");
    bind_ok(m, cols, 2);
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    rp_error err = RP_ERROR_INIT;
    static const char *const ok[] = {"\tF\r", "p"};
    assert_rp_ok(rp_mapping_apply(&rec, &issues, m, ok, 2, 2, &err), &err);
    assert_int_equal(rec.sex, RP_SEX_FEMALE); /* key and value both trimmed */
    assert_int_equal(rec.id_status, RP_ID_STATUS_PRESUMED);
    static const char *const bad[] = {"f", "P"};
    assert_int_equal(rp_mapping_apply(&rec, &issues, m, bad, 2, 3, &err), RP_EDATA);
    assert_int_equal(issues.n, 1);
    assert_string_equal(issues.v[0].rule, "code");
    assert_string_equal(issues.v[0].column_name, "s1");
    assert_int_equal(issues.v[0].column, 1);
    assert_int_equal(issues.v[0].line, 3);
    /* standard codes are read whatever their case */
    static const char *const std[] = {"MALE", "Identified"};
    rp_issue_list_clear(&issues);
    assert_rp_ok(rp_mapping_apply(&rec, &issues, m, std, 2, 4, &err), &err);
    assert_int_equal(rec.sex, RP_SEX_MALE);
    assert_int_equal(rec.id_status, RP_ID_STATUS_IDENTIFIED);
    rp_issue_list_release(&issues);
    rp_mapping_free(m);
}

static void mapping_apply__ages_bands_and_years(void **state)
{
    (void)state;
    static const char *const cols[] = {"age", "band", "year", "date"};
    rp_mapping *m = parse_ok(
        "{\"name\": \"a\", \"list\": {\"value\": \"L\"}, \"unknown\": [\"u\"], \"fields\": {"
        "\"age\": {\"column\": \"age\"}, \"age_band\": {\"column\": \"band\", \"recode\": "
        "{\"adult-young\": \"18-20\"}}, \"registration_year\": {\"column\": \"year\"},"
        "\"registration_date\": {\"column\": \"date\"}}}");
    bind_ok(m, cols, 4);

    static const struct {
        const char *row[4];
        int rc;
        int age;
        rp_age_band band;
        int year;
        const char *date;
        const char *rule; /* first issue, or NULL */
        long column;
    } cases[] = {
        {{"34.0", "", "2016", "2016-05-01"},
         RP_OK,
         34,
         RP_AGE_BAND_30_38,
         2016,
         "2016-05-01",
         NULL,
         0},
        {{"", "adult-young", "", "2017-12"},
         RP_OK,
         -1,
         RP_AGE_BAND_18_20,
         2017,
         "2017-12",
         NULL,
         0},
        {{"u", "", "", ""}, RP_OK, -1, RP_AGE_BAND_UNKNOWN, 0, "", NULL, 0},
        {{"0", "", "", ""}, RP_OK, 0, RP_AGE_BAND_0_8, 0, "", NULL, 0},
        {{"19", "48+", "", ""}, RP_EDATA, 19, RP_AGE_BAND_48_PLUS, 0, "", "consistency", 2},
        {{"-3", "", "", ""}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "range", 1},
        {{"34.5", "", "", ""}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "range", 1},
        {{"", "", "2016", "2015-01-01"},
         RP_EDATA,
         -1,
         RP_AGE_BAND_MISSING,
         2016,
         "2015-01-01",
         "consistency",
         4},
        {{"", "", "1899", ""}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 1899, "", "range", 3},
        {{"", "", "0", ""}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "range", 3},
        {{"", "", "", "2016-02-30"}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "date", 4},
        {{"", "", "", "2016-2-3"}, RP_OK, -1, RP_AGE_BAND_MISSING, 2016, "2016-02-03", NULL, 0},
        {{"", "", "", "2016-02-03x"}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "date", 4},
        {{"", "", "", "2015-02-29"}, RP_EDATA, -1, RP_AGE_BAND_MISSING, 0, "", "date", 4},
        {{"", "", "", "2016-02-29"}, RP_OK, -1, RP_AGE_BAND_MISSING, 2016, "2016-02-29", NULL, 0},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        rp_case_record rec;
        rp_issue_list issues = RP_ISSUE_LIST_INIT;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mapping_apply(&rec, &issues, m, cases[i].row, 4, 9, &err);
        if (rc != cases[i].rc || rec.age != cases[i].age || rec.age_band != cases[i].band ||
            rec.registration_year != cases[i].year ||
            strcmp(rec.registration_date, cases[i].date) != 0)
            fail_msg("case %zu: rc %d age %d band %d year %d date '%s'", i, rc, rec.age,
                     (int)rec.age_band, rec.registration_year, rec.registration_date);
        if (cases[i].rule)
            find_issue(&issues, cases[i].rule, cases[i].column);
        rp_issue_list_release(&issues);
    }
    rp_mapping_free(m);
}

static void mapping_apply__flag_groups_follow_the_denominator_rule(void **state)
{
    (void)state;
    static const char *const cols[] = {"fl", "sx", "ot", "rel"};
    rp_mapping *m = parse_ok(
        "{\"name\": \"f\", \"list\": {\"value\": \"L\"}, \"missing\": [\"-99\"], \"unknown\": "
        "[\"Unknown\"], \"fields\": {\"exploitation\": {\"flags\": {\"fl\": \"forced_labour\", "
        "\"sx\": \"sexual\", \"ot\": [\"other\", \"forced_begging\"]}},"
        "\"recruiter_relation\": {\"column\": \"rel\", \"split\": \"; \", \"recode\": "
        "{\"Family/Relative\": \"family\", \"Intimate Partner\": \"intimate_partner\"}}}}");
    bind_ok(m, cols, 4);

    static const struct {
        const char *row[4];
        uint32_t bits;
        rp_state st;
        uint32_t rel;
        rp_state rel_st;
    } cases[] = {
        {{"", "", "", ""}, 0, RP_STATE_MISSING, 0, RP_STATE_MISSING},
        {{"0", "", "", "Family/Relative; Intimate Partner"},
         0,
         RP_STATE_KNOWN,
         RP_RECRUITER_FAMILY | RP_RECRUITER_INTIMATE_PARTNER,
         RP_STATE_KNOWN},
        {{"1", "1", "0", "Friend"},
         RP_EXPL_FORCED_LABOUR | RP_EXPL_SEXUAL,
         RP_STATE_KNOWN,
         RP_RECRUITER_FRIEND,
         RP_STATE_KNOWN},
        {{"-99", "Unknown", "", "-99"}, 0, RP_STATE_UNKNOWN, 0, RP_STATE_MISSING},
        {{"Unknown", "1", " 1 ", "Family/Relative; Unknown"},
         RP_EXPL_SEXUAL | RP_EXPL_OTHER | RP_EXPL_FORCED_BEGGING,
         RP_STATE_KNOWN,
         RP_RECRUITER_FAMILY | RP_RECRUITER_UNKNOWN,
         RP_STATE_KNOWN},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        rp_case_record rec;
        rp_issue_list issues = RP_ISSUE_LIST_INIT;
        rp_error err = RP_ERROR_INIT;
        assert_rp_ok(rp_mapping_apply(&rec, &issues, m, cases[i].row, 4, 2, &err), &err);
        if (rec.exploitation != cases[i].bits || rec.exploitation_state != cases[i].st ||
            rec.recruiter_relation != cases[i].rel ||
            rec.recruiter_relation_state != cases[i].rel_st)
            fail_msg("case %zu: exploitation 0x%x state %d, recruiter 0x%x state %d", i,
                     (unsigned)rec.exploitation, (int)rec.exploitation_state,
                     (unsigned)rec.recruiter_relation, (int)rec.recruiter_relation_state);
        rp_issue_list_release(&issues);
    }
    rp_mapping_free(m);
}

static void mapping_apply__issue_values_are_truncated_and_identifiers_hidden(void **state)
{
    (void)state;
    static const char *const cols[] = {"sex", "ref", "list"};
    rp_mapping *m = parse_ok("{\"name\": \"t\", \"list\": {\"column\": \"list\"}, \"fields\": {"
                             "\"sex\": {\"column\": \"sex\"}, \"case_id\": {\"column\": "
                             "\"ref\"}}}");
    bind_ok(m, cols, 3);
    /* 78 ASCII bytes then "é" (2 bytes): cutting at 79 would split the character */
    char sex[200];
    memset(sex, 'a', 78);
    snprintf(sex + 78, sizeof(sex) - 78, "\xc3\xa9 and more text after the cut");
    char ref[100];
    memset(ref, 'r', 70);
    ref[70] = '\0';
    const char *row[] = {sex, ref, "L"};
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    rp_error err = RP_ERROR_INIT;
    assert_int_equal(rp_mapping_apply(&rec, &issues, m, row, 3, 4, &err), RP_EDATA);
    assert_int_equal(issues.n, 2);
    const rp_issue *x = find_issue(&issues, "code", 1);
    assert_int_equal(strlen(x->value), 78);
    assert_memory_equal(x->value, sex, 78);
    x = find_issue(&issues, "range", 2);
    assert_string_equal(x->value, ""); /* an identifier never goes into an issue */
    assert_string_equal(x->column_name, "ref");
    /* the list is required: an empty one is reported at its column */
    const char *row2[] = {"female", "ok", ""};
    rp_issue_list_clear(&issues);
    assert_int_equal(rp_mapping_apply(&rec, &issues, m, row2, 3, 5, &err), RP_EDATA);
    x = find_issue(&issues, "required", 3);
    assert_string_equal(x->column_name, "list");
    assert_string_equal(rec.case_id, "ok");
    rp_issue_list_release(&issues);
    rp_mapping_free(m);
}

/* ==== load errors ==== */

static void mapping_parse__rejects_bad_mappings_with_their_path(void **state)
{
    (void)state;
#define HEAD "{\"name\": \"x\", \"list\": {\"value\": \"L\"}, "

    static const struct {
        const char *json;
        int rc;
        const char *msg; /* expected in err.msg */
    } cases[] = {
        {"{\"name\": \"x\",\n  oops\n}", RP_EPARSE, "invalid JSON"},
        {"{\"name\": \"a\", \"name\": \"b\"}", RP_EPARSE, "duplicate"},
        {"{} x", RP_EPARSE, "invalid JSON"},
        {"", RP_EPARSE, "invalid JSON"},
        {"[]", RP_EDATA, "(top level): expected an object"},
        {"{\"list\": {\"value\": \"L\"}, \"fields\": {}}", RP_EDATA, "name: expected"},
        {HEAD "\"fileds\": {}}", RP_EDATA, "fileds: unknown key"},
        {HEAD "\"version\": 2, \"fields\": {}}", RP_EDATA, "version: expected 1"},
        {"{\"name\": \"x\", \"fields\": {}}", RP_EDATA, "list: required"},
        {HEAD "\"fields\": []}", RP_EDATA, "fields: expected an object"},
        {HEAD "\"missing\": \"-99\", \"fields\": {}}", RP_EDATA,
         "missing: expected an array of strings"},
        {HEAD "\"unknown\": [1], \"fields\": {}}", RP_EDATA, "unknown: element 0 is not a string"},
        {HEAD "\"fields\": {\"gender\": {\"column\": \"g\"}}}", RP_EDATA,
         "fields.gender: unknown field"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"recode\": {\"Female\": \"femme\"}}}}",
         RP_EDATA, "fields.sex.recode.Female: 'femme' is not a code of 'sex'"},
        {HEAD "\"fields\": {\"sex\": {\"colum\": \"g\"}}}", RP_EDATA,
         "fields.sex.colum: unknown key"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"value\": \"male\"}}}", RP_EDATA,
         "fields.sex: needs exactly one of"},
        {HEAD "\"fields\": {\"sex\": {}}}", RP_EDATA, "fields.sex: needs exactly one of"},
        {HEAD "\"fields\": {\"sex\": \"gender\"}}", RP_EDATA, "fields.sex: expected an object"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"\"}}}", RP_EDATA,
         "fields.sex.column: expected a column name"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"case_insensitive\": \"yes\"}}}",
         RP_EDATA, "must be true or false"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"case_insensitive\": true, \"recode\": "
              "{\"F\": \"female\", \"f\": \"female\"}}}}",
         RP_EDATA, "fields.sex.recode.f: 'f' is recoded twice"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"recode\": {\" \": \"female\"}}}}",
         RP_EDATA, "cannot be recoded"},
        {HEAD "\"fields\": {\"sex\": {\"value\": \"femme\"}}}", RP_EDATA,
         "fields.sex.value: 'femme' is not a code of 'sex'"},
        {HEAD "\"fields\": {\"sex\": {\"value\": 1}}}", RP_EDATA,
         "fields.sex.value: expected a string"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"g\", \"split\": \";\"}}}", RP_EDATA,
         "fields.sex.split: only a column of a multi-valued field"},
        {HEAD "\"fields\": {\"exploitation\": {\"column\": \"g\", \"split\": \"\"}}}", RP_EDATA,
         "fields.exploitation.split: expected a non-empty separator"},
        {HEAD "\"fields\": {\"sex\": {\"flags\": {\"g\": \"male\"}}}}", RP_EDATA,
         "fields.sex.flags: only multi-valued fields"},
        {HEAD "\"fields\": {\"exploitation\": {\"flags\": {}}}}", RP_EDATA,
         "fields.exploitation.flags: expected an object"},
        {HEAD "\"fields\": {\"exploitation\": {\"flags\": {\"a\": \"unknown\"}}}}", RP_EDATA,
         "'unknown' is not a code of 'exploitation'"},
        {HEAD "\"fields\": {\"exploitation\": {\"flags\": {\"a\": [\"sexual\", \"sexy\"]}}}}",
         RP_EDATA, "fields.exploitation.flags.a: 'sexy' is not a code of 'exploitation'"},
        {HEAD "\"fields\": {\"exploitation\": {\"flags\": {\"a\": 1}}}}", RP_EDATA,
         "fields.exploitation.flags.a: expected a code or an array of codes"},
        {HEAD "\"fields\": {\"exploitation\": {\"column\": \"a\", \"true\": [\"y\"]}}}", RP_EDATA,
         "\"true\" and \"false\" go with \"flags\""},
        {HEAD "\"fields\": {\"exploitation\": {\"flags\": {\"a\": \"other\"}, \"true\": []}}}",
         RP_EDATA, "fields.exploitation.true: expected at least one value"},
        {HEAD "\"fields\": {\"registration_date\": {\"column\": \"d\", \"format\": \"%d/%m/%y\"}}}",
         RP_EDATA, "fields.registration_date.format: '%y' in '%d/%m/%y' is not supported"},
        {HEAD "\"fields\": {\"registration_date\": {\"column\": \"d\", \"format\": \"%Y\"}}}",
         RP_EDATA, "needs %Y once, one month"},
        {HEAD "\"fields\": {\"registration_date\": {\"column\": \"d\", \"format\": \"%Y-%m-%\"}}}",
         RP_EDATA, "ends with a lone '%'"},
        {HEAD "\"fields\": {\"registration_date\": {\"column\": \"d\", \"format\": []}}}", RP_EDATA,
         "expected at least one format"},
        {HEAD "\"fields\": {\"sex\": {\"column\": \"d\", \"format\": \"%Y-%m\"}}}", RP_EDATA,
         "fields.sex.format: only date fields take a format"},
        {HEAD "\"fields\": {\"age\": {\"column\": \"a\", \"recode\": {\"x\": \"3\"}}}}", RP_EDATA,
         "fields.age.recode: 'age' takes no recode"},
        {HEAD "\"fields\": {\"sex\": {\"value\": \"male\", \"recode\": {\"x\": \"male\"}}}}",
         RP_EDATA, "\"recode\" needs a \"column\""},
        {HEAD
         "\"fields\": {\"citizenship\": {\"column\": \"c\", \"recode\": {\"X\": \"Narnia\"}}}}",
         RP_EDATA, "fields.citizenship.recode.X: 'Narnia' is not an ISO 3166-1 country code"},
        {HEAD "\"fields\": {\"list\": {\"value\": \"M\"}}}", RP_EDATA,
         "fields.list: field is given twice"},
        {HEAD "\"fields\": {\"case_id\": {\"column\": \"c\", \"recode\": {\"x\": "
              "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}}}",
         RP_EDATA, "fields.case_id.recode.x: '0123"},
        {"{\"name\": \"x\", \"list\": {\"value\": \"M\", \"split\": \",\"}, \"fields\": {}}",
         RP_EDATA, "list.split: only a column"},
    };

#undef HEAD
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        rp_mapping *m = (rp_mapping *)&m; /* must be reset to NULL */
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mapping_parse(&m, cases[i].json, strlen(cases[i].json), "bad.json", &err);
        if (rc != cases[i].rc || m != NULL || strstr(err.msg, cases[i].msg) == NULL ||
            strcmp(err.path, "bad.json") != 0)
            fail_msg("case %zu: rc %d, path '%s', message '%s'; expected %d and '%s'", i, rc,
                     err.path, err.msg, cases[i].rc, cases[i].msg);
    }
}

static void mapping_parse__syntax_errors_have_line_and_column(void **state)
{
    (void)state;
    const char *json = "{\n  \"name\": \"x\",\n  oops\n}";
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mapping_parse(&m, json, strlen(json), "m.json", &err), RP_EPARSE, &err);
    assert_null(m);
    assert_string_equal(err.path, "m.json");
    assert_int_equal(err.line, 3);
    assert_true(err.column >= 3 && err.column <= 6);
    char buf[600];
    assert_non_null(strstr(rp_error_format(&err, buf, sizeof(buf)), "m.json:3:"));
    /* a duplicate key is a syntax error too, with its line */
    json = "{\"name\": \"x\",\n \"list\": {\"value\": \"L\"},\n \"list\": {\"value\": \"M\"}, "
           "\"fields\": {}}";
    assert_rp_status(rp_mapping_parse(&m, json, strlen(json), "m.json", &err), RP_EPARSE, &err);
    assert_int_equal(err.line, 3);
    /* bad arguments */
    assert_rp_status(rp_mapping_parse(NULL, json, 1, "m.json", &err), RP_EINVAL, &err);
    assert_rp_status(rp_mapping_parse(&m, NULL, 1, "m.json", &err), RP_EINVAL, &err);
    /* the error path is "mapping" when no name is given */
    assert_rp_status(rp_mapping_parse(&m, "[]", 2, NULL, &err), RP_EDATA, &err);
    assert_string_equal(err.path, "mapping");
}

static void mapping_load__reads_files_and_reports_io_errors(void **state)
{
    (void)state;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_mapping_load(&m, fixture("no-such-file.json"), &err), RP_EIO, &err);
    assert_null(m);
    assert_rp_status(rp_mapping_load(&m, NULL, &err), RP_EINVAL, &err);
    assert_rp_ok(rp_mapping_load(&m, fixture("minimal.json"), &err), &err);
    assert_string_equal(rp_mapping_name(m), "minimal");
    rp_mapping_free(m);
    assert_rp_ok(rp_mapping_load(&m, source_file("data/mappings/ctdc.json"), &err), &err);
    assert_string_equal(rp_mapping_name(m), "ctdc");
    rp_mapping_free(m);
    rp_mapping_free(NULL);
    assert_null(rp_mapping_name(NULL));
}

/* ==== bind errors ==== */

static void mapping_bind__names_the_missing_column(void **state)
{
    (void)state;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&m, fixture("agency.json"), &err), &err);
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    static const char *const row[] = {"x"};
    /* apply before bind */
    assert_rp_status(rp_mapping_apply(&rec, &issues, m, row, 1, 2, &err), RP_EINVAL, &err);
    static const char *const cols[] = {"ref", "date",  "status", "sex",   "age",
                                       "nat", "forms", "debt",   "threat"};
    assert_rp_status(rp_mapping_bind(m, cols, ARRAY_LEN(cols), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "column 'country' (field 'country_of_exploitation') is not in "
                                    "the input header"));
    assert_non_null(strstr(err.msg, "police-x"));
    static const char *const flagless[] = {"ref", "date",  "status", "sex",     "age",
                                           "nat", "forms", "debt",   "country", "THREAT"};
    assert_rp_status(rp_mapping_bind(m, flagless, ARRAY_LEN(flagless), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "column 'threat' (field 'means_of_control')"));
    static const char *const twice[] = {"ref", "date",  "status", "sex",     "age",   "nat",
                                        "nat", "forms", "debt",   "country", "threat"};
    assert_rp_status(rp_mapping_bind(m, twice, ARRAY_LEN(twice), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "column 'nat' (field 'citizenship') appears twice"));
    assert_non_null(strstr(err.msg, "columns 6 and 7"));
    /* a failed bind leaves the mapping unbound */
    assert_rp_status(rp_mapping_apply(&rec, &issues, m, row, 1, 2, &err), RP_EINVAL, &err);
    /* order does not matter, names are trimmed, extra columns are ignored */
    static const char *const good[] = {"extra", " threat", "debt",   "forms", "country", "nat",
                                       "age",   "sex",     "status", "date",  "ref "};
    assert_rp_ok(rp_mapping_bind(m, good, ARRAY_LEN(good), &err), &err);
    static const char *const vals[] = {"?",  "yes", "",  "labour",   "FR", "FRA",
                                       "40", "M",   "I", "5/6/2017", "Z9"};
    assert_rp_ok(rp_mapping_apply(&rec, &issues, m, vals, ARRAY_LEN(vals), 2, &err), &err);
    assert_string_equal(rec.case_id, "Z9");
    assert_string_equal(rec.citizenship, "FR");
    assert_string_equal(rec.registration_date, "2017-06-05");
    assert_int_equal(rec.means_of_control, RP_CONTROL_THREATS);
    rp_issue_list_release(&issues);
    rp_mapping_free(m);
}

/* ==== allocation failures ==== */

typedef struct sweep_state {
    const char *json;
    size_t len;
    rp_mapping *m;
} sweep_state;

static int sweep_run(void *payload)
{
    sweep_state *s = payload;
    return rp_mapping_parse(&s->m, s->json, s->len, "sweep.json", NULL);
}

static void sweep_undo(void *payload)
{
    sweep_state *s = payload;
    rp_mapping_free(s->m);
    s->m = NULL;
}

static void mapping_parse__alloc_failure_sweep(void **state)
{
    (void)state;
    static const char *const files[] = {"agency.json", "minimal.json", "agency_ident.json"};
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        sweep_state s = {NULL, 0, NULL};
        char *json = rp_test_slurp(fixture(files[i]), &s.len);
        s.json = json;
        unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &s, 100000);
        assert_true(n > 0);
        free(json);
    }
    sweep_state s = {NULL, 0, NULL};
    char *json = rp_test_slurp(source_file("data/mappings/ctdc.json"), &s.len);
    s.json = json;
    assert_true(rp_test_alloc_sweep(sweep_run, sweep_undo, &s, 100000) > 100);
    free(json);
}

static void mapping_apply__alloc_failure_sweep(void **state)
{
    (void)state;
    /* an issue list that must grow: rp_mapping_apply() reports RP_ENOMEM, nothing leaks */
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&m, fixture("agency.json"), &err), &err);
    static const char *const cols[] = {"ref", "date",    "status", "sex",  "age",
                                       "nat", "country", "forms",  "debt", "threat"};
    bind_ok(m, cols, ARRAY_LEN(cols));
    static const char *const row[] = {"A4", "31/02/2016", "X",         "x",     "abc",
                                      "ZZ", "DE",         "sex;bogus", "maybe", "yes"};
    long baseline = rp_alloc_live();
    for (unsigned long n = 1;; n++) {
        rp_case_record rec;
        rp_issue_list issues = RP_ISSUE_LIST_INIT;
        rp_alloc_fail_after(n);
        int rc = rp_mapping_apply(&rec, &issues, m, row, ARRAY_LEN(row), 5, &err);
        rp_alloc_fail_after(0);
        rp_issue_list_release(&issues);
        assert_int_equal(rp_alloc_live(), baseline);
        if (rc == RP_EDATA)
            break;
        assert_rp_status(rc, RP_ENOMEM, &err);
        assert_true(n < 100);
    }
    rp_mapping_free(m);
}

/* ==== personal identifiers (agency side) ==== */

/* What rp_mapping_ident_read() gives for one identifier of one row: a value or RP_EDATA. */
typedef struct ident_want {
    const char *value; /* NULL: RP_EDATA expected */
} ident_want;

typedef struct ident_rows {
    rp_mapping *m;
    rp_mapping *plain; /* the same fields without "identifiers" */
    long n_rows;
} ident_rows;

/* agency_ident.csv, identifier by identifier (rp_ident order); full_name is not mapped */
static const ident_want ident_expected[7][RP_IDENT_COUNT] = {
    {{""}, {""}, {""}, {""}, {""}, {""}}, /* the header */
    {{"Alisa"}, {"Testova"}, {"Ivanovna"}, {""}, {"1990-02-03"}, {"XA1234567"}},
    /* trimmed; the entry's own missing "-"; a year-month birth date; empty document */
    {{"Boris"}, {"Primerov"}, {""}, {""}, {"1985-05"}, {""}},
    {{"Chen"}, {"Example"}, {""}, {""}, {"1979"}, {"P0000003"}},
    /* global missing "n/a" and "-99"; 31 April does not exist */
    {{"Dana"}, {"Fictive"}, {""}, {""}, {NULL}, {""}},
    /* the global unknown "Unknown" means empty too; 2000 is a leap year */
    {{""}, {"Sample"}, {""}, {""}, {"2000-02-29"}, {"ZZ0000005"}},
    /* 1900 is not a leap year (divisible by 100, not by 400) */
    {{"Eve"}, {"Leapday"}, {""}, {""}, {NULL}, {""}},
};

static void ident_row(char **fields, size_t n, long row, void *payload)
{
    ident_rows *ir = payload;
    rp_error err = RP_ERROR_INIT;
    const char *const *f = (const char *const *)fields;
    if (row == 0) {
        bind_ok(ir->m, f, n);
        bind_ok(ir->plain, f, n); /* the identifier columns are extra columns to it */
        return;
    }
    assert_true(row < 7);
    ir->n_rows = row;
    for (int id = 0; id < RP_IDENT_COUNT; id++) {
        char out[64];
        const char *want = ident_expected[row][id].value;
        int rc = rp_mapping_ident_read(ir->m, (rp_ident)id, f, n, out, sizeof(out), &err);
        if (id == RP_IDENT_ADDRESS) { /* not mapped by this fixture: always empty */
            assert_rp_ok(rc, &err);
            assert_string_equal(out, "");
            continue;
        }
        if (want && (rc != RP_OK || strcmp(out, want) != 0))
            fail_msg("row %ld, %s: rc %d '%s', expected '%s' (%s)", row,
                     rp_ident_name((rp_ident)id), rc, out, want, err.msg);
        if (!want) {
            assert_rp_status(rc, RP_EDATA, &err);
            assert_string_equal(out, "");
            assert_int_equal(err.column, 5);
            assert_non_null(strstr(err.msg, "column 'dob' (identifier 'birth_date')"));
            assert_null(strstr(err.msg, fields[4])); /* never the value */
        }
    }
    /* the record is the one the same mapping without identifiers makes */
    rp_case_record a, b;
    rp_issue_list ia = RP_ISSUE_LIST_INIT, ib = RP_ISSUE_LIST_INIT;
    assert_rp_ok(rp_mapping_apply(&a, &ia, ir->m, f, n, row + 1, &err), &err);
    assert_rp_ok(rp_mapping_apply(&b, &ib, ir->plain, f, n, row + 1, &err), &err);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(ia.n, 0);
    assert_int_equal(ib.n, 0);
    rp_issue_list_release(&ia);
    rp_issue_list_release(&ib);
}

/* The fields of agency_ident.json, as a mapping without identifiers. */
static const char agency_ident_plain[] =
    "{\"name\": \"shelter-y\", \"missing\": [\"-99\", \"n/a\"], \"unknown\": [\"Unknown\"], "
    "\"list\": {\"value\": \"SHELTER\"}, \"fields\": {\"case_id\": {\"column\": \"ref\"}, "
    "\"registration_date\": {\"column\": \"date\", \"format\": \"%d.%m.%Y\"}, "
    "\"sex\": {\"column\": \"sex\", \"recode\": {\"F\": \"female\", \"M\": \"male\"}}, "
    "\"citizenship\": {\"column\": \"nat\"}}}";

static void mapping_ident__reads_every_identifier(void **state)
{
    (void)state;
    ident_rows ir = {NULL, NULL, 0};
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&ir.m, fixture("agency_ident.json"), &err), &err);
    ir.plain = parse_ok(agency_ident_plain);

    static const char *const names[RP_IDENT_COUNT] = {
        "given_name", "family_name",     "patronymic", "full_name",
        "birth_date", "document_number", "address"};
    static const char *const columns[RP_IDENT_COUNT] = {
        "first_name", "surname", "middle_name", NULL, "dob", "passport_no", NULL};
    for (int id = 0; id < RP_IDENT_COUNT; id++) {
        assert_string_equal(rp_ident_name((rp_ident)id), names[id]);
        const char *c = rp_mapping_ident_column(ir.m, (rp_ident)id);
        if (columns[id])
            assert_string_equal(c, columns[id]);
        else
            assert_null(c);
        assert_null(rp_mapping_ident_column(ir.plain, (rp_ident)id));
    }
    assert_null(rp_ident_name(RP_IDENT_COUNT));
    assert_null(rp_mapping_ident_column(ir.m, RP_IDENT_COUNT));
    assert_null(rp_mapping_ident_column(NULL, RP_IDENT_GIVEN_NAME));
    assert_false(rp_mapping_full_name_family_first(ir.m));
    assert_false(rp_mapping_full_name_family_first(NULL));

    csv_each_row(fixture("agency_ident.csv"), ident_row, &ir);
    assert_int_equal(ir.n_rows, 6);
    rp_mapping_free(ir.m);
    rp_mapping_free(ir.plain);
}

static void mapping_ident__full_name_and_its_order(void **state)
{
    (void)state;
    static const char *const cols[] = {"name", "mid", "ref"};
    static const char *const row[] = {"  Testova  Alisa\t", " Ivanovna ", "R1"};

    static const struct {
        const char *order; /* NULL: no "order" */
        bool family_first;
    } cases[] = {{NULL, false}, {"\"given_first\"", false}, {"\"family_first\"", true}};

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char json[512];
        snprintf(
            json, sizeof(json),
            "{\"name\": \"f\", \"list\": {\"value\": \"L\"}, \"fields\": {\"case_id\": "
            "{\"column\": \"ref\"}}, \"identifiers\": {\"full_name\": {\"column\": \"name\"%s%s, "
            "\"comment\": \"one column\"}, \"patronymic\": {\"column\": \"mid\"}}}",
            cases[i].order ? ", \"order\": " : "", cases[i].order ? cases[i].order : "");
        rp_mapping *m = parse_ok(json);
        assert_int_equal(rp_mapping_full_name_family_first(m), cases[i].family_first);
        assert_string_equal(rp_mapping_ident_column(m, RP_IDENT_FULL_NAME), "name");
        assert_null(rp_mapping_ident_column(m, RP_IDENT_GIVEN_NAME));
        bind_ok(m, cols, ARRAY_LEN(cols));
        char out[32];
        rp_error err = RP_ERROR_INIT;
        /* trimmed at both ends only: splitting the name is the encoding step's job */
        assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_FULL_NAME, row, 3, out, sizeof(out), &err),
                     &err);
        assert_string_equal(out, "Testova  Alisa");
        assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_PATRONYMIC, row, 3, out, sizeof(out), &err),
                     &err);
        assert_string_equal(out, "Ivanovna");
        out[0] = 'x';
        out[1] = '\0';
        assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 3, out, sizeof(out), &err),
                     &err);
        assert_string_equal(out, ""); /* not mapped */
        rp_mapping_free(m);
    }
}

static void mapping_ident__birth_date_formats(void **state)
{
    (void)state;

    static const struct {
        const char *formats; /* JSON array body; NULL: the default formats */
        const char *in;
        const char *out; /* NULL: RP_EDATA */
    } cases[] = {
        /* default: ISO 8601, full, year-month or year */
        {NULL, "1990-02-03", "1990-02-03"},
        {NULL, " 1990-2-3 ", "1990-02-03"},
        {NULL, "1990-02", "1990-02"},
        {NULL, "1990", "1990"},
        {NULL, "1900-01-01", "1900-01-01"},
        {NULL, "2100-12-31", "2100-12-31"},
        {NULL, "1899-12-31", NULL}, /* years 1900..2100 */
        {NULL, "2101", NULL},
        {NULL, "1990-13", NULL},
        {NULL, "1990-02-30", NULL},
        {NULL, "03.02.1990", NULL},
        {NULL, "85", NULL},
        {NULL, "1990-02-03T00:00", NULL},
        /* day-first, with the calendar checked */
        {"\"%d.%m.%Y\"", "03.02.1990", "1990-02-03"},
        {"\"%d.%m.%Y\"", "30.04.1990", "1990-04-30"},
        {"\"%d.%m.%Y\"", "31.04.1990", NULL},
        {"\"%d.%m.%Y\"", "29.02.2000", "2000-02-29"},
        {"\"%d.%m.%Y\"", "29.02.1996", "1996-02-29"},
        {"\"%d.%m.%Y\"", "29.02.1900", NULL},
        {"\"%d.%m.%Y\"", "29.02.1997", NULL},
        {"\"%d.%m.%Y\"", "00.01.1990", NULL},
        {"\"%d.%m.%Y\"", "1990", NULL}, /* only the formats given */
        /* partial formats, tried in order */
        {"\"%d.%m.%Y\", \"%m.%Y\", \"%Y\"", "5.1985", "1985-05"},
        {"\"%d.%m.%Y\", \"%m.%Y\", \"%Y\"", "1985", "1985"},
        {"\"%d.%m.%Y\", \"%m.%Y\", \"%Y\"", "1.5.1985", "1985-05-01"},
        {"\"%d.%m.%Y\", \"%m.%Y\", \"%Y\"", "13.1985", NULL},
        {"\"%Y\"", "1990-05", NULL},
        {"\"%Y\"", "1990", "1990"},
        {"\"%b %Y\"", "Mar 1985", "1985-03"},
        {"\"%b %Y\"", "march 1985", "1985-03"},
        {"\"%d %b %Y\"", "3 February 1990", "1990-02-03"},
        {"\"%Y%m%d\"", "19900203", "1990-02-03"},
        {"\"%m/%Y\"", "12/1990", "1990-12"},
        {"\"born %Y\"", "born 1990", "1990"},
        {"\"%Y (%%)\"", "1990 (%)", "1990"},
    };

    static const char *const cols[] = {"dob"};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"name\": \"b\", \"list\": {\"value\": \"L\"}, \"fields\": {}, "
                 "\"identifiers\": {\"birth_date\": {\"column\": \"dob\"%s%s%s}}}",
                 cases[i].formats ? ", \"format\": [" : "",
                 cases[i].formats ? cases[i].formats : "", cases[i].formats ? "]" : "");
        rp_mapping *m = parse_ok(json);
        bind_ok(m, cols, 1);
        const char *row[] = {cases[i].in};
        char out[16];
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, 1, out, sizeof(out), &err);
        bool ok = cases[i].out
                      ? rc == RP_OK && strcmp(out, cases[i].out) == 0
                      : rc == RP_EDATA && out[0] == '\0' && err.code == RP_EDATA &&
                            strstr(err.msg, "column 'dob'") && !strstr(err.msg, cases[i].in);
        if (!ok)
            fail_msg("case %zu ('%s'): rc %d, out '%s', message '%s'; expected '%s'", i,
                     cases[i].in, rc, out, err.msg, cases[i].out ? cases[i].out : "RP_EDATA");
        rp_mapping_free(m);
    }
    /* registration dates keep their rule: a month is required */
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    const char *json = "{\"name\": \"r\", \"list\": {\"value\": \"L\"}, \"fields\": "
                       "{\"registration_date\": {\"column\": \"d\", \"format\": \"%Y\"}}}";
    assert_rp_status(rp_mapping_parse(&m, json, strlen(json), "r.json", &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "fields.registration_date.format: '%Y' needs %Y once, one "
                                    "month"));
}

static void mapping_ident__read_errors(void **state)
{
    (void)state;
    rp_mapping *m = parse_ok("{\"name\": \"e\", \"list\": {\"value\": \"L\"}, \"fields\": {}, "
                             "\"identifiers\": {\"given_name\": {\"column\": \"g\"}, "
                             "\"birth_date\": {\"column\": \"b\"}}}");
    static const char *const cols[] = {"g", "b"};
    static const char *const row[] = {"Alisa", "1990-02-03"};
    char out[16] = "x";
    rp_error err = RP_ERROR_INIT;
    /* before bind */
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 2, out, sizeof(out), &err),
                     RP_EINVAL, &err);
    assert_string_equal(out, "");
    assert_non_null(strstr(err.msg, "not bound"));
    bind_ok(m, cols, 2);
    /* bad arguments */
    assert_rp_status(rp_mapping_ident_read(NULL, RP_IDENT_GIVEN_NAME, row, 2, out, 16, &err),
                     RP_EINVAL, &err);
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, NULL, 2, out, 16, &err),
                     RP_EINVAL, &err);
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 2, NULL, 16, &err),
                     RP_EINVAL, &err);
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 2, out, 0, &err), RP_EINVAL,
                     &err);
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_COUNT, row, 2, out, 16, &err), RP_EINVAL,
                     &err);
    /* a ragged row */
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 1, out, 16, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "expected 2 fields as in the header, found 1"));
    /* the buffer: "Alisa" needs 6 bytes, a full birth date 11 */
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 2, out, 5, &err), RP_EINVAL,
                     &err);
    assert_string_equal(out, "");
    assert_non_null(strstr(err.msg, "column 'g' (identifier 'given_name')"));
    assert_null(strstr(err.msg, "Alisa"));
    assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, 2, out, 6, &err), &err);
    assert_string_equal(out, "Alisa");
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, 2, out, 10, &err),
                     RP_EINVAL, &err);
    assert_string_equal(out, "");
    assert_null(strstr(err.msg, "1990"));
    assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, 2, out, 11, &err), &err);
    assert_string_equal(out, "1990-02-03");
    /* an identifier the mapping does not name reads as "" */
    assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_DOCUMENT_NUMBER, row, 2, out, 1, &err), &err);
    assert_string_equal(out, "");
    rp_mapping_free(m);
}

/* "columns": the values of several columns, each trimmed and missing ones left out,
   joined in order with one space; bind resolves every column. */
static void mapping_ident__joins_columns(void **state)
{
    (void)state;
    rp_mapping *m = parse_ok(
        "{\"name\": \"j\", \"list\": {\"value\": \"L\"}, \"fields\": {}, \"missing\": [\"-\"], "
        "\"identifiers\": {\"given_name\": {\"columns\": [\"g1\", \"g2\"]}, "
        "\"address\": {\"columns\": [\"no\", \" street \", \"town\", \"pc\"], \"missing\": "
        "[\"n/a\"]}, \"document_number\": {\"column\": \"doc\"}}}");
    const char *const *names = NULL;
    assert_int_equal(rp_mapping_ident_columns(m, RP_IDENT_ADDRESS, &names), 4);
    assert_string_equal(names[0], "no");
    assert_string_equal(names[1], "street");
    assert_string_equal(names[3], "pc");
    assert_string_equal(rp_mapping_ident_column(m, RP_IDENT_ADDRESS), "no");
    assert_int_equal(rp_mapping_ident_columns(m, RP_IDENT_DOCUMENT_NUMBER, NULL), 1);
    assert_int_equal(rp_mapping_ident_columns(m, RP_IDENT_FAMILY_NAME, &names), 0);
    assert_null(names);
    assert_int_equal(rp_mapping_ident_columns(NULL, RP_IDENT_ADDRESS, &names), 0);
    assert_int_equal(rp_mapping_ident_columns(m, RP_IDENT_COUNT, &names), 0);

    rp_error err = RP_ERROR_INIT;
    static const char *const no_town[] = {"pc", "street", "no", "g1", "g2", "doc"};
    assert_rp_status(rp_mapping_bind(m, no_town, ARRAY_LEN(no_town), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "column 'town' (identifier 'address') is not in the input"));
    static const char *const cols[] = {"pc", "town", "street", "no", "g2", "g1", "doc"};
    bind_ok(m, cols, ARRAY_LEN(cols));

    static const struct {
        const char *row[7];
        const char *given, *address;
    } cases[] = {
        {{"4223", "winston hills", " stanley street ", "8", "Maria", "Anna", "X1"},
         "Anna Maria",
         "8 stanley street winston hills 4223"},
        /* missing parts (empty, the entry's and the global codes) are left out */
        {{"", "n/a", "stanley street", "-", "", "Anna", ""}, "Anna", "stanley street"},
        {{" ", "", "", "", "-", "", ""}, "", ""},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[64];
        assert_rp_ok(
            rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, cases[i].row, 7, out, sizeof(out), &err),
            &err);
        assert_string_equal(out, cases[i].given);
        assert_rp_ok(
            rp_mapping_ident_read(m, RP_IDENT_ADDRESS, cases[i].row, 7, out, sizeof(out), &err),
            &err);
        assert_string_equal(out, cases[i].address);
    }
    /* the joined value must fit: "8 stanley street winston hills 4223" is 35 bytes + NUL */
    char small[36];
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_ADDRESS, cases[0].row, 7, small, 35, &err),
                     RP_EINVAL, &err);
    assert_string_equal(small, "");
    assert_non_null(strstr(err.msg, "columns 'no', 'street', 'town' and 'pc' (joined) (identifier "
                                    "'address'): the value does not fit in 35 bytes"));
    assert_null(strstr(err.msg, "stanley"));
    assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_ADDRESS, cases[0].row, 7, small, 36, &err),
                 &err);
    assert_string_equal(small, "8 stanley street winston hills 4223");
    rp_mapping_free(m);
}

/* rp_mapping_ident_read_partial(): a birth date no format reads in full, but with the shape
   of a format and a year in range, keeps its leading parts in range, with a warning that
   names the column and never the value; a value of no format's shape (a wrong "format" in
   the mapping, more likely than a damaged date) or with a year out of range is an error. */
static void mapping_ident__keeps_the_valid_parts_of_a_birth_date(void **state)
{
    (void)state;
    rp_mapping *m = parse_ok("{\"name\": \"p\", \"list\": {\"value\": \"L\"}, \"fields\": {}, "
                             "\"identifiers\": {\"given_name\": {\"column\": \"g\"}, "
                             "\"birth_date\": {\"column\": \"b\", \"format\": [\"%Y%m%d\", "
                             "\"%d.%m.%Y\", \"%m/%Y\"]}}}");
    static const char *const cols[] = {"g", "b"};
    bind_ok(m, cols, 2);

    static const struct {
        const char *in;
        const char *want;    /* what is kept */
        const char *message; /* "" for no warning, NULL for an error, else in the warning */
    } cases[] = {
        {"19900403", "1990-04-03", ""},
        {"19900431", "1990-04", "kept the year and month only"}, /* 31 April */
        {"19000229", "1900-02", "kept the year and month only"}, /* not a leap year */
        {"19930229", "1993-02", "kept the year and month only"},
        {"19901305", "1990", "kept the year only"},
        {"19900013", "1990", "kept the year only"},
        {"31.04.1990", "1990-04", "kept the year and month only"},
        {"5.13.1990", "1990", "kept the year only"},
        {"13/1990", "1990", "kept the year only"},
        {"19900400", "1990-04", "kept the year and month only"}, /* day 00 */
        {"00.00.1990", "1990", "kept the year only"},
        /* errors: "" kept and no warning */
        {"18990101", "", NULL}, /* year out of 1900..2100 */
        {"21011301", "", NULL},
        {"00000101", "", NULL},
        {"unknown", "", NULL}, /* no format's shape */
        {"1990-04-03", "", NULL},
        {"199004031", "", NULL},
        {"1990/04/03", "", NULL},
        {"31.04.90", "", NULL},
        {"", "", ""}, /* missing: no warning, no error */
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *row[] = {"Alisa", cases[i].in};
        char out[11] = "x";
        rp_issue w;
        memset(&w, 'z', sizeof(w));
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mapping_ident_read_partial(m, RP_IDENT_BIRTH_DATE, row, 2, out, sizeof(out), &w,
                                               &err);
        if (cases[i].message == NULL) {
            if (rc != RP_EDATA || out[0] != '\0' || w.rule[0] != '\0' ||
                strstr(err.msg, "column 'b' (identifier 'birth_date'): expected a calendar date "
                                "as %Y%m%d or %d.%m.%Y or %m/%Y") == NULL ||
                strstr(err.msg, cases[i].in) != NULL || err.column != 2)
                fail_msg("case %zu '%s': rc %d, '%s', rule '%s' (%s); expected RP_EDATA", i,
                         cases[i].in, rc, out, w.rule, err.msg);
            continue;
        }
        if (rc != RP_OK || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu '%s': rc %d, '%s'; expected '%s' (%s)", i, cases[i].in, rc, out,
                     cases[i].want, err.msg);
        if (cases[i].message[0] == '\0') {
            if (w.rule[0] != '\0')
                fail_msg("case %zu: unexpected warning '%s'", i, w.message);
            continue;
        }
        if (strcmp(w.rule, "date") != 0 || w.column != 2 || strcmp(w.column_name, "b") != 0 ||
            w.line != 0 || w.value[0] != '\0' || strstr(w.message, cases[i].message) == NULL ||
            strstr(w.message, "expected a birth date as %Y%m%d or %d.%m.%Y or %m/%Y with a year "
                              "in 1900..2100") == NULL)
            fail_msg("case %zu: warning rule '%s' column %ld '%s' message '%s'", i, w.rule,
                     w.column, w.column_name, w.message);
        /* the date is personal data: no part of it in the warning */
        if (strlen(cases[i].in) > 2 && strstr(w.message, cases[i].in) != NULL)
            fail_msg("case %zu: the value is in the warning", i);
        /* rp_mapping_ident_read() still refuses it */
        rc = rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, 2, out, sizeof(out), &err);
        if (rc != RP_EDATA || out[0] != '\0')
            fail_msg("case %zu: strict read gave %d '%s'", i, rc, out);
    }
    /* other identifiers read as ever, with no warning */
    const char *row[] = {" Alisa ", "19901305"};
    char out[11];
    rp_issue w;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(
        rp_mapping_ident_read_partial(m, RP_IDENT_GIVEN_NAME, row, 2, out, sizeof(out), &w, &err),
        &err);
    assert_string_equal(out, "Alisa");
    assert_string_equal(w.rule, "");
    /* argument errors */
    assert_rp_status(
        rp_mapping_ident_read_partial(m, RP_IDENT_BIRTH_DATE, row, 2, out, sizeof(out), NULL, &err),
        RP_EINVAL, &err);
    assert_string_equal(out, "");
    assert_rp_status(
        rp_mapping_ident_read_partial(m, RP_IDENT_BIRTH_DATE, row, 1, out, sizeof(out), &w, &err),
        RP_EDATA, &err);
    /* a kept part must fit: "1990" needs 5 bytes */
    assert_rp_status(
        rp_mapping_ident_read_partial(m, RP_IDENT_BIRTH_DATE, row, 2, out, 4, &w, &err), RP_EINVAL,
        &err);
    assert_string_equal(out, "");
    rp_mapping_free(m);
}

/* rp_mapping_ident_read_partial(): an address that does not fit is cut at a word boundary
   (or a whole UTF-8 character), with a warning that names its columns; a name that does
   not fit is an error that names every column, never the value. */
static void mapping_ident__cuts_a_long_address_at_a_word(void **state)
{
    (void)state;
    rp_mapping *m = parse_ok("{\"name\": \"c\", \"list\": {\"value\": \"L\"}, \"fields\": {}, "
                             "\"identifiers\": {\"given_name\": {\"columns\": [\"g1\", \"g2\"]}, "
                             "\"address\": {\"columns\": [\"a1\", \"a2\"]}}}");
    static const char *const cols[] = {"g1", "g2", "x", "a1", "a2"};
    bind_ok(m, cols, ARRAY_LEN(cols));

    /* out has 16 bytes: 15 of text */
    static const struct {
        const char *a1, *a2;
        const char *want;
        bool cut;
    } cases[] = {
        {"Main St", "Town", "Main St Town", false},
        {"12 Main Street", "Springfield", "12 Main Street", true}, /* cut between columns */
        {"ab cdefghijklmnopq", "", "ab", true},                    /* inside a word */
        {"ab cdefghijklm q", "", "ab cdefghijklm", true},          /* a space after the cut */
        {"abcdefghijklmno", "xyz", "abcdefghijklmno", true},       /* full at a column end */
        {"Springfieldtownship", "", "Springfieldtown", true},      /* one word: 15 bytes */
        {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "",
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", true}, /* whole letters */
        {"abcdefghijklmn", "opq", "abcdefghijklmn", true}, /* room for the space only */
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *row[] = {"Anna", "", "", cases[i].a1, cases[i].a2};
        char out[16];
        memset(out, 1, sizeof(out));
        rp_issue w;
        rp_error err = RP_ERROR_INIT;
        int rc =
            rp_mapping_ident_read_partial(m, RP_IDENT_ADDRESS, row, 5, out, sizeof(out), &w, &err);
        if (rc != RP_OK || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: rc %d, '%s'; expected '%s' (%s)", i, rc, out, cases[i].want,
                     err.msg);
        /* the bytes cut off are wiped */
        for (size_t b = strlen(out); b < sizeof(out); b++) {
            if (out[b] != '\0' && out[b] != 1)
                fail_msg("case %zu: byte %zu left after the cut", i, b);
        }
        if (!cases[i].cut) {
            if (w.rule[0] != '\0')
                fail_msg("case %zu: unexpected warning '%s'", i, w.message);
            continue;
        }
        if (strcmp(w.rule, "length") != 0 || w.column != 4 || strcmp(w.column_name, "a1") != 0 ||
            w.line != 0 || w.value[0] != '\0' ||
            strcmp(w.message, "the address (columns 'a1' and 'a2' (joined)) is longer than 15 "
                              "bytes: cut at a word boundary") != 0)
            fail_msg("case %zu: warning rule '%s' column %ld '%s' message '%s'", i, w.rule,
                     w.column, w.column_name, w.message);
        /* rp_mapping_ident_read() still refuses it */
        rc = rp_mapping_ident_read(m, RP_IDENT_ADDRESS, row, 5, out, sizeof(out), &err);
        if (rc != RP_EINVAL || out[0] != '\0')
            fail_msg("case %zu: strict read gave %d '%s'", i, rc, out);
    }

    /* a name is never cut: the error names both columns, not the value */
    const char *row[] = {"Annabelle", "Mariagrazia", "", "", ""};
    char out[16];
    rp_issue w;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(
        rp_mapping_ident_read_partial(m, RP_IDENT_GIVEN_NAME, row, 5, out, sizeof(out), &w, &err),
        RP_EINVAL, &err);
    assert_string_equal(out, "");
    assert_string_equal(w.rule, "");
    assert_non_null(strstr(err.msg, "mapping 'c': columns 'g1' and 'g2' (joined) (identifier "
                                    "'given_name'): the value does not fit in 16 bytes"));
    assert_null(strstr(err.msg, "Anna"));
    rp_mapping_free(m);
}

static void mapping_parse__rejects_bad_identifiers_with_their_path(void **state)
{
    (void)state;
#define HEAD \
    "{\"name\": \"x\", \"list\": {\"value\": \"L\"}, \"fields\": {\"sex\": {\"column\": \"g\"}}, "

    static const struct {
        const char *json;
        const char *msg; /* expected in err.msg; every case is RP_EDATA */
    } cases[] = {
        {HEAD "\"identifers\": {}}", "identifers: unknown key"},
        {HEAD "\"identifiers\": []}", "identifiers: expected an object"},
        {HEAD "\"identifiers\": {\"nickname\": {\"column\": \"n\"}}}",
         "identifiers.nickname: unknown identifier"},
        {HEAD "\"identifiers\": {\"given_name\": \"first\"}}",
         "identifiers.given_name: expected an object"},
        {HEAD "\"identifiers\": {\"given_name\": {\"colum\": \"n\"}}}",
         "identifiers.given_name.colum: unknown key"},
        {HEAD "\"identifiers\": {\"family_name\": {}}}",
         "identifiers.family_name: needs a \"column\""},
        {HEAD "\"identifiers\": {\"family_name\": {\"column\": \" \"}}}",
         "identifiers.family_name.column: expected a column name"},
        {HEAD "\"identifiers\": {\"family_name\": {\"column\": 3}}}",
         "identifiers.family_name.column: expected a column name"},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \" g\"}}}",
         "identifiers.given_name.column: column 'g' also feeds field 'sex'"},
        {"{\"name\": \"x\", \"list\": {\"column\": \"src\"}, \"fields\": {}, \"identifiers\": "
         "{\"document_number\": {\"column\": \"src\"}}}",
         "identifiers.document_number.column: column 'src' also feeds field 'list'"},
        {"{\"name\": \"x\", \"list\": {\"value\": \"L\"}, \"fields\": {\"exploitation\": "
         "{\"flags\": {\"a\": \"sexual\"}}}, \"identifiers\": {\"patronymic\": {\"column\": "
         "\"a\"}}}",
         "identifiers.patronymic.column: column 'a' also feeds field 'exploitation'"},
        {HEAD "\"identifiers\": {\"patronymic\": {\"column\": \" n \"}, \"given_name\": "
              "{\"column\": \"n\"}}}",
         "identifiers.patronymic.column: column 'n' is also the column of identifier "
         "'given_name'"},
        {HEAD "\"identifiers\": {\"full_name\": {\"column\": \"n\"}, \"given_name\": "
              "{\"column\": \"f\"}}}",
         "identifiers.full_name: a full name excludes"},
        {HEAD "\"identifiers\": {\"family_name\": {\"column\": \"s\"}, \"full_name\": "
              "{\"column\": \"n\"}}}",
         "identifiers.full_name: a full name excludes"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": \"%d.%m.%y\"}}}",
         "identifiers.birth_date.format: '%y' in '%d.%m.%y' is not supported"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": [\"%Y\", "
              "\"%d %Y\"]}}}",
         "identifiers.birth_date.format: '%d %Y' needs %Y once, at most one month"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": \"%d.%m\"}}}",
         "'%d.%m' needs %Y once"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": \"%m %b %Y\"}}}",
         "'%m %b %Y' needs %Y once"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": \"%Y %Y\"}}}",
         "'%Y %Y' needs %Y once"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": \"%Y%\"}}}",
         "identifiers.birth_date.format: '%Y%' ends with a lone '%'"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": []}}}",
         "identifiers.birth_date.format: expected at least one format"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"column\": \"d\", \"format\": [1]}}}",
         "identifiers.birth_date.format: element 0 is not a string"},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \"d\", \"format\": \"%Y\"}}}",
         "identifiers.given_name.format: only birth_date takes a format"},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \"d\", \"order\": "
              "\"family_first\"}}}",
         "identifiers.given_name.order: only full_name takes an order"},
        {HEAD "\"identifiers\": {\"full_name\": {\"column\": \"d\", \"order\": \"surname\"}}}",
         "identifiers.full_name.order: expected \"given_first\" or \"family_first\""},
        {HEAD "\"identifiers\": {\"full_name\": {\"column\": \"d\", \"order\": true}}}",
         "identifiers.full_name.order: expected \"given_first\""},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \"d\", \"missing\": \"-\"}}}",
         "identifiers.given_name.missing: expected an array of strings"},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \"d\", \"unknown\": [\"?\"]}}}",
         "identifiers.given_name.unknown: unknown key"},
        /* "columns": several columns joined */
        {HEAD "\"identifiers\": {\"address\": {\"column\": \"a\", \"columns\": [\"b\"]}}}",
         "identifiers.address: takes \"column\" or \"columns\", not both"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": []}}}",
         "identifiers.address.columns: expected an array of 1 to 16 column names"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": \"a\"}}}",
         "identifiers.address.columns: expected an array of 1 to 16 column names"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [\"a\", \"b\", \"c\", \"d\", "
              "\"e\", \"f\", \"h\", \"i\", \"j\", \"k\", \"l\", \"m\", \"n\", \"o\", \"p\", \"q\", "
              "\"r\"]}}}",
         "identifiers.address.columns: expected an array of 1 to 16 column names"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [\"a\", 2]}}}",
         "identifiers.address.columns[2]: expected a column name"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [null, \"a\"]}}}",
         "identifiers.address.columns[1]: expected a column name"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [\"a\", \" \"]}}}",
         "identifiers.address.columns[2]: expected a column name"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [\"a\", \"b\", \" a\"]}}}",
         "identifiers.address.columns[3]: column 'a' is named twice"},
        {HEAD "\"identifiers\": {\"address\": {\"columns\": [\"a\", \"g\"]}}}",
         "identifiers.address.columns[2]: column 'g' also feeds field 'sex'"},
        {HEAD "\"identifiers\": {\"given_name\": {\"columns\": [\"x\", \"n\"]}, "
              "\"address\": {\"columns\": [\"a\", \"n\"]}}}",
         "identifiers.address.columns[2]: column 'n' is also the column of identifier "
         "'given_name'"},
        {HEAD "\"identifiers\": {\"given_name\": {\"column\": \"n\"}, "
              "\"address\": {\"columns\": [\"n\"]}}}",
         "identifiers.address.columns[1]: column 'n' is also the column of identifier "
         "'given_name'"},
        {HEAD "\"identifiers\": {\"birth_date\": {\"columns\": [\"d\", \"m\", \"y\"]}}}",
         "identifiers.birth_date.columns: birth_date is read from one \"column\""},
    };

#undef HEAD
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        rp_mapping *m = (rp_mapping *)&m; /* must be reset to NULL */
        rp_error err = RP_ERROR_INIT;
        int rc = rp_mapping_parse(&m, cases[i].json, strlen(cases[i].json), "bad.json", &err);
        if (rc != RP_EDATA || m != NULL || strstr(err.msg, cases[i].msg) == NULL ||
            strcmp(err.path, "bad.json") != 0)
            fail_msg("case %zu: rc %d, path '%s', message '%s'; expected RP_EDATA and '%s'", i, rc,
                     err.path, err.msg, cases[i].msg);
    }
}

static void mapping_bind__names_the_missing_identifier_column(void **state)
{
    (void)state;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&m, fixture("agency_ident.json"), &err), &err);
    static const char *const no_dob[] = {"ref",         "first_name", "surname", "middle_name",
                                         "passport_no", "date",       "sex",     "nat"};
    assert_rp_status(rp_mapping_bind(m, no_dob, ARRAY_LEN(no_dob), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "mapping 'shelter-y': column 'dob' (identifier 'birth_date') "
                                    "is not in the input header"));
    static const char *const twice[] = {"ref", "first_name",  "surname", "middle_name",
                                        "dob", "passport_no", "date",    "sex",
                                        "nat", "surname "};
    assert_rp_status(rp_mapping_bind(m, twice, ARRAY_LEN(twice), &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "column 'surname' (identifier 'family_name') appears twice"));
    assert_non_null(strstr(err.msg, "columns 3 and 10"));
    /* a failed bind leaves the mapping unbound */
    char out[8];
    assert_rp_status(rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, twice, ARRAY_LEN(twice), out,
                                           sizeof(out), &err),
                     RP_EINVAL, &err);
    /* order does not matter: the identifiers follow their columns */
    static const char *const cols[] = {"passport_no", "dob", "nat",     "sex",       "date",
                                       "middle_name", "ref", "surname", "first_name"};
    assert_rp_ok(rp_mapping_bind(m, cols, ARRAY_LEN(cols), &err), &err);
    static const char *const row[] = {"D1", "1990", "UA",      "F",    "01.01.2020",
                                      "",   "S9",   "Testova", "Alisa"};
    assert_rp_ok(
        rp_mapping_ident_read(m, RP_IDENT_GIVEN_NAME, row, ARRAY_LEN(row), out, sizeof(out), &err),
        &err);
    assert_string_equal(out, "Alisa");
    assert_rp_ok(rp_mapping_ident_read(m, RP_IDENT_DOCUMENT_NUMBER, row, ARRAY_LEN(row), out,
                                       sizeof(out), &err),
                 &err);
    assert_string_equal(out, "D1");
    rp_mapping_free(m);
}

static void mapping_apply__identifiers_never_reach_the_record(void **state)
{
    (void)state;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&m, fixture("agency_ident.json"), &err), &err);
    rp_mapping *plain = parse_ok(agency_ident_plain);
    static const char *const cols[] = {"ref",         "first_name", "surname", "middle_name", "dob",
                                       "passport_no", "date",       "sex",     "nat"};
    bind_ok(m, cols, ARRAY_LEN(cols));
    bind_ok(plain, cols, ARRAY_LEN(cols));
    /* identifier values that no field would accept: apply does not even look at them */
    char long_name[300];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *row[] = {"S7",        long_name,    "\xff\xfe", "Ivanovna", "not a date",
                         "XA1234567", "01.02.2019", "F",        "UA"};
    rp_case_record a, b;
    rp_issue_list ia = RP_ISSUE_LIST_INIT, ib = RP_ISSUE_LIST_INIT;
    assert_rp_ok(rp_mapping_apply(&a, &ia, m, row, ARRAY_LEN(row), 8, &err), &err);
    assert_rp_ok(rp_mapping_apply(&b, &ib, plain, row, ARRAY_LEN(row), 8, &err), &err);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(ia.n, 0);
    assert_string_equal(a.case_id, "S7");
    assert_string_equal(a.registration_date, "2019-02-01");
    /* no byte sequence of an identifier is anywhere in the record */
    static const char *const secrets[] = {"Ivanovna", "XA1234567", "nnnn"};
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
        size_t n = strlen(secrets[i]);
        const unsigned char *p = (const unsigned char *)&a;
        for (size_t k = 0; k + n <= sizeof(a); k++)
            assert_false(memcmp(p + k, secrets[i], n) == 0);
    }
    /* a row whose fields have issues gets the same issues with or without identifiers */
    const char *bad[] = {"S8", "Alisa", "Testova", "", "31.04.1990", "", "31.02.2019", "X", "ZZ"};
    assert_int_equal(rp_mapping_apply(&a, &ia, m, bad, ARRAY_LEN(bad), 9, &err), RP_EDATA);
    assert_int_equal(rp_mapping_apply(&b, &ib, plain, bad, ARRAY_LEN(bad), 9, &err), RP_EDATA);
    assert_int_equal(ia.n, ib.n);
    assert_int_equal(ia.n, 3); /* date, sex, citizenship; nothing about the birth date */
    for (size_t i = 0; i < ia.n; i++) {
        assert_memory_equal(&ia.v[i], &ib.v[i], sizeof(ia.v[i]));
        assert_true(ia.v[i].column >= 7);
    }
    rp_issue_list_release(&ia);
    rp_issue_list_release(&ib);
    rp_mapping_free(m);
    rp_mapping_free(plain);
}

/* ==== the CTDC global dataset ==== */

/*
 * Two readings of every row of data/ctdc: "raw" counts straight from the CSV columns by
 * name (what an analyst would compute with a spreadsheet), and "mapped" counts from the
 * records rp_mapping_apply() makes with data/mappings/ctdc.json. They must agree.
 */
enum { YEAR_MIN = 2002, YEAR_MAX = 2017, N_YEARS = YEAR_MAX - YEAR_MIN + 1 };

#define N_SOME_COUNTRIES 6
static const char *const some_countries[N_SOME_COUNTRIES] = {"PH", "MD", "UA", "US", "KH", "BD"};

typedef struct ctdc_counts {
    long rows;
    long year[N_YEARS];
    long year_other;
    long female, male, sex_unknown;
    long cm, hotline;
    long band_9_17, band_48_plus, band_unknown, band_missing;
    long minor_at_exploit;
    long forced_labour, sexual, other_expl, forced_marriage, expl_known;
    long prostitution, domestic_work;
    long citizenship[N_SOME_COUNTRIES];
    long cit_unknown, cit_missing;
    long coe_us, coe_missing, coe_unknown;
    long control_known, threats;
    long rel_family, rel_unknown;
    long inconsistent_sector; /* a labour sector without the forced-labour flag */
} ctdc_counts;

typedef struct ctdc_pass {
    rp_mapping *m;
    char **header;
    size_t n_header;
    ctdc_counts raw, mapped;
    long quarantined; /* rows with issues */
    long issues;
} ctdc_pass;

/* Raw value of column @p name in @p fields (the header is kept from row 0). */
static const char *col(const ctdc_pass *cp, char **fields, const char *name)
{
    for (size_t i = 0; i < cp->n_header; i++) {
        if (strcmp(cp->header[i], name) == 0)
            return fields[i];
    }
    fail_msg("CTDC column '%s' not found", name);
    return "";
}

static bool is1(const ctdc_pass *cp, char **fields, const char *name)
{
    return strcmp(col(cp, fields, name), "1") == 0;
}

static void count_raw(const ctdc_pass *cp, char **f, ctdc_counts *c)
{
    c->rows++;
    long y = strtol(col(cp, f, "yearOfRegistration"), NULL, 10);
    if (y >= YEAR_MIN && y <= YEAR_MAX)
        c->year[y - YEAR_MIN]++;
    else
        c->year_other++;
    const char *g = col(cp, f, "gender");
    c->female += strcmp(g, "Female") == 0;
    c->male += strcmp(g, "Male") == 0;
    c->sex_unknown += strcmp(g, "Unknown") == 0;
    c->cm += strcmp(col(cp, f, "Datasource"), "Case Management") == 0;
    c->hotline += strcmp(col(cp, f, "Datasource"), "Hotline") == 0;
    const char *band = col(cp, f, "ageBroad");
    c->band_9_17 += strcmp(band, "9--17") == 0;
    c->band_48_plus += strcmp(band, "48+") == 0;
    c->band_unknown += strcmp(band, "Unknown") == 0;
    c->band_missing += band[0] == '\0';
    c->minor_at_exploit += strcmp(col(cp, f, "majorityStatusAtExploit"), "Minor") == 0;
    bool both = is1(cp, f, "isSexAndLabour");
    bool labour = is1(cp, f, "isForcedLabour") || both;
    c->forced_labour += labour;
    c->sexual += is1(cp, f, "isSexualExploit") || both;
    c->other_expl += is1(cp, f, "isOtherExploit");
    c->forced_marriage += is1(cp, f, "isForcedMarriage");
    static const char *const expl[] = {"isForcedLabour", "isSexualExploit",  "isOtherExploit",
                                       "isSexAndLabour", "isForcedMarriage", "isForcedMilitary",
                                       "isOrganRemoval"};
    bool any = false;
    for (size_t i = 0; i < ARRAY_LEN(expl); i++)
        any = any || col(cp, f, expl[i])[0] != '\0';
    c->expl_known += any;
    c->prostitution += is1(cp, f, "typeOfSexProstitution");
    c->domestic_work += is1(cp, f, "typeOfLabourDomesticWork");
    const char *cit = col(cp, f, "citizenship");
    for (size_t i = 0; i < ARRAY_LEN(some_countries); i++)
        c->citizenship[i] += strcmp(cit, some_countries[i]) == 0;
    c->cit_unknown += strcmp(cit, "Unknown") == 0;
    c->cit_missing += strcmp(cit, "Missing") == 0 || cit[0] == '\0';
    const char *coe = col(cp, f, "CountryOfExploitation");
    c->coe_us += strcmp(coe, "US") == 0;
    c->coe_missing += strcmp(coe, "Missing") == 0 || coe[0] == '\0';
    c->coe_unknown += strcmp(coe, "Unknown") == 0;
    bool control = false;
    for (size_t i = 0; i < cp->n_header; i++) {
        if (strncmp(cp->header[i], "meansOfControl", 14) == 0 && f[i][0] != '\0')
            control = true;
    }
    c->control_known += control;
    c->threats += is1(cp, f, "meansOfControlThreats");
    c->rel_family += is1(cp, f, "recruiterRelationFamily");
    c->rel_unknown += is1(cp, f, "recruiterRelationUnknown");
    bool sector = false;
    for (size_t i = 0; i < cp->n_header; i++) {
        if (strncmp(cp->header[i], "typeOfLabour", 12) == 0 && strcmp(f[i], "1") == 0)
            sector = true;
    }
    c->inconsistent_sector += sector && !labour;
}

static void count_mapped(const rp_case_record *r, ctdc_counts *c)
{
    c->rows++;
    if (r->registration_year >= YEAR_MIN && r->registration_year <= YEAR_MAX)
        c->year[r->registration_year - YEAR_MIN]++;
    else
        c->year_other++;
    c->female += r->sex == RP_SEX_FEMALE;
    c->male += r->sex == RP_SEX_MALE;
    c->sex_unknown += r->sex == RP_SEX_UNKNOWN;
    c->cm += strcmp(r->list, "CTDC-CM") == 0;
    c->hotline += strcmp(r->list, "CTDC-HL") == 0;
    c->band_9_17 += r->age_band == RP_AGE_BAND_9_17;
    c->band_48_plus += r->age_band == RP_AGE_BAND_48_PLUS;
    c->band_unknown += r->age_band == RP_AGE_BAND_UNKNOWN;
    c->band_missing += r->age_band == RP_AGE_BAND_MISSING;
    c->minor_at_exploit += r->majority_at_exploitation == RP_MAJORITY_MINOR;
    bool labour = (r->exploitation & RP_EXPL_FORCED_LABOUR) != 0;
    c->forced_labour += labour;
    c->sexual += (r->exploitation & RP_EXPL_SEXUAL) != 0;
    c->other_expl += (r->exploitation & RP_EXPL_OTHER) != 0;
    c->forced_marriage += (r->exploitation & RP_EXPL_FORCED_MARRIAGE) != 0;
    c->expl_known += r->exploitation_state == RP_STATE_KNOWN;
    c->prostitution += (r->sexual_types & RP_SEXTYPE_PROSTITUTION) != 0;
    c->domestic_work += (r->labour_sectors & RP_SECTOR_DOMESTIC_WORK) != 0;
    for (size_t i = 0; i < ARRAY_LEN(some_countries); i++)
        c->citizenship[i] += r->citizenship_state == RP_STATE_KNOWN &&
                             strcmp(r->citizenship, some_countries[i]) == 0;
    c->cit_unknown += r->citizenship_state == RP_STATE_UNKNOWN;
    c->cit_missing += r->citizenship_state == RP_STATE_MISSING;
    c->coe_us += r->country_of_exploitation_state == RP_STATE_KNOWN &&
                 strcmp(r->country_of_exploitation, "US") == 0;
    c->coe_missing += r->country_of_exploitation_state == RP_STATE_MISSING;
    c->coe_unknown += r->country_of_exploitation_state == RP_STATE_UNKNOWN;
    c->control_known += r->means_of_control_state == RP_STATE_KNOWN;
    c->threats += (r->means_of_control & RP_CONTROL_THREATS) != 0;
    c->rel_family += (r->recruiter_relation & RP_RECRUITER_FAMILY) != 0;
    c->rel_unknown += (r->recruiter_relation & RP_RECRUITER_UNKNOWN) != 0;
    c->inconsistent_sector += r->labour_sectors != 0 && !labour;
}

static void ctdc_row(char **fields, size_t n, long row, void *payload)
{
    ctdc_pass *cp = payload;
    if (row == 0) {
        cp->header = calloc(n, sizeof(*cp->header));
        assert_non_null(cp->header);
        for (size_t i = 0; i < n; i++) {
            cp->header[i] = strdup(fields[i]);
            assert_non_null(cp->header[i]);
        }
        cp->n_header = n;
        bind_ok(cp->m, (const char *const *)fields, n);
        return;
    }
    assert_int_equal(n, cp->n_header);
    count_raw(cp, fields, &cp->raw);

    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_mapping_apply(&rec, &issues, cp->m, (const char *const *)fields, n, row + 1, &err);
    if (rc != RP_OK && rc != RP_EDATA)
        fail_msg("row %ld: %s", row, err.msg);
    count_mapped(&rec, &cp->mapped);
    cp->quarantined += rc == RP_EDATA;
    for (size_t i = 0; i < issues.n; i++) {
        if (cp->issues++ < 5)
            print_error("row %ld: column %ld '%s' rule %s value '%s': %s\n", row,
                        issues.v[i].column, issues.v[i].column_name, issues.v[i].rule,
                        issues.v[i].value, issues.v[i].message);
    }
    rp_issue_list_release(&issues);
}

static void mapping_apply__ctdc_counts_match_the_raw_columns(void **state)
{
    (void)state;
    ctdc_pass cp;
    memset(&cp, 0, sizeof(cp));
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_mapping_load(&cp.m, source_file("data/mappings/ctdc.json"), &err), &err);
    csv_each_row(source_file("data/ctdc/ctdc_global_dataset_2018_kanon.csv"), ctdc_row, &cp);

    const ctdc_counts *a = &cp.raw;
    const ctdc_counts *b = &cp.mapped;
    /* the file: 47,102 records, 2002-2017 (data/ctdc/README.md) */
    assert_int_equal(a->rows, 47102);
    assert_int_equal(b->rows, a->rows);
    for (int y = 0; y < N_YEARS; y++) {
        if (a->year[y] != b->year[y])
            fail_msg("year %d: raw %ld, mapped %ld", YEAR_MIN + y, a->year[y], b->year[y]);
        assert_true(a->year[y] > 0);
    }
    assert_int_equal(a->year_other, 0);
    assert_int_equal(b->year_other, 0);
    assert_int_equal(b->female, a->female);
    assert_int_equal(b->male, a->male);
    assert_int_equal(b->sex_unknown, a->sex_unknown);
    assert_int_equal(a->female + a->male + a->sex_unknown, a->rows);
    assert_int_equal(b->cm, a->cm);
    assert_int_equal(b->hotline, a->hotline);
    assert_int_equal(a->cm + a->hotline, a->rows);
    assert_int_equal(b->band_9_17, a->band_9_17);
    assert_int_equal(b->band_48_plus, a->band_48_plus);
    assert_int_equal(b->band_unknown, a->band_unknown);
    assert_int_equal(b->band_missing, a->band_missing);
    assert_int_equal(b->minor_at_exploit, a->minor_at_exploit);
    assert_int_equal(b->forced_labour, a->forced_labour);
    assert_int_equal(b->sexual, a->sexual);
    assert_int_equal(b->other_expl, a->other_expl);
    assert_int_equal(b->forced_marriage, a->forced_marriage);
    assert_int_equal(b->expl_known, a->expl_known);
    assert_true(a->expl_known < a->rows); /* the denominator rule matters here */
    assert_int_equal(b->prostitution, a->prostitution);
    assert_int_equal(b->domestic_work, a->domestic_work);
    for (size_t i = 0; i < ARRAY_LEN(some_countries); i++) {
        if (a->citizenship[i] != b->citizenship[i] || a->citizenship[i] == 0)
            fail_msg("citizenship %s: raw %ld, mapped %ld", some_countries[i], a->citizenship[i],
                     b->citizenship[i]);
    }
    assert_int_equal(b->cit_unknown, a->cit_unknown);
    assert_int_equal(b->cit_missing, a->cit_missing);
    assert_int_equal(b->coe_us, a->coe_us);
    assert_int_equal(b->coe_missing, a->coe_missing);
    assert_int_equal(b->coe_unknown, a->coe_unknown);
    assert_int_equal(b->control_known, a->control_known);
    assert_int_equal(b->threats, a->threats);
    assert_int_equal(b->rel_family, a->rel_family);
    assert_int_equal(b->rel_unknown, a->rel_unknown);

    /*
     * Every CTDC row is a valid record, including the rows that give a labour sector
     * without the forced-labour flag (the standard does not tie the two together:
     * docs/data-standard.md, labour_sectors); they keep both as recorded.
     */
    assert_true(a->inconsistent_sector > 0);
    assert_int_equal(b->inconsistent_sector, a->inconsistent_sector);
    assert_int_equal(cp.quarantined, 0);
    assert_int_equal(cp.issues, 0);

    for (size_t i = 0; i < cp.n_header; i++)
        free(cp.header[i]);
    free(cp.header);
    rp_mapping_free(cp.m);
}

/* ==== group ==== */

/*
 * Jansson keeps its own malloc, in the library as here: Jansson 2.14 does not report a
 * failed allocation reliably (json_loadb() then says "invalid syntax" or nothing), so
 * the sweep covers rapporteur's own allocations.
 */
static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mapping_apply__agency_fixture_row_by_row),
        cmocka_unit_test(mapping_apply__namibia_is_missing_only_when_listed_on_the_field),
        cmocka_unit_test(mapping_apply__recode_keys_are_case_sensitive_by_default),
        cmocka_unit_test(mapping_apply__ages_bands_and_years),
        cmocka_unit_test(mapping_apply__flag_groups_follow_the_denominator_rule),
        cmocka_unit_test(mapping_apply__issue_values_are_truncated_and_identifiers_hidden),
        cmocka_unit_test(mapping_parse__rejects_bad_mappings_with_their_path),
        cmocka_unit_test(mapping_parse__syntax_errors_have_line_and_column),
        cmocka_unit_test(mapping_load__reads_files_and_reports_io_errors),
        cmocka_unit_test(mapping_bind__names_the_missing_column),
        cmocka_unit_test(mapping_parse__alloc_failure_sweep),
        cmocka_unit_test(mapping_apply__alloc_failure_sweep),
        cmocka_unit_test(mapping_apply__ctdc_counts_match_the_raw_columns),
        cmocka_unit_test(mapping_ident__reads_every_identifier),
        cmocka_unit_test(mapping_ident__full_name_and_its_order),
        cmocka_unit_test(mapping_ident__birth_date_formats),
        cmocka_unit_test(mapping_ident__read_errors),
        cmocka_unit_test(mapping_ident__joins_columns),
        cmocka_unit_test(mapping_ident__keeps_the_valid_parts_of_a_birth_date),
        cmocka_unit_test(mapping_ident__cuts_a_long_address_at_a_word),
        cmocka_unit_test(mapping_parse__rejects_bad_identifiers_with_their_path),
        cmocka_unit_test(mapping_bind__names_the_missing_identifier_column),
        cmocka_unit_test(mapping_apply__identifiers_never_reach_the_record),
    };
    return cmocka_run_group_tests_name("data_mapping", tests, setup, NULL);
}
