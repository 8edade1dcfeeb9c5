/*
 * rollout_plan.h - planning a rollout (docs/rollouts.md, "Membership"):
 * which terminals form its cohort, their stable hash order, and the split of
 * that order into cumulative stages. The rules are here; the store only
 * hands over candidate terminals (in serial order) and saves the result.
 *
 * Cohort membership: the terminal is registered (not revoked or retired), in
 * a lifecycle state that may install (in stock, installed, active: not
 * locked, in repair or retired), matches every filter of the definition (one
 * value of each filter given), is a target of the bundle (pf_target_match,
 * pf/target.h: the one targeting rule) and does not already run the bundle's
 * version of its kind.
 *
 * struct pfs_ro_cohort_rule and struct pfs_ro_cohort are caller-owned
 * (_init/_release); a rule borrows the strings of the target it was built
 * from. A cohort owns copies of its serials and versions. No I/O.
 */
#ifndef PFS_ROLLOUT_PLAN_H
#define PFS_ROLLOUT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/error.h"
#include "pf/target.h"
#include "pf/version.h"
#include "rollouts/rollout_def.h"

/* What a rollout installs: the bundle's kind, version and targets (borrowed). */
struct pfs_ro_target {
    int kind;            /* enum pf_bundle_kind */
    const char *version; /* the bundle's version */
    const char *models;  /* comma-separated target models */
    const char *hw_revs; /* comma-separated target hardware revisions */
};

/*
 * A registered terminal as the store knows it. NULL (or "") for what is not
 * known or not loaded: a light scan (pfs_ro_cohort_rule_light) loads only
 * serial, model, hw_rev, status, state and the version of the rule's kind.
 */
struct pfs_ro_candidate {
    const char *serial, *model, *hw_rev;
    const char *status;      /* the device record: "registered", "revoked"... */
    const char *state;       /* lifecycle state; "" = no terminal record (in stock) */
    const char *fw_version;  /* as the terminal last reported */
    const char *fee_version; /* idem */
    const char *merchant;    /* bound merchant id */
    const char *mcc, *region;
    const char *tags;   /* the terminal's tags, a JSON array text */
    int64_t created_ms; /* registered at */
    const char *tz;     /* the terminal's time zone ("" or NULL: the default); previews only */
};

struct pfs_ro__values {
    char **v; /* sorted, strcmp order */
    size_t n;
    bool set; /* the filter is given */
};

struct pfs_ro_cohort_rule {
    struct pfs_ro__values filters[PFS_RO_FILTER_COUNT];
    struct pf_target_list models, hw_revs;
    int kind;
    const char *version;
    int64_t since_ms; /* < 0: any; else only terminals registered after it */
};

/*
 * Builds the rule of definition d for target t (borrowed until release);
 * since_ms >= 0 keeps only terminals registered after it (late joiners).
 * PF_EINVAL if a filter is not a JSON array of strings.
 */
int pfs_ro_cohort_rule_init(struct pfs_ro_cohort_rule *r, const struct pfs_ro_def *d,
                            const struct pfs_ro_target *t, int64_t since_ms,
                            struct pf_error *err) PF_WUR;
void pfs_ro_cohort_rule_release(struct pfs_ro_cohort_rule *r);
/* True if a light scan answers the rule (no filter on reported versions,
 * merchants or tags). */
bool pfs_ro_cohort_rule_light(const struct pfs_ro_cohort_rule *r);
/* True if candidate c belongs to the cohort of rule r. */
bool pfs_ro_cohort_match(const struct pfs_ro_cohort_rule *r, const struct pfs_ro_candidate *c);
/* True if c would belong to the cohort but already reported the rule's version:
 * a member that is `already` from planning on (docs/rollouts.md). */
bool pfs_ro_cohort_already(const struct pfs_ro_cohort_rule *r, const struct pfs_ro_candidate *c);

/*
 * What a bundle must cover beyond its targets (docs/rollouts.md, "Coverage"):
 * a fee table's merchant category codes (mccs, sorted or not; nmcc 0 with
 * mccs_known means it covers none). Firmware has nothing more than targets.
 */
