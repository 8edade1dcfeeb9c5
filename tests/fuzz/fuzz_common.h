/*
 * fuzz_common.h - what every fuzz target shares: deterministic keys (derived
 * from fixed labels, NEVER FOR PRODUCTION), the trust and policy the bundle
 * target verifies with, and generators of valid seed inputs, so that both the
 * libFuzzer targets and the smoke driver start from inputs that reach deep.
 *
 * Each target defines LLVMFuzzerTestOneInput() and
 * fuzz_seeds(add, ctx), which hands its seed inputs to add().
 */
#ifndef PF_FUZZ_COMMON_H
#define PF_FUZZ_COMMON_H

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pf/bundle.h"
#include "pf/bundle_time.h"
#include "pf/keyring.h"
#include "pf/manifest.h"
#include "pf/minisign.h"

#define FUZZ_NOW     INT64_C(1795737600) /* 2026-11-27T00:00:00Z */
#define FUZZ_SIG_SEP "\n--signature--\n"

typedef void (*fuzz_add_fn)(const void *buf, size_t len, void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_seeds(fuzz_add_fn add, void *ctx);

static inline void fuzz_key(const char *label, struct pf_ms_pubkey *pub, struct pf_ms_seckey *sec)
{
    uint8_t seed[32];

    if (sodium_init() < 0)
        abort();
    crypto_generichash(seed, sizeof(seed), (const unsigned char *)label, strlen(label), NULL, 0);
    crypto_sign_seed_keypair(pub->pk, sec->sk, seed);
    memcpy(pub->key_id, seed, PF_MS_KEYID_LEN);
    memcpy(sec->key_id, seed, PF_MS_KEYID_LEN);
}

static inline struct pf_trust fuzz_trust(void)
{
    struct pf_trust t;
    struct pf_ms_seckey sec;

    memset(&t, 0, sizeof(t));
    fuzz_key("posfleet-fuzz-root", &t.root, &sec);
    sodium_memzero(&sec, sizeof(sec));
    return t;
}

static inline struct pf_policy fuzz_policy(void)
{
    struct pf_policy p = {.kind = -1,
                          .model = "PX-200",
                          .hw_rev = "B",
                          .installed_version = "1.0.0",
                          .now = FUZZ_NOW};
    return p;
}

/* Keyring document (heap) and signature by the fuzz root: two roots, two keys, a revocation. */
static inline char *fuzz_keyring(size_t *len, char *sig, size_t *siglen)
{
    struct pf_keyring *kr = calloc(1, sizeof(*kr));
    struct pf_ms_seckey root, root2, sec;
    char *doc = NULL;

    if (!kr)
        abort();
    kr->serial = 3;
    kr->issued = FUZZ_NOW - 86400;
    fuzz_key("posfleet-fuzz-root", &kr->roots[0].pub, &root);
    fuzz_key("posfleet-fuzz-root-2", &kr->roots[1].pub, &root2);
    kr->roots[1].endorsed = true;
    pf_keyring_endorse(&root, &kr->roots[1].pub, kr->roots[1].endorsement);
    kr->nroots = 2;
    fuzz_key("posfleet-fuzz-fw", &kr->keys[0].pub, &sec);
    snprintf(kr->keys[0].name, sizeof(kr->keys[0].name), "fw");
    kr->keys[0].role = PF_ROLE_FIRMWARE;
    fuzz_key("posfleet-fuzz-fee", &kr->keys[1].pub, &sec);
    snprintf(kr->keys[1].name, sizeof(kr->keys[1].name), "fee");
    kr->keys[1].role = PF_ROLE_FEETABLE;
    for (int i = 0; i < 2; i++) {
        kr->keys[i].not_before = 946684800; /* 2000 */
        kr->keys[i].not_after = 4102444800; /* 2100 */
    }
    kr->nkeys = 2;
    memset(kr->revoked[0].key_id, 0x42, PF_MS_KEYID_LEN);
    kr->revoked[0].revoked_at = FUZZ_NOW - 3600;
    snprintf(kr->revoked[0].reason, sizeof(kr->revoked[0].reason), "fuzz");
    kr->nrevoked = 1;
    if (pf_keyring_encode(kr, &doc, len, NULL) != 0 ||
        pf_ms_sign(&root2, doc, *len, "fuzz keyring", sig, PF_MS_SIG_MAX, siglen, NULL) != 0)
        abort();
    sodium_memzero(&root, sizeof(root));
    sodium_memzero(&root2, sizeof(root2));
    sodium_memzero(&sec, sizeof(sec));
    free(kr);
    return doc;
}

/* Manifest document (heap) for the given payloads, signed by the fuzz firmware key. */
static inline char *fuzz_manifest(const char *const *names, const char *const *datas, size_t n,
                                  size_t *len, char *sig, size_t *siglen)
{
    struct pf_manifest *m = calloc(1, sizeof(*m));
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    char *doc = NULL;

    if (!m)
        abort();
    fuzz_key("posfleet-fuzz-fw", &pub, &sec);
    m->kind = PF_KIND_FIRMWARE;
    snprintf(m->version, sizeof(m->version), "1.2.3");
    snprintf(m->models[0], sizeof(m->models[0]), "PX-200");
    m->nmodels = 1;
    snprintf(m->hw_revs[0], sizeof(m->hw_revs[0]), "B");
    m->nhw_revs = 1;
    m->created = FUZZ_NOW - 86400;
    m->expires = 4102444800;
    memcpy(m->key_id, pub.key_id, PF_MS_KEYID_LEN);
    snprintf(m->notes, sizeof(m->notes), "fuzz seed");
    for (size_t i = 0; i < n; i++) {
        snprintf(m->payloads[i].name, sizeof(m->payloads[i].name), "%s", names[i]);
        m->payloads[i].size = strlen(datas[i]);
        pf_b2_buf(datas[i], strlen(datas[i]), m->payloads[i].digest);
    }
    m->npayloads = n;
    if (pf_manifest_encode(m, &doc, len, NULL) != 0 ||
        pf_ms_sign(&sec, doc, *len, "fuzz manifest", sig, PF_MS_SIG_MAX, siglen, NULL) != 0)
        abort();
    sodium_memzero(&sec, sizeof(sec));
    free(m);
    return doc;
}

/* A complete valid bundle in memory (heap); filter is an ARCHIVE_FILTER_*. */
static inline void *fuzz_bundle(int filter, size_t *outlen)
{
    static const char *const names[] = {"fw.img", "boot.bin"};
    static const char *const datas[] = {"firmware image bytes for the fuzz seed", "boot loader"};
    char msig[PF_MS_SIG_MAX], ksig[PF_MS_SIG_MAX];
    size_t mlen, msiglen, klen, ksiglen, cap = 1 << 16, used = 0;
    char *mdoc = fuzz_manifest(names, datas, 2, &mlen, msig, &msiglen);
    char *kdoc = fuzz_keyring(&klen, ksig, &ksiglen);
    const void *bufs[] = {mdoc, msig, kdoc, ksig, datas[0], datas[1]};
    size_t lens[] = {mlen, msiglen, klen, ksiglen, strlen(datas[0]), strlen(datas[1])};
    const char *entry_names[] = {PF_BUNDLE_MANIFEST, PF_BUNDLE_MANIFEST_SIG,
                                 PF_BUNDLE_KEYRING,  PF_BUNDLE_KEYRING_SIG,
                                 names[0],           names[1]};
    unsigned char *out = malloc(cap);
    struct archive *a = archive_write_new();

    if (!out || !a)
        abort();
    archive_write_set_format_pax_restricted(a);
    if (filter != ARCHIVE_FILTER_NONE)
        archive_write_add_filter(a, filter);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_memory(a, out, cap, &used) != ARCHIVE_OK)
        abort();
    for (size_t i = 0; i < 6; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, entry_names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)lens[i]);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            archive_write_data(a, bufs[i], lens[i]) != (la_ssize_t)lens[i])
            abort();
        archive_entry_free(e);
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        abort();
    archive_write_free(a);
    free(mdoc);
    free(kdoc);
    *outlen = used;
    return out;
}

#endif
