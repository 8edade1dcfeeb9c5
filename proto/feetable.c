/*
 * feetable.c - fee-table schema validation and fee arithmetic.
 */
#include "pf/feetable.h"

#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/jsonv.h"

#define FEETABLE_SCHEMA 1

const char *const pf_fee_channel_names[] = {"debit_card", "credit_card", "qr_code", "contactless",
                                            NULL};

static int feetable__rates(json_t *root, struct pf_feetable *ft, struct pf_error *err)
{
    json_t *rates = NULL, *ch;
    int64_t v;
    int rc;

    if ((rc = pf_json_obj(root, "rates", true, &rates, err)) != 0)
        return rc;
    for (int i = 0; i < PF_FEE_CHANNELS; i++) {
        const char *name = pf_fee_channel_names[i];
        if ((rc = pf_json_obj(rates, name, true, &ch, err)) != 0)
            return pf_error_prefix(err, "rates");
        if ((rc = pf_json_int(ch, "rate_bp", true, 0, PF_FEETABLE_MAX_RATE_BP, &v, err)) != 0)
            return pf_error_prefix(err, "rates.%s", name);
        ft->rates[i].rate_bp = (int32_t)v;
        if ((rc = pf_json_int(ch, "cap_minor", true, 1, PF_FEETABLE_MAX_CAP_MINOR,
                              &ft->rates[i].cap_minor, err)) != 0)
            return pf_error_prefix(err, "rates.%s", name);
    }
    /* Unknown channels are a typo more often than a new channel: refuse them. */
    {
        const char *key;
        json_t *val;
        json_object_foreach(rates, key, val)
        {
            bool known = false;
            (void)val;
            for (int i = 0; i < PF_FEE_CHANNELS; i++)
                known = known || strcmp(key, pf_fee_channel_names[i]) == 0;
            if (!known)
                return pf_error_set(err, PF_ESCHEMA, "rates.%s: unknown payment channel", key);
        }
    }
    return 0;
}

static int feetable__settlement(json_t *root, struct pf_feetable *ft, struct pf_error *err)
{
    json_t *s = NULL;
    int64_t v;
    int rc;

    if ((rc = pf_json_obj(root, "settlement", true, &s, err)) != 0)
        return rc;
    if ((rc = pf_json_int(s, "t0_surcharge_bp", true, 0, PF_FEETABLE_MAX_SURCHARGE_BP, &v, err)) !=
        0)
        return pf_error_prefix(err, "settlement");
    ft->surcharge_bp[PF_SETTLE_T0] = (int32_t)v;
    if ((rc = pf_json_int(s, "t1_surcharge_bp", true, 0, PF_FEETABLE_MAX_SURCHARGE_BP, &v, err)) !=
        0)
        return pf_error_prefix(err, "settlement");
    ft->surcharge_bp[PF_SETTLE_T1] = (int32_t)v;
    for (int i = 0; i < PF_FEE_CHANNELS; i++) {
        for (int t = 0; t < 2; t++) {
            if (ft->rates[i].rate_bp + ft->surcharge_bp[t] > PF_FEETABLE_MAX_RATE_BP)
                return pf_error_set(err, PF_ERANGE,
                                    "settlement.t%d_surcharge_bp: rate plus surcharge for %s "
                                    "exceeds 10000 bp",
                                    t, pf_fee_channel_names[i]);
        }
    }
    return 0;
}

static int feetable__mcc(json_t *root, struct pf_feetable *ft, struct pf_error *err)
{
    json_t *a = json_object_get(root, "mcc"), *e;
    size_t i;

    if (!a || json_is_null(a))
        return pf_error_set(err, PF_ESCHEMA, "mcc: required field missing");
    if (!json_is_array(a))
        return pf_error_set(err, PF_ESCHEMA, "mcc: expected an array of 4-digit strings");
    if (json_array_size(a) == 0)
        return pf_error_set(err, PF_ESCHEMA, "mcc: at least one merchant category required");
    if (json_array_size(a) > PF_FEETABLE_MAX_MCC)
        return pf_error_set(err, PF_ELIMIT, "mcc: more than %d categories", PF_FEETABLE_MAX_MCC);
    json_array_foreach(a, i, e)
    {
        const char *s = json_is_string(e) ? json_string_value(e) : NULL;
        unsigned v = 0;

        if (!s || json_string_length(e) != 4)
            return pf_error_set(err, PF_ESCHEMA, "mcc[%zu]: expected a 4-digit string", i);
        for (int k = 0; k < 4; k++) {
            if (s[k] < '0' || s[k] > '9')
                return pf_error_set(err, PF_ESCHEMA, "mcc[%zu]: '%s' is not 4 digits", i, s);
            v = v * 10 + (unsigned)(s[k] - '0');
        }
        for (size_t j = 0; j < i; j++) {
            if (ft->mcc[j] == v)
                return pf_error_set(err, PF_ESCHEMA, "mcc[%zu]: duplicate category %s", i, s);
        }
        ft->mcc[i] = (uint16_t)v;
    }
    ft->nmcc = i;
    return 0;
}

