/*
 * SPSS (.sav, .zsav) and Stata (.dta) reader behind rp_reader, on ReadStat. The whole
 * file is parsed at open into memory (these exports are small; RP_DATA_STAT_MAX_BYTES is
 * the limit), then rows are handed out as UTF-8 strings: numbers as their shortest
 * decimal, missing values as "", value labels applied, dates as ISO "YYYY-MM-DD".
 */
#include "common/common_int.h"
#include "data/data_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <inttypes.h>
#include <math.h>
#include <readstat.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why buffer everything: ReadStat drives the parse with callbacks over the whole file,
 * and Stata files keep their value labels after the data, so a value's text is only
 * known at the end. Values are kept raw (a double, or a string in one arena) during the
 * parse; the label sets are sorted afterwards and each row is formatted when it is asked
 * for, so memory is about 24 bytes per cell plus the strings.
 *
 * Dates: SPSS stores seconds since 1582-10-14 under the formats DATE, ADATE, EDATE,
 * SDATE, JDATE, DATETIME, YMDHMS, QYR, WKYR (MOYR gives "YYYY-MM"); Stata stores days
 * since 1960-01-01 under %td (and the old %d), milliseconds under %tc/%tC, months under
 * %tm ("YYYY-MM"). Times of day are dropped. Sources: IBM SPSS Statistics "Date and time
 * formats"; Stata [D] Datetime.
 */

typedef enum cell_kind { CELL_MISSING = 0, CELL_NUM, CELL_STR } cell_kind;

typedef struct cell {
    double num; /* CELL_NUM */
    size_t off; /* CELL_STR: offset of the string in the arena */
    cell_kind kind;
} cell;

typedef enum date_kind {
    DATE_NONE = 0,
    DATE_SPSS_SECONDS, /* seconds since 1582-10-14 -> YYYY-MM-DD */
    DATE_SPSS_MONTH,   /* seconds since 1582-10-14 -> YYYY-MM */
    DATE_STATA_DAYS,   /* days since 1960-01-01 */
    DATE_STATA_MS,     /* milliseconds since 1960-01-01 00:00 */
    DATE_STATA_MONTHS  /* months since 1960m1 -> YYYY-MM */
} date_kind;

typedef struct column {
    char *name;
    char *set_name; /* value label set, or NULL */
    long set;       /* index in sets after resolution, -1 when none */
    date_kind date;
} column;

typedef struct label {
    double num; /* numeric value (when str is NULL) */
    char *str;  /* string value, or NULL */
    char *text; /* the label */
} label;

typedef struct label_set {
    char *name;
    label *v;
    size_t n, cap;
} label_set;

struct rp_data__stat {
    char *path;
    rp_input_format format;
    bool value_labels;
    column *cols;
    size_t n_cols, cap_cols;
    const char **names; /* column names for rp_data__stat_columns() */
    cell *cells;        /* row-major, n_rows * n_cols */
    size_t cap_cells;
    size_t n_rows;
    char *arena; /* string values, NUL-terminated */
    size_t arena_len, arena_cap;
    label_set *sets;
    size_t n_sets, cap_sets;
    size_t next_row; /* rows handed out */
    /* the current row */
    rp_x_buf row;
    size_t *offs;
    const char **ptrs;
    int rc; /* error raised in a callback */
    rp_error *err;
};

/* ==== helpers ==== */

static int set_nomem(rp_data__stat *r)
{
    r->rc = rp_error_set(r->err, RP_ENOMEM, "out of memory");
    return r->rc;
}

