/*
 * Encoded records in the store (issue 6): rp_store_import_submission() reads one
 * submission of the encoding step (plain, or sealed and opened with the hub's key) into
 * one import transaction, through the same writer as a CSV import, and keeps each stored
 * record's CLK, field filters and keyed blocking keys; rp_store_encoded_load() gives
 * them back in one numbering for the linkage; rp_store_case_row() finds a stored record.
 */
#include "encode/encode_int.h"
#include "store/store_int.h"

#include <rapporteur/encode.h>

#include <sys/stat.h>

/* Records between two progress reports. */
#define PROGRESS_EVERY 10000

/* Bytes of one blocking key in the blocks blob: the key little-endian, then its rule. */
#define BLOCK_BYTES 9

/*
 * Bytes of a record line besides its filters and keys (id, attributes, JSON syntax),
 * and of one blocking key ("rule:0123456789abcdef" quoted): only for the estimate of
 * the number of records that the progress report divides by.
 */
#define LINE_OVERHEAD_BYTES 320
#define BLOCK_TEXT_BYTES    26

/* ==== byte order ==== */

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ==== the schema rule ==== */

/* The first parameter in which two schemas differ, for the refusal message. */
typedef struct schema_diff {
    char name[64];
    char store[40];
    char file[40];
} schema_diff;

static bool diff_u(schema_diff *d, const char *name, unsigned a, unsigned b)
{
    if (a == b) {
        return false;
    }
    rp_x_strlcpy(d->name, name, sizeof(d->name));
    snprintf(d->store, sizeof(d->store), "%u", a);
    snprintf(d->file, sizeof(d->file), "%u", b);
    return true;
}

static bool diff_d(schema_diff *d, const char *name, double a, double b)
{
    if (a == b) {
        return false;
    }
    rp_x_strlcpy(d->name, name, sizeof(d->name));
    snprintf(d->store, sizeof(d->store), "%.17g", a);
    snprintf(d->file, sizeof(d->file), "%.17g", b);
    return true;
}

/* One field of the schema, named by its JSON path. */
static bool
diff_field(schema_diff *d, unsigned f, const rp_enc_field_spec *a, const rp_enc_field_spec *b)
{
    const char *fname = rp_encode__field_name((rp_enc_field)f);
    char name[64];
    snprintf(name, sizeof(name), "fields.%s.used", fname);
    if (diff_u(d, name, a->used, b->used)) {
        return true;
    }
    snprintf(name, sizeof(name), "fields.%s.q", fname);
    if (diff_u(d, name, a->q, b->q)) {
        return true;
    }
    snprintf(name, sizeof(name), "fields.%s.k", fname);
    if (diff_u(d, name, a->k, b->k)) {
        return true;
    }
    snprintf(name, sizeof(name), "fields.%s.weight", fname);
    return diff_d(d, name, a->weight, b->weight);
}

/*
 * Fill @p d with the first parameter where @p a (the store's) and @p b (the file's)
 * differ, key id and filter bits first since they are the usual cause. False when they
 * are equal in every parameter.
 */
static bool schema_differs(schema_diff *d, const rp_enc_schema *a, const rp_enc_schema *b)
{
    if (strcmp(a->key_id, b->key_id) != 0) {
        rp_x_strlcpy(d->name, "key_id", sizeof(d->name));
        snprintf(d->store, sizeof(d->store), "%s", a->key_id);
        snprintf(d->file, sizeof(d->file), "%s", b->key_id);
        return true;
    }
    if (diff_u(d, "bits", rp_enc_schema_bits(a), rp_enc_schema_bits(b)) ||
        diff_u(d, "version", a->version, b->version) ||
        diff_u(d, "normalise_version", a->normalise_version, b->normalise_version) ||
        diff_u(d, "l", a->l, b->l)) {
        return true;
    }
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        if (diff_field(d, f, &a->fields[f], &b->fields[f])) {
            return true;
        }
    }
    return diff_u(d, "field_filters", a->field_filters, b->field_filters) ||
           diff_u(d, "shared_name_key", a->shared_name_key, b->shared_name_key) ||
           diff_u(d, "balance", a->balance, b->balance) ||
           diff_u(d, "xor_folds", a->xor_folds, b->xor_folds) ||
           diff_u(d, "salt_birth_year", a->salt_birth_year, b->salt_birth_year) ||
           diff_d(d, "blip_epsilon", a->blip_epsilon, b->blip_epsilon) ||
           diff_u(d, "lsh_bands", a->lsh_bands, b->lsh_bands) ||
           diff_u(d, "lsh_rows", a->lsh_rows, b->lsh_rows) ||
           diff_u(d, "name_rules", a->name_rules, b->name_rules) ||
           diff_u(d, "k_secondary", a->k_secondary, b->k_secondary) ||
           diff_u(d, "pseudonym", a->pseudonym, b->pseudonym);
}

