/*
 * Unit tests of the store's linkage side (src/store/encoded.c, linkrun.c, migration 2):
 * submissions written by the encoding module imported and loaded back byte for byte,
 * field filters, sealed files, every refusal (damaged file, other key or schema, list,
 * same file) leaving the store as it was, saving a linkage run and the capture table it
 * gives, clerical-review verdicts (the log, the verdict in force against runs' verdicts,
 * refusals), and the upgrade of a version-1 store with its data kept.
 */
#include "rp_test.h"
#include "store/store_int.h"

#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>
#include <rapporteur/store.h>

#include <sodium.h>
#include <sqlite3.h>

/* ==== helpers ==== */

typedef struct fixture {
    char dir[512];
    char db[600];
    char secret[600];
    char other_secret[600];
} fixture;

static int setup(void **state)
{
    rp_init();
    if (sodium_init() < 0) {
        return -1;
    }
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    rp_test_tmpdir(fx->dir, sizeof(fx->dir));
    snprintf(fx->db, sizeof(fx->db), "%s/test.db", fx->dir);
    snprintf(fx->secret, sizeof(fx->secret), "%s/secret.key", fx->dir);
    snprintf(fx->other_secret, sizeof(fx->other_secret), "%s/other.key", fx->dir);
    if (rp_secret_generate(fx->secret, NULL) != RP_OK ||
        rp_secret_generate(fx->other_secret, NULL) != RP_OK) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    rp_test_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* A path in the fixture's directory (static buffer per call site: copy if kept). */
static void path_in(char *out, size_t size, const fixture *fx, const char *name)
{
    int n = snprintf(out, size, "%s/%s", fx->dir, name);
    assert_true(n > 0 && (size_t)n < size);
}

static const char *const given[] = {"olena", "iryna", "mykola", "taras",  "anna", "ivan",
                                    "maria", "petro", "sofia",  "andrii", "olga", "yurii"};
static const char *const family[] = {"shevchenko", "kovalenko",  "bondarenko",
                                     "tkachenko",  "kravchenko", "oliinyk",
                                     "melnyk",     "popescu",    "ionescu"};

/*
 * Write a submission of @p n records of list @p list with @p secret and @p schema: names
 * and dates from a fixed pattern (seeded by @p seed), case ids "<list>-<i>", and case
 * attributes that vary with i.
 */
static void write_sub(const char *path,
                      const char *secret,
                      const char *list,
                      size_t n,
                      unsigned seed,
                      const rp_enc_schema *schema)
{
    rp_error err = RP_ERROR_INIT;
    rp_secret *s = NULL;
    rp_encoder *enc = NULL;
    rp_sub_writer *w = NULL;
    assert_rp_ok(rp_secret_load(&s, secret, &err), &err);
    assert_rp_ok(rp_encoder_new(&enc, schema, s, &err), &err);
    rp_secret_free(s);
    const rp_enc_schema *es = rp_encoder_schema(enc);
    size_t words = rp_enc_schema_bits(es) / 64;
    uint64_t *clk = calloc(words, 8);
    uint64_t *ff = calloc(words * RP_ENC_FIELD_COUNT, 8);
    assert_non_null(clk);
    assert_non_null(ff);
    assert_rp_ok(rp_sub_writer_open(&w, path, list, es, &err), &err);
    for (size_t i = 0; i < n; i++) {
        unsigned k = seed + (unsigned)i;
        rp_enc_identifiers id;
        memset(&id, 0, sizeof(id));
        id.given = given[k % RP_ARRAY_LEN(given)];
        id.family = family[(k / 3) % RP_ARRAY_LEN(family)];
        id.patronymic = "";
        id.birth.year = 1970 + (int)(k % 37);
        id.birth.month = 1 + (int)(k % 12);
        id.birth.day = 1 + (int)(k % 28);
        id.sex = k % 2 == 0 ? RP_SEX_FEMALE : RP_SEX_MALE;
        id.document = "";
        id.address = "";
        rp_enc_blocking b;
        assert_rp_ok(rp_encoder_encode(enc, &id, i, clk, es->field_filters ? ff : NULL, &b, &err),
                     &err);
        char case_id[RP_DATA_ID_MAX];
        snprintf(case_id, sizeof(case_id), "%s-%zu", list, i);
        char pseudonym[33];
        rp_encoder_pseudonym(enc, list, case_id, pseudonym);
        rp_case_record attrs;
        rp_case_record_init(&attrs);
        attrs.registration_year = 2015 + (int)(k % 4);
        attrs.sex = id.sex;
        assert_rp_ok(
            rp_sub_writer_add(w, pseudonym, clk, es->field_filters ? ff : NULL, &b, &attrs, &err),
            &err);
    }
    assert_rp_ok(rp_sub_writer_close(w, &err), &err);
    rp_encoder_free(enc);
    free(clk);
    free(ff);
}

/* What a submission holds, as rp_sub_reader_next gives it. */
typedef struct sub_data {
    size_t n;
    size_t words;
    uint64_t *clks;
    uint64_t *ff; /* NULL without field filters */
    char (*ids)[33];
    rp_enc_blocking *blocks;
    int *year;
    char list[RP_DATA_ID_MAX];
    char *schema_json;
    char key_id[17];
} sub_data;

static void read_sub(sub_data *d, const char *path, const char *hub_key)
{
    rp_error err = RP_ERROR_INIT;
    rp_sub_reader *r = NULL;
    memset(d, 0, sizeof(*d));
    assert_rp_ok(rp_sub_reader_open(&r, path, hub_key, &err), &err);
    const rp_enc_schema *s = rp_sub_reader_schema(r);
    d->words = rp_enc_schema_bits(s) / 64;
    d->schema_json = rp_enc_schema_to_json(s);
    rp_x_strlcpy(d->key_id, s->key_id, sizeof(d->key_id));
    rp_x_strlcpy(d->list, rp_sub_reader_list(r), sizeof(d->list));
    size_t cap = 1024;
    d->clks = calloc(cap * d->words, 8);
    d->ff = s->field_filters ? calloc(cap * d->words * RP_ENC_FIELD_COUNT, 8) : NULL;
    d->ids = calloc(cap, sizeof(*d->ids));
    d->blocks = calloc(cap, sizeof(*d->blocks));
    d->year = calloc(cap, sizeof(*d->year));
    for (;;) {
        rp_sub_record rec;
        int got = rp_sub_reader_next(r, &rec, &err);
        assert_true(got >= 0);
        if (got == 0) {
            break;
        }
        assert_true(d->n < cap);
        memcpy(d->clks + d->n * d->words, rec.clk, 8 * d->words);
        if (d->ff != NULL) {
            memcpy(d->ff + d->n * d->words * RP_ENC_FIELD_COUNT, rec.field_filters,
                   8 * d->words * RP_ENC_FIELD_COUNT);
        }
        rp_x_strlcpy(d->ids[d->n], rec.id, sizeof(d->ids[d->n]));
        d->blocks[d->n] = rec.blocking;
        d->year[d->n] = rec.attrs.registration_year;
        d->n++;
    }
    rp_sub_reader_free(r);
}

static void sub_data_free(sub_data *d)
{
    free(d->clks);
    free(d->ff);
    free(d->ids);
    free(d->blocks);
    free(d->year);
    rp_free(d->schema_json);
}

static rp_enc_schema default_schema(void)
{
    rp_enc_schema s;
    rp_enc_schema_default(&s);
    return s;
}

/* One integer from an SQL query on the store. */
static long long sql_int(rp_store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    long long v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* Rows of every table that an import or a link run writes, as one string. */
static void table_counts(rp_store *st, char *out, size_t size)
{
    snprintf(out, size, "%lld/%lld/%lld/%lld/%lld/%lld/%lld/%lld",
             sql_int(st, "SELECT count(*) FROM submissions"),
             sql_int(st, "SELECT count(*) FROM cases"),
             sql_int(st, "SELECT count(*) FROM quarantine"),
             sql_int(st, "SELECT count(*) FROM encodings"),
             sql_int(st, "SELECT count(*) FROM link_runs"),
             sql_int(st, "SELECT count(*) FROM link_pairs"),
             sql_int(st, "SELECT count(*) FROM link_members"),
             sql_int(st, "SELECT count(*) FROM cases WHERE person_id <> ''"));
}

static rp_store *new_store(const fixture *fx)
{
    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_CREATE, &err), &err);
    return st;
}

