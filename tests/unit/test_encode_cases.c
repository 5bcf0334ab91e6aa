/*
 * The acceptance test of issue 5 on data/names/transliteration_cases.csv: for every case,
 * the two spellings of the same person (variant_a, variant_b, and the native form)
 * normalise and encode into CLKs whose Dice coefficient is at least 0.8; spellings of
 * different people (cases with another native name) stay below 0.8. The whole chain is
 * the one `rapporteur encode` runs: rp_normalise_name, then rp_encoder_encode with the
 * default schema (naming-convention rules on), the case's language and a fixed secret.
 */
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CASES 128

typedef struct tcase {
    char id[8];
    char native[128], a[128], b[128];
    char lang[4]; /* "" when the note compares two languages */
} tcase;

static tcase cases[MAX_CASES];
static size_t n_cases;
static char names_dir[2100];

/* Minimal CSV: fields may be quoted with "" escapes; no newlines inside. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        f[n++] = p;
        if (*p == '"') {
            char *r = p + 1;
            for (;;) {
                if (*r == '"' && r[1] == '"') {
                    *out++ = '"';
                    r += 2;
                } else if (*r == '"' || *r == '\0') {
                    break;
                } else {
                    *out++ = *r++;
                }
            }
            if (*r == '"') {
                r++;
            }
            *out = '\0';
            p = r;
            if (*p == ',') {
                p++;
                continue;
            }
            break;
        }
        char *c = strchr(p, ',');
        if (c == NULL) {
            break;
        }
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int setup(void **state)
{
    (void)state;
    rp_init();
    char fx[2048];
    rp_test_fixture(fx, sizeof fx, "");
    snprintf(names_dir, sizeof names_dir, "%s/../../data/names", fx);
    char path[2200];
    snprintf(path, sizeof path, "%s/transliteration_cases.csv", names_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[2048];
    bool header = true;
    while (fgets(line, sizeof line, f) && n_cases < MAX_CASES) {
        line[strcspn(line, "\r\n")] = '\0';
        if (header) {
            header = false;
            continue;
        }
        char *fl[8];
        if (csv_split(line, fl, 8) < 6) {
            continue;
        }
        tcase *c = &cases[n_cases++];
        snprintf(c->id, sizeof c->id, "%s", fl[0]);
        snprintf(c->native, sizeof c->native, "%s", fl[2]);
        snprintf(c->a, sizeof c->a, "%s", fl[3]);
        snprintf(c->b, sizeof c->b, "%s", fl[4]);
        /* the note starts with the language: "uk: ...", "uk vs ru: ..." */
        const char *note = fl[5];
        c->lang[0] = '\0';
        if (strlen(note) > 3 && note[2] == ':' && note[0] >= 'a' && note[0] <= 'z') {
            c->lang[0] = note[0];
            c->lang[1] = note[1];
            c->lang[2] = '\0';
        }
    }
    fclose(f);
    return n_cases >= 70 ? 0 : -1;
}

typedef struct chain {
    rp_normaliser *norm;
    rp_encoder *enc;
    size_t words;
} chain;

/*
 * Eight fixed secrets. The Dice of two encodings varies a little with the secret (bits
 * of different bigrams collide differently), so every claim is checked under each of
 * them, and the same secrets give the same numbers on every run.
 */
#define N_SECRETS 8

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

static void chain_open(chain *ch, size_t secret)
{
    rp_error err = RP_ERROR_INIT;
    char eq[2300];
    snprintf(eq, sizeof eq, "%s/equivalents.csv", names_dir);
    assert_rp_ok(rp_normaliser_new(&ch->norm, eq, &err), &err);
    /* a fixed secret, so that the Dice values (which vary a little with the key through
       hash collisions) are the same on every run */
    char tmp[1024], key[1100];
    rp_test_tmpdir(tmp, sizeof tmp);
    snprintf(key, sizeof key, "%s/secret.key", tmp);
    FILE *kf = fopen(key, "w");
    assert_non_null(kf);
    char hex[65];
    secret_hex(secret, hex);
    fprintf(kf, "%s\n", hex);
    fclose(kf);
    assert_int_equal(chmod(key, 0600), 0);
    rp_secret *s = NULL;
    assert_rp_ok(rp_secret_load(&s, key, &err), &err);
    rp_enc_schema sc;
    rp_enc_schema_default(&sc);
    assert_rp_ok(rp_encoder_new(&ch->enc, &sc, s, &err), &err);
    rp_secret_free(s);
    rp_test_rmtree(tmp);
    ch->words = rp_enc_schema_bits(rp_encoder_schema(ch->enc)) / 64;
}

