/*
 * Statistical disclosure control of count tables: the threshold rule, secondary cell
 * suppression audited by linear programming (GLPK), rounding to a base and CTDC's
 * k-rounding. docs/report.md states the rules; differential privacy is in dp.c.
 *
 * The audit is the attacker's computation: every published cell is a known constant,
 * every suppressed cell an unknown >= 0 (>= 1 for the one-way margin of a listed
 * category, as only the categories present are listed), and the table's relations (lines summing to
 * their margins, or for a multi-valued dimension cells at most their margin and lines
 * at least it) are linear constraints. Minimising and maximising each unknown over
 * them gives the range an attacker can narrow it to (the feasibility interval).
 * Secondary suppression adds cells until that range is wide enough for every primary
 * cell: first so that no line has a single suppressed cell (which its margin gives
 * away), then, for a primary whose range is still too narrow, the cheapest published
 * cell in its lines that is large enough to widen it, auditing again after each round.
 * Suppressing more cells only relaxes the constraints, so a cell once protected stays
 * protected and each round audits only the cells still failing.
 */
#include "report/publish_int.h"
#include "report/report_int.h"

#include <glpk.h>
#include <math.h>

/* ==== options ==== */

int rp_report__sdc_opts(rp_sdc_opts *out, const rp_sdc_opts *opts, rp_error *err)
{
    const rp_sdc_opts defaults = RP_SDC_OPTS_INIT;
    *out = opts != NULL ? *opts : defaults;
    const rp_sdc_opts *o = out;
    if (o->version != RP_SDC_OPTS_VERSION || o->method < RP_SDC_SUPPRESS ||
        o->method > RP_SDC_NONE) {
        return rp_error_set(err, RP_EINVAL, "bad disclosure control options (version or method)");
    }
    if (!(o->k >= 1 && o->k < 1e9) || !(o->protection_pct >= 0 && o->protection_pct <= 100) ||
        o->cost < RP_SDC_COST_VALUE || o->cost > RP_SDC_COST_UNIT || !(o->lp_tol >= 0) ||
        o->max_rounds == 0) {
        return rp_error_set(err, RP_EINVAL,
                            "bad disclosure control options (k >= 1, protection 0-100%%, cost, "
                            "tolerance, rounds)");
    }
    if (o->method == RP_SDC_ROUND &&
        !(o->base >= 1 && o->base < 1e9 && o->base == floor(o->base))) {
        return rp_error_set(err, RP_EINVAL, "rounding base must be a whole number >= 1");
    }
    if (o->method == RP_SDC_KROUND && o->k != floor(o->k)) {
        return rp_error_set(err, RP_EINVAL, "k-rounding needs a whole k");
    }
    if (o->method == RP_SDC_DP_LAPLACE && !(o->epsilon > 0 && isfinite(o->epsilon))) {
        return rp_error_set(err, RP_EINVAL, "epsilon must be positive and finite");
    }
    if (o->method == RP_SDC_DP_GAUSSIAN && !(o->rho > 0 && isfinite(o->rho))) {
        return rp_error_set(err, RP_EINVAL, "rho must be positive and finite");
    }
    return RP_OK;
}

void rp_sdc_protection(
    double *need_lower, double *need_upper, double *need_width, double x, const rp_sdc_opts *opts)
{
    const rp_sdc_opts defaults = RP_SDC_OPTS_INIT;
    const rp_sdc_opts *o = opts != NULL ? opts : &defaults;
    /* p% of the value each way, at least one person, rounded up to whole persons */
    double p = ceil(o->protection_pct / 100.0 * x - 1e-9);
    if (p < 1) {
        p = 1;
    }
    *need_lower = x - p > 0 ? x - p : 0;
    *need_upper = x + p;
    *need_width = o->width_k ? o->k : 0;
}

/* Position of cell @p c along dimension @p d (n_cats for the margin). */
static size_t pos_in(const rp_table *t, size_t c, size_t d)
{
    size_t span = t->dims[d].n_cats + 1;
    return t->stride[d] > 0 && span > 0 ? (c / t->stride[d]) % span : 0;
}

static bool suppressed(const rp_table *t, size_t c)
{
    return t->status[c] == RP_CELL_PRIMARY || t->status[c] == RP_CELL_SECONDARY;
}

/*
 * The least value a reader knows cell @p c has: 1 for the one-way margin of a category
 * listed because the data hold it (in a one-way table, its cell), as a table lists only
 * the categories present; 0 otherwise (a gap year filled in with zeros, say). A cell at
 * the only category of a dimension is that dimension's margin, so counts as at its margin.
 * The count guards against a flag that would make the audit's LP infeasible.
 */
