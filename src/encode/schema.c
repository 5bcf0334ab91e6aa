/*
 * Encoding schemas (docs/encoding.md, "Encoding"): the defaults, every rule a schema must
 * meet, and the schema as JSON both ways. A schema records every parameter of an
 * encoding except the secret, and travels with the encoded data, so the hub can check
 * that two submissions were encoded alike (same parameters, same key_id).
 */
#include "common/common_int.h"
#include "encode/encode_int.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <jansson.h>
#include <math.h>

/*
 * The JSON form (rp_enc_schema_to_json), keys always in this order, on one line so that
 * it can sit inside a JSON Lines header:
 *
 *   {"version": 1, "normalise_version": 2, "l": 1024,
 *    "fields": {"given_name": {"used": true, "q": 2, "k": 30, "weight": 0.23}, ...},
 *    "field_filters": false, "shared_name_key": true, "balance": false, "xor_folds": 0,
 *    "salt_birth_year": false, "blip_epsilon": 0, "lsh_bands": 16, "lsh_rows": 16,
 *    "key_id": "", "name_rules": 1, "k_secondary": 15, "pseudonym": 2}
 *
 * When parsing, "version" is required and every other key is optional (its default
 * then applies). A field missing from "fields" is unused; inside a field object "used"
 * defaults to true and q, k, weight to the field's defaults. Unknown keys are errors.
 * The exception is "name_rules": schemas written before it existed encoded every word
 * alike, so a missing "name_rules" means 0 (off), and with it off neither key is
 * written: such a schema reads and writes as before, byte for byte. "pseudonym" follows
 * the same pattern: schemas written before it existed made pseudonyms with keyed
 * BLAKE2b-128, so a missing "pseudonym" means RP_ENC_PSEUDONYM_BLAKE2B (1), which is
 * never written; the default RP_ENC_PSEUDONYM_SIPHASH (2) is.
 */

#define PATH_LEN 128

/*
 * Hash positions per bigram of a secondary name word under name_rules: half the name
 * fields' k = 30 (docs/encoding.md "Naming conventions": a name and the same name with
 * its secondary words dropped reach Dice 0.85 and more on the transliteration cases,
 * while two Spanish names that differ in the surname stay below 0.8 from names alone;
 * with the same birth date and sex they reach 0.81-0.84, the accepted trade-off).
 */
#define K_SECONDARY_DEFAULT 15u
#define SCHEMA_MAX_JSON     ((size_t)1 << 16)

/* ==== defaults ==== */

/*
 * Defaults per field (docs/encoding.md "Defaults, and why" explains the tuning on FEBRL4,
 * the transliteration cases and the simulated names). A full record (a 6-letter given
 * name, an 8-letter family name, a 7-letter patronymic, a full birth date, sex, an
 * 8-character document number and a 25-bigram address: 919 bit insertions) sets about
 * 59% of 1024 bits; a record with names, birth date and sex only (575) about 43%. Given
 * and family names share q and k, as shared_name_key requires. weight is the share of a
 * full record's insertions each field makes (informational: the k values are what
 * realise it).
 */
static const rp_enc_field_spec field_defaults[RP_ENC_FIELD_COUNT] = {
    [RP_ENC_GIVEN_NAME] = {true, 2, 30, 0.23}, [RP_ENC_FAMILY_NAME] = {true, 2, 30, 0.29},
    [RP_ENC_PATRONYMIC] = {true, 2, 8, 0.07},  [RP_ENC_BIRTH_DATE] = {true, 1, 20, 0.09},
    [RP_ENC_SEX] = {true, 1, 15, 0.02},        [RP_ENC_DOCUMENT] = {true, 2, 15, 0.11},
    [RP_ENC_ADDRESS] = {true, 2, 7, 0.19},
};

static const char *const field_names[RP_ENC_FIELD_COUNT] = {
    [RP_ENC_GIVEN_NAME] = "given_name",
    [RP_ENC_FAMILY_NAME] = "family_name",
    [RP_ENC_PATRONYMIC] = "patronymic",
    [RP_ENC_BIRTH_DATE] = "birth_date",
    [RP_ENC_SEX] = "sex",
    [RP_ENC_DOCUMENT] = "document",
    [RP_ENC_ADDRESS] = "address",
};

const char *rp_encode__field_name(rp_enc_field f)
{
    if ((unsigned)f >= RP_ENC_FIELD_COUNT)
        return NULL;
    return field_names[f];
}

