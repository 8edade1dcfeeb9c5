/*
 * server.c - wiring the loop: store, ingest, MQTT, HTTP, timers, signals.
 */
#include "server.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "net/http.h"
#include "net/static.h"
#include "net/mqtt.h"
#include "net/webhook.h"
#include "store/store_online.h"

#define SERVER_RETENTION_PERIOD_MS (10 * 60 * 1000)
#define SERVER_RETENTION_CHUNK     5000
#define SERVER_RETENTION_CHUNKS    20
#define SERVER_ONLINE_KEEP_MS      (25 * 3600 * 1000LL) /* online samples: a day and an hour */

static void server__flush(struct pfs_server *s)
{
    if (s->handles_open)
        uv_timer_stop(&s->batch_timer);
    if (s->ingest_open && pfs_ingest_flush(&s->ingest) != 0)
        pfs_log_error(&s->log, "store: batch lost; reports since the last commit are missing");
    if (s->live_open)
        pfs_live_commit(&s->live); /* the terminals heard are in the store now */
}

static void server__on_batch_timer(uv_timer_t *t)
{
    server__flush(t->data);
}

/* After writes into the batch: commit now if full, else within batch_ms. */
static void server__batch_kick(struct pfs_server *s)
{
    int pending = pfs_store_batch_pending(s->store);

    if (pending >= s->cfg.store_batch_max)
        server__flush(s);
    else if (pending > 0 && !uv_is_active((uv_handle_t *)&s->batch_timer))
        uv_timer_start(&s->batch_timer, server__on_batch_timer, (uint64_t)s->cfg.store_batch_ms, 0);
}

static void server__on_message(void *ctx, const char *topic, const void *payload, size_t len,
                               bool retained, const void *corr, size_t corr_len)
{
    struct pfs_server *s = ctx;
    const struct pfs_inbound_props props = {
            .retained = retained, .corr = corr, .corr_len = corr_len};

    /* refusals are counted */
    (void)pfs_inbound_deliver(&s->inbound, topic, payload, len, &props);
    server__batch_kick(s);
    /* Nothing left in the batch: what this message changed is committed. */
    if (s->live_open && s->live.nlater && pfs_store_batch_pending(s->store) == 0)
        pfs_live_commit(&s->live);
}

/* A diagnostic answer is matched with the correlation data it came with. */
static int server__on_diag(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_server *s = ctx;
    size_t corr_len = 0;
    const void *corr = pfs_inbound_corr(&s->inbound, &corr_len);

    return pfs_diag_answer(&s->diag, serial, payload, len, corr, corr_len);
}

/* A birth is stored, then the terminal's unfinished offer is sent again. */
static int server__on_birth(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_server *s = ctx;
    int rc = pfs_ingest_on_birth(&s->ingest, serial, payload, len);

    if (rc == 0)
        (void)pfs_updates_resend(&s->updates, serial, "after its birth");
    return rc;
}

/* A lock report is lifecycle's; taking it also means the terminal was heard from. */
static int server__on_lock(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_server *s = ctx;
    int rc = pfs_lifectl_on_lock(&s->lifectl, serial, payload, len);

    return rc ? rc : pfs_ingest_heard(&s->ingest, serial);
}

/* A tamper event locks at once; it also means the terminal was heard from. */
static int server__on_tamper(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_server *s = ctx;
    int rc = pfs_lifectl_on_tamper(&s->lifectl, serial, payload, len);

    return rc ? rc : pfs_ingest_heard(&s->ingest, serial);
}

