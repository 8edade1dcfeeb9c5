/*
 * commands_lifecycle.c - merchants, bind/unbind/retire, swap, repairs,
 * history and audit for people (docs/cli.md, "Lifecycle").
 *
 * Just over 800 lines because the cards of a merchant, a terminal's lifecycle
 * and a repair print the same records with one set of local-time and
 * text-width helpers; each command itself is short.
 */
#include "commands_lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "cli.h"
#include "render.h"
#include "safe_text.h"
#include "table.h"
#include "pf/text.h"
#include "pf/zone.h"

/* Lists of tags and parts in one option: posfleetd checks each element's
 * own limit (PF_TEXT_TAG_MAX, PF_TEXT_PART_MAX characters). */
#define PFC_TAGS_MAX  (32 * (PF_TEXT_TAG_MAX + 1))
#define PFC_PARTS_MAX (16 * (PF_TEXT_PART_MAX + 1))

/* --- arguments --- */

const struct pfc_opt pfc_merchant_id_pos[] = {
        {.name = "ID", .type = PFC_OPT_STR, .help = "merchant id"},
        {0},
};

const struct pfc_opt pfc_merchant_add_pos[] = {
        {.name = "ID",
         .type = PFC_OPT_STR,
         .body = "id",
         .help = "merchant id (A-Z a-z 0-9 . _ -)"},
        {0},
};

#define MERCHANT_FIELDS(req)                                                                       \
    {.name = "name",                                                                               \
     .type = PFC_OPT_TEXT,                                                                         \
     .max = PF_TEXT_NAME_MAX,                                                                      \
     .metavar = "TEXT",                                                                            \
     .required = req,                                                                              \
     .body = "name",                                                                               \
     .help = "registered name"},                                                                   \
            {.name = "uscc",                                                                       \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "CODE",                                                                    \
             .required = req,                                                                      \
             .body = "uscc",                                                                       \
             .help = "unified social credit code (18 characters)"},                                \
            {.name = "mcc",                                                                        \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "NNNN",                                                                    \
             .required = req,                                                                      \
             .body = "mcc",                                                                        \
             .help = "merchant category code, 4 digits"},                                          \
            {.name = "address",                                                                    \
             .type = PFC_OPT_TEXT,                                                                 \
             .max = PF_TEXT_ADDRESS_MAX,                                                           \
             .metavar = "TEXT",                                                                    \
             .required = req,                                                                      \
             .body = "address",                                                                    \
             .help = "shop address"},                                                              \
            {.name = "contact",                                                                    \
             .type = PFC_OPT_TEXT,                                                                 \
             .max = PF_TEXT_CONTACT_MAX,                                                           \
             .metavar = "NAME",                                                                    \
             .required = req,                                                                      \
             .body = "contact_name",                                                               \
             .help = "contact person"},                                                            \
            {.name = "phone",                                                                      \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "PHONE",                                                                   \
             .required = req,                                                                      \
             .body = "contact_phone",                                                              \
             .help = "contact phone (+, digits, blanks, -)"},                                      \
            {.name = "tz",                                                                         \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "ZONE",                                                                    \
             .required = req,                                                                      \
             .body = "tz",                                                                         \
             .help = "IANA time zone of the maintenance window (Asia/Shanghai)"},                  \
            {.name = "settlement",                                                                 \
             .type = PFC_OPT_ENUM,                                                                 \
             .choices = "T0|T1",                                                                   \
             .required = req,                                                                      \
             .body = "settlement",                                                                 \
             .help = "settlement cycle"},                                                          \
            {.name = "fee-plan",                                                                   \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "ID,ID",                                                                   \
             .body = "fee_plan",                                                                   \
             .help = "fee-table bundle ids or versions, comma-separated (- for none)"},            \
            {.name = "region",                                                                     \
             .type = PFC_OPT_STR,                                                                  \
             .metavar = "REGION",                                                                  \
             .body = "region",                                                                     \
             .help = "region, 32 characters at most (- for none); rollout cohorts filter on it"},  \
    {                                                                                              \
        0                                                                                          \
    }

