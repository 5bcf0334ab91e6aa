/*
 * Writers of a protected count table: CSV (long, one row per cell, or wide, the last
 * dimension across with a legend and the notes under it) and JSON. Only published
 * values are written: a suppressed cell is its mark ("x"), never its count.
 */
#include "report/report_int.h"

#include <jansson.h>
#include <math.h>

const char *rp_cell_status_str(rp_cell_status s)
{
    switch (s) {
    case RP_CELL_PUBLISHED:
        return "published";
    case RP_CELL_PRIMARY:
    case RP_CELL_SECONDARY:
        return "suppressed"; /* one word: a reader must not learn which hidden cell is small */
    case RP_CELL_ROUNDED:
        return "rounded";
    case RP_CELL_NOISY:
        return "noisy";
    case RP_CELL_STRUCTURAL:
        return "structural";
    default:
        return "?";
    }
}

/* The options in effect, with the default labels filled in. */
static int write_opts(rp_table_write_opts *o,
                      const rp_table_write_opts *opts,
                      const rp_table *t,
                      rp_error *err)
{
    const rp_table_write_opts defaults = RP_TABLE_WRITE_OPTS_INIT;
    *o = opts != NULL ? *opts : defaults;
    if (t == NULL || o->version != RP_TABLE_WRITE_OPTS_VERSION ||
        (o->layout != RP_TABLE_CSV_LONG && o->layout != RP_TABLE_CSV_WIDE) ||
        o->share_dim >= (int)t->n_dims || o->share_dim < -1) {
        return rp_error_set(err, RP_EINVAL, "bad table output options");
    }
    o->total_label = o->total_label != NULL ? o->total_label : RP_REPORT__TOTAL;
    o->suppressed_mark = o->suppressed_mark != NULL ? o->suppressed_mark : "x";
    o->not_recorded = o->not_recorded != NULL ? o->not_recorded : "Not recorded";
    return RP_OK;
}

static const char *cat_label(const rp_table *t, size_t d, size_t i, const rp_table_write_opts *o)
{
    if (i == t->dims[d].n_cats) {
        return o->total_label;
    }
    const char *c = t->dims[d].cats[i];
    return c[0] != '\0' ? c : o->not_recorded;
}

static void put_csv(rp_x_buf *b, const char *cell)
{
    bool formula = cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@';
    bool quote = strpbrk(cell, ",\"\r\n") != NULL;
    if (quote) {
        rp_x_buf_putc(b, '"');
    }
    if (formula) {
        rp_x_buf_putc(b, '\'');
    }
    for (const char *p = cell; *p != '\0'; p++) {
        if (*p == '"') {
            rp_x_buf_putc(b, '"');
        }
        rp_x_buf_putc(b, *p);
    }
    if (quote) {
        rp_x_buf_putc(b, '"');
    }
}

/* The published value of cell @p c as text: the mark when suppressed. */
static void put_value(rp_x_buf *b, const rp_table *t, size_t c, const rp_table_write_opts *o)
{
    double v = t->value[c];
    if (isnan(v)) {
        rp_x_buf_puts(b, o->suppressed_mark);
    } else if (v == floor(v) && fabs(v) < 1e15) {
        rp_x_buf_printf(b, "%.0f", v);
    } else {
        rp_x_buf_printf(b, "%.6g", v);
    }
}

static void
csv_long(rp_x_buf *b, const rp_table *t, const rp_table_write_opts *o, const double *shares)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    for (size_t d = 0; d < t->n_dims; d++) {
        put_csv(b, rp_table_field_name(t->dims[d].field));
        rp_x_buf_putc(b, ',');
    }
    rp_x_buf_puts(b, shares != NULL ? "value,status,share\n" : "value,status\n");
    for (size_t c = 0; c < t->n_cells; c++) {
        rp_table_index(idx, t, c);
        for (size_t d = 0; d < t->n_dims; d++) {
            put_csv(b, cat_label(t, d, idx[d], o));
            rp_x_buf_putc(b, ',');
        }
        put_value(b, t, c, o);
        rp_x_buf_printf(b, ",%s", rp_cell_status_str((rp_cell_status)t->status[c]));
        if (shares != NULL) {
            if (isnan(shares[c])) {
                rp_x_buf_puts(b, ",");
            } else {
                rp_x_buf_printf(b, ",%.4f", shares[c]);
            }
        }
        rp_x_buf_putc(b, '\n');
    }
}

