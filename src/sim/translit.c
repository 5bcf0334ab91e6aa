/*
 * Romanisation systems of the scenario simulator: per name locale, the systems agencies
 * use to write names in Latin letters (national passport systems, ICAO Doc 9303, BGN/PCGN,
 * German, French and Polish transcriptions, plain ASCII), as ICU transforms and our own
 * ICU rule sets, with a memo so that each distinct (locale, system, name) runs ICU once.
 */
#include "common/common_int.h"
#include "sim/sim_int.h"

#include <stdalign.h>
#include <stdint.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

/* ==== the systems ==== */

/*
 * Post-processing of the ICU result, in this order: F_JOIN drops spaces (the syllables
 * Han-Latin separates belong to one name part); F_TITLE writes it as a passport clerk does
 * (each word's first letter upper, the rest lower; a word starts after a space or hyphen);
 * F_ASCII keeps only ASCII letters, spaces, hyphens and, with F_APOS, apostrophes.
 */
#define F_ASCII 0x01u
#define F_APOS  0x02u
#define F_TITLE 0x04u
#define F_JOIN  0x08u

typedef struct sys_def {
    const char *rules; /* ICU transform rules (compound, "::" for ICU's own transforms) */
    unsigned flags;
} sys_def;

/* Apostrophes a Cyrillic name may carry: U+0027, U+02BC, U+2019, U+2018, U+0060. */
#define APOSTROPHES "[\\u0027\\u02BC\\u2019\\u2018\\u0060]"

/* Lower-case input, apostrophes gone; rules then see only lower-case letters. */
#define CYR_PRE ":: NFC ; " APOSTROPHES " > ; :: Any-Lower ; $L = [[:L:][:M:]] ; "

/* Leftovers (letters of another alphabet) through ICU's generic transforms, then ASCII. */
#define TO_ASCII " :: Any-Latin ; :: Latin-ASCII ;"

/*
 * Ukrainian, national system of Cabinet of Ministers resolution no. 55 of 27 January 2010
 * (passports): є ї й ю я are ye yi y yu ya at the start of a word and ie i i iu ia
 * elsewhere; зг is zgh; ь and the apostrophe are not written.
 */
static const char uk_kmu2010[] =
    CYR_PRE "зг > zgh ; а > a ; б > b ; в > v ; г > h ; ґ > g ; д > d ; е > e ;"
            "$L { є > ie ; є > ye ; ж > zh ; з > z ; и > y ; і > i ;"
            "$L { ї > i ; ї > yi ; $L { й > i ; й > y ;"
            "к > k ; л > l ; м > m ; н > n ; о > o ; п > p ; р > r ; с > s ; т > t ; у > u ;"
            "ф > f ; х > kh ; ц > ts ; ч > ch ; ш > sh ; щ > shch ; ь > ;"
            "$L { ю > iu ; ю > yu ; $L { я > ia ; я > ya ;"
            "ё > io ; ы > y ; э > e ; ъ > ;" TO_ASCII;

/*
 * ICAO Doc 9303 part 3, transliteration of Cyrillic characters (Russian passports since
 * 2013): е ё e, є ie, и і ї й i, х kh, ц ts, щ shch, ъ ie, ы y, ь not written, ю iu, я ia.
 */
static const char cyr_icao[] =
    CYR_PRE "а > a ; б > b ; в > v ; г > g ; ґ > g ; д > d ; е > e ; ё > e ; є > ie ; ж > zh ;"
            "з > z ; и > i ; і > i ; ї > i ; й > i ; к > k ; л > l ; м > m ; н > n ; о > o ;"
            "п > p ; р > r ; с > s ; т > t ; у > u ; ф > f ; х > kh ; ц > ts ; ч > ch ; ш > sh ;"
            "щ > shch ; ъ > ie ; ы > y ; ь > ; э > e ; ю > iu ; я > ia ;" TO_ASCII;

/* BGN/PCGN as ICU has it, with its marks (ʹ ʺ ·) and apostrophes taken out. */
static const char uk_bgn[] = ":: NFC ; [\\u0027\\u02BC] > \\u2019 ; :: Ukrainian-Latin/BGN ;"
                             "[\\u02B9\\u02BA\\u00B7\\u0027\\u02BC\\u2019] > ;" TO_ASCII;
