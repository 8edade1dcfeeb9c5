/*
 * rollout_render.c - rollouts for people (rollout_render.h): the card of one
 * rollout with a progress bar per stage and a failure histogram, the list,
 * and the members table. Tables are column specs for pfc_table_render.
 */
#include "rollout_render.h"

#include <string.h>

#include "apierr.h"
#include "pf/text.h"
#include "table.h"

/* --- rendering --- */

void pfc_rollout_bar(const int64_t *counts, const char *glyphs, size_t nseg, int width, char *out)
{
    int64_t total = 0, rem[PFC_RO_SEGMENTS] = {0};
    int cells[PFC_RO_SEGMENTS] = {0}, used = 0, pos = 0;

    for (size_t i = 0; i < nseg && i < PFC_RO_SEGMENTS; i++)
        total += counts[i] > 0 ? counts[i] : 0;
    if (nseg > PFC_RO_SEGMENTS)
        nseg = PFC_RO_SEGMENTS;
    if (total <= 0 || width <= 0) {
        memset(out, ' ', width > 0 ? (size_t)width : 0);
        out[width > 0 ? width : 0] = '\0';
        return;
    }
    for (size_t i = 0; i < nseg; i++) {
        int64_t c = counts[i] > 0 ? counts[i] : 0;

        /* c * width fits: counts are member numbers (at most ~1e8), width small */
        cells[i] = (int)(c * width / total);
        rem[i] = c * width % total;
        used += cells[i];
    }
    /* The cells left over go to the largest remainders, earlier segments first on ties. */
    while (used < width) {
        size_t best = 0;

        for (size_t i = 1; i < nseg; i++) {
            if (rem[i] > rem[best])
                best = i;
        }
        cells[best]++;
        rem[best] = -1;
        used++;
    }
    /* A segment that has members is never invisible: it takes a cell from the widest. */
    for (size_t i = 0; i < nseg; i++) {
        size_t widest = 0;

        if (counts[i] <= 0 || cells[i] > 0)
            continue;
        for (size_t k = 1; k < nseg; k++) {
            if (cells[k] > cells[widest])
                widest = k;
        }
        if (cells[widest] > 1) {
            cells[widest]--;
            cells[i]++;
        }
    }
    for (size_t i = 0; i < nseg; i++) {
        memset(out + pos, glyphs[i], (size_t)cells[i]);
        pos += cells[i];
    }
    out[pos] = '\0';
}

static const char ro__glyphs[PFC_RO_SEGMENTS] = {'#', 'x', 'r', '>', '.', '-'};
static const char ro__legend[] = "legend: # installed or already  x failed or timed out  "
                                 "r rolled back  > offered, downloading or installing\n"
                                 "        . pending or deferred  - skipped, swapped, deferred out "
                                 "or reverting";

static int64_t ro__int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int64_t ro__sum(json_t *counts, const char *const *keys)
{
    int64_t n = 0;

    for (; *keys; keys++)
        n += ro__int(counts, *keys);
    return n;
}

static const char *const ro__k_installed[] = {"installed", "already", NULL};
static const char *const ro__k_failed[] = {"failed", "timed_out", NULL};
static const char *const ro__k_rolled[] = {"rolled_back", NULL};
static const char *const ro__k_moving[] = {"offered", "downloading", "installing", NULL};
static const char *const ro__k_pending[] = {"pending", "deferred", NULL};
static const char *const ro__k_other[] = {"skipped",        "swapped",   "deferred_out",
                                          "revert_pending", "reverting", "reverted",
                                          "revert_failed",  NULL};

static void ro__bar(json_t *counts, char *out, size_t len)
{
    int64_t seg[PFC_RO_SEGMENTS] = {
            ro__sum(counts, ro__k_installed), ro__sum(counts, ro__k_failed),
            ro__sum(counts, ro__k_rolled),    ro__sum(counts, ro__k_moving),
            ro__sum(counts, ro__k_pending),   ro__sum(counts, ro__k_other),
    };
    char bar[PFC_RO_BAR_WIDTH + 1];

    pfc_rollout_bar(seg, ro__glyphs, PFC_RO_SEGMENTS, PFC_RO_BAR_WIDTH, bar);
    snprintf(out, len, "[%s]", bar);
}

