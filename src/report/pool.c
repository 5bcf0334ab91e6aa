/*
 * The regional view: several states' data pooled into one set of units that carry their
 * state and region, tables with the pseudo-dimensions state and region (the pairs of a
 * state outside the region are structural zeros, so one table holds the hierarchy and one
 * audit protects the views by state, by region and pooled), and slices of a protected
 * table: the views that are published.
 */
#include "report/report_int.h"

#include <assert.h>
#include <stdlib.h>

#define POOL_MAX_STATES 1000

size_t rp_report_data_states(const rp_report_data *d)
{
    return d != NULL ? d->n_states : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of @p s in the sorted array @p v of @p n strings, or SIZE_MAX. */
static size_t find_sorted(char *const *v, size_t n, const char *s)
{
    char *const *hit = bsearch(&s, v, n, sizeof(*v), cmp_str);
    return hit != NULL ? (size_t)(hit - v) : SIZE_MAX;
}

static int check_pool(const rp_report_data *const *parts,
                      const char *const *states,
                      const char *const *regions,
                      size_t n,
                      rp_error *err)
{
    if (n == 0 || n > POOL_MAX_STATES || parts == NULL || states == NULL || regions == NULL) {
        return rp_error_set(err, RP_EINVAL, "a pool has 1 to %d states", POOL_MAX_STATES);
    }
    for (size_t i = 0; i < n; i++) {
        if (parts[i] == NULL || states[i] == NULL || states[i][0] == '\0' || regions[i] == NULL ||
            regions[i][0] == '\0') {
            return rp_error_set(err, RP_EINVAL, "pool: state %zu has no data, code or region",
                                i + 1);
        }
        if (parts[i]->persons != parts[0]->persons) {
            return rp_error_set(err, RP_EINVAL,
                                "pool: state '%s' counts %s, state '%s' counts %s; count "
                                "records in every state",
                                states[0], rp_report_data_unit(parts[0]), states[i],
                                rp_report_data_unit(parts[i]));
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(states[i], states[j]) == 0) {
                return rp_error_set(err, RP_EINVAL, "pool: state '%s' given twice", states[i]);
            }
        }
    }
    return RP_OK;
}

/* Sorted distinct copies of @p n strings into *out / *n_out. */
static int sorted_set(char ***out, size_t *n_out, const char *const *v, size_t n)
{
    char **s = rp_calloc(n + 1, sizeof(*s));
    if (s == NULL) {
        return RP_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++) {
            seen = strcmp(s[j], v[i]) == 0;
        }
        if (seen) {
            continue;
        }
        s[m] = rp_strdup(v[i]);
        if (s[m++] == NULL) {
            rp_x_strv_free(s, m);
            return RP_ENOMEM;
        }
    }
    qsort(s, m, sizeof(*s), cmp_str);
    *out = s;
    *n_out = m;
    return RP_OK;
}

/* The lists of every part as "STATE/list", sorted, into d->lists. */
static int pool_lists(rp_report_data *d,
                      const rp_report_data *const *parts,
                      const char *const *states,
                      size_t n)
{
    size_t total = 0;
    for (size_t p = 0; p < n; p++) {
        total += parts[p]->n_lists;
    }
    if (total > UINT16_MAX) {
        return RP_EINVAL;
    }
    d->lists = rp_calloc(total + 1, sizeof(*d->lists));
    if (d->lists == NULL) {
        return RP_ENOMEM;
    }
    for (size_t p = 0; p < n; p++) {
        for (size_t l = 0; l < parts[p]->n_lists; l++) {
            rp_x_buf b = RP_X_BUF_INIT;
            rp_x_buf_printf(&b, "%s/%s", states[p], parts[p]->lists[l]);
            d->lists[d->n_lists] = rp_x_buf_detach(&b);
            if (d->lists[d->n_lists++] == NULL) {
                return RP_ENOMEM;
            }
        }
    }
    qsort(d->lists, d->n_lists, sizeof(*d->lists), cmp_str);
    return RP_OK;
}

/* Copy the units of part @p p, renumbering lists and setting state and region. */
static int
pool_units(rp_report_data *d, const rp_report_data *part, const char *state, const char *region)
{
    uint16_t si = (uint16_t)find_sorted(d->states, d->n_states, state);
    uint16_t ri = (uint16_t)find_sorted(d->regions, d->n_regions, region);
    uint16_t *list_map = rp_calloc(part->n_lists + 1, sizeof(*list_map));
    if (list_map == NULL) {
        return RP_ENOMEM;
    }
    for (size_t l = 0; l < part->n_lists; l++) {
        rp_x_buf b = RP_X_BUF_INIT;
        rp_x_buf_printf(&b, "%s/%s", state, part->lists[l]);
        char *name = rp_x_buf_detach(&b);
        if (name == NULL) {
            rp_free(list_map);
            return RP_ENOMEM;
        }
        list_map[l] = (uint16_t)find_sorted(d->lists, d->n_lists, name);
        rp_free(name);
    }
    d->state_region[si] = ri;
    for (size_t i = 0; i < part->n; i++) {
        rp_report__unit *u = &d->units[d->n++];
        *u = part->units[i];
        u->list = list_map[u->list];
        u->state = si;
        u->region = ri;
    }
    d->unlinked += part->unlinked;
    rp_free(list_map);
    return RP_OK;
}

