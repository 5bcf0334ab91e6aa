/*
 * The case-record data standard (hub side): the field table with code lists and the
 * HTCDS v2.0 and CTDC names each field maps to, code names both ways, CTDC age bands,
 * ISO 3166-1 country codes, the issue list, and record validation. The rules are
 * documented for analysts and data officers in docs/data-standard.md.
 */
#include "data/data_int.h"

#include <rapporteur/data.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ==== code lists ==== */

/*
 * Codes are written in snake_case, in enum order for CODE fields (index 0 is "" for
 * MISSING, index 1 "unknown") and in bit order for CODES fields (entry i is bit 1u << i).
 * They are the lower-case suffixes of the RP_ constants, except the age bands, which
 * keep CTDC's "0-8" style with a single hyphen. Changing a list changes stored data:
 * append only.
 */
static const char *const id_status_codes[] = {"", "unknown", "presumed", "identified", NULL};

static const char *const sex_codes[] = {"", "unknown", "female", "male", "other", NULL};

static const char *const age_band_codes[] = {"",      "unknown", "0-8",   "9-17",  "18-20", "21-23",
                                             "24-26", "27-29",   "30-38", "39-47", "48+",   NULL};

static const char *const majority_codes[] = {"", "unknown", "adult", "minor", NULL};

static const char *const exploitation_codes[] = {"sexual",
                                                 "forced_labour",
                                                 "forced_criminality",
                                                 "forced_begging",
                                                 "domestic_servitude",
                                                 "forced_marriage",
                                                 "organ_removal",
                                                 "forced_military",
                                                 "other",
                                                 NULL};

static const char *const sexual_type_codes[] = {
    "prostitution", "pornography", "remote_interactive", "private_sexual_services", "other", NULL};

static const char *const labour_sector_codes[] = {"agriculture",
                                                  "aquafarming",
                                                  "begging",
                                                  "construction",
                                                  "domestic_work",
                                                  "hospitality",
                                                  "illicit_activities",
                                                  "manufacturing",
                                                  "mining_drilling",
                                                  "peddling",
                                                  "transportation",
                                                  "other",
                                                  "not_specified",
                                                  NULL};

static const char *const control_codes[] = {"debt_bondage",
                                            "takes_earnings",
                                            "restricts_financial_access",
                                            "threats",
                                            "psychological_abuse",
                                            "physical_abuse",
                                            "sexual_abuse",
                                            "false_promises",
                                            "psychoactive_substances",
                                            "restricts_movement",
                                            "restricts_medical_care",
                                            "excessive_working_hours",
                                            "uses_children",
                                            "threat_of_law_enforcement",
                                            "withholds_necessities",
                                            "withholds_documents",
                                            "other",
                                            "not_specified",
                                            NULL};

static const char *const recruiter_codes[] = {"intimate_partner", "friend", "family", "other",
                                              "unknown",          NULL};

/* ==== the field table ==== */

/*
 * One entry per field, indexed by rp_field. "" in htcds or ctdc means the standard has
 * no counterpart (never NULL, so callers may print them as they are).
 */
static const rp_field_info fields[RP_FIELD_COUNT] = {
    {RP_FIELD_LIST, RP_FTYPE_TEXT, "list", NULL, "org_Name", "Datasource",
     "Code of the list (agency or data source) that recorded the case; required"},
    {RP_FIELD_CASE_ID, RP_FTYPE_TEXT, "case_id", NULL, "", "",
     "The agency's pseudonymous case reference, unique within its list"},
    {RP_FIELD_PERSON_ID, RP_FTYPE_TEXT, "person_id", NULL, "", "",
     "Pseudonymous person identifier shared across lists (after linkage)"},
    {RP_FIELD_REGISTRATION_YEAR, RP_FTYPE_INT, "registration_year", NULL,
     "cas_IncomingReferralDate", "yearOfRegistration",
     "Calendar year in which the agency registered the case"},
    {RP_FIELD_REGISTRATION_DATE, RP_FTYPE_DATE, "registration_date", NULL,
     "cas_IncomingReferralDate", "", "Date the agency registered the case, YYYY-MM-DD or YYYY-MM"},
    {RP_FIELD_ID_STATUS, RP_FTYPE_CODE, "id_status", id_status_codes, "vic_TraffickingStatus", "",
     "Whether the person is a presumed or a formally identified victim"},
    {RP_FIELD_SEX, RP_FTYPE_CODE, "sex", sex_codes, "prs_Gender", "gender",
     "Sex of the person as recorded by the agency"},
    {RP_FIELD_AGE, RP_FTYPE_INT, "age", NULL, "prs_Birthdate", "",
     "Age in completed years at registration, computed at the agency from the birth date"},
    {RP_FIELD_AGE_BAND, RP_FTYPE_CODE, "age_band", age_band_codes, "prs_Birthdate", "ageBroad",
     "CTDC age band of the age at registration"},
    {RP_FIELD_MAJORITY_AT_EXPLOITATION, RP_FTYPE_CODE, "majority_at_exploitation", majority_codes,
     "vic_AgeWhenTrafficked", "majorityStatusAtExploit",
     "Whether the person was a minor or an adult when the exploitation began"},
    {RP_FIELD_CITIZENSHIP, RP_FTYPE_COUNTRY, "citizenship", NULL, "prs_Citizenship", "citizenship",
     "Citizenship, ISO 3166-1 alpha-2"},
    {RP_FIELD_COUNTRY_OF_EXPLOITATION, RP_FTYPE_COUNTRY, "country_of_exploitation", NULL,
     "vic_LocationOfExploitation", "CountryOfExploitation",
     "Country where the exploitation took place, ISO 3166-1 alpha-2"},
    {RP_FIELD_EXPLOITATION, RP_FTYPE_CODES, "exploitation", exploitation_codes,
     "vic_TypeOfExploitation",
     "isSexualExploit isForcedLabour isSexAndLabour isForcedMarriage isForcedMilitary "
     "isOrganRemoval isOtherExploit",
     "Forms of exploitation (several may apply)"},
    {RP_FIELD_SEXUAL_TYPES, RP_FTYPE_CODES, "sexual_types", sexual_type_codes,
     "vic_TypeOfSexExploitation", "typeOfSex*", "Types of sexual exploitation"},
    {RP_FIELD_LABOUR_SECTORS, RP_FTYPE_CODES, "labour_sectors", labour_sector_codes,
     "vic_ForcedLabourIndustry", "typeOfLabour*", "Sectors of forced labour"},
    {RP_FIELD_MEANS_OF_CONTROL, RP_FTYPE_CODES, "means_of_control", control_codes,
     "vic_MethodsOfControl", "meansOfControl*", "Means the traffickers used to control the person"},
    {RP_FIELD_RECRUITER_RELATION, RP_FTYPE_CODES, "recruiter_relation", recruiter_codes,
     "vic_RelationshipToTrafficker", "RecruiterRelationship recruiterRelation*",
     "Relation of the recruiter to the person"},
};

