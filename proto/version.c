/*
 * version.c - parsing and ordering release versions.
 */
#include "pf/version.h"

#include <string.h>

#define VERSION_PARTS 4

/* The number of dotted parts of v (1..4) into parts, or PF_EPARSE. With canonical, a
 * part with a leading zero ("03", "1.02") is PF_ERANGE. */
static int version__parse(const char *v, long parts[VERSION_PARTS], bool canonical)
{
    int rc = 0;
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
        if (canonical && p[0] == '0' && p[1] >= '0' && p[1] <= '9')
            rc = PF_ERANGE;
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
            return rc ? rc : n;
        if (*p != '.')
            return PF_EPARSE;
        p++;
    }
}

bool pf_version_valid(const char *v)
{
    long parts[VERSION_PARTS];

    return version__parse(v, parts, false) > 0;
}

int pf_version_check(const char *v)
{
    long parts[VERSION_PARTS];
    int rc = version__parse(v, parts, true);

    return rc < 0 ? rc : 0;
}

int pf_version_cmp(const char *a, const char *b)
{
    long pa[VERSION_PARTS], pb[VERSION_PARTS];

    if (version__parse(a, pa, false) < 0 || version__parse(b, pb, false) < 0)
        return strcmp(a ? a : "", b ? b : "");
    for (int i = 0; i < VERSION_PARTS; i++) {
        if (pa[i] != pb[i])
            return pa[i] < pb[i] ? -1 : 1;
    }
    return 0;
}
