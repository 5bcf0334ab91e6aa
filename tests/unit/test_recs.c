/*
 * Unit tests for recommendation tracking (src/recs): the transition rule, the audit trail
 * of every change type, unknown ids and refused changes (with rollback), the scorecard
 * of the shipped example set (data/recs/example.json) against values counted by hand
 * (data/recs/README.md), imports (CSV, JSON, text) and exports (CSV, JSON round trip,
 * Excel, escaped HTML).
 */
#include "rp_test.h"

#include <rapporteur/error.h>
#include <rapporteur/recs.h>
#include <rapporteur/store.h>

#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <time.h>

#define AUTHOR "test-analyst"

typedef struct fixture {
    char dir[512];
    char db[600];
    rp_store *st;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    rp_test_tmpdir(fx->dir, sizeof(fx->dir));
    snprintf(fx->db, sizeof(fx->db), "%s/recs.db", fx->dir);
    rp_error err = RP_ERROR_INIT;
    if (rp_store_open(&fx->st, fx->db, RP_STORE_CREATE, &err) != RP_OK) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    rp_store_close(fx->st);
    rp_test_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* A recommendation of state XA, GRETA round 2, paragraph @p para. */
static long long add_rec(rp_store *st, const char *para, const char *themes, const char *bodies)
{
    rp_rec r = RP_REC_INIT;
    r.state = "XA";
    r.source = "GRETA";
    r.round = 2;
    r.paragraph = para;
    r.text = "GRETA urges the authorities to act.";
    r.strength = RP_REC_URGES;
    r.themes = themes;
    r.bodies = bodies;
    long long id = 0;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add(&id, st, &r, AUTHOR, &err), &err);
    assert_true(id > 0);
    return id;
}

static long long add_rec_in(rp_store *st, const char *state_code, int round, const char *para)
{
    rp_rec r = RP_REC_INIT;
    r.state = state_code;
    r.source = "GRETA";
    r.round = round;
    r.paragraph = para;
    r.text = "GRETA urges the authorities to act.";
    long long id = 0;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add(&id, st, &r, AUTHOR, &err), &err);
    return id;
}

static void import_example(rp_store *st)
{
    char path[1024];
    rp_test_fixture(path, sizeof(path), "../../data/recs/example.json");
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    rp_recs_import_report rep;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_import(&rep, st, path, &o, &err), &err);
    assert_int_equal(rep.recs, 44);
    assert_int_equal(rep.actions, 10);
    assert_int_equal(rep.links, 10);
}

/* ==== transitions ==== */

static void recs_transition__table(void **state)
{
    (void)state;
    /* allowed[from][to] without a note: 1 yes, 0 refused; 2: only with a note */
    static const int allowed[RP_REC_STATUS_COUNT][RP_REC_STATUS_COUNT] = {
        /* to: ns ip pi im nlr */
        {0, 1, 1, 0, 1}, /* from not_started */
        {2, 0, 1, 1, 1}, /* from in_progress */
        {2, 2, 0, 1, 1}, /* from partially_implemented */
        {2, 2, 2, 0, 1}, /* from implemented */
        {2, 2, 2, 0, 0}, /* from no_longer_relevant (implemented only via in progress) */
    };
    for (int f = 0; f < RP_REC_STATUS_COUNT; f++) {
        for (int t = 0; t < RP_REC_STATUS_COUNT; t++) {
            rp_error err = RP_ERROR_INIT;
            int bare = rp_recs_transition_check((rp_rec_status)f, (rp_rec_status)t, NULL, &err);
            int noted = rp_recs_transition_check((rp_rec_status)f, (rp_rec_status)t, "why", &err);
            int want = allowed[f][t];
            if ((bare == RP_OK) != (want == 1) || (noted == RP_OK) != (want != 0)) {
                print_error("%d -> %d: %d / %d, expected %d\n", f, t, bare, noted, want);
                fail();
            }
            if (bare != RP_OK) {
                assert_int_equal(bare, RP_EDATA);
            }
        }
    }
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_recs_transition_check(RP_REC_STATUS_COUNT, RP_REC_IN_PROGRESS, NULL, &err),
                     RP_EINVAL, &err);
}

static void recs_status__refused_and_allowed_changes(void **state)
{
    fixture *fx = *state;
    long long id = add_rec(fx->st, "1", NULL, NULL);
    rp_error err = RP_ERROR_INIT;
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = AUTHOR;
    chg.date = "2024-01-10";
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_IMPLEMENTED, &chg, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "only from 'in_progress'"));
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), &err);
    chg.date = "2024-06-01";
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IMPLEMENTED, &chg, &err), &err);
    /* reopening needs a note */
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "without a note"));
    /* a date before the last change */
    chg.note = "evaluation found gaps";
    chg.date = "2024-05-01";
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), RP_EDATA,
                     &err);
    chg.date = "2024-07-01";
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), &err);
    /* bad author, bad date */
    chg.author = "";
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_NO_LONGER_RELEVANT, &chg, &err),
                     RP_EINVAL, &err);
    chg.author = AUTHOR;
    chg.date = "2024-02-30";
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_NO_LONGER_RELEVANT, &chg, &err),
                     RP_EDATA, &err);
    /* the history has exactly the accepted changes */
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, id, &err), &err);
    assert_non_null(
        strstr(json, "\"status\": \"in_progress\",\n  \"status_date\": \"2024-07-01\""));
    assert_non_null(strstr(json, "evaluation found gaps"));
    rp_free(json);
}

/* ==== audit trail ==== */

typedef struct audit_count {
    int n;
    char seen[64][48]; /* "entity.field" */
    int n_seen;
    bool bad_author;
} audit_count;

static int on_audit(const rp_recs_audit_entry *e, void *payload)
{
    audit_count *c = payload;
    c->n++;
    if (strcmp(e->author, AUTHOR) != 0 || e->at[0] == '\0') {
        c->bad_author = true;
    }
    char key[48];
    snprintf(key, sizeof(key), "%s.%s", e->entity, e->field);
    for (int i = 0; i < c->n_seen; i++) {
        if (strcmp(c->seen[i], key) == 0) {
            return 0;
        }
    }
    if (c->n_seen < 64) {
        snprintf(c->seen[c->n_seen++], sizeof(c->seen[0]), "%s", key);
    }
    return 0;
}

