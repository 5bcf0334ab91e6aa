/*
 * Comparators of the clear-text linkage (include/rapporteur/fs.h): Jaro, Jaro-Winkler
 * and the optimal-string-alignment Damerau-Levenshtein distance over Unicode code
 * points, Soundex, date parsing, the level of a pair on one comparison, and the
 * transforms of blocking keys.
 *
 * Strings are decoded once per comparison into stack arrays of at most RP_FS_MAX_CHARS
 * code points; nothing here allocates, so the kernels run in the blocking loop as they
 * are. The values are normalised by the caller (rp_normalise_name for names), so case
 * and marks are already folded.
 */
#include "link/fs_int.h"

#include <rapporteur/fs.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/common_int.h"

/* clang-format on */

/* ==== UTF-8 ==== */

size_t rp_fs__decode(const char *s, uint32_t *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s), n = 0;
    while (avail > 0 && n < cap) {
        size_t len = rp_x_utf8_char_len(p, avail);
        uint32_t cp = 0xfffd;
        if (len == 0) {
            len = 1;
        } else if (len == 1) {
            cp = p[0];
        } else {
            cp = (uint32_t)p[0] & (0x7fu >> len);
            for (size_t i = 1; i < len; i++)
                cp = (cp << 6) | ((uint32_t)p[i] & 0x3fu);
        }
        out[n++] = cp;
        p += len;
        avail -= len;
    }
    return n;
}

/* ==== Jaro and Jaro-Winkler ==== */

/* Jaro's score from the matches and half-transpositions. */
static double jaro_score(size_t matches, size_t half_t, size_t na, size_t nb)
{
    if (matches == 0)
        return 0.0;
    double m = (double)matches;
    size_t transpositions = half_t / 2; /* Jaro: half the out-of-order matches, rounded down */
    double t = (double)transpositions;
    return (m / (double)na + m / (double)nb + (m - t) / m) / 3.0;
}

/*
 * Jaro for ASCII strings of at most 64 characters, bit-parallel: pm[c] has bit j set for
 * each position j of b holding c, so the first unmatched b position of a[i]'s character
 * inside the window is one AND and one count-trailing-zeros (the same greedy choice as
 * the textbook loop, in O(|a| + |b|)).
 */
static double
jaro_ascii64(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t window)
{
    uint64_t pm[128];
    for (size_t i = 0; i < na; i++)
        pm[a[i]] = 0;
    for (size_t j = 0; j < nb; j++)
        pm[b[j]] = 0;
    for (size_t j = 0; j < nb; j++)
        pm[b[j]] |= 1ull << j;
    uint64_t am = 0, bm = 0;
    size_t matches = 0;
    for (size_t i = 0; i < na; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < nb ? i + window + 1 : nb; /* exclusive */
        if (lo >= hi)
            continue;
        uint64_t win = (hi - lo == 64 ? ~0ull : ((1ull << (hi - lo)) - 1)) << lo;
        uint64_t cand = pm[a[i]] & ~bm & win;
        if (cand != 0) {
            bm |= cand & (~cand + 1);
            am |= 1ull << i;
            matches++;
        }
    }
    size_t half_t = 0;
    uint64_t ra = am, rb = bm;
    while (ra != 0) {
        unsigned i = (unsigned)__builtin_ctzll(ra);
        unsigned j = (unsigned)__builtin_ctzll(rb);
        half_t += a[i] != b[j];
        ra &= ra - 1;
        rb &= rb - 1;
    }
    return jaro_score(matches, half_t, na, nb);
}

static bool ascii_only(const uint32_t *s, size_t n)
{
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= s[i];
    return any < 128;
}

double rp_fs__jaro_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    if (na == 0 && nb == 0)
        return 1.0;
    if (na == 0 || nb == 0)
        return 0.0;
    size_t longer = na > nb ? na : nb;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    if (na <= 64 && nb <= 64 && ascii_only(a, na) && ascii_only(b, nb))
        return jaro_ascii64(a, na, b, nb, window);
    bool am[RP_FS_MAX_CHARS], bm[RP_FS_MAX_CHARS];
    memset(am, 0, na * sizeof *am);
    memset(bm, 0, nb * sizeof *bm);
    size_t matches = 0;
    for (size_t i = 0; i < na; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < nb ? i + window + 1 : nb;
        for (size_t j = lo; j < hi; j++) {
            if (!bm[j] && a[i] == b[j]) {
                am[i] = bm[j] = true;
                matches++;
                break;
            }
        }
    }
    size_t half_t = 0, k = 0;
    for (size_t i = 0; i < na && matches > 0; i++) {
        if (!am[i])
            continue;
        while (!bm[k])
            k++;
        half_t += a[i] != b[k];
        k++;
    }
    return jaro_score(matches, half_t, na, nb);
}

