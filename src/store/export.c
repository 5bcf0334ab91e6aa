/*
 * Records out of the store: the conversion of a cases row into an rp_case_record and of
 * a field into its standard text (codes by name), and the export of stored records as
 * CSV (RFC 4180 quoting, formula injection neutralised) or as a JSON array of objects.
 */
#include "store/store_int.h"

#include <jansson.h>

/* ==== rows and field text ==== */

/* Copy a text column into a fixed buffer ("" for NULL). */
static void column_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    rp_x_strlcpy(dst, t != NULL ? (const char *)t : "", size);
}

void rp_store__row_record(rp_case_record *rec, sqlite3_stmt *stmt, int first)
{
    int i = first;
    rp_case_record_init(rec);
    column_text(rec->list, sizeof(rec->list), stmt, i++);
    column_text(rec->case_id, sizeof(rec->case_id), stmt, i++);
    column_text(rec->person_id, sizeof(rec->person_id), stmt, i++);
    rec->registration_year = sqlite3_column_int(stmt, i++);
    column_text(rec->registration_date, sizeof(rec->registration_date), stmt, i++);
    rec->id_status = (rp_id_status)sqlite3_column_int(stmt, i++);
    rec->sex = (rp_sex)sqlite3_column_int(stmt, i++);
    rec->age = sqlite3_column_int(stmt, i++);
    rec->age_band = (rp_age_band)sqlite3_column_int(stmt, i++);
    rec->majority_at_exploitation = (rp_majority)sqlite3_column_int(stmt, i++);
    column_text(rec->citizenship, sizeof(rec->citizenship), stmt, i++);
    rec->citizenship_state = (rp_state)sqlite3_column_int(stmt, i++);
    column_text(rec->country_of_exploitation, sizeof(rec->country_of_exploitation), stmt, i++);
    rec->country_of_exploitation_state = (rp_state)sqlite3_column_int(stmt, i++);
    rec->exploitation = (uint32_t)sqlite3_column_int64(stmt, i++);
    rec->exploitation_state = (rp_state)sqlite3_column_int(stmt, i++);
    rec->sexual_types = (uint32_t)sqlite3_column_int64(stmt, i++);
    rec->labour_sectors = (uint32_t)sqlite3_column_int64(stmt, i++);
    rec->means_of_control = (uint32_t)sqlite3_column_int64(stmt, i++);
    rec->means_of_control_state = (rp_state)sqlite3_column_int(stmt, i++);
    rec->recruiter_relation = (uint32_t)sqlite3_column_int64(stmt, i++);
    rec->recruiter_relation_state = (rp_state)sqlite3_column_int(stmt, i);
}

/* A code by name; a value outside the code list (a damaged store) as its number. */
static void put_code(rp_x_buf *b, rp_field f, unsigned v)
{
    const char *name = rp_code_name(f, v);
    if (name != NULL) {
        rp_x_buf_puts(b, name);
    } else {
        rp_x_buf_printf(b, "%u", v);
    }
}

/* Codes of a bit set joined with ';'; "unknown" or "" when no bit is set. */
static void put_codes(rp_x_buf *b, rp_field f, uint32_t mask, rp_state state)
{
    if (mask == 0) {
        rp_x_buf_puts(b, state == RP_STATE_UNKNOWN ? "unknown" : "");
        return;
    }
    bool first = true;
    for (unsigned bit = 0; bit < 32; bit++) {
        if ((mask & (UINT32_C(1) << bit)) == 0) {
            continue;
        }
        if (!first) {
            rp_x_buf_putc(b, ';');
        }
        first = false;
        const char *name = rp_code_name(f, bit);
        if (name != NULL) {
            rp_x_buf_puts(b, name);
        } else {
            rp_x_buf_printf(b, "bit%u", bit);
        }
    }
}

static void put_country(rp_x_buf *b, const char *code, rp_state state)
{
    if (state == RP_STATE_KNOWN) {
        rp_x_buf_puts(b, code);
    } else if (state == RP_STATE_UNKNOWN) {
        rp_x_buf_puts(b, "unknown");
    }
}

