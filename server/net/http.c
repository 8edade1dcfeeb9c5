/*
 * http.c - MHD driven from uv_poll on its epoll fd plus a timeout timer, and
 * the two-step request of http.h: begin() on the headers, a bounded body,
 * handle() on the whole request.
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "pf/fileio.h"
#include "pf/num.h"

#define HTTP_MAX_CONNS        4096
#define HTTP_MAX_CONNS_PER_IP 64
#define HTTP_HEAD_TIMEOUT_MS  10000
#define HTTP_PEM_MAX          (1024 * 1024)
#define HTTP_ZERO_RUNS        16   /* immediate reruns without a socket event, then 1 ms apart */
#define HTTP_ACCEPT_BATCH     4096 /* accepted per wake-up at most (the backlog, as a rule) */
/* GnuTLS priorities: its defaults, without anything older than TLS 1.2. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* One open connection, from MHD's connection-started to its closed notice;
 * MHD keeps it as the socket context. */
struct http__sock {
    struct http__sock *prev, *next;
    int fd;
    uint64_t head_since; /* loop ms when its current request head began */
    bool in_request;     /* the head is complete: the access handler has it */
    bool shut;           /* shut down by the head deadline; MHD closes it next */
};

/* One request. begin() took it when taken is set (done() is then owed). */
struct http__conn {
    struct pfs_http *h;
    void *state;
    struct pfs_http_later *later; /* deferred and not answered yet */
    bool deferred;                /* suspended until pfs_http_answer() */
    bool ready;                   /* pfs_http_answer() left the answer in out */
    struct pfs_http_resp out;
    bool taken;
    bool answered; /* a response is queued already */
    bool too_big;
    size_t max; /* body limit: 0 takes no body */
    char *buf;
    size_t len, cap;
};

/* A deferred request (pfs_http_defer); on h->later until answered or gone. */
struct pfs_http_later {
    struct pfs_http_later *prev, *next;
    struct pfs_http *h;
    struct MHD_Connection *c;
    struct http__conn *hc; /* NULL once the connection is gone */
};

/* A held stream (http.h, stream_hold): the service's reader and the
 * connection to suspend while it has nothing to say; on h->holds. */
struct pfs_http_hold {
    struct pfs_http_hold *prev, *next;
    struct pfs_http *h;
    struct MHD_Connection *c;
    bool suspended;
    ssize_t (*stream)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *ctx;
};

static void http__schedule(struct pfs_http *h);
static void http__on_timer(uv_timer_t *t);

static ssize_t http__hold_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct pfs_http_hold *hd = cls;
    ssize_t n = hd->stream(hd->ctx, pos, buf, max);

    /* Nothing now: MHD would ask again at once, forever; suspended, the
     * connection costs nothing until pfs_http_wake(). */
    if (n == 0 && !hd->suspended) {
        hd->suspended = true;
        MHD_suspend_connection(hd->c);
    }
    return n;
}

static void http__hold_free(void *cls)
{
    struct pfs_http_hold *hd = cls;
    struct pfs_http *h = hd->h;

    if (hd->stream_free)
        hd->stream_free(hd->ctx);
    if (hd->prev)
        hd->prev->next = hd->next;
    else if (h->holds == hd)
        h->holds = hd->next;
    if (hd->next)
        hd->next->prev = hd->prev;
    free(hd);
}

void pfs_http_wake(struct pfs_http_hold *hd)
{
    if (!hd->suspended || !hd->h->daemon)
        return;
    hd->suspended = false;
    MHD_resume_connection(hd->c);
    /* MHD learns of the resumption on its next run: make it now. */
    uv_timer_start(&hd->h->timer, http__on_timer, 0, 0);
}

