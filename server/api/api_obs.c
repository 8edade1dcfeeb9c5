/*
 * api_obs.c - /healthz, /readyz and the metrics of the API's own view: HTTP
 * requests by route and code, the process, the broker connection, terminals
 * by lifecycle state, open repairs and the members of live rollouts.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_handlers.h"
#include "lifecycle/lifecycle.h"
#include "notify/notify.h"
#include "rollouts/rollout_member.h"
#include "store/store_metrics.h"
#include "store/store_notify.h"

double pfs_api_obs_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pfs_api_obs_request(struct pfs_api *api, const struct pfs_api_route *route, int status,
                         double t0)
{
    size_t idx = route ? (size_t)(route - pfs_api_routes) : PFS_HTTP_ROUTES_MAX;
    double dt = pfs_api_obs_now() - t0;

    if (!api->metrics)
        return;
    pfs_metrics_http(api->metrics, idx, status, dt < 0 ? 0 : dt);
}

void pfs_api_healthz(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp)
{
    (void)api;
    (void)call;
    pfs_api_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void pfs_api_readyz(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp)
{
    const char *store = "ok", *broker = "not used";
    const char *reason = NULL;
    uint64_t connects = 0;
    int version = 0;

    (void)call;
    if (pfs_store_schema_version(api->store, &version) != 0) {
        store = "unreachable";
        reason = "store: a read failed";
    }
    if (api->broker) {
        if (api->broker(api->broker_ctx, &connects)) {
            broker = "connected";
        } else {
            broker = "disconnected";
            if (!reason)
                reason = "broker: not connected";
        }
    }
    if (reason) {
        pfs_log_warn(api->log, "readyz: not ready: %s", reason);
        /* The one error shape (error, message) and the probe's own fields. */
        pfs_api_json(resp, 503,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "error", pf_errname(PF_ECONN),
                               "message", reason, "status", "not ready", "reason", reason, "store",
                               store, "broker", broker));
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:s, s:s, s:s}", "status", "ready", "store", store, "broker", broker));
}

/* The members of one live rollout by status, gathered from the store's rows. */
struct obs__rollout {
    int64_t id;
    int64_t n[PFS_ROM_COUNT];
};

struct obs__gauges {
    int64_t terminals[PFS_TERM_STATE_COUNT];
    int64_t repairs_open;
    struct obs__rollout *ro;
    size_t nro, cap;
};

static int obs__gauge(void *ctx, enum pfs_gauge_family family, int64_t id, const char *label,
                      int64_t n)
{
    struct obs__gauges *g = ctx;

    switch (family) {
    case PFS_GAUGE_TERMINALS:
        for (int i = 0; i < PFS_TERM_STATE_COUNT; i++) {
            if (label && strcmp(label, pfs_term_state_names[i]) == 0)
                g->terminals[i] = n;
        }
        return 0;
    case PFS_GAUGE_REPAIRS_OPEN:
        g->repairs_open = n;
        return 0;
    case PFS_GAUGE_ROLLOUT_MEMBERS: {
        int st = label ? pfs_ro_member_parse(label) : -1;

        if (g->nro == 0 || g->ro[g->nro - 1].id != id) {
            if (g->nro == g->cap) {
                size_t ncap = g->cap ? 2 * g->cap : 8;
                struct obs__rollout *nr = realloc(g->ro, ncap * sizeof(*nr));

                if (!nr)
                    return PF_ENOMEM;
                g->ro = nr;
                g->cap = ncap;
            }
            memset(&g->ro[g->nro], 0, sizeof(g->ro[0]));
            g->ro[g->nro++].id = id;
        }
        if (st >= 0)
            g->ro[g->nro - 1].n[st] = n;
        return 0;
    }
    }
    return 0;
}

