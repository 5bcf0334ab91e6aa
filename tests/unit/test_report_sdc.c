/*
 * Unit tests for disclosure control (src/report/sdc.c, dp.c, store/report_query.c): a
 * table where the threshold rule alone is recomputable from the margins and secondary
 * suppression fixes it; a block of small cells that no single-complement rule protects;
 * an attack on every protected table (hand-made, random, and tables of the CTDC global
 * dataset) that solves the LP bounds of each suppressed cell with a formulation written
 * here, apart from sdc.c's audit; rounding and k-rounding; discrete Laplace and Gaussian
 * noise against theory; and the privacy budget accumulating and refusing past a cap.
 */
#include "report/report_int.h"
#include "rp_test.h"

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

#include <glpk.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* A table of @p n_dims dimensions with @p n_cats categories each, named c0, c1, ..., whose
 * interior counts are @p interior (row-major, no margins); margins are summed here. */
static rp_table *make_table(size_t n_dims, const size_t *n_cats, const double *interior)
{
    rp_table_dim dims[RP_TABLE_MAX_DIMS];
    static const rp_field fields[] = {RP_FIELD_SEX, RP_FIELD_CITIZENSHIP, RP_FIELD_AGE_BAND,
                                      RP_FIELD_LIST};
    for (size_t d = 0; d < n_dims; d++) {
        dims[d].field = fields[d];
        dims[d].n_cats = n_cats[d];
        dims[d].cats = NULL;
        dims[d].present = NULL;
    }
    rp_table *t = NULL;
    assert_rp_ok(rp_report__table_alloc(&t, dims, n_dims, NULL), NULL);
    t->unit = rp_strdup("persons");
    t->title = rp_strdup("test");
    for (size_t d = 0; d < n_dims; d++) {
        for (size_t i = 0; i < n_cats[d]; i++) {
            char b[32];
            snprintf(b, sizeof(b), "c%zu", i);
            t->dims[d].cats[i] = rp_strdup(b);
        }
    }
    /* every cell sums the interior cells it covers */
    size_t k = 0, idx[RP_TABLE_MAX_DIMS];
    for (size_t c = 0; c < t->n_cells; c++) {
        rp_table_index(idx, t, c);
        bool inside = true;
        for (size_t d = 0; d < n_dims; d++) {
            inside = inside && idx[d] < n_cats[d];
        }
        if (!inside) {
            continue;
        }
        double v = interior[k++];
        for (size_t mask = 0; mask < ((size_t)1 << n_dims); mask++) {
            size_t j[RP_TABLE_MAX_DIMS];
            for (size_t d = 0; d < n_dims; d++) {
                j[d] = (mask >> d) & 1u ? n_cats[d] : idx[d];
            }
            t->count[rp_table_cell(t, j)] += v;
        }
    }
    memcpy(t->value, t->count, t->n_cells * sizeof(double));
    return t;
}

/* ==== the attack: an LP written apart from sdc.c ==== */

/*
 * One variable per cell of the table (margins too): a published cell is fixed at its
 * value, a suppressed one is free in [0, inf). For every dimension and every line along
 * it: sum of the categories = margin (additive), or each category <= margin and their
 * sum >= margin (multi-valued). Positions are decoded here by mixed radix, not with the
 * library's strides. Minimise and maximise each suppressed cell; fail when the range is
 * narrower than the protection interval: p% (at least 1) either way and at least k wide.
 */
typedef struct attack_result {
    size_t n_suppressed;
    size_t n_primary;
    double narrowest; /* least (upper - lower) over primary cells */
} attack_result;

static void decode(size_t *pos, size_t c, const rp_table *t)
{
    for (size_t d = t->n_dims; d-- > 0;) {
        pos[d] = c % (t->dims[d].n_cats + 1);
        c /= t->dims[d].n_cats + 1;
    }
}

static size_t encode(const size_t *pos, const rp_table *t)
{
    size_t c = 0;
    for (size_t d = 0; d < t->n_dims; d++) {
        c = c * (t->dims[d].n_cats + 1) + pos[d];
    }
    return c;
}

static void add_row(glp_prob *lp, const int *cols, const double *vals, int n, int type, double rhs)
{
    /* GLPK reads ind[1..n] and val[1..n] */
    int *ind = calloc((size_t)n + 1, sizeof(int));
    double *val = calloc((size_t)n + 1, sizeof(double));
    if (ind == NULL || val == NULL) {
        free(ind);
        free(val);
        fail_msg("out of memory");
        return;
    }
    memcpy(ind + 1, cols, (size_t)n * sizeof(int));
    memcpy(val + 1, vals, (size_t)n * sizeof(double));
    int r = glp_add_rows(lp, 1);
    glp_set_row_bnds(lp, r, type, rhs, rhs);
    glp_set_mat_row(lp, r, n, ind, val);
    free(ind);
    free(val);
}

