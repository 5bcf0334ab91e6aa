/*
 * Name normalisation at the agency (issue 5; docs/encoding.md, "Normalisation"): every
 * spelling of one name, in any script, romanisation system, Unicode form or apostrophe,
 * becomes one canonical key of lower-case ASCII words. ICU does NFKC, case folding, script
 * detection and transliteration (norm_rules.h); norm_fold.c folds the spellings of the
 * romanisation systems together; data/names/equivalents.csv equates cross-language forms
 * (Oleksandr, Aleksandr, Alexander). Also: full names split into given and family names,
 * and birth dates.
 */
#include "common/common_int.h"
#include "encode/norm_int.h"
#include "encode/norm_rules.h"

#include <rapporteur/encode.h>

#include <sodium.h>
#include <stdint.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

/* Longest input name accepted, bytes: a name field longer than this is not a name. */
#define NORM_INPUT_MAX 1024

/*
 * Most memoised words and names, and most bytes of their text; the memo starts again
 * empty (wiped) when either is reached, so its memory stays bounded (about 8 MiB of table
 * and NORM_MEMO_BYTES of text) whatever the input.
 */
#define NORM_MEMO_MAX   ((size_t)1 << 17)
#define NORM_MEMO_BYTES ((size_t)16 << 20)

/* Largest equivalence table file read, bytes. */
#define NORM_TABLE_MAX ((size_t)16 << 20)

/* ==== transliterators ==== */

typedef enum tr_id {
    TR_LATIN = 0,
    TR_CYR_UK,
    TR_CYR_RU,
    TR_CYR_BG,
    TR_CYR_SR,
    TR_CYR_BE,
    TR_GREEK,
    TR_GEORGIAN,
    TR_ARMENIAN,
    TR_ARABIC,
    TR_HAN,
    TR_ANY,
    TR_COUNT
} tr_id;

typedef struct tr_def {
    const char *name;
    const char *rules;
} tr_def;

static const tr_def tr_defs[TR_COUNT] = {
    {"rp-norm-latin", norm_latin}, {"rp-norm-uk", norm_cyr_uk},   {"rp-norm-ru", norm_cyr_ru},
    {"rp-norm-bg", norm_cyr_bg},   {"rp-norm-sr", norm_cyr_sr},   {"rp-norm-be", norm_cyr_be},
    {"rp-norm-el", norm_greek},    {"rp-norm-ka", norm_georgian}, {"rp-norm-hy", norm_armenian},
    {"rp-norm-arab", norm_arabic}, {"rp-norm-han", norm_han},     {"rp-norm-any", norm_any},
};

/* ==== growable lists of ASCII words ==== */

/* Words as spans of one byte buffer; reused from call to call. */
typedef struct wlist {
    char *buf;
    size_t len, cap;
    size_t *off, *wlen;
    size_t n, ncap;
} wlist;

/* Spans of UTF-16 words in one UChar buffer. */
typedef struct ulist {
    UChar *buf;
    int32_t len, cap;
    int32_t *off, *wlen;
    size_t n, ncap;
} ulist;

/* ==== hash tables: the memo and the equivalence table ==== */

typedef struct memo_entry {
    uint64_t h;      /* 0: empty slot */
    unsigned tid;    /* tr_id of the transliterator */
    const char *key; /* case-folded word, UTF-8, in the arena */
    const char *val; /* its ASCII words, in the arena */
} memo_entry;

typedef struct tab_entry {
    uint64_t h;        /* 0: empty slot */
    const char *key;   /* a folded spelling, in the arena */
    const char *canon; /* its group's canonical form, in the arena */
    long line;         /* line of the group in the table file */
} tab_entry;

#define ARENA_BLOCK ((size_t)64 * 1024) /* bytes of a memo or table arena block */

/* Scripts the normaliser tells apart. */
typedef enum script {
    SC_LATIN = 0,
    SC_CYRILLIC,
    SC_GREEK,
    SC_GEORGIAN,
    SC_ARMENIAN,
    SC_ARABIC,
    SC_HAN,
    SC_OTHER,
    SC_COUNT,
    SC_NONE /* common or inherited: marks, no letter of any script */
} script;

struct rp_normaliser {
    UTransliterator *tr[TR_COUNT]; /* opened on first use */
    const UNormalizer2 *nfkc;      /* ICU's singleton; not freed */
    memo_entry *memo;
    size_t memo_cap, memo_n; /* cap: power of two or 0 */
    size_t memo_bytes;       /* text held in memo_arena */
    rp_x_arena memo_arena;   /* names: wiped when released */
    tab_entry *tab;
    size_t tab_cap, tab_n;
    rp_x_arena tab_arena;
    bool use_table; /* false while the table itself is loaded */
    bool digits;    /* this call keeps digits as words (rp_normalise_address) */
    /* scratch, reused */
    UChar *u_in, *u_nfkc, *u_tr;
    int32_t u_in_cap, u_nfkc_cap, u_tr_cap;
    ulist words;  /* NFKC words */
    ulist folded; /* case-folded words */
    char *u8;     /* UTF-8 of one word */
    size_t u8_cap;
    script *sc; /* script of each folded word */
    size_t sc_cap;
    char *fold; /* rp_encode__norm_fold output */
    size_t fold_cap;
    rp_x_buf pend; /* particles waiting for the next word */
    wlist raw;     /* ASCII words of the input */
    wlist cooked;  /* after particles and articles */
};

/* ==== small helpers ==== */

