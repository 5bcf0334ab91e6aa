/*
 * Readers' labels for the standard's fields and codes, and the helpers every published
 * output shares (src/report/publish_int.h): the publication rule for a cell, counts with
 * thousands separators, and a table laid out as rows and columns.
 */
#include "common/common_int.h"
#include "report/publish_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== labels ==== */

static const char *const field_labels[RP_FIELD_COUNT] = {
    [RP_FIELD_LIST] = "List",
    [RP_FIELD_CASE_ID] = "Case",
    [RP_FIELD_PERSON_ID] = "Person",
    [RP_FIELD_REGISTRATION_YEAR] = "Year of registration",
    [RP_FIELD_REGISTRATION_DATE] = "Date of registration",
    [RP_FIELD_ID_STATUS] = "Identification status",
    [RP_FIELD_SEX] = "Sex",
    [RP_FIELD_AGE] = "Age (years)",
    [RP_FIELD_AGE_BAND] = "Age band (years)",
    [RP_FIELD_MAJORITY_AT_EXPLOITATION] = "Minor or adult when exploited",
    [RP_FIELD_CITIZENSHIP] = "Citizenship",
    [RP_FIELD_COUNTRY_OF_EXPLOITATION] = "Country of exploitation",
    [RP_FIELD_EXPLOITATION] = "Form of exploitation",
    [RP_FIELD_SEXUAL_TYPES] = "Type of sexual exploitation",
    [RP_FIELD_LABOUR_SECTORS] = "Labour sector",
    [RP_FIELD_MEANS_OF_CONTROL] = "Means of control",
    [RP_FIELD_RECRUITER_RELATION] = "Relation to the recruiter",
};

const char *rp_chart_field_label(rp_field f)
{
    if (f == RP_TABLE_FIELD_STATE)
        return "State";
    if (f == RP_TABLE_FIELD_REGION)
        return "Region";
    if ((unsigned)f >= (unsigned)RP_FIELD_COUNT)
        return "Category";
    return field_labels[f];
}

/* Codes whose label is not the code with '_' as ' ' and a capital letter. */
static const struct {
    rp_field field;
    const char *code;
    const char *label;
} special[] = {
    {RP_FIELD_EXPLOITATION, "sexual", "Sexual exploitation"},
    {RP_FIELD_EXPLOITATION, "other", "Other exploitation"},
    {RP_FIELD_LABOUR_SECTORS, "mining_drilling", "Mining and drilling"},
    {RP_FIELD_LABOUR_SECTORS, "aquafarming", "Aquafarming and fishing"},
    {RP_FIELD_LABOUR_SECTORS, "other", "Other sector"},
    {RP_FIELD_AGE_BAND, "48+", "48 and over"},
    {RP_FIELD_RECRUITER_RELATION, "intimate_partner", "Intimate partner"},
};

/* "forced_labour" -> "Forced labour"; "18-20" -> "18–20" (en dash). */
static void generic_label(char *buf, size_t size, rp_field f, const char *code)
{
    if (f == RP_FIELD_AGE_BAND) {
        const char *dash = strchr(code, '-');
        if (dash != NULL && dash != code) {
            snprintf(buf, size, "%.*s\xe2\x80\x93%s", (int)(dash - code), code, dash + 1);
            return;
        }
    }
    rp_x_strlcpy(buf, code, size);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '_')
            *p = ' ';
    }
    if (buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 'a' + 'A');
}

const char *rp_chart_cat_label(char *buf, size_t size, rp_field f, const char *code)
{
    if (size == 0)
        return buf;
    if (code == NULL || code[0] == '\0') {
        rp_x_strlcpy(buf, "Not recorded", size);
        return buf;
    }
    if (strcmp(code, "unknown") == 0) {
        rp_x_strlcpy(buf, "Unknown", size);
        return buf;
    }
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        if (special[i].field == f && strcmp(special[i].code, code) == 0) {
            rp_x_strlcpy(buf, special[i].label, size);
            return buf;
        }
    }
    if (f == RP_TABLE_FIELD_REGION) {
        rp_x_strlcpy(buf, code, size); /* a region's name, as the region table gives it */
        return buf;
    }
    if (f == RP_FIELD_CITIZENSHIP || f == RP_FIELD_COUNTRY_OF_EXPLOITATION ||
        f == RP_TABLE_FIELD_STATE) {
        const char *name = rp_publish__country_name(code);
        rp_x_strlcpy(buf, name != NULL ? name : code, size);
        return buf;
    }
    generic_label(buf, size, f, code);
    return buf;
}

/* ==== cells and numbers ==== */

bool rp_publish__suppressed(const rp_table *t, size_t i)
{
    uint8_t s = t->status != NULL ? t->status[i] : (uint8_t)RP_CELL_PUBLISHED;
    return s == RP_CELL_PRIMARY || s == RP_CELL_SECONDARY;
}

