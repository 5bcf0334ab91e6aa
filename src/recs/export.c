/*
 * Exports of the recommendation model: CSV (one recommendation a row, the columns the
 * CSV import reads, cells safe from spreadsheet formulas), JSON (the whole model in the
 * form the JSON import reads) and an Excel workbook (libxlsxwriter) with one sheet each
 * for recommendations, actions, indicators, progress reports and the status history.
 */
#include "recs/recs_int.h"

#include <xlsxwriter.h>

static int nomem(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* ==== CSV ==== */

/* One cell, RFC 4180, with ' before a leading = + - @ TAB or CR (formula injection). */
static void csv_cell(FILE *f, const char *s, bool last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    if (quote) {
        fputc('"', f);
    }
    if (formula) {
        fputc('\'', f);
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"') {
            fputc('"', f);
        }
        fputc(*p, f);
    }
    if (quote) {
        fputc('"', f);
    }
    fputs(last ? "\r\n" : ",", f);
}

#define CSV_SQL                                                                                   \
    "SELECT r.ref, r.state, s.code, r.round, r.paragraph, r.strength,"                            \
    " coalesce((SELECT group_concat(code, ';') FROM (SELECT th.code FROM recs_rec_themes t"       \
    " JOIN recs_themes th ON th.id = t.theme_id WHERE t.rec_id = r.id ORDER BY th.code)), ''),"   \
    " coalesce((SELECT group_concat(code, ';') FROM (SELECT bo.code FROM recs_rec_bodies b"       \
    " JOIN recs_bodies bo ON bo.id = b.body_id WHERE b.rec_id = r.id ORDER BY bo.code)), ''),"    \
    " r.due_date, r.text, r.status, r.status_date,"                                               \
    " coalesce((SELECT group_concat(ref, ';') FROM (SELECT x.ref FROM recs_links l JOIN"          \
    " recs_recs x ON x.id = l.to_id WHERE l.from_id = r.id AND l.kind = 0 ORDER BY x.ref)), '')," \
    " coalesce((SELECT group_concat(ref, ';') FROM (SELECT x.ref FROM recs_links l JOIN"          \
    " recs_recs x ON x.id = l.to_id WHERE l.from_id = r.id AND l.kind = 1 ORDER BY x.ref)), '')"  \
    " FROM recs_recs r JOIN recs_sources s ON s.id = r.source_id WHERE" RP_RECS__FILTER_SQL       \
    " ORDER BY r.state, s.code, r.round, r.id"

static int export_csv(rp_store *st, FILE *out, const rp_recs_filter *filter, rp_error *err)
{
    static const char *const header[] = {
        "ref",    "state",    "source", "round",  "paragraph",   "strength", "themes",
        "bodies", "due_date", "text",   "status", "status_date", "repeats",  "follows_up"};
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, CSV_SQL, err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, filter, err);
    }
    if (rc != RP_OK) {
        sqlite3_finalize(stmt);
        return rc;
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(header); i++) {
        csv_cell(out, header[i], i + 1 == RP_ARRAY_LEN(header));
    }
    int s = sqlite3_step(stmt);
    for (; s == SQLITE_ROW; s = sqlite3_step(stmt)) {
        for (int c = 0; c < 14; c++) {
            const char *v = rp_recs__col_text(stmt, c);
            if (c == 5) {
                v = rp_recs_name(RP_RECS_V_STRENGTH, sqlite3_column_int(stmt, c));
            } else if (c == 10) {
                v = rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, c));
            }
            csv_cell(out, v != NULL ? v : "", c == 13);
        }
    }
    if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot export the recommendations");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== JSON ==== */

static int push_rec(long long id, void *payload, rp_error *err)
{
    void **p = payload;
    json_t *o = NULL;
    int rc = rp_recs__rec_json(&o, p[0], id, err);
    if (rc == RP_OK && json_array_append_new(p[1], o) != 0) {
        rc = nomem(err);
    }
    return rc;
}

static int push_action(long long id, void *payload, rp_error *err)
{
    void **p = payload;
    json_t *o = NULL;
    int rc = rp_recs__action_json(&o, p[0], id, err);
    if (rc == RP_OK && json_array_append_new(p[1], o) != 0) {
        rc = nomem(err);
    }
    return rc;
}

