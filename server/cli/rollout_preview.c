/*
 * rollout_preview.c - a rollout's preview for people (rollout_preview.h).
 */
#include "rollout_preview.h"

#include <inttypes.h>
#include <string.h>

#include "safe_text.h"
#include "table.h"

#define PV_LISTED 20 /* skipped terminals and members printed; --json has them all */

static const char *pv__dims[] = {"model", "hw_rev", "mcc", "region", "version"};
static const char *pv__dim_heads[] = {"model", "hardware", "MCC", "region", "running"};

static const char *pv__str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v ? v : "-";
}

static int64_t pv__int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* "PX-500 12, A920 3" of a {value: n} object, values as safe text. */
static void pv__tally(json_t *by, const char *dim, char *buf, size_t len)
{
    json_t *o = json_object_get(by, dim), *n;
    const char *k;
    size_t used = 0;

    buf[0] = 0;
    json_object_foreach(o, k, n)
    {
        char clean[96];
        int w;

        pfc_safe_text(k, clean, sizeof(clean));
        w = snprintf(buf + used, len - used, "%s%s %" PRId64, used ? ", " : "", clean,
                     json_is_integer(n) ? (int64_t)json_integer_value(n) : 0);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, len, "-");
}

int pfc_render_rollout_preview(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *r,
                               struct pf_error *err)
{
    json_t *stages = json_object_get(r, "stages"), *s, *w, *t;
    char buf[1024], when[128], clean[256];
    size_t i;

    (void)a;
    if (!json_is_string(json_object_get(r, "digest")))
        return pf_error_set(err, PF_ESCHEMA, "answer is not a preview (no \"digest\")");
    pfc_safe_text(pv__str(r, "version"), clean, sizeof(clean));
    fprintf(out, "preview   %s %s, %" PRId64 " terminals%s\n", pv__str(r, "kind"), clean,
            pv__int(r, "cohort"),
            json_is_true(json_object_get(r, "dry_run")) ? " (nothing is stored)" : "");
    fprintf(out, "digest    %s\n", json_string_value(json_object_get(r, "digest")));
    if (json_is_string(json_object_get(r, "state")))
        fprintf(out, "state     %s\n", pv__str(r, "state"));
    if (json_is_string(json_object_get(r, "recorded_digest"))) {
        const char *rec = pv__str(r, "recorded_digest");

        fprintf(out, "created   with plan %s%s\n", rec,
                strcmp(rec, pv__str(r, "digest")) == 0
                        ? " (the same: approve it with --digest)"
                        : " (the cohort changed since: the approval no longer holds)");
    }
    if (json_is_string(json_object_get(r, "error"))) {
        pfc_safe_text(json_string_value(json_object_get(r, "error")), buf, sizeof(buf));
        fprintf(out, "cannot be staged: %s\n", buf);
    }
    if (json_is_string(json_object_get(r, "refused"))) {
        pfc_safe_text(json_string_value(json_object_get(r, "refused")), buf, sizeof(buf));
        fprintf(out, "REFUSED   %s (create it with --force-reason TEXT to go ahead)\n", buf);
    }
    fprintf(out,
            "skipped   %" PRId64 " already run it, %" PRId64 " not targeted, %" PRId64
            " with a merchant category the fee table lacks\n",
            pv__int(r, "already"), pv__int(r, "not_targeted"), pv__int(r, "mcc_uncovered"));
    fprintf(out, "\nwhole cohort\n");
    for (size_t d = 0; d < sizeof(pv__dims) / sizeof(pv__dims[0]); d++) {
        pv__tally(json_object_get(r, "by"), pv__dims[d], buf, sizeof(buf));
        fprintf(out, "  %-9s %s\n", pv__dim_heads[d], buf);
    }
    json_array_foreach(stages, i, s)
    {
        fprintf(out, "\nstage %zu (%s): %" PRId64 " terminals\n", i + 1, pv__str(s, "size"),
                pv__int(s, "members"));
        for (size_t d = 0; d < sizeof(pv__dims) / sizeof(pv__dims[0]); d++) {
            pv__tally(json_object_get(s, "by"), pv__dims[d], buf, sizeof(buf));
            fprintf(out, "  %-9s %s\n", pv__dim_heads[d], buf);
        }
    }
    if (json_array_size(json_object_get(r, "windows")))
        fprintf(out, "\nmaintenance windows\n");
    json_array_foreach(json_object_get(r, "windows"), i, w)
    {
        int64_t next = pv__int(w, "next_open_ms");

        pfc_safe_text(pv__str(w, "tz"), clean, sizeof(clean));
        if (json_is_true(json_object_get(w, "open_now")))
            snprintf(when, sizeof(when), "open now");
        else if (json_is_null(json_object_get(w, "next_open_ms")))
            snprintf(when, sizeof(when), "never (zone not installed)");
        else {
            char rel[48], utc[48];

            pfc_reltime(now_ms, next, rel, sizeof(rel));
            pfc_showtime(next, utc, sizeof(utc));
            snprintf(when, sizeof(when), "opens %s (%s)", rel, utc);
        }
        fprintf(out, "  %-28s %6" PRId64 " terminals  %s\n", clean, pv__int(w, "terminals"), when);
    }
    if (json_array_size(json_object_get(r, "skipped")))
        fprintf(out, "\nskipped or not covered (first %d)\n", PV_LISTED);
    json_array_foreach(json_object_get(r, "skipped"), i, t)
    {
        char why[160];

        if (i >= PV_LISTED)
            break;
        pfc_safe_text(pv__str(t, "serial"), clean, sizeof(clean));
        pfc_safe_text(pv__str(t, "why"), why, sizeof(why));
        fprintf(out, "  %-20s %s\n", clean, why);
    }
    return ferror(out) ? pf_error_set(err, PF_EIO, "write error") : 0;
}
