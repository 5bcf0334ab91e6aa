/*
 * Unit tests for capture tables and the capture-history CSV reader (src/mse/table.c,
 * src/mse/capture_csv.c): the reference datasets of data/mse, merges that reproduce the
 * published five-list tables, per-person and stratified input, every rejected input
 * with its position, and an allocation-failure sweep.
 */
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

/* ==== helpers ==== */

/* Path of fixture tests/fixtures/mse/<name>; a static buffer, valid until the next call. */
static const char *fixture(const char *name)
{
    static char path[1024];
    char rel[256];
    snprintf(rel, sizeof(rel), "mse/%s", name);
    return rp_test_fixture(path, sizeof(path), rel);
}

/* Cell of @p tab for the lists named in @p names ("PF,NCA"); fails if a name is unknown. */
static double cell(const rp_capture_table *tab, const char *names)
{
    char copy[256];
    size_t w = 0;
    snprintf(copy, sizeof(copy), "%s", names);
    char *p = copy;
    while (p != NULL && *p != '\0') {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        int idx = rp_capture_table_find_list(tab, p);
        assert_true(idx >= 0);
        w |= (size_t)1 << idx;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return tab->counts[w];
}

static void assert_tables_equal(const rp_capture_table *a, const rp_capture_table *b)
{
    assert_int_equal(a->n_lists, b->n_lists);
    for (size_t i = 0; i < a->n_lists; i++) {
        assert_string_equal(a->list_names[i], b->list_names[i]);
    }
    for (size_t w = 0; w < ((size_t)1 << a->n_lists); w++) {
        if (a->counts[w] != b->counts[w]) {
            print_error("cell %zu: %g != %g\n", w, a->counts[w], b->counts[w]);
        }
        assert_true(a->counts[w] == b->counts[w]); /* integer counts: exact */
    }
}

static rp_capture_set *read_ok(const char *name, const rp_capture_read_opts *opts)
{
    rp_capture_set *set = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_capture_read_csv(&set, fixture(name), opts, &err);
    assert_rp_ok(rc, &err);
    assert_non_null(set);
    return set;
}

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* ==== tables ==== */

static void capture_table_new__rejects_bad_arguments(void **state)
{
    (void)state;
    rp_capture_table *tab = NULL;
    rp_error err = RP_ERROR_INIT;
    const char *names[16] = {"A", "B", "C", "D", "E", "F", "G", "H",
                             "I", "J", "K", "L", "M", "N", "O", "P"};
    const char *repeated[] = {"A", "B", "A"};
    char long_name[RP_MSE_NAME_MAX + 1];
    memset(long_name, 'x', RP_MSE_NAME_MAX);
    long_name[RP_MSE_NAME_MAX] = '\0';
    const char *too_long[] = {"A", long_name};

    assert_int_equal(rp_capture_table_new(&tab, 1, names, &err), RP_EINVAL);
    assert_null(tab);
    assert_int_equal(rp_capture_table_new(&tab, 16, names, &err), RP_EINVAL);
    assert_int_equal(rp_capture_table_new(&tab, 3, repeated, &err), RP_EINVAL);
    assert_non_null(strstr(err.msg, "'A'"));
    assert_int_equal(rp_capture_table_new(&tab, 2, too_long, &err), RP_EINVAL);
    assert_null(tab);

    assert_rp_ok(rp_capture_table_new(&tab, 15, names, &err), &err);
    assert_int_equal(tab->n_lists, 15);
    assert_string_equal(tab->list_names[14], "O");
    assert_true(rp_capture_table_observed(tab) == 0.0);
    assert_int_equal(rp_capture_table_find_list(tab, "C"), 2);
    assert_int_equal(rp_capture_table_find_list(tab, "P"), -1);
    rp_capture_table *copy = rp_capture_table_dup(tab);
    assert_non_null(copy);
    assert_tables_equal(tab, copy);
    rp_capture_table_free(copy);
    rp_capture_table_free(tab);
    rp_capture_table_free(NULL);
}

static void capture_table_merge__takes_first_part_place(void **state)
{
    (void)state;
    const char *names[] = {"A", "B", "C", "D"};
    rp_capture_table *tab = NULL, *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_capture_table_new(&tab, 4, names, &err), &err);
    for (size_t w = 1; w < 16; w++) {
        tab->counts[w] = (double)w; /* distinct counts, total 120 */
    }
    assert_rp_ok(rp_capture_table_merge(&m, tab, "D+B", &err), &err);
    assert_int_equal(m->n_lists, 3);
    assert_string_equal(m->list_names[0], "A");
    assert_string_equal(m->list_names[1], "C");
    assert_string_equal(m->list_names[2], "DB");
    assert_true(rp_capture_table_observed(m) == 120.0);
    /* DB alone: old patterns B (2), D (8), BD (10) */
    assert_true(cell(m, "DB") == 20.0);
    /* A,C without DB: old pattern 5 */
    assert_true(cell(m, "A,C") == 5.0);
    /* A,DB: old 3, 9, 11 */
    assert_true(cell(m, "A,DB") == 23.0);
    rp_capture_table_free(m);

    static const struct {
        const char *spec;
        const char *needle;
    } bad[] = {
        {"A", "at least two"},     {"A+Z", "'Z'"},         {"A+A", "repeated"},
        {"A+B+C+D", "fewer than"}, {"A+", "unknown list"}, {"", "unknown list"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = NULL;
        assert_int_equal(rp_capture_table_merge(&m, tab, bad[i].spec, &err), RP_EINVAL);
        assert_null(m);
        if (strstr(err.msg, bad[i].needle) == NULL) {
            print_error("merge '%s': %s\n", bad[i].spec, err.msg);
        }
        assert_non_null(strstr(err.msg, bad[i].needle));
    }
    rp_capture_table_free(tab);
}

static void capture_table_select__reorders_and_counts_dropped(void **state)
{
    (void)state;
    const char *names[] = {"A", "B", "C"};
    const char *keep[] = {"C", "A"};
    const char *unknown[] = {"C", "Q"};
    const char *twice[] = {"C", "C"};
    rp_capture_table *tab = NULL, *s = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_capture_table_new(&tab, 3, names, &err), &err);
    for (size_t w = 1; w < 8; w++) {
        tab->counts[w] = (double)(10 * w); /* total 280 */
    }
    double dropped = -1.0;
    assert_rp_ok(rp_capture_table_select(&s, tab, keep, 2, &dropped, &err), &err);
    assert_string_equal(s->list_names[0], "C");
    assert_string_equal(s->list_names[1], "A");
    assert_true(dropped == 20.0);               /* B only */
    assert_true(cell(s, "C") == 40.0 + 60.0);   /* C, BC */
    assert_true(cell(s, "A") == 10.0 + 30.0);   /* A, AB */
    assert_true(cell(s, "A,C") == 50.0 + 70.0); /* AC, ABC */
    assert_true(rp_capture_table_observed(s) + dropped == 280.0);
    rp_capture_table_free(s);

    s = NULL;
    assert_int_equal(rp_capture_table_select(&s, tab, unknown, 2, NULL, &err), RP_EINVAL);
    assert_non_null(strstr(err.msg, "'Q'"));
    assert_int_equal(rp_capture_table_select(&s, tab, twice, 2, NULL, &err), RP_EINVAL);
    assert_int_equal(rp_capture_table_select(&s, tab, keep, 1, NULL, &err), RP_EINVAL);
    assert_null(s);
    rp_capture_table_free(tab);
}

