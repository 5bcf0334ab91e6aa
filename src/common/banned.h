/*
 * Banned functions (git banned.h plus curl's list): each becomes a compile error that
 * names it. Included by common_int.h after every system header that declares them, so
 * it must be the last thing a private header pulls in. See STYLE.md section 6 for the
 * replacements: rp_x_strlcpy/snprintf/rp_x_buf for strings, rp_x_parse_long and
 * rp_x_parse_double for numbers, gmtime_r/localtime_r for time, a caller-seeded PRNG.
 */
#ifndef RP_BANNED_H
#define RP_BANNED_H

#define RP_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(...) RP_BANNED(strcpy)
#undef strcat
#define strcat(...) RP_BANNED(strcat)
#undef strncpy
#define strncpy(...) RP_BANNED(strncpy)
#undef strncat
#define strncat(...) RP_BANNED(strncat)
#undef sprintf
#define sprintf(...) RP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) RP_BANNED(vsprintf)
#undef strtok
#define strtok(...) RP_BANNED(strtok)
#undef atoi
#define atoi(...) RP_BANNED(atoi)
#undef atol
#define atol(...) RP_BANNED(atol)
#undef atof
#define atof(...) RP_BANNED(atof)
#undef gets
#define gets(...) RP_BANNED(gets)
#undef gmtime
#define gmtime(...) RP_BANNED(gmtime)
#undef localtime
#define localtime(...) RP_BANNED(localtime)
#undef ctime
#define ctime(...) RP_BANNED(ctime)
#undef asctime
#define asctime(...) RP_BANNED(asctime)
#undef rand
#define rand(...) RP_BANNED(rand)

#endif
