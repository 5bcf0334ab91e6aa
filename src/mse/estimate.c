/*
 * Model selection and estimation: SparseMSE's forward stepwise rule, BIC/AIC searches
 * over the catalogue of hierarchical models (MultipleSystemsEstimation), model averaging,
 * fixed models, and the assembly of an rp_mse_result with its intervals and notes.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ==== selection on one table ==== */

/* The outcome of one selection: what a bootstrap replicate needs, and a bit more. */
typedef struct pick {
    rp_mse_model model;
    rp_mse_fit fit;
    double estimate; /* N: fit.estimate, or the model average */
    double var;      /* for averages: Buckland's unconditional variance of N */
} pick;

/* Bounded list of the best candidates, kept sorted by criterion (lowest first). */
typedef struct topk {
    rp_mse_candidate *v;
    size_t *idx; /* catalogue index of each */
    size_t n, cap;
} topk;

static void topk_insert(topk *t, const rp_mse_candidate *c, size_t idx)
{
    if (t->cap == 0)
        return;
    size_t pos = t->n;
    while (pos > 0 && t->v[pos - 1].criterion > c->criterion)
        pos--;
    if (pos >= t->cap)
        return;
    size_t last = t->n < t->cap ? t->n : t->cap - 1;
    for (size_t i = last; i > pos; i--) {
        t->v[i] = t->v[i - 1];
        t->idx[i] = t->idx[i - 1];
    }
    t->v[pos] = *c;
    t->idx[pos] = idx;
    if (t->n < t->cap)
        t->n++;
}

/* What a full (non-bootstrap) selection records into the result. */
typedef struct record {
    size_t n_tried; /* models checked by stepwise, greedy or fixed selection */
    rp_mse_result *res;
    size_t max_excluded;
    topk top;
} record;

static int record_excluded(record *rec, const rp_mse_model *m, rp_mse_existence e)
{
    if (!rec)
        return RP_OK;
    rec->res->n_excluded_total++;
    if (rec->res->n_excluded >= rec->max_excluded)
        return RP_OK;
    rp_mse_candidate *c = &rec->res->excluded[rec->res->n_excluded++];
    memset(c, 0, sizeof(*c));
    c->model = *m;
    c->existence = e;
    return RP_OK;
}

/* Offer a fitted model to the ranking kept in @p rec (no-op without a record). */
static void record_candidate(
    record *rec, const rp_mse_model *m, const rp_mse_fit *f, double criterion, size_t idx)
{
    if (!rec)
        return;
    rp_mse_candidate c;
    memset(&c, 0, sizeof(c));
    c.model = *m;
    c.fit = *f;
    c.criterion = criterion;
    topk_insert(&rec->top, &c, idx);
}

/* Whether @p m already holds the interaction @p term. */
static bool has_term(const rp_mse_model *m, uint32_t term)
{
    bool present = false;
    for (size_t t = 0; t < m->n_terms && !present; t++)
        present = m->terms[t] == term;
    return present;
}

typedef struct selector {
    const rp_mse_opts *opts;
    rp_mse_workspace *ws;
    rp_mse_model_list cat; /* catalogue for searches (empty for stepwise/fixed) */
    size_t *subset;        /* catalogue indices searched in replicates (ntop best) */
    size_t n_subset;
    double *sub_mustart; /* n_subset x 2^K: each subset model's fit on the original data,
                            the IRLS start in replicates (shared read-only by clones) */
    double *scratch;     /* 2^K fitted values for stepwise */
} selector;

static double criterion_of(const rp_mse_fit *f, rp_mse_criterion c)
{
    return c == RP_MSE_CRITERION_AIC ? f->aic : f->bic;
}

static rp_mse_criterion criterion_for(const rp_mse_opts *o)
{
    if (o->method == RP_MSE_METHOD_AIC)
        return RP_MSE_CRITERION_AIC;
    if (o->method == RP_MSE_METHOD_BIC)
        return RP_MSE_CRITERION_BIC;
    return o->criterion;
}

/* Fit a model whose existence was checked; fill the fit. */
static int fit_checked(
    rp_mse_fit *f, selector *s, const rp_capture_table *tab, const rp_mse_model *m, rp_error *err)
{
    return rp_mse_fit_model(f, tab, m, &s->opts->fit, s->ws, err);
}

static int existence(rp_mse_existence *e,
                     selector *s,
                     const rp_capture_table *tab,
                     const rp_mse_model *m,
                     rp_error *err)
{
    return rp_mse_check_existence(e, tab, m, s->ws, err);
}

/* Variance of N from the model-conditional normal approximation on log(dark). */
static double var_of_fit(const rp_mse_fit *f)
{
    double s = f->dark * f->log_dark_se;
    return s * s;
}

/* Pick the single model @p m fitted as @p f: its N, with the model-conditional variance. */
static void pick_model(pick *out, const rp_mse_model *m, const rp_mse_fit *f)
{
    out->model = *m;
    out->fit = *f;
    out->estimate = f->estimate;
    out->var = var_of_fit(f);
}

/*
 * The main-effects model every forward search starts from. SparseMSE fits it without a
 * check; we check it, because with no overlap between lists its MLE does not exist and
 * IRLS "converges" to a dark figure of 10^13 (a model that fails is refused, never
 * reported).
 */
static int start_main_effects(
    rp_mse_fit *f, selector *s, const rp_capture_table *tab, record *rec, rp_error *err)
{
    rp_mse_model m;
    memset(&m, 0, sizeof(m));
    rp_mse_existence e = RP_MSE_EXISTS;
    if (rec)
        rec->n_tried++;
    int rc = rp_mse__check_fit(&e, f, tab, &m, &s->opts->fit, s->ws, err);
    if (rc != RP_OK)
        return rc;
    if (e != RP_MSE_EXISTS) {
        record_excluded(rec, &m, e);
        return rp_error_set(err, RP_EDOM, "the main-effects model is refused: %s",
                            rp_mse_existence_str(e));
    }
    return RP_OK;
}

