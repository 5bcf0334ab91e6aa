/*
 * The store file: opening and creating it (mode 0600, WAL, foreign keys), recognising a
 * rapporteur store, versioned schema migrations, and the SQLite error bridge shared by
 * the rest of src/store. The schema is documented with migration 1 below.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a writer waits for another process's lock before giving up (milliseconds). */
#define BUSY_TIMEOUT_MS 10000

/* meta.value of key 'application': what makes an SQLite file a rapporteur store. */
#define APPLICATION_NAME "rapporteur"

/*
 * ==== schema migrations ====
 *
 * migrations[i] takes a store from schema version i to i + 1. Each runs in its own
 * transaction together with the update of meta.schema_version, so a store is always at
 * exactly one version. Never edit a migration that has shipped: add a new one.
 *
 * Version 1, the initial schema:
 *   meta           key/value: application = 'rapporteur', schema_version = N.
 *   submissions    one row per imported file: agency, list override ('' = rows carry
 *                  their lists), base file name, SHA-256 (hex), mapping name, UTC time
 *                  (ISO 8601), and rows read = stored + quarantined.
 *   cases          one row per stored record (rp_case_record); codes are the integer
 *                  enum values and bit sets of <rapporteur/data.h>, states rp_state.
 *                  A case id is unique within its list when given (partial index).
 *   quarantine     one row per quarantined input row, with its line.
 *   quarantine_reasons  every reason of a quarantined row (an rp_issue).
 * Every index costs about a fifth more import time (measured on 1,000,000 rows), and
 * import speed is part of the acceptance test, so cases has one: (list, case_id), which
 * detects duplicates. Counts by field, lists and capture histories are full scans (one
 * pass, then GROUP BY or a sort of the linked records); quarantine rows are found by
 * submission through their own index.
 *
 * Version 2, record linkage (issue 6):
 *   submissions    gain encoding_schema (the canonical JSON of the encoding schema of
 *                  a submission of the encoding step, never a secret; NULL for a CSV
 *                  import) and key_id (the schema's public key id). Every encoded
 *                  submission of a store has the same schema: filters made with another
 *                  key or schema cannot be compared, so the import refuses them.
 *   encodings      one row per stored encoded record (case_row = cases.id): the CLK as
 *                  little-endian 64-bit words, the field filters (RP_ENC_FIELD_COUNT
 *                  filters, NULL when the schema has none), and the keyed blocking keys
 *                  as 9 bytes each: the key little-endian, then its rule.
 *   link_runs      one row per saved linkage run: UTC time, method, options and report
 *                  (JSON objects), records and pairs.
 *   link_pairs     the run's scored pairs (cases.id of both records, score, decision:
 *                  rp_link_decision); link_members each record's person in the run.
 *                  The run's person ids "L<run>-<person>" go into cases.person_id.
 */
