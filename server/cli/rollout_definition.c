/*
 * rollout_definition.c - the definition object of `posfleet rollout create`
 * (rollout_definition.h): each flag's value checked and converted here
 * (durations, rates, times, the window, stages, cohort filters), so a typo is
 * refused with the flag named before anything reaches posfleetd.
 */
#include "rollout_definition.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apierr.h"
#include "pf/fileio.h"
#include "pf/num.h"
#include "pf/text.h"
#include "pf/topic.h"
#include "when.h"

#define RO_VALUE_MAX       128    /* characters of one cohort filter value */
#define RO_VALUES_MAX      1000   /* values of one filter other than serials */
#define RO_SERIALS_MAX     100000 /* --cohort serials= */
#define RO_COUNT_MAX       100000000
#define RO_BUNDLE_HEX      64
#define RO_DEF_FILE_MAX    (16u * 1024 * 1024)
#define RO_SERIAL_FILE_MAX (4u * 1024 * 1024)

/* --- value parsers --- */

int pfc_duration_parse(const char *s, int64_t *seconds)
{
    static const char units[] = "smhd";
    static const int64_t mult[] = {1, 60, 3600, 86400};
    char num[24];
    size_t n = strlen(s);
    int u = 0;
    uint64_t v;

    if (n && strchr(units, s[n - 1]))
        u = (int)(strchr(units, s[--n]) - units);
    if (n >= sizeof(num))
        return PF_EINVAL;
    memcpy(num, s, n);
    num[n] = '\0';
    /* A count of units small enough that any unit still fits (about 10^9 s). */
    if (pf_parse_u64(num, 0, 1000000000, &v))
        return PF_EINVAL;
    *seconds = (int64_t)v * mult[u];
    return 0;
}

static int ro__duration(const char *flag, const char *v, int64_t min, int64_t max, int64_t *out,
                        struct pf_error *err)
{
    if (pfc_duration_parse(v, out))
        return pf_error_set(err, PF_EINVAL,
                            "--%s: expected a duration (90, 90s, 30m, 2h, 1d), got '%.40s'", flag,
                            v);
    if (*out < min || *out > max)
        return pf_error_set(err, PF_EINVAL, "--%s: %.40s is outside %llds..%llds", flag, v,
                            (long long)min, (long long)max);
    return 0;
}

/* "0.05", "0", "1" or "5%" -> a fraction 0..1. */
static int ro__rate(const char *flag, const char *v, double *out, struct pf_error *err)
{
    char *end = NULL;
    size_t n = strlen(v);
    double x = 0;

    errno = 0;
    if (n && (isdigit((unsigned char)v[0]) || v[0] == '.'))
        x = strtod(v, &end);
    if (!n || !end || errno || !isfinite(x) || (*end && strcmp(end, "%")))
        return pf_error_set(err, PF_EINVAL,
                            "--%s: expected a fraction 0..1 or a percentage, got '%.40s'", flag, v);
    if (*end == '%')
        x /= 100.0;
    if (x < 0 || x > 1)
        return pf_error_set(err, PF_EINVAL, "--%s: %.40s is not between 0 and 1 (0%%..100%%)", flag,
                            v);
    *out = x;
    return 0;
}

/*
 * A time typed with any offset ("2026-11-28T09:00+08:00", "...Z") or in the
 * display zone ("2026-11-28 09:00", when.h), as the RFC 3339 UTC text the
 * API takes: "2026-11-28T01:00:00Z" into out.
 */
static int ro__time(const char *flag, const char *v, char out[32], struct pf_error *err)
{
    int64_t ms;
    time_t t;
    struct tm tm;

    if (pfc_time_parse(pfc_tz_current(), v, &ms) || strspn(v, "0123456789") == strlen(v))
        return pf_error_set(err, PF_EINVAL,
                            "--%s: expected an ISO 8601 time such as 2026-11-28T09:00+08:00, "
                            "2026-11-28T01:00Z or 2026-11-28 09:00 (in the display zone), got "
                            "'%.40s'",
                            flag, v);
    t = (time_t)(ms / 1000);
    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return pf_error_set(err, PF_EINVAL, "--%s: '%.40s' is out of range", flag, v);
    return 0;
}

