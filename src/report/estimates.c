/*
 * MSE estimates per stratum for the report: the capture histories of the store, pooled
 * and by the strata fields, each estimated by the estimation engine (rp_mse_estimate),
 * beside the observed number of persons. Strata below the threshold get no estimate.
 */
#include "report/publish_int.h"
#include "report/report_int.h"

#include <math.h>

static void estimate_release(rp_report_estimate *e)
{
    rp_free(e->label);
    e->label = NULL;
}

void rp_report_estimates_free(rp_report_estimates *e)
{
    if (e == NULL) {
        return;
    }
    estimate_release(&e->total);
    for (size_t i = 0; i < e->n; i++) {
        estimate_release(&e->strata[i]);
    }
    rp_free(e->strata);
    rp_x_strv_free(e->notes, e->n_notes);
    rp_free(e);
}

/* Estimate one capture table into @p e; a failed estimation is recorded, not returned. */
static int estimate_one(rp_report_estimate *e,
                        const char *label,
                        const rp_capture_table *tab,
                        const rp_report_estimates_opts *o,
                        rp_x_strvec *notes)
{
    rp_mse_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    e->label = rp_strdup(label);
    if (e->label == NULL) {
        return RP_ENOMEM;
    }
    e->observed = rp_capture_table_observed(tab);
    e->estimate = e->lower = e->upper = NAN;
    e->model[0] = '\0';
    if (e->observed < o->min_observed) {
        e->suppressed = true;
        e->status = RP_OK;
        return RP_OK;
    }
    e->status = rp_mse_estimate(&res, tab, &o->mse, &err);
    if (e->status == RP_ENOMEM) {
        return RP_ENOMEM;
    }
    if (e->status != RP_OK) {
        return rp_x_strvec_pushf(notes, "stratum '%s': no estimate (%s)", label[0] ? label : "all",
                                 err.msg);
    }
    e->estimate = res->estimate;
    bool prof = isfinite(res->profile_lower) && isfinite(res->profile_upper);
    e->lower = prof ? res->profile_lower : res->ci_lower;
    e->upper = prof ? res->profile_upper : res->ci_upper;
    rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_NAMES, e->model, sizeof(e->model));
    rp_mse_result_free(res);
    return RP_OK;
}

int rp_report_estimates_of_set(rp_report_estimates **out,
                               const rp_capture_set *set,
                               const rp_report_estimates_opts *opts,
                               rp_error *err)
{
    const rp_report_estimates_opts defaults = RP_REPORT_ESTIMATES_OPTS_INIT;
    const rp_report_estimates_opts *o = opts != NULL ? opts : &defaults;
    rp_x_strvec notes = RP_X_STRVEC_INIT;
    if (out == NULL || set == NULL || set->total == NULL) {
        return rp_error_set(err, RP_EINVAL, "no capture histories or output given");
    }
    *out = NULL;
    if (o->version != RP_REPORT_ESTIMATES_OPTS_VERSION || !(o->min_observed >= 0)) {
        return rp_error_set(err, RP_EINVAL, "bad estimate options");
    }
    rp_report_estimates *e = rp_calloc(1, sizeof(*e));
    if (e == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    int rc = RP_OK;
    if (set->n_strata > 0) {
        e->strata = rp_calloc(set->n_strata, sizeof(*e->strata));
        rc = e->strata == NULL ? RP_ENOMEM : RP_OK;
    }
    e->ci_level = o->mse.ci_level;
    if (rc == RP_OK) {
        rc = estimate_one(&e->total, "", set->total, o, &notes);
    }
    for (size_t i = 0; i < set->n_strata && rc == RP_OK; i++) {
        rc = estimate_one(&e->strata[i], set->stratum_labels[i], set->strata[i], o, &notes);
        e->n = i + 1;
    }
    if (rc == RP_OK && o->min_observed > 0) {
        char num[48];
        rc = rp_x_strvec_pushf(&notes,
                               "strata with fewer than %s persons observed are not estimated "
                               "(threshold rule)",
                               rp_publish__fmt_num(num, sizeof(num), o->min_observed, 6));
    }
    e->notes = rp_x_strvec_detach(&notes, &e->n_notes);
    if (rc != RP_OK) {
        rp_report_estimates_free(e);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    *out = e;
    return RP_OK;
}

int rp_report_estimates_run(rp_report_estimates **out,
                            rp_store *st,
                            const char *const *by,
                            size_t n_by,
                            const rp_report_estimates_opts *opts,
                            rp_error *err)
{
    rp_capture_set *set = NULL;
    long long unlinked = 0;
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    int rc = rp_store_capture_set(&set, &unlinked, st, by, n_by, err);
    if (rc == RP_OK) {
        rc = rp_report_estimates_of_set(out, set, opts, err);
    }
    rp_capture_set_free(set);
    return rc;
}
