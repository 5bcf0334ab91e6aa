/*
 * The comparison spec of the clear-text linkage (include/rapporteur/fs.h): a small JSON
 * document, in the spirit of Splink's comparison definitions, that names for each field
 * its column, comparator, thresholds, term-frequency adjustment and fixed m/u, plus the
 * blocking rules and the prior on the match rate. Parsing is strict: an unknown key, a
 * wrong type or a threshold out of order is an error naming the comparison and key.
 */
#include "link/fs_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/common_int.h"
/* clang-format on */

#define SPEC_MAX_BYTES ((size_t)1 << 20)
#define COLUMN_MAX     255
#define MAX_COLUMNS    (2 * RP_FS_MAX_COMPARISONS + RP_FS_MAX_RULES * RP_FS_MAX_RULE_PART)
#define SUM_TOL        1e-6 /* fixed m or u must sum to 1 within this */

typedef struct parser {
    rp_fs_spec *spec;
    const char *name;
    rp_error *err;
} parser;

static int fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parser *ps, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rp_error_set_at(ps->err, RP_EDATA, ps->name ? ps->name : "", 0, 0, "%s", msg);
}

/* Index of column @p name, added when new. RP_OK or an error. */
static int column_index(parser *ps, const char *name, unsigned *out)
{
    rp_fs_spec *s = ps->spec;
    size_t len = strlen(name);
    if (len == 0 || len > COLUMN_MAX)
        return fail(ps, "a column name is empty or longer than 255 bytes");
    for (size_t i = 0; i < s->n_columns; i++) {
        if (strcmp(s->columns[i], name) == 0) {
            *out = (unsigned)i;
            return RP_OK;
        }
    }
    if (s->n_columns == MAX_COLUMNS)
        return fail(ps, "too many columns");
    if (s->columns == NULL) {
        s->columns = rp_calloc(MAX_COLUMNS, sizeof *s->columns);
        if (s->columns == NULL)
            return rp_error_set(ps->err, RP_ENOMEM, "out of memory");
    }
    s->columns[s->n_columns] = rp_strdup(name);
    if (s->columns[s->n_columns] == NULL)
        return rp_error_set(ps->err, RP_ENOMEM, "out of memory");
    *out = (unsigned)s->n_columns++;
    return RP_OK;
}

static const struct {
    const char *name;
    rp_fs_kind kind;
} kinds[] = {{"exact", RP_FS_EXACT},
             {"jaro_winkler", RP_FS_JARO_WINKLER},
             {"jaro", RP_FS_JARO},
             {"damerau_levenshtein", RP_FS_DAMERAU_LEVENSHTEIN},
             {"date", RP_FS_DATE}};

static const char *kind_name(rp_fs_kind k)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(kinds); i++)
        if (kinds[i].kind == k)
            return kinds[i].name;
    return "?";
}

/* Thresholds of @p c from the JSON array @p arr: checked by kind. */
static int parse_thresholds(parser *ps, rp_fs__comparison *c, const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) > RP_FS__MAX_THRESHOLDS)
        return fail(ps, "comparison '%s': 'thresholds' must be an array of at most 6 numbers",
                    c->name);
    if (c->kind == RP_FS_EXACT && json_array_size(arr) > 0)
        return fail(ps, "comparison '%s': an exact comparison takes no thresholds", c->name);
    c->n_thr = json_array_size(arr);
    for (size_t t = 0; t < c->n_thr; t++) {
        const json_t *v = json_array_get(arr, t);
        if (!json_is_number(v))
            return fail(ps, "comparison '%s': 'thresholds' must hold numbers", c->name);
        double x = json_number_value(v);
        bool ok = isfinite(x);
        if (c->kind == RP_FS_JARO || c->kind == RP_FS_JARO_WINKLER)
            ok = ok && x > 0 && x < 1 && (t == 0 || x < c->thr[t - 1]);
        else if (c->kind == RP_FS_DAMERAU_LEVENSHTEIN)
            ok = ok && x >= 1 && x <= 16 && x == floor(x) && (t == 0 || x > c->thr[t - 1]);
        else
            ok = ok && x >= 0 && x <= 1e6 && x == floor(x) && (t == 0 || x > c->thr[t - 1]);
        if (!ok)
            return fail(ps,
                        "comparison '%s': bad 'thresholds' (similarities in (0,1) descending; "
                        "distances 1..16 and days ascending integers)",
                        c->name);
        c->thr[t] = x;
    }
    return RP_OK;
}