static void chain_close(chain *ch)
{
    rp_normaliser_free(ch->norm);
    rp_encoder_free(ch->enc);
}

/*
 * The whole name in its natural order, given name first: "Family, Given" (the comma
 * form rp_normalise_full_name reads) becomes "Given Family", as a person would write it.
 * This changes the input of the 0.8 check, which normalised each recording as written
 * before the naming-convention rules: of the cases only TC069 has the comma form
 * ("García-López, María", now "María García-López"), and the rules need its first word
 * to be the given name, the core word of a Spanish name. With every word alike the order
 * changes nothing (each word is padded apart, so the token set is the same).
 */
static void natural_order(const char *name, char *out, size_t out_size)
{
    const char *comma = strchr(name, ',');
    if (comma == NULL) {
        snprintf(out, out_size, "%s", name);
    } else {
        snprintf(out, out_size, "%s %.*s", comma + 1, (int)(comma - name), name);
    }
}

/*
 * Normalise @p name as one name (all its words, given name first) and encode it as the
 * family name, with the case's language: with no given name, the family field's first
 * word is the given name in use (docs/encoding.md "Naming conventions").
 */
static void encode_name(chain *ch, const char *name, const char *lang, uint64_t *clk)
{
    char whole[300], norm[RP_NAME_MAX];
    rp_error err = RP_ERROR_INIT;
    natural_order(name, whole, sizeof whole);
    assert_rp_ok(rp_normalise_name(ch->norm, whole, lang[0] ? lang : NULL, norm, sizeof norm, &err),
                 &err);
    rp_enc_identifiers id;
    memset(&id, 0, sizeof id);
    id.given = "";
    id.family = norm;
    id.patronymic = "";
    id.lang = lang[0] ? lang : NULL;
    assert_rp_ok(rp_encoder_encode(ch->enc, &id, 0, clk, NULL, NULL, &err), &err);
}

/*
 * The same, the way a full-name column is read: rp_normalise_full_name splits the name
 * into given and family names (the family name the last word, or what a comma says),
 * both encoded with the case's language.
 */
static void encode_split(chain *ch, const char *name, const char *lang, uint64_t *clk)
{
    char given[RP_NAME_MAX], family[RP_NAME_MAX];
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_normalise_full_name(ch->norm, name, false, lang[0] ? lang : NULL, given,
                                        sizeof given, family, sizeof family, &err),
                 &err);
    rp_enc_identifiers id;
    memset(&id, 0, sizeof id);
    id.given = given;
    id.family = family;
    id.patronymic = "";
    id.lang = lang[0] ? lang : NULL;
    assert_rp_ok(rp_encoder_encode(ch->enc, &id, 0, clk, NULL, NULL, &err), &err);
}

/*
 * The cases where one recording drops a whole name part (TC059 the father's name, TC068
 * the second surname, TC069 the first, TC070 a middle surname and "da"): the shorter
 * name's bigrams are a subset of the longer's, so with every word weighted alike their
 * Dice is capped near 2|B| / (|A| + |B|), about 0.8. The naming-convention rules give
 * the dropped words k_secondary positions, which lifts them above 0.85 by construction
 * (docs/encoding.md "Naming conventions"); they are reported.
 */
static bool dropped_part_case(const char *id)
{
    return strcmp(id, "TC059") == 0 || strcmp(id, "TC068") == 0 || strcmp(id, "TC069") == 0 ||
           strcmp(id, "TC070") == 0;
}

static void cases__variants_of_one_person_reach_dice_08(void **state)
{
    (void)state;
    double lowest[MAX_CASES];
    for (size_t i = 0; i < MAX_CASES; i++) {
        lowest[i] = 1.0;
    }
    for (size_t sec = 0; sec < N_SECRETS; sec++) {
        chain ch;
        chain_open(&ch, sec);
        uint64_t *x = calloc(ch.words * 2, sizeof *x);
        assert_non_null(x);
        for (size_t i = 0; i < n_cases; i++) {
            encode_name(&ch, cases[i].a, cases[i].lang, x);
            encode_name(&ch, cases[i].b, cases[i].lang, x + ch.words);
            double d = rp_dice(x, x + ch.words, ch.words);
            lowest[i] = d < lowest[i] ? d : lowest[i];
        }
        free(x);
        chain_close(&ch);
    }
    int failures = 0;
    double worst = 1.0;
    const char *worst_id = "";
    for (size_t i = 0; i < n_cases; i++) {
        bool gap = dropped_part_case(cases[i].id);
        double floor_ = 0.80;
        if (gap) {
            print_message("%s (a name part dropped): lowest Dice %.3f over %d secrets\n",
                          cases[i].id, lowest[i], N_SECRETS);
        } else if (lowest[i] < worst) {
            worst = lowest[i];
            worst_id = cases[i].id;
        }
        if (lowest[i] < floor_) {
            print_message("%s: Dice %.3f below %.2f\n", cases[i].id, lowest[i], floor_);
            failures++;
        }
    }
    print_message("%zu cases: lowest Dice of the others %.3f (%s) over %d secrets\n", n_cases,
                  worst, worst_id, N_SECRETS);
    assert_int_equal(failures, 0);
}

