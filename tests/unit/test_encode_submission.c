/*
 * Unit tests of submission files and sealing (src/encode/submission.c, seal.c): writer
 * to reader round trips of random records (every case attribute, field filters, blocking
 * keys), byte-identical output, no temporary file left behind, no case id in the file,
 * every kind of damage rejected with its line (a truncation sweep and a bit-flip sweep),
 * unknown keys, and sealed files: round trips, wrong key, altered and truncated files,
 * key file permissions, and no output on failure.
 */
#include "encode/encode_int.h"
#include "encode/submission_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>

#define LIST "police-ua"

/* ==== helpers ==== */

static int setup(void **state)
{
    (void)state;
    rp_init();
    return sodium_init() < 0 ? -1 : 0;
}

/* splitmix64: a seeded generator, so every run tests the same records. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n)
{
    return (unsigned)(next_u64(s) % n);
}

/*
 * Path @p name inside directory @p dir, in a static buffer that stays valid (and the
 * same for the same path) until the process ends.
 */
static const char *in_dir(const char *dir, const char *name)
{
    static char paths[64][1024];
    static size_t n_paths;
    char tmp[1024];
    int n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(tmp));
    for (size_t i = 0; i < n_paths; i++) {
        if (strcmp(paths[i], tmp) == 0)
            return paths[i];
    }
    assert_true(n_paths < 64);
    memcpy(paths[n_paths], tmp, (size_t)n + 1);
    return paths[n_paths++];
}

/* Number of entries of @p dir besides . and .. */
static size_t dir_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static rp_enc_schema test_schema(bool field_filters)
{
    rp_enc_schema s;
    rp_enc_schema_default(&s);
    s.field_filters = field_filters;
    rp_x_strlcpy(s.key_id, "0123456789abcdef", sizeof(s.key_id));
    return s;
}

/* One record as written: everything rp_sub_writer_add takes. */
typedef struct test_rec {
    uint64_t clk[RP_ENC_WORDS_MAX];
    uint64_t ff[RP_ENC_FIELD_COUNT * RP_ENC_WORDS_MAX];
    rp_enc_blocking blocks;
    rp_case_record attrs;
    char id[33];
} test_rec;

static const char *const countries[] = {"UA", "NA", "GB", "VN", "XK", "GE", "GR"};

/* Random valid case attributes, covering every field and state. */
static void random_attrs(rp_case_record *r, uint64_t *s)
{
    rp_case_record_init(r);
    /* What a writer never sends: must not reach the file. */
    snprintf(r->case_id, sizeof(r->case_id), "CASEREF-%u", below(s, 100000));
    snprintf(r->person_id, sizeof(r->person_id), "PERSON-%u", below(s, 100000));
    rp_x_strlcpy(r->list, "whatever", sizeof(r->list));
    if (below(s, 4) != 0)
        r->registration_year = 1990 + (int)below(s, 35);
    switch (below(s, 3)) {
    case 0:
        break;
    case 1:
        snprintf(r->registration_date, sizeof(r->registration_date), "%04d-%02u",
                 r->registration_year != 0 ? r->registration_year : 2015, 1 + below(s, 12));
        break;
    default:
        snprintf(r->registration_date, sizeof(r->registration_date), "%04d-%02u-%02u",
                 r->registration_year != 0 ? r->registration_year : 2015, 1 + below(s, 12),
                 1 + below(s, 28));
        break;
    }
    r->id_status = (rp_id_status)below(s, 4);
    r->sex = (rp_sex)below(s, 5);
    if (below(s, 3) != 0) {
        r->age = (int)below(s, 121);
        r->age_band = rp_age_band_of(r->age);
    } else {
        r->age_band = (rp_age_band)below(s, 11);
    }
    r->majority_at_exploitation = (rp_majority)below(s, 4);
    r->citizenship_state = (rp_state)below(s, 3);
    if (r->citizenship_state == RP_STATE_KNOWN)
        rp_x_strlcpy(r->citizenship, countries[below(s, 7)], sizeof(r->citizenship));
    r->country_of_exploitation_state = (rp_state)below(s, 3);
    if (r->country_of_exploitation_state == RP_STATE_KNOWN)
        rp_x_strlcpy(r->country_of_exploitation, countries[below(s, 7)],
                     sizeof(r->country_of_exploitation));
    r->exploitation_state = (rp_state)below(s, 3);
    if (r->exploitation_state == RP_STATE_KNOWN)
        r->exploitation = (uint32_t)below(s, 1u << 9);
    if (r->exploitation & RP_EXPL_SEXUAL)
        r->sexual_types = (uint32_t)below(s, 1u << 5);
    r->labour_sectors = below(s, 2) ? (uint32_t)below(s, 1u << 13) : 0;
    r->means_of_control_state = (rp_state)below(s, 3);
    if (r->means_of_control_state == RP_STATE_KNOWN)
        r->means_of_control = (uint32_t)below(s, 1u << 18);
    r->recruiter_relation_state = (rp_state)below(s, 3);
    if (r->recruiter_relation_state == RP_STATE_KNOWN)
        r->recruiter_relation = (uint32_t)below(s, 1u << 5);
}

static void random_rec(test_rec *t, size_t words, uint64_t *s)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < 32; i++)
        t->id[i] = "0123456789abcdef"[below(s, 16)];
    for (size_t i = 0; i < words; i++)
        t->clk[i] = next_u64(s);
    for (size_t i = 0; i < RP_ENC_FIELD_COUNT * words; i++)
        t->ff[i] = next_u64(s);
    t->blocks.n = below(s, RP_ENC_MAX_BLOCKING_KEYS + 1);
    for (size_t i = 0; i < t->blocks.n; i++) {
        t->blocks.keys[i] = below(s, 8) == 0 ? (uint64_t)below(s, 16) : next_u64(s);
        t->blocks.rule[i] = (uint8_t)below(s, RP_BLOCK_RULE_COUNT);
    }
    random_attrs(&t->attrs, s);
}

/* A fully populated record, every field known. */
static void full_rec(test_rec *t, size_t words)
{
    uint64_t s = 7;
    random_rec(t, words, &s);
    rp_case_record *r = &t->attrs;
    r->registration_year = 2016;
    rp_x_strlcpy(r->registration_date, "2016-03-02", sizeof(r->registration_date));
    r->id_status = RP_ID_STATUS_IDENTIFIED;
    r->sex = RP_SEX_FEMALE;
    r->age = 17;
    r->age_band = RP_AGE_BAND_9_17;
    r->majority_at_exploitation = RP_MAJORITY_MINOR;
    rp_x_strlcpy(r->citizenship, "NA", sizeof(r->citizenship));
    r->citizenship_state = RP_STATE_KNOWN;
    rp_x_strlcpy(r->country_of_exploitation, "UA", sizeof(r->country_of_exploitation));
    r->country_of_exploitation_state = RP_STATE_KNOWN;
    r->exploitation = RP_EXPL_SEXUAL | RP_EXPL_FORCED_LABOUR;
    r->exploitation_state = RP_STATE_KNOWN;
    r->sexual_types = RP_SEXTYPE_PROSTITUTION | RP_SEXTYPE_OTHER;
    r->labour_sectors = RP_SECTOR_AGRICULTURE | RP_SECTOR_NOT_SPECIFIED;
    r->means_of_control = RP_CONTROL_DEBT_BONDAGE | RP_CONTROL_NOT_SPECIFIED;
    r->means_of_control_state = RP_STATE_KNOWN;
    r->recruiter_relation = RP_RECRUITER_UNKNOWN;
    r->recruiter_relation_state = RP_STATE_KNOWN;
    t->blocks.n = 2;
    t->blocks.rule[0] = RP_BLOCK_FAMILY_PHONETIC_YEAR;
    t->blocks.keys[0] = 0x0123456789abcdefu;
    t->blocks.rule[1] = RP_BLOCK_LSH;
    t->blocks.keys[1] = 0;
}

