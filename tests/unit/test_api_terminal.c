/*
 * test_api_terminal.c - what the console's terminal page asks of the API:
 * the health history downsampled for charts (fleet/health_series.c and
 * GET /v1/devices/{serial}/health), ETags and 304 on GET answers, and
 * support's lock and unlock by hand (lifecycle.c's pfs_life_lock, the store
 * and POST /v1/devices/{serial}/lock|unlock).
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
#include "fleet/health_series.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "store/store_lifecycle.h"

static char dir[256];
static struct pfs_config cfg;
static struct pfs_server *srv;
static pthread_t srv_thread;
static int port;

#include "api_rig.h"

#define T0     INT64_C(1764547200000) /* 2025-12-01T00:00:00Z */
#define MIN_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)

/* --- the downsampling, without a server --- */

struct pts {
    struct pfs_health_point p[PFS_HSERIES_POINTS_MAX + 1];
    size_t n;
};

static int collect(void *ctx, const struct pfs_health_point *p)
{
    struct pts *out = ctx;

    ck_assert_uint_lt(out->n, PFS_HSERIES_POINTS_MAX + 1);
    out->p[out->n++] = *p;
    return 0;
}

START_TEST(series_thirty_days_fit)
{
    static struct pts out;
    struct pfs_hseries hs;
    struct pfs_health_point p = {0};

    /* 30 days at 60 s: 43,200 reports become 2,000 points or fewer, in time order. */
    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 + 30 * DAY_MS - 1, 2000), 0);
    for (int64_t i = 0; i < 30 * 1440; i++) {
        p.ts_ms = T0 + i * MIN_MS;
        p.battery_pct = i % 2 ? 60 : 40; /* mean 50 in every bucket */
        p.signal_dbm = -70;
        p.temp_c = 31;
        p.storage_free_kb = 1000000;
        pfs_hseries_add(&hs, &p);
    }
    ck_assert_int_eq(hs.reports, 43200);
    out.n = 0;
    ck_assert_int_eq(pfs_hseries_each(&hs, collect, &out), 0);
    ck_assert_uint_le(out.n, 2000);
    ck_assert_uint_ge(out.n, 1900);
    for (size_t i = 0; i < out.n; i++) {
        ck_assert_int_eq(out.p[i].battery_pct, 50);
        ck_assert_int_eq(out.p[i].signal_dbm, -70);
        ck_assert_int_eq(out.p[i].storage_free_kb, 1000000);
        if (i)
            ck_assert_int_gt(out.p[i].ts_ms, out.p[i - 1].ts_ms);
    }
    pfs_hseries_release(&hs);
}
END_TEST

START_TEST(series_sparse_exact_and_bounds)
{
    static struct pts out;
    struct pfs_hseries hs;
    struct pfs_health_point a = {T0 + 5000, 80, -90, 25, 500},
                            b = {T0 + 7 * DAY_MS, 79, -91, -3, 499};
    struct pfs_health_point early = {T0 - 1, 1, 1, 1, 1}, late = {T0 + 8 * DAY_MS + 1, 1, 1, 1, 1};

    /* Fewer reports than buckets: each report is its own point, unchanged. */
    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 + 8 * DAY_MS, 2000), 0);
    pfs_hseries_add(&hs, &b);
    pfs_hseries_add(&hs, &a);
    pfs_hseries_add(&hs, &early);
    pfs_hseries_add(&hs, &late);
    ck_assert_int_eq(hs.reports, 2);
    out.n = 0;
    ck_assert_int_eq(pfs_hseries_each(&hs, collect, &out), 0);
    ck_assert_uint_eq(out.n, 2);
    ck_assert(memcmp(&out.p[0], &a, sizeof(a)) == 0);
    ck_assert(memcmp(&out.p[1], &b, sizeof(b)) == 0);
    pfs_hseries_release(&hs);

    /* One bucket: means rounded to the nearest integer, negatives too. */
    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 + 999, 1), 0);
    ck_assert_int_eq(hs.bucket_ms, 1000);
    {
        struct pfs_health_point x = {T0, 1, -1, -3, 0}, y = {T0 + 999, 2, -2, -4, 1};

        pfs_hseries_add(&hs, &x);
        pfs_hseries_add(&hs, &y);
    }
    out.n = 0;
    ck_assert_int_eq(pfs_hseries_each(&hs, collect, &out), 0);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_int_eq(out.p[0].ts_ms, T0 + 500);
    ck_assert_int_eq(out.p[0].battery_pct, 2);
    ck_assert_int_eq(out.p[0].signal_dbm, -2);
    ck_assert_int_eq(out.p[0].temp_c, -4);
    ck_assert_int_eq(out.p[0].storage_free_kb, 1);
    pfs_hseries_release(&hs);

    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 - 1, 10), PF_EINVAL);
    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 + 10, 0), PF_EINVAL);
    ck_assert_int_eq(pfs_hseries_init(&hs, T0, T0 + 10, 2001), PF_EINVAL);
}
END_TEST

