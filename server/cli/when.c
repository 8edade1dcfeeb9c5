/*
 * when.c - times in the user's zone (when.h).
 */
#include "when.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/fileio.h"
#include "pf/num.h"

/* The display zone of the running pfc_main (when.h). */
static const struct pfc_tz *when__current;

void pfc_tz_use(const struct pfc_tz *tz)
{
    when__current = tz;
}

const struct pfc_tz *pfc_tz_current(void)
{
    return when__current;
}

/* A zone by name: "UTC", an IANA name (TZif file under dir) or a POSIX TZ rule. */
static int when__load(struct pfc_tz *tz, const char *origin, const char *name, const char *dir,
                      struct pf_error *err)
{
    struct pf_error e = {0};
    int rc;

    if (*name == ':')
        name++;
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    if (!*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))
        return 0;
    if (pf_zone_name_valid(name)) {
        rc = pf_zone_load(dir, name, &tz->zone, &e);
        if (!rc)
            return 0;
        if (strchr(name, '/'))
            return pf_error_set(err, PF_EINVAL, "%s %s: not an installed time zone (%s)", origin,
                                name, e.msg);
    }
    if (pf_zone_parse_rule(name, &tz->zone, &e) == 0)
        return 0;
    return pf_error_set(err, PF_EINVAL,
                        "%s %.64s: not a time zone (an IANA name such as Asia/Shanghai, or UTC)",
                        origin, name);
}

int pfc_tz_init(struct pfc_tz *tz, const char *opt, const char *env, const char *dir,
                const char *localtime, struct pf_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(tz, 0, sizeof(*tz));
    if (opt)
        rc = when__load(tz, "--tz", opt, dir, err);
    else if (env && *env)
        rc = when__load(tz, "TZ", env, dir, err);
    else {
        /* The system's zone; without one, UTC, as libc does. */
        snprintf(tz->name, sizeof(tz->name), "local");
        if (pf_file_read(localtime ? localtime : "/etc/localtime", PF_ZONE_FILE_MAX, &buf, &len) ==
                    0 &&
            pf_zone_parse((const unsigned char *)buf, len, &tz->zone, NULL) != 0)
            memset(&tz->zone, 0, sizeof(tz->zone));
        free(buf);
        return 0;
    }
    if (rc) {
        pf_zone_release(&tz->zone);
        memset(tz, 0, sizeof(*tz));
        snprintf(tz->name, sizeof(tz->name), "UTC");
    }
    return rc;
}

void pfc_tz_release(struct pfc_tz *tz)
{
    pf_zone_release(&tz->zone);
}

int32_t pfc_tz_offset(const struct pfc_tz *tz, int64_t ms)
{
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

    return tz ? pf_zone_offset(&tz->zone, s) : 0;
}

void pfc_tz_format(const struct pfc_tz *tz, int64_t ms, char *buf, size_t len)
{
    int32_t off = pfc_tz_offset(tz, ms);
    time_t secs = (time_t)(ms / 1000 + off);
    int32_t a = off < 0 ? -off : off;
    char when[32];
    struct tm tm;

    if (ms <= 0 || !gmtime_r(&secs, &tm) ||
        !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm)) {
        snprintf(buf, len, "-");
        return;
    }
    if (off == 0)
        snprintf(buf, len, "%s UTC", when);
    else
        snprintf(buf, len, "%s %c%02d:%02d", when, off < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a % 3600 / 60));
}

/* n digits at *p as a number (advances *p); -1 if they are not all digits. */
static int when__digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" (or -) at p, to the end: seconds east of UTC in *off. */
static bool when__offset(const char *p, int32_t *off)
{
    int h, m = 0, sign;

    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        *off = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    sign = *p++ == '-' ? -1 : 1;
    if ((h = when__digits(&p, 2)) < 0 || h > 23)
        return false;
    if (*p == ':')
        p++;
    if (*p && ((m = when__digits(&p, 2)) < 0 || m > 59))
        return false;
    if (*p)
        return false;
    *off = sign * (h * 3600 + m * 60);
    return true;
}

int pfc_time_parse(const struct pfc_tz *tz, const char *s, int64_t *ms)
{
    const char *p = s;
    struct tm tm = {0}, back;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    int32_t off = 0;
    bool have_off = false;
    int64_t local, t;

    if (*s && strspn(s, "0123456789") == strlen(s))
        return pf_parse_i64(s, 1, INT64_MAX, ms) ? PF_EINVAL : 0;
    if ((y = when__digits(&p, 4)) < 0 || *p++ != '-' || (mo = when__digits(&p, 2)) < 0 ||
        *p++ != '-' || (d = when__digits(&p, 2)) < 0)
        return PF_EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((h = when__digits(&p, 2)) < 0 || *p++ != ':' || (mi = when__digits(&p, 2)) < 0)
            return PF_EINVAL;
        if (*p == ':') {
            p++;
            if ((sec = when__digits(&p, 2)) < 0)
                return PF_EINVAL;
            if (*p == '.' || *p == ',') {
                int n = 0;

                for (p++; isdigit((unsigned char)*p); p++, n++)
                    if (n < 3)
                        frac = frac * 10 + (*p - '0');
                if (n == 0)
                    return PF_EINVAL;
                for (; n < 3; n++)
                    frac *= 10;
            }
        }
        if (*p) {
            if (!when__offset(p, &off))
                return PF_EINVAL;
            have_off = true;
        }
    } else if (*p) {
        return PF_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return PF_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    back = tm;
    local = (int64_t)timegm(&back);
    if (back.tm_mday != d || back.tm_mon != mo - 1) /* 2026-02-30 */
        return PF_EINVAL;
    if (have_off) {
        t = local - off;
    } else {
        /* Wall-clock time in tz: the offset at the instant it names (twice, for DST edges). */
        t = local - pfc_tz_offset(tz, local * 1000);
        t = local - pfc_tz_offset(tz, t * 1000);
    }
    if (t <= 0)
        return PF_EINVAL;
    *ms = t * 1000 + frac;
    return 0;
}
