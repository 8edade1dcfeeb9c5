/*
 * test_server_ingest.c - the inbound path (dispatch, registry cache, ingest):
 * every kind of bad message is counted by reason and stores nothing; unknown
 * and revoked serials are refused once, before any module sees them, whatever
 * the leaf; alerts opened and closed by reports; silence; the device map
 * survives a restart.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fleet/alerts.h"
#include "fleet/inbound.h"
#include "fleet/ingest.h"
#include "base/metrics.h"
#include "pf/msg.h"
#include "pf/msg_diag.h"
#include "pf/msg_lifecycle.h"
#include "pf/msg_update.h"
#include "store/store.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];
static int64_t now_ms = 1800000000000;
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};
static const struct pfs_log quiet = {PFS_LOG_ERROR};

static int64_t test_wall(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static int64_t test_mono(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static const struct pf_clock test_clock = {test_wall, test_mono, NULL};

/* A route of another module (as updates or diag would be), recording its calls. */
struct other {
    int calls;
    char serial[PF_SERIAL_MAX + 1];
    int rc; /* what it returns */
};

static int other_route(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct other *o = ctx;

    (void)payload;
    (void)len;
    o->calls++;
    snprintf(o->serial, sizeof(o->serial), "%s", serial);
    return o->rc;
}

struct rig {
    struct pfs_store *st;
    struct pfs_metrics m;
    struct pfs_ingest ing;
    struct pfs_inbound in;
    struct other event; /* routed dev/+/event */
};

static void rig_open(struct rig *r)
{
    struct pfs_store_opts so = {.path = dbpath};
    struct pfs_ingest_opts io = {.health_keep = 5, .silent_ms = 180000};
    struct pf_error err = {0};

    pfs_metrics_init(&r->m);
    ck_assert_int_eq(pfs_store_open(&so, &r->st, &err), 0);
    ck_assert_int_eq(pfs_ingest_init(&r->ing, &io, r->st, &r->m, &quiet, &test_clock, &err), 0);
    memset(&r->event, 0, sizeof(r->event));
    {
        const struct pfs_inbound_route routes[] = {
                {PF_LEAF_HEALTH, pfs_ingest_on_health, &r->ing},
                {PF_LEAF_BIRTH, pfs_ingest_on_birth, &r->ing},
                {PF_LEAF_STATE, pfs_ingest_on_state, &r->ing},
                {PF_LEAF_EVENT, other_route, &r->event},
        };

        pfs_inbound_init(&r->in, &r->ing.devs, &r->m, &quiet, &test_clock);
        pfs_inbound_routes(&r->in, routes, sizeof(routes) / sizeof(routes[0]));
    }
}

static void rig_close(struct rig *r)
{
    ck_assert_int_eq(pfs_ingest_flush(&r->ing), 0);
    pfs_ingest_release(&r->ing);
    pfs_store_close(r->st);
}

/* Stamps the clock forward (the rate limit reads the monotonic clock). */
static void advance(int64_t ms)
{
    now_ms += ms;
}

static void setup(void)
{
    struct rig r;
    struct pfs_device d = {0};
    struct pf_error err = {0};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
    rig_open(&r);
    snprintf(d.model, sizeof(d.model), "PX-500");
    snprintf(d.serial, sizeof(d.serial), "T1");
    ck_assert_int_eq(pfs_store_device_add(r.st, &d, &ops, 1, &err), 0);
    snprintf(d.serial, sizeof(d.serial), "T2");
    ck_assert_int_eq(pfs_store_device_add(r.st, &d, &ops, 1, &err), 0);
    rig_close(&r);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static struct pf_health good_health(uint32_t seq)
{
    struct pf_health h;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = 1764220060000 + seq * 60000LL;
    h.battery_pct = 80;
    h.net_type = PF_NET_WIFI;
    h.signal_dbm = -60;
    h.temp_c = 35;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.4.2");
    snprintf(h.fee_version, sizeof(h.fee_version), "2026.11.1");
    h.paper = PF_PAPER_OK;
    snprintf(h.currency, sizeof(h.currency), "CNY");
    return h;
}

static int send_health(struct rig *r, const char *serial, const struct pf_health *h)
{
    char topic[PF_TOPIC_MAX], buf[PF_MSG_MAX];
    size_t n = 0;

    ck_assert_int_eq(pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, serial, PF_DEV_HEALTH), 0);
    ck_assert_int_eq(pf_health_encode(h, buf, sizeof(buf), &n), 0);
    return pfs_inbound_message(&r->in, topic, buf, n);
}

