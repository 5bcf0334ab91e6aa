/*
 * Charts of a report, drawn with cairo (toy text API, DejaVu Sans) to SVG, PNG or PDF:
 * vertical bars (trends by year), horizontal bars (forms of exploitation, citizenship,
 * largest first) and multiple systems estimates beside the observed counts. A chart is
 * first copied out of its table into an rp_chart (labels, published values, suppression
 * flags) and laid out again for each rendering, so one chart renders to every format.
 */
#include "common/common_int.h"
#include "report/publish_int.h"

#include <rapporteur/chart.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Okabe & Ito (2008), "Color Universal Design": a palette that stays distinguishable
 * with every common colour-vision deficiency. Bars are blue, observed counts sky blue,
 * estimates vermillion; text is near-black and grid lines light grey.
 */
#define OI_BLUE       0.0, 0.447, 0.698
#define OI_SKY        0.337, 0.706, 0.914
#define OI_VERMILLION 0.835, 0.369, 0.0
#define INK           0.13, 0.13, 0.13
#define GREY          0.42, 0.42, 0.42
#define GRID          0.87, 0.87, 0.87

#define FONT  "DejaVu Sans"
#define RP_PI 3.14159265358979323846

/* Sizes in points. */
#define MARGIN          16.0
#define TITLE_SIZE      15.0
#define LABEL_SIZE      11.0
#define TICK_SIZE       10.0
#define VALUE_SIZE      9.5
#define NOTE_SIZE       9.0
#define BAR_PITCH       24.0 /* vertical room of one horizontal bar */
#define LABEL_MAX_SHARE 0.38 /* most of the width category labels of RP_CHART_BARS take */

#define DEFAULT_WIDTH     720.0
#define DEFAULT_HEIGHT    405.0
#define DEFAULT_PNG_SCALE 1.5

typedef struct bar {
    char *label;
    double value; /* published value (observed count for RP_CHART_ESTIMATE) */
    bool suppressed;
    double estimate, lo, hi; /* RP_CHART_ESTIMATE only */
} bar;

struct rp_chart {
    rp_chart_kind kind;
    char *title;
    char *x_label;
    char *value_label;
    char *source;
    char *note; /* "The 15 largest of 44 categories are shown." or NULL */
    char *desc;
    bar *bars;
    size_t n_bars;
    bool any_suppressed;
    double *trend;     /* RP_CHART_COLUMNS: n_bars fitted means (NaN: none); NULL: no line */
    char *trend_label; /* its legend: "Trend: average annual change ..." */
    double ci_level;
    double width, height, png_scale;
};

/* ==== building ==== */

void rp_chart_free(rp_chart *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; c->bars != NULL && i < c->n_bars; i++)
        rp_free(c->bars[i].label);
    rp_free(c->bars);
    rp_free(c->title);
    rp_free(c->x_label);
    rp_free(c->value_label);
    rp_free(c->source);
    rp_free(c->note);
    rp_free(c->desc);
    rp_free(c->trend);
    rp_free(c->trend_label);
    rp_free(c);
}

/* The trend's fitted mean for a bar labelled @p label (a year), or NaN. */
static double fitted_for(const rp_trend *tr, const char *label)
{
    long y = 0;
    if (rp_x_parse_long(label, 1, 65535, &y) != RP_OK)
        return NAN;
    for (size_t i = 0; i < tr->n_years; i++) {
        if (tr->years[i] == (int)y)
            return tr->fitted[i];
    }
    return NAN;
}

