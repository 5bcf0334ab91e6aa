/*
 * rapporteur CLI: `rapporteur recs`, recommendation and commitment tracking (issue 8):
 * add | import | list | show | status | link | act | indicator | report | export. Each
 * subcommand parses the options it accepts from one shared table, calls rp_recs_*,
 * and formats the result (text, or JSON under --json). Unknown ids are usage errors
 * (exit 2); refused status transitions and invalid values are data errors (exit 65).
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/recs.h>
#include <rapporteur/store.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_NAME     "recs"
#define MAX_EVIDENCE 32
#define MAX_IDS      64

/* ==== options ==== */

enum {
    OPT_STORE = RP_CLI_OPT_FIRST,
    OPT_AUTHOR,
    OPT_STATE,
    OPT_SOURCE,
    OPT_ROUND,
    OPT_PARAGRAPH,
    OPT_STRENGTH,
    OPT_THEME,
    OPT_BODY,
    OPT_DUE,
    OPT_START,
    OPT_REF,
    OPT_KIND,
    OPT_LABEL,
    OPT_TITLE,
    OPT_NAME,
    OPT_STATUS,
    OPT_NOTE,
    OPT_DATE,
    OPT_EVIDENCE,
    OPT_REPEATS,
    OPT_FOLLOWS_UP,
    OPT_ACTION,
    OPT_PROGRESS,
    OPT_VALUE,
    OPT_TARGET,
    OPT_BASELINE,
    OPT_UNIT,
    OPT_FREQUENCY,
    OPT_INDICATOR,
    OPT_FORMAT,
    OPT_AS_OF,
    OPT_OUTPUT,
    OPT_FIELD,
    OPT_REMOVE,
    OPT_COUNT
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"author", required_argument, NULL, OPT_AUTHOR},
                                         {"state", required_argument, NULL, OPT_STATE},
                                         {"source", required_argument, NULL, OPT_SOURCE},
                                         {"round", required_argument, NULL, OPT_ROUND},
                                         {"paragraph", required_argument, NULL, OPT_PARAGRAPH},
                                         {"strength", required_argument, NULL, OPT_STRENGTH},
                                         {"theme", required_argument, NULL, OPT_THEME},
                                         {"body", required_argument, NULL, OPT_BODY},
                                         {"due", required_argument, NULL, OPT_DUE},
                                         {"start", required_argument, NULL, OPT_START},
                                         {"ref", required_argument, NULL, OPT_REF},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"label", required_argument, NULL, OPT_LABEL},
                                         {"title", required_argument, NULL, OPT_TITLE},
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"note", required_argument, NULL, OPT_NOTE},
                                         {"date", required_argument, NULL, OPT_DATE},
                                         {"evidence", required_argument, NULL, OPT_EVIDENCE},
                                         {"repeats", required_argument, NULL, OPT_REPEATS},
                                         {"follows-up", required_argument, NULL, OPT_FOLLOWS_UP},
                                         {"action", required_argument, NULL, OPT_ACTION},
                                         {"progress", no_argument, NULL, OPT_PROGRESS},
                                         {"value", required_argument, NULL, OPT_VALUE},
                                         {"target", required_argument, NULL, OPT_TARGET},
                                         {"baseline", required_argument, NULL, OPT_BASELINE},
                                         {"unit", required_argument, NULL, OPT_UNIT},
                                         {"frequency", required_argument, NULL, OPT_FREQUENCY},
                                         {"indicator", required_argument, NULL, OPT_INDICATOR},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"as-of", required_argument, NULL, OPT_AS_OF},
                                         {"out", required_argument, NULL, OPT_OUTPUT},
                                         {"field", required_argument, NULL, OPT_FIELD},
                                         {"remove", no_argument, NULL, OPT_REMOVE},
                                         {NULL, 0, NULL, 0}};

/* Every option's value; which options a subcommand takes is its mask. */
typedef struct recs_args {
    const char *sub;
    unsigned long long allowed; /* bit (opt - OPT_STORE) */
    rp_cli_common common;
    const char *v[OPT_COUNT - OPT_STORE];
    bool progress;
    bool remove;
    const char *evidence[MAX_EVIDENCE];
    size_t n_evidence;
} recs_args;

#define BIT(o)    (1ULL << ((o)-OPT_STORE))
#define VAL(a, o) ((a)->v[(o)-OPT_STORE])

static int apply_opt(int opt, const char *value, const char *name, void *payload)
{
    recs_args *a = payload;
    if (opt < OPT_STORE || opt >= OPT_COUNT) {
        return RP_CLI_OPT_UNKNOWN;
    }
    if ((a->allowed & BIT(opt)) == 0) {
        return rp_cli_usage_error(CMD_NAME, "option '%s' does not apply to 'recs %s'", name,
                                  a->sub);
    }
    if (opt == OPT_PROGRESS) {
        a->progress = true;
    } else if (opt == OPT_REMOVE) {
        a->remove = true;
    } else if (opt == OPT_EVIDENCE) {
        if (a->n_evidence == MAX_EVIDENCE) {
            return rp_cli_usage_error(CMD_NAME, "at most %d --evidence links", MAX_EVIDENCE);
        }
        a->evidence[a->n_evidence++] = value;
    } else {
        VAL(a, opt) = value;
    }
    return -1;
}

/* ==== usage ==== */

static const char general_usage[] =
    "usage: rapporteur recs <subcommand> [<args>] [--store FILE] [--author NAME] [--json]\n"
    "\n"
    "Track GRETA, Committee of the Parties, OSCE and national recommendations: themes,\n"
    "responsible bodies, actions, indicators, progress reports, a status history with a\n"
    "transition rule, an audit trail of every change, and scorecards.\n"
    "\n"
    "Subcommands ('rapporteur recs SUBCOMMAND --help' lists the options of each):\n"
    "  add rec TEXT | source CODE | theme CODE | body CODE   add an entry\n"
    "  import FILE        recommendations from CSV, JSON or a report's text\n"
    "  list               list recommendations (filters below)\n"
    "  show ID            one recommendation with history, actions and audit trail\n"
    "  status ID STATUS   change a status (not_started, in_progress,\n"
    "                     partially_implemented, implemented, no_longer_relevant)\n"
    "  set ID --field F --value V   edit text, due_date, paragraph, strength, themes\n"
    "                     or bodies\n"
    "  link ID --repeats ID2 | --follows-up ID2 [--remove]   link to an earlier\n"
    "                     recommendation, or remove the link\n"
    "  act ID... --title T  add an action; --action A ID... links one; --action A\n"
    "                     --progress --note N reports progress on it\n"
    "  indicator ID --name N --target X   add an indicator; --indicator I --value X\n"
    "                     reports a measurement\n"
    "  report             scorecard (--format text|json|html, --as-of DATE, --out FILE)\n"
    "  export             --format csv|json|xlsx [--out FILE]\n"
    "\n"
    "An ID is a number or a recommendation's reference (STATE/SOURCE/ROUND/PARAGRAPH).\n"
    "Common options:\n"
    "  --store FILE         the store (default " RP_STORE_DEFAULT_PATH ")\n"
    "  --author NAME        who makes the change, for the audit trail (default\n"
    "                       $RAPPORTEUR_AUTHOR, then $USER)\n"
    "  --json               print results as JSON\n"
    "  -q, --quiet          print nothing on success\n"
    "  -h, --help           show this help (also after a subcommand)\n"
    "Filters (list, report, export): --state XX --source CODE --round N --theme CODE\n"
    "  --body CODE --status S --strength urges|considers|invites|none\n"
    "\n"
    "Exit status: 0 ok, 2 usage or unknown id, 4 I/O or store, 65 invalid data, a\n"
    "refused status transition or an unusable import file. docs/recs.md describes the\n"
    "model and the formats.\n";