/* Number of two-list effects among RP_MSE_MAX_LISTS lists: stepwise candidates at most. */
#define RP_MSE_MAX_PAIRS (RP_MSE_MAX_LISTS * (RP_MSE_MAX_LISTS - 1) / 2)

/*
 * Put the current stepwise model in front of the ranking: the stepwise path, latest
 * first, is what `ranked` shows for this method.
 */
static void record_path(record *rec, const rp_mse_model *m, const rp_mse_fit *f)
{
    if (!rec)
        return;
    rp_mse_candidate c;
    memset(&c, 0, sizeof(c));
    c.model = *m;
    c.fit = *f;
    c.criterion = (double)m->n_terms;
    size_t last = rec->top.n < rec->top.cap ? rec->top.n : rec->top.cap - 1;
    for (size_t i = last; i > 0; i--)
        rec->top.v[i] = rec->top.v[i - 1];
    rec->top.v[0] = c;
    if (rec->top.n < rec->top.cap)
        rec->top.n++;
}

/*
 * The two-list effects not in @p m, in pair order, each with the one-sided Poisson p-value
 * of its observed overlap under the current fit (the workspace's last fit, of @p m).
 * Returns their number.
 */
static size_t stepwise_candidates(
    uint32_t *cand, double *pval, selector *s, const rp_capture_table *tab, const rp_mse_model *m)
{
    size_t K = tab->n_lists;
    size_t n_all = (size_t)1 << K;
    /* fitted values of every observable cell; removed cells are 0 */
    memset(s->scratch, 0, n_all * sizeof(double));
    for (size_t c = 0; c < s->ws->d.n_cells; c++)
        s->scratch[s->ws->d.cells[c]] = s->ws->mu[c];
    size_t nc = 0;
    for (size_t i = 0; i + 1 < K; i++) {
        for (size_t j = i + 1; j < K; j++) {
            uint32_t pair = (1u << i) | (1u << j);
            if (has_term(m, pair))
                continue;
            double nstar = floor(rp_mse__margin(tab, pair) + 0.5);
            double lambda = 0.0;
            for (size_t w = pair; w < n_all; w = (w + 1) | pair)
                lambda += s->scratch[w];
            double lo = gsl_cdf_poisson_P((unsigned int)nstar, lambda);
            double hi = nstar >= 1.0 ? gsl_cdf_poisson_Q((unsigned int)nstar - 1u, lambda) : 1.0;
            cand[nc] = pair;
            pval[nc] = fmin(lo, hi);
            nc++;
        }
    }
    return nc;
}

/*
 * One stepwise step: try the candidates below pthresh in increasing p-value (stable: ties
 * keep pair order) and take the first whose MLE exists, updating @p m and @p f. *added is
 * false when none is left.
 */
static int stepwise_add(bool *added,
                        rp_mse_model *m,
                        rp_mse_fit *f,
                        selector *s,
                        const rp_capture_table *tab,
                        record *rec,
                        rp_error *err)
{
    uint32_t cand[RP_MSE_MAX_PAIRS];
    double pval[RP_MSE_MAX_PAIRS];
    bool used[RP_MSE_MAX_PAIRS] = {false};
    size_t nc = stepwise_candidates(cand, pval, s, tab, m);
    *added = false;
    for (;;) {
        size_t best = nc;
        for (size_t k = 0; k < nc; k++) {
            if (!used[k] && pval[k] < s->opts->pthresh && (best == nc || pval[k] < pval[best]))
                best = k;
        }
        if (best == nc)
            return RP_OK;
        used[best] = true;
        rp_mse_model next = *m;
        next.terms[next.n_terms++] = cand[best];
        int rc = rp_mse_model_close(&next, err);
        if (rc != RP_OK)
            return rc;
        rp_mse_existence e = RP_MSE_EXISTS;
        rp_mse_fit nf;
        if (rec)
            rec->n_tried++;
        rc = rp_mse__check_fit(&e, &nf, tab, &next, &s->opts->fit, s->ws, err);
        if (rc != RP_OK)
            return rc;
        if (e != RP_MSE_EXISTS) {
            record_excluded(rec, &next, e);
            continue;
        }
        *m = next;
        *f = nf;
        *added = true;
        return RP_OK;
    }
}

/*
 * SparseMSE's stepwisefit: from main effects, add the two-list effect whose observed
 * overlap N*_ij is least compatible with the current fit, by the one-sided Poisson p-value
 * min(P(X <= N*), P(X >= N*)), X ~ Poisson(sum of fitted cells containing i and j), while
 * that p-value is below pthresh. Candidates failing the existence check are skipped (p = 1
 * in SparseMSE); ties go to the first pair in the order (1,2), (1,3), ..., (2,3), ...
 */
static int
select_stepwise(pick *out, selector *s, const rp_capture_table *tab, record *rec, rp_error *err)
{
    rp_mse_model m;
    memset(&m, 0, sizeof(m));
    rp_mse_fit f;
    int rc = start_main_effects(&f, s, tab, rec, err);
    if (rc != RP_OK)
        return rc;
    bool added = true;
    while (added) {
        record_path(rec, &m, &f);
        rc = stepwise_add(&added, &m, &f, s, tab, rec, err);
        if (rc != RP_OK)
            return rc;
    }
    pick_model(out, &m, &f);
    return RP_OK;
}

