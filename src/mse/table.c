/*
 * Capture tables: 2^K cell counts indexed by the capture-history bit pattern, and the
 * two table-to-table transforms the estimators need, merging lists into one (a person
 * is on the merged list when on any part) and keeping a subset of lists in a new order.
 */
#include "common/common_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdint.h>
#include <string.h>

/*
 * Both transforms are the same operation: every old list i becomes new list map[i]
 * (or disappears when map[i] < 0), and cell w moves to the cell whose bits are the
 * images of w's bits. Several old lists may share one image (a merge). Cells that land
 * on the empty pattern hold people who are on none of the kept lists; they are summed
 * into *dropped and leave the table.
 */
static void
remap_counts(const rp_capture_table *src, rp_capture_table *dst, const int *map, double *dropped)
{
    size_t n_cells = (size_t)1 << src->n_lists;
    long double lost = 0.0L;
    for (size_t w = 1; w < n_cells; w++) {
        size_t nw = 0;
        for (size_t i = 0; i < src->n_lists; i++) {
            if (((w >> i) & 1U) != 0 && map[i] >= 0) {
                nw |= (size_t)1 << (unsigned)map[i];
            }
        }
        if (nw == 0) {
            lost += src->counts[w];
        } else {
            dst->counts[nw] += src->counts[w];
        }
    }
    dst->counts[0] = 0.0;
    if (dropped != NULL) {
        *dropped = (double)lost;
    }
}