/* Fixed m or u: one probability per non-null level, summing to 1. */
static int
parse_probs(parser *ps, rp_fs__comparison *c, const json_t *arr, double *out, const char *key)
{
    size_t want = c->n_levels - 1;
    if (!json_is_array(arr) || json_array_size(arr) != want)
        return fail(ps,
                    "comparison '%s': '%s' must have one probability per level (null level "
                    "excluded)",
                    c->name, key);
    double sum = 0;
    for (size_t l = 0; l < want; l++) {
        const json_t *v = json_array_get(arr, l);
        double x = json_is_number(v) ? json_number_value(v) : -1.0;
        if (!(x > 0 && x <= 1))
            return fail(ps, "comparison '%s': '%s' values must be in (0, 1]", c->name, key);
        out[l + 1] = x;
        sum += x;
    }
    if (fabs(sum - 1.0) > SUM_TOL)
        return fail(ps, "comparison '%s': '%s' must sum to 1", c->name, key);
    return RP_OK;
}

static int parse_kind(parser *ps, rp_fs__comparison *c, const json_t *v)
{
    const char *k = json_string_value(v);
    for (size_t i = 0; k != NULL && i < RP_ARRAY_LEN(kinds); i++) {
        if (strcmp(k, kinds[i].name) == 0) {
            c->kind = kinds[i].kind;
            return RP_OK;
        }
    }
    return fail(ps,
                "comparison '%s': 'kind' must be exact, jaro_winkler, jaro, "
                "damerau_levenshtein or date",
                c->name);
}

