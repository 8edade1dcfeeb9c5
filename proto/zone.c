/*
 * zone.c - time zone offsets from TZif files and POSIX TZ rules (zone.h).
 * Leap-second ("right/") zones are read as if their transitions were POSIX
 * times; posfleetd only ever names the default ones.
 */
#include "pf/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/endian.h"
#include "pf/fileio.h"
#include "pf/num.h"

#define ZONE__HEADER 44

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t zone__days(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t zone__year_of(int64_t days)
{
    int64_t z = days + 719468, era, doe, yoe, doy, mp;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10); /* January and February belong to the next year */
}

static int64_t zone__floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool zone__leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local instant (seconds, as if local time were UTC) a rule date names in year y. */
static int64_t zone__date_local(const struct pf_zone_date *d, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;

    if (d->kind == 'J') {
        day = zone__days(y, 1, 1) + d->day - 1 + (zone__leap(y) && d->day >= 60);
    } else if (d->kind == 'D') {
        day = zone__days(y, 1, 1) + d->day;
    } else {
        int64_t first = zone__days(y, d->month, 1);
        int wd = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
        int len = mdays[d->month - 1] + (d->month == 2 && zone__leap(y));
        int dom = 1 + (d->day - wd + 7) % 7 + (d->week - 1) * 7;

        while (dom > len)
            dom -= 7;
        day = first + dom - 1;
    }
    return day * 86400 + d->time_s;
}

static int32_t zone__rule_offset(const struct pf_zone *z, int64_t t)
{
    int64_t y = zone__year_of(zone__floor_div(t + z->std_off, 86400));
    int64_t best = INT64_MIN;
    bool dst = false;

    if (!z->rule_dst)
        return z->std_off;
    /* The latest change at or before t among the neighbouring years' (the
     * rule may wrap the new year, as in the southern hemisphere). */
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t end = zone__date_local(&z->end, yy) - z->dst_off;
        int64_t start = zone__date_local(&z->start, yy) - z->std_off;

        if (end <= t && end > best) {
            best = end;
            dst = false;
        }
        if (start <= t && start >= best) {
            best = start;
            dst = true;
        }
    }
    return dst ? z->dst_off : z->std_off;
}

int32_t pf_zone_offset(const struct pf_zone *z, int64_t t)
{
    size_t lo = 0, hi;

    if (z->ntimes == 0 || t >= z->times[z->ntimes - 1]) {
        if (z->has_rule)
            return zone__rule_offset(z, t);
        if (z->ntimes == 0)
            return z->ntypes ? z->utoff[0] : 0;
    }
    if (t < z->times[0])
        return z->utoff[0];
    hi = z->ntimes; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->utoff[z->types[lo]];
}

/* --- POSIX TZ rules --- */

