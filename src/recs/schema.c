/*
 * The recommendation tables (created on first use, see rp_recs__ensure_schema), the
 * vocabularies and their names, the status transition rule, the audit writer, and the
 * small validators (codes, dates, states, authors) the rest of src/recs shares.
 */
#include "data/data_int.h"
#include "recs/recs_int.h"

#include <rapporteur/data.h>

#include <math.h>

/*
 * ==== schema ====
 *
 * recs_meta            key/value; recs_schema_version = RP_RECS_SCHEMA_VERSION.
 * recs_sources         frameworks (GRETA, COP, OSCE-AP, OSCE-MC, NAP, ALLIANCE, ...):
 *                      code, kind (rp_recs_source_kind), title.
 * recs_themes          code, label.
 * recs_bodies          responsible bodies: code, kind (rp_recs_body_kind), name.
 * recs_recs            recommendations: unique ref, state (alpha-2), source, round,
 *                      paragraph, strength (rp_rec_strength), text, due date, current
 *                      status (rp_rec_status) and its date, creation date.
 * recs_rec_themes      recommendation x theme (many to many).
 * recs_rec_bodies      recommendation x responsible body (many to many).
 * recs_links           from -> to (an earlier recommendation), kind (rp_rec_link_kind).
 * recs_actions         unique ref, title, lead body, start and due dates.
 * recs_action_recs     action x recommendation (many to many).
 * recs_indicators      of a recommendation or of an action (exactly one): name, unit,
 *                      baseline, target, reporting frequency, due date.
 * recs_progress        a progress report on a recommendation, action or indicator
 *                      (exactly one): date, author, measured value, note.
 * recs_evidence        the evidence links of a progress report.
 * recs_status_history  every status a recommendation had: old and new status, date,
 *                      author, note, and the progress report that came with it.
 * recs_audit           every change: UTC time, author, entity, id, field, old, new;
 *                      written in the transaction of the change.
 * The tables stand beside the store's own (migrations in src/store/store.c) and are
 * created here with CREATE ... IF NOT EXISTS so that they can later be folded into a
 * store migration unchanged.
 */
