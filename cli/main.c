/*
 * rapporteur CLI: entry point and command table (git's git.c). main() handles only
 * --help, --version and `help <command>`, then hands argv to the command, whose own
 * file parses its options (cli/cmd_<name>.c).
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>

#include <stdio.h>
#include <string.h>

static const rp_cli_cmd cmds[] = {
    {"init", cmd_init, "create a store (one SQLite file) for case records"},
    {"import", cmd_import, "validate and load case records into the store"},
    {"lists", cmd_lists, "show the lists and submissions in the store"},
    {"quarantine", cmd_quarantine, "show the rows set aside by imports, with every reason"},
    {"export", cmd_export, "write the stored records in the standard (CSV or JSON)"},
    {"stats", cmd_stats, "count stored records by the values of a field"},
    {"estimate", cmd_estimate, "estimate the hidden total by multiple systems estimation"},
    {"report", cmd_report, "publish patterns and trends: protected tables, charts, HTML, Excel"},
    {"simulate", cmd_simulate, "simulate a population and agency lists with known truth"},
    {"keygen", cmd_keygen, "create the linkage secret or the hub's key pair"},
    {"encode", cmd_encode, "encode an agency file for privacy-preserving linkage"},
    {"seal", cmd_seal, "encrypt a submission to the hub's public key"},
    {"unseal", cmd_unseal, "open a sealed submission at the hub"},
    {"recs", cmd_recs, "track GRETA/OSCE recommendations, actions and scorecards"},
    {"link", cmd_link, "link records across and within lists into persons"},
    {"serve", cmd_serve, "serve the store: dashboard, JSON API, accounts and roles"},
};

static const size_t n_cmds = sizeof(cmds) / sizeof(cmds[0]);

static void usage(FILE *f)
{
    fprintf(f, "usage: rapporteur [--help | --version] <command> [<args>]\n"
               "       rapporteur help <command>\n\n"
               "Statistics for national rapporteurs on trafficking in human beings.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < n_cmds; i++)
        fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nRun 'rapporteur <command> --help' for a command's options.\n"
               "Exit status: 0 ok, 1 runtime error, 2 usage, 3 rows set aside (quarantined),\n"
               "4 I/O or store, 65 bad input data.\n");
}

static const rp_cli_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < n_cmds; i++) {
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rp_init();
    if (argc < 2) {
        usage(stderr);
        return RP_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        usage(stdout);
        return RP_EXIT_OK;
    }
    if (strcmp(first, "--version") == 0) {
        printf("rapporteur %s\n", RP_VERSION_STRING);
        return RP_EXIT_OK;
    }
    if (strcmp(first, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return RP_EXIT_OK;
        }
        const rp_cli_cmd *c = find_cmd(argv[2]);
        if (c == NULL) {
            fprintf(stderr, "rapporteur: '%s' is not a rapporteur command\n", argv[2]);
            usage(stderr);
            return RP_EXIT_USAGE;
        }
        char help_opt[] = "--help";
        char *hargv[] = {argv[2], help_opt, NULL};
        return c->fn(2, hargv);
    }
    if (first[0] == '-') {
        fprintf(stderr, "rapporteur: unknown option '%s'\n", first);
        usage(stderr);
        return RP_EXIT_USAGE;
    }
    const rp_cli_cmd *c = find_cmd(first);
    if (c == NULL) {
        fprintf(stderr, "rapporteur: '%s' is not a rapporteur command\n", first);
        usage(stderr);
        return RP_EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