static const char ru_bgn[] = ":: NFC ; :: Russian-Latin/BGN ;"
                             "[\\u02B9\\u02BA\\u00B7\\u0027\\u02BC\\u2019] > ;" TO_ASCII;

/*
 * German transcription (Duden) of Russian: в w, ж ш sch, з s, с s (ss between vowels),
 * ц z, ч tsch, щ schtsch, х ch, кс x, е je at the start and after a vowel, ё jo (o after
 * a sibilant), й i (j before a vowel), -ий -i, -ый -y, ю ju, я ja, ь before a vowel j.
 */
static const char ru_german[] = CYR_PRE
    "$V = [аеёиоуыэюяєії] ; $v = [aeiouy] ;"
    "ье > je ; ъе > je ; ьё > jo ; ъё > jo ; ьи > ji ; ью > ju ; ъю > ju ; ья > ja ; ъя > ja ;"
    "ьо > jo ; ь > ; ъ > ;"
    "ий > i ; ый > y ; йя > ja ;"
    "а > a ; б > b ; в > w ; г > g ; д > d ;"
    "$v { е > je ; $L { е > e ; е > je ; sch { ё > o ; ё > jo ;"
    "ж > sch ; з > s ; и > i ; й } $V > j ; й > i ; кс > x ; к > k ; л > l ; м > m ;"
    "н > n ; о > o ; п > p ; р > r ; $v { с } $V > ss ; с > s ; т > t ; у > u ; ф > f ;"
    "х > ch ; ц > z ; ч > tsch ; ш > sch ; щ > schtsch ; ы > y ; э > e ; ю > ju ; я > ja ;"
    "є > je ; і > i ; ї > ji ; ґ > g ;" TO_ASCII;

/* German transcription of Ukrainian: as Russian but г h, и y, й j, є je, ї ji, -ий -yj. */
static const char uk_german[] =
    CYR_PRE "$V = [аеєиіїоуюя] ; $v = [aeiouy] ;"
            "ьо > jo ; ь > ;"
            "а > a ; б > b ; в > w ; г > h ; ґ > g ; д > d ; е > e ; є > je ; ж > sch ; з > s ;"
            "и > y ; і > i ; ї > ji ; й > j ; кс > x ; к > k ; л > l ; м > m ; н > n ; о > o ;"
            "п > p ; р > r ; $v { с } $V > ss ; с > s ; т > t ; у > u ; ф > f ; х > ch ; ц > z ;"
            "ч > tsch ; ш > sch ; щ > schtsch ; ю > ju ; я > ja ;"
            "ё > jo ; ы > y ; э > e ; ъ > ;" TO_ASCII;

/*
 * French transcription of Russian: у ou, ш ch, ч tch, щ chtch, ж j, х kh, ю iou, я ia,
 * ё io, е ie after a vowel, г gu before е и ы э, с ss between vowels, -ий -i, й ï
 * (written i here, the diaeresis going with the other marks).
 */
static const char ru_french[] = CYR_PRE
    "$V = [аеёиоуыэюяєії] ; $v = [aeiouy] ;"
    "ье > ie ; ья > ia ; ью > iou ; ьё > io ; ьи > i ; ьо > io ; ь > ; ъ > ;"
    "ия > ia ; йя > ia ; ий > i ; ый > y ;"
    "а > a ; б > b ; в > v ; г } [еиыэ] > gu ; г > g ; д > d ;"
    "gu { е > e ; $v { е > ie ; е > e ; ch { ё > o ; j { ё > o ; ё > io ; ж > j ; з > z ; и > i ;"
    "й > i ; к > k ; л > l ; м > m ; н > n ; о > o ; п > p ; р > r ;"
    "$v { с } $V > ss ; с > s ; т > t ; у > ou ; ф > f ; х > kh ; ц > ts ; ч > tch ;"
    "ш > ch ; щ > chtch ; ы > y ; э > e ; ю > iou ; я > ia ;"
    "є > ie ; і > i ; ї > i ; ґ > g ;" TO_ASCII;

/*
 * Polish transcription of Ukrainian (Polish letters kept): ж ż, ч cz, ш sz, щ szcz, ц c,
 * х ch, в w, г h, и y, й j, л ł (l before a soft vowel or ь), нь сь зь ць ń ś ź ć,
 * є ю я ї je ju ja ji at the start, after a vowel or an apostrophe, ie iu ia i after a
 * consonant, e u a i after l.
 */
