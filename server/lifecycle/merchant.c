/*
 * merchant.c - merchant fields, the credit-code check and the review flow.
 */
#include "lifecycle/merchant.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "pf/jsonv.h"
#include "pf/zone.h"

const char *const pfs_merchant_status_names[] = {"applied",   "approved", "rejected", "active",
                                                 "suspended", "closed",   NULL};
const char *const pfs_merchant_action_names[] = {"approve", "reject", "activate", "suspend",
                                                 "resume",  "close",  NULL};
const char *const pfs_settlement_names[] = {"T0", "T1", NULL};

/* GB 32100-2015: the 31 characters (value = index) and the position weights. */
static const char merchant__uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int merchant__uscc_weights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                               29, 25, 13, 8,  24, 10, 30, 28};

static int merchant__uscc_value(char c)
{
    const char *p = c ? strchr(merchant__uscc_chars, c) : NULL;

    return p ? (int)(p - merchant__uscc_chars) : -1;
}

char pfs_uscc_check_char(const char *first17)
{
    int sum = 0, check;

    for (int i = 0; i < 17; i++) {
        int v = merchant__uscc_value(first17[i]);

        if (v < 0)
            return 0;
        sum += v * merchant__uscc_weights[i];
    }
    check = 31 - sum % 31;
    if (check == 31)
        check = 0;
    return merchant__uscc_chars[check];
}

bool pfs_uscc_valid(const char *code)
{
    char want;

    if (!code || strlen(code) != PFS_USCC_LEN)
        return false;
    for (int i = 2; i < 8; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
    }
    want = pfs_uscc_check_char(code);
    return want && merchant__uscc_value(code[17]) >= 0 && code[17] == want;
}

/* Why a code fails, for the error message. */
static int merchant__uscc_reason(const char *code, struct pf_error *err)
{
    size_t n = strlen(code);
    char want;

    if (n != PFS_USCC_LEN)
        return pf_error_set(err, PF_EINVAL, "uscc: %zu characters, expected 18", n);
    for (size_t i = 0; i < n; i++) {
        if (merchant__uscc_value(code[i]) < 0)
            return pf_error_set(err, PF_EINVAL,
                                "uscc: character %zu is not one of 0-9 A-H J-N P-R T-U W-Y", i + 1);
    }
    for (int i = 2; i < 8; i++) {
        if (code[i] < '0' || code[i] > '9')
            return pf_error_set(err, PF_EINVAL,
                                "uscc: characters 3-8 must be an administrative division code");
    }
    want = pfs_uscc_check_char(code);
    if (code[17] != want)
        return pf_error_set(err, PF_EINVAL, "uscc: check character is '%c', expected '%c'",
                            code[17], want);
    return 0;
}

bool pfs_tz_valid(const char *tz, const char *zoneinfo_dir)
{
    char path[512];
    struct stat sb;
    char magic[4];
    int fd;
    ssize_t got;

    if (strlen(tz) > PFS_TZ_MAX || !pf_zone_name_valid(tz))
        return false;
    if (!zoneinfo_dir)
        zoneinfo_dir = "/usr/share/zoneinfo";
    if (stat(zoneinfo_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return true; /* no database to consult: the pattern decides */
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", zoneinfo_dir, tz) >= sizeof(path))
        return false;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    got = read(fd, magic, sizeof(magic));
    close(fd);
    return got == 4 && memcmp(magic, "TZif", 4) == 0;
}

/* Text a person typed (pf/text.h): 1..max characters, no blanks at the ends. */
static int merchant__text(json_t *o, const char *key, bool required, size_t max, char *out,
                          size_t outsz, struct pf_error *err)
{
    return pf_json_text(o, key, required, max, PF_TEXT_TRIMMED, out, outsz, err);
}

/* A plain ASCII field: 1..max characters, each accepted by ok(). */
static int merchant__ascii(json_t *o, const char *key, bool required, size_t min, size_t max,
                           char *out, struct pf_error *err)
{
    char tmp[256];
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v)) {
        if (required)
            return pf_error_set(err, PF_EINVAL, "%s: required", key);
        return 0;
    }
    if (!json_is_string(v))
        return pf_error_set(err, PF_EINVAL, "%s: must be a string", key);
    if (json_string_length(v) < min || json_string_length(v) > max)
        return pf_error_set(err, PF_EINVAL, "%s: length %zu out of range %zu..%zu", key,
                            json_string_length(v), min, max);
    memcpy(tmp, json_string_value(v), json_string_length(v) + 1);
    for (const char *p = tmp; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return pf_error_set(err, PF_EINVAL, "%s: printable ASCII only", key);
    }
    memcpy(out, tmp, strlen(tmp) + 1);
    return 0;
}

static bool merchant__id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static bool merchant__phone_valid(const char *p)
{
    size_t digits = 0;

    if (*p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p != ' ' && *p != '-')
            return false;
    }
    return digits >= 5 && digits <= 15; /* E.164 allows at most 15 digits */
}

