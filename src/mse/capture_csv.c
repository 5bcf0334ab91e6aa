/*
 * Capture-history CSV reader: the validation layer in front of the estimators.
 * The CSV reader of src/data tokenises and tracks lines; this file checks UTF-8, the
 * header, every cell and the row shape, and aggregates rows (one per pattern with
 * `count`, or one per person) into per-stratum capture tables, then applies the caller's
 * merges and selection.
 */
#include "common/common_int.h"
#include "data/data_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * How it works. The streaming CSV reader of src/data (rp_data__csv, reader_csv.c) reads
 * the input in 64 KiB chunks, drops a UTF-8 BOM, rejects NUL bytes (a binary file) and
 * bad quoting, skips empty lines and hands out one row at a time with the line where it
 * starts. It is opened with ',' as the delimiter, no field length limit, the header
 * handed out as the first row and no UTF-8 check, so that this file keeps its own
 * messages for those. take_row() checks each field in turn: a field's line is the line
 * on which it ends (the row's line plus the line ends in the fields so far), and a row's
 * line is the line on which its first field ends (the same as where the row starts
 * unless that field is quoted across lines). The column is the 1-based field number.
 * The first error is kept in r->rc and stops the reading. Since a row is handed out only
 * once it is complete, a quoting error or a NUL byte further on in a row is reported
 * before a bad value earlier in the same row.
 *
 * Rows are aggregated straight into dense per-stratum cell arrays over the "used" list
 * columns (bit i = i-th used list column in file order), so memory does not grow with
 * the number of rows. When the caller selects lists, columns that no merge or selection
 * mentions are still validated as 0/1 but not counted: people only on them are dropped
 * at once, which lets a file have more than RP_MSE_MAX_LISTS list columns. Merges and
 * selection are then applied to whole tables with rp_capture_table_merge() and
 * rp_capture_table_select(); they are also tried on an empty table as soon as the
 * header is read, so bad options fail before a large file is read.
 */

#define MAX_COLUMNS      1024
#define MAX_STRATA_CELLS ((size_t)1 << 24) /* cells over all strata: 256 MiB at most */
#define MAX_REPEAT_NOTES 20
#define NOTE_MAX         512

typedef enum col_role {
    COL_LIST,    /* a used list column: bit `bit` of the pattern */
    COL_IGNORED, /* a list column no merge or selection mentions */
    COL_COUNT,
    COL_BY /* stratum column number `bit` (index into opts->by) */
} col_role;

typedef struct stratum {
    char *label;      /* "" when there are no strata */
    double *counts;   /* 2^n_used cells */
    long *first_line; /* aggregated form: line where each pattern was first seen */
} stratum;

typedef struct reader {
    /* Members grouped by size so the struct has no padding. */
    long double pre_dropped; /* people only on ignored lists */
    const char *name;
    rp_capture_read_opts opts;
    rp_error *err;
    rp_data__csv *csv;

    long line;     /* line where the current field ends, 1-based */
    long row_line; /* line of the current row */
    long header_line;
    size_t field; /* fields seen so far in the current row */

    /* header */
    char **names;
    size_t n_cols, cap_cols;
    col_role *role;
    size_t *bit;
    size_t n_used;
    size_t used_cols[RP_MSE_MAX_LISTS];
    size_t n_cells;

    /* current row */
    int64_t count;
    rp_x_buf *by_vals; /* the current row's value of each stratum column */
    rp_x_buf label;

    /* results so far */
    stratum *strata;
    size_t n_strata, cap_strata, last;
    size_t n_rows;
    rp_x_strvec notes;
    size_t n_repeats;

    int rc;
    rp_capture_form form;
    uint32_t pattern;
    bool header_done;
    bool any_ignored;
    bool on_ignored;
} reader;

/* ==== small helpers ==== */

static int set_nomem(reader *r)
{
    r->rc = rp_error_set(r->err, RP_ENOMEM, "out of memory");
    return r->rc;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) {
        (*len)--;
    }
}

