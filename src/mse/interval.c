/*
 * Intervals and classical estimators: the profile-likelihood interval for N (Cormack
 * 1992, as Rcapture's closedpCI.t computes it), Chapman's two-list estimator, Chao's
 * lower bound, and the combination of stratum estimates.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <string.h>

/*
 * RP_MSE_PROFILE_RTOL: relative precision of N for the maximiser and the interval ends;
 * far below the 4 significant digits anyone reports. RP_MSE_PROFILE_MAXIT caps the
 * bracketing and the Brent iterations. RP_MSE_PROFILE_GROW is the factor by which the
 * search for the upper end widens its bracket; RP_MSE_PROFILE_SPAN the widest dark
 * figure tried, in multiples of the fitted one, before the upper end is declared infinite.
 */
#define RP_MSE_PROFILE_RTOL  1e-9
#define RP_MSE_PROFILE_MAXIT 200
#define RP_MSE_PROFILE_GROW  2.0
#define RP_MSE_PROFILE_SPAN  1e6

typedef struct profile_ctx {
    rp_mse_workspace *ws;
    const rp_mse_fit_opts *fopts;
    double n;   /* observed */
    int status; /* first failure, RP_OK if none */
    rp_error *err;
    bool warm;
} profile_ctx;

/*
 * The multinomial log-likelihood of N, profiled over the log-linear parameters: the model
 * is fitted to the completed table whose unobserved cell holds n0 = N - n, and
 *     l(N) = -D(N)/2 + log(n0^n0 N! / (N^N n0!))
 * (Rcapture, closedpCI.t; Cormack 1992), with exact lgamma rather than Stirling's form.
 */
static double profile_loglik(double n0, void *vp)
{
    profile_ctx *p = vp;
    rp_mse_workspace *ws = p->ws;
    if (p->status != RP_OK)
        return NAN;
    if (n0 < 0.0)
        n0 = 0.0;
    rp_mse__set_count(ws, 0, n0); /* pattern 0 is the first cell of a with_zero design */
    double dev = 0.0;
    int it = 0;
    int rc = rp_mse__irls(ws, p->fopts, p->warm, &dev, NULL, &it, p->err);
    if (rc != RP_OK) {
        /* a cold start may still converge where the warm one failed */
        rc = rp_mse__irls(ws, p->fopts, false, &dev, NULL, &it, p->err);
    }
    if (rc != RP_OK) {
        p->status = rc;
        return NAN;
    }
    p->warm = true;
    double N = p->n + n0;
    double ct = gsl_sf_lngamma(N + 1.0) - gsl_sf_lngamma(n0 + 1.0) - N * log(N) +
                (n0 > 0.0 ? n0 * log(n0) : 0.0);
    return -0.5 * dev + ct;
}

static double neg_profile(double n0, void *vp)
{
    return -profile_loglik(n0, vp);
}

typedef struct cut_ctx {
    profile_ctx *p;
    double level; /* lmax - chi2/2 */
} cut_ctx;

static double cut_fn(double n0, void *vp)
{
    cut_ctx *c = vp;
    return profile_loglik(n0, c->p) - c->level;
}

static int brent_root(double *out, cut_ctx *c, double lo, double hi, rp_error *err)
{
    gsl_function F = {cut_fn, c};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    int rc = RP_OK;
    if (gsl_root_fsolver_set(s, &F, lo, hi) != GSL_SUCCESS) {
        rc = rp_error_set(err, RP_ENOCONV, "profile interval: cannot bracket the end point");
        goto out;
    }
    int status = GSL_CONTINUE;
    for (int i = 0; i < RP_MSE_PROFILE_MAXIT && status == GSL_CONTINUE; i++) {
        gsl_root_fsolver_iterate(s);
        double a = gsl_root_fsolver_x_lower(s);
        double b = gsl_root_fsolver_x_upper(s);
        status = gsl_root_test_interval(a, b, 0.0, RP_MSE_PROFILE_RTOL);
    }
    if (c->p->status != RP_OK) {
        rc = c->p->status;
        goto out;
    }
    if (status != GSL_SUCCESS) {
        rc = rp_error_set(err, RP_ENOCONV, "profile interval: root finder did not converge");
        goto out;
    }
    *out = gsl_root_fsolver_root(s);
out:
    gsl_root_fsolver_free(s);
    return rc;
}