/* Bytes held so far against RP_DATA_STAT_MAX_BYTES; RP_EPARSE (unusable file) when over. */
static int check_size(rp_data__stat *r, uint64_t cells, uint64_t string_bytes)
{
    uint64_t need = cells * (uint64_t)sizeof(cell) + string_bytes;
    if (cells > RP_DATA_STAT_MAX_BYTES / sizeof(cell) || need > RP_DATA_STAT_MAX_BYTES) {
        r->rc = rp_error_set_at(r->err, RP_EPARSE, r->path, 0, 0,
                                "file too large to read into memory (limit %" PRIu64
                                " MiB); export it as CSV instead",
                                RP_DATA_STAT_MAX_BYTES >> 20);
        return r->rc;
    }
    return RP_OK;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible
 * low-level date algorithms"). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool rp_data__iso_date(char *buf, size_t size, int64_t days)
{
    /* 0001-01-01 .. 9999-12-31 */
    if (days < -719162 || days > 2932896) {
        return false;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04" PRId64 "-%02u-%02u", y, m, d);
    return true;
}

const char *rp_data__format_double(char *buf, size_t size, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", isnan(v) ? "" : v > 0 ? "inf" : "-inf");
        return buf;
    }
    if (v == 0.0) {
        snprintf(buf, size, "0");
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    return buf;
}

/* The alphabetic start of an SPSS format ("ADATE" of "ADATE10"), compared whole. */
static bool spss_format_is(const char *fmt, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(fmt, name, n) != 0) {
        return false;
    }
    char c = fmt[n];
    return c == '\0' || (c >= '0' && c <= '9');
}

static date_kind date_kind_of(rp_input_format format, const char *fmt)
{
    if (fmt == NULL || fmt[0] == '\0') {
        return DATE_NONE;
    }
    if (format == RP_INPUT_SAV) {
        static const char *const dates[] = {"DATE",     "ADATE",  "EDATE", "SDATE", "JDATE",
                                            "DATETIME", "YMDHMS", "QYR",   "WKYR"};
        for (size_t i = 0; i < RP_ARRAY_LEN(dates); i++) {
            if (spss_format_is(fmt, dates[i])) {
                return DATE_SPSS_SECONDS;
            }
        }
        return spss_format_is(fmt, "MOYR") ? DATE_SPSS_MONTH : DATE_NONE;
    }
    if (fmt[0] != '%') {
        return DATE_NONE;
    }
    const char *p = fmt + 1;
    if (*p == '-') {
        p++;
    }
    if (p[0] == 'd' || (p[0] == 't' && p[1] == 'd')) {
        return DATE_STATA_DAYS;
    }
    if (p[0] == 't' && (p[1] == 'c' || p[1] == 'C')) {
        return DATE_STATA_MS;
    }
    if (p[0] == 't' && p[1] == 'm') {
        return DATE_STATA_MONTHS;
    }
    return DATE_NONE;
}

/*
 * The text of date value @p v of kind @p k into @p buf; false when it is out of range
 * (then the number itself is shown).
 */
static bool format_date(char *buf, size_t size, date_kind k, double v)
{
    static const double max_abs = 1e15; /* far beyond year 9999 in any unit used here */
    if (!isfinite(v) || fabs(v) > max_abs) {
        return false;
    }
    int64_t days;
    bool month_only = false;
    switch (k) {
    case DATE_SPSS_SECONDS:
    case DATE_SPSS_MONTH:
        days = (int64_t)floor(v / 86400.0) + days_from_civil(1582, 10, 14);
        month_only = k == DATE_SPSS_MONTH;
        break;
    case DATE_STATA_DAYS:
        days = (int64_t)floor(v) + days_from_civil(1960, 1, 1);
        break;
    case DATE_STATA_MS:
        days = (int64_t)floor(v / 86400000.0) + days_from_civil(1960, 1, 1);
        break;
    case DATE_STATA_MONTHS: {
        int64_t mo = (int64_t)floor(v);
        int64_t y = 1960 + (mo >= 0 ? mo / 12 : -((-mo + 11) / 12));
        int64_t m = mo - (y - 1960) * 12 + 1;
        days = days_from_civil(y, (unsigned)m, 1);
        month_only = true;
        break;
    }
    default:
        return false;
    }
    if (!rp_data__iso_date(buf, size, days)) {
        return false;
    }
    if (month_only) {
        buf[7] = '\0';
    }
    return true;
}

/* ==== ReadStat callbacks ==== */

static int on_metadata(readstat_metadata_t *metadata, void *ctx)
{
    rp_data__stat *r = ctx;
    int rows = readstat_get_row_count(metadata);
    int vars = readstat_get_var_count(metadata);
    if (rows > 0 && vars > 0) {
        if (check_size(r, (uint64_t)rows * (uint64_t)vars, 0) != RP_OK) {
            return READSTAT_HANDLER_ABORT;
        }
    }
    return READSTAT_HANDLER_OK;
}

static int on_variable(int index, readstat_variable_t *variable, const char *val_labels, void *ctx)
{
    rp_data__stat *r = ctx;
    if (index < 0 || (size_t)index != r->n_cols) {
        r->rc =
            rp_error_set_at(r->err, RP_EPARSE, r->path, 0, 0, "variables out of order in the file");
        return READSTAT_HANDLER_ABORT;
    }
    if (rp_x_grow(&r->cols, &r->cap_cols, r->n_cols + 1, sizeof(*r->cols)) != RP_OK) {
        set_nomem(r);
        return READSTAT_HANDLER_ABORT;
    }
    column *c = &r->cols[r->n_cols];
    memset(c, 0, sizeof(*c));
    c->set = -1;
    const char *name = readstat_variable_get_name(variable);
    c->name = rp_strdup(name != NULL ? name : "");
    if (val_labels != NULL && val_labels[0] != '\0') {
        c->set_name = rp_strdup(val_labels);
    }
    r->n_cols++; /* owned from here, freed with the reader */
    if (c->name == NULL || (val_labels != NULL && val_labels[0] != '\0' && c->set_name == NULL)) {
        set_nomem(r);
        return READSTAT_HANDLER_ABORT;
    }
    if (readstat_variable_get_type_class(variable) == READSTAT_TYPE_CLASS_NUMERIC) {
        c->date = date_kind_of(r->format, readstat_variable_get_format(variable));
    }
    return READSTAT_HANDLER_OK;
}

static int add_string(rp_data__stat *r, const char *s, size_t *off)
{
    size_t len = strlen(s);
    if (check_size(r, (uint64_t)r->cap_cells, (uint64_t)r->arena_len + len + 1) != RP_OK) {
        return r->rc;
    }
    if (rp_x_grow(&r->arena, &r->arena_cap, r->arena_len + len + 1, 1) != RP_OK) {
        return set_nomem(r);
    }
    memcpy(r->arena + r->arena_len, s, len + 1);
    *off = r->arena_len;
    r->arena_len += len + 1;
    return RP_OK;
}

static int on_value(int obs_index, readstat_variable_t *variable, readstat_value_t value, void *ctx)
{
    rp_data__stat *r = ctx;
    int var = readstat_variable_get_index(variable);
    if (obs_index < 0 || var < 0 || (size_t)var >= r->n_cols) {
        r->rc = rp_error_set_at(r->err, RP_EPARSE, r->path, 0, 0, "value outside the table");
        return READSTAT_HANDLER_ABORT;
    }
    size_t row = (size_t)obs_index;
    if (row >= r->n_rows) {
        size_t need = (row + 1) * r->n_cols;
        size_t old = r->cap_cells;
        if (check_size(r, (uint64_t)need, (uint64_t)r->arena_len) != RP_OK) {
            return READSTAT_HANDLER_ABORT;
        }
        if (rp_x_grow(&r->cells, &r->cap_cells, need, sizeof(*r->cells)) != RP_OK) {
            set_nomem(r);
            return READSTAT_HANDLER_ABORT;
        }
        memset(r->cells + old, 0, (r->cap_cells - old) * sizeof(*r->cells));
        r->n_rows = row + 1;
    }
    cell *c = &r->cells[row * r->n_cols + (size_t)var];
    c->kind = CELL_MISSING;
    if (readstat_value_is_missing(value, variable)) {
        return READSTAT_HANDLER_OK;
    }
    if (readstat_value_type_class(value) == READSTAT_TYPE_CLASS_STRING) {
        const char *s = readstat_string_value(value);
        if (add_string(r, s != NULL ? s : "", &c->off) != RP_OK) {
            return READSTAT_HANDLER_ABORT;
        }
        c->kind = CELL_STR;
    } else {
        double v = readstat_double_value(value);
        if (!isnan(v)) {
            c->num = v;
            c->kind = CELL_NUM;
        }
    }
    return READSTAT_HANDLER_OK;
}

static int
on_value_label(const char *val_labels, readstat_value_t value, const char *text, void *ctx)
{
    rp_data__stat *r = ctx;
    if (val_labels == NULL || text == NULL || readstat_value_is_tagged_missing(value)) {
        return READSTAT_HANDLER_OK;
    }
    size_t i = 0;
    while (i < r->n_sets && strcmp(r->sets[i].name, val_labels) != 0) {
        i++;
    }
    if (i == r->n_sets) {
        if (rp_x_grow(&r->sets, &r->cap_sets, r->n_sets + 1, sizeof(*r->sets)) != RP_OK) {
            set_nomem(r);
            return READSTAT_HANDLER_ABORT;
        }
        memset(&r->sets[i], 0, sizeof(r->sets[i]));
        r->sets[i].name = rp_strdup(val_labels);
        if (r->sets[i].name == NULL) {
            set_nomem(r);
            return READSTAT_HANDLER_ABORT;
        }
        r->n_sets++;
    }
    label_set *s = &r->sets[i];
    if (rp_x_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v)) != RP_OK) {
        set_nomem(r);
        return READSTAT_HANDLER_ABORT;
    }
    label *l = &s->v[s->n];
    memset(l, 0, sizeof(*l));
    l->text = rp_strdup(text);
    if (readstat_value_type_class(value) == READSTAT_TYPE_CLASS_STRING) {
        const char *sv = readstat_string_value(value);
        l->str = rp_strdup(sv != NULL ? sv : "");
        if (l->str == NULL) {
            rp_free(l->text);
            set_nomem(r);
            return READSTAT_HANDLER_ABORT;
        }
    } else {
        l->num = readstat_double_value(value);
    }
    if (l->text == NULL) {
        rp_free(l->str);
        set_nomem(r);
        return READSTAT_HANDLER_ABORT;
    }
    s->n++;
    return READSTAT_HANDLER_OK;
}