static const char *const schema_sql[] = {
    "CREATE TABLE IF NOT EXISTS recs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS recs_sources (id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, title TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS recs_themes (id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS recs_bodies (id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, name TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS recs_recs (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL, source_id INTEGER NOT NULL REFERENCES recs_sources (id),"
    " round INTEGER NOT NULL DEFAULT 0, paragraph TEXT NOT NULL DEFAULT '',"
    " strength INTEGER NOT NULL DEFAULT 0, text TEXT NOT NULL,"
    " due_date TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL DEFAULT 0,"
    " status_date TEXT NOT NULL DEFAULT '', created_on TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS recs_recs_state ON recs_recs (state, round);"
    "CREATE TABLE IF NOT EXISTS recs_rec_themes ("
    " rec_id INTEGER NOT NULL REFERENCES recs_recs (id),"
    " theme_id INTEGER NOT NULL REFERENCES recs_themes (id),"
    " PRIMARY KEY (rec_id, theme_id)) WITHOUT ROWID;",
    "CREATE TABLE IF NOT EXISTS recs_rec_bodies ("
    " rec_id INTEGER NOT NULL REFERENCES recs_recs (id),"
    " body_id INTEGER NOT NULL REFERENCES recs_bodies (id),"
    " PRIMARY KEY (rec_id, body_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS recs_links ("
    " from_id INTEGER NOT NULL REFERENCES recs_recs (id),"
    " to_id INTEGER NOT NULL REFERENCES recs_recs (id), kind INTEGER NOT NULL,"
    " PRIMARY KEY (from_id, to_id, kind), CHECK (from_id <> to_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS recs_actions (id INTEGER PRIMARY KEY,"
    " ref TEXT NOT NULL UNIQUE, title TEXT NOT NULL,"
    " body_id INTEGER REFERENCES recs_bodies (id), start_date TEXT NOT NULL DEFAULT '',"
    " due_date TEXT NOT NULL DEFAULT '', created_on TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS recs_action_recs ("
    " action_id INTEGER NOT NULL REFERENCES recs_actions (id),"
    " rec_id INTEGER NOT NULL REFERENCES recs_recs (id),"
    " PRIMARY KEY (action_id, rec_id)) WITHOUT ROWID;",
    "CREATE TABLE IF NOT EXISTS recs_indicators (id INTEGER PRIMARY KEY,"
    " rec_id INTEGER REFERENCES recs_recs (id),"
    " action_id INTEGER REFERENCES recs_actions (id), name TEXT NOT NULL,"
    " unit TEXT NOT NULL DEFAULT '', baseline REAL, target REAL,"
    " frequency INTEGER NOT NULL DEFAULT 0, due_date TEXT NOT NULL DEFAULT '',"
    " CHECK ((rec_id IS NULL) <> (action_id IS NULL)));"
    "CREATE TABLE IF NOT EXISTS recs_progress (id INTEGER PRIMARY KEY,"
    " rec_id INTEGER REFERENCES recs_recs (id),"
    " action_id INTEGER REFERENCES recs_actions (id),"
    " indicator_id INTEGER REFERENCES recs_indicators (id),"
    " reported_on TEXT NOT NULL, author TEXT NOT NULL, value REAL,"
    " note TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS recs_evidence (id INTEGER PRIMARY KEY,"
    " progress_id INTEGER NOT NULL REFERENCES recs_progress (id), link TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS recs_status_history (id INTEGER PRIMARY KEY,"
    " rec_id INTEGER NOT NULL REFERENCES recs_recs (id), old_status INTEGER,"
    " status INTEGER NOT NULL, changed_on TEXT NOT NULL, author TEXT NOT NULL,"
    " note TEXT NOT NULL DEFAULT '', progress_id INTEGER REFERENCES recs_progress (id));"
    "CREATE INDEX IF NOT EXISTS recs_status_history_rec ON recs_status_history (rec_id);"
    "CREATE TABLE IF NOT EXISTS recs_audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL,"
    " author TEXT NOT NULL, entity TEXT NOT NULL, entity_id INTEGER NOT NULL,"
    " field TEXT NOT NULL, old TEXT, new TEXT);"
    "CREATE INDEX IF NOT EXISTS recs_audit_entity ON recs_audit (entity, entity_id);",
    /* The standard vocabulary: part of the schema, hence not in the audit trail. */
    "INSERT OR IGNORE INTO recs_sources (code, kind, title) VALUES"
    " ('GRETA', 0, 'GRETA evaluation rounds'),"
    " ('COP', 1, 'Committee of the Parties to the Council of Europe Convention'),"
    " ('OSCE-AP', 2, 'OSCE Action Plan to Combat Trafficking in Human Beings'),"
    " ('OSCE-MC', 3, 'OSCE Ministerial Council commitments'),"
    " ('NAP', 4, 'National action plan'),"
    " ('ALLIANCE', 5, 'Alliance against Trafficking in Persons conference');"
    "INSERT OR IGNORE INTO recs_themes (code, label) VALUES"
    " ('labour_exploitation', 'Trafficking for labour exploitation'),"
    " ('identification', 'Identification of victims'),"
    " ('assistance', 'Assistance to victims'),"
    " ('compensation', 'Compensation and legal redress'),"
    " ('prosecution', 'Investigation, prosecution and sanctions'),"
    " ('children', 'Child victims'),"
    " ('prevention', 'Prevention and awareness'),"
    " ('training', 'Training of professionals'),"
    " ('data_collection', 'Data collection and research'),"
    " ('coordination', 'National co-ordination and rapporteur'),"
    " ('international_cooperation', 'International co-operation'),"
    " ('non_punishment', 'Non-punishment of victims'),"
    " ('residence', 'Recovery period and residence permits'),"
    " ('return', 'Repatriation and return'),"
    " ('legislation', 'Legal framework'),"
    " ('supply_chains', 'Business and supply chains');",
};