static int64_t health_rows(struct rig *r, const char *serial)
{
    int64_t n = -1;

    ck_assert_int_eq(pfs_store_health_count(r->st, serial, &n), 0);
    return n;
}

static int count_alert_cb(void *ctx, const struct pfs_alert *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

static int open_alerts(struct rig *r, const char *serial)
{
    int n = 0;

    ck_assert_int_eq(pfs_store_alerts_open(r->st, serial, count_alert_cb, &n), 0);
    return n;
}

static bool has_alert(struct rig *r, const char *serial, int kind)
{
    struct pfs_dev *d = pfs_devmap_get(&r->ing.devs, serial);

    return d && (d->alerts & PFS_ALERT_BIT(kind));
}

START_TEST(good_health_stored)
{
    struct rig r;
    struct pf_health h = good_health(1);
    struct pfs_dev_state s;

    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_HEALTH], 1);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(health_rows(&r, "T1"), 1);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s), 0);
    ck_assert(s.online);
    ck_assert_int_eq(s.last_seen_ms, now_ms);
    ck_assert_uint_eq(r.m.store_batch_size.count, 1);
    rig_close(&r);
}
END_TEST

/* Sends h as pf_health_encode() writes it, or with a space after every ':' and ',' (valid
 * JSON in another encoding, which must be stored alike). */
static int send_health_spaced(struct rig *r, const char *serial, const struct pf_health *h,
                              bool spaced)
{
    char topic[PF_TOPIC_MAX], buf[PF_MSG_MAX], out[PF_MSG_MAX];
    size_t n = 0, m = 0;

    if (!spaced)
        return send_health(r, serial, h);
    ck_assert_int_eq(pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, serial, PF_DEV_HEALTH), 0);
    ck_assert_int_eq(pf_health_encode(h, buf, sizeof(buf), &n), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(m + 2, sizeof(out));
        out[m++] = buf[i];
        if (buf[i] == ':' || buf[i] == ',')
            out[m++] = ' ';
    }
    return pfs_inbound_message(&r->in, topic, out, m);
}

/* Both encodings of the same reports leave the same history, latest state and alerts. */
START_TEST(any_encoding_stored_alike)
{
    struct rig r;
    struct pf_health h = good_health(1);
    struct pfs_dev_state s1, s2;
    struct pfs_device d = {0};
    struct pf_error err = {0};

    rig_open(&r);
    snprintf(d.serial, sizeof(d.serial), "T3");
    snprintf(d.model, sizeof(d.model), "PX-500");
    ck_assert_int_eq(pfs_store_device_add(r.st, &d, &ops, 1, &err), 0);
    for (int spaced = 0; spaced < 2; spaced++) {
        const char *serial = spaced ? "T2" : "T1";

        h = good_health(1);
        h.tamper = true;
        ck_assert_int_eq(send_health_spaced(&r, serial, &h, spaced), 0);
        h = good_health(2);
        h.paper = PF_PAPER_OUT;
        ck_assert_int_eq(send_health_spaced(&r, serial, &h, spaced), 0);
        /* A late report: history only. */
        h = good_health(0);
        h.battery_pct = 2;
        ck_assert_int_eq(send_health_spaced(&r, serial, &h, spaced), 0);
    }
    /* Out of range in either encoding: the same reason, nothing stored. */
    h = good_health(3);
    h.battery_pct = 140;
    ck_assert_int_eq(send_health_spaced(&r, "T3", &h, false), PF_ERANGE);
    ck_assert_int_eq(send_health_spaced(&r, "T3", &h, true), PF_ERANGE);
    ck_assert_uint_eq(r.m.rejected[-PF_ERANGE], 2);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_HEALTH], 6);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(health_rows(&r, "T1"), 3);
    ck_assert_int_eq(health_rows(&r, "T2"), 3);
    ck_assert_int_eq(health_rows(&r, "T3"), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s1), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T2", NULL, &s2), 0);
    ck_assert_int_eq(memcmp(&s1.health, &s2.health, sizeof(s1.health)), 0);
    ck_assert_uint_eq(s2.health.seq, 2);
    ck_assert_int_eq(s2.health.paper, PF_PAPER_OUT);
    for (int i = 0; i < 2; i++) {
        const char *serial = i ? "T2" : "T1";

        ck_assert(!has_alert(&r, serial, PFS_ALERT_TAMPER));
        ck_assert(has_alert(&r, serial, PFS_ALERT_PAPER_OUT));
        ck_assert(!has_alert(&r, serial, PFS_ALERT_BATTERY_CRITICAL));
        ck_assert_int_eq(open_alerts(&r, serial), 1);
    }
    rig_close(&r);
}
END_TEST