/* Fields encoded as q-grams (names, document, address): q applies to them only. */
static bool is_qgram_field(unsigned f)
{
    return f == RP_ENC_GIVEN_NAME || f == RP_ENC_FAMILY_NAME || f == RP_ENC_PATRONYMIC ||
           f == RP_ENC_DOCUMENT || f == RP_ENC_ADDRESS;
}

void rp_enc_schema_default(rp_enc_schema *s)
{
    memset(s, 0, sizeof(*s));
    s->version = RP_ENC_SCHEMA_VERSION;
    s->normalise_version = RP_NORMALISE_VERSION;
    s->l = 1024;
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++)
        s->fields[f] = field_defaults[f];
    s->field_filters = false;
    s->shared_name_key = true;
    s->balance = false;
    s->xor_folds = 0;
    s->salt_birth_year = false;
    s->blip_epsilon = 0.0;
    s->lsh_bands = 16;
    s->lsh_rows = 16;
    s->key_id[0] = '\0';
    s->name_rules = RP_ENC_NAME_RULES;
    s->k_secondary = K_SECONDARY_DEFAULT;
    s->pseudonym = RP_ENC_PSEUDONYM_SIPHASH;
}

unsigned rp_enc_schema_bits(const rp_enc_schema *s)
{
    unsigned bits = s->balance ? 2u * s->l : s->l;
    for (unsigned i = 0; i < s->xor_folds && bits > 1; i++)
        bits /= 2u;
    return bits;
}

/* ==== rules ==== */