/* The table from dev/ leaf to module; a leaf without a route is refused as TOPIC. */
static void server__routes(struct pfs_server *s)
{
    const struct pfs_inbound_route routes[] = {
            {PF_LEAF_HEALTH, pfs_ingest_on_health, &s->ingest},
            {PF_LEAF_BIRTH, server__on_birth, s},
            {PF_LEAF_STATE, pfs_ingest_on_state, &s->ingest},
            {PF_LEAF_LOCK, server__on_lock, s},
            {PF_LEAF_TAMPER, server__on_tamper, s},
            {PF_LEAF_EVENT, pfs_updates_on_event, &s->updates},       /* commits and acks */
            {PF_LEAF_CHUNKREQ, pfs_updates_on_chunkreq, &s->updates}, /* answers with chunks */
            {PF_LEAF_DIAG, server__on_diag, s},
            {PF_LEAF_DIAGCHUNK, pfs_diag_on_chunk, &s->diag},
    };

    pfs_inbound_init(&s->inbound, &s->ingest.devs, &s->metrics, &s->log, &s->clock);
    pfs_inbound_routes(&s->inbound, routes, sizeof(routes) / sizeof(routes[0]));
}

static void server__on_silent_timer(uv_timer_t *t)
{
    struct pfs_server *s = t->data;

    if (pfs_ingest_silent_check(&s->ingest) > 0)
        server__batch_kick(s);
}

static void server__on_retention_timer(uv_timer_t *t)
{
    struct pfs_server *s = t->data;
    int64_t now = pf_clock_wall_ms(&s->clock);
    int64_t before = now - (int64_t)s->cfg.store_health_days * 86400000;
    int total = 0;

    for (int i = 0; s->cfg.store_health_days > 0 && i < SERVER_RETENTION_CHUNKS; i++) {
        int n = 0;

        if (pfs_store_health_expire(s->store, before, SERVER_RETENTION_CHUNK, &n) != 0) {
            pfs_log_error(&s->log, "store: expiring old health reports failed");
            break;
        }
        total += n;
        server__flush(s);
        if (n < SERVER_RETENTION_CHUNK)
            break;
    }
    if (total)
        pfs_log_info(&s->log, "store: %d health reports older than %d days removed", total,
                     s->cfg.store_health_days);
    /* Update history: the same bound, in chunks of its own transaction. */
    before = now - (int64_t)s->cfg.store_update_days * 86400000;
    total = 0;
    for (int i = 0; s->cfg.store_update_days > 0 && i < SERVER_RETENTION_CHUNKS; i++) {
        int n = 0;

        if (pfs_store_update_expire(s->store, before, now, SERVER_RETENTION_CHUNK, &n) != 0) {
            pfs_log_error(&s->log, "store: expiring old update events failed");
            break;
        }
        total += n;
        if (n < SERVER_RETENTION_CHUNK)
            break;
    }
    if (total)
        pfs_log_info(&s->log, "store: %d update events older than %d days removed", total,
                     s->cfg.store_update_days);
}

/* The dashboard's online line (store_online.h): the count reads every online
 * terminal's row, so it runs on the thread pool over a read-only connection
 * of its own; the loop only commits its batch first and saves the few rows. */
struct server__online_job {
    uv_work_t work;
    struct pfs_server *s;
    char path[PATH_MAX];
    int64_t now_ms, took_ms;
    struct pfs_online_counts counts;
    struct pf_error err;
    int rc;
};

static void server__online_work(uv_work_t *w)
{
    struct server__online_job *j = w->data;
    uint64_t t0 = uv_hrtime(); /* the server's clock belongs to the loop's thread */

    j->rc = pfs_store_online_count_file(j->path, &j->counts, &j->err);
    j->took_ms = (int64_t)((uv_hrtime() - t0) / 1000000);
}

static void server__online_after(uv_work_t *w, int status)
{
    struct server__online_job *j = w->data;
    struct pfs_server *s = j->s;

    (void)status; /* never cancelled */
    s->online_busy = false;
    if (!j->rc && !s->stopped)
        j->rc = pfs_store_online_save(s->store, j->now_ms, j->now_ms - SERVER_ONLINE_KEEP_MS,
                                      &j->counts, &j->err);
    if (j->rc)
        pfs_log_error(&s->log, "store: %s", j->err.msg);
    else
        pfs_log(&s->log, j->took_ms >= 10000 ? PFS_LOG_WARN : PFS_LOG_DEBUG,
                "store: online terminals counted in %lld ms (off the loop)", (long long)j->took_ms);
    pfs_online_counts_release(&j->counts);
    free(j);
}