/*
 * The refusal of a submission whose schema @p json differs from the store's @p stored
 * (both canonical JSON, rp_enc_schema_to_json). Every parameter counts, weights
 * included: two schemas either produce comparable filters by construction or not, and
 * one stored schema is what `rapporteur link` and the reports describe.
 */
static int
refuse_schema(const char *path, const char *stored, const rp_enc_schema *file_schema, rp_error *err)
{
    rp_enc_schema store_schema;
    schema_diff d;
    memset(&d, 0, sizeof(d));
    if (rp_enc_schema_parse(&store_schema, stored, strlen(stored), NULL) != RP_OK) {
        return rp_error_set_at(err, RP_EDATA, path, 0, 0,
                               "the store's encoding schema cannot be read; the submission "
                               "cannot be compared with it");
    }
    if (!schema_differs(&d, &store_schema, file_schema)) {
        rp_x_strlcpy(d.name, "schema", sizeof(d.name));
    }
    return rp_error_set_at(err, RP_EDATA, path, 0, 0,
                           "encoding schema differs from the store's in '%s' (store %s, "
                           "file %s): filters made with another key or schema cannot be "
                           "compared, so the submission is refused",
                           d.name, d.store, d.file);
}

/* ==== import ==== */

/* One submission import in progress. */
typedef struct sub_import {
    rp_store *st;
    const char *path;
    const rp_import_opts *opts;
    rp_sub_reader *reader;
    rp_store__writer *w;
    sqlite3_stmt *ins_enc;
    size_t words;             /* of the CLK */
    bool field_filters;       /* the schema has them */
    unsigned char *clk_bytes; /* 8 * words */
    unsigned char *ff_bytes;  /* 8 * words * RP_ENC_FIELD_COUNT, or NULL */
    unsigned char blocks[RP_ENC_MAX_BLOCKING_KEYS * BLOCK_BYTES];
    rp_issue_list issues;
    size_t est_records; /* from the file size, for progress */
} sub_import;