static int oom(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

static int icu_fail(rp_error *err, const char *what, UErrorCode st)
{
    int rc = rp_error_set(err, RP_EINTERNAL, "name normalisation: %s: %s", what, u_errorName(st));
    rp_x_error_sys(err, (int)st);
    return rc;
}

static int grow_u16(UChar **p, int32_t *cap, int32_t need)
{
    if (need <= *cap)
        return RP_OK;
    int32_t c = *cap ? *cap : 256;
    while (c < need) {
        if (c > INT32_MAX / 2)
            return RP_ENOMEM;
        c *= 2;
    }
    UChar *q = rp_reallocarray(*p, (size_t)c, sizeof(*q));
    if (!q)
        return RP_ENOMEM;
    *p = q;
    *cap = c;
    return RP_OK;
}

static int grow_bytes(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return RP_OK;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *q = rp_realloc(*p, c);
    if (!q)
        return RP_ENOMEM;
    *p = q;
    *cap = c;
    return RP_OK;
}

static void wl_clear(wlist *l)
{
    l->len = 0;
    l->n = 0;
}

static int wl_push(wlist *l, const char *s, size_t n)
{
    if (grow_bytes(&l->buf, &l->cap, l->len + n + 1) != RP_OK)
        return RP_ENOMEM;
    if (l->n == l->ncap) {
        size_t c = l->ncap ? 2 * l->ncap : 16;
        size_t *o = rp_reallocarray(l->off, c, sizeof(*o));
        if (!o)
            return RP_ENOMEM;
        l->off = o;
        size_t *w = rp_reallocarray(l->wlen, c, sizeof(*w));
        if (!w)
            return RP_ENOMEM;
        l->wlen = w;
        l->ncap = c;
    }
    memcpy(l->buf + l->len, s, n);
    l->buf[l->len + n] = '\0';
    l->off[l->n] = l->len;
    l->wlen[l->n] = n;
    l->n++;
    l->len += n + 1;
    return RP_OK;
}

static void wl_release(wlist *l)
{
    rp_free(l->buf);
    rp_free(l->off);
    rp_free(l->wlen);
    memset(l, 0, sizeof(*l));
}

static const char *wl_word(const wlist *l, size_t i)
{
    return l->buf + l->off[i];
}

static void ul_clear(ulist *l)
{
    l->len = 0;
    l->n = 0;
}

/* Start a new (empty) word at the end of @p l. */
static int ul_begin(ulist *l)
{
    if (l->n == l->ncap) {
        size_t c = l->ncap ? 2 * l->ncap : 16;
        int32_t *o = rp_reallocarray(l->off, c, sizeof(*o));
        if (!o)
            return RP_ENOMEM;
        l->off = o;
        int32_t *w = rp_reallocarray(l->wlen, c, sizeof(*w));
        if (!w)
            return RP_ENOMEM;
        l->wlen = w;
        l->ncap = c;
    }
    l->off[l->n] = l->len;
    l->wlen[l->n] = 0;
    l->n++;
    return RP_OK;
}

/* Append code point @p c to the last word of @p l. */
static int ul_putc(ulist *l, UChar32 c)
{
    if (grow_u16(&l->buf, &l->cap, l->len + 2) != RP_OK)
        return RP_ENOMEM;
    UBool bad = false;
    U16_APPEND(l->buf, l->len, l->cap, c, bad);
    if (bad)
        return RP_ENOMEM;
    l->wlen[l->n - 1] = l->len - l->off[l->n - 1];
    return RP_OK;
}

static void ul_release(ulist *l)
{
    rp_free(l->buf);
    rp_free(l->off);
    rp_free(l->wlen);
    memset(l, 0, sizeof(*l));
}

/* ==== language hints ==== */

/* The ISO 639-1 code of @p lang ("uk", "uk_UA", "uk-UA"), or "" when it is not one. */
static void lang_code(const char *lang, char code[3])
{
    memset(code, 0, 3);
    if (!lang || !lang[0] || !lang[1])
        return;
    char a = lang[0], b = lang[1], c = lang[2];
    bool letters = ((a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z')) &&
                   ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'));
    if (!letters || (c != '\0' && c != '_' && c != '-'))
        return;
    code[0] = (char)(a | 0x20);
    code[1] = (char)(b | 0x20);
    code[2] = '\0';
}

/* ==== open, free ==== */

static int open_tr(rp_normaliser *n, tr_id id, rp_error *err)
{
    int rc = RP_OK;
    UErrorCode st = U_ZERO_ERROR;
    UParseError pe;
    int32_t n16 = 0;
    UChar *r16 = NULL;
    UChar name[32];
    const tr_def *d = &tr_defs[id];

    u_strFromUTF8(NULL, 0, &n16, d->rules, -1, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) {
        rc = icu_fail(err, "transform rules", st);
        goto out;
    }
    st = U_ZERO_ERROR;
    r16 = rp_reallocarray(NULL, (size_t)n16 + 1, sizeof(*r16));
    if (!r16) {
        rc = oom(err);
        goto out;
    }
    u_strFromUTF8(r16, n16 + 1, NULL, d->rules, -1, &st);
    if (U_FAILURE(st)) {
        rc = icu_fail(err, "transform rules", st);
        goto out;
    }
    u_strFromUTF8(name, (int32_t)RP_ARRAY_LEN(name), NULL, d->name, -1, &st);
    if (U_FAILURE(st)) {
        rc = icu_fail(err, "transform name", st);
        goto out;
    }
    n->tr[id] = utrans_openU(name, -1, UTRANS_FORWARD, r16, n16, &pe, &st);
    if (U_FAILURE(st) || !n->tr[id]) {
        n->tr[id] = NULL;
        rc = rp_error_set(err, RP_EINTERNAL,
                          "name normalisation: transform '%s' rejected at line %d, offset %d: %s",
                          d->name, (int)pe.line, (int)pe.offset, u_errorName(st));
        rp_x_error_sys(err, (int)st);
        goto out;
    }
out:
    rp_free(r16);
    return rc;
}

static int load_table(rp_normaliser *n, const char *path, rp_error *err);

int rp_normaliser_new(rp_normaliser **out, const char *equiv_path, rp_error *err)
{
    if (!out)
        return rp_error_set(err, RP_EINVAL, "rp_normaliser_new: out is NULL");
    *out = NULL;
    rp_normaliser *n = rp_calloc(1, sizeof(*n));
    if (!n)
        return oom(err);
    n->memo_arena = (rp_x_arena)RP_X_ARENA_INIT(ARENA_BLOCK);
    n->tab_arena = (rp_x_arena)RP_X_ARENA_INIT(ARENA_BLOCK);
    rp_x_buf_init(&n->pend);
    int rc = RP_OK;
    UErrorCode st = U_ZERO_ERROR;
    n->nfkc = unorm2_getNFKCInstance(&st);
    if (U_FAILURE(st) || !n->nfkc) {
        rc = icu_fail(err, "NFKC", st);
        goto out;
    }
    /* The Latin rules serve most names; opening them now finds a broken ICU early. */
    rc = open_tr(n, TR_LATIN, err);
    if (rc != RP_OK)
        goto out;
    if (equiv_path) {
        rc = load_table(n, equiv_path, err);
        if (rc != RP_OK)
            goto out;
    }
    n->use_table = true;
    *out = n;
    n = NULL;
out:
    rp_normaliser_free(n);
    return rc;
}

void rp_normaliser_free(rp_normaliser *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < TR_COUNT; i++) {
        if (n->tr[i])
            utrans_close(n->tr[i]);
    }
    if (n->memo)
        sodium_memzero(n->memo, n->memo_cap * sizeof(*n->memo));
    rp_free(n->memo);
    rp_x_arena_release(&n->memo_arena, true);
    rp_free(n->tab);
    rp_x_arena_release(&n->tab_arena, false);
    rp_free(n->u_in);
    rp_free(n->u_nfkc);
    rp_free(n->u_tr);
    ul_release(&n->words);
    ul_release(&n->folded);
    rp_free(n->u8);
    rp_free(n->fold);
    rp_free(n->sc);
    rp_x_buf_release(&n->pend);
    wl_release(&n->raw);
    wl_release(&n->cooked);
    rp_free(n);
}

/* ==== the memo ==== */

static const char *
memo_find(const rp_normaliser *n, unsigned tid, const char *key, size_t len, uint64_t h)
{
    if (!n->memo_cap)
        return NULL;
    for (size_t j = (size_t)h & (n->memo_cap - 1); n->memo[j].h; j = (j + 1) & (n->memo_cap - 1)) {
        const memo_entry *e = &n->memo[j];
        if (e->h == h && e->tid == tid && strncmp(e->key, key, len) == 0 && e->key[len] == '\0')
            return e->val;
    }
    return NULL;
}

static void memo_reset(rp_normaliser *n)
{
    if (n->memo)
        sodium_memzero(n->memo, n->memo_cap * sizeof(*n->memo));
    n->memo_n = 0;
    n->memo_bytes = 0;
    rp_x_arena_release(&n->memo_arena, true);
}

/* Remember @p val for (@p tid, @p key). @return RP_OK; RP_ENOMEM. */
static int
memo_put(rp_normaliser *n, unsigned tid, const char *key, size_t len, uint64_t h, const char *val)
{
    size_t vl = strlen(val);
    if (n->memo_n >= NORM_MEMO_MAX || n->memo_bytes + len + vl + 2 > NORM_MEMO_BYTES)
        memo_reset(n);
    if (2 * (n->memo_n + 1) > n->memo_cap) {
        size_t cap = n->memo_cap ? 2 * n->memo_cap : 1024;
        memo_entry *m = rp_calloc(cap, sizeof(*m));
        if (!m)
            return RP_ENOMEM;
        for (size_t i = 0; i < n->memo_cap; i++) {
            if (!n->memo[i].h)
                continue;
            size_t j = (size_t)n->memo[i].h & (cap - 1);
            while (m[j].h)
                j = (j + 1) & (cap - 1);
            m[j] = n->memo[i];
        }
        rp_free(n->memo);
        n->memo = m;
        n->memo_cap = cap;
    }
    char *k = rp_x_arena_strndup(&n->memo_arena, key, len);
    char *v = k ? rp_x_arena_strndup(&n->memo_arena, val, vl) : NULL;
    if (!v)
        return RP_ENOMEM;
    n->memo_bytes += len + vl + 2;
    size_t j = (size_t)h & (n->memo_cap - 1);
    while (n->memo[j].h)
        j = (j + 1) & (n->memo_cap - 1);
    n->memo[j].h = h;
    n->memo[j].tid = tid;
    n->memo[j].key = k;
    n->memo[j].val = v;
    n->memo_n++;
    return RP_OK;
}

/* ==== scripts and homoglyphs ==== */

static script script_of(UChar32 c)
{
    UErrorCode st = U_ZERO_ERROR;
    UScriptCode s = uscript_getScript(c, &st);
    if (U_FAILURE(st))
        return SC_OTHER;
    switch (s) {
    case USCRIPT_COMMON:
    case USCRIPT_INHERITED:
        return SC_NONE;
    case USCRIPT_LATIN:
        return SC_LATIN;
    case USCRIPT_CYRILLIC:
        return SC_CYRILLIC;
    case USCRIPT_GREEK:
        return SC_GREEK;
    case USCRIPT_GEORGIAN:
        return SC_GEORGIAN;
    case USCRIPT_ARMENIAN:
        return SC_ARMENIAN;
    case USCRIPT_ARABIC:
        return SC_ARABIC;
    case USCRIPT_HAN:
        return SC_HAN;
    default:
        return SC_OTHER;
    }
}

/*
 * Look-alike letters, before case folding so that case helps: {Latin, other}. A word
 * mostly in one script has the look-alikes of the other made its own (Latin I in Iванов
 * becomes Cyrillic І). The Latin-to-Cyrillic direction leaves out S s J j, whose Cyrillic
 * twins (ѕ ј) would make the word Macedonian or Serbian.
 */
typedef struct glyph_pair {
    UChar latin, other;
    bool to_other; /* also used from Latin to the other script */
} glyph_pair;

static const glyph_pair cyr_pairs[] = {
    {'A', 0x0410, true},    {'B', 0x0412, true},    {'C', 0x0421, true},    {'E', 0x0415, true},
    {'H', 0x041D, true},    {'I', 0x0406, true},    {'K', 0x041A, true},    {'M', 0x041C, true},
    {'O', 0x041E, true},    {'P', 0x0420, true},    {'T', 0x0422, true},    {'X', 0x0425, true},
    {'Y', 0x0423, true},    {'a', 0x0430, true},    {'c', 0x0441, true},    {'e', 0x0435, true},
    {'i', 0x0456, true},    {'k', 0x043A, true},    {'o', 0x043E, true},    {'p', 0x0440, true},
    {'x', 0x0445, true},    {'y', 0x0443, true},    {0x00CB, 0x0401, true}, {0x00EB, 0x0451, true},
    {0x00CF, 0x0407, true}, {0x00EF, 0x0457, true}, {'S', 0x0405, false},   {'s', 0x0455, false},
    {'J', 0x0408, false},   {'j', 0x0458, false},
};

static const glyph_pair greek_pairs[] = {
    {'A', 0x0391, true}, {'B', 0x0392, true}, {'E', 0x0395, true}, {'H', 0x0397, true},
    {'I', 0x0399, true}, {'K', 0x039A, true}, {'M', 0x039C, true}, {'N', 0x039D, true},
    {'O', 0x039F, true}, {'P', 0x03A1, true}, {'T', 0x03A4, true}, {'X', 0x03A7, true},
    {'Y', 0x03A5, true}, {'Z', 0x0396, true}, {'o', 0x03BF, true},
};

static bool in_pairs(const glyph_pair *p, size_t np, UChar c, bool latin)
{
    for (size_t i = 0; i < np; i++) {
        if ((latin && p[i].latin == c) || (!latin && p[i].other == c))
            return true;
    }
    return false;
}

/* Has word @p w[0..len) letters of Latin and of Cyrillic or Greek? Only then can
 * repair_homoglyphs() change it. */
static bool mixed_latin(const UChar *w, int32_t len)
{
    bool latin = false, other = false;
    for (int32_t i = 0; i < len && !(latin && other);) {
        UChar32 c;
        U16_NEXT(w, i, len, c);
        if (c < 0x80) {
            latin = latin || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            continue;
        }
        script s = script_of(c);
        latin = latin || s == SC_LATIN;
        other = other || s == SC_CYRILLIC || s == SC_GREEK;
    }
    return latin && other;
}

/*
 * Repair the look-alikes of word @p w[0..len) in place (all pairs are BMP, one unit each,
 * so the length stays). Counts the letters of each script that are not look-alikes; the
 * script with more of them (then: more letters) takes the look-alikes of the other.
 */
static void repair_homoglyphs(UChar *w, int32_t len)
{
    int32_t count[SC_COUNT] = {0};
    int32_t distinct[SC_COUNT] = {0};
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(w, i, len, c);
        script s = script_of(c);
        if (s == SC_NONE)
            continue;
        count[s]++;
        bool look =
            c <= 0xFFFF &&
            ((s == SC_LATIN &&
              (in_pairs(cyr_pairs, RP_ARRAY_LEN(cyr_pairs), (UChar)c, true) ||
               in_pairs(greek_pairs, RP_ARRAY_LEN(greek_pairs), (UChar)c, true))) ||
             (s == SC_CYRILLIC && in_pairs(cyr_pairs, RP_ARRAY_LEN(cyr_pairs), (UChar)c, false)) ||
             (s == SC_GREEK && in_pairs(greek_pairs, RP_ARRAY_LEN(greek_pairs), (UChar)c, false)));
        if (!look)
            distinct[s]++;
    }
    script other = count[SC_CYRILLIC] >= count[SC_GREEK] ? SC_CYRILLIC : SC_GREEK;
    if (count[SC_LATIN] == 0 || count[other] == 0)
        return;
    const glyph_pair *p = other == SC_CYRILLIC ? cyr_pairs : greek_pairs;
    size_t np = other == SC_CYRILLIC ? RP_ARRAY_LEN(cyr_pairs) : RP_ARRAY_LEN(greek_pairs);
    bool to_other;
    if (distinct[other] != distinct[SC_LATIN])
        to_other = distinct[other] > distinct[SC_LATIN];
    else if (count[other] != count[SC_LATIN])
        to_other = count[other] > count[SC_LATIN];
    else
        return;
    for (int32_t i = 0; i < len; i++) {
        for (size_t k = 0; k < np; k++) {
            if (to_other && p[k].to_other && w[i] == p[k].latin) {
                w[i] = p[k].other;
                break;
            }
            if (!to_other && w[i] == p[k].other) {
                w[i] = p[k].latin;
                break;
            }
        }
    }
}

/* The script most letters of @p w belong to (Latin when none has any). */
static script word_script(const UChar *w, int32_t len)
{
    int32_t count[SC_COUNT] = {0};
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(w, i, len, c);
        script s = script_of(c);
        if (s != SC_NONE)
            count[s]++;
    }
    script best = SC_LATIN;
    for (int s = 0; s < SC_COUNT; s++) {
        if (count[s] > count[best])
            best = (script)s;
    }
    return best;
}

