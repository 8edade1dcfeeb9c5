/*
 * config_notify.c - the webhook keys: hook.NAME.url, hook.NAME.secret_file,
 * hook.NAME.events and the notify.* retry settings.
 */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/events.h"
#include "pf/conf.h"
#include "pf/num.h"

static int cfgn__int(const char *key, const char *value, int64_t lo, int64_t hi, int *out,
                     struct pf_error *err)
{
    int64_t v;
    int rc = pf_parse_i64(value, lo, hi, &v);

    if (rc)
        return pf_error_set(err, rc, "%s: '%s' is not an integer in %lld..%lld", key, value,
                            (long long)lo, (long long)hi);
    *out = (int)v;
    return 0;
}

static bool cfgn__name_valid(const char *s, size_t n)
{
    if (n == 0 || n > PFS_HOOK_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* "tamper,lock,rollout.paused" or "*" into a bit set. */
static int cfgn__events(const char *key, const char *value, unsigned *out, struct pf_error *err)
{
    const char *p = value;

    *out = 0;
    if (strcmp(value, "*") == 0) {
        *out = (1u << PFS_EV_COUNT) - 1;
        return 0;
    }
    while (*p) {
        char name[32];
        size_t n = strcspn(p, ",");
        int k;

        while (n && p[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof(name))
            return pf_error_set(err, PF_EINVAL, "%s: an empty or overlong event kind", key);
        memcpy(name, p, n);
        name[n] = '\0';
        k = pfs_event_kind_parse(name);
        if (k < 0)
            return pf_error_set(err, PF_EINVAL,
                                "%s: '%s' is not an event kind (tamper, lock, unlock, "
                                "rollout.paused, rollout.completed, rollout.expired, "
                                "terminal.silent, repair.state, or *)",
                                key, name);
        *out |= 1u << k;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    if (!*out)
        return pf_error_set(err, PF_EINVAL, "%s: no event kind", key);
    return 0;
}

int pfs_config_set_notify(struct pfs_config *c, const char *key, const char *value,
                          struct pf_error *err)
{
    struct pfs_notify_conf *nc = &c->notify;

    if (strcmp(key, "notify.retry_min_ms") == 0)
        return cfgn__int(key, value, 10, 3600000, &nc->retry_min_ms, err);
    if (strcmp(key, "notify.retry_max_ms") == 0)
        return cfgn__int(key, value, 10, 86400000, &nc->retry_max_ms, err);
    if (strcmp(key, "notify.max_attempts") == 0)
        return cfgn__int(key, value, 1, 1000, &nc->max_attempts, err);
    if (strcmp(key, "notify.timeout_ms") == 0)
        return cfgn__int(key, value, 100, 120000, &nc->timeout_ms, err);
    if (strncmp(key, "hook.", 5) == 0) {
        const char *name = key + 5, *dot = strrchr(name, '.');
        struct pfs_hook_conf *h = NULL;
        size_t n;

        if (!dot || !cfgn__name_valid(name, (size_t)(dot - name)))
            return pf_error_set(err, PF_EINVAL,
                                "%s: expected hook.NAME.url, .secret_file or .events, NAME of "
                                "1-%d characters a-z 0-9 - _",
                                key, PFS_HOOK_NAME_MAX);
        n = (size_t)(dot - name);
        for (int i = 0; i < nc->nhooks; i++) {
            if (strlen(nc->hooks[i].name) == n && memcmp(nc->hooks[i].name, name, n) == 0)
                h = &nc->hooks[i];
        }
        if (!h) {
            if (nc->nhooks == PFS_HOOKS_MAX)
                return pf_error_set(err, PF_ELIMIT, "%s: at most %d hooks", key, PFS_HOOKS_MAX);
            h = &nc->hooks[nc->nhooks++];
            memcpy(h->name, name, n);
            h->name[n] = '\0';
        }
        if (strcmp(dot, ".url") == 0) {
            if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
                return pf_error_set(err, PF_EINVAL, "%s: must be an http:// or https:// URL", key);
            return pf_conf_str(key, value, h->url, sizeof(h->url), err);
        }
        if (strcmp(dot, ".secret_file") == 0)
            return pf_conf_str(key, value, h->secret_file, sizeof(h->secret_file), err);
        if (strcmp(dot, ".events") == 0)
            return cfgn__events(key, value, &h->events, err);
        return pf_error_set(err, PF_EINVAL, "%s: unknown key (url, secret_file, events)", key);
    }
    return pf_error_set(err, PF_EINVAL, "%s: unknown key", key);
}

int pfs_config_check_notify(const struct pfs_config *c, struct pf_error *err)
{
    const struct pfs_notify_conf *nc = &c->notify;

    for (int i = 0; i < nc->nhooks; i++) {
        const struct pfs_hook_conf *h = &nc->hooks[i];

        if (!h->url[0] || !h->secret_file[0] || !h->events)
            return pf_error_set(err, PF_EINVAL,
                                "hook.%s: needs url, secret_file and events, all three", h->name);
    }
    if (nc->retry_min_ms && nc->retry_max_ms && nc->retry_min_ms > nc->retry_max_ms)
        return pf_error_set(err, PF_EINVAL, "notify.retry_min_ms: above notify.retry_max_ms");
    return 0;
}