/* The stored schema of the first other encoded submission, or NULL (rp_free). */
static int stored_schema(char **out, sub_import *im, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *out = NULL;
    int rc = rp_store__prepare(&stmt, im->st,
                               "SELECT encoding_schema FROM submissions WHERE encoding_schema IS"
                               " NOT NULL AND id <> ?1 ORDER BY id LIMIT 1",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = SQLITE_ERROR;
    if (sqlite3_bind_int64(stmt, 1, rp_store__writer_submission(im->w)) == SQLITE_OK) {
        s = sqlite3_step(stmt);
    }
    if (s == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        *out = rp_strdup(text != NULL ? text : "");
        if (*out == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    } else if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, im->st->db, "cannot read the stored encoding schema");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*
 * Within the transaction: refuse a schema that differs from the store's, then record
 * the schema and its key id with the submission.
 */
static int record_schema(sub_import *im, rp_error *err)
{
    const rp_enc_schema *schema = rp_sub_reader_schema(im->reader);
    char *json = NULL;
    char *stored = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = RP_OK;

    if (strlen(schema->key_id) != 16) {
        return rp_error_set_at(err, RP_EDATA, im->path, 1, 0,
                               "the submission's schema has no key id: it cannot be linked");
    }
    json = rp_enc_schema_to_json(schema);
    if (json == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rc = stored_schema(&stored, im, err);
    if (rc != RP_OK) {
        goto out;
    }
    if (stored != NULL && strcmp(stored, json) != 0) {
        rc = refuse_schema(im->path, stored, schema, err);
        goto out;
    }
    rc = rp_store__prepare(&stmt, im->st,
                           "UPDATE submissions SET encoding_schema = ?1, key_id = ?2 WHERE id = ?3",
                           err);
    if (rc != RP_OK) {
        goto out;
    }
    if (sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(stmt, 2, schema->key_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 3, rp_store__writer_submission(im->w)) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, im->st->db, "cannot record the encoding schema");
    }
out:
    sqlite3_finalize(stmt);
    rp_free(stored);
    rp_free(json);
    return rc;
}

/* The buffers and the statement of an import once the reader has its schema. */
static int import_prepare(sub_import *im, rp_error *err)
{
    const rp_enc_schema *schema = rp_sub_reader_schema(im->reader);
    im->words = rp_enc_schema_bits(schema) / 64;
    im->field_filters = schema->field_filters;
    im->clk_bytes = rp_calloc(im->words, 8);
    if (im->field_filters) {
        im->ff_bytes = rp_calloc(im->words * RP_ENC_FIELD_COUNT, 8);
    }
    if (im->clk_bytes == NULL || (im->field_filters && im->ff_bytes == NULL)) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    /* Records in the file, roughly: for the progress report only. */
    struct stat sb;
    size_t per_record = LINE_OVERHEAD_BYTES + 4 * ((8 * im->words + 2) / 3) +
                        (size_t)(schema->lsh_bands + 3) * BLOCK_TEXT_BYTES;
    if (im->field_filters) {
        per_record += (size_t)RP_ENC_FIELD_COUNT * 4 * ((8 * im->words + 2) / 3);
    }
    im->est_records = stat(im->path, &sb) == 0 ? (size_t)sb.st_size / per_record : 0;
    return rp_store__prepare(&im->ins_enc, im->st,
                             "INSERT INTO encodings (case_row, clk, fields, blocks)"
                             " VALUES (?1, ?2, ?3, ?4)",
                             err);
}

/* Store the encodings of the record just stored as cases row @p row. */
static int store_encoding(sub_import *im, const rp_sub_record *rec, long long row, rp_error *err)
{
    sqlite3_stmt *s = im->ins_enc;
    const rp_enc_blocking *b = &rec->blocking;
    rp_encode__words_to_bytes(rec->clk, im->words, im->clk_bytes);
    size_t ff_len = 0;
    if (im->field_filters && rec->field_filters != NULL) {
        ff_len = 8 * im->words * RP_ENC_FIELD_COUNT;
        rp_encode__words_to_bytes(rec->field_filters, im->words * RP_ENC_FIELD_COUNT, im->ff_bytes);
    }
    size_t n_keys = b->n <= RP_ENC_MAX_BLOCKING_KEYS ? b->n : RP_ENC_MAX_BLOCKING_KEYS;
    for (size_t i = 0; i < n_keys; i++) {
        put_le64(im->blocks + BLOCK_BYTES * i, b->keys[i]);
        im->blocks[BLOCK_BYTES * i + 8] = b->rule[i];
    }
    int ok = sqlite3_bind_int64(s, 1, row);
    ok |= sqlite3_bind_blob(s, 2, im->clk_bytes, (int)(8 * im->words), SQLITE_STATIC);
    if (ff_len > 0) {
        ok |= sqlite3_bind_blob(s, 3, im->ff_bytes, (int)ff_len, SQLITE_STATIC);
    } else {
        ok |= sqlite3_bind_null(s, 3);
    }
    if (n_keys > 0) {
        ok |= sqlite3_bind_blob(s, 4, im->blocks, (int)(BLOCK_BYTES * n_keys), SQLITE_STATIC);
    } else {
        /* A zero-length blob, not NULL, for a record without keys (blocks is NOT NULL). */
        ok |= sqlite3_bind_zeroblob(s, 4, 0);
    }
    int rc = RP_OK;
    if (ok != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        rc = rp_store__sql_error(err, im->st->db, "cannot store a record's encodings");
    }
    sqlite3_reset(s);
    return rc;
}

/*
 * One record read from line @p line: validated against the standard as any import
 * (the encoding step checked it, so this rarely sets one aside), stored or quarantined
 * by the writer, and its encodings kept when stored.
 */
static int import_record(sub_import *im, const rp_sub_record *rec, long line, rp_error *err)
{
    rp_issue_list_clear(&im->issues);
    int v = rp_case_record_validate(&rec->attrs, line, &im->issues, NULL);
    if (v == RP_ENOMEM) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (v != RP_OK && im->issues.n > 0) {
        return rp_store__writer_quarantine(im->w, line, im->issues.v, im->issues.n, err);
    }
    if (v != RP_OK) {
        return rp_error_set_at(err, RP_EINTERNAL, im->path, line, 0,
                               "the standard rejected a record without saying why");
    }
    bool stored = false;
    int rc = rp_store__writer_add(im->w, &rec->attrs, line, &stored, err);
    if (rc != RP_OK || !stored) {
        return rc;
    }
    return store_encoding(im, rec, sqlite3_last_insert_rowid(im->st->db), err);
}

/* Report progress every PROGRESS_EVERY records; RP_ECANCELED when the caller says stop. */
static int report_progress(const sub_import *im, size_t n, rp_error *err)
{
    const rp_import_opts *opts = im->opts;
    if (opts->progress == NULL || n % PROGRESS_EVERY != 0) {
        return RP_OK;
    }
    size_t total = im->est_records > n ? im->est_records : n;
    if (opts->progress(n, total, opts->payload) != 0) {
        return rp_error_set(err, RP_ECANCELED, "import of '%s' cancelled",
                            rp_store__base_name(im->path));
    }
    return RP_OK;
}

/* Every record of the submission; the file counts only once the reader returns 0. */
static int import_records(sub_import *im, size_t *n_records, rp_error *err)
{
    int rc = RP_OK;
    *n_records = 0;
    for (;;) {
        rp_sub_record rec;
        int got = rp_sub_reader_next(im->reader, &rec, err);
        if (got <= 0) {
            rc = got; /* 0 at the verified end, or the reader's error */
            break;
        }
        (*n_records)++;
        /* Line 1 is the header; record i (from 1) is on line i + 1. */
        long line = (long)*n_records + 1;
        rc = import_record(im, &rec, line, err);
        if (rc == RP_OK) {
            rc = report_progress(im, *n_records, err);
        }
        if (rc != RP_OK) {
            break;
        }
    }
    return rc;
}

/* Check the arguments of rp_store_import_submission(). */
static int
check_sub_args(rp_store *st, const char *path, const rp_import_opts **opts, rp_error *err)
{
    if (st == NULL || path == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or submission file given");
    }
    return rp_store__check_import_opts(st, opts, err);
}

/* Open the submission and check its list against opts->list. */
static int open_reader(sub_import *im, const char *hub_key_path, rp_error *err)
{
    int rc = rp_sub_reader_open(&im->reader, im->path, hub_key_path, err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *list = rp_sub_reader_list(im->reader);
    if (im->opts->list != NULL && strcmp(im->opts->list, list) != 0) {
        return rp_error_set_at(err, RP_EDATA, im->path, 1, 0,
                               "the submission is for list '%s', not '%s'", list, im->opts->list);
    }
    return RP_OK;
}

/*
 * Begin the transaction with the submission row, then record its schema. A file already
 * stored (found inside the transaction) leaves im->w NULL with *duplicate_of set.
 */
static int begin(sub_import *im, const char *sha256, long long *duplicate_of, rp_error *err)
{
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    rp_x_strlcpy(sub.agency, im->opts->agency != NULL ? im->opts->agency : "", sizeof(sub.agency));
    rp_x_strlcpy(sub.list, rp_sub_reader_list(im->reader), sizeof(sub.list));
    rp_x_strlcpy(sub.file_name, rp_store__base_name(im->path), sizeof(sub.file_name));
    rp_x_strlcpy(sub.sha256, sha256, sizeof(sub.sha256));
    int rc = rp_store__writer_begin_unique(&im->w, im->opts->allow_reimport ? NULL : duplicate_of,
                                           im->st, &sub, err);
    if (rc != RP_OK || im->w == NULL) {
        return rc; /* an error, or a duplicate found inside the transaction */
    }
    rc = record_schema(im, err);
    if (rc == RP_OK) {
        rc = import_prepare(im, err);
    }
    return rc;
}

int rp_store_import_submission(rp_import_report *report,
                               rp_store *st,
                               const char *path,
                               const char *hub_key_path,
                               const rp_import_opts *opts,
                               rp_error *err)
{
    sub_import im;
    rp_import_report rep;
    memset(&im, 0, sizeof(im));
    memset(&rep, 0, sizeof(rep));
    if (report != NULL) {
        memset(report, 0, sizeof(*report));
    }
    int rc = check_sub_args(st, path, &opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    im.st = st;
    im.path = path;
    im.opts = opts;

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
    rc = open_reader(&im, hub_key_path, err);
    if (rc == RP_OK) {
        rc = begin(&im, rep.sha256, &rep.duplicate_of, err);
    }
    if (rc == RP_OK && im.w == NULL) {
        rep.duplicate = true;
        goto out;
    }
    size_t n_records = 0;
    if (rc == RP_OK) {
        rc = import_records(&im, &n_records, err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    /* The writer commits with no statement of ours open. */
    sqlite3_finalize(im.ins_enc);
    im.ins_enc = NULL;
    rp_store__writer *done = im.w;
    im.w = NULL;
    rc = rp_store__writer_commit(done, &rep, err);
    if (rc == RP_OK && opts->progress != NULL) {
        opts->progress(n_records, n_records, opts->payload);
    }
out:
    sqlite3_finalize(im.ins_enc);
    rp_store__writer_abort(im.w);
    rp_sub_reader_free(im.reader);
    rp_issue_list_release(&im.issues);
    rp_free(im.clk_bytes);
    rp_free(im.ff_bytes);
    if (rc == RP_OK && report != NULL) {
        *report = rep;
    }
    return rc;
}

/* ==== loading ==== */

void rp_encoded_set_free(rp_encoded_set *set)
{
    if (set == NULL) {
        return;
    }
    rp_free(set->schema_json);
    rp_free(set->clks);
    rp_free(set->case_row);
    rp_free(set->list);
    rp_free(set->lists);
    rp_free(set->key_off);
    rp_free(set->keys);
    rp_free(set->key_rule);
    rp_free(set);
}

/* Is @p list among the @p n_lists requested (all when none are)? */
static bool list_wanted(const char *list, const char *const *lists, size_t n_lists)
{
    if (n_lists == 0) {
        return true;
    }
    for (size_t i = 0; i < n_lists; i++) {
        if (lists[i] != NULL && strcmp(lists[i], list) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * First pass: the lists with encoded records, in code order, with their records and key
 * bytes; keep the wanted ones in set->lists and size the set.
 */
static int load_lists(rp_encoded_set *set,
                      size_t *key_bytes,
                      rp_store *st,
                      const char *const *lists,
                      size_t n_lists,
                      rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT c.list, count(*), total(length(e.blocks)) FROM encodings e"
                               " JOIN cases c ON c.id = e.case_row GROUP BY c.list ORDER BY c.list",
                               err);
    *key_bytes = 0;
    int s = SQLITE_ROW;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *list = (const char *)sqlite3_column_text(stmt, 0);
        if (list == NULL || !list_wanted(list, lists, n_lists)) {
            continue;
        }
        if (set->n_lists >= UINT16_MAX) {
            rc = rp_error_set(err, RP_EDATA, "more than %d lists of encoded records", UINT16_MAX);
            break;
        }
        rc = rp_x_grow(&set->lists, &cap, set->n_lists + 1, sizeof(*set->lists));
        if (rc != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        rp_x_strlcpy(set->lists[set->n_lists++], list, RP_DATA_ID_MAX);
        set->n += (size_t)sqlite3_column_int64(stmt, 1);
        *key_bytes += (size_t)sqlite3_column_double(stmt, 2);
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot count the encoded records");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Every requested list must have encoded records, and so must the set. */
static int
check_lists(const rp_encoded_set *set, const char *const *lists, size_t n_lists, rp_error *err)
{
    for (size_t i = 0; i < n_lists; i++) {
        bool found = false;
        for (size_t j = 0; j < set->n_lists && !found; j++) {
            found = lists[i] != NULL && strcmp(set->lists[j], lists[i]) == 0;
        }
        if (!found) {
            return rp_error_set(err, RP_EDATA, "list '%s' has no encoded records in the store",
                                lists[i] != NULL ? lists[i] : "");
        }
    }
    if (set->n == 0) {
        return rp_error_set(err, RP_EDATA,
                            "the store has no encoded records (import submissions with "
                            "'rapporteur import --submission')");
    }
    return RP_OK;
}

/* The shared schema: its JSON, key id and bits, from the first encoded submission. */
static int load_schema(rp_encoded_set *set, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT encoding_schema FROM submissions WHERE encoding_schema IS"
                               " NOT NULL ORDER BY id LIMIT 1",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *json = NULL;
    if (sqlite3_step(stmt) != SQLITE_ROW ||
        (json = (const char *)sqlite3_column_text(stmt, 0)) == NULL) {
        rc = rp_store__sql_error(err, st->db, "cannot read the encoding schema");
        goto out;
    }
    rp_enc_schema schema;
    if (rp_enc_schema_parse(&schema, json, strlen(json), NULL) != RP_OK) {
        rc = rp_error_set(err, RP_EDATA, "the store's encoding schema cannot be read");
        goto out;
    }
    set->schema_json = rp_strdup(json);
    if (set->schema_json == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    set->bits = rp_enc_schema_bits(&schema);
    set->words = set->bits / 64;
    rp_x_strlcpy(set->key_id, schema.key_id, sizeof(set->key_id));
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* The arrays of a set of set->n records with @p n_keys keys. */
static int alloc_arrays(rp_encoded_set *set, size_t n_keys, rp_error *err)
{
    if (set->words != 0 && set->n > SIZE_MAX / set->words) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    set->clks = rp_calloc(set->n * set->words, sizeof(*set->clks));
    set->case_row = rp_calloc(set->n, sizeof(*set->case_row));
    set->list = rp_calloc(set->n, sizeof(*set->list));
    set->key_off = rp_calloc(set->n + 1, sizeof(*set->key_off));
    /* At least one element, so that no allocation of zero bytes reads as a failure. */
    set->keys = rp_calloc(n_keys > 0 ? n_keys : 1, sizeof(*set->keys));
    set->key_rule = rp_calloc(n_keys > 0 ? n_keys : 1, sizeof(*set->key_rule));
    if (set->clks == NULL || set->case_row == NULL || set->list == NULL || set->key_off == NULL ||
        set->keys == NULL || set->key_rule == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    return RP_OK;
}

/* The index of @p list in set->lists (sorted), or -1. */
static long list_index(const rp_encoded_set *set, const char *list)
{
    size_t lo = 0;
    size_t hi = set->n_lists;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->lists[mid], list);
        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* Record @p i of the set from the current row (id, list, clk, blocks). */
static int load_row(rp_encoded_set *set, size_t i, size_t n_keys, sqlite3_stmt *stmt, rp_error *err)
{
    long long row = sqlite3_column_int64(stmt, 0);
    const unsigned char *clk = sqlite3_column_blob(stmt, 2);
    size_t clk_len = (size_t)sqlite3_column_bytes(stmt, 2);
    const unsigned char *blocks = sqlite3_column_blob(stmt, 3);
    size_t blocks_len = (size_t)sqlite3_column_bytes(stmt, 3);
    if (clk == NULL || clk_len != 8 * set->words || blocks_len % BLOCK_BYTES != 0 ||
        set->key_off[i] + blocks_len / BLOCK_BYTES > n_keys) {
        return rp_error_set(err, RP_EDATA,
                            "the encodings of stored record %lld are damaged (filter or "
                            "key length)",
                            row);
    }
    set->case_row[i] = row;
    rp_encode__bytes_to_words(clk, set->words, set->clks + i * set->words);
    size_t k = set->key_off[i];
    for (size_t j = 0; j < blocks_len / BLOCK_BYTES; j++, k++) {
        set->keys[k] = get_le64(blocks + BLOCK_BYTES * j);
        set->key_rule[k] = blocks[BLOCK_BYTES * j + 8];
    }
    set->key_off[i + 1] = k;
    return RP_OK;
}

/* Second pass: the records of the wanted lists, in cases.id order. */
static int load_rows(rp_encoded_set *set, size_t n_keys, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT c.id, c.list, e.clk, e.blocks FROM encodings e"
                               " JOIN cases c ON c.id = e.case_row ORDER BY c.id",
                               err);
    size_t i = 0;
    long last = -1;
    char last_list[RP_DATA_ID_MAX] = "";
    int s = SQLITE_ROW;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *list = (const char *)sqlite3_column_text(stmt, 1);
        if (list == NULL) {
            continue;
        }
        /* Records of one list mostly come together: look the list up on a change only. */
        if (last < 0 || strcmp(list, last_list) != 0) {
            last = list_index(set, list);
            rp_x_strlcpy(last_list, list, sizeof(last_list));
        }
        if (last < 0) {
            continue;
        }
        if (i == set->n) {
            rc = rp_error_set(err, RP_EINTERNAL, "the encoded records changed while loading");
            break;
        }
        set->list[i] = (uint16_t)last;
        rc = load_row(set, i, n_keys, stmt, err);
        i++;
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the encoded records");
    }
    if (rc == RP_OK && i != set->n) {
        rc = rp_error_set(err, RP_EINTERNAL, "the encoded records changed while loading");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int rp_store_encoded_load(
    rp_encoded_set **out, rp_store *st, const char *const *lists, size_t n_lists, rp_error *err)
{
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    if (st == NULL || (n_lists > 0 && lists == NULL)) {
        return rp_error_set(err, RP_EINVAL, "no store or lists given");
    }
    rp_encoded_set *set = rp_calloc(1, sizeof(*set));
    if (set == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    /* One read transaction: both passes see the same records. */
    int rc = rp_store__exec(st, "BEGIN", "cannot start reading the encoded records", err);
    if (rc != RP_OK) {
        rp_free(set);
        return rc;
    }
    size_t key_bytes = 0;
    rc = load_lists(set, &key_bytes, st, lists, n_lists, err);
    if (rc == RP_OK) {
        rc = check_lists(set, lists, n_lists, err);
    }
    if (rc == RP_OK) {
        rc = load_schema(set, st, err);
    }
    if (rc == RP_OK) {
        rc = alloc_arrays(set, key_bytes / BLOCK_BYTES, err);
    }
    if (rc == RP_OK) {
        rc = load_rows(set, key_bytes / BLOCK_BYTES, st, err);
    }
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != RP_OK) {
        rp_encoded_set_free(set);
        return rc;
    }
    *out = set;
    return RP_OK;
}

/* ==== one record ==== */

int rp_store_case_row(
    long long *row, rp_store *st, const char *list, const char *case_id, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (row == NULL || st == NULL || list == NULL || case_id == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store, list or case id given");
    }
    *row = 0;
    int rc = rp_store__prepare(
        &stmt, st, "SELECT id FROM cases WHERE list = ?1 AND case_id = ?2 AND case_id <> ''", err);
    if (rc != RP_OK) {
        return rc;
    }
    int s = SQLITE_ERROR;
    if (sqlite3_bind_text(stmt, 1, list, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(stmt, 2, case_id, -1, SQLITE_STATIC) == SQLITE_OK) {
        s = sqlite3_step(stmt);
    }
    if (s == SQLITE_ROW) {
        *row = sqlite3_column_int64(stmt, 0);
    } else if (s == SQLITE_DONE) {
        /* The case id may be a personal reference: name the list only. */
        rc = rp_error_set(err, RP_ENOTFOUND, "no such case id on list '%s'", list);
    } else {
        rc = rp_store__sql_error(err, st->db, "cannot look up a case id");
    }
    sqlite3_finalize(stmt);
    return rc;
}