int rp_capture_table_new(rp_capture_table **out,
                         size_t n_lists,
                         const char *const *names,
                         rp_error *err)
{
    int rc = RP_OK;
    rp_capture_table *tab = NULL;

    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output table given");
    }
    *out = NULL;
    if (n_lists < 2 || n_lists > RP_MSE_MAX_LISTS) {
        return rp_error_set(err, RP_EINVAL, "a capture table needs 2 to %d lists, not %zu",
                            RP_MSE_MAX_LISTS, n_lists);
    }
    if (names == NULL) {
        return rp_error_set(err, RP_EINVAL, "no list names given");
    }
    for (size_t i = 0; i < n_lists; i++) {
        if (names[i] == NULL || names[i][0] == '\0') {
            return rp_error_set(err, RP_EINVAL, "list %zu has no name", i + 1);
        }
        if (strlen(names[i]) >= RP_MSE_NAME_MAX) {
            return rp_error_set(err, RP_EINVAL, "list name '%.16s...' is longer than %d bytes",
                                names[i], RP_MSE_NAME_MAX - 1);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) == 0) {
                return rp_error_set(err, RP_EINVAL, "list '%s' is repeated", names[i]);
            }
        }
    }

    tab = rp_calloc(1, sizeof(*tab));
    if (tab == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    tab->n_lists = n_lists;
    for (size_t i = 0; i < n_lists; i++) {
        memcpy(tab->list_names[i], names[i], strlen(names[i]) + 1);
    }
    tab->counts = rp_calloc((size_t)1 << n_lists, sizeof(*tab->counts));
    if (tab->counts == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    *out = tab;
    tab = NULL;
out:
    rp_capture_table_free(tab);
    return rc;
}

rp_capture_table *rp_capture_table_dup(const rp_capture_table *tab)
{
    if (tab == NULL) {
        return NULL;
    }
    rp_capture_table *copy = rp_malloc(sizeof(*copy));
    if (copy == NULL) {
        return NULL;
    }
    *copy = *tab;
    size_t n_cells = (size_t)1 << tab->n_lists;
    copy->counts = rp_malloc(n_cells * sizeof(*copy->counts));
    if (copy->counts == NULL) {
        rp_free(copy);
        return NULL;
    }
    memcpy(copy->counts, tab->counts, n_cells * sizeof(*copy->counts));
    return copy;
}

void rp_capture_table_free(rp_capture_table *tab)
{
    if (tab == NULL) {
        return;
    }
    rp_free(tab->counts);
    rp_free(tab);
}

double rp_capture_table_observed(const rp_capture_table *tab)
{
    long double sum = 0.0L;
    size_t n_cells = (size_t)1 << tab->n_lists;
    for (size_t w = 1; w < n_cells; w++) {
        sum += tab->counts[w];
    }
    return (double)sum;
}

int rp_capture_table_find_list(const rp_capture_table *tab, const char *name)
{
    if (tab == NULL || name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < tab->n_lists; i++) {
        if (strcmp(tab->list_names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Names of the new lists, as pointers into @p names, for rp_capture_table_new(). */
static void name_ptrs(const char **ptrs, char names[][RP_MSE_NAME_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = names[i];
    }
}

/*
 * A merge spec is split on '+' without copying: each part is a (pointer, length) view.
 * Parts are matched exactly, so "PF + NCA" names the lists "PF " and " NCA", which do
 * not exist and are reported as unknown.
 */
int rp_capture_table_merge(rp_capture_table **out,
                           const rp_capture_table *tab,
                           const char *spec,
                           rp_error *err)
{
    int rc = RP_OK;
    int part_of[RP_MSE_MAX_LISTS]; /* old list -> part number, -1 if not merged */
    int first = -1;                /* old index of the first part */
    size_t n_parts = 0;
    char merged[RP_MSE_NAME_MAX] = "";
    size_t merged_len = 0;

    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output table given");
    }
    *out = NULL;
    if (tab == NULL || spec == NULL) {
        return rp_error_set(err, RP_EINVAL, "no table or merge given");
    }
    for (size_t i = 0; i < RP_MSE_MAX_LISTS; i++) {
        part_of[i] = -1;
    }

    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, '+');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int idx = -1;
        for (size_t i = 0; i < tab->n_lists; i++) {
            if (strlen(tab->list_names[i]) == len && memcmp(tab->list_names[i], p, len) == 0) {
                idx = (int)i;
                break;
            }
        }
        if (idx < 0) {
            return rp_error_set(err, RP_EINVAL, "merge '%s': unknown list '%.*s'", spec, (int)len,
                                p);
        }
        if (part_of[idx] >= 0) {
            return rp_error_set(err, RP_EINVAL, "merge '%s': list '%.*s' is repeated", spec,
                                (int)len, p);
        }
        part_of[idx] = (int)n_parts;
        if (n_parts == 0) {
            first = idx;
        }
        n_parts++;
        if (merged_len + len >= sizeof(merged)) {
            return rp_error_set(err, RP_EINVAL, "merge '%s': merged name is longer than %d bytes",
                                spec, RP_MSE_NAME_MAX - 1);
        }
        memcpy(merged + merged_len, p, len);
        merged_len += len;
        merged[merged_len] = '\0';
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (n_parts < 2) {
        return rp_error_set(err, RP_EINVAL, "merge '%s' needs at least two lists joined by '+'",
                            spec);
    }
    size_t n_new = tab->n_lists - (n_parts - 1);
    if (n_new < 2) {
        return rp_error_set(err, RP_EINVAL, "merge '%s' would leave fewer than 2 lists", spec);
    }

    /* New order: old order with the parts collapsed onto the first part's place. */
    int map[RP_MSE_MAX_LISTS];
    char new_names[RP_MSE_MAX_LISTS][RP_MSE_NAME_MAX];
    const char *ptrs[RP_MSE_MAX_LISTS];
    int next = 0;
    for (size_t i = 0; i < tab->n_lists; i++) {
        if (part_of[i] < 0) {
            map[i] = next;
            memcpy(new_names[next], tab->list_names[i], sizeof(new_names[next]));
            next++;
        } else if ((int)i == first) {
            map[i] = next;
            memcpy(new_names[next], merged, sizeof(merged));
            next++;
        }
    }
    for (size_t i = 0; i < tab->n_lists; i++) {
        if (part_of[i] >= 0) {
            map[i] = map[first];
        }
    }
    name_ptrs(ptrs, new_names, n_new);

    rp_capture_table *res = NULL;
    rc = rp_capture_table_new(&res, n_new, ptrs, err);
    if (rc != RP_OK) {
        goto out;
    }
    if (RP_NEVER(res == NULL)) {
        rc = rp_error_set(err, RP_EINTERNAL, "no table was made");
        goto out;
    }
    remap_counts(tab, res, map, NULL);
    *out = res;
out:
    return rc;
}

int rp_capture_table_select(rp_capture_table **out,
                            const rp_capture_table *tab,
                            const char *const *names,
                            size_t n_names,
                            double *dropped,
                            rp_error *err)
{
    int rc = RP_OK;
    int map[RP_MSE_MAX_LISTS];

    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output table given");
    }
    *out = NULL;
    if (tab == NULL || names == NULL) {
        return rp_error_set(err, RP_EINVAL, "no table or list names given");
    }
    if (n_names < 2) {
        return rp_error_set(err, RP_EINVAL, "at least 2 lists must be kept, not %zu", n_names);
    }
    if (n_names > tab->n_lists) {
        return rp_error_set(err, RP_EINVAL, "%zu lists asked for, the table has %zu", n_names,
                            tab->n_lists);
    }
    for (size_t i = 0; i < tab->n_lists; i++) {
        map[i] = -1;
    }
    for (size_t k = 0; k < n_names; k++) {
        int idx = rp_capture_table_find_list(tab, names[k]);
        if (idx < 0) {
            return rp_error_set(err, RP_EINVAL, "unknown list '%s'", names[k] ? names[k] : "");
        }
        if (map[idx] >= 0) {
            return rp_error_set(err, RP_EINVAL, "list '%s' is asked for twice", names[k]);
        }
        map[idx] = (int)k;
    }

    rp_capture_table *res = NULL;
    rc = rp_capture_table_new(&res, n_names, names, err);
    if (rc != RP_OK) {
        goto out;
    }
    if (RP_NEVER(res == NULL)) {
        rc = rp_error_set(err, RP_EINTERNAL, "no table was made");
        goto out;
    }
    remap_counts(tab, res, map, dropped);
    *out = res;
out:
    return rc;
}
