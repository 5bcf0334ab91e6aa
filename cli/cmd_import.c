/*
 * rapporteur CLI: `rapporteur import FILE --mapping MAP.json`, validate an agency's file
 * against the data standard and store it as one submission, in one transaction: every
 * row is stored or quarantined with every reason, and read = stored + quarantined is
 * printed. A file that cannot be used at all (binary, unbalanced quote, bad encoding,
 * mapping that does not fit) exits 65 and leaves the store as it was. With
 * --submission, FILE is a submission of `rapporteur encode` (sealed ones open with
 * --hub-key): its records and their encodings are stored for `rapporteur link`.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define CMD_NAME "import"

/* Reasons of the quarantine summary: distinct rules shown, then "other". */
#define MAX_RULES 16

enum {
    OPT_STORE = RP_CLI_OPT_FIRST,
    OPT_MAPPING,
    OPT_AGENCY,
    OPT_LIST,
    OPT_ENCODING,
    OPT_DELIMITER,
    OPT_FORMAT,
    OPT_MAX_FIELD,
    OPT_ALLOW_REIMPORT,
    OPT_SUBMISSION,
    OPT_HUB_KEY
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"mapping", required_argument, NULL, OPT_MAPPING},
                                         {"agency", required_argument, NULL, OPT_AGENCY},
                                         {"list", required_argument, NULL, OPT_LIST},
                                         {"encoding", required_argument, NULL, OPT_ENCODING},
                                         {"delimiter", required_argument, NULL, OPT_DELIMITER},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"max-field", required_argument, NULL, OPT_MAX_FIELD},
                                         {"allow-reimport", no_argument, NULL, OPT_ALLOW_REIMPORT},
                                         {"submission", no_argument, NULL, OPT_SUBMISSION},
                                         {"hub-key", required_argument, NULL, OPT_HUB_KEY},
                                         {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur import FILE --mapping MAP.json [options]\n"
            "   or: rapporteur import --submission FILE [--hub-key KEY] [options]\n"
            "\n"
            "Validate the case records in FILE (CSV, SPSS .sav or Stata .dta) against the\n"
            "data standard through the mapping MAP.json (docs/data-standard.md), and store\n"
            "them as one submission, in one transaction. Every row is either stored or\n"
            "set aside (quarantined) with every reason; read = stored + quarantined.\n"
            "A file whose SHA-256 is already in the store is not imported again.\n"
            "\n"
            "With --submission, FILE is a submission written by 'rapporteur encode'\n"
            "(sealed with 'rapporteur seal': give the hub's key with --hub-key). Its\n"
            "records are stored under their pseudonymous ids on the submission's list,\n"
            "with their encodings and blocking keys for 'rapporteur link'. A damaged or\n"
            "cut file, or one encoded with another key or schema than the submissions\n"
            "already in the store, is refused and nothing is stored.\n"
            "\n"
            "Options:\n"
            "  --mapping MAP.json   how FILE's columns and codes map to the standard\n"
            "  --store FILE         the store (default %s; create it with\n"
            "                       'rapporteur init')\n"
            "  --agency NAME        submitting agency, kept with the submission\n"
            "  --list CODE          list (data source) code for every row, instead of the\n"
            "                       mapping's (with --submission: must be the submission's)\n"
            "  --format F           auto (default: by content, then extension), csv, sav\n"
            "                       or dta\n"
            "  --encoding ENC       CSV encoding, an iconv name such as WINDOWS-1251\n"
            "                       (default UTF-8, with or without BOM)\n"
            "  --delimiter C        CSV delimiter: one character, or 'tab' (default:\n"
            "                       detected among , ; TAB |)\n"
            "  --max-field BYTES    longest field accepted (default 1048576); a longer one\n"
            "                       makes the file unusable\n"
            "  --allow-reimport     import a file even if it was imported before\n"
            "  --submission         FILE is an encoded submission (no --mapping)\n"
            "  --hub-key KEY        the hub's secret key file, to open a sealed submission\n"
            "  --json               print {\"read\", \"stored\", \"quarantined\",\n"
            "                       \"submission_id\", \"sha256\", \"duplicate\", \"reasons\"}\n"
            "  -q, --quiet          no summary and no progress bar\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 every row stored (or the file was imported before), 2 usage,\n"
            "3 some rows were quarantined (see 'rapporteur quarantine'), 4 I/O or store\n"
            "error (also: a sealed submission without the right --hub-key), 65 the file\n"
            "or the mapping is unusable, or a submission is damaged or encoded with\n"
            "another key or schema (message \"file:line:column: ...\"; nothing stored).\n"
            "Interrupted (Ctrl-C), nothing is stored either.\n",
            RP_STORE_DEFAULT_PATH);
}

