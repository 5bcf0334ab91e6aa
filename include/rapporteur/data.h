/*
 * rapporteur: the case-record data standard (hub side), mapping files that bring an
 * agency's columns and codes into it, and the readers for CSV, SPSS and Stata files.
 * Field names and code lists follow HTCDS v2.0 (IOM) and the CTDC data dictionary;
 * docs/data-standard.md says for each field which standard it maps to and how.
 */
#ifndef RAPPORTEUR_DATA_H
#define RAPPORTEUR_DATA_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== the standard ==== */

/** Longest case id, list code or person id, bytes including the NUL. */
#define RP_DATA_ID_MAX 64

/*
 * Every coded field distinguishes "not recorded" (MISSING, the zero value) from
 * "recorded as unknown" (UNKNOWN), as CTDC does with empty / -99 against "Unknown".
 */

/** Identification status (HTCDS vic_TraffickingStatus). */
typedef enum rp_id_status {
    RP_ID_STATUS_MISSING = 0,
    RP_ID_STATUS_UNKNOWN,
    RP_ID_STATUS_PRESUMED,  /* presumed / potential victim, not yet decided */
    RP_ID_STATUS_IDENTIFIED /* formally identified victim (e.g. NRM conclusive grounds) */
} rp_id_status;

/** Sex (HTCDS prs_Gender; CTDC gender). */
typedef enum rp_sex {
    RP_SEX_MISSING = 0,
    RP_SEX_UNKNOWN,
    RP_SEX_FEMALE,
    RP_SEX_MALE,
    RP_SEX_OTHER /* HTCDS "Transgender/Other" */
} rp_sex;

/** Age band at registration, CTDC's ageBroad bands. */
typedef enum rp_age_band {
    RP_AGE_BAND_MISSING = 0,
    RP_AGE_BAND_UNKNOWN,
    RP_AGE_BAND_0_8,
    RP_AGE_BAND_9_17,
    RP_AGE_BAND_18_20,
    RP_AGE_BAND_21_23,
    RP_AGE_BAND_24_26,
    RP_AGE_BAND_27_29,
    RP_AGE_BAND_30_38,
    RP_AGE_BAND_39_47,
    RP_AGE_BAND_48_PLUS
} rp_age_band;

/** Minor or adult at the time of exploitation (CTDC majorityStatusAtExploit). */
typedef enum rp_majority {
    RP_MAJORITY_MISSING = 0,
    RP_MAJORITY_UNKNOWN,
    RP_MAJORITY_ADULT,
    RP_MAJORITY_MINOR
} rp_majority;

/** Forms of exploitation (HTCDS vic_TypeOfExploitation; CTDC is* flags), a bit set. */
enum {
    RP_EXPL_SEXUAL = 1u << 0,
    RP_EXPL_FORCED_LABOUR = 1u << 1,
    RP_EXPL_FORCED_CRIMINALITY = 1u << 2,
    RP_EXPL_FORCED_BEGGING = 1u << 3,
    RP_EXPL_DOMESTIC_SERVITUDE = 1u << 4,
    RP_EXPL_FORCED_MARRIAGE = 1u << 5,
    RP_EXPL_ORGAN_REMOVAL = 1u << 6,
    RP_EXPL_FORCED_MILITARY = 1u << 7,
    RP_EXPL_OTHER = 1u << 8
};

/** Types of sexual exploitation (HTCDS vic_TypeOfSexExploitation; CTDC typeOfSex*). */
enum {
    RP_SEXTYPE_PROSTITUTION = 1u << 0,
    RP_SEXTYPE_PORNOGRAPHY = 1u << 1,
    RP_SEXTYPE_REMOTE_INTERACTIVE = 1u << 2,
    RP_SEXTYPE_PRIVATE_SEXUAL_SERVICES = 1u << 3,
    RP_SEXTYPE_OTHER = 1u << 4
};