static void import_ok(rp_store *st, const char *path, long long n)
{
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;
    assert_rp_ok(rp_store_import_submission(&rep, st, path, NULL, NULL, &err), &err);
    assert_false(rep.duplicate);
    assert_int_equal(rep.read, n);
    assert_int_equal(rep.stored, n);
    assert_int_equal(rep.quarantined, 0);
    assert_true(rep.submission_id > 0);
}

/* ==== import and load ==== */

static void store_import_submission__two_lists_load_back_exactly(void **state)
{
    fixture *fx = *state;
    char police[700];
    char ngo[700];
    path_in(police, sizeof(police), fx, "police.sub");
    path_in(ngo, sizeof(ngo), fx, "ngo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(police, fx->secret, "POLICE", 25, 0, &schema);
    write_sub(ngo, fx->secret, "NGO", 37, 100, &schema);
    sub_data dp;
    sub_data dn;
    read_sub(&dp, police, NULL);
    read_sub(&dn, ngo, NULL);
    assert_int_equal(dp.n, 25);
    assert_int_equal(dn.n, 37);

    rp_store *st = new_store(fx);
    /* POLICE first: its records get the lower cases.id, yet NGO is list 0 (code order). */
    import_ok(st, police, 25);
    import_ok(st, ngo, 37);

    rp_error err = RP_ERROR_INIT;
    rp_encoded_set *set = NULL;
    assert_rp_ok(rp_store_encoded_load(&set, st, NULL, 0, &err), &err);
    assert_int_equal(set->n, 62);
    assert_int_equal(set->bits, 1024);
    assert_int_equal(set->words, 16);
    assert_string_equal(set->key_id, dp.key_id);
    assert_int_equal(strlen(set->key_id), 16);
    assert_string_equal(set->schema_json, dp.schema_json);
    assert_int_equal(set->n_lists, 2);
    assert_string_equal(set->lists[0], "NGO");
    assert_string_equal(set->lists[1], "POLICE");
    assert_int_equal(set->key_off[0], 0);
    for (size_t i = 0; i < set->n; i++) {
        const sub_data *d = i < 25 ? &dp : &dn;
        size_t j = i < 25 ? i : i - 25;
        assert_int_equal(set->list[i], i < 25 ? 1 : 0);
        assert_memory_equal(set->clks + i * set->words, d->clks + j * d->words, 8 * d->words);
        size_t nk = set->key_off[i + 1] - set->key_off[i];
        assert_int_equal(nk, d->blocks[j].n);
        assert_true(nk > 0);
        for (size_t k = 0; k < nk; k++) {
            assert_true(set->keys[set->key_off[i] + k] == d->blocks[j].keys[k]);
            assert_int_equal(set->key_rule[set->key_off[i] + k], d->blocks[j].rule[k]);
        }
        /* the case row is the stored record of (list, pseudonym) */
        long long row = 0;
        assert_rp_ok(rp_store_case_row(&row, st, d->list, d->ids[j], &err), &err);
        assert_int_equal(set->case_row[i], row);
        if (i > 0) {
            assert_true(set->case_row[i] > set->case_row[i - 1]);
        }
    }
    rp_encoded_set_free(set);

    /* one list: its records only, list index 0 of one list */
    const char *only[] = {"NGO"};
    assert_rp_ok(rp_store_encoded_load(&set, st, only, 1, &err), &err);
    assert_int_equal(set->n, 37);
    assert_int_equal(set->n_lists, 1);
    assert_string_equal(set->lists[0], "NGO");
    for (size_t i = 0; i < set->n; i++) {
        assert_int_equal(set->list[i], 0);
        assert_memory_equal(set->clks + i * set->words, dn.clks + i * dn.words, 8 * dn.words);
    }
    rp_encoded_set_free(set);

    /* the case attributes are stored as the file gives them, under the pseudonym */
    assert_int_equal(sql_int(st, "SELECT count(*) FROM cases WHERE list = 'NGO'"), 37);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db,
                                        "SELECT case_id, registration_year FROM cases WHERE"
                                        " list = 'POLICE' ORDER BY id",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    for (size_t j = 0; j < dp.n; j++) {
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(stmt, 0), dp.ids[j]);
        assert_int_equal(sqlite3_column_int(stmt, 1), dp.year[j]);
    }
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    /* the schema and key id are kept with each submission */
    assert_int_equal(sql_int(st, "SELECT count(*) FROM submissions WHERE key_id IS NOT NULL"
                                 " AND encoding_schema IS NOT NULL AND list <> ''"),
                     2);

    const char *unknown[] = {"NGO", "SHELTER"};
    assert_rp_status(rp_store_encoded_load(&set, st, unknown, 2, &err), RP_EDATA, &err);
    assert_string_equal(err.msg, "list 'SHELTER' has no encoded records in the store");
    assert_null(set);
    long long row = 0;
    assert_rp_status(rp_store_case_row(&row, st, "NGO", "nosuchid", &err), RP_ENOTFOUND, &err);
    assert_string_equal(err.msg, "no such case id on list 'NGO'");

    rp_store_close(st);
    sub_data_free(&dp);
    sub_data_free(&dn);
}