static const char uk_polish[] =
    ":: NFC ; :: Any-Lower ; $L = [[:L:][:M:]] ;"
    "$A = " APOSTROPHES " ; $v = [aeiouy] ;"
    "$A є > je ; $A ю > ju ; $A я > ja ; $A ї > ji ; $A > ;"
    "л } [ьієюяї] > l ; л > ł ; дзь > dź ; нь > ń ; сь > ś ; зь > ź ; ць > ć ; ь > ;"
    "l { є > e ; l { ю > u ; l { я > a ; l { ї > i ;"
    "$v { є > je ; $L { є > ie ; є > je ; $v { ю > ju ; $L { ю > iu ; ю > ju ;"
    "$v { я > ja ; $L { я > ia ; я > ja ; $v { ї > ji ; $L { ї > i ; ї > ji ;"
    "а > a ; б > b ; в > w ; г > h ; ґ > g ; д > d ; е > e ; ж > ż ; з > z ; и > y ;"
    "і > i ; й > j ; к > k ; м > m ; н > n ; о > o ; п > p ; р > r ; с > s ; т > t ;"
    "у > u ; ф > f ; х > ch ; ц > c ; ч > cz ; ш > sz ; щ > szcz ;"
    "ё > jo ; ы > y ; э > e ; ъ > ; :: Any-Latin ;";

/*
 * ELOT 743 (Greek passports): η ι υ as i i y, ου ou, αυ ευ ηυ av ev iv before a vowel or
 * voiced consonant and af ef if otherwise, γγ ng, γξ nx, γχ nch, γκ gk, μπ mp, ντ nt,
 * θ th, χ ch, ψ ps, ξ x; accents dropped, a diaeresis breaks a digraph (Ζαΐμης Zaimis).
 */
static const char el_elot743[] =
    ":: NFC ; :: Any-Lower ; :: NFD ; [\\u0301\\u0300\\u0342] > ; :: NFC ;"
    "$voiced = [αεηιουωϊϋβγδζλμνρ] ;"
    "αυ } $voiced > av ; αυ > af ; ευ } $voiced > ev ; ευ > ef ;"
    "ηυ } $voiced > iv ; ηυ > if ; ου > ou ;"
    "γγ > ng ; γξ > nx ; γχ > nch ; γκ > gk ; μπ > mp ; ντ > nt ;"
    "α > a ; β > v ; γ > g ; δ > d ; ε > e ; ζ > z ; η > i ; θ > th ; ι > i ; κ > k ;"
    "λ > l ; μ > m ; ν > n ; ξ > x ; ο > o ; π > p ; ρ > r ; σ > s ; ς > s ; τ > t ;"
    "υ > y ; φ > f ; χ > ch ; ψ > ps ; ω > o ; ϊ > i ; ϋ > y ;" TO_ASCII;

static const char el_bgn[] = ":: NFC ; :: Greek-Latin/BGN ;" TO_ASCII;

/* Georgian national system (2002), as in passports: ejective apostrophes not written. */
static const char ka_national[] =
    ":: NFC ; :: Georgian-Latin ; [\\u02BC\\u2019\\u0027] > ;" TO_ASCII;

/* BGN/PCGN 2009: the ejectives keep their apostrophe (ASCII). */
static const char ka_bgn[] =
    ":: NFC ; :: Georgian-Latin/BGN ; [\\u02BC\\u2019] > \\u0027 ;" TO_ASCII;

/*
 * Armenian national transliteration (passports): ե ye and ո vo at the start of a word,
 * ու u, և ev, խ kh, ղ gh, ճ չ ch, ջ j, ծ ց ts, ձ dz, ժ zh, շ sh, ը y, aspirates plain.
 */
