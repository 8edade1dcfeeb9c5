/*
 * store_updates.h - what posfleetd keeps about updates: the bundles it
 * stores (metadata; the files live in the artifacts directory, artifacts.h),
 * the offers it made, every outcome event a terminal reported (recorded once
 * per terminal and event id) and each terminal's current update.
 *
 * Like store.h: one thread, caller-owned structs, strings handed to callbacks
 * valid only during the call. Bundle uploads and offers are administrative
 * (commit the open batch, own transaction, synchronous=FULL, audit row);
 * events commit the batch and then their own FULL transaction before
 * returning, so an acknowledgement sent afterwards never precedes durability.
 */
#ifndef PFS_STORE_UPDATES_H
#define PFS_STORE_UPDATES_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/manifest.h"
#include "pf/msg_update.h"
#include "store/store.h"

#define PFS_BUNDLE_MODELS_MAX (PF_MANIFEST_MAX_TARGETS * (PF_MANIFEST_NAME_MAX + 1))
#define PFS_BUNDLE_HWREVS_MAX (PF_MANIFEST_MAX_TARGETS * (PF_MANIFEST_HWREV_MAX + 1))

struct pfs_bundle_rec {
    char id[PF_B2_HEX_LEN + 1]; /* hex BLAKE2b-256 of the file */
    int kind;                   /* enum pf_bundle_kind */
    char version[PF_VERSION_MAX + 1];
    char models[PFS_BUNDLE_MODELS_MAX + 1]; /* comma separated, "" = any */
    char hw_revs[PFS_BUNDLE_HWREVS_MAX + 1];
    uint64_t size;
    char manifest[PF_B2_HEX_LEN + 1];
    int64_t created_s, expires_s; /* from the manifest */
    int64_t uploaded_ms;
};

struct pfs_offer_rec {
    char id[PF_UPDATE_ID_MAX + 1];
    char serial[PF_SERIAL_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    int64_t created_ms;
    int64_t deadline_ms;
};

/* A recorded event (history) or, with id "", a terminal's current update. */
struct pfs_update_rec {
    char serial[PF_SERIAL_MAX + 1];
    char id[PF_UPDATE_ID_MAX + 1];
    char offer[PF_UPDATE_ID_MAX + 1];
    char bundle[PF_B2_HEX_LEN + 1];
    int kind;
    char version[PF_VERSION_MAX + 1];
    char status[24]; /* pf_update_status_names[], or "offered" */
    int64_t ts_ms;   /* terminal clock (0 for the current update) */
    int64_t recv_ms; /* when posfleetd recorded it */
    char reason[PF_UPDATE_CODE_MAX + 1];
    int percent; /* -1 when not reported */
    char code[PF_UPDATE_CODE_MAX + 1];
    char message[PF_UPDATE_TEXT_MAX + 1];
};

typedef int (*pfs_bundle_cb)(void *ctx, const struct pfs_bundle_rec *b);
typedef int (*pfs_update_cb)(void *ctx, const struct pfs_update_rec *r);
typedef int (*pfs_count_cb)(void *ctx, const char *key, int64_t n);

/* Records an uploaded bundle; *created is false (and nothing is written, not
 * even an audit row) when that id is already stored. */
int pfs_store_bundle_put(struct pfs_store *st, const struct pfs_bundle_rec *b,
                         const struct pfs_actor *actor, int64_t now_ms, bool *created,
                         struct pf_error *err) PF_WUR;
/* PF_ENOENT if absent. */
int pfs_store_bundle_get(struct pfs_store *st, const char *id, struct pfs_bundle_rec *b) PF_WUR;
/* Newest upload first. */
int pfs_store_bundle_list(struct pfs_store *st, int limit, pfs_bundle_cb cb, void *ctx) PF_WUR;

/* Records an offer with its encoded body and makes it the terminal's current
 * update (audited as device.update). PF_EEXIST if the offer id is taken. */
int pfs_store_offer_put(struct pfs_store *st, const struct pfs_offer_rec *o,
                        const struct pfs_bundle_rec *b, const char *body,
                        const struct pfs_actor *actor, struct pf_error *err) PF_WUR;
/* The encoded body of the terminal's current offer (heap, caller frees) if no
 * event of it was recorded yet (status offered) and its deadline is after now_ms;
 * else PF_ENOENT. A terminal that answered holds the offer in its own state. */
int pfs_store_offer_pending(struct pfs_store *st, const char *serial, int64_t now_ms,
                            char **body) PF_WUR;

/* 0 if offer (an offer id) was made to serial, whatever became of it;
 * PF_ENOENT if it was not (never made, or made to another terminal). */
int pfs_store_offer_check(struct pfs_store *st, const char *serial, const char *offer) PF_WUR;
/* The terminal's current offer while the terminal may still fetch it (no
 * final outcome, deadline after now_ms): its record and the bundle's size;
 * else PF_ENOENT. */
int pfs_store_offer_current(struct pfs_store *st, const char *serial, int64_t now_ms,
                            struct pfs_offer_rec *o, uint64_t *bundle_size) PF_WUR;

/*
 * Records an outcome event of serial once: *recorded is false when
 * (serial, e->id) was recorded before (nothing changes). A new event of the
 * terminal's current offer updates its current update, except that a final
 * status (success, failed, rolled_back, refused) is never replaced. Committed
 * (FULL) when this returns 0.
 */
int pfs_store_update_event_put(struct pfs_store *st, const char *serial,
                               const struct pf_update_event *e, int64_t recv_ms,
                               bool *recorded) PF_WUR;
/* The terminal's events, newest first, at most limit. */
int pfs_store_update_events(struct pfs_store *st, const char *serial, int limit, pfs_update_cb cb,
                            void *ctx) PF_WUR;
/* Deletes recorded events received before before_ms, oldest first, at most
 * max per call (*deleted: how many); now_ms as pfs_store_tx_begin's. Each
 * terminal's current update stays. */
int pfs_store_update_expire(struct pfs_store *st, int64_t before_ms, int64_t now_ms, int max,
                            int *deleted) PF_WUR;
/* Keeps the terminal's newest keep events (its current update stays);
 * *deleted: how many went; now_ms as pfs_store_tx_begin's. */
int pfs_store_update_prune(struct pfs_store *st, const char *serial, int keep, int64_t now_ms,
                           int *deleted) PF_WUR;
/* PF_ENOENT if the terminal was never offered anything. */
int pfs_store_update_current(struct pfs_store *st, const char *serial,
                             struct pfs_update_rec *r) PF_WUR;
/* Terminals per current update status (key = status). */
int pfs_store_update_counts(struct pfs_store *st, pfs_count_cb cb, void *ctx) PF_WUR;
/* Number of recorded events of serial with event id (0 or 1; for tests). */
int pfs_store_update_event_count(struct pfs_store *st, const char *serial, const char *id,
                                 int64_t *n) PF_WUR;

#endif
