/*
 * render.c - human output for the API's answers.
 */
#include "render.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "apierr.h"
#include "table.h"

/* Names of the self-test components, for answers that send them as an array. */
static const char *const render__components[] = {
        "power", "network", "screen", "printer", "card_reader", "secure_element", NULL};

static bool render__int(json_t *obj, const char *paths, int64_t *out)
{
    json_t *v = pfc_json_find(obj, paths);

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

static bool render__true(json_t *obj, const char *paths)
{
    return json_is_true(pfc_json_find(obj, paths));
}

static void render__get(json_t *obj, const char *paths, char *buf, size_t len)
{
    pfc_json_text(pfc_json_find(obj, paths), buf, len);
}

static void render__battery(json_t *o, char *buf, size_t len)
{
    int64_t pct;

    if (!render__int(o, "battery_pct|power.battery_pct", &pct)) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%" PRId64 "%%%s", pct,
             render__true(o, "charging|power.charging") ? " chg" : "");
}

static void render__signal(json_t *o, char *buf, size_t len)
{
    char net[32];
    int64_t dbm;

    render__get(o, "net_type|net.type", net, sizeof(net));
    if (!render__int(o, "signal_dbm|net.signal_dbm", &dbm)) {
        snprintf(buf, len, "%s", net);
        return;
    }
    if (!strcmp(net, "-"))
        snprintf(buf, len, "%" PRId64 " dBm", dbm);
    else
        snprintf(buf, len, "%" PRId64 " dBm %s", dbm, net);
}

/*
 * online, offline, never or revoked. posfleetd's "status" is the registration
 * state (registered, revoked); connection comes from "online" and
 * "last_seen_ms". A status that already is a connection word is kept.
 */
static void render__status(json_t *o, char *buf, size_t len)
{
    static const char *const words[] = {"online", "offline", "never", "revoked"};
    const char *st = json_string_value(pfc_json_find(o, "status"));
    int64_t seen = 0;

    for (size_t i = 0; st && i < sizeof(words) / sizeof(words[0]); i++) {
        if (!strcmp(st, words[i])) {
            snprintf(buf, len, "%s", st);
            return;
        }
    }
    if (!render__int(o, "last_seen_ms", &seen) || seen <= 0)
        snprintf(buf, len, "never");
    else if (json_is_boolean(pfc_json_find(o, "online")))
        snprintf(buf, len, "%s", render__true(o, "online") ? "online" : "offline");
    else if (st)
        pfc_text_clean(st, buf, len);
    else
        snprintf(buf, len, "-");
}

/* Getters of the columns below: the helpers above, as cells. */
static void render__cell_status(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                char *buf, size_t len)
{
    (void)key;
    (void)cx;
    render__status(row, buf, len);
}

static void render__cell_battery(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                 char *buf, size_t len)
{
    (void)key;
    (void)cx;
    render__battery(row, buf, len);
}

static void render__cell_signal(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                char *buf, size_t len)
{
    (void)key;
    (void)cx;
    render__signal(row, buf, len);
}

static const struct pfc_col render__devices_cols[] = {
        {"SERIAL", 0, 'l', "serial", NULL},
        {"MODEL", 0, 'l', "model", NULL},
        {"FW", 0, 'l', "fw_version|fw.version", NULL},
        {"SLOT", 0, 'l', "fw_slot|fw.slot", NULL},
        {"FEE", 0, 'l', "fee_version", NULL},
        {"STATUS", 0, 'l', NULL, render__cell_status},
        {"LAST-SEEN", 0, 'r', "last_seen_ms", pfc_cell_ago},
        {"BATTERY", 0, 'r', NULL, render__cell_battery},
        {"PAPER", 0, 'l', "paper", NULL},
        {"SIGNAL", 0, 'r', NULL, render__cell_signal},
        {"ALERTS", 0, 'l', "alerts", NULL},
        {NULL},
};