/*
 * Check and fit one model of a search, starting IRLS at @p mustart (2^K fitted values)
 * when given. *ok is false when the model is excluded: its MLE does not exist, or it exists
 * but IRLS failed (reported as excluded, never used); either way it is recorded in @p rec.
 */
static int search_fit(bool *ok,
                      rp_mse_fit *f,
                      selector *s,
                      const rp_capture_table *tab,
                      const rp_mse_model *m,
                      const double *mustart,
                      record *rec,
                      rp_error *err)
{
    rp_mse_existence e = RP_MSE_EXISTS;
    rp_error ferr = RP_ERROR_INIT;
    *ok = false;
    if (mustart) {
        size_t n_all = (size_t)1 << tab->n_lists;
        memcpy(s->ws->mustart, mustart, n_all * sizeof(double));
        s->ws->have_mustart = true;
    }
    int rc = rp_mse__check_fit(&e, f, tab, m, &s->opts->fit, s->ws, &ferr);
    if (rc == RP_ENOCONV || rc == RP_EDOM) {
        record_excluded(rec, m, RP_MSE_NO_MLE);
        return RP_OK;
    }
    if (rc != RP_OK) {
        if (err)
            *err = ferr;
        return rc;
    }
    if (e != RP_MSE_EXISTS) {
        record_excluded(rec, m, e);
        return RP_OK;
    }
    *ok = true;
    return RP_OK;
}

/*
 * Model averaging over the n searched models: criterion cv (NaN for excluded models),
 * estimate nv and variance vv of each. Weights exp(-delta/2), with delta from the best
 * criterion best_c; Buckland, Burnham & Augustin's (1997) unconditional variance. Also
 * sets the weights of the ranked models in @p rec.
 */
static void average_models(pick *out,
                           record *rec,
                           const double *cv,
                           const double *nv,
                           const double *vv,
                           size_t n,
                           double best_c)
{
    double sw = 0.0, swn = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (isnan(cv[k]))
            continue;
        double w = exp(-0.5 * (cv[k] - best_c));
        sw += w;
        swn += w * nv[k];
    }
    double nbar = swn / sw;
    double se = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (isnan(cv[k]))
            continue;
        double w = exp(-0.5 * (cv[k] - best_c)) / sw;
        se += w * sqrt(vv[k] + (nv[k] - nbar) * (nv[k] - nbar));
    }
    out->estimate = nbar;
    out->var = se * se;
    if (rec) {
        for (size_t i = 0; i < rec->top.n; i++)
            rec->top.v[i].weight = exp(-0.5 * (rec->top.v[i].criterion - best_c)) / sw;
    }
}

/*
 * Search the catalogue (or the subset kept for replicates): check existence, fit, rank by
 * BIC or AIC; for averaging, weight by exp(-delta/2) and combine with Buckland, Burnham &
 * Augustin's (1997) unconditional variance.
 */
static int select_search(pick *out,
                         selector *s,
                         const rp_capture_table *tab,
                         record *rec,
                         bool use_subset,
                         rp_error *err)
{
    rp_mse_criterion crit = criterion_for(s->opts);
    bool average = s->opts->method == RP_MSE_METHOD_AVERAGE;
    size_t n = use_subset ? s->n_subset : s->cat.n;
    size_t n_all = (size_t)1 << tab->n_lists;
    double *cv = NULL, *nv = NULL, *vv = NULL;
    int rc = RP_OK;
    if (average) {
        cv = rp_calloc(n, sizeof(double));
        nv = rp_calloc(n, sizeof(double));
        vv = rp_calloc(n, sizeof(double));
        if (!cv || !nv || !vv) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory for model averaging");
            goto out;
        }
    }
    bool have = false;
    double best_c = INFINITY;
    s->ws->use_mustart = true;
    s->ws->have_mustart = false;
    for (size_t k = 0; k < n; k++) {
        size_t idx = use_subset ? s->subset[k] : k;
        const rp_mse_model *m = &s->cat.v[idx];
        if (average)
            cv[k] = NAN;
        const double *mustart = use_subset && s->sub_mustart ? s->sub_mustart + k * n_all : NULL;
        rp_mse_fit f;
        bool ok = false;
        rc = search_fit(&ok, &f, s, tab, m, mustart, rec, err);
        if (rc != RP_OK)
            goto out;
        if (!ok)
            continue;
        double c = criterion_of(&f, crit);
        record_candidate(rec, m, &f, c, idx);
        if (average) {
            cv[k] = c;
            nv[k] = f.estimate;
            vv[k] = var_of_fit(&f);
        }
        if (!have || c < best_c) {
            have = true;
            best_c = c;
            out->model = *m;
            out->fit = f;
        }
        if (s->opts->progress && rec && (k & 255u) == 0 &&
            s->opts->progress(k, n, s->opts->payload) != 0) {
            rc = rp_error_set(err, RP_ECANCELED, "cancelled");
            goto out;
        }
    }
    s->ws->use_mustart = false;
    if (!have) {
        rc = rp_error_set(err, RP_EDOM, "no model in the catalogue passes the existence check");
        goto out;
    }
    out->estimate = out->fit.estimate;
    out->var = var_of_fit(&out->fit);
    if (average)
        average_models(out, rec, cv, nv, vv, n, best_c);
out:
    s->ws->use_mustart = false;
    rp_free(cv);
    rp_free(nv);
    rp_free(vv);
    return rc;
}

/*
 * The two-list effect not in @p m (nor refused before, per @p tried, indexed in pair order)
 * whose addition lowers the criterion most below that of @p f, the fit of @p m. Only
 * models that IRLS fits are compared; the winner's existence is not checked here. *found
 * is false when no addition lowers the criterion.
 */
