/*
 * Trends by year: annual changes and the Poisson log-linear trend
 * log E[y_t] = a + b (t - mean t), fitted by maximum likelihood, with the rate ratio
 * exp(b) per year and its Wald and profile-likelihood intervals (as R's
 * glm(y ~ year, family = poisson) and confint()).
 *
 * Given b, the intercept is explicit: exp(a) = sum y / sum exp(b x). So the profile
 * log-likelihood of b is lp(b) = b sum(y x) - S log(sum exp(b x)) + const, S = sum y,
 * concave, with lp' = sum(y x) - S m1(b) and lp'' = -S (m2 - m1^2), where m_k are the
 * moments of x under weights exp(b x). Newton's method on it converges from b = 0, and
 * -lp'' at the optimum is the observed (= expected) information of b with a profiled
 * out, so the Wald SE is 1 / sqrt(S var_w(x)).
 */
#include "report/publish_int.h"
#include "report/report_int.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

/* Moments of x under weights exp(b x): the log of the sum of weights, m1 and m2. */
static void moments(double *log_sum, double *m1, double *m2, const double *x, size_t n, double b)
{
    double top = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        top = b * x[i] > top ? b * x[i] : top;
    }
    long double s0 = 0, s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        long double w = expl((long double)(b * x[i] - top));
        s0 += w;
        s1 += w * x[i];
        s2 += w * x[i] * x[i];
    }
    *log_sum = (double)logl(s0) + top;
    *m1 = (double)(s1 / s0);
    *m2 = (double)(s2 / s0);
}

/* The profile log-likelihood of b (up to a constant). */
static double profile_ll(const double *x, size_t n, double s, double sxy, double b)
{
    double ls = 0, m1 = 0, m2 = 0;
    moments(&ls, &m1, &m2, x, n, b);
    return b * sxy - s * ls;
}

/* The b where 2 (lp(bhat) - lp(b)) = q on the side @p dir (-1 or +1); NaN if open. */
static double profile_end(
    const double *x, size_t n, double s, double sxy, double bhat, double se, double q, int dir)
{
    double top = profile_ll(x, n, s, sxy, bhat);
    double inner = bhat, step = se > 0 && isfinite(se) ? se : 1.0, outer = bhat;
    int k = 0;
    for (; k < 60; k++) {
        outer = bhat + dir * step;
        if (2.0 * (top - profile_ll(x, n, s, sxy, outer)) > q) {
            break;
        }
        inner = outer;
        step *= 2;
    }
    if (k == 60) {
        return NAN;
    }
    for (int i = 0; i < 200 && fabs(outer - inner) > 1e-13 * (1 + fabs(bhat)); i++) {
        double mid = 0.5 * (inner + outer);
        if (2.0 * (top - profile_ll(x, n, s, sxy, mid)) > q) {
            outer = mid;
        } else {
            inner = mid;
        }
    }
    return 0.5 * (inner + outer);
}

void rp_trend_free(rp_trend *tr)
{
    if (tr == NULL) {
        return;
    }
    rp_free(tr->years);
    rp_free(tr->counts);
    rp_free(tr->change);
    rp_free(tr->change_pct);
    rp_free(tr->fitted);
    rp_x_strv_free(tr->notes, tr->n_notes);
    rp_free(tr);
}

