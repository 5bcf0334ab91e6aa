/*
 * Unit tests of scenario files (src/sim/scenario.c): the shipped scenarios of
 * data/scenarios load, defaults are filled in, the resolved scenario parses back to the
 * same scenario, every bad file of tests/fixtures/scenarios fails with its JSON path, and
 * the mapping file written for each layout preset loads and imports a row as written.
 */
#include "rp_test.h"
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/sim.h>

#include <jansson.h>

/* ==== helpers ==== */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The shipped scenarios (data/scenarios). */
static const char *const shipped[] = {"small-national.json", "labour-inspectorate.json",
                                      "cross-border.json"};

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* Path of <source tree>/<rel>: $RP_SRC under CTest, else two levels above the fixtures. */
static const char *source_file(const char *rel)
{
    static char path[1024];
    const char *src = getenv("RP_SRC");
    char fx[512];
    int n = 0;
    if (src && *src) {
        n = snprintf(path, sizeof(path), "%s/%s", src, rel);
    } else {
        rp_test_fixture(fx, sizeof(fx), "..");
        n = snprintf(path, sizeof(path), "%s/../%s", fx, rel);
    }
    if (n < 0 || (size_t)n >= sizeof(path))
        fail_msg("path too long for '%s'", rel);
    return path;
}

static const char *shipped_path(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "data/scenarios/%s", name);
    return source_file(rel);
}

/* Path of fixture tests/fixtures/scenarios/<name>; static buffer. */
static const char *fixture(const char *name)
{
    static char path[1024];
    char rel[256];
    snprintf(rel, sizeof(rel), "scenarios/%s", name);
    return rp_test_fixture(path, sizeof(path), rel);
}

static rp_sim_scenario *load_ok(const char *path)
{
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_scenario_load(&sc, path, &err), &err);
    assert_non_null(sc);
    return sc;
}

static rp_sim_scenario *parse_ok(const char *json)
{
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__scenario_parse(&sc, json, strlen(json), "inline", &err), &err);
    return sc;
}

static const rp_sim_weighted *wfind(const rp_sim_wvec *v, const char *code)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->items[i].code, code) == 0)
            return &v->items[i];
    }
    return NULL;
}

static const rp_sim_nationality *nat_find(const rp_sim_scenario *sc, const char *cc)
{
    for (size_t i = 0; i < sc->pop.n_nationalities; i++) {
        if (strcmp(sc->pop.nationalities[i].country, cc) == 0)
            return &sc->pop.nationalities[i];
    }
    return NULL;
}

static const char *romanisation_of(const rp_sim_list *l, const char *locale)
{
    for (size_t i = 0; i < l->romanisation.n; i++) {
        if (strcmp(l->romanisation.items[i].code, locale) == 0)
            return l->romanisation_sys[i];
    }
    return NULL;
}

/* ==== loading ==== */

static void scenario_load__shipped_scenarios_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(shipped); i++) {
        rp_sim_scenario *sc = load_ok(shipped_path(shipped[i]));
        assert_true(sc->n_lists >= 3);
        assert_true(sc->pop.size >= 1000);
        assert_non_null(sc->description);
        assert_true(sc->n_terms >= 1);
        rp_sim_scenario_free(sc);
    }
}

static void scenario_load__shipped_values(void **state)
{
    (void)state;
    rp_sim_scenario *sc = load_ok(shipped_path("labour-inspectorate.json"));
    assert_string_equal(sc->name, "labour-inspectorate");
    assert_int_equal(sc->pop.size, 5000);
    assert_int_equal(sc->n_lists, 4);
    const rp_sim_list *ins = &sc->lists[2];
    assert_string_equal(ins->code, "INSPECT");
    assert_string_equal(ins->layout.preset, "inspectorate");
    assert_string_equal(ins->country, "DE");
    bool fl = false, sexual = false;
    for (size_t i = 0; i < ins->n_effects; i++) {
        const rp_sim_effect *e = &ins->effects[i];
        if (e->attr == RP_SIM_ATTR_EXPLOITATION && e->value == RP_EXPL_FORCED_LABOUR) {
            fl = true;
            assert_true(e->beta > 1.0);
        }
        if (e->attr == RP_SIM_ATTR_EXPLOITATION && e->value == RP_EXPL_SEXUAL) {
            sexual = true;
            assert_true(e->beta < -2.0);
        }
    }
    assert_true(fl && sexual);
    /* one positive and one negative dependence term, bit i = lists[i] */
    assert_int_equal(sc->n_terms, 2);
    assert_int_equal(sc->terms[0].lists, 0x5); /* POLICE, INSPECT */
    assert_close(sc->terms[0].lambda, 1.0, 1e-12, 0);
    assert_int_equal(sc->terms[1].lists, 0x3); /* POLICE, NGO */
    assert_true(sc->terms[1].lambda < 0);
    rp_sim_scenario_free(sc);

    sc = load_ok(shipped_path("cross-border.json"));
    assert_int_equal(sc->pop.countries.n, 2);
    assert_true(sc->lists[2].native_script);
    assert_string_equal(sc->lists[2].layout.columns[RP_SIM_COL_PATRONYMIC], "Patronymic");
    assert_string_equal(romanisation_of(&sc->lists[4], "uk"), "icao");
    rp_sim_scenario_free(sc);
}