static void http__later_unlink(struct pfs_http *h, struct pfs_http_later *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else if (h->later == l)
        h->later = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

static void http__run(struct pfs_http *h)
{
    if (!h->daemon)
        return;
    MHD_run(h->daemon);
    http__schedule(h);
}

static void http__on_poll(uv_poll_t *p, int status, int events)
{
    struct pfs_http *h = p->data;

    (void)status;
    (void)events;
    h->zero_runs = 0; /* a socket event: whatever MHD says next is worth an immediate run */
    http__run(h);
}

static void http__on_timer(uv_timer_t *t)
{
    http__run(t->data);
}

static void http__schedule(struct pfs_http *h)
{
    MHD_UNSIGNED_LONG_LONG to;

    if (!h->daemon)
        return;
    if (MHD_get_timeout(h->daemon, &to) != MHD_YES) {
        uv_timer_stop(&h->timer);
        return;
    }
    /* libmicrohttpd 0.9.75 answers 0 ("data pending") for as long as a TLS
     * handshake waits for the client, which would spin the loop: after
     * HTTP_ZERO_RUNS immediate runs with no socket event in between, rerun
     * once a millisecond only (a socket event still runs MHD at once). */
    if (to == 0 && h->zero_runs >= HTTP_ZERO_RUNS)
        to = 1;
    h->zero_runs = to == 0 ? h->zero_runs + 1 : 0;
    uv_timer_start(&h->timer, http__on_timer, to, 0);
}

_Static_assert(PFS_HTTP_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM &&
                       PFS_HTTP_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR,
               "http.h's stream codes are MHD's");

static enum MHD_Result http__send(struct MHD_Connection *c, struct http__conn *hc,
                                  struct pfs_http_resp *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->stream && r->stream_hold) {
        struct pfs_http_hold *hd = calloc(1, sizeof(*hd));

        free(r->body);
        r->body = NULL;
        resp = hd ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4 * 1024, http__hold_read,
                                                      hd, http__hold_free)
                  : NULL;
        if (!resp) {
            free(hd);
            if (r->stream_free)
                r->stream_free(r->stream_ctx);
            r->stream = NULL;
            free(r->set_cookie);
            r->set_cookie = NULL;
            return MHD_NO;
        }
        hd->h = hc->h;
        hd->c = c;
        hd->stream = r->stream;
        hd->stream_free = r->stream_free;
        hd->ctx = r->stream_ctx;
        hd->next = hc->h->holds;
        if (hd->next)
            hd->next->prev = hd;
        hc->h->holds = hd;
        r->stream_hold(r->stream_ctx, hd);
        r->stream = NULL;
        r->stream_hold = NULL;
    } else if (r->stream) {
        free(r->body);
        r->body = NULL;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, r->stream,
                                                 r->stream_ctx, r->stream_free);
        r->stream = NULL;
        if (!resp) {
            if (r->stream_free)
                r->stream_free(r->stream_ctx);
            free(r->set_cookie);
            r->set_cookie = NULL;
            return MHD_NO;
        }
    } else if (r->file) {
        free(r->body);
        r->body = NULL;
        /* MHD reads the file as the socket drains and closes it with the response. */
        resp = MHD_create_response_from_fd64(r->file_len, r->file_fd);
        r->file = false;
        if (!resp) {
            close(r->file_fd);
            free(r->set_cookie);
            r->set_cookie = NULL;
            return MHD_NO;
        }
    } else {
        if (!r->body) {
            r->body = strdup("");
            r->len = 0;
        }
        if (!r->body) {
            free(r->set_cookie);
            r->set_cookie = NULL;
            return MHD_NO;
        }
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(r->body);
            free(r->set_cookie);
            r->set_cookie = NULL;
            return MHD_NO;
        }
        r->body = NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->set_cookie)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    for (const char *const *hv = r->headers; hv && hv[0] && hv[1]; hv += 2)
        MHD_add_response_header(resp, hv[0], hv[1]);
    free(r->set_cookie);
    r->set_cookie = NULL;
    for (int i = 0; i < PFS_HTTP_EXTRA_HEADERS; i++)
        if (r->extra[i].name)
            MHD_add_response_header(resp, r->extra[i].name, r->extra[i].value);
    ret = MHD_queue_response(c, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    hc->answered = true;
    if (hc->taken && hc->h->svc.sent)
        hc->h->svc.sent(hc->h->svc.ctx, hc->state, r->status);
    return ret;
}

