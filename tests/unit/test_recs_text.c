/*
 * Unit tests for the plain-text importer's parser (src/recs/text.c): recommendation
 * lists written in the style of GRETA reports (tests/fixtures/recs/greta_list.txt and
 * table-driven snippets) with wrapped lines, lettered and roman sub-points, bullets,
 * several "GRETA urges / considers / invites" sentences in one paragraph, page numbers,
 * footnote marks of every kind, CRLF line ends, and the errors (no paragraph, bad UTF-8,
 * NUL byte) with their positions; an allocation-failure sweep.
 */
#include "rp_test.h"

#include <rapporteur/error.h>
#include <rapporteur/recs.h>

static rp_recs_text *parse_str(const char *s)
{
    rp_recs_text *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_text_parse(&t, s, strlen(s), "test.txt", &err), &err);
    assert_non_null(t);
    return t;
}

static rp_recs_text *parse_fixture(const char *rel)
{
    char path[1024];
    char *data = NULL;
    size_t len = 0;
    rp_test_fixture(path, sizeof(path), rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    data = malloc(1 << 16);
    assert_non_null(data);
    len = fread(data, 1, (1 << 16) - 1, f);
    fclose(f);
    rp_recs_text *t = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_recs_text_parse(&t, data, len, rel, &err);
    free(data);
    assert_rp_ok(rc, &err);
    return t;
}

static void expect_item(const rp_recs_text *t,
                        size_t i,
                        const char *para,
                        int seq,
                        rp_rec_strength strength,
                        const char *text)
{
    assert_true(i < t->n_items);
    assert_string_equal(t->items[i].paragraph, para);
    assert_int_equal(t->items[i].seq, seq);
    assert_int_equal(t->items[i].strength, strength);
    assert_string_equal(t->items[i].text, text);
}

/* ==== the fixture ==== */

static void recs_text__greta_list_fixture(void **state)
{
    (void)state;
    rp_recs_text *t = parse_fixture("recs/greta_list.txt");
    /* the title, the note under it, and the page number "12" */
    assert_int_equal(t->skipped_lines, 3);
    assert_int_equal(t->n_items, 9);
    expect_item(t, 0, "1", 1, RP_REC_URGES,
                "GRETA urges the Arcadian authorities to take further steps to proactively "
                "identify victims of trafficking for the purpose of labour exploitation, in "
                "particular in agriculture and construction.");
    assert_int_equal(t->items[0].line, 5);
    expect_item(t, 1, "2", 1, RP_REC_CONSIDERS,
                "GRETA considers that the authorities should improve the collection of data on "
                "victims of trafficking, disaggregated by sex, age and form of exploitation.");
    assert_int_equal(t->items[1].n_seq, 2);
    expect_item(t, 2, "2", 2, RP_REC_INVITES,
                "GRETA also invites the authorities to publish these data annually.");
    const char *lead = "Further to the recommendation made in the second evaluation report, GRETA "
                       "urges the Arcadian authorities to: ";
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "%sset up a State compensation scheme accessible to all victims "
             "of trafficking, irrespective of their nationality;",
             lead);
    expect_item(t, 3, "3(a)", 1, RP_REC_URGES, buf);
    assert_int_equal(t->items[3].line, 16);
    snprintf(buf, sizeof(buf),
             "%sensure that prosecutors request compensation in criminal "
             "proceedings, including by: (i) training prosecutors; (ii) "
             "issuing guidance;",
             lead);
    expect_item(t, 4, "3(b)", 1, RP_REC_URGES, buf);
    snprintf(buf, sizeof(buf), "%smake use of the confiscated assets of traffickers.", lead);
    expect_item(t, 5, "3(c)", 1, RP_REC_URGES, buf);
    expect_item(t, 6, "4", 1, RP_REC_INVITES,
                "GRETA invites the authorities to consider introducing due diligence obligations "
                "for companies, covering: - supply chains of public procurement; - recruitment "
                "fees charged to migrant workers.");
    expect_item(t, 7, "5", 1, RP_REC_URGES,
                "GRETA strongly urges the authorities to adopt the new national action plan "
                "without further delay.");
    expect_item(t, 8, "5", 2, RP_REC_CONSIDERS,
                "GRETA once again considers that a national rapporteur should be appointed. The "
                "rapporteur should have access to all data.");
    rp_recs_text_free(t);
}

static void recs_text__crlf_line_ends(void **state)
{
    (void)state;
    rp_recs_text *t = parse_fixture("recs/crlf.txt");
    assert_int_equal(t->n_items, 2);
    expect_item(t, 0, "1", 1, RP_REC_URGES, "GRETA urges the authorities to act.");
    expect_item(t, 1, "2", 1, RP_REC_INVITES, "GRETA invites the authorities to report.");
    assert_int_equal(t->items[1].line, 2);
    rp_recs_text_free(t);
}

