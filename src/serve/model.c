/*
 * The data behind the pages and the API, as JSON models: the overview (the latest
 * estimate with its interval, the lists, the trend by registration year), submissions
 * and their validation reports, linkage runs with their clerical-review pairs, accounts
 * and the audit trail. Pages render these models and the API returns them, so both show
 * the same numbers. The overview is cached by the store's data generation: estimation is
 * the only costly step of a request.
 */
#include "serve/serve_int.h"
#include "store/store_int.h"

#include <rapporteur/encode.h>
#include <rapporteur/mse.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* Most quarantine reasons, review pairs and audit entries a model carries. */
#define MAX_ROWS 500

/* json_object_set_new() that keeps going: a NULL value (OOM) is caught by the caller's
 * final check of the whole model. */
static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v);
}

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *count_json(double x)
{
    if (isfinite(x) && x == floor(x) && fabs(x) < 9e15)
        return json_integer((json_int_t)x);
    return num_or_null(x);
}

/* ==== overview ==== */

/* The estimate of one capture table as JSON; failure is reported inside the object. */
static json_t *estimate_json(const rp_capture_table *tab)
{
    json_t *o = json_object();
    rp_mse_opts opts = RP_MSE_OPTS_INIT;
    opts.n_threads = 1;
    opts.n_runners_up = 0;
    opts.max_excluded = 0;
    rp_mse_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    put(o, "observed", count_json(rp_capture_table_observed(tab)));
    if (rp_mse_estimate(&res, tab, &opts, &err) != RP_OK) {
        put(o, "estimate", json_null());
        put(o, "refused", json_string(err.msg));
        return o;
    }
    bool profile = isfinite(res->profile_lower) && isfinite(res->profile_upper);
    char model[512];
    rp_mse_model_format(&res->model, tab, RP_MSE_STYLE_NAMES, model, sizeof(model));
    put(o, "estimate", num_or_null(res->estimate));
    put(o, "lower", num_or_null(profile ? res->profile_lower : res->ci_lower));
    put(o, "upper", num_or_null(profile ? res->profile_upper : res->ci_upper));
    put(o, "level", json_real(res->ci_level));
    put(o, "interval",
        json_string(profile ? "profile likelihood" : "log-normal (model-conditional)"));
    put(o, "method", json_string(rp_mse_method_str(res->method)));
    put(o, "model", json_string(model));
    put(o, "chao_lower_bound", num_or_null(res->chao_lower_bound));
    json_t *notes = json_array();
    for (size_t i = 0; i < res->n_notes; i++)
        json_array_append_new(notes, json_string(res->notes[i]));
    put(o, "notes", notes);
    rp_mse_result_free(res);
    return o;
}

static int list_cb(const char *list, long long records, void *payload)
{
    json_array_append_new(payload,
                          json_pack("{s:s,s:I}", "list", list, "records", (json_int_t)records));
    return 0;
}

/* The trend: one estimate per registration year. */
static json_t *trend_json(rp_store *st)
{
    json_t *a = json_array();
    const char *by[] = {"registration_year"};
    rp_capture_set *set = NULL;
    long long unlinked = 0;
    if (rp_store_capture_set(&set, &unlinked, st, by, 1, NULL) != RP_OK)
        return a;
    for (size_t i = 0; i < set->n_strata; i++) {
        const char *label = set->stratum_labels[i];
        const char *eq = strchr(label, '=');
        json_t *e = estimate_json(set->strata[i]);
        put(e, "year", json_string(eq != NULL ? eq + 1 : label));
        json_array_append_new(a, e);
    }
    rp_capture_set_free(set);
    return a;
}

/* Key of the data the overview depends on: newest submission and linkage run, and the
 * server's own change counter. */
