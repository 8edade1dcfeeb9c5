/*
 * api_hooks.c - the webhooks and their delivery log (ops): GET /v1/hooks and
 * GET /v1/hooks/log?hook=NAME&limit=N&before=ID.
 */
#include <string.h>

#include "api/api_handlers.h"
#include "notify/notify.h"
#include "pf/num.h"
#include "store/store_notify.h"

/* A hook's URL up to its host: a path or query may hold the receiver's own
 * secret (many receivers put a token in the URL), so the API never shows it. */
static json_t *hooks__origin(const char *url)
{
    const char *host = strstr(url, "://");
    size_t n;

    if (!host)
        return json_string("");
    host += 3;
    n = (size_t)(host - url) + strcspn(host, "/?#");
    return json_stringn(url, n);
}

void pfs_api_hooks_list(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp)
{
    json_t *arr = json_array();
    struct pfs_notify *n = api->notify;

    (void)call;
    if (!arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    for (int i = 0; n && i < n->nhooks; i++) {
        const struct pfs_notify_hook *h = &n->hooks[i];
        int64_t counts[PFS_DLV_COUNT];
        json_t *events = json_array();
        int rc = pfs_store_notify_counts(api->store, h->name, counts);

        if (rc) {
            json_decref(events);
            json_decref(arr);
            pfs_api_error(resp, rc, "hooks: %s", pf_strerror(rc));
            return;
        }
        for (int k = 0; k < PFS_EV_COUNT; k++) {
            if (h->events & (1u << k))
                json_array_append_new(events, json_string(pfs_event_kind_names[k]));
        }
        json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:I, s:I, s:I}", "name", h->name,
                                             "origin", hooks__origin(h->url), "events", events,
                                             "pending", (json_int_t)counts[PFS_DLV_PENDING],
                                             "delivered", (json_int_t)counts[PFS_DLV_DELIVERED],
                                             "failed", (json_int_t)counts[PFS_DLV_FAILED]));
    }
    pfs_api_json(resp, 200, json_pack("{s:o}", "hooks", arr));
}

struct hooks__log {
    json_t *arr;
};

static int hooks__log_cb(void *ctx, const struct pfs_delivery *d)
{
    struct hooks__log *l = ctx;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:I}", "id",
                          (json_int_t)d->id, "hook", d->hook, "event", d->event, "kind", d->kind,
                          "subject", d->subject, "state", pfs_delivery_state_names[d->state],
                          "attempts", d->attempts, "last_status", d->last_status, "last_error",
                          d->last_error, "created_ms", (json_int_t)d->created_ms, "next_ms",
                          (json_int_t)(d->state == PFS_DLV_PENDING ? d->next_ms : 0), "done_ms",
                          (json_int_t)d->done_ms);

    if (!o || json_array_append_new(l->arr, o))
        return PF_ENOMEM;
    return 0;
}

void pfs_api_hooks_log(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    const struct pfs_http_req *req = call->req;
    const char *hook = pfs_http_query(req, "hook");
    struct hooks__log l = {0};
    int64_t limit, before;
    int rc;

    if (hook && (!hook[0] || strlen(hook) > PFS_HOOK_NAME_MAX)) {
        pfs_api_error(resp, PF_EINVAL, "hook: a hook name of 1..%d characters", PFS_HOOK_NAME_MAX);
        return;
    }
    if (pfs_api_page_args(req, resp, "a delivery id", &limit, &before))
        return;
    l.arr = json_array();
    if (!l.arr) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    /* One row more than asked tells whether another page follows. */
    rc = pfs_store_notify_log(api->store, hook, before, (int)limit + 1, hooks__log_cb, &l);
    if (rc) {
        json_decref(l.arr);
        pfs_api_error(resp, rc, "hooks: %s", pf_strerror(rc));
        return;
    }
    pfs_api_page_answer(resp, "deliveries", l.arr, limit);
}