static void store_encoded_load__empty_store_is_edata(void **state)
{
    fixture *fx = *state;
    rp_store *st = new_store(fx);
    rp_error err = RP_ERROR_INIT;
    rp_encoded_set *set = NULL;
    assert_rp_status(rp_store_encoded_load(&set, st, NULL, 0, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "no encoded records"));
    assert_null(set);
    rp_store_close(st);
}

static void store_import_submission__field_filters_stored(void **state)
{
    fixture *fx = *state;
    char path[700];
    path_in(path, sizeof(path), fx, "ff.sub");
    rp_enc_schema schema = default_schema();
    schema.field_filters = true;
    schema.l = 512;
    write_sub(path, fx->secret, "PF", 9, 7, &schema);
    sub_data d;
    read_sub(&d, path, NULL);
    assert_int_equal(d.words, 8);
    rp_store *st = new_store(fx);
    import_ok(st, path, 9);

    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT fields FROM encodings ORDER BY case_row",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    size_t bytes = 8 * d.words * RP_ENC_FIELD_COUNT;
    unsigned char *want = malloc(bytes);
    assert_non_null(want);
    for (size_t i = 0; i < d.n; i++) {
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        assert_int_equal((size_t)sqlite3_column_bytes(stmt, 0), bytes);
        /* little-endian words, as in the file */
        const uint64_t *w = d.ff + i * d.words * RP_ENC_FIELD_COUNT;
        for (size_t b = 0; b < bytes; b++) {
            want[b] = (unsigned char)(w[b / 8] >> (8 * (b % 8)));
        }
        assert_memory_equal(sqlite3_column_blob(stmt, 0), want, bytes);
    }
    sqlite3_finalize(stmt);
    free(want);

    rp_error err = RP_ERROR_INIT;
    rp_encoded_set *set = NULL;
    assert_rp_ok(rp_store_encoded_load(&set, st, NULL, 0, &err), &err);
    assert_int_equal(set->bits, 512);
    assert_int_equal(set->words, 8);
    assert_memory_equal(set->clks, d.clks, 8 * d.words * d.n);
    rp_encoded_set_free(set);
    rp_store_close(st);
    sub_data_free(&d);
}

static void store_import_submission__sealed_opens_with_hub_key(void **state)
{
    fixture *fx = *state;
    char plain[700];
    char sealed[700];
    char pub[700];
    char key[700];
    path_in(plain, sizeof(plain), fx, "plain.sub");
    path_in(sealed, sizeof(sealed), fx, "sealed.sub");
    path_in(pub, sizeof(pub), fx, "hub.pub");
    path_in(key, sizeof(key), fx, "hub.key");
    rp_enc_schema schema = default_schema();
    write_sub(plain, fx->secret, "NGO", 12, 3, &schema);
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_hub_keygen(pub, key, &err), &err);
    assert_rp_ok(rp_seal_file(plain, sealed, pub, &err), &err);

    rp_store *st = new_store(fx);
    char before[256];
    char after[256];
    table_counts(st, before, sizeof(before));
    rp_import_report rep;
    assert_rp_status(rp_store_import_submission(&rep, st, sealed, NULL, NULL, &err), RP_EPERM,
                     &err);
    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);

    assert_rp_ok(rp_store_import_submission(&rep, st, sealed, key, NULL, &err), &err);
    assert_int_equal(rep.stored, 12);
    sub_data d;
    read_sub(&d, plain, NULL);
    rp_encoded_set *set = NULL;
    assert_rp_ok(rp_store_encoded_load(&set, st, NULL, 0, &err), &err);
    assert_int_equal(set->n, 12);
    assert_memory_equal(set->clks, d.clks, 8 * d.words * d.n);
    rp_encoded_set_free(set);
    rp_store_close(st);
    sub_data_free(&d);
}

/* ==== refusals leave the store as it was ==== */

/* Copy @p src to @p dst, keeping the first @p keep bytes (all when SIZE_MAX) and, when
 * @p flip_at is below that, changing the byte there to another base64 digit. */
static void copy_damaged(const char *src, const char *dst, size_t keep, size_t flip_at)
{
    size_t len = 0;
    char *data = rp_test_slurp(src, &len);
    if (keep > len) {
        keep = len;
    }
    if (flip_at < keep) {
        data[flip_at] = data[flip_at] == 'A' ? 'B' : 'A';
    }
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, keep, f), keep);
    assert_int_equal(fclose(f), 0);
    free(data);
}

