/*
 * libFuzzer target for the comparison spec of the clear-text linkage
 * (src/link/fs_spec.c): rp_fs_spec_parse() on the input; a spec that parses is written
 * back as JSON, which must parse again to the same comparisons, and its comparisons
 * level a few fixed value pairs (every level within range).
 */
#include "link/fs_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const values[][2] = {{"anna", "anna"},
                                        {"anna", "hanna"},
                                        {"1965-10-03", "1965-03-10"},
                                        {"19651003", "19651004"},
                                        {"", "x"},
                                        {"\xc5\x82odz", "lodz"},
                                        {"AB1234", "AB1243"},
                                        {"\xff\xfe", "\xc3\xa9t\xc3\xa9"}};

static void fail(const char *what, const rp_error *err)
{
    fprintf(stderr, "fuzz_comparisons: %s: %s\n", what, err ? err->msg : "");
    abort();
}

static void level_values(const rp_fs_spec *s)
{
    for (size_t k = 0; k < s->n_comp; k++) {
        for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
            unsigned l =
                rp_fs__level(&s->comp[k], values[i][0], values[i][1], values[i][1], values[i][0]);
            if (l >= s->comp[k].n_levels)
                fail("level out of range", NULL);
        }
    }
    for (size_t r = 0; r < s->n_rules; r++) {
        for (size_t p = 0; p < s->rule[r].n_parts; p++) {
            char out[64];
            size_t n =
                rp_fs__transform(&s->rule[r].part[p],
                                 values[r % (sizeof values / sizeof *values)][0], out, sizeof out);
            if (n >= sizeof out || strlen(out) != n)
                fail("transform length", NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *s = NULL;
    int rc = rp_fs_spec_parse(&s, (const char *)data, size, "fuzz", &err);
    if (rc != RP_OK) {
        if (s != NULL || (rc != RP_EPARSE && rc != RP_EDATA && rc != RP_ENOMEM))
            fail("unexpected status", &err);
        return 0;
    }
    level_values(s);
    char *json = rp_fs_spec_to_json(s);
    if (json == NULL)
        fail("to_json", NULL);
    rp_fs_spec *again = NULL;
    if (rp_fs_spec_parse(&again, json, strlen(json), "round trip", &err) != RP_OK)
        fail("round trip does not parse", &err);
    if (again->n_comp != s->n_comp || again->n_rules != s->n_rules)
        fail("round trip differs", NULL);
    for (size_t k = 0; k < s->n_comp; k++)
        if (again->comp[k].n_levels != s->comp[k].n_levels)
            fail("round trip levels differ", NULL);
    rp_fs_spec_free(again);
    rp_free(json);
    rp_fs_spec_free(s);
    return 0;
}