/** Sectors of forced labour (HTCDS vic_ForcedLabourIndustry; CTDC typeOfLabour*). */
enum {
    RP_SECTOR_AGRICULTURE = 1u << 0,
    RP_SECTOR_AQUAFARMING = 1u << 1,
    RP_SECTOR_BEGGING = 1u << 2,
    RP_SECTOR_CONSTRUCTION = 1u << 3,
    RP_SECTOR_DOMESTIC_WORK = 1u << 4,
    RP_SECTOR_HOSPITALITY = 1u << 5,
    RP_SECTOR_ILLICIT_ACTIVITIES = 1u << 6,
    RP_SECTOR_MANUFACTURING = 1u << 7,
    RP_SECTOR_MINING_DRILLING = 1u << 8,
    RP_SECTOR_PEDDLING = 1u << 9,
    RP_SECTOR_TRANSPORTATION = 1u << 10,
    RP_SECTOR_OTHER = 1u << 11,
    RP_SECTOR_NOT_SPECIFIED = 1u << 12
};

/** Means of control (HTCDS vic_MethodsOfControl; CTDC meansOfControl*), a bit set. */
enum {
    RP_CONTROL_DEBT_BONDAGE = 1u << 0,
    RP_CONTROL_TAKES_EARNINGS = 1u << 1,
    RP_CONTROL_RESTRICTS_FINANCIAL_ACCESS = 1u << 2,
    RP_CONTROL_THREATS = 1u << 3,
    RP_CONTROL_PSYCHOLOGICAL_ABUSE = 1u << 4,
    RP_CONTROL_PHYSICAL_ABUSE = 1u << 5,
    RP_CONTROL_SEXUAL_ABUSE = 1u << 6,
    RP_CONTROL_FALSE_PROMISES = 1u << 7,
    RP_CONTROL_PSYCHOACTIVE_SUBSTANCES = 1u << 8,
    RP_CONTROL_RESTRICTS_MOVEMENT = 1u << 9,
    RP_CONTROL_RESTRICTS_MEDICAL_CARE = 1u << 10,
    RP_CONTROL_EXCESSIVE_WORKING_HOURS = 1u << 11,
    RP_CONTROL_USES_CHILDREN = 1u << 12,
    RP_CONTROL_THREAT_OF_LAW_ENFORCEMENT = 1u << 13,
    RP_CONTROL_WITHHOLDS_NECESSITIES = 1u << 14,
    RP_CONTROL_WITHHOLDS_DOCUMENTS = 1u << 15,
    RP_CONTROL_OTHER = 1u << 16,
    RP_CONTROL_NOT_SPECIFIED = 1u << 17
};

/** Relation of the recruiter to the victim (HTCDS vic_RelationshipToTrafficker). */
enum {
    RP_RECRUITER_INTIMATE_PARTNER = 1u << 0,
    RP_RECRUITER_FRIEND = 1u << 1,
    RP_RECRUITER_FAMILY = 1u << 2,
    RP_RECRUITER_OTHER = 1u << 3,
    RP_RECRUITER_UNKNOWN = 1u << 4
};

/** State of a field: not recorded, recorded as unknown, or known. */
typedef enum rp_state { RP_STATE_MISSING = 0, RP_STATE_UNKNOWN, RP_STATE_KNOWN } rp_state;

/**
 * One case record: one presumed or identified victim as recorded by one list (agency).
 * Hub side: no name, birth date or document number ever appears here (those are the
 * agency-side identifiers of the encoding module). A value struct; no pointers.
 */
typedef struct rp_case_record {
    char list[RP_DATA_ID_MAX];      /* data source (list) code, required */
    char case_id[RP_DATA_ID_MAX];   /* agency's pseudonymous case reference; "" if none */
    char person_id[RP_DATA_ID_MAX]; /* person identifier shared across lists; "" if none */
    int registration_year;          /* 0 when missing */
    char registration_date[11];     /* "YYYY-MM-DD" or "YYYY-MM" or "" */
    rp_id_status id_status;
    rp_sex sex;
    int age;              /* years at registration, -1 when missing */
    rp_age_band age_band; /* derived from age when age is known */
    rp_majority majority_at_exploitation;
    char citizenship[3]; /* ISO 3166-1 alpha-2 ("NA" is Namibia) when KNOWN */
    rp_state citizenship_state;
    char country_of_exploitation[3];
    rp_state country_of_exploitation_state;
    uint32_t exploitation;       /* RP_EXPL_* */
    rp_state exploitation_state; /* KNOWN when any form was recorded (CTDC denominator) */
    uint32_t sexual_types;       /* RP_SEXTYPE_* */
    uint32_t labour_sectors;     /* RP_SECTOR_* */
    uint32_t means_of_control;   /* RP_CONTROL_* */
    rp_state means_of_control_state;
    uint32_t recruiter_relation; /* RP_RECRUITER_* */
    rp_state recruiter_relation_state;
} rp_case_record;