static void usage(FILE *f)
{
    fputs(general_usage, f);
}

/* For rp_cli_parse_opts(): the subcommand's own help is printed once it is known. */
static void no_usage(FILE *f)
{
    (void)f;
}

/* What each option means, for the help of the subcommands that take it. */
static const struct {
    int opt;
    const char *synopsis;
    const char *help;
} opt_help[] = {
    {OPT_STATE, "--state XX", "state (ISO 3166-1 code, or XA-XZ for fictitious data)"},
    {OPT_SOURCE, "--source CODE", "source: GRETA, COP, OSCE-AP, OSCE-MC, NAP, ALLIANCE, ..."},
    {OPT_ROUND, "--round N", "evaluation round, 0 (none) to 9"},
    {OPT_PARAGRAPH, "--paragraph P", "paragraph as the report numbers it (12, 12(a))"},
    {OPT_STRENGTH, "--strength S", "urges, considers, invites or none"},
    {OPT_THEME, "--theme CODES", "theme code(s), separated by ';'"},
    {OPT_BODY, "--body CODES", "responsible body code(s), separated by ';'"},
    {OPT_DUE, "--due DATE", "due date, YYYY-MM-DD"},
    {OPT_START, "--start DATE", "start date of an action, YYYY-MM-DD"},
    {OPT_REF, "--ref REF",
     "reference (default STATE/SOURCE/ROUND/PARAGRAPH; A<id> for an "
     "action)"},
    {OPT_KIND, "--kind KIND",
     "kind of a source (greta, cop, osce_action_plan, osce_commitment, national_action_plan, "
     "alliance, other) or of a body (ministry, agency, civil_society, private_sector, "
     "international, other); default other"},
    {OPT_LABEL, "--label TEXT", "title of a source, label of a theme, name of a body"},
    {OPT_TITLE, "--title TEXT", "title of a new action"},
    {OPT_NAME, "--name TEXT", "name of a new indicator"},
    {OPT_STATUS, "--status S",
     "not_started, in_progress, partially_implemented, implemented or no_longer_relevant"},
    {OPT_NOTE, "--note TEXT", "why (needed to reopen or step back a status)"},
    {OPT_DATE, "--date DATE",
     "date of the change or report, YYYY-MM-DD, not after today "
     "(default today, UTC)"},
    {OPT_EVIDENCE, "--evidence LINK", "evidence link (URL or document); repeat for more"},
    {OPT_REPEATS, "--repeats ID2", "ID restates the earlier recommendation ID2"},
    {OPT_FOLLOWS_UP, "--follows-up ID2", "ID builds on the earlier recommendation ID2"},
    {OPT_ACTION, "--action A", "an existing action (number or ref)"},
    {OPT_PROGRESS, "--progress",
     "report progress on --action A (needs --note, --evidence or "
     "--value)"},
    {OPT_VALUE, "--value X", "measured value (indicator), or the new value (set)"},
    {OPT_TARGET, "--target X", "target value of an indicator"},
    {OPT_BASELINE, "--baseline X", "baseline value of an indicator"},
    {OPT_UNIT, "--unit TEXT", "unit of an indicator"},
    {OPT_FREQUENCY, "--frequency F",
     "reporting frequency: none, monthly, quarterly, semiannual, annual or biennial"},
    {OPT_INDICATOR, "--indicator I", "an existing indicator (number), to report a measurement"},
    {OPT_FORMAT, "--format F",
     "format (import: csv, json, text; report: text, json, html; "
     "export: csv, json, xlsx)"},
    {OPT_AS_OF, "--as-of DATE", "scorecard as it stood on DATE (statuses from the history)"},
    {OPT_OUTPUT, "--out FILE", "write to FILE (atomically) instead of standard output"},
    {OPT_FIELD, "--field F",
     "field to set: text, due_date, paragraph, strength, themes, "
     "bodies"},
    {OPT_REMOVE, "--remove", "remove the link instead of adding it"},
};

/* Print @p text from column 23 on, wrapped at word boundaries before column 80. */
static void put_wrapped(FILE *f, const char *text)
{
    const size_t indent = 23;
    const size_t width = 80 - indent;
    const char *p = text;
    while (*p != '\0') {
        size_t n = strlen(p);
        if (n > width) {
            n = width;
            while (n > 0 && p[n] != ' ') {
                n--;
            }
            n = n == 0 ? width : n;
        }
        fprintf(f, "%.*s\n", (int)n, p);
        p += n;
        while (*p == ' ') {
            p++;
        }
        if (*p != '\0') {
            fprintf(f, "%*s", (int)indent, "");
        }
    }
}

/* Print the help of a subcommand: synopsis, what it does, and every option it takes. */
static void sub_usage(FILE *f, const char *synopsis, const char *about, unsigned long long opts)
{
    fprintf(f, "usage: rapporteur recs %s\n\n%s\n\nOptions:\n", synopsis, about);
    for (size_t i = 0; i < sizeof(opt_help) / sizeof(opt_help[0]); i++) {
        if ((opts & (1ULL << (opt_help[i].opt - OPT_STORE))) != 0) {
            fprintf(f, "  %-20s ", opt_help[i].synopsis);
            put_wrapped(f, opt_help[i].help);
        }
    }
    fputs("  --store FILE         the store (default " RP_STORE_DEFAULT_PATH ")\n"
          "  --author NAME        who makes the change, for the audit trail (default\n"
          "                       $RAPPORTEUR_AUTHOR, then $USER)\n"
          "  --json               print results as JSON\n"
          "  -q, --quiet          print nothing on success\n"
          "  -h, --help           show this help\n"
          "\n"
          "Exit status: 0 ok, 2 usage or unknown id, 4 I/O or store, 65 invalid data.\n",
          f);
}

