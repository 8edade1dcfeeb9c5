/*
 * rollout_def.h - what a rollout is: its definition (docs/rollouts.md,
 * "Definition"), parsed and checked from the API's JSON, written back with the
 * defaults filled in, and the maintenance window in a terminal's local time.
 * Planning (cohort, hash order, stage targets) is rollout_plan.h.
 *
 * struct pfs_ro_def is caller-owned; pfs_ro_def_release() frees the filter
 * arrays it holds (JSON array texts, heap). No I/O except reading the time
 * zone database in pfs_ro_local_minute() (zone.h), and no process-wide state.
 */
#ifndef PFS_ROLLOUT_DEF_H
#define PFS_ROLLOUT_DEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/error.h"
#include "pf/text.h"

/* Name and reasons are text a person typed (pf/text.h): limits in characters
 * there, buffers here in bytes (UTF-8, up to 4 a character). */
#define PFS_RO_NAME_MAX    (PF_TEXT_BYTES(PF_TEXT_LABEL_MAX) - 1)
#define PFS_RO_STAGES_MAX  16
#define PFS_RO_SERIALS_MAX 100000
#define PFS_RO_VALUES_MAX  1000 /* values of one filter other than serials */
#define PFS_RO_REASON_MAX  (PF_TEXT_BYTES(PF_TEXT_REASON_MAX) - 1)

/* docs/rollouts.md, "Rollout states and the scheduler". */
enum pfs_ro_state {
    PFS_RO_SCHEDULED,
    PFS_RO_RUNNING,
    PFS_RO_PAUSED,
    PFS_RO_GATED,
    PFS_RO_COMPLETED,
    PFS_RO_ABORTED,
    PFS_RO_ROLLING_BACK,
    PFS_RO_ROLLED_BACK,
    PFS_RO_EXPIRED, /* reached its deadline before every member was reached */
    PFS_RO_STATE_COUNT
};
extern const char *const pfs_ro_state_names[]; /* NULL-terminated */

/* Live: the scheduler still acts on it, and its members hold their terminals
 * (no other live rollout of the kind may take them). */
bool pfs_ro_state_live(enum pfs_ro_state s);
/* True while the members still in the plan (stages not opened) count as
 * pending; once a rollout ends or rolls back they count as skipped. */
bool pfs_ro_state_plans(enum pfs_ro_state s);

enum pfs_ro_filter {
    PFS_RO_MODELS,
    PFS_RO_HW_REVS,
    PFS_RO_FW_VERSIONS,
    PFS_RO_FEE_VERSIONS,
    PFS_RO_MERCHANTS,
    PFS_RO_MCCS,
    PFS_RO_REGIONS,
    PFS_RO_TAGS,
    PFS_RO_SERIALS,
    PFS_RO_FILTER_COUNT
};
/* The cohort object's keys, by enum pfs_ro_filter; NULL-terminated. */
extern const char *const pfs_ro_filter_names[];

struct pfs_ro_stage {
    char size[16]; /* as given: "10%" or "20" */
    bool pct;      /* size is a share of the cohort */
    int64_t value; /* basis points (10% = 1000) or a count */
    int64_t soak_s;
    bool gate;
};

struct pfs_ro_def {
    char name[PFS_RO_NAME_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    char *filters[PFS_RO_FILTER_COUNT]; /* JSON array text, NULL = no filter */
    size_t nstages;
    struct pfs_ro_stage stages[PFS_RO_STAGES_MAX];
    int64_t soak_s;
    bool gate;
    double max_failure_rate, max_rollback_rate, max_unhealthy_rate;
    int64_t min_sample;
    int win_start, win_end; /* minutes of the local day; end may be 1440 */
    int64_t max_concurrent;
    int64_t timeout_s;
    int64_t retry_s;
    int64_t offer_timeout_s; /* an offer nobody answers times out (0: never) */
    int64_t max_deferrals;   /* deferrals before deferred_out (0: no count limit) */
    int64_t defer_limit_s;   /* deferring longer than this: deferred_out (0: no limit) */
    int64_t start_ms;        /* 0: at creation */
    int64_t deadline_ms;     /* 0: none */
    /* Not part of the JSON: set by the API when rollout.approval covers the
     * bundle's kind; the rollout is created paused for PFS_RO_APPROVAL. */
    bool awaiting_approval;
};

/* The pause reason of a rollout that waits for an approver (four eyes,
 * docs/rollouts.md); shown as the state "awaiting_approval". */
#define PFS_RO_APPROVAL "approval"

/*
 * A rollout's name or a reason given to it, field key of obj: UTF-8 text a person
 * typed, at most max characters (pf_text_check, the CLI's same check), into
 * out[outsz]. Absent, null or "" leave out "" unless required ("" is how a
 * stored definition says "no name").
 */
int pfs_ro_json_text(json_t *obj, const char *key, bool required, size_t max, char *out,
                     size_t outsz, struct pf_error *err) PF_WUR;

/*
 * Reads a definition object (unknown keys refused). now_ms fills start_ms
 * when absent (0: a stored definition, whose deadline may have passed). PF_EINVAL with err naming
 * the key ("stages[2]: sizes must grow", "window.start: HH:MM").
 */
int pfs_ro_def_parse(json_t *o, int64_t now_ms, struct pfs_ro_def *d, struct pf_error *err) PF_WUR;
/* The definition with every default filled in (new object, NULL on ENOMEM). */
json_t *pfs_ro_def_to_json(const struct pfs_ro_def *d);
void pfs_ro_def_release(struct pfs_ro_def *d);

/* True if minute (0..1439 of the local day) is inside the window. */
bool pfs_ro_in_window(const struct pfs_ro_def *d, int minute);
/*
 * The minute of the local day in time zone tz ("" = UTC) at now_ms, from the
 * zone's file (zone.h; the process's TZ is never read or changed). PF_EINVAL
 * for a name that is not an installed zone.
 */
int pfs_ro_local_minute(const char *tz, int64_t now_ms, int *minute) PF_WUR;

/* "2026-11-28T01:00:00Z" -> ms; PF_EINVAL if it is not that form. */
int pfs_ro_time_parse(const char *s, int64_t *ms) PF_WUR;

#endif