const rp_field_info *rp_field_info_get(rp_field f)
{
    if ((unsigned)f >= RP_FIELD_COUNT)
        return NULL;
    return &fields[f];
}

int rp_field_lookup(rp_field *out, const char *name)
{
    if (!name)
        return RP_ENOTFOUND;
    /* the one short name analysts use for strata: "--by year" */
    if (strcmp(name, "year") == 0) {
        *out = RP_FIELD_REGISTRATION_YEAR;
        return RP_OK;
    }
    for (size_t i = 0; i < RP_FIELD_COUNT; i++) {
        if (strcmp(fields[i].name, name) == 0) {
            *out = fields[i].field;
            return RP_OK;
        }
    }
    return RP_ENOTFOUND;
}

/* Number of codes in a NULL-terminated list. */
static unsigned codes_len(const char *const *codes)
{
    unsigned n = 0;
    while (codes[n])
        n++;
    return n;
}

/* The code list of a CODE or CODES field, NULL for other fields. */
static const char *const *field_codes(rp_field f)
{
    const rp_field_info *info = rp_field_info_get(f);
    if (!info || (info->type != RP_FTYPE_CODE && info->type != RP_FTYPE_CODES))
        return NULL;
    return info->codes;
}

const char *rp_code_name(rp_field f, unsigned v)
{
    const char *const *codes = field_codes(f);
    if (!codes || v >= codes_len(codes))
        return NULL;
    return codes[v];
}

/* ASCII case-insensitive equality (codes are ASCII; locale plays no part). */
static bool ascii_iequal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char ca = (unsigned char)*a;
        unsigned char cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

/*
 * Codes compare without regard to ASCII case ("Female" is "female"). For a CODE field
 * "" is MISSING (0); a CODES field has no code for "nothing", so "" is not found.
 */
int rp_code_parse(unsigned *out, rp_field f, const char *code)
{
    const char *const *codes = field_codes(f);
    if (!codes || !code)
        return RP_ENOTFOUND;
    bool multi = rp_field_info_get(f)->type == RP_FTYPE_CODES;
    for (unsigned i = 0; codes[i]; i++) {
        if (ascii_iequal(codes[i], code)) {
            *out = multi ? 1u << i : i;
            return RP_OK;
        }
    }
    return RP_ENOTFOUND;
}

/* ==== age bands ==== */

/* CTDC ageBroad bands: lower bounds of 0-8, 9-17, 18-20, ..., 39-47, 48+. */
rp_age_band rp_age_band_of(int age)
{
    static const struct {
        int min_age;
        rp_age_band band;
    } bands[] = {
        {48, RP_AGE_BAND_48_PLUS}, {39, RP_AGE_BAND_39_47}, {30, RP_AGE_BAND_30_38},
        {27, RP_AGE_BAND_27_29},   {24, RP_AGE_BAND_24_26}, {21, RP_AGE_BAND_21_23},
        {18, RP_AGE_BAND_18_20},   {9, RP_AGE_BAND_9_17},   {0, RP_AGE_BAND_0_8},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(bands); i++) {
        if (age >= bands[i].min_age)
            return bands[i].band;
    }
    return RP_AGE_BAND_MISSING;
}