static void store_import_submission__damaged_file_rolls_back(void **state)
{
    fixture *fx = *state;
    char good[700];
    char cut[700];
    char altered[700];
    char no_end[700];
    path_in(good, sizeof(good), fx, "good.sub");
    path_in(cut, sizeof(cut), fx, "cut.sub");
    path_in(altered, sizeof(altered), fx, "altered.sub");
    path_in(no_end, sizeof(no_end), fx, "noend.sub");
    rp_enc_schema schema = default_schema();
    write_sub(good, fx->secret, "NGO", 30, 11, &schema);

    /* Offsets of the lines: the clk of record 15 (line 16) is altered. */
    size_t len = 0;
    char *data = rp_test_slurp(good, &len);
    size_t line_start[40];
    size_t n_lines = 0;
    line_start[n_lines++] = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (data[i] == '\n') {
            assert_true(n_lines < 40);
            line_start[n_lines++] = i + 1;
        }
    }
    assert_int_equal(n_lines, 32); /* header, 30 records, end line */
    const char *clk16 = strstr(data + line_start[15], "\"clk\": \"");
    if (clk16 == NULL) {
        clk16 = strstr(data + line_start[15], "\"clk\":\"");
    }
    assert_non_null(clk16);
    size_t flip = (size_t)(strchr(clk16 + 6, '"') - data) + 10;
    assert_true(flip < line_start[16]);
    free(data);
    copy_damaged(good, cut, line_start[20] + 17, SIZE_MAX);
    copy_damaged(good, altered, SIZE_MAX, flip);
    copy_damaged(good, no_end, line_start[31], SIZE_MAX);

    /* A store with one good submission already, which must stay as it is. */
    char other[700];
    path_in(other, sizeof(other), fx, "other.sub");
    write_sub(other, fx->secret, "POLICE", 5, 0, &schema);
    rp_store *st = new_store(fx);
    import_ok(st, other, 5);
    char before[256];
    char after[256];
    table_counts(st, before, sizeof(before));

    static const struct {
        const char *name;
        long line;
    } cases[] = {{"cut.sub", 21}, {"altered.sub", 32}, {"noend.sub", 32}};

    for (size_t c = 0; c < RP_ARRAY_LEN(cases); c++) {
        char path[700];
        path_in(path, sizeof(path), fx, cases[c].name);
        rp_error err = RP_ERROR_INIT;
        rp_import_report rep;
        assert_rp_status(rp_store_import_submission(&rep, st, path, NULL, NULL, &err), RP_EPARSE,
                         &err);
        assert_string_equal(err.path, path);
        assert_int_equal(err.line, cases[c].line);
        table_counts(st, after, sizeof(after));
        assert_string_equal(before, after);
    }
    assert_string_equal(before, "1/5/0/5/0/0/0/0");
    /* the good file still imports */
    import_ok(st, good, 30);
    rp_store_close(st);
}

static void store_import_submission__other_key_or_schema_refused(void **state)
{
    fixture *fx = *state;
    char first[700];
    char other_key[700];
    char other_bits[700];
    char other_k[700];
    char other_rules[700];
    char other_ksec[700];
    char other_pseudo[700];
    path_in(first, sizeof(first), fx, "first.sub");
    path_in(other_key, sizeof(other_key), fx, "otherkey.sub");
    path_in(other_bits, sizeof(other_bits), fx, "otherbits.sub");
    path_in(other_k, sizeof(other_k), fx, "otherk.sub");
    path_in(other_rules, sizeof(other_rules), fx, "otherrules.sub");
    path_in(other_ksec, sizeof(other_ksec), fx, "otherksec.sub");
    path_in(other_pseudo, sizeof(other_pseudo), fx, "otherpseudo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(first, fx->secret, "NGO", 6, 0, &schema);
    write_sub(other_key, fx->other_secret, "POLICE", 6, 0, &schema);
    rp_enc_schema small = default_schema();
    small.l = 512;
    write_sub(other_bits, fx->secret, "POLICE", 6, 0, &small);
    rp_enc_schema k = default_schema();
    k.fields[RP_ENC_SEX].k = 9;
    write_sub(other_k, fx->secret, "POLICE", 6, 0, &k);
    /* the naming-convention keys count too (docs/encoding.md "Naming conventions") */
    rp_enc_schema rules_off = default_schema();
    rules_off.name_rules = 0;
    write_sub(other_rules, fx->secret, "POLICE", 6, 0, &rules_off);
    rp_enc_schema ksec = default_schema();
    ksec.k_secondary = 10;
    write_sub(other_ksec, fx->secret, "POLICE", 6, 0, &ksec);
    /*
     * an old schema file (pseudonym 1, keyed BLAKE2b): the same filters, other
     * pseudonyms for the same cases, so resubmitted cases would escape the duplicate check
     */
    rp_enc_schema old_pseudo = default_schema();
    old_pseudo.pseudonym = RP_ENC_PSEUDONYM_BLAKE2B;
    write_sub(other_pseudo, fx->secret, "POLICE", 6, 0, &old_pseudo);
    sub_data d1;
    sub_data d2;
    read_sub(&d1, first, NULL);
    read_sub(&d2, other_key, NULL);

    rp_store *st = new_store(fx);
    import_ok(st, first, 6);
    char before[256];
    char after[256];
    table_counts(st, before, sizeof(before));
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;

    assert_rp_status(rp_store_import_submission(&rep, st, other_key, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_string_equal(err.path, other_key);
    char want[512];
    snprintf(want, sizeof(want),
             "encoding schema differs from the store's in 'key_id' (store %s, file %s): "
             "filters made with another key or schema cannot be compared, so the submission "
             "is refused",
             d1.key_id, d2.key_id);
    assert_string_equal(err.msg, want);

    assert_rp_status(rp_store_import_submission(&rep, st, other_bits, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "in 'bits' (store 1024, file 512)"));
    assert_rp_status(rp_store_import_submission(&rep, st, other_k, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "in 'fields.sex.k' (store 15, file 9)"));
    assert_rp_status(rp_store_import_submission(&rep, st, other_rules, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "in 'name_rules' (store 1, file 0)"));
    assert_rp_status(rp_store_import_submission(&rep, st, other_ksec, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "in 'k_secondary' (store 15, file 10)"));
    assert_rp_status(rp_store_import_submission(&rep, st, other_pseudo, NULL, NULL, &err), RP_EDATA,
                     &err);
    assert_non_null(strstr(err.msg, "in 'pseudonym' (store 2, file 1)"));

    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);
    rp_store_close(st);
    sub_data_free(&d1);
    sub_data_free(&d2);
}

static void store_import_submission__same_file_and_list_option(void **state)
{
    fixture *fx = *state;
    char path[700];
    path_in(path, sizeof(path), fx, "ngo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(path, fx->secret, "NGO", 8, 0, &schema);
    rp_store *st = new_store(fx);
    rp_error err = RP_ERROR_INIT;
    rp_import_report rep;

    /* opts.list must be the submission's list */
    rp_import_opts opts = RP_IMPORT_OPTS_INIT;
    opts.list = "POLICE";
    assert_rp_status(rp_store_import_submission(&rep, st, path, NULL, &opts, &err), RP_EDATA, &err);
    assert_string_equal(err.msg, "the submission is for list 'NGO', not 'POLICE'");
    opts.list = "NGO";
    opts.agency = "ngo-kyiv";
    assert_rp_ok(rp_store_import_submission(&rep, st, path, NULL, &opts, &err), &err);
    long long first_id = rep.submission_id;
    assert_int_equal(rep.stored, 8);

    /* the same file again: refused as a duplicate, nothing stored */
    char before[256];
    char after[256];
    table_counts(st, before, sizeof(before));
    assert_rp_ok(rp_store_import_submission(&rep, st, path, NULL, NULL, &err), &err);
    assert_true(rep.duplicate);
    assert_int_equal(rep.duplicate_of, first_id);
    assert_int_equal(rep.read, 0);
    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);

    /* forced: every pseudonym is already stored for the list, so every record is
     * quarantined (rule "duplicate") and no encoding is added */
    opts.list = NULL;
    opts.allow_reimport = true;
    assert_rp_ok(rp_store_import_submission(&rep, st, path, NULL, &opts, &err), &err);
    assert_false(rep.duplicate);
    assert_int_equal(rep.read, 8);
    assert_int_equal(rep.stored, 0);
    assert_int_equal(rep.quarantined, 8);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM encodings"), 8);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM quarantine_reasons WHERE rule ="
                                 " 'duplicate' AND line BETWEEN 2 AND 9"),
                     8);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM submissions WHERE agency = 'ngo-kyiv'"), 2);
    rp_store_close(st);
}

