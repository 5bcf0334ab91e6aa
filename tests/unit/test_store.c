/*
 * Unit tests for the store (src/store): creating, reopening and recognising store files,
 * schema versions, importing the fixtures of tests/fixtures/store (counts, duplicate
 * files and case ids, quarantine reasons), exports, counts by field, capture histories
 * against tables worked out by hand (tests/fixtures/store/README.md), rollback of an
 * unusable file, and a process killed in the middle of an import.
 */
#include "rp_test.h"
#include "store/store_int.h"

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>
#include <rapporteur/store.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/* ==== helpers ==== */

/* A temporary directory with a store path in it, made by setup and removed by teardown. */
typedef struct fixture {
    char dir[512];
    char db[600];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    rp_test_tmpdir(fx->dir, sizeof(fx->dir));
    snprintf(fx->db, sizeof(fx->db), "%s/test.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    rp_test_rmtree(fx->dir);
    free(fx);
    return 0;
}

static rp_mapping *load_mapping(void)
{
    char path[1024];
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(
        rp_mapping_load(&m, rp_test_fixture(path, sizeof(path), "store/mapping.json"), &err), &err);
    return m;
}

/* Import fixture @p rel into @p st; returns the status and fills @p rep. */
static int import_fixture(
    rp_store *st, const char *rel, rp_import_report *rep, const rp_import_opts *opts, rp_error *err)
{
    char path[1024];
    rp_mapping *m = load_mapping();
    int rc = rp_store_import(rep, st, rp_test_fixture(path, sizeof(path), rel), m, opts, err);
    rp_mapping_free(m);
    return rc;
}

/* A new store with cases.csv imported. */
static rp_store *store_with_cases(const fixture *fx)
{
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, NULL, &err), &err);
    return st;
}

/* The whole CSV export of @p st (malloc'd). */
static char *export_text(rp_store *st, rp_export_format format, const char *list)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_export(st, f, format, list, &err), &err);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Rows in each table, as "submissions/cases/quarantine/reasons". */
static void table_counts(rp_store *st, char *out, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db,
                                        "SELECT (SELECT count(*) FROM submissions),"
                                        " (SELECT count(*) FROM cases),"
                                        " (SELECT count(*) FROM quarantine),"
                                        " (SELECT count(*) FROM quarantine_reasons)",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(out, size, "%lld/%lld/%lld/%lld", sqlite3_column_int64(stmt, 0),
             sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2),
             sqlite3_column_int64(stmt, 3));
    sqlite3_finalize(stmt);
}

/* Run one SQL statement on a raw connection to @p path (outside rapporteur). */
static void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        fail_msg("sql failed: %s", msg != NULL ? msg : "?");
    }
    sqlite3_close(db);
}

/* ==== opening ==== */

static void store_open__absent_without_create_is_not_found(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_store_open(&st, fx->db, 0, &err), RP_ENOTFOUND, &err);
    assert_null(st);
    assert_non_null(strstr(err.msg, "does not exist"));
    struct stat sb;
    assert_int_not_equal(stat(fx->db, &sb), 0); /* not created */
}

static void store_open__creates_file_mode_0600_at_current_version(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    mode_t old = umask(0);
    int rc = rp_store_open(&st, fx->db, RP_STORE_CREATE, &err);
    umask(old);
    assert_rp_ok(rc, &err);
    assert_int_equal(rp_store_schema_version(st), RP_STORE_SCHEMA_VERSION);
    assert_int_equal(rp_store_schema_version(st), 2);
    struct stat sb;
    assert_int_equal(stat(fx->db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* WAL mode, foreign keys on, version recorded in meta */
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db,
                                        "SELECT (SELECT value FROM meta WHERE key ="
                                        " 'schema_version'), (SELECT journal_mode FROM"
                                        " pragma_journal_mode), (SELECT foreign_keys FROM"
                                        " pragma_foreign_keys)",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "2");
    assert_string_equal((const char *)sqlite3_column_text(stmt, 1), "wal");
    assert_int_equal(sqlite3_column_int(stmt, 2), 1);
    sqlite3_finalize(stmt);
    rp_store_close(st);

    /* reopen without CREATE, and read-only */
    st = NULL;
    assert_rp_ok(rp_store_open(&st, fx->db, 0, &err), &err);
    assert_int_equal(rp_store_schema_version(st), 2);
    rp_store_close(st);
    st = NULL;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), &err);
    rp_store_close(st);
}