/* ==== shared helpers ==== */

/* Report @p err: unknown ids are usage errors (2), the rest as rp_cli_exit_code(). */
static int fail(const rp_error *err, const recs_args *a)
{
    int status = rp_cli_report(err, a->common.json);
    return err->code == RP_ENOTFOUND ? RP_EXIT_USAGE : status;
}

/* Report @p err of an import: everything wrong inside the file is data (65). */
static int fail_import(const rp_error *err, const recs_args *a)
{
    int status = rp_cli_report(err, a->common.json);
    return err->code == RP_ENOTFOUND ? RP_EXIT_DATAERR : status;
}

static const char *author_of(const recs_args *a)
{
    const char *s = VAL(a, OPT_AUTHOR);
    if (s == NULL || s[0] == '\0') {
        s = getenv("RAPPORTEUR_AUTHOR");
    }
    if (s == NULL || s[0] == '\0') {
        s = getenv("USER");
    }
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static int parse_vocab(int *out, rp_recs_vocab vocab, const char *s, const char *opt)
{
    if (rp_recs_parse(out, vocab, s) != RP_OK) {
        return rp_cli_usage_error(CMD_NAME, "%s: unknown value '%s'", opt, s);
    }
    return -1;
}

static int parse_num(double *out, const char *s, const char *opt)
{
    *out = NAN;
    if (s != NULL && !rp_cli_parse_double(out, s)) {
        return rp_cli_usage_error(CMD_NAME, "%s: expected a number", opt);
    }
    return -1;
}

/* The filter from the options, its codes known to @p st; -1 to go on, or an exit status. */
static int filter_of(rp_recs_filter *f, rp_store *store, const recs_args *a)
{
    rp_recs_filter init = RP_RECS_FILTER_INIT;
    *f = init;
    f->state = VAL(a, OPT_STATE);
    f->source = VAL(a, OPT_SOURCE);
    f->theme = VAL(a, OPT_THEME);
    f->body = VAL(a, OPT_BODY);
    int st = -1;
    if (VAL(a, OPT_ROUND) != NULL &&
        !rp_cli_parse_int(&f->round, VAL(a, OPT_ROUND), 0, RP_RECS_ROUND_MAX)) {
        st = rp_cli_usage_error(CMD_NAME, "--round: expected 0 to %d", RP_RECS_ROUND_MAX);
    }
    if (st == -1 && VAL(a, OPT_STATUS) != NULL) {
        st = parse_vocab(&f->status, RP_RECS_V_STATUS, VAL(a, OPT_STATUS), "--status");
    }
    if (st == -1 && VAL(a, OPT_STRENGTH) != NULL) {
        st = parse_vocab(&f->strength, RP_RECS_V_STRENGTH, VAL(a, OPT_STRENGTH), "--strength");
    }
    rp_error err = RP_ERROR_INIT;
    if (st == -1 && rp_recs_check_filter(store, f, &err) != RP_OK) {
        st = err.code == RP_ENOTFOUND || err.code == RP_EINVAL
                 ? rp_cli_usage_error(CMD_NAME, "filter: %s", err.msg)
                 : fail(&err, a);
    }
    return st;
}

static int print_json(json_t *root, rp_error *err)
{
    int rc =
        root != NULL ? rp_cli_json_print(root, err) : rp_error_set(err, RP_ENOMEM, "out of memory");
    json_decref(root);
    return rc;
}

/* Print "what id (ref)" or its JSON form. */
static int print_added(const recs_args *a, const char *what, long long id, const char *ref)
{
    rp_error err = RP_ERROR_INIT;
    if (a->common.json) {
        json_t *o = id == 0 ? json_pack("{s:s, s:s?}", "added", what, "code", ref)
                            : json_pack("{s:s, s:I, s:s?}", "added", what, "id", (json_int_t)id,
                                        "ref", ref);
        return print_json(o, &err) == RP_OK ? RP_EXIT_OK : RP_EXIT_IO;
    }
    if (!a->common.quiet && id == 0) {
        printf("added %s %s\n", what, ref != NULL ? ref : "");
    } else if (!a->common.quiet) {
        printf("added %s %lld%s%s%s\n", what, id, ref != NULL ? " (" : "", ref != NULL ? ref : "",
               ref != NULL ? ")" : "");
    }
    return RP_EXIT_OK;
}

/* ==== add ==== */

static int add_rec(rp_store *st, const recs_args *a, const char *text, const char *author)
{
    rp_rec rec = RP_REC_INIT;
    rp_error err = RP_ERROR_INIT;
    rec.text = text;
    rec.state = VAL(a, OPT_STATE);
    rec.source = VAL(a, OPT_SOURCE) != NULL ? VAL(a, OPT_SOURCE) : "GRETA";
    rec.paragraph = VAL(a, OPT_PARAGRAPH);
    rec.themes = VAL(a, OPT_THEME);
    rec.bodies = VAL(a, OPT_BODY);
    rec.due_date = VAL(a, OPT_DUE);
    rec.ref = VAL(a, OPT_REF);
    if (rec.state == NULL) {
        return rp_cli_usage_error(CMD_NAME, "add rec: --state is required");
    }
    if (VAL(a, OPT_ROUND) != NULL &&
        !rp_cli_parse_int(&rec.round, VAL(a, OPT_ROUND), 0, RP_RECS_ROUND_MAX)) {
        return rp_cli_usage_error(CMD_NAME, "--round: expected 0 to %d", RP_RECS_ROUND_MAX);
    }
    int strength = 0;
    if (VAL(a, OPT_STRENGTH) != NULL) {
        int s = parse_vocab(&strength, RP_RECS_V_STRENGTH, VAL(a, OPT_STRENGTH), "--strength");
        if (s != -1) {
            return s;
        }
    }
    rec.strength = (rp_rec_strength)strength;
    long long id = 0;
    if (rp_recs_add(&id, st, &rec, author, &err) != RP_OK) {
        return fail(&err, a);
    }
    char key[32];
    snprintf(key, sizeof(key), "%lld", id);
    char *shown = NULL;
    const char *ref = NULL;
    json_t *o = NULL;
    if (rp_recs_show_json(&shown, st, id, &err) == RP_OK) {
        o = json_loads(shown, 0, NULL);
        ref = json_string_value(json_object_get(o, "ref"));
    }
    int status = print_added(a, "recommendation", id, ref);
    json_decref(o);
    rp_free(shown);
    return status;
}

static int sub_add(rp_store *st, const recs_args *a, int argc, char **argv)
{
    const char *author = author_of(a);
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    if (argc != 2) {
        return rp_cli_usage_error(CMD_NAME, "add: expected KIND and TEXT or CODE "
                                            "(rec TEXT, source CODE, theme CODE, body CODE)");
    }
    const char *kind = argv[0];
    const char *arg = argv[1];
    if (strcmp(kind, "rec") == 0) {
        return add_rec(st, a, arg, author);
    }
    rp_error err = RP_ERROR_INIT;
    int k = 0;
    int rc = RP_OK;
    const char *label = VAL(a, OPT_LABEL);
    if (strcmp(kind, "theme") == 0) {
        rc = rp_recs_add_theme(st, arg, label, author, &err);
    } else if (strcmp(kind, "source") == 0 || strcmp(kind, "body") == 0) {
        bool source = kind[0] == 's';
        const char *ks = VAL(a, OPT_KIND) != NULL ? VAL(a, OPT_KIND) : "other";
        int s = parse_vocab(&k, source ? RP_RECS_V_SOURCE_KIND : RP_RECS_V_BODY_KIND, ks, "--kind");
        if (s != -1) {
            return s;
        }
        rc = source ? rp_recs_add_source(st, arg, (rp_recs_source_kind)k, label, author, &err)
                    : rp_recs_add_body(st, arg, (rp_recs_body_kind)k, label, author, &err);
    } else {
        return rp_cli_usage_error(CMD_NAME, "add: unknown kind '%s' (rec, source, theme, body)",
                                  kind);
    }
    if (rc != RP_OK) {
        return fail(&err, a);
    }
    return print_added(a, kind, 0, arg);
}

/* ==== import ==== */

static int sub_import(rp_store *st, const recs_args *a, int argc, char **argv)
{
    if (argc != 1) {
        return rp_cli_usage_error(CMD_NAME, "import: expected one FILE");
    }
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = author_of(a);
    if (o.author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    o.state = VAL(a, OPT_STATE);
    o.source = VAL(a, OPT_SOURCE);
    o.due_date = VAL(a, OPT_DUE);
    if (VAL(a, OPT_ROUND) != NULL &&
        !rp_cli_parse_int(&o.round, VAL(a, OPT_ROUND), 0, RP_RECS_ROUND_MAX)) {
        return rp_cli_usage_error(CMD_NAME, "--round: expected 0 to %d", RP_RECS_ROUND_MAX);
    }
    const char *fmt = VAL(a, OPT_FORMAT);
    if (fmt != NULL) {
        if (strcmp(fmt, "csv") == 0) {
            o.format = RP_RECS_CSV;
        } else if (strcmp(fmt, "json") == 0) {
            o.format = RP_RECS_JSON;
        } else if (strcmp(fmt, "text") == 0) {
            o.format = RP_RECS_TEXT;
        } else {
            return rp_cli_usage_error(CMD_NAME, "--format: expected csv, json or text");
        }
    }
    rp_recs_import_report rep;
    rp_error err = RP_ERROR_INIT;
    if (rp_recs_import(&rep, st, argv[0], &o, &err) != RP_OK) {
        return err.code == RP_EINVAL ? rp_cli_usage_error(CMD_NAME, "import: %s", err.msg)
                                     : fail_import(&err, a);
    }
    if (rep.out_of_order > 0 && !a->common.quiet) {
        fprintf(stderr,
                "rapporteur: warning: %s:%ld: %lld line(s) \"N. ...\" with a paragraph number "
                "not above the one before were kept as text; check the list\n",
                argv[0], rep.first_out_of_order, rep.out_of_order);
    }
    if (a->common.json) {
        json_t *r =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "file", argv[0],
                      "recommendations", (json_int_t)rep.recs, "actions", (json_int_t)rep.actions,
                      "indicators", (json_int_t)rep.indicators, "progress",
                      (json_int_t)rep.progress, "links", (json_int_t)rep.links, "statuses",
                      (json_int_t)rep.statuses, "skipped_lines", (json_int_t)rep.skipped_lines);
        return print_json(r, &err) == RP_OK ? RP_EXIT_OK : RP_EXIT_IO;
    }
    if (!a->common.quiet) {
        printf("imported %lld recommendations, %lld actions, %lld indicators, %lld progress "
               "reports, %lld links, %lld status changes",
               rep.recs, rep.actions, rep.indicators, rep.progress, rep.links, rep.statuses);
        if (rep.skipped_lines > 0) {
            printf(" (%lld lines outside numbered paragraphs skipped)", rep.skipped_lines);
        }
        printf("\n");
    }
    return RP_EXIT_OK;
}

/* ==== list ==== */

typedef struct list_state {
    json_t *arr;
    bool text;
    bool oom;
} list_state;

static int on_rec(const rp_rec *r, void *payload)
{
    list_state *s = payload;
    const char *status = rp_recs_name(RP_RECS_V_STATUS, (int)r->status);
    const char *strength = rp_recs_name(RP_RECS_V_STRENGTH, (int)r->strength);
    if (s->text) {
        char text[61];
        rp_cli_text_clean(text, sizeof(text), r->text);
        printf("%5lld  %-24s %-9s %-21s %-10s %s\n", r->id, r->ref, strength, status,
               r->due_date[0] != '\0' ? r->due_date : "-", text);
        return 0;
    }
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)r->id, "ref", r->ref, "state", r->state, "source", r->source,
                          "round", r->round, "paragraph", r->paragraph, "strength", strength,
                          "themes", r->themes, "bodies", r->bodies, "due_date", r->due_date,
                          "status", status, "status_date", r->status_date, "text", r->text);
    if (o == NULL || json_array_append_new(s->arr, o) != 0) {
        s->oom = true;
        return 1;
    }
    return 0;
}