static void scenario_parse__fills_defaults(void **state)
{
    (void)state;
    rp_sim_scenario *sc = load_ok(fixture("minimal.json"));
    assert_string_equal(sc->name, "minimal");
    assert_null(sc->description);
    assert_int_equal(sc->seed, 1);
    const rp_sim_population *pop = &sc->pop;
    assert_int_equal(pop->size, 100);
    assert_int_equal(pop->year_first, 2020);
    assert_int_equal(pop->year_last, 2024);
    assert_close(pop->female_share, 0.5, 1e-12, 0);
    assert_close(pop->minor_share, 0.2, 1e-12, 0);
    assert_close(pop->adult_age_mean, 31, 1e-12, 0);
    assert_close(pop->second_form, 0.1, 1e-12, 0);
    assert_close(pop->document_share, 0.6, 1e-12, 0);
    assert_close(pop->middle_name, 0.3, 1e-12, 0);
    assert_int_equal(pop->exploitation.n, 4);
    assert_close(wfind(&pop->exploitation, "sexual")->w, 0.45, 1e-12, 0);
    assert_close(wfind(&pop->exploitation, "domestic_servitude")->w, 0.05, 1e-12, 0);
    assert_int_equal(pop->sectors.n, 6);
    assert_close(wfind(&pop->sectors, "agriculture")->w, 0.25, 1e-12, 0);
    /* country of exploitation: the first list's */
    assert_int_equal(pop->countries.n, 1);
    assert_string_equal(pop->countries.items[0].code, "GB");
    /* default locales of UA; inherited shares */
    const rp_sim_nationality *ua = nat_find(sc, "UA");
    assert_non_null(ua);
    assert_int_equal(ua->n_locales, 2);
    assert_string_equal(ua->locales[0], "uk");
    assert_close(ua->locale_w[0], 0.85, 1e-12, 0);
    assert_string_equal(ua->locales[1], "ru");
    assert_true(ua->female_share < 0);
    assert_true(ua->minor_share < 0);
    assert_int_equal(ua->exploitation.n, 0);
    assert_string_equal(nat_find(sc, "GB")->locales[0], "en_GB");

    assert_int_equal(sc->n_lists, 2);
    const rp_sim_list *b = &sc->lists[1];
    assert_string_equal(b->code, "B");
    assert_string_equal(b->country, "GB");
    assert_close(b->p, 0.2, 1e-12, 0);
    assert_int_equal(b->n_effects, 0);
    assert_close(b->identified, 0.5, 1e-12, 0);
    assert_close(b->duplicates, 0.0, 0, 0);
    assert_close(b->errors.typo, 0.02, 1e-12, 0);
    assert_close(b->errors.translit, 0.05, 1e-12, 0);
    assert_close(b->errors.patronymic_dropped, 0.5, 1e-12, 0);
    assert_close(b->errors.masculine_surname, 0.1, 1e-12, 0);
    assert_false(b->native_script);
    /* every locale of the population with its usual system */
    assert_int_equal(b->romanisation.n, 3);
    assert_string_equal(romanisation_of(b, "uk"), "kmu2010");
    assert_string_equal(romanisation_of(b, "ru"), "icao");
    assert_string_equal(romanisation_of(b, "en_GB"), "native");
    /* layout police */
    assert_string_equal(b->layout.preset, "police");
    assert_string_equal(b->layout.columns[RP_SIM_COL_CASE_ID], "CaseRef");
    assert_string_equal(b->layout.columns[RP_SIM_COL_FULL_NAME], "");
    assert_int_equal(b->layout.delimiter, ',');
    assert_string_equal(b->layout.date_format, "%d/%m/%Y");
    assert_true(b->layout.family_upper);
    assert_true(b->layout.country_alpha3);
    assert_string_equal(b->layout.sex_codes[0], "F");
    assert_string_equal(b->layout.status_codes[1], "Confirmed");
    assert_string_equal(b->layout.expl_codes[rp_sim__bit_index(RP_EXPL_FORCED_LABOUR)], "LAB");
    assert_string_equal(b->layout.sector_codes[rp_sim__bit_index(RP_SECTOR_NOT_SPECIFIED)], "NS");
    assert_string_equal(b->layout.case_prefix, "POL-");
    assert_int_equal(sc->n_terms, 0);
    rp_sim_scenario_free(sc);
}