/* ==== table-driven snippets ==== */

static void recs_text__snippets(void **state)
{
    (void)state;

    static const struct {
        const char *in;
        size_t n;
        const char *para0;
        rp_rec_strength strength0;
        const char *text0;
    } cases[] = {
        /* footnote digits glued to a full stop before a capital */
        {"1. GRETA urges the authorities to act.12 They should report.\n", 1, "1", RP_REC_URGES,
         "GRETA urges the authorities to act. They should report."},
        /* ... but a number after "No." stays */
        {"1. GRETA invites the authorities to ratify CETS No.197 soon.\n", 1, "1", RP_REC_INVITES,
         "GRETA invites the authorities to ratify CETS No.197 soon."},
        /* bracketed and superscript marks, an asterisk after a word */
        {"1. GRETA urges[3] the authorities\xC2\xB2 to act*.\n", 1, "1", RP_REC_URGES,
         "GRETA urges the authorities to act."},
        /* a hyphen at the end of a line joins without a space */
        {"1. GRETA considers that anti-\ntrafficking training is needed.\n", 1, "1",
         RP_REC_CONSIDERS, "GRETA considers that anti-trafficking training is needed."},
        /* a wrapped line starting with a year is not a paragraph */
        {"1. GRETA urges the authorities to adopt the plan announced in\n2018. It should be "
         "funded.\n",
         1, "1", RP_REC_URGES,
         "GRETA urges the authorities to adopt the plan announced in 2018. It should be funded."},
        /* a paragraph number alone on its line */
        {"7.\nGRETA invites the authorities to act.\n", 1, "7", RP_REC_INVITES,
         "GRETA invites the authorities to act."},
        /* not GRETA's wording: kept, strength none */
        {"1. The Committee of the Parties recommends that the authorities act.\n", 1, "1",
         RP_REC_STRENGTH_NONE, "The Committee of the Parties recommends that the authorities act."},
        /* roman sub-points first: roman is the level that is split */
        {"2. GRETA urges the authorities to:\n(i) train judges;\n(ii) train prosecutors.\n", 2,
         "2(i)", RP_REC_URGES, "GRETA urges the authorities to: train judges;"},
        /* lettered sub-points "a)" and a sub-point with its own GRETA sentence */
        {"3. GRETA urges the authorities to:\na) act;\nb) GRETA invites them to report.\n", 2,
         "3(a)", RP_REC_URGES, "GRETA urges the authorities to: act;"},
        /* (h) then (i): the (i) is a letter */
        {"4. GRETA urges the authorities to:\n(h) act;\n(i) report.\n", 2, "4(h)", RP_REC_URGES,
         "GRETA urges the authorities to: act;"},
        /* "GRETA" inside a word or other verbs do not split */
        {"5. GRETA urges the authorities to act. GRETA welcomes the plan.\n", 1, "5", RP_REC_URGES,
         "GRETA urges the authorities to act. GRETA welcomes the plan."},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_recs_text *t = parse_str(cases[i].in);
        if (t->n_items != cases[i].n || strcmp(t->items[0].paragraph, cases[i].para0) != 0 ||
            t->items[0].strength != cases[i].strength0 ||
            strcmp(t->items[0].text, cases[i].text0) != 0) {
            print_error("case %zu: %zu items, first '%s' (%d): '%s'\n", i, t->n_items,
                        t->items[0].paragraph, (int)t->items[0].strength, t->items[0].text);
            fail();
        }
        rp_recs_text_free(t);
    }
}

static void recs_text__sub_point_with_own_sentence(void **state)
{
    (void)state;
    rp_recs_text *t = parse_str(
        "3. GRETA urges the authorities to:\na) act;\nb) GRETA invites them to report.\n");
    expect_item(t, 1, "3(b)", 1, RP_REC_INVITES, "GRETA invites them to report.");
    assert_int_equal(t->items[1].line, 3);
    rp_recs_text_free(t);
}

/* ==== review fixes ==== */