static void store_open__refuses_other_sqlite_file(void **state)
{
    fixture *fx = *state;
    raw_sql(fx->db, "CREATE TABLE patients (name TEXT)");
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), RP_ESQL, &err);
    assert_null(st);
    assert_non_null(strstr(err.msg, "is not a rapporteur store"));
    /* the file is left as it was */
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void store_open__refuses_file_that_is_not_sqlite(void **state)
{
    fixture *fx = *state;
    FILE *f = fopen(fx->db, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++) {
        fputs("list,case_id\nPF,1\n", f);
    }
    fclose(f);
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_store_open(&st, fx->db, 0, &err), RP_ESQL, &err);
    assert_non_null(strstr(err.msg, "not an SQLite database"));
    assert_int_equal(err.sys_code, SQLITE_NOTADB);
}

static void store_open__refuses_newer_schema(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    rp_store_close(st);
    raw_sql(fx->db, "UPDATE meta SET value = '7' WHERE key = 'schema_version'");
    st = NULL;
    assert_rp_status(rp_store_open(&st, fx->db, 0, &err), RP_ESQL, &err);
    assert_null(st);
    assert_string_equal(err.msg, "store schema version 7 is newer than this program's 2");
}

/* ==== import ==== */

static void store_import__counts_reconcile(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    opts.agency = "Police";
    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, &opts, &err), &err);
    assert_int_equal(rep.submission_id, 1);
    assert_int_equal(rep.read, 12);
    assert_int_equal(rep.stored, 9);
    assert_int_equal(rep.quarantined, 3);
    assert_false(rep.duplicate);
    assert_int_equal(strlen(rep.sha256), 64);

    char counts[64];
    table_counts(st, counts, sizeof(counts));
    assert_string_equal(counts, "1/9/3/6"); /* reasons: 1 + 1 + 4 */
    rp_store_close(st);
}

typedef struct sub_seen {
    rp_submission s[4];
    int n;
} sub_seen;

static int on_submission(const rp_submission *s, void *payload)
{
    sub_seen *seen = payload;
    if (seen->n < 4) {
        seen->s[seen->n] = *s;
    }
    seen->n++;
    return 0;
}

static void store_import__same_file_is_detected(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    char before[64], after[64];
    table_counts(st, before, sizeof(before));

    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, NULL, &err), &err);
    assert_true(rep.duplicate);
    assert_int_equal(rep.duplicate_of, 1);
    assert_int_equal(rep.read, 0);
    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);

    /* allowed again: every row with a case id now repeats one of submission 1 */
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    opts.allow_reimport = true;
    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, &opts, &err), &err);
    assert_false(rep.duplicate);
    assert_int_equal(rep.submission_id, 2);
    assert_int_equal(rep.read, 12);
    assert_int_equal(rep.stored, 0);
    assert_int_equal(rep.quarantined, 12);

    sub_seen seen;
    memset(&seen, 0, sizeof(seen));
    assert_rp_ok(rp_store_submissions(st, on_submission, &seen, &err), &err);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.s[0].id, 1);
    assert_string_equal(seen.s[0].file_name, "cases.csv");
    assert_string_equal(seen.s[0].mapping, "store-test");
    assert_string_equal(seen.s[0].sha256, seen.s[1].sha256);
    assert_int_equal(seen.s[0].read, 12);
    assert_int_equal(seen.s[0].stored, 9);
    assert_int_equal(seen.s[0].quarantined, 3);
    assert_int_equal(strlen(seen.s[0].imported_at), 20); /* 2024-05-01T12:00:00Z */
    assert_int_equal(seen.s[0].imported_at[19], 'Z');
    assert_int_equal(seen.s[1].stored, 0);
    rp_store_close(st);
}

typedef struct q_seen {
    rp_quarantine_entry q[16];
    int n;
} q_seen;