/* Digits only, fits in int64. */
static bool parse_count(const char *s, size_t len, int64_t *out)
{
    if (len == 0) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int add_note(reader *r, const char *text)
{
    if (rp_x_strvec_push(&r->notes, text) != RP_OK) {
        return set_nomem(r);
    }
    return RP_OK;
}

/* Is @p name mentioned by opts->lists or as a part of some merge spec? */
static bool name_mentioned(const rp_capture_read_opts *o, const char *name)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < o->n_lists; i++) {
        if (strcmp(o->lists[i], name) == 0) {
            return true;
        }
    }
    for (size_t m = 0; m < o->n_merges; m++) {
        const char *p = o->merges[m];
        for (;;) {
            const char *end = strchr(p, '+');
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
            if (len == nlen && memcmp(p, name, len) == 0) {
                return true;
            }
            if (end == NULL) {
                break;
            }
            p = end + 1;
        }
    }
    return false;
}

/*
 * Apply opts->merges, then opts->lists, to *tab (replaced; freed on failure too).
 * @p dropped receives the people on none of the selected lists.
 */
static int
transform(rp_capture_table **tab, const rp_capture_read_opts *o, double *dropped, rp_error *err)
{
    int rc = RP_OK;
    rp_capture_table *t = *tab;
    rp_capture_table *next = NULL;
    *tab = NULL;
    *dropped = 0.0;
    for (size_t m = 0; m < o->n_merges; m++) {
        rc = rp_capture_table_merge(&next, t, o->merges[m], err);
        if (rc != RP_OK) {
            goto out;
        }
        rp_capture_table_free(t);
        t = next;
        next = NULL;
    }
    if (o->n_lists > 0) {
        rc = rp_capture_table_select(&next, t, o->lists, o->n_lists, dropped, err);
        if (rc != RP_OK) {
            goto out;
        }
        rp_capture_table_free(t);
        t = next;
        next = NULL;
    }
    *tab = t;
    t = NULL;
out:
    rp_capture_table_free(t);
    return rc;
}

static int new_used_table(reader *r, rp_capture_table **out)
{
    const char *names[RP_MSE_MAX_LISTS];
    for (size_t i = 0; i < r->n_used; i++) {
        names[i] = r->names[r->used_cols[i]];
    }
    return rp_capture_table_new(out, r->n_used, names, r->err);
}

/* ==== header ==== */

static void header_field(reader *r, const char *s, size_t len, size_t col)
{
    if (col >= MAX_COLUMNS) {
        r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->row_line, (long)col + 1,
                                "expected at most %d columns", MAX_COLUMNS);
        return;
    }
    trim(&s, &len);
    if (len == 0) {
        r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->row_line, (long)col + 1,
                                "expected a column name");
        return;
    }
    if (rp_x_grow(&r->names, &r->cap_cols, col + 1, sizeof(*r->names)) != RP_OK) {
        set_nomem(r);
        return;
    }
    r->names[col] = rp_x_strndup(s, len);
    if (r->names[col] == NULL) {
        set_nomem(r);
        return;
    }
    r->n_cols = col + 1;
}

/* Repeated names, the `count` column and the form; *count_out is its index or -1. */
static int header_form(reader *r, int *count_out)
{
    const rp_capture_read_opts *o = &r->opts;
    long hl = r->header_line;
    int count_col = -1;

    for (size_t c = 0; c < r->n_cols; c++) {
        for (size_t d = 0; d < c; d++) {
            if (strcmp(r->names[c], r->names[d]) == 0) {
                return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, (long)c + 1,
                                               "repeated column '%s' (also column %zu)",
                                               r->names[c], d + 1);
            }
        }
        if (strcmp(r->names[c], "count") == 0) {
            count_col = (int)c;
        }
    }
    if (o->form == RP_CAPTURE_FORM_AGGREGATED && count_col < 0) {
        return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, 1,
                                       "missing 'count' column (aggregated form expected)");
    }
    if (o->form == RP_CAPTURE_FORM_PERSON && count_col >= 0) {
        return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, (long)count_col + 1,
                                       "unexpected 'count' column (one row per person expected)");
    }
    r->form = count_col >= 0 ? RP_CAPTURE_FORM_AGGREGATED : RP_CAPTURE_FORM_PERSON;

    *count_out = count_col;
    return RP_OK;
}

