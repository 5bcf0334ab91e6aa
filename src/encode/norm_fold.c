/*
 * Spelling folds of the name normaliser: one transliterated ASCII word in, its canonical
 * key out. The romanisation systems of one name (KMU 2010, ICAO 9303, BGN/PCGN, German
 * Duden, Polish, Serbian and Hungarian Latin, English habits) differ mostly in how they
 * write a handful of sounds; the folds below write each of those sounds one way, so that
 * Shcherbak, Schtscherbak, Szczerbak and Scherbak all become "serbak". The result is a key
 * for q-gram comparison, not a readable name.
 */
#include "encode/norm_int.h"

#include <stdbool.h>
#include <string.h>

/*
 * Internal sound-class symbols, upper case so that they never meet an input letter (the
 * input is a-z only). They are lowered at the very end:
 *   S  sh sch sz (ш), and shch schtsch szcz (щ) through the SC rule below
 *   C  ch cz cs tsch tch ts tz (ч, ц), and a plain c not taken as k (hard_c)
 *   Z  zh zs (ж)
 *   J  dzh dz dzs dsch xh (дж), and the glide y/j/i before a vowel at the start of a word
 */

typedef struct digraph {
    const char *from;
    unsigned char len;
    const char *to;
} digraph;

/* Longest first: at each position the first rule that matches wins. */
static const digraph digraphs[] = {
    {"dsch", 4, "J"}, {"tsch", 4, "C"}, {"dzs", 3, "J"}, {"dzh", 3, "J"}, {"sch", 3, "S"},
    {"tch", 3, "C"},  {"dz", 2, "J"},   {"xh", 2, "J"},  {"ch", 2, "C"},  {"cz", 2, "C"},
    {"cs", 2, "C"},   {"ts", 2, "C"},   {"tz", 2, "C"},  {"sh", 2, "S"},  {"sz", 2, "S"},
    {"zh", 2, "Z"},   {"zs", 2, "Z"},   {"gh", 2, "g"},  {"ph", 2, "f"},  {"dh", 2, "d"},
    {"dj", 2, "d"},   {"gg", 2, "ng"},  {"x", 1, "ks"},  {"q", 1, "k"},   {"w", 1, "v"},
};

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/*
 * Latin c is k in Romance, English and Romanian and ц in the Slavic languages, Hungarian
 * and Albanian. It is taken as k only where the Slavic languages seldom write it: before
 * l, r or t, and before a, o or u at the start of a word, after a vowel or after r (Carla
 * Karla, Erica Erika, Jacob Jakob, Marco Marko, Turcanu Tsurkanu), not after another
 * consonant (Czech Adamcová is not Adámková, Urbancová not Urbánková).
 */
static bool hard_c(const char *w, size_t len, size_t i)
{
    char next = '\0';
    if (i + 1 < len)
        next = w[i + 1];
    if (next == 'l' || next == 'r' || next == 't')
        return true;
    if (next != 'a' && next != 'o' && next != 'u')
        return false;
    if (i > 0 && w[i - 1] == 'c')
        i--; /* the second c of cc looks behind the first (Rocco) */
    return i == 0 || is_vowel(w[i - 1]) || w[i - 1] == 'r';
}

/*
 * English ck is k; Polish and Czech ck before a vowel is ц + k (Lewicki, Levytskyi): k
 * only at the end, before a consonant or before e (Derrick, Beckett).
 */
static bool english_ck(const char *w, size_t len, size_t i)
{
    if (i + 1 >= len || w[i] != 'c' || w[i + 1] != 'k')
        return false;
    if (i + 2 == len)
        return true;
    char after = w[i + 2];
    return after == 'e' || !is_vowel(after);
}

/* Pass 1: digraphs and single letters to symbols. Writes at most 2 * len bytes. */
static size_t tokenise(const char *w, size_t len, char *t)
{
    size_t m = 0;
    size_t i = 0;
    while (i < len) {
        bool matched = false;
        for (size_t r = 0; r < sizeof(digraphs) / sizeof(digraphs[0]); r++) {
            const digraph *d = &digraphs[r];
            /* the first letter first: most rules fail there, without a call */
            if (d->from[0] == w[i] && d->len <= len - i && memcmp(w + i, d->from, d->len) == 0) {
                for (const char *p = d->to; *p; p++)
                    t[m++] = *p;
                i += d->len;
                matched = true;
                break;
            }
        }
        if (matched)
            continue;
        char c = w[i];
        if (c == 'c' && english_ck(w, len, i)) {
            t[m++] = 'k';
            i += 2;
            continue;
        }
        if (c == 'c') {
            if (i + 1 < len && w[i + 1] == 'c') {
                i++; /* cc: the second c decides (Rocco k, Ricci C) */
                continue;
            }
            c = hard_c(w, len, i) ? 'k' : 'C';
        }
        t[m++] = c;
        i++;
    }
    return m;
}