/*
 * The Cyrillic system for the Cyrillic words of one name: letters only one language has
 * decide (ў Belarusian; і ї є ґ Ukrainian; ђ ћ џ љ њ ј Serbian; ѓ ќ ѕ Macedonian), then
 * the language hint, then ICAO (Russian). After the folds the Ukrainian and Russian
 * systems give the same key for the letters they share (г h/g, и y/i, й y/i), so a wrong
 * guess costs little.
 */
static tr_id cyrillic_system(const ulist *f, const script *sc, const char *code)
{
    bool be = false, uk = false, sr = false;
    for (size_t w = 0; w < f->n; w++) {
        if (sc[w] != SC_CYRILLIC)
            continue;
        const UChar *p = f->buf + f->off[w];
        for (int32_t i = 0; i < f->wlen[w]; i++) {
            UChar c = p[i];
            be = be || c == 0x045E;
            uk = uk || c == 0x0456 || c == 0x0457 || c == 0x0454 || c == 0x0491;
            sr = sr || c == 0x0452 || c == 0x045B || c == 0x045F || c == 0x0459 || c == 0x045A ||
                 c == 0x0458 || c == 0x0453 || c == 0x045C || c == 0x0455;
        }
    }
    if (be)
        return TR_CYR_BE;
    if (uk)
        return TR_CYR_UK;
    if (sr)
        return TR_CYR_SR;
    if (strcmp(code, "uk") == 0)
        return TR_CYR_UK;
    if (strcmp(code, "bg") == 0)
        return TR_CYR_BG;
    if (strcmp(code, "sr") == 0 || strcmp(code, "mk") == 0)
        return TR_CYR_SR;
    if (strcmp(code, "be") == 0)
        return TR_CYR_BE;
    return TR_CYR_RU;
}

/* ==== words of the input ==== */

