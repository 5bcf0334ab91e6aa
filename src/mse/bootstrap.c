/*
 * The BCa bootstrap with model selection redone in every replicate (Silverman, Chan &
 * Vincent 2024; SparseMSE estimatepopulation; MultipleSystemsEstimation bootstrapcal):
 * multinomial resampling of the observed cells, a delete-one jackknife over distinct
 * patterns for the acceleration, and type-8 quantiles.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <string.h>

/* Options of the selector (its first member is the opts pointer). */
static const rp_mse_opts *opts_of(void *selp)
{
    return *(const rp_mse_opts *const *)selp;
}

/* R's quantile(type = 8) of sorted x[0..n-1]: median-unbiased (Hyndman & Fan 1996). */
static double quantile8(const double *x, size_t n, double p)
{
    double h = ((double)n + 1.0 / 3.0) * p + 1.0 / 3.0;
    double fl = floor(h);
    if (fl < 1.0)
        return x[0];
    if (fl >= (double)n)
        return x[n - 1];
    size_t j = (size_t)fl;
    return x[j - 1] + (h - fl) * (x[j] - x[j - 1]);
}

int rp_mse__bootstrap(rp_mse_result *res, void *selp, const rp_capture_table *tab, rp_error *err)
{
    const rp_mse_opts *o = opts_of(selp);
    size_t B = o->n_boot;
    size_t n_all = (size_t)1 << tab->n_lists;
    size_t n_cells = n_all - 1;
    double observed = rp_capture_table_observed(tab);
    int rc = RP_OK;
    double *reps = rp_calloc(B, sizeof(double));
    double *prob = rp_calloc(n_cells, sizeof(double));
    unsigned int *draw = rp_calloc(n_cells, sizeof(unsigned int));
    double *jack = rp_calloc(n_cells, sizeof(double));
    rp_capture_table *rep = rp_capture_table_dup(tab);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!reps || !prob || !draw || !jack || !rep || !rng) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the bootstrap");
        goto out;
    }
    gsl_rng_set(rng, (unsigned long)o->seed);
    for (size_t c = 0; c < n_cells; c++)
        prob[c] = tab->counts[c + 1];
    size_t n_jack = 0;
    for (size_t c = 0; c < n_cells; c++)
        n_jack += prob[c] > 0.0;
    size_t total_work = B + n_jack;
    size_t failed = 0;
    size_t kept = 0;
    for (size_t b = 0; b < B; b++) {
        gsl_ran_multinomial(rng, n_cells, (unsigned int)observed, prob, draw);
        for (size_t c = 0; c < n_cells; c++)
            rep->counts[c + 1] = (double)draw[c];
        double est = NAN;
        rp_error rerr = RP_ERROR_INIT;
        int src = rp_mse__select(&est, selp, rep, &rerr);
        if (src == RP_ENOMEM || src == RP_ECANCELED) {
            rc = src;
            if (err)
                *err = rerr;
            goto out;
        }
        if (src != RP_OK || !isfinite(est)) {
            failed++;
        } else {
            reps[kept++] = est;
        }
        if (o->progress && o->progress(b + 1, total_work, o->payload) != 0) {
            rc = rp_error_set(err, RP_ECANCELED, "bootstrap cancelled");
            goto out;
        }
    }
    /* jackknife: delete one person from each distinct observed pattern */
    size_t done = B;
    size_t jfail = 0;
    for (size_t c = 0; c < n_cells; c++) {
        jack[c] = NAN;
        if (!(prob[c] > 0.0))
            continue;
        memcpy(rep->counts, tab->counts, n_all * sizeof(double));
        rep->counts[c + 1] -= 1.0;
        rp_error jerr = RP_ERROR_INIT;
        int jrc = rp_mse__select(&jack[c], selp, rep, &jerr);
        if (jrc == RP_ENOMEM) {
            rc = jrc;
            if (err)
                *err = jerr;
            goto out;
        }
        if (jrc != RP_OK || !isfinite(jack[c])) {
            jack[c] = NAN;
            jfail++;
        }
        done++;
        if (o->progress && o->progress(done, total_work, o->payload) != 0) {
            rc = rp_error_set(err, RP_ECANCELED, "bootstrap cancelled");
            goto out;
        }
    }
    if (kept < 2) {
        rc = rp_error_set(err, RP_EDOM,
                          "bootstrap: fewer than 2 replicates had an admissible model");
        goto out;
    }
    /* acceleration: a = sum c d^3 / (6 (sum c d^2)^(3/2)), d = weighted mean - jack */
    double a = 0.0;
    {
        double sw = 0.0, swj = 0.0;
        for (size_t c = 0; c < n_cells; c++) {
            if (isnan(jack[c]))
                continue;
            sw += prob[c];
            swj += prob[c] * jack[c];
        }
        double mean = swj / sw;
        double s2 = 0.0, s3 = 0.0;
        for (size_t c = 0; c < n_cells; c++) {
            if (isnan(jack[c]))
                continue;
            double d = mean - jack[c];
            s2 += prob[c] * d * d;
            s3 += prob[c] * d * d * d;
        }
        a = s2 > 0.0 ? s3 / (6.0 * pow(s2, 1.5)) : 0.0;
    }
    /* bias: z0 = Phi^-1(share of replicates strictly below the estimate) */
    size_t below = 0;
    for (size_t b = 0; b < kept; b++)
        below += reps[b] < res->estimate;
    double share = (double)below / (double)kept;
    gsl_sort(reps, 1, kept);
    double alpha = 0.5 * (1.0 - o->ci_level);
    if (share <= 0.0 || share >= 1.0) {
        /* every replicate on one side: BCa is undefined; report the percentile interval */
        res->bca_lower = quantile8(reps, kept, alpha);
        res->bca_upper = quantile8(reps, kept, 1.0 - alpha);
        rc = rp_mse__note(res, err,
                          "bootstrap: every replicate lies on one side of the estimate, so the "
                          "BCa bias correction is infinite; the interval shown is the plain "
                          "percentile interval");
        if (rc != RP_OK)
            goto out;
    } else {
        double z0 = gsl_cdf_ugaussian_Pinv(share);
        double zl = z0 + gsl_cdf_ugaussian_Pinv(alpha);
        double zu = z0 + gsl_cdf_ugaussian_Pinv(1.0 - alpha);
        double ql = gsl_cdf_ugaussian_P(z0 + zl / (1.0 - a * zl));
        double qu = gsl_cdf_ugaussian_P(z0 + zu / (1.0 - a * zu));
        res->bca_lower = quantile8(reps, kept, ql);
        res->bca_upper = quantile8(reps, kept, qu);
    }
    res->boot_median = quantile8(reps, kept, 0.5);
    res->n_boot = kept;
    if (failed > 0 || jfail > 0) {
        rc = rp_mse__note(res, err,
                          "bootstrap: %zu of %zu replicates and %zu of %zu jackknife fits had "
                          "no admissible model and were left out",
                          failed, B, jfail, n_jack);
        if (rc != RP_OK)
            goto out;
    }
out:
    gsl_rng_free(rng);
    rp_capture_table_free(rep);
    rp_free(reps);
    rp_free(prob);
    rp_free(draw);
    rp_free(jack);
    return rc;
}