/* Winkler (1990): prefix scale 0.1, prefix of at most 4, boost only above 0.7. */
#define JW_PREFIX_SCALE 0.1
#define JW_PREFIX_MAX   4
#define JW_BOOST_FROM   0.7

double rp_fs__jw_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    double j = rp_fs__jaro_cp(a, na, b, nb);
    if (j <= JW_BOOST_FROM)
        return j;
    size_t l = 0;
    while (l < na && l < nb && l < JW_PREFIX_MAX && a[l] == b[l])
        l++;
    return j + (double)l * JW_PREFIX_SCALE * (1.0 - j);
}

double rp_fs_jaro(const char *a, const char *b)
{
    uint32_t ca[RP_FS_MAX_CHARS], cb[RP_FS_MAX_CHARS];
    size_t na = rp_fs__decode(a, ca, RP_FS_MAX_CHARS);
    size_t nb = rp_fs__decode(b, cb, RP_FS_MAX_CHARS);
    return rp_fs__jaro_cp(ca, na, cb, nb);
}

double rp_fs_jaro_winkler(const char *a, const char *b)
{
    /* zeroed: gcc -O3 cannot see that the decoder fills what jaro reads (-Wmaybe-uninitialized) */
    uint32_t ca[RP_FS_MAX_CHARS] = {0}, cb[RP_FS_MAX_CHARS] = {0};
    size_t na = rp_fs__decode(a, ca, RP_FS_MAX_CHARS);
    size_t nb = rp_fs__decode(b, cb, RP_FS_MAX_CHARS);
    return rp_fs__jw_cp(ca, na, cb, nb);
}

/* ==== Damerau-Levenshtein (optimal string alignment) ==== */

static unsigned min3(unsigned x, unsigned y, unsigned z)
{
    unsigned m = x < y ? x : y;
    return m < z ? m : z;
}

unsigned rp_fs__osa_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, unsigned max)
{
    size_t diff = na > nb ? na - nb : nb - na;
    if (diff > max)
        return max + 1;
    if (na == 0 || nb == 0)
        return (unsigned)(na + nb);
    /* three rows of the dynamic programme: i-2, i-1, i */
    unsigned r0[RP_FS_MAX_CHARS + 1], r1[RP_FS_MAX_CHARS + 1], r2[RP_FS_MAX_CHARS + 1];
    unsigned *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (unsigned)i;
        unsigned row_min = cur[0];
        for (size_t j = 1; j <= nb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (row_min > max)
            return max + 1;
        unsigned *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

unsigned rp_fs_damerau_levenshtein(const char *a, const char *b)
{
    uint32_t ca[RP_FS_MAX_CHARS], cb[RP_FS_MAX_CHARS];
    size_t na = rp_fs__decode(a, ca, RP_FS_MAX_CHARS);
    size_t nb = rp_fs__decode(b, cb, RP_FS_MAX_CHARS);
    return rp_fs__osa_cp(ca, na, cb, nb, 2 * RP_FS_MAX_CHARS);
}

/* ==== Soundex ==== */

/* Soundex digit of an ASCII letter (lower case): '0' vowel, 'h' for h and w (transparent). */
static char soundex_digit(int c)
{
    static const char table[] = "01230120022455012623010202"; /* a..z */
    if (c == 'h' || c == 'w')
        return 'h';
    return table[c - 'a'];
}

void rp_fs_soundex(const char *s, char out[5])
{
    size_t n = 0;
    char last = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < 4; p++) {
        int c = *p;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c < 'a' || c > 'z')
            continue;
        char d = soundex_digit(c);
        if (n == 0) {
            out[n++] = (char)(c - 'a' + 'A');
            last = d;
            continue;
        }
        if (d == 'h')
            continue; /* h and w do not separate equal codes */
        if (d != '0' && d != last)
            out[n++] = d;
        last = d;
    }
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    while (n < 4)
        out[n++] = '0';
    out[4] = '\0';
}

/* ==== dates ==== */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid_date(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    int lim = mdays[m - 1] + (m == 2 && leap(y));
    return d <= lim;
}