int pfc_render_devices(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    json_t *devs = json_object_get(resp, "devices");

    (void)a;
    if (!json_is_array(devs))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"devices\" list");
    if (json_array_size(devs) == 0) {
        fprintf(out, "no terminals\n");
        return 0;
    }
    return pfc_table_render(out, NULL, render__devices_cols, devs, NULL, now_ms, err);
}

#define RENDER_LABEL_W 14

/* "  label         value" with the value cleaned; labels padded to width. */
static void render__kv_w(FILE *out, int width, const char *label, const char *value)
{
    char clean[256];

    pfc_text_clean(value, clean, sizeof(clean));
    fprintf(out, "  %-*s %s\n", width, label, clean[0] ? clean : "-");
}

static void render__kv(FILE *out, const char *label, const char *value)
{
    render__kv_w(out, RENDER_LABEL_W, label, value);
}

static void render__kv_json(FILE *out, const char *label, json_t *obj, const char *paths)
{
    char v[256];

    render__get(obj, paths, v, sizeof(v));
    render__kv(out, label, v);
}

struct render__members_opts {
    bool skip_zero;          /* leave out members whose value is 0 */
    const char *const *skip; /* top-level keys shown elsewhere, NULL-terminated */
};

static bool render__skipped(const struct render__members_opts *o, const char *prefix,
                            const char *key, json_t *v)
{
    if (o && o->skip_zero && json_is_integer(v) && json_integer_value(v) == 0)
        return true;
    for (size_t i = 0; !prefix && o && o->skip && o->skip[i]; i++) {
        if (!strcmp(o->skip[i], key))
            return true;
    }
    return false;
}

/*
 * Walks an object's members (one level of nesting flattened to "a.b"):
 * measures the widest label into *maxw when out is NULL, prints otherwise.
 * Returns how many members it took.
 */
static size_t render__walk(FILE *out, int width, json_t *obj, const char *prefix,
                           const struct render__members_opts *o, int *maxw)
{
    const char *key;
    size_t n = 0;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        char label[96], clean[64], text[256];

        if (render__skipped(o, prefix, key, v))
            continue;
        pfc_text_clean(key, clean, sizeof(clean));
        snprintf(label, sizeof(label), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", clean);
        if (json_is_object(v) && !prefix) {
            n += render__walk(out, width, v, label, o, maxw);
            continue;
        }
        n++;
        if ((int)strlen(label) > *maxw)
            *maxw = (int)strlen(label);
        if (!out)
            continue;
        pfc_json_text(v, text, sizeof(text));
        render__kv_w(out, width, label, text);
    }
    return n;
}

/* Prints an object's members as aligned key/value lines; returns how many. */
static size_t render__members(FILE *out, json_t *obj, const struct render__members_opts *o)
{
    int w = RENDER_LABEL_W;

    if (!json_is_object(obj))
        return 0;
    render__walk(NULL, 0, obj, NULL, o, &w);
    return render__walk(out, w, obj, NULL, o, &w);
}

/* "45s", "12m05s", "3h07m", "2d04h". */
static void render__duration(int64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

static void render__selftest(FILE *out, json_t *st)
{
    if (json_is_object(st) && json_object_size(st)) {
        (void)render__members(out, st, NULL);
    } else if (json_is_array(st) && json_array_size(st)) {
        size_t i;
        json_t *v;

        json_array_foreach(st, i, v)
        {
            char text[64], label[32];

            if (i < sizeof(render__components) / sizeof(render__components[0]) - 1)
                snprintf(label, sizeof(label), "%s", render__components[i]);
            else
                snprintf(label, sizeof(label), "component %zu", i);
            pfc_json_text(v, text, sizeof(text));
            render__kv(out, label, text);
        }
    } else {
        fprintf(out, "  not reported\n");
    }
}

/* "pass" when nothing failed, else "fail:printer,screen". */
static void render__selftest_brief(json_t *st, char *buf, size_t len)
{
    size_t off = 0;
    const char *key;
    json_t *v;

    if (!json_is_object(st)) {
        snprintf(buf, len, "-");
        return;
    }
    buf[0] = '\0';
    json_object_foreach(st, key, v)
    {
        const char *s = json_string_value(v);
        char clean[32];

        if (!s || strcmp(s, "fail"))
            continue;
        pfc_text_clean(key, clean, sizeof(clean));
        if (off < len)
            off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "fail:", clean);
    }
    if (!buf[0])
        snprintf(buf, len, "pass");
}