static bool zone__digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *zone__name(const char *p)
{
    const char *s = p;

    if (*p == '<') {
        for (p++; *p && *p != '>'; p++) {
            if (!zone__digit(*p) && !(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
                *p != '+' && *p != '-')
                return NULL;
        }
        return *p == '>' && p - s >= 4 ? p + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* Up to 4 digits at p, read with the one integer parser: 0..max. */
static const char *zone__number(const char *p, int max, int *out)
{
    char num[5];
    size_t n = 0;
    int64_t v;

    while (zone__digit(p[n]) && n < sizeof(num) - 1)
        n++;
    memcpy(num, p, n);
    num[n] = '\0';
    if (pf_parse_i64(num, 0, max, &v) != 0)
        return NULL;
    *out = (int)v;
    return p + n;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h; seconds, signed. */
static const char *zone__hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!(p = zone__number(p, max_h, &h)))
        return NULL;
    if (*p == ':' && !(p = zone__number(p + 1, 59, &m)))
        return NULL;
    if (p && *p == ':' && !(p = zone__number(p + 1, 59, &s)))
        return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *zone__date(const char *p, struct pf_zone_date *d)
{
    d->time_s = 7200;
    if (*p == 'J') {
        d->kind = 'J';
        if (!(p = zone__number(p + 1, 365, &d->day)) || d->day < 1)
            return NULL;
    } else if (*p == 'M') {
        d->kind = 'M';
        if (!(p = zone__number(p + 1, 12, &d->month)) || d->month < 1 || *p != '.' ||
            !(p = zone__number(p + 1, 5, &d->week)) || d->week < 1 || *p != '.' ||
            !(p = zone__number(p + 1, 6, &d->day)))
            return NULL;
    } else {
        d->kind = 'D';
        if (!(p = zone__number(p, 365, &d->day)))
            return NULL;
    }
    if (*p == '/' && !(p = zone__hms(p + 1, 167, &d->time_s)))
        return NULL;
    return p;
}

int pf_zone_parse_rule(const char *rule, struct pf_zone *z, struct pf_error *err)
{
    const char *p = zone__name(rule);
    int32_t off;

    z->has_rule = z->rule_dst = false;
    if (!p || !(p = zone__hms(p, 24, &off)))
        goto bad;
    z->std_off = -off;
    z->dst_off = z->std_off + 3600;
    if (!*p) {
        z->has_rule = true;
        return 0;
    }
    if (!(p = zone__name(p)))
        goto bad;
    if (*p && *p != ',') {
        if (!(p = zone__hms(p, 24, &off)))
            goto bad;
        z->dst_off = -off;
    }
    if (!*p) { /* no dates: the US rule, as glibc assumes */
        z->start = (struct pf_zone_date){'M', 0, 2, 3, 7200};
        z->end = (struct pf_zone_date){'M', 0, 1, 11, 7200};
    } else if (*p != ',' || !(p = zone__date(p + 1, &z->start)) || *p != ',' ||
               !(p = zone__date(p + 1, &z->end)) || *p) {
        goto bad;
    }
    z->has_rule = z->rule_dst = true;
    return 0;
bad:
    return pf_error_set(err, PF_EPARSE, "time zone rule \"%.64s\": not a POSIX TZ rule", rule);
}

/* --- TZif --- */

struct zone__counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static size_t zone__block(const struct zone__counts *c, size_t tsize)
{
    return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int zone__header(const unsigned char *p, size_t len, size_t tsize, struct zone__counts *c)
{
    if (len < ZONE__HEADER || memcmp(p, "TZif", 4) != 0)
        return PF_EPARSE;
    c->isut = pf_load_be32(p + 20);
    c->isstd = pf_load_be32(p + 24);
    c->leap = pf_load_be32(p + 28);
    c->time = pf_load_be32(p + 32);
    c->type = pf_load_be32(p + 36);
    c->chars = pf_load_be32(p + 40);
    if (c->type == 0 || c->type > 256 || c->chars == 0 || c->time > 100000 || c->leap > 100000 ||
        (c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type) ||
        zone__block(c, tsize) > len - ZONE__HEADER)
        return PF_EPARSE;
    return 0;
}

int pf_zone_parse(const unsigned char *buf, size_t len, struct pf_zone *z, struct pf_error *err)
{
    struct zone__counts c;
    const unsigned char *p = buf, *end = buf + len;
    size_t tsize = 4;
    int rc;

    memset(z, 0, sizeof(*z));
    if ((rc = zone__header(p, len, 4, &c)))
        goto bad;
    if (p[4] >= '2') { /* skip the 32-bit block: the 64-bit one follows */
        p += ZONE__HEADER + zone__block(&c, 4);
        if ((rc = zone__header(p, (size_t)(end - p), 8, &c)))
            goto bad;
        tsize = 8;
    }
    p += ZONE__HEADER;
    z->times = malloc((c.time ? c.time : 1) * sizeof(*z->times));
    z->types = malloc(c.time ? c.time : 1);
    z->utoff = malloc(c.type * sizeof(*z->utoff));
    if (!z->times || !z->types || !z->utoff) {
        pf_zone_release(z);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    z->ntimes = c.time;
    z->ntypes = c.type;
    for (size_t i = 0; i < c.time; i++, p += tsize) {
        z->times[i] = tsize == 8 ? (int64_t)pf_load_be64(p) : (int32_t)pf_load_be32(p);
        rc = i && z->times[i] <= z->times[i - 1] ? PF_EPARSE : 0;
        if (rc)
            goto bad;
    }
    for (size_t i = 0; i < c.time; i++) {
        z->types[i] = *p++;
        if (z->types[i] >= c.type) {
            rc = PF_EPARSE;
            goto bad;
        }
    }
    for (size_t i = 0; i < c.type; i++, p += 6) {
        int32_t off = (int32_t)pf_load_be32(p);

        if (off < -89999 || off > 93599 || p[4] > 1 || p[5] >= c.chars) {
            rc = PF_EPARSE;
            goto bad;
        }
        z->utoff[i] = off;
    }
    p += c.chars + (size_t)c.leap * (tsize + 4) + c.isstd + c.isut;
    if (tsize == 8) { /* the footer: "\nRULE\n", RULE possibly empty */
        const unsigned char *nl = p < end ? memchr(p + 1, '\n', (size_t)(end - p - 1)) : NULL;
        char rule[128];

        if (p >= end || *p != '\n' || !nl || (size_t)(nl - p - 1) >= sizeof(rule)) {
            rc = PF_EPARSE;
            goto bad;
        }
        memcpy(rule, p + 1, (size_t)(nl - p - 1));
        rule[nl - p - 1] = '\0';
        if (rule[0] && (rc = pf_zone_parse_rule(rule, z, err))) {
            pf_zone_release(z);
            return rc;
        }
    }
    return 0;
bad:
    pf_zone_release(z);
    return pf_error_set(err, rc, "time zone: not a valid TZif file");
}

void pf_zone_release(struct pf_zone *z)
{
    free(z->times);
    free(z->types);
    free(z->utoff);
    memset(z, 0, sizeof(*z));
}

bool pf_zone_name_valid(const char *name)
{
    size_t n = strlen(name);
    bool seg_start = true;

    if (n == 0 || n > PF_ZONE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (c == '/') {
            if (seg_start)
                return false;
            seg_start = true;
            continue;
        }
        if (seg_start && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false; /* no ".", "..", hidden files or leading signs */
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+'))
            return false;
        seg_start = false;
    }
    return !seg_start;
}

int pf_zone_load(const char *dir, const char *name, struct pf_zone *z, struct pf_error *err)
{
    char path[512];
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(z, 0, sizeof(*z));
    if (!name || !*name || strcmp(name, "UTC") == 0)
        return 0;
    if (!dir)
        dir = PF_ZONE_DIR;
    /* refuses "..", absolute paths and names that are not zone-like */
    if (!pf_zone_name_valid(name) ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return pf_error_set(err, PF_EINVAL, "time zone \"%.64s\": not a zone name", name);
    rc = pf_file_read(path, PF_ZONE_FILE_MAX, &buf, &len);
    if (rc == PF_ENOENT || rc == PF_EIO)
        return pf_error_set(err, PF_EINVAL, "time zone %s: not an installed zone (no %s)", name,
                            path);
    if (rc)
        return pf_error_set(err, rc, "time zone %s: %s: %s", name, path, pf_strerror(rc));
    rc = pf_zone_parse((const unsigned char *)buf, len, z, err);
    free(buf);
    if (rc)
        pf_error_prefix(err, "%s", path);
    return rc;
}

int pf_zone_offset_at(const char *dir, const char *name, int64_t t, int32_t *offset_s,
                      struct pf_error *err)
{
    struct pf_zone z;
    int rc = pf_zone_load(dir, name, &z, err);

    if (rc)
        return rc;
    *offset_s = pf_zone_offset(&z, t);
    pf_zone_release(&z);
    return 0;
}