/* --- the lock rule --- */

START_TEST(lock_rule)
{
    struct pfs_term t;
    struct pf_error err = {0};
    enum pfs_term_state to;

    memset(&t, 0, sizeof(t));
    snprintf(t.serial, sizeof(t.serial), "T1");
    for (int s = 0; s < PFS_TERM_STATE_COUNT; s++) {
        bool field = s == PFS_TERM_IN_STOCK || s == PFS_TERM_INSTALLED || s == PFS_TERM_ACTIVE;

        t.state = (enum pfs_term_state)s;
        t.lock_want = false;
        ck_assert_int_eq(pfs_life_lock(&t, true, &err), field ? 0 : PF_ESTATE);
        ck_assert_int_eq(pfs_life_lock(&t, false, &err), PF_ESTATE);
        t.lock_want = true;
        ck_assert_int_eq(pfs_life_lock(&t, false, &err), field ? 0 : PF_ESTATE);
        ck_assert_int_eq(pfs_life_lock(&t, true, &err), PF_ESTATE);
    }
    t.state = PFS_TERM_LOCKED;
    ck_assert_int_eq(pfs_life_lock(&t, false, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "unlock: T1 is locked: its repair decides (closing it"
                              " returned_to_stock unlocks it)");
    t.state = PFS_TERM_ACTIVE;
    ck_assert_int_eq(pfs_life_lock(&t, true, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "lock: T1 is locked already");
    /* A terminal locked by hand that reports tamper still gets its tamper lock and repair. */
    ck_assert(pfs_life_tamper_locks(&t, &to));
    ck_assert_int_eq(to, PFS_TERM_LOCKED);
    t.revoked = true;
    ck_assert_int_eq(pfs_life_lock(&t, false, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "unlock: T1 is retired");
}
END_TEST

/* --- over HTTP --- */

static const struct pfs_actor ops = {.name = "alice", .role = "ops"};

/* T1 with a report every minute for two days from T0, and T2 with none. */
static void seed_store(void)
{
    struct pfs_store_opts o = {.path = cfg.store_path};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    for (int k = 1; k <= 2; k++) {
        struct pfs_device d = {0};

        snprintf(d.serial, sizeof(d.serial), "T%d", k);
        snprintf(d.model, sizeof(d.model), "PX-500");
        ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
    }
    for (uint32_t i = 0; i < 2 * 1440; i++) {
        struct pf_health h;

        memset(&h, 0, sizeof(h));
        h.seq = i + 1;
        h.ts_ms = T0 + (int64_t)i * MIN_MS;
        h.battery_pct = 100 - (int)(i / 60); /* one point less an hour */
        h.net_type = PF_NET_4G;
        h.signal_dbm = -80;
        h.temp_c = 30;
        h.storage_free_kb = 2048;
        snprintf(h.fw_version, sizeof(h.fw_version), "1.0.0");
        snprintf(h.fee_version, sizeof(h.fee_version), "2026.1");
        snprintf(h.currency, sizeof(h.currency), "CNY");
        ck_assert_int_eq(pfs_store_health_put(st, "T1", &h, h.ts_ms, NULL), 0);
    }
    pfs_store_close(st);
}

static void get_ok(const char *path, const char *token, struct resp *r)
{
    http("GET", path, token, NULL, r);
    ck_assert_msg(r->status == 200, "GET %s: %d %s", path, r->status, r->body);
}

START_TEST(health_route)
{
    char path[256];
    struct resp r;
    json_t *pts;

    cfg.store_health_keep = 10000;
    seed_store();
    server_start(false);
    /* The first day in 24 points: one an hour, each the hour's mean. */
    snprintf(path, sizeof(path), "/v1/devices/T1/health?from=%lld&to=%lld&points=24", (long long)T0,
             (long long)(T0 + DAY_MS - 1));
    get_ok(path, "tok-view", &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "reports")), 1440);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "bucket_ms")), 3600000);
    pts = json_object_get(r.json, "points");
    ck_assert_uint_eq(json_array_size(pts), 24);
    for (size_t i = 0; i < 24; i++) {
        json_t *row = json_array_get(pts, i);

        ck_assert_int_eq(json_integer_value(json_array_get(row, 0)),
                         T0 + (int64_t)i * 3600000 + 29 * MIN_MS + 30000);
        ck_assert_int_eq(json_integer_value(json_array_get(row, 1)), 100 - (int)i);
        ck_assert_int_eq(json_integer_value(json_array_get(row, 2)), -80);
        ck_assert_int_eq(json_integer_value(json_array_get(row, 3)), 30);
        ck_assert_int_eq(json_integer_value(json_array_get(row, 4)), 2048);
    }
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "columns"), 1)),
                     "battery_pct");
    resp_release(&r);
    /* Both days, default points: 2,880 reports into at most 2,000 points. */
    snprintf(path, sizeof(path), "/v1/devices/T1/health?from=%lld&to=%lld", (long long)T0,
             (long long)(T0 + 2 * DAY_MS));
    get_ok(path, "tok-view", &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "reports")), 2880);
    ck_assert_uint_le(json_array_size(json_object_get(r.json, "points")), 2000);
    ck_assert_uint_gt(json_array_size(json_object_get(r.json, "points")), 1400);
    resp_release(&r);
    /* No reports: no points. The default range is the last day before now. */
    get_ok("/v1/devices/T2/health", "tok-view", &r);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "points")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "to_ms")) -
                             json_integer_value(json_object_get(r.json, "from_ms")),
                     DAY_MS);
    resp_release(&r);
    /* Refusals. */
    http("GET", "/v1/devices/T1/health?from=5&to=4", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices/T1/health?points=2001", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices/T1/health?since=1", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices/NOPE/health", "tok-view", NULL, &r);
    expect_error(&r, 404, "UNKNOWN_SERIAL");
    resp_release(&r);
    http("GET", "/v1/devices/T1/health", NULL, NULL, &r);
    expect_error(&r, 401, "AUTH");
    resp_release(&r);
}
END_TEST