int rp_chart_add_trend(rp_chart *c, const rp_trend *tr, rp_error *err)
{
    char text[320];
    if (c == NULL || tr == NULL || c->kind != RP_CHART_COLUMNS)
        return rp_error_set(err, RP_EINVAL, "chart: a trend line goes on a column chart");
    double *v = rp_calloc(c->n_bars + 1, sizeof(*v));
    if (v == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < c->n_bars; i++) {
        v[i] = fitted_for(tr, c->bars[i].label);
        n += isnan(v[i]) ? 0 : 1;
    }
    if (n == 0) {
        rp_free(v);
        return rp_error_set(err, RP_EINVAL, "chart: no year of the trend among the bars");
    }
    rp_x_buf b = RP_X_BUF_INIT;
    rp_x_buf_printf(&b, "Trend: %s", rp_trend_describe(text, sizeof(text), tr));
    char *label = rp_x_buf_detach(&b);
    rp_x_buf d = RP_X_BUF_INIT;
    rp_x_buf_printf(&d, "%s %s.", c->desc != NULL ? c->desc : "", label != NULL ? label : "");
    char *desc = rp_x_buf_detach(&d);
    if (label == NULL || desc == NULL) {
        rp_free(v);
        rp_free(label);
        rp_free(desc);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rp_free(c->trend);
    rp_free(c->trend_label);
    rp_free(c->desc);
    c->trend = v;
    c->trend_label = label;
    c->desc = desc;
    return RP_OK;
}

const char *rp_chart_title(const rp_chart *c)
{
    return c->title;
}

const char *rp_chart_desc(const rp_chart *c)
{
    return c->desc;
}

/* rp_strdup of @p s, or of @p fallback when @p s is NULL; false on OOM. */
static bool dup_or(char **out, const char *s, const char *fallback)
{
    const char *v = s != NULL ? s : fallback;
    *out = NULL;
    if (v == NULL)
        return true;
    *out = rp_strdup(v);
    return *out != NULL;
}

static int check_opts(const rp_chart_opts *o, rp_error *err)
{
    if (!(o->width >= 0.0 && o->height >= 0.0 && o->png_scale >= 0.0) || o->width > 10000.0 ||
        o->height > 10000.0 || o->png_scale > 8.0)
        return rp_error_set(err, RP_EINVAL, "chart size out of range");
    if (!(o->ci_level > 0.0 && o->ci_level < 1.0))
        return rp_error_set(err, RP_EINVAL, "chart ci_level must be in (0, 1)");
    return RP_OK;
}

/* A new chart with the sizes and texts of @p o (labels not yet set). */
static int chart_new(rp_chart **out,
                     rp_chart_kind kind,
                     size_t n_bars,
                     const rp_chart_opts *o,
                     const char *title,
                     const char *x_label,
                     const char *value_label,
                     rp_error *err)
{
    *out = NULL;
    rp_chart *c = rp_calloc(1, sizeof(*c));
    if (c == NULL) {
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    c->kind = kind;
    c->ci_level = o->ci_level;
    c->width = o->width > 0.0 ? o->width : DEFAULT_WIDTH;
    c->height = o->height > 0.0 ? o->height : DEFAULT_HEIGHT;
    c->png_scale = o->png_scale > 0.0 ? o->png_scale : DEFAULT_PNG_SCALE;
    c->bars = rp_calloc(n_bars + 1, sizeof(*c->bars)); /* never NULL on success */
    if (c->bars == NULL || !dup_or(&c->title, o->title, title) ||
        !dup_or(&c->x_label, o->x_label, x_label) ||
        !dup_or(&c->value_label, o->value_label, value_label) ||
        !dup_or(&c->source, o->source, NULL)) {
        rp_chart_free(c);
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    *out = c;
    return RP_OK;
}

/* Largest published value first; suppressed bars after all published ones. Stable on
 * ties through the original position, kept in `estimate` while sorting. */
static int cmp_bar_desc(const void *pa, const void *pb)
{
    const bar *a = pa;
    const bar *b = pb;
    if (a->suppressed != b->suppressed)
        return a->suppressed ? 1 : -1;
    if (!a->suppressed && a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return (a->estimate > b->estimate) - (a->estimate < b->estimate);
}

static bool is_missing_cat(const char *code)
{
    return code[0] == '\0' || strcmp(code, "unknown") == 0;
}

static int append_bar_desc(rp_x_buf *b, const bar *br, size_t i)
{
    char num[64];
    rp_x_buf_printf(b, "%s%s: ", i > 0 ? "; " : "", br->label);
    if (br->suppressed)
        return rp_x_buf_puts(b, "not published");
    return rp_x_buf_puts(b, rp_publish__fmt_count(num, sizeof(num), br->value));
}

/* The text alternative of a bar chart (the SVG's <desc>). */
static int describe_bars(rp_chart *c, rp_error *err)
{
    rp_x_buf b = RP_X_BUF_INIT;
    if (c->kind == RP_CHART_COLUMNS)
        rp_x_buf_printf(&b, "Vertical bar chart. Horizontal axis: %s. Vertical axis: %s. ",
                        c->x_label, c->value_label);
    else
        rp_x_buf_printf(&b, "Horizontal bar chart. Vertical axis: %s. Horizontal axis: %s. ",
                        c->x_label, c->value_label);
    for (size_t i = 0; i < c->n_bars; i++)
        append_bar_desc(&b, &c->bars[i], i);
    rp_x_buf_puts(&b, ".");
    if (c->any_suppressed)
        rp_x_buf_puts(&b, " Categories marked not published have too few persons to publish, "
                          "or were withheld so that small counts cannot be worked out.");
    if (c->note != NULL)
        rp_x_buf_printf(&b, " %s", c->note);
    if (c->source != NULL)
        rp_x_buf_printf(&b, " %s", c->source);
    c->desc = rp_x_buf_detach(&b);
    return c->desc != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* Copy category @p k of dimension @p dim (others at the margin) into @p br. */
static int take_cat(bar *br, const rp_table *t, size_t dim, size_t k)
{
    size_t cell = 0;
    for (size_t d = 0; d < t->n_dims; d++)
        cell += (d == dim ? k : t->dims[d].n_cats) * t->stride[d];
    char label[256];
    rp_chart_cat_label(label, sizeof(label), t->dims[dim].field, t->dims[dim].cats[k]);
    br->label = rp_strdup(label);
    br->suppressed = rp_publish__suppressed(t, cell);
    br->value = br->suppressed ? NAN : t->value[cell];
    br->estimate = (double)k; /* original position, for a stable sort */
    return br->label != NULL ? RP_OK : RP_ENOMEM;
}

static int check_table(const rp_table *t, size_t dim, rp_chart_kind kind, rp_error *err)
{
    if (t == NULL || dim >= t->n_dims || t->n_dims > RP_TABLE_MAX_DIMS || t->value == NULL)
        return rp_error_set(err, RP_EINVAL, "chart: dimension %zu not in the table", dim);
    if (kind != RP_CHART_COLUMNS && kind != RP_CHART_BARS)
        return rp_error_set(err, RP_EINVAL, "chart: a table gives column or bar charts only");
    return RP_OK;
}

/* Keep the first @p top_n bars of @p c (after sorting), freeing the rest. */
static int cut_top(rp_chart *c, size_t top_n, const rp_table *t, size_t dim, rp_error *err)
{
    if (top_n == 0 || c->n_bars <= top_n)
        return RP_OK;
    size_t all = c->n_bars;
    for (size_t i = top_n; i < all; i++) {
        rp_free(c->bars[i].label);
        c->bars[i].label = NULL;
    }
    c->n_bars = top_n;
    rp_x_buf b = RP_X_BUF_INIT;
    char field[128];
    rp_x_strlcpy(field, rp_chart_field_label(t->dims[dim].field), sizeof(field));
    for (char *p = field; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    rp_x_buf_printf(&b, "The %zu largest of %zu categories (%s) are shown.", top_n, all, field);
    c->note = rp_x_buf_detach(&b);
    return c->note != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

int rp_chart_from_table(rp_chart **out,
                        const rp_table *t,
                        size_t dim,
                        rp_chart_kind kind,
                        const rp_chart_opts *opts,
                        rp_error *err)
{
    rp_chart_opts def = RP_CHART_OPTS_INIT;
    const rp_chart_opts *o = opts != NULL ? opts : &def;
    rp_chart *c = NULL;
    char value_label[128];
    *out = NULL;
    int rc = check_table(t, dim, kind, err);
    if (rc == RP_OK)
        rc = check_opts(o, err);
    if (rc != RP_OK)
        return rc;
    const rp_table_dim *td = &t->dims[dim];
    snprintf(value_label, sizeof(value_label), "Number of %s",
             t->unit != NULL ? t->unit : "persons");
    rc = chart_new(&c, kind, td->n_cats, o, t->title != NULL ? t->title : "",
                   rp_chart_field_label(td->field), value_label, err);
    if (rc != RP_OK)
        goto out;
    for (size_t k = 0; k < td->n_cats; k++) {
        if (!o->show_missing && is_missing_cat(td->cats[k]))
            continue;
        bar *br = &c->bars[c->n_bars++];
        if (take_cat(br, t, dim, k) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            goto out;
        }
        c->any_suppressed = c->any_suppressed || br->suppressed;
    }
    if (kind == RP_CHART_BARS && c->n_bars > 1)
        qsort(c->bars, c->n_bars, sizeof(*c->bars), cmp_bar_desc);
    if (kind == RP_CHART_BARS)
        rc = cut_top(c, o->top_n, t, dim, err);
    c->any_suppressed = false;
    for (size_t i = 0; i < c->n_bars; i++)
        c->any_suppressed = c->any_suppressed || c->bars[i].suppressed;
    if (rc == RP_OK)
        rc = describe_bars(c, err);
out:
    if (rc != RP_OK)
        rp_chart_free(c);
    else
        *out = c;
    return rc;
}

static int check_estimate_row(const rp_chart_estimate_row *r, size_t i, rp_error *err)
{
    if (r->label == NULL)
        return rp_error_set(err, RP_EINVAL, "estimate row %zu has no label", i);
    if (!r->observed_suppressed && !(r->observed >= 0.0 && isfinite(r->observed)))
        return rp_error_set(err, RP_EINVAL, "estimate row %zu: observed count must be >= 0", i);
    if (r->observed_suppressed && !isnan(r->estimate))
        return rp_error_set(err, RP_EINVAL,
                            "estimate row %zu: the observed count is suppressed, so the estimate "
                            "must not be published (NaN)",
                            i);
    if (isnan(r->estimate))
        return RP_OK;
    if (!(r->lo <= r->estimate && r->estimate <= r->hi) || !isfinite(r->lo) || r->lo < 0.0)
        return rp_error_set(err, RP_EINVAL,
                            "estimate row %zu: interval must hold the estimate, lo >= 0", i);
    return RP_OK;
}

static int describe_estimates(rp_chart *c, rp_error *err)
{
    rp_x_buf b = RP_X_BUF_INIT;
    char n1[64], n2[64], n3[64], n4[64];
    rp_x_buf_printf(&b,
                    "Chart of the observed number of %s and the estimated total with its "
                    "%.0f%% interval, by ",
                    "persons", 100.0 * c->ci_level);
    /* the axis label starts a sentence on the axis; here it is inside one */
    if (c->x_label[0] >= 'A' && c->x_label[0] <= 'Z' &&
        !(c->x_label[1] >= 'A' && c->x_label[1] <= 'Z'))
        rp_x_buf_printf(&b, "%c%s. ", c->x_label[0] - 'A' + 'a', c->x_label + 1);
    else
        rp_x_buf_printf(&b, "%s. ", c->x_label);
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *br = &c->bars[i];
        rp_x_buf_printf(&b, "%s%s: observed %s", i > 0 ? "; " : "", br->label,
                        br->suppressed ? "not published"
                                       : rp_publish__fmt_count(n1, sizeof(n1), br->value));
        if (br->suppressed)
            rp_x_buf_puts(&b, ", estimate not published");
        else if (isnan(br->estimate))
            rp_x_buf_puts(&b, ", not estimable");
        else
            rp_x_buf_printf(&b, ", estimated %s (%s to %s)",
                            rp_publish__fmt_count(n2, sizeof(n2), br->estimate),
                            rp_publish__fmt_count(n3, sizeof(n3), br->lo),
                            isfinite(br->hi) ? rp_publish__fmt_count(n4, sizeof(n4), br->hi)
                                             : "no upper bound");
    }
    rp_x_buf_puts(&b, ".");
    if (c->source != NULL)
        rp_x_buf_printf(&b, " %s", c->source);
    c->desc = rp_x_buf_detach(&b);
    return c->desc != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

int rp_chart_from_estimates(rp_chart **out,
                            const rp_chart_estimate_row *rows,
                            size_t n_rows,
                            const rp_chart_opts *opts,
                            rp_error *err)
{
    rp_chart_opts def = RP_CHART_OPTS_INIT;
    const rp_chart_opts *o = opts != NULL ? opts : &def;
    rp_chart *c = NULL;
    *out = NULL;
    if (rows == NULL || n_rows == 0)
        return rp_error_set(err, RP_EINVAL, "estimate chart: no rows");
    int rc = check_opts(o, err);
    for (size_t i = 0; rc == RP_OK && i < n_rows; i++)
        rc = check_estimate_row(&rows[i], i, err);
    if (rc != RP_OK)
        return rc;
    rc = chart_new(&c, RP_CHART_ESTIMATE, n_rows, o, "Estimated total and observed count",
                   "Stratum", "Number of persons", err);
    if (rc != RP_OK)
        return rc;
    for (size_t i = 0; i < n_rows; i++) {
        bar *br = &c->bars[c->n_bars++];
        br->label = rp_strdup(rows[i].label);
        br->suppressed = rows[i].observed_suppressed;
        br->value = br->suppressed ? NAN : rows[i].observed;
        br->estimate = rows[i].estimate;
        br->lo = rows[i].lo;
        br->hi = rows[i].hi;
        c->any_suppressed = c->any_suppressed || br->suppressed;
        if (br->label == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == RP_OK)
        rc = describe_estimates(c, err);
    if (rc != RP_OK)
        rp_chart_free(c);
    else
        *out = c;
    return rc;
}

/* ==== drawing helpers ==== */

static void set_font(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s, &ext);
    return ext.x_advance;
}

/* Draw @p s with its baseline at @p y; @p align 0 left, 0.5 centred, 1 right of @p x. */
static void draw_text(cairo_t *cr, double x, double y, const char *s, double align)
{
    cairo_move_to(cr, x - align * text_width(cr, s), y);
    cairo_show_text(cr, s);
}

/*
 * Shorten @p s into @p buf so that it is at most @p max_w wide, ending in "…". Cuts only
 * at UTF-8 character boundaries. @return @p buf.
 */
static const char *fit_text(char *buf, size_t size, cairo_t *cr, const char *s, double max_w)
{
    rp_x_strlcpy(buf, s, size);
    if (text_width(cr, buf) <= max_w)
        return buf;
    size_t len = strlen(buf);
    while (len > 0) {
        len--;
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
        if (len + 4 > size)
            continue;
        memcpy(buf + len, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
        if (text_width(cr, buf) <= max_w)
            break;
    }
    return buf;
}

/*
 * A value axis from 0 to *vmax_out with ticks every *step_out, the step 1, 2, 2.5 or 5
 * times a power of ten, about five ticks, covering @p max.
 */
static void nice_axis(double max, double *vmax_out, double *step_out)
{
    if (!(max > 0.0) || !isfinite(max))
        max = 1.0;
    double raw = max / 5.0;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double step = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
    step *= mag;
    if (step < 1.0)
        step = 1.0; /* counts of people: whole numbers */
    *step_out = step;
    *vmax_out = ceil(max / step) * step;
}

/* Plot area and value scale of one rendering. */
typedef struct frame {
    double w, h;
    double left, right, top, bottom; /* plot area; bottom is the baseline for columns */
    double vmax, step;
    double foot; /* y of the first footer line (legend, note, source) */
} frame;

/* Largest value drawn, counting interval ends that are finite. */
static double chart_max(const rp_chart *c)
{
    double m = 0.0;
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *b = &c->bars[i];
        if (!b->suppressed && b->value > m)
            m = b->value;
        if (c->trend != NULL && c->trend[i] > m)
            m = c->trend[i];
        if (c->kind == RP_CHART_ESTIMATE && !isnan(b->estimate)) {
            double top = isfinite(b->hi) ? b->hi : 1.25 * b->estimate;
            m = top > m ? top : m;
        }
    }
    return m;
}

static size_t footer_lines(const rp_chart *c)
{
    return (c->any_suppressed ? 1u : 0u) + (c->note != NULL ? 1u : 0u) +
           (c->trend_label != NULL ? 1u : 0u) + (c->source != NULL ? 1u : 0u) +
           (c->kind == RP_CHART_ESTIMATE ? 1u : 0u);
}

/* Title at the top left; @return the y below it. */
static double draw_title(cairo_t *cr, const rp_chart *c)
{
    char buf[512];
    cairo_set_source_rgb(cr, INK);
    set_font(cr, TITLE_SIZE, true);
    draw_text(cr, MARGIN, MARGIN + TITLE_SIZE,
              fit_text(buf, sizeof(buf), cr, c->title, c->width - 2 * MARGIN), 0.0);
    return MARGIN + TITLE_SIZE + 12.0;
}

static bool any_not_estimable(const rp_chart *c)
{
    for (size_t i = 0; i < c->n_bars; i++) {
        if (isnan(c->bars[i].estimate) && !c->bars[i].suppressed)
            return true;
    }
    return false;
}

/* The footer lines: estimate legend, suppression legend, note, source (bottom up). */
static void draw_footer(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char buf[512];
    double y = fr->foot;
    double line = NOTE_SIZE + 6.0;
    set_font(cr, NOTE_SIZE, false);
    if (c->kind == RP_CHART_ESTIMATE) {
        char legend[160];
        cairo_set_source_rgb(cr, OI_SKY);
        cairo_rectangle(cr, MARGIN, y - 8.0, 10.0, 9.0);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, INK);
        draw_text(cr, MARGIN + 14.0, y, "Observed (persons on at least one list)", 0.0);
        double x = MARGIN + 24.0 + text_width(cr, "Observed (persons on at least one list)");
        cairo_set_source_rgb(cr, OI_VERMILLION);
        cairo_arc(cr, x + 5.0, y - 3.5, 3.5, 0.0, 2.0 * RP_PI);
        cairo_fill(cr);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, x + 5.0, y - 10.0);
        cairo_line_to(cr, x + 5.0, y + 3.0);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, INK);
        snprintf(legend, sizeof(legend), "Estimated total with %.0f%% interval",
                 100.0 * c->ci_level);
        draw_text(cr, x + 14.0, y, legend, 0.0);
        if (any_not_estimable(c)) {
            cairo_set_source_rgb(cr, GREY);
            draw_text(cr, x + 30.0 + text_width(cr, legend), y, "n/e = not estimable", 0.0);
        }
        y += line;
    }
    if (c->trend_label != NULL) {
        cairo_set_source_rgb(cr, OI_VERMILLION);
        cairo_set_line_width(cr, 2.0);
        cairo_move_to(cr, MARGIN, y - 3.5);
        cairo_line_to(cr, MARGIN + 18.0, y - 3.5);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, INK);
        /* the estimate and its interval, which come before the first "; ", are what must
         * show; the method that follows is in the report's text and the chart's <desc> */
        char head[512];
        rp_x_strlcpy(head, c->trend_label, sizeof(head));
        double room = c->width - 2 * MARGIN - 24.0;
        char *cut = strstr(head, "; ");
        if (cut != NULL && text_width(cr, head) > room)
            *cut = '\0';
        draw_text(cr, MARGIN + 24.0, y, fit_text(buf, sizeof(buf), cr, head, room), 0.0);
        y += line;
    }
    cairo_set_source_rgb(cr, GREY);
    if (c->any_suppressed) {
        draw_text(cr, MARGIN, y,
                  fit_text(buf, sizeof(buf), cr, RP_PUBLISH_MARK_LEGEND, c->width - 2 * MARGIN),
                  0.0);
        y += line;
    }
    if (c->note != NULL) {
        draw_text(cr, MARGIN, y, fit_text(buf, sizeof(buf), cr, c->note, c->width - 2 * MARGIN),
                  0.0);
        y += line;
    }
    if (c->source != NULL)
        draw_text(cr, MARGIN, y, fit_text(buf, sizeof(buf), cr, c->source, c->width - 2 * MARGIN),
                  0.0);
}

/* The "x" of a suppressed value, centred at (@p x, baseline @p y). */
static void draw_mark(cairo_t *cr, double x, double y, double align)
{
    cairo_set_source_rgb(cr, GREY);
    set_font(cr, VALUE_SIZE + 1.0, true);
    draw_text(cr, x, y, RP_PUBLISH_MARK, align);
}

/* ==== vertical charts: columns and estimates ==== */

/* Gridlines, tick labels and the rotated value-axis label of a vertical chart. */
static void draw_value_axis_v(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char num[64];
    double span = fr->bottom - fr->top;
    set_font(cr, TICK_SIZE, false);
    cairo_set_line_width(cr, 0.8);
    size_t n_ticks = (size_t)llround(fr->vmax / fr->step);
    for (size_t k = 0; k <= n_ticks; k++) {
        double v = (double)k * fr->step;
        double y = fr->bottom - span * v / fr->vmax;
        cairo_set_source_rgb(cr, GRID);
        cairo_move_to(cr, fr->left, y);
        cairo_line_to(cr, fr->right, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, INK);
        draw_text(cr, fr->left - 6.0, y + TICK_SIZE / 2.0 - 1.0,
                  rp_publish__fmt_count(num, sizeof(num), v), 1.0);
    }
    cairo_set_source_rgb(cr, INK);
    cairo_set_line_width(cr, 1.0);
    cairo_move_to(cr, fr->left, fr->bottom);
    cairo_line_to(cr, fr->right, fr->bottom);
    cairo_stroke(cr);
    set_font(cr, LABEL_SIZE, false);
    cairo_save(cr);
    cairo_translate(cr, MARGIN + LABEL_SIZE, (fr->top + fr->bottom) / 2.0);
    cairo_rotate(cr, -RP_PI / 2.0);
    draw_text(cr, 0.0, 0.0, c->value_label, 0.5);
    cairo_restore(cr);
}

/* Category labels under the slots (turned 45 degrees when they do not fit) and the
 * category axis label. @p rotate as decided by the layout. */
static void draw_cat_axis_v(cairo_t *cr, const rp_chart *c, const frame *fr, bool rotate)
{
    char buf[256];
    double slot = (fr->right - fr->left) / (double)c->n_bars;
    set_font(cr, TICK_SIZE, false);
    cairo_set_source_rgb(cr, INK);
    for (size_t i = 0; i < c->n_bars; i++) {
        double x = fr->left + slot * ((double)i + 0.5);
        if (!rotate) {
            draw_text(cr, x, fr->bottom + TICK_SIZE + 5.0, c->bars[i].label, 0.5);
            continue;
        }
        cairo_save(cr);
        cairo_translate(cr, x + 3.0, fr->bottom + 8.0);
        cairo_rotate(cr, -RP_PI / 4.0);
        draw_text(cr, 0.0, 0.0, fit_text(buf, sizeof(buf), cr, c->bars[i].label, 150.0), 1.0);
        cairo_restore(cr);
    }
}

static void draw_cat_title_v(cairo_t *cr, const rp_chart *c, const frame *fr, double y)
{
    set_font(cr, LABEL_SIZE, false);
    cairo_set_source_rgb(cr, INK);
    draw_text(cr, (fr->left + fr->right) / 2.0, y, c->x_label, 0.5);
}

static double vy(const frame *fr, double v)
{
    return fr->bottom - (fr->bottom - fr->top) * v / fr->vmax;
}

/* The trend's fitted means as a dashed vermillion line with points, over the columns. */
static void draw_trend_line(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    static const double dash[] = {6.0, 3.0};
    if (c->trend == NULL)
        return;
    double slot = (fr->right - fr->left) / (double)c->n_bars;
    bool pen_down = false;
    cairo_set_source_rgb(cr, OI_VERMILLION);
    cairo_set_line_width(cr, 2.0);
    cairo_set_dash(cr, dash, 2, 0.0);
    for (size_t i = 0; i < c->n_bars; i++) {
        if (isnan(c->trend[i])) {
            pen_down = false;
            continue;
        }
        double x = fr->left + slot * ((double)i + 0.5);
        if (pen_down)
            cairo_line_to(cr, x, vy(fr, c->trend[i]));
        else
            cairo_move_to(cr, x, vy(fr, c->trend[i]));
        pen_down = true;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0.0);
    for (size_t i = 0; i < c->n_bars; i++) {
        if (isnan(c->trend[i]))
            continue;
        double x = fr->left + slot * ((double)i + 0.5);
        cairo_arc(cr, x, vy(fr, c->trend[i]), 2.5, 0.0, 2.0 * RP_PI);
        cairo_fill(cr);
    }
}

static void draw_columns(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char num[64];
    double slot = (fr->right - fr->left) / (double)c->n_bars;
    double bw = slot * 0.68;
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *b = &c->bars[i];
        double x = fr->left + slot * ((double)i + 0.5);
        if (b->suppressed) {
            draw_mark(cr, x, fr->bottom - 4.0, 0.5);
            continue;
        }
        double y = vy(fr, b->value);
        cairo_set_source_rgb(cr, OI_BLUE);
        cairo_rectangle(cr, x - bw / 2.0, y, bw, fr->bottom - y);
        cairo_fill(cr);
    }
    draw_trend_line(cr, c, fr); /* under the values, so that they stay readable */
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *b = &c->bars[i];
        if (b->suppressed)
            continue;
        double x = fr->left + slot * ((double)i + 0.5);
        double y = vy(fr, b->value);
        set_font(cr, VALUE_SIZE, false);
        rp_publish__fmt_count(num, sizeof(num), b->value);
        double w = text_width(cr, num);
        if (w > slot)
            continue;
        cairo_set_source_rgb(cr, 1.0, 1.0, 1.0); /* a white backing over the trend line */
        cairo_rectangle(cr, x - w / 2.0 - 1.5, y - 4.0 - VALUE_SIZE, w + 3.0, VALUE_SIZE + 2.0);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, INK);
        draw_text(cr, x, y - 4.0, num, 0.5);
    }
}

