/*
 * msg.c - JSON codecs for birth, health, state and ack messages.
 *
 * Encoders build a jansson tree and dump it into the caller's buffer.
 * Decoders go through pf/jsonv.h so every field is checked for presence,
 * type and range, and every rejection names the field.
 */
#include "pf/msg.h"

#include <string.h>

#include "pf/jsonv.h"

const char *const pf_slot_names[] = {"a", "b", NULL};
const char *const pf_boot_outcome_names[] = {"normal", "updated", "rolled_back", "recovery", NULL};
const char *const pf_net_type_names[] = {"none", "eth", "wifi", "2g", "3g", "4g", "5g", NULL};
const char *const pf_paper_names[] = {"ok", "low", "out", "none", NULL};
const char *const pf_check_names[] = {"pass", "fail", "skip", NULL};
const char *const pf_component_names[] = {"power",       "network",        "screen", "printer",
                                          "card_reader", "secure_element", NULL};
const char *const pf_conn_state_names[] = {"online", "offline", NULL};

/* 2100-01-01 in ms: a sanity bound for timestamps. */
#define MSG_TS_MAX 4102444800000LL

/* ---- encoding ---------------------------------------------------------- */

static int msg__finish(json_t *root, char *buf, size_t len, size_t *outlen)
{
    int rc;

    if (!root)
        return PF_ENOMEM;
    rc = pf_json_dump(root, buf, len, outlen);
    json_decref(root);
    return rc;
}

static json_t *msg__selftest_encode(const enum pf_check st[PF_COMP_COUNT])
{
    json_t *o = json_object();

    for (int i = 0; o && i < PF_COMP_COUNT; i++)
        json_object_set_new(o, pf_component_names[i], json_string(pf_check_names[st[i]]));
    return o;
}

/* "fee_pending": {"version", "effective_at"} only when a table waits. */
static json_t *msg__fee_pending_add(json_t *root, const struct pf_fee_pending *p)
{
    if (root && p->version[0])
        json_object_set_new(root, "fee_pending",
                            json_pack("{s:s, s:I}", "version", p->version, "effective_at",
                                      (json_int_t)p->effective_at));
    return root;
}

int pf_birth_encode(const struct pf_birth *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root = json_pack("{s:i, s:I, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:o}", "v",
                             PF_SCHEMA_VERSION, "ts", (json_int_t)m->ts_ms, "model", m->model,
                             "hw_rev", m->hw_rev, "fw", "version", m->fw_version, "slot",
                             pf_slot_names[m->fw_slot], "fee_version", m->fee_version, "boot",
                             pf_boot_outcome_names[m->boot], "agent_version", m->agent_version,
                             "selftest", msg__selftest_encode(m->selftest));

    return msg__finish(msg__fee_pending_add(root, &m->fee_pending), buf, len, outlen);
}

int pf_health_encode(const struct pf_health *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root = json_pack(
            "{s:i, s:I, s:I,"
            " s:{s:i, s:b}, s:{s:s, s:i}, s:i, s:I, s:I, s:I,"
            " s:{s:s, s:s}, s:s, s:s, s:b, s:o,"
            " s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:s}, s:b}",
            "v", PF_SCHEMA_VERSION, "seq", (json_int_t)m->seq, "ts", (json_int_t)m->ts_ms, "power",
            "battery_pct", m->battery_pct, "charging", m->charging, "net", "type",
            pf_net_type_names[m->net_type], "signal_dbm", m->signal_dbm, "temp_c", m->temp_c,
            "storage_free_kb", (json_int_t)m->storage_free_kb, "mem_free_kb",
            (json_int_t)m->mem_free_kb, "uptime_s", (json_int_t)m->uptime_s, "fw", "version",
            m->fw_version, "slot", pf_slot_names[m->fw_slot], "fee_version", m->fee_version,
            "paper", pf_paper_names[m->paper], "tamper", m->tamper, "selftest",
            msg__selftest_encode(m->selftest), "errors", "reconnects",
            (json_int_t)m->err_reconnects, "queue_dropped", (json_int_t)m->err_queue_dropped,
            "reader", (json_int_t)m->err_reader, "printer", (json_int_t)m->err_printer, "txn",
            "count", (json_int_t)m->txn_count, "amount_minor", (json_int_t)m->txn_amount_minor,
            "currency", m->currency, "queued", m->queued);

    if (root && m->boot > 0)
        json_object_set_new(root, "boot", json_integer(m->boot));
    return msg__finish(msg__fee_pending_add(root, &m->fee_pending), buf, len, outlen);
}