static void scenario_parse__forms_and_overrides(void **state)
{
    (void)state;
    /* one-year "years", a string country, errors "none", partial layout overrides */
    rp_sim_scenario *sc = parse_ok(
        "{\"name\": \"t\", \"seed\": 9007199254740992, \"population\": {\"size\": 5, \"years\": "
        "2022, \"citizenship\": {\"UKR\": {\"share\": 2, \"locales\": {\"uk\": 1}, "
        "\"female_share\": 0.7, \"exploitation\": {\"Sexual\": 1}}}, "
        "\"country_of_exploitation\": \"POL\"}, \"lists\": [{\"code\": \"a\", \"p\": 0.5, "
        "\"errors\": \"none\", \"script\": \"native\", \"effects\": {\"year=2022\": 0.25, "
        "\"sex=male\": -1, \"sector=Construction\": 1, \"country=PL\": 0.5, "
        "\"citizenship=UA\": 0.1}, \"layout\": {\"preset\": \"ngo\", \"sex_codes\": "
        "{\"male\": \"m\"}}}, {\"code\": \"b\", \"p\": 0.5, \"comment\": \"ignored\"}]}");
    assert_int_equal(sc->seed, 9007199254740992ULL);
    assert_int_equal(sc->pop.year_first, 2022);
    assert_int_equal(sc->pop.year_last, 2022);
    assert_string_equal(sc->pop.nationalities[0].country, "UA");
    assert_int_equal(sc->pop.nationalities[0].n_locales, 1);
    assert_close(sc->pop.nationalities[0].female_share, 0.7, 1e-12, 0);
    assert_string_equal(sc->pop.nationalities[0].exploitation.items[0].code, "sexual");
    assert_string_equal(sc->pop.countries.items[0].code, "PL");
    const rp_sim_list *a = &sc->lists[0];
    assert_string_equal(a->country, "PL");
    assert_close(a->errors.typo, 0, 0, 0);
    assert_close(a->errors.patronymic_dropped, 0, 0, 0);
    assert_true(a->native_script);
    assert_int_equal(a->n_effects, 5);
    assert_int_equal(a->effects[0].attr, RP_SIM_ATTR_YEAR);
    assert_int_equal(a->effects[0].value, 2022);
    assert_int_equal(a->effects[1].attr, RP_SIM_ATTR_SEX);
    assert_int_equal(a->effects[1].value, RP_SEX_MALE);
    assert_int_equal(a->effects[2].attr, RP_SIM_ATTR_SECTOR);
    assert_int_equal(a->effects[2].value, RP_SECTOR_CONSTRUCTION);
    assert_int_equal(a->effects[3].attr, RP_SIM_ATTR_COUNTRY);
    assert_string_equal(a->effects[3].country, "PL");
    assert_int_equal(a->effects[4].attr, RP_SIM_ATTR_CITIZENSHIP);
    assert_string_equal(a->layout.sex_codes[0], "female");
    assert_string_equal(a->layout.sex_codes[1], "m");
    assert_string_equal(a->layout.missing, "n/a");
    rp_sim_scenario_free(sc);
}