/* Apostrophes and the like: dropped inside a word (O'Brien, Мар’яна, Ch'avch'avadze). */
static bool is_apostrophe(UChar32 c)
{
    return c == 0x0027 || c == 0x0060 || c == 0x00B4 || c == 0x2018 || c == 0x2019 || c == 0x201B ||
           c == 0x2032 || c == 0x02B9 || c == 0x02BB || c == 0x02BC || c == 0x02BD || c == 0x02BE ||
           c == 0x02BF || c == 0x055A || c == 0x05F3 || c == 0x00B7 || c == 0xFF07;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Words of an all-ASCII input: letters lowered, apostrophes dropped, the rest separates.
 * With n->digits, a run of digits is a word of its own (12a: 12, a). */
static int ascii_words(rp_normaliser *n, const char *in, size_t len)
{
    char *w = NULL;
    size_t wn = 0;
    if (grow_bytes(&n->u8, &n->u8_cap, len + 1) != RP_OK)
        return RP_ENOMEM;
    w = n->u8;
    for (size_t i = 0; i <= len; i++) {
        char c = ' ';
        if (i < len)
            c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        bool digit = n->digits && is_digit(c);
        if (wn > 0 && (digit || (c >= 'a' && c <= 'z')) && digit != is_digit(w[wn - 1])) {
            /* letters after digits or digits after letters: a new word */
            if (wl_push(&n->raw, w, wn) != RP_OK)
                return RP_ENOMEM;
            wn = 0;
        }
        if ((c >= 'a' && c <= 'z') || digit) {
            w[wn++] = c;
        } else if (c == '\'' || c == '`') {
            continue;
        } else if (wn > 0) {
            if (wl_push(&n->raw, w, wn) != RP_OK)
                return RP_ENOMEM;
            wn = 0;
        }
    }
    return RP_OK;
}

/* UTF-8 of @p s[0..len) into n->u8. */
static int to_utf8(rp_normaliser *n, const UChar *s, int32_t len, size_t *out_len, rp_error *err)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t n8 = 0;
    /* a UTF-16 unit is at most 3 bytes of UTF-8: one call, no preflight */
    if (len < 0 || len > (INT32_MAX - 1) / 3 ||
        grow_bytes(&n->u8, &n->u8_cap, 3 * (size_t)len + 1) != RP_OK)
        return oom(err);
    u_strToUTF8(n->u8, (int32_t)n->u8_cap, &n8, s, len, &st);
    if (U_FAILURE(st))
        return icu_fail(err, "to UTF-8", st);
    *out_len = (size_t)n8;
    return RP_OK;
}

/*
 * ASCII words of a transliteration in n->u8 (NUL-terminated), in place: letters kept and
 * lowered, spaces and hyphens separate, everything else dropped. A Han word's syllables
 * are grouped as passports write a Chinese name: the first (the family name) alone, the
 * others joined (张小明 zhang xiaoming).
 */
static size_t ascii_filter(char *s, bool han)
{
    size_t m = 0;
    bool first_done = false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c >= 'a' && c <= 'z') {
            s[m++] = c;
        } else if ((c == ' ' || c == '-') && m > 0 && s[m - 1] != ' ') {
            if (han && first_done)
                continue;
            s[m++] = ' ';
            first_done = true;
        }
    }
    while (m > 0 && s[m - 1] == ' ')
        m--;
    s[m] = '\0';
    return m;
}

/* Transliterate folded word @p w with @p tid; the ASCII result into n->u8. */
static int transliterate(rp_normaliser *n, tr_id tid, const UChar *w, int32_t len, rp_error *err)
{
    if (!n->tr[tid]) {
        int rc = open_tr(n, tid, err);
        if (rc != RP_OK)
            return rc;
    }
    int32_t cap = 4 * len + 64;
    for (;;) {
        if (grow_u16(&n->u_tr, &n->u_tr_cap, cap) != RP_OK)
            return oom(err);
        memcpy(n->u_tr, w, (size_t)len * sizeof(*w));
        UErrorCode st = U_ZERO_ERROR;
        int32_t tlen = len, limit = len;
        utrans_transUChars(n->tr[tid], n->u_tr, &tlen, n->u_tr_cap, 0, &limit, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) {
            if (n->u_tr_cap > INT32_MAX / 2)
                return icu_fail(err, "transliteration", st);
            cap = 2 * n->u_tr_cap;
            continue;
        }
        if (U_FAILURE(st))
            return icu_fail(err, "transliteration", st);
        size_t n8 = 0;
        int rc = to_utf8(n, n->u_tr, tlen, &n8, err);
        if (rc != RP_OK)
            return rc;
        ascii_filter(n->u8, tid == TR_HAN);
        return RP_OK;
    }
}

static tr_id system_of(script s, tr_id cyr)
{
    switch (s) {
    case SC_LATIN:
        return TR_LATIN;
    case SC_CYRILLIC:
        return cyr;
    case SC_GREEK:
        return TR_GREEK;
    case SC_GEORGIAN:
        return TR_GEORGIAN;
    case SC_ARMENIAN:
        return TR_ARMENIAN;
    case SC_ARABIC:
        return TR_ARABIC;
    case SC_HAN:
        return TR_HAN;
    default:
        return TR_ANY;
    }
}

/* Push the space-separated words of @p s onto n->raw. */
static int push_words(rp_normaliser *n, const char *s)
{
    while (*s) {
        while (*s == ' ')
            s++;
        size_t k = 0;
        while (s[k] && s[k] != ' ')
            k++;
        if (k > 0 && wl_push(&n->raw, s, k) != RP_OK)
            return RP_ENOMEM;
        s += k;
    }
    return RP_OK;
}

/* Words of a non-ASCII input (valid UTF-8 of @p len bytes) through ICU, onto n->raw. */
/* @p in[0..len) (valid UTF-8) to UTF-16 and NFKC, into n->u_nfkc; its length to *@p nk.
 * NFKC turns compatibility forms into plain letters: ligatures, full-width letters. */
static int icu_nfkc(rp_normaliser *n, const char *in, size_t len, int32_t *nk, rp_error *err)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t n16 = 0;
    if (grow_u16(&n->u_in, &n->u_in_cap, (int32_t)len + 1) != RP_OK)
        return oom(err);
    u_strFromUTF8(n->u_in, n->u_in_cap, &n16, in, (int32_t)len, &st);
    if (U_FAILURE(st))
        return icu_fail(err, "from UTF-8", st);
    /* most names are NFKC already: a copy then, as unorm2_normalize() would give */
    int32_t span = unorm2_spanQuickCheckYes(n->nfkc, n->u_in, n16, &st);
    if (U_SUCCESS(st) && span == n16) {
        if (grow_u16(&n->u_nfkc, &n->u_nfkc_cap, n16 + 1) != RP_OK)
            return oom(err);
        memcpy(n->u_nfkc, n->u_in, (size_t)n16 * sizeof(*n->u_in));
        *nk = n16;
        return RP_OK;
    }
    for (int32_t cap = 2 * n16 + 16;;) {
        if (grow_u16(&n->u_nfkc, &n->u_nfkc_cap, cap) != RP_OK)
            return oom(err);
        st = U_ZERO_ERROR;
        *nk = unorm2_normalize(n->nfkc, n->u_in, n16, n->u_nfkc, n->u_nfkc_cap, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR && *nk < INT32_MAX - 16) {
            cap = *nk + 16;
            continue;
        }
        return U_FAILURE(st) ? icu_fail(err, "NFKC", st) : RP_OK;
    }
}

/* Words of n->u_nfkc[0..nk) into n->words: letters and marks; apostrophes and
 * default-ignorables (ZWNJ, soft hyphen) vanish inside a word; the rest separates. With
 * n->digits, a run of decimal digits of any script is a word of its own, in ASCII digits. */
static int icu_split(rp_normaliser *n, int32_t nk)
{
    ul_clear(&n->words);

    enum { NONE, LETTERS, DIGITS };

    int in_word = NONE;
    for (int32_t i = 0; i < nk;) {
        UChar32 c;
        U16_NEXT(n->u_nfkc, i, nk, c);
        if (is_apostrophe(c) || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
            continue;
        int kind = NONE;
        if (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK))
            kind = LETTERS;
        else if (n->digits && u_charType(c) == U_DECIMAL_DIGIT_NUMBER && u_charDigitValue(c) >= 0)
            kind = DIGITS;
        if (kind == NONE) {
            in_word = NONE;
            continue;
        }
        if (kind == DIGITS)
            c = (UChar32)('0' + u_charDigitValue(c));
        if (in_word != kind && ul_begin(&n->words) != RP_OK)
            return RP_ENOMEM;
        in_word = kind;
        if (ul_putc(&n->words, c) != RP_OK)
            return RP_ENOMEM;
    }
    return RP_OK;
}

