/*
 * Privacy-preserving blocking keys (docs/encoding.md, "Blocking keys"): a phonetic code
 * for romanised names of many languages ("rp-phon v1"), keyed 64-bit hashes of phonetic
 * and date keys, and bit-sampling LSH bands on the CLK, so that the hub can form
 * candidate pairs without seeing a name or a date.
 */
#include "common/common_int.h"
#include "encode/encode_int.h"

#include <rapporteur/encode.h>

#include <sodium.h>

/* ==== phonetic code: rp-phon v1 ==== */

/*
 * A Soundex relative for the output of the normaliser (lower-case ASCII, transliterated):
 *
 *  1. Letter groups, longest match first:
 *       "tsch" "sch" "dzh" "dz" "sh" "zh" "ch" "cz" "sz" "ts" "tz" "zs"  -> S
 *       "ph" -> P    "th" -> T    "x" -> K then S
 *       "c" before e, i, y -> S, else K
 *     single letters:
 *       b p f v w -> P    d t -> T    g k q -> K    s z -> S
 *       l -> L    r -> R    m n -> N
 *       h -> K, but silent at the end of a word and after a vowel unless a vowel follows
 *       a e i o u y j -> vowels: no code
 *  2. A code equal to the previous one is dropped unless a vowel came between them
 *     (kk, ck, kh, gh give one K); the first letter is coded like the others (no kept
 *     initial: Yulia, Iulia, Julia and Catherine, Katherine must agree).
 *  3. At most 6 codes; "V" for a word of vowels only; "" for no letters.
 *
 * Why these classes: the common romanisations of one name differ inside them. Ukrainian
 * h stands for Russian g (Hryhorii, Grigorii: K R K R), German and Polish w for v
 * (Kowalczuk, Kovalchuk: K P L S K), j and y for the same glide (Juri, Yuri, Iurii: R),
 * and every spelling of the sibilants (Shevchenko, Schewtschenko, Szewczenko, Sevcenko:
 * S P S N K). m and n merge (Mykola, Nikolai: N K L) as in Soundex.
 */

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'j';
}

/*
 * Length of the sibilant group ("tsch", "sch", "dzh", "dz", "sh", "zh", "ch", "cz",
 * "sz", "ts", "tz", "zs") at @p s, of which @p avail bytes are readable; 0 if none.
 */
static size_t sibilant(const char *s, size_t avail)
{
    char a = s[0];
    char b = '\0';
    char c = '\0';
    char d = '\0';
    if (avail > 1)
        b = s[1];
    if (avail > 2)
        c = s[2];
    if (avail > 3)
        d = s[3];
    switch (a) {
    case 't':
        if (b == 's' && c == 'c' && d == 'h')
            return 4;
        return (b == 's' || b == 'z') ? 2 : 0;
    case 's':
        if (b == 'c' && c == 'h')
            return 3;
        return (b == 'h' || b == 'z') ? 2 : 0;
    case 'd':
        if (b == 'z' && c == 'h')
            return 3;
        return b == 'z' ? 2 : 0;
    case 'z':
        return (b == 'h' || b == 's') ? 2 : 0;
    case 'c':
        return (b == 'h' || b == 'z') ? 2 : 0;
    default:
        return 0;
    }
}

/* The code of a single letter @p c followed by @p next (0 at the end); 0 for none. */
static char letter_code(char c, char next)
{
    switch (c) {
    case 'b':
    case 'p':
    case 'f':
    case 'v':
    case 'w':
        return 'P';
    case 'd':
    case 't':
        return 'T';
    case 'g':
    case 'k':
    case 'q':
        return 'K';
    case 'c':
        return (next == 'e' || next == 'i' || next == 'y') ? 'S' : 'K';
    case 's':
    case 'z':
        return 'S';
    case 'l':
        return 'L';
    case 'r':
        return 'R';
    case 'm':
    case 'n':
        return 'N';
    default:
        return 0;
    }
}

/* What the letters at w[i..n) start with. */
typedef enum phon_kind { PH_CODE, PH_VOWEL, PH_SILENT } phon_kind;

/*
 * Read one letter group of @p w (@p n letters) at @p i: its kind, its codes (up to two)
 * into @p code and its length into *@p adv.
 */
static phon_kind phon_group(const char *w, size_t n, size_t i, char code[2], size_t *adv)
{
    const char *s = w + i;
    size_t avail = n - i;
    char c = s[0];
    char next = '\0';
    if (avail > 1)
        next = s[1];
    code[0] = code[1] = 0;
    *adv = sibilant(s, avail);
    if (*adv > 0) {
        code[0] = 'S';
        return PH_CODE;
    }
    *adv = 1;
    if ((c == 'p' || c == 't') && next == 'h') {
        code[0] = c == 'p' ? 'P' : 'T';
        *adv = 2;
        return PH_CODE;
    }
    if (is_vowel(c))
        return PH_VOWEL;
    if (c == 'x') {
        code[0] = 'K';
        code[1] = 'S';
        return PH_CODE;
    }
    if (c == 'h') {
        bool after_vowel = i > 0 && is_vowel(w[i - 1]);
        bool before_vowel = next && is_vowel(next);
        if (next == 0 || (after_vowel && !before_vowel))
            return PH_SILENT;
        code[0] = 'K';
        return PH_CODE;
    }
    code[0] = letter_code(c, next);
    return PH_CODE;
}

