/*
 * test_msg.c - birth, health, state and ack codecs: round trips and every
 * kind of rejection, each with its exact error code.
 */
#include <stdio.h>
#include <string.h>

#include "pf/msg.h"
#include "testutil.h"

static void health_sample(struct pf_health *h)
{
    memset(h, 0, sizeof(*h));
    h->seq = 42;
    h->ts_ms = 1764220000000LL;
    h->battery_pct = 83;
    h->charging = true;
    h->net_type = PF_NET_4G;
    h->signal_dbm = -85;
    h->temp_c = 41;
    h->storage_free_kb = 123456;
    h->mem_free_kb = 4096;
    h->uptime_s = 3600;
    snprintf(h->fw_version, sizeof(h->fw_version), "1.4.2");
    h->fw_slot = PF_SLOT_B;
    snprintf(h->fee_version, sizeof(h->fee_version), "2026.11.1");
    h->paper = PF_PAPER_LOW;
    h->selftest[PF_COMP_PRINTER] = PF_CHECK_FAIL;
    h->err_reconnects = 3;
    h->txn_count = 12;
    h->txn_amount_minor = 45600;
    snprintf(h->currency, sizeof(h->currency), "CNY");
}

static int health_json(const struct pf_health *h, char *buf, size_t len)
{
    size_t n;

    ck_assert_int_eq(pf_health_encode(h, buf, len, &n), 0);
    return (int)n;
}

/* Replaces the first occurrence of from with to in buf (test helper). */
static void replace(char *buf, size_t len, const char *from, const char *to)
{
    char out[PF_MSG_MAX * 2];
    char *p = strstr(buf, from);

    ck_assert_ptr_nonnull(p);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
    ck_assert_uint_lt(strlen(out), len);
    memcpy(buf, out, strlen(out) + 1);
}

static int decode_health(const char *buf, struct pf_error *err)
{
    struct pf_health h;

    pf_error_clear(err);
    return pf_health_decode(buf, strlen(buf), &h, err);
}

START_TEST(health_round_trip)
{
    struct pf_health in, out;
    struct pf_error err;
    char buf[PF_MSG_MAX];
    int n;

    health_sample(&in);
    n = health_json(&in, buf, sizeof(buf));
    ck_assert_int_eq(pf_health_decode(buf, (size_t)n, &out, &err), 0);
    ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
    ck_assert_ptr_null(strstr(buf, "serial"));
    /* Without a start counter there is no boot field, and none decodes as 0. */
    ck_assert_ptr_null(strstr(buf, "\"boot\""));
}
END_TEST

/* boot: optional, 1..2^32-1, carried both ways. */
START_TEST(health_boot_counter)
{
    struct pf_health in, out;
    struct pf_error err;
    char buf[PF_MSG_MAX];
    int n;

    health_sample(&in);
    in.boot = 7;
    n = health_json(&in, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "\"boot\":7"));
    ck_assert_int_eq(pf_health_decode(buf, (size_t)n, &out, &err), 0);
    ck_assert_uint_eq(out.boot, 7);
    in.boot = UINT32_MAX;
    n = health_json(&in, buf, sizeof(buf));
    ck_assert_int_eq(pf_health_decode(buf, (size_t)n, &out, &err), 0);
    ck_assert_uint_eq(out.boot, UINT32_MAX);
    replace(buf, sizeof(buf), "\"boot\":4294967295", "\"boot\":0");
    ck_assert_int_eq(decode_health(buf, &err), PF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "boot"));
    replace(buf, sizeof(buf), "\"boot\":0", "\"boot\":4294967296");
    ck_assert_int_eq(decode_health(buf, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"boot\":4294967296", "\"boot\":\"1\"");
    ck_assert_int_eq(decode_health(buf, &err), PF_ESCHEMA);
}
END_TEST

