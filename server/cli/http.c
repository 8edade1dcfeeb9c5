/*
 * http.c - libcurl transport for the posfleet CLI.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

struct pfc_http {
    CURL *curl;
    char base[PFC_URL_MAX + 1];
    char cacert[PATH_MAX];         /* "" = the system's trusted CAs */
    char auth[PFC_TOKEN_MAX + 32]; /* "Authorization: Bearer ..." or "" */
    long connect_timeout_ms;
    long timeout_ms;
    pfc_http_progress_fn progress; /* NULL: none */
    void *progress_ctx;
};

struct http__buf {
    char *data;
    size_t len, cap;
    bool too_big;
};

int pfc_http_new(const struct pfc_http_conf *conf, struct pfc_http **out, struct pf_error *err)
{
    struct pfc_http *h;
    size_t blen = strlen(conf->base_url);

    if (blen > PFC_URL_MAX)
        return pf_error_set(err, PF_EINVAL, "server URL longer than %d characters", PFC_URL_MAX);
    if (conf->cacert && strlen(conf->cacert) >= PATH_MAX)
        return pf_error_set(err, PF_EINVAL, "CA file path too long");
    if (conf->token && strlen(conf->token) > PFC_TOKEN_MAX)
        return pf_error_set(err, PF_EINVAL, "token longer than %d characters", PFC_TOKEN_MAX);
    h = calloc(1, sizeof(*h));
    if (!h)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return pf_error_set(err, PF_ENOMEM, "cannot initialise libcurl");
    }
    memcpy(h->base, conf->base_url, blen + 1);
    if (conf->cacert)
        snprintf(h->cacert, sizeof(h->cacert), "%s", conf->cacert);
    while (blen > 0 && h->base[blen - 1] == '/')
        h->base[--blen] = '\0';
    if (conf->token)
        snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", conf->token);
    h->connect_timeout_ms = conf->connect_timeout_ms;
    h->timeout_ms = conf->timeout_ms;
    *out = h;
    return 0;
}

void pfc_http_free(struct pfc_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    explicit_bzero(h->auth, sizeof(h->auth));
    free(h);
}

void pfc_http_set_progress(struct pfc_http *h, pfc_http_progress_fn fn, void *ctx)
{
    h->progress = fn;
    h->progress_ctx = ctx;
}

static int http__xferinfo(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
    struct pfc_http *h = ctx;

    (void)dltotal;
    (void)dlnow;
    h->progress(h->progress_ctx, (size_t)ulnow, (size_t)ultotal);
    return 0;
}

void pfc_http_set_timeout(struct pfc_http *h, long timeout_ms)
{
    h->timeout_ms = timeout_ms;
}

const char *pfc_http_base(const struct pfc_http *h)
{
    return h->base;
}

static size_t http__write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http__buf *b = userdata;
    size_t n = size * nmemb;

    if (b->len + n + 1 > PFC_RESP_MAX) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Lower-cases the first letter of strerror's text: "connection refused". */
static void http__os_reason(long os_errno, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror((int)os_errno));
    if (buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
}

