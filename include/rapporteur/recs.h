/*
 * rapporteur: recommendation and commitment tracking (issue 8). GRETA, Committee of the
 * Parties, OSCE and national recommendations in the store, with themes, responsible
 * bodies, actions, indicators, progress reports, a status history under a transition
 * rule and an audit trail of every change; imports (CSV, JSON, the plain text of a
 * report's list), exports (CSV, JSON, Excel) and scorecards (text, JSON, HTML).
 */
#ifndef RAPPORTEUR_RECS_H
#define RAPPORTEUR_RECS_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/store.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest reference (a recommendation's or action's key), bytes with the NUL. */
#define RP_RECS_REF_MAX 64
/** Longest code of a source, theme or body, bytes with the NUL. */
#define RP_RECS_CODE_MAX 32
/** Highest evaluation round accepted (GRETA has held four; room for later ones). */
#define RP_RECS_ROUND_MAX 9

/* ==== vocabularies ==== */

/** How strongly a recommendation is worded (GRETA: "urges" > "considers" > "invites"). */
typedef enum rp_rec_strength {
    RP_REC_STRENGTH_NONE = 0, /* not worded in GRETA's terms (other sources) */
    RP_REC_URGES,
    RP_REC_CONSIDERS,
    RP_REC_INVITES,
    RP_REC_STRENGTH_COUNT
} rp_rec_strength;

/** Implementation status of a recommendation. See rp_recs_transition_check(). */
typedef enum rp_rec_status {
    RP_REC_NOT_STARTED = 0,
    RP_REC_IN_PROGRESS,
    RP_REC_PARTIALLY_IMPLEMENTED,
    RP_REC_IMPLEMENTED,
    RP_REC_NO_LONGER_RELEVANT,
    RP_REC_STATUS_COUNT
} rp_rec_status;

/** A link from a recommendation to an earlier one. */
typedef enum rp_rec_link_kind {
    RP_REC_REPEATS = 0, /* restates the earlier recommendation (not acted on in time) */
    RP_REC_FOLLOWS_UP,  /* builds on it */
    RP_REC_LINK_KIND_COUNT
} rp_rec_link_kind;

/** Kinds of source (framework) of recommendations and commitments. */
typedef enum rp_recs_source_kind {
    RP_RECS_SRC_GRETA = 0,       /* GRETA evaluation rounds 1-4 */
    RP_RECS_SRC_COP,             /* Committee of the Parties to the Convention */
    RP_RECS_SRC_OSCE_PLAN,       /* OSCE Action Plan to Combat Trafficking */
    RP_RECS_SRC_OSCE_COMMITMENT, /* OSCE Ministerial Council commitments */
    RP_RECS_SRC_NATIONAL_PLAN,   /* a national action plan */
    RP_RECS_SRC_ALLIANCE,        /* Alliance against Trafficking in Persons conference */
    RP_RECS_SRC_OTHER,
    RP_RECS_SRC_KIND_COUNT
} rp_recs_source_kind;

/** Kinds of responsible body. */
typedef enum rp_recs_body_kind {
    RP_RECS_BODY_MINISTRY = 0,
    RP_RECS_BODY_AGENCY, /* police, labour inspectorate, prosecution, border guard, ... */
    RP_RECS_BODY_CIVIL_SOCIETY,
    RP_RECS_BODY_PRIVATE_SECTOR,
    RP_RECS_BODY_INTERNATIONAL,
    RP_RECS_BODY_OTHER,
    RP_RECS_BODY_KIND_COUNT
} rp_recs_body_kind;

/** How often an indicator is reported. */
typedef enum rp_recs_frequency {
    RP_RECS_FREQ_NONE = 0,
    RP_RECS_FREQ_MONTHLY,
    RP_RECS_FREQ_QUARTERLY,
    RP_RECS_FREQ_SEMIANNUAL,
    RP_RECS_FREQ_ANNUAL,
    RP_RECS_FREQ_BIENNIAL,
    RP_RECS_FREQ_COUNT
} rp_recs_frequency;

