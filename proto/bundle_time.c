/*
 * bundle_time.c - strict RFC 3339 UTC timestamps for signed documents.
 */
#include "pf/bundle_time.h"

#include <time.h>

static int bundle_time__num(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PF_EPARSE;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int bundle_time__leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int pf_time_parse(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, dim;
    int64_t days;

    if (!s || strlen(s) != PF_TIME_STR_LEN)
        return PF_EPARSE;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return PF_EPARSE;
    if (bundle_time__num(s, 4, &y) || bundle_time__num(s + 5, 2, &mo) ||
        bundle_time__num(s + 8, 2, &d) || bundle_time__num(s + 11, 2, &h) ||
        bundle_time__num(s + 14, 2, &mi) || bundle_time__num(s + 17, 2, &se))
        return PF_EPARSE;
    if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
        return PF_EPARSE;
    dim = mdays[mo - 1] + (mo == 2 && bundle_time__leap(y));
    if (d < 1 || d > dim)
        return PF_EPARSE;
    /* Days from civil (Howard Hinnant's algorithm), exact for the Gregorian calendar. */
    {
        int yy = y - (mo <= 2);
        int era = yy / 400;
        int yoe = yy - era * 400;
        int mp = (mo + 9) % 12;
        int doy = (153 * mp + 2) / 5 + d - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        days = (int64_t)era * 146097 + doe - 719468;
    }
    *out = days * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

int pf_time_format(int64_t t, char out[PF_TIME_STR_LEN + 1])
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t < 0 || t > 253402300799LL || !gmtime_r(&tt, &tm))
        return PF_ERANGE;
    if (strftime(out, PF_TIME_STR_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != PF_TIME_STR_LEN)
        return PF_ERANGE;
    return 0;
}
