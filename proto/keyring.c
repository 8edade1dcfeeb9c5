/*
 * keyring.c - parsing, encoding and verification of the signed keyring.
 */
#include "pf/keyring.h"

#include <sodium.h>

#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/jsonv.h"

#define KEYRING_SCHEMA      1
#define KEYRING_ENDORSE_TAG "posfleet-root-endorsement-v1"

const char *const pf_key_role_names[] = {"firmware", "fee-table", NULL};

static int keyring__time(json_t *obj, const char *key, int64_t *out, struct pf_error *err)
{
    char s[PF_TIME_STR_LEN + 1];
    int rc = pf_json_str(obj, key, true, PF_TIME_STR_LEN, PF_TIME_STR_LEN, s, err);

    if (rc)
        return rc;
    if (pf_time_parse(s, out) != 0)
        return pf_error_set(err, PF_EPARSE, "%s: not a UTC time like 2026-01-31T00:00:00Z", key);
    return 0;
}

static int keyring__pubkey(json_t *obj, struct pf_ms_pubkey *pub, struct pf_error *err)
{
    char b64[PF_MS_PK_B64_LEN + 1], idhex[PF_MS_KEYID_HEX + 1];
    uint8_t id[PF_MS_KEYID_LEN];
    int rc = pf_json_str(obj, "public_key", true, PF_MS_PK_B64_LEN, PF_MS_PK_B64_LEN, b64, err);

    if (rc)
        return rc;
    if (pf_ms_pubkey_from_b64(b64, pub, err) != 0)
        return pf_error_set(err, PF_EPARSE, "public_key: not a minisign public key");
    idhex[0] = '\0';
    rc = pf_json_str(obj, "key_id", false, PF_MS_KEYID_HEX, PF_MS_KEYID_HEX, idhex, err);
    if (rc)
        return rc;
    if (idhex[0] && (rc = pf_ms_keyid_parse_canonical(idhex, id)) != 0)
        return pf_error_set(err, rc,
                            rc == PF_ERANGE ? "key_id: '%s' is not canonical (16 upper-case hex "
                                              "digits)"
                                            : "key_id: '%s' is not 16 hex digits",
                            idhex);
    if (idhex[0] && memcmp(id, pub->key_id, 8) != 0)
        return pf_error_set(err, PF_ESCHEMA, "key_id: does not match public_key");
    return 0;
}

static json_t *keyring__array(json_t *root, const char *key, size_t max, int *rc,
                              struct pf_error *err)
{
    json_t *a = json_object_get(root, key);

    *rc = 0;
    if (!a || json_is_null(a))
        return NULL;
    if (!json_is_array(a)) {
        *rc = pf_error_set(err, PF_ESCHEMA, "%s: expected an array", key);
        return NULL;
    }
    if (json_array_size(a) > max) {
        *rc = pf_error_set(err, PF_ELIMIT, "%s: more than %zu entries", key, max);
        return NULL;
    }
    return a;
}

