/*
 * libFuzzer target for mapping files (src/data/mapping.c): rp_mapping_parse() on the
 * input; a mapping that loads is bound to a fixed header (the union of the columns the
 * seed mappings name) and applied to a few fixed rows, one of them ragged, and the
 * identifiers it names are read from the same rows (also keeping the valid parts of a
 * birth date). Checks the documented contract: statuses, positions of syntax errors,
 * issues that name a rule, birth-date forms, warnings.
 */
#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_COLS 16

static const char *const header[N_COLS] = {"ref",
                                           "date",
                                           "status",
                                           "sex",
                                           "age",
                                           "nat",
                                           "country",
                                           "forms",
                                           "debt",
                                           "threat",
                                           "gender",
                                           "ageBroad",
                                           "yearOfRegistration",
                                           "Datasource",
                                           "citizenship",
                                           "isForcedLabour"};

static const char *const rows[][N_COLS] = {
    {"A1", "03/02/2016", "P", "F", "17", "NA", "NA", "sex; labour", "yes", "no", "Female", "18--20",
     "2016", "Hotline", "PH", "1"},
    {"", "Mar 2015", "Unknown", " m ", "-99", "UKR", "Missing", "Unknown;;x", "", "maybe", "",
     "48+", "0", "Case Management", "Missing", "0"},
    {"\xc3\xa9\xff", "31/02/2016", "-99", "x", "abc", "ZZ", "?", ";", "1", "0", "Unknown",
     "Unknown", "99999999999999999999", "", "na", ""},
};

static void fail(const char *what, const rp_error *err)
{
    fprintf(stderr, "fuzz_mapping: %s: %s\n", what, err ? err->msg : "");
    abort();
}

/*
 * rp_mapping_ident_read_partial() of identifier @p id of row @p r (@p n fields), given the
 * strict read's status @p rc and value @p out. RP_EDATA for a whole row only where the
 * strict read refused a birth date too (no format's shape, or a year out of range); a
 * warning only for a birth date the strict read refused, and then the kept parts are a
 * prefix (no address here is long enough to be cut).
 */
static void check_partial(const rp_mapping *m, int id, size_t r, size_t n, int rc, const char *out)
{
    rp_error err = RP_ERROR_INIT;
    char part[256];
    rp_issue w;
    int rcp =
        rp_mapping_ident_read_partial(m, (rp_ident)id, rows[r], n, part, sizeof(part), &w, &err);
    if (rcp != RP_OK && rcp != RP_EDATA)
        fail("undocumented status from rp_mapping_ident_read_partial", &err);
    if (rcp == RP_EDATA && n == N_COLS && (id != RP_IDENT_BIRTH_DATE || rc != RP_EDATA))
        fail("rp_mapping_ident_read_partial: RP_EDATA for a whole row", &err);
    if (rcp == RP_EDATA && part[0] != '\0')
        fail("a failed partial read leaves \"\"", &err);
    if (rcp != RP_OK)
        return;
    if ((rc == RP_OK) != (w.rule[0] == '\0'))
        fail("a warning exactly when the strict read fails", NULL);
    if (rc == RP_OK && strcmp(part, out) != 0)
        fail("the same value as the strict read", NULL);
    if (w.rule[0] &&
        (strcmp(w.rule, "date") != 0 || w.value[0] || w.column < 1 || w.column > N_COLS))
        fail("a warning names the column and rule, never the value", NULL);
    size_t plen = strlen(part);
    if (id == RP_IDENT_BIRTH_DATE && plen != 0 && plen != 4 && plen != 7)
        if (w.rule[0] || plen != 10)
            fail("a partial birth date is YYYY or YYYY-MM", NULL);
}

/* Read every identifier of row @p r (@p n fields): statuses and birth-date forms. */
static void read_identifiers(const rp_mapping *m, size_t r, size_t n)
{
    rp_error err = RP_ERROR_INIT;
    for (int id = 0; id < RP_IDENT_COUNT; id++) {
        char out[256]; /* longer than any field of rows[] */
        int rc = rp_mapping_ident_read(m, (rp_ident)id, rows[r], n, out, sizeof(out), &err);
        if (rc != RP_OK && rc != RP_EDATA)
            fail("undocumented status from rp_mapping_ident_read", &err);
        if (rc == RP_EDATA && n == N_COLS && id != RP_IDENT_BIRTH_DATE)
            fail("only a birth date or a ragged row is RP_EDATA", &err);
        if (rc != RP_OK && out[0] != '\0')
            fail("a failed read leaves \"\"", &err);
        size_t len = strlen(out);
        if (rc == RP_OK && id == RP_IDENT_BIRTH_DATE && len != 0 && len != 4 && len != 7 &&
            len != 10)
            fail("a birth date is YYYY, YYYY-MM or YYYY-MM-DD", NULL);
        if (rc == RP_OK && !rp_mapping_ident_column(m, (rp_ident)id) && len != 0)
            fail("an identifier the mapping does not name reads as \"\"", NULL);
        check_partial(m, id, r, n, rc, out);
    }
}

static void apply_rows(rp_mapping *m)
{
    rp_error err = RP_ERROR_INIT;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        for (size_t n = N_COLS - 1; n <= N_COLS; n++) {
            rp_case_record rec;
            size_t before = issues.n;
            int rc = rp_mapping_apply(&rec, &issues, m, rows[r], n, (long)r + 2, &err);
            if (rc != RP_OK && rc != RP_EDATA)
                fail("undocumented status from rp_mapping_apply", &err);
            if ((rc == RP_EDATA) != (issues.n > before))
                fail("RP_EDATA if and only if issues were added", NULL);
            if (n != N_COLS &&
                (issues.n != before + 1 || strcmp(issues.v[before].rule, "ragged") != 0))
                fail("a ragged row gives one 'ragged' issue", NULL);
            for (size_t i = before; i < issues.n; i++) {
                const rp_issue *is = &issues.v[i];
                if (is->rule[0] == '\0' || is->line != (long)r + 2 || is->column < 0 ||
                    is->column > N_COLS)
                    fail("issue without rule, or with a bad position", NULL);
            }
            read_identifiers(m, r, n);
        }
        rp_issue_list_clear(&issues);
    }
    rp_issue_list_release(&issues);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_init(); /* once per process; cheap afterwards */
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_mapping_parse(&m, (const char *)data, size, "fuzz.json", &err);
    if (rc != RP_OK) {
        if (m != NULL || err.msg[0] == '\0')
            fail("failure must leave no mapping and say why", &err);
        if (rc != RP_EPARSE && rc != RP_EDATA && rc != RP_ENOMEM)
            fail("undocumented status from rp_mapping_parse", &err);
        return 0;
    }
    if (!rp_mapping_name(m) || !rp_mapping_name(m)[0])
        fail("a loaded mapping has a name", NULL);
    rc = rp_mapping_bind(m, header, N_COLS, &err);
    if (rc == RP_OK)
        apply_rows(m);
    else if (rc != RP_EDATA)
        fail("undocumented status from rp_mapping_bind", &err);
    rp_mapping_free(m);
    return 0;
}
