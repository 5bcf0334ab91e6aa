/*
 * rapporteur CLI: `rapporteur init [--store FILE]`, create a store (one SQLite file with
 * the current schema) or bring an existing one up to date. A file that exists but is not
 * a store is never touched. Also holds rp_cli_store_open(), which every store command
 * uses to open the store and explain a failure, and the --store option of init and lists.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CMD_NAME "init"

enum { OPT_STORE = RP_CLI_OPT_FIRST };

const struct option rp_cli_store_longopts[] = {
    RP_CLI_COMMON_LONGOPTS, {"store", required_argument, NULL, OPT_STORE}, {NULL, 0, NULL, 0}};

int rp_cli_store_opt(int opt, const char *value, const char *name, void *payload)
{
    const char **path = payload;
    (void)name;
    if (opt != OPT_STORE)
        return RP_CLI_OPT_UNKNOWN;
    *path = value;
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur init [--store FILE] [--json]\n"
            "\n"
            "Create a store: one SQLite file (WAL mode) that holds the submissions, the\n"
            "case records in the data standard and the quarantined rows. Run on an\n"
            "existing store, it applies any pending schema migrations and changes nothing\n"
            "else. A file that exists but is not a store is left alone (exit 4).\n"
            "\n"
            "Options:\n"
            "  --store FILE         the store (default %s in the current directory)\n"
            "  --json               print {\"store\", \"created\", \"schema_version\"}\n"
            "  -q, --quiet          print nothing on success\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 2 usage, 4 I/O or store error (not a store, newer schema\n"
            "than this program, cannot create the file).\n",
            RP_STORE_DEFAULT_PATH);
}

int rp_cli_store_open(rp_store **st, const char *path, unsigned flags, bool json)
{
    rp_error err = RP_ERROR_INIT;
    if (path == NULL)
        path = RP_STORE_DEFAULT_PATH;
    *st = NULL;
    int rc = rp_store_open(st, path, flags, &err);
    if (rc == RP_OK)
        return -1;
    if (rc == RP_ENOTFOUND) {
        rp_error_set(&err, RP_ENOTFOUND,
                     "no store at '%s' (create one with 'rapporteur init --store %s')", path, path);
    } else if (err.path[0] == '\0' && strstr(err.msg, path) == NULL) {
        /* say which file the SQLite message is about */
        char msg[sizeof(err.msg)];
        memcpy(msg, err.msg, sizeof(msg));
        int sys_code = err.sys_code;
        rp_error_set(&err, err.code, "store '%s': %s", path, msg);
        err.sys_code = sys_code;
    }
    return rp_cli_report(&err, json);
}

/*
 * The first 16 bytes of every SQLite database file (https://sqlite.org/fileformat.html,
 * section 1.3). Anything else at the path is somebody's file, which init must not open
 * with SQLite: an empty file, for one, would silently become a database.
 */
static const char sqlite_magic[16] = "SQLite format 3";

/* RP_OK when @p path is absent (*exists false) or looks like an SQLite file. */
static int check_existing(bool *exists, const char *path, rp_error *err)
{
    struct stat sb;
    *exists = false;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return RP_OK;
        return rp_error_set(err, RP_EIO, "cannot inspect '%s': %s", path, strerror(errno));
    }
    *exists = true;
    if (!S_ISREG(sb.st_mode))
        return rp_error_set(err, RP_EIO, "'%s' exists and is not a regular file", path);
    char head[sizeof(sqlite_magic)] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rp_error_set(err, RP_EIO, "cannot open '%s': %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (got != sizeof(head) || memcmp(head, sqlite_magic, sizeof(head)) != 0)
        return rp_error_set(err, RP_EIO,
                            "'%s' exists and is not a rapporteur store; refusing to overwrite it",
                            path);
    return RP_OK;
}

int cmd_init(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    const char *path = RP_STORE_DEFAULT_PATH;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    int status = rp_cli_parse_opts(&common, CMD_NAME, argc, argv, rp_cli_store_longopts, usage,
                                   rp_cli_store_opt, &path);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status != -1)
        return status;
    if (path[0] == '\0')
        return rp_cli_usage_error(CMD_NAME, "--store: expected a file name");

    bool exists = false;
    if (check_existing(&exists, path, &err) != RP_OK) {
        status = rp_cli_report(&err, common.json);
        goto out;
    }
    status = rp_cli_store_open(&st, path, exists ? 0u : RP_STORE_CREATE, common.json);
    if (status >= 0)
        goto out;
    status = RP_EXIT_OK;
    int version = rp_store_schema_version(st);
    if (common.json) {
        json_t *root = json_pack("{s:s, s:b, s:i}", "store", path, "created", !exists,
                                 "schema_version", version);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK)
            status = RP_EXIT_IO;
        json_decref(root);
    } else if (!common.quiet) {
        if (exists)
            printf("Store %s is ready (schema version %d)\n", path, version);
        else
            printf("Created an empty store in %s (schema version %d)\n", path, version);
    }
out:
    rp_store_close(st);
    return status;
}