static bool ro__hhmm(const char *s, bool end)
{
    int h, m;

    if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return false;
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    return m < 60 && (h < 24 || (end && h == 24 && m == 0));
}

/* "01:00-05:00" -> {"start": "01:00", "end": "05:00"}. */
static int ro__window(const char *v, json_t **out, struct pf_error *err)
{
    char start[6], end[6];

    if (strlen(v) != 11 || v[5] != '-')
        goto bad;
    memcpy(start, v, 5);
    start[5] = '\0';
    memcpy(end, v + 6, 5);
    end[5] = '\0';
    if (!ro__hhmm(start, false) || !ro__hhmm(end, true))
        goto bad;
    *out = json_pack("{s:s, s:s}", "start", start, "end", end);
    return *out ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");
bad:
    return pf_error_set(err, PF_EINVAL,
                        "--window: expected HH:MM-HH:MM, 00:00..23:59 (the end may be 24:00), "
                        "got '%.40s'",
                        v);
}

/* A stage size: "10%", "0.5%" (two decimals at most) -> basis points; "20" -> a count. */
static bool ro__size(const char *s, size_t n, bool *pct, int64_t *value)
{
    int64_t whole = 0, frac = 0;
    size_t i = 0, fd = 0;

    *pct = n > 1 && s[n - 1] == '%';
    if (*pct)
        n--;
    for (; i < n && isdigit((unsigned char)s[i]) && i < 9; i++)
        whole = whole * 10 + (s[i] - '0');
    if (i == 0)
        return false;
    if (*pct && i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]) && fd < 2; i++, fd++)
            frac = frac * 10 + (s[i] - '0');
        if (fd == 0)
            return false;
        if (fd == 1)
            frac *= 10;
    }
    if (i != n)
        return false;
    *value = *pct ? whole * 100 + frac : whole;
    return *pct ? *value >= 1 && *value <= 10000 : *value >= 1 && *value <= RO_COUNT_MAX;
}

/* Trims blanks around s[0..*n); returns the new start. */
static const char *ro__trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

static int ro__stages(const char *v, json_t **out, struct pf_error *err)
{
    json_t *arr = json_array();
    bool prev_pct = false;
    int64_t prev = 0;
    size_t count = 0;
    const char *p = v;
    int rc = 0;

    if (!arr)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = ro__trim(p, &n);
        char text[16];
        bool pct;
        int64_t value;

        if (!n || n >= sizeof(text) || !ro__size(s, n, &pct, &value)) {
            rc = pf_error_set(err, PF_EINVAL,
                              "--stages: stage %zu: expected a percentage 0.01%%..100%% or a "
                              "count like 20, got '%.*s'",
                              count + 1, (int)(n > 40 ? 40 : n), s);
            goto out_arr;
        }
        if (++count > PFC_RO_STAGES_MAX) {
            rc = pf_error_set(err, PF_EINVAL, "--stages: at most %d stages", PFC_RO_STAGES_MAX);
            goto out_arr;
        }
        memcpy(text, s, n);
        text[n] = '\0';
        if (count > 1 && ((prev_pct == pct && value <= prev) || (prev_pct && !pct))) {
            rc = pf_error_set(err, PF_EINVAL,
                              "--stages: stage %zu: sizes are cumulative and must grow (%s after "
                              "the one before)",
                              count, text);
            goto out_arr;
        }
        if (json_array_append_new(arr, pct ? json_string(text) : json_integer(value))) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_arr;
        }
        prev_pct = pct;
        prev = value;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!prev_pct || prev != 10000) {
        rc = pf_error_set(err, PF_EINVAL, "--stages: the last stage must be 100%%");
        goto out_arr;
    }
    *out = arr;
    return 0;