int rp_report_data_pool(rp_report_data **out,
                        const rp_report_data *const *parts,
                        const char *const *states,
                        const char *const *regions,
                        size_t n,
                        rp_error *err)
{
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    int rc = check_pool(parts, states, regions, n, err);
    if (rc != RP_OK) {
        return rc;
    }
    size_t total = 0;
    for (size_t p = 0; p < n; p++) {
        total += parts[p]->n;
    }
    rp_report_data *d = rp_calloc(1, sizeof(*d));
    if (d == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    d->persons = parts[0]->persons;
    d->units = rp_calloc(total > 0 ? total : 1, sizeof(*d->units));
    d->cap = total;
    d->state_region = rp_calloc(n, sizeof(*d->state_region));
    rc = d->units != NULL && d->state_region != NULL ? RP_OK : RP_ENOMEM;
    if (rc == RP_OK) {
        rc = sorted_set(&d->states, &d->n_states, states, n);
    }
    if (rc == RP_OK) {
        rc = sorted_set(&d->regions, &d->n_regions, regions, n);
    }
    if (rc == RP_OK) {
        rc = pool_lists(d, parts, states, n);
    }
    for (size_t p = 0; p < n && rc == RP_OK; p++) {
        rc = pool_units(d, parts[p], states[p], regions[p]);
    }
    if (rc == RP_OK && d->n == 0) {
        rc = RP_EDATA;
    }
    if (rc != RP_OK) {
        rp_report_data_free(d);
        return rp_error_set(err, rc,
                            rc == RP_ENOMEM  ? "out of memory"
                            : rc == RP_EDATA ? "pool: no units in any state"
                                             : "pool: more than 65535 lists");
    }
    *out = d;
    return RP_OK;
}

/* ==== structural zeros ==== */

static size_t find_dim(const rp_table *t, rp_field f)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d].field == f) {
            return d;
        }
    }
    return SIZE_MAX;
}

void rp_report__mark_structural(rp_table *t, const rp_report_data *d)
{
    size_t ds = find_dim(t, RP_TABLE_FIELD_STATE);
    size_t dr = find_dim(t, RP_TABLE_FIELD_REGION);
    size_t idx[RP_TABLE_MAX_DIMS];
    if (ds == SIZE_MAX || dr == SIZE_MAX || d->n_states == 0) {
        return;
    }
    for (size_t c = 0; c < t->n_cells; c++) {
        rp_table_index(idx, t, c);
        if (idx[ds] == t->dims[ds].n_cats || idx[dr] == t->dims[dr].n_cats) {
            continue;
        }
        size_t s = find_sorted(d->states, d->n_states, t->dims[ds].cats[idx[ds]]);
        size_t r = find_sorted(d->regions, d->n_regions, t->dims[dr].cats[idx[dr]]);
        if (RP_ALWAYS(s != SIZE_MAX && r != SIZE_MAX) && d->state_region[s] != r) {
            assert(t->count[c] == 0);
            t->status[c] = RP_CELL_STRUCTURAL;
        }
    }
}

/* ==== slices ==== */

int rp_table_slice(rp_table **out, const rp_table *t, const size_t *at, rp_error *err)
{
    rp_table_dim dims[RP_TABLE_MAX_DIMS];
    size_t keep[RP_TABLE_MAX_DIMS];
    size_t n_keep = 0;
    size_t idx[RP_TABLE_MAX_DIMS], sub[RP_TABLE_MAX_DIMS];
    rp_table *s = NULL;
    if (out == NULL || t == NULL || at == NULL) {
        return rp_error_set(err, RP_EINVAL, "slice: no table, positions or output given");
    }
    *out = NULL;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (at[d] == RP_TABLE_KEEP) {
            dims[n_keep] = t->dims[d];
            keep[n_keep++] = d;
        } else if (at[d] > t->dims[d].n_cats) {
            return rp_error_set(err, RP_EINVAL, "slice: position %zu of dimension %zu out of range",
                                at[d], d);
        }
    }
    if (n_keep == 0) {
        return rp_error_set(err, RP_EINVAL, "slice: no dimension kept");
    }
    /* a category's one-way margin in the slice is the table's only when every other
     * dimension is fixed at its total; else nothing is known of it */
    bool at_totals = true;
    for (size_t d = 0; d < t->n_dims; d++) {
        at_totals = at_totals && (at[d] == RP_TABLE_KEEP || at[d] == t->dims[d].n_cats);
    }
    for (size_t k = 0; k < n_keep && !at_totals; k++) {
        dims[k].present = NULL;
    }
    int rc = rp_report__table_alloc(&s, dims, n_keep, err);
    if (rc != RP_OK) {
        return rc;
    }
    bool ok = (t->title == NULL || (s->title = rp_strdup(t->title)) != NULL) &&
              (t->unit == NULL || (s->unit = rp_strdup(t->unit)) != NULL);
    for (size_t k = 0; k < n_keep && ok; k++) {
        for (size_t i = 0; i < dims[k].n_cats && ok; i++) {
            s->dims[k].cats[i] = rp_strdup(dims[k].cats[i]);
            ok = s->dims[k].cats[i] != NULL;
        }
    }
    for (size_t i = 0; i < t->n_notes && ok; i++) {
        ok = rp_table_add_note(s, "%s", t->notes[i]) == RP_OK;
    }
    if (!ok) {
        rp_table_free(s);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < s->n_cells; c++) {
        rp_table_index(sub, s, c);
        for (size_t d = 0; d < t->n_dims; d++) {
            idx[d] = at[d];
        }
        for (size_t k = 0; k < n_keep; k++) {
            idx[keep[k]] = sub[k];
        }
        size_t from = rp_table_cell(t, idx);
        s->count[c] = t->count[from];
        s->value[c] = t->value[from];
        s->status[c] = t->status[from];
    }
    *out = s;
    return RP_OK;
}
