/*
 * Scenario files of `rapporteur simulate` (schema in docs/scenarios.md): JSON text to an
 * rp_sim_scenario with every default filled in and every rule checked, the resolved
 * scenario back to JSON, the layout presets of the agencies' files, and the mapping
 * file (docs/data-standard.md) that imports a list's file as the simulator writes it.
 */
#include "common/common_int.h"
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/sim.h>

#include <jansson.h>
#include <math.h>
#include <stdint.h>

/*
 * Reading order: the tables (locales, presets, defaults), the parse context and its
 * small readers, then the scenario from the top down (population, lists, layouts,
 * dependence), the writer of the resolved scenario, and the mapping writer.
 *
 * Every number read is rounded to 15 significant digits (round15), and the writer prints
 * 15 significant digits: so the JSON of a resolved scenario parses back to exactly the
 * same scenario, and writing it again gives the same text.
 */

/* ==== limits ==== */

#define SCENARIO_MAX_BYTES (4u << 20) /* largest scenario file, bytes */
#define POP_SIZE_MAX       50000000LL
#define SEED_MAX           (1LL << 53)
#define YEAR_MIN           1990
#define YEAR_MAX           2100
#define WEIGHT_MAX         1e9  /* largest weight (share) of a weighted choice */
#define BETA_MAX           20.0 /* largest |capture effect| (log-odds) */
#define LOR_MAX            10.0 /* largest |log odds ratio| of a dependence term */
#define AGE_MEAN_MIN       19.0
#define AGE_MEAN_MAX       50.0
#define NAME_LEN_MAX       63 /* scenario name */
#define LIST_CODE_LEN_MAX  32
#define PATH_LEN           256 /* a JSON path in messages */
#define REAL_DIGITS        15  /* significant digits kept and written */

/* ==== name locales ==== */

/*
 * The name locales (data/names/<locale>.csv) and their romanisation systems are those of
 * translit.c: rp_sim__translit_systems() answers for both, the usual system first.
 */
static size_t locale_systems(const char *locale, const char *const **ids)
{
    return rp_sim__translit_systems(locale, ids);
}

/*
 * Name locales of a citizenship when the scenario gives none: the languages in which
 * most of its nationals' names are written (weights are shares of people).
 */
typedef struct default_locales {
    const char *country;
    const char *locale[2];
    double w[2];
} default_locales;

static const default_locales default_locale_table[] = {
    {"UA", {"uk", "ru"}, {0.85, 0.15}},     {"RU", {"ru", NULL}, {1, 0}},
    {"BY", {"ru", NULL}, {1, 0}},           {"MD", {"ro_MD", "ru"}, {0.7, 0.3}},
    {"RO", {"ro", NULL}, {1, 0}},           {"RS", {"sr_RS_latin", NULL}, {1, 0}},
    {"PL", {"pl", NULL}, {1, 0}},           {"CZ", {"cs_CZ", NULL}, {1, 0}},
    {"SK", {"sk", NULL}, {1, 0}},           {"HU", {"hu", NULL}, {1, 0}},
    {"LV", {"lv", NULL}, {1, 0}},           {"AZ", {"az", NULL}, {1, 0}},
    {"GE", {"ka_GE", NULL}, {1, 0}},        {"AM", {"hy", NULL}, {1, 0}},
    {"GR", {"el", NULL}, {1, 0}},           {"CY", {"el", NULL}, {1, 0}},
    {"TR", {"tr", NULL}, {1, 0}},           {"VN", {"vi", NULL}, {1, 0}},
    {"NG", {"en_NG", "yo_NG"}, {0.5, 0.5}}, {"CN", {"zh_CN", NULL}, {1, 0}},
    {"SY", {"ar", NULL}, {1, 0}},           {"IQ", {"ar", NULL}, {1, 0}},
    {"EG", {"ar", NULL}, {1, 0}},           {"MA", {"ar", NULL}, {1, 0}},
    {"DZ", {"ar", NULL}, {1, 0}},           {"TN", {"ar", NULL}, {1, 0}},
    {"LY", {"ar", NULL}, {1, 0}},           {"SD", {"ar", NULL}, {1, 0}},
    {"JO", {"ar", NULL}, {1, 0}},           {"LB", {"ar", NULL}, {1, 0}},
    {"PS", {"ar", NULL}, {1, 0}},           {"YE", {"ar", NULL}, {1, 0}},
    {"IR", {"fa", NULL}, {1, 0}},           {"AF", {"fa", NULL}, {1, 0}},
    {"DE", {"de", NULL}, {1, 0}},           {"AT", {"de", NULL}, {1, 0}},
    {"FR", {"fr", NULL}, {1, 0}},           {"IT", {"it", NULL}, {1, 0}},
    {"ES", {"es", NULL}, {1, 0}},           {"BR", {"pt_BR", NULL}, {1, 0}},
    {"PT", {"pt_BR", NULL}, {1, 0}},        {"GB", {"en_GB", NULL}, {1, 0}},
    {"IE", {"en_GB", NULL}, {1, 0}},        {"US", {"en_GB", NULL}, {1, 0}},
    {"NL", {"nl", NULL}, {1, 0}},           {"BE", {"nl", "fr"}, {0.5, 0.5}},
};

/* ==== layout presets ==== */

/* JSON keys of the columns, in rp_sim_col order (the order they are written in). */
static const char *const col_keys[RP_SIM_COL_COUNT] = {"case_id",
                                                       "registration_date",
                                                       "registration_year",
                                                       "status",
                                                       "family_name",
                                                       "given_name",
                                                       "patronymic",
                                                       "full_name",
                                                       "birth_date",
                                                       "sex",
                                                       "age",
                                                       "citizenship",
                                                       "country_of_exploitation",
                                                       "exploitation",
                                                       "labour_sector",
                                                       "document_number"};

/* Police case-management export: British-style dates, alpha-3, short codes. */
static const rp_sim_layout preset_police = {
    .preset = "police",
    .columns = {[RP_SIM_COL_CASE_ID] = "CaseRef",
                [RP_SIM_COL_REG_DATE] = "DateRecorded",
                [RP_SIM_COL_STATUS] = "Status",
                [RP_SIM_COL_FAMILY] = "Surname",
                [RP_SIM_COL_GIVEN] = "Forename",
                [RP_SIM_COL_BIRTH_DATE] = "DOB",
                [RP_SIM_COL_SEX] = "Gender",
                [RP_SIM_COL_CITIZENSHIP] = "Nationality",
                [RP_SIM_COL_COUNTRY] = "ExploitationCountry",
                [RP_SIM_COL_EXPLOITATION] = "ExploitationType",
                [RP_SIM_COL_SECTOR] = "LabourSector",
                [RP_SIM_COL_DOCUMENT] = "PassportNo"},
    .delimiter = ',',
    .missing = "",
    .date_format = "%d/%m/%Y",
    .birth_date_format = "%d/%m/%Y",
    .family_upper = true,
    .full_name_family_first = false,
    .sex_codes = {"F", "M"},
    .status_codes = {"Presumed", "Confirmed"},
    .country_alpha3 = true,
    .expl_codes = {"SEX", "LAB", "CRIM", "BEG", "DOM", "MAR", "ORG", "MIL", "OTH"},
    .sector_codes = {"AGR", "AQU", "BEG", "CON", "DOM", "HOS", "ILL", "MAN", "MIN", "PED", "TRA",
                     "OTH", "NS"},
    .multi_sep = ";",
    .case_prefix = "POL-",
};

/* Sectors in words (NGO case files, and the default of layouts without a sector column). */
#define SECTOR_WORDS                                                                             \
    {                                                                                            \
        "agriculture", "aquaculture", "begging", "construction", "domestic work", "hospitality", \
            "illicit activities", "manufacturing", "mining", "street vending", "transport",      \
            "other", "not specified"                                                             \
    }

/* Support NGO intake sheet: semicolon-separated, words, "n/a" for missing. */
static const rp_sim_layout preset_ngo = {
    .preset = "ngo",
    .columns = {[RP_SIM_COL_CASE_ID] = "id",
                [RP_SIM_COL_REG_DATE] = "intake_date",
                [RP_SIM_COL_STATUS] = "status",
                [RP_SIM_COL_FAMILY] = "last_name",
                [RP_SIM_COL_GIVEN] = "first_name",
                [RP_SIM_COL_PATRONYMIC] = "middle_name",
                [RP_SIM_COL_BIRTH_DATE] = "date_of_birth",
                [RP_SIM_COL_SEX] = "sex",
                [RP_SIM_COL_AGE] = "age",
                [RP_SIM_COL_CITIZENSHIP] = "nationality",
                [RP_SIM_COL_COUNTRY] = "country",
                [RP_SIM_COL_EXPLOITATION] = "exploitation",
                [RP_SIM_COL_SECTOR] = "sector"},
    .delimiter = ';',
    .missing = "n/a",
    .date_format = "%Y-%m-%d",
    .birth_date_format = "%d.%m.%Y",
    .family_upper = false,
    .full_name_family_first = false,
    .sex_codes = {"female", "male"},
    .status_codes = {"presumed", "identified"},
    .country_alpha3 = false,
    .expl_codes = {"sexual exploitation", "labour exploitation", "criminal exploitation", "begging",
                   "domestic servitude", "forced marriage", "organ removal", "military", "other"},
    .sector_codes = SECTOR_WORDS,
    .multi_sep = "|",
    .case_prefix = "NGO-",
};

/*
 * Labour inspectorate: one full name (family name first), birth year only, numeric sex
 * codes, NACE-style sector codes (Z* where NACE has no section), -99 for missing.
 */
static const rp_sim_layout preset_inspectorate = {
    .preset = "inspectorate",
    .columns = {[RP_SIM_COL_CASE_ID] = "inspection_no",
                [RP_SIM_COL_REG_DATE] = "inspection_date",
                [RP_SIM_COL_FULL_NAME] = "worker_name",
                [RP_SIM_COL_BIRTH_DATE] = "birth_year",
                [RP_SIM_COL_SEX] = "sex",
                [RP_SIM_COL_CITIZENSHIP] = "nationality",
                [RP_SIM_COL_EXPLOITATION] = "exploitation",
                [RP_SIM_COL_SECTOR] = "sector"},
    .delimiter = ',',
    .missing = "-99",
    .date_format = "%d-%m-%Y",
    .birth_date_format = "%Y",
    .family_upper = false,
    .full_name_family_first = true,
    .sex_codes = {"2", "1"},
    .status_codes = {"presumed", "identified"},
    .country_alpha3 = true,
    .expl_codes = {"SE", "FL", "FC", "FB", "DS", "FM", "OR", "MI", "OT"},
    .sector_codes = {"A01", "A03", "Z1", "F", "T", "I", "Z2", "C", "B", "G47", "H", "Z9", "Z0"},
    .multi_sep = "/",
    .case_prefix = "INS",
};

