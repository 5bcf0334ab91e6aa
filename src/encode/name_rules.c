/*
 * Naming conventions in the encoder (docs/encoding.md "Naming conventions"): in cultures
 * where one recording often drops part of a multi-word name (a Spanish maternal
 * surname, a Portuguese middle surname, an Arabic father's name), the words that are
 * dropped get fewer hash positions than the ones that are kept, so the Dice of the full
 * and the shortened name stays high by construction. A small table, one rule a culture;
 * and the culture of a citizenship (rp_enc_lang_of_citizenship), which says whose names
 * the rules apply to.
 */
#include "encode/encode_int.h"

#include <rapporteur/encode.h>

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Which word of a family name is core: the last, or none (any one may be dropped). */
typedef enum family_core { CORE_NONE, CORE_LAST } family_core;

/*
 * The conventions, after "A guide to names and naming practices" (UK Foreign and
 * Commonwealth Office, Home Office et al., 2006) and ICAO Doc 9303 Part 3 (the name of
 * the holder in machine readable travel documents: primary and secondary identifiers):
 *   - Spanish (and Catalan, Galician): given name(s), then the father's first surname,
 *     then the mother's first surname. A record with room for one surname mostly keeps
 *     the first ("Maria Garcia Lopez" -> "Maria Garcia"), but a system that takes the
 *     last word as the surname keeps the second ("Maria Lopez", Garcia taken for a
 *     middle name and dropped): either surname may be the one missing, so both are
 *     secondary and the first given name is the core of the name.
 *   - Portuguese: given name(s), the mother's surname(s), then the father's; the last
 *     surname is the one kept ("Joao Pereira da Silva" -> "Joao Silva").
 *   - Arabic: given name (ism), father's and grandfather's names (nasab), family or
 *     tribal name; forms keep the given and the last name and drop the chain in between
 *     ("Ahmed Mohamed Ali" -> "Ahmed Ali").
 * In all three the first given name is the one in use; later given names are dropped
 * as often as middle surnames.
 */
static const struct {
    char lang[3];
    family_core family;
    bool prefixes; /* Arabic: "abd", "abu", "umm" begin a given name of two words */
} conventions[] = {
    {"es", CORE_NONE, false}, {"ca", CORE_NONE, false}, {"gl", CORE_NONE, false},
    {"pt", CORE_LAST, false}, {"ar", CORE_LAST, true},
};

/*
 * Arabic given names of two words whose first is a prefix: Abd al-Rahman (servant of),
 * Abu Bakr (father of), Umm Kulthum (mother of). The normaliser writes Abdul Rahman,
 * Abdelrahman and Abd al-Rahman alike as "abd rahman" (and Abu Bakr as one word,
 * "abubakr"); the second word is the distinctive one, so both are core.
 */
static const char *const ar_prefixes[] = {"abd", "abu", "um", "umm"};

/* The convention of @p lang ("es", "es-MX", "es_MX"; any case); -1 when none. */
static int convention_of(const char *lang)
{
    if (!lang || !lang[0] || !lang[1] || (lang[2] && lang[2] != '-' && lang[2] != '_'))
        return -1;
    char a = (char)(lang[0] | 0x20);
    char b = (char)(lang[1] | 0x20);
    for (size_t i = 0; i < sizeof(conventions) / sizeof(conventions[0]); i++) {
        if (conventions[i].lang[0] == a && conventions[i].lang[1] == b)
            return (int)i;
    }
    return -1;
}

/* True when @p s has a word (a character other than a space). */
static bool has_word(const char *s)
{
    for (; s && *s; s++) {
        if (*s != ' ')
            return true;
    }
    return false;
}

/* True when the word of @p len bytes at @p w is one of the Arabic prefixes. */
static bool is_prefix(const char *w, size_t len)
{
    for (size_t i = 0; i < sizeof(ar_prefixes) / sizeof(ar_prefixes[0]); i++) {
        if (strlen(ar_prefixes[i]) == len && memcmp(ar_prefixes[i], w, len) == 0)
            return true;
    }
    return false;
}

/*
 * Split @p s into words as the encoder does (runs of bytes other than ' '); the number
 * of words (at most RP_ENC_NAME_WORDS_MAX) and, in *@p first_len, the first's length.
 */
static size_t count_words(const char *s, const char **first, size_t *first_len)
{
    size_t n = 0;
    *first = "";
    *first_len = 0;
    size_t i = 0;
    while (s[i]) {
        while (s[i] == ' ')
            i++;
        size_t start = i;
        while (s[i] && s[i] != ' ')
            i++;
        if (i == start)
            continue;
        if (n == 0) {
            *first = s + start;
            *first_len = i - start;
        }
        n++;
    }
    return n < RP_ENC_NAME_WORDS_MAX ? n : RP_ENC_NAME_WORDS_MAX;
}

