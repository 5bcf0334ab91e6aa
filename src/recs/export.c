/*
 * Exports of the recommendation model: CSV (one recommendation a row, the columns the
 * CSV import reads, cells safe from spreadsheet formulas), JSON (the whole model in the
 * form the JSON import reads) and an Excel workbook (libxlsxwriter) with one sheet each
 * for recommendations, actions, indicators, progress reports and the status history.
 */
#include "recs/recs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

static int nomem(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* ==== CSV ==== */

/* The columns of CSV_SQL (and of the CSV export and the Recommendations sheet). */
enum {
    EC_REF = 0,
    EC_STATE,
    EC_SOURCE,
    EC_ROUND,
    EC_PARAGRAPH,
    EC_STRENGTH,
    EC_THEMES,
    EC_BODIES,
    EC_DUE_DATE,
    EC_TEXT,
    EC_STATUS,
    EC_STATUS_DATE,
    EC_REPEATS,
    EC_FOLLOWS_UP,
    EC_COUNT
};

static const char *const rec_header[EC_COUNT] = {
    "ref",    "state",    "source", "round",  "paragraph",   "strength", "themes",
    "bodies", "due_date", "text",   "status", "status_date", "repeats",  "follows_up"};

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
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, CSV_SQL, err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, filter, err);
    }
    if (rc != RP_OK) {
        sqlite3_finalize(stmt);
        return rc;
    }
    for (int c = 0; c < EC_COUNT; c++) {
        csv_cell(out, rec_header[c], c + 1 == EC_COUNT);
    }
    int s = sqlite3_step(stmt);
    for (; s == SQLITE_ROW; s = sqlite3_step(stmt)) {
        for (int c = 0; c < EC_COUNT; c++) {
            const char *v = rp_recs__col_text(stmt, c);
            if (c == EC_STRENGTH) {
                v = rp_recs_name(RP_RECS_V_STRENGTH, sqlite3_column_int(stmt, c));
            } else if (c == EC_STATUS) {
                v = rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, c));
            }
            csv_cell(out, v != NULL ? v : "", c + 1 == EC_COUNT);
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

/*
 * The workbook follows the filter as the JSON export does: the Recommendations and
 * History sheets hold the selected recommendations; Actions the actions linked to one of
 * them (and the actions linked to none when the filter selects everything); Indicators
 * those of a selected recommendation or action; Progress the reports on a selected
 * recommendation, action or indicator. Parameter ?8 is "the filter selects everything".
 */
#define ACTION_SELECTED(a)                                                                   \
    " ((?8 AND NOT EXISTS (SELECT 1 FROM recs_action_recs x WHERE x.action_id = " a "))"     \
    " OR EXISTS (SELECT 1 FROM recs_action_recs x JOIN recs_recs r ON r.id = x.rec_id WHERE" \
    " x.action_id = " a " AND" RP_RECS__FILTER_SQL "))"
#define REC_SELECTED(id) \
    " EXISTS (SELECT 1 FROM recs_recs r WHERE r.id = " id " AND" RP_RECS__FILTER_SQL ")"
#define INDICATOR_SELECTED                                                            \
    " (" REC_SELECTED("i.rec_id") " OR (i.action_id IS NOT NULL AND" ACTION_SELECTED( \
        "i.action_id") "))"

/* Excel's limit on the text of one cell, in characters (code points). */
#define CELL_MAX_CHARS 32767
/* Bytes kept for the truncation marker, with room to spare. */
#define MARK_MAX 160

/* One sheet: a header row, then the rows of @p sql (bound with the filter). */
typedef struct sheet_spec {
    const char *name;
    const char *const *header;
    int n_cols;
    const char *sql;
    int status_col;    /* column holding an rp_rec_status, or -1 */
    int strength_col;  /* column holding an rp_rec_strength, or -1 */
    int frequency_col; /* column holding an rp_recs_frequency, or -1 */
    bool numbers;      /* numeric columns as numbers (else all as text) */
} sheet_spec;

static const char *const action_header[] = {"ref",        "title",    "body",
                                            "start_date", "due_date", "recommendations"};
static const char *const indicator_header[] = {"owner",    "name",         "unit",
                                               "baseline", "target",       "frequency",
                                               "due_date", "latest_value", "latest_date"};
static const char *const progress_header[] = {"owner", "date", "author",
                                              "value", "note", "evidence"};
static const char *const history_header[] = {"ref", "from", "status", "date", "author", "note"};

enum { HC_FROM = 1, HC_STATUS = 2 };

enum { IC_FREQUENCY = 5 };