/* Read recs_meta's version into *version (0 when the tables are absent). */
static int read_version(rp_store *st, int *version, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *version = 0;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                               " AND name = 'recs_meta'",
                               err);
    if (rc != RP_OK) {
        goto out;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the store schema");
        goto out;
    }
    bool present = sqlite3_column_int64(stmt, 0) > 0;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!present) {
        goto out;
    }
    rc = rp_store__prepare(&stmt, st,
                           "SELECT value FROM recs_meta WHERE key = 'recs_schema_version'", err);
    if (rc != RP_OK) {
        goto out;
    }
    int s = sqlite3_step(stmt);
    long v = 0;
    if (s == SQLITE_ROW && rp_x_parse_long(rp_recs__col_text(stmt, 0), 1, 1000000, &v) == 0) {
        *version = (int)v;
    } else if (s != SQLITE_DONE && s != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read the recommendation schema version");
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs__ensure_schema(rp_store *st, rp_error *err)
{
    if (st == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store given");
    }
    int version = 0;
    int rc = read_version(st, &version, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (version > RP_RECS_SCHEMA_VERSION) {
        return rp_error_set(err, RP_ESQL,
                            "recommendation tables version %d are newer than this program's %d",
                            version, RP_RECS_SCHEMA_VERSION);
    }
    if (version == RP_RECS_SCHEMA_VERSION) {
        return RP_OK;
    }
    if (st->readonly) {
        return rp_error_set(err, RP_ENOTFOUND,
                            "the store has no recommendation tables (open it writable once)");
    }
    rc = rp_store__exec(st, "BEGIN IMMEDIATE", "cannot create the recommendation tables", err);
    if (rc != RP_OK) {
        return rc;
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(schema_sql) && rc == RP_OK; i++) {
        rc = rp_store__exec(st, schema_sql[i], "cannot create the recommendation tables", err);
    }
    if (rc == RP_OK) {
        rc = rp_store__exec(st,
                            "INSERT OR REPLACE INTO recs_meta (key, value)"
                            " VALUES ('recs_schema_version', '1')",
                            "cannot record the recommendation schema version", err);
    }
    return rp_recs__end(st, rc, err);
}

int rp_recs__begin(rp_store *st, rp_error *err)
{
    if (st->readonly) {
        return rp_error_set(err, RP_EPERM, "the store is open read-only");
    }
    return rp_store__exec(st, "BEGIN IMMEDIATE", "cannot start a transaction", err);
}

int rp_recs__end(rp_store *st, int rc, rp_error *err)
{
    if (rc == RP_OK) {
        rc = rp_store__exec(st, "COMMIT", "cannot commit", err);
        if (rc == RP_OK) {
            return RP_OK;
        }
    }
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int rp_recs__start(rp_store *st, rp_error *err)
{
    int rc = rp_recs__ensure_schema(st, err);
    return rc == RP_OK ? rp_recs__begin(st, err) : rc;
}

int rp_recs__start_by(rp_store *st, const char *author, rp_error *err)
{
    int rc = rp_recs__check_author(author, err);
    return rc == RP_OK ? rp_recs__start(st, err) : rc;
}

/* ==== small helpers ==== */

int rp_recs__bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return sqlite3_bind_text(stmt, i, s != NULL ? s : "", -1, SQLITE_TRANSIENT);
}

/* rp_recs__query_id() and rp_recs__query_text(): ?1 is @p text when @p is_text. */
static int query_one(sqlite3_stmt **stmt,
                     bool *row,
                     rp_store *st,
                     const char *sql,
                     long long id,
                     bool is_text,
                     const char *text,
                     const char *what,
                     rp_error *err)
{
    *stmt = NULL;
    *row = false;
    int rc = rp_store__prepare(stmt, st, sql, err);
    if (rc != RP_OK) {
        return rc;
    }
    int bound = is_text ? rp_recs__bind_text(*stmt, 1, text) : sqlite3_bind_int64(*stmt, 1, id);
    int s = bound == SQLITE_OK ? sqlite3_step(*stmt) : SQLITE_ERROR;
    if (s == SQLITE_ROW) {
        *row = true;
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, what);
    }
    return rc;
}

int rp_recs__query_id(sqlite3_stmt **stmt,
                      bool *row,
                      rp_store *st,
                      const char *sql,
                      long long id,
                      const char *what,
                      rp_error *err)
{
    return query_one(stmt, row, st, sql, id, false, NULL, what, err);
}

int rp_recs__query_text(sqlite3_stmt **stmt,
                        bool *row,
                        rp_store *st,
                        const char *sql,
                        const char *text,
                        const char *what,
                        rp_error *err)
{
    return query_one(stmt, row, st, sql, 0, true, text, what, err);
}

const char *rp_recs__col_text(sqlite3_stmt *stmt, int i)
{
    const char *s = (const char *)sqlite3_column_text(stmt, i);
    return s != NULL ? s : "";
}

void rp_recs__today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) == 0) {
        rp_x_strlcpy(out, "1970-01-01", 11);
    }
}

