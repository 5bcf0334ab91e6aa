/*
 * Name lists of the scenario simulator: data/names/<locale>.csv (given, family,
 * patronymic and middle names by sex, see data/names/README.md) loaded into draw pools,
 * and drawing one person's name in native script with the customs of the locale: female
 * family-name forms and their masculine counterparts, patronymics, middle and second given
 * names, two family names in Spanish, family-name-first order.
 */
#include "common/common_int.h"
#include "sim/sim_int.h"

#include <stdalign.h>
#include <stdint.h>

/*
 * Every string and pool array of an rp_sim_names lives in one arena of 64 KiB blocks
 * (rp_x_arena), so that the object frees in a few calls and drawing returns stable
 * borrowed pointers.
 */
#define ARENA_BLOCK ((size_t)64 * 1024)

/* ==== string set ==== */

/* Open-addressing set of (tag, string) for duplicate checks and form look-ups. */
typedef struct sset_entry {
    const char *s; /* NULL: empty slot */
    uint64_t h;
    unsigned tag;
} sset_entry;

typedef struct sset {
    sset_entry *e;
    size_t cap, n; /* cap is a power of two */
} sset;

static int sset_grow(sset *st)
{
    size_t cap = st->cap ? st->cap * 2 : 256;
    sset_entry *e = rp_calloc(cap, sizeof(*e));
    if (!e)
        return RP_ENOMEM;
    for (size_t i = 0; i < st->cap; i++) {
        if (!st->e[i].s)
            continue;
        size_t j = (size_t)st->e[i].h & (cap - 1);
        while (e[j].s)
            j = (j + 1) & (cap - 1);
        e[j] = st->e[i];
    }
    rp_free(st->e);
    st->e = e;
    st->cap = cap;
    return RP_OK;
}

/* The stored string equal to s[0..n) under @p tag, or NULL. */
static const char *sset_find(const sset *st, unsigned tag, const char *s, size_t n)
{
    if (st->n == 0)
        return NULL;
    uint64_t h = rp_x_hash64(tag, s, n);
    for (size_t j = (size_t)h & (st->cap - 1); st->e[j].s; j = (j + 1) & (st->cap - 1)) {
        const sset_entry *x = &st->e[j];
        if (x->h == h && x->tag == tag && strncmp(x->s, s, n) == 0 && x->s[n] == '\0')
            return x->s;
    }
    return NULL;
}

/* Add @p s (kept, not copied) unless present. @return RP_OK; RP_ENOMEM. */
static int sset_add(sset *st, unsigned tag, const char *s)
{
    if (2 * (st->n + 1) > st->cap && sset_grow(st) != RP_OK)
        return RP_ENOMEM;
    uint64_t h = rp_x_hash64(tag, s, strlen(s));
    size_t j = (size_t)h & (st->cap - 1);
    while (st->e[j].s)
        j = (j + 1) & (st->cap - 1);
    st->e[j].s = s;
    st->e[j].h = h;
    st->e[j].tag = tag;
    st->n++;
    return RP_OK;
}

static void sset_release(sset *st)
{
    rp_free(st->e);
    st->e = NULL;
    st->cap = st->n = 0;
}

/* ==== locales and their customs ==== */

enum { SX_FEMALE = 0, SX_MALE = 1, SX_ANY = 2, SX_COUNT };

enum { K_GIVEN = 0, K_FAMILY, K_PATRONYMIC, K_MIDDLE, K_COUNT };

/* How a locale forms women's family names (masculine_cands(), masculine_rule(), feminine_of()). */
typedef enum infl {
    INFL_NONE = 0,
    INFL_EAST_SLAVIC, /* ru, uk: Абрамова / Абрамов, Балицька / Балицький (sex lists) */
    INFL_CZSK, /* cs_CZ, sk: Nováková / Novák, Černá / Černý (sex lists) */
    INFL_LV,   /* lv: Bērziņa / Bērziņš, Balode / Balodis (sex lists) */
    INFL_AZ,   /* az: Məmmədova / Məmmədov (sex lists) */
    INFL_PL,   /* pl: one list of masculine forms; Kowalski -> Kowalska derived */
    INFL_EL /* el: one mixed list; Παπαδόπουλος -> Παπαδοπούλου derived */
} infl;

#define C_FAMILY_FIRST 0x01u /* family name written first (hu, vi, zh_CN) */
#define C_NO_SPACE     0x02u /* no space in the native full name (zh_CN) */
#define C_TWO_FAMILY   0x04u /* paternal and maternal family names (es) */
#define C_MIDDLE       0x08u /* a middle name from the "middle" list (en_GB) */
#define C_SECOND_GIVEN 0x10u /* a second given name from the given list (en_NG, yo_NG) */

static const struct {
    const char *locale;
    unsigned custom;
    infl inflection;
} customs[] = {
    {"uk", 0, INFL_EAST_SLAVIC},
    {"ru", 0, INFL_EAST_SLAVIC},
    {"cs_CZ", 0, INFL_CZSK},
    {"sk", 0, INFL_CZSK},
    {"lv", 0, INFL_LV},
    {"az", 0, INFL_AZ},
    {"pl", 0, INFL_PL},
    {"el", 0, INFL_EL},
    {"hu", C_FAMILY_FIRST, INFL_NONE},
    {"vi", C_FAMILY_FIRST, INFL_NONE},
    {"zh_CN", C_FAMILY_FIRST | C_NO_SPACE, INFL_NONE},
    {"es", C_TWO_FAMILY, INFL_NONE},
    {"en_GB", C_MIDDLE, INFL_NONE},
    {"en_NG", C_SECOND_GIVEN, INFL_NONE},
    {"yo_NG", C_SECOND_GIVEN, INFL_NONE},
};