/* Write @p n records to @p path. */
static void write_sub(const char *path, const rp_enc_schema *schema, const test_rec *recs, size_t n)
{
    rp_error err = RP_ERROR_INIT;
    rp_sub_writer *w = NULL;
    assert_rp_ok(rp_sub_writer_open(&w, path, LIST, schema, &err), &err);
    for (size_t i = 0; i < n; i++)
        assert_rp_ok(rp_sub_writer_add(w, recs[i].id, recs[i].clk, recs[i].ff, &recs[i].blocks,
                                       &recs[i].attrs, &err),
                     &err);
    assert_rp_ok(rp_sub_writer_close(w, &err), &err);
}

static void
assert_attrs_equal(const rp_case_record *got, const rp_case_record *want, const char *id)
{
    assert_string_equal(got->list, LIST);
    assert_string_equal(got->case_id, id);
    assert_string_equal(got->person_id, "");
    assert_int_equal(got->registration_year, want->registration_year);
    assert_string_equal(got->registration_date, want->registration_date);
    assert_int_equal(got->id_status, want->id_status);
    assert_int_equal(got->sex, want->sex);
    assert_int_equal(got->age, want->age);
    assert_int_equal(got->age_band, want->age_band);
    assert_int_equal(got->majority_at_exploitation, want->majority_at_exploitation);
    assert_int_equal(got->citizenship_state, want->citizenship_state);
    assert_string_equal(got->citizenship, want->citizenship);
    assert_int_equal(got->country_of_exploitation_state, want->country_of_exploitation_state);
    assert_string_equal(got->country_of_exploitation, want->country_of_exploitation);
    assert_int_equal(got->exploitation, want->exploitation);
    assert_int_equal(got->exploitation_state, want->exploitation_state);
    assert_int_equal(got->sexual_types, want->sexual_types);
    assert_int_equal(got->labour_sectors, want->labour_sectors);
    assert_int_equal(got->means_of_control, want->means_of_control);
    assert_int_equal(got->means_of_control_state, want->means_of_control_state);
    assert_int_equal(got->recruiter_relation, want->recruiter_relation);
    assert_int_equal(got->recruiter_relation_state, want->recruiter_relation_state);
}

/* Read every record of an open reader and compare with @p recs. */
static void read_and_compare(rp_sub_reader *r, const test_rec *recs, size_t n, bool ff)
{
    rp_error err = RP_ERROR_INIT;
    const rp_enc_schema *schema = rp_sub_reader_schema(r);
    size_t words = rp_enc_schema_bits(schema) / 64;
    assert_string_equal(rp_sub_reader_list(r), LIST);
    assert_string_equal(schema->key_id, "0123456789abcdef");
    assert_int_equal(schema->field_filters, ff);
    for (size_t i = 0; i < n; i++) {
        rp_sub_record rec;
        int rc = rp_sub_reader_next(r, &rec, &err);
        assert_rp_status(rc, 1, NULL);
        assert_string_equal(rec.id, recs[i].id);
        assert_memory_equal(rec.clk, recs[i].clk, words * sizeof(uint64_t));
        if (ff) {
            assert_non_null(rec.field_filters);
            for (int f = 0; f < RP_ENC_FIELD_COUNT; f++) {
                if (schema->fields[f].used)
                    assert_memory_equal(rec.field_filters + f * words, recs[i].ff + f * words,
                                        words * sizeof(uint64_t));
            }
        } else {
            assert_null(rec.field_filters);
        }
        assert_int_equal(rec.blocking.n, recs[i].blocks.n);
        for (size_t k = 0; k < rec.blocking.n; k++) {
            assert_true(rec.blocking.keys[k] == recs[i].blocks.keys[k]);
            assert_int_equal(rec.blocking.rule[k], recs[i].blocks.rule[k]);
        }
        assert_attrs_equal(&rec.attrs, &recs[i].attrs, recs[i].id);
        assert_rp_ok(rp_case_record_validate(&rec.attrs, 0, NULL, &err), &err);
    }
    rp_sub_record rec;
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 0);
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 0);
}

/* Read a whole submission held in memory; RP_OK when it reads to its end. */
static int read_all_mem(const char *data, size_t len, rp_error *err, unsigned long long *n_out)
{
    rp_sub_reader *r = NULL;
    unsigned long long n = 0;
    int rc = rp_encode__sub_reader_open_mem(&r, data, len, "t.jsonl", err);
    while (rc == RP_OK) {
        rp_sub_record rec;
        int got = rp_sub_reader_next(r, &rec, err);
        if (got == 0)
            break;
        if (got < 0)
            rc = got;
        else
            n++;
    }
    rp_sub_reader_free(r);
    if (n_out != NULL)
        *n_out = n;
    return rc;
}

/* A small valid submission (two records, field filters off) in memory; free(). */
static char *small_submission(const char *dir, size_t *len)
{
    rp_enc_schema schema = test_schema(false);
    test_rec recs[2];
    full_rec(&recs[0], 16);
    uint64_t s = 99;
    random_rec(&recs[1], 16, &s);
    recs[1].blocks.n = 1;
    recs[1].blocks.rule[0] = RP_BLOCK_NAMES_PHONETIC;
    const char *path = in_dir(dir, "small.jsonl");
    write_sub(path, &schema, recs, 2);
    char *data = rp_test_slurp(path, len);
    unlink(path);
    return data;
}

/* ==== writer and reader ==== */

static void sub_writer__round_trip_random_records(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    uint64_t s = 20240501;
    for (int variant = 0; variant < 3; variant++) {
        bool ff = variant != 1;
        rp_enc_schema schema = test_schema(ff);
        if (variant == 2) {
            schema.balance = true; /* 2048 bits */
            schema.fields[RP_ENC_PATRONYMIC].used = false;
        }
        size_t words = rp_enc_schema_bits(&schema) / 64;
        size_t n = 300;
        test_rec *recs = calloc(n, sizeof(*recs));
        assert_non_null(recs);
        full_rec(&recs[0], words);
        for (size_t i = 1; i < n; i++)
            random_rec(&recs[i], words, &s);
        const char *path = in_dir(dir, "sub.jsonl");
        write_sub(path, &schema, recs, n);

        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(dir_entries(dir), 1); /* no temporary file left */

        rp_error err = RP_ERROR_INIT;
        rp_sub_reader *r = NULL;
        assert_rp_ok(rp_sub_reader_open(&r, path, NULL, &err), &err);
        read_and_compare(r, recs, n, ff);
        rp_sub_reader_free(r);
        free(recs);
        unlink(path);
    }
    rp_test_rmtree(dir);
}

static void sub_writer__writes_documented_lines(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    size_t len = 0;
    char *data = small_submission(dir, &len);
    /* Header first, with the fields in order; no timestamp. */
    const char *head = "{\"format\":\"rapporteur-submission\",\"version\":1,\"list\":\"" LIST
                       "\",\"created_by\":\"rapporteur " RP_VERSION_STRING
                       "\",\"bits\":1024,\"schema\":{\"version\":1,";
    assert_memory_equal(data, head, strlen(head));
    /* The fully populated record's attributes, exactly. */
    assert_non_null(strstr(
        data, "\"blocks\":[\"family_year:0123456789abcdef\",\"lsh:0000000000000000\"],"
              "\"attrs\":{\"registration_year\":2016,\"registration_date\":\"2016-03-02\","
              "\"id_status\":\"identified\",\"sex\":\"female\",\"age\":17,\"age_band\":\"9-17\","
              "\"majority_at_exploitation\":\"minor\",\"citizenship\":\"NA\","
              "\"country_of_exploitation\":\"UA\",\"exploitation\":[\"sexual\","
              "\"forced_labour\"],\"sexual_types\":[\"prostitution\",\"other\"],"
              "\"labour_sectors\":[\"agriculture\",\"not_specified\"],\"means_of_control\":["
              "\"debt_bondage\",\"not_specified\"],\"recruiter_relation\":[\"unknown\"]}}\n"));
    /* Four lines, the last the end line with the count and the checksum of the others. */
    size_t lines = 0;
    const char *last = data;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            lines++;
            if (i + 1 < len)
                last = data + i + 1;
        }
    }
    assert_int_equal(lines, 4);
    assert_int_equal(data[len - 1], '\n');
    unsigned char digest[32];
    char hex[65];
    /* BLAKE2b-256 of everything before the end line, as `head -n -1 | b2sum -l 256`. */
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)data, (size_t)(last - data),
                       NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    char want[128];
    snprintf(want, sizeof(want), "{\"end\":2,\"blake2b\":\"%s\"}\n", hex);
    assert_string_equal(last, want);
    free(data);
    rp_test_rmtree(dir);
}

