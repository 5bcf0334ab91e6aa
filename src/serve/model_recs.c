/*
 * Recommendations, scorecards and the public tables behind the pages and the API:
 * recommendations through <rapporteur/recs.h> (list with filters, one with its history,
 * status changes under the module's transition rule, progress reports with evidence),
 * scorecards as the recs module writes them, and the public page's tables through
 * <rapporteur/report.h>, every one protected by disclosure control before it leaves the
 * library (threshold rule with LP-audited secondary suppression): no raw count below
 * the threshold is ever in the model.
 */
#include "serve/serve_int.h"

#include <rapporteur/recs.h>
#include <rapporteur/report.h>

#include <glpk.h>
#include <limits.h>
#include <math.h>

/* ==== recommendations ==== */

static int rec_cb(const rp_rec *r, void *payload)
{
    json_t *o =
        json_pack("{s:I,s:s?,s:s?,s:s?,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}", "id",
                  (json_int_t)r->id, "ref", r->ref, "state", r->state, "source", r->source, "round",
                  r->round, "paragraph", r->paragraph, "text", r->text, "strength",
                  rp_recs_name(RP_RECS_V_STRENGTH, (int)r->strength), "themes", r->themes, "bodies",
                  r->bodies, "due_date", r->due_date, "status",
                  rp_recs_name(RP_RECS_V_STATUS, (int)r->status), "status_date", r->status_date);
    json_array_append_new(payload, o);
    return 0;
}

/* A vocabulary value from the query, or -1 (any); *bad when given but unknown. */
static int query_vocab(const rp_serve__ctx *ctx, const char *key, rp_recs_vocab v, bool *bad)
{
    const char *s = rp_serve__param_get(&ctx->req->query, key);
    int out = -1;
    if (s == NULL || s[0] == '\0')
        return -1;
    if (rp_recs_parse(&out, v, s) != RP_OK)
        *bad = true;
    return out;
}

static const char *query_text(const rp_serve__ctx *ctx, const char *key)
{
    const char *s = rp_serve__param_get(&ctx->req->query, key);
    return s != NULL && s[0] != '\0' ? s : NULL;
}