static const char hy_national[] =
    ":: NFC ; :: Any-Lower ; $L = [[:L:][:M:]] ; [\\u055A\\u055B\\u055C\\u055E\\u0027\\u2019] > ;"
    "ու > u ; $L { ո > o ; ո > vo ; $L { ե > e ; ե > ye ; $L { և > ev ; և > yev ;"
    "ա > a ; բ > b ; գ > g ; դ > d ; զ > z ; է > e ; ը > y ; թ > t ; ժ > zh ; ի > i ;"
    "լ > l ; խ > kh ; ծ > ts ; կ > k ; հ > h ; ձ > dz ; ղ > gh ; ճ > ch ; մ > m ; յ > y ;"
    "ն > n ; շ > sh ; չ > ch ; պ > p ; ջ > j ; ռ > r ; ս > s ; վ > v ; տ > t ; ր > r ;"
    "ց > ts ; ւ > v ; փ > p ; ք > k ; օ > o ; ֆ > f ;" TO_ASCII;

static const char hy_bgn[] =
    ":: NFC ; :: Armenian-Latin/BGN ; [\\u02BC\\u2019\\u02BB\\u2018] > \\u0027 ;" TO_ASCII;

/*
 * Arabic script is written without short vowels, so these give the consonant skeleton
 * with long vowels (Muhammad is "Mhmd"): consistent, not the spelling people use.
 */
#define ARAB_MARKS " [\\u02BF\\u02BE\\u02BB\\u02BC\\u2018\\u2019\\u0027\\u00B7] > ;"
static const char ar_bgn[] =
    ":: NFC ; آ > ā ; :: Arabic-Latin/BGN ; :: Arabic-Latin ;" ARAB_MARKS TO_ASCII;
static const char fa_bgn[] =
    ":: NFC ; آ > ā ; :: Persian-Latin/BGN ; :: Arabic-Latin ;" ARAB_MARKS TO_ASCII;
static const char arab_icu[] = ":: NFC ; :: Arabic-Latin ;" ARAB_MARKS TO_ASCII;

/*
 * Hanyu Pinyin of names (ICU Han-Latin/Names reads surnames such as 单 Shan): passport
 * style without tones and with ü as yu (吕 Lyu), with tone marks, or ü typed as u (Lu).
 */
#define PINYIN_NOTONE ":: Han-Latin/Names ; :: NFD ; [\\u0304\\u0301\\u030C\\u0300] > ; :: NFC ;"
static const char zh_pinyin[] = PINYIN_NOTONE " ü > yu ; Ü > Yu ;" TO_ASCII;
static const char zh_pinyin_tones[] = ":: NFC ; :: Han-Latin/Names ; :: NFC ;";
static const char zh_pinyin_plain[] = PINYIN_NOTONE " ü > u ; Ü > U ;" TO_ASCII;

/* Latin-script locales: as written, or with the marks removed (ICU Latin-ASCII). */
static const char lat_native[] = ":: NFC ;";
static const char lat_ascii[] = ":: NFC ; :: Latin-ASCII ;";
/* Azerbaijani ə is a (Məmmədov Mammadov); Latin-ASCII leaves it. */
static const char az_ascii[] = ":: NFC ; ə > a ; Ə > A ; :: Latin-ASCII ;";
/* German umlauts and ß as the German (and ICAO MRZ) rule writes them. */
static const char de_ascii_de[] =
    ":: NFC ; ä > ae ; ö > oe ; ü > ue ; ß > ss ; ẞ > SS ;"
    "Ä } [:Lu:] > AE ; Ä > Ae ; Ö } [:Lu:] > OE ; Ö > Oe ; Ü } [:Lu:] > UE ; Ü > Ue ;"
    ":: Latin-ASCII ;";
/* Serbian đ as the traditional dj. */
static const char sr_ascii_dj[] = ":: NFC ; đ > dj ; Đ } [:Lu:] > DJ ; Đ > Dj ; :: Latin-ASCII ;";

#define NONLATIN    (F_ASCII | F_TITLE)
#define LATIN_ASCII (F_ASCII | F_APOS)

static const char *const ids_uk[] = {"kmu2010", "icao", "bgn", "german", "polish"};
static const sys_def defs_uk[] = {{uk_kmu2010, NONLATIN},
                                  {cyr_icao, NONLATIN},
                                  {uk_bgn, NONLATIN},
                                  {uk_german, NONLATIN},
                                  {uk_polish, F_TITLE}};
static const char *const ids_ru[] = {"icao", "bgn", "german", "french"};
static const sys_def defs_ru[] = {
    {cyr_icao, NONLATIN}, {ru_bgn, NONLATIN}, {ru_german, NONLATIN}, {ru_french, NONLATIN}};
