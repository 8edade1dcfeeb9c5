/*
 * test_server_api.c - the server core in-process: HTTP API over loopback
 * sockets (auth, roles, validation, listing, revocation, audit, metrics),
 * and, with a real mosquitto broker on a free port, MQTT ingest, the
 * persistent session across a posfleetd restart and reconnect after a
 * broker restart.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pf/msg.h"
#include "server.h"
#include "testutil.h"
#include "api/api_resp.h"
#include "api/tokens.h"

static char dir[256];
static struct pfs_config cfg;
static struct pfs_server *srv;
static pthread_t srv_thread;
static int port;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#include "api_rig.h"

static long long count_rows(const char *sql)
{
    char path[400];
    sqlite3 *db;
    sqlite3_stmt *s;
    long long n = -1;

    snprintf(path, sizeof(path), "%s/posfleetd.db", dir);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* --- API --- */

START_TEST(auth_and_roles)
{
    struct resp r;

    server_start(false);
    http("GET", "/v1/devices", NULL, NULL, &r);
    expect_error(&r, 401, "AUTH");
    resp_release(&r);
    http("GET", "/v1/devices", "tok-wrong", NULL, &r);
    expect_error(&r, 401, "AUTH");
    resp_release(&r);
    http("GET", "/v1/devices", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "devices")), 0);
    ck_assert(json_is_null(json_object_get(r.json, "next")));
    resp_release(&r);
    http("POST", "/v1/devices", "tok-view", "{\"serial\":\"T1\",\"model\":\"PX\"}", &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    http("POST", "/v1/devices", "tok-sup", "{\"serial\":\"T1\",\"model\":\"PX\"}", &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    http("GET", "/v1/devices/T1", "tok-view", NULL, &r);
    expect_error(&r, 404, "UNKNOWN_SERIAL");
    resp_release(&r);
    http("GET", "/nothing", "tok-view", NULL, &r);
    expect_error(&r, 404, "NOENT");
    resp_release(&r);
    server_stop();
    ck_assert_int_eq(count_rows("SELECT count(*) FROM devices"), 0);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit"), 0);
}
END_TEST

/* A request that may not be made is answered on its headers, before its
 * body is asked for; only a request that passed gets "100 Continue". */
START_TEST(refused_before_the_body)
{
    char head[2048];

    server_start(false);
    ck_assert_int_eq(http_head_only("POST", "/v1/bundles", NULL, 120000000, head, sizeof(head)),
                     401);
    ck_assert_int_eq(
            http_head_only("POST", "/v1/devices/import", "tok-bad", 120000000, head, sizeof(head)),
            401);
    ck_assert_int_eq(
            http_head_only("POST", "/v1/devices/import", "tok-view", 120000000, head, sizeof(head)),
            403);
    ck_assert_int_eq(http_head_only("POST", "/v1/nothing", "tok-ops", 1000, head, sizeof(head)),
                     404);
    ck_assert_int_eq(http_head_only("POST", "/v1/summary", "tok-ops", 1000, head, sizeof(head)),
                     405);
    ck_assert_ptr_nonnull(strstr(head, "\r\nAllow: GET, HEAD\r\n"));
    /* Taken, but declared larger than the route's limit (http.body_max here). */
    ck_assert_int_eq(http_head_only("POST", "/v1/devices", "tok-ops", 1000000, head, sizeof(head)),
                     413);
    /* Taken, within the limit: the body is asked for. */
    ck_assert_int_eq(http_head_only("POST", "/v1/devices", "tok-ops", 100, head, sizeof(head)),
                     100);
    ck_assert_int_eq(
            http_head_only("POST", "/v1/devices/import", "tok-ops", 120000000, head, sizeof(head)),
            100);
}
END_TEST

START_TEST(wrong_method_is_405)
{
    struct resp r;

    server_start(false);
    http("POST", "/v1/summary", "tok-ops", NULL, &r);
    expect_error(&r, 405, "NOENT");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "allowed: GET, HEAD"));
    resp_release(&r);
    http("GET", "/v1/devices/T1/revoke", "tok-ops", NULL, &r);
    expect_error(&r, 405, "NOENT");
    resp_release(&r);
    http("DELETE", "/v1/devices", NULL, NULL, &r);
    expect_error(&r, 405, "NOENT");
    resp_release(&r);
    /* A body on a route that takes none is drained and ignored. */
    http("GET", "/v1/summary", "tok-view", "{\"ignored\":true}", &r);
    ck_assert_int_eq(r.status, 200);
    resp_release(&r);
}
END_TEST