static void store_import_submission__refuses_readonly_store(void **state)
{
    fixture *fx = *state;
    char path[700];
    path_in(path, sizeof(path), fx, "ngo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(path, fx->secret, "NGO", 3, 0, &schema);
    rp_store *st = new_store(fx);
    rp_store_close(st);
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), &err);
    rp_import_report rep;
    assert_rp_status(rp_store_import_submission(&rep, st, path, NULL, NULL, &err), RP_EPERM, &err);
    rp_link_run run = {.method = "dice"};
    long long id = -1;
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EPERM, &err);
    assert_int_equal(id, 0);
    rp_store_close(st);
}

/* ==== linkage runs ==== */

/* A store with POLICE (4 records) and NGO (3 records) from submissions; rows out. */
static rp_store *store_for_run(const fixture *fx, long long police[4], long long ngo[3])
{
    char p[700];
    char n[700];
    path_in(p, sizeof(p), fx, "police.sub");
    path_in(n, sizeof(n), fx, "ngo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(p, fx->secret, "POLICE", 4, 0, &schema);
    write_sub(n, fx->secret, "NGO", 3, 50, &schema);
    rp_store *st = new_store(fx);
    import_ok(st, p, 4);
    import_ok(st, n, 3);
    rp_error err = RP_ERROR_INIT;
    rp_encoded_set *set = NULL;
    assert_rp_ok(rp_store_encoded_load(&set, st, NULL, 0, &err), &err);
    assert_int_equal(set->n, 7);
    for (size_t i = 0; i < 4; i++) {
        police[i] = set->case_row[i];
    }
    for (size_t i = 0; i < 3; i++) {
        ngo[i] = set->case_row[4 + i];
    }
    rp_encoded_set_free(set);
    return st;
}

static void store_link_save__capture_table_by_hand(void **state)
{
    fixture *fx = *state;
    long long p[4];
    long long n[3];
    rp_store *st = store_for_run(fx, p, n);
    rp_error err = RP_ERROR_INIT;

    /*
     * Persons: 0 = POLICE 0 + NGO 0, 1 = POLICE 1 + NGO 1, 2 = POLICE 2, 3 = POLICE 3,
     * 4 = NGO 2. Lists in code order: NGO bit 0, POLICE bit 1. Cells: NGO only (1): 1
     * person (4); POLICE only (2): 2 persons (2, 3); both (3): 2 persons (0, 1).
     */
    const long long rows[7] = {p[0], p[1], p[2], p[3], n[0], n[1], n[2]};
    const uint32_t person[7] = {0, 1, 2, 3, 0, 1, 4};
    const long long pa[3] = {p[0], p[1], p[2]};
    const long long pb[3] = {n[0], n[1], n[2]};
    const double score[3] = {0.97, 0.88, 0.71};
    const uint8_t decision[3] = {RP_LINK_MATCH, RP_LINK_MATCH, RP_LINK_REVIEW};
    rp_link_run run = {.method = "dice",
                       .params_json = "{\"threshold\": 0.8}",
                       .report_json = "{\"candidates\": 3}",
                       .n_records = 7,
                       .case_row = rows,
                       .person = person,
                       .n_pairs = 3,
                       .pair_a = pa,
                       .pair_b = pb,
                       .score = score,
                       .decision = decision};
    long long run_id = 0;
    assert_rp_ok(rp_store_link_save(&run_id, st, &run, &err), &err);
    assert_int_equal(run_id, 1);

    rp_capture_set *set = NULL;
    long long unlinked = -1;
    assert_rp_ok(rp_store_capture_set(&set, &unlinked, st, NULL, 0, &err), &err);
    assert_int_equal(unlinked, 0);
    assert_int_equal(set->total->n_lists, 2);
    assert_string_equal(set->total->list_names[0], "NGO");
    assert_string_equal(set->total->list_names[1], "POLICE");
    static const double want[4] = {0, 1, 2, 2};
    for (int w = 0; w < 4; w++) {
        assert_close(set->total->counts[w], want[w], 0, 0);
    }
    rp_capture_set_free(set);

    /* what was recorded */
    assert_int_equal(sql_int(st, "SELECT n_records * 10 + n_pairs FROM link_runs WHERE id = 1"),
                     73);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_runs WHERE method = 'dice' AND"
                                 " params = '{\"threshold\": 0.8}' AND created_at LIKE '20%Z'"),
                     1);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_pairs WHERE decision = 2"), 2);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_pairs WHERE decision = 1 AND"
                                 " score = 0.71"),
                     1);
    assert_int_equal(sql_int(st, "SELECT count(DISTINCT person) FROM link_members"), 5);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cases WHERE id IN (%lld, %lld) AND"
             " person_id = 'L1-0'",
             p[0], n[0]);
    assert_int_equal(sql_int(st, sql), 2);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cases WHERE id = %lld AND person_id = 'L1-4'",
             n[2]);
    assert_int_equal(sql_int(st, sql), 1);

    /* A second run over POLICE 2 and NGO 2 only, linking them: the others keep theirs. */
    const long long rows2[2] = {p[2], n[2]};
    const uint32_t person2[2] = {0, 0};
    rp_link_run run2 = {
        .method = "fellegi-sunter", .n_records = 2, .case_row = rows2, .person = person2};
    assert_rp_ok(rp_store_link_save(&run_id, st, &run2, &err), &err);
    assert_int_equal(run_id, 2);
    assert_rp_ok(rp_store_capture_set(&set, &unlinked, st, NULL, 0, &err), &err);
    static const double want2[4] = {0, 0, 1, 3};
    for (int w = 0; w < 4; w++) {
        assert_close(set->total->counts[w], want2[w], 0, 0);
    }
    rp_capture_set_free(set);
    assert_int_equal(sql_int(st, "SELECT params = '{}' AND report = '{}' FROM link_runs WHERE"
                                 " id = 2"),
                     1);
    rp_store_close(st);
}