/** The vocabularies named by the rp_recs_name() / rp_recs_parse() pair. */
typedef enum rp_recs_vocab {
    RP_RECS_V_STRENGTH = 0, /* none urges considers invites */
    RP_RECS_V_STATUS,       /* not_started in_progress partially_implemented implemented
                               no_longer_relevant */
    RP_RECS_V_LINK,         /* repeats follows_up */
    RP_RECS_V_SOURCE_KIND,  /* greta cop osce_action_plan osce_commitment
                               national_action_plan alliance other */
    RP_RECS_V_BODY_KIND,    /* ministry agency civil_society private_sector international
                               other */
    RP_RECS_V_FREQUENCY,    /* none monthly quarterly semiannual annual biennial */
    RP_RECS_V_COUNT
} rp_recs_vocab;

/** The name of value @p v of vocabulary @p vocab (static), or NULL when out of range. */
RP_API const char *rp_recs_name(rp_recs_vocab vocab, int v);

/**
 * The value of @p name (exact, lower case; '-' and ' ' read as '_') in @p vocab.
 * @return RP_OK; RP_ENOTFOUND (*out untouched).
 */
RP_API int rp_recs_parse(int *out, rp_recs_vocab vocab, const char *name);

/**
 * The transition rule of the status history. A change from @p from to @p to is allowed
 * when:
 *   1. @p to differs from @p from;
 *   2. @p to is no_longer_relevant (from any status), or
 *   3. @p to is implemented only from in_progress or partially_implemented, and
 *   4. a reopening, that is leaving implemented or no_longer_relevant or stepping back
 *      (not_started < in_progress < partially_implemented), carries a non-empty @p note.
 * Forward steps among not_started, in_progress and partially_implemented are free.
 * @return RP_OK; RP_EDATA (refused, with the rule in the message); RP_EINVAL (a status
 *         out of range).
 * @test tests/unit/test_recs.c: recs_transition__table
 */
RP_API int
rp_recs_transition_check(rp_rec_status from, rp_rec_status to, const char *note, rp_error *err);

/* ==== vocabulary entries: sources, themes, bodies ==== */

/**
 * Add a source (framework) with code @p code (1-31 bytes of A-Z a-z 0-9 _ - .), kind and
 * title. The standard sources GRETA, COP, OSCE-AP, OSCE-MC, NAP and ALLIANCE exist in
 * every store. @p author (non-empty) goes into the audit trail.
 * @return RP_OK; RP_EINVAL (bad code or author); RP_EDATA (code exists); RP_ESQL.
 */
RP_API int rp_recs_add_source(rp_store *st,
                              const char *code,
                              rp_recs_source_kind kind,
                              const char *title,
                              const char *author,
                              rp_error *err);

/**
 * Add a theme (code as for sources, lower case by convention, and a label). Every store
 * has the standard themes of docs/recs.md (labour_exploitation, identification,
 * assistance, compensation, prosecution, children, ...).
 * @return RP_OK; RP_EINVAL; RP_EDATA (code exists); RP_ESQL.
 */
RP_API int rp_recs_add_theme(
    rp_store *st, const char *code, const char *label, const char *author, rp_error *err);

/**
 * Add a responsible body (ministry, agency, civil-society or private-sector partner).
 * @return RP_OK; RP_EINVAL; RP_EDATA (code exists); RP_ESQL.
 */
RP_API int rp_recs_add_body(rp_store *st,
                            const char *code,
                            rp_recs_body_kind kind,
                            const char *name,
                            const char *author,
                            rp_error *err);

/* ==== recommendations ==== */

/**
 * One recommendation. On input (rp_recs_add) every string is borrowed for the call and
 * NULL reads as ""; on output (rp_recs_list) they are borrowed until the callback
 * returns.
 */
typedef struct rp_rec {
    long long id;          /* assigned by the store; ignored on input */
    const char *ref;       /* unique key; "" on input: STATE/SOURCE/ROUND/PARAGRAPH */
    const char *state;     /* ISO 3166-1 alpha-2 (or a user-assigned code: XA-XZ, ...) */
    const char *source;    /* source code (GRETA, COP, ...) */
    int round;             /* evaluation round 1..RP_RECS_ROUND_MAX; 0 = none */
    const char *paragraph; /* as the report numbers it: "12", "12(a)"; may be "" */
    const char *text;      /* non-empty */
    rp_rec_strength strength;
    const char *themes;      /* theme codes separated by ';' (input) or "; " (output) */
    const char *bodies;      /* body codes, likewise */
    const char *due_date;    /* YYYY-MM-DD or "" */
    rp_rec_status status;    /* output: the current status; ignored on input */
    const char *status_date; /* output: date of the last status change */
} rp_rec;