static int keyring__roots(json_t *root, struct pf_keyring *kr, struct pf_error *err)
{
    int rc;
    json_t *a = keyring__array(root, "roots", PF_KEYRING_MAX_ROOTS, &rc, err), *e;
    size_t i;

    if (rc)
        return rc;
    if (!a || json_array_size(a) == 0)
        return pf_error_set(err, PF_ESCHEMA, "roots: at least one root key required");
    json_array_foreach(a, i, e)
    {
        struct pf_keyring_root *r = &kr->roots[i];
        char b64[100];
        size_t got = 0;
        const char *end = NULL;

        if (!json_is_object(e))
            return pf_error_set(err, PF_ESCHEMA, "roots[%zu]: expected an object", i);
        if ((rc = keyring__pubkey(e, &r->pub, err)) != 0)
            return pf_error_prefix(err, "roots[%zu]", i);
        b64[0] = '\0';
        if ((rc = pf_json_str(e, "endorsement", false, 88, 88, b64, err)) != 0)
            return pf_error_prefix(err, "roots[%zu]", i);
        r->endorsed = b64[0] != '\0';
        if (r->endorsed && (sodium_base642bin(r->endorsement, 64, b64, 88, NULL, &got, &end,
                                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
                            got != 64 || end != b64 + 88))
            return pf_error_set(err, PF_EPARSE, "roots[%zu]: endorsement: malformed base64", i);
        if (i > 0 && !r->endorsed)
            return pf_error_set(err, PF_EROOT_CHAIN,
                                "roots[%zu]: not endorsed by the previous root", i);
        kr->nroots = i + 1;
    }
    return 0;
}

static int keyring__keys(json_t *root, struct pf_keyring *kr, struct pf_error *err)
{
    int rc;
    json_t *a = keyring__array(root, "keys", PF_KEYRING_MAX_KEYS, &rc, err), *e;
    size_t i;

    if (rc || !a)
        return rc;
    json_array_foreach(a, i, e)
    {
        struct pf_keyring_key *k = &kr->keys[i];

        if (!json_is_object(e))
            return pf_error_set(err, PF_ESCHEMA, "keys[%zu]: expected an object", i);
        if ((rc = pf_json_str(e, "name", true, 1, PF_KEY_NAME_MAX, k->name, err)) != 0 ||
            (rc = pf_json_enum(e, "role", true, pf_key_role_names, &k->role, err)) != 0 ||
            (rc = keyring__pubkey(e, &k->pub, err)) != 0 ||
            (rc = keyring__time(e, "not_before", &k->not_before, err)) != 0 ||
            (rc = keyring__time(e, "not_after", &k->not_after, err)) != 0)
            return pf_error_prefix(err, "keys[%zu]", i);
        if (k->not_after < k->not_before)
            return pf_error_set(err, PF_ERANGE, "keys[%zu]: not_after is before not_before", i);
        for (size_t j = 0; j < i; j++) {
            if (memcmp(kr->keys[j].pub.key_id, k->pub.key_id, 8) == 0)
                return pf_error_set(err, PF_ESCHEMA, "keys[%zu]: duplicate key id", i);
        }
        kr->nkeys = i + 1;
    }
    return 0;
}

static int keyring__revoked(json_t *root, struct pf_keyring *kr, struct pf_error *err)
{
    int rc;
    json_t *a = keyring__array(root, "revoked", PF_KEYRING_MAX_REVOKED, &rc, err), *e;
    size_t i;

    if (rc || !a)
        return rc;
    json_array_foreach(a, i, e)
    {
        struct pf_keyring_revocation *r = &kr->revoked[i];
        char idhex[PF_MS_KEYID_HEX + 1];

        if (!json_is_object(e))
            return pf_error_set(err, PF_ESCHEMA, "revoked[%zu]: expected an object", i);
        r->reason[0] = '\0';
        if ((rc = pf_json_str(e, "key_id", true, PF_MS_KEYID_HEX, PF_MS_KEYID_HEX, idhex, err)) !=
                    0 ||
            (rc = keyring__time(e, "revoked_at", &r->revoked_at, err)) != 0 ||
            (rc = pf_json_str(e, "reason", false, 0, PF_KEY_REASON_MAX, r->reason, err)) != 0)
            return pf_error_prefix(err, "revoked[%zu]", i);
        if ((rc = pf_ms_keyid_parse_canonical(idhex, r->key_id)) != 0)
            return pf_error_set(err, rc,
                                rc == PF_ERANGE ? "revoked[%zu]: key_id: '%s' is not canonical (16 "
                                                  "upper-case hex digits)"
                                                : "revoked[%zu]: key_id: '%s' is not 16 hex digits",
                                i, idhex);
        kr->nrevoked = i + 1;
    }
    return 0;
}

int pf_keyring_parse(const char *buf, size_t len, struct pf_keyring *kr, struct pf_error *err)
{
    json_t *root = NULL;
    int64_t schema = 0;
    int rc;

    memset(kr, 0, sizeof(*kr));
    rc = pf_json_parse_object(buf, len, PF_KEYRING_MAX_BYTES, &root, err);
    if (rc == PF_ETOOBIG)
        rc = pf_error_set(err, PF_ELIMIT, "%zu bytes exceeds the limit of %d", len,
                          PF_KEYRING_MAX_BYTES);
    if (rc)
        goto out;
    if ((rc = pf_json_int(root, "schema", true, 1, 1000, &schema, err)) != 0)
        goto out_decref;
    if (schema != KEYRING_SCHEMA) {
        rc = pf_error_set(err, PF_EVERSION, "schema: version %lld not supported",
                          (long long)schema);
        goto out_decref;
    }
    if ((rc = pf_json_int(root, "serial", true, 1, INT64_C(1) << 53, &kr->serial, err)) != 0 ||
        (rc = keyring__time(root, "issued", &kr->issued, err)) != 0 ||
        (rc = keyring__roots(root, kr, err)) != 0 || (rc = keyring__keys(root, kr, err)) != 0 ||
        (rc = keyring__revoked(root, kr, err)) != 0)
        goto out_decref;
out_decref:
    json_decref(root);
out:
    if (rc) {
        pf_error_prefix(err, "keyring");
        memset(kr, 0, sizeof(*kr));
    }
    return rc;
}

int pf_keyring_parse_file(const char *path, struct pf_keyring *kr, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, PF_KEYRING_MAX_BYTES, &buf, &len);

    if (rc)
        return pf_error_set(err, rc == PF_ETOOBIG ? PF_ELIMIT : rc, "%s: %s", path,
                            pf_strerror(rc));
    rc = pf_keyring_parse(buf, len, kr, err);
    free(buf);
    return rc;
}