/* Case-fold word @p w of n->words onto n->folded (ß ss, İ i + dot, ς σ). */
static int icu_fold_word(rp_normaliser *n, size_t w, rp_error *err)
{
    int32_t wl = n->words.wlen[w];
    if (ul_begin(&n->folded) != RP_OK)
        return oom(err);
    for (int32_t cap = 2 * wl + 8;;) {
        if (grow_u16(&n->folded.buf, &n->folded.cap, n->folded.len + cap) != RP_OK)
            return oom(err);
        UErrorCode st = U_ZERO_ERROR;
        int32_t fl = u_strFoldCase(n->folded.buf + n->folded.len, n->folded.cap - n->folded.len,
                                   n->words.buf + n->words.off[w], wl, U_FOLD_CASE_DEFAULT, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) {
            cap = fl + 8;
            continue;
        }
        if (U_FAILURE(st))
            return icu_fail(err, "case folding", st);
        n->folded.len += fl;
        n->folded.wlen[n->folded.n - 1] = fl;
        return RP_OK;
    }
}

/* Folded word @p w through transliterator @p tid (or the memo), onto n->raw. */
static int icu_word(rp_normaliser *n, size_t w, tr_id tid, rp_error *err)
{
    const UChar *p = n->folded.buf + n->folded.off[w];
    int32_t wl = n->folded.wlen[w];
    size_t kl = 0;
    int rc = to_utf8(n, p, wl, &kl, err);
    if (rc != RP_OK)
        return rc;
    bool ascii = true;
    for (size_t i = 0; i < kl && ascii; i++)
        ascii = (unsigned char)n->u8[i] < 0x80;
    if (ascii) /* a plain ASCII word in a non-ASCII name: nothing to transliterate */
        return push_words(n, n->u8) == RP_OK ? RP_OK : oom(err);
    uint64_t h = rp_x_hash64(tid, n->u8, kl);
    const char *val = memo_find(n, tid, n->u8, kl, h);
    if (!val) {
        /* the key must outlive the transliteration, which reuses n->u8 */
        char *key = rp_x_strndup(n->u8, kl);
        if (!key)
            return oom(err);
        rc = transliterate(n, tid, p, wl, err);
        if (rc == RP_OK && memo_put(n, tid, key, kl, h, n->u8) != RP_OK)
            rc = oom(err);
        rp_free(key);
        if (rc != RP_OK)
            return rc;
        val = n->u8;
    }
    return push_words(n, val) == RP_OK ? RP_OK : oom(err);
}

/* Words of a non-ASCII input (valid UTF-8 of @p len bytes) through ICU, onto n->raw. */
static int icu_words(rp_normaliser *n, const char *in, size_t len, const char *code, rp_error *err)
{
    int32_t nk = 0;
    int rc = icu_nfkc(n, in, len, &nk, err);
    if (rc != RP_OK)
        return rc;
    if (icu_split(n, nk) != RP_OK)
        return oom(err);
    /* homoglyphs, on the letters as written; then case folding */
    ul_clear(&n->folded);
    for (size_t w = 0; w < n->words.n; w++) {
        /* one script (the common case): nothing to repair */
        if (mixed_latin(n->words.buf + n->words.off[w], n->words.wlen[w]))
            repair_homoglyphs(n->words.buf + n->words.off[w], n->words.wlen[w]);
        rc = icu_fold_word(n, w, err);
        if (rc != RP_OK)
            return rc;
    }
    if (n->folded.n > n->sc_cap) {
        script *sc = rp_reallocarray(n->sc, n->folded.n, sizeof(*sc));
        if (!sc)
            return oom(err);
        n->sc = sc;
        n->sc_cap = n->folded.n;
    }
    for (size_t w = 0; w < n->folded.n; w++)
        n->sc[w] = word_script(n->folded.buf + n->folded.off[w], n->folded.wlen[w]);
    tr_id cyr = cyrillic_system(&n->folded, n->sc, code);
    for (size_t w = 0; w < n->folded.n && rc == RP_OK; w++)
        rc = icu_word(n, w, system_of(n->sc[w], cyr), err);
    return rc;
}

/* ==== particles and articles ==== */

/* Joined to the next word: van der Berg ... Ben Salah, Bensalah; de Luca, Deluca. */
static const char *const join_particles[] = {
    "ben",   "bin", "ibn", "bint", "bent",  "abu",   "abou", "von",   "zu",
    "der",   "den", "de",  "del",  "della", "delle", "dei",  "degli", "dal",
    "dalla", "di",  "des", "ter",  "ten",   "mac",   "mc",   "st"};

/*
 * Joined only inside a chain of particles: van der, van den (van alone is also the
 * Vietnamese middle name Văn), de la, de los, della (la, le, lo alone are also family
 * names).
 */
static const char *const chain_particles[] = {"van", "la", "le", "lo", "los", "las", "het"};

/*
 * Arabic articles, and the Portuguese particles da, das, dos, dropped before another word:
 * Al-Hassan, El Hassan, Hassan; João Pereira da Silva, João Silva (records leave them out
 * far more often than they glue them to the name).
 */
static const char *const articles[] = {"al", "el", "ul", "da", "das", "dos"};

/*
 * Particles that keep a family name together in rp_normalise_full_name(): the joined,
 * chained and dropped ones above, and some that rp_normalise_name() leaves as words (du
 * and do are also family names; abd names have their own rule).
 */
static const char *const split_particles[] = {"du",    "do",  "abd",    "abdul", "abdel",
                                              "abdal", "vom", "vander", "vande", "te"};

static bool in_list(const char *const *list, size_t n, const char *w, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], w, len) == 0)
            return true;
    }
    return false;
}

static bool is_join(const char *w, size_t len)
{
    return in_list(join_particles, RP_ARRAY_LEN(join_particles), w, len);
}

static bool is_article(const char *w, size_t len)
{
    return in_list(articles, RP_ARRAY_LEN(articles), w, len);
}

static bool is_chain(const char *w, size_t len)
{
    return in_list(chain_particles, RP_ARRAY_LEN(chain_particles), w, len);
}

static bool is_split_particle(const char *w, size_t len)
{
    return is_join(w, len) || is_article(w, len) || is_chain(w, len) ||
           in_list(split_particles, RP_ARRAY_LEN(split_particles), w, len);
}

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* The canonical spelling of a joined particle: bin and ibn are ben, abou is abu. */
static const char *particle_form(const char *w, size_t len)
{
    if ((len == 3 && (memcmp(w, "bin", 3) == 0 || memcmp(w, "ibn", 3) == 0)))
        return "ben";
    if (len == 4 && memcmp(w, "bint", 4) == 0)
        return "bent";
    if (len == 4 && memcmp(w, "abou", 4) == 0)
        return "abu";
    return NULL;
}

/* Emit n->pend + @p w as one word of n->cooked, and empty n->pend. */
static int emit(rp_normaliser *n, const char *w, size_t len)
{
    int rc = RP_OK;
    if (n->pend.len == 0 && !rp_x_buf_oom(&n->pend))
        rc = wl_push(&n->cooked, w, len);
    else if (rp_x_buf_append(&n->pend, w, len) == RP_OK)
        rc = wl_push(&n->cooked, n->pend.data, n->pend.len);
    else
        rc = RP_ENOMEM;
    rp_x_buf_reset(&n->pend);
    return rc;
}

/*
 * The Arabic article at the start of @p w, as abd al-Rahman, Abdelrahman and Abdurrahman
 * write it (al el ul, or a vowel and a doubled sun letter: ar-r, as-s): the number of
 * bytes to skip, 0 when there is none or too little would be left.
 */
static size_t article_prefix(const char *w, size_t len)
{
    if (len < 5 || (w[0] != 'a' && w[0] != 'e' && w[0] != 'u'))
        return 0;
    if (w[1] == 'l' && !is_vowel(w[2]))
        return 2;
    if (!is_vowel(w[1]) && w[1] == w[2])
        return 2;
    return 0;
}

