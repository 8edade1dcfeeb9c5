/*
 * commands_rollout.c - the `posfleet rollout ...` commands (docs/cli.md,
 * "Rollouts"): their arguments, and the runs of create (the definition from
 * rollout_definition.c, posted), show (with --watch, redrawn until the
 * rollout is final) and members (with --all, every page). Drawing is
 * rollout_render.c's.
 */
#include "commands_rollout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pf/text.h"
#include "rollout_preview.h"

#define RO_MAX_PAGES 100000

/* --- arguments --- */

const struct pfc_opt pfc_rollout_id_pos[] = {
        {.name = "ID", .type = PFC_OPT_INT, .min = 1, .max = INT64_MAX, .help = "rollout id"},
        {0},
};

const struct pfc_opt pfc_rollout_create_pos[] = {
        {.name = "[BUNDLE]",
         .type = PFC_OPT_STR,
         .help = "bundle id (posfleet bundles); optional with --definition"},
        {0},
};

/*
 * Twenty options is the parser's limit per command (PFC_MAX_OPTS), so the
 * cohort filters share --cohort. The builder also reads a filter from an
 * option of its own name (--models ...) if a table ever declares one.
 */
const struct pfc_opt pfc_rollout_create_opts[] = {
        {.name = "name",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_LABEL_MAX,
         .metavar = "TEXT",
         .help = "a label for people"},
        {.name = "cohort",
         .type = PFC_OPT_STR,
         .metavar = "F=A,B;F=C",
         .help = "filters, ';'-separated, each a comma list: models, hw-revs, fw-versions, "
                 "fee-versions, merchants, mccs, regions, tags, serials (serials=@FILE: one a "
                 "line)"},
        {.name = "stages",
         .type = PFC_OPT_STR,
         .metavar = "S,S,...",
         .help = "cumulative sizes, percentages or counts: \"1%,10%,50%,100%\", \"20,10%,100%\""},
        {.name = "soak",
         .type = PFC_OPT_STR,
         .metavar = "DURATION",
         .help = "soak after each stage: 90, 90s, 30m, 2h, 1d (posfleetd: 1h)"},
        {.name = "gate",
         .type = PFC_OPT_FLAG,
         .help = "wait for 'rollout continue' after every stage's soak"},
        {.name = "max-failure-rate",
         .type = PFC_OPT_STR,
         .metavar = "F",
         .help = "pause above this share of failed or timed out outcomes: 0.05 or 5%"},
        {.name = "max-rollback-rate",
         .type = PFC_OPT_STR,
         .metavar = "F",
         .help = "pause above this share of rolled back outcomes"},
        {.name = "max-unhealthy-rate",
         .type = PFC_OPT_STR,
         .metavar = "F",
         .help = "pause above this share of installed terminals turning unhealthy"},
        {.name = "min-sample",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = 1000000,
         .help = "outcomes needed before the rates apply (posfleetd: 10)"},
        {.name = "window",
         .type = PFC_OPT_STR,
         .metavar = "HH:MM-HH:MM",
         .help = "maintenance window in each terminal's local time (posfleetd: 01:00-05:00)"},
        {.name = "max-concurrent",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = 100000,
         .help = "terminals offered or installing at once (posfleetd: 50)"},
        {.name = "update-timeout",
         .type = PFC_OPT_STR,
         .metavar = "DURATION",
         .help = "an update in progress longer than this counts as timed out, 10s..7d "
                 "(posfleetd: 2h)"},
        {.name = "retry",
         .type = PFC_OPT_STR,
         .metavar = "DURATION",
         .help = "offer again after this when unanswered, 10s..1d (posfleetd: 15m)"},
        {.name = "start-at",
         .type = PFC_OPT_STR,
         .metavar = "TIME",
         .help = "offer nothing before: 2026-11-28T09:00+08:00, ...Z, or local 2026-11-28 09:00"},
        {.name = "deadline",
         .type = PFC_OPT_STR,
         .metavar = "TIME",
         .help = "offer nothing after; members never reached are skipped"},
        {.name = "definition",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "send this definition (JSON) as it is; no other option then"},
        {.name = "dry-run",
         .type = PFC_OPT_FLAG,
         .help = "show the cohort by stage, model, hardware, MCC, region and version, what "
                 "would be skipped and when windows open; store nothing"},
        {.name = "force-reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .help = "create even though the bundle does not cover the cohort (audited)"},
        {0},
};

const struct pfc_opt pfc_rollout_show_opts[] = {
        {.name = "watch",
         .type = PFC_OPT_FLAG,
         .help = "redraw until the rollout is paused, completed, expired, aborted or rolled "
                 "back"},
        {.name = "interval",
         .type = PFC_OPT_INT,
         .metavar = "S",
         .min = 1,
         .max = 3600,
         .help = "seconds between redraws (2)"},
        {0},
};

const struct pfc_opt pfc_rollout_members_opts[] = {
        {.name = "status",
         .type = PFC_OPT_ENUM,
         .choices = "pending|offered|deferred|downloading|installing|installed|failed|"
                    "rolled_back|timed_out|skipped|swapped|revert_pending|reverting|reverted|"
                    "revert_failed|already|deferred_out",
         .query = "status",
         .help = "only members in this status"},
        {.name = "stage",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = PFC_RO_STAGES_MAX,
         .help = "only members of stage N (1 is the first)"},
        {.name = "limit",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 1000,
         .query = "limit",
         .help = "members per page"},
        {.name = "all", .type = PFC_OPT_FLAG, .help = "follow the pages to the end of the list"},
        {0},
};

const struct pfc_opt pfc_rollout_pause_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .body = "reason",
         .help = "why (shown with the pause)"},
        {0},
};