static bool seen(const audit_count *c, const char *key)
{
    for (int i = 0; i < c->n_seen; i++) {
        if (strcmp(c->seen[i], key) == 0) {
            return true;
        }
    }
    return false;
}

static int count_audit(rp_store *st)
{
    audit_count c;
    memset(&c, 0, sizeof(c));
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_audit(st, NULL, 0, on_audit, &c, &err), &err);
    return c.n;
}

static void recs_audit__every_change_type(void **state)
{
    fixture *fx = *state;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add_source(fx->st, "NAP-XA", RP_RECS_SRC_NATIONAL_PLAN,
                                    "National action plan 2023-2026", AUTHOR, &err),
                 &err);
    assert_rp_ok(rp_recs_add_theme(fx->st, "hotline", "Victim hotline", AUTHOR, &err), &err);
    assert_rp_ok(
        rp_recs_add_body(fx->st, "XA-LI", RP_RECS_BODY_AGENCY, "Labour inspectorate", AUTHOR, &err),
        &err);
    long long a = add_rec(fx->st, "1", "identification;hotline", "XA-LI");
    long long b = add_rec_in(fx->st, "XA", 3, "2"); /* a later round: it may repeat a */
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = AUTHOR;
    chg.note = "work started";
    const char *ev[] = {"https://example.org/decree-1"};
    chg.evidence = ev;
    chg.n_evidence = 1;
    assert_rp_ok(rp_recs_set_status(fx->st, a, RP_REC_IN_PROGRESS, &chg, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "text", "GRETA urges X.", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "due_date", "2026-12-31", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "strength", "considers", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "paragraph", "1bis", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "themes", "children", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_set_field(fx->st, a, "bodies", "", AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_link(fx->st, b, a, RP_REC_REPEATS, AUTHOR, &err), &err);
    rp_recs_action act = RP_RECS_ACTION_INIT;
    act.title = "Inspections";
    act.body = "XA-LI";
    long long action = 0;
    assert_rp_ok(rp_recs_add_action(&action, fx->st, &act, &a, 1, AUTHOR, &err), &err);
    assert_rp_ok(rp_recs_action_link(fx->st, action, b, AUTHOR, &err), &err);
    rp_recs_indicator ind = {a, 0, "inspections", "per year", 10, 100, RP_RECS_FREQ_ANNUAL, ""};
    long long ind_id = 0;
    assert_rp_ok(rp_recs_add_indicator(&ind_id, fx->st, &ind, AUTHOR, &err), &err);
    chg.note = NULL;
    assert_rp_ok(rp_recs_add_progress(NULL, fx->st, 0, 0, ind_id, 42, &chg, &err), &err);

    audit_count c;
    memset(&c, 0, sizeof(c));
    assert_rp_ok(rp_recs_audit(fx->st, NULL, 0, on_audit, &c, &err), &err);
    assert_false(c.bad_author);
    static const char *const expected[] = {
        "source.code",
        "source.kind",
        "source.name",
        "theme.code",
        "theme.label",
        "body.code",
        "body.kind",
        "body.name",
        "rec.ref",
        "rec.state",
        "rec.source",
        "rec.round",
        "rec.paragraph",
        "rec.strength",
        "rec.text",
        "rec.status",
        "rec_theme.theme",
        "rec_body.body",
        "rec.status_date",
        "rec.due_date",
        "progress.rec",
        "progress.note",
        "progress.reported_on",
        "evidence.link",
        "link.repeats",
        "action.ref",
        "action.title",
        "action.body",
        "action_rec.rec",
        "indicator.rec",
        "indicator.name",
        "indicator.target",
        "indicator.frequency",
        "progress.indicator",
        "progress.value",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!seen(&c, expected[i])) {
            print_error("no audit entry for %s\n", expected[i]);
            fail();
        }
    }
    /* the entries of one recommendation, with old and new values of an edit */
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, a, &err), &err);
    assert_non_null(strstr(json, "\"field\": \"strength\",\n      \"old\": \"urges\",\n      "
                                 "\"new\": \"considers\""));
    assert_non_null(strstr(json, "\"field\": \"theme\",\n      \"old\": \"hotline\""));
    rp_free(json);

    /* a refused change writes nothing, not even to the audit trail */
    int before = count_audit(fx->st);
    rp_rec bad = RP_REC_INIT;
    bad.state = "XA";
    bad.source = "GRETA";
    bad.text = "GRETA invites";
    bad.themes = "identification;no_such_theme";
    assert_rp_status(rp_recs_add(NULL, fx->st, &bad, AUTHOR, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "unknown theme 'no_such_theme'"));
    assert_int_equal(count_audit(fx->st), before);
}

/* ==== unknown ids and bad values ==== */

static void recs__unknown_ids_are_enotfound(void **state)
{
    fixture *fx = *state;
    long long a = add_rec(fx->st, "1", NULL, NULL);
    rp_error err = RP_ERROR_INIT;
    long long id = 0;
    assert_rp_status(rp_recs_find(&id, fx->st, "999", &err), RP_ENOTFOUND, &err);
    assert_string_equal(err.msg, "no recommendation '999'");
    assert_rp_status(rp_recs_find(&id, fx->st, "XA/GRETA/9/1", &err), RP_ENOTFOUND, &err);
    assert_rp_ok(rp_recs_find(&id, fx->st, "XA/GRETA/2/1", &err), &err);
    assert_int_equal(id, a);
    assert_rp_status(rp_recs_find_action(&id, fx->st, "A7", &err), RP_ENOTFOUND, &err);
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = AUTHOR;
    assert_rp_status(rp_recs_set_status(fx->st, 999, RP_REC_IN_PROGRESS, &chg, &err), RP_ENOTFOUND,
                     &err);
    assert_rp_status(rp_recs_link(fx->st, a, 999, RP_REC_REPEATS, AUTHOR, &err), RP_ENOTFOUND,
                     &err);
    assert_rp_status(rp_recs_action_link(fx->st, 5, a, AUTHOR, &err), RP_ENOTFOUND, &err);
    rp_recs_indicator ind = {999, 0, "x", "", NAN, NAN, RP_RECS_FREQ_NONE, ""};
    assert_rp_status(rp_recs_add_indicator(NULL, fx->st, &ind, AUTHOR, &err), RP_ENOTFOUND, &err);
    assert_rp_status(rp_recs_add_progress(NULL, fx->st, 0, 0, 77, 1.0, &chg, &err), RP_ENOTFOUND,
                     &err);
    assert_rp_status(rp_recs_set_field(fx->st, 999, "text", "x", AUTHOR, &err), RP_ENOTFOUND, &err);
    char *json = NULL;
    assert_rp_status(rp_recs_show_json(&json, fx->st, 999, &err), RP_ENOTFOUND, &err);
    assert_null(json);
}