static bool is_hex_id(const char *s)
{
    size_t n = 0;
    for (; n < 17 && s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return n == 16;
}

/* BLIP and LSH settings of a schema whose CLK has @p bits bits. */
static int check_hardening(const rp_enc_schema *s, unsigned bits, rp_error *err)
{
    if (!isfinite(s->blip_epsilon) || s->blip_epsilon < 0.0 || s->blip_epsilon > RP_ENC_EPS_MAX)
        return rp_error_set(err, RP_EINVAL, "blip_epsilon: expected 0 (off) or a number in (0, %g]",
                            RP_ENC_EPS_MAX);
    if (s->blip_epsilon > 0.0 && s->field_filters)
        return rp_error_set(err, RP_EINVAL,
                            "blip_epsilon: BLIP cannot be combined with field_filters (every bit "
                            "would be released twice with independent noise, so the guarantee "
                            "would be 2 epsilon or worse, not epsilon)");
    if (s->lsh_bands > RP_ENC_BANDS_MAX)
        return rp_error_set(err, RP_EINVAL, "lsh_bands: expected an integer 0..%u",
                            RP_ENC_BANDS_MAX);
    if (s->lsh_bands > 0 &&
        (s->lsh_rows < 1 || s->lsh_rows > RP_ENC_ROWS_MAX || s->lsh_rows > bits))
        return rp_error_set(err, RP_EINVAL,
                            "lsh_rows: expected an integer 1..%u, at most the %u bits of the CLK",
                            RP_ENC_ROWS_MAX, bits);
    return RP_OK;
}

/* name_rules and k_secondary: 1..k of each used name field (given, family). */
static int check_name_rules(const rp_enc_schema *s, rp_error *err)
{
    if (s->name_rules > RP_ENC_NAME_RULES)
        return rp_error_set(err, RP_EINVAL,
                            "name_rules: rule set %u is not supported (this build applies 0 "
                            "(off) or %d)",
                            s->name_rules, RP_ENC_NAME_RULES);
    if (s->name_rules == 0)
        return RP_OK;
    static const unsigned names[] = {RP_ENC_GIVEN_NAME, RP_ENC_FAMILY_NAME};
    for (size_t i = 0; i < RP_ARRAY_LEN(names); i++) {
        const rp_enc_field_spec *fs = &s->fields[names[i]];
        if (fs->used && (s->k_secondary < 1 || s->k_secondary > fs->k))
            return rp_error_set(err, RP_EINVAL,
                                "k_secondary: expected an integer 1..%u (fields.%s.k) when "
                                "name_rules is on",
                                fs->k, field_names[names[i]]);
    }
    return RP_OK;
}

int rp_encode__schema_check(const rp_enc_schema *s, rp_error *err)
{
    if (s->version != RP_ENC_SCHEMA_VERSION)
        return rp_error_set(err, RP_EINVAL,
                            "version: encoding schema version %u is not supported (this build "
                            "reads version %d)",
                            s->version, RP_ENC_SCHEMA_VERSION);
    if (s->normalise_version < 1 || s->normalise_version > RP_NORMALISE_VERSION)
        return rp_error_set(err, RP_EINVAL,
                            "normalise_version: %u is not supported (this build normalises "
                            "with version %d)",
                            s->normalise_version, RP_NORMALISE_VERSION);
    if (s->l < RP_ENC_L_MIN || s->l > RP_ENC_L_MAX || s->l % 64u != 0)
        return rp_error_set(err, RP_EINVAL, "l: expected a multiple of 64 in %u..%u", RP_ENC_L_MIN,
                            RP_ENC_L_MAX);
    unsigned used = 0;
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        const rp_enc_field_spec *fs = &s->fields[f];
        if (!fs->used)
            continue;
        used++;
        if (is_qgram_field(f) && (fs->q < 1 || fs->q > RP_ENC_Q_MAX))
            return rp_error_set(err, RP_EINVAL, "fields.%s.q: expected an integer 1..%u",
                                field_names[f], RP_ENC_Q_MAX);
        if (fs->k < 1 || fs->k > RP_ENC_K_MAX)
            return rp_error_set(err, RP_EINVAL, "fields.%s.k: expected an integer 1..%u",
                                field_names[f], RP_ENC_K_MAX);
        if (!isfinite(fs->weight) || fs->weight < 0.0 || fs->weight > 1.0)
            return rp_error_set(err, RP_EINVAL, "fields.%s.weight: expected a number in [0, 1]",
                                field_names[f]);
    }
    if (used == 0)
        return rp_error_set(err, RP_EINVAL, "fields: no field is used");
    const rp_enc_field_spec *g = &s->fields[RP_ENC_GIVEN_NAME];
    const rp_enc_field_spec *fam = &s->fields[RP_ENC_FAMILY_NAME];
    if (s->shared_name_key && g->used && fam->used && (g->q != fam->q || g->k != fam->k))
        return rp_error_set(err, RP_EINVAL,
                            "fields.family_name.%s: must equal fields.given_name.%s when "
                            "shared_name_key is true (swapped names must encode alike)",
                            g->q != fam->q ? "q" : "k", g->q != fam->q ? "q" : "k");
    if (s->xor_folds > RP_ENC_FOLDS_MAX)
        return rp_error_set(err, RP_EINVAL, "xor_folds: expected an integer 0..%u",
                            RP_ENC_FOLDS_MAX);
    unsigned bits = rp_enc_schema_bits(s);
    if (bits < 64 || bits % 64u != 0)
        return rp_error_set(err, RP_EINVAL,
                            "xor_folds: %u folds of %u bits leave %u bits, not a multiple of 64",
                            s->xor_folds, s->balance ? 2u * s->l : s->l, bits);
    int rc = check_hardening(s, bits, err);
    if (rc == RP_OK)
        rc = check_name_rules(s, err);
    if (rc != RP_OK)
        return rc;
    if (s->pseudonym != RP_ENC_PSEUDONYM_BLAKE2B && s->pseudonym != RP_ENC_PSEUDONYM_SIPHASH)
        return rp_error_set(err, RP_EINVAL,
                            "pseudonym: construction %u is not supported (this build makes %d, "
                            "keyed BLAKE2b-128, and %d, SipHash-2-4-128)",
                            s->pseudonym, RP_ENC_PSEUDONYM_BLAKE2B, RP_ENC_PSEUDONYM_SIPHASH);
    if (memchr(s->key_id, '\0', sizeof(s->key_id)) == NULL)
        return rp_error_set(err, RP_EINVAL, "key_id: not a string");
    if (s->key_id[0] && !is_hex_id(s->key_id))
        return rp_error_set(err, RP_EINVAL, "key_id: expected \"\" or 16 lower-case hex digits");
    return RP_OK;
}

/* ==== JSON: parse ==== */

typedef struct pctx {
    rp_error *err;
} pctx;

static int bad(const pctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A schema error at JSON path @p path: "path: what". @return RP_EINVAL. */
static int bad(const pctx *c, const char *path, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set(c->err, RP_EINVAL, "%s: %s", path, what);
}

/* "parent.key" (or "key" at the top) into @p buf (PATH_LEN bytes). @return @p buf. */
static const char *join(char *buf, const char *parent, const char *key)
{
    int n = snprintf(buf, PATH_LEN, "%s%s%s", parent, parent[0] ? "." : "", key);
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4);
    return buf;
}