static int on_quarantine(const rp_quarantine_entry *q, void *payload)
{
    q_seen *seen = payload;
    if (seen->n < 16) {
        seen->q[seen->n] = *q;
    }
    seen->n++;
    return 0;
}

static void store_quarantine__every_reason_with_its_line(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    q_seen seen;
    memset(&seen, 0, sizeof(seen));
    assert_rp_ok(rp_store_quarantine(st, 0, on_quarantine, &seen, &err), &err);
    assert_int_equal(seen.n, 6);
    for (int i = 0; i < seen.n; i++) {
        assert_int_equal(seen.q[i].submission_id, 1);
        assert_string_equal(seen.q[i].file_name, "cases.csv");
    }
    /* line 6: citizenship ZZ */
    assert_int_equal(seen.q[0].issue.line, 6);
    assert_string_equal(seen.q[0].issue.rule, "country");
    assert_string_equal(seen.q[0].issue.value, "ZZ");
    assert_int_equal(seen.q[0].issue.column, 7);
    assert_string_equal(seen.q[0].issue.column_name, "citizenship");
    /* line 8: case id N1 again in list NGO; the id itself is not copied */
    assert_int_equal(seen.q[1].issue.line, 8);
    assert_string_equal(seen.q[1].issue.rule, "duplicate");
    assert_string_equal(seen.q[1].issue.value, "");
    assert_string_equal(seen.q[1].issue.message,
                        "case id repeats an earlier row of this file for list 'NGO'");
    /* line 12: four reasons */
    for (int i = 2; i < 6; i++) {
        assert_int_equal(seen.q[i].issue.line, 12);
    }
    /* one submission only, and a submission with no quarantine */
    memset(&seen, 0, sizeof(seen));
    assert_rp_ok(rp_store_quarantine(st, 1, on_quarantine, &seen, &err), &err);
    assert_int_equal(seen.n, 6);
    memset(&seen, 0, sizeof(seen));
    assert_rp_ok(rp_store_quarantine(st, 2, on_quarantine, &seen, &err), &err);
    assert_int_equal(seen.n, 0);
    rp_store_close(st);
}

static void store_import__duplicate_case_id_across_files(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    char path[1024];
    snprintf(path, sizeof(path), "%s/more.csv", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("source,case,person,year,sex,age,citizenship,forms\n"
          "PF,P1,Q,2016,F,20,NG,sexual\n"  /* P1 is stored for PF: duplicate */
          "NGO,P1,R,2016,F,20,NG,sexual\n" /* same id, other list: fine */
          "PF,,S,2016,F,20,NG,sexual\n"    /* no case id: never a duplicate */
          "PF,,T,2016,F,20,NG,sexual\n",
          f);
    fclose(f);
    rp_mapping *m = load_mapping();
    assert_rp_ok(rp_store_import(&rep, st, path, m, NULL, &err), &err);
    rp_mapping_free(m);
    assert_int_equal(rep.read, 4);
    assert_int_equal(rep.stored, 3);
    assert_int_equal(rep.quarantined, 1);
    q_seen seen;
    memset(&seen, 0, sizeof(seen));
    assert_rp_ok(rp_store_quarantine(st, rep.submission_id, on_quarantine, &seen, &err), &err);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.q[0].issue.line, 2);
    assert_string_equal(seen.q[0].issue.message,
                        "case id already stored for list 'PF' (submission 1)");
    rp_store_close(st);
}

static void store_import__list_option_overrides_rows(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    opts.list = "ALL";
    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, &opts, &err), &err);
    /* one list now: N1 (line 8) still repeats line 5 */
    assert_int_equal(rep.stored, 9);
    assert_int_equal(rep.quarantined, 3);
    char *csv = export_text(st, RP_EXPORT_CSV, "ALL");
    char *none = export_text(st, RP_EXPORT_CSV, "PF");
    assert_non_null(strstr(csv, "\nALL,P1,A,"));
    assert_null(strchr(strchr(none, '\n') + 1, '\n')); /* header only */
    free(csv);
    free(none);
    rp_store_close(st);
}

static void store_import__refuses_readonly_store(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    rp_store_close(st);
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), &err);
    assert_rp_status(import_fixture(st, "store/cases.csv", &rep, NULL, &err), RP_EPERM, &err);
    rp_store_close(st);
}