static void recs_add__bad_values_are_edata(void **state)
{
    fixture *fx = *state;
    add_rec(fx->st, "1", NULL, NULL);

    static const struct {
        const char *state, *source, *para, *due, *ref, *text;
        int round;
        const char *needle;
    } cases[] = {
        {"ZX", "GRETA", "1", "", "", "t", 2, "field 'state'"},
        {"XA", "NOPE", "1", "", "", "t", 2, "unknown source 'NOPE'"},
        {"XA", "GRETA", "1", "2024-13-01", "", "t", 2, "field 'due_date'"},
        {"XA", "GRETA", "1", "", "123", "t", 2, "field 'ref'"},
        {"XA", "GRETA", "1", "", "", "", 2, "field 'text'"},
        {"XA", "GRETA", "1", "", "", "t", 10, "field 'round'"},
        {"XA", "GRETA", "1", "", "", "t", 2, "exists already"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_rec r = RP_REC_INIT;
        r.state = cases[i].state;
        r.source = cases[i].source;
        r.paragraph = cases[i].para;
        r.due_date = cases[i].due;
        r.ref = cases[i].ref;
        r.text = cases[i].text;
        r.round = cases[i].round;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_recs_add(NULL, fx->st, &r, AUTHOR, &err);
        if (rc != RP_EDATA || strstr(err.msg, cases[i].needle) == NULL) {
            print_error("case %zu: %d '%s'\n", i, rc, err.msg);
            fail();
        }
    }
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_recs_add_theme(fx->st, "identification", "", AUTHOR, &err), RP_EDATA, &err);
    assert_rp_status(rp_recs_add_body(fx->st, "bad code!", RP_RECS_BODY_AGENCY, "", AUTHOR, &err),
                     RP_EDATA, &err);
    rp_rec r = RP_REC_INIT;
    r.state = "XA";
    r.source = "GRETA";
    r.text = "t";
    assert_rp_status(rp_recs_add(NULL, fx->st, &r, NULL, &err), RP_EINVAL, &err);
}

/* ==== scorecard of the example set ==== */

static const rp_recs_score *find_score(const rp_recs_score *v, size_t n, const char *key, int round)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].key, key) == 0 && v[i].round == round) {
            return &v[i];
        }
    }
    print_error("no scorecard line '%s' round %d\n", key, round);
    fail();
    return NULL;
}

/* total, implemented, partially, in progress, not started, nlr, overdue, repeated */
static void expect_score(const rp_recs_score *s, const long long want[8])
{
    long long got[8] = {s->total,
                        s->n[RP_REC_IMPLEMENTED],
                        s->n[RP_REC_PARTIALLY_IMPLEMENTED],
                        s->n[RP_REC_IN_PROGRESS],
                        s->n[RP_REC_NOT_STARTED],
                        s->n[RP_REC_NO_LONGER_RELEVANT],
                        s->overdue,
                        s->repeated_not_acted};
    for (int i = 0; i < 8; i++) {
        if (got[i] != want[i]) {
            print_error("'%s' round %d: column %d is %lld, expected %lld\n", s->key, s->round, i,
                        got[i], want[i]);
            fail();
        }
    }
    long long relevant = want[0] - want[5];
    assert_int_equal(s->relevant, relevant);
    assert_close(s->share_implemented, (double)want[1] / (double)relevant, 1e-12, 0);
}

