/*
 * config.c - posfleetd's configuration keys, defaults and checks.
 */
#include "base/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pf/conf.h"

/* The store backends built in (store_backends.c's pfs_store_backends; the
 * store is above base/, so the list is repeated here and unit_server_config
 * compares the two). The first is the default. */
static const char *const config__backends[] = {"sqlite", "postgres"};

void pfs_config_defaults(struct pfs_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->mqtt_host, sizeof(c->mqtt_host), "127.0.0.1");
    snprintf(c->mqtt_client_id, sizeof(c->mqtt_client_id), "posfleetd");
    c->mqtt_keepalive_s = 60;
    c->mqtt_session_expiry_s = 3600;
    c->store_update_days = 400;
    c->store_online_sample_s = 300;
    c->store_update_keep = 1000;
    c->mqtt_reconnect_min_ms = 500;
    c->mqtt_reconnect_max_ms = 30000;
    c->mqtt_read_batch_ms = 50;
    snprintf(c->store_backend, sizeof(c->store_backend), "%s", config__backends[0]);
    snprintf(c->store_path, sizeof(c->store_path), "/var/lib/posfleet/posfleetd.db");
    c->store_health_keep = 1000;
    c->store_batch_ms = 100;
    c->store_batch_max = 2000;
    snprintf(c->http_addr, sizeof(c->http_addr), "127.0.0.1");
    c->http_port = 8080;
    c->http_tls = true;
    c->http_body_max = 64 * 1024;
    c->http_import_max = 128 * 1024 * 1024;
    c->http_max_conns = 4096;
    c->http_max_conns_per_ip = 64;
    c->http_head_timeout_ms = 10000;
    c->http_events_per_user = 8;
    c->http_events_keepalive_s = 15;
    snprintf(c->http_console_dir, sizeof(c->http_console_dir), "%s", PFS_CONSOLE_DIR);
    snprintf(c->http_javascript_dir, sizeof(c->http_javascript_dir), "/usr/share/javascript");
    c->report_interval_s = 60;
    c->silent_after = 3;
    c->log_level = PFS_LOG_INFO;
    c->update_chunk_max = 256 * 1024;
    c->update_window = 16;
    c->update_chunk_budget = 4;
    c->update_deadline_min = 24 * 60;
    c->ingest_rate_per_s = 50;
    c->ingest_burst = 200;
    c->ingest_chunkreq_rate_per_s = 2000;
    c->ingest_chunkreq_burst = 2000;
    c->diag_rate_terminal = 10;
    c->diag_rate_user = 60;
    c->rollout_tick_ms = 1000;
    c->rollout_join_scan_s = 60;
    snprintf(c->rollout_default_tz, sizeof(c->rollout_default_tz), "UTC");
}

static int config__int(const char *key, const char *value, int64_t min, int64_t max, int *out,
                       struct pf_error *err)
{
    int64_t v;
    int rc = pf_conf_int(key, value, min, max, &v, err);

    if (rc == 0)
        *out = (int)v;
    return rc;
}

