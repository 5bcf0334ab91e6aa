/*
 * Unit tests for the simulator's name lists (src/sim/names.c) and romanisation
 * (src/sim/translit.c): loading data/names, every documented load error, the customs of
 * drawn names (female forms, patronymics, two family names, order), reproducibility, the
 * romanisations of data/names/transliteration_cases.csv we can justify, and every name of
 * every locale through every system of its locale.
 */
#include "common/common_int.h"
#include "rp_test.h"
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>

#include <gsl/gsl_rng.h>

/* The 28 locale files of data/names. */
static const char *const all_locales[] = {
    "uk",          "ru", "el",    "ka_GE", "hy", "ar",    "fa",    "zh_CN", "ro", "ro_MD",
    "sr_RS_latin", "pl", "cs_CZ", "sk",    "hu", "lv",    "az",    "tr",    "vi", "en_NG",
    "yo_NG",       "de", "fr",    "it",    "es", "pt_BR", "en_GB", "nl"};

/* data/names in the source tree: $RP_SRC (set by CTest), else next to tests/fixtures. */
static const char *names_dir(char *buf, size_t size)
{
    const char *src = getenv("RP_SRC");
    int n = 0;
    if (src && *src)
        n = snprintf(buf, size, "%s/data/names", src);
    else
#ifdef RP_TEST_DATA_DEFAULT
        n = snprintf(buf, size, "%s/../../data/names", RP_TEST_DATA_DEFAULT);
#else
        n = snprintf(buf, size, "data/names");
#endif
    if (n < 0 || (size_t)n >= size)
        fail_msg("names directory path too long");
    return buf;
}

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* ==== the lists as the files have them (the test's own reading) ==== */

typedef struct row {
    char kind[16], sex[8];
    char *name;
} row;

typedef struct rows {
    row *v;
    size_t n;
    char *text;
} rows;

/* Rows of data/names/<locale>.csv: kind,sex,name (the shipped files quote nothing). */
static rows read_rows(const char *locale)
{
    char dir[1024], path[1200];
    snprintf(path, sizeof(path), "%s/%s.csv", names_dir(dir, sizeof(dir)), locale);
    rows r = {NULL, 0, rp_test_slurp(path, NULL)};
    assert_non_null(r.text);
    char *line = r.text ? strchr(r.text, '\n') : NULL;
    assert_non_null(line);
    if (!line)
        return r;
    line++;
    size_t cap = 0;
    while (*line) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        char *c1 = strchr(line, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        assert_non_null(c2);
        if (r.n == cap) {
            cap = cap ? 2 * cap : 1024;
            r.v = realloc(r.v, cap * sizeof(*r.v));
            assert_non_null(r.v);
        }
        row *w = &r.v[r.n++];
        snprintf(w->kind, sizeof(w->kind), "%.*s", (int)(c1 - line), line);
        snprintf(w->sex, sizeof(w->sex), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
        w->name = c2 + 1;
        if (!end)
            break;
        line = end + 1;
    }
    return r;
}

static void rows_free(rows *r)
{
    free(r->v);
    free(r->text);
}

/* Is @p name in the file's list (@p kind, @p sex); sex NULL = any sex. */
static bool in_list(const rows *r, const char *kind, const char *sex, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].kind, kind) == 0 && (!sex || strcmp(r->v[i].sex, sex) == 0) &&
            strcmp(r->v[i].name, name) == 0)
            return true;
    }
    return false;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static rp_sim_names *load(const char *const *locales, size_t n)
{
    char dir[1024];
    rp_sim_names *nm = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__names_load(&nm, names_dir(dir, sizeof(dir)), locales, n, &err), &err);
    assert_non_null(nm);
    return nm;
}

/* ==== loading ==== */

static void sim_names_load__all_locales(void **state)
{
    (void)state;
    rp_sim_names *nm = load(all_locales, RP_ARRAY_LEN(all_locales));
    for (size_t i = 0; i < RP_ARRAY_LEN(all_locales); i++)
        assert_int_equal(rp_sim__names_index(nm, all_locales[i]), i);
    assert_true(rp_sim__names_index(nm, "bg") == SIZE_MAX);
    assert_true(rp_sim__names_index(nm, NULL) == SIZE_MAX);
    rp_sim__names_free(nm);
    rp_sim__names_free(NULL);
}

