/*
 * The import writer: one import transaction (BEGIN IMMEDIATE ... COMMIT) with its
 * prepared statements, reused for every row. It stores valid records, detects case ids
 * repeated within a list through the unique index, quarantines rows with every reason,
 * and keeps the counts that make read = stored + quarantined.
 */
#include "store/store_int.h"

#include <time.h>

struct rp_store__writer {
    rp_store *st;
    long long submission_id;
    long long read, stored, quarantined;
    sqlite3_stmt *ins_case;
    sqlite3_stmt *ins_quarantine;
    sqlite3_stmt *ins_reason;
    sqlite3_stmt *find_case; /* submission of an existing (list, case_id) */
    bool in_txn;
};

void rp_store__now_utc(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL) {
        rp_x_strlcpy(buf, "", size);
        return;
    }
    if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        rp_x_strlcpy(buf, "", size);
    }
}

/* Free the statements and the writer; ROLLBACK first if the transaction is still open. */
static void writer_free(rp_store__writer *w)
{
    if (w == NULL) {
        return;
    }
    sqlite3_finalize(w->ins_case);
    sqlite3_finalize(w->ins_quarantine);
    sqlite3_finalize(w->ins_reason);
    sqlite3_finalize(w->find_case);
    if (w->in_txn) {
        /* Nothing to report if it fails: SQLite rolls back on close anyway. */
        sqlite3_exec(w->st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    rp_free(w);
}

int rp_store__writer_begin(rp_store__writer **out,
                           rp_store *st,
                           const rp_submission *sub,
                           rp_error *err)
{
    return rp_store__writer_begin_unique(out, NULL, st, sub, err);
}

int rp_store__writer_begin_unique(rp_store__writer **out,
                                  long long *duplicate_of,
                                  rp_store *st,
                                  const rp_submission *sub,
                                  rp_error *err)
{
    rp_store__writer *w = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = RP_OK;

    *out = NULL;
    if (st->readonly) {
        return rp_error_set(err, RP_EPERM, "store '%s' is open read-only", st->path);
    }
    w = rp_calloc(1, sizeof(*w));
    if (w == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    w->st = st;
    rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start the import transaction", err);
    if (rc != RP_OK) {
        goto out;
    }
    w->in_txn = true;
    if (duplicate_of != NULL) {
        /* Under the write lock: a concurrent import of the same file has committed. */
        rc = rp_store__find_sha256(duplicate_of, st, sub->sha256, err);
        if (rc != RP_OK || *duplicate_of != 0) {
            goto out; /* writer_free() rolls back */
        }
    }

    rc = rp_store__prepare(&stmt, st,
                           "INSERT INTO submissions (agency, list, file_name, sha256, mapping,"
                           " imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           err);
    if (rc != RP_OK) {
        goto out;
    }
    char when[32];
    rp_store__now_utc(when, sizeof(when));
    if (sqlite3_bind_text(stmt, 1, sub->agency, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 2, sub->list, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 3, sub->file_name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 4, sub->sha256, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 5, sub->mapping, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 6, when, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot record the submission");
        goto out;
    }
    w->submission_id = sqlite3_last_insert_rowid(st->db);

    rc = rp_store__prepare(&w->ins_case, st,
                           "INSERT INTO cases (submission_id, " RP_STORE_CASE_COLUMNS ") VALUES"
                           " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                           " ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
                           err);
    if (rc == RP_OK) {
        rc = rp_store__prepare(&w->ins_quarantine, st,
                               "INSERT INTO quarantine (submission_id, line) VALUES (?1, ?2)", err);
    }
    if (rc == RP_OK) {
        rc = rp_store__prepare(&w->ins_reason, st,
                               "INSERT INTO quarantine_reasons (quarantine_id, line, col,"
                               " column_name, value, rule, message)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    }
    if (rc == RP_OK) {
        rc = rp_store__prepare(&w->find_case, st,
                               "SELECT submission_id FROM cases"
                               " WHERE list = ?1 AND case_id = ?2 AND case_id <> ''",
                               err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    *out = w;
    w = NULL;
out:
    sqlite3_finalize(stmt);
    writer_free(w);
    return rc;
}

long long rp_store__writer_submission(const rp_store__writer *w)
{
    return w->submission_id;
}

/* Insert one quarantine row and its reasons; the caller counts it. */
static int insert_quarantine(
    rp_store__writer *w, long line, const rp_issue *issues, size_t n_issues, rp_error *err)
{
    sqlite3 *db = w->st->db;
    sqlite3_stmt *q = w->ins_quarantine;
    int rc = RP_OK;

    if (sqlite3_bind_int64(q, 1, w->submission_id) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, line) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, db, "cannot quarantine a row");
        sqlite3_reset(q);
        return rc;
    }
    sqlite3_reset(q);
    long long qid = sqlite3_last_insert_rowid(db);

    sqlite3_stmt *r = w->ins_reason;
    for (size_t i = 0; i < n_issues; i++) {
        const rp_issue *is = &issues[i];
        if (sqlite3_bind_int64(r, 1, qid) != SQLITE_OK ||
            sqlite3_bind_int64(r, 2, is->line != 0 ? is->line : line) != SQLITE_OK ||
            sqlite3_bind_int64(r, 3, is->column) != SQLITE_OK ||
            sqlite3_bind_text(r, 4, is->column_name, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(r, 5, is->value, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(r, 6, is->rule, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(r, 7, is->message, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_step(r) != SQLITE_DONE) {
            rc = rp_store__sql_error(err, db, "cannot record a quarantine reason");
            sqlite3_reset(r);
            return rc;
        }
        sqlite3_reset(r);
    }
    return RP_OK;
}

int rp_store__writer_quarantine(
    rp_store__writer *w, long line, const rp_issue *issues, size_t n_issues, rp_error *err)
{
    if (n_issues == 0 || issues == NULL) {
        return rp_error_set(err, RP_EINVAL, "a quarantined row needs a reason");
    }
    int rc = insert_quarantine(w, line, issues, n_issues, err);
    if (rc != RP_OK) {
        return rc;
    }
    w->read++;
    w->quarantined++;
    return RP_OK;
}

/* Bind the 22 record columns of @p rec starting at parameter @p first. */
static int bind_record(sqlite3_stmt *s, int first, const rp_case_record *rec)
{
    int i = first;
    int ok = SQLITE_OK;
    ok |= sqlite3_bind_text(s, i++, rec->list, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(s, i++, rec->case_id, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(s, i++, rec->person_id, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int(s, i++, rec->registration_year);
    ok |= sqlite3_bind_text(s, i++, rec->registration_date, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int(s, i++, (int)rec->id_status);
    ok |= sqlite3_bind_int(s, i++, (int)rec->sex);
    ok |= sqlite3_bind_int(s, i++, rec->age);
    ok |= sqlite3_bind_int(s, i++, (int)rec->age_band);
    ok |= sqlite3_bind_int(s, i++, (int)rec->majority_at_exploitation);
    ok |= sqlite3_bind_text(s, i++, rec->citizenship, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int(s, i++, (int)rec->citizenship_state);
    ok |= sqlite3_bind_text(s, i++, rec->country_of_exploitation, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int(s, i++, (int)rec->country_of_exploitation_state);
    ok |= sqlite3_bind_int64(s, i++, rec->exploitation);
    ok |= sqlite3_bind_int(s, i++, (int)rec->exploitation_state);
    ok |= sqlite3_bind_int64(s, i++, rec->sexual_types);
    ok |= sqlite3_bind_int64(s, i++, rec->labour_sectors);
    ok |= sqlite3_bind_int64(s, i++, rec->means_of_control);
    ok |= sqlite3_bind_int(s, i++, (int)rec->means_of_control_state);
    ok |= sqlite3_bind_int64(s, i++, rec->recruiter_relation);
    ok |= sqlite3_bind_int(s, i++, (int)rec->recruiter_relation_state);
    /* Every bind returns SQLITE_OK (0) or an error code; OR-ing keeps any failure. */
    return ok;
}

/* The row at @p line repeats a case id of its list: say where the first one is. */
static int
quarantine_duplicate(rp_store__writer *w, const rp_case_record *rec, long line, rp_error *err)
{
    sqlite3_stmt *f = w->find_case;
    long long other = 0;
    if (sqlite3_bind_text(f, 1, rec->list, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(f, 2, rec->case_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        int rc = rp_store__sql_error(err, w->st->db, "cannot look up a case id");
        sqlite3_reset(f);
        return rc;
    }
    int s = sqlite3_step(f);
    if (s == SQLITE_ROW) {
        other = sqlite3_column_int64(f, 0);
    } else if (s != SQLITE_DONE) {
        int rc = rp_store__sql_error(err, w->st->db, "cannot look up a case id");
        sqlite3_reset(f);
        return rc;
    }
    sqlite3_reset(f);

    /* The case id itself is a (pseudonymous) identifier: it is not copied. */
    rp_issue is;
    memset(&is, 0, sizeof(is));
    is.line = line;
    rp_x_strlcpy(is.column_name, "case_id", sizeof(is.column_name));
    rp_x_strlcpy(is.rule, "duplicate", sizeof(is.rule));
    if (other == w->submission_id) {
        snprintf(is.message, sizeof(is.message),
                 "case id repeats an earlier row of this file for list '%s'", rec->list);
    } else {
        snprintf(is.message, sizeof(is.message),
                 "case id already stored for list '%s' (submission %lld)", rec->list, other);
    }
    int rc = insert_quarantine(w, line, &is, 1, err);
    if (rc == RP_OK) {
        w->read++;
        w->quarantined++;
    }
    return rc;
}

int rp_store__writer_add(
    rp_store__writer *w, const rp_case_record *rec, long line, bool *stored, rp_error *err)
{
    sqlite3_stmt *s = w->ins_case;
    if (stored != NULL) {
        *stored = false;
    }
    if (sqlite3_bind_int64(s, 1, w->submission_id) != SQLITE_OK ||
        bind_record(s, 2, rec) != SQLITE_OK) {
        int rc = rp_store__sql_error(err, w->st->db, "cannot store a record");
        sqlite3_reset(s);
        return rc;
    }
    /*
     * A constraint failure aborts this statement only (ON CONFLICT ABORT): the
     * transaction and everything before it stay, so no savepoint per row is needed.
     */
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step == SQLITE_DONE) {
        w->read++;
        w->stored++;
        if (stored != NULL) {
            *stored = true;
        }
        return RP_OK;
    }
    if (step == SQLITE_CONSTRAINT_UNIQUE) {
        return quarantine_duplicate(w, rec, line, err);
    }
    return rp_store__sql_error(err, w->st->db, "cannot store a record");
}

int rp_store__writer_commit(rp_store__writer *w, rp_import_report *report, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, w->st,
                               "UPDATE submissions SET rows_read = ?1, rows_stored = ?2,"
                               " rows_quarantined = ?3 WHERE id = ?4",
                               err);
    if (rc != RP_OK) {
        goto out;
    }
    if (sqlite3_bind_int64(stmt, 1, w->read) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, w->stored) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 3, w->quarantined) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 4, w->submission_id) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, w->st->db, "cannot record the import counts");
        goto out;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    /* Statements are finalized before COMMIT so that none holds a read open. */
    sqlite3_finalize(w->ins_case);
    sqlite3_finalize(w->ins_quarantine);
    sqlite3_finalize(w->ins_reason);
    sqlite3_finalize(w->find_case);
    w->ins_case = w->ins_quarantine = w->ins_reason = w->find_case = NULL;
    rc = rp_store__exec(w->st, "COMMIT", "cannot commit the import", err);
    if (rc != RP_OK) {
        goto out;
    }
    w->in_txn = false;
    if (report != NULL) {
        report->submission_id = w->submission_id;
        report->read = w->read;
        report->stored = w->stored;
        report->quarantined = w->quarantined;
    }
out:
    sqlite3_finalize(stmt);
    writer_free(w);
    return rc;
}

void rp_store__writer_abort(rp_store__writer *w)
{
    writer_free(w);
}
