/*
 * rapporteur: internals of the scenario simulator (`rapporteur simulate`).
 *
 * Three parts share these types:
 *   scenario.c   the scenario file (JSON) -> rp_sim_scenario, with defaults and checks;
 *                rp_sim__scenario_to_json() writes the resolved scenario back.
 *   names.c      name lists by locale (data/names/<locale>.csv) and drawing a person's
 *                name in native script with the locale's customs.
 *   translit.c   romanisation systems per locale (ICU transforms and our own ICU rules),
 *                memoised.
 *   scenario_sim.c  the population, the lists, the records and their errors, the files.
 * The schema is documented in docs/scenarios.md.
 */
#ifndef RP_SIM_INT_H
#define RP_SIM_INT_H

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/sim.h>

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== limits ==== */

#define RP_SIM_LISTS_MAX    12 /* lists (agencies) in one scenario */
#define RP_SIM_CODE_MAX     24 /* a code, locale or system id, NUL included */
#define RP_SIM_COL_MAX      40 /* a column header, NUL included */
#define RP_SIM_LOCALES_MAX  4  /* name locales of one citizenship */
#define RP_SIM_EXPL_COUNT   9  /* RP_EXPL_* bits */
#define RP_SIM_SECTOR_COUNT 13 /* RP_SECTOR_* bits */

/* ==== weighted choices ==== */

/** One weighted choice: a code (country, locale, exploitation form, sector) and weight. */
typedef struct rp_sim_weighted {
    char code[RP_SIM_CODE_MAX];
    double w; /* > 0; weights of a vector need not sum to 1 (they are normalised) */
} rp_sim_weighted;

/** A vector of weighted choices (owned items). */
typedef struct rp_sim_wvec {
    rp_sim_weighted *items;
    size_t n;
} rp_sim_wvec;

/* ==== the population ==== */

/** One citizenship of the population and the name locales its people draw from. */
typedef struct rp_sim_nationality {
    char country[3];                                   /* ISO 3166-1 alpha-2 */
    double share;                                      /* weight in the population mix */
    char locales[RP_SIM_LOCALES_MAX][RP_SIM_CODE_MAX]; /* data/names/<locale>.csv */
    double locale_w[RP_SIM_LOCALES_MAX];
    size_t n_locales;
    double female_share;      /* < 0: the population's */
    double minor_share;       /* < 0: the population's */
    rp_sim_wvec exploitation; /* n == 0: the population's */
} rp_sim_nationality;

/** The hidden population. */
typedef struct rp_sim_population {
    uint64_t size;                     /* N, true number of victims, 1..50,000,000 */
    int year_first, year_last;         /* years of identification, uniform, 1990..2100 */
    rp_sim_nationality *nationalities; /* owned, n >= 1 */
    size_t n_nationalities;
    rp_sim_wvec countries;    /* country of exploitation (alpha-2) shares, n >= 1 */
    double female_share;      /* share female (the rest male), default 0.5 */
    double minor_share;       /* share under 18 at identification, default 0.2 */
    double adult_age_mean;    /* mean age of adults in years (>= 19), default 31 */
    rp_sim_wvec exploitation; /* forms (rp_code names of RP_FIELD_EXPLOITATION) */
    double second_form;       /* probability of a second, different form, default 0.1 */
    rp_sim_wvec sectors;      /* labour sectors (RP_FIELD_LABOUR_SECTORS codes) of
                                 people in forced labour */
    double document_share;    /* share with an identity document number, default 0.6 */
    double middle_name;       /* probability of a second given name where the locale
                                 has the custom (en_GB middle, yo_NG/en_NG), default 0.3 */
} rp_sim_population;

/* ==== the lists ==== */

/** Attribute of a person that a capture effect keys on. */
typedef enum rp_sim_attr {
    RP_SIM_ATTR_SEX = 0,      /* value: rp_sex (female, male) */
    RP_SIM_ATTR_MINOR,        /* under 18 at identification; value unused */
    RP_SIM_ATTR_EXPLOITATION, /* value: one RP_EXPL_* bit */
    RP_SIM_ATTR_SECTOR,       /* value: one RP_SECTOR_* bit */
    RP_SIM_ATTR_CITIZENSHIP,  /* country: alpha-2 */
    RP_SIM_ATTR_COUNTRY,      /* country of exploitation: alpha-2 */
    RP_SIM_ATTR_YEAR          /* value: year of identification */
} rp_sim_attr;

/**
 * A capture effect: @c beta is added to the list's capture log-odds for every person who
 * has the attribute. JSON: "sex=male", "minor", "exploitation=forced_labour",
 * "sector=agriculture", "citizenship=VN", "country=DE", "year=2022".
 */