/* ==== exports ==== */

static const char expected_csv[] =
    "list,case_id,person_id,registration_year,registration_date,id_status,sex,age,age_band,"
    "majority_at_exploitation,citizenship,country_of_exploitation,exploitation,sexual_types,"
    "labour_sectors,means_of_control,recruiter_relation\n"
    "PF,P1,A,2015,,identified,female,25,24-26,,NG,,sexual,,,,\n"
    "PF,P2,B,2016,,identified,male,17,9-17,,RO,,forced_labour,,,,\n"
    "PF,P3,,2016,,identified,unknown,,,,NA,,sexual;forced_labour,,,,\n"
    "NGO,N1,A,2014,,identified,female,24,24-26,,NG,,sexual,,,,\n"
    "NGO,N3,D,2015,,identified,male,40,39-47,,VN,,forced_criminality,,,,\n"
    "LI,\"L,1\",B,2016,,identified,male,17,9-17,,RO,,forced_labour,,,,\n"
    "LI,'@L2,D,2016,,identified,male,40,39-47,,VN,,forced_labour,,,,\n"
    "LI,L3,F,2016,,identified,,,,,,,,,,,\n"
    "LI,L4,A,2015,,identified,female,25,24-26,,NG,,sexual,,,,\n";

static void store_export__csv_exact(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    char *csv = export_text(st, RP_EXPORT_CSV, NULL);
    assert_string_equal(csv, expected_csv);
    free(csv);
    rp_store_close(st);
}

static void store_export__json_exact(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    char *json = export_text(st, RP_EXPORT_JSON, "PF");
    assert_string_equal(
        json,
        "[\n"
        "{\"list\":\"PF\",\"case_id\":\"P1\",\"person_id\":\"A\",\"registration_year\":2015,"
        "\"registration_date\":null,\"id_status\":\"identified\",\"sex\":\"female\",\"age\":25,"
        "\"age_band\":\"24-26\",\"majority_at_exploitation\":null,\"citizenship\":\"NG\","
        "\"country_of_exploitation\":null,\"exploitation\":[\"sexual\"],\"sexual_types\":null,"
        "\"labour_sectors\":null,\"means_of_control\":null,\"recruiter_relation\":null},\n"
        "{\"list\":\"PF\",\"case_id\":\"P2\",\"person_id\":\"B\",\"registration_year\":2016,"
        "\"registration_date\":null,\"id_status\":\"identified\",\"sex\":\"male\",\"age\":17,"
        "\"age_band\":\"9-17\",\"majority_at_exploitation\":null,\"citizenship\":\"RO\","
        "\"country_of_exploitation\":null,\"exploitation\":[\"forced_labour\"],"
        "\"sexual_types\":null,\"labour_sectors\":null,\"means_of_control\":null,"
        "\"recruiter_relation\":null},\n"
        "{\"list\":\"PF\",\"case_id\":\"P3\",\"person_id\":null,\"registration_year\":2016,"
        "\"registration_date\":null,\"id_status\":\"identified\",\"sex\":\"unknown\",\"age\":null,"
        "\"age_band\":null,\"majority_at_exploitation\":null,\"citizenship\":\"NA\","
        "\"country_of_exploitation\":null,\"exploitation\":[\"sexual\",\"forced_labour\"],"
        "\"sexual_types\":null,\"labour_sectors\":null,\"means_of_control\":null,"
        "\"recruiter_relation\":null}\n"
        "]\n");
    free(json);
    char *empty = export_text(st, RP_EXPORT_JSON, "NONE");
    assert_string_equal(empty, "[]\n");
    free(empty);
    rp_store_close(st);
}

