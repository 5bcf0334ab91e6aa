/*
 * Unit tests for the comparators and the comparison spec of the clear-text linkage
 * (src/link/compare.c, src/link/fs_spec.c): Jaro and Jaro-Winkler against the values
 * published with Winkler's comparator, the optimal-string-alignment distance on hand
 * cases and code points, Soundex, dates, comparison levels, and spec parse errors.
 */
#include "link/fs_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>

#include <string.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/*
 * Jaro and Jaro-Winkler values: Winkler (1990) and the Wikipedia worked examples
 * (MARTHA/MARHTA jaro 0.944, JW 0.961; DWAYNE/DUANE 0.822, 0.84; DIXON/DICKSONX
 * 0.767, 0.813), given to three decimals there.
 */
static void fs_jaro__published_values(void **state)
{
    (void)state;

    static const struct {
        const char *a, *b;
        double jaro, jw;
    } cases[] = {
        {"MARTHA", "MARHTA", 0.944, 0.961},
        {"DWAYNE", "DUANE", 0.822, 0.840},
        {"DIXON", "DICKSONX", 0.767, 0.813},
        {"abc", "abc", 1.0, 1.0},
        {"abc", "xyz", 0.0, 0.0},
        {"", "", 1.0, 1.0},
        {"", "a", 0.0, 0.0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_close(rp_fs_jaro(cases[i].a, cases[i].b), cases[i].jaro, 0, 5e-4);
        assert_close(rp_fs_jaro_winkler(cases[i].a, cases[i].b), cases[i].jw, 0, 5e-4);
        /* symmetric */
        assert_close(rp_fs_jaro_winkler(cases[i].b, cases[i].a), cases[i].jw, 0, 5e-4);
    }
}

/* Code points, not bytes: one accented letter is one character. */
static void fs_jaro__utf8_code_points(void **state)
{
    (void)state;
    /* zoë/zoe: 2 matches of 3, no transposition: (2/3 + 2/3 + 1) / 3 */
    assert_close(rp_fs_jaro("zo\xc3\xab", "zoe"), (2.0 / 3 + 2.0 / 3 + 1.0) / 3, 1e-12, 0);
    /* the ASCII fast path and the general path agree */
    assert_close(rp_fs_jaro("m\xc3\xbcller", "muller"), rp_fs_jaro("mxller", "muller"), 1e-12, 0);
}

static void fs_damerau__hand_cases(void **state)
{
    (void)state;

    static const struct {
        const char *a, *b;
        unsigned d;
    } cases[] = {
        {"kitten", "sitting", 3},
        {"abc", "acb", 1}, /* one transposition */
        {"CA", "ABC", 3},  /* optimal string alignment; the true distance is 2 */
        {"", "abc", 3},
        {"abc", "", 3},
        {"same", "same", 0},
        {"m\xc3\xbcller", "muller", 1}, /* one code point substituted */
        {"\xc5\x82\xc3\xb3\xc5\xbc", "loz", 3},
        {"19651013", "19651031", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(rp_fs_damerau_levenshtein(cases[i].a, cases[i].b), cases[i].d);
}

/* Knuth, TAOCP vol. 3, and the US National Archives' Soundex examples. */
static void fs_soundex__reference_codes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"Robert", "R163"},  {"Rupert", "R163"},   {"Ashcraft", "A261"}, {"Tymczak", "T522"},
        {"Pfister", "P236"}, {"Honeyman", "H555"}, {"Lee", "L000"},      {"123", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char code[5];
        rp_fs_soundex(cases[i][0], code);
        assert_string_equal(code, cases[i][1]);
    }
}

static void fs_date__forms_and_days(void **state)
{
    (void)state;
    long d1 = 0, d2 = 0, d3 = 0;
    int y = 0, m = 0, d = 0;
    assert_true(rp_fs_date_parse("19651013", &d1, &y, &m, &d));
    assert_int_equal(y, 1965);
    assert_int_equal(m, 10);
    assert_int_equal(d, 13);
    assert_true(rp_fs_date_parse("1965-10-13", &d2, NULL, NULL, NULL));
    assert_true(rp_fs_date_parse("13/10/1965", &d3, NULL, NULL, NULL));
    assert_true(d1 == d2 && d2 == d3);
    long epoch = 1;
    assert_true(rp_fs_date_parse("1970-01-01", &epoch, NULL, NULL, NULL));
    assert_int_equal(epoch, 0);
    long leap = 0;
    assert_true(rp_fs_date_parse("2000-02-29", &leap, NULL, NULL, NULL));
    assert_int_equal(leap, 11016);
    assert_false(rp_fs_date_parse("19650230", NULL, NULL, NULL, NULL));
    assert_false(rp_fs_date_parse("1900-02-29", NULL, NULL, NULL, NULL));
    assert_false(rp_fs_date_parse("1965-13-01", NULL, NULL, NULL, NULL));
    assert_false(rp_fs_date_parse("", NULL, NULL, NULL, NULL));
    assert_false(rp_fs_date_parse("abc", NULL, NULL, NULL, NULL));
}

static rp_fs_spec *parse(const char *json, int want, rp_error *err)
{
    rp_fs_spec *s = NULL;
    int rc = rp_fs_spec_parse(&s, json, strlen(json), "spec.json", err);
    assert_int_equal(rc, want);
    return s;
}

static const char spec_json[] =
    "{\"comparisons\": ["
    " {\"name\": \"given\", \"column\": \"given\", \"kind\": \"jaro_winkler\","
    "  \"thresholds\": [0.92, 0.88], \"tf\": true, \"reversed_with\": \"family\"},"
    " {\"name\": \"dob\", \"column\": \"dob\", \"kind\": \"date\", \"day_month_swap\": true,"
    "  \"max_edits\": 1, \"thresholds\": [30]},"
    " {\"name\": \"doc\", \"column\": \"doc\", \"kind\": \"damerau_levenshtein\","
    "  \"thresholds\": [1, 2]},"
    " {\"name\": \"sex\", \"column\": \"sex\", \"kind\": \"exact\", \"m\": [0.95, 0.05],"
    "  \"u\": [0.5, 0.5]}],"
    " \"blocking\": [\"dob:year\", [\"given:soundex\", \"family:first2\"]]}";

static void fs_level__every_kind(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *s = parse(spec_json, RP_OK, &err);
    assert_non_null(s);
    /* given: null, exact, reversed, JW >= 0.92, JW >= 0.88, else */
    assert_int_equal(rp_fs_spec_levels(s, 0), 6);
    const rp_fs__comparison *g = &s->comp[0];
    assert_int_equal(rp_fs__level(g, "", "anna", NULL, NULL), 0);
    assert_int_equal(rp_fs__level(g, "anna", "anna", NULL, NULL), 1);
    assert_int_equal(rp_fs__level(g, "smith", "anna", "anna", "smith"), 2);
    assert_int_equal(rp_fs__level(g, "martha", "marhta", NULL, NULL), 3);
    assert_int_equal(rp_fs__level(g, "dixon", "dicksonx", NULL, NULL), 5);
    assert_int_equal(rp_fs_spec_level_kind(s, 0, 2), RP_FS_LEVEL_REVERSED);
    /* dob: null, exact, swap, edits, within 30 days, else */
    const rp_fs__comparison *d = &s->comp[1];
    assert_int_equal(rp_fs_spec_levels(s, 1), 6);
    assert_int_equal(rp_fs__level(d, "1965-10-03", "19651003", NULL, NULL), 3); /* 0 edits */
    assert_int_equal(rp_fs__level(d, "1965-10-03", "1965-03-10", NULL, NULL), 2);
    assert_int_equal(rp_fs__level(d, "1965-10-03", "1965-10-08", NULL, NULL), 3);
    assert_int_equal(rp_fs__level(d, "1965-10-03", "1965-11-01", NULL, NULL), 4);
    assert_int_equal(rp_fs__level(d, "1965-10-03", "1975-01-01", NULL, NULL), 5);
    /* doc: null, exact, DL <= 1, DL <= 2, else */
    const rp_fs__comparison *c = &s->comp[2];
    assert_int_equal(rp_fs__level(c, "AB1234", "AB1243", NULL, NULL), 2);
    assert_int_equal(rp_fs__level(c, "AB1234", "AB1200", NULL, NULL), 3);
    assert_int_equal(rp_fs__level(c, "AB1234", "XY9999", NULL, NULL), 4);
    /* blocking transforms */
    char out[64];
    assert_int_equal(rp_fs__transform(&s->rule[0].part[0], "13/10/1965", out, sizeof out), 4);
    assert_string_equal(out, "1965");
    assert_int_equal(rp_fs__transform(&s->rule[1].part[1], "\xc5\x82odz", out, sizeof out), 3);
    assert_string_equal(out, "\xc5\x82o");
    assert_int_equal(rp_fs__transform(&s->rule[1].part[0], "", out, sizeof out), 0);
    char *json = rp_fs_spec_to_json(s);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"reversed_with\":\"family\""));
    rp_free(json);
    rp_fs_spec_free(s);
}