const struct pfc_opt pfc_rollout_abort_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .body = "reason",
         .help = "why (kept with the rollout)"},
        {0},
};

const struct pfc_opt pfc_rollout_member_pos[] = {
        {.name = "ID", .type = PFC_OPT_INT, .min = 1, .max = INT64_MAX, .help = "rollout id"},
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .help = "the member's terminal"},
        {.name = "ACTION",
         .type = PFC_OPT_ENUM,
         .choices = "retry|skip|cancel",
         .help = "retry: offer it again (failed, timed out, deferred out or skipped); skip: never "
                 "offer it in this rollout (pending or deferred out); cancel: withdraw an offer "
                 "not started (offered or deferred)"},
        {0},
};

const struct pfc_opt pfc_rollout_member_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .help = "why (kept in the audit)"},
        {0},
};

const struct pfc_opt pfc_rollout_rollback_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .body = "reason",
         .help = "why (kept with the rollout)"},
        {.name = "bundle",
         .type = PFC_OPT_STR,
         .metavar = "ID",
         .body = "bundle",
         .help = "offer this stored bundle to every installed member instead of the one it ran "
                 "before (needed for firmware: terminals refuse older versions)"},
        {0},
};
const struct pfc_opt pfc_rollout_approve_opts[] = {
        {.name = "digest",
         .type = PFC_OPT_STR,
         .metavar = "HEX",
         .required = true,
         .body = "digest",
         .help = "the digest of the preview approved (posfleet rollout preview ID)"},
        {0},
};

/* --- run --- */

/* The request's own keys beside the definition: dry_run, force_reason. */
static int ro__create_flags(const struct pfc_args *a, json_t *def, struct pf_error *err)
{
    const char *force = pfc_args_get(a, "force-reason");

    if (pfc_args_get(a, "dry-run") && json_object_set_new(def, "dry_run", json_true()))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (force && (!*force || json_object_set_new(def, "force_reason", json_string(force))))
        return pf_error_set(err, PF_EINVAL, "--force-reason: give the reason as text");
    return 0;
}

int pfc_cmd_rollout_create(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    json_t *def = NULL, *resp = NULL;
    char *text;
    int rc;

    if ((rc = pfc_rollout_definition(a, &def, err)))
        return pfc_usage_failed(ctx, rc); /* before any request: exit 2, as cli.md says */
    if ((rc = ro__create_flags(a, def, err))) {
        json_decref(def);
        return pfc_usage_failed(ctx, rc);
    }
    text = pfc_rollout_dump(def);
    json_decref(def);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_call_raw(ctx, "POST", "/v1/rollouts", "application/json", text, strlen(text), NULL,
                      &resp, err);
    free(text);
    if (!rc)
        rc = pfc_emit(ctx, a,
                      pfc_args_get(a, "dry-run") ? pfc_render_rollout_preview : pfc_render_rollout,
                      resp, err);
    json_decref(resp);
    return rc;
}

/* --watch stops here: a final state, or a pause (nothing moves until ops act). */
static bool ro__final(json_t *r)
{
    const char *s = json_string_value(json_object_get(r, "state"));

    return s && (!strcmp(s, "completed") || !strcmp(s, "aborted") || !strcmp(s, "rolled_back") ||
                 !strcmp(s, "expired") || !strcmp(s, "paused"));
}

int pfc_cmd_rollout_member(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[PFC_URL_MAX];
    json_t *body, *resp = NULL;
    int rc;

    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)))
        return rc;
    body = json_pack("{s:s, s:s}", "action", pfc_args_pos(a, "ACTION"), "reason",
                     pfc_args_get(a, "reason"));
    if (!body)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_call(ctx, "POST", path, body, NULL, &resp, err);
    json_decref(body);
    if (!rc)
        rc = pfc_emit(ctx, a, pfc_render_rollout_member, resp, err);
    json_decref(resp);
    return rc;
}