/** Reset @p rec to "everything missing" (age -1, the rest zero). */
RP_API void rp_case_record_init(rp_case_record *rec);

/** The fields of the standard, in the order of the standard's CSV export. */
typedef enum rp_field {
    RP_FIELD_LIST = 0,
    RP_FIELD_CASE_ID,
    RP_FIELD_PERSON_ID,
    RP_FIELD_REGISTRATION_YEAR,
    RP_FIELD_REGISTRATION_DATE,
    RP_FIELD_ID_STATUS,
    RP_FIELD_SEX,
    RP_FIELD_AGE,
    RP_FIELD_AGE_BAND,
    RP_FIELD_MAJORITY_AT_EXPLOITATION,
    RP_FIELD_CITIZENSHIP,
    RP_FIELD_COUNTRY_OF_EXPLOITATION,
    RP_FIELD_EXPLOITATION,
    RP_FIELD_SEXUAL_TYPES,
    RP_FIELD_LABOUR_SECTORS,
    RP_FIELD_MEANS_OF_CONTROL,
    RP_FIELD_RECRUITER_RELATION,
    RP_FIELD_COUNT
} rp_field;

/** How a field's values are written. */
typedef enum rp_field_type {
    RP_FTYPE_TEXT = 0, /* identifier text */
    RP_FTYPE_INT,      /* integer with a range */
    RP_FTYPE_DATE,     /* ISO 8601 date, possibly partial */
    RP_FTYPE_CODE,     /* one code from a code list */
    RP_FTYPE_CODES,    /* a set of codes from a code list (multi-valued) */
    RP_FTYPE_COUNTRY   /* ISO 3166-1 country code */
} rp_field_type;

/** Description of one field of the standard (static data; never freed). */
typedef struct rp_field_info {
    rp_field field;
    rp_field_type type;
    const char *name;         /* standard name, e.g. "citizenship" */
    const char *const *codes; /* CODE/CODES: NULL-terminated code list, in enum/bit order */
    const char *htcds;        /* HTCDS v2.0 field it maps to, e.g. "prs_Citizenship" */
    const char *ctdc;         /* CTDC dictionary column(s), e.g. "citizenship" */
    const char *description;  /* one sentence */
} rp_field_info;

/** The description of @p f, or NULL if out of range. */
RP_API const rp_field_info *rp_field_info_get(rp_field f);

/** The field called @p name ("sex", ...; "year" is registration_year).
 *  @return RP_OK or RP_ENOTFOUND. */
RP_API int rp_field_lookup(rp_field *out, const char *name);

/**
 * Code (text) of value @p v of a CODE field ("female"), or of bit number @p v of a CODES
 * field ("forced_labour"); NULL if out of range. MISSING is "" and UNKNOWN is "unknown".
 */
RP_API const char *rp_code_name(rp_field f, unsigned v);

/**
 * Parse a standard code of field @p f: for CODE fields *out is the enum value, for
 * CODES fields the bit mask of one code. @return RP_OK or RP_ENOTFOUND.
 */
RP_API int rp_code_parse(unsigned *out, rp_field f, const char *code);

/** The CTDC age band of an age in years (RP_AGE_BAND_MISSING for age < 0). */
RP_API rp_age_band rp_age_band_of(int age);

/**
 * Normalise a country code: ISO 3166-1 alpha-2 or alpha-3 (any case) to alpha-2 in
 * @p out (3 bytes). "NA" is Namibia, never missing. @return RP_OK or RP_ENOTFOUND.
 * @see ISO 3166-1:2020 (current codes; plus XK for Kosovo, as CTDC uses it).
 */
RP_API int rp_country_normalise(char out[3], const char *code);

