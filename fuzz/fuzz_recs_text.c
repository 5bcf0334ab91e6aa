/*
 * libFuzzer target for the plain-text importer's parser (src/recs/text.c):
 * rp_recs_text_parse() on the input. Checks the documented contract: statuses, no
 * result on failure, a message with a position for parse errors, and items that are
 * non-empty single lines of valid UTF-8 with a paragraph label, a strength in range,
 * sequence numbers within their count, no superscript footnote digits left, and a
 * count of out-of-order paragraph numbers that agrees with its first line.
 */
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/recs.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const rp_error *err)
{
    fprintf(stderr, "fuzz_recs_text: %s: %s\n", what, err ? err->msg : "");
    abort();
}

static void check_item(const rp_recs_text_item *it)
{
    size_t n = strlen(it->text);
    if (n == 0 || it->text[0] == ' ' || it->text[n - 1] == ' ')
        fail("an item's text is non-empty and trimmed", NULL);
    if (strchr(it->text, '\n') != NULL || strchr(it->text, '\r') != NULL ||
        strstr(it->text, "  ") != NULL)
        fail("an item's text is one line with single spaces", NULL);
    if (strstr(it->text, "\xC2\xB9") != NULL || strstr(it->text, "\xE2\x81\xB4") != NULL)
        fail("superscript footnote marks are removed", NULL);
    if ((it->paragraph[0] < '1' || it->paragraph[0] > '9') &&
        strncmp(it->paragraph, "bullet-", 7) != 0)
        fail("a paragraph label starts with its number (or is an appendix bullet's)", NULL);
    if ((int)it->strength < 0 || it->strength >= RP_REC_STRENGTH_COUNT)
        fail("strength out of range", NULL);
    if (it->seq < 1 || it->seq > it->n_seq || it->line < 1)
        fail("sequence number or line out of range", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_init(); /* once per process; cheap afterwards */
    rp_recs_text *t = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_recs_text_parse(&t, (const char *)data, size, "fuzz.txt", &err);
    if (rc != RP_OK) {
        if (t != NULL || err.msg[0] == '\0')
            fail("failure must leave no result and say why", &err);
        if (rc != RP_EPARSE && rc != RP_ENOMEM)
            fail("undocumented status from rp_recs_text_parse", &err);
        if (rc == RP_EPARSE &&
            (err.line < 0 || err.column < 0 || strcmp(err.path, "fuzz.txt") != 0))
            fail("a parse error names the input and a position", &err);
        return 0;
    }
    if (t == NULL || t->n_items == 0 || t->skipped_lines < 0 || t->out_of_order < 0 ||
        (t->out_of_order > 0) != (t->first_out_of_order > 0))
        fail("success gives at least one item", NULL);
    for (size_t i = 0; i < t->n_items; i++)
        check_item(&t->items[i]);
    rp_recs_text_free(t);
    return 0;
}