/*
 * Names with abd ("servant of"): Abdul Rahman, Abd al-Rahman, Abdelrahman, Abdurrahman
 * all become the words "abd" "rahman". @p i is the index of the word that starts with
 * abd; *@p next is set to the index of the next word to look at, or 0 when the word is
 * not one of these (Abdi, Abdou: then it is handled as any other word).
 * @return RP_OK; RP_ENOMEM.
 */
static int abd_name(rp_normaliser *n, size_t i, size_t *next)
{
    const wlist *l = &n->raw;
    const char *w = wl_word(l, i);
    size_t len = l->wlen[i];
    const char *rest = w + 3;
    size_t rl = len - 3;
    /* the linking vowel of abdul-, abdel-, abdal-, abdol-, abdoul-, abdur- */
    size_t v = 0;
    if (rl >= 2 && (rest[0] == 'u' || rest[0] == 'e' || rest[0] == 'a' || rest[0] == 'o'))
        v = rl >= 3 && rest[0] == 'o' && rest[1] == 'u' ? 2 : 1;
    *next = 0;
    if (rl == 0 || (v > 0 && v + 1 == rl && rest[v] == 'l')) {
        /* "abd" or "abdul" alone: the name is the next word, after an article */
        if (emit(n, "abd", 3) != RP_OK)
            return RP_ENOMEM;
        size_t j = i + 1;
        if (j + 1 < l->n && (is_article(wl_word(l, j), l->wlen[j]) ||
                             (l->wlen[j] == 2 && is_vowel(wl_word(l, j)[0]))))
            j++;
        if (j < l->n) {
            size_t skip = article_prefix(wl_word(l, j), l->wlen[j]);
            if (emit(n, wl_word(l, j) + skip, l->wlen[j] - skip) != RP_OK)
                return RP_ENOMEM;
            j++;
        }
        *next = j;
        return RP_OK;
    }
    /* abdul-, abdel-, abdoul- (Abdulaziz, Abdullah), or an assimilated article
     * (Abdurrahman, Abdessalam) */
    bool linked = v > 0 && v < rl && rest[v] == 'l' && rl - v - 1 >= 2;
    bool assimilated =
        v > 0 && v + 1 < rl && !is_vowel(rest[v]) && rest[v] == rest[v + 1] && rl - v - 1 >= 3;
    size_t stem = linked || assimilated ? 3 + v + 1 : 0;
    if (stem == 0)
        return RP_OK;
    if (emit(n, "abd", 3) != RP_OK || emit(n, w + stem, len - stem) != RP_OK)
        return RP_ENOMEM;
    *next = i + 1;
    return RP_OK;
}

static const tab_entry *tab_find(const rp_normaliser *n, const char *key, size_t len);

/*
 * The Arabic article glued to a name (Alhassan, Elhassan, as Al-Hassan and El Hassan
 * lose it): the bytes to skip, 0 when there is none. Only when what follows al or el is a
 * consonant and, folded, a name of 5 letters or more in the equivalence table (Hassan,
 * Hussein, Rashid), so that Albert, Alvarez and Elvira (Vera is in the table) keep
 * theirs whatever the language.
 * @return the bytes to skip; RP_ENOMEM as (size_t)-1.
 */
static size_t glued_article(rp_normaliser *n, const char *w, size_t len)
{
    if (!n->use_table || len < 6 || (w[0] != 'a' && w[0] != 'e') || w[1] != 'l' || is_vowel(w[2]) ||
        w[2] == 'l' || w[2] == 'y')
        return 0;
    if (grow_bytes(&n->fold, &n->fold_cap, RP_NORM_FOLD_SIZE(len - 2)) != RP_OK)
        return (size_t)-1;
    size_t fl = rp_encode__norm_fold(w + 2, len - 2, n->fold);
    return fl >= 5 && tab_find(n, n->fold, fl) ? 2 : 0;
}

/* n->raw to n->cooked: abd names, articles dropped, particles joined to the next word
 * (van den Berg, Van Den Berg and Vandenberg are all "vandenberg"). */
static int particles(rp_normaliser *n)
{
    const wlist *l = &n->raw;
    wl_clear(&n->cooked);
    rp_x_buf_reset(&n->pend);
    size_t i = 0;
    while (i < l->n) {
        const char *w = wl_word(l, i);
        size_t len = l->wlen[i];
        bool last = i + 1 == l->n;
        if (!last && is_article(w, len)) {
            i++;
            continue;
        }
        size_t glued = glued_article(n, w, len);
        if (glued == (size_t)-1)
            return RP_ENOMEM;
        w += glued;
        len -= glued;
        if (len >= 3 && memcmp(w, "abd", 3) == 0) {
            size_t next = 0;
            if (abd_name(n, i, &next) != RP_OK)
                return RP_ENOMEM;
            if (next > 0) {
                i = next;
                continue;
            }
        }
        bool chain = !last && is_chain(w, len) &&
                     (n->pend.len > 0 || is_join(wl_word(l, i + 1), l->wlen[i + 1]));
        /* a particle never joins a number (an address's "St 12"): folds take letters only.
           The next word that stays: articles before it are dropped ("de al 2") */
        size_t next = i + 1;
        while (next + 1 < l->n && is_article(wl_word(l, next), l->wlen[next]))
            next++;
        bool before_number = !last && is_digit(wl_word(l, next)[0]);
        if (!last && !before_number && (is_join(w, len) || chain)) {
            const char *form = particle_form(w, len);
            if (form)
                rp_x_buf_puts(&n->pend, form);
            else
                rp_x_buf_append(&n->pend, w, len);
            i++;
            continue;
        }
        if (emit(n, w, len) != RP_OK)
            return RP_ENOMEM;
        i++;
    }
    return rp_x_buf_oom(&n->pend) ? RP_ENOMEM : RP_OK;
}

/* ==== the equivalence table ==== */

static const tab_entry *tab_find(const rp_normaliser *n, const char *key, size_t len)
{
    if (!n->tab_cap)
        return NULL;
    uint64_t h = rp_x_hash64(0, key, len);
    for (size_t j = (size_t)h & (n->tab_cap - 1); n->tab[j].h; j = (j + 1) & (n->tab_cap - 1)) {
        const tab_entry *e = &n->tab[j];
        if (e->h == h && strncmp(e->key, key, len) == 0 && e->key[len] == '\0')
            return e;
    }
    return NULL;
}

static int tab_put(rp_normaliser *n, const char *key, const char *canon, long line)
{
    if (2 * (n->tab_n + 1) > n->tab_cap) {
        size_t cap = n->tab_cap ? 2 * n->tab_cap : 256;
        tab_entry *t = rp_calloc(cap, sizeof(*t));
        if (!t)
            return RP_ENOMEM;
        for (size_t i = 0; i < n->tab_cap; i++) {
            if (!n->tab[i].h)
                continue;
            size_t j = (size_t)n->tab[i].h & (cap - 1);
            while (t[j].h)
                j = (j + 1) & (cap - 1);
            t[j] = n->tab[i];
        }
        rp_free(n->tab);
        n->tab = t;
        n->tab_cap = cap;
    }
    size_t len = strlen(key);
    uint64_t h = rp_x_hash64(0, key, len);
    char *k = rp_x_arena_strndup(&n->tab_arena, key, len);
    if (!k)
        return RP_ENOMEM;
    size_t j = (size_t)h & (n->tab_cap - 1);
    while (n->tab[j].h)
        j = (j + 1) & (n->tab_cap - 1);
    n->tab[j].h = h;
    n->tab[j].key = k;
    n->tab[j].canon = canon;
    n->tab[j].line = line;
    n->tab_n++;
    return RP_OK;
}

/* ==== the pipeline ==== */

/* ASCII words of @p in[0..len) onto n->raw (before particles and folds). */
static int collect(rp_normaliser *n, const char *in, size_t len, const char *code, rp_error *err)
{
    wl_clear(&n->raw);
    if (len > NORM_INPUT_MAX)
        return rp_error_set(err, RP_EINVAL, "name is longer than %d bytes", NORM_INPUT_MAX);
    size_t bad = rp_x_utf8_check((const unsigned char *)in, len);
    if (bad != len)
        return rp_error_set(err, RP_EINVAL, "name is not valid UTF-8 (byte %zu)", bad + 1);
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)in[i] < 0x80;
    if (ascii)
        return ascii_words(n, in, len) == RP_OK ? RP_OK : oom(err);
    return icu_words(n, in, len, code, err);
}