static int sub_list(rp_store *st, const recs_args *a, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        return rp_cli_usage_error(CMD_NAME, "list: unexpected argument");
    }
    rp_recs_filter f;
    int status = filter_of(&f, st, a);
    if (status != -1) {
        return status;
    }
    list_state s = {a->common.json ? json_array() : NULL, !a->common.json, false};
    rp_error err = RP_ERROR_INIT;
    if (s.text && !a->common.quiet) {
        printf("%5s  %-24s %-9s %-21s %-10s %s\n", "id", "ref", "strength", "status", "due",
               "text");
    }
    if (a->common.quiet && s.text) {
        return RP_EXIT_OK;
    }
    if ((!s.text && s.arr == NULL) || rp_recs_list(st, &f, on_rec, &s, &err) != RP_OK) {
        json_decref(s.arr);
        if (s.oom || (!s.text && s.arr == NULL)) {
            rp_error_set(&err, RP_ENOMEM, "out of memory");
        }
        return fail(&err, a);
    }
    if (!s.text) {
        return print_json(json_pack("{s:o}", "recommendations", s.arr), &err) == RP_OK ? RP_EXIT_OK
                                                                                       : RP_EXIT_IO;
    }
    return RP_EXIT_OK;
}

/* ==== show ==== */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* Print member @p key of @p o with control characters and bad UTF-8 shown as '?'. */
static void put(const json_t *o, const char *key)
{
    char buf[4096];
    fputs(rp_cli_text_clean(buf, sizeof(buf), jstr(o, key)), stdout);
}

