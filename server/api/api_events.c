/*
 * api_events.c - GET /v1/events: server-sent events that tell an open console
 * page its rollout or terminal changed (docs/server.md, "Live: server-sent
 * events"). The request names what it watches (?rollout=ID, ?serial=SERIAL,
 * or both); each must exist inside the caller's scope, as for GET
 * /v1/rollouts/{id} and GET /v1/devices/{serial}, so a user hears only of
 * what it may read. The answer is a held stream (net/http.h, stream_hold):
 * the connection is suspended while nothing changed and woken by
 * base/live.h. A user holds at most http.events_per_user streams; one ends
 * after EVENTS_MAX_MS, and the browser's EventSource opens it again through
 * the same authentication, so a session that ended or a user disabled stops
 * hearing within that time.
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/live.h"
#include "pf/num.h"
#include "pf/topic.h"
#include "store/store_accounts.h"

#define EVENTS_MAX_MS (5 * 60 * 1000)

struct events__stream {
    struct pfs_live_watch *w;
    struct pfs_http_hold *hold; /* from the answer on */
    const struct pf_clock *clock;
    int64_t until_ms; /* monotonic: the stream ends at the first wake after it */
};

static void events__wake(void *ctx)
{
    struct events__stream *es = ctx;

    if (es->hold)
        pfs_http_wake(es->hold);
}

static void events__hold(void *ctx, struct pfs_http_hold *hold)
{
    ((struct events__stream *)ctx)->hold = hold;
}

static ssize_t events__read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct events__stream *es = ctx;

    (void)pos;
    if (pf_clock_mono_ms(es->clock) >= es->until_ms)
        return PFS_HTTP_STREAM_END;
    return (ssize_t)pfs_live_take(es->w, buf, max);
}

static void events__free(void *ctx)
{
    struct events__stream *es = ctx;

    pfs_live_unwatch(es->w);
    free(es);
}

void pfs_api_events(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp)
{
    static const char *const known[] = {"rollout", "serial", NULL};
    const struct pfs_http_req *req = call->req;
    const struct pfs_scope *scope = pfs_api_scope(call);
    const char *bad = pfs_http_query_unknown(req, known);
    const char *ro = pfs_http_query(req, "rollout");
    const char *serial = pfs_http_query(req, "serial");
    struct events__stream *es;
    int64_t id = 0;
    int rc;

    if (bad) {
        pfs_api_error(resp, PF_EINVAL, "%.32s: unknown parameter (known: rollout, serial)", bad);
        return;
    }
    if (!ro && !serial) {
        pfs_api_error(resp, PF_EINVAL, "rollout or serial: name what to watch");
        return;
    }
    if (ro && (pf_parse_i64(ro, 1, INT64_MAX, &id) != 0)) {
        pfs_api_error(resp, PF_EINVAL, "rollout: a rollout id");
        return;
    }
    if (serial && !pf_serial_valid(serial)) {
        pfs_api_error(resp, PF_EINVAL, "serial: not a serial");
        return;
    }
    /* What lies outside the caller's scope is answered as absent. */
    if (id && (rc = pfs_store_scope_rollout(api->store, scope, id)) != 0) {
        pfs_api_error(resp, rc, "rollout %lld: %s", (long long)id,
                      rc == PF_ENOENT ? "not found" : pf_strerror(rc));
        return;
    }
    if (serial && (rc = pfs_store_scope_serial(api->store, scope, serial)) != 0) {
        pfs_api_error(resp, rc, "%s: %s", serial, rc == PF_ENOENT ? "not found" : pf_strerror(rc));
        return;
    }
    if (!api->live) {
        pfs_api_error(resp, PF_ESTATE, "events: not served by this posfleetd");
        return;
    }
    es = calloc(1, sizeof(*es));
    if (!es) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_live_watch(api->live, call->who.name[0] ? call->who.name : call->name, id, serial,
                        events__wake, es, &es->w);
    if (rc == PF_ERATE) {
        free(es);
        pfs_api_json(resp, 429,
                     json_pack("{s:s, s:s}", "error", pf_errname(rc), "message",
                               "events: this user has as many event streams open as "
                               "http.events_per_user allows; close one (another tab) first"));
        return;
    }
    if (rc) {
        free(es);
        pfs_api_error(resp, rc, "events: %s", pf_strerror(rc));
        return;
    }
    es->clock = api->clock;
    es->until_ms = pf_clock_mono_ms(api->clock) + EVENTS_MAX_MS;
    resp->status = 200;
    resp->content_type = "text/event-stream";
    resp->stream = events__read;
    resp->stream_free = events__free;
    resp->stream_hold = events__hold;
    resp->stream_ctx = es;
}