/*
 * What a reader knows of cell @p c before any value: a table lists only the categories
 * present, so the one-way margin of a listed category is at least 1 (the table's present
 * flags say which are listed by the data and which filled in, as gap years are).
 */
static double reader_floor(const rp_table *t, size_t c)
{
    size_t pos[RP_TABLE_MAX_DIMS], n_inner = 0, dim = 0;
    decode(pos, c, t);
    for (size_t d = 0; d < t->n_dims; d++) {
        if (pos[d] < t->dims[d].n_cats) {
            n_inner++;
            dim = d;
        }
    }
    return n_inner == 1 && t->dims[dim].present != NULL && t->dims[dim].present[pos[dim]] != 0
               ? 1.0
               : 0.0;
}

/* A category of a multi-valued field without information: it holds only persons with
 * no other code of the field (table.c drops it beside a real one). */
static bool vague_cat(const rp_table *t, size_t d, size_t i)
{
    const char *c = t->dims[d].cats[i];
    return c != NULL && (strcmp(c, "not_specified") == 0 || strcmp(c, "unknown") == 0);
}

/*
 * The LP of the attack: every cell a column, every relation of every line a row; with
 * @p disjoint, also real category + category without information <= margin along a
 * multi-valued dimension (the two hold different persons).
 */
static glp_prob *attack_lp_with(const rp_table *t, bool disjoint)
{
    glp_prob *lp = glp_create_prob();
    glp_add_cols(lp, (int)t->n_cells);
    for (size_t c = 0; c < t->n_cells; c++) {
        bool sup = t->status[c] == RP_CELL_PRIMARY || t->status[c] == RP_CELL_SECONDARY;
        assert_true(sup == isnan(t->value[c])); /* nothing suppressed is published */
        if (sup) {
            glp_set_col_bnds(lp, (int)c + 1, GLP_LO, reader_floor(t, c), 0);
        } else {
            glp_set_col_bnds(lp, (int)c + 1, GLP_FX, t->value[c], t->value[c]);
        }
    }
    int *cols = calloc(t->n_cells + 1, sizeof(int));
    double *vals = calloc(t->n_cells + 1, sizeof(double));
    assert_non_null(cols);
    assert_non_null(vals);
    size_t pos[RP_TABLE_MAX_DIMS];
    for (size_t d = 0; d < t->n_dims; d++) {
        size_t m = t->dims[d].n_cats;
        bool multi = rp_report__field_multi(t->dims[d].field);
        for (size_t c = 0; c < t->n_cells; c++) {
            decode(pos, c, t);
            if (pos[d] != m) {
                continue; /* c is the margin of one line along d */
            }
            int nn = 0;
            for (size_t i = 0; i < m; i++) {
                pos[d] = i;
                cols[nn] = (int)encode(pos, t) + 1;
                vals[nn++] = 1.0;
                if (multi) {
                    int pc[2] = {(int)encode(pos, t) + 1, (int)c + 1};
                    double pv[2] = {1.0, -1.0};
                    add_row(lp, pc, pv, 2, GLP_UP, 0.0);
                }
            }
            cols[nn] = (int)c + 1;
            vals[nn++] = -1.0;
            add_row(lp, cols, vals, nn, multi ? GLP_LO : GLP_FX, 0.0);
            for (size_t u = 0; multi && disjoint && u < m; u++) {
                for (size_t i = 0; vague_cat(t, d, u) && i < m; i++) {
                    if (vague_cat(t, d, i)) {
                        continue;
                    }
                    pos[d] = i;
                    int real = (int)encode(pos, t) + 1;
                    pos[d] = u;
                    int pc[3] = {real, (int)encode(pos, t) + 1, (int)c + 1};
                    double pv[3] = {1.0, 1.0, -1.0};
                    add_row(lp, pc, pv, 3, GLP_UP, 0.0);
                }
            }
        }
    }
    free(cols);
    free(vals);
    return lp;
}

static glp_prob *attack_lp(const rp_table *t)
{
    return attack_lp_with(t, true);
}