/* Give every column its role: count, stratum (checked against opts->by) or list. */
static int header_roles(reader *r, int count_col)
{
    const rp_capture_read_opts *o = &r->opts;
    long hl = r->header_line;
    r->role = rp_calloc(r->n_cols, sizeof(*r->role));
    r->bit = rp_calloc(r->n_cols, sizeof(*r->bit));
    if (r->role == NULL || r->bit == NULL) {
        return set_nomem(r);
    }
    for (size_t c = 0; c < r->n_cols; c++) {
        r->role[c] = COL_LIST;
    }
    if (count_col >= 0) {
        r->role[count_col] = COL_COUNT;
    }
    for (size_t j = 0; j < o->n_by; j++) {
        size_t c = 0;
        while (c < r->n_cols && strcmp(r->names[c], o->by[j]) != 0) {
            c++;
        }
        if (c == r->n_cols) {
            return r->rc = rp_error_set_at(r->err, RP_EINVAL, r->name, hl, 0,
                                           "stratum column '%s' is not in the header", o->by[j]);
        }
        if (r->role[c] == COL_COUNT) {
            return r->rc = rp_error_set_at(r->err, RP_EINVAL, r->name, hl, (long)c + 1,
                                           "the 'count' column cannot be a stratum column");
        }
        if (r->role[c] == COL_BY) {
            return r->rc = rp_error_set_at(r->err, RP_EINVAL, r->name, hl, (long)c + 1,
                                           "stratum column '%s' is given twice", o->by[j]);
        }
        r->role[c] = COL_BY;
        r->bit[c] = j;
    }

    return RP_OK;
}

/* Number the list columns that are used; check names and the number of lists. */
static int header_lists(reader *r)
{
    const rp_capture_read_opts *o = &r->opts;
    long hl = r->header_line;
    size_t n_lists = 0;
    for (size_t c = 0; c < r->n_cols; c++) {
        if (r->role[c] != COL_LIST) {
            continue;
        }
        n_lists++;
        if (strlen(r->names[c]) >= RP_MSE_NAME_MAX) {
            return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, (long)c + 1,
                                           "expected a list name of at most %d bytes",
                                           RP_MSE_NAME_MAX - 1);
        }
        if (o->n_lists > 0 && !name_mentioned(o, r->names[c])) {
            r->role[c] = COL_IGNORED;
            r->any_ignored = true;
            continue;
        }
        if (r->n_used == RP_MSE_MAX_LISTS) {
            return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, (long)c + 1,
                                           "expected at most %d list columns (select fewer lists)",
                                           RP_MSE_MAX_LISTS);
        }
        r->bit[c] = r->n_used;
        r->used_cols[r->n_used++] = c;
    }
    if (n_lists < 2) {
        return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, hl, (long)r->n_cols,
                                       "expected at least 2 list columns, found %zu", n_lists);
    }
    if (r->n_used < 2) {
        /* Only possible with a selection: some selected name is not a column. */
        for (size_t i = 0; i < o->n_lists; i++) {
            size_t c = 0;
            while (c < r->n_cols && strcmp(r->names[c], o->lists[i]) != 0) {
                c++;
            }
            if (c == r->n_cols) {
                return r->rc = rp_error_set(r->err, RP_EINVAL, "unknown list '%s'", o->lists[i]);
            }
        }
        return r->rc = rp_error_set(r->err, RP_EINVAL, "at least 2 lists must be kept");
    }
    return RP_OK;
}

/* Check the options on an empty table now rather than after a long read; get ready. */
static int header_probe(reader *r)
{
    const rp_capture_read_opts *o = &r->opts;
    rp_capture_table *probe = NULL;
    r->n_cells = (size_t)1 << r->n_used;

    double dropped = 0.0;
    r->rc = new_used_table(r, &probe);
    if (r->rc == RP_OK) {
        r->rc = transform(&probe, o, &dropped, r->err);
    }
    rp_capture_table_free(probe);
    if (r->rc != RP_OK) {
        return r->rc;
    }

    if (o->n_by > 0) {
        r->by_vals = rp_calloc(o->n_by, sizeof(*r->by_vals));
        if (r->by_vals == NULL) {
            return set_nomem(r);
        }
    }
    r->header_done = true;
    return RP_OK;
}

static int header_end(reader *r)
{
    int count_col = -1;
    if (header_form(r, &count_col) != RP_OK || header_roles(r, count_col) != RP_OK ||
        header_lists(r) != RP_OK) {
        return r->rc;
    }
    return header_probe(r);
}