/* Read 1 to @p maxd digits at *p into *v; advance *p. */
static bool digits(const char **p, int mind, int maxd, int *v)
{
    int n = 0, x = 0;
    while (n < maxd && **p >= '0' && **p <= '9') {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n >= mind;
}

static bool parse_parts(const char *s, int *y, int *m, int *d)
{
    size_t len = strlen(s);
    const char *p = s;
    if (len == 8 && strspn(s, "0123456789") == 8) {
        *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        *m = (s[4] - '0') * 10 + (s[5] - '0');
        *d = (s[6] - '0') * 10 + (s[7] - '0');
        return true;
    }
    int a = 0, b = 0, c = 0;
    if (!digits(&p, 1, 4, &a))
        return false;
    char sep = *p;
    if (sep != '-' && sep != '/' && sep != '.')
        return false;
    p++;
    if (!digits(&p, 1, 2, &b) || *p != sep)
        return false;
    p++;
    const char *third = p;
    if (!digits(&p, 1, 4, &c) || *p != '\0')
        return false;
    if (p - s > 4 && s[4] == sep) { /* YYYY-MM-DD */
        *y = a;
        *m = b;
        *d = c;
        return p - third <= 2;
    }
    if (sep == '-' || p - third != 4)
        return false;
    *d = a; /* DD/MM/YYYY, DD.MM.YYYY */
    *m = b;
    *y = c;
    return true;
}

bool rp_fs_date_parse(const char *s, long *day, int *y, int *m, int *d)
{
    int yy = 0, mm = 0, dd = 0;
    if (s == NULL || !parse_parts(s, &yy, &mm, &dd) || !valid_date(yy, mm, dd))
        return false;
    if (day)
        *day = days_from_civil(yy, (unsigned)mm, (unsigned)dd);
    if (y)
        *y = yy;
    if (m)
        *m = mm;
    if (d)
        *d = dd;
    return true;
}

/* ==== levels ==== */

bool rp_fs__comparison_levels(rp_fs__comparison *c)
{
    unsigned n = 0;
    rp_fs_level_kind lv[2 * RP_FS_MAX_LEVELS];
    lv[n++] = RP_FS_LEVEL_NULL;
    lv[n++] = RP_FS_LEVEL_EXACT;
    if (c->rev_col >= 0)
        lv[n++] = RP_FS_LEVEL_REVERSED;
    if (c->kind == RP_FS_DATE && c->dm_swap)
        lv[n++] = RP_FS_LEVEL_SWAP;
    if (c->kind == RP_FS_DATE && c->max_edits > 0)
        lv[n++] = RP_FS_LEVEL_EDITS;
    if (c->kind != RP_FS_EXACT)
        for (size_t t = 0; t < c->n_thr; t++)
            lv[n++] = RP_FS_LEVEL_SIMILAR;
    lv[n++] = RP_FS_LEVEL_ELSE;
    if (n > RP_FS_MAX_LEVELS)
        return false;
    memcpy(c->level, lv, n * sizeof *lv);
    c->n_levels = n;
    return true;
}

/* The digits of a date as YYYYMMDD when it parses, else the string itself (decoded). */
static size_t date_chars(const char *s, uint32_t *out)
{
    int y = 0, m = 0, d = 0;
    if (rp_fs_date_parse(s, NULL, &y, &m, &d)) {
        const int parts[3][2] = {{y, 1000}, {m, 10}, {d, 10}};
        size_t n = 0;
        for (size_t p = 0; p < 3; p++)
            for (int div = parts[p][1]; div > 0; div /= 10)
                out[n++] = (uint32_t)('0' + (parts[p][0] / div) % 10);
        return n;
    }
    return rp_fs__decode(s, out, RP_FS_MAX_CHARS);
}

/* Level of a date pair after exact and reversed, counting from @p idx. */
static unsigned date_level(const rp_fs__comparison *c, const char *a, const char *b, unsigned idx)
{
    long da = 0, db = 0;
    int ya = 0, ma = 0, xa = 0, yb = 0, mb = 0, xb = 0;
    bool pa = rp_fs_date_parse(a, &da, &ya, &ma, &xa);
    bool pb = rp_fs_date_parse(b, &db, &yb, &mb, &xb);
    if (c->dm_swap) {
        if (pa && pb && ya == yb && ma == xb && xa == mb && ma != xa)
            return idx;
        idx++;
    }
    if (c->max_edits > 0) {
        uint32_t ca[RP_FS_MAX_CHARS], cb[RP_FS_MAX_CHARS];
        size_t na = date_chars(a, ca), nb = date_chars(b, cb);
        if (rp_fs__osa_cp(ca, na, cb, nb, c->max_edits) <= c->max_edits)
            return idx;
        idx++;
    }
    long diff = da > db ? da - db : db - da;
    for (size_t t = 0; t < c->n_thr; t++, idx++)
        if (pa && pb && (double)diff <= c->thr[t])
            return idx;
    return idx;
}

/* The largest Jaro-Winkler two strings of these lengths can reach (all of the shorter
   string matching, no transposition, the longest prefix). */
static double jw_bound(size_t na, size_t nb)
{
    size_t mn = na < nb ? na : nb;
    if (mn == 0)
        return 0.0;
    double j = ((double)mn / (double)na + (double)mn / (double)nb + 1.0) / 3.0;
    return j <= JW_BOOST_FROM ? j : j + JW_PREFIX_MAX * JW_PREFIX_SCALE * (1.0 - j);
}

static unsigned
string_level(const rp_fs__comparison *c, const rp_fs__value *a, const rp_fs__value *b, unsigned idx)
{
    if (c->kind == RP_FS_EXACT || c->n_thr == 0)
        return idx;
    if (c->kind == RP_FS_DAMERAU_LEVENSHTEIN) {
        unsigned max = (unsigned)c->thr[c->n_thr - 1];
        unsigned dist = rp_fs__osa_cp(a->cp, a->n, b->cp, b->n, max);
        for (size_t t = 0; t < c->n_thr; t++, idx++)
            if ((double)dist <= c->thr[t])
                return idx;
        return idx;
    }
    if (jw_bound(a->n, b->n) < c->thr[c->n_thr - 1])
        return idx + (unsigned)c->n_thr; /* cannot reach the lowest threshold */
    double s = c->kind == RP_FS_JARO ? rp_fs__jaro_cp(a->cp, a->n, b->cp, b->n)
                                     : rp_fs__jw_cp(a->cp, a->n, b->cp, b->n);
    for (size_t t = 0; t < c->n_thr; t++, idx++)
        if (s >= c->thr[t])
            return idx;
    return idx;
}

unsigned rp_fs__level_v(const rp_fs__comparison *c,
                        const rp_fs__value *a,
                        const rp_fs__value *b,
                        const char *ra,
                        const char *rb)
{
    if (a->s == NULL || b->s == NULL || a->s[0] == '\0' || b->s[0] == '\0')
        return 0;
    if (strcmp(a->s, b->s) == 0)
        return 1;
    unsigned idx = 2;
    if (c->rev_col >= 0) {
        if (ra != NULL && rb != NULL && ra[0] != '\0' && rb[0] != '\0' && strcmp(a->s, rb) == 0 &&
            strcmp(b->s, ra) == 0)
            return idx;
        idx++;
    }
    if (c->kind == RP_FS_DATE)
        return date_level(c, a->s, b->s, idx);
    return string_level(c, a, b, idx);
}

unsigned rp_fs__level(
    const rp_fs__comparison *c, const char *a, const char *b, const char *ra, const char *rb)
{
    uint32_t ca[RP_FS_MAX_CHARS], cb[RP_FS_MAX_CHARS];
    rp_fs__value va = {a, ca, 0}, vb = {b, cb, 0};
    if (a != NULL && c->kind != RP_FS_DATE)
        va.n = rp_fs__decode(a, ca, RP_FS_MAX_CHARS);
    if (b != NULL && c->kind != RP_FS_DATE)
        vb.n = rp_fs__decode(b, cb, RP_FS_MAX_CHARS);
    return rp_fs__level_v(c, &va, &vb, ra, rb);
}

/* ==== blocking transforms ==== */

size_t rp_fs__transform(const rp_fs__part *p, const char *v, char *out, size_t size)
{
    if (size > 0)
        out[0] = '\0';
    if (v == NULL || v[0] == '\0' || size < 16)
        return 0;
    size_t len = strlen(v);
    const unsigned char *s = (const unsigned char *)v;
    size_t from = 0, to = len;
    switch (p->kind) {
    case RP_FS__TR_SOUNDEX: {
        char code[5];
        rp_fs_soundex(v, code);
        return rp_x_strlcpy(out, code, size);
    }
    case RP_FS__TR_YEAR: {
        int y = 0;
        if (rp_fs_date_parse(v, NULL, &y, NULL, NULL))
            return (size_t)snprintf(out, size, "%04d", y);
        if (len < 4 || strspn(v, "0123456789") < 4)
            return 0;
        to = 4;
        break;
    }
    case RP_FS__TR_FIRST: {
        size_t pos = 0;
        for (unsigned k = 0; k < p->n && pos < len; k++) {
            size_t cl = rp_x_utf8_char_len(s + pos, len - pos);
            pos += cl ? cl : 1;
        }
        to = pos;
        break;
    }
    case RP_FS__TR_LAST: {
        size_t count = 0, pos = len;
        while (pos > 0 && count < p->n) {
            pos--;
            if ((s[pos] & 0xc0u) != 0x80u)
                count++;
        }
        from = pos;
        break;
    }
    case RP_FS__TR_EXACT:
    default:
        break;
    }
    if (to - from >= size)
        to = from + size - 1;
    memcpy(out, v + from, to - from);
    out[to - from] = '\0';
    return to - from;
}