static int trend_alloc(rp_trend **out, size_t n, rp_error *err)
{
    rp_trend *tr = rp_calloc(1, sizeof(*tr));
    if (tr != NULL) {
        tr->years = rp_calloc(n, sizeof(*tr->years));
        tr->counts = rp_calloc(n, sizeof(*tr->counts));
        tr->change = rp_calloc(n, sizeof(*tr->change));
        tr->change_pct = rp_calloc(n, sizeof(*tr->change_pct));
        tr->fitted = rp_calloc(n, sizeof(*tr->fitted));
    }
    if (tr == NULL || tr->years == NULL || tr->counts == NULL || tr->change == NULL ||
        tr->change_pct == NULL || tr->fitted == NULL) {
        rp_trend_free(tr);
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    tr->n_years = n;
    *out = tr;
    return RP_OK;
}

static void annual_changes(rp_trend *tr)
{
    for (size_t i = 0; i < tr->n_years; i++) {
        double prev = i > 0 ? tr->counts[i - 1] : NAN;
        bool next_year = i > 0 && tr->years[i] == tr->years[i - 1] + 1;
        tr->change[i] = next_year ? tr->counts[i] - prev : NAN;
        tr->change_pct[i] = next_year && prev > 0 ? 100.0 * tr->change[i] / prev : NAN;
    }
}

/* Newton on the profile log-likelihood; fills slope, se, iterations. */
static int newton(rp_trend *tr,
                  const double *x,
                  size_t n,
                  double s,
                  double sxy,
                  const rp_trend_opts *o,
                  rp_error *err)
{
    double b = 0, ls = 0, m1 = 0, m2 = 0;
    int it = 0;
    for (; it < o->max_iter; it++) {
        moments(&ls, &m1, &m2, x, n, b);
        double g = sxy - s * m1, h = s * (m2 - m1 * m1);
        if (!(h > 0)) {
            return rp_error_set(err, RP_EDOM, "trend: the years carry no information");
        }
        double step = g / h;
        b += step;
        if (fabs(step) < o->tol * (1 + fabs(b))) {
            break;
        }
    }
    if (it == o->max_iter || !isfinite(b)) {
        return rp_error_set(err, RP_ENOCONV,
                            "trend: Newton did not converge in %d iterations (counts in one "
                            "year only?)",
                            o->max_iter);
    }
    moments(&ls, &m1, &m2, x, n, b);
    tr->slope = b;
    tr->slope_se = 1.0 / sqrt(s * (m2 - m1 * m1));
    tr->iterations = it + 1;
    return RP_OK;
}

/* Deviance of the fit with slope b on the fitted years. */
static double deviance(const double *x, const double *y, size_t n, double s, double b)
{
    double ls = 0, m1 = 0, m2 = 0;
    moments(&ls, &m1, &m2, x, n, b);
    double dev = 0;
    for (size_t i = 0; i < n; i++) {
        double mu = s * exp(b * x[i] - ls);
        dev += (y[i] > 0 ? y[i] * log(y[i] / mu) : 0) - (y[i] - mu);
    }
    return 2 * dev;
}

/* The average annual change in % and its interval (profile when there is one); the
 * quasi-Poisson one is set after this by quasi_poisson(). */
static void set_pct(rp_trend *tr)
{
    bool prof = !isnan(tr->profile_lower) && !isnan(tr->profile_upper);
    tr->pct_change = 100.0 * (tr->rate_ratio - 1.0);
    tr->pct_lower = 100.0 * ((prof ? tr->profile_lower : tr->wald_lower) - 1.0);
    tr->pct_upper = 100.0 * ((prof ? tr->profile_upper : tr->wald_upper) - 1.0);
}

/*
 * Over-dispersion: phi = Pearson X^2 / df. Yearly counts of identified victims vary far
 * more than Poisson counts (a new agency, a large operation), and the Poisson interval is
 * then much too narrow. With phi > 1 the published interval is the quasi-Poisson one: the
 * profile log-likelihood scaled by 1 / phi (so the cut is z^2 phi), or the Wald interval
 * with its SE times sqrt(phi) when the profile is off.
 */
static void quasi_poisson(rp_trend *tr,
                          const double *x,
                          const double *y,
                          size_t n,
                          double s,
                          double sxy,
                          double z,
                          bool profile)
{
    double ls = 0, m1 = 0, m2 = 0;
    moments(&ls, &m1, &m2, x, n, tr->slope);
    long double x2 = 0;
    for (size_t i = 0; i < n; i++) {
        double mu = s * exp(tr->slope * x[i] - ls);
        x2 += (y[i] - mu) * (y[i] - mu) / mu;
    }
    tr->dispersion = tr->df > 0 ? (double)x2 / tr->df : 1.0;
    if (!(tr->dispersion > 1.0)) {
        return;
    }
    double phi = tr->dispersion, lo = NAN, hi = NAN;
    if (profile) {
        lo = profile_end(x, n, s, sxy, tr->slope, tr->slope_se, z * z * phi, -1);
        hi = profile_end(x, n, s, sxy, tr->slope, tr->slope_se, z * z * phi, +1);
    }
    if (isnan(lo) || isnan(hi)) {
        lo = tr->slope - z * tr->slope_se * sqrt(phi);
        hi = tr->slope + z * tr->slope_se * sqrt(phi);
    }
    tr->pct_lower = 100.0 * (exp(lo) - 1.0);
    tr->pct_upper = 100.0 * (exp(hi) - 1.0);
}

static int check_trend_input(
    const double *counts, size_t n, const rp_trend_opts *o, size_t *n_fit, rp_error *err)
{
    if (o->version != RP_TREND_OPTS_VERSION || !(o->ci_level > 0 && o->ci_level < 1) ||
        !(o->tol > 0) || o->max_iter < 1) {
        return rp_error_set(err, RP_EINVAL, "bad trend options");
    }
    *n_fit = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(counts[i])) {
            continue;
        }
        if (!(counts[i] >= 0) || isinf(counts[i])) {
            return rp_error_set(err, RP_EINVAL, "trend: count of year %zu is negative", i + 1);
        }
        (*n_fit)++;
        s += counts[i];
    }
    if (*n_fit < 2) {
        return rp_error_set(err, RP_EINVAL, "trend: fewer than 2 years with a count");
    }
    if (s == 0) {
        return rp_error_set(err, RP_EDOM, "trend: every count is 0");
    }
    return RP_OK;
}