/* ==== data rows ==== */

static void data_field(reader *r, const char *s, size_t len, size_t col)
{
    if (col >= r->n_cols) {
        return; /* ragged: reported at the end of the row */
    }
    trim(&s, &len);
    switch (r->role[col]) {
    case COL_LIST:
    case COL_IGNORED:
        if (len != 1 || (s[0] != '0' && s[0] != '1')) {
            r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->line, (long)col + 1,
                                    "list '%s' expected 0 or 1", r->names[col]);
            return;
        }
        if (s[0] == '1') {
            if (r->role[col] == COL_LIST) {
                r->pattern |= (uint32_t)1 << r->bit[col];
            } else {
                r->on_ignored = true;
            }
        }
        break;
    case COL_COUNT:
        if (!parse_count(s, len, &r->count)) {
            r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->line, (long)col + 1,
                                    "column 'count' expected a non-negative integer");
        }
        break;
    case COL_BY:
        if (len == 0) {
            r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->line, (long)col + 1,
                                    "stratum column '%s' expected a value", r->names[col]);
            return;
        }
        rp_x_buf *v = &r->by_vals[r->bit[col]];
        rp_x_buf_reset(v);
        if (rp_x_buf_append(v, s, len) != RP_OK) {
            set_nomem(r);
        }
        break;
    }
}

static int label_cmp(const char *a, const char *b)
{
    return strcmp(a, b);
}

/* Find or insert the stratum labelled r->label (kept sorted). @return its index via *at. */
static int find_stratum(reader *r, size_t *at)
{
    const char *key = rp_x_buf_cstr(&r->label);
    if (r->last < r->n_strata && label_cmp(r->strata[r->last].label, key) == 0) {
        *at = r->last;
        return RP_OK;
    }
    size_t lo = 0, hi = r->n_strata;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = label_cmp(r->strata[mid].label, key);
        if (c == 0) {
            *at = r->last = mid;
            return RP_OK;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if ((r->n_strata + 1) > MAX_STRATA_CELLS / r->n_cells) {
        return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name, r->row_line, 0,
                                       "too many strata (more than %zu with %zu lists)",
                                       MAX_STRATA_CELLS / r->n_cells, r->n_used);
    }
    if (rp_x_grow(&r->strata, &r->cap_strata, r->n_strata + 1, sizeof(*r->strata)) != RP_OK) {
        return set_nomem(r);
    }
    stratum s = {NULL, NULL, NULL};
    s.label = rp_strdup(key);
    s.counts = rp_calloc(r->n_cells, sizeof(*s.counts));
    if (r->form == RP_CAPTURE_FORM_AGGREGATED) {
        s.first_line = rp_calloc(r->n_cells, sizeof(*s.first_line));
    }
    if (s.label == NULL || s.counts == NULL ||
        (r->form == RP_CAPTURE_FORM_AGGREGATED && s.first_line == NULL)) {
        rp_free(s.label);
        rp_free(s.counts);
        rp_free(s.first_line);
        return set_nomem(r);
    }
    memmove(r->strata + lo + 1, r->strata + lo, (r->n_strata - lo) * sizeof(*r->strata));
    r->strata[lo] = s;
    r->n_strata++;
    *at = r->last = lo;
    return RP_OK;
}

static int build_label(reader *r)
{
    const rp_capture_read_opts *o = &r->opts;
    rp_x_buf_reset(&r->label);
    for (size_t j = 0; j < o->n_by; j++) {
        rp_x_buf_printf(&r->label, "%s%s=%s", j > 0 ? "," : "", o->by[j],
                        rp_x_buf_cstr(&r->by_vals[j]));
    }
    if (rp_x_buf_oom(&r->label)) {
        return set_nomem(r);
    }
    return RP_OK;
}

static int note_repeat(reader *r, const stratum *s, long first)
{
    char text[NOTE_MAX];
    size_t n = 0;
    r->n_repeats++;
    if (r->n_repeats > MAX_REPEAT_NOTES) {
        return RP_OK;
    }
    n += (size_t)snprintf(text, sizeof(text), "pattern ");
    for (size_t i = 0; i < r->n_used && n < sizeof(text); i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%u", i > 0 ? "," : "",
                              (unsigned)((r->pattern >> i) & 1U));
    }
    if (n < sizeof(text)) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, " on lines %ld and %ld summed", first,
                              r->row_line);
    }
    if (n < sizeof(text) && s->label[0] != '\0') {
        snprintf(text + n, sizeof(text) - n, " (stratum %s)", s->label);
    }
    return add_note(r, text);
}