/* Minimise (dir 0) or maximise (dir 1) cell @p c; INFINITY when unbounded. */
static double attack_bound(glp_prob *lp, const rp_table *t, size_t c, int dir)
{
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    for (size_t j = 0; j < t->n_cells; j++) {
        glp_set_obj_coef(lp, (int)j + 1, j == c ? 1.0 : 0.0);
    }
    glp_set_obj_dir(lp, dir == 0 ? GLP_MIN : GLP_MAX);
    int rc = glp_simplex(lp, &parm);
    int st = glp_get_status(lp);
    if (dir == 1 && (rc == GLP_ENODFS || st == GLP_UNBND)) {
        return INFINITY;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(st, GLP_OPT);
    return glp_get_obj_val(lp);
}

static attack_result attack(const rp_table *t, double k, double pct)
{
    attack_result res = {0, 0, INFINITY};
    glp_prob *lp = attack_lp(t);
    for (size_t c = 0; c < t->n_cells; c++) {
        if (!isnan(t->value[c])) {
            continue;
        }
        res.n_suppressed++;
        double lo = attack_bound(lp, t, c, 0), hi = attack_bound(lp, t, c, 1);
        double x = t->count[c];
        assert_true(lo <= x + 1e-6 && hi >= x - 1e-6); /* the truth is feasible */
        if (t->status[c] != RP_CELL_PRIMARY) {
            continue;
        }
        res.n_primary++;
        double p = ceil(pct / 100 * x - 1e-9);
        p = p < 1 ? 1 : p;
        lo = ceil(lo - 1e-6);
        hi = floor(hi + 1e-6);
        res.narrowest = hi - lo < res.narrowest ? hi - lo : res.narrowest;
        /* below what the reader knows the range cannot go: x - p, or that floor */
        double need_lo = x - p > reader_floor(t, c) ? x - p : reader_floor(t, c);
        if (lo > need_lo || hi < x + p || hi - lo < k) {
            fail_msg("cell %zu (count %g) can be narrowed to [%g, %g]", c, x, lo, hi);
        }
    }
    glp_delete_prob(lp);
    return res;
}

static rp_sdc_report protect(rp_table *t, const rp_sdc_opts *o)
{
    rp_sdc_report rep;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sdc_protect(t, o, &rep, &err), &err);
    return rep;
}

/* ==== secondary suppression ==== */

static void sdc_protect__threshold_alone_is_recomputable(void **state)
{
    (void)state;
    /*   X   Y | tot       (A,X) = 3 is below k = 5. Suppressing it alone, it is
     * A 3  10 |  13       13 - 10 = 3 from its row: the audit must say so. Secondary
     * B 8  12 |  20       suppression adds the cheapest complements, 10, 8 and 12: the
     * 11  22 |  33       rectangle, and the range of (A,X) becomes [0, 11]. */
    const size_t n[2] = {2, 2};
    const double v[4] = {3, 10, 8, 12};
    rp_table *t = make_table(2, n, v);
    t->status[0] = RP_CELL_PRIMARY; /* the threshold rule alone */
    t->value[0] = NAN;
    rp_sdc_interval *iv = NULL;
    size_t n_iv = 0;
    bool passed = true;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sdc_audit(&iv, &n_iv, &passed, t, NULL, &err), &err);
    assert_int_equal(n_iv, 1);
    assert_false(passed);
    assert_close(iv[0].lower, 3, 0, 0);
    assert_close(iv[0].upper, 3, 0, 0);
    rp_free(iv);
    rp_table_free(t);

    t = make_table(2, n, v);
    rp_sdc_report rep = protect(t, NULL);
    assert_int_equal(rep.n_primary, 1);
    assert_int_equal(rep.n_secondary, 3);
    assert_true(rep.audit_passed);
    assert_int_equal(t->status[1], RP_CELL_SECONDARY); /* 10 */
    assert_int_equal(t->status[3], RP_CELL_SECONDARY); /* 8 */
    assert_int_equal(t->status[4], RP_CELL_SECONDARY); /* 12 */
    assert_int_equal(t->status[2], RP_CELL_PUBLISHED); /* the margins stay */
    assert_close(rep.suppressed_total, 33, 0, 0);
    assert_rp_ok(rp_sdc_audit(&iv, &n_iv, &passed, t, NULL, &err), &err);
    assert_true(passed);
    assert_int_equal(n_iv, 4);
    assert_close(iv[0].lower, 0, 0, 0);
    assert_close(iv[0].upper, 11, 0, 0);
    rp_free(iv);
    attack_result a = attack(t, 5, 10);
    assert_int_equal(a.n_primary, 1);
    assert_int_equal(a.n_suppressed, 4);
    rp_table_free(t);
}

static void sdc_protect__block_of_small_cells_needs_the_audit(void **state)
{
    (void)state;
    /* A 2x2 block of primary cells: every row and column already holds two suppressed
     * cells, so no line gives one away, yet the margins pin (A,X) = 1 to [0, 3]: the
     * rows give x11 + x12 = 3 and x21 + x22 = 7, the columns x11 + x21 = 4. */
    const size_t n[2] = {3, 3};
    const double v[9] = {1, 2, 50, /**/ 3, 4, 60, /**/ 30, 40, 70};
    rp_table *t = make_table(2, n, v);
    size_t idx[2];
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 2; j++) {
            idx[0] = i;
            idx[1] = j;
            t->status[rp_table_cell(t, idx)] = RP_CELL_PRIMARY;
            t->value[rp_table_cell(t, idx)] = NAN;
        }
    }
    rp_sdc_interval *iv = NULL;
    size_t n_iv = 0;
    bool passed = true;
    assert_rp_ok(rp_sdc_audit(&iv, &n_iv, &passed, t, NULL, NULL), NULL);
    assert_false(passed);
    assert_close(iv[0].lower, 0, 0, 0);
    assert_close(iv[0].upper, 3, 0, 0);
    rp_free(iv);
    rp_table_free(t);

    t = make_table(2, n, v);
    rp_sdc_report rep = protect(t, NULL);
    assert_int_equal(rep.n_primary, 4);
    assert_true(rep.n_secondary >= 1);
    assert_true(rep.rounds >= 2);
    attack_result a = attack(t, 5, 10);
    assert_int_equal(a.n_primary, 4);
    assert_true(a.narrowest >= 5);
    rp_table_free(t);
}