out_arr:
    json_decref(arr);
    return rc;
}

/* --- cohort --- */

struct ro_filter {
    const char *flag; /* as in --cohort F=... (and an option of that name) */
    const char *key;  /* in the definition's cohort object */
};

static const struct ro_filter ro__filters[] = {
        {"models", "models"},           {"hw-revs", "hw_revs"},
        {"fw-versions", "fw_versions"}, {"fee-versions", "fee_versions"},
        {"merchants", "merchants"},     {"mccs", "mccs"},
        {"regions", "regions"},         {"tags", "tags"},
        {"serials", "serials"},         {NULL, NULL},
};

static const struct ro_filter *ro__filter_find(const char *name, size_t n)
{
    for (const struct ro_filter *f = ro__filters; f->flag; f++) {
        if ((strlen(f->flag) == n && !memcmp(f->flag, name, n)) ||
            (strlen(f->key) == n && !memcmp(f->key, name, n)))
            return f;
    }
    return NULL;
}

/* Checks one value of filter f and appends it. where: "--cohort: serials". */
static int ro__filter_value(const struct ro_filter *f, const char *where, const char *s, size_t n,
                            json_t *arr, struct pf_error *err)
{
    bool serials = !strcmp(f->key, "serials");
    char v[RO_VALUE_MAX + 1];

    if (!n)
        return pf_error_set(err, PF_EINVAL, "%s: empty value", where);
    if (n > RO_VALUE_MAX)
        return pf_error_set(err, PF_EINVAL, "%s: '%.40s...' is longer than %d characters", where, s,
                            RO_VALUE_MAX);
    memcpy(v, s, n);
    v[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return pf_error_set(err, PF_EINVAL, "%s: value %zu: not printable ASCII", where,
                                json_array_size(arr) + 1);
    }
    if (serials && !pf_serial_valid(v))
        return pf_error_set(err, PF_EINVAL,
                            "%s: '%.40s' is not a serial (1 to %d characters of A-Z a-z 0-9 _ -)",
                            where, v, PF_SERIAL_MAX);
    if (!strcmp(f->key, "mccs") && (n != 4 || strspn(v, "0123456789") != 4))
        return pf_error_set(err, PF_EINVAL, "%s: '%.40s' is not a 4-digit MCC", where, v);
    if (json_array_size(arr) >= (serials ? RO_SERIALS_MAX : RO_VALUES_MAX))
        return pf_error_set(err, PF_EINVAL, "%s: more than %d values", where,
                            serials ? RO_SERIALS_MAX : RO_VALUES_MAX);
    if (json_array_append_new(arr, json_stringn(v, n)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return 0;
}

/* serials=@FILE: one serial a line; blank lines and lines starting with '#' are skipped. */
static int ro__serials_file(const struct ro_filter *f, const char *where, const char *path,
                            json_t *arr, struct pf_error *err)
{
    char *data = NULL, w[PFC_STR_MAX + 64];
    size_t len, line = 0;
    const char *p;
    int rc;

    if (!*path)
        return pf_error_set(err, PF_EINVAL, "%s: '@' needs a file name", where);
    rc = pf_file_read(path, RO_SERIAL_FILE_MAX, &data, &len);
    if (rc)
        return pf_error_set(err, rc, "%s: %s: %s", where, path,
                            rc == PF_ETOOBIG ? "file too large" : pf_strerror(rc));
    for (p = data; *p && !rc;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *s;

        line++;
        if (n && p[n - 1] == '\r')
            n--;
        s = ro__trim(p, &n);
        if (n && *s != '#') {
            snprintf(w, sizeof(w), "%s: %s line %zu", where, path, line);
            rc = ro__filter_value(f, w, s, n, arr, err);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!rc && memchr(data, '\0', len))
        rc = pf_error_set(err, PF_EINVAL, "%s: %s is not a text file", where, path);
    if (!rc && !json_array_size(arr))
        rc = pf_error_set(err, PF_EINVAL, "%s: %s lists no serial", where, path);
    free(data);
    return rc;
}

/* The values of filter f from "a,b,c" (or "@FILE" for serials) into cohort. */
static int ro__filter_list(json_t *cohort, const struct ro_filter *f, const char *where,
                           const char *v, size_t vlen, struct pf_error *err)
{
    json_t *arr;
    int rc = 0;

    if (json_object_get(cohort, f->key))
        return pf_error_set(err, PF_EINVAL, "%s: given more than once", where);
    if (!(arr = json_array()))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (vlen && v[0] == '@' && !strcmp(f->key, "serials")) {
        char path[PFC_STR_MAX + 1];

        snprintf(path, sizeof(path), "%.*s", (int)(vlen - 1), v + 1);
        rc = ro__serials_file(f, where, path, arr, err);
    } else {
        const char *p = v, *end = v + vlen;

        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
            const char *s = ro__trim(p, &n);

            if ((rc = ro__filter_value(f, where, s, n, arr, err)))
                break;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (!rc && json_object_set_new(cohort, f->key, arr))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (rc)
        json_decref(arr);
    return rc;
}

/* --cohort "models=A,B;regions=EU-W;serials=@list.txt". */
static int ro__cohort(const char *v, json_t *cohort, struct pf_error *err)
{
    const char *p = v;
    int rc;

    for (;;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        const char *s = ro__trim(p, &n);
        const char *eq = memchr(s, '=', n);
        const struct ro_filter *f;
        char where[64];
        size_t klen;

        if (n) {
            klen = eq ? (size_t)(eq - s) : 0;
            while (klen && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
                klen--;
            f = eq ? ro__filter_find(s, klen) : NULL;
            if (!f)
                return pf_error_set(err, PF_EINVAL,
                                    "--cohort: expected FILTER=A,B with FILTER one of models, "
                                    "hw-revs, fw-versions, fee-versions, merchants, mccs, "
                                    "regions, tags, serials; got '%.*s'",
                                    (int)(n > 40 ? 40 : n), s);
            snprintf(where, sizeof(where), "--cohort: %s", f->flag);
            n -= (size_t)(eq + 1 - s);
            s = ro__trim(eq + 1, &n);
            if ((rc = ro__filter_list(cohort, f, where, s, n, err)))
                return rc;
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    if (!json_object_size(cohort))
        return pf_error_set(err, PF_EINVAL, "--cohort: no filter given");
    return 0;
}

/* --- the definition --- */

static int ro__set(json_t *o, const char *key, json_t *v, struct pf_error *err)
{
    if (!v || json_object_set_new(o, key, v))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return 0;
}

static bool ro__hex(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= RO_BUNDLE_HEX && strspn(s, "0123456789abcdefABCDEF") == n;
}

/* --definition FILE: the object as written, with BUNDLE filled in if given. */
static int ro__definition_file(const struct pfc_args *a, const char *path, const char *bundle,
                               json_t **out, struct pf_error *err)
{
    json_error_t jerr;
    json_t *def, *b;
    char *data = NULL;
    size_t len;
    int rc;

    for (size_t i = 0; a->cmd->opts && a->cmd->opts[i].name; i++) {
        const char *o = a->cmd->opts[i].name;

        /* the request's own flags go with any definition */
        if (a->val[i] && strcmp(o, "definition") && strcmp(o, "dry-run") &&
            strcmp(o, "force-reason"))
            return pf_error_set(err, PF_EINVAL, "--definition: cannot be combined with --%s",
                                a->cmd->opts[i].name);
    }
    rc = pf_file_read(path, RO_DEF_FILE_MAX, &data, &len);
    if (rc)
        return pf_error_set(err, rc, "--definition: %s: %s", path,
                            rc == PF_ETOOBIG ? "file too large" : pf_strerror(rc));
    def = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (!def)
        return pf_error_set(err, PF_EPARSE, "--definition: %s: line %d: %s", path, jerr.line,
                            jerr.text);
    if (!json_is_object(def)) {
        rc = pf_error_set(err, PF_EINVAL, "--definition: %s: expected a JSON object", path);
        goto out_def;
    }
    b = json_object_get(def, "bundle");
    if (bundle && b && !(json_is_string(b) && !strcmp(json_string_value(b), bundle))) {
        rc = pf_error_set(err, PF_EINVAL, "--definition: %s names another bundle than BUNDLE %.64s",
                          path, bundle);
        goto out_def;
    }
    if (!bundle && !b) {
        rc = pf_error_set(err, PF_EINVAL,
                          "missing BUNDLE (or a \"bundle\" in the definition file)");
        goto out_def;
    }
    if (bundle && !b && (rc = ro__set(def, "bundle", json_string(bundle), err)))
        goto out_def;
    *out = def;
    return 0;
out_def:
    json_decref(def);
    return rc;
}

static int ro__criteria(const struct pfc_args *a, json_t *def, struct pf_error *err)
{
    static const char *const rates[][2] = {
            {"max-failure-rate", "max_failure_rate"},
            {"max-rollback-rate", "max_rollback_rate"},
            {"max-unhealthy-rate", "max_unhealthy_rate"},
    };
    json_t *crit = json_object();
    const char *v;
    int rc = 0;

    if (!crit)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]) && !rc; i++) {
        double x = 0;

        if (!(v = pfc_args_get(a, rates[i][0])))
            continue;
        if (!(rc = ro__rate(rates[i][0], v, &x, err)))
            rc = ro__set(crit, rates[i][1], json_real(x), err);
    }
    if (!rc && pfc_args_get(a, "min-sample"))
        rc = ro__set(crit, "min_sample", json_integer((json_int_t)pfc_args_int(a, "min-sample", 0)),
                     err);
    if (rc || !json_object_size(crit)) {
        json_decref(crit);
        return rc;
    }
    return ro__set(def, "criteria", crit, err);
}

struct ro_duration {
    const char *flag, *key;
    int64_t min, max;
};

/* Sets key from the duration option d->flag when it is given. */
static int ro__duration_set(const struct pfc_args *a, json_t *def, const struct ro_duration *d,
                            struct pf_error *err)
{
    const char *v = pfc_args_get(a, d->flag);
    int64_t s = 0;
    int rc;

    if (!v)
        return 0;
    if ((rc = ro__duration(d->flag, v, d->min, d->max, &s, err)))
        return rc;
    return ro__set(def, d->key, json_integer((json_int_t)s), err);
}

static int ro__definition_flags(const struct pfc_args *a, const char *bundle, json_t *def,
                                struct pf_error *err)
{
    static const struct ro_duration durations[] = {
            {"soak", "soak_s", 0, 2592000},
            {"update-timeout", "timeout_s", 10, 604800},
            {"retry", "retry_s", 10, 86400},
    };
    const char *v, *start = pfc_args_get(a, "start-at"), *deadline = pfc_args_get(a, "deadline");
    char start_utc[32] = "", deadline_utc[32] = "";
    json_t *cohort = NULL, *j = NULL;
    int rc;

    if (!bundle)
        return pf_error_set(err, PF_EINVAL, "missing BUNDLE");
    if (!ro__hex(bundle))
        return pf_error_set(err, PF_EINVAL,
                            "BUNDLE: expected a bundle id (hex, 'posfleet bundles'), got '%.40s'",
                            bundle);
    if ((rc = ro__set(def, "bundle", json_string(bundle), err)))
        return rc;
    if ((v = pfc_args_get(a, "name"))) {
        /* the same check as posfleetd's (pf/text.h): characters, not bytes */
        if ((rc = pf_text_check("--name", v, strlen(v), PF_TEXT_LABEL_MAX, 0, NULL, err)) ||
            (rc = ro__set(def, "name", json_string(v), err)))
            return rc;
    }

    if (!(cohort = json_object()))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if ((v = pfc_args_get(a, "cohort")) && (rc = ro__cohort(v, cohort, err)))
        goto out_cohort;
    for (const struct ro_filter *f = ro__filters; f->flag; f++) {
        char where[32];

        if (!(v = pfc_args_get(a, f->flag)))
            continue;
        snprintf(where, sizeof(where), "--%s", f->flag);
        if ((rc = ro__filter_list(cohort, f, where, v, strlen(v), err)))
            goto out_cohort;
    }
    if (json_object_size(cohort)) {
        rc = ro__set(def, "cohort", cohort, err);
        cohort = NULL;
        if (rc)
            return rc;
    }
    json_decref(cohort);
    cohort = NULL;

    if (!(v = pfc_args_get(a, "stages")))
        return pf_error_set(err, PF_EINVAL, "--stages is required (or --definition)");
    if ((rc = ro__stages(v, &j, err)) || (rc = ro__set(def, "stages", j, err)))
        goto out_cohort;

    if ((v = pfc_args_get(a, "soak")) && (rc = ro__duration_set(a, def, &durations[0], err)))
        goto out_cohort;
    if (pfc_args_flag(a, "gate") && (rc = ro__set(def, "gate", json_true(), err)))
        goto out_cohort;
    if ((rc = ro__criteria(a, def, err)))
        goto out_cohort;
    if ((v = pfc_args_get(a, "window"))) {
        if ((rc = ro__window(v, &j, err)) || (rc = ro__set(def, "window", j, err)))
            goto out_cohort;
    }
    if (pfc_args_get(a, "max-concurrent") &&
        (rc = ro__set(def, "max_concurrent",
                      json_integer((json_int_t)pfc_args_int(a, "max-concurrent", 0)), err)))
        goto out_cohort;
    if ((rc = ro__duration_set(a, def, &durations[1], err)) ||
        (rc = ro__duration_set(a, def, &durations[2], err)))
        goto out_cohort;
    if (start && ((rc = ro__time("start-at", start, start_utc, err)) ||
                  (rc = ro__set(def, "start_at", json_string(start_utc), err))))
        goto out_cohort;
    if (deadline && ((rc = ro__time("deadline", deadline, deadline_utc, err)) ||
                     (rc = ro__set(def, "deadline", json_string(deadline_utc), err))))
        goto out_cohort;
    /* Same fixed format, so the text order is the time order. */
    if (start && deadline && strcmp(deadline_utc, start_utc) <= 0) {
        rc = pf_error_set(err, PF_EINVAL, "--deadline: %s is not after --start-at %s", deadline,
                          start);
        goto out_cohort;
    }
    return 0;
out_cohort:
    json_decref(cohort);
    return rc;
}

int pfc_rollout_definition(const struct pfc_args *a, json_t **out, struct pf_error *err)
{
    const char *bundle = pfc_args_pos(a, "[BUNDLE]");
    const char *file = pfc_args_get(a, "definition");
    json_t *def;
    int rc;

    *out = NULL;
    if (file) {
        rc = ro__definition_file(a, file, bundle, out, err);
        return rc ? pf_error_prefix(err, "%s", a->cmd->name) : 0;
    }
    if (!(def = json_object()))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    /* The order of the keys follows docs/rollouts.md's table. */
    if ((rc = ro__definition_flags(a, bundle, def, err))) {
        json_decref(def);
        return pf_error_prefix(err, "%s", a->cmd->name);
    }
    *out = def;
    return 0;
}

char *pfc_rollout_dump(json_t *def)
{
    /* 15 digits give back what people type ("0.05", not 0.050000000000000003). */
    return json_dumps(def, JSON_COMPACT | JSON_REAL_PRECISION(15));
}