/* A draw pool: names, and for family names the masculine form of each. */
typedef struct pool {
    const char **name;
    const char **masc; /* family pools only; masc[i] == name[i] when not inflected */
    size_t n, cap;
} pool;

typedef struct nm_locale {
    char code[RP_SIM_CODE_MAX];
    unsigned custom;
    pool given[2]; /* [SX_FEMALE], [SX_MALE]: the sex's list with the "any" list */
    pool family[2];
    pool patronymic[2];
    pool middle[2];
} nm_locale;

struct rp_sim_names {
    rp_x_arena arena;
    nm_locale *loc;
    size_t n;
};

/* ==== reading the CSV ==== */

/* A growing array of borrowed strings. */
typedef struct cvec {
    const char **v;
    size_t n, cap;
} cvec;

static int cvec_push(cvec *c, const char *s)
{
    if (rp_x_grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v)) != RP_OK)
        return RP_ENOMEM;
    c->v[c->n++] = s;
    return RP_OK;
}

/* Bytes of the space-like character at s[0..n) to trim, or 0: ASCII space and tab,
 * no-break space, zero-width space, ZWNJ, ZWJ, BOM. */
static size_t trim_len_front(const unsigned char *s, size_t n)
{
    if (n >= 1 && (s[0] == ' ' || s[0] == '\t'))
        return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] >= 0x8B && s[2] <= 0x8D)
        return 3;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return 3;
    return 0;
}

static size_t trim_len_back(const unsigned char *s, size_t n)
{
    if (n >= 1 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        return 1;
    if (n >= 2 && trim_len_front(s + n - 2, 2) == 2)
        return 2;
    if (n >= 3 && trim_len_front(s + n - 3, 3) == 3)
        return 3;
    return 0;
}

typedef enum clean_result {
    CLEAN_OK,
    CLEAN_DROP,
    CLEAN_EMPTY,
    CLEAN_CONTROL,
    CLEAN_UTF8
} clean_result;

/*
 * Clean a value in place (README "Known quirks"): trim spaces, ZWNJ and similar at both
 * ends (fa "مهرزاده \u200c"), and drop a value that holds a C1 control character, the mark of
 * UTF-8 read as Latin-1 (nl "Ã\u0096mer").
 */
static clean_result clean_value(char **s, size_t *n)
{
    const unsigned char *u = (const unsigned char *)*s;
    size_t len = *n;
    if (rp_x_utf8_check(u, len) != len)
        return CLEAN_UTF8;
    for (size_t k = trim_len_front(u, len); k > 0; k = trim_len_front(u, len)) {
        u += k;
        len -= k;
    }
    for (size_t k = trim_len_back(u, len); k > 0; k = trim_len_back(u, len))
        len -= k;
    if (len == 0)
        return CLEAN_EMPTY;
    for (size_t i = 0; i < len; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F)
            return CLEAN_CONTROL;
        if (u[i] == 0xC2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
            return CLEAN_DROP;
    }
    *s += u - (const unsigned char *)*s;
    *n = len;
    return CLEAN_OK;
}

/*
 * One CSV field at *pp (RFC 4180: quoted with "" for a quote, which may span lines) into
 * @p val. On return *pp is at the byte after the field. *line counts newlines inside
 * quotes. @return 0; -1 (unterminated quote or text after the closing quote).
 */
static int csv_field(const char **pp, const char *end, rp_x_buf *val, long *line, const char **ls)
{
    const char *p = *pp;
    rp_x_buf_reset(val);
    rp_x_buf_puts(val, "");
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end)
                return -1;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    rp_x_buf_putc(val, '"');
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            if (*p == '\n') {
                (*line)++;
                *ls = p + 1;
            }
            rp_x_buf_putc(val, *p);
            p++;
        }
        *pp = p;
        if (p < end && *p != ',' && *p != '\n' && *p != '\r')
            return -1;
        return 0;
    }
    const char *q = p;
    while (q < end && *q != ',' && *q != '\n' && *q != '\r')
        q++;
    rp_x_buf_append(val, p, (size_t)(q - p));
    *pp = q;
    return 0;
}

static int find_word(const char *const *words, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(words[i], s) == 0)
            return (int)i;
    }
    return -1;
}

/* ==== women's family names ==== */

#define FORM_MAX 256 /* longest name (bytes) whose forms are derived */

/* Candidates, at most CAND_MAX, each a NUL-terminated string. */
#define CAND_MAX 10

typedef struct cands {
    char s[CAND_MAX][FORM_MAX];
    size_t n;
} cands;

static bool ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* Add stem s[0..stem) followed by @p a and @p b (either may be ""). */
static void cand_add(cands *c, const char *s, size_t stem, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (c->n >= CAND_MAX || stem + la + lb + 1 > FORM_MAX)
        return;
    char *d = c->s[c->n++];
    memcpy(d, s, stem);
    memcpy(d + stem, a, la);
    memcpy(d + stem + la, b, lb);
    d[stem + la + lb] = '\0';
}