static void put_str(const char *s)
{
    char buf[4096];
    fputs(rp_cli_text_clean(buf, sizeof(buf), s != NULL ? s : ""), stdout);
}

/* A list member of strings, each after a space. */
static void put_list(const json_t *o, const char *key)
{
    const json_t *v = NULL;
    size_t i = 0;
    json_array_foreach(json_object_get(o, key), i, v)
    {
        fputc(' ', stdout);
        put_str(json_string_value(v));
    }
}

static void show_text(const json_t *o)
{
    const json_t *v = NULL;
    size_t i = 0;
    printf("recommendation %lld  ", (long long)json_integer_value(json_object_get(o, "id")));
    put(o, "ref");
    printf("\n  state ");
    put(o, "state");
    printf(", source ");
    put(o, "source");
    printf(", round %lld, paragraph ", (long long)json_integer_value(json_object_get(o, "round")));
    put(o, "paragraph");
    printf(", strength %s\n  status %s since ", jstr(o, "strength"), jstr(o, "status"));
    put(o, "status_date");
    printf("; due ");
    put_str(jstr(o, "due_date")[0] != '\0' ? jstr(o, "due_date") : "-");
    printf("\n  text: ");
    put(o, "text");
    printf("\n  themes:");
    put_list(o, "themes");
    printf("\n  bodies:");
    put_list(o, "bodies");
    printf("\n");
    json_array_foreach(json_object_get(o, "links"), i, v)
    {
        printf("  %s ", jstr(v, "kind"));
        put(v, "ref");
        printf("\n");
    }
    printf("  history:\n");
    json_array_foreach(json_object_get(o, "history"), i, v)
    {
        printf("    ");
        put(v, "date");
        printf("  %-21s ", jstr(v, "status"));
        put(v, "author");
        if (jstr(v, "note")[0] != '\0') {
            printf(": ");
            put(v, "note");
        }
        printf("\n");
    }
    json_array_foreach(json_object_get(o, "actions"), i, v)
    {
        printf("  action ");
        put(v, "ref");
        printf(": ");
        put(v, "title");
        if (jstr(v, "body")[0] != '\0') {
            printf(" -- ");
            put(v, "body");
        }
        printf("\n");
    }
    json_array_foreach(json_object_get(o, "indicators"), i, v)
    {
        printf("  indicator: ");
        put(v, "name");
        printf(" (%s)\n", jstr(v, "frequency"));
    }
    printf("  audit entries: %zu\n", json_array_size(json_object_get(o, "audit")));
}

static int sub_show(rp_store *st, const recs_args *a, int argc, char **argv)
{
    if (argc != 1) {
        return rp_cli_usage_error(CMD_NAME, "show: expected one ID");
    }
    rp_error err = RP_ERROR_INIT;
    long long id = 0;
    char *text = NULL;
    if (rp_recs_find(&id, st, argv[0], &err) != RP_OK ||
        rp_recs_show_json(&text, st, id, &err) != RP_OK) {
        return fail(&err, a);
    }
    int status = RP_EXIT_OK;
    if (a->common.json) {
        if (printf("%s\n", text) < 0) {
            status = RP_EXIT_IO;
        }
    } else if (!a->common.quiet) {
        json_t *o = json_loads(text, 0, NULL);
        if (o == NULL) {
            rp_error_set(&err, RP_ENOMEM, "out of memory");
            status = fail(&err, a);
        } else {
            show_text(o);
        }
        json_decref(o);
    }
    rp_free(text);
    return status;
}

/* ==== status, link ==== */

static int find_rec(long long *id, rp_store *st, const char *key, const recs_args *a)
{
    rp_error err = RP_ERROR_INIT;
    if (rp_recs_find(id, st, key, &err) != RP_OK) {
        return fail(&err, a);
    }
    return -1;
}

static void change_of(rp_recs_change *chg, const recs_args *a, const char *author)
{
    rp_recs_change init = RP_RECS_CHANGE_INIT;
    *chg = init;
    chg->author = author;
    chg->date = VAL(a, OPT_DATE);
    chg->note = VAL(a, OPT_NOTE);
    chg->evidence = a->evidence;
    chg->n_evidence = a->n_evidence;
}

static int print_change(const recs_args *a, const char *what, long long id, const char *detail)
{
    rp_error err = RP_ERROR_INIT;
    if (a->common.json) {
        json_t *o =
            json_pack("{s:s, s:I, s:s}", "changed", what, "id", (json_int_t)id, "to", detail);
        return print_json(o, &err) == RP_OK ? RP_EXIT_OK : RP_EXIT_IO;
    }
    if (!a->common.quiet) {
        printf("%s %lld: %s\n", what, id, detail);
    }
    return RP_EXIT_OK;
}

static int sub_status(rp_store *st, const recs_args *a, int argc, char **argv)
{
    if (argc != 2) {
        return rp_cli_usage_error(CMD_NAME, "status: expected ID and STATUS");
    }
    const char *author = author_of(a);
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    int to = 0;
    int status = parse_vocab(&to, RP_RECS_V_STATUS, argv[1], "STATUS");
    long long id = 0;
    if (status == -1) {
        status = find_rec(&id, st, argv[0], a);
    }
    if (status != -1) {
        return status;
    }
    rp_recs_change chg;
    change_of(&chg, a, author);
    rp_error err = RP_ERROR_INIT;
    if (rp_recs_set_status(st, id, (rp_rec_status)to, &chg, &err) != RP_OK) {
        return fail(&err, a);
    }
    return print_change(a, "recommendation", id, rp_recs_name(RP_RECS_V_STATUS, to));
}