void rp_encode__phonetic(const char *word, size_t len, char out[RP_ENC_PHON_MAX])
{
    /* Keep the letters only. */
    char w[RP_NAME_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(w); i++) {
        if (word[i] >= 'a' && word[i] <= 'z')
            w[n++] = word[i];
    }
    size_t o = 0;
    char prev = 0; /* last code emitted since the last vowel; 0 after a vowel */
    for (size_t i = 0; i < n && o < 6;) {
        char code[2];
        size_t adv = 1;
        phon_kind kind = phon_group(w, n, i, code, &adv);
        i += adv;
        if (kind == PH_VOWEL)
            prev = 0;
        if (kind != PH_CODE)
            continue; /* a silent h does not reset prev */
        for (unsigned t = 0; t < 2 && code[t] && o < 6; t++) {
            if (code[t] != prev)
                out[o++] = code[t];
            prev = code[t];
        }
    }
    if (o == 0 && n > 0)
        out[o++] = 'V';
    out[o] = '\0';
}

/* ==== rule keys ==== */

/*
 * Name particles that never serve as a blocking word on their own ("van", "al", ...):
 * when a name has other words, they are skipped. Words of one letter (initials) too.
 */
static const char *const particles[] = {
    "ab",  "abu", "al",  "am",    "ap",  "bat", "ben", "bin", "bint", "da",  "dal", "das",
    "de",  "dei", "del", "della", "den", "der", "des", "di",  "do",   "dos", "du",  "el",
    "ibn", "la",  "le",  "lo",    "ter", "ten", "van", "ver", "von",  "zu",  "zum", "zur"};

static bool is_particle(const char *w, size_t len)
{
    if (len > 5)
        return false;
    for (size_t i = 0; i < RP_ARRAY_LEN(particles); i++) {
        if (particles[i][0] == w[0] && strncmp(particles[i], w, len) == 0 &&
            particles[i][len] == '\0')
            return true;
    }
    return false;
}

#define BLOCK_WORDS 2u

/*
 * Phonetic codes of up to BLOCK_WORDS blocking words of name @p s: words of two letters
 * or more that are not particles, in order, distinct codes; when there are none, the
 * first word with a code. @return the number of codes.
 */
static unsigned name_codes(const char *s, char codes[BLOCK_WORDS][RP_ENC_PHON_MAX])
{
    if (!s)
        return 0;
    unsigned n = 0;
    char fallback[RP_ENC_PHON_MAX] = "";
    size_t i = 0;
    while (s[i] && n < BLOCK_WORDS) {
        while (s[i] == ' ')
            i++;
        size_t start = i;
        while (s[i] && s[i] != ' ')
            i++;
        size_t len = i - start;
        if (len == 0)
            continue;
        char c[RP_ENC_PHON_MAX];
        rp_encode__phonetic(s + start, len, c);
        if (!c[0])
            continue;
        if (!fallback[0])
            memcpy(fallback, c, sizeof(c));
        if (len < 2 || is_particle(s + start, len))
            continue;
        bool dup = false;
        for (unsigned t = 0; t < n && !dup; t++)
            dup = strcmp(codes[t], c) == 0;
        if (!dup)
            memcpy(codes[n++], c, sizeof(c));
    }
    if (n == 0 && fallback[0])
        memcpy(codes[n++], fallback, sizeof(fallback));
    return n;
}

