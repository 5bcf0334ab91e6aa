/*
 * Unit tests for the regional view and the trends of a report (src/report/pool.c,
 * sdc_pool.c, regions.c, trend.c, trend_out.c): pooled tables by state and region worked
 * out by hand (structural zeros where a state is outside the region), slices of a table,
 * an attack on the published views of pooled tables protected together (an LP written
 * here from what a reader sees: every published number is the sum of the states'
 * categories it covers, and a state's total is the same in every table), with a control
 * showing that the attack bites when the secondary suppressions are taken away; the
 * trend of estimates and the describing and writing of trends against values worked by
 * hand; the state-table parser and the shipped region table; allocation failures.
 */
#include "report/report_int.h"
#include "rp_test.h"

#include <rapporteur/chart.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>

#include <glpk.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

static rp_case_record rec(const char *list, int year, rp_sex sex)
{
    rp_case_record r;
    rp_case_record_init(&r);
    snprintf(r.list, sizeof(r.list), "%s", list);
    r.registration_year = year;
    r.sex = sex;
    return r;
}

static rp_report_data *load(const rp_case_record *r, size_t n)
{
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_report_data_from_records(&d, r, n, NULL, &err), &err);
    return d;
}

/*
 * Three states by hand (records, no person ids):
 *   PL (region East): 2020 F, 2020 F, 2021 M            -> 3
 *   DE (region West): 2020 M, 2021 F, 2021 F, 2021 M    -> 4
 *   AT (region West): 2021 F                            -> 1
 */
static rp_report_data *hand_pool(void)
{
    const rp_case_record pl[] = {rec("police", 2020, RP_SEX_FEMALE),
                                 rec("ngo", 2020, RP_SEX_FEMALE), rec("police", 2021, RP_SEX_MALE)};
    const rp_case_record de[] = {
        rec("police", 2020, RP_SEX_MALE), rec("police", 2021, RP_SEX_FEMALE),
        rec("police", 2021, RP_SEX_FEMALE), rec("police", 2021, RP_SEX_MALE)};
    const rp_case_record at[] = {rec("hotline", 2021, RP_SEX_FEMALE)};
    rp_report_data *parts[3] = {load(pl, 3), load(de, 4), load(at, 1)};
    const char *states[3] = {"PL", "DE", "AT"};
    const char *regions[3] = {"East", "West", "West"};
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(
        rp_report_data_pool(&d, (const rp_report_data *const *)parts, states, regions, 3, &err),
        &err);
    for (size_t i = 0; i < 3; i++) {
        rp_report_data_free(parts[i]);
    }
    return d;
}

static rp_table *build(const rp_report_data *d, const rp_field *f, size_t n)
{
    rp_table *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_report_table_build(&t, d, f, n, NULL, &err), &err);
    return t;
}

static size_t cell3(const rp_table *t, size_t a, size_t b, size_t c)
{
    const size_t idx[3] = {a, b, c};
    return rp_table_cell(t, idx);
}

/* ==== pooled tables by hand ==== */

static void report_pool__tables_by_state_and_region_by_hand(void **state)
{
    (void)state;
    rp_report_data *d = hand_pool();
    assert_int_equal(rp_report_data_states(d), 3);
    assert_int_equal(rp_report_data_count(d), 8);
    const rp_field f[3] = {RP_TABLE_FIELD_REGION, RP_TABLE_FIELD_STATE, RP_FIELD_REGISTRATION_YEAR};
    rp_table *t = build(d, f, 3);
    assert_string_equal(t->dims[0].cats[0], "East");
    assert_string_equal(t->dims[0].cats[1], "West");
    assert_string_equal(t->dims[1].cats[0], "AT"); /* sorted */
    assert_string_equal(t->dims[1].cats[1], "DE");
    assert_string_equal(t->dims[1].cats[2], "PL");
    assert_string_equal(t->dims[2].cats[0], "2020");
    assert_true(t->additive);

    enum { E = 0, W = 1, RT = 2, AT = 0, DE = 1, PL = 2, ST = 3, Y0 = 0, Y1 = 1, YT = 2 };

    /* (region, state, year) worked by hand */
    static const struct {
        size_t r, s, y;
        double count;
        bool structural;
    } want[] = {
        {E, PL, Y0, 2, false},  {E, PL, Y1, 1, false},  {E, PL, YT, 3, false},
        {E, AT, Y0, 0, true},   {E, AT, YT, 0, true},   {E, DE, Y1, 0, true},
        {W, PL, Y0, 0, true},   {W, PL, YT, 0, true},   {W, AT, Y0, 0, false},
        {W, AT, Y1, 1, false},  {W, DE, Y0, 1, false},  {W, DE, Y1, 3, false},
        {W, ST, Y0, 1, false},  {W, ST, Y1, 4, false},  {W, ST, YT, 5, false},
        {E, ST, YT, 3, false},  {RT, PL, YT, 3, false}, {RT, DE, Y1, 3, false},
        {RT, ST, Y0, 3, false}, {RT, ST, Y1, 5, false}, {RT, ST, YT, 8, false},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t c = cell3(t, want[i].r, want[i].s, want[i].y);
        assert_close(t->count[c], want[i].count, 0, 0);
        assert_int_equal(t->status[c] == RP_CELL_STRUCTURAL, want[i].structural);
    }
    bool noted = false;
    for (size_t i = 0; i < t->n_notes; i++) {
        noted = noted || strstr(t->notes[i], "3 states' data pooled") != NULL;
    }
    assert_true(noted);
    rp_table_free(t);

    /* lists of different states are different sources */
    const rp_field lf[1] = {RP_FIELD_LIST};
    t = build(d, lf, 1);
    assert_int_equal(t->dims[0].n_cats, 4);
    assert_string_equal(t->dims[0].cats[0], "AT/hotline");
    assert_string_equal(t->dims[0].cats[1], "DE/police");
    assert_string_equal(t->dims[0].cats[2], "PL/ngo");
    assert_close(t->count[3], 2, 0, 0); /* PL/police */
    assert_string_equal(rp_table_field_name(RP_TABLE_FIELD_STATE), "state");
    assert_string_equal(rp_table_field_name(RP_TABLE_FIELD_REGION), "region");
    assert_string_equal(rp_table_field_name(RP_FIELD_SEX), "sex");
    rp_table_free(t);
    rp_report_data_free(d);
}