static void sub_writer__same_input_same_bytes(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_enc_schema schema = test_schema(true);
    test_rec recs[20];
    uint64_t s = 5;
    for (size_t i = 0; i < 20; i++)
        random_rec(&recs[i], 16, &s);
    write_sub(in_dir(dir, "a.jsonl"), &schema, recs, 20);
    write_sub(in_dir(dir, "b.jsonl"), &schema, recs, 20);
    size_t la = 0, lb = 0;
    char *a = rp_test_slurp(in_dir(dir, "a.jsonl"), &la);
    char *b = rp_test_slurp(in_dir(dir, "b.jsonl"), &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* An empty submission is valid too. */
    write_sub(in_dir(dir, "c.jsonl"), &schema, recs, 0);
    rp_error err = RP_ERROR_INIT;
    rp_sub_reader *r = NULL;
    assert_rp_ok(rp_sub_reader_open(&r, in_dir(dir, "c.jsonl"), NULL, &err), &err);
    read_and_compare(r, recs, 0, true);
    rp_sub_reader_free(r);
    free(a);
    free(b);
    rp_test_rmtree(dir);
}

/*
 * rp_encode__sub_writer_add_valid() (attributes the caller validated, as `rapporteur
 * encode` does after rp_mapping_apply) writes the very bytes rp_sub_writer_add() writes,
 * with the list, case id and person id replaced in the same way; NULL attributes too.
 */
static void sub_writer_add_valid__same_bytes(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_enc_schema schema = test_schema(true);
    test_rec recs[40];
    uint64_t s = 11;
    for (size_t i = 0; i < 40; i++) {
        random_rec(&recs[i], 16, &s);
        rp_x_strlcpy(recs[i].attrs.case_id, "CASE-1", sizeof(recs[i].attrs.case_id));
        rp_x_strlcpy(recs[i].attrs.person_id, "P-1", sizeof(recs[i].attrs.person_id));
        rp_x_strlcpy(recs[i].attrs.list, "OTHER", sizeof(recs[i].attrs.list));
    }
    for (int pass = 0; pass < 2; pass++) {
        rp_error err = RP_ERROR_INIT;
        rp_sub_writer *w = NULL;
        assert_rp_ok(
            rp_sub_writer_open(&w, in_dir(dir, pass ? "b.jsonl" : "a.jsonl"), LIST, &schema, &err),
            &err);
        for (size_t i = 0; i < 40; i++) {
            const rp_case_record *attrs = i == 7 ? NULL : &recs[i].attrs;
            if (pass == 0)
                assert_rp_ok(rp_sub_writer_add(w, recs[i].id, recs[i].clk, recs[i].ff,
                                               &recs[i].blocks, attrs, &err),
                             &err);
            else
                assert_rp_ok(rp_encode__sub_writer_add_valid(w, recs[i].id, recs[i].clk, recs[i].ff,
                                                             &recs[i].blocks, attrs, &err),
                             &err);
        }
        assert_rp_ok(rp_sub_writer_close(w, &err), &err);
    }
    size_t la = 0, lb = 0;
    char *a = rp_test_slurp(in_dir(dir, "a.jsonl"), &la);
    char *b = rp_test_slurp(in_dir(dir, "b.jsonl"), &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_null(strstr(a, "CASE-1"));
    assert_null(strstr(a, "OTHER"));
    free(a);
    free(b);
    rp_test_rmtree(dir);
}

static void sub_writer__never_writes_case_or_person_id(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_enc_schema schema = test_schema(false);
    test_rec recs[50];
    uint64_t s = 11;
    for (size_t i = 0; i < 50; i++)
        random_rec(&recs[i], 16, &s);
    write_sub(in_dir(dir, "s.jsonl"), &schema, recs, 50);
    char *data = rp_test_slurp(in_dir(dir, "s.jsonl"), NULL);
    assert_null(strstr(data, "case_id"));
    assert_null(strstr(data, "person_id"));
    assert_null(strstr(data, "CASEREF-"));
    assert_null(strstr(data, "PERSON-"));
    assert_null(strstr(data, "whatever")); /* the attrs' own list field */
    free(data);

    /* A case id given as the pseudonym is refused: only 32 hex digits pass. */
    rp_error err = RP_ERROR_INIT;
    rp_sub_writer *w = NULL;
    assert_rp_ok(rp_sub_writer_open(&w, in_dir(dir, "t.jsonl"), LIST, &schema, &err), &err);
    static const char *const bad_ids[] = {"CASEREF-1", "0123456789ABCDEF0123456789abcdef",
                                          "0123456789abcdef0123456789abcde",
                                          "0123456789abcdef0123456789abcdef0", ""};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        assert_rp_status(rp_sub_writer_add(w, bad_ids[i], recs[0].clk, NULL, NULL, NULL, &err),
                         RP_EINVAL, &err);
        assert_non_null(strstr(err.msg, "pseudonym"));
        assert_null(strstr(err.msg, bad_ids[i][0] ? bad_ids[i] : "\x01"));
    }
    rp_sub_writer_abort(w);
    assert_int_equal(dir_entries(dir), 1);
    rp_test_rmtree(dir);
}

/* ==== the writer against Jansson ==== */

/* Jansson's compact text of @p v with its keys in insertion order (the caller frees). */
static char *jansson_text(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(s);
    json_decref(v);
    return s;
}

static json_t *ref_filter(const uint64_t *filter, size_t words)
{
    unsigned char bytes[8 * RP_ENC_WORDS_MAX];
    char b64[sodium_base64_ENCODED_LEN(8 * RP_ENC_WORDS_MAX, sodium_base64_VARIANT_ORIGINAL)];
    rp_encode__words_to_bytes(filter, words, bytes);
    sodium_bin2base64(b64, sizeof(b64), bytes, words * 8, sodium_base64_VARIANT_ORIGINAL);
    return json_string(b64);
}

/* A set on @p o under the standard name of @p f. */
static void ref_set(json_t *o, rp_field f, json_t *v)
{
    assert_non_null(v);
    assert_int_equal(json_object_set_new(o, rp_field_info_get(f)->name, v), 0);
}

static void ref_codes(json_t *o, rp_field f, uint32_t mask, rp_state st)
{
    if (st == RP_STATE_MISSING)
        return;
    if (st == RP_STATE_UNKNOWN) {
        ref_set(o, f, json_string("unknown"));
        return;
    }
    json_t *a = json_array();
    for (unsigned bit = 0; bit < 32; bit++) {
        if (mask & (UINT32_C(1) << bit))
            assert_int_equal(json_array_append_new(a, json_string(rp_code_name(f, bit))), 0);
    }
    ref_set(o, f, a);
}

static void ref_code(json_t *o, rp_field f, unsigned v)
{
    if (v != 0)
        ref_set(o, f, json_string(rp_code_name(f, v)));
}

static void ref_country(json_t *o, rp_field f, const char *code, rp_state st)
{
    if (st != RP_STATE_MISSING)
        ref_set(o, f, json_string(st == RP_STATE_KNOWN ? code : "unknown"));
}

/* The "attrs" object as docs/encoding.md describes it, built with Jansson. */
static json_t *ref_attrs(const rp_case_record *r)
{
    json_t *o = json_object();
    if (r->registration_year != 0)
        ref_set(o, RP_FIELD_REGISTRATION_YEAR, json_integer(r->registration_year));
    if (r->registration_date[0] != '\0')
        ref_set(o, RP_FIELD_REGISTRATION_DATE, json_string(r->registration_date));
    ref_code(o, RP_FIELD_ID_STATUS, (unsigned)r->id_status);
    ref_code(o, RP_FIELD_SEX, (unsigned)r->sex);
    if (r->age >= 0)
        ref_set(o, RP_FIELD_AGE, json_integer(r->age));
    ref_code(o, RP_FIELD_AGE_BAND, (unsigned)r->age_band);
    ref_code(o, RP_FIELD_MAJORITY_AT_EXPLOITATION, (unsigned)r->majority_at_exploitation);
    ref_country(o, RP_FIELD_CITIZENSHIP, r->citizenship, r->citizenship_state);
    ref_country(o, RP_FIELD_COUNTRY_OF_EXPLOITATION, r->country_of_exploitation,
                r->country_of_exploitation_state);
    ref_codes(o, RP_FIELD_EXPLOITATION, r->exploitation, r->exploitation_state);
    ref_codes(o, RP_FIELD_SEXUAL_TYPES, r->sexual_types,
              r->sexual_types != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING);
    ref_codes(o, RP_FIELD_LABOUR_SECTORS, r->labour_sectors,
              r->labour_sectors != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING);
    ref_codes(o, RP_FIELD_MEANS_OF_CONTROL, r->means_of_control, r->means_of_control_state);
    ref_codes(o, RP_FIELD_RECRUITER_RELATION, r->recruiter_relation, r->recruiter_relation_state);
    return o;
}

/* A record line (without its newline) built with Jansson. */
static char *ref_record(const rp_enc_schema *schema, const test_rec *t)
{
    size_t words = rp_enc_schema_bits(schema) / 64;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "clk", ref_filter(t->clk, words));
    if (schema->field_filters) {
        json_t *fields = json_object();
        for (int f = 0; f < RP_ENC_FIELD_COUNT; f++) {
            if (schema->fields[f].used)
                json_object_set_new(fields, rp_encode__field_name((rp_enc_field)f),
                                    ref_filter(t->ff + (size_t)f * words, words));
        }
        json_object_set_new(o, "fields", fields);
    }
    static const char *const rules[] = {"family_year", "given_date", "names", "lsh", "document"};
    json_t *blocks = json_array();
    for (size_t i = 0; i < t->blocks.n; i++) {
        char hex[17];
        rp_encode__u64_to_hex(t->blocks.keys[i], hex);
        json_array_append_new(blocks, json_sprintf("%s:%s", rules[t->blocks.rule[i]], hex));
    }
    json_object_set_new(o, "blocks", blocks);
    json_object_set_new(o, "attrs", ref_attrs(&t->attrs));
    return jansson_text(o);
}