/* Numbers that are not footnote marks stay; marks after commas go. */
static void recs_text__footnote_rules(void **state)
{
    (void)state;

    static const struct {
        const char *in;
        const char *text0;
    } cases[] = {
        {"1. GRETA invites the authorities to ratify the Convention No.197\n",
         "GRETA invites the authorities to ratify the Convention No.197"},
        {"1. GRETA urges the authorities to apply Article.10 and para.12\n",
         "GRETA urges the authorities to apply Article.10 and para.12"},
        {"1. GRETA urges the authorities to ensure compensation,23 in all cases.\n",
         "GRETA urges the authorities to ensure compensation, in all cases."},
        {"1. GRETA urges the authorities to ensure compensation,23\nin all cases.\n",
         "GRETA urges the authorities to ensure compensation, in all cases."},
        {"1. GRETA urges the authorities to pay 1,500 euros.\n",
         "GRETA urges the authorities to pay 1,500 euros."},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_recs_text *t = parse_str(cases[i].in);
        if (strcmp(t->items[0].text, cases[i].text0) != 0) {
            print_error("case %zu: '%s'\n", i, t->items[0].text);
            fail();
        }
        rp_recs_text_free(t);
    }
}

/* A closing "GRETA ..." after lettered sub-points is a recommendation of its own. */
static void recs_text__closing_sentence_after_sub_points(void **state)
{
    (void)state;
    rp_recs_text *t = parse_str("3. GRETA urges the authorities to:\n(a) act;\n(b) report.\n"
                                "GRETA also invites them to publish\nthe data.\n");
    assert_int_equal(t->n_items, 3);
    expect_item(t, 1, "3(b)", 1, RP_REC_URGES, "GRETA urges the authorities to: report.");
    expect_item(t, 2, "3", 1, RP_REC_INVITES, "GRETA also invites them to publish the data.");
    assert_int_equal(t->items[2].line, 4);
    rp_recs_text_free(t);
}

/* Gaps above 20 after a finished sentence; numbers that go down are counted. */
static void recs_text__paragraph_numbers(void **state)
{
    (void)state;
    rp_recs_text *t = parse_str("1. GRETA urges the authorities to act.\n45. GRETA invites the "
                                "authorities to report.\n");
    assert_int_equal(t->n_items, 2);
    expect_item(t, 1, "45", 1, RP_REC_INVITES, "GRETA invites the authorities to report.");
    rp_recs_text_free(t);
    t = parse_str("5. GRETA urges the authorities to act.\n3. GRETA invites the authorities to "
                  "report.\n");
    /* kept as text of paragraph 5 (whose second GRETA sentence it holds), and counted */
    assert_int_equal(t->n_items, 2);
    assert_string_equal(t->items[1].paragraph, "5");
    assert_int_equal(t->out_of_order, 1);
    assert_int_equal(t->first_out_of_order, 2);
    rp_recs_text_free(t);
}

/* Soft hyphens at line ends go; real hyphenated words stay. */
static void recs_text__line_end_hyphens(void **state)
{
    (void)state;

    static const struct {
        const char *in;
        const char *text0;
    } cases[] = {
        {"1. GRETA urges the authorities to identify vic-\ntims promptly.\n",
         "GRETA urges the authorities to identify victims promptly."},
        {"1. GRETA urges the authorities to fund anti-\ntrafficking units and co-\noperation.\n",
         "GRETA urges the authorities to fund anti-trafficking units and co-operation."},
        {"1. GRETA urges the Council of Europe-\nGRETA cooperation.\n",
         "GRETA urges the Council of Europe-GRETA cooperation."},
        {"1. GRETA urges the authorities to set up a state-of-\nthe-art registry.\n",
         "GRETA urges the authorities to set up a state-of-the-art registry."},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_recs_text *t = parse_str(cases[i].in);
        if (strcmp(t->items[0].text, cases[i].text0) != 0) {
            print_error("case %zu: '%s'\n", i, t->items[0].text);
            fail();
        }
        rp_recs_text_free(t);
    }
}

/* Article headings and page headers and footers are dropped, not glued. */
static void recs_text__headings_and_page_furniture(void **state)
{
    (void)state;
    rp_recs_text *t =
        parse_str("1. GRETA urges the authorities to act.\n"
                  "Article 10 - Identification of victims\n"
                  "2. GRETA invites the authorities\n"
                  "GRETA(2023)05 45\n"
                  "______________\n"
                  "46\n"
                  "to report.\n"
                  "Article 12\n"
                  "3. GRETA considers that Article 10 - Identification needs work.\n");
    assert_int_equal(t->n_items, 3);
    expect_item(t, 0, "1", 1, RP_REC_URGES, "GRETA urges the authorities to act.");
    expect_item(t, 1, "2", 1, RP_REC_INVITES, "GRETA invites the authorities to report.");
    expect_item(t, 2, "3", 1, RP_REC_CONSIDERS,
                "GRETA considers that Article 10 - Identification needs work.");
    assert_int_equal(t->skipped_lines, 5);
    rp_recs_text_free(t);
}

