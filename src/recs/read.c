/*
 * Reading the recommendation model: the filter shared by list, export and scorecards,
 * listing, the audit trail, and the JSON objects of a recommendation and of an action
 * that `recs show` prints and the JSON export writes (the form the JSON import reads).
 */
#include "recs/recs_int.h"

#include <math.h>

/* ==== filter ==== */

bool rp_recs__filter_is_empty(const rp_recs_filter *f)
{
    if (f == NULL) {
        return true;
    }
    bool strings =
        (f->state == NULL || f->state[0] == '\0') && (f->source == NULL || f->source[0] == '\0') &&
        (f->theme == NULL || f->theme[0] == '\0') && (f->body == NULL || f->body[0] == '\0');
    return strings && f->round < 0 && f->status < 0 && f->strength < 0;
}

/* RP_ENOTFOUND unless code @p code of @p table exists; names a near match by case. */
static int need_code(rp_store *st, int table, const char *code, rp_error *err)
{
    static const char *const what[] = {"source", "theme", "responsible body"};
    static const char *const sql[] = {
        "SELECT code FROM recs_sources WHERE code = ?1 COLLATE NOCASE ORDER BY code = ?1 DESC",
        "SELECT code FROM recs_themes WHERE code = ?1 COLLATE NOCASE ORDER BY code = ?1 DESC",
        "SELECT code FROM recs_bodies WHERE code = ?1 COLLATE NOCASE ORDER BY code = ?1 DESC",
    };
    if (code == NULL || code[0] == '\0') {
        return RP_OK;
    }
    if (!rp_recs__code_ok(code)) {
        return rp_error_set(err, RP_ENOTFOUND,
                            "unknown %s (codes are 1-31 letters, digits, '_', "
                            "'-' or '.')",
                            what[table]);
    }
    sqlite3_stmt *stmt = NULL;
    bool row = false;
    int rc = rp_recs__query_text(&stmt, &row, st, sql[table], code, "cannot look up a code", err);
    if (rc == RP_OK && row && strcmp(rp_recs__col_text(stmt, 0), code) != 0) {
        rc = rp_error_set(err, RP_ENOTFOUND,
                          "unknown %s '%s' (codes are case-sensitive: did you "
                          "mean '%s'?)",
                          what[table], code, rp_recs__col_text(stmt, 0));
    } else if (rc == RP_OK && !row) {
        rc = rp_error_set(err, RP_ENOTFOUND, "unknown %s '%s'", what[table], code);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs_check_filter(rp_store *st, const rp_recs_filter *f, rp_error *err)
{
    if (f == NULL) {
        return RP_OK;
    }
    char state[3];
    if (f->state != NULL && f->state[0] != '\0' && !rp_recs__state_ok(state, f->state)) {
        return rp_error_set(err, RP_EINVAL, "state: expected an ISO 3166-1 country code");
    }
    if ((f->round < -1 || f->round > RP_RECS_ROUND_MAX) ||
        (f->status < -1 || f->status >= RP_REC_STATUS_COUNT) ||
        (f->strength < -1 || f->strength >= RP_REC_STRENGTH_COUNT)) {
        return rp_error_set(err, RP_EINVAL, "filter: round, status or strength out of range");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc == RP_OK) {
        rc = need_code(st, RP_RECS__SOURCES, f->source, err);
    }
    if (rc == RP_OK) {
        rc = need_code(st, RP_RECS__THEMES, f->theme, err);
    }
    if (rc == RP_OK) {
        rc = need_code(st, RP_RECS__BODIES, f->body, err);
    }
    return rc;
}

/* Bind @p s at @p i, or NULL when absent or "". */
static int bind_opt(sqlite3_stmt *stmt, int i, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return sqlite3_bind_null(stmt, i);
    }
    return sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

int rp_recs__bind_filter(sqlite3_stmt *stmt, rp_store *st, const rp_recs_filter *f, rp_error *err)
{
    rp_recs_filter all = RP_RECS_FILTER_INIT;
    if (f == NULL) {
        f = &all;
    }
    char state[3] = "";
    const char *state_arg = f->state;
    if (f->state != NULL && f->state[0] != '\0' && rp_recs__state_ok(state, f->state)) {
        state_arg = state;
    }
    bool ok = bind_opt(stmt, 1, state_arg) == SQLITE_OK &&
              bind_opt(stmt, 2, f->source) == SQLITE_OK &&
              bind_opt(stmt, 3, f->theme) == SQLITE_OK && bind_opt(stmt, 4, f->body) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 5, f->round) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 6, f->status) == SQLITE_OK &&
              sqlite3_bind_int(stmt, 7, f->strength) == SQLITE_OK;
    return ok ? RP_OK : rp_store__sql_error(err, st->db, "cannot bind a filter");
}

