/*
 * rapporteur CLI: `rapporteur export`, the stored case records in the data standard, as
 * CSV (standard field names as header, formula-safe cells) or JSON. The output is
 * written whole or not at all: --out goes through rp_cli_write_atomic() (a temporary file
 * beside the target, renamed over it on success), and stdout gets the records only after
 * they were all read.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CMD_NAME "export"

enum { OPT_STORE = RP_CLI_OPT_FIRST, OPT_FORMAT, OPT_LIST, OPT_OUT };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"list", required_argument, NULL, OPT_LIST},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur export [--format csv|json] [--list CODE] [--out FILE]\n"
            "                         [--store FILE]\n"
            "\n"
            "Write the stored case records in the data standard (docs/data-standard.md).\n"
            "CSV has the standard's field names as header, multi-valued fields joined with\n"
            "';', and every cell that a spreadsheet could read as a formula (starting with\n"
            "= + - @) prefixed with '. JSON is an array of objects. Nothing identifying a\n"
            "person (name, birth date, document number) is ever in the store.\n"
            "\n"
            "Options:\n"
            "  --format F           csv (default) or json\n"
            "  --json               the same as --format json\n"
            "  --list CODE          only the records of list CODE\n"
            "  --out FILE           write to FILE (atomically: a temporary file beside it,\n"
            "                       renamed over FILE when complete) instead of stdout\n"
            "  --store FILE         the store (default %s)\n"
            "  -q, --quiet          accepted for symmetry; export prints only the records\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 2 usage, 4 I/O or store error (nothing is written then).\n",
            RP_STORE_DEFAULT_PATH);
}

typedef struct export_args {
    rp_cli_common common;
    const char *store;
    const char *list;
    const char *out;
    rp_export_format format;
    bool format_set;
} export_args;

/* One export option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    export_args *a = payload;
    (void)name;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        return -1;
    case OPT_LIST:
        a->list = v;
        return -1;
    case OPT_OUT:
        a->out = v;
        return -1;
    case OPT_FORMAT:
        if (strcmp(v, "csv") == 0)
            a->format = RP_EXPORT_CSV;
        else if (strcmp(v, "json") == 0)
            a->format = RP_EXPORT_JSON;
        else
            return rp_cli_usage_error(CMD_NAME, "--format: expected csv or json");
        a->format_set = true;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(export_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st == -1)
        st = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (st != -1)
        return st;
    if (a->common.json) {
        if (a->format_set && a->format != RP_EXPORT_JSON)
            return rp_cli_usage_error(CMD_NAME, "--json conflicts with --format csv");
        a->format = RP_EXPORT_JSON;
    }
    if (a->out != NULL && strcmp(a->out, a->store) == 0)
        return rp_cli_usage_error(CMD_NAME, "--out would overwrite the store");
    return -1;
}

/* Copy the whole of @p src (rewound) to stdout. */
static int copy_to_stdout(FILE *src, rp_error *err)
{
    char buf[1 << 16];
    rewind(src);
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), src)) > 0) {
        if (fwrite(buf, 1, n, stdout) != n)
            return rp_error_set(err, RP_EIO, "cannot write to standard output");
    }
    if (ferror(src))
        return rp_error_set(err, RP_EIO, "cannot read back the export: %s", strerror(errno));
    if (fflush(stdout) != 0)
        return rp_error_set(err, RP_EIO, "cannot write to standard output");
    return RP_OK;
}

typedef struct export_job {
    rp_store *st;
    const export_args *a;
} export_job;

/* An rp_cli_write_fn: the records, for rp_cli_write_atomic(). */
static int write_export(FILE *f, const char *path, void *payload, rp_error *err)
{
    const export_job *job = payload;
    (void)path;
    return rp_store_export(job->st, f, job->a->format, job->a->list, err);
}

int cmd_export(int argc, char **argv)
{
    export_args a = {.store = RP_STORE_DEFAULT_PATH, .format = RP_EXPORT_CSV};
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    FILE *tmp = NULL;
    int status = parse_args(&a, argc, argv);
    if (status >= 0)
        return status;
    /* an error object on stdout would mix with the records: errors go to stderr only */
    status = rp_cli_store_open(&st, a.store, RP_STORE_READONLY, false);
    if (status >= 0)
        goto out;
    int rc = RP_OK;
    if (a.out != NULL) {
        export_job job = {st, &a};
        rc = rp_cli_write_atomic(a.out, true, write_export, &job, &err);
    } else {
        tmp = tmpfile();
        if (tmp == NULL)
            rc = rp_error_set(&err, RP_EIO, "cannot create a temporary file: %s", strerror(errno));
        if (rc == RP_OK)
            rc = rp_store_export(st, tmp, a.format, a.list, &err);
        if (rc == RP_OK && fflush(tmp) != 0)
            rc = rp_error_set(&err, RP_EIO, "cannot write a temporary file: %s", strerror(errno));
        if (rc == RP_OK)
            rc = copy_to_stdout(tmp, &err);
    }
    status = rc == RP_OK ? RP_EXIT_OK : rp_cli_report(&err, false);
out:
    if (tmp != NULL)
        fclose(tmp);
    rp_store_close(st);
    return status;
}
