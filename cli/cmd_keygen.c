/*
 * rapporteur CLI: `rapporteur keygen`, the keys of privacy-preserving linkage
 * (include/rapporteur/encode.h): the agencies' shared linkage secret (--secret FILE) and
 * the hub's key pair for sealed submissions (--hub NAME: NAME.pub and NAME.key). Key
 * files are created with mode 0600 (the public key 0644) and never overwritten.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/encode.h>
#include <rapporteur/rapporteur.h>

#include <stdio.h>
#include <string.h>

#define CMD_NAME "keygen"

enum { OPT_SECRET = RP_CLI_OPT_FIRST, OPT_HUB };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"secret", required_argument, NULL, OPT_SECRET},
                                         {"hub", required_argument, NULL, OPT_HUB},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *secret;
    const char *hub;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur keygen --secret FILE [--json]\n"
            "       rapporteur keygen --hub NAME [--json]\n"
            "\n"
            "Create the keys of privacy-preserving linkage (docs/encoding.md).\n"
            "\n"
            "  --secret FILE   the linkage secret that every agency of one linkage shares:\n"
            "                  32 random bytes, written as hex to FILE with mode 0600. Hand it\n"
            "                  to the agencies by a secure channel; never to the hub. Encodings\n"
            "                  made with different secrets cannot be linked.\n"
            "  --hub NAME      the hub's key pair for sealed submissions: NAME.pub (mode 0644,\n"
            "                  give it to the agencies) and NAME.key (mode 0600, stays at the\n"
            "                  hub; it opens what agencies seal with 'rapporteur seal').\n"
            "  --json          print {\"secret\", \"key_id\"} or {\"public\", \"key\"}\n"
            "  -q, --quiet     print nothing on success\n"
            "  -h, --help      show this help\n"
            "\n"
            "An existing file is never overwritten (exit 4). Key files that group or\n"
            "others can read are refused by every command that reads them.\n"
            "\n"
            "Exit status: 0 ok, 2 usage, 4 I/O (file exists, cannot create).\n");
}

static int apply(int opt, const char *value, const char *name, void *payload)
{
    args *a = payload;
    (void)name;
    switch (opt) {
    case OPT_SECRET:
        a->secret = value;
        return -1;
    case OPT_HUB:
        a->hub = value;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

int cmd_keygen(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    args a = {NULL, NULL};
    int status = rp_cli_parse_opts(&common, CMD_NAME, argc, argv, longopts, usage, apply, &a);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status != -1)
        return status;
    if ((a.secret == NULL) == (a.hub == NULL))
        return rp_cli_usage_error(CMD_NAME, "give exactly one of --secret FILE and --hub NAME");
    rp_error err = RP_ERROR_INIT;
    json_t *root = NULL;
    if (a.secret != NULL) {
        if (a.secret[0] == '\0')
            return rp_cli_usage_error(CMD_NAME, "--secret: expected a file name");
        if (rp_secret_generate(a.secret, &err) != RP_OK)
            return rp_cli_report(&err, common.json);
        rp_secret *s = NULL;
        char id[17] = "";
        if (rp_secret_load(&s, a.secret, &err) != RP_OK)
            return rp_cli_report(&err, common.json);
        rp_secret_id(s, id);
        rp_secret_free(s);
        if (common.json)
            root = json_pack("{s:s, s:s}", "secret", a.secret, "key_id", id);
        else if (!common.quiet)
            printf("Wrote the linkage secret to %s (mode 0600, key id %s).\n"
                   "Give it to every agency of this linkage by a secure channel, never to the "
                   "hub.\n",
                   a.secret, id);
    } else {
        size_t n = strlen(a.hub);
        if (n == 0 || n > 4000)
            return rp_cli_usage_error(CMD_NAME, "--hub: expected a file name prefix");
        char pub[4096], key[4096];
        snprintf(pub, sizeof pub, "%s.pub", a.hub);
        snprintf(key, sizeof key, "%s.key", a.hub);
        if (rp_hub_keygen(pub, key, &err) != RP_OK)
            return rp_cli_report(&err, common.json);
        if (common.json)
            root = json_pack("{s:s, s:s}", "public", pub, "key", key);
        else if (!common.quiet)
            printf("Wrote the hub's public key to %s (give it to the agencies)\n"
                   "and its secret key to %s (mode 0600; keep it at the hub).\n",
                   pub, key);
    }
    status = RP_EXIT_OK;
    if (root != NULL && rp_cli_json_print(root, &err) != RP_OK)
        status = RP_EXIT_IO;
    json_decref(root);
    return status;
}
