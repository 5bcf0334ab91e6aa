/*
 * libFuzzer target for the state-table parser (rp_state_table_parse: the region tables
 * and pool files of a regional report). A table that parses must be consistent: every
 * key found again by rp_state_table_find() at its row, every column by its name, and
 * every cell readable (abort() otherwise, so libFuzzer reports the input).
 */
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const rp_state_table *st)
{
    size_t cols = rp_state_table_columns(st);
    for (size_t c = 0; c < cols; c++) {
        const char *name = rp_state_table_column_name(st, c);
        if (name == NULL || rp_state_table_column(st, name) != (int)c)
            abort();
    }
    for (size_t r = 0; r < rp_state_table_rows(st); r++) {
        const char *key = rp_state_table_cell(st, r, 0);
        if (key == NULL || key[0] == '\0' || rp_state_table_find(st, key) != (long)r)
            abort();
        for (size_t c = 0; c < cols; c++) {
            if (rp_state_table_cell(st, r, c) == NULL)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_state_table *st = NULL;
    rp_error err = RP_ERROR_INIT;
    if (rp_state_table_parse(&st, (const char *)data, size, "fuzz.csv", &err) == RP_OK) {
        check(st);
        rp_state_table_free(st);
    } else if (st != NULL || err.code == RP_OK) {
        abort();
    }
    return 0;
}
