/*
 * Hierarchical log-linear models: closure, canonical order, the formula parser and
 * printer, and the catalogue of all hierarchical models that the BIC/AIC searches walk.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int term_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    int ox = rp_mse__popcount(x);
    int oy = rp_mse__popcount(y);
    if (ox != oy)
        return ox < oy ? -1 : 1;
    /*
     * Within one order, terms sort by their lists in column order, so that "LA:NG" (lists
     * 0,1) comes before "LA:PF" (0,2): compare the bit-reversed masks.
     */
    for (uint32_t bit = 1; bit != 0 && bit <= (x | y); bit <<= 1) {
        if ((x & bit) != (y & bit))
            return (x & bit) ? -1 : 1;
    }
    return 0;
}

static bool has_term(const rp_mse_model *m, uint32_t t)
{
    for (size_t i = 0; i < m->n_terms; i++) {
        if (m->terms[i] == t)
            return true;
    }
    return false;
}

int rp_mse_model_close(rp_mse_model *model, rp_error *err)
{
    /*
     * Add every subset of size >= 2 of every term. Terms added are appended and visited
     * in turn, so the loop reaches a fixed point.
     */
    for (size_t i = 0; i < model->n_terms; i++) {
        uint32_t t = model->terms[i];
        for (uint32_t bit = 1; bit != 0 && bit <= t; bit <<= 1) {
            if (!(t & bit))
                continue;
            uint32_t sub = t & ~bit;
            if (rp_mse__popcount(sub) < 2 || has_term(model, sub))
                continue;
            if (model->n_terms >= RP_MSE_MAX_TERMS)
                return rp_error_set(err, RP_EINVAL, "model needs more than %d interaction terms",
                                    RP_MSE_MAX_TERMS);
            model->terms[model->n_terms++] = sub;
        }
    }
    qsort(model->terms, model->n_terms, sizeof(model->terms[0]), term_cmp);
    size_t w = 0;
    for (size_t i = 0; i < model->n_terms; i++) {
        if (w == 0 || model->terms[w - 1] != model->terms[i])
            model->terms[w++] = model->terms[i];
    }
    model->n_terms = w;
    return RP_OK;
}

const char *rp_mse_term_format(uint32_t term, const rp_capture_table *tab, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < tab->n_lists; i++) {
        if (!(term & (1u << i)))
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? ":" : "", tab->list_names[i]);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

static bool is_maximal(const rp_mse_model *m, uint32_t t)
{
    for (size_t i = 0; i < m->n_terms; i++) {
        uint32_t u = m->terms[i];
        if (u != t && (u & t) == t)
            return false;
    }
    return true;
}

/* One term in bracket notation: its list numbers, dotted with ten or more lists. */
static void format_bracket_term(rp_x_buf *b, uint32_t t, size_t n_lists)
{
    bool dotted = n_lists >= 10;
    bool first_list = true;
    for (size_t l = 0; l < n_lists; l++) {
        if (!(t & (1u << l)))
            continue;
        rp_x_buf_printf(b, "%s%zu", dotted && !first_list ? "." : "", l + 1);
        first_list = false;
    }
}

/*
 * The maximal terms in bracket notation, as MultipleSystemsEstimation prints them: highest
 * order first ("[123,14,34]"), each order block in canonical order.
 */
static void format_brackets(rp_x_buf *b, const rp_mse_model *model, size_t n_lists)
{
    rp_x_buf_puts(b, "[");
    bool first = true;
    for (size_t i = model->n_terms; i-- > 0;) {
        /* walk each order block forwards, blocks from the highest order down */
        size_t end = i + 1;
        int ord = rp_mse__popcount(model->terms[i]);
        while (i > 0 && rp_mse__popcount(model->terms[i - 1]) == ord)
            i--;
        for (size_t k = i; k < end; k++) {
            uint32_t t = model->terms[k];
            if (!is_maximal(model, t))
                continue;
            if (!first)
                rp_x_buf_puts(b, ",");
            first = false;
            format_bracket_term(b, t, n_lists);
        }
    }
    rp_x_buf_puts(b, "]");
}