/* The header line up to its schema, and the schema, built with Jansson. */
static void check_header(const char *line, size_t len, const char *list, const rp_enc_schema *s)
{
    json_t *h = json_object();
    json_object_set_new(h, "format", json_string("rapporteur-submission"));
    json_object_set_new(h, "version", json_integer(1));
    json_object_set_new(h, "list", json_string(list));
    json_object_set_new(h, "created_by", json_string("rapporteur " RP_VERSION_STRING));
    json_object_set_new(h, "bits", json_integer(rp_enc_schema_bits(s)));
    char *want = jansson_text(h);
    size_t n = strlen(want) - 1; /* without the closing brace */
    assert_true(len > n);
    assert_memory_equal(line, want, n);
    /* The schema: rp_enc_schema_to_json's text without white space (its numbers as
       written there, which Jansson would print with 17 digits). */
    const char *key = ",\"schema\":";
    assert_memory_equal(line + n, key, strlen(key));
    char *sjson = rp_enc_schema_to_json(s);
    assert_non_null(sjson);
    json_t *got = json_loadb(line + n + strlen(key), len - n - strlen(key) - 1, 0, NULL);
    json_t *exp = json_loads(sjson, 0, NULL);
    assert_non_null(got);
    assert_true(json_equal(got, exp));
    assert_int_equal(line[len - 1], '}');
    json_decref(got);
    json_decref(exp);
    rp_free(sjson);
    free(want);
}

/*
 * Every line the writer builds by hand is the text Jansson writes for the same values
 * (compact, keys in order): random records with every attribute in every state, with
 * and without field filters, balanced filters (another base64 padding), a list code
 * that needs escaping.
 */
static void sub_writer__matches_jansson(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    uint64_t s = 777;
    for (int variant = 0; variant < 4; variant++) {
        rp_enc_schema schema = test_schema(variant != 1);
        const char *list = variant == 3 ? "a\"b\\c/d e" : LIST;
        if (variant == 2) {
            schema.balance = true; /* 2048 bits: 256 bytes, base64 ending in "=" */
            schema.fields[RP_ENC_PATRONYMIC].used = false;
        }
        if (variant == 3)
            schema.l = 64; /* 8 bytes: base64 ending in "=" */
        size_t words = rp_enc_schema_bits(&schema) / 64;
        size_t n = 400;
        test_rec *recs = calloc(n, sizeof(*recs));
        assert_non_null(recs);
        full_rec(&recs[0], words);
        for (size_t i = 1; i < n; i++)
            random_rec(&recs[i], words, &s);
        recs[1].blocks.n = RP_ENC_MAX_BLOCKING_KEYS; /* the most keys */
        const char *path = in_dir(dir, "j.jsonl");
        rp_error err = RP_ERROR_INIT;
        rp_sub_writer *w = NULL;
        assert_rp_ok(rp_sub_writer_open(&w, path, list, &schema, &err), &err);
        for (size_t i = 0; i < n; i++)
            assert_rp_ok(rp_sub_writer_add(w, recs[i].id, recs[i].clk, recs[i].ff,
                                           i == 2 ? NULL : &recs[i].blocks, &recs[i].attrs, &err),
                         &err);
        assert_rp_ok(rp_sub_writer_close(w, &err), &err);
        recs[2].blocks.n = 0; /* written without blocking keys */

        size_t len = 0;
        char *data = rp_test_slurp(path, &len);
        char *line = data;
        char *nl = memchr(line, '\n', len);
        assert_non_null(nl);
        check_header(line, (size_t)(nl - line), list, &schema);
        for (size_t i = 0; i < n; i++) {
            line = nl + 1;
            nl = memchr(line, '\n', len - (size_t)(line - data));
            assert_non_null(nl);
            char *want = ref_record(&schema, &recs[i]);
            assert_int_equal((size_t)(nl - line), strlen(want));
            assert_memory_equal(line, want, strlen(want));
            free(want);
        }
        /* The end line: the count and BLAKE2b-256 of every line before it. */
        line = nl + 1;
        unsigned char digest[32];
        char hex[65];
        crypto_generichash(digest, sizeof(digest), (const unsigned char *)data,
                           (size_t)(line - data), NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
        json_t *end = json_object();
        json_object_set_new(end, "end", json_integer((json_int_t)n));
        json_object_set_new(end, "blake2b", json_string(hex));
        char *want = jansson_text(end);
        assert_int_equal(len - (size_t)(line - data), strlen(want) + 1);
        assert_memory_equal(line, want, strlen(want));
        assert_int_equal(data[len - 1], '\n');
        free(want);
        free(data);
        free(recs);
        unlink(path);
    }
    rp_test_rmtree(dir);
}

/* Check rp_encode__json_quote against Jansson on @p len bytes at @p s. */
static void check_quote(const char *s, size_t len)
{
    char *got = malloc(RP_JSON_QUOTE_MAX(len) + 1);
    assert_non_null(got);
    size_t n = rp_encode__json_quote(got, s, len);
    assert_true(n <= RP_JSON_QUOTE_MAX(len));
    json_t *v = json_stringn(s, len);
    assert_non_null(v);
    char *want = jansson_text(v);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    free(want);
    free(got);
}

/* JSON strings escape as Jansson escapes them: every ASCII byte, NULs, UTF-8. */
static void sub_writer__json_quote_matches_jansson(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 128; c++) {
        char one = (char)c;
        check_quote(&one, 1);
    }
    check_quote("", 0);
    check_quote("2016-03-02", 10);
    check_quote("a\"b\\c/d\x7f", 8);
    check_quote("\x01\x1f\b\f\n\r\t \"\\", 11);
    check_quote("\xd0\x9a\xd0\xb8\xd1\x97\xd0\xb2 \xf0\x9f\x98\x80", 14); /* "Київ 😀" */
    uint64_t s = 99;
    for (int i = 0; i < 2000; i++) {
        char buf[64];
        size_t len = below(&s, sizeof(buf));
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)below(&s, 128); /* NULs and control characters included */
        check_quote(buf, len);
    }
}