START_TEST(register_validation)
{
    static const struct {
        const char *body;
        int status;
        const char *error;
        const char *mentions;
    } cases[] = {
            {"{\"serial\":\"T1\"", 400, "PARSE", "malformed"},
            {"[1]", 400, "PARSE", "object"},
            {"{\"model\":\"PX\"}", 400, "INVAL", "serial"},
            {"{\"serial\":\"T/1\",\"model\":\"PX\"}", 400, "INVAL", "serial"},
            {"{\"serial\":\"T1\"}", 400, "INVAL", "model"},
            {"{\"serial\":\"T1\",\"model\":7}", 400, "INVAL", "model"},
            {"{\"serial\":\"T1\",\"model\":\"PX\",\"hw_rev\":\"r1234567890123456\"}", 400, "INVAL",
             "hw_rev"},
            {"{\"serial\":\"T1\",\"model\":\"PX\",\"merchant_id\":\"\\u0001\"}", 400, "INVAL",
             "merchant_id"},
    };
    struct resp r;
    char big[6000];

    server_start(false);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http("POST", "/v1/devices", "tok-ops", cases[i].body, &r);
        ck_assert_msg(r.status == cases[i].status, "case %zu: %d %s", i, r.status, r.body);
        ck_assert_str_eq(jstr(r.json, "error"), cases[i].error);
        ck_assert_msg(strstr(jstr(r.json, "message"), cases[i].mentions), "case %zu: %s", i,
                      r.body);
        resp_release(&r);
    }
    memset(big, ' ', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    http("POST", "/v1/devices", "tok-ops", big, &r);
    expect_error(&r, 413, "TOOBIG");
    resp_release(&r);

    /* a merchant given at registration binds: one that does not exist refuses it */
    http("POST", "/v1/devices", "tok-ops",
         "{\"serial\":\"T1\",\"model\":\"PX-500\",\"hw_rev\":\"r2\",\"merchant_id\":\"M1\"}", &r);
    expect_error(&r, 404, "NOENT");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "merchant M1: no such merchant"));
    resp_release(&r);
    http("POST", "/v1/devices", "tok-ops",
         "{\"serial\":\"T1\",\"model\":\"PX-500\",\"hw_rev\":\"r2\"}", &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(jstr(r.json, "serial"), "T1");
    ck_assert_str_eq(jstr(r.json, "model"), "PX-500");
    ck_assert_str_eq(jstr(r.json, "hw_rev"), "r2");
    ck_assert(json_is_null(json_object_get(r.json, "merchant_id")));
    ck_assert_str_eq(jstr(r.json, "status"), "registered");
    ck_assert(json_is_false(json_object_get(r.json, "online")));
    ck_assert(json_is_null(json_object_get(r.json, "last_seen_ms")));
    resp_release(&r);
    http("POST", "/v1/devices", "tok-ops", "{\"serial\":\"T1\",\"model\":\"OTHER\"}", &r);
    expect_error(&r, 409, "EXIST");
    resp_release(&r);
    server_stop();
    ck_assert_int_eq(count_rows("SELECT count(*) FROM devices"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM devices WHERE model='PX-500'"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE actor='alice' AND role='ops'"
                                " AND action='device.add' AND target='T1'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit"), 1);
}
END_TEST

