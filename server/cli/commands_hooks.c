/*
 * commands_hooks.c - the webhook tables.
 */
#include "commands_hooks.h"

#include <stdio.h>
#include <string.h>

#include "table.h"

const struct pfc_opt pfc_hook_log_opts[] = {
        {.name = "hook",
         .type = PFC_OPT_STR,
         .metavar = "NAME",
         .query = "hook",
         .help = "only this hook's deliveries"},
        {.name = "limit",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 1000,
         .query = "limit",
         .help = "deliveries per page (newest first; default 100)"},
        {.name = "before",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = INT64_MAX,
         .query = "before",
         .help = "the page after: deliveries older than this id (the 'next' of a page)"},
        {0},
};

static void hooks__cell_events(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                               char *buf, size_t len)
{
    json_t *arr = json_object_get(row, key), *v;
    size_t i, n = 0;

    (void)cx;
    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        int w;

        if (!s)
            continue;
        w = snprintf(buf + n, len - n, "%s%s", n ? "," : "", s);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}

static const struct pfc_col hooks__cols[] = {
        {"NAME", 0, 'l', "name", NULL},
        {"RECEIVER", 0, 'l', "origin", NULL},
        {"PENDING", 0, 'r', "pending", NULL},
        {"DELIVERED", 0, 'r', "delivered", NULL},
        {"FAILED", 0, 'r', "failed", NULL},
        {"EVENTS", 0, 'l', "events", hooks__cell_events},
        {NULL},
};

int pfc_render_hooks(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err)
{
    json_t *list = json_object_get(resp, "hooks");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"hooks\"");
    if (json_array_size(list) == 0) {
        fprintf(out, "no webhooks configured\n");
        return 0;
    }
    return pfc_table_render(out, "", hooks__cols, list, NULL, now_ms, err);
}

static void hooks__cell_result(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                               char *buf, size_t len)
{
    json_int_t status = json_integer_value(json_object_get(row, "last_status"));
    const char *error = json_string_value(json_object_get(row, "last_error"));

    (void)key;
    (void)cx;
    if (error && error[0])
        snprintf(buf, len, "%s", error);
    else if (status)
        snprintf(buf, len, "%lld", (long long)status);
    else
        buf[0] = '\0';
}

static const struct pfc_col hooks__log_cols[] = {
        {"ID", 0, 'r', "id", NULL},
        {"HOOK", 0, 'l', "hook", NULL},
        {"EVENT", 0, 'l', "kind", NULL},
        {"SUBJECT", 0, 'l', "subject", NULL},
        {"STATE", 0, 'l', "state", NULL},
        {"TRIES", 0, 'r', "attempts", NULL},
        {"CREATED", 0, 'l', "created_ms", pfc_cell_ago},
        {"EVENT ID", 0, 'l', "event", NULL},
        {"LAST RESULT", 0, 'l', "last_status", hooks__cell_result},
        {NULL},
};

int pfc_render_hook_log(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err)
{
    json_t *list = json_object_get(resp, "deliveries"), *next = json_object_get(resp, "next");
    int rc;

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"deliveries\"");
    if (json_array_size(list) == 0) {
        fprintf(out, "no deliveries\n");
        return 0;
    }
    rc = pfc_table_render(out, "", hooks__log_cols, list, NULL, now_ms, err);
    if (!rc && json_is_integer(next))
        fprintf(out, "more: --before %lld\n", (long long)json_integer_value(next));
    return rc;
}