/* The ETag header's value in a response head, or "". */
static void etag_of(const struct resp *r, char *out, size_t size)
{
    const char *h = strstr(r->head, "\r\nETag: ");

    out[0] = '\0';
    if (h) {
        h += strlen("\r\nETag: ");
        snprintf(out, size, "%.*s", (int)strcspn(h, "\r"), h);
    }
}

START_TEST(etag_and_not_modified)
{
    char tag[128], tag2[128], hdr[256];
    struct resp r;

    server_start(false);
    add_device("T1", "PX-500");
    get_ok("/v1/devices/T1/lifecycle", "tok-view", &r);
    etag_of(&r, tag, sizeof(tag));
    resp_release(&r);
    ck_assert_uint_eq(strlen(tag), 34); /* "32 hex digits" */
    ck_assert_int_eq(tag[0], '"');

    /* The same answer: 304 and no body; the tag is repeated. */
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", tag);
    rig_headers = hdr;
    http("GET", "/v1/devices/T1/lifecycle", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(r.body, "");
    etag_of(&r, tag2, sizeof(tag2));
    ck_assert_str_eq(tag2, tag);
    resp_release(&r);
    /* In a list, or weak: still a match. */
    snprintf(hdr, sizeof(hdr), "If-None-Match: \"x\", W/%s\r\n", tag);
    http("GET", "/v1/devices/T1/lifecycle", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 304);
    resp_release(&r);
    /* Another tag: the whole answer. */
    rig_headers = "If-None-Match: \"0123\"\r\n";
    get_ok("/v1/devices/T1/lifecycle", "tok-view", &r);
    resp_release(&r);

    /* A change makes a new tag: the old one gets the whole answer. */
    rig_headers = NULL;
    http("POST", "/v1/devices/T1/tags", "tok-ops", "{\"tags\":[\"vip\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.head, "ETag"));
    resp_release(&r);
    rig_headers = hdr;
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", tag);
    get_ok("/v1/devices/T1/lifecycle", "tok-view", &r);
    etag_of(&r, tag2, sizeof(tag2));
    ck_assert_str_ne(tag2, tag);
    ck_assert_ptr_nonnull(strstr(r.body, "vip"));
    resp_release(&r);
    /* Refusals carry no tag and are never 304. */
    rig_headers = "If-None-Match: *\r\n";
    http("GET", "/v1/devices/NOPE/lifecycle", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_null(strstr(r.head, "ETag"));
    resp_release(&r);
    rig_headers = NULL;
}
END_TEST

static void expect_conflict(const char *path, const char *token, const char *body, const char *msg)
{
    struct resp r;

    http("POST", path, token, body, &r);
    expect_error(&r, 409, "STATE");
    ck_assert_msg(strstr(jstr(r.json, "message"), msg), "%s", r.body);
    resp_release(&r);
}

START_TEST(lock_and_unlock_by_hand)
{
    char head[2048];
    struct resp r;
    json_t *lock;

    server_start(false);
    add_device("T1", "PX-500");
    /* Who may: support and above (a viewer is refused on the headers, before
     * the body); a reason is required. */
    http("POST", "/v1/devices/T1/lock", "tok-view", "{\"reason\":\"stolen\"}", &r);
    expect_error(&r, 403, "PERM");
    resp_release(&r);
    ck_assert_int_eq(
            http_head_only("POST", "/v1/devices/T1/lock", "tok-view", 1000, head, sizeof(head)),
            403);
    http("POST", "/v1/devices/T1/lock", "tok-sup", "{}", &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("POST", "/v1/devices/T1/lock", "tok-sup", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("POST", "/v1/devices/T1/unlock", "tok-sup", "{\"reason\":\"x\"}", &r);
    expect_error(&r, 409, "STATE");
    resp_release(&r);

    http("POST", "/v1/devices/T1/lock", "tok-sup", "{\"reason\":\"商户报失\"}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert(json_is_true(json_object_get(r.json, "locked")));
    ck_assert_str_eq(jstr(r.json, "state"), "in_stock"); /* the state does not change */
    lock = json_object_get(r.json, "lock");
    ck_assert_str_eq(jstr(lock, "action"), "lock");
    ck_assert_str_eq(jstr(lock, "reason"), "support");
    ck_assert(json_is_false(json_object_get(lock, "acknowledged")));
    resp_release(&r);
    expect_conflict("/v1/devices/T1/lock", "tok-ops", "{\"reason\":\"x\"}", "locked already");

    http("POST", "/v1/devices/T1/unlock", "tok-sup", "{\"reason\":\"找回\"}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert(json_is_false(json_object_get(r.json, "locked")));
    ck_assert_str_eq(jstr(json_object_get(r.json, "lock"), "action"), "unlock");
    resp_release(&r);

    /* The history names both with the person's reason; the audit has both rows. */
    get_ok("/v1/devices/T1/history", "tok-view", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "商户报失"));
    ck_assert_ptr_nonnull(strstr(r.body, "找回"));
    resp_release(&r);
    get_ok("/v1/audit?action=terminal.lock", "tok-sup", &r);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "audit")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "audit"), 0), "actor"), "sam");
    resp_release(&r);
    get_ok("/v1/audit?action=terminal.unlock", "tok-sup", &r);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "audit")), 1);
    resp_release(&r);

    /* In repair: its repair decides. */
    http("POST", "/v1/devices/T1/repair", "tok-sup", "{\"reason\":\"screen\"}", &r);
    ck_assert_int_eq(r.status, 201);
    resp_release(&r);
    expect_conflict("/v1/devices/T1/lock", "tok-sup", "{\"reason\":\"x\"}", "its repair decides");
    http("POST", "/v1/devices/NOPE/lock", "tok-sup", "{\"reason\":\"x\"}", &r);
    ck_assert_int_eq(r.status, 404);
    resp_release(&r);
}
END_TEST