/* Run @p stmt (bound) and call @p fn with column 0 of each row. */
static int each_id(sqlite3_stmt *stmt,
                   rp_store *st,
                   int (*fn)(long long id, void *payload, rp_error *err),
                   void *payload,
                   rp_error *err)
{
    int rc = RP_OK;
    int s = SQLITE_ROW;
    while (rc == RP_OK) {
        s = sqlite3_step(stmt);
        if (s != SQLITE_ROW) {
            break;
        }
        rc = fn(sqlite3_column_int64(stmt, 0), payload, err);
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the recommendations");
    }
    return rc;
}

int rp_recs__each_rec(rp_store *st,
                      const rp_recs_filter *f,
                      int (*fn)(long long id, void *payload, rp_error *err),
                      void *payload,
                      rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT r.id FROM recs_recs r JOIN recs_sources s ON"
                               " s.id = r.source_id WHERE" RP_RECS__FILTER_SQL
                               " ORDER BY r.state, s.code, r.round, r.id",
                               err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, f, err);
    }
    if (rc == RP_OK) {
        rc = each_id(stmt, st, fn, payload, err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs__each_action(rp_store *st,
                         const rp_recs_filter *f,
                         int (*fn)(long long id, void *payload, rp_error *err),
                         void *payload,
                         rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(
        &stmt, st,
        "SELECT a.id FROM recs_actions a WHERE (?8 AND NOT EXISTS"
        " (SELECT 1 FROM recs_action_recs x WHERE x.action_id = a.id))"
        " OR EXISTS (SELECT 1 FROM recs_action_recs x JOIN recs_recs r"
        " ON r.id = x.rec_id WHERE x.action_id = a.id AND" RP_RECS__FILTER_SQL ") ORDER BY a.id",
        err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, f, err);
    }
    if (rc == RP_OK && sqlite3_bind_int(stmt, 8, rp_recs__filter_is_empty(f)) != SQLITE_OK) {
        rc = rp_store__sql_error(err, st->db, "cannot bind a filter");
    }
    if (rc == RP_OK) {
        rc = each_id(stmt, st, fn, payload, err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== list ==== */

#define REC_COLUMNS                                                                          \
    "r.id, r.ref, r.state, s.code, r.round, r.paragraph, r.text, r.strength,"                \
    " coalesce((SELECT group_concat(code, '; ') FROM (SELECT th.code FROM recs_rec_themes t" \
    " JOIN recs_themes th ON th.id = t.theme_id WHERE t.rec_id = r.id ORDER BY th.code)),"   \
    " ''), coalesce((SELECT group_concat(code, '; ') FROM (SELECT bo.code FROM"              \
    " recs_rec_bodies b JOIN recs_bodies bo ON bo.id = b.body_id WHERE b.rec_id = r.id"      \
    " ORDER BY bo.code)), ''), r.due_date, r.status, r.status_date"

static void row_rec(rp_rec *rec, sqlite3_stmt *stmt)
{
    rec->id = sqlite3_column_int64(stmt, 0);
    rec->ref = rp_recs__col_text(stmt, 1);
    rec->state = rp_recs__col_text(stmt, 2);
    rec->source = rp_recs__col_text(stmt, 3);
    rec->round = sqlite3_column_int(stmt, 4);
    rec->paragraph = rp_recs__col_text(stmt, 5);
    rec->text = rp_recs__col_text(stmt, 6);
    rec->strength = (rp_rec_strength)sqlite3_column_int(stmt, 7);
    rec->themes = rp_recs__col_text(stmt, 8);
    rec->bodies = rp_recs__col_text(stmt, 9);
    rec->due_date = rp_recs__col_text(stmt, 10);
    rec->status = (rp_rec_status)sqlite3_column_int(stmt, 11);
    rec->status_date = rp_recs__col_text(stmt, 12);
}

int rp_recs_list(rp_store *st,
                 const rp_recs_filter *filter,
                 int (*fn)(const rp_rec *rec, void *payload),
                 void *payload,
                 rp_error *err)
{
    if (fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no callback given");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(&stmt, st,
                           "SELECT " REC_COLUMNS " FROM recs_recs r JOIN recs_sources s ON"
                           " s.id = r.source_id WHERE" RP_RECS__FILTER_SQL
                           " ORDER BY r.state, s.code, r.round, r.id",
                           err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, filter, err);
    }
    int s = SQLITE_DONE;
    while (rc == RP_OK) {
        s = sqlite3_step(stmt);
        if (s != SQLITE_ROW) {
            break;
        }
        rp_rec rec = RP_REC_INIT;
        row_rec(&rec, stmt);
        if (fn(&rec, payload) != 0) {
            rc = rp_error_set(err, RP_ECANCELED, "listing stopped by the caller");
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot list the recommendations");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== audit ==== */

int rp_recs_audit(rp_store *st,
                  const char *entity,
                  long long entity_id,
                  int (*fn)(const rp_recs_audit_entry *e, void *payload),
                  void *payload,
                  rp_error *err)
{
    if (fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no callback given");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    rc = rp_store__prepare(&stmt, st,
                           "SELECT id, at, author, entity, entity_id, field, old, new FROM"
                           " recs_audit WHERE ?1 IS NULL OR (entity = ?1 AND entity_id = ?2)"
                           " ORDER BY id",
                           err);
    if (rc == RP_OK && (bind_opt(stmt, 1, entity) != SQLITE_OK ||
                        sqlite3_bind_int64(stmt, 2, entity_id) != SQLITE_OK)) {
        rc = rp_store__sql_error(err, st->db, "cannot read the audit trail");
    }
    int s = SQLITE_DONE;
    while (rc == RP_OK) {
        s = sqlite3_step(stmt);
        if (s != SQLITE_ROW) {
            break;
        }
        rp_recs_audit_entry e = {sqlite3_column_int64(stmt, 0),
                                 rp_recs__col_text(stmt, 1),
                                 rp_recs__col_text(stmt, 2),
                                 rp_recs__col_text(stmt, 3),
                                 sqlite3_column_int64(stmt, 4),
                                 rp_recs__col_text(stmt, 5),
                                 (const char *)sqlite3_column_text(stmt, 6),
                                 (const char *)sqlite3_column_text(stmt, 7)};
        if (fn(&e, payload) != 0) {
            rc = rp_error_set(err, RP_ECANCELED, "audit listing stopped by the caller");
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the audit trail");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== JSON objects ==== */

static int nomem(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* Append @p v to array @p a (stealing it); false on OOM. */
static bool push(json_t *a, json_t *v)
{
    return v != NULL && json_array_append_new(a, v) == 0;
}

static bool set(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* A number column as JSON (null for NULL). */
static json_t *num_col(sqlite3_stmt *stmt, int i)
{
    if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
        return json_null();
    }
    double v = sqlite3_column_double(stmt, i);
    if (v == floor(v) && fabs(v) < 9e15) {
        return json_integer((json_int_t)v);
    }
    return json_real(v);
}

/*
 * Run @p sql with ?1 = @p id and build one JSON value per row with @p row, appended to
 * a new array in *@p out.
 */
static int rows_json(json_t **out,
                     rp_store *st,
                     const char *sql,
                     long long id,
                     int (*row)(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err),
                     rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *a = json_array();
    *out = NULL;
    int rc = a == NULL ? nomem(err) : rp_store__prepare(&stmt, st, sql, err);
    if (rc == RP_OK && sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK) {
        rc = rp_store__sql_error(err, st->db, "cannot bind an id");
    }
    int s = SQLITE_DONE;
    while (rc == RP_OK) {
        s = sqlite3_step(stmt);
        if (s != SQLITE_ROW) {
            break;
        }
        json_t *v = NULL;
        rc = row(&v, st, stmt, err);
        if (rc == RP_OK && !push(a, v)) {
            rc = nomem(err);
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the recommendation model");
    }
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return RP_OK;
}

static int row_text0(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    (void)st;
    *v = json_string(rp_recs__col_text(stmt, 0));
    return *v != NULL ? RP_OK : nomem(err);
}

static int row_link(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    (void)st;
    const char *kind = rp_recs_name(RP_RECS_V_LINK, sqlite3_column_int(stmt, 0));
    *v = json_pack("{s:s, s:s}", "kind", kind != NULL ? kind : "", "ref",
                   rp_recs__col_text(stmt, 1));
    return *v != NULL ? RP_OK : nomem(err);
}

/* Progress rows: id, reported_on, author, value, note. */
static int row_progress(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    json_t *ev = NULL;
    int rc = rows_json(&ev, st, "SELECT link FROM recs_evidence WHERE progress_id = ?1 ORDER BY id",
                       sqlite3_column_int64(stmt, 0), row_text0, err);
    if (rc != RP_OK) {
        return rc;
    }
    *v = json_pack("{s:s, s:s, s:o, s:s, s:o}", "date", rp_recs__col_text(stmt, 1), "author",
                   rp_recs__col_text(stmt, 2), "value", num_col(stmt, 3), "note",
                   rp_recs__col_text(stmt, 4), "evidence", ev);
    return *v != NULL ? RP_OK : nomem(err);
}

/* History rows: old_status, status, changed_on, author, note, progress_id. */
static int row_history(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    json_t *ev = NULL;
    int rc = rows_json(&ev, st, "SELECT link FROM recs_evidence WHERE progress_id = ?1 ORDER BY id",
                       sqlite3_column_int64(stmt, 5), row_text0, err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *from = sqlite3_column_type(stmt, 0) == SQLITE_NULL
                           ? NULL
                           : rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, 0));
    const char *to = rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, 1));
    *v = json_pack("{s:s?, s:s, s:s, s:s, s:s, s:o}", "from", from, "status", to != NULL ? to : "",
                   "date", rp_recs__col_text(stmt, 2), "author", rp_recs__col_text(stmt, 3), "note",
                   rp_recs__col_text(stmt, 4), "evidence", ev);
    return *v != NULL ? RP_OK : nomem(err);
}

#define PROGRESS_COLUMNS "SELECT id, reported_on, author, value, note FROM recs_progress"

/* Indicator rows: id, name, unit, baseline, target, frequency, due_date. */
static int row_indicator(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    json_t *progress = NULL;
    int rc = rows_json(&progress, st, PROGRESS_COLUMNS " WHERE indicator_id = ?1 ORDER BY id",
                       sqlite3_column_int64(stmt, 0), row_progress, err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *freq = rp_recs_name(RP_RECS_V_FREQUENCY, sqlite3_column_int(stmt, 5));
    *v = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:o}", "name", rp_recs__col_text(stmt, 1),
                   "unit", rp_recs__col_text(stmt, 2), "baseline", num_col(stmt, 3), "target",
                   num_col(stmt, 4), "frequency", freq != NULL ? freq : "", "due_date",
                   rp_recs__col_text(stmt, 6), "progress", progress);
    return *v != NULL ? RP_OK : nomem(err);
}

#define INDICATOR_COLUMNS \
    "SELECT id, name, unit, baseline, target, frequency, due_date FROM recs_indicators"

/* The parts of a recommendation object that are arrays, added to @p o. */
static int rec_arrays(json_t *o, rp_store *st, long long id, rp_error *err)
{
    static const struct {
        const char *key;
        const char *sql;
        int (*row)(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err);
    } parts[] = {
        {"themes",
         "SELECT th.code FROM recs_rec_themes t JOIN recs_themes th ON th.id = t.theme_id"
         " WHERE t.rec_id = ?1 ORDER BY th.code",
         row_text0},
        {"bodies",
         "SELECT bo.code FROM recs_rec_bodies b JOIN recs_bodies bo ON bo.id = b.body_id"
         " WHERE b.rec_id = ?1 ORDER BY bo.code",
         row_text0},
        {"links",
         "SELECT l.kind, r.ref FROM recs_links l JOIN recs_recs r ON r.id = l.to_id"
         " WHERE l.from_id = ?1 ORDER BY l.kind, r.ref",
         row_link},
        {"history",
         "SELECT old_status, status, changed_on, author, note, progress_id FROM"
         " recs_status_history WHERE rec_id = ?1 ORDER BY id",
         row_history},
        {"progress",
         PROGRESS_COLUMNS " p WHERE rec_id = ?1 AND NOT EXISTS (SELECT 1 FROM"
                          " recs_status_history h WHERE h.progress_id = p.id) ORDER BY id",
         row_progress},
        {"indicators", INDICATOR_COLUMNS " WHERE rec_id = ?1 ORDER BY id", row_indicator},
    };

    int rc = RP_OK;
    for (size_t i = 0; i < RP_ARRAY_LEN(parts) && rc == RP_OK; i++) {
        json_t *a = NULL;
        rc = rows_json(&a, st, parts[i].sql, id, parts[i].row, err);
        if (rc == RP_OK && !set(o, parts[i].key, a)) {
            rc = nomem(err);
        }
    }
    return rc;
}

int rp_recs__rec_json(json_t **out, rp_store *st, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *o = NULL;
    *out = NULL;
    bool row = false;
    int rc = rp_recs__query_id(&stmt, &row, st,
                               "SELECT " REC_COLUMNS " FROM recs_recs r JOIN recs_sources s ON"
                               " s.id = r.source_id WHERE r.id = ?1",
                               id, "cannot read a recommendation", err);
    if (rc == RP_OK && !row) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no recommendation with id %lld", id);
    } else if (rc == RP_OK) {
        rp_rec r = RP_REC_INIT;
        row_rec(&r, stmt);
        o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "ref", r.ref, "state",
                      r.state, "source", r.source, "round", r.round, "paragraph", r.paragraph,
                      "strength", rp_recs_name(RP_RECS_V_STRENGTH, (int)r.strength), "status",
                      rp_recs_name(RP_RECS_V_STATUS, (int)r.status), "status_date", r.status_date,
                      "due_date", r.due_date, "text", r.text);
        rc = o != NULL ? RP_OK : nomem(err);
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = rec_arrays(o, st, id, err);
    }
    if (rc != RP_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return RP_OK;
}

int rp_recs__action_json(json_t **out, rp_store *st, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *o = NULL;
    *out = NULL;
    bool row = false;
    int rc = rp_recs__query_id(&stmt, &row, st,
                               "SELECT a.ref, a.title, coalesce(b.code, ''), a.start_date,"
                               " a.due_date FROM recs_actions a LEFT JOIN recs_bodies b ON"
                               " b.id = a.body_id WHERE a.id = ?1",
                               id, "cannot read an action", err);
    if (rc == RP_OK && !row) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no action with id %lld", id);
    } else if (rc == RP_OK) {
        o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ref", rp_recs__col_text(stmt, 0), "title",
                      rp_recs__col_text(stmt, 1), "body", rp_recs__col_text(stmt, 2), "start_date",
                      rp_recs__col_text(stmt, 3), "due_date", rp_recs__col_text(stmt, 4));
        rc = o != NULL ? RP_OK : nomem(err);
    }
    sqlite3_finalize(stmt);
    json_t *a = NULL;
    if (rc == RP_OK) {
        rc = rows_json(&a, st,
                       "SELECT r.ref FROM recs_action_recs x JOIN recs_recs r ON r.id = x.rec_id"
                       " WHERE x.action_id = ?1 ORDER BY r.id",
                       id, row_text0, err);
    }
    if (rc == RP_OK && !set(o, "recommendations", a)) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        rc = rows_json(&a, st, PROGRESS_COLUMNS " WHERE action_id = ?1 ORDER BY id", id,
                       row_progress, err);
    }
    if (rc == RP_OK && !set(o, "progress", a)) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        rc = rows_json(&a, st, INDICATOR_COLUMNS " WHERE action_id = ?1 ORDER BY id", id,
                       row_indicator, err);
    }
    if (rc == RP_OK && !set(o, "indicators", a)) {
        rc = nomem(err);
    }
    if (rc != RP_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return RP_OK;
}

/* ==== show ==== */

static int push_action(long long id, void *payload, rp_error *err)
{
    json_t *v = NULL;
    int rc = rp_recs__action_json(&v, ((void **)payload)[0], id, err);
    if (rc == RP_OK && json_object_set_new(v, "id", json_integer(id)) != 0) {
        json_decref(v);
        return nomem(err);
    }
    if (rc == RP_OK && !push(((void **)payload)[1], v)) {
        rc = nomem(err);
    }
    return rc;
}

static int row_audit(json_t **v, rp_store *st, sqlite3_stmt *stmt, rp_error *err)
{
    (void)st;
    *v = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s?, s:s?}", "at", rp_recs__col_text(stmt, 0),
                   "author", rp_recs__col_text(stmt, 1), "entity", rp_recs__col_text(stmt, 2),
                   "entity_id", (json_int_t)sqlite3_column_int64(stmt, 3), "field",
                   rp_recs__col_text(stmt, 4), "old", (const char *)sqlite3_column_text(stmt, 5),
                   "new", (const char *)sqlite3_column_text(stmt, 6));
    return *v != NULL ? RP_OK : nomem(err);
}

/* The actions of recommendation @p id, in full. */
static int rec_actions(json_t **out, rp_store *st, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *a = json_array();
    *out = NULL;
    int rc = a == NULL ? nomem(err)
                       : rp_store__prepare(&stmt, st,
                                           "SELECT action_id FROM recs_action_recs WHERE rec_id ="
                                           " ?1 ORDER BY action_id",
                                           err);
    if (rc == RP_OK && sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK) {
        rc = rp_store__sql_error(err, st->db, "cannot bind an id");
    }
    void *payload[2] = {st, a};
    if (rc == RP_OK) {
        rc = each_id(stmt, st, push_action, payload, err);
    }
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return RP_OK;
}

/* The progress reports of recommendation ?1 and of its indicators. */
#define REC_PROGRESS_IDS                                                                \
    "SELECT id FROM recs_progress WHERE rec_id = ?1 OR indicator_id IN (SELECT id FROM" \
    " recs_indicators WHERE rec_id = ?1)"

int rp_recs_show_json(char **out, rp_store *st, long long id, rp_error *err)
{
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    int rc = rp_recs__ensure_schema(st, err);
    json_t *o = NULL;
    json_t *a = NULL;
    if (rc == RP_OK) {
        rc = rp_recs__rec_json(&o, st, id, err);
    }
    if (rc == RP_OK && json_object_set_new(o, "id", json_integer(id)) != 0) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        rc = rec_actions(&a, st, id, err);
    }
    if (rc == RP_OK && !set(o, "actions", a)) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        rc = rows_json(&a, st,
                       "SELECT at, author, entity, entity_id, field, old, new FROM recs_audit"
                       " WHERE (entity IN ('rec', 'rec_theme', 'rec_body', 'link') AND"
                       " entity_id = ?1) OR (entity = 'action_rec' AND new = CAST(?1 AS TEXT))"
                       " OR (entity = 'indicator' AND entity_id IN (SELECT id FROM"
                       " recs_indicators WHERE rec_id = ?1)) OR (entity = 'progress' AND"
                       " entity_id IN (" REC_PROGRESS_IDS ")) OR (entity = 'evidence' AND"
                       " entity_id IN (SELECT id FROM recs_evidence WHERE progress_id IN"
                       " (" REC_PROGRESS_IDS "))) ORDER BY id",
                       id, row_audit, err);
    }
    if (rc == RP_OK && !set(o, "audit", a)) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        /* Jansson allocates with malloc(): hand the caller an rp_malloc() copy. */
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        *out = text != NULL ? rp_strdup(text) : NULL;
        free(text);
        if (*out == NULL) {
            rc = nomem(err);
        }
    }
    json_decref(o);
    return rc;
}
