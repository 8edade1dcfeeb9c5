/*
 * test_api_search.c - the filters of the list routes (api_search.c) through
 * posfleetd's HTTP API: Chinese text in the query string, each filter, pages
 * and their "next", and the refusals: an unknown parameter or a bad value is
 * 400 with a message that starts with the parameter's name.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/tokens.h"
#include "lifecycle/merchant.h"
#include "server.h"
#include "testutil.h"

static char dir[256];
static struct pfs_config cfg;
static struct pfs_server *srv;
static pthread_t srv_thread;
static int port;

/* The rig's header-only request helper is for the suites about refusals
 * before the body; this one does not need it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "api_rig.h"
#pragma GCC diagnostic pop

static void call(const char *method, const char *path, const char *token, const char *body,
                 int status)
{
    struct resp r;

    http(method, path, token, body, &r);
    ck_assert_msg(r.status == status, "%s %s: status %d want %d: %s", method, path, r.status,
                  status, r.body);
    resp_release(&r);
}

/* An approved merchant; n makes its credit code, phone and contact. */
static void merchant(const char *id, const char *name, const char *region, int n)
{
    char uscc[PFS_USCC_LEN + 1], body[1024], path[128];

    snprintf(uscc, sizeof(uscc), "91440300MA5F%05d", n);
    uscc[17] = pfs_uscc_check_char(uscc);
    uscc[18] = '\0';
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"name\":\"%s\",\"uscc\":\"%s\",\"mcc\":\"5812\","
             "\"address\":\"深圳市南山区\",\"contact_name\":\"联系人%d\","
             "\"contact_phone\":\"1380000%04d\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\","
             "\"fee_plan\":[\"fee-2026.11\"],\"region\":\"%s\"}",
             id, name, uscc, n, n, region);
    call("POST", "/v1/merchants", "tok-ops", body, 201);
    snprintf(path, sizeof(path), "/v1/merchants/%s/approve", id);
    call("POST", path, "tok-ops", NULL, 200);
}

static void terminal(const char *serial, const char *model, const char *merchant_id,
                     const char *tags)
{
    char body[256], path[128];

    add_device(serial, model);
    if (merchant_id) {
        snprintf(path, sizeof(path), "/v1/devices/%s/bind", serial);
        snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\"}", merchant_id);
        call("POST", path, "tok-ops", body, 200);
    }
    if (tags) {
        snprintf(path, sizeof(path), "/v1/devices/%s/tags", serial);
        snprintf(body, sizeof(body), "{\"tags\":%s}", tags);
        call("POST", path, "tok-ops", body, 200);
    }
}

static void fleet(void)
{
    server_start(false);
    merchant("M-SZ-1", "幸运面馆", "south", 1);
    merchant("M-SZ-2", "幸福超市", "south", 2);
    merchant("M-XJ-1", "天山拉面馆", "west", 3);
    terminal("T1", "PX-500", "M-SZ-1", "[\"vip\",\"北区\"]");
    terminal("T2", "PX-500", "M-SZ-1", NULL);
    terminal("T3", "PX-700", "M-SZ-2", "[\"vip\"]");
    terminal("T4", "PX-700", "M-XJ-1", NULL);
    terminal("T5", "PX-500", NULL, NULL);
}

/* The values of key in the list under list, joined with ",". */
static const char *column(const char *path, const char *token, const char *list, const char *key)
{
    static char out[1024];
    struct resp r;
    json_t *arr, *row;
    size_t i, n = 0;

    http("GET", path, token, NULL, &r);
    ck_assert_msg(r.status == 200, "GET %s: %d %s", path, r.status, r.body);
    arr = json_object_get(r.json, list);
    ck_assert(json_is_array(arr));
    out[0] = '\0';
    json_array_foreach(arr, i, row)
    {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "", jstr(row, key));
    }
    resp_release(&r);
    return out;
}

