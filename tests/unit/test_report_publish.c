/*
 * Unit tests for the small defects of the published report (issue 7): shares of a
 * multi-valued field leave "not specified" / "unknown" out of the denominator (hand
 * counts), the trend JSON gives the slope's SE that matches its quasi-Poisson interval
 * (hand values), a CSV legend only for a mark the table uses, and numbers in the trend's
 * text and the HTML report with thousands separators.
 */
#include "report/report_int.h"
#include "rp_test.h"

#include <rapporteur/chart.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>

#include <jansson.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

static rp_case_record person(const char *id, uint32_t sectors, uint32_t recruiter)
{
    rp_case_record r;
    rp_case_record_init(&r);
    snprintf(r.list, sizeof(r.list), "%s", "PF");
    snprintf(r.person_id, sizeof(r.person_id), "%s", id);
    r.registration_year = 2020;
    r.exploitation = RP_EXPL_FORCED_LABOUR;
    r.exploitation_state = RP_STATE_KNOWN;
    r.labour_sectors = sectors;
    r.recruiter_relation = recruiter;
    r.recruiter_relation_state = recruiter != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING;
    return r;
}

/* The CSV of @p t in @p layout (shares along @p share_dim, -1 none); free() it. */
static char *table_csv(const rp_table *t, rp_table_csv_layout layout, int share_dim)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    rp_table_write_opts wo = RP_TABLE_WRITE_OPTS_INIT;
    wo.layout = layout;
    wo.share_dim = share_dim;
    assert_rp_ok(rp_table_write_csv(f, t, &wo, NULL), NULL);
    fclose(f);
    return buf;
}

/* ==== shares: "not specified" is not information ==== */

/*
 * Six persons, by hand:
 *   A {agriculture}                  B {agriculture, not_specified}
 *   C {not_specified}                D {construction}
 *   E {not_specified}                F no sector (left out of the table)
 * B has information (agriculture), so B is in agriculture only. Table: agriculture 2
 * (A, B), construction 1 (D), not specified 2 (C, E), total 5 (persons with a sector
 * recorded). Shares are of the 3 with information: agriculture 2/3, construction 1/3;
 * "not specified" has none. (Before: not specified 3 and shares 2/5, 1/5, 3/5.)
 * Recruiter relation, the same rule with "unknown": A {family}, B {family, unknown},
 * C {unknown}, D {friend}, E {unknown}, F none: family 2, friend 1, unknown 2, total 5,
 * shares family 2/3, friend 1/3.
 */
static void report_shares__not_specified_is_left_out_of_the_denominator(void **state)
{
    (void)state;
    rp_case_record r[6] = {
        person("A", RP_SECTOR_AGRICULTURE, RP_RECRUITER_FAMILY),
        person("B", RP_SECTOR_AGRICULTURE | RP_SECTOR_NOT_SPECIFIED,
               RP_RECRUITER_FAMILY | RP_RECRUITER_UNKNOWN),
        person("C", RP_SECTOR_NOT_SPECIFIED, RP_RECRUITER_UNKNOWN),
        person("D", RP_SECTOR_CONSTRUCTION, RP_RECRUITER_FRIEND),
        person("E", RP_SECTOR_NOT_SPECIFIED, RP_RECRUITER_UNKNOWN),
        person("F", 0, 0),
    };
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_report_data_from_records(&d, r, 6, NULL, &err), &err);

    static const struct {
        rp_field field;
        const char *cats[3];
        double share[2];
    } cases[] = {
        {RP_FIELD_LABOUR_SECTORS, {"agriculture", "construction", "not_specified"}, {2, 1}},
        {RP_FIELD_RECRUITER_RELATION, {"friend", "family", "unknown"}, {1, 2}},
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        rp_table *t = NULL;
        assert_rp_ok(rp_report_table_build(&t, d, &cases[k].field, 1, NULL, &err), &err);
        assert_int_equal(t->dims[0].n_cats, 3);
        for (size_t i = 0; i < 3; i++)
            assert_string_equal(t->dims[0].cats[i], cases[k].cats[i]);
        double want_count[4] = {cases[k].share[0], cases[k].share[1], 2, 5};
        for (size_t i = 0; i < 4; i++)
            assert_close(t->count[i], want_count[i], 0, 0);
        assert_false(rp_table_cat_known(t, 0, 2));
        double s[4];
        assert_rp_ok(rp_table_shares(s, t, 0, &err), &err);
        assert_close(s[0], cases[k].share[0] / 3.0, 1e-15, 0);
        assert_close(s[1], cases[k].share[1] / 3.0, 1e-15, 0);
        assert_true(isnan(s[2])); /* a count, no share */
        assert_close(s[3], 1.0, 1e-15, 0);

        /* the CSV writes the count and leaves its share empty */
        char *csv = table_csv(t, RP_TABLE_CSV_LONG, 0);
        const char *want_row = k == 0 ? "not_specified,2,published,\n" : "unknown,2,published,\n";
        assert_non_null(strstr(csv, want_row));
        free(csv); /* open_memstream()'s allocation */
        rp_table_free(t);
    }
    rp_report_data_free(d);
}

