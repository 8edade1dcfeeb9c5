/*
 * test_zone.c - time zone offsets from TZif files (proto/include/pf/zone.h)
 * against the C library: for each zone a child process sets TZ, calls tzset()
 * and localtime_r() for every instant of a sweep and around the zone's
 * changes, and the parent (whose TZ never changes) compares zone.c's answers
 * with them. Also the POSIX rules alone, refusals and damaged files.
 */
#define _GNU_SOURCE /* tm_gmtoff */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pf/fileio.h"
#include "rollouts/rollout_def.h"
#include "pf/zone.h"
#include "testutil.h"

#define YEAR_S 31556952LL

/* The instants compared: 1900..2100 every 7 days and 5 hours, and every hour
 * of 2026 (the DST changes of this year and their neighbourhood, to the hour). */
static size_t instants(int64_t **out)
{
    size_t cap = 20000 + 9000, n = 0;
    int64_t *v = malloc(cap * sizeof(*v));

    ck_assert_ptr_nonnull(v);
    for (int64_t t = -70 * YEAR_S; t < 130 * YEAR_S && n < cap; t += 7 * 86400 + 5 * 3600)
        v[n++] = t;
    for (int64_t t = 1767225600; t < 1767225600 + 366 * 86400 && n < cap; t += 3600)
        v[n++] = t;
    *out = v;
    return n;
}