const char *rp_publish__fmt_count(char *buf, size_t size, double v)
{
    if (size == 0)
        return buf;
    if (!isfinite(v)) {
        rp_x_strlcpy(buf, isnan(v) ? "\xe2\x80\x93" : (v > 0 ? "\xe2\x88\x9e" : "-\xe2\x88\x9e"),
                     size);
        return buf;
    }
    double r = round(v);
    bool neg = r < 0;
    char digits[64];
    snprintf(digits, sizeof(digits), "%.0f", fabs(r));
    size_t nd = strlen(digits);
    char tmp[96];
    size_t o = 0;
    if (neg && r != 0)
        tmp[o++] = '-';
    for (size_t i = 0; i < nd && o + 2 < sizeof(tmp); i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    rp_x_strlcpy(buf, tmp, size);
    return buf;
}

const char *rp_publish__fmt_num(char *buf, size_t size, double v, int sig)
{
    sig = sig < 1 ? 1 : (sig > 15 ? 15 : sig);
    if (!isfinite(v) || v == floor(v) || fabs(v) >= pow(10.0, sig))
        return rp_publish__fmt_count(buf, size, v);
    /* decimals for sig significant digits: %f never switches to exponent form */
    int exp10 = (int)floor(log10(fabs(v)));
    int decimals = sig - 1 - exp10;
    if (decimals <= 0)
        return rp_publish__fmt_count(buf, size, v);
    decimals = decimals > 30 ? 30 : decimals;
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
    size_t n = strlen(tmp);
    while (strchr(tmp, '.') != NULL && n > 0 && (tmp[n - 1] == '0' || tmp[n - 1] == '.')) {
        bool dot = tmp[n - 1] == '.';
        tmp[--n] = '\0';
        if (dot)
            break;
    }
    if (strcmp(tmp, "-0") == 0)
        rp_x_strlcpy(tmp, "0", sizeof(tmp));
    rp_x_strlcpy(buf, tmp, size);
    return buf;
}

const char *rp_publish__fmt_pct(char *buf, size_t size, double v)
{
    if (!isfinite(v) || fabs(v) >= 1e15)
        return rp_publish__fmt_count(buf, size, v);
    double tenths = round(fabs(v) * 10.0);
    char whole[64];
    rp_publish__fmt_count(whole, sizeof(whole), floor(tenths / 10.0));
    snprintf(buf, size, "%c%s.%d", v < 0 && tenths > 0 ? '-' : '+', whole, (int)fmod(tenths, 10.0));
    return buf;
}

/* ==== grid ==== */

/* Sort key of a country row: its name, unknown and not recorded after every country. */
typedef struct country_row {
    size_t cat;
    int rank; /* 0 country, 1 unknown, 2 not recorded */
    char name[128];
} country_row;

static int cmp_country_row(const void *pa, const void *pb)
{
    const country_row *a = pa;
    const country_row *b = pb;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    return strcmp(a->name, b->name);
}

/* Rows of a 1-D country table by name into g->order (n_cats + 1 entries, margin last). */
static int sort_countries(rp_publish_grid *g, const rp_table *t)
{
    const rp_table_dim *d = &t->dims[0];
    country_row *rows = rp_calloc(d->n_cats + 1, sizeof(*rows));
    g->order = rp_calloc(d->n_cats + 1, sizeof(*g->order));
    if (rows == NULL || g->order == NULL) {
        rp_free(rows);
        rp_free(g->order);
        g->order = NULL;
        return RP_ENOMEM;
    }
    for (size_t i = 0; i < d->n_cats; i++) {
        const char *code = d->cats[i] != NULL ? d->cats[i] : "";
        rows[i].cat = i;
        rows[i].rank = code[0] == '\0' ? 2 : strcmp(code, "unknown") == 0 ? 1 : 0;
        rp_chart_cat_label(rows[i].name, sizeof(rows[i].name), d->field, code);
    }
    qsort(rows, d->n_cats, sizeof(*rows), cmp_country_row);
    for (size_t i = 0; i < d->n_cats; i++)
        g->order[i] = rows[i].cat;
    g->order[d->n_cats] = d->n_cats;
    rp_free(rows);
    return RP_OK;
}

int rp_publish__grid(rp_publish_grid *g, const rp_table *t)
{
    g->order = NULL;
    g->one_dim = t->n_dims <= 1;
    if (g->one_dim) {
        g->row_dims = t->n_dims;
        g->n_rows = t->n_dims == 1 ? t->dims[0].n_cats + 1 : 1;
        g->n_cols = 1;
        bool country = t->n_dims == 1 && (t->dims[0].field == RP_FIELD_CITIZENSHIP ||
                                          t->dims[0].field == RP_FIELD_COUNTRY_OF_EXPLOITATION);
        return country ? sort_countries(g, t) : RP_OK;
    }
    g->row_dims = t->n_dims - 1;
    g->n_rows = 1;
    for (size_t d = 0; d < g->row_dims; d++)
        g->n_rows *= t->dims[d].n_cats + 1;
    g->n_cols = t->dims[t->n_dims - 1].n_cats + 1;
    return RP_OK;
}

void rp_publish__grid_release(rp_publish_grid *g)
{
    rp_free(g->order);
    g->order = NULL;
}

size_t rp_publish__grid_cell(
    const rp_table *t, const rp_publish_grid *g, size_t row, size_t col, size_t *idx)
{
    size_t rest = g->order != NULL ? g->order[row] : row;
    for (size_t d = g->row_dims; d-- > 0;) {
        size_t n = t->dims[d].n_cats + 1;
        idx[d] = rest % n;
        rest /= n;
    }
    if (!g->one_dim)
        idx[t->n_dims - 1] = col;
    size_t cell = 0;
    for (size_t d = 0; d < t->n_dims; d++)
        cell += idx[d] * t->stride[d];
    return cell;
}

const char *rp_publish__dim_label(char *buf, size_t size, const rp_table *t, size_t d, size_t i)
{
    if (i >= t->dims[d].n_cats) {
        rp_x_strlcpy(buf, "Total", size);
        return buf;
    }
    return rp_chart_cat_label(buf, size, t->dims[d].field, t->dims[d].cats[i]);
}
