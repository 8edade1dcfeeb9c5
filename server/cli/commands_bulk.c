/*
 * commands_bulk.c - bulk bind, unbind and tag from a CSV file, the swap's
 * confirmation and its undo (docs/cli.md, "Lifecycle").
 *
 * A bulk file is read with the import's reader (csv.h); its rows go to
 * posfleetd as JSON ({"rows": [{"line", "serial", ...}]}), which checks every
 * row and applies them all in one transaction or none. A row the CLI cannot
 * read (wrong number of fields) is reported with the rows posfleetd refuses,
 * in one list sorted by line: the good rows are then only checked
 * ("check": true), so one run names every bad line. While stderr is a
 * terminal a progress line (rows read, bytes sent, seconds posfleetd has been
 * applying them) is rewritten in place; it is never printed otherwise.
 */
#include "commands_bulk.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apierr.h"
#include "commands_lifecycle.h"
#include "csv.h"
#include "safe_text.h"
#include "pf/fileio.h"
#include "pf/text.h"

#define BULK_FILE_MAX   (256u * 1024 * 1024)
#define BULK_TIMEOUT_MS (600L * 1000) /* unless --timeout: 100,000 rows take seconds */
#define BULK_READ_STEP  10000         /* rows between two progress lines while reading */

const struct pfc_opt pfc_bulk_opts[] = {
        {.name = "csv",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .required = true,
         .help = "the CSV file (docs/cli.md: columns per command)"},
        {.name = "check",
         .type = PFC_OPT_FLAG,
         .help = "check every row and report the bad ones, change nothing"},
        {0},
};

const struct pfc_opt pfc_swap_confirm_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .body = "reason",
         .help = "why (goes into the repair record)"},
        {.name = "yes",
         .type = PFC_OPT_FLAG,
         .help = "swap without asking (needed when not on a terminal)"},
        {0},
};

const struct pfc_opt pfc_swap_undo_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .body = "reason",
         .help = "why the swap was a mistake (history and audit)"},
        {0},
};

/* --- progress --- */

struct bulk__progress {
    FILE *f; /* NULL: not a terminal, nothing shown */
    const char *cmd;
    size_t rows;
    double t0, last; /* seconds */
    bool shown;
};

static double bulk__now(const struct pfc_ctx *ctx)
{
    return (double)pf_clock_mono_ms(ctx->io->clock) / 1000.0;
}

static void bulk__line(struct bulk__progress *p, const char *fmt, ...) PF_PRINTF(2, 3);
static void bulk__line(struct bulk__progress *p, const char *fmt, ...)
{
    va_list ap;

    if (!p->f)
        return;
    fprintf(p->f, "\r%s: ", p->cmd);
    va_start(ap, fmt);
    vfprintf(p->f, fmt, ap);
    va_end(ap);
    fputs("\033[K", p->f); /* the rest of the previous line */
    fflush(p->f);
    p->shown = true;
}

static void bulk__done(struct bulk__progress *p)
{
    if (p->f && p->shown) {
        fputs("\r\033[K", p->f);
        fflush(p->f);
    }
    p->shown = false;
}

struct bulk__send {
    struct bulk__progress *p;
    const struct pfc_ctx *ctx;
};

static void bulk__sent(void *vctx, size_t sent, size_t total)
{
    struct bulk__send *s = vctx;
    struct bulk__progress *p = s->p;
    double now = bulk__now(s->ctx);

    if (now - p->last < 0.2)
        return;
    p->last = now;
    if (total && sent < total)
        bulk__line(p, "sending %zu rows: %zu%% of %.1f MB", p->rows, (size_t)(sent * 100 / total),
                   (double)total / 1e6);
    else
        bulk__line(p, "posfleetd is checking and applying %zu rows, all or nothing: %.0f s",
                   p->rows, now - p->t0);
}

/* --- reading the file --- */

enum bulk__kind { BULK_BIND, BULK_UNBIND, BULK_TAGS };

static const struct {
    const char *path, *columns, *done;
} bulk__kinds[] = {
        [BULK_BIND] = {"/v1/bulk/bind", "serial,merchant", "bound"},
        [BULK_UNBIND] = {"/v1/bulk/unbind", "serial[,reason]", "unbound"},
        [BULK_TAGS] = {"/v1/bulk/tags", "serial,tag[,+|-]", "tags changed on"},
};

/* Fields a row of each kind has, at least and at most. */
static const int bulk__fields[][2] = {
        [BULK_BIND] = {2, 2}, [BULK_UNBIND] = {1, 2}, [BULK_TAGS] = {2, 3}};