int rp_trend_fit(rp_trend **out,
                 const int *years,
                 const double *counts,
                 size_t n,
                 const rp_trend_opts *opts,
                 rp_error *err)
{
    const rp_trend_opts defaults = RP_TREND_OPTS_INIT;
    const rp_trend_opts *o = opts != NULL ? opts : &defaults;
    rp_trend *tr = NULL;
    double *x = NULL, *y = NULL;
    size_t n_fit = 0;
    if (out == NULL || (n > 0 && (years == NULL || counts == NULL))) {
        return rp_error_set(err, RP_EINVAL, "no years, counts or output given");
    }
    *out = NULL;
    int rc = check_trend_input(counts, n, o, &n_fit, err);
    if (rc == RP_OK) {
        rc = trend_alloc(&tr, n, err);
    }
    if (rc == RP_OK) {
        x = rp_calloc(n_fit, sizeof(*x));
        y = rp_calloc(n_fit, sizeof(*y));
        if (x == NULL || y == NULL) {
            rp_error_set(err, RP_ENOMEM, "out of memory");
            rc = RP_ENOMEM;
        }
    }
    if (rc != RP_OK) {
        goto out;
    }
    double mean = 0, s = 0, sxy = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        tr->years[i] = years[i];
        tr->counts[i] = counts[i];
        if (!isnan(counts[i])) {
            x[k] = years[i];
            y[k++] = counts[i];
            mean += years[i];
        }
    }
    mean /= (double)n_fit;
    for (size_t i = 0; i < n_fit; i++) {
        x[i] -= mean;
        s += y[i];
        sxy += x[i] * y[i];
    }
    annual_changes(tr);
    tr->n_fitted = n_fit;
    tr->ci_level = o->ci_level;
    rc = newton(tr, x, n_fit, s, sxy, o, err);
    if (rc != RP_OK) {
        goto out;
    }
    double z = gsl_cdf_ugaussian_Pinv(0.5 + o->ci_level / 2);
    tr->rate_ratio = exp(tr->slope);
    tr->wald_lower = exp(tr->slope - z * tr->slope_se);
    tr->wald_upper = exp(tr->slope + z * tr->slope_se);
    tr->profile_lower = tr->profile_upper = NAN;
    if (o->profile) {
        tr->profile_lower = exp(profile_end(x, n_fit, s, sxy, tr->slope, tr->slope_se, z * z, -1));
        tr->profile_upper = exp(profile_end(x, n_fit, s, sxy, tr->slope, tr->slope_se, z * z, +1));
    }
    tr->deviance = deviance(x, y, n_fit, s, tr->slope);
    tr->df = (double)n_fit - 2;
    /* fitted means: exp(a + b (year - mean)) with exp(a) = S / sum exp(b x) */
    double ls = 0, m1 = 0, m2 = 0;
    moments(&ls, &m1, &m2, x, n_fit, tr->slope);
    for (size_t i = 0; i < n; i++) {
        tr->fitted[i] = s * exp(tr->slope * ((double)years[i] - mean) - ls);
    }
    set_pct(tr);
    quasi_poisson(tr, x, y, n_fit, s, sxy, z, o->profile);
    *out = tr;
    tr = NULL;
