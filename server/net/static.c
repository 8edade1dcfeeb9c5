/*
 * static.c - the back office's files in front of the API (static.h).
 */
#include "net/static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_PATH_MAX 256
#define STATIC_FILE_MAX (8 * 1024 * 1024)

const char *const pfs_static_headers[] = {
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'",
        "X-Content-Type-Options",
        "nosniff",
        "Referrer-Policy",
        "no-referrer",
        "X-Frame-Options",
        "DENY",
        NULL,
};

/* The console's own folders, and the libjs-* packages the console may load. */
static const char *const static__dirs[] = {"/js/", "/css/", "/i18n/", NULL};
static const char *const static__libjs[] = {"jquery", "jquery-datatables", "dygraphs", NULL};

static const struct {
    const char *ext, *type;
} static__types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
};

static bool static__prefixed(const char *path, const char *prefix)
{
    return strncmp(path, prefix, strlen(prefix)) == 0;
}

bool pfs_static_is_console(const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
        strcmp(path, "/favicon.svg") == 0 || static__prefixed(path, "/javascript/"))
        return true;
    for (size_t i = 0; static__dirs[i]; i++)
        if (static__prefixed(path, static__dirs[i]))
            return true;
    return false;
}

/* Segments of [A-Za-z0-9._-], none empty, none starting with a dot. */
static bool static__safe(const char *rel)
{
    bool start = true;

    if (!*rel || strlen(rel) > STATIC_PATH_MAX)
        return false;
    for (const char *p = rel; *p; p++) {
        char ch = *p;

        if (ch == '/') {
            if (start)
                return false;
            start = true;
            continue;
        }
        if (start && ch == '.')
            return false;
        start = false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return !start;
}

static const char *static__type(const char *rel)
{
    const char *dot = strrchr(rel, '.');

    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(static__types) / sizeof(static__types[0]); i++)
        if (strcmp(dot, static__types[i].ext) == 0)
            return static__types[i].type;
    return NULL;
}

static bool static__libjs_allowed(const char *rel)
{
    const char *slash = strchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;

    if (!n)
        return false;
    for (size_t i = 0; static__libjs[i]; i++)
        if (strlen(static__libjs[i]) == n && strncmp(rel, static__libjs[i], n) == 0)
            return true;
    return false;
}

/* The whole regular file at dir/rel into *body: 0, PF_ENOENT (absent, not a
 * regular file, too large) or PF_EIO. */
static int static__read(const char *dir, const char *rel, char **body, size_t *len)
{
    char full[PATH_MAX];
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    int fd = -1, rc = PF_ENOENT;

    if (snprintf(full, sizeof(full), "%s/%s", dir, rel) >= (int)sizeof(full))
        return PF_ENOENT;
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        goto cleanup;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_FILE_MAX)
        goto cleanup;
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        rc = PF_ENOMEM;
        goto cleanup;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = PF_EIO;
            goto cleanup;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static void static__plain(struct pfs_http_resp *resp, int status, const char *text)
{
    resp->status = status;
    resp->body = strdup(text);
    resp->len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "text/plain; charset=utf-8";
}

void pfs_static_answer(const struct pfs_static *st, const char *method, const char *path,
                       struct pfs_http_resp *resp)
{
    const char *dir = st->dir, *rel, *type;
    int rc;

    resp->headers = pfs_static_headers;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static__plain(resp, 405, "method not allowed\n");
        resp->allow = "GET, HEAD";
        return;
    }
    if (static__prefixed(path, "/javascript/")) {
        dir = st->js_dir;
        rel = path + strlen("/javascript/");
        if (!static__libjs_allowed(rel)) {
            static__plain(resp, 404, "not found\n");
            return;
        }
    } else if (strcmp(path, "/") == 0) {
        rel = "index.html";
    } else {
        rel = path + 1;
    }
    type = static__type(rel);
    if (!dir[0] || !static__safe(rel) || !type) {
        static__plain(resp, 404, "not found\n");
        return;
    }
    rc = static__read(dir, rel, &resp->body, &resp->len);
    if (rc) {
        static__plain(resp, rc == PF_ENOENT ? 404 : 500,
                      rc == PF_ENOENT ? "not found\n" : "cannot read\n");
        return;
    }
    resp->status = 200;
    resp->content_type = type;
}

static bool static__begin(void *ctx, const struct pfs_http_req *req, size_t *body_max, void **state,
                          struct pfs_http_resp *resp)
{
    struct pfs_static *st = ctx;

    if (st->dir[0] && pfs_static_is_console(req->path)) {
        /* Answered on the headers: a console request takes no body. */
        pfs_static_answer(st, req->method, req->path, resp);
        return false;
    }
    return st->inner.begin(st->inner.ctx, req, body_max, state, resp);
}

static void static__handle(void *ctx, const struct pfs_http_req *req, void *state,
                           struct pfs_http_resp *resp)
{
    struct pfs_static *st = ctx;

    st->inner.handle(st->inner.ctx, req, state, resp);
}

static void static__done(void *ctx, void *state)
{
    struct pfs_static *st = ctx;

    if (st->inner.done)
        st->inner.done(st->inner.ctx, state);
}

static void static__sent(void *ctx, void *state, int status)
{
    struct pfs_static *st = ctx;

    if (st->inner.sent)
        st->inner.sent(st->inner.ctx, state, status);
}

struct pfs_http_service pfs_static_service(struct pfs_static *st,
                                           const struct pfs_http_service *inner)
{
    struct pfs_http_service svc = {static__begin, static__handle, static__done, st, static__sent};

    st->inner = *inner;
    return svc;
}
