/*
 * http.h - one HTTP exchange with posfleetd over libcurl.
 *
 * A struct pfc_http holds the curl handle (connections are reused across the
 * requests of one command, e.g. pages of `devices --all`), the base URL, the
 * bearer token and the timeouts. It never logs or prints the token. A request
 * returns 0 whenever posfleetd answered, whatever the status; failing to get
 * an answer is PF_ECONN or PF_ETIMEOUT with err reading
 * "cannot reach posfleetd at URL: connection refused".
 *
 * An https server's certificate is always verified, chain and host name,
 * against conf.cacert or else the system's trusted CAs; there is no option
 * to skip it. A refusal says which of the two failed and how to fix it.
 *
 * Ownership: pfc_http_new copies the URL, CA path and token; pfc_http_free wipes the
 * token. A response's data is owned by the caller (pfc_http_resp_release).
 */
#ifndef PFC_HTTP_H
#define PFC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PFC_URL_MAX   512
#define PFC_TOKEN_MAX 1024
#define PFC_RESP_MAX  (64u * 1024 * 1024) /* largest answer accepted */

struct pfc_http;

struct pfc_http_conf {
    const char *base_url; /* "https://host:port", optionally with a path prefix */
    const char *cacert;   /* CA file to verify an https server with; NULL: system store */
    const char *token;    /* NULL: no Authorization header */
    long connect_timeout_ms;
    long timeout_ms;
};

struct pfc_http_resp {
    long status;
    char *data; /* NUL-terminated body, owned */
    size_t len;
};

int pfc_http_new(const struct pfc_http_conf *conf, struct pfc_http **out,
                 struct pf_error *err) PF_WUR;
void pfc_http_free(struct pfc_http *h);

/* path starts with '/' and is already escaped; body (may be NULL) is sent as JSON. */
int pfc_http_request(struct pfc_http *h, const char *method, const char *path, const char *body,
                     struct pfc_http_resp *resp, struct pf_error *err) PF_WUR;
/* The same with a body of len bytes of content_type ("text/csv"); body may be NULL. */
int pfc_http_request_typed(struct pfc_http *h, const char *method, const char *path,
                           const char *content_type, const char *body, size_t len,
                           struct pfc_http_resp *resp, struct pf_error *err) PF_WUR;
void pfc_http_resp_release(struct pfc_http_resp *resp);

/* Called now and then while a request runs (about once a second while it
 * waits for the answer): bytes of the body sent so far and in all. */
typedef void (*pfc_http_progress_fn)(void *ctx, size_t sent, size_t total);
/* Reports the progress of the next requests to fn (NULL: no more). */
void pfc_http_set_progress(struct pfc_http *h, pfc_http_progress_fn fn, void *ctx);
/* A response header to read back from a download: name in, value out ("" when absent). */
struct pfc_http_header {
    const char *name;
    char value[128];
};

/*
 * A bodiless request whose 2xx answer is written to the open descriptor fd
 * as it arrives, whatever its size (*written counts the bytes), with the
 * values of the headers asked for in hdrs; any other answer is kept in
 * resp->data as pfc_http_request keeps it. A short or failed write of fd is
 * PF_EIO naming the reason.
 */
int pfc_http_download(struct pfc_http *h, const char *method, const char *path, int fd,
                      struct pfc_http_header *hdrs, size_t nhdrs, uint64_t *written,
                      struct pfc_http_resp *resp, struct pf_error *err) PF_WUR;

/* Replaces the whole-request timeout (a long import). */
void pfc_http_set_timeout(struct pfc_http *h, long timeout_ms);

/* The base URL as configured (for messages). */
const char *pfc_http_base(const struct pfc_http *h);

/*
 * Percent-encodes s (everything but RFC 3986 unreserved characters) onto
 * buf at *off; PF_ETOOBIG if it does not fit (buf stays NUL-terminated).
 */
int pfc_url_escape(const char *s, char *buf, size_t len, size_t *off) PF_WUR;

#endif