static enum MHD_Result http__too_big(struct MHD_Connection *c, struct http__conn *hc)
{
    struct pfs_http_resp resp = {0};

    resp.status = 413;
    resp.body = strdup("{\"error\":\"TOOBIG\",\"message\":\"request body too large\"}");
    resp.len = resp.body ? strlen(resp.body) : 0;
    return http__send(c, hc, &resp);
}

/* The declared Content-Length, or 0 when there is none (chunked, or no body). */
static uint64_t http__declared(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n = 0;

    /* MHD refused a malformed one already; one too large for 64 bits is too large. */
    if (v && pf_parse_u64(v, 0, UINT64_MAX, &n) == PF_ERANGE)
        return UINT64_MAX;
    return n;
}

static bool http__expects_continue(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    return v && strcasecmp(v, "100-continue") == 0;
}

/* Keeps a piece of the body within the limit; past it the rest is drained. */
static enum MHD_Result http__collect(struct http__conn *hc, const char *data, size_t n)
{
    if (hc->max == 0 || hc->too_big)
        return MHD_YES;
    if (n > hc->max - hc->len) {
        hc->too_big = true;
        free(hc->buf);
        hc->buf = NULL;
        hc->len = hc->cap = 0;
        return MHD_YES;
    }
    if (hc->len + n + 1 > hc->cap) {
        size_t ncap = hc->cap ? hc->cap : 1024;
        char *nb;

        while (ncap < hc->len + n + 1)
            ncap *= 2;
        nb = realloc(hc->buf, ncap);
        if (!nb)
            return MHD_NO;
        hc->buf = nb;
        hc->cap = ncap;
    }
    memcpy(hc->buf + hc->len, data, n);
    hc->len += n;
    hc->buf[hc->len] = '\0';
    return MHD_YES;
}

static enum MHD_Result http__access(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    struct pfs_http *h = cls;
    struct http__conn *hc = *con_cls;
    struct pfs_http_req req = {method, url, NULL, 0, c, hc};
    struct pfs_http_resp resp = {0};

    (void)version;
    if (!hc) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        /* The head is complete: the head deadline no longer applies. */
        if (ci && ci->socket_context)
            ((struct http__sock *)ci->socket_context)->in_request = true;
        /* Headers only: the service decides before any of the body is read. */
        hc = calloc(1, sizeof(*hc));
        if (!hc)
            return MHD_NO;
        hc->h = h;
        *con_cls = hc;
        req.priv = hc;
        if (!h->svc.begin(h->svc.ctx, &req, &hc->max, &hc->state, &resp))
            return http__send(c, hc, &resp);
        hc->taken = true;
        /* A client waiting for "100 Continue" learns at once that its body is
         * too large; one that sends it regardless is drained, then told, so
         * the answer is not lost in a reset of the connection. */
        if (hc->max && http__declared(c) > hc->max && http__expects_continue(c))
            return http__too_big(c, hc);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (hc->answered)
            return MHD_YES;
        return http__collect(hc, upload_data, n);
    }
    if (hc->answered)
        return MHD_YES;
    if (hc->deferred) { /* resumed by pfs_http_answer(), or woken for nothing */
        if (!hc->ready)
            return MHD_YES;
        hc->deferred = hc->ready = false;
        return http__send(c, hc, &hc->out);
    }
    if (hc->too_big)
        return http__too_big(c, hc);
    req.body = hc->buf ? hc->buf : "";
    req.body_len = hc->len;
    h->svc.handle(h->svc.ctx, &req, hc->state, &resp);
    if (hc->ready) { /* deferred and answered already, within handle() */
        free(resp.body);
        free(resp.set_cookie);
        hc->ready = false;
        return http__send(c, hc, &hc->out);
    }
    if (hc->later) {
        /* The answer comes from pfs_http_answer(); meanwhile MHD leaves the
         * connection alone and the loop serves everyone else. */
        free(resp.body);
        free(resp.set_cookie);
        hc->deferred = true;
        MHD_suspend_connection(c);
        return MHD_YES;
    }
    return http__send(c, hc, &resp);
}