static void store_export__csv_quotes_and_neutralises_formulas(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    rp_x_strlcpy(sub.file_name, "hand", sizeof(sub.file_name));
    rp_store__writer *w = NULL;
    assert_rp_ok(rp_store__writer_begin(&w, st, &sub, &err), &err);
    static const char *const ids[][2] = {
        {"=1+2", "+A"}, {"-3", "@B"}, {"x\"y", "p,q"}, {"line\nbreak", "a=b"}};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        rp_case_record rec;
        rp_case_record_init(&rec);
        rp_x_strlcpy(rec.list, "PF", sizeof(rec.list));
        rp_x_strlcpy(rec.case_id, ids[i][0], sizeof(rec.case_id));
        rp_x_strlcpy(rec.person_id, ids[i][1], sizeof(rec.person_id));
        rec.recruiter_relation_state = RP_STATE_UNKNOWN;
        rec.means_of_control = RP_CONTROL_THREATS | RP_CONTROL_NOT_SPECIFIED;
        rec.means_of_control_state = RP_STATE_KNOWN;
        bool stored = false;
        assert_rp_ok(rp_store__writer_add(w, &rec, (long)i + 2, &stored, &err), &err);
        assert_true(stored);
    }
    rp_import_report rep;
    assert_rp_ok(rp_store__writer_commit(w, &rep, &err), &err);
    assert_int_equal(rep.stored, 4);
    char *csv = export_text(st, RP_EXPORT_CSV, NULL);
    const char *body = strchr(csv, '\n') + 1;
    assert_string_equal(body, "PF,'=1+2,'+A,,,,,,,,,,,,,threats;not_specified,unknown\n"
                              "PF,'-3,'@B,,,,,,,,,,,,,threats;not_specified,unknown\n"
                              "PF,\"x\"\"y\",\"p,q\",,,,,,,,,,,,,threats;not_specified,unknown\n"
                              "PF,\"line\nbreak\",a=b,,,,,,,,,,,,,threats;not_specified,unknown\n");
    free(csv);
    rp_store_close(st);
}

/* ==== lists and counts ==== */

typedef struct counted {
    char text[512];
} counted;

static int on_count(const char *value, long long count, void *payload)
{
    counted *c = payload;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof(c->text) - n, "%s%s=%lld", n > 0 ? " " : "", value, count);
    return 0;
}

static void store_lists__records_per_list(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    counted c = {""};
    assert_rp_ok(rp_store_lists(st, on_count, &c, &err), &err);
    assert_string_equal(c.text, "LI=4 NGO=2 PF=3");
    rp_store_close(st);
}

static void store_stats__counts_by_field(void **state)
{
    static const struct {
        rp_field field;
        const char *expected;
    } cases[] = {
        {RP_FIELD_SEX, "=1 unknown=1 female=3 male=4"},
        {RP_FIELD_REGISTRATION_YEAR, "2014=1 2015=3 2016=5"},
        {RP_FIELD_AGE, "=2 17=2 24=1 25=2 40=2"},
        {RP_FIELD_AGE_BAND, "=2 9-17=2 24-26=3 39-47=2"},
        {RP_FIELD_CITIZENSHIP, "=1 NA=1 NG=3 RO=2 VN=2"},
        {RP_FIELD_EXPLOITATION, "=1 sexual=4 forced_labour=4 forced_criminality=1"},
        {RP_FIELD_LIST, "LI=4 NGO=2 PF=3"},
        {RP_FIELD_ID_STATUS, "identified=9"},
        {RP_FIELD_MEANS_OF_CONTROL, "=9"},
    };

    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        counted c = {""};
        assert_rp_ok(rp_store_stats(st, cases[i].field, on_count, &c, &err), &err);
        assert_string_equal(c.text, cases[i].expected);
    }
    counted c = {""};
    assert_rp_status(rp_store_stats(st, RP_FIELD_COUNT, on_count, &c, &err), RP_EINVAL, &err);
    rp_store_close(st);
}

static int stop_at_once(const char *value, long long count, void *payload)
{
    (void)value;
    (void)count;
    (void)payload;
    return 1;
}

static void store_stats__callback_stops(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_store_stats(st, RP_FIELD_SEX, stop_at_once, NULL, &err), RP_ECANCELED,
                     &err);
    assert_rp_status(rp_store_lists(st, stop_at_once, NULL, &err), RP_ECANCELED, &err);
    rp_store_close(st);
}

/* ==== capture histories ==== */