/* ==== countries ==== */

/*
 * ISO 3166-1 (current codes as of the 2020 edition and its newsletters: all 249
 * officially assigned alpha-2/alpha-3 pairs) plus the user-assigned XK/XKX for Kosovo,
 * which CTDC and the European Commission use. Two copies of the same pairs, one sorted
 * by alpha-2 and one by alpha-3, so both look-ups are binary searches over static data;
 * tests/unit/test_data_standard.c checks that the two agree, that both are sorted and
 * that no code repeats. Historic codes (AN/ANT, CS/SCG, YU/YUG) and the exceptionally
 * reserved UK and EU are not here: a mapping recodes them if an agency uses them.
 */
typedef struct country_entry {
    char a2[3];
    char a3[4];
} country_entry;

static const country_entry countries_by_alpha2[] = {
    {"AD", "AND"}, {"AE", "ARE"}, {"AF", "AFG"}, {"AG", "ATG"}, {"AI", "AIA"}, {"AL", "ALB"},
    {"AM", "ARM"}, {"AO", "AGO"}, {"AQ", "ATA"}, {"AR", "ARG"}, {"AS", "ASM"}, {"AT", "AUT"},
    {"AU", "AUS"}, {"AW", "ABW"}, {"AX", "ALA"}, {"AZ", "AZE"}, {"BA", "BIH"}, {"BB", "BRB"},
    {"BD", "BGD"}, {"BE", "BEL"}, {"BF", "BFA"}, {"BG", "BGR"}, {"BH", "BHR"}, {"BI", "BDI"},
    {"BJ", "BEN"}, {"BL", "BLM"}, {"BM", "BMU"}, {"BN", "BRN"}, {"BO", "BOL"}, {"BQ", "BES"},
    {"BR", "BRA"}, {"BS", "BHS"}, {"BT", "BTN"}, {"BV", "BVT"}, {"BW", "BWA"}, {"BY", "BLR"},
    {"BZ", "BLZ"}, {"CA", "CAN"}, {"CC", "CCK"}, {"CD", "COD"}, {"CF", "CAF"}, {"CG", "COG"},
    {"CH", "CHE"}, {"CI", "CIV"}, {"CK", "COK"}, {"CL", "CHL"}, {"CM", "CMR"}, {"CN", "CHN"},
    {"CO", "COL"}, {"CR", "CRI"}, {"CU", "CUB"}, {"CV", "CPV"}, {"CW", "CUW"}, {"CX", "CXR"},
    {"CY", "CYP"}, {"CZ", "CZE"}, {"DE", "DEU"}, {"DJ", "DJI"}, {"DK", "DNK"}, {"DM", "DMA"},
    {"DO", "DOM"}, {"DZ", "DZA"}, {"EC", "ECU"}, {"EE", "EST"}, {"EG", "EGY"}, {"EH", "ESH"},
    {"ER", "ERI"}, {"ES", "ESP"}, {"ET", "ETH"}, {"FI", "FIN"}, {"FJ", "FJI"}, {"FK", "FLK"},
    {"FM", "FSM"}, {"FO", "FRO"}, {"FR", "FRA"}, {"GA", "GAB"}, {"GB", "GBR"}, {"GD", "GRD"},
    {"GE", "GEO"}, {"GF", "GUF"}, {"GG", "GGY"}, {"GH", "GHA"}, {"GI", "GIB"}, {"GL", "GRL"},
    {"GM", "GMB"}, {"GN", "GIN"}, {"GP", "GLP"}, {"GQ", "GNQ"}, {"GR", "GRC"}, {"GS", "SGS"},
    {"GT", "GTM"}, {"GU", "GUM"}, {"GW", "GNB"}, {"GY", "GUY"}, {"HK", "HKG"}, {"HM", "HMD"},
    {"HN", "HND"}, {"HR", "HRV"}, {"HT", "HTI"}, {"HU", "HUN"}, {"ID", "IDN"}, {"IE", "IRL"},
    {"IL", "ISR"}, {"IM", "IMN"}, {"IN", "IND"}, {"IO", "IOT"}, {"IQ", "IRQ"}, {"IR", "IRN"},
    {"IS", "ISL"}, {"IT", "ITA"}, {"JE", "JEY"}, {"JM", "JAM"}, {"JO", "JOR"}, {"JP", "JPN"},
    {"KE", "KEN"}, {"KG", "KGZ"}, {"KH", "KHM"}, {"KI", "KIR"}, {"KM", "COM"}, {"KN", "KNA"},
    {"KP", "PRK"}, {"KR", "KOR"}, {"KW", "KWT"}, {"KY", "CYM"}, {"KZ", "KAZ"}, {"LA", "LAO"},
    {"LB", "LBN"}, {"LC", "LCA"}, {"LI", "LIE"}, {"LK", "LKA"}, {"LR", "LBR"}, {"LS", "LSO"},
    {"LT", "LTU"}, {"LU", "LUX"}, {"LV", "LVA"}, {"LY", "LBY"}, {"MA", "MAR"}, {"MC", "MCO"},
    {"MD", "MDA"}, {"ME", "MNE"}, {"MF", "MAF"}, {"MG", "MDG"}, {"MH", "MHL"}, {"MK", "MKD"},
    {"ML", "MLI"}, {"MM", "MMR"}, {"MN", "MNG"}, {"MO", "MAC"}, {"MP", "MNP"}, {"MQ", "MTQ"},
    {"MR", "MRT"}, {"MS", "MSR"}, {"MT", "MLT"}, {"MU", "MUS"}, {"MV", "MDV"}, {"MW", "MWI"},
    {"MX", "MEX"}, {"MY", "MYS"}, {"MZ", "MOZ"}, {"NA", "NAM"}, {"NC", "NCL"}, {"NE", "NER"},
    {"NF", "NFK"}, {"NG", "NGA"}, {"NI", "NIC"}, {"NL", "NLD"}, {"NO", "NOR"}, {"NP", "NPL"},
    {"NR", "NRU"}, {"NU", "NIU"}, {"NZ", "NZL"}, {"OM", "OMN"}, {"PA", "PAN"}, {"PE", "PER"},
    {"PF", "PYF"}, {"PG", "PNG"}, {"PH", "PHL"}, {"PK", "PAK"}, {"PL", "POL"}, {"PM", "SPM"},
    {"PN", "PCN"}, {"PR", "PRI"}, {"PS", "PSE"}, {"PT", "PRT"}, {"PW", "PLW"}, {"PY", "PRY"},
    {"QA", "QAT"}, {"RE", "REU"}, {"RO", "ROU"}, {"RS", "SRB"}, {"RU", "RUS"}, {"RW", "RWA"},
    {"SA", "SAU"}, {"SB", "SLB"}, {"SC", "SYC"}, {"SD", "SDN"}, {"SE", "SWE"}, {"SG", "SGP"},
    {"SH", "SHN"}, {"SI", "SVN"}, {"SJ", "SJM"}, {"SK", "SVK"}, {"SL", "SLE"}, {"SM", "SMR"},
    {"SN", "SEN"}, {"SO", "SOM"}, {"SR", "SUR"}, {"SS", "SSD"}, {"ST", "STP"}, {"SV", "SLV"},
    {"SX", "SXM"}, {"SY", "SYR"}, {"SZ", "SWZ"}, {"TC", "TCA"}, {"TD", "TCD"}, {"TF", "ATF"},
    {"TG", "TGO"}, {"TH", "THA"}, {"TJ", "TJK"}, {"TK", "TKL"}, {"TL", "TLS"}, {"TM", "TKM"},
    {"TN", "TUN"}, {"TO", "TON"}, {"TR", "TUR"}, {"TT", "TTO"}, {"TV", "TUV"}, {"TW", "TWN"},
    {"TZ", "TZA"}, {"UA", "UKR"}, {"UG", "UGA"}, {"UM", "UMI"}, {"US", "USA"}, {"UY", "URY"},
    {"UZ", "UZB"}, {"VA", "VAT"}, {"VC", "VCT"}, {"VE", "VEN"}, {"VG", "VGB"}, {"VI", "VIR"},
    {"VN", "VNM"}, {"VU", "VUT"}, {"WF", "WLF"}, {"WS", "WSM"}, {"XK", "XKX"}, {"YE", "YEM"},
    {"YT", "MYT"}, {"ZA", "ZAF"}, {"ZM", "ZMB"}, {"ZW", "ZWE"},
};

