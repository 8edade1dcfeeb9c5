/*
 * posfleet_acl.c - Mosquitto 2 plugin (plugin API version 5) that refuses
 * subscriptions posfleet's ACL does not allow.
 *
 * Mosquitto 2.0's acl_file checks read at delivery and write at publish, but
 * grants every SUBSCRIBE. This plugin reads the same ACL file (option
 * `plugin_opt_acl_file`) and answers MOSQ_EVT_ACL_CHECK:
 *   - SUBSCRIBE: denied unless the filter ($share/GROUP/ removed) lies within
 *     one of the client's read rules; the broker then answers SUBACK 0x87 (v5)
 *     or 0x80 (v3.1.1) for that filter;
 *   - READ and WRITE: denied unless a rule of the client allows the topic;
 *   - WRITE of a retained message (the event's retain flag): denied unless
 *     a `topic` rule of the client's own `user` block allows it. Terminals
 *     have only `pattern` rules, so they never retain: the broker would keep
 *     and persist what they send;
 *   - UNSUBSCRIBE: never refused.
 * A terminal's publishes are also rate limited (rate_limit.h): a token bucket
 * per client id, options `plugin_opt_publish_rate` / `plugin_opt_publish_burst`
 * (every topic but chunk requests; defaults 100/s, 400) and
 * `plugin_opt_chunkreq_rate` / `plugin_opt_chunkreq_burst` (defaults 4000/s,
 * 4000); a rate of 0 turns that limit off. A publish over the limit is
 * denied, so the broker never forwards it: a flooding certificate costs
 * posfleetd nothing past its burst and rate. Identities with a `user` block
 * in the ACL file (posfleetd) are never limited. A client's buckets are
 * dropped when it disconnects (MOSQ_EVT_DISCONNECT), so the table holds only
 * connected clients; a client that reconnects starts with full buckets, at
 * the price of a TLS handshake each time.
 * What it allows it does not grant: it returns MOSQ_ERR_PLUGIN_DEFER, and
 * Mosquitto asks the next ACL check, acl_file, which must allow it too. With
 * no acl_file configured every deferred check ends as a denial, so the two
 * together are "deny unless both allow" (packaging/mosquitto/README.md).
 *
 * The identity is the username, the certificate CN (use_identity_as_username);
 * %c uses the client id. On SIGHUP (MOSQ_EVT_RELOAD) the file is read again;
 * if it no longer parses the previous policy stays and an error is logged.
 *
 * Links against nothing: the mosquitto_* functions come from the broker.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "acl_policy.h"
#include "pf/num.h"
#include "rate_limit.h"

#define PFACL_EXPORT __attribute__((visibility("default")))

_Static_assert(PFACL_READ == MOSQ_ACL_READ, "access bits follow Mosquitto");
_Static_assert(PFACL_WRITE == MOSQ_ACL_WRITE, "access bits follow Mosquitto");
_Static_assert(PFACL_SUBSCRIBE == MOSQ_ACL_SUBSCRIBE, "access bits follow Mosquitto");

struct pfacl_plugin {
    mosquitto_plugin_id_t *id;
    char *path; /* the ACL file, owned */
    struct pfacl_policy policy;
    struct pfrl_table rates;
};

/* One log line per limited client per this many ms, with the count refused. */
#define PFACL_RATE_LOG_MS 10000u

static uint64_t plugin__now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The rate decision for a terminal's publish: true when it may pass. */
static bool plugin__rate_ok(struct pfacl_plugin *pl, const char *clientid, const char *topic)
{
    struct pfrl_client *c;
    uint64_t now = plugin__now_ms();
    int rc = pfrl_check(&pl->rates, clientid, topic, now, &c);

    if (rc < 0)
        return true; /* out of memory: posfleetd's own limit still applies */
    if (rc == 1)
        return true;
    c->denied++;
    if (c->logged_ms == 0 || now - c->logged_ms >= PFACL_RATE_LOG_MS) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "posfleet_acl: %s over its publish rate (%" PRIu32 "/s, burst %" PRIu32
                             "; chunk requests %" PRIu32 "/s, burst %" PRIu32 "): %" PRIu64
                             " publishes refused",
                             clientid, pl->rates.report.rate, pl->rates.report.burst,
                             pl->rates.chunk.rate, pl->rates.chunk.burst, c->denied);
        c->denied = 0;
        c->logged_ms = now ? now : 1;
    }
    return false;
}