static void server__on_online_timer(uv_timer_t *t)
{
    struct pfs_server *s = t->data;
    struct server__online_job *j;

    if (s->online_busy)
        return; /* the last count is still running: this sample is skipped */
    j = calloc(1, sizeof(*j));
    if (!j) {
        pfs_log_error(&s->log, "store: online sample: out of memory");
        return;
    }
    j->work.data = j;
    j->s = s;
    server__flush(s);
    j->now_ms = pf_clock_wall_ms(&s->clock);
    if (pfs_store_online_source(s->store, j->path, sizeof(j->path)) != 0 ||
        uv_queue_work(&s->loop, &j->work, server__online_work, server__online_after) != 0) {
        pfs_log_error(&s->log, "store: online sample: cannot start the count");
        free(j);
        return;
    }
    s->online_busy = true;
}

static void server__shutdown(struct pfs_server *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->handles_open)
        pfs_log_info(&s->log, "shutting down");
    server__flush(s);
    if (s->mqtt_open) {
        pfs_mqtt_stop(s->mqtt);
        s->mqtt_open = false;
    }
    if (s->http_open) {
        pfs_http_stop(s->http);
        s->http_open = false;
    }
    if (s->diag_open) {
        pfs_diag_release(&s->diag);
        s->diag_open = false;
    }
    if (s->notify_open)
        pfs_notify_stop(&s->notify);
    if (s->webhook) {
        pfs_webhook_free(s->webhook);
        s->webhook = NULL;
    }
    if (s->handles_open) {
        uv_close((uv_handle_t *)&s->batch_timer, NULL);
        uv_close((uv_handle_t *)&s->silent_timer, NULL);
        uv_close((uv_handle_t *)&s->retention_timer, NULL);
        uv_close((uv_handle_t *)&s->online_timer, NULL);
        uv_close((uv_handle_t *)&s->stop_async, NULL);
        if (s->live_open) /* after http: its streams let go of their watchers */
            pfs_live_release(&s->live);
        s->live_open = false;
        if (s->lifectl_open)
            pfs_lifectl_stop(&s->lifectl);
        if (s->rollouts_open)
            pfs_rollouts_stop(&s->rollouts);
        if (s->opts.signals) {
            uv_close((uv_handle_t *)&s->sigterm, NULL);
            uv_close((uv_handle_t *)&s->sigint, NULL);
            uv_close((uv_handle_t *)&s->sighup, NULL);
        }
        s->handles_open = false;
    }
}

static void server__on_signal(uv_signal_t *h, int signum)
{
    struct pfs_server *s = h->data;

    pfs_log_info(&s->log, "signal %d", signum);
    server__shutdown(s);
}

static void server__on_hup(uv_signal_t *h, int signum)
{
    struct pfs_server *s = h->data;
    struct pfs_tokens fresh;
    struct pf_error err = {0};

    (void)signum;
    if (!s->cfg.http_tokens[0])
        return;
    if (pfs_tokens_load(&fresh, s->cfg.http_tokens, &err) != 0) {
        pfs_log_error(&s->log, "SIGHUP: http.tokens: %s (keeping the previous tokens)", err.msg);
        return;
    }
    pfs_tokens_release(&s->tokens);
    s->tokens = fresh;
    pfs_log_info(&s->log, "SIGHUP: %zu tokens loaded", s->tokens.n);
}

static int server__webhook_post(void *ctx, int64_t token, const char *url,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t len)
{
    return pfs_webhook_post(ctx, token, url, headers, nheaders, body, len);
}

/* Webhooks: events are stored from the start; they are sent only with the
 * loop's other outside connections (opts.mqtt), so tests of the API alone
 * send nothing. */
