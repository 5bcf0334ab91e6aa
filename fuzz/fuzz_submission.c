/*
 * libFuzzer target for the submission reader (src/encode/submission.c): the input is
 * read as a submission held in memory (rp_encode__sub_reader_open_mem, no file written),
 * record by record to its end or its first error. Checks the documented contract:
 * statuses, positions of parse errors, a failed reader staying failed, and that every
 * record handed out is well formed (pseudonym, filters, blocking keys, case attributes
 * that pass the data standard's rules, no case id but the pseudonym).
 */
#include "encode/submission_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const rp_error *err)
{
    fprintf(stderr, "fuzz_submission: %s: %s\n", what, err ? err->msg : "");
    abort();
}

/* An error must say why, and a parse error where. */
static void check_error(int rc, const rp_error *err)
{
    if (err->msg[0] == '\0' || err->code != rc)
        fail("an error without a message or with another code", err);
    if (rc == RP_EPARSE && (err->line < 1 || err->column < 1))
        fail("a parse error without line and column", err);
}

static void check_record(const rp_sub_reader *r, const rp_sub_record *rec)
{
    rp_error err = RP_ERROR_INIT;
    const rp_enc_schema *schema = rp_sub_reader_schema(r);
    if (rec->id == NULL || strlen(rec->id) != 32 || strspn(rec->id, "0123456789abcdef") != 32)
        fail("a record id is 32 lower-case hex digits", NULL);
    if (rec->clk == NULL || (rec->field_filters != NULL) != schema->field_filters)
        fail("filters as the schema says", NULL);
    if (rec->blocking.n > RP_ENC_MAX_BLOCKING_KEYS)
        fail("too many blocking keys", NULL);
    for (size_t i = 0; i < rec->blocking.n; i++) {
        if (rec->blocking.rule[i] >= RP_BLOCK_RULE_COUNT)
            fail("a blocking key with an unknown rule", NULL);
    }
    if (strcmp(rec->attrs.list, rp_sub_reader_list(r)) != 0 ||
        strcmp(rec->attrs.case_id, rec->id) != 0 || rec->attrs.person_id[0] != '\0')
        fail("list from the header, case id the pseudonym, no person id", NULL);
    if (rp_case_record_validate(&rec->attrs, 0, NULL, &err) != RP_OK)
        fail("case attributes that break the standard", &err);
    /* Touch every word so that ASan sees a short filter. */
    volatile uint64_t x = 0;
    size_t words = rp_enc_schema_bits(schema) / 64;
    for (size_t i = 0; i < words; i++)
        x ^= rec->clk[i];
    for (size_t i = 0; rec->field_filters != NULL && i < words * RP_ENC_FIELD_COUNT; i++)
        x ^= rec->field_filters[i];
    (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_init(); /* once per process; cheap afterwards */
    rp_sub_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_encode__sub_reader_open_mem(&r, data, size, "fuzz.jsonl", &err);
    if (rc != RP_OK) {
        if (r != NULL)
            fail("a failed open leaves no reader", &err);
        if (rc != RP_EPARSE && rc != RP_EPERM && rc != RP_ENOMEM)
            fail("undocumented status from the open", &err);
        check_error(rc, &err);
        return 0;
    }
    const rp_enc_schema *schema = rp_sub_reader_schema(r);
    unsigned bits = rp_enc_schema_bits(schema);
    if (bits == 0 || bits % 64 != 0 || rp_sub_reader_list(r)[0] == '\0')
        fail("an open reader has a schema and a list", NULL);
    for (;;) {
        rp_sub_record rec;
        rp_error_clear(&err);
        rc = rp_sub_reader_next(r, &rec, &err);
        if (rc == 1) {
            check_record(r, &rec);
            continue;
        }
        if (rc == 0) {
            if (rp_sub_reader_next(r, &rec, &err) != 0)
                fail("the end stays the end", &err);
            break;
        }
        if (rc != RP_EPARSE && rc != RP_ENOMEM)
            fail("undocumented status from next", &err);
        check_error(rc, &err);
        rp_error_clear(&err);
        if (rp_sub_reader_next(r, &rec, &err) != rc)
            fail("a failed reader stays failed", &err);
        break;
    }
    rp_sub_reader_free(r);
    return 0;
}