static const char *const migrations[RP_STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('application', '" APPLICATION_NAME "');"
    "CREATE TABLE submissions ("
    "  id INTEGER PRIMARY KEY,"
    "  agency TEXT NOT NULL DEFAULT '',"
    "  list TEXT NOT NULL DEFAULT '',"
    "  file_name TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  mapping TEXT NOT NULL DEFAULT '',"
    "  imported_at TEXT NOT NULL,"
    "  rows_read INTEGER NOT NULL DEFAULT 0,"
    "  rows_stored INTEGER NOT NULL DEFAULT 0,"
    "  rows_quarantined INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX submissions_sha256 ON submissions (sha256);"
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  submission_id INTEGER NOT NULL REFERENCES submissions (id),"
    "  list TEXT NOT NULL,"
    "  case_id TEXT NOT NULL DEFAULT '',"
    "  person_id TEXT NOT NULL DEFAULT '',"
    "  registration_year INTEGER NOT NULL DEFAULT 0,"
    "  registration_date TEXT NOT NULL DEFAULT '',"
    "  id_status INTEGER NOT NULL DEFAULT 0,"
    "  sex INTEGER NOT NULL DEFAULT 0,"
    "  age INTEGER NOT NULL DEFAULT -1,"
    "  age_band INTEGER NOT NULL DEFAULT 0,"
    "  majority INTEGER NOT NULL DEFAULT 0,"
    "  citizenship TEXT NOT NULL DEFAULT '',"
    "  citizenship_state INTEGER NOT NULL DEFAULT 0,"
    "  country_of_exploitation TEXT NOT NULL DEFAULT '',"
    "  coe_state INTEGER NOT NULL DEFAULT 0,"
    "  exploitation INTEGER NOT NULL DEFAULT 0,"
    "  exploitation_state INTEGER NOT NULL DEFAULT 0,"
    "  sexual_types INTEGER NOT NULL DEFAULT 0,"
    "  labour_sectors INTEGER NOT NULL DEFAULT 0,"
    "  means_of_control INTEGER NOT NULL DEFAULT 0,"
    "  moc_state INTEGER NOT NULL DEFAULT 0,"
    "  recruiter_relation INTEGER NOT NULL DEFAULT 0,"
    "  rr_state INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE UNIQUE INDEX cases_list_case_id ON cases (list, case_id) WHERE case_id <> '';"
    "CREATE TABLE quarantine ("
    "  id INTEGER PRIMARY KEY,"
    "  submission_id INTEGER NOT NULL REFERENCES submissions (id),"
    "  line INTEGER NOT NULL"
    ");"
    "CREATE INDEX quarantine_submission ON quarantine (submission_id);"
    "CREATE TABLE quarantine_reasons ("
    "  id INTEGER PRIMARY KEY,"
    "  quarantine_id INTEGER NOT NULL REFERENCES quarantine (id),"
    "  line INTEGER NOT NULL,"
    "  col INTEGER NOT NULL,"
    "  column_name TEXT NOT NULL DEFAULT '',"
    "  value TEXT NOT NULL DEFAULT '',"
    "  rule TEXT NOT NULL,"
    "  message TEXT NOT NULL"
    ");"
    "CREATE INDEX quarantine_reasons_quarantine ON quarantine_reasons (quarantine_id);",
    /* 1 -> 2 */
    "ALTER TABLE submissions ADD COLUMN encoding_schema TEXT;"
    "ALTER TABLE submissions ADD COLUMN key_id TEXT;"
    "CREATE TABLE encodings ("
    "  case_row INTEGER PRIMARY KEY REFERENCES cases (id),"
    "  clk BLOB NOT NULL,"
    "  fields BLOB,"
    "  blocks BLOB NOT NULL"
    ");"
    "CREATE TABLE link_runs ("
    "  id INTEGER PRIMARY KEY,"
    "  created_at TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  params TEXT NOT NULL DEFAULT '{}',"
    "  report TEXT NOT NULL DEFAULT '{}',"
    "  n_records INTEGER NOT NULL,"
    "  n_pairs INTEGER NOT NULL"
    ");"
    "CREATE TABLE link_pairs ("
    "  run_id INTEGER NOT NULL REFERENCES link_runs (id),"
    "  case_a INTEGER NOT NULL REFERENCES cases (id),"
    "  case_b INTEGER NOT NULL REFERENCES cases (id),"
    "  score REAL NOT NULL,"
    "  decision INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, case_a, case_b)"
    ") WITHOUT ROWID;"
    "CREATE INDEX link_pairs_case_b ON link_pairs (case_b);"
    "CREATE TABLE link_members ("
    "  run_id INTEGER NOT NULL REFERENCES link_runs (id),"
    "  case_row INTEGER NOT NULL REFERENCES cases (id),"
    "  person INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, case_row)"
    ") WITHOUT ROWID;"
    "CREATE INDEX link_members_person ON link_members (run_id, person);"
    "CREATE INDEX link_members_case_row ON link_members (case_row);",
};

const char *rp_store__migration(int from)
{
    if (from < 0 || from >= RP_STORE_SCHEMA_VERSION) {
        return NULL;
    }
    return migrations[from];
}

/* ==== SQLite helpers ==== */

int rp_store__sql_error(rp_error *err, sqlite3 *db, const char *what)
{
    /* rp_error_set formats at once, so sqlite3_errmsg's buffer is copied before any
     * other SQLite call can overwrite it. */
    int code = db != NULL ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    rp_error_set(err, RP_ESQL, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : "no database");
    rp_x_error_sys(err, code);
    return RP_ESQL;
}

int rp_store__prepare(sqlite3_stmt **out, rp_store *st, const char *sql, rp_error *err)
{
    *out = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        return rp_store__sql_error(err, st->db, "cannot prepare a statement");
    }
    return RP_OK;
}

int rp_store__exec(rp_store *st, const char *sql, const char *what, rp_error *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return rp_store__sql_error(err, st->db, what);
    }
    return RP_OK;
}

/* ==== recognising a store ==== */

/*
 * Read the schema version of the open database into *version: 0 for a database with no
 * tables at all (a new store), N from meta for a rapporteur store. Anything else (other
 * tables, no 'application' row, a file that is not SQLite) is RP_ESQL.
 */