/* ==== reference datasets ==== */

static void capture_read_csv__reads_reference_datasets(void **state)
{
    (void)state;

    /* Totals and cells from the shared data README and the CSVs themselves. */
    static const struct {
        const char *file;
        size_t k;
        double observed;
        size_t patterns;
        const char *cell;
        double count;
    } cases[] = {
        {"UKdat.csv", 6, 2744, 25, "PF,NCA", 31},
        {"UKdat_5.csv", 5, 2744, 18, "PFNCA", 995},
        {"Ned.csv", 6, 8234, 24, "O,P", 59},
        {"Ned_5.csv", 5, 8234, 17, "IO", 756},
        {"Australia.csv", 4, 414, 13, "B,C,D", 15},
        {"Korea.csv", 3, 123, 6, "b,c", 54},
        {"Kosovo.csv", 4, 4400, 15, "EXH,ABA,OSCE,HRW", 27},
        {"HIV_Rome.csv", 4, 1896, 13, "c1,c2", 33},
        {"Lesbian_Allegheny.csv", 4, 2185, 15, "A,D", 143},
        {"Artificial_3.csv", 3, 96, 4, "A,B", 6},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_capture_set *set = read_ok(cases[i].file, NULL);
        assert_int_equal(set->form, RP_CAPTURE_FORM_AGGREGATED);
        assert_int_equal(set->total->n_lists, cases[i].k);
        assert_int_equal(set->n_rows, cases[i].patterns);
        assert_int_equal(set->n_strata, 0);
        assert_int_equal(set->n_notes, 0);
        assert_true(rp_capture_table_observed(set->total) == cases[i].observed);
        assert_true(cell(set->total, cases[i].cell) == cases[i].count);
        assert_true(set->total->counts[0] == 0.0);
        rp_capture_set_free(set);
    }
}