/* Options of a comparison that need its kind: everything but name, column, kind, m, u. */
static int parse_options(parser *ps, rp_fs__comparison *c, const json_t *o)
{
    const char *key = NULL;
    const json_t *v = NULL;
    int rc = RP_OK;
    json_object_foreach((json_t *)o, key, v)
    {
        if (strcmp(key, "thresholds") == 0) {
            rc = parse_thresholds(ps, c, v);
        } else if (strcmp(key, "tf") == 0 && json_is_boolean(v)) {
            c->tf = json_is_true(v);
        } else if (strcmp(key, "day_month_swap") == 0 && json_is_boolean(v) &&
                   c->kind == RP_FS_DATE) {
            c->dm_swap = json_is_true(v);
        } else if (strcmp(key, "max_edits") == 0 && json_is_integer(v) && c->kind == RP_FS_DATE &&
                   json_integer_value(v) >= 0 && json_integer_value(v) <= 3) {
            c->max_edits = (unsigned)json_integer_value(v);
        } else if (strcmp(key, "reversed_with") == 0 && json_is_string(v)) {
            unsigned col = 0;
            rc = column_index(ps, json_string_value(v), &col);
            c->rev_col = (int)col;
        } else if (strcmp(key, "name") != 0 && strcmp(key, "column") != 0 &&
                   strcmp(key, "kind") != 0 && strcmp(key, "m") != 0 && strcmp(key, "u") != 0) {
            rc = fail(ps, "comparison '%s': unknown key or bad value for this kind: '%s'", c->name,
                      key);
        }
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

static int parse_comparison(parser *ps, rp_fs__comparison *c, const json_t *o, size_t index)
{
    char label[32];
    snprintf(label, sizeof label, "#%zu", index + 1);
    if (!json_is_object(o))
        return fail(ps, "comparison %s must be an object", label);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *column = json_string_value(json_object_get(o, "column"));
    if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof c->name)
        return fail(ps, "comparison %s needs a 'name' of 1 to 63 bytes", label);
    rp_x_strlcpy(c->name, name, sizeof c->name);
    if (column == NULL)
        return fail(ps, "comparison '%s' needs a 'column'", c->name);
    c->rev_col = -1;
    c->kind = RP_FS_JARO_WINKLER;
    int rc = column_index(ps, column, &c->col);
    if (rc == RP_OK && json_object_get(o, "kind") != NULL)
        rc = parse_kind(ps, c, json_object_get(o, "kind"));
    if (rc == RP_OK)
        rc = parse_options(ps, c, o);
    if (rc != RP_OK)
        return rc;
    if (!rp_fs__comparison_levels(c))
        return fail(ps, "comparison '%s' has more than 10 levels", c->name);
    const json_t *m = json_object_get(o, "m"), *u = json_object_get(o, "u");
    if (m != NULL) {
        c->has_m = true;
        rc = parse_probs(ps, c, m, c->m, "m");
    }
    if (rc == RP_OK && u != NULL) {
        c->has_u = true;
        rc = parse_probs(ps, c, u, c->u, "u");
    }
    return rc;
}

/* "column:transform" into @p p. */
static int parse_part(parser *ps, rp_fs__part *p, const char *text)
{
    char buf[COLUMN_MAX + 32];
    if (rp_x_strlcpy(buf, text, sizeof buf) >= sizeof buf)
        return fail(ps, "blocking part too long");
    char *colon = strrchr(buf, ':');
    const char *tr = "exact";
    if (colon != NULL) {
        *colon = '\0';
        tr = colon + 1;
    }
    long n = 0;
    if (strcmp(tr, "exact") == 0) {
        p->kind = RP_FS__TR_EXACT;
    } else if (strcmp(tr, "soundex") == 0) {
        p->kind = RP_FS__TR_SOUNDEX;
    } else if (strcmp(tr, "year") == 0) {
        p->kind = RP_FS__TR_YEAR;
    } else if (strncmp(tr, "first", 5) == 0 && rp_x_parse_long(tr + 5, 1, 32, &n) == 0) {
        p->kind = RP_FS__TR_FIRST;
    } else if (strncmp(tr, "last", 4) == 0 && rp_x_parse_long(tr + 4, 1, 32, &n) == 0) {
        p->kind = RP_FS__TR_LAST;
    } else {
        return fail(ps,
                    "blocking: unknown transform '%s' (exact, soundex, year, firstN, lastN with "
                    "N 1..32)",
                    tr);
    }
    p->n = (unsigned)n;
    return column_index(ps, buf, &p->col);
}

static int parse_blocking(parser *ps, const json_t *arr)
{
    rp_fs_spec *s = ps->spec;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > RP_FS_MAX_RULES)
        return fail(ps, "'blocking' must be an array of 1 to 8 rules");
    s->n_rules = json_array_size(arr);
    for (size_t r = 0; r < s->n_rules; r++) {
        const json_t *rule = json_array_get(arr, r);
        if (json_is_string(rule)) {
            s->rule[r].n_parts = 1;
            int rc = parse_part(ps, &s->rule[r].part[0], json_string_value(rule));
            if (rc != RP_OK)
                return rc;
            continue;
        }
        if (!json_is_array(rule) || json_array_size(rule) == 0 ||
            json_array_size(rule) > RP_FS_MAX_RULE_PART)
            return fail(ps, "a blocking rule must be a string or an array of 1 to 4 strings");
        s->rule[r].n_parts = json_array_size(rule);
        for (size_t k = 0; k < s->rule[r].n_parts; k++) {
            const char *t = json_string_value(json_array_get(rule, k));
            if (t == NULL)
                return fail(ps, "a blocking rule part must be a string");
            int rc = parse_part(ps, &s->rule[r].part[k], t);
            if (rc != RP_OK)
                return rc;
        }
    }
    return RP_OK;
}

static int parse_prior_agree(parser *ps, const json_t *arr)
{
    rp_fs_spec *s = ps->spec;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(ps, "prior: 'agree' must be a non-empty array of comparison names");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *n = json_string_value(json_array_get(arr, i));
        size_t k = 0;
        while (n != NULL && k < s->n_comp && strcmp(s->comp[k].name, n) != 0)
            k++;
        if (n == NULL || k == s->n_comp)
            return fail(ps, "prior: 'agree' names no comparison: '%s'", n);
        s->prior_agree |= 1u << k;
    }
    return RP_OK;
}

