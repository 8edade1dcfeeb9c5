/*
 * store_notify.h - the durable side of webhook notifications (migration 011,
 * notify/notify.h): events, one delivery per subscribed hook, and the log of
 * every attempt.
 *
 * An event and all its deliveries are written in one FULL transaction, so
 * after a restart every delivery not yet done is still pending and is sent
 * again with the same event id and the same body. Like store.h: one thread,
 * caller-owned structs.
 */
#ifndef PFS_STORE_NOTIFY_H
#define PFS_STORE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "pf/error.h"
#include "store/store.h"

#define PFS_NOTIFY_ID_LEN  32 /* hex digits of an event id */
#define PFS_NOTIFY_ERR_MAX 160

enum pfs_delivery_state { PFS_DLV_PENDING, PFS_DLV_DELIVERED, PFS_DLV_FAILED, PFS_DLV_COUNT };
extern const char *const pfs_delivery_state_names[]; /* "pending", "delivered", "failed" */

struct pfs_notify_event {
    char id[PFS_NOTIFY_ID_LEN + 1];
    const char *kind;
    const char *subject;
    const char *body; /* JSON, exactly as sent */
    int64_t created_ms;
};

/* Stores the event and a pending delivery, due now, for each of hooks[0..n). */
int pfs_store_notify_add(struct pfs_store *st, const struct pfs_notify_event *ev,
                         const char *const *hooks, size_t n, int64_t now_ms,
                         struct pf_error *err) PF_WUR;

struct pfs_delivery {
    int64_t id;
    char hook[PFS_HOOK_NAME_MAX + 1];
    char event[PFS_NOTIFY_ID_LEN + 1];
    char kind[32];
    char subject[64];
    enum pfs_delivery_state state;
    int attempts;
    int64_t next_ms;
    int last_status;
    char last_error[PFS_NOTIFY_ERR_MAX + 1];
    int64_t created_ms, done_ms;
    const char *body; /* valid during the callback only */
};
typedef int (*pfs_delivery_cb)(void *ctx, const struct pfs_delivery *d);

/* Pending deliveries due at now_ms (next_ms <= now_ms), oldest first, at most limit. */
int pfs_store_notify_due(struct pfs_store *st, int64_t now_ms, int limit, pfs_delivery_cb cb,
                         void *ctx) PF_WUR;
/* The earliest next_ms of a pending delivery; *any false when none is pending. */
int pfs_store_notify_next(struct pfs_store *st, int64_t *next_ms, bool *any) PF_WUR;

/* One attempt's outcome: logged as attempt number d->attempts + 1; the
 * delivery becomes state (pending again with next_ms, delivered or failed). */
struct pfs_attempt {
    int status;        /* HTTP status, 0 when no answer */
    const char *error; /* "" when it was answered 2xx */
    int64_t ms;        /* how long it took */
};
int pfs_store_notify_result(struct pfs_store *st, int64_t delivery, const struct pfs_attempt *a,
                            enum pfs_delivery_state state, int64_t next_ms, int64_t now_ms,
                            struct pf_error *err) PF_WUR;

/* The delivery log: deliveries of hook (NULL: every hook), newest first, with
 * id < before_id when before_id > 0. */
int pfs_store_notify_log(struct pfs_store *st, const char *hook, int64_t before_id, int limit,
                         pfs_delivery_cb cb, void *ctx) PF_WUR;
/* Deliveries of hook by state (counts[PFS_DLV_COUNT]). */
int pfs_store_notify_counts(struct pfs_store *st, const char *hook, int64_t counts[]) PF_WUR;

#endif