int rp_serve__data_key(char *out, size_t size, rp_serve__ctx *ctx, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, ctx->st,
                               "SELECT (SELECT coalesce(max(id), 0) FROM submissions),"
                               " (SELECT coalesce(max(id), 0) FROM link_runs),"
                               " (SELECT count(*) FROM cases WHERE person_id <> '')",
                               err);
    if (rc != RP_OK)
        return rc;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, ctx->st->db, "cannot read the store's state");
    } else {
        pthread_mutex_lock(&ctx->srv->gen_lock);
        unsigned long gen = ctx->srv->generation;
        pthread_mutex_unlock(&ctx->srv->gen_lock);
        snprintf(out, size, "s%lld-l%lld-p%lld-g%lu", (long long)sqlite3_column_int64(stmt, 0),
                 (long long)sqlite3_column_int64(stmt, 1), (long long)sqlite3_column_int64(stmt, 2),
                 gen);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static json_t *compute_overview(rp_store *st)
{
    json_t *o = json_object();
    json_t *lists = json_array();
    rp_store_lists(st, list_cb, lists, NULL);
    put(o, "lists", lists);
    rp_capture_set *set = NULL;
    long long unlinked = 0;
    rp_error err = RP_ERROR_INIT;
    if (rp_store_capture_set(&set, &unlinked, st, NULL, 0, &err) == RP_OK) {
        put(o, "total", estimate_json(set->total));
        put(o, "unlinked_records", json_integer(unlinked));
        json_t *ln = json_array();
        for (size_t i = 0; i < set->total->n_lists; i++)
            json_array_append_new(ln, json_string(set->total->list_names[i]));
        put(o, "capture_lists", ln);
        rp_capture_set_free(set);
    } else {
        put(o, "total", json_pack("{s:n,s:s}", "estimate", "refused", err.msg));
    }
    put(o, "trend", trend_json(st));
    return o;
}

/* The overview for the cache: compute_overview() marked with the data version @p key. */
static json_t *overview_for(rp_store *st, const char *key, rp_error *err)
{
    json_t *m = compute_overview(st);
    if (m == NULL) {
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return NULL;
    }
    put(m, "data_version", json_string(key));
    return m;
}

int rp_serve__model_cached(json_t **out,
                           rp_serve__ctx *ctx,
                           rp_serve__cache *c,
                           json_t *(*compute)(rp_store *st, const char *key, rp_error *err),
                           rp_error *err)
{
    *out = NULL;
    char key[96];
    int rc = rp_serve__data_key(key, sizeof(key), ctx, err);
    if (rc != RP_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    if (c->model != NULL && strcmp(c->key, key) == 0)
        *out = json_deep_copy(c->model);
    pthread_mutex_unlock(&c->lock);
    if (*out != NULL)
        return RP_OK;
    json_t *m = compute(ctx->st, key, err);
    if (m == NULL)
        return err != NULL && err->code != RP_OK ? err->code
                                                 : rp_error_set(err, RP_ENOMEM, "out of memory");
    pthread_mutex_lock(&c->lock);
    json_decref(c->model);
    c->model = json_deep_copy(m);
    rp_x_strlcpy(c->key, key, sizeof(c->key));
    pthread_mutex_unlock(&c->lock);
    *out = m;
    return RP_OK;
}

int rp_serve__model_overview(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    return rp_serve__model_cached(out, ctx, &ctx->srv->cache, overview_for, err);
}

/* ==== submissions ==== */

/* Submitters see their own agency's submissions only. */
static bool may_see(const rp_serve__ctx *ctx, const char *agency)
{
    return ctx->sess.role != RP_ROLE_SUBMITTER || strcmp(ctx->sess.agency, agency) == 0;
}

static json_t *submission_json(const rp_submission *s)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "id", (json_int_t)s->id, "agency",
                     s->agency, "list", s->list, "file_name", s->file_name, "imported_at",
                     s->imported_at, "read", (json_int_t)s->read, "stored", (json_int_t)s->stored,
                     "quarantined", (json_int_t)s->quarantined, "sha256", s->sha256);
}

typedef struct subs_walk {
    rp_serve__ctx *ctx;
    json_t *arr;
    long long want; /* one id, or 0 for all */
    json_t *found;
} subs_walk;

static int subs_cb(const rp_submission *s, void *payload)
{
    subs_walk *w = payload;
    if (!may_see(w->ctx, s->agency))
        return 0;
    if (w->want != 0) {
        if (s->id == w->want)
            w->found = submission_json(s);
        return 0;
    }
    json_array_insert_new(w->arr, 0, submission_json(s)); /* newest first */
    return 0;
}

