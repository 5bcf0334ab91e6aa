/*
 * ICU transform rules of the name normaliser (included by src/encode/normalise.c only):
 * one canonical romanisation per script and, for Cyrillic, per language. Each runs on one
 * word that is already NFKC, case-folded and free of apostrophes, and ends in plain ASCII
 * letters; the spelling folds (norm_fold.c) then bring the other systems to the same key.
 * The Cyrillic, Greek and Armenian tables follow the simulator's (src/sim/translit.c).
 */
#ifndef RP_ENCODE_NORM_RULES_H
#define RP_ENCODE_NORM_RULES_H

/* Whatever is left: ICU's generic romanisation, then ASCII without marks. */
#define NORM_TO_ASCII " :: Any-Latin ; :: Latin-ASCII ; :: NFD ; [:M:] > ; :: NFC ;"

/*
 * Cyrillic letters of the other languages, so that a stray one is still romanised; each
 * rule set adds those it does not write itself (ICU rejects a rule that an earlier one
 * masks).
 */
#define NORM_X_RU   " ё > io ; ы > y ; э > e ;"
#define NORM_X_HARD " ъ > ;"
#define NORM_X_I    " і > i ;"
#define NORM_X_UK   " є > ie ; ї > i ; ґ > g ;"
#define NORM_X_BE   " ў > u ;"
#define NORM_X_SR   " ђ > d ; ћ > ch ; џ > dzh ; љ > lj ; њ > nj ; ј > j ; ѓ > gj ; ќ > kj ; ѕ > dz ;"

/*
 * Latin: the letters whose ASCII form would lose a sound class the folds need (č ć ç ch,
 * š ş ș sh, ž ż zh, ț ţ ts; Azerbaijani ə a), then ICU Latin-ASCII (ß ss, ø o, đ d, ł l,
 * þ th) and removal of the remaining marks. Any-Latin catches letters of other scripts
 * left in a mostly Latin word.
 */
static const char norm_latin[] = ":: NFC ; [čćĉçċ] > ch ; [šşșŝ] > sh ; [žż] > zh ; [țţ] > ts ;"
                                 " ə > a ;" NORM_TO_ASCII;

/*
 * Ukrainian, national system of Cabinet of Ministers resolution no. 55 of 27 January 2010
 * (passports): є ї й ю я are ye yi y yu ya at the start of a word and ie i i iu ia
 * elsewhere; зг is zgh; ь is not written.
 */
static const char norm_cyr_uk[] =
    ":: NFC ; $L = [[:L:][:M:]] ;"
    " зг > zgh ; а > a ; б > b ; в > v ; г > h ; ґ > g ; д > d ; е > e ;"
    " $L { є > ie ; є > ye ; ж > zh ; з > z ; и > y ; і > i ;"
    " $L { ї > i ; ї > yi ; $L { й > i ; й > y ;"
    " к > k ; л > l ; м > m ; н > n ; о > o ; п > p ; р > r ; с > s ; т > t ; у > u ;"
    " ф > f ; х > kh ; ц > ts ; ч > ch ; ш > sh ; щ > shch ; ь > ;"
    " $L { ю > iu ; ю > yu ; $L { я > ia ; я > ya ;" NORM_X_RU NORM_X_HARD NORM_X_BE NORM_X_SR
        NORM_TO_ASCII;

/*
 * Russian (and Cyrillic of an unknown language): ICAO Doc 9303 part 3, as in Russian
 * passports since 2013: е ё e, и й i, х kh, ц ts, щ shch, ъ ie, ы y, ь not written,
 * ю iu, я ia.
 */