static double known_floor(const rp_table *t, size_t c)
{
    /* a dimension with one category is at its margin there (the cell is the margin's) */
    size_t n_inner = 0, dim = SIZE_MAX, single = SIZE_MAX;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (pos_in(t, c, d) < t->dims[d].n_cats && t->dims[d].n_cats > 1) {
            n_inner++;
            dim = d;
        } else if (pos_in(t, c, d) < t->dims[d].n_cats) {
            single = d;
        }
    }
    dim = n_inner == 0 ? single : dim;
    if (n_inner > 1 || dim == SIZE_MAX || t->dims[dim].present == NULL) {
        return 0.0;
    }
    return t->dims[dim].present[pos_in(t, c, dim)] != 0 && t->count[c] >= 1 ? 1.0 : 0.0;
}

/* ==== the LP of the audit ==== */

/*
 * The audit LP is built from one table (rp_sdc_audit(), secondary suppression) or from
 * several whose common cells share a variable (sdc_linked.c): each table adds its lines
 * with a map from its cells to the variables (0: a constant, whose value is taken from
 * the map of values given, the published value). The matrix is loaded into GLPK before
 * the first solve; no row is added after it.
 */
struct rp_report__lp {
    glp_prob *lp;
    size_t n_vars;
    size_t *var_of;  /* single table: n_cells, variable number (1-based), 0 if published */
    size_t *cell_of; /* single table: n_vars + 1, the cell of variable v */
    int *ia, *ja;    /* constraint matrix triplets, 1-based as GLPK wants */
    double *ar;
    size_t nnz, cap;
    int n_rows;
    int last_obj; /* column whose objective coefficient is 1 now, 0 if none */
    bool loaded;  /* the matrix is in GLPK */
};

typedef struct rp_report__lp audit_lp;

static void lp_release(audit_lp *a)
{
    if (a->lp != NULL) {
        glp_delete_prob(a->lp);
    }
    rp_free(a->var_of);
    rp_free(a->cell_of);
    rp_free(a->ia);
    rp_free(a->ja);
    rp_free(a->ar);
    memset(a, 0, sizeof(*a));
}

static int lp_push(audit_lp *a, int row, size_t var, double coef)
{
    if (a->nnz + 1 >= a->cap) {
        size_t cap = a->cap > 0 ? 2 * a->cap : 1024;
        int *ia = rp_reallocarray(a->ia, cap, sizeof(*ia));
        if (ia != NULL) {
            a->ia = ia;
        }
        int *ja = rp_reallocarray(a->ja, cap, sizeof(*ja));
        if (ja != NULL) {
            a->ja = ja;
        }
        double *ar = rp_reallocarray(a->ar, cap, sizeof(*ar));
        if (ar != NULL) {
            a->ar = ar;
        }
        if (ia == NULL || ja == NULL || ar == NULL) {
            return RP_ENOMEM;
        }
        a->cap = cap;
    }
    a->nnz++;
    a->ia[a->nnz] = row;
    a->ja[a->nnz] = (int)var;
    a->ar[a->nnz] = coef;
    return RP_OK;
}

/* What one table contributes: its variable map and the values of its constants. */
typedef struct lp_src {
    const rp_table *t;
    const size_t *var_of; /* n_cells: variable (1-based), 0 for a constant */
    const double *value;  /* n_cells: the value of each constant */
} lp_src;

/* Add one row: sum of coef * cell over the line's cells, with bounds (kind, rhs). The
 * constants move to the right-hand side; a row without unknowns is skipped. */
