/*
 * msg_lifecycle.c - JSON codecs for the lock command, the lock report and the
 * tamper event.
 */
#include "pf/msg_lifecycle.h"

#include <string.h>

#include "pf/jsonv.h"
#include "pf/msg.h"

#define LOCK_TS_MAX 4102444800000LL /* 2100-01-01 */

static const char *const lock__actions[] = {"unlock", "lock", NULL};

bool pf_lock_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PF_LOCK_ID_MAX)
        return false;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static int lock__dump(json_t *root, char *buf, size_t len, size_t *outlen)
{
    int rc;

    if (!root)
        return PF_ENOMEM;
    rc = pf_json_dump(root, buf, len, outlen);
    json_decref(root);
    return rc;
}

int pf_lock_cmd_encode(const struct pf_lock_cmd *m, char *buf, size_t len, size_t *outlen)
{
    if (!pf_lock_id_valid(m->id))
        return PF_EINVAL;
    return lock__dump(json_pack("{s:i, s:s, s:s, s:s, s:I}", "v", PF_SCHEMA_VERSION, "id", m->id,
                                "action", lock__actions[m->lock ? 1 : 0], "reason", m->reason, "ts",
                                (json_int_t)m->ts_ms),
                      buf, len, outlen);
}

static int lock__id(json_t *root, char *out, struct pf_error *err)
{
    int rc = pf_json_str(root, "id", true, 1, PF_LOCK_ID_MAX, out, err);

    if (!rc && !pf_lock_id_valid(out))
        rc = pf_error_set(err, PF_ERANGE, "id: characters A-Z a-z 0-9 . _ : - only");
    return rc;
}

int pf_lock_cmd_decode(const char *buf, size_t len, struct pf_lock_cmd *m, struct pf_error *err)
{
    json_t *root;
    int action = 0, rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_MSG_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc == 0) {
        rc = lock__id(root, m->id, err);
        if (!rc)
            rc = pf_json_enum(root, "action", true, lock__actions, &action, err);
        if (!rc)
            rc = pf_json_printable(root, "reason", false, 0, PF_LOCK_REASON_MAX, m->reason, err);
        if (!rc)
            rc = pf_json_int(root, "ts", false, 0, LOCK_TS_MAX, &m->ts_ms, err);
        json_decref(root);
    }
    m->lock = action == 1;
    if (rc)
        pf_error_prefix(err, "lock");
    return rc;
}

int pf_lock_report_encode(const struct pf_lock_report *m, char *buf, size_t len, size_t *outlen)
{
    if (!pf_lock_id_valid(m->id))
        return PF_EINVAL;
    return lock__dump(json_pack("{s:i, s:s, s:b, s:I}", "v", PF_SCHEMA_VERSION, "id", m->id,
                                "locked", m->locked, "ts", (json_int_t)m->ts_ms),
                      buf, len, outlen);
}

int pf_lock_report_decode(const char *buf, size_t len, struct pf_lock_report *m,
                          struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_MSG_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc == 0) {
        rc = lock__id(root, m->id, err);
        if (!rc)
            rc = pf_json_bool(root, "locked", true, &m->locked, err);
        if (!rc)
            rc = pf_json_int(root, "ts", false, 0, LOCK_TS_MAX, &m->ts_ms, err);
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "lock report");
    return rc;
}

int pf_tamper_event_encode(const struct pf_tamper_event *m, char *buf, size_t len, size_t *outlen)
{
    if (m->ts_ms < 0 || m->ts_ms > LOCK_TS_MAX)
        return PF_EINVAL;
    return lock__dump(json_pack("{s:i, s:I}", "v", PF_SCHEMA_VERSION, "ts", (json_int_t)m->ts_ms),
                      buf, len, outlen);
}

int pf_tamper_event_decode(const char *buf, size_t len, struct pf_tamper_event *m,
                           struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_MSG_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc == 0) {
        rc = pf_json_int(root, "ts", true, 0, LOCK_TS_MAX, &m->ts_ms, err);
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "tamper");
    return rc;
}