/* Every term by list names ("LA:NG, PF:NCA"), or "main effects" when there is none. */
static void format_names(rp_x_buf *b, const rp_mse_model *model, const rp_capture_table *tab)
{
    if (model->n_terms == 0) {
        rp_x_buf_puts(b, "main effects");
        return;
    }
    char term[RP_MSE_MAX_LISTS * RP_MSE_NAME_MAX];
    for (size_t i = 0; i < model->n_terms; i++) {
        rp_x_buf_printf(b, "%s%s", i ? ", " : "",
                        rp_mse_term_format(model->terms[i], tab, term, sizeof(term)));
    }
}

const char *rp_mse_model_format(const rp_mse_model *model,
                                const rp_capture_table *tab,
                                rp_mse_model_style style,
                                char *buf,
                                size_t size)
{
    rp_x_buf b = RP_X_BUF_INIT;
    if (size == 0)
        return buf;
    if (style == RP_MSE_STYLE_BRACKETS)
        format_brackets(&b, model, tab->n_lists);
    else
        format_names(&b, model, tab);
    const char *s = rp_x_buf_cstr(&b);
    snprintf(buf, size, "%s", s ? s : "");
    rp_x_buf_release(&b);
    return buf;
}

/* ==== formula parser ==== */

static bool is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-' || (c & 0x80);
}

/*
 * One list number of a bracket term at *qp, before @p end: a digit 1-9, or with dotted
 * terms a run of digits and the '.' that follows it. Advances *qp; columns count from
 * @p spec.
 */
static int parse_list_number(
    size_t *k, const char **qp, const char *end, bool dotted, const char *spec, rp_error *err)
{
    const char *q = *qp;
    long col = (long)(q - spec) + 1;
    size_t v = 0;
    if (dotted) {
        if (!isdigit((unsigned char)*q))
            return rp_error_set_at(err, RP_EPARSE, "", 1, col, "model: expected a list number");
        while (q < end && isdigit((unsigned char)*q) && v <= RP_MSE_MAX_LISTS) {
            v = 10 * v + (size_t)(*q - '0');
            q++;
        }
        if (q < end && *q != '.')
            return rp_error_set_at(err, RP_EPARSE, "", 1, (long)(q - spec) + 1,
                                   "model: expected '.' between list numbers");
        if (q < end)
            q++;
    } else {
        if (*q < '1' || *q > '9')
            return rp_error_set_at(err, RP_EPARSE, "", 1, col,
                                   "model: expected a list number 1-9, ',' or ']'");
        v = (size_t)(*q - '0');
        q++;
    }
    *k = v;
    *qp = q;
    return RP_OK;
}

/* The lists of the bracket term [start, end) as a bit mask (0 for an empty term). */
static int parse_bracket_term(uint32_t *term,
                              const char *start,
                              const char *end,
                              const char *spec,
                              const rp_capture_table *tab,
                              rp_error *err)
{
    bool dotted = memchr(start, '.', (size_t)(end - start)) != NULL;
    uint32_t t = 0;
    for (const char *q = start; q < end;) {
        long col = (long)(q - spec) + 1;
        size_t k = 0;
        int rc = parse_list_number(&k, &q, end, dotted, spec, err);
        if (rc != RP_OK)
            return rc;
        if (k < 1 || k > tab->n_lists)
            return rp_error_set_at(err, RP_EINVAL, "", 1, col,
                                   "model: list number %zu but there are %zu lists", k,
                                   tab->n_lists);
        t |= 1u << (k - 1);
    }
    *term = t;
    return RP_OK;
}

/*
 * Add a parsed bracket term: interactions join the model, single lists (main effects) are
 * implied anyway, and an empty term is an error unless @p empty_ok (the whole "[]").
 */
static int
add_bracket_term(rp_mse_model *out, uint32_t term, bool empty_ok, long col, rp_error *err)
{
    int ord = rp_mse__popcount(term);
    if (ord >= 2) {
        if (out->n_terms >= RP_MSE_MAX_TERMS)
            return rp_error_set(err, RP_EINVAL, "model has too many terms");
        out->terms[out->n_terms++] = term;
    } else if (ord == 0 && !empty_ok) {
        return rp_error_set_at(err, RP_EPARSE, "", 1, col, "model: empty term");
    }
    return RP_OK;
}

/*
 * Bracket notation of MultipleSystemsEstimation: "[123,14,34]", one digit per list. With
 * ten or more lists a term writes its list numbers separated by dots: "[1.10,2.3]".
 */