#define TERMS(q)     column("/v1/devices" q, "tok-view", "devices", "serial")
#define MERCHANTS(q) column("/v1/merchants" q, "tok-view", "merchants", "id")

START_TEST(terminals_by_every_filter)
{
    struct resp r;

    fleet();
    ck_assert_str_eq(TERMS("?model=PX-700"), "T3,T4");
    ck_assert_str_eq(TERMS("?merchant=M-SZ-1"), "T1,T2");
    /* 面馆 and 拉面馆, percent-encoded UTF-8. */
    ck_assert_str_eq(TERMS("?merchant_name=%E9%9D%A2%E9%A6%86"), "T1,T2,T4");
    ck_assert_str_eq(TERMS("?merchant_name=%E6%8B%89%E9%9D%A2%E9%A6%86"), "T4");
    ck_assert_str_eq(TERMS("?region=south"), "T1,T2,T3");
    ck_assert_str_eq(TERMS("?tag=vip"), "T1,T3");
    ck_assert_str_eq(TERMS("?tag=%E5%8C%97%E5%8C%BA"), "T1"); /* 北区 */
    ck_assert_str_eq(TERMS("?state=installed"), "T1,T2,T3,T4");
    ck_assert_str_eq(TERMS("?state=in_stock"), "T5");
    ck_assert_str_eq(TERMS("?lock=unlocked&model=PX-500"), "T1,T2,T5");
    ck_assert_str_eq(TERMS("?lock=locked"), "");
    ck_assert_str_eq(TERMS("?status=never&region=west"), "T4");
    /* A row says what was searched on. */
    http("GET", "/v1/devices?tag=%E5%8C%97%E5%8C%BA", "tok-view", NULL, &r);
    {
        json_t *t = json_array_get(json_object_get(r.json, "devices"), 0);

        ck_assert_str_eq(jstr(t, "state"), "installed");
        ck_assert_str_eq(jstr(t, "merchant_id"), "M-SZ-1");
        ck_assert_str_eq(jstr(t, "merchant_name"), "幸运面馆");
        ck_assert_str_eq(jstr(t, "region"), "south");
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "tags"), 1)), "北区");
        ck_assert(json_is_false(json_object_get(t, "locked")));
    }
    resp_release(&r);
    /* Pages: "next" is the last serial, the next page starts after it. */
    http("GET", "/v1/devices?model=PX-500&limit=2", "tok-view", NULL, &r);
    ck_assert_str_eq(jstr(r.json, "next"), "T2");
    resp_release(&r);
    ck_assert_str_eq(TERMS("?model=PX-500&limit=2&after=T2"), "T5");
}
END_TEST

START_TEST(merchants_by_every_filter)
{
    struct resp r;

    fleet();
    ck_assert_str_eq(MERCHANTS("?name=%E9%9D%A2"), "M-SZ-1,M-XJ-1");            /* 面 */
    ck_assert_str_eq(MERCHANTS("?name=%E5%B9%B8%E7%A6%8F%E8%B6%85"), "M-SZ-2"); /* 幸福超 */
    ck_assert_str_eq(MERCHANTS("?phone=13800000003"), "M-XJ-1");
    ck_assert_str_eq(MERCHANTS("?contact=%E8%81%94%E7%B3%BB%E4%BA%BA2"), "M-SZ-2"); /* 联系人2 */
    ck_assert_str_eq(MERCHANTS("?region=south&status=active"), "M-SZ-1,M-SZ-2");
    http("GET", "/v1/merchants?name=%E5%B9%B8&limit=1", "tok-view", NULL, &r); /* 幸 */
    ck_assert_str_eq(jstr(r.json, "next"), "M-SZ-1");
    resp_release(&r);
    ck_assert_str_eq(MERCHANTS("?name=%E5%B9%B8&limit=1&after=M-SZ-1"), "M-SZ-2");
    {
        char path[128], uscc[PFS_USCC_LEN + 1];

        snprintf(uscc, sizeof(uscc), "91440300MA5F%05d", 3);
        uscc[17] = pfs_uscc_check_char(uscc);
        uscc[18] = '\0';
        snprintf(path, sizeof(path), "/v1/merchants?uscc=%s", uscc);
        ck_assert_str_eq(column(path, "tok-view", "merchants", "id"), "M-XJ-1");
    }
}
END_TEST

