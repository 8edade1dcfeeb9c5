/*
 * config.c - posfleet-agent's configuration keys, defaults and checks.
 */
#include "pfa/config.h"

#include <stdlib.h>
#include <string.h>

#include "pfa/hal.h"
#include "pf/conf.h"
#include "pf/fileio.h"
#include "pf/topic.h"
#include "pf/version.h"

#define CONFIG_PATH_MAX 1023

enum config__type {
    CFG_STR,
    CFG_PATH,
    CFG_INT,
    CFG_SERIAL,
    CFG_VERSION,
    CFG_SLOT,
    CFG_LEVEL,
    CFG_HAL,
    CFG_BOOT
};

struct config__key {
    const char *name;
    enum config__type type;
    size_t off;
    size_t size;      /* CFG_STR / CFG_VERSION: buffer size */
    int64_t min, max; /* CFG_INT */
    bool required;
};

#define OFF(f) offsetof(struct pfa_config, f)
#define SZ(f)  sizeof(((struct pfa_config *)0)->f)

static const struct config__key config__keys[] = {
        {"serial", CFG_SERIAL, OFF(serial), SZ(serial), 0, 0, true},
        {"model", CFG_STR, OFF(model), SZ(model), 0, 0, true},
        {"hw_rev", CFG_STR, OFF(hw_rev), SZ(hw_rev), 0, 0, true},
        {"broker.host", CFG_PATH, OFF(broker_host), 0, 0, 0, true},
        {"broker.port", CFG_INT, OFF(broker_port), 0, 1, 65535, false},
        {"tls.ca", CFG_PATH, OFF(tls_ca), 0, 0, 0, false},
        {"tls.cert", CFG_PATH, OFF(tls_cert), 0, 0, 0, false},
        {"tls.key", CFG_PATH, OFF(tls_key), 0, 0, 0, false},
        {"state_dir", CFG_PATH, OFF(state_dir), 0, 0, 0, true},
        {"hal", CFG_HAL, OFF(hal), SZ(hal), 0, 0, false},
        {"hal.dir", CFG_PATH, OFF(hal_dir), 0, 0, 0, false},
        {"hal.root", CFG_PATH, OFF(hal_root), 0, 0, 0, false},
        {"hal.data_dir", CFG_PATH, OFF(hal_data_dir), 0, 0, 0, false},
        {"hal.reboot_cmd", CFG_PATH, OFF(hal_reboot_cmd), 0, 0, 0, false},
        {"health_interval_s", CFG_INT, OFF(health_interval_s), 0, 1, 86400, false},
        {"health_jitter_pct", CFG_INT, OFF(health_jitter_pct), 0, 0, 50, false},
        {"tamper_poll_ms", CFG_INT, OFF(tamper_poll_ms), 0, 0, 60000, false},
        {"queue_max", CFG_INT, OFF(queue_max), 0, 1, 100000, false},
        {"backoff_min_ms", CFG_INT, OFF(backoff_min_ms), 0, 10, 3600000, false},
        {"backoff_max_ms", CFG_INT, OFF(backoff_max_ms), 0, 10, 86400000, false},
        {"keepalive_s", CFG_INT, OFF(keepalive_s), 0, 10, 1200, false},
        {"session_expiry_s", CFG_INT, OFF(session_expiry_s), 0, 0, 604800, false},
        {"connect_timeout_s", CFG_INT, OFF(connect_timeout_s), 0, 1, 600, false},
        {"fw_version", CFG_VERSION, OFF(fw_version), SZ(fw_version), 0, 0, false},
        {"fw_slot", CFG_SLOT, OFF(fw_slot), 0, 0, 0, false},
        {"fee_version", CFG_VERSION, OFF(fee_version), SZ(fee_version), 0, 0, false},
        {"log_level", CFG_LEVEL, OFF(log_level), 0, 0, 0, false},
        {"update.slot_a", CFG_PATH, OFF(upd_slot_a), 0, 0, 0, false},
        {"update.slot_b", CFG_PATH, OFF(upd_slot_b), 0, 0, 0, false},
        {"update.boot", CFG_BOOT, OFF(upd_boot), SZ(upd_boot), 0, 0, false},
        {"update.boot_env", CFG_PATH, OFF(upd_boot_env), 0, 0, 0, false},
        {"update.boot_cmdline", CFG_PATH, OFF(upd_boot_cmdline), 0, 0, 0, false},
        {"update.trust_root", CFG_PATH, OFF(upd_trust_root), 0, 0, 0, false},
        {"update.keyring", CFG_PATH, OFF(upd_keyring), 0, 0, 0, false},
        {"update.feetable_dir", CFG_PATH, OFF(upd_feetable_dir), 0, 0, 0, false},
        {"update.battery_min_pct", CFG_INT, OFF(upd_battery_min_pct), 0, 0, 100, false},
        {"update.storage_margin_kb", CFG_INT, OFF(upd_storage_margin_kb), 0, 0, 1 << 30, false},
        {"update.retry_s", CFG_INT, OFF(upd_retry_s), 0, 1, 86400, false},
        {"update.stall_s", CFG_INT, OFF(upd_stall_s), 0, 1, 86400, false},
        {"update.resend_s", CFG_INT, OFF(upd_resend_s), 0, 1, 86400, false},
        {"update.boot_tries", CFG_INT, OFF(upd_boot_tries), 0, 1, 20, false},
        {"update.chunk_kb", CFG_INT, OFF(upd_chunk_kb), 0, 1, 256, false},
        {"update.window", CFG_INT, OFF(upd_window), 0, 1, 64, false},
        {"update.persist_kb", CFG_INT, OFF(upd_persist_kb), 0, 1, 1 << 20, false},
        {"update.exit_on_reboot", CFG_INT, OFF(upd_exit_on_reboot), 0, 0, 1, false},
        {"diag.payment_host", CFG_PATH, OFF(diag_payment_host), 0, 0, 0, false},
        {"diag.payment_port", CFG_INT, OFF(diag_payment_port), 0, 1, 65535, false},
        {"diag.log_lines", CFG_INT, OFF(diag_log_lines), 0, 0, 1000, false},
        {"diag.archive_max_kb", CFG_INT, OFF(diag_archive_max_kb), 0, 1, 4096, false},
};
#define CONFIG_NKEYS (sizeof(config__keys) / sizeof(config__keys[0]))

