/*
 * api_export.c - GET /v1/devices/export: the terminals of a search (the
 * filters of GET /v1/devices, in the caller's scope) as CSV, streamed
 * (net/http.h, resp->stream) while the client reads: each time the socket
 * can take more, one page of PAGE terminals is read from the store and
 * written into a buffer, so a million-row export holds one page in memory
 * and the loop for one page's reads at a time. The export owns copies of
 * the filters and the scope: the request's strings and the call are gone
 * once the answer started.
 *
 * Cells: a text cell a spreadsheet would run as a formula (starting with =,
 * +, -, @, tab or carriage return) gets a leading ', and a cell with a
 * comma, quote or line break is quoted (RFC 4180).
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_accounts.h"

#define EXPORT_PAGE 500
#define EXPORT_NSTR 10

/* A byte-order mark first: spreadsheets then read the UTF-8 (Chinese names) as UTF-8. */
static const char export__header[] = "\xEF\xBB\xBFserial,model,hw_rev,status,state,merchant_id,"
                                     "merchant_name,region,online,last_seen,"
                                     "fw_version,fw_slot,fee_version,locked,alerts,tags\r\n";

struct export
{
    struct pfs_store *store;
    struct pfs_search_terminals q;
    struct pfs_scope scope;
    char *strs[EXPORT_NSTR]; /* owned copies of q's strings */
    char after[PF_SERIAL_MAX + 1];
    bool started, end, failed;
    char *buf;
    size_t len, off, cap;
    struct pfs_dev_state *s; /* scratch (large) */
};

static void export__free(void *ctx)
{
    struct export *e = ctx;

    for (int i = 0; i < EXPORT_NSTR; i++)
        free(e->strs[i]);
    free(e->buf);
    free(e->s);
    free(e);
}