static void report_pool__refusals(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    const rp_case_record one[] = {rec("a", 2020, RP_SEX_MALE)};
    rp_case_record linked = rec("a", 2020, RP_SEX_MALE);
    snprintf(linked.person_id, sizeof(linked.person_id), "P1");
    rp_report_data *a = load(one, 1), *b = load(&linked, 1), *d = NULL;
    const rp_report_data *parts[2] = {a, a};
    const char *twice[2] = {"PL", "PL"};
    const char *regions[2] = {"East", "East"};
    assert_rp_status(rp_report_data_pool(&d, parts, twice, regions, 2, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "given twice"));
    parts[1] = b;
    const char *states[2] = {"PL", "DE"};
    assert_rp_status(rp_report_data_pool(&d, parts, states, regions, 2, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "count records in every state"));
    const char *no_region[2] = {"East", ""};
    parts[1] = a;
    assert_rp_status(rp_report_data_pool(&d, parts, states, no_region, 2, &err), RP_EINVAL, &err);
    assert_rp_status(rp_report_data_pool(&d, parts, states, regions, 0, &err), RP_EINVAL, &err);
    assert_null(d);
    /* state and region need pooled data */
    rp_table *t = NULL;
    const rp_field f[1] = {RP_TABLE_FIELD_STATE};
    assert_rp_status(rp_report_table_build(&t, a, f, 1, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "not pooled"));
    rp_report_data_free(a);
    rp_report_data_free(b);
}

/* ==== slices ==== */

static void report_slice__views_of_one_table(void **state)
{
    (void)state;
    rp_report_data *d = hand_pool();
    const rp_field f[3] = {RP_TABLE_FIELD_REGION, RP_TABLE_FIELD_STATE, RP_FIELD_REGISTRATION_YEAR};
    rp_table *t = build(d, f, 3), *v = NULL;
    rp_error err = RP_ERROR_INIT;
    /* by state: region at its total */
    size_t at[3] = {2, RP_TABLE_KEEP, RP_TABLE_KEEP};
    assert_rp_ok(rp_table_slice(&v, t, at, &err), &err);
    assert_int_equal(v->n_dims, 2);
    assert_int_equal(v->dims[0].field, RP_TABLE_FIELD_STATE);
    assert_int_equal(v->n_cells, 4 * 3);
    static const double by_state[12] = {0, 1, 1, 1, 3, 4, 2, 1, 3, 3, 5, 8};
    for (size_t c = 0; c < 12; c++) {
        assert_close(v->count[c], by_state[c], 0, 0);
        assert_close(v->value[c], by_state[c], 0, 0);
    }
    assert_string_equal(v->title, t->title);
    assert_int_equal(v->n_notes, t->n_notes);
    rp_table_free(v);
    /* by region: state at its total */
    const size_t at_r[3] = {RP_TABLE_KEEP, 3, RP_TABLE_KEEP};
    assert_rp_ok(rp_table_slice(&v, t, at_r, &err), &err);
    static const double by_region[9] = {2, 1, 3, 1, 4, 5, 3, 5, 8};
    for (size_t c = 0; c < 9; c++) {
        assert_close(v->count[c], by_region[c], 0, 0);
    }
    rp_table_free(v);
    /* one state alone, a 1-D table */
    const size_t at_pl[3] = {0, 2, RP_TABLE_KEEP};
    assert_rp_ok(rp_table_slice(&v, t, at_pl, &err), &err);
    assert_int_equal(v->n_dims, 1);
    assert_close(v->count[2], 3, 0, 0);
    rp_table_free(v);
    const size_t none[3] = {2, 3, 2};
    assert_rp_status(rp_table_slice(&v, t, none, &err), RP_EINVAL, &err);
    const size_t bad[3] = {3, RP_TABLE_KEEP, RP_TABLE_KEEP};
    assert_rp_status(rp_table_slice(&v, t, bad, &err), RP_EINVAL, &err);
    assert_null(v);
    rp_table_free(t);
    rp_report_data_free(d);
}