/* A deterministic generator for the random tables (splitmix64). */
/*
 * Store a6 of the review: citizenship PL 50, UA 40, VN 2, unknown 3. Suppressing VN and
 * unknown alone leaves each in [0, 5] when a hidden cell may be 0, wide enough; but the
 * table lists only citizenships present, so each is at least 1 and the reader narrows
 * both to [1, 4]. The audit must know it too and suppress a complement.
 */
static void sdc_protect__listed_categories_are_at_least_one(void **state)
{
    (void)state;
    static const double interior[] = {50, 40, 2, 3};
    size_t n_cats[] = {4};
    rp_table *t = make_table(1, n_cats, interior);
    for (size_t i = 0; i < n_cats[0]; i++) {
        t->dims[0].present[i] = 1;
    }
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    rp_sdc_report rep = protect(t, &o);
    assert_true(rep.audit_passed);
    assert_int_equal(rep.n_primary, 2);
    assert_true(rep.n_secondary >= 1);
    attack_result a = attack(t, o.k, o.protection_pct);
    assert_int_equal(a.n_primary, 2);
    assert_true(a.narrowest >= o.k);
    rp_table_free(t);

    /* a cell of 1 known to be >= 1: its range must reach 1 + k, and it does */
    static const double ones[] = {30, 1, 20};
    size_t n3[] = {3};
    t = make_table(1, n3, ones);
    for (size_t i = 0; i < n3[0]; i++) {
        t->dims[0].present[i] = 1;
    }
    rep = protect(t, &o);
    assert_true(rep.audit_passed);
    a = attack(t, o.k, o.protection_pct);
    assert_int_equal(a.n_primary, 1);
    rp_table_free(t);

    /* a gap year filled in with 0 is not known to be >= 1: the LP stays feasible */
    static const double gap[] = {40, 0, 3, 30};
    size_t n4[] = {4};
    t = make_table(1, n4, gap);
    t->dims[0].present[0] = 1;
    t->dims[0].present[2] = 1;
    t->dims[0].present[3] = 1;
    o.zero_unsafe = true;
    rep = protect(t, &o);
    assert_true(rep.audit_passed);
    a = attack(t, o.k, o.protection_pct);
    assert_int_equal(a.n_primary, rep.n_primary);
    rp_table_free(t);
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void sdc_protect__random_tables_withstand_the_attack(void **state)
{
    (void)state;
    uint64_t seed = 20261129;
    static const rp_sdc_cost costs[] = {RP_SDC_COST_VALUE, RP_SDC_COST_LOG, RP_SDC_COST_UNIT};
    for (int rep_i = 0; rep_i < 60; rep_i++) {
        size_t n_dims = 1 + next_u64(&seed) % 3, n[3], cells = 1;
        for (size_t d = 0; d < n_dims; d++) {
            n[d] = 2 + next_u64(&seed) % 4;
            cells *= n[d];
        }
        double v[125];
        for (size_t i = 0; i < cells; i++) {
            uint64_t r = next_u64(&seed) % 10;
            /* many small cells, some zeros, some large */
            v[i] = r < 2 ? 0
                         : (r < 6 ? (double)(1 + next_u64(&seed) % 4)
                                  : (double)(5 + next_u64(&seed) % 40));
        }
        rp_table *t = make_table(n_dims, n, v);
        rp_sdc_opts o = RP_SDC_OPTS_INIT;
        o.cost = costs[rep_i % 3];
        o.zero_unsafe = rep_i % 5 == 0;
        o.protection_pct = rep_i % 2 == 0 ? 10 : 30;
        rp_sdc_report r = protect(t, &o);
        assert_true(r.audit_passed);
        attack(t, o.k, o.protection_pct);
        rp_table_free(t);
    }
}

static void sdc_protect__multi_valued_table(void **state)
{
    (void)state;
    /* forms x sex from person-level sets: the interior does not add up to the margin */
    rp_case_record r[40];
    for (size_t i = 0; i < 40; i++) {
        rp_case_record_init(&r[i]);
        snprintf(r[i].list, sizeof(r[i].list), "L");
        r[i].sex = i % 3 == 0 ? RP_SEX_MALE : RP_SEX_FEMALE;
        r[i].exploitation = i % 4 == 0 ? RP_EXPL_SEXUAL | RP_EXPL_FORCED_LABOUR
                                       : (i % 7 == 0 ? RP_EXPL_FORCED_BEGGING : RP_EXPL_SEXUAL);
        r[i].exploitation_state = RP_STATE_KNOWN;
    }
    rp_report_data *d = NULL;
    assert_rp_ok(rp_report_data_from_records(&d, r, 40, NULL, NULL), NULL);
    const rp_field f[2] = {RP_FIELD_EXPLOITATION, RP_FIELD_SEX};
    rp_table *t = NULL;
    assert_rp_ok(rp_report_table_build(&t, d, f, 2, NULL, NULL), NULL);
    assert_false(t->additive);
    rp_sdc_report rep = protect(t, NULL);
    assert_true(rep.n_primary > 0);
    attack(t, 5, 10);
    rp_table_free(t);
    rp_report_data_free(d);
}

/*
 * Labour sectors of 20 persons with information: agriculture 17, construction 2 (all in
 * agriculture too), "not specified" 3 (nobody else: table.c drops the code beside a real
 * one). With k = 5 the threshold hides construction and not specified. The old audit
 * (each <= 20, sum >= 20) leaves not specified in [0, 20] and passes; a reader who knows
 * that not specified and agriculture are different persons gets not specified <=
 * 20 - 17 = 3, its value: the audit must see that, and protection must hold against it.
 */
static rp_table *sectors_table(void)
{
    static const char *const cats[3] = {"agriculture", "construction", "not_specified"};
    static const double counts[4] = {17, 2, 3, 20};
    rp_table_dim dim = {.field = RP_FIELD_LABOUR_SECTORS, .n_cats = 3};
    rp_table *t = NULL;
    assert_rp_ok(rp_report__table_alloc(&t, &dim, 1, NULL), NULL);
    t->unit = rp_strdup("persons");
    t->title = rp_strdup("sectors");
    for (size_t i = 0; i < 3; i++) {
        t->dims[0].cats[i] = rp_strdup(cats[i]);
    }
    for (size_t c = 0; c < 4; c++) {
        t->count[c] = t->value[c] = counts[c];
    }
    assert_false(t->additive);
    return t;
}

static void sdc_audit__not_specified_is_disjoint_from_real_categories(void **state)
{
    (void)state;
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.k = 5;
    o.protection_pct = 10;
    rp_error err = RP_ERROR_INIT;

    /* the threshold alone: construction and not specified hidden, agriculture shown */
    rp_table *t = sectors_table();
    for (size_t c = 1; c <= 2; c++) {
        t->status[c] = RP_CELL_PRIMARY;
        t->value[c] = NAN;
    }
    glp_prob *lp = attack_lp_with(t, false);
    assert_close(attack_bound(lp, t, 2, 1), 20, 0, 1e-9); /* without: up to the total */
    glp_delete_prob(lp);
    lp = attack_lp_with(t, true);
    assert_close(attack_bound(lp, t, 2, 1), 3, 0, 1e-9); /* with it: its value */
    glp_delete_prob(lp);
    rp_sdc_interval *iv = NULL;
    size_t n_iv = 0;
    bool passed = true;
    assert_rp_ok(rp_sdc_audit(&iv, &n_iv, &passed, t, &o, &err), &err);
    assert_false(passed); /* the audit knows it too */
    assert_int_equal(n_iv, 2);
    assert_int_equal(iv[1].cell, 2);
    assert_close(iv[1].upper, 3, 0, 0);
    assert_false(iv[1].protected_);
    rp_free(iv);
    /* and so does the joint audit of linked tables (sdc_linked.c), which shares the LP */
    assert_rp_ok(rp_sdc_audit_linked(&iv, &n_iv, &passed, (const rp_table *const *)&t, 1, &o, &err),
                 &err);
    assert_false(passed);
    rp_free(iv);
    rp_table_free(t);

    /* protected: a complement is added, and the attack with the relation finds nothing */
    t = sectors_table();
    rp_sdc_report rep = protect(t, &o);
    assert_int_equal(rep.n_primary, 2);
    assert_true(rep.n_secondary >= 1);
    assert_true(rep.audit_passed);
    attack_result res = attack(t, o.k, o.protection_pct);
    assert_int_equal(res.n_primary, 2);
    rp_table_free(t);
}

/* ==== the CTDC global dataset: every published table attacked ==== */

static void sdc_protect__ctdc_tables_withstand_the_attack(void **state)
{
    (void)state;
    char csv[1024], mpath[1024], dir[512], db[600];
    rp_test_source_file(csv, sizeof(csv), "data/ctdc/ctdc_global_dataset_2018_kanon.csv");
    rp_test_source_file(mpath, sizeof(mpath), "data/mappings/ctdc.json");
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/ctdc.db", dir);
    rp_store *st = NULL;
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_import_report irep;
    assert_rp_ok(rp_store_open(&st, db, RP_STORE_CREATE, &err), &err);
    assert_rp_ok(rp_mapping_load(&m, mpath, &err), &err);
    assert_rp_ok(rp_store_import(&irep, st, csv, m, NULL, &err), &err);
    rp_mapping_free(m);
    rp_report_data *d = NULL;
    assert_rp_ok(rp_report_data_load(&d, st, NULL, &err), &err);

    /* the tables a patterns-and-trends report publishes */
    static const struct {
        size_t n;
        rp_field f[3];
    } tables[] = {
        {1, {RP_FIELD_REGISTRATION_YEAR}},
        {1, {RP_FIELD_CITIZENSHIP}},
        {2, {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX}},
        {2, {RP_FIELD_AGE_BAND, RP_FIELD_SEX}},
        {2, {RP_FIELD_SEX, RP_FIELD_MAJORITY_AT_EXPLOITATION}},
        {2, {RP_FIELD_CITIZENSHIP, RP_FIELD_SEX}},
        {2, {RP_FIELD_EXPLOITATION, RP_FIELD_SEX}},
        {2, {RP_FIELD_LABOUR_SECTORS, RP_FIELD_SEX}},
        {2, {RP_FIELD_EXPLOITATION, RP_FIELD_REGISTRATION_YEAR}},
        {3, {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX, RP_FIELD_MAJORITY_AT_EXPLOITATION}},
        {2, {RP_FIELD_CITIZENSHIP, RP_FIELD_COUNTRY_OF_EXPLOITATION}},
        {2, {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_CITIZENSHIP}},
        {2, {RP_FIELD_CITIZENSHIP, RP_FIELD_AGE_BAND}},
        {2, {RP_FIELD_COUNTRY_OF_EXPLOITATION, RP_FIELD_EXPLOITATION}},
        {3, {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_CITIZENSHIP, RP_FIELD_SEX}},
    };

    /* The release is k-anonymised (no combination of its key fields under 11 records),
     * so k = 5 finds few small cells; k = 20 finds many. */
    static const double ks[] = {5, 20};
    size_t total_primary = 0;
    for (size_t ki = 0; ki < RP_ARRAY_LEN(ks); ki++) {
        for (size_t i = 0; i < RP_ARRAY_LEN(tables); i++) {
            rp_table *t = NULL;
            assert_rp_ok(rp_report_table_build(&t, d, tables[i].f, tables[i].n, NULL, &err), &err);
            /* the listing tells a reader which categories occur: every one, but of the
             * years only the first and the last (the gaps are filled in) */
            for (size_t dd = 0; dd < t->n_dims; dd++) {
                size_t nc = t->dims[dd].n_cats;
                bool years = t->dims[dd].field == RP_FIELD_REGISTRATION_YEAR;
                assert_non_null(t->dims[dd].present);
                for (size_t j = 0; j < nc; j++) {
                    assert_true(t->dims[dd].present[j] != 0 || (years && j > 0 && j + 1 < nc));
                }
            }
            rp_sdc_opts o = RP_SDC_OPTS_INIT;
            o.k = ks[ki];
            rp_sdc_report rep = protect(t, &o);
            assert_true(rep.audit_passed);
            attack_result a = attack(t, o.k, o.protection_pct);
            assert_int_equal(a.n_primary, rep.n_primary);
            total_primary += rep.n_primary;
            print_message("k %g, %s: %zu cells, %zu primary, %zu secondary, %zu rounds\n", o.k,
                          t->title, t->n_cells, rep.n_primary, rep.n_secondary, rep.rounds);
            rp_table_free(t);
        }
    }
    assert_true(total_primary > 100); /* the test is not vacuous: CTDC has small cells */
    rp_report_data_free(d);
    rp_store_close(st);
    rp_test_rmtree(dir);
}

/* ==== rounding ==== */

static void sdc_round__base_and_k_rounding(void **state)
{
    (void)state;
    const size_t n[1] = {4};
    const double v[4] = {2, 7, 12, 23};
    rp_table *t = make_table(1, n, v);
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.method = RP_SDC_ROUND;
    o.base = 5;
    rp_sdc_report rep = protect(t, &o);
    const double want[5] = {0, 5, 10, 25, 45}; /* 44 rounds to 45 */
    for (size_t c = 0; c < 5; c++) {
        assert_close(t->value[c], want[c], 0, 0);
        assert_int_equal(t->status[c], RP_CELL_ROUNDED);
    }
    assert_int_equal(rep.n_rounded, 5);
    rp_table_free(t);

    t = make_table(1, n, v);
    o.method = RP_SDC_KROUND;
    o.k = 5;
    rep = protect(t, &o);
    assert_int_equal(t->status[0], RP_CELL_PRIMARY); /* 2 < k: not shown */
    assert_true(isnan(t->value[0]));
    assert_close(t->value[1], 5, 0, 0);  /* 7 down to 5 */
    assert_close(t->value[2], 10, 0, 0); /* 12 down to 10 */
    assert_close(t->value[4], 40, 0, 0); /* 44 down to 40 */
    assert_int_equal(rep.n_primary, 1);
    rp_table_free(t);
}

static bool has_note(const rp_table *t, const char *what)
{
    for (size_t i = 0; i < t->n_notes; i++) {
        if (strstr(t->notes[i], what) != NULL) {
            return true;
        }
    }
    return false;
}

/* Notes write numbers as the tables do: "1,000", never "1000" or "1e+03"; an epsilon
 * stays a decimal ("0.00001", not "1e-05"). */
static void sdc_notes__numbers_have_thousands_separators(void **state)
{
    (void)state;
    const size_t n[1] = {3};
    const double v[3] = {2500, 1200, 700};
    rp_table *t = make_table(1, n, v);
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.method = RP_SDC_ROUND;
    o.base = 1000;
    protect(t, &o);
    assert_true(has_note(t, "nearest multiple of 1,000,"));
    rp_table_free(t);

    t = make_table(1, n, v);
    o.method = RP_SDC_KROUND;
    o.k = 1000;
    protect(t, &o);
    assert_true(has_note(t, "k = 1,000)"));
    rp_table_free(t);

    t = make_table(1, n, v);
    o = (rp_sdc_opts)RP_SDC_OPTS_INIT;
    o.k = 1000;
    protect(t, &o);
    assert_true(has_note(t, "of 1 to 999 persons")); /* 700 hidden */
    rp_table_free(t);
    t = make_table(1, n, v);
    o.k = 1000001;
    protect(t, &o);
    assert_true(has_note(t, "of 1 to 1,000,000 persons"));
    rp_table_free(t);

    t = make_table(1, n, v);
    o = (rp_sdc_opts)RP_SDC_OPTS_INIT;
    o.method = RP_SDC_DP_LAPLACE;
    o.epsilon = 0.00001;
    protect(t, &o);
    assert_true(has_note(t, "epsilon = 0.00001 for this table (pure DP; sensitivity 1, noise sd "
                            "141,421)"));
    rp_table_free(t);
}

static void sdc_protect__bad_options_and_twice(void **state)
{
    (void)state;
    const size_t n[1] = {2};
    const double v[2] = {2, 7};
    rp_table *t = make_table(1, n, v);
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    rp_error err = RP_ERROR_INIT;
    o.k = 0;
    assert_rp_status(rp_sdc_protect(t, &o, NULL, &err), RP_EINVAL, &err);
    o = (rp_sdc_opts)RP_SDC_OPTS_INIT;
    o.method = RP_SDC_DP_LAPLACE;
    o.epsilon = 0;
    assert_rp_status(rp_sdc_protect(t, &o, NULL, &err), RP_EINVAL, &err);
    assert_rp_ok(rp_sdc_protect(t, NULL, NULL, &err), &err);
    assert_rp_status(rp_sdc_protect(t, NULL, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "already protected"));
    rp_table_free(t);
}

/* ==== differential privacy ==== */

#define N_DRAWS 200000

static void moments_of(double *mean, double *var, long long (*draw)(double), double arg)
{
    long double s = 0, s2 = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        double z = (double)draw(arg);
        s += z;
        s2 += z * z;
    }
    *mean = (double)(s / N_DRAWS);
    *var = (double)(s2 / N_DRAWS) - *mean * *mean;
}