/**
 * Check a record against the standard's rules (required list, ranges, calendar dates,
 * code ranges, age band consistent with age). Appends one issue per broken rule.
 * @return true when the record may be stored.
 */
typedef struct rp_issue {
    long line;            /* input line (CSV) or row number (SPSS/Stata), 1-based */
    long column;          /* 1-based input column, 0 if the rule is about the record */
    char column_name[64]; /* input column name, "" if none */
    char value[80];       /* the offending value, truncated; never an identifier */
    char rule[32];        /* "required", "code", "range", "date", "country",
                             "duplicate", "ragged", "encoding", "consistency" */
    char message[200];    /* what was expected */
} rp_issue;

/** A growable list of issues (caller-owned; release with rp_issue_list_release). */
typedef struct rp_issue_list {
    rp_issue *v;
    size_t n, cap;
} rp_issue_list;

/* clang-format off */
#define RP_ISSUE_LIST_INIT {NULL, 0, 0}
/* clang-format on */

/** Append an issue. @return RP_OK or RP_ENOMEM. */
RP_API int rp_issue_list_push(rp_issue_list *l, const rp_issue *issue);
/** Empty the list, keeping its memory. */
RP_API void rp_issue_list_clear(rp_issue_list *l);
/** Free the list's memory. NULL-safe. */
RP_API void rp_issue_list_release(rp_issue_list *l);

/**
 * Validate @p rec (see the rules in docs/data-standard.md); issues get @p line.
 * @return RP_OK when valid, RP_EDATA when at least one issue was added, RP_ENOMEM.
 */
RP_API int
rp_case_record_validate(const rp_case_record *rec, long line, rp_issue_list *issues, rp_error *err);

/* ==== readers ==== */

/** Input file formats. */
typedef enum rp_input_format {
    RP_INPUT_AUTO = 0, /* by magic bytes, then extension: .sav, .zsav, .dta, else CSV */
    RP_INPUT_CSV,
    RP_INPUT_SAV, /* SPSS system file (ReadStat) */
    RP_INPUT_DTA  /* Stata file (ReadStat) */
} rp_input_format;

/** Options for rp_reader_open(). Initialise with RP_READER_OPTS_INIT. */
typedef struct rp_reader_opts {
    unsigned version;
    rp_input_format format;
    char delimiter;       /* CSV: 0 = detect among , ; TAB | */
    const char *encoding; /* CSV: NULL = UTF-8 (BOM allowed); else an iconv name such as
                             "WINDOWS-1251", converted to UTF-8 */
    bool value_labels;    /* SPSS/Stata: give value labels instead of codes */
    size_t max_field;     /* longest field in bytes; longer is an error (RP_EPARSE) */
} rp_reader_opts;

#define RP_READER_OPTS_VERSION 1
/* clang-format off */
#define RP_READER_OPTS_INIT {RP_READER_OPTS_VERSION, RP_INPUT_AUTO, 0, NULL, true, 1u << 20}
/* clang-format on */

/** A row reader over one input file (opaque). */
typedef struct rp_reader rp_reader;

/**
 * Open @p path and read its header (column names).
 * @return RP_OK; RP_EIO (cannot open/read); RP_EPARSE (binary, bad encoding, no header,
 *         unusable file) with err->path/line/column; RP_EINVAL; RP_ENOMEM.
 */
RP_API int
rp_reader_open(rp_reader **out, const char *path, const rp_reader_opts *opts, rp_error *err);

/** The column names (borrowed, valid until rp_reader_free). */
RP_API size_t rp_reader_columns(const rp_reader *r, const char *const **names);

/**
 * Next data row. Fields are UTF-8, NUL-terminated, borrowed until the next call. A row
 * may have more or fewer fields than the header (the caller quarantines it).
 * @param[out] line  1-based line (CSV: physical line where the row starts) or row number.
 * @return 1 with a row, 0 at the end, or a negative rp_status (RP_EPARSE: unbalanced
 *         quote, invalid encoding in the file, field over max_field: the file is
 *         unusable; err has the position).
 */
RP_API int rp_reader_next(
    rp_reader *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err);

/** Fraction of the input consumed, in [0, 1] (for progress bars). */
RP_API double rp_reader_progress(const rp_reader *r);