int pfc_cmd_rollout_show(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    bool watch = pfc_args_flag(a, "watch");
    bool tty = isatty(fileno(ctx->io->out)) == 1;
    int64_t interval = pfc_args_int(a, "interval", 2);
    char path[PFC_URL_MAX];
    json_t *resp = NULL;
    int rc;

    if (pfc_args_get(a, "interval") && !watch)
        return pfc_usage_failed(
                ctx,
                pf_error_set(err, PF_EINVAL, "%s: --interval: only with --watch", a->cmd->name));
    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)))
        return rc;
    for (int frame = 0;; frame++) {
        struct timespec ts = {.tv_sec = (time_t)interval};

        if ((rc = pfc_call(ctx, "GET", path, NULL, NULL, &resp, err)))
            return rc;
        if (watch && tty)
            fputs("\033[H\033[2J", ctx->io->out); /* home, clear: a redraw in place */
        else if (frame)
            fputc('\n', ctx->io->out);
        rc = pfc_emit(ctx, a, pfc_render_rollout, resp, err);
        if (rc || !watch || ro__final(resp))
            break;
        json_decref(resp);
        resp = NULL;
        if (fflush(ctx->io->out) == EOF) {
            rc = pf_error_set(err, PF_EIO, "cannot write the answer");
            break;
        }
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
    }
    json_decref(resp);
    return rc;
}

/* Appends &key=val (or ?key=val) to a request path. */
static int ro__query_add(char *path, size_t len, const char *key, const char *val,
                         struct pf_error *err)
{
    size_t off = strlen(path);
    int n = snprintf(path + off, len - off, "%s%s=", strchr(path, '?') ? "&" : "?", key);

    if (n < 0 || (size_t)n >= len - off)
        return pf_error_set(err, PF_ETOOBIG, "request path too long");
    off += (size_t)n;
    if (pfc_url_escape(val, path, len, &off))
        return pf_error_set(err, PF_ETOOBIG, "request path too long");
    return 0;
}

int pfc_cmd_rollout_members(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[PFC_URL_MAX], stage[24], after[PFC_STR_MAX + 1] = "";
    json_t *all = NULL, *page = NULL;
    const char *stage_arg = pfc_args_get(a, "stage");
    bool every = pfc_args_flag(a, "all");
    int rc = 0;

    /* stage= counts from 1 like people do (the members' "stage" field from 0). */
    if (stage_arg)
        snprintf(stage, sizeof(stage), "%lld", (long long)pfc_args_int(a, "stage", 1));
    for (int pages = 0;; pages++) {
        json_t *list, *next;

        if (pages >= RO_MAX_PAGES)
            return pf_error_set(err, PF_ESCHEMA,
                                "unexpected answer from posfleetd: the pages do not end");
        if ((rc = pfc_request_path(a, stage_arg ? "stage" : NULL, stage, path, sizeof(path),
                                   err)) ||
            (*after && (rc = ro__query_add(path, sizeof(path), "after", after, err))))
            goto out_all;
        if ((rc = pfc_call(ctx, "GET", path, NULL, NULL, &page, err)))
            goto out_all;
        list = json_object_get(page, "members");
        next = json_object_get(page, "next");
        if (!json_is_array(list) || (next && !json_is_null(next) && !json_is_string(next))) {
            rc = pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"members\"");
            goto out_page;
        }
        if (!all) {
            all = page;
            page = NULL;
        } else if (json_array_extend(json_object_get(all, "members"), list)) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_page;
        }
        if (!json_is_string(next) || !every)
            break;
        if (!json_string_length(next) || json_string_length(next) > PFC_STR_MAX ||
            !strcmp(after, json_string_value(next))) {
            rc = pf_error_set(err, PF_ESCHEMA,
                              "unexpected answer from posfleetd: the pages do not end");
            goto out_page;
        }
        snprintf(after, sizeof(after), "%s", json_string_value(next));
        json_decref(page);
        page = NULL;
    }
    if (every && json_object_set_new(all, "next", json_null())) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_page;
    }
    rc = pfc_emit(ctx, a, pfc_render_rollout_members, all, err);
    if (!rc && !every && !ctx->json && json_is_string(json_object_get(all, "next")))
        fprintf(ctx->io->err, "posfleet: more members after %s: use --all for every page\n",
                json_string_value(json_object_get(all, "next")));
out_page:
    json_decref(page);
out_all:
    json_decref(all);
    return rc;
}