static void recs_scorecard__example_set_by_hand(void **state)
{
    fixture *fx = *state;
    import_example(fx->st);
    rp_recs_scorecard_opts o = RP_RECS_SCORECARD_OPTS_INIT;
    o.as_of = "2025-06-30";
    rp_recs_scorecard *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, &o, &err), &err);
    /* Counted by hand from data/recs/example.json; see data/recs/README.md. */
    expect_score(&sc->overall, (const long long[8]){44, 13, 5, 11, 12, 3, 20, 6});
    expect_score(find_score(sc->by[RP_RECS_BY_STATE], sc->n_by[RP_RECS_BY_STATE], "XA", 0),
                 (const long long[8]){22, 6, 3, 6, 6, 1, 10, 3});
    expect_score(find_score(sc->by[RP_RECS_BY_STATE], sc->n_by[RP_RECS_BY_STATE], "XB", 0),
                 (const long long[8]){22, 7, 2, 5, 6, 2, 10, 3});
    expect_score(find_score(sc->by[RP_RECS_BY_ROUND], sc->n_by[RP_RECS_BY_ROUND], "2", 0),
                 (const long long[8]){20, 8, 2, 4, 4, 2, 10, 0});
    expect_score(find_score(sc->by[RP_RECS_BY_ROUND], sc->n_by[RP_RECS_BY_ROUND], "3", 0),
                 (const long long[8]){24, 5, 3, 7, 8, 1, 10, 6});
    expect_score(find_score(sc->by[RP_RECS_BY_STRENGTH], sc->n_by[RP_RECS_BY_STRENGTH], "urges", 0),
                 (const long long[8]){20, 6, 3, 5, 6, 0, 13, 4});
    expect_score(
        find_score(sc->by[RP_RECS_BY_STRENGTH], sc->n_by[RP_RECS_BY_STRENGTH], "considers", 0),
        (const long long[8]){14, 6, 1, 4, 3, 0, 4, 1});
    expect_score(
        find_score(sc->by[RP_RECS_BY_STRENGTH], sc->n_by[RP_RECS_BY_STRENGTH], "invites", 0),
        (const long long[8]){10, 1, 1, 2, 3, 3, 3, 1});
    expect_score(
        find_score(sc->by[RP_RECS_BY_THEME], sc->n_by[RP_RECS_BY_THEME], "labour_exploitation", 0),
        (const long long[8]){7, 1, 2, 0, 3, 1, 4, 2});
    expect_score(
        find_score(sc->by[RP_RECS_BY_THEME], sc->n_by[RP_RECS_BY_THEME], "compensation", 0),
        (const long long[8]){4, 2, 0, 0, 2, 0, 2, 1});
    expect_score(find_score(sc->by[RP_RECS_BY_BODY], sc->n_by[RP_RECS_BY_BODY], "XA-PPO", 0),
                 (const long long[8]){4, 0, 0, 3, 1, 0, 4, 1});
    expect_score(find_score(sc->by[RP_RECS_BY_BODY], sc->n_by[RP_RECS_BY_BODY], "XB-MOI", 0),
                 (const long long[8]){5, 1, 1, 0, 2, 1, 3, 1});
    /* trend across rounds */
    assert_int_equal(sc->n_trend, 4);
    expect_score(find_score(sc->trend, sc->n_trend, "XA", 2),
                 (const long long[8]){10, 4, 1, 2, 2, 1, 5, 0});
    expect_score(find_score(sc->trend, sc->n_trend, "XA", 3),
                 (const long long[8]){12, 2, 2, 4, 4, 0, 5, 3});
    expect_score(find_score(sc->trend, sc->n_trend, "XB", 2),
                 (const long long[8]){10, 4, 1, 2, 2, 1, 5, 0});
    expect_score(find_score(sc->trend, sc->n_trend, "XB", 3),
                 (const long long[8]){12, 3, 1, 3, 4, 1, 5, 3});
    /* the lists: XA/GRETA/3/7 is due on the reference date itself, hence not overdue */
    assert_int_equal(sc->n_overdue, 20);
    for (size_t i = 0; i < sc->n_overdue; i++) {
        assert_string_not_equal(sc->overdue[i].ref, "XA/GRETA/3/7");
    }
    static const char *const repeated[] = {"XA/GRETA/3/1", "XA/GRETA/3/3", "XA/GRETA/3/10",
                                           "XB/GRETA/3/1", "XB/GRETA/3/3", "XB/GRETA/3/6"};
    assert_int_equal(sc->n_repeated, 6);
    for (size_t k = 0; k < 6; k++) {
        bool found = false;
        for (size_t i = 0; i < sc->n_repeated; i++) {
            found = found || strcmp(sc->repeated[i].ref, repeated[k]) == 0;
        }
        assert_true(found);
    }
    rp_recs_scorecard_free(sc);

    /* a filter: XB only */
    o.filter.state = "XB";
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, &o, &err), &err);
    expect_score(&sc->overall, (const long long[8]){22, 7, 2, 5, 6, 2, 10, 3});
    assert_int_equal(sc->n_by[RP_RECS_BY_STATE], 1);
    rp_recs_scorecard_free(sc);
    o.as_of = "2025-02-30";
    assert_rp_status(rp_recs_scorecard_new(&sc, fx->st, &o, &err), RP_EINVAL, &err);
}

/* ==== exports ==== */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void export_to(rp_store *st, const char *path, rp_recs_format fmt)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_export(st, f, fmt, NULL, &err), &err);
    fclose(f);
}

static void recs_export__json_round_trip_and_excel(void **state)
{
    fixture *fx = *state;
    import_example(fx->st);
    char p1[700], p2[700], db2[700], xlsx[700];
    snprintf(p1, sizeof(p1), "%s/one.json", fx->dir);
    snprintf(p2, sizeof(p2), "%s/two.json", fx->dir);
    snprintf(db2, sizeof(db2), "%s/two.db", fx->dir);
    snprintf(xlsx, sizeof(xlsx), "%s/recs.xlsx", fx->dir);
    export_to(fx->st, p1, RP_RECS_JSON);
    rp_store *st2 = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st2, db2, RP_STORE_CREATE, &err), &err);
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    assert_rp_ok(rp_recs_import(NULL, st2, p1, &o, &err), &err);
    export_to(st2, p2, RP_RECS_JSON);
    rp_store_close(st2);
    char *a = slurp(p1);
    char *b = slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);

    assert_rp_ok(rp_recs_export_xlsx(fx->st, xlsx, NULL, &err), &err);
    char *x = slurp(xlsx);
    assert_memory_equal(x, "PK", 2);
    free(x);

    /* CSV: one header and 44 rows (CRLF), text with commas quoted */
    export_to(fx->st, p1, RP_RECS_CSV);
    char *csv = slurp(p1);
    int rows = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2) {
        rows++;
    }
    assert_int_equal(rows, 45);
    assert_non_null(strstr(csv, "ref,state,source,round,paragraph,strength,themes,bodies"));
    free(csv);
    assert_rp_status(rp_recs_export(fx->st, stdout, RP_RECS_HTML, NULL, &err), RP_EINVAL, &err);
}