/** The format that was opened. */
RP_API rp_input_format rp_reader_format(const rp_reader *r);

/** Close and free. NULL-safe. */
RP_API void rp_reader_free(rp_reader *r);

/* ==== mappings ==== */

/** A mapping from an agency's columns and codes to the standard (opaque). */
typedef struct rp_mapping rp_mapping;

/**
 * Load a mapping file (JSON; format in docs/data-standard.md).
 * @return RP_OK; RP_EIO; RP_EPARSE (not JSON, with line/column); RP_EDATA (unknown
 *         field, bad recode target, bad date format: err says where in the file);
 *         RP_ENOMEM.
 */
RP_API int rp_mapping_load(rp_mapping **out, const char *path, rp_error *err);

/** As rp_mapping_load() from memory; @p name labels errors. */
RP_API int
rp_mapping_parse(rp_mapping **out, const char *json, size_t len, const char *name, rp_error *err);

/** The mapping's "name". */
RP_API const char *rp_mapping_name(const rp_mapping *m);

/**
 * Resolve the mapping's column names against an input header. Must be called before
 * rp_mapping_apply(). @return RP_OK; RP_EDATA (a required column is absent: err->msg
 * names it).
 */
RP_API int
rp_mapping_bind(rp_mapping *m, const char *const *columns, size_t n_columns, rp_error *err);

/**
 * Map one input row into @p rec (initialised by the call) and validate it. Every problem
 * becomes an issue (line, column, value, rule); a row with issues must be quarantined.
 * @return RP_OK (row valid), RP_EDATA (issues added), RP_ENOMEM.
 */