/* The languages with a naming-convention rule: their cases also go through the split. */
static bool rule_language(const char *lang)
{
    return strcmp(lang, "es") == 0 || strcmp(lang, "pt") == 0 || strcmp(lang, "ar") == 0;
}

/*
 * The cases of the languages with a rule, read as a full-name column is (given and
 * family names split by rp_normalise_full_name): the rules must not depend on where the
 * split falls, so they too reach 0.8.
 */
static void cases__split_names_of_rule_languages_reach_dice_08(void **state)
{
    (void)state;
    int failures = 0, checked = 0;
    for (size_t sec = 0; sec < N_SECRETS; sec++) {
        chain ch;
        chain_open(&ch, sec);
        uint64_t *x = calloc(ch.words * 2, sizeof *x);
        assert_non_null(x);
        for (size_t i = 0; i < n_cases; i++) {
            if (!rule_language(cases[i].lang)) {
                continue;
            }
            encode_split(&ch, cases[i].a, cases[i].lang, x);
            encode_split(&ch, cases[i].b, cases[i].lang, x + ch.words);
            double d = rp_dice(x, x + ch.words, ch.words);
            checked++;
            if (d < 0.80) {
                print_message("%s (split): Dice %.3f below 0.80 under secret %zu\n", cases[i].id, d,
                              sec);
                failures++;
            }
        }
        free(x);
        chain_close(&ch);
    }
    assert_true(checked >= 8 * N_SECRETS);
    assert_int_equal(failures, 0);
}

static void cases__different_people_stay_below_08(void **state)
{
    (void)state;
    int failures = 0, pairs = 0, same_name = 0;
    double worst = 0.0;
    for (size_t sec = 0; sec < N_SECRETS; sec++) {
        chain ch;
        chain_open(&ch, sec);
        uint64_t *enc = calloc(ch.words * n_cases, sizeof *enc);
        char(*norm)[RP_NAME_MAX] = calloc(n_cases, sizeof *norm);
        assert_non_null(enc);
        assert_non_null(norm);
        for (size_t i = 0; i < n_cases; i++) {
            rp_error err = RP_ERROR_INIT;
            encode_name(&ch, cases[i].a, cases[i].lang, enc + i * ch.words);
            assert_rp_ok(rp_normalise_name(ch.norm, cases[i].a,
                                           cases[i].lang[0] ? cases[i].lang : NULL, norm[i],
                                           RP_NAME_MAX, &err),
                         &err);
        }
        for (size_t i = 0; i < n_cases; i++) {
            for (size_t j = i + 1; j < n_cases; j++) {
                /* the same native name in two cases is the same name, not another person */
                if (strcmp(cases[i].native, cases[j].native) == 0) {
                    continue;
                }
                /* cross-language forms of one name that the equivalence table makes one
                   (Gjergj, Georgios, Giorgi: George) are the same name, not unrelated ones */
                if (strcmp(norm[i], norm[j]) == 0) {
                    if (sec == 0) {
                        print_message("%s and %s are one name after normalisation\n", cases[i].id,
                                      cases[j].id);
                        same_name++;
                    }
                    continue;
                }
                pairs++;
                double d = rp_dice(enc + i * ch.words, enc + j * ch.words, ch.words);
                worst = d > worst ? d : worst;
                if (d >= 0.8) {
                    print_message("%s vs %s: Dice %.3f\n", cases[i].id, cases[j].id, d);
                    failures++;
                }
            }
        }
        free(norm);
        free(enc);
        chain_close(&ch);
    }
    print_message("%d pairs of different people under %d secrets, highest Dice %.3f\n", pairs,
                  N_SECRETS, worst);
    assert_true(pairs > 2000 * N_SECRETS);
    assert_true(same_name < 10);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cases__variants_of_one_person_reach_dice_08),
        cmocka_unit_test(cases__split_names_of_rule_languages_reach_dice_08),
        cmocka_unit_test(cases__different_people_stay_below_08),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