int pfs_api_obs_metrics(struct pfs_api *api, char **body, size_t *len)
{
    struct pfs_mtext t = {*body, *len, *body ? *len + 1 : 0, 0};
    const char *methods[PFS_HTTP_ROUTES_MAX], *patterns[PFS_HTTP_ROUTES_MAX];
    size_t nroutes = pfs_api_nroutes < PFS_HTTP_ROUTES_MAX ? pfs_api_nroutes : PFS_HTTP_ROUTES_MAX;
    struct obs__gauges g;
    bool connected = false;
    uint64_t connects = 0;
    int rc;

    memset(&g, 0, sizeof(g));
    for (size_t i = 0; i < nroutes; i++) {
        methods[i] = pfs_api_routes[i].method;
        patterns[i] = pfs_api_routes[i].pattern;
    }
    pfs_metrics_render_http(api->metrics, methods, patterns, nroutes, &t);
    pfs_metrics_render_process(&t);
    if (api->broker)
        connected = api->broker(api->broker_ctx, &connects);
    pfs_mtext_add(&t,
                  "# HELP posfleet_broker_connected 1 while the connection to the MQTT broker is "
                  "up.\n# TYPE posfleet_broker_connected gauge\nposfleet_broker_connected %d\n",
                  connected ? 1 : 0);
    pfs_mtext_add(&t,
                  "# HELP posfleet_broker_reconnects_total Connections to the broker established "
                  "after the first.\n# TYPE posfleet_broker_reconnects_total counter\n"
                  "posfleet_broker_reconnects_total %llu\n",
                  (unsigned long long)(connects > 0 ? connects - 1 : 0));
    {
        static const struct pfs_notify_stats none;
        const struct pfs_notify_stats *ns = api->notify ? &api->notify->stats : &none;

        pfs_mtext_add(&t,
                      "# HELP posfleet_webhook_events_total Events stored for webhooks (each "
                      "with one delivery per subscribed hook).\n"
                      "# TYPE posfleet_webhook_events_total counter\n"
                      "posfleet_webhook_events_total %llu\n"
                      "# HELP posfleet_webhook_attempts_total Webhook delivery attempts by "
                      "outcome: delivered (2xx), retried (failed, tried again later), failed "
                      "(failed, given up).\n"
                      "# TYPE posfleet_webhook_attempts_total counter\n"
                      "posfleet_webhook_attempts_total{result=\"delivered\"} %llu\n"
                      "posfleet_webhook_attempts_total{result=\"retried\"} %llu\n"
                      "posfleet_webhook_attempts_total{result=\"failed\"} %llu\n",
                      (unsigned long long)ns->events, (unsigned long long)ns->delivered,
                      (unsigned long long)ns->retried, (unsigned long long)ns->failed);
        pfs_mtext_add(&t, "# HELP posfleet_webhook_pending Deliveries waiting for their next "
                          "attempt, by hook.\n# TYPE posfleet_webhook_pending gauge\n");
        for (int i = 0; api->notify && i < api->notify->nhooks; i++) {
            int64_t counts[PFS_DLV_COUNT];

            if (pfs_store_notify_counts(api->store, api->notify->hooks[i].name, counts) == 0)
                pfs_mtext_add(&t, "posfleet_webhook_pending{hook=\"%s\"} %lld\n",
                              api->notify->hooks[i].name, (long long)counts[PFS_DLV_PENDING]);
        }
    }
    rc = pfs_store_gauges(api->store, obs__gauge, &g);
    if (!rc) {
        pfs_mtext_add(&t, "# HELP posfleet_terminals Terminals by lifecycle state.\n"
                          "# TYPE posfleet_terminals gauge\n");
        for (int i = 0; i < PFS_TERM_STATE_COUNT; i++)
            pfs_mtext_add(&t, "posfleet_terminals{state=\"%s\"} %lld\n", pfs_term_state_names[i],
                          (long long)g.terminals[i]);
        pfs_mtext_add(&t,
                      "# HELP posfleet_repairs_open Repairs not yet returned to stock or "
                      "scrapped.\n# TYPE posfleet_repairs_open gauge\nposfleet_repairs_open %lld\n",
                      (long long)g.repairs_open);
        pfs_mtext_add(&t, "# HELP posfleet_rollout_members Members of each live rollout by "
                          "status (planned members count as pending).\n"
                          "# TYPE posfleet_rollout_members gauge\n");
        for (size_t r = 0; r < g.nro; r++) {
            for (int s = 0; s < PFS_ROM_COUNT; s++)
                pfs_mtext_add(&t, "posfleet_rollout_members{rollout=\"%lld\",status=\"%s\"} %lld\n",
                              (long long)g.ro[r].id, pfs_ro_member_names[s],
                              (long long)g.ro[r].n[s]);
        }
    }
    free(g.ro);
    *body = t.p;
    *len = t.len;
    if (t.failed)
        return PF_ENOMEM;
    return rc;
}
