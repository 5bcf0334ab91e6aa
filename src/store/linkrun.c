/*
 * Saving a linkage run (issue 6): rp_store_link_save() records the run, its scored pairs
 * with their decisions and each record's person in one transaction, and gives every
 * record of the run the person id "L<run>-<person>", which is what capture histories
 * (rp_store_capture_set) count persons by. Clerical review: rp_store_link_decide()
 * appends verdicts to the decision log, rp_store_link_decisions() gives the verdict in
 * force on each pair, from the log and from the verdicts on saved runs' pairs.
 *
 * The decision log is a table of its own, link_decisions, created on first use (CREATE
 * TABLE IF NOT EXISTS inside the writing transaction, as the serve and recs modules
 * create theirs) rather than by a schema migration, so that stores of schema 2 need no
 * upgrade. Rows are never updated or deleted: they are the audit trail.
 */
#include "store/store_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

/* Longest method name, bytes. */
#define METHOD_MAX 64

/* For qsort and bsearch over cases.id values. */
static int cmp_row(const void *a, const void *b)
{
    long long x = *(const long long *)a;
    long long y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* NULL or the text of a JSON object. */
static bool is_json_object(const char *text)
{
    if (text == NULL) {
        return true;
    }
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(v);
    json_decref(v);
    return ok;
}

/* The fields of @p run that need no store: method, JSON texts, arrays, decisions. */
static int check_run(const rp_link_run *run, rp_error *err)
{
    if (run->method == NULL || run->method[0] == '\0' || strlen(run->method) >= METHOD_MAX) {
        return rp_error_set(err, RP_EINVAL, "a linkage run needs a method name of 1 to %d bytes",
                            METHOD_MAX - 1);
    }
    if (!is_json_object(run->params_json)) {
        return rp_error_set(err, RP_EINVAL, "the run's parameters are not a JSON object");
    }
    if (!is_json_object(run->report_json)) {
        return rp_error_set(err, RP_EINVAL, "the run's report is not a JSON object");
    }
    if (run->n_records > 0 && (run->case_row == NULL || run->person == NULL)) {
        return rp_error_set(err, RP_EINVAL, "the run's records or persons are missing");
    }
    if (run->n_pairs > 0 && (run->pair_a == NULL || run->pair_b == NULL || run->score == NULL ||
                             run->decision == NULL)) {
        return rp_error_set(err, RP_EINVAL, "the run's pairs are incomplete");
    }
    for (size_t i = 0; i < run->n_pairs; i++) {
        if (run->decision[i] > RP_LINK_REJECTED) {
            return rp_error_set(err, RP_EINVAL, "pair %zu has an unknown decision %u", i,
                                (unsigned)run->decision[i]);
        }
        if (!isfinite(run->score[i])) {
            return rp_error_set(err, RP_EINVAL, "pair %zu has a score that is not a number", i);
        }
        if (run->pair_a[i] == run->pair_b[i]) {
            return rp_error_set(err, RP_EINVAL, "pair %zu links case row %lld with itself", i,
                                run->pair_a[i]);
        }
    }
    return RP_OK;
}

/*
 * Each record once, and each pair between records of the run: @p sorted gets the
 * run's case rows in order (n_records of them).
 */
static int check_members(const rp_link_run *run, long long *sorted, rp_error *err)
{
    if (run->n_records > 0) {
        memcpy(sorted, run->case_row, run->n_records * sizeof(*sorted));
        qsort(sorted, run->n_records, sizeof(*sorted), cmp_row);
    }
    for (size_t i = 1; i < run->n_records; i++) {
        if (sorted[i] == sorted[i - 1]) {
            return rp_error_set(err, RP_EINVAL, "case row %lld appears twice in the run",
                                sorted[i]);
        }
    }
    for (size_t i = 0; i < run->n_pairs; i++) {
        const long long *ends[2] = {&run->pair_a[i], &run->pair_b[i]};
        for (int e = 0; e < 2; e++) {
            if (bsearch(ends[e], sorted, run->n_records, sizeof(*sorted), cmp_row) == NULL) {
                return rp_error_set(err, RP_EINVAL,
                                    "pair %zu names case row %lld, which is not a record of "
                                    "the run",
                                    i, *ends[e]);
            }
        }
    }
    return RP_OK;
}

/* The run's row in link_runs; *run_id its id. */
static int insert_run(long long *run_id, rp_store *st, const rp_link_run *run, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO link_runs (created_at, method, params, report,"
                               " n_records, n_pairs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    char when[32];
    rp_store__now_utc(when, sizeof(when));
    int ok = sqlite3_bind_text(stmt, 1, when, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 2, run->method, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 3, run->params_json != NULL ? run->params_json : "{}", -1,
                            SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 4, run->report_json != NULL ? run->report_json : "{}", -1,
                            SQLITE_STATIC);
    ok |= sqlite3_bind_int64(stmt, 5, (sqlite3_int64)run->n_records);
    ok |= sqlite3_bind_int64(stmt, 6, (sqlite3_int64)run->n_pairs);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot record the linkage run");
    } else {
        *run_id = sqlite3_last_insert_rowid(st->db);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Each record's person: link_members, and cases.person_id "L<run>-<person>". */
static int save_members(rp_store *st, long long run_id, const rp_link_run *run, rp_error *err)
{
    sqlite3_stmt *upd = NULL;
    sqlite3_stmt *ins = NULL;
    int rc = rp_store__prepare(&upd, st, "UPDATE cases SET person_id = ?1 WHERE id = ?2", err);
    if (rc == RP_OK) {
        rc = rp_store__prepare(&ins, st,
                               "INSERT INTO link_members (run_id, case_row, person)"
                               " VALUES (?1, ?2, ?3)",
                               err);
    }
    for (size_t i = 0; rc == RP_OK && i < run->n_records; i++) {
        char pid[RP_DATA_ID_MAX];
        snprintf(pid, sizeof(pid), "L%lld-%lu", run_id, (unsigned long)run->person[i]);
        int ok = sqlite3_bind_text(upd, 1, pid, -1, SQLITE_TRANSIENT);
        ok |= sqlite3_bind_int64(upd, 2, run->case_row[i]);
        if (ok != SQLITE_OK || sqlite3_step(upd) != SQLITE_DONE) {
            rc = rp_store__sql_error(err, st->db, "cannot record a person id");
            break;
        }
        sqlite3_reset(upd);
        if (sqlite3_changes(st->db) == 0) {
            rc = rp_error_set(err, RP_EINVAL, "case row %lld of the run is not in the store",
                              run->case_row[i]);
            break;
        }
        ok = sqlite3_bind_int64(ins, 1, run_id);
        ok |= sqlite3_bind_int64(ins, 2, run->case_row[i]);
        ok |= sqlite3_bind_int64(ins, 3, (sqlite3_int64)run->person[i]);
        if (ok != SQLITE_OK || sqlite3_step(ins) != SQLITE_DONE) {
            rc = rp_store__sql_error(err, st->db, "cannot record a member of the run");
        }
        sqlite3_reset(ins);
    }
    sqlite3_finalize(upd);
    sqlite3_finalize(ins);
    return rc;
}

/* The scored pairs with their decisions. */
static int save_pairs(rp_store *st, long long run_id, const rp_link_run *run, rp_error *err)
{
    sqlite3_stmt *ins = NULL;
    int rc = rp_store__prepare(&ins, st,
                               "INSERT INTO link_pairs (run_id, case_a, case_b, score, decision)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               err);
    for (size_t i = 0; rc == RP_OK && i < run->n_pairs; i++) {
        int ok = sqlite3_bind_int64(ins, 1, run_id);
        ok |= sqlite3_bind_int64(ins, 2, run->pair_a[i]);
        ok |= sqlite3_bind_int64(ins, 3, run->pair_b[i]);
        ok |= sqlite3_bind_double(ins, 4, run->score[i]);
        ok |= sqlite3_bind_int(ins, 5, (int)run->decision[i]);
        int s = ok == SQLITE_OK ? sqlite3_step(ins) : SQLITE_ERROR;
        if (s == SQLITE_CONSTRAINT_PRIMARYKEY) {
            rc = rp_error_set(err, RP_EINVAL, "pair %zu repeats an earlier pair of the run", i);
        } else if (s != SQLITE_DONE) {
            rc = rp_store__sql_error(err, st->db, "cannot record a pair of the run");
        }
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    return rc;
}

int rp_store_link_save(long long *run_id, rp_store *st, const rp_link_run *run, rp_error *err)
{
    long long *sorted = NULL;
    long long id = 0;
    bool in_txn = false;
    if (run_id != NULL) {
        *run_id = 0;
    }
    if (st == NULL || run == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or linkage run given");
    }
    int rc = check_run(run, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (st->readonly) {
        return rp_error_set(err, RP_EPERM, "store '%s' is open read-only", st->path);
    }
    sorted = rp_calloc(run->n_records > 0 ? run->n_records : 1, sizeof(*sorted));
    if (sorted == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rc = check_members(run, sorted, err);
    if (rc != RP_OK) {
        goto out;
    }
    rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start saving the linkage run", err);
    if (rc != RP_OK) {
        goto out;
    }
    in_txn = true;
    rc = insert_run(&id, st, run, err);
    if (rc == RP_OK) {
        rc = save_members(st, id, run, err);
    }
    if (rc == RP_OK) {
        rc = save_pairs(st, id, run, err);
    }
    if (rc == RP_OK) {
        rc = rp_store__exec(st, "COMMIT", "cannot commit the linkage run", err);
    }
    if (rc == RP_OK) {
        in_txn = false;
        if (run_id != NULL) {
            *run_id = id;
        }
    }
out:
    if (in_txn) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    rp_free(sorted);
    return rc;
}

/* ==== clerical-review verdicts ==== */

static const char decisions_ddl[] =
    "CREATE TABLE IF NOT EXISTS link_decisions ("
    "  id INTEGER PRIMARY KEY,"
    "  case_a INTEGER NOT NULL REFERENCES cases (id),"
    "  case_b INTEGER NOT NULL REFERENCES cases (id),"
    "  decision INTEGER NOT NULL,"
    "  author TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  run_id INTEGER REFERENCES link_runs (id),"
    "  decided_at TEXT NOT NULL,"
    "  CHECK (case_a < case_b)"
    ");"
    "CREATE INDEX IF NOT EXISTS link_decisions_pair ON link_decisions (case_a, case_b);";

/* 1 to RP_LINK_AUTHOR_MAX - 1 bytes, no control characters. */
static bool good_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) >= RP_LINK_AUTHOR_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* Does the row @p id exist (statement: one parameter, a row when it does)? */
static int row_exists(bool *yes, sqlite3_stmt *stmt, rp_store *st, long long id, rp_error *err)
{
    sqlite3_reset(stmt);
    if (sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK)
        return rp_store__sql_error(err, st->db, "cannot look up a record");
    int s = sqlite3_step(stmt);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return rp_store__sql_error(err, st->db, "cannot look up a record");
    *yes = s == SQLITE_ROW;
    return RP_OK;
}

/* The verdicts' records and runs are in the store. */
static int check_reviews(rp_store *st, const rp_link_review *rev, size_t n, rp_error *err)
{
    sqlite3_stmt *cs = NULL;
    sqlite3_stmt *rs = NULL;
    int rc = rp_store__prepare(&cs, st, "SELECT 1 FROM cases WHERE id = ?1", err);
    if (rc == RP_OK)
        rc = rp_store__prepare(&rs, st, "SELECT 1 FROM link_runs WHERE id = ?1", err);
    for (size_t i = 0; rc == RP_OK && i < n; i++) {
        const long long ends[2] = {rev[i].case_a, rev[i].case_b};
        for (int e = 0; rc == RP_OK && e < 2; e++) {
            bool yes = false;
            rc = row_exists(&yes, cs, st, ends[e], err);
            if (rc == RP_OK && !yes)
                rc = rp_error_set(err, RP_EINVAL,
                                  "verdict %zu names case row %lld, which is not "
                                  "in the store",
                                  i, ends[e]);
        }
        if (rc == RP_OK && rev[i].run_id != 0) {
            bool yes = false;
            rc = row_exists(&yes, rs, st, rev[i].run_id, err);
            if (rc == RP_OK && !yes)
                rc = rp_error_set(err, RP_EINVAL,
                                  "verdict %zu names linkage run %lld, which is "
                                  "not in the store",
                                  i, rev[i].run_id);
        }
    }
    sqlite3_finalize(cs);
    sqlite3_finalize(rs);
    return rc;
}

static int check_decide_args(
    const rp_link_review *rev, size_t n, const char *author, const char *source, rp_error *err)
{
    if (n > 0 && rev == NULL)
        return rp_error_set(err, RP_EINVAL, "no verdicts given");
    if (!good_name(author))
        return rp_error_set(err, RP_EINVAL,
                            "a verdict needs an author of 1 to %d bytes without control "
                            "characters",
                            RP_LINK_AUTHOR_MAX - 1);
    if (!good_name(source))
        return rp_error_set(err, RP_EINVAL,
                            "a verdict needs a source of 1 to %d bytes without control "
                            "characters",
                            RP_LINK_AUTHOR_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        if (rev[i].decision != RP_LINK_ACCEPTED && rev[i].decision != RP_LINK_REJECTED)
            return rp_error_set(err, RP_EINVAL, "verdict %zu is neither accepted nor rejected", i);
        if (rev[i].case_a == rev[i].case_b)
            return rp_error_set(err, RP_EINVAL, "verdict %zu pairs case row %lld with itself", i,
                                rev[i].case_a);
        if (rev[i].run_id < 0)
            return rp_error_set(err, RP_EINVAL, "verdict %zu names a negative run", i);
    }
    return RP_OK;
}

static int insert_reviews(rp_store *st,
                          const rp_link_review *rev,
                          size_t n,
                          const char *author,
                          const char *source,
                          rp_error *err)
{
    sqlite3_stmt *ins = NULL;
    int rc = rp_store__prepare(&ins, st,
                               "INSERT INTO link_decisions (case_a, case_b, decision, author,"
                               " source, run_id, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    char when[32];
    rp_store__now_utc(when, sizeof(when));
    for (size_t i = 0; rc == RP_OK && i < n; i++) {
        long long a = rev[i].case_a < rev[i].case_b ? rev[i].case_a : rev[i].case_b;
        long long b = rev[i].case_a < rev[i].case_b ? rev[i].case_b : rev[i].case_a;
        int ok = sqlite3_bind_int64(ins, 1, a);
        ok |= sqlite3_bind_int64(ins, 2, b);
        ok |= sqlite3_bind_int(ins, 3, (int)rev[i].decision);
        ok |= sqlite3_bind_text(ins, 4, author, -1, SQLITE_STATIC);
        ok |= sqlite3_bind_text(ins, 5, source, -1, SQLITE_STATIC);
        ok |= rev[i].run_id != 0 ? sqlite3_bind_int64(ins, 6, rev[i].run_id)
                                 : sqlite3_bind_null(ins, 6);
        ok |= sqlite3_bind_text(ins, 7, when, -1, SQLITE_STATIC);
        if (ok != SQLITE_OK || sqlite3_step(ins) != SQLITE_DONE)
            rc = rp_store__sql_error(err, st->db, "cannot record a review verdict");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    return rc;
}

int rp_store_link_decide(rp_store *st,
                         const rp_link_review *rev,
                         size_t n,
                         const char *author,
                         const char *source,
                         rp_error *err)
{
    if (st == NULL)
        return rp_error_set(err, RP_EINVAL, "no store given");
    int rc = check_decide_args(rev, n, author, source, err);
    if (rc != RP_OK)
        return rc;
    if (st->readonly)
        return rp_error_set(err, RP_EPERM, "store '%s' is open read-only", st->path);
    if (n == 0)
        return RP_OK;
    rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start recording the verdicts", err);
    if (rc != RP_OK)
        return rc;
    rc = check_reviews(st, rev, n, err);
    if (rc == RP_OK)
        rc = rp_store__exec(st, decisions_ddl, "cannot create the decision log", err);
    if (rc == RP_OK)
        rc = insert_reviews(st, rev, n, author, source, err);
    if (rc == RP_OK)
        rc = rp_store__exec(st, "COMMIT", "cannot commit the verdicts", err);
    if (rc != RP_OK)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/*
 * Every verdict by pair, then by time: the log's and the runs' (dated by the run), the
 * log after a run at the same second, then in order of writing. The last row of each
 * pair is the verdict in force.
 */
static const char verdicts_sql[] =
    "SELECT a, b, decision, run FROM ("
    " SELECT min(p.case_a, p.case_b) AS a, max(p.case_a, p.case_b) AS b, p.decision,"
    "  r.created_at AS t, 0 AS src, p.run_id AS seq, p.run_id AS run"
    "  FROM link_pairs p JOIN link_runs r ON r.id = p.run_id WHERE p.decision IN (3, 4)"
    " UNION ALL"
    " SELECT case_a, case_b, decision, decided_at, 1, id, coalesce(run_id, 0)"
    "  FROM link_decisions"
    ") ORDER BY a, b, t, src, seq";

static const char verdicts_runs_sql[] =
    "SELECT min(p.case_a, p.case_b) AS a, max(p.case_a, p.case_b) AS b, p.decision, p.run_id"
    " FROM link_pairs p JOIN link_runs r ON r.id = p.run_id WHERE p.decision IN (3, 4)"
    " ORDER BY a, b, r.created_at, p.run_id";

static int has_decision_log(bool *yes, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                               " AND name = 'link_decisions'",
                               err);
    if (rc != RP_OK)
        return rc;
    int s = sqlite3_step(stmt);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot look for the decision log");
    *yes = s == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return rc;
}

int rp_store_link_decisions(rp_link_review **out, size_t *n_out, rp_store *st, rp_error *err)
{
    rp_link_review *v = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = NULL;
    bool log = false;
    if (out == NULL || n_out == NULL || st == NULL)
        return rp_error_set(err, RP_EINVAL, "no store or output given");
    *out = NULL;
    *n_out = 0;
    int rc = has_decision_log(&log, st, err);
    if (rc == RP_OK)
        rc = rp_store__prepare(&stmt, st, log ? verdicts_sql : verdicts_runs_sql, err);
    int s = SQLITE_DONE;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        rp_link_review r = {sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                            (uint8_t)sqlite3_column_int(stmt, 2), sqlite3_column_int64(stmt, 3)};
        if (n > 0 && v[n - 1].case_a == r.case_a && v[n - 1].case_b == r.case_b) {
            v[n - 1] = r; /* a later verdict on the same pair */
            continue;
        }
        if (rp_x_grow(&v, &cap, n + 1, sizeof(*v)) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        v[n++] = r;
    }
    if (rc == RP_OK && s != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot read the review verdicts");
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        rp_free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return RP_OK;
}