out:
    rp_free(x);
    rp_free(y);
    rp_trend_free(tr);
    return rc;
}

int rp_table_trend(rp_trend **out,
                   const rp_table *t,
                   size_t d,
                   const size_t *at,
                   const rp_trend_opts *opts,
                   rp_error *err)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    if (out == NULL || t == NULL || d >= t->n_dims ||
        t->dims[d].field != RP_FIELD_REGISTRATION_YEAR) {
        return rp_error_set(err, RP_EINVAL, "trend: dimension is not registration_year");
    }
    *out = NULL;
    size_t n = t->dims[d].n_cats;
    int *years = rp_calloc(n > 0 ? n : 1, sizeof(*years));
    double *counts = rp_calloc(n > 0 ? n : 1, sizeof(*counts));
    if (years == NULL || counts == NULL) {
        rp_free(years);
        rp_free(counts);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < t->n_dims; k++) {
        idx[k] = at != NULL ? at[k] : t->dims[k].n_cats;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        long y = 0;
        if (rp_x_parse_long(t->dims[d].cats[i], 1, 65535, &y) != RP_OK) {
            continue; /* "" (no year recorded) */
        }
        idx[d] = i;
        years[m] = (int)y;
        counts[m++] = t->value[rp_table_cell(t, idx)];
    }
    int rc = rp_trend_fit(out, years, counts, m, opts, err);
    rp_free(years);
    rp_free(counts);
    return rc;
}

/* ==== trends of estimates ==== */

/* The usable years of estimates: x (year), y (log estimate), w (weight); @return count. */
static size_t estimate_points(double *x,
                              double *y,
                              double *w,
                              const int *years,
                              const double *est,
                              const double *lo,
                              const double *hi,
                              size_t n,
                              double z)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = isfinite(est[i]) && est[i] > 0 && isfinite(lo[i]) && lo[i] > 0 &&
                  isfinite(hi[i]) && hi[i] > lo[i] && lo[i] <= est[i] && est[i] <= hi[i];
        if (!ok) {
            continue;
        }
        double se = (log(hi[i]) - log(lo[i])) / (2.0 * z);
        x[k] = years[i];
        y[k] = log(est[i]);
        w[k++] = 1.0 / (se * se);
    }
    return k;
}

/* Weighted least squares of y on x: slope, its SE, intercept at the weighted mean, RSS. */
static void wls(rp_trend *tr,
                double *xbar_out,
                double *ybar_out,
                const double *x,
                const double *y,
                const double *w,
                size_t k)
{
    long double sw = 0, sx = 0, sy = 0;
    for (size_t i = 0; i < k; i++) {
        sw += w[i];
        sx += w[i] * x[i];
        sy += w[i] * y[i];
    }
    double xbar = (double)(sx / sw), ybar = (double)(sy / sw);
    long double sxx = 0, sxy = 0;
    for (size_t i = 0; i < k; i++) {
        sxx += w[i] * (x[i] - xbar) * (x[i] - xbar);
        sxy += w[i] * (x[i] - xbar) * (y[i] - ybar);
    }
    tr->slope = (double)(sxy / sxx);
    tr->slope_se = 1.0 / sqrt((double)sxx);
    long double rss = 0;
    for (size_t i = 0; i < k; i++) {
        double r = y[i] - ybar - tr->slope * (x[i] - xbar);
        rss += w[i] * r * r;
    }
    tr->deviance = (double)rss;
    *xbar_out = xbar;
    *ybar_out = ybar;
}

