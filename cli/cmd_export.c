/*
 * rapporteur CLI: `rapporteur export`, the stored case records in the data standard, as
 * CSV (standard field names as header, formula-safe cells) or JSON. The output is
 * written whole or not at all: --out goes to a temporary file beside the target that is
 * renamed over it on success, and stdout gets the records only after they were all read.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Returns -1 to go on, or an exit status. */
static int parse_args(export_args *a, int argc, char **argv)
{
    int opt = 0;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
        if (rp_cli_common_opt(&a->common, opt))
            continue;
        switch (opt) {
        case ':':
            return rp_cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        case OPT_STORE:
            a->store = optarg;
            break;
        case OPT_LIST:
            a->list = optarg;
            break;
        case OPT_OUT:
            a->out = optarg;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                a->format = RP_EXPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                a->format = RP_EXPORT_JSON;
            else
                return rp_cli_usage_error(CMD_NAME, "--format: expected csv or json");
            a->format_set = true;
            break;
        default:
            return rp_cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (a->common.help) {
        usage(stdout);
        return RP_EXIT_OK;
    }
    if (optind < argc)
        return rp_cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);
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

/*
 * Export into "<dir>/.<name>.XXXXXX" and rename it over @p path, as
 * rp_cli_json_write_atomic() does: on any failure the target is untouched.
 */
static int export_atomic(rp_store *st, const export_args *a, rp_error *err)
{
    int rc = RP_OK;
    char *tmp = NULL;
    int fd = -1;
    FILE *f = NULL;
    bool created = false;
    const char *path = a->out;

    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0') {
        rc = rp_error_set(err, RP_EINVAL, "output path '%s' names a directory", path);
        goto out;
    }
    size_t tmp_len = strlen(path) + sizeof("/.") + sizeof(".XXXXXX");
    tmp = rp_malloc(tmp_len);
    if (tmp == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, tmp_len, "%.*s.%s.XXXXXX", (int)dir_len, path, base);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = rp_error_set(err, RP_EIO, "cannot create a file beside '%s': %s", path,
                          strerror(errno));
        goto out;
    }
    created = true;
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, (mode_t)0666 & ~mask) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot set the mode of '%s': %s", tmp, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        rc = rp_error_set(err, RP_EIO, "cannot open '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    rc = rp_store_export(st, f, a->format, a->list, err);
    if (rc != RP_OK)
        goto out;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    int crc = fclose(f);
    f = NULL;
    if (crc != 0 || rename(tmp, path) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
out:
    if (f != NULL)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc != RP_OK && created)
        unlink(tmp);
    rp_free(tmp);
    return rc;
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
        rc = export_atomic(st, &a, &err);
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