int rp_store__field_text(rp_x_buf *b, const rp_case_record *rec, rp_field f)
{
    switch (f) {
    case RP_FIELD_LIST:
        rp_x_buf_puts(b, rec->list);
        break;
    case RP_FIELD_CASE_ID:
        rp_x_buf_puts(b, rec->case_id);
        break;
    case RP_FIELD_PERSON_ID:
        rp_x_buf_puts(b, rec->person_id);
        break;
    case RP_FIELD_REGISTRATION_YEAR:
        if (rec->registration_year != 0) {
            rp_x_buf_printf(b, "%d", rec->registration_year);
        }
        break;
    case RP_FIELD_REGISTRATION_DATE:
        rp_x_buf_puts(b, rec->registration_date);
        break;
    case RP_FIELD_ID_STATUS:
        put_code(b, f, (unsigned)rec->id_status);
        break;
    case RP_FIELD_SEX:
        put_code(b, f, (unsigned)rec->sex);
        break;
    case RP_FIELD_AGE:
        if (rec->age >= 0) {
            rp_x_buf_printf(b, "%d", rec->age);
        }
        break;
    case RP_FIELD_AGE_BAND:
        put_code(b, f, (unsigned)rec->age_band);
        break;
    case RP_FIELD_MAJORITY_AT_EXPLOITATION:
        put_code(b, f, (unsigned)rec->majority_at_exploitation);
        break;
    case RP_FIELD_CITIZENSHIP:
        put_country(b, rec->citizenship, rec->citizenship_state);
        break;
    case RP_FIELD_COUNTRY_OF_EXPLOITATION:
        put_country(b, rec->country_of_exploitation, rec->country_of_exploitation_state);
        break;
    case RP_FIELD_EXPLOITATION:
        put_codes(b, f, rec->exploitation, rec->exploitation_state);
        break;
    case RP_FIELD_SEXUAL_TYPES:
        put_codes(b, f, rec->sexual_types, RP_STATE_MISSING);
        break;
    case RP_FIELD_LABOUR_SECTORS:
        put_codes(b, f, rec->labour_sectors, RP_STATE_MISSING);
        break;
    case RP_FIELD_MEANS_OF_CONTROL:
        put_codes(b, f, rec->means_of_control, rec->means_of_control_state);
        break;
    case RP_FIELD_RECRUITER_RELATION:
        put_codes(b, f, rec->recruiter_relation, rec->recruiter_relation_state);
        break;
    case RP_FIELD_COUNT:
    default:
        break;
    }
    /* Make sure the buffer is a string even when the field was empty. */
    rp_x_buf_puts(b, "");
    return rp_x_buf_oom(b) ? RP_ENOMEM : RP_OK;
}

/* ==== CSV ==== */

/*
 * Append one CSV cell. A cell that a spreadsheet would take for a formula (first byte
 * = + - @) gets a leading apostrophe (OWASP "CSV injection"); a cell holding a comma,
 * quote, CR or LF is quoted with inner quotes doubled (RFC 4180 section 2).
 */
static void put_csv_cell(rp_x_buf *line, const char *cell)
{
    bool formula = cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@';
    bool quote = strpbrk(cell, ",\"\r\n") != NULL;
    if (quote) {
        rp_x_buf_putc(line, '"');
    }
    if (formula) {
        rp_x_buf_putc(line, '\'');
    }
    for (const char *p = cell; *p != '\0'; p++) {
        if (*p == '"') {
            rp_x_buf_putc(line, '"');
        }
        rp_x_buf_putc(line, *p);
    }
    if (quote) {
        rp_x_buf_putc(line, '"');
    }
}

/* ==== JSON ==== */

static bool field_is_int(rp_field f)
{
    return f == RP_FIELD_REGISTRATION_YEAR || f == RP_FIELD_AGE;
}

static bool field_is_multi(rp_field f)
{
    const rp_field_info *info = rp_field_info_get(f);
    return info != NULL && info->type == RP_FTYPE_CODES;
}

/*
 * The JSON value of a field given its export text: null when missing, integers as
 * numbers, multi-valued fields as arrays of codes, anything else as a string.
 */
static json_t *json_value(rp_field f, const rp_case_record *rec, const char *text)
{
    if (text[0] == '\0') {
        return json_null();
    }
    if (field_is_int(f)) {
        return json_integer(f == RP_FIELD_AGE ? rec->age : rec->registration_year);
    }
    if (!field_is_multi(f)) {
        return json_string(text);
    }
    json_t *arr = json_array();
    if (arr == NULL) {
        return NULL;
    }
    const char *p = text;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t n = semi != NULL ? (size_t)(semi - p) : strlen(p);
        if (json_array_append_new(arr, json_stringn(p, n)) != 0) {
            json_decref(arr);
            return NULL;
        }
        if (semi == NULL) {
            break;
        }
        p = semi + 1;
    }
    return arr;
}

/* json_dump_callback() sink: append to an rp_x_buf. */
static int append_json(const char *buffer, size_t size, void *data)
{
    return rp_x_buf_append(data, buffer, size) == RP_OK ? 0 : -1;
}

/* ==== export ==== */

