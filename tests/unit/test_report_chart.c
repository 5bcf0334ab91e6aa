/*
 * Unit tests for a report's published outputs (src/report/chart.c, labels.c, html.c,
 * xlsx.c): every chart renders to PNG (size checked, not blank, several colours), SVG
 * (title, axis labels, <desc>, prefixed ids) and PDF; suppressed values never appear in
 * any output; labels of codes; the HTML report's structure and escaping; the workbook;
 * every documented error and an allocation-failure sweep.
 */
#include "rp_test.h"

#include <rapporteur/chart.h>
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>

#include <cairo.h>

/* A value that must never be published: the true count of a suppressed cell. */
#define SECRET      777777.0
#define SECRET_TEXT "777,777"

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* ==== hand-built tables ==== */

/*
 * A one-dimensional table of @p n categories; status[i] != 0 marks a suppressed cell,
 * whose true count is SECRET and published value NaN (as rp_sdc_protect() leaves it).
 */
static rp_table *table1(const char *title,
                        rp_field f,
                        size_t n,
                        const char *const *cats,
                        const double *v,
                        const uint8_t *st)
{
    rp_table *t = rp_calloc(1, sizeof(*t));
    assert_non_null(t);
    t->title = rp_strdup(title);
    t->unit = rp_strdup("persons");
    t->n_dims = 1;
    t->additive = true;
    t->dims[0].field = f;
    t->dims[0].n_cats = n;
    t->dims[0].cats = rp_calloc(n + 1, sizeof(char *));
    t->stride[0] = 1;
    t->n_cells = n + 1;
    t->count = rp_calloc(n + 1, sizeof(double));
    t->value = rp_calloc(n + 1, sizeof(double));
    t->status = rp_calloc(n + 1, sizeof(uint8_t));
    assert_non_null(t->dims[0].cats);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        t->dims[0].cats[i] = rp_strdup(cats[i]);
        bool sup = st != NULL && st[i] != 0;
        t->status[i] = sup ? st[i] : RP_CELL_PUBLISHED;
        t->count[i] = sup ? SECRET : v[i];
        t->value[i] = sup ? NAN : v[i];
        total += t->count[i];
    }
    t->count[n] = total;
    t->value[n] = 123456.0;
    return t;
}

static const char *const years[] = {"2010", "2011", "2012", "2013", "2014", "2015", ""};
static const double year_v[] = {1200, 3, 2400, 5100, 4800, 9000, 40};
static const uint8_t year_st[] = {0, RP_CELL_PRIMARY, 0, 0, 0, 0, 0};

static rp_table *year_table(void)
{
    return table1("Victims by year of registration", RP_FIELD_REGISTRATION_YEAR, 7, years, year_v,
                  year_st);
}

static rp_table *citizenship_table(void)
{
    static const char *const cz[] = {"PH", "MD", "UA", "US",      "ID", "BY", "MM",
                                     "KH", "RO", "GH", "KG",      "BG", "HT", "UZ",
                                     "AF", "CI", "XK", "unknown", ""};
    static const double v[] = {11312, 7363, 7339, 3007, 1947, 1513, 1281, 1057, 685, 545,
                               449,   342,  339,  253,  239,  31,   4,    7484, 206};
    static const uint8_t st[19] = {[16] = RP_CELL_PRIMARY, [3] = RP_CELL_SECONDARY};
    return table1("Victims by citizenship", RP_FIELD_CITIZENSHIP, 19, cz, v, st);
}

/* ==== PNG checks ==== */

/*
 * Read the PNG at @p path with cairo and check its size and that it is a picture: more
 * than 2% of the pixels are not white, and at least 4 distinct colours appear.
 */
static void check_png(const char *path, int want_w, int min_h)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int w = cairo_image_surface_get_width(s);
    int h = cairo_image_surface_get_height(s);
    assert_int_equal(w, want_w);
    assert_true(h >= min_h);
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    size_t inked = 0;
    uint32_t colours[8] = {0};
    size_t n_colours = 0;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t px = row[x] & 0xFFFFFFu;
            if (px != 0xFFFFFFu)
                inked++;
            bool seen = false;
            for (size_t i = 0; i < n_colours; i++)
                seen = seen || colours[i] == px;
            if (!seen && n_colours < 8)
                colours[n_colours++] = px;
        }
    }
    cairo_surface_destroy(s);
    assert_true(inked * 50 > (size_t)w * (size_t)h);
    assert_true(n_colours >= 4);
}

