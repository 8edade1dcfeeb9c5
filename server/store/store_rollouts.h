/*
 * store_rollouts.h - what posfleetd keeps about rollouts (migrations 008 and
 * 009, docs/rollouts.md): the rollout row, its stages, one member row per
 * terminal of the stages opened so far, the plan of the later stages (chunks
 * of serials, turned into member rows when their stage opens) and exact
 * counters per (stage, member status); a planned member counts as pending.
 *
 * Counters: a trigger moves them on every status change of a member; inserts
 * (planning, late joiners, swaps) add to them in the same statement batch. So
 * every function that changes members keeps them exact in its transaction.
 *
 * The store decides nothing about rollouts: who joins a cohort, in which
 * order and stage (rollouts/rollout_plan.h) and how members move
 * (rollouts/rollout_member.h) are the domain's rules, which these functions
 * call and whose decisions they save. A member is only ever moved from the
 * status the decision was made from.
 *
 * Like store.h: one thread, caller-owned structs. Administrative changes
 * commit the ingest batch first and run in their own FULL transaction with an
 * audit row; member changes from offers and events share the transaction of
 * the offer or event record (store_updates.h).
 */
#ifndef PFS_STORE_ROLLOUTS_H
#define PFS_STORE_ROLLOUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "lifecycle/merchant.h"
#include "pf/msg_update.h"
#include "rollouts/rollout_def.h"
#include "rollouts/rollout_member.h"
#include "rollouts/rollout_plan.h"
#include "store/store.h"
#include "store/store_updates.h"

/* Rollout states: enum pfs_ro_state (rollouts/rollout_def.h). */