static int export__put(struct export *e, const char *p, size_t n)
{
    if (e->len + n + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 64 * 1024;
        char *b;

        while (cap < e->len + n + 1)
            cap *= 2;
        b = realloc(e->buf, cap);
        if (!b)
            return PF_ENOMEM;
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
    return 0;
}

/* One cell and its separator (last: the line's end). text: a person or a
 * terminal wrote it, so it is defused. */
static int export__cell(struct export *e, const char *v, bool text, bool last)
{
    bool defuse, quote;
    int rc = 0;

    v = v ? v : "";
    defuse = text && v[0] && strchr("=+-@\t\r", v[0]);
    quote = strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        rc = export__put(e, "\"", 1);
    if (!rc && defuse)
        rc = export__put(e, "'", 1);
    for (const char *p = v; !rc && *p; p++)
        rc = *p == '"' ? export__put(e, "\"\"", 2) : export__put(e, p, 1);
    if (!rc && quote)
        rc = export__put(e, "\"", 1);
    return rc ? rc : export__put(e, last ? "\r\n" : ",", last ? 2 : 1);
}

static int export__row(void *ctx, const struct pfs_search_terminal *t)
{
    struct export *e = ctx;
    const struct pfs_dev_state *s = e->s;
    struct pfs_device d;
    char seen[32] = "", alerts[256], tags[1024] = "";
    json_t *arr;
    int rc = pfs_store_device_get(e->store, t->serial, &d, e->s);

    if (rc)
        return rc;
    if (s->seen) {
        time_t secs = (time_t)(s->last_seen_ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        strftime(seen, sizeof(seen), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    snprintf(alerts, sizeof(alerts), "%s", t->alerts ? t->alerts : "");
    for (char *p = alerts; *p; p++)
        if (*p == ',')
            *p = ' ';
    arr = json_loads(t->tags ? t->tags : "[]", 0, NULL);
    for (size_t i = 0; arr && i < json_array_size(arr); i++) {
        size_t n = strlen(tags);

        snprintf(tags + n, sizeof(tags) - n, "%s%s", n ? " " : "",
                 json_string_value(json_array_get(arr, i))
                         ? json_string_value(json_array_get(arr, i))
                         : "");
    }
    json_decref(arr);
    rc = export__cell(e, t->serial, false, false);
    rc = rc ? rc : export__cell(e, d.model, true, false);
    rc = rc ? rc : export__cell(e, d.hw_rev, true, false);
    rc = rc ? rc : export__cell(e, pfs_dev_status_names[d.status], false, false);
    rc = rc ? rc : export__cell(e, t->state, false, false);
    rc = rc ? rc : export__cell(e, t->merchant_id, true, false);
    rc = rc ? rc : export__cell(e, t->merchant_name, true, false);
    rc = rc ? rc : export__cell(e, t->region, true, false);
    rc = rc ? rc
            : export__cell(e,
                           !s->seen                                      ? "never"
                           : s->online && d.status == PFS_DEV_REGISTERED ? "online"
                                                                         : "offline",
                           false, false);
    rc = rc ? rc : export__cell(e, seen, false, false);
    rc = rc ? rc : export__cell(e, s->seen ? s->fw_version : "", true, false);
    rc = rc ? rc
            : export__cell(e, s->seen && s->fw_version[0] ? pf_slot_names[s->fw_slot] : "", false,
                           false);
    rc = rc ? rc : export__cell(e, s->seen ? s->fee_version : "", true, false);
    rc = rc ? rc : export__cell(e, t->lock_wanted ? "yes" : "no", false, false);
    rc = rc ? rc : export__cell(e, alerts, false, false);
    rc = rc ? rc : export__cell(e, tags, true, true);
    if (!rc)
        snprintf(e->after, sizeof(e->after), "%s", t->serial);
    return rc;
}

/* The next page into the buffer (the header first). */
static int export__fill(struct export *e)
{
    bool more = false;
    int rc;

    e->len = e->off = 0;
    if (!e->started) {
        e->started = true;
        rc = export__put(e, export__header, strlen(export__header));
        if (rc)
            return rc;
    }
    e->q.after = e->after[0] ? e->after : e->q.after;
    e->q.limit = EXPORT_PAGE;
    rc = pfs_store_search_terminals(e->store, &e->q, export__row, e, &more);
    if (!rc && !more)
        e->end = true;
    return rc;
}

static ssize_t export__read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct export *e = ctx;
    size_t n;

    (void)pos;
    while (e->off == e->len) {
        if (e->end || e->failed)
            return e->failed ? PFS_HTTP_STREAM_ERROR : PFS_HTTP_STREAM_END;
        if (export__fill(e) != 0)
            e->failed = true; /* the client sees the answer cut short, not a partial file */
    }
    n = e->len - e->off < max ? e->len - e->off : max;
    memcpy(buf, e->buf + e->off, n);
    e->off += n;
    return (ssize_t)n;
}

/* Copies *field into e's strings. */
static int export__own(struct export *e, int i, const char **field)
{
    if (!*field)
        return 0;
    e->strs[i] = strdup(*field);
    *field = e->strs[i];
    return e->strs[i] ? 0 : PF_ENOMEM;
}

void pfs_api_devices_export(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    static const char *const known[] = {
            "status", "model", "fw",    "fee",  "state", "merchant", "merchant_name",
            "region", "tag",   "alert", "lock", "after", NULL,
    };
    const struct pfs_scope *scope = pfs_api_scope(call);
    struct export *e = calloc(1, sizeof(*e));
    int rc = 0;

    if (!e || !(e->s = calloc(1, sizeof(*e->s)))) {
        free(e);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    e->store = api->store;
    if (pfs_api_terminal_query(call->req, resp, known, &e->q)) {
        export__free(e);
        return;
    }
    if (scope) {
        e->scope = *scope;
        e->q.scope = &e->scope;
    }
    rc = export__own(e, 0, &e->q.model);
    rc = rc ? rc : export__own(e, 1, &e->q.fw);
    rc = rc ? rc : export__own(e, 2, &e->q.fee);
    rc = rc ? rc : export__own(e, 3, &e->q.state);
    rc = rc ? rc : export__own(e, 4, &e->q.merchant);
    rc = rc ? rc : export__own(e, 5, &e->q.merchant_name);
    rc = rc ? rc : export__own(e, 6, &e->q.region);
    rc = rc ? rc : export__own(e, 7, &e->q.tag);
    rc = rc ? rc : export__own(e, 8, &e->q.alert);
    rc = rc ? rc : export__own(e, 9, &e->q.after);
    if (rc) {
        export__free(e);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    pfs_log_info(api->log, "api: %s (%s) exports terminals as CSV", call->name,
                 pfs_role_names[call->role]);
    resp->status = 200;
    resp->content_type = "text/csv; charset=utf-8";
    resp->extra[0].name = "Content-Disposition";
    snprintf(resp->extra[0].value, sizeof(resp->extra[0].value),
             "attachment; filename=\"terminals.csv\"");
    resp->stream = export__read;
    resp->stream_free = export__free;
    resp->stream_ctx = e;
}
