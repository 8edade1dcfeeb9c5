/*
 * manifest.h - the bundle manifest: what a bundle is, for whom, and the exact
 * size and BLAKE2b-256 digest of every payload.
 *
 * pf_manifest_parse() works on memory and is what the fuzzer calls; it checks
 * syntax and field ranges only. Trust comes from bundle.h (signature, keyring)
 * and pf_manifest_check_policy() (kind, expiry, model, hardware revision,
 * rollback, size limit). struct pf_manifest is a caller-owned value (~10 KiB).
 */
#ifndef PF_MANIFEST_H
#define PF_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/error.h"
#include "pf/minisign.h"
#include "pf/version.h"

#define PF_MANIFEST_MAX_BYTES    (64 * 1024)
#define PF_MANIFEST_MAX_PAYLOADS 16
#define PF_MANIFEST_MAX_TARGETS  32
#define PF_MANIFEST_NAME_MAX     64 /* payload names, models */
#define PF_MANIFEST_HWREV_MAX    32
#define PF_MANIFEST_NOTES_MAX    4096
/* Default per-payload size ceiling when a policy does not set one (4 GiB). */
#define PF_MANIFEST_DEFAULT_MAX_PAYLOAD (UINT64_C(4) << 30)

/*
 * How far a manifest's `created` may lie ahead of the checking side's clock.
 * A bundle is signed before it is uploaded or installed, so a later `created`
 * is a wrong signing clock or a forged date; 24 h absorbs time zones mistaken
 * for UTC and terminals whose RTC drifted, while a bundle "from next year" is
 * refused. posfleetd and the agent apply it, each with its own clock.
 */
#define PF_MANIFEST_CREATED_SKEW (24 * 3600)

/* Same indices as enum pf_key_role: a kind is signed by the role of that index. */
enum pf_bundle_kind { PF_KIND_FIRMWARE = 0, PF_KIND_FEETABLE = 1 };
/* "firmware", "fee-table", NULL */
extern const char *const pf_bundle_kind_names[];

struct pf_manifest_payload {
    char name[PF_MANIFEST_NAME_MAX + 1];
    uint64_t size;
    uint8_t digest[PF_B2_LEN];
};

struct pf_manifest {
    int kind;
    char version[PF_VERSION_MAX + 1];
    size_t nmodels;
    char models[PF_MANIFEST_MAX_TARGETS][PF_MANIFEST_NAME_MAX + 1];
    size_t nhw_revs;
    char hw_revs[PF_MANIFEST_MAX_TARGETS][PF_MANIFEST_HWREV_MAX + 1];
    int64_t created;
    int64_t expires;
    uint8_t key_id[PF_MS_KEYID_LEN];
    char notes[PF_MANIFEST_NOTES_MAX + 1];
    size_t npayloads;
    struct pf_manifest_payload payloads[PF_MANIFEST_MAX_PAYLOADS];
};

/* What the installing side knows about itself. NULL/0 fields are not checked
 * (posfleetd checks signatures and expiry but has no model or installed version). */
struct pf_policy {
    int kind;          /* enum pf_bundle_kind, or -1 for any */
    const char *model; /* model and hw_rev: checked by pf_target_match() (pf/target.h) */
    const char *hw_rev;
    const char *installed_version; /* refuse unless the manifest's is strictly above */
    int64_t now;                   /* Unix seconds: expiry and key validity */
    uint64_t max_payload_size;     /* 0: PF_MANIFEST_DEFAULT_MAX_PAYLOAD */
};

/*
 * Payload names are flat file names: 1..64 of [A-Za-z0-9._-], not starting
 * with '.', and none of the reserved metadata names.
 */
bool pf_manifest_name_valid(const char *name);

int pf_manifest_parse(const char *buf, size_t len, struct pf_manifest *m,
                      struct pf_error *err) PF_WUR;
int pf_manifest_parse_file(const char *path, struct pf_manifest *m, struct pf_error *err) PF_WUR;
/* Indented JSON, heap (caller frees), newline-terminated. */
int pf_manifest_encode(const struct pf_manifest *m, char **out, size_t *len,
                       struct pf_error *err) PF_WUR;

const struct pf_manifest_payload *pf_manifest_payload_find(const struct pf_manifest *m,
                                                           const char *name);

/* PF_EINVAL (kind), PF_EEXPIRED, PF_EMODEL, PF_EHWREV, PF_EROLLBACK, PF_ELIMIT. */
int pf_manifest_check_policy(const struct pf_manifest *m, const struct pf_policy *pol,
                             struct pf_error *err) PF_WUR;

#endif