/* Every key of @p obj must be one of @p keys. @return RP_OK; RP_EINVAL at the key. */
static int
check_keys(const pctx *c, json_t *obj, const char *path, const char *const *keys, size_t n_keys)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < n_keys && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (known)
            continue;
        char sub[PATH_LEN];
        /* The key is schema text, not personal data: safe to name. Cut long ones. */
        char shown[48];
        rp_x_strlcpy(shown, key, sizeof(shown));
        return bad(c, join(sub, path, shown), "unknown key");
    }
    return RP_OK;
}

/* Optional unsigned integer @p key of @p obj in [lo, hi]. */
static int get_uint(const pctx *c,
                    json_t *obj,
                    const char *parent,
                    const char *key,
                    unsigned lo,
                    unsigned hi,
                    unsigned *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j)
        return RP_OK;
    char sub[PATH_LEN];
    if (!json_is_integer(j) || json_integer_value(j) < (json_int_t)lo ||
        json_integer_value(j) > (json_int_t)hi)
        return bad(c, join(sub, parent, key), "expected an integer %u..%u", lo, hi);
    *out = (unsigned)json_integer_value(j);
    return RP_OK;
}

/* Optional finite number @p key of @p obj in [lo, hi]. */
static int get_double(const pctx *c,
                      json_t *obj,
                      const char *parent,
                      const char *key,
                      double lo,
                      double hi,
                      double *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j)
        return RP_OK;
    char sub[PATH_LEN];
    double x = json_is_number(j) ? json_number_value(j) : NAN;
    if (!isfinite(x) || x < lo || x > hi)
        return bad(c, join(sub, parent, key), "expected a number in [%g, %g]", lo, hi);
    *out = x;
    return RP_OK;
}

/* Optional boolean @p key of @p obj. */
static int get_bool(const pctx *c, json_t *obj, const char *parent, const char *key, bool *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j)
        return RP_OK;
    if (!json_is_boolean(j)) {
        char sub[PATH_LEN];
        return bad(c, join(sub, parent, key), "expected true or false");
    }
    *out = json_is_true(j);
    return RP_OK;
}

static int parse_field(const pctx *c, json_t *j, unsigned f, rp_enc_field_spec *out)
{
    static const char *const keys[] = {"used", "q", "k", "weight"};
    char path[PATH_LEN];
    join(path, "fields", field_names[f]);
    if (!json_is_object(j))
        return bad(c, path, "expected an object");
    int rc = check_keys(c, j, path, keys, RP_ARRAY_LEN(keys));
    *out = field_defaults[f];
    if (rc == RP_OK)
        rc = get_bool(c, j, path, "used", &out->used);
    if (rc == RP_OK)
        rc = get_uint(c, j, path, "q", 1, RP_ENC_Q_MAX, &out->q);
    if (rc == RP_OK)
        rc = get_uint(c, j, path, "k", 1, RP_ENC_K_MAX, &out->k);
    if (rc == RP_OK)
        rc = get_double(c, j, path, "weight", 0.0, 1.0, &out->weight);
    return rc;
}

/* "fields" (NULL when absent: the defaults stay). Fields missing from it are unused. */
static int parse_fields(const pctx *c, json_t *fields, rp_enc_schema *s)
{
    if (!fields)
        return RP_OK;
    if (!json_is_object(fields))
        return bad(c, "fields", "expected an object of field name: field encoding");
    int rc = check_keys(c, fields, "fields", field_names, RP_ENC_FIELD_COUNT);
    for (unsigned f = 0; rc == RP_OK && f < RP_ENC_FIELD_COUNT; f++) {
        json_t *fj = json_object_get(fields, field_names[f]);
        if (fj) {
            rc = parse_field(c, fj, f, &s->fields[f]);
        } else {
            s->fields[f] = field_defaults[f];
            s->fields[f].used = false;
        }
    }
    return rc;
}

/* "name_rules" (missing: 0, off, as in schemas written before it) and "k_secondary". */
static int parse_name_rules(const pctx *c, json_t *root, rp_enc_schema *s)
{
    s->name_rules = 0;
    int rc = get_uint(c, root, "", "name_rules", 0, RP_ENC_NAME_RULES, &s->name_rules);
    if (rc == RP_OK)
        rc = get_uint(c, root, "", "k_secondary", 1, RP_ENC_K_MAX, &s->k_secondary);
    if (rc == RP_OK && s->name_rules == 0 && json_object_get(root, "k_secondary"))
        rc = bad(c, "k_secondary", "only with %s on", "name_rules");
    if (s->name_rules == 0)
        s->k_secondary = 0;
    return rc;
}

