/*
 * bundle.h - verifying and reading signed update bundles.
 *
 * A bundle is a tar archive (optionally gzip or zstd compressed as a whole)
 * holding, in this order: manifest.json, manifest.json.minisig, keyring.json,
 * keyring.json.minisig, then the payloads named in the manifest. See
 * docs/bundle-format.md.
 *
 * Three layers, usable on their own:
 *
 *  1. pf_bundle_verify_meta(): keyring chain from the trusted root, the
 *     manifest signature by a keyring key of the right role, and the policy
 *     (kind, expiry, model, hw revision, rollback, size). Works on buffers;
 *     no payload is touched.
 *
 *  2. struct pf_payload_verifier: streaming size+digest check of one payload.
 *     The agent feeds it the chunks it writes into the inactive slot; excess
 *     data is refused on the update that brings it, the digest at final().
 *
 *  3. pf_bundle_read*(): one pass over the archive with libarchive: reads and
 *     verifies the metadata, then for each payload calls the sink's begin,
 *     write (chunks as they are read and hashed) and end (digest verified).
 *     Memory stays bounded whatever the payload size. A 0 return means every
 *     payload verified; only then may the caller activate anything.
 *     pf_bundle_extract() is the sink that writes payloads into a fresh empty
 *     directory (libarchive disk writer with the SECURE flags), removing all it
 *     wrote if anything fails.
 *
 * Every refusal has its own PF_E* code (error.h) and a message naming the reason.
 */
#ifndef PF_BUNDLE_H
#define PF_BUNDLE_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pf/error.h"
#include "pf/keyring.h"
#include "pf/manifest.h"
#include "pf/minisign.h"

#define PF_BUNDLE_MANIFEST     "manifest.json"
#define PF_BUNDLE_MANIFEST_SIG "manifest.json.minisig"
#define PF_BUNDLE_KEYRING      "keyring.json"
#define PF_BUNDLE_KEYRING_SIG  "keyring.json.minisig"
/* Archive entries: 4 metadata + payloads; more is refused (PF_ELIMIT). */
#define PF_BUNDLE_MAX_ENTRIES (4 + PF_MANIFEST_MAX_PAYLOADS)
/* Read block size of the bundle reader. 64 KiB keeps each block in L2 between the
 * kernel's copy and the hash; 1 MiB blocks measured ~20 % slower (docs/benchmarks.md). */
#define PF_BUNDLE_BLOCK (1u << 16)
/* After tar's end-of-archive marker only zero padding may follow, at most one default
 * tar record (20 blocks, what GNU tar pads to); anything else is refused (PF_EEXCESS). */
#define PF_BUNDLE_TAIL_MAX 10240

/* "gzip", "zstd", "xz" or "bzip2" when buf starts with that format's magic, else NULL. */
const char *pf_bundle_compression(const void *buf, size_t len);

/*
 * What the verifying side trusts. A bundle embeds the keyring current when it
 * was packed; a later revocation only reaches terminals through a newer
 * keyring. So the verifier also takes the newest keyring the caller has
 * verified before (persisted by the agent, distributed by posfleetd): the
 * newer of the two by serial decides. The embedded one, if present, must still
 * verify from the root.
 */
struct pf_trust {
    struct pf_ms_pubkey root;         /* the anchor the terminal ships with (or its newest) */
    int64_t min_keyring_serial;       /* refuse an older embedded keyring (PF_EROLLBACK); 0 = any */
    const struct pf_keyring *keyring; /* optional, already verified; NULL = embedded only */
};

/*
 * Layer 1. Verifies keyring (chain + signature), then the manifest signature
 * and key, then parses the manifest and applies the policy. Order of checks:
 * NO_SIG, ROOT_CHAIN / BAD_SIG (keyring), KEY_UNKNOWN, KEY_REVOKED,
 * KEY_EXPIRED, KEY_ROLE, BAD_SIG (manifest), parse, EXPIRED, MODEL, HWREV,
 * ROLLBACK, LIMIT. kr_out (optional, caller-allocated) receives the keyring
 * that decided (embedded or trust->keyring) so the caller can persist the
 * newest root and keyring. keyring may be NULL when trust->keyring is given.
 */
