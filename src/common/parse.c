/*
 * Strict number parsing, the replacement for the banned atoi/atol/atof. The whole
 * string must be a number in range: a syntax check comes first so that strtol/strtod
 * never see leading space, hex, "inf" or "nan", then errno and the end pointer confirm
 * that every byte was used and nothing overflowed.
 */
#include "common/common_int.h"

#include <errno.h>
#include <math.h>

/* True if @p s is an optional sign followed by one or more digits, and nothing else. */
static bool is_integer_syntax(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

/*
 * True if @p s is [sign] (digits [. digits*] | . digits) [(e|E) [sign] digits]: a
 * plain decimal number, the grammar of CSV files and command lines.
 */
static bool is_decimal_syntax(const char *s)
{
    size_t digits = 0;
    if (*s == '+' || *s == '-')
        s++;
    for (; *s >= '0' && *s <= '9'; s++)
        digits++;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    }
    if (digits == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

int rp_x_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !is_integer_syntax(s))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int rp_x_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !is_decimal_syntax(s))
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return -1;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