static const struct {
    const char *topic;
    const char *payload;
    int code;
} bad[] = {
        {"pf/v1/dev/T1/health", "{", PF_EPARSE},
        {"pf/v1/dev/T1/health", "", PF_EPARSE},
        /* Valid JSON that is not an object is not a message: PARSE (docs/protocol.md). */
        {"pf/v1/dev/T1/health", "[1,2]", PF_EPARSE},
        {"pf/v1/dev/T1/state", "\"online\"", PF_EPARSE},
        {"pf/v1/dev/T1/health", "{\"v\":1}", PF_ESCHEMA},
        {"pf/v1/dev/T1/health", "{\"v\":2,\"seq\":1}", PF_EVERSION},
        /* A repeated key keeps its last value, validated like any other. */
        {"pf/v1/dev/T1/health", "{\"v\":1,\"v\":3}", PF_EVERSION},
        {"pf/v1/dev/T1/state", "{\"v\":1,\"state\":\"sleeping\"}", PF_ERANGE},
        {"pf/v1/dev/T1/state", "{\"v\":\"1\",\"state\":\"online\"}", PF_ESCHEMA},
        {"pf/v1/dev/T1/birth", "{\"v\":1,\"ts\":1}", PF_ESCHEMA},
        {"pf/v1/dev/T1", "{\"v\":1,\"state\":\"online\"}", PF_ETOPIC},
        {"pf/v1/cmd/T1/health", "{\"v\":1,\"state\":\"online\"}", PF_ETOPIC},
        {"pf/v1/dev/T1/bogus", "{\"v\":1,\"state\":\"online\"}", PF_ETOPIC},
        {"pf/v1/dev/T+1/state", "{\"v\":1,\"state\":\"online\"}", PF_ETOPIC},
        {"other/T1/state", "{\"v\":1,\"state\":\"online\"}", PF_ETOPIC},
};

START_TEST(bad_messages_counted_nothing_stored)
{
    struct rig r;
    struct pfs_dev_state s;
    uint64_t total = 0;

    rig_open(&r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = pfs_inbound_message(&r.in, bad[i].topic, bad[i].payload, strlen(bad[i].payload));

        ck_assert_msg(rc == bad[i].code, "case %zu: got %s want %s", i, pf_errname(rc),
                      pf_errname(bad[i].code));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_uint_ge(r.m.rejected[-bad[i].code], 1);
    for (int i = 0; i < PFS_REASON_SLOTS; i++)
        total += r.m.rejected[i];
    ck_assert_uint_eq(total, sizeof(bad) / sizeof(bad[0]));
    ck_assert_uint_eq(r.m.rejected[-PF_ETOPIC], 5);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_HEALTH] + r.m.accepted[PFS_MSG_STATE] +
                              r.m.accepted[PFS_MSG_BIRTH],
                      0);
    ck_assert_int_eq(pfs_store_batch_pending(r.st), 0);
    ck_assert_int_eq(health_rows(&r, "T1"), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s), 0);
    ck_assert(!s.seen);
    ck_assert_int_eq(open_alerts(&r, NULL), 0);
    rig_close(&r);
}
END_TEST

/* Copies src into out with the first `from` replaced by `to`. */
static void replace(const char *src, const char *from, const char *to, char *out, size_t size)
{
    const char *p = strstr(src, from);

    ck_assert_ptr_nonnull(p);
    snprintf(out, size, "%.*s%s%s", (int)(p - src), src, to, p + strlen(from));
}