/* ==== labels ==== */

/* What find_label() looks for: a numeric value (str NULL) or a string value. */
typedef struct label_key {
    double num;
    const char *str;
} label_key;

/* Order of label_cmp(), between a key and a label. */
static int key_cmp(const void *a, const void *b)
{
    const label_key *k = a;
    const label *y = b;
    if ((k->str == NULL) != (y->str == NULL)) {
        return k->str == NULL ? -1 : 1;
    }
    if (k->str != NULL) {
        return strcmp(k->str, y->str);
    }
    return k->num < y->num ? -1 : k->num > y->num ? 1 : 0;
}

/* Numeric labels first, by value; then string labels, by bytes. */
static int label_cmp(const void *a, const void *b)
{
    const label *x = a;
    const label *y = b;
    if ((x->str == NULL) != (y->str == NULL)) {
        return x->str == NULL ? -1 : 1;
    }
    if (x->str != NULL) {
        return strcmp(x->str, y->str);
    }
    return x->num < y->num ? -1 : x->num > y->num ? 1 : 0;
}

static void resolve_labels(rp_data__stat *r)
{
    for (size_t i = 0; i < r->n_sets; i++) {
        if (r->sets[i].n > 1) {
            qsort(r->sets[i].v, r->sets[i].n, sizeof(*r->sets[i].v), label_cmp);
        }
    }
    for (size_t c = 0; c < r->n_cols; c++) {
        if (r->cols[c].set_name == NULL) {
            continue;
        }
        for (size_t i = 0; i < r->n_sets; i++) {
            if (strcmp(r->sets[i].name, r->cols[c].set_name) == 0) {
                r->cols[c].set = (long)i;
                break;
            }
        }
    }
}