static int sub_link(rp_store *st, const recs_args *a, int argc, char **argv)
{
    const char *author = author_of(a);
    const char *rep = VAL(a, OPT_REPEATS);
    const char *fol = VAL(a, OPT_FOLLOWS_UP);
    if (argc != 1 || (rep == NULL) == (fol == NULL)) {
        return rp_cli_usage_error(CMD_NAME, "link: expected ID and one of --repeats or "
                                            "--follows-up");
    }
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    long long from = 0;
    long long to = 0;
    int status = find_rec(&from, st, argv[0], a);
    if (status == -1) {
        status = find_rec(&to, st, rep != NULL ? rep : fol, a);
    }
    if (status != -1) {
        return status;
    }
    rp_error err = RP_ERROR_INIT;
    rp_rec_link_kind kind = rep != NULL ? RP_REC_REPEATS : RP_REC_FOLLOWS_UP;
    int rc = a->remove ? rp_recs_unlink(st, from, to, kind, author, &err)
                       : rp_recs_link(st, from, to, kind, author, &err);
    if (rc != RP_OK) {
        return fail(&err, a);
    }
    char detail[80];
    snprintf(detail, sizeof(detail), "%s%s %lld", a->remove ? "no longer " : "",
             rp_recs_name(RP_RECS_V_LINK, (int)kind), to);
    return print_change(a, "recommendation", from, detail);
}

/* ==== set ==== */

static int sub_set(rp_store *st, const recs_args *a, int argc, char **argv)
{
    const char *author = author_of(a);
    const char *field = VAL(a, OPT_FIELD);
    const char *value = VAL(a, OPT_VALUE);
    if (argc != 1 || field == NULL || value == NULL) {
        return rp_cli_usage_error(CMD_NAME, "set: expected ID, --field F and --value V");
    }
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    static const char *const fields[] = {"text",     "due_date", "paragraph",
                                         "strength", "themes",   "bodies"};
    bool known = false;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        known = known || strcmp(field, fields[i]) == 0;
    }
    if (!known) {
        return rp_cli_usage_error(CMD_NAME, "--field: expected text, due_date, paragraph, "
                                            "strength, themes or bodies");
    }
    long long id = 0;
    int status = find_rec(&id, st, argv[0], a);
    if (status != -1) {
        return status;
    }
    rp_error err = RP_ERROR_INIT;
    if (rp_recs_set_field(st, id, field, value, author, &err) != RP_OK) {
        return fail(&err, a);
    }
    return print_change(a, "recommendation", id, field);
}

/* ==== act ==== */

static int act_progress(rp_store *st, const recs_args *a, long long action, const char *author)
{
    if (VAL(a, OPT_NOTE) == NULL && VAL(a, OPT_VALUE) == NULL && a->n_evidence == 0) {
        return rp_cli_usage_error(CMD_NAME, "act --progress: nothing to report (give --note, "
                                            "--evidence or --value)");
    }
    double value = NAN;
    int status = parse_num(&value, VAL(a, OPT_VALUE), "--value");
    if (status != -1) {
        return status;
    }
    rp_recs_change chg;
    change_of(&chg, a, author);
    rp_error err = RP_ERROR_INIT;
    long long id = 0;
    if (rp_recs_add_progress(&id, st, 0, action, 0, value, &chg, &err) != RP_OK) {
        return fail(&err, a);
    }
    return print_added(a, "progress report", id, NULL);
}

static int sub_act(rp_store *st, const recs_args *a, int argc, char **argv)
{
    const char *author = author_of(a);
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    if (argc > MAX_IDS) {
        return rp_cli_usage_error(CMD_NAME, "act: at most %d recommendations", MAX_IDS);
    }
    long long ids[MAX_IDS];
    int status = -1;
    for (int i = 0; i < argc && status == -1; i++) {
        status = find_rec(&ids[i], st, argv[i], a);
    }
    if (status != -1) {
        return status;
    }
    rp_error err = RP_ERROR_INIT;
    const char *action_key = VAL(a, OPT_ACTION);
    if (action_key != NULL) {
        long long action = 0;
        if (rp_recs_find_action(&action, st, action_key, &err) != RP_OK) {
            return fail(&err, a);
        }
        if (a->progress) {
            return argc == 0 ? act_progress(st, a, action, author)
                             : rp_cli_usage_error(CMD_NAME, "act --progress takes no ID");
        }
        if (argc == 0) {
            return rp_cli_usage_error(CMD_NAME, "act --action: expected IDs to link, or "
                                                "--progress");
        }
        /* all or nothing: one transaction */
        if (rp_recs_action_link_many(st, action, ids, (size_t)argc, author, &err) != RP_OK) {
            return fail(&err, a);
        }
        return print_change(a, "action", action, "linked");
    }
    if (VAL(a, OPT_TITLE) == NULL) {
        return rp_cli_usage_error(CMD_NAME, "act: --title is required for a new action");
    }
    rp_recs_action act = RP_RECS_ACTION_INIT;
    act.title = VAL(a, OPT_TITLE);
    act.body = VAL(a, OPT_BODY);
    act.due_date = VAL(a, OPT_DUE);
    act.start_date = VAL(a, OPT_START);
    act.ref = VAL(a, OPT_REF);
    long long id = 0;
    if (rp_recs_add_action(&id, st, &act, ids, (size_t)argc, author, &err) != RP_OK) {
        return fail(&err, a);
    }
    char ref[RP_RECS_REF_MAX];
    if (act.ref != NULL && act.ref[0] != '\0') {
        snprintf(ref, sizeof(ref), "%s", act.ref);
    } else {
        snprintf(ref, sizeof(ref), "A%lld", id);
    }
    return print_added(a, "action", id, ref);
}

/* ==== indicator ==== */

static int indicator_report(rp_store *st, const recs_args *a, const char *author)
{
    int ind = 0;
    double value = NAN;
    if (!rp_cli_parse_int(&ind, VAL(a, OPT_INDICATOR), 1, 0x7fffffff)) {
        return rp_cli_usage_error(CMD_NAME, "--indicator: expected an indicator id");
    }
    int status = parse_num(&value, VAL(a, OPT_VALUE), "--value");
    if (status != -1) {
        return status;
    }
    rp_recs_change chg;
    change_of(&chg, a, author);
    rp_error err = RP_ERROR_INIT;
    long long id = 0;
    if (rp_recs_add_progress(&id, st, 0, 0, ind, value, &chg, &err) != RP_OK) {
        return fail(&err, a);
    }
    return print_added(a, "measurement", id, NULL);
}