/* clang-format off */
#define RP_REC_INIT {0, NULL, NULL, NULL, 0, NULL, NULL, RP_REC_STRENGTH_NONE, NULL, NULL, \
                     NULL, RP_REC_NOT_STARTED, NULL}
/* clang-format on */

/**
 * Add a recommendation (status not_started, dated today) with its themes and bodies,
 * in one transaction with its audit entries.
 * @param[out] id_out  the new id; may be NULL.
 * @return RP_OK; RP_EINVAL (bad author); RP_EDATA (a field is invalid: the message names
 *         it; unknown source, theme or body; ref exists); RP_ESQL.
 */
RP_API int
rp_recs_add(long long *id_out, rp_store *st, const rp_rec *rec, const char *author, rp_error *err);

/**
 * Find a recommendation by id (all digits) or by ref.
 * @return RP_OK; RP_ENOTFOUND ("no recommendation 'X'"); RP_ESQL.
 */
RP_API int rp_recs_find(long long *id_out, rp_store *st, const char *key, rp_error *err);

/**
 * Find an action by id (all digits) or by ref. @return RP_OK; RP_ENOTFOUND; RP_ESQL.
 */
RP_API int rp_recs_find_action(long long *id_out, rp_store *st, const char *key, rp_error *err);

/** What goes with a change: who, when, why, and the evidence. Strings borrowed. */
typedef struct rp_recs_change {
    const char *author;          /* non-empty */
    const char *date;            /* YYYY-MM-DD; NULL or "" = today (UTC) */
    const char *note;            /* may be NULL */
    const char *const *evidence; /* links (URLs, document references) */
    size_t n_evidence;
} rp_recs_change;

/* clang-format off */
#define RP_RECS_CHANGE_INIT {NULL, NULL, NULL, NULL, 0}
/* clang-format on */

/**
 * Change the status of recommendation @p id to @p to under rp_recs_transition_check(),
 * recording the history entry, a progress report when @p chg has a note or evidence,
 * and the audit entries, in one transaction. The date may be neither before the last
 * change nor after today (UTC): a future date would block every later change.
 * @return RP_OK; RP_ENOTFOUND (no such id); RP_EDATA (transition refused, a date that is
 *         not a day, before the last change or after today); RP_EINVAL (bad author);
 *         RP_ESQL.
 */
RP_API int rp_recs_set_status(
    rp_store *st, long long id, rp_rec_status to, const rp_recs_change *chg, rp_error *err);

/**
 * Set a field of recommendation @p id: "text", "due_date", "strength", "paragraph",
 * "themes" or "bodies" (lists replace the old ones), with its audit entries.
 * @return RP_OK; RP_ENOTFOUND; RP_EDATA (bad value or unknown field); RP_EINVAL; RP_ESQL.
 */
RP_API int rp_recs_set_field(rp_store *st,
                             long long id,
                             const char *field,
                             const char *value,
                             const char *author,
                             rp_error *err);

/**
 * Link recommendation @p from to the earlier recommendation @p to, with its audit entry.
 * The rules: both are of the same state; @p to is earlier, that is of a lower round when
 * both have rounds of the same source, else with a history that starts no later (the
 * date of its earliest status entry); and no chain of links leads from @p to back to
 * @p from (no cycle).
 * @return RP_OK; RP_ENOTFOUND (either id); RP_EDATA (a link to itself, across states, to
 *         a later recommendation, closing a cycle, or the link exists); RP_EINVAL;
 *         RP_ESQL.
 * @test tests/unit/test_recs.c: recs_link__rules_and_unlink
 */
RP_API int rp_recs_link(rp_store *st,
                        long long from,
                        long long to,
                        rp_rec_link_kind kind,
                        const char *author,
                        rp_error *err);

