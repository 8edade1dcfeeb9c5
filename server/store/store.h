/*
 * store.h - posfleetd's persistent state behind one interface.
 *
 * Everything posfleetd keeps (the device registry, each terminal's latest
 * state, the health history, alerts and the audit log here; lifecycle,
 * updates, diagnostics and rollouts in the store_*.h beside it) goes through
 * these functions; only the backend under server/store/BACKEND/ speaks its
 * storage's language. Every backend is built in and the configuration chooses
 * one at start (store.backend: store/sqlite/ is the embedded default,
 * store/postgres/ the shared one): each pfs_store_NAME calls the chosen
 * backend's member of its ops table (store_ops.h, generated with store.c by
 * packaging/scripts/gen-store-ops.py); callers do not change.
 * Every backend passes the contract suite (tests/unit/test_store_contract.c).
 * The store persists; the rules (which state may follow which, who may be
 * bound, what a swap moves) are decided by the domain modules in C.
 *
 * Threading: a store is used by one thread only (posfleetd's loop). A long
 * administrative change (a bulk bind of a whole file) runs on a second handle
 * of the same storage (pfs_store_open_sibling) on another thread, while the
 * loop's handle is held (pfs_store_hold): see "Long changes off the loop".
 *
 * Two write paths:
 *  - The ingest path (health, birth, state, alerts) writes into an open batch:
 *    the first write begins a transaction and pfs_store_flush() commits it, so
 *    a burst of reports costs one commit (synchronous=NORMAL). A batch not
 *    flushed is committed by pfs_store_close(); a crash loses it whole (never
 *    part of it).
 *  - Administrative changes (registry, revocation, lifecycle, offers...)
 *    commit any open batch first, then run in their own transaction with
 *    synchronous=FULL and write an audit row (actor, role, action, target,
 *    before and after as JSON) in the same transaction: committed when the
 *    call returns 0, and nothing at all written when it fails. The JSON is
 *    built from records by store/record_json.h, rollout rows and counts
 *    included, so every backend writes the same.
 * Reads see the open batch and the open transaction.
 *
 * Transactions: domain code that composes several store calls into one
 * atomic change opens a struct pfs_tx (pfs_store_tx_begin), hands it to the
 * calls that take one (the swap hook of store_lifecycle.h, the rollout member
 * moves of store_rollouts.h) and commits or rolls it back. One transaction is
 * open at a time; the calls that run their own transaction refuse with
 * PF_ESTATE while one is open, and ingest writes fail (PF_EIO): the loop
 * opens and ends a transaction within one callback.
 *
 * Ownership: every struct below is caller-owned; strings handed to callbacks
 * are valid only during the call. A struct pfs_tx belongs to its store and is
 * valid from begin to commit or rollback.
 */
#ifndef PFS_STORE_H
#define PFS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg.h"

#define PFS_MERCHANT_MAX     64
#define PFS_ALERT_KIND_MAX   31
#define PFS_ALERT_DETAIL_MAX 255
#define PFS_ACTOR_MAX        64

struct pfs_store;
/* An open transaction (opaque; its generic head is in store_ops.h). */
struct pfs_tx;

/* How hard a transaction's commit is. FULL: on disk when commit returns (it
 * survives a power cut). NORMAL: atomic and crash-safe, but a power cut may
 * lose the last commits (the ingest path's durability). */
enum pfs_durability { PFS_DURABILITY_NORMAL, PFS_DURABILITY_FULL };

enum pfs_dev_status { PFS_DEV_REGISTERED, PFS_DEV_REVOKED };
extern const char *const pfs_dev_status_names[]; /* "registered", "revoked", NULL */

struct pfs_store_opts {
    const char *backend; /* one of pfs_store_backends; NULL: "sqlite" */
    const char *path;    /* SQLite database file; created with its directory's permissions */
    const char *dsn;     /* PostgreSQL connection string (libpq's keyword=value or URI) */
    /* A second handle on a store open already (pfs_store_sibling_opts): nothing
     * is created or migrated. */
    bool sibling;
};

/* The backends built in, the values store.backend accepts ("sqlite",
 * "postgres"), NULL-terminated; the first is the default. */
extern const char *const pfs_store_backends[];

/* Who makes an administrative change (from the API token or session): the
 * organisation and the client address are NULL for posfleetd itself. */
struct pfs_actor {
    const char *name;
    const char *role;
    const char *org;      /* the organisation's name */
    const char *org_path; /* its path (store_accounts.h), for scoped audit reads */
    const char *addr;     /* the client's address */
};

/* A registry entry. hw_rev is "" when not set. merchant_id is the terminal's
 * binding ("" when unbound; there is no other merchant): read from the
 * lifecycle, and given to add/import it binds the new terminal to that
 * merchant, which must exist and be active (the "bind" transition). */