static int row_end(reader *r)
{
    if (r->field != r->n_cols) {
        long col = (long)(r->field < r->n_cols ? r->field : r->n_cols) + 1;
        return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->row_line, col,
                                       "expected %zu fields as in the header, found %zu", r->n_cols,
                                       r->field);
    }
    if (r->pattern == 0 && !r->on_ignored) {
        return r->rc = rp_error_set_at(
                   r->err, RP_EDATA, r->name, r->row_line, 1,
                   "all-zero capture history (the unobserved cell cannot be counted)");
    }
    r->n_rows++;
    int64_t count = r->form == RP_CAPTURE_FORM_AGGREGATED ? r->count : 1;
    size_t at = 0;
    if (build_label(r) != RP_OK || find_stratum(r, &at) != RP_OK) {
        return r->rc;
    }
    stratum *s = &r->strata[at];
    if (r->pattern == 0) {
        r->pre_dropped += (long double)count;
        return RP_OK;
    }
    /*
     * A repeated pattern is only a repeat of the file's row when every list column is
     * counted; with ignored columns two rows may differ there, so no note is made.
     */
    if (s->first_line != NULL && !r->any_ignored) {
        if (s->first_line[r->pattern] != 0) {
            if (note_repeat(r, s, s->first_line[r->pattern]) != RP_OK) {
                return r->rc;
            }
        } else {
            s->first_line[r->pattern] = r->row_line;
        }
    }
    s->counts[r->pattern] += (double)count;
    return RP_OK;
}

/* ==== rows ==== */

/* Line ends in s[0..len): a quoted field may span lines. */
static long line_ends(const char *s, size_t len)
{
    long n = 0;
    for (const char *p = memchr(s, '\n', len); p != NULL;
         p = memchr(p + 1, '\n', len - (size_t)(p + 1 - s))) {
        n++;
    }
    return n;
}

/*
 * Check one row of the file, the header first, field by field, then as a whole.
 * @p line is the line where the row starts. @return r->rc.
 */
static int take_row(reader *r, const char *const *fields, size_t n_fields, long line)
{
    r->line = line;
    for (size_t col = 0; col < n_fields && r->rc == RP_OK; col++) {
        const char *s = fields[col];
        size_t len = strlen(s);
        r->line += line_ends(s, len);
        r->field = col + 1;
        if (col == 0) {
            r->row_line = r->line;
            if (!r->header_done) {
                r->header_line = r->line;
            }
        }
        if (rp_x_utf8_check((const unsigned char *)s, len) < len) {
            r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, (long)col + 1,
                                    "expected UTF-8 text, found an invalid byte sequence");
        } else if (!r->header_done) {
            header_field(r, s, len, col);
        } else {
            data_field(r, s, len, col);
        }
    }
    if (r->rc == RP_OK) {
        if (!r->header_done) {
            header_end(r);
        } else {
            row_end(r);
        }
    }
    r->field = 0;
    r->pattern = 0;
    r->on_ignored = false;
    r->count = 0;
    return r->rc;
}

/* ==== driver ==== */

static int check_opts(const rp_capture_read_opts *o, rp_error *err)
{
    if (o->version != RP_CAPTURE_READ_OPTS_VERSION) {
        return rp_error_set(err, RP_EINVAL, "unsupported options version %u", o->version);
    }
    if (o->form != RP_CAPTURE_FORM_AUTO && o->form != RP_CAPTURE_FORM_AGGREGATED &&
        o->form != RP_CAPTURE_FORM_PERSON) {
        return rp_error_set(err, RP_EINVAL, "unknown capture form %d", (int)o->form);
    }
    if ((o->n_lists > 0 && o->lists == NULL) || (o->n_merges > 0 && o->merges == NULL) ||
        (o->n_by > 0 && o->by == NULL)) {
        return rp_error_set(err, RP_EINVAL, "options give a count without names");
    }
    for (size_t i = 0; i < o->n_lists; i++) {
        if (o->lists[i] == NULL) {
            return rp_error_set(err, RP_EINVAL, "list name %zu is missing", i + 1);
        }
    }
    for (size_t i = 0; i < o->n_merges; i++) {
        if (o->merges[i] == NULL) {
            return rp_error_set(err, RP_EINVAL, "merge %zu is missing", i + 1);
        }
    }
    for (size_t i = 0; i < o->n_by; i++) {
        if (o->by[i] == NULL) {
            return rp_error_set(err, RP_EINVAL, "stratum column %zu is missing", i + 1);
        }
    }
    return RP_OK;
}

