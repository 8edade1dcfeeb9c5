/*
 * http.h - libmicrohttpd on posfleetd's libuv loop.
 *
 * MHD runs in epoll mode without threads of its own: a uv_poll watches MHD's
 * epoll descriptor and a uv_timer follows MHD_get_timeout(), and both call
 * MHD_run() on the loop thread, so every handler runs on the same thread as
 * ingest and the store.
 *
 * A request meets its service twice. begin() sees the headers only, before a
 * byte of the body is read: it either answers at once (the body is then never
 * read, and MHD closes the connection after the answer) or takes the request
 * with a body limit. Only a taken request gets a body buffer: a body past
 * the limit is drained without being kept and answered 413 TOOBIG (at once,
 * before the body, when the client declared its size and waits for "100
 * Continue"); a limit of 0 means the request takes no body and any body is
 * drained unread. A client that sends a large body without waiting for "100
 * Continue" and is refused on its headers gets the answer and the connection
 * closed: it may see a reset while still sending. handle() then sees
 * the whole body and fills the answer. done() is called once for every
 * request begin() took, whatever happened to it. http knows no paths: what a
 * request may do, and how large its body may be, is the service's to decide.
 *
 * The service fills a struct pfs_http_resp; http owns and frees resp->body
 * (and closes resp->file_fd of an answer that streams a file).
 *
 * A handler whose answer takes long (verifying an uploaded bundle) defers
 * it: pfs_http_defer() in handle() hands it the body and suspends the
 * connection (MHD_suspend_connection), so the loop goes on serving other
 * requests; pfs_http_answer(), later on the loop thread, resumes it with the
 * answer. A deferred request is answered exactly once by its deferrer; if
 * the client went away or http stopped in the meantime the answer is
 * dropped. done() still follows when the connection ends.
 *
 * Idle connections cannot lock clients out: one address may hold at most
 * max_conns_per_ip connections and all together max_conns (MHD refuses the
 * excess on accept), and a request's whole head must arrive within
 * head_timeout_ms of the connection opening (or of the previous request
 * ending, on a kept-alive connection). MHD's own idle timeout restarts with
 * every byte, so http keeps a list of connections whose head is still
 * arriving and a timer on the loop shuts down those past the deadline.
 * The deadline counts from accept(): http listens and accepts itself and
 * hands each connection to MHD (MHD_add_connection), because MHD tells of a
 * TLS connection only once its handshake ended, so a handshake that never
 * finishes would otherwise escape the sweep.
 *
 * TLS: MHD's HTTPS (GnuTLS underneath) with the certificate and key read
 * from files at start, TLS 1.2 and 1.3 only. pfs_http_start() refuses to
 * start when this libmicrohttpd has no TLS, and refuses plain HTTP on any
 * address but loopback (pfs_config_loopback()).
 */
#ifndef PFS_HTTP_H
#define PFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "base/log.h"
#include "pf/error.h"

struct MHD_Daemon;
struct MHD_Connection;

struct pfs_http_req {
    const char *method;
    const char *path; /* without the query */
    const char *body; /* NUL-terminated; "" when none; NULL in begin() */
    size_t body_len;
    struct MHD_Connection *conn;
    void *priv; /* http's own: the request's state, for pfs_http_defer() */
};

#define PFS_HTTP_EXTRA_HEADERS 3
#define PFS_HTTP_STREAM_END    ((ssize_t)-1) /* MHD_CONTENT_READER_END_OF_STREAM */
#define PFS_HTTP_STREAM_ERROR  ((ssize_t)-2) /* MHD_CONTENT_READER_END_WITH_ERROR */

struct pfs_http_hold;

struct pfs_http_resp {
    int status;
    char *body; /* heap; freed by http */
    size_t len;
    const char *content_type;   /* static; default application/json */
    const char *allow;          /* static; the Allow header of a 405, else NULL */
    char *set_cookie;           /* heap; a Set-Cookie header, freed by http; or NULL */
    const char *const *headers; /* static name, value pairs, NULL-ended; or NULL */
    /* Instead of body: file_len bytes of the open descriptor file_fd, from
     * offset 0, streamed as the client reads them (a backup of the whole
     * store); http owns and closes the descriptor. */
    bool file;
    int file_fd;
    uint64_t file_len;
    /* Instead of body: an answer of unknown length made while the client
     * reads it (chunked transfer encoding), for exports too large to build
     * first. stream(stream_ctx, pos, buf, max) writes up to max bytes at
     * offset pos and returns how many, PFS_HTTP_STREAM_END after the last
     * byte or PFS_HTTP_STREAM_ERROR to cut the connection; it runs on the
     * loop thread whenever the socket can take more, so each call should do
     * a bounded piece of work. stream_free(stream_ctx) is called once, when
     * the answer is done or dropped; http owns stream_ctx from the answer on. */
    ssize_t (*stream)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
    /* Optional, with stream: a held stream (server-sent events) that has
     * nothing to send most of the time. stream_hold(stream_ctx, hold) is
     * called once, when the answer is made; from then on a stream() that
     * returns 0 suspends the connection (MHD_suspend_connection: no polling,
     * no timer, nothing on the loop) until pfs_http_wake(hold). hold stays
     * valid until stream_free(stream_ctx). A client that goes away while
     * suspended is noticed at the next wake (its write fails). */
    void (*stream_hold)(void *ctx, struct pfs_http_hold *hold);
    /* More headers: name static, NULL for an unused slot. */
    struct {
        const char *name;
        char value[96];
    } extra[PFS_HTTP_EXTRA_HEADERS];
};