START_TEST(list_pages_filters_summary)
{
    const char *serials[] = {"A1", "A2", "B1", "B2", "C1"};
    struct resp r;
    json_t *arr;

    server_start(false);
    for (int i = 0; i < 5; i++)
        add_device(serials[i], i < 2 ? "PX" : "QX");
    http("GET", "/v1/devices?limit=2", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    arr = json_object_get(r.json, "devices");
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_str_eq(jstr(json_array_get(arr, 0), "serial"), "A1");
    ck_assert_str_eq(jstr(r.json, "next"), "A2");
    resp_release(&r);
    http("GET", "/v1/devices?limit=2&after=A2", "tok-view", NULL, &r);
    arr = json_object_get(r.json, "devices");
    ck_assert_str_eq(jstr(json_array_get(arr, 0), "serial"), "B1");
    ck_assert_str_eq(jstr(r.json, "next"), "B2");
    resp_release(&r);
    http("GET", "/v1/devices?limit=2&after=B2", "tok-view", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "devices")), 1);
    ck_assert(json_is_null(json_object_get(r.json, "next")));
    resp_release(&r);
    http("GET", "/v1/devices?model=QX&status=never", "tok-view", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "devices")), 3);
    resp_release(&r);
    http("GET", "/v1/devices?status=online", "tok-view", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "devices")), 0);
    resp_release(&r);

    http("GET", "/v1/devices?status=sleepy", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "status"));
    resp_release(&r);
    http("GET", "/v1/devices?limit=0", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices?limit=1001", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices?alert=nosuch", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);

    http("POST", "/v1/devices/C1/revoke", "tok-view", NULL, &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    http("POST", "/v1/devices/C1/revoke", "tok-ops", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "revoked");
    resp_release(&r);
    http("POST", "/v1/devices/C1/revoke", "tok-ops", NULL, &r);
    expect_error(&r, 409, "STATE");
    resp_release(&r);
    http("POST", "/v1/devices/ZZ/revoke", "tok-ops", NULL, &r);
    expect_error(&r, 404, "UNKNOWN_SERIAL");
    resp_release(&r);
    http("GET", "/v1/devices?status=revoked", "tok-view", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "devices")), 1);
    resp_release(&r);

    http("GET", "/v1/summary", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "total")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "never_seen")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "revoked")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "online")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "models"), "QX")),
                     3);
    ck_assert_int_eq(
            json_integer_value(json_object_get(json_object_get(r.json, "alerts"), "tamper")), 0);
    resp_release(&r);
    http("GET", "/v1/alerts", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "alerts")), 0);
    resp_release(&r);
    http("GET", "/v1/devices/A1?health=5", "tok-sup", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "health")), 0);
    ck_assert(json_is_null(json_object_get(r.json, "birth")));
    resp_release(&r);
    http("GET", "/v1/devices/A1?health=x", "tok-sup", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);

    /* The audit log: support and ops read it, newest first, in keyset pages. */
    http("GET", "/v1/audit", "tok-view", NULL, &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    http("GET", "/v1/audit?limit=1", "tok-sup", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    arr = json_object_get(r.json, "audit");
    ck_assert_int_eq(json_array_size(arr), 1);
    ck_assert_str_eq(jstr(json_array_get(arr, 0), "action"), "device.revoke");
    ck_assert_str_eq(jstr(json_array_get(arr, 0), "actor"), "alice");
    ck_assert_str_eq(jstr(json_object_get(json_array_get(arr, 0), "after"), "status"), "revoked");
    {
        char path[64];
        json_int_t next = json_integer_value(json_object_get(r.json, "next"));

        ck_assert_int_gt(next, 0);
        resp_release(&r);
        snprintf(path, sizeof(path), "/v1/audit?limit=10&before=%lld", (long long)next);
        http("GET", path, "tok-ops", NULL, &r);
        arr = json_object_get(r.json, "audit");
        ck_assert_int_eq(json_array_size(arr), 5); /* the five registrations */
        ck_assert_str_eq(jstr(json_array_get(arr, 0), "action"), "device.add");
        ck_assert(json_is_null(json_object_get(json_array_get(arr, 0), "before")));
        ck_assert(json_is_null(json_object_get(r.json, "next")));
        resp_release(&r);
    }
    http("GET", "/v1/audit?target=C1", "tok-sup", NULL, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "audit")), 2);
    resp_release(&r);
    server_stop();
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE action='device.revoke'"), 1);
}
END_TEST

