/*
 * banned.h - functions that are too easy to misuse on untrusted input.
 *
 * Force-included into every posfleet translation unit (see CMakeLists.txt),
 * after which a call to any of these is a compile error. Use snprintf,
 * bounded copies, and pf_parse_i64/pf_parse_u64 (pf/num.h) for integers.
 */
#ifndef PF_BANNED_H
#define PF_BANNED_H

/* Pull in the real declarations first so the macros below only affect calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PF_BANNED(func) sorry_##func##_is_banned_in_posfleet

#undef strcpy
#define strcpy(x, y) PF_BANNED(strcpy)
#undef strcat
#define strcat(x, y) PF_BANNED(strcat)
#undef sprintf
#define sprintf(...) PF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) PF_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) PF_BANNED(strtok)
#undef atoi
#define atoi(x) PF_BANNED(atoi)
#undef atol
#define atol(x) PF_BANNED(atol)
#undef gets
#define gets(x) PF_BANNED(gets)

#endif