static int greedy_best_pair(bool *found,
                            size_t *best_k,
                            rp_mse_model *best_m,
                            rp_mse_fit *best_f,
                            selector *s,
                            const rp_capture_table *tab,
                            record *rec,
                            const rp_mse_model *m,
                            const rp_mse_fit *f,
                            const bool *tried,
                            rp_error *err)
{
    rp_mse_criterion crit = criterion_for(s->opts);
    size_t K = tab->n_lists;
    double best_c = criterion_of(f, crit);
    size_t k = 0;
    *found = false;
    for (size_t i = 0; i + 1 < K; i++) {
        for (size_t j = i + 1; j < K; j++, k++) {
            uint32_t pair = (1u << i) | (1u << j);
            if (has_term(m, pair) || tried[k])
                continue;
            rp_mse_model next = *m;
            next.terms[next.n_terms++] = pair;
            int rc = rp_mse_model_close(&next, err);
            if (rc != RP_OK)
                return rc;
            rp_mse_fit nf;
            rp_error ferr = RP_ERROR_INIT;
            if (rec)
                rec->n_tried++;
            if (fit_checked(&nf, s, tab, &next, &ferr) != RP_OK)
                continue;
            double c = criterion_of(&nf, crit);
            if (c < best_c) {
                best_c = c;
                *best_m = next;
                *best_f = nf;
                *best_k = k;
                *found = true;
            }
        }
    }
    return RP_OK;
}

/*
 * One greedy step: add to @p m the best two-list effect whose MLE exists (refused ones are
 * recorded and the next best is sought), updating @p f. *added is false when no admissible
 * addition lowers the criterion.
 */
static int greedy_step(bool *added,
                       rp_mse_model *m,
                       rp_mse_fit *f,
                       selector *s,
                       const rp_capture_table *tab,
                       record *rec,
                       rp_error *err)
{
    bool tried[RP_MSE_MAX_LISTS * RP_MSE_MAX_LISTS] = {false};
    *added = false;
    for (;;) {
        bool found = false;
        size_t best_k = 0;
        rp_mse_model best_m;
        rp_mse_fit best_f;
        int rc = greedy_best_pair(&found, &best_k, &best_m, &best_f, s, tab, rec, m, f, tried, err);
        if (rc != RP_OK || !found)
            return rc;
        rp_mse_existence e = RP_MSE_EXISTS;
        rc = existence(&e, s, tab, &best_m, err);
        if (rc != RP_OK)
            return rc;
        if (e == RP_MSE_EXISTS) {
            *m = best_m;
            *f = best_f;
            *added = true;
            return RP_OK;
        }
        record_excluded(rec, &best_m, e);
        tried[best_k] = true;
    }
}

/*
 * Beyond the catalogue (7 or more lists): greedy forward search on two-list effects by
 * the criterion; the best candidate is existence-checked before it is accepted.
 */
static int
select_greedy(pick *out, selector *s, const rp_capture_table *tab, record *rec, rp_error *err)
{
    rp_mse_criterion crit = criterion_for(s->opts);
    size_t K = tab->n_lists;
    rp_mse_model m;
    memset(&m, 0, sizeof(m));
    rp_mse_fit f;
    int rc = start_main_effects(&f, s, tab, rec, err);
    if (rc != RP_OK)
        return rc;
    for (;;) {
        bool added = false;
        rc = greedy_step(&added, &m, &f, s, tab, rec, err);
        if (rc != RP_OK)
            return rc;
        if (!added)
            break;
        /* progress: terms added so far, of at most all pairs */
        if (s->opts->progress && rec &&
            s->opts->progress(m.n_terms, K * (K - 1) / 2, s->opts->payload) != 0)
            return rp_error_set(err, RP_ECANCELED, "cancelled");
    }
    pick_model(out, &m, &f);
    record_candidate(rec, &m, &f, criterion_of(&f, crit), 0);
    return RP_OK;
}

/* A fixed model: refused when its MLE does not exist, else fitted. */
static int
select_fixed(pick *out, selector *s, const rp_capture_table *tab, record *rec, rp_error *err)
{
    rp_mse_existence e = RP_MSE_EXISTS;
    int rc = existence(&e, s, tab, s->opts->model, err);
    if (rc != RP_OK)
        return rc;
    if (e != RP_MSE_EXISTS) {
        char buf[1024];
        record_excluded(rec, s->opts->model, e);
        return rp_error_set(
            err, RP_EDOM, "model %s refused: %s",
            rp_mse_model_format(s->opts->model, tab, RP_MSE_STYLE_NAMES, buf, sizeof(buf)),
            rp_mse_existence_str(e));
    }
    rp_mse_fit f;
    rc = fit_checked(&f, s, tab, s->opts->model, err);
    if (rc != RP_OK)
        return rc;
    pick_model(out, s->opts->model, &f);
    record_candidate(rec, &out->model, &out->fit, criterion_of(&out->fit, criterion_for(s->opts)),
                     0);
    return RP_OK;
}

int rp_mse__selector_clone(void **out, const void *selp, size_t n_lists, rp_error *err)
{
    const selector *src = selp;
    *out = NULL;
    selector *s = rp_calloc(1, sizeof(*s));
    if (!s)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    *s = *src;
    s->ws = NULL;
    s->scratch = rp_calloc((size_t)1 << n_lists, sizeof(double));
    int rc = s->scratch ? rp_mse_workspace_new(&s->ws, n_lists, err)
                        : rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        rp_mse__selector_free(s);
        return rc;
    }
    *out = s;
    return RP_OK;
}