static void sim_names_load__same_locale_twice_loads_once(void **state)
{
    (void)state;
    const char *const locs[] = {"hu", "hu", "vi"};
    rp_sim_names *nm = load(locs, 3);
    assert_int_equal(rp_sim__names_index(nm, "hu"), 0);
    assert_int_equal(rp_sim__names_index(nm, "vi"), 1);
    rp_sim__names_free(nm);
}

/* Write @p text to <tmp>/<locale>.csv. */
static void write_file(const char *dir, const char *locale, const char *text)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s.csv", dir, locale);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static void sim_names_load__errors(void **state)
{
    (void)state;

    static const struct {
        const char *text; /* NULL: no file */
        int code;
        long line, column;
        const char *msg_part;
    } cases[] = {
        {NULL, RP_EIO, 0, 0, "cannot open"},
        {"kind,name,sex\ngiven,any,A\n", RP_EPARSE, 1, 1, "expected header"},
        {"kind,sex,name\ngiven,any,A\nsurname,any,B\n", RP_EPARSE, 3, 1, "field 'kind'"},
        {"kind,sex,name\ngiven,any,A\nfamily,other,B\n", RP_EPARSE, 3, 8, "field 'sex'"},
        {"kind,sex,name\ngiven,any,A\nfamily,any\n", RP_EPARSE, 3, 11, "expected 3 fields"},
        {"kind,sex,name\ngiven,any,A,B\n", RP_EPARSE, 2, 12, "expected 3 fields"},
        {"kind,sex,name\ngiven,any,\"A\nfamily,any,B\n", RP_EPARSE, 2, 11, "unterminated"},
        {"kind,sex,name\ngiven,any,\"A\"x\n", RP_EPARSE, 2, 11, "after the quote"},
        {"kind,sex,name\ngiven,any, \xE2\x80\x8C\n", RP_EPARSE, 2, 11, "is empty"},
        {"kind,sex,name\ngiven,any,A\xFF\n", RP_EPARSE, 2, 11, "UTF-8"},
        {"kind,sex,name\ngiven,any,\"A\x01\"\n", RP_EPARSE, 2, 11, "control"},
        {"kind,sex,name\ngiven,female,Anna\n", RP_EINVAL, 0, 0, "no family names"},
        {"kind,sex,name\nfamily,any,Berg\n", RP_EINVAL, 0, 0, "no given names"},
    };

    char tmp[1024];
    rp_test_tmpdir(tmp, sizeof(tmp));
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char loc[16];
        snprintf(loc, sizeof(loc), "t%zu", i);
        if (cases[i].text)
            write_file(tmp, loc, cases[i].text);
        const char *const locs[] = {loc};
        rp_sim_names *nm = NULL;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_sim__names_load(&nm, tmp, locs, 1, &err);
        if (rc != cases[i].code || err.line != cases[i].line || err.column != cases[i].column ||
            !strstr(err.msg, cases[i].msg_part))
            fail_msg("case %zu: rc %d line %ld column %ld message '%s'", i, rc, err.line,
                     err.column, err.msg);
        assert_null(nm);
        char file[24];
        snprintf(file, sizeof(file), "/%s.csv", loc);
        assert_non_null(strstr(err.path, file));
    }
    /* a locale name that is not a file name */
    const char *const bad[] = {"../uk"};
    rp_sim_names *nm = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_sim__names_load(&nm, tmp, bad, 1, &err), RP_EINVAL, &err);
    assert_null(nm);
    rp_test_rmtree(tmp);
}