/* Border guard screening record: ISO dates, capitals, document number. */
static const rp_sim_layout preset_border_guard = {
    .preset = "border_guard",
    .columns = {[RP_SIM_COL_CASE_ID] = "record_id",
                [RP_SIM_COL_REG_DATE] = "date",
                [RP_SIM_COL_FAMILY] = "surname",
                [RP_SIM_COL_GIVEN] = "given_names",
                [RP_SIM_COL_BIRTH_DATE] = "date_of_birth",
                [RP_SIM_COL_SEX] = "sex",
                [RP_SIM_COL_CITIZENSHIP] = "citizenship",
                [RP_SIM_COL_COUNTRY] = "country_of_exploitation",
                [RP_SIM_COL_EXPLOITATION] = "exploitation",
                [RP_SIM_COL_DOCUMENT] = "document_no"},
    .delimiter = ';',
    .missing = "",
    .date_format = "%Y-%m-%d",
    .birth_date_format = "%Y-%m-%d",
    .family_upper = true,
    .full_name_family_first = false,
    .sex_codes = {"F", "M"},
    .status_codes = {"presumed", "identified"},
    .country_alpha3 = true,
    .expl_codes = {"SEX", "LABOUR", "CRIME", "BEGGING", "DOMESTIC", "MARRIAGE", "ORGANS",
                   "MILITARY", "OTHER"},
    .sector_codes = SECTOR_WORDS,
    .multi_sep = ",",
    .case_prefix = "BG",
};

/* Helpline call log: a name as the caller gave it, an age, no birth date or document. */
static const rp_sim_layout preset_hotline = {
    .preset = "hotline",
    .columns = {[RP_SIM_COL_CASE_ID] = "call_id",
                [RP_SIM_COL_REG_DATE] = "call_date",
                [RP_SIM_COL_FULL_NAME] = "caller_name",
                [RP_SIM_COL_SEX] = "sex",
                [RP_SIM_COL_AGE] = "age",
                [RP_SIM_COL_CITIZENSHIP] = "nationality",
                [RP_SIM_COL_EXPLOITATION] = "exploitation"},
    .delimiter = ',',
    .missing = "",
    .date_format = "%Y-%m-%d",
    .birth_date_format = "%Y-%m-%d",
    .family_upper = false,
    .full_name_family_first = false,
    .sex_codes = {"Female", "Male"},
    .status_codes = {"presumed", "identified"},
    .country_alpha3 = false,
    .expl_codes = {"Sexual exploitation", "Labour exploitation", "Criminal exploitation",
                   "Forced begging", "Domestic servitude", "Forced marriage", "Organ removal",
                   "Forced recruitment", "Other"},
    .sector_codes = SECTOR_WORDS,
    .multi_sep = "; ",
    .case_prefix = "HL-",
};

static const rp_sim_layout *const presets[] = {&preset_police, &preset_ngo, &preset_inspectorate,
                                               &preset_border_guard, &preset_hotline};

#define PRESET_NAMES "police, ngo, inspectorate, border_guard, hotline"

static const rp_sim_layout *preset_find(const char *name)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(presets); i++) {
        if (strcmp(presets[i]->preset, name) == 0)
            return presets[i];
    }
    return NULL;
}

/* ==== defaults ==== */

static const rp_sim_weighted default_exploitation[] = {{"sexual", 0.45},
                                                       {"forced_labour", 0.4},
                                                       {"forced_criminality", 0.1},
                                                       {"domestic_servitude", 0.05}};

static const rp_sim_weighted default_sectors[] = {{"agriculture", 0.25},  {"construction", 0.2},
                                                  {"hospitality", 0.15},  {"manufacturing", 0.15},
                                                  {"domestic_work", 0.1}, {"other", 0.15}};

#define DEFAULT_YEAR_FIRST 2020
#define DEFAULT_YEAR_LAST  2024
#define DEFAULT_SEED       1

/* A number in an interval; open ends exclude the bound. */
typedef struct interval {
    double lo, hi;
    bool lo_open, hi_open;
} interval;

static const interval prob_closed = {0.0, 1.0, false, false};
static const interval prob_open = {0.0, 1.0, true, true};

/* The simple numbers of "population", in the order they are written. */
typedef struct pop_number {
    const char *key;
    size_t offset; /* of a double in rp_sim_population */
    double dflt;
    interval range;
} pop_number;

static const pop_number pop_numbers[] = {
    {"female_share", offsetof(rp_sim_population, female_share), 0.5, {0.0, 1.0, false, false}},
    {"minor_share", offsetof(rp_sim_population, minor_share), 0.2, {0.0, 1.0, false, false}},
    {"adult_age_mean",
     offsetof(rp_sim_population, adult_age_mean),
     31.0,
     {AGE_MEAN_MIN, AGE_MEAN_MAX, false, false}},
    {"second_form", offsetof(rp_sim_population, second_form), 0.1, {0.0, 1.0, false, false}},
    {"document_share", offsetof(rp_sim_population, document_share), 0.6, {0.0, 1.0, false, false}},
    {"middle_name", offsetof(rp_sim_population, middle_name), 0.3, {0.0, 1.0, false, false}},
};

/* The recording errors of a list, with their defaults, in the order they are written. */
typedef struct error_rate {
    const char *key;
    size_t offset; /* of a double in rp_sim_errors */
    double dflt;
} error_rate;

static const error_rate error_rates[] = {
    {"typo", offsetof(rp_sim_errors, typo), 0.02},
    {"translit", offsetof(rp_sim_errors, translit), 0.05},
    {"order_swap", offsetof(rp_sim_errors, order_swap), 0.02},
    {"day_month_swap", offsetof(rp_sim_errors, day_month_swap), 0.02},
    {"wrong_birth_year", offsetof(rp_sim_errors, wrong_birth_year), 0.01},
    {"missing_birth_date", offsetof(rp_sim_errors, missing_birth_date), 0.05},
    {"missing_given", offsetof(rp_sim_errors, missing_given), 0.01},
    {"missing_sex", offsetof(rp_sim_errors, missing_sex), 0.01},
    {"missing_citizenship", offsetof(rp_sim_errors, missing_citizenship), 0.02},
    {"patronymic_dropped", offsetof(rp_sim_errors, patronymic_dropped), 0.5},
    {"masculine_surname", offsetof(rp_sim_errors, masculine_surname), 0.1},
};

static double *error_field(rp_sim_errors *e, size_t i)
{
    return (double *)(void *)((char *)e + error_rates[i].offset);
}

static double error_value(const rp_sim_errors *e, size_t i)
{
    return *(const double *)(const void *)((const char *)e + error_rates[i].offset);
}

static double *pop_field(rp_sim_population *p, size_t i)
{
    return (double *)(void *)((char *)p + pop_numbers[i].offset);
}

static double pop_value(const rp_sim_population *p, size_t i)
{
    return *(const double *)(const void *)((const char *)p + pop_numbers[i].offset);
}

/* ==== small helpers ==== */

unsigned rp_sim__bit_index(uint32_t bit)
{
    if (bit == 0)
        return 32;
    return (unsigned)__builtin_ctz(bit);
}

/* @p x rounded to REAL_DIGITS significant digits (see the reading-order note). */
static double round15(double x)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%.*g", REAL_DIGITS, x);
    return strtod(buf, NULL);
}

static void wvec_release(rp_sim_wvec *v)
{
    rp_free(v->items);
    v->items = NULL;
    v->n = 0;
}

/* Copy @p n defaults into the empty @p v. @return RP_OK; RP_ENOMEM. */
static int wvec_set(rp_sim_wvec *v, const rp_sim_weighted *items, size_t n)
{
    v->items = rp_calloc(n, sizeof(*v->items));
    if (!v->items)
        return RP_ENOMEM;
    memcpy(v->items, items, n * sizeof(*items));
    v->n = n;
    return RP_OK;
}

/* True when @p a and @p b are equal ignoring ASCII case. */
static bool ascii_iequal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return false;
    }
    return *a == *b;
}

/*
 * "a, b, c": the first @p n strings of @p items, stopping early at a NULL, for messages.
 * Cut short when @p buf is full.
 */
static const char *join_list(const char *const *items, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && items[i]; i++) {
        int w = snprintf(buf + k, size - k, "%s%s", i ? ", " : "", items[i]);
        if (w < 0 || (size_t)w >= size - k)
            break;
        k += (size_t)w;
    }
    return buf;
}

/* "a, b, c": the codes of a CODES field, for messages. */
static const char *field_code_list(rp_field f, char *buf, size_t size)
{
    const rp_field_info *info = rp_field_info_get(f);
    return join_list(info->codes, SIZE_MAX, buf, size);
}

/* ==== parse context ==== */

typedef struct ctx {
    const char *file; /* labels errors (err->path) */
    rp_error *err;
} ctx;

static int bad(const ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A schema error at JSON path @p path: "path: what". @return RP_EINVAL. */
static int bad(const ctx *c, const char *path, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set_at(c->err, RP_EINVAL, c->file, 0, 0, "%s: %s", path, what);
}

static int oom(const ctx *c)
{
    return rp_error_set(c->err, RP_ENOMEM, "out of memory");
}

/* "parent.key" (or "key" at the top) into @p buf. @return @p buf. */
static const char *join(char *buf, const char *parent, const char *key)
{
    int n = snprintf(buf, PATH_LEN, "%s%s%s", parent, parent[0] ? "." : "", key);
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4); /* cut short: say so */
    return buf;
}

/* "parent[i]" into @p buf. @return @p buf. */
static const char *join_idx(char *buf, const char *parent, size_t i)
{
    int n = snprintf(buf, PATH_LEN, "%s[%zu]", parent, i);
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4);
    return buf;
}

/*
 * Every key of object @p obj must be one of @p keys or "comment" (ignored, as in mapping
 * files). @return RP_OK; RP_EINVAL naming the first unknown key and the known ones.
 */
static int
check_keys(const ctx *c, json_t *obj, const char *path, const char *const *keys, size_t n_keys)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool known = strcmp(key, "comment") == 0;
        for (size_t i = 0; i < n_keys && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (known)
            continue;
        char list[400];
        char sub[PATH_LEN];
        return bad(c, join(sub, path, key), "unknown key (expected one of: %s)",
                   join_list(keys, n_keys, list, sizeof(list)));
    }
    return RP_OK;
}

/* Read the number @p j in @p r into *out (rounded: round15). */
static int read_number(const ctx *c, json_t *j, const char *path, interval r, double *out)
{
    double x = json_is_number(j) ? json_number_value(j) : NAN;
    bool ok =
        isfinite(x) && (r.lo_open ? x > r.lo : x >= r.lo) && (r.hi_open ? x < r.hi : x <= r.hi);
    if (!ok)
        return bad(c, path, "expected a number in %c%g, %g%c", r.lo_open ? '(' : '[', r.lo, r.hi,
                   r.hi_open ? ')' : ']');
    *out = round15(x);
    return RP_OK;
}

/* Optional number @p key of @p obj; *out keeps its default when absent. */
static int
get_number(const ctx *c, json_t *obj, const char *key, const char *parent, interval r, double *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j)
        return RP_OK;
    char sub[PATH_LEN];
    return read_number(c, j, join(sub, parent, key), r, out);
}

/* Read the integer @p j in [lo, hi]. */
static int
read_int(const ctx *c, json_t *j, const char *path, long long lo, long long hi, long long *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return bad(c, path, "expected an integer %lld..%lld", lo, hi);
    *out = json_integer_value(j);
    return RP_OK;
}