/* ==== the attack on the published views ==== */

/*
 * What a reader of a regional report sees of one additive table of fields F: the views
 * all states (by F), by state (state x F) and by region (region x F). Unknowns: the count
 * of every (state, category of F) pair, >= 0. Each published number of a view is the sum
 * of the pairs it covers: its states (one, the states of its region, or all) times its
 * categories (one, or all). Across tables, a state's total is the same number. The
 * attacker minimises and maximises the sum behind each primary cell of each view; the
 * table passes when every such range covers the protection interval (p% of the count,
 * at least 1, either way, and at least k wide).
 */
typedef struct view_set {
    rp_table *view[3]; /* all states, by state, by region */
} view_set;

typedef struct attack_lp {
    glp_prob *lp;
    size_t n_states;
    const char *const *region_of; /* n_states region names */
    const char *const *states;    /* n_states codes, in table order */
    size_t col0[2];               /* first column of each table's unknowns */
    size_t n_cats[2];
} attack_lp;

/* The columns (1-based) and coefficients of the sum behind view cell @p c of view @p v of
 * table @p k. @return the number of columns. */
static int covered(int *cols, const attack_lp *a, const view_set *vs, size_t k, size_t v, size_t c)
{
    const rp_table *t = vs[k].view[v];
    size_t idx[2] = {0, 0};
    rp_table_index(idx, t, c);
    size_t cat = v == 0 ? idx[0] : idx[1]; /* the field's position */
    int n = 0;
    for (size_t s = 0; s < a->n_states; s++) {
        bool in = v == 0 || idx[0] == t->dims[0].n_cats ||
                  (v == 1 && strcmp(t->dims[0].cats[idx[0]], a->states[s]) == 0) ||
                  (v == 2 && strcmp(t->dims[0].cats[idx[0]], a->region_of[s]) == 0);
        for (size_t j = 0; in && j < a->n_cats[k]; j++) {
            if (cat == a->n_cats[k] || cat == j) {
                cols[n++] = (int)(a->col0[k] + s * a->n_cats[k] + j) + 1;
            }
        }
    }
    return n;
}

static void lp_row(glp_prob *lp, const int *cols, const double *vals, int n, int type, double rhs)
{
    int *ind = calloc((size_t)n + 1, sizeof(int));
    double *val = calloc((size_t)n + 1, sizeof(double));
    assert_non_null(ind);
    assert_non_null(val);
    memcpy(ind + 1, cols, (size_t)n * sizeof(int));
    memcpy(val + 1, vals, (size_t)n * sizeof(double));
    int r = glp_add_rows(lp, 1);
    glp_set_row_bnds(lp, r, type, rhs, rhs);
    glp_set_mat_row(lp, r, n, ind, val);
    free(ind);
    free(val);
}

/* What a reader knows of view cell @p c before any value: the one-way margin of a
 * category the table lists because the data hold it is at least 1. */
static double reader_floor(const rp_table *t, size_t c)
{
    size_t idx[RP_TABLE_MAX_DIMS], n_inner = 0, dim = 0;
    rp_table_index(idx, t, c);
    for (size_t d = 0; d < t->n_dims; d++) {
        if (idx[d] < t->dims[d].n_cats) {
            n_inner++;
            dim = d;
        }
    }
    return n_inner == 1 && t->dims[dim].present != NULL && t->dims[dim].present[idx[dim]] != 0
               ? 1.0
               : 0.0;
}

static void attack_build(attack_lp *a, const view_set *vs, size_t n_tables, int *cols, double *ones)
{
    size_t n_cols = 0;
    for (size_t k = 0; k < n_tables; k++) {
        a->col0[k] = n_cols;
        a->n_cats[k] = vs[k].view[0]->dims[0].n_cats;
        n_cols += a->n_states * a->n_cats[k];
    }
    a->lp = glp_create_prob();
    glp_add_cols(a->lp, (int)n_cols);
    for (size_t j = 1; j <= n_cols; j++) {
        glp_set_col_bnds(a->lp, (int)j, GLP_LO, 0, 0);
    }
    for (size_t k = 0; k < n_tables; k++) {
        for (size_t v = 0; v < 3; v++) {
            const rp_table *t = vs[k].view[v];
            for (size_t c = 0; t != NULL && c < t->n_cells; c++) {
                if (isnan(t->value[c])) {
                    int n = covered(cols, a, vs, k, v, c);
                    if (n > 0 && reader_floor(t, c) > 0) {
                        lp_row(a->lp, cols, ones, n, GLP_LO, reader_floor(t, c));
                    }
                    continue;
                }
                int n = covered(cols, a, vs, k, v, c);
                if (n > 0) {
                    lp_row(a->lp, cols, ones, n, GLP_FX, t->value[c]);
                } else if (t->value[c] != 0) {
                    fail_msg("view %zu of table %zu: cell %zu (%g) covers nothing", v, k, c,
                             t->value[c]);
                }
            }
        }
    }
    /* a state's total is one number in every table */
    for (size_t k = 1; k < n_tables; k++) {
        for (size_t s = 0; s < a->n_states; s++) {
            int n = 0;
            double *coef = ones + a->n_states * 64;
            for (size_t j = 0; j < a->n_cats[0]; j++) {
                cols[n] = (int)(a->col0[0] + s * a->n_cats[0] + j) + 1;
                coef[n++] = 1.0;
            }
            for (size_t j = 0; j < a->n_cats[k]; j++) {
                cols[n] = (int)(a->col0[k] + s * a->n_cats[k] + j) + 1;
                coef[n++] = -1.0;
            }
            lp_row(a->lp, cols, coef, n, GLP_FX, 0.0);
        }
    }
}

