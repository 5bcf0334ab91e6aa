/*
 * The recommendation model's changes: sources, themes and bodies, recommendations with
 * their themes and bodies, status changes under the transition rule, field edits,
 * links, actions, indicators and progress reports. Each public function checks its
 * input, opens one transaction, writes the change and its audit entries, and commits;
 * the *_txn functions do the work inside a transaction so that the importers can put
 * many changes in one.
 */
#include "recs/recs_int.h"

#include <math.h>

/* Longest recommendation text and note, bytes. */
#define TEXT_MAX ((size_t)64 * 1024)
/* Longest evidence link, bytes. */
#define LINK_MAX 2048

/* ==== lookups ==== */

int rp_recs__code_id(long long *id, rp_store *st, int table, const char *code, rp_error *err)
{
    static const char *const sql[] = {
        "SELECT id FROM recs_sources WHERE code = ?1",
        "SELECT id FROM recs_themes WHERE code = ?1",
        "SELECT id FROM recs_bodies WHERE code = ?1",
    };
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    *id = 0;
    int rc = rp_recs__query_text(&stmt, &row, st, sql[table], code, "cannot look up a code", err);
    if (rc == RP_OK && row) {
        *id = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs__exists(bool *yes, rp_store *st, bool action, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_recs__query_id(&stmt, yes, st,
                               action ? "SELECT 1 FROM recs_actions WHERE id = ?1"
                                      : "SELECT 1 FROM recs_recs WHERE id = ?1",
                               id, "cannot look up an id", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* RP_ENOTFOUND unless recommendation (or action) @p id exists. */
static int need(rp_store *st, bool action, long long id, rp_error *err)
{
    bool yes = false;
    int rc = rp_recs__exists(&yes, st, action, id, err);
    if (rc == RP_OK && !yes) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no %s with id %lld",
                          action ? "action" : "recommendation", id);
    }
    return rc;
}

static bool all_digits(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

int rp_recs__find(long long *id_out, rp_store *st, bool action, const char *key, rp_error *err)
{
    const char *what = action ? "action" : "recommendation";
    *id_out = 0;
    if (key == NULL || key[0] == '\0') {
        return rp_error_set(err, RP_ENOTFOUND, "no %s given", what);
    }
    long v = 0;
    if (all_digits(key)) {
        if (rp_x_parse_long(key, 1, 0x7fffffffL, &v) != 0) {
            return rp_error_set(err, RP_ENOTFOUND, "no %s '%.64s'", what, key);
        }
        bool yes = false;
        int rc = rp_recs__exists(&yes, st, action, v, err);
        if (rc == RP_OK && !yes) {
            rc = rp_error_set(err, RP_ENOTFOUND, "no %s '%.64s'", what, key);
        }
        if (rc == RP_OK) {
            *id_out = v;
        }
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    int rc = rp_recs__query_text(&stmt, &row, st,
                                 action ? "SELECT id FROM recs_actions WHERE ref = ?1"
                                        : "SELECT id FROM recs_recs WHERE ref = ?1",
                                 key, "cannot look up a reference", err);
    if (rc == RP_OK && row) {
        *id_out = sqlite3_column_int64(stmt, 0);
    } else if (rc == RP_OK) {
        char clean[80];
        size_t n = 0;
        for (; key[n] != '\0' && n + 1 < sizeof(clean); n++) {
            unsigned char c = (unsigned char)key[n];
            clean[n] = key[n];
            if (c < 0x20 || c == 0x7f) {
                clean[n] = '?';
            }
        }
        clean[n] = '\0';
        rc = rp_error_set(err, RP_ENOTFOUND, "no %s '%s'", what, clean);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs_find(long long *id_out, rp_store *st, const char *key, rp_error *err)
{
    if (id_out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    int rc = rp_recs__ensure_schema(st, err);
    return rc != RP_OK ? rc : rp_recs__find(id_out, st, false, key, err);
}

int rp_recs_find_action(long long *id_out, rp_store *st, const char *key, rp_error *err)
{
    if (id_out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    int rc = rp_recs__ensure_schema(st, err);
    return rc != RP_OK ? rc : rp_recs__find(id_out, st, true, key, err);
}

/* ==== field checks ==== */

/* True for valid UTF-8 of at most @p max bytes without control characters but TAB. */
static bool text_ok(const char *s, size_t max, bool nonempty)
{
    if (s == NULL) {
        return !nonempty;
    }
    size_t n = strlen(s);
    if ((nonempty && n == 0) || n > max) {
        return false;
    }
    if (rp_x_utf8_check((const unsigned char *)s, n) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* A reference: 1..63 bytes of printable UTF-8, not all digits (digits are ids). */
static bool ref_ok(const char *s)
{
    return text_ok(s, RP_RECS_REF_MAX - 1, true) && !all_digits(s) && strchr(s, '\n') == NULL;
}

static int bad_field(rp_error *err, const char *field, const char *expected)
{
    return rp_error_set(err, RP_EDATA, "field '%s': expected %s", field, expected);
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/*
 * Call @p fn for each code of the list @p list (separated by ';' or ',', spaces around
 * codes ignored). Codes longer than RP_RECS_CODE_MAX - 1 are RP_EDATA.
 */
static int each_code(const char *list,
                     const char *field,
                     int (*fn)(const char *code, void *payload, rp_error *err),
                     void *payload,
                     rp_error *err)
{
    const char *p = list != NULL ? list : "";
    while (*p != '\0') {
        while (*p == ' ' || *p == ';' || *p == ',' || *p == '\t') {
            p++;
        }
        const char *start = p;
        while (*p != '\0' && *p != ';' && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if (end == start) {
            continue;
        }
        char code[RP_RECS_CODE_MAX];
        if ((size_t)(end - start) >= sizeof(code)) {
            return bad_field(err, field, "codes of at most 31 characters");
        }
        memcpy(code, start, (size_t)(end - start));
        code[end - start] = '\0';
        if (!rp_recs__code_ok(code)) {
            return bad_field(err, field, "codes of letters, digits, '_', '-' and '.'");
        }
        int rc = fn(code, payload, err);
        if (rc != RP_OK) {
            return rc;
        }
    }
    return RP_OK;
}

/* ==== sources, themes, bodies ==== */

static const char *const table_names[] = {"source", "theme", "body"};

int rp_recs__add_code_txn(rp_store *st,
                          int table,
                          const char *code,
                          int kind,
                          const char *label,
                          const char *author,
                          rp_error *err)
{
    static const char *const sql[] = {
        "INSERT INTO recs_sources (code, kind, title) VALUES (?1, ?2, ?3)",
        "INSERT INTO recs_themes (code, label) VALUES (?1, ?3)",
        "INSERT INTO recs_bodies (code, kind, name) VALUES (?1, ?2, ?3)",
    };
    const char *what = table_names[table];
    if (!rp_recs__code_ok(code)) {
        return rp_error_set(err, RP_EDATA,
                            "%s code: expected 1-31 letters, digits, '_', '-' or '.'", what);
    }
    if (!text_ok(label, 1000, false)) {
        return rp_error_set(err, RP_EDATA, "%s label: expected at most 1000 bytes of text", what);
    }
    long long id = 0;
    int rc = rp_recs__code_id(&id, st, table, code, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (id != 0) {
        return rp_error_set(err, RP_EDATA, "%s '%s' exists already", what, code);
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(&stmt, st, sql[table], err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = rp_recs__bind_text(stmt, 1, code) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 2, kind) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 3, label) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add a code");
    }
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        return rc;
    }
    id = sqlite3_last_insert_rowid(st->db);
    rc = rp_recs__audit_txn(st, author, what, id, "code", NULL, code, err);
    if (rc == RP_OK && table != RP_RECS__THEMES) {
        rc = rp_recs__audit_txn(
            st, author, what, id, "kind", NULL,
            rp_recs_name(table == RP_RECS__SOURCES ? RP_RECS_V_SOURCE_KIND : RP_RECS_V_BODY_KIND,
                         kind),
            err);
    }
    if (rc == RP_OK && !empty(label)) {
        rc = rp_recs__audit_txn(st, author, what, id, table == RP_RECS__THEMES ? "label" : "name",
                                NULL, label, err);
    }
    return rc;
}

/* The public add-a-code functions: checks, one transaction. */
static int add_code(rp_store *st,
                    int table,
                    const char *code,
                    int kind,
                    int n_kinds,
                    const char *label,
                    const char *author,
                    rp_error *err)
{
    int rc = rp_recs__check_author(author, err);
    if (rc == RP_OK && (kind < 0 || kind >= n_kinds)) {
        rc = rp_error_set(err, RP_EINVAL, "%s kind out of range", table_names[table]);
    }
    if (rc == RP_OK) {
        rc = rp_recs__start(st, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_recs__add_code_txn(st, table, code, kind, label, author, err);
    return rp_recs__end(st, rc, err);
}

int rp_recs_add_source(rp_store *st,
                       const char *code,
                       rp_recs_source_kind kind,
                       const char *title,
                       const char *author,
                       rp_error *err)
{
    return add_code(st, RP_RECS__SOURCES, code, (int)kind, RP_RECS_SRC_KIND_COUNT, title, author,
                    err);
}

int rp_recs_add_theme(
    rp_store *st, const char *code, const char *label, const char *author, rp_error *err)
{
    return add_code(st, RP_RECS__THEMES, code, 0, 1, label, author, err);
}

int rp_recs_add_body(rp_store *st,
                     const char *code,
                     rp_recs_body_kind kind,
                     const char *name,
                     const char *author,
                     rp_error *err)
{
    return add_code(st, RP_RECS__BODIES, code, (int)kind, RP_RECS_BODY_KIND_COUNT, name, author,
                    err);
}

/* ==== recommendations ==== */

/* State of attaching themes or bodies to one recommendation. */
typedef struct attach {
    rp_store *st;
    long long rec_id;
    int table; /* RP_RECS__THEMES or RP_RECS__BODIES */
    const char *author;
} attach;

static int attach_one(const char *code, void *payload, rp_error *err)
{
    attach *a = payload;
    long long code_id = 0;
    int rc = rp_recs__code_id(&code_id, a->st, a->table, code, err);
    if (rc != RP_OK) {
        return rc;
    }
    bool theme = a->table == RP_RECS__THEMES;
    if (code_id == 0) {
        return rp_error_set(err, RP_EDATA, "unknown %s '%s' (add it first)",
                            theme ? "theme" : "responsible body", code);
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(&stmt, a->st,
                           theme ? "INSERT OR IGNORE INTO recs_rec_themes (rec_id, theme_id)"
                                   " VALUES (?1, ?2)"
                                 : "INSERT OR IGNORE INTO recs_rec_bodies (rec_id, body_id)"
                                   " VALUES (?1, ?2)",
                           err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = sqlite3_bind_int64(stmt, 1, a->rec_id) == SQLITE_OK &&
              sqlite3_bind_int64(stmt, 2, code_id) == SQLITE_OK &&
              sqlite3_step(stmt) == SQLITE_DONE;
    if (!ok) {
        rc = rp_store__sql_error(err, a->st->db, "cannot attach a code");
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK && sqlite3_changes(a->st->db) > 0) {
        rc = rp_recs__audit_txn(a->st, a->author, theme ? "rec_theme" : "rec_body", a->rec_id,
                                theme ? "theme" : "body", NULL, code, err);
    }
    return rc;
}

/* Check the fields of @p rec; the normalised state goes into @p state. */
static int
check_rec(const rp_rec *rec, char state[3], long long *source_id, rp_store *st, rp_error *err)
{
    if (!rp_recs__state_ok(state, rec->state)) {
        return bad_field(err, "state", "an ISO 3166-1 country code");
    }
    if (rec->round < 0 || rec->round > RP_RECS_ROUND_MAX) {
        return bad_field(err, "round", "a round from 0 (none) to 9");
    }
    if (!text_ok(rec->paragraph, 31, false) ||
        (rec->paragraph != NULL && strchr(rec->paragraph, '\n') != NULL)) {
        return bad_field(err, "paragraph", "at most 31 bytes on one line");
    }
    if (!text_ok(rec->text, TEXT_MAX, true)) {
        return bad_field(err, "text", "1 byte to 64 KiB of text");
    }
    if ((int)rec->strength < 0 || rec->strength >= RP_REC_STRENGTH_COUNT) {
        return bad_field(err, "strength", "none, urges, considers or invites");
    }
    if (!empty(rec->due_date) && !rp_recs__date_ok(rec->due_date)) {
        return bad_field(err, "due_date", "a date YYYY-MM-DD");
    }
    if (!empty(rec->ref) && !ref_ok(rec->ref)) {
        return bad_field(err, "ref", "1-63 bytes of text, not all digits");
    }
    if (!rp_recs__code_ok(rec->source)) {
        return bad_field(err, "source", "a source code");
    }
    int rc = rp_recs__code_id(source_id, st, RP_RECS__SOURCES, rec->source, err);
    if (rc == RP_OK && *source_id == 0) {
        rc = rp_error_set(err, RP_EDATA, "unknown source '%s' (add it first)", rec->source);
    }
    return rc;
}

/* The reference of a new recommendation without one: STATE/SOURCE/ROUND/PARAGRAPH. */
static int
make_ref(rp_x_buf *b, const rp_rec *rec, const char state[3], rp_store *st, rp_error *err)
{
    if (!empty(rec->ref)) {
        rp_x_buf_puts(b, rec->ref);
    } else if (!empty(rec->paragraph)) {
        rp_x_buf_printf(b, "%s/%s/%d/%s", state, rec->source, rec->round, rec->paragraph);
    } else {
        sqlite3_stmt *stmt = NULL;
        int rc =
            rp_store__prepare(&stmt, st, "SELECT coalesce(max(id), 0) + 1 FROM recs_recs", err);
        if (rc != RP_OK) {
            return rc;
        }
        if (sqlite3_step(stmt) != SQLITE_ROW) {
            rc = rp_store__sql_error(err, st->db, "cannot number a recommendation");
        } else {
            rp_x_buf_printf(b, "%s/%s/%d/r%lld", state, rec->source, rec->round,
                            (long long)sqlite3_column_int64(stmt, 0));
        }
        sqlite3_finalize(stmt);
        if (rc != RP_OK) {
            return rc;
        }
    }
    if (rp_x_buf_oom(b)) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (b->len >= RP_RECS_REF_MAX) {
        return bad_field(err, "ref", "at most 63 bytes (the paragraph makes it too long)");
    }
    return RP_OK;
}

static int insert_history(rp_store *st,
                          long long rec_id,
                          int old_status,
                          rp_rec_status status,
                          const char *date,
                          const char *author,
                          const char *note,
                          long long progress_id,
                          rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_status_history (rec_id, old_status, status,"
                               " changed_on, author, note, progress_id)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = sqlite3_bind_int64(stmt, 1, rec_id) == SQLITE_OK &&
              (old_status < 0 ? sqlite3_bind_null(stmt, 2)
                              : sqlite3_bind_int(stmt, 2, old_status)) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 3, (int)status) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 4, date) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 5, author) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 6, note) == SQLITE_OK &&
              (progress_id > 0 ? sqlite3_bind_int64(stmt, 7, progress_id)
                               : sqlite3_bind_null(stmt, 7)) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot record a status");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Audit the creation of recommendation @p id: one entry per field given. */
static int audit_new_rec(rp_store *st,
                         long long id,
                         const rp_rec *rec,
                         const char *ref,
                         const char *state,
                         const char *author,
                         rp_error *err)
{
    char round[16];
    snprintf(round, sizeof(round), "%d", rec->round);
    const char *fields[][2] = {
        {"ref", ref},
        {"state", state},
        {"source", rec->source},
        {"round", round},
        {"paragraph", rec->paragraph},
        {"strength", rp_recs_name(RP_RECS_V_STRENGTH, (int)rec->strength)},
        {"text", rec->text},
        {"due_date", rec->due_date},
        {"status", rp_recs_name(RP_RECS_V_STATUS, RP_REC_NOT_STARTED)},
    };
    int rc = RP_OK;
    for (size_t i = 0; i < RP_ARRAY_LEN(fields) && rc == RP_OK; i++) {
        if (!empty(fields[i][1])) {
            rc = rp_recs__audit_txn(st, author, "rec", id, fields[i][0], NULL, fields[i][1], err);
        }
    }
    return rc;
}

int rp_recs__add_txn(long long *id_out,
                     rp_store *st,
                     const rp_rec *rec,
                     const char *author,
                     const char *created_on,
                     const char *created_by,
                     rp_error *err)
{
    char state[3];
    long long source_id = 0;
    rp_x_buf ref = RP_X_BUF_INIT;
    sqlite3_stmt *stmt = NULL;
    long long id = 0;
    if (created_by == NULL) {
        created_by = author;
    }
    int rc = check_rec(rec, state, &source_id, st, err);
    if (rc == RP_OK && strcmp(created_by, author) != 0 &&
        rp_recs__check_author(created_by, NULL) != RP_OK) {
        rc = bad_field(err, "author", "1-200 bytes of UTF-8 (the creation's author)");
    }
    if (rc == RP_OK) {
        rc = make_ref(&ref, rec, state, st, err);
    }
    if (rc == RP_OK) {
        rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_recs (ref, state, source_id, round, paragraph,"
                               " strength, text, due_date, status, status_date, created_on)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9)",
                               err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    bool ok = rp_recs__bind_text(stmt, 1, rp_x_buf_cstr(&ref)) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 2, state) == SQLITE_OK &&
              sqlite3_bind_int64(stmt, 3, source_id) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 4, rec->round) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 5, rec->paragraph) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 6, (int)rec->strength) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 7, rec->text) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 8, rec->due_date) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 9, created_on) == SQLITE_OK;
    int s = ok ? sqlite3_step(stmt) : SQLITE_ERROR;
    if ((s & 0xff) == SQLITE_CONSTRAINT) {
        rc = rp_error_set(err, RP_EDATA, "recommendation '%s' exists already", rp_x_buf_cstr(&ref));
        goto out;
    }
    if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add a recommendation");
        goto out;
    }
    id = sqlite3_last_insert_rowid(st->db);
    rc = audit_new_rec(st, id, rec, rp_x_buf_cstr(&ref), state, author, err);
    if (rc == RP_OK && strcmp(created_by, author) != 0) {
        rc = rp_recs__audit_txn(st, author, "rec", id, "created_by", NULL, created_by, err);
    }
    if (rc == RP_OK) {
        rc = insert_history(st, id, -1, RP_REC_NOT_STARTED, created_on, created_by, "", 0, err);
    }
    attach a = {st, id, RP_RECS__THEMES, author};
    if (rc == RP_OK) {
        rc = each_code(rec->themes, "themes", attach_one, &a, err);
    }
    a.table = RP_RECS__BODIES;
    if (rc == RP_OK) {
        rc = each_code(rec->bodies, "bodies", attach_one, &a, err);
    }
    if (rc == RP_OK && id_out != NULL) {
        *id_out = id;
    }
out:
    sqlite3_finalize(stmt);
    rp_x_buf_release(&ref);
    return rc;
}

int rp_recs_add(
    long long *id_out, rp_store *st, const rp_rec *rec, const char *author, rp_error *err)
{
    if (rec == NULL) {
        return rp_error_set(err, RP_EINVAL, "no recommendation given");
    }
    int rc = rp_recs__start_by(st, author, err);
    if (rc != RP_OK) {
        return rc;
    }
    char today[11];
    rp_recs__today(today);
    rc = rp_recs__add_txn(id_out, st, rec, author, today, NULL, err);
    return rp_recs__end(st, rc, err);
}

/* ==== status ==== */

/* The current status of recommendation @p id and the date of its last change ("" when
 * it never changed: entering an old recommendation today does not date its history). */
static int current_status(
    rp_store *st, long long id, int *status, char last_change[11], char since[11], rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    int rc = rp_recs__query_id(&stmt, &row, st,
                               "SELECT status, coalesce((SELECT max(changed_on) FROM"
                               " recs_status_history WHERE rec_id = ?1 AND old_status IS NOT"
                               " NULL), ''), status_date FROM recs_recs WHERE id = ?1",
                               id, "cannot read a status", err);
    if (rc == RP_OK && row) {
        *status = sqlite3_column_int(stmt, 0);
        rp_x_strlcpy(last_change, rp_recs__col_text(stmt, 1), 11);
        rp_x_strlcpy(since, rp_recs__col_text(stmt, 2), 11);
    } else if (rc == RP_OK) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no recommendation with id %lld", id);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Check @p chg: author, date (filled in @p date, today when absent), note, evidence. */
static int check_change(const rp_recs_change *chg, char date[11], rp_error *err)
{
    if (chg == NULL) {
        return rp_error_set(err, RP_EINVAL, "no change given (author, date, note)");
    }
    int rc = rp_recs__check_author(chg->author, err);
    if (rc != RP_OK) {
        return rc;
    }
    char today[11];
    rp_recs__today(today);
    if (empty(chg->date)) {
        rp_x_strlcpy(date, today, 11);
    } else if (!rp_recs__date_ok(chg->date)) {
        return bad_field(err, "date", "a date YYYY-MM-DD");
    } else if (strcmp(chg->date, today) > 0) {
        /* A future date would block every later change (none may be dated before it). */
        return rp_error_set(err, RP_EDATA, "field 'date': %s is after today (%s, UTC)", chg->date,
                            today);
    } else {
        rp_x_strlcpy(date, chg->date, 11);
    }
    if (!text_ok(chg->note, TEXT_MAX, false)) {
        return bad_field(err, "note", "at most 64 KiB of text");
    }
    if (chg->n_evidence > 0 && chg->evidence == NULL) {
        return rp_error_set(err, RP_EINVAL, "evidence count without links");
    }
    for (size_t i = 0; i < chg->n_evidence; i++) {
        if (!text_ok(chg->evidence[i], LINK_MAX, true) || strchr(chg->evidence[i], '\n')) {
            return bad_field(err, "evidence", "links of 1-2048 bytes on one line");
        }
    }
    return RP_OK;
}

/*
 * Insert a progress report by chg->author; its audit entries name @p auditor (who
 * records it: the importer's author when a file supplies the report's own author),
 * with an entry "author" holding the report's author when the two differ.
 */
static int insert_progress(long long *id_out,
                           rp_store *st,
                           const long long owner[3],
                           double value,
                           const rp_recs_change *chg,
                           const char *date,
                           const char *auditor,
                           rp_error *err)
{
    static const char *const owner_fields[] = {"rec", "action", "indicator"};
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_progress (rec_id, action_id, indicator_id,"
                               " reported_on, author, value, note)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        ok = ok && (owner[i] > 0 ? sqlite3_bind_int64(stmt, i + 1, owner[i])
                                 : sqlite3_bind_null(stmt, i + 1)) == SQLITE_OK;
    }
    ok = ok && rp_recs__bind_text(stmt, 4, date) == SQLITE_OK &&
         rp_recs__bind_text(stmt, 5, chg->author) == SQLITE_OK &&
         (isnan(value) ? sqlite3_bind_null(stmt, 6) : sqlite3_bind_double(stmt, 6, value)) ==
             SQLITE_OK &&
         rp_recs__bind_text(stmt, 7, chg->note) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add a progress report");
    }
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        return rc;
    }
    long long id = sqlite3_last_insert_rowid(st->db);
    for (int i = 0; i < 3 && rc == RP_OK; i++) {
        if (owner[i] > 0) {
            rc =
                rp_recs__audit_int_txn(st, auditor, "progress", id, owner_fields[i], owner[i], err);
        }
    }
    if (rc == RP_OK) {
        rc = rp_recs__audit_txn(st, auditor, "progress", id, "reported_on", NULL, date, err);
    }
    if (rc == RP_OK && strcmp(auditor, chg->author) != 0) {
        rc = rp_recs__audit_txn(st, auditor, "progress", id, "author", NULL, chg->author, err);
    }
    if (rc == RP_OK && !isnan(value)) {
        char v[64];
        snprintf(v, sizeof(v), "%.17g", value);
        rc = rp_recs__audit_txn(st, auditor, "progress", id, "value", NULL, v, err);
    }
    if (rc == RP_OK && !empty(chg->note)) {
        rc = rp_recs__audit_txn(st, auditor, "progress", id, "note", NULL, chg->note, err);
    }
    for (size_t i = 0; i < chg->n_evidence && rc == RP_OK; i++) {
        rc = rp_store__prepare(
            &stmt, st, "INSERT INTO recs_evidence (progress_id, link) VALUES (?1, ?2)", err);
        if (rc != RP_OK) {
            break;
        }
        ok = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK &&
             rp_recs__bind_text(stmt, 2, chg->evidence[i]) == SQLITE_OK &&
             sqlite3_step(stmt) == SQLITE_DONE;
        if (!ok) {
            rc = rp_store__sql_error(err, st->db, "cannot add evidence");
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
        if (rc == RP_OK) {
            rc = rp_recs__audit_txn(st, auditor, "evidence", sqlite3_last_insert_rowid(st->db),
                                    "link", NULL, chg->evidence[i], err);
        }
    }
    if (rc == RP_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

int rp_recs__set_status_txn(rp_store *st,
                            long long id,
                            rp_rec_status to,
                            const rp_recs_change *chg,
                            const char *auditor,
                            rp_error *err)
{
    char date[11];
    char last_change[11] = "";
    char since[11] = "";
    int from = 0;
    int rc = check_change(chg, date, err);
    if (rc == RP_OK) {
        rc = current_status(st, id, &from, last_change, since, err);
    }
    if (rc == RP_OK) {
        rc = rp_recs_transition_check((rp_rec_status)from, to, chg->note, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    if (auditor == NULL) {
        auditor = chg->author;
    }
    if (strcmp(date, last_change) < 0) {
        return rp_error_set(err, RP_EDATA, "date %s is before the last status change (%s)", date,
                            last_change);
    }
    long long progress_id = 0;
    if (!empty(chg->note) || chg->n_evidence > 0) {
        const long long owner[3] = {id, 0, 0};
        rc = insert_progress(&progress_id, st, owner, NAN, chg, date, auditor, err);
    }
    if (rc == RP_OK) {
        rc = insert_history(st, id, from, to, date, chg->author, chg->note, progress_id, err);
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == RP_OK) {
        rc = rp_store__prepare(
            &stmt, st, "UPDATE recs_recs SET status = ?2, status_date = ?3 WHERE id = ?1", err);
    }
    if (rc == RP_OK) {
        bool ok = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK &&
                  sqlite3_bind_int(stmt, 2, (int)to) == SQLITE_OK &&
                  rp_recs__bind_text(stmt, 3, date) == SQLITE_OK &&
                  sqlite3_step(stmt) == SQLITE_DONE;
        if (!ok) {
            rc = rp_store__sql_error(err, st->db, "cannot change a status");
        }
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = rp_recs__audit_txn(st, auditor, "rec", id, "status",
                                rp_recs_name(RP_RECS_V_STATUS, from),
                                rp_recs_name(RP_RECS_V_STATUS, (int)to), err);
    }
    if (rc == RP_OK) {
        rc = rp_recs__audit_txn(st, auditor, "rec", id, "status_date", since, date, err);
    }
    if (rc == RP_OK && strcmp(auditor, chg->author) != 0) {
        rc = rp_recs__audit_txn(st, auditor, "rec", id, "status_author", NULL, chg->author, err);
    }
    return rc;
}

int rp_recs_set_status(
    rp_store *st, long long id, rp_rec_status to, const rp_recs_change *chg, rp_error *err)
{
    int rc = rp_recs__start(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_recs__set_status_txn(st, id, to, chg, NULL, err);
    return rp_recs__end(st, rc, err);
}

/* ==== field edits ==== */

/* Remove every theme (body) of @p rec_id, auditing each. */
static int detach_all(rp_store *st, long long rec_id, int table, const char *author, rp_error *err)
{
    bool theme = table == RP_RECS__THEMES;
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               theme ? "SELECT th.code FROM recs_rec_themes t JOIN recs_themes th"
                                       " ON th.id = t.theme_id WHERE t.rec_id = ?1 ORDER BY 1"
                                     : "SELECT bo.code FROM recs_rec_bodies b JOIN recs_bodies bo"
                                       " ON bo.id = b.body_id WHERE b.rec_id = ?1 ORDER BY 1",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = sqlite3_bind_int64(stmt, 1, rec_id) == SQLITE_OK ? SQLITE_ROW : SQLITE_ERROR;
    while (rc == RP_OK && s == SQLITE_ROW) {
        s = sqlite3_step(stmt);
        if (s == SQLITE_ROW) {
            rc =
                rp_recs__audit_txn(st, author, theme ? "rec_theme" : "rec_body", rec_id,
                                   theme ? "theme" : "body", rp_recs__col_text(stmt, 0), NULL, err);
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the codes of a recommendation");
    }
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_store__prepare(&stmt, st,
                           theme ? "DELETE FROM recs_rec_themes WHERE rec_id = ?1"
                                 : "DELETE FROM recs_rec_bodies WHERE rec_id = ?1",
                           err);
    if (rc == RP_OK &&
        (sqlite3_bind_int64(stmt, 1, rec_id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)) {
        rc = rp_store__sql_error(err, st->db, "cannot remove the codes of a recommendation");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Update one column of recs_recs, auditing old and new text. */
static int update_column(rp_store *st,
                         long long id,
                         int column,
                         const char *value,
                         int int_value,
                         const char *author,
                         rp_error *err)
{
    static const char *const names[] = {"text", "due_date", "paragraph", "strength"};
    static const char *const select_sql[] = {
        "SELECT text FROM recs_recs WHERE id = ?1",
        "SELECT due_date FROM recs_recs WHERE id = ?1",
        "SELECT paragraph FROM recs_recs WHERE id = ?1",
        "SELECT strength FROM recs_recs WHERE id = ?1",
    };
    static const char *const update_sql[] = {
        "UPDATE recs_recs SET text = ?2 WHERE id = ?1",
        "UPDATE recs_recs SET due_date = ?2 WHERE id = ?1",
        "UPDATE recs_recs SET paragraph = ?2 WHERE id = ?1",
        "UPDATE recs_recs SET strength = ?2 WHERE id = ?1",
    };
    sqlite3_stmt *stmt = NULL;
    char *old = NULL;
    int rc = rp_store__prepare(&stmt, st, select_sql[column], err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot read a recommendation");
    } else if (column == 3) {
        old = rp_strdup(rp_recs_name(RP_RECS_V_STRENGTH, sqlite3_column_int(stmt, 0)));
    } else {
        old = rp_strdup(rp_recs__col_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == RP_OK && old == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (rc == RP_OK) {
        rc = rp_store__prepare(&stmt, st, update_sql[column], err);
    }
    if (rc == RP_OK) {
        bool ok = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK &&
                  (column == 3 ? sqlite3_bind_int(stmt, 2, int_value)
                               : rp_recs__bind_text(stmt, 2, value)) == SQLITE_OK &&
                  sqlite3_step(stmt) == SQLITE_DONE;
        if (!ok) {
            rc = rp_store__sql_error(err, st->db, "cannot update a recommendation");
        }
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = rp_recs__audit_txn(st, author, "rec", id, names[column], old,
                                column == 3 ? rp_recs_name(RP_RECS_V_STRENGTH, int_value) : value,
                                err);
    }
    rp_free(old);
    return rc;
}

static int set_field_txn(rp_store *st,
                         long long id,
                         const char *field,
                         const char *value,
                         const char *author,
                         rp_error *err)
{
    int rc = need(st, false, id, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (strcmp(field, "themes") == 0 || strcmp(field, "bodies") == 0) {
        int table = field[0] == 't' ? RP_RECS__THEMES : RP_RECS__BODIES;
        attach a = {st, id, table, author};
        rc = detach_all(st, id, table, author, err);
        return rc != RP_OK ? rc : each_code(value, field, attach_one, &a, err);
    }
    if (strcmp(field, "text") == 0) {
        return text_ok(value, TEXT_MAX, true) ? update_column(st, id, 0, value, 0, author, err)
                                              : bad_field(err, "text", "1 byte to 64 KiB of text");
    }
    if (strcmp(field, "due_date") == 0) {
        return empty(value) || rp_recs__date_ok(value)
                   ? update_column(st, id, 1, value, 0, author, err)
                   : bad_field(err, "due_date", "a date YYYY-MM-DD or \"\"");
    }
    if (strcmp(field, "paragraph") == 0) {
        return text_ok(value, 31, false) && strchr(value != NULL ? value : "", '\n') == NULL
                   ? update_column(st, id, 2, value, 0, author, err)
                   : bad_field(err, "paragraph", "at most 31 bytes on one line");
    }
    if (strcmp(field, "strength") == 0) {
        int v = 0;
        if (rp_recs_parse(&v, RP_RECS_V_STRENGTH, value) != RP_OK) {
            return bad_field(err, "strength", "none, urges, considers or invites");
        }
        return update_column(st, id, 3, NULL, v, author, err);
    }
    return rp_error_set(err, RP_EDATA,
                        "unknown field (expected text, due_date, paragraph, strength, themes or "
                        "bodies)");
}

int rp_recs_set_field(rp_store *st,
                      long long id,
                      const char *field,
                      const char *value,
                      const char *author,
                      rp_error *err)
{
    if (field == NULL) {
        return rp_error_set(err, RP_EINVAL, "no field given");
    }
    int rc = rp_recs__start_by(st, author, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = set_field_txn(st, id, field, value, author, err);
    return rp_recs__end(st, rc, err);
}

/* ==== links ==== */

/* What the link rules need of a recommendation. */
typedef struct link_end {
    char state[4];
    long long source_id;
    int round;
    char created[11]; /* the earliest entry of its history */
} link_end;

static int link_end_of(link_end *e, rp_store *st, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    int rc = rp_recs__query_id(&stmt, &row, st,
                               "SELECT r.state, r.source_id, r.round, coalesce((SELECT"
                               " min(changed_on) FROM recs_status_history h WHERE h.rec_id ="
                               " r.id), r.created_on) FROM recs_recs r WHERE r.id = ?1",
                               id, "cannot read a recommendation", err);
    if (rc == RP_OK && row) {
        rp_x_strlcpy(e->state, rp_recs__col_text(stmt, 0), sizeof(e->state));
        e->source_id = sqlite3_column_int64(stmt, 1);
        e->round = sqlite3_column_int(stmt, 2);
        rp_x_strlcpy(e->created, rp_recs__col_text(stmt, 3), sizeof(e->created));
    } else if (rc == RP_OK) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no recommendation with id %lld", id);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* True (in *yes) when recommendation @p to already leads to @p from through links. */
static int reaches(bool *yes, rp_store *st, long long to, long long from, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *yes = false;
    int rc = rp_store__prepare(&stmt, st,
                               "WITH RECURSIVE reach(id) AS (SELECT ?1 UNION SELECT l.to_id FROM"
                               " recs_links l JOIN reach ON l.from_id = reach.id)"
                               " SELECT 1 FROM reach WHERE id = ?2",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = sqlite3_bind_int64(stmt, 1, to) == SQLITE_OK &&
                    sqlite3_bind_int64(stmt, 2, from) == SQLITE_OK
                ? sqlite3_step(stmt)
                : SQLITE_ERROR;
    if (s == SQLITE_ROW) {
        *yes = true;
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot follow the links");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*
 * The link rules: a recommendation repeats or follows up an earlier one of the same
 * state. Earlier means a lower round of the same source when both have rounds, else a
 * history that starts no later; and no chain of links may lead back to @p from.
 */
static int check_link(rp_store *st, long long from, long long to, rp_error *err)
{
    if (from == to) {
        return rp_error_set(err, RP_EDATA, "a recommendation cannot be linked to itself");
    }
    link_end a = {"", 0, 0, ""};
    link_end b = {"", 0, 0, ""};
    int rc = link_end_of(&a, st, from, err);
    if (rc == RP_OK) {
        rc = link_end_of(&b, st, to, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    if (strcmp(a.state, b.state) != 0) {
        return rp_error_set(err, RP_EDATA,
                            "recommendations %lld (%s) and %lld (%s) are of different states: a "
                            "link joins recommendations of one state",
                            from, a.state, to, b.state);
    }
    bool rounds = a.source_id == b.source_id && a.round > 0 && b.round > 0;
    if (rounds && b.round >= a.round) {
        return rp_error_set(err, RP_EDATA,
                            "recommendation %lld (round %d) can only be linked to an earlier "
                            "round, not to round %d",
                            from, a.round, b.round);
    }
    if (!rounds && strcmp(b.created, a.created) > 0) {
        return rp_error_set(err, RP_EDATA,
                            "recommendation %lld (of %s) can only be linked to an earlier one, "
                            "not to one of %s",
                            from, a.created, b.created);
    }
    bool cycle = false;
    rc = reaches(&cycle, st, to, from, err);
    if (rc == RP_OK && cycle) {
        rc = rp_error_set(err, RP_EDATA,
                          "recommendation %lld already leads to %lld: the link would close a cycle",
                          to, from);
    }
    return rc;
}

int rp_recs__link_txn(rp_store *st,
                      long long from,
                      long long to,
                      rp_rec_link_kind kind,
                      const char *author,
                      rp_error *err)
{
    if ((int)kind < 0 || kind >= RP_REC_LINK_KIND_COUNT) {
        return rp_error_set(err, RP_EINVAL, "link kind out of range");
    }
    int rc = need(st, false, from, err);
    if (rc == RP_OK) {
        rc = need(st, false, to, err);
    }
    if (rc == RP_OK) {
        rc = check_link(st, from, to, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(
        &stmt, st, "INSERT INTO recs_links (from_id, to_id, kind) VALUES (?1, ?2, ?3)", err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = sqlite3_bind_int64(stmt, 1, from) == SQLITE_OK &&
                    sqlite3_bind_int64(stmt, 2, to) == SQLITE_OK &&
                    sqlite3_bind_int(stmt, 3, (int)kind) == SQLITE_OK
                ? sqlite3_step(stmt)
                : SQLITE_ERROR;
    if ((s & 0xff) == SQLITE_CONSTRAINT) {
        rc = rp_error_set(err, RP_EDATA, "recommendation %lld already %s %lld", from,
                          kind == RP_REC_REPEATS ? "repeats" : "follows up", to);
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot link recommendations");
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = rp_recs__audit_int_txn(st, author, "link", from,
                                    rp_recs_name(RP_RECS_V_LINK, (int)kind), to, err);
    }
    return rc;
}

/* Remove the link, auditing the old target. */
static int unlink_txn(rp_store *st,
                      long long from,
                      long long to,
                      rp_rec_link_kind kind,
                      const char *author,
                      rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(
        &stmt, st, "DELETE FROM recs_links WHERE from_id = ?1 AND to_id = ?2 AND kind = ?3", err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = sqlite3_bind_int64(stmt, 1, from) == SQLITE_OK &&
              sqlite3_bind_int64(stmt, 2, to) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 3, (int)kind) == SQLITE_OK &&
              sqlite3_step(stmt) == SQLITE_DONE;
    if (!ok) {
        rc = rp_store__sql_error(err, st->db, "cannot remove a link");
    } else if (sqlite3_changes(st->db) == 0) {
        rc = rp_error_set(err, RP_ENOTFOUND, "recommendation %lld does not %s %lld", from,
                          kind == RP_REC_REPEATS ? "repeat" : "follow up", to);
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        char old[32];
        snprintf(old, sizeof(old), "%lld", to);
        rc = rp_recs__audit_txn(st, author, "link", from, rp_recs_name(RP_RECS_V_LINK, (int)kind),
                                old, NULL, err);
    }
    return rc;
}

/* The public link and unlink: checks, one transaction. */
static int link_or_unlink(rp_store *st,
                          long long from,
                          long long to,
                          rp_rec_link_kind kind,
                          bool remove,
                          const char *author,
                          rp_error *err)
{
    int rc = rp_recs__check_author(author, err);
    if (rc == RP_OK && ((int)kind < 0 || kind >= RP_REC_LINK_KIND_COUNT)) {
        rc = rp_error_set(err, RP_EINVAL, "link kind out of range");
    }
    if (rc == RP_OK) {
        rc = rp_recs__start(st, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    rc = remove ? unlink_txn(st, from, to, kind, author, err)
                : rp_recs__link_txn(st, from, to, kind, author, err);
    return rp_recs__end(st, rc, err);
}

int rp_recs_link(rp_store *st,
                 long long from,
                 long long to,
                 rp_rec_link_kind kind,
                 const char *author,
                 rp_error *err)
{
    return link_or_unlink(st, from, to, kind, false, author, err);
}

int rp_recs_unlink(rp_store *st,
                   long long from,
                   long long to,
                   rp_rec_link_kind kind,
                   const char *author,
                   rp_error *err)
{
    return link_or_unlink(st, from, to, kind, true, author, err);
}

/* ==== actions ==== */

int rp_recs__action_link_txn(
    rp_store *st, long long action, long long rec, const char *author, rp_error *err)
{
    int rc = need(st, true, action, err);
    if (rc == RP_OK) {
        rc = need(st, false, rec, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(&stmt, st,
                           "INSERT INTO recs_action_recs (action_id, rec_id) VALUES (?1, ?2)", err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = sqlite3_bind_int64(stmt, 1, action) == SQLITE_OK &&
                    sqlite3_bind_int64(stmt, 2, rec) == SQLITE_OK
                ? sqlite3_step(stmt)
                : SQLITE_ERROR;
    if ((s & 0xff) == SQLITE_CONSTRAINT) {
        rc = rp_error_set(err, RP_EDATA, "action %lld is already linked to recommendation %lld",
                          action, rec);
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot link an action");
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = rp_recs__audit_int_txn(st, author, "action_rec", action, "rec", rec, err);
    }
    return rc;
}

static int check_action(const rp_recs_action *a, rp_error *err)
{
    if (!text_ok(a->title, TEXT_MAX, true)) {
        return bad_field(err, "title", "1 byte to 64 KiB of text");
    }
    if (!empty(a->ref) && !ref_ok(a->ref)) {
        return bad_field(err, "ref", "1-63 bytes of text, not all digits");
    }
    if (!empty(a->start_date) && !rp_recs__date_ok(a->start_date)) {
        return bad_field(err, "start_date", "a date YYYY-MM-DD");
    }
    if (!empty(a->due_date) && !rp_recs__date_ok(a->due_date)) {
        return bad_field(err, "due_date", "a date YYYY-MM-DD");
    }
    if (!empty(a->body) && !rp_recs__code_ok(a->body)) {
        return bad_field(err, "body", "a body code");
    }
    return RP_OK;
}

/* The next free action id and, when @p a has none, its ref "A<id>". */
static int action_ref(
    long long *id, char ref[RP_RECS_REF_MAX], rp_store *st, const rp_recs_action *a, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, "SELECT coalesce(max(id), 0) + 1 FROM recs_actions", err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot number an action");
    } else {
        *id = sqlite3_column_int64(stmt, 0);
        if (empty(a->ref)) {
            snprintf(ref, RP_RECS_REF_MAX, "A%lld", *id);
        } else {
            rp_x_strlcpy(ref, a->ref, RP_RECS_REF_MAX);
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int audit_new_action(rp_store *st,
                            long long id,
                            const rp_recs_action *a,
                            const char *ref,
                            const char *author,
                            rp_error *err)
{
    const char *fields[][2] = {{"ref", ref},
                               {"title", a->title},
                               {"body", a->body},
                               {"start_date", a->start_date},
                               {"due_date", a->due_date}};
    int rc = RP_OK;
    for (size_t i = 0; i < RP_ARRAY_LEN(fields) && rc == RP_OK; i++) {
        if (!empty(fields[i][1])) {
            rc =
                rp_recs__audit_txn(st, author, "action", id, fields[i][0], NULL, fields[i][1], err);
        }
    }
    return rc;
}

int rp_recs__add_action_txn(long long *id_out,
                            rp_store *st,
                            const rp_recs_action *a,
                            const long long *recs,
                            size_t n_recs,
                            const char *author,
                            rp_error *err)
{
    long long body_id = 0;
    long long id = 0;
    char ref[RP_RECS_REF_MAX] = "";
    char today[11];
    rp_recs__today(today);
    int rc = check_action(a, err);
    if (rc == RP_OK && !empty(a->body)) {
        rc = rp_recs__code_id(&body_id, st, RP_RECS__BODIES, a->body, err);
        if (rc == RP_OK && body_id == 0) {
            rc = rp_error_set(err, RP_EDATA, "unknown responsible body '%s' (add it first)",
                              a->body);
        }
    }
    if (rc == RP_OK) {
        rc = action_ref(&id, ref, st, a, err);
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == RP_OK) {
        rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_actions (id, ref, title, body_id, start_date,"
                               " due_date, created_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 2, ref) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 3, a->title) == SQLITE_OK &&
              (body_id > 0 ? sqlite3_bind_int64(stmt, 4, body_id) : sqlite3_bind_null(stmt, 4)) ==
                  SQLITE_OK &&
              rp_recs__bind_text(stmt, 5, a->start_date) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 6, a->due_date) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 7, today) == SQLITE_OK;
    int s = ok ? sqlite3_step(stmt) : SQLITE_ERROR;
    if ((s & 0xff) == SQLITE_CONSTRAINT) {
        rc = rp_error_set(err, RP_EDATA, "action '%s' exists already", ref);
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add an action");
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = audit_new_action(st, id, a, ref, author, err);
    }
    for (size_t i = 0; i < n_recs && rc == RP_OK; i++) {
        rc = rp_recs__action_link_txn(st, id, recs[i], author, err);
    }
    if (rc == RP_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

int rp_recs_add_action(long long *id_out,
                       rp_store *st,
                       const rp_recs_action *action,
                       const long long *recs,
                       size_t n_recs,
                       const char *author,
                       rp_error *err)
{
    if (action == NULL || (n_recs > 0 && recs == NULL)) {
        return rp_error_set(err, RP_EINVAL, "no action given");
    }
    int rc = rp_recs__start_by(st, author, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_recs__add_action_txn(id_out, st, action, recs, n_recs, author, err);
    return rp_recs__end(st, rc, err);
}

int rp_recs_action_link(
    rp_store *st, long long action, long long rec, const char *author, rp_error *err)
{
    return rp_recs_action_link_many(st, action, &rec, 1, author, err);
}

int rp_recs_action_link_many(rp_store *st,
                             long long action,
                             const long long *recs,
                             size_t n_recs,
                             const char *author,
                             rp_error *err)
{
    if (n_recs > 0 && recs == NULL) {
        return rp_error_set(err, RP_EINVAL, "no recommendations given");
    }
    int rc = rp_recs__start_by(st, author, err);
    if (rc != RP_OK) {
        return rc;
    }
    for (size_t i = 0; i < n_recs && rc == RP_OK; i++) {
        rc = rp_recs__action_link_txn(st, action, recs[i], author, err);
    }
    return rp_recs__end(st, rc, err);
}

/* ==== indicators and progress ==== */

static int check_indicator(const rp_recs_indicator *ind, rp_error *err)
{
    if ((ind->rec_id > 0) == (ind->action_id > 0)) {
        return rp_error_set(err, RP_EDATA,
                            "an indicator belongs to exactly one recommendation or action");
    }
    if (!text_ok(ind->name, 1000, true) || strchr(ind->name, '\n') != NULL) {
        return bad_field(err, "name", "1-1000 bytes on one line");
    }
    if (!text_ok(ind->unit, 100, false)) {
        return bad_field(err, "unit", "at most 100 bytes");
    }
    if (isinf(ind->baseline) || isinf(ind->target)) {
        return bad_field(err, isinf(ind->target) ? "target" : "baseline", "a finite number");
    }
    if ((int)ind->frequency < 0 || ind->frequency >= RP_RECS_FREQ_COUNT) {
        return bad_field(err, "frequency",
                         "none, monthly, quarterly, semiannual, annual or biennial");
    }
    if (!empty(ind->due_date) && !rp_recs__date_ok(ind->due_date)) {
        return bad_field(err, "due_date", "a date YYYY-MM-DD");
    }
    return RP_OK;
}

static int audit_new_indicator(
    rp_store *st, long long id, const rp_recs_indicator *ind, const char *author, rp_error *err)
{
    char baseline[64] = "";
    char target[64] = "";
    if (!isnan(ind->baseline)) {
        snprintf(baseline, sizeof(baseline), "%.17g", ind->baseline);
    }
    if (!isnan(ind->target)) {
        snprintf(target, sizeof(target), "%.17g", ind->target);
    }
    int rc = rp_recs__audit_int_txn(st, author, "indicator", id, ind->rec_id > 0 ? "rec" : "action",
                                    ind->rec_id > 0 ? ind->rec_id : ind->action_id, err);
    const char *fields[][2] = {
        {"name", ind->name},
        {"unit", ind->unit},
        {"baseline", baseline},
        {"target", target},
        {"frequency", rp_recs_name(RP_RECS_V_FREQUENCY, (int)ind->frequency)},
        {"due_date", ind->due_date},
    };
    for (size_t i = 0; i < RP_ARRAY_LEN(fields) && rc == RP_OK; i++) {
        if (!empty(fields[i][1])) {
            rc = rp_recs__audit_txn(st, author, "indicator", id, fields[i][0], NULL, fields[i][1],
                                    err);
        }
    }
    return rc;
}

int rp_recs__add_indicator_txn(long long *id_out,
                               rp_store *st,
                               const rp_recs_indicator *ind,
                               const char *author,
                               rp_error *err)
{
    int rc = check_indicator(ind, err);
    if (rc == RP_OK) {
        rc = need(st, ind->action_id > 0, ind->rec_id > 0 ? ind->rec_id : ind->action_id, err);
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == RP_OK) {
        rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO recs_indicators (rec_id, action_id, name, unit,"
                               " baseline, target, frequency, due_date)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = (ind->rec_id > 0 ? sqlite3_bind_int64(stmt, 1, ind->rec_id)
                               : sqlite3_bind_null(stmt, 1)) == SQLITE_OK &&
              (ind->action_id > 0 ? sqlite3_bind_int64(stmt, 2, ind->action_id)
                                  : sqlite3_bind_null(stmt, 2)) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 3, ind->name) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 4, ind->unit) == SQLITE_OK &&
              (isnan(ind->baseline) ? sqlite3_bind_null(stmt, 5)
                                    : sqlite3_bind_double(stmt, 5, ind->baseline)) == SQLITE_OK &&
              (isnan(ind->target) ? sqlite3_bind_null(stmt, 6)
                                  : sqlite3_bind_double(stmt, 6, ind->target)) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 7, (int)ind->frequency) == SQLITE_OK &&
              rp_recs__bind_text(stmt, 8, ind->due_date) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add an indicator");
    }
    sqlite3_finalize(stmt);
    long long id = sqlite3_last_insert_rowid(st->db);
    if (rc == RP_OK) {
        rc = audit_new_indicator(st, id, ind, author, err);
    }
    if (rc == RP_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

int rp_recs_add_indicator(long long *id_out,
                          rp_store *st,
                          const rp_recs_indicator *ind,
                          const char *author,
                          rp_error *err)
{
    if (ind == NULL) {
        return rp_error_set(err, RP_EINVAL, "no indicator given");
    }
    int rc = rp_recs__start_by(st, author, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_recs__add_indicator_txn(id_out, st, ind, author, err);
    return rp_recs__end(st, rc, err);
}

/* RP_ENOTFOUND unless indicator @p id exists. */
static int need_indicator(rp_store *st, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    int rc = rp_recs__query_id(&stmt, &row, st, "SELECT 1 FROM recs_indicators WHERE id = ?1", id,
                               "cannot look up an indicator", err);
    sqlite3_finalize(stmt);
    if (rc == RP_OK && !row) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no indicator with id %lld", id);
    }
    return rc;
}

int rp_recs__add_progress_txn(long long *id_out,
                              rp_store *st,
                              long long rec_id,
                              long long action_id,
                              long long indicator_id,
                              double value,
                              const rp_recs_change *chg,
                              const char *auditor,
                              rp_error *err)
{
    char date[11];
    int rc = check_change(chg, date, err);
    if (rc != RP_OK) {
        return rc;
    }
    int n_owners = (rec_id > 0) + (action_id > 0) + (indicator_id > 0);
    if (n_owners != 1) {
        return rp_error_set(err, RP_EDATA,
                            "a progress report is on exactly one recommendation, action or "
                            "indicator");
    }
    if (isinf(value)) {
        return bad_field(err, "value", "a finite number");
    }
    if (indicator_id > 0 && isnan(value)) {
        return bad_field(err, "value", "a measured value (a report on an indicator)");
    }
    if (indicator_id > 0) {
        rc = need_indicator(st, indicator_id, err);
    } else {
        rc = need(st, action_id > 0, action_id > 0 ? action_id : rec_id, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    const long long owner[3] = {rec_id, action_id, indicator_id};
    return insert_progress(id_out, st, owner, value, chg, date,
                           auditor != NULL ? auditor : chg->author, err);
}

int rp_recs_add_progress(long long *id_out,
                         rp_store *st,
                         long long rec_id,
                         long long action_id,
                         long long indicator_id,
                         double value,
                         const rp_recs_change *chg,
                         rp_error *err)
{
    int rc = rp_recs__start(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_recs__add_progress_txn(id_out, st, rec_id, action_id, indicator_id, value, chg, NULL,
                                   err);
    return rp_recs__end(st, rc, err);
}