/* Start of the last UTF-8 character of s[0..n) (n > 0). */
static size_t last_char(const char *s, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/*
 * Czech and Slovak drop a mobile e before the suffix (Adamec -> Adamcová, Marek ->
 * Marková, Staněk -> Staňková): put it back before the last letter of @p stem, with ň ť ď
 * spelled n t d before ě.
 */
static void cand_mobile_e(cands *c, const char *s, size_t stem)
{
    static const struct {
        const char *soft;
        char hard;
    } soft[] = {{"ň", 'n'}, {"ť", 't'}, {"ď", 'd'}};

    if (stem < 2)
        return;
    size_t last = last_char(s, stem);
    if (last == 0 || stem - last >= 8)
        return;
    size_t prev = last_char(s, last);
    char tail[8];
    memcpy(tail, s + last, stem - last);
    tail[stem - last] = '\0';
    for (size_t i = 0; i < RP_ARRAY_LEN(soft); i++) {
        size_t k = strlen(soft[i].soft);
        if (last - prev == k && memcmp(s + prev, soft[i].soft, k) == 0) {
            char buf[FORM_MAX];
            memcpy(buf, s, prev);
            buf[prev] = soft[i].hard;
            cand_add(c, buf, prev + 1, "ě", tail);
            return;
        }
    }
    cand_add(c, s, last, "e", tail);
    cand_add(c, s, last, "ě", tail); /* a list spelling Danková for Daněk */
}

/*
 * Masculine forms a woman's family name @p f could come from, most likely first; the
 * caller keeps the first that its lists hold.
 */
static void masculine_cands(infl how, const char *f, cands *c)
{
    size_t n = strlen(f);
    c->n = 0;
    if (n + 8 > FORM_MAX)
        return;
    switch (how) {
    case INFL_EAST_SLAVIC:
        if (ends_with(f, n, "ая")) {
            size_t st = n - strlen("ая");
            cand_add(c, f, st, "ий", "");
            cand_add(c, f, st, "ый", "");
            cand_add(c, f, st, "ой", "");
        } else if (ends_with(f, n, "а")) {
            size_t st = n - strlen("а");
            cand_add(c, f, st, "", "");
            cand_add(c, f, st, "ий", "");
            cand_add(c, f, st, "ой", "");
            cand_add(c, f, st, "ый", "");
        } else if (ends_with(f, n, "я")) {
            size_t st = n - strlen("я");
            cand_add(c, f, st, "ій", "");
            cand_add(c, f, st, "ий", "");
        }
        break;
    case INFL_CZSK:
        if (ends_with(f, n, "ová")) {
            size_t st = n - strlen("ová");
            cand_add(c, f, st, "", "");
            cand_mobile_e(c, f, st);
            cand_add(c, f, st, "a", "");
            cand_add(c, f, st, "o", "");
            cand_add(c, f, st, "e", "");
            cand_add(c, f, st, "ový", "");
            cand_add(c, f, st, "í", "");
        } else if (ends_with(f, n, "á")) {
            size_t st = n - strlen("á");
            cand_add(c, f, st, "ý", "");
            cand_add(c, f, st, "y", "");
        }
        break;
    case INFL_LV:
        if (ends_with(f, n, "a")) {
            size_t st = n - 1;
            cand_add(c, f, st, "s", "");
            cand_add(c, f, st, "š", "");
            cand_add(c, f, st, "is", "");
            cand_add(c, f, st, "us", "");
        } else if (ends_with(f, n, "e")) {
            size_t st = n - 1;
            cand_add(c, f, st, "is", "");
            cand_add(c, f, st, "s", "");
            if (ends_with(f, st, "c"))
                cand_add(c, f, st - 1, "ks", "");
            if (ends_with(f, st, "dz"))
                cand_add(c, f, st - 2, "gs", "");
        }
        break;
    case INFL_AZ:
        if (ends_with(f, n, "a"))
            cand_add(c, f, n - 1, "", "");
        break;
    case INFL_PL:
        if (ends_with(f, n, "ka") || ends_with(f, n, "ga"))
            cand_add(c, f, n - 1, "i", "");
        else if (ends_with(f, n, "a"))
            cand_add(c, f, n - 1, "y", "");
        break;
    case INFL_EL:
        if (ends_with(f, n, "οπούλου")) {
            cand_add(c, f, n - strlen("οπούλου"), "όπουλος", "");
        } else if (ends_with(f, n, "ίδου") || ends_with(f, n, "άδου")) {
            cand_add(c, f, n - strlen("ου"), "ης", "");
        } else if (ends_with(f, n, "ού")) {
            cand_add(c, f, n - strlen("ού"), "ός", "");
        } else if (ends_with(f, n, "ου")) {
            cand_add(c, f, n - strlen("ου"), "ος", "");
        } else if (ends_with(f, n, "η") || ends_with(f, n, "ή") || ends_with(f, n, "α") ||
                   ends_with(f, n, "ά")) {
            cand_add(c, f, n, "ς", "");
        }
        break;
    case INFL_NONE:
        break;
    }
}

/* Code points of the NUL-terminated UTF-8 @p s (valid, as checked at load) into @p cp;
 * @return the count, or 0 when more than @p max. */
static size_t utf8_decode(const char *s, uint32_t *cp, size_t max)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        if (n == max)
            return 0;
        uint32_t c = *u;
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        c = k == 1 ? c : k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < k; i++)
            c = (c << 6) | (u[i] & 0x3F);
        cp[n++] = c;
        u += k;
    }
    return n;
}

#define CP_MAX 96

/* Slovak: is the last syllable of s[0..n) long (á é í ó ú ý ô, or ia ie iu)? */
static bool sk_long_before(const char *s, size_t n)
{
    static const uint32_t longv[] = {0xE1, 0xE9, 0xED, 0xF3, 0xFA, 0xFD, 0xF4};
    char buf[FORM_MAX];
    uint32_t cp[CP_MAX];
    if (n + 1 > FORM_MAX)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t k = utf8_decode(buf, cp, CP_MAX);
    while (k > 0) {
        uint32_t c = cp[k - 1];
        for (size_t i = 0; i < RP_ARRAY_LEN(longv); i++) {
            if (c == longv[i])
                return true;
        }
        if (c == 'a' || c == 'e' || c == 'u')
            return k >= 2 && cp[k - 2] == 'i';
        if (c == 'i' || c == 'o' || c == 'y' || c == 0xE4)
            return false;
        k--;
    }
    return false;
}

