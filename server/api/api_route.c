/*
 * api_route.c - the route matcher and the one authentication and
 * authorization of the HTTP API (api_route.h).
 */
#include "api/api_route.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "pf/num.h"

#define ROUTE_GET  1u
#define ROUTE_POST 2u

/* Whether a and b are equal, in time that does not depend on where they differ. */
static bool route__same(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n == strlen(b) && n > 0 && sodium_memcmp(a, b, n) == 0;
}

int pfs_api_authorize(const struct pfs_api_authn *authn, const char *method,
                      const struct pfs_api_cred *cred, enum pfs_role need,
                      struct pfs_principal *who, struct pf_error *err)
{
    const char *secret = NULL;
    const struct pfs_token *ft;
    bool by_cookie = false;
    int rc;

    memset(who, 0, sizeof(*who));
    if (cred->authorization) {
        if (strncasecmp(cred->authorization, "Bearer ", 7) != 0)
            return pf_error_set(err, PF_EAUTH, "missing bearer token");
        secret = cred->authorization + 7;
        while (*secret == ' ')
            secret++;
    } else if (cred->cookie && *cred->cookie) {
        secret = cred->cookie;
        by_cookie = true;
    } else {
        return pf_error_set(err, PF_EAUTH, "missing bearer token");
    }
    if (authn->tokens && pfs_tokens_auth(authn->tokens, secret, strlen(secret), &ft) == 0)
        pfs_accounts_file_principal(ft, who);
    else if (!authn->fn || authn->fn(authn->ctx, secret, strlen(secret), who) != 0) {
        memset(who, 0, sizeof(*who));
        return pf_error_set(err, PF_EAUTH, "bad token");
    }
    /* A browser sends the cookie by itself, also to a page of someone else's
     * making: a change must prove it comes from the console, which alone
     * knows the session's CSRF value. */
    if (by_cookie && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
        (who->via != PFS_VIA_SESSION || !cred->csrf || !route__same(cred->csrf, who->csrf))) {
        memset(who, 0, sizeof(*who));
        return pf_error_set(err, PF_EPERM, "missing or wrong X-CSRF-Token");
    }
    if (!pfs_role_may(who->role, need)) {
        rc = pf_error_set(err, PF_EPERM, "role %s may not do this (needs %s)",
                          pfs_role_names[who->role], pfs_role_names[need]);
        memset(who, 0, sizeof(*who));
        return rc;
    }
    return 0;
}

const struct pfs_scope *pfs_api_scope(const struct pfs_api_call *call)
{
    return pfs_scope_all(&call->who.scope) ? NULL : &call->who.scope;
}

struct pfs_actor pfs_api_actor(const struct pfs_api_call *call)
{
    struct pfs_actor a = {call->name, pfs_role_names[call->role],
                          call->who.org[0] ? call->who.org : NULL,
                          call->who.scope.path[0] ? call->who.scope.path : NULL,
                          call->addr[0] ? call->addr : NULL};

    return a;
}

static unsigned route__method(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return ROUTE_GET;
    if (strcmp(m, "POST") == 0)
        return ROUTE_POST;
    return 0;
}

/* A positive decimal integer of the whole segment. */
static bool route__id(const char *s, size_t n, int64_t *out)
{
    char buf[24];

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return pf_parse_i64(buf, 1, INT64_MAX, out) == 0;
}