/* The C library's offsets for tz at t[0..n), computed in a child with TZ set. */
static void libc_offsets(const char *tz, const int64_t *t, size_t n, int32_t *off)
{
    int fd[2], status;
    pid_t pid;
    size_t got = 0;

    ck_assert_int_eq(pipe(fd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fd[0]);
        setenv("TZ", tz, 1);
        tzset();
        for (size_t i = 0; i < n; i++) {
            time_t tt = (time_t)t[i];
            struct tm tm;
            int32_t o = localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : INT32_MIN;

            if (write(fd[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
                _exit(1);
        }
        _exit(0);
    }
    close(fd[1]);
    while (got < n * sizeof(*off)) {
        ssize_t r = read(fd[0], (char *)off + got, n * sizeof(*off) - got);

        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
    close(fd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Compares every instant, and every change the sweep saw to the second. */
static void compare_zone(const char *tz)
{
    struct pf_zone z;
    struct pf_error err = {0};
    int64_t *t, *edge;
    int32_t *want, *wedge;
    size_t n = instants(&t), nedge = 0, changes = 0;

    want = malloc(n * sizeof(*want));
    edge = malloc(3 * n * sizeof(*edge));
    ck_assert(want && edge);
    libc_offsets(tz, t, n, want);
    ck_assert_msg(pf_zone_load(NULL, tz, &z, &err) == 0, "%s: %s", tz, err.msg);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(pf_zone_offset(&z, t[i]) == want[i], "%s at %lld: %d, localtime_r %d", tz,
                      (long long)t[i], pf_zone_offset(&z, t[i]), want[i]);
        /* a change between two samples of the sweep: find it to the second */
        if (i && t[i] > t[i - 1] && want[i] != want[i - 1]) {
            int64_t lo = t[i - 1], hi = t[i];

            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (pf_zone_offset(&z, mid) == want[i - 1])
                    lo = mid;
                else
                    hi = mid;
            }
            edge[nedge++] = hi - 1;
            edge[nedge++] = hi;
            edge[nedge++] = hi + 1;
            changes++;
        }
    }
    wedge = malloc((nedge ? nedge : 1) * sizeof(*wedge));
    ck_assert_ptr_nonnull(wedge);
    libc_offsets(tz, edge, nedge, wedge);
    for (size_t i = 0; i < nedge; i++)
        ck_assert_msg(pf_zone_offset(&z, edge[i]) == wedge[i], "%s at %lld: %d, localtime_r %d", tz,
                      (long long)edge[i], pf_zone_offset(&z, edge[i]), wedge[i]);
    if (strcmp(tz, "UTC") != 0 && strcmp(tz, "Asia/Urumqi") != 0 &&
        strcmp(tz, "Asia/Kolkata") != 0 && strcmp(tz, "Pacific/Kiritimati") != 0)
        ck_assert_msg(changes > 20, "%s: only %zu changes seen", tz, changes);
    pf_zone_release(&z);
    free(wedge);
    free(edge);
    free(want);
    free(t);
}

static const char *const zones[] = {
        "UTC",
        "Asia/Shanghai",
        "Asia/Urumqi",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",   /* summer time across the new year */
        "Europe/Dublin",      /* its rule has a negative saving: GMT in winter is the "DST" */
        "Asia/Kolkata",       /* half an hour */
        "Pacific/Chatham",    /* 12:45 / 13:45 */
        "America/Sao_Paulo",  /* summer time abolished in 2019 */
        "America/St_Johns",   /* -3:30 with summer time */
        "Africa/Casablanca",  /* Ramadan changes far into the future */
        "America/Santiago",   /* the southern rule with times of 24:00 */
        "Antarctica/Troll",   /* a 2-hour saving */
        "Pacific/Kiritimati", /* +14 */
};

START_TEST(zones_agree_with_localtime)
{
    compare_zone(zones[_i]);
}
END_TEST

START_TEST(dst_changes_of_2026)
{
    struct pf_error err = {0};
    int32_t off = 0;

    /* Berlin: CEST from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC. */
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Europe/Berlin", 1774746000 - 1, &off, &err), 0);
    ck_assert_int_eq(off, 3600);
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Europe/Berlin", 1774746000, &off, &err), 0);
    ck_assert_int_eq(off, 7200);
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Europe/Berlin", 1792890000 - 1, &off, &err), 0);
    ck_assert_int_eq(off, 7200);
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Europe/Berlin", 1792890000, &off, &err), 0);
    ck_assert_int_eq(off, 3600);
    /* New York: EDT from 2026-03-08 07:00 UTC. */
    ck_assert_int_eq(pf_zone_offset_at(NULL, "America/New_York", 1772953200 - 1, &off, &err), 0);
    ck_assert_int_eq(off, -5 * 3600);
    ck_assert_int_eq(pf_zone_offset_at(NULL, "America/New_York", 1772953200, &off, &err), 0);
    ck_assert_int_eq(off, -4 * 3600);
    /* Urumqi is +6 all year, Shanghai +8. */
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Asia/Urumqi", 1774746000, &off, &err), 0);
    ck_assert_int_eq(off, 6 * 3600);
    ck_assert_int_eq(pf_zone_offset_at(NULL, "Asia/Shanghai", 1774746000, &off, &err), 0);
    ck_assert_int_eq(off, 8 * 3600);
    off = 1;
    ck_assert_int_eq(pf_zone_offset_at(NULL, "", 1774746000, &off, &err), 0);
    ck_assert_int_eq(off, 0);
}
END_TEST

/* The footer rules alone, past the last transition of any file. */
START_TEST(posix_rules)
{
    struct pf_zone z;
    struct pf_error err = {0};
    /* 2040-03-25 (the last Sunday of March) 01:00 UTC, 2040-10-28 01:00 UTC */
    const int64_t spring = 2216250000, autumn = 2234998800;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(pf_zone_parse_rule("CET-1CEST,M3.5.0,M10.5.0/3", &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, spring - 1), 3600);
    ck_assert_int_eq(pf_zone_offset(&z, spring), 7200);
    ck_assert_int_eq(pf_zone_offset(&z, autumn - 1), 7200);
    ck_assert_int_eq(pf_zone_offset(&z, autumn), 3600);
    ck_assert_int_eq(pf_zone_parse_rule("<+0530>-5:30", &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, spring), 5 * 3600 + 1800);
    ck_assert_int_eq(pf_zone_parse_rule("EST5EDT", &z, &err), 0); /* the US rule by default */
    ck_assert_int_eq(pf_zone_offset(&z, spring), -4 * 3600);
    ck_assert_int_eq(pf_zone_parse_rule("<-03>3<-02>,J1/0,J365/25", &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, autumn), -2 * 3600); /* summer time all year */
    ck_assert_int_eq(pf_zone_parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3", &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, 2208988800 + 86400 * 14), 11 * 3600); /* 2040-01-15 */
    ck_assert_int_eq(pf_zone_offset(&z, autumn), 11 * 3600);
    ck_assert_int_eq(pf_zone_offset(&z, spring + 86400 * 60), 10 * 3600);
    static const char *const bad[] = {"",
                                      "C",
                                      "CET",
                                      "CET-",
                                      "CET-1CEST,",
                                      "CET-1CEST,M3.5.0",
                                      "CET-1CEST,M13.5.0,M10.5.0",
                                      "CET-1CEST,M3.6.0,M10.5.0",
                                      "CET-1CEST,M3.5.7,M10.5.0",
                                      "CET-1CEST,J0,J10",
                                      "CET-1CEST,J1,J366",
                                      "CET-25",
                                      "<CET-1",
                                      "CET-1CEST,M3.5.0/200,M10.5.0",
                                      "CET-1x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(pf_zone_parse_rule(bad[i], &z, &err) == PF_EPARSE, "accepted \"%s\"", bad[i]);
        ck_assert(strstr(err.msg, "not a POSIX TZ rule") != NULL);
    }
}
END_TEST

START_TEST(unknown_zones_refused)
{
    static const char *const bad[] = {"Mars/Olympus", "Asia/Nowhere",          "../etc/passwd",
                                      "/etc/passwd",  "Asia/../../etc/passwd", "Asia",
                                      ".hidden"};
    struct pf_zone z;
    struct pf_error err = {0};
    int minute = -1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(pf_zone_load(NULL, bad[i], &z, &err) == PF_EINVAL, "loaded %s", bad[i]);
        ck_assert_msg(strstr(err.msg, "time zone") != NULL, "%s", err.msg);
    }
    ck_assert_int_eq(pf_zone_load(NULL, "Mars/Olympus", &z, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "time zone Mars/Olympus: not an installed zone"
                              " (no /usr/share/zoneinfo/Mars/Olympus)");
    ck_assert_int_eq(pfs_ro_local_minute("Mars/Olympus", 1768437000000LL, &minute), PF_EINVAL);
    ck_assert_int_eq(minute, -1);
}
END_TEST

/* Every truncation of a real zone file, and flipped header bytes, are refused. */
START_TEST(damaged_files_refused)
{
    char *buf = NULL;
    size_t len = 0;
    struct pf_zone z;
    struct pf_error err = {0};

    ck_assert_int_eq(pf_file_read(PF_ZONE_DIR "/Europe/Berlin", PF_ZONE_FILE_MAX, &buf, &len), 0);
    ck_assert_int_eq(pf_zone_parse((unsigned char *)buf, len, &z, &err), 0);
    pf_zone_release(&z);
    for (size_t l = 0; l < len; l++) {
        ck_assert_msg(pf_zone_parse((unsigned char *)buf, l, &z, &err) != 0,
                      "accepted %zu of %zu bytes", l, len);
        ck_assert_ptr_null(z.times);
    }
    for (size_t i = 0; i < 44; i++) {
        if (i >= 4 && i < 20)
            continue; /* version and reserved bytes */
        buf[i] ^= 0x80;
        ck_assert_msg(pf_zone_parse((unsigned char *)buf, len, &z, &err) == PF_EPARSE,
                      "accepted a flip at %zu", i);
        buf[i] ^= 0x80;
    }
    free(buf);
}
END_TEST

/* A TZif file built here: version v, one transition at t1 from type 0
 * (offset o0) to type 1 (offset o1), and for version 2 the footer. */
static size_t tzif(unsigned char *buf, char v, int32_t t1, int32_t o0, int32_t o1,
                   const char *footer)
{
    size_t n = 0;

    for (int pass = 0; pass < (v >= '2' ? 2 : 1); pass++) {
        size_t tsize = pass ? 8 : 4;
        const uint32_t counts[6] = {0, 0, 0, 1, 2, 4};

        memcpy(buf + n, "TZif", 4);
        buf[n + 4] = (unsigned char)v;
        memset(buf + n + 5, 0, 15);
        n += 20;
        for (int i = 0; i < 6; i++, n += 4) {
            buf[n] = 0;
            buf[n + 1] = 0;
            buf[n + 2] = 0;
            buf[n + 3] = (unsigned char)counts[i];
        }
        for (size_t i = 0; i < tsize; i++) /* the transition, big-endian */
            buf[n + i] = (unsigned char)((int64_t)t1 >> (8 * (tsize - 1 - i)));
        n += tsize;
        buf[n++] = 1;
        for (int k = 0; k < 2; k++, n += 6) {
            uint32_t o = (uint32_t)(k ? o1 : o0);

            buf[n] = (unsigned char)(o >> 24);
            buf[n + 1] = (unsigned char)(o >> 16);
            buf[n + 2] = (unsigned char)(o >> 8);
            buf[n + 3] = (unsigned char)o;
            buf[n + 4] = 0;
            buf[n + 5] = 0;
        }
        memcpy(buf + n, "LMT", 4);
        n += 4;
    }
    if (v >= '2') {
        buf[n++] = '\n';
        memcpy(buf + n, footer, strlen(footer));
        n += strlen(footer);
        buf[n++] = '\n';
    }
    return n;
}

START_TEST(synthetic_files)
{
    unsigned char buf[512];
    struct pf_zone z;
    struct pf_error err = {0};
    size_t n;

    /* version 1: 32-bit times, no footer; the last type holds after the last change */
    n = tzif(buf, '\0', 1000, 3600, -7200, "");
    ck_assert_int_eq(pf_zone_parse(buf, n, &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, -5000000000LL), 3600);
    ck_assert_int_eq(pf_zone_offset(&z, 999), 3600);
    ck_assert_int_eq(pf_zone_offset(&z, 1000), -7200);
    ck_assert_int_eq(pf_zone_offset(&z, 5000000000LL), -7200);
    pf_zone_release(&z);
    /* version 2 with an empty footer: the same */
    n = tzif(buf, '2', 1000, 3600, -7200, "");
    ck_assert_int_eq(pf_zone_parse(buf, n, &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, 5000000000LL), -7200);
    pf_zone_release(&z);
    /* version 2 with a rule: it answers after the last change */
    n = tzif(buf, '3', 1000, 3600, -7200, "<-03>3");
    ck_assert_int_eq(pf_zone_parse(buf, n, &z, &err), 0);
    ck_assert_int_eq(pf_zone_offset(&z, 999), 3600);
    ck_assert_int_eq(pf_zone_offset(&z, 1000), -3 * 3600);
    pf_zone_release(&z);
    /* a footer that is not a rule, or without its closing newline */
    n = tzif(buf, '2', 1000, 3600, -7200, "CET-1CEST,M3");
    ck_assert_int_eq(pf_zone_parse(buf, n, &z, &err), PF_EPARSE);
    n = tzif(buf, '2', 1000, 3600, -7200, "UTC0");
    ck_assert_int_eq(pf_zone_parse(buf, n - 1, &z, &err), PF_EPARSE);
    /* an offset beyond a day is not a zone's */
    n = tzif(buf, '\0', 1000, 3600, 100000, "");
    ck_assert_int_eq(pf_zone_parse(buf, n, &z, &err), PF_EPARSE);
    ck_assert_str_eq(err.msg, "time zone: not a valid TZif file");
}
END_TEST

START_TEST(local_minute_without_touching_tz)
{
    int minute = -1;
    const char *before = getenv("TZ");
    char saved[64];

    snprintf(saved, sizeof(saved), "%s", before ? before : "(unset)");
    /* 2026-01-15 00:30 UTC is 08:30 in Shanghai and 19:30 the day before in New York. */
    ck_assert_int_eq(pfs_ro_local_minute("Asia/Shanghai", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 8 * 60 + 30);
    ck_assert_int_eq(pfs_ro_local_minute("America/New_York", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 19 * 60 + 30);
    ck_assert_int_eq(pfs_ro_local_minute("Asia/Kolkata", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 6 * 60);
    ck_assert_int_eq(pfs_ro_local_minute("", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 30);
    before = getenv("TZ");
    ck_assert_str_eq(before ? before : "(unset)", saved);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("zone");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, zones_agree_with_localtime, 0, (int)(sizeof(zones) / sizeof(zones[0])));
    tcase_add_test(tc, dst_changes_of_2026);
    tcase_add_test(tc, posix_rules);
    tcase_add_test(tc, unknown_zones_refused);
    tcase_add_test(tc, damaged_files_refused);
    tcase_add_test(tc, synthetic_files);
    tcase_add_test(tc, local_minute_without_touching_tz);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
