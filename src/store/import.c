/*
 * rp_store_import(): one input file into the store as one transaction. The file's
 * SHA-256 detects a re-import; the reader gives rows, the mapping turns each into a
 * record or a list of issues, and the writer stores or quarantines it. Any failure
 * rolls everything back, so the store holds the whole file or nothing of it.
 */
#include "store/store_int.h"

#include <errno.h>
#include <sodium.h>

/* Rows between two progress reports. */
#define PROGRESS_EVERY 10000

/* Bytes read at a time while hashing. */
#define HASH_CHUNK 65536

int rp_store__hash_file(char hex[65], const char *path, rp_error *err)
{
    crypto_hash_sha256_state state;
    unsigned char digest[crypto_hash_sha256_BYTES];
    unsigned char *chunk = NULL;
    FILE *f = NULL;
    int rc = RP_OK;

    if (sodium_init() < 0) {
        return rp_error_set(err, RP_EINTERNAL, "cannot initialise libsodium");
    }
    chunk = rp_malloc(HASH_CHUNK);
    if (chunk == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot open '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    crypto_hash_sha256_init(&state);
    size_t n = 0;
    while ((n = fread(chunk, 1, HASH_CHUNK, f)) > 0) {
        crypto_hash_sha256_update(&state, chunk, n);
    }
    if (ferror(f)) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot read '%s': %s", path, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    crypto_hash_sha256_final(&state, digest);
    sodium_bin2hex(hex, 65, digest, sizeof(digest));
out:
    if (f != NULL) {
        fclose(f);
    }
    rp_free(chunk);
    return rc;
}

int rp_store__find_sha256(long long *id, rp_store *st, const char *hex, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *id = 0;
    int rc = rp_store__prepare(
        &stmt, st, "SELECT id FROM submissions WHERE sha256 = ?1 ORDER BY id LIMIT 1", err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = SQLITE_DONE;
    if (sqlite3_bind_text(stmt, 1, hex, -1, SQLITE_STATIC) != SQLITE_OK) {
        s = SQLITE_ERROR;
    } else {
        s = sqlite3_step(stmt);
    }
    if (s == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot look up earlier submissions");
    }
    sqlite3_finalize(stmt);
    return rc;
}

const char *rp_store__base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/*
 * With a list override the row's own list does not matter: drop the issue saying it is
 * absent (rule "required", which the standard uses for the list only). @return the
 * number of issues left.
 */
static size_t drop_list_required(rp_issue_list *issues)
{
    size_t kept = 0;
    for (size_t i = 0; i < issues->n; i++) {
        if (strcmp(issues->v[i].rule, "required") != 0) {
            issues->v[kept++] = issues->v[i];
        }
    }
    issues->n = kept;
    return kept;
}

int rp_store__check_import_opts(rp_store *st, const rp_import_opts **opts_io, rp_error *err)
{
    static const rp_import_opts defaults = RP_IMPORT_OPTS_INIT;
    if (*opts_io == NULL) {
        *opts_io = &defaults;
    }
    const rp_import_opts *opts = *opts_io;
    if (opts->version != RP_IMPORT_OPTS_VERSION) {
        return rp_error_set(err, RP_EINVAL, "unsupported import options version %u", opts->version);
    }
    if (opts->list != NULL && (opts->list[0] == '\0' || strlen(opts->list) >= RP_DATA_ID_MAX)) {
        return rp_error_set(err, RP_EINVAL, "list code must have 1 to %d bytes",
                            RP_DATA_ID_MAX - 1);
    }
    if (opts->agency != NULL && strlen(opts->agency) >= RP_DATA_ID_MAX) {
        return rp_error_set(err, RP_EINVAL, "agency name must be shorter than %d bytes",
                            RP_DATA_ID_MAX);
    }
    if (st->readonly) {
        return rp_error_set(err, RP_EPERM, "store '%s' is open read-only", st->path);
    }
    return RP_OK;
}

/* Check the arguments of rp_store_import(); *opts_io becomes the defaults if NULL. */
static int check_args(rp_store *st,
                      const char *path,
                      rp_mapping *mapping,
                      const rp_import_opts **opts_io,
                      rp_error *err)
{
    if (st == NULL || path == NULL || mapping == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store, file or mapping given");
    }
    return rp_store__check_import_opts(st, opts_io, err);
}

/*
 * One input row: mapped and validated, then stored or quarantined with every issue.
 * The mapping also checks the number of fields (rule "ragged"). Row issues are no
 * error of the import, so the mapping's summary message stays local.
 */
static int import_row(rp_store__writer *w,
                      rp_issue_list *issues,
                      rp_mapping *mapping,
                      const rp_import_opts *opts,
                      const char *const *fields,
                      size_t n_fields,
                      long line,
                      const char *path,
                      rp_error *err)
{
    rp_case_record rec;
    rp_error row_err = RP_ERROR_INIT;
    rp_issue_list_clear(issues);
    int m = rp_mapping_apply(&rec, issues, mapping, fields, n_fields, line, &row_err);
    if (m == RP_EDATA && opts->list != NULL && drop_list_required(issues) == 0) {
        m = RP_OK;
    }
    if (m == RP_OK) {
        if (opts->list != NULL) {
            rp_x_strlcpy(rec.list, opts->list, sizeof(rec.list));
        }
        return rp_store__writer_add(w, &rec, line, NULL, err);
    }
    if (m == RP_EDATA && issues->n > 0) {
        return rp_store__writer_quarantine(w, line, issues->v, issues->n, err);
    }
    if (m == RP_EDATA) {
        return rp_error_set_at(err, RP_EINTERNAL, path, line, 0,
                               "the mapping rejected a row without saying why");
    }
    if (err != NULL) {
        *err = row_err;
    }
    return m;
}

/* Report progress every PROGRESS_EVERY rows; RP_ECANCELED when the caller says stop. */
static int report_progress(const rp_import_opts *opts,
                           const rp_reader *reader,
                           size_t n_rows,
                           const char *path,
                           rp_error *err)
{
    if (opts->progress == NULL || n_rows % PROGRESS_EVERY != 0) {
        return RP_OK;
    }
    double done = rp_reader_progress(reader);
    size_t total = done > 0.0 ? (size_t)((double)n_rows / done) : n_rows;
    if (total < n_rows) {
        total = n_rows;
    }
    if (opts->progress(n_rows, total, opts->payload) != 0) {
        return rp_error_set(err, RP_ECANCELED, "import of '%s' cancelled",
                            rp_store__base_name(path));
    }
    return RP_OK;
}

/* Every row of @p reader through import_row(); *n_rows counts them. */
static int import_rows(rp_store__writer *w,
                       rp_reader *reader,
                       rp_mapping *mapping,
                       const rp_import_opts *opts,
                       const char *path,
                       size_t *n_rows,
                       rp_error *err)
{
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    int rc = RP_OK;
    *n_rows = 0;
    while (rc == RP_OK) {
        const char *const *fields = NULL;
        size_t n_fields = 0;
        long line = 0;
        int got = rp_reader_next(reader, &fields, &n_fields, &line, err);
        if (got <= 0) {
            rc = got; /* 0 at the end, or the reader's error */
            break;
        }
        (*n_rows)++;
        rc = import_row(w, &issues, mapping, opts, fields, n_fields, line, path, err);
        if (rc == RP_OK) {
            rc = report_progress(opts, reader, *n_rows, path, err);
        }
    }
    rp_issue_list_release(&issues);
    return rc;
}

/* The submission row of an import of @p path. */
static void fill_submission(rp_submission *sub,
                            const char *path,
                            const char *sha256,
                            rp_mapping *mapping,
                            const rp_import_opts *opts)
{
    memset(sub, 0, sizeof(*sub));
    rp_x_strlcpy(sub->agency, opts->agency != NULL ? opts->agency : "", sizeof(sub->agency));
    rp_x_strlcpy(sub->list, opts->list != NULL ? opts->list : "", sizeof(sub->list));
    rp_x_strlcpy(sub->file_name, rp_store__base_name(path), sizeof(sub->file_name));
    rp_x_strlcpy(sub->sha256, sha256, sizeof(sub->sha256));
    const char *mname = rp_mapping_name(mapping);
    rp_x_strlcpy(sub->mapping, mname != NULL ? mname : "", sizeof(sub->mapping));
}

int rp_store_import(rp_import_report *report,
                    rp_store *st,
                    const char *path,
                    rp_mapping *mapping,
                    const rp_import_opts *opts,
                    rp_error *err)
{
    rp_reader *reader = NULL;
    rp_store__writer *w = NULL;
    rp_import_report rep;

    memset(&rep, 0, sizeof(rep));
    if (report != NULL) {
        memset(report, 0, sizeof(*report));
    }
    int rc = check_args(st, path, mapping, &opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    rc = rp_store__hash_file(rep.sha256, path, err);
    if (rc == RP_OK) {
        rc = rp_store__find_sha256(&rep.duplicate_of, st, rep.sha256, err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    if (rep.duplicate_of != 0 && !opts->allow_reimport) {
        rep.duplicate = true;
        goto out;
    }

    rc = rp_reader_open(&reader, path, &opts->reader, err);
    if (rc != RP_OK) {
        goto out;
    }
    const char *const *columns = NULL;
    size_t n_columns = rp_reader_columns(reader, &columns);
    /* Binding resolves the mapping's column names against this file's header. */
    rc = rp_mapping_bind(mapping, columns, n_columns, err);
    if (rc != RP_OK) {
        if (err != NULL && err->path[0] == '\0') {
            rp_x_strlcpy(err->path, path, sizeof(err->path));
        }
        goto out;
    }

    rp_submission sub;
    fill_submission(&sub, path, rep.sha256, mapping, opts);
    /* The check above saves reading a known file; this one, inside the transaction,
     * decides: of two imports of one file at once, the second finds the first. */
    rc = rp_store__writer_begin_unique(&w, opts->allow_reimport ? NULL : &rep.duplicate_of, st,
                                       &sub, err);
    if (rc != RP_OK) {
        goto out;
    }
    if (w == NULL) {
        rep.duplicate = true;
        goto out;
    }
    size_t n_rows = 0;
    rc = import_rows(w, reader, mapping, opts, path, &n_rows, err);
    if (rc != RP_OK) {
        goto out;
    }
    long long sub_id = rp_store__writer_submission(w);
    rp_store__writer *done = w;
    w = NULL;
    rc = rp_store__writer_commit(done, &rep, err);
    if (rc != RP_OK) {
        goto out;
    }
    rep.submission_id = sub_id;
    if (opts->progress != NULL) {
        opts->progress(n_rows, n_rows, opts->payload);
    }
out:
    rp_store__writer_abort(w);
    rp_reader_free(reader);
    if (rc == RP_OK && report != NULL) {
        *report = rep;
    }
    return rc;
}