static void http__completed(void *cls, struct MHD_Connection *c, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    struct pfs_http *h = cls;
    struct http__conn *hc = *con_cls;

    (void)toe;
    {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        /* A kept-alive connection's next head gets a deadline of its own. */
        if (ci && ci->socket_context) {
            struct http__sock *sk = ci->socket_context;

            sk->in_request = false;
            sk->head_since = uv_now(h->loop);
        }
    }
    if (hc) {
        if (hc->later) { /* its deferrer answers into the void */
            http__later_unlink(h, hc->later);
            hc->later->hc = NULL;
            hc->later = NULL;
        }
        if (hc->taken && h->svc.done)
            h->svc.done(h->svc.ctx, hc->state);
        free(hc->out.body);
        if (hc->out.file) /* answered, never sent */
            close(hc->out.file_fd);
        if (hc->out.stream && hc->out.stream_free)
            hc->out.stream_free(hc->out.stream_ctx);
        free(hc->buf);
        free(hc);
        *con_cls = NULL;
    }
}

static void http__sock_forget(struct pfs_http *h, struct http__sock *sk)
{
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        h->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    if (sk->fd >= 0 && (size_t)sk->fd < h->by_fd_len && h->by_fd[sk->fd] == sk)
        h->by_fd[sk->fd] = NULL;
    free(sk);
}

/* Records a connection just accepted, before MHD has it. NULL without memory:
 * the connection then simply has no head deadline. */
static struct http__sock *http__sock_add(struct pfs_http *h, int fd)
{
    struct http__sock *sk;

    if ((size_t)fd >= h->by_fd_len) {
        size_t n = h->by_fd_len ? h->by_fd_len : 256;
        struct http__sock **nb;

        while (n <= (size_t)fd)
            n *= 2;
        nb = realloc(h->by_fd, n * sizeof(*nb));
        if (!nb)
            return NULL;
        memset(nb + h->by_fd_len, 0, (n - h->by_fd_len) * sizeof(*nb));
        h->by_fd = nb;
        h->by_fd_len = n;
    }
    /* The descriptor was closed without a notice (should not happen): the old
     * record must not shut down its new owner. */
    if (h->by_fd[fd])
        http__sock_forget(h, h->by_fd[fd]);
    sk = calloc(1, sizeof(*sk));
    if (!sk)
        return NULL;
    sk->fd = fd;
    sk->head_since = uv_now(h->loop);
    sk->next = h->socks;
    if (h->socks)
        h->socks->prev = sk;
    h->socks = sk;
    h->by_fd[fd] = sk;
    return sk;
}

static void http__notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    struct pfs_http *h = cls;
    struct http__sock *sk = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        int fd = ci ? ci->connect_fd : -1;

        /* Recorded at accept (with TLS this notice comes after the handshake). */
        if (fd >= 0 && (size_t)fd < h->by_fd_len)
            *socket_context = h->by_fd[fd];
        return;
    }
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED && sk) {
        http__sock_forget(h, sk);
        *socket_context = NULL;
    }
}

/* Accepts what is waiting on the listening socket and hands it to MHD, which
 * applies the connection limits (and closes what it refuses). */
static void http__on_listen(uv_poll_t *p, int status, int events)
{
    struct pfs_http *h = p->data;
    int accepted = 0;

    (void)status;
    (void)events;
    for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept(h->listen_fd, (struct sockaddr *)&peer, &plen);
        struct http__sock *sk;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                pfs_log_warn(h->log, "http: accept: %s", strerror(errno));
            break;
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            close(fd);
            continue;
        }
        sk = http__sock_add(h, fd);
        if (MHD_add_connection(h->daemon, fd, (struct sockaddr *)&peer, plen) != MHD_YES) {
            /* Refused (a limit) and closed by MHD; forgotten already if MHD
             * got as far as its closed notice. */
            if (sk && (size_t)fd < h->by_fd_len && h->by_fd[fd] == sk)
                http__sock_forget(h, sk);
            continue;
        }
        accepted++;
    }
    if (accepted)
        http__run(h);
}