static const char norm_cyr_ru[] =
    ":: NFC ;"
    " а > a ; б > b ; в > v ; г > g ; д > d ; е > e ; ё > e ; ж > zh ; з > z ; и > i ;"
    " й > i ; к > k ; л > l ; м > m ; н > n ; о > o ; п > p ; р > r ; с > s ; т > t ;"
    " у > u ; ф > f ; х > kh ; ц > ts ; ч > ch ; ш > sh ; щ > shch ; ъ > ie ; ы > y ;"
    " ь > ; э > e ; ю > iu ; я > ia ;" NORM_X_I NORM_X_UK NORM_X_BE NORM_X_SR NORM_TO_ASCII;

/*
 * Bulgarian, Streamlined System (2009 law, passports): х h, щ sht, ъ a, ь y, ю yu, я ya,
 * й y, and -ия at the end of a word ia.
 */
static const char norm_cyr_bg[] =
    ":: NFC ; ия } $ > ia ;"
    " а > a ; б > b ; в > v ; г > g ; д > d ; е > e ; ж > zh ; з > z ; и > i ; й > y ;"
    " к > k ; л > l ; м > m ; н > n ; о > o ; п > p ; р > r ; с > s ; т > t ; у > u ;"
    " ф > f ; х > h ; ц > ts ; ч > ch ; ш > sh ; щ > sht ; ъ > a ; ь > y ; ю > yu ; я > ya "
    ";" NORM_X_RU NORM_X_I NORM_X_UK NORM_X_BE NORM_X_SR NORM_TO_ASCII;

/*
 * Serbian and Macedonian: the official Latin alphabets (ђ đ, ћ ć, џ dž, љ lj, њ nj, ј j;
 * ѓ gj, ќ kj, ѕ dz) written as the Latin rules above write their letters, so that
 * Ђорђевић, Đorđević and Dordevic meet.
 */
static const char norm_cyr_sr[] =
    ":: NFC ;"
    " а > a ; б > b ; в > v ; г > g ; д > d ; ђ > d ; е > e ; ж > zh ; з > z ; и > i ;"
    " ј > j ; к > k ; л > l ; љ > lj ; м > m ; н > n ; њ > nj ; о > o ; п > p ; р > r ;"
    " с > s ; т > t ; ћ > ch ; у > u ; ф > f ; х > h ; ц > ts ; ч > ch ; џ > dzh ; ш > sh ;"
    " ѓ > gj ; ќ > kj ; ѕ > dz ; ь > ;" NORM_X_RU NORM_X_HARD NORM_X_I NORM_X_UK NORM_X_BE
        NORM_TO_ASCII;

/*
 * Belarusian, national system (2007, passports): г h, і i, ў u, ы y, х kh, е ё ю я ie io
 * iu ia after a consonant and ye yo yu ya elsewhere.
 */
static const char norm_cyr_be[] =
    ":: NFC ; $C = [бвгджзйклмнпрстфхцчшў] ;"
    " а > a ; б > b ; в > v ; г > h ; д > d ; $C { е > ie ; е > ye ; $C { ё > io ; ё > yo ;"
    " ж > zh ; з > z ; і > i ; й > y ; к > k ; л > l ; м > m ; н > n ; о > o ; п > p ;"
    " р > r ; с > s ; т > t ; у > u ; ў > u ; ф > f ; х > kh ; ц > ts ; ч > ch ; ш > sh ;"
    " ы > y ; ь > ; э > e ; $C { ю > iu ; ю > yu ; $C { я > ia ; я > ya ;" NORM_X_HARD NORM_X_UK
        NORM_X_SR NORM_TO_ASCII;

/*
 * Greek, ELOT 743 (Greek passports): η ι υ i i y, ου ou, αυ ευ ηυ av ev iv before a vowel
 * or voiced consonant and af ef if otherwise, γγ ng, γξ nx, γχ nch, γκ gk, μπ mp, ντ nt,
 * θ th, χ ch, ψ ps, ξ x; accents dropped (the input is case-folded, so ς is σ already).
 */
