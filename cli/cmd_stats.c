/*
 * rapporteur CLI: `rapporteur stats --field NAME`, the stored records counted by the
 * values of one or more fields of the standard (codes of a multi-valued field counted
 * once each), with the share of all stored records. Counting is the store's
 * (rp_store_stats); this file only formats.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <stdio.h>
#include <string.h>

#define CMD_NAME "stats"

enum { OPT_STORE = RP_CLI_OPT_FIRST, OPT_FIELD };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"field", required_argument, NULL, OPT_FIELD},
                                         {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f, "usage: rapporteur stats --field NAME[,NAME...] [--store FILE] [--json]\n"
               "\n"
               "Count the stored records by the values of a field of the data standard\n"
               "(docs/data-standard.md). Codes of a multi-valued field (exploitation,\n"
               "sexual_types, labour_sectors, means_of_control, recruiter_relation) are\n"
               "counted once each, so their shares may add up to more than 100%%. A value\n"
               "that was not recorded is shown as (missing); \"unknown\" means it was\n"
               "recorded as unknown.\n"
               "\n"
               "Options:\n"
               "  --field NAME         the field (repeatable, or comma-separated); one of\n");
    for (int i = 0; i < (int)RP_FIELD_COUNT; i++) {
        const rp_field_info *fi = rp_field_info_get((rp_field)i);
        if (fi != NULL)
            fprintf(f, "%s%s", i % 4 == 0 ? "                         " : " ", fi->name);
        if (i % 4 == 3 || i + 1 == (int)RP_FIELD_COUNT)
            fputc('\n', f);
    }
    fprintf(f,
            "  --store FILE         the store (default %s)\n"
            "  --json               print {\"records\": N, \"fields\": [{\"field\": NAME,\n"
            "                       \"counts\": {VALUE: COUNT, ...}}]}; \"\" is missing\n"
            "  -q, --quiet          print nothing\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 2 usage (no --field, unknown field), 4 I/O or store error.\n",
            RP_STORE_DEFAULT_PATH);
}

typedef struct stats_state {
    json_t *counts; /* object value -> count, in the store's order */
    bool oom;
} stats_state;

static int on_value(const char *value, long long count, void *payload)
{
    stats_state *s = payload;
    char clean[256];
    rp_cli_text_clean(clean, sizeof(clean), value);
    if (json_object_set_new(s->counts, clean, json_integer((json_int_t)count)) != 0) {
        s->oom = true;
        return 1;
    }
    return 0;
}

static int on_list(const char *list, long long records, void *payload)
{
    (void)list;
    *(long long *)payload += records;
    return 0;
}

static void print_field(const char *name, json_t *counts, long long records)
{
    size_t width = strlen("(missing)");
    for (void *it = json_object_iter(counts); it != NULL; it = json_object_iter_next(counts, it)) {
        size_t len = strlen(json_object_iter_key(it));
        width = len > width ? len : width;
    }
    printf("%s (%zu values, %lld records)\n", name, json_object_size(counts), records);
    for (void *it = json_object_iter(counts); it != NULL; it = json_object_iter_next(counts, it)) {
        const char *value = json_object_iter_key(it);
        long long n = (long long)json_integer_value(json_object_iter_value(it));
        double pct = records > 0 ? 100.0 * (double)n / (double)records : 0.0;
        printf("  %-*s %12lld %6.1f%%\n", (int)width, value[0] != '\0' ? value : "(missing)", n,
               pct);
    }
}

typedef struct stats_args {
    rp_cli_common common;
    const char *path;
    rp_cli_strv names;
    rp_field *which; /* names.n fields */
} stats_args;

/* One stats option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    stats_args *a = payload;
    rp_error err = RP_ERROR_INIT;
    (void)name;
    if (opt == OPT_STORE)
        a->path = v;
    else if (opt != OPT_FIELD)
        return RP_CLI_OPT_UNKNOWN;
    else if (rp_cli_strv_split(&a->names, v, ',', &err) != RP_OK)
        return rp_cli_report(&err, false);
    return -1;
}

/* Returns -1 to go on, or an exit status (0 after --help). */
static int parse_args(stats_args *a, int argc, char **argv)
{
    rp_error err = RP_ERROR_INIT;
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st == -1)
        st = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (st != -1)
        return st;
    if (a->names.n == 0)
        return rp_cli_usage_error(CMD_NAME, "no --field given");
    a->which = rp_calloc(a->names.n, sizeof(*a->which));
    if (a->which == NULL) {
        rp_error_set(&err, RP_ENOMEM, "out of memory");
        return rp_cli_report(&err, a->common.json);
    }
    for (size_t i = 0; i < a->names.n; i++) {
        if (rp_field_lookup(&a->which[i], a->names.v[i]) != RP_OK)
            return rp_cli_usage_error(CMD_NAME, "--field: unknown field '%s'", a->names.v[i]);
    }
    return -1;
}

/* Count the records and each field's values into *fields_out ([{"field", "counts"}]). */
static int
collect(json_t **fields_out, long long *records, rp_store *st, const stats_args *a, rp_error *err)
{
    int rc = rp_store_lists(st, on_list, records, err);
    json_t *fields = json_array();
    *fields_out = fields;
    if (rc == RP_OK && fields == NULL)
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == RP_OK && i < a->names.n; i++) {
        stats_state s = {json_object(), false};
        json_t *f = json_pack("{s:s, s:o}", "field", rp_field_info_get(a->which[i])->name, "counts",
                              s.counts);
        if (f == NULL || json_array_append_new(fields, f) != 0)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        rc = rp_store_stats(st, a->which[i], on_value, &s, err);
        if (rc == RP_OK && s.oom)
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    stats_args a = {.path = RP_STORE_DEFAULT_PATH};
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    json_t *fields = NULL;
    json_t *root = NULL;
    long long records = 0;
    int status = parse_args(&a, argc, argv);
    if (status >= 0)
        goto out;
    status = rp_cli_store_open(&st, a.path, RP_STORE_READONLY, a.common.json);
    if (status >= 0)
        goto out;
    if (collect(&fields, &records, st, &a, &err) != RP_OK) {
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }
    status = RP_EXIT_OK;
    if (a.common.json) {
        root = json_pack("{s:s, s:I, s:O}", "store", a.path, "records", (json_int_t)records,
                         "fields", fields);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK)
            status = RP_EXIT_IO;
    } else if (!a.common.quiet) {
        for (size_t i = 0; i < json_array_size(fields); i++) {
            json_t *f = json_array_get(fields, i);
            if (i > 0)
                putchar('\n');
            print_field(json_string_value(json_object_get(f, "field")),
                        json_object_get(f, "counts"), records);
        }
        if (fflush(stdout) != 0)
            status = RP_EXIT_IO;
    }
out:
    json_decref(root);
    json_decref(fields);
    rp_free(a.which);
    rp_cli_strv_clear(&a.names);
    rp_store_close(st);
    return status;
}
