/*
 * artifacts.h - the signed bundles posfleetd stores and serves.
 *
 * An upload is verified with the same proto/ code the terminals run
 * (pf_bundle_read_mem: keyring chain from the configured trust root, the
 * manifest signature, expiry, every payload's size and digest), then stored
 * content-addressed as DIR/ID.bundle where ID is the hex BLAKE2b-256 of the
 * file: written to a temporary file, fsynced, renamed, directory fsynced.
 * Only uncompressed bundles are accepted: terminals fetch plain byte ranges.
 *
 * The chunk server reads stored files through a small cache of open
 * descriptors (PFS_ARTIFACT_FDS, least recently used closed first), so a
 * chunk costs one pread.
 *
 * struct pfs_artifacts is caller-owned (init/release); it owns its keyring
 * and the cached descriptors. One thread.
 */
#ifndef PFS_ARTIFACTS_H
#define PFS_ARTIFACTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/bundle.h"
#include "pf/error.h"
#include "store/store_updates.h"

#define PFS_ARTIFACT_FDS 8

struct pfs_artifact_fd {
    uint8_t id[PF_B2_LEN];
    int fd; /* -1 when the slot is free */
    uint64_t size;
    uint64_t used; /* LRU tick */
};

struct pfs_artifacts {
    char dir[PATH_MAX];
    bool have_trust; /* update.trust_root set: uploads possible */
    struct pf_trust trust;
    struct pf_keyring *keyring; /* heap, optional (update.keyring) */
    struct pfs_artifact_fd fds[PFS_ARTIFACT_FDS];
    uint64_t tick;
};

/*
 * dir is created (0700) if missing. trust_root (a minisign public key file)
 * may be "" (uploads then fail with PF_ESTATE); keyring_dir (keyring.json and
 * keyring.json.minisig, verified from the root) may be "".
 */
int pfs_artifacts_init(struct pfs_artifacts *a, const char *dir, const char *trust_root,
                       const char *keyring_dir, struct pf_error *err) PF_WUR;
void pfs_artifacts_release(struct pfs_artifacts *a);

/*
 * Verifies the bundle in buf and stores it. rec receives the metadata (its
 * uploaded_ms is left 0). The verifier's refusal comes back as its PF_E*
 * code with its message; a compressed bundle is PF_EINVAL; nothing is written
 * then. Storing an id already present rewrites nothing.
 */
int pfs_artifacts_put(struct pfs_artifacts *a, const void *buf, size_t len, int64_t now_s,
                      struct pfs_bundle_rec *rec, struct pf_error *err) PF_WUR;

/* DIR/ID.bundle for a hex id. */
int pfs_artifacts_path(const struct pfs_artifacts *a, const char *hex, char *out,
                       size_t size) PF_WUR;

/* An open descriptor of the stored bundle (borrowed: the cache owns it) and
 * its size; PF_ENOENT if not stored. */
int pfs_artifacts_open(struct pfs_artifacts *a, const uint8_t id[PF_B2_LEN], int *fd,
                       uint64_t *size) PF_WUR;

#endif