/* ==== arguments ==== */

typedef struct import_args {
    rp_cli_common common;
    const char *path;
    const char *store;
    const char *mapping;
    rp_import_opts opts;
    bool submission;
    const char *hub_key;
    const char *csv_opt; /* a CSV-only option given (for the usage error), or NULL */
} import_args;

/* "tab" or "\t" (as typed), or a single character other than quote and line ends. */
static bool parse_delimiter(char *out, const char *v)
{
    if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0 || strcmp(v, "\t") == 0) {
        *out = '\t';
        return true;
    }
    if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
        return false;
    *out = v[0];
    return true;
}

/* One import option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    import_args *a = payload;
    (void)name;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        break;
    case OPT_MAPPING:
        a->mapping = v;
        break;
    case OPT_AGENCY:
        a->opts.agency = v;
        break;
    case OPT_LIST:
        if (v[0] == '\0' || strlen(v) >= RP_DATA_ID_MAX)
            return rp_cli_usage_error(CMD_NAME, "--list: expected a code of 1 to %d bytes",
                                      RP_DATA_ID_MAX - 1);
        a->opts.list = v;
        break;
    case OPT_ENCODING:
        a->opts.reader.encoding = v;
        a->csv_opt = "--encoding";
        break;
    case OPT_DELIMITER:
        if (!parse_delimiter(&a->opts.reader.delimiter, v))
            return rp_cli_usage_error(CMD_NAME, "--delimiter: expected one character or 'tab'");
        a->csv_opt = "--delimiter";
        break;
    case OPT_FORMAT:
        if (strcmp(v, "auto") == 0)
            a->opts.reader.format = RP_INPUT_AUTO;
        else if (strcmp(v, "csv") == 0)
            a->opts.reader.format = RP_INPUT_CSV;
        else if (strcmp(v, "sav") == 0)
            a->opts.reader.format = RP_INPUT_SAV;
        else if (strcmp(v, "dta") == 0)
            a->opts.reader.format = RP_INPUT_DTA;
        else
            return rp_cli_usage_error(CMD_NAME, "--format: expected auto, csv, sav or dta");
        a->csv_opt = "--format";
        break;
    case OPT_MAX_FIELD:
        if (!rp_cli_parse_size(&a->opts.reader.max_field, v) || a->opts.reader.max_field == 0)
            return rp_cli_usage_error(CMD_NAME, "--max-field: expected a positive integer");
        a->csv_opt = "--max-field";
        break;
    case OPT_ALLOW_REIMPORT:
        a->opts.allow_reimport = true;
        break;
    case OPT_SUBMISSION:
        a->submission = true;
        break;
    case OPT_HUB_KEY:
        a->hub_key = v;
        break;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
    return -1;
}

/* Returns -1 to go on with the import, otherwise the exit status (0 after --help). */
static int parse_args(import_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st != -1)
        return st;
    if (optind >= argc)
        return rp_cli_usage_error(CMD_NAME, "no input FILE given");
    if (optind + 1 < argc)
        return rp_cli_usage_error(CMD_NAME, "one input FILE expected, got '%s' too",
                                  argv[optind + 1]);
    a->path = argv[optind];
    if (a->submission && a->mapping != NULL)
        return rp_cli_usage_error(CMD_NAME, "--mapping does not apply to a --submission");
    if (a->submission && a->csv_opt != NULL)
        return rp_cli_usage_error(CMD_NAME, "%s does not apply to a --submission", a->csv_opt);
    if (!a->submission && a->hub_key != NULL)
        return rp_cli_usage_error(CMD_NAME, "--hub-key needs --submission");
    if (!a->submission && a->mapping == NULL)
        return rp_cli_usage_error(CMD_NAME, "no --mapping given");
    if (strcmp(a->path, a->store) == 0)
        return rp_cli_usage_error(CMD_NAME, "FILE is the store itself");
    return -1;
}