static const country_entry countries_by_alpha3[] = {
    {"AW", "ABW"}, {"AF", "AFG"}, {"AO", "AGO"}, {"AI", "AIA"}, {"AX", "ALA"}, {"AL", "ALB"},
    {"AD", "AND"}, {"AE", "ARE"}, {"AR", "ARG"}, {"AM", "ARM"}, {"AS", "ASM"}, {"AQ", "ATA"},
    {"TF", "ATF"}, {"AG", "ATG"}, {"AU", "AUS"}, {"AT", "AUT"}, {"AZ", "AZE"}, {"BI", "BDI"},
    {"BE", "BEL"}, {"BJ", "BEN"}, {"BQ", "BES"}, {"BF", "BFA"}, {"BD", "BGD"}, {"BG", "BGR"},
    {"BH", "BHR"}, {"BS", "BHS"}, {"BA", "BIH"}, {"BL", "BLM"}, {"BY", "BLR"}, {"BZ", "BLZ"},
    {"BM", "BMU"}, {"BO", "BOL"}, {"BR", "BRA"}, {"BB", "BRB"}, {"BN", "BRN"}, {"BT", "BTN"},
    {"BV", "BVT"}, {"BW", "BWA"}, {"CF", "CAF"}, {"CA", "CAN"}, {"CC", "CCK"}, {"CH", "CHE"},
    {"CL", "CHL"}, {"CN", "CHN"}, {"CI", "CIV"}, {"CM", "CMR"}, {"CD", "COD"}, {"CG", "COG"},
    {"CK", "COK"}, {"CO", "COL"}, {"KM", "COM"}, {"CV", "CPV"}, {"CR", "CRI"}, {"CU", "CUB"},
    {"CW", "CUW"}, {"CX", "CXR"}, {"KY", "CYM"}, {"CY", "CYP"}, {"CZ", "CZE"}, {"DE", "DEU"},
    {"DJ", "DJI"}, {"DM", "DMA"}, {"DK", "DNK"}, {"DO", "DOM"}, {"DZ", "DZA"}, {"EC", "ECU"},
    {"EG", "EGY"}, {"ER", "ERI"}, {"EH", "ESH"}, {"ES", "ESP"}, {"EE", "EST"}, {"ET", "ETH"},
    {"FI", "FIN"}, {"FJ", "FJI"}, {"FK", "FLK"}, {"FR", "FRA"}, {"FO", "FRO"}, {"FM", "FSM"},
    {"GA", "GAB"}, {"GB", "GBR"}, {"GE", "GEO"}, {"GG", "GGY"}, {"GH", "GHA"}, {"GI", "GIB"},
    {"GN", "GIN"}, {"GP", "GLP"}, {"GM", "GMB"}, {"GW", "GNB"}, {"GQ", "GNQ"}, {"GR", "GRC"},
    {"GD", "GRD"}, {"GL", "GRL"}, {"GT", "GTM"}, {"GF", "GUF"}, {"GU", "GUM"}, {"GY", "GUY"},
    {"HK", "HKG"}, {"HM", "HMD"}, {"HN", "HND"}, {"HR", "HRV"}, {"HT", "HTI"}, {"HU", "HUN"},
    {"ID", "IDN"}, {"IM", "IMN"}, {"IN", "IND"}, {"IO", "IOT"}, {"IE", "IRL"}, {"IR", "IRN"},
    {"IQ", "IRQ"}, {"IS", "ISL"}, {"IL", "ISR"}, {"IT", "ITA"}, {"JM", "JAM"}, {"JE", "JEY"},
    {"JO", "JOR"}, {"JP", "JPN"}, {"KZ", "KAZ"}, {"KE", "KEN"}, {"KG", "KGZ"}, {"KH", "KHM"},
    {"KI", "KIR"}, {"KN", "KNA"}, {"KR", "KOR"}, {"KW", "KWT"}, {"LA", "LAO"}, {"LB", "LBN"},
    {"LR", "LBR"}, {"LY", "LBY"}, {"LC", "LCA"}, {"LI", "LIE"}, {"LK", "LKA"}, {"LS", "LSO"},
    {"LT", "LTU"}, {"LU", "LUX"}, {"LV", "LVA"}, {"MO", "MAC"}, {"MF", "MAF"}, {"MA", "MAR"},
    {"MC", "MCO"}, {"MD", "MDA"}, {"MG", "MDG"}, {"MV", "MDV"}, {"MX", "MEX"}, {"MH", "MHL"},
    {"MK", "MKD"}, {"ML", "MLI"}, {"MT", "MLT"}, {"MM", "MMR"}, {"ME", "MNE"}, {"MN", "MNG"},
    {"MP", "MNP"}, {"MZ", "MOZ"}, {"MR", "MRT"}, {"MS", "MSR"}, {"MQ", "MTQ"}, {"MU", "MUS"},
    {"MW", "MWI"}, {"MY", "MYS"}, {"YT", "MYT"}, {"NA", "NAM"}, {"NC", "NCL"}, {"NE", "NER"},
    {"NF", "NFK"}, {"NG", "NGA"}, {"NI", "NIC"}, {"NU", "NIU"}, {"NL", "NLD"}, {"NO", "NOR"},
    {"NP", "NPL"}, {"NR", "NRU"}, {"NZ", "NZL"}, {"OM", "OMN"}, {"PK", "PAK"}, {"PA", "PAN"},
    {"PN", "PCN"}, {"PE", "PER"}, {"PH", "PHL"}, {"PW", "PLW"}, {"PG", "PNG"}, {"PL", "POL"},
    {"PR", "PRI"}, {"KP", "PRK"}, {"PT", "PRT"}, {"PY", "PRY"}, {"PS", "PSE"}, {"PF", "PYF"},
    {"QA", "QAT"}, {"RE", "REU"}, {"RO", "ROU"}, {"RU", "RUS"}, {"RW", "RWA"}, {"SA", "SAU"},
    {"SD", "SDN"}, {"SN", "SEN"}, {"SG", "SGP"}, {"GS", "SGS"}, {"SH", "SHN"}, {"SJ", "SJM"},
    {"SB", "SLB"}, {"SL", "SLE"}, {"SV", "SLV"}, {"SM", "SMR"}, {"SO", "SOM"}, {"PM", "SPM"},
    {"RS", "SRB"}, {"SS", "SSD"}, {"ST", "STP"}, {"SR", "SUR"}, {"SK", "SVK"}, {"SI", "SVN"},
    {"SE", "SWE"}, {"SZ", "SWZ"}, {"SX", "SXM"}, {"SC", "SYC"}, {"SY", "SYR"}, {"TC", "TCA"},
    {"TD", "TCD"}, {"TG", "TGO"}, {"TH", "THA"}, {"TJ", "TJK"}, {"TK", "TKL"}, {"TM", "TKM"},
    {"TL", "TLS"}, {"TO", "TON"}, {"TT", "TTO"}, {"TN", "TUN"}, {"TR", "TUR"}, {"TV", "TUV"},
    {"TW", "TWN"}, {"TZ", "TZA"}, {"UG", "UGA"}, {"UA", "UKR"}, {"UM", "UMI"}, {"UY", "URY"},
    {"US", "USA"}, {"UZ", "UZB"}, {"VA", "VAT"}, {"VC", "VCT"}, {"VE", "VEN"}, {"VG", "VGB"},
    {"VI", "VIR"}, {"VN", "VNM"}, {"VU", "VUT"}, {"WF", "WLF"}, {"WS", "WSM"}, {"XK", "XKX"},
    {"YE", "YEM"}, {"ZA", "ZAF"}, {"ZM", "ZMB"}, {"ZW", "ZWE"},
};