int pf_bundle_verify_meta(const char *manifest, size_t mlen, const char *msig, size_t msiglen,
                          const char *keyring, size_t klen, const char *ksig, size_t ksiglen,
                          const struct pf_trust *trust, const struct pf_policy *pol,
                          struct pf_manifest *out, struct pf_keyring *kr_out,
                          struct pf_error *err) PF_WUR;

/* Same, with an already verified keyring (e.g. one the server distributed). */
int pf_manifest_verify(const char *manifest, size_t mlen, const char *msig, size_t msiglen,
                       const struct pf_keyring *kr, const struct pf_policy *pol,
                       struct pf_manifest *out, struct pf_error *err) PF_WUR;

/*
 * Layer 2. The struct holds a libsodium hash state that needs 64-byte
 * alignment: put it on the stack, in a static, or allocate with
 * pf_payload_verifier_new().
 */
struct pf_payload_verifier {
    crypto_generichash_state hash;
    uint64_t size;
    uint64_t seen;
    uint8_t digest[PF_B2_LEN];
    char name[PF_MANIFEST_NAME_MAX + 1];
};

void pf_payload_verifier_init(struct pf_payload_verifier *v, const struct pf_manifest_payload *p);
/* Heap variant, aligned; free with pf_payload_verifier_free(). NULL on OOM. */
struct pf_payload_verifier *pf_payload_verifier_new(const struct pf_manifest_payload *p);
void pf_payload_verifier_free(struct pf_payload_verifier *v);
/* PF_EEXCESS as soon as the payload grows past its declared size (nothing hashed). */
int pf_payload_verifier_update(struct pf_payload_verifier *v, const void *buf, size_t len,
                               struct pf_error *err) PF_WUR;
/* PF_ESIZE if short, PF_EDIGEST if the digest differs. */
int pf_payload_verifier_final(struct pf_payload_verifier *v, struct pf_error *err) PF_WUR;

/* Layer 3. */
struct pf_bundle_sink {
    /* Called once per payload, before its first byte; the manifest is verified. */
    int (*begin)(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err);
    /* Chunks in order; already counted against the declared size. */
    int (*write)(void *ctx, const void *buf, size_t len, struct pf_error *err);
    /* The payload is complete and its digest verified. */
    int (*end)(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err);
    void *ctx;
};

/* A caller-given byte source (e.g. a download); read returns bytes, 0 at end, <0 PF_E*. */
struct pf_bundle_source {
    ssize_t (*read)(void *ctx, void *buf, size_t cap);
    void *ctx;
};

/* sink may be NULL (verify only). out (optional) receives the verified manifest. */
int pf_bundle_read(const struct pf_bundle_source *src, const struct pf_trust *trust,
                   const struct pf_policy *pol, const struct pf_bundle_sink *sink,
                   struct pf_manifest *out, struct pf_error *err) PF_WUR;
int pf_bundle_read_file(const char *path, const struct pf_trust *trust, const struct pf_policy *pol,
                        const struct pf_bundle_sink *sink, struct pf_manifest *out,
                        struct pf_error *err) PF_WUR;
int pf_bundle_read_mem(const void *buf, size_t len, const struct pf_trust *trust,
                       const struct pf_policy *pol, const struct pf_bundle_sink *sink,
                       struct pf_manifest *out, struct pf_error *err) PF_WUR;

/*
 * Verifies bundle_path and extracts its payloads into dir, which must not exist
 * (it is created 0700) or be empty (PF_EEXIST otherwise). Payloads are written
 * as hidden partial files and renamed to their names only after every payload
 * verified; on any refusal dir is left as empty as it was found.
 */
int pf_bundle_extract(const char *bundle_path, const char *dir, const struct pf_trust *trust,
                      const struct pf_policy *pol, struct pf_manifest *out,
                      struct pf_error *err) PF_WUR;

/*
 * Reads the metadata entries of a bundle without verifying anything
 * (posfleet-pack inspect and sign). Each *out buffer is heap (caller frees) or
 * NULL if the entry is absent.
 */
struct pf_bundle_meta {
    char *manifest, *manifest_sig, *keyring, *keyring_sig;
    size_t manifest_len, manifest_sig_len, keyring_len, keyring_sig_len;
};
int pf_bundle_meta_load(const char *path, struct pf_bundle_meta *meta, struct pf_error *err) PF_WUR;
void pf_bundle_meta_release(struct pf_bundle_meta *meta);

#endif
