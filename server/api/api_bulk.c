/*
 * api_bulk.c - bulk bind, unbind and tags (POST /v1/bulk/bind, /v1/bulk/unbind,
 * /v1/bulk/tags) and the undo of a swap (POST /v1/devices/{OLD}/swap/undo);
 * docs/server.md, "Lifecycle".
 *
 * A bulk body is {"rows": [...], "check": false}: each row an object with the
 * CSV line it came from, the serial and the kind's fields. Every row is
 * checked, first on its own (fields, a serial twice) and then by the store
 * in one transaction with the rules of the single calls, so one answer names
 * every bad line; the transaction is kept only when no line is bad and check
 * is false. Tag rows add ("+", the default) or remove ("-") one tag; a
 * terminal's rows are applied in order to its tags, which the store then
 * replaces in one change.
 */
#include "api/api_handlers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/bulkjob.h"
#include "lifecycle/lifectl.h"
#include "lifecycle/views.h"
#include "pf/jsonv.h"
#include "pf/text.h"
#include "pf/topic.h"
#include "store/store_lifecycle.h"

/* The most bad lines one answer names; the rest are counted (as the import). */
#define BULK_ERRORS_MAX 100
#define BULK_TAGS_MAX   32

static const char *const bulk__names[] = {"bind", "unbind", "tags"};

struct bulk__bad {
    int line, code;
    char *msg;
};

struct bulk__ctx {
    struct bulk__bad *bad;
    size_t nbad, cap;
    int first; /* the lowest line's code */
};

static int bulk__bad_add(struct bulk__ctx *c, int line, int code, const char *msg)
{
    char *m;

    if (c->nbad == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct bulk__bad *nb = realloc(c->bad, cap * sizeof(*nb));

        if (!nb)
            return PF_ENOMEM;
        c->bad = nb;
        c->cap = cap;
    }
    if (!msg || strncmp(msg, "line ", 5) != 0) {
        size_t n = strlen(msg ? msg : "") + 32;

        m = malloc(n);
        if (m)
            snprintf(m, n, "line %d: %s", line, msg ? msg : "refused");
    } else {
        m = strdup(msg);
    }
    if (!m)
        return PF_ENOMEM;
    c->bad[c->nbad++] = (struct bulk__bad){line, code, m};
    return 0;
}

static int bulk__store_bad(void *ctx, int line, int code, const char *msg)
{
    return bulk__bad_add(ctx, line, code, msg);
}

static int bulk__by_line(const void *a, const void *b)
{
    const struct bulk__bad *x = a, *y = b;

    return (x->line > y->line) - (x->line < y->line);
}

static void bulk__release(struct bulk__ctx *c)
{
    for (size_t i = 0; i < c->nbad; i++)
        free(c->bad[i].msg);
    free(c->bad);
}

/* The refusal naming every bad line, lowest first; the status is the first one's. */
static void bulk__answer_bad(struct pfs_http_resp *resp, struct bulk__ctx *c)
{
    json_t *lines = json_array();
    char head[128];

    qsort(c->bad, c->nbad, sizeof(*c->bad), bulk__by_line);
    for (size_t i = 0; lines && i < c->nbad && i < BULK_ERRORS_MAX; i++) {
        if (json_array_append_new(lines, json_pack("{s:i, s:s}", "line", c->bad[i].line, "message",
                                                   c->bad[i].msg))) {
            json_decref(lines);
            lines = NULL;
        }
    }
    if (!lines) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    snprintf(head, sizeof(head), "%zu bad line%s (nothing changed)%s", c->nbad,
             c->nbad == 1 ? "" : "s",
             c->nbad > BULK_ERRORS_MAX ? "; the first 100 are listed" : "");
    pfs_api_json(resp, pfs_api_status(c->bad[0].code),
                 json_pack("{s:s, s:s, s:o}", "error", pf_errname(c->bad[0].code), "message", head,
                           "lines", lines));
}

/* A terminal's tags as its rows leave them (tags: the JSON array, changed in place). */
static int bulk__tag_apply(json_t *tags, const char *tag, bool remove, struct pf_error *err)
{
    size_t i;
    json_t *v;

    json_array_foreach(tags, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), tag) == 0)
            return remove ? json_array_remove(tags, i) : 0;
    }
    if (remove)
        return 0;
    if (json_array_size(tags) >= BULK_TAGS_MAX)
        return pf_error_set(err, PF_EINVAL, "tag %s: the terminal has %d tags already", tag,
                            BULK_TAGS_MAX);
    return json_array_append_new(tags, json_string(tag)) ? PF_ENOMEM : 0;
}

static int bulk__tags_cb(void *ctx, const struct pfs_term_view *v)
{
    json_t **tags = ctx;

    *tags = v->tags ? json_loads(v->tags, 0, NULL) : json_array();
    if (*tags && !json_is_array(*tags)) {
        json_decref(*tags);
        *tags = json_array();
    }
    return *tags ? 0 : PF_EIO;
}