/* Error bar from @p lo to @p hi at @p x, an arrow at the top when @p hi is unbounded. */
static void draw_interval(cairo_t *cr, const frame *fr, double x, const bar *b)
{
    double ylo = vy(fr, b->lo);
    double yhi = isfinite(b->hi) && b->hi <= fr->vmax ? vy(fr, b->hi) : fr->top;
    cairo_set_source_rgb(cr, OI_VERMILLION);
    cairo_set_line_width(cr, 1.8);
    cairo_move_to(cr, x, ylo);
    cairo_line_to(cr, x, yhi);
    cairo_move_to(cr, x - 6.0, ylo);
    cairo_line_to(cr, x + 6.0, ylo);
    if (isfinite(b->hi) && b->hi <= fr->vmax) {
        cairo_move_to(cr, x - 6.0, yhi);
        cairo_line_to(cr, x + 6.0, yhi);
        cairo_stroke(cr);
    } else {
        cairo_stroke(cr);
        cairo_move_to(cr, x - 5.0, yhi + 7.0);
        cairo_line_to(cr, x, yhi);
        cairo_line_to(cr, x + 5.0, yhi + 7.0);
        cairo_close_path(cr);
        cairo_fill(cr);
    }
    cairo_arc(cr, x, vy(fr, b->estimate), 4.5, 0.0, 2.0 * RP_PI);
    cairo_fill(cr);
}