static int sub_indicator(rp_store *st, const recs_args *a, int argc, char **argv)
{
    const char *author = author_of(a);
    if (author == NULL) {
        return rp_cli_usage_error(CMD_NAME, "--author is required (or $RAPPORTEUR_AUTHOR)");
    }
    if (VAL(a, OPT_INDICATOR) != NULL) {
        return argc == 0 ? indicator_report(st, a, author)
                         : rp_cli_usage_error(CMD_NAME, "indicator --indicator takes no ID");
    }
    rp_recs_indicator ind = {0,   0,   VAL(a, OPT_NAME),  VAL(a, OPT_UNIT),
                             NAN, NAN, RP_RECS_FREQ_NONE, VAL(a, OPT_DUE)};
    rp_error err = RP_ERROR_INIT;
    int status = -1;
    if (VAL(a, OPT_ACTION) != NULL && argc == 0) {
        if (rp_recs_find_action(&ind.action_id, st, VAL(a, OPT_ACTION), &err) != RP_OK) {
            return fail(&err, a);
        }
    } else if (argc == 1 && VAL(a, OPT_ACTION) == NULL) {
        status = find_rec(&ind.rec_id, st, argv[0], a);
    } else {
        return rp_cli_usage_error(CMD_NAME, "indicator: expected ID or --action A");
    }
    if (status == -1 && ind.name == NULL) {
        status = rp_cli_usage_error(CMD_NAME, "indicator: --name is required");
    }
    if (status == -1) {
        status = parse_num(&ind.target, VAL(a, OPT_TARGET), "--target");
    }
    if (status == -1) {
        status = parse_num(&ind.baseline, VAL(a, OPT_BASELINE), "--baseline");
    }
    int freq = 0;
    if (status == -1 && VAL(a, OPT_FREQUENCY) != NULL) {
        status = parse_vocab(&freq, RP_RECS_V_FREQUENCY, VAL(a, OPT_FREQUENCY), "--frequency");
    }
    if (status != -1) {
        return status;
    }
    ind.frequency = (rp_recs_frequency)freq;
    long long id = 0;
    if (rp_recs_add_indicator(&id, st, &ind, author, &err) != RP_OK) {
        return fail(&err, a);
    }
    return print_added(a, "indicator", id, NULL);
}

/* ==== report, export ==== */

typedef struct out_job {
    rp_store *st;
    const rp_recs_scorecard *sc;
    rp_recs_format fmt;
    const rp_recs_filter *filter;
} out_job;

static int write_report(FILE *f, const char *path, void *payload, rp_error *err)
{
    (void)path;
    const out_job *j = payload;
    return rp_recs_scorecard_write(f, j->sc, j->fmt, err);
}

static int write_export(FILE *f, const char *path, void *payload, rp_error *err)
{
    (void)path;
    const out_job *j = payload;
    return rp_recs_export(j->st, f, j->fmt, j->filter, err);
}

/* The format named by --format (or --json); -1 to go on. */
static int format_of(rp_recs_format *fmt, const recs_args *a, bool report)
{
    const char *s = VAL(a, OPT_FORMAT);
    *fmt = report ? RP_RECS_TEXT : RP_RECS_CSV;
    if (s == NULL) {
        *fmt = a->common.json ? RP_RECS_JSON : *fmt;
        return -1;
    }

    static const struct {
        const char *name;
        rp_recs_format fmt;
        bool report;
        bool export;
    } names[] = {{"text", RP_RECS_TEXT, true, false},
                 {"json", RP_RECS_JSON, true, true},
                 {"html", RP_RECS_HTML, true, false},
                 {"csv", RP_RECS_CSV, false, true},
                 {"xlsx", RP_RECS_XLSX, false, true}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0 && (report ? names[i].report : names[i].export)) {
            *fmt = names[i].fmt;
            return -1;
        }
    }
    return rp_cli_usage_error(CMD_NAME, "--format: expected %s",
                              report ? "text, json or html" : "csv, json or xlsx");
}

static int sub_report(rp_store *st, const recs_args *a, int argc, char **argv)
{
    (void)argv;
    rp_recs_scorecard_opts o = RP_RECS_SCORECARD_OPTS_INIT;
    rp_recs_format fmt = RP_RECS_TEXT;
    int status = argc != 0 ? rp_cli_usage_error(CMD_NAME, "report: unexpected argument") : -1;
    if (status == -1) {
        status = filter_of(&o.filter, st, a);
    }
    if (status == -1) {
        status = format_of(&fmt, a, true);
    }
    if (status != -1) {
        return status;
    }
    o.as_of = VAL(a, OPT_AS_OF);
    rp_error err = RP_ERROR_INIT;
    rp_recs_scorecard *sc = NULL;
    if (rp_recs_scorecard_new(&sc, st, &o, &err) != RP_OK) {
        return err.code == RP_EINVAL ? rp_cli_usage_error(CMD_NAME, "report: %s", err.msg)
                                     : fail(&err, a);
    }
    out_job job = {st, sc, fmt, NULL};
    int rc = RP_OK;
    if (VAL(a, OPT_OUTPUT) != NULL) {
        rc = rp_cli_write_atomic(VAL(a, OPT_OUTPUT), false, write_report, &job, &err);
    } else if (!a->common.quiet) {
        rc = rp_recs_scorecard_write(stdout, sc, fmt, &err);
    }
    rp_recs_scorecard_free(sc);
    return rc == RP_OK ? RP_EXIT_OK : fail(&err, a);
}

static int sub_export(rp_store *st, const recs_args *a, int argc, char **argv)
{
    (void)argv;
    rp_recs_filter f;
    rp_recs_format fmt = RP_RECS_CSV;
    int status = argc != 0 ? rp_cli_usage_error(CMD_NAME, "export: unexpected argument") : -1;
    if (status == -1) {
        status = filter_of(&f, st, a);
    }
    if (status == -1) {
        status = format_of(&fmt, a, false);
    }
    if (status == -1 && fmt == RP_RECS_XLSX && VAL(a, OPT_OUTPUT) == NULL) {
        status = rp_cli_usage_error(CMD_NAME, "export --format xlsx needs --out FILE");
    }
    if (status != -1) {
        return status;
    }
    rp_error err = RP_ERROR_INIT;
    out_job job = {st, NULL, fmt, &f};
    int rc = RP_OK;
    if (fmt == RP_RECS_XLSX) {
        rc = rp_recs_export_xlsx(st, VAL(a, OPT_OUTPUT), &f, &err);
    } else if (VAL(a, OPT_OUTPUT) != NULL) {
        rc = rp_cli_write_atomic(VAL(a, OPT_OUTPUT), false, write_export, &job, &err);
    } else {
        rc = rp_recs_export(st, stdout, fmt, &f, &err);
    }
    return rc == RP_OK ? RP_EXIT_OK : fail(&err, a);
}

