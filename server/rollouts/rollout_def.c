/*
 * rollout_def.c - the rollout definition and its pure rules (rollout_def.h).
 */
#define _GNU_SOURCE /* timegm, strptime */
#include "rollouts/rollout_def.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifecycle/merchant.h"
#include "pf/jsonv.h"
#include "pf/zone.h"

const char *const pfs_ro_state_names[] = {
        "scheduled", "running",      "paused",      "gated",   "completed",
        "aborted",   "rolling_back", "rolled_back", "expired", NULL,
};

bool pfs_ro_state_live(enum pfs_ro_state s)
{
    return s == PFS_RO_SCHEDULED || s == PFS_RO_RUNNING || s == PFS_RO_PAUSED ||
           s == PFS_RO_GATED || s == PFS_RO_ROLLING_BACK;
}

bool pfs_ro_state_plans(enum pfs_ro_state s)
{
    return pfs_ro_state_live(s) && s != PFS_RO_ROLLING_BACK;
}

const char *const pfs_ro_filter_names[] = {
        "models", "hw_revs", "fw_versions", "fee_versions", "merchants",
        "mccs",   "regions", "tags",        "serials",      NULL,
};

static const char *const ro__keys[] = {
        "name",     "bundle",          "cohort",         "stages",        "soak_s",  "gate",
        "criteria", "window",          "max_concurrent", "timeout_s",     "retry_s", "start_at",
        "deadline", "offer_timeout_s", "max_deferrals",  "defer_limit_s", NULL,
};
static const char *const ro__criteria_keys[] = {
        "max_failure_rate", "max_rollback_rate", "max_unhealthy_rate", "min_sample", NULL,
};
static const char *const ro__stage_keys[] = {"size", "soak_s", "gate", NULL};

static int ro__only_keys(json_t *o, const char *const *keys, const char *where,
                         struct pf_error *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        int i;

        (void)v;
        for (i = 0; keys[i]; i++) {
            if (strcmp(k, keys[i]) == 0)
                break;
        }
        if (!keys[i])
            return pf_error_set(err, PF_EINVAL, "%s%s%.64s: unknown key", where, *where ? "." : "",
                                k);
    }
    return 0;
}

int pfs_ro_time_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return PF_EINVAL;
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

static int ro__time(json_t *o, const char *key, int64_t *ms, struct pf_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || pfs_ro_time_parse(json_string_value(v), ms) != 0)
        return pf_error_set(err, PF_EINVAL, "%s: RFC 3339 UTC time, e.g. 2026-11-28T01:00:00Z",
                            key);
    return 0;
}

static int ro__rate(json_t *o, const char *key, double *out, struct pf_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
        return pf_error_set(err, PF_EINVAL, "criteria.%s: a fraction 0..1", key);
    *out = json_number_value(v);
    return 0;
}

/* A cohort filter: an array of 1..max non-empty printable strings; kept as JSON text. */
static int ro__filter(json_t *cohort, int f, struct pfs_ro_def *d, struct pf_error *err)
{
    const char *key = pfs_ro_filter_names[f];
    size_t max = f == PFS_RO_SERIALS ? PFS_RO_SERIALS_MAX : PFS_RO_VALUES_MAX;
    json_t *v = json_object_get(cohort, key), *e;
    size_t i;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
        return pf_error_set(err, PF_EINVAL, "cohort.%s: an array of 1..%zu strings", key, max);
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);

        if (!s || !*s || json_string_length(e) > 128)
            return pf_error_set(err, PF_EINVAL, "cohort.%s[%zu]: a string of 1..128 characters",
                                key, i);
        for (const char *p = s; *p; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
                return pf_error_set(err, PF_EINVAL, "cohort.%s[%zu]: control character", key, i);
        }
    }
    d->filters[f] = json_dumps(v, JSON_COMPACT);
    return d->filters[f] ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");
}