const struct pfc_opt pfc_merchant_fields[] = {MERCHANT_FIELDS(true)};
const struct pfc_opt pfc_merchant_update_fields[] = {MERCHANT_FIELDS(false)};

const struct pfc_opt pfc_bind_pos[] = {
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .help = "terminal serial"},
        {.name = "MERCHANT", .type = PFC_OPT_STR, .body = "merchant_id", .help = "merchant id"},
        {0},
};

const struct pfc_opt pfc_swap_pos[] = {
        {.name = "OLD", .type = PFC_OPT_SERIAL, .help = "the bound terminal that goes to repair"},
        {.name = "NEW", .type = PFC_OPT_SERIAL, .body = "new", .help = "its replacement, in stock"},
        {0},
};

const struct pfc_opt pfc_tags_opts[] = {
        {.name = "tags",
         .type = PFC_OPT_TEXT,
         .max = PFC_TAGS_MAX,
         .metavar = "T,T",
         .required = true,
         .body = "tags",
         .help = "the terminal's tags, comma-separated (- clears them)"},
        {0},
};

const struct pfc_opt pfc_history_opts[] = {
        {.name = "limit",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 1000,
         .query = "limit",
         .help = "newest events and repairs to show"},
        {0},
};

const struct pfc_opt pfc_repair_id_pos[] = {
        {.name = "ID", .type = PFC_OPT_STR, .help = "repair number"},
        {0},
};

const struct pfc_opt pfc_repair_open_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .body = "reason",
         .help = "what is wrong"},
        {.name = "faults",
         .type = PFC_OPT_STR,
         .metavar = "CODE,CODE",
         .body = "fault_codes",
         .help = "fault codes (docs/support.md)"},
        {0},
};

const struct pfc_opt pfc_repair_list_opts[] = {
        {.name = "serial", .type = PFC_OPT_SERIAL, .query = "serial", .help = "one terminal's"},
        {.name = "state",
         .type = PFC_OPT_ENUM,
         .choices = "open|all|received|diagnosed|repaired|returned_to_stock|scrapped",
         .query = "state",
         .help = "open (default: not closed), all, or one state"},
        {.name = "limit",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 1000,
         .query = "limit",
         .help = "repairs to show"},
        {0},
};

const struct pfc_opt pfc_repair_update_opts[] = {
        {.name = "state",
         .type = PFC_OPT_ENUM,
         .choices = "received|diagnosed|repaired",
         .body = "state",
         .help = "move the repair on"},
        {.name = "faults",
         .type = PFC_OPT_STR,
         .metavar = "CODE,CODE",
         .body = "fault_codes",
         .help = "replace the fault codes"},
        {.name = "parts",
         .type = PFC_OPT_TEXT,
         .max = PFC_PARTS_MAX,
         .metavar = "PART,PART",
         .body = "parts",
         .help = "replace the parts replaced"},
        {.name = "notes",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_NOTES_MAX,
         .metavar = "TEXT",
         .body = "notes",
         .help = "append a technician's note"},
        {0},
};

const struct pfc_opt pfc_repair_close_opts[] = {
        {.name = "outcome",
         .type = PFC_OPT_ENUM,
         .choices = "returned_to_stock|scrapped",
         .required = true,
         .body = "outcome",
         .help = "back in stock (unlocks a locked terminal) or scrapped (retires it)"},
        {.name = "faults",
         .type = PFC_OPT_STR,
         .metavar = "CODE,CODE",
         .body = "fault_codes",
         .help = "replace the fault codes"},
        {.name = "parts",
         .type = PFC_OPT_TEXT,
         .max = PFC_PARTS_MAX,
         .metavar = "PART,PART",
         .body = "parts",
         .help = "replace the parts replaced"},
        {.name = "notes",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_NOTES_MAX,
         .metavar = "TEXT",
         .body = "notes",
         .help = "append a technician's note"},
        {0},
};