void rp_mse__selector_free(void *clone)
{
    selector *s = clone;
    if (!s)
        return;
    rp_mse_workspace_free(s->ws);
    rp_free(s->scratch);
    rp_free(s);
}

/*
 * Fitted values of each model of the bootstrap subset on the original data: replicates
 * start IRLS there, a few iterations from their own fit. A model that does not exist on
 * the original data (never in the subset) or fails keeps zeros (R's start is used).
 */
static int subset_starts(selector *s, const rp_capture_table *tab, rp_error *err)
{
    size_t n_all = (size_t)1 << tab->n_lists;
    s->sub_mustart = rp_calloc(s->n_subset ? s->n_subset * n_all : 1, sizeof(double));
    if (!s->sub_mustart)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    s->ws->use_mustart = false;
    for (size_t k = 0; k < s->n_subset; k++) {
        rp_mse_fit f;
        rp_error ferr = RP_ERROR_INIT;
        int rc = rp_mse_fit_model(&f, tab, &s->cat.v[s->subset[k]], &s->opts->fit, s->ws, &ferr);
        if (rc == RP_ENOMEM) {
            if (err)
                *err = ferr;
            return rc;
        }
        if (rc != RP_OK)
            continue;
        double *dst = s->sub_mustart + k * n_all;
        for (size_t c = 0; c < s->ws->d.n_cells; c++)
            dst[s->ws->d.cells[c]] = s->ws->mu[c];
    }
    return RP_OK;
}

static bool uses_catalogue(const selector *s, size_t n_lists)
{
    rp_mse_method m = s->opts->method;
    return (m == RP_MSE_METHOD_BIC || m == RP_MSE_METHOD_AIC || m == RP_MSE_METHOD_AVERAGE) &&
           n_lists <= 6;
}

/* Selection as a bootstrap replicate runs it (searches restricted to the ntop subset). */
int rp_mse__select(double *estimate, void *selp, const rp_capture_table *tab, rp_error *err)
{
    selector *s = selp;
    pick p;
    memset(&p, 0, sizeof(p));
    int rc = RP_OK;
    switch (s->opts->method) {
    case RP_MSE_METHOD_STEPWISE:
        rc = select_stepwise(&p, s, tab, NULL, err);
        break;
    case RP_MSE_METHOD_FIXED:
        rc = select_fixed(&p, s, tab, NULL, err);
        break;
    default:
        rc = uses_catalogue(s, tab->n_lists) ? select_search(&p, s, tab, NULL, true, err)
                                             : select_greedy(&p, s, tab, NULL, err);
        break;
    }
    if (rc == RP_OK)
        *estimate = p.estimate;
    return rc;
}

/* ==== result assembly ==== */

int rp_mse__note(rp_mse_result *res, rp_error *err, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char **v = rp_reallocarray(res->notes, res->n_notes + 1, sizeof(char *));
    if (!v)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    res->notes = v;
    v[res->n_notes] = rp_strdup(buf);
    if (!v[res->n_notes])
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    res->n_notes++;
    return RP_OK;
}

void rp_mse_result_free(rp_mse_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_notes; i++)
        rp_free(res->notes[i]);
    rp_free(res->notes);
    rp_free(res->ranked);
    rp_free(res->excluded);
    rp_free(res);
}

const char *rp_mse_method_str(rp_mse_method m)
{
    switch (m) {
    case RP_MSE_METHOD_STEPWISE:
        return "stepwise";
    case RP_MSE_METHOD_BIC:
        return "bic";
    case RP_MSE_METHOD_AIC:
        return "aic";
    case RP_MSE_METHOD_AVERAGE:
        return "average";
    case RP_MSE_METHOD_FIXED:
        return "fixed";
    }
    return "unknown";
}

int rp_mse_method_parse(rp_mse_method *out, const char *s, rp_error *err)
{
    static const rp_mse_method all[] = {RP_MSE_METHOD_STEPWISE, RP_MSE_METHOD_BIC,
                                        RP_MSE_METHOD_AIC, RP_MSE_METHOD_AVERAGE,
                                        RP_MSE_METHOD_FIXED};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, rp_mse_method_str(all[i])) == 0) {
            *out = all[i];
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_EINVAL,
                        "unknown method '%s': expected stepwise, bic, aic, average or fixed", s);
}

/*
 * As SparseMSE's removenoninformativelists, but with a clear refusal rather than a silent
 * change of the lists: a list with no people, or one holding every observed person,
 * carries no information on the unobserved, and every model on it fails the existence
 * check with a less helpful reason.
 */
static int check_lists_informative(const rp_capture_table *tab, double observed, rp_error *err)
{
    for (size_t i = 0; i < tab->n_lists; i++) {
        double n_i = rp_mse__margin(tab, 1u << i);
        if (n_i <= 0.0)
            return rp_error_set(err, RP_EDOM,
                                "list '%s' has no people: leave it out of the lists estimated",
                                tab->list_names[i]);
        if (n_i >= observed)
            return rp_error_set(err, RP_EDOM,
                                "list '%s' holds every observed person, so it says nothing about "
                                "those unobserved: leave it out of the lists estimated",
                                tab->list_names[i]);
    }
    return RP_OK;
}

static size_t default_ntop(size_t n_lists)
{
    /* MultipleSystemsEstimation: all models for 2-3 lists, 20 for 4, 100 for 5-6 */
    if (n_lists <= 3)
        return (size_t)-1;
    return n_lists == 4 ? 20 : 100;
}