static int merchant__fee_plan(json_t *o, struct pfs_merchant *m, struct pf_error *err)
{
    json_t *a = json_object_get(o, "fee_plan"), *v;
    size_t i;

    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return pf_error_set(err, PF_EINVAL, "fee_plan: must be an array of fee-table ids");
    if (json_array_size(a) > PFS_FEE_PLAN_MAX)
        return pf_error_set(err, PF_EINVAL, "fee_plan: at most %d entries", PFS_FEE_PLAN_MAX);
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        size_t n = s ? json_string_length(v) : 0;

        if (!s || n == 0 || n > PFS_FEE_REF_MAX)
            return pf_error_set(err, PF_EINVAL, "fee_plan[%zu]: a string of 1..%d characters", i,
                                PFS_FEE_REF_MAX);
        for (size_t k = 0; k < n; k++) {
            if (!merchant__id_char(s[k]) && s[k] != ':')
                return pf_error_set(err, PF_EINVAL,
                                    "fee_plan[%zu]: characters A-Z a-z 0-9 . _ - : only", i);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(m->fee_plan[k], s) == 0)
                return pf_error_set(err, PF_EINVAL, "fee_plan[%zu]: '%s' listed twice", i, s);
        }
        memcpy(m->fee_plan[i], s, n + 1);
    }
    m->nfees = json_array_size(a);
    return 0;
}

int pfs_merchant_from_json(json_t *o, bool create, struct pfs_merchant *m, struct pf_error *err)
{
    struct pfs_merchant n = *m;
    char buf[PFS_MERCHANT_ID_MAX + 1] = "";
    json_t *v;
    int rc;

    if (!json_is_object(o))
        return pf_error_set(err, PF_EINVAL, "body: must be an object");
    rc = merchant__ascii(o, "id", create, 1, PFS_MERCHANT_ID_MAX, buf, err);
    if (rc)
        return rc;
    if (buf[0]) {
        for (const char *p = buf; *p; p++) {
            if (!merchant__id_char(*p))
                return pf_error_set(err, PF_EINVAL, "id: characters A-Z a-z 0-9 . _ - only");
        }
        if (!create && strcmp(buf, m->id) != 0)
            return pf_error_set(err, PF_EINVAL, "id: cannot be changed");
        memcpy(n.id, buf, sizeof(buf));
    }
    if ((rc = merchant__text(o, "name", create, PFS_MERCHANT_NAME_MAX, n.name, sizeof(n.name),
                             err)))
        return rc;
    {
        char code[PFS_USCC_LEN * 2 + 2] = "";

        if ((rc = merchant__ascii(o, "uscc", create, 1, sizeof(code) - 1, code, err)))
            return rc;
        if (code[0]) {
            if ((rc = merchant__uscc_reason(code, err)))
                return rc;
            memcpy(n.uscc, code, PFS_USCC_LEN + 1);
        }
    }
    if ((rc = merchant__ascii(o, "mcc", create, PFS_MCC_LEN, PFS_MCC_LEN, n.mcc, err)))
        return rc;
    for (int i = 0; i < PFS_MCC_LEN; i++) {
        if (n.mcc[i] < '0' || n.mcc[i] > '9')
            return pf_error_set(err, PF_EINVAL, "mcc: four digits (ISO 18245)");
    }
    if ((rc = merchant__text(o, "address", create, PFS_ADDRESS_MAX, n.address, sizeof(n.address),
                             err)))
        return rc;
    if ((rc = merchant__text(o, "contact_name", create, PFS_CONTACT_MAX, n.contact_name,
                             sizeof(n.contact_name), err)))
        return rc;
    if ((rc = merchant__ascii(o, "contact_phone", create, 1, PFS_PHONE_MAX, n.contact_phone, err)))
        return rc;
    if (!merchant__phone_valid(n.contact_phone))
        return pf_error_set(err, PF_EINVAL,
                            "contact_phone: digits with an optional leading +, blanks or"
                            " hyphens, 5-15 digits");
    if ((rc = merchant__ascii(o, "tz", create, 1, PFS_TZ_MAX, n.tz, err)))
        return rc;
    if (!pfs_tz_valid(n.tz, NULL))
        return pf_error_set(err, PF_EINVAL, "tz: '%s' is not an IANA time zone name", n.tz);
    if ((rc = merchant__ascii(o, "region", false, 0, PFS_REGION_MAX, n.region, err)))
        return rc;
    v = json_object_get(o, "settlement");
    if (v && !json_is_null(v)) {
        int i;

        for (i = 0; pfs_settlement_names[i]; i++) {
            if (json_is_string(v) && strcmp(json_string_value(v), pfs_settlement_names[i]) == 0)
                break;
        }
        if (!pfs_settlement_names[i])
            return pf_error_set(err, PF_EINVAL, "settlement: must be T0 or T1");
        n.settlement = (enum pfs_settlement)i;
    } else if (create) {
        return pf_error_set(err, PF_EINVAL, "settlement: required");
    }
    if ((rc = merchant__fee_plan(o, &n, err)))
        return rc;
    if (json_object_get(o, "status") && !create)
        return pf_error_set(err, PF_EINVAL,
                            "status: changes only through approve, reject, activate, suspend,"
                            " resume or close");
    if (create)
        n.status = PFS_MERCHANT_APPLIED;
    *m = n;
    return 0;
}