static void recs_scorecard__html_is_escaped_and_self_contained(void **state)
{
    fixture *fx = *state;
    rp_rec r = RP_REC_INIT;
    r.state = "XB";
    r.source = "GRETA";
    r.round = 3;
    r.ref = "<script>alert(1)</script>";
    r.text = "GRETA urges";
    r.due_date = "2020-01-01";
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add(NULL, fx->st, &r, AUTHOR, &err), &err);
    rp_recs_scorecard *sc = NULL;
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, NULL, &err), &err);
    char path[700];
    snprintf(path, sizeof(path), "%s/s.html", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_rp_ok(rp_recs_scorecard_write(f, sc, RP_RECS_HTML, &err), &err);
    fclose(f);
    char *html = slurp(path);
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "<th scope=\"col\">"));
    /* the report module's look: a phone-sized viewport, tables that scroll on their own,
     * and a text description of the chart */
    assert_non_null(strstr(html, "<meta name=\"viewport\""));
    assert_non_null(strstr(html, "<div class=\"table-wrap\">\n<table>"));
    assert_non_null(strstr(html, "<desc id=\"trend-desc\">"));
    assert_non_null(strstr(html, "XB round 3 0%"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    free(html);
    f = fopen(path, "wb");
    assert_rp_ok(rp_recs_scorecard_write(f, sc, RP_RECS_JSON, &err), &err);
    fclose(f);
    char *json = slurp(path);
    assert_non_null(strstr(json, "\"share_implemented\": 0"));
    free(json);
    rp_recs_scorecard_free(sc);
}

/* ==== imports ==== */

static void recs_import__csv_with_statuses_and_links(void **state)
{
    fixture *fx = *state;
    char path[1024];
    rp_test_fixture(path, sizeof(path), "recs/recs.csv");
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    rp_recs_import_report rep;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_import(&rep, fx->st, path, &o, &err), &err);
    assert_int_equal(rep.recs, 3);
    assert_int_equal(rep.links, 1);
    assert_int_equal(rep.statuses, 3); /* in_progress; in_progress then implemented */
    long long id = 0;
    assert_rp_ok(rp_recs_find(&id, fx->st, "ZZ/A/3", &err), &err);
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, id, &err), &err);
    assert_non_null(strstr(json, "\"status\": \"implemented\""));
    assert_non_null(strstr(json, "\"note\": \"imported\""));
    rp_free(json);

    /* a bad value: the error names file and line, and nothing is kept */
    int before = count_audit(fx->st);
    rp_test_fixture(path, sizeof(path), "recs/bad_status.csv");
    assert_rp_status(rp_recs_import(&rep, fx->st, path, &o, &err), RP_EDATA, &err);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.path, "bad_status.csv"));
    assert_non_null(strstr(err.msg, "field 'status'"));
    assert_int_equal(count_audit(fx->st), before);
    /* the same file again: refs exist */
    rp_test_fixture(path, sizeof(path), "recs/recs.csv");
    assert_rp_status(rp_recs_import(&rep, fx->st, path, &o, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "exists already"));
}

static void recs_import__text_list(void **state)
{
    fixture *fx = *state;
    char path[1024];
    rp_test_fixture(path, sizeof(path), "recs/greta_list.txt");
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    rp_recs_import_report rep;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_recs_import(&rep, fx->st, path, &o, &err), RP_EINVAL, &err);
    o.state = "xa";
    o.source = "GRETA";
    o.round = 3;
    o.due_date = "2026-06-30";
    assert_rp_ok(rp_recs_import(&rep, fx->st, path, &o, &err), &err);
    assert_int_equal(rep.recs, 9);
    assert_int_equal(rep.skipped_lines, 3);
    long long id = 0;
    assert_rp_ok(rp_recs_find(&id, fx->st, "XA/GRETA/3/2#2", &err), &err);
    assert_rp_ok(rp_recs_find(&id, fx->st, "XA/GRETA/3/3(b)", &err), &err);
    rp_recs_filter f = RP_RECS_FILTER_INIT;
    f.strength = RP_REC_INVITES;
    rp_recs_scorecard_opts so = RP_RECS_SCORECARD_OPTS_INIT;
    so.filter = f;
    rp_recs_scorecard *sc = NULL;
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, &so, &err), &err);
    assert_int_equal(sc->overall.total, 2);
    rp_recs_scorecard_free(sc);
    /* a file without paragraphs: position in the error, nothing stored */
    rp_test_fixture(path, sizeof(path), "recs/no_paragraphs.txt");
    assert_rp_status(rp_recs_import(&rep, fx->st, path, &o, &err), RP_EPARSE, &err);
    assert_int_equal(err.line, 1);
}

static void recs_import__json_errors_name_the_path(void **state)
{
    fixture *fx = *state;
    char path[700];
    snprintf(path, sizeof(path), "%s/bad.json", fx->dir);

    static const struct {
        const char *doc;
        int rc;
        const char *needle;
    } cases[] = {
        {"{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\","
         " \"colour\": 1}]}",
         RP_EDATA, "recommendations[0]: unknown key 'colour'"},
        {"{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\","
         " \"round\": \"two\"}]}",
         RP_EDATA, "recommendations[0].round"},
        {"{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\","
         " \"history\": [{\"from\": \"not_started\", \"status\": \"implemented\"}]}]}",
         RP_EDATA, "recommendations[0].history[0]: status 'not_started' cannot become"},
        {"{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\","
         " \"links\": [{\"kind\": \"repeats\", \"ref\": \"nowhere\"}]}]}",
         RP_EDATA, "recommendations[0].links[0]: no recommendation 'nowhere'"},
        {"{\"recommendations\": [", RP_EPARSE, ""},
        {"{\"format\": \"other\"}", RP_EDATA, "format"},
    };

    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(cases[i].doc, f);
        fclose(f);
        rp_error err = RP_ERROR_INIT;
        int rc = rp_recs_import(NULL, fx->st, path, &o, &err);
        if (rc != cases[i].rc || strstr(err.msg, cases[i].needle) == NULL ||
            strstr(err.path, "bad.json") == NULL) {
            print_error("case %zu: %d '%s' (path '%s')\n", i, rc, err.msg, err.path);
            fail();
        }
    }
    assert_int_equal(count_audit(fx->st), 0);
}

static void recs__readonly_store_without_tables(void **state)
{
    fixture *fx = *state;
    rp_store *ro = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&ro, fx->db, RP_STORE_READONLY, &err), &err);
    long long id = 0;
    assert_rp_status(rp_recs_find(&id, ro, "1", &err), RP_ENOTFOUND, &err);
    assert_non_null(strstr(err.msg, "no recommendation tables"));
    rp_store_close(ro);
    add_rec(fx->st, "1", NULL, NULL);
    assert_rp_ok(rp_store_open(&ro, fx->db, RP_STORE_READONLY, &err), &err);
    assert_rp_ok(rp_recs_find(&id, ro, "1", &err), &err);
    assert_rp_status(rp_recs_link(ro, id, id, RP_REC_REPEATS, AUTHOR, &err), RP_EPERM, &err);
    rp_store_close(ro);
}