struct pfs_device {
    char serial[PF_SERIAL_MAX + 1];
    char model[PF_MODEL_MAX + 1];
    char hw_rev[PF_HWREV_MAX + 1];
    char merchant_id[PFS_MERCHANT_MAX + 1];
    enum pfs_dev_status status;
    int64_t created_ms;
    int64_t revoked_ms; /* 0 unless revoked */
};

/* The latest state of a terminal. */
struct pfs_dev_state {
    bool seen; /* false: no accepted message ever (the other fields are zero) */
    bool online;
    int64_t last_seen_ms; /* server time of the last accepted message */
    /* Running firmware and fee table: from the newest of birth and health. */
    char fw_version[PF_VERSION_MAX + 1];
    enum pf_slot fw_slot;
    char fee_version[PF_VERSION_MAX + 1];
    /* The fee table waiting for its effective time, as last reported (version ""
     * when none, or when the agent does not report it). */
    struct pf_fee_pending fee_pending;
    bool have_birth;
    struct pf_birth birth;
    bool have_health;
    struct pf_health health; /* the newest report (fleet/devmap.h, pfs_report_rank) */
};

/* A stored health report. */
struct pfs_health_row {
    int64_t recv_ms;   /* when posfleetd received it */
    int64_t stored_ms; /* when its batch was committed */
    struct pf_health h;
};

struct pfs_alert {
    char serial[PF_SERIAL_MAX + 1];
    char kind[PFS_ALERT_KIND_MAX + 1];
    int64_t opened_ms;
    int64_t closed_ms; /* 0 while open */
    char detail[PFS_ALERT_DETAIL_MAX + 1];
};

struct pfs_audit {
    int64_t id; /* increasing; a cursor for paging backwards */
    int64_t ts_ms;
    char actor[PFS_ACTOR_MAX + 1];
    char role[16];
    char action[32];
    char target[64];
    char org[65];       /* the actor's organisation, "" before accounts or for posfleetd */
    char addr[64];      /* the client's address, "" when not recorded */
    const char *before; /* JSON text or NULL */
    const char *after;  /* JSON text or NULL */
};

/* Device list filters; NULL or 0 fields do not filter. */
enum pfs_conn_filter {
    PFS_FILTER_ANY,
    PFS_FILTER_ONLINE,  /* registered, online */
    PFS_FILTER_OFFLINE, /* registered, seen, offline */
    PFS_FILTER_NEVER,   /* registered, never seen */
    PFS_FILTER_REVOKED,
};
struct pfs_scope;
struct pfs_dev_filter {
    const struct pfs_scope *scope; /* only terminals inside it (store_accounts.h); NULL all */
    enum pfs_conn_filter conn;
    const char *model;
    const char *fw;
    const char *alert; /* has this kind of alert open */
    const char *after; /* keyset: serials strictly above this one */
    int limit;         /* rows to return, >= 1 */
};

struct pfs_summary {
    int64_t total, online, offline, never_seen, revoked;
};

/* Per-terminal data the server caches at startup: every terminal ever seen. */
struct pfs_seen {
    const char *serial;
    enum pfs_dev_status status;
    bool online;
    int64_t last_seen_ms;
    bool have_health;
    uint32_t health_seq;
    int64_t health_ts_ms;
};

typedef int (*pfs_device_cb)(void *ctx, const struct pfs_device *d, const struct pfs_dev_state *s,
                             const char *alerts_csv);
typedef int (*pfs_health_cb)(void *ctx, const struct pfs_health_row *row);
typedef int (*pfs_alert_cb)(void *ctx, const struct pfs_alert *a);
typedef int (*pfs_audit_cb)(void *ctx, const struct pfs_audit *a);
typedef int (*pfs_seen_cb)(void *ctx, const struct pfs_seen *s);
/* group is "alerts", "models" or "firmware". */
typedef int (*pfs_group_cb)(void *ctx, const char *group, const char *key, int64_t count);
/* One fee table and how many registered terminals hold it: active (effective_at 0)
 * or pending until effective_at (Unix seconds), as the terminals last reported. */
typedef int (*pfs_fee_group_cb)(void *ctx, const char *version, bool pending, int64_t effective_at,
                                int64_t terminals);

/* Opens (creating if needed) and migrates the store of opts->backend.
 * PF_EINVAL, naming the ones built in, for a backend that is not. */
int pfs_store_open(const struct pfs_store_opts *opts, struct pfs_store **out,
                   struct pf_error *err) PF_WUR;
/* Rolls back an open transaction, commits any open batch and closes. NULL is
 * a no-op. */
void pfs_store_close(struct pfs_store *st);
/* The schema version now in the store (the highest migration applied). */
int pfs_store_schema_version(struct pfs_store *st, int *version) PF_WUR;

/* --- transactions --- */