json_t *pfs_merchant_to_json(const struct pfs_merchant *m)
{
    json_t *fees = json_array();
    json_t *o;

    for (size_t i = 0; fees && i < m->nfees; i++)
        json_array_append_new(fees, json_string(m->fee_plan[i]));
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:s, s:s*}",
                  "id", m->id, "name", m->name, "uscc", m->uscc, "mcc", m->mcc, "address",
                  m->address, "contact_name", m->contact_name, "contact_phone", m->contact_phone,
                  "tz", m->tz, "settlement", pfs_settlement_names[m->settlement], "fee_plan", fees,
                  "status", pfs_merchant_status_names[m->status], "created_ms",
                  (json_int_t)m->created_ms, "updated_ms", (json_int_t)m->updated_ms, "region",
                  m->region, "review_reason", *m->review_reason ? m->review_reason : NULL);
    return o;
}

char *pfs_merchant_fee_plan_json(const struct pfs_merchant *m)
{
    json_t *a = json_array();
    char *s;

    for (size_t i = 0; a && i < m->nfees; i++)
        json_array_append_new(a, json_string(m->fee_plan[i]));
    s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

int pfs_merchant_fee_plan_parse(const char *text, struct pfs_merchant *m)
{
    json_t *a = json_loads(text ? text : "[]", 0, NULL), *v;
    size_t i;

    m->nfees = 0;
    if (!json_is_array(a)) {
        json_decref(a);
        return PF_EPARSE;
    }
    json_array_foreach(a, i, v)
    {
        if (i >= PFS_FEE_PLAN_MAX || !json_is_string(v))
            break;
        snprintf(m->fee_plan[i], sizeof(m->fee_plan[i]), "%s", json_string_value(v));
        m->nfees = i + 1;
    }
    json_decref(a);
    return 0;
}

/* The review flow: for each action, the statuses it applies to and where it leads. */
static const struct {
    enum pfs_merchant_action act;
    unsigned from; /* bit mask of enum pfs_merchant_status */
    enum pfs_merchant_status to;
} merchant__flow[] = {
#define M(s) (1u << PFS_MERCHANT_##s)
        {PFS_MACT_APPROVE, M(APPLIED), PFS_MERCHANT_APPROVED},
        {PFS_MACT_REJECT, M(APPLIED), PFS_MERCHANT_REJECTED},
        {PFS_MACT_ACTIVATE, M(APPROVED), PFS_MERCHANT_ACTIVE},
        {PFS_MACT_SUSPEND, M(ACTIVE), PFS_MERCHANT_SUSPENDED},
        {PFS_MACT_RESUME, M(SUSPENDED), PFS_MERCHANT_ACTIVE},
        {PFS_MACT_CLOSE, M(APPLIED) | M(APPROVED) | M(REJECTED) | M(ACTIVE) | M(SUSPENDED),
         PFS_MERCHANT_CLOSED},
#undef M
};

int pfs_merchant_next(enum pfs_merchant_status from, enum pfs_merchant_action act,
                      enum pfs_merchant_status *to, struct pf_error *err)
{
    for (size_t i = 0; i < sizeof(merchant__flow) / sizeof(merchant__flow[0]); i++) {
        if (merchant__flow[i].act != act)
            continue;
        if (merchant__flow[i].from & (1u << from)) {
            *to = merchant__flow[i].to;
            return 0;
        }
        {
            char allowed[128] = "";
            size_t len = 0;

            for (int s = 0; s < PFS_MERCHANT_STATUS_COUNT; s++) {
                if (merchant__flow[i].from & (1u << s))
                    len += (size_t)snprintf(allowed + len, sizeof(allowed) - len, "%s%s",
                                            len ? ", " : "", pfs_merchant_status_names[s]);
                if (len >= sizeof(allowed))
                    break;
            }
            return pf_error_set(err, PF_ESTATE, "cannot %s a merchant that is %s (only %s)",
                                pfs_merchant_action_names[act], pfs_merchant_status_names[from],
                                allowed);
        }
    }
    return pf_error_set(err, PF_EINVAL, "unknown merchant action");
}

bool pfs_merchant_bindable(enum pfs_merchant_status s)
{
    return s == PFS_MERCHANT_APPROVED || s == PFS_MERCHANT_ACTIVE;
}

int pfs_merchant_change_check(const struct pfs_merchant *cur, const struct pfs_merchant *next,
                              int64_t bound, struct pf_error *err)
{
    if (next->status == PFS_MERCHANT_CLOSED && cur->status != PFS_MERCHANT_CLOSED && bound > 0)
        return pf_error_set(err, PF_ESTATE,
                            "merchant %s: %lld terminal(s) still bound: unbind or swap them first",
                            cur->id, (long long)bound);
    return 0;
}