static double attack_bound(glp_prob *lp, const int *cols, int n, int dir)
{
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    for (int j = 1; j <= glp_get_num_cols(lp); j++) {
        glp_set_obj_coef(lp, j, 0.0);
    }
    for (int i = 0; i < n; i++) {
        glp_set_obj_coef(lp, cols[i], 1.0);
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

/* The number of primary cells of the views narrowed below their protection interval. */
static size_t attack_views(const view_set *vs,
                           size_t n_tables,
                           const char *const *states,
                           const char *const *region_of,
                           size_t n_states,
                           const rp_sdc_opts *o)
{
    attack_lp a = {NULL, n_states, region_of, states, {0, 0}, {0, 0}};
    int *cols = calloc(4096, sizeof(int));
    double *ones = calloc(4096 + 64 * n_states, sizeof(double));
    assert_non_null(cols);
    assert_non_null(ones);
    for (size_t i = 0; i < 4096; i++) {
        ones[i] = 1.0;
    }
    attack_build(&a, vs, n_tables, cols, ones);
    size_t bad = 0, primaries = 0;
    for (size_t k = 0; k < n_tables; k++) {
        for (size_t v = 0; v < 3; v++) {
            const rp_table *t = vs[k].view[v];
            for (size_t c = 0; t != NULL && c < t->n_cells; c++) {
                if (t->status[c] != RP_CELL_PRIMARY) {
                    continue;
                }
                assert_true(isnan(t->value[c]));
                int n = covered(cols, &a, vs, k, v, c);
                double lo = ceil(attack_bound(a.lp, cols, n, 0) - 1e-6);
                double hi = floor(attack_bound(a.lp, cols, n, 1) + 1e-6);
                double x = t->count[c], nl = 0, nu = 0, nw = 0;
                rp_sdc_protection(&nl, &nu, &nw, x, o);
                nl = nl < reader_floor(t, c) ? reader_floor(t, c) : nl;
                assert_true(lo <= x && x <= hi); /* the truth is feasible */
                primaries++;
                bad += lo > nl || hi < nu || hi - lo < nw ? 1 : 0;
            }
        }
    }
    glp_delete_prob(a.lp);
    free(cols);
    free(ones);
    return primaries > 0 ? bad : SIZE_MAX; /* SIZE_MAX: nothing to attack */
}

static uint64_t next_u64(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Records of four states in two regions, five years, two sexes, with many small counts. */
static rp_report_data *
random_pool(uint64_t *seed, const char *const *states, const char *const *regions)
{
    rp_report_data *parts[4];
    rp_case_record *r = calloc(4096, sizeof(*r));
    assert_non_null(r);
    for (size_t s = 0; s < 4; s++) {
        size_t n = 0;
        for (int y = 2018; y < 2023; y++) {
            for (int sex = 0; sex < 2; sex++) {
                uint64_t u = next_u64(seed) % 100;
                size_t c = u < 25 ? (size_t)(u % 4) : (size_t)(4 + u % (s == 0 ? 40 : 15));
                for (size_t i = 0; i < c; i++) {
                    r[n++] = rec("police", y, sex == 0 ? RP_SEX_FEMALE : RP_SEX_MALE);
                }
            }
        }
        r[n++] = rec("police", 2020, RP_SEX_FEMALE); /* no state is empty */
        parts[s] = load(r, n);
    }
    free(r);
    rp_report_data *d = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(
        rp_report_data_pool(&d, (const rp_report_data *const *)parts, states, regions, 4, &err),
        &err);
    for (size_t s = 0; s < 4; s++) {
        rp_report_data_free(parts[s]);
    }
    return d;
}

static void make_views(view_set *vs, const rp_table *t)
{
    rp_error err = RP_ERROR_INIT;
    const size_t all[3] = {t->dims[0].n_cats, t->dims[1].n_cats, RP_TABLE_KEEP};
    const size_t by_state[3] = {t->dims[0].n_cats, RP_TABLE_KEEP, RP_TABLE_KEEP};
    const size_t by_region[3] = {RP_TABLE_KEEP, t->dims[1].n_cats, RP_TABLE_KEEP};
    assert_rp_ok(rp_table_slice(&vs->view[0], t, all, &err), &err);
    assert_rp_ok(rp_table_slice(&vs->view[1], t, by_state, &err), &err);
    assert_rp_ok(rp_table_slice(&vs->view[2], t, by_region, &err), &err);
}

static void free_views(view_set *vs)
{
    for (size_t v = 0; v < 3; v++) {
        rp_table_free(vs->view[v]);
        vs->view[v] = NULL;
    }
}

/* The published values as if only the primary cells were suppressed. */
static void drop_secondary(rp_table *t)
{
    for (size_t c = 0; c < t->n_cells; c++) {
        if (t->status[c] == RP_CELL_SECONDARY) {
            t->status[c] = RP_CELL_PUBLISHED;
            t->value[c] = t->count[c];
        }
    }
}

static void report_pool__protected_views_withstand_the_attack(void **state)
{
    (void)state;
    /* sorted codes, as rp_report_data_pool() orders them; AA and BB in R1, CC and DD in R2 */
    static const char *const states[4] = {"AA", "BB", "CC", "DD"};
    static const char *const regions[4] = {"R1", "R1", "R2", "R2"};
    const rp_field fy[3] = {RP_TABLE_FIELD_REGION, RP_TABLE_FIELD_STATE,
                            RP_FIELD_REGISTRATION_YEAR};
    const rp_field fs[3] = {RP_TABLE_FIELD_REGION, RP_TABLE_FIELD_STATE, RP_FIELD_SEX};
    uint64_t seed = 20261129;
    size_t attacked = 0, control_bites = 0;
    for (int round = 0; round < 24; round++) {
        rp_report_data *d = random_pool(&seed, states, regions);
        rp_table *t[2] = {build(d, fy, 3), build(d, fs, 3)};
        rp_sdc_opts o = RP_SDC_OPTS_INIT;
        o.k = round % 2 == 0 ? 5 : 10;
        rp_error err = RP_ERROR_INIT;
        size_t rounds = 0;
        assert_rp_ok(rp_sdc_protect_pooled(&rounds, t, 2, &o, &err), &err);
        view_set vs[2] = {{{NULL, NULL, NULL}}, {{NULL, NULL, NULL}}};
        make_views(&vs[0], t[0]);
        make_views(&vs[1], t[1]);
        size_t bad = attack_views(vs, 2, states, regions, 4, &o);
        if (bad != SIZE_MAX) {
            if (bad > 0) {
                fail_msg("round %d: %zu primary cells narrowed below protection", round, bad);
            }
            attacked++;
        }
        /* control: the threshold rule alone is recomputed from the published totals */
        for (size_t k = 0; k < 2; k++) {
            free_views(&vs[k]);
            drop_secondary(t[k]);
            make_views(&vs[k], t[k]);
        }
        bad = attack_views(vs, 2, states, regions, 4, &o);
        control_bites += bad != SIZE_MAX && bad > 0 ? 1 : 0;
        for (size_t k = 0; k < 2; k++) {
            free_views(&vs[k]);
            rp_table_free(t[k]);
        }
        rp_report_data_free(d);
    }
    assert_true(attacked >= 20);
    assert_true(control_bites >= attacked / 2);
}

static void report_pool__protect_pooled_refusals(void **state)
{
    (void)state;
    rp_report_data *d = hand_pool();
    const rp_field f[1] = {RP_FIELD_SEX};
    rp_table *t[1] = {build(d, f, 1)};
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_sdc_protect_pooled(NULL, t, 1, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "no region and state"));
    rp_table_free(t[0]);
    rp_report_data_free(d);
}

/* ==== trends ==== */

static void report_trend__of_estimates_by_hand(void **state)
{
    (void)state;
    /* log-scale SEs 0.1, 0.2, 0.1 (weights 100, 25, 100) around 100, 120, 150: weighted
     * mean year 2021, Sxx = 200, Sxy = 100 log 1.5, so b = log(1.5) / 2 =
     * 0.202732554054082, se = 1 / sqrt(200); RSS 0.009257973536732 (worked in Python) */
    const double z = 1.959963984540054;
    const int years[4] = {2020, 2021, 2022, 2023};
    const double est[4] = {100, 120, 150, NAN};
    const double se[3] = {0.1, 0.2, 0.1};
    double lo[4], hi[4];
    for (size_t i = 0; i < 3; i++) {
        lo[i] = est[i] * exp(-z * se[i]);
        hi[i] = est[i] * exp(z * se[i]);
    }
    lo[3] = hi[3] = NAN;
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit_estimates(&tr, years, est, lo, hi, 4, 0.95, NULL, &err), &err);
    assert_true(tr->weighted);
    assert_int_equal(tr->n_fitted, 3);
    assert_close(tr->slope, 0.20273255405408186, 1e-12, 0);
    assert_close(tr->slope_se, 0.07071067811865477, 1e-12, 0);
    assert_close(tr->rate_ratio, 1.2247448713915887, 1e-12, 0);
    assert_close(tr->wald_lower, 1.0662439776188128, 1e-10, 0);
    assert_close(tr->wald_upper, 1.4068074769808978, 1e-10, 0);
    assert_close(tr->deviance, 0.009257973536732148, 1e-9, 0);
    assert_close(tr->fitted[0], 99.77346811318807, 1e-10, 0);
    assert_close(tr->pct_change, 22.47448713915887, 1e-10, 0);
    assert_true(isnan(tr->profile_lower));
    assert_close(tr->change[1], 20, 0, 1e-12);
    assert_close(tr->change_pct[2], 25, 1e-12, 0);
    assert_true(isnan(tr->change[3]));
    char buf[400];
    assert_non_null(strstr(rp_trend_describe(buf, sizeof(buf), tr),
                           "average annual change +22.5% (95% CI +6.6% to +40.7%); log-linear "
                           "trend of the estimates"));
    rp_trend_free(tr);
    /* an unbounded interval leaves its year out; fewer than two years is refused */
    hi[1] = INFINITY;
    assert_rp_ok(rp_trend_fit_estimates(&tr, years, est, lo, hi, 3, 0.95, NULL, &err), &err);
    assert_int_equal(tr->n_fitted, 2);
    assert_close(tr->rate_ratio, sqrt(1.5), 1e-12, 0);
    rp_trend_free(tr);
    assert_rp_status(rp_trend_fit_estimates(&tr, years, est, lo, hi, 2, 0.95, NULL, &err),
                     RP_EINVAL, &err);
    assert_rp_status(rp_trend_fit_estimates(&tr, years, est, lo, hi, 3, 1.5, NULL, &err), RP_EINVAL,
                     &err);
}

static void report_trend__published_values_described_and_written(void **state)
{
    (void)state;
    /* 10, 20, 40: b = log 2, fitted values are the counts, +100% a year; profile interval
     * 1.46375851833 to 2.79252562925 (test_report_table.c) */
    const int years[4] = {2019, 2020, 2021, 2022};
    const double y[4] = {10, 20, 40, NAN};
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit(&tr, years, y, 4, NULL, &err), &err);
    assert_close(tr->pct_change, 100, 1e-10, 0);
    assert_close(tr->fitted[2], 40, 1e-9, 0);
    assert_close(tr->fitted[3], 80, 1e-9, 0); /* a suppressed year gets the model's value */
    assert_true(isnan(tr->change[3]) && isnan(tr->change_pct[3]));
    char buf[400];
    assert_string_equal(rp_trend_describe(buf, sizeof(buf), tr),
                        "average annual change +100.0% (95% CI +46.4% to +179.3%); Poisson "
                        "log-linear trend (profile-likelihood interval) over 2019-2021 (3 years)");
    char dir[512], path[600];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/trend.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const rp_trend *trs[1] = {tr};
    const char *labels[1] = {"All, states"};
    assert_rp_ok(rp_trend_write_csv(f, trs, labels, 1, &err), &err);
    fclose(f);
    char *csv = rp_test_slurp(path, NULL);
    assert_non_null(strstr(csv, "label,year,value,change,change_pct,fitted,avg_change_pct,"));
    assert_non_null(strstr(csv, "\n\"All, states\",2020,20,10,100.00,20.00,,,,,,\n"));
    assert_non_null(strstr(csv, "\n\"All, states\",2022,x,,,80.00,,,,,,\n"));
    assert_non_null(strstr(csv, "\"All, states\",trend,,,,,100.000,46.376,179.253,0.95,Poisson "
                                "log-linear regression (profile-likelihood interval),3\n"));
    free(csv);
    snprintf(path, sizeof(path), "%s/trend.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_rp_ok(rp_trend_write_json(f, trs, labels, 1, &err), &err);
    fclose(f);
    char *json = rp_test_slurp(path, NULL);
    assert_non_null(strstr(json, "\"avg_change_pct\": 100"));
    assert_non_null(strstr(json, "\"value\": null"));
    free(json);
    /* the trend line goes on a column chart of years */
    rp_table *t = NULL;
    rp_case_record r[6] = {rec("a", 2019, RP_SEX_MALE), rec("a", 2020, RP_SEX_MALE),
                           rec("a", 2020, RP_SEX_MALE), rec("a", 2021, RP_SEX_MALE),
                           rec("a", 2021, RP_SEX_MALE), rec("a", 2021, RP_SEX_MALE)};
    rp_report_data *d = load(r, 6);
    const rp_field fy[1] = {RP_FIELD_REGISTRATION_YEAR};
    t = build(d, fy, 1);
    rp_chart *c = NULL, *bars = NULL;
    assert_rp_ok(rp_chart_from_table(&c, t, 0, RP_CHART_COLUMNS, NULL, &err), &err);
    assert_rp_ok(rp_chart_add_trend(c, tr, &err), &err);
    assert_non_null(strstr(rp_chart_desc(c), "Trend: average annual change +100.0%"));
    char *svg = NULL;
    size_t len = 0;
    assert_rp_ok(rp_chart_render(&svg, &len, c, RP_CHART_SVG, NULL, &err), &err);
    assert_true(len > 1000);
    rp_free(svg);
    assert_rp_ok(rp_chart_from_table(&bars, t, 0, RP_CHART_BARS, NULL, &err), &err);
    assert_rp_status(rp_chart_add_trend(bars, tr, &err), RP_EINVAL, &err);
    rp_chart_free(c);
    rp_chart_free(bars);
    rp_table_free(t);
    rp_report_data_free(d);
    rp_trend_free(tr);
    rp_test_rmtree(dir);
}

static void report_trend__overdispersion_widens_the_interval(void **state)
{
    (void)state;
    /* 12, 15, 9, 20, 25 (b = 0.194475054672702, test_report_table.c): Pearson X^2 =
     * 3.575525918555207 on 3 df, dispersion 1.1918419728517355; the profile cut at
     * z^2 phi gives +2.44203068% to +44.7305667% (bisection in Python) */
    const int years[5] = {2015, 2016, 2017, 2018, 2019};
    const double c[5] = {12, 15, 9, 20, 25};
    rp_trend *tr = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_trend_fit(&tr, years, c, 5, NULL, &err), &err);
    assert_close(tr->dispersion, 1.1918419728517355, 1e-9, 0);
    assert_close(tr->pct_lower, 2.4420306802905634, 1e-6, 0);
    assert_close(tr->pct_upper, 44.73056671817337, 1e-6, 0);
    assert_close(tr->profile_lower, 1.03907415739, 1e-7, 0); /* the plain one is kept */
    char buf[400];
    assert_non_null(strstr(rp_trend_describe(buf, sizeof(buf), tr), "(quasi-Poisson)"));
    rp_trend_free(tr);
    rp_trend_opts o = RP_TREND_OPTS_INIT;
    o.profile = false; /* Wald, SE times sqrt(phi) */
    assert_rp_ok(rp_trend_fit(&tr, years, c, 5, &o, &err), &err);
    double half = 1.959963984540054 * 0.0804974809292 * sqrt(1.1918419728517355);
    assert_close(tr->pct_lower, 100 * (exp(0.194475054672702 - half) - 1), 1e-8, 0);
    assert_close(tr->pct_upper, 100 * (exp(0.194475054672702 + half) - 1), 1e-8, 0);
    rp_trend_free(tr);
}

