/*
 * diag.c - posfleet diag: post a diagnostic request, wait for the answer by
 * polling the API, print it for people (or --json), save an archive.
 */
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/fileio.h"
#include "safe_text.h"
#include "table.h"

#define DIAG_POLL_MS      200
#define DIAG_ARCHIVE_WAIT (5 * 60 * 1000) /* after the deadline, for the chunks */
#define DIAG_TEXT         512

static void diag__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *diag__str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

/*
 * Prints one line: prefix, then s made safe for a terminal (safe_text.h).
 * Every string of an answer reaches the screen through here, pfc_safe_fputs
 * or a table: nothing a terminal sent may move the cursor or retitle the
 * window, and one field stays on one line.
 */
static void diag__put(FILE *out, const char *prefix, const char *s)
{
    fputs(prefix, out);
    pfc_safe_fputs(s, out);
    fputc('\n', out);
}

/* Formats a line whose arguments may be terminal-sent, and prints it through diag__put. */
static void diag__putf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag__putf(FILE *out, const char *fmt, ...)
{
    char line[DIAG_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    diag__put(out, "", line);
}

static void diag__kv(FILE *out, const char *key, json_t *v)
{
    char buf[64], clean[DIAG_TEXT], ckey[DIAG_TEXT];
    const char *s = buf;
    int pad;

    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "yes" : "no";
    else if (json_is_null(v) || !v)
        s = "-";
    else
        s = "(structured)";
    pfc_safe_text(s, clean, sizeof(clean));
    pfc_safe_text(key, ckey, sizeof(ckey));
    pad = 24 - (int)pfc_safe_width(ckey);
    fprintf(out, "  %s%*s %s\n", ckey, pad > 0 ? pad : 0, "", clean);
}

static void diag__render_selftest(FILE *out, json_t *r)
{
    json_t *c = json_object_get(r, "components"), *v;
    const char *k;

    fprintf(out, "self-test: %s\n",
            json_is_true(json_object_get(r, "passed")) ? "PASSED" : "FAILED");
    json_object_foreach(c, k, v) diag__kv(out, k, v);
    fprintf(out, "measurements:\n");
    json_object_foreach(r, k, v)
    {
        if (strcmp(k, "components") && strcmp(k, "passed"))
            diag__kv(out, k, v);
    }
}

/* The terminal's boot history, oldest first: when, slot, firmware, outcome. */
static void diag__render_boots(FILE *out, json_t *boots)
{
    size_t i;
    json_t *b;

    if (!json_is_array(boots) || json_array_size(boots) == 0)
        return;
    fprintf(out, "boot history (oldest first):\n");
    json_array_foreach(boots, i, b)
    {
        char when[40], line[DIAG_TEXT];

        pfc_showtime(json_integer_value(json_object_get(b, "ts")), when, sizeof(when));
        snprintf(line, sizeof(line), "  %s  slot %s  %s  %s", when, diag__str(b, "slot"),
                 diag__str(b, "firmware"), diag__str(b, "boot"));
        diag__put(out, "", line);
    }
}

static void diag__render_net(FILE *out, json_t *r)
{
    json_t *t;
    size_t i;

    fprintf(out, "network: %s\n",
            json_is_true(json_object_get(r, "ok")) ? "all targets reachable" : "PROBLEMS");
    if (!json_is_true(json_object_get(r, "payment_configured")))
        fprintf(out, "  (no payment host configured on the terminal: diag.payment_host)\n");
    json_array_foreach(json_object_get(r, "targets"), i, t)
    {
        char line[DIAG_TEXT], conn[32] = "-";
        json_t *err = json_object_get(t, "error"), *cms = json_object_get(t, "connect_ms");

        if (json_is_integer(cms))
            snprintf(conn, sizeof(conn), "%lld ms", (long long)json_integer_value(cms));
        snprintf(line, sizeof(line), "%-8s %s:%lld  resolve %lld ms -> %s, connect %s  %s%s",
                 diag__str(t, "target"), diag__str(t, "host"),
                 (long long)json_integer_value(json_object_get(t, "port")),
                 (long long)json_integer_value(json_object_get(t, "resolve_ms")),
                 json_is_string(json_object_get(t, "address")) ? diag__str(t, "address") : "-",
                 conn, json_is_true(json_object_get(t, "ok")) ? "OK" : "FAILED: ",
                 json_is_string(err) ? json_string_value(err) : "");
        diag__put(out, "  ", line);
    }
}

static void diag__render_result(FILE *out, const char *cmd, json_t *r)
{
    json_t *v;
    const char *k;
    size_t i;

    if (!strcmp(cmd, "selftest")) {
        diag__render_selftest(out, r);
    } else if (!strcmp(cmd, "logs")) {
        diag__putf(out, "last %zu log lines (kept %lld, level %s):",
                   json_array_size(json_object_get(r, "lines")),
                   (long long)json_integer_value(json_object_get(r, "kept")),
                   diag__str(r, "level"));
        json_array_foreach(json_object_get(r, "lines"), i, v)
                diag__put(out, "  ", json_string_value(v) ? json_string_value(v) : "");
    } else if (!strcmp(cmd, "net")) {
        diag__render_net(out, r);
    } else if (!strcmp(cmd, "config")) {
        fprintf(out, "effective configuration (secrets redacted):\n");
        json_object_foreach(json_object_get(r, "config"), k, v) diag__kv(out, k, v);
    } else if (!strcmp(cmd, "versions")) {
        fprintf(out, "versions:\n");
        json_object_foreach(r, k, v)
        {
            if (!strcmp(k, "boot_history"))
                continue;
            if (json_is_object(v)) {
                json_t *sv;
                const char *sk;
                char key[64];

                json_object_foreach(v, sk, sv)
                {
                    snprintf(key, sizeof(key), "%s.%s", k, sk);
                    diag__kv(out, key, sv);
                }
            } else {
                diag__kv(out, k, v);
            }
        }
        diag__render_boots(out, json_object_get(r, "boot_history"));
    } else if (!strcmp(cmd, "loglevel")) {
        char until[64];

        pfc_showtime(json_integer_value(json_object_get(r, "until_ms")), until, sizeof(until));
        diag__putf(out, "log level %s for %lld minute(s), until %s; then back to %s",
                   diag__str(r, "level"),
                   (long long)json_integer_value(json_object_get(r, "minutes")), until,
                   diag__str(r, "reverts_to"));
    } else if (!strcmp(cmd, "reboot")) {
        fprintf(out, "the terminal is rebooting\n");
    } else if (!strcmp(cmd, "archive")) {
        fprintf(out, "archive: %lld bytes (bound %lld)%s\n",
                (long long)json_integer_value(json_object_get(r, "size")),
                (long long)json_integer_value(json_object_get(r, "bound")),
                json_is_true(json_object_get(r, "truncated")) ? ", TRUNCATED to fit" : "");
        fprintf(out, "  entries:");
        json_array_foreach(json_object_get(r, "entries"), i, v)
        {
            fputc(' ', out);
            pfc_safe_fputs(json_string_value(v) ? json_string_value(v) : "?", out);
        }
        fprintf(out, "\n");
        if (json_array_size(json_object_get(r, "omitted"))) {
            fprintf(out, "  left out:");
            json_array_foreach(json_object_get(r, "omitted"), i, v)
            {
                fputc(' ', out);
                pfc_safe_fputs(json_string_value(v) ? json_string_value(v) : "?", out);
            }
            fprintf(out, "\n");
        }
    } else {
        json_object_foreach(r, k, v) diag__kv(out, k, v);
    }
}

int pfc_render_diag(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err)
{
    const char *status = diag__str(resp, "status"), *cmd = diag__str(resp, "command");
    json_t *result = json_object_get(resp, "result"), *arc = json_object_get(resp, "archive");
    char when[64];

    (void)a;
    if (!*status || !*cmd)
        return pf_error_set(err, PF_ESCHEMA, "no status or command");
    pfc_reltime(now_ms, json_integer_value(json_object_get(resp, "created_ms")), when,
                sizeof(when));
    diag__putf(out, "%s  %s on %s by %s, %s", diag__str(resp, "id"), cmd, diag__str(resp, "serial"),
               diag__str(resp, "actor"), when);
    if (!strcmp(status, "pending")) {
        fprintf(out, "waiting for the terminal (deadline not reached)\n");
        return 0;
    }
    if (!strcmp(status, "expired")) {
        fprintf(out, "EXPIRED: no answer before the deadline; the terminal never ran it "
                     "(offline or unreachable)\n");
        return 0;
    }
    if (json_integer_value(json_object_get(resp, "answered_ms")))
        fprintf(out, "answered in %lld ms%s\n",
                (long long)(json_integer_value(json_object_get(resp, "answered_ms")) -
                            json_integer_value(json_object_get(resp, "created_ms"))),
                json_is_true(json_object_get(resp, "late")) ? " (LATE: after the deadline)" : "");
    if (json_is_integer(json_object_get(resp, "repair_id")))
        fprintf(out, "attached to repair #%lld\n",
                (long long)json_integer_value(json_object_get(resp, "repair_id")));
    if (strcmp(status, "ok") != 0) {
        char line[DIAG_TEXT];

        snprintf(line, sizeof(line), "%s by the terminal: %s%s%s",
                 !strcmp(status, "refused") ? "REFUSED" : "FAILED", diag__str(resp, "code"),
                 json_is_string(json_object_get(resp, "message")) ? ": " : "",
                 diag__str(resp, "message"));
        diag__put(out, "", line);
        return 0;
    }
    if (json_is_object(result))
        diag__render_result(out, cmd, result);
    if (json_is_object(arc))
        diag__putf(out, "  transfer: %s, %lld of %lld bytes", diag__str(arc, "state"),
                   (long long)json_integer_value(json_object_get(arc, "received")),
                   (long long)json_integer_value(json_object_get(arc, "size")));
    return 0;
}

static void diag__cell_status(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                              char *buf, size_t len)
{
    (void)cx;
    snprintf(buf, len, "%s%s", diag__str(row, key),
             json_is_true(json_object_get(row, "late")) ? " (late)" : "");
}

static const struct pfc_col diag__list_cols[] = {
        {"ID", 0, 'l', "id", NULL},
        {"COMMAND", 0, 'l', "command", NULL},
        {"STATUS", 0, 'l', "status", diag__cell_status},
        {"BY", 0, 'l', "actor", NULL},
        {"WHEN", 0, 'l', "created_ms", pfc_cell_ago},
        {"CODE", 0, 'l', "code", NULL},
        {NULL},
};

int pfc_render_diag_list(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err)
{
    json_t *arr = json_object_get(resp, "diag");

    (void)a;
    if (!json_is_array(arr))
        return pf_error_set(err, PF_ESCHEMA, "no \"diag\"");
    return pfc_table_render(out, "", diag__list_cols, arr, NULL, now_ms, err);
}

/* Downloads the archive of id into path. */
static int diag__save_archive(struct pfc_ctx *ctx, const char *id, const char *path,
                              struct pf_error *err)
{
    struct pfc_http_resp resp;
    char url[PFC_URL_MAX];
    int rc;

    snprintf(url, sizeof(url), "/v1/diag/%s/archive", id);
    rc = pfc_http_request(ctx->http, "GET", url, NULL, &resp, err);
    if (rc)
        return rc;
    if (resp.status != 200) {
        json_t *body = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;

        rc = pfc_api_error(resp.status, body, NULL, ctx->have_token, err);
        json_decref(body);
    } else {
        rc = pf_file_write_atomic(path, resp.data, resp.len, 0600);
        if (rc)
            pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
        else if (!ctx->json)
            fprintf(ctx->io->out, "saved %zu bytes to %s\n", resp.len, path);
    }
    pfc_http_resp_release(&resp);
    return rc;
}

int pfc_cmd_diag(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    const char *serial = pfc_args_pos(a, "SERIAL"), *cmd = pfc_args_pos(a, "COMMAND");
    const char *arg = pfc_args_pos(a, "[ARG]"), *outpath = pfc_args_get(a, "output");
    json_t *body, *args, *made = NULL, *rec = NULL;
    char path[PFC_URL_MAX], id[80];
    int64_t deadline, until;
    size_t off = 0;
    int rc;

    if (!outpath)
        outpath = pfc_args_get(a, "o");
    if (!strcmp(cmd, "loglevel") && !arg)
        return pfc_usage_failed(ctx, pf_error_set(err, PF_EINVAL,
                                                  "diag: loglevel needs a LEVEL (error, warn, "
                                                  "info, debug)"));
    if (arg && strcmp(cmd, "loglevel") != 0)
        return pfc_usage_failed(
                ctx, pf_error_set(err, PF_EINVAL, "diag: %s takes no argument '%.40s'", cmd, arg));
    body = json_object();
    args = json_object();
    if (!body || !args) {
        json_decref(body);
        json_decref(args);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    json_object_set_new(body, "command", json_string(cmd));
    if (pfc_args_get(a, "lines"))
        json_object_set_new(args, "lines", json_integer(pfc_args_int(a, "lines", 50)));
    else if (pfc_args_get(a, "n"))
        json_object_set_new(args, "lines", json_integer(pfc_args_int(a, "n", 50)));
    if (arg)
        json_object_set_new(args, "level", json_string(arg));
    if (pfc_args_get(a, "minutes"))
        json_object_set_new(args, "minutes", json_integer(pfc_args_int(a, "minutes", 15)));
    if (pfc_args_get(a, "max-kb"))
        json_object_set_new(args, "max_kb", json_integer(pfc_args_int(a, "max-kb", 256)));
    if (pfc_args_get(a, "deadline"))
        json_object_set_new(body, "deadline_s", json_integer(pfc_args_int(a, "deadline", 30)));
    json_object_set_new(body, "args", args);

    memcpy(path, "/v1/devices/", 12);
    off = 12;
    if ((rc = pfc_url_escape(serial, path, sizeof(path), &off))) {
        json_decref(body);
        return pf_error_set(err, rc, "serial too long");
    }
    snprintf(path + off, sizeof(path) - off, "/diag");
    rc = pfc_call(ctx, "POST", path, body, serial, &made, err);
    json_decref(body);
    if (rc)
        return rc;
    snprintf(id, sizeof(id), "%s", diag__str(made, "id"));
    deadline = json_integer_value(json_object_get(made, "deadline_ms"));
    json_decref(made);
    if (!id[0] ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
                strlen(id))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no request id");
    if (!ctx->json)
        fprintf(ctx->io->err, "posfleet: %s sent to %s; waiting for the answer\n", id, serial);

    snprintf(path, sizeof(path), "/v1/diag/%s", id);
    until = deadline + 2000;
    for (;;) {
        const char *status;
        json_t *arc;

        json_decref(rec);
        rec = NULL;
        if ((rc = pfc_call(ctx, "GET", path, NULL, NULL, &rec, err)))
            return rc;
        status = diag__str(rec, "status");
        arc = json_object_get(rec, "archive");
        if (!strcmp(status, "ok") && json_is_object(arc) &&
            !strcmp(diag__str(arc, "state"), "transferring")) {
            until = deadline + DIAG_ARCHIVE_WAIT; /* the answer is in; the chunks follow */
        } else if (strcmp(status, "pending") != 0) {
            break;
        }
        if (pf_clock_wall_ms(ctx->io->clock) > until)
            break;
        diag__sleep_ms(DIAG_POLL_MS);
    }
    rc = pfc_emit(ctx, a, pfc_render_diag, rec, err);
    if (!rc && !strcmp(diag__str(rec, "status"), "ok") && outpath &&
        !strcmp(diag__str(json_object_get(rec, "archive"), "state"), "complete"))
        rc = diag__save_archive(ctx, id, outpath, err);
    else if (!rc && outpath && !strcmp(cmd, "archive"))
        rc = pf_error_set(err, PF_ESTATE, "no complete archive to save");
    if (!rc && !strcmp(diag__str(rec, "status"), "pending"))
        rc = pf_error_set(err, PF_ETIMEOUT,
                          "%s: no answer from %s yet; see 'posfleet diag show %s'", id, serial, id);
    else if (!rc && !strcmp(diag__str(rec, "status"), "expired"))
        rc = pf_error_set(err, PF_ETIMEOUT, "%s: %s did not answer before the deadline", id,
                          serial);
    else if (!rc && (!strcmp(diag__str(rec, "status"), "refused") ||
                     !strcmp(diag__str(rec, "status"), "failed")))
        rc = pf_error_set(err, PF_ESTATE, "%s: %s %s", id, serial, diag__str(rec, "status"));
    json_decref(rec);
    return rc;
}
