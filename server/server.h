/*
 * server.h - posfleetd's core: one libuv loop that owns everything.
 *
 * The loop drives the MQTT connection (mqtt.h), the HTTP API (http.h,
 * api.h), the ingest batch timer, the silent-terminal check, health
 * retention and signals. SQLite is touched only from the loop thread.
 * Messages from terminals go through one dispatch (fleet/inbound.h), whose
 * table from leaf to module is set up here; the modules that publish get the
 * connection as a struct pfs_publisher.
 *
 * pfs_server_new() opens the store, loads tokens, binds the HTTP port and
 * starts connecting to the broker; pfs_server_run() runs until SIGTERM/SIGINT
 * (when opts.signals) or pfs_server_stop(), then commits the pending batch,
 * disconnects and stops the API. pfs_server_free() closes the store.
 * SIGHUP re-reads the tokens file (a bad file is logged and the old tokens stay).
 */
#ifndef PFS_SERVER_H
#define PFS_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "accounts/accounts.h"
#include "admin/backup.h"
#include "base/config.h"
#include "base/live.h"
#include "diag/diag.h"
#include "fleet/inbound.h"
#include "fleet/ingest.h"
#include "lifecycle/bulkjob.h"
#include "lifecycle/lifectl.h"
#include "notify/notify.h"
#include "base/log.h"
#include "base/metrics.h"
#include "pf/clock.h"
#include "rollouts/rollout.h"
#include "store/store.h"
#include "api/tokens.h"
#include "updates/updates.h"

struct pfs_api;
struct pfs_http;
struct pfs_static;
struct pfs_mqtt;
struct pfs_webhook;

struct pfs_server_opts {
    bool signals; /* stop on SIGTERM/SIGINT */
    bool mqtt;    /* connect to the broker (tests of the API alone turn it off) */
};

struct pfs_server {
    struct pfs_config cfg;
    struct pfs_server_opts opts;
    struct pfs_log log;
    struct pf_clock clock;
    uv_loop_t loop;
    bool loop_open;
    struct pfs_store *store;
    struct pfs_metrics metrics;
    struct pfs_ingest ingest;
    bool ingest_open;
    struct pfs_inbound inbound; /* parse once, registry decision, table by leaf */
    struct pfs_publisher pub;   /* the MQTT connection, lent to updates, diag, lifectl */
    struct pfs_updates updates;
    bool updates_open;
    struct pfs_lifectl lifectl; /* activation, tamper locks (lifectl.h) */
    bool lifectl_open;
    struct pfs_diag diag; /* remote diagnostics (diag.h) */
    bool diag_open;
    struct pfs_rollouts rollouts; /* staged rollouts (rollout.h) */
    bool rollouts_open;
    struct pfs_notify notify; /* webhooks (notify.h) */
    bool notify_open;
    struct pfs_webhook *webhook; /* its transport (net/webhook.h); NULL without hooks */
    struct pfs_tokens tokens;
    struct pfs_accounts accounts; /* users, sessions, API tokens (accounts.h) */
    bool accounts_open;
    struct pfs_backup backup;   /* online backups (admin/backup.h) */
    struct pfs_bulkjob bulkjob; /* bulk changes off the loop (lifecycle/bulkjob.h) */
    struct pfs_live live;       /* consoles watching for GET /v1/events (base/live.h) */
    bool live_open;
    /* The HTTP API (api.h) and its transport (http.h), on the heap so that
     * this header needs neither. */
    struct pfs_api *api;
    struct pfs_http *http;
    struct pfs_static *console; /* the back office's files in front of api */
    bool http_open;
    struct pfs_mqtt *mqtt; /* heap: only server.c sees the MQTT transport */
    bool mqtt_open;
    uv_timer_t batch_timer;
    uv_timer_t silent_timer;
    uv_timer_t retention_timer;
    uv_timer_t online_timer; /* store.online_sample_s */
    bool online_busy;        /* an online count runs on the thread pool */
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    uv_async_t stop_async;
    bool handles_open;
    bool stopped;
};

int pfs_server_new(const struct pfs_config *cfg, const struct pfs_server_opts *opts,
                   struct pfs_server **out, struct pf_error *err) PF_WUR;
/* Runs the loop until stopped; returns 0 after a clean shutdown. */
int pfs_server_run(struct pfs_server *s) PF_WUR;
/* Asks the loop to shut down; safe from any thread. */
void pfs_server_stop(struct pfs_server *s);
void pfs_server_free(struct pfs_server *s);
/* The bound HTTP port (useful with http.port = 0). */
int pfs_server_http_port(const struct pfs_server *s);

#endif