static void fs_spec__errors_name_the_key(void **state)
{
    (void)state;

    static const struct {
        const char *json;
        int rc;
        const char *needle;
    } cases[] = {
        {"{\"comparisons\": [", RP_EPARSE, ""},
        {"[]", RP_EDATA, "object"},
        {"{\"comparisons\": []}", RP_EDATA, "comparisons"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\", \"colour\": 1}], "
         "\"blocking\": [\"a\"]}",
         RP_EDATA, "colour"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\", \"thresholds\": [0.8, 0.9]}], "
         "\"blocking\": [\"a\"]}",
         RP_EDATA, "thresholds"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\", \"kind\": \"exact\", "
         "\"m\": [0.5, 0.6]}], \"blocking\": [\"a\"]}",
         RP_EDATA, "sum to 1"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\"}]}", RP_EDATA, "blocking"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\"}], \"blocking\": [\"a:first0\"]}",
         RP_EDATA, "transform"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\"}, {\"name\": \"a\", "
         "\"column\": \"b\"}], \"blocking\": [\"a\"]}",
         RP_EDATA, "two comparisons"},
        {"{\"comparisons\": [{\"name\": \"a\", \"column\": \"a\"}], \"blocking\": [\"a\"], "
         "\"prior\": {\"agree\": [\"zz\"]}}",
         RP_EDATA, "agree"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rp_error err = RP_ERROR_INIT;
        rp_fs_spec *s = parse(cases[i].json, cases[i].rc, &err);
        assert_null(s);
        assert_non_null(strstr(err.msg, cases[i].needle));
        if (cases[i].rc == RP_EPARSE)
            assert_true(err.line >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fs_jaro__published_values),
        cmocka_unit_test(fs_jaro__utf8_code_points),
        cmocka_unit_test(fs_damerau__hand_cases),
        cmocka_unit_test(fs_soundex__reference_codes),
        cmocka_unit_test(fs_date__forms_and_days),
        cmocka_unit_test(fs_level__every_kind),
        cmocka_unit_test(fs_spec__errors_name_the_key),
    };
    return cmocka_run_group_tests_name("fs_compare", tests, setup, NULL);
}