/* ==== the trend's SE matches its interval ==== */

/*
 * Counts 10, 40, 10 in 2019-2021, by hand: symmetric, so the Poisson slope is b = 0 and
 * every fitted mean is 20. Pearson X^2 = (10-20)^2/20 + (40-20)^2/20 + (10-20)^2/20 = 30
 * on df = 1: dispersion 30. Poisson SE = 1 / sqrt(S var(x)) = 1 / sqrt(60 * 2/3)
 * = 1/sqrt(40) = 0.158113883...; the quasi-Poisson SE, which the published interval
 * uses, is that times sqrt(30) = sqrt(3/4) = 0.866025403...
 */
static void report_trend_json__slope_se_is_the_quasi_poisson_one(void **state)
{
    (void)state;
    static const int years[] = {2019, 2020, 2021};
    static const double counts[] = {10, 40, 10};
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit(&tr, years, counts, 3, NULL, &err), &err);
    assert_close(tr->dispersion, 30.0, 1e-9, 0);
    assert_close(tr->slope_se, 1.0 / sqrt(40.0), 1e-9, 0); /* the struct: Poisson */

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    const rp_trend *trs[] = {tr};
    const char *labels[] = {"All"};
    assert_rp_ok(rp_trend_write_json(f, trs, labels, 1, &err), &err);
    fclose(f);
    json_error_t jerr;
    json_t *root = json_loads(buf, 0, &jerr);
    assert_non_null(root);
    json_t *g = json_object_get(json_array_get(root, 0), "trend");
    assert_non_null(g);
    assert_close(json_real_value(json_object_get(g, "slope")), 0.0, 0, 1e-9);
    assert_close(json_real_value(json_object_get(g, "dispersion")), 30.0, 1e-9, 0);
    assert_close(json_real_value(json_object_get(g, "slope_se")), sqrt(0.75), 1e-9, 0);
    assert_close(json_real_value(json_object_get(g, "slope_se_poisson")), 1.0 / sqrt(40.0), 1e-9,
                 0);
    const char *method = json_string_value(json_object_get(json_array_get(root, 0), "method"));
    assert_non_null(strstr(method, "quasi-Poisson"));
    json_decref(root);
    free(buf); /* open_memstream()'s allocation */

    /* not over-dispersed (a perfect fit, X^2 = 0): slope_se is the Poisson SE itself */
    static const double exact[] = {1, 100, 10000};
    rp_trend *t2 = NULL;
    assert_rp_ok(rp_trend_fit(&t2, years, exact, 3, NULL, &err), &err);
    assert_false(t2->dispersion > 1.0);
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    trs[0] = t2;
    assert_rp_ok(rp_trend_write_json(f, trs, labels, 1, &err), &err);
    fclose(f);
    root = json_loads(buf, 0, &jerr);
    g = json_object_get(json_array_get(root, 0), "trend");
    assert_close(json_real_value(json_object_get(g, "slope_se")), t2->slope_se, 1e-9, 0);
    json_decref(root);
    free(buf);
    rp_trend_free(t2);
    rp_trend_free(tr);
}

/* ==== the CSV legend: only a mark the table uses ==== */

static rp_table *sex_table(const double *counts)
{
    rp_table_dim dim = {.field = RP_FIELD_SEX, .n_cats = 2};
    rp_table *t = NULL;
    assert_rp_ok(rp_report__table_alloc(&t, &dim, 1, NULL), NULL);
    t->dims[0].cats[0] = rp_strdup("female");
    t->dims[0].cats[1] = rp_strdup("male");
    t->title = rp_strdup("Victims by sex");
    t->unit = rp_strdup("persons");
    for (size_t i = 0; i < 3; i++)
        t->count[i] = t->value[i] = counts[i];
    return t;
}

