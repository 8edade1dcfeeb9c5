/*
 * update_slot.h - writing a payload into its target (the inactive firmware
 * slot, or a fee-table staging file) with the digest computed in the same
 * pass, and resuming such a write from a verified prefix.
 *
 * The writer never holds the payload: each chunk is hashed (refused past the
 * declared size) and written with pwrite() at its offset; every 8 MiB the
 * kernel is asked to start writing back (sync_file_range), so that disk
 * writes overlap the hashing of the next blocks and the final fdatasync() has
 * little left to do. struct pfa_slot_writer is caller-owned; open/close pair.
 */
#ifndef PFA_UPDATE_SLOT_H
#define PFA_UPDATE_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "pfa/update_fault.h"
#include "pf/bundle.h"
#include "pf/error.h"
#include "pf/msg_update.h"

#define PFA_SLOT_BLOCK (64u * 1024u)

struct pfa_slot_writer {
    int fd;
    uint64_t written;              /* bytes of the payload in place and hashed */
    uint64_t kicked;               /* writeback requested up to here */
    bool regular;                  /* a file (truncated to size when finished), not a device */
    struct pf_payload_verifier *v; /* NULL when the caller verifies (bundle reader) */
    struct pfa_fault *fault;       /* optional crash-point counter */
};

/*
 * Opens path for writing the payload p (p NULL: no hashing). resume > 0
 * re-reads and hashes the first resume bytes already in place, so the digest
 * covers them, and continues after them.
 */
int pfa_slot_open(struct pfa_slot_writer *w, const char *path, const struct pf_manifest_payload *p,
                  uint64_t resume, struct pfa_fault *fault, struct pf_error *err) PF_WUR;
/* Hashes then writes buf at the current offset. PF_EEXCESS past the declared size. */
int pfa_slot_write(struct pfa_slot_writer *w, const void *buf, size_t len,
                   struct pf_error *err) PF_WUR;
/* Makes everything written so far durable (before persisting progress). */
int pfa_slot_sync(struct pfa_slot_writer *w, struct pf_error *err) PF_WUR;
/* Checks size and digest (PF_ESIZE / PF_EDIGEST), truncates a file to size, fdatasyncs. */
int pfa_slot_finish(struct pfa_slot_writer *w, struct pf_error *err) PF_WUR;
void pfa_slot_close(struct pfa_slot_writer *w);

/* Hashes the first size bytes of path and compares with digest (PF_ESIZE, PF_EDIGEST). */
int pfa_slot_verify(const char *path, uint64_t size, const uint8_t digest[PF_B2_LEN],
                    struct pf_error *err) PF_WUR;

/*
 * Installs a staged firmware bundle file into slot_path in one pass: the
 * bundle reader verifies metadata and hashes the payload while this writes it;
 * the slot is synced before returning 0. The bundle must hold one payload.
 */
int pfa_slot_install_bundle(const char *bundle_path, const char *slot_path,
                            const struct pf_trust *trust, const struct pf_policy *pol,
                            struct pf_manifest *out, struct pf_error *err) PF_WUR;

/*
 * The same from the offer's byte ranges, as the engine does with chunks: the
 * four metadata entries are read at their offsets and verified
 * (pf_bundle_verify_meta), then the one payload's range is read in 128 KiB
 * blocks and hashed by the caller's thread while a writer thread writes the
 * hashed blocks in order and a flusher thread syncs behind it (a ring of four
 * blocks: a block is written only once hashed, refilled only once written), and
 * the slot is synced. No archive reader is involved: the ranges are untrusted,
 * the manifest's digests decide. docs/update.md explains the pipeline.
 */
int pfa_slot_install_staged(const char *bundle_path, const struct pf_offer *offer,
                            const char *slot_path, const struct pf_trust *trust,
                            const struct pf_policy *pol, struct pf_manifest *out,
                            struct pf_error *err) PF_WUR;

#endif
