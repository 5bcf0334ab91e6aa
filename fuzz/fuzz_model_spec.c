/*
 * libFuzzer target for the model formula parser (rp_mse_model_parse) and its printer
 * (rp_mse_model_format). Each input is parsed against a 4-list, a 6-list and a 12-list
 * table (the last for the dotted bracket notation "[1.10,2.3]"); a model that parses is
 * printed in both styles and must parse back to the same terms (a round-trip property:
 * abort() when it does not, so libFuzzer reports the input).
 */
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The tables the formulas are parsed against, made once. The 6-list names use every
 * kind of byte a list name may hold (letters, digits, '_', '.', '-', UTF-8) and one is
 * RP_MSE_NAME_MAX - 1 bytes long, the longest allowed.
 */
static rp_capture_table *tab4;
static rp_capture_table *tab6;
static rp_capture_table *tab12;

static const char *const names4[] = {"A", "B", "C", "D"};
static const char *const names6[] = {
    "LA",
    "NGO_shelter",
    "police.force-2",
    "Inspectie\xc3\xa9",
    "GP",
    "national_crime_agency_referrals_under_the_modern_slavery_act_15"};
static const char *const names12[] = {"L1", "L2", "L3", "L4",  "L5",  "L6",
                                      "L7", "L8", "L9", "L10", "L11", "L12"};

/*
 * Big enough for any model on these tables in either style: at most RP_MSE_MAX_TERMS
 * terms of at most 11 lists of the 12-list table (under 48 bytes each), or the 56 terms
 * of the 6-list table (all 2- to 5-way terms), each under 5 * 64 bytes plus separators.
 */
#define FORMAT_BUF 32768

static char text[FORMAT_BUF];

static void free_tables(void)
{
    rp_capture_table_free(tab4);
    rp_capture_table_free(tab6);
    rp_capture_table_free(tab12);
    tab4 = tab6 = tab12 = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rp_error err = RP_ERROR_INIT;
    rp_init();
    if (strlen(names6[5]) != RP_MSE_NAME_MAX - 1 ||
        rp_capture_table_new(&tab4, 4, names4, &err) != RP_OK ||
        rp_capture_table_new(&tab6, 6, names6, &err) != RP_OK ||
        rp_capture_table_new(&tab12, 12, names12, &err) != RP_OK) {
        fprintf(stderr, "fuzz_model_spec: cannot make the tables: %s\n", err.msg);
        abort();
    }
    atexit(free_tables);
    return 0;
}

static bool same_model(const rp_mse_model *a, const rp_mse_model *b)
{
    return a->n_terms == b->n_terms &&
           memcmp(a->terms, b->terms, a->n_terms * sizeof(a->terms[0])) == 0;
}

static void fail(const char *what, const char *spec, const char *printed, const rp_error *err)
{
    fprintf(stderr, "fuzz_model_spec: %s\n  input:   '%s'\n  printed: '%s'\n  error:   %s\n", what,
            spec, printed, err ? err->msg : "");
    abort();
}

/*
 * Print @p m in @p style and parse the text again: both styles must give back the same
 * terms. The bracket notation has one digit per list up to 9 lists and dotted numbers
 * from 10; the names style prints the model without interactions as "main effects".
 */
static void round_trip(const rp_mse_model *m,
                       const rp_capture_table *tab,
                       rp_mse_model_style style,
                       const char *spec)
{
    rp_mse_model again;
    rp_error err = RP_ERROR_INIT;
    rp_mse_model_format(m, tab, style, text, sizeof(text));
    if (strlen(text) + 1 >= sizeof(text))
        fail("formatted model fills the whole buffer", spec, "", NULL);
    if (rp_mse_model_parse(&again, tab, text, &err) != RP_OK)
        fail("printed model does not parse back", spec, text, &err);
    if (!same_model(m, &again))
        fail("printed model parses back to other terms", spec, text, NULL);
}

/* Parse @p spec against @p tab and check the documented contract of the result. */
static void parse_one(const rp_capture_table *tab, const char *spec, size_t len)
{
    rp_mse_model m;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_mse_model_parse(&m, tab, spec, &err);
    if (rc == RP_EPARSE) {
        /* syntax errors carry a column inside the input (or just past its end) */
        if (err.column < 1 || (size_t)err.column > len + 1 || err.msg[0] == '\0')
            fail("syntax error without a valid column or message", spec, "", &err);
        return;
    }
    if (rc == RP_EINVAL) {
        if (err.msg[0] == '\0')
            fail("error without a message", spec, "", &err);
        return;
    }
    if (rc != RP_OK)
        fail("undocumented status", spec, "", &err);
    /* a parsed model is closed, canonical and free of the K-way term */
    rp_mse_model closed = m;
    if (rp_mse_model_close(&closed, &err) != RP_OK || !same_model(&m, &closed))
        fail("parsed model is not closed and canonical", spec, "", &err);
    uint32_t all = (uint32_t)((1u << tab->n_lists) - 1u);
    for (size_t i = 0; i < m.n_terms; i++) {
        uint32_t t = m.terms[i];
        if ((t & ~all) != 0 || t == all || __builtin_popcount(t) < 2)
            fail("parsed model has a term outside the table", spec, "", NULL);
    }
    round_trip(&m, tab, RP_MSE_STYLE_BRACKETS, spec);
    round_trip(&m, tab, RP_MSE_STYLE_NAMES, spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tab4)
        LLVMFuzzerInitialize(NULL, NULL);
    /* The parser takes a C string: copy to an exact-size NUL-terminated buffer. */
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    size_t len = strlen(spec); /* an embedded NUL ends the formula */
    parse_one(tab4, spec, len);
    parse_one(tab6, spec, len);
    parse_one(tab12, spec, len);
    free(spec);
    return 0;
}