static void draw_estimates(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char num[64];
    double slot = (fr->right - fr->left) / (double)c->n_bars;
    double bw = slot * 0.3;
    if (bw > 60.0)
        bw = 60.0;
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *b = &c->bars[i];
        double xc = fr->left + slot * ((double)i + 0.5);
        double xo = xc - bw * 0.6;
        double xe = xc + bw * 0.6;
        set_font(cr, VALUE_SIZE, false);
        if (b->suppressed) {
            draw_mark(cr, xo, fr->bottom - 4.0, 0.5);
        } else {
            double y = vy(fr, b->value);
            cairo_set_source_rgb(cr, OI_SKY);
            cairo_rectangle(cr, xo - bw / 2.0, y, bw, fr->bottom - y);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, INK);
            draw_text(cr, xo, y - 4.0, rp_publish__fmt_count(num, sizeof(num), b->value), 0.5);
        }
        if (b->suppressed) { /* the same mark as the count: nothing tells why */
            draw_mark(cr, xe, fr->bottom - 4.0, 0.5);
            continue;
        }
        if (isnan(b->estimate)) {
            cairo_set_source_rgb(cr, GREY);
            draw_text(cr, xe, fr->bottom - 4.0, "n/e", 0.0);
            continue;
        }
        draw_interval(cr, fr, xe, b);
        cairo_set_source_rgb(cr, INK);
        set_font(cr, VALUE_SIZE, true);
        draw_text(cr, xe + 8.0, vy(fr, b->estimate) + VALUE_SIZE / 2.0 - 1.0,
                  rp_publish__fmt_count(num, sizeof(num), b->estimate), 0.0);
    }
}

