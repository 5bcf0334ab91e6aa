/*
 * Linked tables: the tables of one report protected and audited together. A cell that
 * two tables show (year 2019 in the table by year and in year x sex) is one number; if
 * one table hides it and another publishes it, or if the relations of several tables
 * together pin a hidden cell down, each table's own audit misses it. So common cells get
 * one status in every table, and one LP over the relations of all the tables, with one
 * variable per distinct hidden cell, audits them together (tau-ARGUS's linked tables;
 * Hundepool et al. 2012, ch. 4). docs/report.md, "Linked tables", states the rules.
 */
#include "report/report_int.h"

#include <math.h>
#include <stdlib.h>

/* ==== common cells ==== */

/*
 * Every cell of every table has a key that names the units it counts: the table's unit,
 * then, by field, "field=category" for a dimension at a category and "field*" for a
 * multi-valued dimension at its margin (the units with information on the field, the
 * only ones such a table holds); a single-valued dimension at its margin adds nothing
 * (any value). Cells of equal keys form one group, the common cell; the groups are
 * numbered in key order, so everything below is deterministic.
 */
typedef struct links {
    size_t n;        /* tables */
    size_t *first;   /* n + 1: flat index of cell 0 of table i */
    size_t n_flat;   /* cells of all tables */
    size_t *tab;     /* n_flat: the table of each flat cell */
    size_t *group;   /* n_flat: the group of each flat cell */
    size_t n_groups; /* distinct cells */
    size_t *g_first; /* n_groups + 1: the members of group g are g_mem[g_first[g]..) */
    size_t *g_mem;   /* n_flat: flat cells, by group */
    size_t n_common; /* groups with members in two tables or more */
} links;

static void links_release(links *L)
{
    rp_free(L->first);
    rp_free(L->tab);
    rp_free(L->group);
    rp_free(L->g_first);
    rp_free(L->g_mem);
    memset(L, 0, sizeof(*L));
}

static bool hidden(const rp_table *t, size_t c)
{
    return t->status[c] == RP_CELL_PRIMARY || t->status[c] == RP_CELL_SECONDARY;
}

/* Append the key of cell @p c of @p t, NUL-terminated; @p order lists the dimensions by
 * field. Lengths prefix the labels, so no label can imitate a separator. */
static void cell_key(rp_x_buf *b, const rp_table *t, const size_t *order, size_t c)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    const char *unit = t->unit != NULL ? t->unit : "";
    rp_table_index(idx, t, c);
    rp_x_buf_printf(b, "%zu:%s", strlen(unit), unit);
    for (size_t k = 0; k < t->n_dims; k++) {
        const rp_table_dim *dim = &t->dims[order[k]];
        size_t p = idx[order[k]];
        if (p < dim->n_cats) {
            const char *cat = dim->cats[p] != NULL ? dim->cats[p] : "";
            rp_x_buf_printf(b, "|%d=%zu:%s", (int)dim->field, strlen(cat), cat);
        } else if (!rp_table_dim_additive(t, order[k])) {
            rp_x_buf_printf(b, "|%d*", (int)dim->field);
        }
    }
    rp_x_buf_append(b, "", 1);
}

typedef struct kentry {
    const char *key;
    size_t flat;
} kentry;

static int kentry_cmp(const void *pa, const void *pb)
{
    const kentry *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c != 0) {
        return c;
    }
    return a->flat < b->flat ? -1 : (a->flat > b->flat ? 1 : 0);
}

/* The dimensions of @p t by field (insertion sort: at most RP_TABLE_MAX_DIMS). */
static void dims_by_field(size_t *order, const rp_table *t)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        size_t j = d;
        while (j > 0 && t->dims[order[j - 1]].field > t->dims[d].field) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = d;
    }
}

