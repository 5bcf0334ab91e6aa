/*
 * Disclosure control of the tables of a regional report, protected together. Each table
 * has the region and the state among its dimensions, so its own audit sees that a
 * region's figure is the sum of its states' and the total of all states the sum of the
 * regions'. What one table cannot see is another: the tables share the totals of each
 * state, each region and all states (and more: a form of exploitation by state in two
 * tables with that field). They are linked tables, protected by rp_sdc_protect_linked()
 * (sdc_linked.c): a cell suppressed in one table is suppressed in every table that shows
 * it, and one LP over all the tables' relations audits them together.
 */
#include "report/report_int.h"

/* Does @p t have the region and the state dimensions? */
static bool pool_dims(const rp_table *t)
{
    bool region = false, state = false;
    for (size_t d = 0; d < t->n_dims; d++) {
        region = region || t->dims[d].field == RP_TABLE_FIELD_REGION;
        state = state || t->dims[d].field == RP_TABLE_FIELD_STATE;
    }
    return region && state;
}

int rp_sdc_protect_pooled(
    size_t *rounds_out, rp_table *const *tables, size_t n, const rp_sdc_opts *opts, rp_error *err)
{
    rp_sdc_linked_report rep;
    if (rounds_out != NULL) {
        *rounds_out = 0;
    }
    if (n > 0 && tables == NULL) {
        return rp_error_set(err, RP_EINVAL, "no tables given");
    }
    for (size_t i = 0; i < n; i++) {
        if (tables[i] == NULL || !pool_dims(tables[i])) {
            return rp_error_set(err, RP_EINVAL,
                                "pooled table %zu has no region and state dimensions", i + 1);
        }
    }
    int rc = rp_sdc_protect_linked(&rep, tables, n, opts, err);
    if (rounds_out != NULL) {
        *rounds_out = rep.rounds;
    }
    return rc;
}