static json_t *keyring__time_json(int64_t t)
{
    char s[PF_TIME_STR_LEN + 1];

    if (pf_time_format(t, s) != 0)
        return NULL;
    return json_string(s);
}

static json_t *keyring__pub_json(json_t *o, const struct pf_ms_pubkey *pub)
{
    char b64[PF_MS_PK_B64_LEN + 1], id[PF_MS_KEYID_HEX + 1];

    pf_ms_pubkey_b64(pub, b64);
    pf_ms_keyid_hex(pub->key_id, id);
    json_object_set_new(o, "key_id", json_string(id));
    json_object_set_new(o, "public_key", json_string(b64));
    return o;
}

int pf_keyring_encode(const struct pf_keyring *kr, char **out, size_t *len, struct pf_error *err)
{
    json_t *root = json_object(), *roots = json_array(), *keys = json_array(),
           *revoked = json_array();
    char *s;
    int rc = 0;

    if (!root || !roots || !keys || !revoked) {
        rc = pf_error_set(err, PF_ENOMEM, "keyring: out of memory");
        goto out;
    }
    json_object_set_new(root, "schema", json_integer(KEYRING_SCHEMA));
    json_object_set_new(root, "serial", json_integer(kr->serial));
    json_object_set_new(root, "issued", keyring__time_json(kr->issued));
    for (size_t i = 0; i < kr->nroots; i++) {
        json_t *o = keyring__pub_json(json_object(), &kr->roots[i].pub);
        if (kr->roots[i].endorsed) {
            char b64[89];
            sodium_bin2base64(b64, sizeof(b64), kr->roots[i].endorsement, 64,
                              sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(o, "endorsement", json_string(b64));
        }
        json_array_append_new(roots, o);
    }
    for (size_t i = 0; i < kr->nkeys; i++) {
        const struct pf_keyring_key *k = &kr->keys[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(k->name));
        json_object_set_new(o, "role", json_string(pf_key_role_names[k->role]));
        keyring__pub_json(o, &k->pub);
        json_object_set_new(o, "not_before", keyring__time_json(k->not_before));
        json_object_set_new(o, "not_after", keyring__time_json(k->not_after));
        json_array_append_new(keys, o);
    }
    for (size_t i = 0; i < kr->nrevoked; i++) {
        const struct pf_keyring_revocation *r = &kr->revoked[i];
        char id[PF_MS_KEYID_HEX + 1];
        json_t *o = json_object();
        pf_ms_keyid_hex(r->key_id, id);
        json_object_set_new(o, "key_id", json_string(id));
        json_object_set_new(o, "revoked_at", keyring__time_json(r->revoked_at));
        json_object_set_new(o, "reason", json_string(r->reason));
        json_array_append_new(revoked, o);
    }
    json_object_set(root, "roots", roots);
    json_object_set(root, "keys", keys);
    json_object_set(root, "revoked", revoked);
    s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) {
        rc = pf_error_set(err, PF_ENOMEM, "keyring: cannot serialise");
        goto out;
    }
    *len = strlen(s);
    /* Documents end with a newline so that stock tools show them cleanly. */
    *out = malloc(*len + 2);
    if (!*out) {
        free(s);
        rc = pf_error_set(err, PF_ENOMEM, "keyring: out of memory");
        goto out;
    }
    memcpy(*out, s, *len);
    (*out)[(*len)++] = '\n';
    (*out)[*len] = '\0';
    free(s);
out:
    json_decref(roots);
    json_decref(keys);
    json_decref(revoked);
    json_decref(root);
    return rc;
}

