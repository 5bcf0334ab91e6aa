/*
 * libFuzzer target for scenario files of `rapporteur simulate` (src/sim/scenario.c):
 * rp_sim__scenario_parse() on the input. A scenario that loads is written back with
 * rp_sim__scenario_to_json(), which must parse again and give the same text (the round
 * trip docs/scenarios.md promises), and the mapping of each list (rp_sim__mapping_json())
 * must load, bind to the list's header and import a row written in the list's layout
 * ("a layout that loads always gives a file its mapping can import").
 */
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const rp_error *err)
{
    fprintf(stderr, "fuzz_scenario: %s: %s\n", what, err ? err->msg : "");
    abort();
}

/* @p v in decimal, zero-padded to @p width digits, at @p out (room for 20); the length. */
static size_t put_num(char *out, unsigned long v, int width)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 20);
    while (n < width && n < 20)
        t[n++] = '0';
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return (size_t)n;
}

/* A date in a layout format (%Y %m %d and literal characters), as the simulator writes. */
static void format_date(char *out, size_t size, const char *fmt, int y, int m, int d)
{
    size_t o = 0;
    for (const char *f = fmt; *f && o + 5 < size; f++) {
        if (*f != '%' || f[1] == '\0') {
            out[o++] = *f;
            continue;
        }
        f++;
        if (*f == 'Y')
            o += put_num(out + o, (unsigned long)y, 4);
        else if (*f == 'm')
            o += put_num(out + o, (unsigned long)m, 2);
        else if (*f == 'd')
            o += put_num(out + o, (unsigned long)d, 2);
        else
            out[o++] = *f;
    }
    out[o < size ? o : size - 1] = '\0';
}

/*
 * The header of list @p l's file and one row as the simulator would write it: case 17, a
 * woman from Ukraine, identified, registered on 2021-02-03, born 1990-07-14 (30 years
 * old), exploited in Germany in sexual exploitation and forced labour (agriculture).
 * Returns the number of columns.
 */
static size_t layout_row(const rp_sim_layout *ly,
                         const char *header[RP_SIM_COL_COUNT],
                         const char *row[RP_SIM_COL_COUNT],
                         char buf[RP_SIM_COL_COUNT][96])
{
    size_t n = 0;
    for (int c = 0; c < RP_SIM_COL_COUNT; c++) {
        if (ly->columns[c][0] == '\0')
            continue;
        char *v = buf[n];
        switch ((rp_sim_col)c) {
        case RP_SIM_COL_CASE_ID: {
            size_t pl = strlen(ly->case_prefix);
            memcpy(v, ly->case_prefix, pl);
            v[pl + put_num(v + pl, 17, 6)] = '\0';
            break;
        }
        case RP_SIM_COL_REG_DATE:
            format_date(v, 96, ly->date_format, 2021, 2, 3);
            break;
        case RP_SIM_COL_REG_YEAR:
            snprintf(v, 96, "2021");
            break;
        case RP_SIM_COL_STATUS:
            snprintf(v, 96, "%s", ly->status_codes[1]);
            break;
        case RP_SIM_COL_BIRTH_DATE:
            format_date(v, 96, ly->birth_date_format, 1990, 7, 14);
            break;
        case RP_SIM_COL_SEX:
            snprintf(v, 96, "%s", ly->sex_codes[0]);
            break;
        case RP_SIM_COL_AGE:
            snprintf(v, 96, "30");
            break;
        case RP_SIM_COL_CITIZENSHIP:
            snprintf(v, 96, "%s", ly->country_alpha3 ? "UKR" : "UA");
            break;
        case RP_SIM_COL_COUNTRY:
            snprintf(v, 96, "%s", ly->country_alpha3 ? "DEU" : "DE");
            break;
        case RP_SIM_COL_EXPLOITATION:
            snprintf(v, 96, "%s%s%s", ly->expl_codes[0], ly->multi_sep, ly->expl_codes[1]);
            break;
        case RP_SIM_COL_SECTOR:
            snprintf(v, 96, "%s", ly->sector_codes[0]);
            break;
        case RP_SIM_COL_DOCUMENT:
            snprintf(v, 96, "AB1234567");
            break;
        default: /* names */
            snprintf(v, 96, "Name%d", c);
            break;
        }
        header[n] = ly->columns[c];
        row[n] = v;
        n++;
    }
    return n;
}

