/*
 * libFuzzer target for the name normaliser (src/encode/normalise.c): the first byte of
 * the input picks a language hint, the rest is the name. rp_normalise_name() and
 * rp_normalise_full_name() (both orders) must return RP_OK or RP_EINVAL, an output of
 * lower-case ASCII words separated by single spaces, the same output again (the memo),
 * and "" on failure. rp_normalise_address() likewise, its words of letters or of digits.
 * rp_birth_date_parse() reads the same bytes as a date.
 */
#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Language hints: codes with their own Cyrillic system, others, junk. */
static const char *const langs[] = {NULL, "uk", "ru", "bg", "sr",    "mk",    "be", "el",
                                    "ka", "hy", "ar", "fa", "zh",    "vi",    "pl", "de",
                                    "hu", "xx", "",   "u",  "uk_UA", "RU-ru", "ÿÿ"};

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_normalise: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* Lower-case ASCII words separated by single spaces, no space at either end. */
static bool canonical(const char *s)
{
    if (s[0] == ' ')
        return false;
    for (const char *p = s; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            continue;
        if (*p != ' ' || p[1] == ' ' || p[1] == '\0')
            return false;
    }
    return strlen(s) < RP_NAME_MAX;
}

/* An address key: words of a-z or of 0-9 (never both in one word), single spaces. */
static bool canonical_address(const char *s)
{
    if (s[0] == ' ')
        return false;
    for (const char *p = s; *p; p++) {
        bool letter = *p >= 'a' && *p <= 'z', digit = *p >= '0' && *p <= '9';
        if (p > s && p[-1] != ' ' && (letter || digit) && (digit != (p[-1] >= '0' && p[-1] <= '9')))
            return false;
        if (letter || digit)
            continue;
        if (*p != ' ' || p[1] == ' ' || p[1] == '\0')
            return false;
    }
    return strlen(s) < RP_NAME_MAX;
}

/*
 * The normaliser, made once per process (ICU transforms are costly to open) with the
 * equivalence table of the source tree: $RP_SRC under CTest, else next to this file.
 */
static rp_normaliser *normaliser(void)
{
    static rp_normaliser *n = NULL;
    if (n)
        return n;
    char path[4096];
    const char *src = getenv("RP_SRC");
    if (src && *src) {
        snprintf(path, sizeof(path), "%s/data/names/equivalents.csv", src);
    } else {
        snprintf(path, sizeof(path), "%s", __FILE__);
        char *slash = strrchr(path, '/');
        if (slash)
            snprintf(slash, sizeof(path) - (size_t)(slash - path),
                     "/../data/names/equivalents.csv");
    }
    rp_error err = RP_ERROR_INIT;
    FILE *f = fopen(path, "rb");
    const char *table = f ? path : NULL;
    if (f)
        fclose(f);
    if (rp_normaliser_new(&n, table, &err) != RP_OK)
        fail("rp_normaliser_new", err.msg);
    return n;
}

static void check_status(int rc, const rp_error *err, const char *out, const char *what)
{
    if (rc != RP_OK && rc != RP_EINVAL)
        fail(what, err->msg);
    if (rc == RP_EINVAL && (out[0] != '\0' || err->msg[0] == '\0'))
        fail(what, "a failure leaves \"\" and says why");
    if (rc == RP_OK && !canonical(out))
        fail(what, "not lower-case ASCII words");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_init();
    if (size == 0)
        return 0;
    rp_normaliser *n = normaliser();
    const char *lang = langs[data[0] % (sizeof(langs) / sizeof(langs[0]))];
    /* the name: the rest, NUL-terminated; an embedded NUL ends it early */
    char *name = malloc(size);
    if (!name)
        return 0;
    memcpy(name, data + 1, size - 1);
    name[size - 1] = '\0';

    char out[RP_NAME_MAX], again[RP_NAME_MAX];
    rp_error err = RP_ERROR_INIT;
    int rc = rp_normalise_name(n, name, lang, out, sizeof(out), &err);
    check_status(rc, &err, out, "rp_normalise_name");
    rp_error err2 = RP_ERROR_INIT;
    int rc2 = rp_normalise_name(n, name, lang, again, sizeof(again), &err2);
    if (rc2 != rc || strcmp(out, again) != 0)
        fail("rp_normalise_name", "a second call gives another result");
    if (rc == RP_OK) {
        /* exactly the room it needs is enough; one byte less is RP_EINVAL */
        size_t need = strlen(out) + 1;
        rc2 = rp_normalise_name(n, name, lang, again, need, &err2);
        if (rc2 != RP_OK || strcmp(out, again) != 0)
            fail("rp_normalise_name", "the exact size does not fit");
        if (need > 1 && rp_normalise_name(n, name, lang, again, need - 1, &err2) != RP_EINVAL)
            fail("rp_normalise_name", "a short buffer is not RP_EINVAL");
    }

    for (int order = 0; order < 2; order++) {
        char given[RP_NAME_MAX], family[RP_NAME_MAX];
        rp_error_clear(&err);
        rc = rp_normalise_full_name(n, name, order == 1, lang, given, sizeof(given), family,
                                    sizeof(family), &err);
        check_status(rc, &err, given, "rp_normalise_full_name (given)");
        check_status(rc, &err, family, "rp_normalise_full_name (family)");
    }

    rp_error_clear(&err);
    rc = rp_normalise_address(n, name, lang, out, sizeof(out), &err);
    if (rc != RP_OK && rc != RP_EINVAL)
        fail("rp_normalise_address", err.msg);
    if (rc == RP_EINVAL && (out[0] != '\0' || err.msg[0] == '\0'))
        fail("rp_normalise_address", "a failure leaves \"\" and says why");
    if (rc == RP_OK && !canonical_address(out))
        fail("rp_normalise_address", "not lower-case ASCII words and numbers");
    rc2 = rp_normalise_address(n, name, lang, again, sizeof(again), &err2);
    if (rc2 != rc || strcmp(out, again) != 0)
        fail("rp_normalise_address", "a second call gives another result");

    rp_birth_date b;
    rc = rp_birth_date_parse(&b, name);
    if (rc != RP_OK && rc != RP_EDATA)
        fail("rp_birth_date_parse", "undocumented status");
    if (rc == RP_OK && !((b.year == 0 && b.month == 0 && b.day == 0) ||
                         (b.year >= 1900 && b.year <= 2100 && b.month >= 0 && b.month <= 12 &&
                          b.day >= 0 && b.day <= 31 && (b.day == 0 || b.month != 0))))
        fail("rp_birth_date_parse", "date out of range");
    if (rc != RP_OK && (b.year || b.month || b.day))
        fail("rp_birth_date_parse", "a failure leaves zeros");
    free(name);
    return 0;
}