static size_t keyring__endorse_msg(const struct pf_ms_pubkey *old_pub,
                                   const struct pf_ms_pubkey *new_pub, uint8_t *msg)
{
    char a[PF_MS_PK_B64_LEN + 1], b[PF_MS_PK_B64_LEN + 1];
    size_t tl = sizeof(KEYRING_ENDORSE_TAG); /* includes the NUL separator */

    pf_ms_pubkey_b64(old_pub, a);
    pf_ms_pubkey_b64(new_pub, b);
    memcpy(msg, KEYRING_ENDORSE_TAG, tl);
    memcpy(msg + tl, a, PF_MS_PK_B64_LEN);
    memcpy(msg + tl + PF_MS_PK_B64_LEN, b, PF_MS_PK_B64_LEN);
    return tl + 2 * PF_MS_PK_B64_LEN;
}

void pf_keyring_endorse(const struct pf_ms_seckey *old_sec, const struct pf_ms_pubkey *new_pub,
                        uint8_t sig[64])
{
    uint8_t msg[sizeof(KEYRING_ENDORSE_TAG) + 2 * PF_MS_PK_B64_LEN];
    struct pf_ms_pubkey old_pub;

    pf_ms_seckey_public(old_sec, &old_pub);
    pf_ms_sign_raw(old_sec, msg, keyring__endorse_msg(&old_pub, new_pub, msg), sig);
}

bool pf_keyring_endorsement_ok(const struct pf_ms_pubkey *old_pub,
                               const struct pf_ms_pubkey *new_pub, const uint8_t sig[64])
{
    uint8_t msg[sizeof(KEYRING_ENDORSE_TAG) + 2 * PF_MS_PK_B64_LEN];

    return pf_ms_verify_raw(old_pub, msg, keyring__endorse_msg(old_pub, new_pub, msg), sig);
}

const struct pf_ms_pubkey *pf_keyring_current_root(const struct pf_keyring *kr)
{
    return kr->nroots ? &kr->roots[kr->nroots - 1].pub : NULL;
}

int pf_keyring_verify(const char *buf, size_t len, const char *sig, size_t siglen,
                      const struct pf_ms_pubkey *anchor, int64_t min_serial, struct pf_keyring *kr,
                      struct pf_error *err)
{
    struct pf_ms_sig s;
    char id[PF_MS_KEYID_HEX + 1];
    size_t i, start = SIZE_MAX;
    int rc;