static int lp_row(audit_lp *a,
                  const lp_src *s,
                  const size_t *cells,
                  const double *coef,
                  size_t n,
                  int kind,
                  rp_error *err)
{
    double rhs = 0;
    size_t n_var = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->var_of[cells[i]] != 0) {
            n_var++;
        } else {
            rhs -= coef[i] * s->value[cells[i]];
        }
    }
    if (n_var == 0) {
        return RP_OK;
    }
    int row = ++a->n_rows;
    glp_add_rows(a->lp, 1);
    glp_set_row_bnds(a->lp, row, kind, rhs, rhs);
    for (size_t i = 0; i < n; i++) {
        if (s->var_of[cells[i]] != 0 && lp_push(a, row, s->var_of[cells[i]], coef[i]) != RP_OK) {
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    return RP_OK;
}

/* Category @p i of dimension @p d is a code without information ("not_specified",
 * "unknown"), as opposed to a real category or a blank one. */
static bool vague(const rp_table *t, size_t d, size_t i)
{
    const char *c = t->dims[d].cats[i];
    return c != NULL && c[0] != '\0' && !rp_table_cat_known(t, d, i);
}

/* The relations of the line along dimension @p d whose margin is cell @p m. */
static int lp_line(
    audit_lp *a, const lp_src *s, size_t d, size_t m, size_t *cells, double *coef, rp_error *err)
{
    const rp_table *t = s->t;
    size_t n = t->dims[d].n_cats;
    size_t base = m - n * t->stride[d];
    bool any = s->var_of[m] != 0;
    for (size_t j = 0; j < n; j++) {
        cells[j] = base + j * t->stride[d];
        any = any || s->var_of[cells[j]] != 0;
    }
    if (!any) {
        return RP_OK;
    }
    cells[n] = m;
    if (rp_table_dim_additive(t, d)) {
        /* sum of the categories - margin = 0 */
        for (size_t j = 0; j < n; j++) {
            coef[j] = 1.0;
        }
        coef[n] = -1.0;
        return lp_row(a, s, cells, coef, n + 1, GLP_FX, err);
    }
    /*
     * multi-valued: each category <= margin, and their sum >= margin. A category without
     * information ("not_specified", "unknown") holds only units with no other code of the
     * field (table.c, informative()), so it is disjoint from each real category c and
     * c + it <= margin too: with c published, it bounds the uninformative cell, which the
     * first two relations alone leave up to the margin.
     */
    int rc = RP_OK;
    for (size_t j = 0; j < n && rc == RP_OK; j++) {
        size_t pair[2] = {cells[j], m};
        double pc[2] = {1.0, -1.0};
        rc = lp_row(a, s, pair, pc, 2, GLP_UP, err);
    }
    for (size_t u = 0; u < n && rc == RP_OK; u++) {
        if (!vague(t, d, u)) {
            continue;
        }
        for (size_t j = 0; j < n && rc == RP_OK; j++) {
            if (!rp_table_cat_known(t, d, j)) {
                continue;
            }
            size_t tri[3] = {cells[j], cells[u], m};
            double tc[3] = {1.0, 1.0, -1.0};
            rc = lp_row(a, s, tri, tc, 3, GLP_UP, err);
        }
    }
    for (size_t j = 0; j < n; j++) {
        coef[j] = 1.0;
    }
    coef[n] = -1.0;
    return rc == RP_OK ? lp_row(a, s, cells, coef, n + 1, GLP_LO, err) : rc;
}

/* Add every relation of the table of @p s (every line along every dimension). */
static int lp_add(audit_lp *a, const lp_src *s, rp_error *err)
{
    const rp_table *t = s->t;
    size_t max_line = 0;
    for (size_t d = 0; d < t->n_dims; d++) {
        max_line = t->dims[d].n_cats + 1 > max_line ? t->dims[d].n_cats + 1 : max_line;
    }
    size_t *cells = rp_calloc(max_line, sizeof(*cells));
    double *coef = rp_calloc(max_line, sizeof(*coef));
    int rc = RP_OK;
    if (cells == NULL || coef == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t d = 0; d < t->n_dims && rc == RP_OK; d++) {
        size_t n = t->dims[d].n_cats;
        for (size_t c = 0; c < t->n_cells && rc == RP_OK; c++) {
            if (pos_in(t, c, d) == n) {
                rc = lp_line(a, s, d, c, cells, coef, err);
            }
        }
    }
    rp_free(cells);
    rp_free(coef);
    return rc;
}

/* An LP of @p n_vars variables >= 0 and no row yet. */
static void lp_begin(audit_lp *a, size_t n_vars)
{
    a->lp = glp_create_prob();
    a->n_vars = n_vars;
    if (n_vars > 0) {
        glp_add_cols(a->lp, (int)n_vars);
    }
    for (size_t v = 1; v <= n_vars; v++) {
        glp_set_col_bnds(a->lp, (int)v, GLP_LO, 0.0, 0.0);
    }
}

static void lp_load(audit_lp *a)
{
    if (!a->loaded && a->nnz > 0) {
        glp_load_matrix(a->lp, (int)a->nnz, a->ia, a->ja, a->ar);
    }
    a->loaded = true;
}

/* Build the audit LP of @p t: one variable per suppressed cell, every relation. */
static int lp_build(audit_lp *a, const rp_table *t, rp_error *err)
{
    memset(a, 0, sizeof(*a));
    a->var_of = rp_calloc(t->n_cells, sizeof(*a->var_of));
    a->cell_of = rp_calloc(t->n_cells + 1, sizeof(*a->cell_of));
    if (a->var_of == NULL || a->cell_of == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    size_t n_vars = 0;
    for (size_t c = 0; c < t->n_cells; c++) {
        if (suppressed(t, c)) {
            a->var_of[c] = ++n_vars;
            a->cell_of[n_vars] = c;
        }
    }
    lp_begin(a, n_vars);
    for (size_t v = 1; v <= a->n_vars; v++) {
        double lb = known_floor(t, a->cell_of[v]);
        glp_set_col_bnds(a->lp, (int)v, GLP_LO, lb, 0.0);
    }
    const lp_src s = {t, a->var_of, t->value};
    int rc = lp_add(a, &s, err);
    if (rc == RP_OK) {
        lp_load(a);
    }
    return rc;
}

/* Minimise (dir GLP_MIN) or maximise variable @p v. *out = INFINITY when unbounded. */
static int lp_solve(double *out, audit_lp *a, size_t v, int dir, rp_error *err)
{
    if (a->last_obj != (int)v) {
        if (a->last_obj > 0) {
            glp_set_obj_coef(a->lp, a->last_obj, 0.0);
        }
        glp_set_obj_coef(a->lp, (int)v, 1.0);
        a->last_obj = (int)v;
    }
    glp_set_obj_dir(a->lp, dir);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_OFF; /* keep the basis between solves (warm start) */
    int grc = glp_simplex(a->lp, &parm);
    if (grc != 0) {
        /* a stale basis can be singular: start again from the standard basis once */
        glp_std_basis(a->lp);
        grc = glp_simplex(a->lp, &parm);
    }
    if (grc != 0) {
        return rp_error_set(err, RP_EINTERNAL, "audit LP: GLPK simplex failed (code %d)", grc);
    }
    int st = glp_get_status(a->lp);
    if (st == GLP_UNBND && dir == GLP_MAX) {
        *out = INFINITY;
        return RP_OK;
    }
    if (st != GLP_OPT) {
        return rp_error_set(err, RP_EINTERNAL, "audit LP: no optimum (GLPK status %d)", st);
    }
    *out = glp_get_obj_val(a->lp);
    return RP_OK;
}

void rp_report__sdc_judge(rp_sdc_interval *iv,
                          double count,
                          bool primary,
                          double floor_known,
                          double lo,
                          double hi,
                          const rp_sdc_opts *o)
{
    iv->value = count;
    iv->lower = ceil(lo - o->lp_tol);
    iv->lower = iv->lower <= 0 ? 0.0 : iv->lower; /* not -0 */
    iv->upper = isinf(hi) ? INFINITY : floor(hi + o->lp_tol);
    iv->primary = primary;
    rp_sdc_protection(&iv->need_lower, &iv->need_upper, &iv->need_width, iv->value, o);
    /* below what the reader knows already the range cannot reach: the lower protection
     * stops there, and the width (k) is then asked of the upper side */
    iv->need_lower = iv->need_lower < floor_known ? floor_known : iv->need_lower;
    iv->protected_ = !iv->primary || (iv->lower <= iv->need_lower + o->lp_tol &&
                                      iv->upper >= iv->need_upper - o->lp_tol &&
                                      iv->upper - iv->lower >= iv->need_width - o->lp_tol);
}

/* The interval of variable @p v, rounded inwards to whole persons, and its verdict. */
static int audit_var(rp_sdc_interval *iv,
                     audit_lp *a,
                     const rp_table *t,
                     size_t v,
                     const rp_sdc_opts *o,
                     rp_error *err)
{
    size_t c = a->cell_of[v];
    double lo = 0, hi = 0;
    int rc = lp_solve(&lo, a, v, GLP_MIN, err);
    if (rc == RP_OK) {
        rc = lp_solve(&hi, a, v, GLP_MAX, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    memset(iv, 0, sizeof(*iv));
    iv->cell = c;
    rp_report__sdc_judge(iv, t->count[c], t->status[c] == RP_CELL_PRIMARY, known_floor(t, c), lo,
                         hi, o);
    return RP_OK;
}

/* ==== the LP, for the joint audit of linked tables (sdc_linked.c) ==== */

double rp_report__sdc_floor(const rp_table *t, size_t c)
{
    return known_floor(t, c);
}

int rp_report__lp_new(rp_report__lp **out, size_t n_vars, rp_error *err)
{
    *out = rp_calloc(1, sizeof(**out));
    if (*out == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    lp_begin(*out, n_vars);
    return RP_OK;
}

void rp_report__lp_floor(rp_report__lp *a, size_t v, double lower)
{
    if (RP_ALWAYS(v >= 1 && v <= a->n_vars && !a->loaded)) {
        glp_set_col_bnds(a->lp, (int)v, GLP_LO, lower, 0.0);
    }
}

int rp_report__lp_add_table(
    rp_report__lp *a, const rp_table *t, const size_t *var_of, const double *value, rp_error *err)
{
    if (RP_NEVER(a->loaded)) {
        return rp_error_set(err, RP_EINTERNAL, "audit LP: rows added after solving");
    }
    const lp_src s = {t, var_of, value};
    return lp_add(a, &s, err);
}

int rp_report__lp_bounds(double *lo, double *hi, rp_report__lp *a, size_t v, rp_error *err)
{
    lp_load(a);
    int rc = lp_solve(lo, a, v, GLP_MIN, err);
    return rc == RP_OK ? lp_solve(hi, a, v, GLP_MAX, err) : rc;
}

void rp_report__lp_free(rp_report__lp *a)
{
    if (a != NULL) {
        lp_release(a);
        rp_free(a);
    }
}

int rp_sdc_audit(rp_sdc_interval **out,
                 size_t *n_out,
                 bool *passed,
                 const rp_table *t,
                 const rp_sdc_opts *opts,
                 rp_error *err)
{
    rp_sdc_opts o;
    audit_lp a;
    rp_sdc_interval *iv = NULL;
    if (out == NULL || n_out == NULL || t == NULL) {
        return rp_error_set(err, RP_EINVAL, "no table or output given");
    }
    *out = NULL;
    *n_out = 0;
    int rc = rp_report__sdc_opts(&o, opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = lp_build(&a, t, err);
    if (rc == RP_OK && a.n_vars > 0) {
        iv = rp_calloc(a.n_vars, sizeof(*iv));
        if (iv == NULL) {
            rp_error_set(err, RP_ENOMEM, "out of memory");
            rc = RP_ENOMEM;
        }
    }
    bool ok = true;
    for (size_t v = 1; v <= a.n_vars && rc == RP_OK; v++) {
        rc = audit_var(&iv[v - 1], &a, t, v, &o, err);
        ok = ok && (rc != RP_OK || iv[v - 1].protected_);
    }
    if (rc == RP_OK) {
        *out = iv;
        *n_out = a.n_vars;
        iv = NULL;
        if (passed != NULL) {
            *passed = ok;
        }
    }
    rp_free(iv);
    lp_release(&a);
    return rc;
}

/* ==== secondary suppression ==== */

double rp_report__sdc_cost(double x, const rp_sdc_opts *o)
{
    switch (o->cost) {
    case RP_SDC_COST_LOG:
        return 1.0 + log(x > 1 ? x : 1);
    case RP_SDC_COST_UNIT:
        return 1.0;
    case RP_SDC_COST_VALUE:
    default:
        return x;
    }
}

static bool is_margin(const rp_table *t, size_t c)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        if (pos_in(t, c, d) == t->dims[d].n_cats) {
            return true;
        }
    }
    return false;
}

/* Is published cell @p c a better complement than @p best (SIZE_MAX: none yet)? Cheaper
 * first, then interior before margins, then the lower index. */
static bool better(const rp_table *t, size_t c, size_t best, const rp_sdc_opts *o)
{
    if (best == SIZE_MAX) {
        return true;
    }
    double cc = rp_report__sdc_cost(t->count[c], o), cb = rp_report__sdc_cost(t->count[best], o);
    if (cc != cb) {
        return cc < cb;
    }
    bool mc = is_margin(t, c), mb = is_margin(t, best);
    if (mc != mb) {
        return !mc;
    }
    return c < best;
}

/* May published cell @p c be a complement? Zeros only when allowed (or @p zeros). */
static bool eligible(const rp_table *t, size_t c, const rp_sdc_opts *o, bool zeros)
{
    return t->status[c] == RP_CELL_PUBLISHED && (t->count[c] > 0 || o->zero_complements || zeros);
}

/* The cells of the line along @p d through cell @p c (n_cats + 1 of them, margin last). */
static size_t line_cells(size_t *cells, const rp_table *t, size_t d, size_t c)
{
    size_t n = t->dims[d].n_cats;
    size_t i = pos_in(t, c, d);
    size_t base = c - i * t->stride[d];
    for (size_t j = 0; j <= n; j++) {
        cells[j] = base + j * t->stride[d];
    }
    return n + 1;
}

/*
 * Give every additive line holding exactly one suppressed cell a second one, the
 * cheapest eligible published cell of the line, until no line has a single suppressed
 * cell (its margin would give it away). *added counts the new suppressions.
 */
static bool fix_line(rp_table *t, size_t *cells, size_t d, size_t m, const rp_sdc_opts *o)
{
    size_t len = line_cells(cells, t, d, m), n_sup = 0;
    size_t best = SIZE_MAX, best_zero = SIZE_MAX;
    for (size_t j = 0; j < len; j++) {
        n_sup += suppressed(t, cells[j]) ? 1 : 0;
        if (eligible(t, cells[j], o, false) && better(t, cells[j], best, o)) {
            best = cells[j];
        }
        if (eligible(t, cells[j], o, true) && better(t, cells[j], best_zero, o)) {
            best_zero = cells[j];
        }
    }
    best = best != SIZE_MAX ? best : best_zero;
    if (n_sup != 1 || best == SIZE_MAX) {
        return false;
    }
    t->status[best] = RP_CELL_SECONDARY;
    return true;
}

static void fix_singletons(rp_table *t, size_t *cells, const rp_sdc_opts *o, size_t *added)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t d = 0; d < t->n_dims; d++) {
            if (!rp_table_dim_additive(t, d)) {
                continue;
            }
            size_t n = t->dims[d].n_cats;
            for (size_t m = 0; m < t->n_cells; m++) {
                if (pos_in(t, m, d) == n && fix_line(t, cells, d, m, o)) {
                    (*added)++;
                    changed = true;
                }
            }
        }
    }
}

/*
 * A complement for the primary cell of @p iv, whose interval is too narrow: among the
 * eligible published cells of its lines, the cheapest at least as large as the missing
 * width (a smaller one cannot open the interval enough on its own), else the largest.
 * Lines of other suppressed cells sharing a line with it are the fallback, then the
 * whole table. SIZE_MAX when every cell is suppressed already.
 */
static size_t
choose_complement(const rp_table *t, const rp_sdc_interval *iv, size_t *cells, const rp_sdc_opts *o)
{
    double gap = iv->need_upper - iv->upper;
    gap = iv->lower - iv->need_lower > gap ? iv->lower - iv->need_lower : gap;
    double wgap = iv->need_width - (iv->upper - iv->lower);
    gap = wgap > gap ? wgap : gap;
    size_t enough = SIZE_MAX, largest = SIZE_MAX;
    for (size_t d = 0; d < t->n_dims; d++) {
        size_t len = line_cells(cells, t, d, iv->cell);
        for (size_t j = 0; j < len; j++) {
            size_t c = cells[j];
            if (!eligible(t, c, o, false)) {
                continue;
            }
            if (t->count[c] >= gap && better(t, c, enough, o)) {
                enough = c;
            }
            if (largest == SIZE_MAX || t->count[c] > t->count[largest]) {
                largest = c;
            }
        }
    }
    if (enough != SIZE_MAX) {
        return enough;
    }
    if (largest != SIZE_MAX) {
        return largest;
    }
    size_t any = SIZE_MAX;
    for (size_t c = 0; c < t->n_cells; c++) {
        if (eligible(t, c, o, true) && better(t, c, any, o)) {
            any = c;
        }
    }
    return any;
}

/* Mark the primary cells; returns their number. */
static size_t mark_primary(rp_table *t, const rp_sdc_opts *o)
{
    size_t n = 0;
    for (size_t c = 0; c < t->n_cells; c++) {
        double x = t->count[c];
        if (t->status[c] == RP_CELL_STRUCTURAL) {
            continue; /* known to be 0 by everyone: nothing to protect */
        }
        if ((x > 0 && x < o->k) || (o->zero_unsafe && x == 0 && !is_margin(t, c))) {
            t->status[c] = RP_CELL_PRIMARY;
            n++;
        }
    }
    return n;
}

/* Audit the primary cells not yet known to be protected; *n_fail gets how many fail,
 * whose intervals are left at fail[0..). */
static int audit_failing(rp_sdc_interval *fail,
                         size_t *n_fail,
                         bool *ok_cell,
                         const rp_table *t,
                         const rp_sdc_opts *o,
                         rp_sdc_report *rep,
                         rp_error *err)
{
    audit_lp a;
    *n_fail = 0;
    int rc = lp_build(&a, t, err);
    for (size_t v = 1; v <= a.n_vars && rc == RP_OK; v++) {
        size_t c = a.cell_of[v];
        if (t->status[c] != RP_CELL_PRIMARY || ok_cell[c]) {
            continue;
        }
        rp_sdc_interval iv;
        rc = audit_var(&iv, &a, t, v, o, err);
        rep->lp_solves += 2;
        if (rc == RP_OK && iv.protected_) {
            ok_cell[c] = true;
        } else if (rc == RP_OK) {
            fail[(*n_fail)++] = iv;
        }
    }
    lp_release(&a);
    return rc;
}

/* Does a line through cell @p c hold a cell suppressed this round (@p fresh)? */
static bool line_has_fresh(const rp_table *t, const bool *fresh, size_t *cells, size_t c)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        size_t len = line_cells(cells, t, d, c);
        for (size_t j = 0; j < len; j++) {
            if (fresh[cells[j]]) {
                return true;
            }
        }
    }
    return false;
}