/* ==== dispatch ==== */

#define COMMON_OPTS (BIT(OPT_STORE) | BIT(OPT_AUTHOR))
#define FILTER_OPTS                                                                       \
    (BIT(OPT_STATE) | BIT(OPT_SOURCE) | BIT(OPT_ROUND) | BIT(OPT_THEME) | BIT(OPT_BODY) | \
     BIT(OPT_STATUS) | BIT(OPT_STRENGTH))
#define CHANGE_OPTS (BIT(OPT_NOTE) | BIT(OPT_DATE) | BIT(OPT_EVIDENCE))

typedef struct sub_cmd {
    const char *name;
    int (*fn)(rp_store *st, const recs_args *a, int argc, char **argv);
    unsigned long long opts;
    const char *synopsis;
    const char *about;
} sub_cmd;

static const sub_cmd subs[] = {
    {"add", sub_add,
     BIT(OPT_STATE) | BIT(OPT_SOURCE) | BIT(OPT_ROUND) | BIT(OPT_PARAGRAPH) | BIT(OPT_STRENGTH) |
         BIT(OPT_THEME) | BIT(OPT_BODY) | BIT(OPT_DUE) | BIT(OPT_REF) | BIT(OPT_KIND) |
         BIT(OPT_LABEL),
     "add rec TEXT --state XX [options] | add source|body CODE [--kind K] [--label L] |\n"
     "       add theme CODE [--label L]",
     "Add a recommendation (status not_started, source GRETA unless --source), or a source,\n"
     "theme or responsible body to the vocabulary."},
    {"import", sub_import,
     BIT(OPT_STATE) | BIT(OPT_SOURCE) | BIT(OPT_ROUND) | BIT(OPT_DUE) | BIT(OPT_FORMAT),
     "import FILE [--format csv|json|text] [--state XX --source CODE --round N --due DATE]",
     "Import recommendations in one transaction: CSV, JSON (the export's form) or the text of\n"
     "a report's list (which needs --state and --source). The audit trail names --author."},
    {"list", sub_list, FILTER_OPTS, "list [filters]",
     "List the recommendations matching the filters."},
    {"show", sub_show, 0, "show ID",
     "Show one recommendation with its history, links, actions, indicators and audit trail."},
    {"status", sub_status, CHANGE_OPTS,
     "status ID STATUS [--note TEXT] [--date DATE] "
     "[--evidence LINK]...",
     "Change the status of a recommendation under the transition rule (docs/recs.md):\n"
     "not_started, in_progress, partially_implemented, implemented, no_longer_relevant."},
    {"set", sub_set, BIT(OPT_FIELD) | BIT(OPT_VALUE), "set ID --field F --value V",
     "Edit a field of a recommendation (themes and bodies replace the old lists), audited."},
    {"link", sub_link, BIT(OPT_REPEATS) | BIT(OPT_FOLLOWS_UP) | BIT(OPT_REMOVE),
     "link ID --repeats ID2 | --follows-up ID2 [--remove]",
     "Link a recommendation to an earlier one of the same state (a lower round of the same\n"
     "source, else one whose history starts no later; no cycles), or remove the link."},
    {"act", sub_act,
     BIT(OPT_TITLE) | BIT(OPT_BODY) | BIT(OPT_DUE) | BIT(OPT_START) | BIT(OPT_REF) |
         BIT(OPT_ACTION) | BIT(OPT_PROGRESS) | BIT(OPT_VALUE) | CHANGE_OPTS,
     "act ID... --title TEXT [--body CODE] [--start DATE] [--due DATE] [--ref REF] |\n"
     "       act --action A ID... | act --action A --progress [--note T] [--value X] "
     "[--evidence L]...",
     "Add an action linked to recommendations, link an action to more of them (all or\n"
     "none), or report progress on an action."},
    {"indicator", sub_indicator,
     BIT(OPT_NAME) | BIT(OPT_UNIT) | BIT(OPT_TARGET) | BIT(OPT_BASELINE) | BIT(OPT_FREQUENCY) |
         BIT(OPT_DUE) | BIT(OPT_ACTION) | BIT(OPT_INDICATOR) | BIT(OPT_VALUE) | CHANGE_OPTS,
     "indicator ID | --action A --name NAME [options] |\n"
     "       indicator --indicator I --value X [--date DATE] [--note T] [--evidence L]...",
     "Add an indicator to a recommendation or an action, or report a measurement."},
    {"report", sub_report, FILTER_OPTS | BIT(OPT_FORMAT) | BIT(OPT_AS_OF) | BIT(OPT_OUTPUT),
     "report [filters] [--format text|json|html] [--as-of DATE] [--out FILE]",
     "The scorecard: counts by status, share implemented, overdue and repeated\n"
     "recommendations, per state, theme, round, strength and body, and the trend by round."},
    {"export", sub_export, FILTER_OPTS | BIT(OPT_FORMAT) | BIT(OPT_OUTPUT),
     "export [filters] [--format csv|json|xlsx] [--out FILE]",
     "Export the recommendations matching the filters (actions, indicators and progress\n"
     "follow them): CSV, JSON (the import's form) or an Excel workbook (needs --out)."},
};

int cmd_recs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? RP_EXIT_USAGE : RP_EXIT_OK;
    }
    const sub_cmd *sub = NULL;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            sub = &subs[i];
        }
    }
    if (sub == NULL) {
        return rp_cli_usage_error(CMD_NAME, "unknown subcommand '%s'", argv[1]);
    }
    recs_args a;
    memset(&a, 0, sizeof(a));
    a.sub = sub->name;
    a.allowed = sub->opts | COMMON_OPTS;
    /* getopt_long() starts at argv[1]: hand it the subcommand's argv. */
    int status = rp_cli_parse_opts(&a.common, CMD_NAME, argc - 1, argv + 1, longopts, no_usage,
                                   apply_opt, &a);
    if (status == RP_EXIT_OK && a.common.help) {
        sub_usage(stdout, sub->synopsis, sub->about, a.allowed);
        return fflush(stdout) == 0 ? RP_EXIT_OK : RP_EXIT_IO;
    }
    if (status != -1) {
        return status;
    }
    rp_store *st = NULL;
    status = rp_cli_store_open(&st, VAL(&a, OPT_STORE), 0, a.common.json);
    if (status >= 0) {
        return status;
    }
    status = sub->fn(st, &a, argc - 1 - optind, argv + 1 + optind);
    rp_store_close(st);
    if (status == RP_EXIT_OK && fflush(stdout) != 0) {
        status = RP_EXIT_IO;
    }
    return status;
}