struct config__ctx {
    struct pfa_config *cfg;
    bool seen[CONFIG_NKEYS];
};

void pfa_config_init(struct pfa_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->broker_port = 8883;
    memcpy(cfg->hal, "sim", 4);
    cfg->health_interval_s = 60;
    cfg->health_jitter_pct = 10;
    cfg->tamper_poll_ms = 200;
    cfg->queue_max = 500;
    cfg->backoff_min_ms = 1000;
    cfg->backoff_max_ms = 300000;
    cfg->keepalive_s = 60;
    cfg->session_expiry_s = 3600;
    cfg->connect_timeout_s = 30;
    memcpy(cfg->fw_version, "1.0.0", 6);
    cfg->fw_slot = PF_SLOT_A;
    cfg->fee_version[0] = '\0';
    cfg->log_level = PFA_LOG_INFO;
    memcpy(cfg->upd_boot, "file", 5);
    cfg->upd_battery_min_pct = 30;
    cfg->upd_storage_margin_kb = 1024;
    cfg->upd_retry_s = 300;
    cfg->upd_stall_s = 120;
    cfg->upd_resend_s = 30;
    cfg->upd_boot_tries = 3;
    cfg->upd_chunk_kb = 64;
    cfg->upd_window = 4;
    cfg->upd_persist_kb = 4096;
    cfg->diag_payment_port = 443;
    cfg->diag_log_lines = 200;
    cfg->diag_archive_max_kb = 256;
}

void pfa_config_release(struct pfa_config *cfg)
{
    free(cfg->broker_host);
    free(cfg->tls_ca);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->state_dir);
    free(cfg->hal_dir);
    free(cfg->hal_root);
    free(cfg->hal_data_dir);
    free(cfg->hal_reboot_cmd);
    free(cfg->upd_slot_a);
    free(cfg->upd_slot_b);
    free(cfg->upd_boot_env);
    free(cfg->upd_boot_cmdline);
    free(cfg->upd_trust_root);
    free(cfg->upd_keyring);
    free(cfg->upd_feetable_dir);
    free(cfg->diag_payment_host);
    cfg->diag_payment_host = NULL;
    cfg->upd_slot_a = cfg->upd_slot_b = cfg->upd_boot_env = cfg->upd_boot_cmdline = NULL;
    cfg->upd_trust_root = cfg->upd_keyring = cfg->upd_feetable_dir = NULL;
    cfg->broker_host = cfg->tls_ca = cfg->tls_cert = cfg->tls_key = NULL;
    cfg->state_dir = cfg->hal_dir = NULL;
    cfg->hal_root = cfg->hal_data_dir = cfg->hal_reboot_cmd = NULL;
}