bool rp_encode__name_word_ks(const rp_enc_schema *s,
                             const rp_enc_identifiers *id,
                             unsigned f,
                             rp_encode__word_ks *out)
{
    if (s->name_rules == 0 || (f != RP_ENC_GIVEN_NAME && f != RP_ENC_FAMILY_NAME))
        return false;
    int c = convention_of(id->lang);
    if (c < 0)
        return false;
    unsigned k = s->fields[f].k;
    unsigned ks = s->k_secondary < k ? s->k_secondary : k;
    const char *text = f == RP_ENC_GIVEN_NAME ? id->given : id->family;
    const char *first = NULL;
    size_t first_len = 0;
    size_t n = count_words(text ? text : "", &first, &first_len);
    /* the given name in use: the first word, or two after an Arabic prefix */
    size_t lead = conventions[c].prefixes && n > 1 && is_prefix(first, first_len) ? 2 : 1;
    /* without a given name the family field holds the whole name, given name first */
    bool given = s->fields[RP_ENC_GIVEN_NAME].used && has_word(id->given);
    bool lead_core = f == RP_ENC_GIVEN_NAME || !given;
    bool last_core = f == RP_ENC_FAMILY_NAME && conventions[c].family == CORE_LAST;
    out->n = n;
    for (size_t w = 0; w < n; w++) {
        bool core = (lead_core && w < lead) || (last_core && w == n - 1);
        out->k[w] = core ? k : ks;
    }
    return true;
}

/* ==== the naming culture of a citizenship ==== */

/*
 * ISO 3166-1 alpha-2 -> ISO 639-1: for each country, the language most of its citizens'
 * names are written in. rp_normalise_name() reads it to choose among the romanisations of
 * one script (Ukrainian, Russian, Bulgarian, Serbian and Macedonian Cyrillic) and the
 * order of a Chinese name; the encoder reads it for the naming conventions above
 * (Spanish, Portuguese, Arabic); the other entries (Greek, Georgian, Armenian, Farsi) say
 * what the letters of a native spelling already say. Countries whose names need none of
 * this are not listed. Part of rule set RP_ENC_NAME_RULES: an entry added, removed or
 * changed encodes the same record differently, so it takes a new rule set.
 */
static const char citizenship_langs[][2][3] = {
    {"UA", "uk"}, {"RU", "ru"}, {"BY", "ru"}, {"KZ", "ru"}, {"KG", "ru"}, {"GR", "el"},
    {"CY", "el"}, {"GE", "ka"}, {"AM", "hy"}, {"BG", "bg"}, {"RS", "sr"}, {"MK", "mk"},
    {"CN", "zh"}, {"SY", "ar"}, {"IQ", "ar"}, {"EG", "ar"}, {"MA", "ar"}, {"DZ", "ar"},
    {"TN", "ar"}, {"LY", "ar"}, {"SD", "ar"}, {"JO", "ar"}, {"LB", "ar"}, {"SA", "ar"},
    {"YE", "ar"}, {"KW", "ar"}, {"QA", "ar"}, {"AE", "ar"}, {"BH", "ar"}, {"OM", "ar"},
    {"PS", "ar"}, {"MR", "ar"}, {"IR", "fa"}, {"AF", "fa"}, {"ES", "es"}, {"MX", "es"},
    {"AR", "es"}, {"CO", "es"}, {"PE", "es"}, {"VE", "es"}, {"CL", "es"}, {"EC", "es"},
    {"GT", "es"}, {"CU", "es"}, {"BO", "es"}, {"DO", "es"}, {"HN", "es"}, {"PY", "es"},
    {"SV", "es"}, {"NI", "es"}, {"CR", "es"}, {"PA", "es"}, {"UY", "es"}, {"GQ", "es"},
    {"PT", "pt"}, {"BR", "pt"}, {"AO", "pt"}, {"MZ", "pt"}, {"CV", "pt"}, {"GW", "pt"},
    {"ST", "pt"}, {"TL", "pt"},
};

const char *rp_enc_lang_of_citizenship(const char *alpha2)
{
    /* two upper-case letters, as the data standard writes a citizenship */
    if (!alpha2 || alpha2[0] == '\0' || alpha2[1] == '\0' || alpha2[2] != '\0')
        return NULL;
    for (size_t i = 0; i < sizeof(citizenship_langs) / sizeof(citizenship_langs[0]); i++) {
        if (alpha2[0] == citizenship_langs[i][0][0] && alpha2[1] == citizenship_langs[i][0][1])
            return citizenship_langs[i][1];
    }
    return NULL;
}