static const sheet_spec sheets[] = {
    {"Recommendations", rec_header, EC_COUNT, CSV_SQL, EC_STATUS, EC_STRENGTH, -1, false},
    {"Actions", action_header, (int)RP_ARRAY_LEN(action_header),
     "SELECT a.ref, a.title, coalesce(b.code, ''), a.start_date, a.due_date,"
     " coalesce((SELECT group_concat(ref, ';') FROM (SELECT r.ref FROM recs_action_recs x JOIN"
     " recs_recs r ON r.id = x.rec_id WHERE x.action_id = a.id ORDER BY r.id)), '')"
     " FROM recs_actions a LEFT JOIN recs_bodies b ON b.id = a.body_id WHERE" ACTION_SELECTED(
         "a.id") " ORDER BY a.id",
     -1, -1, -1, true},
    {"Indicators", indicator_header, (int)RP_ARRAY_LEN(indicator_header),
     "SELECT coalesce((SELECT ref FROM recs_recs WHERE id = i.rec_id), (SELECT ref FROM"
     " recs_actions WHERE id = i.action_id)), i.name, i.unit, i.baseline, i.target,"
     " i.frequency, i.due_date, (SELECT value FROM recs_progress p WHERE p.indicator_id = i.id"
     " ORDER BY reported_on DESC, id DESC LIMIT 1), coalesce((SELECT reported_on FROM"
     " recs_progress p WHERE p.indicator_id = i.id ORDER BY reported_on DESC, id DESC LIMIT 1),"
     " '') FROM recs_indicators i WHERE" INDICATOR_SELECTED " ORDER BY i.id",
     -1, -1, IC_FREQUENCY, true},
    {"Progress", progress_header, (int)RP_ARRAY_LEN(progress_header),
     "SELECT coalesce((SELECT ref FROM recs_recs WHERE id = p.rec_id), (SELECT ref FROM"
     " recs_actions WHERE id = p.action_id), (SELECT 'indicator ' || id FROM recs_indicators"
     " WHERE id = p.indicator_id)), p.reported_on, p.author, p.value, p.note,"
     " coalesce((SELECT group_concat(link, ' ') FROM recs_evidence e WHERE e.progress_id ="
     " p.id), '') FROM recs_progress p WHERE (p.rec_id IS NOT NULL AND" REC_SELECTED(
         "p.rec_id") ") OR (p.action_id IS NOT NULL AND" ACTION_SELECTED("p.action_id") ") OR "
                                                                                        "(p."
                                                                                        "indicator_"
                                                                                        "id IS"
                                                                                        " NOT NULL "
                                                                                        "AND "
                                                                                        "EXISTS "
                                                                                        "(SELECT 1 "
                                                                                        "FROM "
                                                                                        "recs_"
                                                                                        "indicators"
                                                                                        " i WHERE "
                                                                                        "i.id = "
                                                                                        "p."
                                                                                        "indicator_"
                                                                                        "id "
                                                                                        "AN"
                                                                                        "D" INDICATOR_SELECTED
                                                                                        ")) ORDER "
                                                                                        "BY p.id",
     -1, -1, -1, true},
    {"History", history_header, (int)RP_ARRAY_LEN(history_header),
     "SELECT r.ref, h.old_status, h.status, h.changed_on, h.author, h.note FROM"
     " recs_status_history h JOIN recs_recs r ON r.id = h.rec_id WHERE" RP_RECS__FILTER_SQL
     " ORDER BY h.id",
     HC_STATUS, -1, -1, true},
};

/* The workbook being written, and the cells whose text had to be shortened. */
typedef struct xlsx_job {
    lxw_workbook *wb;
    lxw_format *bold;
    rp_store *st;
    const rp_recs_filter *filter;
    rp_x_buf notes; /* "sheet\tcell\tref\tchars\n" per shortened cell */
    size_t n_notes;
    rp_error *err;
} xlsx_job;

static int lxw_fail(xlsx_job *j, lxw_error e, const char *sheet)
{
    return rp_error_set(j->err, RP_EIO, "cannot write sheet '%s' of the workbook: %s", sheet,
                        lxw_strerror(e));
}

/* Number of UTF-8 characters of @p s; *cut = byte length of its first @p keep ones. */
static size_t utf8_chars(const char *s, size_t keep, size_t *cut)
{
    size_t n = 0;
    size_t i = 0;
    *cut = 0;
    for (; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == keep) {
                *cut = i;
            }
            n++;
        }
    }
    if (n <= keep) {
        *cut = i;
    }
    return n;
}