int rp_mse__profile_interval(double *lower,
                             double *upper,
                             double *n_max,
                             const rp_capture_table *tab,
                             const rp_mse_model *model,
                             double ci_level,
                             const rp_mse_fit_opts *fopts,
                             rp_mse_workspace *ws,
                             rp_error *err)
{
    /* start from the Poisson fit of the observed table */
    rp_mse_fit f;
    int rc = rp_mse_fit_model(&f, tab, model, fopts, ws, err);
    if (rc != RP_OK)
        return rc;
    rc = rp_mse__design_build(ws, tab, model, true, err);
    if (rc != RP_OK)
        return rc;
    if (ws->d.n_params > ws->d.n_cells)
        return rp_error_set(err, RP_EDOM, "profile interval: model has too many parameters");
    profile_ctx p = {ws, fopts, f.observed, RP_OK, err, false};

    /* maximise l over n0 on (0, 3 dark] with Brent's method, starting at the Poisson MLE */
    double d0 = f.dark;
    double a = 0.0;
    double b = 3.0 * d0 + 1.0;
    double m = d0;
    double fm = neg_profile(m, &p);
    double fa = neg_profile(a, &p);
    double fb = neg_profile(b, &p);
    if (p.status != RP_OK)
        return p.status;
    double n0max = 0.0; /* the maximiser and the maximum, set on every branch below */
    double lmax = 0.0;
    if (fm < fa && fm < fb) {
        gsl_function F = {neg_profile, &p};
        gsl_min_fminimizer *mn = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
        if (!mn)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        gsl_min_fminimizer_set_with_values(mn, &F, m, fm, a, fa, b, fb);
        int status = GSL_CONTINUE;
        for (int i = 0; i < RP_MSE_PROFILE_MAXIT && status == GSL_CONTINUE; i++) {
            gsl_min_fminimizer_iterate(mn);
            status =
                gsl_min_test_interval(gsl_min_fminimizer_x_lower(mn),
                                      gsl_min_fminimizer_x_upper(mn), 0.0, RP_MSE_PROFILE_RTOL);
        }
        n0max = gsl_min_fminimizer_x_minimum(mn);
        lmax = -gsl_min_fminimizer_f_minimum(mn);
        gsl_min_fminimizer_free(mn);
        if (p.status != RP_OK)
            return p.status;
    } else if (fa <= fm) {
        n0max = a;
        lmax = -fa;
    } else {
        return rp_error_set(err, RP_ENOCONV, "profile likelihood: no interior maximum");
    }
    cut_ctx c = {&p, lmax - 0.5 * gsl_cdf_chisq_Pinv(ci_level, 1.0)};
    double lo_n0 = 0.0;
    if (cut_fn(0.0, &c) < 0.0) {
        rc = brent_root(&lo_n0, &c, 0.0, n0max, err);
        if (rc != RP_OK)
            return rc;
    }
    double hi = n0max > 0.0 ? n0max : 1.0;
    double fhi = 0.0;
    do {
        hi *= RP_MSE_PROFILE_GROW;
        fhi = cut_fn(hi, &c);
        if (p.status != RP_OK)
            return p.status;
    } while (fhi > 0.0 && hi < RP_MSE_PROFILE_SPAN * (d0 + 1.0));
    double hi_n0 = INFINITY;
    if (fhi <= 0.0) {
        rc = brent_root(&hi_n0, &c, hi / RP_MSE_PROFILE_GROW, hi, err);
        if (rc != RP_OK)
            return rc;
    }
    *lower = f.observed + lo_n0;
    *upper = f.observed + hi_n0;
    *n_max = f.observed + n0max;
    return RP_OK;
}

int rp_mse_chapman(double *n_out, double *se_out, double n1, double n2, double m, rp_error *err)
{
    if (!(n1 >= 0.0 && n2 >= 0.0 && m >= 0.0) || m > n1 || m > n2)
        return rp_error_set(err, RP_EINVAL,
                            "chapman: need 0 <= m <= min(n1, n2), got n1=%g n2=%g m=%g", n1, n2, m);
    double n = (n1 + 1.0) * (n2 + 1.0) / (m + 1.0) - 1.0;
    double var =
        (n1 + 1.0) * (n2 + 1.0) * (n1 - m) * (n2 - m) / ((m + 1.0) * (m + 1.0) * (m + 2.0));
    *n_out = n;
    *se_out = sqrt(var);
    return RP_OK;
}

double rp_mse_chao_lower_bound(const rp_capture_table *tab)
{
    size_t n_all = (size_t)1 << tab->n_lists;
    double f1 = 0.0, f2 = 0.0, n = 0.0;
    for (size_t w = 1; w < n_all; w++) {
        int k = rp_mse__popcount((uint32_t)w);
        n += tab->counts[w];
        if (k == 1)
            f1 += tab->counts[w];
        else if (k == 2)
            f2 += tab->counts[w];
    }
    double t = (double)tab->n_lists;
    if (f2 > 0.0)
        return n + (t - 1.0) * f1 * f1 / (2.0 * t * f2);
    return n + (t - 1.0) * f1 * (f1 - 1.0) / (2.0 * t * (f2 + 1.0));
}

void rp_mse_strata_total(double *estimate,
                         double *lower,
                         double *upper,
                         const rp_mse_result *const *res,
                         size_t n,
                         double ci_level)
{
    /*
     * N = sum N_s; Var(N) = sum estimate_se_s^2 (strata independent): for one model,
     * (dark_s se_s)^2 by the delta method on log dark. The interval is normal on the log of
     * the total dark figure, so that it is asymmetric like the strata's own.
     */
    double tot = 0.0, obs = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++) {
        tot += res[i]->estimate;
        obs += res[i]->fit.observed;
        double sd = res[i]->estimate_se;
        var += sd * sd;
    }
    double dark = tot - obs;
    double z = gsl_cdf_ugaussian_Pinv(0.5 + 0.5 * ci_level);
    double sl = dark > 0.0 ? sqrt(log1p(var / (dark * dark))) : 0.0;
    *estimate = tot;
    *lower = obs + dark * exp(-z * sl);
    *upper = obs + dark * exp(z * sl);
}