/* Shuts down every connection whose request head is overdue. MHD sees the
 * shutdown on its next run (the socket turns readable with end of file) and
 * closes the connection as usual, so its notices and done() still follow. */
static void http__on_head_timer(uv_timer_t *t)
{
    struct pfs_http *h = t->data;
    uint64_t now = uv_now(h->loop);
    int shut = 0;

    for (struct http__sock *sk = h->socks; sk; sk = sk->next) {
        if (sk->in_request || sk->shut || sk->fd < 0)
            continue;
        if (now - sk->head_since < h->head_timeout_ms)
            continue;
        shutdown(sk->fd, SHUT_RDWR);
        sk->shut = true;
        shut++;
    }
    if (shut) {
        h->heads_timed_out += (uint64_t)shut;
        pfs_log_debug(h->log, "http: closed %d connections whose request head took over %llu ms",
                      shut, (unsigned long long)h->head_timeout_ms);
    }
}

static void http__log(void *cls, const char *fmt, va_list ap)
{
    struct pfs_http *h = cls;
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    pfs_log_warn(h->log, "http: %s", line);
}

/* The listening socket, bound to ss: http accepts itself (see http.h). */
static int http__listen(struct pfs_http *h, const struct sockaddr_storage *ss,
                        const struct pfs_http_opts *opts, struct pf_error *err)
{
    socklen_t len =
            ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return pf_error_set(err, PF_EIO, "http: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;

        close(fd);
        return pf_error_set(err, PF_EIO, "http: cannot listen on %s:%d: %s", opts->addr, opts->port,
                            strerror(e));
    }
    h->listen_fd = fd;
    return 0;
}

/* Reads the certificate and key PEM files into h (MHD takes them from memory). */
static int http__tls_load(struct pfs_http *h, const struct pfs_http_opts *opts,
                          struct pf_error *err)
{
    size_t len = 0;
    char *buf = NULL;
    int rc;

    if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
        return pf_error_set(err, PF_EINVAL,
                            "http.tls: this libmicrohttpd was built without TLS; install one "
                            "with HTTPS support (Debian's libmicrohttpd12 has it) or, on a "
                            "loopback address only, set http.tls = off");
    if (!opts->cert || !opts->cert[0] || !opts->key || !opts->key[0])
        return pf_error_set(err, PF_EINVAL, "http.cert and http.key: both required with TLS");
    rc = pf_file_read(opts->cert, HTTP_PEM_MAX, &buf, &len);
    if (rc)
        return pf_error_set(err, rc, "http.cert: %s: %s", opts->cert, pf_strerror(rc));
    if (len == 0 || memchr(buf, '\0', len) || !strstr(buf, "-----BEGIN CERTIFICATE-----")) {
        free(buf);
        return pf_error_set(err, PF_EPARSE, "http.cert: %s: not a PEM certificate", opts->cert);
    }
    h->tls_cert = buf;
    buf = NULL;
    rc = pf_file_read(opts->key, HTTP_PEM_MAX, &buf, &len);
    if (rc)
        return pf_error_set(err, rc, "http.key: %s: %s", opts->key, pf_strerror(rc));
    h->tls_key = buf;
    h->tls_key_len = len;
    if (len == 0 || memchr(buf, '\0', len) || !strstr(buf, "PRIVATE KEY-----"))
        return pf_error_set(err, PF_EPARSE, "http.key: %s: not a PEM private key", opts->key);
    return 0;
}

static void http__tls_release(struct pfs_http *h)
{
    free(h->tls_cert);
    h->tls_cert = NULL;
    if (h->tls_key) {
        explicit_bzero(h->tls_key, h->tls_key_len);
        free(h->tls_key);
    }
    h->tls_key = NULL;
    h->tls_key_len = 0;
}