static void dp_noise__moments_match_theory(void **state)
{
    (void)state;
    static const double scales[] = {0.5, 2.0, 10.0};
    for (size_t i = 0; i < RP_ARRAY_LEN(scales); i++) {
        double mean = 0, var = 0, want = rp_dp_laplace_variance(scales[i]);
        /* Var of the discrete Laplace: 2p/(1-p)^2, p = exp(-1/scale) */
        double p = exp(-1 / scales[i]);
        assert_close(want, 2 * p / ((1 - p) * (1 - p)), 1e-14, 0);
        moments_of(&mean, &var, rp_dp_laplace, scales[i]);
        /* 6 standard errors: sd of the mean sqrt(var/n), of the variance about
         * sqrt(5/n) var (excess kurtosis 3) */
        assert_close(mean, 0, 0, 6 * sqrt(want / N_DRAWS));
        assert_close(var, want, 6 * sqrt(5.0 / N_DRAWS), 0);
    }
    static const double sigma2[] = {0.25, 2.5, 40.0};
    for (size_t i = 0; i < RP_ARRAY_LEN(sigma2); i++) {
        double mean = 0, var = 0, want = rp_dp_gaussian_variance(sigma2[i]);
        assert_true(want <= sigma2[i] * (1 + 1e-12));
        if (sigma2[i] >= 2) {
            assert_close(want, sigma2[i], 1e-6, 0); /* CKS 2020, Prop. 19 */
        }
        moments_of(&mean, &var, rp_dp_gaussian, sigma2[i]);
        assert_close(mean, 0, 0, 6 * sqrt(want / N_DRAWS));
        assert_close(var, want, 6 * sqrt(3.0 / N_DRAWS), 0);
    }
    /* the shape: P(0)/P(1) = exp(1/(2 sigma2)) for the discrete Gaussian, sigma2 = 1 */
    long n0 = 0, n1 = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        long long z = rp_dp_gaussian(1.0);
        n0 += z == 0;
        n1 += z == 1;
    }
    assert_close((double)n0 / (double)n1, exp(0.5), 0.05, 0);
}