/* The label of a numeric (@p str NULL) or string value in set @p set, or NULL. */
static const char *find_label(const rp_data__stat *r, long set, double num, const char *str)
{
    if (set < 0) {
        return NULL;
    }
    const label_set *s = &r->sets[set];
    label_key key = {num, str};
    const label *l = bsearch(&key, s->v, s->n, sizeof(*s->v), key_cmp);
    return l != NULL ? l->text : NULL;
}

/* ==== entry points ==== */

static int map_readstat_error(rp_data__stat *r, readstat_error_t e)
{
    if (r->rc != RP_OK) {
        return r->rc;
    }
    const char *what = r->format == RP_INPUT_SAV ? "SPSS" : "Stata";
    switch (e) {
    case READSTAT_ERROR_OPEN:
        return r->rc = rp_error_set_at(r->err, RP_EIO, r->path, 0, 0, "cannot open");
    case READSTAT_ERROR_MALLOC:
        return set_nomem(r);
    default:
        /* Short reads (READSTAT_ERROR_READ) mean a truncated or foreign file here. */
        return r->rc =
                   rp_error_set_at(r->err, RP_EPARSE, r->path, 0, 0, "not a readable %s file: %s",
                                   what, readstat_error_message(e));
    }
}

int rp_data__stat_open(rp_data__stat **out,
                       const char *path,
                       rp_input_format format,
                       const rp_reader_opts *opts,
                       rp_error *err)
{
    rp_data__stat *r = NULL;
    readstat_parser_t *parser = NULL;
    int rc = RP_OK;
    *out = NULL;
    if (path == NULL || opts == NULL || (format != RP_INPUT_SAV && format != RP_INPUT_DTA)) {
        return rp_error_set(err, RP_EINVAL, "no path, options or SPSS/Stata format given");
    }
    r = rp_calloc(1, sizeof(*r));
    if (r == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    r->err = err;
    r->format = format;
    r->value_labels = opts->value_labels;
    r->path = rp_strdup(path);
    parser = readstat_parser_init();
    if (r->path == NULL || parser == NULL) {
        rc = set_nomem(r);
        goto out;
    }
    if (readstat_set_metadata_handler(parser, on_metadata) != READSTAT_OK ||
        readstat_set_variable_handler(parser, on_variable) != READSTAT_OK ||
        readstat_set_value_handler(parser, on_value) != READSTAT_OK ||
        readstat_set_value_label_handler(parser, on_value_label) != READSTAT_OK ||
        readstat_set_handler_character_encoding(parser, "UTF-8") != READSTAT_OK) {
        rc = r->rc = rp_error_set(err, RP_EINTERNAL, "cannot set up ReadStat");
        goto out;
    }
    if (opts->encoding != NULL && opts->encoding[0] != '\0' &&
        readstat_set_file_character_encoding(parser, opts->encoding) != READSTAT_OK) {
        rc = r->rc = rp_error_set(err, RP_EINVAL, "unknown encoding '%s'", opts->encoding);
        goto out;
    }
    readstat_error_t e = format == RP_INPUT_SAV ? readstat_parse_sav(parser, path, r)
                                                : readstat_parse_dta(parser, path, r);
    if (e != READSTAT_OK || r->rc != RP_OK) {
        rc = map_readstat_error(r, e);
        goto out;
    }
    resolve_labels(r);
    r->names = rp_calloc(r->n_cols + 1, sizeof(*r->names));
    r->offs = rp_calloc(r->n_cols + 1, sizeof(*r->offs));
    r->ptrs = rp_calloc(r->n_cols + 1, sizeof(*r->ptrs));
    if (r->names == NULL || r->offs == NULL || r->ptrs == NULL) {
        rc = set_nomem(r);
        goto out;
    }
    for (size_t c = 0; c < r->n_cols; c++) {
        r->names[c] = r->cols[c].name;
    }
    r->err = NULL;
    *out = r;
    r = NULL;
out:
    if (parser != NULL) {
        readstat_parser_free(parser);
    }
    rp_data__stat_free(r);
    return rc;
}

size_t rp_data__stat_columns(const rp_data__stat *r, const char *const **names)
{
    *names = r->names;
    return r->n_cols;
}

int rp_data__stat_next(
    rp_data__stat *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err)
{
    if (r->next_row >= r->n_rows) {
        return 0;
    }
    size_t row = r->next_row;
    rp_x_buf_reset(&r->row);
    for (size_t c = 0; c < r->n_cols; c++) {
        const cell *v = &r->cells[row * r->n_cols + c];
        const column *col = &r->cols[c];
        char num[64];
        const char *text = "";
        if (v->kind == CELL_STR) {
            text = r->arena + v->off;
            const char *l = r->value_labels ? find_label(r, col->set, 0.0, text) : NULL;
            if (l != NULL) {
                text = l;
            }
        } else if (v->kind == CELL_NUM) {
            const char *l = r->value_labels ? find_label(r, col->set, v->num, NULL) : NULL;
            if (l != NULL) {
                text = l;
            } else if (col->date != DATE_NONE && format_date(num, sizeof(num), col->date, v->num)) {
                text = num;
            } else {
                text = rp_data__format_double(num, sizeof(num), v->num);
            }
        }
        r->offs[c] = r->row.len;
        rp_x_buf_append(&r->row, text, strlen(text) + 1);
    }
    if (rp_x_buf_oom(&r->row)) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < r->n_cols; c++) {
        r->ptrs[c] = r->row.data + r->offs[c];
    }
    r->next_row++;
    *fields = r->ptrs;
    *n_fields = r->n_cols;
    *line = (long)row + 1;
    return 1;
}

double rp_data__stat_progress(const rp_data__stat *r)
{
    return r->n_rows == 0 ? 1.0 : (double)r->next_row / (double)r->n_rows;
}

void rp_data__stat_free(rp_data__stat *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t c = 0; c < r->n_cols; c++) {
        rp_free(r->cols[c].name);
        rp_free(r->cols[c].set_name);
    }
    rp_free(r->cols);
    for (size_t i = 0; i < r->n_sets; i++) {
        for (size_t k = 0; k < r->sets[i].n; k++) {
            rp_free(r->sets[i].v[k].str);
            rp_free(r->sets[i].v[k].text);
        }
        rp_free(r->sets[i].v);
        rp_free(r->sets[i].name);
    }
    rp_free(r->sets);
    rp_free(r->names);
    rp_free(r->cells);
    rp_free(r->arena);
    rp_free(r->offs);
    rp_free((void *)r->ptrs);
    rp_x_buf_release(&r->row);
    rp_free(r->path);
    rp_free(r);
}