struct bulk__read {
    enum bulk__kind kind;
    json_t *rows;
    json_t *bad; /* [{"line", "message"}] of rows not sent */
    struct bulk__progress *p;
};

static int bulk__add_bad(json_t *bad, int line, const char *msg)
{
    return json_array_append_new(bad, json_pack("{s:i, s:s}", "line", line, "message", msg))
                   ? PF_ENOMEM
                   : 0;
}

static int bulk__row(void *vctx, int line, const char *f[PFC_CSV_FIELDS],
                     const size_t fl[PFC_CSV_FIELDS], int nf)
{
    struct bulk__read *r = vctx;
    const int *want = bulk__fields[r->kind];
    json_t *row;
    char msg[160];

    if (nf < want[0] || nf > want[1]) {
        snprintf(msg, sizeof(msg), "line %d: expected %s, got %s%d field%s", line,
                 bulk__kinds[r->kind].columns, nf > PFC_CSV_FIELDS ? "more than " : "",
                 nf > PFC_CSV_FIELDS ? PFC_CSV_FIELDS : nf, nf == 1 ? "" : "s");
        return bulk__add_bad(r->bad, line, msg);
    }
    row = json_pack("{s:i, s:s%}", "line", line, "serial", f[0], fl[0]);
    if (!row)
        return PF_ENOMEM;
    if (r->kind == BULK_BIND && json_object_set_new(row, "merchant_id", json_stringn(f[1], fl[1])))
        goto out_nomem;
    if (r->kind == BULK_UNBIND && nf > 1 && fl[1] &&
        json_object_set_new(row, "reason", json_stringn(f[1], fl[1])))
        goto out_nomem;
    if (r->kind == BULK_TAGS &&
        (json_object_set_new(row, "tag", json_stringn(f[1], fl[1])) ||
         (nf > 2 && fl[2] && json_object_set_new(row, "op", json_stringn(f[2], fl[2])))))
        goto out_nomem;
    if (json_array_append_new(r->rows, row))
        return PF_ENOMEM;
    if (json_array_size(r->rows) % BULK_READ_STEP == 0)
        bulk__line(r->p, "reading: %zu of %zu rows", json_array_size(r->rows), r->p->rows);
    return 0;
out_nomem:
    json_decref(row);
    return PF_ENOMEM;
}

static int bulk__by_line(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));

    return (x > y) - (x < y);
}

/* Prints the bad lines of the file and of posfleetd's answer, by line. */
static int bulk__report(struct pfc_ctx *ctx, json_t *bad, json_t *answer, int *code)
{
    json_t *lines = json_object_get(answer, "lines"), *l;
    json_t **all;
    size_t n, i, k = 0;

    json_array_foreach(lines, i, l) if (json_array_append(bad, l)) return PF_ENOMEM;
    n = json_array_size(bad);
    all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return PF_ENOMEM;
    json_array_foreach(bad, i, l) all[k++] = l;
    qsort(all, n, sizeof(*all), bulk__by_line);
    for (i = 0; i < n; i++) {
        char clean[512];

        pfc_text_clean(json_string_value(json_object_get(all[i], "message")), clean, sizeof(clean));
        fprintf(ctx->io->err, "%s\n", clean);
    }
    free(all);
    if (!*code)
        *code = PF_EINVAL;
    return 0;
}

static int bulk__run(struct pfc_ctx *ctx, const struct pfc_args *a, enum bulk__kind kind,
                     struct pf_error *err)
{
    const char *file = pfc_args_get(a, "csv");
    bool check = pfc_args_flag(a, "check");
    struct bulk__progress p = {.cmd = a->cmd->name};
    struct bulk__read r = {.kind = kind, .p = &p};
    struct bulk__send s = {&p, ctx};
    struct pfc_http_resp hr = {0};
    json_t *body = NULL, *answer = NULL;
    char *csv = NULL, *text = NULL;
    size_t len;
    int rc, code = 0;

