/*
 * manifest.c - strict parsing, encoding and policy checks of bundle manifests.
 */
#include "pf/manifest.h"
#include "pf/target.h"

#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/jsonv.h"

#define MANIFEST_SCHEMA 1

const char *const pf_bundle_kind_names[] = {"firmware", "fee-table", NULL};

static const char *const manifest__reserved[] = {"manifest.json", "manifest.json.minisig",
                                                 "keyring.json", "keyring.json.minisig", NULL};

bool pf_manifest_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > PF_MANIFEST_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    for (int i = 0; manifest__reserved[i]; i++) {
        if (strcmp(name, manifest__reserved[i]) == 0)
            return false;
    }
    return true;
}

static int manifest__time(json_t *obj, const char *key, int64_t *out, struct pf_error *err)
{
    char s[PF_TIME_STR_LEN + 1];
    int rc = pf_json_str(obj, key, true, PF_TIME_STR_LEN, PF_TIME_STR_LEN, s, err);

    if (rc)
        return rc;
    if (pf_time_parse(s, out) != 0)
        return pf_error_set(err, PF_EPARSE, "%s: not a UTC time like 2026-01-31T00:00:00Z", key);
    return 0;
}

/* A non-empty array of unique short strings. */
static int manifest__strings(json_t *root, const char *key, size_t maxlen, char *out, size_t stride,
                             size_t *count, struct pf_error *err)
{
    json_t *a = json_object_get(root, key), *e;
    size_t i;

    if (!a || json_is_null(a))
        return pf_error_set(err, PF_ESCHEMA, "%s: required field missing", key);
    if (!json_is_array(a))
        return pf_error_set(err, PF_ESCHEMA, "%s: expected an array of strings", key);
    if (json_array_size(a) == 0)
        return pf_error_set(err, PF_ESCHEMA, "%s: must name at least one target", key);
    if (json_array_size(a) > PF_MANIFEST_MAX_TARGETS)
        return pf_error_set(err, PF_ELIMIT, "%s: more than %d entries", key,
                            PF_MANIFEST_MAX_TARGETS);
    json_array_foreach(a, i, e)
    {
        size_t n;
        char *dst = out + i * stride;

        if (!json_is_string(e))
            return pf_error_set(err, PF_ESCHEMA, "%s[%zu]: expected a string", key, i);
        n = json_string_length(e);
        if (n == 0 || n > maxlen || memchr(json_string_value(e), '\0', n))
            return pf_error_set(err, PF_ERANGE, "%s[%zu]: length must be 1..%zu", key, i, maxlen);
        memcpy(dst, json_string_value(e), n);
        dst[n] = '\0';
        for (size_t j = 0; j < i; j++) {
            if (strcmp(out + j * stride, dst) == 0)
                return pf_error_set(err, PF_ESCHEMA, "%s[%zu]: duplicate", key, i);
        }
    }
    *count = i;
    return 0;
}

static int manifest__payloads(json_t *root, struct pf_manifest *m, struct pf_error *err)
{
    json_t *a = json_object_get(root, "payloads"), *e;
    size_t i;
    int rc;

    if (!a || json_is_null(a))
        return pf_error_set(err, PF_ESCHEMA, "payloads: required field missing");
    if (!json_is_array(a))
        return pf_error_set(err, PF_ESCHEMA, "payloads: expected an array");
    if (json_array_size(a) == 0)
        return pf_error_set(err, PF_ESCHEMA, "payloads: at least one payload required");
    if (json_array_size(a) > PF_MANIFEST_MAX_PAYLOADS)
        return pf_error_set(err, PF_ELIMIT, "payloads: more than %d payloads",
                            PF_MANIFEST_MAX_PAYLOADS);
    json_array_foreach(a, i, e)
    {
        struct pf_manifest_payload *p = &m->payloads[i];
        char hex[PF_B2_HEX_LEN + 1];
        int64_t size;

        if (!json_is_object(e))
            return pf_error_set(err, PF_ESCHEMA, "payloads[%zu]: expected an object", i);
        if ((rc = pf_json_str(e, "name", true, 1, PF_MANIFEST_NAME_MAX, p->name, err)) != 0 ||
            (rc = pf_json_int(e, "size", true, 0, INT64_MAX, &size, err)) != 0 ||
            (rc = pf_json_str(e, "blake2b_256", true, PF_B2_HEX_LEN, PF_B2_HEX_LEN, hex, err)) != 0)
            return pf_error_prefix(err, "payloads[%zu]", i);
        if (!pf_manifest_name_valid(p->name))
            return pf_error_set(err, PF_EUNSAFE_PATH,
                                "payloads[%zu]: name '%s' is not a plain file name", i, p->name);
        if (pf_b2_from_hex(hex, p->digest) != 0)
            return pf_error_set(err, PF_EPARSE,
                                "payloads[%zu]: blake2b_256: not 64 lowercase hex digits", i);
        p->size = (uint64_t)size;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m->payloads[j].name, p->name) == 0)
                return pf_error_set(err, PF_ESCHEMA, "payloads[%zu]: duplicate name '%s'", i,
                                    p->name);
        }
    }
    m->npayloads = i;
    return 0;
}