/* An alert is an object, or only its kind (the device list's "alerts"). */
static void render__cell_alert_kind(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                    char *buf, size_t len)
{
    (void)cx;
    pfc_json_text(json_is_string(row) ? row : pfc_json_find(row, key), buf, len);
}

static void render__cell_alert_opened(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                      char *buf, size_t len)
{
    if (json_is_string(row))
        snprintf(buf, len, "-");
    else
        pfc_cell_ago(row, key, cx, buf, len);
}

/* The alerts table; a device's card leaves out SERIAL (the first column). */
static const struct pfc_col render__alerts_cols[] = {
        {"SERIAL", 0, 'l', "serial", NULL},
        {"KIND", 0, 'l', "kind", render__cell_alert_kind},
        {"OPENED", 0, 'l', "opened_ms", render__cell_alert_opened},
        {"DETAIL", 0, 'l', "detail", NULL},
        {NULL},
};

static void render__cell_temp(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                              char *buf, size_t len)
{
    int64_t temp;

    (void)cx;
    if (render__int(row, key, &temp))
        snprintf(buf, len, "%" PRId64 " C", temp);
    else
        snprintf(buf, len, "-");
}

static void render__cell_selftest(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                  char *buf, size_t len)
{
    (void)cx;
    render__selftest_brief(pfc_json_find(row, key), buf, len);
}

static const struct pfc_col render__health_cols[] = {
        {"WHEN", 0, 'l', "ts_ms|ts", pfc_cell_ago},
        {"SEQ", 0, 'r', "seq", NULL},
        {"BATTERY", 0, 'r', NULL, render__cell_battery},
        {"SIGNAL", 0, 'r', NULL, render__cell_signal},
        {"TEMP", 0, 'r', "temp_c", render__cell_temp},
        {"PAPER", 0, 'l', "paper", NULL},
        {"FW", 0, 'l', "fw_version|fw.version", NULL},
        {"SELFTEST", 0, 'l', "selftest", render__cell_selftest},
        {"TXNS", 0, 'r', "txn_count|txn.count", NULL},
        {NULL},
};

/* How far ahead ms is: "in 45s", "in 12m", "in 5h", "in 3d"; "due" once it has passed
 * (the terminal switches at its next idle moment and reports it). */
static void render__until(int64_t now_ms, int64_t ms, char *buf, size_t len)
{
    int64_t s = (ms - now_ms) / 1000;

    if (s <= 0)
        snprintf(buf, len, "due");
    else if (s < 120)
        snprintf(buf, len, "in %" PRId64 "s", s);
    else if (s < 7200)
        snprintf(buf, len, "in %" PRId64 "m", s / 60);
    else if (s < 172800)
        snprintf(buf, len, "in %" PRId64 "h", s / 3600);
    else
        snprintf(buf, len, "in %" PRId64 "d", s / 86400);
}

/* "2026.12.1 from 2026-12-08 00:00:00 +08:00 (in 5h)": the fee table the terminal holds
 * for a later date, its effective time in the display zone (when.h). */
static void render__fee_pending(FILE *out, int64_t now_ms, json_t *fp)
{
    char v[64], when[64], rel[32], line[200];
    int64_t ms = 0;

    if (!json_is_object(fp)) {
        render__kv(out, "fee pending", "none");
        return;
    }
    render__get(fp, "version", v, sizeof(v));
    if (!render__int(fp, "effective_ms", &ms))
        ms = 0;
    pfc_showtime(ms, when, sizeof(when));
    render__until(now_ms, ms, rel, sizeof(rel));
    snprintf(line, sizeof(line), "%s from %s (%s)", v, when, rel);
    render__kv(out, "fee pending", line);
}