/* GRETA's appendix: "▪ ..." bullets under article headings, "(paragraph N)" labels. */
static void recs_text__appendix_bullets(void **state)
{
    (void)state;
    rp_recs_text *t = parse_str(
        "Appendix - List of GRETA's conclusions and proposals for action\n"
        "Article 10\n"
        "\xE2\x96\xAA GRETA urges the authorities to identify victims (paragraph 125);\n"
        "\xE2\x96\xAA GRETA considers that the authorities should train staff (paragraphs 127 "
        "and 130).\n"
        "\xE2\x96\xAA GRETA invites the authorities to\nreport (paragraph 125).\n"
        "\xE2\x96\xAA GRETA invites the authorities to publish data.\n");
    assert_int_equal(t->n_items, 4);
    expect_item(t, 0, "125", 1, RP_REC_URGES,
                "GRETA urges the authorities to identify victims (paragraph 125);");
    assert_int_equal(t->items[0].n_seq, 2);
    expect_item(t, 1, "127", 1, RP_REC_CONSIDERS,
                "GRETA considers that the authorities should train staff (paragraphs 127 and "
                "130).");
    expect_item(t, 2, "125", 2, RP_REC_INVITES,
                "GRETA invites the authorities to report (paragraph 125).");
    expect_item(t, 3, "bullet-4", 1, RP_REC_INVITES,
                "GRETA invites the authorities to publish data.");
    assert_int_equal(t->skipped_lines, 2);
    rp_recs_text_free(t);
}

/* ==== errors ==== */

static void recs_text__errors_have_positions(void **state)
{
    (void)state;
    rp_recs_text *t = NULL;
    rp_error err = RP_ERROR_INIT;
    const char *none = "Conclusions\n\nNo numbered paragraphs here.\n";
    assert_rp_status(rp_recs_text_parse(&t, none, strlen(none), "x.txt", &err), RP_EPARSE, &err);
    assert_null(t);
    assert_non_null(strstr(err.msg, "no numbered paragraph"));
    assert_string_equal(err.path, "x.txt");

    const char bad[] = "1. GRETA urges\n2. GRETA \xff invites\n";
    rp_error_clear(&err);
    assert_rp_status(rp_recs_text_parse(&t, bad, sizeof(bad) - 1, "x.txt", &err), RP_EPARSE, &err);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 10);
    assert_non_null(strstr(err.msg, "UTF-8"));

    const char nul[] = "1. GRETA urges\0 the authorities\n";
    rp_error_clear(&err);
    assert_rp_status(rp_recs_text_parse(&t, nul, sizeof(nul) - 1, "x.txt", &err), RP_EPARSE, &err);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 15);

    assert_rp_status(rp_recs_text_parse(&t, "", 0, "x.txt", &err), RP_EPARSE, &err);
    assert_rp_status(rp_recs_text_parse(NULL, "", 0, "x.txt", &err), RP_EINVAL, &err);
    rp_recs_text_free(NULL);
}

/* ==== allocation failures ==== */

static int sweep_run(void *payload)
{
    rp_recs_text **t = payload;
    const char *s = "1. GRETA urges the authorities to:\n(a) act;\n(b) report.\n2. GRETA invites "
                    "X. GRETA considers Y.\n";
    return rp_recs_text_parse(t, s, strlen(s), "sweep.txt", NULL);
}

static void sweep_undo(void *payload)
{
    rp_recs_text **t = payload;
    rp_recs_text_free(*t);
    *t = NULL;
}

static void recs_text__allocation_failures_are_enomem(void **state)
{
    (void)state;
    rp_recs_text *t = NULL;
    rp_test_alloc_sweep(sweep_run, sweep_undo, &t, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recs_text__greta_list_fixture),
        cmocka_unit_test(recs_text__crlf_line_ends),
        cmocka_unit_test(recs_text__snippets),
        cmocka_unit_test(recs_text__sub_point_with_own_sentence),
        cmocka_unit_test(recs_text__errors_have_positions),
        cmocka_unit_test(recs_text__allocation_failures_are_enomem),
        cmocka_unit_test(recs_text__footnote_rules),
        cmocka_unit_test(recs_text__closing_sentence_after_sub_points),
        cmocka_unit_test(recs_text__paragraph_numbers),
        cmocka_unit_test(recs_text__line_end_hyphens),
        cmocka_unit_test(recs_text__headings_and_page_furniture),
        cmocka_unit_test(recs_text__appendix_bullets),
    };
    return cmocka_run_group_tests_name("recs_text", tests, NULL, NULL);
}
