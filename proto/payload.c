/*
 * payload.c - streaming size and BLAKE2b-256 check of one payload.
 */
#include "pf/bundle.h"

#include <stdlib.h>

void pf_payload_verifier_init(struct pf_payload_verifier *v, const struct pf_manifest_payload *p)
{
    /* sodium_init() picks the fastest BLAKE2b implementation for this CPU. */
    if (sodium_init() < 0)
        abort();
    crypto_generichash_init(&v->hash, NULL, 0, PF_B2_LEN);
    v->size = p->size;
    v->seen = 0;
    memcpy(v->digest, p->digest, PF_B2_LEN);
    snprintf(v->name, sizeof(v->name), "%s", p->name);
}

struct pf_payload_verifier *pf_payload_verifier_new(const struct pf_manifest_payload *p)
{
    size_t sz = (sizeof(struct pf_payload_verifier) + 63) & ~(size_t)63;
    struct pf_payload_verifier *v = aligned_alloc(64, sz);

    if (v)
        pf_payload_verifier_init(v, p);
    return v;
}

void pf_payload_verifier_free(struct pf_payload_verifier *v)
{
    free(v);
}

int pf_payload_verifier_update(struct pf_payload_verifier *v, const void *buf, size_t len,
                               struct pf_error *err)
{
    if (len > v->size - v->seen)
        return pf_error_set(err, PF_EEXCESS, "payload %s: more than the declared %llu bytes",
                            v->name, (unsigned long long)v->size);
    crypto_generichash_update(&v->hash, buf, len);
    v->seen += len;
    return 0;
}

int pf_payload_verifier_final(struct pf_payload_verifier *v, struct pf_error *err)
{
    uint8_t got[PF_B2_LEN];

    if (v->seen != v->size)
        return pf_error_set(err, PF_ESIZE, "payload %s: %llu bytes, declared %llu", v->name,
                            (unsigned long long)v->seen, (unsigned long long)v->size);
    crypto_generichash_final(&v->hash, got, PF_B2_LEN);
    if (sodium_memcmp(got, v->digest, PF_B2_LEN) != 0) {
        char hex[PF_B2_HEX_LEN + 1];
        pf_b2_hex(got, hex);
        return pf_error_set(err, PF_EDIGEST,
                            "payload %s: BLAKE2b-256 %s does not match the manifest", v->name, hex);
    }
    return 0;
}