/* ==== progress and interruption ==== */

/* Set by SIGINT/SIGTERM; the next progress call cancels, and the import rolls back. */
static volatile sig_atomic_t interrupted = 0;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int on_progress(size_t done, size_t total, void *payload)
{
    if (interrupted)
        return 1;
    return rp_cli_progress(done, total, payload);
}

/* ==== quarantine summary ==== */

typedef struct rule_count {
    char rule[sizeof(((rp_issue *)NULL)->rule)];
    long long count;
    long line, column; /* the first example */
    char column_name[sizeof(((rp_issue *)NULL)->column_name)];
    char message[sizeof(((rp_issue *)NULL)->message)];
} rule_count;

typedef struct rule_summary {
    rule_count rules[MAX_RULES];
    size_t n;
    long long other; /* reasons beyond MAX_RULES distinct rules */
} rule_summary;

static int on_reason(const rp_quarantine_entry *q, void *payload)
{
    rule_summary *s = payload;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->rules[i].rule, q->issue.rule) == 0) {
            s->rules[i].count++;
            return 0;
        }
    }
    if (s->n == MAX_RULES) {
        s->other++;
        return 0;
    }
    rule_count *r = &s->rules[s->n++];
    rp_cli_text_clean(r->rule, sizeof(r->rule), q->issue.rule);
    r->count = 1;
    r->line = q->issue.line;
    r->column = q->issue.column;
    rp_cli_text_clean(r->column_name, sizeof(r->column_name), q->issue.column_name);
    rp_cli_text_clean(r->message, sizeof(r->message), q->issue.message);
    return 0;
}

/* ==== output ==== */

static json_t *report_json(const import_args *a,
                           const rp_import_report *rep,
                           const rp_mapping *map,
                           const rule_summary *rs)
{
    json_t *reasons = json_object();
    for (size_t i = 0; reasons != NULL && i < rs->n; i++)
        json_object_set_new(reasons, rs->rules[i].rule, json_integer(rs->rules[i].count));
    if (reasons != NULL && rs->other > 0)
        json_object_set_new(reasons, "other", json_integer(rs->other));
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:I, s:s, s:b, s:I, s:I, s:I, s:o}", "file", a->path, "store",
        a->store, "mapping",
        map != NULL && rp_mapping_name(map) != NULL ? rp_mapping_name(map) : "", "agency",
        a->opts.agency, "list", a->opts.list, "submission_id", (json_int_t)rep->submission_id,
        "sha256", rep->sha256, "duplicate", rep->duplicate, "read", (json_int_t)rep->read, "stored",
        (json_int_t)rep->stored, "quarantined", (json_int_t)rep->quarantined, "reasons", reasons);
    if (root != NULL && rep->duplicate) {
        /* nothing was imported: there is no submission of this run */
        json_object_set_new(root, "submission_id", json_null());
        json_object_set_new(root, "duplicate_of", json_integer(rep->duplicate_of));
    }
    return root;
}