static const char *const ids_el[] = {"elot743", "bgn"};
static const sys_def defs_el[] = {{el_elot743, NONLATIN}, {el_bgn, NONLATIN}};
static const char *const ids_national_bgn[] = {"national", "bgn"};
static const sys_def defs_ka[] = {{ka_national, NONLATIN}, {ka_bgn, NONLATIN | F_APOS}};
static const sys_def defs_hy[] = {{hy_national, NONLATIN}, {hy_bgn, NONLATIN | F_APOS}};
static const char *const ids_bgn_icu[] = {"bgn", "icu"};
static const sys_def defs_ar[] = {{ar_bgn, NONLATIN}, {arab_icu, NONLATIN}};
static const sys_def defs_fa[] = {{fa_bgn, NONLATIN}, {arab_icu, NONLATIN}};
static const char *const ids_zh[] = {"pinyin", "pinyin_tones", "pinyin_plain"};
static const sys_def defs_zh[] = {{zh_pinyin, NONLATIN | F_JOIN},
                                  {zh_pinyin_tones, F_TITLE | F_JOIN},
                                  {zh_pinyin_plain, NONLATIN | F_JOIN}};
static const char *const ids_latin[] = {"native", "ascii"};
static const sys_def defs_latin[] = {{lat_native, 0}, {lat_ascii, LATIN_ASCII}};
static const sys_def defs_az[] = {{lat_native, 0}, {az_ascii, LATIN_ASCII}};
static const char *const ids_de[] = {"native", "ascii", "ascii_de"};
static const sys_def defs_de[] = {
    {lat_native, 0}, {lat_ascii, LATIN_ASCII}, {de_ascii_de, LATIN_ASCII}};
static const char *const ids_sr[] = {"native", "ascii", "ascii_dj"};
static const sys_def defs_sr[] = {
    {lat_native, 0}, {lat_ascii, LATIN_ASCII}, {sr_ascii_dj, LATIN_ASCII}};

typedef struct loc_def {
    const char *locale;
    bool latin;
    const char *const *ids;
    const sys_def *defs;
    size_t n;
} loc_def;

#define LOC(code, latin, ids, defs)               \
    {                                             \
        code, latin, ids, defs, RP_ARRAY_LEN(ids) \
    }

static const loc_def locs[] = {
    LOC("uk", false, ids_uk, defs_uk),           LOC("ru", false, ids_ru, defs_ru),
    LOC("el", false, ids_el, defs_el),           LOC("ka_GE", false, ids_national_bgn, defs_ka),
    LOC("hy", false, ids_national_bgn, defs_hy), LOC("ar", false, ids_bgn_icu, defs_ar),
    LOC("fa", false, ids_bgn_icu, defs_fa),      LOC("zh_CN", false, ids_zh, defs_zh),
    LOC("ro", true, ids_latin, defs_latin),      LOC("ro_MD", true, ids_latin, defs_latin),
    LOC("sr_RS_latin", true, ids_sr, defs_sr),   LOC("pl", true, ids_latin, defs_latin),
    LOC("cs_CZ", true, ids_latin, defs_latin),   LOC("sk", true, ids_latin, defs_latin),
    LOC("hu", true, ids_latin, defs_latin),      LOC("lv", true, ids_latin, defs_latin),
    LOC("az", true, ids_latin, defs_az),         LOC("tr", true, ids_latin, defs_latin),
    LOC("vi", true, ids_latin, defs_latin),      LOC("en_NG", true, ids_latin, defs_latin),
    LOC("yo_NG", true, ids_latin, defs_latin),   LOC("de", true, ids_de, defs_de),
    LOC("fr", true, ids_latin, defs_latin),      LOC("it", true, ids_latin, defs_latin),
    LOC("es", true, ids_latin, defs_latin),      LOC("pt_BR", true, ids_latin, defs_latin),
    LOC("en_GB", true, ids_latin, defs_latin),   LOC("nl", true, ids_latin, defs_latin),
};

#define N_LOCS  RP_ARRAY_LEN(locs)
#define SYS_MAX 5 /* most systems of one locale */

static const loc_def *find_locale(const char *locale)
{
    for (size_t i = 0; locale && i < N_LOCS; i++) {
        if (strcmp(locs[i].locale, locale) == 0)
            return &locs[i];
    }
    return NULL;
}