/* Quoted values, CRLF, blank lines, the README's quirks cleaned, duplicates dropped. */
static void sim_names_load__quotes_and_quirks(void **state)
{
    (void)state;
    char tmp[1024];
    rp_test_tmpdir(tmp, sizeof(tmp));
    write_file(tmp, "q",
               "kind,sex,name\r\n"
               "given,any,\"Anna, \"\"Ann\"\"\"\r\n"
               "\r\n"
               "given,any,\xC3\x83\xC2\x96mer\r\n"    /* nl mojibake: dropped */
               "given,any,Anna\xE2\x80\x8C\r\n"       /* trailing ZWNJ: trimmed to a duplicate */
               "family,any,\"Mehr \xE2\x80\x8C\"\r\n" /* fa: space then ZWNJ */
               "family,any,Mehr\n");
    const char *const locs[] = {"q"};
    rp_sim_names *nm = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__names_load(&nm, tmp, locs, 1, &err), &err);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    bool seen_quoted = false, seen_plain = false;
    for (int i = 0; i < 200; i++) {
        rp_sim_name x;
        rp_sim__names_draw(nm, 0, i % 2 ? RP_SEX_MALE : RP_SEX_FEMALE, 0.5, r, &x);
        assert_int_equal(x.n_given, 1);
        assert_int_equal(x.n_family, 1);
        assert_string_equal(x.family[0], "Mehr");
        assert_ptr_equal(x.family_masc[0], x.family[0]);
        assert_null(x.patronymic);
        assert_false(x.family_first);
        if (strcmp(x.given[0], "Anna, \"Ann\"") == 0)
            seen_quoted = true;
        else if (strcmp(x.given[0], "Anna") == 0)
            seen_plain = true;
        else
            fail_msg("unexpected given name drawn");
    }
    assert_true(seen_quoted && seen_plain);
    gsl_rng_free(r);
    rp_sim__names_free(nm);
    rp_test_rmtree(tmp);
}

/* ==== drawing ==== */

static void sim_names_draw__uk_customs(void **state)
{
    (void)state;
    const char *const locs[] = {"uk"};
    rp_sim_names *nm = load(locs, 1);
    rows rw = read_rows("uk");
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    size_t inflected = 0;
    for (int i = 0; i < 2000; i++) {
        bool woman = i % 2 == 0;
        const char *sex = woman ? "female" : "male";
        rp_sim_name x;
        rp_sim__names_draw(nm, 0, woman ? RP_SEX_FEMALE : RP_SEX_MALE, 0.3, r, &x);
        assert_int_equal(x.n_given, 1);
        assert_true(in_list(&rw, "given", sex, x.given[0]) ||
                    in_list(&rw, "given", "any", x.given[0]));
        assert_non_null(x.patronymic);
        assert_true(in_list(&rw, "patronymic", sex, x.patronymic));
        assert_int_equal(x.n_family, 1);
        assert_true(in_list(&rw, "family", sex, x.family[0]) ||
                    in_list(&rw, "family", "any", x.family[0]));
        if (!woman || x.family_masc[0] == x.family[0]) {
            assert_ptr_equal(x.family_masc[0], x.family[0]);
            continue;
        }
        /* Ковальська -> Ковальський, Іванишина -> Іванишин: in the male list */
        assert_true(in_list(&rw, "family", "female", x.family[0]));
        assert_true(in_list(&rw, "family", "male", x.family_masc[0]));
        inflected++;
    }
    assert_true(inflected > 50);
    gsl_rng_free(r);
    rows_free(&rw);
    rp_sim__names_free(nm);
}

static void sim_names_draw__pl_women_take_ska(void **state)
{
    (void)state;
    const char *const locs[] = {"pl"};
    rp_sim_names *nm = load(locs, 1);
    rows rw = read_rows("pl");
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    size_t ska = 0;
    for (int i = 0; i < 3000; i++) {
        rp_sim_name x;
        rp_sim__names_draw(nm, 0, RP_SEX_FEMALE, 0.3, r, &x);
        const char *f = x.family[0], *m = x.family_masc[0];
        assert_false(ends_with(f, "ski") || ends_with(f, "cki"));
        assert_true(in_list(&rw, "family", "any", m)); /* the list's (masculine) form */
        if (ends_with(f, "ska") || ends_with(f, "cka")) {
            size_t n = strlen(f);
            assert_int_equal(strlen(m), n);
            assert_memory_equal(f, m, n - 1);
            assert_int_equal(m[n - 1], 'i');
            ska++;
        }
        rp_sim__names_draw(nm, 0, RP_SEX_MALE, 0.3, r, &x);
        assert_true(in_list(&rw, "family", "any", x.family[0]));
        assert_false(ends_with(x.family[0], "ska") || strcmp(x.family[0], "Konieczna") == 0);
    }
    assert_true(ska > 500); /* about a third of the list ends in -ski/-cki */
    gsl_rng_free(r);
    rows_free(&rw);
    rp_sim__names_free(nm);
}