/*
 * The masculine form of a woman's name @p f by the regular rule alone, for a name whose
 * counterpart is not in the lists (Abdullayeva -> Abdullayev, Nová -> Nový), into @p out;
 * false when there is no safe rule (the name is then its own masculine).
 */
static bool masculine_rule(infl how, const char *code, const char *f, char *out)
{
    size_t n = strlen(f);
    cands c;
    c.n = 0;
    if (n + 8 > FORM_MAX)
        return false;
    static const char *const east_strip[] = {"ова", "ева", "ёва", "єва",
                                             "іна", "їна", "ина", "ына"};
    switch (how) {
    case INFL_EAST_SLAVIC:
        for (size_t i = 0; i < RP_ARRAY_LEN(east_strip); i++) {
            if (ends_with(f, n, east_strip[i])) {
                cand_add(&c, f, n - strlen("а"), "", "");
                break;
            }
        }
        if (c.n == 0 && (ends_with(f, n, "ская") || ends_with(f, n, "цкая")))
            cand_add(&c, f, n - strlen("ая"), "ий", "");
        if (c.n == 0 &&
            (ends_with(f, n, "ська") || ends_with(f, n, "цька") || ends_with(f, n, "зька")))
            cand_add(&c, f, n - strlen("а"), "ий", "");
        break;
    case INFL_CZSK:
        if (ends_with(f, n, "á") && !ends_with(f, n, "ová")) {
            /* Slovak shortens -ý after a long syllable (Čierná -> Čierny) */
            bool long_syll = strcmp(code, "sk") == 0 && sk_long_before(f, n - strlen("á"));
            cand_add(&c, f, n - strlen("á"), long_syll ? "y" : "ý", "");
        }
        break;
    case INFL_LV:
        if (ends_with(f, n, "iņa"))
            cand_add(&c, f, n - 1, "š", "");
        break;
    case INFL_AZ:
        if (ends_with(f, n, "ova") || ends_with(f, n, "eva"))
            cand_add(&c, f, n - 1, "", "");
        break;
    case INFL_PL:
    case INFL_EL:
    case INFL_NONE:
        break;
    }
    if (c.n == 0)
        return false;
    memcpy(out, c.s[0], strlen(c.s[0]) + 1);
    return true;
}

/* ---- Greek: the genitive a woman carries (Παπαδόπουλος -> Παπαδοπούλου) ---- */

static size_t utf8_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        unsigned char b[4];
        size_t k;
        if (c < 0x80) {
            b[0] = (unsigned char)c;
            k = 1;
        } else if (c < 0x800) {
            b[0] = (unsigned char)(0xC0 | (c >> 6));
            b[1] = (unsigned char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (c >> 12));
            b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (c & 0x3F));
            k = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (c >> 18));
            b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (c & 0x3F));
            k = 4;
        }
        if (m + k + 1 > cap)
            return 0;
        memcpy(out + m, b, k);
        m += k;
    }
    out[m] = '\0';
    return m;
}

/* Greek vowels with and without the acute (tonos), lower then upper case. */
static const uint32_t el_plain[] = {0x03B1, 0x03B5, 0x03B7, 0x03B9, 0x03BF, 0x03C5, 0x03C9, 0x03CA,
                                    0x03CB, 0x0391, 0x0395, 0x0397, 0x0399, 0x039F, 0x03A5, 0x03A9};
static const uint32_t el_acute[] = {0x03AC, 0x03AD, 0x03AE, 0x03AF, 0x03CC, 0x03CD, 0x03CE, 0x0390,
                                    0x03B0, 0x0386, 0x0388, 0x0389, 0x038A, 0x038C, 0x038E, 0x038F};

static int el_vowel(uint32_t c, bool *acute)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(el_plain); i++) {
        if (c == el_plain[i] || c == el_acute[i]) {
            *acute = c == el_acute[i];
            return (int)i;
        }
    }
    return -1;
}

/* Index of the lower-case vowel for an index into el_plain (upper case from 9 on). */
static int el_lower(int v)
{
    return v >= 9 ? v - 9 : v;
}

/* True when lower-case vowels a then b (indexes into el_plain) form one syllable. */
static bool el_digraph(int a, int b)
{
    /* αι ει οι υι ου αυ ευ ηυ: second letter ι (3) or υ (5) without diaeresis */
    return (b == 3 && (a == 0 || a == 1 || a == 4 || a == 5)) ||
           (b == 5 && (a == 0 || a == 1 || a == 2 || a == 4));
}

/*
 * Genitive of a masculine Greek surname part in -ος whose stem is cp[0..n): the accent
 * may not stand further back than the penult when the ending -ου is long, so an accent on
 * the antepenult moves to the penult (Παπαδόπουλ- -> Παπαδοπούλ-, Βυζάντι- -> Βυζαντί-).
 */
static void el_shift_accent(uint32_t *cp, size_t n)
{
    /* the penult syllable: the last vowel group of the stem */
    size_t k = n;
    bool acute = false;
    while (k > 0 && el_vowel(cp[k - 1], &acute) < 0)
        k--;
    if (k == 0)
        return;
    size_t last = k - 1; /* last vowel of the group: the accent goes here */
    size_t first = last;
    bool dummy = false;
    int vb = el_lower(el_vowel(cp[last], &dummy));
    if (first > 0) {
        bool ac2 = false;
        int va = el_vowel(cp[first - 1], &ac2);
        if (va >= 0 && el_digraph(el_lower(va), vb))
            first--;
    }
    for (size_t i = first; i <= last; i++) {
        bool ac = false;
        if (el_vowel(cp[i], &ac) >= 0 && ac)
            return; /* already on the penult */
    }
    /* remove every accent, then put one on the penult's last vowel */
    for (size_t i = 0; i < n; i++) {
        bool ac = false;
        int v = el_vowel(cp[i], &ac);
        if (v >= 0 && ac)
            cp[i] = el_plain[v];
    }
    cp[last] = el_acute[el_vowel(cp[last], &dummy)];
}