/* Notes on the data that apply to any model: non-overlapping pairs, isolated lists. */
static int data_notes(rp_mse_result *res, const rp_capture_table *tab, rp_error *err)
{
    size_t K = tab->n_lists;
    rp_x_buf b = RP_X_BUF_INIT;
    int rc = RP_OK;
    size_t npairs = 0;
    for (size_t i = 0; i + 1 < K; i++) {
        for (size_t j = i + 1; j < K; j++) {
            if (rp_mse__margin(tab, (1u << i) | (1u << j)) <= 0.0) {
                rp_x_buf_printf(&b, "%s%s:%s", npairs ? ", " : "", tab->list_names[i],
                                tab->list_names[j]);
                npairs++;
            }
        }
    }
    if (npairs > 0) {
        rc = rp_mse__note(res, err,
                          "non-overlapping lists (no case in common): %s; a model with their "
                          "interaction puts it at minus infinity and drops the cells containing "
                          "both lists, as SparseMSE does",
                          rp_x_buf_cstr(&b));
        if (rc != RP_OK)
            goto out;
    }
    for (size_t i = 0; i < K; i++) {
        bool isolated = true;
        for (size_t j = 0; j < K && isolated; j++) {
            if (j != i && rp_mse__margin(tab, (1u << i) | (1u << j)) > 0.0)
                isolated = false;
        }
        if (isolated) {
            rc = rp_mse__note(res, err,
                              "list %s shares no case with any other list: it carries little "
                              "information on the dark figure and every interaction with it is at "
                              "minus infinity when included",
                              tab->list_names[i]);
            if (rc != RP_OK)
                goto out;
        }
    }
out:
    rp_x_buf_release(&b);
    return rc;
}

static int check_opts(const rp_mse_opts *o, const rp_capture_table *tab, rp_error *err)
{
    if (o->version != RP_MSE_OPTS_VERSION)
        return rp_error_set(err, RP_EINVAL, "rp_mse_opts version %u, expected %u", o->version,
                            RP_MSE_OPTS_VERSION);
    if (!(o->ci_level > 0.0 && o->ci_level < 1.0))
        return rp_error_set(err, RP_EINVAL, "confidence level %g is not in (0, 1)", o->ci_level);
    if (!(o->pthresh >= 0.0 && o->pthresh <= 1.0))
        return rp_error_set(err, RP_EINVAL, "stepwise threshold %g is not in [0, 1]", o->pthresh);
    if (o->method == RP_MSE_METHOD_FIXED && !o->model)
        return rp_error_set(err, RP_EINVAL, "method 'fixed' needs a model");
    if (o->max_order < 0 || o->max_order >= (int)tab->n_lists + (tab->n_lists == 2))
        return rp_error_set(err, RP_EINVAL, "highest order %d: expected 1 to %zu (0: default)",
                            o->max_order, tab->n_lists - 1);
    if (tab->n_lists < 2 || tab->n_lists > RP_MSE_MAX_LISTS)
        return rp_error_set(err, RP_EINVAL, "%zu lists: expected 2 to %d", tab->n_lists,
                            RP_MSE_MAX_LISTS);
    if (o->fit.max_iter <= 0 || !(o->fit.tol > 0.0))
        return rp_error_set(err, RP_EINVAL, "IRLS options: tol and max_iter must be positive");
    return RP_OK;
}

static int run_alternative(rp_mse_result *res,
                           const rp_capture_table *tab,
                           const rp_mse_opts *opts,
                           rp_error *err)
{
    rp_mse_opts alt = *opts;
    alt.n_boot = 0;
    alt.profile = false;
    alt.progress = NULL;
    alt.n_runners_up = 0;
    alt.max_excluded = 0;
    if (opts->method == RP_MSE_METHOD_STEPWISE) {
        if (tab->n_lists > 6)
            return RP_OK;
        alt.method = RP_MSE_METHOD_BIC;
    } else if (opts->method != RP_MSE_METHOD_FIXED) {
        alt.method = RP_MSE_METHOD_STEPWISE;
    } else {
        return RP_OK;
    }
    /* the alternative itself must not recurse: mark it with n_runners_up == 0 */
    rp_mse_result *ar = NULL;
    rp_error aerr = RP_ERROR_INIT;
    int rc = rp_mse_estimate(&ar, tab, &alt, &aerr);
    if (rc == RP_ENOMEM) {
        if (err)
            *err = aerr;
        return rc;
    }
    /* any other failure only means no alternative: rp_mse_estimate then leaves ar NULL */
    if (ar) {
        res->has_alternative = true;
        res->alternative_method = alt.method;
        memset(&res->alternative, 0, sizeof(res->alternative));
        res->alternative.model = ar->model;
        res->alternative.fit = ar->fit;
        res->alternative.criterion = criterion_of(&ar->fit, RP_MSE_CRITERION_BIC);
    }
    rp_mse_result_free(ar);
    return RP_OK;
}

/*
 * A new result for options @p o, intervals not yet computed at NaN; NULL when out of
 * memory. res->excluded may be NULL (out of memory too): the caller checks.
 */
static rp_mse_result *result_new(const rp_mse_opts *o)
{
    rp_mse_result *res = rp_calloc(1, sizeof(*res));
    if (!res)
        return NULL;
    res->method = o->method;
    res->ci_level = o->ci_level;
    res->profile_lower = res->profile_upper = NAN;
    res->bca_lower = res->bca_upper = res->boot_median = NAN;
    res->chapman = res->chapman_se = NAN;
    res->excluded = rp_calloc(o->max_excluded ? o->max_excluded : 1, sizeof(rp_mse_candidate));
    return res;
}

/* Whether the method searches (catalogue or greedy), as opposed to stepwise or fixed. */
static bool is_search(rp_mse_method m)
{
    return m != RP_MSE_METHOD_STEPWISE && m != RP_MSE_METHOD_FIXED;
}