/* The vocabulary tables as arrays of objects. */
static int codes_json(json_t *root, rp_store *st, rp_error *err)
{
    static const struct {
        const char *key;
        const char *sql;
        const char *label;
        int vocab; /* -1 = no kind */
    } parts[] = {
        {"sources", "SELECT code, title, kind FROM recs_sources ORDER BY id", "title",
         RP_RECS_V_SOURCE_KIND},
        {"themes", "SELECT code, label, 0 FROM recs_themes ORDER BY id", "label", -1},
        {"bodies", "SELECT code, name, kind FROM recs_bodies ORDER BY id", "name",
         RP_RECS_V_BODY_KIND},
    };

    int rc = RP_OK;
    for (size_t i = 0; i < RP_ARRAY_LEN(parts) && rc == RP_OK; i++) {
        sqlite3_stmt *stmt = NULL;
        json_t *a = json_array();
        rc = a == NULL || json_object_set_new(root, parts[i].key, a) != 0
                 ? nomem(err)
                 : rp_store__prepare(&stmt, st, parts[i].sql, err);
        int s = rc == RP_OK ? sqlite3_step(stmt) : SQLITE_DONE;
        for (; rc == RP_OK && s == SQLITE_ROW; s = sqlite3_step(stmt)) {
            json_t *o = json_pack("{s:s}", "code", rp_recs__col_text(stmt, 0));
            if (o != NULL && parts[i].vocab >= 0) {
                const char *k =
                    rp_recs_name((rp_recs_vocab)parts[i].vocab, sqlite3_column_int(stmt, 2));
                json_object_set_new(o, "kind", json_string(k != NULL ? k : "other"));
            }
            if (o == NULL ||
                json_object_set_new(o, parts[i].label, json_string(rp_recs__col_text(stmt, 1))) !=
                    0 ||
                json_array_append_new(a, o) != 0) {
                rc = nomem(err);
            }
        }
        if (rc == RP_OK && s != SQLITE_DONE) {
            rc = rp_store__sql_error(err, st->db, "cannot export the vocabularies");
        }
        sqlite3_finalize(stmt);
    }
    return rc;
}

static int export_json(rp_store *st, FILE *out, const rp_recs_filter *filter, rp_error *err)
{
    json_t *root = json_pack("{s:s, s:i}", "format", "rapporteur-recs", "version", 1);
    json_t *recs = json_array();
    json_t *actions = json_array();
    int rc = RP_OK;
    if (root == NULL || recs == NULL || actions == NULL) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        rc = codes_json(root, st, err);
    }
    void *p1[2] = {st, recs};
    if (rc == RP_OK) {
        rc = rp_recs__each_rec(st, filter, push_rec, p1, err);
    }
    void *p2[2] = {st, actions};
    if (rc == RP_OK) {
        rc = rp_recs__each_action(st, filter, push_action, p2, err);
    }
    if (rc == RP_OK && (json_object_set(root, "recommendations", recs) != 0 ||
                        json_object_set(root, "actions", actions) != 0)) {
        rc = nomem(err);
    }
    if (rc == RP_OK) {
        if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) !=
                0 ||
            fputc('\n', out) == EOF) {
            rc = rp_error_set(err, RP_EIO, "cannot write the export");
        }
    }
    json_decref(recs);
    json_decref(actions);
    json_decref(root);
    return rc;
}