/* Every citizenship with default locales: they are locales with systems and name lists. */
static void scenario_parse__default_locales_exist(void **state)
{
    (void)state;
    static const char *const countries[] = {
        "UA", "RU", "BY", "MD", "RO", "RS", "PL", "CZ", "SK", "HU", "LV", "AZ",
        "GE", "AM", "GR", "CY", "TR", "VN", "NG", "CN", "SY", "IQ", "EG", "MA",
        "DZ", "TN", "LY", "SD", "JO", "LB", "PS", "YE", "IR", "AF", "DE", "AT",
        "FR", "IT", "ES", "BR", "PT", "GB", "IE", "US", "NL", "BE"};
    char json[4096];
    size_t k = (size_t)snprintf(json, sizeof(json),
                                "{\"name\": \"d\", \"population\": {\"size\": 9, "
                                "\"citizenship\": {");
    for (size_t i = 0; i < ARRAY_LEN(countries); i++)
        k += (size_t)snprintf(json + k, sizeof(json) - k, "%s\"%s\": 1", i ? ", " : "",
                              countries[i]);
    snprintf(json + k, sizeof(json) - k,
             "}}, \"lists\": [{\"code\": \"A\", \"country\": \"DE\", \"p\": 0.5}, "
             "{\"code\": \"B\", \"p\": 0.5}]}");
    rp_sim_scenario *sc = parse_ok(json);
    assert_int_equal(sc->pop.n_nationalities, ARRAY_LEN(countries));
    for (size_t i = 0; i < sc->pop.n_nationalities; i++) {
        const rp_sim_nationality *nat = &sc->pop.nationalities[i];
        assert_true(nat->n_locales >= 1);
        for (size_t l = 0; l < nat->n_locales; l++) {
            const char *const *ids = NULL;
            assert_true(rp_sim__translit_systems(nat->locales[l], &ids) > 0);
            char rel[128];
            snprintf(rel, sizeof(rel), "data/names/%s.csv", nat->locales[l]);
            if (access(source_file(rel), R_OK) != 0)
                fail_msg("no name list %s for citizenship %s", rel, nat->country);
        }
    }
    rp_sim_scenario_free(sc);
}

static void sim_bit_index__bit_numbers(void **state)
{
    (void)state;
    assert_int_equal(rp_sim__bit_index(RP_EXPL_SEXUAL), 0);
    assert_int_equal(rp_sim__bit_index(RP_EXPL_OTHER), 8);
    assert_int_equal(rp_sim__bit_index(RP_SECTOR_NOT_SPECIFIED), 12);
    assert_string_equal(
        rp_code_name(RP_FIELD_LABOUR_SECTORS, rp_sim__bit_index(RP_SECTOR_DOMESTIC_WORK)),
        "domestic_work");
}

/* ==== round trip ==== */

/* to_json -> parse -> to_json gives the same text, and the same lists and layouts. */
static void round_trip(rp_sim_scenario *sc)
{
    char *a = rp_sim__scenario_to_json(sc);
    assert_non_null(a);
    rp_sim_scenario *back = parse_ok(a);
    char *b = rp_sim__scenario_to_json(back);
    assert_non_null(b);
    assert_string_equal(a, b);
    assert_int_equal(back->n_lists, sc->n_lists);
    assert_int_equal(back->pop.size, sc->pop.size);
    assert_true(back->pop.female_share == sc->pop.female_share);
    for (size_t i = 0; i < sc->n_lists; i++) {
        assert_true(back->lists[i].p == sc->lists[i].p);
        assert_int_equal(back->lists[i].n_effects, sc->lists[i].n_effects);
        assert_memory_equal(&back->lists[i].errors, &sc->lists[i].errors, sizeof(rp_sim_errors));
        assert_memory_equal(&back->lists[i].layout, &sc->lists[i].layout, sizeof(rp_sim_layout));
        assert_int_equal(back->lists[i].romanisation.n, sc->lists[i].romanisation.n);
    }
    assert_int_equal(back->n_terms, sc->n_terms);
    assert_memory_equal(back->terms, sc->terms, sc->n_terms * sizeof(rp_sim_term));
    json_error_t jerr;
    json_t *j = json_loads(a, 0, &jerr);
    assert_non_null(j);
    assert_true(json_is_object(json_object_get(json_object_get(j, "population"), "citizenship")));
    json_decref(j);
    rp_sim_scenario_free(back);
    rp_free(a);
    rp_free(b);
}

static void scenario_to_json__round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(shipped); i++) {
        rp_sim_scenario *sc = load_ok(shipped_path(shipped[i]));
        round_trip(sc);
        rp_sim_scenario_free(sc);
    }
    static const char *const fixtures[] = {"minimal.json", "all-presets.json"};
    for (size_t i = 0; i < ARRAY_LEN(fixtures); i++) {
        rp_sim_scenario *sc = load_ok(fixture(fixtures[i]));
        round_trip(sc);
        rp_sim_scenario_free(sc);
    }
}

