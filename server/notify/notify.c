/*
 * notify.c - events to webhook deliveries: stored first, then sent by a timer
 * on the loop through the transport, retried with backoff (notify.h).
 */
#include "notify/notify.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/fileio.h"
#include "pf/release.h"
#include "store/store_notify.h"

#define NOTIFY_DEF_RETRY_MIN_MS 1000
#define NOTIFY_DEF_RETRY_MAX_MS 3600000
#define NOTIFY_DEF_ATTEMPTS     30
#define NOTIFY_DEF_TIMEOUT_MS   10000
#define NOTIFY_IDLE_MS          60000 /* look again at least this often */

static void notify__kick(struct pfs_notify *n, uint64_t delay_ms);

static int notify__secret(struct pfs_notify_hook *h, const char *path, struct pf_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = pf_file_read(path, PFS_NOTIFY_SECRET_MAX + 2, &buf, &len);

    if (rc)
        return pf_error_set(err, PF_EINVAL, "hook.%s.secret_file: %s: %s", h->name, path,
                            pf_strerror(rc));
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0 || len > PFS_NOTIFY_SECRET_MAX) {
        free(buf);
        return pf_error_set(err, PF_EINVAL, "hook.%s.secret_file: %s: empty or over %d bytes",
                            h->name, path, PFS_NOTIFY_SECRET_MAX);
    }
    memcpy(h->secret, buf, len);
    h->secret_len = len;
    sodium_memzero(buf, len);
    free(buf);
    return 0;
}

int pfs_notify_init(struct pfs_notify *n, uv_loop_t *loop, const struct pfs_notify_conf *conf,
                    struct pfs_store *store, const struct pf_clock *clock,
                    const struct pfs_log *log, struct pf_error *err)
{
    memset(n, 0, sizeof(*n));
    n->store = store;
    n->clock = clock;
    n->log = log;
    n->retry_min_ms = conf->retry_min_ms ? conf->retry_min_ms : NOTIFY_DEF_RETRY_MIN_MS;
    n->retry_max_ms = conf->retry_max_ms ? conf->retry_max_ms : NOTIFY_DEF_RETRY_MAX_MS;
    if (n->retry_max_ms < n->retry_min_ms)
        n->retry_max_ms = n->retry_min_ms;
    n->max_attempts = conf->max_attempts ? conf->max_attempts : NOTIFY_DEF_ATTEMPTS;
    n->timeout_ms = conf->timeout_ms ? conf->timeout_ms : NOTIFY_DEF_TIMEOUT_MS;
    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "notify: libsodium failed to initialise");
    for (int i = 0; i < conf->nhooks; i++) {
        struct pfs_notify_hook *h = &n->hooks[i];
        int rc;

        memcpy(h->name, conf->hooks[i].name, sizeof(h->name));
        memcpy(h->url, conf->hooks[i].url, sizeof(h->url));
        h->events = conf->hooks[i].events;
        rc = notify__secret(h, conf->hooks[i].secret_file, err);
        if (rc) {
            pfs_notify_release(n);
            return rc;
        }
        n->nhooks++;
    }
    if (loop) {
        n->loop = loop;
        uv_timer_init(loop, &n->timer);
        n->timer.data = n;
        n->timer_open = true;
    }
    return 0;
}

void pfs_notify_stop(struct pfs_notify *n)
{
    if (n->timer_open) {
        uv_timer_stop(&n->timer);
        uv_close((uv_handle_t *)&n->timer, NULL);
        n->timer_open = false;
    }
    n->tr.post = NULL;
}

void pfs_notify_release(struct pfs_notify *n)
{
    sodium_memzero(n->hooks, sizeof(n->hooks));
    n->nhooks = 0;
}