/* Layout and drawing of RP_CHART_COLUMNS and RP_CHART_ESTIMATE. */
static void draw_vertical(cairo_t *cr, const rp_chart *c)
{
    char num[64];
    frame fr = {.w = c->width, .h = c->height};
    double top = draw_title(cr, c);
    double headroom = c->kind == RP_CHART_ESTIMATE ? 1.12 : 1.08;
    nice_axis(chart_max(c) * headroom, &fr.vmax, &fr.step);
    set_font(cr, TICK_SIZE, false);
    double tick_w = text_width(cr, rp_publish__fmt_count(num, sizeof(num), fr.vmax));
    fr.left = MARGIN + LABEL_SIZE + 10.0 + tick_w + 6.0;
    fr.right = c->width - MARGIN - (c->kind == RP_CHART_ESTIMATE ? 40.0 : 0.0);
    fr.top = top + 8.0;
    double slot = (fr.right - fr.left) / (double)(c->n_bars > 0 ? c->n_bars : 1);
    double label_w = 0.0;
    for (size_t i = 0; i < c->n_bars; i++) {
        double w = text_width(cr, c->bars[i].label);
        label_w = w > label_w ? w : label_w;
    }
    bool rotate = label_w > slot - 4.0;
    double cat_h = rotate ? (label_w > 150.0 ? 150.0 : label_w) * 0.7071 + 14.0 : TICK_SIZE + 8.0;
    double foot_h = (double)footer_lines(c) * (NOTE_SIZE + 6.0);
    fr.foot = c->height - MARGIN - foot_h + NOTE_SIZE + 6.0;
    fr.bottom = c->height - MARGIN - foot_h - LABEL_SIZE - 10.0 - cat_h;
    draw_value_axis_v(cr, c, &fr);
    if (c->n_bars > 0) {
        draw_cat_axis_v(cr, c, &fr, rotate);
        if (c->kind == RP_CHART_ESTIMATE)
            draw_estimates(cr, c, &fr);
        else
            draw_columns(cr, c, &fr);
    }
    draw_cat_title_v(cr, c, &fr, fr.bottom + cat_h + LABEL_SIZE + 2.0);
    draw_footer(cr, c, &fr);
}