int pf_state_encode(const struct pf_state *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root =
            json_pack("{s:i, s:s}", "v", PF_SCHEMA_VERSION, "state", pf_conn_state_names[m->state]);

    if (root && m->ts_ms > 0)
        json_object_set_new(root, "ts", json_integer(m->ts_ms));
    return msg__finish(root, buf, len, outlen);
}

int pf_ack_encode(const struct pf_ack *m, char *buf, size_t len, size_t *outlen)
{
    return msg__finish(json_pack("{s:i, s:s}", "v", PF_SCHEMA_VERSION, "id", m->id), buf, len,
                       outlen);
}

/* ---- decoding ---------------------------------------------------------- */

static int msg__open(const char *buf, size_t len, json_t **root, struct pf_error *err)
{
    return pf_json_open_message(buf, len, PF_MSG_MAX, PF_SCHEMA_VERSION, root, err);
}

static int msg__version(json_t *o, const char *key, bool req, bool allow_empty, char *out,
                        struct pf_error *err)
{
    int rc = pf_json_str(o, key, req, 0, PF_VERSION_MAX, out, err);

    if (rc)
        return rc;
    if (!(allow_empty && out[0] == '\0') && !pf_version_valid(out))
        return pf_error_set(err, PF_ERANGE, "%s: not a version (N[.N[.N[.N]]])", key);
    return 0;
}

static int msg__fw(json_t *root, char *version, enum pf_slot *slot, struct pf_error *err)
{
    json_t *fw;
    int s = 0, rc;

    rc = pf_json_obj(root, "fw", true, &fw, err);
    if (!rc)
        rc = msg__version(fw, "version", true, false, version, err);
    if (!rc)
        rc = pf_json_enum(fw, "slot", true, pf_slot_names, &s, err);
    if (rc)
        return pf_error_prefix(err, "fw");
    *slot = (enum pf_slot)s;
    return 0;
}

static int msg__selftest(json_t *root, bool required, enum pf_check st[PF_COMP_COUNT],
                         struct pf_error *err)
{
    json_t *o;
    int rc = pf_json_obj(root, "selftest", required, &o, err);

    for (int i = 0; i < PF_COMP_COUNT; i++)
        st[i] = PF_CHECK_SKIP;
    if (rc || !o)
        return rc;
    for (int i = 0; i < PF_COMP_COUNT; i++) {
        int c = PF_CHECK_SKIP;
        rc = pf_json_enum(o, pf_component_names[i], true, pf_check_names, &c, err);
        if (rc)
            return pf_error_prefix(err, "selftest");
        st[i] = (enum pf_check)c;
    }
    return 0;
}

/* Optional: absent (older agents, nothing pending) leaves p zero. */
static int msg__fee_pending(json_t *root, struct pf_fee_pending *p, struct pf_error *err)
{
    json_t *o = NULL;
    int rc;

    if ((rc = pf_json_obj(root, "fee_pending", false, &o, err)) || !o)
        return rc;
    if ((rc = msg__version(o, "version", true, false, p->version, err)) ||
        (rc = pf_json_int(o, "effective_at", true, 0, MSG_TS_MAX / 1000, &p->effective_at, err)))
        return pf_error_prefix(err, "fee_pending");
    return 0;
}

int pf_birth_decode(const char *buf, size_t len, struct pf_birth *m, struct pf_error *err)
{
    json_t *root;
    int boot = 0, rc;

    memset(m, 0, sizeof(*m));
    rc = msg__open(buf, len, &root, err);
    if (rc)
        goto out_prefix;
    if ((rc = pf_json_int(root, "ts", true, 0, MSG_TS_MAX, &m->ts_ms, err)) ||
        (rc = pf_json_printable(root, "model", true, 1, PF_MODEL_MAX, m->model, err)) ||
        (rc = pf_json_printable(root, "hw_rev", true, 1, PF_HWREV_MAX, m->hw_rev, err)) ||
        (rc = msg__fw(root, m->fw_version, &m->fw_slot, err)) ||
        (rc = msg__version(root, "fee_version", true, true, m->fee_version, err)) ||
        (rc = msg__fee_pending(root, &m->fee_pending, err)) ||
        (rc = pf_json_enum(root, "boot", true, pf_boot_outcome_names, &boot, err)) ||
        (rc = msg__version(root, "agent_version", true, false, m->agent_version, err)) ||
        (rc = msg__selftest(root, true, m->selftest, err)))
        goto out_free;
    m->boot = (enum pf_boot_outcome)boot;
out_free:
    json_decref(root);
out_prefix:
    if (rc)
        pf_error_prefix(err, "birth");
    return rc;
}