/* A string field cleaned for the terminal; dflt if absent, not a string or empty. */
static void ro__str(json_t *o, const char *key, const char *dflt, char *buf, size_t len)
{
    json_t *v = json_object_get(o, key);

    buf[0] = '\0';
    if (json_is_string(v))
        pfc_text_clean(json_string_value(v), buf, len);
    if (!buf[0])
        snprintf(buf, len, "%s", dflt);
}

static void ro__when(int64_t now_ms, int64_t ms, char *buf, size_t len)
{
    char rel[32], utc[40];

    pfc_reltime(now_ms, ms, rel, sizeof(rel));
    pfc_showtime(ms, utc, sizeof(utc));
    snprintf(buf, len, "%s (%s)", rel, utc);
}

/* Number of stages: "stage_count", or the "stages" array; PF_ENOENT if neither is there. */
static int64_t ro__nstages(json_t *r)
{
    json_t *s = json_object_get(r, "stages");

    if (json_is_integer(json_object_get(r, "stage_count")))
        return ro__int(r, "stage_count");
    if (json_is_array(s))
        return (int64_t)json_array_size(s);
    return PF_ENOENT;
}

static void ro__stage_of(json_t *r, char *buf, size_t len)
{
    int64_t n = ro__nstages(r);

    if (!json_is_integer(json_object_get(r, "stage")))
        snprintf(buf, len, "-");
    else if (n < 0)
        snprintf(buf, len, "%lld", (long long)ro__int(r, "stage") + 1);
    else
        snprintf(buf, len, "%lld/%lld", (long long)ro__int(r, "stage") + 1, (long long)n);
}

/* A stage's "counts", or the rollout's "totals" on the footer line. */
static json_t *ro__counts(json_t *row, const struct pfc_cell_ctx *cx)
{
    return json_object_get(row, cx->footer ? "totals" : "counts");
}

/* The sum of the counts named in key ("pending,deferred"), as a number. */
static void ro__cell_count(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                           size_t len)
{
    json_t *counts = ro__counts(row, cx);
    int64_t n = 0;

    for (const char *p = key; *p;) {
        size_t k = strcspn(p, ",");
        json_t *v = json_object_getn(counts, p, k);

        n += json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        p += k + (p[k] == ',');
    }
    snprintf(buf, len, "%lld", (long long)n);
}

static void ro__cell_stage_no(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                              char *buf, size_t len)
{
    (void)row;
    (void)key;
    if (cx->footer)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "%zu", cx->index + 1);
}

static void ro__cell_size(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                          size_t len)
{
    if (cx->footer)
        buf[0] = '\0';
    else
        pfc_cell_text(row, key, cx, buf, len);
}

static void ro__cell_bar(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                         size_t len)
{
    (void)key;
    ro__bar(ro__counts(row, cx), buf, len);
}

static void ro__cell_stage_state(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                 char *buf, size_t len)
{
    (void)key;
    if (cx->footer)
        buf[0] = '\0';
    else if (ro__int(row, "settled_ms") > 0)
        snprintf(buf, len, "settled");
    else if (ro__int(row, "opened_ms") > 0)
        snprintf(buf, len, "open");
    else
        snprintf(buf, len, "-");
}

/* One line per stage, then "all" over the rollout's totals. */
static const struct pfc_col ro__stage_cols[] = {
        {"STAGE", 0, 'l', NULL, ro__cell_stage_no},
        {"SIZE", 0, 'r', "size", ro__cell_size},
        {"MEMBERS", 0, 'r', "members", NULL},
        {"PROGRESS", PFC_RO_BAR_WIDTH + 2, 'l', NULL, ro__cell_bar},
        {"PEND", 0, 'r', "pending,deferred", ro__cell_count},
        {"OFFER", 0, 'r', "offered", ro__cell_count},
        {"DL", 0, 'r', "downloading,installing", ro__cell_count},
        {"INST", 0, 'r', "installed", ro__cell_count},
        {"FAIL", 0, 'r', "failed", ro__cell_count},
        {"RB", 0, 'r', "rolled_back", ro__cell_count},
        {"TOUT", 0, 'r', "timed_out", ro__cell_count},
        {"ALRDY", 0, 'r', "already", ro__cell_count},
        {"DOUT", 0, 'r', "deferred_out", ro__cell_count},
        {"STATE", 0, 'l', NULL, ro__cell_stage_state},
        {NULL},
};

