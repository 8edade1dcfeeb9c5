/*
 * version.c - parsing and ordering release versions.
 */
#include "pf/version.h"

#include <string.h>

#define VERSION_PARTS 4

/* The number of dotted parts of v (1..4) into parts, or PF_EPARSE. */
static int version__parse(const char *v, long parts[VERSION_PARTS])
{
    int n = 0;
    const char *p = v;

    if (!v || !*v || strlen(v) > PF_VERSION_MAX)
        return PF_EPARSE;
    memset(parts, 0, sizeof(long) * VERSION_PARTS);
    for (;;) {
        long x = 0;
        int digits = 0;

        if (n == VERSION_PARTS)
            return PF_EPARSE;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p - '0');
            if (++digits > 6)
                return PF_EPARSE;
            p++;
        }
        if (digits == 0)
            return PF_EPARSE;
        parts[n++] = x;
        if (*p == '\0')
            return n;
        if (*p != '.')
            return PF_EPARSE;
        p++;
    }
}

bool pf_version_valid(const char *v)
{
    long parts[VERSION_PARTS];

    return version__parse(v, parts) > 0;
}

int pf_version_cmp(const char *a, const char *b)
{
    long pa[VERSION_PARTS], pb[VERSION_PARTS];

    if (version__parse(a, pa) < 0 || version__parse(b, pb) < 0)
        return strcmp(a ? a : "", b ? b : "");
    for (int i = 0; i < VERSION_PARTS; i++) {
        if (pa[i] != pb[i])
            return pa[i] < pb[i] ? -1 : 1;
    }
    return 0;
}
