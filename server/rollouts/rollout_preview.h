/*
 * rollout_preview.h - what a rollout would do, before it does anything
 * (docs/rollouts.md, "Preview, coverage and approval"): its cohort by stage
 * and by model, hardware revision, merchant category, region and current
 * version; the terminals it would skip as already running the bundle's
 * version; the ones the bundle does not cover (firmware that does not target
 * a terminal the filters select; a fee table that lacks a member merchant's
 * category code); when each terminal's maintenance window next opens; and a
 * digest of the plan, which an approval names.
 *
 * The store hands over every registered terminal in serial order
 * (pfs_ro_preview_consider); the rules are rollout_plan.h's
 * (pfs_ro_cohort_classify). struct pfs_ro_preview is caller-owned
 * (_init/_release) and owns copies of everything it keeps; the cover is
 * borrowed. No I/O but the time zone files (zone.h) and, in
 * pfs_ro_feetable_cover, the stored bundle's fee table.
 */
#ifndef PFS_ROLLOUT_PREVIEW_H
#define PFS_ROLLOUT_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/error.h"
#include "pf/feetable.h"
#include "pf/topic.h"
#include "rollouts/rollout_def.h"
#include "rollouts/rollout_plan.h"
#include "updates/artifacts.h"

#define PFS_RO_PREVIEW_LIST 1000 /* members, skipped and uncovered terminals listed by serial */

enum pfs_ro_dim {
    PFS_RO_DIM_MODEL,
    PFS_RO_DIM_HW_REV,
    PFS_RO_DIM_MCC,
    PFS_RO_DIM_REGION,
    PFS_RO_DIM_VERSION, /* the version of the bundle's kind the terminal runs */
    PFS_RO_DIM_TZ,      /* the zone of its maintenance window */
    PFS_RO_DIM_COUNT
};
/* "model", "hw_rev", "mcc", "region", "version", "tz", NULL */
extern const char *const pfs_ro_dim_names[];

struct pfs_ro_pv_values {
    char **v; /* in order of first appearance; "" for unknown */
    size_t n;
};

/* A terminal the bundle does not cover, or skips, kept in serial order. */
struct pfs_ro_pv_term {
    char serial[PF_SERIAL_MAX + 1];
    enum pfs_ro_class cls;
    char why[80]; /* "model A920 r1 is not a target", "MCC 5411 is not in the fee table" */
};

struct pfs_ro_preview {
    struct pfs_ro_cohort_rule rule;
    const struct pfs_ro_cover *cover; /* borrowed; NULL: no MCC check */
    bool uncovered_members;           /* UNCOVERED terminals join the cohort (forced) */
    /* members, in serial order */
    char **serial;
    uint16_t (*attr)[PFS_RO_DIM_COUNT]; /* value index per dimension */
    uint8_t *stage;                     /* after pfs_ro_preview_finish */
    bool *uncovered;
    size_t n, cap;
    struct pfs_ro_pv_values vals[PFS_RO_DIM_COUNT];
    /* counts[d][v * (nstages + 1) + s]: members of stage s with value v of
     * dimension d; s = nstages is the total. After finish. */
    int64_t *counts[PFS_RO_DIM_COUNT];
    size_t nstages;
    size_t targets[PFS_RO_STAGES_MAX];
    /* next window opening per zone (index into vals[PFS_RO_DIM_TZ]): wall ms, or
     * -1 for a zone that is not installed (never inside its window); open_now. */
    int64_t *tz_next;
    bool *tz_open;
    int64_t already, untargeted, uncovered_n;
    struct pfs_ro_pv_term *terms; /* skipped and not covered, at most PFS_RO_PREVIEW_LIST */
    size_t nterms;
    char plan_error[sizeof(
            ((struct pf_error *)0)->msg)]; /* why it could not be staged ("the cohort is empty") */
    char digest[PF_B2_HEX_LEN + 1];        /* of bundle, definition and plan; after finish */
};

/*
 * t: the bundle (borrowed until release); cover may be NULL; with
 * uncovered_members, terminals whose MCC the fee table lacks are members (a
 * forced creation), else they are left out and listed.
 */
int pfs_ro_preview_init(struct pfs_ro_preview *p, const struct pfs_ro_def *d,
                        const struct pfs_ro_target *t, const struct pfs_ro_cover *cover,
                        bool uncovered_members, struct pf_error *err) PF_WUR;
void pfs_ro_preview_release(struct pfs_ro_preview *p);

/* Candidates in strictly increasing serial order (PF_EINVAL otherwise). */
int pfs_ro_preview_consider(struct pfs_ro_preview *p, const struct pfs_ro_candidate *c) PF_WUR;

/*
 * Orders the members as the rollout with rollout_id would (rollout_plan.h),
 * counts them by stage and dimension, finds when each zone's window next opens
 * (default_tz for terminals without one) and computes the digest over
 * bundle_id, def_json (the definition with its defaults) and the plan: every
 * member's serial and stage, and the skipped count. A plan that cannot be
 * staged (empty cohort, a stage rounding to zero) is not an error here:
 * plan_error says why and nstages is 0.
 */
int pfs_ro_preview_finish(struct pfs_ro_preview *p, const struct pfs_ro_def *d, int64_t rollout_id,
                          const char *bundle_id, const char *def_json, const char *default_tz,
                          int64_t now_ms, struct pf_error *err) PF_WUR;

/* The first terminal of class cls (UNTARGETED or UNCOVERED) and a sentence
 * naming the mismatch for a refusal, into msg; false if there is none. */
bool pfs_ro_preview_mismatch(const struct pfs_ro_preview *p, char *msg, size_t size);

/*
 * The cover of stored fee-table bundle id: its fee table, read from the
 * artifacts and verified as on upload, into *ft (caller-owned, large: heap it);
 * cover->mccs points into ft.
 */
int pfs_ro_feetable_cover(struct pfs_artifacts *a, const char *id, int64_t now_s,
                          struct pf_feetable *ft, struct pfs_ro_cover *cover,
                          struct pf_error *err) PF_WUR;

/* --- four eyes (docs/rollouts.md, "Approval") --- */

/* True for a rollout that waits for an approver: paused for PFS_RO_APPROVAL. */
bool pfs_ro_awaits_approval(enum pfs_ro_state s, const char *pause_reason);
/* The plan digest recorded in such a rollout's pause detail, or "". */
const char *pfs_ro_approval_recorded(const char *pause_detail);

struct pfs_ro_approval {
    bool awaiting;        /* pfs_ro_awaits_approval */
    const char *creator;  /* the identity that created it */
    const char *recorded; /* the digest of its plan at creation */
    const char *now;      /* the digest of its preview now */
};
/*
 * May approver approve with digest given? PF_ESTATE when it does not wait for
 * approval, PF_EPERM when approver created it, PF_EINVAL for a digest that is
 * not 64 hex digits, PF_ESTATE when given is not the recorded plan's or the
 * cohort changed since (now differs): err says which and what to do.
 */
int pfs_ro_approval_check(const struct pfs_ro_approval *a, const char *approver, const char *given,
                          struct pf_error *err) PF_WUR;

/* The minute-exact wall time at which the window of d next opens in a zone whose local
 * minute is minute at now_ms (now_ms itself when inside); ignores a DST change in between. */
int64_t pfs_ro_window_next_open(const struct pfs_ro_def *d, int minute, int64_t now_ms);

#endif