static void report_table_csv__legend_only_for_marks_used(void **state)
{
    (void)state;
    static const double counts[] = {2, 31, 33};
    rp_error err = RP_ERROR_INIT;

    static const struct {
        rp_sdc_method method;
        bool legend;
    } cases[] = {
        {RP_SDC_SUPPRESS, true}, /* 2 < k: suppressed, and its complement */
        {RP_SDC_ROUND, false},   /* rounded to 5: nothing hidden */
        {RP_SDC_KROUND, true},   /* k-rounding, k = 5: 2 is not shown */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_table *t = sex_table(counts);
        rp_sdc_opts o = RP_SDC_OPTS_INIT;
        o.method = cases[i].method;
        assert_rp_ok(rp_sdc_protect(t, &o, NULL, &err), &err);
        char *csv = table_csv(t, RP_TABLE_CSV_WIDE, -1);
        assert_true((strstr(csv, "x: suppressed (disclosure control)") != NULL) == cases[i].legend);
        assert_non_null(strstr(csv, "Unit: persons"));
        free(csv);
        rp_table_free(t);
    }
    /* k-rounding with nothing below k: no legend either */
    static const double big[] = {12, 31, 43};
    rp_table *t = sex_table(big);
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.method = RP_SDC_KROUND;
    assert_rp_ok(rp_sdc_protect(t, &o, NULL, &err), &err);
    char *csv = table_csv(t, RP_TABLE_CSV_WIDE, -1);
    assert_null(strstr(csv, "suppressed (disclosure control)"));
    free(csv);
    rp_table_free(t);
}

/* ==== thousands separators in the text ==== */

/*
 * Counts 1, 100, 10000: an exact Poisson fit with rate ratio 100 (c (1/r + 1 + r) = 10101
 * and c (r - 1/r) = 9999 give r = 100, c = 100), so the average annual change is
 * +9,900.0 %, written as the counts are, with a separator.
 */
static void report_text__numbers_have_thousands_separators(void **state)
{
    (void)state;
    static const int years[] = {2019, 2020, 2021};
    static const double counts[] = {1, 100, 10000};
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit(&tr, years, counts, 3, NULL, &err), &err);
    assert_close(tr->pct_change, 9900.0, 1e-8, 0);
    char text[400];
    rp_trend_describe(text, sizeof(text), tr);
    assert_non_null(strstr(text, "average annual change +9,900.0%"));
    assert_null(strstr(text, "9900"));

    /* the HTML report: the change on the year before (+9,900.0 % from 2020 to 2021), the
     * trend table of several labels, and no legend of a mark that is not used */
    rp_table_dim dim = {.field = RP_FIELD_REGISTRATION_YEAR, .n_cats = 3};
    rp_table *t = NULL;
    assert_rp_ok(rp_report__table_alloc(&t, &dim, 1, NULL), NULL);
    static const char *const ys[] = {"2019", "2020", "2021"};
    for (size_t i = 0; i < 3; i++) {
        t->dims[0].cats[i] = rp_strdup(ys[i]);
        t->count[i] = t->value[i] = counts[i];
    }
    t->count[3] = t->value[3] = 10101;
    t->title = rp_strdup("Victims by year of registration");
    t->unit = rp_strdup("persons");
    const rp_trend *trs[] = {tr, tr};
    const char *labels[] = {"A", "B"};
    rp_report_section sections[] = {{t, NULL, NULL, NULL, trs, labels, 1},
                                    {t, NULL, NULL, NULL, trs, labels, 2}};
    const char *method[] = {"Every published count is rounded."};
    rp_report_doc doc = {.title = "Patterns",
                         .sections = sections,
                         .n_sections = 2,
                         .method = method,
                         .n_method = 1};
    char dir[256], path[512];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/report.html", dir);
    assert_rp_ok(rp_report_html_write(&doc, path, &err), &err);
    char *html = rp_test_slurp(path, NULL);
    assert_non_null(strstr(html, "<td class=\"total\">10,101</td>"));
    assert_non_null(strstr(html, "<td>+9,900.0</td>"));            /* the change on 2020 */
    assert_non_null(strstr(html, "<td>+12,110.2</td><td>3</td>")); /* the trend table */
    assert_non_null(strstr(html, "average annual change +9,900.0%"));
    assert_null(strstr(html, "9900"));
    assert_null(strstr(html, "x = not published")); /* nothing is suppressed */
    free(html);
    rp_test_rmtree(dir);
    rp_table_free(t);
    rp_trend_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_shares__not_specified_is_left_out_of_the_denominator),
        cmocka_unit_test(report_trend_json__slope_se_is_the_quasi_poisson_one),
        cmocka_unit_test(report_table_csv__legend_only_for_marks_used),
        cmocka_unit_test(report_text__numbers_have_thousands_separators),
    };
    return cmocka_run_group_tests_name("report_publish", tests, setup, NULL);
}
