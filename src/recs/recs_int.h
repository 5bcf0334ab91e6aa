/*
 * Private interface of the recommendations module (src/recs): the schema (created on
 * first use by rp_recs__ensure_schema), transactions, the audit writer, validation of
 * codes and dates, and the insert functions that the public entry points and the
 * importers share. Functions named *_txn expect a transaction to be open.
 */
#ifndef RP_RECS_INT_H
#define RP_RECS_INT_H

#include "common/common_int.h"
#include "store/store_int.h"

#include <rapporteur/error.h>
#include <rapporteur/recs.h>
#include <rapporteur/store.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

/** Version of the recommendation tables this program writes (recs_meta). */
#define RP_RECS_SCHEMA_VERSION 1

/**
 * Create the recommendation tables and the standard sources and themes when absent (one
 * transaction; idempotent), and refuse a store whose tables are newer. Every public
 * entry point calls it first. A read-only store without the tables is RP_ENOTFOUND.
 * @return RP_OK; RP_ENOTFOUND; RP_ESQL.
 */
int rp_recs__ensure_schema(rp_store *st, rp_error *err);

/** BEGIN IMMEDIATE on a writable store. @return RP_OK; RP_EPERM (read-only); RP_ESQL. */
int rp_recs__begin(rp_store *st, rp_error *err);

/** COMMIT when @p rc is RP_OK (returning the commit's status), else ROLLBACK. */
int rp_recs__end(rp_store *st, int rc, rp_error *err);

/**
 * What every public writer does before its work: rp_recs__ensure_schema(), then
 * rp_recs__begin(). Pair with rp_recs__end(). @return as the two.
 */
int rp_recs__start(rp_store *st, rp_error *err);

/** rp_recs__check_author(), then rp_recs__start(). @return as the three. */
int rp_recs__start_by(rp_store *st, const char *author, rp_error *err);

/** Today's date (UTC) as YYYY-MM-DD. */
void rp_recs__today(char out[11]);

/** True for YYYY-MM-DD naming a real day (years 1990-2100). */
bool rp_recs__date_ok(const char *s);

/** True for a code of 1..RP_RECS_CODE_MAX-1 bytes of A-Z a-z 0-9 _ - . */
bool rp_recs__code_ok(const char *s);

/**
 * Normalise a state code into @p out: an ISO 3166-1 code (alpha-2 or alpha-3) or a
 * user-assigned alpha-2 code (AA, QM-QZ, XA-XZ, ZZ), upper case. @return true if valid.
 */
bool rp_recs__state_ok(char out[3], const char *s);

/** RP_EINVAL unless @p author is non-empty valid UTF-8 of at most 200 bytes. */
int rp_recs__check_author(const char *author, rp_error *err);

/**
 * Write one audit entry (time now, UTC). @p old_value / @p new_value may be NULL.
 * @return RP_OK; RP_ESQL.
 */
int rp_recs__audit_txn(rp_store *st,
                       const char *author,
                       const char *entity,
                       long long entity_id,
                       const char *field,
                       const char *old_value,
                       const char *new_value,
                       rp_error *err);

/** As rp_recs__audit_txn() with an integer new value (and no old one). */
int rp_recs__audit_int_txn(rp_store *st,
                           const char *author,
                           const char *entity,
                           long long entity_id,
                           const char *field,
                           long long new_value,
                           rp_error *err);

/**
 * The id of the row of @p table ("recs_sources", "recs_themes", "recs_bodies") whose
 * code is @p code, or 0. @return RP_OK; RP_ESQL.
 */
int rp_recs__code_id(long long *id, rp_store *st, int table, const char *code, rp_error *err);

/** Tables for rp_recs__code_id(). */
enum { RP_RECS__SOURCES = 0, RP_RECS__THEMES, RP_RECS__BODIES };

/** Insert a source/theme/body row with its audit entries. @p kind unused for themes. */
int rp_recs__add_code_txn(rp_store *st,
                          int table,
                          const char *code,
                          int kind,
                          const char *label,
                          const char *author,
                          rp_error *err);

/** True when recommendation (or action, with @p action) @p id exists. */
int rp_recs__exists(bool *yes, rp_store *st, bool action, long long id, rp_error *err);

/**
 * Insert a recommendation (see rp_recs_add), created on @p created_on by @p created_by
 * (the history's first entry; NULL = @p author). The audit entries name @p author, who
 * records it, with an entry "created_by" when the two differ (a JSON import keeps the
 * file's author in the history, never in the audit trail). @return as rp_recs_add.
 */
int rp_recs__add_txn(long long *id_out,
                     rp_store *st,
                     const rp_rec *rec,
                     const char *author,
                     const char *created_on,
                     const char *created_by,
                     rp_error *err);

/**
 * Change a status (see rp_recs_set_status), inside a transaction. The history entry
 * and progress report name chg->author; the audit entries name @p auditor (NULL =
 * chg->author), with an entry "status_author" holding chg->author when they differ.
 */
int rp_recs__set_status_txn(rp_store *st,
                            long long id,
                            rp_rec_status to,
                            const rp_recs_change *chg,
                            const char *auditor,
                            rp_error *err);

/** Link two recommendations, inside a transaction. */
int rp_recs__link_txn(rp_store *st,
                      long long from,
                      long long to,
                      rp_rec_link_kind kind,
                      const char *author,
                      rp_error *err);