size_t rp_data__country_count(void)
{
    return RP_ARRAY_LEN(countries_by_alpha2);
}

void rp_data__country_at(size_t i, const char **alpha2, const char **alpha3)
{
    *alpha2 = countries_by_alpha2[i].a2;
    *alpha3 = countries_by_alpha2[i].a3;
}

/* The letters of a code as one integer that sorts as the code: "AB" is 'A' << 8 | 'B'. */
static uint32_t code_value(const char *code, size_t len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = v << 8 | (unsigned char)code[i];
    return v;
}

/*
 * Index of the code whose value (code_value) is @p key in the sorted @p n entries,
 * comparing alpha-2 (by_a3 false) or alpha-3; -1 when absent. Integers, not strcmp:
 * the look-up runs for every country of every record read.
 */
static long country_search(const country_entry *tab, size_t n, uint32_t key, bool by_a3)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t v = by_a3 ? code_value(tab[mid].a3, 3) : code_value(tab[mid].a2, 2);
        if (v == key)
            return (long)mid;
        if (v < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int rp_country_normalise(char out[3], const char *code)
{
    if (!code)
        return RP_ENOTFOUND;
    char key[4] = "";
    size_t len = 0;
    for (; len < sizeof(key) && code[len]; len++) {
        unsigned char c = (unsigned char)code[len];
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z')
            return RP_ENOTFOUND;
        key[len] = (char)c;
    }
    if (len < 2 || len >= sizeof(key))
        return RP_ENOTFOUND;
    uint32_t v = code_value(key, len);
    const country_entry *hit = NULL;
    if (len == 2) {
        long i = country_search(countries_by_alpha2, RP_ARRAY_LEN(countries_by_alpha2), v, false);
        if (i >= 0)
            hit = &countries_by_alpha2[i];
    } else {
        long i = country_search(countries_by_alpha3, RP_ARRAY_LEN(countries_by_alpha3), v, true);
        if (i >= 0)
            hit = &countries_by_alpha3[i];
    }
    if (!hit)
        return RP_ENOTFOUND;
    memcpy(out, hit->a2, 3);
    return RP_OK;
}

/* ==== issues ==== */

int rp_issue_list_push(rp_issue_list *l, const rp_issue *issue)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        if (cap < l->cap)
            return RP_ENOMEM;
        rp_issue *v = rp_reallocarray(l->v, cap, sizeof(*v));
        if (!v)
            return RP_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *issue;
    return RP_OK;
}

