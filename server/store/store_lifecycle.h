/*
 * store_lifecycle.h - merchants, terminal lifecycle, repairs, history and the
 * searchable audit log, on the store of store.h.
 *
 * Every change here is administrative: it commits the ingest batch, runs in
 * its own transaction with synchronous=FULL and writes its audit row (with
 * references to the terminals and merchant it concerns) and the terminals'
 * history lines in that same transaction. Nothing changes when a call fails.
 * Changes made by posfleetd itself (activation on the first report, the
 * tamper lock) are audited with the actor "posfleetd", role "system".
 *
 * Reads return records, never JSON: a terminal's view, a repair, a line of a
 * terminal's history, an update outcome, a merchant's terminal. They are
 * handed to a typed callback; their strings are borrowed and valid only for
 * that call, a nullable number is PFS_VIEW_NULL and a nullable string NULL.
 * Fields that hold JSON text (fee plan, tags, provision, fault codes, parts,
 * snapshot) are passed through as stored. The API (api/api_lifecycle.c)
 * and the audit rows print them with lifecycle/views.c; a backend writes the
 * audit's before/after through store/record_json.h, so every backend prints
 * the same. A callback's non-zero return stops the read and is returned.
 *
 * The rules (which state may follow which, who may be bound, what a swap or
 * a repair step does) are decided by lifecycle.c, merchant.c and repair.c
 * from the rows the backend loads; the backend only loads and saves rows in
 * the transaction. struct pfs_term is lifecycle.h's. One thread only, like
 * the store.
 */
#ifndef PFS_STORE_LIFECYCLE_H
#define PFS_STORE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/lifecycle.h"
#include "lifecycle/merchant.h"
#include "lifecycle/repair.h"
#include "store/store.h"
#include "store/store_diag.h"

#define PFS_VIEW_NULL INT64_MIN

/* A terminal as the API shows it: registry entry, state, binding, lock and
 * open repair. */
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

/* A repair record. */
struct pfs_repair_view {
    int64_t id;
    const char *serial, *state, *source, *reason, *merchant_id, *replaced_by;
    const char *fault_codes, *parts; /* JSON array text */
    const char *notes;
    const char *snapshot; /* JSON object text (struct pfs_repair_snapshot) */
    int64_t opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms, updated_ms;
};

/* What a repair keeps of its terminal when it opens: the newest report
 * (health NULL if none; recv_ms when it came), the open alerts and the
 * newest answered diagnostic requests. A backend loads it and stores its
 * text (record_json.h); it is read back as pfs_repair_view.snapshot. */
struct pfs_repair_snapshot {
    int64_t taken_ms;
    const struct pf_health *health;
    int64_t health_recv_ms;
    const struct pfs_alert *alerts;
    size_t nalerts;
    const struct pfs_diag_rec *diags;
    size_t ndiags;
};

/* A line of a terminal's history. from/to: a state name or NULL. */
struct pfs_term_event_view {
    int64_t id, ts_ms;
    const char *kind, *from, *to, *merchant_id, *other;
    int64_t repair_id;
    const char *actor, *detail;
};

/* An update outcome in a terminal's history, as recorded (NULL: absent). */
struct pfs_update_view {
    int64_t ts_ms; /* when posfleetd recorded it */
    const char *offer, *bundle, *kind, *version, *status, *reason, *code, *message;
};

/* A terminal bound to a merchant, as the merchant's list shows it. */
struct pfs_merchant_term_view {
    const char *serial, *model;
    const char *state; /* the stored state's name, NULL if none */
    int64_t bound_ms;
    bool locked;
};

/* A lock or unlock command that the terminal has not confirmed yet. */
struct pfs_lock_pending {
    const char *serial;
    const char *cmd_id;
    bool lock;
    const char *reason;
};

typedef int (*pfs_merchant_cb)(void *ctx, const struct pfs_merchant *m);
typedef int (*pfs_term_view_cb)(void *ctx, const struct pfs_term_view *v);
typedef int (*pfs_repair_view_cb)(void *ctx, const struct pfs_repair_view *v);
typedef int (*pfs_term_event_cb)(void *ctx, const struct pfs_term_event_view *e);
typedef int (*pfs_update_view_cb)(void *ctx, const struct pfs_update_view *u);
typedef int (*pfs_merchant_term_cb)(void *ctx, const struct pfs_merchant_term_view *t);
typedef int (*pfs_lock_pending_cb)(void *ctx, const struct pfs_lock_pending *p);
/* Mutates *m for a merchant change; fills err and returns PF_E* to refuse. */
typedef int (*pfs_merchant_change_fn)(void *ctx, struct pfs_merchant *m, struct pf_error *err);
/*
 * Called inside the swap's transaction (tx) to move what other modules keep
 * per terminal (rollout memberships) from old to new; a non-zero return rolls
 * the whole swap back.
 */
typedef int (*pfs_swap_hook)(void *ctx, struct pfs_tx *tx, const char *old_serial,
                             const char *new_serial, struct pf_error *err);