/* The message of the import refusal's i-th bad line. */
static const char *import_line(struct resp *r, size_t i)
{
    const char *m = json_string_value(
            json_object_get(json_array_get(json_object_get(r->json, "lines"), i), "message"));

    ck_assert_msg(m != NULL, "no line %zu in %s", i, r->body);
    return m;
}

START_TEST(bulk_import_all_or_nothing)
{
    struct resp r;

    server_start(false);
    add_device("OLD1", "PX");
    http("POST", "/v1/devices/import", "tok-view", "serial,model\nN1,PX\n", &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    http("POST", "/v1/devices/import", "tok-ops", "serial,model\nN1,PX\nN2,PX,r1\nN 3,PX\n", &r);
    expect_error(&r, 400, "INVAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "1 bad line (nothing registered)"));
    ck_assert_ptr_nonnull(strstr(import_line(&r, 0), "line 4: serial"));
    resp_release(&r);
    http("POST", "/v1/devices/import", "tok-ops", "N1,PX\nOLD1,PX\n", &r);
    expect_error(&r, 409, "EXIST");
    ck_assert_str_eq(import_line(&r, 0), "line 2: serial OLD1: already registered");
    resp_release(&r);
    /* every bad line in one answer; a serial twice is a duplicate of its first line */
    http("POST", "/v1/devices/import", "tok-ops", "N1,PX\nN2,PX\nN1,QX\nOLD1,PX\nN4,\n", &r);
    expect_error(&r, 409, "EXIST");
    ck_assert_str_eq(jstr(r.json, "message"), "3 bad lines (nothing registered)");
    ck_assert_str_eq(import_line(&r, 0), "line 3: serial N1: duplicate of line 1");
    ck_assert_str_eq(import_line(&r, 1), "line 4: serial OLD1: already registered");
    ck_assert_ptr_nonnull(strstr(import_line(&r, 2), "line 5: model"));
    resp_release(&r);
    http("POST", "/v1/devices/import", "tok-ops", "N1,PX,,\nN2,PX,r1,M9,extra\n", &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/summary", "tok-view", NULL, &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "total")), 1);
    resp_release(&r);
    http("POST", "/v1/devices/import", "tok-ops",
         "serial,model,hw_rev,merchant_id\r\nN1,PX\r\n\r\nN2,QX,r1,\r\nN3,QX,,\r\n", &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "added")), 3);
    resp_release(&r);
    http("GET", "/v1/devices/N2", "tok-view", NULL, &r);
    ck_assert_str_eq(jstr(r.json, "hw_rev"), "r1");
    ck_assert(json_is_null(json_object_get(r.json, "merchant_id")));
    resp_release(&r);
    server_stop();
    ck_assert_int_eq(count_rows("SELECT count(*) FROM devices"), 4);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE action='device.import'"), 3);
}
END_TEST

START_TEST(metrics_without_token)
{
    struct resp r;

    server_start(false);
    http("GET", "/metrics", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_terminals_online 0"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_messages_accepted_total{type=\"health\"} 0"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_alerts_open{kind=\"tamper\"} 0"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_store_write_seconds_bucket{le=\"+Inf\"}"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_store_batch_size_count"));
    resp_release(&r);
}
END_TEST

/* --- with a real broker --- */

static pid_t broker_pid;
static int broker_port;

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    p = ntohs(sa.sin_port);
    close(fd);
    return p;
}

static bool port_open(int p)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void broker_start(void)
{
    char conf[400], text[256];
    int64_t deadline = mono_ms() + 10000;

    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
    snprintf(text, sizeof(text), "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n",
             broker_port);
    write_file(conf, text);
    broker_pid = fork();
    ck_assert_int_ge(broker_pid, 0);
    if (broker_pid == 0) {
        int devnull = open("/dev/null", 1);

        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    while (!port_open(broker_port)) {
        ck_assert_msg(mono_ms() < deadline, "mosquitto did not start");
        poll(NULL, 0, 20);
    }
}

static void broker_stop(void)
{
    int st;

    kill(broker_pid, SIGTERM);
    waitpid(broker_pid, &st, 0);
}

static void on_published(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)mid;
    *(int *)obj = 1;
}

/* Publishes one health report with QoS 1 and waits for its PUBACK. */
static void publish_health(const char *serial, uint32_t seq)
{
    int done = 0;
    struct mosquitto *m = mosquitto_new(NULL, true, &done);
    struct pf_health h;
    char topic[PF_TOPIC_MAX], buf[PF_MSG_MAX];
    size_t n = 0;
    int64_t deadline = mono_ms() + 5000;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = 1764220000000 + seq;
    h.battery_pct = 90;
    h.tamper = seq == 1;
    h.net_type = PF_NET_ETH;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0");
    snprintf(h.currency, sizeof(h.currency), "EUR");
    ck_assert_int_eq(pf_health_encode(&h, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, serial, PF_DEV_HEALTH), 0);
    ck_assert_ptr_nonnull(m);
    mosquitto_publish_callback_set(m, on_published);
    ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", broker_port, 30), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_publish(m, NULL, topic, (int)n, buf, 1, false), MOSQ_ERR_SUCCESS);
    while (!done && mono_ms() < deadline)
        mosquitto_loop(m, 50, 1);
    ck_assert_msg(done, "no PUBACK from the broker");
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
}

/* The newest health seq the API shows for serial, or -1. */
static long long api_seq(const char *serial)
{
    char path[128];
    struct resp r;
    long long seq = -1;
    json_t *c;

    snprintf(path, sizeof(path), "/v1/devices/%s?health=1", serial);
    http("GET", path, "tok-view", NULL, &r);
    c = json_object_get(r.json, "counters");
    if (r.status == 200 && json_is_object(c))
        seq = json_integer_value(json_object_get(c, "seq"));
    resp_release(&r);
    return seq;
}

static bool wait_seq(const char *serial, long long want, int ms)
{
    int64_t deadline = mono_ms() + ms;

    while (mono_ms() < deadline) {
        if (api_seq(serial) == want)
            return true;
        poll(NULL, 0, 20);
    }
    return false;
}

static void mqtt_setup(void)
{
    setup();
    broker_port = free_port();
    cfg.mqtt_port = broker_port;
    snprintf(cfg.mqtt_client_id, sizeof(cfg.mqtt_client_id), "posfleetd-test");
    broker_start();
}

static void mqtt_teardown(void)
{
    if (srv)
        server_stop();
    broker_stop();
    teardown();
}

START_TEST(mqtt_ingest_session_and_reconnect)
{
    struct resp r;
    uint32_t seq;
    bool ok = false;

    server_start(true);
    add_device("T1", "PX");
    /* Until the server has subscribed, a publish may be lost: retry with new seqs. */
    for (seq = 1; seq < 200 && !ok; seq++) {
        publish_health("T1", seq);
        ok = wait_seq("T1", seq, 300);
    }
    ck_assert_msg(ok, "health never arrived over MQTT");
    seq--;
    http("GET", "/v1/devices/T1", "tok-view", NULL, &r);
    ck_assert(json_is_true(json_object_get(r.json, "online")));
    resp_release(&r);

    /* An unknown serial over the real broker: ignored, alert raised. */
    publish_health("GHOST", 1);
    {
        int64_t deadline = mono_ms() + 5000;
        bool seen = false;

        while (!seen && mono_ms() < deadline) {
            http("GET", "/v1/alerts", "tok-view", NULL, &r);
            seen = strstr(r.body, "\"GHOST\"") && strstr(r.body, "unknown_serial");
            resp_release(&r);
            if (!seen)
                poll(NULL, 0, 20);
        }
        ck_assert(seen);
    }
    http("GET", "/metrics", NULL, NULL, &r);
    ck_assert_ptr_nonnull(
            strstr(r.body, "posfleet_messages_rejected_total{reason=\"UNKNOWN_SERIAL\"} 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_terminals_online 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "posfleet_alerts_open{kind=\"unknown_serial\"} 1"));
    resp_release(&r);

    /* posfleetd down: the broker keeps its session and queues the report. */
    server_stop();
    publish_health("T1", seq + 1);
    server_start(true);
    ck_assert_msg(wait_seq("T1", seq + 1, 10000), "report queued during the restart was lost");

    /* The broker restarts: posfleetd reconnects and subscribes again. */
    broker_stop();
    broker_start();
    ok = false;
    for (uint32_t s = seq + 2; s < seq + 200 && !ok; s++) {
        publish_health("T1", s);
        ok = wait_seq("T1", s, 300);
    }
    ck_assert_msg(ok, "no reconnect after the broker restart");

    server_stop();
    ck_assert_int_ge(count_rows("SELECT count(*) FROM health WHERE serial='T1' AND stored_ms"
                                " >= recv_ms"),
                     3);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM health WHERE serial='GHOST'"), 0);
}
END_TEST

/*
 * A TLS "broker" that completes TCP handshakes (the kernel's backlog does) but never
 * answers the TLS ClientHello: posfleetd must give up after one keep-alive and try
 * again, not wait for ever for a CONNACK (libmosquitto times out only established
 * sessions).
 */
START_TEST(silent_broker_gets_another_attempt)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t salen = sizeof(sa);
    int ls = socket(AF_INET, SOCK_STREAM, 0), conns[8], n = 0;
    int64_t deadline;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(ls, 8), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &salen), 0);
    cfg.mqtt_port = ntohs(sa.sin_port);
    cfg.mqtt_keepalive_s = 5;
    snprintf(cfg.mqtt_ca, sizeof(cfg.mqtt_ca), "%s/c.pem", dir);
    snprintf(cfg.mqtt_cert, sizeof(cfg.mqtt_cert), "%s/c.pem", dir);
    snprintf(cfg.mqtt_key, sizeof(cfg.mqtt_key), "%s/k.pem", dir);
    {
        char cmd[3 * PATH_MAX];

        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout %s -out %s -days 1 -subj /CN=posfleetd 2>/dev/null",
                 cfg.mqtt_key, cfg.mqtt_ca);
        ck_assert_int_eq(system(cmd), 0);
    }
    server_start(true);
    deadline = mono_ms() + 20000;
    while (n < 2 && mono_ms() < deadline) {
        struct pollfd pfd = {.fd = ls, .events = POLLIN};

        if (poll(&pfd, 1, 100) == 1)
            conns[n++] = accept(ls, NULL, NULL);
    }
    ck_assert_msg(n == 2, "posfleetd made %d connection attempts to a silent broker", n);
    server_stop();
    while (n > 0)
        close(conns[--n]);
    close(ls);
}
END_TEST