/* The body of a chunked answer, de-chunked in place; the number of chunks. */
static int dechunk(char *b)
{
    char *in = b, *out = b;
    int chunks = 0;

    for (;;) {
        unsigned long n = strtoul(in, &in, 16);

        in = strstr(in, "\r\n");
        ck_assert_ptr_nonnull(in);
        in += 2;
        if (n == 0)
            break;
        memmove(out, in, n);
        out += n;
        in += n + 2;
        chunks++;
    }
    *out = '\0';
    return chunks;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; (s = strstr(s, "\r\n")) != NULL; s += 2)
        n++;
    return n;
}

START_TEST(export_streams_csv)
{
    static char csv[40000];
    static const char shop[] =
            "{\"id\":\"M9\",\"name\":\"=cmd, \\\"x\\\"\",\"uscc\":\"9144030071526726XG\","
            "\"mcc\":\"5812\",\"address\":\"1 Road\",\"contact_name\":\"Li\","
            "\"contact_phone\":\"13800000000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\"}";
    size_t off = 0;
    struct resp r;
    char *line;

    server_start(false);
    /* 1,200 terminals: the export reads them 500 at a time. */
    off += (size_t)snprintf(csv + off, sizeof(csv) - off, "serial,model\n");
    for (int i = 0; i < 1200; i++)
        off += (size_t)snprintf(csv + off, sizeof(csv) - off, "EX-%04d,%s\n", i,
                                i % 3 ? "PX-500" : "PX-900");
    http("POST", "/v1/devices/import", "tok-ops", csv, &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    resp_release(&r);
    http("POST", "/v1/merchants", "tok-ops", shop, &r);
    ck_assert_msg(r.status == 201, "%s", r.body);
    resp_release(&r);
    http("POST", "/v1/merchants/M9/approve", "tok-ops", NULL, &r);
    resp_release(&r);
    http("POST", "/v1/devices/EX-0001/bind", "tok-ops", "{\"merchant_id\":\"M9\"}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    resp_release(&r);

    /* A filter: 400 PX-900s, streamed in chunks, with the file's name. */
    http("GET", "/v1/devices/export?model=PX-900", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.head, "Transfer-Encoding: chunked"));
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/csv"));
    ck_assert_ptr_nonnull(strstr(r.head, "attachment; filename=\"terminals.csv\""));
    ck_assert_ptr_null(strstr(r.head, "ETag"));
    ck_assert_int_ge(dechunk(r.body), 1);
    ck_assert_int_eq(count_lines(r.body), 401);
    ck_assert(strncmp(r.body, "\xEF\xBB\xBFserial,model,hw_rev,status,state,", 36) == 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\r\nEX-0000,PX-900,,registered,in_stock,,,,never,"));
    ck_assert_ptr_nonnull(strstr(r.body, "\r\nEX-1197,PX-900,"));
    ck_assert_ptr_null(strstr(r.body, "PX-500"));
    resp_release(&r);
    /* The bound one: its merchant's formula-like name defused and quoted. */
    http("GET", "/v1/devices/export?merchant=M9", "tok-view", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    dechunk(r.body);
    line = strstr(r.body, "\r\nEX-0001,");
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strstr(line, ",installed,M9,\"'=cmd, \"\"x\"\"\",") != NULL, "%s", line + 2);
    ck_assert_int_eq(count_lines(r.body), 2);
    resp_release(&r);
    /* Refusals as for the list. */
    http("GET", "/v1/devices/export?limit=5", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices/export?state=nope", "tok-view", NULL, &r);
    expect_error(&r, 400, "INVAL");
    resp_release(&r);
    http("GET", "/v1/devices/export", NULL, NULL, &r);
    expect_error(&r, 401, "AUTH");
    resp_release(&r);
}
END_TEST

static Suite *api_terminal_suite(void)
{
    Suite *s = suite_create("api_terminal");
    TCase *pure = tcase_create("pure"), *http_tc = tcase_create("http");

    tcase_add_test(pure, series_thirty_days_fit);
    tcase_add_test(pure, series_sparse_exact_and_bounds);
    tcase_add_test(pure, lock_rule);
    tcase_add_checked_fixture(http_tc, setup, teardown);
    tcase_set_timeout(http_tc, 60);
    tcase_add_test(http_tc, health_route);
    tcase_add_test(http_tc, etag_and_not_modified);
    tcase_add_test(http_tc, lock_and_unlock_by_hand);
    tcase_add_test(http_tc, export_streams_csv);
    suite_add_tcase(s, pure);
    suite_add_tcase(s, http_tc);
    return s;
}

int main(void)
{
    return pf_test_run(api_terminal_suite());
}
