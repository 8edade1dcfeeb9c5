/*
 * test_cli_when.c - times for people (server/cli/when.h): the display zone
 * from --tz, TZ or the system's file, times shown with their offset, and
 * ISO 8601 times typed with any offset, or in the display zone, read as the
 * UTC the API takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "table.h"
#include "testutil.h"
#include "when.h"

#define NOW      1800000000000LL /* 2027-01-15 08:00:00 UTC */
#define SUMMER   1782907200000LL /* 2026-07-01 12:00:00 UTC */
#define DEC7_UTC 1796639400000LL /* 2026-12-07 10:30:00 UTC */

static void show(const char *opt, const char *env, int64_t ms, const char *want)
{
    struct pfc_tz tz;
    struct pf_error err = {0};
    char buf[64];

    ck_assert_msg(pfc_tz_init(&tz, opt, env, NULL, NULL, &err) == 0, "%s", err.msg);
    pfc_tz_format(&tz, ms, buf, sizeof(buf));
    ck_assert_str_eq(buf, want);
    pfc_tz_release(&tz);
}

START_TEST(shown_with_offset)
{
    show("Asia/Shanghai", NULL, NOW, "2027-01-15 16:00:00 +08:00");
    show("Asia/Urumqi", NULL, NOW, "2027-01-15 14:00:00 +06:00");
    show("Asia/Kolkata", NULL, NOW, "2027-01-15 13:30:00 +05:30");
    show("America/New_York", NULL, NOW, "2027-01-15 03:00:00 -05:00");
    show("America/New_York", NULL, SUMMER, "2026-07-01 08:00:00 -04:00"); /* daylight time */
    show("UTC", NULL, NOW, "2027-01-15 08:00:00 UTC");
    show(NULL, "Asia/Shanghai", NOW, "2027-01-15 16:00:00 +08:00");  /* TZ */
    show(NULL, ":Asia/Shanghai", NOW, "2027-01-15 16:00:00 +08:00"); /* TZ's ':' form */
    show(NULL, "CST-8", NOW, "2027-01-15 16:00:00 +08:00");          /* a POSIX rule */
    show("UTC", "Asia/Shanghai", NOW, "2027-01-15 08:00:00 UTC");    /* --tz wins */
    show("Asia/Shanghai", NULL, 0, "-");
}
END_TEST

START_TEST(system_zone_and_refusals)
{
    struct pfc_tz tz;
    struct pf_error err = {0};
    char buf[64];

    /* No --tz and no TZ: the system's zone file. */
    ck_assert_int_eq(pfc_tz_init(&tz, NULL, "", NULL, PF_ZONE_DIR "/Asia/Tokyo", &err), 0);
    pfc_tz_format(&tz, NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2027-01-15 17:00:00 +09:00");
    pfc_tz_release(&tz);
    ck_assert_int_eq(pfc_tz_init(&tz, NULL, NULL, NULL, "/nonexistent/localtime", &err), 0);
    pfc_tz_format(&tz, NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2027-01-15 08:00:00 UTC");
    pfc_tz_release(&tz);

    ck_assert_int_eq(pfc_tz_init(&tz, "Mars/Base", NULL, NULL, NULL, &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "--tz Mars/Base: not an installed time zone") == err.msg, "%s",
                  err.msg);
    pfc_tz_format(&tz, NOW, buf, sizeof(buf)); /* left UTC */
    ck_assert_str_eq(buf, "2027-01-15 08:00:00 UTC");
    pfc_tz_release(&tz);
    ck_assert_int_eq(pfc_tz_init(&tz, NULL, "../../etc/passwd", NULL, NULL, &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "TZ ../../etc/passwd: not a time zone") == err.msg, "%s",
                  err.msg);
    pfc_tz_release(&tz);
}
END_TEST

START_TEST(typed_times)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
            {"2026-12-07T18:30+08:00", DEC7_UTC}, {"2026-12-07T18:30+0800", DEC7_UTC},
            {"2026-12-07T18:30+08", DEC7_UTC},    {"2026-12-07T18:30:00+08:00", DEC7_UTC},
            {"2026-12-07T10:30Z", DEC7_UTC},      {"2026-12-07t10:30:00z", DEC7_UTC},
            {"2026-12-07T04:30-06:00", DEC7_UTC}, {"2026-12-07T18:30:00.250+08:00", DEC7_UTC + 250},
            {"2026-12-07 18:30", DEC7_UTC},      /* no offset: the display zone */
            {"2026-12-07", DEC7_UTC - 66600000}, /* midnight in Shanghai: 16:00 UTC the day before
                                                  */
            {"1796639400000", DEC7_UTC},         /* ms, as the API takes them */
    };
    static const char *const bad[] = {
            "",
            "yesterday",
            "2026-02-30",
            "2026-13-01",
            "2026-12-07T25:00Z",
            "2026-12-07T18:60Z",
            "2026-12-07T18:30+8",
            "2026-12-07T18:30+24:00",
            "2026-12-07T18:30 UTC",
            "2026-12-07T18:30+08:00x",
            "2026-12-7",
            "2026-12-07T18",
            "2026-12-07T18:30:00.",
            "0",
    };
    struct pfc_tz tz;
    struct pf_error err = {0};
    int64_t ms;

    ck_assert_int_eq(pfc_tz_init(&tz, "Asia/Shanghai", NULL, NULL, NULL, &err), 0);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ms = -1;
        ck_assert_msg(pfc_time_parse(&tz, ok[i].s, &ms) == 0, "'%s' refused", ok[i].s);
        ck_assert_msg(ms == ok[i].ms, "'%s': %lld, want %lld", ok[i].s, (long long)ms,
                      (long long)ok[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(pfc_time_parse(&tz, bad[i], &ms) == PF_EINVAL, "'%s' accepted", bad[i]);
    /* Without a zone a time without offset is UTC. */
    ck_assert_int_eq(pfc_time_parse(NULL, "2026-12-07 10:30", &ms), 0);
    ck_assert_int_eq(ms, DEC7_UTC);
    pfc_tz_release(&tz);
}
END_TEST

/* The display zone reaches every table and card (pfc_showtime) and the requests. */
START_TEST(display_zone_in_output_and_requests)
{
    struct pfc_tz tz;
    struct pf_error err = {0};
    struct pfc_args a;
    char buf[64], path[256];
    char *argv[] = {"posfleet", "audit", "--since", "2026-12-07 18:30", NULL};

    pfc_showtime(NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2027-01-15 08:00:00 UTC");
    ck_assert_int_eq(pfc_tz_init(&tz, "Asia/Shanghai", NULL, NULL, NULL, &err), 0);
    pfc_tz_use(&tz);
    pfc_showtime(NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2027-01-15 16:00:00 +08:00");
    ck_assert_int_eq(pfc_args_parse(4, argv, pfc_commands, pfc_ncommands, &a, &err), 0);
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/v1/audit?since=1796639400000"); /* the API stays UTC */
    pfc_tz_use(NULL);
    pfc_tz_release(&tz);

    argv[3] = "last week";
    ck_assert_int_eq(pfc_args_parse(4, argv, pfc_commands, pfc_ncommands, &a, &err), PF_EINVAL);
    ck_assert_msg(strstr(err.msg, "audit: --since: expected an ISO 8601 time") == err.msg, "%s",
                  err.msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_when");
    TCase *tc = tcase_create("when");

    tcase_add_test(tc, shown_with_offset);
    tcase_add_test(tc, system_zone_and_refusals);
    tcase_add_test(tc, typed_times);
    tcase_add_test(tc, display_zone_in_output_and_requests);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