/* Render @p c into the caller's @p out (not through a local of this function: GCC 12's
 * -Wdangling-pointer in Release builds cannot tell the result from the local's address). */
static void
render(char **out, size_t *len, const rp_chart *c, rp_chart_format fmt, const char *prefix)
{
    rp_error err = RP_ERROR_INIT;
    *out = NULL;
    assert_rp_ok(rp_chart_render(out, len, c, fmt, prefix, &err), &err);
    assert_non_null(*out);
}

/* Does every occurrence of @p attr in @p text go on with @p prefix? */
static bool all_prefixed(const char *text, const char *attr, const char *prefix)
{
    size_t skip = strlen(attr);
    size_t n = strlen(prefix);
    for (const char *p = strstr(text, attr); p != NULL; p = strstr(p + 1, attr)) {
        if (strncmp(p + skip, prefix, n) != 0)
            return false;
    }
    return true;
}

/* ==== charts ==== */

static void report_chart_columns__png_svg_pdf(void **state)
{
    (void)state;
    char dir[256], path[512];
    rp_error err = RP_ERROR_INIT;
    rp_table *t = year_table();
    rp_chart *c = NULL;
    rp_chart_opts o = RP_CHART_OPTS_INIT;
    o.source = "Source: test data";
    assert_rp_ok(rp_chart_from_table(&c, t, 0, RP_CHART_COLUMNS, &o, &err), &err);
    assert_string_equal(rp_chart_title(c), "Victims by year of registration");

    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/years.png", dir);
    assert_rp_ok(rp_chart_write(c, RP_CHART_PNG, path, &err), &err);
    check_png(path, 1080, 600); /* 720 x 405 points at 1.5 pixels a point */

    size_t len = 0;
    char *svg = NULL;
    render(&svg, &len, c, RP_CHART_SVG, NULL);
    assert_true(strncmp(svg, "<?xml", 5) == 0);
    assert_non_null(
        strstr(svg, "<title id=\"chart-title\">Victims by year of registration</title>"));
    assert_non_null(strstr(svg, "Horizontal axis: Year of registration"));
    assert_non_null(strstr(svg, "Vertical axis: Number of persons"));
    assert_non_null(strstr(svg, "2011: not published"));
    assert_non_null(strstr(svg, "2015: 9,000"));
    assert_null(strstr(svg, "Not recorded")); /* "" is left out by default */
    assert_non_null(strstr(svg, "role=\"img\""));
    rp_free(svg);

    char *pdf = NULL;
    render(&pdf, &len, c, RP_CHART_PDF, NULL);
    assert_true(len > 1000 && memcmp(pdf, "%PDF-", 5) == 0);
    rp_free(pdf);
    rp_chart_free(c);
    rp_table_free(t);
    rp_test_rmtree(dir);
}

static void report_chart_bars__largest_first_top_n(void **state)
{
    (void)state;
    char dir[256], path[512];
    rp_error err = RP_ERROR_INIT;
    rp_table *t = citizenship_table();
    rp_chart *c = NULL;
    rp_chart_opts o = RP_CHART_OPTS_INIT;
    o.top_n = 10;
    assert_rp_ok(rp_chart_from_table(&c, t, 0, RP_CHART_BARS, &o, &err), &err);
    const char *d = rp_chart_desc(c);
    /* largest first; the suppressed United States sorts after every published bar, so it
     * falls outside the ten shown; country names, not codes */
    assert_true(strncmp(strstr(d, "Philippines"), "Philippines: 11,312; Moldova: 7,363", 35) == 0);
    assert_null(strstr(d, "United States"));
    assert_non_null(strstr(d, "Ghana: 545; Kyrgyzstan: 449."));
    assert_non_null(strstr(d, "The 10 largest of 17 categories (citizenship) are shown."));
    assert_null(strstr(d, "Unknown"));
    assert_null(strstr(d, SECRET_TEXT));

    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/citizenship.png", dir);
    assert_rp_ok(rp_chart_write(c, RP_CHART_PNG, path, &err), &err);
    check_png(path, 1080, 400);
    rp_chart_free(c);

    /* all of them, missing categories too: the suppressed ones come last, as gaps */
    o.top_n = 0;
    o.show_missing = true;
    assert_rp_ok(rp_chart_from_table(&c, t, 0, RP_CHART_BARS, &o, &err), &err);
    d = rp_chart_desc(c);
    assert_non_null(strstr(d, "Unknown: 7,484"));
    assert_non_null(strstr(d, "Not recorded: 206"));
    assert_non_null(strstr(d, "United States: not published; Kosovo: not published."));
    assert_null(strstr(d, SECRET_TEXT));
    rp_chart_free(c);
    rp_table_free(t);
    rp_test_rmtree(dir);
}

