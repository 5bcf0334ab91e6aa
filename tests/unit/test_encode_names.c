/*
 * Naming conventions in the encoder (src/encode/name_rules.c, docs/encoding.md "Naming
 * conventions"): the rule table per language, the language of a citizenship, the k of
 * every word against a reference construction, byte-identical encodings without a rule,
 * the Dice of names with a dropped part, the trade-offs on full records (the figures of
 * the docs), and the schema keys name_rules and k_secondary (old schemas read as off).
 */
#include "encode/encode_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WORDS_MAX    (RP_ENC_BITS_MAX / 64u)

static char tmpdir[512];
static rp_secret *secret_k; /* the known bytes 00 01 .. 1f */
static rp_secret *secret_r; /* another fixed one: every figure is the same on every run */

/* The eight fixed secrets of test_encode_cases.c, for the figures on full records. */
#define N_SECRETS 8
static rp_secret *secrets8[N_SECRETS];

static const unsigned char known_master[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                               11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                               22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* A secret file with @p hex (mode 0600). 0 on success. */
static int write_secret(const char *path, const char *hex)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = write(fd, hex, strlen(hex));
    close(fd);
    return n == (ssize_t)strlen(hex) ? 0 : -1;
}

/* Secret @p i of the eight (test_encode_cases.c secret_hex), as 64 hex digits. */
static void secret_hex(size_t i, char hex[65])
{
    uint64_t x = 0x5f2c8e0b7a4d3c1eull + 0x9E3779B97F4A7C15ull * (i + 1);
    for (size_t w = 0; w < 4; w++) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        snprintf(hex + 16 * w, 17, "%016llx", (unsigned long long)x);
    }
}

