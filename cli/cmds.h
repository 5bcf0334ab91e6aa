/*
 * rapporteur CLI: the commands. Each cli/cmd_<name>.c defines one of these; argv[0] is
 * the command's name and the return value is the process exit status.
 */
#ifndef RP_CLI_CMDS_H
#define RP_CLI_CMDS_H

/** `rapporteur estimate FILE [options]`: multiple systems estimation. */
int cmd_estimate(int argc, char **argv);

/** `rapporteur init [--store FILE]`: create (or upgrade) a store. */
int cmd_init(int argc, char **argv);

/** `rapporteur import FILE --mapping MAP`: validate and store case records. */
int cmd_import(int argc, char **argv);

/** `rapporteur lists`: the lists in a store and the submissions that filled them. */
int cmd_lists(int argc, char **argv);

/** `rapporteur quarantine`: every reason of every row set aside by an import. */
int cmd_quarantine(int argc, char **argv);

/** `rapporteur export`: the stored records in the standard, as CSV or JSON. */
int cmd_export(int argc, char **argv);

/** `rapporteur stats --field NAME`: stored records counted by the values of a field. */
int cmd_stats(int argc, char **argv);

/** `rapporteur report`: protected tables, charts, HTML and Excel (cli/cmd_report.c). */
int cmd_report(int argc, char **argv);

/** `rapporteur simulate`: a scenario with known truth (cli/cmd_simulate.c). */
int cmd_simulate(int argc, char **argv);

/** `rapporteur keygen`: the linkage secret or the hub's key pair (cli/cmd_keygen.c). */
int cmd_keygen(int argc, char **argv);

/** `rapporteur encode`: agency-side encoding into a submission (cli/cmd_encode.c). */
int cmd_encode(int argc, char **argv);

/** `rapporteur seal` / `unseal`: sealed submissions (cli/cmd_seal.c). */
int cmd_seal(int argc, char **argv);
int cmd_unseal(int argc, char **argv);

/** `rapporteur link`: link the encoded records in the store into persons (cli/cmd_link.c). */
int cmd_link(int argc, char **argv);

/**
 * `rapporteur link --clear FILE...`: Fellegi–Sunter linkage of clear-text agency files
 * where an office may lawfully link in clear (cli/cmd_link_clear.c); cmd_link() hands
 * over to it when --clear is given.
 */
int cmd_link_clear(int argc, char **argv);

/** `rapporteur serve`: the office online, and its accounts (cli/cmd_serve.c). */
int cmd_serve(int argc, char **argv);

/** `rapporteur recs`: recommendation and commitment tracking (cli/cmd_recs.c). */
int cmd_recs(int argc, char **argv);

/* ==== helpers shared by the store commands ==== */

#include <rapporteur/store.h>

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/**
 * The option table of a store command whose only own option is --store FILE (init,
 * lists), for rp_cli_parse_opts() with rp_cli_store_opt(). Defined in cmd_init.c.
 */
extern const struct option rp_cli_store_longopts[];

/** The rp_cli_opt_fn of rp_cli_store_longopts: --store sets *(const char **)payload. */
int rp_cli_store_opt(int opt, const char *value, const char *name, void *payload);

/**
 * Open the store at @p path (RP_STORE_DEFAULT_PATH when NULL) with @p flags, reporting a
 * failure on stderr (and as JSON under @p json). A missing store gets a hint to run
 * `rapporteur init`. Defined in cmd_init.c.
 * @return -1 with *st set, or the exit status to return.
 */
int rp_cli_store_open(rp_store **st, const char *path, unsigned flags, bool json);

/**
 * Copy @p s into @p out (@p size bytes, NUL-terminated) as printable UTF-8: invalid
 * sequences and control characters become '?', so that hostile values can be shown on a
 * terminal or put in JSON. Defined in cmd_quarantine.c. @return @p out.
 */
char *rp_cli_text_clean(char *out, size_t size, const char *s);

/**
 * Write @p s as one CSV cell (RFC 4180) on @p f: quoted when it holds a comma, quote, CR
 * or LF, and prefixed with ' when it starts with = + - @ TAB or CR, so that a spreadsheet
 * never reads it as a formula. Defined in cmd_quarantine.c.
 */
void rp_cli_csv_cell(FILE *f, const char *s);

#endif