struct pfs_rollout_rec {
    int64_t id;
    char name[PFS_RO_NAME_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    int kind; /* enum pf_bundle_kind */
    char version[PF_VERSION_MAX + 1];
    enum pfs_ro_state state;
    int stage;
    int64_t start_ms, deadline_ms;
    char pause_reason[32];
    char pause_detail[PFS_RO_REASON_MAX + 1];
    char pause_by[64];
    int64_t pause_ms;
    int64_t base[PFS_ROM_COUNT]; /* outcome counts at the last resume */
    int64_t join_ms;
    int64_t created_ms, updated_ms;
    char actor[64];
    /* The organisation it was made in (store_accounts.h): its cohort lies
     * inside it. "" for headquarters. */
    char org_path[129];
    struct pfs_ro_def def; /* parsed back from the stored definition; release it */
};
void pfs_rollout_rec_release(struct pfs_rollout_rec *r);

struct pfs_ro_stage_rec {
    int idx;
    char size[16];
    int64_t target; /* cumulative members at planning */
    int64_t soak_s;
    bool gate;
    int64_t opened_ms, settled_ms;
    int64_t counts[PFS_ROM_COUNT];
};

/* What planning did (for the API answer and the benchmark). */
struct pfs_ro_plan_stats {
    int64_t cohort;
    double select_ms, order_ms, insert_ms;
};

/*
 * Plans and stores a rollout of bundle b with definition d in one
 * transaction: the candidate terminals read in serial order for
 * rollout_plan.h to choose the cohort, order it and split it into stages;
 * the previous bundle per member, the overlap check, audit "rollout.create".
 * PF_EINVAL (empty cohort, a stage rounding to zero: err says which),
 * PF_EEXIST (a member is in a live rollout of the same kind: err names both).
 * With d->awaiting_approval it is created paused for PFS_RO_APPROVAL, its
 * first stage not opened: planned, holding its terminals, offering nothing.
 * An actor below headquarters (actor->org_path) makes a rollout of its
 * organisation: only its terminals are candidates, now and as they join.
 */
int pfs_store_rollout_create(struct pfs_store *st, const struct pfs_ro_def *d,
                             const struct pfs_bundle_rec *b, const char *def_json,
                             const struct pfs_actor *actor, int64_t now_ms, int64_t *id,
                             struct pfs_ro_plan_stats *stats, struct pf_error *err) PF_WUR;

/*
 * Previews (rollouts/rollout_preview.h): every registered device with every
 * field of struct pfs_ro_candidate (its time zone included) in serial order,
 * handed to cb; nothing is written. cb's non-zero return stops the scan and
 * is returned.
 */
typedef int (*pfs_ro_candidate_cb)(void *ctx, const struct pfs_ro_candidate *c);
int pfs_store_rollout_scan(struct pfs_store *st, pfs_ro_candidate_cb cb, void *ctx) PF_WUR;
/* The same for the terminals of one organisation (org_path, "" or NULL: all). */
int pfs_store_rollout_scan_in(struct pfs_store *st, const char *org_path, pfs_ro_candidate_cb cb,
                              void *ctx) PF_WUR;
/* The id the next rollout created will get (a preview's hash order uses it). */
int pfs_store_rollout_next_id(struct pfs_store *st, int64_t *id) PF_WUR;
/* An audit row "rollout.ACTION" about rollout id with after (a JSON object
 * text), in its own FULL transaction. */
int pfs_store_rollout_audit(struct pfs_store *st, int64_t id, const struct pfs_actor *actor,
                            int64_t now_ms, const char *action, const char *after_json) PF_WUR;

/* Records the plan digest a rollout waiting for approval was created with
 * (in its pause detail: "waits for an approver of plan HEX"). */
int pfs_store_rollout_approval_digest(struct pfs_store *st, int64_t id, const char *digest) PF_WUR;

/*
 * Turns the planned members of stages <= max_stage into member rows (pending,
 * in stage then serial order), about max_rows of them in one transaction;
 * *left: how many of those stages' members are still planned. The scheduler
 * calls it every tick; a stage cannot settle while *left > 0.
 */
int pfs_store_rollout_plan_open(struct pfs_store *st, int64_t id, int max_stage, int64_t max_rows,
                                int64_t now_ms, int64_t *left) PF_WUR;

/* PF_ENOENT if there is no such rollout. */
int pfs_store_rollout_get(struct pfs_store *st, int64_t id, struct pfs_rollout_rec *r) PF_WUR;
typedef int (*pfs_rollout_cb)(void *ctx, const struct pfs_rollout_rec *r);
/* live_only: scheduled, running, paused, gated, rolling_back. Newest first. */
int pfs_store_rollout_list(struct pfs_store *st, bool live_only, int limit, pfs_rollout_cb cb,
                           void *ctx) PF_WUR;
/* The rollouts made inside org_path's subtree ("" or NULL: all). */
int pfs_store_rollout_list_in(struct pfs_store *st, const char *org_path, bool live_only, int limit,
                              pfs_rollout_cb cb, void *ctx) PF_WUR;
/* The stages with their counters; *n set to the number filled. */
int pfs_store_rollout_stages(struct pfs_store *st, int64_t id,
                             struct pfs_ro_stage_rec out[PFS_RO_STAGES_MAX], size_t *n) PF_WUR;

/* Failure histogram: (status, code, n), largest first. */
typedef int (*pfs_ro_reason_cb)(void *ctx, const char *status, const char *code, int64_t n);
int pfs_store_rollout_failures(struct pfs_store *st, int64_t id, pfs_ro_reason_cb cb,
                               void *ctx) PF_WUR;

struct pfs_ro_member_rec {
    char serial[PF_SERIAL_MAX + 1];
    int stage;
    enum pfs_ro_member status;
    char offer[PF_UPDATE_ID_MAX + 1];
    int64_t offered_ms, since_ms;
    int attempts;
    char prev_bundle[PF_B2_HEX_LEN + 1];
    char code[PF_UPDATE_CODE_MAX + 1];
    /* joined by pfs_store_rollout_candidates */
    bool online;
    char tz[PFS_TZ_MAX + 1];
};
typedef int (*pfs_ro_member_cb)(void *ctx, const struct pfs_ro_member_rec *m);
/* status < 0 / stage < 0: any. By serial, after `after`. */
int pfs_store_rollout_members(struct pfs_store *st, int64_t id, int status, int stage,
                              const char *after, int limit, pfs_ro_member_cb cb, void *ctx,
                              bool *more) PF_WUR;
/* A member, PF_ENOENT if serial is not one. */
int pfs_store_rollout_member(struct pfs_store *st, int64_t id, const char *serial,
                             struct pfs_ro_member_rec *m) PF_WUR;

/*
 * Members in status (pending or revert_pending) of stages <= max_stage, in
 * (stage, serial) order after the cursor (stage, serial; "" from the start),
 * with online and time zone joined; at most limit. *more says the scan did
 * not reach the end.
 */
int pfs_store_rollout_candidates(struct pfs_store *st, int64_t id, enum pfs_ro_member status,
                                 int max_stage, int after_stage, const char *after_serial,
                                 int limit, pfs_ro_member_cb cb, void *ctx, bool *more) PF_WUR;

/*
 * Offers (rollout id, member serial): like pfs_store_offer_put (no audit row:
 * the rollout's own audit row covers its offers) plus the member's move on
 * PFS_ROE_OFFER (pending to offered, revert_pending to reverting) in the same
 * transaction. PF_ESTATE (nothing written) if the state machine refuses an
 * offer in the member's status.
 */
int pfs_store_rollout_offer(struct pfs_store *st, int64_t id, const struct pfs_offer_rec *o,
                            const struct pfs_bundle_rec *b, const char *body,
                            struct pf_error *err) PF_WUR;

/* A member that cannot be offered (unknown model, revoked...) moves as
 * PFS_ROE_UNOFFERABLE says (pending -> failed, revert_pending ->
 * revert_failed), with code; a member in another status is left alone. */
int pfs_store_rollout_member_fail(struct pfs_store *st, int64_t id, const char *serial,
                                  const char *code, int64_t now_ms) PF_WUR;

/*
 * Ops act on one member (docs/rollouts.md, "One member at a time"): ev is
 * PFS_ROE_RETRY, _DROP or _CANCEL (action names it: "retry", "skip",
 * "cancel"), applied as rollout_member.h decides from the member's status,
 * with an audit row "rollout.member.ACTION" naming the terminal, its status
 * before and after and the reason. *from and *to: the move. PF_ENOENT (not a
 * member), PF_ESTATE (the status does not allow it, or its stage is not open
 * yet; err says which); nothing written then.
 */
int pfs_store_rollout_member_act(struct pfs_store *st, int64_t id, const char *serial,
                                 enum pfs_ro_event ev, const char *action, const char *reason,
                                 const struct pfs_actor *actor, int64_t now_ms,
                                 enum pfs_ro_member *from, enum pfs_ro_member *to,
                                 struct pf_error *err) PF_WUR;

/*
 * The time rules' view of the members in the statuses of status_mask (1 << an
 * enum pfs_ro_member): their clocks, and for offered ones whether the
 * terminal accepted that very offer. The scheduler decides
 * (rollouts/rollout_time.h) and applies its decisions below.
 */
typedef int (*pfs_ro_clock_cb)(void *ctx, const char *serial, const struct pfs_ro_member_clock *c);
int pfs_store_rollout_clocks(struct pfs_store *st, int64_t id, unsigned status_mask,
                             pfs_ro_clock_cb cb, void *ctx) PF_WUR;

/* A decided move of one member: from the status it had when decided, to. */
struct pfs_ro_move {
    const char *serial;
    enum pfs_ro_member from, to;
    const char *code; /* NULL: keep the member's code */
    bool applied;     /* set by pfs_store_rollout_moves */
};
/*
 * Applies moves in one transaction (since_ms = now_ms), each only if the
 * member is still in its from status (one that moved meanwhile is left
 * alone: its applied stays false); *moved says how many applied. Counters
 * follow.
 */
int pfs_store_rollout_moves(struct pfs_store *st, int64_t id, struct pfs_ro_move *mv, size_t n,
                            int64_t now_ms, int64_t *moved) PF_WUR;
/* Sets a member's since_ms (an offer sent again) if it is still in status. */
int pfs_store_rollout_touch(struct pfs_store *st, int64_t id, const char *serial,
                            enum pfs_ro_member status, int64_t since_ms) PF_WUR;

typedef int (*pfs_ro_serial_cb)(void *ctx, const char *serial);

/* Number of installed members of stages <= max_stage that are unhealthy
 * (docs/rollouts.md, max_unhealthy_rate). */
int pfs_store_rollout_unhealthy(struct pfs_store *st, int64_t id, int max_stage, int64_t *n) PF_WUR;
/* True if a pending member of stages <= max_stage is online. */
int pfs_store_rollout_pending_online(struct pfs_store *st, int64_t id, int max_stage,
                                     bool *any) PF_WUR;

/*
 * State changes. from_mask: the states (1 << state) it applies to, else
 * PF_ESTATE with err saying the current state. Audited as "rollout.ACTION"
 * when actor is not NULL. Side effects by target:
 *   paused: reason/detail/by recorded;   running from paused: base = the
 *   outcome counts now;   aborted / completed: pending members -> skipped;
 *   rolling_back: pending -> skipped, installed with a previous bundle (or
 *   all installed when override_bundle is set) -> revert_pending.
 * stage >= 0 sets the open stage (and its opened_ms); settle marks the open
 * stage settled at now_ms.
 */
struct pfs_ro_change {
    unsigned from_mask;
    enum pfs_ro_state to;
    int stage;          /* -1: unchanged */
    const char *action; /* audit action suffix, e.g. "pause" */
    const char *reason, *detail;
    const char *override_bundle; /* rollback: offer this bundle to every installed member */
};
int pfs_store_rollout_change(struct pfs_store *st, int64_t id, const struct pfs_ro_change *c,
                             const struct pfs_actor *actor, int64_t now_ms,
                             struct pf_error *err) PF_WUR;
/* Marks stage idx settled at settled_ms (0 clears it). */
int pfs_store_rollout_settle(struct pfs_store *st, int64_t id, int idx, int64_t settled_ms) PF_WUR;

/* Registrations after r->join_ms that match the cohort join the open stage;
 * join_ms becomes now_ms. *added says how many. */
int pfs_store_rollout_join(struct pfs_store *st, const struct pfs_rollout_rec *r, int64_t now_ms,
                           int64_t *added) PF_WUR;

/* The swap hook (pfs_swap_hook; ctx unused): inside the swap's transaction. */
int pfs_store_rollout_swap(void *ctx, struct pfs_tx *tx, const char *old_serial,
                           const char *new_serial, struct pf_error *err);

/* Inside the transaction of pfs_store_update_event_put: moves the member that
 * holds this offer, if any. */
int pfs_store_rollout_on_event(struct pfs_tx *tx, const char *serial,
                               const struct pf_update_event *e, int64_t recv_ms) PF_WUR;

/* For tests: do the counters equal a recount of the members? */
int pfs_store_rollout_check_counts(struct pfs_store *st, int64_t id, bool *exact) PF_WUR;

#endif