/* Feminine (genitive) form of one Greek masculine surname part, or false. */
static bool el_feminine_part(uint32_t *cp, size_t *n)
{
    size_t m = *n;
    if (m < 3)
        return false;
    uint32_t a = cp[m - 2], s = cp[m - 1];
    if (s != 0x03C2 && s != 0x03C3) /* ς σ */
        return false;
    if (a == 0x03B7 || a == 0x03AE || a == 0x03B1 || a == 0x03AC) { /* -ης -ής -ας -άς */
        if (m >= 4 && cp[m - 3] == 0x03B4 && (cp[m - 4] == 0x03AF || cp[m - 4] == 0x03AC) &&
            a == 0x03B7) {
            cp[m - 2] = 0x03BF; /* -ίδης -άδης -> -ίδου -άδου */
            cp[m - 1] = 0x03C5;
            return true;
        }
        *n = m - 1;
        return true;
    }
    if (a == 0x03CC) { /* -ός -> -ού */
        cp[m - 2] = 0x03BF;
        cp[m - 1] = 0x03CD;
        return true;
    }
    if (a == 0x03BF) { /* -ος -> -ου, accent to the penult */
        el_shift_accent(cp, m - 2);
        cp[m - 2] = 0x03BF;
        cp[m - 1] = 0x03C5;
        return true;
    }
    return false;
}

/*
 * Feminine form of a masculine family name @p m in a locale that derives it (pl, el),
 * into @p out; false when @p m has none (it is then the same for both sexes).
 */
static bool feminine_of(infl how, const char *m, char *out)
{
    size_t n = strlen(m);
    if (n + 8 > FORM_MAX)
        return false;
    if (how == INFL_PL) {
        /* adjectival names: -ski -cki -dzki (and any -ki, -gi) -> -a; -ny -y -> -a */
        if (ends_with(m, n, "ki") || ends_with(m, n, "gi") || ends_with(m, n, "y")) {
            memcpy(out, m, n - 1);
            out[n - 1] = 'a';
            out[n] = '\0';
            return true;
        }
        return false;
    }
    if (how != INFL_EL)
        return false;
    uint32_t cp[CP_MAX];
    size_t k = utf8_decode(m, cp, CP_MAX);
    if (k == 0)
        return false;
    /* each hyphenated part (Κανακάρης-Ρούφος -> Κανακάρη-Ρούφου) */
    uint32_t res[CP_MAX + 8];
    size_t rn = 0;
    size_t start = 0;
    while (start <= k) {
        size_t end = start;
        while (end < k && cp[end] != '-')
            end++;
        size_t pn = end - start;
        uint32_t part[CP_MAX];
        memcpy(part, cp + start, pn * sizeof(*part));
        if (!el_feminine_part(part, &pn))
            return false;
        memcpy(res + rn, part, pn * sizeof(*part));
        rn += pn;
        if (end < k)
            res[rn++] = '-';
        start = end + 1;
    }
    return utf8_encode(res, rn, out, FORM_MAX) > 0;
}

/* ==== building the pools ==== */

/* The lists of one file as read: [kind][sex]. */
typedef struct raw_lists {
    cvec v[K_COUNT][SX_COUNT];
} raw_lists;

static void raw_release(raw_lists *raw)
{
    for (int k = 0; k < K_COUNT; k++) {
        for (int s = 0; s < SX_COUNT; s++)
            rp_free(raw->v[k][s].v);
    }
}

/* Pool of sex @p s: its own list followed by the "any" list (no masculine forms). */
static int pool_union(rp_x_arena *ar, pool *out, const cvec *own, const cvec *any)
{
    size_t n = own->n + any->n;
    out->n = out->cap = 0;
    out->name = NULL;
    out->masc = NULL;
    if (n == 0)
        return RP_OK;
    out->name = rp_x_arena_alloc(ar, n * sizeof(*out->name), alignof(const char *));
    if (!out->name)
        return RP_ENOMEM;
    if (own->n)
        memcpy(out->name, own->v, own->n * sizeof(*own->v));
    if (any->n)
        memcpy(out->name + own->n, any->v, any->n * sizeof(*any->v));
    out->n = out->cap = n;
    return RP_OK;
}

static int pool_alloc(rp_x_arena *ar, pool *p, size_t cap)
{
    p->n = p->cap = 0;
    p->name = NULL;
    p->masc = NULL;
    if (cap == 0)
        return RP_OK;
    p->name = rp_x_arena_alloc(ar, cap * sizeof(*p->name), alignof(const char *));
    p->masc = rp_x_arena_alloc(ar, cap * sizeof(*p->masc), alignof(const char *));
    if (!p->name || !p->masc)
        return RP_ENOMEM;
    p->cap = cap;
    return RP_OK;
}

static void pool_put(pool *p, const char *name, const char *masc)
{
    if (!p->name || !p->masc || p->n >= p->cap)
        RP_BUG("family pool smaller than its lists");
    p->name[p->n] = name;
    p->masc[p->n] = masc;
    p->n++;
}

#define TAG_FAMILY_FORM 100u /* sset tag of the family names searched for forms */