/**
 * Remove the link of kind @p kind from @p from to @p to, with its audit entry (the old
 * target, new value null).
 * @return RP_OK; RP_ENOTFOUND (no such link); RP_EINVAL (author, kind); RP_ESQL.
 * @test tests/unit/test_recs.c: recs_link__rules_and_unlink
 */
RP_API int rp_recs_unlink(rp_store *st,
                          long long from,
                          long long to,
                          rp_rec_link_kind kind,
                          const char *author,
                          rp_error *err);

/* ==== actions, indicators, progress ==== */

/** An action taken on one or more recommendations. Strings borrowed; NULL reads "". */
typedef struct rp_recs_action {
    const char *ref;        /* unique; "" = "A<id>" */
    const char *title;      /* non-empty */
    const char *body;       /* code of the lead body, or "" */
    const char *start_date; /* YYYY-MM-DD or "" */
    const char *due_date;   /* YYYY-MM-DD or "" */
} rp_recs_action;

/* clang-format off */
#define RP_RECS_ACTION_INIT {NULL, NULL, NULL, NULL, NULL}
/* clang-format on */

/**
 * Add an action linked to the @p n_recs recommendations @p recs (may be 0).
 * @return RP_OK; RP_ENOTFOUND (a recommendation); RP_EDATA (bad field, unknown body, ref
 *         exists); RP_EINVAL; RP_ESQL.
 */
RP_API int rp_recs_add_action(long long *id_out,
                              rp_store *st,
                              const rp_recs_action *action,
                              const long long *recs,
                              size_t n_recs,
                              const char *author,
                              rp_error *err);

/**
 * Link existing action @p action to recommendation @p rec.
 * @return RP_OK; RP_ENOTFOUND; RP_EDATA (already linked); RP_EINVAL; RP_ESQL.
 */
RP_API int rp_recs_action_link(
    rp_store *st, long long action, long long rec, const char *author, rp_error *err);

/**
 * Link existing action @p action to the @p n_recs recommendations @p recs in one
 * transaction: all of them or, on any error, none.
 * @return RP_OK; RP_ENOTFOUND (the action or a recommendation); RP_EDATA (one is already
 *         linked); RP_EINVAL; RP_ESQL.
 * @test tests/unit/test_recs.c: recs_action__link_many_is_all_or_nothing
 */
RP_API int rp_recs_action_link_many(rp_store *st,
                                    long long action,
                                    const long long *recs,
                                    size_t n_recs,
                                    const char *author,
                                    rp_error *err);

/** An indicator of a recommendation or of an action (exactly one of the two ids). */
typedef struct rp_recs_indicator {
    long long rec_id;    /* or 0 */
    long long action_id; /* or 0 */
    const char *name;    /* non-empty */
    const char *unit;    /* "" allowed */
    double baseline;     /* NaN = none */
    double target;       /* NaN = none */
    rp_recs_frequency frequency;
    const char *due_date; /* YYYY-MM-DD or "" */
} rp_recs_indicator;

/**
 * Add an indicator. @return RP_OK; RP_ENOTFOUND (its recommendation or action);
 * RP_EDATA (bad field, neither or both owners); RP_EINVAL; RP_ESQL.
 */
RP_API int rp_recs_add_indicator(long long *id_out,
                                 rp_store *st,
                                 const rp_recs_indicator *ind,
                                 const char *author,
                                 rp_error *err);

/**
 * Add a progress report on a recommendation, an action or an indicator (exactly one of
 * the ids non-zero), with an optional measured @p value (NaN = none; an indicator's
 * report must have one), the note and evidence links of @p chg.
 * @return RP_OK; RP_ENOTFOUND; RP_EDATA; RP_EINVAL; RP_ESQL.
 */
RP_API int rp_recs_add_progress(long long *id_out,
                                rp_store *st,
                                long long rec_id,
                                long long action_id,
                                long long indicator_id,
                                double value,
                                const rp_recs_change *chg,
                                rp_error *err);

/* ==== reading ==== */

/** Which recommendations to list, export or score. NULL/"" and -1 mean any. */
typedef struct rp_recs_filter {
    const char *state;
    const char *source;
    const char *theme;
    const char *body;
    int round;    /* -1 = any */
    int status;   /* rp_rec_status or -1 */
    int strength; /* rp_rec_strength or -1 */
} rp_recs_filter;

