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
    size_t ncols = 0;
    for (uint32_t w = with_zero ? 0u : 1u; w <= all; w++) {
        bool drop = false;
        for (size_t k = 0; k < n_inf && !drop; k++)
            drop = (w & inf_masks[k]) == inf_masks[k];
        if (drop)
            continue;
        d->cells[nc] = w;
        ws->y[nc] = tab->counts[w];
        for (size_t j = 0; j < d->n_params; j++) {
            if ((d->pmask[j] & w) == d->pmask[j])
                ncols++;
        }
        nc++;
    }
    d->n_cells = nc;
    if (ncols > ws->cols_cap) {
        uint16_t *cols = rp_reallocarray(d->cols, ncols, sizeof(uint16_t));
        if (!cols)
            return rp_error_set(err, RP_ENOMEM, "out of memory for the design");
        d->cols = cols;
        ws->cols_cap = ncols;
    }
    size_t pos = 0;
    for (size_t c = 0; c < nc; c++) {
        d->cstart[c] = pos;
        uint32_t w = d->cells[c];
        for (size_t j = 0; j < d->n_params; j++) {
            if ((d->pmask[j] & w) == d->pmask[j])
                d->cols[pos++] = (uint16_t)j;
        }
    }
    d->cstart[nc] = pos;
    return RP_OK;
}

/* ==== IRLS ==== */

/*
 * X'WX (lower triangle, mirrored) into ws->xtwx and X'Wz into ws->rhs, for weights
 * ws->mu and working response ws->z; with @p unit, W = I and z = 0 (the Gram matrix
 * A'A of the rank test), leaving mu and z untouched.
 */
static void normal_equations(rp_mse_workspace *ws, bool unit)
{
    const rp_mse_design *d = &ws->d;
    size_t p = d->n_params;
    memset(ws->xtwx, 0, p * p * sizeof(double));
    memset(ws->rhs, 0, p * sizeof(double));
    for (size_t c = 0; c < d->n_cells; c++) {
        double w = unit ? 1.0 : ws->mu[c];
        double wz = unit ? 0.0 : w * ws->z[c];
        const uint16_t *cols = d->cols + d->cstart[c];
        size_t nk = d->cstart[c + 1] - d->cstart[c];
        for (size_t a = 0; a < nk; a++) {
            size_t ja = cols[a];
            ws->rhs[ja] += wz;
            double *row = ws->xtwx + ja * p;
            for (size_t b = 0; b <= a; b++)
                row[cols[b]] += w;
        }
    }
    /* cols are increasing, so row ja holds entries for columns <= ja: mirror them. */
    for (size_t a = 0; a < p; a++) {
        for (size_t b = a + 1; b < p; b++)
            ws->xtwx[a * p + b] = ws->xtwx[b * p + a];
    }
}

static void linear_predictor(rp_mse_workspace *ws)
{
    const rp_mse_design *d = &ws->d;
    for (size_t c = 0; c < d->n_cells; c++) {
        double e = 0.0;
        for (size_t k = d->cstart[c]; k < d->cstart[c + 1]; k++)
            e += ws->beta[d->cols[k]];
        ws->eta[c] = e;
        ws->mu[c] = exp(e);
    }
}

