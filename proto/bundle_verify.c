/*
 * bundle_verify.c - trust decisions on bundle metadata: keyring chain,
 * manifest signature and key, then the installing side's policy.
 */
#include "pf/bundle.h"

#include <stdlib.h>

int pf_manifest_verify(const char *manifest, size_t mlen, const char *msig, size_t msiglen,
                       const struct pf_keyring *kr, const struct pf_policy *pol,
                       struct pf_manifest *out, struct pf_error *err)
{
    const struct pf_keyring_key *key;
    struct pf_ms_sig sig;
    char a[PF_MS_KEYID_HEX + 1];
    int rc;

    if (!manifest)
        return pf_error_set(err, PF_EMISSING_ENTRY, "bundle: manifest.json missing");
    if (!msig || msiglen == 0)
        return pf_error_set(err, PF_ENO_SIG, "manifest: manifest.json.minisig missing or empty");
    if ((rc = pf_ms_sig_parse(msig, msiglen, &sig, err)) != 0)
        return pf_error_prefix(err, "manifest");
    if ((rc = pf_keyring_check_key(kr, sig.key_id, -1, pol->now, &key, err)) != 0)
        return pf_error_prefix(err, "manifest");
    if ((rc = pf_ms_verify(&key->pub, &sig, manifest, mlen, err)) != 0)
        return pf_error_prefix(err, "manifest");
    if ((rc = pf_manifest_parse(manifest, mlen, out, err)) != 0)
        return rc;
    if (memcmp(out->key_id, sig.key_id, PF_MS_KEYID_LEN) != 0) {
        pf_ms_keyid_hex(out->key_id, a);
        rc = pf_error_set(err, PF_EBAD_SIG, "manifest: names key %s but is signed by another", a);
        goto out_clear;
    }
    if (key->role != out->kind) {
        pf_ms_keyid_hex(sig.key_id, a);
        rc = pf_error_set(err, PF_EKEY_ROLE, "manifest: %s bundle signed by %s key %s (%s)",
                          pf_bundle_kind_names[out->kind], pf_key_role_names[key->role], a,
                          key->name);
        goto out_clear;
    }
    if ((rc = pf_manifest_check_policy(out, pol, err)) != 0)
        goto out_clear;
    return 0;
out_clear:
    memset(out, 0, sizeof(*out));
    return rc;
}

int pf_bundle_verify_meta(const char *manifest, size_t mlen, const char *msig, size_t msiglen,
                          const char *keyring, size_t klen, const char *ksig, size_t ksiglen,
                          const struct pf_trust *trust, const struct pf_policy *pol,
                          struct pf_manifest *out, struct pf_keyring *kr_out, struct pf_error *err)
{
    struct pf_keyring *kr = NULL;
    const struct pf_keyring *use = trust->keyring;
    int rc = 0;

    if (!manifest)
        return pf_error_set(err, PF_EMISSING_ENTRY, "bundle: manifest.json missing");
    if (!msig || msiglen == 0)
        return pf_error_set(err, PF_ENO_SIG, "manifest: manifest.json.minisig missing or empty");
    if (!keyring && !trust->keyring)
        return pf_error_set(err, PF_EMISSING_ENTRY, "bundle: keyring.json missing");
    if (keyring) {
        kr = malloc(sizeof(*kr));
        if (!kr)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        /* With a trusted keyring at hand an older embedded one is merely superseded. */
        rc = pf_keyring_verify(keyring, klen, ksig, ksiglen, &trust->root,
                               trust->keyring ? 0 : trust->min_keyring_serial, kr, err);
        if (rc)
            goto out;
        if (!use || kr->serial > use->serial)
            use = kr;
    }
    rc = pf_manifest_verify(manifest, mlen, msig, msiglen, use, pol, out, err);
    if (rc == 0 && kr_out)
        memcpy(kr_out, use, sizeof(*kr_out));
out:
    free(kr);
    return rc;
}