/* Silverman (2020) and SparseMSE: UKdat_5 is UKdat with PF and NCA merged. */
static void capture_table_merge__ukdat_reproduces_ukdat5(void **state)
{
    (void)state;
    rp_capture_set *six = read_ok("UKdat.csv", NULL);
    rp_capture_set *five = read_ok("UKdat_5.csv", NULL);
    rp_capture_table *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_capture_table_merge(&m, six->total, "PF+NCA", &err), &err);
    assert_tables_equal(m, five->total); /* LA,NG,PFNCA,GO,GP in both */
    rp_capture_table_free(m);

    /* The same through the reader's merge option. */
    const char *merges[] = {"PF+NCA"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.merges = merges;
    opts.n_merges = 1;
    rp_capture_set *merged = read_ok("UKdat.csv", &opts);
    assert_tables_equal(merged->total, five->total);
    rp_capture_set_free(merged);
    rp_capture_set_free(six);
    rp_capture_set_free(five);
}

/* Ned_5 is Ned with I and O merged into IO (the README's list order IO,K,P,R,Z). */
static void capture_table_merge__ned_reproduces_ned5(void **state)
{
    (void)state;
    rp_capture_set *six = read_ok("Ned.csv", NULL);
    rp_capture_set *five = read_ok("Ned_5.csv", NULL);
    rp_capture_table *m = NULL, *s = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_capture_table_merge(&m, six->total, "I+O", &err), &err);
    /* Compare by name, whatever the merged list's position. */
    const char *order[] = {five->total->list_names[0], five->total->list_names[1],
                           five->total->list_names[2], five->total->list_names[3],
                           five->total->list_names[4]};
    double dropped = -1.0;
    assert_rp_ok(rp_capture_table_select(&s, m, order, 5, &dropped, &err), &err);
    assert_true(dropped == 0.0);
    assert_tables_equal(s, five->total);
    rp_capture_table_free(s);
    rp_capture_table_free(m);
    rp_capture_set_free(six);
    rp_capture_set_free(five);
}

/* ==== forms, strata, options ==== */

static void capture_read_csv__person_form_equals_aggregated(void **state)
{
    (void)state;
    rp_capture_set *agg = read_ok("Korea.csv", NULL);
    rp_capture_set *person = read_ok("korea_person.csv", NULL);
    assert_int_equal(person->form, RP_CAPTURE_FORM_PERSON);
    assert_int_equal(person->n_rows, 123);
    assert_tables_equal(person->total, agg->total);
    rp_capture_set_free(person);

    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.form = RP_CAPTURE_FORM_PERSON;
    person = read_ok("korea_person.csv", &opts);
    assert_tables_equal(person->total, agg->total);
    rp_capture_set_free(person);
    rp_capture_set_free(agg);
}