/* --- run --- */

static const char *const cmd__list_fields[] = {"fee_plan", "tags", "fault_codes", "parts", NULL};

/* "a, b,c" -> ["a","b","c"]; "-" -> [] (the parser refuses an empty value). */
static json_t *cmd__split(const char *s)
{
    json_t *arr = json_array();

    if (strcmp(s, "-") == 0)
        return arr;

    while (arr && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *p = s;

        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (n && json_array_append_new(arr, json_stringn(p, n))) {
            json_decref(arr);
            return NULL;
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    return arr;
}

int pfc_cmd_lifecycle(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[PFC_URL_MAX];
    json_t *body = NULL, *resp = NULL;
    int rc;

    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)) ||
        (rc = pfc_request_body(a, &body, err)))
        return rc;
    for (int i = 0; body && cmd__list_fields[i]; i++) {
        json_t *v = json_object_get(body, cmd__list_fields[i]), *arr;

        if (!json_is_string(v))
            continue;
        arr = cmd__split(json_string_value(v));
        if (!arr || json_object_set_new(body, cmd__list_fields[i], arr)) {
            json_decref(body);
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        }
    }
    /* --region - clears the region, like "-" for the lists above. */
    if (json_is_string(json_object_get(body, "region")) &&
        !strcmp(json_string_value(json_object_get(body, "region")), "-") &&
        json_object_set_new(body, "region", json_string(""))) {
        json_decref(body);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    if (!body && strcmp(a->cmd->method, "POST") == 0 && !(body = json_object()))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_call(ctx, a->cmd->method, path, body, pfc_args_pos(a, "SERIAL"), &resp, err);
    json_decref(body);
    if (!rc)
        rc = pfc_emit(ctx, a, a->cmd->render, resp, err);
    json_decref(resp);
    return rc;
}

/* --- rendering --- */

