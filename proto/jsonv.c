/*
 * jsonv.c - strict typed getters over jansson.
 */
#include "pf/jsonv.h"

#include <string.h>

/* nonobj: the code for valid JSON that is not an object (a document's SCHEMA, a message's
 * PARSE: on the wire a message is an object or it is not a message at all). */
static int jsonv__load(const char *buf, size_t len, size_t max, size_t flags, int nonobj,
                       json_t **out, struct pf_error *err)
{
    json_error_t jerr;
    json_t *root;

    if (len > max)
        return pf_error_set(err, PF_ETOOBIG, "%zu bytes exceeds the limit of %zu", len, max);
    root = json_loadb(buf, len, flags, &jerr);
    if (!root)
        return pf_error_set(err, PF_EPARSE, "malformed JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return pf_error_set(err, nonobj, "top level is not an object");
    }
    *out = root;
    return 0;
}

int pf_json_parse_object(const char *buf, size_t len, size_t max, json_t **out,
                         struct pf_error *err)
{
    return jsonv__load(buf, len, max, JSON_REJECT_DUPLICATES, PF_ESCHEMA, out, err);
}

int pf_json_parse_message(const char *buf, size_t len, size_t max, json_t **out,
                          struct pf_error *err)
{
    return jsonv__load(buf, len, max, JSON_REJECT_DUPLICATES, PF_EPARSE, out, err);
}

static json_t *jsonv__get(json_t *obj, const char *key, bool required, int *rc,
                          struct pf_error *err)
{
    json_t *v = json_object_get(obj, key);

    *rc = 0;
    if (!v || json_is_null(v)) {
        if (required)
            *rc = pf_error_set(err, PF_ESCHEMA, "%s: required field missing", key);
        return NULL;
    }
    return v;
}

int pf_json_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
                struct pf_error *err)
{
    int rc;
    json_t *v = jsonv__get(obj, key, required, &rc, err);
    json_int_t x;

    if (!v)
        return rc;
    if (!json_is_integer(v))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected an integer", key);
    x = json_integer_value(v);
    if (x < min || x > max)
        return pf_error_set(err, PF_ERANGE, "%s: %lld out of range %lld..%lld", key, (long long)x,
                            (long long)min, (long long)max);
    *out = x;
    return 0;
}

int pf_json_bool(json_t *obj, const char *key, bool required, bool *out, struct pf_error *err)
{
    int rc;
    json_t *v = jsonv__get(obj, key, required, &rc, err);

    if (!v)
        return rc;
    if (!json_is_boolean(v))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected true or false", key);
    *out = json_is_true(v);
    return 0;
}

int pf_json_str(json_t *obj, const char *key, bool required, size_t minlen, size_t maxlen,
                char *out, struct pf_error *err)
{
    int rc;
    json_t *v = jsonv__get(obj, key, required, &rc, err);
    size_t n;

    if (!v)
        return rc;
    if (!json_is_string(v))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected a string", key);
    n = json_string_length(v);
    if (n < minlen || n > maxlen)
        return pf_error_set(err, PF_ERANGE, "%s: length %zu out of range %zu..%zu", key, n, minlen,
                            maxlen);
    if (memchr(json_string_value(v), '\0', n))
        return pf_error_set(err, PF_ESCHEMA, "%s: contains a NUL byte", key);
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    return 0;
}

int pf_json_enum(json_t *obj, const char *key, bool required, const char *const *names, int *out,
                 struct pf_error *err)
{
    int rc;
    json_t *v = jsonv__get(obj, key, required, &rc, err);

    if (!v)
        return rc;
    if (!json_is_string(v))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected a string", key);
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], json_string_value(v)) == 0) {
            *out = i;
            return 0;
        }
    }
    return pf_error_set(err, PF_ERANGE, "%s: unknown value", key);
}

int pf_json_obj(json_t *obj, const char *key, bool required, json_t **out, struct pf_error *err)
{
    int rc;
    json_t *v = jsonv__get(obj, key, required, &rc, err);

    *out = NULL;
    if (!v)
        return rc;
    if (!json_is_object(v))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected an object", key);
    *out = v;
    return 0;
}

int pf_json_open_message(const char *buf, size_t len, size_t max, int want, json_t **out,
                         struct pf_error *err)
{
    int64_t v = 0;
    /* Messages are unsigned telemetry read by posfleet only: a repeated key cannot make two
     * readers disagree, so the duplicate check (a third of jansson's parse time on a health
     * report) is left to documents that are signed or read by others. */
    int rc = jsonv__load(buf, len, max, 0, PF_EPARSE, out, err);

    if (rc)
        return rc;
    rc = pf_json_int(*out, "v", true, 1, 1000, &v, err);
    if (rc == 0 && v != want)
        rc = pf_error_set(err, PF_EVERSION, "v: schema version %lld not supported (want %d)",
                          (long long)v, want);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int pf_json_int32(json_t *obj, const char *key, bool required, int min, int max, int *out,
                  struct pf_error *err)
{
    int64_t x = *out;
    int rc = pf_json_int(obj, key, required, min, max, &x, err);

    if (rc == 0)
        *out = (int)x;
    return rc;
}

int pf_json_u32(json_t *obj, const char *key, bool required, uint32_t *out, struct pf_error *err)
{
    int64_t x = *out;
    int rc = pf_json_int(obj, key, required, 0, UINT32_MAX, &x, err);

    if (rc == 0)
        *out = (uint32_t)x;
    return rc;
}

int pf_json_u53(json_t *obj, const char *key, bool required, uint64_t *out, struct pf_error *err)
{
    int64_t x = (int64_t)*out;
    int rc = pf_json_int(obj, key, required, 0, INT64_C(1) << 53, &x, err);

    if (rc == 0)
        *out = (uint64_t)x;
    return rc;
}

int pf_json_printable(json_t *obj, const char *key, bool required, size_t minlen, size_t maxlen,
                      char *out, struct pf_error *err)
{
    int rc = pf_json_str(obj, key, required, minlen, maxlen, out, err);

    if (rc || !json_object_get(obj, key))
        return rc;
    for (const char *p = out; *p; p++) {
        if (*p < 0x20 || *p > 0x7e)
            return pf_error_set(err, PF_ERANGE, "%s: non-printable character", key);
    }
    return 0;
}

int pf_json_dump(json_t *obj, char *buf, size_t len, size_t *outlen)
{
    size_t n = json_dumpb(obj, buf, len, JSON_COMPACT);

    if (n == 0 || n >= len)
        return PF_ETOOBIG;
    buf[n] = '\0';
    if (outlen)
        *outlen = n;
    return 0;
}
