/*
 * updates.h - posfleetd's side of the update protocol (docs/server.md,
 * "Updates"; wire format in pf/msg_update.h).
 *
 *  - Uploads: a bundle verified and stored (artifacts.h), its metadata in the
 *    store (store_updates.h), audited as bundle.upload. The API's uploads
 *    are verified on libuv's thread pool (pfs_updates_upload_async): the
 *    worker reads the body and writes the artifacts directory only; the
 *    store, the log and the stats are touched on the loop thread, after.
 *  - Offers: pf_offer_from_bundle on the stored file, recorded with its body
 *    (audited as device.update) and published on pf/v1/cmd/{serial}/offer with
 *    QoS 1; sent again (same id) at each birth until a final outcome.
 *  - Chunks: requests on pf/v1/dev/{serial}/chunkreq answered by the chunk
 *    server (chunks.h), for registered, unrevoked terminals only.
 *  - Events: pf/v1/dev/{serial}/event decoded, recorded once per (serial,
 *    event id), committed, and only then acknowledged on
 *    pf/v1/cmd/{serial}/ack; a retransmission is acknowledged again. An
 *    event whose offer was never made to that terminal is not recorded:
 *    refused NOT_OFFERED (counted by the inbound dispatch, logged rate
 *    limited) and acknowledged, so the terminal stops sending it.
 *
 * The server's inbound dispatch (fleet/inbound.h) routes the dev/ leaves
 * chunkreq and event of registered terminals here (pfs_updates_on_chunkreq,
 * pfs_updates_on_event); the HTTP API (api/api_updates.c) calls
 * pfs_updates_upload and pfs_updates_offer with plain arguments and an actor.
 * struct pfs_updates is caller-owned (init/release); it owns the artifacts
 * and the chunk server and borrows the store, the publisher (may be NULL:
 * nothing is published), log and clock. One thread.
 */
#ifndef PFS_UPDATES_H
#define PFS_UPDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "updates/artifacts.h"
#include "updates/chunks.h"
#include "base/config.h"
#include "base/log.h"
#include "base/publisher.h"
#include "fleet/inbound.h"
#include "pf/clock.h"
#include "pf/msg_update.h"
#include "store/store_updates.h"

struct pfs_updates_stats {
    uint64_t uploads; /* bundles stored (new) */
    uint64_t uploads_refused;
    uint64_t uploads_verifying; /* on the thread pool now (a gauge) */
    uint64_t offers;
    uint64_t reoffers;                    /* offers sent again at a birth */
    uint64_t events[PF_UPD_STATUS_COUNT]; /* recorded, by status */
    uint64_t events_duplicate;            /* retransmissions acknowledged again */
    uint64_t events_bad;                  /* refused by the codec */
    uint64_t events_not_offered;          /* for an offer not made to the terminal */
    uint64_t store_errors;
};

struct pfs_updates {
    const struct pfs_config *cfg;
    struct pfs_store *store;
    const struct pfs_publisher *pub;
    const struct pfs_log *log;
    const struct pf_clock *clock;
    uv_loop_t *loop; /* for the upload workers; NULL: uploads verified in the caller */
    struct pfs_artifacts art;
    bool art_open;
    struct pfs_chunks chunks;
    bool chunks_open;
    struct pfs_updates_stats stats;
    struct pfs_reject_log rejects; /* refused events and chunk requests */
    /* The offer fields of the bundle offered last (heap): pf_offer_from_bundle
     * hashes the whole file, and a rollout offers one bundle many times. */
    struct pf_offer *offer_cache;
    char offer_cache_id[PF_B2_HEX_LEN + 1];
};

int pfs_updates_init(struct pfs_updates *u, const struct pfs_config *cfg, struct pfs_store *store,
                     const struct pfs_publisher *pub, const struct pfs_log *log,
                     const struct pf_clock *clock, struct pf_error *err) PF_WUR;
void pfs_updates_release(struct pfs_updates *u);

/* Inbound handlers (ctx is the struct pfs_updates) for dev/{serial}/chunkreq and
 * dev/{serial}/event of a registered terminal. They return 0 or the reason the
 * inbound dispatch counts (posfleet_messages_rejected_total): PF_ENOT_OFFERED for
 * an event of an offer not made to the terminal; the decoder's reason for a
 * malformed message or an event carrying a field reserved for other statuses
 * (logged here naming the field); other refusals are counted in stats and
 * logged here. */
int pfs_updates_on_chunkreq(void *ctx, const char *serial, const void *payload, size_t len);
int pfs_updates_on_event(void *ctx, const char *serial, const void *payload, size_t len);
/* Publishes the terminal's current offer again (same id) if the terminal has not
 * answered it yet (no event recorded) and its deadline has not passed; PF_ENOENT
 * when there is none. A terminal that answered keeps the offer in its persisted
 * state and resends its own events until acked: sending the offer again then only
 * made it resend them early, as duplicates. why goes to the log ("after its birth"). */
int pfs_updates_resend(struct pfs_updates *u, const char *serial, const char *why);
/* A message published through the publisher (id mid) was written to the connection. */
void pfs_updates_published(void *ctx, int mid);

/* Verifies and stores an uploaded bundle; *created false for a re-upload. */
int pfs_updates_upload(struct pfs_updates *u, const void *buf, size_t len,
                       const struct pfs_actor *actor, struct pfs_bundle_rec *rec, bool *created,
                       struct pf_error *err) PF_WUR;
/* The end of pfs_updates_upload_async, on the loop thread: rc, rec, created
 * and err as pfs_updates_upload leaves them; all valid during the call only. */
typedef void (*pfs_updates_upload_cb)(void *ctx, int rc, const struct pfs_bundle_rec *rec,
                                      bool created, const struct pf_error *err);
/*
 * pfs_updates_upload with the verification (and the artifact's write) on
 * libuv's thread pool, so the loop keeps serving while a large bundle is
 * checked; the store write, stats and done follow on the loop thread. Takes
 * buf (heap; freed by the module, also on failure) and copies actor. 0 when
 * done will be called (without u->loop: before this returns), else
 * PF_ENOMEM and done is not called.
 */
int pfs_updates_upload_async(struct pfs_updates *u, char *buf, size_t len,
                             const struct pfs_actor *actor, pfs_updates_upload_cb done,
                             void *ctx) PF_WUR;

/*
 * Offers bundle (hex id) to serial: PF_ENOENT unknown bundle,
 * PF_EUNKNOWN_SERIAL, PF_EREVOKED, PF_EMODEL / PF_EHWREV (the registry's model
 * or hardware revision is not among the bundle's), PF_ECONN when the broker
 * is unreachable (the offer is then not recorded). deadline_min <= 0 takes
 * update.deadline_min.
 */
int pfs_updates_offer(struct pfs_updates *u, const char *serial, const char *bundle,
                      int deadline_min, const struct pfs_actor *actor, struct pfs_offer_rec *out,
                      struct pf_error *err) PF_WUR;

/*
 * Offers bundle to serial as member of a rollout: the same checks and
 * message, recorded together with the member's move to offered (or
 * reverting) by pfs_store_rollout_offer; PF_ESTATE if the member is no longer
 * pending. deadline_ms is absolute.
 */
int pfs_updates_offer_member(struct pfs_updates *u, int64_t rollout, const char *serial,
                             const char *bundle, int64_t deadline_ms, struct pfs_offer_rec *out,
                             struct pf_error *err) PF_WUR;

#endif