static void scenario_to_json__fills_every_default(void **state)
{
    (void)state;
    rp_sim_scenario *sc = load_ok(fixture("minimal.json"));
    char *text = rp_sim__scenario_to_json(sc);
    assert_non_null(text);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    json_t *pop = json_object_get(j, "population");
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 1);
    assert_int_equal(json_array_size(json_object_get(pop, "years")), 2);
    assert_non_null(json_object_get(pop, "labour_sectors"));
    assert_non_null(json_object_get(pop, "middle_name"));
    json_t *l0 = json_array_get(json_object_get(j, "lists"), 0);
    assert_non_null(json_object_get(json_object_get(l0, "errors"), "masculine_surname"));
    json_t *layout = json_object_get(l0, "layout");
    assert_string_equal(json_string_value(json_object_get(layout, "preset")), "police");
    assert_true(json_is_null(json_object_get(json_object_get(layout, "columns"), "age")));
    assert_int_equal(json_object_size(json_object_get(layout, "sector_codes")), 13);
    assert_int_equal(json_array_size(json_object_get(j, "dependence")), 0);
    /* readable numbers: 15 digits, not 0.29999999999999999 */
    assert_non_null(strstr(text, "\"p\": 0.3,"));
    json_decref(j);
    rp_free(text);
    rp_sim_scenario_free(sc);
}

/* ==== errors ==== */

static void scenario_load__rejects_bad_files(void **state)
{
    (void)state;

    static const struct {
        const char *file;
        int code;
        const char *needle; /* expected in the message (JSON path first) */
    } cases[] = {
        {"bad_unknown_key.json", RP_EINVAL, "lists[1].pp: unknown key"},
        {"bad_p_range.json", RP_EINVAL, "lists[0].p: expected a number in (0, 1)"},
        {"bad_duplicate_code.json", RP_EINVAL, "lists[1].code: 'police' is already"},
        {"bad_dependence_list.json", RP_EINVAL, "dependence[0].lists[1]: expected the code"},
        {"bad_dependence_twice.json", RP_EINVAL, "dependence[1].lists: the same lists"},
        {"bad_effect_key.json", RP_EINVAL, "lists[0].effects.age=30: expected \"sex=female\""},
        {"bad_effect_citizenship.json", RP_EINVAL,
         "lists[0].effects.citizenship=FRA: 'FR' is not a citizenship"},
        {"bad_effect_beta.json", RP_EINVAL, "lists[0].effects.minor: expected a number in [-20"},
        {"bad_country.json", RP_EINVAL, "population.citizenship.XX: expected an ISO 3166-1"},
        {"bad_list_country.json", RP_EINVAL, "lists[1].country: expected an ISO 3166-1"},
        {"bad_first_list_country.json", RP_EINVAL, "lists[0].country: required when"},
        {"bad_preset.json", RP_EINVAL, "lists[0].layout: expected a layout preset"},
        {"bad_header_duplicate.json", RP_EINVAL,
         "lists[0].layout.columns.given_name: header 'Surname' is also"},
        {"bad_date_format.json", RP_EINVAL, "lists[0].layout.date_format: only %Y, %m, %d"},
        {"bad_birth_format.json", RP_EINVAL,
         "lists[1].layout.birth_date_format: a day (%d) needs a month"},
        {"bad_full_name_parts.json", RP_EINVAL, "lists[0].layout.columns.full_name: a full_name"},
        {"bad_no_case_id.json", RP_EINVAL, "lists[0].layout.columns.case_id: a list file needs"},
        {"bad_code_is_missing.json", RP_EINVAL,
         "lists[0].layout.sex_codes.male: code 'n/a' is also the layout's missing value"},
        {"bad_codes_equal.json", RP_EINVAL,
         "lists[0].layout.exploitation_codes.forced_begging: code 'CRIM' is also"},
        {"bad_multi_sep.json", RP_EINVAL, "lists[0].layout.multi_sep: contains"},
        {"bad_missing_namibia.json", RP_EINVAL, "lists[0].layout.missing: a missing value"},
        {"bad_missing_number.json", RP_EINVAL,
         "lists[0].layout.missing: a missing value must not be a number"},
        {"bad_share_negative.json", RP_EINVAL,
         "population.citizenship.GB: expected a number in (0"},
        {"bad_size_zero.json", RP_EINVAL, "population.size: expected an integer 1..50000000"},
        {"bad_years.json", RP_EINVAL, "population.years: expected [first, last]"},
        {"bad_no_locales.json", RP_EINVAL, "population.citizenship.AL: no default name locales"},
        {"bad_locale.json", RP_EINVAL, "population.citizenship.AL.locales.sq: unknown name locale"},
        {"bad_expl_code.json", RP_EINVAL,
         "population.exploitation.slavery: expected a form of exploitation"},
        {"bad_romanisation.json", RP_EINVAL,
         "lists[0].romanisation.uk: expected a romanisation system of 'uk'"},
        {"bad_error_rate.json", RP_EINVAL, "lists[1].errors.typo: expected a number in [0, 1]"},
        {"bad_one_list.json", RP_EINVAL, "lists: expected an array of 2 to 12 lists"},
        {"bad_name.json", RP_EINVAL, "name: expected 1 to 63 characters"},
        {"bad_invalid_json.json", RP_EPARSE, "invalid JSON"},
        {"bad_duplicate_key.json", RP_EPARSE, "duplicate object key"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        rp_sim_scenario *sc = (rp_sim_scenario *)&sc; /* must be reset to NULL */
        rp_error err = RP_ERROR_INIT;
        const char *path = fixture(cases[i].file);
        int rc = rp_sim_scenario_load(&sc, path, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].needle)) {
            print_error("%s: got %d '%s', expected %d with '%s'\n", cases[i].file, rc, err.msg,
                        cases[i].code, cases[i].needle);
            fail();
        }
        assert_null(sc);
        assert_string_equal(err.path, path);
    }
}

