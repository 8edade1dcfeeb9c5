/*
 * test_rollout_def.c - rollout definitions: defaults and the round trip
 * through JSON, every refusal naming its key, and the maintenance window in
 * a terminal's local time.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "rollouts/rollout_def.h"
#include "testutil.h"

static int parse(const char *text, struct pfs_ro_def *d, struct pf_error *err)
{
    json_t *o = json_loads(text, 0, NULL);
    int rc;

    ck_assert_ptr_nonnull(o);
    rc = pfs_ro_def_parse(o, 1000000, d, err);
    json_decref(o);
    return rc;
}

#define BUNDLE_A "\"bundle\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

START_TEST(def_defaults_and_round_trip)
{
    struct pfs_ro_def d, again;
    struct pf_error err = {0};
    json_t *o;

    ck_assert_int_eq(parse("{" BUNDLE_A ",\"stages\":[\"1%\",{\"size\":\"50%\",\"gate\":true},"
                           "\"100%\"],\"soak_s\":60,\"cohort\":{\"models\":[\"PX-500\"]}}",
                           &d, &err),
                     0);
    ck_assert_int_eq(d.nstages, 3);
    ck_assert(d.stages[0].pct && d.stages[0].value == 100);
    ck_assert(!d.stages[0].gate && d.stages[1].gate && !d.stages[2].gate);
    ck_assert_int_eq(d.stages[2].soak_s, 60);
    ck_assert_int_eq(d.win_start, 60);
    ck_assert_int_eq(d.win_end, 300);
    ck_assert_int_eq(d.max_concurrent, 50);
    ck_assert_int_eq(d.offer_timeout_s, 3600);
    ck_assert_int_eq(d.max_deferrals, 3);
    ck_assert_int_eq(d.defer_limit_s, 14400);
    ck_assert_int_eq(d.start_ms, 1000000);
    ck_assert_str_eq(d.filters[PFS_RO_MODELS], "[\"PX-500\"]");
    ck_assert_ptr_null(d.filters[PFS_RO_TAGS]);
    o = pfs_ro_def_to_json(&d);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(pfs_ro_def_parse(o, 0, &again, &err), 0);
    ck_assert_int_eq(again.nstages, 3);
    ck_assert(again.stages[1].gate);
    ck_assert_int_eq(again.offer_timeout_s, 3600);
    ck_assert_int_eq(again.max_deferrals, 3);
    ck_assert_int_eq(again.defer_limit_s, 14400);
    ck_assert_int_eq(again.start_ms, 1000000 / 1000 * 1000);
    ck_assert_str_eq(again.filters[PFS_RO_MODELS], "[\"PX-500\"]");
    json_decref(o);
    pfs_ro_def_release(&again);
    pfs_ro_def_release(&d);
}
END_TEST

START_TEST(def_refusals_name_the_key)
{
    static const struct {
        const char *body;
        const char *msg;
    } bad[] = {
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"colour\":1}", "colour: unknown key"},
            {"{\"stages\":[\"100%\"]}", "bundle"},
            {"{\"bundle\":\"xyz\",\"stages\":[\"100%\"]}", "bundle"},
            {"{" BUNDLE_A "}", "stages: required"},
            {"{" BUNDLE_A ",\"stages\":[]}", "stages: an array"},
            {"{" BUNDLE_A ",\"stages\":[\"10%\",\"5%\",\"100%\"]}", "stages[1]: sizes"},
            {"{" BUNDLE_A ",\"stages\":[\"10%\",\"50%\"]}", "last stage must be 100%"},
            {"{" BUNDLE_A ",\"stages\":[\"10%\",20,\"100%\"]}", "stages[1]"},
            {"{" BUNDLE_A ",\"stages\":[\"abc\",\"100%\"]}", "stages[0]: a size"},
            {"{" BUNDLE_A ",\"stages\":[\"0%\",\"100%\"]}", "stages[0]: a percentage"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"window\":{\"start\":\"25:00\"}}",
             "window.start"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"criteria\":{\"max_failure_rate\":2}}",
             "criteria.max_failure_rate"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"cohort\":{\"models\":[]}}", "cohort.models"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"cohort\":{\"shops\":[\"x\"]}}",
             "cohort.shops: unknown key"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"max_concurrent\":0}", "max_concurrent"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"offer_timeout_s\":5}",
             "offer_timeout_s: 0 (never) or 10..604800"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"max_deferrals\":-1}", "max_deferrals"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"defer_limit_s\":2592001}", "defer_limit_s"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"start_at\":\"tomorrow\"}", "start_at"},
            {"{" BUNDLE_A ",\"stages\":[\"100%\"],\"start_at\":\"2026-01-02T00:00:00Z\","
             "\"deadline\":\"2026-01-01T00:00:00Z\"}",
             "deadline: must be after the start"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pfs_ro_def d;
        struct pf_error err = {0};
        int rc = parse(bad[i].body, &d, &err);

        ck_assert_msg(rc != 0, "accepted %s", bad[i].body);
        ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "%s: got '%s', want '%s'", bad[i].body,
                      err.msg, bad[i].msg);
        for (int f = 0; f < PFS_RO_FILTER_COUNT; f++)
            ck_assert_ptr_null(d.filters[f]);
    }
}
END_TEST

START_TEST(window_and_local_minute)
{
    struct pfs_ro_def d = {0};
    int minute = -1;

    d.win_start = 60;
    d.win_end = 300;
    ck_assert(!pfs_ro_in_window(&d, 59));
    ck_assert(pfs_ro_in_window(&d, 60));
    ck_assert(!pfs_ro_in_window(&d, 300));
    d.win_start = 22 * 60; /* wraps midnight */
    d.win_end = 2 * 60;
    ck_assert(pfs_ro_in_window(&d, 23 * 60));
    ck_assert(pfs_ro_in_window(&d, 30));
    ck_assert(!pfs_ro_in_window(&d, 12 * 60));
    d.win_start = d.win_end = 0;
    ck_assert(pfs_ro_in_window(&d, 12 * 60));
    /* 2026-01-15 00:30 UTC is 08:30 in Shanghai and 19:30 the day before in New York. */
    ck_assert_int_eq(pfs_ro_local_minute("Asia/Shanghai", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 8 * 60 + 30);
    ck_assert_int_eq(pfs_ro_local_minute("America/New_York", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 19 * 60 + 30);
    ck_assert_int_eq(pfs_ro_local_minute("", 1768437000000LL, &minute), 0);
    ck_assert_int_eq(minute, 30);
    ck_assert_int_eq(pfs_ro_local_minute("Mars/Olympus", 1768437000000LL, &minute), PF_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rollout_def");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, def_defaults_and_round_trip);
    tcase_add_test(tc, def_refusals_name_the_key);
    tcase_add_test(tc, window_and_local_minute);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
