/*
 * msg_lifecycle.h - the lock protocol (docs/protocol.md, "Lifecycle").
 *
 *   S->T  pf/v1/cmd/{serial}/lock  QoS 1  struct pf_lock_cmd     lock or unlock payments
 *   T->S  pf/v1/dev/{serial}/lock  QoS 1  struct pf_lock_report  the terminal's lock state,
 *                                                                 echoing the command id
 *   T->S  pf/v1/dev/{serial}/tamper QoS 1 struct pf_tamper_event the tamper switch tripped
 *                                                                 (sent at once, not with the
 *                                                                 next health report)
 *
 * posfleetd retransmits a command until a report with the same id and the
 * wanted state arrives; the terminal applies a command idempotently (the
 * same id twice changes nothing) and answers every copy. Codecs only; all
 * structs are caller-owned values.
 */
#ifndef PF_MSG_LIFECYCLE_H
#define PF_MSG_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PF_CMD_LOCK        "lock"   /* server -> terminal */
#define PF_DEV_LOCK        "lock"   /* terminal -> server */
#define PF_DEV_TAMPER      "tamper" /* terminal -> server */
#define PF_LOCK_ID_MAX     64       /* [A-Za-z0-9._:-] */
#define PF_LOCK_REASON_MAX 64       /* printable ASCII */

struct pf_lock_cmd {
    char id[PF_LOCK_ID_MAX + 1];
    bool lock; /* "action": "lock" or "unlock" */
    char reason[PF_LOCK_REASON_MAX + 1];
    int64_t ts_ms;
};

struct pf_lock_report {
    char id[PF_LOCK_ID_MAX + 1]; /* the command this answers */
    bool locked;                 /* payments disabled now */
    int64_t ts_ms;
};

int pf_lock_cmd_encode(const struct pf_lock_cmd *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_lock_cmd_decode(const char *buf, size_t len, struct pf_lock_cmd *m,
                       struct pf_error *err) PF_WUR;
int pf_lock_report_encode(const struct pf_lock_report *m, char *buf, size_t len,
                          size_t *outlen) PF_WUR;
int pf_lock_report_decode(const char *buf, size_t len, struct pf_lock_report *m,
                          struct pf_error *err) PF_WUR;
/* The terminal's tamper switch went from closed to tripped at ts_ms (its wall clock).
 * The health reports that follow carry "tamper": true as well. */
struct pf_tamper_event {
    int64_t ts_ms;
};

int pf_tamper_event_encode(const struct pf_tamper_event *m, char *buf, size_t len,
                           size_t *outlen) PF_WUR;
int pf_tamper_event_decode(const char *buf, size_t len, struct pf_tamper_event *m,
                           struct pf_error *err) PF_WUR;

/* Ids: 1..PF_LOCK_ID_MAX characters of [A-Za-z0-9._:-]. */
bool pf_lock_id_valid(const char *s);

#endif