static int server__notify(struct pfs_server *s, struct pf_error *err)
{
    int rc = pfs_notify_init(&s->notify, s->opts.mqtt ? &s->loop : NULL, &s->cfg.notify, s->store,
                             &s->clock, &s->log, err);

    if (rc)
        return rc;
    s->notify_open = true;
    if (s->opts.mqtt && s->notify.nhooks) {
        struct pfs_notify_transport tr = {server__webhook_post, NULL};

        rc = pfs_webhook_new(&s->loop, s->notify.timeout_ms, pfs_notify_done, &s->notify,
                             &s->webhook, err);
        if (rc)
            return rc;
        tr.ctx = s->webhook;
        pfs_notify_start(&s->notify, &tr);
        pfs_log_info(&s->log, "notify: %d webhooks configured", s->notify.nhooks);
    }
    return 0;
}

/* The broker connection as the API reports it (/readyz, /metrics). */
static bool server__broker(void *ctx, uint64_t *connects)
{
    struct pfs_server *s = ctx;

    *connects = s->mqtt ? (uint64_t)s->mqtt->connects : 0;
    return s->mqtt_open && s->mqtt->connected;
}

static void server__on_stop(uv_async_t *a)
{
    server__shutdown(a->data);
}

int pfs_server_new(const struct pfs_config *cfg, const struct pfs_server_opts *opts,
                   struct pfs_server **out, struct pf_error *err)
{
    struct pfs_store_opts so = {0};
    struct pfs_ingest_opts io = {0};
    struct pfs_http_opts ho = {0};
    struct pfs_server *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->opts = *opts;
    s->log.level = cfg->log_level;
    s->clock = pf_clock_system;
    pfs_metrics_init(&s->metrics);
    if (uv_loop_init(&s->loop) != 0) {
        rc = pf_error_set(err, PF_EIO, "cannot create the event loop");
        goto out_free;
    }
    s->loop_open = true;
    if (cfg->http_tokens[0]) {
        rc = pfs_tokens_load(&s->tokens, cfg->http_tokens, err);
        if (rc) {
            pf_error_prefix(err, "http.tokens");
            goto out_free;
        }
    } else {
        pfs_log_warn(&s->log, "http.tokens not set: every /v1 request will be refused");
    }
    so.backend = cfg->store_backend;
    so.path = cfg->store_path;
    so.dsn = cfg->store_dsn;
    rc = pfs_store_open(&so, &s->store, err);
    if (rc)
        goto out_free;
    rc = server__notify(s, err);
    if (rc)
        goto out_free;
    io.health_keep = cfg->store_health_keep;
    io.silent_ms = (int64_t)cfg->silent_after * cfg->report_interval_s * 1000;
    rc = pfs_ingest_init(&s->ingest, &io, s->store, &s->metrics, &s->log, &s->clock, err);
    if (rc)
        goto out_free;
    s->ingest_open = true;
    pfs_devmap_set_rate(&s->ingest.devs, PFS_RATE_MESSAGES, cfg->ingest_rate_per_s,
                        cfg->ingest_burst);
    pfs_devmap_set_rate(&s->ingest.devs, PFS_RATE_CHUNKREQ, cfg->ingest_chunkreq_rate_per_s,
                        cfg->ingest_chunkreq_burst);
    s->mqtt = calloc(1, sizeof(*s->mqtt));
    if (!s->mqtt) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    pfs_mqtt_publisher(s->mqtt, &s->pub);
    rc = pfs_updates_init(&s->updates, &s->cfg, s->store, &s->pub, &s->log, &s->clock, err);
    if (rc)
        goto out_free;
    s->updates_open = true;
    s->updates.loop = &s->loop; /* uploads are verified on the thread pool */
    {
        /* Lock commands are retried every report interval (1-30 s) until confirmed. */
        int64_t retry = (int64_t)cfg->report_interval_s * 1000;

        rc = pfs_lifectl_init(&s->lifectl, &s->loop, s->store, opts->mqtt ? &s->pub : NULL,
                              &s->clock, &s->log,
                              retry < 1000    ? 1000
                              : retry > 30000 ? 30000
                                              : retry,
                              err);
        if (rc)
            goto out_free;
        s->lifectl_open = true;
        s->ingest.hooks = (struct pfs_ingest_hooks){&s->lifectl, pfs_lifectl_on_health};
    }
    /* Rollouts offer only with a broker; their API works either way. */
    rc = pfs_rollouts_init(&s->rollouts, opts->mqtt ? &s->loop : NULL, &s->cfg, s->store,
                           &s->updates, &s->log, &s->clock, err);
    if (rc)
        goto out_free;
    s->rollouts_open = true;
    s->lifectl.notify = s->rollouts.notify = s->ingest.notify = &s->notify;
    s->lifectl.swap_hook = pfs_store_rollout_swap; /* a swap moves rollout memberships */
    s->lifectl.swap_hook_ctx = NULL;

