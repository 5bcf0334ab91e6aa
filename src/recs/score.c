/*
 * Scorecards: the recommendations matching a filter, counted per state, theme, round,
 * strength and responsible body by status, with the share implemented (of those still
 * relevant), overdue items (a due date before the reference date and not implemented
 * or no longer relevant), repeated recommendations not acted on (linked as repeating an
 * earlier one and still not started) and the trend across rounds per state; written as
 * text, JSON or one self-contained HTML page with an inline SVG chart.
 */
#include "recs/recs_int.h"

#include <math.h>

/* One recommendation as the scorecard sees it. */
typedef struct srec {
    long long id;
    char ref[RP_RECS_REF_MAX];
    char state[4];
    int round;
    int strength;
    int status;
    char due[11];
    bool repeats;
    char *themes; /* ';'-separated codes, "" when none */
    char *bodies;
} srec;

/* A group under construction; order sorts groups before their key. */
typedef struct group {
    rp_recs_score s;
    int order;
} group;

typedef struct glist {
    group *v;
    size_t n, cap;
} glist;

static int nomem(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

static bool is_overdue(const srec *r, const char *as_of)
{
    return r->due[0] != '\0' && strcmp(r->due, as_of) < 0 && r->status != RP_REC_IMPLEMENTED &&
           r->status != RP_REC_NO_LONGER_RELEVANT;
}

static bool is_repeated_not_acted(const srec *r)
{
    return r->repeats && r->status == RP_REC_NOT_STARTED;
}

static void count(rp_recs_score *s, const srec *r, const char *as_of)
{
    s->total++;
    s->n[r->status]++;
    s->overdue += is_overdue(r, as_of);
    s->repeated_not_acted += is_repeated_not_acted(r);
}

/* The group with @p key and @p round in @p g, added when absent. */
static rp_recs_score *group_of(glist *g, const char *key, int round, int order, rp_error *err)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].s.round == round && strcmp(g->v[i].s.key, key) == 0) {
            return &g->v[i].s;
        }
    }
    if (rp_x_grow(&g->v, &g->cap, g->n + 1, sizeof(*g->v)) != RP_OK) {
        nomem(err);
        return NULL;
    }
    group *n = &g->v[g->n++];
    memset(n, 0, sizeof(*n));
    rp_x_strlcpy(n->s.key, key, sizeof(n->s.key));
    n->s.round = round;
    n->order = order;
    return &n->s;
}

/* Count @p r under each code of the ';'-list @p codes ("(none)" when empty). */
static int count_codes(glist *g, const char *codes, const srec *r, const char *as_of, rp_error *err)
{
    if (codes[0] == '\0') {
        rp_recs_score *s = group_of(g, "(none)", 0, 1, err);
        if (s == NULL) {
            return RP_ENOMEM;
        }
        count(s, r, as_of);
        return RP_OK;
    }
    const char *p = codes;
    while (*p != '\0') {
        const char *e = strchr(p, ';');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        char key[RP_RECS_CODE_MAX];
        rp_x_strlcpy(key, p, n + 1 < sizeof(key) ? n + 1 : sizeof(key));
        rp_recs_score *s = group_of(g, key, 0, 0, err);
        if (s == NULL) {
            return RP_ENOMEM;
        }
        count(s, r, as_of);
        p = e != NULL ? e + 1 : p + n;
    }
    return RP_OK;
}

static int cmp_group(const void *a, const void *b)
{
    const group *x = a;
    const group *y = b;
    if (x->order != y->order) {
        return x->order < y->order ? -1 : 1;
    }
    int c = strcmp(x->s.key, y->s.key);
    if (c != 0) {
        return c;
    }
    return (x->s.round > y->s.round) - (x->s.round < y->s.round);
}

static void finish_score(rp_recs_score *s)
{
    s->relevant = s->total - s->n[RP_REC_NO_LONGER_RELEVANT];
    s->share_implemented =
        s->relevant > 0 ? (double)s->n[RP_REC_IMPLEMENTED] / (double)s->relevant : NAN;
}