/* ==== horizontal bars ==== */

static double bars_height(const rp_chart *c)
{
    return MARGIN + TITLE_SIZE + 12.0 + LABEL_SIZE + 12.0 + BAR_PITCH * (double)c->n_bars +
           TICK_SIZE + 10.0 + LABEL_SIZE + 12.0 + (double)footer_lines(c) * (NOTE_SIZE + 6.0) +
           MARGIN;
}

static void draw_value_axis_h(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char num[64];
    double span = fr->right - fr->left;
    set_font(cr, TICK_SIZE, false);
    cairo_set_line_width(cr, 0.8);
    size_t n_ticks = (size_t)llround(fr->vmax / fr->step);
    for (size_t k = 0; k <= n_ticks; k++) {
        double v = (double)k * fr->step;
        double x = fr->left + span * v / fr->vmax;
        cairo_set_source_rgb(cr, GRID);
        cairo_move_to(cr, x, fr->top);
        cairo_line_to(cr, x, fr->bottom);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, INK);
        draw_text(cr, x, fr->bottom + TICK_SIZE + 4.0, rp_publish__fmt_count(num, sizeof(num), v),
                  0.5);
    }
    cairo_set_source_rgb(cr, INK);
    cairo_set_line_width(cr, 1.0);
    cairo_move_to(cr, fr->left, fr->top);
    cairo_line_to(cr, fr->left, fr->bottom);
    cairo_stroke(cr);
    set_font(cr, LABEL_SIZE, false);
    draw_text(cr, (fr->left + fr->right) / 2.0, fr->bottom + TICK_SIZE + 8.0 + LABEL_SIZE + 4.0,
              c->value_label, 0.5);
}