static int setup(void **state)
{
    (void)state;
    rp_init();
    if (sodium_init() < 0) {
        return -1;
    }
    rp_test_tmpdir(tmpdir, sizeof(tmpdir));
    char kpath[700], rpath[700];
    snprintf(kpath, sizeof(kpath), "%s/k.key", tmpdir);
    snprintf(rpath, sizeof(rpath), "%s/r.key", tmpdir);
    static const char known[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    static const char other[] =
        "5f2c8e0b7a4d3c1e9e3779b97f4a7c15bf58476d1ce4e5b994d049bb133111eb\n";
    if (write_secret(kpath, known) != 0 || write_secret(rpath, other) != 0) {
        return -1;
    }
    if (rp_secret_load(&secret_k, kpath, NULL) != RP_OK ||
        rp_secret_load(&secret_r, rpath, NULL) != RP_OK) {
        return -1;
    }
    for (size_t i = 0; i < N_SECRETS; i++) {
        char path[700], hex[66];
        snprintf(path, sizeof(path), "%s/s%zu.key", tmpdir, i);
        secret_hex(i, hex);
        hex[64] = '\n';
        hex[65] = '\0';
        if (write_secret(path, hex) != 0 || rp_secret_load(&secrets8[i], path, NULL) != RP_OK) {
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rp_secret_free(secret_k);
    rp_secret_free(secret_r);
    for (size_t i = 0; i < N_SECRETS; i++) {
        rp_secret_free(secrets8[i]);
    }
    rp_test_rmtree(tmpdir);
    return 0;
}

static rp_encoder *encoder(const rp_enc_schema *s, const rp_secret *secret)
{
    rp_encoder *e = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_encoder_new(&e, s, secret, &err), &err);
    return e;
}

/* A record with names only (and a birth year, for salting, when @p year is not 0). */
static rp_enc_identifiers names(const char *lang, const char *given, const char *family, int year)
{
    rp_enc_identifiers id;
    memset(&id, 0, sizeof(id));
    id.given = given;
    id.family = family;
    id.patronymic = "";
    id.birth.year = year;
    id.sex = RP_SEX_MISSING;
    id.lang = lang;
    return id;
}

static void encode(const rp_encoder *e, const rp_enc_identifiers *id, uint64_t *clk)
{
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_encoder_encode(e, id, 0, clk, NULL, NULL, &err), &err);
}

/* ==== the rule table ==== */

/* Check field @p f of @p id against @p want: one letter a word, C core, S secondary;
   NULL: no rule (every word gets k). */
static void check_roles(
    const rp_enc_schema *s, const rp_enc_identifiers *id, unsigned f, const char *want, size_t row)
{
    rp_encode__word_ks got;
    memset(&got, 0, sizeof(got));
    bool rule = rp_encode__name_word_ks(s, id, f, &got);
    if (rule != (want != NULL)) {
        print_message("row %zu, field %u: rule %d, expected %d\n", row, f, rule, want != NULL);
        fail();
    }
    if (!rule || want == NULL) {
        assert_int_equal(got.n, 0); /* untouched */
        return;
    }
    assert_int_equal(got.n, strlen(want));
    for (size_t w = 0; w < got.n; w++) {
        unsigned k = want[w] == 'C' ? s->fields[f].k : s->k_secondary;
        if (got.k[w] != k) {
            print_message("row %zu, field %u, word %zu: k %u, expected %u\n", row, f, w, got.k[w],
                          k);
            fail();
        }
    }
}

static void names__rule_table_per_language(void **state)
{
    (void)state;
    rp_enc_schema s;
    rp_enc_schema_default(&s);
    assert_int_equal(s.name_rules, RP_ENC_NAME_RULES);
    assert_int_equal(s.k_secondary, 15);

    static const struct {
        const char *lang, *given, *family;
        const char *want_given, *want_family; /* NULL: no rule */
    } table[] = {
        /* Spanish: the first given name is core, both surnames secondary */
        {"es", "maria jose", "garcia lopez", "CS", "SS"},
        {"es", "maria", "garcia", "C", "S"},
        {"ca", "maria", "garcia lopez", "C", "SS"},
        {"gl", "maria", "garcia lopez", "C", "SS"},
        {"ES", "maria", "garcia lopez", "C", "SS"},
        {"es-MX", "maria", "garcia lopez", "C", "SS"},
        {"es_AR", "  maria  ", " garcia   lopez ", "C", "SS"},
        /* Portuguese and Arabic: the first given name and the last family word */
        {"pt", "maria fernanda", "costa silva", "CS", "SC"},
        {"pt_BR", "joao", "pereira da silva", "C", "SSC"},
        {"pt", "joao", "silva", "C", "C"},
        {"ar", "ahmad", "mohamad hasan ali", "C", "SSC"},
        {"ar", "ahmad mohamad", "ali", "CS", "C"},
        /* Arabic prefixes: a given name of two words */
        {"ar", "abd rahman", "ali", "CC", "C"},
        {"ar", "abd rahman mohamad", "ali", "CCS", "C"},
        {"ar", "abu bakr", "ali", "CC", "C"},
        {"ar", "umm kulthum", "ali", "CC", "C"},
        {"ar", "abd", "ali", "C", "C"},
        {"es", "abd rahman", "ali", "CS", "S"}, /* Arabic only */
        /* no given name: the family field holds the whole name, given name first */
        {"es", "", "maria garcia lopez", "", "CSS"},
        {"pt", " ", "joao pereira silva", "", "CSC"},
        {"ar", "", "ahmad mohamad ali", "", "CSC"},
        {"ar", "", "abd rahman mohamad ali", "", "CCSC"},
        {"ar", "", "ali", "", "C"},
        /* no rule */
        {NULL, "maria jose", "garcia lopez", NULL, NULL},
        {"", "maria jose", "garcia lopez", NULL, NULL},
        {"e", "maria jose", "garcia lopez", NULL, NULL},
        {"esp", "maria jose", "garcia lopez", NULL, NULL},
        {"en", "mary ann", "smith jones", NULL, NULL},
        {"uk", "anna maria", "kovalenko", NULL, NULL},
        {"fa", "mohamad reza", "ahmadi", NULL, NULL},
        {"zh", "vei", "zang", NULL, NULL},
    };

    for (size_t i = 0; i < ARRAY_LEN(table); i++) {
        rp_enc_identifiers id = names(table[i].lang, table[i].given, table[i].family, 0);
        check_roles(&s, &id, RP_ENC_GIVEN_NAME, table[i].want_given, i);
        check_roles(&s, &id, RP_ENC_FAMILY_NAME, table[i].want_family, i);
        /* never the patronymic or the address */
        check_roles(&s, &id, RP_ENC_PATRONYMIC, NULL, i);
        check_roles(&s, &id, RP_ENC_ADDRESS, NULL, i);
    }
    /* off: no rule for any language */
    rp_enc_schema off = s;
    off.name_rules = 0;
    rp_enc_identifiers es = names("es", "maria", "garcia lopez", 0);
    check_roles(&off, &es, RP_ENC_GIVEN_NAME, NULL, 0);
    check_roles(&off, &es, RP_ENC_FAMILY_NAME, NULL, 0);
    /* a given-name field the schema does not use counts as no given name */
    rp_enc_schema nog = s;
    nog.fields[RP_ENC_GIVEN_NAME].used = false;
    rp_enc_identifiers pt = names("pt", "x", "joao pereira silva", 0);
    check_roles(&nog, &pt, RP_ENC_FAMILY_NAME, "CSC", 0);
    /* k_secondary above k (a schema with another k) is held to k */
    rp_enc_schema big = s;
    big.k_secondary = 64;
    rp_encode__word_ks got;
    assert_true(rp_encode__name_word_ks(&big, &pt, RP_ENC_FAMILY_NAME, &got));
    assert_int_equal(got.k[1], s.fields[RP_ENC_FAMILY_NAME].k);
    /* the longest name: every word has its k */
    char many[RP_NAME_MAX];
    for (size_t i = 0; i + 1 < sizeof(many); i++) {
        many[i] = i % 2 ? ' ' : 'a';
    }
    many[sizeof(many) - 1] = '\0';
    rp_enc_identifiers lots = names("pt", "x", many, 0);
    assert_true(rp_encode__name_word_ks(&s, &lots, RP_ENC_FAMILY_NAME, &got));
    assert_int_equal(got.n, RP_ENC_NAME_WORDS_MAX);
    assert_int_equal(got.k[0], s.k_secondary);
    assert_int_equal(got.k[got.n - 1], s.fields[RP_ENC_FAMILY_NAME].k);
}

/* ==== the naming culture of a citizenship ==== */

static void names__lang_of_citizenship(void **state)
{
    (void)state;

    static const struct {
        const char *alpha2;
        const char *lang; /* NULL: none */
    } table[] = {
        /* Spanish */
        {"ES", "es"},
        {"MX", "es"},
        {"AR", "es"},
        {"CU", "es"},
        {"UY", "es"},
        {"GQ", "es"},
        /* Portuguese */
        {"PT", "pt"},
        {"BR", "pt"},
        {"AO", "pt"},
        {"MZ", "pt"},
        {"TL", "pt"},
        /* Arabic */
        {"SY", "ar"},
        {"IQ", "ar"},
        {"EG", "ar"},
        {"MA", "ar"},
        {"PS", "ar"},
        {"MR", "ar"},
        /* languages without a naming-convention rule */
        {"UA", "uk"},
        {"RU", "ru"},
        {"BY", "ru"},
        {"KZ", "ru"},
        {"GR", "el"},
        {"CY", "el"},
        {"BG", "bg"},
        {"RS", "sr"},
        {"MK", "mk"},
        {"GE", "ka"},
        {"AM", "hy"},
        {"CN", "zh"},
        {"IR", "fa"},
        {"AF", "fa"},
        /* not in the table */
        {"FR", NULL},
        {"GB", NULL},
        {"NG", NULL},
        {"NA", NULL}, /* Namibia */
        {"XK", NULL},
        {"ZZ", NULL},
        /* not an upper-case alpha-2 code */
        {"es", NULL},
        {"Es", NULL},
        {"eS", NULL},
        {"sy", NULL},
        {"", NULL},
        {"E", NULL},
        {"ESP", NULL},
        {"ES ", NULL},
        {" ES", NULL},
        {"es-MX", NULL},
        {"\xc3\x89S", NULL},
    };

    for (size_t i = 0; i < ARRAY_LEN(table); i++) {
        const char *got = rp_enc_lang_of_citizenship(table[i].alpha2);
        if (table[i].lang == NULL ? got != NULL : got == NULL || strcmp(got, table[i].lang) != 0) {
            print_message("row %zu: got %s, expected %s\n", i, got ? got : "NULL",
                          table[i].lang ? table[i].lang : "NULL");
            fail();
        }
    }
    assert_null(rp_enc_lang_of_citizenship(NULL));
    /* a static string: the same pointer every time */
    assert_ptr_equal(rp_enc_lang_of_citizenship("ES"), rp_enc_lang_of_citizenship("ES"));

    /* the whole table, pinned: every two-letter code, counted by language */
    static const struct {
        const char *lang;
        size_t want;
    } counts[] = {{"es", 20}, {"pt", 8}, {"ar", 19}, {"ru", 4}, {"el", 2}, {"fa", 2}, {"uk", 1},
                  {"bg", 1},  {"sr", 1}, {"mk", 1},  {"ka", 1}, {"hy", 1}, {"zh", 1}};

    size_t got_counts[ARRAY_LEN(counts)] = {0};
    size_t total = 0;
    rp_enc_schema s;
    rp_enc_schema_default(&s);
    for (int a = 'A'; a <= 'Z'; a++) {
        for (int b = 'A'; b <= 'Z'; b++) {
            char code[3] = {(char)a, (char)b, '\0'};
            const char *lang = rp_enc_lang_of_citizenship(code);
            if (lang == NULL) {
                continue;
            }
            total++;
            size_t c = 0;
            while (c < ARRAY_LEN(counts) && strcmp(counts[c].lang, lang) != 0) {
                c++;
            }
            if (c == ARRAY_LEN(counts)) {
                print_message("%s: unexpected language %s\n", code, lang);
                fail();
            }
            got_counts[c]++;
            /* the encoder has a rule for exactly es, pt and ar of these */
            rp_enc_identifiers id = names(lang, "maria jose", "garcia lopez", 0);
            rp_encode__word_ks ks;
            bool rule = rp_encode__name_word_ks(&s, &id, RP_ENC_FAMILY_NAME, &ks);
            assert_int_equal(rule, strcmp(lang, "es") == 0 || strcmp(lang, "pt") == 0 ||
                                       strcmp(lang, "ar") == 0);
        }
    }
    assert_int_equal(total, 62);
    for (size_t c = 0; c < ARRAY_LEN(counts); c++) {
        if (got_counts[c] != counts[c].want) {
            print_message("%s: %zu countries, expected %zu\n", counts[c].lang, got_counts[c],
                          counts[c].want);
            fail();
        }
    }
}

/* ==== the k of every word, against the reference construction ==== */

/* The k positions of @p tok (docs/encoding.md "Encoding"), set in @p flt. */
static void
ref_token(uint64_t *flt, unsigned k, unsigned l, const char *salt, const char *tok, size_t tok_len)
{
    unsigned char key[32];
    crypto_kdf_derive_from_key(key, sizeof(key), 21 /* names, shared_name_key */, "rpencode",
                               known_master);
    for (unsigned j = 0; j * 16u < k; j++) {
        /* BLAKE2b-512(key, j || salt_len || salt || token) */
        unsigned char head[2] = {(unsigned char)j, (unsigned char)strlen(salt)};
        crypto_generichash_state st;
        crypto_generichash_init(&st, key, sizeof(key), 64);
        crypto_generichash_update(&st, head, sizeof(head));
        crypto_generichash_update(&st, (const unsigned char *)salt, strlen(salt));
        crypto_generichash_update(&st, (const unsigned char *)tok, tok_len);
        unsigned char d[64];
        crypto_generichash_final(&st, d, sizeof(d));
        for (size_t i = 0; i < 16 && (size_t)j * 16u + i < k; i++) {
            uint32_t h = (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
                         (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;
            unsigned p = (unsigned)(((uint64_t)h * l) >> 32);
            flt[p / 64] |= (uint64_t)1 << (p % 64);
        }
    }
}

/* The q-grams of one word, padded with '_', with @p k positions each. */
static void
ref_word(uint64_t *flt, unsigned q, unsigned k, unsigned l, const char *salt, const char *word)
{
    char pw[260];
    int len = snprintf(pw, sizeof(pw), "_%s_", word);
    assert_true(len > 0 && (size_t)len < sizeof(pw));
    size_t n = (size_t)len;
    if (n < q) {
        ref_token(flt, k, l, salt, pw, n);
        return;
    }
    for (size_t g = 0; g + q <= n; g++) {
        ref_token(flt, k, l, salt, pw + g, q);
    }
}

typedef struct word_k {
    const char *word;
    unsigned k; /* 0: the end of the list; 1: secondary (k_secondary); 2: core (k) */
} word_k;

#define SEC  1u
#define CORE 2u

static const struct {
    const char *lang;
    const char *given;
    const char *family;
    word_k words[8]; /* every word of both fields with its role */
} records[] = {
    {"es",
     "maria jose",
     "garcia lopez",
     {{"maria", CORE}, {"jose", SEC}, {"garcia", SEC}, {"lopez", SEC}}},
    {"es", "", "maria garcia lopez", {{"maria", CORE}, {"garcia", SEC}, {"lopez", SEC}}},
    {"es", "ana", "ruiz", {{"ana", CORE}, {"ruiz", SEC}}},
    {"pt", "joao", "pereira silva", {{"joao", CORE}, {"pereira", SEC}, {"silva", CORE}}},
    {"pt", "", "joao pereira silva", {{"joao", CORE}, {"pereira", SEC}, {"silva", CORE}}},
    {"pt_BR",
     "  maria   fernanda ",
     " da  costa silva ",
     {{"maria", CORE}, {"fernanda", SEC}, {"da", SEC}, {"costa", SEC}, {"silva", CORE}}},
    {"ar",
     "ahmad",
     "mohamad hasan ali",
     {{"ahmad", CORE}, {"mohamad", SEC}, {"hasan", SEC}, {"ali", CORE}}},
    {"ar", "", "ahmad mohamad ali", {{"ahmad", CORE}, {"mohamad", SEC}, {"ali", CORE}}},
    {"ar", "ahmad", "ali", {{"ahmad", CORE}, {"ali", CORE}}},
    {"ar",
     "abd rahman mohamad",
     "hasan ali",
     {{"abd", CORE}, {"rahman", CORE}, {"mohamad", SEC}, {"hasan", SEC}, {"ali", CORE}}},
    /* q-grams outside the table's alphabet are hashed: the same first k positions */
    {"es",
     "jos\xc3\xa9",
     "garc\xc3\xad"
     "a",
     {{"jos\xc3\xa9", CORE},
      {"garc\xc3\xad"
       "a",
       SEC}}},
    /* no rule: every word core */
    {"uk", "anna maria", "kovalenko", {{"anna", CORE}, {"maria", CORE}, {"kovalenko", CORE}}},
    {NULL, "", "joao pereira silva", {{"joao", CORE}, {"pereira", CORE}, {"silva", CORE}}},
};

static void ref_record(uint64_t *flt, const rp_enc_schema *s, size_t r, const char *salt)
{
    memset(flt, 0, s->l / 8);
    unsigned q = s->fields[RP_ENC_FAMILY_NAME].q;
    unsigned k = s->fields[RP_ENC_FAMILY_NAME].k;
    for (size_t w = 0; w < ARRAY_LEN(records[r].words) && records[r].words[w].k; w++) {
        unsigned kw = records[r].words[w].k == CORE || s->name_rules == 0 ? k : s->k_secondary;
        ref_word(flt, q, kw, s->l, salt, records[r].words[w].word);
    }
}

static void names__k_per_word_matches_the_reference(void **state)
{
    (void)state;

    static const struct {
        unsigned q;
        unsigned k_secondary;
        bool salt;
        bool rules;
    } configs[] = {
        {2, 15, false, true},  /* the defaults (checked below): table path */
        {2, 15, true, true},   /* salted tables */
        {2, 10, false, true},  /* other k_secondary */
        {2, 1, false, true},   /* the least */
        {2, 30, false, true},  /* the most: every word alike */
        {4, 7, false, true},   /* q = 4: no table, every q-gram hashed */
        {2, 15, false, false}, /* off */
    };

    rp_enc_schema defaults;
    rp_enc_schema_default(&defaults);
    assert_int_equal(configs[0].q, defaults.fields[RP_ENC_FAMILY_NAME].q);
    assert_int_equal(configs[0].k_secondary, defaults.k_secondary);

    for (size_t c = 0; c < ARRAY_LEN(configs); c++) {
        rp_enc_schema s;
        rp_enc_schema_default(&s);
        s.fields[RP_ENC_GIVEN_NAME].q = configs[c].q;
        s.fields[RP_ENC_FAMILY_NAME].q = configs[c].q;
        s.k_secondary = configs[c].k_secondary;
        s.name_rules = configs[c].rules ? RP_ENC_NAME_RULES : 0;
        s.salt_birth_year = configs[c].salt;
        s.fields[RP_ENC_BIRTH_DATE].used = false; /* the year salts, adds no token */
        s.lsh_bands = 0;
        rp_encoder *e = encoder(&s, secret_k);
        for (size_t r = 0; r < ARRAY_LEN(records); r++) {
            rp_enc_identifiers id =
                names(records[r].lang, records[r].given, records[r].family, 1987);
            uint64_t got[WORDS_MAX], want[WORDS_MAX];
            encode(e, &id, got);
            ref_record(want, &s, r, configs[c].salt ? "y:1987" : "");
            if (memcmp(got, want, s.l / 8) != 0) {
                print_message("config %zu, record %zu differs from the reference\n", c, r);
                fail();
            }
        }
        rp_encoder_free(e);
    }
}

/* ==== without a rule, encodings are the ones made before the rules ==== */

static void names__no_rule_is_byte_identical(void **state)
{
    (void)state;
    /* FEBRL-like Latin names, one word and several */
    static const char *const given[] = {"john", "mary ann", "kate", "", "jean luc", "o"};
    static const char *const family[] = {"smith",      "van der berg", "o neill",
                                         "de la cruz", "li",           ""};
    static const char *const langs[] = {NULL, "", "en", "uk", "de", "fa"};
    rp_enc_schema on, off;
    rp_enc_schema_default(&on);
    off = on;
    off.name_rules = 0;
    rp_encoder *e_on = encoder(&on, secret_r);
    rp_encoder *e_off = encoder(&off, secret_r);
    size_t words = rp_enc_schema_bits(&on) / 64;
    for (size_t g = 0; g < ARRAY_LEN(given); g++) {
        for (size_t f = 0; f < ARRAY_LEN(family); f++) {
            rp_enc_identifiers base = names(NULL, given[g], family[f], 1960 + (int)f);
            base.birth.month = 1 + (int)g;
            base.birth.day = 3;
            base.sex = g % 2 ? RP_SEX_FEMALE : RP_SEX_MALE;
            base.document = "AB 1234";
            base.address = "12 high street";
            uint64_t ref[WORDS_MAX];
            encode(e_off, &base, ref);
            for (size_t l = 0; l < ARRAY_LEN(langs); l++) {
                rp_enc_identifiers id = base;
                id.lang = langs[l];
                uint64_t a[WORDS_MAX], b[WORDS_MAX];
                encode(e_on, &id, a);
                encode(e_off, &id, b);
                assert_memory_equal(a, ref, words * sizeof(uint64_t));
                assert_memory_equal(b, ref, words * sizeof(uint64_t));
            }
            /* off means off, whatever the language */
            rp_enc_identifiers es = base;
            es.lang = "es";
            uint64_t c[WORDS_MAX];
            encode(e_off, &es, c);
            assert_memory_equal(c, ref, words * sizeof(uint64_t));
        }
    }
    rp_encoder_free(e_on);
    rp_encoder_free(e_off);
}

/* ==== the Dice of names with a dropped part ==== */

static unsigned popcount(const uint64_t *f, size_t words)
{
    unsigned n = 0;
    for (size_t i = 0; i < words; i++) {
        n += (unsigned)__builtin_popcountll(f[i]);
    }
    return n;
}

static void names__dropped_secondary_words_keep_dice_high(void **state)
{
    (void)state;

    static const struct {
        const char *lang;
        const char *given_a, *family_a, *given_b, *family_b;
    } pairs[] = {
        {"es", "maria", "garcia lopez", "maria", "garcia"},
        {"es", "maria", "garcia lopez", "maria", "lopez"},
        {"es", "", "maria garcia lopez", "", "maria garcia"},
        {"pt", "joao", "pereira silva", "joao", "silva"},
        {"pt", "", "joao pereira silva", "", "joao silva"},
        {"ar", "ahmad", "mohamad ali", "ahmad", "ali"},
        {"ar", "", "ahmad mohamad ali", "", "ahmad ali"},
    };

    const rp_secret *secrets[] = {secret_k, secret_r};
    for (size_t sec = 0; sec < ARRAY_LEN(secrets); sec++) {
        rp_enc_schema s;
        rp_enc_schema_default(&s);
        rp_encoder *on = encoder(&s, secrets[sec]);
        s.name_rules = 0;
        rp_encoder *off = encoder(&s, secrets[sec]);
        size_t words = rp_enc_schema_bits(&s) / 64;
        for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
            rp_enc_identifiers a = names(pairs[i].lang, pairs[i].given_a, pairs[i].family_a, 0);
            rp_enc_identifiers b = names(pairs[i].lang, pairs[i].given_b, pairs[i].family_b, 0);
            uint64_t fa[WORDS_MAX], fb[WORDS_MAX], ga[WORDS_MAX], gb[WORDS_MAX];
            encode(on, &a, fa);
            encode(on, &b, fb);
            encode(off, &a, ga);
            encode(off, &b, gb);
            double d_on = rp_dice(fa, fb, words);
            double d_off = rp_dice(ga, gb, words);
            print_message("%s %s|%s vs %s|%s: Dice %.3f (every word alike %.3f)\n", pairs[i].lang,
                          pairs[i].given_a, pairs[i].family_a, pairs[i].given_b, pairs[i].family_b,
                          d_on, d_off);
            /* 2|B| / (|A| + |B|) with the dropped words at half weight: 0.86 and more
               before collisions, which move it by about 0.02 with the secret */
            assert_true(d_on >= 0.83);
            assert_true(d_on > d_off);
            /* the shorter name's bits are a subset of the longer's: every word that stays
               keeps its role, and a secondary word's bits are a subset of its core bits */
            for (size_t w = 0; w < words; w++) {
                assert_int_equal(fb[w] & ~fa[w], 0);
            }
            /* fewer bits than with every word alike */
            assert_true(popcount(fa, words) < popcount(ga, words));
        }
        rp_encoder_free(on);
        rp_encoder_free(off);
    }
}

/*
 * The price: people of these cultures who differ only in secondary words come closer.
 * Spanish names that differ in the surname stay below 0.8 from names alone (with the
 * same birth date and sex they do not: names__trade_offs_on_full_records); Arabic and
 * Portuguese names that differ only in a middle name cannot (a name with the middle
 * name dropped is within 0.8 of both): they are held below the Dice measured (0.842 and
 * 0.845, 0.833 and 0.820 under the two secrets), so that a change that brings them closer
 * is seen.
 */
static void names__different_people_of_rule_cultures(void **state)
{
    (void)state;

    static const struct {
        const char *lang;
        const char *given_a, *family_a, *given_b, *family_b;
        double below; /* every Dice is below this */
    } pairs[] = {
        {"es", "maria", "garcia", "maria", "lopez", 0.8},
        {"es", "maria", "garcia lopez", "maria", "fernandez ruiz", 0.8},
        {"es", "jose", "garcia lopez", "juan", "garcia lopez", 0.8},
        {"ar", "abd rahman", "haddad", "abd karim", "haddad", 0.8},
        {"ar", "ahmad", "mohamad ali", "ahmad", "hasan ali", 0.855},
        {"pt", "joao", "pereira silva", "joao", "kosta silva", 0.84},
    };

    rp_enc_schema s;
    rp_enc_schema_default(&s);
    const rp_secret *secrets[] = {secret_k, secret_r};
    for (size_t k = 0; k < ARRAY_LEN(secrets); k++) {
        rp_encoder *e = encoder(&s, secrets[k]);
        size_t words = rp_enc_schema_bits(&s) / 64;
        for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
            rp_enc_identifiers a = names(pairs[i].lang, pairs[i].given_a, pairs[i].family_a, 0);
            rp_enc_identifiers b = names(pairs[i].lang, pairs[i].given_b, pairs[i].family_b, 0);
            uint64_t fa[WORDS_MAX], fb[WORDS_MAX];
            encode(e, &a, fa);
            encode(e, &b, fb);
            double d = rp_dice(fa, fb, words);
            print_message("%s %s|%s vs %s|%s: Dice %.3f\n", pairs[i].lang, pairs[i].given_a,
                          pairs[i].family_a, pairs[i].given_b, pairs[i].family_b, d);
            assert_true(d < pairs[i].below);
        }
        rp_encoder_free(e);
    }
}

/* ==== full records: the trade-offs, in numbers ==== */

/* A full record as agencies hold it for this tool: names, birth date 1990-03-14, sex. */
static rp_enc_identifiers
person(const char *lang, const char *given, const char *family, rp_sex sex)
{
    rp_enc_identifiers id = names(lang, given, family, 1990);
    id.birth.month = 3;
    id.birth.day = 14;
    id.sex = sex;
    return id;
}

/*
 * The figures of docs/encoding.md "Naming conventions", "Trade-offs": pairs of full
 * records (names, the same birth date and sex, default schema) under the eight fixed
 * secrets, with the rules on and off. Each bound lies a little outside the range
 * measured, so that a change of the rules, the table or the construction that moves
 * these figures fails here and the text is revisited.
 */
static void names__trade_offs_on_full_records(void **state)
{
    (void)state;

    static const struct {
        const char *lang_a, *given_a, *family_a;
        const char *lang_b, *given_b, *family_b;
        rp_sex sex;
        double on_lo, on_hi;   /* measured 8 secrets, rules on */
        double off_lo, off_hi; /* and off */
    } pairs[] = {
        /* two Spanish women whose records kept different surnames: accepted, >= 0.8
           (0.813-0.835 on, 0.713-0.757 off); given and family split, or the whole name */
        {"es", "maria", "garcia", "es", "maria", "lopez", RP_SEX_FEMALE, 0.80, 0.845, 0.70, 0.77},
        {"es", "", "maria garcia", "es", "", "maria lopez", RP_SEX_FEMALE, 0.80, 0.845, 0.70, 0.77},
        /* the last name dropped where the convention keeps it: costs, but stays >= 0.8
           (ar 0.829-0.862 on, 0.919-0.927 off; pt 0.809-0.826 on, 0.871-0.897 off) */
        {"ar", "ahmad", "mohamad ali", "ar", "ahmad", "mohamad", RP_SEX_MALE, 0.82, 0.87, 0.91,
         0.935},
        {"ar", "", "ahmad mohamad ali", "ar", "", "ahmad mohamad", RP_SEX_MALE, 0.82, 0.87, 0.91,
         0.935},
        {"pt", "maria", "kosta silva", "pt", "maria", "kosta", RP_SEX_FEMALE, 0.80, 0.835, 0.86,
         0.905},
        /* one agency knows the citizenship (es), the other does not (NULL): the same name
           (0.875-0.894 on; identical off), the second surname dropped by the agency
           without it (0.847-0.869) or by the one with it (0.781-0.799; off 0.845-0.864) */
        {"es", "maria", "garcia lopez", NULL, "maria", "garcia lopez", RP_SEX_FEMALE, 0.865, 0.905,
         0.999, 1.0},
        {"es", "maria", "garcia lopez", NULL, "maria", "garcia", RP_SEX_FEMALE, 0.835, 0.88, 0.835,
         0.875},
        {NULL, "maria", "garcia lopez", "es", "maria", "garcia", RP_SEX_FEMALE, 0.77, 0.805, 0.835,
         0.875},
        /* both know it: the gain (0.891-0.912 on, 0.845-0.864 off) */
        {"es", "maria", "garcia lopez", "es", "maria", "garcia", RP_SEX_FEMALE, 0.88, 0.92, 0.835,
         0.875},
    };

    rp_encoder *enc[N_SECRETS][2];
    for (size_t k = 0; k < N_SECRETS; k++) {
        rp_enc_schema s;
        rp_enc_schema_default(&s);
        enc[k][1] = encoder(&s, secrets8[k]);
        s.name_rules = 0;
        enc[k][0] = encoder(&s, secrets8[k]);
    }
    rp_enc_schema d;
    rp_enc_schema_default(&d);
    size_t words = rp_enc_schema_bits(&d) / 64;
    for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
        double lo[2] = {2, 2}, hi[2] = {-1, -1};
        rp_enc_identifiers a =
            person(pairs[i].lang_a, pairs[i].given_a, pairs[i].family_a, pairs[i].sex);
        rp_enc_identifiers b =
            person(pairs[i].lang_b, pairs[i].given_b, pairs[i].family_b, pairs[i].sex);
        for (size_t k = 0; k < N_SECRETS; k++) {
            for (int rules = 0; rules < 2; rules++) {
                uint64_t fa[WORDS_MAX], fb[WORDS_MAX];
                encode(enc[k][rules], &a, fa);
                encode(enc[k][rules], &b, fb);
                double dice = rp_dice(fa, fb, words);
                lo[rules] = dice < lo[rules] ? dice : lo[rules];
                hi[rules] = dice > hi[rules] ? dice : hi[rules];
            }
        }
        print_message("%s %s|%s vs %s %s|%s: Dice %.3f-%.3f (rules off %.3f-%.3f)\n",
                      pairs[i].lang_a ? pairs[i].lang_a : "-", pairs[i].given_a, pairs[i].family_a,
                      pairs[i].lang_b ? pairs[i].lang_b : "-", pairs[i].given_b, pairs[i].family_b,
                      lo[1], hi[1], lo[0], hi[0]);
        assert_true(lo[1] >= pairs[i].on_lo);
        assert_true(hi[1] <= pairs[i].on_hi);
        assert_true(lo[0] >= pairs[i].off_lo);
        assert_true(hi[0] <= pairs[i].off_hi);
    }
    for (size_t k = 0; k < N_SECRETS; k++) {
        rp_encoder_free(enc[k][0]);
        rp_encoder_free(enc[k][1]);
    }
}