static int msg__health_fields(json_t *root, struct pf_health *m, struct pf_error *err)
{
    json_t *power, *net, *errors, *txn;
    int net_type = 0, paper = 0, rc;
    int64_t boot = 0;

    /* boot is optional (terminals before it keep working): 0 stands for absent. */
    if ((rc = pf_json_int(root, "boot", false, 1, UINT32_MAX, &boot, err)) ||
        (rc = pf_json_u32(root, "seq", true, &m->seq, err)) ||
        (rc = pf_json_int(root, "ts", true, 0, MSG_TS_MAX, &m->ts_ms, err)))
        return rc;
    m->boot = (uint32_t)boot;

    if ((rc = pf_json_obj(root, "power", true, &power, err)))
        return rc;
    if ((rc = pf_json_int32(power, "battery_pct", true, 0, 100, &m->battery_pct, err)) ||
        (rc = pf_json_bool(power, "charging", true, &m->charging, err)))
        return pf_error_prefix(err, "power");

    if ((rc = pf_json_obj(root, "net", true, &net, err)))
        return rc;
    if ((rc = pf_json_enum(net, "type", true, pf_net_type_names, &net_type, err)) ||
        (rc = pf_json_int32(net, "signal_dbm", true, -150, 0, &m->signal_dbm, err)))
        return pf_error_prefix(err, "net");
    m->net_type = (enum pf_net_type)net_type;

    if ((rc = pf_json_int32(root, "temp_c", true, -40, 125, &m->temp_c, err)) ||
        (rc = pf_json_u53(root, "storage_free_kb", true, &m->storage_free_kb, err)) ||
        (rc = pf_json_u53(root, "mem_free_kb", true, &m->mem_free_kb, err)) ||
        (rc = pf_json_u53(root, "uptime_s", true, &m->uptime_s, err)) ||
        (rc = msg__fw(root, m->fw_version, &m->fw_slot, err)) ||
        (rc = msg__version(root, "fee_version", true, true, m->fee_version, err)) ||
        (rc = msg__fee_pending(root, &m->fee_pending, err)) ||
        (rc = pf_json_enum(root, "paper", true, pf_paper_names, &paper, err)) ||
        (rc = pf_json_bool(root, "tamper", true, &m->tamper, err)) ||
        (rc = msg__selftest(root, true, m->selftest, err)))
        return rc;
    m->paper = (enum pf_paper)paper;

    if ((rc = pf_json_obj(root, "errors", true, &errors, err)))
        return rc;
    if ((rc = pf_json_u32(errors, "reconnects", true, &m->err_reconnects, err)) ||
        (rc = pf_json_u32(errors, "queue_dropped", true, &m->err_queue_dropped, err)) ||
        (rc = pf_json_u32(errors, "reader", true, &m->err_reader, err)) ||
        (rc = pf_json_u32(errors, "printer", true, &m->err_printer, err)))
        return pf_error_prefix(err, "errors");

    if ((rc = pf_json_obj(root, "txn", true, &txn, err)))
        return rc;
    if ((rc = pf_json_u32(txn, "count", true, &m->txn_count, err)) ||
        (rc = pf_json_u53(txn, "amount_minor", true, &m->txn_amount_minor, err)) ||
        (rc = pf_json_str(txn, "currency", true, PF_CURRENCY_LEN, PF_CURRENCY_LEN, m->currency,
                          err)))
        return pf_error_prefix(err, "txn");
    for (int i = 0; i < PF_CURRENCY_LEN; i++) {
        if (m->currency[i] < 'A' || m->currency[i] > 'Z')
            return pf_error_set(err, PF_ERANGE, "txn: currency: not an ISO 4217 code");
    }
    return pf_json_bool(root, "queued", false, &m->queued, err);
}

int pf_health_decode(const char *buf, size_t len, struct pf_health *m, struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = msg__open(buf, len, &root, err);
    if (rc == 0) {
        rc = msg__health_fields(root, m, err);
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "health");
    return rc;
}

int pf_state_decode(const char *buf, size_t len, struct pf_state *m, struct pf_error *err)
{
    json_t *root;
    int st = 0, rc;

    memset(m, 0, sizeof(*m));
    rc = msg__open(buf, len, &root, err);
    if (rc == 0) {
        if (!(rc = pf_json_enum(root, "state", true, pf_conn_state_names, &st, err)))
            rc = pf_json_int(root, "ts", false, 0, MSG_TS_MAX, &m->ts_ms, err);
        m->state = (enum pf_conn_state)st;
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "state");
    return rc;
}

int pf_ack_decode(const char *buf, size_t len, struct pf_ack *m, struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = msg__open(buf, len, &root, err);
    if (rc == 0) {
        rc = pf_json_printable(root, "id", true, 1, sizeof(m->id) - 1, m->id, err);
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "ack");
    return rc;
}