static void dp_protect__table_is_noisy_and_consistent(void **state)
{
    (void)state;
    const size_t n[2] = {2, 3};
    const double v[6] = {1, 2, 30, 4, 50, 60};
    rp_table *t = make_table(2, n, v);
    rp_sdc_opts o = RP_SDC_OPTS_INIT;
    o.method = RP_SDC_DP_LAPLACE;
    o.epsilon = 1.0;
    rp_sdc_report rep = protect(t, &o);
    assert_int_equal(rep.n_noisy, t->n_cells);
    size_t idx[2];
    for (size_t c = 0; c < t->n_cells; c++) {
        assert_int_equal(t->status[c], RP_CELL_NOISY);
        assert_true(t->value[c] >= 0 && t->value[c] == floor(t->value[c]));
    }
    /* totals are sums of the noisy cells */
    for (size_t i = 0; i <= 2; i++) {
        double s = 0;
        for (size_t j = 0; j < 3; j++) {
            idx[0] = i;
            idx[1] = j;
            s += t->value[rp_table_cell(t, idx)];
        }
        idx[1] = 3;
        assert_close(t->value[rp_table_cell(t, idx)], s, 0, 0);
    }
    assert_non_null(strstr(t->notes[t->n_notes - 1], "epsilon = 1"));
    rp_table_free(t);
}