/* Optional boolean @p key of @p obj. */
static int get_bool(const ctx *c, json_t *obj, const char *key, const char *parent, bool *out)
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

/* ==== codes: countries, locales, forms of exploitation, sectors ==== */

typedef enum code_kind { CODE_COUNTRY, CODE_LOCALE, CODE_EXPL, CODE_SECTOR } code_kind;

/* The canonical code of @p key of kind @p kind into @p out, or an error at @p path. */
static int canon_code(const ctx *c, code_kind kind, const char *key, const char *path, char *out)
{
    char list[400];
    const char *const *ids = NULL;
    unsigned v = 0;
    switch (kind) {
    case CODE_COUNTRY:
        if (rp_country_normalise(out, key) != RP_OK)
            return bad(c, path, "expected an ISO 3166-1 alpha-2 or alpha-3 country code");
        return RP_OK;
    case CODE_LOCALE:
        if (locale_systems(key, &ids) == 0)
            return bad(c, path, "unknown name locale (docs/scenarios.md lists the locales)");
        rp_x_strlcpy(out, key, RP_SIM_CODE_MAX);
        return RP_OK;
    case CODE_EXPL:
        if (rp_code_parse(&v, RP_FIELD_EXPLOITATION, key) != RP_OK)
            return bad(c, path, "expected a form of exploitation (%s)",
                       field_code_list(RP_FIELD_EXPLOITATION, list, sizeof(list)));
        rp_x_strlcpy(out, rp_code_name(RP_FIELD_EXPLOITATION, rp_sim__bit_index(v)),
                     RP_SIM_CODE_MAX);
        return RP_OK;
    case CODE_SECTOR:
        if (rp_code_parse(&v, RP_FIELD_LABOUR_SECTORS, key) != RP_OK)
            return bad(c, path, "expected a labour sector (%s)",
                       field_code_list(RP_FIELD_LABOUR_SECTORS, list, sizeof(list)));
        rp_x_strlcpy(out, rp_code_name(RP_FIELD_LABOUR_SECTORS, rp_sim__bit_index(v)),
                     RP_SIM_CODE_MAX);
        return RP_OK;
    }
    return bad(c, path, "unknown kind of code");
}

/*
 * A weighted choice: an object of code -> weight (> 0), at least one entry, codes
 * canonical and distinct. @p out must be empty; it stays empty on failure.
 */
static int parse_wvec(const ctx *c, json_t *j, const char *path, code_kind kind, rp_sim_wvec *out)
{
    static const interval weight = {0.0, WEIGHT_MAX, true, false};
    if (!json_is_object(j) || json_object_size(j) == 0)
        return bad(c, path, "expected an object of code: weight with at least one entry");
    rp_sim_weighted *items = rp_calloc(json_object_size(j), sizeof(*items));
    if (!items)
        return oom(c);
    int rc = RP_OK;
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        char sub[PATH_LEN];
        join(sub, path, key);
        rc = canon_code(c, kind, key, sub, items[n].code);
        if (rc == RP_OK)
            rc = read_number(c, val, sub, weight, &items[n].w);
        for (size_t i = 0; rc == RP_OK && i < n; i++) {
            if (strcmp(items[i].code, items[n].code) == 0)
                rc = bad(c, sub, "'%s' is given twice", items[n].code);
        }
        if (rc != RP_OK)
            break;
        n++;
    }
    if (rc != RP_OK) {
        rp_free(items);
        return rc;
    }
    out->items = items;
    out->n = n;
    return RP_OK;
}

/* ==== the population ==== */

/* The default name locales of citizenship @p cc into @p nat; false when there are none. */
static bool default_locales_of(const char *cc, rp_sim_nationality *nat)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(default_locale_table); i++) {
        const default_locales *d = &default_locale_table[i];
        if (strcmp(d->country, cc) != 0)
            continue;
        nat->n_locales = 0;
        for (size_t k = 0; k < 2 && d->locale[k]; k++) {
            rp_x_strlcpy(nat->locales[k], d->locale[k], RP_SIM_CODE_MAX);
            nat->locale_w[k] = d->w[k];
            nat->n_locales++;
        }
        return true;
    }
    return false;
}

/* "locales" of a citizenship: 1..RP_SIM_LOCALES_MAX known locales with weights. */
static int parse_locales(const ctx *c, json_t *j, const char *path, rp_sim_nationality *nat)
{
    rp_sim_wvec v = {NULL, 0};
    int rc = parse_wvec(c, j, path, CODE_LOCALE, &v);
    if (rc != RP_OK)
        return rc;
    if (v.n > RP_SIM_LOCALES_MAX) {
        rc = bad(c, path, "expected at most %d locales", RP_SIM_LOCALES_MAX);
    } else {
        for (size_t i = 0; i < v.n; i++) {
            rp_x_strlcpy(nat->locales[i], v.items[i].code, RP_SIM_CODE_MAX);
            nat->locale_w[i] = v.items[i].w;
        }
        nat->n_locales = v.n;
    }
    wvec_release(&v);
    return rc;
}

static const char *const nationality_keys[] = {"share", "locales", "female_share", "minor_share",
                                               "exploitation"};

/* One entry of "citizenship": a share, or an object with "share" and more. */
static int parse_nationality(const ctx *c, json_t *j, const char *path, rp_sim_nationality *nat)
{
    static const interval weight = {0.0, WEIGHT_MAX, true, false};
    char sub[PATH_LEN];
    nat->female_share = -1.0;
    nat->minor_share = -1.0;
    json_t *locales = NULL;
    int rc = RP_OK;
    if (json_is_number(j)) {
        rc = read_number(c, j, path, weight, &nat->share);
    } else if (json_is_object(j)) {
        rc = check_keys(c, j, path, nationality_keys, RP_ARRAY_LEN(nationality_keys));
        json_t *share = json_object_get(j, "share");
        if (rc == RP_OK && !share)
            rc = bad(c, join(sub, path, "share"), "required (a weight > 0)");
        if (rc == RP_OK)
            rc = read_number(c, share, join(sub, path, "share"), weight, &nat->share);
        if (rc == RP_OK)
            rc = get_number(c, j, "female_share", path, prob_closed, &nat->female_share);
        if (rc == RP_OK)
            rc = get_number(c, j, "minor_share", path, prob_closed, &nat->minor_share);
        json_t *expl = json_object_get(j, "exploitation");
        if (rc == RP_OK && expl)
            rc =
                parse_wvec(c, expl, join(sub, path, "exploitation"), CODE_EXPL, &nat->exploitation);
        locales = json_object_get(j, "locales");
    } else {
        rc = bad(c, path, "expected a share (number > 0) or an object with \"share\"");
    }
    if (rc != RP_OK)
        return rc;
    if (locales)
        return parse_locales(c, locales, join(sub, path, "locales"), nat);
    if (!default_locales_of(nat->country, nat))
        return bad(c, path,
                   "no default name locales for this citizenship: give \"locales\" (e.g. "
                   "{\"share\": 0.1, \"locales\": {\"ru\": 1}})");
    return RP_OK;
}

/* "citizenship": citizenship code -> entry; at least one. */
static int parse_citizenship(const ctx *c, rp_sim_population *pop, json_t *j, const char *path)
{
    if (!json_is_object(j) || json_object_size(j) == 0)
        return bad(c, path, "expected an object of country code: share or {\"share\": ...}");
    pop->nationalities = rp_calloc(json_object_size(j), sizeof(*pop->nationalities));
    if (!pop->nationalities)
        return oom(c);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        char sub[PATH_LEN];
        join(sub, path, key);
        rp_sim_nationality *nat = &pop->nationalities[pop->n_nationalities];
        int rc = canon_code(c, CODE_COUNTRY, key, sub, nat->country);
        for (size_t i = 0; rc == RP_OK && i < pop->n_nationalities; i++) {
            if (strcmp(pop->nationalities[i].country, nat->country) == 0)
                rc = bad(c, sub, "citizenship '%s' is given twice", nat->country);
        }
        /* counted before parsing, so that its exploitation vector is freed on failure */
        pop->n_nationalities++;
        if (rc == RP_OK)
            rc = parse_nationality(c, val, sub, nat);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* "years": [first, last], [year] or year. */
static int parse_years(const ctx *c, rp_sim_population *pop, json_t *j, const char *path)
{
    long long first = 0, last = 0;
    int rc = RP_OK;
    char sub[PATH_LEN];
    if (json_is_integer(j)) {
        rc = read_int(c, j, path, YEAR_MIN, YEAR_MAX, &first);
        last = first;
    } else if (json_is_array(j) && (json_array_size(j) == 1 || json_array_size(j) == 2)) {
        rc = read_int(c, json_array_get(j, 0), join_idx(sub, path, 0), YEAR_MIN, YEAR_MAX, &first);
        last = first;
        if (rc == RP_OK && json_array_size(j) == 2)
            rc = read_int(c, json_array_get(j, 1), join_idx(sub, path, 1), YEAR_MIN, YEAR_MAX,
                          &last);
        if (rc == RP_OK && last < first)
            rc = bad(c, path, "expected [first, last] with first <= last");
    } else {
        rc = bad(c, path, "expected a year or [first, last] (years %d..%d)", YEAR_MIN, YEAR_MAX);
    }
    if (rc == RP_OK) {
        pop->year_first = (int)first;
        pop->year_last = (int)last;
    }
    return rc;
}

/*
 * "country_of_exploitation": an object of country -> weight or one country code. When
 * absent, the country of the first list (which must then be given).
 */
static int parse_countries(const ctx *c, rp_sim_population *pop, json_t *j, json_t *lists)
{
    const char *path = "population.country_of_exploitation";
    if (j && !json_is_string(j))
        return parse_wvec(c, j, path, CODE_COUNTRY, &pop->countries);
    json_t *country = j;
    if (!j) {
        /* the caller checked that lists is an array of at least two */
        json_t *first = json_array_get(lists, 0);
        if (!json_is_object(first))
            return bad(c, "lists[0]", "expected an object");
        country = json_object_get(first, "country");
        path = "lists[0].country";
        if (!country)
            return bad(c, path, "required when population.country_of_exploitation is absent");
        if (!json_is_string(country))
            return bad(c, path, "expected a country code");
    }
    rp_sim_weighted w = {"", 1.0};
    int rc = canon_code(c, CODE_COUNTRY, json_string_value(country), path, w.code);
    if (rc == RP_OK && wvec_set(&pop->countries, &w, 1) != RP_OK)
        rc = oom(c);
    return rc;
}

static const char *const population_keys[] = {
    "size",         "years",          "citizenship",    "country_of_exploitation",
    "female_share", "minor_share",    "adult_age_mean", "exploitation",
    "second_form",  "labour_sectors", "document_share", "middle_name"};

/* The defaults of the simple numbers, then the object's values. */
static int parse_pop_numbers(const ctx *c, rp_sim_population *pop, json_t *j)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(pop_numbers); i++) {
        *pop_field(pop, i) = pop_numbers[i].dflt;
        int rc = get_number(c, j, pop_numbers[i].key, "population", pop_numbers[i].range,
                            pop_field(pop, i));
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* An optional weighted choice @p key of "population", or its default. */
static int parse_pop_wvec(const ctx *c,
                          json_t *j,
                          const char *key,
                          code_kind kind,
                          const rp_sim_weighted *dflt,
                          size_t n_dflt,
                          rp_sim_wvec *out)
{
    json_t *v = json_object_get(j, key);
    if (v) {
        char sub[PATH_LEN];
        return parse_wvec(c, v, join(sub, "population", key), kind, out);
    }
    return wvec_set(out, dflt, n_dflt) == RP_OK ? RP_OK : oom(c);
}

static int parse_population(const ctx *c, rp_sim_population *pop, json_t *j, json_t *lists)
{
    const char *path = "population";
    if (!json_is_object(j))
        return bad(c, path, "required: an object with \"size\" and \"citizenship\"");
    int rc = check_keys(c, j, path, population_keys, RP_ARRAY_LEN(population_keys));
    if (rc != RP_OK)
        return rc;
    json_t *size = json_object_get(j, "size");
    if (!size)
        return bad(c, "population.size", "required (an integer 1..%lld)", POP_SIZE_MAX);
    long long n = 0;
    rc = read_int(c, size, "population.size", 1, POP_SIZE_MAX, &n);
    if (rc != RP_OK)
        return rc;
    pop->size = (uint64_t)n;
    pop->year_first = DEFAULT_YEAR_FIRST;
    pop->year_last = DEFAULT_YEAR_LAST;
    json_t *years = json_object_get(j, "years");
    if (years)
        rc = parse_years(c, pop, years, "population.years");
    json_t *cit = json_object_get(j, "citizenship");
    if (rc == RP_OK && !cit)
        rc = bad(c, "population.citizenship", "required (e.g. {\"GB\": 0.6, \"VN\": 0.4})");
    if (rc == RP_OK)
        rc = parse_citizenship(c, pop, cit, "population.citizenship");
    if (rc == RP_OK)
        rc = parse_countries(c, pop, json_object_get(j, "country_of_exploitation"), lists);
    if (rc == RP_OK)
        rc = parse_pop_numbers(c, pop, j);
    if (rc == RP_OK)
        rc = parse_pop_wvec(c, j, "exploitation", CODE_EXPL, default_exploitation,
                            RP_ARRAY_LEN(default_exploitation), &pop->exploitation);
    if (rc == RP_OK)
        rc = parse_pop_wvec(c, j, "labour_sectors", CODE_SECTOR, default_sectors,
                            RP_ARRAY_LEN(default_sectors), &pop->sectors);
    return rc;
}

/* ==== layouts ==== */

/*
 * A text the agency writes into its file (header, code, missing value, prefix): at most
 * @p cap - 1 bytes, no control character, quote or delimiter, no white space at either
 * end (the importer trims values), and non-empty unless @p may_be_empty.
 */
static int check_text(
    const ctx *c, const char *s, size_t cap, char delimiter, bool may_be_empty, const char *path)
{
    size_t len = strlen(s);
    if (len >= cap)
        return bad(c, path, "expected at most %zu bytes", cap - 1);
    if (len == 0 && !may_be_empty)
        return bad(c, path, "expected a non-empty string");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == (unsigned char)delimiter)
            return bad(c, path, "contains a control character, a quote or the delimiter");
    }
    if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
        return bad(c, path, "expected no space at the start or the end");
    return RP_OK;
}