void pfs_notify_sign(const unsigned char *secret, size_t secret_len, int64_t ts, const char *body,
                     char out[7 + 64 + 1])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", ts);

    crypto_auth_hmacsha256_init(&st, secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

int64_t pfs_notify_backoff_ms(const struct pfs_notify *n, int attempts)
{
    int64_t d = n->retry_min_ms;

    for (int i = 1; i < attempts && d < n->retry_max_ms; i++)
        d *= 2;
    if (d > n->retry_max_ms)
        d = n->retry_max_ms;
    /* In the upper half: receivers coming back are not hit by every sender at once. */
    return d - (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
}

static const struct pfs_notify_hook *notify__hook(const struct pfs_notify *n, const char *name)
{
    for (int i = 0; i < n->nhooks; i++) {
        if (strcmp(n->hooks[i].name, name) == 0)
            return &n->hooks[i];
    }
    return NULL;
}

void pfs_notify_emit(struct pfs_notify *n, enum pfs_event_kind kind, const char *subject,
                     json_t *data)
{
    const char *hooks[PFS_HOOKS_MAX];
    struct pfs_notify_event ev = {0};
    unsigned char rnd[PFS_NOTIFY_ID_LEN / 2];
    struct pf_error err = {0};
    char *body = NULL;
    json_t *o = NULL;
    size_t nh = 0;
    int64_t now;

    if (!n)
        goto out;
    for (int i = 0; i < n->nhooks; i++) {
        if (n->hooks[i].events & (1u << kind))
            hooks[nh++] = n->hooks[i].name;
    }
    if (!nh)
        goto out;
    now = pf_clock_wall_ms(n->clock);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(ev.id, sizeof(ev.id), rnd, sizeof(rnd));
    o = json_pack("{s:s, s:s, s:s, s:I, s:O?}", "id", ev.id, "kind", pfs_event_kind_names[kind],
                  "subject", subject, "ts_ms", (json_int_t)now, "data", data);
    body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!body) {
        pfs_log_error(n->log, "notify: %s %s: out of memory, not notified",
                      pfs_event_kind_names[kind], subject);
        goto out;
    }
    ev.kind = pfs_event_kind_names[kind];
    ev.subject = subject;
    ev.body = body;
    ev.created_ms = now;
    if (pfs_store_notify_add(n->store, &ev, hooks, nh, now, &err) != 0) {
        pfs_log_error(n->log, "notify: %s %s: %s", ev.kind, subject, err.msg);
        goto out;
    }
    n->stats.events++;
    pfs_log_info(n->log, "notify: %s %s: event %s for %zu hooks", ev.kind, subject, ev.id, nh);
    notify__kick(n, 0);

out:
    free(body);
    json_decref(o);
    json_decref(data);
}

void pfs_notify_rollout(struct pfs_notify *n, int64_t rollout, const char *state,
                        const char *reason, const char *detail)
{
    char subject[32];
    enum pfs_event_kind kind;

    if (strcmp(state, "paused") == 0)
        kind = PFS_EV_ROLLOUT_PAUSED;
    else if (strcmp(state, "completed") == 0)
        kind = PFS_EV_ROLLOUT_COMPLETED;
    else if (strcmp(state, "expired") == 0)
        kind = PFS_EV_ROLLOUT_EXPIRED;
    else
        return;
    snprintf(subject, sizeof(subject), "%" PRId64, rollout);
    pfs_notify_emit(n, kind, subject,
                    json_pack("{s:I, s:s, s:s?, s:s?}", "rollout", (json_int_t)rollout, "state",
                              state, "reason", reason, "detail", detail));
}

void pfs_notify_repair(struct pfs_notify *n, int64_t repair, const char *serial, const char *state,
                       const char *actor)
{
    char subject[32];

    snprintf(subject, sizeof(subject), "%" PRId64, repair);
    pfs_notify_emit(n, PFS_EV_REPAIR, subject,
                    json_pack("{s:I, s:s, s:s, s:s?}", "repair", (json_int_t)repair, "serial",
                              serial, "state", state, "actor", actor));
}

/* Hands one due delivery to the transport. */
static int notify__send(void *ctx, const struct pfs_delivery *d)
{
    struct pfs_notify *n = ctx;
    const struct pfs_notify_hook *h = notify__hook(n, d->hook);
    char sig[7 + 64 + 1], h_sig[128], h_ts[64], h_id[96], h_kind[64], h_dlv[64], h_try[48],
            h_ua[64];
    const char *headers[8];
    int64_t ts = pf_clock_wall_ms(n->clock) / 1000;
    struct pf_error err = {0};
    int rc;

    if (!h) {
        /* The hook left the configuration: its deliveries end here, logged. */
        struct pfs_attempt a = {0, "hook no longer configured", 0};

        if (pfs_store_notify_result(n->store, d->id, &a, PFS_DLV_FAILED, 0,
                                    pf_clock_wall_ms(n->clock), &err) != 0)
            pfs_log_error(n->log, "notify: delivery %" PRId64 ": %s", d->id, err.msg);
        return 0;
    }
    pfs_notify_sign(h->secret, h->secret_len, ts, d->body ? d->body : "", sig);
    snprintf(h_sig, sizeof(h_sig), "X-Posfleet-Signature: %s", sig);
    snprintf(h_ts, sizeof(h_ts), "X-Posfleet-Timestamp: %" PRId64, ts);
    snprintf(h_id, sizeof(h_id), "X-Posfleet-Event-Id: %s", d->event);
    snprintf(h_kind, sizeof(h_kind), "X-Posfleet-Event: %s", d->kind);
    snprintf(h_dlv, sizeof(h_dlv), "X-Posfleet-Delivery: %" PRId64, d->id);
    snprintf(h_try, sizeof(h_try), "X-Posfleet-Attempt: %d", d->attempts + 1);
    snprintf(h_ua, sizeof(h_ua), "User-Agent: posfleetd/%s", PF_RELEASE_VERSION);
    headers[0] = "Content-Type: application/json";
    headers[1] = h_sig;
    headers[2] = h_ts;
    headers[3] = h_id;
    headers[4] = h_kind;
    headers[5] = h_dlv;
    headers[6] = h_try;
    headers[7] = h_ua;
    rc = n->tr.post(n->tr.ctx, d->id, h->url, headers, 8, d->body ? d->body : "",
                    d->body ? strlen(d->body) : 0);
    if (rc) {
        pfs_log_warn(n->log, "notify: delivery %" PRId64 " to %s: not started: %s", d->id, h->name,
                     pf_strerror(rc));
        return 0;
    }
    n->inflight++;
    return 0;
}

static void notify__on_timer(uv_timer_t *t)
{
    struct pfs_notify *n = t->data;
    int64_t now = pf_clock_wall_ms(n->clock), next = 0;
    bool any = false;

    if (!n->tr.post || n->inflight > 0)
        return; /* the last outcome of the batch kicks again */
    if (pfs_store_notify_due(n->store, now, PFS_NOTIFY_BATCH, notify__send, n) != 0)
        pfs_log_error(n->log, "notify: reading the due deliveries failed");
    if (n->inflight > 0)
        return;
    if (pfs_store_notify_next(n->store, &next, &any) != 0 || !any) {
        notify__kick(n, NOTIFY_IDLE_MS);
        return;
    }
    notify__kick(n, next > now ? (uint64_t)(next - now) : 10);
}

static void notify__kick(struct pfs_notify *n, uint64_t delay_ms)
{
    if (n->timer_open && n->tr.post)
        uv_timer_start(&n->timer, notify__on_timer, delay_ms, 0);
}

void pfs_notify_start(struct pfs_notify *n, const struct pfs_notify_transport *tr)
{
    n->tr = *tr;
    if (n->nhooks)
        notify__kick(n, 0);
}

/* The delivery's attempts so far (for the retry decision). */
struct notify__row {
    int64_t id;
    int attempts;
    char hook[PFS_HOOK_NAME_MAX + 1];
    char event[PFS_NOTIFY_ID_LEN + 1];
    bool found;
};

static int notify__find(void *ctx, const struct pfs_delivery *d)
{
    struct notify__row *r = ctx;

    if (d->id != r->id)
        return 0;
    r->attempts = d->attempts;
    memcpy(r->hook, d->hook, sizeof(r->hook));
    memcpy(r->event, d->event, sizeof(r->event));
    r->found = true;
    return 1;
}

void pfs_notify_done(void *ctx, int64_t token, int status, const char *error, int64_t ms)
{
    struct pfs_notify *n = ctx;
    struct notify__row r = {.id = token};
    struct pf_error err = {0};
    int64_t now = pf_clock_wall_ms(n->clock), next = 0;
    bool ok = status >= 200 && status < 300;
    enum pfs_delivery_state state = PFS_DLV_DELIVERED;
    char why[PFS_NOTIFY_ERR_MAX + 1];
    struct pfs_attempt a = {status, "", ms};

    if (n->inflight > 0)
        n->inflight--;
    /* The delivery's row: the log is small per hook and the id is the key. */
    if (pfs_store_notify_log(n->store, NULL, token + 1, 1, notify__find, &r) < 0 || !r.found)
        pfs_log_error(n->log, "notify: delivery %" PRId64 ": not found in the store", token);
    if (!ok) {
        if (error && error[0])
            snprintf(why, sizeof(why), "%s", error);
        else
            snprintf(why, sizeof(why), "answered %d", status);
        a.error = why;
        if (r.attempts + 1 >= n->max_attempts) {
            state = PFS_DLV_FAILED;
        } else {
            state = PFS_DLV_PENDING;
            next = now + pfs_notify_backoff_ms(n, r.attempts + 1);
        }
    }
    if (pfs_store_notify_result(n->store, token, &a, state, next, now, &err) != 0)
        pfs_log_error(n->log, "notify: delivery %" PRId64 ": %s", token, err.msg);
    switch (state) {
    case PFS_DLV_DELIVERED:
        n->stats.delivered++;
        pfs_log_info(n->log, "notify: event %s delivered to %s (attempt %d, %d)", r.event, r.hook,
                     r.attempts + 1, status);
        break;
    case PFS_DLV_PENDING:
        n->stats.retried++;
        pfs_log_warn(n->log, "notify: event %s to %s: attempt %d: %s; retry in %" PRId64 " ms",
                     r.event, r.hook, r.attempts + 1, a.error, next - now);
        break;
    default:
        n->stats.failed++;
        pfs_log_error(n->log, "notify: event %s to %s: given up after %d attempts: %s", r.event,
                      r.hook, r.attempts + 1, a.error);
        break;
    }
    if (n->inflight == 0)
        notify__kick(n, 0);
}