size_t rp_sim__translit_systems(const char *locale, const char *const **ids)
{
    const loc_def *l = find_locale(locale);
    if (ids)
        *ids = l ? l->ids : NULL;
    return l ? l->n : 0;
}

bool rp_sim__locale_latin(const char *locale)
{
    const loc_def *l = find_locale(locale);
    return l && l->latin;
}

/* ==== the object: transliterators, memo, scratch space ==== */

typedef struct memo_entry {
    uint64_t h;      /* 0: empty slot (real hashes are made non-zero) */
    unsigned slot;   /* locale index * SYS_MAX + system index */
    const char *in;  /* in the arena */
    const char *out; /* in the arena */
} memo_entry;

#define TR_BLOCK ((size_t)256 * 1024) /* bytes of a memo arena block */

struct rp_sim_translit {
    UTransliterator *tr[N_LOCS * SYS_MAX]; /* opened on first use */
    memo_entry *memo;
    size_t memo_cap, memo_n; /* cap: a power of two, or 0 */
    rp_x_arena arena;        /* the memo's strings */
    UChar *u16;              /* scratch: the text being transformed */
    int32_t u16_cap;
    char *u8; /* scratch: the UTF-8 result */
    size_t u8_cap;
    /* the last (locale, system) asked for, to skip the table search */
    char last_locale[RP_SIM_CODE_MAX], last_system[RP_SIM_CODE_MAX];
    unsigned last_slot;
};

int rp_sim__translit_new(rp_sim_translit **out, rp_error *err)
{
    *out = NULL;
    rp_sim_translit *t = rp_calloc(1, sizeof(*t));
    if (!t)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    t->arena = (rp_x_arena)RP_X_ARENA_INIT(TR_BLOCK);
    *out = t;
    return RP_OK;
}

void rp_sim__translit_free(rp_sim_translit *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < RP_ARRAY_LEN(t->tr); i++) {
        if (t->tr[i])
            utrans_close(t->tr[i]);
    }
    rp_x_arena_release(&t->arena, false);
    rp_free(t->memo);
    rp_free(t->u16);
    rp_free(t->u8);
    rp_free(t);
}

static int memo_grow(rp_sim_translit *t)
{
    size_t cap = t->memo_cap ? t->memo_cap * 2 : 1024;
    memo_entry *m = rp_calloc(cap, sizeof(*m));
    if (!m)
        return RP_ENOMEM;
    for (size_t i = 0; i < t->memo_cap; i++) {
        if (!t->memo[i].h)
            continue;
        size_t j = (size_t)t->memo[i].h & (cap - 1);
        while (m[j].h)
            j = (j + 1) & (cap - 1);
        m[j] = t->memo[i];
    }
    rp_free(t->memo);
    t->memo = m;
    t->memo_cap = cap;
    return RP_OK;
}

/* ==== running ICU ==== */

static int icu_error(rp_error *err, const loc_def *l, size_t si, const char *what, UErrorCode st)
{
    int rc = rp_error_set(err, RP_EINTERNAL, "romanisation '%s' of locale '%s': %s: %s", l->ids[si],
                          l->locale, what, u_errorName(st));
    rp_x_error_sys(err, (int)st);
    return rc;
}

static int
open_system(rp_sim_translit *t, const loc_def *l, size_t si, unsigned slot, rp_error *err)
{
    int rc = RP_OK;
    UErrorCode st = U_ZERO_ERROR;
    UParseError pe;
    const char *rules = l->defs[si].rules;
    int32_t n16 = 0;
    UChar *r16 = NULL;
    UChar id[RP_SIM_CODE_MAX * 2 + 8];
    char id8[RP_SIM_CODE_MAX * 2 + 8];

    u_strFromUTF8(NULL, 0, &n16, rules, -1, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) {
        rc = icu_error(err, l, si, "rules to UTF-16", st);
        goto out;
    }
    st = U_ZERO_ERROR;
    r16 = rp_malloc(((size_t)n16 + 1) * sizeof(*r16));
    if (!r16) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    u_strFromUTF8(r16, n16 + 1, NULL, rules, -1, &st);
    if (U_FAILURE(st)) {
        rc = icu_error(err, l, si, "rules to UTF-16", st);
        goto out;
    }
    snprintf(id8, sizeof(id8), "rp-%s-%s", l->locale, l->ids[si]);
    u_strFromUTF8(id, (int32_t)RP_ARRAY_LEN(id), NULL, id8, -1, &st);
    if (U_FAILURE(st)) {
        rc = icu_error(err, l, si, "identifier", st);
        goto out;
    }
    t->tr[slot] = utrans_openU(id, -1, UTRANS_FORWARD, r16, n16, &pe, &st);
    if (U_FAILURE(st) || !t->tr[slot]) {
        t->tr[slot] = NULL;
        rc = rp_error_set(err, RP_EINTERNAL,
                          "romanisation '%s' of locale '%s': rules rejected at line %d, "
                          "offset %d: %s",
                          l->ids[si], l->locale, (int)pe.line, (int)pe.offset, u_errorName(st));
        rp_x_error_sys(err, (int)st);
        goto out;
    }
out:
    rp_free(r16);
    return rc;
}