int rp_serve__model_submissions(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    subs_walk w = {ctx, json_array(), 0, NULL};
    int rc = rp_store_submissions(ctx->st, subs_cb, &w, err);
    if (rc != RP_OK) {
        json_decref(w.arr);
        return rc;
    }
    *out = json_pack("{s:o,s:b}", "submissions", w.arr, "uploads_enabled",
                     ctx->srv->hub_key[0] != '\0');
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

typedef struct quar_walk {
    json_t *arr;
    size_t n;
    bool submitter; /* the reader is a submitter: say nothing of other submissions */
} quar_walk;

/*
 * The message of a quarantine reason as the reader may see it. A duplicate case id
 * names the submission that holds the first one, which may be another agency's (an
 * analyst's upload of the same list): submitters get the rule without it.
 */
static const char *quar_message(const quar_walk *w, const rp_issue *is)
{
    if (!w->submitter || strcmp(is->rule, "duplicate") != 0)
        return is->message;
    if (strstr(is->message, "earlier row of this file") != NULL)
        return "case id repeats an earlier row of this file";
    return "case id already stored for this list";
}

static int quar_cb(const rp_quarantine_entry *q, void *payload)
{
    quar_walk *w = payload;
    if (w->n++ >= MAX_ROWS)
        return 0;
    json_array_append_new(w->arr,
                          json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "line", (json_int_t)q->issue.line,
                                    "column", (json_int_t)q->issue.column, "column_name",
                                    q->issue.column_name, "rule", q->issue.rule, "value",
                                    q->issue.value, "message", quar_message(w, &q->issue)));
    return 0;
}

int rp_serve__model_submission(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err)
{
    *out = NULL;
    subs_walk w = {ctx, NULL, id, NULL};
    int rc = rp_store_submissions(ctx->st, subs_cb, &w, err);
    if (rc != RP_OK)
        return rc;
    if (w.found == NULL)
        return rp_error_set(err, RP_ENOTFOUND, "no submission %lld", id);
    quar_walk q = {json_array(), 0, ctx->sess.role == RP_ROLE_SUBMITTER};
    rc = rp_store_quarantine(ctx->st, id, quar_cb, &q, err);
    if (rc != RP_OK) {
        json_decref(w.found);
        json_decref(q.arr);
        return rc;
    }
    *out = json_pack("{s:o,s:o,s:I,s:b}", "submission", w.found, "quarantine", q.arr,
                     "quarantine_reasons", (json_int_t)q.n, "truncated", q.n > MAX_ROWS);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* Write @p data to a new private file in a new folder of the upload area. */
static int write_upload(char *path,
                        size_t size,
                        rp_server *srv,
                        const char *name,
                        const char *data,
                        size_t len,
                        rp_error *err)
{
    char dir[300];
    int n = snprintf(dir, sizeof(dir), "%s/uXXXXXX", srv->upload_dir);
    if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL)
        return rp_error_set(err, RP_EIO, "cannot make an upload folder");
    n = snprintf(path, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        rmdir(dir);
        return rp_error_set(err, RP_EIO, "upload file name too long");
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rmdir(dir);
        return rp_error_set(err, RP_EIO, "cannot write the upload");
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    if (done != len) {
        unlink(path);
        rmdir(dir);
        return rp_error_set(err, RP_EIO, "cannot write the upload");
    }
    return RP_OK;
}

/* Remove the upload file and its folder. */
static void remove_upload(char *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash != NULL) {
        *slash = '\0';
        rmdir(path);
    }
}

/*
 * A submitter's upload must be for their agency's list (the account's agency code is
 * the list code, docs/serve.md): the file's list is read from its header before the
 * import. @return RP_OK; RP_EPERM (another list, with a message that says so).
 */
static int check_list(rp_serve__ctx *ctx, const char *path, rp_error *err)
{
    if (ctx->sess.role != RP_ROLE_SUBMITTER)
        return RP_OK;
    rp_sub_reader *r = NULL;
    rp_error rerr = RP_ERROR_INIT;
    if (rp_sub_reader_open(&r, path, ctx->srv->hub_key, &rerr) != RP_OK)
        return RP_OK; /* not readable: the import says why, with its own status */
    bool mine = strcmp(rp_sub_reader_list(r), ctx->sess.agency) == 0;
    rp_sub_reader_free(r);
    if (!mine)
        return rp_error_set(err, RP_EPERM,
                            "this submission is for another list: your account may upload "
                            "list '%s' only",
                            ctx->sess.agency);
    return RP_OK;
}