/*
 * "pseudonym" (missing: 1, keyed BLAKE2b-128, as in schemas written before it). A value
 * this build does not make is refused, naming the ones it does.
 */
static int parse_pseudonym(const pctx *c, json_t *root, rp_enc_schema *s)
{
    s->pseudonym = RP_ENC_PSEUDONYM_BLAKE2B;
    json_t *j = json_object_get(root, "pseudonym");
    if (!j)
        return RP_OK;
    if (!json_is_integer(j) || (json_integer_value(j) != RP_ENC_PSEUDONYM_BLAKE2B &&
                                json_integer_value(j) != RP_ENC_PSEUDONYM_SIPHASH))
        return bad(c, "pseudonym",
                   "construction not supported (this build makes %d, keyed BLAKE2b-128, and "
                   "%d, SipHash-2-4-128)",
                   RP_ENC_PSEUDONYM_BLAKE2B, RP_ENC_PSEUDONYM_SIPHASH);
    s->pseudonym = (unsigned)json_integer_value(j);
    return RP_OK;
}

static int parse_root(const pctx *c, json_t *root, rp_enc_schema *s)
{
    static const char *const keys[] = {
        "version",         "normalise_version", "l",           "fields",
        "field_filters",   "shared_name_key",   "balance",     "xor_folds",
        "salt_birth_year", "blip_epsilon",      "lsh_bands",   "lsh_rows",
        "key_id",          "name_rules",        "k_secondary", "pseudonym"};
    if (!json_is_object(root))
        return bad(c, "(top)", "expected an encoding schema object");
    int rc = check_keys(c, root, "", keys, RP_ARRAY_LEN(keys));
    if (rc != RP_OK)
        return rc;

    json_t *v = json_object_get(root, "version");
    if (!v)
        return bad(c, "version", "missing (this build reads version %d)", RP_ENC_SCHEMA_VERSION);
    if (!json_is_integer(v) || json_integer_value(v) != RP_ENC_SCHEMA_VERSION)
        return bad(c, "version",
                   "encoding schema version not supported (this build reads "
                   "version %d)",
                   RP_ENC_SCHEMA_VERSION);
    s->version = RP_ENC_SCHEMA_VERSION;
    json_t *nv = json_object_get(root, "normalise_version");
    if (nv && (!json_is_integer(nv) || json_integer_value(nv) < 1 ||
               json_integer_value(nv) > RP_NORMALISE_VERSION))
        return bad(c, "normalise_version",
                   "normalisation version not supported (this build normalises with version "
                   "%d)",
                   RP_NORMALISE_VERSION);
    if (nv)
        s->normalise_version = (unsigned)json_integer_value(nv);

    rc = get_uint(c, root, "", "l", RP_ENC_L_MIN, RP_ENC_L_MAX, &s->l);
    if (rc == RP_OK && s->l % 64u != 0)
        rc = bad(c, "l", "expected a multiple of 64 in %u..%u", RP_ENC_L_MIN, RP_ENC_L_MAX);
    if (rc != RP_OK)
        return rc;

    rc = parse_fields(c, json_object_get(root, "fields"), s);
    if (rc != RP_OK)
        return rc;

    rc = get_bool(c, root, "", "field_filters", &s->field_filters);
    if (rc == RP_OK)
        rc = get_bool(c, root, "", "shared_name_key", &s->shared_name_key);
    if (rc == RP_OK)
        rc = get_bool(c, root, "", "balance", &s->balance);
    if (rc == RP_OK)
        rc = get_uint(c, root, "", "xor_folds", 0, RP_ENC_FOLDS_MAX, &s->xor_folds);
    if (rc == RP_OK)
        rc = get_bool(c, root, "", "salt_birth_year", &s->salt_birth_year);
    if (rc == RP_OK)
        rc = get_double(c, root, "", "blip_epsilon", 0.0, RP_ENC_EPS_MAX, &s->blip_epsilon);
    if (rc == RP_OK)
        rc = get_uint(c, root, "", "lsh_bands", 0, RP_ENC_BANDS_MAX, &s->lsh_bands);
    if (rc == RP_OK)
        rc = get_uint(c, root, "", "lsh_rows", 0, RP_ENC_ROWS_MAX, &s->lsh_rows);
    if (rc == RP_OK)
        rc = parse_name_rules(c, root, s);
    if (rc == RP_OK)
        rc = parse_pseudonym(c, root, s);
    if (rc != RP_OK)
        return rc;

    json_t *kid = json_object_get(root, "key_id");
    if (kid) {
        const char *t = json_is_string(kid) ? json_string_value(kid) : NULL;
        if (!t || (t[0] && (json_string_length(kid) != 16 || !is_hex_id(t))))
            return bad(c, "key_id", "expected \"\" or 16 lower-case hex digits");
        rp_x_strlcpy(s->key_id, t, sizeof(s->key_id));
    }
    return RP_OK;
}