static int reader_init(reader *r, const char *name, const rp_capture_read_opts *opts, rp_error *err)
{
    static const rp_capture_read_opts defaults = RP_CAPTURE_READ_OPTS_INIT;
    memset(r, 0, sizeof(*r));
    r->name = name != NULL ? name : "";
    r->opts = opts != NULL ? *opts : defaults;
    r->err = err;
    r->line = 1;
    r->rc = check_opts(&r->opts, err);
    return r->rc;
}

static void reader_release(reader *r)
{
    rp_data__csv_free(r->csv);
    for (size_t c = 0; c < r->n_cols; c++) {
        rp_free(r->names[c]);
    }
    rp_free(r->names);
    rp_free(r->role);
    rp_free(r->bit);
    if (r->by_vals != NULL) {
        for (size_t j = 0; j < r->opts.n_by; j++) {
            rp_x_buf_release(&r->by_vals[j]);
        }
        rp_free(r->by_vals);
    }
    rp_x_buf_release(&r->label);
    for (size_t i = 0; i < r->n_strata; i++) {
        rp_free(r->strata[i].label);
        rp_free(r->strata[i].counts);
        rp_free(r->strata[i].first_line);
    }
    rp_free(r->strata);
    rp_x_strvec_release(&r->notes);
}

/*
 * A failure of the CSV reader, worded as this reader always has: "unbalanced quote: ..."
 * there is "expected a closing quote ..." here. Its other messages (binary file, bad
 * quoting, cannot open or read) are the same in both.
 */
static int csv_failed(reader *r, int rc)
{
    static const char unbalanced[] = "unbalanced quote";
    if (rc == RP_EPARSE && r->err != NULL &&
        strncmp(r->err->msg, unbalanced, sizeof(unbalanced) - 1) == 0) {
        long line = r->err->line;
        long col = r->err->column;
        rc = rp_error_set_at(r->err, RP_EPARSE, r->name, line, col,
                             "expected a closing quote before the end of the file");
    }
    return r->rc = rc;
}

/*
 * Read every row of the file @p path, or of the @p len bytes at @p mem when it is not
 * NULL, through take_row().
 */
static int reader_read(reader *r, const char *path, const char *mem, size_t len)
{
    rp_reader_opts ropts = RP_READER_OPTS_INIT;
    ropts.format = RP_INPUT_CSV;
    ropts.delimiter = ',';
    ropts.max_field = SIZE_MAX; /* only memory limits a field */
    int rc =
        rp_data__csv_open(&r->csv, path, mem, len,
                          RP_DATA__CSV_HEADER_AS_ROW | RP_DATA__CSV_NO_UTF8_CHECK, &ropts, r->err);
    if (rc != RP_OK) {
        return csv_failed(r, rc);
    }
    for (;;) {
        const char *const *fields = NULL;
        size_t n_fields = 0;
        long line = 0;
        rc = rp_data__csv_next(r->csv, &fields, &n_fields, &line, r->err);
        if (rc < 0) {
            return csv_failed(r, rc);
        }
        if (rc == 0 || take_row(r, fields, n_fields, line) != RP_OK) {
            return r->rc;
        }
    }
}