static void store_link_save__refusals_change_nothing(void **state)
{
    fixture *fx = *state;
    long long p[4];
    long long n[3];
    rp_store *st = store_for_run(fx, p, n);
    rp_error err = RP_ERROR_INIT;
    char before[256];
    char after[256];
    table_counts(st, before, sizeof(before));

    long long rows[3] = {p[0], n[0], 999999};
    const uint32_t person[3] = {0, 0, 1};
    long long pa[1] = {p[0]};
    long long pb[1] = {n[0]};
    double score[1] = {0.9};
    uint8_t decision[1] = {RP_LINK_MATCH};
    rp_link_run run = {.method = "dice",
                       .n_records = 3,
                       .case_row = rows,
                       .person = person,
                       .n_pairs = 1,
                       .pair_a = pa,
                       .pair_b = pb,
                       .score = score,
                       .decision = decision};
    long long id = -1;

    /* a case row not in the store: the first two records' updates are rolled back */
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    assert_string_equal(err.msg, "case row 999999 of the run is not in the store");
    assert_int_equal(id, 0);
    rows[2] = n[1];

    /* a pair naming a record outside the run */
    pb[0] = n[2];
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    char want[200];
    snprintf(want, sizeof(want), "pair 0 names case row %lld, which is not a record of the run",
             n[2]);
    assert_string_equal(err.msg, want);
    pb[0] = n[0];

    /* a record twice */
    rows[2] = p[0];
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "appears twice"));
    rows[2] = n[1];

    decision[0] = 9;
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    decision[0] = RP_LINK_MATCH;
    score[0] = NAN;
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    score[0] = 0.9;
    run.params_json = "[1, 2]";
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    run.params_json = NULL;
    run.report_json = "{not json";
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    run.report_json = NULL;
    run.method = "";
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    run.method = "dice";
    pb[0] = p[0];
    assert_rp_status(rp_store_link_save(&id, st, &run, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "with itself"));
    pb[0] = n[0];

    table_counts(st, after, sizeof(after));
    assert_string_equal(before, after);

    /* and the corrected run is saved */
    assert_rp_ok(rp_store_link_save(&id, st, &run, &err), &err);
    assert_int_equal(id, 1);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_members"), 3);
    rp_store_close(st);
}

/* ==== migration ==== */

static void raw_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("sql failed: %s", msg != NULL ? msg : "?");
    }
}

static void store_open__upgrades_version_1_keeping_its_data(void **state)
{
    fixture *fx = *state;
    /* A version-1 store, as the first release made it: migration 1, then data. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    raw_sql(db, "BEGIN");
    assert_non_null(rp_store__migration(0));
    assert_null(rp_store__migration(2));
    raw_sql(db, rp_store__migration(0));
    raw_sql(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '1');"
                "INSERT INTO submissions (id, agency, list, file_name, sha256, imported_at,"
                " rows_read, rows_stored, rows_quarantined) VALUES (1, 'police', '', 'pf.csv',"
                " 'abc', '2024-01-01T00:00:00Z', 3, 2, 1);"
                "INSERT INTO cases (submission_id, list, case_id, person_id, registration_year,"
                " sex) VALUES (1, 'PF', 'C1', 'A', 2016, 2), (1, 'NGO', 'C2', 'A', 2017, 3);"
                "INSERT INTO quarantine (id, submission_id, line) VALUES (1, 1, 4);"
                "INSERT INTO quarantine_reasons (quarantine_id, line, col, column_name, rule,"
                " message) VALUES (1, 4, 2, 'age', 'range', 'age out of range');");
    raw_sql(db, "COMMIT");
    sqlite3_close(db);

    rp_store *st = NULL;
    rp_error err = RP_ERROR_INIT;
    /* read-only cannot upgrade */
    assert_rp_status(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), RP_ESQL, &err);
    assert_string_equal(err.msg, "store schema version 1 must be upgraded to 2: run `rapporteur "
                                 "init` on it (or open it writable)");
    assert_rp_ok(rp_store_open(&st, fx->db, 0, &err), &err);
    assert_int_equal(rp_store_schema_version(st), 2);
    assert_int_equal(sql_int(st, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM submissions WHERE rows_read = 3 AND"
                                 " encoding_schema IS NULL AND key_id IS NULL"),
                     1);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM cases WHERE person_id = 'A'"), 2);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM quarantine_reasons WHERE rule = 'range'"),
                     1);
    char counts[256];
    table_counts(st, counts, sizeof(counts));
    assert_string_equal(counts, "1/2/1/0/0/0/0/2");

    /* the old data still gives its capture table, and encoded records join it */
    rp_capture_set *set = NULL;
    assert_rp_ok(rp_store_capture_set(&set, NULL, st, NULL, 0, &err), &err);
    assert_close(set->total->counts[3], 1, 0, 0);
    rp_capture_set_free(set);
    char path[700];
    path_in(path, sizeof(path), fx, "ngo.sub");
    rp_enc_schema schema = default_schema();
    write_sub(path, fx->secret, "NGO", 4, 0, &schema);
    import_ok(st, path, 4);
    rp_store_close(st);

    /* reopened: version 2, nothing migrates again */
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), &err);
    assert_int_equal(rp_store_schema_version(st), 2);
    table_counts(st, counts, sizeof(counts));
    assert_string_equal(counts, "2/6/1/4/0/0/0/2");
    rp_store_close(st);
}