static void draw_bars_h(cairo_t *cr, const rp_chart *c, const frame *fr)
{
    char buf[256];
    char num[64];
    double span = fr->right - fr->left;
    double bh = BAR_PITCH * 0.66;
    for (size_t i = 0; i < c->n_bars; i++) {
        const bar *b = &c->bars[i];
        double yc = fr->top + BAR_PITCH * ((double)i + 0.5);
        set_font(cr, TICK_SIZE, false);
        cairo_set_source_rgb(cr, INK);
        draw_text(cr, fr->left - 6.0, yc + TICK_SIZE / 2.0 - 1.0,
                  fit_text(buf, sizeof(buf), cr, b->label, fr->left - MARGIN - 6.0), 1.0);
        if (b->suppressed) {
            draw_mark(cr, fr->left + 5.0, yc + VALUE_SIZE / 2.0, 0.0);
            continue;
        }
        double x1 = fr->left + span * b->value / fr->vmax;
        cairo_set_source_rgb(cr, OI_BLUE);
        cairo_rectangle(cr, fr->left, yc - bh / 2.0, x1 - fr->left, bh);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, INK);
        set_font(cr, VALUE_SIZE, false);
        draw_text(cr, x1 + 4.0, yc + VALUE_SIZE / 2.0 - 1.0,
                  rp_publish__fmt_count(num, sizeof(num), b->value), 0.0);
    }
}

static void draw_horizontal(cairo_t *cr, const rp_chart *c)
{
    char num[64];
    frame fr = {.w = c->width, .h = c->height};
    double top = draw_title(cr, c);
    set_font(cr, LABEL_SIZE, false);
    cairo_set_source_rgb(cr, INK);
    draw_text(cr, MARGIN, top + LABEL_SIZE, c->x_label, 0.0);
    fr.top = top + LABEL_SIZE + 12.0;
    fr.bottom = fr.top + BAR_PITCH * (double)c->n_bars;
    set_font(cr, TICK_SIZE, false);
    double label_w = 0.0;
    for (size_t i = 0; i < c->n_bars; i++) {
        double w = text_width(cr, c->bars[i].label);
        label_w = w > label_w ? w : label_w;
    }
    if (label_w > c->width * LABEL_MAX_SHARE)
        label_w = c->width * LABEL_MAX_SHARE;
    fr.left = MARGIN + label_w + 6.0;
    nice_axis(chart_max(c) * 1.04, &fr.vmax, &fr.step);
    set_font(cr, VALUE_SIZE, false);
    fr.right = c->width - MARGIN -
               text_width(cr, rp_publish__fmt_count(num, sizeof(num), chart_max(c))) - 8.0;
    fr.foot = fr.bottom + TICK_SIZE + 10.0 + LABEL_SIZE + 12.0 + NOTE_SIZE + 4.0;
    if (c->n_bars > 0)
        draw_value_axis_h(cr, c, &fr);
    draw_bars_h(cr, c, &fr);
    draw_footer(cr, c, &fr);
}

/* ==== rendering ==== */

static double chart_height(const rp_chart *c)
{
    if (c->kind != RP_CHART_BARS)
        return c->height;
    double h = bars_height(c);
    return h > 160.0 ? h : 160.0;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return rp_x_buf_append(closure, data, length) == RP_OK ? CAIRO_STATUS_SUCCESS
                                                           : CAIRO_STATUS_WRITE_ERROR;
}

static void draw(cairo_t *cr, const rp_chart *c)
{
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_paint(cr);
    if (c->kind == RP_CHART_BARS)
        draw_horizontal(cr, c);
    else
        draw_vertical(cr, c);
}

/* Draw @p c on @p surface (which this consumes) and finish it. */
static int draw_on(cairo_surface_t *surface, const rp_chart *c, double scale, rp_error *err)
{
    cairo_t *cr = cairo_create(surface);
    if (scale != 1.0)
        cairo_scale(cr, scale, scale);
    draw(cr, c);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(surface);
    cairo_surface_finish(surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st == CAIRO_STATUS_NO_MEMORY || st == CAIRO_STATUS_WRITE_ERROR)
        return rp_error_set(err, RP_ENOMEM, "out of memory while drawing a chart");
    if (st != CAIRO_STATUS_SUCCESS)
        return rp_error_set(err, RP_EINTERNAL, "cairo: %s", cairo_status_to_string(st));
    return RP_OK;
}