/* ==== the schema keys ==== */

/* The default schema as written before name_rules existed (schema version 1). */
static const char old_schema[] =
    "{\"version\": 1, \"normalise_version\": 1, \"l\": 1024, \"fields\": {\"given_name\": "
    "{\"used\": true, \"q\": 2, \"k\": 30, \"weight\": 0.23}, \"family_name\": {\"used\": "
    "true, \"q\": 2, \"k\": 30, \"weight\": 0.29}, \"patronymic\": {\"used\": true, \"q\": 2, "
    "\"k\": 8, \"weight\": 0.07}, \"birth_date\": {\"used\": true, \"q\": 1, \"k\": 20, "
    "\"weight\": 0.09}, \"sex\": {\"used\": true, \"q\": 1, \"k\": 15, \"weight\": 0.02}, "
    "\"document\": {\"used\": true, \"q\": 2, \"k\": 15, \"weight\": 0.11}, \"address\": "
    "{\"used\": true, \"q\": 2, \"k\": 7, \"weight\": 0.19}}, \"field_filters\": false, "
    "\"shared_name_key\": true, \"balance\": false, \"xor_folds\": 0, \"salt_birth_year\": "
    "false, \"blip_epsilon\": 0, \"lsh_bands\": 16, \"lsh_rows\": 16, \"key_id\": \"\"}";