static int parse_prior(parser *ps, const json_t *o)
{
    rp_fs_spec *s = ps->spec;
    if (!json_is_object(o))
        return fail(ps, "'prior' must be an object");
    const char *key = NULL;
    const json_t *v = NULL;
    json_object_foreach((json_t *)o, key, v)
    {
        double x = json_is_number(v) ? json_number_value(v) : -1.0;
        int rc = RP_OK;
        if (strcmp(key, "lambda") == 0 && x > 0 && x < 1) {
            s->prior_lambda = x;
        } else if (strcmp(key, "recall") == 0 && x > 0 && x <= 1) {
            s->prior_recall = x;
        } else if (strcmp(key, "agree") == 0) {
            rc = parse_prior_agree(ps, v);
        } else {
            rc = fail(ps,
                      "prior: unknown key or bad value '%s' (lambda in (0,1), agree, recall in "
                      "(0,1])",
                      key);
        }
        if (rc != RP_OK)
            return rc;
    }
    if (s->prior_lambda > 0 && s->prior_agree != 0)
        return fail(ps, "prior: give 'lambda' or 'agree', not both");
    return RP_OK;
}

static int parse_root(parser *ps, const json_t *root)
{
    rp_fs_spec *s = ps->spec;
    if (!json_is_object(root))
        return fail(ps, "the spec must be a JSON object");
    const json_t *comps = json_object_get(root, "comparisons");
    if (!json_is_array(comps) || json_array_size(comps) == 0 ||
        json_array_size(comps) > RP_FS_MAX_COMPARISONS)
        return fail(ps, "'comparisons' must be an array of 1 to 12 comparisons");
    s->n_comp = json_array_size(comps);
    for (size_t k = 0; k < s->n_comp; k++) {
        int rc = parse_comparison(ps, &s->comp[k], json_array_get(comps, k), k);
        if (rc != RP_OK)
            return rc;
        for (size_t j = 0; j < k; j++)
            if (strcmp(s->comp[j].name, s->comp[k].name) == 0)
                return fail(ps, "two comparisons are named '%s'", s->comp[k].name);
    }
    s->prior_recall = 1.0;
    const char *key = NULL;
    const json_t *v = NULL;
    json_object_foreach((json_t *)root, key, v)
    {
        int rc = RP_OK;
        if (strcmp(key, "blocking") == 0) {
            rc = parse_blocking(ps, v);
        } else if (strcmp(key, "prior") == 0) {
            rc = parse_prior(ps, v);
        } else if (strcmp(key, "comparisons") != 0 &&
                   !((strcmp(key, "name") == 0 || strcmp(key, "description") == 0) &&
                     json_is_string(v))) {
            rc = fail(ps, "unknown key or bad value: '%s'", key);
        }
        if (rc != RP_OK)
            return rc;
    }
    if (s->n_rules == 0)
        return fail(ps, "'blocking' is required (comparing every pair does not scale)");
    return RP_OK;
}