static void csv_wide(rp_x_buf *b, const rp_table *t, const rp_table_write_opts *o)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    put_csv(b, t->title != NULL ? t->title : "");
    rp_x_buf_putc(b, '\n');
    if (t->n_dims == 1) {
        put_csv(b, rp_table_field_name(t->dims[0].field));
        rp_x_buf_puts(b, ",value\n");
        for (size_t i = 0; i <= t->dims[0].n_cats; i++) {
            put_csv(b, cat_label(t, 0, i, o));
            rp_x_buf_putc(b, ',');
            put_value(b, t, i, o);
            rp_x_buf_putc(b, '\n');
        }
    } else {
        /* the other dimensions down, the last across (its name is in the title) */
        size_t last = t->n_dims - 1, n_last = t->dims[last].n_cats + 1;
        for (size_t d = 0; d < last; d++) {
            if (d > 0) {
                rp_x_buf_putc(b, ',');
            }
            put_csv(b, rp_table_field_name(t->dims[d].field));
        }
        for (size_t i = 0; i < n_last; i++) {
            rp_x_buf_putc(b, ',');
            put_csv(b, cat_label(t, last, i, o));
        }
        rp_x_buf_putc(b, '\n');
        for (size_t c = 0; c < t->n_cells; c += n_last) {
            rp_table_index(idx, t, c);
            for (size_t d = 0; d < last; d++) {
                if (d > 0) {
                    rp_x_buf_putc(b, ',');
                }
                put_csv(b, cat_label(t, d, idx[d], o));
            }
            for (size_t i = 0; i < n_last; i++) {
                rp_x_buf_putc(b, ',');
                put_value(b, t, c + i, o);
            }
            rp_x_buf_putc(b, '\n');
        }
    }
    rp_x_buf_putc(b, '\n');
    /* the mark's legend only when the mark is used: a rounded, noisy or unsuppressed
     * table has none, and a legend for it would suggest that something is hidden */
    bool marked = false;
    for (size_t c = 0; c < t->n_cells && !marked; c++) {
        marked = isnan(t->value[c]);
    }
    if (marked) {
        rp_x_buf_printf(b, "%s: suppressed (disclosure control)\n", o->suppressed_mark);
    }
    rp_x_buf_printf(b, "Unit: %s\n", t->unit != NULL ? t->unit : "");
    for (size_t i = 0; i < t->n_notes; i++) {
        put_csv(b, t->notes[i]);
        rp_x_buf_putc(b, '\n');
    }
}

static int write_buf(FILE *f, const rp_x_buf *b, rp_error *err)
{
    if (rp_x_buf_oom(b)) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    size_t len = strlen(rp_x_buf_cstr(b));
    if (fwrite(rp_x_buf_cstr(b), 1, len, f) != len || fflush(f) != 0 || ferror(f)) {
        return rp_error_set(err, RP_EIO, "cannot write the table");
    }
    return RP_OK;
}

/* Shares along o->share_dim (NULL when not asked); *rc RP_ENOMEM on failure. */
static double *make_shares(const rp_table *t, const rp_table_write_opts *o, int *rc)
{
    *rc = RP_OK;
    if (o->share_dim < 0) {
        return NULL;
    }
    double *s = rp_calloc(t->n_cells, sizeof(*s));
    if (s == NULL) {
        *rc = RP_ENOMEM;
        return NULL;
    }
    rp_table_shares(s, t, (size_t)o->share_dim, NULL);
    return s;
}