static void names__schema_round_trip_and_old_schemas(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    rp_enc_schema d;
    rp_enc_schema_default(&d);
    char *json = rp_enc_schema_to_json(&d);
    assert_non_null(json);
    assert_non_null(strstr(
        json, "\"key_id\": \"\", \"name_rules\": 1, \"k_secondary\": 15, \"pseudonym\": 2}"));
    rp_enc_schema back;
    assert_rp_ok(rp_enc_schema_parse(&back, json, strlen(json), &err), &err);
    assert_int_equal(back.name_rules, RP_ENC_NAME_RULES);
    assert_int_equal(back.k_secondary, 15);
    char *again = rp_enc_schema_to_json(&back);
    assert_string_equal(again, json);
    rp_free(again);
    rp_free(json);

    /* another k_secondary travels too */
    d.k_secondary = 4;
    json = rp_enc_schema_to_json(&d);
    assert_rp_ok(rp_enc_schema_parse(&back, json, strlen(json), &err), &err);
    assert_int_equal(back.k_secondary, 4);
    rp_free(json);

    /* an old schema: off, and written back byte for byte */
    assert_rp_ok(rp_enc_schema_parse(&back, old_schema, strlen(old_schema), &err), &err);
    assert_int_equal(back.name_rules, 0);
    assert_int_equal(back.k_secondary, 0);
    json = rp_enc_schema_to_json(&back);
    assert_string_equal(json, old_schema);
    rp_free(json);
    /* a minimal one too: a missing name_rules is off, unlike the other keys */
    static const char minimal[] = "{\"version\": 1}";
    assert_rp_ok(rp_enc_schema_parse(&back, minimal, strlen(minimal), &err), &err);
    assert_int_equal(back.name_rules, 0);
    /* and an encoder of the old schema encodes every word alike, whatever the language */
    rp_enc_schema off;
    assert_rp_ok(rp_enc_schema_parse(&off, old_schema, strlen(old_schema), &err), &err);
    rp_enc_schema on;
    rp_enc_schema_default(&on);
    on.name_rules = 0;
    rp_encoder *e1 = encoder(&off, secret_r);
    rp_encoder *e2 = encoder(&on, secret_r);
    rp_enc_identifiers id = names("es", "maria", "garcia lopez", 0);
    uint64_t a[WORDS_MAX], b[WORDS_MAX];
    encode(e1, &id, a);
    encode(e2, &id, b);
    assert_memory_equal(a, b, 1024 / 8);
    rp_encoder_free(e1);
    rp_encoder_free(e2);
}

