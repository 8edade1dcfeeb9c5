/*
 * feestore.h - the terminal's fee tables: active, pending and previous.
 *
 * Files in one directory (config key update.feetable_dir):
 *   active.json    THE table the payment application reads (docs/update.md);
 *                  only ever replaced whole with pf_file_write_atomic()
 *   pending.json   verified table waiting for its effective_at
 *   previous.json  the table active before the last switch (rollback)
 *   staged.json    download target; digest-verified by the update engine
 * A table reaches pending.json only after its bundle digest verified and
 * pf_feetable_parse() accepted it; it reaches active.json only from
 * pending.json. Activation happens at effective_at (wall clock), offline or
 * not, and is idempotent across power cuts. struct pfa_feestore is a heap
 * object (pfa_feestore_open / pfa_feestore_close).
 */
#ifndef PFA_FEESTORE_H
#define PFA_FEESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "pfa/update_fault.h"
#include "pf/error.h"
#include "pf/feetable.h"
#include "pf/version.h"

#define PFA_FEE_ACTIVE   "active.json"
#define PFA_FEE_PENDING  "pending.json"
#define PFA_FEE_PREVIOUS "previous.json"
#define PFA_FEE_STAGED   "staged.json"

struct pfa_feestore;

int pfa_feestore_open(const char *dir, struct pfa_fault *fault, struct pfa_feestore **out,
                      struct pf_error *err) PF_WUR;
void pfa_feestore_close(struct pfa_feestore *fs);

/* Path of a file of the store (PFA_FEE_*); valid until close. */
const char *pfa_feestore_path(const struct pfa_feestore *fs, const char *name);

/* "" when none. */
const char *pfa_feestore_active_version(const struct pfa_feestore *fs);
const char *pfa_feestore_pending_version(const struct pfa_feestore *fs);
/* The newest trusted version (pending or active): the rollback floor. */
const char *pfa_feestore_newest_version(const struct pfa_feestore *fs);
/* Unix seconds of the pending table's effective_at; INT64_MAX when none is pending. */
int64_t pfa_feestore_pending_at(const struct pfa_feestore *fs);

/*
 * Validates staged.json (pf_feetable_parse; its version must be version)
 * and makes it the pending table. PF_EFEETABLE / PF_EINVAL leave nothing
 * pending and remove the staged file.
 */
int pfa_feestore_stage(struct pfa_feestore *fs, const char *version, struct pf_error *err) PF_WUR;

/* Activates the pending table if its effective_at <= now_s; *switched says whether it did. */
int pfa_feestore_activate_due(struct pfa_feestore *fs, int64_t now_s, bool *switched,
                              struct pf_error *err) PF_WUR;

/* Puts previous.json back as the active table (PF_ENOENT if there is none). */
int pfa_feestore_rollback(struct pfa_feestore *fs, struct pf_error *err) PF_WUR;

#endif