/* The mapping of list @p l loads, binds to the list's header and imports its row. */
static void check_mapping(const rp_sim_list *l)
{
    rp_error err = RP_ERROR_INIT;
    char *json = rp_sim__mapping_json(l);
    if (json == NULL)
        return; /* allocation failure: documented */
    rp_mapping *m = NULL;
    int rc = rp_mapping_parse(&m, json, strlen(json), "fuzz.mapping.json", &err);
    if (rc == RP_ENOMEM)
        goto out;
    if (rc != RP_OK)
        fail("the mapping of a list that loads does not load", &err);
    const char *header[RP_SIM_COL_COUNT], *row[RP_SIM_COL_COUNT];
    char buf[RP_SIM_COL_COUNT][96];
    size_t n = layout_row(&l->layout, header, row, buf);
    if (rp_mapping_bind(m, header, n, &err) != RP_OK)
        fail("the mapping does not bind to the list's own header", &err);
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    rc = rp_mapping_apply(&rec, &issues, m, row, n, 2, &err);
    if (rc == RP_EDATA) {
        for (size_t i = 0; i < issues.n; i++)
            fprintf(stderr, "fuzz_scenario: issue at column '%s' (%s): %s\n",
                    issues.v[i].column_name, issues.v[i].rule, issues.v[i].message);
        fail("a row as the simulator writes it does not import", NULL);
    }
    rp_issue_list_release(&issues);
    if (rc != RP_OK && rc != RP_ENOMEM)
        fail("undocumented status from rp_mapping_apply", &err);
    if (rc == RP_OK && strcmp(rec.list, l->code) != 0)
        fail("the mapping gives another list code", NULL);
    if (l->layout.columns[RP_SIM_COL_BIRTH_DATE][0] != '\0') {
        char born[16];
        if (rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, n, born, sizeof(born), &err) !=
            RP_OK)
            fail("the birth date as written does not read", &err);
        const char *f = l->layout.birth_date_format;
        const char *want = strstr(f, "%d") ? "1990-07-14" : strstr(f, "%m") ? "1990-07" : "1990";
        if (strcmp(born, want) != 0)
            fail("the birth date reads as another date", NULL);
    }
out:
    rp_mapping_free(m);
    rp_free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_init(); /* once per process; cheap afterwards */
    rp_sim_scenario *sc = NULL, *back = NULL;
    char *a = NULL, *b = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_sim__scenario_parse(&sc, (const char *)data, size, "fuzz.json", &err);
    if (rc != RP_OK) {
        if (sc != NULL || err.msg[0] == '\0')
            fail("failure must leave no scenario and say why", &err);
        if (rc != RP_EPARSE && rc != RP_EINVAL && rc != RP_ENOMEM)
            fail("undocumented status from rp_sim__scenario_parse", &err);
        return 0;
    }
    if (sc->n_lists < 2 || sc->n_lists > RP_SIM_LISTS_MAX || sc->pop.size < 1)
        fail("a loaded scenario breaks its own limits", NULL);
    a = rp_sim__scenario_to_json(sc);
    if (a == NULL)
        goto out; /* allocation failure */
    rc = rp_sim__scenario_parse(&back, a, strlen(a), "resolved.json", &err);
    if (rc == RP_ENOMEM)
        goto out;
    if (rc != RP_OK) {
        fprintf(stderr, "fuzz_scenario: resolved scenario:\n%s\n", a);
        fail("the resolved scenario does not load", &err);
    }
    b = rp_sim__scenario_to_json(back);
    if (b == NULL)
        goto out;
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "fuzz_scenario: first:\n%s\nsecond:\n%s\n", a, b);
        fail("the resolved scenario written twice differs", NULL);
    }
    if (back->n_lists != sc->n_lists || back->n_terms != sc->n_terms)
        fail("the resolved scenario has other lists or terms", NULL);
    for (size_t k = 0; k < sc->n_lists; k++)
        check_mapping(&sc->lists[k]);
out:
    rp_free(a);
    rp_free(b);
    rp_sim_scenario_free(back);
    rp_sim_scenario_free(sc);
    return 0;
}