static void sim_names_draw__cs_female_forms(void **state)
{
    (void)state;
    const char *const locs[] = {"cs_CZ", "sk"};
    rp_sim_names *nm = load(locs, 2);
    for (size_t l = 0; l < 2; l++) {
        rows rw = read_rows(locs[l]);
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        size_t ova = 0;
        for (int i = 0; i < 2000; i++) {
            rp_sim_name x;
            rp_sim__names_draw(nm, l, RP_SEX_FEMALE, 0.3, r, &x);
            const char *f = x.family[0], *m = x.family_masc[0];
            assert_true(in_list(&rw, "family", "female", f) || in_list(&rw, "family", "any", f));
            if (m == f)
                continue;
            assert_true(in_list(&rw, "family", "female", f));
            if (ends_with(f, "ová")) {
                /* Nováková -> Novák, Adamcová -> Adamec: the masculine from the male list */
                assert_true(in_list(&rw, "family", "male", m));
                ova++;
            }
        }
        assert_true(ova > 1000);
        gsl_rng_free(r);
        rows_free(&rw);
    }
    rp_sim__names_free(nm);
}

static void sim_names_draw__locale_customs(void **state)
{
    (void)state;
    const char *const locs[] = {"es", "zh_CN", "hu", "vi", "en_GB", "yo_NG", "de"};
    rp_sim_names *nm = load(locs, RP_ARRAY_LEN(locs));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    size_t second[RP_ARRAY_LEN(locs)] = {0};
    for (int i = 0; i < 1000; i++) {
        for (size_t l = 0; l < RP_ARRAY_LEN(locs); l++) {
            rp_sim_name x;
            rp_sim__names_draw(nm, l, i % 2 ? RP_SEX_MALE : RP_SEX_FEMALE, 0.3, r, &x);
            assert_int_equal(x.n_family, l == 0 ? 2 : 1);
            assert_true(x.family_first == (l >= 1 && l <= 3));
            assert_true(x.no_space == (l == 1));
            assert_null(x.patronymic);
            for (size_t k = 0; k < x.n_family; k++)
                assert_ptr_equal(x.family_masc[k], x.family[k]);
            if (x.n_given == 2) {
                assert_string_not_equal(x.given[0], x.given[1]);
                second[l]++;
            }
        }
    }
    /* a second given name with probability 0.3 in en_GB (middle) and yo_NG only */
    for (size_t l = 0; l < RP_ARRAY_LEN(locs); l++) {
        if (l == 4 || l == 5)
            assert_true(second[l] > 240 && second[l] < 360);
        else
            assert_int_equal(second[l], 0);
    }
    gsl_rng_free(r);
    rp_sim__names_free(nm);
}

static void sim_names_draw__same_seed_same_names(void **state)
{
    (void)state;
    rp_sim_names *nm = load(all_locales, RP_ARRAY_LEN(all_locales));
    gsl_rng *a = gsl_rng_alloc(gsl_rng_mt19937), *b = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(a, 2024);
    gsl_rng_set(b, 2024);
    size_t differs = 0;
    for (int i = 0; i < 5000; i++) {
        size_t l = (size_t)i % RP_ARRAY_LEN(all_locales);
        rp_sex sex = (i / 3) % 2 ? RP_SEX_MALE : RP_SEX_FEMALE;
        rp_sim_name x, y;
        rp_sim__names_draw(nm, l, sex, 0.5, a, &x);
        rp_sim__names_draw(nm, l, sex, 0.5, b, &y);
        assert_memory_equal(&x, &y, sizeof(x)); /* same borrowed pointers */
        rp_sim__names_draw(nm, l, sex, 0.5, b, &y);
        differs += x.given[0] != y.given[0];
        rp_sim__names_draw(nm, l, sex, 0.5, a, &x);
    }
    assert_true(differs > 4000);
    gsl_rng_free(a);
    gsl_rng_free(b);
    rp_sim__names_free(nm);
}