/* ==== state tables ==== */

static void state_table__parse_and_errors(void **state)
{
    (void)state;
    rp_state_table *st = NULL;
    rp_error err = RP_ERROR_INIT;
    static const char good[] = "\xef\xbb\xbf"
                               "state,store,region\r\n"
                               "PL,pl.db,\"Eastern Europe\"\r\n"
                               "\r\n"
                               "DE,\"de,\"\"x\"\".db\",\n";
    assert_rp_ok(rp_state_table_parse(&st, good, sizeof(good) - 1, "pool.csv", &err), &err);
    assert_int_equal(rp_state_table_rows(st), 2);
    assert_int_equal(rp_state_table_columns(st), 3);
    assert_int_equal(rp_state_table_column(st, "region"), 2);
    assert_int_equal(rp_state_table_column(st, "nope"), -1);
    assert_string_equal(rp_state_table_column_name(st, 0), "state");
    assert_int_equal(rp_state_table_find(st, "DE"), 1);
    assert_int_equal(rp_state_table_find(st, "AT"), -1);
    assert_string_equal(rp_state_table_cell(st, 0, 2), "Eastern Europe");
    assert_string_equal(rp_state_table_cell(st, 1, 1), "de,\"x\".db");
    assert_string_equal(rp_state_table_cell(st, 1, 2), "");
    assert_null(rp_state_table_cell(st, 2, 0));
    rp_state_table_free(st);

    static const struct {
        const char *in;
        long line, col;
        const char *msg;
    } bad[] = {
        {"a,b\nx,\"open\n", 2, 3, "not closed"},
        {"a,b\nx,y,z\n", 2, 0, "more than 2 fields"},
        {"a,b\nx\n", 2, 0, "1 fields, expected 2"},
        {"a,b\nx,1\nx,2\n", 3, 0, "key 'x' repeated"},
        {"a,b\n,1\n", 2, 0, "key of row 1 is empty"},
        {"a,a\n", 1, 0, "column 'a' repeated"},
        {"a,\n", 1, 0, "column name 2 is empty"},
        {"a,b\nx,y\"z\n", 2, 4, "quote inside an unquoted field"},
        {"a,b\nx,\"y\"z\n", 2, 6, "text after a quoted field"},
        {"a,b\nx,\xff\n", 0, 0, "not valid UTF-8"},
        {"", 1, 0, "no header row"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_rp_status(rp_state_table_parse(&st, bad[i].in, strlen(bad[i].in), "p.csv", &err),
                         RP_EPARSE, &err);
        assert_null(st);
        assert_string_equal(err.path, "p.csv");
        assert_int_equal(err.line, bad[i].line);
        assert_int_equal(err.column, bad[i].col);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
        }
    }
}