START_TEST(alerts_and_audit)
{
    struct resp r;

    fleet();
    ck_assert_str_eq(column("/v1/audit?action=terminal.tags", "tok-sup", "audit", "target"),
                     "T3,T1");
    ck_assert_str_eq(column("/v1/audit?actor=alice&target=M-XJ-1", "tok-sup", "audit", "action"),
                     "merchant.activate,merchant.approve,merchant.add");
    http("GET", "/v1/audit?action=terminal.bind&limit=1", "tok-sup", NULL, &r);
    ck_assert(json_is_integer(json_object_get(r.json, "next")));
    resp_release(&r);
    ck_assert_str_eq(column("/v1/audit?until=1", "tok-sup", "audit", "action"), "");
    ck_assert_str_eq(column("/v1/alerts?kind=tamper", "tok-view", "alerts", "serial"), "");
    ck_assert_str_eq(
            column("/v1/alerts?older_than=2d&merchant=M-SZ-1", "tok-view", "alerts", "serial"), "");
}
END_TEST

START_TEST(refusals_name_the_parameter)
{
    static const struct {
        const char *path, *token, *message_start;
    } bad[] = {
            {"/v1/devices?colour=red", "tok-view", "colour: unknown parameter"},
            {"/v1/devices?state=broken", "tok-view", "state: "},
            {"/v1/devices?lock=maybe", "tok-view", "lock: "},
            {"/v1/devices?alert=fire", "tok-view", "alert: "},
            {"/v1/devices?after=a%2Fb", "tok-view", "after: "},
            {"/v1/devices?limit=0", "tok-view", "limit: "},
            {"/v1/devices?merchant_name=%FF", "tok-view", "merchant_name: invalid UTF-8"},
            {"/v1/devices?tag=", "tok-view", "tag: "},
            {"/v1/merchants?nmae=x", "tok-view", "nmae: unknown parameter"},
            {"/v1/merchants?status=open", "tok-view", "status: "},
            {"/v1/merchants?uscc=123", "tok-view", "uscc: "},
            {"/v1/merchants?name=%E9%9D%A2%1B", "tok-view", "name: control character"},
            {"/v1/alerts?age=2d", "tok-view", "age: unknown parameter"},
            {"/v1/alerts?older_than=2w", "tok-view", "older_than: "},
            {"/v1/alerts?kind=fire", "tok-view", "kind: "},
            {"/v1/alerts?before=x", "tok-view", "before: "},
            {"/v1/audit?who=alice", "tok-sup", "who: unknown parameter"},
            {"/v1/audit?until=yesterday", "tok-sup", "until: "},
            {"/v1/audit?since=yesterday", "tok-sup", "since: "},
            {"/v1/audit?serial=a%2Fb", "tok-sup", "serial: "},
    };
    struct resp r;

    server_start(false);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *m;

        http("GET", bad[i].path, bad[i].token, NULL, &r);
        expect_error(&r, 400, "INVAL");
        m = jstr(r.json, "message");
        ck_assert_msg(m && !strncmp(m, bad[i].message_start, strlen(bad[i].message_start)),
                      "%s: %s", bad[i].path, r.body);
        resp_release(&r);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_search");
    TCase *tc = tcase_create("search");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, terminals_by_every_filter);
    tcase_add_test(tc, merchants_by_every_filter);
    tcase_add_test(tc, alerts_and_audit);
    tcase_add_test(tc, refusals_name_the_parameter);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