/* --- merchants --- */
int pfs_store_merchant_add(struct pfs_store *st, const struct pfs_merchant *m,
                           const struct pfs_actor *actor, int64_t now_ms,
                           struct pf_error *err) PF_WUR;
/* PF_ENOENT if there is no such merchant. */
int pfs_store_merchant_get(struct pfs_store *st, const char *id, struct pfs_merchant *m) PF_WUR;
/* status < 0: any. Sorted by id, ids above after. */
int pfs_store_merchant_list(struct pfs_store *st, int status, const char *after, int limit,
                            pfs_merchant_cb cb, void *ctx, bool *more) PF_WUR;
/* Reads the merchant, lets change() modify it, checks the result (closing
 * needs no bound terminal) and writes it with an audit row "merchant.ACTION".
 * A new fee plan or time zone reaches the bound terminals at once. */
int pfs_store_merchant_change(struct pfs_store *st, const char *id, const char *action,
                              pfs_merchant_change_fn change, void *ctx,
                              const struct pfs_actor *actor, int64_t now_ms,
                              struct pfs_merchant *out, struct pf_error *err) PF_WUR;

/* The terminals bound to a merchant, by serial. */
int pfs_store_merchant_terminals(struct pfs_store *st, const char *id, pfs_merchant_term_cb cb,
                                 void *ctx) PF_WUR;

/* --- terminals --- */
/* PF_EUNKNOWN_SERIAL if the serial is not registered. */
int pfs_store_term_get(struct pfs_store *st, const char *serial, struct pfs_term *t) PF_WUR;
/* The terminal's view, once; PF_EUNKNOWN_SERIAL if not registered. */
int pfs_store_term_view(struct pfs_store *st, const char *serial, pfs_term_view_cb cb,
                        void *ctx) PF_WUR;
/* What the binding decides, for rollouts: the merchant ("" unbound), the IANA
 * time zone of the maintenance window ("" unbound) and the fee plan as a JSON
 * array text ("[]" unbound). */
int pfs_store_term_binding(struct pfs_store *st, const char *serial,
                           char merchant_id[PFS_MERCHANT_ID_MAX + 1], char tz[PFS_TZ_MAX + 1],
                           char *fee_plan, size_t fee_plan_size) PF_WUR;
/* in_stock -> installed; the merchant must be approved or active (an approved
 * merchant becomes active). Copies its fee plan and time zone. */