/* ==== allocation failures ==== */

typedef struct sweep {
    const fixture *fx;
    rp_store *st;
    const char *sub_path;
    long long rows[3];
    rp_encoded_set *set;
    int round;
} sweep;

static int sweep_load(void *payload)
{
    sweep *s = payload;
    return rp_store_encoded_load(&s->set, s->st, NULL, 0, NULL);
}

static void undo_load(void *payload)
{
    sweep *s = payload;
    rp_encoded_set_free(s->set);
    s->set = NULL;
}

static int sweep_link(void *payload)
{
    sweep *s = payload;
    const uint32_t person[2] = {0, 0};
    const long long pa[1] = {s->rows[0]};
    const long long pb[1] = {s->rows[1]};
    const double score[1] = {0.9};
    const uint8_t decision[1] = {RP_LINK_MATCH};
    rp_link_run run = {.method = "dice",
                       .n_records = 2,
                       .case_row = s->rows,
                       .person = person,
                       .n_pairs = 1,
                       .pair_a = pa,
                       .pair_b = pb,
                       .score = score,
                       .decision = decision};
    long long id = 0;
    return rp_store_link_save(&id, s->st, &run, NULL);
}

/* ==== clerical-review verdicts ==== */

static void expect_verdict(const rp_link_review *v, long long a, long long b, int d, long long run)
{
    assert_int_equal(v->case_a, a < b ? a : b);
    assert_int_equal(v->case_b, a < b ? b : a);
    assert_int_equal(v->decision, d);
    assert_int_equal(v->run_id, run);
}

/*
 * The log keeps every verdict with who, where from and when; the latest one on a pair
 * is in force. A run's accepted and rejected pairs (the review page's, or a run's own)
 * are verdicts dated by the run: a later log entry outranks them, a later run outranks
 * the log, and the log wins a tie.
 */
static void store_link_decide__log_and_verdict_in_force(void **state)
{
    fixture *fx = *state;
    long long p[4];
    long long n[3];
    rp_store *st = store_for_run(fx, p, n);
    rp_error err = RP_ERROR_INIT;
    rp_link_review *v = NULL;
    size_t nv = 99;
    /* no log yet, no run: nothing in force */
    assert_rp_ok(rp_store_link_decisions(&v, &nv, st, &err), &err);
    assert_int_equal(nv, 0);
    assert_null(v);

    const rp_link_review first[2] = {{n[0], p[0], RP_LINK_ACCEPTED, 0},
                                     {p[1], n[1], RP_LINK_REJECTED, 0}};
    assert_rp_ok(rp_store_link_decide(st, first, 2, "alice", "file", &err), &err);
    const rp_link_review second[1] = {{p[0], n[0], RP_LINK_REJECTED, 0}};
    assert_rp_ok(rp_store_link_decide(st, second, 1, "bob", "file", &err), &err);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_decisions"), 3);
    assert_int_equal(sql_int(st, "SELECT count(*) FROM link_decisions WHERE author = 'alice'"
                                 " AND source = 'file' AND run_id IS NULL AND decided_at LIKE"
                                 " '20%Z' AND case_a < case_b"),
                     2);
    assert_rp_ok(rp_store_link_decisions(&v, &nv, st, &err), &err);
    assert_int_equal(nv, 2);
    expect_verdict(&v[0], p[0], n[0], RP_LINK_REJECTED, 0); /* bob's, the later */
    expect_verdict(&v[1], p[1], n[1], RP_LINK_REJECTED, 0);
    rp_free(v);

    /* a run whose pairs carry verdicts: (p1, n1) accepted on the page, (p2, n2) rejected */
    const long long rows[6] = {p[0], p[1], p[2], n[0], n[1], n[2]};
    const uint32_t person[6] = {0, 1, 2, 3, 1, 4};
    const long long pa[2] = {p[1], n[2]};
    const long long pb[2] = {n[1], p[2]};
    const double score[2] = {0.75, 0.72};
    const uint8_t decision[2] = {RP_LINK_ACCEPTED, RP_LINK_REJECTED};
    rp_link_run run = {.method = "dice",
                       .n_records = 6,
                       .case_row = rows,
                       .person = person,
                       .n_pairs = 2,
                       .pair_a = pa,
                       .pair_b = pb,
                       .score = score,
                       .decision = decision};
    long long run_id = 0;
    assert_rp_ok(rp_store_link_save(&run_id, st, &run, &err), &err);
    /* the run is later than the log (after a tie, the log would win): date it later */
    raw_sql(st->db, "UPDATE link_runs SET created_at = '2999-01-01T00:00:00Z'");
    assert_rp_ok(rp_store_link_decisions(&v, &nv, st, &err), &err);
    assert_int_equal(nv, 3);
    expect_verdict(&v[0], p[0], n[0], RP_LINK_REJECTED, 0);
    expect_verdict(&v[1], p[1], n[1], RP_LINK_ACCEPTED, run_id);
    expect_verdict(&v[2], p[2], n[2], RP_LINK_REJECTED, run_id);
    rp_free(v);
    /* an older run loses to the log, and a tie goes to the log */
    const char *dates[2] = {"UPDATE link_runs SET created_at = '2000-01-01T00:00:00Z'",
                            "UPDATE link_runs SET created_at = (SELECT max(decided_at) FROM"
                            " link_decisions)"};
    for (int d = 0; d < 2; d++) {
        raw_sql(st->db, dates[d]);
        assert_rp_ok(rp_store_link_decisions(&v, &nv, st, &err), &err);
        assert_int_equal(nv, 3);
        expect_verdict(&v[1], p[1], n[1], RP_LINK_REJECTED, 0);
        rp_free(v);
    }
    /* the verdicts are read on a read-only store too; recording needs a writable one */
    rp_store_close(st);
    assert_rp_ok(rp_store_open(&st, fx->db, RP_STORE_READONLY, &err), &err);
    assert_rp_ok(rp_store_link_decisions(&v, &nv, st, &err), &err);
    assert_int_equal(nv, 3);
    rp_free(v);
    assert_rp_status(rp_store_link_decide(st, second, 1, "bob", "file", &err), RP_EPERM, &err);
    rp_store_close(st);
}

