/*
 * http.h - libmicrohttpd on posfleetd's libuv loop.
 *
 * MHD runs in epoll mode without threads of its own: a uv_poll watches MHD's
 * epoll descriptor and a uv_timer follows MHD_get_timeout(), and both call
 * MHD_run() on the loop thread, so every handler runs on the same thread as
 * ingest and the store. Request bodies are collected up to a limit; a
 * larger body gets 413 TOOBIG without reaching the handler.
 *
 * The handler fills a struct pfs_http_resp; http owns and frees resp->body.
 */
#ifndef PFS_HTTP_H
#define PFS_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "base/log.h"
#include "pf/error.h"

struct MHD_Daemon;
struct MHD_Connection;

struct pfs_http_req {
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    struct MHD_Connection *conn;
};

struct pfs_http_resp {
    int status;
    char *body; /* heap; freed by http */
    size_t len;
    const char *content_type; /* static; default application/json */
};

typedef void (*pfs_http_handler)(void *ctx, const struct pfs_http_req *req,
                                 struct pfs_http_resp *resp);

struct pfs_http {
    uv_loop_t *loop;
    struct MHD_Daemon *daemon;
    uv_poll_t poll;
    uv_timer_t timer;
    int handles_open;
    int port;
    size_t body_max;
    size_t import_max; /* body limit for paths ending in /import */
    pfs_http_handler handler;
    void *ctx;
    const struct pfs_log *log;
};

struct pfs_http_opts {
    const char *addr; /* IPv4 or IPv6 literal */
    int port;         /* 0: any free port; pfs_http.port tells which */
    size_t body_max;
    size_t import_max; /* bulk uploads (paths ending in /import) */
};

int pfs_http_start(struct pfs_http *h, uv_loop_t *loop, const struct pfs_http_opts *opts,
                   pfs_http_handler handler, void *ctx, const struct pfs_log *log,
                   struct pf_error *err) PF_WUR;
/* Stops accepting, closes the uv handles (the loop must run once more to
 * finish closing them) and stops the daemon. */
void pfs_http_stop(struct pfs_http *h);

/* A query argument of the request, or NULL. */
const char *pfs_http_query(const struct pfs_http_req *req, const char *key);
/* A request header, or NULL. */
const char *pfs_http_header(const struct pfs_http_req *req, const char *key);

#endif