int pfs_store_term_bind(struct pfs_store *st, const char *serial, const char *merchant_id,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_store_term_unbind(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                          int64_t now_ms, struct pf_error *err) PF_WUR;
/* -> retired, and the registry entry revoked (messages dropped from now on). */
int pfs_store_term_retire(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                          int64_t now_ms, struct pf_error *err) PF_WUR;
/* Replaces tags of a terminal (JSON array text of strings). */
int pfs_store_term_tags(struct pfs_store *st, const char *serial, const char *tags_json,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err) PF_WUR;
/* The swap, one transaction (docs/support.md). *repair_id: OLD's repair. */
int pfs_store_term_swap(struct pfs_store *st, const char *old_serial, const char *new_serial,
                        const char *reason, pfs_swap_hook hook, void *hook_ctx,
                        const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                        struct pf_error *err) PF_WUR;

/*
 * Undoes the newest swap of old_serial for new_serial (docs/support.md), one
 * transaction: lifecycle.c's pfs_life_swap_undo decides from the swap's row
 * and what happened since; OLD is bound again in its state before, NEW goes
 * back to its state, tags and provision before, hook moves what the swap
 * moved back (new -> old), the repair the swap opened is removed (a tamper
 * repair it joined stays open, with a note), both histories get a
 * "swap_undo" line and one audit row "terminal.swap_undo" holds both
 * terminals and the repair before, and both terminals after. *repair_id: that
 * repair; *repair_removed tells which. PF_ENOENT when no such swap is
 * recorded (swaps made before migration 016 have no record).
 */
int pfs_store_term_swap_undo(struct pfs_store *st, const char *old_serial, const char *new_serial,
                             const char *reason, pfs_swap_hook hook, void *hook_ctx,
                             const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                             bool *repair_removed, struct pf_error *err) PF_WUR;

/* --- bulk changes (a CSV file's rows) --- */
enum pfs_bulk_kind { PFS_BULK_BIND, PFS_BULK_UNBIND, PFS_BULK_TAGS };
/* One terminal's change in a bulk call. line: where it came from, for its refusal. */
struct pfs_bulk_op {
    int line;
    const char *serial;
    /* bind: the merchant id; unbind: the reason for the history (NULL: none);
     * tags: the terminal's tags after, JSON array text. */
    const char *arg;
};
/* A refused op: its line, code and reason (naming the serial). Non-zero stops. */
typedef int (*pfs_bulk_bad_cb)(void *ctx, int line, int code, const char *msg);
/*
 * Applies n ops in one transaction, each as the single call does it (the
 * same rules, history line and audit row per terminal). Every op is tried and
 * each refusal goes to bad(); if any was refused, or check is true, the
 * transaction is rolled back and nothing changes. *nbad: refusals. Returns 0
 * (committed, or checked clean), the first refusal's code (err: how many), or
 * a store error.
 */
int pfs_store_term_bulk(struct pfs_store *st, enum pfs_bulk_kind kind,
                        const struct pfs_bulk_op *ops, size_t n, bool check, pfs_bulk_bad_cb bad,
                        void *ctx, const struct pfs_actor *actor, int64_t now_ms, size_t *nbad,
                        struct pf_error *err) PF_WUR;

/* --- posfleetd's own transitions (from ingest) --- */
/* installed -> active on the first report after binding; *changed tells. */
int pfs_store_term_activate(struct pfs_store *st, const char *serial, int64_t now_ms,
                            bool *changed) PF_WUR;
/* Tamper: -> locked with lock command cmd_id pending and a repair opened.
 * *changed is false (nothing written) when the state does not allow it. */
int pfs_store_term_tamper(struct pfs_store *st, const char *serial, const char *cmd_id,
                          int64_t now_ms, bool *changed, struct pf_error *err) PF_WUR;
/* Support locks or unlocks a terminal by hand (pfs_life_lock decides): the
 * command cmd_id pending with the reason PFS_LOCK_BY_SUPPORT (what the
 * terminal is told), a history line with the person's reason and an audit
 * row (terminal.lock, terminal.unlock), in one transaction. */
#define PFS_LOCK_BY_SUPPORT "support"
int pfs_store_term_lock(struct pfs_store *st, const char *serial, bool lock, const char *cmd_id,
                        const char *reason, const struct pfs_actor *actor, int64_t now_ms,
                        struct pf_error *err) PF_WUR;
/* A lock report: marks the pending command acknowledged when the id matches
 * and locked is the wanted state. *matched tells. */
int pfs_store_term_lock_report(struct pfs_store *st, const char *serial, const char *cmd_id,
                               bool locked, int64_t now_ms, bool *matched) PF_WUR;
int pfs_store_lock_pending_each(struct pfs_store *st, pfs_lock_pending_cb cb, void *ctx) PF_WUR;
/* Terminals bound but not yet reporting (state installed). */
typedef int (*pfs_serial_cb)(void *ctx, const char *serial);
int pfs_store_term_installed_each(struct pfs_store *st, pfs_serial_cb cb, void *ctx) PF_WUR;

/* --- repairs --- */
/* Support opens a repair for a terminal in stock (-> in_repair). */
int pfs_store_repair_open(struct pfs_store *st, const char *serial, const char *reason,
                          const char *faults_json, const struct pfs_actor *actor, int64_t now_ms,
                          int64_t *id, struct pf_error *err) PF_WUR;
struct pfs_repair_change {
    int to;                  /* enum pfs_repair_state, or -1 to keep */
    const char *faults_json; /* replace fault codes, or NULL */
    const char *parts_json;  /* replace parts, or NULL */
    const char *notes;       /* append to the notes, or NULL */
    const char *unlock_cmd;  /* command id used if the change unlocks the terminal */
};
/* Moves a repair; returned_to_stock puts the terminal in stock (sending an
 * unlock when it was locked), scrapped retires it. *unlock tells whether an
 * unlock command is now pending. */
int pfs_store_repair_change(struct pfs_store *st, int64_t id, const struct pfs_repair_change *c,
                            const struct pfs_actor *actor, int64_t now_ms, bool *unlock,
                            char *serial_out, struct pf_error *err) PF_WUR;
/* The repair, once; PF_ENOENT if there is no such repair. */
int pfs_store_repair_view(struct pfs_store *st, int64_t id, pfs_repair_view_cb cb,
                          void *ctx) PF_WUR;
/* serial NULL: all; state < 0 any, -2 only open ones; newest first. */
int pfs_store_repair_list(struct pfs_store *st, const char *serial, int state, int limit,
                          pfs_repair_view_cb cb, void *ctx) PF_WUR;

/* --- history and audit --- */
/* A terminal's history is its view, these lines, its repairs
 * (pfs_store_repair_list) and its update outcomes. Lines: the newest limit,
 * oldest first; update outcomes: newest first, at most limit. Neither checks
 * that the serial is registered (pfs_store_term_view does). */
int pfs_store_term_events(struct pfs_store *st, const char *serial, int limit, pfs_term_event_cb cb,
                          void *ctx) PF_WUR;
int pfs_store_term_updates(struct pfs_store *st, const char *serial, int limit,
                           pfs_update_view_cb cb, void *ctx) PF_WUR;
/* Audit rows about a terminal (target or reference), a merchant, and/or
 * since a time; newest first, before_id for paging. */
int pfs_store_audit_query(struct pfs_store *st, const char *serial, const char *merchant_id,
                          int64_t since_ms, int64_t before_id, int limit, pfs_audit_cb cb,
                          void *ctx) PF_WUR;

#endif
