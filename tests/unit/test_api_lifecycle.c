/*
 * test_api_lifecycle.c - the lifecycle API in-process over loopback: roles of
 * every route, authentication, error statuses and names, refusals that change
 * nothing, routes that fall through to api.c, and a bind/swap/repair round.
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

#include "server.h"
#include "testutil.h"
#include "api/tokens.h"

static char dir[256];
static struct pfs_config cfg;
static struct pfs_server *srv;
static pthread_t srv_thread;
static int port;

#include "api_rig.h"

static const char merchant_json[] =
        "{\"id\":\"M1\",\"name\":\"Lucky Noodles\",\"uscc\":\"9144030071526726XG\","
        "\"mcc\":\"5812\",\"address\":\"1 Nanshan Road\",\"contact_name\":\"Li Wei\","
        "\"contact_phone\":\"+86 138 0000 0000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\","
        "\"fee_plan\":[\"fee-2026.11\"]}";

static void call(const char *method, const char *path, const char *token, const char *body,
                 int status)
{
    struct resp r;

    http(method, path, token, body, &r);
    ck_assert_msg(r.status == status, "%s %s as %s: status %d want %d: %s", method, path,
                  token ? token : "-", r.status, status, r.body);
    resp_release(&r);
}

START_TEST(roles_of_every_route)
{
    static const struct {
        const char *method, *path, *body;
        const char *min; /* lowest role allowed: tok-view, tok-sup or tok-ops */
    } routes[] = {
            {"GET", "/v1/merchants", NULL, "tok-view"},
            {"GET", "/v1/merchants/M1", NULL, "tok-view"},
            {"POST", "/v1/merchants/M1/update", "{}", "tok-ops"},
            {"POST", "/v1/merchants/M1/suspend", NULL, "tok-ops"},
            {"GET", "/v1/devices/T1/lifecycle", NULL, "tok-view"},
            {"GET", "/v1/devices/T1/history", NULL, "tok-view"},
            {"POST", "/v1/devices/T1/unbind", NULL, "tok-ops"},
            {"POST", "/v1/devices/T1/tags", "{\"tags\":[]}", "tok-ops"},
            {"POST", "/v1/devices/T1/swap", "{\"new\":\"T9\",\"reason\":\"x\"}", "tok-sup"},
            {"POST", "/v1/devices/T1/repair", "{\"reason\":\"x\"}", "tok-sup"},
            {"GET", "/v1/repairs", NULL, "tok-view"},
            {"GET", "/v1/repairs/1", NULL, "tok-view"},
            {"POST", "/v1/repairs/1", "{\"notes\":\"x\"}", "tok-sup"},
            {"POST", "/v1/repairs/1/close", "{\"outcome\":\"scrapped\"}", "tok-sup"},
            {"GET", "/v1/audit?serial=T1", NULL, "tok-sup"},
    };
    static const char *const tokens[] = {"tok-view", "tok-sup", "tok-ops"};

    server_start(false);
    add_device("T1", "PX-500");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        struct resp r;
        int min = 0;

        while (strcmp(tokens[min], routes[i].min) != 0)
            min++;
        http(routes[i].method, routes[i].path, NULL, routes[i].body, &r);
        expect_error(&r, 401, "AUTH");
        resp_release(&r);
        http(routes[i].method, routes[i].path, "tok-bogus", routes[i].body, &r);
        expect_error(&r, 401, "AUTH");
        resp_release(&r);
        for (int t = 0; t < 3; t++) {
            char head[2048];

            http(routes[i].method, routes[i].path, tokens[t], routes[i].body, &r);
            if (t < min) {
                expect_error(&r, 403, "PERM");
                /* Refused on the headers, before the body is asked for. */
                ck_assert_int_eq(http_head_only(routes[i].method, routes[i].path, tokens[t], 1000,
                                                head, sizeof(head)),
                                 403);
            } else {
                ck_assert_msg(r.status != 401 && r.status != 403, "%s %s as %s: %d %s",
                              routes[i].method, routes[i].path, tokens[t], r.status, r.body);
            }
            resp_release(&r);
        }
    }
    /* A support token cannot add a merchant or bind. */
    call("POST", "/v1/merchants", "tok-sup", merchant_json, 403);
    call("POST", "/v1/devices/T1/bind", "tok-sup", "{\"merchant_id\":\"M1\"}", 403);
}
END_TEST