static const rp_chart_estimate_row est_rows[] = {
    {"All", 10086, false, 11313, 10979, 11685},
    {"2013", 2744, false, 4567, 3800, INFINITY},
    {"2014", SECRET, true, NAN, NAN, NAN},
    {"2015", 300, false, NAN, NAN, NAN},
};

static void report_chart_estimate__interval_beside_observed(void **state)
{
    (void)state;
    char dir[256], path[512];
    rp_error err = RP_ERROR_INIT;
    rp_chart *c = NULL;
    rp_chart_opts o = RP_CHART_OPTS_INIT;
    o.title = "Estimated number of victims";
    o.x_label = "Year";
    assert_rp_ok(rp_chart_from_estimates(&c, est_rows, 4, &o, &err), &err);
    const char *d = rp_chart_desc(c);
    assert_non_null(strstr(d, "All: observed 10,086, estimated 11,313 (10,979 to 11,685)"));
    /* a hidden count hides its estimate too, worded alike whatever the reason */
    assert_non_null(strstr(d, "2014: observed not published, estimate not published"));
    assert_null(strstr(d, "2014: observed not published, not estimable"));
    assert_non_null(strstr(d, "2015: observed 300, not estimable"));
    assert_non_null(strstr(d, "95% interval"));
    assert_null(strstr(d, SECRET_TEXT));

    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/estimate.png", dir);
    assert_rp_ok(rp_chart_write(c, RP_CHART_PNG, path, &err), &err);
    check_png(path, 1080, 600);
    snprintf(path, sizeof(path), "%s/estimate.pdf", dir);
    assert_rp_ok(rp_chart_write(c, RP_CHART_PDF, path, &err), &err);
    rp_chart_free(c);
    rp_test_rmtree(dir);
}

static void report_chart_svg__inline_ids_prefixed(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_table *t = year_table();
    rp_chart *c = NULL;
    assert_rp_ok(rp_chart_from_table(&c, t, 0, RP_CHART_COLUMNS, NULL, &err), &err);
    size_t len = 0;
    char *svg = NULL;
    render(&svg, &len, c, RP_CHART_SVG, "s1-chart");
    assert_true(strncmp(svg, "<svg", 4) == 0);
    assert_non_null(strstr(svg, "aria-labelledby=\"s1-chart-title s1-chart-desc\""));
    /* every id and every reference to one carries the prefix */
    assert_true(all_prefixed(svg, "id=\"", "s1-chart-"));
    assert_true(all_prefixed(svg, "href=\"#", "s1-chart-"));
    rp_free(svg);

    char *data = NULL;
    assert_rp_status(rp_chart_render(&data, &len, c, RP_CHART_SVG, "bad prefix", &err), RP_EINVAL,
                     &err);
    assert_null(data);
    assert_rp_status(rp_chart_render(&data, &len, c, (rp_chart_format)9, NULL, &err), RP_EINVAL,
                     &err);
    rp_chart_free(c);
    rp_table_free(t);
}