static double deviance_of(const rp_mse_workspace *ws)
{
    double dev = 0.0;
    for (size_t c = 0; c < ws->d.n_cells; c++) {
        double y = ws->y[c];
        double mu = ws->mu[c];
        dev += (y > 0.0 ? y * log(y / mu) : 0.0) - (y - mu);
    }
    return 2.0 * dev;
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
    const rp_mse_design *d = &ws->d;
    size_t p = d->n_params;
    double total = 0.0;
    double mu_min = INFINITY;
    for (size_t c = 0; c < d->n_cells; c++) {
        total += ws->y[c];
        mu_min = fmin(mu_min, ws->mu[c]);
    }
    if (!(total > 0.0) || mu_min < RP_MSE_CERT_MIN_MU * total / (double)d->n_cells)
        return false;
    memset(ws->rhs, 0, p * sizeof(double));
    for (size_t c = 0; c < d->n_cells; c++) {
        double r = ws->y[c] - ws->mu[c];
        for (size_t k = d->cstart[c]; k < d->cstart[c + 1]; k++)
            ws->rhs[d->cols[k]] += r;
    }
    if (gsl_linalg_cholesky_svx(llt, rhs) != GSL_SUCCESS)
        return false;
    for (size_t c = 0; c < d->n_cells; c++) {
        double av = 0.0;
        for (size_t k = d->cstart[c]; k < d->cstart[c + 1]; k++)
            av += ws->rhs[d->cols[k]];
        if (!(fabs(av) < RP_MSE_CERT_MAX_CORR))
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
        /* R's glm starting values for the Poisson family: mu = y + 0.1. */
        for (size_t c = 0; c < d->n_cells; c++) {
            ws->mu[c] = ws->y[c] + 0.1;
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
        memcpy(ws->beta_old, ws->beta, p * sizeof(double));
        int grc = gsl_linalg_cholesky_decomp1(&A.matrix);
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
        /* Var(beta) = (X'WX)^-1 at the fit; its [0,0] element via one Cholesky solve. */
        for (size_t c = 0; c < d->n_cells; c++)
            ws->z[c] = 0.0;
        normal_equations(ws, false);
        int grc = gsl_linalg_cholesky_decomp1(&A.matrix);
        if (grc != GSL_SUCCESS)
            return rp_error_set(err, RP_EDOM, "IRLS: information matrix is singular");
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
    if (rc != RP_OK)
        return rc;
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
    f.n_cells = ws->n_all - 1;
    f.df = f.n_cells > f.n_params ? f.n_cells - f.n_params : 0;
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
static int design_full_rank(bool *full, rp_mse_workspace *ws, rp_error *err)
{
    size_t p = ws->d.n_params;
    if (p > ws->d.n_cells) {
        *full = false;
        return RP_OK;
    }
    normal_equations(ws, true);
    gsl_matrix_view A = gsl_matrix_view_array(ws->xtwx, p, p);
    gsl_permutation *perm = gsl_permutation_alloc(p);
    if (!perm)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    int grc = gsl_linalg_pcholesky_decomp(&A.matrix, perm);
    double dmax = 0.0;
    for (size_t j = 0; j < p; j++)
        dmax = fmax(dmax, fabs(gsl_matrix_get(&A.matrix, j, j)));
    size_t rank = 0;
    for (size_t j = 0; j < p; j++) {
        if (gsl_matrix_get(&A.matrix, j, j) > RP_MSE_RANK_TOL * dmax)
            rank++;
    }
    gsl_permutation_free(perm);
    *full = grc == GSL_SUCCESS && rank == p;
    return RP_OK;
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
    bool full = false;
    int rc = design_full_rank(&full, ws, err);
    if (rc != RP_OK)
        return rc;
    if (!full) {
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
    rp_mse_workspace *own = NULL;
    int rc = RP_OK;
    if (!ws) {
        rc = rp_mse_workspace_new(&own, tab->n_lists, err);
        if (rc != RP_OK)
            return rc;
        ws = own;
    }
    uint64_t mkey = 0, skey = 0;
    bool hit = false;
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
    rp_mse_workspace_free(own);
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
    rp_mse_exist_entry *slot = cache_slot(ws, tab, model, &mkey, &skey, &hit);
    if (hit && slot->verdict - 1 != RP_MSE_EXISTS) {
        *verdict = (rp_mse_existence)(slot->verdict - 1);
        return RP_OK;
    }
    int rc = rp_mse__design_build(ws, tab, model, false, err);
    if (rc != RP_OK)
        return rc;
    if (!hit) {
        bool full = false;
        rc = design_full_rank(&full, ws, err);
        if (rc != RP_OK)
            return rc;
        if (!full) {
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
    for (size_t c = 0; c < ws->d.n_cells; c++)
        ws->y[c] = tab->counts[ws->d.cells[c]];
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