static void print_report(const import_args *a, const rp_import_report *rep, const rule_summary *rs)
{
    if (rep->duplicate) {
        printf("Not imported: %s was already imported as submission %lld (sha256 %.16s...)\n"
               "(use --allow-reimport to import it again)\n",
               a->path, rep->duplicate_of, rep->sha256);
        return;
    }
    printf("Imported     %s as submission %lld (sha256 %.16s...)\n", a->path, rep->submission_id,
           rep->sha256);
    printf("Read         %12lld rows\n", rep->read);
    printf("Stored       %12lld\n", rep->stored);
    printf("Quarantined  %12lld\n", rep->quarantined);
    if (rep->quarantined == 0)
        return;
    printf("\nReasons (a row may have several)\n");
    for (size_t i = 0; i < rs->n; i++) {
        const rule_count *r = &rs->rules[i];
        printf("  %-12s %10lld   e.g. line %ld", r->rule, r->count, r->line);
        if (r->column > 0)
            printf(", column %ld '%s'", r->column, r->column_name);
        printf(": %s\n", r->message);
    }
    if (rs->other > 0)
        printf("  %-12s %10lld\n", "other", rs->other);
    printf("Every reason: rapporteur quarantine --store %s --submission %lld\n", a->store,
           rep->submission_id);
}

/* ==== the command ==== */

int cmd_import(int argc, char **argv)
{
    import_args a = {.store = RP_STORE_DEFAULT_PATH, .opts = RP_IMPORT_OPTS_INIT};
    rp_mapping *map = NULL;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    rule_summary *rs = NULL;
    json_t *root = NULL;
    memset(&rep, 0, sizeof(rep));
    int status = parse_args(&a, argc, argv);
    if (status >= 0)
        return status;

    int rc = a.submission ? RP_OK : rp_mapping_load(&map, a.mapping, &err);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }
    status = rp_cli_store_open(&st, a.store, 0, a.common.json);
    if (status >= 0)
        goto out;

    rp_cli_progress_state ps = {.enabled = rp_cli_progress_wanted(a.common.quiet),
                                .label = "importing",
                                .last_percent = -1};
    a.opts.progress = on_progress;
    a.opts.payload = &ps;
    interrupted = 0;
    catch_signals(true);
    if (a.submission)
        rc = rp_store_import_submission(&rep, st, a.path, a.hub_key, &a.opts, &err);
    else
        rc = rp_store_import(&rep, st, a.path, map, &a.opts, &err);
    catch_signals(false);
    rp_cli_progress_end(&ps);
    if (rc == RP_ECANCELED && interrupted)
        rp_error_set(&err, RP_ECANCELED, "import of '%s' interrupted; nothing was stored", a.path);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }

    rs = rp_calloc(1, sizeof(*rs));
    if (rs == NULL) {
        rp_error_set(&err, RP_ENOMEM, "out of memory");
        status = rp_cli_report(&err, a.common.json);
        goto out;
    }
    if (!rep.duplicate && rep.quarantined > 0) {
        rc = rp_store_quarantine(st, rep.submission_id, on_reason, rs, &err);
        if (rc != RP_OK) {
            status = rp_cli_report(&err, a.common.json);
            goto out;
        }
    }
    status = rep.quarantined > 0 && !rep.duplicate ? RP_EXIT_VALIDATION : RP_EXIT_OK;
    if (rep.duplicate && (a.common.json || a.common.quiet))
        fprintf(stderr,
                "rapporteur: '%s' was already imported as submission %lld; nothing stored\n",
                a.path, rep.duplicate_of);
    if (a.common.json) {
        root = report_json(&a, &rep, map, rs);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK)
            status = RP_EXIT_IO;
    } else if (!a.common.quiet) {
        print_report(&a, &rep, rs);
        if (fflush(stdout) != 0)
            status = RP_EXIT_IO;
    }
out:
    json_decref(root);
    rp_free(rs);
    rp_store_close(st);
    rp_mapping_free(map);
    return status;
}
