/*
 * Poisson log-linear fits of capture tables: the reduced design (terms at minus
 * infinity removed with their cells, as SparseMSE and MultipleSystemsEstimation do),
 * IRLS with a Cholesky solve of X'WX, and the existence / identifiability check by LP.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <string.h>

/* ==== workspace ==== */

int rp_mse_workspace_new(rp_mse_workspace **out, size_t n_lists, rp_error *err)
{
    *out = NULL;
    if (n_lists < 2 || n_lists > RP_MSE_MAX_LISTS)
        return rp_error_set(err, RP_EINVAL, "workspace: %zu lists, expected 2 to %d", n_lists,
                            RP_MSE_MAX_LISTS);
    rp_init();
    rp_mse_workspace *ws = rp_calloc(1, sizeof(*ws));
    if (!ws)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    ws->n_lists = n_lists;
    ws->n_all = (size_t)1 << n_lists;
    ws->d.cells = rp_calloc(ws->n_all, sizeof(uint32_t));
    ws->d.cstart = rp_calloc(ws->n_all + 1, sizeof(size_t));
    ws->y = rp_calloc(ws->n_all, sizeof(double));
    ws->mu = rp_calloc(ws->n_all, sizeof(double));
    ws->eta = rp_calloc(ws->n_all, sizeof(double));
    ws->z = rp_calloc(ws->n_all, sizeof(double));
    ws->ylogy = rp_calloc(ws->n_all, sizeof(double));
    ws->w_last = rp_calloc(ws->n_all, sizeof(double));
    ws->mustart = rp_calloc(ws->n_all, sizeof(double));
    ws->full_a = rp_calloc(ws->n_all, sizeof(double));
    ws->perm = rp_calloc(RP_MSE_MAX_PARAMS, sizeof(size_t));
    ws->full_b = rp_calloc(ws->n_all, sizeof(double));
    ws->beta = rp_calloc(RP_MSE_MAX_PARAMS, sizeof(double));
    ws->beta_old = rp_calloc(RP_MSE_MAX_PARAMS, sizeof(double));
    ws->rhs = rp_calloc(RP_MSE_MAX_PARAMS, sizeof(double));
    ws->xtwx = rp_calloc((size_t)RP_MSE_MAX_PARAMS * RP_MSE_MAX_PARAMS, sizeof(double));
    bool cache_ok = true;
    if (n_lists <= 6) {
        ws->cache = rp_calloc(RP_MSE_EXIST_CACHE, sizeof(rp_mse_exist_entry));
        cache_ok = ws->cache != NULL;
    }
    if (!cache_ok || !ws->d.cells || !ws->d.cstart || !ws->y || !ws->mu || !ws->eta || !ws->z ||
        !ws->beta || !ws->beta_old || !ws->rhs || !ws->xtwx) {
        rp_mse_workspace_free(ws);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    *out = ws;
    return RP_OK;
}

void rp_mse_workspace_free(rp_mse_workspace *ws)
{
    if (!ws)
        return;
    if (ws->lp)
        glp_delete_prob(ws->lp);
    rp_free(ws->lp_ia);
    rp_free(ws->lp_ja);
    rp_free(ws->lp_ar);
    rp_free(ws->cache);
    rp_free(ws->d.cells);
    rp_free(ws->d.cstart);
    rp_free(ws->d.cols);
    rp_free(ws->y);
    rp_free(ws->mu);
    rp_free(ws->eta);
    rp_free(ws->z);
    rp_free(ws->ylogy);
    rp_free(ws->w_last);
    rp_free(ws->mustart);
    rp_free(ws->full_a);
    rp_free(ws->perm);
    rp_free(ws->full_b);
    rp_free(ws->beta);
    rp_free(ws->beta_old);
    rp_free(ws->rhs);
    rp_free(ws->xtwx);
    rp_free(ws);
}

/* ==== reduced design ==== */

double rp_mse__margin(const rp_capture_table *tab, uint32_t term)
{
    size_t n_all = (size_t)1 << tab->n_lists;
    double s = 0.0;
    for (size_t w = term; w < n_all; w = (w + 1) | term)
        s += tab->counts[w];
    return s;
}

int rp_mse__design_build(rp_mse_workspace *ws,
                         const rp_capture_table *tab,
                         const rp_mse_model *model,
                         bool with_zero,
                         rp_error *err)
{
    rp_mse_design *d = &ws->d;
    if (tab->n_lists != ws->n_lists)
        return rp_error_set(err, RP_EINVAL, "workspace is for %zu lists, table has %zu",
                            ws->n_lists, tab->n_lists);
    uint32_t all = (uint32_t)(ws->n_all - 1);
    d->n_params = 0;
    d->n_infinite = 0;
    d->pmask[d->n_params++] = 0;
    for (size_t i = 0; i < tab->n_lists; i++)
        d->pmask[d->n_params++] = 1u << i;
    /*
     * A term whose margin is zero (no person is on all its lists) has its MLE at minus
     * infinity: every cell containing it has fitted value 0. Those cells leave the fit and
     * the parameter leaves the design, but it still counts in AIC and BIC (SparseMSE adds
     * 2 to the AIC per such pair; MultipleSystemsEstimation counts it in npars).
     */
    uint32_t inf_masks[RP_MSE_MAX_TERMS];
    size_t n_inf = 0;
    for (size_t t = 0; t < model->n_terms; t++) {
        uint32_t term = model->terms[t];
        if (term == 0 || (term & ~all) != 0 || rp_mse__popcount(term) < 2)
            return rp_error_set(err, RP_EINVAL, "model term %#x does not fit %zu lists",
                                (unsigned)term, tab->n_lists);
        if (rp_mse__margin(tab, term) <= 0.0) {
            inf_masks[n_inf++] = term;
        } else {
            d->pmask[d->n_params++] = term;
        }
    }
    d->n_infinite = n_inf;
    memcpy(d->infinite, inf_masks, n_inf * sizeof(uint32_t));
    d->n_params_all = 1 + tab->n_lists + model->n_terms;

    /* Cells: observable ones (and the unobserved one on request) free of infinite terms. */
    size_t nc = 0;
    for (uint32_t w = with_zero ? 0u : 1u; w <= all; w++) {
        bool drop = false;
        for (size_t k = 0; k < n_inf && !drop; k++)
            drop = (w & inf_masks[k]) == inf_masks[k];
        if (drop)
            continue;
        d->cells[nc] = w;
        rp_mse__set_count(ws, nc, tab->counts[w]);
        nc++;
    }
    d->n_cells = nc;
    d->have_cols = false;
    return RP_OK;
}

/*
 * The sparse rows of the design (only the LP needs them): for cell c, the parameters j
 * with pmask[j] a subset of the cell's pattern, in cols[cstart[c] .. cstart[c+1]).
 */
static int design_cols(rp_mse_workspace *ws, rp_error *err)
{
    rp_mse_design *d = &ws->d;
    if (d->have_cols)
        return RP_OK;
    size_t ncols = 0;
    for (size_t c = 0; c < d->n_cells; c++) {
        for (size_t j = 0; j < d->n_params; j++)
            ncols += (d->pmask[j] & d->cells[c]) == d->pmask[j];
    }
    if (ncols > ws->cols_cap) {
        uint16_t *cols = rp_reallocarray(d->cols, ncols, sizeof(uint16_t));
        if (!cols)
            return rp_error_set(err, RP_ENOMEM, "out of memory for the design");
        d->cols = cols;
        ws->cols_cap = ncols;
    }
    size_t pos = 0;
    for (size_t c = 0; c < d->n_cells; c++) {
        d->cstart[c] = pos;
        uint32_t w = d->cells[c];
        for (size_t j = 0; j < d->n_params; j++) {
            if ((d->pmask[j] & w) == d->pmask[j])
                d->cols[pos++] = (uint16_t)j;
        }
    }
    d->cstart[d->n_cells] = pos;
    d->have_cols = true;
    return RP_OK;
}

/* ==== fast design products ==== */

/*
 * The design has X[c][j] = 1 iff pmask[j] is a subset of pattern cells[c]. Products with
 * X are therefore subset and superset sums over the 2^K patterns (the zeta transforms of
 * the Boolean lattice), O(K 2^K) each instead of O(cells x params):
 *   (X'v)_j    = sum over patterns w containing pmask[j] of v[w]      (superset sum)
 *   (X b)_c    = sum over parameters j with pmask[j] in cells[c] of b_j (subset sum)
 *   (X'WX)_jk  = sum over w containing pmask[j] | pmask[k] of W[w]
 * Cells outside the design (removed, or the unobserved cell) carry 0.
 */
static void superset_sum(double *a, size_t n_all)
{
    for (size_t bit = 1; bit < n_all; bit <<= 1) {
        for (size_t base = 0; base < n_all; base += 2 * bit) {
            double *lo = a + base;
            const double *hi = a + base + bit;
            for (size_t k = 0; k < bit; k++)
                lo[k] += hi[k];
        }
    }
}

static void subset_sum(double *a, size_t n_all)
{
    for (size_t bit = 1; bit < n_all; bit <<= 1) {
        for (size_t base = 0; base < n_all; base += 2 * bit) {
            const double *lo = a + base;
            double *hi = a + base + bit;
            for (size_t k = 0; k < bit; k++)
                hi[k] += lo[k];
        }
    }
}

/* ws->rhs[j] = (X'v)_j for a per-cell vector v. Uses ws->full_a. */
static void xt_times(rp_mse_workspace *ws, const double *v)
{
    const rp_mse_design *d = &ws->d;
    memset(ws->full_a, 0, ws->n_all * sizeof(double));
    for (size_t c = 0; c < d->n_cells; c++)
        ws->full_a[d->cells[c]] = v[c];
    superset_sum(ws->full_a, ws->n_all);
    for (size_t j = 0; j < d->n_params; j++)
        ws->rhs[j] = ws->full_a[d->pmask[j]];
}

/* out[c] = (X b)_c for a parameter vector b. Uses ws->full_a. */
static void x_times(rp_mse_workspace *ws, const double *b, double *out)
{
    const rp_mse_design *d = &ws->d;
    memset(ws->full_a, 0, ws->n_all * sizeof(double));
    for (size_t j = 0; j < d->n_params; j++)
        ws->full_a[d->pmask[j]] = b[j];
    subset_sum(ws->full_a, ws->n_all);
    for (size_t c = 0; c < d->n_cells; c++)
        out[c] = ws->full_a[d->cells[c]];
}

/* ==== IRLS ==== */

/*
 * X'WX into ws->xtwx and X'Wz into ws->rhs, for weights ws->mu and working response
 * ws->z; with @p unit, W = I and z = 0 (the Gram matrix A'A of the rank test), leaving
 * mu and z untouched.
 */
static void normal_equations(rp_mse_workspace *ws, bool unit)
{
    const rp_mse_design *d = &ws->d;
    size_t p = d->n_params;
    double *a = ws->full_a;
    double *b = ws->full_b;
    memset(a, 0, ws->n_all * sizeof(double));
    memset(b, 0, ws->n_all * sizeof(double));
    for (size_t c = 0; c < d->n_cells; c++) {
        double w = unit ? 1.0 : ws->mu[c];
        a[d->cells[c]] = w;
        b[d->cells[c]] = unit ? 0.0 : w * ws->z[c];
    }
    superset_sum(a, ws->n_all);
    superset_sum(b, ws->n_all);
    for (size_t j = 0; j < p; j++) {
        ws->rhs[j] = b[d->pmask[j]];
        for (size_t k = 0; k <= j; k++) {
            double v = a[d->pmask[j] | d->pmask[k]];
            ws->xtwx[j * p + k] = v;
            ws->xtwx[k * p + j] = v;
        }
    }
}

static void linear_predictor(rp_mse_workspace *ws)
{
    x_times(ws, ws->beta, ws->eta);
    for (size_t c = 0; c < ws->d.n_cells; c++)
        ws->mu[c] = exp(ws->eta[c]);
}

/* 2 sum y log(y/mu) - (y - mu), with log mu = eta and y log y precomputed per cell. */
static double deviance_of(const rp_mse_workspace *ws)
{
    double dev = 0.0;
    for (size_t c = 0; c < ws->d.n_cells; c++) {
        double y = ws->y[c];
        dev += ws->ylogy[c] - y * ws->eta[c] - y + ws->mu[c];
    }
    return 2.0 * dev;
}

void rp_mse__set_count(rp_mse_workspace *ws, size_t c, double y)
{
    ws->y[c] = y;
    ws->ylogy[c] = y > 0.0 ? y * log(y) : 0.0;
}

/*
 * A certificate that the MLE exists, from a converged fit. With r = A'(y - mu) the
 * residual of the score equations and v = (A'WA)^-1 r (W = diag mu, the Cholesky factor
 * at hand), the table x = mu (1 + A v) satisfies A'x = A'y exactly, since
 * A'W A v = r. If every 1 + (A v)_c > 0 and mu is nowhere near 0, x is a strictly positive
 * table with the observed sufficient statistics, which is the definition of existence
 * the LP tests (s* > 0). When the MLE does not exist, IRLS drives some fitted cells to 0
 * and the certificate fails, and the caller solves the LP.
 */
static bool certify(rp_mse_workspace *ws, const gsl_matrix *llt, gsl_vector *rhs)
{
    /*
     * The factor at hand is of A'W A with W = ws->w_last, the weights of the last IRLS
     * step (as R's glm uses the last step's QR); then x = mu + W A v has A'x = A'y, and
     * x > 0 iff 1 + (w_last / mu) (A v) > 0 in every cell.
     */
    const rp_mse_design *d = &ws->d;
    double total = 0.0;
    double mu_min = INFINITY;
    for (size_t c = 0; c < d->n_cells; c++) {
        total += ws->y[c];
        mu_min = fmin(mu_min, ws->mu[c]);
    }
    if (!(total > 0.0) || mu_min < RP_MSE_CERT_MIN_MU * total / (double)d->n_cells)
        return false;
    for (size_t c = 0; c < d->n_cells; c++)
        ws->z[c] = ws->y[c] - ws->mu[c];
    xt_times(ws, ws->z);
    if (gsl_linalg_cholesky_svx(llt, rhs) != GSL_SUCCESS)
        return false;
    x_times(ws, ws->rhs, ws->z);
    for (size_t c = 0; c < d->n_cells; c++) {
        if (!(fabs(ws->w_last[c] / ws->mu[c] * ws->z[c]) < RP_MSE_CERT_MAX_CORR))
            return false;
    }
    return true;
}

int rp_mse__irls(rp_mse_workspace *ws,
                 const rp_mse_fit_opts *opts,
                 bool warm,
                 double *deviance,
                 double *se0,
                 int *iterations,
                 rp_error *err)
{
    rp_mse_design *d = &ws->d;
    size_t p = d->n_params;
    if (p > d->n_cells)
        return rp_error_set(err, RP_EDOM, "model has %zu parameters for %zu cells", p, d->n_cells);
    gsl_matrix_view A = gsl_matrix_view_array(ws->xtwx, p, p);
    gsl_vector_view b = gsl_vector_view_array(ws->rhs, p);
    gsl_vector_view x = gsl_vector_view_array(ws->beta, p);
    double dev_old = 0.0;
    if (warm) {
        linear_predictor(ws);
        dev_old = deviance_of(ws);
    } else {
        /*
         * R's glm starting values for the Poisson family, mu = y + 0.1; in searches, the
         * previous model's fitted values where there are any (ws->use_mustart), since
         * neighbouring models in the catalogue fit alike and converge in fewer steps.
         */
        bool prev = ws->use_mustart && ws->have_mustart;
        for (size_t c = 0; c < d->n_cells; c++) {
            double m0 = prev ? ws->mustart[d->cells[c]] : 0.0;
            ws->mu[c] = m0 > 0.0 ? m0 : ws->y[c] + 0.1;
            ws->eta[c] = log(ws->mu[c]);
        }
        dev_old = deviance_of(ws);
    }
    int iter = 0;
    bool converged = false;
    ws->certified = false;
    while (iter < opts->max_iter) {
        iter++;
        for (size_t c = 0; c < d->n_cells; c++)
            ws->z[c] = ws->eta[c] + (ws->y[c] - ws->mu[c]) / ws->mu[c];
        normal_equations(ws, false);
        memcpy(ws->w_last, ws->mu, d->n_cells * sizeof(double));
        memcpy(ws->beta_old, ws->beta, p * sizeof(double));
        /*
         * GSL's non-recursive Cholesky: for the p <= 30 systems of these models it is
         * markedly faster than the recursive gsl_linalg_cholesky_decomp1 (bench/).
         */
        int grc = gsl_linalg_cholesky_decomp(&A.matrix);
        if (grc == GSL_SUCCESS)
            grc = gsl_linalg_cholesky_solve(&A.matrix, &b.vector, &x.vector);
        if (grc != GSL_SUCCESS)
            return rp_error_set(err, RP_EDOM, "IRLS: X'WX is singular (model not identifiable)");
        linear_predictor(ws);
        double dev = deviance_of(ws);
        /* Step halving when the deviance is not finite, as R's glm.fit does. */
        int halvings = 0;
        while (!isfinite(dev) && halvings < opts->max_iter) {
            for (size_t j = 0; j < p; j++)
                ws->beta[j] = 0.5 * (ws->beta[j] + ws->beta_old[j]);
            linear_predictor(ws);
            dev = deviance_of(ws);
            halvings++;
        }
        if (!isfinite(dev))
            return rp_error_set(err, RP_ENOCONV, "IRLS: deviance is not finite");
        if (fabs(dev - dev_old) / (fabs(dev) + 0.1) < opts->tol) {
            converged = true;
            dev_old = dev;
            break;
        }
        dev_old = dev;
    }
    if (!converged)
        return rp_error_set(err, RP_ENOCONV, "IRLS did not converge in %d iterations",
                            opts->max_iter);
    if (se0) {
        /*
         * Var(beta) = (X'WX)^-1 with the weights of the last step, whose Cholesky factor
         * is still in ws->xtwx (R's summary.glm does the same with glm's last QR); its
         * [0,0] element by one solve.
         */
        memset(ws->rhs, 0, p * sizeof(double));
        ws->rhs[0] = 1.0;
        gsl_linalg_cholesky_svx(&A.matrix, &b.vector);
        *se0 = sqrt(ws->rhs[0]);
        ws->certified = certify(ws, &A.matrix, &b.vector);
    }
    *deviance = dev_old;
    *iterations = iter;
    return RP_OK;
}

int rp_mse__fit_design(rp_mse_fit *out,
                       const rp_capture_table *tab,
                       const rp_mse_fit_opts *opts,
                       rp_mse_workspace *ws,
                       rp_error *err)
{
    double dev = 0.0;
    double se0 = 0.0;
    int iters = 0;
    int rc = rp_mse__irls(ws, opts, false, &dev, &se0, &iters, err);
    if (rc != RP_OK && rc != RP_ENOMEM && ws->use_mustart && ws->have_mustart) {
        /* the borrowed start failed: start again as R does */
        ws->have_mustart = false;
        rc = rp_mse__irls(ws, opts, false, &dev, &se0, &iters, err);
    }
    if (rc != RP_OK)
        return rc;
    if (ws->use_mustart) {
        for (size_t c = 0; c < ws->d.n_cells; c++)
            ws->mustart[ws->d.cells[c]] = ws->mu[c];
        ws->have_mustart = true;
    }
    rp_mse_fit f;
    memset(&f, 0, sizeof(f));
    double ll = 0.0;
    for (size_t c = 0; c < ws->d.n_cells; c++) {
        double y = ws->y[c];
        ll += (y > 0.0 ? y * log(ws->mu[c]) : 0.0) - ws->mu[c] - gsl_sf_lngamma(y + 1.0);
    }
    f.observed = rp_capture_table_observed(tab);
    f.dark = exp(ws->beta[0]);
    f.estimate = f.observed + f.dark;
    f.log_dark_se = se0;
    f.deviance = dev;
    f.loglik = ll;
    f.n_params = ws->d.n_params_all;
    /* as glm's df.residual: cells kept in the fit minus the parameters estimated there */
    f.n_cells = ws->d.n_cells;
    f.df = ws->d.n_cells > ws->d.n_params ? ws->d.n_cells - ws->d.n_params : 0;
    f.aic = -2.0 * ll + 2.0 * (double)f.n_params;
    f.bic = -2.0 * ll + log(f.observed) * (double)f.n_params;
    f.n_infinite = ws->d.n_infinite;
    size_t ni = f.n_infinite < RP_MSE_MAX_INFINITE ? f.n_infinite : RP_MSE_MAX_INFINITE;
    memcpy(f.infinite, ws->d.infinite, ni * sizeof(uint32_t));
    f.iterations = iters;
    *out = f;
    return RP_OK;
}

int rp_mse_fit_model(rp_mse_fit *out,
                     const rp_capture_table *tab,
                     const rp_mse_model *model,
                     const rp_mse_fit_opts *opts,
                     rp_mse_workspace *ws,
                     rp_error *err)
{
    static const rp_mse_fit_opts defaults = RP_MSE_FIT_OPTS_INIT;
    rp_mse_workspace *own = NULL;
    int rc = RP_OK;
    if (!opts)
        opts = &defaults;
    if (!ws) {
        rc = rp_mse_workspace_new(&own, tab->n_lists, err);
        if (rc != RP_OK)
            return rc;
        ws = own;
    }
    rc = rp_mse__design_build(ws, tab, model, false, err);
    if (rc == RP_OK)
        rc = rp_mse__fit_design(out, tab, opts, ws, err);
    rp_mse_workspace_free(own);
    return rc;
}

/* ==== existence and identifiability ==== */

const char *rp_mse_existence_str(rp_mse_existence e)
{
    switch (e) {
    case RP_MSE_EXISTS:
        return "exists";
    case RP_MSE_NO_MLE:
        return "maximum likelihood estimate does not exist (LP optimum s* = 0)";
    case RP_MSE_NOT_IDENTIFIABLE:
        return "not identifiable (design of the reduced table is rank deficient)";
    }
    return "unknown";
}

/*
 * Rank of the reduced design A (cells x parameters) from the pivoted LDL' factor of its
 * Gram matrix A'A (GSL's pivoted Cholesky): the number of pivots above RP_MSE_RANK_TOL
 * times the largest. A'A is accumulated from the sparse rows as X'WX is, with W = I.
 */
static bool design_full_rank(rp_mse_workspace *ws)
{
    size_t p = ws->d.n_params;
    if (p > ws->d.n_cells)
        return false;
    normal_equations(ws, true);
    gsl_matrix_view A = gsl_matrix_view_array(ws->xtwx, p, p);
    gsl_permutation perm_view = {p, ws->perm};
    gsl_permutation *perm = &perm_view;
    int grc = gsl_linalg_pcholesky_decomp(&A.matrix, perm);
    double dmax = 0.0;
    for (size_t j = 0; j < p; j++)
        dmax = fmax(dmax, fabs(gsl_matrix_get(&A.matrix, j, j)));
    size_t rank = 0;
    for (size_t j = 0; j < p; j++) {
        if (gsl_matrix_get(&A.matrix, j, j) > RP_MSE_RANK_TOL * dmax)
            rank++;
    }
    return grc == GSL_SUCCESS && rank == p;
}

static int lp_reserve(rp_mse_workspace *ws, size_t nz, rp_error *err)
{
    if (nz + 1 <= ws->lp_cap)
        return RP_OK;
    size_t cap = nz + 1;
    int *ia = rp_reallocarray(ws->lp_ia, cap, sizeof(int));
    if (ia)
        ws->lp_ia = ia;
    int *ja = rp_reallocarray(ws->lp_ja, cap, sizeof(int));
    if (ja)
        ws->lp_ja = ja;
    double *ar = rp_reallocarray(ws->lp_ar, cap, sizeof(double));
    if (ar)
        ws->lp_ar = ar;
    if (!ia || !ja || !ar)
        return rp_error_set(err, RP_ENOMEM, "out of memory for the existence LP");
    ws->lp_cap = cap;
    return RP_OK;
}

/*
 * The LP of Fienberg & Rinaldo (2012), in the form of Chan, Silverman & Vincent (2021)
 * and MultipleSystemsEstimation's check_extended_MLE:
 *
 *     maximise s  subject to  A'x = t (one row per parameter),  x_c - s >= 0 (per cell),
 *
 * with x and s free. x = y is feasible with s = min y >= 0, so s* >= 0, and the extended
 * MLE exists iff s* > 0: some strictly positive table has the same sufficient statistics.
 * We solve the equivalent smaller LP in u = x - s 1 >= 0 (column bounds, no cell rows):
 *
 *     maximise s  subject to  A'u + (A'1) s = t,  u >= 0,
 *
 * which has one row per parameter instead of one per parameter and per cell.
 * Counts are scaled to a mean of 1 per cell, so that s* and GLPK's tolerances are on the
 * scale of a typical cell whatever the number of people.
 */
int rp_mse__existence_of_design(rp_mse_existence *out, rp_mse_workspace *ws, rp_error *err)
{
    const rp_mse_design *d = &ws->d;
    int rc = RP_OK;
    if (!design_full_rank(ws)) {
        *out = RP_MSE_NOT_IDENTIFIABLE;
        return RP_OK;
    }
    /* Shortcut: a table with every cell positive has an MLE (Haberman 1974, thm 2.3). */
    bool all_positive = true;
    double total = 0.0;
    for (size_t c = 0; c < d->n_cells; c++) {
        all_positive = all_positive && ws->y[c] > 0.0;
        total += ws->y[c];
    }
    if (all_positive) {
        *out = RP_MSE_EXISTS;
        return RP_OK;
    }
    if (total <= 0.0) {
        *out = RP_MSE_NO_MLE;
        return RP_OK;
    }
    size_t nc = d->n_cells;
    size_t p = d->n_params;
    double scale = (double)nc / total;
    rc = design_cols(ws, err);
    if (rc != RP_OK)
        return rc;
    size_t nz = d->cstart[nc] + p;
    rc = lp_reserve(ws, nz, err);
    if (rc != RP_OK)
        return rc;
    if (!ws->lp) {
        ws->lp = glp_create_prob();
        if (!ws->lp)
            return rp_error_set(err, RP_ENOMEM, "out of memory for the existence LP");
    } else {
        glp_erase_prob(ws->lp);
    }
    glp_prob *lp = ws->lp;
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_rows(lp, (int)p);
    glp_add_cols(lp, (int)(nc + 1));
    /* t = A'y (scaled) and A'1, per parameter */
    double *ones = ws->beta_old;
    for (size_t j = 0; j < p; j++) {
        ws->rhs[j] = 0.0;
        ones[j] = 0.0;
    }
    for (size_t c = 0; c < nc; c++) {
        for (size_t k = d->cstart[c]; k < d->cstart[c + 1]; k++) {
            ws->rhs[d->cols[k]] += ws->y[c] * scale;
            ones[d->cols[k]] += 1.0;
        }
    }
    for (size_t j = 0; j < p; j++)
        glp_set_row_bnds(lp, (int)j + 1, GLP_FX, ws->rhs[j], ws->rhs[j]);
    for (size_t c = 0; c < nc; c++)
        glp_set_col_bnds(lp, (int)c + 1, GLP_LO, 0.0, 0.0);
    glp_set_col_bnds(lp, (int)nc + 1, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(lp, (int)nc + 1, 1.0);
    size_t k = 1;
    for (size_t c = 0; c < nc; c++) {
        for (size_t q = d->cstart[c]; q < d->cstart[c + 1]; q++) {
            ws->lp_ia[k] = (int)d->cols[q] + 1;
            ws->lp_ja[k] = (int)c + 1;
            ws->lp_ar[k] = 1.0;
            k++;
        }
    }
    for (size_t j = 0; j < p; j++) {
        ws->lp_ia[k] = (int)j + 1;
        ws->lp_ja[k] = (int)nc + 1;
        ws->lp_ar[k] = ones[j];
        k++;
    }
    glp_load_matrix(lp, (int)(k - 1), ws->lp_ia, ws->lp_ja, ws->lp_ar);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_OFF;
    int grc = glp_simplex(lp, &parm);
    if (grc != 0)
        return rp_error_set(err, RP_EINTERNAL, "existence LP: GLPK simplex failed (code %d)", grc);
    int st = glp_get_status(lp);
    if (st != GLP_OPT)
        return rp_error_set(err, RP_EINTERNAL, "existence LP: no optimum (GLPK status %d)", st);
    double sstar = glp_get_obj_val(lp);
    *out = sstar > RP_MSE_LP_TOL ? RP_MSE_EXISTS : RP_MSE_NO_MLE;
    return RP_OK;
}

/* The cache slot for (model, support of tab): *hit set when it holds a verdict. */
static rp_mse_exist_entry *cache_slot(rp_mse_workspace *ws,
                                      const rp_capture_table *tab,
                                      const rp_mse_model *model,
                                      uint64_t *mkey,
                                      uint64_t *skey,
                                      bool *hit)
{
    *hit = false;
    if (!ws->cache)
        return NULL;
    *mkey = 0;
    *skey = 0;
    for (size_t t = 0; t < model->n_terms; t++)
        *mkey |= (uint64_t)1 << (model->terms[t] & 63u);
    for (size_t w = 1; w < ws->n_all; w++) {
        if (tab->counts[w] > 0.0)
            *skey |= (uint64_t)1 << w;
    }
    /* splitmix64 finaliser of the two keys */
    uint64_t h = *mkey * 0x9e3779b97f4a7c15ULL ^ (*skey + 0x632be59bd9b4e019ULL);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    rp_mse_exist_entry *slot = NULL;
    for (size_t probe = 0; probe < 8; probe++) {
        rp_mse_exist_entry *e = &ws->cache[(h + probe) & (RP_MSE_EXIST_CACHE - 1)];
        if (e->verdict != 0 && e->model == *mkey && e->support == *skey) {
            *hit = true;
            return e;
        }
        if (!slot && e->verdict == 0)
            slot = e;
    }
    /* all eight probes taken: overwrite the first */
    return slot ? slot : &ws->cache[h & (RP_MSE_EXIST_CACHE - 1)];
}

static void cache_store(rp_mse_exist_entry *slot, uint64_t mkey, uint64_t skey, rp_mse_existence v)
{
    if (!slot)
        return;
    slot->model = mkey;
    slot->support = skey;
    slot->verdict = (int)v + 1;
}

int rp_mse_check_existence(rp_mse_existence *out,
                           const rp_capture_table *tab,
                           const rp_mse_model *model,
                           rp_mse_workspace *ws,
                           rp_error *err)
{
    int rc = RP_OK;
    if (!ws) {
        /* No workspace given: run on a temporary one (the cache starts empty). */
        rp_mse_workspace *own = NULL;
        rc = rp_mse_workspace_new(&own, tab->n_lists, err);
        if (rc == RP_OK)
            rc = rp_mse_check_existence(out, tab, model, own, err);
        rp_mse_workspace_free(own);
        return rc;
    }
    uint64_t mkey = 0, skey = 0;
    bool hit = false;
    if (tab->n_lists != ws->n_lists) {
        rc = rp_error_set(err, RP_EINVAL, "workspace is for %zu lists, table has %zu", ws->n_lists,
                          tab->n_lists);
        goto out;
    }
    rp_mse_exist_entry *slot = cache_slot(ws, tab, model, &mkey, &skey, &hit);
    if (hit) {
        *out = (rp_mse_existence)(slot->verdict - 1);
        goto out;
    }
    rc = rp_mse__design_build(ws, tab, model, false, err);
    if (rc == RP_OK)
        rc = rp_mse__existence_of_design(out, ws, err);
    if (rc == RP_OK)
        cache_store(slot, mkey, skey, *out);
out:
    return rc;
}

int rp_mse__check_fit(rp_mse_existence *verdict,
                      rp_mse_fit *fit,
                      const rp_capture_table *tab,
                      const rp_mse_model *model,
                      const rp_mse_fit_opts *opts,
                      rp_mse_workspace *ws,
                      rp_error *err)
{
    uint64_t mkey = 0, skey = 0;
    bool hit = false;
    if (tab->n_lists != ws->n_lists)
        return rp_error_set(err, RP_EINVAL, "workspace is for %zu lists, table has %zu",
                            ws->n_lists, tab->n_lists);
    rp_mse_exist_entry *slot = cache_slot(ws, tab, model, &mkey, &skey, &hit);
    if (hit && slot->verdict - 1 != RP_MSE_EXISTS) {
        *verdict = (rp_mse_existence)(slot->verdict - 1);
        return RP_OK;
    }
    int rc = rp_mse__design_build(ws, tab, model, false, err);
    if (rc != RP_OK)
        return rc;
    if (!hit) {
        if (!design_full_rank(ws)) {
            *verdict = RP_MSE_NOT_IDENTIFIABLE;
            cache_store(slot, mkey, skey, *verdict);
            return RP_OK;
        }
    }
    rp_error ferr = RP_ERROR_INIT;
    int frc = rp_mse__fit_design(fit, tab, opts, ws, &ferr);
    if (frc == RP_ENOMEM) {
        if (err)
            *err = ferr;
        return frc;
    }
    if (hit || (frc == RP_OK && ws->certified)) {
        *verdict = RP_MSE_EXISTS;
        cache_store(slot, mkey, skey, *verdict);
        if (frc != RP_OK && err)
            *err = ferr;
        return frc;
    }
    /* no certificate from the fit: the LP decides (the design is still in ws) */
    rc = rp_mse__existence_of_design(verdict, ws, err);
    if (rc != RP_OK)
        return rc;
    cache_store(slot, mkey, skey, *verdict);
    if (*verdict == RP_MSE_EXISTS && frc != RP_OK) {
        if (err)
            *err = ferr;
        return frc;
    }
    return RP_OK;
}