/* Now (UTC) as YYYY-MM-DDTHH:MM:SSZ. */
static void now_utc(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        rp_x_strlcpy(out, "1970-01-01T00:00:00Z", 32);
    }
}

bool rp_recs__date_ok(const char *s)
{
    return s != NULL && strlen(s) == 10 && rp_data__date_is_valid(s, NULL);
}

bool rp_recs__code_ok(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok || n + 1 >= RP_RECS_CODE_MAX) {
            return false;
        }
    }
    return true;
}

bool rp_recs__state_ok(char out[3], const char *s)
{
    if (s == NULL) {
        return false;
    }
    if (rp_country_normalise(out, s) == RP_OK) {
        return true;
    }
    /* ISO 3166-1 section 8.1.3: codes left to users, for fictitious or training data. */
    if (strlen(s) != 2) {
        return false;
    }
    char a = (char)(s[0] & ~0x20);
    char b = (char)(s[1] & ~0x20);
    if (b < 'A' || b > 'Z') {
        return false;
    }
    bool user =
        (a == 'A' && b == 'A') || (a == 'Q' && b >= 'M') || a == 'X' || (a == 'Z' && b == 'Z');
    if (!user) {
        return false;
    }
    out[0] = a;
    out[1] = b;
    out[2] = '\0';
    return true;
}

int rp_recs__check_author(const char *author, rp_error *err)
{
    size_t n = author != NULL ? strlen(author) : 0;
    if (n == 0 || n > 200 || rp_x_utf8_check((const unsigned char *)author, n) != n) {
        return rp_error_set(err, RP_EINVAL,
                            "an author (1-200 bytes of UTF-8) is required for the audit trail");
    }
    return RP_OK;
}

int rp_recs__audit_txn(rp_store *st,
                       const char *author,
                       const char *entity,
                       long long entity_id,
                       const char *field,
                       const char *old_value,
                       const char *new_value,
                       rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char at[32];
    now_utc(at);
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_audit (at, author, entity, entity_id, field, old,"
                               " new) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = rp_recs__bind_text(stmt, 1, at) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 2, author) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 3, entity) == SQLITE_OK &&
              sqlite3_bind_int64(stmt, 4, entity_id) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 5, field) == SQLITE_OK &&
              (old_value == NULL ? sqlite3_bind_null(stmt, 6)
                                 : rp_recs__bind_text(stmt, 6, old_value)) == SQLITE_OK &&
              (new_value == NULL ? sqlite3_bind_null(stmt, 7)
                                 : rp_recs__bind_text(stmt, 7, new_value)) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot write the audit trail");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs__audit_int_txn(rp_store *st,
                           const char *author,
                           const char *entity,
                           long long entity_id,
                           const char *field,
                           long long new_value,
                           rp_error *err)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", new_value);
    return rp_recs__audit_txn(st, author, entity, entity_id, field, NULL, text, err);
}