static void scenario_load__parse_error_position(void **state)
{
    (void)state;
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_sim_scenario_load(&sc, fixture("bad_invalid_json.json"), &err), RP_EPARSE,
                     &err);
    assert_int_equal(err.line, 3);
    assert_true(err.column > 0);
    err = (rp_error)RP_ERROR_INIT;
    assert_rp_status(rp_sim_scenario_load(&sc, fixture("no_such_file.json"), &err), RP_EIO, &err);
    assert_null(sc);
}

/* ==== documentation ==== */

/* The complete example of docs/scenarios.md (its first ```json block) loads. */
static void scenario_docs__example_loads(void **state)
{
    (void)state;
    size_t len = 0;
    char *doc = rp_test_slurp(source_file("docs/scenarios.md"), &len);
    const char *start = strstr(doc, "```json\n");
    assert_non_null(start);
    start += strlen("```json\n");
    const char *end = strstr(start, "```");
    assert_non_null(end);
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__scenario_parse(&sc, start, (size_t)(end - start), "docs", &err), &err);
    assert_string_equal(sc->name, "small-national");
    assert_int_equal(sc->n_lists, 3);
    assert_string_equal(sc->lists[1].layout.missing, "unk");
    rp_sim_scenario_free(sc);
    free(doc);
}

/* ==== mapping files ==== */

/* Write @p text to <dir>/<name> and return the path (static buffer). */
static const char *write_file(const char *dir, const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* @p fmt (%Y %m %d and literals) applied to 1990-07-14 / 2021-02-03 into @p out. */
static void format_date(const char *fmt, int y, int m, int d, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = fmt; *p && k + 5 < size; p++) {
        if (*p != '%') {
            out[k++] = *p;
            continue;
        }
        p++;
        int n = *p == 'Y'   ? snprintf(out + k, size - k, "%04d", y)
                : *p == 'm' ? snprintf(out + k, size - k, "%02d", m)
                            : snprintf(out + k, size - k, "%02d", d);
        k += (size_t)n;
    }
    out[k] = '\0';
}

/*
 * One row as the layout writes it: a woman from Ukraine, identified, exploited in
 * Germany in sexual exploitation and forced labour (agriculture), registered on
 * 2021-02-03, born 1990-07-14, 30 years old.
 */
static size_t layout_row(const rp_sim_layout *l,
                         const char *header[RP_SIM_COL_COUNT],
                         const char *row[RP_SIM_COL_COUNT],
                         char buf[RP_SIM_COL_COUNT][64])
{
    size_t n = 0;
    for (size_t c = 0; c < RP_SIM_COL_COUNT; c++) {
        if (!l->columns[c][0])
            continue;
        char *v = buf[n];
        switch ((rp_sim_col)c) {
        case RP_SIM_COL_CASE_ID:
            snprintf(v, 64, "%s17", l->case_prefix);
            break;
        case RP_SIM_COL_REG_DATE:
            format_date(l->date_format, 2021, 2, 3, v, 64);
            break;
        case RP_SIM_COL_REG_YEAR:
            snprintf(v, 64, "2021");
            break;
        case RP_SIM_COL_STATUS:
            snprintf(v, 64, "%s", l->status_codes[1]);
            break;
        case RP_SIM_COL_BIRTH_DATE:
            format_date(l->birth_date_format, 1990, 7, 14, v, 64);
            break;
        case RP_SIM_COL_SEX:
            snprintf(v, 64, "%s", l->sex_codes[0]);
            break;
        case RP_SIM_COL_AGE:
            snprintf(v, 64, "30");
            break;
        case RP_SIM_COL_CITIZENSHIP:
            snprintf(v, 64, "%s", l->country_alpha3 ? "UKR" : "UA");
            break;
        case RP_SIM_COL_COUNTRY:
            snprintf(v, 64, "%s", l->country_alpha3 ? "DEU" : "DE");
            break;
        case RP_SIM_COL_EXPLOITATION:
            snprintf(v, 64, "%s%s%s", l->expl_codes[0], l->multi_sep, l->expl_codes[1]);
            break;
        case RP_SIM_COL_SECTOR:
            snprintf(v, 64, "%s", l->sector_codes[0]);
            break;
        default:
            snprintf(v, 64, "X%zu", c);
            break;
        }
        header[n] = l->columns[c];
        row[n] = v;
        n++;
    }
    return n;
}

