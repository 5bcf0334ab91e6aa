/*
 * Read-only queries of the report module (src/report): every stored record in person
 * order for the tables, and the privacy-budget ledger of differentially private
 * releases (table privacy_budget, created here IF NOT EXISTS until a store migration
 * takes it over).
 */
#include "report/report_int.h"
#include "store/store_int.h"

#include <math.h>

int rp_store__report_any_person(bool *out, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *out = false;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT EXISTS (SELECT 1 FROM cases WHERE person_id <> '')", err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot look for person ids");
    } else {
        *out = sqlite3_column_int(stmt, 0) != 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_store__report_each(rp_store *st,
                          bool by_person,
                          int (*fn)(const rp_case_record *rec, void *payload, rp_error *err),
                          void *payload,
                          rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__exec(st, "BEGIN", "cannot start reading the store", err);
    if (rc != RP_OK) {
        return rc;
    }
    /* Persons: the same order as rp_store_capture_set(), so that a person's first record
     * (which gives their attributes) is the same there and here. */
    const char *sql = by_person ? "SELECT " RP_STORE_CASE_COLUMNS " FROM cases"
                                  " ORDER BY person_id, registration_year = 0,"
                                  " registration_year, id"
                                : "SELECT " RP_STORE_CASE_COLUMNS " FROM cases ORDER BY id";
    rc = rp_store__prepare(&stmt, st, sql, err);
    int s = SQLITE_ROW;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        rp_case_record rec;
        rp_store__row_record(&rec, stmt, 0);
        rc = fn(&rec, payload, err);
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the records");
    }
    sqlite3_finalize(stmt);
    /* A read transaction: ending it cannot lose anything. */
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

/* ==== privacy budget ==== */

/* Until a migration of the store schema creates it. */
static const char budget_schema[] = "CREATE TABLE IF NOT EXISTS privacy_budget ("
                                    "  id INTEGER PRIMARY KEY,"
                                    "  released_at TEXT NOT NULL,"
                                    "  label TEXT NOT NULL DEFAULT '',"
                                    "  mechanism TEXT NOT NULL,"
                                    "  epsilon REAL NOT NULL DEFAULT 0,"
                                    "  rho REAL NOT NULL DEFAULT 0"
                                    ")";

/* True when the privacy_budget table exists. */
static int budget_table_exists(bool *out, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT count(*) FROM sqlite_master"
                               " WHERE type = 'table' AND name = 'privacy_budget'",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the privacy budget");
    } else {
        *out = sqlite3_column_int(stmt, 0) > 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Sum the ledger into @p out (which the caller zeroed). */
static int budget_sum(rp_budget *out, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT count(*), total(epsilon), total(rho),"
                               " total(epsilon * epsilon) FROM privacy_budget",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the privacy budget");
    } else {
        out->releases = (size_t)sqlite3_column_int64(stmt, 0);
        out->epsilon = sqlite3_column_double(stmt, 1);
        /* epsilon-DP implies (epsilon^2 / 2)-zCDP (Bun & Steinke 2016, Prop. 1.4) */
        out->rho = sqlite3_column_double(stmt, 2) + 0.5 * sqlite3_column_double(stmt, 3);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_report_budget_spent(rp_budget *out, rp_store *st, rp_error *err)
{
    bool exists = false;
    if (out == NULL || st == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or output given");
    }
    memset(out, 0, sizeof(*out));
    int rc = budget_table_exists(&exists, st, err);
    if (rc == RP_OK && exists) {
        rc = budget_sum(out, st, err);
    }
    return rc;
}

/* Insert one release into the ledger. */
static int budget_insert(rp_store *st, const char *label, double epsilon, double rho, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO privacy_budget (released_at, label, mechanism,"
                               " epsilon, rho) VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),"
                               " ?1, ?2, ?3, ?4)",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_bind_text(stmt, 1, label != NULL ? label : "", -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 2, epsilon > 0 ? "discrete_laplace" : "discrete_gaussian", -1,
                          SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_double(stmt, 3, epsilon) != SQLITE_OK ||
        sqlite3_bind_double(stmt, 4, rho) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot record the release");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* The check of rp_report_budget_charge() on the budget @p b after the release. */
static int over_cap(const rp_budget *b, double epsilon_cap, double rho_cap, rp_error *err)
{
    if (epsilon_cap > 0 && b->epsilon > epsilon_cap) {
        return rp_error_set(err, RP_EPERM,
                            "privacy budget exceeded: epsilon would total %g, the cap is %g",
                            b->epsilon, epsilon_cap);
    }
    if (rho_cap > 0 && b->rho > rho_cap) {
        return rp_error_set(err, RP_EPERM,
                            "privacy budget exceeded: rho (zCDP) would total %g, the cap is %g",
                            b->rho, rho_cap);
    }
    return RP_OK;
}

int rp_report_budget_charge(rp_budget *after,
                            rp_store *st,
                            const char *label,
                            double epsilon,
                            double rho,
                            double epsilon_cap,
                            double rho_cap,
                            rp_error *err)
{
    rp_budget b;
    bool in_txn = false;
    if (st == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store given");
    }
    if (!(epsilon >= 0) || !(rho >= 0) || isinf(epsilon) || isinf(rho) ||
        (epsilon > 0) == (rho > 0) || !(epsilon_cap >= 0) || !(rho_cap >= 0)) {
        return rp_error_set(err, RP_EINVAL,
                            "a release spends either epsilon or rho, positive and finite");
    }
    if (st->readonly) {
        return rp_error_set(err, RP_EPERM, "store '%s' is open read-only", st->path);
    }
    int rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start recording the release", err);
    if (rc != RP_OK) {
        return rc;
    }
    in_txn = true;
    rc = rp_store__exec(st, budget_schema, "cannot create the privacy budget table", err);
    if (rc != RP_OK) {
        goto out;
    }
    memset(&b, 0, sizeof(b));
    rc = budget_sum(&b, st, err);
    if (rc != RP_OK) {
        goto out;
    }
    b.releases++;
    b.epsilon += epsilon;
    b.rho += rho + 0.5 * epsilon * epsilon;
    rc = over_cap(&b, epsilon_cap, rho_cap, err);
    if (rc == RP_OK) {
        rc = budget_insert(st, label, epsilon, rho, err);
    }
    if (rc == RP_OK) {
        rc = rp_store__exec(st, "COMMIT", "cannot record the release", err);
        in_txn = rc != RP_OK;
    }
out:
    if (in_txn) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == RP_OK && after != NULL) {
        *after = b;
    }
    return rc;
}