/* "10%", "0.5%" (two decimals at most) or a count "20" / 20. */
static int ro__size(json_t *v, size_t i, struct pfs_ro_stage *s, struct pf_error *err)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 1 || json_integer_value(v) > 100000000)
            return pf_error_set(err, PF_EINVAL, "stages[%zu]: a count of at least 1", i);
        s->value = json_integer_value(v);
        snprintf(s->size, sizeof(s->size), "%" PRId64, s->value);
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) < sizeof(s->size)) {
        const char *t = json_string_value(v);
        size_t n = strlen(t);
        int64_t whole = 0, frac = 0;
        int fd = 0;
        const char *p = t;

        s->pct = n > 1 && t[n - 1] == '%';
        for (; *p >= '0' && *p <= '9' && p - t < 9; p++)
            whole = whole * 10 + (*p - '0');
        if (p == t)
            goto bad;
        if (s->pct && *p == '.') {
            for (p++; *p >= '0' && *p <= '9' && fd < 2; p++, fd++)
                frac = frac * 10 + (*p - '0');
            if (fd == 0)
                goto bad;
            if (fd == 1)
                frac *= 10;
        }
        if (*p != (s->pct ? '%' : '\0') || (s->pct && p[1]))
            goto bad;
        if (s->pct) {
            s->value = whole * 100 + frac;
            if (s->value < 1 || s->value > 10000)
                return pf_error_set(err, PF_EINVAL, "stages[%zu]: a percentage 0.01%%..100%%", i);
        } else {
            s->value = whole;
            if (s->value < 1)
                return pf_error_set(err, PF_EINVAL, "stages[%zu]: a count of at least 1", i);
        }
        snprintf(s->size, sizeof(s->size), "%s", t);
        return 0;
    }
bad:
    return pf_error_set(err, PF_EINVAL, "stages[%zu]: a size like \"10%%\" or a count like 20", i);
}

/* Stage objects may set soak_s and gate; what they leave out comes from the
 * top level (gate_set / soak_s < 0 mark "not given" until then). */
static int ro__stages(json_t *arr, struct pfs_ro_def *d, bool gate_set[PFS_RO_STAGES_MAX],
                      struct pf_error *err)
{
    json_t *v;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > PFS_RO_STAGES_MAX)
        return pf_error_set(err, PF_EINVAL, "stages: an array of 1..%d stages", PFS_RO_STAGES_MAX);
    json_array_foreach(arr, i, v)
    {
        struct pfs_ro_stage *s = &d->stages[i];
        int rc;

        s->soak_s = -1;
        gate_set[i] = false;
        if (json_is_object(v)) {
            char where[32];
            json_t *g;

            snprintf(where, sizeof(where), "stages[%zu]", i);
            if ((rc = ro__only_keys(v, ro__stage_keys, where, err)))
                return rc;
            if (!json_object_get(v, "size"))
                return pf_error_set(err, PF_EINVAL, "stages[%zu].size: required", i);
            if ((rc = ro__size(json_object_get(v, "size"), i, s, err)))
                return rc;
            if ((rc = pf_json_int(v, "soak_s", false, 0, 2592000, &s->soak_s, err))) {
                pf_error_prefix(err, "stages[%zu]", i);
                return rc;
            }
            g = json_object_get(v, "gate");
            if (g && !json_is_null(g)) {
                if ((rc = pf_json_bool(v, "gate", true, &s->gate, err))) {
                    pf_error_prefix(err, "stages[%zu]", i);
                    return rc;
                }
                gate_set[i] = true;
            }
        } else if ((rc = ro__size(v, i, s, err))) {
            return rc;
        }
        d->nstages = i + 1;
    }
    /* Sizes grow, in the same unit or from counts to percentages. */
    for (i = 1; i < d->nstages; i++) {
        const struct pfs_ro_stage *a = &d->stages[i - 1], *b = &d->stages[i];

        if ((a->pct == b->pct && b->value <= a->value) || (a->pct && !b->pct))
            return pf_error_set(err, PF_EINVAL,
                                "stages[%zu]: sizes are cumulative and must grow (%s after %s)", i,
                                b->size, a->size);
    }
    if (!d->stages[d->nstages - 1].pct || d->stages[d->nstages - 1].value != 10000)
        return pf_error_set(err, PF_EINVAL, "stages[%zu]: the last stage must be 100%%",
                            d->nstages - 1);
    return 0;
}

static int ro__hhmm(json_t *w, const char *key, int *out, struct pf_error *err)
{
    json_t *v = json_object_get(w, key);
    const char *t;

    if (!v || json_is_null(v))
        return 0;
    t = json_string_value(v);
    if (!t || strlen(t) != 5 || t[2] != ':' || t[0] < '0' || t[0] > '2' || t[1] < '0' ||
        t[1] > '9' || t[3] < '0' || t[3] > '5' || t[4] < '0' || t[4] > '9')
        goto bad;
    *out = ((t[0] - '0') * 10 + (t[1] - '0')) * 60 + (t[3] - '0') * 10 + (t[4] - '0');
    if (*out > 1440 || (*out == 1440 && strcmp(key, "end") != 0))
        goto bad;
    return 0;
bad:
    return pf_error_set(err, PF_EINVAL, "window.%s: HH:MM, 00:00..23:59 (end may be 24:00)", key);
}