/* Give every member of each group its group number and check their counts agree. */
static int links_group(links *L, const kentry *ke, const rp_table *const *tables, rp_error *err)
{
    size_t g = 0;
    for (size_t i = 0; i < L->n_flat; i++) {
        if (i > 0 && strcmp(ke[i].key, ke[i - 1].key) != 0) {
            L->g_first[++g] = i;
        }
        L->g_mem[i] = ke[i].flat;
        L->group[ke[i].flat] = g;
    }
    L->n_groups = L->n_flat > 0 ? g + 1 : 0;
    L->g_first[L->n_groups] = L->n_flat;
    for (g = 0; g < L->n_groups; g++) {
        size_t f0 = L->g_mem[L->g_first[g]];
        size_t f1 = L->g_mem[L->g_first[g + 1] - 1];
        L->n_common += L->tab[f0] != L->tab[f1] ? 1 : 0;
        const rp_table *t0 = tables[L->tab[f0]];
        for (size_t m = L->g_first[g] + 1; m < L->g_first[g + 1]; m++) {
            size_t f = L->g_mem[m];
            const rp_table *t = tables[L->tab[f]];
            if (t->count[f - L->first[L->tab[f]]] != t0->count[f0 - L->first[L->tab[f0]]]) {
                /* never the counts: they may be small */
                return rp_error_set(err, RP_EINVAL,
                                    "tables '%s' and '%s' cannot be linked: a cell they share "
                                    "has different counts (different filters or data?)",
                                    t0->title != NULL ? t0->title : "",
                                    t->title != NULL ? t->title : "");
            }
        }
    }
    return RP_OK;
}

/* Find the common cells of @p tables. */
static int links_build(links *L, const rp_table *const *tables, size_t n, rp_error *err)
{
    rp_x_buf keys = RP_X_BUF_INIT;
    size_t *off = NULL;
    kentry *ke = NULL;
    int rc = RP_OK;
    memset(L, 0, sizeof(*L));
    L->n = n;
    L->first = rp_calloc(n + 1, sizeof(*L->first));
    if (L->first == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        L->first[i + 1] = L->first[i] + tables[i]->n_cells;
    }
    L->n_flat = L->first[n];
    L->tab = rp_calloc(L->n_flat + 1, sizeof(*L->tab));
    L->group = rp_calloc(L->n_flat + 1, sizeof(*L->group));
    L->g_first = rp_calloc(L->n_flat + 1, sizeof(*L->g_first));
    L->g_mem = rp_calloc(L->n_flat + 1, sizeof(*L->g_mem));
    off = rp_calloc(L->n_flat + 1, sizeof(*off));
    ke = rp_calloc(L->n_flat + 1, sizeof(*ke));
    if (L->tab == NULL || L->group == NULL || L->g_first == NULL || L->g_mem == NULL ||
        off == NULL || ke == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t order[RP_TABLE_MAX_DIMS];
        dims_by_field(order, tables[i]);
        for (size_t c = 0; c < tables[i]->n_cells; c++) {
            size_t f = L->first[i] + c;
            L->tab[f] = i;
            off[f] = keys.len;
            cell_key(&keys, tables[i], order, c);
        }
    }
    if (rp_x_buf_oom(&keys)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t f = 0; f < L->n_flat; f++) {
        ke[f].key = keys.data + off[f];
        ke[f].flat = f;
    }
    if (L->n_flat > 1) {
        qsort(ke, L->n_flat, sizeof(*ke), kentry_cmp);
    }
    rc = links_group(L, ke, tables, err);
out:
    rp_free(off);
    rp_free(ke);
    rp_x_buf_release(&keys);
    if (rc != RP_OK) {
        links_release(L);
    }
    return rc;
}

/* Table and cell of flat cell @p f. */
static const rp_table *member(size_t *cell, const links *L, const rp_table *const *tables, size_t f)
{
    *cell = f - L->first[L->tab[f]];
    return tables[L->tab[f]];
}

/* ==== the joint audit ==== */

/*
 * One variable per group that no table publishes (every member suppressed); a group that
 * some table publishes is a constant, its published value, in every table's relations.
 */