static int load_two(void *payload)
{
    char dir[1024];
    const char *const locs[] = {"pl", "az"};
    return rp_sim__names_load((rp_sim_names **)payload, names_dir(dir, sizeof(dir)), locs, 2, NULL);
}

static void free_names(void *payload)
{
    rp_sim__names_free(*(rp_sim_names **)payload);
}

static void sim_names_load__allocation_failures(void **state)
{
    (void)state;
    rp_sim_names *nm = NULL;
    rp_test_alloc_sweep(load_two, free_names, &nm, 1000);
}

/* ==== romanisation ==== */

static void sim_translit_systems__per_locale(void **state)
{
    (void)state;
    const char *const *ids = NULL;
    assert_int_equal(rp_sim__translit_systems("uk", &ids), 5);
    assert_string_equal(ids[0], "kmu2010");
    assert_int_equal(rp_sim__translit_systems("ru", &ids), 4);
    assert_string_equal(ids[0], "icao");
    assert_int_equal(rp_sim__translit_systems("el", &ids), 2);
    assert_string_equal(ids[0], "elot743");
    assert_int_equal(rp_sim__translit_systems("de", &ids), 3);
    assert_string_equal(ids[2], "ascii_de");
    assert_int_equal(rp_sim__translit_systems("sr_RS_latin", &ids), 3);
    assert_string_equal(ids[2], "ascii_dj");
    assert_int_equal(rp_sim__translit_systems("bg", &ids), 0);
    assert_null(ids);
    for (size_t i = 0; i < RP_ARRAY_LEN(all_locales); i++) {
        assert_true(rp_sim__translit_systems(all_locales[i], &ids) >= 2);
        assert_true(rp_sim__locale_latin(all_locales[i]) == (i >= 8));
        assert_true(rp_sim__locale_latin(all_locales[i]) == (strcmp(ids[0], "native") == 0));
    }
    assert_false(rp_sim__locale_latin("xx"));
}

static void sim_translit__errors(void **state)
{
    (void)state;
    rp_sim_translit *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__translit_new(&t, &err), &err);
    const char *out = "x";
    assert_rp_status(rp_sim__translit(t, "bg", "icao", "Иван", &out, &err), RP_EINVAL, &err);
    assert_null(out);
    assert_non_null(strstr(err.msg, "'bg'"));
    assert_rp_status(rp_sim__translit(t, "uk", "french", "Іван", &out, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "'french'"));
    assert_rp_status(rp_sim__translit(t, "uk", "icao", "\xD0", &out, &err), RP_EINVAL, &err);
    /* a valid call after the errors */
    assert_rp_ok(rp_sim__translit(t, "uk", "kmu2010", "Іван", &out, &err), &err);
    assert_string_equal(out, "Ivan");
    rp_sim__translit_free(t);
    rp_sim__translit_free(NULL);
}

/*
 * Cases of data/names/transliteration_cases.csv that one of our systems produces, each
 * with the rule behind it. `col` is the file's column the result must equal ('a' or 'b';
 * the test checks the file still says so), or 0 for a case derived from a row (a part of
 * a name, or the other form of the same rule).
 */
