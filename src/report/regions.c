/*
 * State tables: the small CSV files of a regional report, keyed by their first column.
 * The region table (data/regions/osce_regions.csv) maps ISO 3166-1 alpha-2 codes to the
 * groupings an analyst uses (UN M49 region and sub-region, EU, Council of Europe, OSCE);
 * a pool file lists the states of a report with their stores and regions. RFC 4180 with
 * a header row; the whole file is read into one array of cells.
 */
#include "report/report_int.h"

#define STATE_TABLE_MAX_BYTES (4u << 20)

struct rp_state_table {
    size_t n_cols, n_rows;
    char **cells; /* (n_rows + 1) * n_cols: the header, then the rows */
};

void rp_state_table_free(rp_state_table *st)
{
    if (st == NULL) {
        return;
    }
    rp_x_strv_free(st->cells, (st->n_rows + 1) * st->n_cols);
    rp_free(st);
}

size_t rp_state_table_rows(const rp_state_table *st)
{
    return st != NULL ? st->n_rows : 0;
}

size_t rp_state_table_columns(const rp_state_table *st)
{
    return st != NULL ? st->n_cols : 0;
}

int rp_state_table_column(const rp_state_table *st, const char *name)
{
    for (size_t c = 0; st != NULL && name != NULL && c < st->n_cols; c++) {
        if (strcmp(st->cells[c], name) == 0) {
            return (int)c;
        }
    }
    return -1;
}

const char *rp_state_table_column_name(const rp_state_table *st, size_t col)
{
    return st != NULL && col < st->n_cols ? st->cells[col] : NULL;
}

const char *rp_state_table_cell(const rp_state_table *st, size_t row, size_t col)
{
    if (st == NULL || row >= st->n_rows || col >= st->n_cols) {
        return NULL;
    }
    return st->cells[(row + 1) * st->n_cols + col];
}

long rp_state_table_find(const rp_state_table *st, const char *key)
{
    for (size_t r = 0; st != NULL && key != NULL && r < st->n_rows; r++) {
        if (strcmp(st->cells[(r + 1) * st->n_cols], key) == 0) {
            return (long)r;
        }
    }
    return -1;
}

/* ==== the parser ==== */

/* Where the parser is: the input, the position, the line and the line's start. */
typedef struct csv_in {
    const char *p, *end;
    long line;
    const char *line_start;
    const char *name;
} csv_in;

static long column_of(const csv_in *in)
{
    return (long)(in->p - in->line_start) + 1;
}

/*
 * One field at in->p into @p b (cleared first); stops at ',' (consumed, *more = true) or
 * at the end of the record (the newline consumed, *more = false).
 */
static int read_field(rp_x_buf *b, bool *more, csv_in *in, rp_error *err)
{
    rp_x_buf_reset(b);
    *more = false;
    if (in->p < in->end && *in->p == '"') {
        long line = in->line, col = column_of(in);
        in->p++;
        for (;;) {
            if (in->p >= in->end) {
                return rp_error_set_at(err, RP_EPARSE, in->name, line, col,
                                       "quoted field not closed");
            }
            char ch = *in->p++;
            if (ch == '"' && in->p < in->end && *in->p == '"') {
                in->p++;
            } else if (ch == '"') {
                break;
            } else if (ch == '\n') {
                in->line++;
                in->line_start = in->p;
            }
            rp_x_buf_putc(b, ch); /* a doubled quote gives one */
        }
    } else {
        while (in->p < in->end && *in->p != ',' && *in->p != '\n' && *in->p != '\r') {
            if (*in->p == '"') {
                return rp_error_set_at(err, RP_EPARSE, in->name, in->line, column_of(in),
                                       "quote inside an unquoted field");
            }
            rp_x_buf_putc(b, *in->p++);
        }
    }
    if (in->p < in->end && *in->p == ',') {
        in->p++;
        *more = true;
        return RP_OK;
    }
    if (in->p < in->end && *in->p == '\r') {
        in->p++;
    }
    if (in->p < in->end && *in->p != '\n') {
        return rp_error_set_at(err, RP_EPARSE, in->name, in->line, column_of(in),
                               "text after a quoted field");
    }
    if (in->p < in->end) {
        in->p++;
        in->line++;
        in->line_start = in->p;
    }
    return RP_OK;
}

/* Check the new cell at @p i of record line @p line: keys and header names non-empty and
 * distinct. */