/* The first candidate held in @p forms, or NULL. */
static const char *first_held(const sset *forms, const cands *c, const char *self)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *hit = sset_find(forms, TAG_FAMILY_FORM, c->s[i], strlen(c->s[i]));
        if (hit && strcmp(hit, self) != 0)
            return hit;
    }
    return NULL;
}

/*
 * Family pools. Locales with sex lists (uk ru cs_CZ sk lv az): women draw from the
 * female list (each with its masculine counterpart) and the "any" list, men from the male
 * and "any" lists. Locales with one list of masculine forms (pl, el): each name is a
 * masculine form whose feminine is derived (Kowalski -> Kowalska), a feminine form whose
 * masculine is in the list (Konieczna, Αγγελίδου), or the same for both.
 */
static int build_family(rp_x_arena *ar, nm_locale *L, infl how, const raw_lists *raw)
{
    int rc = RP_OK;
    sset forms = {NULL, 0, 0};
    const cvec *fem = &raw->v[K_FAMILY][SX_FEMALE];
    const cvec *mal = &raw->v[K_FAMILY][SX_MALE];
    const cvec *any = &raw->v[K_FAMILY][SX_ANY];
    char buf[FORM_MAX];
    cands c;

    for (size_t i = 0; i < mal->n && rc == RP_OK; i++)
        rc = sset_add(&forms, TAG_FAMILY_FORM, mal->v[i]);
    for (size_t i = 0; i < any->n && rc == RP_OK; i++)
        rc = sset_add(&forms, TAG_FAMILY_FORM, any->v[i]);
    if (rc != RP_OK)
        goto out;
    rc = pool_alloc(ar, &L->family[SX_FEMALE], fem->n + any->n);
    if (rc == RP_OK)
        rc = pool_alloc(ar, &L->family[SX_MALE], mal->n + any->n);
    if (rc != RP_OK)
        goto out;

    for (size_t i = 0; i < fem->n; i++) {
        const char *f = fem->v[i];
        masculine_cands(how, f, &c);
        const char *m = first_held(&forms, &c, f);
        if (!m && masculine_rule(how, L->code, f, buf)) {
            m = rp_x_arena_strndup(ar, buf, strlen(buf));
            if (!m) {
                rc = RP_ENOMEM;
                goto out;
            }
        }
        pool_put(&L->family[SX_FEMALE], f, m ? m : f);
    }
    for (size_t i = 0; i < mal->n; i++)
        pool_put(&L->family[SX_MALE], mal->v[i], mal->v[i]);
    for (size_t i = 0; i < any->n; i++) {
        const char *a = any->v[i];
        if (how != INFL_PL && how != INFL_EL) {
            pool_put(&L->family[SX_FEMALE], a, a);
            pool_put(&L->family[SX_MALE], a, a);
            continue;
        }
        masculine_cands(how, a, &c);
        const char *m = first_held(&forms, &c, a);
        if (m) { /* a feminine form of a name in the list */
            pool_put(&L->family[SX_FEMALE], a, m);
            continue;
        }
        pool_put(&L->family[SX_MALE], a, a);
        if (!feminine_of(how, a, buf)) {
            pool_put(&L->family[SX_FEMALE], a, a);
            continue;
        }
        if (sset_find(&forms, TAG_FAMILY_FORM, buf, strlen(buf)))
            continue; /* the list has it: drawn as its own entry */
        const char *f = rp_x_arena_strndup(ar, buf, strlen(buf));
        if (!f) {
            rc = RP_ENOMEM;
            goto out;
        }
        pool_put(&L->family[SX_FEMALE], f, a);
    }
out:
    sset_release(&forms);
    return rc;
}

static int build_pools(rp_x_arena *ar, nm_locale *L, infl how, const raw_lists *raw)
{
    int rc = RP_OK;
    for (int s = SX_FEMALE; s <= SX_MALE && rc == RP_OK; s++) {
        rc = pool_union(ar, &L->given[s], &raw->v[K_GIVEN][s], &raw->v[K_GIVEN][SX_ANY]);
        if (rc == RP_OK)
            rc = pool_union(ar, &L->patronymic[s], &raw->v[K_PATRONYMIC][s],
                            &raw->v[K_PATRONYMIC][SX_ANY]);
        if (rc == RP_OK)
            rc = pool_union(ar, &L->middle[s], &raw->v[K_MIDDLE][s], &raw->v[K_MIDDLE][SX_ANY]);
    }
    if (rc == RP_OK)
        rc = build_family(ar, L, how, raw);
    if (rc != RP_OK)
        return rc;
    /* a sex without names of its own and no "any" list draws from the other sex's */
    for (int s = SX_FEMALE; s <= SX_MALE; s++) {
        if (L->given[s].n == 0)
            L->given[s] = L->given[1 - s];
        if (L->family[s].n == 0)
            L->family[s] = L->family[1 - s];
        if (L->middle[s].n == 0)
            L->middle[s] = L->middle[1 - s];
    }
    return RP_OK;
}

/* ==== loading ==== */

#define NAMES_FILE_MAX ((size_t)64 * 1024 * 1024)

static bool locale_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RP_SIM_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* A CSV file being read: position, line and the current field's value. */
typedef struct csv_reader {
    const char *p, *end;
    const char *ls; /* start of the current line */
    long line;
    const char *path;
    rp_x_buf val;
} csv_reader;