static const struct {
    const char *id, *locale, *system, *native, *expected;
    char col;
} cases[] = {
    /* Ukrainian KMU 2010 (passports) */
    {"TC001", "uk", "kmu2010", "Олександр", "Oleksandr", 'a'},
    {"TC002", "uk", "kmu2010", "Олена", "Olena", 'a'},
    {"TC004", "uk", "kmu2010", "Щербак", "Shcherbak", 'a'}, /* щ shch */
    {"TC007", "uk", "kmu2010", "Юлія", "Yuliia", 'a'},      /* initial Ю Yu, я ia */
    {"TC008", "uk", "kmu2010", "Сергій", "Serhii", 'a'},    /* г h, final ій ii */
    {"TC009", "uk", "kmu2010", "Гончаренко", "Honcharenko", 'a'},
    {"TC013", "uk", "kmu2010", "Мар’яна", "Mariana", 'a'},     /* apostrophe U+2019 dropped */
    {"TC014", "uk", "kmu2010", "Мар'яна", "Mariana", 0},       /* U+0027 */
    {"TC014", "uk", "kmu2010", "Марʼяна", "Mariana", 0},       /* U+02BC */
    {"TC015", "uk", "kmu2010", "Згурський", "Zghurskyi", 'a'}, /* зг zgh, -ський -skyi */
    {"TC018", "uk", "kmu2010", "Микола", "Mykola", 'a'},
    /* ICAO Doc 9303 for a Ukrainian name (Russian-based, г g) */
    {"TC009", "uk", "icao", "Гончаренко", "Goncharenko", 'b'},
    /* BGN/PCGN without its marks: я after the apostrophe ya */
    {"TC013", "uk", "bgn", "Мар’яна", "Maryana", 'b'},
    /* German (Duden) and Polish transcriptions */
    {"TC004", "uk", "german", "Щербак", "Schtscherbak", 'b'},
    {"TC006", "uk", "polish", "Щербак", "Szczerbak", 'b'},
    /* Russian, ICAO Doc 9303 (passports since 2013) */
    {"TC001", "ru", "icao", "Александр", "Aleksandr", 0},
    {"TC002", "ru", "icao", "Елена", "Elena", 0},
    {"TC007", "ru", "icao", "Юлия", "Iuliia", 0},
    {"TC010", "ru", "icao", "Кузнецов", "Kuznetsov", 'a'},
    {"TC012", "ru", "icao", "Наталья", "Natalia", 'a'}, /* ь dropped, я ia */
    {"TC017", "ru", "icao", "Ольга Иванова", "Olga Ivanova", 'a'},
    {"TC017", "ru", "icao", "Иванов", "Ivanov", 0},
    /* Russian, BGN/PCGN (initial Е Ye; the soft-sign mark dropped) */
    {"TC003", "ru", "bgn", "Елена", "Yelena", 0},
    {"TC012", "ru", "bgn", "Наталья", "Natalya", 0},
    {"TC010", "ru", "bgn", "Кузнецов", "Kuznetsov", 'a'},
    /* Russian, German (з s, ц z, final -ов -ow) */
    {"TC010", "ru", "german", "Кузнецов", "Kusnezow", 'b'},
    {"TC004", "ru", "german", "Щербак", "Schtscherbak", 'b'},
    /* Greek, ELOT 743 (passports) */
    {"TC044", "el", "elot743", "Γεώργιος", "Georgios", 'a'},
    {"TC045", "el", "elot743", "Ευάγγελος", "Evangelos", 'a'}, /* ευ ev, γγ ng */
    {"TC046", "el", "elot743", "Παπαδόπουλος", "Papadopoulos", 'a'},
    {"TC047", "el", "elot743", "Μαρία Παπαδοπούλου", "Maria Papadopoulou", 'a'},
    /* Georgian national system (passports, no apostrophes) and BGN (apostrophes) */
    {"TC048", "ka_GE", "national", "გიორგი", "Giorgi", 'a'},
    {"TC049", "ka_GE", "national", "ყიფიანი", "Qipiani", 'a'},
    {"TC050", "ka_GE", "national", "ჭავჭავაძე", "Chavchavadze", 'a'},
    {"TC050", "ka_GE", "bgn", "ჭავჭავაძე", "Ch'avch'avadze", 'b'},
    {"TC051", "ka_GE", "national", "ჯაფარიძე", "Japaridze", 'a'},
    /* Armenian national (passports) */
    {"TC052", "hy", "national", "Հովհաննիսյան", "Hovhannisyan", 'a'},
    /* Chinese: each name part alone (TC064 Zhang Wei; TC065 Lyu Jing / Lu Jing) */
    {"TC064", "zh_CN", "pinyin", "张", "Zhang", 0},
    {"TC064", "zh_CN", "pinyin", "伟", "Wei", 0},
    {"TC065", "zh_CN", "pinyin", "吕", "Lyu", 0},      /* passport ü -> yu */
    {"TC065", "zh_CN", "pinyin_plain", "吕", "Lu", 0}, /* ü typed as u */
    {"TC065", "zh_CN", "pinyin", "静", "Jing", 0},
    {"TC065", "zh_CN", "pinyin_tones", "吕", "Lǚ", 0},
    /* Latin-script locales */
    /* TC022-TC024: the rows' Serbian Latin form (variant_a) as our sr_RS_latin lists have it */
    {"TC022", "sr_RS_latin", "ascii_dj", "Đorđević", "Djordjevic", 0},
    {"TC023", "sr_RS_latin", "ascii", "Đorđević", "Dordevic", 0},
    {"TC024", "sr_RS_latin", "ascii", "Ćirić", "Ciric", 0},
    {"TC026", "hu", "ascii", "Szőke Gábor", "Szoke Gabor", 'a'},
    {"TC028", "ro", "ascii", "Ștefan", "Stefan", 'b'},
    {"TC030", "tr", "ascii", "Işık", "Isik", 'b'},
    {"TC032", "tr", "ascii", "Gökhan Öztürk", "Gokhan Ozturk", 'a'},
    {"TC032", "de", "ascii_de", "Gökhan Öztürk", "Goekhan Oeztuerk", 'b'},
    {"TC033", "de", "ascii_de", "Müller", "Mueller", 'a'},
    {"TC033", "de", "ascii", "Müller", "Muller", 'b'},
    {"TC034", "de", "ascii_de", "Strauß", "Strauss", 'a'},
    {"TC035", "vi", "ascii", "Nguyễn Văn An", "Nguyen Van An", 'a'},
    {"TC037", "vi", "ascii", "Trần Thị Hương", "Tran Thi Huong", 'a'},
    {"TC039", "vi", "native", "Nguye\xCC\x82\xCC\x83n", "Nguyễn", 0}, /* NFD -> NFC */
    {"TC040", "vi", "ascii", "Đặng Minh Tuấn", "Dang Minh Tuan", 'a'},
    {"TC053", "az", "ascii", "Məmmədov", "Mammadov", 'a'},
    {"TC063", "yo_NG", "ascii", "Ṣadé", "Sade", 'a'},
    {"TC066", "cs_CZ", "native", "Jana Nováková", "Jana Nováková", 'a'},
    {"TC067", "pl", "ascii", "Łukasz Wróbel", "Lukasz Wrobel", 'a'},
    {"TC068", "es", "ascii", "María García López", "Maria Garcia Lopez", 'a'},
    {"TC070", "pt_BR", "ascii", "João Pereira da Silva", "Joao Pereira da Silva", 'a'},
    {"TC072", "en_GB", "ascii", "O’Brien", "O'Brien", 0},
};