static void check_mapping(const rp_sim_list *l, const char *dir)
{
    char *json = rp_sim__mapping_json(l);
    assert_non_null(json);
    char name[96];
    snprintf(name, sizeof(name), "%s.mapping.json", l->code);
    rp_mapping *m = NULL;
    rp_error err = RP_ERROR_INIT;
    if (rp_mapping_load(&m, write_file(dir, name, json), &err) != RP_OK) {
        print_error("list %s: %s\n%s\n", l->code, err.msg, json);
        fail();
    }
    const char *header[RP_SIM_COL_COUNT], *row[RP_SIM_COL_COUNT];
    char buf[RP_SIM_COL_COUNT][64];
    size_t n = layout_row(&l->layout, header, row, buf);
    assert_rp_ok(rp_mapping_bind(m, header, n, &err), &err);
    rp_case_record rec;
    rp_issue_list issues = RP_ISSUE_LIST_INIT;
    int rc = rp_mapping_apply(&rec, &issues, m, row, n, 2, &err);
    for (size_t i = 0; i < issues.n; i++)
        print_error("list %s: issue at column '%s': %s (%s)\n", l->code, issues.v[i].column_name,
                    issues.v[i].message, issues.v[i].rule);
    assert_rp_ok(rc, &err);
    const rp_sim_layout *lay = &l->layout;
    assert_string_equal(rec.list, l->code);
    assert_int_equal(rec.registration_year, 2021);
    assert_string_equal(rec.registration_date, "2021-02-03");
    if (lay->columns[RP_SIM_COL_STATUS][0])
        assert_int_equal(rec.id_status, RP_ID_STATUS_IDENTIFIED);
    if (lay->columns[RP_SIM_COL_SEX][0])
        assert_int_equal(rec.sex, RP_SEX_FEMALE);
    if (lay->columns[RP_SIM_COL_AGE][0])
        assert_int_equal(rec.age, 30);
    if (lay->columns[RP_SIM_COL_CITIZENSHIP][0])
        assert_string_equal(rec.citizenship, "UA");
    if (lay->columns[RP_SIM_COL_COUNTRY][0])
        assert_string_equal(rec.country_of_exploitation, "DE");
    assert_int_equal(rec.exploitation, RP_EXPL_SEXUAL | RP_EXPL_FORCED_LABOUR);
    if (lay->columns[RP_SIM_COL_SECTOR][0])
        assert_int_equal(rec.labour_sectors, RP_SECTOR_AGRICULTURE);

    /* identifiers: each column the layout writes, and only those */
    static const struct {
        rp_ident id;
        rp_sim_col col;
    } idents[] = {{RP_IDENT_GIVEN_NAME, RP_SIM_COL_GIVEN},
                  {RP_IDENT_FAMILY_NAME, RP_SIM_COL_FAMILY},
                  {RP_IDENT_PATRONYMIC, RP_SIM_COL_PATRONYMIC},
                  {RP_IDENT_FULL_NAME, RP_SIM_COL_FULL_NAME},
                  {RP_IDENT_BIRTH_DATE, RP_SIM_COL_BIRTH_DATE},
                  {RP_IDENT_DOCUMENT_NUMBER, RP_SIM_COL_DOCUMENT}};

    for (size_t i = 0; i < ARRAY_LEN(idents); i++) {
        const char *col = rp_mapping_ident_column(m, idents[i].id);
        if (lay->columns[idents[i].col][0]) {
            assert_non_null(col);
            assert_string_equal(col, lay->columns[idents[i].col]);
        } else {
            assert_null(col);
        }
    }
    if (lay->columns[RP_SIM_COL_BIRTH_DATE][0]) {
        char born[16];
        assert_rp_ok(
            rp_mapping_ident_read(m, RP_IDENT_BIRTH_DATE, row, n, born, sizeof(born), &err), &err);
        const char *want = strstr(lay->birth_date_format, "%d")   ? "1990-07-14"
                           : strstr(lay->birth_date_format, "%m") ? "1990-07"
                                                                  : "1990";
        assert_string_equal(born, want);
    }
    if (lay->columns[RP_SIM_COL_FULL_NAME][0])
        assert_int_equal(rp_mapping_full_name_family_first(m), lay->full_name_family_first);
    rp_issue_list_release(&issues);
    rp_mapping_free(m);
    rp_free(json);
}