typedef struct rp_sim_effect {
    rp_sim_attr attr;
    unsigned value;
    char country[3];
    double beta;
} rp_sim_effect;

/** Recording errors of one list: probabilities per record (typo: per name part). */
typedef struct rp_sim_errors {
    double typo;               /* one edit (insert, delete, substitute, transpose) */
    double translit;           /* the name romanised by another system of its locale */
    double order_swap;         /* given and family name swapped */
    double day_month_swap;     /* birth day and month exchanged (when the day is <= 12) */
    double wrong_birth_year;   /* birth year one off */
    double missing_birth_date; /* birth date not recorded */
    double missing_given;      /* given name not recorded */
    double missing_sex;
    double missing_citizenship;
    double patronymic_dropped; /* patronymic not recorded (locales that have one) */
    double masculine_surname;  /* a woman's family name in its masculine form where the
                                  locale inflects it (Nováková -> Novák) */
} rp_sim_errors;

/** Columns an agency file can have, in the order they are written. */
typedef enum rp_sim_col {
    RP_SIM_COL_CASE_ID = 0,
    RP_SIM_COL_REG_DATE,
    RP_SIM_COL_REG_YEAR,
    RP_SIM_COL_STATUS,
    RP_SIM_COL_FAMILY,
    RP_SIM_COL_GIVEN,
    RP_SIM_COL_PATRONYMIC,
    RP_SIM_COL_FULL_NAME,
    RP_SIM_COL_BIRTH_DATE,
    RP_SIM_COL_SEX,
    RP_SIM_COL_AGE,
    RP_SIM_COL_CITIZENSHIP,
    RP_SIM_COL_COUNTRY,
    RP_SIM_COL_EXPLOITATION,
    RP_SIM_COL_SECTOR,
    RP_SIM_COL_DOCUMENT,
    RP_SIM_COL_COUNT
} rp_sim_col;

/**
 * An agency's file layout and code conventions. JSON: "layout": {"preset": "police",
 * ...overrides}. Presets: "police", "ngo", "inspectorate", "border_guard", "hotline".
 */
typedef struct rp_sim_layout {
    char preset[RP_SIM_CODE_MAX];
    char columns[RP_SIM_COL_COUNT][RP_SIM_COL_MAX]; /* header; "" = column not written */
    char delimiter;                                 /* ',' ';' '\t' '|' */
    char missing[12];            /* text written for a missing value ("" allowed) */
    char date_format[16];        /* registration date: %Y %m %d and literals */
    char birth_date_format[16];  /* birth date: %Y %m %d and literals */
    bool family_upper;           /* family name in capitals */
    bool full_name_family_first; /* full-name column: family name first */
    char sex_codes[2][12];       /* [0] female, [1] male */
    char status_codes[2][16];    /* [0] presumed, [1] identified */
    bool country_alpha3;         /* citizenship/country as alpha-3 (else alpha-2) */
    char expl_codes[RP_SIM_EXPL_COUNT][RP_SIM_CODE_MAX];     /* by RP_EXPL_* bit */
    char sector_codes[RP_SIM_SECTOR_COUNT][RP_SIM_CODE_MAX]; /* by RP_SECTOR_* bit */
    char multi_sep[4];    /* separator of several values in one column */
    char case_prefix[12]; /* case reference prefix, e.g. "POL-" */
} rp_sim_layout;

/** One list (agency). */
typedef struct rp_sim_list {
    char code[RP_DATA_ID_MAX]; /* list code: [A-Za-z0-9_-], 1..32 characters */
    char country[3];           /* the agency's state (alpha-2) */
    double p;                  /* base capture probability, in (0, 1) */
    rp_sim_effect *effects;    /* owned */
    size_t n_effects;
    double identified; /* share of its records "identified" (rest presumed) */
    double duplicates; /* probability a recorded person has a second record */
    rp_sim_errors errors;
    bool native_script;       /* names as written in their native script */
    rp_sim_wvec romanisation; /* code = locale, items[i] system in romanisation_sys[i] */
    char (*romanisation_sys)[RP_SIM_CODE_MAX]; /* owned, parallel to romanisation */
    rp_sim_layout layout;
} rp_sim_list;

/* ==== the scenario ==== */

/** A scenario (the opaque rp_sim_scenario of rapporteur/sim.h). */
struct rp_sim_scenario {
    char name[64];
    char *description; /* owned, may be NULL */
    uint64_t seed;     /* default seed (--seed overrides) */
    rp_sim_population pop;
    rp_sim_list *lists;                  /* owned */
    size_t n_lists;                      /* 2..RP_SIM_LISTS_MAX */
    rp_sim_term terms[RP_SIM_MAX_TERMS]; /* list dependence: bit i = lists[i] */
    size_t n_terms;
};