int pfs_ro_json_text(json_t *obj, const char *key, bool required, size_t max, char *out,
                     size_t outsz, struct pf_error *err)
{
    json_t *v = json_object_get(obj, key);

    out[0] = '\0';
    if (!required && json_is_string(v) && json_string_length(v) == 0)
        return 0;
    return pf_json_text(obj, key, required, max, 0, out, outsz, err);
}

int pfs_ro_def_parse(json_t *o, int64_t now_ms, struct pfs_ro_def *d, struct pf_error *err)
{
    bool gate_set[PFS_RO_STAGES_MAX];
    json_t *v;
    int rc;

    memset(d, 0, sizeof(*d));
    d->soak_s = 3600;
    d->max_failure_rate = d->max_rollback_rate = d->max_unhealthy_rate = 0.05;
    d->min_sample = 10;
    d->win_start = 60;
    d->win_end = 300;
    d->max_concurrent = 50;
    d->timeout_s = 7200;
    d->retry_s = 900;
    d->offer_timeout_s = 3600;
    d->max_deferrals = 3;
    d->defer_limit_s = 14400;
    if (!json_is_object(o))
        return pf_error_set(err, PF_EINVAL, "the definition must be a JSON object");
    if ((rc = ro__only_keys(o, ro__keys, "", err)) ||
        (rc = pfs_ro_json_text(o, "name", false, PF_TEXT_LABEL_MAX, d->name, sizeof(d->name),
                               err)) ||
        (rc = pf_json_str(o, "bundle", true, PF_B2_HEX_LEN, PF_B2_HEX_LEN, d->bundle, err)))
        goto fail;
    for (const char *p = d->bundle; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            rc = pf_error_set(err, PF_EINVAL, "bundle: a bundle id (64 lowercase hex digits)");
            goto fail;
        }
    }
    v = json_object_get(o, "cohort");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            rc = pf_error_set(err, PF_EINVAL, "cohort: must be an object");
            goto fail;
        }
        if ((rc = ro__only_keys(v, pfs_ro_filter_names, "cohort", err)))
            goto fail;
        for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
            if ((rc = ro__filter(v, f, d, err)))
                goto fail;
        }
    }
    if ((rc = pf_json_int(o, "soak_s", false, 0, 2592000, &d->soak_s, err)) ||
        (rc = pf_json_bool(o, "gate", false, &d->gate, err)))
        goto fail;
    if (!json_object_get(o, "stages")) {
        rc = pf_error_set(err, PF_EINVAL, "stages: required");
        goto fail;
    }
    if ((rc = ro__stages(json_object_get(o, "stages"), d, gate_set, err)))
        goto fail;
    for (size_t i = 0; i < d->nstages; i++) {
        if (d->stages[i].soak_s < 0)
            d->stages[i].soak_s = d->soak_s;
        if (!gate_set[i])
            d->stages[i].gate = d->gate;
    }
    v = json_object_get(o, "criteria");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            rc = pf_error_set(err, PF_EINVAL, "criteria: must be an object");
            goto fail;
        }
        if ((rc = ro__only_keys(v, ro__criteria_keys, "criteria", err)) ||
            (rc = ro__rate(v, "max_failure_rate", &d->max_failure_rate, err)) ||
            (rc = ro__rate(v, "max_rollback_rate", &d->max_rollback_rate, err)) ||
            (rc = ro__rate(v, "max_unhealthy_rate", &d->max_unhealthy_rate, err)))
            goto fail;
        if ((rc = pf_json_int(v, "min_sample", false, 1, 1000000, &d->min_sample, err))) {
            pf_error_prefix(err, "criteria");
            goto fail;
        }
    }
    v = json_object_get(o, "window");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v) ||
            ro__only_keys(v, (const char *const[]){"start", "end", NULL}, "window", err)) {
            rc = pf_error_set(err, PF_EINVAL, "window: {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}");
            goto fail;
        }
        if ((rc = ro__hhmm(v, "start", &d->win_start, err)) ||
            (rc = ro__hhmm(v, "end", &d->win_end, err)))
            goto fail;
    }
    if ((rc = pf_json_int(o, "max_concurrent", false, 1, 100000, &d->max_concurrent, err)) ||
        (rc = pf_json_int(o, "timeout_s", false, 10, 604800, &d->timeout_s, err)) ||
        (rc = pf_json_int(o, "retry_s", false, 10, 86400, &d->retry_s, err)) ||
        (rc = pf_json_int(o, "offer_timeout_s", false, 0, 604800, &d->offer_timeout_s, err)) ||
        (rc = pf_json_int(o, "max_deferrals", false, 0, 100000, &d->max_deferrals, err)) ||
        (rc = pf_json_int(o, "defer_limit_s", false, 0, 2592000, &d->defer_limit_s, err)) ||
        (rc = ro__time(o, "start_at", &d->start_ms, err)) ||
        (rc = ro__time(o, "deadline", &d->deadline_ms, err)))
        goto fail;
    if (d->offer_timeout_s > 0 && d->offer_timeout_s < 10) {
        rc = pf_error_set(err, PF_EINVAL, "offer_timeout_s: 0 (never) or 10..604800");
        goto fail;
    }
    if (d->start_ms == 0)
        d->start_ms = now_ms;
    if (d->deadline_ms && d->deadline_ms <= d->start_ms) {
        rc = pf_error_set(err, PF_EINVAL, "deadline: must be after the start");
        goto fail;
    }
    if (now_ms > 0 && d->deadline_ms && d->deadline_ms <= now_ms) {
        rc = pf_error_set(err, PF_EINVAL, "deadline: already passed");
        goto fail;
    }
    return 0;