    uv_timer_init(&s->loop, &s->batch_timer);
    uv_timer_init(&s->loop, &s->silent_timer);
    uv_timer_init(&s->loop, &s->retention_timer);
    uv_timer_init(&s->loop, &s->online_timer);
    s->online_timer.data = s;
    uv_async_init(&s->loop, &s->stop_async, server__on_stop);
    s->batch_timer.data = s->silent_timer.data = s->retention_timer.data = s;
    s->stop_async.data = s;
    if (opts->signals) {
        uv_signal_init(&s->loop, &s->sigterm);
        uv_signal_init(&s->loop, &s->sigint);
        uv_signal_init(&s->loop, &s->sighup);
        s->sigterm.data = s->sigint.data = s->sighup.data = s;
        uv_signal_start(&s->sigterm, server__on_signal, SIGTERM);
        uv_signal_start(&s->sigint, server__on_signal, SIGINT);
        uv_signal_start(&s->sighup, server__on_hup, SIGHUP);
    }
    s->handles_open = true;
    rc = pfs_live_init(&s->live, &s->loop, cfg->http_events_per_user, cfg->http_events_keepalive_s);
    if (rc) {
        rc = pf_error_set(err, rc, "events: cannot start the keep-alive timer");
        goto out_free;
    }
    s->live_open = true;
    s->rollouts.live = &s->live;
    {
        /* Check silence a few times per silent period, at most every 5 s. */
        uint64_t every = (uint64_t)io.silent_ms / 4;

        if (every > 5000)
            every = 5000;
        if (every < 100)
            every = 100;
        uv_timer_start(&s->silent_timer, server__on_silent_timer, every, every);
    }
    if (cfg->store_health_days > 0 || cfg->store_update_days > 0)
        uv_timer_start(&s->retention_timer, server__on_retention_timer, 1000,
                       SERVER_RETENTION_PERIOD_MS);
    if (cfg->store_online_sample_s > 0)
        uv_timer_start(&s->online_timer, server__on_online_timer,
                       (uint64_t)cfg->store_online_sample_s * 1000,
                       (uint64_t)cfg->store_online_sample_s * 1000);