int rp_fs_spec_parse(
    rp_fs_spec **out, const char *json, size_t len, const char *name, rp_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return rp_error_set_at(err, RP_EPARSE, name ? name : "", jerr.line, jerr.column,
                               "comparison spec: %s", jerr.text);
    rp_fs_spec *s = rp_calloc(1, sizeof *s);
    if (s == NULL) {
        json_decref(root);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    parser ps = {s, name, err};
    int rc = parse_root(&ps, root);
    json_decref(root);
    if (rc != RP_OK) {
        rp_fs_spec_free(s);
        return rc;
    }
    *out = s;
    return RP_OK;
}

int rp_fs_spec_load(rp_fs_spec **out, const char *path, rp_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = rp_x_read_file(&text, &len, path, SPEC_MAX_BYTES, err);
    if (rc == RP_OK)
        rc = rp_fs_spec_parse(out, text, len, path, err);
    rp_free(text);
    return rc;
}

void rp_fs_spec_free(rp_fs_spec *spec)
{
    if (spec == NULL)
        return;
    for (size_t i = 0; i < spec->n_columns; i++)
        rp_free(spec->columns[i]);
    rp_free(spec->columns);
    rp_free(spec);
}

size_t rp_fs_spec_comparisons(const rp_fs_spec *spec)
{
    return spec ? spec->n_comp : 0;
}

const char *rp_fs_spec_comparison_name(const rp_fs_spec *spec, size_t k)
{
    return spec && k < spec->n_comp ? spec->comp[k].name : NULL;
}

unsigned rp_fs_spec_levels(const rp_fs_spec *spec, size_t k)
{
    return spec && k < spec->n_comp ? spec->comp[k].n_levels : 0;
}

rp_fs_level_kind rp_fs_spec_level_kind(const rp_fs_spec *spec, size_t k, unsigned l)
{
    if (spec == NULL || k >= spec->n_comp || l >= spec->comp[k].n_levels)
        return RP_FS_LEVEL_NULL;
    return spec->comp[k].level[l];
}

size_t rp_fs_spec_columns(const rp_fs_spec *spec, const char *const **names)
{
    *names = (const char *const *)spec->columns;
    return spec->n_columns;
}

static const char *transform_name(const rp_fs__part *p, char *buf, size_t size)
{
    static const char *const names[] = {"exact", "first", "last", "soundex", "year"};
    if (p->kind == RP_FS__TR_FIRST || p->kind == RP_FS__TR_LAST)
        snprintf(buf, size, "%s%u", names[p->kind], p->n);
    else
        snprintf(buf, size, "%s", names[p->kind]);
    return buf;
}

static json_t *comparison_json(const rp_fs_spec *s, const rp_fs__comparison *c)
{
    json_t *thr = json_array();
    for (size_t t = 0; thr != NULL && t < c->n_thr; t++)
        json_array_append_new(thr, json_real(c->thr[t]));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", c->name, "column", s->columns[c->col],
                  "kind", kind_name(c->kind), "thresholds", thr, "tf", (int)c->tf);
    if (o == NULL)
        return NULL;
    if (c->rev_col >= 0)
        json_object_set_new(o, "reversed_with", json_string(s->columns[c->rev_col]));
    if (c->kind == RP_FS_DATE) {
        json_object_set_new(o, "day_month_swap", json_boolean(c->dm_swap));
        json_object_set_new(o, "max_edits", json_integer(c->max_edits));
    }
    return o;
}

char *rp_fs_spec_to_json(const rp_fs_spec *spec)
{
    json_t *root = json_object(), *comps = json_array(), *rules = json_array();
    char *text = NULL;
    if (root == NULL || comps == NULL || rules == NULL)
        goto out;
    for (size_t k = 0; k < spec->n_comp; k++)
        json_array_append_new(comps, comparison_json(spec, &spec->comp[k]));
    for (size_t r = 0; r < spec->n_rules; r++) {
        json_t *rule = json_array();
        for (size_t p = 0; rule != NULL && p < spec->rule[r].n_parts; p++) {
            char tr[32], part[COLUMN_MAX + 40];
            const rp_fs__part *pt = &spec->rule[r].part[p];
            snprintf(part, sizeof part, "%s:%s", spec->columns[pt->col],
                     transform_name(pt, tr, sizeof tr));
            json_array_append_new(rule, json_string(part));
        }
        json_array_append_new(rules, rule);
    }
    json_object_set(root, "comparisons", comps);
    json_object_set(root, "blocking", rules);
    if (spec->prior_lambda > 0)
        json_object_set_new(root, "prior", json_pack("{s:f}", "lambda", spec->prior_lambda));
    char *dumped = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (dumped != NULL) {
        text = rp_strdup(dumped);
        free(dumped); /* jansson's allocator */
    }
out:
    json_decref(comps);
    json_decref(rules);
    json_decref(root);
    return text;
}
