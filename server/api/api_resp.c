/*
 * api_resp.c - status codes and JSON bodies of the HTTP API.
 */
#include "api/api_resp.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "pf/num.h"

int pfs_api_status(int code)
{
    switch (code) {
    case PF_EAUTH:
        return 401;
    case PF_EPERM:
        return 403;
    case PF_EUNKNOWN_SERIAL:
    case PF_ENOENT:
    case PF_EREVOKED:
        return 404;
    case PF_EEXIST:
    case PF_ESTATE:
        return 409;
    case PF_ETOOBIG:
        return 413;
    case PF_ECONN:
        return 503;
    case PF_EPARSE:
    case PF_EINVAL:
    case PF_ESCHEMA:
    case PF_ERANGE:
    case PF_EVERSION:
        return 400;
    default:
        /* Signature, key, manifest and payload refusals, and a bundle past the format's
         * size or count limits (PF_ELIMIT): the uploaded bundle's fault, not worth a retry. */
        if (code <= PF_EBAD_SIG && code >= PF_EFEETABLE)
            return 400;
        return 500;
    }
}

void pfs_api_json(struct pfs_http_resp *resp, int status, json_t *o)
{
    resp->status = status;
    resp->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    resp->len = resp->body ? strlen(resp->body) : 0;
    if (!resp->body) {
        static const char oom[] = "{\"error\":\"NOMEM\",\"message\":\"out of memory\"}";

        resp->status = 500;
        resp->body = strdup(oom);
        resp->len = resp->body ? strlen(oom) : 0;
    }
    json_decref(o);
}

void pfs_api_error(struct pfs_http_resp *resp, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pfs_api_json(resp, pfs_api_status(code),
                 json_pack("{s:s, s:s}", "error", pf_errname(code), "message", msg));
}

int pfs_api_page_args(const struct pfs_http_req *req, struct pfs_http_resp *resp, const char *what,
                      int64_t *limit, int64_t *before)
{
    const char *v = pfs_http_query(req, "limit");

    *limit = PFS_API_LIMIT_DEFAULT;
    *before = 0;
    if (v && pf_parse_i64(v, 1, PFS_API_LIMIT_MAX, limit)) {
        pfs_api_error(resp, PF_EINVAL, "limit: must be 1..%d", PFS_API_LIMIT_MAX);
        return PF_EINVAL;
    }
    v = pfs_http_query(req, "before");
    if (v && pf_parse_i64(v, 1, INT64_MAX, before)) {
        pfs_api_error(resp, PF_EINVAL, "before: must be %s", what);
        return PF_EINVAL;
    }
    return 0;
}

void pfs_api_page_answer(struct pfs_http_resp *resp, const char *key, json_t *rows, int64_t limit)
{
    if (json_array_size(rows) > (size_t)limit) {
        json_int_t last;

        json_array_remove(rows, (size_t)limit);
        last = json_integer_value(json_object_get(json_array_get(rows, (size_t)limit - 1), "id"));
        pfs_api_json(resp, 200, json_pack("{s:o, s:I}", key, rows, "next", last));
    } else {
        pfs_api_json(resp, 200, json_pack("{s:o, s:n}", key, rows, "next"));
    }
}