static void report_chart__rejects_bad_input(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_table *t = year_table();
    rp_chart *c = NULL;
    assert_rp_status(rp_chart_from_table(&c, t, 1, RP_CHART_COLUMNS, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "dimension 1"));
    assert_rp_status(rp_chart_from_table(&c, t, 0, RP_CHART_ESTIMATE, NULL, &err), RP_EINVAL, &err);
    rp_chart_opts o = RP_CHART_OPTS_INIT;
    o.width = -1.0;
    assert_rp_status(rp_chart_from_table(&c, t, 0, RP_CHART_BARS, &o, &err), RP_EINVAL, &err);
    o = (rp_chart_opts)RP_CHART_OPTS_INIT;
    o.ci_level = 1.5;
    assert_rp_status(rp_chart_from_table(&c, t, 0, RP_CHART_BARS, &o, &err), RP_EINVAL, &err);
    assert_null(c);

    rp_chart_estimate_row bad = {"x", 10, false, 5, 6, 8}; /* estimate below lo */
    assert_rp_status(rp_chart_from_estimates(&c, &bad, 1, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "row 0"));
    bad = (rp_chart_estimate_row){"x", -1, false, 5, 4, 8};
    assert_rp_status(rp_chart_from_estimates(&c, &bad, 1, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_chart_from_estimates(&c, est_rows, 0, NULL, &err), RP_EINVAL, &err);
    /* an estimate beside a hidden count is refused: it would tell the count's size */
    const rp_chart_estimate_row leak[] = {{"2014", SECRET, true, 900, 100, INFINITY}};
    assert_rp_status(rp_chart_from_estimates(&c, leak, 1, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "suppressed"));
    assert_null(c);
    rp_table_free(t);
}

/* ==== labels ==== */

static void report_chart_labels__codes_read_as_words(void **state)
{
    (void)state;

    static const struct {
        rp_field field;
        const char *code;
        const char *label;
    } cases[] = {
        {RP_FIELD_EXPLOITATION, "forced_labour", "Forced labour"},
        {RP_FIELD_EXPLOITATION, "sexual", "Sexual exploitation"},
        {RP_FIELD_LABOUR_SECTORS, "mining_drilling", "Mining and drilling"},
        {RP_FIELD_CITIZENSHIP, "MD", "Moldova"},
        {RP_FIELD_CITIZENSHIP, "NA", "Namibia"},
        {RP_FIELD_CITIZENSHIP, "XK", "Kosovo"},
        {RP_FIELD_COUNTRY_OF_EXPLOITATION, "CI", "C\xc3\xb4te d'Ivoire"},
        {RP_FIELD_CITIZENSHIP, "QQ", "QQ"},
        {RP_FIELD_AGE_BAND, "18-20",
         "18\xe2\x80\x93"
         "20"},
        {RP_FIELD_AGE_BAND, "48+", "48 and over"},
        {RP_FIELD_SEX, "female", "Female"},
        {RP_FIELD_SEX, "", "Not recorded"},
        {RP_FIELD_SEX, "unknown", "Unknown"},
        {RP_FIELD_REGISTRATION_YEAR, "2016", "2016"},
    };

    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(rp_chart_cat_label(buf, sizeof(buf), cases[i].field, cases[i].code),
                            cases[i].label);
    assert_string_equal(rp_chart_cat_label(buf, 5, RP_FIELD_EXPLOITATION, "forced_labour"), "Forc");
    assert_string_equal(rp_chart_field_label(RP_FIELD_REGISTRATION_YEAR), "Year of registration");
}

/* ==== HTML and workbook ==== */

static void report_html__accessible_self_contained(void **state)
{
    (void)state;
    char dir[256], path[512];
    rp_error err = RP_ERROR_INIT;
    rp_table *years_t = year_table();
    rp_table *cz = citizenship_table();
    rp_free(cz->title);
    cz->title = rp_strdup("Citizenship <b>& \"more\"</b>");
    rp_chart *c1 = NULL, *c2 = NULL, *ce = NULL;
    assert_rp_ok(rp_chart_from_table(&c1, years_t, 0, RP_CHART_COLUMNS, NULL, &err), &err);
    assert_rp_ok(rp_chart_from_table(&c2, cz, 0, RP_CHART_BARS, NULL, &err), &err);
    assert_rp_ok(rp_chart_from_estimates(&ce, est_rows, 4, NULL, &err), &err);
    rp_report_section sections[] = {{years_t, c1, "Trend.", NULL, NULL, NULL, 0},
                                    {cz, c2, NULL, NULL, NULL, NULL, 0}};
    const char *sources[] = {"Test source <1>"};
    const char *method[] = {"Cells below 5 are suppressed."};
    rp_report_doc doc = {.title = "Patterns & trends",
                         .sections = sections,
                         .n_sections = 2,
                         .estimates = est_rows,
                         .n_estimates = 4,
                         .estimate_chart = ce,
                         .ci_level = 0.95,
                         .sources = sources,
                         .n_sources = 1,
                         .method = method,
                         .n_method = 1,
                         .generated = "rapporteur test"};
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/report.html", dir);
    assert_rp_ok(rp_report_html_write(&doc, path, &err), &err);
    char *html = rp_test_slurp(path, NULL);
    assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0);
    assert_non_null(strstr(html, "<title>Patterns &amp; trends</title>"));
    assert_non_null(strstr(html, "<caption id=\"s1-cap\">Victims by year of registration"));
    assert_non_null(strstr(html, "Citizenship &lt;b&gt;&amp; &quot;more&quot;&lt;/b&gt;"));
    assert_null(strstr(html, "<b>&"));
    assert_non_null(strstr(html, "<th scope=\"col\">Year of registration</th>"));
    assert_non_null(strstr(html, "<th scope=\"row\">2011</th><td class=\"sup\">x"));
    /* the estimate row of a hidden count: four marks, no reason given */
    const char *r14 = strstr(strstr(html, "id=\"est-h\""), "<th scope=\"row\">2014</th>");
    assert_non_null(r14);
    const char *r14_end = strstr(r14, "</tr>");
    size_t marks = 0;
    for (const char *p = strstr(r14, "class=\"sup\""); p != NULL && p < r14_end;
         p = strstr(p + 1, "class=\"sup\""))
        marks++;
    assert_int_equal(marks, 4);
    assert_non_null(strstr(html, "<desc id=\"s1-chart-desc\">"));
    assert_non_null(strstr(html, "<td>no upper bound</td>"));
    assert_non_null(strstr(html, "Test source &lt;1&gt;"));
    assert_non_null(strstr(html, "viewport"));
    /* no script, nothing fetched from elsewhere, no suppressed value */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "http://www.w3.org/1999/xlink\" xlink:href=\"http"));
    assert_null(strstr(html, SECRET_TEXT));
    assert_null(strstr(html, "777777"));
    free(html);

    snprintf(path, sizeof(path), "%s/report.xlsx", dir);
    assert_rp_ok(rp_report_xlsx_write(&doc, path, &err), &err);
    size_t len = 0;
    char *xlsx = rp_test_slurp(path, &len);
    assert_true(len > 4000 && memcmp(xlsx, "PK\x03\x04", 4) == 0);
    free(xlsx);

    rp_report_doc empty = {0};
    assert_rp_status(rp_report_html_write(&empty, path, &err), RP_EINVAL, &err);
    assert_rp_status(rp_report_xlsx_write(&empty, path, &err), RP_EINVAL, &err);
    snprintf(path, sizeof(path), "%s/no/such/dir/report.html", dir);
    assert_rp_status(rp_report_html_write(&doc, path, &err), RP_EIO, &err);
    rp_chart_free(c1);
    rp_chart_free(c2);
    rp_chart_free(ce);
    rp_table_free(years_t);
    rp_table_free(cz);
    rp_test_rmtree(dir);
}