static const char norm_greek[] =
    ":: NFC ; :: NFD ; [\\u0301\\u0300\\u0342] > ; :: NFC ;"
    " $voiced = [αεηιουωϊϋβγδζλμνρ] ;"
    " αυ } $voiced > av ; αυ > af ; ευ } $voiced > ev ; ευ > ef ;"
    " ηυ } $voiced > iv ; ηυ > if ; ου > ou ;"
    " γγ > ng ; γξ > nx ; γχ > nch ; γκ > gk ; μπ > mp ; ντ > nt ;"
    " α > a ; β > v ; γ > g ; δ > d ; ε > e ; ζ > z ; η > i ; θ > th ; ι > i ; κ > k ;"
    " λ > l ; μ > m ; ν > n ; ξ > x ; ο > o ; π > p ; ρ > r ; σ > s ; ς > s ; τ > t ;"
    " υ > y ; φ > f ; χ > ch ; ψ > ps ; ω > o ; ϊ > i ; ϋ > y ;" NORM_TO_ASCII;

/* Georgian, national system (2002) as in passports: ICU's, ejective apostrophes dropped. */
static const char norm_georgian[] =
    ":: NFC ; :: Georgian-Latin ; [\\u02BC\\u2019\\u0027] > ;" NORM_TO_ASCII;

/*
 * Armenian, national transliteration (passports): ե ye and ո vo at the start of a word,
 * ու u, և ev, խ kh, ղ gh, ճ չ ch, ջ j, ծ ց ts, ձ dz, ժ zh, շ sh, ը y, aspirates plain.
 */
static const char norm_armenian[] =
    ":: NFC ; $L = [[:L:][:M:]] ;"
    " ու > u ; $L { ո > o ; ո > vo ; $L { ե > e ; ե > ye ; $L { և > ev ; և > yev ;"
    " ա > a ; բ > b ; գ > g ; դ > d ; զ > z ; է > e ; ը > y ; թ > t ; ժ > zh ; ի > i ;"
    " լ > l ; խ > kh ; ծ > ts ; կ > k ; հ > h ; ձ > dz ; ղ > gh ; ճ > ch ; մ > m ; յ > y ;"
    " ն > n ; շ > sh ; չ > ch ; պ > p ; ջ > j ; ռ > r ; ս > s ; վ > v ; տ > t ; ր > r ;"
    " ց > ts ; ւ > v ; փ > p ; ք > k ; օ > o ; ֆ > f ;" NORM_TO_ASCII;

/*
 * Arabic script (Arabic, Persian, Urdu): the letter variants written as one (alef with
 * hamza or madda, alef wasla: alef; taa marbuta: haa; alef maqsura, Persian yeh: yaa;
 * keheh: kaf), short-vowel marks, tatweel and hamza seats removed, then ICU Arabic-Latin.
 * Arabic script has no short vowels, so this is the consonant skeleton with long vowels
 * (محمد is "mhmd"): consistent between records in Arabic script, not the spelling people
 * use in Latin letters.
 */
static const char norm_arabic[] =
    ":: NFC ; [\\u0622\\u0623\\u0625\\u0671] > \\u0627 ; \\u0629 > \\u0647 ;"
    " [\\u0649\\u06CC] > \\u064A ; \\u06A9 > \\u0643 ; [\\u064B-\\u065F\\u0670\\u0640] > ;"
    " [\\u0621\\u0624\\u0626] > ; :: Arabic-Latin ;"
    " [\\u02BF\\u02BE\\u02BB\\u02BC\\u2018\\u2019\\u0027\\u00B7] > ;" NORM_TO_ASCII;

/*
 * Han: Hanyu Pinyin of names (ICU Han-Latin/Names reads surnames such as 单 Shan), tones
 * and the diaeresis of ü removed (吕 lu). normalise.c groups the syllables as passports do.
 */
static const char norm_han[] = ":: NFC ; :: Han-Latin/Names ;" NORM_TO_ASCII;

/* Every other script: ICU's generic romanisation. */
static const char norm_any[] = ":: NFC ;" NORM_TO_ASCII;

#endif