static void store_capture_set__hand_computed_table(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    rp_capture_set *set = NULL;
    long long unlinked = -1;

    /*
     * Lists in code order LI (bit 0), NGO (bit 1), PF (bit 2). Persons: A on all three
     * (7), B on LI and PF (5), D on LI and NGO (3), F on LI only (1).
     */
    assert_rp_ok(rp_store_capture_set(&set, &unlinked, st, NULL, 0, &err), &err);
    assert_int_equal(unlinked, 1);
    assert_int_equal(set->total->n_lists, 3);
    assert_string_equal(set->total->list_names[0], "LI");
    assert_string_equal(set->total->list_names[1], "NGO");
    assert_string_equal(set->total->list_names[2], "PF");
    static const double total[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    for (int w = 0; w < 8; w++) {
        assert_close(set->total->counts[w], total[w], 0, 0);
    }
    assert_int_equal(set->n_strata, 0);
    assert_int_equal(set->n_rows, 8);
    rp_capture_set_free(set);

    /* by year: A from 2014 (NGO), B 2016, D 2015 (NGO), F 2016 */
    const char *by[] = {"registration_year", "sex"};
    assert_rp_ok(rp_store_capture_set(&set, &unlinked, st, by, 1, &err), &err);
    assert_int_equal(set->n_strata, 3);
    assert_string_equal(set->stratum_labels[0], "registration_year=2014");
    assert_string_equal(set->stratum_labels[1], "registration_year=2015");
    assert_string_equal(set->stratum_labels[2], "registration_year=2016");
    static const double y2014[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    static const double y2015[8] = {0, 0, 0, 1, 0, 0, 0, 0};
    static const double y2016[8] = {0, 1, 0, 0, 0, 1, 0, 0};
    for (int w = 0; w < 8; w++) {
        assert_close(set->strata[0]->counts[w], y2014[w], 0, 0);
        assert_close(set->strata[1]->counts[w], y2015[w], 0, 0);
        assert_close(set->strata[2]->counts[w], y2016[w], 0, 0);
    }
    rp_capture_set_free(set);

    /* by year and sex: F has no sex recorded */
    assert_rp_ok(rp_store_capture_set(&set, NULL, st, by, 2, &err), &err);
    assert_int_equal(set->n_strata, 4);
    assert_string_equal(set->stratum_labels[0], "registration_year=2014,sex=female");
    assert_string_equal(set->stratum_labels[1], "registration_year=2015,sex=male");
    assert_string_equal(set->stratum_labels[2], "registration_year=2016,sex=");
    assert_string_equal(set->stratum_labels[3], "registration_year=2016,sex=male");
    assert_close(set->strata[2]->counts[1], 1, 0, 0);
    assert_close(set->strata[3]->counts[5], 1, 0, 0);
    rp_capture_set_free(set);

    const char *bad[] = {"shoe_size"};
    assert_rp_status(rp_store_capture_set(&set, NULL, st, bad, 1, &err), RP_EINVAL, &err);
    assert_null(set);
    rp_store_close(st);
}

static void store_capture_set__needs_two_linked_lists(void **state)
{
    fixture *fx = *state;
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_capture_set *set = NULL;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    assert_rp_status(rp_store_capture_set(&set, NULL, st, NULL, 0, &err), RP_EDATA, &err);
    assert_string_equal(err.msg,
                        "no stored record has a person id: capture histories need the same person "
                        "recognised on several lists (map a shared person identifier to "
                        "'person_id', or link the lists first)");

    /* one list only */
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    rp_x_strlcpy(sub.file_name, "hand", sizeof(sub.file_name));
    rp_store__writer *w = NULL;
    assert_rp_ok(rp_store__writer_begin(&w, st, &sub, &err), &err);
    rp_case_record rec;
    rp_case_record_init(&rec);
    rp_x_strlcpy(rec.list, "PF", sizeof(rec.list));
    rp_x_strlcpy(rec.person_id, "A", sizeof(rec.person_id));
    assert_rp_ok(rp_store__writer_add(w, &rec, 2, NULL, &err), &err);
    assert_rp_ok(rp_store__writer_commit(w, NULL, &err), &err);
    assert_rp_status(rp_store_capture_set(&set, NULL, st, NULL, 0, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "1 lists"));
    assert_null(set);
    rp_store_close(st);
}

/* ==== failures leave the store unchanged ==== */

static void store_import__unusable_file_rolls_back(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    char before[64], after[64];
    table_counts(st, before, sizeof(before));
    char *csv_before = export_text(st, RP_EXPORT_CSV, NULL);

    assert_rp_status(import_fixture(st, "store/bad_quote_at_end.csv", &rep, NULL, &err), RP_EPARSE,
                     &err);
    assert_int_equal(err.line, 7);

    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);
    char *csv_after = export_text(st, RP_EXPORT_CSV, NULL);
    assert_string_equal(csv_before, csv_after);
    free(csv_before);
    free(csv_after);

    /* the store still works */
    assert_rp_ok(import_fixture(st, "store/cases.csv", &rep, NULL, &err), &err);
    assert_true(rep.duplicate);
    rp_store_close(st);
}

static int cancel_at_once(size_t done, size_t total, void *payload)
{
    size_t *seen = payload;
    assert_true(total >= done);
    *seen = done;
    return 1;
}

static void store_import__progress_can_cancel(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    char before[64], after[64];
    table_counts(st, before, sizeof(before));
    char big[1024];
    snprintf(big, sizeof(big), "%s/many.csv", fx->dir);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    fputs("source,case,person,year,sex,age,citizenship,forms\n", f);
    for (int i = 0; i < 25000; i++) {
        fprintf(f, "PF,M%d,,2016,F,30,NG,sexual\n", i);
    }
    assert_int_equal(fclose(f), 0);

    rp_mapping *m = load_mapping();
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    size_t seen = 0;
    opts.progress = cancel_at_once;
    opts.payload = &seen;
    rp_import_report rep;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_store_import(&rep, st, big, m, &opts, &err), RP_ECANCELED, &err);
    assert_int_equal(seen, 10000);
    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);
    rp_mapping_free(m);
    rp_store_close(st);
}

