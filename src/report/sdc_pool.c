/*
 * Disclosure control of the tables of a regional report, protected together. Each table
 * has the region and the state among its dimensions, so its own audit sees that a
 * region's figure is the sum of its states' and the total of all states the sum of the
 * regions'. What one table cannot see is another: every table with only additive fields
 * has, as margins, the same totals of each state, each region and all states. A total
 * suppressed in one table and published in another would give the first table's
 * attacker a figure its audit assumed hidden, so a total suppressed anywhere is made
 * suppressed everywhere: the tables that publish it are protected again from their
 * unprotected copies with it as a forced complement, until no table changes. The set of
 * suppressed totals only grows, so the loop ends.
 */
#include "report/report_int.h"

/* Rounds before giving up (each round at least one more total is suppressed). */
#define POOL_MAX_ROUNDS 64

/* The region and state dimensions of @p t. @return false when it lacks one. */
static bool pool_dims(size_t *dr, size_t *ds, const rp_table *t)
{
    *dr = *ds = SIZE_MAX;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d].field == RP_TABLE_FIELD_REGION) {
            *dr = d;
        } else if (t->dims[d].field == RP_TABLE_FIELD_STATE) {
            *ds = d;
        }
    }
    return *dr != SIZE_MAX && *ds != SIZE_MAX;
}

/* The cell of (region position @p r, state position @p s), every field at its total. */
static size_t total_cell(const rp_table *t, size_t dr, size_t ds, size_t r, size_t s)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    for (size_t d = 0; d < t->n_dims; d++) {
        idx[d] = d == dr ? r : (d == ds ? s : t->dims[d].n_cats);
    }
    return rp_table_cell(t, idx);
}

static bool hidden(const rp_table *t, size_t c)
{
    return t->status[c] == RP_CELL_PRIMARY || t->status[c] == RP_CELL_SECONDARY;
}

/* The key of a (region, state) position: "region\nstate", a total as "\t". */
static void
total_key(char *key, size_t size, const rp_table *t, size_t dr, size_t ds, size_t r, size_t s)
{
    const char *rl = r < t->dims[dr].n_cats ? t->dims[dr].cats[r] : "\t";
    const char *sl = s < t->dims[ds].n_cats ? t->dims[ds].cats[s] : "\t";
    snprintf(key, size, "%s\n%s", rl, sl);
}

static bool has_key(const rp_x_strvec *keys, const char *key)
{
    for (size_t k = 0; k < keys->n; k++) {
        if (strcmp(keys->items[k], key) == 0) {
            return true;
        }
    }
    return false;
}

/* The keys of the totals suppressed in @p t, added to @p keys. */
static int collect(rp_x_strvec *keys, const rp_table *t)
{
    char key[512];
    size_t dr = 0, ds = 0;
    (void)pool_dims(&dr, &ds, t);
    for (size_t r = 0; r <= t->dims[dr].n_cats; r++) {
        for (size_t s = 0; s <= t->dims[ds].n_cats; s++) {
            if (!hidden(t, total_cell(t, dr, ds, r, s))) {
                continue;
            }
            total_key(key, sizeof(key), t, dr, ds, r, s);
            if (!has_key(keys, key) && rp_x_strvec_push(keys, key) != RP_OK) {
                return RP_ENOMEM;
            }
        }
    }
    return RP_OK;
}

/* Mark the totals of @p keys in the unprotected @p raw as forced complements. @return
 * how many of them the protected @p prot publishes. */
static size_t force(rp_table *raw, const rp_table *prot, const rp_x_strvec *keys)
{
    char key[512];
    size_t dr = 0, ds = 0, shown = 0;
    (void)pool_dims(&dr, &ds, raw);
    for (size_t r = 0; r <= raw->dims[dr].n_cats; r++) {
        for (size_t s = 0; s <= raw->dims[ds].n_cats; s++) {
            size_t c = total_cell(raw, dr, ds, r, s);
            total_key(key, sizeof(key), raw, dr, ds, r, s);
            if (raw->status[c] == RP_CELL_STRUCTURAL || !has_key(keys, key)) {
                continue;
            }
            shown += hidden(prot, c) ? 0 : 1;
            raw->status[c] = RP_CELL_SECONDARY;
        }
    }
    return shown;
}

/* Put the content of @p from into @p into, and the old content into @p from. */
static void swap_tables(rp_table *into, rp_table *from)
{
    rp_table tmp = *into;
    *into = *from;
    *from = tmp;
}

/* One round; *changed says whether a table was protected again. @p keys holds every total
 * suppressed so far (it only grows: each table is protected again with all of them forced,
 * so none is ever published again). */
static int align_round(rp_x_strvec *keys,
                       rp_table *const *tables,
                       rp_table *const *raw,
                       size_t n,
                       const rp_sdc_opts *o,
                       bool *changed,
                       rp_error *err)
{
    int rc = RP_OK;
    *changed = false;
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        if (RP_ALWAYS(tables[i] != NULL) && tables[i]->additive &&
            collect(keys, tables[i]) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        if (!RP_ALWAYS(tables[i] != NULL) || !tables[i]->additive) {
            continue;
        }
        rp_table *t = rp_table_dup(raw[i]);
        if (t == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        if (force(t, tables[i], keys) > 0) {
            rc = rp_sdc_protect(t, o, NULL, err);
            if (rc == RP_OK) {
                swap_tables(tables[i], t);
                *changed = true;
            }
        }
        rp_table_free(t);
    }
    return rc;
}

int rp_sdc_protect_pooled(
    size_t *rounds_out, rp_table *const *tables, size_t n, const rp_sdc_opts *opts, rp_error *err)
{
    rp_sdc_opts o;
    size_t dr = 0, ds = 0;
    if (rounds_out != NULL) {
        *rounds_out = 0;
    }
    if (n > 0 && tables == NULL) {
        return rp_error_set(err, RP_EINVAL, "no tables given");
    }
    int rc = rp_report__sdc_opts(&o, opts, err);
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        if (tables[i] == NULL || !pool_dims(&dr, &ds, tables[i])) {
            rc = rp_error_set(err, RP_EINVAL, "pooled table %zu has no region and state dimensions",
                              i + 1);
        }
    }
    if (rc != RP_OK || n == 0) {
        return rc;
    }
    /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
    rp_table **raw = rp_calloc(n, sizeof(*raw));
    if (raw == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        raw[i] = rp_table_dup(tables[i]);
        rc = raw[i] != NULL ? rp_sdc_protect(tables[i], &o, NULL, err)
                            : rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    bool changed = o.method == RP_SDC_SUPPRESS;
    size_t rounds = 0;
    rp_x_strvec keys = RP_X_STRVEC_INIT;
    while (rc == RP_OK && changed) {
        if (rounds == POOL_MAX_ROUNDS) {
            rc = rp_error_set(err, RP_EINTERNAL, "pooled totals did not settle in %d rounds",
                              POOL_MAX_ROUNDS);
            break;
        }
        rc = align_round(&keys, tables, raw, n, &o, &changed, err);
        rounds++;
    }
    rp_x_strvec_release(&keys);
    for (size_t i = 0; i < n; i++) {
        rp_table_free(raw[i]);
    }
    rp_free(raw);
    if (rounds_out != NULL) {
        *rounds_out = rounds;
    }
    return rc;
}