/* ==== vocabularies ==== */

static const char *const strength_names[] = {"none", "urges", "considers", "invites"};
static const char *const status_names[] = {"not_started", "in_progress", "partially_implemented",
                                           "implemented", "no_longer_relevant"};
static const char *const link_names[] = {"repeats", "follows_up"};
static const char *const source_kind_names[] = {
    "greta",    "cop",  "osce_action_plan", "osce_commitment", "national_action_plan",
    "alliance", "other"};
static const char *const body_kind_names[] = {"ministry",       "agency",        "civil_society",
                                              "private_sector", "international", "other"};
static const char *const frequency_names[] = {"none",       "monthly", "quarterly",
                                              "semiannual", "annual",  "biennial"};

static const struct {
    const char *const *names;
    int n;
} vocabs[RP_RECS_V_COUNT] = {
    {strength_names, (int)RP_ARRAY_LEN(strength_names)},
    {status_names, (int)RP_ARRAY_LEN(status_names)},
    {link_names, (int)RP_ARRAY_LEN(link_names)},
    {source_kind_names, (int)RP_ARRAY_LEN(source_kind_names)},
    {body_kind_names, (int)RP_ARRAY_LEN(body_kind_names)},
    {frequency_names, (int)RP_ARRAY_LEN(frequency_names)},
};

const char *rp_recs_name(rp_recs_vocab vocab, int v)
{
    if ((int)vocab < 0 || vocab >= RP_RECS_V_COUNT || v < 0 || v >= vocabs[vocab].n) {
        return NULL;
    }
    return vocabs[vocab].names[v];
}

int rp_recs_parse(int *out, rp_recs_vocab vocab, const char *name)
{
    if ((int)vocab < 0 || vocab >= RP_RECS_V_COUNT || name == NULL) {
        return RP_ENOTFOUND;
    }
    char buf[32];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(buf)) {
        return RP_ENOTFOUND;
    }
    for (size_t i = 0; i <= n; i++) {
        buf[i] = name[i];
        if (buf[i] == '-' || buf[i] == ' ') {
            buf[i] = '_';
        }
    }
    for (int v = 0; v < vocabs[vocab].n; v++) {
        if (strcmp(buf, vocabs[vocab].names[v]) == 0) {
            *out = v;
            return RP_OK;
        }
    }
    return RP_ENOTFOUND;
}

int rp_recs_transition_check(rp_rec_status from, rp_rec_status to, const char *note, rp_error *err)
{
    if ((int)from < 0 || from >= RP_REC_STATUS_COUNT || (int)to < 0 || to >= RP_REC_STATUS_COUNT) {
        return rp_error_set(err, RP_EINVAL, "status out of range");
    }
    const char *f = status_names[from];
    const char *t = status_names[to];
    bool has_note = note != NULL && note[0] != '\0';
    if (from == to) {
        return rp_error_set(err, RP_EDATA, "status is already '%s'", f);
    }
    if (to == RP_REC_NO_LONGER_RELEVANT) {
        return RP_OK;
    }
    if (to == RP_REC_IMPLEMENTED && from != RP_REC_IN_PROGRESS &&
        from != RP_REC_PARTIALLY_IMPLEMENTED) {
        return rp_error_set(err, RP_EDATA,
                            "status '%s' cannot become '%s': a recommendation is implemented "
                            "only from 'in_progress' or 'partially_implemented'",
                            f, t);
    }
    bool reopening =
        from == RP_REC_IMPLEMENTED || from == RP_REC_NO_LONGER_RELEVANT || (int)to < (int)from;
    if (reopening && !has_note) {
        return rp_error_set(err, RP_EDATA,
                            "status '%s' cannot become '%s' without a note: reopening or "
                            "stepping back needs the reason",
                            f, t);
    }
    return RP_OK;
}