/* Progress callback of the child: tell the parent once, then keep importing slowly. */
static int child_progress(size_t done, size_t total, void *payload)
{
    int *fd = payload;
    (void)total;
    if (*fd >= 0 && done > 0) {
        char c = 'x';
        if (write(*fd, &c, 1) != 1) {
            _exit(3);
        }
        close(*fd);
        *fd = -1;
    } else {
        struct timespec pause = {0, 100000000L};
        nanosleep(&pause, NULL);
    }
    return 0;
}

static void store_import__killed_process_leaves_store_unchanged(void **state)
{
    fixture *fx = *state;
    rp_store *st = store_with_cases(fx);
    char before[64], after[64];
    table_counts(st, before, sizeof(before));
    char *csv_before = export_text(st, RP_EXPORT_CSV, NULL);
    rp_store_close(st);
    st = NULL;

    char big[1024];
    snprintf(big, sizeof(big), "%s/big.csv", fx->dir);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    fputs("source,case,person,year,sex,age,citizenship,forms\n", f);
    for (int i = 0; i < 300000; i++) {
        fprintf(f, "%s,G%d,H%d,%d,%s,%d,NG,sexual\n", i % 3 == 0 ? "PF" : "NGO", i, i,
                2002 + i % 15, i % 2 != 0 ? "F" : "M", 18 + i % 50);
    }
    assert_int_equal(fclose(f), 0);
    char path[1024];
    rp_test_fixture(path, sizeof(path), "store/mapping.json");

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int wfd = fds[1];
        rp_store *cst = NULL;
        rp_mapping *m = NULL;
        rp_import_report rep;
        rp_import_opts opts = RP_IMPORT_OPTS_INIT;
        opts.progress = child_progress;
        opts.payload = &wfd;
        if (rp_store_open(&cst, fx->db, 0, NULL) != RP_OK ||
            rp_mapping_load(&m, path, NULL) != RP_OK) {
            _exit(2);
        }
        rp_store_import(&rep, cst, big, m, &opts, NULL);
        _exit(0); /* not reached when killed in time */
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1); /* the child is mid-import */
    close(fds[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, fx->db, 0, &err), &err);
    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);
    char *csv_after = export_text(st, RP_EXPORT_CSV, NULL);
    assert_string_equal(csv_before, csv_after);
    free(csv_before);
    free(csv_after);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
    sqlite3_finalize(stmt);
    rp_store_close(st);
}