START_TEST(out_of_range_and_oversized)
{
    struct rig r;
    char buf[PF_MSG_MAX], out[PF_MSG_MAX + 16], big[PF_MSG_MAX + 64];
    struct pf_health h = good_health(1);
    size_t n = 0;

    rig_open(&r);
    ck_assert_int_eq(pf_health_encode(&h, buf, sizeof(buf), &n), 0);
    replace(buf, "\"battery_pct\":80", "\"battery_pct\":140", out, sizeof(out));
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/health", out, strlen(out)),
                     PF_ERANGE);
    replace(buf, "\"battery_pct\":80", "\"battery_pct\":\"80\"", out, sizeof(out));
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/health", out, strlen(out)),
                     PF_ESCHEMA);
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"v\":1}", 7);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/health", big, sizeof(big)),
                     PF_ETOOBIG);
    ck_assert_uint_eq(r.m.rejected[-PF_ERANGE], 1);
    ck_assert_uint_eq(r.m.rejected[-PF_ESCHEMA], 1);
    ck_assert_uint_eq(r.m.rejected[-PF_ETOOBIG], 1);
    ck_assert_int_eq(pfs_store_batch_pending(r.st), 0);
    ck_assert_int_eq(health_rows(&r, "T1"), 0);
    rig_close(&r);
}
END_TEST

START_TEST(unknown_serial_alert_once)
{
    struct rig r;
    struct pf_health h = good_health(1);

    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "GHOST", &h), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(send_health(&r, "GHOST", &h), PF_EUNKNOWN_SERIAL);
    ck_assert_uint_eq(r.m.rejected[-PF_EUNKNOWN_SERIAL], 2);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(health_rows(&r, "GHOST"), 0);
    ck_assert_int_eq(open_alerts(&r, "GHOST"), 1);
    ck_assert(has_alert(&r, "GHOST", PFS_ALERT_UNKNOWN_SERIAL));
    ck_assert_int_eq(r.ing.devs.alerts_open[PFS_ALERT_UNKNOWN_SERIAL], 1);
    rig_close(&r);

    /* After a restart the alert is known and not duplicated; registering closes it. */
    rig_open(&r);
    ck_assert(has_alert(&r, "GHOST", PFS_ALERT_UNKNOWN_SERIAL));
    ck_assert_int_eq(send_health(&r, "GHOST", &h), PF_EUNKNOWN_SERIAL);
    ck_assert_int_eq(open_alerts(&r, "GHOST"), 1);
    {
        struct pfs_device d = {0};
        struct pf_error err = {0};

        snprintf(d.serial, sizeof(d.serial), "GHOST");
        snprintf(d.model, sizeof(d.model), "PX");
        ck_assert_int_eq(pfs_store_device_add(r.st, &d, &ops, now_ms, &err), 0);
        ck_assert_int_eq(pfs_ingest_registered(&r.ing, "GHOST"), 0);
    }
    ck_assert_int_eq(open_alerts(&r, "GHOST"), 0);
    ck_assert_int_eq(r.ing.devs.alerts_open[PFS_ALERT_UNKNOWN_SERIAL], 0);
    ck_assert_int_eq(send_health(&r, "GHOST", &h), 0);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(health_rows(&r, "GHOST"), 1);
    rig_close(&r);
}
END_TEST

START_TEST(revoked_dropped_at_once)
{
    struct rig r;
    struct pf_health h = good_health(1);
    struct pf_error err = {0};

    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "T2", &h), 0);
    ck_assert_int_eq(pfs_store_device_revoke(r.st, "T2", &ops, now_ms, &err), 0);
    ck_assert_int_eq(pfs_ingest_revoked(&r.ing, "T2"), 0);
    h = good_health(2);
    ck_assert_int_eq(send_health(&r, "T2", &h), PF_EREVOKED);
    ck_assert_uint_eq(r.m.rejected[-PF_EREVOKED], 1);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(health_rows(&r, "T2"), 1);
    rig_close(&r);
    /* Still dropped after a restart (read back from the registry). */
    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "T2", &h), PF_EREVOKED);
    ck_assert_int_eq(health_rows(&r, "T2"), 1);
    rig_close(&r);
}
END_TEST