/*
 * The separator of several codes in one column: 1 to 3 bytes, not the delimiter, no
 * quote or control character, and not only spaces (the importer trims each part, so
 * "; " is fine).
 */
static int check_multi_sep(const ctx *c, const rp_sim_layout *l, const char *path)
{
    const char *s = l->multi_sep;
    bool visible = false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == (unsigned char)l->delimiter)
            return bad(c, path, "contains a control character, a quote or the delimiter");
        visible = visible || ch != ' ';
    }
    if (!visible)
        return bad(c, path, "expected 1 to %zu bytes, not only spaces", sizeof(l->multi_sep) - 1);
    return RP_OK;
}

/* Copy string @p j into @p dst of @p cap bytes, or an error at @p path. */
static int copy_string(const ctx *c, json_t *j, char *dst, size_t cap, const char *path)
{
    if (!json_is_string(j))
        return bad(c, path, "expected a string");
    if (strlen(json_string_value(j)) >= cap)
        return bad(c, path, "expected at most %zu bytes", cap - 1);
    rp_x_strlcpy(dst, json_string_value(j), cap);
    return RP_OK;
}

/* "columns": overrides of the preset's headers; null drops a column. */
static int parse_columns(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    if (!json_is_object(j))
        return bad(c, path, "expected an object of column: header or null");
    int rc = check_keys(c, j, path, col_keys, RP_SIM_COL_COUNT);
    for (size_t i = 0; rc == RP_OK && i < RP_SIM_COL_COUNT; i++) {
        json_t *v = json_object_get(j, col_keys[i]);
        char sub[PATH_LEN];
        if (!v)
            continue;
        if (json_is_null(v))
            l->columns[i][0] = '\0';
        else
            rc = copy_string(c, v, l->columns[i], RP_SIM_COL_MAX, join(sub, path, col_keys[i]));
    }
    return rc;
}

/* A group of codes by name (@p names[i] -> @p dst + i * @p stride), partial overrides. */
static int parse_code_group(const ctx *c,
                            json_t *j,
                            const char *path,
                            const char *const *names,
                            size_t n,
                            char *dst,
                            size_t stride)
{
    if (!json_is_object(j))
        return bad(c, path, "expected an object of name: code");
    int rc = check_keys(c, j, path, names, n);
    for (size_t i = 0; rc == RP_OK && i < n; i++) {
        json_t *v = json_object_get(j, names[i]);
        char sub[PATH_LEN];
        if (v)
            rc = copy_string(c, v, dst + i * stride, stride, join(sub, path, names[i]));
    }
    return rc;
}

/* The codes of a CODES field, for parse_code_group(). */
static size_t field_codes(rp_field f, const char *const **names)
{
    const rp_field_info *info = rp_field_info_get(f);
    size_t n = 0;
    while (info->codes[n])
        n++;
    *names = info->codes;
    return n;
}

static const char *const sex_names[] = {"female", "male"};
static const char *const status_names[] = {"presumed", "identified"};

static int parse_layout_codes(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    char sub[PATH_LEN];
    const char *const *names = NULL;
    size_t n = 0;
    int rc = RP_OK;
    json_t *v = json_object_get(j, "sex_codes");
    if (v)
        rc = parse_code_group(c, v, join(sub, path, "sex_codes"), sex_names, 2, &l->sex_codes[0][0],
                              sizeof(l->sex_codes[0]));
    v = json_object_get(j, "status_codes");
    if (rc == RP_OK && v)
        rc = parse_code_group(c, v, join(sub, path, "status_codes"), status_names, 2,
                              &l->status_codes[0][0], sizeof(l->status_codes[0]));
    v = json_object_get(j, "exploitation_codes");
    if (rc == RP_OK && v) {
        n = field_codes(RP_FIELD_EXPLOITATION, &names);
        rc = parse_code_group(c, v, join(sub, path, "exploitation_codes"), names,
                              n < RP_SIM_EXPL_COUNT ? n : RP_SIM_EXPL_COUNT, &l->expl_codes[0][0],
                              sizeof(l->expl_codes[0]));
    }
    v = json_object_get(j, "sector_codes");
    if (rc == RP_OK && v) {
        n = field_codes(RP_FIELD_LABOUR_SECTORS, &names);
        rc = parse_code_group(c, v, join(sub, path, "sector_codes"), names,
                              n < RP_SIM_SECTOR_COUNT ? n : RP_SIM_SECTOR_COUNT,
                              &l->sector_codes[0][0], sizeof(l->sector_codes[0]));
    }
    return rc;
}

static int parse_delimiter(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    const char *s = json_is_string(j) ? json_string_value(j) : "";
    if (strlen(s) != 1 || !strchr(",;\t|", s[0]))
        return bad(c, path, "expected one of \",\", \";\", \"\\t\", \"|\"");
    l->delimiter = s[0];
    return RP_OK;
}

static int parse_country_codes(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    const char *s = json_is_string(j) ? json_string_value(j) : "";
    if (strcmp(s, "alpha2") == 0)
        l->country_alpha3 = false;
    else if (strcmp(s, "alpha3") == 0)
        l->country_alpha3 = true;
    else
        return bad(c, path, "expected \"alpha2\" or \"alpha3\"");
    return RP_OK;
}

static const char *const layout_keys[] = {
    "preset",       "columns",           "delimiter",     "missing",
    "date_format",  "birth_date_format", "family_upper",  "full_name_family_first",
    "sex_codes",    "status_codes",      "country_codes", "exploitation_codes",
    "sector_codes", "multi_sep",         "case_prefix"};