static int render_png(rp_x_buf *out, const rp_chart *c, double h, rp_error *err)
{
    int pw = (int)ceil(c->width * c->png_scale);
    int ph = (int)ceil(h * c->png_scale);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    cairo_t *cr = cairo_create(s);
    cairo_scale(cr, c->png_scale, c->png_scale);
    draw(cr, c);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(s, to_buf, out);
    cairo_surface_destroy(s);
    if (st == CAIRO_STATUS_NO_MEMORY || st == CAIRO_STATUS_WRITE_ERROR)
        return rp_error_set(err, RP_ENOMEM, "out of memory while drawing a chart");
    if (st != CAIRO_STATUS_SUCCESS)
        return rp_error_set(err, RP_EINTERNAL, "cairo: %s", cairo_status_to_string(st));
    return RP_OK;
}

/* Append @p s to @p b escaped for XML text and attributes. */
static void xml_escape(rp_x_buf *b, const char *s)
{
    rp_x_buf_put_html(b, s);
}

/* Length of the id reference at @p p that gets the prefix ("id=\"", "href=\"#",
 * "url(#"), or 0. */
static size_t id_ref_len(const char *p)
{
    static const char *const refs[] = {"id=\"", "href=\"#", "url(#"};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        size_t n = strlen(refs[i]);
        if (strncmp(p, refs[i], n) == 0)
            return n;
    }
    return 0;
}

/*
 * Cairo 1.16 cannot write <title> or <desc>: add them, with role="img" and
 * aria-labelledby, after the opening <svg ...> tag; with @p prefix drop the XML
 * declaration and prefix every id and reference to one.
 */
static int svg_finish(rp_x_buf *out, const char *svg, const rp_chart *c, const char *prefix)
{
    const char *open = strstr(svg, "<svg");
    const char *end = open != NULL ? strchr(open, '>') : NULL;
    if (end == NULL)
        return RP_EINTERNAL;
    const char *pre = prefix != NULL ? prefix : "chart";
    if (prefix == NULL)
        rp_x_buf_append(out, svg, (size_t)(open - svg));
    rp_x_buf_append(out, open, (size_t)(end - open));
    rp_x_buf_printf(out, " role=\"img\" aria-labelledby=\"%s-title %s-desc\">\n", pre, pre);
    rp_x_buf_printf(out, "<title id=\"%s-title\">", pre);
    xml_escape(out, c->title);
    rp_x_buf_printf(out, "</title>\n<desc id=\"%s-desc\">", pre);
    xml_escape(out, c->desc);
    rp_x_buf_puts(out, "</desc>");
    for (const char *p = end + 1; *p != '\0'; p++) {
        size_t n = prefix != NULL ? id_ref_len(p) : 0;
        if (n == 0) {
            rp_x_buf_putc(out, *p);
            continue;
        }
        rp_x_buf_append(out, p, n);
        rp_x_buf_printf(out, "%s-", prefix);
        p += n - 1;
    }
    return rp_x_buf_oom(out) ? RP_ENOMEM : RP_OK;
}

static bool prefix_ok(const char *p)
{
    if (p == NULL)
        return true;
    if (p[0] == '\0' || strlen(p) > 64)
        return false;
    for (const char *q = p; *q != '\0'; q++) {
        char ch = *q;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

static int render_svg(rp_x_buf *out, const rp_chart *c, double h, const char *prefix, rp_error *err)
{
    rp_x_buf raw = RP_X_BUF_INIT;
    cairo_surface_t *s = cairo_svg_surface_create_for_stream(to_buf, &raw, c->width, h);
    cairo_svg_surface_restrict_to_version(s, CAIRO_SVG_VERSION_1_1);
    int rc = draw_on(s, c, 1.0, err);
    if (rc == RP_OK && (rp_x_buf_oom(&raw) || rp_x_buf_putc(&raw, '\0') != RP_OK))
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc == RP_OK) {
        rc = svg_finish(out, raw.data, c, prefix);
        if (rc == RP_ENOMEM)
            rp_error_set(err, RP_ENOMEM, "out of memory");
        else if (rc != RP_OK)
            rp_error_set(err, RP_EINTERNAL, "cairo wrote no <svg> element");
    }
    rp_x_buf_release(&raw);
    return rc;
}

static int render_pdf(rp_x_buf *out, const rp_chart *c, double h, rp_error *err)
{
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(to_buf, out, c->width, h);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, c->title);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "rapporteur");
    return draw_on(s, c, 1.0, err);
}

int rp_chart_render(char **data_out,
                    size_t *len_out,
                    const rp_chart *c,
                    rp_chart_format fmt,
                    const char *id_prefix,
                    rp_error *err)
{
    rp_x_buf out = RP_X_BUF_INIT;
    int rc = RP_OK;
    *data_out = NULL;
    *len_out = 0;
    if (!prefix_ok(id_prefix))
        return rp_error_set(err, RP_EINVAL, "chart id prefix must be 1-64 of [A-Za-z0-9_-]");
    double h = chart_height(c);
    switch (fmt) {
    case RP_CHART_SVG:
        rc = render_svg(&out, c, h, id_prefix, err);
        break;
    case RP_CHART_PNG:
        rc = render_png(&out, c, h, err);
        break;
    case RP_CHART_PDF:
        rc = render_pdf(&out, c, h, err);
        break;
    default:
        rc = rp_error_set(err, RP_EINVAL, "unknown chart format %d", (int)fmt);
    }
    if (rc == RP_OK && rp_x_buf_oom(&out))
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    size_t len = out.len;
    if (rc == RP_OK) {
        *data_out = rp_x_buf_detach(&out);
        if (*data_out == NULL)
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        else
            *len_out = len;
    }
    rp_x_buf_release(&out);
    return rc;
}

int rp_chart_write(const rp_chart *c, rp_chart_format fmt, const char *path, rp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = rp_chart_render(&data, &len, c, fmt, NULL, err);
    if (rc != RP_OK)
        return rc;
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        rc = rp_error_set(err, RP_EIO, "cannot create chart file '%s'", path);
        goto out;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0 || !ok)
        rc = rp_error_set(err, RP_EIO, "cannot write chart file '%s'", path);
out:
    rp_free(data);
    return rc;
}