/* The field @p col (0-based) of the row @p id of transliteration_cases.csv into @p buf. */
static bool case_field(const char *text, const char *id, int col, char *buf, size_t size)
{
    char key[16];
    snprintf(key, sizeof(key), "\n%s,", id);
    const char *p = strstr(text, key);
    if (!p)
        return false;
    p++;
    for (int c = 0; c < col; c++) {
        p = strchr(p, ',');
        if (!p)
            return false;
        p++;
    }
    size_t n = 0;
    if (*p == '"') { /* quoted: up to the closing quote (none of these holds "") */
        p++;
        while (p[n] && p[n] != '"')
            n++;
    } else {
        while (p[n] && p[n] != ',' && p[n] != '\n')
            n++;
    }
    if (n >= size)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

static void sim_translit__transliteration_cases(void **state)
{
    (void)state;
    char dir[1024], path[1200];
    snprintf(path, sizeof(path), "%s/transliteration_cases.csv", names_dir(dir, sizeof(dir)));
    char *text = rp_test_slurp(path, NULL);
    rp_sim_translit *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__translit_new(&t, &err), &err);
    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char native[256], variant[256];
        assert_true(case_field(text, cases[i].id, 2, native, sizeof(native)));
        if (cases[i].col) {
            assert_true(case_field(text, cases[i].id, cases[i].col == 'a' ? 3 : 4, variant,
                                   sizeof(variant)));
            if (strcmp(native, cases[i].native) != 0 || strcmp(variant, cases[i].expected) != 0)
                fail_msg("%s: the file has '%s' -> '%s'", cases[i].id, native, variant);
        }
        const char *out = NULL;
        assert_rp_ok(
            rp_sim__translit(t, cases[i].locale, cases[i].system, cases[i].native, &out, &err),
            &err);
        if (strcmp(out, cases[i].expected) != 0)
            fail_msg("%s %s/%s: got '%s', expected '%s'", cases[i].id, cases[i].locale,
                     cases[i].system, out, cases[i].expected);
        /* the memo gives the same pointer */
        const char *again = NULL;
        assert_rp_ok(
            rp_sim__translit(t, cases[i].locale, cases[i].system, cases[i].native, &again, &err),
            &err);
        assert_ptr_equal(again, out);
    }
    rp_sim__translit_free(t);
    free(text);
}