/* Append the CSV line of @p rec (with its newline) to @p line. RP_OK or RP_ENOMEM. */
static int csv_row(rp_x_buf *line, rp_x_buf *cell, const rp_case_record *rec)
{
    for (int f = 0; f < RP_FIELD_COUNT; f++) {
        rp_x_buf_reset(cell);
        if (rp_store__field_text(cell, rec, (rp_field)f) != RP_OK) {
            return RP_ENOMEM;
        }
        if (f > 0) {
            rp_x_buf_putc(line, ',');
        }
        put_csv_cell(line, rp_x_buf_cstr(cell));
    }
    rp_x_buf_putc(line, '\n');
    return rp_x_buf_oom(line) ? RP_ENOMEM : RP_OK;
}

/* Append the JSON object of @p rec, after @p sep, to @p line. RP_OK or RP_ENOMEM. */
static int json_row(rp_x_buf *line, rp_x_buf *cell, const rp_case_record *rec, const char *sep)
{
    int rc = RP_OK;
    json_t *obj = json_object();
    if (obj == NULL) {
        return RP_ENOMEM;
    }
    for (int f = 0; f < RP_FIELD_COUNT && rc == RP_OK; f++) {
        rp_x_buf_reset(cell);
        if (rp_store__field_text(cell, rec, (rp_field)f) != RP_OK) {
            rc = RP_ENOMEM;
            break;
        }
        const rp_field_info *info = rp_field_info_get((rp_field)f);
        json_t *v = json_value((rp_field)f, rec, rp_x_buf_cstr(cell));
        if (info == NULL || v == NULL || json_object_set_new(obj, info->name, v) != 0) {
            rc = RP_ENOMEM;
        }
    }
    if (rc == RP_OK) {
        rp_x_buf_puts(line, sep);
        if (json_dump_callback(obj, append_json, line, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
            rc = RP_ENOMEM;
        }
    }
    json_decref(obj);
    return rc == RP_OK && rp_x_buf_oom(line) ? RP_ENOMEM : rc;
}

/* Write @p b to @p out. */
static int write_buf(FILE *out, const rp_x_buf *b, rp_error *err)
{
    if (rp_x_buf_oom(b)) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (b->len > 0 && fwrite(b->data, 1, b->len, out) != b->len) {
        return rp_error_set(err, RP_EIO, "cannot write the export");
    }
    return RP_OK;
}

/* The CSV header (field names) or the opening bracket of the JSON array. */
static void export_head(rp_x_buf *line, rp_export_format format)
{
    if (format != RP_EXPORT_CSV) {
        rp_x_buf_putc(line, '[');
        return;
    }
    for (int f = 0; f < RP_FIELD_COUNT; f++) {
        const rp_field_info *info = rp_field_info_get((rp_field)f);
        if (f > 0) {
            rp_x_buf_putc(line, ',');
        }
        put_csv_cell(line, info != NULL ? info->name : "");
    }
    rp_x_buf_putc(line, '\n');
}

int rp_store_export(
    rp_store *st, FILE *out, rp_export_format format, const char *list, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    rp_x_buf line = RP_X_BUF_INIT;
    rp_x_buf cell = RP_X_BUF_INIT;
    long long n_rows = 0;

    if (st == NULL || out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or output given");
    }
    if (format != RP_EXPORT_CSV && format != RP_EXPORT_JSON) {
        return rp_error_set(err, RP_EINVAL, "unknown export format %d", (int)format);
    }
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT " RP_STORE_CASE_COLUMNS " FROM cases"
                               " WHERE ?1 IS NULL OR list = ?1 ORDER BY id",
                               err);
    if (rc != RP_OK) {
        goto out;
    }
    if ((list != NULL ? sqlite3_bind_text(stmt, 1, list, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(stmt, 1)) != SQLITE_OK) {
        rc = rp_store__sql_error(err, st->db, "cannot export the records");
        goto out;
    }
    export_head(&line, format);
    rc = write_buf(out, &line, err);

    int s = SQLITE_ROW;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        rp_case_record rec;
        rp_store__row_record(&rec, stmt, 0);
        rp_x_buf_reset(&line);
        rc = format == RP_EXPORT_CSV ? csv_row(&line, &cell, &rec)
                                     : json_row(&line, &cell, &rec, n_rows > 0 ? ",\n" : "\n");
        rc = rc == RP_OK ? write_buf(out, &line, err)
                         : rp_error_set(err, RP_ENOMEM, "out of memory");
        n_rows++;
    }
    if (rc != RP_OK) {
        goto out;
    }
    if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the records");
        goto out;
    }
    if ((format == RP_EXPORT_JSON && fputs(n_rows > 0 ? "\n]\n" : "]\n", out) == EOF) ||
        fflush(out) != 0 || ferror(out)) {
        rc = rp_error_set(err, RP_EIO, "cannot write the export");
    }
out:
    rp_x_buf_release(&line);
    rp_x_buf_release(&cell);
    sqlite3_finalize(stmt);
    return rc;
}