void pfa_config_each(const struct pfa_config *cfg, pfa_config_each_cb cb, void *ctx)
{
    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        const struct config__key *k = &config__keys[i];
        const char *p = (const char *)cfg + k->off;
        char buf[32];
        const char *v = "";

        switch (k->type) {
        case CFG_STR:
        case CFG_SERIAL:
        case CFG_VERSION:
        case CFG_HAL:
        case CFG_BOOT:
            v = p;
            break;
        case CFG_PATH:
            v = *(char *const *)(const void *)p ? *(char *const *)(const void *)p : "";
            break;
        case CFG_INT:
            snprintf(buf, sizeof(buf), "%d", *(const int *)(const void *)p);
            v = buf;
            break;
        case CFG_SLOT:
            v = pf_slot_names[*(const enum pf_slot *)(const void *)p];
            break;
        case CFG_LEVEL:
            v = pfa_log_level_name(*(const enum pfa_log_level *)(const void *)p);
            break;
        }
        cb(ctx, k->name, v);
    }
}

bool pfa_config_updates(const struct pfa_config *cfg)
{
    return cfg->upd_slot_a != NULL;
}

bool pfa_config_tls(const struct pfa_config *cfg)
{
    return cfg->tls_ca != NULL;
}

static bool config__printable(const char *s)
{
    for (; *s; s++) {
        if (*s < 0x21 || *s > 0x7e)
            return false;
    }
    return true;
}

static int config__set(const struct config__key *k, struct pfa_config *cfg, const char *value,
                       struct pf_error *err)
{
    char *field = (char *)cfg + k->off;
    int64_t v;
    int rc;

    switch (k->type) {
    case CFG_STR:
        if (!*value || !config__printable(value))
            return pf_error_set(err, PF_EINVAL, "%s: must be printable ASCII without blanks",
                                k->name);
        return pf_conf_str(k->name, value, field, k->size, err);
    case CFG_PATH: {
        char **slot = (char **)(void *)field;
        if (!*value)
            return pf_error_set(err, PF_EINVAL, "%s: empty value", k->name);
        if (strlen(value) > CONFIG_PATH_MAX)
            return pf_error_set(err, PF_ETOOBIG, "%s: longer than %d characters", k->name,
                                CONFIG_PATH_MAX);
        free(*slot);
        *slot = strdup(value);
        return *slot ? 0 : pf_error_set(err, PF_ENOMEM, "%s: out of memory", k->name);
    }
    case CFG_INT:
        rc = pf_conf_int(k->name, value, k->min, k->max, &v, err);
        if (rc == 0)
            *(int *)(void *)field = (int)v;
        return rc;
    case CFG_SERIAL:
        if (!pf_serial_valid(value))
            return pf_error_set(err, PF_EINVAL, "%s: must be 1..%d characters of A-Z a-z 0-9 _ -",
                                k->name, PF_SERIAL_MAX);
        return pf_conf_str(k->name, value, field, SZ(serial), err);
    case CFG_VERSION:
        /* fee_version may be empty: no fee table installed yet. */
        if (!(k->off == OFF(fee_version) && !*value) && !pf_version_valid(value))
            return pf_error_set(err, PF_EINVAL, "%s: not a version (e.g. 1.4.2)", k->name);
        return pf_conf_str(k->name, value, field, k->size, err);
    case CFG_SLOT:
        if (strcmp(value, "a") == 0)
            cfg->fw_slot = PF_SLOT_A;
        else if (strcmp(value, "b") == 0)
            cfg->fw_slot = PF_SLOT_B;
        else
            return pf_error_set(err, PF_EINVAL, "%s: expected a or b", k->name);
        return 0;
    case CFG_LEVEL:
        if (pfa_log_level_parse(value, &cfg->log_level) != 0)
            return pf_error_set(err, PF_EINVAL, "%s: expected error, warn, info or debug", k->name);
        return 0;
    case CFG_HAL:
        if (strcmp(value, "sim") != 0 && strcmp(value, "linux") != 0)
            return pf_error_set(err, PF_EINVAL, "%s: unknown backend \"%.32s\" (known: sim, linux)",
                                k->name, value);
        return pf_conf_str(k->name, value, field, k->size, err);
    case CFG_BOOT:
        if (strcmp(value, "file") && strcmp(value, "uboot") && strcmp(value, "grub"))
            return pf_error_set(err, PF_EINVAL, "%s: expected file, uboot or grub", k->name);
        return pf_conf_str(k->name, value, field, k->size, err);
    }
    return PF_EINVAL;
}

