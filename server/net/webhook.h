/*
 * webhook.h - the transport of notify.h: HTTP POSTs with libcurl's multi
 * interface driven from the libuv loop (curl_multi_socket_action with a
 * uv_poll per socket and one uv_timer), so a slow or dead receiver never
 * blocks the loop. Only http:// and https:// are allowed, redirects are not
 * followed, each transfer is bounded by a timeout.
 */
#ifndef PFS_WEBHOOK_H
#define PFS_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "pf/error.h"

struct pfs_webhook;

/* A transfer ended: status is the HTTP status (0 without an answer), error
 * "" or what went wrong (curl's message), ms how long it took. */
typedef void (*pfs_webhook_done_cb)(void *ctx, int64_t token, int status, const char *error,
                                    int64_t ms);

int pfs_webhook_new(uv_loop_t *loop, int timeout_ms, pfs_webhook_done_cb done, void *ctx,
                    struct pfs_webhook **out, struct pf_error *err) PF_WUR;
/* Starts a POST of body with the headers ("Name: value"); done() follows. */
int pfs_webhook_post(struct pfs_webhook *w, int64_t token, const char *url,
                     const char *const *headers, size_t nheaders, const char *body,
                     size_t len) PF_WUR;
/* Abandons the transfers in flight (done() is not called) and closes the
 * handles; the loop must run once more to finish closing. */
void pfs_webhook_free(struct pfs_webhook *w);

#endif