void rp_issue_list_clear(rp_issue_list *l)
{
    if (l)
        l->n = 0;
}

void rp_issue_list_release(rp_issue_list *l)
{
    if (!l)
        return;
    rp_free(l->v);
    l->v = NULL;
    l->n = 0;
    l->cap = 0;
}

/*
 * Copy @p src into @p dst (@p size bytes) for display: cut at a UTF-8 character
 * boundary when it does not fit, control bytes replaced by '?'.
 */
static void copy_display(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size) {
        len = size - 1;
        /* Back off over continuation bytes so no character is cut in half. */
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = src[i];
        if (c < 0x20 || c == 0x7f)
            dst[i] = '?';
    }
    dst[len] = '\0';
}

int rp_data__issue_add(rp_issue_list *l,
                       long line,
                       long column,
                       const char *column_name,
                       const char *value,
                       const char *rule,
                       const char *fmt,
                       ...)
{
    rp_issue issue;
    memset(&issue, 0, sizeof(issue));
    issue.line = line;
    issue.column = column;
    copy_display(issue.column_name, sizeof(issue.column_name), column_name ? column_name : "");
    copy_display(issue.value, sizeof(issue.value), value ? value : "");
    rp_x_strlcpy(issue.rule, rule, sizeof(issue.rule));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(issue.message, sizeof(issue.message), fmt, ap);
    va_end(ap);
    if (n < 0)
        issue.message[0] = '\0';
    return rp_issue_list_push(l, &issue);
}

/* ==== dates ==== */

bool rp_data__is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int rp_data__days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && rp_data__is_leap_year(year))
        return 29;
    return days[month - 1];
}