    if (!sig || siglen == 0)
        return pf_error_set(err, PF_ENO_SIG, "keyring: keyring.json.minisig missing");
    if ((rc = pf_keyring_parse(buf, len, kr, err)) != 0)
        return rc;
    for (i = 0; i < kr->nroots; i++) {
        if (pf_ms_pubkey_equal(&kr->roots[i].pub, anchor)) {
            start = i;
            break;
        }
    }
    if (start == SIZE_MAX) {
        pf_ms_keyid_hex(anchor->key_id, id);
        rc = pf_error_set(err, PF_EROOT_CHAIN, "keyring: trusted root %s is not in the root chain",
                          id);
        goto out_clear;
    }
    for (i = start + 1; i < kr->nroots; i++) {
        if (!kr->roots[i].endorsed ||
            !pf_keyring_endorsement_ok(&kr->roots[i - 1].pub, &kr->roots[i].pub,
                                       kr->roots[i].endorsement)) {
            pf_ms_keyid_hex(kr->roots[i].pub.key_id, id);
            rc = pf_error_set(err, PF_EROOT_CHAIN,
                              "keyring: root %s is not endorsed by the root before it", id);
            goto out_clear;
        }
    }
    if ((rc = pf_ms_sig_parse(sig, siglen, &s, err)) != 0 ||
        (rc = pf_ms_verify(pf_keyring_current_root(kr), &s, buf, len, err)) != 0) {
        pf_error_prefix(err, "keyring");
        goto out_clear;
    }
    if (kr->serial < min_serial) {
        rc = pf_error_set(err, PF_EROLLBACK, "keyring: serial %lld is older than the trusted %lld",
                          (long long)kr->serial, (long long)min_serial);
        goto out_clear;
    }
    return 0;
out_clear:
    memset(kr, 0, sizeof(*kr));
    return rc;
}

int pf_keyring_check_key(const struct pf_keyring *kr, const uint8_t key_id[PF_MS_KEYID_LEN],
                         int role, int64_t now, const struct pf_keyring_key **out,
                         struct pf_error *err)
{
    const struct pf_keyring_key *k = NULL;
    char id[PF_MS_KEYID_HEX + 1], a[PF_TIME_STR_LEN + 1], b[PF_TIME_STR_LEN + 1];

    pf_ms_keyid_hex(key_id, id);
    for (size_t i = 0; i < kr->nrevoked; i++) {
        if (memcmp(kr->revoked[i].key_id, key_id, 8) == 0)
            return pf_error_set(err, PF_EKEY_REVOKED, "signing key %s was revoked%s%s", id,
                                kr->revoked[i].reason[0] ? ": " : "", kr->revoked[i].reason);
    }
    for (size_t i = 0; i < kr->nkeys; i++) {
        if (memcmp(kr->keys[i].pub.key_id, key_id, 8) == 0) {
            k = &kr->keys[i];
            break;
        }
    }
    if (!k)
        return pf_error_set(err, PF_EKEY_UNKNOWN, "signing key %s is not in the keyring", id);
    if (now < k->not_before || now > k->not_after) {
        if (pf_time_format(k->not_before, a) != 0)
            a[0] = '\0';
        if (pf_time_format(k->not_after, b) != 0)
            b[0] = '\0';
        return pf_error_set(err, PF_EKEY_EXPIRED, "signing key %s (%s) is valid only %s..%s", id,
                            k->name, a, b);
    }
    if (role >= 0 && k->role != role)
        return pf_error_set(err, PF_EKEY_ROLE, "signing key %s (%s) has role %s, not %s", id,
                            k->name, pf_key_role_names[k->role], pf_key_role_names[role]);
    if (out)
        *out = k;
    return 0;
}