static int
parse_brackets(rp_mse_model *out, const rp_capture_table *tab, const char *spec, rp_error *err)
{
    const char *p = spec + 1;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ']' && *p != ' ')
            p++;
        uint32_t term = 0;
        int rc = parse_bracket_term(&term, start, p, spec, tab, err);
        if (rc != RP_OK)
            return rc;
        while (*p == ' ')
            p++;
        if (*p != ',' && *p != ']')
            return rp_error_set_at(err, RP_EPARSE, "", 1, (long)(p - spec) + 1,
                                   "model: expected ',' or ']'");
        bool empty_ok = *p == ']' && out->n_terms == 0 && start == spec + 1;
        rc = add_bracket_term(out, term, empty_ok, (long)(p - spec) + 1, err);
        if (rc != RP_OK)
            return rc;
        if (*p == ']') {
            p++;
            break;
        }
        p++;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return rp_error_set_at(err, RP_EPARSE, "", 1, (long)(p - spec) + 1,
                               "model: unexpected text after ']'");
    return RP_OK;
}

/* A list name of a formula at *pp: its list joins *term. Advances *pp past the name. */
static int parse_list_name(
    uint32_t *term, const char **pp, const char *spec, const rp_capture_table *tab, rp_error *err)
{
    const char *s = *pp;
    const char *p = s;
    while (*p && is_name_char((unsigned char)*p))
        p++;
    if (p == s)
        return rp_error_set_at(err, RP_EPARSE, "", 1, (long)(s - spec) + 1,
                               "model: expected a list name");
    char name[RP_MSE_NAME_MAX];
    size_t len = (size_t)(p - s);
    if (len >= sizeof(name))
        return rp_error_set_at(err, RP_EINVAL, "", 1, (long)(s - spec) + 1,
                               "model: list name too long");
    memcpy(name, s, len);
    name[len] = '\0';
    int k = rp_capture_table_find_list(tab, name);
    if (k < 0)
        return rp_error_set_at(err, RP_EINVAL, "", 1, (long)(s - spec) + 1,
                               "model: unknown list '%s'", name);
    *term |= 1u << k;
    *pp = p;
    return RP_OK;
}

/* A formula term ends at @p p (a separator or the end): it needs two or more lists. */
static int
push_formula_term(rp_mse_model *out, uint32_t term, const char *p, const char *spec, rp_error *err)
{
    if (rp_mse__popcount(term) < 2)
        return rp_error_set_at(err, RP_EINVAL, "", 1, (long)(p - spec) + 1,
                               "model: a term needs two or more lists");
    if (out->n_terms >= RP_MSE_MAX_TERMS)
        return rp_error_set(err, RP_EINVAL, "model has too many terms");
    out->terms[out->n_terms++] = term;
    return RP_OK;
}

/*
 * Formula notation from @p p on: "LA*NG + PF:NCA". Grammar: term {sep term};
 * sep = '+' | ','; term = name {op name}; op = '*' | ':'. Columns count from @p spec.
 */
static int parse_formula(
    rp_mse_model *out, const rp_capture_table *tab, const char *p, const char *spec, rp_error *err)
{
    uint32_t term = 0;
    bool want_name = true;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        int rc = RP_OK;
        if (want_name) {
            rc = parse_list_name(&term, &p, spec, tab, err);
            if (rc != RP_OK)
                return rc;
            want_name = false;
        } else if (*p == '*' || *p == ':') {
            p++;
            want_name = true;
        } else if (*p == '+' || *p == ',' || *p == '\0') {
            rc = push_formula_term(out, term, p, spec, err);
            if (rc != RP_OK || *p == '\0')
                return rc;
            term = 0;
            p++;
            want_name = true;
        } else {
            return rp_error_set_at(err, RP_EPARSE, "", 1, (long)(p - spec) + 1,
                                   "model: expected '*', ':', '+' or ','");
        }
    }
}

int rp_mse_model_parse(rp_mse_model *out,
                       const rp_capture_table *tab,
                       const char *spec,
                       rp_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = spec;
    while (*p == ' ')
        p++;
    int rc = RP_OK;
    if (*p == '[') {
        rc = parse_brackets(out, tab, p, err);
        /* its columns count from the '[': shift them past the leading spaces */
        if (rc != RP_OK && err && err->column > 0)
            err->column += (long)(p - spec);
    } else if (strcmp(p, "main") != 0 && strcmp(p, "main effects") != 0 && *p != '\0')
        rc = parse_formula(out, tab, p, spec, err);
    if (rc != RP_OK)
        return rc;
    uint32_t all = (uint32_t)((1u << tab->n_lists) - 1u);
    for (size_t i = 0; i < out->n_terms; i++) {
        if (out->terms[i] == all)
            return rp_error_set(err, RP_EINVAL,
                                "model: the %zu-way term of all lists is not identifiable",
                                tab->n_lists);
    }
    return rp_mse_model_close(out, err);
}