int pfs_http_start(struct pfs_http *h, uv_loop_t *loop, const struct pfs_http_opts *opts,
                   const struct pfs_http_service *svc, const struct pfs_log *log,
                   struct pf_error *err)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned int flags =
            MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
    socklen_t sslen;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL},
                                         {MHD_OPTION_END, 0, NULL},
                                         {MHD_OPTION_END, 0, NULL},
                                         {MHD_OPTION_END, 0, NULL}};
    const union MHD_DaemonInfo *info;
    int rc;

    memset(h, 0, sizeof(*h));
    memset(&ss, 0, sizeof(ss));
    h->listen_fd = -1;
    h->loop = loop;
    h->head_timeout_ms =
            (uint64_t)(opts->head_timeout_ms > 0 ? opts->head_timeout_ms : HTTP_HEAD_TIMEOUT_MS);
    h->svc = *svc;
    h->log = log;
    if (inet_pton(AF_INET, opts->addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)opts->port);
    } else if (inet_pton(AF_INET6, opts->addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)opts->port);
    } else {
        return pf_error_set(err, PF_EINVAL, "http.addr: '%s' is not an IP address", opts->addr);
    }
    if (!opts->tls && !pfs_config_loopback(opts->addr))
        return pf_error_set(err, PF_EINVAL,
                            "http.tls = off: plain HTTP only on a loopback address, and http.addr "
                            "is %s",
                            opts->addr);
    if (opts->tls) {
        rc = http__tls_load(h, opts, err);
        if (rc)
            goto out_tls;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                              (void *)HTTP_TLS_PRIORITIES};
    }
    rc = http__listen(h, &ss, opts, err);
    if (rc)
        goto out_tls;
    h->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, http__access, h, MHD_OPTION_EXTERNAL_LOGGER, http__log, h,
            MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_NOTIFY_COMPLETED, http__completed, h,
            MHD_OPTION_NOTIFY_CONNECTION, http__notify, h, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned int)(opts->max_conns > 0 ? opts->max_conns : HTTP_MAX_CONNS),
            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned int)(opts->max_conns_per_ip > 0 ? opts->max_conns_per_ip
                                                      : HTTP_MAX_CONNS_PER_IP),
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_END);
    if (!h->daemon) {
        /* MHD's logger said why (a key that does not match the certificate, say). */
        rc = pf_error_set(err, PF_EIO,
                          opts->tls ? "http: cannot start HTTPS (http.cert/http.key unusable: see "
                                      "the warnings above)"
                                    : "http: cannot start the HTTP daemon");
        goto out_close;
    }
    sslen = sizeof(ss);
    h->port = getsockname(h->listen_fd, (struct sockaddr *)&ss, &sslen) == 0
                      ? ntohs(ss.ss_family == AF_INET6 ? sin6->sin6_port : sin->sin_port)
                      : opts->port;
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        rc = pf_error_set(err, PF_EIO, "http: no epoll descriptor");
        goto out_stop;
    }
    if (uv_poll_init(loop, &h->poll, info->epoll_fd) != 0 ||
        uv_poll_init(loop, &h->listen_poll, h->listen_fd) != 0) {
        rc = pf_error_set(err, PF_EIO, "http: cannot watch the epoll or listening descriptor");
        goto out_stop;
    }
    h->poll.data = h;
    h->listen_poll.data = h;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_timer_init(loop, &h->head_timer);
    h->head_timer.data = h;
    h->handles_open = 1;
    uv_poll_start(&h->poll, UV_READABLE, http__on_poll);
    uv_poll_start(&h->listen_poll, UV_READABLE, http__on_listen);
    /* Swept four times per deadline: a slow head lives at most 1.25 deadlines. */
    uv_timer_start(&h->head_timer, http__on_head_timer, h->head_timeout_ms / 4,
                   h->head_timeout_ms / 4);
    http__schedule(h);
    return 0;

out_stop:
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
out_close:
    close(h->listen_fd);
    h->listen_fd = -1;
out_tls:
    http__tls_release(h);
    return rc;
}