/* Column letters of 0-based @p col ("A", ..., "Z", "AA", ...). */
static void col_name(char out[8], int col)
{
    char rev[8];
    int n = 0;
    for (int c = col + 1; c > 0 && n < 7; c = (c - 1) / 26) {
        rev[n++] = (char)('A' + (c - 1) % 26);
    }
    for (int k = 0; k < n; k++) {
        out[k] = rev[n - 1 - k];
    }
    out[n] = '\0';
}

/*
 * Write text @p v; text over Excel's limit (libxlsxwriter refuses it, and the cell would
 * be left empty) is cut at a character boundary and ends with a visible marker, and the
 * cell is listed on the Notes sheet.
 */
static int write_text(xlsx_job *j,
                      lxw_worksheet *ws,
                      const sheet_spec *sp,
                      lxw_row_t row,
                      int col,
                      const char *v,
                      const char *row_ref)
{
    size_t cut = 0;
    size_t n = utf8_chars(v, CELL_MAX_CHARS - MARK_MAX, &cut);
    lxw_error e = LXW_NO_ERROR;
    if (n <= CELL_MAX_CHARS) {
        e = worksheet_write_string(ws, row, (lxw_col_t)col, v, NULL);
        return e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, sp->name);
    }
    rp_x_buf b = RP_X_BUF_INIT;
    rp_x_buf_append(&b, v, cut);
    rp_x_buf_printf(&b,
                    " [... truncated by rapporteur: %zu of %zu characters shown, Excel's limit;"
                    " the CSV and JSON exports hold the whole text]",
                    (size_t)(CELL_MAX_CHARS - MARK_MAX), n);
    char cell[8];
    col_name(cell, col);
    rp_x_buf_printf(&j->notes, "%s\t%s%u\t%s\t%zu\n", sp->name, cell, (unsigned)row + 1, row_ref,
                    n);
    j->n_notes++;
    int rc = RP_OK;
    if (rp_x_buf_oom(&b) || rp_x_buf_oom(&j->notes)) {
        rc = nomem(j->err);
    } else {
        e = worksheet_write_string(ws, row, (lxw_col_t)col, rp_x_buf_cstr(&b), NULL);
        rc = e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, sp->name);
    }
    rp_x_buf_release(&b);
    return rc;
}

/* Write column @p c of the current row of @p stmt. */
static int write_cell(
    xlsx_job *j, lxw_worksheet *ws, const sheet_spec *sp, sqlite3_stmt *stmt, lxw_row_t row, int c)
{
    int type = sqlite3_column_type(stmt, c);
    const char *v = rp_recs__col_text(stmt, c);
    if (c == sp->status_col || (sp->header == history_header && c == HC_FROM)) {
        v = type == SQLITE_NULL ? "" : rp_recs_name(RP_RECS_V_STATUS, sqlite3_column_int(stmt, c));
    } else if (c == sp->strength_col) {
        v = rp_recs_name(RP_RECS_V_STRENGTH, sqlite3_column_int(stmt, c));
    } else if (c == sp->frequency_col) {
        v = rp_recs_name(RP_RECS_V_FREQUENCY, sqlite3_column_int(stmt, c));
    } else if (sp->numbers && (type == SQLITE_INTEGER || type == SQLITE_FLOAT)) {
        lxw_error e =
            worksheet_write_number(ws, row, (lxw_col_t)c, sqlite3_column_double(stmt, c), NULL);
        return e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, sp->name);
    }
    /* Strings are never formulas in libxlsxwriter: no injection to guard. */
    return write_text(j, ws, sp, row, c, v != NULL ? v : "", rp_recs__col_text(stmt, 0));
}