typedef struct joint {
    rp_report__lp *lp;
    size_t n_vars;
    size_t *var_of_group; /* n_groups: variable (1-based) or 0 */
    size_t *group_of_var; /* n_vars + 1 */
    double *gvalue;       /* n_groups: published value of a constant group */
    double *gfloor;       /* n_groups: what a reader knows of it before any value */
} joint;

static void joint_release(joint *J)
{
    rp_report__lp_free(J->lp);
    rp_free(J->var_of_group);
    rp_free(J->group_of_var);
    rp_free(J->gvalue);
    rp_free(J->gfloor);
    memset(J, 0, sizeof(*J));
}

/* The variables, constants and floors of the groups. */
static void joint_vars(joint *J, const links *L, const rp_table *const *tables)
{
    for (size_t g = 0; g < L->n_groups; g++) {
        bool all_hidden = true;
        J->gfloor[g] = 0.0;
        J->gvalue[g] = 0.0;
        for (size_t m = L->g_first[g]; m < L->g_first[g + 1]; m++) {
            size_t c = 0;
            const rp_table *t = member(&c, L, tables, L->g_mem[m]);
            double fl = rp_report__sdc_floor(t, c);
            J->gfloor[g] = fl > J->gfloor[g] ? fl : J->gfloor[g];
            if (!hidden(t, c) && all_hidden) {
                J->gvalue[g] = t->value[c];
                all_hidden = false;
            }
        }
        if (all_hidden) {
            J->var_of_group[g] = ++J->n_vars;
            J->group_of_var[J->n_vars] = g;
        }
    }
}