/* The plain string settings of a layout object. */
static int parse_layout_strings(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    static const struct {
        const char *key;
        size_t offset;
        size_t cap;
    } strings[] = {
        {"missing", offsetof(rp_sim_layout, missing), sizeof(((rp_sim_layout *)0)->missing)},
        {"date_format", offsetof(rp_sim_layout, date_format),
         sizeof(((rp_sim_layout *)0)->date_format)},
        {"birth_date_format", offsetof(rp_sim_layout, birth_date_format),
         sizeof(((rp_sim_layout *)0)->birth_date_format)},
        {"multi_sep", offsetof(rp_sim_layout, multi_sep), sizeof(((rp_sim_layout *)0)->multi_sep)},
        {"case_prefix", offsetof(rp_sim_layout, case_prefix),
         sizeof(((rp_sim_layout *)0)->case_prefix)},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(strings); i++) {
        json_t *v = json_object_get(j, strings[i].key);
        char sub[PATH_LEN];
        if (!v)
            continue;
        int rc = copy_string(c, v, (char *)l + strings[i].offset, strings[i].cap,
                             join(sub, path, strings[i].key));
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* "layout": a preset name, or an object {"preset": name, overrides...}. */
static int parse_layout(const ctx *c, json_t *j, const char *path, rp_sim_layout *l)
{
    char sub[PATH_LEN];
    json_t *preset = j;
    if (json_is_object(j)) {
        int rc = check_keys(c, j, path, layout_keys, RP_ARRAY_LEN(layout_keys));
        if (rc != RP_OK)
            return rc;
        preset = json_object_get(j, "preset");
        join(sub, path, "preset");
    } else {
        rp_x_strlcpy(sub, path, sizeof(sub));
    }
    const rp_sim_layout *base = &preset_police;
    if (preset) {
        base = json_is_string(preset) ? preset_find(json_string_value(preset)) : NULL;
        if (!base)
            return bad(c, sub, "expected a layout preset (%s)%s", PRESET_NAMES,
                       json_is_object(j) ? "" : " or a layout object");
    }
    *l = *base;
    if (!json_is_object(j))
        return RP_OK;

    json_t *v = json_object_get(j, "columns");
    int rc = v ? parse_columns(c, v, join(sub, path, "columns"), l) : RP_OK;
    v = json_object_get(j, "delimiter");
    if (rc == RP_OK && v)
        rc = parse_delimiter(c, v, join(sub, path, "delimiter"), l);
    if (rc == RP_OK)
        rc = parse_layout_strings(c, j, path, l);
    if (rc == RP_OK)
        rc = get_bool(c, j, "family_upper", path, &l->family_upper);
    if (rc == RP_OK)
        rc = get_bool(c, j, "full_name_family_first", path, &l->full_name_family_first);
    v = json_object_get(j, "country_codes");
    if (rc == RP_OK && v)
        rc = parse_country_codes(c, v, join(sub, path, "country_codes"), l);
    if (rc == RP_OK)
        rc = parse_layout_codes(c, j, path, l);
    return rc;
}

/*
 * A date format of a layout: %Y once, %m and %d at most once each, literal characters
 * that are printable, not digits and not '%'. @p full: %m and %d required (registration
 * dates); otherwise %d needs %m (birth dates may be "%Y" or "%m/%Y").
 */
static int check_date_format(const ctx *c, const char *f, bool full, const char *path)
{
    int n_y = 0, n_m = 0, n_d = 0;
    for (const char *p = f; *p; p++) {
        if (*p == '%') {
            p++;
            if (*p == 'Y')
                n_y++;
            else if (*p == 'm')
                n_m++;
            else if (*p == 'd')
                n_d++;
            else
                return bad(c, path, "only %%Y, %%m, %%d and literal characters are supported");
        } else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
                   (*p >= '0' && *p <= '9')) {
            return bad(c, path, "literal characters must be printable ASCII and not digits");
        }
    }
    if (n_y != 1 || n_m > 1 || n_d > 1)
        return bad(c, path, "expected %%Y once and %%m, %%d at most once");
    if (full && (n_m != 1 || n_d != 1))
        return bad(c, path, "expected %%Y, %%m and %%d");
    if (n_d == 1 && n_m == 0)
        return bad(c, path, "a day (%%d) needs a month (%%m)");
    return RP_OK;
}

/* Codes of one group: each a valid text, distinct, not the missing value, not the sep. */
static int check_code_group(const ctx *c,
                            const rp_sim_layout *l,
                            const char *group,
                            const char *const *names,
                            const char *codes,
                            size_t n,
                            size_t stride,
                            bool multi,
                            const char *path)
{
    char gpath[PATH_LEN], sub[PATH_LEN];
    join(gpath, path, group);
    for (size_t i = 0; i < n; i++) {
        const char *code = codes + i * stride;
        join(sub, gpath, names[i]);
        int rc = check_text(c, code, stride, l->delimiter, false, sub);
        if (rc != RP_OK)
            return rc;
        if (strcmp(code, l->missing) == 0)
            return bad(c, sub, "code '%s' is also the layout's missing value", code);
        if (multi && strstr(code, l->multi_sep))
            return bad(c, sub, "code '%s' contains the separator multi_sep", code);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(codes + k * stride, code) == 0)
                return bad(c, sub, "code '%s' is also the code of '%s'", code, names[k]);
        }
    }
    return RP_OK;
}

static int check_columns(const ctx *c, const rp_sim_layout *l, const char *path)
{
    char cpath[PATH_LEN], sub[PATH_LEN];
    join(cpath, path, "columns");
    for (size_t i = 0; i < RP_SIM_COL_COUNT; i++) {
        if (!l->columns[i][0])
            continue;
        join(sub, cpath, col_keys[i]);
        int rc = check_text(c, l->columns[i], RP_SIM_COL_MAX, l->delimiter, false, sub);
        if (rc != RP_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(l->columns[k], l->columns[i]) == 0)
                return bad(c, sub, "header '%s' is also the header of column %s", l->columns[i],
                           col_keys[k]);
        }
    }
    if (!l->columns[RP_SIM_COL_CASE_ID][0])
        return bad(c, join(sub, cpath, "case_id"), "a list file needs a case_id column");
    bool full = l->columns[RP_SIM_COL_FULL_NAME][0] != '\0';
    bool parts = l->columns[RP_SIM_COL_GIVEN][0] || l->columns[RP_SIM_COL_FAMILY][0] ||
                 l->columns[RP_SIM_COL_PATRONYMIC][0];
    if (!full && !l->columns[RP_SIM_COL_GIVEN][0] && !l->columns[RP_SIM_COL_FAMILY][0])
        return bad(c, cpath, "expected a given_name, family_name or full_name column");
    if (full && parts)
        return bad(c, join(sub, cpath, "full_name"),
                   "a full_name column excludes given_name, family_name and patronymic (set "
                   "them to null)");
    return RP_OK;
}

/* Every rule of a resolved layout (see docs/scenarios.md, "Layouts"). */
static int check_layout(const ctx *c, const rp_sim_layout *l, const char *path)
{
    char sub[PATH_LEN];
    char dummy[3];
    const char *const *names = NULL;
    int rc = check_columns(c, l, path);
    if (rc == RP_OK)
        rc = check_text(c, l->missing, sizeof(l->missing), l->delimiter, true,
                        join(sub, path, "missing"));
    if (rc == RP_OK && l->missing[0] && rp_country_normalise(dummy, l->missing) == RP_OK)
        rc = bad(c, sub, "a missing value must not be a country code (\"NA\" is Namibia)");
    if (rc == RP_OK && l->missing[0] && strspn(l->missing, "0123456789") == strlen(l->missing))
        rc = bad(c, sub,
                 "a missing value must not be a number: '%s' could be an age or a year (use "
                 "e.g. \"-99\" or \"n/a\")",
                 l->missing);
    if (rc == RP_OK)
        rc = check_date_format(c, l->date_format, true, join(sub, path, "date_format"));
    if (rc == RP_OK)
        rc = check_text(c, l->date_format, sizeof(l->date_format), l->delimiter, false, sub);
    if (rc == RP_OK)
        rc =
            check_date_format(c, l->birth_date_format, false, join(sub, path, "birth_date_format"));
    if (rc == RP_OK)
        rc = check_text(c, l->birth_date_format, sizeof(l->birth_date_format), l->delimiter, false,
                        sub);
    if (rc == RP_OK)
        rc = check_multi_sep(c, l, join(sub, path, "multi_sep"));
    if (rc == RP_OK)
        rc = check_text(c, l->case_prefix, sizeof(l->case_prefix), l->delimiter, true,
                        join(sub, path, "case_prefix"));
    if (rc == RP_OK)
        rc = check_code_group(c, l, "sex_codes", sex_names, &l->sex_codes[0][0], 2,
                              sizeof(l->sex_codes[0]), false, path);
    if (rc == RP_OK)
        rc = check_code_group(c, l, "status_codes", status_names, &l->status_codes[0][0], 2,
                              sizeof(l->status_codes[0]), false, path);
    if (rc == RP_OK) {
        size_t n = field_codes(RP_FIELD_EXPLOITATION, &names);
        rc = check_code_group(c, l, "exploitation_codes", names, &l->expl_codes[0][0],
                              n < RP_SIM_EXPL_COUNT ? n : RP_SIM_EXPL_COUNT,
                              sizeof(l->expl_codes[0]), true, path);
    }
    if (rc == RP_OK) {
        size_t n = field_codes(RP_FIELD_LABOUR_SECTORS, &names);
        rc = check_code_group(c, l, "sector_codes", names, &l->sector_codes[0][0],
                              n < RP_SIM_SECTOR_COUNT ? n : RP_SIM_SECTOR_COUNT,
                              sizeof(l->sector_codes[0]), true, path);
    }
    return rc;
}

/* ==== lists ==== */

/* The JSON key of effect @p e ("sex=male", "minor", ...) into @p buf. @return @p buf. */
static const char *effect_key(const rp_sim_effect *e, char *buf, size_t size)
{
    switch (e->attr) {
    case RP_SIM_ATTR_SEX:
        snprintf(buf, size, "sex=%s", e->value == RP_SEX_FEMALE ? "female" : "male");
        break;
    case RP_SIM_ATTR_MINOR:
        snprintf(buf, size, "minor");
        break;
    case RP_SIM_ATTR_EXPLOITATION:
        snprintf(buf, size, "exploitation=%s",
                 rp_code_name(RP_FIELD_EXPLOITATION, rp_sim__bit_index(e->value)));
        break;
    case RP_SIM_ATTR_SECTOR:
        snprintf(buf, size, "sector=%s",
                 rp_code_name(RP_FIELD_LABOUR_SECTORS, rp_sim__bit_index(e->value)));
        break;
    case RP_SIM_ATTR_CITIZENSHIP:
        snprintf(buf, size, "citizenship=%s", e->country);
        break;
    case RP_SIM_ATTR_COUNTRY:
        snprintf(buf, size, "country=%s", e->country);
        break;
    case RP_SIM_ATTR_YEAR:
        snprintf(buf, size, "year=%u", e->value);
        break;
    }
    return buf;
}

/* A country of an effect: normalised, and one the population has in @p v / nationalities. */
static int effect_country(
    const ctx *c, const rp_sim_scenario *sc, rp_sim_effect *e, const char *val, const char *path)
{
    int rc = canon_code(c, CODE_COUNTRY, val, path, e->country);
    if (rc != RP_OK)
        return rc;
    bool found = false;
    if (e->attr == RP_SIM_ATTR_CITIZENSHIP) {
        for (size_t i = 0; i < sc->pop.n_nationalities && !found; i++)
            found = strcmp(sc->pop.nationalities[i].country, e->country) == 0;
        if (!found)
            return bad(c, path, "'%s' is not a citizenship of population.citizenship", e->country);
    } else {
        for (size_t i = 0; i < sc->pop.countries.n && !found; i++)
            found = strcmp(sc->pop.countries.items[i].code, e->country) == 0;
        if (!found)
            return bad(c, path, "'%s' is not in population.country_of_exploitation", e->country);
    }
    return RP_OK;
}

#define EFFECT_KEYS                                                             \
    "expected \"sex=female\", \"sex=male\", \"minor\", \"exploitation=CODE\", " \
    "\"sector=CODE\", \"citizenship=CC\", \"country=CC\" or \"year=YYYY\""