int rp_trend_fit_estimates(rp_trend **out,
                           const int *years,
                           const double *estimate,
                           const double *lower,
                           const double *upper,
                           size_t n,
                           double est_level,
                           const rp_trend_opts *opts,
                           rp_error *err)
{
    const rp_trend_opts defaults = RP_TREND_OPTS_INIT;
    const rp_trend_opts *o = opts != NULL ? opts : &defaults;
    rp_trend *tr = NULL;
    if (out == NULL ||
        (n > 0 && (years == NULL || estimate == NULL || lower == NULL || upper == NULL))) {
        return rp_error_set(err, RP_EINVAL, "no years, estimates or output given");
    }
    *out = NULL;
    if (!(est_level > 0 && est_level < 1) || o->version != RP_TREND_OPTS_VERSION ||
        !(o->ci_level > 0 && o->ci_level < 1)) {
        return rp_error_set(err, RP_EINVAL, "bad trend options or level of the estimates");
    }
    double *x = rp_calloc(n > 0 ? 3 * n : 1, sizeof(*x));
    int rc = x != NULL ? trend_alloc(&tr, n, err) : rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        goto out;
    }
    double *y = x + n, *w = x + 2 * n;
    size_t k = estimate_points(x, y, w, years, estimate, lower, upper, n,
                               gsl_cdf_ugaussian_Pinv(0.5 + est_level / 2));
    if (k < 2) {
        rc = rp_error_set(err, RP_EINVAL, "trend: fewer than 2 years with an estimate");
        goto out;
    }
    double xbar = 0, ybar = 0;
    wls(tr, &xbar, &ybar, x, y, w, k);
    double z = gsl_cdf_ugaussian_Pinv(0.5 + o->ci_level / 2);
    for (size_t i = 0; i < n; i++) {
        tr->years[i] = years[i];
        bool ok = isfinite(estimate[i]);
        tr->counts[i] = ok ? estimate[i] : NAN;
        tr->fitted[i] = exp(ybar + tr->slope * ((double)years[i] - xbar));
    }
    annual_changes(tr);
    tr->n_fitted = k;
    tr->df = (double)k - 2;
    tr->ci_level = o->ci_level;
    tr->weighted = true;
    tr->iterations = 1;
    tr->rate_ratio = exp(tr->slope);
    tr->wald_lower = exp(tr->slope - z * tr->slope_se);
    tr->wald_upper = exp(tr->slope + z * tr->slope_se);
    tr->profile_lower = tr->profile_upper = NAN;
    tr->dispersion = 1.0;
    set_pct(tr);
    *out = tr;
    tr = NULL;
out:
    rp_free(x);
    rp_trend_free(tr);
    return rc;
}

/* ==== describing ==== */

/* The first and last fitted years. */
static void fitted_span(int *first, int *last, const rp_trend *tr)
{
    *first = *last = 0;
    for (size_t i = 0; i < tr->n_years; i++) {
        if (isnan(tr->counts[i]) || (tr->weighted && !(tr->counts[i] > 0))) {
            continue;
        }
        *first = *first == 0 ? tr->years[i] : *first;
        *last = tr->years[i];
    }
}

const char *rp_trend_describe(char *buf, size_t size, const rp_trend *tr)
{
    char pc[80], lo[80], hi[80];
    int first = 0, last = 0;
    if (size == 0) {
        return buf;
    }
    if (tr == NULL) {
        rp_x_strlcpy(buf, "no trend", size);
        return buf;
    }
    fitted_span(&first, &last, tr);
    bool prof = !tr->weighted && !isnan(tr->profile_lower) && !isnan(tr->profile_upper);
    snprintf(buf, size,
             "average annual change %s%% (%.0f%% CI %s%% to %s%%); %s over %d-%d "
             "(%zu years)",
             rp_publish__fmt_pct(pc, sizeof(pc), tr->pct_change), 100.0 * tr->ci_level,
             rp_publish__fmt_pct(lo, sizeof(lo), tr->pct_lower),
             rp_publish__fmt_pct(hi, sizeof(hi), tr->pct_upper),
             tr->weighted ? "log-linear trend of the estimates, weighted by their precision "
                            "(Wald interval)"
             : tr->dispersion > 1.0
                 ? "Poisson log-linear trend, interval widened for the year-to-year variation "
                   "(quasi-Poisson)"
                 : (prof ? "Poisson log-linear trend (profile-likelihood interval)"
                         : "Poisson log-linear trend (Wald interval)"),
             first, last, tr->n_fitted);
    return buf;
}