    if (isatty(fileno(ctx->io->err)) == 1)
        p.f = ctx->io->err;
    rc = pf_file_read(file, BULK_FILE_MAX, &csv, &len);
    if (rc)
        return pf_error_set(err, rc == PF_ENOENT ? PF_EINVAL : rc, "%s: %s", file, pf_strerror(rc));
    p.rows = pfc_csv_count(csv, len);
    p.t0 = p.last = bulk__now(ctx);
    r.rows = json_array();
    r.bad = json_array();
    if (!r.rows || !r.bad) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    rc = pfc_csv_rows(csv, len, bulk__row, &r);
    if (rc) {
        pf_error_set(err, rc, "%s: %s", file, pf_strerror(rc));
        goto out;
    }
    if (!p.rows) {
        rc = pf_error_set(err, PF_EINVAL, "%s: no rows (columns: %s)", file,
                          bulk__kinds[kind].columns);
        goto out;
    }
    if (json_array_size(r.rows)) {
        body = json_pack("{s:O, s:b}", "rows", r.rows, "check", check || json_array_size(r.bad));
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (!text) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out;
        }
        if (!pfc_args_get(a, "timeout"))
            pfc_http_set_timeout(ctx->http, BULK_TIMEOUT_MS);
        if (p.f)
            pfc_http_set_progress(ctx->http, bulk__sent, &s);
        bulk__line(&p, "sending %zu rows", json_array_size(r.rows));
        rc = pfc_http_request_typed(ctx->http, "POST", bulk__kinds[kind].path, "application/json",
                                    text, strlen(text), &hr, err);
        pfc_http_set_progress(ctx->http, NULL, NULL);
        bulk__done(&p);
        if (rc)
            goto out;
        answer = hr.len ? json_loadb(hr.data, hr.len, 0, NULL) : NULL;
        if (hr.status < 200 || hr.status > 299) {
            if (!json_is_array(json_object_get(answer, "lines"))) {
                rc = pfc_api_error(hr.status, answer, NULL, ctx->have_token, err);
                goto out;
            }
            code = pfc_api_error(hr.status, answer, NULL, ctx->have_token, err);
        } else if (!json_is_object(answer)) {
            rc = pf_error_set(err, PF_EPARSE, "unexpected answer from posfleetd at %s",
                              pfc_http_base(ctx->http));
            goto out;
        }
    }
    bulk__done(&p);
    if (code || json_array_size(r.bad)) {
        size_t nbad;

        rc = bulk__report(ctx, r.bad, code ? answer : NULL, &code);
        nbad = json_array_size(r.bad);
        if (!rc)
            rc = pf_error_set(err, code, "%s: %zu bad line%s (nothing changed)", file, nbad,
                              nbad == 1 ? "" : "s");
        goto out;
    }
    if (ctx->json) {
        rc = pfc_emit(ctx, a, NULL, answer, err);
    } else if (check) {
        fprintf(ctx->io->out, "checked %zu rows: every line is good (nothing changed)\n", p.rows);
    } else {
        fprintf(ctx->io->out, "%s %lld terminals (%zu rows, one transaction)\n",
                bulk__kinds[kind].done,
                (long long)json_integer_value(json_object_get(answer, "terminals")), p.rows);
    }
out:
    bulk__done(&p);
    pfc_http_resp_release(&hr);
    json_decref(answer);
    json_decref(body);
    json_decref(r.rows);
    json_decref(r.bad);
    free(text);
    free(csv);
    return rc;
}

int pfc_cmd_bulk_bind(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return bulk__run(ctx, a, BULK_BIND, err);
}

int pfc_cmd_bulk_unbind(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return bulk__run(ctx, a, BULK_UNBIND, err);
}

int pfc_cmd_bulk_tag(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return bulk__run(ctx, a, BULK_TAGS, err);
}

/* --- swap: confirmation --- */

/* A field of a card for the confirmation: text, or a list joined with ",". */
static void bulk__field(FILE *out, const char *label, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key), *e;
    char clean[256];
    size_t i;

    fprintf(out, "  %-12s ", label);
    if (json_is_string(v) && json_string_length(v)) {
        pfc_text_clean(json_string_value(v), clean, sizeof(clean));
        fputs(clean, out);
    } else if (json_is_array(v) && json_array_size(v)) {
        json_array_foreach(v, i, e)
        {
            pfc_text_clean(json_is_string(e) ? json_string_value(e) : "?", clean, sizeof(clean));
            fprintf(out, "%s%s", i ? "," : "", clean);
        }
    } else {
        fputc('-', out);
    }
    fputc('\n', out);
}

/* A terminal's lifecycle card (GET /v1/devices/{SERIAL}/lifecycle). */
static int bulk__card(struct pfc_ctx *ctx, const char *serial, json_t **out, struct pf_error *err)
{
    char path[PFC_URL_MAX] = "/v1/devices/";
    size_t off = strlen(path);
    int rc = pfc_url_escape(serial, path, sizeof(path), &off);

    if (!rc && off + sizeof("/lifecycle") > sizeof(path))
        rc = PF_ETOOBIG;
    if (rc)
        return pf_error_set(err, rc, "%s: serial too long", serial);
    memcpy(path + off, "/lifecycle", sizeof("/lifecycle"));
    return pfc_call(ctx, "GET", path, NULL, serial, out, err);
}