/* Whether the reader may see submission @p id (submitters: their agency's only). */
static bool may_see_id(rp_serve__ctx *ctx, long long id)
{
    if (ctx->sess.role != RP_ROLE_SUBMITTER)
        return true;
    subs_walk w = {ctx, NULL, id, NULL};
    if (rp_store_submissions(ctx->st, subs_cb, &w, NULL) != RP_OK || w.found == NULL)
        return false;
    json_decref(w.found);
    return true;
}

int rp_serve__upload(
    json_t **out, rp_serve__ctx *ctx, const char *name, const char *data, size_t len, rp_error *err)
{
    *out = NULL;
    char path[600];
    if (ctx->srv->hub_key[0] == '\0')
        return rp_error_set(err, RP_EPERM,
                            "uploads are off: the server was started without --hub-key");
    if (len == 0)
        return rp_error_set(err, RP_EINVAL, "the upload is empty");
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        name = "submission.sealed";
    int rc = write_upload(path, sizeof(path), ctx->srv, name, data, len, err);
    if (rc != RP_OK)
        return rc;
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    if (ctx->sess.agency[0] != '\0')
        opts.agency = ctx->sess.agency;
    if (ctx->sess.role == RP_ROLE_SUBMITTER)
        opts.list = ctx->sess.agency; /* the import refuses another list too */
    rp_import_report rep;
    memset(&rep, 0, sizeof(rep));
    bool wrong_list = false;
    rc = check_list(ctx, path, err);
    if (rc == RP_EPERM)
        wrong_list = true;
    else
        rc = rp_store_import_submission(&rep, ctx->st, path, ctx->srv->hub_key, &opts, err);
    remove_upload(path);
    char object[64];
    char detail[160];
    if (rc != RP_OK) {
        snprintf(detail, sizeof(detail), "{\"status\": \"%s\"%s}", rp_status_str(rc),
                 wrong_list ? ", \"reason\": \"another list\"" : "");
        rp_serve__audit(ctx->st, ctx->sess.user, "submission.refused", name, detail, NULL);
        /* Messages about the file must not quote it back (Jansson's "near '...'"). */
        if (err != NULL)
            rp_serve__scrub_message(err->msg);
        /* Problems with the file itself are the uploader's to fix: 422. */
        if (!wrong_list && (rc == RP_EPARSE || rc == RP_EPERM))
            rc = RP_EDATA;
        return rc;
    }
    snprintf(object, sizeof(object), "submission %lld", rep.submission_id);
    snprintf(detail, sizeof(detail),
             "{\"read\": %lld, \"stored\": %lld, \"quarantined\": %lld, \"duplicate\": %s}",
             rep.read, rep.stored, rep.quarantined, rep.duplicate ? "true" : "false");
    rc = rp_serve__audit(ctx->st, ctx->sess.user, "submission.upload", object, detail, err);
    rp_serve__changed(ctx->srv);
    if (rc != RP_OK)
        return rc;
    /* A duplicate of a submission the uploader may not see is reported without its id. */
    long long shown = rep.duplicate ? rep.duplicate_of : rep.submission_id;
    if (rep.duplicate && !may_see_id(ctx, rep.duplicate_of))
        shown = 0;
    *out = json_pack("{s:o,s:I,s:I,s:I,s:s,s:b,s:o}", "submission_id",
                     shown != 0 ? json_integer(shown) : json_null(), "read", (json_int_t)rep.read,
                     "stored", (json_int_t)rep.stored, "quarantined", (json_int_t)rep.quarantined,
                     "sha256", rep.sha256, "duplicate", rep.duplicate, "duplicate_of",
                     rep.duplicate && shown != 0 ? json_integer(shown) : json_null());
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* ==== linkage ==== */

static const char *decision_name(int d)
{
    switch (d) {
    case RP_LINK_NONMATCH:
        return "non-match";
    case RP_LINK_REVIEW:
        return "review";
    case RP_LINK_MATCH:
        return "match";
    case RP_LINK_ACCEPTED:
        return "accepted";
    case RP_LINK_REJECTED:
        return "rejected";
    default:
        return "?";
    }
}

static json_t *text_or_parsed(const unsigned char *text)
{
    json_t *v = text != NULL ? json_loads((const char *)text, 0, NULL) : NULL;
    return v != NULL ? v : json_object();
}

int rp_serve__model_link_runs(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    *out = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, ctx->st,
                               "SELECT r.id, r.created_at, r.method, r.n_records, r.n_pairs,"
                               " (SELECT count(*) FROM link_pairs p WHERE p.run_id = r.id"
                               "  AND p.decision = 1),"
                               " (SELECT count(*) FROM link_pairs p WHERE p.run_id = r.id"
                               "  AND p.decision IN (3, 4)),"
                               " (SELECT count(DISTINCT person) FROM link_members m"
                               "  WHERE m.run_id = r.id)"
                               " FROM link_runs r ORDER BY r.id DESC LIMIT 200",
                               err);
    if (rc != RP_OK)
        return rc;
    json_t *a = json_array();
    int step = SQLITE_DONE;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "id",
                                           (json_int_t)sqlite3_column_int64(stmt, 0), "created_at",
                                           (const char *)sqlite3_column_text(stmt, 1), "method",
                                           (const char *)sqlite3_column_text(stmt, 2), "records",
                                           (json_int_t)sqlite3_column_int64(stmt, 3), "pairs",
                                           (json_int_t)sqlite3_column_int64(stmt, 4), "to_review",
                                           (json_int_t)sqlite3_column_int64(stmt, 5), "reviewed",
                                           (json_int_t)sqlite3_column_int64(stmt, 6), "persons",
                                           (json_int_t)sqlite3_column_int64(stmt, 7)));
    }
    if (step != SQLITE_DONE)
        rc = rp_store__sql_error(err, ctx->st->db, "cannot list linkage runs");
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    *out = json_pack("{s:o}", "runs", a);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* The non-identifying attributes of stored record @p row shown to a reviewer. */
static json_t *record_json(rp_store *st, long long row)
{
    static const rp_field shown[] = {RP_FIELD_REGISTRATION_YEAR, RP_FIELD_SEX, RP_FIELD_AGE_BAND,
                                     RP_FIELD_CITIZENSHIP, RP_FIELD_EXPLOITATION};
    static const char *const names[] = {"registration_year", "sex", "age_band", "citizenship",
                                        "exploitation"};
    sqlite3_stmt *stmt = NULL;
    json_t *o = json_object();
    if (rp_store__prepare(&stmt, st, "SELECT " RP_STORE_CASE_COLUMNS " FROM cases WHERE id = ?1",
                          NULL) != RP_OK)
        return o;
    if (sqlite3_bind_int64(stmt, 1, row) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
        rp_case_record rec;
        memset(&rec, 0, sizeof(rec));
        rp_store__row_record(&rec, stmt, 0);
        put(o, "list", json_string(rec.list));
        put(o, "case_id", json_string(rec.case_id));
        rp_x_buf b = RP_X_BUF_INIT;
        for (size_t i = 0; i < RP_ARRAY_LEN(shown); i++) {
            rp_x_buf_reset(&b);
            rp_store__field_text(&b, &rec, shown[i]);
            put(o, names[i], json_string(rp_x_buf_cstr(&b)));
        }
        rp_x_buf_release(&b);
    }
    sqlite3_finalize(stmt);
    return o;
}