/**
 * Parse a scenario from JSON text. Errors name the JSON path ("lists[1].errors.typo")
 * and what was expected; unknown keys are errors.
 * @return RP_OK; RP_EPARSE (not JSON, with line and column); RP_EINVAL (schema);
 *         RP_ENOMEM.
 */
int rp_sim__scenario_parse(
    rp_sim_scenario **out, const char *text, size_t len, const char *path, rp_error *err);

/** The resolved scenario (every default filled in) as JSON text; free with rp_free. */
char *rp_sim__scenario_to_json(const rp_sim_scenario *sc);

/**
 * The mapping file (docs/data-standard.md) that imports list @p l's CSV as the simulator
 * writes it with its layout, identifiers section included. JSON text; rp_free it; NULL
 * on allocation failure.
 */
char *rp_sim__mapping_json(const rp_sim_list *l);

/** Index in the list table of an RP_EXPL_* / RP_SECTOR_* bit: its bit number. */
unsigned rp_sim__bit_index(uint32_t bit);

/* ==== names ==== */

/** Name lists of the locales a scenario uses (opaque). */
typedef struct rp_sim_names rp_sim_names;

/**
 * A person's name as drawn, in native script and native spelling. Strings are borrowed
 * from the rp_sim_names object.
 */
typedef struct rp_sim_name {
    const char *given[2]; /* given names; n_given 1 or 2 (vi: one value "Anh Thư") */
    size_t n_given;
    const char *family[2]; /* family names; 2 for es (paternal, maternal) */
    size_t n_family;
    const char *family_masc[2]; /* masculine form of family[i] when the person is a woman
                                   and the locale inflects it; else == family[i] */
    const char *patronymic;     /* uk, ru; NULL otherwise */
    bool family_first;          /* the locale writes the family name first (hu, vi, zh_CN) */
    bool no_space;              /* native full name has no space (zh_CN) */
} rp_sim_name;

/**
 * Load @p dir/<locale>.csv for each of @p n locales (format of data/names/README.md).
 * @return RP_OK; RP_EIO (file missing, with path); RP_EPARSE (bad row, path and line);
 *         RP_EINVAL (a locale has no given or no family names); RP_ENOMEM.
 */
int rp_sim__names_load(
    rp_sim_names **out, const char *dir, const char *const *locales, size_t n, rp_error *err);

/** Free (NULL is fine). */
void rp_sim__names_free(rp_sim_names *nm);

/** Index of @p locale among those loaded, or SIZE_MAX. */
size_t rp_sim__names_index(const rp_sim_names *nm, const char *locale);

/**
 * Draw a name for a person of sex @p sex (RP_SEX_FEMALE or RP_SEX_MALE) from locale
 * @p loc: sex-specific lists with the "any" list, female family forms (uk, ru, cs_CZ, sk,
 * lv, az by their lists; pl -ski -> -ska derived), patronymics (uk, ru), a middle name
 * with probability @p middle where customary, two family names in es.
 */
void rp_sim__names_draw(
    const rp_sim_names *nm, size_t loc, rp_sex sex, double middle, gsl_rng *r, rp_sim_name *out);

/* ==== transliteration ==== */

/** Romanisation with memo (opaque; not thread-safe). */
typedef struct rp_sim_translit rp_sim_translit;

int rp_sim__translit_new(rp_sim_translit **out, rp_error *err);
void rp_sim__translit_free(rp_sim_translit *t);

/**
 * The romanisation systems of @p locale, the usual one first (static strings).
 * Non-Latin locales: e.g. uk: "kmu2010", "icao", "bgn", "german", "polish"; ru: "icao",
 * "bgn", "german", "french"; el: "elot743", "bgn"; ka_GE: "national", "bgn"; ...
 * Latin-script locales: "native" (as written) and "ascii" (marks removed), and for some
 * a third (de "ascii_de": ü -> ue; sr_RS_latin "ascii_dj": đ -> dj).
 * @return the number of systems (0 for an unknown locale).
 */
size_t rp_sim__translit_systems(const char *locale, const char *const **ids);

/** True when @p locale's names are written in Latin script. */
bool rp_sim__locale_latin(const char *locale);

/**
 * Romanise @p in (UTF-8) with @p system of @p locale. Memoised on (locale, system, in):
 * *out is borrowed from @p t until rp_sim__translit_free().
 * @return RP_OK; RP_EINVAL (unknown locale or system); RP_EINTERNAL (ICU failed);
 *         RP_ENOMEM.
 */
int rp_sim__translit(rp_sim_translit *t,
                     const char *locale,
                     const char *system,
                     const char *in,
                     const char **out,
                     rp_error *err);

#endif
