/*
 * num.h - the one way posfleet reads an integer from text.
 *
 * Strict decimal: the whole string is the number, nothing around it. Digits
 * 0-9 only, with one leading '-' for a negative value (pf_parse_i64 only);
 * no leading or trailing spaces, no '+', no hexadecimal or octal prefix, no
 * empty string. Leading zeros are read as decimal ("010" is ten).
 *
 * Both return 0 and set *out, or leave *out untouched and return
 * PF_EPARSE (not a decimal integer, or s is NULL) or PF_ERANGE (a decimal
 * integer outside min..max, including one too large for 64 bits).
 */
#ifndef PF_NUM_H
#define PF_NUM_H

#include <stdint.h>

#include "pf/error.h"

int pf_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) PF_WUR;
int pf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) PF_WUR;

#endif