struct pfs_http_service {
    /* Headers only. Returns false with resp filled to answer now; true to take
     * the request, with *body_max its body limit and *state what handle() and
     * done() will be given. */
    bool (*begin)(void *ctx, const struct pfs_http_req *req, size_t *body_max, void **state,
                  struct pfs_http_resp *resp);
    void (*handle)(void *ctx, const struct pfs_http_req *req, void *state,
                   struct pfs_http_resp *resp);
    void (*done)(void *ctx, void *state);
    void *ctx;
    /* Optional: the answer of a taken request is queued with this status
     * (also a 413 http gives itself); for request metrics. */
    void (*sent)(void *ctx, void *state, int status);
};

struct http__sock;
struct pfs_http_later;
struct pfs_http_hold;

struct pfs_http {
    uv_loop_t *loop;
    struct MHD_Daemon *daemon;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_timer_t head_timer; /* sweeps socks for heads past the deadline */
    uv_poll_t listen_poll; /* http's own listening socket (see http.c) */
    int listen_fd;
    struct http__sock *socks;  /* every open connection, newest first */
    struct http__sock **by_fd; /* the same, by descriptor, from accept() on */
    size_t by_fd_len;
    struct pfs_http_later *later; /* deferred requests not yet answered */
    struct pfs_http_hold *holds;  /* held streams (pfs_http_resp.stream_hold) */
    uint64_t head_timeout_ms;
    uint64_t heads_timed_out; /* connections closed by the head deadline */
    int handles_open;
    int zero_runs; /* runs since the last socket event after which MHD said "again at once" */
    int port;
    struct pfs_http_service svc;
    const struct pfs_log *log;
    char *tls_cert; /* PEM text given to MHD; kept until stop */
    char *tls_key;  /* PEM text of the key; wiped and freed at stop */
    size_t tls_key_len;
};

struct pfs_http_opts {
    const char *addr;     /* IPv4 or IPv6 literal */
    bool tls;             /* HTTPS; false (plain HTTP) only on a loopback addr */
    const char *cert;     /* PEM certificate (chain) file, with tls */
    const char *key;      /* PEM private key file, with tls */
    int port;             /* 0: any free port; pfs_http.port tells which */
    int max_conns;        /* 0: 4096 */
    int max_conns_per_ip; /* 0: 64 */
    int head_timeout_ms;  /* 0: 10000 */
};

int pfs_http_start(struct pfs_http *h, uv_loop_t *loop, const struct pfs_http_opts *opts,
                   const struct pfs_http_service *svc, const struct pfs_log *log,
                   struct pf_error *err) PF_WUR;
/* Stops accepting, closes the uv handles (the loop must run once more to
 * finish closing them) and stops the daemon. */
void pfs_http_stop(struct pfs_http *h);

/*
 * From handle() only: the answer to req will come from pfs_http_answer().
 * The body moves to the caller (*body, *len: heap, NUL-terminated, the
 * caller frees it; req->body must not be read afterwards). NULL without
 * memory: then nothing changed and handle() answers at once.
 */
struct pfs_http_later *pfs_http_defer(const struct pfs_http_req *req, char **body, size_t *len);
/* Answers a deferred request (loop thread) and frees l; takes resp->body. */
void pfs_http_answer(struct pfs_http_later *l, struct pfs_http_resp *resp);

/* A held stream has more to send: its connection is resumed if suspended
 * (loop thread). */
void pfs_http_wake(struct pfs_http_hold *hold);

/* A query argument of the request, or NULL. */
const char *pfs_http_query(const struct pfs_http_req *req, const char *key);
/* The first query argument whose name is not in known (NULL-terminated), or NULL. */
const char *pfs_http_query_unknown(const struct pfs_http_req *req, const char *const *known);
/* A request header, or NULL. */
const char *pfs_http_header(const struct pfs_http_req *req, const char *key);
/* A cookie the request carries, or NULL. */
const char *pfs_http_cookie(const struct pfs_http_req *req, const char *name);
/* The client's address as text ("127.0.0.1", "::1"), "" if unknown. */
void pfs_http_peer(const struct pfs_http_req *req, char *out, size_t size);

#endif
