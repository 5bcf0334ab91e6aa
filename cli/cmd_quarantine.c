/*
 * rapporteur CLI: `rapporteur quarantine`, every reason of every row that an import set
 * aside: submission, file, line, column, column name, value, rule and what was expected.
 * The listing is CSV that is safe to open in a spreadsheet (no cell can start a formula)
 * or one JSON object. Also holds the text-cleaning and CSV-cell helpers of cmds.h.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/common_int.h" /* rp_x_utf8_char_len; last: it includes banned.h */

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

char *rp_cli_text_clean(char *out, size_t size, const char *s)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    const unsigned char *end = p + strlen((const char *)p);
    if (size == 0)
        return out;
    while (*p != '\0') {
        size_t n = rp_x_utf8_char_len(p, (size_t)(end - p));
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

typedef struct q_args {
    const char *path;
    long long submission; /* 0 for all */
} q_args;

/* One quarantine option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    q_args *a = payload;
    (void)name;
    if (opt == OPT_STORE) {
        a->path = v;
    } else if (opt == OPT_SUBMISSION) {
        uint64_t n = 0;
        if (!rp_cli_parse_u64(&n, v) || n == 0 || n > (uint64_t)INT64_MAX)
            return rp_cli_usage_error(CMD_NAME, "--submission: expected a positive integer");
        a->submission = (long long)n;
    } else {
        return RP_CLI_OPT_UNKNOWN;
    }
    return -1;
}

int cmd_quarantine(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    q_args a = {RP_STORE_DEFAULT_PATH, 0};
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    q_state s = {false, false, NULL, 0, false};
    json_t *root = NULL;
    int status = rp_cli_parse_opts(&common, CMD_NAME, argc, argv, longopts, usage, apply_opt, &a);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status != -1)
        return status;

    status = rp_cli_store_open(&st, a.path, RP_STORE_READONLY, common.json);
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
    int rc = rp_store_quarantine(st, a.submission, on_entry, &s, &err);
    if (rc == RP_OK && s.oom)
        rc = rp_error_set(&err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        status = rp_cli_report(&err, common.json);
        goto out;
    }
    if (s.json) {
        root = json_pack("{s:s, s:I, s:O}", "store", a.path, "count", (json_int_t)s.count,
                         "reasons", s.reasons);
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