fail:
    pfs_ro_def_release(d);
    return rc;
}

static void ro__hhmm_fmt(int m, char out[8])
{
    unsigned h = (unsigned)(m / 60) % 25u, mm = (unsigned)(m % 60);

    out[0] = (char)('0' + h / 10);
    out[1] = (char)('0' + h % 10);
    out[2] = ':';
    out[3] = (char)('0' + mm / 10);
    out[4] = (char)('0' + mm % 10);
    out[5] = '\0';
}

static json_t *ro__time_json(int64_t ms)
{
    char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!ms || !gmtime_r(&t, &tm))
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

json_t *pfs_ro_def_to_json(const struct pfs_ro_def *d)
{
    json_t *o = NULL, *cohort = json_object(), *stages = json_array();
    char ws[8], we[8];

    if (!cohort || !stages)
        goto fail;
    for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
        json_t *v;

        if (!d->filters[f])
            continue;
        v = json_loads(d->filters[f], 0, NULL);
        if (!v || json_object_set_new(cohort, pfs_ro_filter_names[f], v))
            goto fail;
    }
    for (size_t i = 0; i < d->nstages; i++) {
        const struct pfs_ro_stage *s = &d->stages[i];

        if (json_array_append_new(stages, json_pack("{s:s, s:I, s:b}", "size", s->size, "soak_s",
                                                    (json_int_t)s->soak_s, "gate", s->gate)))
            goto fail;
    }
    ro__hhmm_fmt(d->win_start, ws);
    ro__hhmm_fmt(d->win_end, we);
    o = json_pack("{s:s, s:s, s:O, s:O, s:I, s:b, s:{s:f, s:f, s:f, s:I}, s:{s:s, s:s}, s:I, s:I,"
                  " s:I, s:o, s:o, s:I, s:I, s:I}",
                  "name", d->name, "bundle", d->bundle, "cohort", cohort, "stages", stages,
                  "soak_s", (json_int_t)d->soak_s, "gate", d->gate, "criteria", "max_failure_rate",
                  d->max_failure_rate, "max_rollback_rate", d->max_rollback_rate,
                  "max_unhealthy_rate", d->max_unhealthy_rate, "min_sample",
                  (json_int_t)d->min_sample, "window", "start", ws, "end", we, "max_concurrent",
                  (json_int_t)d->max_concurrent, "timeout_s", (json_int_t)d->timeout_s, "retry_s",
                  (json_int_t)d->retry_s, "start_at", ro__time_json(d->start_ms), "deadline",
                  ro__time_json(d->deadline_ms), "offer_timeout_s", (json_int_t)d->offer_timeout_s,
                  "max_deferrals", (json_int_t)d->max_deferrals, "defer_limit_s",
                  (json_int_t)d->defer_limit_s);
fail:
    json_decref(cohort);
    json_decref(stages);
    return o;
}

void pfs_ro_def_release(struct pfs_ro_def *d)
{
    for (int f = 0; f < PFS_RO_FILTER_COUNT; f++) {
        free(d->filters[f]);
        d->filters[f] = NULL;
    }
}

bool pfs_ro_in_window(const struct pfs_ro_def *d, int minute)
{
    if (d->win_start == d->win_end || (d->win_start == 0 && d->win_end == 1440))
        return true;
    if (d->win_start < d->win_end)
        return minute >= d->win_start && minute < d->win_end;
    return minute >= d->win_start || minute < d->win_end; /* wraps midnight */
}

int pfs_ro_local_minute(const char *tz, int64_t now_ms, int *minute)
{
    int64_t t = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    int32_t off = 0;
    int rc = pf_zone_offset_at(NULL, tz, t, &off, NULL);

    if (rc)
        return rc == PF_ENOMEM ? rc : PF_EINVAL;
    *minute = (int)((((t + off) % 86400) + 86400) % 86400 / 60);
    return 0;
}