int rp_serve__model_recs(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    *out = NULL;
    rp_recs_filter f = RP_RECS_FILTER_INIT;
    bool bad = false;
    f.state = query_text(ctx, "state");
    f.source = query_text(ctx, "source");
    f.theme = query_text(ctx, "theme");
    f.body = query_text(ctx, "body");
    f.status = query_vocab(ctx, "status", RP_RECS_V_STATUS, &bad);
    f.strength = query_vocab(ctx, "strength", RP_RECS_V_STRENGTH, &bad);
    const char *round = query_text(ctx, "round");
    long r = -1;
    if (round != NULL && rp_x_parse_long(round, 0, RP_RECS_ROUND_MAX, &r) != 0)
        bad = true;
    f.round = (int)r;
    if (bad)
        return rp_error_set(err, RP_EINVAL, "unknown filter value (status, strength or round)");
    json_t *a = json_array();
    int rc = rp_recs_list(ctx->st, &f, rec_cb, a, err);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    json_t *statuses = json_array();
    for (int s = 0; s < RP_REC_STATUS_COUNT; s++)
        json_array_append_new(statuses, json_string(rp_recs_name(RP_RECS_V_STATUS, s)));
    *out = json_pack("{s:o,s:o,s:{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}}", "recommendations", a,
                     "statuses", statuses, "filter", "state", f.state, "source", f.source, "theme",
                     f.theme, "body", f.body, "round", round, "status", query_text(ctx, "status"),
                     "strength", query_text(ctx, "strength"));
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

int rp_serve__model_rec(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err)
{
    *out = NULL;
    char *text = NULL;
    int rc = rp_recs_show_json(&text, ctx->st, id, err);
    if (rc != RP_OK)
        return rc;
    *out = json_loads(text, 0, NULL);
    rp_free(text);
    if (*out == NULL)
        return rp_error_set(err, RP_EINTERNAL, "the recommendation's JSON does not parse");
    json_t *statuses = json_array();
    for (int s = 0; s < RP_REC_STATUS_COUNT; s++)
        json_array_append_new(statuses, json_string(rp_recs_name(RP_RECS_V_STATUS, s)));
    json_object_set_new(*out, "statuses", statuses);
    return RP_OK;
}

int rp_serve__rec_set_status(
    rp_serve__ctx *ctx, long long id, const char *status, const char *note, rp_error *err)
{
    int to = 0;
    if (status == NULL || rp_recs_parse(&to, RP_RECS_V_STATUS, status) != RP_OK)
        return rp_error_set(err, RP_EINVAL,
                            "unknown status (expected not_started, in_progress, "
                            "partially_implemented, implemented or "
                            "no_longer_relevant)");
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = ctx->sess.user;
    chg.note = note != NULL && note[0] != '\0' ? note : NULL;
    int rc = rp_recs_set_status(ctx->st, id, (rp_rec_status)to, &chg, err);
    if (rc != RP_OK)
        return rc;
    char object[64];
    char detail[96];
    snprintf(object, sizeof(object), "recommendation %lld", id);
    snprintf(detail, sizeof(detail), "{\"status\": \"%s\"}", rp_recs_name(RP_RECS_V_STATUS, to));
    /* No rp_serve__changed(): the cached overview and public tables do not depend on
     * recommendations, which are read afresh on every request. */
    return rp_serve__audit(ctx->st, ctx->sess.user, "rec.status", object, detail, err);
}

int rp_serve__rec_add_evidence(
    rp_serve__ctx *ctx, long long id, const char *text, const char *url, rp_error *err)
{
    bool has_text = text != NULL && text[0] != '\0';
    bool has_url = url != NULL && url[0] != '\0';
    if (!has_text && !has_url)
        return rp_error_set(err, RP_EINVAL, "evidence needs a note or a link");
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = ctx->sess.user;
    chg.note = has_text ? text : NULL;
    const char *links[1] = {url};
    if (has_url) {
        chg.evidence = links;
        chg.n_evidence = 1;
    }
    long long pid = 0;
    int rc = rp_recs_add_progress(&pid, ctx->st, id, 0, 0, NAN, &chg, err);
    if (rc != RP_OK)
        return rc;
    char object[64];
    snprintf(object, sizeof(object), "recommendation %lld", id);
    return rp_serve__audit(ctx->st, ctx->sess.user, "rec.evidence", object, NULL, err);
}

int rp_serve__model_scorecards(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    *out = NULL;
    rp_recs_scorecard_opts opts = RP_RECS_SCORECARD_OPTS_INIT;
    opts.filter.state = query_text(ctx, "state");
    rp_recs_scorecard *sc = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = rp_recs_scorecard_new(&sc, ctx->st, &opts, err);
    if (rc != RP_OK)
        return rc;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        rp_recs_scorecard_free(sc);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rc = rp_recs_scorecard_write(f, sc, RP_RECS_JSON, err);
    fclose(f);
    rp_recs_scorecard_free(sc);
    if (rc == RP_OK) {
        *out = json_loadb(text, len, 0, NULL);
        if (*out == NULL)
            rc = rp_error_set(err, RP_EINTERNAL, "the scorecard's JSON does not parse");
    }
    free(text); /* open_memstream's buffer */
    return rc;
}

/* ==== public tables ==== */

/* The tables of the public page: one or two standard fields each. */
static const struct {
    rp_field fields[2];
    size_t n;
    const char *title;
} public_tables[] = {
    {{RP_FIELD_REGISTRATION_YEAR}, 1, "Identified persons by year of registration"},
    {{RP_FIELD_SEX, RP_FIELD_AGE_BAND}, 2, "Identified persons by sex and age"},
    {{RP_FIELD_EXPLOITATION}, 1, "Identified persons by form of exploitation"},
    {{RP_FIELD_CITIZENSHIP}, 1, "Identified persons by citizenship"},
};

/* One protected table as JSON (NULL with *err on failure). */
static json_t *public_table(const rp_report_data *data, size_t i, rp_error *err)
{
    rp_table *t = NULL;
    rp_table_opts topts = RP_TABLE_OPTS_INIT;
    topts.title = public_tables[i].title;
    rp_sdc_opts sopts = RP_SDC_OPTS_INIT;
    rp_table_write_opts wopts = RP_TABLE_WRITE_OPTS_INIT;
    char *text = NULL;
    json_t *v = NULL;
    int rc =
        rp_report_table_build(&t, data, public_tables[i].fields, public_tables[i].n, &topts, err);
    if (rc == RP_OK)
        rc = rp_sdc_protect(t, &sopts, NULL, err);
    if (rc == RP_OK)
        rc = rp_table_json_string(&text, t, &wopts, err);
    if (rc == RP_OK) {
        v = json_loads(text, 0, NULL);
        if (v == NULL)
            rp_error_set(err, RP_EINTERNAL, "a table's JSON does not parse");
        else
            json_object_set_new(v, "threshold", json_real(sopts.k));
    }
    rp_free(text);
    rp_table_free(t);
    return v;
}

static json_t *compute_public(rp_store *st, const char *key, rp_error *err)
{
    (void)key;
    rp_report_data *data = NULL;
    int rc = rp_report_data_load(&data, st, NULL, err);
    if (rc == RP_EDATA)
        return json_pack("{s:s,s:I,s:[]}", "unit", "persons", "units", (json_int_t)0, "tables");
    if (rc != RP_OK)
        return NULL;
    json_t *tables = json_array();
    json_t *m = NULL;
    for (size_t i = 0; i < RP_ARRAY_LEN(public_tables); i++) {
        json_t *t = public_table(data, i, err);
        if (t == NULL) {
            json_decref(tables);
            tables = NULL;
            break;
        }
        json_array_append_new(tables, t);
    }
    if (tables != NULL)
        m = json_pack("{s:s,s:o}", "unit", rp_report_data_unit(data), "tables", tables);
    rp_report_data_free(data);
    /*
     * The LP audit of secondary suppression (rp_sdc_protect) runs GLPK, and GLPK keeps its
     * environment (memory accounting, error hooks, a block of every problem it made) in
     * thread-local storage, created on a thread's first GLPK call and freed only by
     * glp_free_env() on that same thread. Pages are built on libmicrohttpd's worker
     * threads, which live as long as the server and never return through GLPK: without
     * this call each worker would keep its environment (and LeakSanitizer reports it
     * when the server stops). It is safe here because every problem of this request
     * has been deleted and this thread has no other GLPK object open; the next request
     * on the thread makes a fresh environment. Do not move it into a function that may
     * run while a caller holds a glp_prob.
     */
    glp_free_env();
    return m;
}

int rp_serve__model_public(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    return rp_serve__model_cached(out, ctx, &ctx->srv->public_cache, compute_public, err);
}