/*
 * Commits the open ingest batch (its health rows stamped stored at now_ms; 0
 * leaves them unstamped), then opens a transaction. PF_ESTATE if one is open.
 */
int pfs_store_tx_begin(struct pfs_store *st, enum pfs_durability durability, int64_t now_ms,
                       struct pfs_tx **tx, struct pf_error *err) PF_WUR;
/* Commits (rolled back if the commit fails). tx is closed either way. */
int pfs_store_tx_commit(struct pfs_tx *tx, struct pf_error *err) PF_WUR;
/* Rolls back: nothing written since begin remains. NULL or closed: no-op. */
void pfs_store_tx_rollback(struct pfs_tx *tx);

/* --- long changes off the loop --- */

/*
 * What pfs_store_open() needs to open a second handle on st's storage, for
 * one other thread (libuv's thread pool): its own connection, the same schema
 * (no migration runs). Filled on st's thread; path and dsn are heap (free
 * them with pfs_store_sibling_opts_release), backend is static. The handle is opened, used and
 * closed (pfs_store_close) on the other thread; it starts with no batch and no
 * transaction.
 */
int pfs_store_sibling_opts(struct pfs_store *st, struct pfs_store_opts *opts,
                           struct pf_error *err) PF_WUR;
void pfs_store_sibling_opts_release(struct pfs_store_opts *opts);
/*
 * While a sibling writes one long transaction (it holds the storage's only
 * write lock until it commits), the loop's handle must not wait for that lock.
 * pfs_store_hold() commits the open batch (stamped now_ms) and from then on,
 * until pfs_store_release():
 *  - the ingest writes (health, birth, state, alerts, prune) are kept in
 *    memory in arrival order, at most PFS_STORE_HELD_MAX (beyond that they
 *    are dropped and counted); a health report's *newer is the caller's rank
 *    (PFS_HEALTH_RANK_STORE counts as newer); pfs_store_batch_pending() is 0
 *    and pfs_store_flush() does nothing; pfs_store_health_expire() deletes
 *    nothing (the next retention run does);
 *  - transactions are refused (PF_ESTATE: "a bulk change is being written"),
 *    so every administrative call answers at once instead of waiting;
 *  - a stray write outside both fails at once instead of waiting (SQLite:
 *    busy timeout 0); reads go on and see what was committed before.
 * pfs_store_release() writes the held writes in one batch and commits it
 * (stamped now_ms); *written and *dropped (may be NULL) count them.
 */
#define PFS_STORE_HELD_MAX 65536
int pfs_store_hold(struct pfs_store *st, int64_t now_ms, struct pf_error *err) PF_WUR;
int pfs_store_release(struct pfs_store *st, int64_t now_ms, size_t *written,
                      size_t *dropped) PF_WUR;
/* True between pfs_store_hold() and pfs_store_release(). */
bool pfs_store_is_held(const struct pfs_store *st);

/* --- registry (administrative: own transaction, FULL sync, audited) --- */

/* PF_EEXIST if the serial is registered (or revoked). Closes an open
 * unknown_serial alert for it. */
int pfs_store_device_add(struct pfs_store *st, const struct pfs_device *d,
                         const struct pfs_actor *actor, int64_t now_ms,
                         struct pf_error *err) PF_WUR;
/*
 * Registers many terminals in one transaction, all or nothing. next() fills
 * the next device and returns 1, 0 at the end, or a negative PF_E* code (with
 * err filled) to abort. A serial already registered, or twice in the input,
 * aborts with PF_EEXIST. Each terminal gets its own audit row. *count is the
 * number registered.
 */
typedef int (*pfs_device_next_cb)(void *ctx, struct pfs_device *d, struct pf_error *err);
int pfs_store_device_import(struct pfs_store *st, pfs_device_next_cb next, void *ctx,
                            const struct pfs_actor *actor, int64_t now_ms, int64_t *count,
                            struct pf_error *err) PF_WUR;
/* PF_EUNKNOWN_SERIAL if absent, PF_ESTATE if already revoked. */
int pfs_store_device_revoke(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                            int64_t now_ms, struct pf_error *err) PF_WUR;

/* --- reads --- */

/* PF_EUNKNOWN_SERIAL if not registered. d or s may be NULL. */
int pfs_store_device_get(struct pfs_store *st, const char *serial, struct pfs_device *d,
                         struct pfs_dev_state *s) PF_WUR;
/* Registration status only (cheap): PF_EUNKNOWN_SERIAL if not registered. */
int pfs_store_device_status(struct pfs_store *st, const char *serial,
                            enum pfs_dev_status *status) PF_WUR;
/* Sorted by serial. *more is set when rows beyond the limit exist. */
int pfs_store_device_list(struct pfs_store *st, const struct pfs_dev_filter *f, pfs_device_cb cb,
                          void *ctx, bool *more) PF_WUR;