static int plugin__acl_check(int event, void *event_data, void *userdata)
{
    const struct mosquitto_evt_acl_check *ed = event_data;
    struct pfacl_plugin *pl = userdata;
    const char *username, *clientid;

    (void)event;
    if (ed->access == MOSQ_ACL_UNSUBSCRIBE)
        return MOSQ_ERR_PLUGIN_DEFER;
    username = mosquitto_client_username(ed->client);
    clientid = mosquitto_client_id(ed->client);
    if (ed->access == MOSQ_ACL_WRITE) {
        /* A retained publish needs a rule of the client's own `user` block. */
        if (!ed->topic ||
            !pfacl_publish_allowed(&pl->policy, username, clientid, ed->topic, ed->retain))
            return MOSQ_ERR_ACL_DENIED;
        /* Only terminals are limited; a publish the ACL allows has a client id. */
        if (!pfacl_is_service(&pl->policy, username) && !plugin__rate_ok(pl, clientid, ed->topic))
            return MOSQ_ERR_ACL_DENIED;
        return MOSQ_ERR_PLUGIN_DEFER;
    }
    if (ed->topic &&
        pfacl_allowed(&pl->policy, username, clientid, (unsigned)ed->access, ed->topic))
        return MOSQ_ERR_PLUGIN_DEFER;
    if (ed->access == MOSQ_ACL_SUBSCRIBE)
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "posfleet_acl: subscription of %s to %.200s refused",
                             username ? username : "(no username)", ed->topic ? ed->topic : "");
    return MOSQ_ERR_ACL_DENIED;
}

static int plugin__disconnect(int event, void *event_data, void *userdata)
{
    const struct mosquitto_evt_disconnect *ed = event_data;
    struct pfacl_plugin *pl = userdata;
    const char *clientid = mosquitto_client_id(ed->client);

    (void)event;
    if (clientid)
        pfrl_forget(&pl->rates, clientid);
    return MOSQ_ERR_SUCCESS;
}

static int plugin__reload(int event, void *event_data, void *userdata)
{
    struct pfacl_plugin *pl = userdata;
    struct pfacl_policy fresh;
    struct pf_error err = {0};

    (void)event;
    (void)event_data;
    if (pfacl_policy_load(&fresh, pl->path, &err) != 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "posfleet_acl: reload: %s; keeping the previous ACL",
                             err.msg);
        return MOSQ_ERR_SUCCESS;
    }
    pfacl_policy_release(&pl->policy);
    pl->policy = fresh;
    mosquitto_log_printf(MOSQ_LOG_INFO, "posfleet_acl: reloaded %s (%zu rules)", pl->path,
                         pl->policy.count);
    return MOSQ_ERR_SUCCESS;
}

PFACL_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                          const int *supported_versions)
{
    int i;

    for (i = 0; i < supported_version_count; i++) {
        if (supported_versions[i] == 5)
            return 5;
    }
    return -1;
}

static void plugin__free(struct pfacl_plugin *pl)
{
    pfacl_policy_release(&pl->policy);
    pfrl_table_release(&pl->rates);
    free(pl->path);
    free(pl);
}

/* A rate or burst option: a decimal in MIN..1000000. */
static int plugin__option_u32(const char *key, const char *value, uint64_t min, uint32_t *out)
{
    uint64_t v;

    if (pf_parse_u64(value, min, 1000000u, &v) != 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR,
                             "posfleet_acl: plugin_opt_%s must be a whole number %" PRIu64
                             "..1000000",
                             key, min);
        return MOSQ_ERR_INVAL;
    }
    *out = (uint32_t)v;
    return MOSQ_ERR_SUCCESS;
}

