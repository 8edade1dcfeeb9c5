/*
 * commands_rollout.c - staged rollouts for people (docs/cli.md, "Rollouts").
 *
 * create turns its flags into the definition object of docs/rollouts.md and
 * checks every value locally first, so a typo is refused with the flag named
 * before anything reaches posfleetd. show draws the rollout as a card: header,
 * one progress bar per stage, a failure histogram; --watch redraws it.
 */
#include "commands_rollout.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apierr.h"
#include "cli.h"
#include "commands_lifecycle.h"
#include "pf/fileio.h"
#include "pf/topic.h"
#include "table.h"

#define RO_NAME_MAX        64
#define RO_STAGES_MAX      16
#define RO_VALUE_MAX       128    /* characters of one cohort filter value */
#define RO_VALUES_MAX      1000   /* values of one filter other than serials */
#define RO_SERIALS_MAX     100000 /* --cohort serials= */
#define RO_COUNT_MAX       100000000
#define RO_BUNDLE_HEX      64
#define RO_DEF_FILE_MAX    (16u * 1024 * 1024)
#define RO_SERIAL_FILE_MAX (4u * 1024 * 1024)
#define RO_MAX_PAGES       100000

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
 * Sixteen options is the parser's limit per command (PFC_MAX_OPTS), so the
 * cohort filters share --cohort. The builder also reads a filter from an
 * option of its own name (--models ...) if a table ever declares one.
 */
const struct pfc_opt pfc_rollout_create_opts[] = {
        {.name = "name",
         .type = PFC_OPT_STR,
         .metavar = "TEXT",
         .help = "a label for people (64 characters at most)"},
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
         .help = "offer nothing before, RFC 3339 UTC: 2026-11-28T01:00:00Z"},
        {.name = "deadline",
         .type = PFC_OPT_STR,
         .metavar = "TIME",
         .help = "offer nothing after; members never reached are skipped"},
        {.name = "definition",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "send this definition (JSON) as it is; no other option then"},
        {0},
};

const struct pfc_opt pfc_rollout_show_opts[] = {
        {.name = "watch",
         .type = PFC_OPT_FLAG,
         .help = "redraw until the rollout is completed, aborted or rolled back"},
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
                    "revert_failed",
         .query = "status",
         .help = "only members in this status"},
        {.name = "stage",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = RO_STAGES_MAX,
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
         .type = PFC_OPT_STR,
         .metavar = "TEXT",
         .body = "reason",
         .help = "why (shown with the pause)"},
        {0},
};

const struct pfc_opt pfc_rollout_abort_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_STR,
         .metavar = "TEXT",
         .body = "reason",
         .help = "why (kept with the rollout)"},
        {0},
};

const struct pfc_opt pfc_rollout_rollback_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_STR,
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

/* --- value parsers --- */

int pfc_duration_parse(const char *s, int64_t *seconds)
{
    int64_t v = 0, mult = 1;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > 100000000)
            return PF_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (p == s)
        return PF_EINVAL;
    switch (*p) {
    case '\0':
        break;
    case 's':
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    default:
        return PF_EINVAL;
    }
    if (*p && p[1])
        return PF_EINVAL;
    *seconds = v * mult;
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

/* "2026-11-28T01:00:00Z", a real calendar time. */
static int ro__time(const char *flag, const char *v, struct pf_error *err)
{
    struct tm tm = {0}, back;
    const char *end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_t t;

    if (!end || *end || strlen(v) != 20)
        goto bad;
    back = tm;
    t = timegm(&back);
    if (t == (time_t)-1 || back.tm_mday != tm.tm_mday || back.tm_mon != tm.tm_mon)
        goto bad;
    return 0;
bad:
    return pf_error_set(err, PF_EINVAL,
                        "--%s: expected an RFC 3339 UTC time like 2026-11-28T01:00:00Z, got "
                        "'%.40s'",
                        flag, v);
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
        if (++count > RO_STAGES_MAX) {
            rc = pf_error_set(err, PF_EINVAL, "--stages: at most %d stages", RO_STAGES_MAX);
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
        if (a->val[i] && strcmp(a->cmd->opts[i].name, "definition"))
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
        if (strlen(v) > RO_NAME_MAX)
            return pf_error_set(err, PF_EINVAL, "--name: at most %d characters", RO_NAME_MAX);
        if ((rc = ro__set(def, "name", json_string(v), err)))
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
    if (start && ((rc = ro__time("start-at", start, err)) ||
                  (rc = ro__set(def, "start_at", json_string(start), err))))
        goto out_cohort;
    if (deadline && ((rc = ro__time("deadline", deadline, err)) ||
                     (rc = ro__set(def, "deadline", json_string(deadline), err))))
        goto out_cohort;
    /* Same fixed format, so the text order is the time order. */
    if (start && deadline && strcmp(deadline, start) <= 0) {
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

/* --- run --- */

int pfc_cmd_rollout_create(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    json_t *def = NULL, *resp = NULL;
    char *text;
    int rc;

    if ((rc = pfc_rollout_definition(a, &def, err)))
        return rc;
    text = pfc_rollout_dump(def);
    json_decref(def);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_call_raw(ctx, "POST", "/v1/rollouts", "application/json", text, strlen(text), NULL,
                      &resp, err);
    free(text);
    if (!rc)
        rc = pfc_emit(ctx, a, pfc_render_rollout, resp, err);
    json_decref(resp);
    return rc;
}

static bool ro__final(json_t *r)
{
    const char *s = json_string_value(json_object_get(r, "state"));

    return s && (!strcmp(s, "completed") || !strcmp(s, "aborted") || !strcmp(s, "rolled_back"));
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
        return pf_error_set(err, PF_EINVAL, "%s: --interval: only with --watch", a->cmd->name);
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
static const char ro__legend[] = "legend: # installed  x failed or timed out  r rolled back  "
                                 "> offered, downloading or installing\n"
                                 "        . pending or deferred  - skipped, swapped or reverting";

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

static const char *const ro__k_installed[] = {"installed", NULL};
static const char *const ro__k_failed[] = {"failed", "timed_out", NULL};
static const char *const ro__k_rolled[] = {"rolled_back", NULL};
static const char *const ro__k_moving[] = {"offered", "downloading", "installing", NULL};
static const char *const ro__k_pending[] = {"pending", "deferred", NULL};
static const char *const ro__k_other[] = {
        "skipped", "swapped", "revert_pending", "reverting", "reverted", "revert_failed", NULL};

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
    pfc_utctime(ms, utc, sizeof(utc));
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

int pfc_render_rollout(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *r,
                       struct pf_error *err)
{
    json_t *pause = json_object_get(r, "pause"), *stages = json_object_get(r, "stages");
    char name[PFC_CELL_MAX * 2], state[32], kind[32], version[64], bundle[80], buf[512], when[96];
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
    if (json_is_object(pause) && json_is_string(json_object_get(pause, "reason"))) {
        char reason[64], detail[256], by[64];

        ro__str(pause, "reason", "-", reason, sizeof(reason));
        ro__str(pause, "detail", "", detail, sizeof(detail));
        ro__str(pause, "by", "-", by, sizeof(by));
        pfc_reltime(now_ms, ro__int(pause, "at_ms"), when, sizeof(when));
        fprintf(out, "%s %s%s%s (by %s, %s)\n",
                strcmp(state, "paused") ? "last pause" : "paused   ", reason, detail[0] ? ": " : "",
                detail, by, when);
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