static int read_version(rp_store *st, int *version, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = RP_OK;
    long long n_tables = 0;
    bool has_meta = false;

    /* The first real read of the file: a file that is not SQLite fails here. */
    rc = rp_store__prepare(&stmt, st,
                           "SELECT count(*), coalesce(sum(name = 'meta'), 0) FROM sqlite_schema"
                           " WHERE type = 'table'",
                           err);
    if (rc != RP_OK) {
        if (err != NULL && err->sys_code == SQLITE_NOTADB) {
            rp_error_set(err, RP_ESQL, "'%s' is not a rapporteur store (not an SQLite database)",
                         st->path);
            rp_x_error_sys(err, SQLITE_NOTADB);
        }
        goto out;
    }
    int s = sqlite3_step(stmt);
    if (s != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the store schema");
        if (err != NULL && err->sys_code == SQLITE_NOTADB) {
            rp_error_set(err, RP_ESQL, "'%s' is not a rapporteur store (not an SQLite database)",
                         st->path);
            rp_x_error_sys(err, SQLITE_NOTADB);
        }
        goto out;
    }
    n_tables = sqlite3_column_int64(stmt, 0);
    has_meta = sqlite3_column_int64(stmt, 1) > 0;
    sqlite3_finalize(stmt);
    stmt = NULL;

    if (n_tables == 0) {
        *version = 0;
        goto out;
    }
    if (!has_meta) {
        rc = rp_error_set(err, RP_ESQL,
                          "'%s' is not a rapporteur store (an SQLite database "
                          "of another program)",
                          st->path);
        goto out;
    }
    rc = rp_store__prepare(&stmt, st,
                           "SELECT (SELECT value FROM meta WHERE key = 'application'),"
                           " (SELECT value FROM meta WHERE key = 'schema_version')",
                           err);
    if (rc != RP_OK) {
        goto out;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the store version");
        goto out;
    }
    const char *app = (const char *)sqlite3_column_text(stmt, 0);
    const char *ver = (const char *)sqlite3_column_text(stmt, 1);
    long v = 0;
    if (app == NULL || strcmp(app, APPLICATION_NAME) != 0) {
        rc = rp_error_set(err, RP_ESQL,
                          "'%s' is not a rapporteur store (an SQLite database "
                          "of another program)",
                          st->path);
        goto out;
    }
    if (ver == NULL || rp_x_parse_long(ver, 1, 1000000, &v) != 0) {
        rc = rp_error_set(err, RP_ESQL, "store '%s' has no valid schema version", st->path);
        goto out;
    }
    *version = (int)v;
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Apply the migrations from the store's version up to RP_STORE_SCHEMA_VERSION. */
static int migrate(rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = RP_OK;
    bool in_txn = false;

    while (st->schema_version < RP_STORE_SCHEMA_VERSION) {
        rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start a schema migration", err);
        if (rc != RP_OK) {
            goto out;
        }
        in_txn = true;
        /* Another process may have migrated while we waited for the lock. */
        int v = 0;
        rc = read_version(st, &v, err);
        if (rc != RP_OK) {
            goto out;
        }
        if (v < RP_STORE_SCHEMA_VERSION) {
            rc = rp_store__exec(st, migrations[v], "cannot apply a schema migration", err);
            if (rc != RP_OK) {
                rp_x_error_prefix(err, "migration to version %d", v + 1);
                goto out;
            }
            rc = rp_store__prepare(&stmt, st,
                                   "INSERT OR REPLACE INTO meta (key, value)"
                                   " VALUES ('schema_version', ?1)",
                                   err);
            if (rc != RP_OK) {
                goto out;
            }
            char text[16];
            snprintf(text, sizeof(text), "%d", v + 1);
            if (sqlite3_bind_text(stmt, 1, text, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
                sqlite3_step(stmt) != SQLITE_DONE) {
                rc = rp_store__sql_error(err, st->db, "cannot record the schema version");
                goto out;
            }
            sqlite3_finalize(stmt);
            stmt = NULL;
            v++;
        }
        rc = rp_store__exec(st, "COMMIT", "cannot commit a schema migration", err);
        if (rc != RP_OK) {
            goto out;
        }
        in_txn = false;
        st->schema_version = v;
    }
out:
    sqlite3_finalize(stmt);
    if (in_txn) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* Set a pragma whose value is returned as a row (journal_mode); check the result. */
static int set_wal(rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, "PRAGMA journal_mode = WAL", err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot switch the store to WAL mode");
        goto out;
    }
    const char *mode = (const char *)sqlite3_column_text(stmt, 0);
    if (mode == NULL || strcmp(mode, "wal") != 0) {
        rc = rp_error_set(err, RP_ESQL, "store '%s' cannot use WAL mode (journal mode '%s')",
                          st->path, mode != NULL ? mode : "");
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

/*
 * Create @p path as an empty file readable and writable by its owner only (0600, set
 * explicitly so the umask does not matter). *created tells whether we made it.
 */
static int create_file(const char *path, bool *created, rp_error *err)
{
    *created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        if (errno == EEXIST) {
            return RP_OK; /* someone else created it meanwhile: open that */
        }
        int e = errno;
        rp_error_set(err, RP_EIO, "cannot create store '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        return RP_EIO;
    }
    *created = true;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        int e = errno;
        close(fd);
        rp_error_set(err, RP_EIO, "cannot set the mode of store '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        return RP_EIO;
    }
    if (close(fd) != 0) {
        int e = errno;
        rp_error_set(err, RP_EIO, "cannot create store '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        return RP_EIO;
    }
    return RP_OK;
}

/* ==== public entry points ==== */

/*
 * Make sure @p path can be opened: RP_ENOTFOUND when absent without @p create, else
 * create it (mode 0600). *created tells whether this call made the file.
 */
static int check_path(const char *path, bool create, bool *created, rp_error *err)
{
    struct stat sb;
    *created = false;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            return rp_error_set(err, RP_EIO, "cannot open store '%s': it is a directory", path);
        }
        return RP_OK;
    }
    int e = errno;
    if (e != ENOENT) {
        rp_error_set(err, RP_EIO, "cannot open store '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        return RP_EIO;
    }
    if (!create) {
        rp_error_set(err, RP_ENOTFOUND, "store '%s' does not exist", path);
        rp_x_error_sys(err, e);
        return RP_ENOTFOUND;
    }
    return create_file(path, created, err);
}

/* Connection settings: foreign keys always; WAL and the write pragmas when writable. */
static int configure(rp_store *st, rp_error *err)
{
    int rc = rp_store__exec(st, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", err);
    if (rc != RP_OK || st->readonly) {
        return rc;
    }
    rc = set_wal(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    /*
     * Under WAL, NORMAL loses no committed transaction on a crash of the process;
     * only a power loss may undo the last ones, never corrupt the file. A page cache
     * of up to 64 MiB keeps the case-id index of a large import in memory.
     */
    return rp_store__exec(st, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536",
                          "cannot set the store's pragmas", err);
}

/* Open the connection of @p st and bring its schema to this program's version. */
static int open_db(rp_store *st, const char *path, bool create, rp_error *err)
{
    int oflags = (st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        if (st->db == NULL) {
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        }
        rp_store__sql_error(err, st->db, "cannot open the store");
        return rp_x_error_prefix(err, "%s", path);
    }
    if (sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        return rp_store__sql_error(err, st->db, "cannot set the busy timeout");
    }
    int version = 0;
    int rc = read_version(st, &version, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (version > RP_STORE_SCHEMA_VERSION) {
        return rp_error_set(err, RP_ESQL, "store schema version %d is newer than this program's %d",
                            version, RP_STORE_SCHEMA_VERSION);
    }
    if (version == 0 && !create) {
        return rp_error_set(err, RP_ESQL, "'%s' is not a rapporteur store (an empty database)",
                            path);
    }
    st->schema_version = version;
    rc = configure(st, err);
    if (rc != RP_OK || version == RP_STORE_SCHEMA_VERSION) {
        return rc;
    }
    if (st->readonly) {
        return rp_error_set(err, RP_ESQL,
                            "store schema version %d must be upgraded to %d: run `rapporteur init` "
                            "on it (or open it writable)",
                            version, RP_STORE_SCHEMA_VERSION);
    }
    return migrate(st, err);
}

int rp_store_open(rp_store **out, const char *path, unsigned flags, rp_error *err)
{
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        return rp_error_set(err, RP_EINVAL, "no store file given");
    }
    bool readonly = (flags & RP_STORE_READONLY) != 0;
    bool create = (flags & RP_STORE_CREATE) != 0 && !readonly;
    bool created = false;
    int rc = check_path(path, create, &created, err);
    if (rc != RP_OK) {
        return rc;
    }
    rp_store *st = rp_calloc(1, sizeof(*st));
    if (st == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    } else {
        st->readonly = readonly;
        rp_x_strlcpy(st->path, path, sizeof(st->path));
        rc = open_db(st, path, create, err);
    }
    if (rc != RP_OK) {
        rp_store_close(st);
        if (created) {
            unlink(path); /* leave no half-made store behind */
        }
        return rc;
    }
    *out = st;
    return RP_OK;
}

void rp_store_close(rp_store *st)
{
    if (st == NULL) {
        return;
    }
    /* sqlite3_close_v2 finishes the close once every statement is finalized; all of
     * ours are finalized by the functions that made them. */
    sqlite3_close_v2(st->db);
    rp_free(st);
}

int rp_store_schema_version(const rp_store *st)
{
    return st != NULL ? st->schema_version : 0;
}