static void store_link_decide__refusals_change_nothing(void **state)
{
    fixture *fx = *state;
    long long p[4];
    long long n[3];
    rp_store *st = store_for_run(fx, p, n);
    rp_error err = RP_ERROR_INIT;
    const rp_link_review ok = {p[0], n[0], RP_LINK_ACCEPTED, 0};
    assert_rp_ok(rp_store_link_decide(st, &ok, 1, "alice", "file", &err), &err);

    static const struct {
        long long a_off, b; /* b: 0 = n[0], else a case row used as is */
        int decision;
        long long run;
        const char *author;
        const char *msg;
    } cases[] = {
        {0, 0, RP_LINK_MATCH, 0, "alice", "verdict 1 is neither accepted nor rejected"},
        {0, -1, RP_LINK_ACCEPTED, 0, "alice", "verdict 1 pairs case row"},
        {0, 999999, RP_LINK_REJECTED, 0, "alice", "verdict 1 names case row 999999, which is"},
        {0, 0, RP_LINK_REJECTED, 42, "alice", "verdict 1 names linkage run 42"},
        {0, 0, RP_LINK_REJECTED, 0, "", "a verdict needs an author"},
        {0, 0, RP_LINK_REJECTED, 0, "al\nice", "a verdict needs an author"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long b = cases[i].b == 0 ? n[0] : cases[i].b == -1 ? p[1] : cases[i].b;
        rp_link_review two[2] = {{p[2], n[2], RP_LINK_REJECTED, 0},
                                 {p[1], b, (uint8_t)cases[i].decision, cases[i].run}};
        assert_rp_status(rp_store_link_decide(st, two, 2, cases[i].author, "file", &err), RP_EINVAL,
                         &err);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: message '%s'", i, err.msg);
        assert_int_equal(sql_int(st, "SELECT count(*) FROM link_decisions"), 1);
    }
    assert_rp_status(rp_store_link_decide(st, &ok, 1, "alice", NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_store_link_decide(NULL, &ok, 1, "alice", "file", &err), RP_EINVAL, &err);
    assert_rp_status(rp_store_link_decide(st, NULL, 1, "alice", "file", &err), RP_EINVAL, &err);
    assert_rp_ok(rp_store_link_decide(st, NULL, 0, "alice", "file", &err), &err);
    rp_link_review *v = NULL;
    size_t nv = 0;
    assert_rp_status(rp_store_link_decisions(NULL, &nv, st, &err), RP_EINVAL, &err);
    assert_rp_status(rp_store_link_decisions(&v, &nv, NULL, &err), RP_EINVAL, &err);
    rp_store_close(st);
}

static int sweep_decide(void *payload)
{
    sweep *s = payload;
    const rp_link_review r[2] = {{s->rows[0], s->rows[1], RP_LINK_ACCEPTED, 0},
                                 {s->rows[1], s->rows[2], RP_LINK_REJECTED, 0}};
    int rc = rp_store_link_decide(s->st, r, 2, "alice", "file", NULL);
    rp_link_review *v = NULL;
    size_t nv = 0;
    if (rc == RP_OK)
        rc = rp_store_link_decisions(&v, &nv, s->st, NULL);
    rp_free(v);
    return rc;
}

/* A fresh store each round: the import must fail cleanly or import everything. */
static int sweep_import(void *payload)
{
    sweep *s = payload;
    char db[700];
    snprintf(db, sizeof(db), "%s/sweep-%d.db", s->fx->dir, s->round++);
    rp_store *st = NULL;
    int rc = rp_store_open(&st, db, RP_STORE_CREATE, NULL);
    if (rc != RP_OK) {
        return rc;
    }
    rp_import_report rep;
    rc = rp_store_import_submission(&rep, st, s->sub_path, NULL, NULL, NULL);
    if (rc == RP_OK) {
        assert_int_equal(rep.stored, 5);
    } else {
        assert_int_equal(sql_int(st, "SELECT count(*) FROM submissions"), 0);
    }
    rp_store_close(st);
    return rc;
}

static void store_link__allocation_failures_are_enomem(void **state)
{
    fixture *fx = *state;
    char path[700];
    path_in(path, sizeof(path), fx, "sweep.sub");
    rp_enc_schema schema = default_schema();
    write_sub(path, fx->secret, "NGO", 5, 0, &schema);
    sweep s = {.fx = fx, .sub_path = path};
    rp_test_alloc_sweep(sweep_import, NULL, &s, 400);

    s.st = new_store(fx);
    import_ok(s.st, path, 5);
    rp_test_alloc_sweep(sweep_load, undo_load, &s, 200);
    s.rows[0] = 1;
    s.rows[1] = 2;
    s.rows[2] = 3;
    rp_test_alloc_sweep(sweep_link, NULL, &s, 200);
    rp_test_alloc_sweep(sweep_decide, NULL, &s, 200);
    rp_store_close(s.st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(store_import_submission__two_lists_load_back_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_encoded_load__empty_store_is_edata, setup, teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__field_filters_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__sealed_opens_with_hub_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__damaged_file_rolls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__other_key_or_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__same_file_and_list_option, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_import_submission__refuses_readonly_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_link_save__capture_table_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(store_link_save__refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(store_open__upgrades_version_1_keeping_its_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_link_decide__log_and_verdict_in_force, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_link_decide__refusals_change_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(store_link__allocation_failures_are_enomem, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("store_link", tests, NULL, NULL);
}