static int check_cell(const rp_state_table *st,
                      const rp_x_strvec *cells,
                      size_t rec,
                      size_t col,
                      long line,
                      const char *name,
                      rp_error *err)
{
    const char *v = cells->items[cells->n - 1];
    if (rec == 0 || col == 0) {
        if (v[0] == '\0') {
            return rp_error_set_at(err, RP_EPARSE, name, line, 0, "%s %zu is empty",
                                   rec == 0 ? "column name" : "key of row",
                                   rec == 0 ? col + 1 : rec);
        }
        size_t stride = rec == 0 ? 1 : st->n_cols;
        size_t first = rec == 0 ? 0 : st->n_cols;
        for (size_t j = first; j + 1 < cells->n; j += stride) {
            if (strcmp(cells->items[j], v) == 0) {
                return rp_error_set_at(err, RP_EPARSE, name, line, 0, "%s '%s' repeated",
                                       rec == 0 ? "column" : "key", v);
            }
        }
    }
    return RP_OK;
}

static bool blank_line(const csv_in *in)
{
    return *in->p == '\n' || (*in->p == '\r' && in->p + 1 < in->end && in->p[1] == '\n');
}

/* Read every record into @p cells, checking the shape. */
static int read_records(rp_state_table *st, rp_x_strvec *cells, csv_in *in, rp_error *err)
{
    rp_x_buf b = RP_X_BUF_INIT;
    int rc = RP_OK;
    size_t rec = 0;
    while (rc == RP_OK && in->p < in->end) {
        if (blank_line(in)) {
            in->p += *in->p == '\r' ? 2 : 1;
            in->line++;
            in->line_start = in->p;
            continue;
        }
        long line = in->line;
        size_t col = 0;
        bool more = true;
        while (rc == RP_OK && more) {
            rc = read_field(&b, &more, in, err);
            if (rc == RP_OK && rec > 0 && col >= st->n_cols) {
                rc = rp_error_set_at(err, RP_EPARSE, in->name, line, 0, "more than %zu fields",
                                     st->n_cols);
            }
            if (rc == RP_OK) {
                rc = rp_x_strvec_push(cells, rp_x_buf_cstr(&b)) == RP_OK
                         ? check_cell(st, cells, rec, col, line, in->name, err)
                         : rp_error_set(err, RP_ENOMEM, "out of memory");
            }
            col++;
        }
        if (rc == RP_OK && rec == 0) {
            st->n_cols = col;
        } else if (rc == RP_OK && col != st->n_cols) {
            rc = rp_error_set_at(err, RP_EPARSE, in->name, line, 0, "%zu fields, expected %zu", col,
                                 st->n_cols);
        }
        rec++;
    }
    rp_x_buf_release(&b);
    if (rc == RP_OK && rec == 0) {
        rc = rp_error_set_at(err, RP_EPARSE, in->name, 1, 0, "no header row");
    }
    st->n_rows = rec > 0 ? rec - 1 : 0;
    return rc;
}

int rp_state_table_parse(
    rp_state_table **out, const char *data, size_t len, const char *name, rp_error *err)
{
    if (out == NULL || (data == NULL && len > 0)) {
        return rp_error_set(err, RP_EINVAL, "no data or output given");
    }
    *out = NULL;
    const char *label = name != NULL ? name : "(state table)";
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3; /* a UTF-8 byte order mark, as spreadsheets write */
        len -= 3;
    }
    if (rp_x_utf8_check((const unsigned char *)data, len) != len) {
        return rp_error_set_at(err, RP_EPARSE, label, 0, 0, "not valid UTF-8");
    }
    if (len > 0 && memchr(data, '\0', len) != NULL) {
        return rp_error_set_at(err, RP_EPARSE, label, 0, 0, "NUL byte in the file");
    }
    rp_state_table *st = rp_calloc(1, sizeof(*st));
    if (st == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rp_x_strvec cells = RP_X_STRVEC_INIT;
    csv_in in = {data, data + len, 1, data, label};
    int rc = read_records(st, &cells, &in, err);
    size_t n = 0;
    st->cells = rp_x_strvec_detach(&cells, &n);
    if (rc == RP_OK && st->cells == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (rc != RP_OK) {
        rp_x_strv_free(st->cells, n);
        rp_free(st);
        rp_x_strvec_release(&cells);
        return rc;
    }
    *out = st;
    return RP_OK;
}

int rp_state_table_load(rp_state_table **out, const char *path, rp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    if (out == NULL || path == NULL) {
        return rp_error_set(err, RP_EINVAL, "no path or output given");
    }
    *out = NULL;
    int rc = rp_x_read_file(&data, &len, path, STATE_TABLE_MAX_BYTES, err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *base = strrchr(path, '/');
    rc = rp_state_table_parse(out, data, len, base != NULL ? base + 1 : path, err);
    rp_free(data);
    return rc;
}