/*
 * Size the ranking kept in @p rec: the chosen model and the runners-up, and for searches
 * the ntop best for the bootstrap (at least 64 when all models are kept).
 */
static void record_init(record *rec, rp_mse_result *res, const rp_mse_opts *o)
{
    memset(rec, 0, sizeof(*rec));
    rec->res = res;
    rec->max_excluded = o->max_excluded;
    size_t keep = o->n_runners_up + 1;
    bool searching = is_search(o->method);
    if (searching && o->ntop != (size_t)-1 && o->ntop > keep)
        keep = o->ntop;
    if (searching && o->ntop == (size_t)-1)
        keep = keep > 64 ? keep : 64;
    rec->top.cap = keep;
    rec->top.v = rp_calloc(keep, sizeof(rp_mse_candidate));
    rec->top.idx = rp_calloc(keep, sizeof(size_t));
}

/* Run the selection method of the options on the original table, recording into @p rec. */
static int select_model(
    pick *p, selector *s, const rp_capture_table *tab, record *rec, bool catalogue, rp_error *err)
{
    int rc = RP_OK;
    switch (s->opts->method) {
    case RP_MSE_METHOD_STEPWISE:
        rc = select_stepwise(p, s, tab, rec, err);
        break;
    case RP_MSE_METHOD_FIXED:
        rc = select_fixed(p, s, tab, rec, err);
        break;
    default:
        if (catalogue) {
            rc = select_search(p, s, tab, rec, false, err);
        } else {
            rc = select_greedy(p, s, tab, rec, err);
            if (rc == RP_OK)
                rc = rp_mse__note(rec->res, err,
                                  "%zu lists: too many for the full catalogue; greedy forward "
                                  "search on two-list effects by %s",
                                  tab->n_lists,
                                  criterion_for(s->opts) == RP_MSE_CRITERION_AIC ? "AIC" : "BIC");
        }
        break;
    }
    return rc;
}

/* ranked: the chosen model first, then runners-up (for stepwise: the path back). */
static int set_ranked(rp_mse_result *res, const record *rec, size_t n_runners_up, rp_error *err)
{
    size_t nr = rec->top.n < n_runners_up + 1 ? rec->top.n : n_runners_up + 1;
    res->ranked = rp_calloc(nr ? nr : 1, sizeof(rp_mse_candidate));
    if (!res->ranked)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    memcpy(res->ranked, rec->top.v, nr * sizeof(rp_mse_candidate));
    res->n_ranked = nr;
    return RP_OK;
}

/* Model-conditional interval: n + exp(log dark +- z se), as SparseMSE. */
static void
set_wald_interval(rp_mse_result *res, const pick *p, double observed, const rp_mse_opts *o)
{
    double z = gsl_cdf_ugaussian_Pinv(0.5 + 0.5 * o->ci_level);
    res->estimate_se = sqrt(p->var);
    if (o->method == RP_MSE_METHOD_AVERAGE) {
        double dark = p->estimate - observed;
        double sl = dark > 0.0 ? sqrt(log1p(p->var / (dark * dark))) : 0.0;
        res->ci_lower = observed + dark * exp(-z * sl);
        res->ci_upper = observed + dark * exp(z * sl);
    } else {
        double lb = log(p->fit.dark);
        res->ci_lower = observed + exp(lb - z * p->fit.log_dark_se);
        res->ci_upper = observed + exp(lb + z * p->fit.log_dark_se);
    }
}

/*
 * Profile-likelihood interval of the chosen model. Only running out of memory fails; any
 * other failure, and an unbounded interval, become notes.
 */
static int set_profile_interval(rp_mse_result *res,
                                const rp_capture_table *tab,
                                const pick *p,
                                const rp_mse_opts *o,
                                rp_mse_workspace *ws,
                                rp_error *err)
{
    double nmax = NAN;
    rp_error perr = RP_ERROR_INIT;
    int prc = rp_mse__profile_interval(&res->profile_lower, &res->profile_upper, &nmax, tab,
                                       &p->model, o->ci_level, &o->fit, ws, &perr);
    if (prc == RP_ENOMEM) {
        if (err)
            *err = perr;
        return prc;
    }
    if (prc != RP_OK) {
        res->profile_lower = res->profile_upper = NAN;
        return rp_mse__note(res, err, "profile-likelihood interval not available: %s", perr.msg);
    }
    if (isinf(res->profile_upper))
        return rp_mse__note(res, err,
                            "the profile likelihood does not fall below its cut-off: no finite "
                            "upper bound");
    return RP_OK;
}

/*
 * Model-free companions (Chapman for two lists, Chao's lower bound) and notes on the
 * chosen fit: saturated, or sparse.
 */
static int set_checks(
    rp_mse_result *res, const rp_capture_table *tab, const pick *p, double observed, rp_error *err)
{
    int rc = RP_OK;
    if (tab->n_lists == 2) {
        double n1 = tab->counts[1] + tab->counts[3];
        double n2 = tab->counts[2] + tab->counts[3];
        rc = rp_mse_chapman(&res->chapman, &res->chapman_se, n1, n2, tab->counts[3], err);
        if (rc != RP_OK)
            return rc;
    }
    res->chao_lower_bound = rp_mse_chao_lower_bound(tab);
    if (res->chao_lower_bound > p->estimate) {
        /*
         * Chao's bound holds under heterogeneity between people when the lists catch
         * alike (model Mh); lists differ here, so it is a warning sign, not a proof.
         */
        rc = rp_mse__note(res, err,
                          "the estimate is below Chao's lower bound (%.1f), a bound under "
                          "heterogeneity between people when all lists catch alike (model Mh): "
                          "a sign to check the model",
                          res->chao_lower_bound);
        if (rc != RP_OK)
            return rc;
    }
    if (p->fit.df == 0) {
        rc = rp_mse__note(res, err,
                          "the chosen model is saturated (0 residual degrees of freedom): its fit "
                          "cannot be checked against the data");
        if (rc != RP_OK)
            return rc;
    }
    if (observed < 5.0 * (double)p->fit.n_params) {
        rc = rp_mse__note(res, err,
                          "sparse: %.0f people for %zu parameters; the estimate rests on few cases",
                          observed, p->fit.n_params);
    }
    return rc;
}