/* "failures": one bar per (status, code), scaled to the largest. */
static void ro__histogram(FILE *out, json_t *failures)
{
    char label[PFC_CELL_MAX * 2 + 2], bar[PFC_RO_HIST_WIDTH + 1];
    int64_t max = 0;
    int lw = 0;
    size_t i;
    json_t *f;

    json_array_foreach(failures, i, f)
    {
        char st[PFC_CELL_MAX], code[PFC_CELL_MAX];
        int n;

        if (ro__int(f, "n") > max)
            max = ro__int(f, "n");
        ro__str(f, "status", "-", st, sizeof(st));
        ro__str(f, "code", "-", code, sizeof(code));
        n = snprintf(label, sizeof(label), "%s %s", st, code);
        if (n > lw)
            lw = n;
    }
    if (max <= 0) {
        fprintf(out, "\nfailures: none\n");
        return;
    }
    fprintf(out, "\nfailures:\n");
    json_array_foreach(failures, i, f)
    {
        char st[PFC_CELL_MAX], code[PFC_CELL_MAX];
        int64_t n = ro__int(f, "n");
        int w = n > 0 ? (int)(n * PFC_RO_HIST_WIDTH / max) : 0;

        if (n > 0 && w == 0)
            w = 1;
        ro__str(f, "status", "-", st, sizeof(st));
        ro__str(f, "code", "-", code, sizeof(code));
        snprintf(label, sizeof(label), "%s %s", st, code);
        memset(bar, '#', (size_t)w);
        memset(bar + w, ' ', (size_t)(PFC_RO_HIST_WIDTH - w));
        bar[PFC_RO_HIST_WIDTH] = '\0';
        fprintf(out, "  %-*s  %s %lld\n", lw, label, bar, (long long)n);
    }
}

/* Every status with members, in the order of the API's "totals": the exact
 * counts, whatever the stage table groups. */
static void ro__totals_line(FILE *out, json_t *totals)
{
    const char *k;
    json_t *v;
    int n = 0;

    if (!json_is_object(totals))
        return;
    json_object_foreach(totals, k, v)
    {
        char key[PFC_CELL_MAX];

        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            continue;
        pfc_text_clean(k, key, sizeof(key));
        fprintf(out, "%s%s %lld", n++ ? ", " : "counts    ", key, (long long)json_integer_value(v));
    }
    if (n)
        fputc('\n', out);
}

int pfc_render_rollout(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *r,
                       struct pf_error *err)
{
    json_t *pause = json_object_get(r, "pause"), *stages = json_object_get(r, "stages");
    json_t *ended = json_object_get(r, "ended");
    char name[PF_TEXT_BYTES(PF_TEXT_LABEL_MAX)], state[32], kind[32], version[64], bundle[80],
            buf[512], when[96];
    int rc;