/* Two decimal digits of @p v (0..99) at @p out. */
static void two_digits(char *out, int v)
{
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

/* Keyed 64-bit hash (SipHash-2-4) of rule @p rule and NUL-separated parts. */
static uint64_t
rule_key(const rp_encode__block_keys *k, unsigned rule, const char *a, const char *b)
{
    unsigned char msg[2 + 2 * RP_ENC_PHON_MAX + 16];
    size_t n = 0;
    msg[n++] = (unsigned char)rule;
    size_t la = strlen(a);
    memcpy(msg + n, a, la);
    n += la;
    msg[n++] = 0;
    size_t lb = strlen(b);
    memcpy(msg + n, b, lb);
    n += lb;
    return rp_encode__sip64(k->rule_key, msg, n);
}

/* Keyed 64-bit hash of the document rule and a canonical document number (wiped). */
static uint64_t document_key(const rp_encode__block_keys *k, const char *doc)
{
    unsigned char msg[1 + 256];
    size_t ld = strnlen(doc, 256);
    msg[0] = (unsigned char)RP_BLOCK_DOCUMENT;
    memcpy(msg + 1, doc, ld);
    uint64_t h = rp_encode__sip64(k->rule_key, msg, 1 + ld);
    sodium_memzero(msg, 1 + ld);
    return h;
}

/* Bits pos[0..7] of @p clk as bits 0..7 of the result. */
static uint64_t gather8(const uint64_t *clk, const uint16_t *pos)
{
#define RP_BIT(t) (((clk[pos[t] >> 6] >> (pos[t] & 63u)) & 1u) << (t))
    return RP_BIT(0) | RP_BIT(1) | RP_BIT(2) | RP_BIT(3) | RP_BIT(4) | RP_BIT(5) | RP_BIT(6) |
           RP_BIT(7);
#undef RP_BIT
}

static void push(rp_enc_blocking *out, unsigned rule, uint64_t key)
{
    if (out->n >= RP_ENC_MAX_BLOCKING_KEYS)
        return;
    out->keys[out->n] = key;
    out->rule[out->n] = (uint8_t)rule;
    out->n++;
}

void rp_encode__blocking(const rp_encode__block_keys *k,
                         const rp_enc_identifiers *id,
                         const char *doc_canon,
                         const uint64_t *clk,
                         size_t words,
                         rp_enc_blocking *out)
{
    out->n = 0;
    char fam[BLOCK_WORDS][RP_ENC_PHON_MAX];
    char giv[BLOCK_WORDS][RP_ENC_PHON_MAX];
    unsigned nf = name_codes(id->family, fam);
    unsigned ng = name_codes(id->given, giv);
    const rp_birth_date *b = &id->birth;

    if (b->year) {
        char y[5];
        two_digits(y, b->year / 100);
        two_digits(y + 2, b->year % 100);
        y[4] = '\0';
        for (unsigned i = 0; i < nf; i++)
            push(out, RP_BLOCK_FAMILY_PHONETIC_YEAR,
                 rule_key(k, RP_BLOCK_FAMILY_PHONETIC_YEAR, fam[i], y));
    }
    if (b->month && b->day) {
        int lo = b->month < b->day ? b->month : b->day;
        int hi = b->month < b->day ? b->day : b->month;
        char md[6];
        two_digits(md, lo);
        md[2] = '-';
        two_digits(md + 3, hi);
        md[5] = '\0';
        for (unsigned i = 0; i < ng; i++)
            push(out, RP_BLOCK_GIVEN_PHONETIC_DATE,
                 rule_key(k, RP_BLOCK_GIVEN_PHONETIC_DATE, giv[i], md));
    }
    if (nf && ng) {
        bool fam_first = strcmp(fam[0], giv[0]) <= 0;
        push(out, RP_BLOCK_NAMES_PHONETIC,
             rule_key(k, RP_BLOCK_NAMES_PHONETIC, fam_first ? fam[0] : giv[0],
                      fam_first ? giv[0] : fam[0]));
    }

    /*
     * LSH: band id and the band's sampled bits, packed little-endian. Positions were
     * drawn below the CLK's bit count at creation. Eight bits are gathered at a time
     * with constant shifts; a message of up to 7 bytes (16 rows: 4) is hashed as one
     * number, without building it in memory.
     */
    if (RP_NEVER(k->lsh_bands > 0 && words * 64u < k->lsh_bits))
        return;
    size_t nb = (k->lsh_rows + 7u) / 8u;
    _Static_assert(RP_ENC_BANDS_MAX <= 255, "the band number is packed into one byte");
    for (unsigned band = 0; band < k->lsh_bands; band++) {
        const uint16_t *pos = k->lsh_pos + (size_t)band * k->lsh_rows;
        uint64_t bits = 0;
        unsigned r = 0;
        for (; r + 8 <= k->lsh_rows; r += 8)
            bits |= gather8(clk, pos + r) << r;
        for (; r < k->lsh_rows; r++)
            bits |= ((clk[pos[r] >> 6] >> (pos[r] & 63u)) & 1u) << r;
        if (2 + nb <= 7) {
            uint64_t m = (uint64_t)RP_BLOCK_LSH | (uint64_t)band << 8 | bits << 16;
            push(out, RP_BLOCK_LSH, rp_encode__sip64_short(k->rule_key, m, 2 + nb));
            continue;
        }
        unsigned char msg[2 + RP_ENC_ROWS_MAX / 8];
        msg[0] = RP_BLOCK_LSH;
        msg[1] = (unsigned char)band;
        for (size_t t = 0; t < nb; t++)
            msg[2 + t] = (unsigned char)(bits >> (8u * t));
        push(out, RP_BLOCK_LSH, rp_encode__sip64(k->rule_key, msg, 2 + nb));
    }
    /* the document number, exactly: short numbers would make large blocks */
    if (doc_canon != NULL && strnlen(doc_canon, 5) >= 5)
        push(out, RP_BLOCK_DOCUMENT, document_key(k, doc_canon));
}