/* ==== review fixes ==== */

/* Run @p sql on the store's file directly (to damage it for a failure test). */
static void raw_sql(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        print_error("%s\n", msg != NULL ? msg : "?");
    }
    sqlite3_free(msg);
    sqlite3_close(h);
    assert_int_equal(rc, SQLITE_OK);
}

/* Today + @p days (UTC) as YYYY-MM-DD. */
static void day_from_today(char out[11], long days)
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

typedef struct author_check {
    const char *want;
    int n, bad;
    bool created_by; /* an entry "rec.created_by" holding the file's author */
} author_check;

static int on_audit_author(const rp_recs_audit_entry *e, void *payload)
{
    author_check *c = payload;
    c->n++;
    c->bad += strcmp(e->author, c->want) != 0;
    if (strcmp(e->entity, "rec") == 0 && strcmp(e->field, "created_by") == 0 &&
        e->new_value != NULL && strcmp(e->new_value, "xa-nr-office") == 0) {
        c->created_by = true;
    }
    return 0;
}

/* The audit trail names who ran the import, never the authors the file claims. */
static void recs_import__json_audit_names_the_importer(void **state)
{
    fixture *fx = *state;
    char path[1024];
    rp_test_fixture(path, sizeof(path), "../../data/recs/example.json");
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = "importer-x";
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_import(NULL, fx->st, path, &o, &err), &err);
    author_check c = {"importer-x", 0, 0, false};
    assert_rp_ok(rp_recs_audit(fx->st, NULL, 0, on_audit_author, &c, &err), &err);
    assert_true(c.n > 500);
    assert_int_equal(c.bad, 0);
    assert_true(c.created_by);
    /* the status history keeps the file's own authors */
    long long id = 0;
    assert_rp_ok(rp_recs_find(&id, fx->st, "XA/GRETA/2/1", &err), &err);
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, id, &err), &err);
    assert_non_null(strstr(json, "\"author\": \"xa-nr-office\""));
    rp_free(json);

    /* a creation author that is no valid author: refused with its path */
    char bad[700];
    snprintf(bad, sizeof(bad), "%s/bad.json", fx->dir);
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fputs("{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\","
          " \"history\": [{\"from\": null, \"status\": \"not_started\", \"date\": \"2020-01-01\","
          " \"author\": \"",
          f);
    for (int i = 0; i < 300; i++) {
        fputc('a', f);
    }
    fputs("\"}]}]}", f);
    fclose(f);
    assert_rp_status(rp_recs_import(NULL, fx->st, bad, &o, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "recommendations[0].history[0].author"));
}

/* A history must be consistent: each "from" is the status before it. */
static void recs_import__json_history_must_be_consistent(void **state)
{
    fixture *fx = *state;
    char path[700];
    snprintf(path, sizeof(path), "%s/h.json", fx->dir);
#define REC_HEAD \
    "{\"recommendations\": [{\"state\": \"XA\", \"source\": \"GRETA\", \"text\": \"t\", "

    static const struct {
        const char *doc;
        const char *needle;
    } cases[] = {
        {REC_HEAD "\"history\": [{\"from\": null, \"status\": \"not_started\", \"date\": "
                  "\"2020-01-01\"}, {\"from\": \"partially_implemented\", \"status\": "
                  "\"implemented\", \"date\": \"2021-01-01\"}]}]}",
         "recommendations[0].history[1].from: 'partially_implemented' is not the status before "
         "this entry ('not_started')"},
        {REC_HEAD "\"history\": [{\"from\": null, \"status\": \"not_started\", \"date\": "
                  "\"2020-01-01\"}, {\"from\": \"not_started\", \"status\": \"in_progress\"},"
                  " {\"from\": null, \"status\": \"not_started\"}]}]}",
         "recommendations[0].history[2].from: null only in the first entry"},
        {REC_HEAD "\"history\": [{\"from\": null, \"status\": \"implemented\", \"date\": "
                  "\"2020-01-01\"}]}]}",
         "recommendations[0].history[0].status: the creation entry"},
        {"{\"format\": \"rapporteur-recs\", \"version\": 2, \"recommendations\": []}",
         "version: expected 1"},
        {"{\"version\": \"1\"}", "version: expected 1"},
        {REC_HEAD "\"status_date\": \"2020-01-01\"}]}", "status_date: given without a 'status'"},
    };

#undef REC_HEAD
    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(cases[i].doc, f);
        fclose(f);
        rp_error err = RP_ERROR_INIT;
        int rc = rp_recs_import(NULL, fx->st, path, &o, &err);
        if (rc != RP_EDATA || strstr(err.msg, cases[i].needle) == NULL) {
            print_error("case %zu: %d '%s'\n", i, rc, err.msg);
            fail();
        }
    }
    assert_int_equal(count_audit(fx->st), 0);
}

/* A date after today is refused: it would block every later change. */
static void recs_status__future_date_refused(void **state)
{
    fixture *fx = *state;
    long long id = add_rec(fx->st, "1", NULL, NULL);
    char tomorrow[11];
    char today[11];
    day_from_today(tomorrow, 1);
    day_from_today(today, 0);
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = AUTHOR;
    chg.date = tomorrow;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "field 'date'"));
    assert_non_null(strstr(err.msg, "after today"));
    assert_rp_status(rp_recs_add_progress(NULL, fx->st, id, 0, 0, NAN, &chg, &err), RP_EDATA, &err);
    /* today is fine, and later changes remain possible */
    chg.date = today;
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), &err);
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IMPLEMENTED, &chg, &err), &err);

    /* CSV: a status_date in the future names the field; one without a status is refused */
    char csv[700];
    snprintf(csv, sizeof(csv), "%s/f.csv", fx->dir);

    static const struct {
        const char *status;
        bool future; /* status_date tomorrow, else 2020-01-01 */
        const char *needle;
    } rows[] = {
        {"in_progress", true, "field 'status_date': expected a date"},
        {"", false, "field 'status_date': given without a 'status'"},
    };

    rp_recs_import_opts o = RP_RECS_IMPORT_OPTS_INIT;
    o.author = AUTHOR;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        FILE *f = fopen(csv, "wb");
        assert_non_null(f);
        fputs("state,source,round,status,status_date,text\n", f);
        fprintf(f, "XA,GRETA,2,%s,%s,t\n", rows[i].status,
                rows[i].future ? tomorrow : "2020-01-01");
        fclose(f);
        assert_rp_status(rp_recs_import(NULL, fx->st, csv, &o, &err), RP_EDATA, &err);
        if (strstr(err.msg, rows[i].needle) == NULL || err.line != 2) {
            print_error("row %zu: '%s' line %ld\n", i, err.msg, err.line);
            fail();
        }
    }
}