struct pfs_ro_cover {
    bool mccs_known;
    const uint16_t *mccs;
    size_t nmcc;
};

/* Where a registered terminal stands for a rollout (pfs_ro_cohort_classify). */
enum pfs_ro_class {
    PFS_RO_OUT,        /* not selected: state, a filter, or not a target of an unfiltered cohort */
    PFS_RO_MEMBER,     /* in the cohort */
    PFS_RO_ALREADY,    /* selected, but already runs the bundle's version: skipped */
    PFS_RO_UNTARGETED, /* selected by the definition's filters, but its model or hardware
                        * revision is not among the bundle's targets */
    PFS_RO_UNCOVERED,  /* a member whose merchant's category code the fee table lacks */
};

/*
 * The one classification behind pfs_ro_cohort_match (MEMBER), previews and
 * the coverage check at creation. cov may be NULL (no MCC check). A cohort
 * with no filter at all is by definition the bundle's targets, so a terminal
 * outside them is OUT; once a filter is given, one it selects that the bundle
 * does not target is UNTARGETED. A terminal without a merchant (no MCC) is
 * never UNCOVERED.
 */
enum pfs_ro_class pfs_ro_cohort_classify(const struct pfs_ro_cohort_rule *r,
                                         const struct pfs_ro_cover *cov,
                                         const struct pfs_ro_candidate *c);
/* True if the fee table of cov lists mcc (4 decimal digits). */
bool pfs_ro_cover_mcc(const struct pfs_ro_cover *cov, const char *mcc);

/*
 * The members planned so far, in serial order: serial[i], the version it
 * runs (as an index into versions, 0 = none; at most 1000 distinct versions
 * are told apart, the others count as none) and, once ordered, stage[i].
 */
struct pfs_ro_cohort {
    char **serial;
    uint16_t *version;
    uint8_t *stage; /* after pfs_ro_cohort_order */
    size_t n, cap;
    char (*versions)[PF_VERSION_MAX + 1]; /* versions[k - 1] for index k */
    size_t nver;
    char **blocks; /* the serials' storage */
    size_t nblocks, used;
    /* planning (since_ms < 0): the terminals pfs_ro_cohort_already() keeps
     * out, in serial order; their serials live in blocks too */
    char **already;
    size_t nalready, capalready;
};
void pfs_ro_cohort_release(struct pfs_ro_cohort *c);

/*
 * Adds c to the cohort if it matches rule r. Candidates must come in strictly
 * increasing serial order (PF_EINVAL otherwise, nothing added).
 */
int pfs_ro_cohort_consider(struct pfs_ro_cohort *co, const struct pfs_ro_cohort_rule *r,
                           const struct pfs_ro_candidate *c) PF_WUR;
/* True if serial is a member. */
bool pfs_ro_cohort_has(const struct pfs_ro_cohort *co, const char *serial);

/*
 * Orders the members of co by pfs_ro_hash(rollout_id, serial) (ties by
 * serial) and gives each its stage: the first targets[0] stage 0, up to
 * targets[1] stage 1, and so on (targets from pfs_ro_stage_targets for co->n).
 */
int pfs_ro_cohort_order(struct pfs_ro_cohort *co, int64_t rollout_id, const size_t *targets,
                        size_t nstages) PF_WUR;

/*
 * Cumulative member count of each stage for a cohort of n terminals
 * (percentages rounded down, counts capped at n). PF_EINVAL when the cohort
 * is empty, a stage rounds to zero new terminals, or the last stage does not
 * reach n; err says which ("stage 1 (1%) rounds to 0 of 50 terminals").
 */
int pfs_ro_stage_targets(const struct pfs_ro_def *d, size_t n, size_t targets[PFS_RO_STAGES_MAX],
                         struct pf_error *err) PF_WUR;

/* The membership order key: the first 8 bytes of BLAKE2b("{id}/{serial}"),
 * big-endian. */
uint64_t pfs_ro_hash(int64_t rollout_id, const char *serial);

#endif