int pf_manifest_parse(const char *buf, size_t len, struct pf_manifest *m, struct pf_error *err)
{
    json_t *root = NULL;
    int64_t schema = 0;
    char idhex[PF_MS_KEYID_HEX + 1];
    int rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_parse_object(buf, len, PF_MANIFEST_MAX_BYTES, &root, err);
    if (rc == PF_ETOOBIG)
        rc = pf_error_set(err, PF_ELIMIT, "%zu bytes exceeds the limit of %d", len,
                          PF_MANIFEST_MAX_BYTES);
    if (rc)
        goto out;
    if ((rc = pf_json_int(root, "schema", true, 1, 1000, &schema, err)) != 0)
        goto out_decref;
    if (schema != MANIFEST_SCHEMA) {
        rc = pf_error_set(err, PF_EVERSION, "schema: version %lld not supported",
                          (long long)schema);
        goto out_decref;
    }
    if ((rc = pf_json_enum(root, "kind", true, pf_bundle_kind_names, &m->kind, err)) != 0 ||
        (rc = pf_json_str(root, "version", true, 1, PF_VERSION_MAX, m->version, err)) != 0)
        goto out_decref;
    if ((rc = pf_version_check(m->version)) != 0) {
        rc = rc == PF_ERANGE
                     ? pf_error_set(err, PF_ERANGE,
                                    "version: '%s' has a leading zero (one version, one "
                                    "spelling)",
                                    m->version)
                     : pf_error_set(err, PF_EPARSE, "version: '%s' is not like 1.4.2", m->version);
        goto out_decref;
    }
    if ((rc = manifest__strings(root, "models", PF_MANIFEST_NAME_MAX, &m->models[0][0],
                                sizeof(m->models[0]), &m->nmodels, err)) != 0 ||
        (rc = manifest__strings(root, "hw_revs", PF_MANIFEST_HWREV_MAX, &m->hw_revs[0][0],
                                sizeof(m->hw_revs[0]), &m->nhw_revs, err)) != 0 ||
        (rc = manifest__time(root, "created", &m->created, err)) != 0 ||
        (rc = manifest__time(root, "expires", &m->expires, err)) != 0 ||
        (rc = pf_json_str(root, "key_id", true, PF_MS_KEYID_HEX, PF_MS_KEYID_HEX, idhex, err)) !=
                0 ||
        (rc = pf_json_str(root, "notes", false, 0, PF_MANIFEST_NOTES_MAX, m->notes, err)) != 0)
        goto out_decref;
    if ((rc = pf_ms_keyid_parse_canonical(idhex, m->key_id)) != 0) {
        rc = pf_error_set(err, rc,
                          rc == PF_ERANGE
                                  ? "key_id: '%s' is not canonical (16 upper-case hex digits)"
                                  : "key_id: '%s' is not 16 hex digits",
                          idhex);
        goto out_decref;
    }
    if (m->expires <= m->created) {
        rc = pf_error_set(err, PF_ERANGE, "expires: not after created");
        goto out_decref;
    }
    rc = manifest__payloads(root, m, err);
out_decref:
    json_decref(root);
out:
    if (rc) {
        pf_error_prefix(err, "manifest");
        memset(m, 0, sizeof(*m));
    }
    return rc;
}

int pf_manifest_parse_file(const char *path, struct pf_manifest *m, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, PF_MANIFEST_MAX_BYTES, &buf, &len);

    if (rc)
        return pf_error_set(err, rc == PF_ETOOBIG ? PF_ELIMIT : rc, "%s: %s", path,
                            pf_strerror(rc));
    rc = pf_manifest_parse(buf, len, m, err);
    free(buf);
    return rc;
}

static json_t *manifest__time_json(int64_t t)
{
    char s[PF_TIME_STR_LEN + 1];

    if (pf_time_format(t, s) != 0)
        return NULL;
    return json_string(s);
}