/* ==== allocation failures ==== */

typedef struct sweep_ctx {
    rp_store *st;
    rp_mapping *m;
    const char *path;
    rp_capture_set *set;
    char counts[64];
} sweep_ctx;

static int sweep_capture(void *payload)
{
    sweep_ctx *c = payload;
    const char *by[] = {"registration_year", "sex"};
    return rp_store_capture_set(&c->set, NULL, c->st, by, 2, NULL);
}

static void undo_capture(void *payload)
{
    sweep_ctx *c = payload;
    rp_capture_set_free(c->set);
    c->set = NULL;
}

static int sweep_stats(void *payload)
{
    sweep_ctx *c = payload;
    counted out = {""};
    return rp_store_stats(c->st, RP_FIELD_EXPLOITATION, on_count, &out, NULL);
}

static int sweep_export(void *payload)
{
    sweep_ctx *c = payload;
    FILE *f = fopen("/dev/null", "w");
    int rc = rp_store_export(c->st, f, RP_EXPORT_JSON, NULL, NULL);
    fclose(f);
    return rc;
}

/* Each failing run must roll back: the table counts never change until success. */
static int sweep_import(void *payload)
{
    sweep_ctx *c = payload;
    rp_import_report rep;
    char now[64];
    table_counts(c->st, now, sizeof(now));
    assert_string_equal(now, c->counts);
    return rp_store_import(&rep, c->st, c->path, c->m, NULL, NULL);
}

static void store__allocation_failures_are_enomem(void **state)
{
    fixture *fx = *state;
    sweep_ctx c;
    memset(&c, 0, sizeof(c));
    c.st = store_with_cases(fx);
    c.m = load_mapping();
    char path[1024];
    c.path = rp_test_fixture(path, sizeof(path), "store/bad_quote_at_end.csv");
    rp_test_alloc_sweep(sweep_capture, undo_capture, &c, 200);
    rp_test_alloc_sweep(sweep_stats, NULL, &c, 200);
    rp_test_alloc_sweep(sweep_export, NULL, &c, 200);

    /* a good file with new case ids: import it under failing allocations */
    char good[1024];
    snprintf(good, sizeof(good), "%s/good.csv", fx->dir);
    FILE *f = fopen(good, "w");
    assert_non_null(f);
    fputs("source,case,person,year,sex,age,citizenship,forms\n"
          "PF,Z1,A,2015,F,25,NG,sexual\n"
          "PF,Z1,B,2015,F,25,NG,sexual\n"
          "NGO,Z2,A,2015,F,25,XX,sexual\n",
          f);
    fclose(f);
    c.path = good;
    table_counts(c.st, c.counts, sizeof(c.counts));
    rp_test_alloc_sweep(sweep_import, NULL, &c, 2000);
    char after[64];
    table_counts(c.st, after, sizeof(after));
    assert_string_equal(after, "2/10/5/8");
    rp_mapping_free(c.m);
    rp_store_close(c.st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(store_open__absent_without_create_is_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_open__creates_file_mode_0600_at_current_version,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(store_open__refuses_other_sqlite_file, setup, teardown),
        cmocka_unit_test_setup_teardown(store_open__refuses_file_that_is_not_sqlite, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_open__refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__counts_reconcile, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__same_file_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(store_quarantine__every_reason_with_its_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import__duplicate_case_id_across_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import__list_option_overrides_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__refuses_readonly_store, setup, teardown),
        cmocka_unit_test_setup_teardown(store_export__csv_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(store_export__json_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(store_export__csv_quotes_and_neutralises_formulas, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_lists__records_per_list, setup, teardown),
        cmocka_unit_test_setup_teardown(store_stats__counts_by_field, setup, teardown),
        cmocka_unit_test_setup_teardown(store_stats__callback_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(store_capture_set__hand_computed_table, setup, teardown),
        cmocka_unit_test_setup_teardown(store_capture_set__needs_two_linked_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__unusable_file_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__progress_can_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import__killed_process_leaves_store_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store__allocation_failures_are_enomem, setup, teardown),
    };
    rp_init();
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