/* Suppress every cell: the fallback when the rounds run out (always protects). */
static void suppress_all(rp_table *t, rp_sdc_report *rep)
{
    for (size_t c = 0; c < t->n_cells; c++) {
        if (t->status[c] == RP_CELL_PUBLISHED) {
            t->status[c] = RP_CELL_SECONDARY;
            rep->n_secondary++;
        }
    }
}

static int protect_suppress(rp_table *t, const rp_sdc_opts *o, rp_sdc_report *rep, rp_error *err)
{
    size_t max_line = 0;
    for (size_t d = 0; d < t->n_dims; d++) {
        max_line = t->dims[d].n_cats + 1 > max_line ? t->dims[d].n_cats + 1 : max_line;
    }
    size_t *cells = rp_calloc(max_line, sizeof(*cells));
    bool *ok_cell = rp_calloc(t->n_cells, sizeof(*ok_cell));
    bool *fresh = rp_calloc(t->n_cells, sizeof(*fresh));
    rp_sdc_interval *fail = rp_calloc(t->n_cells, sizeof(*fail));
    int rc = RP_OK;
    if (cells == NULL || ok_cell == NULL || fresh == NULL || fail == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rep->n_primary = mark_primary(t, o);
    for (size_t c = 0; c < t->n_cells; c++) {
        rep->n_secondary += t->status[c] == RP_CELL_SECONDARY ? 1 : 0; /* forced */
    }
    while (rc == RP_OK && rep->n_primary > 0) {
        fix_singletons(t, cells, o, &rep->n_secondary);
        size_t n_fail = 0;
        rc = audit_failing(fail, &n_fail, ok_cell, t, o, rep, err);
        rep->rounds++;
        if (rc != RP_OK || n_fail == 0) {
            break;
        }
        if (rep->rounds >= o->max_rounds) {
            suppress_all(t, rep);
            rc = rp_table_add_note(t,
                                   "secondary suppression did not settle in %zu rounds: every "
                                   "cell is suppressed",
                                   rep->rounds) == RP_OK
                     ? RP_OK
                     : rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        size_t added = 0;
        memset(fresh, 0, t->n_cells * sizeof(*fresh));
        for (size_t i = 0; i < n_fail; i++) {
            /* a complement added this round in one of its lines may widen it already:
             * the next audit says (fewer cells suppressed than one complement each) */
            if (added > 0 && line_has_fresh(t, fresh, cells, fail[i].cell)) {
                continue;
            }
            size_t c = choose_complement(t, &fail[i], cells, o);
            if (c != SIZE_MAX && t->status[c] == RP_CELL_PUBLISHED) {
                t->status[c] = RP_CELL_SECONDARY;
                fresh[c] = true;
                rep->n_secondary++;
                added++;
            }
        }
        if (RP_NEVER(added == 0)) {
            /* no published cell left: then nothing can fail; defensive */
            suppress_all(t, rep);
            break;
        }
    }
    rep->audit_passed = rc == RP_OK;
out:
    rp_free(cells);
    rp_free(ok_cell);
    rp_free(fresh);
    rp_free(fail);
    return rc;
}

/* ==== rounding ==== */

static void protect_round(rp_table *t, const rp_sdc_opts *o, rp_sdc_report *rep)
{
    for (size_t c = 0; c < t->n_cells; c++) {
        double x = t->count[c];
        if (t->status[c] == RP_CELL_STRUCTURAL) {
            continue;
        }
        if (o->method == RP_SDC_KROUND) {
            /* CTDC k-synthetic (Synthetic Data Showcase): below k not reported, the rest
             * rounded down to a multiple of k */
            if (x > 0 && x < o->k) {
                t->status[c] = RP_CELL_PRIMARY;
                rep->n_primary++;
                continue;
            }
            t->value[c] = floor(x / o->k) * o->k;
        } else {
            /* to the nearest multiple of base, halves up */
            t->value[c] = floor(x / o->base + 0.5) * o->base;
        }
        t->status[c] = RP_CELL_ROUNDED;
        rep->n_rounded++;
    }
}

/* ==== the entry point ==== */

/* Protected already: a cell with a status other than published, structural or a forced
 * secondary suppression, or a value that is not its count. */
static bool already_protected(const rp_table *t, const rp_sdc_opts *o)
{
    for (size_t c = 0; c < t->n_cells; c++) {
        uint8_t st = t->status[c];
        bool forced = st == RP_CELL_SECONDARY && o->method == RP_SDC_SUPPRESS;
        if ((st != RP_CELL_PUBLISHED && st != RP_CELL_STRUCTURAL && !forced) ||
            t->value[c] != t->count[c]) {
            return true;
        }
    }
    return false;
}

static int suppress_notes(rp_table *t, const rp_sdc_opts *o, const rp_sdc_report *rep)
{
    /*
     * One wording for every hidden cell: the note never says how many cells are below the
     * threshold and how many were withheld to protect them, nor which. Numbers as the
     * tables write theirs ("1,000", never "1e+03").
     */
    char below[48], pct[48];
    rp_publish__fmt_num(below, sizeof(below), o->k - 1, 6);
    rp_publish__fmt_num(pct, sizeof(pct), o->protection_pct, 6);
    int rc = rep->n_primary + rep->n_secondary == 0
                 ? rp_table_add_note(t,
                                     "cells (totals too) of 1 to %s %s%s would be suppressed; "
                                     "this table has none",
                                     below, t->unit, o->zero_unsafe ? ", and cells of 0," : "")
                 : rp_table_add_note(
                       t,
                       "x: suppressed. Cells (totals too) of 1 to %s %s%s are suppressed, and "
                       "further cells where needed so that none of them can be worked out from "
                       "the totals, or narrowed to less than %s%% (at least 1) either way of its "
                       "value%s (linear-programming audit)",
                       below, t->unit, o->zero_unsafe ? ", and cells of 0," : "", pct,
                       o->width_k ? " or to a range narrower than k" : "");
    bool any_vague = false;
    for (size_t d = 0; d < t->n_dims; d++) {
        for (size_t i = 0; !rp_table_dim_additive(t, d) && i < t->dims[d].n_cats; i++) {
            any_vague = any_vague || vague(t, d, i);
        }
    }
    if (rc == RP_OK && !t->additive) {
        rc = rp_table_add_note(t,
                               "the audit of a table with a multi-valued field uses each "
                               "category <= its total and the categories' sum >= the total%s",
                               any_vague ? ", and each category plus 'not specified' (or "
                                           "'unknown') <= the total, as a person counted there "
                                           "has no other category"
                                         : "");
    }
    return rc;
}

/* The note of rounding (RP_SDC_ROUND) or k-rounding (RP_SDC_KROUND). */
static int round_note(rp_table *t, const rp_sdc_opts *o)
{
    char num[48];
    if (o->method == RP_SDC_ROUND) {
        return rp_table_add_note(t,
                                 "every cell is rounded to the nearest multiple of %s, "
                                 "independently: totals may differ from the sum of their parts",
                                 rp_publish__fmt_num(num, sizeof(num), o->base, 6));
    }
    return rp_table_add_note(t,
                             "k-rounding (CTDC k-synthetic, k = %s): cells below k are not shown "
                             "(x), the others are rounded down to a multiple of k",
                             rp_publish__fmt_num(num, sizeof(num), o->k, 6));
}

int rp_sdc_protect(rp_table *t, const rp_sdc_opts *opts, rp_sdc_report *report, rp_error *err)
{
    rp_sdc_opts o;
    rp_sdc_report rep;
    memset(&rep, 0, sizeof(rep));
    if (t == NULL) {
        return rp_error_set(err, RP_EINVAL, "no table given");
    }
    int rc = rp_report__sdc_opts(&o, opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (already_protected(t, &o)) {
        return rp_error_set(err, RP_EINVAL, "table '%s' is already protected",
                            t->title != NULL ? t->title : "");
    }
    switch (o.method) {
    case RP_SDC_SUPPRESS:
        rc = protect_suppress(t, &o, &rep, err);
        if (rc == RP_OK && suppress_notes(t, &o, &rep) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
        break;
    case RP_SDC_ROUND:
    case RP_SDC_KROUND:
        protect_round(t, &o, &rep);
        rc = round_note(t, &o) == RP_OK ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
        break;
    case RP_SDC_DP_LAPLACE:
    case RP_SDC_DP_GAUSSIAN:
        rc = rp_report__dp_apply(t, &o, &rep, err);
        break;
    case RP_SDC_NONE:
    default:
        break;
    }
    for (size_t c = 0; c < t->n_cells; c++) {
        if (suppressed(t, c)) {
            t->value[c] = NAN;
            if (!is_margin(t, c)) {
                rep.suppressed_total += t->count[c];
            }
        }
    }
    if (report != NULL) {
        *report = rep;
    }
    return rc;
}