/* Parse effect key @p key into @p e (attribute and value). */
static int parse_effect_key(
    const ctx *c, const rp_sim_scenario *sc, const char *key, const char *path, rp_sim_effect *e)
{
    char attr[32];
    const char *eq = strchr(key, '=');
    size_t alen = eq ? (size_t)(eq - key) : strlen(key);
    if (alen >= sizeof(attr))
        return bad(c, path, EFFECT_KEYS);
    memcpy(attr, key, alen);
    attr[alen] = '\0';
    const char *val = eq ? eq + 1 : NULL;
    char code[RP_SIM_CODE_MAX];
    unsigned v = 0;
    long year = 0;
    if (strcmp(attr, "minor") == 0 && !val) {
        e->attr = RP_SIM_ATTR_MINOR;
        return RP_OK;
    }
    if (!val)
        return bad(c, path, EFFECT_KEYS);
    if (strcmp(attr, "sex") == 0) {
        e->attr = RP_SIM_ATTR_SEX;
        if (strcmp(val, "female") != 0 && strcmp(val, "male") != 0)
            return bad(c, path, "expected \"sex=female\" or \"sex=male\"");
        e->value = strcmp(val, "female") == 0 ? RP_SEX_FEMALE : RP_SEX_MALE;
        return RP_OK;
    }
    if (strcmp(attr, "exploitation") == 0 || strcmp(attr, "sector") == 0) {
        bool expl = attr[0] == 'e';
        e->attr = expl ? RP_SIM_ATTR_EXPLOITATION : RP_SIM_ATTR_SECTOR;
        int rc = canon_code(c, expl ? CODE_EXPL : CODE_SECTOR, val, path, code);
        if (rc == RP_OK)
            rc = rp_code_parse(&v, expl ? RP_FIELD_EXPLOITATION : RP_FIELD_LABOUR_SECTORS, code);
        e->value = v;
        return rc;
    }
    if (strcmp(attr, "citizenship") == 0 || strcmp(attr, "country") == 0) {
        e->attr = attr[1] == 'i' ? RP_SIM_ATTR_CITIZENSHIP : RP_SIM_ATTR_COUNTRY;
        return effect_country(c, sc, e, val, path);
    }
    if (strcmp(attr, "year") == 0) {
        e->attr = RP_SIM_ATTR_YEAR;
        if (rp_x_parse_long(val, sc->pop.year_first, sc->pop.year_last, &year) != 0)
            return bad(c, path, "expected a year of population.years (%d..%d)", sc->pop.year_first,
                       sc->pop.year_last);
        e->value = (unsigned)year;
        return RP_OK;
    }
    return bad(c, path, EFFECT_KEYS);
}

static int
parse_effects(const ctx *c, const rp_sim_scenario *sc, json_t *j, const char *path, rp_sim_list *l)
{
    static const interval beta = {-BETA_MAX, BETA_MAX, false, false};
    if (!json_is_object(j))
        return bad(c, path, "expected an object of attribute: log-odds effect");
    if (json_object_size(j) == 0)
        return RP_OK;
    l->effects = rp_calloc(json_object_size(j), sizeof(*l->effects));
    if (!l->effects)
        return oom(c);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        char sub[PATH_LEN], k1[64], k2[64];
        join(sub, path, key);
        rp_sim_effect *e = &l->effects[l->n_effects];
        int rc = parse_effect_key(c, sc, key, sub, e);
        if (rc == RP_OK)
            rc = read_number(c, val, sub, beta, &e->beta);
        for (size_t i = 0; rc == RP_OK && i < l->n_effects; i++) {
            if (strcmp(effect_key(&l->effects[i], k1, sizeof(k1)), effect_key(e, k2, sizeof(k2))) ==
                0)
                rc = bad(c, sub, "the same effect as '%s'", k1);
        }
        if (rc != RP_OK)
            return rc;
        l->n_effects++;
    }
    return RP_OK;
}

/* "errors": "none", or an object of rates in [0, 1] (absent keys keep their defaults). */
static int parse_errors(const ctx *c, json_t *j, const char *path, rp_sim_errors *e)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(error_rates); i++)
        *error_field(e, i) = error_rates[i].dflt;
    if (!j)
        return RP_OK;
    if (json_is_string(j) && strcmp(json_string_value(j), "none") == 0) {
        memset(e, 0, sizeof(*e));
        return RP_OK;
    }
    if (!json_is_object(j))
        return bad(c, path, "expected \"none\" or an object of error: rate");
    const char *keys[RP_ARRAY_LEN(error_rates)];
    for (size_t i = 0; i < RP_ARRAY_LEN(error_rates); i++)
        keys[i] = error_rates[i].key;
    int rc = check_keys(c, j, path, keys, RP_ARRAY_LEN(keys));
    for (size_t i = 0; rc == RP_OK && i < RP_ARRAY_LEN(error_rates); i++)
        rc = get_number(c, j, error_rates[i].key, path, prob_closed, error_field(e, i));
    return rc;
}

/* Number of distinct locales of the population, an upper bound for romanisation entries. */
static size_t pop_locale_count(const rp_sim_population *pop)
{
    size_t n = 0;
    for (size_t i = 0; i < pop->n_nationalities; i++)
        n += pop->nationalities[i].n_locales;
    return n;
}

/* Index of @p locale among the first @p n entries of @p v, or SIZE_MAX. */
static size_t wvec_find(const rp_sim_wvec *v, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v->items[i].code, code) == 0)
            return i;
    }
    return SIZE_MAX;
}

/*
 * "romanisation": locale -> system, then the usual system of every other locale of the
 * population, so that the resolved scenario names each system used.
 */
static int parse_romanisation(
    const ctx *c, const rp_sim_population *pop, json_t *j, const char *path, rp_sim_list *l)
{
    if (j && !json_is_object(j))
        return bad(c, path, "expected an object of locale: system");
    size_t cap = (j ? json_object_size(j) : 0) + pop_locale_count(pop);
    if (cap == 0)
        return RP_OK;
    l->romanisation.items = rp_calloc(cap, sizeof(*l->romanisation.items));
    l->romanisation_sys = rp_calloc(cap, sizeof(*l->romanisation_sys));
    if (!l->romanisation.items || !l->romanisation_sys)
        return oom(c);
    const char *key;
    json_t *val;
    const char *const *ids = NULL;
    size_t n = 0;
    json_object_foreach(j, key, val)
    {
        char sub[PATH_LEN];
        join(sub, path, key);
        int rc = canon_code(c, CODE_LOCALE, key, sub, l->romanisation.items[n].code);
        if (rc != RP_OK)
            return rc;
        size_t n_ids = locale_systems(key, &ids);
        const char *sys = json_is_string(val) ? json_string_value(val) : "";
        bool found = false;
        for (size_t k = 0; k < n_ids && !found; k++)
            found = strcmp(ids[k], sys) == 0;
        if (!found) {
            char list[200];
            return bad(c, sub, "expected a romanisation system of '%s' (%s)", key,
                       join_list(ids, n_ids, list, sizeof(list)));
        }
        rp_x_strlcpy(l->romanisation_sys[n], sys, RP_SIM_CODE_MAX);
        l->romanisation.items[n].w = 1.0;
        n++;
    }
    for (size_t i = 0; i < pop->n_nationalities; i++) {
        const rp_sim_nationality *nat = &pop->nationalities[i];
        for (size_t k = 0; k < nat->n_locales; k++) {
            if (wvec_find(&l->romanisation, n, nat->locales[k]) != SIZE_MAX)
                continue;
            if (locale_systems(nat->locales[k], &ids) == 0)
                return bad(c, path, "locale '%s' has no romanisation system", nat->locales[k]);
            rp_x_strlcpy(l->romanisation.items[n].code, nat->locales[k], RP_SIM_CODE_MAX);
            rp_x_strlcpy(l->romanisation_sys[n], ids[0], RP_SIM_CODE_MAX);
            l->romanisation.items[n].w = 1.0;
            n++;
        }
    }
    l->romanisation.n = n;
    return RP_OK;
}

/* "code": [A-Za-z0-9_-]{1,32}, distinct (ignoring case: it names files) from earlier lists. */
static int
parse_list_code(const ctx *c, const rp_sim_scenario *sc, size_t idx, json_t *j, const char *path)
{
    const char *s = json_is_string(j) ? json_string_value(j) : NULL;
    size_t len = s ? strlen(s) : 0;
    bool ok = len >= 1 && len <= LIST_CODE_LEN_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = s[i];
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-';
    }
    if (!ok)
        return bad(c, path, "expected 1 to %d characters of A-Z a-z 0-9 _ -", LIST_CODE_LEN_MAX);
    for (size_t i = 0; i < idx; i++) {
        if (ascii_iequal(sc->lists[i].code, s))
            return bad(c, path,
                       "'%s' is already the code of lists[%zu] (codes are compared "
                       "ignoring case)",
                       s, i);
    }
    rp_x_strlcpy(sc->lists[idx].code, s, sizeof(sc->lists[idx].code));
    return RP_OK;
}

static const char *const list_keys[] = {"code",         "country",    "p",      "effects",
                                        "identified",   "duplicates", "errors", "script",
                                        "romanisation", "layout"};

/* "script": "latin" or "native". */
static int parse_script(const ctx *c, json_t *j, const char *path, rp_sim_list *l)
{
    const char *s = json_is_string(j) ? json_string_value(j) : "";
    if (strcmp(s, "latin") != 0 && strcmp(s, "native") != 0)
        return bad(c, path, "expected \"latin\" or \"native\"");
    l->native_script = strcmp(s, "native") == 0;
    return RP_OK;
}

/* The list's "country" (default: the population's first country of exploitation). */
static int parse_list_country(
    const ctx *c, const rp_sim_scenario *sc, json_t *j, const char *path, rp_sim_list *l)
{
    if (!j) {
        rp_x_strlcpy(l->country, sc->pop.countries.items[0].code, sizeof(l->country));
        return RP_OK;
    }
    if (!json_is_string(j))
        return bad(c, path, "expected a country code");
    return canon_code(c, CODE_COUNTRY, json_string_value(j), path, l->country);
}

static int parse_list(const ctx *c, rp_sim_scenario *sc, size_t idx, json_t *j, const char *path)
{
    char sub[PATH_LEN];
    rp_sim_list *l = &sc->lists[idx];
    if (!json_is_object(j))
        return bad(c, path, "expected an object with \"code\" and \"p\"");
    int rc = check_keys(c, j, path, list_keys, RP_ARRAY_LEN(list_keys));
    json_t *code = json_object_get(j, "code");
    if (rc == RP_OK && !code)
        rc = bad(c, join(sub, path, "code"), "required (e.g. \"POLICE\")");
    if (rc == RP_OK)
        rc = parse_list_code(c, sc, idx, code, join(sub, path, "code"));
    if (rc == RP_OK)
        rc =
            parse_list_country(c, sc, json_object_get(j, "country"), join(sub, path, "country"), l);
    json_t *p = json_object_get(j, "p");
    if (rc == RP_OK && !p)
        rc = bad(c, join(sub, path, "p"), "required (the capture probability, in (0, 1))");
    if (rc == RP_OK)
        rc = read_number(c, p, join(sub, path, "p"), prob_open, &l->p);
    json_t *effects = json_object_get(j, "effects");
    if (rc == RP_OK && effects)
        rc = parse_effects(c, sc, effects, join(sub, path, "effects"), l);
    l->identified = 0.5;
    if (rc == RP_OK)
        rc = get_number(c, j, "identified", path, prob_closed, &l->identified);
    if (rc == RP_OK)
        rc = get_number(c, j, "duplicates", path, prob_closed, &l->duplicates);
    if (rc == RP_OK)
        rc = parse_errors(c, json_object_get(j, "errors"), join(sub, path, "errors"), &l->errors);
    json_t *script = json_object_get(j, "script");
    if (rc == RP_OK && script)
        rc = parse_script(c, script, join(sub, path, "script"), l);
    if (rc == RP_OK)
        rc = parse_romanisation(c, &sc->pop, json_object_get(j, "romanisation"),
                                join(sub, path, "romanisation"), l);
    json_t *layout = json_object_get(j, "layout");
    l->layout = preset_police;
    if (rc == RP_OK && layout)
        rc = parse_layout(c, layout, join(sub, path, "layout"), &l->layout);
    if (rc == RP_OK)
        rc = check_layout(c, &l->layout, join(sub, path, "layout"));
    return rc;
}

