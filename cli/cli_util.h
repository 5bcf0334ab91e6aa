/*
 * rapporteur CLI: helpers shared by every command. The command table type, exit codes,
 * option parsing with the common options (--help, --json, --quiet), strict number
 * parsing, error reporting, a progress bar that only appears on a terminal, and atomic
 * file and JSON output (Jansson).
 */
#ifndef RP_CLI_UTIL_H
#define RP_CLI_UTIL_H

#include <rapporteur/error.h>

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** One entry of the command table in main.c (git's `struct cmd_struct`). */
typedef struct rp_cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} rp_cli_cmd;

/*
 * Exit statuses. 0-4 follow STYLE.md §3.7; bad input files exit with sysexits.h's
 * EX_DATAERR (65), as issue 2 asks of `rapporteur estimate`.
 */
enum {
    RP_EXIT_OK = 0,
    RP_EXIT_RUNTIME = 1,
    RP_EXIT_USAGE = 2,
    RP_EXIT_VALIDATION = 3,
    RP_EXIT_IO = 4,
    RP_EXIT_DATAERR = 65
};

/* Option codes of the common options; command-specific codes start at RP_CLI_OPT_FIRST. */
enum { RP_CLI_OPT_HELP = 'h', RP_CLI_OPT_QUIET = 'q', RP_CLI_OPT_JSON = 0x100 };

#define RP_CLI_OPT_FIRST 0x200

/* The long options every command accepts; put this first in each command's table. */
#define RP_CLI_COMMON_LONGOPTS                                                                    \
    {"help", no_argument, NULL, RP_CLI_OPT_HELP}, {"quiet", no_argument, NULL, RP_CLI_OPT_QUIET}, \
    {                                                                                             \
        "json", no_argument, NULL, RP_CLI_OPT_JSON                                                \
    }

/** The common options, parsed once for every command. */
typedef struct rp_cli_common {
    bool help;
    bool json;
    bool quiet;
} rp_cli_common;

/** Record common option @p opt in @p c. @return true if @p opt was a common option. */
bool rp_cli_common_opt(rp_cli_common *c, int opt);

/** Returned by an rp_cli_opt_fn for a code that is not one of its options. */
#define RP_CLI_OPT_UNKNOWN (-2)

/**
 * A command's handler for one of its own options: @p opt is the getopt_long() code,
 * @p value the option's value (NULL for a flag), @p name the option as written (for
 * messages), @p payload the command's arguments.
 * @return -1 when applied; RP_CLI_OPT_UNKNOWN; or an exit status to stop with.
 */
typedef int (*rp_cli_opt_fn)(int opt, const char *value, const char *name, void *payload);

/**
 * Parse the options of a command line, the loop every command shares: getopt_long()
 * over @p argv with -h, -q and @p longopts (which start with RP_CLI_COMMON_LONGOPTS).
 * Common options go into @p c, every other one to @p apply with @p payload. A missing
 * value or an unknown option is a usage error of @p cmd. Once all options are read,
 * --help prints @p usage on stdout. getopt_long() permutes @p argv, so options may
 * follow the operands, which are left at argv[optind..argc).
 *
 * @return -1 to go on; RP_EXIT_OK after --help; or the exit status of an error.
 */
int rp_cli_parse_opts(rp_cli_common *c,
                      const char *cmd,
                      int argc,
                      char **argv,
                      const struct option *longopts,
                      void (*usage)(FILE *f),
                      rp_cli_opt_fn apply,
                      void *payload);

/** After rp_cli_parse_opts(), for a command without operands: an "unexpected argument"
 *  usage error of @p cmd when any is left. @return -1 to go on, or RP_EXIT_USAGE. */
int rp_cli_no_operands(const char *cmd, int argc, char **argv);

/** Exit status for a library status code (RP_EPARSE and RP_EDATA give 65). */
int rp_cli_exit_code(int rc);

/**
 * Report @p err on stderr as "rapporteur: path:line:column: msg"; with @p json also print
 * {"error": {...}} on stdout. @return the exit status for err->code.
 */
int rp_cli_report(const rp_error *err, bool json);

/** Print "rapporteur: <cmd>: <message>" and a hint to try --help; @return RP_EXIT_USAGE. */
int rp_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Strict parsers for option values: whole string, no overflow. @return true on success. */
bool rp_cli_parse_size(size_t *out, const char *s);
bool rp_cli_parse_u64(uint64_t *out, const char *s);
bool rp_cli_parse_int(int *out, const char *s, int min, int max);
bool rp_cli_parse_double(double *out, const char *s);

/**
 * A growable array of strings owned by the CLI (rp_malloc). rp_cli_strv_split() appends
 * each non-empty piece of @p s split at @p sep.
 */
typedef struct rp_cli_strv {
    char **v;
    size_t n;
} rp_cli_strv;

int rp_cli_strv_push(rp_cli_strv *sv, const char *s, size_t len, rp_error *err);
int rp_cli_strv_split(rp_cli_strv *sv, const char *s, char sep, rp_error *err);
void rp_cli_strv_clear(rp_cli_strv *sv);

/** Progress bar state for rp_cli_progress(); set `enabled` with rp_cli_progress_wanted(). */
typedef struct rp_cli_progress_state {
    bool enabled;
    const char *label;
    int last_percent;
    bool drawn;
} rp_cli_progress_state;

/** True when a progress bar should be drawn: stderr is a terminal and not --quiet. */
bool rp_cli_progress_wanted(bool quiet);

/** An rp_progress_fn: draws a bar on stderr when state->enabled; never cancels. */
int rp_cli_progress(size_t done, size_t total, void *payload);

/** Erase a bar drawn by rp_cli_progress(), if any. */
void rp_cli_progress_end(rp_cli_progress_state *st);

/** json_real(@p x), or JSON null when @p x is NaN or infinite. Never NULL except OOM. */
json_t *rp_cli_json_number(double x);

/** A count of people: a JSON integer when @p x is a whole number, else as rp_cli_json_number(). */
json_t *rp_cli_json_count(double x);

/** Flags used for all JSON output: indented, reals with 10 significant digits. */
#define RP_CLI_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

/** Print @p root on stdout followed by a newline. @return RP_OK or RP_EIO. */
int rp_cli_json_print(const json_t *root, rp_error *err);

/**
 * Writes the content of an output file on @p f (@p path names the file for messages).
 * @return RP_OK, or a failure with @p err set.
 */
typedef int (*rp_cli_write_fn)(FILE *f, const char *path, void *payload, rp_error *err);

/**
 * Write a file at @p path atomically: @p write fills a temporary file in the same
 * directory, which is then synced and renamed over @p path. On failure nothing is left
 * at @p path that was not there before. With @p record_level (case records, which hold
 * pseudonymous ids) the file is mode 0600 whatever the umask, like the store; otherwise
 * 0666 less the umask, as fopen() gives.
 * @return RP_OK; RP_EINVAL (@p path names a directory); RP_EIO; RP_ENOMEM; or the
 *         failure of @p write.
 */
int rp_cli_write_atomic(
    const char *path, bool record_level, rp_cli_write_fn write, void *payload, rp_error *err);

/**
 * Write @p root to @p path atomically, as rp_cli_write_atomic() does.
 * @return RP_OK; RP_EIO.
 */
int rp_cli_json_write_atomic(const json_t *root, const char *path, rp_error *err);

#endif