void pfs_http_stop(struct pfs_http *h)
{
    if (h->handles_open) {
        uv_poll_stop(&h->poll);
        uv_poll_stop(&h->listen_poll);
        uv_timer_stop(&h->timer);
        uv_timer_stop(&h->head_timer);
        uv_close((uv_handle_t *)&h->poll, NULL);
        uv_close((uv_handle_t *)&h->listen_poll, NULL);
        uv_close((uv_handle_t *)&h->timer, NULL);
        uv_close((uv_handle_t *)&h->head_timer, NULL);
        h->handles_open = 0;
    }
    if (h->daemon) {
        /* MHD stops only without suspended connections: resumed, they are
         * closed with the rest, and their deferrers' answers dropped. */
        for (struct pfs_http_later *l = h->later; l; l = l->next)
            MHD_resume_connection(l->c);
        for (struct pfs_http_hold *hd = h->holds; hd; hd = hd->next) {
            if (hd->suspended)
                MHD_resume_connection(hd->c);
            hd->suspended = false;
        }
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
    }
    /* uv_close() of listen_poll is done with the descriptor once it returns. */
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    h->listen_fd = -1;
    while (h->socks) /* connections MHD closed without a notice */
        http__sock_forget(h, h->socks);
    free(h->by_fd);
    h->by_fd = NULL;
    h->by_fd_len = 0;
    http__tls_release(h);
}

struct pfs_http_later *pfs_http_defer(const struct pfs_http_req *req, char **body, size_t *len)
{
    struct http__conn *hc = req->priv;
    struct pfs_http_later *l;
    char *b;

    if (!hc || hc->later || hc->deferred)
        return NULL;
    l = calloc(1, sizeof(*l));
    b = hc->buf ? hc->buf : strdup("");
    if (!l || !b) {
        free(l);
        if (b != hc->buf)
            free(b);
        return NULL;
    }
    *body = b;
    *len = hc->buf ? hc->len : 0;
    hc->buf = NULL;
    hc->len = hc->cap = 0;
    l->h = hc->h;
    l->c = req->conn;
    l->hc = hc;
    l->next = l->h->later;
    if (l->next)
        l->next->prev = l;
    l->h->later = l;
    hc->later = l;
    return l;
}

void pfs_http_answer(struct pfs_http_later *l, struct pfs_http_resp *resp)
{
    struct http__conn *hc = l->hc;

    if (hc && l->h->daemon) {
        http__later_unlink(l->h, l);
        hc->later = NULL;
        hc->out = *resp;
        hc->ready = true;
        resp->body = NULL;
        resp->set_cookie = NULL;
        resp->file = false;
        resp->stream = NULL;
        if (hc->deferred) { /* else still inside handle(), which sends it */
            MHD_resume_connection(l->c);
            /* MHD learns of the resumption on its next run: make it now. */
            uv_timer_start(&l->h->timer, http__on_timer, 0, 0);
        }
    }
    free(resp->body);
    resp->body = NULL;
    free(resp->set_cookie);
    resp->set_cookie = NULL;
    if (resp->file) /* nobody to send it to */
        close(resp->file_fd);
    resp->file = false;
    if (resp->stream && resp->stream_free)
        resp->stream_free(resp->stream_ctx);
    resp->stream = NULL;
    free(l);
}

const char *pfs_http_query(const struct pfs_http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct http__unknown {
    const char *const *known;
    const char *found;
};

static enum MHD_Result http__unknown_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    struct http__unknown *u = cls;

    (void)kind;
    (void)value;
    for (size_t i = 0; u->known[i]; i++) {
        if (!strcmp(u->known[i], key))
            return MHD_YES;
    }
    u->found = key;
    return MHD_NO;
}

const char *pfs_http_query_unknown(const struct pfs_http_req *req, const char *const *known)
{
    struct http__unknown u = {known, NULL};

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, http__unknown_arg, &u);
    return u.found;
}

const char *pfs_http_header(const struct pfs_http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

const char *pfs_http_cookie(const struct pfs_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

void pfs_http_peer(const struct pfs_http_req *req, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
            req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)
                      : NULL;
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    out[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}
