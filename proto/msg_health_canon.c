/*
 * msg_health_canon.c - decodes health reports in their canonical encoding.
 *
 * A cursor walks the expected bytes: each key with its quotes and colon is matched
 * literally, each value is read with the same type, range and length rule as msg.c's
 * decoder. Only the narrowest form of each value is taken (integers without a fraction,
 * exponent or leading zero and of at most 18 digits; strings of printable ASCII without
 * escapes); every other form, like every deviation from the key order, ends the walk with
 * false, and pf_health_decode_json() decides.
 */
#include "pf/msg_health_canon.h"

#include <string.h>

#include "pf/version.h"

/* Enum values on the wire are short; a longer string is not one of them. */
#define CANON_ENUM_MAX 16

struct canon {
    const char *p;
    const char *end;
};

/* Matches a literal, e.g. the next key with its quotes and colon. */
static bool canon__lit(struct canon *c, const char *s, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

#define CANON_LIT(c, s) canon__lit((c), (s), sizeof(s) - 1)

/* An integer in min..max: -?(0|[1-9][0-9]{0,17}), not followed by a digit, '.', 'e' or 'E'. */
static bool canon__int(struct canon *c, int64_t min, int64_t max, int64_t *out)
{
    const char *p = c->p;
    bool neg = false;
    int64_t x = 0;
    int digits = 0;

    if (p < c->end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= c->end || *p < '0' || *p > '9')
        return false;
    if (*p == '0') {
        p++;
    } else {
        while (p < c->end && *p >= '0' && *p <= '9' && digits < 18) {
            x = x * 10 + (*p - '0');
            digits++;
            p++;
        }
    }
    if (p < c->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E'))
        return false;
    if (neg)
        x = -x;
    if (x < min || x > max)
        return false;
    c->p = p;
    *out = x;
    return true;
}

static bool canon__u32(struct canon *c, uint32_t *out)
{
    int64_t x;

    if (!canon__int(c, 0, UINT32_MAX, &x))
        return false;
    *out = (uint32_t)x;
    return true;
}

static bool canon__u53(struct canon *c, uint64_t *out)
{
    int64_t x;

    if (!canon__int(c, 0, INT64_C(1) << 53, &x))
        return false;
    *out = (uint64_t)x;
    return true;
}

static bool canon__int32(struct canon *c, int min, int max, int *out)
{
    int64_t x;

    if (!canon__int(c, min, max, &x))
        return false;
    *out = (int)x;
    return true;
}

static bool canon__bool(struct canon *c, bool *out)
{
    if (CANON_LIT(c, "true")) {
        *out = true;
        return true;
    }
    if (CANON_LIT(c, "false")) {
        *out = false;
        return true;
    }
    return false;
}

/* A string of minlen..maxlen printable ASCII bytes without escapes, copied into out. */
static bool canon__str(struct canon *c, size_t minlen, size_t maxlen, char *out)
{
    const char *s, *p;
    size_t n;

    if (!CANON_LIT(c, "\""))
        return false;
    s = p = c->p;
    while (p < c->end && *p != '"') {
        if (*p < 0x20 || *p > 0x7e || *p == '\\' || (size_t)(p - s) >= maxlen)
            return false;
        p++;
    }
    if (p >= c->end)
        return false;
    n = (size_t)(p - s);
    if (n < minlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    c->p = p + 1;
    return true;
}

static bool canon__enum(struct canon *c, const char *const *names, int *out)
{
    char v[CANON_ENUM_MAX + 1];

    if (!canon__str(c, 0, CANON_ENUM_MAX, v))
        return false;
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], v) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* A version string; empty only if allow_empty (fee_version). */
static bool canon__version(struct canon *c, bool allow_empty, char out[PF_VERSION_MAX + 1])
{
    if (!canon__str(c, 0, PF_VERSION_MAX, out))
        return false;
    return (allow_empty && out[0] == '\0') || pf_version_valid(out);
}

static bool canon__fw(struct canon *c, struct pf_health *m)
{
    int slot;

    if (!CANON_LIT(c, "\"fw\":{\"version\":") || !canon__version(c, false, m->fw_version) ||
        !CANON_LIT(c, ",\"slot\":") || !canon__enum(c, pf_slot_names, &slot) || !CANON_LIT(c, "}"))
        return false;
    m->fw_slot = (enum pf_slot)slot;
    return true;
}

static bool canon__selftest(struct canon *c, enum pf_check st[PF_COMP_COUNT])
{
    if (!CANON_LIT(c, "\"selftest\":{"))
        return false;
    for (int i = 0; i < PF_COMP_COUNT; i++) {
        size_t n = strlen(pf_component_names[i]);
        int v;

        if ((i > 0 && !CANON_LIT(c, ",")) || !CANON_LIT(c, "\"") ||
            !canon__lit(c, pf_component_names[i], n) || !CANON_LIT(c, "\":") ||
            !canon__enum(c, pf_check_names, &v))
            return false;
        st[i] = (enum pf_check)v;
    }
    return CANON_LIT(c, "}");
}

static bool canon__currency(struct canon *c, char out[PF_CURRENCY_LEN + 1])
{
    if (!canon__str(c, PF_CURRENCY_LEN, PF_CURRENCY_LEN, out))
        return false;
    for (int i = 0; i < PF_CURRENCY_LEN; i++) {
        if (out[i] < 'A' || out[i] > 'Z')
            return false;
    }
    return true;
}

bool pf_health_decode_canonical(const char *buf, size_t len, struct pf_health *m)
{
    struct canon c = {buf, buf + len};
    int64_t v;
    int net_type, paper;

    memset(m, 0, sizeof(*m));
    if (!buf || len > PF_MSG_MAX)
        return false;
    if (!CANON_LIT(&c, "{\"v\":") || !canon__int(&c, 1, 1000, &v) || v != PF_SCHEMA_VERSION ||
        !CANON_LIT(&c, ",\"seq\":") || !canon__u32(&c, &m->seq) || !CANON_LIT(&c, ",\"ts\":") ||
        !canon__int(&c, 0, PF_MSG_TS_MAX, &m->ts_ms))
        return false;
    if (!CANON_LIT(&c, ",\"power\":{\"battery_pct\":") ||
        !canon__int32(&c, 0, 100, &m->battery_pct) || !CANON_LIT(&c, ",\"charging\":") ||
        !canon__bool(&c, &m->charging) || !CANON_LIT(&c, "}"))
        return false;
    if (!CANON_LIT(&c, ",\"net\":{\"type\":") || !canon__enum(&c, pf_net_type_names, &net_type) ||
        !CANON_LIT(&c, ",\"signal_dbm\":") || !canon__int32(&c, -150, 0, &m->signal_dbm) ||
        !CANON_LIT(&c, "}"))
        return false;
    m->net_type = (enum pf_net_type)net_type;
    if (!CANON_LIT(&c, ",\"temp_c\":") || !canon__int32(&c, -40, 125, &m->temp_c) ||
        !CANON_LIT(&c, ",\"storage_free_kb\":") || !canon__u53(&c, &m->storage_free_kb) ||
        !CANON_LIT(&c, ",\"mem_free_kb\":") || !canon__u53(&c, &m->mem_free_kb) ||
        !CANON_LIT(&c, ",\"uptime_s\":") || !canon__u53(&c, &m->uptime_s) || !CANON_LIT(&c, ",") ||
        !canon__fw(&c, m) || !CANON_LIT(&c, ",\"fee_version\":") ||
        !canon__version(&c, true, m->fee_version) || !CANON_LIT(&c, ",\"paper\":") ||
        !canon__enum(&c, pf_paper_names, &paper) || !CANON_LIT(&c, ",\"tamper\":") ||
        !canon__bool(&c, &m->tamper) || !CANON_LIT(&c, ",") || !canon__selftest(&c, m->selftest))
        return false;
    m->paper = (enum pf_paper)paper;
    if (!CANON_LIT(&c, ",\"errors\":{\"reconnects\":") || !canon__u32(&c, &m->err_reconnects) ||
        !CANON_LIT(&c, ",\"queue_dropped\":") || !canon__u32(&c, &m->err_queue_dropped) ||
        !CANON_LIT(&c, ",\"reader\":") || !canon__u32(&c, &m->err_reader) ||
        !CANON_LIT(&c, ",\"printer\":") || !canon__u32(&c, &m->err_printer) || !CANON_LIT(&c, "}"))
        return false;
    if (!CANON_LIT(&c, ",\"txn\":{\"count\":") || !canon__u32(&c, &m->txn_count) ||
        !CANON_LIT(&c, ",\"amount_minor\":") || !canon__u53(&c, &m->txn_amount_minor) ||
        !CANON_LIT(&c, ",\"currency\":") || !canon__currency(&c, m->currency) ||
        !CANON_LIT(&c, "}"))
        return false;
    /* "queued" is optional and last; nothing may follow the closing brace. */
    if (CANON_LIT(&c, ",\"queued\":") && !canon__bool(&c, &m->queued))
        return false;
    return CANON_LIT(&c, "}") && c.p == c.end;
}