/* The newest n reports of a terminal, newest first. */
int pfs_store_health_recent(struct pfs_store *st, const char *serial, int n, pfs_health_cb cb,
                            void *ctx) PF_WUR;
/* The charted values of one stored health report (fleet/health_series.h). */
struct pfs_health_point {
    int64_t ts_ms; /* the terminal's clock */
    int64_t battery_pct;
    int64_t signal_dbm;
    int64_t temp_c;
    int64_t storage_free_kb;
};
typedef int (*pfs_health_point_cb)(void *ctx, const struct pfs_health_point *p);
/* The reports of a terminal whose ts_ms lies in [from_ms, to_ms], in no
 * particular order; cb's non-zero return stops and is returned. */
int pfs_store_health_range(struct pfs_store *st, const char *serial, int64_t from_ms, int64_t to_ms,
                           pfs_health_point_cb cb, void *ctx) PF_WUR;
/* Open alerts, of one terminal or (serial NULL) all, by serial then kind. */
int pfs_store_alerts_open(struct pfs_store *st, const char *serial, pfs_alert_cb cb,
                          void *ctx) PF_WUR;
int pfs_store_summary(struct pfs_store *st, struct pfs_summary *sum, pfs_group_cb cb,
                      void *ctx) PF_WUR;
/* The fleet's fee tables by effective date: the active ones first (by version), then
 * the pending ones by effective time, then version. cb's non-zero return stops. */
int pfs_store_fee_tables(struct pfs_store *st, pfs_fee_group_cb cb, void *ctx) PF_WUR;
/* Audit rows, newest first; target NULL for all; before_id > 0 returns only
 * rows older than that id (keyset paging). */
int pfs_store_audit_list(struct pfs_store *st, const char *target, int64_t before_id, int limit,
                         pfs_audit_cb cb, void *ctx) PF_WUR;
/* Every terminal with a latest state (for the server's cache at startup). */
int pfs_store_seen_each(struct pfs_store *st, pfs_seen_cb cb, void *ctx) PF_WUR;
/* Number of health rows stored for a terminal. */
int pfs_store_health_count(struct pfs_store *st, const char *serial, int64_t *n) PF_WUR;

/* --- ingest (batched) --- */

/* Appends to the history; updates the latest state only if the report is
 * newer than the one held (higher seq, or higher ts after a reset). Marks the
 * terminal online and seen at recv_ms. *newer tells which (may be NULL). */
int pfs_store_health_put(struct pfs_store *st, const char *serial, const struct pf_health *h,
                         int64_t recv_ms, bool *newer) PF_WUR;
/* How a report ranks against the one held, when the caller decided it (the domain's rule). */
enum pfs_health_rank {
    PFS_HEALTH_RANK_STORE = -1, /* undecided: the store compares seq and ts as above */
    PFS_HEALTH_OLDER = 0,       /* history only */
    PFS_HEALTH_NEWER = 1,       /* the latest state moves to it */
};
/* pfs_store_health_put with the rank decided by the caller (fleet/devmap.h's
 * pfs_report_rank orders by boot and seq). */
int pfs_store_health_record(struct pfs_store *st, const char *serial, const struct pf_health *h,
                            int64_t recv_ms, enum pfs_health_rank rank, bool *newer) PF_WUR;
/* Records the birth (unless an older one than held), marks online and seen. */
int pfs_store_birth_put(struct pfs_store *st, const char *serial, const struct pf_birth *b,
                        int64_t recv_ms) PF_WUR;
/* Records an online/offline state message. */
int pfs_store_state_put(struct pfs_store *st, const char *serial, const struct pf_state *m,
                        int64_t recv_ms) PF_WUR;
/* PF_EEXIST if one of that kind is open already (nothing changed). */
int pfs_store_alert_open(struct pfs_store *st, const char *serial, const char *kind, int64_t now_ms,
                         const char *detail) PF_WUR;
/* PF_ENOENT if none of that kind is open. */
int pfs_store_alert_close(struct pfs_store *st, const char *serial, const char *kind,
                          int64_t now_ms) PF_WUR;
/* Keeps the newest keep reports of a terminal. */
int pfs_store_health_prune(struct pfs_store *st, const char *serial, int keep) PF_WUR;
/* Deletes reports received before before_ms, at most max rows per call. */
int pfs_store_health_expire(struct pfs_store *st, int64_t before_ms, int max, int *deleted) PF_WUR;
/* Writes currently in the open batch (0 if none is open). */
int pfs_store_batch_pending(struct pfs_store *st);
/* Commits the open batch, stamping its health rows with stored_ms. *rows gets
 * the number of health rows committed (may be NULL). No-op without a batch. */
int pfs_store_flush(struct pfs_store *st, int64_t stored_ms, int *rows) PF_WUR;

#endif