PFACL_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                       struct mosquitto_opt *options, int option_count)
{
    struct pfacl_plugin *pl;
    struct pf_error err = {0};
    const char *path = NULL;
    struct pfrl_limit report = {100, 400}, chunk = {4000, 4000};
    int i, rc = MOSQ_ERR_SUCCESS;

    for (i = 0; i < option_count && rc == MOSQ_ERR_SUCCESS; i++) {
        const char *k = options[i].key, *v = options[i].value;
        if (!k)
            continue;
        if (strcmp(k, "acl_file") == 0)
            path = v;
        else if (strcmp(k, "publish_rate") == 0)
            rc = plugin__option_u32(k, v, 0, &report.rate);
        else if (strcmp(k, "publish_burst") == 0)
            rc = plugin__option_u32(k, v, 1, &report.burst);
        else if (strcmp(k, "chunkreq_rate") == 0)
            rc = plugin__option_u32(k, v, 0, &chunk.rate);
        else if (strcmp(k, "chunkreq_burst") == 0)
            rc = plugin__option_u32(k, v, 1, &chunk.burst);
    }
    if (rc != MOSQ_ERR_SUCCESS)
        return rc;
    if (!path || !*path) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "posfleet_acl: plugin_opt_acl_file is required");
        return MOSQ_ERR_INVAL;
    }
    pl = calloc(1, sizeof(*pl));
    if (!pl)
        return MOSQ_ERR_NOMEM;
    pl->id = identifier;
    pl->rates.report = report;
    pl->rates.chunk = chunk;
    pl->path = strdup(path);
    if (!pl->path) {
        plugin__free(pl);
        return MOSQ_ERR_NOMEM;
    }
    if (pfacl_policy_load(&pl->policy, pl->path, &err) != 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "posfleet_acl: %s", err.msg);
        plugin__free(pl);
        return MOSQ_ERR_INVAL;
    }
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, plugin__acl_check, NULL, pl);
    if (rc != MOSQ_ERR_SUCCESS)
        goto out_free;
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, plugin__reload, NULL, pl);
    if (rc != MOSQ_ERR_SUCCESS)
        goto out_unregister_acl;
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, plugin__disconnect, NULL, pl);
    if (rc != MOSQ_ERR_SUCCESS)
        goto out_unregister_reload;
    mosquitto_log_printf(MOSQ_LOG_INFO,
                         "posfleet_acl: %s (%zu rules), subscriptions checked; terminal "
                         "publishes limited to %" PRIu32 "/s (burst %" PRIu32
                         "), chunk requests %" PRIu32 "/s (burst %" PRIu32 ")",
                         pl->path, pl->policy.count, report.rate, report.burst, chunk.rate,
                         chunk.burst);
    *userdata = pl;
    return MOSQ_ERR_SUCCESS;

out_unregister_reload:
    (void)mosquitto_callback_unregister(identifier, MOSQ_EVT_RELOAD, plugin__reload, NULL);
out_unregister_acl:
    (void)mosquitto_callback_unregister(identifier, MOSQ_EVT_ACL_CHECK, plugin__acl_check, NULL);
out_free:
    mosquitto_log_printf(MOSQ_LOG_ERR, "posfleet_acl: cannot register callbacks (%d)", rc);
    plugin__free(pl);
    return rc;
}

PFACL_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                          int option_count)
{
    struct pfacl_plugin *pl = userdata;

    (void)options;
    (void)option_count;
    if (!pl)
        return MOSQ_ERR_SUCCESS;
    (void)mosquitto_callback_unregister(pl->id, MOSQ_EVT_ACL_CHECK, plugin__acl_check, NULL);
    (void)mosquitto_callback_unregister(pl->id, MOSQ_EVT_RELOAD, plugin__reload, NULL);
    (void)mosquitto_callback_unregister(pl->id, MOSQ_EVT_DISCONNECT, plugin__disconnect, NULL);
    plugin__free(pl);
    return MOSQ_ERR_SUCCESS;
}