static int read_header(csv_reader *rd, rp_error *err)
{
    static const char header[] = "kind,sex,name";
    if (rd->end - rd->p >= 3 && memcmp(rd->p, "\xEF\xBB\xBF", 3) == 0)
        rd->p += 3;
    const char *eol = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
    const char *hend = eol ? eol : rd->end;
    if (hend > rd->p && hend[-1] == '\r')
        hend--;
    if ((size_t)(hend - rd->p) != strlen(header) || memcmp(rd->p, header, strlen(header)) != 0)
        return rp_error_set_at(err, RP_EPARSE, rd->path, 1, 1, "expected header '%s'", header);
    rd->p = eol ? eol + 1 : rd->end;
    rd->line = 2;
    rd->ls = rd->p;
    return RP_OK;
}

/* Move to the start of the next line. */
static void next_line(csv_reader *rd)
{
    while (rd->p < rd->end && *rd->p != '\n')
        rd->p++;
    if (rd->p < rd->end) {
        rd->p++;
        rd->line++;
        rd->ls = rd->p;
    }
}

/*
 * Field @p f (0 kind, 1 sex, 2 name) of the current row into rd->val, with the separator
 * after it checked and passed. @return RP_OK; RP_EPARSE; RP_ENOMEM.
 */
static int read_field(csv_reader *rd, int f, long *fline, long *col, rp_error *err)
{
    static const char *const fields[] = {"kind", "sex", "name"};
    *fline = rd->line;
    *col = (long)(rd->p - rd->ls) + 1;
    if (csv_field(&rd->p, rd->end, &rd->val, &rd->line, &rd->ls) != 0)
        return rp_error_set_at(err, RP_EPARSE, rd->path, *fline, *col,
                               "field '%s': unterminated quote or text after the quote", fields[f]);
    if (rp_x_buf_oom(&rd->val))
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    bool last = f == 2;
    bool at_comma = rd->p < rd->end && *rd->p == ',';
    if (last == at_comma)
        return rp_error_set_at(err, RP_EPARSE, rd->path, rd->line, (long)(rd->p - rd->ls) + 1,
                               "expected 3 fields (kind,sex,name), found %s",
                               last     ? "more"
                               : f == 0 ? "1"
                                        : "2");
    if (at_comma)
        rd->p++;
    return RP_OK;
}

/*
 * One row: *kind and *sex as indexes, the cleaned name in rd->val at *name (*n bytes), or
 * *name NULL for a value left out. @return RP_OK; RP_EPARSE; RP_ENOMEM.
 */
static int
read_row(csv_reader *rd, int *kind, int *sex, const char **name, size_t *n, rp_error *err)
{
    static const char *const words[2][4] = {{"given", "family", "patronymic", "middle"},
                                            {"female", "male", "any", NULL}};
    static const char *const expected[2] = {
        "field 'kind': expected given, family, patronymic or middle",
        "field 'sex': expected female, male or any"};
    int *idx[2] = {kind, sex};
    long fline = 0, col = 0;
    *name = NULL;
    for (int f = 0; f < 2; f++) {
        int rc = read_field(rd, f, &fline, &col, err);
        if (rc != RP_OK)
            return rc;
        *idx[f] = find_word(words[f], f == 0 ? 4 : 3, rp_x_buf_cstr(&rd->val));
        if (*idx[f] < 0)
            return rp_error_set_at(err, RP_EPARSE, rd->path, fline, col, "%s", expected[f]);
    }
    int rc = read_field(rd, 2, &fline, &col, err);
    if (rc != RP_OK)
        return rc;
    char *v = rd->val.data;
    size_t len = rd->val.len;
    switch (clean_value(&v, &len)) {
    case CLEAN_OK:
        *name = v;
        *n = len;
        return RP_OK;
    case CLEAN_DROP:
        return RP_OK;
    case CLEAN_EMPTY:
        return rp_error_set_at(err, RP_EPARSE, rd->path, fline, col, "field 'name' is empty");
    case CLEAN_CONTROL:
        return rp_error_set_at(err, RP_EPARSE, rd->path, fline, col,
                               "field 'name' holds a control character");
    case CLEAN_UTF8:
        break;
    }
    return rp_error_set_at(err, RP_EPARSE, rd->path, fline, col, "field 'name' is not valid UTF-8");
}

/* Keep name[0..n) in list (kind, sex) unless the list has it. @return RP_OK; RP_ENOMEM. */
static int add_name(
    rp_sim_names *nm, raw_lists *raw, sset *seen, int kind, int sex, const char *name, size_t n)
{
    unsigned tag = (unsigned)(kind * SX_COUNT + sex);
    if (sset_find(seen, tag, name, n))
        return RP_OK;
    char *copy = rp_x_arena_strndup(&nm->arena, name, n);
    if (!copy || sset_add(seen, tag, copy) != RP_OK || cvec_push(&raw->v[kind][sex], copy) != RP_OK)
        return RP_ENOMEM;
    return RP_OK;
}

static void set_customs(nm_locale *L, infl *how)
{
    *how = INFL_NONE;
    for (size_t i = 0; i < RP_ARRAY_LEN(customs); i++) {
        if (strcmp(customs[i].locale, L->code) == 0) {
            L->custom = customs[i].custom;
            *how = customs[i].inflection;
        }
    }
}