int pf_feetable_parse(const char *buf, size_t len, struct pf_feetable *ft, struct pf_error *err)
{
    json_t *root = NULL;
    int64_t schema = 0;
    char when[PF_TIME_STR_LEN + 1];
    int rc;

    memset(ft, 0, sizeof(*ft));
    if ((rc = pf_json_parse_object(buf, len, PF_FEETABLE_MAX_BYTES, &root, err)) != 0)
        goto out;
    /* "schema: required field missing" read like a failed schema check: name the field. */
    if (!json_object_get(root, "schema") || json_is_null(json_object_get(root, "schema"))) {
        rc = pf_error_set(err, PF_ESCHEMA,
                          "the field \"schema\" (the format version, %d) is missing",
                          FEETABLE_SCHEMA);
        goto out_decref;
    }
    if ((rc = pf_json_int(root, "schema", true, 1, 1000, &schema, err)) != 0)
        goto out_decref;
    if (schema != FEETABLE_SCHEMA) {
        rc = pf_error_set(err, PF_EVERSION,
                          "the field \"schema\": format version %lld not supported (%d is)",
                          (long long)schema, FEETABLE_SCHEMA);
        goto out_decref;
    }
    if ((rc = pf_json_str(root, "version", true, 1, PF_VERSION_MAX, ft->version, err)) != 0)
        goto out_decref;
    if ((rc = pf_version_check(ft->version)) != 0) {
        rc = pf_error_set(err, rc,
                          rc == PF_ERANGE ? "version: '%s' has a leading zero"
                                          : "version: '%s' is not like 2026.12.1",
                          ft->version);
        goto out_decref;
    }
    if ((rc = pf_json_str(root, "currency", true, 3, 3, ft->currency, err)) != 0)
        goto out_decref;
    for (int i = 0; i < 3; i++) {
        if (ft->currency[i] < 'A' || ft->currency[i] > 'Z') {
            rc = pf_error_set(err, PF_ESCHEMA, "currency: '%s' is not an ISO 4217 code",
                              ft->currency);
            goto out_decref;
        }
    }
    if ((rc = pf_json_str(root, "effective_at", true, PF_TIME_STR_LEN, PF_TIME_STR_LEN, when,
                          err)) != 0)
        goto out_decref;
    if (pf_time_parse(when, &ft->effective_at) != 0) {
        rc = pf_error_set(err, PF_EPARSE, "effective_at: not a UTC time like 2026-12-01T00:00:00Z");
        goto out_decref;
    }
    if ((rc = feetable__rates(root, ft, err)) != 0 ||
        (rc = feetable__settlement(root, ft, err)) != 0 || (rc = feetable__mcc(root, ft, err)) != 0)
        goto out_decref;
out_decref:
    json_decref(root);
out:
    if (rc) {
        /* One code for every invalid table; the message keeps the precise reason. */
        pf_error_prefix(err, "fee table");
        if (err)
            err->code = PF_EFEETABLE;
        memset(ft, 0, sizeof(*ft));
        rc = PF_EFEETABLE;
    }
    return rc;
}

int pf_feetable_parse_file(const char *path, struct pf_feetable *ft, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, PF_FEETABLE_MAX_BYTES, &buf, &len);

    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pf_feetable_parse(buf, len, ft, err);
    free(buf);
    return rc;
}

bool pf_feetable_applies(const struct pf_feetable *ft, unsigned mcc)
{
    for (size_t i = 0; i < ft->nmcc; i++) {
        if (ft->mcc[i] == mcc)
            return true;
    }
    return false;
}

int64_t pf_feetable_fee(const struct pf_feetable *ft, enum pf_fee_channel ch,
                        enum pf_settlement settle, int64_t amount_minor)
{
    int64_t bp = ft->rates[ch].rate_bp + ft->surcharge_bp[settle];
    /* amount < 2^63 / 10^4 is enforced by the caller's amount range; clamp to be safe. */
    int64_t amount = amount_minor < 0 ? 0 : amount_minor;
    int64_t fee;

    if (amount > INT64_MAX / (PF_FEETABLE_MAX_RATE_BP + 1))
        amount = INT64_MAX / (PF_FEETABLE_MAX_RATE_BP + 1);
    fee = (amount * bp + 5000) / 10000;
    return fee > ft->rates[ch].cap_minor ? ft->rates[ch].cap_minor : fee;
}