RP_API int rp_mapping_apply(rp_case_record *rec,
                            rp_issue_list *issues,
                            const rp_mapping *m,
                            const char *const *fields,
                            size_t n_fields,
                            long line,
                            rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_mapping_free(rp_mapping *m);

/* ==== personal identifiers of a mapping (agency side) ==== */

/*
 * A mapping's optional "identifiers" object names the input columns that hold personal
 * identifiers, for the agency-side encoding step. rp_mapping_apply() never reads them:
 * no identifier ever enters an rp_case_record.
 */

/** The personal identifiers a mapping can name (docs/data-standard.md, "Identifiers"). */
typedef enum rp_ident {
    RP_IDENT_GIVEN_NAME = 0,  /* given name(s) (HTCDS prs_FirstName) */
    RP_IDENT_FAMILY_NAME,     /* family name (prs_SecondName) */
    RP_IDENT_PATRONYMIC,      /* patronymic or middle name (prs_MiddleName) */
    RP_IDENT_FULL_NAME,       /* given and family name in one column */
    RP_IDENT_BIRTH_DATE,      /* birth date, possibly partial (prs_Birthdate) */
    RP_IDENT_DOCUMENT_NUMBER, /* identity or travel document number (prs_IdentityNumber) */
    RP_IDENT_ADDRESS,         /* free text: an address or place of birth, for linkage only */
    RP_IDENT_COUNT
} rp_ident;

/** The key of @p id in a mapping's "identifiers" ("given_name", ...); NULL if out of range. */
RP_API const char *rp_ident_name(rp_ident id);

/** Most input columns one identifier may join ("columns": [...]). */
#define RP_MAPPING_IDENT_COLUMNS_MAX 16

/**
 * The input column of identifier @p id (trimmed; borrowed, valid until rp_mapping_free()),
 * the first of them for an entry with "columns", or NULL when the mapping does not name
 * it (or @p m is NULL, @p id out of range).
 */
RP_API const char *rp_mapping_ident_column(const rp_mapping *m, rp_ident id);

/**
 * The input columns of identifier @p id, in the order their values are joined: one for
 * an entry with "column", 1 to RP_MAPPING_IDENT_COLUMNS_MAX for one with "columns".
 *
 * @param[out] names  the column names (trimmed; borrowed, valid until rp_mapping_free());
 *                    NULL when there are none. May be NULL.
 * @return the number of columns; 0 when the mapping does not name @p id (or @p m is
 *         NULL, @p id out of range).
 * @test   tests/unit/test_data_mapping.c: mapping_ident__joins_columns
 */
RP_API size_t rp_mapping_ident_columns(const rp_mapping *m, rp_ident id, const char *const **names);

/**
 * True when the mapping's full_name column is written family name first ("order":
 * "family_first"); false for the default "given_first", or when there is no full_name.
 */
RP_API bool rp_mapping_full_name_family_first(const rp_mapping *m);

/**
 * Read identifier @p id of one input row, after rp_mapping_bind(). The value is trimmed of
 * ASCII white space; it is "" when empty, when it is in the entry's own "missing" list or
 * in the mapping's global "missing" or "unknown" list, or when the mapping does not name
 * @p id. An entry with "columns" reads each column so and joins the values that are not
 * missing, in order, with one space. An RP_IDENT_BIRTH_DATE value is normalised to
 * "YYYY-MM-DD", "YYYY-MM" or "YYYY" with the entry's formats (a real calendar day, year
 * 1900..2100).
 *
 * @param[in]  m         a bound mapping.
 * @param[in]  id        the identifier.
 * @param[in]  row       the row's fields, as given to rp_mapping_apply() (borrowed).
 * @param[in]  n_fields  number of fields in @p row; must equal the header's.
 * @param[out] out       the value, NUL-terminated; "" on failure. Personal data: the
 *                       caller wipes it after use.
 * @param[in]  out_size  size of @p out in bytes (at least 11 holds any birth date).
 * @param[out] err       details on failure (the column, never the value); may be NULL.
 * @return RP_OK; RP_EDATA (a birth date no format reads, or a row whose number of fields
 *         differs from the header); RP_EINVAL (NULL argument, @p id out of range, mapping
 *         not bound, @p out_size too small for the value).
 * @test   tests/unit/test_data_mapping.c: mapping_ident__reads_every_identifier
 */
RP_API int rp_mapping_ident_read(const rp_mapping *m,
                                 rp_ident id,
                                 const char *const *row,
                                 size_t n_fields,
                                 char *out,
                                 size_t out_size,
                                 rp_error *err);

/**
 * As rp_mapping_ident_read(), but a damaged birth date or a long address is not an error:
 * what can be used of it is kept and reported in @p warning.
 *
 * A birth date that no format reads in full, but that has the shape of a format (every
 * character read: digits where the format has numbers, its separators) with a year in
 * 1900..2100, keeps its leading parts in range: "YYYY-MM" when only the day is not a day
 * of that month (31 April, day 00), "YYYY" when the month is out of 1..12 (month 13,
 * month 00). The first such format gives the parts. A value with no format's shape, or
 * with a year out of range, is an error as with rp_mapping_ident_read(): it is more
 * likely a wrong "format" in the mapping than a damaged date, and nothing of it could be
 * kept.
 *
 * An address (RP_IDENT_ADDRESS) that does not fit in @p out_size bytes is cut at a word
 * boundary (after its last whole word, or whole UTF-8 character for a single word) to
 * fit. Other identifiers read as with rp_mapping_ident_read(): a name that does not fit
 * is an error that names every column of the entry.
 *
 * @param[out] warning  cleared, then, for a birth date read in part: rule "date" and a
 *                      message saying what was expected and what was kept; for an
 *                      address cut: rule "length" and a message naming its columns. Both
 *                      with column (1-based, the entry's first column) and column_name;
 *                      line is 0 (the caller knows it) and value "" (an identifier is
 *                      never copied). warning->rule[0] is '\0' when there is nothing to
 *                      report. Must not be NULL.
 * @return RP_OK (also with a warning); RP_EDATA (a row whose number of fields differs from
 *         the header; a birth date that cannot be read in part); RP_EINVAL (as
 *         rp_mapping_ident_read(), or @p warning NULL).
 * @test   tests/unit/test_data_mapping.c: mapping_ident__keeps_the_valid_parts_of_a_birth_date,
 *         mapping_ident__cuts_a_long_address_at_a_word
 */
RP_API int rp_mapping_ident_read_partial(const rp_mapping *m,
                                         rp_ident id,
                                         const char *const *row,
                                         size_t n_fields,
                                         char *out,
                                         size_t out_size,
                                         rp_issue *warning,
                                         rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