/* What the swap would move, from the two terminals' cards. */
static int bulk__swap_show(struct pfc_ctx *ctx, const char *old, const char *new_serial,
                           const char *reason, struct pf_error *err)
{
    char os[24] = "?", ns[24] = "?", clean[600];
    json_t *o = NULL, *n = NULL;
    FILE *f = ctx->io->err;
    int rc;

    rc = bulk__card(ctx, old, &o, err);
    if (!rc)
        rc = bulk__card(ctx, new_serial, &n, err);
    if (rc)
        goto out;
    pfc_text_clean(json_string_value(json_object_get(o, "state")), os, sizeof(os));
    pfc_text_clean(json_string_value(json_object_get(n, "state")), ns, sizeof(ns));
    fprintf(f, "swap %s (%s) for %s (%s); what moves to %s:\n", old, os, new_serial, ns,
            new_serial);
    bulk__field(f, "merchant", o, "merchant_id");
    bulk__field(f, "fee plan", o, "fee_plan");
    bulk__field(f, "tags", o, "tags");
    bulk__field(f, "time zone", o, "tz");
    pfc_text_clean(reason, clean, sizeof(clean));
    if (json_is_integer(json_object_get(o, "repair_id")))
        fprintf(f, "%s goes to repair: its open repair %lld records the swap (%s)\n", old,
                (long long)json_integer_value(json_object_get(o, "repair_id")), clean);
    else
        fprintf(f, "%s goes to repair: a repair record opens (%s)\n", old, clean);
out:
    json_decref(o);
    json_decref(n);
    return rc;
}

int pfc_cmd_swap(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    const char *old = pfc_args_pos(a, "OLD"), *new_serial = pfc_args_pos(a, "NEW");
    char answer[16] = "";
    int rc;

    if (pfc_args_flag(a, "yes"))
        return pfc_cmd_lifecycle(ctx, a, err);
    if (!ctx->io->in || isatty(fileno(ctx->io->in)) != 1)
        return pfc_usage_failed(
                ctx, pf_error_set(err, PF_EINVAL,
                                  "swap: not on a terminal, so nobody can confirm: give --yes to"
                                  " swap %s for %s",
                                  old, new_serial));
    rc = bulk__swap_show(ctx, old, new_serial, pfc_args_get(a, "reason"), err);
    if (rc)
        return rc;
    fprintf(ctx->io->err, "Swap %s for %s? [y/N] ", old, new_serial);
    fflush(ctx->io->err);
    if (!fgets(answer, sizeof(answer), ctx->io->in) ||
        (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0 && strcmp(answer, "Y\n") != 0))
        return pf_error_set(err, PF_ESTATE, "swap: not confirmed: nothing changed");
    return pfc_cmd_lifecycle(ctx, a, err);
}

int pfc_render_swap_undo(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                         struct pf_error *err)
{
    json_t *o = json_object_get(resp, "old"), *n = json_object_get(resp, "new");
    json_t *r = json_object_get(resp, "repair");
    char os[64], ns[64], ost[24], nst[24], m[80], outc[16];

    (void)a;
    (void)now_ms;
    if (!json_is_object(o) || !json_is_object(n) || !json_is_object(r))
        return pf_error_set(err, PF_ESCHEMA, "answer lacks \"old\", \"new\" or \"repair\"");
    pfc_text_clean(json_string_value(json_object_get(o, "serial")), os, sizeof(os));
    pfc_text_clean(json_string_value(json_object_get(n, "serial")), ns, sizeof(ns));
    pfc_text_clean(json_string_value(json_object_get(o, "state")), ost, sizeof(ost));
    pfc_text_clean(json_string_value(json_object_get(n, "state")), nst, sizeof(nst));
    pfc_text_clean(json_string_value(json_object_get(o, "merchant_id")), m, sizeof(m));
    pfc_text_clean(json_string_value(json_object_get(r, "outcome")), outc, sizeof(outc));
    fprintf(out, "undid the swap of %s for %s\n", os, ns);
    fprintf(out, "%s is %s at merchant %s again\n", os, ost, m);
    fprintf(out, "%s is %s again\n", ns, nst);
    if (strcmp(outc, "removed") == 0)
        fprintf(out, "repair %lld that the swap opened is removed\n",
                (long long)json_integer_value(json_object_get(r, "id")));
    else
        fprintf(out, "repair %lld stays open (it was open before the swap)\n",
                (long long)json_integer_value(json_object_get(r, "id")));
    return 0;
}