/* ==== allocation failures ==== */

typedef struct sweep {
    rp_table *t;
    rp_chart *c;
} sweep;

static int sweep_run(void *payload)
{
    sweep *s = payload;
    rp_chart_opts o = RP_CHART_OPTS_INIT;
    o.top_n = 5;
    o.source = "Source";
    int rc = rp_chart_from_table(&s->c, s->t, 0, RP_CHART_BARS, &o, NULL);
    if (rc != RP_OK)
        return rc;
    char *svg = NULL;
    size_t len = 0;
    rc = rp_chart_render(&svg, &len, s->c, RP_CHART_SVG, "p", NULL);
    rp_free(svg);
    if (rc != RP_OK) {
        rp_chart_free(s->c);
        s->c = NULL;
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    sweep *s = payload;
    rp_chart_free(s->c);
    s->c = NULL;
}

static void report_chart__alloc_failures(void **state)
{
    (void)state;
    sweep s = {citizenship_table(), NULL};
    rp_test_alloc_sweep(sweep_run, sweep_undo, &s, 5000);
    rp_table_free(s.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_chart_columns__png_svg_pdf),
        cmocka_unit_test(report_chart_bars__largest_first_top_n),
        cmocka_unit_test(report_chart_estimate__interval_beside_observed),
        cmocka_unit_test(report_chart_svg__inline_ids_prefixed),
        cmocka_unit_test(report_chart__rejects_bad_input),
        cmocka_unit_test(report_chart_labels__codes_read_as_words),
        cmocka_unit_test(report_html__accessible_self_contained),
        cmocka_unit_test(report_chart__alloc_failures),
    };
    return cmocka_run_group_tests_name("report_chart", tests, setup, NULL);
}