START_TEST(alerts_follow_reports)
{
    struct rig r;
    struct pf_health h = good_health(1);

    rig_open(&r);
    h.tamper = true;
    h.battery_pct = 5;
    h.paper = PF_PAPER_OUT;
    h.selftest[PF_COMP_CARD_READER] = PF_CHECK_FAIL;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert(has_alert(&r, "T1", PFS_ALERT_TAMPER));
    ck_assert(has_alert(&r, "T1", PFS_ALERT_BATTERY_CRITICAL));
    ck_assert(has_alert(&r, "T1", PFS_ALERT_PAPER_OUT));
    ck_assert(has_alert(&r, "T1", PFS_ALERT_SELFTEST_FAILED));
    ck_assert_int_eq(open_alerts(&r, "T1"), 4);

    /* A late queued report that is all well must not close them. */
    {
        struct pf_health late = good_health(0);

        late.queued = true;
        ck_assert_int_eq(send_health(&r, "T1", &late), 0);
        ck_assert_int_eq(open_alerts(&r, "T1"), 4);
    }
    /* Charging clears battery_critical; low paper clears paper_out. */
    h = good_health(2);
    h.tamper = true;
    h.battery_pct = 3;
    h.charging = true;
    h.paper = PF_PAPER_LOW;
    h.selftest[PF_COMP_CARD_READER] = PF_CHECK_FAIL;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert(!has_alert(&r, "T1", PFS_ALERT_BATTERY_CRITICAL));
    ck_assert(!has_alert(&r, "T1", PFS_ALERT_PAPER_OUT));
    ck_assert_int_eq(open_alerts(&r, "T1"), 2);
    h = good_health(3);
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert_int_eq(open_alerts(&r, "T1"), 0);
    ck_assert_int_eq(r.ing.devs.alerts_open[PFS_ALERT_TAMPER], 0);
    rig_close(&r);
}
END_TEST