/* clang-format off */
#define RP_RECS_FILTER_INIT {NULL, NULL, NULL, NULL, -1, -1, -1}
/* clang-format on */

/**
 * Check that @p filter (NULL = all) names only codes the store knows, so that a typo
 * ("--theme labor_exploitation", "--source greta") is an error rather than an empty
 * result. The listing functions themselves accept any filter.
 * @return RP_OK; RP_ENOTFOUND (an unknown source, theme or body, named, with a match
 *         that differs only by case suggested); RP_EINVAL (a state that is no country
 *         code, a round, status or strength out of range); RP_ESQL.
 * @test tests/unit/test_recs.c: recs_filter__unknown_codes_are_refused
 */
RP_API int rp_recs_check_filter(rp_store *st, const rp_recs_filter *filter, rp_error *err);

/**
 * Call @p fn for every recommendation matching @p filter (NULL = all), by state, source,
 * round and id. A nonzero return from @p fn stops with RP_ECANCELED.
 * @return RP_OK; RP_ECANCELED; RP_ESQL.
 */
RP_API int rp_recs_list(rp_store *st,
                        const rp_recs_filter *filter,
                        int (*fn)(const rp_rec *rec, void *payload),
                        void *payload,
                        rp_error *err);

/**
 * Everything about recommendation @p id as one JSON object (as in the JSON export, plus
 * "id", its actions in full and its audit entries); docs/recs.md shows it.
 * @param[out] out  NUL-terminated JSON text; free with rp_free(); NULL on failure.
 * @return RP_OK; RP_ENOTFOUND; RP_ESQL; RP_ENOMEM.
 */
RP_API int rp_recs_show_json(char **out, rp_store *st, long long id, rp_error *err);

/** One entry of the audit trail (borrowed strings). */
typedef struct rp_recs_audit_entry {
    long long id;
    const char *at; /* UTC, ISO 8601 */
    const char *author;
    const char *entity; /* source theme body rec rec_theme rec_body link action action_rec
                           indicator progress evidence status */
    long long entity_id;
    const char *field;
    const char *old_value; /* NULL when none */
    const char *new_value; /* NULL when none */
} rp_recs_audit_entry;

/**
 * Call @p fn for every audit entry (of one entity kind and id, or all when @p entity is
 * NULL), oldest first. @return RP_OK; RP_ECANCELED; RP_ESQL.
 */
RP_API int rp_recs_audit(rp_store *st,
                         const char *entity,
                         long long entity_id,
                         int (*fn)(const rp_recs_audit_entry *e, void *payload),
                         void *payload,
                         rp_error *err);

/* ==== import and export ==== */

/** Formats of imports, exports and scorecards. */
typedef enum rp_recs_format {
    RP_RECS_AUTO = 0, /* import: by extension (.csv, .json, else text) */
    RP_RECS_CSV,
    RP_RECS_JSON,
    RP_RECS_TEXT, /* import: a report's recommendations list; scorecard: plain text */
    RP_RECS_HTML, /* scorecard only */
    RP_RECS_XLSX  /* export only, see rp_recs_export_xlsx() */
} rp_recs_format;

/** Options of rp_recs_import(). */
typedef struct rp_recs_import_opts {
    unsigned version;
    rp_recs_format format;
    const char *author; /* non-empty */
    /* For CSV rows without them and for text (required there): */
    const char *state;
    const char *source;
    int round;
    const char *due_date; /* default due date of text imports; "" = none */
} rp_recs_import_opts;

#define RP_RECS_IMPORT_OPTS_VERSION 1
/* clang-format off */
#define RP_RECS_IMPORT_OPTS_INIT {RP_RECS_IMPORT_OPTS_VERSION, RP_RECS_AUTO, NULL, NULL, NULL, \
                                  0, NULL}

/* clang-format on */

/** What an import did. */
typedef struct rp_recs_import_report {
    long long recs, actions, indicators, progress, links, statuses;
    long long skipped_lines; /* text: lines before the first paragraph, page numbers */
    long long out_of_order;  /* text: lines "N. Text" with N not above the paragraph before,
                                kept as text (a warning: check the list) */
    long first_out_of_order; /* text: the line of the first of them, or 0 */
} rp_recs_import_report;