static int http__transport_error(struct pfc_http *h, CURLcode cc, const char *errbuf,
                                 struct pf_error *err)
{
    char reason[CURL_ERROR_SIZE + 64];
    long os_errno = 0;
    double connect_s = 0;

    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno)
            http__os_reason(os_errno, reason, sizeof(reason));
        else
            snprintf(reason, sizeof(reason), "connection failed");
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(reason, sizeof(reason), "unknown host");
        break;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME, &connect_s);
        if (connect_s <= 0)
            return pf_error_set(err, PF_ETIMEOUT,
                                "cannot reach posfleetd at %s: no connection within %ld ms",
                                h->base, h->connect_timeout_ms);
        return pf_error_set(err, PF_ETIMEOUT, "posfleetd at %s did not answer within %ld ms",
                            h->base, h->timeout_ms);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        snprintf(reason, sizeof(reason), "connection closed without an answer");
        break;
    case CURLE_PEER_FAILED_VERIFICATION: {
        long verify = 0;
        const char *ca = h->cacert[0] ? h->cacert : "the system's trusted CAs";

        /* A chain the CAs do not vouch for fails in the handshake with
         * OpenSSL's verify result (20, unable to get the issuer, and the like); a
         * good chain for another name fails curl's host check after it, which
         * leaves 0 or 1 (unspecified), or OpenSSL's own 62/64 (host/IP mismatch). */
        curl_easy_getinfo(h->curl, CURLINFO_SSL_VERIFYRESULT, &verify);
        if (verify != 0 && verify != 1 && verify != 62 && verify != 64)
            return pf_error_set(err, PF_ECONN,
                                "cannot reach posfleetd at %s: its TLS certificate is not trusted "
                                "by %s (%s); give the CA that issued it with --cacert FILE or "
                                "POSFLEET_CACERT",
                                h->base, ca, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return pf_error_set(err, PF_ECONN,
                            "cannot reach posfleetd at %s: its TLS certificate is not valid for "
                            "this host name (%s); use a name or address the certificate lists",
                            h->base, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    case CURLE_SSL_CACERT_BADFILE:
        return pf_error_set(err, PF_EINVAL, "CA file %s: not usable (%s)",
                            h->cacert[0] ? h->cacert : "(system store)",
                            errbuf[0] ? errbuf : curl_easy_strerror(cc));
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(reason, sizeof(reason), "TLS handshake failed (%s); is it serving HTTPS?",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return pf_error_set(err, PF_EINVAL, "bad server URL %s: %s", h->base,
                            errbuf[0] ? errbuf : curl_easy_strerror(cc));
    default:
        snprintf(reason, sizeof(reason), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        break;
    }
    return pf_error_set(err, PF_ECONN, "cannot reach posfleetd at %s: %s", h->base, reason);
}

int pfc_http_request(struct pfc_http *h, const char *method, const char *path, const char *body,
                     struct pfc_http_resp *resp, struct pf_error *err)
{
    return pfc_http_request_typed(h, method, path, "application/json", body,
                                  body ? strlen(body) : 0, resp, err);
}

/* Every request's common options after a reset: the URL, http(s) only, no
 * redirects, the server's certificate verified (against --cacert when given;
 * libcurl's defaults already verify, said here so no later change drops it),
 * the timeouts, the headers and the error buffer. */
static void http__setup(struct pfc_http *h, const char *url, struct curl_slist *headers,
                        char *errbuf)
{
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->cacert[0])
        curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->cacert);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "posfleet-cli");
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
}

/* Bodies above this ask the server before they are sent (see below). */
#define HTTP__EXPECT_MIN (64 * 1024)

int pfc_http_request_typed(struct pfc_http *h, const char *method, const char *path,
                           const char *content_type, const char *body, size_t len,
                           struct pfc_http_resp *resp, struct pf_error *err)
{
    char url[PFC_URL_MAX * 2 + 1];
    char ctype[96];
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL, *tmp;
    struct http__buf buf = {0};
    CURLcode cc;
    int rc = 0;
    int n;

    memset(resp, 0, sizeof(*resp));
    errbuf[0] = '\0';
    n = snprintf(url, sizeof(url), "%s%s", h->base, path);
    if (n < 0 || (size_t)n >= sizeof(url))
        return pf_error_set(err, PF_ETOOBIG, "request URL too long");

    snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
    /* A large body waits for "100 Continue": posfleetd decides on the headers
     * (authentication, role, size) and a refusal then arrives before the body
     * is sent, instead of a reset in the middle of it. Small bodies go at once. */
    const char *hdrs[] = {"Accept: application/json", body ? ctype : NULL,
                          body && len > HTTP__EXPECT_MIN ? "Expect: 100-continue" : "Expect:",
                          h->auth[0] ? h->auth : NULL};
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        if (!hdrs[i])
            continue;
        tmp = curl_slist_append(headers, hdrs[i]);
        if (!tmp) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_headers;
        }
        headers = tmp;
    }

    http__setup(h, url, headers, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http__write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, h->progress ? 0L : 1L);
    if (h->progress) {
        curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, http__xferinfo);
        curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
    }
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    } else {
        if (!strcmp(method, "POST")) {
            curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
        } else {
            curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    }

    cc = curl_easy_perform(h->curl);
    if (cc == CURLE_WRITE_ERROR && buf.too_big) {
        rc = pf_error_set(err, PF_ETOOBIG, "answer from posfleetd at %s exceeds %u bytes", h->base,
                          PFC_RESP_MAX);
        goto out_buf;
    }
    if (cc != CURLE_OK) {
        rc = http__transport_error(h, cc, errbuf, err);
        goto out_buf;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!buf.data) {
        buf.data = calloc(1, 1);
        if (!buf.data) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_headers;
        }
    }
    resp->data = buf.data;
    resp->len = buf.len;
    buf.data = NULL;

out_buf:
    free(buf.data);