/* Sort @p g and hand its scores over to *out / *n. */
static int take_groups(rp_recs_score **out, size_t *n, glist *g, rp_error *err)
{
    *out = NULL;
    *n = 0;
    if (g->n == 0) {
        return RP_OK;
    }
    qsort(g->v, g->n, sizeof(*g->v), cmp_group);
    rp_recs_score *v = rp_calloc(g->n, sizeof(*v));
    if (v == NULL) {
        return nomem(err);
    }
    for (size_t i = 0; i < g->n; i++) {
        v[i] = g->v[i].s;
        finish_score(&v[i]);
    }
    *out = v;
    *n = g->n;
    return RP_OK;
}

/* ==== loading ==== */

typedef struct sset {
    srec *v;
    size_t n, cap;
} sset;

static void sset_release(sset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        rp_free(s->v[i].themes);
        rp_free(s->v[i].bodies);
    }
    rp_free(s->v);
}

/*
 * The selected recommendations as they stood on @p as_of: those whose history starts on
 * or before it (the creation entry, or an earlier dated change of an imported one), each
 * with the status of its last change dated on or before it (not_started when none), so
 * that a past reference date gives the scorecard of that day. The status filter applies
 * to that status.
 */
static int
load(sset *out, rp_store *st, const rp_recs_filter *filter, const char *as_of, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    rp_recs_filter f = RP_RECS_FILTER_INIT;
    if (filter != NULL) {
        f = *filter;
    }
    int status = f.status;
    f.status = -1;
    int rc = rp_store__prepare(
        &stmt, st,
        "SELECT * FROM (SELECT r.id, r.ref, r.state, r.round, r.strength,"
        " coalesce((SELECT h.status FROM recs_status_history h WHERE h.rec_id = r.id AND"
        " h.old_status IS NOT NULL AND h.changed_on <= ?8 ORDER BY h.changed_on DESC, h.id DESC"
        " LIMIT 1), 0) AS status_then, r.due_date,"
        " EXISTS (SELECT 1 FROM recs_links l WHERE l.from_id = r.id AND l.kind = 0),"
        " coalesce((SELECT group_concat(code, ';') FROM (SELECT th.code FROM recs_rec_themes t"
        " JOIN recs_themes th ON th.id = t.theme_id WHERE t.rec_id = r.id ORDER BY th.code)), ''),"
        " coalesce((SELECT group_concat(code, ';') FROM (SELECT bo.code FROM recs_rec_bodies b"
        " JOIN recs_bodies bo ON bo.id = b.body_id WHERE b.rec_id = r.id ORDER BY bo.code)), '')"
        " FROM recs_recs r WHERE" RP_RECS__FILTER_SQL
        " AND coalesce((SELECT min(changed_on) FROM recs_status_history h WHERE h.rec_id = r.id),"
        " r.created_on) <= ?8 ORDER BY r.state, r.round, r.id) WHERE ?9 < 0 OR status_then = ?9",
        err);
    if (rc == RP_OK) {
        rc = rp_recs__bind_filter(stmt, st, &f, err);
    }
    if (rc == RP_OK && (rp_recs__bind_text(stmt, 8, as_of) != SQLITE_OK ||
                        sqlite3_bind_int(stmt, 9, status) != SQLITE_OK)) {
        rc = rp_store__sql_error(err, st->db, "cannot bind the reference date");
    }
    int s = rc == RP_OK ? sqlite3_step(stmt) : SQLITE_DONE;
    for (; rc == RP_OK && s == SQLITE_ROW; s = sqlite3_step(stmt)) {
        if (rp_x_grow(&out->v, &out->cap, out->n + 1, sizeof(*out->v)) != RP_OK) {
            rc = nomem(err);
            break;
        }
        srec *r = &out->v[out->n];
        memset(r, 0, sizeof(*r));
        r->id = sqlite3_column_int64(stmt, 0);
        rp_x_strlcpy(r->ref, rp_recs__col_text(stmt, 1), sizeof(r->ref));
        rp_x_strlcpy(r->state, rp_recs__col_text(stmt, 2), sizeof(r->state));
        r->round = sqlite3_column_int(stmt, 3);
        r->strength = sqlite3_column_int(stmt, 4);
        r->status = sqlite3_column_int(stmt, 5);
        rp_x_strlcpy(r->due, rp_recs__col_text(stmt, 6), sizeof(r->due));
        r->repeats = sqlite3_column_int(stmt, 7) != 0;
        r->themes = rp_strdup(rp_recs__col_text(stmt, 8));
        r->bodies = rp_strdup(rp_recs__col_text(stmt, 9));
        out->n++;
        if (r->themes == NULL || r->bodies == NULL || r->strength < 0 ||
            r->strength >= RP_REC_STRENGTH_COUNT || r->status < 0 ||
            r->status >= RP_REC_STATUS_COUNT) {
            rc = r->themes == NULL || r->bodies == NULL
                     ? nomem(err)
                     : rp_error_set(err, RP_ESQL, "recommendation %lld has an invalid code", r->id);
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the recommendations");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== computing ==== */

static int add_item(rp_recs_score_item **v, size_t *n, const srec *r, rp_error *err)
{
    rp_recs_score_item *nv = rp_reallocarray(*v, *n + 1, sizeof(**v));
    if (nv == NULL) {
        return nomem(err);
    }
    *v = nv;
    rp_recs_score_item *it = &nv[(*n)++];
    memset(it, 0, sizeof(*it));
    it->id = r->id;
    rp_x_strlcpy(it->ref, r->ref, sizeof(it->ref));
    rp_x_strlcpy(it->state, r->state, sizeof(it->state));
    it->round = r->round;
    rp_x_strlcpy(it->due_date, r->due, sizeof(it->due_date));
    it->status = (rp_rec_status)r->status;
    return RP_OK;
}

/* Count @p r in every grouping of @p g (RP_RECS_DIM_COUNT lists, then the trend). */
static int count_rec(glist *g, const srec *r, const char *as_of, rp_error *err)
{
    char round[16];
    snprintf(round, sizeof(round), "%d", r->round);
    rp_recs_score *s = group_of(&g[RP_RECS_BY_STATE], r->state, 0, 0, err);
    if (s != NULL) {
        count(s, r, as_of);
        s = group_of(&g[RP_RECS_BY_ROUND], round, 0, r->round, err);
    }
    if (s != NULL) {
        count(s, r, as_of);
        s = group_of(&g[RP_RECS_BY_STRENGTH], rp_recs_name(RP_RECS_V_STRENGTH, r->strength), 0,
                     r->strength == RP_REC_STRENGTH_NONE ? RP_REC_STRENGTH_COUNT : r->strength,
                     err);
    }
    if (s != NULL) {
        count(s, r, as_of);
        s = group_of(&g[RP_RECS_DIM_COUNT], r->state, r->round, 0, err);
    }
    if (s == NULL) {
        return RP_ENOMEM;
    }
    count(s, r, as_of);
    int rc = count_codes(&g[RP_RECS_BY_THEME], r->themes, r, as_of, err);
    if (rc == RP_OK) {
        rc = count_codes(&g[RP_RECS_BY_BODY], r->bodies, r, as_of, err);
    }
    return rc;
}

static int compute(rp_recs_scorecard *sc, const sset *recs, rp_error *err)
{
    glist g[RP_RECS_DIM_COUNT + 1];
    memset(g, 0, sizeof(g));
    int rc = RP_OK;
    rp_x_strlcpy(sc->overall.key, "all", sizeof(sc->overall.key));
    for (size_t i = 0; i < recs->n && rc == RP_OK; i++) {
        const srec *r = &recs->v[i];
        count(&sc->overall, r, sc->as_of);
        rc = count_rec(g, r, sc->as_of, err);
        if (rc == RP_OK && is_overdue(r, sc->as_of)) {
            rc = add_item(&sc->overdue, &sc->n_overdue, r, err);
        }
        if (rc == RP_OK && is_repeated_not_acted(r)) {
            rc = add_item(&sc->repeated, &sc->n_repeated, r, err);
        }
    }
    finish_score(&sc->overall);
    for (int d = 0; d < RP_RECS_DIM_COUNT && rc == RP_OK; d++) {
        rc = take_groups(&sc->by[d], &sc->n_by[d], &g[d], err);
    }
    if (rc == RP_OK) {
        rc = take_groups(&sc->trend, &sc->n_trend, &g[RP_RECS_DIM_COUNT], err);
    }
    for (int d = 0; d <= RP_RECS_DIM_COUNT; d++) {
        rp_free(g[d].v);
    }
    return rc;
}

int rp_recs_scorecard_new(rp_recs_scorecard **out,
                          rp_store *st,
                          const rp_recs_scorecard_opts *opts,
                          rp_error *err)
{
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    rp_recs_scorecard_opts dflt = RP_RECS_SCORECARD_OPTS_INIT;
    if (opts == NULL) {
        opts = &dflt;
    }
    if (opts->version != RP_RECS_SCORECARD_OPTS_VERSION) {
        return rp_error_set(err, RP_EINVAL, "scorecard options of an unknown version");
    }
    if (opts->as_of != NULL && !rp_recs__date_ok(opts->as_of)) {
        return rp_error_set(err, RP_EINVAL, "reference date: expected YYYY-MM-DD");
    }
    int rc = rp_recs__ensure_schema(st, err);
    if (rc != RP_OK) {
        return rc;
    }
    sset recs = {NULL, 0, 0};
    rp_recs_scorecard *sc = rp_calloc(1, sizeof(*sc));
    if (sc == NULL) {
        return nomem(err);
    }
    if (opts->as_of != NULL) {
        rp_x_strlcpy(sc->as_of, opts->as_of, sizeof(sc->as_of));
    } else {
        rp_recs__today(sc->as_of);
    }
    rc = load(&recs, st, &opts->filter, sc->as_of, err);
    if (rc == RP_OK) {
        rc = compute(sc, &recs, err);
    }
    sset_release(&recs);
    if (rc != RP_OK) {
        rp_recs_scorecard_free(sc);
        return rc;
    }
    *out = sc;
    return RP_OK;
}

void rp_recs_scorecard_free(rp_recs_scorecard *sc)
{
    if (sc == NULL) {
        return;
    }
    for (int d = 0; d < RP_RECS_DIM_COUNT; d++) {
        rp_free(sc->by[d]);
    }
    rp_free(sc->trend);
    rp_free(sc->overdue);
    rp_free(sc->repeated);
    rp_free(sc);
}

/* ==== writing ==== */

static const char *const dim_names[RP_RECS_DIM_COUNT] = {"state", "theme", "round", "strength",
                                                         "body"};
static const char *const dim_titles[RP_RECS_DIM_COUNT] = {
    "By state", "By theme", "By round", "By strength of wording", "By responsible body"};

/* ---- text ---- */

static void text_row(FILE *f, const char *key, const rp_recs_score *s)
{
    char share[16] = "-";
    if (!isnan(s->share_implemented)) {
        snprintf(share, sizeof(share), "%.1f%%", 100.0 * s->share_implemented);
    }
    fprintf(f, "  %-26s %5lld %5lld %5lld %5lld %5lld %5lld %7s %7lld %8lld\n", key, s->total,
            s->n[RP_REC_IMPLEMENTED], s->n[RP_REC_PARTIALLY_IMPLEMENTED], s->n[RP_REC_IN_PROGRESS],
            s->n[RP_REC_NOT_STARTED], s->n[RP_REC_NO_LONGER_RELEVANT], share, s->overdue,
            s->repeated_not_acted);
}

static void text_header(FILE *f, const char *title)
{
    fprintf(f, "\n%s\n  %-26s %5s %5s %5s %5s %5s %5s %7s %7s %8s\n", title, "", "total", "impl",
            "part", "prog", "none", "nlr", "share", "overdue", "repeated");
}

static void write_items(FILE *f, const char *title, const rp_recs_score_item *v, size_t n)
{
    fprintf(f, "\n%s: %zu\n", title, n);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  %-28s %-3s round %d  due %-10s  %s\n", v[i].ref, v[i].state, v[i].round,
                v[i].due_date[0] != '\0' ? v[i].due_date : "-",
                rp_recs_name(RP_RECS_V_STATUS, (int)v[i].status));
    }
}

static void write_text(FILE *f, const rp_recs_scorecard *sc)
{
    fprintf(f, "Recommendations scorecard as of %s\n", sc->as_of);
    fprintf(f, "(impl = implemented, part = partially, prog = in progress, none = not started,\n"
               " nlr = no longer relevant; share = implemented of those still relevant)\n");
    text_header(f, "Overall");
    text_row(f, "all", &sc->overall);
    for (int d = 0; d < RP_RECS_DIM_COUNT; d++) {
        text_header(f, dim_titles[d]);
        for (size_t i = 0; i < sc->n_by[d]; i++) {
            text_row(f, sc->by[d][i].key, &sc->by[d][i]);
        }
    }
    text_header(f, "Trend across rounds (state, round)");
    for (size_t i = 0; i < sc->n_trend; i++) {
        char key[RP_RECS_REF_MAX + 16];
        snprintf(key, sizeof(key), "%s round %d", sc->trend[i].key, sc->trend[i].round);
        text_row(f, key, &sc->trend[i]);
    }
    write_items(f, "Overdue", sc->overdue, sc->n_overdue);
    write_items(f, "Repeated and not acted on", sc->repeated, sc->n_repeated);
}

/* ---- JSON ---- */

static json_t *score_json(const rp_recs_score *s, const char *key_name, bool with_round)
{
    json_t *o = json_object();
    json_t *by = json_object();
    if (o == NULL || by == NULL) {
        json_decref(o);
        json_decref(by);
        return NULL;
    }
    for (int k = 0; k < RP_REC_STATUS_COUNT; k++) {
        json_object_set_new(by, rp_recs_name(RP_RECS_V_STATUS, k), json_integer(s->n[k]));
    }
    bool ok = json_object_set_new(o, key_name, json_string(s->key)) == 0;
    if (with_round) {
        ok = ok && json_object_set_new(o, "round", json_integer(s->round)) == 0;
    }
    ok = ok && json_object_set_new(o, "total", json_integer(s->total)) == 0 &&
         json_object_set_new(o, "by_status", by) == 0 &&
         json_object_set_new(o, "relevant", json_integer(s->relevant)) == 0 &&
         json_object_set_new(o, "share_implemented",
                             isnan(s->share_implemented) ? json_null()
                                                         : json_real(s->share_implemented)) == 0 &&
         json_object_set_new(o, "overdue", json_integer(s->overdue)) == 0 &&
         json_object_set_new(o, "repeated_not_acted", json_integer(s->repeated_not_acted)) == 0;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *items_json(const rp_recs_score_item *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        json_t *o =
            json_pack("{s:I, s:s, s:s, s:i, s:s, s:s}", "id", (json_int_t)v[i].id, "ref", v[i].ref,
                      "state", v[i].state, "round", v[i].round, "due_date", v[i].due_date, "status",
                      rp_recs_name(RP_RECS_V_STATUS, (int)v[i].status));
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int write_json(FILE *f, const rp_recs_scorecard *sc, rp_error *err)
{
    json_t *root = json_pack("{s:s, s:o}", "as_of", sc->as_of, "overall",
                             score_json(&sc->overall, "key", false));
    bool ok = root != NULL;
    for (int d = 0; ok && d < RP_RECS_DIM_COUNT; d++) {
        char key[32];
        snprintf(key, sizeof(key), "by_%s", dim_names[d]);
        json_t *a = json_array();
        ok = a != NULL && json_object_set_new(root, key, a) == 0;
        for (size_t i = 0; ok && i < sc->n_by[d]; i++) {
            ok = json_array_append_new(a, score_json(&sc->by[d][i], dim_names[d], false)) == 0;
        }
    }
    json_t *t = json_array();
    ok = ok && t != NULL && json_object_set_new(root, "trend", t) == 0;
    for (size_t i = 0; ok && i < sc->n_trend; i++) {
        ok = json_array_append_new(t, score_json(&sc->trend[i], "state", true)) == 0;
    }
    ok = ok && json_object_set_new(root, "overdue", items_json(sc->overdue, sc->n_overdue)) == 0 &&
         json_object_set_new(root, "repeated_not_acted",
                             items_json(sc->repeated, sc->n_repeated)) == 0;
    int rc = RP_OK;
    if (!ok) {
        rc = nomem(err);
    } else if (json_dumpf(root, f,
                          JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0 ||
               fputc('\n', f) == EOF) {
        rc = rp_error_set(err, RP_EIO, "cannot write the scorecard");
    }
    json_decref(root);
    return rc;
}

/* ---- HTML ---- */

static void html_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void html_row(FILE *f, const char *key, const rp_recs_score *s)
{
    fputs("<tr><th scope=\"row\">", f);
    html_text(f, key);
    fprintf(f,
            "</th><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>",
            s->total, s->n[RP_REC_IMPLEMENTED], s->n[RP_REC_PARTIALLY_IMPLEMENTED],
            s->n[RP_REC_IN_PROGRESS], s->n[RP_REC_NOT_STARTED], s->n[RP_REC_NO_LONGER_RELEVANT]);
    if (isnan(s->share_implemented)) {
        fputs("<td>&ndash;</td>", f);
    } else {
        fprintf(f, "<td>%.1f%%</td>", 100.0 * s->share_implemented);
    }
    fprintf(f, "<td>%lld</td><td>%lld</td></tr>\n", s->overdue, s->repeated_not_acted);
}

static void html_table_start(FILE *f, const char *caption, const char *first)
{
    fputs("<div class=\"table-wrap\">\n<table>\n<caption>", f);
    html_text(f, caption);
    fputs("</caption>\n<thead><tr><th scope=\"col\">", f);
    html_text(f, first);
    fputs("</th><th scope=\"col\">Total</th><th scope=\"col\">Implemented</th>"
          "<th scope=\"col\">Partially</th><th scope=\"col\">In progress</th>"
          "<th scope=\"col\">Not started</th><th scope=\"col\">No longer relevant</th>"
          "<th scope=\"col\">Share implemented</th><th scope=\"col\">Overdue</th>"
          "<th scope=\"col\">Repeated, not acted on</th></tr></thead>\n<tbody>\n",
          f);
}

/* A bar chart of the share implemented per state and round (the trend). */
static void html_chart(FILE *f, const rp_recs_scorecard *sc)
{
    const int bar_h = 18;
    const int gap = 6;
    const int label_w = 140;
    const int plot_w = 400;
    size_t n = sc->n_trend;
    int height = (int)n * (bar_h + gap) + 30;
    fprintf(f,
            "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"trend-title trend-desc\">\n"
            "<title id=\"trend-title\">Share implemented by state and round</title>\n"
            "<desc id=\"trend-desc\">Horizontal bars, one per state and evaluation round, of the "
            "share of relevant recommendations implemented (0 to 100%%):",
            label_w + plot_w + 60, height, label_w + plot_w + 60, height);
    for (size_t i = 0; i < n; i++) {
        const rp_recs_score *s = &sc->trend[i];
        fputs(i > 0 ? "; " : " ", f);
        html_text(f, s->key);
        if (isnan(s->share_implemented)) {
            fprintf(f, " round %d none relevant", s->round);
        } else {
            fprintf(f, " round %d %.0f%%", s->round, 100.0 * s->share_implemented);
        }
    }
    fputs(n == 0 ? " none.</desc>\n" : ".</desc>\n", f);
    for (size_t i = 0; i < n; i++) {
        const rp_recs_score *s = &sc->trend[i];
        double share = isnan(s->share_implemented) ? 0.0 : s->share_implemented;
        int y = (int)i * (bar_h + gap) + 4;
        fputs("<g><text x=\"0\" y=\"", f);
        fprintf(f, "%d\" font-size=\"12\" font-family=\"sans-serif\">", y + bar_h - 5);
        html_text(f, s->key);
        fprintf(f, " round %d</text>", s->round);
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#e5e5e5\"/>"
                "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#1f6f8b\"/>"
                "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-family=\"sans-serif\">%.0f%%"
                "</text></g>\n",
                label_w, y, plot_w, bar_h, label_w, y, share * plot_w, bar_h, label_w + plot_w + 6,
                y + bar_h - 5, 100.0 * share);
    }
    fprintf(f,
            "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n</svg>\n"
            "<figcaption>Share of relevant recommendations implemented, by state and evaluation "
            "round.</figcaption>\n</figure>\n",
            label_w, label_w, height - 26);
}

static void html_items(FILE *f, const char *caption, const rp_recs_score_item *v, size_t n)
{
    fputs("<div class=\"table-wrap\">\n<table>\n<caption>", f);
    html_text(f, caption);
    fprintf(f,
            " (%zu)</caption>\n<thead><tr><th scope=\"col\">Recommendation</th>"
            "<th scope=\"col\">State</th><th scope=\"col\">Round</th>"
            "<th scope=\"col\">Due</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>\n",
            n);
    for (size_t i = 0; i < n; i++) {
        fputs("<tr><th scope=\"row\">", f);
        html_text(f, v[i].ref);
        fputs("</th><td>", f);
        html_text(f, v[i].state);
        fprintf(f, "</td><td>%d</td><td>", v[i].round);
        html_text(f, v[i].due_date);
        fprintf(f, "</td><td>%s</td></tr>\n", rp_recs_name(RP_RECS_V_STATUS, (int)v[i].status));
    }
    fputs("</tbody>\n</table>\n</div>\n", f);
}

static void write_html(FILE *f, const rp_recs_scorecard *sc)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>Recommendations scorecard</title>\n<style>\n"
          "body{font-family:sans-serif;margin:0 auto;padding:1em;max-width:70em}"
          ".table-wrap{overflow-x:auto}svg{max-width:100%;height:auto}"
          "table{border-collapse:collapse}"
          "caption{text-align:left;font-weight:bold;padding:.3em 0}"
          "th,td{border:1px solid #bbb;padding:.2em .5em}"
          "td{text-align:right}thead th{background:#eee}\n</style>\n</head>\n<body>\n<main>\n"
          "<h1>Recommendations scorecard</h1>\n<p>As of ",
          f);
    html_text(f, sc->as_of);
    fprintf(f,
            ": %lld recommendations. The share implemented counts the recommendations "
            "still relevant.</p>\n",
            sc->overall.total);
    html_table_start(f, "Overall", "");
    html_row(f, "All", &sc->overall);
    fputs("</tbody>\n</table>\n</div>\n<h2>Trend across rounds</h2>\n", f);
    html_chart(f, sc);
    html_table_start(f, "By state and round", "State, round");
    for (size_t i = 0; i < sc->n_trend; i++) {
        char key[RP_RECS_REF_MAX + 16];
        snprintf(key, sizeof(key), "%s round %d", sc->trend[i].key, sc->trend[i].round);
        html_row(f, key, &sc->trend[i]);
    }
    fputs("</tbody>\n</table>\n</div>\n<h2>Breakdowns</h2>\n", f);
    for (int d = 0; d < RP_RECS_DIM_COUNT; d++) {
        html_table_start(f, dim_titles[d], dim_names[d]);
        for (size_t i = 0; i < sc->n_by[d]; i++) {
            html_row(f, sc->by[d][i].key, &sc->by[d][i]);
        }
        fputs("</tbody>\n</table>\n</div>\n", f);
    }
    fputs("<h2>Follow-up</h2>\n", f);
    html_items(f, "Overdue", sc->overdue, sc->n_overdue);
    html_items(f, "Repeated and not acted on", sc->repeated, sc->n_repeated);
    fputs("</main>\n</body>\n</html>\n", f);
}

int rp_recs_scorecard_write(FILE *out,
                            const rp_recs_scorecard *sc,
                            rp_recs_format format,
                            rp_error *err)
{
    if (out == NULL || sc == NULL) {
        return rp_error_set(err, RP_EINVAL, "no scorecard or output given");
    }
    int rc = RP_OK;
    if (format == RP_RECS_TEXT) {
        write_text(out, sc);
    } else if (format == RP_RECS_JSON) {
        rc = write_json(out, sc, err);
    } else if (format == RP_RECS_HTML) {
        write_html(out, sc);
    } else {
        return rp_error_set(err, RP_EINVAL, "scorecards are written as text, JSON or HTML");
    }
    if (rc == RP_OK && (fflush(out) != 0 || ferror(out))) {
        rc = rp_error_set(err, RP_EIO, "cannot write the scorecard");
    }
    return rc;
}