/**
 * Import @p path in one transaction: on any error nothing is kept, and the error gives
 * file, line (CSV, text) or JSON path. Formats are described in docs/recs.md. Every
 * audit entry names opts->author; a JSON file's own authors stay in the status history
 * and progress reports (and appear in the audit trail only as values).
 * @return RP_OK; RP_EIO; RP_EPARSE (syntax); RP_EDATA (a value, an unknown code or ref,
 *         a duplicate ref, a date after today, an unknown "version", or a status history
 *         that is refused or inconsistent); RP_EINVAL (options); RP_ESQL; RP_ENOMEM.
 * @test tests/unit/test_recs.c: recs_import__json_audit_names_the_importer,
 *       recs_import__json_history_must_be_consistent
 */
RP_API int rp_recs_import(rp_recs_import_report *report,
                          rp_store *st,
                          const char *path,
                          const rp_recs_import_opts *opts,
                          rp_error *err);

/**
 * Write the recommendations matching @p filter (NULL = all) as CSV (one row each,
 * formula-safe cells) or JSON (the whole model: sources, themes, bodies,
 * recommendations with history, links and indicators, actions with progress; the same
 * form rp_recs_import() reads, so that an export imports into an empty store).
 * @return RP_OK; RP_EINVAL (format); RP_EIO; RP_ESQL; RP_ENOMEM.
 */
RP_API int rp_recs_export(
    rp_store *st, FILE *out, rp_recs_format format, const rp_recs_filter *filter, rp_error *err);

/**
 * Write an Excel workbook at @p path (libxlsxwriter): sheets Recommendations, Actions,
 * Indicators, Progress and History, following @p filter as rp_recs_export() does
 * (actions, indicators and progress follow the selected recommendations). Text over
 * Excel's 32,767 characters per cell is cut with a visible marker and listed on a sheet
 * Notes. The workbook is written beside @p path and renamed over it: on failure nothing
 * is left (a file already at @p path stays as it was).
 * @return RP_OK; RP_EINVAL (no path, or a directory); RP_EIO; RP_ESQL; RP_ENOMEM.
 * @note   libxlsxwriter may still print its own message on stderr when it cannot write
 *         the file; it never has to warn about long strings.
 * @test tests/unit/test_recs.c: recs_export__xlsx_long_text_and_atomic; tests/cli/recs.sh
 */
RP_API int
rp_recs_export_xlsx(rp_store *st, const char *path, const rp_recs_filter *filter, rp_error *err);

/* ==== the plain-text importer's parser ==== */

/** One recommendation found in a report's list. */
typedef struct rp_recs_text_item {
    char paragraph[32]; /* "12" or "12(a)" */
    int seq;            /* 1, 2, ... among the items of the same paragraph label */
    int n_seq;          /* how many items share the label */
    rp_rec_strength strength;
    long line;  /* input line where the paragraph (or sub-point) starts */
    char *text; /* one line, footnote marks removed; owned by the list */
} rp_recs_text_item;

/** The result of rp_recs_text_parse(). Free with rp_recs_text_free(). */
typedef struct rp_recs_text {
    rp_recs_text_item *items;
    size_t n_items;
    long skipped_lines;      /* non-empty lines outside any paragraph, page headers and
                                footers, article headings */
    long out_of_order;       /* lines "N. Text" after a sentence with N not above the number
                                before: kept as text, worth a warning */
    long first_out_of_order; /* line of the first of them, or 0 */
} rp_recs_text;

/**
 * Split the recommendations list @p text (@p len bytes of UTF-8) into recommendations,
 * by the rules of docs/recs.md: numbered paragraphs, "GRETA urges / considers / invites"
 * sentences, lettered sub-points split off with their lead-in, bullets and roman
 * sub-points kept with their parent, wrapped lines joined, footnote marks removed.
 * @p name names the input in messages.
 * @return RP_OK; RP_EPARSE (not UTF-8, a NUL byte, no numbered paragraph: with line and
 *         column); RP_ENOMEM.
 * @test tests/unit/test_recs_text.c
 */