static int reader_finish(reader *r, rp_capture_set **out)
{
    rp_capture_set *set = NULL;
    rp_capture_table *tab = NULL;
    const rp_capture_read_opts *o = &r->opts;

    if (!r->header_done || r->n_rows == 0) {
        return r->rc = rp_error_set_at(r->err, RP_EDATA, r->name,
                                       r->header_done ? r->header_line + 1 : 1, 1, "no data rows");
    }

    set = rp_calloc(1, sizeof(*set));
    if (set == NULL) {
        return set_nomem(r);
    }
    set->form = r->form;
    set->n_rows = r->n_rows;
    if (o->n_by > 0) {
        /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
        set->strata = rp_calloc(r->n_strata, sizeof(*set->strata));
        set->stratum_labels = rp_calloc(r->n_strata, sizeof(*set->stratum_labels));
        if (set->strata == NULL || set->stratum_labels == NULL) {
            set_nomem(r);
            goto out;
        }
    }

    /* Pool the strata into the total, then transform every table the same way. */
    r->rc = new_used_table(r, &tab);
    if (r->rc != RP_OK) {
        goto out;
    }
    for (size_t i = 0; i < r->n_strata; i++) {
        for (size_t w = 1; w < r->n_cells; w++) {
            tab->counts[w] += r->strata[i].counts[w];
        }
    }
    double dropped = 0.0;
    r->rc = transform(&tab, o, &dropped, r->err);
    if (r->rc != RP_OK) {
        goto out;
    }
    set->total = tab;
    tab = NULL;
    for (size_t i = 0; i < r->n_strata && o->n_by > 0; i++) {
        double d = 0.0;
        r->rc = new_used_table(r, &tab);
        if (r->rc != RP_OK) {
            goto out;
        }
        memcpy(tab->counts, r->strata[i].counts, r->n_cells * sizeof(*tab->counts));
        r->rc = transform(&tab, o, &d, r->err);
        if (r->rc != RP_OK) {
            goto out;
        }
        set->strata[i] = tab;
        tab = NULL;
        set->stratum_labels[i] = r->strata[i].label;
        r->strata[i].label = NULL;
        set->n_strata = i + 1;
    }

    if (r->n_repeats > MAX_REPEAT_NOTES) {
        char text[NOTE_MAX];
        snprintf(text, sizeof(text), "%zu more repeated patterns summed",
                 r->n_repeats - MAX_REPEAT_NOTES);
        if (add_note(r, text) != RP_OK) {
            goto out;
        }
    }
    long double lost = r->pre_dropped + (long double)dropped;
    if (lost > 0.0L) {
        char text[NOTE_MAX];
        snprintf(text, sizeof(text), "%.0Lf people on none of the selected lists left out", lost);
        if (add_note(r, text) != RP_OK) {
            goto out;
        }
    }
    set->notes = rp_x_strvec_detach(&r->notes, &set->n_notes);
    *out = set;
    set = NULL;
out:
    rp_capture_table_free(tab);
    rp_capture_set_free(set);
    return r->rc;
}

/* ==== public entry points ==== */

int rp_capture_parse_csv(rp_capture_set **out,
                         const char *data,
                         size_t len,
                         const char *name,
                         const rp_capture_read_opts *opts,
                         rp_error *err)
{
    reader r;
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    if (data == NULL && len > 0) {
        return rp_error_set(err, RP_EINVAL, "no data given");
    }
    int rc = reader_init(&r, name, opts, err);
    if (rc == RP_OK) {
        rc = reader_read(&r, r.name, data != NULL ? data : "", len);
    }
    if (rc == RP_OK) {
        rc = reader_finish(&r, out);
    }
    reader_release(&r);
    return rc;
}

int rp_capture_read_csv(rp_capture_set **out,
                        const char *path,
                        const rp_capture_read_opts *opts,
                        rp_error *err)
{
    reader r;
    if (out == NULL || path == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output or path given");
    }
    *out = NULL;
    int rc = reader_init(&r, path, opts, err);
    if (rc == RP_OK) {
        rc = reader_read(&r, path, NULL, 0);
    }
    if (rc == RP_OK) {
        rc = reader_finish(&r, out);
    }
    reader_release(&r);
    return rc;
}

void rp_capture_set_free(rp_capture_set *set)
{
    if (set == NULL) {
        return;
    }
    rp_capture_table_free(set->total);
    for (size_t i = 0; i < set->n_strata; i++) {
        rp_capture_table_free(set->strata[i]);
        rp_free(set->stratum_labels[i]);
    }
    rp_free(set->strata);
    rp_free(set->stratum_labels);
    rp_x_strv_free(set->notes, set->n_notes);
    rp_free(set);
}