static void dp_budget__accumulates_and_refuses_past_the_cap(void **state)
{
    (void)state;
    char dir[512], db[600];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/b.db", dir);
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, db, RP_STORE_CREATE, &err), &err);
    rp_budget b;
    assert_rp_ok(rp_report_budget_spent(&b, st, &err), &err);
    assert_int_equal(b.releases, 0);
    assert_rp_ok(rp_report_budget_charge(&b, st, "year x sex", 0.5, 0, 1.2, 0, &err), &err);
    assert_rp_ok(rp_report_budget_charge(&b, st, "age x sex", 0.5, 0, 1.2, 0, &err), &err);
    assert_close(b.epsilon, 1.0, 1e-15, 0);
    assert_rp_status(rp_report_budget_charge(&b, st, "one more", 0.5, 0, 1.2, 0, &err), RP_EPERM,
                     &err);
    assert_non_null(strstr(err.msg, "privacy budget exceeded"));
    assert_rp_ok(rp_report_budget_spent(&b, st, &err), &err);
    assert_int_equal(b.releases, 2);
    assert_close(b.epsilon, 1.0, 1e-15, 0);
    assert_close(b.rho, 0.25, 1e-15, 0); /* 2 x 0.5^2 / 2 */
    /* a Gaussian release counts in rho; the rho cap refuses beyond it */
    assert_rp_ok(rp_report_budget_charge(&b, st, "gauss", 0, 0.1, 0, 0.4, &err), &err);
    assert_close(b.rho, 0.35, 1e-14, 0);
    assert_rp_status(rp_report_budget_charge(&b, st, "gauss", 0, 0.1, 0, 0.4, &err), RP_EPERM,
                     &err);
    assert_rp_status(rp_report_budget_charge(&b, st, "both", 0.1, 0.1, 0, 0, &err), RP_EINVAL,
                     &err);
    rp_store_close(st);
    /* the ledger survives reopening */
    assert_rp_ok(rp_store_open(&st, db, 0, &err), &err);
    assert_rp_ok(rp_report_budget_spent(&b, st, &err), &err);
    assert_int_equal(b.releases, 3);
    rp_store_close(st);
    rp_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdc_protect__threshold_alone_is_recomputable),
        cmocka_unit_test(sdc_protect__block_of_small_cells_needs_the_audit),
        cmocka_unit_test(sdc_protect__listed_categories_are_at_least_one),
        cmocka_unit_test(sdc_protect__random_tables_withstand_the_attack),
        cmocka_unit_test(sdc_protect__multi_valued_table),
        cmocka_unit_test(sdc_audit__not_specified_is_disjoint_from_real_categories),
        cmocka_unit_test(sdc_protect__ctdc_tables_withstand_the_attack),
        cmocka_unit_test(sdc_round__base_and_k_rounding),
        cmocka_unit_test(sdc_notes__numbers_have_thousands_separators),
        cmocka_unit_test(sdc_protect__bad_options_and_twice),
        cmocka_unit_test(dp_noise__moments_match_theory),
        cmocka_unit_test(dp_protect__table_is_noisy_and_consistent),
        cmocka_unit_test(dp_budget__accumulates_and_refuses_past_the_cap),
    };
    return cmocka_run_group_tests_name("report_sdc", tests, setup, NULL);
}
