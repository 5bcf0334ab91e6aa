/*
 * Saving a linkage run (issue 6): rp_store_link_save() records the run, its scored pairs
 * with their decisions and each record's person in one transaction, and gives every
 * record of the run the person id "L<run>-<person>", which is what capture histories
 * (rp_store_capture_set) count persons by.
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