static bool route__copy(char *out, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/*
 * One placeholder segment: 1 taken, 0 not this route, or -1 taken with a bad
 * value (*bad names it; answered 400 after authentication).
 */
static int route__param(const char *kind, size_t kn, const char *s, size_t n,
                        struct pfs_api_params *p, const char **bad)
{
#define KIND(lit) (kn == sizeof(lit) - 1 && memcmp(kind, lit, kn) == 0)
    if (KIND("serial")) {
        if (!route__copy(p->serial, sizeof(p->serial), s, n) || !pf_serial_valid(p->serial)) {
            p->serial[0] = '\0';
            *bad = "bad serial in path";
            return -1;
        }
        return 1;
    }
    if (KIND("merchant"))
        return route__copy(p->merchant, sizeof(p->merchant), s, n);
    if (KIND("repair"))
        return route__id(s, n, &p->id);
    if (KIND("rollout")) {
        if (!route__id(s, n, &p->id)) {
            *bad = "bad rollout id in path";
            return -1;
        }
        return 1;
    }
    if (KIND("diag")) {
        if (!route__copy(p->diag, sizeof(p->diag), s, n))
            return 0;
        if (!pf_diag_id_valid(p->diag)) {
            *bad = "bad diagnostic id";
            return -1;
        }
        return 1;
    }
    if (KIND("bundle"))
        return route__copy(p->bundle, sizeof(p->bundle), s, n);
    if (KIND("token"))
        return route__id(s, n, &p->id);
    if (KIND("user"))
        return route__copy(p->user, sizeof(p->user), s, n);
#undef KIND
    return 0;
}

/* Whether path fits pattern, segment by segment; fills p (and *bad). */
static bool route__fits(const char *pattern, const char *path, size_t plen,
                        struct pfs_api_params *p, const char **bad)
{
    const char *q = pattern, *s = path, *end = path + plen;

    memset(p, 0, sizeof(*p));
    *bad = NULL;
    while (*q && s < end) {
        const char *qe, *se;
        size_t qn, sn;

        if (*q != '/' || *s != '/')
            return false;
        q++;
        s++;
        qe = strchr(q, '/');
        qe = qe ? qe : q + strlen(q);
        se = memchr(s, '/', (size_t)(end - s));
        se = se ? se : end;
        qn = (size_t)(qe - q);
        sn = (size_t)(se - s);
        if (qn >= 2 && q[0] == '{' && q[qn - 1] == '}') {
            int r;

            if (sn == 0)
                return false;
            r = route__param(q + 1, qn - 2, s, sn, p, bad);
            if (r == 0)
                return false;
        } else if (qn != sn || memcmp(q, s, sn) != 0) {
            return false;
        }
        q = qe;
        s = se;
    }
    return *q == '\0' && s == end;
}

static void route__refuse(struct pfs_api_refusal *no, int status, int code, const char *fmt, ...)
        PF_PRINTF(4, 5);

static void route__refuse(struct pfs_api_refusal *no, int status, int code, const char *fmt, ...)
{
    va_list ap;

    no->status = status;
    no->code = code;
    no->allow = NULL;
    va_start(ap, fmt);
    vsnprintf(no->message, sizeof(no->message), fmt, ap);
    va_end(ap);
}

int pfs_api_decide(const struct pfs_api_route *table, size_t n, const struct pfs_api_authn *authn,
                   const char *method, const char *path, const struct pfs_api_cred *cred,
                   struct pfs_api_call *call, struct pfs_api_refusal *no)
{
    static const char *const allow[] = {NULL, "GET, HEAD", "POST", "GET, HEAD, POST"};
    unsigned want = route__method(method), seen = 0;
    size_t plen;
    const char *bad = NULL;
    struct pf_error err = {0};
    int rc;

    memset(call, 0, sizeof(*call));
    if (strncmp(path, "/api/v1/", 8) == 0)
        path += 4; /* the back office's prefix */
    plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        plen--; /* "/v1/devices/" is "/v1/devices" */
    for (size_t i = 0; i < n && !call->route; i++) {
        struct pfs_api_params p;
        const char *b;

        if (!route__fits(table[i].pattern, path, plen, &p, &b))
            continue;
        seen |= route__method(table[i].method);
        if (want && route__method(table[i].method) == want) {
            call->route = &table[i];
            call->params = p;
            bad = b;
        }
    }
    if (!call->route) {
        if (!seen) {
            route__refuse(no, 404, PF_ENOENT, "no such endpoint: %.16s %.64s", method, path);
            return PF_ENOENT;
        }
        route__refuse(no, 405, PF_ENOENT, "%.16s is not allowed on %.64s (allowed: %s)", method,
                      path, allow[seen]);
        no->allow = allow[seen];
        return PF_ENOENT;
    }
    if (call->route->role != PFS_API_PUBLIC) {
        rc = pfs_api_authorize(authn, method, cred, (enum pfs_role)call->route->role, &call->who,
                               &err);
        if (rc) {
            route__refuse(no, rc == PF_EPERM ? 403 : 401, rc, "%s", err.msg);
            call->route = NULL;
            return rc;
        }
        if (call->route->scope == PFS_API_SCOPE_HQ && !pfs_scope_all(&call->who.scope)) {
            route__refuse(no, 403, PF_EPERM, "only headquarters may do this (you are of %.64s)",
                          call->who.org);
            memset(&call->who, 0, sizeof(call->who));
            call->route = NULL;
            return PF_EPERM;
        }
        snprintf(call->name, sizeof(call->name), "%s", call->who.name);
        call->role = call->who.role;
    }
    if (bad) {
        route__refuse(no, 400, PF_EINVAL, "%s", bad);
        call->route = NULL;
        return PF_EINVAL;
    }
    return 0;
}