    (void)a;
    if (!json_is_integer(json_object_get(r, "id")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no rollout \"id\"");
    ro__str(r, "name", "", name, sizeof(name));
    ro__str(r, "state", "-", state, sizeof(state));
    ro__str(r, "kind", "-", kind, sizeof(kind));
    ro__str(r, "version", "-", version, sizeof(version));
    ro__str(r, "bundle", "-", bundle, sizeof(bundle));
    fprintf(out, "rollout   %lld%s%s\n", (long long)ro__int(r, "id"), name[0] ? "  " : "", name);
    fprintf(out, "state     %s\n", state);
    fprintf(out, "bundle    %s %s  %s\n", kind, version, bundle);
    if (ro__int(r, "created_ms") > 0) {
        ro__when(now_ms, ro__int(r, "created_ms"), when, sizeof(when));
        ro__str(r, "actor", "-", buf, sizeof(buf));
        fprintf(out, "created   %s by %s\n", when, buf);
    }
    if (ro__int(r, "start_at_ms") > ro__int(r, "created_ms")) { /* a later start */
        ro__when(now_ms, ro__int(r, "start_at_ms"), when, sizeof(when));
        fprintf(out, "starts    %s\n", when);
    }
    if (ro__int(r, "deadline_ms") > 0) {
        ro__when(now_ms, ro__int(r, "deadline_ms"), when, sizeof(when));
        fprintf(out, "deadline  %s\n", when);
    }
    ro__stage_of(r, buf, sizeof(buf));
    fprintf(out, "members   %lld, stage %s\n", (long long)ro__int(r, "members"), buf);
    if (json_is_object(json_object_get(r, "plan"))) {
        json_t *plan = json_object_get(r, "plan");
        double ms = json_number_value(json_object_get(plan, "select_ms")) +
                    json_number_value(json_object_get(plan, "order_ms")) +
                    json_number_value(json_object_get(plan, "insert_ms"));

        fprintf(out, "planned   %lld terminals in %.0f ms\n", (long long)ro__int(plan, "cohort"),
                ms);
    }
    ro__str(r, "waiting", "", buf, sizeof(buf));
    if (buf[0])
        fprintf(out, "waiting   %s\n", buf);
    if (ro__int(r, "window_opens_ms") > 0) {
        ro__when(now_ms, ro__int(r, "window_opens_ms"), when, sizeof(when));
        fprintf(out, "window    opens next %s\n", when);
    }
    if (json_is_object(ended) && json_is_string(json_object_get(ended, "reason"))) {
        char reason[64], detail[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)], by[64];

        ro__str(ended, "reason", "-", reason, sizeof(reason));
        ro__str(ended, "detail", "", detail, sizeof(detail));
        ro__str(ended, "by", "-", by, sizeof(by));
        pfc_reltime(now_ms, ro__int(ended, "at_ms"), when, sizeof(when));
        fprintf(out, "%-9s %s%s%s (by %s, %s)\n", state, reason, detail[0] ? ": " : "", detail, by,
                when);
    }
    if (json_is_object(pause) && json_is_string(json_object_get(pause, "reason"))) {
        char reason[64], detail[PF_TEXT_BYTES(PF_TEXT_REASON_MAX)], by[64];

        ro__str(pause, "reason", "-", reason, sizeof(reason));
        ro__str(pause, "detail", "", detail, sizeof(detail));
        ro__str(pause, "by", "-", by, sizeof(by));
        pfc_reltime(now_ms, ro__int(pause, "at_ms"), when, sizeof(when));
        fprintf(out, "%s %s%s%s (by %s, %s)\n",
                strcmp(state, "paused") ? "last pause" : "paused   ", reason, detail[0] ? ": " : "",
                detail, by, when);
    }
    ro__totals_line(out, json_object_get(r, "totals"));
    if (!strcmp(state, "rolling_back") || !strcmp(state, "rolled_back")) {
        json_t *t = json_object_get(r, "totals");

        fprintf(out,
                "rollback  %lld reverted, %lld reverting, %lld waiting, %lld failed to revert, "
                "%lld without a previous bundle\n",
                (long long)ro__int(t, "reverted"), (long long)ro__int(t, "reverting"),
                (long long)ro__int(t, "revert_pending"), (long long)ro__int(t, "revert_failed"),
                (long long)ro__int(r, "no_previous"));
    }
    if (ro__int(r, "no_previous") > 0)
        fprintf(out, "no previous bundle for %lld installed members (they keep %s)\n",
                (long long)ro__int(r, "no_previous"), version);
    if (json_is_array(stages) && json_array_size(stages)) {
        fputc('\n', out);
        if ((rc = pfc_table_render(out, "", ro__stage_cols, stages,
                                   json_is_object(json_object_get(r, "totals")) ? r : NULL, now_ms,
                                   err)))
            return rc;
        fprintf(out, "%s\n", ro__legend);
    }
    if (json_is_array(json_object_get(r, "failures")))
        ro__histogram(out, json_object_get(r, "failures"));
    return 0;
}

