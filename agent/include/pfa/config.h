/*
 * config.h - posfleet-agent's configuration file (pf/conf.h "key = value").
 *
 * docs/agent.md lists every key. pfa_config_load() fills a caller-owned
 * struct pfa_config from a file; pfa_config_parse() does the same from memory
 * (what the tests and posfleet-sim call). Path-like values are heap strings
 * owned by the struct: pfa_config_release() frees them. On error nothing in
 * *cfg needs freeing beyond pfa_config_release(), and err says "FILE:LINE: key:
 * reason" (or "FILE: key: reason" for a key that is missing altogether).
 */
#ifndef PFA_CONFIG_H
#define PFA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfa/log.h"
#include "pf/error.h"
#include "pf/msg.h"

struct pfa_config {
    char serial[PF_SERIAL_MAX + 1];
    char model[PF_MODEL_MAX + 1];
    char hw_rev[PF_HWREV_MAX + 1];
    char *broker_host;
    int broker_port;
    char *tls_ca; /* all three TLS paths or none (plain TCP, development only) */
    char *tls_cert;
    char *tls_key;
    char *state_dir;
    char hal[16];         /* backend name: "sim" or "linux" */
    char *hal_dir;        /* sim: directory of value files (NULL = all defaults); linux: the
                             directory the payment application shares (default /run/posfleet) */
    char *hal_root;       /* linux: where sys/ and proc/ are found; NULL = "/" */
    char *hal_data_dir;   /* linux: free storage is measured here; NULL = state_dir */
    char *hal_reboot_cmd; /* linux: run to reboot; NULL = /usr/sbin/reboot */
    int health_interval_s;
    int health_jitter_pct;
    int tamper_poll_ms; /* tamper switch read this often; 0 = only on pfa_agent_tamper_check() */
    int queue_max;
    int backoff_min_ms;
    int backoff_max_ms;
    int keepalive_s;
    int session_expiry_s;
    int connect_timeout_s;
    char fw_version[PF_VERSION_MAX + 1];
    enum pf_slot fw_slot;
    char fee_version[PF_VERSION_MAX + 1];
    enum pfa_log_level log_level;
    /* Update engine (docs/agent.md, "Updates"): enabled when update.slot_a is set. */
    char *upd_slot_a;
    char *upd_slot_b;
    char upd_boot[8]; /* boot-control backend: file, uboot, grub */
    char *upd_boot_env;
    char *upd_boot_cmdline;
    char *upd_trust_root;
    char *upd_keyring;
    char *upd_feetable_dir;
    int upd_battery_min_pct;
    int upd_storage_margin_kb;
    int upd_retry_s;
    int upd_stall_s;
    int upd_resend_s;
    int upd_boot_tries;
    int upd_chunk_kb;
    int upd_window;
    int upd_persist_kb;
    int upd_exit_on_reboot; /* simulation: the process exits when it "reboots" */
    /* Diagnostics (docs/agent.md, "Diagnostics"). */
    char *diag_payment_host; /* net check target; NULL = not configured */
    int diag_payment_port;
    int diag_log_lines;      /* log lines kept in memory for the logs command */
    int diag_archive_max_kb; /* upper bound of a diagnostic archive */
};

/* Sets every default and clears the required keys. */
void pfa_config_init(struct pfa_config *cfg);
void pfa_config_release(struct pfa_config *cfg);

/* pfa_config_init() + parse + check that required keys are present and consistent. */
int pfa_config_load(const char *path, struct pfa_config *cfg, struct pf_error *err) PF_WUR;
int pfa_config_parse(const char *buf, size_t len, const char *name, struct pfa_config *cfg,
                     struct pf_error *err) PF_WUR;

/*
 * Calls cb for every key in the table's order with its effective value as
 * text ("" for an absent optional key). The value is only valid during the
 * call. Diagnostics render the configuration from this, redacted.
 */
typedef void (*pfa_config_each_cb)(void *ctx, const char *key, const char *value);
void pfa_config_each(const struct pfa_config *cfg, pfa_config_each_cb cb, void *ctx);

/* True when the update engine is configured (update.slot_a given). */
bool pfa_config_updates(const struct pfa_config *cfg);

/* True when the broker connection uses TLS (tls.* keys given). */
bool pfa_config_tls(const struct pfa_config *cfg);

#endif