/* A field as clean text: strings as they are, numbers, booleans, lists joined; "-" if absent. */
static void lr__text(json_t *o, const char *key, char *buf, size_t len)
{
    json_t *v = key ? json_object_get(o, key) : o;
    char raw[1024] = "";

    if (!v || json_is_null(v)) {
        snprintf(buf, len, "-");
        return;
    }
    if (json_is_string(v)) {
        snprintf(raw, sizeof(raw), "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(raw, sizeof(raw), "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(raw, sizeof(raw), "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_array(v)) {
        size_t i, n = 0;
        json_t *e;

        json_array_foreach(v, i, e)
        {
            if (json_is_string(e) && n < sizeof(raw))
                n += (size_t)snprintf(raw + n, sizeof(raw) - n, "%s%s", i ? "," : "",
                                      json_string_value(e));
        }
        if (!json_array_size(v))
            snprintf(raw, sizeof(raw), "-");
    } else {
        char *d = json_dumps(v, JSON_COMPACT);

        snprintf(raw, sizeof(raw), "%s", d ? d : "?");
        free(d);
    }
    pfc_text_clean(raw, buf, len);
    if (!buf[0] && len > 1)
        snprintf(buf, len, "-"); /* no empty cells, no trailing blanks */
}

static void lr__kv(FILE *out, const char *label, json_t *o, const char *key)
{
    char v[1024];

    lr__text(o, key, v, sizeof(v));
    fprintf(out, "%-14s %s\n", label, v);
}

/*
 * The merchant's or terminal's IANA zone with its offset and local time now,
 * which is what support needs when a merchant calls ("Asia/Urumqi, UTC+06:00,
 * 14:05 there now"); the name alone when the zone is not installed here.
 */
static void lr__zone(FILE *out, json_t *o, int64_t now_ms)
{
    const char *tz = json_string_value(json_object_get(o, "tz"));
    char name[PF_ZONE_NAME_MAX + 1];
    int32_t off;
    int64_t local;

    if (!tz || !*tz || !pf_zone_name_valid(tz) ||
        pf_zone_offset_at(NULL, tz, now_ms / 1000, &off, NULL)) {
        lr__kv(out, "time zone", o, "tz");
        return;
    }
    snprintf(name, sizeof(name), "%s", tz);
    local = now_ms / 1000 + off;
    fprintf(out, "%-14s %s, UTC%c%02d:%02d, %02d:%02d there now\n", "time zone", name,
            off < 0 ? '-' : '+', (int)((off < 0 ? -off : off) / 3600),
            (int)((off < 0 ? -off : off) % 3600 / 60), (int)(local % 86400 / 3600),
            (int)(local % 3600 / 60));
}

static void lr__time(FILE *out, const char *label, json_t *o, const char *key, int64_t now_ms)
{
    json_t *v = json_object_get(o, key);
    char rel[32], utc[40];

    if (!json_is_integer(v)) {
        fprintf(out, "%-14s -\n", label);
        return;
    }
    pfc_reltime(now_ms, json_integer_value(v), rel, sizeof(rel));
    pfc_showtime(json_integer_value(v), utc, sizeof(utc));
    fprintf(out, "%-14s %s (%s)\n", label, rel, utc);
}

static const struct pfc_col lr__terminals_cols[] = {
        {"SERIAL", 0, 'l', "serial", NULL}, {"MODEL", 0, 'l', "model", NULL},
        {"STATE", 0, 'l', "state", NULL},   {"BOUND", 0, 'l', "bound_ms", pfc_cell_ago},
        {"LOCKED", 0, 'l', "locked", NULL}, {NULL},
};

static const struct pfc_col lr__merchants_cols[] = {
        {"ID", 0, 'l', "id", NULL},
        {"STATUS", 0, 'l', "status", NULL},
        {"NAME", 0, 'l', "name", NULL},
        {"MCC", 0, 'l', "mcc", NULL},
        {"TZ", 0, 'l', "tz", NULL},
        {"SETTLE", 0, 'l', "settlement", NULL},
        {"FEE-PLAN", 0, 'l', "fee_plan", NULL},
        {NULL},
};

static const struct pfc_col lr__repairs_cols[] = {
        {"ID", 0, 'r', "id", NULL},
        {"SERIAL", 0, 'l', "serial", NULL},
        {"STATE", 0, 'l', "state", NULL},
        {"SOURCE", 0, 'l', "source", NULL},
        {"OPENED", 0, 'l', "opened_ms", pfc_cell_ago},
        {"FAULTS", 0, 'l', "fault_codes", NULL},
        {"REASON", 0, 'l', "reason", NULL},
        {NULL},
};

static const struct pfc_col lr__events_cols[] = {
        {"WHEN", 0, 'l', "ts_ms", pfc_cell_time},
        {"EVENT", 0, 'l', "kind", NULL},
        {"FROM", 0, 'l', "from", NULL},
        {"TO", 0, 'l', "to", NULL},
        {"MERCHANT", 0, 'l', "merchant_id", NULL},
        {"OTHER", 0, 'l', "other", NULL},
        {"REPAIR", 0, 'l', "repair_id", NULL},
        {"BY", 0, 'l', "actor", NULL},
        {"DETAIL", 0, 'l', "detail", NULL},
        {NULL},
};

static const struct pfc_col lr__audit_cols[] = {
        {"ID", 0, 'r', "id", NULL},
        {"WHEN", 0, 'l', "ts_ms", pfc_cell_time},
        {"WHO", 0, 'l', "actor", NULL},
        {"ROLE", 0, 'l', "role", NULL},
        {"ORG", 0, 'l', "org", NULL},
        {"FROM", 0, 'l', "addr", NULL},
        {"ACTION", 0, 'l', "action", NULL},
        {"TARGET", 0, 'l', "target", NULL},
        {NULL},
};

int pfc_render_merchant(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err)
{
    json_t *terms = json_object_get(resp, "terminals");

    (void)a;
    if (!json_is_string(json_object_get(resp, "id")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no merchant \"id\"");
    lr__kv(out, "merchant", resp, "id");
    lr__kv(out, "name", resp, "name");
    lr__kv(out, "status", resp, "status");
    if (json_is_string(json_object_get(resp, "review_reason")))
        lr__kv(out, "review", resp, "review_reason");
    lr__kv(out, "credit code", resp, "uscc");
    lr__kv(out, "MCC", resp, "mcc");
    lr__kv(out, "address", resp, "address");
    lr__kv(out, "contact", resp, "contact_name");
    lr__kv(out, "phone", resp, "contact_phone");
    lr__zone(out, resp, now_ms);
    lr__kv(out, "region", resp, "region");
    lr__kv(out, "settlement", resp, "settlement");
    lr__kv(out, "fee plan", resp, "fee_plan");
    lr__time(out, "applied", resp, "created_ms", now_ms);
    lr__time(out, "updated", resp, "updated_ms", now_ms);
    if (json_is_array(terms)) {
        fprintf(out, "\nterminals: %zu\n", json_array_size(terms));
        if (!json_array_size(terms))
            return 0;
        return pfc_table_render(out, "", lr__terminals_cols, terms, NULL, now_ms, err);
    }
    return 0;
}

int pfc_render_merchants(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err)
{
    json_t *list = json_object_get(resp, "merchants");
    int rc;

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"merchants\" list");
    if (!json_array_size(list)) {
        fprintf(out, "no merchants\n");
        return 0;
    }
    rc = pfc_table_render(out, "", lr__merchants_cols, list, NULL, now_ms, err);
    if (!rc && json_is_string(json_object_get(resp, "next")))
        fprintf(out, "more after %s: use --after\n",
                json_string_value(json_object_get(resp, "next")));
    return rc;
}

/*
 * The provisioning intent a swap leaves on its new terminal, for people:
 * "swap from OLD 5m ago (2027-01-15 07:55:00 UTC), fee plan a,b".
 */
static void lr__provision(FILE *out, json_t *p, int64_t now_ms)
{
    char why[32], from[80], fees[256], rel[32], utc[40];
    json_t *since = json_object_get(p, "since_ms");
    int64_t ms = json_is_integer(since) ? json_integer_value(since) : 0;

    if (!json_is_object(p))
        return;
    lr__text(p, "reason", why, sizeof(why));
    lr__text(p, "from", from, sizeof(from));
    lr__text(p, "fee_plan", fees, sizeof(fees));
    pfc_reltime(now_ms, ms, rel, sizeof(rel));
    pfc_showtime(ms, utc, sizeof(utc));
    fprintf(out, "%-14s %s from %s %s (%s), fee plan %s\n", "provisioning", why, from, rel, utc,
            fees);
}

int pfc_render_terminal(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err)
{
    json_t *lock = json_object_get(resp, "lock");

    (void)a;
    if (!json_is_string(json_object_get(resp, "state")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no terminal \"state\"");
    lr__kv(out, "terminal", resp, "serial");
    lr__kv(out, "model", resp, "model");
    lr__kv(out, "state", resp, "state");
    lr__kv(out, "merchant", resp, "merchant_id");
    lr__time(out, "bound", resp, "bound_ms", now_ms);
    lr__kv(out, "fee plan", resp, "fee_plan");
    lr__zone(out, resp, now_ms);
    lr__kv(out, "tags", resp, "tags");
    lr__kv(out, "locked", resp, "locked");
    if (json_is_object(lock)) {
        char id[80], act[16], ack[8];

        lr__text(lock, "command", id, sizeof(id));
        lr__text(lock, "action", act, sizeof(act));
        lr__text(lock, "acknowledged", ack, sizeof(ack));
        fprintf(out, "%-14s %s %s, %s\n", "lock command", act, id,
                strcmp(ack, "yes") == 0 ? "confirmed by the terminal" : "waiting for the terminal");
    }
    lr__kv(out, "open repair", resp, "repair_id");
    lr__provision(out, json_object_get(resp, "provision"), now_ms);
    return 0;
}

int pfc_render_swap(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err)
{
    json_t *o = json_object_get(resp, "old"), *n = json_object_get(resp, "new");
    json_t *r = json_object_get(resp, "repair");
    char os[64], ns[64], m[80], rid[32];

    (void)a;
    (void)now_ms;
    if (!json_is_object(o) || !json_is_object(n) || !json_is_object(r))
        return pf_error_set(err, PF_ESCHEMA, "answer lacks \"old\", \"new\" or \"repair\"");
    lr__text(o, "serial", os, sizeof(os));
    lr__text(n, "serial", ns, sizeof(ns));
    lr__text(n, "merchant_id", m, sizeof(m));
    lr__text(r, "id", rid, sizeof(rid));
    fprintf(out, "swapped %s for %s at merchant %s\n", os, ns, m);
    fprintf(out,
            "%s is installed; at its first connection it gets the fleet's firmware and"
            " the merchant's fee plan\n",
            ns);
    fprintf(out, "%s is in repair: repair %s\n", os, rid);
    return 0;
}

/*
 * The diagnostics the repair kept of its terminal when it opened (newest
 * first): what ran, how it ended, when, and where to read the answer.
 */
static void lr__diagnostics(FILE *out, json_t *diags)
{
    size_t i;
    json_t *e;

    if (!json_is_array(diags) || !json_array_size(diags)) {
        fprintf(out, "  diagnostics: none\n");
        return;
    }
    json_array_foreach(diags, i, e)
    {
        char id[80], cmd[40], st[24], code[40], when[40];
        json_t *ms = json_object_get(e, "answered_ms");

        lr__text(e, "id", id, sizeof(id));
        lr__text(e, "command", cmd, sizeof(cmd));
        lr__text(e, "status", st, sizeof(st));
        lr__text(e, "code", code, sizeof(code));
        pfc_showtime(json_is_integer(ms) ? json_integer_value(ms) : 0, when, sizeof(when));
        fprintf(out, "  diagnostic: %s %s%s%s%s, answered %s (posfleet diag show %s)\n", cmd, st,
                strcmp(code, "-") ? " (" : "", strcmp(code, "-") ? code : "",
                strcmp(code, "-") ? ")" : "", when, id);
    }
}

/* Repair notes, however long, one line of the notes per line, each cleaned. */
static void lr__notes(FILE *out, const char *notes)
{
    if (!notes || !*notes)
        return;
    fprintf(out, "\nnotes:\n");
    while (*notes) {
        const char *nl = strchr(notes, '\n');
        size_t n = nl ? (size_t)(nl - notes) : strlen(notes);
        char *line = strndup(notes, n);

        fputs("  ", out);
        pfc_safe_fputs(line ? line : "?", out);
        fputc('\n', out);
        free(line);
        notes += n + (nl ? 1 : 0);
    }
}

int pfc_render_repair(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err)
{
    json_t *snap = json_object_get(resp, "snapshot");

    (void)a;
    if (!json_is_integer(json_object_get(resp, "id")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no repair \"id\"");
    lr__kv(out, "repair", resp, "id");
    lr__kv(out, "terminal", resp, "serial");
    lr__kv(out, "state", resp, "state");
    lr__kv(out, "opened by", resp, "source");
    lr__kv(out, "reason", resp, "reason");
    lr__kv(out, "merchant", resp, "merchant_id");
    lr__kv(out, "replaced by", resp, "replaced_by");
    lr__kv(out, "fault codes", resp, "fault_codes");
    lr__kv(out, "parts", resp, "parts");
    lr__time(out, "opened", resp, "opened_ms", now_ms);
    lr__time(out, "received", resp, "received_ms", now_ms);
    lr__time(out, "diagnosed", resp, "diagnosed_ms", now_ms);
    lr__time(out, "repaired", resp, "repaired_ms", now_ms);
    lr__time(out, "closed", resp, "closed_ms", now_ms);
    if (json_is_object(snap)) {
        json_t *h = json_object_get(snap, "health"), *al = json_object_get(snap, "alerts");

        fprintf(out, "\nat opening:\n");
        if (json_is_object(h)) {
            char b[16], fw[40], t[8], p[16];

            lr__text(h, "battery_pct", b, sizeof(b));
            lr__text(h, "fw_version", fw, sizeof(fw));
            lr__text(h, "tamper", t, sizeof(t));
            lr__text(h, "paper", p, sizeof(p));
            fprintf(out, "  last health: battery %s%%, firmware %s, paper %s, tamper %s\n", b, fw,
                    p, t);
        } else {
            fprintf(out, "  last health: none\n");
        }
        if (json_is_array(al) && json_array_size(al)) {
            size_t i;
            json_t *e;

            json_array_foreach(al, i, e)
            {
                char k[40], d[200];

                lr__text(e, "kind", k, sizeof(k));
                lr__text(e, "detail", d, sizeof(d));
                fprintf(out, "  alert: %s (%s)\n", k, d);
            }
        } else {
            fprintf(out, "  alerts: none\n");
        }
        lr__diagnostics(out, json_object_get(snap, "diagnostics"));
    }
    lr__notes(out, json_string_value(json_object_get(resp, "notes")));
    return 0;
}

int pfc_render_repairs(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    json_t *list = json_object_get(resp, "repairs");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"repairs\" list");
    if (!json_array_size(list)) {
        fprintf(out, "no repairs\n");
        return 0;
    }
    return pfc_table_render(out, "", lr__repairs_cols, list, NULL, now_ms, err);
}

int pfc_render_history(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    json_t *term = json_object_get(resp, "terminal"), *events = json_object_get(resp, "events");
    json_t *repairs = json_object_get(resp, "repairs"), *e;
    size_t i;
    int rc = 0;

    if (!json_is_object(term) || !json_is_array(events))
        return pf_error_set(err, PF_ESCHEMA, "answer lacks \"terminal\" or \"events\"");
    rc = pfc_render_terminal(out, now_ms, a, term, err);
    if (rc)
        return rc;
    fprintf(out, "\nhistory (oldest first):\n");
    if (!json_array_size(events)) {
        fprintf(out, "  none\n");
    } else {
        rc = pfc_table_render(out, "", lr__events_cols, events, NULL, now_ms, err);
        if (rc)
            return rc;
    }
    if (json_is_array(repairs) && json_array_size(repairs)) {
        fprintf(out, "\nrepairs:\n");
        rc = pfc_render_repairs(out, now_ms, a, resp, err);
    }
    if (!rc && json_is_array(json_object_get(resp, "updates")) &&
        json_array_size(json_object_get(resp, "updates"))) {
        fprintf(out, "\nupdates:\n");
        json_array_foreach(json_object_get(resp, "updates"), i, e)
        {
            char when[40], st[32], kind[16], ver[40], code[64];

            pfc_showtime(json_integer_value(json_object_get(e, "ts_ms")), when, sizeof(when));
            lr__text(e, "status", st, sizeof(st));
            lr__text(e, "kind", kind, sizeof(kind));
            lr__text(e, "version", ver, sizeof(ver));
            lr__text(e, "code", code, sizeof(code));
            fprintf(out, "  %s  %s %s  %s%s%s\n", when, kind, ver, st, strcmp(code, "-") ? " " : "",
                    strcmp(code, "-") ? code : "");
        }
    }
    return rc;
}

int pfc_render_audit(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err)
{
    json_t *list = json_object_get(resp, "audit");
    int rc;

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"audit\" list");
    if (!json_array_size(list)) {
        fprintf(out, "no audit rows\n");
        return 0;
    }
    rc = pfc_table_render(out, "", lr__audit_cols, list, NULL, now_ms, err);
    if (!rc && json_is_integer(json_object_get(resp, "next")))
        fprintf(out, "older rows: --before %lld\n",
                (long long)json_integer_value(json_object_get(resp, "next")));
    return rc;
}