static int config__cb(void *vctx, const char *key, const char *value, struct pf_error *err)
{
    struct config__ctx *ctx = vctx;

    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        if (strcmp(config__keys[i].name, key) == 0) {
            ctx->seen[i] = true;
            return config__set(&config__keys[i], ctx->cfg, value, err);
        }
    }
    return pf_error_set(err, PF_EINVAL, "%s: unknown key", key);
}

static int config__check(const struct config__ctx *ctx, const char *name, struct pf_error *err)
{
    const struct pfa_config *cfg = ctx->cfg;
    int ntls;

    for (size_t i = 0; i < CONFIG_NKEYS; i++) {
        if (config__keys[i].required && !ctx->seen[i])
            return pf_error_set(err, PF_ESCHEMA, "%s: %s: required key missing", name,
                                config__keys[i].name);
    }
    ntls = !!cfg->tls_ca + !!cfg->tls_cert + !!cfg->tls_key;
    if (ntls != 0 && ntls != 3)
        return pf_error_set(err, PF_ESCHEMA,
                            "%s: tls.ca, tls.cert and tls.key go together (give all or none)",
                            name);
    if (cfg->upd_slot_a || cfg->upd_slot_b || cfg->upd_trust_root || cfg->upd_feetable_dir) {
        const char *missing = !cfg->upd_slot_a         ? "update.slot_a"
                              : !cfg->upd_slot_b       ? "update.slot_b"
                              : !cfg->upd_trust_root   ? "update.trust_root"
                              : !cfg->upd_feetable_dir ? "update.feetable_dir"
                              : !cfg->upd_boot_env && strcmp(cfg->upd_boot, "uboot") != 0
                                      ? "update.boot_env"
                                      : NULL;
        if (missing)
            return pf_error_set(err, PF_ESCHEMA, "%s: %s: required when updates are configured",
                                name, missing);
        if (strcmp(cfg->upd_slot_a, cfg->upd_slot_b) == 0)
            return pf_error_set(err, PF_EINVAL, "%s: update.slot_a and update.slot_b are the same",
                                name);
    }
    if ((cfg->hal_root || cfg->hal_data_dir || cfg->hal_reboot_cmd) &&
        strcmp(cfg->hal, "linux") != 0)
        return pf_error_set(err, PF_EINVAL,
                            "%s: hal.root, hal.data_dir, hal.reboot_cmd: only with hal = linux",
                            name);
    /* The lock's payment switch (hal.dir/payments) and the linux backend's shared
     * files live in the directory the payment application reads. */
    if (strcmp(cfg->hal, "linux") == 0 && !cfg->hal_dir &&
        !(ctx->cfg->hal_dir = strdup(PFA_HAL_LINUX_DIR)))
        return pf_error_set(err, PF_ENOMEM, "%s: out of memory", name);
    if (cfg->backoff_min_ms > cfg->backoff_max_ms)
        return pf_error_set(err, PF_ERANGE, "%s: backoff_min_ms: %d is above backoff_max_ms %d",
                            name, cfg->backoff_min_ms, cfg->backoff_max_ms);
    return 0;
}

int pfa_config_parse(const char *buf, size_t len, const char *name, struct pfa_config *cfg,
                     struct pf_error *err)
{
    struct config__ctx ctx;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = cfg;
    pfa_config_init(cfg);
    rc = pf_conf_parse(buf, len, name, config__cb, &ctx, err);
    if (rc == 0)
        rc = config__check(&ctx, name, err);
    return rc;
}

int pfa_config_load(const char *path, struct pfa_config *cfg, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc;

    pfa_config_init(cfg);
    rc = pf_file_read(path, 256 * 1024, &buf, &len);
    if (rc != 0)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pfa_config_parse(buf, len, path, cfg, err);
    free(buf);
    return rc;
}