static void names__schema_rejects_bad_rule_keys(void **state)
{
    (void)state;

    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"{\"version\": 1, \"name_rules\": 2}", "name_rules:"},
        {"{\"version\": 1, \"name_rules\": \"yes\"}", "name_rules:"},
        {"{\"version\": 1, \"name_rules\": 1, \"k_secondary\": 0}", "k_secondary:"},
        {"{\"version\": 1, \"name_rules\": 1, \"k_secondary\": 31}", "k_secondary:"},
        {"{\"version\": 1, \"name_rules\": 1, \"k_secondary\": 2.5}", "k_secondary:"},
        {"{\"version\": 1, \"k_secondary\": 10}", "k_secondary:"},
        {"{\"version\": 1, \"name_rules\": 0, \"k_secondary\": 10}", "k_secondary:"},
        {"{\"version\": 1, \"shared_name_key\": false, \"name_rules\": 1, \"k_secondary\": 9, "
         "\"fields\": {\"given_name\": {}, \"family_name\": {\"k\": 8}}}",
         "k_secondary:"},
    };

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        rp_enc_schema s;
        rp_enc_schema_default(&s);
        rp_error err = RP_ERROR_INIT;
        assert_rp_status(rp_enc_schema_parse(&s, bad[i].json, strlen(bad[i].json), &err), RP_EINVAL,
                         &err);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            print_message("case %zu: %s\n", i, err.msg);
            fail();
        }
    }
    /* the same rule without JSON: an encoder refuses the schema */
    rp_enc_schema s;
    rp_enc_schema_default(&s);
    s.k_secondary = 0;
    rp_encoder *e = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_encoder_new(&e, &s, secret_r, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "k_secondary"));
    assert_null(e);
    s.k_secondary = 10;
    s.name_rules = RP_ENC_NAME_RULES + 1;
    assert_rp_status(rp_encoder_new(&e, &s, secret_r, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "name_rules"));
    /* off: k_secondary is not checked */
    s.name_rules = 0;
    s.k_secondary = 999;
    assert_rp_ok(rp_encoder_new(&e, &s, secret_r, &err), &err);
    rp_encoder_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names__rule_table_per_language),
        cmocka_unit_test(names__lang_of_citizenship),
        cmocka_unit_test(names__k_per_word_matches_the_reference),
        cmocka_unit_test(names__no_rule_is_byte_identical),
        cmocka_unit_test(names__dropped_secondary_words_keep_dice_high),
        cmocka_unit_test(names__different_people_of_rule_cultures),
        cmocka_unit_test(names__trade_offs_on_full_records),
        cmocka_unit_test(names__schema_round_trip_and_old_schemas),
        cmocka_unit_test(names__schema_rejects_bad_rule_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