static void sub_writer__rejects_bad_input(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_error err = RP_ERROR_INIT;
    rp_sub_writer *w = NULL;
    rp_enc_schema schema = test_schema(true);
    const char *path = in_dir(dir, "x.jsonl");

    assert_rp_status(rp_sub_writer_open(&w, path, "", &schema, &err), RP_EINVAL, &err);
    assert_rp_status(rp_sub_writer_open(&w, path, "a\nb", &schema, &err), RP_EINVAL, &err);
    rp_enc_schema bad = schema;
    bad.l = 1000;
    assert_rp_status(rp_sub_writer_open(&w, path, LIST, &bad, &err), RP_EINVAL, &err);
    assert_null(w);
    assert_rp_status(rp_sub_writer_open(&w, in_dir(dir, "no/such/dir.jsonl"), LIST, &schema, &err),
                     RP_EIO, &err);
    assert_int_equal(dir_entries(dir), 0);

    assert_rp_ok(rp_sub_writer_open(&w, path, LIST, &schema, &err), &err);
    test_rec t;
    full_rec(&t, 16);
    /* Field filters are required by this schema. */
    assert_rp_status(rp_sub_writer_add(w, t.id, t.clk, NULL, NULL, &t.attrs, &err), RP_EINVAL,
                     &err);
    /* Attributes that break the standard: nothing is written, the writer goes on. */
    test_rec u = t;
    u.attrs.sex = (rp_sex)9;
    assert_rp_status(rp_sub_writer_add(w, u.id, u.clk, u.ff, NULL, &u.attrs, &err), RP_EDATA, &err);
    assert_non_null(strstr(err.msg, "'sex'"));
    u = t;
    u.attrs.age_band = RP_AGE_BAND_0_8; /* age 17 */
    assert_rp_status(rp_sub_writer_add(w, u.id, u.clk, u.ff, NULL, &u.attrs, &err), RP_EDATA, &err);
    u = t;
    u.blocks.rule[0] = RP_BLOCK_RULE_COUNT;
    assert_rp_status(rp_sub_writer_add(w, u.id, u.clk, u.ff, &u.blocks, &u.attrs, &err), RP_EINVAL,
                     &err);
    u.blocks.n = RP_ENC_MAX_BLOCKING_KEYS + 1;
    assert_rp_status(rp_sub_writer_add(w, u.id, u.clk, u.ff, &u.blocks, &u.attrs, &err), RP_EINVAL,
                     &err);
    /* No attributes at all: every field missing. */
    assert_rp_ok(rp_sub_writer_add(w, t.id, t.clk, t.ff, NULL, NULL, &err), &err);
    assert_rp_ok(rp_sub_writer_close(w, &err), &err);

    rp_sub_reader *r = NULL;
    assert_rp_ok(rp_sub_reader_open(&r, path, NULL, &err), &err);
    rp_sub_record rec;
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 1);
    assert_int_equal(rec.blocking.n, 0);
    assert_int_equal(rec.attrs.age, -1);
    assert_int_equal(rec.attrs.sex, RP_SEX_MISSING);
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 0);
    rp_sub_reader_free(r);

    /* A list code with JSON's special characters comes back as it was. */
    assert_rp_ok(rp_sub_writer_open(&w, path, "a\"b\\c d", &schema, &err), &err);
    assert_rp_ok(rp_sub_writer_close(w, &err), &err);
    assert_rp_ok(rp_sub_reader_open(&r, path, NULL, &err), &err);
    assert_string_equal(rp_sub_reader_list(r), "a\"b\\c d");
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 0);
    rp_sub_reader_free(r);
    rp_test_rmtree(dir);
}

static void sub_writer__failure_leaves_nothing(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_error err = RP_ERROR_INIT;
    rp_enc_schema schema = test_schema(false);
    test_rec t;
    full_rec(&t, 16);

    /* Abort: the temporary file goes. */
    rp_sub_writer *w = NULL;
    assert_rp_ok(rp_sub_writer_open(&w, in_dir(dir, "a.jsonl"), LIST, &schema, &err), &err);
    assert_int_equal(dir_entries(dir), 1);
    assert_rp_ok(rp_sub_writer_add(w, t.id, t.clk, NULL, &t.blocks, &t.attrs, &err), &err);
    rp_sub_writer_abort(w);
    rp_sub_writer_abort(NULL);
    assert_int_equal(dir_entries(dir), 0);

    /* The rename fails (a directory is in the way): the temporary file goes too. */
    const char *path = in_dir(dir, "b.jsonl");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mkdir(in_dir(path, "x"), 0700), 0);
    assert_rp_ok(rp_sub_writer_open(&w, path, LIST, &schema, &err), &err);
    assert_rp_ok(rp_sub_writer_add(w, t.id, t.clk, NULL, &t.blocks, &t.attrs, &err), &err);
    assert_rp_status(rp_sub_writer_close(w, &err), RP_EIO, &err);
    assert_int_equal(dir_entries(dir), 1); /* only the directory */

    /*
     * A write error is reported and nothing is left: a file size limit (RLIMIT_FSIZE,
     * with SIGXFSZ ignored) makes the writes fail with EFBIG, as a full disk would.
     */
    struct rlimit old_limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_true(old_handler != SIG_ERR);
    rp_sub_writer *wf = NULL;
    assert_rp_ok(rp_sub_writer_open(&wf, in_dir(dir, "c.jsonl"), LIST, &schema, &err), &err);
    struct rlimit small = {16384, old_limit.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = RP_OK;
    for (int i = 0; i < 2000 && rc == RP_OK; i++)
        rc = rp_sub_writer_add(wf, t.id, t.clk, NULL, &t.blocks, &t.attrs, &err);
    int close_rc = rp_sub_writer_close(wf, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, old_handler);
    assert_rp_status(rc, RP_EIO, NULL);
    assert_rp_status(close_rc, RP_EIO, &err);
    assert_int_equal(dir_entries(dir), 1);
    rp_test_rmtree(dir);
}