/* Systems whose output keeps letters outside ASCII. */
static bool system_ascii(const char *id)
{
    return strcmp(id, "native") != 0 && strcmp(id, "pinyin_tones") != 0 &&
           strcmp(id, "polish") != 0;
}

static bool ascii_name(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ' || c == '-' ||
              c == '\''))
            return false;
    }
    return true;
}

/* Every name of every locale file through every system of its locale. */
static void sim_translit__every_name_every_system(void **state)
{
    (void)state;
    rp_sim_translit *t = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__translit_new(&t, &err), &err);
    size_t names = 0;
    for (size_t l = 0; l < RP_ARRAY_LEN(all_locales); l++) {
        const char *loc = all_locales[l];
        rows rw = read_rows(loc);
        const char *const *ids = NULL;
        size_t ns = rp_sim__translit_systems(loc, &ids);
        for (size_t i = 0; i < rw.n; i++) {
            const char *name = rw.v[i].name;
            names++;
            for (size_t s = 0; s < ns; s++) {
                const char *out = NULL;
                int rc = rp_sim__translit(t, loc, ids[s], name, &out, &err);
                if (rc != RP_OK)
                    fail_msg("%s/%s, row %zu: %s", loc, ids[s], i + 2, err.msg);
                size_t n = strlen(out);
                assert_int_equal(rp_x_utf8_check((const unsigned char *)out, n), n);
                if (n == 0 || (system_ascii(ids[s]) && !ascii_name(out)))
                    fail_msg("%s/%s, row %zu: '%s'", loc, ids[s], i + 2, out);
            }
        }
        rows_free(&rw);
    }
    assert_int_equal(names, 33887);
    rp_sim__translit_free(t);
}

static int translit_some(void *payload)
{
    rp_sim_translit **t = payload;
    const char *out = NULL;
    int rc = rp_sim__translit_new(t, NULL);
    for (int i = 0; rc == RP_OK && i < 3; i++)
        rc = rp_sim__translit(*t, "uk", i == 1 ? "icao" : "kmu2010", i == 2 ? "Юлія" : "Іван", &out,
                              NULL);
    if (rc != RP_OK) {
        rp_sim__translit_free(*t);
        *t = NULL;
    }
    return rc;
}

static void free_translit(void *payload)
{
    rp_sim__translit_free(*(rp_sim_translit **)payload);
}

static void sim_translit__allocation_failures(void **state)
{
    (void)state;
    rp_sim_translit *t = NULL;
    rp_test_alloc_sweep(translit_some, free_translit, &t, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sim_names_load__all_locales),
        cmocka_unit_test(sim_names_load__same_locale_twice_loads_once),
        cmocka_unit_test(sim_names_load__errors),
        cmocka_unit_test(sim_names_load__quotes_and_quirks),
        cmocka_unit_test(sim_names_load__allocation_failures),
        cmocka_unit_test(sim_names_draw__uk_customs),
        cmocka_unit_test(sim_names_draw__pl_women_take_ska),
        cmocka_unit_test(sim_names_draw__cs_female_forms),
        cmocka_unit_test(sim_names_draw__locale_customs),
        cmocka_unit_test(sim_names_draw__same_seed_same_names),
        cmocka_unit_test(sim_translit_systems__per_locale),
        cmocka_unit_test(sim_translit__errors),
        cmocka_unit_test(sim_translit__transliteration_cases),
        cmocka_unit_test(sim_translit__every_name_every_system),
        cmocka_unit_test(sim_translit__allocation_failures),
    };
    return cmocka_run_group_tests_name("sim_names", tests, setup, NULL);
}