START_TEST(errors_and_nothing_changed)
{
    struct resp r;
    char before[65536];

    server_start(false);
    add_device("T1", "PX-500");
    http("POST", "/v1/merchants", "tok-ops", "{\"id\":", &r);
    expect_error(&r, 400, "PARSE");
    resp_release(&r);
    http("POST", "/v1/merchants", "tok-ops",
         "{\"id\":\"M1\",\"name\":\"x\",\"uscc\":\"9144030071526726XH\"}", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "uscc: check character is 'H', expected 'G'");
    resp_release(&r);
    http("GET", "/v1/merchants", "tok-view", NULL, &r);
    ck_assert_str_eq(r.body, "{\"merchants\":[],\"next\":null}");
    resp_release(&r);
    call("POST", "/v1/merchants", "tok-ops", merchant_json, 201);
    http("POST", "/v1/merchants", "tok-ops", merchant_json, &r);
    expect_error(&r, 409, "EXIST");
    resp_release(&r);
    http("GET", "/v1/merchants/M9", "tok-view", NULL, &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    http("GET", "/v1/devices/NOPE/lifecycle", "tok-view", NULL, &r);
    expect_error(&r, 404, "UNKNOWN_SERIAL");
    resp_release(&r);
    http("GET", "/v1/devices/T1/lifecycle", "tok-view", NULL, &r);
    snprintf(before, sizeof(before), "%s", r.body);
    resp_release(&r);
    /* Binding to a merchant under review is refused and changes nothing. */
    http("POST", "/v1/devices/T1/bind", "tok-ops", "{\"merchant_id\":\"M1\"}", &r);
    expect_error(&r, 409, "STATE");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "applied"));
    resp_release(&r);
    http("GET", "/v1/devices/T1/lifecycle", "tok-view", NULL, &r);
    ck_assert_str_eq(r.body, before);
    resp_release(&r);
    http("POST", "/v1/devices/T1/bind", "tok-ops", "{}", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "merchant_id"));
    resp_release(&r);
    http("POST", "/v1/devices/T1/swap", "tok-sup", "{\"new\":\"a/b\",\"reason\":\"x\"}", &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("POST", "/v1/repairs/1", "tok-sup", "{}", &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("POST", "/v1/repairs/1", "tok-sup", "{\"state\":\"fixed\"}", &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("POST", "/v1/repairs/99", "tok-sup", "{\"notes\":\"x\"}", &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    http("GET", "/v1/repairs/abc", "tok-view", NULL, &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    http("POST", "/v1/merchants/M1/frobnicate", "tok-ops", NULL, &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    http("GET", "/v1/audit?since=yesterday", "tok-sup", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/audit?serial=a%2Fb", "tok-sup", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    /* Routes that are not the lifecycle's still reach api.c. */
    call("GET", "/v1/audit", "tok-sup", NULL, 200);
    call("GET", "/v1/audit", "tok-view", NULL, 403);
    call("POST", "/v1/devices/T1/revoke", "tok-ops", NULL, 200);
    http("POST", "/v1/devices/T1/frobnicate", "tok-ops", NULL, &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    http("GET", "/v1/devices/T1/lifecycle", "tok-view", NULL, &r);
    ck_assert_str_eq(jstr(r.json, "state"), "retired");
    resp_release(&r);
}
END_TEST

START_TEST(bind_swap_repair_round)
{
    struct resp r;
    json_int_t rid;

    server_start(false);
    add_device("T1", "PX-500");
    add_device("T2", "PX-500");
    call("POST", "/v1/merchants", "tok-ops", merchant_json, 201);
    call("POST", "/v1/merchants/M1/approve", "tok-ops", NULL, 200);
    call("POST", "/v1/devices/T1/bind", "tok-ops", "{\"merchant_id\":\"M1\"}", 200);
    http("GET", "/v1/merchants/M1", "tok-view", NULL, &r);
    ck_assert_str_eq(jstr(r.json, "status"), "active");
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "terminals"), 0), "serial"), "T1");
    resp_release(&r);
    http("POST", "/v1/devices/T1/swap", "tok-sup", "{\"new\":\"T2\",\"reason\":\"reader\"}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_str_eq(jstr(json_object_get(r.json, "new"), "merchant_id"), "M1");
    ck_assert_str_eq(jstr(json_object_get(r.json, "old"), "state"), "in_repair");
    rid = json_integer_value(json_object_get(json_object_get(r.json, "repair"), "id"));
    ck_assert_int_gt(rid, 0);
    resp_release(&r);
    {
        char path[64];

        static const struct {
            const char *query;
            size_t n;
        } lists[] = {{"", 1},
                     {"?state=open", 1},
                     {"?state=received", 1},
                     {"?state=diagnosed", 0},
                     {"?state=all&serial=T1", 1},
                     {"?serial=T2", 0}};

        snprintf(path, sizeof(path), "/v1/repairs/%lld", (long long)rid);
        call("POST", path, "tok-sup", "{\"state\":\"received\"}", 200);
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            char q[80];

            snprintf(q, sizeof(q), "/v1/repairs%s", lists[i].query);
            http("GET", q, "tok-view", NULL, &r);
            ck_assert_msg(json_array_size(json_object_get(r.json, "repairs")) == lists[i].n,
                          "%s: %s", q, r.body);
            resp_release(&r);
        }
        snprintf(path, sizeof(path), "/v1/repairs/%lld/close", (long long)rid);
        http("POST", path, "tok-sup", "{\"outcome\":\"returned_to_stock\",\"parts\":[\"reader\"]}",
             &r);
        ck_assert_msg(r.status == 200, "%s", r.body);
        ck_assert_str_eq(jstr(r.json, "state"), "returned_to_stock");
        resp_release(&r);
        http("POST", path, "tok-sup", "{\"outcome\":\"scrapped\"}", &r);
        expect_error(&r, 409, "STATE");
        resp_release(&r);
    }
    http("GET", "/v1/audit?serial=T2&limit=1", "tok-sup", NULL, &r);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "audit"), 0), "action"),
                     "terminal.swap");
    ck_assert(json_is_integer(json_object_get(r.json, "next")));
    resp_release(&r);
    http("GET", "/v1/audit?merchant=M1", "tok-sup", NULL, &r);
    ck_assert_int_ge(json_array_size(json_object_get(r.json, "audit")), 5);
    resp_release(&r);
    http("GET", "/v1/devices/T1/history", "tok-view", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "repairs")), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "\"kind\":\"swap_out\""));
    resp_release(&r);
}
END_TEST

