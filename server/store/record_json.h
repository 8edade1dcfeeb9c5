/*
 * record_json.h - the JSON text a store backend writes, built once for every
 * backend: the before/after of audit rows (a terminal, a repair, a merchant,
 * a registry entry, a swap, a diagnostic request, an uploaded bundle, an
 * offer, a rollout's creation and changes, a rollout member's move), the
 * outcome counts a rollout keeps, the snapshot a repair keeps of its
 * terminal and
 * the provision a swapped-in terminal gets. A backend loads rows into the
 * records of store.h / store_lifecycle.h and stores the text it gets here,
 * so a second backend prints identical audit rows without copying code and
 * keeps SQL and row <-> record mapping only. The lifecycle records print as
 * lifecycle/views.h builds them, the same JSON the API answers with.
 *
 * Records are borrowed for the call. Every function returns compact JSON
 * text on the heap that the caller frees with free(), or NULL on allocation
 * failure or malformed embedded JSON text.
 */
#ifndef PFS_RECORD_JSON_H
#define PFS_RECORD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle/merchant.h"
#include "store/store.h"
#include "store/store_diag.h"
#include "store/store_lifecycle.h"
#include "store/store_updates.h"

char *pfs_rec_term_text(const struct pfs_term_view *v);
char *pfs_rec_repair_text(const struct pfs_repair_view *v);
char *pfs_rec_snapshot_text(const struct pfs_repair_snapshot *s);
/* Keys sorted, as merchants and registry entries have always been audited. */
char *pfs_rec_merchant_text(const struct pfs_merchant *m);
char *pfs_rec_device_text(const struct pfs_device *d);
/* A diagnostic request as its "diag.request" row keeps it: id, command,
 * deadline and the arguments (left out when absent or malformed). */
char *pfs_rec_diag_request_text(const struct pfs_diag_rec *r);
/* An uploaded bundle ("bundle.upload") and an offer of bundle b to a terminal
 * ("device.update"), keys sorted. */
char *pfs_rec_bundle_text(const struct pfs_bundle_rec *b);
char *pfs_rec_offer_text(const struct pfs_offer_rec *o, const struct pfs_bundle_rec *b);
/* A swap's audit row: before {"old","new"} from the two terminals' texts
 * (pfs_rec_term_text); after adds the repair's text and the reason. */
char *pfs_rec_swap_before_text(const char *old_term, const char *new_term);
char *pfs_rec_swap_after_text(const char *old_term, const char *new_term, const char *repair,
                              const char *reason);
/* The provisioning record of a terminal swapped in for old_serial: where it
 * came from, old's fee plan (JSON array text; NULL: none), why and when. */
char *pfs_rec_swap_provision_text(const char *old_serial, const char *fee_plan, int64_t now_ms);

/* A rollout's "rollout.create" row: its id, name, bundle (id, kind, version),
 * members planned and the cumulative member target of each of ntargets
 * stages, keys sorted. */
char *pfs_rec_rollout_create_text(int64_t id, const char *name, const char *bundle,
                                  const char *kind, const char *version, int64_t members,
                                  const size_t *targets, size_t ntargets);
/* One status total of a rollout's members. */
struct pfs_rec_count {
    const char *status;
    int64_t n;
};
/* Member totals by status {"<status>":n,...}, keys sorted: the n counts, then
 * each of the nzero statuses in zero that is not among them with 0 (NULL, 0:
 * none added). */
char *pfs_rec_counts_text(const struct pfs_rec_count *c, size_t n, const char *const *zero,
                          size_t nzero);
/* A "rollout.<action>" row: the state from and to, the reason, detail and
 * bundle (left out when NULL) and counts (pfs_rec_counts_text; NULL: left
 * out), keys sorted. */
char *pfs_rec_rollout_change_text(const char *from, const char *to, const char *reason,
                                  const char *detail, const char *bundle, const char *counts);
/* A member's move: before {"status"}, after {"status","reason"}. */
char *pfs_rec_member_before_text(const char *status);
char *pfs_rec_member_after_text(const char *status, const char *reason);

#endif
