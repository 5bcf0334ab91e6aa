/*
 * rapporteur CLI: `rapporteur seal` (agency side: encrypt a submission to the hub's
 * public key) and `rapporteur unseal` (hub side: open it with the hub's key), after
 * include/rapporteur/encode.h rp_seal_file / rp_unseal_file. Submissions can also be
 * read sealed directly by the hub's commands that take --hub-key.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/encode.h>
#include <rapporteur/rapporteur.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_TO = RP_CLI_OPT_FIRST, OPT_KEY, OPT_OUT };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"key", required_argument, NULL, OPT_KEY},
                                         {"hub-key", required_argument, NULL, OPT_KEY},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *to;
    const char *key;
    const char *out;
} args;

static void usage_seal(FILE *f)
{
    fprintf(f, "usage: rapporteur seal FILE --to HUB.pub [--out FILE.sealed] [--json]\n"
               "\n"
               "Encrypt a submission (or any file) so that only the hub can open it: a random\n"
               "XChaCha20-Poly1305 stream key sealed to the hub's public key (libsodium sealed\n"
               "box), the content in authenticated chunks. The output (mode 0600) is written\n"
               "completely or not at all.\n"
               "\n"
               "Options:\n"
               "  --to HUB.pub    the hub's public key ('rapporteur keygen --hub NAME')\n"
               "  --out FILE      output (default FILE.sealed)\n"
               "  --json          print {\"in\", \"out\"}\n"
               "  -q, --quiet     print nothing on success\n"
               "  -h, --help      show this help\n"
               "\n"
               "Exit status: 0 ok, 2 usage, 4 I/O, 65 a public key file that does not parse.\n");
}

static void usage_unseal(FILE *f)
{
    fprintf(f, "usage: rapporteur unseal FILE.sealed --hub-key HUB.key --out FILE [--json]\n"
               "\n"
               "Open a sealed file at the hub. Every chunk is authenticated: a wrong key, an\n"
               "altered byte or a cut-off file is refused and nothing is written.\n"
               "\n"
               "Options:\n"
               "  --hub-key HUB.key  the hub's secret key, as for 'import --submission' (mode\n"
               "                  0600; refused when group or others can read it); --key is\n"
               "                  the same option\n"
               "  --out FILE      output (mode 0600)\n"
               "  --json          print {\"in\", \"out\"}\n"
               "  -q, --quiet     print nothing on success\n"
               "  -h, --help      show this help\n"
               "\n"
               "Exit status: 0 ok, 2 usage, 4 I/O, or the seal does not open (wrong key,\n"
               "altered or truncated file), or a key file that group or others can read.\n");
}

static int apply(int opt, const char *value, const char *name, void *payload)
{
    args *a = payload;
    (void)name;
    switch (opt) {
    case OPT_TO:
        a->to = value;
        return -1;
    case OPT_KEY:
        a->key = value;
        return -1;
    case OPT_OUT:
        a->out = value;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

static int run(int argc, char **argv, bool sealing)
{
    const char *cmd = sealing ? "seal" : "unseal";
    rp_cli_common common = {false, false, false};
    args a = {NULL, NULL, NULL};
    int status = rp_cli_parse_opts(&common, cmd, argc, argv, longopts,
                                   sealing ? usage_seal : usage_unseal, apply, &a);
    if (status != -1)
        return status;
    if (optind != argc - 1)
        return rp_cli_usage_error(cmd, "expected one input FILE");
    const char *in = argv[optind];
    if (sealing && (a.to == NULL || a.key != NULL))
        return rp_cli_usage_error(cmd, "--to HUB.pub is required (and --key is for unseal)");
    if (!sealing && (a.key == NULL || a.to != NULL || a.out == NULL))
        return rp_cli_usage_error(cmd, "--key HUB.key and --out FILE are required");
    char out[4096];
    if (a.out == NULL) {
        int n = snprintf(out, sizeof out, "%s.sealed", in);
        if (n < 0 || (size_t)n >= sizeof out)
            return rp_cli_usage_error(cmd, "input file name too long");
        a.out = out;
    }
    struct stat sb;
    if (lstat(a.out, &sb) == 0) {
        /* never overwrite: the output could be the input or a key file */
        rp_error xerr = RP_ERROR_INIT;
        rp_error_set_at(&xerr, RP_EIO, a.out, 0, 0,
                        "already exists; remove it or choose another --out");
        return rp_cli_report(&xerr, common.json);
    }
    rp_error err = RP_ERROR_INIT;
    int rc = sealing ? rp_seal_file(in, a.out, a.to, &err) : rp_unseal_file(in, a.out, a.key, &err);
    if (rc != RP_OK)
        return rp_cli_report(&err, common.json);
    status = RP_EXIT_OK;
    if (common.json) {
        json_t *root = json_pack("{s:s, s:s}", "in", in, "out", a.out);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK)
            status = RP_EXIT_IO;
        json_decref(root);
    } else if (!common.quiet) {
        printf(sealing ? "Sealed %s to the hub's key: %s\n" : "Opened %s into %s\n", in, a.out);
    }
    return status;
}

int cmd_seal(int argc, char **argv)
{
    return run(argc, argv, true);
}

int cmd_unseal(int argc, char **argv)
{
    return run(argc, argv, false);
}