    s->api = calloc(1, sizeof(*s->api));
    s->http = calloc(1, sizeof(*s->http));
    s->console = calloc(1, sizeof(*s->console));
    if (!s->api || !s->http || !s->console) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    {
        struct pfs_diag_opts dopts = {cfg->diag_rate_terminal, cfg->diag_rate_user};

        rc = pfs_diag_init(&s->diag, &dopts, s->store, &s->pub, &s->loop, &s->clock, &s->log, err);
        if (rc)
            goto out_free;
        s->diag_open = true;
        s->api->diag = &s->diag;
    }
    rc = pfs_backup_init(&s->backup, &s->loop, s->store, cfg->store_path, &s->log, err);
    if (rc)
        goto out_free;
    s->api->backup = &s->backup;
    pfs_bulkjob_init(&s->bulkjob, &s->loop, s->store, &s->clock, &s->log);
    s->api->bulkjob = &s->bulkjob;
    s->api->live = &s->live;
    s->api->notify = &s->notify;
    s->api->store = s->store;
    s->api->online_sample_s = cfg->store_online_sample_s;
    s->api->updates = &s->updates;
    s->api->lifectl = &s->lifectl;
    s->api->rollouts = &s->rollouts;
    s->api->ingest = &s->ingest;
    s->api->metrics = &s->metrics;
    s->api->tokens = &s->tokens;
    pfs_accounts_init(&s->accounts, &s->loop, s->store, &s->clock);
    s->accounts_open = true;
    s->api->accounts = &s->accounts;
    s->api->clock = &s->clock;
    s->api->log = &s->log;
    s->api->body_max = (size_t)cfg->http_body_max;
    s->api->bulk_max = (size_t)cfg->http_import_max;
    if (opts->mqtt) {
        s->api->broker = server__broker;
        s->api->broker_ctx = s;
    }
    ho.addr = cfg->http_addr;
    ho.port = cfg->http_port;
    ho.tls = cfg->http_tls;
    ho.cert = cfg->http_cert;
    ho.key = cfg->http_key;
    ho.max_conns = cfg->http_max_conns;
    ho.max_conns_per_ip = cfg->http_max_conns_per_ip;
    ho.head_timeout_ms = cfg->http_head_timeout_ms;
    {
        struct pfs_http_service api = pfs_api_service(s->api);
        struct pfs_http_service svc;

        snprintf(s->console->dir, sizeof(s->console->dir), "%s", cfg->http_console_dir);
        snprintf(s->console->js_dir, sizeof(s->console->js_dir), "%s", cfg->http_javascript_dir);
        svc = pfs_static_service(s->console, &api);
        rc = pfs_http_start(s->http, &s->loop, &ho, &svc, &s->log, err);
    }
    if (rc)
        goto out_free;
    s->http_open = true;
    pfs_log_info(&s->log, "http: listening on %s:%d (%s)", cfg->http_addr, s->http->port,
                 cfg->http_tls ? "HTTPS" : "plain HTTP, loopback only");
    server__routes(s);
    s->inbound.live = &s->live;
    if (opts->mqtt) {
        rc = pfs_mqtt_start(s->mqtt, &s->loop, &s->cfg, &s->log, server__on_message, s, err);
        if (rc)
            goto out_free;
        s->mqtt_open = true;
        s->mqtt->on_published = pfs_updates_published;
        s->mqtt->published_ctx = &s->updates;
    }
    *out = s;
    return 0;

out_free:
    pfs_server_free(s);
    return rc;
}

int pfs_server_run(struct pfs_server *s)
{
    int rc = uv_run(&s->loop, UV_RUN_DEFAULT);

    (void)rc;
    return 0;
}

void pfs_server_stop(struct pfs_server *s)
{
    uv_async_send(&s->stop_async);
}

void pfs_server_free(struct pfs_server *s)
{
    if (!s)
        return;
    if (s->loop_open) {
        server__shutdown(s);
        /* Let the closed handles finish. */
        uv_run(&s->loop, UV_RUN_DEFAULT);
    }
    if (s->rollouts_open)
        pfs_rollouts_release(&s->rollouts);
    if (s->notify_open)
        pfs_notify_release(&s->notify);
    if (s->lifectl_open)
        pfs_lifectl_release(&s->lifectl);
    if (s->updates_open)
        pfs_updates_release(&s->updates);
    if (s->ingest_open)
        pfs_ingest_release(&s->ingest);
    if (s->accounts_open)
        pfs_accounts_release(&s->accounts);
    pfs_store_close(s->store);
    pfs_tokens_release(&s->tokens);
    free(s->mqtt);
    if (s->loop_open && uv_loop_close(&s->loop) != 0)
        pfs_log_error(&s->log, "event loop: handles still open at exit");
    free(s->http);
    free(s->console);
    free(s->api);
    free(s);
}

int pfs_server_http_port(const struct pfs_server *s)
{
    return s->http ? s->http->port : 0;
}