/* Linking an action to several recommendations is one transaction. */
static void recs_action__link_many_is_all_or_nothing(void **state)
{
    fixture *fx = *state;
    long long a = add_rec(fx->st, "1", NULL, NULL);
    long long b = add_rec(fx->st, "2", NULL, NULL);
    rp_recs_action act = RP_RECS_ACTION_INIT;
    act.title = "Guidelines";
    long long action = 0;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add_action(&action, fx->st, &act, &a, 1, AUTHOR, &err), &err);
    int before = count_audit(fx->st);
    const long long ids[] = {b, a}; /* a is linked already */
    assert_rp_status(rp_recs_action_link_many(fx->st, action, ids, 2, AUTHOR, &err), RP_EDATA,
                     &err);
    assert_int_equal(count_audit(fx->st), before);
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, b, &err), &err);
    assert_non_null(strstr(json, "\"actions\": []"));
    rp_free(json);
    const long long ok_ids[] = {b};
    assert_rp_ok(rp_recs_action_link_many(fx->st, action, ok_ids, 1, AUTHOR, &err), &err);
    const long long unknown[] = {999};
    assert_rp_status(rp_recs_action_link_many(fx->st, action, unknown, 1, AUTHOR, &err),
                     RP_ENOTFOUND, &err);
}

/* Links join one state, point to an earlier round, close no cycle; unlink is audited. */
static void recs_link__rules_and_unlink(void **state)
{
    fixture *fx = *state;
    long long xa2 = add_rec_in(fx->st, "XA", 2, "1");
    long long xa3 = add_rec_in(fx->st, "XA", 3, "1");
    long long xa3b = add_rec_in(fx->st, "XA", 3, "2");
    long long xb2 = add_rec_in(fx->st, "XB", 2, "1");
    long long n1 = add_rec_in(fx->st, "XA", 0, "n1");
    long long n2 = add_rec_in(fx->st, "XA", 0, "n2");
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_recs_link(fx->st, xa3, xb2, RP_REC_REPEATS, AUTHOR, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "different states"));
    assert_rp_status(rp_recs_link(fx->st, xa2, xa3, RP_REC_REPEATS, AUTHOR, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "earlier round"));
    assert_rp_status(rp_recs_link(fx->st, xa3b, xa3, RP_REC_FOLLOWS_UP, AUTHOR, &err), RP_EDATA,
                     &err);
    assert_rp_ok(rp_recs_link(fx->st, xa3, xa2, RP_REC_REPEATS, AUTHOR, &err), &err);
    /* same day, no rounds: allowed one way, the other closes a cycle */
    assert_rp_ok(rp_recs_link(fx->st, n2, n1, RP_REC_FOLLOWS_UP, AUTHOR, &err), &err);
    assert_rp_status(rp_recs_link(fx->st, n1, n2, RP_REC_REPEATS, AUTHOR, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "cycle"));
    /* unlink: audited with the old target; a second time there is nothing to remove */
    int before = count_audit(fx->st);
    assert_rp_ok(rp_recs_unlink(fx->st, xa3, xa2, RP_REC_REPEATS, AUTHOR, &err), &err);
    assert_int_equal(count_audit(fx->st), before + 1);
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, xa3, &err), &err);
    assert_non_null(strstr(json, "\"links\": []"));
    assert_non_null(strstr(json, "\"field\": \"repeats\",\n      \"old\": \"1\""));
    rp_free(json);
    assert_rp_status(rp_recs_unlink(fx->st, xa3, xa2, RP_REC_REPEATS, AUTHOR, &err), RP_ENOTFOUND,
                     &err);
    assert_rp_status(rp_recs_unlink(fx->st, xa3, xa2, RP_REC_REPEATS, "", &err), RP_EINVAL, &err);
}

/* The scorecard of a past day: statuses from the history, later recommendations out. */
static void recs_scorecard__as_of_past_date_by_hand(void **state)
{
    fixture *fx = *state;
    import_example(fx->st);
    rp_recs_scorecard_opts o = RP_RECS_SCORECARD_OPTS_INIT;
    o.as_of = "2022-01-01";
    rp_recs_scorecard *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, &o, &err), &err);
    /* Counted from data/recs/example.json (data/recs/README.md): XB's round 3 dates from
     * 2021-11-05, XA's from 2022-06-10, so only XB's is in, all of it not started. */
    expect_score(&sc->overall, (const long long[8]){32, 8, 2, 4, 16, 2, 10, 3});
    expect_score(find_score(sc->by[RP_RECS_BY_STATE], sc->n_by[RP_RECS_BY_STATE], "XA", 0),
                 (const long long[8]){10, 4, 1, 2, 2, 1, 5, 0});
    expect_score(find_score(sc->by[RP_RECS_BY_STATE], sc->n_by[RP_RECS_BY_STATE], "XB", 0),
                 (const long long[8]){22, 4, 1, 2, 14, 1, 5, 3});
    expect_score(find_score(sc->trend, sc->n_trend, "XB", 3),
                 (const long long[8]){12, 0, 0, 0, 12, 0, 0, 3});
    assert_int_equal(sc->n_trend, 3);
    assert_int_equal(sc->n_overdue, 10);
    assert_int_equal(sc->n_repeated, 3);
    rp_recs_scorecard_free(sc);
    /* the status filter applies to the status of that day */
    o.filter.status = RP_REC_NOT_STARTED;
    assert_rp_ok(rp_recs_scorecard_new(&sc, fx->st, &o, &err), &err);
    assert_int_equal(sc->overall.total, 16);
    rp_recs_scorecard_free(sc);
}