static void sim_mapping_json__every_preset_imports(void **state)
{
    (void)state;
    char dir[512];
    rp_test_tmpdir(dir, sizeof(dir));
    rp_sim_scenario *sc = load_ok(fixture("all-presets.json"));
    assert_int_equal(sc->n_lists, 6);
    for (size_t i = 0; i < sc->n_lists; i++)
        check_mapping(&sc->lists[i], dir);
    rp_sim_scenario_free(sc);
    for (size_t i = 0; i < ARRAY_LEN(shipped); i++) {
        sc = load_ok(shipped_path(shipped[i]));
        for (size_t k = 0; k < sc->n_lists; k++)
            check_mapping(&sc->lists[k], dir);
        rp_sim_scenario_free(sc);
    }
    rp_test_rmtree(dir);
}

static void sim_mapping_json__fields_and_missing(void **state)
{
    (void)state;
    rp_sim_scenario *sc = load_ok(fixture("all-presets.json"));
    char *json = rp_sim__mapping_json(&sc->lists[1]); /* ngo */
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "missing"), 0)), "n/a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "list"), "value")),
                        "NGO");
    json_t *fields = json_object_get(j, "fields");
    json_t *expl = json_object_get(fields, "exploitation");
    assert_string_equal(json_string_value(json_object_get(expl, "split")), "|");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(expl, "recode"), "labour exploitation")),
        "forced_labour");
    assert_null(json_object_get(fields, "document_number"));
    assert_null(json_object_get(json_object_get(j, "identifiers"), "document_number"));
    json_decref(j);
    rp_free(json);
    /* police writes "" for missing: no global list */
    json = rp_sim__mapping_json(&sc->lists[0]);
    j = json_loads(json, 0, &jerr);
    assert_null(json_object_get(j, "missing"));
    json_decref(j);
    rp_free(json);
    rp_sim_scenario_free(sc);
}

/* ==== allocation failures ==== */

static int sweep_run(void *payload)
{
    rp_sim_scenario **sc = payload;
    static const char *const json =
        "{\"name\": \"s\", \"population\": {\"size\": 5, \"citizenship\": {\"UA\": 1, \"NG\": 1}},"
        " \"lists\": [{\"code\": \"A\", \"country\": \"DE\", \"p\": 0.5, \"effects\": "
        "{\"minor\": 1}}, {\"code\": \"B\", \"p\": 0.5}], \"description\": \"d\"}";
    int rc = rp_sim__scenario_parse(sc, json, strlen(json), "sweep", NULL);
    if (rc != RP_OK)
        return rc;
    char *text = rp_sim__scenario_to_json(*sc);
    char *map = rp_sim__mapping_json(&(*sc)->lists[0]);
    rc = text && map ? RP_OK : RP_ENOMEM;
    rp_free(text);
    rp_free(map);
    if (rc != RP_OK) {
        rp_sim_scenario_free(*sc);
        *sc = NULL;
    }
    return rc;
}

static void sweep_undo(void *payload)
{
    rp_sim_scenario **sc = payload;
    rp_sim_scenario_free(*sc);
    *sc = NULL;
}

static void scenario_parse__alloc_failure_sweep(void **state)
{
    (void)state;
    rp_sim_scenario *sc = NULL;
    unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &sc, 200);
    assert_true(n >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenario_load__shipped_scenarios_load),
        cmocka_unit_test(scenario_load__shipped_values),
        cmocka_unit_test(scenario_parse__fills_defaults),
        cmocka_unit_test(scenario_parse__forms_and_overrides),
        cmocka_unit_test(scenario_parse__default_locales_exist),
        cmocka_unit_test(sim_bit_index__bit_numbers),
        cmocka_unit_test(scenario_to_json__round_trip),
        cmocka_unit_test(scenario_to_json__fills_every_default),
        cmocka_unit_test(scenario_load__rejects_bad_files),
        cmocka_unit_test(scenario_load__parse_error_position),
        cmocka_unit_test(scenario_docs__example_loads),
        cmocka_unit_test(sim_mapping_json__every_preset_imports),
        cmocka_unit_test(sim_mapping_json__fields_and_missing),
        cmocka_unit_test(scenario_parse__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("sim_scenario", tests, setup, NULL);
}