/* The encoder's own output (src/encode/clk.c) goes through unchanged. */
static void sub_writer__encoder_output_round_trips(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_error err = RP_ERROR_INIT;
    const char *secret_path = in_dir(dir, "secret");
    rp_secret *secret = NULL;
    rp_encoder *enc = NULL;
    assert_rp_ok(rp_secret_generate(secret_path, &err), &err);
    assert_rp_ok(rp_secret_load(&secret, secret_path, &err), &err);
    rp_enc_schema schema;
    rp_enc_schema_default(&schema);
    schema.field_filters = true;
    assert_rp_ok(rp_encoder_new(&enc, &schema, secret, &err), &err);
    rp_secret_free(secret);
    const rp_enc_schema *es = rp_encoder_schema(enc);
    size_t words = rp_enc_schema_bits(es) / 64;
    char key_id[17];
    rp_x_strlcpy(key_id, es->key_id, sizeof(key_id));
    assert_int_equal(strlen(key_id), 16);

    static const rp_enc_identifiers ids[] = {
        {.given = "oleksandr",
         .family = "shevchenko",
         .patronymic = "ivanovych",
         .birth = {1990, 5, 17},
         .sex = RP_SEX_MALE},
        {.given = "maria",
         .family = "nguyen",
         .patronymic = "",
         .birth = {1985, 0, 0},
         .sex = RP_SEX_FEMALE},
        {.given = "", .family = "", .patronymic = "", .sex = RP_SEX_MISSING},
    };
    test_rec recs[3];
    for (size_t i = 0; i < 3; i++) {
        memset(&recs[i], 0, sizeof(recs[i]));
        char case_id[16];
        snprintf(case_id, sizeof(case_id), "C-%zu", i);
        rp_encoder_pseudonym(enc, LIST, case_id, recs[i].id);
        assert_rp_ok(
            rp_encoder_encode(enc, &ids[i], i, recs[i].clk, recs[i].ff, &recs[i].blocks, &err),
            &err);
        rp_case_record_init(&recs[i].attrs);
        recs[i].attrs.sex = ids[i].sex;
    }
    const char *path = in_dir(dir, "enc.jsonl");
    write_sub(path, es, recs, 3);
    rp_encoder_free(enc);

    char *data = rp_test_slurp(path, NULL);
    assert_null(strstr(data, "oleksandr"));
    assert_null(strstr(data, "shevchenko"));
    assert_null(strstr(data, "C-0"));
    free(data);

    rp_sub_reader *r = NULL;
    assert_rp_ok(rp_sub_reader_open(&r, path, NULL, &err), &err);
    assert_string_equal(rp_sub_reader_schema(r)->key_id, key_id);
    for (size_t i = 0; i < 3; i++) {
        rp_sub_record rec;
        assert_int_equal(rp_sub_reader_next(r, &rec, &err), 1);
        assert_string_equal(rec.id, recs[i].id);
        assert_memory_equal(rec.clk, recs[i].clk, words * sizeof(uint64_t));
        assert_memory_equal(rec.field_filters, recs[i].ff,
                            RP_ENC_FIELD_COUNT * words * sizeof(uint64_t));
        assert_int_equal(rec.blocking.n, recs[i].blocks.n);
        assert_memory_equal(rec.blocking.keys, recs[i].blocks.keys,
                            rec.blocking.n * sizeof(uint64_t));
        assert_memory_equal(rec.blocking.rule, recs[i].blocks.rule, rec.blocking.n);
    }
    rp_sub_record rec;
    assert_int_equal(rp_sub_reader_next(r, &rec, &err), 0);
    rp_sub_reader_free(r);
    rp_test_rmtree(dir);
}

/* ==== damaged and invalid submissions ==== */

static void sub_reader__rejects_every_truncation(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    size_t len = 0;
    char *data = small_submission(dir, &len);
    rp_error err = RP_ERROR_INIT;
    unsigned long long n = 0;
    assert_rp_ok(read_all_mem(data, len, &err, &n), &err);
    assert_int_equal(n, 2);
    for (size_t cut = 0; cut < len; cut++) {
        rp_error_clear(&err);
        int rc = read_all_mem(data, cut, &err, NULL);
        if (rc != RP_EPARSE) {
            print_error("cut at %zu of %zu: %d %s\n", cut, len, rc, err.msg);
            fail();
        }
        assert_true(err.line >= 1 && err.line <= 4);
        assert_true(err.column >= 1);
        assert_string_equal(err.path, "t.jsonl");
    }
    free(data);
    rp_test_rmtree(dir);
}

static void sub_reader__rejects_every_bit_flip(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    size_t len = 0;
    char *data = small_submission(dir, &len);
    rp_error err = RP_ERROR_INIT;
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            data[i] = (char)(data[i] ^ (1 << bit));
            rp_error_clear(&err);
            int rc = read_all_mem(data, len, &err, NULL);
            if (rc != RP_EPARSE || err.line < 1) {
                print_error("flip of bit %u of byte %zu: %d %s\n", bit, i, rc, err.msg);
                fail();
            }
            data[i] = (char)(data[i] ^ (1 << bit));
        }
    }
    free(data);
    rp_test_rmtree(dir);
}

/* @p s with the first occurrence of @p find replaced by @p repl (malloc). */
static char *replace_once(const char *s, const char *find, const char *repl)
{
    const char *at = strstr(s, find);
    if (at == NULL) {
        fail_msg("'%s' not in the submission", find);
        return NULL;
    }
    size_t n = strlen(s) - strlen(find) + strlen(repl);
    char *out = malloc(n + 1);
    assert_non_null(out);
    int len = snprintf(out, n + 1, "%.*s%s%s", (int)(at - s), s, repl, at + strlen(find));
    assert_int_equal(len, n);
    return out;
}

static void sub_reader__rejects_invalid_content(void **state)
{
    (void)state;

    static const struct {
        const char *find, *repl; /* "" find: append repl */
        long line, column;       /* column 0: any */
        const char *msg;         /* part of the message */
    } cases[] = {
        {"\"format\":\"rapporteur-submission\"", "\"format\":\"csv\"", 1, 1, "not a rapporteur"},
        {"\"version\":1,\"list\"", "\"version\":1,\"extra\":1,\"list\"", 1, 1,
         "header: unknown key 'extra'"},
        {"\"version\":1,\"list\"", "\"version\":2,\"list\"", 1, 1, "unsupported"},
        {"\"created_by\":", "\"created_by\":1,\"x\":", 1, 1, "unknown key 'x'"},
        {"\"created_by\":\"rapporteur " RP_VERSION_STRING "\",", "", 1, 1,
         "missing key 'created_by'"},
        {"\"list\":\"" LIST "\"", "\"list\":\"\"", 1, 1, "'list'"},
        {"\"bits\":1024", "\"bits\":512", 1, 1, "'bits'"},
        {"\"l\":1024", "\"l\":1000", 1, 1, "header: schema:"},
        {"\"balance\":false", "\"balance\":\"no\"", 1, 1, "header: schema:"},
        {"{\"format\"", "[{\"format\"", 1, 0, "invalid JSON"},
        {"{\"id\":", "{\"x\":1,\"id\":", 2, 1, "record: unknown key 'x'"},
        {"{\"id\":", "{\"id\":1,\"id\":", 2, 0, "invalid JSON: duplicate"},
        {"{\"id\":\"", "{\"id\":\"X", 2, 1, "'id'"},
        {"\"clk\":\"", "\"clk\":\"AAAA", 2, 1, "'clk' must be the base64 of 128 bytes"},
        {"\"clk\":\"", "\"clk\":\"*", 2, 1, "'clk'"},
        {"\"clk\":\"", "\"fields\":{},\"clk\":\"", 2, 1, "no field filters"},
        {"\"blocks\":[\"family_year:", "\"blocks\":[\"family:", 2, 1, "blocks[0]"},
        {"family_year:0123456789abcdef", "family_year:0123456789ABCDEF", 2, 1, "blocks[0]"},
        {"family_year:0123456789abcdef", "family_year:0123456789abcde", 2, 1, "blocks[0]"},
        {"\"attrs\":{", "\"attrs\":{\"case_id\":\"A-1\",", 2, 1,
         "attrs.case_id: not allowed in a submission"},
        {"\"attrs\":{", "\"attrs\":{\"name\":\"x\",", 2, 1, "attrs: unknown key 'name'"},
        {"\"sex\":\"female\"", "\"sex\":\"Female\"", 2, 1, "attrs.sex: not a code"},
        {"\"age\":17", "\"age\":\"17\"", 2, 1, "attrs.age"},
        {"\"age\":17", "\"age\":30", 2, 1, "attrs.age_band: breaks rule 'consistency'"},
        {"\"citizenship\":\"NA\"", "\"citizenship\":\"na\"", 2, 1, "attrs.citizenship"},
        {"\"citizenship\":\"NA\"", "\"citizenship\":\"NAM\"", 2, 1, "attrs.citizenship"},
        {"\"exploitation\":[\"sexual\",", "\"exploitation\":[\"sexual\",\"sexual\",", 2, 1,
         "code given twice"},
        {"\"labour_sectors\":[", "\"labour_sectors\":\"unknown\",\"x\":[", 2, 1,
         "attrs.labour_sectors"},
        {"\"registration_date\":\"2016-03-02\"", "\"registration_date\":\"2016-02-30\"", 2, 1,
         "attrs.registration_date"},
        {"{\"end\":2", "{\"end\":3", 4, 1, "end line"},
        {"{\"end\":2,", "{\"end\":2,\"more\":1,", 4, 1, "end line: unknown key 'more'"},
        {"\"blake2b\":\"", "\"blake2b\":\"0", 4, 1, "'blake2b' does not match"},
        {"", "\n", 5, 1, "data after the end line"},
        {"", "{}\n", 5, 1, "data after the end line"},
    };

    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    size_t len = 0;
    char *data = small_submission(dir, &len);
    rp_error err = RP_ERROR_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *bad = NULL;
        if (cases[i].find[0] == '\0') {
            bad = malloc(len + strlen(cases[i].repl) + 1);
            assert_non_null(bad);
            memcpy(bad, data, len);
            memcpy(bad + len, cases[i].repl, strlen(cases[i].repl) + 1);
        } else {
            bad = replace_once(data, cases[i].find, cases[i].repl);
        }
        rp_error_clear(&err);
        int rc = read_all_mem(bad, strlen(bad), &err, NULL);
        char buf[1024];
        if (rc != RP_EPARSE || err.line != cases[i].line ||
            (cases[i].column != 0 && err.column != cases[i].column) ||
            strstr(err.msg, cases[i].msg) == NULL) {
            print_error("case %zu (%s -> %s): rc %d, %s\n", i, cases[i].find, cases[i].repl, rc,
                        rp_error_format(&err, buf, sizeof(buf)));
            fail();
        }
        free(bad);
    }

    /* Truncated files, line by line: the end line is required. */
    const char *end = strstr(data, "{\"end\"");
    assert_non_null(end);
    assert_rp_status(read_all_mem(data, (size_t)(end - data), &err, NULL), RP_EPARSE, &err);
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_rp_status(read_all_mem(data, len - 1, &err, NULL), RP_EPARSE, &err);
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.msg, "no newline"));
    assert_rp_status(read_all_mem("", 0, &err, NULL), RP_EPARSE, &err);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "empty"));
    assert_rp_status(read_all_mem(RP_SEAL_MAGIC "x", 9, &err, NULL), RP_EPERM, &err);

    /* A line over the limit is refused without reading it all in. */
    size_t big = RP_SUB_MAX_LINE + 10;
    char *longline = malloc(big);
    assert_non_null(longline);
    memset(longline, ' ', big);
    assert_rp_status(read_all_mem(longline, big, &err, NULL), RP_EPARSE, &err);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "longer than"));
    free(longline);

    /* After an error the reader stays failed. */
    char *bad = replace_once(data, "\"sex\":\"female\"", "\"sex\":\"x\"");
    rp_sub_reader *r = NULL;
    assert_rp_ok(rp_encode__sub_reader_open_mem(&r, bad, strlen(bad), "t.jsonl", &err), &err);
    rp_sub_record rec;
    assert_rp_status(rp_sub_reader_next(r, &rec, &err), RP_EPARSE, &err);
    assert_rp_status(rp_sub_reader_next(r, &rec, &err), RP_EPARSE, &err);
    assert_non_null(strstr(err.msg, "earlier error"));
    rp_sub_reader_free(r);
    free(bad);

    /* Missing file. */
    assert_rp_status(rp_sub_reader_open(&r, in_dir(dir, "none.jsonl"), NULL, &err), RP_EIO, &err);
    assert_null(r);
    free(data);
    rp_test_rmtree(dir);
}

