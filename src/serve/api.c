/*
 * The JSON API under /api/v1/ (docs/api.md): the same models as the pages, and the same
 * changes (log in and out, upload, review decisions, recommendation status and evidence,
 * accounts) with JSON bodies. Errors are {"error": {"status": N, "message": "..."}}.
 */
#include "serve/serve_int.h"

#include <limits.h>

/* Answer with a model, or pass the model's failure on. */
static int answer(rp_serve__ctx *ctx, int rc, json_t *m, rp_error *err)
{
    if (rc != RP_OK)
        return rc;
    return rp_serve__json(ctx, 200, m, err);
}

static const char *body_str(const rp_serve__ctx *ctx, const char *key)
{
    return json_string_value(json_object_get(ctx->json, key));
}

static int need_json(const rp_serve__ctx *ctx, rp_error *err)
{
    if (ctx->json == NULL)
        return rp_error_set(err, RP_EINVAL, "send a JSON object (Content-Type: application/json)");
    return RP_OK;
}

static json_t *session_json(const rp_serve__ctx *ctx)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I}", "user", ctx->sess.user, "role",
                     rp_role_name(ctx->sess.role), "agency", ctx->sess.agency, "csrf",
                     ctx->sess.csrf, "expires_at", (json_int_t)ctx->sess.expires_at);
}

int rp_serve__api_login(rp_serve__ctx *ctx, rp_error *err)
{
    /* A JSON body cannot be sent cross-site without a CORS preflight, which this server
     * never grants: that is the log-in request's CSRF protection. */
    int rc = need_json(ctx, err);
    if (rc != RP_OK)
        return rc;
    char token[RP_SERVE_TOKEN_TEXT + 1];
    unsigned status = 0;
    rp_error lerr = RP_ERROR_INIT;
    rc = rp_serve__login(token, &status, ctx, body_str(ctx, "user"), body_str(ctx, "password"),
                         &lerr);
    if (status != 0) {
        unsigned ra = ctx->res->retry_after;
        rp_serve__error_page(ctx, status, lerr.msg);
        ctx->res->retry_after = ra;
        return RP_OK;
    }
    if (rc != RP_OK) {
        *err = lerr;
        return rc;
    }
    return rp_serve__json(ctx, 200, session_json(ctx), err);
}

int rp_serve__api_logout(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = rp_serve__session_end(ctx->st, ctx->sess.token_hash, err);
    if (rc == RP_OK)
        rc = rp_serve__audit(ctx->st, ctx->sess.user, "logout", "", NULL, err);
    if (rc != RP_OK)
        return rc;
    rp_serve__set_cookie(ctx, rp_serve__cookie_name(ctx->req->tls), "", 0);
    return rp_serve__json(ctx, 200, json_pack("{s:b}", "ok", 1), err);
}

int rp_serve__api_session(rp_serve__ctx *ctx, rp_error *err)
{
    return rp_serve__json(ctx, 200, session_json(ctx), err);
}

int rp_serve__api_overview(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_overview(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_public(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_public(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_submissions(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_submissions(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_submission(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_submission(&m, ctx, ctx->ids[0], err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_upload(rp_serve__ctx *ctx, rp_error *err)
{
    const char *data = ctx->req->body;
    size_t len = ctx->req->body_len;
    const char *name = rp_serve__param_get(&ctx->req->query, "name");
    char clean[256] = "";
    const rp_serve__part *f = rp_serve__part_get(&ctx->parts, "file");
    if (f != NULL) {
        data = f->data;
        len = f->len;
        name = f->filename;
    } else if (!rp_serve__media_type_is(ctx->req->content_type, "application/octet-stream")) {
        return rp_error_set(err, RP_EINVAL,
                            "send the file as multipart field 'file' or as "
                            "application/octet-stream");
    } else if (name != NULL) {
        /* Keep a safe base name of ?name= (as multipart file names are kept). */
        size_t n = 0;
        for (const char *p = name; *p != '\0' && n + 1 < sizeof(clean); p++) {
            char c = *p;
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
            clean[n++] = c;
            if (!ok)
                clean[n - 1] = '_';
        }
        clean[n] = '\0';
        name = clean;
    }
    json_t *r = NULL;
    int rc = rp_serve__upload(&r, ctx, name, data, len, err);
    if (rc != RP_OK)
        return rc;
    return rp_serve__json(ctx, 201, r, err);
}

int rp_serve__api_link_runs(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_link_runs(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_link_run(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_link_run(&m, ctx, ctx->ids[0], err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_link_review(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = need_json(ctx, err);
    if (rc != RP_OK)
        return rc;
    json_t *a = json_object_get(ctx->json, "a");
    json_t *b = json_object_get(ctx->json, "b");
    const char *d = body_str(ctx, "decision");
    if (!json_is_integer(a) || !json_is_integer(b) || d == NULL ||
        (strcmp(d, "accept") != 0 && strcmp(d, "reject") != 0))
        return rp_error_set(err, RP_EINVAL,
                            "expected {\"a\": case row, \"b\": case row, \"decision\": "
                            "\"accept\" or \"reject\"}");
    rc = rp_serve__link_review(ctx, ctx->ids[0], json_integer_value(a), json_integer_value(b),
                               strcmp(d, "accept") == 0, err);
    if (rc != RP_OK)
        return rc;
    return rp_serve__json(ctx, 200,
                          json_pack("{s:I,s:I,s:s}", "a", json_integer_value(a), "b",
                                    json_integer_value(b), "decision",
                                    strcmp(d, "accept") == 0 ? "accepted" : "rejected"),
                          err);
}

int rp_serve__api_recs(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_recs(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_rec(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_rec(&m, ctx, ctx->ids[0], err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_rec_status(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = need_json(ctx, err);
    if (rc == RP_OK)
        rc = rp_serve__rec_set_status(ctx, ctx->ids[0], body_str(ctx, "status"),
                                      body_str(ctx, "note"), err);
    json_t *m = NULL;
    if (rc == RP_OK)
        rc = rp_serve__model_rec(&m, ctx, ctx->ids[0], err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_rec_evidence(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = need_json(ctx, err);
    if (rc == RP_OK)
        rc = rp_serve__rec_add_evidence(ctx, ctx->ids[0], body_str(ctx, "note"),
                                        body_str(ctx, "link"), err);
    json_t *m = NULL;
    if (rc == RP_OK)
        rc = rp_serve__model_rec(&m, ctx, ctx->ids[0], err);
    if (rc != RP_OK)
        return rc;
    return rp_serve__json(ctx, 201, m, err);
}

int rp_serve__api_scorecards(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_scorecards(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_users(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_users(&m, ctx, err);
    return answer(ctx, rc, m, err);
}

int rp_serve__api_user_add(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = need_json(ctx, err);
    rp_role role = RP_ROLE_PUBLIC;
    if (rc == RP_OK)
        rc = rp_role_parse(&role, body_str(ctx, "role"), err);
    const char *pw = body_str(ctx, "password");
    const char *name = body_str(ctx, "name");
    if (rc == RP_OK)
        rc = rp_serve_user_add(ctx->st, name, role, body_str(ctx, "agency"), pw,
                               pw != NULL ? strlen(pw) : 0, ctx->sess.user, err);
    if (rc != RP_OK)
        return rc;
    return rp_serve__json(ctx, 201,
                          json_pack("{s:s,s:s}", "name", name, "role", rp_role_name(role)), err);
}

int rp_serve__api_audit(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_audit(&m, ctx, err);
    return answer(ctx, rc, m, err);
}
