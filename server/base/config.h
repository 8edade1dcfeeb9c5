/*
 * config.h - posfleetd's configuration (pf/conf.h "key = value" format).
 *
 * pfs_config_defaults() fills every key's default; pfs_config_load() reads a
 * file over them and pfs_config_check() validates the combination. Unknown
 * keys are errors naming the key and line. docs/server.md lists every key.
 */
#ifndef PFS_CONFIG_H
#define PFS_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "base/log.h"
#include "pf/error.h"

#define PFS_HOST_MAX      255
#define PFS_CLIENT_ID_MAX 64

/* Webhooks (config_notify.c, docs/server.md "Notifications"). */
#define PFS_HOOKS_MAX     8
#define PFS_HOOK_NAME_MAX 32
#define PFS_HOOK_URL_MAX  512

struct pfs_hook_conf {
    char name[PFS_HOOK_NAME_MAX + 1];
    char url[PFS_HOOK_URL_MAX + 1]; /* http:// or https:// */
    char secret_file[PATH_MAX];     /* the HMAC key; its contents are never logged */
    unsigned events;                /* bit per enum pfs_event_kind */
};

struct pfs_notify_conf {
    struct pfs_hook_conf hooks[PFS_HOOKS_MAX];
    int nhooks;
    int retry_min_ms; /* first retry after this; doubles per attempt */
    int retry_max_ms; /* up to this */
    int max_attempts; /* then the delivery is given up (failed) */
    int timeout_ms;   /* one attempt, connection included */
};

struct pfs_config {
    char mqtt_host[PFS_HOST_MAX + 1];
    int mqtt_port;          /* 0: 8883 with TLS, 1883 without */
    char mqtt_ca[PATH_MAX]; /* CA file; all three empty: plain TCP */
    char mqtt_cert[PATH_MAX];
    char mqtt_key[PATH_MAX];
    char mqtt_client_id[PFS_CLIENT_ID_MAX + 1];
    char mqtt_shared_group[PFS_CLIENT_ID_MAX + 1]; /* "" = plain subscription */
    int mqtt_keepalive_s;
    int mqtt_session_expiry_s;
    int mqtt_reconnect_min_ms;
    int mqtt_reconnect_max_ms;
    int mqtt_read_batch_ms; /* 0: read on every wake-up of the socket */
    char store_backend[32]; /* "sqlite" (default) or "postgres" */
    char store_dsn[1024];   /* postgres: libpq connection string; may hold a password */
    char store_path[PATH_MAX];
    int store_health_keep;          /* reports kept per terminal */
    int ingest_rate_per_s;          /* messages per second per terminal (0: no limit) */
    int ingest_burst;               /* ... of which at once */
    int ingest_chunkreq_rate_per_s; /* chunk requests per second per terminal (0: no limit) */
    int ingest_chunkreq_burst;
    int store_health_days;     /* 0: no age limit */
    int store_update_days;     /* update events kept this long; 0: no age limit */
    int store_update_keep;     /* update events kept per terminal */
    int store_online_sample_s; /* online count sampled this often (0: never), kept 25 h */
    int store_batch_ms;        /* longest a health report waits for its commit */
    int store_batch_max;       /* writes per batch before an immediate commit */
    char http_addr[64];
    int http_port;                      /* 0: any free port (tests) */
    bool http_tls;                      /* http.tls on|off; off only on a loopback http.addr */
    char http_cert[PATH_MAX];           /* PEM certificate chain of the API (http.tls = on) */
    char http_key[PATH_MAX];            /* its PEM private key; never logged */
    char http_tokens[PATH_MAX];         /* "" = no tokens: every /v1 call is refused */
    int http_body_max;                  /* bytes */
    int http_import_max;                /* bytes, for POST /v1/devices/import */
    int http_max_conns;                 /* connections open at once, all clients */
    int http_max_conns_per_ip;          /* connections open at once from one address */
    int http_events_per_user;           /* GET /v1/events streams open at once per user */
    int http_events_keepalive_s;        /* a comment on every idle event stream this often */
    int http_head_timeout_ms;           /* a request's whole head must arrive within this */
    char http_console_dir[PATH_MAX];    /* the back office's files; "" = no console */
    char http_javascript_dir[PATH_MAX]; /* Debian's libjs-* packages */
    int report_interval_s;
    int silent_after;                 /* intervals */
    char artifacts_dir[PATH_MAX];     /* "" = "artifacts" next to store.path */
    char update_trust_root[PATH_MAX]; /* minisign public key; "" = uploads refused */
    char update_keyring[PATH_MAX];    /* dir with keyring.json(.minisig); "" = embedded */
    int update_chunk_max;             /* bytes per chunk frame at most */
    int update_window;                /* chunks in flight per terminal */
    int update_chunk_budget;          /* bytes per offer: this many times the bundle */
    int update_deadline_min;          /* default offer deadline */
    int diag_rate_terminal;           /* diagnostic requests per terminal per minute */
    int diag_rate_user;               /* diagnostic requests per API user per minute */
    int rollout_tick_ms;              /* scheduler period (docs/rollouts.md) */
    int rollout_join_scan_s;          /* how often new registrations join live rollouts */
    char rollout_default_tz[64];      /* maintenance window zone of unbound terminals */
    unsigned rollout_approval;        /* bundle kinds (1 << enum pf_bundle_kind) whose rollouts wait
                                       * for an approver: rollout.approval none|firmware|fee_table|all */
    enum pfs_log_level log_level;
    struct pfs_notify_conf notify;
};

void pfs_config_defaults(struct pfs_config *c);
int pfs_config_load(struct pfs_config *c, const char *path, struct pf_error *err) PF_WUR;
/* Applies one key (used by the loader and by tests). */
int pfs_config_set(struct pfs_config *c, const char *key, const char *value,
                   struct pf_error *err) PF_WUR;
int pfs_config_check(const struct pfs_config *c, struct pf_error *err) PF_WUR;
/* The hook.NAME.* and notify.* keys (config_notify.c); PF_ENOENT: not one of them. */
int pfs_config_set_notify(struct pfs_config *c, const char *key, const char *value,
                          struct pf_error *err) PF_WUR;
int pfs_config_check_notify(const struct pfs_config *c, struct pf_error *err) PF_WUR;
/* True when TLS files are configured. */
bool pfs_config_tls(const struct pfs_config *c);
/* True when addr is an IPv4 or IPv6 loopback literal (127.0.0.0/8, ::1,
 * ::ffff:127.x): the only addresses plain HTTP (http.tls = off) may listen on. */
bool pfs_config_loopback(const char *addr);
/* mqtt.port, or its default: 8883 with TLS, 1883 without. */
int pfs_config_mqtt_port(const struct pfs_config *c);

#endif