/* ==== allocation failures ==== */

typedef struct sweep_ctx {
    const char *dir;
    const char *data;
    size_t len;
} sweep_ctx;

static int sweep_read(void *payload)
{
    const sweep_ctx *c = payload;
    rp_error err = RP_ERROR_INIT;
    return read_all_mem(c->data, c->len, &err, NULL);
}

static int sweep_write(void *payload)
{
    const sweep_ctx *c = payload;
    rp_error err = RP_ERROR_INIT;
    rp_enc_schema schema = test_schema(true);
    test_rec t;
    full_rec(&t, 16);
    rp_sub_writer *w = NULL;
    int rc = rp_sub_writer_open(&w, in_dir(c->dir, "w.jsonl"), LIST, &schema, &err);
    for (int i = 0; i < 3 && rc == RP_OK; i++)
        rc = rp_sub_writer_add(w, t.id, t.clk, t.ff, &t.blocks, &t.attrs, &err);
    if (rc == RP_OK) {
        rc = rp_sub_writer_close(w, &err);
    } else {
        rp_sub_writer_abort(w);
    }
    if (rc != RP_OK && dir_entries(c->dir) != 0)
        return RP_EINTERNAL; /* a failure must leave nothing */
    return rc;
}

static void sweep_write_undo(void *payload)
{
    const sweep_ctx *c = payload;
    unlink(in_dir(c->dir, "w.jsonl"));
}

static void sub__alloc_failure_sweep(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    size_t len = 0;
    char *data = small_submission(dir, &len);
    sweep_ctx c = {dir, data, len};
    rp_test_alloc_sweep(sweep_read, NULL, &c, 200);
    rp_test_alloc_sweep(sweep_write, sweep_write_undo, &c, 200);
    free(data);
    rp_test_rmtree(dir);
}

/* ==== sealing ==== */

typedef struct seal_env {
    char dir[512];
    char pub[1024], key[1024];   /* the hub's pair */
    char pub2[1024], key2[1024]; /* another hub's */
} seal_env;

static void seal_env_init(seal_env *e)
{
    rp_error err = RP_ERROR_INIT;
    rp_test_tmpdir(e->dir, sizeof(e->dir));
    snprintf(e->pub, sizeof(e->pub), "%s/hub.pub", e->dir);
    snprintf(e->key, sizeof(e->key), "%s/hub.key", e->dir);
    snprintf(e->pub2, sizeof(e->pub2), "%s/other.pub", e->dir);
    snprintf(e->key2, sizeof(e->key2), "%s/other.key", e->dir);
    assert_rp_ok(rp_hub_keygen(e->pub, e->key, &err), &err);
    assert_rp_ok(rp_hub_keygen(e->pub2, e->key2, &err), &err);
}

/* A file of @p len pseudo-random bytes. */
static void random_file(const char *path, size_t len, uint64_t seed)
{
    unsigned char *b = malloc(len + 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)next_u64(&seed);
    write_bytes(path, b, len);
    free(b);
}