/*
 * The catalogue models that bootstrap replicates search: the ntop best on the original
 * data (all models when ntop is unlimited), with their fits there as IRLS starts.
 */
static int bootstrap_subset(selector *s,
                            const record *rec,
                            const rp_mse_opts *o,
                            const rp_capture_table *tab,
                            rp_error *err)
{
    size_t m = rec->top.n;
    if (o->ntop != (size_t)-1 && o->ntop < m)
        m = o->ntop;
    if (o->ntop == (size_t)-1) {
        /* all admissible models: rank them all */
        m = s->cat.n;
        s->subset = rp_calloc(m, sizeof(size_t));
        if (!s->subset)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        for (size_t i = 0; i < m; i++)
            s->subset[i] = i;
    } else {
        s->subset = rp_calloc(m ? m : 1, sizeof(size_t));
        if (!s->subset)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        memcpy(s->subset, rec->top.idx, m * sizeof(size_t));
    }
    s->n_subset = m;
    return subset_starts(s, tab, err);
}

/* Release what a selector owns (not its options). */
static void selector_release(selector *s)
{
    rp_free(s->subset);
    rp_free(s->sub_mustart);
    rp_free(s->scratch);
    rp_mse__model_list_release(&s->cat);
    rp_mse_workspace_free(s->ws);
}

/* Everything after the selection: ranking, intervals, checks, bootstrap, alternative. */
static int fill_result(rp_mse_result *res,
                       selector *s,
                       const record *rec,
                       const pick *p,
                       const rp_capture_table *tab,
                       bool catalogue,
                       rp_error *err)
{
    const rp_mse_opts *o = s->opts;
    double observed = rp_capture_table_observed(tab);
    res->n_models = catalogue ? s->cat.n : (o->method == RP_MSE_METHOD_FIXED ? 1 : rec->n_tried);
    res->model = p->model;
    res->fit = p->fit;
    res->estimate = p->estimate;
    int rc = set_ranked(res, rec, o->n_runners_up, err);
    if (rc != RP_OK)
        return rc;
    set_wald_interval(res, p, observed, o);
    if (o->profile && o->method != RP_MSE_METHOD_AVERAGE) {
        rc = set_profile_interval(res, tab, p, o, s->ws, err);
        if (rc != RP_OK)
            return rc;
    }
    rc = set_checks(res, tab, p, observed, err);
    if (rc != RP_OK)
        return rc;
    if (o->n_boot > 0) {
        if (is_search(o->method) && catalogue) {
            /* replicates search only the ntop best models on the original data */
            rc = bootstrap_subset(s, rec, o, tab, err);
            if (rc != RP_OK)
                return rc;
        }
        rc = rp_mse__bootstrap(res, s, tab, err);
        if (rc != RP_OK)
            return rc;
    }
    if (o->n_runners_up > 0)
        rc = run_alternative(res, tab, o, err);
    return rc;
}

int rp_mse_estimate(rp_mse_result **out,
                    const rp_capture_table *tab,
                    const rp_mse_opts *opts,
                    rp_error *err)
{
    static const rp_mse_opts defaults = RP_MSE_OPTS_INIT;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    int rc = check_opts(opts, tab, err);
    if (rc != RP_OK)
        return rc;
    double observed = rp_capture_table_observed(tab);
    if (!(observed > 0.0))
        return rp_error_set(err, RP_EINVAL, "no people observed: the table is empty");
    rc = check_lists_informative(tab, observed, err);
    if (rc != RP_OK)
        return rc;

    rp_mse_opts o = *opts;
    if (o.max_order == 0)
        o.max_order = rp_mse__default_max_order(tab->n_lists);
    if (o.ntop == 0)
        o.ntop = default_ntop(tab->n_lists);
    selector s;
    memset(&s, 0, sizeof(s));
    s.opts = &o;
    record rec;
    pick p;
    memset(&p, 0, sizeof(p));
    rp_mse_result *res = result_new(&o);
    if (!res)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    record_init(&rec, res, &o);
    s.scratch = rp_calloc((size_t)1 << tab->n_lists, sizeof(double));
    if (!res->excluded || !rec.top.v || !rec.top.idx || !s.scratch) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_mse_workspace_new(&s.ws, tab->n_lists, err);
    if (rc != RP_OK)
        goto out;
    rc = data_notes(res, tab, err);
    if (rc != RP_OK)
        goto out;

    bool catalogue = uses_catalogue(&s, tab->n_lists);
    if (catalogue) {
        rc = rp_mse__catalogue(&s.cat, tab->n_lists, o.max_order, err);
        if (rc != RP_OK)
            goto out;
    }
    rc = select_model(&p, &s, tab, &rec, catalogue, err);
    if (rc != RP_OK)
        goto out;
    rc = fill_result(res, &s, &rec, &p, tab, catalogue, err);
out:
    rp_free(rec.top.v);
    rp_free(rec.top.idx);
    selector_release(&s);
    if (rc != RP_OK) {
        rp_mse_result_free(res);
        return rc;
    }
    *out = res;
    return RP_OK;
}
