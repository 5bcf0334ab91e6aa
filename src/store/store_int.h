/*
 * Private interface of the store module (src/store): the open-store handle, the SQLite
 * error bridge, the record <-> row conversion shared by export, stats and capture
 * histories, and the import writer, which holds the prepared statements of one import
 * transaction. rp_store_import() drives the writer from a reader and a mapping; unit
 * tests drive it directly with rp_case_record values.
 */
#ifndef RP_STORE_INT_H
#define RP_STORE_INT_H

#include "common/common_int.h"

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/store.h>

#include <sqlite3.h>
#include <stdbool.h>

/** Schema version this program writes (the number of migrations in store.c). */
#define RP_STORE_SCHEMA_VERSION 2

/**
 * The SQL of the migration from schema version @p from to @p from + 1 (constant text),
 * or NULL when @p from is out of range. For tests that build a store of an older version.
 */
const char *rp_store__migration(int from);

/** An open store. */
struct rp_store {
    sqlite3 *db;        /* owned connection */
    int schema_version; /* after migrations */
    bool readonly;
    char path[256]; /* for messages (truncated) */
};

/**
 * Record a failed SQLite call on @p db: "@p what: <sqlite3_errmsg>", code RP_ESQL and
 * sys_code = sqlite3_extended_errcode(). Copies the message at once (the next SQLite
 * call on @p db overwrites it). @return RP_ESQL.
 */
int rp_store__sql_error(rp_error *err, sqlite3 *db, const char *what);

/**
 * Prepare @p sql (a constant string) on @p st. @return RP_OK; RP_ESQL.
 */
int rp_store__prepare(sqlite3_stmt **out, rp_store *st, const char *sql, rp_error *err);

/**
 * Run @p sql (constant text, possibly several statements, no parameters).
 * @return RP_OK; RP_ESQL (with @p what as context).
 */
int rp_store__exec(rp_store *st, const char *sql, const char *what, rp_error *err);

/**
 * The columns of the cases table that make up a record, in the order
 * rp_store__row_record() reads them starting at column @p first.
 */
#define RP_STORE_CASE_COLUMNS                                                                  \
    "list, case_id, person_id, registration_year, registration_date, id_status, sex, age, "    \
    "age_band, majority, citizenship, citizenship_state, country_of_exploitation, coe_state, " \
    "exploitation, exploitation_state, sexual_types, labour_sectors, means_of_control, "       \
    "moc_state, recruiter_relation, rr_state"

/** Number of columns in RP_STORE_CASE_COLUMNS. */
#define RP_STORE_N_CASE_COLUMNS 22

/** Fill @p rec from the current row of @p stmt, columns @p first .. first + 21. */
void rp_store__row_record(rp_case_record *rec, sqlite3_stmt *stmt, int first);

/**
 * Append the text of field @p f of @p rec as the CSV export writes it: codes by name,
 * "unknown" for recorded-as-unknown, "" for missing, multi-valued codes joined with ';'.
 * @return RP_OK; RP_ENOMEM (sticky in @p b).
 */
int rp_store__field_text(rp_x_buf *b, const rp_case_record *rec, rp_field f);

/* ==== shared by the imports (import.c; encoded.c imports submissions) ==== */

/** The current time as ISO 8601 UTC, "2024-05-01T12:00:00Z" ("" if unknown). */
void rp_store__now_utc(char *buf, size_t size);

/** The last component of @p path (borrowed from it). */
const char *rp_store__base_name(const char *path);

/** The SHA-256 of the file @p path as 64 hex digits. @return RP_OK; RP_EIO; RP_ENOMEM. */
int rp_store__hash_file(char hex[65], const char *path, rp_error *err);

/** The id of the first submission whose file had SHA-256 @p hex, or 0. @return RP_OK;
 *  RP_ESQL. */
int rp_store__find_sha256(long long *id, rp_store *st, const char *hex, rp_error *err);

/**
 * Check the import options (version, list and agency lengths) and that @p st is
 * writable; *@p opts_io becomes the defaults when NULL.
 * @return RP_OK; RP_EINVAL; RP_EPERM (read-only store).
 */
int rp_store__check_import_opts(rp_store *st, const rp_import_opts **opts_io, rp_error *err);

/* ==== the import writer ==== */

/** One import transaction in progress (opaque outside import.c). */
typedef struct rp_store__writer rp_store__writer;

/**
 * BEGIN IMMEDIATE and insert the submission row @p sub (id and counts ignored; the
 * time is now, UTC). @p sub->file_name should be a base name.
 * @param[out] out  new writer; finish it with rp_store__writer_commit() or
 *                  rp_store__writer_abort() (which also free it).
 * @return RP_OK; RP_EPERM (read-only store); RP_ESQL; RP_ENOMEM.
 */
int rp_store__writer_begin(rp_store__writer **out,
                           rp_store *st,
                           const rp_submission *sub,
                           rp_error *err);

/**
 * rp_store__writer_begin() for an import that refuses a file already stored: inside the
 * transaction, under the write lock (so that of two imports of one file at the same time
 * the second sees the first), look for a submission with @p sub->sha256. When there is
 * one, the transaction is rolled back, *@p out is NULL, *@p duplicate_of its id and
 * RP_OK is returned; otherwise *@p duplicate_of is 0 and the writer is as
 * rp_store__writer_begin() makes it.
 * @return RP_OK; RP_EPERM (read-only store); RP_ESQL; RP_ENOMEM.
 */
int rp_store__writer_begin_unique(rp_store__writer **out,
                                  long long *duplicate_of,
                                  rp_store *st,
                                  const rp_submission *sub,
                                  rp_error *err);

/** The id of the submission being written. */
long long rp_store__writer_submission(const rp_store__writer *w);

/**
 * Store one valid record read from input line @p line (counted as read). A case id that
 * the list already holds (in the store or earlier in this import) puts the row in
 * quarantine instead, with rule "duplicate".
 * @param[out] stored  true when stored, false when quarantined; may be NULL.
 * @return RP_OK; RP_ESQL.
 */
int rp_store__writer_add(
    rp_store__writer *w, const rp_case_record *rec, long line, bool *stored, rp_error *err);

/**
 * Quarantine the row read from input line @p line with its @p n_issues reasons (at
 * least one; counted as read). @return RP_OK; RP_EINVAL (no issue); RP_ESQL.
 */
int rp_store__writer_quarantine(
    rp_store__writer *w, long line, const rp_issue *issues, size_t n_issues, rp_error *err);

/**
 * Write the counts into the submission row, COMMIT and free @p w (also on failure,
 * when everything is rolled back). @param[out] report  counts and ids; may be NULL.
 * @return RP_OK; RP_ESQL.
 */
int rp_store__writer_commit(rp_store__writer *w, rp_import_report *report, rp_error *err);

/** ROLLBACK everything the writer did and free it. NULL-safe. */
void rp_store__writer_abort(rp_store__writer *w);

#endif