/* A bundle past the format's size or count limits is the uploader's fault: 400, never
 * 429, which tells a client to retry the same bytes later. A body over the route's limit
 * is 413. */
START_TEST(limit_refusals_are_400_or_413)
{
    ck_assert_int_eq(pfs_api_status(PF_ELIMIT), 400);
    ck_assert_int_eq(pfs_api_status(PF_ETOOBIG), 413);
    ck_assert_int_eq(pfs_api_status(PF_EUNSAFE_PATH), 400);
    ck_assert_int_eq(pfs_api_status(PF_EFEETABLE), 400);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_api");
    TCase *tc = tcase_create("api");
    TCase *tm = tcase_create("mqtt");

    signal(SIGPIPE, SIG_IGN);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, auth_and_roles);
    tcase_add_test(tc, refused_before_the_body);
    tcase_add_test(tc, wrong_method_is_405);
    tcase_add_test(tc, register_validation);
    tcase_add_test(tc, list_pages_filters_summary);
    tcase_add_test(tc, bulk_import_all_or_nothing);
    tcase_add_test(tc, metrics_without_token);
    tcase_add_test(tc, limit_refusals_are_400_or_413);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tm, mqtt_setup, mqtt_teardown);
    tcase_set_timeout(tm, 90);
    tcase_add_test(tm, mqtt_ingest_session_and_reconnect);
    tcase_add_test(tc, silent_broker_gets_another_attempt);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