int pfc_render_device(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err)
{
    json_t *dev = json_is_object(json_object_get(resp, "device")) ? json_object_get(resp, "device")
                                                                  : resp;
    json_t *birth = pfc_json_find(resp, "birth|device.birth");
    json_t *health = pfc_json_find(resp, "health|device.health");
    json_t *latest = json_is_array(health) ? json_array_get(health, 0) : NULL;
    json_t *alerts = pfc_json_find(resp, "alerts|device.alerts");
    /* Shown in other sections of the card, or not counters at all. */
    static const char *const not_counters[] = {"seq",         "ts_ms",    "storage_free_kb",
                                               "mem_free_kb", "uptime_s", NULL};
    static const struct render__members_opts counter_opts = {.skip = not_counters};
    json_t *selftest, *counters, *src;
    char v[200], w[200], line[512];
    int64_t ms = 0, temp, num;

    (void)a;
    if (!json_is_object(dev) || !json_is_string(json_object_get(dev, "serial")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no device \"serial\"");

    render__get(dev, "serial", v, sizeof(v));
    render__status(dev, w, sizeof(w));
    fprintf(out, "terminal %s  (%s)\n", v, w);
    render__kv_json(out, "model", dev, "model|birth.model");
    render__kv_json(out, "hw rev", dev, "hw_rev");
    render__kv_json(out, "merchant", dev, "merchant_id");
    if (render__int(dev, "last_seen_ms", &ms) && ms > 0) {
        pfc_reltime(now_ms, ms, v, sizeof(v));
        pfc_showtime(ms, w, sizeof(w));
        snprintf(line, sizeof(line), "%s (%s)", v, w);
        render__kv(out, "last seen", line);
    } else {
        render__kv(out, "last seen", "never");
    }

    fprintf(out, "\nversions\n");
    render__get(dev, "fw_version|fw.version", v, sizeof(v));
    render__get(dev, "fw_slot|fw.slot", w, sizeof(w));
    snprintf(line, sizeof(line), "%s (slot %s)", v, w);
    render__kv(out, "firmware", line);
    render__kv_json(out, "fee table", dev, "fee_version");
    render__fee_pending(out, now_ms, json_object_get(dev, "fee_pending"));
    render__kv_json(out, "agent", birth, "agent_version");
    render__kv_json(out, "last boot", birth, "boot");

    fprintf(out, "\npower, network, paper\n");
    render__battery(dev, v, sizeof(v));
    render__kv(out, "battery", v);
    if (render__int(dev, "temp_c", &temp) || render__int(latest, "temp_c", &temp))
        snprintf(v, sizeof(v), "%" PRId64 " C", temp);
    else
        snprintf(v, sizeof(v), "-");
    render__kv(out, "temperature", v);
    render__signal(dev, v, sizeof(v));
    render__kv(out, "network", v);
    render__kv_json(out, "paper", dev, "paper");
    render__kv_json(out, "tamper", dev, "tamper");
    counters = pfc_json_find(resp, "counters|device.counters");
    src = latest ? latest : counters;
    if (render__int(src, "storage_free_kb", &num)) {
        snprintf(v, sizeof(v), "%" PRId64 " kB", num);
        render__kv(out, "storage free", v);
    }
    if (render__int(src, "mem_free_kb", &num)) {
        snprintf(v, sizeof(v), "%" PRId64 " kB", num);
        render__kv(out, "memory free", v);
    }
    if (render__int(src, "uptime_s", &num)) {
        render__duration(num, v, sizeof(v));
        render__kv(out, "uptime", v);
    }

    fprintf(out, "\nself-test\n");
    selftest = pfc_json_find(resp, "selftest|device.selftest|birth.selftest");
    if (!selftest && latest)
        selftest = pfc_json_find(latest, "selftest");
    render__selftest(out, selftest);

    fprintf(out, "\ncounters\n");
    if (!render__members(out, counters, &counter_opts))
        fprintf(out, "  none reported\n");

    fprintf(out, "\nopen alerts\n");
    if (json_is_array(alerts) && json_array_size(alerts)) {
        if (pfc_table_render(out, "  ", render__alerts_cols + 1, alerts, NULL, now_ms, err))
            return err ? err->code : PF_ENOMEM;
    } else {
        fprintf(out, "  none\n");
    }

    fprintf(out, "\nrecent health (newest first)\n");
    if (json_is_array(health) && json_array_size(health))
        return pfc_table_render(out, "  ", render__health_cols, health, NULL, now_ms, err);
    fprintf(out, "  none\n");
    return 0;
}

int pfc_render_added(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err)
{
    char serial[96], model[96];

    (void)now_ms;
    (void)err;
    render__get(resp, "serial", serial, sizeof(serial));
    if (!strcmp(serial, "-"))
        pfc_text_clean(pfc_args_pos(a, "SERIAL"), serial, sizeof(serial));
    render__get(resp, "model", model, sizeof(model));
    if (!strcmp(model, "-"))
        pfc_text_clean(pfc_args_get(a, "model"), model, sizeof(model));
    fprintf(out, "registered %s (model %s)\n", serial, model);
    return 0;
}

int pfc_render_revoked(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    char serial[96];

    (void)now_ms;
    (void)err;
    render__get(resp, "serial", serial, sizeof(serial));
    if (!strcmp(serial, "-"))
        pfc_text_clean(pfc_args_pos(a, "SERIAL"), serial, sizeof(serial));
    fprintf(out, "revoked %s: its messages are dropped and nothing is sent to it\n", serial);
    return 0;
}

static void render__counts(FILE *out, const char *title, json_t *obj)
{
    static const struct render__members_opts opts = {.skip_zero = true};

    fprintf(out, "\n%s\n", title);
    if (!json_is_object(obj) || !json_object_size(obj)) {
        fprintf(out, "  none\n");
        return;
    }
    if (!render__members(out, obj, &opts))
        fprintf(out, "  none\n");
}

/* The fee tables by effective date: those in effect, then each pending one at its
 * time in the display zone, with the terminals that hold it. */
static void render__fee_tables(FILE *out, json_t *arr)
{
    size_t i;
    json_t *e;
    char v[64], when[64], label[96];
    int64_t ms, n;

    fprintf(out, "\nfee tables by effective date\n");
    if (!json_is_array(arr) || !json_array_size(arr)) {
        fprintf(out, "  none\n");
        return;
    }
    json_array_foreach(arr, i, e)
    {
        render__get(e, "version", v, sizeof(v));
        if (!render__int(e, "terminals", &n))
            n = 0;
        if (render__int(e, "effective_ms", &ms) && ms > 0) {
            pfc_showtime(ms, when, sizeof(when));
            snprintf(label, sizeof(label), "from %s", when);
        } else {
            snprintf(label, sizeof(label), "in effect");
        }
        fprintf(out, "  %-32s %-16s %" PRId64 "\n", label, v, n);
    }
}

int pfc_render_summary(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                       struct pf_error *err)
{
    (void)now_ms;
    (void)a;
    if (!json_is_integer(json_object_get(resp, "total")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"total\" count");
    fprintf(out, "terminals\n");
    render__kv_json(out, "total", resp, "total");
    render__kv_json(out, "online", resp, "online");
    render__kv_json(out, "offline", resp, "offline");
    render__kv_json(out, "never seen", resp, "never_seen");
    render__kv_json(out, "revoked", resp, "revoked");
    render__counts(out, "open alerts by kind", json_object_get(resp, "alerts"));
    render__counts(out, "models", json_object_get(resp, "models"));
    render__counts(out, "firmware", json_object_get(resp, "firmware"));
    render__fee_tables(out, json_object_get(resp, "fee_tables"));
    return 0;
}

int pfc_render_alerts(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err)
{
    json_t *alerts = json_object_get(resp, "alerts");

    (void)a;
    if (!json_is_array(alerts))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"alerts\" list");
    if (!json_array_size(alerts)) {
        fprintf(out, "no open alerts\n");
        return 0;
    }
    return pfc_table_render(out, NULL, render__alerts_cols, alerts, NULL, now_ms, err);
}
