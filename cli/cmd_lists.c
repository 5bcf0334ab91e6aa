/*
 * rapporteur CLI: `rapporteur lists`, what a store holds: each list (data source) with
 * its number of stored records, and each submission (one imported file) with its
 * provenance (agency, list, file name, SHA-256, time) and counts.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <stdio.h>
#include <string.h>

#define CMD_NAME "lists"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur lists [--store FILE] [--json]\n"
            "\n"
            "Show the lists (data sources) in the store with their number of stored\n"
            "records, then every submission (imported file): id, time (UTC), agency, list,\n"
            "file name, mapping, rows read, stored and quarantined, and the file's SHA-256.\n"
            "\n"
            "Options:\n"
            "  --store FILE         the store (default %s)\n"
            "  --json               print {\"lists\": [{\"list\", \"records\"}],\n"
            "                       \"submissions\": [{...}]} instead\n"
            "  -q, --quiet          print nothing\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 2 usage, 4 I/O or store error.\n",
            RP_STORE_DEFAULT_PATH);
}

typedef struct lists_state {
    json_t *lists; /* JSON arrays, filled in both modes */
    json_t *submissions;
    bool oom;
} lists_state;

static int on_list(const char *list, long long records, void *payload)
{
    lists_state *s = payload;
    char name[4 * RP_DATA_ID_MAX];
    rp_cli_text_clean(name, sizeof(name), list);
    json_t *o = json_pack("{s:s, s:I}", "list", name, "records", (json_int_t)records);
    if (o == NULL || json_array_append_new(s->lists, o) != 0) {
        s->oom = true;
        return 1;
    }
    return 0;
}

static int on_submission(const rp_submission *sub, void *payload)
{
    lists_state *s = payload;
    char agency[sizeof(sub->agency)], list[sizeof(sub->list)], file[sizeof(sub->file_name)];
    char mapping[sizeof(sub->mapping)];
    rp_cli_text_clean(agency, sizeof(agency), sub->agency);
    rp_cli_text_clean(list, sizeof(list), sub->list);
    rp_cli_text_clean(file, sizeof(file), sub->file_name);
    rp_cli_text_clean(mapping, sizeof(mapping), sub->mapping);
    /* "" stored for absent agency and list prints as null, as in import's report */
    json_t *o =
        json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)sub->id,
                  "imported_at", sub->imported_at, "agency", agency[0] ? agency : NULL, "list",
                  list[0] ? list : NULL, "file", file, "mapping", mapping, "read",
                  (json_int_t)sub->read, "stored", (json_int_t)sub->stored, "quarantined",
                  (json_int_t)sub->quarantined, "sha256", sub->sha256);
    if (o == NULL || json_array_append_new(s->submissions, o) != 0) {
        s->oom = true;
        return 1;
    }
    return 0;
}

static const char *str_of(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "";
}

static long long int_of(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_text(const lists_state *s)
{
    long long total = 0;
    printf("%-24s %12s\n", "list", "records");
    for (size_t i = 0; i < json_array_size(s->lists); i++) {
        json_t *o = json_array_get(s->lists, i);
        printf("%-24s %12lld\n", str_of(o, "list"), int_of(o, "records"));
        total += int_of(o, "records");
    }
    printf("%-24s %12lld\n", "(all lists)", total);
    printf("\n%4s  %-20s  %-12s %-10s %10s %10s %11s  %-12s  %s\n", "id", "imported (UTC)",
           "agency", "list", "read", "stored", "quarantined", "sha256", "file");
    for (size_t i = 0; i < json_array_size(s->submissions); i++) {
        json_t *o = json_array_get(s->submissions, i);
        printf("%4lld  %-20s  %-12s %-10s %10lld %10lld %11lld  %.12s  %s\n", int_of(o, "id"),
               str_of(o, "imported_at"), str_of(o, "agency"), str_of(o, "list"), int_of(o, "read"),
               int_of(o, "stored"), int_of(o, "quarantined"), str_of(o, "sha256"),
               str_of(o, "file"));
    }
    if (json_array_size(s->submissions) == 0)
        printf("(no submissions yet: see 'rapporteur import --help')\n");
}

int cmd_lists(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    const char *path = RP_STORE_DEFAULT_PATH;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    lists_state s = {json_array(), json_array(), false};
    json_t *root = NULL;
    int status = rp_cli_parse_opts(&common, CMD_NAME, argc, argv, rp_cli_store_longopts, usage,
                                   rp_cli_store_opt, &path);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status != -1)
        goto out;
    status = rp_cli_store_open(&st, path, RP_STORE_READONLY, common.json);
    if (status >= 0)
        goto out;
    int rc = RP_OK;
    if (s.lists == NULL || s.submissions == NULL)
        rc = rp_error_set(&err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK)
        rc = rp_store_lists(st, on_list, &s, &err);
    if (rc == RP_OK)
        rc = rp_store_submissions(st, on_submission, &s, &err);
    if (rc != RP_OK || s.oom) {
        if (s.oom)
            rp_error_set(&err, RP_ENOMEM, "out of memory");
        status = rp_cli_report(&err, common.json);
        goto out;
    }
    status = RP_EXIT_OK;
    if (common.json) {
        root = json_pack("{s:s, s:O, s:O}", "store", path, "lists", s.lists, "submissions",
                         s.submissions);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK)
            status = RP_EXIT_IO;
    } else if (!common.quiet) {
        print_text(&s);
        if (fflush(stdout) != 0)
            status = RP_EXIT_IO;
    }
out:
    json_decref(root);
    json_decref(s.lists);
    json_decref(s.submissions);
    rp_store_close(st);
    return status;
}