/* Chinese text through the API: stored and returned unchanged; invalid text refused by field. */
START_TEST(chinese_text_round)
{
    static const char zh_merchant[] =
            "{\"id\":\"M2\",\"name\":\"幸运面馆\",\"uscc\":\"9144030071526726XG\","
            "\"mcc\":\"5812\",\"address\":\"深圳市南山区南山大道 1 号\",\"contact_name\":\"李伟\","
            "\"contact_phone\":\"+86 138 0000 "
            "0000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\"}";
    struct resp r;
    char body[1024], name[3 * 129 + 1];
    size_t off = 0;
    json_int_t rid;

    server_start(false);
    add_device("T1", "PX-500");
    add_device("T2", "PX-500");
    call("POST", "/v1/merchants", "tok-ops", zh_merchant, 201);
    http("GET", "/v1/merchants/M2", "tok-view", NULL, &r);
    ck_assert_str_eq(jstr(r.json, "name"), "幸运面馆");
    ck_assert_str_eq(jstr(r.json, "address"), "深圳市南山区南山大道 1 号");
    ck_assert_str_eq(jstr(r.json, "contact_name"), "李伟");
    resp_release(&r);

    /* 128 characters are 384 bytes and fit; 129 are refused, counted in characters. */
    for (int i = 0; i < 129; i++, off += 3)
        memcpy(name + off, "面", 3);
    name[off] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    http("POST", "/v1/merchants/M2/update", "tok-ops", body, &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "name: 129 characters, at most 128");
    resp_release(&r);
    name[off - 3] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    call("POST", "/v1/merchants/M2/update", "tok-ops", body, 200);
    http("POST", "/v1/merchants/M2/update", "tok-ops", "{\"address\":\"a\\u001b[31m\"}", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "address: control character U+001B at character 2");
    resp_release(&r);

    call("POST", "/v1/merchants/M2/approve", "tok-ops", NULL, 200);
    call("POST", "/v1/devices/T1/bind", "tok-ops", "{\"merchant_id\":\"M2\"}", 200);
    http("POST", "/v1/devices/T1/tags", "tok-ops", "{\"tags\":[\"华南\",\"a,b\"]}", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "tags[1]: no blanks or commas in a tag");
    resp_release(&r);
    http("POST", "/v1/devices/T1/tags", "tok-ops", "{\"tags\":[\"华南\",\"旗舰店\"]}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"华南\""));
    resp_release(&r);
    http("POST", "/v1/devices/T1/swap", "tok-sup", "{\"new\":\"T2\",\"reason\":\"\\u202e屏幕\"}",
         &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "reason: control character U+202E at character 1");
    resp_release(&r);
    http("POST", "/v1/devices/T1/swap", "tok-sup", "{\"new\":\"T2\",\"reason\":\"屏幕碎裂\"}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    rid = json_integer_value(json_object_get(json_object_get(r.json, "repair"), "id"));
    resp_release(&r);
    snprintf(body, sizeof(body), "/v1/repairs/%lld", (long long)rid);
    http("POST", body, "tok-sup", "{\"notes\":\"x\\u0007\"}", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_str_eq(jstr(r.json, "message"), "notes: control character U+0007 at character 2");
    resp_release(&r);
    call("POST", body, "tok-sup", "{\"notes\":\"已更换屏幕\\n待测试\",\"parts\":[\"触摸屏\"]}",
         200);
    http("GET", body, "tok-view", NULL, &r);
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "notes"), "已更换屏幕\n待测试"));
    ck_assert_str_eq(jstr(r.json, "reason"), "屏幕碎裂");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "parts"), 0)),
                     "触摸屏");
    resp_release(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_lifecycle");
    TCase *tc = tcase_create("api");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roles_of_every_route);
    tcase_add_test(tc, errors_and_nothing_changed);
    tcase_add_test(tc, bind_swap_repair_round);
    tcase_add_test(tc, chinese_text_round);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