START_TEST(birth_selftest_and_state)
{
    struct rig r;
    struct pf_birth b;
    struct pf_state st = {.state = PF_STATE_OFFLINE};
    char buf[PF_MSG_MAX];
    size_t n = 0;
    struct pfs_dev_state s;

    rig_open(&r);
    memset(&b, 0, sizeof(b));
    b.ts_ms = 1764220000000;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.hw_rev, sizeof(b.hw_rev), "r2");
    snprintf(b.fw_version, sizeof(b.fw_version), "1.4.2");
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1.0");
    b.selftest[PF_COMP_SCREEN] = PF_CHECK_FAIL;
    ck_assert_int_eq(pf_birth_encode(&b, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/birth", buf, n), 0);
    ck_assert(has_alert(&r, "T1", PFS_ALERT_SELFTEST_FAILED));
    ck_assert_int_eq(pf_state_encode(&st, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", buf, n), 0);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_BIRTH], 1);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_STATE], 1);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s), 0);
    ck_assert(s.have_birth && !s.online);
    ck_assert_str_eq(s.birth.agent_version, "0.1.0");
    rig_close(&r);
}
END_TEST

START_TEST(silent_opens_and_closes)
{
    struct rig r;
    struct pf_health h = good_health(1);

    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    now_ms += 180000;
    ck_assert_int_eq(pfs_ingest_silent_check(&r.ing), 0); /* not more than the limit yet */
    now_ms += 1;
    ck_assert_int_eq(pfs_ingest_silent_check(&r.ing), 1);
    ck_assert_int_eq(pfs_ingest_silent_check(&r.ing), 0); /* only once */
    ck_assert(has_alert(&r, "T1", PFS_ALERT_SILENT));
    ck_assert(!has_alert(&r, "T2", PFS_ALERT_SILENT)); /* never seen: not silent */
    ck_assert_int_eq(open_alerts(&r, "T1"), 1);
    h = good_health(2);
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert(!has_alert(&r, "T1", PFS_ALERT_SILENT));
    ck_assert_int_eq(open_alerts(&r, "T1"), 0);
    rig_close(&r);
}
END_TEST

START_TEST(silence_not_counted_across_restart)
{
    struct rig r;
    struct pf_health h = good_health(1);

    rig_open(&r);
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    rig_close(&r);
    now_ms += 3600000; /* posfleetd was down for an hour */
    rig_open(&r);
    ck_assert_int_eq(pfs_ingest_silent_check(&r.ing), 0);
    now_ms += 180001;
    ck_assert_int_eq(pfs_ingest_silent_check(&r.ing), 1);
    ck_assert(has_alert(&r, "T1", PFS_ALERT_SILENT));
    rig_close(&r);
}
END_TEST

START_TEST(history_bounded_per_terminal)
{
    struct rig r;

    rig_open(&r);
    for (uint32_t i = 1; i <= 40; i++) {
        struct pf_health h = good_health(i);

        ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    }
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    /* keep 5, pruned every keep/8 (at least 1) reports */
    ck_assert_int_le(health_rows(&r, "T1"), 5 + 1);
    ck_assert_int_ge(health_rows(&r, "T1"), 5);
    rig_close(&r);
}
END_TEST

START_TEST(map_rebuilt_after_restart)
{
    struct rig r;
    struct pf_health h = good_health(7);
    struct pfs_dev *d;

    rig_open(&r);
    h.tamper = true;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    rig_close(&r);
    rig_open(&r);
    d = pfs_devmap_get(&r.ing.devs, "T1");
    ck_assert_ptr_nonnull(d);
    ck_assert(d->seen && d->online && d->have_health);
    ck_assert_uint_eq(d->seq, 7);
    ck_assert(d->alerts & PFS_ALERT_BIT(PFS_ALERT_TAMPER));
    ck_assert_int_eq(r.ing.devs.alerts_open[PFS_ALERT_TAMPER], 1);
    {
        struct pfs_gauges g;

        pfs_ingest_gauges(&r.ing, &g);
        ck_assert_int_eq(g.terminals_online, 1);
        ck_assert_int_eq(g.alerts_open[PFS_ALERT_TAMPER], 1);
    }
    rig_close(&r);
}
END_TEST

/* Every dev/ leaf of the tree has its enum value, and nothing else has one. */
START_TEST(leaf_table_matches_the_tree)
{
    static const struct {
        const char *name;
        int leaf;
    } want[] = {
            {PF_DEV_HEALTH, PF_LEAF_HEALTH},       {PF_DEV_BIRTH, PF_LEAF_BIRTH},
            {PF_DEV_STATE, PF_LEAF_STATE},         {PF_DEV_EVENT, PF_LEAF_EVENT},
            {PF_DEV_CHUNKREQ, PF_LEAF_CHUNKREQ},   {PF_DEV_DIAG, PF_LEAF_DIAG},
            {PF_DEV_DIAGCHUNK, PF_LEAF_DIAGCHUNK}, {PF_DEV_LOCK, PF_LEAF_LOCK},
            {PF_DEV_TAMPER, PF_LEAF_TAMPER},
    };

    ck_assert_int_eq(sizeof(want) / sizeof(want[0]), PF_LEAF_COUNT);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_int_eq(pf_dev_leaf(want[i].name), want[i].leaf);
        ck_assert_str_eq(pf_dev_leaf_names[want[i].leaf], want[i].name);
    }
    ck_assert_ptr_null(pf_dev_leaf_names[PF_LEAF_COUNT]);
    ck_assert_int_eq(pf_dev_leaf("health/x"), PF_ETOPIC);
    ck_assert_int_eq(pf_dev_leaf("Health"), PF_ETOPIC);
    ck_assert_int_eq(pf_dev_leaf(""), PF_ETOPIC);
    ck_assert_int_eq(pf_dev_leaf(NULL), PF_ETOPIC);
}
END_TEST

/* The registry decides once, before any module: a route sees only registered terminals,
 * and every refusal is counted once, by its reason. */
START_TEST(registry_decided_before_any_route)
{
    struct rig r;
    struct pf_error err = {0};
    static const char ev[] = "{\"v\":1}";
    uint64_t total = 0;

    rig_open(&r);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/event", ev, strlen(ev)), 0);
    ck_assert_int_eq(r.event.calls, 1);
    ck_assert_str_eq(r.event.serial, "T1");

    /* Unknown: refused, alerted, counted; the route never sees it. */
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/GHOST/event", ev, strlen(ev)),
                     PF_EUNKNOWN_SERIAL);
    ck_assert(has_alert(&r, "GHOST", PFS_ALERT_UNKNOWN_SERIAL));
    ck_assert_uint_eq(r.m.rejected[-PF_EUNKNOWN_SERIAL], 1);

    /* Revoked: dropped and counted at once, whatever the leaf. */
    ck_assert_int_eq(pfs_store_device_revoke(r.st, "T2", &ops, now_ms, &err), 0);
    ck_assert_int_eq(pfs_ingest_revoked(&r.ing, "T2"), 0);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T2/event", ev, strlen(ev)), PF_EREVOKED);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T2/state", ev, strlen(ev)), PF_EREVOKED);
    ck_assert_uint_eq(r.m.rejected[-PF_EREVOKED], 2);
    ck_assert_int_eq(r.event.calls, 1);

    /* A route's refusal is counted by its reason. */
    r.event.rc = PF_ESCHEMA;
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/event", ev, strlen(ev)), PF_ESCHEMA);
    ck_assert_int_eq(r.event.calls, 2);
    ck_assert_uint_eq(r.m.rejected[-PF_ESCHEMA], 1);

    /* A leaf of the tree with no route here, and one deeper than the tree: TOPIC, before
     * the registry is asked (no alert for a stranger's bad topic). */
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/lock", ev, strlen(ev)), PF_ETOPIC);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/NEW/event/x", ev, strlen(ev)),
                     PF_ETOPIC);
    ck_assert_ptr_null(pfs_devmap_get(&r.ing.devs, "NEW"));
    ck_assert_uint_eq(r.m.rejected[-PF_ETOPIC], 2);
    for (int i = 0; i < PFS_REASON_SLOTS; i++)
        total += r.m.rejected[i];
    ck_assert_uint_eq(total, 6);
    ck_assert_int_eq(r.event.calls, 2);
    rig_close(&r);
}
END_TEST

