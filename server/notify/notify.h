/*
 * notify.h - webhook notifications: what happened (an event kind, a subject
 * and a JSON payload, base/events.h) sent as a signed HTTP POST to every hook
 * the configuration subscribes to that kind (docs/server.md, "Notifications").
 *
 * The domain side is pfs_notify_emit(): one call where a thing happens. The
 * event gets a random id, its body is built once, and the event with one
 * delivery per subscribed hook is stored in one transaction (store_notify.h)
 * before anything is sent: a delivery survives a restart and every attempt of
 * it sends the same body with the same event id, so a receiver dedupes on
 * X-Posfleet-Event-Id.
 *
 * The sender runs on the loop: a timer takes the deliveries that are due and
 * hands them to the transport, a struct pfs_notify_transport that server.c
 * wires to net/webhook.h (libcurl's multi interface on the loop, never
 * blocking it), which reports each outcome with pfs_notify_done(). A 2xx answer delivers; anything
 * else (no answer, timeout, another status) is retried after notify.retry_min_ms, doubling up to
 * notify.retry_max_ms (each delay drawn in its upper half), until notify.max_attempts attempts,
 * after which the delivery is failed. Every attempt is in the delivery log (pfs_store_notify_log).
 *
 * Signature: X-Posfleet-Signature: sha256=HEX, the HMAC-SHA256 with the
 * hook's secret of "TIMESTAMP.BODY", TIMESTAMP being X-Posfleet-Timestamp
 * (Unix seconds of the attempt). The secret is read from the hook's
 * secret_file at start and never logged.
 */
#ifndef PFS_NOTIFY_H
#define PFS_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/events.h"
#include "base/log.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "store/store.h"

#define PFS_NOTIFY_SECRET_MAX 256
#define PFS_NOTIFY_BATCH      32 /* deliveries in flight at most */

/* How a delivery leaves (net/webhook.h implements it; server.c wires it). */
struct pfs_notify_transport {
    int (*post)(void *ctx, int64_t token, const char *url, const char *const *headers,
                size_t nheaders, const char *body, size_t len);
    void *ctx;
};

struct pfs_notify_hook {
    char name[PFS_HOOK_NAME_MAX + 1];
    char url[PFS_HOOK_URL_MAX + 1];
    unsigned events;
    unsigned char secret[PFS_NOTIFY_SECRET_MAX];
    size_t secret_len;
};

struct pfs_notify_stats {
    uint64_t events, delivered, retried, failed;
};

struct pfs_notify {
    struct pfs_store *store;
    const struct pf_clock *clock;
    const struct pfs_log *log;
    struct pfs_notify_hook hooks[PFS_HOOKS_MAX];
    int nhooks;
    int retry_min_ms, retry_max_ms, max_attempts, timeout_ms;
    uv_loop_t *loop; /* NULL: events are stored, nothing is sent (tests of the API) */
    uv_timer_t timer;
    bool timer_open;
    struct pfs_notify_transport tr; /* post NULL: nothing is sent */
    int inflight;
    struct pfs_notify_stats stats;
};

/* Reads every hook's secret file (loop NULL: nothing is ever sent); PF_EINVAL naming the hook when
 * one is missing, empty or longer than PFS_NOTIFY_SECRET_MAX bytes. */
int pfs_notify_init(struct pfs_notify *n, uv_loop_t *loop, const struct pfs_notify_conf *conf,
                    struct pfs_store *store, const struct pf_clock *clock,
                    const struct pfs_log *log, struct pf_error *err) PF_WUR;
/* Starts sending what is due (pending deliveries of an earlier run first). */
void pfs_notify_start(struct pfs_notify *n, const struct pfs_notify_transport *tr);
/* A transfer of delivery token ended (status: HTTP status, 0 without an answer). */
void pfs_notify_done(void *ctx, int64_t token, int status, const char *error, int64_t ms);
/* Stops sending (transfers in flight are abandoned: still pending, sent again
 * at the next start) and closes the timer; the loop must run once more. */
void pfs_notify_stop(struct pfs_notify *n);
void pfs_notify_release(struct pfs_notify *n);

/*
 * Records that kind happened to subject (a serial, a rollout or repair id),
 * with data (an object, stolen; may be NULL) as the payload's "data", for
 * every hook subscribed to kind, and starts sending. n may be NULL (no
 * notifications). Failures are logged: the caller's own action stands.
 */
void pfs_notify_emit(struct pfs_notify *n, enum pfs_event_kind kind, const char *subject,
                     json_t *data);

/* A rollout's state change by the scheduler: paused, completed, or expired
 * (its deadline passed before the last stage completed). Other changes are
 * not notified. */
void pfs_notify_rollout(struct pfs_notify *n, int64_t rollout, const char *state,
                        const char *reason, const char *detail);
/* A repair record of serial moved to state. */
void pfs_notify_repair(struct pfs_notify *n, int64_t repair, const char *serial, const char *state,
                       const char *actor);

/* The signature header's value for body at timestamp ts (for tests and receivers). */
void pfs_notify_sign(const unsigned char *secret, size_t secret_len, int64_t ts, const char *body,
                     char out[7 + 64 + 1]);

/* The delay before attempt number attempt + 1, after attempt failures. */
int64_t pfs_notify_backoff_ms(const struct pfs_notify *n, int attempts);

#endif