static int run_header(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, ctx->st,
                               "SELECT id, created_at, method, params, report, n_records, n_pairs"
                               " FROM link_runs WHERE id = ?1",
                               err);
    if (rc != RP_OK)
        return rc;
    int step = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK ? sqlite3_step(stmt) : SQLITE_ERROR;
    if (step == SQLITE_ROW) {
        *out = json_pack("{s:I,s:s,s:s,s:o,s:o,s:I,s:I}", "id", (json_int_t)id, "created_at",
                         (const char *)sqlite3_column_text(stmt, 1), "method",
                         (const char *)sqlite3_column_text(stmt, 2), "params",
                         text_or_parsed(sqlite3_column_text(stmt, 3)), "report",
                         text_or_parsed(sqlite3_column_text(stmt, 4)), "records",
                         (json_int_t)sqlite3_column_int64(stmt, 5), "pairs",
                         (json_int_t)sqlite3_column_int64(stmt, 6));
    } else if (step == SQLITE_DONE) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no linkage run %lld", id);
    } else {
        rc = rp_store__sql_error(err, ctx->st->db, "cannot read the linkage run");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_serve__model_link_run(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err)
{
    *out = NULL;
    json_t *run = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = run_header(&run, ctx, id, err);
    if (rc == RP_OK)
        rc = rp_store__prepare(&stmt, ctx->st,
                               "SELECT case_a, case_b, score, decision FROM link_pairs"
                               " WHERE run_id = ?1 AND decision IN (1, 3, 4)"
                               " ORDER BY decision = 1 DESC, score DESC LIMIT 500",
                               err);
    if (rc != RP_OK) {
        json_decref(run);
        return rc;
    }
    json_t *pairs = json_array();
    int step = sqlite3_bind_int64(stmt, 1, id) == SQLITE_OK ? SQLITE_ROW : SQLITE_ERROR;
    while (step == SQLITE_ROW && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        long long a = sqlite3_column_int64(stmt, 0);
        long long b = sqlite3_column_int64(stmt, 1);
        json_array_append_new(
            pairs, json_pack("{s:I,s:I,s:f,s:s,s:o,s:o}", "a", (json_int_t)a, "b", (json_int_t)b,
                             "score", sqlite3_column_double(stmt, 2), "decision",
                             decision_name(sqlite3_column_int(stmt, 3)), "record_a",
                             record_json(ctx->st, a), "record_b", record_json(ctx->st, b)));
    }
    if (step != SQLITE_DONE)
        rc = rp_store__sql_error(err, ctx->st->db, "cannot read the review pairs");
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        json_decref(run);
        json_decref(pairs);
        return rc;
    }
    *out = json_pack("{s:o,s:o}", "run", run, "review", pairs);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

int rp_serve__link_review(
    rp_serve__ctx *ctx, long long run, long long a, long long b, bool accept, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, ctx->st,
                               "UPDATE link_pairs SET decision = ?4 WHERE run_id = ?1"
                               " AND case_a = ?2 AND case_b = ?3 AND decision IN (1, 3, 4)",
                               err);
    if (rc != RP_OK)
        return rc;
    int ok = sqlite3_bind_int64(stmt, 1, run);
    ok |= sqlite3_bind_int64(stmt, 2, a);
    ok |= sqlite3_bind_int64(stmt, 3, b);
    ok |= sqlite3_bind_int(stmt, 4, accept ? RP_LINK_ACCEPTED : RP_LINK_REJECTED);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
        rc = rp_store__sql_error(err, ctx->st->db, "cannot record the review decision");
    else if (sqlite3_changes(ctx->st->db) == 0)
        rc = rp_error_set(err, RP_ENOTFOUND, "run %lld has no pair (%lld, %lld) in its review band",
                          run, a, b);
    sqlite3_finalize(stmt);
    if (rc != RP_OK)
        return rc;
    char object[96];
    char detail[128];
    snprintf(object, sizeof(object), "link run %lld pair %lld-%lld", run, a, b);
    snprintf(detail, sizeof(detail), "{\"decision\": \"%s\"}", accept ? "accepted" : "rejected");
    rc = rp_serve__audit(ctx->st, ctx->sess.user, "link.review", object, detail, err);
    rp_serve__changed(ctx->srv);
    return rc;
}