static int u16_reserve(rp_sim_translit *t, int32_t need)
{
    if (need <= t->u16_cap)
        return RP_OK;
    int32_t cap = t->u16_cap ? t->u16_cap : 256;
    while (cap < need) {
        if (cap > INT32_MAX / 2)
            return RP_ENOMEM;
        cap *= 2;
    }
    UChar *p = rp_realloc(t->u16, (size_t)cap * sizeof(*p));
    if (!p)
        return RP_ENOMEM;
    t->u16 = p;
    t->u16_cap = cap;
    return RP_OK;
}

static bool is_word_sep(UChar c)
{
    return c == ' ' || c == '-' || c == 0x2010 || c == 0x2011;
}

/* F_JOIN and F_TITLE on t->u16[0..*n) (BMP letters; surrogates left alone). */
static void post_u16(rp_sim_translit *t, unsigned flags, int32_t *n)
{
    UChar *s = t->u16;
    int32_t m = 0;
    bool word_start = true;
    for (int32_t i = 0; i < *n; i++) {
        UChar c = s[i];
        if ((flags & F_JOIN) && c == ' ')
            continue;
        if ((flags & F_TITLE) && !U16_IS_SURROGATE(c)) {
            if (is_word_sep(c)) {
                word_start = true;
            } else if (u_isalpha(c)) {
                c = (UChar)(word_start ? u_toupper(c) : u_tolower(c));
                word_start = false;
            }
        }
        s[m++] = c;
    }
    *n = m;
}

/* F_ASCII on the UTF-8 text t->u8 (NUL-terminated), in place: keep ASCII letters,
 * single spaces, hyphens and (F_APOS) apostrophes. */
static void post_ascii(char *s, unsigned flags)
{
    size_t m = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
                    (c == '\'' && (flags & F_APOS));
        if (c == ' ' || c == '\t') {
            if (m > 0 && s[m - 1] != ' ')
                s[m++] = ' ';
            continue;
        }
        if (keep)
            s[m++] = c;
    }
    while (m > 0 && s[m - 1] == ' ')
        m--;
    s[m] = '\0';
}

static int run_icu(rp_sim_translit *t,
                   const loc_def *l,
                   size_t si,
                   unsigned slot,
                   const char *in,
                   size_t len,
                   rp_error *err)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t n16 = 0;
    if (len > (size_t)INT32_MAX / 16)
        return rp_error_set(err, RP_EINVAL, "name to romanise is too long");
    u_strFromUTF8(NULL, 0, &n16, in, (int32_t)len, &st);
    if (st == U_INVALID_CHAR_FOUND || st == U_ILLEGAL_CHAR_FOUND)
        return rp_error_set(err, RP_EINVAL, "name to romanise is not valid UTF-8");
    int32_t cap = 8 * n16 + 64;
    for (;;) {
        if (u16_reserve(t, cap) != RP_OK)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        st = U_ZERO_ERROR;
        u_strFromUTF8(t->u16, t->u16_cap, &n16, in, (int32_t)len, &st);
        if (U_FAILURE(st))
            return icu_error(err, l, si, "input to UTF-16", st);
        int32_t tlen = n16, limit = n16;
        utrans_transUChars(t->tr[slot], t->u16, &tlen, t->u16_cap, 0, &limit, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) {
            if (cap > INT32_MAX / 2)
                return icu_error(err, l, si, "transform", st);
            cap = t->u16_cap * 2;
            continue;
        }
        if (U_FAILURE(st))
            return icu_error(err, l, si, "transform", st);
        n16 = tlen;
        break;
    }
    unsigned flags = l->defs[si].flags;
    post_u16(t, flags, &n16);
    int32_t n8 = 0;
    st = U_ZERO_ERROR;
    u_strToUTF8(NULL, 0, &n8, t->u16, n16, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
        return icu_error(err, l, si, "result to UTF-8", st);
    if ((size_t)n8 + 1 > t->u8_cap) {
        char *p = rp_realloc(t->u8, (size_t)n8 + 1);
        if (!p)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        t->u8 = p;
        t->u8_cap = (size_t)n8 + 1;
    }
    st = U_ZERO_ERROR;
    u_strToUTF8(t->u8, (int32_t)t->u8_cap, NULL, t->u16, n16, &st);
    if (U_FAILURE(st))
        return icu_error(err, l, si, "result to UTF-8", st);
    if (flags & F_ASCII)
        post_ascii(t->u8, flags);
    return RP_OK;
}