/* Value of the @p n ASCII digits at @p s, or -1 if any is not a digit. */
static int digits_value(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool rp_data__date_is_valid(const char *s, int *year_out)
{
    if (!s)
        return false;
    size_t len = strnlen(s, 11);
    if (len != 7 && len != 10)
        return false;
    int year = digits_value(s, 4);
    if (year < RP_DATA_YEAR_MIN || year > RP_DATA_YEAR_MAX || s[4] != '-')
        return false;
    int month = digits_value(s + 5, 2);
    if (month < 1 || month > 12)
        return false;
    if (len == 10) {
        int day = digits_value(s + 8, 2);
        if (s[7] != '-' || day < 1 || day > rp_data__days_in_month(year, month))
            return false;
    }
    if (year_out)
        *year_out = year;
    return true;
}

/* ==== validation ==== */

void rp_case_record_init(rp_case_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->age = -1;
}

/*
 * The state of one validation: where issues go, how many were found, and whether an
 * allocation failed (after which nothing more is recorded, but counting goes on).
 */
typedef struct vstate {
    rp_issue_list *issues; /* NULL: only count */
    long line;
    size_t n_found;
    bool oom;
} vstate;

static void
report(vstate *vs, rp_field f, const char *value, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Record one broken rule about field @p f; @p value NULL for identifiers. */
static void
report(vstate *vs, rp_field f, const char *value, const char *rule, const char *fmt, ...)
{
    vs->n_found++;
    if (!vs->issues || vs->oom)
        return;
    char msg[sizeof(((rp_issue *)NULL)->message)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    if (rp_data__issue_add(vs->issues, vs->line, 0, fields[f].name, value, rule, "%s", msg) !=
        RP_OK)
        vs->oom = true;
}

/* "a, b, c" of a field's codes (without the "" of MISSING) into @p buf. */
static const char *codes_text(char *buf, size_t size, rp_field f)
{
    const char *const *codes = fields[f].codes;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; codes[i]; i++) {
        if (!codes[i][0])
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", codes[i]);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Mask of every bit a CODES field defines. */
static uint32_t field_mask(rp_field f)
{
    return (uint32_t)((1u << codes_len(fields[f].codes)) - 1u);
}

/* Rules for list, case_id and person_id: terminated, and bytes allowed. */
static void check_text(vstate *vs, rp_field f, const char *s, bool required, bool ascii_only)
{
    size_t len = strnlen(s, RP_DATA_ID_MAX);
    if (len == RP_DATA_ID_MAX) {
        report(vs, f, NULL, "text", "expected at most %d bytes", RP_DATA_ID_MAX - 1);
        return;
    }
    if (len == 0) {
        if (required)
            report(vs, f, NULL, "required", "expected a list (data source) code");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (ascii_only && c > 0x7e)) {
            report(vs, f, NULL, "text", "%s",
                   ascii_only ? "expected printable ASCII characters (0x20..0x7e)"
                              : "expected no control characters");
            return;
        }
    }
}

/* Rule for CODE fields: value within the code list. Returns true when in range. */
static bool check_code(vstate *vs, rp_field f, unsigned v)
{
    if (v < codes_len(fields[f].codes))
        return true;
    char value[24];
    char codes[160];
    snprintf(value, sizeof(value), "%u", v);
    report(vs, f, value, "code", "expected one of: %s, or missing",
           codes_text(codes, sizeof(codes), f));
    return false;
}

/* Rule for a field's rp_state. Returns true when the state is a defined value. */
static bool check_state(vstate *vs, rp_field f, rp_state st)
{
    if ((unsigned)st <= RP_STATE_KNOWN)
        return true;
    char value[24];
    snprintf(value, sizeof(value), "%u", (unsigned)st);
    report(vs, f, value, "code", "expected state missing, unknown or known");
    return false;
}

/* Rules for CODES fields: defined bits only, and bits only when the state is KNOWN. */
static void check_codes(vstate *vs, rp_field f, uint32_t bits, bool has_state, rp_state st)
{
    uint32_t extra = bits & ~field_mask(f);
    if (extra) {
        char value[24];
        char codes[400];
        snprintf(value, sizeof(value), "0x%x", (unsigned)bits);
        report(vs, f, value, "code", "expected only the codes %s",
               codes_text(codes, sizeof(codes), f));
    }
    if (has_state && check_state(vs, f, st) && bits && st != RP_STATE_KNOWN)
        report(vs, f, NULL, "consistency", "expected state known when codes are set");
}

/* Rules for a country field and its state. */
static void check_country(vstate *vs, rp_field f, const char code[3], rp_state st)
{
    if (!check_state(vs, f, st))
        return;
    if (code[2] != '\0') {
        report(vs, f, NULL, "country", "expected an ISO 3166-1 alpha-2 code (2 letters)");
        return;
    }
    if (st == RP_STATE_KNOWN) {
        char norm[3];
        if (rp_country_normalise(norm, code) != RP_OK || norm[0] != code[0] || norm[1] != code[1])
            report(vs, f, code, "country",
                   "expected an upper-case ISO 3166-1 alpha-2 code (or XK) when known");
    } else if (code[0]) {
        report(vs, f, code, "consistency", "expected no code when the state is missing or unknown");
    }
}

int rp_case_record_validate(const rp_case_record *rec,
                            long line,
                            rp_issue_list *issues,
                            rp_error *err)
{
    vstate vs = {issues, line, 0, false};
    char value[24];

    check_text(&vs, RP_FIELD_LIST, rec->list, true, true);
    check_text(&vs, RP_FIELD_CASE_ID, rec->case_id, false, false);
    check_text(&vs, RP_FIELD_PERSON_ID, rec->person_id, false, false);

    int year = rec->registration_year;
    if (year != 0 && (year < RP_DATA_YEAR_MIN || year > RP_DATA_YEAR_MAX)) {
        snprintf(value, sizeof(value), "%d", year);
        report(&vs, RP_FIELD_REGISTRATION_YEAR, value, "range",
               "expected a year %d..%d, or 0 when missing", RP_DATA_YEAR_MIN, RP_DATA_YEAR_MAX);
        year = 0; /* no consistency check against a bad year */
    }

    const char *date = rec->registration_date;
    if (memchr(date, '\0', sizeof(rec->registration_date)) == NULL) {
        report(&vs, RP_FIELD_REGISTRATION_DATE, NULL, "date",
               "expected a date YYYY-MM-DD or YYYY-MM (at most 10 bytes)");
    } else if (date[0]) {
        int date_year = 0;
        if (!rp_data__date_is_valid(date, &date_year))
            report(&vs, RP_FIELD_REGISTRATION_DATE, date, "date",
                   "expected a calendar date YYYY-MM-DD or YYYY-MM with year %d..%d",
                   RP_DATA_YEAR_MIN, RP_DATA_YEAR_MAX);
        else if (year != 0 && date_year != year)
            report(&vs, RP_FIELD_REGISTRATION_DATE, date, "consistency",
                   "expected the year of the date to equal registration_year %d", year);
    }

    check_code(&vs, RP_FIELD_ID_STATUS, (unsigned)rec->id_status);
    check_code(&vs, RP_FIELD_SEX, (unsigned)rec->sex);

    bool age_ok = rec->age == -1 || (rec->age >= 0 && rec->age <= RP_DATA_AGE_MAX);
    if (!age_ok) {
        snprintf(value, sizeof(value), "%d", rec->age);
        report(&vs, RP_FIELD_AGE, value, "range", "expected an age 0..%d, or -1 when missing",
               RP_DATA_AGE_MAX);
    }
    if (check_code(&vs, RP_FIELD_AGE_BAND, (unsigned)rec->age_band) && age_ok && rec->age >= 0) {
        rp_age_band want = rp_age_band_of(rec->age);
        if (rec->age_band != want)
            report(&vs, RP_FIELD_AGE_BAND, age_band_codes[rec->age_band], "consistency",
                   "expected age_band '%s', the band of the age", age_band_codes[want]);
    }
    /*
     * No rule ties majority_at_exploitation to age: the age is at registration, the
     * majority at the start of the exploitation, often years earlier, and often an
     * assessed status (docs/data-standard.md).
     */
    check_code(&vs, RP_FIELD_MAJORITY_AT_EXPLOITATION, (unsigned)rec->majority_at_exploitation);

    check_country(&vs, RP_FIELD_CITIZENSHIP, rec->citizenship, rec->citizenship_state);
    check_country(&vs, RP_FIELD_COUNTRY_OF_EXPLOITATION, rec->country_of_exploitation,
                  rec->country_of_exploitation_state);

    check_codes(&vs, RP_FIELD_EXPLOITATION, rec->exploitation, true, rec->exploitation_state);
    check_codes(&vs, RP_FIELD_SEXUAL_TYPES, rec->sexual_types, false, RP_STATE_MISSING);
    if (rec->sexual_types && !(rec->exploitation & RP_EXPL_SEXUAL))
        report(&vs, RP_FIELD_SEXUAL_TYPES, NULL, "consistency",
               "expected exploitation to include 'sexual' when sexual_types are set");
    /*
     * No rule ties labour_sectors to forced_labour: real registries record the sector of
     * work for other forms too (CTDC: 1,534 records, e.g. domestic work under sexual or
     * other exploitation), and quarantining them would lose real cases.
     */
    check_codes(&vs, RP_FIELD_LABOUR_SECTORS, rec->labour_sectors, false, RP_STATE_MISSING);
    check_codes(&vs, RP_FIELD_MEANS_OF_CONTROL, rec->means_of_control, true,
                rec->means_of_control_state);
    check_codes(&vs, RP_FIELD_RECRUITER_RELATION, rec->recruiter_relation, true,
                rec->recruiter_relation_state);

    if (vs.oom)
        return rp_error_set(err, RP_ENOMEM, "out of memory recording validation issues");
    if (vs.n_found > 0)
        return rp_error_set_at(err, RP_EDATA, "", line, 0,
                               "case record breaks %zu rule%s of the data standard", vs.n_found,
                               vs.n_found == 1 ? "" : "s");
    return RP_OK;
}