/** Add an action, inside a transaction. */
int rp_recs__add_action_txn(long long *id_out,
                            rp_store *st,
                            const rp_recs_action *a,
                            const long long *recs,
                            size_t n_recs,
                            const char *author,
                            rp_error *err);

/** Link action and recommendation, inside a transaction. */
int rp_recs__action_link_txn(
    rp_store *st, long long action, long long rec, const char *author, rp_error *err);

/** Add an indicator, inside a transaction. */
int rp_recs__add_indicator_txn(long long *id_out,
                               rp_store *st,
                               const rp_recs_indicator *ind,
                               const char *author,
                               rp_error *err);

/**
 * Add a progress report, inside a transaction: by chg->author, audited under @p auditor
 * (NULL = chg->author) as rp_recs__set_status_txn() does.
 */
int rp_recs__add_progress_txn(long long *id_out,
                              rp_store *st,
                              long long rec_id,
                              long long action_id,
                              long long indicator_id,
                              double value,
                              const rp_recs_change *chg,
                              const char *auditor,
                              rp_error *err);

/**
 * Find a recommendation or action (@p action) by id or ref, RP_ENOTFOUND naming @p key
 * (keys are codes, never personal data).
 */
int rp_recs__find(long long *id_out, rp_store *st, bool action, const char *key, rp_error *err);

/**
 * The WHERE clause shared by list, export and scorecards over recs_recs AS r, with
 * parameters ?1 state, ?2 source code, ?3 theme code, ?4 body code, ?5 round, ?6 status,
 * ?7 strength (NULL / -1 = any); bind them with rp_recs__bind_filter().
 */
#define RP_RECS__FILTER_SQL                                                              \
    " (?1 IS NULL OR r.state = ?1)"                                                      \
    " AND (?2 IS NULL OR r.source_id = (SELECT id FROM recs_sources WHERE code = ?2))"   \
    " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM recs_rec_themes t JOIN recs_themes th ON" \
    "  th.id = t.theme_id WHERE t.rec_id = r.id AND th.code = ?3))"                      \
    " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM recs_rec_bodies b JOIN recs_bodies bo ON" \
    "  bo.id = b.body_id WHERE b.rec_id = r.id AND bo.code = ?4))"                       \
    " AND (?5 < 0 OR r.round = ?5) AND (?6 < 0 OR r.status = ?6)"                        \
    " AND (?7 < 0 OR r.strength = ?7)"

/** Bind @p f (NULL = all) to parameters 1-7 of @p stmt. @return RP_OK; RP_ESQL. */
int rp_recs__bind_filter(sqlite3_stmt *stmt, rp_store *st, const rp_recs_filter *f, rp_error *err);

/**
 * Prepare @p sql, bind ?1 = @p id and step once: the lookup of one row by id. On RP_OK
 * *@p row says whether a row came back, whose columns *@p stmt then holds. The caller
 * finalizes *@p stmt (NULL when the prepare failed), also on failure. @p what names an
 * SQL failure ("cannot read an action"). @return RP_OK; RP_ESQL.
 */
int rp_recs__query_id(sqlite3_stmt **stmt,
                      bool *row,
                      rp_store *st,
                      const char *sql,
                      long long id,
                      const char *what,
                      rp_error *err);

/** As rp_recs__query_id() with ?1 = @p text (NULL binds ""). */
int rp_recs__query_text(sqlite3_stmt **stmt,
                        bool *row,
                        rp_store *st,
                        const char *sql,
                        const char *text,
                        const char *what,
                        rp_error *err);

/** Bind @p s as text (NULL binds ""). @return SQLite status. */
int rp_recs__bind_text(sqlite3_stmt *stmt, int i, const char *s);

/** Column @p i as text, "" for NULL. */
const char *rp_recs__col_text(sqlite3_stmt *stmt, int i);

/*
 * The JSON object of recommendation @p id (the export's form; see docs/recs.md): ref,
 * state, source, round, paragraph, strength, themes, bodies, due_date, text, status,
 * status_date, links, history, progress and indicators. @return RP_OK; RP_ENOTFOUND;
 * RP_ESQL; RP_ENOMEM.
 */
int rp_recs__rec_json(json_t **out, rp_store *st, long long id, rp_error *err);

/** The JSON object of action @p id: ref, title, body, dates, recommendations (refs),
 *  progress and indicators. @return as rp_recs__rec_json. */
int rp_recs__action_json(json_t **out, rp_store *st, long long id, rp_error *err);

/**
 * Call @p fn with the id of every recommendation matching @p f (NULL = all), by state,
 * source, round and id. @return RP_OK; RP_ESQL; or what @p fn returned.
 */
int rp_recs__each_rec(rp_store *st,
                      const rp_recs_filter *f,
                      int (*fn)(long long id, void *payload, rp_error *err),
                      void *payload,
                      rp_error *err);

/**
 * Call @p fn with the id of every action linked to a recommendation matching @p f, and
 * of every unlinked action when @p f selects everything, by id.
 */
int rp_recs__each_action(rp_store *st,
                         const rp_recs_filter *f,
                         int (*fn)(long long id, void *payload, rp_error *err),
                         void *payload,
                         rp_error *err);

/** True when @p f (NULL = all) selects every recommendation. */
bool rp_recs__filter_is_empty(const rp_recs_filter *f);

#endif