int rp_enc_schema_parse(rp_enc_schema *s, const char *json, size_t len, rp_error *err)
{
    pctx c = {err};
    json_t *root = NULL;
    int rc = RP_OK;
    if (len > SCHEMA_MAX_JSON) {
        rc = rp_error_set(err, RP_EINVAL, "encoding schema larger than %zu bytes", SCHEMA_MAX_JSON);
        goto out;
    }
    json_error_t jerr;
    root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        else
            /* jansson's text names a token or position, never a whole value. */
            rc = rp_error_set_at(err, RP_EINVAL, "", jerr.line, jerr.column,
                                 "encoding schema: invalid JSON%s%s", jerr.text[0] ? ": " : "",
                                 jerr.text);
        goto out;
    }
    rp_enc_schema tmp;
    rp_enc_schema_default(&tmp);
    rc = parse_root(&c, root, &tmp);
    if (rc == RP_OK)
        rc = rp_encode__schema_check(&tmp, err);
    if (rc == RP_OK)
        *s = tmp;
out:
    json_decref(root);
    return rc;
}

/* ==== JSON: write ==== */

/* The shortest of %.15g, %.16g, %.17g that reads back as @p x exactly. */
static void put_double(rp_x_buf *b, double x)
{
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
        double back = 0.0;
        if (rp_x_parse_double(tmp, -HUGE_VAL, HUGE_VAL, &back) == 0 && back == x)
            break;
    }
    rp_x_buf_puts(b, tmp);
}

char *rp_enc_schema_to_json(const rp_enc_schema *s)
{
    rp_x_buf b = RP_X_BUF_INIT;
    rp_x_buf_printf(&b, "{\"version\": %u, \"normalise_version\": %u, \"l\": %u, \"fields\": {",
                    s->version, s->normalise_version, s->l);
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        const rp_enc_field_spec *fs = &s->fields[f];
        rp_x_buf_printf(&b, "%s\"%s\": {\"used\": %s, \"q\": %u, \"k\": %u, \"weight\": ",
                        f ? ", " : "", field_names[f], fs->used ? "true" : "false", fs->q, fs->k);
        put_double(&b, fs->weight);
        rp_x_buf_putc(&b, '}');
    }
    rp_x_buf_printf(&b,
                    "}, \"field_filters\": %s, \"shared_name_key\": %s, \"balance\": %s, "
                    "\"xor_folds\": %u, \"salt_birth_year\": %s, \"blip_epsilon\": ",
                    s->field_filters ? "true" : "false", s->shared_name_key ? "true" : "false",
                    s->balance ? "true" : "false", s->xor_folds,
                    s->salt_birth_year ? "true" : "false");
    put_double(&b, s->blip_epsilon);
    /* key_id is hex or "" after rp_encode__schema_check(); anything else is written as "". */
    char kid[17];
    size_t kn = 0;
    for (; kn < 16 && s->key_id[kn]; kn++)
        kid[kn] = s->key_id[kn];
    kid[kn] = '\0';
    if (kn != 16 || !is_hex_id(kid))
        kid[0] = '\0';
    rp_x_buf_printf(&b, ", \"lsh_bands\": %u, \"lsh_rows\": %u, \"key_id\": \"%s\"", s->lsh_bands,
                    s->lsh_rows, kid);
    /* off: not written, so that the schema is the one written before name_rules existed */
    if (s->name_rules)
        rp_x_buf_printf(&b, ", \"name_rules\": %u, \"k_secondary\": %u", s->name_rules,
                        s->k_secondary);
    /* 1 (BLAKE2b): not written, so that the schema is the one written before the key existed */
    if (s->pseudonym != RP_ENC_PSEUDONYM_BLAKE2B)
        rp_x_buf_printf(&b, ", \"pseudonym\": %u", s->pseudonym);
    rp_x_buf_putc(&b, '}');
    return rp_x_buf_detach(&b);
}