/* Delete t[at] from t[0..*m). */
static void del(char *t, size_t *m, size_t at)
{
    memmove(t + at, t + at + 1, *m - at - 1);
    (*m)--;
}

/* Glides and vowels (pass 2), in place. */
static void glides(char *t, size_t *m)
{
    /* Word start: KMU yi (ї) is i; then the glide before a vowel. */
    if (*m >= 2 && t[0] == 'y' && t[1] == 'i')
        del(t, m, 0);
    if (*m >= 2 && (t[0] == 'y' || t[0] == 'j' || t[0] == 'i') &&
        (t[1] == 'a' || t[1] == 'e' || t[1] == 'o' || t[1] == 'u')) {
        if (t[1] == 'e')
            del(t, m, 0); /* ye je ie e: Yelena, Jelena, Ievgen, Elena */
        else
            t[0] = 'J'; /* ya ja ia, yu ju iu, yo jo io: Yulia, Julia, Iuliia */
    } else if (*m >= 1 && t[0] == 'j') {
        t[0] = 'J';
    }
    /* Everywhere else y and j are i: Mariya, Marija, Mariia; Zgurskiy, Zghurskyi. */
    for (size_t i = 0; i < *m; i++) {
        if (t[i] == 'y' || t[i] == 'j')
            t[i] = 'i';
    }
    /* ou before a consonant is u (Greek ου, French ou): Papadopoulos, Papadopulos. Not
     * at the end or before a vowel: Chinese Zhou and Zhu, Hou and Hu are not one name. */
    for (size_t i = 0; i + 2 < *m; i++) {
        if (t[i] == 'o' && t[i + 1] == 'u' && !is_vowel(t[i + 2]))
            del(t, m, i);
    }
    /* German umlauts written ae oe ue, after a consonant or at the start: Mueller. */
    for (size_t i = 0; i + 1 < *m; i++) {
        if ((t[i] == 'a' || t[i] == 'o' || t[i] == 'u') && t[i + 1] == 'e' &&
            (i == 0 || !is_vowel(t[i - 1])))
            del(t, m, i + 1);
    }
    /* A vowel then ie: the glide of е after a vowel (Andreyev, Andreev). */
    for (size_t i = 0; i + 2 < *m; i++) {
        if (is_vowel(t[i]) && t[i + 1] == 'i' && t[i + 2] == 'e')
            del(t, m, i + 1);
    }
}

size_t rp_encode__norm_fold(const char *word, size_t len, char *out)
{
    /* Pinyin ü as a whole syllable: Lyu, Lv and Lu (吕) are one name; Liu (刘) is not. */
    if ((len == 3 && (memcmp(word, "lyu", 3) == 0 || memcmp(word, "nyu", 3) == 0)) ||
        (len == 2 && (memcmp(word, "lv", 2) == 0 || memcmp(word, "nv", 2) == 0))) {
        out[0] = word[0];
        out[1] = 'u';
        out[2] = '\0';
        return 2;
    }
    size_t m = tokenise(word, len, out);

    /* щ is ш + ч in every system (shch, schtsch, szcz, šč) and sc before e/i in Italian. */
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if ((out[i] == 'S' || out[i] == 's') && i + 1 < m && out[i + 1] == 'C') {
            out[k++] = 'S';
            i++;
            continue;
        }
        out[k++] = out[i];
    }
    m = k;

    glides(out, &m);

    /* A final h after a vowel is not heard (Sarah, Abdullah, Fatimah). */
    k = 0;
    for (size_t i = 0; i < m; i++) {
        char c = out[i];
        if (c == 'h' && i + 1 == m && i > 0 && is_vowel(out[i - 1]))
            continue;
        if (c == 'S')
            c = 's';
        else if (c == 'C')
            c = 'c';
        else if (c == 'Z')
            c = 'z';
        else if (c == 'J')
            c = 'j';
        /* double letters single, also when the symbols made them (sS, kk) */
        if (k > 0 && out[k - 1] == c)
            continue;
        out[k++] = c;
    }
    out[k] = '\0';
    return k;
}