/* ==== catalogue ==== */

int rp_mse__default_max_order(size_t n_lists)
{
    /*
     * As MultipleSystemsEstimation 1.2.0: all hierarchical models up to three-way terms
     * for 3-5 lists (never the K-way term, which is not identifiable), two-way models for
     * 6 lists; beyond that the catalogue is too large and searches go stepwise.
     */
    if (n_lists <= 3)
        return 2;
    if (n_lists <= 5)
        return 3;
    return 2;
}

static int list_push(rp_mse_model_list *l, const rp_mse_model *m, rp_error *err)
{
    if (l->n >= RP_MSE_MAX_CATALOGUE)
        return rp_error_set(err, RP_EINVAL,
                            "more than %d models to search: use stepwise selection or a lower "
                            "highest order",
                            RP_MSE_MAX_CATALOGUE);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        rp_mse_model *v = rp_reallocarray(l->v, cap, sizeof(*v));
        if (!v)
            return rp_error_set(err, RP_ENOMEM, "out of memory for the model catalogue");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *m;
    return RP_OK;
}

void rp_mse__model_list_release(rp_mse_model_list *l)
{
    if (!l)
        return;
    rp_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/*
 * Enumerate models order by order: given the terms of order < r, the candidate terms of
 * order r are those all of whose (r-1)-subsets are present (for r = 2: every pair); every
 * subset of the candidates gives a distinct hierarchical model, which is extended at
 * order r + 1. Each hierarchical model is produced exactly once.
 */
static int enumerate(rp_mse_model_list *out,
                     rp_mse_model *m,
                     size_t n_lists,
                     int order,
                     int max_order,
                     rp_error *err)
{
    uint32_t cand[RP_MSE_MAX_TERMS];
    size_t nc = 0;
    uint32_t all = (uint32_t)((1u << n_lists) - 1u);
    if (order <= max_order && order < (int)n_lists) {
        for (uint32_t t = 1; t < all; t++) {
            if (rp_mse__popcount(t) != order)
                continue;
            bool ok = true;
            if (order > 2) {
                for (uint32_t bit = 1; bit <= t && ok; bit <<= 1) {
                    if ((t & bit) && !has_term(m, t & ~bit))
                        ok = false;
                }
            }
            if (ok) {
                if (nc >= 24)
                    return rp_error_set(err, RP_EINVAL,
                                        "model catalogue too large: use stepwise selection");
                cand[nc++] = t;
            }
        }
    }
    if (nc == 0)
        return list_push(out, m, err);
    size_t base = m->n_terms;
    /*
     * Subsets in Gray-code order: each model differs from the one before by one term, so
     * that a search starting IRLS from the previous fit (ws->use_mustart) starts close.
     */
    for (uint32_t g = 0; g < (1u << nc); g++) {
        uint32_t subset = g ^ (g >> 1);
        m->n_terms = base;
        for (size_t i = 0; i < nc; i++) {
            if (subset & (1u << i))
                m->terms[m->n_terms++] = cand[i];
        }
        int rc = subset == 0 ? list_push(out, m, err)
                             : enumerate(out, m, n_lists, order + 1, max_order, err);
        if (rc != RP_OK) {
            m->n_terms = base;
            return rc;
        }
    }
    m->n_terms = base;
    return RP_OK;
}

int rp_mse__catalogue(rp_mse_model_list *out, size_t n_lists, int max_order, rp_error *err)
{
    memset(out, 0, sizeof(*out));
    rp_mse_model m;
    memset(&m, 0, sizeof(m));
    int rc = enumerate(out, &m, n_lists, 2, max_order, err);
    if (rc != RP_OK) {
        rp_mse__model_list_release(out);
        return rc;
    }
    for (size_t i = 0; i < out->n; i++)
        qsort(out->v[i].terms, out->v[i].n_terms, sizeof(uint32_t), term_cmp);
    return RP_OK;
}