/* The finding of issue 14 item 13: after a restart that reset seq, a report queued before it
 * (measured 10 minutes earlier, higher seq) replaced the latest state. Ordered by (boot, seq)
 * it goes to the history only; a terminal that sends no boot keeps today's rule. */
START_TEST(newer_measurement_never_hidden)
{
    struct rig r;
    struct pfs_dev_state s;
    struct pf_health h;
    int64_t t0 = 1764220060000;

    rig_open(&r);
    for (uint32_t seq = 1; seq <= 40; seq++) {
        h = good_health(seq);
        h.boot = 3;
        h.ts_ms = t0 + seq * 60000LL;
        ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    }
    /* Restart: a new start, seq from 0, measured now (battery 64). */
    h = good_health(0);
    h.boot = 4;
    h.ts_ms = t0 + 60 * 60000LL;
    h.battery_pct = 64;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    /* The report queued before the restart, 10 minutes older, seq 41 (battery 11). */
    h = good_health(41);
    h.boot = 3;
    h.ts_ms = t0 + 50 * 60000LL;
    h.battery_pct = 11;
    h.queued = true;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s), 0);
    ck_assert_int_eq(s.health.battery_pct, 64);
    ck_assert_int_eq(health_rows(&r, "T1"), 5); /* history kept (health_keep 5) */
    /* No battery alert from the older report either. */
    ck_assert(!has_alert(&r, "T1", PFS_ALERT_BATTERY_CRITICAL));
    /* Within the new start, seq decides. */
    h = good_health(1);
    h.boot = 4;
    h.ts_ms = t0 + 61 * 60000LL;
    h.battery_pct = 63;
    ck_assert_int_eq(send_health(&r, "T1", &h), 0);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T1", NULL, &s), 0);
    ck_assert_int_eq(s.health.battery_pct, 63);

    /* Without boot (T2): as before, a higher seq is newer, so the same sequence shows the
     * queued report: the rule changes only for terminals that send boot. */
    for (uint32_t seq = 1; seq <= 3; seq++) {
        h = good_health(seq);
        ck_assert_int_eq(send_health(&r, "T2", &h), 0);
    }
    h = good_health(0);
    h.ts_ms = t0 + 60 * 60000LL;
    h.battery_pct = 64;
    ck_assert_int_eq(send_health(&r, "T2", &h), 0);
    h = good_health(4);
    h.ts_ms = t0 + 50 * 60000LL;
    h.battery_pct = 11;
    ck_assert_int_eq(send_health(&r, "T2", &h), 0);
    ck_assert_int_eq(pfs_ingest_flush(&r.ing), 0);
    ck_assert_int_eq(pfs_store_device_get(r.st, "T2", NULL, &s), 0);
    ck_assert_int_eq(s.health.battery_pct, 11);
    rig_close(&r);
}
END_TEST

