/*
 * Writers of trends by year: CSV (one row per label and year with the annual change and
 * the fitted mean, then a summary row per label) and JSON. The counts written are the
 * published values the trends were fitted to; a suppressed year is "x" (CSV) or null.
 */
#include "report/report_int.h"

#include <jansson.h>
#include <math.h>

static int
check_trends(const rp_trend *const *trends, const char *const *labels, size_t n, rp_error *err)
{
    if (n > 0 && (trends == NULL || labels == NULL)) {
        return rp_error_set(err, RP_EINVAL, "no trends or labels given");
    }
    for (size_t i = 0; i < n; i++) {
        if (labels[i] == NULL) {
            return rp_error_set(err, RP_EINVAL, "trend %zu has no label", i + 1);
        }
    }
    return RP_OK;
}

static void put_label(rp_x_buf *b, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (quote) {
        rp_x_buf_putc(b, '"');
    }
    if (formula) {
        rp_x_buf_putc(b, '\'');
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"') {
            rp_x_buf_putc(b, '"');
        }
        rp_x_buf_putc(b, *p);
    }
    if (quote) {
        rp_x_buf_putc(b, '"');
    }
}

/* ",v" with @p decimals decimals, or "," + @p missing when @p v is NaN. */
static void put_num(rp_x_buf *b, double v, int decimals, const char *missing)
{
    rp_x_buf_putc(b, ',');
    if (isnan(v) || isinf(v)) {
        rp_x_buf_puts(b, missing);
    } else {
        rp_x_buf_printf(b, "%.*f", decimals, v);
    }
}

static const char *method_name(const rp_trend *tr)
{
    if (tr->weighted) {
        return "weighted log-linear regression of the estimates (Wald interval)";
    }
    if (tr->dispersion > 1.0) {
        return "Poisson log-linear regression, quasi-Poisson interval (profile likelihood "
               "scaled by the dispersion)";
    }
    return isnan(tr->profile_lower) || isnan(tr->profile_upper)
               ? "Poisson log-linear regression (Wald interval)"
               : "Poisson log-linear regression (profile-likelihood interval)";
}

static void csv_trend(rp_x_buf *b, const rp_trend *tr, const char *label)
{
    for (size_t i = 0; i < tr->n_years; i++) {
        put_label(b, label);
        rp_x_buf_printf(b, ",%d", tr->years[i]);
        put_num(b, tr->counts[i], 0, "x");
        put_num(b, tr->change[i], 0, "");
        put_num(b, tr->change_pct[i], 2, "");
        put_num(b, tr->fitted[i], 2, "");
        rp_x_buf_puts(b, ",,,,,,\n"); /* the summary columns */
    }
    put_label(b, label);
    rp_x_buf_puts(b, ",trend,,,,");
    put_num(b, tr->pct_change, 3, "");
    put_num(b, tr->pct_lower, 3, "");
    put_num(b, tr->pct_upper, 3, "");
    rp_x_buf_printf(b, ",%g,", tr->ci_level);
    put_label(b, method_name(tr));
    rp_x_buf_printf(b, ",%zu\n", tr->n_fitted);
}

int rp_trend_write_csv(
    FILE *f, const rp_trend *const *trends, const char *const *labels, size_t n, rp_error *err)
{
    if (f == NULL) {
        return rp_error_set(err, RP_EINVAL, "no file given");
    }
    int rc = check_trends(trends, labels, n, err);
    if (rc != RP_OK) {
        return rc;
    }
    rp_x_buf b = RP_X_BUF_INIT;
    rp_x_buf_puts(&b, "label,year,value,change,change_pct,fitted,avg_change_pct,ci_lower_pct,"
                      "ci_upper_pct,ci_level,method,years_fitted\n");
    for (size_t i = 0; i < n; i++) {
        if (trends[i] != NULL) {
            csv_trend(&b, trends[i], labels[i]);
        }
    }
    if (rp_x_buf_oom(&b)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    } else if (b.len > 0 && fwrite(b.data, 1, b.len, f) != b.len) {
        rc = rp_error_set(err, RP_EIO, "cannot write the trends");
    }
    rp_x_buf_release(&b);
    return rc;
}

/* A number, or null for NaN and infinities. */
static json_t *jnum(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

/*
 * The SE of the slope that matches the published interval: with over-dispersion
 * (dispersion > 1, the quasi-Poisson interval) the Poisson SE times sqrt(dispersion),
 * as R's summary() of a quasipoisson glm; else the Poisson (or weighted) SE itself.
 */
static double slope_se_published(const rp_trend *tr)
{
    return !tr->weighted && tr->dispersion > 1.0 ? tr->slope_se * sqrt(tr->dispersion)
                                                 : tr->slope_se;
}

static json_t *json_trend(const rp_trend *tr, const char *label)
{
    json_t *years = json_array();
    for (size_t i = 0; years != NULL && i < tr->n_years; i++) {
        json_array_append_new(
            years, json_pack("{s:i, s:o, s:o, s:o, s:o}", "year", tr->years[i], "value",
                             jnum(tr->counts[i]), "change", jnum(tr->change[i]), "change_pct",
                             jnum(tr->change_pct[i]), "fitted", jnum(tr->fitted[i])));
    }
    json_t *trend =
        json_pack("{s:o, s:o, s:o, s:f, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "avg_change_pct",
                  jnum(tr->pct_change), "ci_lower_pct", jnum(tr->pct_lower), "ci_upper_pct",
                  jnum(tr->pct_upper), "ci_level", tr->ci_level, "rate_ratio", jnum(tr->rate_ratio),
                  "slope", jnum(tr->slope), "slope_se", jnum(slope_se_published(tr)), "deviance",
                  jnum(tr->deviance), "df", jnum(tr->df), "years_fitted", (json_int_t)tr->n_fitted,
                  "dispersion", jnum(tr->dispersion));
    if (trend != NULL && !tr->weighted) { /* the plain Poisson SE, beside the one used */
        json_object_set_new(trend, "slope_se_poisson", jnum(tr->slope_se));
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "label", label, "method", method_name(tr), "years",
                     years, "trend", trend);
}

int rp_trend_write_json(
    FILE *f, const rp_trend *const *trends, const char *const *labels, size_t n, rp_error *err)
{
    if (f == NULL) {
        return rp_error_set(err, RP_EINVAL, "no file given");
    }
    int rc = check_trends(trends, labels, n, err);
    if (rc != RP_OK) {
        return rc;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n && rc == RP_OK; i++) {
        if (trends[i] == NULL) {
            continue;
        }
        json_t *o = json_trend(trends[i], labels[i]);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    if (arr == NULL && rc == RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (rc == RP_OK && json_dumpf(arr, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write the trends");
    }
    if (rc == RP_OK && fputc('\n', f) == EOF) {
        rc = rp_error_set(err, RP_EIO, "cannot write the trends");
    }
    json_decref(arr);
    return rc;
}