static void ro__cell_stage_of(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                              char *buf, size_t len)
{
    (void)key;
    (void)cx;
    ro__stage_of(row, buf, len);
}

/* A count of the rollout's "totals". */
static void ro__cell_total(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                           size_t len)
{
    (void)cx;
    snprintf(buf, len, "%lld", (long long)ro__int(json_object_get(row, "totals"), key));
}

static const struct pfc_col ro__list_cols[] = {
        {"ID", 0, 'r', "id", NULL},
        {"NAME", 0, 'l', "name", NULL},
        {"STATE", 0, 'l', "state", NULL},
        {"KIND", 0, 'l', "kind", NULL},
        {"VERSION", 0, 'l', "version", NULL},
        {"STAGE", 0, 'l', NULL, ro__cell_stage_of},
        {"MEMBERS", 0, 'r', "members", NULL},
        {"INSTALLED", 0, 'r', "installed", ro__cell_total},
        {"FAILED", 0, 'r', "failed", ro__cell_total},
        {"ROLLED-BACK", 0, 'r', "rolled_back", ro__cell_total},
        {"TIMED-OUT", 0, 'r', "timed_out", ro__cell_total},
        {"WAITING", 0, 'l', "waiting", NULL},
        {NULL},
};

int pfc_render_rollouts(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                        struct pf_error *err)
{
    json_t *list = json_object_get(resp, "rollouts");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"rollouts\"");
    if (!json_array_size(list)) {
        fprintf(out, "no rollouts\n");
        return 0;
    }
    return pfc_table_render(out, "", ro__list_cols, list, NULL, now_ms, err);
}

/* Stages count from 1 for people (the members' "stage" field from 0). */
static void ro__cell_member_stage(json_t *row, const char *key, const struct pfc_cell_ctx *cx,
                                  char *buf, size_t len)
{
    (void)cx;
    if (json_is_integer(json_object_get(row, key)))
        snprintf(buf, len, "%lld", (long long)ro__int(row, key) + 1);
    else
        snprintf(buf, len, "-");
}

/* "-" rather than "never" for a member not yet moved. */
static void ro__cell_since(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                           size_t len)
{
    if (ro__int(row, key) > 0)
        pfc_reltime(cx->now_ms, ro__int(row, key), buf, len);
    else
        snprintf(buf, len, "-");
}

static const struct pfc_col ro__members_cols[] = {
        {"SERIAL", 0, 'l', "serial", NULL},
        {"STAGE", 0, 'r', "stage", ro__cell_member_stage},
        {"STATUS", 0, 'l', "status", NULL},
        {"CODE", 0, 'l', "code", NULL},
        {"ATTEMPTS", 0, 'r', "attempts", NULL},
        {"SINCE", 0, 'l', "since_ms", ro__cell_since},
        {NULL},
};

int pfc_render_rollout_members(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                               struct pf_error *err)
{
    json_t *list = json_object_get(resp, "members");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "answer has no \"members\"");
    if (!json_array_size(list)) {
        fprintf(out, "no members\n");
        return 0;
    }
    return pfc_table_render(out, "", ro__members_cols, list, NULL, now_ms, err);
}

int pfc_render_rollout_member(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *m,
                              struct pf_error *err)
{
    char serial[PFC_CELL_MAX], status[PFC_CELL_MAX], code[PFC_CELL_MAX];

    (void)now_ms;
    if (!json_is_string(json_object_get(m, "serial")) ||
        !json_is_string(json_object_get(m, "status")))
        return pf_error_set(err, PF_ESCHEMA, "answer has no member \"serial\" and \"status\"");
    ro__str(m, "serial", "-", serial, sizeof(serial));
    ro__str(m, "status", "-", status, sizeof(status));
    ro__str(m, "code", "", code, sizeof(code));
    fprintf(out, "rollout %s member %s: %s%s%s%s (stage %lld, %lld offers so far)\n",
            pfc_args_pos(a, "ID") ? pfc_args_pos(a, "ID") : "-", serial, status,
            code[0] ? " (" : "", code, code[0] ? ")" : "", (long long)ro__int(m, "stage") + 1,
            (long long)ro__int(m, "attempts"));
    return 0;
}