static bool is_consonant(char c)
{
    return c >= 'a' && c <= 'z' && !is_vowel(c) && c != 'y';
}

/*
 * Bulgarian ъ, in place in word @p w of @p len bytes: the Streamlined System writes it a
 * (Valchev, Parvanov), older English and BGN spellings u or ŭ (Vulchev, Purvanov). It
 * stands mostly between a consonant and l or r before another consonant, where Bulgarian
 * seldom has у; there u is written a.
 */
static void bulgarian_schwa(char *w, size_t len)
{
    for (size_t i = 1; i + 2 < len; i++) {
        if (w[i] == 'u' && is_consonant(w[i - 1]) && (w[i + 1] == 'l' || w[i + 1] == 'r') &&
            is_consonant(w[i + 2]))
            w[i] = 'a';
    }
}

/* Fold the words of n->cooked, look each up in the table, write them to @p out. @p code
 * is the language code ("" when unknown). */
static int fold_out(rp_normaliser *n, const char code[3], char *out, size_t out_size, rp_error *err)
{
    size_t m = 0;
    bool bg = strcmp(code, "bg") == 0;
    for (size_t i = 0; i < n->cooked.n; i++) {
        size_t wl = n->cooked.wlen[i];
        if (bg)
            bulgarian_schwa(n->cooked.buf + n->cooked.off[i], wl);
        if (grow_bytes(&n->fold, &n->fold_cap, RP_NORM_FOLD_SIZE(wl)) != RP_OK)
            return oom(err);
        const char *cw = wl_word(&n->cooked, i);
        bool number = wl > 0 && is_digit(cw[0]); /* digits stay as written */
        size_t fl = number ? wl : rp_encode__norm_fold(cw, wl, n->fold);
        if (fl == 0)
            continue;
        const char *word = number ? cw : n->fold;
        if (n->use_table && !number) {
            const tab_entry *e = tab_find(n, n->fold, fl);
            if (e) {
                word = e->canon;
                fl = strlen(word);
            }
        }
        size_t need = m + (m > 0) + fl + 1;
        if (need > RP_NAME_MAX) {
            out[0] = '\0';
            return rp_error_set(err, RP_EINVAL,
                                "normalised name is longer than RP_NAME_MAX (%d bytes)",
                                RP_NAME_MAX);
        }
        if (need > out_size) {
            out[0] = '\0';
            return rp_error_set(err, RP_EINVAL,
                                "normalised name does not fit in %zu bytes (out_size)", out_size);
        }
        if (m > 0)
            out[m++] = ' ';
        memcpy(out + m, word, fl);
        m += fl;
    }
    out[m] = '\0';
    return RP_OK;
}

/*
 * The memo also keeps whole names, ASCII or not, keyed by the raw input and the language
 * code under an id no transliterator has: names repeat a lot (the same given and family
 * names come back thousands of times in one file), and a hit costs one hash and one
 * compare where the pipeline costs the ICU steps, the particle rules and the folds. The
 * result is a pure function of (input, language code) once the table is loaded, so the
 * memo never changes an output, only how fast it comes.
 */
static unsigned whole_name_id(const char code[3])
{
    return (unsigned)TR_COUNT + 1u + ((unsigned)(unsigned char)code[0] << 8) +
           (unsigned)(unsigned char)code[1];
}

/* The memo id of the particle test of a token (token_is_particle()), by language code:
 * above every whole_name_id(). */
static unsigned particle_id(const char code[3])
{
    return whole_name_id(code) + (1u << 16);
}

static int run(rp_normaliser *n,
               const char *in,
               size_t len,
               const char *lang,
               char *out,
               size_t out_size,
               rp_error *err)
{
    char code[3];
    lang_code(lang, code);
    if (len == 0) {
        out[0] = '\0'; /* no words */
        return RP_OK;
    }
    bool memo = n->use_table && len <= NORM_INPUT_MAX;
    /* addresses keep digits: their own memo entries, above every particle_id() */
    unsigned id = whole_name_id(code) + (n->digits ? 2u << 16 : 0u);
    uint64_t h = memo ? rp_x_hash64(id, in, len) : 0;
    const char *val = memo ? memo_find(n, id, in, len, h) : NULL;
    if (val) {
        size_t vl = strlen(val);
        if (vl + 1 > out_size) {
            out[0] = '\0';
            return rp_error_set(err, RP_EINVAL,
                                "normalised name does not fit in %zu bytes (out_size)", out_size);
        }
        memcpy(out, val, vl + 1);
        return RP_OK;
    }
    int rc = collect(n, in, len, code, err);
    if (rc == RP_OK && particles(n) != RP_OK)
        rc = oom(err);
    if (rc == RP_OK)
        rc = fold_out(n, code, out, out_size, err);
    if (rc == RP_OK && memo && memo_put(n, id, in, len, h, out) != RP_OK)
        rc = oom(err);
    if (rc != RP_OK)
        out[0] = '\0';
    return rc;
}

int rp_normalise_name(
    rp_normaliser *n, const char *in, const char *lang, char *out, size_t out_size, rp_error *err)
{
    if (!out || out_size == 0)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_name: no output buffer");
    out[0] = '\0';
    if (!n || !in)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_name: NULL argument");
    return run(n, in, strlen(in), lang, out, out_size, err);
}

int rp_normalise_address(
    rp_normaliser *n, const char *in, const char *lang, char *out, size_t out_size, rp_error *err)
{
    if (!out || out_size == 0)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_address: no output buffer");
    out[0] = '\0';
    if (!n || !in)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_address: NULL argument");
    n->digits = true;
    int rc = run(n, in, strlen(in), lang, out, out_size, err);
    n->digits = false;
    return rc;
}

/* ==== loading the table ==== */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * data/names/equivalents.csv: one group per line, spellings separated by commas, the
 * first the canonical form; '#' starts a comment line; blank lines are skipped. Every
 * spelling goes through the pipeline (without the table) and must give one word; a
 * spelling may be in one group only.
 */
/* One spelling @p a[0..len), field @p field of line @p line, into the group whose
 * canonical form is *@p canon (NULL: this is the first field, and becomes it). */
static int load_field(rp_normaliser *n,
                      const char *path,
                      long line,
                      size_t field,
                      const char *a,
                      size_t len,
                      const char **canon,
                      rp_error *err)
{
    char word[RP_NAME_MAX];
    if (memchr(a, '"', len))
        return rp_error_set_at(err, RP_EPARSE, path, line, 0,
                               "field %zu: quoted fields are not supported", field);
    int rc = run(n, a, len, NULL, word, sizeof(word), err);
    if (rc == RP_EINVAL)
        return rp_error_set_at(err, RP_EPARSE, path, line, 0,
                               "field %zu: not a name the normaliser reads", field);
    if (rc != RP_OK)
        return rc;
    if (word[0] == '\0' || strchr(word, ' '))
        return rp_error_set_at(err, RP_EPARSE, path, line, 0,
                               "field %zu: does not normalise to exactly one word", field);
    const tab_entry *e = tab_find(n, word, strlen(word));
    if (e && *canon && e->canon == *canon)
        return RP_OK; /* two spellings of the group fold to one key */
    if (e)
        return rp_error_set_at(err, RP_EPARSE, path, line, 0,
                               "field %zu: the spelling is already in the group of line %ld", field,
                               e->line);
    if (!*canon) {
        *canon = rp_x_arena_strndup(&n->tab_arena, word, strlen(word));
        if (!*canon)
            return oom(err);
    }
    return tab_put(n, word, *canon, line) == RP_OK ? RP_OK : oom(err);
}

/* One line @p s[0..end) of the table: a comment, blank, or a group. */
static int load_line(
    rp_normaliser *n, const char *path, long line, const char *s, const char *end, rp_error *err)
{
    while (s < end && is_space(*s))
        s++;
    if (s == end || *s == '#')
        return RP_OK;
    const char *canon = NULL;
    size_t field = 0;
    int rc = RP_OK;
    while (s <= end && rc == RP_OK) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *fe = comma ? comma : end;
        const char *a = s, *b = fe;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        field++;
        rc = load_field(n, path, line, field, a, (size_t)(b - a), &canon, err);
        s = fe + 1;
    }
    return rc;
}