static int joint_build(joint *J, const links *L, const rp_table *const *tables, rp_error *err)
{
    size_t max_cells = 0;
    size_t *var_of = NULL;
    double *value = NULL;
    memset(J, 0, sizeof(*J));
    for (size_t i = 0; i < L->n; i++) {
        max_cells = tables[i]->n_cells > max_cells ? tables[i]->n_cells : max_cells;
    }
    J->var_of_group = rp_calloc(L->n_groups + 1, sizeof(*J->var_of_group));
    J->group_of_var = rp_calloc(L->n_groups + 1, sizeof(*J->group_of_var));
    J->gvalue = rp_calloc(L->n_groups + 1, sizeof(*J->gvalue));
    J->gfloor = rp_calloc(L->n_groups + 1, sizeof(*J->gfloor));
    var_of = rp_calloc(max_cells + 1, sizeof(*var_of));
    value = rp_calloc(max_cells + 1, sizeof(*value));
    int rc = RP_OK;
    if (J->var_of_group == NULL || J->group_of_var == NULL || J->gvalue == NULL ||
        J->gfloor == NULL || var_of == NULL || value == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    joint_vars(J, L, tables);
    rc = rp_report__lp_new(&J->lp, J->n_vars, err);
    for (size_t v = 1; v <= J->n_vars && rc == RP_OK; v++) {
        rp_report__lp_floor(J->lp, v, J->gfloor[J->group_of_var[v]]);
    }
    for (size_t i = 0; i < L->n && rc == RP_OK; i++) {
        const rp_table *t = tables[i];
        for (size_t c = 0; c < t->n_cells; c++) {
            size_t g = L->group[L->first[i] + c];
            var_of[c] = J->var_of_group[g];
            /* hidden here, published elsewhere: the attacker reads it there */
            value[c] = hidden(t, c) ? J->gvalue[g] : t->value[c];
        }
        rc = rp_report__lp_add_table(J->lp, t, var_of, value, err);
    }
out:
    rp_free(var_of);
    rp_free(value);
    if (rc != RP_OK) {
        joint_release(J);
    }
    return rc;
}

/* Is group @p g primary (a member below the threshold)? Its first member for the count. */
static bool group_primary(const links *L, const rp_table *const *tables, size_t g)
{
    for (size_t m = L->g_first[g]; m < L->g_first[g + 1]; m++) {
        size_t c = 0;
        const rp_table *t = member(&c, L, tables, L->g_mem[m]);
        if (t->status[c] == RP_CELL_PRIMARY) {
            return true;
        }
    }
    return false;
}

/* The interval of variable @p v of @p J, judged as the primary (or not) group it is. */
static int joint_interval(rp_sdc_interval *iv,
                          joint *J,
                          const links *L,
                          const rp_table *const *tables,
                          size_t v,
                          bool primary,
                          const rp_sdc_opts *o,
                          rp_error *err)
{
    size_t g = J->group_of_var[v];
    size_t c = 0;
    const rp_table *t = member(&c, L, tables, L->g_mem[L->g_first[g]]);
    double lo = 0, hi = 0;
    int rc = rp_report__lp_bounds(&lo, &hi, J->lp, v, err);
    if (rc != RP_OK) {
        return rc;
    }
    memset(iv, 0, sizeof(*iv));
    iv->table = L->tab[L->g_mem[L->g_first[g]]];
    iv->cell = c;
    rp_report__sdc_judge(iv, t->count[c], primary, J->gfloor[g], lo, hi, o);
    return RP_OK;
}

static int check_tables(const rp_table *const *tables, size_t n, rp_error *err)
{
    if (n > 0 && tables == NULL) {
        return rp_error_set(err, RP_EINVAL, "no tables given");
    }
    for (size_t i = 0; i < n; i++) {
        if (tables[i] == NULL) {
            return rp_error_set(err, RP_EINVAL, "linked table %zu is missing", i + 1);
        }
    }
    return RP_OK;
}

/* The intervals of every variable (all, or of the primary groups not yet @p ok). */
static int joint_audit_all(rp_sdc_interval *giv,
                           bool *has_iv,
                           joint *J,
                           const links *L,
                           const rp_table *const *tables,
                           const rp_sdc_opts *o,
                           rp_error *err)
{
    int rc = RP_OK;
    for (size_t v = 1; v <= J->n_vars && rc == RP_OK; v++) {
        size_t g = J->group_of_var[v];
        rc = joint_interval(&giv[g], J, L, tables, v, group_primary(L, tables, g), o, err);
        has_iv[g] = rc == RP_OK;
    }
    return rc;
}

int rp_sdc_audit_linked(rp_sdc_interval **out,
                        size_t *n_out,
                        bool *passed,
                        const rp_table *const *tables,
                        size_t n,
                        const rp_sdc_opts *opts,
                        rp_error *err)
{
    rp_sdc_opts o;
    links L;
    joint J;
    rp_sdc_interval *giv = NULL, *iv = NULL;
    bool *has_iv = NULL;
    memset(&L, 0, sizeof(L));
    memset(&J, 0, sizeof(J));
    if (out == NULL || n_out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    *n_out = 0;
    int rc = rp_report__sdc_opts(&o, opts, err);
    if (rc == RP_OK) {
        rc = check_tables(tables, n, err);
    }
    if (rc != RP_OK || n == 0) {
        if (rc == RP_OK && passed != NULL) {
            *passed = true;
        }
        return rc;
    }
    rc = links_build(&L, tables, n, err);
    if (rc == RP_OK) {
        rc = joint_build(&J, &L, tables, err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    giv = rp_calloc(L.n_groups + 1, sizeof(*giv));
    has_iv = rp_calloc(L.n_groups + 1, sizeof(*has_iv));
    iv = rp_calloc(L.n_flat + 1, sizeof(*iv));
    if (giv == NULL || has_iv == NULL || iv == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = joint_audit_all(giv, has_iv, &J, &L, tables, &o, err);
    size_t k = 0;
    bool ok = true;
    for (size_t f = 0; f < L.n_flat && rc == RP_OK; f++) {
        size_t c = 0, g = L.group[f];
        const rp_table *t = member(&c, &L, tables, f);
        if (!hidden(t, c)) {
            continue;
        }
        bool primary = t->status[c] == RP_CELL_PRIMARY;
        double lo = has_iv[g] ? giv[g].lower : J.gvalue[g];
        double hi = has_iv[g] ? giv[g].upper : J.gvalue[g];
        iv[k].table = L.tab[f];
        iv[k].cell = c;
        rp_report__sdc_judge(&iv[k], t->count[c], primary, J.gfloor[g], lo, hi, &o);
        ok = ok && iv[k].protected_;
        k++;
    }
    if (rc == RP_OK) {
        if (k > 0) {
            *out = iv;
            iv = NULL;
        }
        *n_out = k;
        if (passed != NULL) {
            *passed = ok;
        }
    }
out:
    rp_free(giv);
    rp_free(has_iv);
    rp_free(iv);
    joint_release(&J);
    links_release(&L);
    return rc;
}

/* ==== linked protection ==== */

typedef struct linked {
    links L;
    rp_table *const *tables;
    rp_table **raw;        /* n unprotected copies */
    bool *forced;          /* n_groups: suppressed in every table that shows it */
    bool *ok;              /* n_groups: a primary group the joint audit found protected */
    bool *fresh;           /* n_groups: made a complement this round */
    rp_sdc_interval *fail; /* n_groups: the failures of the last joint audit */
    size_t *line;          /* the cells of one line */
    const rp_sdc_opts *o;
    rp_sdc_linked_report *rep;
} linked;

/* Every group suppressed in some table becomes forced. */
static void collect(linked *S)
{
    const links *L = &S->L;
    for (size_t f = 0; f < L->n_flat; f++) {
        size_t c = 0;
        const rp_table *t = member(&c, L, (const rp_table *const *)S->tables, f);
        if (hidden(t, c)) {
            S->forced[L->group[f]] = true;
        }
    }
}

/* Put the content of @p from into @p into, and the old content into @p from. */
static void swap_tables(rp_table *into, rp_table *from)
{
    rp_table tmp = *into;
    *into = *from;
    *from = tmp;
}

/* Protect again, from its unprotected copy, every table that publishes a forced cell,
 * with the forced cells as complements. *changed says whether any was. */
static int realign(linked *S, bool *changed, rp_error *err)
{
    const links *L = &S->L;
    int rc = RP_OK;
    *changed = false;
    for (size_t i = 0; i < L->n && rc == RP_OK; i++) {
        const rp_table *cur = S->tables[i];
        bool need = false;
        for (size_t c = 0; c < cur->n_cells && !need; c++) {
            need = S->forced[L->group[L->first[i] + c]] && cur->status[c] == RP_CELL_PUBLISHED;
        }
        if (!need) {
            continue;
        }
        rp_table *t = rp_table_dup(S->raw[i]);
        if (t == NULL) {
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        }
        for (size_t c = 0; c < t->n_cells; c++) {
            if (S->forced[L->group[L->first[i] + c]] && t->status[c] == RP_CELL_PUBLISHED) {
                t->status[c] = RP_CELL_SECONDARY;
            }
        }
        rc = rp_sdc_protect(t, S->o, NULL, err);
        if (rc == RP_OK) {
            swap_tables(S->tables[i], t);
            *changed = true;
        }
        rp_table_free(t);
    }
    return rc;
}

/* The cells of the line along @p d through cell @p c of @p t into S->line; their number. */
static size_t line_of(linked *S, const rp_table *t, size_t d, size_t c)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    rp_table_index(idx, t, c);
    size_t base = c - idx[d] * t->stride[d];
    for (size_t j = 0; j <= t->dims[d].n_cats; j++) {
        S->line[j] = base + j * t->stride[d];
    }
    return t->dims[d].n_cats + 1;
}

static bool is_margin(const rp_table *t, size_t c)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    rp_table_index(idx, t, c);
    for (size_t d = 0; d < t->n_dims; d++) {
        if (idx[d] == t->dims[d].n_cats) {
            return true;
        }
    }
    return false;
}

/* A candidate complement: flat cell, or SIZE_MAX for none. */
static bool better(linked *S, size_t f, size_t best)
{
    if (best == SIZE_MAX) {
        return true;
    }
    const rp_table *const *tables = (const rp_table *const *)S->tables;
    size_t c = 0, cb = 0;
    const rp_table *t = member(&c, &S->L, tables, f);
    const rp_table *tb = member(&cb, &S->L, tables, best);
    double xc = rp_report__sdc_cost(t->count[c], S->o),
           xb = rp_report__sdc_cost(tb->count[cb], S->o);
    if (xc != xb) {
        return xc < xb;
    }
    bool mc = is_margin(t, c), mb = is_margin(tb, cb);
    if (mc != mb) {
        return !mc;
    }
    return f < best;
}

static bool eligible(linked *S, size_t f)
{
    size_t c = 0;
    const rp_table *t = member(&c, &S->L, (const rp_table *const *)S->tables, f);
    return t->status[c] == RP_CELL_PUBLISHED && !S->forced[S->L.group[f]] &&
           (t->count[c] > 0 || S->o->zero_complements);
}

/* Does a line through a member of group @p g hold a complement of this round? */
static bool near_fresh(linked *S, size_t g)
{
    const links *L = &S->L;
    for (size_t m = L->g_first[g]; m < L->g_first[g + 1]; m++) {
        size_t f = L->g_mem[m], c = f - L->first[L->tab[f]];
        const rp_table *t = S->tables[L->tab[f]];
        for (size_t d = 0; d < t->n_dims; d++) {
            size_t len = line_of(S, t, d, c);
            for (size_t j = 0; j < len; j++) {
                if (S->fresh[L->group[L->first[L->tab[f]] + S->line[j]]]) {
                    return true;
                }
            }
        }
    }
    return false;
}

/*
 * A complement for the failing group of @p iv, as sdc.c's choose_complement() but over
 * the lines through every member in every table: the cheapest eligible published cell at
 * least as large as the missing width, else the largest, else the cheapest of any table
 * holding a member. SIZE_MAX when there is none.
 */
static size_t choose(linked *S, const rp_sdc_interval *iv, size_t g)
{
    const links *L = &S->L;
    double gap = iv->need_upper - iv->upper;
    gap = iv->lower - iv->need_lower > gap ? iv->lower - iv->need_lower : gap;
    double wgap = iv->need_width - (iv->upper - iv->lower);
    gap = wgap > gap ? wgap : gap;
    size_t enough = SIZE_MAX, largest = SIZE_MAX, any = SIZE_MAX;
    double largest_x = -1;
    for (size_t m = L->g_first[g]; m < L->g_first[g + 1]; m++) {
        size_t f = L->g_mem[m], i = L->tab[f], c = f - L->first[i];
        const rp_table *t = S->tables[i];
        for (size_t d = 0; d < t->n_dims; d++) {
            size_t len = line_of(S, t, d, c);
            for (size_t j = 0; j < len; j++) {
                size_t f2 = L->first[i] + S->line[j];
                double x = t->count[S->line[j]];
                if (!eligible(S, f2)) {
                    continue;
                }
                if (x >= gap && better(S, f2, enough)) {
                    enough = f2;
                }
                if (x > largest_x) {
                    largest = f2;
                    largest_x = x;
                }
            }
        }
        for (size_t c2 = 0; c2 < t->n_cells; c2++) {
            size_t f2 = L->first[i] + c2;
            if (eligible(S, f2) && better(S, f2, any)) {
                any = f2;
            }
        }
    }
    return enough != SIZE_MAX ? enough : (largest != SIZE_MAX ? largest : any);
}

/* One joint audit; *n_fail gets the primary groups still failing, left in S->fail. */
static int joint_round(linked *S, size_t *n_fail, rp_error *err)
{
    const rp_table *const *tables = (const rp_table *const *)S->tables;
    joint J;
    *n_fail = 0;
    int rc = joint_build(&J, &S->L, tables, err);
    for (size_t v = 1; rc == RP_OK && v <= J.n_vars; v++) {
        size_t g = J.group_of_var[v];
        if (S->ok[g] || !group_primary(&S->L, tables, g)) {
            continue;
        }
        rp_sdc_interval iv;
        rc = joint_interval(&iv, &J, &S->L, tables, v, true, S->o, err);
        S->rep->lp_solves += 2;
        if (rc == RP_OK && iv.protected_) {
            S->ok[g] = true;
        } else if (rc == RP_OK) {
            S->fail[(*n_fail)++] = iv;
        }
    }
    joint_release(&J);
    return rc;
}

/* Force a complement for each failing group; @return how many were added. */
static size_t add_complements(linked *S, size_t n_fail)
{
    const links *L = &S->L;
    size_t added = 0;
    memset(S->fresh, 0, L->n_groups * sizeof(*S->fresh));
    for (size_t k = 0; k < n_fail; k++) {
        size_t g = L->group[L->first[S->fail[k].table] + S->fail[k].cell];
        /* a complement of this round on one of its lines may widen it already: the next
         * audit says */
        if (added > 0 && near_fresh(S, g)) {
            continue;
        }
        size_t f = choose(S, &S->fail[k], g);
        if (f != SIZE_MAX) {
            S->forced[L->group[f]] = true;
            S->fresh[L->group[f]] = true;
            added++;
        }
    }
    return added;
}

/* Sum what the tables hold now into the report. */
static void
count_statuses(size_t *n_primary, size_t *n_secondary, rp_table *const *tables, size_t n)
{
    *n_primary = *n_secondary = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < tables[i]->n_cells; c++) {
            *n_primary += tables[i]->status[c] == RP_CELL_PRIMARY ? 1 : 0;
            *n_secondary += tables[i]->status[c] == RP_CELL_SECONDARY ? 1 : 0;
        }
    }
}

/* Align and audit until the joint audit passes. */
static int linked_loop(linked *S, rp_error *err)
{
    int rc = RP_OK;
    size_t n_fail = 0;
    for (;;) {
        if (S->rep->rounds >= S->o->max_rounds) {
            return rp_error_set(err, RP_EINTERNAL, "linked tables did not settle in %zu rounds",
                                S->rep->rounds);
        }
        S->rep->rounds++;
        bool changed = false;
        collect(S);
        rc = realign(S, &changed, err);
        if (rc != RP_OK) {
            return rc;
        }
        if (changed) {
            continue;
        }
        rc = joint_round(S, &n_fail, err);
        if (rc != RP_OK || n_fail == 0) {
            return rc;
        }
        size_t added = add_complements(S, n_fail);
        if (added == 0) {
            return rp_error_set(err, RP_EINTERNAL,
                                "linked tables: a primary cell fails the joint audit and no "
                                "cell is left to suppress");
        }
        S->rep->n_joint += added;
    }
}

static int linked_notes(rp_table *const *tables, size_t n, const rp_sdc_linked_report *rep)
{
    for (size_t i = 0; i < n; i++) {
        int rc = rp_table_add_note(
            tables[i],
            "tables protected jointly: %zu tables, %zu common cell%s, %zu round%s. A cell that "
            "several tables show is suppressed in all of them or in none, and one "
            "linear-programming audit of all the tables together checks that no suppressed "
            "cell can be narrowed by combining them",
            rep->n_tables, rep->n_common, rep->n_common == 1 ? "" : "s", rep->rounds,
            rep->rounds == 1 ? "" : "s");
        if (rc != RP_OK) {
            return rc;
        }
    }
    return RP_OK;
}

/* Protect each table on its own (the first step, and all there is without suppression). */
static int protect_each(rp_sdc_linked_report *rep,
                        rp_table *const *tables,
                        size_t n,
                        const rp_sdc_opts *o,
                        rp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        rp_sdc_report r;
        int rc = rp_sdc_protect(tables[i], o, &r, err);
        if (rc != RP_OK) {
            return rc;
        }
        rep->n_primary += r.n_primary;
        rep->n_secondary += r.n_secondary;
        rep->lp_solves += r.lp_solves;
        rep->audit_passed = rep->audit_passed && r.audit_passed;
    }
    rep->n_secondary_alone = rep->n_secondary;
    return RP_OK;
}