static void seal__round_trip(void **state)
{
    (void)state;
    seal_env e;
    seal_env_init(&e);
    rp_error err = RP_ERROR_INIT;
    /* Sizes around the chunk size: empty, short, one chunk exactly, several. */
    static const size_t sizes[] = {0, 1, 1000, 65535, 65536, 65537, 131072, 200001};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const char *plain = in_dir(e.dir, "plain");
        const char *sealed = in_dir(e.dir, "sealed");
        const char *back = in_dir(e.dir, "back");
        random_file(plain, sizes[i], i + 1);
        assert_rp_ok(rp_seal_file(plain, sealed, e.pub, &err), &err);
        struct stat st;
        assert_int_equal(stat(sealed, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        size_t chunks = sizes[i] / RP_SEAL_CHUNK + 1;
        assert_int_equal((size_t)st.st_size, 8 + 104 + sizes[i] + 17 * chunks);
        char *s = rp_test_slurp(sealed, NULL);
        assert_memory_equal(s, "RPSEAL1\n", 8);
        free(s);
        assert_rp_ok(rp_unseal_file(sealed, back, e.key, &err), &err);
        assert_int_equal(stat(back, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        size_t la = 0, lb = 0;
        char *a = rp_test_slurp(plain, &la);
        char *b = rp_test_slurp(back, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
        unlink(plain);
        unlink(sealed);
        unlink(back);
    }
    assert_int_equal(dir_entries(e.dir), 4); /* the keys only: no temporary file */
    rp_test_rmtree(e.dir);
}

static void seal__sealed_submission_reads_with_hub_key(void **state)
{
    (void)state;
    seal_env e;
    seal_env_init(&e);
    rp_error err = RP_ERROR_INIT;
    rp_enc_schema schema = test_schema(true);
    size_t n = 400; /* over 64 KiB: several chunks */
    test_rec *recs = calloc(n, sizeof(*recs));
    assert_non_null(recs);
    uint64_t s = 3;
    for (size_t i = 0; i < n; i++)
        random_rec(&recs[i], 16, &s);
    const char *plain = in_dir(e.dir, "sub.jsonl");
    const char *sealed = in_dir(e.dir, "sub.sealed");
    write_sub(plain, &schema, recs, n);
    assert_rp_ok(rp_seal_file(plain, sealed, e.pub, &err), &err);

    rp_sub_reader *r = NULL;
    assert_rp_ok(rp_sub_reader_open(&r, sealed, e.key, &err), &err);
    read_and_compare(r, recs, n, true);
    rp_sub_reader_free(r);

    /* Without a key, with the wrong key, with a key others can read. */
    assert_rp_status(rp_sub_reader_open(&r, sealed, NULL, &err), RP_EPERM, &err);
    assert_non_null(strstr(err.msg, "sealed"));
    assert_rp_status(rp_sub_reader_open(&r, sealed, e.key2, &err), RP_EPERM, &err);
    assert_int_equal(chmod(e.key, 0644), 0);
    assert_rp_status(rp_sub_reader_open(&r, sealed, e.key, &err), RP_EPERM, &err);
    assert_int_equal(chmod(e.key, 0600), 0);
    assert_null(r);

    /* An altered chunk in the middle: records before it may come, then RP_EPERM. */
    size_t len = 0;
    char *data = rp_test_slurp(sealed, &len);
    assert_true(len > 8 + 104 + 2 * 65536);
    data[8 + 104 + 65536 + 17 + 100] ^= 0x20;
    const char *bad = in_dir(e.dir, "bad.sealed");
    write_bytes(bad, data, len);
    assert_rp_ok(rp_sub_reader_open(&r, bad, e.key, &err), &err);
    int rc = 1;
    while (rc == 1) {
        rp_sub_record rec;
        rc = rp_sub_reader_next(r, &rec, &err);
    }
    assert_rp_status(rc, RP_EPERM, &err);
    assert_non_null(strstr(err.msg, "chunk 2"));
    rp_sub_reader_free(r);
    free(data);
    free(recs);
    rp_test_rmtree(e.dir);
}

/* Unsealing @p path must fail with @p code and leave no output. */
static void expect_unseal_fails(const seal_env *e, const char *path, const char *key, int code)
{
    rp_error err = RP_ERROR_INIT;
    const char *out = in_dir(e->dir, "out");
    size_t before = dir_entries(e->dir);
    assert_rp_status(rp_unseal_file(path, out, key, &err), code, &err);
    assert_false(exists(out));
    assert_int_equal(dir_entries(e->dir), before);
    assert_true(err.msg[0] != '\0');
}

static void seal__rejects_wrong_key_altered_and_truncated(void **state)
{
    (void)state;
    seal_env e;
    seal_env_init(&e);
    rp_error err = RP_ERROR_INIT;
    const char *plain = in_dir(e.dir, "plain");
    const char *sealed = in_dir(e.dir, "sealed");
    random_file(plain, 3 * 65536 + 5, 42);
    assert_rp_ok(rp_seal_file(plain, sealed, e.pub, &err), &err);
    size_t len = 0;
    char *data = rp_test_slurp(sealed, &len);

    expect_unseal_fails(&e, sealed, e.key2, RP_EPERM);

    /* One flipped bit anywhere: the magic (not a sealed file), the key block, chunks. */
    const char *bad = in_dir(e.dir, "bad");
    const size_t positions[] = {0,   7,           8,           60,      111,      112,
                                113, 112 + 65552, 112 + 65553, len / 2, len - 17, len - 1};
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        data[positions[i]] ^= 0x01;
        write_bytes(bad, data, len);
        expect_unseal_fails(&e, bad, e.key, positions[i] < 8 ? RP_EPARSE : RP_EPERM);
        data[positions[i]] ^= 0x01;
    }
    /* Truncated: inside the key block, at chunk boundaries, inside a chunk; extended. */
    const size_t cuts[] = {0, 8, 50, 112, 112 + 65553, 112 + 2 * 65553, 150000, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        write_bytes(bad, data, cuts[i]);
        expect_unseal_fails(&e, bad, e.key, cuts[i] < 8 ? RP_EPARSE : RP_EPERM);
    }
    char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, data, len);
    longer[len] = 'x';
    write_bytes(bad, longer, len + 1);
    expect_unseal_fails(&e, bad, e.key, RP_EPERM);
    free(longer);
    /* Intact, it still opens. */
    write_bytes(bad, data, len);
    assert_rp_ok(rp_unseal_file(bad, in_dir(e.dir, "out"), e.key, &err), &err);
    unlink(in_dir(e.dir, "out"));
    free(data);
    rp_test_rmtree(e.dir);
}

static void seal__key_files(void **state)
{
    (void)state;
    seal_env e;
    seal_env_init(&e);
    rp_error err = RP_ERROR_INIT;
    const char *plain = in_dir(e.dir, "plain");
    const char *sealed = in_dir(e.dir, "sealed");
    random_file(plain, 100, 1);
    assert_rp_ok(rp_seal_file(plain, sealed, e.pub, &err), &err);

    /* The secret key file must be private. */
    assert_int_equal(chmod(e.key, 0644), 0);
    expect_unseal_fails(&e, sealed, e.key, RP_EPERM);
    assert_int_equal(chmod(e.key, 0640), 0);
    expect_unseal_fails(&e, sealed, e.key, RP_EPERM);
    assert_int_equal(chmod(e.key, 0600), 0);

    /* The public key file is not a secret key, and the other way round. */
    expect_unseal_fails(&e, sealed, e.pub, RP_EPERM);
    const char *out = in_dir(e.dir, "out");
    assert_rp_status(rp_seal_file(plain, out, e.key, &err), RP_EPARSE, &err);
    assert_false(exists(out));
    assert_rp_status(rp_seal_file(plain, out, in_dir(e.dir, "none.pub"), &err), RP_EIO, &err);
    assert_false(exists(out));
    assert_rp_status(rp_seal_file(in_dir(e.dir, "none"), out, e.pub, &err), RP_EIO, &err);
    assert_false(exists(out));
    assert_rp_status(rp_seal_file(plain, out, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_unseal_file(sealed, out, NULL, &err), RP_EINVAL, &err);
    /* Not sealed at all. */
    expect_unseal_fails(&e, plain, e.key, RP_EPARSE);
    /* A damaged secret key file. */
    const char *dmg = in_dir(e.dir, "damaged.key");
    write_bytes(dmg, "rapporteur-hub-secret-key v1\nzz\n", 32);
    assert_int_equal(chmod(dmg, 0600), 0);
    expect_unseal_fails(&e, sealed, dmg, RP_EPARSE);
    assert_false(exists(out));
    rp_test_rmtree(e.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sub_writer__round_trip_random_records),
        cmocka_unit_test(sub_writer__writes_documented_lines),
        cmocka_unit_test(sub_writer__same_input_same_bytes),
        cmocka_unit_test(sub_writer__never_writes_case_or_person_id),
        cmocka_unit_test(sub_writer_add_valid__same_bytes),
        cmocka_unit_test(sub_writer__matches_jansson),
        cmocka_unit_test(sub_writer__json_quote_matches_jansson),
        cmocka_unit_test(sub_writer__rejects_bad_input),
        cmocka_unit_test(sub_writer__failure_leaves_nothing),
        cmocka_unit_test(sub_writer__encoder_output_round_trips),
        cmocka_unit_test(sub_reader__rejects_every_truncation),
        cmocka_unit_test(sub_reader__rejects_every_bit_flip),
        cmocka_unit_test(sub_reader__rejects_invalid_content),
        cmocka_unit_test(sub__alloc_failure_sweep),
        cmocka_unit_test(seal__round_trip),
        cmocka_unit_test(seal__sealed_submission_reads_with_hub_key),
        cmocka_unit_test(seal__rejects_wrong_key_altered_and_truncated),
        cmocka_unit_test(seal__key_files),
    };
    return cmocka_run_group_tests_name("encode_submission", tests, setup, NULL);
}