static void state_table__shipped_region_table(void **state)
{
    (void)state;
    char path[1024];
    rp_state_table *st = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_test_source_file(path, sizeof(path), "data/regions/osce_regions.csv");
    assert_rp_ok(rp_state_table_load(&st, path, &err), &err);
    assert_int_equal(rp_state_table_rows(st), 57); /* OSCE participating States */
    int sub = rp_state_table_column(st, "un_m49_subregion");
    int coe = rp_state_table_column(st, "coe");
    int eu = rp_state_table_column(st, "eu");
    assert_true(sub > 0 && coe > 0 && eu > 0);
    assert_string_equal(rp_state_table_cell(st, (size_t)rp_state_table_find(st, "PL"), (size_t)sub),
                        "Eastern Europe");
    assert_string_equal(rp_state_table_cell(st, (size_t)rp_state_table_find(st, "GE"), (size_t)sub),
                        "Western Asia");
    size_t n_coe = 0, n_eu = 0;
    for (size_t r = 0; r < rp_state_table_rows(st); r++) {
        n_coe += strcmp(rp_state_table_cell(st, r, (size_t)coe), "Council of Europe member") == 0;
        n_eu += strcmp(rp_state_table_cell(st, r, (size_t)eu), "EU member State") == 0;
        assert_int_equal(strlen(rp_state_table_cell(st, r, 0)), 2);
    }
    assert_int_equal(n_coe, 46);
    assert_int_equal(n_eu, 27);
    rp_state_table_free(st);
    assert_rp_status(rp_state_table_load(&st, "/nonexistent/regions.csv", &err), RP_EIO, &err);
}