/* ==== accounts and audit ==== */

static int user_cb(const rp_serve_user *u, void *payload)
{
    json_array_append_new(payload, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", u->name, "role",
                                             rp_role_name(u->role), "agency", u->agency,
                                             "created_at", u->created_at, "disabled", u->disabled));
    return 0;
}

int rp_serve__model_users(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    json_t *a = json_array();
    int rc = rp_serve_user_list(ctx->st, user_cb, a, err);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    json_t *roles = json_array();
    for (unsigned r = RP_ROLE_SUBMITTER; r < RP_ROLE_COUNT; r++)
        json_array_append_new(roles, json_string(rp_role_name((rp_role)r)));
    *out = json_pack("{s:o,s:o}", "users", a, "roles", roles);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* Most audit entries one answer carries (?limit=, default and most). */
#define AUDIT_LIMIT 500

/*
 * The audit trail, newest first, filtered by the query: action=NAME (exact, or every
 * action that starts with NAME when it ends in '.', as "login."), user=NAME,
 * kind=changes (leave log-ins and log-outs out), before=ID (paging: entries older than
 * ID) and limit=N (1..500). next_before is the id to ask before= for the next page, or
 * null at the end. Filters keep a flood of log-in entries from pushing changes out of
 * view.
 */
int rp_serve__model_audit(json_t **out, rp_serve__ctx *ctx, rp_error *err)
{
    *out = NULL;
    const rp_serve__params *q = &ctx->req->query;
    const char *action = rp_serve__param_get(q, "action");
    const char *user = rp_serve__param_get(q, "user");
    const char *kind = rp_serve__param_get(q, "kind");
    const char *before_s = rp_serve__param_get(q, "before");
    const char *limit_s = rp_serve__param_get(q, "limit");
    long before = 0;
    long limit = AUDIT_LIMIT;
    if ((before_s != NULL && rp_x_parse_long(before_s, 1, LONG_MAX, &before) != 0) ||
        (limit_s != NULL && rp_x_parse_long(limit_s, 1, AUDIT_LIMIT, &limit) != 0) ||
        (kind != NULL && kind[0] != '\0' && strcmp(kind, "changes") != 0 &&
         strcmp(kind, "all") != 0))
        return rp_error_set(err, RP_EINVAL,
                            "audit filters: before=ID, limit=1..%d, kind=changes or all",
                            AUDIT_LIMIT);
    if (action != NULL && action[0] == '\0')
        action = NULL;
    if (user != NULL && user[0] == '\0')
        user = NULL;
    bool changes = kind != NULL && strcmp(kind, "changes") == 0;
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(
        &stmt, ctx->st,
        "SELECT id, at, user, action, object, detail FROM serve_audit"
        " WHERE (?1 IS NULL OR action = ?1 OR (substr(?1, -1) = '.'"
        "   AND substr(action, 1, length(?1)) = ?1))"
        " AND (?2 IS NULL OR user = ?2)"
        " AND (?3 = 0 OR (substr(action, 1, 6) <> 'login.' AND action NOT IN ('login', 'logout')))"
        " AND (?4 = 0 OR id < ?4)"
        " ORDER BY id DESC LIMIT ?5",
        err);
    if (rc != RP_OK)
        return rc;
    int ok = action != NULL ? sqlite3_bind_text(stmt, 1, action, -1, SQLITE_STATIC)
                            : sqlite3_bind_null(stmt, 1);
    ok |= user != NULL ? sqlite3_bind_text(stmt, 2, user, -1, SQLITE_STATIC)
                       : sqlite3_bind_null(stmt, 2);
    ok |= sqlite3_bind_int(stmt, 3, changes ? 1 : 0);
    ok |= sqlite3_bind_int64(stmt, 4, before);
    ok |= sqlite3_bind_int64(stmt, 5, limit);
    json_t *a = json_array();
    long long last = 0;
    int step = ok == SQLITE_OK ? SQLITE_ROW : SQLITE_ERROR;
    while (step == SQLITE_ROW && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        last = sqlite3_column_int64(stmt, 0);
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)last,
                                           "at", (const char *)sqlite3_column_text(stmt, 1), "user",
                                           (const char *)sqlite3_column_text(stmt, 2), "action",
                                           (const char *)sqlite3_column_text(stmt, 3), "object",
                                           (const char *)sqlite3_column_text(stmt, 4), "detail",
                                           text_or_parsed(sqlite3_column_text(stmt, 5))));
    }
    if (step != SQLITE_DONE)
        rc = rp_store__sql_error(err, ctx->st->db, "cannot read the audit trail");
    sqlite3_finalize(stmt);
    if (rc != RP_OK) {
        json_decref(a);
        return rc;
    }
    bool more = json_array_size(a) == (size_t)limit && last > 1;
    *out = json_pack("{s:o,s:o,s:{s:s?,s:s?,s:s,s:I}}", "audit", a, "next_before",
                     more ? json_integer(last) : json_null(), "filter", "action", action, "user",
                     user, "kind", changes ? "changes" : "all", "limit", (json_int_t)limit);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}