int rp_table_write_csv(FILE *f, const rp_table *t, const rp_table_write_opts *opts, rp_error *err)
{
    rp_table_write_opts o;
    rp_x_buf b = RP_X_BUF_INIT;
    if (f == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output file given");
    }
    int rc = write_opts(&o, opts, t, err);
    if (rc != RP_OK) {
        return rc;
    }
    double *shares = make_shares(t, &o, &rc);
    if (rc != RP_OK) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (o.layout == RP_TABLE_CSV_WIDE) {
        csv_wide(&b, t, &o);
    } else {
        csv_long(&b, t, &o, shares);
    }
    rc = write_buf(f, &b, err);
    rp_x_buf_release(&b);
    rp_free(shares);
    return rc;
}

/* ==== JSON ==== */

static json_t *json_value(double v)
{
    if (isnan(v)) {
        return json_null();
    }
    if (v == floor(v) && fabs(v) < 9e15) {
        return json_integer((json_int_t)v);
    }
    return json_real(v);
}

static json_t *json_dims(const rp_table *t)
{
    json_t *dims = json_array();
    for (size_t d = 0; d < t->n_dims && dims != NULL; d++) {
        json_t *cats = json_array();
        for (size_t i = 0; i < t->dims[d].n_cats && cats != NULL; i++) {
            json_array_append_new(cats, json_string(t->dims[d].cats[i]));
        }
        json_array_append_new(dims, json_pack("{s:s, s:b, s:o*}", "field",
                                              rp_table_field_name(t->dims[d].field), "additive",
                                              rp_table_dim_additive(t, d), "categories", cats));
    }
    return dims;
}

static json_t *
json_cell(const rp_table *t, size_t c, const rp_table_write_opts *o, const double *shares)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    rp_table_index(idx, t, c);
    json_t *index = json_array(), *labels = json_array();
    for (size_t d = 0; d < t->n_dims && index != NULL && labels != NULL; d++) {
        json_array_append_new(index, json_integer((json_int_t)idx[d]));
        json_array_append_new(labels, json_string(cat_label(t, d, idx[d], o)));
    }
    json_t *cell = json_pack("{s:o*, s:o*, s:o*, s:s}", "index", index, "labels", labels, "value",
                             json_value(t->value[c]), "status",
                             rp_cell_status_str((rp_cell_status)t->status[c]));
    if (cell != NULL && shares != NULL) {
        json_object_set_new(cell, "share", json_value(shares[c]));
    }
    return cell;
}

static json_t *table_json(const rp_table *t, const rp_table_write_opts *o, const double *shares)
{
    json_t *cells = json_array(), *notes = json_array();
    for (size_t c = 0; c < t->n_cells && cells != NULL; c++) {
        json_array_append_new(cells, json_cell(t, c, o, shares));
    }
    for (size_t i = 0; i < t->n_notes && notes != NULL; i++) {
        json_array_append_new(notes, json_string(t->notes[i]));
    }
    return json_pack("{s:s, s:s, s:b, s:s, s:o*, s:o*, s:o*}", "title",
                     t->title != NULL ? t->title : "", "unit", t->unit != NULL ? t->unit : "",
                     "additive", t->additive, "suppressed_mark", o->suppressed_mark, "dims",
                     json_dims(t), "cells", cells, "notes", notes);
}

int rp_table_json_string(char **out,
                         const rp_table *t,
                         const rp_table_write_opts *opts,
                         rp_error *err)
{
    rp_table_write_opts o;
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    int rc = write_opts(&o, opts, t, err);
    if (rc != RP_OK) {
        return rc;
    }
    double *shares = make_shares(t, &o, &rc);
    json_t *j = rc == RP_OK ? table_json(t, &o, shares) : NULL;
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    rp_free(shares);
    if (s == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    *out = rp_strdup(s);
    free(s); /* jansson's allocation */
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

int rp_table_write_json(FILE *f, const rp_table *t, const rp_table_write_opts *opts, rp_error *err)
{
    char *s = NULL;
    if (f == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output file given");
    }
    int rc = rp_table_json_string(&s, t, opts, err);
    if (rc == RP_OK) {
        size_t len = strlen(s);
        if (fwrite(s, 1, len, f) != len || fputc('\n', f) == EOF || fflush(f) != 0) {
            rc = rp_error_set(err, RP_EIO, "cannot write the table");
        }
    }
    rp_free(s);
    return rc;
}