START_TEST(health_rejects)
{
    static const struct {
        const char *from, *to;
        int code;
        const char *msg;
    } cases[] = {
            {"\"battery_pct\":83", "\"battery_pct\":140", PF_ERANGE, "power: battery_pct"},
            {"\"battery_pct\":83", "\"battery_pct\":\"83\"", PF_ESCHEMA, "battery_pct"},
            {"\"battery_pct\":83,", "", PF_ESCHEMA, "battery_pct: required"},
            {"\"signal_dbm\":-85", "\"signal_dbm\":5", PF_ERANGE, "net: signal_dbm"},
            {"\"type\":\"4g\"", "\"type\":\"9g\"", PF_ERANGE, "net: type"},
            {"\"temp_c\":41", "\"temp_c\":41.5", PF_ESCHEMA, "temp_c"},
            {"\"version\":\"1.4.2\"", "\"version\":\"1.4.x\"", PF_ERANGE, "fw: version"},
            {"\"slot\":\"b\"", "\"slot\":\"c\"", PF_ERANGE, "fw: slot"},
            {"\"paper\":\"low\"", "\"paper\":7", PF_ESCHEMA, "paper"},
            {"\"printer\":\"fail\"", "\"printer\":\"meh\"", PF_ERANGE, "selftest: printer"},
            {"\"currency\":\"CNY\"", "\"currency\":\"cny\"", PF_ERANGE, "currency"},
            {"\"currency\":\"CNY\"", "\"currency\":\"CNYX\"", PF_ERANGE, "currency"},
            {"\"seq\":42", "\"seq\":-1", PF_ERANGE, "seq"},
            {"\"seq\":42", "\"seq\":4294967296", PF_ERANGE, "seq"},
            {"\"v\":1", "\"v\":2", PF_EVERSION, "schema version"},
            {"\"v\":1,", "", PF_ESCHEMA, "v: required"},
            {"\"tamper\":false", "\"tamper\":0", PF_ESCHEMA, "tamper"},
            {"\"queued\":false", "\"queued\":\"no\"", PF_ESCHEMA, "queued"},
    };
    struct pf_health h;
    struct pf_error err;
    char buf[PF_MSG_MAX];

    health_sample(&h);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        health_json(&h, buf, sizeof(buf));
        replace(buf, sizeof(buf), cases[i].from, cases[i].to);
        ck_assert_msg(decode_health(buf, &err) == cases[i].code, "case %zu: got %d (%s)", i,
                      err.code, err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "case %zu: message '%s'", i, err.msg);
        ck_assert_msg(strncmp(err.msg, "health: ", 8) == 0, "case %zu: prefix '%s'", i, err.msg);
    }
}
END_TEST

START_TEST(health_unknown_fields_ignored)
{
    struct pf_health h;
    struct pf_error err;
    char buf[PF_MSG_MAX];

    health_sample(&h);
    health_json(&h, buf, sizeof(buf));
    replace(buf, sizeof(buf), "\"v\":1", "\"v\":1,\"future\":{\"x\":[1,2,3]}");
    ck_assert_int_eq(decode_health(buf, &err), 0);
}
END_TEST

START_TEST(malformed_and_oversized)
{
    struct pf_error err;
    char big[PF_MSG_MAX + 64];
    struct pf_state st;

    ck_assert_int_eq(decode_health("{\"v\":1,", &err), PF_EPARSE);
    /* Valid JSON that is not an object is not a message at all: PARSE, like broken JSON. */
    ck_assert_int_eq(decode_health("[1,2]", &err), PF_EPARSE);
    ck_assert_int_eq(decode_health("42", &err), PF_EPARSE);
    ck_assert_int_eq(decode_health("\"health\"", &err), PF_EPARSE);
    ck_assert_int_eq(decode_health("null", &err), PF_EPARSE);
    ck_assert_int_eq(decode_health("", &err), PF_EPARSE);
    /* A repeated key keeps its last value, which is validated like any other. */
    ck_assert_int_eq(decode_health("{\"v\":1,\"v\":2}", &err), PF_EVERSION);
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(pf_state_decode(big, strlen(big), &st, &err), PF_ETOOBIG);
    /* Embedded NUL inside the declared length. */
    ck_assert_int_eq(pf_state_decode("{\"v\":1}\0xx", 10, &st, &err), PF_EPARSE);
}
END_TEST

START_TEST(birth_round_trip_and_rejects)
{
    struct pf_birth in, out;
    struct pf_error err;
    char buf[PF_MSG_MAX];
    size_t n;

    memset(&in, 0, sizeof(in));
    in.ts_ms = 1764220000123LL;
    snprintf(in.model, sizeof(in.model), "PX-500");
    snprintf(in.hw_rev, sizeof(in.hw_rev), "r2");
    snprintf(in.fw_version, sizeof(in.fw_version), "1.4.2");
    snprintf(in.agent_version, sizeof(in.agent_version), "0.1.0");
    in.boot = PF_BOOT_ROLLED_BACK;
    in.selftest[PF_COMP_SECURE_ELEMENT] = PF_CHECK_FAIL;
    ck_assert_int_eq(pf_birth_encode(&in, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_birth_decode(buf, n, &out, &err), 0);
    ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);

    replace(buf, sizeof(buf), "\"model\":\"PX-500\"", "\"model\":\"PX\\n500\"");
    ck_assert_int_eq(pf_birth_decode(buf, strlen(buf), &out, &err), PF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "birth: model: non-printable"));

    ck_assert_int_eq(pf_birth_encode(&in, buf, sizeof(buf), &n), 0);
    replace(buf, sizeof(buf), "\"model\":\"PX-500\"",
            "\"model\":\"0123456789012345678901234567890123\"");
    ck_assert_int_eq(pf_birth_decode(buf, strlen(buf), &out, &err), PF_ERANGE);
}
END_TEST