/* The rule itself, on the cache entry. */
START_TEST(report_rank_rule)
{
    struct pfs_dev d = {.have_health = true, .boot = 5, .seq = 100, .ts_ms = 1000000};
    struct pf_health h = {.boot = 5, .seq = 101, .ts_ms = 1};

    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_NEWER); /* seq, whatever ts */
    h.seq = 100;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_OLDER); /* a duplicate */
    h.seq = 99;
    h.ts_ms = 2000000;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_OLDER); /* seq, whatever ts */
    h.boot = 6;
    h.seq = 0;
    h.ts_ms = 1;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_NEWER); /* a later start */
    h.boot = 4;
    h.seq = 1000;
    h.ts_ms = 999999;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_OLDER); /* queued before a restart */
    h.ts_ms = 1000001; /* counter and queue erased: measured after everything held */
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_NEWER);
    h.boot = 0;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_RANK_STORE); /* no boot sent */
    h.boot = 6;
    d.boot = 0;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_RANK_STORE); /* none known */
    d.boot = 5;
    d.have_health = false;
    ck_assert_int_eq(pfs_report_rank(&d, &h), PFS_HEALTH_RANK_STORE); /* the first */
}
END_TEST

/* A terminal over its rate loses its excess before any decoding, counted RATE; another
 * terminal is untouched; the bucket refills with time, never beyond the burst. */
START_TEST(rate_limit_per_terminal)
{
    static const char st[] = "{\"v\":1,\"state\":\"online\"}";
    struct rig r;
    int ok = 0, limited = 0;

    rig_open(&r);
    pfs_devmap_set_rate(&r.ing.devs, PFS_RATE_MESSAGES, 10, 5); /* 10/s, 5 at once */
    for (int i = 0; i < 20; i++) {
        int rc = pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st));

        ck_assert(rc == 0 || rc == PF_ERATE);
        rc == 0 ? ok++ : limited++;
    }
    ck_assert_int_eq(ok, 5);
    ck_assert_int_eq(limited, 15);
    ck_assert_uint_eq(r.m.rejected[-PF_ERATE], 15);
    ck_assert_uint_eq(r.m.accepted[PFS_MSG_STATE], 5);
    /* Refused before the route: a malformed message over the rate is RATE, not PARSE. */
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", "[", 1), PF_ERATE);
    ck_assert_uint_eq(r.m.rejected[-PF_EPARSE], 0);

    /* Another terminal has its own bucket. */
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T2/state", st, strlen(st)), 0);

    /* 100 ms at 10/s is one message; an hour is the burst, not 36,000. */
    advance(100);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st)), 0);
    ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st)), PF_ERATE);
    advance(3600 * 1000);
    ok = 0;
    for (int i = 0; i < 20; i++)
        ok += pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st)) == 0;
    ck_assert_int_eq(ok, 5);

    /* Chunk requests take from their own bucket: a download is not stopped by reports. */
    pfs_devmap_set_rate(&r.ing.devs, PFS_RATE_CHUNKREQ, 1000, 3);
    {
        static const char cr[] = "{\"v\":1}";
        struct pfs_inbound_route route = {PF_LEAF_CHUNKREQ, other_route, &r.event};

        pfs_inbound_routes(&r.in, &route, 1);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/chunkreq", cr, strlen(cr)),
                             0);
        ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/chunkreq", cr, strlen(cr)),
                         PF_ERATE);
        ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st)),
                         PF_ERATE);
    }

    /* 0 turns a limit off. */
    pfs_devmap_set_rate(&r.ing.devs, PFS_RATE_MESSAGES, 0, 1);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(pfs_inbound_message(&r.in, "pf/v1/dev/T1/state", st, strlen(st)), 0);
    rig_close(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_ingest");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, good_health_stored);
    tcase_add_test(tc, any_encoding_stored_alike);
    tcase_add_test(tc, bad_messages_counted_nothing_stored);
    tcase_add_test(tc, out_of_range_and_oversized);
    tcase_add_test(tc, unknown_serial_alert_once);
    tcase_add_test(tc, revoked_dropped_at_once);
    tcase_add_test(tc, alerts_follow_reports);
    tcase_add_test(tc, birth_selftest_and_state);
    tcase_add_test(tc, silent_opens_and_closes);
    tcase_add_test(tc, silence_not_counted_across_restart);
    tcase_add_test(tc, history_bounded_per_terminal);
    tcase_add_test(tc, map_rebuilt_after_restart);
    tcase_add_test(tc, leaf_table_matches_the_tree);
    tcase_add_test(tc, registry_decided_before_any_route);
    tcase_add_test(tc, rate_limit_per_terminal);
    tcase_add_test(tc, newer_measurement_never_hidden);
    tcase_add_test(tc, report_rank_rule);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