static int write_sheet(xlsx_job *j, const sheet_spec *sp)
{
    lxw_worksheet *ws = workbook_add_worksheet(j->wb, sp->name);
    if (ws == NULL) {
        return nomem(j->err);
    }
    int rc = RP_OK;
    for (int c = 0; c < sp->n_cols && rc == RP_OK; c++) {
        lxw_error e = worksheet_write_string(ws, 0, (lxw_col_t)c, sp->header[c], j->bold);
        rc = e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, sp->name);
    }
    worksheet_freeze_panes(ws, 1, 0);
    sqlite3_stmt *stmt = NULL;
    if (rc == RP_OK) {
        rc = rp_store__prepare(&stmt, j->st, sp->sql, j->err);
    }
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, j->st, j->filter, j->err);
    }
    if (rc == RP_OK && sqlite3_bind_parameter_count(stmt) >= 8 &&
        sqlite3_bind_int(stmt, 8, rp_recs__filter_is_empty(j->filter)) != SQLITE_OK) {
        rc = rp_store__sql_error(j->err, j->st->db, "cannot bind a filter");
    }
    lxw_row_t row = 1;
    int s = rc == RP_OK ? sqlite3_step(stmt) : SQLITE_DONE;
    for (; rc == RP_OK && s == SQLITE_ROW; s = sqlite3_step(stmt)) {
        for (int c = 0; c < sp->n_cols && rc == RP_OK; c++) {
            rc = write_cell(j, ws, sp, stmt, row, c);
        }
        row++;
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(j->err, j->st->db, "cannot export the recommendations");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* The Notes sheet: every cell whose text was shortened (only when there is one). */
static int write_notes(xlsx_job *j)
{
    static const char *const header[] = {"sheet", "cell", "row", "characters", "note"};
    static const sheet_spec notes = {"Notes", header, 5, "", -1, -1, -1, false};
    lxw_worksheet *ws = workbook_add_worksheet(j->wb, notes.name);
    if (ws == NULL) {
        return nomem(j->err);
    }
    int rc = RP_OK;
    for (int c = 0; c < notes.n_cols && rc == RP_OK; c++) {
        lxw_error e = worksheet_write_string(ws, 0, (lxw_col_t)c, header[c], j->bold);
        rc = e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, notes.name);
    }
    const char *p = rp_x_buf_cstr(&j->notes);
    for (lxw_row_t row = 1; rc == RP_OK && *p != '\0'; row++) {
        for (int c = 0; c < 4 && rc == RP_OK; c++) {
            size_t n = strcspn(p, c < 3 ? "\t" : "\n");
            char field[RP_RECS_REF_MAX + 32];
            rp_x_strlcpy(field, p, n + 1 < sizeof(field) ? n + 1 : sizeof(field));
            lxw_error e = worksheet_write_string(ws, row, (lxw_col_t)c, field, NULL);
            rc = e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, notes.name);
            p += n + (p[n] != '\0');
        }
        if (rc == RP_OK) {
            lxw_error e = worksheet_write_string(
                ws, row, 4,
                "text longer than Excel allows in a cell: shortened, with a marker at its end",
                NULL);
            rc = e == LXW_NO_ERROR ? RP_OK : lxw_fail(j, e, notes.name);
        }
    }
    return rc;
}

/*
 * A new empty file beside @p path named ".<name>.<pid>.<n>", created exclusively with
 * mode 0666 less the umask (as fopen() would create @p path), its name in *@p tmp.
 */
static int temp_beside(char **tmp, const char *path, rp_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    *tmp = NULL;
    if (*base == '\0') {
        return rp_error_set(err, RP_EINVAL, "output path '%s' names a directory", path);
    }
    size_t len = strlen(path) + 64;
    char *t = rp_malloc(len);
    if (t == NULL) {
        return nomem(err);
    }
    for (unsigned n = 0; n < 1000; n++) {
        snprintf(t, len, "%.*s.%s.%ld.%u", (int)dir_len, path, base, (long)getpid(), n);
        int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            *tmp = t;
            return RP_OK;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    int rc =
        rp_error_set(err, RP_EIO, "cannot create a file beside '%s': %s", path, strerror(errno));
    rp_free(t);
    return rc;
}

int rp_recs_export_xlsx(rp_store *st, const char *path, const rp_recs_filter *filter, rp_error *err)
{
    if (path == NULL || path[0] == '\0') {
        return rp_error_set(err, RP_EINVAL, "no output file given");
    }
    char *tmp = NULL;
    int rc = rp_recs__ensure_schema(st, err);
    if (rc == RP_OK) {
        rc = temp_beside(&tmp, path, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    xlsx_job j = {NULL, NULL, st, filter, RP_X_BUF_INIT, 0, err};
    lxw_workbook_options wo = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    j.wb = workbook_new_opt(tmp, &wo);
    if (j.wb == NULL) {
        rc = rp_error_set(err, RP_EIO, "cannot create workbook '%s'", path);
        goto out;
    }
    j.bold = workbook_add_format(j.wb);
    if (j.bold != NULL) {
        format_set_bold(j.bold);
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(sheets) && rc == RP_OK; i++) {
        rc = write_sheet(&j, &sheets[i]);
    }
    if (rc == RP_OK && j.n_notes > 0) {
        rc = write_notes(&j);
    }
    lxw_error e = workbook_close(j.wb);
    if (rc == RP_OK && e != LXW_NO_ERROR) {
        rc = rp_error_set(err, RP_EIO, "cannot write workbook '%s': %s", path, lxw_strerror(e));
    }
    if (rc == RP_OK && rename(tmp, path) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
out:
    if (rc != RP_OK && tmp != NULL) {
        unlink(tmp); /* nothing is left at @p path on failure, nor beside it */
    }
    rp_free(tmp);
    rp_x_buf_release(&j.notes);
    return rc;
}