static void capture_read_csv__strata_aggregated(void **state)
{
    (void)state;
    const char *by[] = {"year", "sex"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.by = by;
    opts.n_by = 2;
    rp_capture_set *set = read_ok("strata_agg.csv", &opts);
    assert_int_equal(set->n_rows, 7);
    assert_int_equal(set->total->n_lists, 3);
    assert_string_equal(set->total->list_names[0], "A");
    assert_int_equal(set->n_strata, 4);
    assert_string_equal(set->stratum_labels[0], "year=2013,sex=F");
    assert_string_equal(set->stratum_labels[1], "year=2013,sex=M");
    assert_string_equal(set->stratum_labels[2], "year=2014,sex=F");
    assert_string_equal(set->stratum_labels[3], "year=2014,sex=M");
    assert_true(cell(set->strata[0], "B") == 9.0); /* 7 + 2, summed */
    assert_true(rp_capture_table_observed(set->strata[1]) == 9.0);
    assert_true(cell(set->strata[2], "A,B") == 3.0);
    assert_true(cell(set->strata[3], "A,B,C") == 1.0);
    assert_true(rp_capture_table_observed(set->total) == 32.0);
    assert_true(cell(set->total, "A") == 14.0);
    assert_int_equal(set->n_notes, 1);
    assert_non_null(strstr(set->notes[0], "pattern 0,1,0 on lines 4 and 6 summed"));
    assert_non_null(strstr(set->notes[0], "year=2013,sex=F"));
    rp_capture_set_free(set);

    /* One stratum column: sex ignored would be a list, so it must be a stratum too. */
    const char *by_year[] = {"year"};
    const char *merges[] = {"A+B"};
    opts.by = by_year;
    opts.n_by = 1;
    rp_capture_set *bad = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_int_equal(rp_capture_read_csv(&bad, fixture("strata_agg.csv"), &opts, &err), RP_EDATA);
    assert_null(bad);
    assert_non_null(strstr(err.msg, "'sex' expected 0 or 1"));

    /* Merges apply to every stratum. */
    opts.by = by;
    opts.n_by = 2;
    opts.merges = merges;
    opts.n_merges = 1;
    set = read_ok("strata_agg.csv", &opts);
    assert_int_equal(set->total->n_lists, 2);
    assert_string_equal(set->strata[2]->list_names[0], "AB");
    assert_true(cell(set->strata[2], "AB") == 13.0);
    assert_true(cell(set->total, "AB,C") == 1.0);
    rp_capture_set_free(set);
}

static void capture_read_csv__strata_person(void **state)
{
    (void)state;
    const char *by[] = {"year"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.by = by;
    opts.n_by = 1;
    rp_capture_set *set = read_ok("strata_person.csv", &opts);
    assert_int_equal(set->form, RP_CAPTURE_FORM_PERSON);
    assert_int_equal(set->n_strata, 2);
    assert_string_equal(set->stratum_labels[0], "year=2013");
    assert_string_equal(set->stratum_labels[1], "year=2014");
    assert_string_equal(set->total->list_names[1], "B");
    assert_true(rp_capture_table_observed(set->strata[0]) == 4.0);
    assert_true(cell(set->strata[0], "A,B") == 1.0);
    assert_true(cell(set->strata[1], "A,B,C") == 1.0);
    assert_true(rp_capture_table_observed(set->total) == 7.0);
    rp_capture_set_free(set);
}

static void capture_read_csv__bom_crlf_and_spaces(void **state)
{
    (void)state;
    rp_capture_set *set = read_ok("bom_crlf.csv", NULL);
    assert_int_equal(set->n_rows, 3);
    assert_string_equal(set->total->list_names[0], "A");
    assert_string_equal(set->total->list_names[1], "B");
    assert_true(cell(set->total, "A") == 3.0);
    assert_true(cell(set->total, "B") == 4.0);
    assert_true(cell(set->total, "A,B") == 2.0);
    rp_capture_set_free(set);
}

static void capture_read_csv__select_notes_dropped_people(void **state)
{
    (void)state;
    const char *lists[] = {"c", "b"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.lists = lists;
    opts.n_lists = 2;
    rp_capture_set *set = read_ok("Korea.csv", &opts);
    assert_string_equal(set->total->list_names[0], "c");
    assert_true(rp_capture_table_observed(set->total) == 123.0 - 41.0);
    assert_true(cell(set->total, "b,c") == 66.0); /* bc + bcd */
    assert_int_equal(set->n_notes, 1);
    assert_non_null(strstr(set->notes[0], "41 people"));
    rp_capture_set_free(set);
}

/* More list columns than a table holds are fine when a selection keeps few of them. */
static void capture_parse_csv__selection_ignores_unused_columns(void **state)
{
    (void)state;
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "L%d,", i);
    }
    n += (size_t)snprintf(text + n, sizeof(text) - n, "count\n");
    /* rows: L0 only (5), L1 only (6), L0+L1 (7), L19 only (8) */
    static const char *rows[] = {"1,0", "0,1", "1,1", "0,0"};
    static const int counts[] = {5, 6, 7, 8};
    for (int r = 0; r < 4; r++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", rows[r]);
        for (int i = 2; i < 20; i++) {
            n += (size_t)snprintf(text + n, sizeof(text) - n, ",%d", r == 3 && i == 19);
        }
        n += (size_t)snprintf(text + n, sizeof(text) - n, ",%d\n", counts[r]);
    }
    rp_capture_set *set = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_int_equal(rp_capture_parse_csv(&set, text, n, "wide", NULL, &err), RP_EDATA);
    assert_non_null(strstr(err.msg, "at most 15"));

    const char *lists[] = {"L1", "L0"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.lists = lists;
    opts.n_lists = 2;
    assert_rp_ok(rp_capture_parse_csv(&set, text, n, "wide", &opts, &err), &err);
    assert_int_equal(set->total->n_lists, 2);
    assert_true(cell(set->total, "L0") == 5.0);
    assert_true(cell(set->total, "L1") == 6.0);
    assert_true(cell(set->total, "L0,L1") == 7.0);
    assert_int_equal(set->n_notes, 1);
    assert_non_null(strstr(set->notes[0], "8 people"));
    rp_capture_set_free(set);
}

/* A per-person file several read chunks long, rows crossing chunk boundaries. */
static void capture_read_csv__streams_large_person_file(void **state)
{
    (void)state;
    char dir[512], path[1024];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/person.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("\xEF\xBB\xBF"
          "first,second,third\r\n",
          fp);
    double expect[8] = {0};
    for (unsigned i = 0; i < 100000; i++) {
        unsigned w = 1 + (i * 2654435761U >> 7) % 7;
        fprintf(fp, "%u, %u ,%u\r\n", w & 1U, (w >> 1) & 1U, (w >> 2) & 1U);
        expect[w] += 1.0;
    }
    fclose(fp);
    rp_capture_set *set = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_capture_read_csv(&set, path, NULL, &err);
    rp_test_rmtree(dir);
    assert_rp_ok(rc, &err);
    assert_int_equal(set->n_rows, 100000);
    assert_string_equal(set->total->list_names[0], "first");
    for (size_t w = 0; w < 8; w++) {
        assert_true(set->total->counts[w] == expect[w]);
    }
    rp_capture_set_free(set);
}

/* ==== rejected input ==== */

static void capture_read_csv__rejects_bad_input(void **state)
{
    (void)state;
    static const char *const by_year[] = {"year"};

    static const struct {
        const char *file;
        rp_capture_form form;
        int by; /* 1: stratify by year */
        int rc;
        const char *where; /* "file:line:column: " */
        const char *what;
    } cases[] = {
        {"bad_value.csv", 0, 0, RP_EDATA, "bad_value.csv:3:2: ", "expected 0 or 1"},
        {"bad_count_negative.csv", 0, 0, RP_EDATA,
         "bad_count_negative.csv:2:3: ", "non-negative integer"},
        {"bad_count_decimal.csv", 0, 0, RP_EDATA,
         "bad_count_decimal.csv:3:3: ", "non-negative integer"},
        {"bad_count_exponent.csv", 0, 0, RP_EDATA,
         "bad_count_exponent.csv:2:3: ", "non-negative integer"},
        {"bad_count_empty.csv", 0, 0, RP_EDATA,
         "bad_count_empty.csv:2:3: ", "non-negative integer"},
        {"bad_count_overflow.csv", 0, 0, RP_EDATA,
         "bad_count_overflow.csv:2:3: ", "non-negative integer"},
        {"bad_all_zero.csv", 0, 0, RP_EDATA, "bad_all_zero.csv:3:1: ",
         "all-zero capture history (the unobserved cell cannot be counted)"},
        {"bad_ragged_short.csv", 0, 0, RP_EPARSE,
         "bad_ragged_short.csv:3:4: ", "expected 4 fields"},
        {"bad_ragged_long.csv", 0, 0, RP_EPARSE, "bad_ragged_long.csv:2:4: ", "expected 3 fields"},
        {"bad_utf8.csv", 0, 0, RP_EPARSE, "bad_utf8.csv:3:3: ", "UTF-8"},
        {"bad_utf8_header.csv", 0, 0, RP_EPARSE, "bad_utf8_header.csv:1:2: ", "UTF-8"},
        {"bad_binary.csv", 0, 0, RP_EPARSE, "bad_binary.csv:3:2: ", "binary file"},
        {"bad_empty.csv", 0, 0, RP_EDATA, "bad_empty.csv:1:1: ", "no data rows"},
        {"bad_header_only.csv", 0, 0, RP_EDATA, "bad_header_only.csv:2:1: ", "no data rows"},
        {"bad_repeated_count.csv", 0, 0, RP_EDATA,
         "bad_repeated_count.csv:1:4: ", "repeated column 'count'"},
        {"bad_repeated_header.csv", 0, 0, RP_EDATA,
         "bad_repeated_header.csv:1:3: ", "repeated column 'A'"},
        {"bad_one_list.csv", 0, 0, RP_EDATA, "bad_one_list.csv:1:2: ", "at least 2 list columns"},
        {"bad_too_many_lists.csv", 0, 0, RP_EDATA,
         "bad_too_many_lists.csv:1:16: ", "at most 15 list columns"},
        {"bad_long_name.csv", 0, 0, RP_EDATA, "bad_long_name.csv:1:2: ", "at most 63 bytes"},
        {"bad_empty_name.csv", 0, 0, RP_EDATA,
         "bad_empty_name.csv:1:2: ", "expected a column name"},
        {"bad_quote.csv", 0, 0, RP_EPARSE, "bad_quote.csv:3:2: ", "bad quoting"},
        {"bad_unterminated.csv", 0, 0, RP_EPARSE, "bad_unterminated.csv:3:3: ", "closing quote"},
        {"bad_empty_stratum.csv", 0, 1, RP_EDATA,
         "bad_empty_stratum.csv:3:1: ", "stratum column 'year' expected a value"},
        {"korea_person.csv", RP_CAPTURE_FORM_AGGREGATED, 0, RP_EDATA,
         "korea_person.csv:1:1: ", "missing 'count' column"},
        {"Korea.csv", RP_CAPTURE_FORM_PERSON, 0, RP_EDATA,
         "Korea.csv:1:4: ", "unexpected 'count' column"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
        opts.form = cases[i].form;
        if (cases[i].by) {
            opts.by = by_year;
            opts.n_by = 1;
        }
        rp_capture_set *set = (rp_capture_set *)&opts; /* must come back NULL */
        rp_error err = RP_ERROR_INIT;
        char buf[1024];
        int rc = rp_capture_read_csv(&set, fixture(cases[i].file), &opts, &err);
        rp_error_format(&err, buf, sizeof(buf));
        if (rc != cases[i].rc || strstr(buf, cases[i].where) == NULL ||
            strstr(buf, cases[i].what) == NULL) {
            print_error("%s: rc %d, want %d: %s\n", cases[i].file, rc, cases[i].rc, buf);
        }
        assert_int_equal(rc, cases[i].rc);
        assert_null(set);
        assert_int_equal(err.code, cases[i].rc);
        assert_non_null(strstr(buf, cases[i].where));
        assert_non_null(strstr(buf, cases[i].what));

        /* The in-memory parser gives the same verdict and position. */
        size_t len = 0;
        char *data = rp_test_slurp(fixture(cases[i].file), &len);
        rp_error err2 = RP_ERROR_INIT;
        char buf2[1024];
        rc = rp_capture_parse_csv(&set, data, len, cases[i].file, &opts, &err2);
        free(data);
        assert_int_equal(rc, cases[i].rc);
        assert_null(set);
        assert_non_null(strstr(rp_error_format(&err2, buf2, sizeof(buf2)), cases[i].where));
    }
}

static void capture_read_csv__rejects_bad_options(void **state)
{
    (void)state;
    static const char *const by_region[] = {"region"};
    static const char *const by_count[] = {"count"};
    static const char *const merge_x[] = {"b+x"};
    static const char *const lists_zz[] = {"b", "zz"};
    static const char *const lists_one[] = {"b"};

    static const struct {
        const char *const *by;
        const char *const *merges;
        const char *const *lists;
        size_t n_lists;
        const char *what;
    } cases[] = {
        {by_region, NULL, NULL, 0, "'region'"},   {by_count, NULL, NULL, 0, "'count'"},
        {NULL, merge_x, NULL, 0, "'x'"},          {NULL, NULL, lists_zz, 2, "'zz'"},
        {NULL, NULL, lists_one, 1, "at least 2"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
        opts.by = cases[i].by;
        opts.n_by = cases[i].by != NULL;
        opts.merges = cases[i].merges;
        opts.n_merges = cases[i].merges != NULL;
        opts.lists = cases[i].lists;
        opts.n_lists = cases[i].n_lists;
        rp_capture_set *set = NULL;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_capture_read_csv(&set, fixture("Korea.csv"), &opts, &err);
        if (rc != RP_EINVAL || strstr(err.msg, cases[i].what) == NULL) {
            print_error("case %zu: rc %d: %s\n", i, rc, err.msg);
        }
        assert_int_equal(rc, RP_EINVAL);
        assert_null(set);
        assert_non_null(strstr(err.msg, cases[i].what));
    }

    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.version = 99;
    rp_capture_set *set = NULL;
    assert_int_equal(rp_capture_read_csv(&set, fixture("Korea.csv"), &opts, NULL), RP_EINVAL);

    rp_error err = RP_ERROR_INIT;
    assert_int_equal(rp_capture_read_csv(&set, fixture("no_such_file.csv"), NULL, &err), RP_EIO);
    assert_null(set);
    assert_non_null(strstr(err.path, "no_such_file.csv"));
}

/* ==== allocation failures ==== */

typedef struct sweep_case {
    const char *name;
    const char *data;
    size_t len;
    const rp_capture_read_opts *opts;
    rp_capture_set *set;
} sweep_case;

static int sweep_run(void *payload)
{
    sweep_case *c = payload;
    rp_error err = RP_ERROR_INIT;
    c->set = (rp_capture_set *)c; /* must come back NULL on failure */
    int rc = rp_capture_parse_csv(&c->set, c->data, c->len, c->name, c->opts, &err);
    if (rc != RP_OK) {
        assert_null(c->set);
        assert_int_equal(err.code, rc);
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    sweep_case *c = payload;
    rp_capture_set_free(c->set);
    c->set = NULL;
}

static void sweep(const char *file, const rp_capture_read_opts *opts)
{
    sweep_case c = {file, NULL, 0, opts, NULL};
    char *data = rp_test_slurp(fixture(file), &c.len);
    c.data = data;
    unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &c, 100000);
    assert_true(n > 1); /* failures were injected */
    free(data);
}

static void capture_parse_csv__alloc_failure_sweep(void **state)
{
    (void)state;
    sweep("UKdat.csv", NULL);

    static const char *const by[] = {"year", "sex"};
    static const char *const merges[] = {"A+C"};
    static const char *const lists[] = {"B", "AC"};
    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.by = by;
    opts.n_by = 2;
    opts.merges = merges;
    opts.n_merges = 1;
    opts.lists = lists;
    opts.n_lists = 2;
    sweep("strata_agg.csv", &opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capture_table_new__rejects_bad_arguments),
        cmocka_unit_test(capture_table_merge__takes_first_part_place),
        cmocka_unit_test(capture_table_select__reorders_and_counts_dropped),
        cmocka_unit_test(capture_read_csv__reads_reference_datasets),
        cmocka_unit_test(capture_table_merge__ukdat_reproduces_ukdat5),
        cmocka_unit_test(capture_table_merge__ned_reproduces_ned5),
        cmocka_unit_test(capture_read_csv__person_form_equals_aggregated),
        cmocka_unit_test(capture_read_csv__strata_aggregated),
        cmocka_unit_test(capture_read_csv__strata_person),
        cmocka_unit_test(capture_read_csv__bom_crlf_and_spaces),
        cmocka_unit_test(capture_read_csv__select_notes_dropped_people),
        cmocka_unit_test(capture_parse_csv__selection_ignores_unused_columns),
        cmocka_unit_test(capture_read_csv__streams_large_person_file),
        cmocka_unit_test(capture_read_csv__rejects_bad_input),
        cmocka_unit_test(capture_read_csv__rejects_bad_options),
        cmocka_unit_test(capture_parse_csv__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("capture", tests, setup, NULL);
}