static int load_table(rp_normaliser *n, const char *path, rp_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = rp_x_read_file(&text, &len, path, NORM_TABLE_MAX, err);
    if (rc != RP_OK)
        return rc;
    long line = 0;
    const char *p = text;
    while (rc == RP_OK && p < text + len) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(text + len - p));
        const char *end = eol ? eol : text + len;
        rc = load_line(n, path, line, p, end, err);
        p = eol ? eol + 1 : text + len;
    }
    rp_free(text);
    return rc;
}

/* ==== full names ==== */

/* Byte length of the Unicode space at @p s (NBSP, ideographic space), or 0. */
static size_t unicode_space(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *)s;
    if (end - s >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
        return 2;
    if (end - s >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
        return 3;
    return 0;
}

typedef struct span {
    const char *s;
    size_t len;
} span;

/* Is the token @p t a name particle (after the pipeline's transliteration)? */
static int token_is_particle(rp_normaliser *n, span t, const char *code, bool *yes, rp_error *err)
{
    *yes = false;
    bool ascii = true;
    for (size_t i = 0; i < t.len && ascii; i++)
        ascii = (unsigned char)t.s[i] < 0x80;
    /* the answer for a non-ASCII token is memoised, as whole names are ("p" or "") */
    bool memo = !ascii && t.len <= NORM_INPUT_MAX;
    unsigned id = particle_id(code);
    uint64_t h = memo ? rp_x_hash64(id, t.s, t.len) : 0;
    const char *val = memo ? memo_find(n, id, t.s, t.len, h) : NULL;
    if (val) {
        *yes = val[0] != '\0';
        return RP_OK;
    }
    int rc = collect(n, t.s, t.len, code, err);
    if (rc != RP_OK)
        return rc;
    if (n->raw.n == 1)
        *yes = is_split_particle(wl_word(&n->raw, 0), n->raw.wlen[0]);
    if (memo && memo_put(n, id, t.s, t.len, h, *yes ? "p" : "") != RP_OK)
        return oom(err);
    return RP_OK;
}

static bool is_white(const char *p, const char *end, size_t *skip)
{
    size_t sp = unicode_space(p, end);
    *skip = sp ? sp : 1;
    return sp || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
}

/* Tokens of @p in[0..len): runs between white space (a hyphen keeps a double name in one
 * token). From the @p max-th on, the rest of the name is one token. */
static size_t split_tokens(const char *in, size_t len, span *tok, size_t max)
{
    size_t nt = 0;
    const char *end = in + len;
    size_t skip = 0;
    for (const char *p = in; p < end;) {
        if (is_white(p, end, &skip)) {
            p += skip;
            continue;
        }
        const char *q = p;
        while (q < end && !is_white(q, end, &skip))
            q++;
        if (nt + 1 == max)
            q = end;
        tok[nt].s = p;
        tok[nt].len = (size_t)(q - p);
        nt++;
        p = q;
    }
    return nt;
}

/*
 * The family-name tokens [*@p f0, *@p f1) of @p nt > 1 tokens: the first or the last,
 * with the particles next to it; the given name keeps at least one token.
 */
static int family_tokens(rp_normaliser *n,
                         const span *tok,
                         size_t nt,
                         bool family_first,
                         const char *code,
                         size_t *f0,
                         size_t *f1,
                         rp_error *err)
{
    /* no particles in Vietnamese (Văn, Lê), Chinese, Korean, Japanese, Hungarian names */
    bool particles_apply =
        !(strcmp(code, "vi") == 0 || strcmp(code, "zh") == 0 || strcmp(code, "ko") == 0 ||
          strcmp(code, "ja") == 0 || strcmp(code, "hu") == 0);
    *f0 = family_first ? 0 : nt - 1;
    *f1 = family_first ? 1 : nt;
    bool yes = particles_apply;
    while (yes && (family_first ? *f1 < nt : *f0 > 1)) {
        span t = family_first ? tok[*f1 - 1] : tok[*f0 - 1];
        int rc = token_is_particle(n, t, code, &yes, err);
        if (rc != RP_OK)
            return rc;
        if (yes && family_first)
            (*f1)++;
        else if (yes)
            (*f0)--;
    }
    return RP_OK;
}

/* Normalise the tokens [a, b) of @p tok as one name into @p out ("" when a == b). */
static int tokens_out(rp_normaliser *n,
                      const span *tok,
                      size_t a,
                      size_t b,
                      const char *lang,
                      char *out,
                      size_t out_size,
                      rp_error *err)
{
    if (a >= b)
        return RP_OK;
    const char *s = tok[a].s;
    const char *e = tok[b - 1].s + tok[b - 1].len;
    return run(n, s, (size_t)(e - s), lang, out, out_size, err);
}

int rp_normalise_full_name(rp_normaliser *n,
                           const char *in,
                           bool family_first,
                           const char *lang,
                           char *given,
                           size_t given_size,
                           char *family,
                           size_t family_size,
                           rp_error *err)
{
    if (!given || given_size == 0 || !family || family_size == 0)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_full_name: no output buffer");
    given[0] = '\0';
    family[0] = '\0';
    if (!n || !in)
        return rp_error_set(err, RP_EINVAL, "rp_normalise_full_name: NULL argument");
    size_t len = strlen(in);
    if (len > NORM_INPUT_MAX)
        return rp_error_set(err, RP_EINVAL, "name is longer than %d bytes", NORM_INPUT_MAX);
    size_t bad = rp_x_utf8_check((const unsigned char *)in, len);
    if (bad != len)
        return rp_error_set(err, RP_EINVAL, "name is not valid UTF-8 (byte %zu)", bad + 1);

    int rc = RP_OK;
    const char *comma = memchr(in, ',', len);
    if (comma) {
        /* "Family, Given": the comma says which is which, whatever the order */
        rc = run(n, in, (size_t)(comma - in), lang, family, family_size, err);
        if (rc == RP_OK)
            rc = run(n, comma + 1, len - (size_t)(comma - in) - 1, lang, given, given_size, err);
        goto out;
    }
    span tok[64];
    size_t nt = split_tokens(in, len, tok, RP_ARRAY_LEN(tok));
    char code[3];
    lang_code(lang, code);
    size_t f0 = 0, f1 = nt; /* family tokens [f0, f1): a single token is a family name */
    if (nt > 1)
        rc = family_tokens(n, tok, nt, family_first, code, &f0, &f1, err);
    if (rc == RP_OK)
        rc = tokens_out(n, tok, f0, f1, lang, family, family_size, err);
    if (rc == RP_OK)
        rc = f0 > 0 ? tokens_out(n, tok, 0, f0, lang, given, given_size, err)
                    : tokens_out(n, tok, f1, nt, lang, given, given_size, err);
out:
    if (rc != RP_OK) {
        given[0] = '\0';
        family[0] = '\0';
    }
    return rc;
}

/* ==== birth dates ==== */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = 10 * v + (s[i] - '0');
    return v;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int rp_birth_date_parse(rp_birth_date *out, const char *iso)
{
    if (!out)
        return RP_EDATA;
    out->year = out->month = out->day = 0;
    if (!iso)
        return RP_EDATA;
    size_t len = strlen(iso);
    if (len == 0)
        return RP_OK;
    if (!(len == 4 || len == 7 || len == 10) || !digits(iso, 4))
        return RP_EDATA;
    int y = num(iso, 4), m = 0, d = 0;
    if (y < 1900 || y > 2100)
        return RP_EDATA;
    if (len >= 7) {
        if (iso[4] != '-' || !digits(iso + 5, 2))
            return RP_EDATA;
        m = num(iso + 5, 2);
        if (m < 1 || m > 12)
            return RP_EDATA;
    }
    if (len == 10) {
        if (iso[7] != '-' || !digits(iso + 8, 2))
            return RP_EDATA;
        d = num(iso + 8, 2);
        if (d < 1 || d > days_in_month(y, m))
            return RP_EDATA;
    }
    out->year = y;
    out->month = m;
    out->day = d;
    return RP_OK;
}