static int parse_lists(const ctx *c, rp_sim_scenario *sc, json_t *lists)
{
    sc->lists = rp_calloc(json_array_size(lists), sizeof(*sc->lists));
    if (!sc->lists)
        return oom(c);
    for (size_t i = 0; i < json_array_size(lists); i++) {
        char path[PATH_LEN];
        /* counted first, so that what the list owns is freed on failure */
        sc->n_lists++;
        int rc = parse_list(c, sc, i, json_array_get(lists, i), join_idx(path, "lists", i));
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* ==== dependence ==== */

static const char *const term_keys[] = {"lists", "log_odds_ratio"};

static int parse_term(const ctx *c, rp_sim_scenario *sc, json_t *j, const char *path)
{
    static const interval lor = {-LOR_MAX, LOR_MAX, false, false};
    char sub[PATH_LEN], item[PATH_LEN];
    if (!json_is_object(j))
        return bad(c, path, "expected {\"lists\": [codes], \"log_odds_ratio\": number}");
    int rc = check_keys(c, j, path, term_keys, RP_ARRAY_LEN(term_keys));
    if (rc != RP_OK)
        return rc;
    json_t *lists = json_object_get(j, "lists");
    join(sub, path, "lists");
    if (!json_is_array(lists) || json_array_size(lists) < 2)
        return bad(c, sub, "expected an array of two or more list codes");
    uint32_t mask = 0;
    for (size_t i = 0; i < json_array_size(lists); i++) {
        json_t *v = json_array_get(lists, i);
        join_idx(item, sub, i);
        size_t k = 0;
        while (json_is_string(v) && k < sc->n_lists &&
               strcmp(sc->lists[k].code, json_string_value(v)) != 0)
            k++;
        if (!json_is_string(v) || k == sc->n_lists)
            return bad(c, item, "expected the code of a list of \"lists\"");
        if (mask & (1u << k))
            return bad(c, item, "list '%s' is named twice", sc->lists[k].code);
        mask |= 1u << k;
    }
    for (size_t t = 0; t < sc->n_terms; t++) {
        if (sc->terms[t].lists == mask)
            return bad(c, sub, "the same lists as dependence[%zu]", t);
    }
    json_t *v = json_object_get(j, "log_odds_ratio");
    join(sub, path, "log_odds_ratio");
    if (!v)
        return bad(c, sub, "required");
    rc = read_number(c, v, sub, lor, &sc->terms[sc->n_terms].lambda);
    if (rc != RP_OK)
        return rc;
    sc->terms[sc->n_terms].lists = mask;
    sc->n_terms++;
    return RP_OK;
}

static int parse_dependence(const ctx *c, rp_sim_scenario *sc, json_t *j)
{
    if (!j)
        return RP_OK;
    if (!json_is_array(j) || json_array_size(j) > RP_SIM_MAX_TERMS)
        return bad(c, "dependence", "expected an array of at most %d terms", RP_SIM_MAX_TERMS);
    for (size_t i = 0; i < json_array_size(j); i++) {
        char path[PATH_LEN];
        int rc = parse_term(c, sc, json_array_get(j, i), join_idx(path, "dependence", i));
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* ==== the scenario ==== */

static const char *const top_keys[] = {"name",       "description", "seed",
                                       "population", "lists",       "dependence"};

static int parse_name(const ctx *c, rp_sim_scenario *sc, json_t *j)
{
    const char *s = json_is_string(j) ? json_string_value(j) : NULL;
    size_t len = s ? strlen(s) : 0;
    bool ok = len >= 1 && len <= NAME_LEN_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = s[i];
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-' || ch == '.';
    }
    if (!ok)
        return bad(c, "name", "%s1 to %d characters of A-Z a-z 0-9 . _ -",
                   j ? "expected " : "required: ", NAME_LEN_MAX);
    rp_x_strlcpy(sc->name, s, sizeof(sc->name));
    return RP_OK;
}

static int parse_header(const ctx *c, rp_sim_scenario *sc, json_t *root)
{
    int rc = parse_name(c, sc, json_object_get(root, "name"));
    json_t *v = json_object_get(root, "description");
    if (rc == RP_OK && v) {
        if (!json_is_string(v))
            return bad(c, "description", "expected a string");
        sc->description = rp_strdup(json_string_value(v));
        if (!sc->description)
            return oom(c);
    }
    sc->seed = DEFAULT_SEED;
    v = json_object_get(root, "seed");
    long long seed = 0;
    if (rc == RP_OK && v) {
        rc = read_int(c, v, "seed", 0, SEED_MAX, &seed);
        sc->seed = (uint64_t)seed;
    }
    return rc;
}

static int parse_root(const ctx *c, rp_sim_scenario *sc, json_t *root)
{
    if (!json_is_object(root))
        return bad(c, "(top)", "expected a JSON object");
    int rc = check_keys(c, root, "", top_keys, RP_ARRAY_LEN(top_keys));
    if (rc == RP_OK)
        rc = parse_header(c, sc, root);
    json_t *lists = json_object_get(root, "lists");
    if (rc == RP_OK && (!json_is_array(lists) || json_array_size(lists) < 2 ||
                        json_array_size(lists) > RP_SIM_LISTS_MAX))
        rc = bad(c, "lists", "%s an array of 2 to %d lists",
                 lists ? "expected" : "required:", RP_SIM_LISTS_MAX);
    if (rc == RP_OK)
        rc = parse_population(c, &sc->pop, json_object_get(root, "population"), lists);
    if (rc == RP_OK)
        rc = parse_lists(c, sc, lists);
    if (rc == RP_OK)
        rc = parse_dependence(c, sc, json_object_get(root, "dependence"));
    return rc;
}

int rp_sim__scenario_parse(
    rp_sim_scenario **out, const char *text, size_t len, const char *path, rp_error *err)
{
    int rc = RP_OK;
    json_t *root = NULL;
    rp_sim_scenario *sc = NULL;
    if (out)
        *out = NULL;
    if (!out || (!text && len > 0))
        return rp_error_set(err, RP_EINVAL, "rp_sim__scenario_parse: NULL argument");
    ctx c = {path && *path ? path : "scenario", err};

    json_error_t jerr;
    root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = oom(&c);
        else
            rc = rp_error_set_at(err, RP_EPARSE, c.file, jerr.line, jerr.column, "invalid JSON%s%s",
                                 jerr.text[0] ? ": " : "", jerr.text);
        goto out;
    }
    sc = rp_calloc(1, sizeof(*sc));
    if (!sc) {
        rc = oom(&c);
        goto out;
    }
    rc = parse_root(&c, sc, root);
out:
    json_decref(root);
    if (rc != RP_OK)
        rp_sim_scenario_free(sc);
    else
        *out = sc;
    return rc;
}

int rp_sim_scenario_load(rp_sim_scenario **out, const char *path, rp_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (out)
        *out = NULL;
    if (!out || !path)
        return rp_error_set(err, RP_EINVAL, "rp_sim_scenario_load: NULL argument");
    int rc = rp_x_read_file(&text, &len, path, SCENARIO_MAX_BYTES, err);
    if (rc == RP_OK)
        rc = rp_sim__scenario_parse(out, text, len, path, err);
    rp_free(text);
    return rc;
}

void rp_sim_scenario_free(rp_sim_scenario *sc)
{
    if (!sc)
        return;
    rp_free(sc->description);
    for (size_t i = 0; i < sc->pop.n_nationalities; i++)
        wvec_release(&sc->pop.nationalities[i].exploitation);
    rp_free(sc->pop.nationalities);
    wvec_release(&sc->pop.countries);
    wvec_release(&sc->pop.exploitation);
    wvec_release(&sc->pop.sectors);
    for (size_t i = 0; i < sc->n_lists; i++) {
        rp_free(sc->lists[i].effects);
        wvec_release(&sc->lists[i].romanisation);
        rp_free(sc->lists[i].romanisation_sys);
    }
    rp_free(sc->lists);
    rp_free(sc);
}

/* ==== writing JSON ==== */

/*
 * The writers build a Jansson tree and dump it. Every set goes through put()/push(),
 * which record a failure (out of memory) in *ok instead of returning; the caller checks
 * once at the end.
 */
static void put(json_t *obj, const char *key, json_t *val, bool *ok)
{
    if (!obj || json_object_set_new(obj, key, val) != 0)
        *ok = false;
}

static void push(json_t *arr, json_t *val, bool *ok)
{
    if (!arr || json_array_append_new(arr, val) != 0)
        *ok = false;
}

static json_t *wvec_json(const rp_sim_wvec *v, bool *ok)
{
    json_t *o = json_object();
    for (size_t i = 0; i < v->n; i++)
        put(o, v->items[i].code, json_real(v->items[i].w), ok);
    return o;
}

/* Text of a tree (as JSON_INDENT(2), 15 digits, trailing newline) in rp_malloc memory. */
static char *dump(json_t *root, bool ok)
{
    char *text = NULL;
    if (ok && root) {
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(REAL_DIGITS));
        if (s) {
            size_t len = strlen(s);
            text = rp_malloc(len + 2);
            if (text) {
                memcpy(text, s, len);
                text[len] = '\n';
                text[len + 1] = '\0';
            }
            free(s);
        }
    }
    json_decref(root);
    return text;
}

static json_t *nationality_json(const rp_sim_nationality *nat, bool *ok)
{
    json_t *o = json_object();
    put(o, "share", json_real(nat->share), ok);
    json_t *loc = json_object();
    for (size_t k = 0; k < nat->n_locales; k++)
        put(loc, nat->locales[k], json_real(nat->locale_w[k]), ok);
    put(o, "locales", loc, ok);
    if (nat->female_share >= 0)
        put(o, "female_share", json_real(nat->female_share), ok);
    if (nat->minor_share >= 0)
        put(o, "minor_share", json_real(nat->minor_share), ok);
    if (nat->exploitation.n > 0)
        put(o, "exploitation", wvec_json(&nat->exploitation, ok), ok);
    return o;
}

static json_t *population_json(const rp_sim_population *pop, bool *ok)
{
    json_t *o = json_object();
    put(o, "size", json_integer((json_int_t)pop->size), ok);
    put(o, "years", json_pack("[ii]", pop->year_first, pop->year_last), ok);
    json_t *cit = json_object();
    for (size_t i = 0; i < pop->n_nationalities; i++)
        put(cit, pop->nationalities[i].country, nationality_json(&pop->nationalities[i], ok), ok);
    put(o, "citizenship", cit, ok);
    put(o, "country_of_exploitation", wvec_json(&pop->countries, ok), ok);
    /* in the documented order: shares, age, forms, sectors, documents, names */
    for (size_t i = 0; i < 3; i++)
        put(o, pop_numbers[i].key, json_real(pop_value(pop, i)), ok);
    put(o, "exploitation", wvec_json(&pop->exploitation, ok), ok);
    put(o, "second_form", json_real(pop->second_form), ok);
    put(o, "labour_sectors", wvec_json(&pop->sectors, ok), ok);
    put(o, "document_share", json_real(pop->document_share), ok);
    put(o, "middle_name", json_real(pop->middle_name), ok);
    return o;
}

/* An object of name -> code for a group of @p n codes. */
static json_t *
codes_json(const char *const *names, const char *codes, size_t n, size_t stride, bool *ok)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        put(o, names[i], json_string(codes + i * stride), ok);
    return o;
}

