/*
 * bundles.c - posfleet's update commands (bundles.h).
 */
#include "bundles.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pf/fileio.h"
#include "render.h"
#include "table.h"

#define BUNDLES_FILE_MAX   (1024u * 1024u * 1024u)
#define BUNDLES_TIMEOUT_MS (10 * 60 * 1000)

static const char *bundles__str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "-";
}

static int64_t bundles__int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void bundles__join(json_t *arr, char *buf, size_t len)
{
    size_t off = 0, i;
    json_t *v;

    snprintf(buf, len, "any");
    json_array_foreach(arr, i, v)
    {
        int n;

        if (!json_is_string(v))
            continue;
        n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", json_string_value(v));
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
}

static void bundles__size(int64_t n, char *buf, size_t len)
{
    if (n >= 10 * 1024 * 1024)
        snprintf(buf, len, "%" PRId64 " MiB", n / (1024 * 1024));
    else if (n >= 10 * 1024)
        snprintf(buf, len, "%" PRId64 " KiB", n / 1024);
    else
        snprintf(buf, len, "%" PRId64 " B", n);
}

int pfc_cmd_bundle_upload(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    const char *file = pfc_args_pos(a, "FILE");
    json_t *resp = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc;

    rc = pf_file_read(file, BUNDLES_FILE_MAX, &data, &len);
    if (rc)
        return pf_error_set(err, rc == PF_ENOENT ? PF_EINVAL : rc, "%s: %s", file, pf_strerror(rc));
    if (!pfc_args_get(a, "timeout"))
        pfc_http_set_timeout(ctx->http, BUNDLES_TIMEOUT_MS);
    rc = pfc_call_raw(ctx, "POST", "/v1/bundles", "application/octet-stream", data, len, NULL,
                      &resp, err);
    free(data);
    if (rc)
        return pf_error_prefix(err, "%s", file);
    if (ctx->json) {
        rc = pfc_emit(ctx, a, NULL, resp, err);
    } else {
        char kind[32], ver[96], id[96];

        pfc_text_clean(bundles__str(resp, "kind"), kind, sizeof(kind));
        pfc_text_clean(bundles__str(resp, "version"), ver, sizeof(ver));
        pfc_text_clean(bundles__str(resp, "id"), id, sizeof(id));
        fprintf(ctx->io->out, "%s %s %s\n%s\n",
                json_is_true(json_object_get(resp, "created")) ? "stored" : "already stored", kind,
                ver, id);
    }
    json_decref(resp);
    return rc;
}

static void bundles__cell_models(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                 char *buf, size_t len)
{
    (void)cx;
    bundles__join(json_object_get(row, key), buf, len);
}

static void bundles__cell_size(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                               char *buf, size_t len)
{
    (void)cx;
    bundles__size(bundles__int(row, key), buf, len);
}

static const struct pfc_col bundles__cols[] = {
        {"ID", 0, 'l', "id", NULL},
        {"KIND", 0, 'l', "kind", NULL},
        {"VERSION", 0, 'l', "version", NULL},
        {"MODELS", 0, 'l', "models", bundles__cell_models},
        {"SIZE", 0, 'r', "size", bundles__cell_size},
        {"UPLOADED", 0, 'l', "uploaded_ms", pfc_cell_ago},
        {NULL},
};

int pfc_render_bundles(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    json_t *list = json_object_get(resp, "bundles");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"bundles\"");
    if (json_array_size(list) == 0) {
        fprintf(out, "no bundles stored\n");
        return 0;
    }
    return pfc_table_render(out, "", bundles__cols, list, NULL, now_ms, err);
}

int pfc_render_offer(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err)
{
    char offer[96], serial[96], deadline[48];

    (void)now_ms;
    (void)a;
    if (!json_is_string(json_object_get(resp, "offer")))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"offer\"");
    pfc_text_clean(bundles__str(resp, "offer"), offer, sizeof(offer));
    pfc_text_clean(bundles__str(resp, "serial"), serial, sizeof(serial));
    pfc_showtime(bundles__int(resp, "deadline_ms"), deadline, sizeof(deadline));
    fprintf(out, "offered to %s as %s (deadline %s)\n", serial, offer, deadline);
    return 0;
}

/* "downloading 50%", "deferred: busy", "failed: DIGEST". */
static void bundles__status(json_t *u, char *buf, size_t len)
{
    const char *st = bundles__str(u, "status");
    int64_t pct = bundles__int(u, "percent");

    if (pct >= 0 && !strcmp(st, "downloading"))
        snprintf(buf, len, "%s %" PRId64 "%%", st, pct);
    else if (json_is_string(json_object_get(u, "code")))
        snprintf(buf, len, "%s: %s", st, bundles__str(u, "code"));
    else if (json_is_string(json_object_get(u, "reason")))
        snprintf(buf, len, "%s: %s", st, bundles__str(u, "reason"));
    else
        snprintf(buf, len, "%s", st);
}

static void bundles__cell_status(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                 char *buf, size_t len)
{
    (void)key;
    (void)cx;
    bundles__status(row, buf, len);
}

static const struct pfc_col bundles__history_cols[] = {
        {"WHEN", 0, 'l', "recv_ms", pfc_cell_time},
        {"OFFER", 0, 'l', "offer", NULL},
        {"KIND", 0, 'l', "kind", NULL},
        {"VERSION", 0, 'l', "version", NULL},
        {"STATUS", 0, 'l', "status", bundles__cell_status},
        {NULL},
};

int pfc_render_device_updates(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                              struct pf_error *err)
{
    json_t *cur = json_object_get(resp, "update"), *hist = json_object_get(resp, "updates");
    char status[160], line[512], v[1024];
    int rc = pfc_render_device(out, now_ms, a, resp, err);

    if (rc)
        return rc;
    fprintf(out, "\nupdate\n");
    if (!json_is_object(cur)) {
        fprintf(out, "  none offered\n");
        return 0;
    }
    bundles__status(cur, status, sizeof(status));
    snprintf(line, sizeof(line), "%s %s (%s)", bundles__str(cur, "kind"),
             bundles__str(cur, "version"), status);
    pfc_text_clean(line, v, sizeof(v));
    fprintf(out, "  %-14s %s\n", "current", v);
    pfc_text_clean(bundles__str(cur, "offer"), v, sizeof(v));
    fprintf(out, "  %-14s %s\n", "offer", v);
    fprintf(out, "\nupdate history (newest first)\n");
    if (!json_is_array(hist) || json_array_size(hist) == 0) {
        fprintf(out, "  none reported\n");
        return 0;
    }
    return pfc_table_render(out, "  ", bundles__history_cols, hist, NULL, now_ms, err);
}