out_headers:
    /* The list holds copies of the Authorization header: wipe them before freeing. */
    for (tmp = headers; tmp; tmp = tmp->next)
        explicit_bzero(tmp->data, strlen(tmp->data));
    curl_slist_free_all(headers);
    return rc;
}

void pfc_http_resp_release(struct pfc_http_resp *resp)
{
    free(resp->data);
    resp->data = NULL;
    resp->len = 0;
}

int pfc_url_escape(const char *s, char *buf, size_t len, size_t *off)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     c == '-' || c == '.' || c == '_' || c == '~';

        if (*off + (plain ? 1 : 3) + 1 > len) {
            if (*off < len)
                buf[*off] = '\0';
            return PF_ETOOBIG;
        }
        if (plain) {
            buf[(*off)++] = (char)c;
        } else {
            buf[(*off)++] = '%';
            buf[(*off)++] = hex[c >> 4];
            buf[(*off)++] = hex[c & 15];
        }
    }
    if (*off < len)
        buf[*off] = '\0';
    return 0;
}

/* Where a download's body goes: the file for a 2xx answer, else memory. */
struct http__sink {
    CURL *curl;
    int fd;
    bool decided, to_file;
    int werrno;
    uint64_t written;
    struct http__buf buf;
};

static size_t http__sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http__sink *s = userdata;
    size_t n = size * nmemb, off = 0;

    if (!s->decided) {
        long code = 0;

        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
        s->to_file = code >= 200 && code <= 299;
        s->decided = true;
    }
    if (!s->to_file)
        return http__write(ptr, size, nmemb, &s->buf);
    while (off < n) {
        ssize_t w = write(s->fd, ptr + off, n - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->werrno = w < 0 ? errno : EIO;
            return 0; /* aborts the transfer */
        }
        off += (size_t)w;
    }
    s->written += n;
    return n;
}

int pfc_http_download(struct pfc_http *h, const char *method, const char *path, int fd,
                      struct pfc_http_header *hdrs, size_t nhdrs, uint64_t *written,
                      struct pfc_http_resp *resp, struct pf_error *err)
{
    char url[PFC_URL_MAX * 2 + 1];
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL, *tmp;
    struct http__sink sink = {.curl = h->curl, .fd = fd};
    struct curl_header *hv;
    CURLcode cc;
    int rc = 0, n;

    memset(resp, 0, sizeof(*resp));
    *written = 0;
    errbuf[0] = '\0';
    for (size_t i = 0; i < nhdrs; i++)
        hdrs[i].value[0] = '\0';
    n = snprintf(url, sizeof(url), "%s%s", h->base, path);
    if (n < 0 || (size_t)n >= sizeof(url))
        return pf_error_set(err, PF_ETOOBIG, "request URL too long");
    const char *hl[] = {"Expect:", h->auth[0] ? h->auth : NULL};
    for (size_t i = 0; i < sizeof(hl) / sizeof(hl[0]); i++) {
        if (!hl[i])
            continue;
        tmp = curl_slist_append(headers, hl[i]);
        if (!tmp) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_headers;
        }
        headers = tmp;
    }
    http__setup(h, url, headers, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http__sink_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    cc = curl_easy_perform(h->curl);
    if (cc == CURLE_WRITE_ERROR && sink.werrno) {
        rc = pf_error_set(err, PF_EIO, "writing the answer: %s", strerror(sink.werrno));
        goto out_buf;
    }
    if (cc == CURLE_WRITE_ERROR && sink.buf.too_big) {
        rc = pf_error_set(err, PF_ETOOBIG, "answer from posfleetd at %s exceeds %u bytes", h->base,
                          PFC_RESP_MAX);
        goto out_buf;
    }
    if (cc != CURLE_OK) {
        rc = http__transport_error(h, cc, errbuf, err);
        goto out_buf;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    for (size_t i = 0; i < nhdrs; i++)
        if (curl_easy_header(h->curl, hdrs[i].name, 0, CURLH_HEADER, -1, &hv) == CURLHE_OK)
            snprintf(hdrs[i].value, sizeof(hdrs[i].value), "%s", hv->value);
    if (!sink.buf.data) {
        sink.buf.data = calloc(1, 1);
        if (!sink.buf.data) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_headers;
        }
    }
    resp->data = sink.buf.data;
    resp->len = sink.buf.len;
    sink.buf.data = NULL;
    *written = sink.written;

out_buf:
    free(sink.buf.data);
out_headers:
    for (tmp = headers; tmp; tmp = tmp->next)
        explicit_bzero(tmp->data, strlen(tmp->data));
    curl_slist_free_all(headers);
    return rc;
}