int rp_recs_export(
    rp_store *st, FILE *out, rp_recs_format format, const rp_recs_filter *filter, rp_error *err)
{
    if (out == NULL || (format != RP_RECS_CSV && format != RP_RECS_JSON)) {
        return rp_error_set(err, RP_EINVAL, "exports write CSV or JSON (Excel: a file)");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = format == RP_RECS_CSV ? export_csv(st, out, filter, err)
                               : export_json(st, out, filter, err);
    if (rc == RP_OK && (fflush(out) != 0 || ferror(out))) {
        rc = rp_error_set(err, RP_EIO, "cannot write the export");
    }
    return rc;
}

/* ==== Excel ==== */

/* One sheet: a header row, then the rows of @p sql (bound with the filter). */
typedef struct sheet_spec {
    const char *name;
    const char *const *header;
    int n_cols;
    const char *sql;
    int status_col;   /* column holding an rp_rec_status, or -1 */
    int strength_col; /* column holding an rp_rec_strength, or -1 */
} sheet_spec;

static const char *const rec_header[] = {
    "ref",    "state",    "source", "round",  "paragraph",   "strength", "themes",
    "bodies", "due_date", "text",   "status", "status_date", "repeats",  "follows_up"};
static const char *const action_header[] = {"ref",        "title",    "body",
                                            "start_date", "due_date", "recommendations"};
static const char *const indicator_header[] = {"owner",    "name",         "unit",
                                               "baseline", "target",       "frequency",
                                               "due_date", "latest_value", "latest_date"};
static const char *const progress_header[] = {"owner", "date", "author",
                                              "value", "note", "evidence"};
static const char *const history_header[] = {"ref", "from", "status", "date", "author", "note"};

static const sheet_spec sheets[] = {
    {"Recommendations", rec_header, 14, CSV_SQL, 10, 5},
    {"Actions", action_header, 6,
     "SELECT a.ref, a.title, coalesce(b.code, ''), a.start_date, a.due_date,"
     " coalesce((SELECT group_concat(ref, ';') FROM (SELECT r.ref FROM recs_action_recs x JOIN"
     " recs_recs r ON r.id = x.rec_id WHERE x.action_id = a.id ORDER BY r.id)), '')"
     " FROM recs_actions a LEFT JOIN recs_bodies b ON b.id = a.body_id WHERE EXISTS (SELECT 1"
     " FROM recs_action_recs x JOIN recs_recs r ON r.id = x.rec_id WHERE x.action_id = a.id"
     " AND" RP_RECS__FILTER_SQL ") OR NOT EXISTS (SELECT 1 FROM recs_action_recs x WHERE"
     " x.action_id = a.id) ORDER BY a.id",
     -1, -1},
    {"Indicators", indicator_header, 9,
     "SELECT coalesce((SELECT ref FROM recs_recs WHERE id = i.rec_id), (SELECT ref FROM"
     " recs_actions WHERE id = i.action_id)), i.name, i.unit, i.baseline, i.target,"
     " i.frequency, i.due_date, (SELECT value FROM recs_progress p WHERE p.indicator_id = i.id"
     " ORDER BY reported_on DESC, id DESC LIMIT 1), coalesce((SELECT reported_on FROM"
     " recs_progress p WHERE p.indicator_id = i.id ORDER BY reported_on DESC, id DESC LIMIT 1),"
     " '') FROM recs_indicators i WHERE i.action_id IS NOT NULL OR EXISTS (SELECT 1 FROM"
     " recs_recs r WHERE r.id = i.rec_id AND" RP_RECS__FILTER_SQL ") ORDER BY i.id",
     -1, -1},
    {"Progress", progress_header, 6,
     "SELECT coalesce((SELECT ref FROM recs_recs WHERE id = p.rec_id), (SELECT ref FROM"
     " recs_actions WHERE id = p.action_id), (SELECT 'indicator ' || id FROM recs_indicators"
     " WHERE id = p.indicator_id)), p.reported_on, p.author, p.value, p.note,"
     " coalesce((SELECT group_concat(link, ' ') FROM recs_evidence e WHERE e.progress_id ="
     " p.id), '') FROM recs_progress p WHERE p.rec_id IS NULL OR EXISTS (SELECT 1 FROM"
     " recs_recs r WHERE r.id = p.rec_id AND" RP_RECS__FILTER_SQL ") ORDER BY p.id",
     -1, -1},
    {"History", history_header, 6,
     "SELECT r.ref, h.old_status, h.status, h.changed_on, h.author, h.note FROM"
     " recs_status_history h JOIN recs_recs r ON r.id = h.rec_id WHERE" RP_RECS__FILTER_SQL
     " ORDER BY h.id",
     2, -1},
};

static int write_sheet(lxw_workbook *wb,
                       lxw_format *bold,
                       rp_store *st,
                       const sheet_spec *sp,
                       const rp_recs_filter *filter,
                       rp_error *err)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, sp->name);
    if (ws == NULL) {
        return nomem(err);
    }
    for (int c = 0; c < sp->n_cols; c++) {
        worksheet_write_string(ws, 0, (lxw_col_t)c, sp->header[c], bold);
    }
    worksheet_freeze_panes(ws, 1, 0);
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, sp->sql, err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, filter, err);
    }
    lxw_row_t row = 1;
    int s = rc == RP_OK ? sqlite3_step(stmt) : SQLITE_DONE;
    for (; rc == RP_OK && s == SQLITE_ROW; s = sqlite3_step(stmt)) {
        for (int c = 0; c < sp->n_cols; c++) {
            int type = sqlite3_column_type(stmt, c);
            const char *v = rp_recs__col_text(stmt, c);
            if (c == sp->status_col && type != SQLITE_NULL) {
                v = rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, c));
            } else if (c == sp->strength_col || (sp->header == indicator_header && c == 5)) {
                v = rp_recs_name(c == 5 && sp->header == indicator_header ? RP_RECS_V_FREQUENCY
                                                                          : RP_RECS_V_STRENGTH,
                                 sqlite3_column_int(stmt, c));
            } else if ((type == SQLITE_INTEGER || type == SQLITE_FLOAT) &&
                       sp->header != rec_header) {
                worksheet_write_number(ws, row, (lxw_col_t)c, sqlite3_column_double(stmt, c), NULL);
                continue;
            }
            /* Strings are never formulas in libxlsxwriter: no injection to guard. */
            worksheet_write_string(ws, row, (lxw_col_t)c, v != NULL ? v : "", NULL);
        }
        row++;
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot export the recommendations");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_recs_export_xlsx(rp_store *st, const char *path, const rp_recs_filter *filter, rp_error *err)
{
    if (path == NULL || path[0] == '\0') {
        return rp_error_set(err, RP_EINVAL, "no output file given");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    lxw_workbook_options wo = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    lxw_workbook *wb = workbook_new_opt(path, &wo);
    if (wb == NULL) {
        return rp_error_set(err, RP_EIO, "cannot create workbook '%s'", path);
    }
    lxw_format *bold = workbook_add_format(wb);
    if (bold != NULL) {
        format_set_bold(bold);
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(sheets) && rc == RP_OK; i++) {
        rc = write_sheet(wb, bold, st, &sheets[i], filter, err);
    }
    lxw_error e = workbook_close(wb);
    if (rc == RP_OK && e != LXW_NO_ERROR) {
        rc = rp_error_set(err, RP_EIO, "cannot write workbook '%s': %s", path, lxw_strerror(e));
    }
    return rc;
}
