/*
 * merchant.h - merchants: their fields, validation and review flow.
 *
 * A merchant is a shop that terminals are bound to. Its fields are checked
 * here (pfs_merchant_from_json names the field it refuses); its status moves
 * through the table in merchant.c only:
 *
 *   applied -> approved | rejected      (review)
 *   approved -> active                  (first terminal bound, or activate)
 *   active <-> suspended                (suspend, resume)
 *   applied|approved|rejected|active|suspended -> closed   (no terminal bound)
 *
 * The unified social credit code is GB 32100-2015: 18 characters of
 * 0-9 A-H J-N P-R T-U W-Y, characters 3..8 an administrative division code
 * (digits), the last a check character over the first 17.
 *
 * All structs are caller-owned values.
 */
#ifndef PFS_MERCHANT_H
#define PFS_MERCHANT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/text.h"

#define PFS_MERCHANT_ID_MAX   64
#define PFS_MERCHANT_NAME_MAX PF_TEXT_NAME_MAX /* characters, as the CLI */
#define PFS_USCC_LEN          18
#define PFS_MCC_LEN           4
#define PFS_ADDRESS_MAX       PF_TEXT_ADDRESS_MAX
#define PFS_CONTACT_MAX       PF_TEXT_CONTACT_MAX
#define PFS_PHONE_MAX         20
#define PFS_TZ_MAX            64
#define PFS_REGION_MAX        32
#define PFS_FEE_PLAN_MAX      8 /* fee-table bundle ids or versions per plan */
#define PFS_FEE_REF_MAX       64

enum pfs_merchant_status {
    PFS_MERCHANT_APPLIED,
    PFS_MERCHANT_APPROVED,
    PFS_MERCHANT_REJECTED,
    PFS_MERCHANT_ACTIVE,
    PFS_MERCHANT_SUSPENDED,
    PFS_MERCHANT_CLOSED,
    PFS_MERCHANT_STATUS_COUNT
};
/* "applied", "approved", "rejected", "active", "suspended", "closed", NULL */
extern const char *const pfs_merchant_status_names[];

enum pfs_merchant_action {
    PFS_MACT_APPROVE,
    PFS_MACT_REJECT,
    PFS_MACT_ACTIVATE,
    PFS_MACT_SUSPEND,
    PFS_MACT_RESUME,
    PFS_MACT_CLOSE,
    PFS_MACT_COUNT
};
/* "approve", "reject", "activate", "suspend", "resume", "close", NULL */
extern const char *const pfs_merchant_action_names[];

enum pfs_settlement { PFS_SETTLE_T0, PFS_SETTLE_T1 };
extern const char *const pfs_settlement_names[]; /* "T0", "T1", NULL */

struct pfs_merchant {
    char id[PFS_MERCHANT_ID_MAX + 1];
    char name[PFS_MERCHANT_NAME_MAX * 4 + 1]; /* UTF-8: up to 128 characters */
    char uscc[PFS_USCC_LEN + 1];
    char mcc[PFS_MCC_LEN + 1];
    char address[PFS_ADDRESS_MAX * 4 + 1];
    char contact_name[PFS_CONTACT_MAX * 4 + 1];
    char contact_phone[PFS_PHONE_MAX + 1];
    char tz[PFS_TZ_MAX + 1];
    char region[PFS_REGION_MAX + 1]; /* free text for rollout cohorts ("" none) */
    enum pfs_settlement settlement;
    size_t nfees;
    char fee_plan[PFS_FEE_PLAN_MAX][PFS_FEE_REF_MAX + 1];
    enum pfs_merchant_status status;
    int64_t created_ms;
    int64_t updated_ms;
    /* Why the last review (approve/reject) decided as it did; "" none. */
    char review_reason[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)];
};

/* True if code is an 18-character unified social credit code with a correct
 * check character. */
bool pfs_uscc_valid(const char *code);
/* The check character for the first 17 characters of a code, or 0 if one of
 * them is outside the code's character set. */
char pfs_uscc_check_char(const char *first17);

/* IANA time zone name: a strict pattern, and a TZif file under zoneinfo_dir
 * when that directory exists (NULL: /usr/share/zoneinfo). */
bool pfs_tz_valid(const char *tz, const char *zoneinfo_dir);

/*
 * Reads merchant fields from a JSON object. With create, id, name, uscc, mcc,
 * address, contact_name, contact_phone, tz and settlement are required and
 * fee_plan defaults to []; without it (an update) every field is optional and
 * absent ones keep their value in *m, and id may not change. PF_EINVAL with
 * err naming the field ("uscc: check character is 'X', expected 'Y'").
 */
int pfs_merchant_from_json(json_t *o, bool create, struct pfs_merchant *m,
                           struct pf_error *err) PF_WUR;
/* A new JSON object for m (NULL on allocation failure). */
json_t *pfs_merchant_to_json(const struct pfs_merchant *m);
/* The fee plan as a JSON array text, heap (NULL on allocation failure). */
char *pfs_merchant_fee_plan_json(const struct pfs_merchant *m);
/* Parses a fee plan JSON array text into m (from the store). */
int pfs_merchant_fee_plan_parse(const char *text, struct pfs_merchant *m) PF_WUR;

/* The status an action leads to from the current one; PF_ESTATE with the
 * reason when the review flow does not allow it. */
int pfs_merchant_next(enum pfs_merchant_status from, enum pfs_merchant_action act,
                      enum pfs_merchant_status *to, struct pf_error *err) PF_WUR;
/* True if terminals may be bound to a merchant in this status. */
bool pfs_merchant_bindable(enum pfs_merchant_status s);
/* A change from cur to next with `bound` terminals bound to the merchant:
 * closing needs none bound (PF_ESTATE saying so). */
int pfs_merchant_change_check(const struct pfs_merchant *cur, const struct pfs_merchant *next,
                              int64_t bound, struct pf_error *err) PF_WUR;

#endif
