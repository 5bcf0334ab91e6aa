/*
 * Must NOT compile: a call to a banned function after common_int.h (which includes
 * banned.h). CTest passes when the compiler's error names sorry_strcpy_is_a_banned_function.
 */
#include "common/common_int.h"

void rp_bannedtest(char *dst, const char *src);

void rp_bannedtest(char *dst, const char *src)
{
    strcpy(dst, src);
}