int pfs_config_set(struct pfs_config *c, const char *key, const char *value, struct pf_error *err)
{
#define STR(k, f)                                                                                  \
    if (strcmp(key, k) == 0)                                                                       \
    return pf_conf_str(key, value, c->f, sizeof(c->f), err)
#define INT(k, f, lo, hi)                                                                          \
    if (strcmp(key, k) == 0)                                                                       \
    return config__int(key, value, lo, hi, &c->f, err)
    STR("mqtt.host", mqtt_host);
    INT("mqtt.port", mqtt_port, 1, 65535);
    STR("mqtt.ca", mqtt_ca);
    STR("mqtt.cert", mqtt_cert);
    STR("mqtt.key", mqtt_key);
    STR("mqtt.client_id", mqtt_client_id);
    STR("mqtt.shared_group", mqtt_shared_group);
    INT("mqtt.keepalive_s", mqtt_keepalive_s, 5, 1200);
    INT("mqtt.session_expiry_s", mqtt_session_expiry_s, 0, 7 * 86400);
    INT("mqtt.reconnect_min_ms", mqtt_reconnect_min_ms, 10, 600000);
    INT("mqtt.reconnect_max_ms", mqtt_reconnect_max_ms, 10, 600000);
    INT("mqtt.read_batch_ms", mqtt_read_batch_ms, 0, 1000);
    STR("store.path", store_path);
    STR("store.dsn", store_dsn);
    INT("store.health_keep", store_health_keep, 1, 1000000);
    INT("store.health_days", store_health_days, 0, 3650);
    INT("store.update_days", store_update_days, 0, 3650);
    INT("store.update_keep", store_update_keep, 10, 1000000);
    INT("store.online_sample_s", store_online_sample_s, 0, 3600);
    INT("store.batch_ms", store_batch_ms, 1, 1000);
    INT("store.batch_max", store_batch_max, 1, 100000);
    STR("http.addr", http_addr);
    INT("http.port", http_port, 0, 65535);
    STR("http.cert", http_cert);
    STR("http.key", http_key);
    STR("http.tokens", http_tokens);
    INT("http.body_max", http_body_max, 1024, 16 * 1024 * 1024);
    INT("http.import_max", http_import_max, 1024, 1024 * 1024 * 1024);
    INT("http.max_conns", http_max_conns, 16, 65536);
    INT("http.max_conns_per_ip", http_max_conns_per_ip, 1, 65536);
    INT("http.head_timeout_ms", http_head_timeout_ms, 100, 600000);
    INT("http.events_per_user", http_events_per_user, 1, 1024);
    INT("http.events_keepalive_s", http_events_keepalive_s, 1, 25);
    STR("http.console_dir", http_console_dir);
    STR("http.javascript_dir", http_javascript_dir);
    INT("report_interval_s", report_interval_s, 1, 86400);
    INT("silent_after", silent_after, 1, 1000);
    INT("ingest.rate_per_s", ingest_rate_per_s, 0, 1000000);
    INT("ingest.burst", ingest_burst, 1, 1000000);
    INT("ingest.chunkreq_rate_per_s", ingest_chunkreq_rate_per_s, 0, 1000000);
    INT("ingest.chunkreq_burst", ingest_chunkreq_burst, 1, 1000000);
    STR("artifacts.dir", artifacts_dir);
    STR("update.trust_root", update_trust_root);
    STR("update.keyring", update_keyring);
    INT("update.chunk_max", update_chunk_max, 1024, 256 * 1024);
    INT("update.window", update_window, 1, 1024);
    INT("update.chunk_budget", update_chunk_budget, 1, 100);
    INT("update.deadline_min", update_deadline_min, 1, 30 * 24 * 60);
    INT("diag.rate_terminal", diag_rate_terminal, 1, 1000);
    INT("diag.rate_user", diag_rate_user, 1, 1000);
    INT("rollout.tick_ms", rollout_tick_ms, 50, 60000);
    INT("rollout.join_scan_s", rollout_join_scan_s, 1, 86400);
    STR("rollout.default_tz", rollout_default_tz);
#undef STR
#undef INT
    if (strcmp(key, "store.backend") == 0) {
        for (size_t i = 0; i < sizeof(config__backends) / sizeof(config__backends[0]); i++) {
            if (strcmp(value, config__backends[i]) == 0)
                return pf_conf_str(key, value, c->store_backend, sizeof(c->store_backend), err);
        }
        return pf_error_set(err, PF_EINVAL,
                            "store.backend: '%s' is not built into this posfleetd (it has: sqlite, "
                            "postgres)",
                            value);
    }
    if (strcmp(key, "http.tls") == 0) {
        /* Plain HTTP is a choice someone wrote down, never a default. */
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return pf_error_set(err, PF_EINVAL, "http.tls: '%s' is not on or off", value);
        c->http_tls = strcmp(value, "on") == 0;
        return 0;
    }
    if (strcmp(key, "rollout.approval") == 0) {
        static const char *const names[] = {"none", "firmware", "fee_table", "all"};

        for (unsigned i = 0; i < 4; i++) {
            if (strcmp(value, names[i]) == 0) {
                c->rollout_approval = i; /* bit 0: firmware, bit 1: fee table */
                return 0;
            }
        }
        return pf_error_set(err, PF_ERANGE,
                            "rollout.approval: '%s' is not none, firmware, fee_table or all",
                            value);
    }
    if (strcmp(key, "log_level") == 0) {
        for (int i = 0; pfs_log_level_names[i]; i++) {
            if (strcmp(value, pfs_log_level_names[i]) == 0) {
                c->log_level = (enum pfs_log_level)i;
                return 0;
            }
        }
        return pf_error_set(err, PF_ERANGE, "log_level: '%s' is not error, warn, info or debug",
                            value);
    }
    if (strncmp(key, "hook.", 5) == 0 || strncmp(key, "notify.", 7) == 0)
        return pfs_config_set_notify(c, key, value, err);
    return pf_error_set(err, PF_EINVAL, "%s: unknown key", key);
}