static json_t *layout_json(const rp_sim_layout *l, bool *ok)
{
    const char *const *names = NULL;
    json_t *o = json_object();
    put(o, "preset", json_string(l->preset), ok);
    json_t *cols = json_object();
    for (size_t i = 0; i < RP_SIM_COL_COUNT; i++)
        put(cols, col_keys[i], l->columns[i][0] ? json_string(l->columns[i]) : json_null(), ok);
    put(o, "columns", cols, ok);
    char delim[2] = {l->delimiter, '\0'};
    put(o, "delimiter", json_string(delim), ok);
    put(o, "missing", json_string(l->missing), ok);
    put(o, "date_format", json_string(l->date_format), ok);
    put(o, "birth_date_format", json_string(l->birth_date_format), ok);
    put(o, "family_upper", json_boolean(l->family_upper), ok);
    put(o, "full_name_family_first", json_boolean(l->full_name_family_first), ok);
    put(o, "sex_codes", codes_json(sex_names, &l->sex_codes[0][0], 2, sizeof(l->sex_codes[0]), ok),
        ok);
    put(o, "status_codes",
        codes_json(status_names, &l->status_codes[0][0], 2, sizeof(l->status_codes[0]), ok), ok);
    put(o, "country_codes", json_string(l->country_alpha3 ? "alpha3" : "alpha2"), ok);
    size_t n = field_codes(RP_FIELD_EXPLOITATION, &names);
    put(o, "exploitation_codes",
        codes_json(names, &l->expl_codes[0][0], n < RP_SIM_EXPL_COUNT ? n : RP_SIM_EXPL_COUNT,
                   sizeof(l->expl_codes[0]), ok),
        ok);
    n = field_codes(RP_FIELD_LABOUR_SECTORS, &names);
    put(o, "sector_codes",
        codes_json(names, &l->sector_codes[0][0], n < RP_SIM_SECTOR_COUNT ? n : RP_SIM_SECTOR_COUNT,
                   sizeof(l->sector_codes[0]), ok),
        ok);
    put(o, "multi_sep", json_string(l->multi_sep), ok);
    put(o, "case_prefix", json_string(l->case_prefix), ok);
    return o;
}

static json_t *list_json(const rp_sim_list *l, bool *ok)
{
    json_t *o = json_object();
    put(o, "code", json_string(l->code), ok);
    put(o, "country", json_string(l->country), ok);
    put(o, "p", json_real(l->p), ok);
    json_t *eff = json_object();
    for (size_t i = 0; i < l->n_effects; i++) {
        char key[64];
        put(eff, effect_key(&l->effects[i], key, sizeof(key)), json_real(l->effects[i].beta), ok);
    }
    put(o, "effects", eff, ok);
    put(o, "identified", json_real(l->identified), ok);
    put(o, "duplicates", json_real(l->duplicates), ok);
    json_t *errs = json_object();
    for (size_t i = 0; i < RP_ARRAY_LEN(error_rates); i++)
        put(errs, error_rates[i].key, json_real(error_value(&l->errors, i)), ok);
    put(o, "errors", errs, ok);
    put(o, "script", json_string(l->native_script ? "native" : "latin"), ok);
    json_t *rom = json_object();
    for (size_t i = 0; i < l->romanisation.n; i++)
        put(rom, l->romanisation.items[i].code, json_string(l->romanisation_sys[i]), ok);
    put(o, "romanisation", rom, ok);
    put(o, "layout", layout_json(&l->layout, ok), ok);
    return o;
}

char *rp_sim__scenario_to_json(const rp_sim_scenario *sc)
{
    if (!sc)
        return NULL;
    bool ok = true;
    json_t *root = json_object();
    put(root, "name", json_string(sc->name), &ok);
    if (sc->description)
        put(root, "description", json_string(sc->description), &ok);
    put(root, "seed", json_integer((json_int_t)sc->seed), &ok);
    put(root, "population", population_json(&sc->pop, &ok), &ok);
    json_t *lists = json_array();
    for (size_t i = 0; i < sc->n_lists; i++)
        push(lists, list_json(&sc->lists[i], &ok), &ok);
    put(root, "lists", lists, &ok);
    json_t *dep = json_array();
    for (size_t t = 0; t < sc->n_terms; t++) {
        json_t *term = json_object();
        json_t *codes = json_array();
        for (size_t i = 0; i < sc->n_lists; i++) {
            if (sc->terms[t].lists & (1u << i))
                push(codes, json_string(sc->lists[i].code), &ok);
        }
        put(term, "lists", codes, &ok);
        put(term, "log_odds_ratio", json_real(sc->terms[t].lambda), &ok);
        push(dep, term, &ok);
    }
    put(root, "dependence", dep, &ok);
    return dump(root, ok);
}

/* ==== the mapping file of a list ==== */

/* {"column": header} plus more keys by the caller. */
static json_t *column_json(const rp_sim_layout *l, rp_sim_col col, bool *ok)
{
    json_t *o = json_object();
    put(o, "column", json_string(l->columns[col]), ok);
    return o;
}

/* recode object agency code -> standard code for a group of codes. */
static json_t *
recode_json(const char *const *std, const char *codes, size_t n, size_t stride, bool *ok)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        put(o, codes + i * stride, json_string(std[i]), ok);
    return o;
}

static void mapping_codes(json_t *fields, const rp_sim_layout *l, bool *ok)
{
    const char *const *names = NULL;
    if (l->columns[RP_SIM_COL_STATUS][0]) {
        json_t *f = column_json(l, RP_SIM_COL_STATUS, ok);
        put(f, "recode",
            recode_json(status_names, &l->status_codes[0][0], 2, sizeof(l->status_codes[0]), ok),
            ok);
        put(fields, "id_status", f, ok);
    }
    if (l->columns[RP_SIM_COL_SEX][0]) {
        json_t *f = column_json(l, RP_SIM_COL_SEX, ok);
        put(f, "recode",
            recode_json(sex_names, &l->sex_codes[0][0], 2, sizeof(l->sex_codes[0]), ok), ok);
        put(fields, "sex", f, ok);
    }
    if (l->columns[RP_SIM_COL_AGE][0])
        put(fields, "age", column_json(l, RP_SIM_COL_AGE, ok), ok);
    if (l->columns[RP_SIM_COL_CITIZENSHIP][0])
        put(fields, "citizenship", column_json(l, RP_SIM_COL_CITIZENSHIP, ok), ok);
    if (l->columns[RP_SIM_COL_COUNTRY][0])
        put(fields, "country_of_exploitation", column_json(l, RP_SIM_COL_COUNTRY, ok), ok);
    if (l->columns[RP_SIM_COL_EXPLOITATION][0]) {
        size_t n = field_codes(RP_FIELD_EXPLOITATION, &names);
        json_t *f = column_json(l, RP_SIM_COL_EXPLOITATION, ok);
        put(f, "split", json_string(l->multi_sep), ok);
        put(f, "recode",
            recode_json(names, &l->expl_codes[0][0], n < RP_SIM_EXPL_COUNT ? n : RP_SIM_EXPL_COUNT,
                        sizeof(l->expl_codes[0]), ok),
            ok);
        put(fields, "exploitation", f, ok);
    }
    if (l->columns[RP_SIM_COL_SECTOR][0]) {
        size_t n = field_codes(RP_FIELD_LABOUR_SECTORS, &names);
        json_t *f = column_json(l, RP_SIM_COL_SECTOR, ok);
        put(f, "split", json_string(l->multi_sep), ok);
        put(f, "recode",
            recode_json(names, &l->sector_codes[0][0],
                        n < RP_SIM_SECTOR_COUNT ? n : RP_SIM_SECTOR_COUNT,
                        sizeof(l->sector_codes[0]), ok),
            ok);
        put(fields, "labour_sectors", f, ok);
    }
}

static json_t *mapping_identifiers(const rp_sim_layout *l, bool *ok)
{
    static const struct {
        rp_sim_col col;
        const char *key;
    } idents[] = {{RP_SIM_COL_GIVEN, "given_name"},      {RP_SIM_COL_FAMILY, "family_name"},
                  {RP_SIM_COL_PATRONYMIC, "patronymic"}, {RP_SIM_COL_FULL_NAME, "full_name"},
                  {RP_SIM_COL_BIRTH_DATE, "birth_date"}, {RP_SIM_COL_DOCUMENT, "document_number"}};

    json_t *o = json_object();
    for (size_t i = 0; i < RP_ARRAY_LEN(idents); i++) {
        if (!l->columns[idents[i].col][0])
            continue;
        json_t *f = column_json(l, idents[i].col, ok);
        if (idents[i].col == RP_SIM_COL_FULL_NAME)
            put(f, "order", json_string(l->full_name_family_first ? "family_first" : "given_first"),
                ok);
        if (idents[i].col == RP_SIM_COL_BIRTH_DATE)
            put(f, "format", json_pack("[s]", l->birth_date_format), ok);
        put(o, idents[i].key, f, ok);
    }
    return o;
}

char *rp_sim__mapping_json(const rp_sim_list *l)
{
    if (!l)
        return NULL;
    const rp_sim_layout *lay = &l->layout;
    bool ok = true;
    char desc[200];
    snprintf(desc, sizeof(desc),
             "Simulated file of list %s (layout '%s'), written by rapporteur simulate", l->code,
             lay->preset);
    json_t *root = json_object();
    put(root, "name", json_string(l->code), &ok);
    put(root, "description", json_string(desc), &ok);
    put(root, "version", json_integer(1), &ok);
    if (lay->missing[0])
        put(root, "missing", json_pack("[s]", lay->missing), &ok);
    put(root, "list", json_pack("{s:s}", "value", l->code), &ok);
    json_t *fields = json_object();
    put(fields, "case_id", column_json(lay, RP_SIM_COL_CASE_ID, &ok), &ok);
    if (lay->columns[RP_SIM_COL_REG_DATE][0]) {
        json_t *f = column_json(lay, RP_SIM_COL_REG_DATE, &ok);
        put(f, "format", json_string(lay->date_format), &ok);
        put(fields, "registration_date", f, &ok);
    }
    if (lay->columns[RP_SIM_COL_REG_YEAR][0])
        put(fields, "registration_year", column_json(lay, RP_SIM_COL_REG_YEAR, &ok), &ok);
    mapping_codes(fields, lay, &ok);
    put(root, "fields", fields, &ok);
    json_t *ids = mapping_identifiers(lay, &ok);
    if (json_object_size(ids) > 0)
        put(root, "identifiers", ids, &ok);
    else
        json_decref(ids);
    return dump(root, ok);
}