RP_API int rp_recs_text_parse(
    rp_recs_text **out, const char *text, size_t len, const char *name, rp_error *err);

/** Free a parse result. NULL-safe. */
RP_API void rp_recs_text_free(rp_recs_text *t);

/* ==== scorecards ==== */

/** The groupings of a scorecard. */
typedef enum rp_recs_dim {
    RP_RECS_BY_STATE = 0,
    RP_RECS_BY_THEME,
    RP_RECS_BY_ROUND,
    RP_RECS_BY_STRENGTH,
    RP_RECS_BY_BODY,
    RP_RECS_DIM_COUNT
} rp_recs_dim;

/** One line of a scorecard. */
typedef struct rp_recs_score {
    char key[RP_RECS_REF_MAX]; /* state, theme, round, strength or body code */
    int round;                 /* trend lines: the round; else 0 */
    long long total;
    long long n[RP_REC_STATUS_COUNT]; /* by status */
    long long relevant;               /* total - no_longer_relevant */
    long long overdue;                /* due date before as_of, not implemented/nlr */
    long long repeated_not_acted;     /* repeats an earlier one, status not_started */
    double share_implemented;         /* n[implemented] / relevant; NaN when relevant 0 */
} rp_recs_score;

/** A recommendation named in a scorecard's lists. */
typedef struct rp_recs_score_item {
    long long id;
    char ref[RP_RECS_REF_MAX];
    char state[4];
    int round;
    char due_date[11];
    rp_rec_status status;
} rp_recs_score_item;

/** A scorecard. Free with rp_recs_scorecard_free(). */
typedef struct rp_recs_scorecard {
    char as_of[11];
    rp_recs_score overall;
    rp_recs_score *by[RP_RECS_DIM_COUNT];
    size_t n_by[RP_RECS_DIM_COUNT];
    rp_recs_score *trend; /* by state then round */
    size_t n_trend;
    rp_recs_score_item *overdue;
    size_t n_overdue;
    rp_recs_score_item *repeated; /* repeated and not acted on */
    size_t n_repeated;
} rp_recs_scorecard;

/** Options of rp_recs_scorecard_new(). */
typedef struct rp_recs_scorecard_opts {
    unsigned version;
    const char *as_of; /* YYYY-MM-DD; NULL = today (UTC): the scorecard of that day, from
                          the status history (see rp_recs_scorecard_new()) */
    rp_recs_filter filter;
} rp_recs_scorecard_opts;

#define RP_RECS_SCORECARD_OPTS_VERSION 1
/* clang-format off */
#define RP_RECS_SCORECARD_OPTS_INIT {RP_RECS_SCORECARD_OPTS_VERSION, NULL, RP_RECS_FILTER_INIT}
/* clang-format on */

/**
 * Compute the scorecard of the recommendations matching opts->filter as they stood on
 * opts->as_of: per state, theme, round, strength and responsible body, the counts by
 * status, the share implemented (of those still relevant), overdue items and repeated
 * recommendations not acted on, and the trend across rounds per state. A recommendation
 * counts when its history starts on or before as_of, with the status of its last change
 * dated on or before it (not_started when none); the filter's status applies to that
 * status. A recommendation with several themes (bodies) counts once under each.
 * @return RP_OK; RP_EINVAL (opts, as_of); RP_ESQL; RP_ENOMEM.
 * @test tests/unit/test_recs.c: recs_scorecard__example_set_by_hand,
 *       recs_scorecard__as_of_past_date_by_hand
 */
RP_API int rp_recs_scorecard_new(rp_recs_scorecard **out,
                                 rp_store *st,
                                 const rp_recs_scorecard_opts *opts,
                                 rp_error *err);

/** Free a scorecard. NULL-safe. */
RP_API void rp_recs_scorecard_free(rp_recs_scorecard *sc);

/**
 * Write @p sc as plain text, JSON or one self-contained HTML page (escaped text,
 * semantic tables, an inline SVG bar chart of the trend; no script, no external file).
 * @return RP_OK; RP_EINVAL (format); RP_EIO; RP_ENOMEM.
 */
RP_API int rp_recs_scorecard_write(FILE *out,
                                   const rp_recs_scorecard *sc,
                                   rp_recs_format format,
                                   rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