/* ==== allocation failures ==== */

typedef struct sweep_state {
    rp_report_data *d;
    rp_table *t;
    rp_table *v;
} sweep_state;

static void sweep_undo(void *payload)
{
    sweep_state *s = payload;
    rp_table_free(s->v);
    rp_table_free(s->t);
    rp_report_data_free(s->d);
    memset(s, 0, sizeof(*s));
}

/* Pool two states, tabulate by region, state and year, protect, slice by state. */
static int sweep_run(void *payload)
{
    sweep_state *s = payload;
    const rp_case_record pl[] = {rec("police", 2020, RP_SEX_FEMALE), rec("ngo", 2021, RP_SEX_MALE)};
    const rp_case_record de[] = {rec("police", 2020, RP_SEX_MALE),
                                 rec("police", 2020, RP_SEX_MALE)};
    const char *states[2] = {"PL", "DE"};
    const char *regions[2] = {"East", "West"};
    const rp_field f[3] = {RP_TABLE_FIELD_REGION, RP_TABLE_FIELD_STATE, RP_FIELD_REGISTRATION_YEAR};
    rp_report_data *parts[2] = {NULL, NULL};
    int rc = rp_report_data_from_records(&parts[0], pl, 2, NULL, NULL);
    if (rc == RP_OK) {
        rc = rp_report_data_from_records(&parts[1], de, 2, NULL, NULL);
    }
    if (rc == RP_OK) {
        rc = rp_report_data_pool(&s->d, (const rp_report_data *const *)parts, states, regions, 2,
                                 NULL);
    }
    rp_report_data_free(parts[0]);
    rp_report_data_free(parts[1]);
    if (rc == RP_OK) {
        rc = rp_report_table_build(&s->t, s->d, f, 3, NULL, NULL);
    }
    if (rc == RP_OK) {
        rc = rp_sdc_protect_pooled(NULL, &s->t, 1, NULL, NULL);
    }
    const size_t at[3] = {2, RP_TABLE_KEEP, RP_TABLE_KEEP};
    if (rc == RP_OK) {
        rc = rp_table_slice(&s->v, s->t, at, NULL);
    }
    if (rc != RP_OK) {
        sweep_undo(s);
    }
    return rc;
}

static void report_pool__allocation_failures_are_enomem(void **state)
{
    (void)state;
    sweep_state s = {NULL, NULL, NULL};
    rp_test_alloc_sweep(sweep_run, sweep_undo, &s, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_pool__tables_by_state_and_region_by_hand),
        cmocka_unit_test(report_pool__refusals),
        cmocka_unit_test(report_slice__views_of_one_table),
        cmocka_unit_test(report_pool__protected_views_withstand_the_attack),
        cmocka_unit_test(report_pool__protect_pooled_refusals),
        cmocka_unit_test(report_trend__of_estimates_by_hand),
        cmocka_unit_test(report_trend__published_values_described_and_written),
        cmocka_unit_test(report_trend__overdispersion_widens_the_interval),
        cmocka_unit_test(state_table__parse_and_errors),
        cmocka_unit_test(state_table__shipped_region_table),
        cmocka_unit_test(report_pool__allocation_failures_are_enomem),
    };
    return cmocka_run_group_tests_name("report_regional", tests, setup, NULL);
}