static int load_locale(rp_sim_names *nm, nm_locale *L, const char *dir, rp_error *err)
{
    int rc = RP_OK;
    char *text = NULL;
    size_t len = 0;
    raw_lists raw;
    memset(&raw, 0, sizeof(raw));
    rp_x_buf path = RP_X_BUF_INIT;
    sset seen = {NULL, 0, 0};
    csv_reader rd = {NULL, NULL, NULL, 0, NULL, RP_X_BUF_INIT};
    infl how = INFL_NONE;

    set_customs(L, &how);
    rp_x_buf_printf(&path, "%s/%s.csv", dir, L->code);
    if (rp_x_buf_oom(&path)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rd.path = rp_x_buf_cstr(&path);
    rc = rp_x_read_file(&text, &len, rd.path, NAMES_FILE_MAX, err);
    if (rc != RP_OK)
        goto out;
    rd.p = text;
    rd.end = text + len;
    rc = read_header(&rd, err);
    while (rc == RP_OK && rd.p < rd.end) {
        if (*rd.p == '\n' || (*rd.p == '\r' && rd.p + 1 < rd.end && rd.p[1] == '\n')) {
            next_line(&rd); /* blank line */
            continue;
        }
        int kind = 0, sex = 0;
        const char *name = NULL;
        size_t n = 0;
        rc = read_row(&rd, &kind, &sex, &name, &n, err);
        if (rc == RP_OK && name && add_name(nm, &raw, &seen, kind, sex, name, n) != RP_OK)
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        next_line(&rd); /* past the '\r' or '\n' after the name */
    }
    if (rc != RP_OK)
        goto out;
    size_t n_given = 0, n_family = 0;
    for (int s = 0; s < SX_COUNT; s++) {
        n_given += raw.v[K_GIVEN][s].n;
        n_family += raw.v[K_FAMILY][s].n;
    }
    if (n_given == 0 || n_family == 0) {
        rc = rp_error_set_at(err, RP_EINVAL, rd.path, 0, 0, "name locale '%s' has no %s names",
                             L->code, n_given == 0 ? "given" : "family");
        goto out;
    }
    if (build_pools(&nm->arena, L, how, &raw) != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
out:
    sset_release(&seen);
    raw_release(&raw);
    rp_x_buf_release(&path);
    rp_x_buf_release(&rd.val);
    rp_free(text);
    return rc;
}

int rp_sim__names_load(
    rp_sim_names **out, const char *dir, const char *const *locales, size_t n, rp_error *err)
{
    int rc = RP_OK;
    *out = NULL;
    rp_sim_names *nm = rp_calloc(1, sizeof(*nm));
    if (!nm)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    nm->arena = (rp_x_arena)RP_X_ARENA_INIT(ARENA_BLOCK);
    if (n > 0) {
        nm->loc = rp_calloc(n, sizeof(*nm->loc));
        if (!nm->loc) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!locale_ok(locales[i])) {
            rc = rp_error_set(err, RP_EINVAL, "name locale must be 1 to %d letters, digits or '_'",
                              RP_SIM_CODE_MAX - 1);
            goto out;
        }
        if (rp_sim__names_index(nm, locales[i]) != SIZE_MAX)
            continue; /* loaded already */
        nm_locale *L = &nm->loc[nm->n];
        rp_x_strlcpy(L->code, locales[i], sizeof(L->code));
        rc = load_locale(nm, L, dir, err);
        if (rc != RP_OK)
            goto out;
        nm->n++;
    }
    *out = nm;
    nm = NULL;
out:
    rp_sim__names_free(nm);
    return rc;
}

void rp_sim__names_free(rp_sim_names *nm)
{
    if (!nm)
        return;
    rp_x_arena_release(&nm->arena, false);
    rp_free(nm->loc);
    rp_free(nm);
}

size_t rp_sim__names_index(const rp_sim_names *nm, const char *locale)
{
    for (size_t i = 0; nm && locale && i < nm->n; i++) {
        if (strcmp(nm->loc[i].code, locale) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* ==== drawing ==== */

/*
 * The draws always come in the same order (given, middle or second given, family names,
 * patronymic), so a given generator state gives the same name.
 */
void rp_sim__names_draw(
    const rp_sim_names *nm, size_t loc, rp_sex sex, double middle, gsl_rng *r, rp_sim_name *out)
{
    memset(out, 0, sizeof(*out));
    if (RP_NEVER(nm == NULL || loc >= nm->n))
        return;
    const nm_locale *L = &nm->loc[loc];
    int s = sex == RP_SEX_FEMALE ? SX_FEMALE : SX_MALE;

    const pool *g = &L->given[s];
    size_t i = (size_t)gsl_rng_uniform_int(r, (unsigned long)g->n);
    out->given[0] = g->name[i];
    out->n_given = 1;
    if (L->custom & C_MIDDLE) {
        const pool *m = &L->middle[s];
        if (gsl_rng_uniform(r) < middle && m->n > 0) {
            size_t j = (size_t)gsl_rng_uniform_int(r, (unsigned long)m->n);
            if (strcmp(m->name[j], out->given[0]) == 0) /* not "Marie Marie" */
                j = (j + 1) % m->n;
            out->given[1] = m->name[j];
            out->n_given = 2;
        }
    } else if (L->custom & C_SECOND_GIVEN) {
        if (gsl_rng_uniform(r) < middle && g->n > 1) {
            size_t j = (size_t)gsl_rng_uniform_int(r, (unsigned long)(g->n - 1));
            out->given[1] = g->name[j >= i ? j + 1 : j];
            out->n_given = 2;
        }
    }

    const pool *f = &L->family[s];
    out->n_family = (L->custom & C_TWO_FAMILY) ? 2 : 1;
    for (size_t k = 0; k < out->n_family; k++) {
        size_t j = (size_t)gsl_rng_uniform_int(r, (unsigned long)f->n);
        out->family[k] = f->name[j];
        out->family_masc[k] = s == SX_FEMALE ? f->masc[j] : f->name[j];
    }

    const pool *pt = &L->patronymic[s];
    if (pt->n > 0)
        out->patronymic = pt->name[gsl_rng_uniform_int(r, (unsigned long)pt->n)];
    out->family_first = (L->custom & C_FAMILY_FIRST) != 0;
    out->no_space = (L->custom & C_NO_SPACE) != 0;
}
