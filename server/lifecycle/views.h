/*
 * views.h - the JSON of lifecycle records, as the API answers with them and
 * the audit log keeps them before and after a change: a terminal, a repair
 * record and the snapshot it keeps of its terminal, a line of a terminal's
 * history, an update outcome. Built with jansson from the rows a store
 * backend loaded, so every backend prints the same (the backends have no SQL
 * JSON functions).
 *
 * The structs are filled by the store and borrowed: their strings must stay
 * valid for the call. A nullable number is PFS_VIEW_NULL when absent and a
 * nullable string NULL; both print as null. Each function returns a new
 * reference, or NULL on allocation failure or malformed embedded JSON text.
 */
#ifndef PFS_VIEWS_H
#define PFS_VIEWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/lifecycle.h"
#include "pf/msg.h"
#include "store/store.h"
#include "store/store_diag.h"

#define PFS_VIEW_NULL INT64_MIN

struct pfs_term_view {
    const char *serial, *model;
    const char *registry; /* pfs_dev_status_names[] */
    enum pfs_term_state state;
    const char *merchant_id; /* NULL: unbound */
    const char *fee_plan;    /* JSON array text, NULL: unbound */
    const char *tz;
    const char *tags; /* JSON array text */
    int64_t bound_ms;
    bool lock_want;
    const char *lock_cmd; /* NULL: no lock command ever (no "lock" object) */
    bool lock_acked;
    const char *lock_reason;
    const char *provision; /* JSON object text or NULL */
    int64_t repair_id;     /* the open repair */
    int64_t updated_ms;
};
json_t *pfs_term_view_json(const struct pfs_term_view *v);

struct pfs_repair_view {
    int64_t id;
    const char *serial, *state, *source, *reason, *merchant_id, *replaced_by;
    const char *fault_codes, *parts; /* JSON array text */
    const char *notes;
    const char *snapshot; /* JSON object text (pfs_repair_snapshot_json) */
    int64_t opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms, updated_ms;
};
json_t *pfs_repair_view_json(const struct pfs_repair_view *v);

/* What a repair keeps of its terminal when it opens: the newest report
 * (health NULL if none; recv_ms when it came), the open alerts and the
 * newest answered diagnostic requests. */
struct pfs_repair_snapshot {
    int64_t taken_ms;
    const struct pf_health *health;
    int64_t health_recv_ms;
    const struct pfs_alert *alerts;
    size_t nalerts;
    const struct pfs_diag_rec *diags;
    size_t ndiags;
};
json_t *pfs_repair_snapshot_json(const struct pfs_repair_snapshot *s);

/* A line of a terminal's history. from/to: a state name or NULL. */
struct pfs_term_event_view {
    int64_t id, ts_ms;
    const char *kind, *from, *to, *merchant_id, *other;
    int64_t repair_id;
    const char *actor, *detail;
};
json_t *pfs_term_event_json(const struct pfs_term_event_view *e);

/* An update outcome in a terminal's history (NULL strings print as null). */
struct pfs_update_view {
    int64_t ts_ms; /* when posfleetd recorded it */
    const char *offer, *bundle, *kind, *version, *status, *reason, *code, *message;
};
json_t *pfs_update_line_json(const struct pfs_update_view *u);

/* A terminal bound to a merchant, as the merchant's list shows it (state:
 * the stored state's name). */
json_t *pfs_merchant_terminal_json(const char *serial, const char *model, const char *state,
                                   int64_t bound_ms, bool locked);

#endif