/* fee_pending: optional in birth and health (older agents lack it), carried both ways,
 * and refused with the field named when malformed. */
START_TEST(fee_pending_optional_round_trip_and_rejects)
{
    struct pf_health in, out;
    struct pf_birth b, bout;
    struct pf_error err;
    char buf[PF_MSG_MAX];
    size_t n;

    health_sample(&in);
    n = (size_t)health_json(&in, buf, sizeof(buf));
    ck_assert_ptr_null(strstr(buf, "fee_pending")); /* none waits: not sent */
    snprintf(in.fee_pending.version, sizeof(in.fee_pending.version), "2026.12.1");
    in.fee_pending.effective_at = 1796688000;
    n = (size_t)health_json(&in, buf, sizeof(buf));
    ck_assert_ptr_nonnull(
            strstr(buf, "\"fee_pending\":{\"version\":\"2026.12.1\",\"effective_at\":1796688000}"));
    ck_assert_int_eq(pf_health_decode(buf, n, &out, &err), 0);
    ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);

    replace(buf, sizeof(buf), "\"version\":\"2026.12.1\"", "\"version\":\"\"");
    ck_assert_int_eq(decode_health(buf, &err), PF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "fee_pending: version"));
    n = (size_t)health_json(&in, buf, sizeof(buf));
    replace(buf, sizeof(buf), "1796688000", "-1");
    ck_assert_int_eq(decode_health(buf, &err), PF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "fee_pending: effective_at"));
    n = (size_t)health_json(&in, buf, sizeof(buf));
    replace(buf, sizeof(buf), "{\"version\":\"2026.12.1\",\"effective_at\":1796688000}",
            "\"2026.12.1\"");
    ck_assert_int_ne(decode_health(buf, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "fee_pending"));

    memset(&b, 0, sizeof(b));
    b.ts_ms = 1764220000123LL;
    snprintf(b.model, sizeof(b.model), "PX-500");
    snprintf(b.hw_rev, sizeof(b.hw_rev), "r2");
    snprintf(b.fw_version, sizeof(b.fw_version), "1.4.2");
    snprintf(b.agent_version, sizeof(b.agent_version), "0.1.0");
    snprintf(b.fee_version, sizeof(b.fee_version), "2026.11.1");
    b.fee_pending = in.fee_pending;
    ck_assert_int_eq(pf_birth_encode(&b, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_birth_decode(buf, n, &bout, &err), 0);
    ck_assert_int_eq(memcmp(&b, &bout, sizeof(b)), 0);
    ck_assert_str_eq(bout.fee_pending.version, "2026.12.1");
    ck_assert_int_eq(bout.fee_pending.effective_at, 1796688000);
}
END_TEST

static int decode_state(const char *s, struct pf_state *st, struct pf_error *err)
{
    return pf_state_decode(s, strlen(s), st, err);
}

START_TEST(state_and_ack)
{
    struct pf_state s = {PF_STATE_OFFLINE, 0}, s2;
    struct pf_ack a, a2;
    struct pf_error err;
    char buf[256];
    size_t n;

    ck_assert_int_eq(pf_state_encode(&s, buf, sizeof(buf), &n), 0);
    ck_assert_str_eq(buf, "{\"v\":1,\"state\":\"offline\"}");
    ck_assert_int_eq(pf_state_decode(buf, n, &s2, &err), 0);
    ck_assert_int_eq(s2.state, PF_STATE_OFFLINE);
    ck_assert_int_eq(decode_state("{\"v\":1,\"state\":\"gone\"}", &s2, &err), PF_ERANGE);

    snprintf(a.id, sizeof(a.id), "evt-00017");
    ck_assert_int_eq(pf_ack_encode(&a, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_ack_decode(buf, n, &a2, &err), 0);
    ck_assert_str_eq(a2.id, "evt-00017");
    ck_assert_int_eq(
            pf_ack_decode("{\"v\":1,\"id\":\"\"}", strlen("{\"v\":1,\"id\":\"\"}"), &a2, &err),
            PF_ERANGE);
    /* Encoding into a buffer too small is refused, not truncated. */
    ck_assert_int_eq(pf_ack_encode(&a, buf, 8, &n), PF_ETOOBIG);
}
END_TEST

static Suite *msg_suite(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("codecs");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, health_round_trip);
    tcase_add_test(tc, health_boot_counter);
    tcase_add_test(tc, health_rejects);
    tcase_add_test(tc, health_unknown_fields_ignored);
    tcase_add_test(tc, malformed_and_oversized);
    tcase_add_test(tc, birth_round_trip_and_rejects);
    tcase_add_test(tc, state_and_ack);
    tcase_add_test(tc, fee_pending_optional_round_trip_and_rejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(msg_suite());
}