int pf_manifest_encode(const struct pf_manifest *m, char **out, size_t *len, struct pf_error *err)
{
    json_t *root = json_object(), *models = json_array(), *revs = json_array(),
           *payloads = json_array();
    char id[PF_MS_KEYID_HEX + 1], *s;
    int rc = 0;

    if (!root || !models || !revs || !payloads) {
        rc = pf_error_set(err, PF_ENOMEM, "manifest: out of memory");
        goto out;
    }
    pf_ms_keyid_hex(m->key_id, id);
    json_object_set_new(root, "schema", json_integer(MANIFEST_SCHEMA));
    json_object_set_new(root, "kind", json_string(pf_bundle_kind_names[m->kind]));
    json_object_set_new(root, "version", json_string(m->version));
    for (size_t i = 0; i < m->nmodels; i++)
        json_array_append_new(models, json_string(m->models[i]));
    for (size_t i = 0; i < m->nhw_revs; i++)
        json_array_append_new(revs, json_string(m->hw_revs[i]));
    json_object_set(root, "models", models);
    json_object_set(root, "hw_revs", revs);
    json_object_set_new(root, "created", manifest__time_json(m->created));
    json_object_set_new(root, "expires", manifest__time_json(m->expires));
    json_object_set_new(root, "key_id", json_string(id));
    json_object_set_new(root, "notes", json_string(m->notes));
    for (size_t i = 0; i < m->npayloads; i++) {
        char hex[PF_B2_HEX_LEN + 1];
        json_t *o = json_object();
        pf_b2_hex(m->payloads[i].digest, hex);
        json_object_set_new(o, "name", json_string(m->payloads[i].name));
        json_object_set_new(o, "size", json_integer((json_int_t)m->payloads[i].size));
        json_object_set_new(o, "blake2b_256", json_string(hex));
        json_array_append_new(payloads, o);
    }
    json_object_set(root, "payloads", payloads);
    s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) {
        rc = pf_error_set(err, PF_EINVAL, "manifest: cannot serialise (invalid field)");
        goto out;
    }
    *len = strlen(s);
    *out = malloc(*len + 2);
    if (!*out) {
        free(s);
        rc = pf_error_set(err, PF_ENOMEM, "manifest: out of memory");
        goto out;
    }
    memcpy(*out, s, *len);
    (*out)[(*len)++] = '\n';
    (*out)[*len] = '\0';
    free(s);
out:
    json_decref(models);
    json_decref(revs);
    json_decref(payloads);
    json_decref(root);
    return rc;
}

const struct pf_manifest_payload *pf_manifest_payload_find(const struct pf_manifest *m,
                                                           const char *name)
{
    for (size_t i = 0; i < m->npayloads; i++) {
        if (strcmp(m->payloads[i].name, name) == 0)
            return &m->payloads[i];
    }
    return NULL;
}

int pf_manifest_check_policy(const struct pf_manifest *m, const struct pf_policy *pol,
                             struct pf_error *err)
{
    uint64_t max = pol->max_payload_size ? pol->max_payload_size : PF_MANIFEST_DEFAULT_MAX_PAYLOAD;
    char t[PF_TIME_STR_LEN + 1];

    if (pol->kind >= 0 && m->kind != pol->kind)
        return pf_error_set(err, PF_EINVAL, "manifest: kind %s, expected %s",
                            pf_bundle_kind_names[m->kind], pf_bundle_kind_names[pol->kind]);
    if (pol->now > m->expires) {
        if (pf_time_format(m->expires, t) != 0)
            t[0] = '\0';
        return pf_error_set(err, PF_EEXPIRED, "manifest: expired at %s", t);
    }
    if (pol->now > 0 && m->created > pol->now + PF_MANIFEST_CREATED_SKEW) {
        if (pf_time_format(m->created, t) != 0)
            t[0] = '\0';
        return pf_error_set(err, PF_ERANGE,
                            "manifest: created %s is in the future (more than %d h ahead of this "
                            "clock)",
                            t, PF_MANIFEST_CREATED_SKEW / 3600);
    }
    if (pol->model || pol->hw_rev) {
        struct pf_target_list models =
                pf_target_array(&m->models[0][0], m->nmodels, sizeof(m->models[0]));
        struct pf_target_list revs =
                pf_target_array(&m->hw_revs[0][0], m->nhw_revs, sizeof(m->hw_revs[0]));
        int trc = pf_target_match(&models, &revs, pol->model, pol->hw_rev ? pol->hw_rev : "");

        if (trc == PF_EMODEL)
            return pf_error_set(err, PF_EMODEL, "manifest: not built for model %s", pol->model);
        if (trc == PF_EHWREV)
            return pf_error_set(err, PF_EHWREV, "manifest: not built for hardware revision %s",
                                pol->hw_rev ? pol->hw_rev : "");
    }
    if (pol->installed_version && !pf_version_valid(pol->installed_version))
        return pf_error_set(err, PF_EINVAL, "policy: installed version '%s' is not valid",
                            pol->installed_version);
    if (pol->installed_version && pf_version_cmp(m->version, pol->installed_version) <= 0)
        return pf_error_set(err, PF_EROLLBACK, "manifest: version %s is not above installed %s",
                            m->version, pol->installed_version);
    for (size_t i = 0; i < m->npayloads; i++) {
        if (m->payloads[i].size > max)
            return pf_error_set(err, PF_ELIMIT,
                                "manifest: payload %s: %llu bytes exceeds the limit of %llu",
                                m->payloads[i].name, (unsigned long long)m->payloads[i].size,
                                (unsigned long long)max);
    }
    return 0;
}