static int protect_linked(rp_sdc_linked_report *rep,
                          rp_table *const *tables,
                          size_t n,
                          const rp_sdc_opts *o,
                          rp_error *err)
{
    linked S;
    memset(&S, 0, sizeof(S));
    S.tables = tables;
    S.o = o;
    S.rep = rep;
    int rc = links_build(&S.L, (const rp_table *const *)tables, n, err);
    if (rc != RP_OK) {
        return rc;
    }
    size_t max_line = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < tables[i]->n_dims; d++) {
            size_t len = tables[i]->dims[d].n_cats + 1;
            max_line = len > max_line ? len : max_line;
        }
    }
    /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
    S.raw = rp_calloc(n, sizeof(*S.raw));
    S.forced = rp_calloc(S.L.n_groups + 1, sizeof(*S.forced));
    S.ok = rp_calloc(S.L.n_groups + 1, sizeof(*S.ok));
    S.fresh = rp_calloc(S.L.n_groups + 1, sizeof(*S.fresh));
    S.fail = rp_calloc(S.L.n_groups + 1, sizeof(*S.fail));
    S.line = rp_calloc(max_line + 1, sizeof(*S.line));
    if (S.raw == NULL || S.forced == NULL || S.ok == NULL || S.fresh == NULL || S.fail == NULL ||
        S.line == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        S.raw[i] = rp_table_dup(tables[i]);
        if (S.raw[i] == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    if (rc == RP_OK) {
        rc = protect_each(rep, tables, n, o, err);
    }
    if (rc == RP_OK) {
        rep->n_common = S.L.n_common;
        rc = linked_loop(&S, err);
    }
    if (rc == RP_OK) {
        count_statuses(&rep->n_primary, &rep->n_secondary, tables, n);
        rep->audit_passed = true;
        rc = linked_notes(tables, n, rep) == RP_OK ? RP_OK
                                                   : rp_error_set(err, RP_ENOMEM, "out of memory");
    }
out:
    for (size_t i = 0; S.raw != NULL && i < n; i++) {
        rp_table_free(S.raw[i]);
    }
    rp_free(S.raw);
    rp_free(S.forced);
    rp_free(S.ok);
    rp_free(S.fresh);
    rp_free(S.fail);
    rp_free(S.line);
    links_release(&S.L);
    return rc;
}

int rp_sdc_protect_linked(rp_sdc_linked_report *report,
                          rp_table *const *tables,
                          size_t n,
                          const rp_sdc_opts *opts,
                          rp_error *err)
{
    rp_sdc_opts o;
    rp_sdc_linked_report rep;
    memset(&rep, 0, sizeof(rep));
    rep.n_tables = n;
    rep.audit_passed = true;
    if (report != NULL) {
        *report = rep;
    }
    int rc = rp_report__sdc_opts(&o, opts, err);
    if (rc == RP_OK) {
        rc = check_tables((const rp_table *const *)tables, n, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    if (o.method != RP_SDC_SUPPRESS || n < 2) {
        /* nothing hidden to combine, or one table: its own audit is the joint audit */
        rc = protect_each(&rep, tables, n, &o, err);
    } else {
        rc = protect_linked(&rep, tables, n, &o, err);
    }
    if (report != NULL) {
        *report = rep;
    }
    return rc;
}
