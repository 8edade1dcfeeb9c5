/*
 * boothist.h - the terminal's boot history, for support.
 *
 * Each agent start appends one entry (wall time, slot, firmware version, boot
 * outcome) to STATE_DIR/boot_history.json, keeping the newest
 * PFA_BOOTHIST_MAX; the file is replaced atomically, so a power cut leaves the
 * previous history. A damaged file is started afresh rather than blocking the
 * boot. The diagnostics "versions" command returns the list.
 */
#ifndef PFA_BOOTHIST_H
#define PFA_BOOTHIST_H

#include <jansson.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg.h"

#define PFA_BOOTHIST_MAX 16

int pfa_boothist_record(const char *state_dir, int64_t wall_ms, enum pf_slot slot,
                        const char *fw_version, enum pf_boot_outcome boot,
                        struct pf_error *err) PF_WUR;

/* The history, oldest first, as a new JSON array (empty when there is none); never NULL
 * unless out of memory. The caller owns the reference. */
json_t *pfa_boothist_json(const char *state_dir);

#endif