static int config__cb(void *ctx, const char *key, const char *value, struct pf_error *err)
{
    return pfs_config_set(ctx, key, value, err);
}

int pfs_config_load(struct pfs_config *c, const char *path, struct pf_error *err)
{
    int rc = pf_conf_parse_file(path, config__cb, c, err);

    if (rc)
        return rc;
    return pfs_config_check(c, err);
}

bool pfs_config_tls(const struct pfs_config *c)
{
    return c->mqtt_ca[0] || c->mqtt_cert[0] || c->mqtt_key[0];
}

int pfs_config_mqtt_port(const struct pfs_config *c)
{
    if (c->mqtt_port)
        return c->mqtt_port;
    return pfs_config_tls(c) ? 8883 : 1883;
}

bool pfs_config_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

static bool config__id_valid(const char *s)
{
    for (; *s; s++) {
        if (*s == '/' || *s == '+' || *s == '#' || (unsigned char)*s <= ' ')
            return false;
    }
    return true;
}

int pfs_config_check(const struct pfs_config *c, struct pf_error *err)
{
    if (pfs_config_tls(c) && !(c->mqtt_ca[0] && c->mqtt_cert[0] && c->mqtt_key[0]))
        return pf_error_set(err, PF_EINVAL,
                            "mqtt.ca, mqtt.cert and mqtt.key: give all three or none");
    if (!c->mqtt_host[0])
        return pf_error_set(err, PF_EINVAL, "mqtt.host: empty");
    if (!c->mqtt_client_id[0] || !config__id_valid(c->mqtt_client_id))
        return pf_error_set(err, PF_EINVAL, "mqtt.client_id: empty or contains / + # or blanks");
    if (!config__id_valid(c->mqtt_shared_group))
        return pf_error_set(err, PF_EINVAL, "mqtt.shared_group: contains / + # or blanks");
    if (c->mqtt_reconnect_min_ms > c->mqtt_reconnect_max_ms)
        return pf_error_set(err, PF_EINVAL, "mqtt.reconnect_min_ms: above mqtt.reconnect_max_ms");
    if (!c->store_path[0])
        return pf_error_set(err, PF_EINVAL, "store.path: empty");
    if (strcmp(c->store_backend, "postgres") == 0 && !c->store_dsn[0])
        return pf_error_set(err, PF_EINVAL,
                            "store.dsn: required with store.backend = postgres (a libpq "
                            "connection string)");
    if (!c->http_addr[0])
        return pf_error_set(err, PF_EINVAL, "http.addr: empty");
    if (c->http_tls && !(c->http_cert[0] && c->http_key[0]))
        return pf_error_set(err, PF_EINVAL,
                            "http.cert and http.key: both required while http.tls is on "
                            "(plain HTTP needs http.tls = off and a loopback http.addr)");
    if (!c->http_tls && !pfs_config_loopback(c->http_addr))
        return pf_error_set(err, PF_EINVAL,
                            "http.tls = off: plain HTTP only on a loopback address, and http.addr "
                            "is %s; give http.cert and http.key and turn http.tls on",
                            c->http_addr);
    /* One address must not be able to take every connection. */
    if (c->http_max_conns_per_ip * 4 > c->http_max_conns)
        return pf_error_set(
                err, PF_EINVAL,
                "http.max_conns_per_ip: %d is more than a quarter of http.max_conns (%d)",
                c->http_max_conns_per_ip, c->http_max_conns);
    return pfs_config_check_notify(c, err);
}
