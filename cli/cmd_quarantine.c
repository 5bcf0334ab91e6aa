/*
 * rapporteur CLI: `rapporteur quarantine`, every reason of every row that an import set
 * aside: submission, file, line, column, column name, value, rule and what was expected.
 * The listing is CSV that is safe to open in a spreadsheet (no cell can start a formula)
 * or one JSON object. Also holds the text-cleaning and CSV-cell helpers of cmds.h.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <stdio.h>
#include <string.h>

#define CMD_NAME "quarantine"

enum { OPT_STORE = RP_CLI_OPT_FIRST, OPT_SUBMISSION };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"submission", required_argument, NULL, OPT_SUBMISSION},
                                         {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur quarantine [--submission N] [--store FILE] [--json]\n"
            "\n"
            "List every reason why rows were set aside (quarantined) by imports, one line\n"
            "per reason, as CSV with the header\n"
            "  submission,file,line,column,column_name,value,rule,message\n"
            "`line` is the input line (CSV) or row number (SPSS, Stata); `column` is 0 when\n"
            "the rule concerns the whole record. Cells that a spreadsheet could read as a\n"
            "formula (starting with = + - @) are prefixed with ', and values are shown\n"
            "with control characters and invalid UTF-8 replaced by '?'.\n"
            "\n"
            "Options:\n"
            "  --submission N       only the rows of submission N (see 'rapporteur lists')\n"
            "  --store FILE         the store (default %s)\n"
            "  --json               print {\"count\": N, \"reasons\": [{...}, ...]} instead\n"
            "  -q, --quiet          print nothing; the exit status still tells\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok (also when nothing is quarantined), 2 usage, 4 I/O or store\n"
            "error.\n",
            RP_STORE_DEFAULT_PATH);
}

/* ==== shared helpers (cmds.h) ==== */

/* Length of the valid UTF-8 sequence at @p s (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = 0;
    unsigned min = 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu))
        return 0;
    return n;
}

char *rp_cli_text_clean(char *out, size_t size, const char *s)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    if (size == 0)
        return out;
    while (*p != '\0') {
        size_t n = utf8_len(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
            if (o + 1 >= size)
                break;
            out[o++] = '?';
            p++;
            continue;
        }
        if (o + n >= size)
            break;
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return out;
}

void rp_cli_csv_cell(FILE *f, const char *s)
{
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
}

/* ==== the command ==== */

typedef struct q_state {
    bool json;
    bool quiet;
    json_t *reasons; /* --json */
    long long count;
    bool oom;
} q_state;

/* Write one unsigned integer cell followed by a comma. */
static void csv_num(long long v)
{
    printf("%lld,", v);
}

static int on_entry(const rp_quarantine_entry *q, void *payload)
{
    q_state *s = payload;
    char file[sizeof(q->file_name)], name[sizeof(q->issue.column_name)];
    char value[4 * sizeof(q->issue.value)], msg[sizeof(q->issue.message)];
    char rule[sizeof(q->issue.rule)];
    s->count++;
    if (s->quiet)
        return 0;
    rp_cli_text_clean(file, sizeof(file), q->file_name);
    rp_cli_text_clean(name, sizeof(name), q->issue.column_name);
    rp_cli_text_clean(value, sizeof(value), q->issue.value);
    rp_cli_text_clean(msg, sizeof(msg), q->issue.message);
    rp_cli_text_clean(rule, sizeof(rule), q->issue.rule);
    if (s->json) {
        json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "submission",
                              (json_int_t)q->submission_id, "file", file, "line",
                              (json_int_t)q->issue.line, "column", (json_int_t)q->issue.column,
                              "column_name", name, "value", value, "rule", rule, "message", msg);
        if (o == NULL || json_array_append_new(s->reasons, o) != 0) {
            s->oom = true;
            return 1;
        }
        return 0;
    }
    csv_num(q->submission_id);
    rp_cli_csv_cell(stdout, file);
    fputc(',', stdout);
    csv_num(q->issue.line);
    csv_num(q->issue.column);
    rp_cli_csv_cell(stdout, name);
    fputc(',', stdout);
    rp_cli_csv_cell(stdout, value);
    fputc(',', stdout);
    rp_cli_csv_cell(stdout, rule);
    fputc(',', stdout);
    rp_cli_csv_cell(stdout, msg);
    fputc('\n', stdout);
    return 0;
}

int cmd_quarantine(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    const char *path = RP_STORE_DEFAULT_PATH;
    long long submission = 0;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    q_state s = {false, false, NULL, 0, false};
    json_t *root = NULL;
    int status = RP_EXIT_OK;
    int opt = 0;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
        if (rp_cli_common_opt(&common, opt))
            continue;
        if (opt == ':')
            return rp_cli_usage_error(CMD_NAME, "option '%s' needs a value", argv[optind - 1]);
        if (opt == OPT_STORE) {
            path = optarg;
        } else if (opt == OPT_SUBMISSION) {
            uint64_t v = 0;
            if (!rp_cli_parse_u64(&v, optarg) || v == 0 || v > (uint64_t)INT64_MAX)
                return rp_cli_usage_error(CMD_NAME, "--submission: expected a positive integer");
            submission = (long long)v;
        } else {
            return rp_cli_usage_error(CMD_NAME, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (common.help) {
        usage(stdout);
        return RP_EXIT_OK;
    }
    if (optind < argc)
        return rp_cli_usage_error(CMD_NAME, "unexpected argument '%s'", argv[optind]);

    status = rp_cli_store_open(&st, path, RP_STORE_READONLY, common.json);
    if (status >= 0)
        goto out;
    s.json = common.json;
    s.quiet = common.quiet && !common.json;
    if (s.json) {
        s.reasons = json_array();
        if (s.reasons == NULL) {
            rp_error_set(&err, RP_ENOMEM, "out of memory");
            status = rp_cli_report(&err, false);
            goto out;
        }
    } else if (!s.quiet) {
        printf("submission,file,line,column,column_name,value,rule,message\n");
    }
    int rc = rp_store_quarantine(st, submission, on_entry, &s, &err);
    if (rc == RP_OK && s.oom)
        rc = rp_error_set(&err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        status = rp_cli_report(&err, common.json);
        goto out;
    }
    if (s.json) {
        root = json_pack("{s:s, s:I, s:O}", "store", path, "count", (json_int_t)s.count, "reasons",
                         s.reasons);
        if (root == NULL || rp_cli_json_print(root, &err) != RP_OK) {
            status = RP_EXIT_IO;
            goto out;
        }
    } else if (fflush(stdout) != 0) {
        status = RP_EXIT_IO;
        goto out;
    }
    status = RP_EXIT_OK;
out:
    json_decref(root);
    json_decref(s.reasons);
    rp_store_close(st);
    return status;
}