/* ==== romanising ==== */

/* Slot of (locale, system), or an error. */
static int
find_slot(rp_sim_translit *t, const char *locale, const char *system, unsigned *slot, rp_error *err)
{
    if (t->last_locale[0] && strcmp(locale, t->last_locale) == 0 &&
        strcmp(system, t->last_system) == 0) {
        *slot = t->last_slot;
        return RP_OK;
    }
    const loc_def *l = find_locale(locale);
    if (!l)
        return rp_error_set(err, RP_EINVAL, "no romanisation for name locale '%s'", locale);
    for (size_t si = 0; si < l->n; si++) {
        if (strcmp(l->ids[si], system) == 0) {
            *slot = (unsigned)((size_t)(l - locs) * SYS_MAX + si);
            if (strlen(locale) < sizeof(t->last_locale) &&
                strlen(system) < sizeof(t->last_system)) {
                rp_x_strlcpy(t->last_locale, locale, sizeof(t->last_locale));
                rp_x_strlcpy(t->last_system, system, sizeof(t->last_system));
                t->last_slot = *slot;
            }
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_EINVAL, "name locale '%s' has no romanisation system '%s'", locale,
                        system);
}

int rp_sim__translit(rp_sim_translit *t,
                     const char *locale,
                     const char *system,
                     const char *in,
                     const char **out,
                     rp_error *err)
{
    *out = NULL;
    if (!locale || !system || !in)
        return rp_error_set(err, RP_EINVAL, "romanisation needs a locale, a system and a name");
    unsigned slot = 0;
    int rc = find_slot(t, locale, system, &slot, err);
    if (rc != RP_OK)
        return rc;

    size_t len = strlen(in);
    uint64_t h = rp_x_hash64(slot, in, len);
    if (t->memo_cap) {
        for (size_t j = (size_t)h & (t->memo_cap - 1); t->memo[j].h;
             j = (j + 1) & (t->memo_cap - 1)) {
            const memo_entry *e = &t->memo[j];
            if (e->h == h && e->slot == slot && strcmp(e->in, in) == 0) {
                *out = e->out;
                return RP_OK;
            }
        }
    }

    const loc_def *l = &locs[slot / SYS_MAX];
    size_t si = slot % SYS_MAX;
    if (!t->tr[slot]) {
        rc = open_system(t, l, si, slot, err);
        if (rc != RP_OK)
            return rc;
    }
    rc = run_icu(t, l, si, slot, in, len, err);
    if (rc != RP_OK)
        return rc;
    if (2 * (t->memo_n + 1) > t->memo_cap && memo_grow(t) != RP_OK)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    char *kin = rp_x_arena_strndup(&t->arena, in, len);
    char *kout = kin ? rp_x_arena_strndup(&t->arena, t->u8, strlen(t->u8)) : NULL;
    if (!kout)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    size_t j = (size_t)h & (t->memo_cap - 1);
    while (t->memo[j].h)
        j = (j + 1) & (t->memo_cap - 1);
    t->memo[j].h = h;
    t->memo[j].slot = slot;
    t->memo[j].in = kin;
    t->memo[j].out = kout;
    t->memo_n++;
    *out = kout;
    return RP_OK;
}
