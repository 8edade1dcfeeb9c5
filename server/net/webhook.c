/*
 * webhook.c - HTTP POSTs on the loop with libcurl's multi socket interface:
 * libcurl says which sockets to watch (a uv_poll each) and when to call it
 * back (one uv_timer); both call curl_multi_socket_action, and finished
 * transfers are collected after every call.
 */
#include "net/webhook.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct wh__xfer {
    struct wh__xfer *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    int64_t token;
    uint64_t t0;
    char errbuf[CURL_ERROR_SIZE];
};

struct wh__sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct pfs_webhook *w;
};

struct pfs_webhook {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int timeout_ms;
    struct wh__xfer *xfers;
    pfs_webhook_done_cb done;
    void *ctx;
};

static void wh__close_free(uv_handle_t *h)
{
    free(h->data);
}

static void wh__unlink(struct pfs_webhook *w, struct wh__xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        w->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
}

static void wh__xfer_free(struct pfs_webhook *w, struct wh__xfer *x)
{
    curl_multi_remove_handle(w->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

/* Hands every finished transfer to done(). */
static void wh__collect(struct pfs_webhook *w)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        struct wh__xfer *x = NULL;
        long status = 0;
        const char *error = "";

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        else
            error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result);
        wh__unlink(w, x);
        /* done() may post again: the transfer is out of the list already. */
        {
            int64_t token = x->token;
            int64_t ms = (int64_t)(uv_now(w->loop) - x->t0);
            char why[CURL_ERROR_SIZE];

            memcpy(why, error, strnlen(error, sizeof(why) - 1));
            why[strnlen(error, sizeof(why) - 1)] = '\0';
            wh__xfer_free(w, x);
            w->done(w->ctx, token, (int)status, why, ms);
        }
    }
}

static void wh__on_poll(uv_poll_t *p, int status, int events)
{
    struct wh__sock *s = p->data;
    struct pfs_webhook *w = s->w;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (!status && (events & UV_READABLE))
        flags |= CURL_CSELECT_IN;
    if (!status && (events & UV_WRITABLE))
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(w->multi, s->fd, flags, &running);
    wh__collect(w);
}

static int wh__on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct pfs_webhook *w = userp;
    struct wh__sock *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, wh__close_free);
            curl_multi_assign(w->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        s->w = w;
        if (uv_poll_init_socket(w->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(w->multi, fd, s);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, wh__on_poll);
    return 0;
}

static void wh__on_timer(uv_timer_t *t)
{
    struct pfs_webhook *w = t->data;
    int running;

    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    wh__collect(w);
}

static int wh__on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    struct pfs_webhook *w = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&w->timer);
    else
        uv_timer_start(&w->timer, wh__on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t wh__discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

int pfs_webhook_new(uv_loop_t *loop, int timeout_ms, pfs_webhook_done_cb done, void *ctx,
                    struct pfs_webhook **out, struct pf_error *err)
{
    struct pfs_webhook *w;

    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return pf_error_set(err, PF_EIO, "webhook: cannot initialise libcurl");
    w = calloc(1, sizeof(*w));
    if (!w)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    w->multi = curl_multi_init();
    if (!w->multi) {
        free(w);
        return pf_error_set(err, PF_ENOMEM, "webhook: cannot create a libcurl multi handle");
    }
    w->loop = loop;
    w->timeout_ms = timeout_ms;
    w->done = done;
    w->ctx = ctx;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, wh__on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, wh__on_timeout);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    *out = w;
    return 0;
}

int pfs_webhook_post(struct pfs_webhook *w, int64_t token, const char *url,
                     const char *const *headers, size_t nheaders, const char *body, size_t len)
{
    struct wh__xfer *x = calloc(1, sizeof(*x));
    CURL *e;

    if (!x)
        return PF_ENOMEM;
    x->body = malloc(len + 1);
    e = x->easy = curl_easy_init();
    if (!x->body || !e)
        goto fail;
    memcpy(x->body, body, len);
    x->body[len] = '\0';
    for (size_t i = 0; i < nheaders; i++) {
        struct curl_slist *l = curl_slist_append(x->headers, headers[i]);

        if (!l)
            goto fail;
        x->headers = l;
    }
    /* libcurl adds "Expect: 100-continue" to larger POSTs: not for a webhook. */
    {
        struct curl_slist *l = curl_slist_append(x->headers, "Expect:");

        if (!l)
            goto fail;
        x->headers = l;
    }
    x->token = token;
    x->t0 = uv_now(w->loop);
    curl_easy_setopt(e, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wh__discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK)
        goto fail;
    x->next = w->xfers;
    if (w->xfers)
        w->xfers->prev = x;
    w->xfers = x;
    return 0;

fail:
    if (e)
        curl_easy_cleanup(e);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
    return PF_ENOMEM;
}

void pfs_webhook_free(struct pfs_webhook *w)
{
    if (!w)
        return;
    while (w->xfers) {
        struct wh__xfer *x = w->xfers;

        wh__unlink(w, x);
        wh__xfer_free(w, x);
    }
    curl_multi_cleanup(w->multi);
    uv_timer_stop(&w->timer);
    w->timer.data = w;
    uv_close((uv_handle_t *)&w->timer, wh__close_free);
}