/* Excel: long text shortened visibly, never lost; a failed export leaves nothing. */
static void recs_export__xlsx_long_text_and_atomic(void **state)
{
    fixture *fx = *state;
    size_t n = 40000;
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        text[i] = i % 7 == 6 ? ' ' : 'x';
    }
    text[n] = '\0';
    rp_rec r = RP_REC_INIT;
    r.state = "XA";
    r.source = "GRETA";
    r.text = text;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_add(NULL, fx->st, &r, AUTHOR, &err), &err);
    free(text);
    char xlsx[700];
    snprintf(xlsx, sizeof(xlsx), "%s/long.xlsx", fx->dir);
    assert_rp_ok(rp_recs_export_xlsx(fx->st, xlsx, NULL, &err), &err);
    size_t len = 0;
    char *x = rp_test_slurp(xlsx, &len);
    assert_true(len > 1000);
    free(x);
    /* damage the store: the export fails half-way and the old file stays as it was */
    raw_sql(fx->db, "DROP TABLE recs_evidence");
    assert_rp_status(rp_recs_export_xlsx(fx->st, xlsx, NULL, &err), RP_ESQL, &err);
    size_t len2 = 0;
    x = rp_test_slurp(xlsx, &len2);
    assert_int_equal(len2, len);
    free(x);
    char fresh[700];
    snprintf(fresh, sizeof(fresh), "%s/fresh.xlsx", fx->dir);
    assert_rp_status(rp_recs_export_xlsx(fx->st, fresh, NULL, &err), RP_ESQL, &err);
    assert_null(fopen(fresh, "rb"));
    /* and no temporary file beside it */
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                  strncmp(e->d_name, "recs.db", 7) == 0 || strcmp(e->d_name, "long.xlsx") == 0;
        if (!ok) {
            print_error("left behind: %s\n", e->d_name);
            fail();
        }
    }
    closedir(d);
}

/* Filters that name unknown codes are refused rather than giving empty results. */
static void recs_filter__unknown_codes_are_refused(void **state)
{
    fixture *fx = *state;
    rp_error err = RP_ERROR_INIT;
    rp_recs_filter f = RP_RECS_FILTER_INIT;
    assert_rp_ok(rp_recs_check_filter(fx->st, &f, &err), &err);
    f.theme = "labor_exploitation";
    assert_rp_status(rp_recs_check_filter(fx->st, &f, &err), RP_ENOTFOUND, &err);
    assert_string_equal(err.msg, "unknown theme 'labor_exploitation'");
    f.theme = "identification";
    f.source = "greta";
    assert_rp_status(rp_recs_check_filter(fx->st, &f, &err), RP_ENOTFOUND, &err);
    assert_non_null(strstr(err.msg, "did you mean 'GRETA'?"));
    f.source = "GRETA";
    f.body = "XA-NOBODY";
    assert_rp_status(rp_recs_check_filter(fx->st, &f, &err), RP_ENOTFOUND, &err);
    f.body = NULL;
    f.state = "Arcadia";
    assert_rp_status(rp_recs_check_filter(fx->st, &f, &err), RP_EINVAL, &err);
    f.state = "xa";
    assert_rp_ok(rp_recs_check_filter(fx->st, &f, &err), &err);
}

/* show's audit holds the evidence links of its progress reports. */
static void recs_show__audit_has_evidence(void **state)
{
    fixture *fx = *state;
    long long id = add_rec(fx->st, "1", NULL, NULL);
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = AUTHOR;
    const char *ev[] = {"https://example.org/e1"};
    chg.evidence = ev;
    chg.n_evidence = 1;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_set_status(fx->st, id, RP_REC_IN_PROGRESS, &chg, &err), &err);
    char *json = NULL;
    assert_rp_ok(rp_recs_show_json(&json, fx->st, id, &err), &err);
    assert_non_null(strstr(json, "\"entity\": \"evidence\""));
    rp_free(json);
}

/* ==== allocation failures ==== */

typedef struct sweep {
    rp_store *st;
    long long id;
    rp_recs_scorecard *sc;
    char *json;
} sweep;

static int sweep_run(void *payload)
{
    sweep *w = payload;
    rp_recs_scorecard_opts o = RP_RECS_SCORECARD_OPTS_INIT;
    o.as_of = "2025-06-30";
    int rc = rp_recs_scorecard_new(&w->sc, w->st, &o, NULL);
    if (rc == RP_OK) {
        rc = rp_recs_show_json(&w->json, w->st, w->id, NULL);
    }
    if (rc != RP_OK) {
        rp_recs_scorecard_free(w->sc);
        w->sc = NULL;
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    sweep *w = payload;
    rp_recs_scorecard_free(w->sc);
    rp_free(w->json);
    w->sc = NULL;
    w->json = NULL;
}

static void recs__allocation_failures_are_enomem(void **state)
{
    fixture *fx = *state;
    import_example(fx->st);
    sweep w = {fx->st, 0, NULL, NULL};
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_recs_find(&w.id, fx->st, "XA/GRETA/3/2", &err), &err);
    rp_test_alloc_sweep(sweep_run, sweep_undo, &w, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recs_transition__table),
        cmocka_unit_test_setup_teardown(recs_status__refused_and_allowed_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_audit__every_change_type, setup, teardown),
        cmocka_unit_test_setup_teardown(recs__unknown_ids_are_enotfound, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_add__bad_values_are_edata, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_scorecard__example_set_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_export__json_round_trip_and_excel, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_scorecard__html_is_escaped_and_self_contained, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recs_import__csv_with_statuses_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_import__text_list, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_import__json_errors_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(recs__readonly_store_without_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(recs__allocation_failures_are_enomem, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_import__json_audit_names_the_importer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recs_import__json_history_must_be_consistent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recs_status__future_date_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_action__link_many_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_link__rules_and_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_scorecard__as_of_past_date_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_export__xlsx_long_text_and_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_filter__unknown_codes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(recs_show__audit_has_evidence, setup, teardown),
    };
    return cmocka_run_group_tests_name("recs", tests, NULL, NULL);
}