/*
 * One row, checked on its own; fills op (strings borrowed from the body) or
 * explains the refusal. For tags, the row's change is made to the terminal's
 * list in per (serial -> {"line", "tags"}), loaded from the store at its
 * first row.
 */
static int bulk__row(struct pfs_store *st, enum pfs_bulk_kind kind, json_t *row, int line,
                     json_t *seen, json_t *per, struct pfs_bulk_op *op, bool *fresh,
                     struct pf_error *err)
{
    char serial[PF_SERIAL_MAX + 1], buf[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)];
    json_t *prev, *v;
    int rc;

    *fresh = false;
    if (!json_is_object(row))
        return pf_error_set(err, PF_EINVAL, "a row must be an object");
    rc = pf_json_str(row, "serial", true, 1, PF_SERIAL_MAX, serial, err);
    if (!rc && !pf_serial_valid(serial))
        rc = pf_error_set(err, PF_EINVAL, "serial: 1-%d characters of A-Z a-z 0-9 _ -",
                          PF_SERIAL_MAX);
    if (rc)
        return rc;
    op->line = line;
    op->serial = json_string_value(json_object_get(row, "serial"));
    if (kind == PFS_BULK_BIND) {
        char m[PFS_MERCHANT_ID_MAX + 1];

        if ((rc = pf_json_printable(row, "merchant_id", true, 1, PFS_MERCHANT_ID_MAX, m, err)))
            return rc;
        op->arg = json_string_value(json_object_get(row, "merchant_id"));
    } else if (kind == PFS_BULK_UNBIND) {
        if ((rc = pf_json_text(row, "reason", false, PF_TEXT_REASON_MAX, 0, buf, sizeof(buf), err)))
            return rc;
        op->arg = buf[0] ? json_string_value(json_object_get(row, "reason")) : NULL;
    } else {
        const char *opv = json_string_value(json_object_get(row, "op"));
        json_t *t = json_object_get(per, serial), *tags;

        v = json_object_get(row, "tag");
        if ((rc = pfs_api_tag_check(v, "tag", err)))
            return rc;
        if (json_object_get(row, "op") && (!opv || (strcmp(opv, "+") && strcmp(opv, "-"))))
            return pf_error_set(err, PF_EINVAL, "op: + (add the tag) or - (remove it)");
        if (!t) {
            tags = NULL;
            rc = pfs_store_term_view(st, serial, bulk__tags_cb, &tags);
            if (rc == PF_EUNKNOWN_SERIAL)
                return pf_error_set(err, rc, "serial %s is not registered", serial);
            if (rc)
                return pf_error_set(err, rc, "reading %s: %s", serial, pf_strerror(rc));
            t = json_pack("{s:i, s:o}", "line", line, "tags", tags);
            if (!t || json_object_set_new(per, serial, t))
                return pf_error_set(err, PF_ENOMEM, "out of memory");
            *fresh = true; /* the terminal's first row carries the change */
        }
        rc = bulk__tag_apply(json_object_get(t, "tags"), json_string_value(v),
                             opv && strcmp(opv, "-") == 0, err);
        if (rc == PF_ENOMEM)
            return pf_error_set(err, rc, "out of memory");
        return rc;
    }
    prev = json_object_get(seen, serial);
    if (prev)
        return pf_error_set(err, PF_EEXIST, "serial %s: duplicate of line %d", serial,
                            (int)json_integer_value(prev));
    if (json_object_set_new(seen, serial, json_integer(line)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    *fresh = true;
    return 0;
}

/* A bulk request on its way through the job (lifecycle/bulkjob.h): what the loop
 * hands over (the body, a copy of the actor, the time), and the answer the work
 * fills on the thread pool. */
struct bulk__job {
    struct pfs_api *api;
    struct pfs_http_later *later;
    enum pfs_bulk_kind kind;
    char *body;
    size_t len;
    char *who[5]; /* the actor's name, role, org, org_path, addr (heap or NULL) */
    struct pfs_actor actor;
    int64_t now_ms;
    double t0;
    /* filled by the work */
    struct pfs_http_resp resp;
    size_t nrows, nops;
    bool check, changed;
};

static void bulk__job_free(struct bulk__job *j)
{
    for (size_t i = 0; i < sizeof(j->who) / sizeof(j->who[0]); i++)
        free(j->who[i]);
    free(j->body);
    free(j->resp.body);
    free(j);
}

/*
 * Thread pool (lifecycle/bulkjob.h): the body read, every row checked, and the
 * store's one transaction on the sibling connection st; the answer goes into
 * j->resp. Touches nothing of the loop's but the immutable route data.
 */
static void bulk__work(struct pfs_store *st, void *arg)
{
    struct bulk__job *j = arg;
    struct pfs_http_resp *resp = &j->resp;
    enum pfs_bulk_kind kind = j->kind;
    struct bulk__ctx c = {0};
    struct pf_error err = {0};
    json_t *body = NULL, *rows, *seen = NULL, *per = NULL;
    struct pfs_bulk_op *ops = NULL;
    char **texts = NULL;
    size_t nops = 0, nrows, nbad = 0, i;
    bool check = false;
    int rc;

    rc = pf_json_parse_object(j->body, j->len, j->len + 1, &body, &err);
    if (rc) {
        pfs_api_error(resp, PF_EPARSE, "%s", err.msg);
        return;
    }
    rows = json_object_get(body, "rows");
    if (!json_is_array(rows) || !json_array_size(rows)) {
        pfs_api_error(resp, PF_EINVAL, "rows: a non-empty array of rows");
        goto out;
    }
    if ((rc = pf_json_bool(body, "check", false, &check, &err))) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        goto out;
    }
    nrows = json_array_size(rows);
    ops = calloc(nrows, sizeof(*ops));
    texts = calloc(nrows, sizeof(*texts));
    seen = json_object();
    per = json_object();
    if (!ops || !texts || !seen || !per) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nrows; i++) {
        json_t *row = json_array_get(rows, i);
        int64_t line = (int64_t)i + 1;
        bool fresh = false;
        int step;

        err.msg[0] = '\0';
        if (json_is_object(row) && json_object_get(row, "line") &&
            pf_json_int(row, "line", false, 1, INT32_MAX, &line, &err)) {
            step = PF_EINVAL;
        } else {
            step = bulk__row(st, kind, row, (int)line, seen, per, &ops[nops], &fresh, &err);
            if (fresh)
                nops++;
        }
        if (step == PF_ENOMEM || (step && bulk__bad_add(&c, (int)line, step, err.msg))) {
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* Tags: each terminal's list after all its rows, as the text the store writes. */
    for (i = 0; kind == PFS_BULK_TAGS && i < nops; i++) {
        json_t *t = json_object_get(per, ops[i].serial);

        texts[i] = json_dumps(json_object_get(t, "tags"), JSON_COMPACT);
        if (!texts[i]) {
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
            goto out;
        }
        ops[i].arg = texts[i];
    }
    /* The store checks the rest with the single calls' rules, in one transaction kept only
     * when every line is good. */
    if (nops) {
        rc = pfs_store_term_bulk(st, kind, ops, nops, check || c.nbad, bulk__store_bad, &c,
                                 &j->actor, j->now_ms, &nbad, &err);
        if (rc && !nbad) {
            pfs_api_error(resp, rc, "bulk %s: %s", bulk__names[kind], err.msg);
            goto out;
        }
    }
    if (c.nbad) {
        bulk__answer_bad(resp, &c);
        goto out;
    }
    j->nrows = nrows;
    j->nops = nops;
    j->check = check;
    j->changed = !check;
    pfs_api_json(resp, 200,
                 json_pack("{s:s, s:I, s:I, s:b}", "kind", bulk__names[kind], "rows",
                           (json_int_t)nrows, "terminals", (json_int_t)nops, "checked_only",
                           check));
out:
    if (texts) {
        for (i = 0; i < nops; i++)
            free(texts[i]);
    }
    free(texts);
    free(ops);
    json_decref(seen);
    json_decref(per);
    json_decref(body);
    bulk__release(&c);
}

/* Loop: the transaction has ended and the held ingest writes are in; answer. */
static void bulk__done(void *arg, int rc, const struct pf_error *err)
{
    struct bulk__job *j = arg;
    struct pfs_api *api = j->api;

    if (rc) {
        free(j->resp.body);
        j->resp = (struct pfs_http_resp){0};
        pfs_api_error(&j->resp, rc, "bulk %s: %s", bulk__names[j->kind], err->msg);
    }

    if (j->changed) {
        if (j->kind == PFS_BULK_BIND && api->lifectl && pfs_lifectl_installed_reload(api->lifectl))
            pfs_log_error(api->log, "api: bulk bind: lifecycle refresh failed");
        if (api->changed)
            api->changed(api->changed_ctx);
    }
    if (j->resp.status == 200)
        pfs_log_info(api->log, "api: %s (%s) bulk %s: %zu rows, %zu terminals %s in %.0f ms",
                     j->actor.name, j->actor.role, bulk__names[j->kind], j->nrows, j->nops,
                     j->check ? "checked" : "changed", (pfs_api_obs_now() - j->t0) * 1000.0);
    pfs_http_answer(j->later, &j->resp); /* takes resp.body */
    j->resp.body = NULL;
    bulk__job_free(j);
}

/*
 * The request is answered once its work has ended (pfs_http_defer): the loop
 * goes on serving ingest and the API meanwhile, and only the rows' check and
 * their one transaction run on the thread pool (docs/server.md, "Bulk changes
 * off the loop").
 */
void pfs_api_term_bulk(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp)
{
    struct pfs_actor a = pfs_api_actor(call);
    const char *who[5] = {a.name, a.role, a.org, a.org_path, a.addr};
    struct pf_error err = {0};
    struct bulk__job *j;
    int rc;

    if (!api->bulkjob) {
        pfs_api_error(resp, PF_ESTATE, "bulk changes are not available in this posfleetd");
        return;
    }
    if (api->bulkjob->busy) {
        pfs_api_error(resp, PF_ESTATE, "a bulk change is under way; try again when it has ended");
        return;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
        if (who[i] && !(j->who[i] = strdup(who[i]))) {
            bulk__job_free(j);
            pfs_api_error(resp, PF_ENOMEM, "out of memory");
            return;
        }
    }
    j->actor = (struct pfs_actor){j->who[0], j->who[1], j->who[2], j->who[3], j->who[4]};
    j->api = api;
    j->kind = (enum pfs_bulk_kind)call->route->arg;
    j->now_ms = pf_clock_wall_ms(api->clock);
    j->t0 = pfs_api_obs_now();
    j->later = pfs_http_defer(call->req, &j->body, &j->len);
    if (!j->later) {
        bulk__job_free(j);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    rc = pfs_bulkjob_start(api->bulkjob, bulk__work, bulk__done, j, &err);
    if (rc) {
        struct pfs_http_resp r = {0};

        pfs_api_error(&r, rc, "bulk %s: %s", bulk__names[j->kind], err.msg);
        pfs_http_answer(j->later, &r);
        bulk__job_free(j);
    }
}

/* --- swap undo --- */

static int bulk__term_cb(void *ctx, const struct pfs_term_view *v)
{
    json_t **o = ctx;

    *o = pfs_term_view_json(v);
    return *o ? 0 : PF_EIO;
}

void pfs_api_term_swap_undo(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp)
{
    const char *old = call->params.serial;
    struct pfs_actor actor = pfs_api_actor(call);
    char new_serial[PF_SERIAL_MAX + 1] = "", reason[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)] = "";
    struct pf_error err = {0};
    json_t *body = NULL, *ot = NULL, *nt = NULL;
    int64_t rid = 0;
    bool removed = false;
    int rc;

    rc = pf_json_parse_object(call->req->body, call->req->body_len, call->req->body_len + 1, &body,
                              &err);
    if (rc) {
        pfs_api_error(resp, PF_EPARSE, "%s", err.msg);
        return;
    }
    rc = pf_json_str(body, "new", true, 1, PF_SERIAL_MAX, new_serial, &err);
    if (!rc && !pf_serial_valid(new_serial))
        rc = pf_error_set(&err, PF_EINVAL, "new: 1-%d characters of A-Z a-z 0-9 _ -",
                          PF_SERIAL_MAX);
    if (!rc)
        rc = pf_json_text(body, "reason", true, PF_TEXT_REASON_MAX, 0, reason, sizeof(reason),
                          &err);
    json_decref(body);
    if (rc) {
        pfs_api_error(resp, PF_EINVAL, "%s", err.msg);
        return;
    }
    rc = pfs_store_term_swap_undo(api->store, old, new_serial, reason,
                                  api->lifectl ? api->lifectl->swap_hook : NULL,
                                  api->lifectl ? api->lifectl->swap_hook_ctx : NULL, &actor,
                                  pf_clock_wall_ms(api->clock), &rid, &removed, &err);
    if (rc) {
        pfs_api_error(resp, rc, "%s", err.msg);
        return;
    }
    if (api->lifectl && pfs_lifectl_installed_reload(api->lifectl))
        pfs_log_error(api->log, "api: swap undo: lifecycle refresh failed");
    pfs_log_info(api->log, "api: %s (%s) undid the swap of %s for %s (repair %lld %s)", actor.name,
                 actor.role, old, new_serial, (long long)rid, removed ? "removed" : "kept");
    if (api->changed)
        api->changed(api->changed_ctx);
    if (pfs_store_term_view(api->store, old, bulk__term_cb, &ot) ||
        pfs_store_term_view(api->store, new_serial, bulk__term_cb, &nt)) {
        json_decref(ot);
        json_decref(nt);
        pfs_api_error(resp, PF_EIO, "swap undone; reading it back failed");
        return;
    }
    pfs_api_json(resp, 200,
                 json_pack("{s:o, s:o, s:{s:I, s:s}}", "old", ot, "new", nt, "repair", "id",
                           (json_int_t)rid, "outcome", removed ? "removed" : "kept"));
}
