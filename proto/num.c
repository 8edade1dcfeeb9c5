/*
 * num.c - strict decimal integers (pf/num.h).
 */
#include "pf/num.h"

#include <stdbool.h>

/* The digits of s as a magnitude; PF_ERANGE past limit, PF_EPARSE if not all digits. */
static int num__digits(const char *s, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    bool big = false;

    if (!*s)
        return PF_EPARSE;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');

        if (d > 9)
            return PF_EPARSE;
        if (v > (limit - d) / 10)
            big = true; /* keep scanning: junk after the digits is a parse error */
        else
            v = v * 10 + d;
    }
    if (big)
        return PF_ERANGE;
    *out = v;
    return 0;
}

int pf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int rc;

    if (!s)
        return PF_EPARSE;
    if ((rc = num__digits(s, UINT64_MAX, &v)))
        return rc;
    if (v < min || v > max)
        return PF_ERANGE;
    *out = v;
    return 0;
}

int pf_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    bool neg;
    uint64_t mag;
    int64_t v;
    int rc;

    if (!s)
        return PF_EPARSE;
    neg = *s == '-';
    rc = num__digits(s + neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
    if (rc)
        return rc;
    if (neg)
        v = mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag;
    else
        v = (int64_t)mag;
    if (v < min || v > max)
        return PF_ERANGE;
    *out = v;
    return 0;
}
